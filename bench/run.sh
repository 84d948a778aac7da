#!/bin/sh
# bench/run.sh - offline throughput and memory-per-flow benchmarks.
#
# Usage: sh bench/run.sh        (or `make bench`; BENCH_MB=50 for a quick run)
#
# Generates captures once into a temporary directory (removed at exit), then
# times side by side, best of BENCH_RUNS (3) wall-clock runs each: the floor
# (bare libpcap loop), the gateway offline, ndpiReader and tshark. Then the
# gateway alone on a cleartext-only capture (sessions per second), then its
# peak RSS with N half-open flows. Peers that cannot be installed are
# reported as "not available", never estimated. Root is not needed, but
# without it missing peers are not installed.
#
# Environment: BENCH_MB (mixed capture size, default 300), BENCH_PLAIN_MB
# (cleartext capture, default BENCH_MB/3), BENCH_RUNS (3), BENCH_FLOWS
# ("10000 100000 1000000"), BUILD (build), BENCH_KEEP=1 keeps the captures,
# STG_EFF_LIST=path also measures the published EFF list (not shipped).
set -eu

BUILD=${BUILD:-build}
MB=${BENCH_MB:-300}
PLAIN_MB=${BENCH_PLAIN_MB:-$(( MB / 3 > 0 ? MB / 3 : 1 ))}
RUNS=${BENCH_RUNS:-3}
FLOWS=${BENCH_FLOWS:-"10000 100000 1000000"}
GW=$BUILD/starttls-guard
GEN=$BUILD/bench/gen_big
FLOOR=$BUILD/bench/floor
EFFGEN=$BUILD/tools/gen_efflist

if [ ! -x "$GW" ] || [ ! -x "$GEN" ] || [ ! -x "$FLOOR" ] || [ ! -x "$EFFGEN" ]; then
	${MAKE:-make} --no-print-directory BUILD="$BUILD" bench-tools
fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/stg-bench.XXXXXX")
if [ "${BENCH_KEEP:-0}" = 1 ]; then
	echo "captures kept in $TMP"
else
	trap 'rm -rf "$TMP"' EXIT INT TERM
fi

# Install a Debian package when its command is missing and we may (through
# .ci/install-deps, which waits for a busy apt).
need() {   # need COMMAND PACKAGE
	command -v "$1" >/dev/null 2>&1 && return 0
	[ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 || return 1
	echo "installing $2 ..." >&2
	sh "$(dirname "$0")/../.ci/install-deps" "$2" >"$TMP/apt.log" 2>&1 || return 1
	command -v "$1" >/dev/null 2>&1
}

now_ns() { date +%s%N; }

# Best wall-clock seconds of RUNS runs of a command (its output discarded).
best_of() {
	best=""
	i=0
	while [ "$i" -lt "$RUNS" ]; do
		t0=$(now_ns)
		"$@" >/dev/null 2>"$TMP/last.err" || { echo "FAILED: $*" >&2; cat "$TMP/last.err" >&2; return 1; }
		t1=$(now_ns)
		t=$(( t1 - t0 ))
		if [ -z "$best" ] || [ "$t" -lt "$best" ]; then best=$t; fi
		i=$(( i + 1 ))
	done
	awk -v n="$best" 'BEGIN { printf "%.3f", n / 1e9 }'
}

div() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print "-" }'; }

# verdict ACTUAL LIMIT: "met" when ACTUAL <= LIMIT.
verdict() { awk -v a="$1" -v l="$2" 'BEGIN { print (a <= l) ? "met" : "MISSED" }'; }

echo "== starttls-guard offline benchmark, $(date -u +%Y-%m-%dT%H:%MZ)"
echo "   machine: $(nproc) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1), $(uname -r)"

echo "== generating captures in $TMP"
"$GEN" -m "$MB" "$TMP/mixed.pcap" 2>&1 | sed 's/^/   /'
"$GEN" -k plain -m "$PLAIN_MB" "$TMP/plain.pcap" 2>"$TMP/plain.gen"
sed 's/^/   /' "$TMP/plain.gen"
PLAIN_SESS=$(sed -n 's/.*: \([0-9]*\) sessions.*/\1/p' "$TMP/plain.gen")
SIZE=$(wc -c <"$TMP/mixed.pcap")

