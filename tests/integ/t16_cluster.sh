#!/bin/bash
# t16_cluster.sh - two routers, each with its own live gateway, share what
# they learn through a real redis-server (issue 16).
# integ-timeout: 300
#
#                 +-- stg-gwa (router A, gateway "gw-a") --+
#   stg-cli ------+                                        +------ stg-srv
#   198.51.100.10 +-- stg-gwb (router B, gateway "gw-b") --+  203.0.113.25..29 Postfix
#                        \                  /                  203.0.113.53 / .54 dnsmasq
#                         +-- stg-redis ---+   redis-server (requirepass + an ACL user)
#
# Links are /30s of 192.0.2.0/24; the client's and the servers' addresses
# sit on their loopbacks and each server address is routed through one
# router, both ways (the server namespace routes by source address), so a
# DNS answer crosses one router and the SMTP session another; via() moves
# an address to the other router mid-test (ECMP rehash, failover). A uses
# the ACL user, B the default user's requirepass. Checked, each by EVE
# lines and the gateways' metrics files:
#  1. DNS via A maps mx.example.net (example.net: enforce) to .25; a
#     plaintext session via B to .25 is blocked (config example.net), and
#     the reverse (DNS via B, SMTP via A for mx2.example.net at .26);
#  2. a clean TLS session (swaks) via A pins .27; a plaintext session to
#     .27 via B is blocked as a downgrade, policy source pin;
#  3. a failed TLS handshake via A to .28, then a plaintext retry via B:
#     tls_fallback on B;
#  4. garbage and misfiled values stored before the gateways start, and
#     published live, are refused and counted; a fact moving .25 to a
#     "none" domain is refused as weaker and .25 stays enforced on B;
#  5. redis stopped: mail still flows (Postfix client -> .25 via B, TLS),
#     B still blocks plaintext to .25 (its local table), each gateway logs
#     the outage once; a name learned on A meanwhile (mx3, .29) reaches B
#     after redis is back (A's queue is published on reconnect), counted;
#  6. a third gateway with a wrong password is refused and counts it;
#  and gw-b's alerts also go to a Redis list (outputs.redis).
. "$(dirname "$0")/lib.sh"

command -v redis-server >/dev/null 2>&1 || fail "redis-server is missing (.ci/install-deps)"
command -v dnsmasq >/dev/null 2>&1 || fail "dnsmasq is missing (package dnsmasq-base)"

CNS="stg-cli stg-gwa stg-gwb stg-srv stg-redis"
PASS=stg-cluster-pw
APASS=stg-gwa-pw
REDIS_PID=""
c_cleanup() {
	local ns
	for ns in stg-gwa stg-gwb; do
		"$RULES" del "$QUEUES" "$MARK" $ns >/dev/null 2>&1
	done
	cleanup
	for ns in $CNS; do ip netns del $ns 2>/dev/null; done
}
trap c_cleanup EXIT

# --- topology -------------------------------------------------------------
for ns in $CNS; do ip netns del $ns 2>/dev/null; done
for ns in $CNS; do
	ip netns add $ns
	nsx $ns ip link set lo up
	nsx $ns sysctl -qw net.ipv4.conf.all.rp_filter=0
	nsx $ns sysctl -qw net.ipv4.conf.default.rp_filter=0
done
for ns in stg-gwa stg-gwb; do nsx $ns sysctl -qw net.ipv4.ip_forward=1; done
# vlink NS1 IF1 ADDR1 NS2 IF2 ADDR2 (a /30)
vlink() {
	ip link add $2 netns $1 type veth peer name $5 netns $4
	nsx $1 ip addr add $3/30 dev $2
	nsx $4 ip addr add $6/30 dev $5
	nsx $1 ip link set $2 up
	nsx $4 ip link set $5 up
}
vlink stg-cli to-a 192.0.2.1  stg-gwa to-cli 192.0.2.2
vlink stg-cli to-b 192.0.2.5  stg-gwb to-cli 192.0.2.6
vlink stg-gwa to-srv 192.0.2.9  stg-srv to-a 192.0.2.10
vlink stg-gwb to-srv 192.0.2.13 stg-srv to-b 192.0.2.14
vlink stg-gwa to-redis 192.0.2.17 stg-redis to-a 192.0.2.18
vlink stg-gwb to-redis 192.0.2.21 stg-redis to-b 192.0.2.22
nsx stg-cli ip addr add $CLI4/32 dev lo
for a in 25 26 27 28 29 53 54; do nsx stg-srv ip addr add 203.0.113.$a/32 dev lo; done
for r in stg-gwa stg-gwb; do
	if [ $r = stg-gwa ]; then c=192.0.2.1 s=192.0.2.10; else c=192.0.2.5 s=192.0.2.14; fi
	nsx $r ip route add $CLI4/32 via $c
	nsx $r ip route add 203.0.113.0/24 via $s
