#!/bin/sh
# run-operators.sh [BUILD] - what an operator installs and reads (issue 8):
#   install    make install into a temporary DESTDIR (PREFIX=/usr, sysconfdir=/etc):
#              every file in place, paths substituted, configuration never overwritten
#   config     the installed sample configuration passes -t
#   man        both man pages render without a groff warning
#   replay     the installed binary replays captures with every output on
#   syslog     RFC 5424 frames on a unix datagram socket, UDP and TCP on
#              127.0.0.1 (tests/tools/stg_syslog_listen): PRI, version 1,
#              timestamp, hostname, app-name, SD, and the JSON payload parses
#   reopen     eve_reopen() while a thread writes: no line lost or torn
#   metrics    a strict Prometheus text-format parser; counters = the stats event
#   evidence   each alert's pcap opens in tshark and holds the flow from its SYN
#              to the offending packet, a prefix of the flow in the capture
# Prints "operators: N passed, N failed"; exits non-zero on any failure.
set -u
BUILD=${1:-build}
cd "$(dirname "$0")/.." || exit 1
ROOT=$(pwd)
case "$BUILD" in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
TOOLS=$BUILD/tools
FIX=$ROOT/tests/fixtures
W=$(mktemp -d /tmp/stg-operators.XXXXXX)
LPID=""
cleanup() {
	[ -n "$LPID" ] && kill "$LPID" 2>/dev/null
	rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

pass=0 fail=0
ok() { pass=$((pass + 1)); echo "  ok: $*"; }
bad() { fail=$((fail + 1)); echo "  FAIL: $*"; }
check() { d=$1; shift; if "$@"; then ok "$d"; else bad "$d"; fi; }

# ---- install ---------------------------------------------------------
D=$W/dest
make --no-print-directory -s install DESTDIR="$D" PREFIX=/usr sysconfdir=/etc \
    BUILD="$(basename "$BUILD")" >"$W/install.log" 2>&1 || { cat "$W/install.log"; bad "make install"; }
for f in usr/sbin/starttls-guard usr/sbin/starttls-guard-rules \
    usr/libexec/starttls-guard/rules.sh etc/starttls-guard/starttls-guard.conf \
    etc/default/starttls-guard etc/logrotate.d/starttls-guard \
    usr/lib/systemd/system/starttls-guard.service \
    usr/lib/systemd/system/starttls-guard-rules.service \
    usr/share/man/man8/starttls-guard.8 usr/share/man/man5/starttls-guard.conf.5 \
    usr/share/doc/starttls-guard/starttls-guard.conf.example usr/share/doc/starttls-guard/siem.md; do
	if [ -e "$D/$f" ]; then ok "installed: /$f"; else bad "installed: /$f missing"; fi
done
check "no @DIR@ placeholder left" sh -c "! grep -l '@[A-Z]*DIR@' '$D/usr/sbin/starttls-guard-rules' \
    '$D/usr/lib/systemd/system/'*.service '$D/etc/logrotate.d/starttls-guard'"
check "unit runs the installed binary" grep -q '^ExecStart=/usr/sbin/starttls-guard -c' \
    "$D/usr/lib/systemd/system/starttls-guard.service"
check "unit has ExecReload and sandboxing" sh -c 'grep -q "^ExecReload=" "$1" && grep -q "^ProtectSystem=strict" "$1" &&
    grep -q "^NoNewPrivileges=yes" "$1" && grep -q "^CapabilityBoundingSet=" "$1"' - \
    "$D/usr/lib/systemd/system/starttls-guard.service"
check "rules wrapper calls the installed rules script" \
    grep -q '/usr/libexec/starttls-guard/rules.sh' "$D/usr/sbin/starttls-guard-rules"
echo "# operator's own" >>"$D/etc/starttls-guard/starttls-guard.conf"
make --no-print-directory -s install DESTDIR="$D" PREFIX=/usr sysconfdir=/etc \
    BUILD="$(basename "$BUILD")" >>"$W/install.log" 2>&1
check "a second install keeps the operator's configuration" \
    grep -q "^# operator's own" "$D/etc/starttls-guard/starttls-guard.conf"
if command -v systemd-analyze >/dev/null 2>&1; then
	# verify needs the binary at its path: point the unit at DESTDIR's
	sed "s|/usr/sbin/|$D/usr/sbin/|g; s|^EnvironmentFile=.*||" \
	    "$D/usr/lib/systemd/system/starttls-guard.service" >"$W/starttls-guard.service"
	check "systemd-analyze verify accepts the unit" sh -c \
	    "systemd-analyze verify '$W/starttls-guard.service' 2>&1 | grep -v \"Command 'man\" | grep -i 'starttls-guard.service' && exit 1; exit 0"
else
	echo "  not run: systemd-analyze verify (no systemd-analyze: package systemd, .ci/install-deps)"
fi

# ---- config ------------------------------------------------------------
BIN=$D/usr/sbin/starttls-guard
check "installed sample configuration passes -t" \
    "$BIN" -c "$D/etc/starttls-guard/starttls-guard.conf" -t >"$W/t.out" 2>&1
check "-t names no unknown setting in the sample" sh -c "! grep -q 'unknown setting' '$W/t.out'"

# ---- man ---------------------------------------------------------------
for m in "$D/usr/share/man/man8/starttls-guard.8" "$D/usr/share/man/man5/starttls-guard.conf.5"; do
	check "man page renders without warnings: $(basename "$m")" sh -c \
	    "groff -man -Tutf8 -ww -z '$m' 2>'$W/groff.err' && [ ! -s '$W/groff.err' ]"
done

# ---- replay with every output, syslog over unix / UDP / TCP -------------
PCAP=$FIX/stripped_xxxxxxxx.pcap
mkdir -p "$W/evidence"
APP=stg-test
PORT=$(( 20000 + $$ % 20000 ))
# conf TARGET EVE
conf() {
	cp "$FIX/golden.conf" "$W/op.conf"
	cat >>"$W/op.conf" <<CONF
outputs = {
  eve = { file = "$2"; };
  syslog = { facility = "local3"; target = "$1"; app_name = "$APP"; events = [ "alert", "flow", "stats" ]; };
  evidence = { dir = "$W/evidence"; max_files = 50; };
  metrics = { file = "$W/metrics.prom"; };
};
CONF
}
# expect: alerts + flows + 1 stats line = every EVE line of the replay
"$BIN" -c "$FIX/golden.conf" -r "$PCAP" -l "$W/ref.json" 2>/dev/null
NLINES=$(wc -l <"$W/ref.json")
for proto in unix udp tcp; do
	case $proto in
	unix) target="unix:$W/log.sock"; where="$W/log.sock" ;;
	udp)  target="udp://127.0.0.1:$PORT"; where=$PORT ;;
	tcp)  target="tcp://127.0.0.1:$PORT"; where=$PORT ;;
	esac
	rm -f "$W/syslog.$proto"
	"$TOOLS/stg_syslog_listen" $proto "$where" "$W/syslog.$proto" "$NLINES" 10 >"$W/listen.out" 2>&1 &
	LPID=$!
	i=0; while [ $i -lt 50 ] && ! grep -q ready "$W/listen.out"; do sleep 0.1; i=$((i + 1)); done
	rm -rf "$W/evidence"/* "$W/metrics.prom"
	conf "$target" "$W/eve.$proto.json"
	check "replay with syslog $proto, evidence and metrics" \
	    "$BIN" -c "$W/op.conf" -r "$PCAP"
	wait "$LPID"; rc=$?; LPID=""
	check "syslog $proto: $NLINES messages received" [ $rc = 0 ]
	check "syslog $proto: RFC 5424 frames match the EVE lines" python3 - "$W/syslog.$proto" \
	    "$W/eve.$proto.json" "$(hostname)" "$APP" <<'PY'
import json, re, sys
msgs = [l.rstrip("\n") for l in open(sys.argv[1])]
eve = [json.loads(l) for l in open(sys.argv[2])]
host, app = sys.argv[3], sys.argv[4]
rx = re.compile(r'^<(\d{1,3})>1 (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,6})?(?:Z|[+-]\d\d:\d\d)) '
                r'(\S{1,255}) (\S{1,48}) (\d+) (\S{1,32}) (-|\[[^\]]*\]) (\{.*\})$')
sevmap = {1: 2, 2: 4, 3: 5}
if len(msgs) != len(eve):
    sys.exit("%d messages for %d EVE lines" % (len(msgs), len(eve)))
for m, e in zip(msgs, eve):
    r = rx.match(m)
    if not r:
        sys.exit("not RFC 5424: " + m[:120])
    pri, ts, h, a, pid, msgid, sd, body = r.groups()
    j = json.loads(body)
    if j != e:
        sys.exit("payload differs from the EVE line")
    if h != host.split()[0] or a != app or msgid != j["event_type"]:
        sys.exit("hostname/app-name/msgid: %s %s %s" % (h, a, msgid))
    sev = sevmap[j["alert"]["severity"]] if j["event_type"] == "alert" else 6
    if int(pri) != 19 * 8 + sev:
        sys.exit("PRI %s, expected %d" % (pri, 19 * 8 + sev))
    if ts[:19] != j["timestamp"][:19]:
        sys.exit("timestamp %s vs %s" % (ts, j["timestamp"]))
    if j["event_type"] == "alert":
        want = '[stg@32473 signature="%s" severity="%d" action="%s" flow_id="%d"]' % (
            j["alert"]["signature"], j["alert"]["severity"], j["alert"]["action"], j["flow_id"])
        if sd != want:
            sys.exit("SD %s, expected %s" % (sd, want))
if not any(json.loads(re.search(r'\{.*\}$', m).group(0))["event_type"] == "alert" for m in msgs):
    sys.exit("no alert among the messages")
PY
done

# ---- reopen --------------------------------------------------------------
check "eve_reopen under load: rotated + new file hold every line" \
    "$TOOLS/stg_eve_reopen" "$W" 20000

# ---- metrics -------------------------------------------------------------
# One replay of every fixture into one evidence directory and metrics file.
rm -rf "$W/evidence"/* "$W/metrics.prom"
cp "$FIX/golden.conf" "$W/all.conf"
cat >>"$W/all.conf" <<CONF
outputs = {
  eve = { file = "$W/all.json"; };
  evidence = { dir = "$W/evidence"; max_files = 1000; };
  metrics = { file = "$W/metrics.prom"; };
};
CONF
check "replay of a capture for metrics" "$BIN" -c "$W/all.conf" -r "$FIX/injection_client.pcap"
check "metrics parse as Prometheus text and match the stats event" python3 - \
    "$W/metrics.prom" "$W/all.json" <<'PY'
import json, re, sys
name_rx = re.compile(r'^[a-zA-Z_:][a-zA-Z0-9_:]*$')
sample_rx = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$')
label_rx = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"(,|$)')
fams, order, samples = {}, [], {}
cur = None
for n, line in enumerate(open(sys.argv[1]), 1):
    if not line.endswith("\n"):
        sys.exit("line %d: no newline" % n)
    line = line[:-1]
    if line.startswith("# HELP ") or line.startswith("# TYPE "):
        kind, rest = line[2:6], line[7:]
        name, _, text = rest.partition(" ")
        if not name_rx.match(name) or not text:
            sys.exit("line %d: bad %s" % (n, kind))
        f = fams.setdefault(name, {})
        if kind in f:
            sys.exit("line %d: second %s for %s" % (n, kind, name))
        if kind == "TYPE" and text not in ("counter", "gauge"):
            sys.exit("line %d: type %s" % (n, text))
        if name in samples:
            sys.exit("line %d: %s after samples of %s" % (n, kind, name))
        f[kind] = text
        if name not in order:
            order.append(name)
        cur = name
        continue
    if line.startswith("#") or not line:
        sys.exit("line %d: unexpected %r" % (n, line))
    m = sample_rx.match(line)
    if not m:
        sys.exit("line %d: not a sample: %r" % (n, line))
    name, _, labels, value = m.groups()
    if name != cur:
        sys.exit("line %d: %s outside its family (%s)" % (n, name, cur))
    if not name.startswith("starttls_guard_"):
        sys.exit("line %d: no prefix" % n)
    if "TYPE" not in fams[name] or "HELP" not in fams[name]:
        sys.exit("line %d: %s without HELP and TYPE" % (n, name))
    if fams[name]["TYPE"] == "counter" and not name.endswith("_total"):
        sys.exit("line %d: counter %s without _total" % (n, name))
    lab = {}
    if labels:
        pos = 0
        while pos < len(labels):
            lm = label_rx.match(labels, pos)
            if not lm:
                sys.exit("line %d: bad labels %r" % (n, labels))
            lab[lm.group(1)] = lm.group(2)
            pos = lm.end()
    float(value)
    key = (name, tuple(sorted(lab.items())))
    if key in samples:
        sys.exit("line %d: duplicate series" % n)
    samples[key] = float(value)
    samples.setdefault(name, True)
stats = [json.loads(l) for l in open(sys.argv[2])]
st = [e for e in stats if e["event_type"] == "stats"][-1]["stats"]
def get(name, **lab):
    return samples[("starttls_guard_" + name, tuple(sorted(lab.items())))]
checks = [("packets_total", {}, st["packets"]), ("bytes_total", {}, st["bytes"]),
          ("flows_created_total", {}, st["flow"]["created"]),
          ("flows_evicted_total", {}, st["flow"]["evicted"]),
          ("flows_midstream_total", {}, st["midstream"])]
checks += [("verdicts_total", {"verdict": k}, v) for k, v in st["verdicts"].items()]
checks += [("findings_total", {"signature": k}, v) for k, v in st["findings"].items()]
for name, lab, want in checks:
    if get(name, **lab) != want:
        sys.exit("%s%s = %s, stats event says %s" % (name, lab, get(name, **lab), want))
alerts = sum(1 for e in stats if e["event_type"] == "alert")
if sum(st["findings"].values()) != alerts or alerts == 0:
    sys.exit("findings %d vs %d alert lines" % (sum(st["findings"].values()), alerts))
# alerts by (signature, action) and sessions by verdict = the EVE lines
from collections import Counter
eve_alerts = Counter((e["alert"]["signature"], e["alert"]["action"]) for e in stats
                     if e["event_type"] == "alert")
for (name, lab), v in ((k, v) for k, v in samples.items() if isinstance(k, tuple)):
    d = dict(lab)
    if name == "starttls_guard_alerts_total" and v != eve_alerts[(d["signature"], d["action"])]:
        sys.exit("alerts_total%s = %s, EVE has %d" % (d, v, eve_alerts[(d["signature"], d["action"])]))
eve_flows = Counter(e["flow"]["verdict"] for e in stats if e["event_type"] == "flow")
for verdict, want in eve_flows.items():
    if get("sessions_total", verdict=verdict) != want:
        sys.exit("sessions_total{%s} = %s, EVE has %d" % (verdict, get("sessions_total", verdict=verdict), want))
if sum(v for k, v in samples.items() if isinstance(k, tuple) and k[0] == "starttls_guard_sessions_total") != sum(eve_flows.values()):
    sys.exit("sessions_total sums to another number than the EVE flow events")
if get("evidence_written_total") != alerts:
    sys.exit("evidence_written_total %s for %d alerts" % (get("evidence_written_total"), alerts))
print("  %d series in %d families, counters match the stats event" % (
    sum(1 for k in samples if isinstance(k, tuple)), len(order)))
PY

# ---- evidence ------------------------------------------------------------
# tshark -T fields of a capture: frame, ports, flags, seq, length, payload
fields() {
	tshark -r "$1" -o tcp.relative_sequence_numbers:FALSE -T fields -e tcp.srcport -e tcp.dstport \
	    -e tcp.flags -e tcp.seq -e tcp.len -e tcp.payload ${2:+-Y "$2"} 2>/dev/null
}
nev=0
for f in "$W/evidence"/*.pcap; do
	[ -f "$f" ] || continue
	nev=$((nev + 1))
	fid=$(basename "$f" | cut -d- -f1)
	sig=$(basename "$f" .pcap | cut -d- -f2-)
	fields "$f" >"$W/ev.txt" || { bad "tshark cannot read $(basename "$f")"; continue; }
	n=$(wc -l <"$W/ev.txt")
	cport=$(head -n 1 "$W/ev.txt" | cut -f1)
	fields "$FIX/injection_client.pcap" "tcp.port == $cport" | head -n "$n" >"$W/orig.txt"
	check "evidence $(basename "$f"): $n packets, opens in tshark" [ "$n" -ge 3 ]
	check "evidence $(basename "$f"): starts with the client's SYN" sh -c \
	    "head -n 1 '$W/ev.txt' | cut -f3 | grep -qx '0x0002'"
	check "evidence $(basename "$f"): the flow's packets from the capture, in order" \
	    cmp -s "$W/ev.txt" "$W/orig.txt"
	check "evidence $(basename "$f"): flow $fid raised $sig" sh -c \
	    "jq -c --argjson id $fid --arg s '$sig' 'select(.event_type==\"alert\" and .flow_id==\$id and .alert.signature==\$s)' '$W/all.json' | grep -q ."
	# the offending packet: the last packet the engine judged is the last in the file
	last=$(tail -n 1 "$W/ev.txt" | cut -f6)
	check "evidence $(basename "$f"): ends with a data packet (the offending one)" [ -n "$last" ]
done
check "one evidence pcap per alert" [ "$nev" -eq "$(jq -c 'select(.event_type=="alert")' "$W/all.json" | wc -l)" ]
# the limits: max_files = 2 keeps the two newest
rm -rf "$W/evidence"/*
sed 's/max_files = 1000;/max_files = 2;/' "$W/all.conf" >"$W/lim.conf"
for p in "$FIX"/stripped_*.pcap "$FIX"/injection_*.pcap; do "$BIN" -c "$W/lim.conf" -r "$p" >/dev/null 2>&1; done
check "evidence directory bounded by max_files" [ "$(ls "$W/evidence" | wc -l)" -eq 2 ]

echo "operators: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
