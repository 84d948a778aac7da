#!/bin/bash
# t9_dns_policy.sh - a domain policy reaches a server through DNS, inline.
#
# The gateway also queues DNS answers (rules.sh DNS=1). A client asks a real
# DNS server (dnsmasq, in stg-srv) for mx.example.net and gets the server's
# address; example.net has a cached MTA-STS policy (enforce, mx:
# mx.example.net) and no address rule covers the server. A plaintext
# session to that address is then a starttls_downgrade, blocked, with
# policy.source "mta-sts" and match "example.net", at MAIL FROM. The same
# session (to a recipient of another domain, so the recipient cannot match
# either) before the DNS answer crossed the gateway is only
# starttls_missing: the name, not the address, carries the policy.
. "$(dirname "$0")/lib.sh"

command -v dnsmasq >/dev/null 2>&1 || fail "dnsmasq is missing (package dnsmasq-base)"
topo_up
mkdir -p "$WORK/mta-sts"
printf 'version: STSv1\nmode: enforce\nmx: mx.example.net\nmax_age: 604800\n' \
    >"$WORK/mta-sts/example.net.txt"
cat >"$WORK/gw.conf" <<CONF
ports = [ 25 ];
eve = { file = "$EVE"; };
nfqueue = { fail_open = true; bypass_mark = $MARK; };
policy = {
  default = { mode = "testing"; };
  mta_sts_dir = "$WORK/mta-sts";
  learn_dns = true;
};
CONF
export DNS=1
gw_start "$WORK/gw.conf"
pf_server
# The server must not name itself mx.example.net in its greeting: that alone
# raises the expectation (a greeting may raise one), and this test is about
# the name DNS gives the address.
pf_stop "$WORK/srv"
postconf -c "$WORK/srv/conf" -e 'smtpd_banner = relay.example.com ESMTP' || fail "postconf"
pf_start stg-srv "$WORK/srv"
spawn stg-srv "$WORK/dnsmasq.log" dnsmasq --no-daemon --conf-file=/dev/null \
    --no-resolv --no-hosts --bind-interfaces --listen-address="$SRV4" \
    --port=53 --address=/mx.example.net/"$SRV4"
check "dnsmasq answers inside stg-srv" wait_until 10 \
    ip netns exec stg-srv python3 "$ROOT/tests/integ/dns_query.py" "$SRV4" mx.example.net

# 1. before any answer crossed the gateway: no policy for the address
export STG_RCPT=someone@other.example
ip netns exec stg-cli python3 "$ROOT/tests/integ/smtp_session.py" "$SRV4" dns1 >"$WORK/s1.log" 2>&1
check "session before the DNS answer: nothing blocked" \
    [ "$(eve_count '.event_type == "alert" and .alert.action == "blocked"')" -eq 0 ]
check "... as starttls_missing from the default" \
    [ "$(eve_count '.event_type == "alert" and .alert.signature == "starttls_missing" and .policy.source == "default"')" -ge 1 ]

# 2. the client resolves the MX through the gateway
addr=$(ip netns exec stg-cli python3 "$ROOT/tests/integ/dns_query.py" "$SRV4" mx.example.net)
check "the client resolved mx.example.net to $SRV4" [ "$addr" = "$SRV4" ]

# 3. now the same server is example.net's MX: enforce
ip netns exec stg-cli python3 "$ROOT/tests/integ/smtp_session.py" "$SRV4" dns2 >"$WORK/s2.log" 2>&1
rc=$?
check "plaintext session to the MX is reset (rc $rc)" [ $rc -eq 3 ]
check "starttls_downgrade blocked, policy mta-sts example.net" \
    [ "$(eve_count '.event_type == "alert" and .alert.signature == "starttls_downgrade" and .alert.action == "blocked" and .policy.source == "mta-sts" and .policy.match == "example.net"')" -ge 1 ]
check "the message did not arrive" not delivered dns2
gw_usr1
check "stats count the DNS answer" \
    [ "$(eve_count '.event_type == "stats" and .stats.dns_answers >= 1')" -ge 1 ]
gw_stop
"$RULES" del "$QUEUES" "$MARK" stg-gw
log "all passed"
