#!/bin/bash
# t2_strip_enforce.sh - a STARTTLS-stripping attacker between gateway and
# server, policy enforce for the server. Asserts: the attacker did rewrite
# STARTTLS; EVE has starttls_stripped with action blocked; the gateway sent
# resets; the message never reaches the mailbox and no MAIL FROM crosses to
# the server (tcpdump in stg-srv); the sending Postfix keeps it queued.
# Then without the attacker, postqueue -f: it arrives, over TLS.
. "$(dirname "$0")/lib.sh"

topo_up
gw_conf "$WORK/gw.conf" enforce
gw_start "$WORK/gw.conf"
pf_server
pf_client
attacker_start
spawn stg-srv "$WORK/tcpdump.log" tcpdump -i eth0 -U -w "$WORK/srv.pcap" tcp port 25
TDPID=$LASTPID
wait_until 5 grep -q 'listening on' "$WORK/tcpdump.log" || fail "tcpdump did not start"

send_mail strip1
check "stripped alert, blocked" wait_until 30 sh -c \
    "[ \$(jq -c 'select(.event_type == \"alert\" and .alert.signature == \"starttls_stripped\" and .alert.action == \"blocked\")' '$EVE' | wc -l) -ge 1 ]"
check "attacker rewrote STARTTLS" grep -q 'rewrote STARTTLS' "$WORK/attacker.log"
sleep 3     # give a wrongly passed session time to deliver
gw_usr1
rst=$(grep 'stats: nfq' "$GWLOG" | tail -n 1 | sed 's/.*rst_sent=\([0-9]*\).*/\1/')
check "resets sent to both ends (rst_sent=$rst)" [ "$rst" -ge 2 ]
check "not delivered" sh -c "! grep -q 'SECRET-BODY-strip1' '$MBOX' 2>/dev/null"
check "message stays queued at the client ($(client_queued))" [ "$(client_queued)" -ge 1 ]
check "client deferred it after the reset" grep -q 'status=deferred (lost connection' "$CLIPF/maillog"
stop_pid "$TDPID"
check "server-side capture exists" [ -s "$WORK/srv.pcap" ]
check "no MAIL FROM reached the server" sh -c \
    "! tcpdump -r '$WORK/srv.pcap' -A 2>/dev/null | grep -qi 'MAIL FROM'"
check "the server saw the attack session (EHLO crossed)" sh -c \
    "tcpdump -r '$WORK/srv.pcap' -A 2>/dev/null | grep -q 'EHLO'"

attacker_stop
client_flush
check "after the attacker left, delivered over TLS" wait_until 40 delivered_tls strip1
check "client queue empty" wait_until 10 sh -c "[ \$(postqueue -c '$CLIPF/conf' -p | grep -c '^[0-9A-F]\{6,\}') -eq 0 ]"
check "the retry was a clean TLS flow" \
    [ "$(eve_count '.event_type == "flow" and .flow.verdict == "tls"')" -ge 1 ]
