#!/bin/sh
# run-badinput.sh [BUILD] - bad input must get one clear message naming the
# file (and the line, for configuration), a non-zero exit below 128 (no
# signal), no sanitizer report, and valid JSON for whatever was written.
# Inputs are made on the fly in a temporary directory by BUILD/tools/mkbad.
set -u
BUILD=${1:-build}
BIN=$BUILD/starttls-guard
MKBAD=$BUILD/tools/mkbad
for f in "$BIN" "$MKBAD"; do
	[ -x "$f" ] || { echo "badinput: $f is missing (make all first)" >&2; exit 1; }
done
T=$(mktemp -d "${TMPDIR:-/tmp}/stg-bad.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT INT TERM
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=0:exitcode=99}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:exitcode=98:print_stacktrace=1}
HAVE_JQ=0
command -v jq >/dev/null 2>&1 && HAVE_JQ=1

pass=0 fail=0
ok()  { pass=$((pass + 1)); echo "ok   $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1: $2"; sed 's/^/     | /' "$T/err" | head -n 20; }

# Is -t among the arguments (stdout is a summary, not JSON)?
is_test() {
	for a in "$@"; do [ "$a" = -t ] && return 0; done
	return 1
}

# check NAME WANT_RC STDERR_REGEX [STDOUT_REGEX] -- ARGS...
# WANT_RC: a number, "nz" for any exit in 1..127, "any" for any exit below 128.
check() {
	name=$1 want=$2 erx=$3 orx=$4
	shift 5
	"$BIN" "$@" >"$T/out" 2>"$T/err"
	rc=$?
	if [ $rc -ge 128 ]; then bad "$name" "died on signal $((rc - 128))"; return; fi
	if grep -Eq 'Sanitizer|runtime error:' "$T/err"; then bad "$name" "sanitizer report"; return; fi
	if [ "$want" = any ]; then
		:
	elif [ "$want" = nz ]; then
		[ $rc -ne 0 ] || { bad "$name" "exit 0, wanted non-zero"; return; }
	elif [ $rc -ne "$want" ]; then
		bad "$name" "exit $rc, wanted $want"; return
	fi
	if [ -n "$erx" ] && ! grep -Eq -- "$erx" "$T/err"; then
		bad "$name" "stderr does not match /$erx/"; return
	fi
	if [ -n "$orx" ] && ! grep -Eq -- "$orx" "$T/out"; then
		bad "$name" "stdout does not match /$orx/"; return
	fi
	if [ $HAVE_JQ = 1 ] && [ -s "$T/out" ] && ! is_test "$@" && ! jq -e . "$T/out" >/dev/null 2>&1; then
		bad "$name" "stdout is not JSON lines"; return
	fi
	ok "$name"
}

