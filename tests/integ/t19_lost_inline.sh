#!/bin/bash
# t19_lost_inline.sh - a session the gateway stopped watching before it
# decided never passes unseen (issue 19), through the live gateway, policy
# enforce for the server. The server is the project's own attacker
# (stg_attacker hold, in stg-srv on the server's address); the client is
# the real Postfix, which keeps waiting for the held reply (its
# smtp_helo_timeout is 10 s here, the hold 7 s).
# integ-timeout: 150
#
# 1. A held STARTTLS reply outwaits a shortened engine.inspect_timeout (3 s):
#    the gateway forgets the flow, remembers it as lost, and when the 454
#    finally comes (after which Postfix would go on in plaintext) it drops
#    it and resets both ends: inspection_limit, blocked, "silent for more
#    than 3 s"; no MAIL FROM reaches the server; the mail stays queued.
# 2. The gateway is killed and restarted while the server holds the EHLO
#    reply (default timeouts): the connection's conntrack entry keeps the
#    "being inspected" bit the first daemon wrote at its SYN, so the
#    restarted one gives the stripped reply up as lost: inspection_limit,
#    blocked, "being inspected"; no MAIL FROM reaches the server.
# Before issue 19 both passed as midstream pickups, MAIL FROM in clear.
. "$(dirname "$0")/lib.sh"

HOLD=7
MAIL_SEEN="grep -qi 'C: MAIL FROM'"

topo_up
spawn stg-srv "$WORK/tcpdump.log" tcpdump -i eth0 -U -w "$WORK/srv.pcap" tcp port 25
TDPID=$LASTPID
wait_until 5 grep -q 'listening on' "$WORK/tcpdump.log" || fail "tcpdump did not start"

# eve_given_up EVE TEXT: an inspection_limit alert, blocked, whose reason has TEXT.
eve_given_up() {
	[ "$(jq -c --arg t "$2" 'select(.event_type == "alert" and .alert.signature == "inspection_limit"
	    and .alert.action == "blocked" and (.alert.reason | contains($t)))' "$1" | wc -l)" -ge 1 ]
}
# rst_sent: the gateway's last logged rst_sent counter.
rst_sent() { grep 'stats: nfq' "$GWLOG" | tail -n 1 | sed 's/.*rst_sent=\([0-9]*\).*/\1/'; }
laststat() { jq -s "[.[] | select(.event_type == \"stats\")] | last | .stats.$2" "$1"; }

# --- 1. the STARTTLS reply held past inspect_timeout --------------------
gw_conf "$WORK/gw1.conf" enforce
sed -i 's/^engine = { idle_timeout = 120; };/engine = { idle_timeout = 120; inspect_timeout = 3; };/' "$WORK/gw1.conf"
grep -q 'inspect_timeout = 3;' "$WORK/gw1.conf" || fail "test config: no inspect_timeout"
gw_start "$WORK/gw1.conf"
spawn stg-srv "$WORK/hold1.log" "$TOOLS/stg_attacker" hold starttls $HOLD $SRV4
H1=$LASTPID
wait_until 5 grep -q 'holding starttls' "$WORK/hold1.log" || fail "attacker server did not start"
pf_client
send_mail held1
check "the server holds the STARTTLS reply" wait_until 20 grep -q 'holding the STARTTLS reply' "$WORK/hold1.log"
check "... and answers 454 after $HOLD s" wait_until 20 grep -q 'sent 454' "$WORK/hold1.log"
check "given up: inspection_limit, blocked, silent past inspect_timeout" \
    wait_until 10 eve_given_up "$EVE" "silent for more than 3 s"
sleep 3     # give a wrongly passed session time to go on in plaintext
check "no MAIL FROM reached the server" not sh -c "$MAIL_SEEN '$WORK/hold1.log'"
check "the message stays queued at the client ($(client_queued))" [ "$(client_queued)" -ge 1 ]
check "the client lost the connection" grep -q 'status=deferred (lost connection' "$CLIPF/maillog"
gw_usr1
check "resets sent to both ends ($(rst_sent))" [ "$(rst_sent)" -ge 2 ]
check "counted: expired while inspecting, then lost" \
    [ "$(laststat "$EVE" flow.expired_inspecting) $(laststat "$EVE" lost)" = "1 1" ]
stop_pid "$H1"
postsuper -c "$CLIPF/conf" -d ALL >/dev/null 2>&1

# --- 2. restart between the EHLO and the stripped reply -----------------
gw_stop || fail "gateway exit status"
gw_conf "$WORK/gw2.conf" enforce
EVE=$WORK/eve2.json
gw_start "$WORK/gw2.conf"
spawn stg-srv "$WORK/hold2.log" "$TOOLS/stg_attacker" hold ehlo $HOLD $SRV4
H2=$LASTPID
wait_until 5 grep -q 'holding ehlo' "$WORK/hold2.log" || fail "attacker server did not start"
send_mail restart1
check "the server holds the EHLO reply" wait_until 20 grep -q 'holding the EHLO reply' "$WORK/hold2.log"
kill -KILL "$GWPID"; wait "$GWPID" 2>/dev/null
PIDS=$(echo "$PIDS" | tr ' ' '\n' | grep -vx "$GWPID" | tr '\n' ' '); GWPID=""
EVE=$WORK/eve3.json
gw_start "$WORK/gw2.conf"
check "restarted before the reply came" not grep -q 'sent the stripped' "$WORK/hold2.log"
check "... which comes after $HOLD s" wait_until 20 grep -q 'sent the stripped EHLO reply' "$WORK/hold2.log"
check "given up after the restart: inspection_limit, blocked, marked being inspected" \
    wait_until 10 eve_given_up "$EVE" "being inspected"
sleep 3
check "no MAIL FROM reached the server" not sh -c "$MAIL_SEEN '$WORK/hold2.log'"
check "the message stays queued at the client ($(client_queued))" [ "$(client_queued)" -ge 1 ]
gw_usr1
check "resets sent to both ends ($(rst_sent))" [ "$(rst_sent)" -ge 2 ]
check "counted lost, not midstream" [ "$(laststat "$EVE" lost) $(laststat "$EVE" midstream)" = "1 0" ]
stop_pid "$H2"
stop_pid "$TDPID"
check "no MAIL FROM in the server-side capture" \
    not sh -c "tcpdump -r '$WORK/srv.pcap' -A 2>/dev/null | grep -qi 'MAIL FROM'"
check "the server-side capture has both sessions' EHLO" \
    [ "$(tcpdump -r "$WORK/srv.pcap" -A 2>/dev/null | grep -c 'EHLO')" -ge 2 ]
