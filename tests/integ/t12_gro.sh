#!/bin/bash
# t12_gro.sh - the stripped EHLO reply as several back-to-back segments,
# through the live gateway under enforce, twice:
#
#  1. offloads on: the server's stack cuts the reply into MSS-sized
#     segments with full checksums (its own TSO/GSO and checksum offload
#     off, so they leave one by one, as from a real NIC) and stg-gw's
#     server-facing veth merges them again (ethtool -K att0 gro on). The
#     gateway gets a super-packet whose TCP checksum is not filled in
#     (NFQA_SKB_CSUMNOTREADY | NFQA_SKB_GSO); it must trust the kernel's
#     verification and inspect it: starttls_stripped, blocked, resets, and
#     no MAIL reaches the server. The gateway's nfq gso counter must show
#     the merge happened (else the case proved nothing).
#  2. offloads off on every veth of the path (gro, gso, tso, tx and rx
#     checksumming): the same reply arrives as separate segments with full
#     checksums the gateway checks itself; the same verdict, and no
#     super-packet.
#
# The server is tests/integ/stripped_server.py (the reply already stripped,
# as an attacker upstream of the gateway leaves it), the client
# tests/integ/smtp_session.py (exit 3: the connection was reset).
. "$(dirname "$0")/lib.sh"

SESS=$ROOT/tests/integ/smtp_session.py
SRVPY=$ROOT/tests/integ/stripped_server.py
MSS=200

command -v ethtool >/dev/null || fail "ethtool is missing (tests/integ/packages.txt)"

topo_up
gw_conf "$WORK/gw.conf" enforce
gw_start "$WORK/gw.conf"

# feature NS DEV FEATURE on|off: set one offload, fail if the kernel refuses.
feature() {
	nsx "$1" ethtool -K "$2" "$3" "$4" >/dev/null 2>&1 ||
		fail "ethtool -K $2 $3 $4 in $1"
}

# The server's stack cuts its reply into segments itself in both runs,
# and fills in every checksum itself: its SYN-ACK reaches the gateway with
# a right one, as from a real NIC (a partial one there would have let the
# old engine trust the whole side by accident), and only GRO's merged
# packet carries the partial checksum.
feature stg-srv eth0 tso off
feature stg-srv eth0 gso off
feature stg-srv eth0 tx off

spawn stg-srv "$WORK/server.out" python3 "$SRVPY" "$SRV4" "$MSS" "$WORK/server.log"
SRVPID=$LASTPID
wait_until 10 grep -q listening "$WORK/server.out" || fail "server did not start"

# gw_gso: the gateway's nfq gso counter (after a fresh stats line).
gw_gso() {
	gw_usr1
	grep 'stats: nfq' "$GWLOG" | tail -n 1 | sed 's/.*gso=\([0-9]*\).*/\1/'
}

# attempt TAG: one session; echoes the client's exit status.
stripped_blocked() {
	[ "$(eve_count '.event_type == "alert" and .alert.signature == "starttls_stripped" and .alert.action == "blocked"')" -ge "$1" ]
}

# session N WHAT MERGED: session number N (its tag groN) through the gateway
# as set up now; MERGED 1: the router must have merged segments into a
# super-packet for it, 0: it must not have.
session() {
	local n=$1 what=$2 merged=$3 rc g0 g1
	g0=$(gw_gso)
	nsx stg-cli timeout 30 python3 "$SESS" "$SRV4" "gro$n" >"$WORK/gro$n.out" 2>&1
	rc=$?
	g1=$(gw_gso)
	log "$what: client exit $rc, gso packets $g0 -> $g1"
	if [ "$merged" = 1 ]; then
		check "the router merged segments (nfq gso $g0 -> $g1)" [ "$g1" -gt "$g0" ]
	else
		check "no super-packet (nfq gso $g0 -> $g1)" [ "$g1" -eq "$g0" ]
	fi
	check "$what: stripped reply blocked" wait_until 10 stripped_blocked "$n"
	check "$what: the client's connection was reset (exit $rc)" [ "$rc" = 3 ]
	check "$what: no MAIL reached the server" not grep -q 'cmd MAIL' "$WORK/server.log"
	check "$what: the server saw the session's EHLO" \
	    [ "$(grep -c 'cmd EHLO' "$WORK/server.log")" -eq "$n" ]
}

# --- 1. GRO on the router's server-facing veth ---
# (veth hands a packet to its peer's GRO only when the sending side does no
# TSO of its own: veth_skb_is_eligible_for_gro)
feature stg-att gw0 tso off
feature stg-gw att0 gro on
session 1 "GRO on" 1

# --- 2. every offload off along the path ---
for nd in "stg-cli eth0" "stg-gw cli0" "stg-gw att0" "stg-att gw0" "stg-att srv0" "stg-srv eth0"; do
	set -- $nd
	for f in gro gso tso tx rx; do
		feature "$1" "$2" "$f" off
	done
done
session 2 "offloads off" 0
stop_pid "$SRVPID" || true