cd "$T" || exit 1
case $BIN in /*) ;; *) BIN=$OLDPWD/$BIN ;; esac
case $MKBAD in /*) ;; *) MKBAD=$OLDPWD/$MKBAD ;; esac

for k in good pcapng nsec snaplen truncated hugecap badlink headeronly; do
	"$MKBAD" $k $k.pcap || { echo "badinput: mkbad $k failed" >&2; exit 1; }
done
: >empty.pcap
head -c 4096 /dev/urandom >random.bin
printf '\324\303\262\241' >short.pcap                 # a magic and nothing else

# Captures.
check missing-capture    1  'nothere\.pcap: cannot read capture: No such file' '' -- -r nothere.pcap
check empty-capture      1  'empty\.pcap: cannot read capture' '' -- -r empty.pcap
check random-bytes       1  'random\.bin: cannot read capture' '' -- -r random.bin
check short-header       1  'short\.pcap: cannot read capture' '' -- -r short.pcap
check directory          1  'cannot read capture' '' -- -r .
check header-only        0  '' '"event_type":"stats"' -- -r headeronly.pcap
check good-pcap          0  '' '"signature":"starttls_stripped"' -- -r good.pcap
check pcapng             0  '' '"signature":"starttls_stripped"' -- -r pcapng.pcap
check nanosecond-pcap    0  '' '"timestamp":"[0-9T:-]+\.123456\+0000"' -- -r nsec.pcap
check snaplen-cut        0  '' '"event_type":"stats"' -- -r snaplen.pcap
check truncated-capture  1  'truncated\.pcap: packet 8: ' '"signature":"starttls_stripped"' -- -r truncated.pcap
check huge-caplen        1  'hugecap\.pcap: packet 4: ' '"event_type":"stats"' -- -r hugecap.pcap
check unsupported-link   1  'badlink\.pcap: link type .* not supported' '' -- -r badlink.pcap
i=0
while [ $i -lt 5 ]; do
	cat headeronly.pcap >garbage$i.pcap
	head -c 2048 /dev/urandom >>garbage$i.pcap
	# almost always "packet 1: invalid packet capture length"; never a crash
	check "garbage-records-$i" any '' '' -- -r garbage$i.pcap
	i=$((i + 1))
done
# Random bytes behind sane record headers: pkt_decode gets the garbage.
i=0
while [ $i -lt 5 ]; do
	"$MKBAD" good fuzz$i.pcap
	# keep the 24-byte file header and 16-byte first record header, scramble the rest
	{ head -c 40 fuzz$i.pcap; head -c 54 /dev/urandom; tail -c +95 good.pcap; } >fuzzed$i.pcap
	"$BIN" -r fuzzed$i.pcap >"$T/out" 2>"$T/err"
	rc=$?
	if [ $rc -ge 128 ] || grep -Eq 'Sanitizer|runtime error:' "$T/err"; then
		cp fuzzed$i.pcap "${TMPDIR:-/tmp}/stg-crash-$$-$i.pcap"
		bad "fuzzed-frame-$i" "crash (exit $rc), input kept in ${TMPDIR:-/tmp}/stg-crash-$$-$i.pcap"
	else
		ok "fuzzed-frame-$i"
	fi
	i=$((i + 1))
done

# Output.
check unwritable-eve     1  '/nonexistent/dir/eve\.json: cannot open the EVE output' '' -- -r good.pcap -l /nonexistent/dir/eve.json

# Configuration.
printf 'ports = [ 25\npolicy = {};\n' >syntax.conf
printf 'ports = [ 25 ];\npolicy = {\n  default = { mode = "enforcing"; };\n};\n' >mode.conf
printf 'policy = {\n  rules = (\n    { match = "203.0.113.0/24"; mode = "enforce"; },\n    { match = "203.0.113.300/24"; mode = "enforce"; }\n  );\n};\n' >cidr.conf
printf 'ports = [ 25, 70000 ];\n' >port.conf
printf 'engine = {\n  max_flows = "many";\n};\n' >type.conf
printf 'policy = { default = { min_tls = "1.5"; }; };\n' >tls.conf
printf 'policy = {\n  rules = ( { match = "192.0.2.0/24"; } );\n};\n' >nomode.conf
printf 'bogus = 1;\npolicy = { default = { mode = "enforce"; }; };\n' >unknown.conf
check config-syntax      1  'syntax\.conf:2: ' '' -- -c syntax.conf -t
check config-unknown-mode 1 'mode\.conf:3: .*unknown mode "enforcing"' '' -- -c mode.conf -t
check config-bad-cidr    1  'cidr\.conf:4: .*203\.0\.113\.300/24' '' -- -c cidr.conf -t
check config-bad-port    1  'port\.conf:1: .*70000' '' -- -c port.conf -t
check config-wrong-type  1  'type\.conf:2: engine\.max_flows: expected an integer' '' -- -c type.conf -t
check config-bad-tls     1  'tls\.conf:1: .*"1\.5"' '' -- -c tls.conf -t
check config-no-mode     1  'nomode\.conf:2: .*missing mode' '' -- -c nomode.conf -t
check config-missing     1  'absent\.conf: cannot read' '' -- -c absent.conf -t
check config-directory   1  'cannot read' '' -- -c . -t
check config-unknown-key 0  'unknown\.conf:1: unknown setting .bogus. ignored' 'configuration OK' -- -c unknown.conf -t
check config-bad-with-r  1  'mode\.conf:3: ' '' -- -c mode.conf -r good.pcap

# Command line.
check no-mode            2  'one of -q' '' --
check bad-option         2  'usage' '' -- --frobnicate
check bad-queue          2  '-q 3-1' '' -- -q 3-1
check q-and-r            2  'exclude' '' -- -q 0 -r good.pcap
check stray-argument     2  'unexpected argument' '' -- -t extra

echo "badinput ($BIN): $pass passed, $fail failed"
[ $fail -eq 0 ]
