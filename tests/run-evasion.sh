#!/bin/sh
# run-evasion.sh BUILD_DIR - replay the evasion corpus (tests/evasion/).
#
# 1. Regenerates every capture with BUILD_DIR/tools/gen_evasion into
#    BUILD_DIR/evasion and checks each is byte-identical to the committed
#    tests/evasion/<case>.pcap (after changing the generator, copy the new
#    captures over the committed ones and commit both).
# 2. For each tests/evasion/<case>.expect runs BUILD_DIR/starttls-guard -c
#    tests/evasion/evasion.conf -r <case>.pcap (exit 0 required), takes
#    "signature action" of every alert, sorted, and diffs it against the
#    .expect file; when <case>.flows exists, also "count verdict" of the
#    flow events (an empty .flows file: no flow event at all).
# 3. <case>.xfail (its text says why) marks a known engine bug: a failing
#    case prints XFAIL and does not fail the run; a passing one prints
#    XPASS and fails it, so the marker is removed with the fix.
# Prints PASS/FAIL/XFAIL per case, then "N passed, N failed, N xfail".
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
ev=$top/tests/evasion
conf=$ev/evasion.conf
gen=$build/tools/gen_evasion
bin=$build/starttls-guard
out=$build/evasion
LC_ALL=C
export LC_ALL
for f in "$gen" "$bin"; do
	[ -x "$f" ] || { echo "run-evasion: $f is missing: build it first (make)" >&2; exit 2; }
done
command -v jq >/dev/null 2>&1 || { echo "run-evasion: jq is required" >&2; exit 2; }

pass=0 fail=0 xfail=0
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
		if [ ! -f "$ev/$name" ]; then
			echo "  tests/evasion/$name is not committed"
			drift=1
		elif ! cmp -s "$p" "$ev/$name"; then
			echo "  tests/evasion/$name differs from the generator's output"
			drift=1
		fi
	done
	for p in "$ev"/*.pcap; do
		[ -f "$out/$(basename "$p")" ] || { echo "  $p is not written by the generator"; drift=1; }
	done
	if [ $drift -eq 0 ]; then
		echo "PASS captures-match-generator"
		pass=$((pass + 1))
	else
		echo "FAIL captures-match-generator (regenerate: $gen tests/evasion)"
		fail=$((fail + 1))
	fi
fi

for expect in "$ev"/*.expect; do
	name=$(basename "$expect" .expect)
	pcap=$ev/$name.pcap
	eve=$out/$name.eve
	why=""
	if [ ! -f "$pcap" ]; then
		echo "FAIL $name: $pcap missing"
		fail=$((fail + 1))
		continue
	fi
	"$bin" -c "$conf" -r "$pcap" >"$eve" 2>"$out/$name.err"
	rc=$?
	[ $rc -eq 0 ] || why="$why exit status $rc;"
	jq -r 'select(.event_type == "alert") | "\(.alert.signature) \(.alert.action)"' \
	    <"$eve" 2>/dev/null | sort >"$out/$name.got" || why="$why output is not JSON lines;"
	diff -u "$expect" "$out/$name.got" >"$out/$name.diff" || why="$why alerts differ;"
	if [ -f "$ev/$name.flows" ]; then
		jq -r 'select(.event_type == "flow") | .flow.verdict' <"$eve" 2>/dev/null |
		    sort | uniq -c | awk '{ print $1, $2 }' >"$out/$name.gotflows"
		diff -u "$ev/$name.flows" "$out/$name.gotflows" >>"$out/$name.diff" ||
		    why="$why flow verdicts differ;"
	fi
	if [ -f "$ev/$name.xfail" ]; then
		if [ -n "$why" ]; then
			echo "XFAIL $name:$why (known: $(cut -c1-100 "$ev/$name.xfail" | head -n 1)...)"
			xfail=$((xfail + 1))
		else
			echo "FAIL $name: XPASS, remove tests/evasion/$name.xfail"
			fail=$((fail + 1))
		fi
		continue
	fi
	if [ -z "$why" ]; then
		echo "PASS $name"
		pass=$((pass + 1))
	else
		echo "FAIL $name:$why"
		sed 's/^/    /' "$out/$name.diff" | head -n 30
		[ -s "$out/$name.err" ] && sed 's/^/    stderr: /' "$out/$name.err" | head -5
		fail=$((fail + 1))
	fi
done
echo "$pass passed, $fail failed, $xfail xfail"
[ $fail -eq 0 ]
