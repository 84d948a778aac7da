#!/bin/sh
# run-package.sh [BUILD] - `make check-package` (issue 17), as root: the
# Debian package on this machine, and deploy/'s monitoring files against
# the metrics of real runs.
#   deb        make deb into a temporary directory; Build-Depends cover every
#              library the binary links (by source package)
#   lintian    no error or warning (info and pedantic tags shown), each
#              override explained
#   install    apt-get install ./starttls-guard_*.deb: the system user, its
#              directories, the conffiles; no unit enabled, nothing started,
#              no netfilter rule added
#   config     starttls-guard -t on the installed sample configuration
#   units      systemd-analyze verify on both installed units
#   metrics    promtool check metrics on the metrics of an offline replay by
#              the installed binary (with the installed configuration) and of
#              the installed gateway inline (tests/package/live_metrics.sh)
#   rules      promtool check rules and promtool test rules (alerts fire)
#   dashboard  every metric the dashboard and the rules name is in the live
#              metrics file, and promtool parses each dashboard query
#   conffile   changed conffiles survive a reinstall and a remove + install
#   purge      leaves nothing behind but the system user (Debian practice)
# Everything it installed is purged at exit (also on failure), and the
# system user removed if it made it. Prints the time of each step and
# "package: N passed, N failed"; exits non-zero on any failure.
set -u
BUILD=${1:-build}
cd "$(dirname "$0")/.." || exit 1
ROOT=$(pwd)
case "$BUILD" in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
PKG=starttls-guard

if [ "$(id -u)" != 0 ]; then
	echo "package: needs root (installs the package on this machine)"
	echo "package: 0 passed, 1 failed"
	exit 1
fi
for cmd in dpkg-buildpackage dh fakeroot lintian promtool systemd-analyze apt-get python3; do
	command -v "$cmd" >/dev/null 2>&1 && continue
	echo "package: $cmd missing (sh .ci/install-deps)"
	echo "package: 0 passed, 1 failed"
	exit 1
done
if dpkg-query -W -f='${Status}' $PKG 2>/dev/null | grep -q 'installed'; then
	echo "package: $PKG is already installed here; this test installs and purges it, so it stops"
	echo "package: 0 passed, 1 failed"
	exit 1
fi
# One run at a time: the package is installed machine-wide.
exec 8>/run/lock/stg-package.lock
flock -w 900 8 || { echo "package: another run holds /run/lock/stg-package.lock"; exit 1; }

