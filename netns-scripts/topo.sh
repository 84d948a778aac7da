#!/bin/sh
# topo.sh - build or tear down the test topology in network namespaces.
#
#   stg-cli ---- stg-gw ---- stg-att ---- stg-srv
#   client       gateway     attacker     server
#                (router,    (router,
#                 NFQUEUE)    optional tamperer)
#
#   client LAN    198.51.100.0/24   2001:db8:1::/64   cli .10 / ::10, gw .1 / ::1
#   transit       192.0.2.0/30      2001:db8:ff::/64  gw .1 / ::1,    att .2 / ::2
#   server LAN    203.0.113.0/24    2001:db8:2::/64   srv .25 / ::25, att .1 / ::1
#
# Only documentation ranges (RFC 5737, RFC 3849) are used, and there is no
# default route anywhere: a packet for any other address (a stray DNS query)
# fails with "network unreachable" inside its own namespace. Usage: topo.sh up | down | status. `up` first removes a
# leftover topology, so it is idempotent; `down` removes only stg-* names
# this script creates. Needs root (ip netns).
set -eu

NS_CLI=stg-cli
NS_GW=stg-gw
NS_ATT=stg-att
NS_SRV=stg-srv
ALL_NS="$NS_CLI $NS_GW $NS_ATT $NS_SRV"

CLI4=198.51.100.10;  GWC4=198.51.100.1
GWT4=192.0.2.1;      ATTT4=192.0.2.2
SRV4=203.0.113.25;   ATTS4=203.0.113.1
CLI6=2001:db8:1::10; GWC6=2001:db8:1::1
GWT6=2001:db8:ff::1; ATTT6=2001:db8:ff::2
SRV6=2001:db8:2::25; ATTS6=2001:db8:2::1

nsx() { ns=$1; shift; ip netns exec "$ns" "$@"; }

# Base settings of one namespace: loopback, forwarding, quick IPv6.
ns_base() {
	ip netns add "$1"
	nsx "$1" ip link set lo up
	nsx "$1" sysctl -qw net.ipv4.ip_forward="$2"
	nsx "$1" sysctl -qw net.ipv6.conf.all.forwarding="$2"
	nsx "$1" sysctl -qw net.ipv6.conf.default.accept_dad=0
	nsx "$1" sysctl -qw net.ipv6.conf.all.accept_dad=0
	nsx "$1" sysctl -qw net.ipv6.conf.default.accept_ra=0
}

# Link ns1:if1 <-> ns2:if2.
link() {
	ip link add "$2" netns "$1" type veth peer name "$4" netns "$3"
	nsx "$1" ip link set "$2" up
	nsx "$3" ip link set "$4" up
}

down() {
	for ns in $ALL_NS; do
		if ip netns list | grep -qw "^$ns"; then
			ip netns del "$ns" 2>/dev/null || true
		fi
	done
}

up() {
	down
	ns_base $NS_CLI 0
	ns_base $NS_GW 1
	ns_base $NS_ATT 1
	ns_base $NS_SRV 0

	link $NS_CLI eth0 $NS_GW cli0
	link $NS_GW att0 $NS_ATT gw0
	link $NS_ATT srv0 $NS_SRV eth0

	nsx $NS_CLI ip addr add $CLI4/24 dev eth0
	nsx $NS_CLI ip -6 addr add $CLI6/64 dev eth0 nodad
	nsx $NS_CLI ip route add 203.0.113.0/24 via $GWC4
	nsx $NS_CLI ip route add 192.0.2.0/30 via $GWC4
	nsx $NS_CLI ip -6 route add 2001:db8:2::/64 via $GWC6
	nsx $NS_CLI ip -6 route add 2001:db8:ff::/64 via $GWC6

	nsx $NS_GW ip addr add $GWC4/24 dev cli0
	nsx $NS_GW ip -6 addr add $GWC6/64 dev cli0 nodad
	nsx $NS_GW ip addr add $GWT4/30 dev att0
	nsx $NS_GW ip -6 addr add $GWT6/64 dev att0 nodad
	nsx $NS_GW ip route add 203.0.113.0/24 via $ATTT4
	nsx $NS_GW ip -6 route add 2001:db8:2::/64 via $ATTT6

	nsx $NS_ATT ip addr add $ATTT4/30 dev gw0
	nsx $NS_ATT ip -6 addr add $ATTT6/64 dev gw0 nodad
	nsx $NS_ATT ip addr add $ATTS4/24 dev srv0
	nsx $NS_ATT ip -6 addr add $ATTS6/64 dev srv0 nodad
	nsx $NS_ATT ip route add 198.51.100.0/24 via $GWT4
	nsx $NS_ATT ip -6 route add 2001:db8:1::/64 via $GWT6

	nsx $NS_SRV ip addr add $SRV4/24 dev eth0
	nsx $NS_SRV ip -6 addr add $SRV6/64 dev eth0 nodad
	nsx $NS_SRV ip route add 198.51.100.0/24 via $ATTS4
	nsx $NS_SRV ip route add 192.0.2.0/30 via $ATTS4
	nsx $NS_SRV ip -6 route add 2001:db8:1::/64 via $ATTS6
	nsx $NS_SRV ip -6 route add 2001:db8:ff::/64 via $ATTS6
}

status() {
	ip netns list | grep '^stg-' || echo "no stg- namespaces"
}

case "${1:-}" in
up) up ;;
down) down ;;
status) status ;;
*) echo "usage: $0 up|down|status" >&2; exit 2 ;;
esac
