#!/bin/sh
# run-golden.sh - replay the pcap fixtures and compare findings to golden files.
#
# Usage: sh tests/run-golden.sh BUILD_DIR
#
# 1. Regenerates every capture with BUILD_DIR/tools/gen_fixtures into
#    BUILD_DIR/fixtures and checks each is byte-identical to the committed
#    tests/fixtures/<case>.pcap, so the shipped demo captures never drift
#    from the generator (after changing the generator, copy the new
#    captures over the committed ones and commit both).
# 2. For each tests/fixtures/<case>.expect runs
#    BUILD_DIR/starttls-guard -c tests/fixtures/golden.conf -r <case>.pcap,
#    which must exit 0, takes "signature action" of every alert, sorted,
#    and diffs it against the .expect file (empty file: no alert). Every
#    case but midstream must also write at least one flow event; midstream
#    must write none (doc/detection.md "Flow events").
# Prints PASS/FAIL per case, then "N passed, N failed"; exits 1 on failure.

set -u

if [ $# -ne 1 ]; then
	echo "usage: $0 BUILD_DIR" >&2
	exit 2
fi

top=$(cd "$(dirname "$0")/.." && pwd)
case $1 in
/*) build=$1 ;;
*)  build=$(pwd)/$1 ;;
esac
cd "$top" || exit 1   # the generator reads tests/tls/ from the top of the tree
fix=$top/tests/fixtures
conf=$fix/golden.conf
gen=$build/tools/gen_fixtures
bin=$build/starttls-guard
out=$build/fixtures
LC_ALL=C
export LC_ALL

for tool in jq cmp diff; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "run-golden: $tool is required" >&2
		exit 2
	fi
done
for f in "$gen" "$bin"; do
	if [ ! -x "$f" ]; then
		echo "run-golden: $f is missing: build it first (make)" >&2
		exit 2
	fi
done

pass=0
fail=0

# --- 1. the committed captures are exactly what the generator writes ---
rm -rf "$out"
mkdir -p "$out"
if ! "$gen" "$out" >"$out/gen.log" 2>&1; then
	cat "$out/gen.log"
	echo "FAIL generator"
	fail=$((fail + 1))
else
	drift=0
	for p in "$out"/*.pcap; do
		name=$(basename "$p")
		if [ ! -f "$fix/$name" ]; then
			echo "  tests/fixtures/$name is not committed"
			drift=1
		elif ! cmp -s "$p" "$fix/$name"; then
			echo "  tests/fixtures/$name differs from the generator's output"
			drift=1
		fi
	done
	for p in "$fix"/*.pcap; do
		name=$(basename "$p")
		if [ ! -f "$out/$name" ]; then
			echo "  tests/fixtures/$name is not written by the generator"
			drift=1
		fi
	done
	if [ $drift -eq 0 ]; then
		echo "PASS fixtures-match-generator"
		pass=$((pass + 1))
	else
		echo "FAIL fixtures-match-generator (regenerate: $gen tests/fixtures)"
		fail=$((fail + 1))
	fi
fi

# --- 2. findings per case ---
for expect in "$fix"/*.expect; do
	name=$(basename "$expect" .expect)
	pcap=$fix/$name.pcap
	eve=$out/$name.eve
	got=$out/$name.got
	why=""

	if [ ! -f "$pcap" ]; then
		echo "FAIL $name: $pcap missing"
		fail=$((fail + 1))
		continue
	fi
	"$bin" -c "$conf" -r "$pcap" >"$eve" 2>"$out/$name.err"
	rc=$?
	[ $rc -eq 0 ] || why="$why exit status $rc;"

	if ! jq -r 'select(.event_type == "alert")
	    | "\(.alert.signature) \(.alert.action)"' <"$eve" >"$got.unsorted" 2>"$out/$name.jqerr"; then
		why="$why output is not JSON lines;"
	fi
	sort "$got.unsorted" >"$got"
	rm -f "$got.unsorted"

	flows=$(jq -s '[.[] | select(.event_type == "flow")] | length' <"$eve" 2>/dev/null)
	[ -n "$flows" ] || flows=0
	if [ "$name" = midstream ]; then
		[ "$flows" -eq 0 ] || why="$why $flows flow events for a midstream pickup (want 0);"
	else
		[ "$flows" -ge 1 ] || why="$why no flow event;"
	fi

	if ! diff -u "$expect" "$got" >"$out/$name.diff"; then
		why="$why alerts differ;"
	fi

	if [ -z "$why" ]; then
		echo "PASS $name"
		pass=$((pass + 1))
	else
		echo "FAIL $name:$why"
		[ -s "$out/$name.diff" ] && sed 's/^/    /' "$out/$name.diff"
		[ -s "$out/$name.err" ] && sed 's/^/    stderr: /' "$out/$name.err" | head -5
		[ -s "$out/$name.jqerr" ] && sed 's/^/    jq: /' "$out/$name.jqerr" | head -3
		fail=$((fail + 1))
	fi
done

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
