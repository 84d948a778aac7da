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
#    .expect file (tests/evasion/<case>.conf, when present, replaces
#    evasion.conf for that case); when <case>.flows exists, also "count verdict" of the
#    flow events (an empty .flows file: no flow event at all).
# 3. <case>.xfail (its text says why) marks a known engine bug: a failing
#    case prints XFAIL and does not fail the run; a passing one prints
#    XPASS and fails it, so the marker is removed with the fix.
# The drift check, replay and comparison are tests/replay-lib.sh's, shared
# with run-golden.sh and run-policy.sh.
# Prints PASS/FAIL/XFAIL per case, then "N passed, N failed, N xfail".
set -u
. "$(dirname "$0")/replay-lib.sh"
rl_init run-evasion "$@"
rl_corpus tests/evasion tests/evasion/evasion.conf "$build/tools/gen_evasion" \
    "$build/evasion" captures-match-generator
echo "$pass passed, $fail failed, $xfail xfail"
[ $fail -eq 0 ]
