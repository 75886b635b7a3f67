#!/usr/bin/env bash
# Times `dctwiz setup` against the notary CLI doing the same steps, on the
# same local notary server, alternating which goes first in each round.
#
#   notary: init -p; key rotate snapshot -r; delegation add targets/releases
#           and targets/signpath; addhash -p; lookup from a fresh cache;
#           remove -p
#   dctwiz: setup --delegation signpath=CERT --test-tag 1.0 (the same
#           steps, plus root certificate export, in one process)
#
# Usage: scripts/perf-vs-notary.sh [ROUNDS]   (default 7)
set -euo pipefail
rounds=${1:-7}
cd "$(dirname "$0")/.."
# shellcheck source=scripts/testbed.sh
. scripts/testbed.sh
repos=$(seq -s, -f 'acme/d%g' 1 "$rounds")
start_testbed --push "$repos" --signer-cert "$work/signer.crt"
hex=${IMAGE_DIGEST#sha256:}

export NOTARY_ROOT_PASSPHRASE=perf-root-passphrase
export NOTARY_TARGETS_PASSPHRASE=perf-targets-passphrase
export NOTARY_SNAPSHOT_PASSPHRASE=perf-snapshot-passphrase

now_ms() { date +%s%3N; }

run_dctwiz() { # round
	local dir="$work/dctwiz-$1"
	"$work/dctwiz" --server "$NOTARY_URL" --tlscacert "$NOTARY_CA" --trust-dir "$dir" \
		setup "$REGISTRY_HOST/acme/d$1" --delegation "signpath=$work/signer.crt" --test-tag 1.0 >/dev/null 2>&1
}

run_notary() { # round
	local dir="$work/notary-$1" gun="$REGISTRY_HOST/acme/n$1"
	local n=("$NOTARY_CLI" -s "$NOTARY_URL" --tlscacert "$NOTARY_CA" -d "$dir")
	# Chained with &&: errexit does not apply inside a function called with ||.
	"${n[@]}" init "$gun" -p &&
		"${n[@]}" key rotate "$gun" snapshot -r &&
		"${n[@]}" delegation add "$gun" targets/releases "$work/signer.crt" --all-paths -p &&
		"${n[@]}" delegation add "$gun" targets/signpath "$work/signer.crt" --all-paths -p &&
		"${n[@]}" addhash "$gun" 1.0 "$IMAGE_SIZE" --sha256 "$hex" -p &&
		"$NOTARY_CLI" -s "$NOTARY_URL" --tlscacert "$NOTARY_CA" -d "$work/fresh-$1" lookup "$gun" 1.0 | grep -q "$hex" &&
		"${n[@]}" remove "$gun" 1.0 -p
} >>"$work/notary.log" 2>&1

declare -a td tn
for i in $(seq "$rounds"); do
	if (( i % 2 )); then order="dctwiz notary"; else order="notary dctwiz"; fi
	for tool in $order; do
		t0=$(now_ms)
		"run_$tool" "$i" || { echo "$tool failed in round $i" >&2; tail -5 "$work/notary.log" >&2 2>/dev/null; exit 1; }
		t1=$(now_ms)
		if [ "$tool" = dctwiz ]; then td+=($((t1 - t0))); else tn+=($((t1 - t0))); fi
	done
	printf 'round %d: dctwiz setup %5d ms   notary CLI sequence %5d ms\n' "$i" "${td[-1]}" "${tn[-1]}"
done

median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : int((a[NR/2]+a[NR/2+1])/2)}'; }
md=$(median "${td[@]}")
mn=$(median "${tn[@]}")
echo "median over $rounds rounds: dctwiz setup $md ms, notary CLI sequence $mn ms, ratio $(awk -v a="$md" -v b="$mn" 'BEGIN {printf "%.2f", a/b}')"
