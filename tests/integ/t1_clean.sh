#!/bin/bash
# t1_clean.sh - clean path: Postfix to Postfix over STARTTLS through the
# gateway. Asserts: the ~200 KB message arrives with a TLS Received header;
# no alert; one flow event with verdict tls; the session was hundreds of
# packets on the wire (counting rules ahead of the queue rules), yet the
# gateway saw at most a dozen of them (connmark bypass after the decision),
# by its own counters (SIGUSR1: EVE stats.packets and the nfq received
# counter); the bypass connmark reached the conntrack entry.
. "$(dirname "$0")/lib.sh"

topo_up
# One segment per packet on the client side, so the wire count means
# something (veth would otherwise hand over 64 KB GSO packets).
ip netns exec stg-cli ip link set dev eth0 gso_max_segs 1
for dir in --dport --sport; do
	ip netns exec stg-gw iptables -w -t mangle -I FORWARD 1 -p tcp $dir 25
done
ip netns exec stg-gw iptables -w -t mangle -I FORWARD 1 -p tcp \
    -m connmark --mark $MARK/$MARK

gw_conf "$WORK/gw.conf" enforce
gw_start "$WORK/gw.conf"
pf_server
pf_client

head -c 150000 /dev/urandom | base64 -w 76 >"$WORK/big.txt"
send_mail clean1 "$WORK/big.txt"
check "message delivered over TLS" wait_until 40 delivered_tls clean1
check "message body intact" grep -q "$(sed -n 1000p "$WORK/big.txt")" "$MBOX"

gw_usr1
wire=$(ip netns exec stg-gw iptables -w -t mangle -nvxL FORWARD |
    awk '$3 == "all" || $3 == "tcp" || $3 == "6" { if ($0 ~ /[sd]pt:25$/) n += $1 } END { print n + 0 }')
bypassed=$(ip netns exec stg-gw iptables -w -t mangle -nvxL FORWARD |
    awk '/connmark match  *0x10000\/0x10000$/ { print $1; exit }')
queued=$(nfq_received)
engine=$(jq -s '[.[] | select(.event_type == "stats")] | last | .stats.packets' "$EVE")
log "wire packets $wire, bypassed by connmark $bypassed, queued $queued, engine $engine"
check "session of hundreds of packets (wire $wire >= 150)" [ "$wire" -ge 150 ]
check "at most a dozen queued (nfq received $queued <= 12)" [ "$queued" -le 12 ]
check "engine stats agree (stats.packets $engine <= 12)" [ "$engine" -le 12 ]
check "the rest went by on the connmark ($bypassed >= 100)" [ "${bypassed:-0}" -ge 100 ]
check "no alert" [ "$(eve_count '.event_type == "alert"')" -eq 0 ]
check "flow event with verdict tls" \
    [ "$(eve_count '.event_type == "flow" and .flow.verdict == "tls"')" -ge 1 ]
check "gateway exits 0 on SIGTERM" gw_stop
check "final stats event written" [ "$(eve_count '.event_type == "stats"')" -ge 2 ]
