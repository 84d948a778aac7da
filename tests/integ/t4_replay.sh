#!/bin/bash
# t4_replay.sh - every tests/fixtures/*.pcap through the live gateway.
#
# stg_replay sends each capture's client packets from stg-cli and its
# server packets from stg-srv; policy routing (doc ranges only) sends all
# of them across stg-gw, where the gateway (golden.conf policy) inspects
# them as it would real traffic. For each capture, a fresh gateway; then
# the "signature action" list of its alerts must equal that of
# `starttls-guard -c golden.conf -r FILE` on the same file, and the same
# number of flows must be reported. Asserts per file; a file the offline
# run says is clean must be clean live as well.
. "$(dirname "$0")/lib.sh"

FIX=$ROOT/tests/fixtures
CONF=$FIX/golden.conf
topo_up

nsx() { ns=$1; shift; ip netns exec "$ns" "$@"; }
# Some captures carry 1448-byte segments over IPv6 (1508-byte datagrams):
# jumbo links, so every datagram crosses whole as it was captured.
for l in "stg-cli eth0" "stg-gw cli0" "stg-gw att0" "stg-att gw0" "stg-att srv0" "stg-srv eth0"; do
	set -- $l
	nsx $1 ip link set dev $2 mtu 9000
done
# End namespaces: send everything for the doc ranges via the next router
# and answer nothing (the replayed addresses are not theirs).
for ns in stg-cli stg-srv; do
	if [ $ns = stg-cli ]; then v4=198.51.100.1 v6=2001:db8:1::1; else v4=203.0.113.1 v6=2001:db8:2::1; fi
	nsx $ns ip route add default via $v4 table 100
	nsx $ns ip -6 route add default via $v6 table 100
	for r in 192.0.2.0/24 198.51.100.0/24 203.0.113.0/24; do
		nsx $ns ip rule add to $r lookup 100 pref 100
	done
	nsx $ns ip -6 rule add to 2001:db8::/32 lookup 100 pref 100
	nsx $ns iptables -w -A INPUT -p tcp -j DROP
	nsx $ns ip6tables -w -A INPUT -p tcp -j DROP
done
# Routers: what comes in on one side leaves on the other, whatever the
# (documentation) destination. Source checks off: sources are replayed.
nsx stg-gw ip route add default via 192.0.2.2 table 100
nsx stg-gw ip route add default via 198.51.100.10 table 101
nsx stg-gw ip -6 route add default via 2001:db8:ff::2 table 100
nsx stg-gw ip -6 route add default via 2001:db8:1::10 table 101
nsx stg-att ip route add default via 203.0.113.25 table 100
nsx stg-att ip route add default via 192.0.2.1 table 101
nsx stg-att ip -6 route add default via 2001:db8:2::25 table 100
nsx stg-att ip -6 route add default via 2001:db8:ff::1 table 101
for pair in "stg-gw cli0 att0" "stg-att gw0 srv0"; do
	set -- $pair
	for fam in -4 -6; do
		nsx $1 ip $fam rule add iif $2 lookup 100 pref 100
		nsx $1 ip $fam rule add iif $3 lookup 101 pref 101
	done
	nsx $1 sysctl -qw net.ipv4.conf.all.rp_filter=0
	for i in $2 $3; do nsx $1 sysctl -qw net.ipv4.conf.$i.rp_filter=0; done
done

sigs() { jq -r 'select(.event_type == "alert") | "\(.alert.signature) \(.alert.action)"' "$1" | LC_ALL=C sort; }
flows() { jq -r 'select(.event_type == "flow") | .flow.verdict' "$1" | wc -l; }

# replay_set DIR CONF: every capture of DIR through a fresh gateway with CONF.
# (Certificates are checked at the capture's time offline and at the wall
# clock live: tests/tls's certificates are valid for a year from 2026-11-28.)
replay_set() {
	local dir=$1 conf=$2 pcap name off live fo fl
	for pcap in "$dir"/${FIXTURES:-*}.pcap; do
		[ -f "$pcap" ] || continue
		name=$(basename "$pcap" .pcap)
		"$BIN" -c "$conf" -r "$pcap" -l "$WORK/$name.offline.json" >/dev/null 2>&1 ||
			fail "$name: offline run failed"
		EVE=$WORK/$name.live.json
		: >"$EVE"
		"$RULES" add "$QUEUES" "$MARK" stg-gw >/dev/null
		: >"$GWLOG"
		spawn stg-gw "$GWLOG" "$BIN" -c "$conf" -q "$QUEUES" -l "$EVE"
		GWPID=$LASTPID
		wait_until 10 grep -q 'queue threads* ready' "$GWLOG" || fail "$name: gateway did not start"
		"$TOOLS/stg_replay" -c stg-cli -s stg-srv -g 1000 "$pcap" 2>"$WORK/replay.log" && cat "$WORK/replay.log" >>"$WORK/replay-all.log" ||
			fail "$name: replay failed"
		grep -q 'send:' "$WORK/replay.log" && fail "$name: $(grep -m1 'send:' "$WORK/replay.log")"
		sleep 0.3
		gw_stop || fail "$name: gateway exit status"
		off=$(sigs "$WORK/$name.offline.json")
		live=$(sigs "$EVE")
		if [ "$off" != "$live" ]; then
			echo "--- offline:"; echo "$off"; echo "--- live:"; echo "$live"
			fail "$name: live alerts differ from -r"
		fi
		fo=$(flows "$WORK/$name.offline.json"); fl=$(flows "$EVE")
		[ "$fo" = "$fl" ] || fail "$name: $fl flow events live, $fo offline"
		ok "$name: $(echo "$live" | grep -c . ) alert(s) as offline: $(echo $off | tr '\n' ';')"
		n=$((n + 1))
	done
}

n=0
replay_set "$FIX" "$CONF"
[ -n "${FIXTURES:-}" ] || check "all $n captures replayed" [ "$n" -ge 20 ]
# The domain-policy captures (DNS answers, MTA-STS, EFF, pins, real TLS
# handshakes with wrong names and old versions): the DNS answers cross the
# gateway too (rules.sh DNS=1), so it learns the MX names live.
if [ -f "$ROOT/../shared/data/eff-starttls-policy.json" ]; then
	m=$n
	export DNS=1
	replay_set "$FIX/policy" "$FIX/policy/policy.conf"
	unset DNS
	[ -n "${FIXTURES:-}" ] || check "all $((n - m)) policy captures replayed" [ $((n - m)) -ge 15 ]
fi