W=$(mktemp -d /tmp/stg-package.XXXXXX)
chmod 755 "$W"
USER_MADE=0
getent passwd $PKG >/dev/null || USER_MADE=1
PULLED=""   # packages apt installs with ours (none after .ci/install-deps)
cleanup() {
	set +e
	if dpkg-query -W -f='${Status}' $PKG 2>/dev/null | grep -q 'ok installed\|config-files'; then
		dpkg --purge $PKG >/dev/null 2>&1
	fi
	[ -n "$PULLED" ] && apt-get purge -y -qq $PULLED >/dev/null 2>&1
	if [ $USER_MADE = 1 ] && getent passwd $PKG >/dev/null; then
		userdel $PKG
		getent group $PKG >/dev/null && groupdel $PKG
	fi
	for f in /var/cache/man/cat*/$PKG*; do
		[ -e "$f" ] && ! grep -qx "$f" "$W/mancache.before" && rm -f "$f"
	done
	rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

pass=0 fail=0
ok() { pass=$((pass + 1)); echo "  ok: $*"; }
bad() { fail=$((fail + 1)); echo "  FAIL: $*"; }
check() { d=$1; shift; if "$@"; then ok "$d"; else bad "$d"; fi; }
T0=$(date +%s.%N)
TS=$T0 STEP=""
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
step() {
	now=$(date +%s.%N)
	[ "$TS" = "$T0" ] || echo "   ($STEP: $(secs "$TS" "$now") s)"
	echo "== $1"
	STEP=$1 TS=$now
}
# Files and directories named like the package, outside the places where
# builds and tests write their own (temporary directories, this checkout
# and its siblings) and man-db's page cache (systemd-analyze verify runs
# `man` for Documentation=, which caches a page there; cleanup takes it).
leftovers() {
	find / -xdev \( -path /proc -o -path /sys -o -path /dev -o -path /run -o -path /tmp \
	    -o -path /var/tmp -o -path /var/cache/man -o -path "$(dirname "$ROOT")" \) -prune -o \
	    -name "*$PKG*" -print 2>/dev/null | LC_ALL=C sort
}
ls /var/cache/man/cat*/$PKG* 2>/dev/null >"$W/mancache.before"

# ---- deb -----------------------------------------------------------------
step "deb: make deb"
VER=$(cat VERSION)
check "make deb" sh -c "make --no-print-directory -s deb DEBDIR='$W/deb' >'$W/deb.log' 2>&1 || { cat '$W/deb.log'; exit 1; }"
DEB=$(ls "$W"/deb/${PKG}_"$VER"_*.deb 2>/dev/null | head -n 1)
check "the .deb is there: $(basename "${DEB:-none}")" test -n "$DEB"
[ -n "$DEB" ] || { echo "package: $pass passed, $((fail + 1)) failed"; exit 1; }
check "the tree stays clean (nothing written beside it)" sh -c \
    "! ls '$ROOT'/../${PKG}_* '$ROOT'/debian/$PKG '$ROOT'/debian/files >/dev/null 2>&1"
# Build-Depends against what the binary links: each NEEDED library's
# source package must be that of a Build-Depends package (glibc aside).
dpkg-deb -x "$DEB" "$W/x"
bd_src=$(sed -n '/^Build-Depends:/,/^[A-Z][a-z-]*:/p' debian/control | grep -o 'lib[a-z0-9.+-]*-dev' |
    xargs dpkg-query -W -f='${source:Package}\n' 2>/dev/null | sort -u)
missing=""
for lib in $(readelf -d "$W/x/usr/sbin/$PKG" | sed -n 's/.*NEEDED.*\[\(.*\)\]/\1/p'); do
	path=$(ldconfig -p | awk -v l="$lib" '$1 == l { print $NF; exit }')
	# dpkg knows a file by the path its package ships (/lib or /usr/lib)
	owner=$( (dpkg -S "$path" || dpkg -S "$(readlink -f "$path")" ||
	    dpkg -S "/usr$path" || dpkg -S "${path#/usr}") 2>/dev/null | head -n 1 | cut -d: -f1)
	src=$(dpkg-query -W -f='${source:Package}' "$owner" 2>/dev/null)
	case "$src" in glibc|gcc-*) continue ;; esac
	echo "$bd_src" | grep -qx "$src" || missing="$missing $lib(${src:-no package})"
done
check "Build-Depends name every library the binary links${missing:+: missing$missing}" test -z "$missing"

# ---- lintian -------------------------------------------------------------
step "lintian"
lintian --allow-root -I -E --pedantic --show-overrides "$W"/deb/${PKG}_"$VER"_*.changes >"$W/lintian.log" 2>&1
sed 's/^/    /' "$W/lintian.log" | grep -v '^    N:'
# Errors and warnings fail; info and pedantic tags are shown (above) and
# counted: an override for each that stays, with its reason.
check "lintian: no error or warning" sh -c "! grep -q '^[EW]:' '$W/lintian.log'"
echo "    lintian: $(grep -c '^[IPX]:' "$W/lintian.log") info/pedantic/experimental tag(s) not overridden, $(grep -c '^O:' "$W/lintian.log") overridden"
check "each lintian override follows a comment saying why" awk '
	/^#/ { c = 1; next } /^$/ { next }
	{ if (!c) { print FILENAME ": " $0 " has no comment"; bad = 1 } }
	END { exit bad }' debian/*lintian-overrides

# ---- install ---------------------------------------------------------------
step "install"
leftovers >"$W/files.before"
iptables-save -t mangle 2>/dev/null | grep -v '^[#:]' >"$W/mangle.before"
ip6tables-save -t mangle 2>/dev/null | grep -v '^[#:]' >>"$W/mangle.before"
PULLED=$(apt-get install -s --no-install-recommends "$DEB" 2>/dev/null |
    sed -n 's/^Inst \([^ ]*\) .*/\1/p' | grep -vx $PKG | tr '\n' ' ')
