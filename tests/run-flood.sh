#!/bin/sh
# run-flood.sh BUILD_DIR - floods, offline, sized for CI (make check-flood);
# `make stress` sets the full sizes through the environment:
#   FLOOD_SYNS (default 200000)   SYNs with distinct tuples, max_flows 65536
#                                 (also sent while one session is mid-inspection)
#   FLOOD_LINE_MB (default 64)    one client line that never ends
#   FLOOD_TINY (default 200000)   one-byte segments in one session
# Each capture (BUILD/tools/gen_flood, in a temporary directory) ends with a
# stripped session to an enforced server. For each flood: exit 0, the
# stripped session still caught (starttls_stripped blocked), the final
# stats event's counters (SYN: flow.evicted > 0 and flow.active <=
# capacity = max_flows), and peak RSS (/usr/bin/time -v) under a bound
# computed from the configuration:
#   baseline (the same binary and config on a one-session capture)
#   + max_flows * 512 B (flow 256 B + hash slot 4 B + lost-connection
#     memory entry 48 B: inspect/flow_lost.h; 308 B, with room to spare)
#   + pool_chunks * 2 KiB (reassembly) + 4 MiB (IP fragment table).
set -u
[ $# -eq 1 ] || { echo "usage: $0 BUILD_DIR" >&2; exit 2; }
BUILD=$1
BIN=$BUILD/starttls-guard
GEN=$BUILD/tools/gen_flood
SYNS=${FLOOD_SYNS:-200000}
LINE_MB=${FLOOD_LINE_MB:-64}
TINY=${FLOOD_TINY:-200000}
MAX_FLOWS=65536
POOL=4096
for f in "$BIN" "$GEN"; do
	[ -x "$f" ] || { echo "run-flood: $f missing (make all first)" >&2; exit 2; }
done
[ -x /usr/bin/time ] || { echo "run-flood: /usr/bin/time is required (package time)" >&2; exit 2; }
command -v jq >/dev/null 2>&1 || { echo "run-flood: jq is required" >&2; exit 2; }
T=$(mktemp -d "${TMPDIR:-/tmp}/stg-flood.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT INT TERM

cat >"$T/flood.conf" <<CONF
ports = [ 25 ];
engine = { max_flows = $MAX_FLOWS; pool_chunks = $POOL; idle_timeout = 600; };
policy = {
  default = { mode = "testing"; };
  rules = ( { match = "203.0.113.0/24"; mode = "enforce"; } );
};
CONF

pass=0 fail=0
# run NAME PCAP: replay under /usr/bin/time; sets rss (KiB) and leaves $T/NAME.eve
run() {
	/usr/bin/time -v "$BIN" -c "$T/flood.conf" -r "$2" -l "$T/$1.eve" \
	    2>"$T/$1.err" >/dev/null
	rc=$?
	rss=$(sed -n 's/.*Maximum resident set size (kbytes): *//p' "$T/$1.err")
	secs=$(sed -n 's/.*Elapsed (wall clock) time.*: *//p' "$T/$1.err")
	[ -n "$rss" ] || rss=0
}
stat() {
	jq -r "select(.event_type == \"stats\") | .stats.$2" <"$T/$1.eve" | tail -n 1
}
check() {
	name=$1 why=$2
	if [ -z "$why" ]; then
		echo "PASS $name"
		pass=$((pass + 1))
	else
		echo "FAIL $name:$why"
		grep -v '^\s' "$T/$name.err" | head -n 5 | sed 's/^/    /'
		fail=$((fail + 1))
	fi
}
stripped_ok() {
	n=$(jq -r 'select(.event_type == "alert" and .dest_ip == "203.0.113.26")
	    | "\(.alert.signature) \(.alert.action)"' <"$T/$1.eve" | grep -c '^starttls_stripped blocked$')
	[ "$n" = 1 ]
}

# baseline: the stripped session alone
"$GEN" syn 0 "$T/base.pcap" || exit 1
run base "$T/base.pcap"
base=$rss
bound=$((base + MAX_FLOWS * 512 / 1024 + POOL * 2 + 4096))
echo "baseline RSS ${base} KiB; bound ${bound} KiB (max_flows $MAX_FLOWS, pool_chunks $POOL)"

# 1. SYN flood
"$GEN" syn "$SYNS" "$T/syn.pcap" || exit 1
run syn "$T/syn.pcap"
why=""
[ $rc -eq 0 ] || why="$why exit $rc;"
ev=$(stat syn flow.evicted) act=$(stat syn flow.active) cap=$(stat syn flow.capacity)
created=$(stat syn flow.created)
echo "    $SYNS SYNs: created $created, evicted $ev, active $act of $cap, peak RSS $rss KiB, $secs"
[ "${ev:-0}" -gt 0 ] 2>/dev/null || why="$why flow.evicted=$ev (want > 0);"
[ "${act:-x}" -le "${cap:-0}" ] 2>/dev/null || why="$why flow.active=$act > capacity $cap;"
[ "${cap:-0}" -le $MAX_FLOWS ] 2>/dev/null || why="$why capacity $cap > max_flows;"
[ "$rss" -le $bound ] || why="$why peak RSS $rss KiB > $bound KiB;"
stripped_ok syn || why="$why stripped session after the flood not caught;"
check syn "$why"

# 1b. the same flood while a session is in the middle of its inspection:
# eviction must spare it (its stripped reply comes after the flood)
"$GEN" synmid "$SYNS" "$T/synmid.pcap" || exit 1
run synmid "$T/synmid.pcap"
why=""
[ $rc -eq 0 ] || why="$why exit $rc;"
mid=$(jq -r 'select(.event_type == "alert" and .src_ip == "198.51.100.251")
    | "\(.alert.signature) \(.alert.action)"' <"$T/synmid.eve")
echo "    $SYNS SYNs during a session's inspection: that session gives '${mid:-nothing}'"
[ "$mid" = "starttls_stripped blocked" ] || why="$why the session inspected across the flood was lost;"
check synmid "$why"

# 2. one endless line
"$GEN" line "$LINE_MB" "$T/line.pcap" || exit 1
run line "$T/line.pcap"
why=""
[ $rc -eq 0 ] || why="$why exit $rc;"
lim=$(jq -r 'select(.event_type == "alert" and .alert.signature == "inspection_limit") | .dest_ip' <"$T/line.eve")
echo "    ${LINE_MB} MB line: inspection_limit on ${lim:-nothing}, peak RSS $rss KiB (baseline $base), $secs"
[ "$lim" = 192.0.2.25 ] || why="$why want one inspection_limit for 192.0.2.25;"
# memory flat: a line is counted, never buffered
[ "$rss" -le $((base + 8192)) ] || why="$why peak RSS $rss KiB grew more than 8 MiB over the baseline;"
stripped_ok line || why="$why stripped session after the flood not caught;"
check line "$why"

# 3. a storm of one-byte segments
"$GEN" tiny "$TINY" "$T/tiny.pcap" || exit 1
run tiny "$T/tiny.pcap"
why=""
[ $rc -eq 0 ] || why="$why exit $rc;"
other=$(jq -r 'select(.event_type == "alert" and .dest_ip != "203.0.113.26") | .alert.signature' <"$T/tiny.eve" | sort | uniq -c | tr '\n' ' ')
pk=$(stat tiny packets)
echo "    $TINY one-byte segments: $pk packets, other alerts: ${other:-none}, peak RSS $rss KiB, $secs"
[ -z "$other" ] || why="$why unexpected alerts on the tiny-segment flow: $other;"
[ "$rss" -le $((base + 8192)) ] || why="$why peak RSS $rss KiB grew more than 8 MiB over the baseline;"
stripped_ok tiny || why="$why stripped session after the flood not caught;"
check tiny "$why"

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
