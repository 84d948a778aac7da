#!/bin/bash
# t5_failopen.sh - fail-open and restart, policy enforce for the server.
#
# Session A (plaintext, would be blocked at MAIL under enforce) starts while
# the gateway runs; the gateway is killed (SIGKILL) in the middle of it.
# Asserts: with the gateway dead, a Postfix mail still flows (--queue-bypass);
# a gateway restarted while A is in progress knows A was being inspected
# (the conntrack "being inspected" bit outlives the daemon) and gives it up:
# under enforce A's MAIL is dropped and both ends reset (inspection_limit,
# blocked; stats.lost >= 1), so A's plaintext mail is never delivered --
# before issue 19 it was picked up midstream and passed unseen; new
# sessions are inspected again: a new plaintext session is blocked
# (starttls_downgrade, blocked) and a new Postfix mail is a tls flow.
. "$(dirname "$0")/lib.sh"

SESS=$ROOT/tests/integ/smtp_session.py
topo_up
gw_conf "$WORK/gw.conf" enforce
gw_start "$WORK/gw.conf"
pf_server
pf_client

spawn stg-cli "$WORK/sessA.log" python3 "$SESS" $SRV4 sessA "$WORK/goA"
SAPID=$LASTPID
check "session A said EHLO through the gateway" wait_until 10 grep -q ehlo-done "$WORK/sessA.log"

kill -KILL "$GWPID"; wait "$GWPID" 2>/dev/null
PIDS=$(echo "$PIDS" | tr ' ' '\n' | grep -vx "$GWPID" | tr '\n' ' '); GWPID=""
send_mail dead1
check "gateway dead: mail keeps flowing (queue bypass)" wait_until 30 delivered dead1

EVE=$WORK/eve2.json
gw_start "$WORK/gw.conf"
touch "$WORK/goA"
wait "$SAPID"; rc=$?
PIDS=$(echo "$PIDS" | tr ' ' '\n' | grep -vx "$SAPID" | tr '\n' ' ')
check "in-progress session A reset after the restart (rc $rc)" [ "$rc" -eq 3 ]
check "session A (plaintext) never delivered" not delivered sessA
check "session A given up: inspection_limit, blocked, 'being inspected'" [ "$(eve_count \
    '.event_type == "alert" and .alert.signature == "inspection_limit" and .alert.action == "blocked" and (.alert.reason | test("being inspected"))')" -eq 1 ]
gw_usr1
check "counted lost" [ "$(jq -s '[.[] | select(.event_type == "stats")] | last | .stats.lost' "$EVE")" -ge 1 ]
rst=$(grep 'stats: nfq' "$GWLOG" | tail -n 1 | sed 's/.*rst_sent=\([0-9]*\).*/\1/')
check "resets sent to both ends (rst_sent=$rst)" [ "$rst" -ge 2 ]

ip netns exec stg-cli python3 "$SESS" $SRV4 sessC >"$WORK/sessC.log" 2>&1; rc=$?
check "new plaintext session is blocked (rc $rc)" [ "$rc" -eq 3 ]
check "... with starttls_downgrade blocked" \
    [ "$(eve_count '.event_type == "alert" and .alert.signature == "starttls_downgrade" and .alert.action == "blocked"')" -ge 1 ]
check "... and never delivered" not delivered sessC
send_mail new1
check "new Postfix mail delivered over TLS" wait_until 30 delivered_tls new1
check "... inspected: a tls flow event" wait_until 5 sh -c \
    "[ \$(jq -c 'select(.event_type == \"flow\" and .flow.verdict == \"tls\")' '$EVE' | wc -l) -ge 1 ]"