[ -z "$PULLED" ] || echo "    apt also installs: $PULLED (purged at exit)"
check "apt-get install ./$(basename "$DEB")" sh -c "DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 \
    install -y -qq --no-install-recommends '$DEB' </dev/null >'$W/apt.log' 2>&1 || { cat '$W/apt.log'; exit 1; }"
check "system user $PKG (no login, no home of its own)" sh -c "getent passwd $PKG |
    awk -F: '\$3 < 1000 && \$7 ~ /nologin|false/ { f = 1 } END { exit !f }'"
for spec in "/var/lib/$PKG $PKG:$PKG 750" "/var/lib/$PKG/evidence $PKG:$PKG 750" \
    "/var/log/$PKG $PKG:adm 2750"; do
	set -- $spec
	check "$1 is $2, mode $3" test "$(stat -c '%U:%G %a' "$1" 2>/dev/null)" = "$2 $3"
done
conff=$(dpkg-query -W -f='${Conffiles}' $PKG | awk '{ print $1 }' | sort | tr '\n' ' ')
check "conffiles: $conff" test "$conff" = \
    "/etc/default/$PKG /etc/logrotate.d/$PKG /etc/$PKG/$PKG.conf "
check "the shipped configuration drops to $PKG" grep -q "^  user = \"$PKG\";" /etc/$PKG/$PKG.conf
for u in $PKG.service $PKG-rules.service; do
	check "$u installed, not enabled" sh -c \
	    "test -f /lib/systemd/system/$u && test \"\$(systemctl --root=/ is-enabled $u 2>/dev/null)\" = disabled"
done
check "no installed binary running" sh -c '
	for p in /proc/[0-9]*; do [ "$(readlink "$p/exe" 2>/dev/null)" = /usr/sbin/'$PKG' ] && exit 1; done; exit 0'
iptables-save -t mangle 2>/dev/null | grep -v '^[#:]' >"$W/mangle.after"
ip6tables-save -t mangle 2>/dev/null | grep -v '^[#:]' >>"$W/mangle.after"
check "no netfilter rule added by the installation" cmp -s "$W/mangle.before" "$W/mangle.after"
check "--version says $VER" sh -c "/usr/sbin/$PKG --version | grep -qw '$VER'"
check "dashboard and rules in /usr/share/$PKG" test -s /usr/share/$PKG/$PKG-dashboard.json -a -s /usr/share/$PKG/$PKG.rules.yml
check "man pages: starttls-guard(8), starttls-guard.conf(5), starttls-guard-rules(8)" sh -c \
    "test -f /usr/share/man/man8/$PKG.8.gz && test -f /usr/share/man/man5/$PKG.conf.5.gz &&
     test \"\$(readlink -f /usr/share/man/man8/$PKG-rules.8.gz)\" = /usr/share/man/man8/$PKG.8.gz"

# ---- config, units ---------------------------------------------------------------
step "config and units"
check "starttls-guard -t on the installed configuration" sh -c \
    "/usr/sbin/$PKG -c /etc/$PKG/$PKG.conf -t >'$W/t.log' 2>&1 && grep -q 'configuration OK' '$W/t.log' ||
     { cat '$W/t.log'; exit 1; }"
check "-t names no unknown setting" sh -c "! grep -q 'unknown setting' '$W/t.log'"
check "systemd-analyze verify both units" sh -c "
	systemd-analyze verify /lib/systemd/system/$PKG.service /lib/systemd/system/$PKG-rules.service \
	    >'$W/verify.log' 2>&1; rc=\$?
	grep -v \"Command 'man\" '$W/verify.log' | grep -i '$PKG' && exit 1
	[ \$rc = 0 ] || grep -q \"Command 'man\" '$W/verify.log'"
check "starttls-guard-rules reads /etc/default (usage names its QUEUES)" sh -c \
    "/usr/sbin/$PKG-rules 2>&1 | grep -q 'QUEUES=0-1'"

