#!/bin/sh
# run-fuzz-replay.sh BUILD NAME... - replay every saved fuzz input
# (tests/fuzz/corpus/<name>/ and tests/fuzz/regress/<name>/) through
# BUILD/fuzz/replay_<name>, a gcc + ASan/UBSan build of the harness
# (make check-fuzz). A sanitizer report or a harness check fails the case.
# Prints PASS/FAIL per harness, then "N passed, N failed".
set -u
BUILD=$1
shift
cd "$(dirname "$0")/.." || exit 1
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:exitcode=99}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$(pwd)/tests/fuzz/lsan.supp}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:exitcode=98:print_stacktrace=1}
pass=0 fail=0
for n in "$@"; do
	bin=$BUILD/fuzz/replay_$n
	log=$BUILD/fuzz/replay_$n.log
	if [ ! -x "$bin" ]; then
		echo "FAIL $n: $bin missing"
		fail=$((fail + 1))
		continue
	fi
	if TMPDIR=${TMPDIR:-/tmp} "$bin" tests/fuzz/corpus/$n tests/fuzz/regress/$n >"$log" 2>&1; then
		echo "PASS $n ($(tail -n 1 "$log"))"
		pass=$((pass + 1))
	else
		echo "FAIL $n"
		grep -E 'ERROR|runtime error|harness check|failing input|SUMMARY' "$log" | head -n 8 | sed 's/^/    /'
		fail=$((fail + 1))
	fi
done
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