done
# the server side answers through the router its address is routed by
nsx stg-srv ip route add $CLI4/32 via 192.0.2.9 table 101
nsx stg-srv ip route add $CLI4/32 via 192.0.2.13 table 102

# via ADDR a|b: send ADDR's traffic (both ways) through router A or B.
via() {
	local last=${1##*.} gw tab
	if [ "$2" = a ]; then gw=192.0.2.2 tab=101; else gw=192.0.2.6 tab=102; fi
	nsx stg-cli ip route replace "$1/32" via $gw src $CLI4
	nsx stg-srv ip rule del pref $((1000 + last)) 2>/dev/null
	nsx stg-srv ip rule add from "$1" lookup $tab pref $((1000 + last))
	nsx stg-cli ip route flush cache 2>/dev/null
	return 0
}
via 203.0.113.53 a
via 203.0.113.54 b
via 203.0.113.25 b
via 203.0.113.26 a
via 203.0.113.27 a
via 203.0.113.28 a
via 203.0.113.29 b

# --- redis ------------------------------------------------------------------
cat >"$WORK/redis.conf" <<CONF
bind 192.0.2.18 192.0.2.22
port 6379
save ""
appendonly no
dir $WORK
requirepass $PASS
user stg-a on >$APASS ~stg:* &stg:* +@all
CONF
redis_start() {
	spawn stg-redis "$WORK/redis.log" redis-server "$WORK/redis.conf"
	REDIS_PID=$LASTPID
	wait_until 10 rcli PING || fail "redis-server did not start: $(tail -n 3 "$WORK/redis.log")"
}
rcli() { nsx stg-redis redis-cli -h 192.0.2.18 -a "$PASS" --no-auth-warning "$@"; }
redis_start

# Hostile state before any gateway starts: found by the start-up load.
rcli SET stg:mx:203.0.113.40 'garbage' >/dev/null
rcli SET stg:mx:203.0.113.41 "v1 mx evil $(date +%s)000000 $(( $(date +%s) + 300 ))000000 203.0.113.25 mx.example.net" >/dev/null
rcli LPUSH stg:pin:203.0.113.42 'not a string' >/dev/null

# --- gateways ---------------------------------------------------------------
# gwc NAME URL USER PASSWORD [OUTPUT]: a gateway configuration
gwc() {
	cat >"$WORK/$1.conf" <<CONF
ports = [ 25 ];
nfqueue = { fail_open = true; bypass_mark = $MARK; };
policy = {
  default = { mode = "testing"; };
  learn_dns = true;
  rules = ( { domain = "example.net"; mxs = [ "mx.example.net", "mx2.example.net", "mx3.example.net" ];
              mode = "enforce"; },
            { domain = "open.example"; mxs = [ "mx.open.example" ]; mode = "none"; } );
  pins = { mode = "enforce"; };
};
outputs = { metrics = { file = "$WORK/$1.prom"; interval = 1; }; ${5:-} };
cluster = { redis = "$2"; id = "$1"; user = "$3"; password = "$4"; timeout = 500;
            backoff_max = 1000; };
CONF
}
gwc gw-a tcp://192.0.2.18:6379 stg-a "$APASS"
gwc gw-b tcp://192.0.2.22:6379 "" "$PASS" \
    "redis = { server = \"tcp://192.0.2.22:6379\"; password = \"$PASS\"; mode = \"list\"; key = \"stg-eve-b\"; events = [ \"alert\" ]; };"
# gws NAME NETNS QUEUES: start it (EVE in $WORK/NAME.json, log NAME.log)
gws() {
	: >"$WORK/$1.log"
	spawn $2 "$WORK/$1.log" "$BIN" -c "$WORK/$1.conf" -q "$3" -l "$WORK/$1.json"
	eval "PID_${1//-/_}=$LASTPID"
	wait_until 10 grep -q 'queue threads* ready' "$WORK/$1.log" ||
		fail "$1 did not start: $(tail -n 5 "$WORK/$1.log")"
}
export DNS=1
for r in stg-gwa stg-gwb; do "$RULES" add "$QUEUES" "$MARK" $r >/dev/null || fail "rules.sh add $r"; done
"$BIN" -c "$WORK/gw-a.conf" -t >"$WORK/t.out" 2>&1 || fail "-t: $(cat "$WORK/t.out")"
check "-t summarises the cluster (never the password)" \
    sh -c "grep -q 'cluster: redis tcp://192.0.2.18:6379 as gw-a, keys stg:\*, channel stg:facts, password set, ACL user stg-a' '$WORK/t.out' && ! grep -q '$APASS' '$WORK/t.out'"
gws gw-a stg-gwa "$QUEUES"
gws gw-b stg-gwb "$QUEUES"
GWLOG=$WORK/gw-b.log
check "both gateways connected and loaded the state" wait_until 10 \
    sh -c "grep -q 'cluster: redis .* connected as gw-a' '$WORK/gw-a.log' && grep -q 'connected as gw-b' '$WORK/gw-b.log'"

# metric GW NAME: a sample of the gateway's metrics file (0 when absent).
metric() {
	awk -v m="$2" '$1 == m { v = $2 } END { print v + 0 }' "$WORK/$1.prom" 2>/dev/null
}
# metric_ge GW NAME MIN: poll the metrics file (rewritten every second)
metric_ge() { wait_until 6 sh -c "[ \$(awk -v m='$2' '\$1 == m { v = \$2 } END { print v + 0 }' '$WORK/$1.prom' 2>/dev/null) -ge $3 ]"; }
# alerts GW FILTER: matching alert lines of a gateway's EVE
alerts() { jq -c "select(.event_type == \"alert\" and ($2))" "$WORK/$1.json" 2>/dev/null | wc -l; }

check "gw-b refused the garbage value stored before it started" \
    metric_ge gw-b 'starttls_guard_cluster_refused_total{reason="kind"}' 1
check "... and the value stored under another address's key" \
    metric_ge gw-b 'starttls_guard_cluster_refused_total{reason="key"}' 1
check "gw-b is connected (metric)" metric_ge gw-b starttls_guard_cluster_up 1

# --- the server side ----------------------------------------------------------
SRV4=203.0.113.25
SRV6=2001:db8:2::25
nsx stg-srv ip -6 addr add $SRV6/128 dev lo nodad
pf_server
pf_stop "$WORK/srv"
# all addresses; and a greeting that names no MX (a greeting alone raises the
# expectation: this test is about what the other router learned)
postconf -c "$WORK/srv/conf" -e 'inet_interfaces = all' 'smtpd_banner = relay.example.com ESMTP' \
    'virtual_mailbox_domains = example.net, other.example' ||
	fail "postconf"
pf_start stg-srv "$WORK/srv"
spawn stg-srv "$WORK/dnsmasq.log" dnsmasq --no-daemon --conf-file=/dev/null \
    --no-resolv --no-hosts --bind-interfaces --listen-address=203.0.113.53 \
    --listen-address=203.0.113.54 --port=53 \
    --address=/mx.example.net/203.0.113.25 --address=/mx2.example.net/203.0.113.26 \
    --address=/mx3.example.net/203.0.113.29
export STG_RCPT=someone@other.example   # the recipient domain must not decide
# session ADDR TAG: a plaintext session from stg-cli; prints its exit code
# (0: the server took the message; 3: reset, or any SMTP error)
session() {
	nsx stg-cli python3 "$ROOT/tests/integ/smtp_session.py" "$1" "$2" >"$WORK/s-$2.log" 2>&1
	echo $?
}
dnsq() { nsx stg-cli python3 "$ROOT/tests/integ/dns_query.py" "$1" "$2"; }

# --- 1. a domain policy through DNS on the other router ----------------------
rc=$(session $SRV4 pre)
check "before any DNS answer, plaintext to .25 via B passes (rc $rc)" [ "$rc" -eq 0 ]
check "mx.example.net resolved through router A" [ "$(dnsq 203.0.113.53 mx.example.net)" = $SRV4 ]
check "gw-b applied the MX name gw-a learned" \
    metric_ge gw-b 'starttls_guard_cluster_applied_total{kind="mx"}' 1
check "plaintext to .25 via B is reset" [ "$(session $SRV4 dns1)" -eq 3 ]
check "gw-b blocked it: starttls_downgrade, config example.net" \
    [ "$(alerts gw-b '.alert.signature == "starttls_downgrade" and .alert.action == "blocked" and .dest_ip == "203.0.113.25" and .policy.match == "example.net"')" -ge 1 ]
check "gw-a saw no SMTP of it" [ "$(alerts gw-a '.dest_ip == "203.0.113.25"')" -eq 0 ]
check "gw-b's alert is also on the Redis list stg-eve-b (outputs.redis)" wait_until 5 \
    sh -c "ip netns exec stg-redis redis-cli -h 192.0.2.18 -a '$PASS' --no-auth-warning LRANGE stg-eve-b 0 -1 |
        jq -e 'select(.alert.signature == \"starttls_downgrade\" and .dest_ip == \"203.0.113.25\")' >/dev/null"
check "the reverse: mx2.example.net resolved through router B" \
    [ "$(dnsq 203.0.113.54 mx2.example.net)" = 203.0.113.26 ]
check "gw-a applied it" metric_ge gw-a 'starttls_guard_cluster_applied_total{kind="mx"}' 1
check "plaintext to .26 via A is reset" [ "$(session 203.0.113.26 dns2)" -eq 3 ]
check "gw-a blocked it for example.net" \
    [ "$(alerts gw-a '.alert.action == "blocked" and .dest_ip == "203.0.113.26" and .policy.match == "example.net"')" -ge 1 ]

# --- 2. a pin learned on A ---------------------------------------------------------
nsx stg-cli swaks --server 203.0.113.27 --tls --helo client.example.org \
    --from sender@example.org --to user@example.net --header "Subject: stg test pin" \
    >"$WORK/swaks-pin.log" 2>&1 || fail "swaks TLS via A: $(tail -n 3 "$WORK/swaks-pin.log")"
check "gw-b applied gw-a's pin" metric_ge gw-b 'starttls_guard_cluster_applied_total{kind="pin"}' 1
via 203.0.113.27 b
check "plaintext to .27, now via B, is reset" [ "$(session 203.0.113.27 pin)" -eq 3 ]
check "gw-b blocked it: starttls_downgrade, source pin" \
    [ "$(alerts gw-b '.alert.signature == "starttls_downgrade" and .alert.action == "blocked" and .dest_ip == "203.0.113.27" and .policy.source == "pin"')" -ge 1 ]

# --- 3. a TLS failure on A, the plaintext retry via B ------------------------------
# an ECDSA-only cipher against the server's RSA key: the server's alert ends
# the handshake in the clear
echo QUIT | nsx stg-cli timeout 10 openssl s_client -connect 203.0.113.28:25 -starttls smtp \
    -tls1_2 -cipher ECDHE-ECDSA-AES128-GCM-SHA256 >"$WORK/tlsfail.log" 2>&1
check "gw-a saw the handshake fail" \
    [ "$(alerts gw-a '.alert.signature == "tls_handshake_failed" and .dest_ip == "203.0.113.28"')" -ge 1 ]
check "gw-b applied the failure" metric_ge gw-b 'starttls_guard_cluster_applied_total{kind="fail"}' 1
via 203.0.113.28 b
session 203.0.113.28 fallback >/dev/null   # testing: alerted, maybe passed
check "gw-b: the plaintext retry is tls_fallback" \
    [ "$(alerts gw-b '.alert.signature == "tls_fallback" and .dest_ip == "203.0.113.28"')" -ge 1 ]

# --- 4. hostile values published live ------------------------------------------
now=$(date +%s)
before=$(metric gw-b 'starttls_guard_cluster_refused_total{reason="weaker"}')
rcli PUBLISH stg:facts "$(printf 'garbage\nv1 mx evil %s000000 %s000000 203.0.113.25 mx.open.example\nv1 pin evil 1 2 %s' \
    $now $((now + 300)) $'\001')" >/dev/null
check "a value moving .25 to a \"none\" domain is refused as weaker" \
    metric_ge gw-b 'starttls_guard_cluster_refused_total{reason="weaker"}' $((before + 1))
check "... the garbage lines too" metric_ge gw-b 'starttls_guard_cluster_refused_total{reason="kind"}' 2
check "... and .25 is still enforced on B" [ "$(session $SRV4 weaker)" -eq 3 ]
kill -0 "$PID_gw_b" || fail "gw-b died"

# --- 5. redis away -------------------------------------------------------------
stop_pid "$REDIS_PID"
check "gw-b logged the outage" wait_until 5 grep -q 'cluster: redis .*working on local state' "$WORK/gw-b.log"
check "gw-b is down (metric)" wait_until 5 sh -c "[ \$(awk '\$1 == \"starttls_guard_cluster_up\" { print \$2 }' '$WORK/gw-b.prom') = 0 ]"
pf_client $SRV4
send_mail outage
client_flush
check "mail still flows via B (TLS to the enforced MX)" wait_until 20 delivered_tls outage
check "B still blocks plaintext to .25 from its own table" [ "$(session $SRV4 outage)" -eq 3 ]
check "mx3.example.net resolved via A while redis is away" [ "$(dnsq 203.0.113.53 mx3.example.net)" = 203.0.113.29 ]
check "... B does not know it yet: plaintext to .29 passes" [ "$(session 203.0.113.29 away)" -eq 0 ]
sleep 2   # a few reconnect attempts fail meanwhile
for g in gw-a gw-b; do
	check "$g logged the outage once" [ "$(grep -c 'working on local state' "$WORK/$g.log")" -eq 1 ]
done
redis_start
check "both gateways reconnected" wait_until 10 \
    sh -c "grep -q 'cluster: redis .* back after' '$WORK/gw-a.log' && grep -q 'back after' '$WORK/gw-b.log'"
check "gw-b counts the resync" metric_ge gw-b starttls_guard_cluster_resyncs_total 2
check "... and the outage" metric_ge gw-b starttls_guard_cluster_outages_total 1
check "gw-a published what it learned meanwhile" metric_ge gw-a starttls_guard_cluster_connects_total 2
blocked_session() { [ "$(session "$1" "$2")" -eq 3 ]; }
check "what A learned meanwhile reached B: plaintext to .29 via B is reset" \
    wait_until 10 blocked_session 203.0.113.29 back
check "gw-b blocked .29 for example.net" \
    [ "$(alerts gw-b '.alert.action == "blocked" and .dest_ip == "203.0.113.29" and .policy.match == "example.net"')" -ge 1 ]

# --- 6. wrong credentials ---------------------------------------------------------
gwc gw-c tcp://192.0.2.18:6379 stg-a wrong-password
gws gw-c stg-gwa 5
check "a gateway with a wrong password is refused and says so" \
    wait_until 5 grep -q 'authentication refused' "$WORK/gw-c.log"
check "... and counts it" metric_ge gw-c starttls_guard_cluster_auth_failures_total 1
stop_pid "$PID_gw_c" || fail "gw-c exit status"
for g in gw-a gw-b; do
	eval "pid=\$PID_${g//-/_}"
	stop_pid "$pid" || fail "$g exit status"
done
log "all passed"
