# Sourced by demo.sh and the perf scripts: builds dctwiz and the test bed
# helper into $work (a new temporary directory, removed on exit) and
# starts the test bed, whose settings it loads (NOTARY_URL, NOTARY_CA,
# REGISTRY_HOST, ...).
#
#   start_testbed ARG...   the helper's arguments beyond --dir and --env-file
work=$(mktemp -d)
bed_pid=
cleanup() {
	[ -n "$bed_pid" ] && kill "$bed_pid" 2>/dev/null && wait "$bed_pid" 2>/dev/null
	[ -n "${KEEP_WORK:-}" ] && { cp "$work/bed.log" /tmp/last-bed.log 2>/dev/null; cp -r "$work/bed" /tmp/last-bed 2>/dev/null; }
	rm -rf "$work"
}
trap cleanup EXIT INT TERM

start_testbed() {
	go build -o "$work/dctwiz" ./cmd/dctwiz
	go build -o "$work/testbed" ./internal/testbed/cmd/dctwiz-testbed
	"$work/testbed" --dir "$work/bed" --env-file "$work/bed.env" "$@" 2>"$work/bed.log" &
	bed_pid=$!
	for _ in $(seq 1800); do [ -s "$work/bed.env" ] && break; kill -0 "$bed_pid" 2>/dev/null || break; sleep 0.1; done
	[ -s "$work/bed.env" ] || { echo "the test bed did not start:" >&2; cat "$work/bed.log" >&2; exit 1; }
	# shellcheck disable=SC1091
	. "$work/bed.env"
}
