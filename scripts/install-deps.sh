#!/usr/bin/env bash
# Installs what dctwiz's build and tests need on a Debian machine, when it
# is missing: Go modules always; Debian packages when running as root.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v go >/dev/null; then
	echo "dctwiz needs Go (see go.mod for the version): install it from go.dev/dl or your distribution" >&2
	exit 1
fi

# The docker client reads what dctwiz publishes in the interop tests; it
# needs no daemon.
need=()
command -v docker >/dev/null || need+=(docker.io)
command -v git >/dev/null || need+=(git)
command -v gcc >/dev/null || need+=(gcc)
# tmux drives dctwiz in a real terminal in the prompt tests.
command -v tmux >/dev/null || need+=(tmux)
# YubiKeys: piv-go links libpcsclite; the tests run the real path through
# pcscd and vsmartcard's virtual reader, and read the card with Yubico's tool.
[ -e /usr/include/PCSC/winscard.h ] || need+=(libpcsclite-dev)
command -v pcscd >/dev/null || [ -x /usr/sbin/pcscd ] || need+=(pcscd)
[ -e /usr/lib/pcsc/drivers/serial/libifdvpcd.so ] || need+=(vsmartcard-vpcd)
command -v yubico-piv-tool >/dev/null || need+=(yubico-piv-tool)
command -v pkg-config >/dev/null || need+=(pkg-config)
# GNU time reads a command's peak memory in the hostile-input test.
[ -x /usr/bin/time ] || need+=(time)
# The production-shaped notary server stores in PostgreSQL.
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || command -v initdb >/dev/null || need+=(postgresql)

if ((${#need[@]})); then
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
		echo "installing ${need[*]} ..."
		apt-get update -qq
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
	else
		echo "missing: ${need[*]}; install them first (as root: apt-get install ${need[*]})" >&2
		exit 1
	fi
fi

go mod download