echo "== timing, best of $RUNS (mixed capture, $SIZE bytes)"
T_FLOOR=$(best_of "$FLOOR" "$TMP/mixed.pcap")
T_FLOOR_ALL=$(best_of "$FLOOR" -a "$TMP/mixed.pcap")
T_GW=$(best_of "$GW" -r "$TMP/mixed.pcap" -l /dev/null)
T_NDPI=""
if need ndpiReader libndpi-bin; then
	T_NDPI=$(best_of ndpiReader -i "$TMP/mixed.pcap")
fi
T_TSHARK=""
if need tshark tshark; then
	T_TSHARK=$(best_of tshark -r "$TMP/mixed.pcap" -Y smtp)
fi
T_PLAIN=$(best_of "$GW" -r "$TMP/plain.pcap" -l /dev/null)
# Start-up and tear-down alone: a capture of one SYN, default configuration.
"$GEN" -k syn -n 1 "$TMP/one.pcap" 2>/dev/null
T_START=$(best_of "$GW" -r "$TMP/one.pcap" -l /dev/null)

row() { printf '   %-34s %10s %10s\n' "$1" "$2" "$3"; }
row name seconds "x floor"
row "floor (headers, libpcap)" "$T_FLOOR" 1.000
row "floor (all bytes)" "$T_FLOOR_ALL" "$(div "$T_FLOOR_ALL" "$T_FLOOR")"
row "starttls-guard -r" "$T_GW" "$(div "$T_GW" "$T_FLOOR")"
row "  of which start-up (1-packet run)" "$T_START" "$(div "$T_START" "$T_FLOOR")"
if [ -n "$T_NDPI" ]; then
	row "ndpiReader -i" "$T_NDPI" "$(div "$T_NDPI" "$T_FLOOR")"
else
	echo "   ndpiReader: not available"
fi
if [ -n "$T_TSHARK" ]; then
	row "tshark -r -Y smtp" "$T_TSHARK" "$(div "$T_TSHARK" "$T_FLOOR")"
else
	echo "   tshark: not available"
fi
echo "   throughput: gateway $(awk -v b="$SIZE" -v t="$T_GW" 'BEGIN { printf "%.0f", b / t / 1e6 }') MB/s," \
	"floor $(awk -v b="$SIZE" -v t="$T_FLOOR" 'BEGIN { printf "%.0f", b / t / 1e6 }') MB/s"
echo "   cleartext only: $PLAIN_SESS sessions in $T_PLAIN s =" \
	"$(awk -v n="$PLAIN_SESS" -v t="$T_PLAIN" 'BEGIN { printf "%.0f", n / t }') sessions/s"

echo "== targets (issue 6)"
R=$(div "$T_GW" "$T_FLOOR")
echo "   gateway <= 1.5 x floor:       $R x floor: $(verdict "$R" 1.5)"
if [ -n "$T_NDPI" ]; then
	R=$(div "$T_GW" "$T_NDPI")
	echo "   gateway <= 0.3 x ndpiReader:  $R x: $(verdict "$R" 0.3)"
else
	echo "   gateway <= 0.3 x ndpiReader:  ndpiReader: not available"
fi
if [ -n "$T_TSHARK" ]; then
	R=$(div "$T_GW" "$T_TSHARK")
	echo "   gateway <= 0.02 x tshark:     $R x: $(verdict "$R" 0.02)"
else
	echo "   gateway <= 0.02 x tshark:     tshark: not available"
fi

echo "== memory: peak RSS with N half-open flows"
if ! need /usr/bin/time time; then
	echo "   /usr/bin/time: not available (package time); memory not measured"
	exit 0
