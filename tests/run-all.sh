#!/bin/sh
# run-all.sh [BUILD] - what `make check` runs, suite by suite:
#   layers       tests/run-layers.sh: folders depend one way (doc/architecture.md)
#   unit         cmocka tests of BUILD
#   sanitizers   the unit tests rebuilt with SANITIZER=address,undefined
#   golden       tests/run-golden.sh, when present
#   report       tests/run-report.sh: TLS-RPT report golden files (also on the sanitizer build)
#   policy       tests/run-policy.sh: domain policies, DNS names, pins
#   badinput     tests/run-badinput.sh (also on the sanitizer build)
#   integ        tests/integ/run.sh, when present and running as root
#   fuzz-replay  saved fuzz inputs through the harnesses (gcc, ASan/UBSan)
#   evasion      tests/run-evasion.sh: the evasion corpus
#   flood        tests/run-flood.sh: SYN flood, endless line, tiny segments
#   privs        tests/run-privs.sh: hardening flags, seccomp sandbox
#   operators    tests/run-operators.sh: make install into a DESTDIR, sample config,
#                man pages, syslog/evidence/metrics outputs, EVE reopen
# Prints "N passed, N failed" (suites) last; exits non-zero on any failure.
set -u
BUILD=${1:-build}
MAKE=${MAKE:-make}
SAN=address,undefined
SANBUILD=build-address-undefined
cd "$(dirname "$0")/.." || exit 1

pass=0 fail=0 skipped="" failed=""
suite() {
	name=$1
	shift
	echo "=== $name"
	if "$@"; then
		pass=$((pass + 1))
		echo "=== $name: ok"
	else
		fail=$((fail + 1))
		failed="$failed $name"
		echo "=== $name: FAILED"
	fi
}

suite layers sh tests/run-layers.sh
suite unit sh tests/run-unit.sh "$BUILD"
suite sanitizers sh -c "$MAKE --no-print-directory SANITIZER=$SAN WERROR=${WERROR:-} all >/dev/null && sh tests/run-unit.sh $SANBUILD"
if [ -f tests/run-golden.sh ]; then
	suite golden sh tests/run-golden.sh "$BUILD"
else
	skipped="$skipped golden"
fi
suite policy sh tests/run-policy.sh "$BUILD"
suite report sh tests/run-report.sh "$BUILD"
if [ -x "$SANBUILD/tools/stg_report" ]; then
	suite report-sanitizers sh tests/run-report.sh "$SANBUILD"
fi
suite badinput sh tests/run-badinput.sh "$BUILD"
if [ -x "$SANBUILD/starttls-guard" ]; then
	suite badinput-sanitizers sh tests/run-badinput.sh "$SANBUILD"
fi
suite fuzz-replay sh -c "$MAKE --no-print-directory SANITIZER=$SAN WERROR=${WERROR:-} fuzz-replay"
suite evasion sh tests/run-evasion.sh "$BUILD"
suite flood sh tests/run-flood.sh "$BUILD"
suite privs sh tests/run-privs.sh "$BUILD"
suite operators sh tests/run-operators.sh "$BUILD"
if [ -f tests/integ/run.sh ] && [ "$(id -u)" = 0 ]; then
	suite integ sh tests/integ/run.sh "$BUILD"
else
	skipped="$skipped integ"
fi

[ -n "$skipped" ] && echo "skipped:$skipped"
[ -n "$failed" ] && echo "failed:$failed"
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
