# replay-lib.sh - sourced by the capture suites (run-golden.sh,
# run-evasion.sh, run-policy.sh): the drift check of generated captures
# against the committed ones, the replay of one capture, the comparison of
# its alerts (and flow verdicts) with the expected ones, the verdict line.
#
# A suite sources it as `. "$(dirname "$0")/replay-lib.sh"` and calls
# rl_init first. Every check prints one line, PASS/FAIL/XFAIL <name>[: why],
# and counts it in pass, fail, xfail. Paths in messages are relative to the
# top of the tree when they are below it.

# rl_init SUITE "$@": the suite's command line is "SUITE BUILD_DIR". Sets
# top (the tree, now the current directory: the generators read tests/tls/
# from there), build (absolute), bin (the gateway), LC_ALL=C, the counters;
# exits 2 on a wrong command line or a missing tool or binary.
rl_init() {
	rl_suite=$1
	shift
	if [ $# -ne 1 ]; then
		echo "usage: $rl_suite.sh BUILD_DIR" >&2
		exit 2
	fi
	top=$(cd "$(dirname "$0")/.." && pwd)
	case $1 in
	/*) build=$1 ;;
	*)  build=$(pwd)/$1 ;;
	esac
	cd "$top" || exit 1
	bin=$build/starttls-guard
	LC_ALL=C
	export LC_ALL
	for rl_t in jq cmp diff; do
		if ! command -v "$rl_t" >/dev/null 2>&1; then
			echo "$rl_suite: $rl_t is required" >&2
			exit 2
		fi
	done
	rl_need "$bin"
	pass=0 fail=0 xfail=0
}

# rl_need FILE...: each is an executable built by make, or exit 2.
rl_need() {
	for rl_f in "$@"; do
		if [ ! -x "$rl_f" ]; then
			echo "$rl_suite: $rl_f is missing: build it first (make)" >&2
			exit 2
		fi
	done
}

# Count a check: rl_result NAME WHY (empty WHY: passed).
rl_result() {
	if [ -z "$2" ]; then
		echo "PASS $1"
		pass=$((pass + 1))
	else
		echo "FAIL $1:$2"
		fail=$((fail + 1))
	fi
}

# A path as the messages name it: relative to $top when below it.
rl_rel() {
	case $1 in
	"$top"/*) echo "${1#"$top"/}" ;;
	*) echo "$1" ;;
	esac
}

# rl_same GENERATED COMMITTED: every capture the generator wrote into
# GENERATED is committed, byte-identical, in COMMITTED, and every committed
# capture is written. Prints one line per difference; 0 when none.
rl_same() {
	rl_drift=0
	for p in "$1"/*.pcap; do
		[ -f "$p" ] || continue
		n=$(basename "$p")
		if [ ! -f "$2/$n" ]; then
			echo "  $(rl_rel "$2/$n") is not committed"
			rl_drift=1
		elif ! cmp -s "$p" "$2/$n"; then
			echo "  $(rl_rel "$2/$n") differs from the generator's output"
			rl_drift=1
		fi
	done
	for p in "$2"/*.pcap; do
		[ -f "$p" ] || continue
		if [ ! -f "$1/$(basename "$p")" ]; then
			echo "  $(rl_rel "$p") is not written by the generator"
			rl_drift=1
		fi
	done
	return $rl_drift
}

# rl_generate GEN OUT: run the generator into a fresh OUT (its output in
# OUT/gen.log, shown when it fails). 0 on success.
rl_generate() {
	rm -rf "$2"
	mkdir -p "$2"
	if ! "$1" "$2" >"$2/gen.log" 2>&1; then
		cat "$2/gen.log"
		return 1
	fi
}

# rl_drift GEN OUT COMMITTED NAME: generate into OUT, then rl_same OUT
# COMMITTED, counted as the check NAME.
rl_drift() {
	if ! rl_generate "$1" "$2"; then
		rl_result "$4" " the generator failed"
	elif rl_same "$2" "$3"; then
		rl_result "$4" ""
	else
		rl_result "$4" " regenerate: $(rl_rel "$1") $(rl_rel "$3")"
	fi
}

# rl_replay NAME PCAP CONF OUT FILTER: replay PCAP with CONF (exit status 0
# required) into OUT/NAME.eve; the alerts, as the jq FILTER prints each
# one, sorted, into OUT/NAME.got. Sets `why` (empty: all went well).
rl_replay() {
	why=""
	if [ ! -f "$2" ]; then
		why=" $(rl_rel "$2") missing;"
		: >"$4/$1.eve"
		: >"$4/$1.got"
		return
	fi
	"$bin" -c "$3" -r "$2" >"$4/$1.eve" 2>"$4/$1.err"
	rl_rc=$?
	[ $rl_rc -eq 0 ] || why="$why exit status $rl_rc;"
	if ! jq -r "select(.event_type == \"alert\") | $5" <"$4/$1.eve" \
	    >"$4/$1.unsorted" 2>"$4/$1.jqerr"; then
		why="$why output is not JSON lines;"
	fi
	sort "$4/$1.unsorted" >"$4/$1.got"
	rm -f "$4/$1.unsorted"
	: >"$4/$1.diff"
}

# rl_expect EXPECT OUT NAME: the alerts equal EXPECT (appends to why and to
# OUT/NAME.diff).
rl_expect() {
	diff -u "$1" "$2/$3.got" >>"$2/$3.diff" || why="$why alerts differ;"
}

# rl_flows FLOWS OUT NAME: the flow events' verdicts, "count verdict" per
# line sorted by verdict, equal FLOWS (an empty FLOWS: no flow event).
rl_flows() {
	jq -r 'select(.event_type == "flow") | .flow.verdict' <"$2/$3.eve" 2>/dev/null |
	    sort | uniq -c | awk '{ print $1, $2 }' >"$2/$3.gotflows"
	diff -u "$1" "$2/$3.gotflows" >>"$2/$3.diff" || why="$why flow verdicts differ;"
}

# rl_verdict NAME OUT [XFAIL]: print and count the case from `why`; with
# details (diff, stderr, jq errors) when it failed. An XFAIL file (its
# first line says why) marks a known bug: a failure counts as xfail, a pass
# fails the run until the marker is removed with the fix.
rl_verdict() {
	if [ -n "${3:-}" ] && [ -f "$3" ]; then
		if [ -n "$why" ]; then
			echo "XFAIL $1:$why (known: $(cut -c1-100 "$3" | head -n 1)...)"
			xfail=$((xfail + 1))
		else
			rl_result "$1" " XPASS, remove $(rl_rel "$3")"
		fi
		return
	fi
	rl_result "$1" "$why"
	[ -z "$why" ] && return
	[ -s "$2/$1.diff" ] && sed 's/^/    /' "$2/$1.diff" | head -n 30
	[ -s "$2/$1.err" ] && sed 's/^/    stderr: /' "$2/$1.err" | head -n 5
	[ -s "$2/$1.jqerr" ] && sed 's/^/    jq: /' "$2/$1.jqerr" | head -n 3
	return 0
}

# rl_corpus DIR CONF GEN OUT CHECK [HOOK]: a corpus of committed captures
# DIR/<case>.pcap, each with DIR/<case>.expect. First the drift check
# (named CHECK) of what GEN writes into OUT against DIR; then every case
# replayed with CONF: its alerts as "signature action", sorted, must equal
# <case>.expect; <case>.flows, when present, its flow verdicts
# (rl_flows); HOOK NAME, when given, may add to why; <case>.xfail marks a
# known bug (rl_verdict). DIR/<case>.conf, when present, replaces CONF for
# that case (a policy the shared one cannot express, e.g. default enforce).
rl_corpus() {
	rl_need "$3"
	rl_drift "$3" "$4" "$1" "$5"
	for rl_expect_file in "$1"/*.expect; do
		name=$(basename "$rl_expect_file" .expect)
		rl_conf=$2
		[ -f "$1/$name.conf" ] && rl_conf=$1/$name.conf
		rl_replay "$name" "$1/$name.pcap" "$rl_conf" "$4" '"\(.alert.signature) \(.alert.action)"'
		rl_expect "$rl_expect_file" "$4" "$name"
		if [ -f "$1/$name.flows" ]; then
			rl_flows "$1/$name.flows" "$4" "$name"
		fi
		if [ -n "${6:-}" ]; then
			"$6" "$name"
		fi
		rl_verdict "$name" "$4" "$1/$name.xfail"
	done
}
