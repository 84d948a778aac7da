#!/bin/bash
# t7_privdrop.sh - nfqueue.user: the gateway drops to an unprivileged user
# after opening its sockets and keeps only CAP_NET_ADMIN and CAP_NET_RAW.
# Asserts: every thread runs as that uid with exactly those two effective
# capabilities; verdicts still work (a TLS mail is delivered and decided
# tls); resets still work from the raw socket (a plaintext session to an
# enforce server is reset, rst_sent >= 2).
. "$(dirname "$0")/lib.sh"

SESS=$ROOT/tests/integ/smtp_session.py
id nobody >/dev/null 2>&1 || fail "no user nobody"
topo_up
GW_USER=nobody gw_conf "$WORK/gw.conf" enforce
gw_start "$WORK/gw.conf"
pf_server
pf_client

uid=$(id -u nobody)
check "log says it dropped privileges" grep -q 'running as nobody' "$GWLOG"
bad=0
for st in /proc/"$GWPID"/task/*/status; do
	u=$(awk '/^Uid:/ { print $2 $3 $4 $5 }' "$st")
	c=$(awk '/^CapEff:/ { print $2 }' "$st")
	[ "$u" = "$uid$uid$uid$uid" ] || bad=1
	[ "$c" = "0000000000003000" ] || bad=1
done
check "all threads: uid $uid, CapEff = NET_ADMIN|NET_RAW" [ $bad -eq 0 ]

send_mail priv1
check "verdicts still accepted: delivered over TLS" wait_until 30 delivered_tls priv1
ip netns exec stg-cli python3 "$SESS" $SRV4 priv2 >"$WORK/priv2.log" 2>&1; rc=$?
check "plaintext session reset (rc $rc)" [ "$rc" -eq 3 ]
gw_usr1
rst=$(grep 'stats: nfq' "$GWLOG" | tail -n 1 | sed 's/.*rst_sent=\([0-9]*\).*/\1/')
check "resets sent from the raw sockets (rst_sent=$rst)" [ "$rst" -ge 2 ]
check "clean exit" gw_stop
