#!/bin/bash
# t3_strip_testing.sh - the same stripping attacker, policy testing for the
# server. Asserts: starttls_stripped alert with action allowed, no blocked
# alert, no reset sent, and the mail is delivered (in plaintext: the
# attacker hid STARTTLS, so no TLS Received header).
. "$(dirname "$0")/lib.sh"

topo_up
gw_conf "$WORK/gw.conf" testing
gw_start "$WORK/gw.conf"
pf_server
pf_client
attacker_start

send_mail strip3
check "delivered" wait_until 40 delivered strip3
check "attacker rewrote STARTTLS" grep -q 'rewrote STARTTLS' "$WORK/attacker.log"
check "delivered without TLS (the strip worked on the wire)" not delivered_tls strip3
check "stripped alert, allowed" \
    [ "$(eve_count '.event_type == "alert" and .alert.signature == "starttls_stripped" and .alert.action == "allowed"')" -ge 1 ]
check "nothing blocked" [ "$(eve_count '.event_type == "alert" and .alert.action == "blocked"')" -eq 0 ]
gw_usr1
rst=$(grep 'stats: nfq' "$GWLOG" | tail -n 1 | sed 's/.*rst_sent=\([0-9]*\).*/\1/')
check "no reset sent (rst_sent=$rst)" [ "$rst" -eq 0 ]
