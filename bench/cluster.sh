#!/bin/sh
# bench/cluster.sh - propagation delay between two gateways through Redis,
# and the per-packet cost with clustering on and off (bench/cluster.c).
#
# Usage: sh bench/cluster.sh     (as root; `make bench-cluster`)
#
#   stg-bench-clgw ---------- stg-bench-clredis
#   192.0.2.1 (both gateways' sync threads)   192.0.2.2 redis-server :6379
#
# Redis runs in its own namespace across a veth, as it would on another
# host; both gateways' sync threads run in one process in the other, each
# with its own two connections. Its own namespaces (stg-bench-*),
# documentation addresses only, removed at exit (also on failure); the
# redis-server it started is stopped by PID.
# Environment: BUILD (build), BENCH_FACTS (2000), BENCH_PASSES (20),
# BENCH_MB (capture size for the per-packet cost, 20).
set -eu

BUILD=${BUILD:-build}
FACTS=${BENCH_FACTS:-2000}
PASSES=${BENCH_PASSES:-20}
MB=${BENCH_MB:-20}
GW=stg-bench-clgw
RS=stg-bench-clredis

[ "$(id -u)" = 0 ] || { echo "bench/cluster.sh: needs root (namespaces)" >&2; exit 1; }
command -v redis-server >/dev/null || { echo "bench/cluster.sh: redis-server missing (.ci/install-deps)" >&2; exit 1; }
[ -x "$BUILD/bench/cluster" ] && [ -x "$BUILD/bench/gen_big" ] ||
	${MAKE:-make} --no-print-directory BUILD="$BUILD" bench-tools >/dev/null

TMP=$(mktemp -d "${TMPDIR:-/tmp}/stg-bench-cluster.XXXXXX")
RPID=""
cleanup() {
	[ -n "$RPID" ] && kill "$RPID" 2>/dev/null && wait "$RPID" 2>/dev/null
	ip netns del $GW 2>/dev/null || true
	ip netns del $RS 2>/dev/null || true
	rm -rf "$TMP"
}
trap cleanup EXIT INT TERM
ip netns del $GW 2>/dev/null || true
ip netns del $RS 2>/dev/null || true
ip netns add $GW
ip netns add $RS
ip link add stg-bcl0 netns $GW type veth peer name stg-bcl1 netns $RS
ip -n $GW addr add 192.0.2.1/24 dev stg-bcl0
ip -n $RS addr add 192.0.2.2/24 dev stg-bcl1
for ns in $GW $RS; do ip -n $ns link set lo up; done
ip -n $GW link set stg-bcl0 up
ip -n $RS link set stg-bcl1 up

ip netns exec $RS redis-server --bind 192.0.2.2 --port 6379 --save '' --appendonly no \
	--protected-mode no --dir "$TMP" --logfile "$TMP/redis.log" &
RPID=$!
i=0
until ip netns exec $GW sh -c 'exec 3<>/dev/tcp/192.0.2.2/6379' 2>/dev/null ||
      ip netns exec $GW bash -c 'exec 3<>/dev/tcp/192.0.2.2/6379' 2>/dev/null; do
	i=$((i + 1)); [ $i -lt 100 ] || { echo "redis-server did not start" >&2; exit 1; }
	sleep 0.05
done
"$BUILD/bench/gen_big" -m "$MB" "$TMP/mixed.pcap" 2>/dev/null
echo "== cluster: two gateways through redis-server $(redis-server --version | sed 's/.*v=\([^ ]*\).*/\1/') across a veth"
ip netns exec $GW "$BUILD/bench/cluster" tcp://192.0.2.2:6379 "$FACTS" "$TMP/mixed.pcap" "$PASSES"