# ---- metrics ---------------------------------------------------------------
step "metrics: offline replay with the installed configuration"
# The installed configuration plus a metrics file, an EFF-format list and an
# MTA-STS cache (so the expiry gauges carry real values); the EVE file and
# the pins go where the package put their directories, so purge meets
# state the daemon wrote.
mkdir -p "$W/sts"
cp tests/fixtures/policy/mta-sts/example.net.txt "$W/sts/"
now=$(date +%s)
printf '{"timestamp": %s, "expires": %s, "version": "0.1", "policy-aliases": {}, "policies": {"example.org": {"mode": "testing", "mxs": ["mx.example.org"]}}}\n' \
    "$now" $((now + 14 * 86400)) >"$W/eff.json"
sed -e "s|^  # eff_list = .*|  eff_list = \"$W/eff.json\";|" \
    -e "s|^  # mta_sts_dir = .*|  mta_sts_dir = \"$W/sts\";|" \
    -e "s|^  metrics = { enabled = false; file = \"[^\"]*\";|  metrics = { enabled = true; file = \"$W/offline.prom\";|" \
    /etc/$PKG/$PKG.conf >"$W/offline.conf"
for cap in clean_tls12 stripped_xxxxxxxx; do
	check "offline replay of $cap with the installed binary" sh -c "/usr/sbin/$PKG -c '$W/offline.conf' \
	    -r tests/fixtures/$cap.pcap >'$W/offline.log' 2>&1 || { cat '$W/offline.log'; exit 1; }"
done
check "it wrote EVE lines and pins into the package's directories" sh -c \
    "test -s /var/log/$PKG/eve.json && test -e /var/lib/$PKG/pins"
check "promtool check metrics: offline replay" sh -c "promtool check metrics <'$W/offline.prom'"
check "expiry gauges: EFF list in 14 days, MTA-STS cache in a year" python3 - "$W/offline.prom" "$now" <<'PY'
import re, sys
text, now = open(sys.argv[1]).read(), int(sys.argv[2])
def g(src):
    return int(re.search(r'^starttls_guard_policy_expiry_timestamp_seconds\{source="%s"\} (\d+)$' % src, text, re.M).group(1))
assert g("eff") == now + 14 * 86400, g("eff")
assert abs(g("mta-sts") - (now + 31557600)) < 120, g("mta-sts")
PY
step "metrics: the installed gateway inline (stg-* namespaces)"
STG_LOCK_HELD= BUILD="$BUILD" bash tests/package/live_metrics.sh "$W/live.prom" >"$W/live.log" 2>&1
rc=$?
sed 's/^/    /' "$W/live.log"
check "installed gateway inline, captures replayed through it" test $rc = 0
if [ $rc = 0 ]; then
	# the inline file carries a histogram in microseconds: promtool's lint
	# asks for base units; the name is an interface (metrics, alerts,
	# dashboards already use it), so that one remark is allowed
	promtool check metrics <"$W/live.prom" >"$W/promlint.log" 2>&1
	sed 's/^/    /' "$W/promlint.log"
	check "promtool check metrics: live gateway (only the microseconds remark)" sh -c \
	    "! grep -v 'nfq_verdict_latency_microseconds.*use base unit \"seconds\" instead of \"microseconds\"' '$W/promlint.log' | grep -q ."
	check "live metrics at exit = its EVE lines (sessions by verdict, alerts by signature and action)" \
	    python3 - "$W/live.prom.final" "$W/live.prom.eve" <<'PY'
import collections, json, re, sys
m = {}
for line in open(sys.argv[1]):
    r = re.match(r'^(starttls_guard_\w+)(\{.*\})? (\S+)$', line)
    if r:
        m[(r.group(1), r.group(2) or "")] = float(r.group(3))
ev = [json.loads(l) for l in open(sys.argv[2])]
flows = collections.Counter(e["flow"]["verdict"] for e in ev if e["event_type"] == "flow")
alerts = collections.Counter((e["alert"]["signature"], e["alert"]["action"]) for e in ev if e["event_type"] == "alert")
for (name, lab), v in m.items():
    d = dict(re.findall(r'(\w+)="([^"]*)"', lab))
    if name == "starttls_guard_sessions_total":
        assert v == flows[d["verdict"]], (d, v, flows)
    if name == "starttls_guard_alerts_total":
        assert v == alerts[(d["signature"], d["action"])], (d, v, alerts)
