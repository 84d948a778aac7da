#!/bin/sh
# run-unit.sh BUILD... - run every unit test binary (BUILD/tests/test_*) of
# each build directory given (default: build) and print a summary. Exits
# non-zero when a test fails or no test was found. A test that dies on a
# signal or a sanitizer report counts as a failure. Nothing is left out
# silently: a passing test's "note:" lines (checks that need something
# given, e.g. STG_EFF_LIST) and cmocka's SKIPPED lines are shown.
set -u
[ $# -eq 0 ] && set -- build
pass=0 fail=0 failed=""
for dir in "$@"; do
	for t in "$dir"/tests/test_*; do
		[ -f "$t" ] && [ -x "$t" ] || continue
		out=$("$t" 2>&1)
		rc=$?
		if [ $rc -eq 0 ]; then
			pass=$((pass + 1))
			echo "PASS $t"
			echo "$out" | sed -n 's/^note: /  note: /p; s/^\[  SKIPPED \] \(test_.*\)/  skipped: \1/p'
		else
			fail=$((fail + 1))
			failed="$failed $t"
			echo "$out" | tail -n 40
			echo "FAIL $t (exit $rc)"
		fi
	done
done
echo "unit: $pass passed, $fail failed"
[ -n "$failed" ] && echo "unit: failing:$failed"
[ $((pass + fail)) -gt 0 ] || { echo "unit: no test binaries in $*" >&2; exit 1; }
[ $fail -eq 0 ]
