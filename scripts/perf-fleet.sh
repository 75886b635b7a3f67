#!/usr/bin/env bash
# Fleet figures, on the local test bed (the fixed notary server, loopback):
#
#   1. one `dctwiz setup --repos` over N repositories (signer, root
#      certificate, test signature each) against N times the notary CLI's
#      init + snapshot key rotation + two delegation adds;
#   2. `dctwiz check --repos` over M repositories (and over M/10, to see
#      whether memory grows with the count): wall time and peak memory.
#
# Usage: scripts/perf-fleet.sh [N] [M]   (default 60 and 1000)
set -euo pipefail
n=${1:-60}
m=${2:-1000}
cd "$(dirname "$0")/.."
# shellcheck source=scripts/testbed.sh
. scripts/testbed.sh
repos=$(seq -s, -f 'acme/f%g' 1 "$n")
start_testbed --push "$repos" --signer-cert "$work/signer.crt"

export NOTARY_ROOT_PASSPHRASE=perf-root-passphrase
export NOTARY_TARGETS_PASSPHRASE=perf-targets-passphrase
export NOTARY_SNAPSHOT_PASSPHRASE=perf-snapshot-passphrase
now_ms() { date +%s%3N; }
dctwiz=("$work/dctwiz" --server "$NOTARY_URL" --tlscacert "$NOTARY_CA")

# 1. The batch against the notary CLI, one after the other.
seq -f "$REGISTRY_HOST/acme/f%g" 1 "$n" >"$work/batch.txt"
t0=$(now_ms)
"${dctwiz[@]}" --trust-dir "$work/dctwiz-trust" setup --repos "$work/batch.txt" \
	--delegation "signpath=$work/signer.crt" --test-tag 1.0 >/dev/null 2>"$work/batch.log" ||
	{ tail -5 "$work/batch.log" >&2; exit 1; }
td=$(($(now_ms) - t0))
t0=$(now_ms)
for i in $(seq "$n"); do
	gun="$REGISTRY_HOST/acme/n$i"
	nt=("$NOTARY_CLI" -s "$NOTARY_URL" --tlscacert "$NOTARY_CA" -d "$work/notary-trust")
	"${nt[@]}" init "$gun" -p &&
		"${nt[@]}" key rotate "$gun" snapshot -r &&
		"${nt[@]}" delegation add "$gun" targets/releases "$work/signer.crt" --all-paths -p &&
		"${nt[@]}" delegation add "$gun" targets/signpath "$work/signer.crt" --all-paths -p
done >"$work/notary.log" 2>&1 || { tail -5 "$work/notary.log" >&2; exit 1; }
tn=$(($(now_ms) - t0))
printf 'batch of %d: dctwiz setup --repos %d ms (%d ms per repository), notary CLI %d x sequence %d ms, ratio %s\n' \
	"$n" "$td" "$((td / n))" "$n" "$tn" "$(awk -v a="$td" -v b="$tn" 'BEGIN {printf "%.2f", a/b}')"

# 2. check over m repositories (set up first, without test signatures).
seq -f "$REGISTRY_HOST/acme/c%g" 1 "$m" >"$work/fleet.txt"
head -n $((m / 10)) "$work/fleet.txt" >"$work/tenth.txt"
t0=$(now_ms)
"${dctwiz[@]}" --trust-dir "$work/fleet-trust" setup --repos "$work/fleet.txt" --delegation "signpath=$work/signer.crt" \
	>/dev/null 2>"$work/fleet.log" || { tail -5 "$work/fleet.log" >&2; exit 1; }
echo "set up $m repositories for check in $(($(now_ms) - t0)) ms"
check_figures() { # list parallel
	local count rc=0 t0
	count=$(grep -c . "$1")
	# A consumer's own trust dir (never the user's); exit 1 is "something is due".
	local run=("${dctwiz[@]}" --trust-dir "$work/check-trust-$2" check --repos "$1" --parallel "$2" --json)
	t0=$(now_ms)
	if [ -x /usr/bin/time ]; then
		/usr/bin/time -f "%e %M" -o "$work/time.out" "${run[@]}" >/dev/null 2>"$work/check.log" || rc=$?
	else
		"${run[@]}" >/dev/null 2>"$work/check.log" || rc=$?
	fi
	((rc <= 1)) || { echo "check failed (exit $rc):" >&2; tail -3 "$work/check.log" >&2; exit 1; }
	if [ -x /usr/bin/time ]; then
		read -r secs kib <"$work/time.out"
		printf 'check over %d repositories, --parallel %d: %s s, peak memory %d MiB\n' "$count" "$2" "$secs" "$((kib / 1024))"
	else
		printf 'check over %d repositories, --parallel %d: %d ms (install GNU time for the peak memory)\n' "$count" "$2" "$(($(now_ms) - t0))"
	fi
}
check_figures "$work/tenth.txt" 8
check_figures "$work/fleet.txt" 1
check_figures "$work/fleet.txt" 8