fi
# Peak RSS in KiB of the gateway on a SYN capture of N flows.
rss_kib() {   # rss_kib N MAX_FLOWS
	"$GEN" -k syn -n "$1" "$TMP/syn.pcap" 2>/dev/null
	printf 'engine = { max_flows = %s; };\n' "$2" >"$TMP/syn.conf"
	/usr/bin/time -v "$GW" -c "$TMP/syn.conf" -r "$TMP/syn.pcap" -l /dev/null \
		2>"$TMP/time.out" >/dev/null
	sed -n 's/.*Maximum resident set size (kbytes): //p' "$TMP/time.out"
}
BASE=$(rss_kib 1 1024)
echo "   baseline (1 flow, max_flows 1024): $BASE KiB"
printf '   %-10s %-10s %12s %14s\n' flows max_flows "peak RSS KiB" "bytes per flow"
LAST_RSS=""
for n in $FLOWS; do
	mf=$(( n + 1024 ))
	rss=$(rss_kib "$n" "$mf")
	printf '   %-10s %-10s %12s %14s\n' "$n" "$mf" "$rss" \
		"$(awk -v r="$rss" -v b="$BASE" -v n="$n" 'BEGIN { printf "%.0f", (r - b) * 1024 / n }')"
	LAST_N=$n
	LAST_RSS=$rss
	LAST_BPF=$(awk -v r="$rss" -v b="$BASE" -v n="$n" 'BEGIN { printf "%.0f", (r - b) * 1024 / n }')
done
rm -f "$TMP/syn.pcap"

# Policy state: an EFF list of the published one's size and shape (made by
# tests/tools/gen_efflist; the published list itself when STG_EFF_LIST
# names it) and 100 000 learned pins read from a file.
echo "== memory: policy state (one-flow capture)"
"$GEN" -k syn -n 1 "$TMP/one.pcap" 2>/dev/null
pol_rss() {   # pol_rss CONF-TEXT
	printf '%s\n' "$1" >"$TMP/pol.conf"
	/usr/bin/time -v "$GW" -c "$TMP/pol.conf" -r "$TMP/one.pcap" -l /dev/null \
		2>"$TMP/time.out" >/dev/null
	sed -n 's/.*Maximum resident set size (kbytes): //p' "$TMP/time.out"
}
awk 'BEGIN { print "# 100000 pins"; for (i = 0; i < 100000; i++)
	printf "v1 198.%d.%d.%d mx%d.example.net 1795000000 1795800000\n",
	    18 + int(i / 62500), int(i / 250) % 250, i % 250 + 1, i }' \
	>"$TMP/pins100k"
P0=$(pol_rss 'policy = { default = { mode = "testing"; }; };')
EFFN=$("$EFFGEN" "$TMP/eff.json" | sed -n 's/.*policies=\([0-9]*\).*/\1/p')
P1=$(pol_rss "policy = { eff_list = \"$TMP/eff.json\"; };")
echo "   generated EFF list ($EFFN domains, with the CA store it brings): $P1 KiB ($((P1 - P0)) KiB over $P0)"
if [ -n "${STG_EFF_LIST:-}" ]; then
	P1=$(pol_rss "policy = { eff_list = \"$STG_EFF_LIST\"; };")
	echo "   published EFF list $STG_EFF_LIST: $P1 KiB ($((P1 - P0)) KiB over $P0)"
else
	echo "   published EFF list: not measured (STG_EFF_LIST=path measures it)"
fi
rm -f "$TMP/eff.json"
cp "$TMP/pins100k" "$TMP/pins"
P2=$(pol_rss "policy = { pins = { file = \"$TMP/pins\"; max = 200000; }; };")
echo "   100 000 learned pins: $P2 KiB ($((P2 - P0)) KiB over $P0, $(( (P2 - P0) * 1024 / 100000 )) B per pin)"
rm -f "$TMP/one.pcap" "$TMP/pins" "$TMP/pins100k"
echo "== memory targets"
echo "   <= 256 B per flow (N=$LAST_N): $LAST_BPF B: $(verdict "$LAST_BPF" 256)"
if [ "$LAST_N" = 1000000 ]; then
	MIB=$(awk -v r="$LAST_RSS" 'BEGIN { printf "%.1f", r / 1024 }')
	echo "   1M flows < 512 MB RSS:        $MIB MiB: $(verdict "$MIB" 511.99)"
fi