assert sum(flows.values()) >= 5 and alerts[("starttls_stripped", "blocked")] == 1, (flows, alerts)
assert m[("starttls_guard_rst_sent_total", "")] >= 2, "a blocked flow resets both ends"
assert m[("starttls_guard_nfq_verdict_latency_microseconds_count", "")] > 0, "no verdict latency"
PY
fi

# ---- rules and dashboard ---------------------------------------------------------------
step "rules and dashboard"
check "promtool check rules deploy/starttls-guard.rules.yml" sh -c \
    "promtool check rules deploy/starttls-guard.rules.yml >'$W/rules.log' 2>&1 || { cat '$W/rules.log'; exit 1; }"
check "promtool test rules: each alert fires on its series, and only then" sh -c \
    "promtool test rules tests/package/rules_test.yml >'$W/rtest.log' 2>&1 || { cat '$W/rtest.log'; exit 1; }"
if [ -s "$W/live.prom" ]; then
	check "dashboard and rules name only metrics of the live gateway's file" python3 \
	    tests/package/check_monitoring.py deploy/starttls-guard-dashboard.json \
	    deploy/starttls-guard.rules.yml "$W/live.prom" "$W/dashboard-queries.yml"
	check "promtool parses every dashboard query" sh -c \
	    "promtool check rules '$W/dashboard-queries.yml' >'$W/dq.log' 2>&1 || { cat '$W/dq.log'; exit 1; }"
else
	bad "dashboard and rules: no live metrics file to check them against"
fi

# ---- conffiles ---------------------------------------------------------------
step "conffiles: reinstall, remove + install"
echo "# the operator's own line" >>/etc/$PKG/$PKG.conf
sed -i 's/^QUEUES=.*/QUEUES=0-3/' /etc/default/$PKG
check "apt-get install --reinstall (no prompt)" sh -c "DEBIAN_FRONTEND=noninteractive apt-get \
    -o DPkg::Lock::Timeout=600 install -y -qq --reinstall --no-install-recommends '$DEB' </dev/null >'$W/apt2.log' 2>&1 ||
    { cat '$W/apt2.log'; exit 1; }"
kept() {
	grep -q "^# the operator's own line" /etc/$PKG/$PKG.conf && grep -q '^QUEUES=0-3$' /etc/default/$PKG
}
check "changed conffiles kept by the reinstall" kept
check "dpkg --remove" sh -c "dpkg --remove $PKG >'$W/rm.log' 2>&1 || { cat '$W/rm.log'; exit 1; }"
check "after remove: the binary is gone, conffiles and state stay" sh -c \
    "test ! -e /usr/sbin/$PKG && test -f /var/lib/$PKG/pins && test -f /etc/$PKG/$PKG.conf"
check "install again" sh -c "dpkg -i '$DEB' </dev/null >'$W/i2.log' 2>&1 || { cat '$W/i2.log'; exit 1; }"
check "changed conffiles kept by remove + install" kept

# ---- purge ---------------------------------------------------------------
step "purge"
check "dpkg --purge" sh -c "dpkg --purge $PKG >'$W/purge.log' 2>&1 || { cat '$W/purge.log'; exit 1; }"
leftovers >"$W/files.after"
check "purge leaves no file of the package behind" sh -c \
    "diff '$W/files.before' '$W/files.after' >'$W/left.diff' || { cat '$W/left.diff'; exit 1; }"
check "the system user stays (its uid may still own files: Debian practice)" getent passwd $PKG
check "no deb-systemd-helper state left" sh -c "! ls /var/lib/systemd/deb-systemd-helper-enabled/ 2>/dev/null | grep -q $PKG"

step "done"
echo "check-package: $(secs "$T0" "$(date +%s.%N)") s in all"
echo "package: $pass passed, $fail failed"
[ $fail -eq 0 ]
