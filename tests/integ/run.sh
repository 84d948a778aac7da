#!/bin/sh
# run.sh [BUILD] - the integration tests: real Postfix, real NFQUEUE, in
# stg-* network namespaces (documentation addresses only). Needs root, the
# packages in tests/integ/packages.txt and a built tree (BUILD, default
# build). Runs every tests/integ/t*.sh (or those named in TESTS="t1 t4"),
# each with a time limit (TEST_TIMEOUT seconds, default 240; a test that
# needs longer says so in a "# integ-timeout: SECONDS" line near its top,
# which TEST_TIMEOUT overrides); prints "N passed, N failed"; exits 1 on
# failure.
# Each test cleans up after itself; this script checks that no stg-*
# namespace is left behind.
set -u
cd "$(dirname "$0")/../.." || exit 1
BUILD=${1:-build}
export BUILD
LIMIT=${TEST_TIMEOUT:-240}

if [ "$(id -u)" != 0 ]; then
	echo "integ: needs root"
	exit 1
fi
missing=""
for cmd in postfix postqueue postconf swaks openssl tcpdump jq python3 iptables ip6tables ip ss \
    sysctl flock timeout dnsmasq; do
	command -v "$cmd" >/dev/null 2>&1 || missing="$missing $cmd"
done
if [ -n "$missing" ]; then
	echo "integ: missing commands:$missing (tests/integ/packages.txt; .ci/install-deps installs them)"
	echo "0 passed, 1 failed"
	exit 1
fi
# One run at a time on a machine: the topology's namespace names are fixed.
# The tests see STG_LOCK_HELD and do not lock again. STG_LOCK_WAIT: seconds
# to wait for another run (default 900).
STG_LOCK=${STG_LOCK:-/run/lock/stg-integ.lock}
export STG_LOCK
mkdir -p "$(dirname "$STG_LOCK")"    # a minimal root (container, chroot) may lack /run/lock
exec 9>"$STG_LOCK"
waited=$(date +%s)
if ! flock -w "${STG_LOCK_WAIT:-900}" 9; then
	echo "integ: another integration run holds $STG_LOCK"
	echo "0 passed, 1 failed"
	exit 1
fi
waited=$(( $(date +%s) - waited ))
[ $waited -lt 2 ] || echo "integ: waited $waited s for $STG_LOCK (another run)"
STG_LOCK_HELD=1
export STG_LOCK_HELD
topo_left() { ip netns list 2>/dev/null | grep -Eq '^stg-(cli|gw|att|srv)( |$)'; }
if topo_left; then
	echo "integ: the stg-cli/gw/att/srv namespaces exist already; removing them"
	sh netns-scripts/topo.sh down
fi

pass=0 fail=0 failed=""
for t in tests/integ/t*.sh; do
	name=$(basename "$t" .sh)
	if [ -n "${TESTS:-}" ]; then
		case " $TESTS " in *" ${name%%_*} "*|*" $name "*) ;; *) continue ;; esac
	fi
	echo "=== $name"
	start=$(date +%s)
	lim=$LIMIT
	if [ -z "${TEST_TIMEOUT:-}" ]; then
		own=$(sed -n '1,30s/^# integ-timeout: *\([0-9][0-9]*\).*/\1/p' "$t" | head -n 1)
		[ -n "$own" ] && lim=$own
	fi
	timeout -k 10 "$lim" bash "$t"
	rc=$?
	end=$(date +%s)
	if [ $rc -eq 0 ]; then
		pass=$((pass + 1))
		echo "=== $name: ok ($((end - start)) s)"
	else
		fail=$((fail + 1))
		failed="$failed $name"
		[ $rc -eq 124 ] && echo "=== $name: timed out after $lim s"
		echo "=== $name: FAILED ($((end - start)) s)"
	fi
	if topo_left; then
		echo "=== $name left stg-* namespaces behind"
		sh netns-scripts/topo.sh down
		fail=$((fail + 1))
		failed="$failed $name(cleanup)"
	fi
done
[ -n "$failed" ] && echo "failed:$failed"
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
