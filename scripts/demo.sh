#!/usr/bin/env bash
# Rehearses the headless setup ceremony on a local test bed: a notary server
# (with the issue 1630 fix) over TLS on loopback and a registry with a sample
# image. Nothing leaves this machine; everything is removed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/testbed.sh
. scripts/testbed.sh

echo "Building dctwiz and the local test bed (the first run builds notary's server: about a minute) ..."
start_testbed --push acme/app --signer-cert "$work/signpath.crt" --yubikey

gun="$REGISTRY_HOST/acme/app"
export NOTARY_TARGETS_PASSPHRASE=sandbox-targets-passphrase
dctwiz=("$work/dctwiz" --server "$NOTARY_URL" --tlscacert "$NOTARY_CA" --trust-dir "$work/trust")
if [ -n "${YUBIKEY_SERIAL:-}" ]; then
	# The root key is made on a virtual YubiKey, through pcscd, as on a real one.
	export DCTWIZ_YUBIKEY_PIN="$YUBIKEY_PIN"
	root=(--root-key "yubikey:$YUBIKEY_SERIAL" --attestation-ca "$YUBIKEY_CA")
	where="a virtual YubiKey (serial $YUBIKEY_SERIAL, PIN $YUBIKEY_PIN) through pcscd"
else
	grep -h "no virtual YubiKey" "$work/bed.log" >&2 || true
	export NOTARY_ROOT_PASSPHRASE=sandbox-root-passphrase
	root=(--root-key file)
	where="a file in the sandbox's trust dir (no pcscd here for the virtual YubiKey)"
fi

cat <<MSG

SANDBOX: a local notary server at $NOTARY_URL and a registry at $REGISTRY_HOST;
the root key lives on $where.
This is the ceremony the wizard walks through (make run), headless, as a script runs it:

  dctwiz setup $gun ${root[*]} --delegation signpath=signpath.crt \\
      --root-cert-out root.crt --test-tag 1.0 --delete-targets-key --yes --record .

MSG
"${dctwiz[@]}" setup "$gun" "${root[@]}" --delegation "signpath=$work/signpath.crt" \
	--root-cert-out "$work/root.crt" --test-tag 1.0 --delete-targets-key --yes --record "$work"
echo
sed -n '1,12p' "$work"/dctwiz-ceremony-*.md
echo
"${dctwiz[@]}" inspect "$gun"
echo
echo "SANDBOX: done. The test bed and its keys are removed now."
