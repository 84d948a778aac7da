#!/bin/sh
# run-layers.sh - the folders depend one way (doc/architecture.md):
#
#   gateway/ -> gateway/output/, resolver/, nfq/, policy/, inspect/
#   gateway/output/ -> policy/, inspect/, nfq/ (types and counters), and of
#       gateway/ only the event facts gw_tls.h / gw_x509.h, never the
#       engine, the configuration or a driver
#   resolver/ -> policy/, inspect/      nfq/ -> inspect/
#   policy/ -> inspect/ (types only)    inspect/ -> libc
#
# Checks every quoted #include of those folders against the rules above,
# and that inspect/ and policy/ call nothing that does I/O, logs, reads
# the clock or exits. Prints PASS/FAIL per rule and "N passed, N failed".
set -u
cd "$(dirname "$0")/.." || exit 1
pass=0 fail=0

# rule NAME FILES... -- ALLOWED-REGEX: every quoted include of FILES must
# match ALLOWED-REGEX (an extended regex over the include's path).
rule() {
	name=$1
	shift
	files=""
	while [ "$1" != "--" ]; do
		files="$files $1"
		shift
	done
	allowed=$2
	bad=$(for f in $files; do
		[ -f "$f" ] || continue
		sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f" |
		    grep -Ev "^($allowed)\$" | sed "s|^|  $f: |"
	done)
	if [ -z "$bad" ]; then
		echo "PASS $name"
		pass=$((pass + 1))
	else
		echo "FAIL $name"
		echo "$bad"
		fail=$((fail + 1))
	fi
}

rule "inspect/ includes only inspect/" inspect/*.[ch] -- '[a-z_0-9]+\.h'
rule "policy/ includes policy/ and inspect/" policy/*.[ch] -- '[a-z_0-9]+\.h|\.\./inspect/[a-z_0-9]+\.h'
rule "nfq/ includes nfq/ and inspect/" nfq/*.[ch] -- '[a-z_0-9]+\.h|\.\./inspect/[a-z_0-9]+\.h'
rule "resolver/ includes resolver/, policy/ and inspect/" resolver/*.[ch] -- \
    '[a-z_0-9]+\.h|\.\./(inspect|policy)/[a-z_0-9]+\.h'
rule "gateway/output/ never includes the engine, the configuration or a driver" \
    gateway/output/*.[ch] -- \
    '[a-z_0-9]+\.h|\.\./\.\./(inspect|policy|nfq)/[a-z_0-9]+\.h|\.\./gw_(tls|x509)\.h'

# Calls that do I/O, log, read the clock or end the process.
banned='(^|[^a-z_0-9])(fopen|fprintf|printf|puts|perror|syslog|clock_gettime|gettimeofday|time|open|read|write|exit|abort)[[:space:]]*\('
hits=$(grep -nE "$banned" inspect/*.c policy/*.c | grep -vE ':[[:space:]]*(/?\*|//)')
if [ -z "$hits" ]; then
	echo "PASS inspect/ and policy/ do no I/O, logging, clock or exit"
	pass=$((pass + 1))
else
	echo "FAIL inspect/ and policy/ do no I/O, logging, clock or exit"
	echo "$hits" | sed 's/^/  /'
	fail=$((fail + 1))
fi

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
