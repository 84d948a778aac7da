#!/bin/bash
# t6_reload.sh - SIGHUP reloads the policy for the next session; a broken
# configuration is refused with a reason and the old one stays.
# Asserts: under testing, a plaintext session is delivered with a
# starttls_downgrade alert "allowed"; after the file says enforce and SIGHUP,
# the next one is reset and the alert says "blocked"; after a broken file
# and SIGHUP, the log names file and line and says it keeps the old
# configuration, the gateway still runs, and a session is still blocked;
# SIGUSR1 still answers. Also: SIGHUP reopens a rotated EVE file, and the
# IPv6 path blocks too (resets from the IPv6 raw socket).
. "$(dirname "$0")/lib.sh"

SESS=$ROOT/tests/integ/smtp_session.py
CONF=$WORK/gw.conf
topo_up
gw_conf "$CONF" testing
gw_start "$CONF"
pf_server

downgrades() { eve_count ".event_type == \"alert\" and .alert.signature == \"starttls_downgrade\" and .alert.action == \"$1\""; }
reloads() { grep -c "$1" "$GWLOG"; }

ip netns exec stg-cli python3 "$SESS" $SRV4 hup1 >"$WORK/hup1.log" 2>&1; rc=$?
check "testing: plaintext session completes (rc $rc)" [ "$rc" -eq 0 ]
check "testing: delivered" wait_until 10 delivered hup1
check "testing: downgrade alert allowed" [ "$(downgrades allowed)" -eq 1 ]

gw_conf "$CONF" enforce
n=$(reloads 'reload: .* loaded')
mv "$EVE" "$EVE.1"          # logrotate: SIGHUP must reopen the EVE path
kill -HUP "$GWPID"
check "SIGHUP: new policy loaded" wait_until 10 sh -c "[ \$(grep -c 'reload: .* loaded' '$GWLOG') -gt $n ]"
check "SIGHUP: EVE file reopened at its path" [ -f "$EVE" ]
ip netns exec stg-cli python3 "$SESS" $SRV4 hup2 >"$WORK/hup2.log" 2>&1; rc=$?
check "enforce after SIGHUP: session reset (rc $rc)" [ "$rc" -eq 3 ]
check "enforce after SIGHUP: downgrade alert blocked" [ "$(downgrades blocked)" -eq 1 ]
check "enforce after SIGHUP: not delivered" not delivered hup2
check "the rotated EVE file kept the earlier alert" grep -q starttls_downgrade "$EVE.1"
ip netns exec stg-cli python3 "$SESS" $SRV6 hup2v6 >"$WORK/hup2v6.log" 2>&1; rc=$?
check "enforce over IPv6: session reset (rc $rc)" [ "$rc" -eq 3 ]
check "enforce over IPv6: downgrade alert blocked" [ "$(downgrades blocked)" -eq 2 ]

printf 'policy = {\n  default = { mode = "enforce"; }\n  rules = ( { match = "203.0.113.0/24"; mode = "none"  );\n};\n' >"$CONF"
kill -HUP "$GWPID"
check "broken config: refused, old kept" wait_until 10 grep -q 'keeping the old configuration' "$GWLOG"
check "broken config: the reason names file and line" grep -q "$CONF:[0-9]" "$GWLOG"
check "gateway still running" kill -0 "$GWPID"
ip netns exec stg-cli python3 "$SESS" $SRV4 hup3 >"$WORK/hup3.log" 2>&1; rc=$?
check "old enforce policy still applies (rc $rc)" [ "$rc" -eq 3 ]
check "... alert blocked again" [ "$(downgrades blocked)" -eq 3 ]
gw_usr1
check "SIGUSR1 stats event written" [ "$(eve_count '.event_type == "stats"')" -ge 1 ]
check "clean exit" gw_stop
