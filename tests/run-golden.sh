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
#    case but midstream (and restart_second, a midstream pickup too) must
#    also write at least one flow event; those must write none
#    (doc/detection.md "Flow events"). <case>.flows (flow verdicts) and
#    <case>.xfail (a known bug) work as in run-evasion.sh.
# 3. A restart mid-session offline: restart_first and restart_second are
#    the two halves of one session (cut after the EHLO). The second,
#    replayed as after a restart of the gateway (engine.midstream = "lost":
#    a capture carries no conntrack "being inspected" mark), must give the
#    session up: inspection_limit, blocked (the server is enforced).
# The drift check, replay and comparison are tests/replay-lib.sh's, shared
# with run-evasion.sh and run-policy.sh.
# Prints PASS/FAIL per case, then "N passed, N failed"; exits 1 on failure.

set -u
. "$(dirname "$0")/replay-lib.sh"
rl_init run-golden "$@"

# Every case but midstream writes at least one flow event; midstream none.
golden_flows() {
	flows=$(jq -s '[.[] | select(.event_type == "flow")] | length' <"$build/fixtures/$1.eve" 2>/dev/null)
	[ -n "$flows" ] || flows=0
	if [ "$1" = midstream ] || [ "$1" = restart_second ]; then
		[ "$flows" -eq 0 ] || why="$why $flows flow events for a midstream pickup (want 0);"
	else
		[ "$flows" -ge 1 ] || why="$why no flow event;"
	fi
}

rl_corpus tests/fixtures tests/fixtures/golden.conf "$build/tools/gen_fixtures" \
    "$build/fixtures" fixtures-match-generator golden_flows

# 3. the second half of a session after a restart
{ cat tests/fixtures/golden.conf; echo 'engine = { midstream = "lost"; };'; } \
    >"$build/fixtures/restart.conf"
rl_replay restart_second_as_restarted tests/fixtures/restart_second.pcap \
    "$build/fixtures/restart.conf" "$build/fixtures" '"\(.alert.signature) \(.alert.action)"'
echo "inspection_limit blocked" >"$build/fixtures/restart.want"
rl_expect "$build/fixtures/restart.want" "$build/fixtures" restart_second_as_restarted
rl_verdict restart_second_as_restarted "$build/fixtures"
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
