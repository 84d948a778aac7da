#!/bin/bash
# t15_dane.sh - DANE for SMTP (RFC 7672) end to end, cross-checked with
# Postfix as the sending MTA.
# integ-timeout: 240
#
# In stg-srv: zones signed now with ldns (example.net: MX hosts with TLSA
# records; example.com: a signature broken after signing; nosig.example: a
# trust anchor but served unsigned; example.org: unsigned), served by nsd
# (203.0.113.53), and unbound (203.0.113.54) validating them against the
# test trust anchor for Postfix. One Postfix server answers for every MX
# (TLS 1.2 only, so the certificate is visible; one listener without
# STARTTLS). The gateway's dane-fetch looks the domains up itself
# (libunbound, the same anchor, straight to nsd), the gateway loads the
# cache, and Postfix in stg-cli (smtp_dns_support_level = dane,
# smtp_tls_security_level = dane) sends one message per case through it:
#
#   case                          Postfix                 gateway
#   example.net, TLSA matches     delivers, Verified TLS  no alert, cert dane ok
#   bad.example.net, no match     defers                  tls_cert_invalid tlsa-invalid, blocked
#   notls.example.net, no TLS     defers                  starttls_downgrade dane, blocked
#   example.net, STARTTLS garbled defers                  starttls_stripped dane, blocked
#   example.com, bogus MX         defers (SERVFAIL)       dnssec-invalid, no policy
#   nosig.example, unsigned answers  defers (SERVFAIL)       dnssec-invalid, no policy
#   example.org, unsigned         delivers                no DANE, nothing blocked
#
# The table the test prints at the end is the one the issue asks for.
. "$(dirname "$0")/lib.sh"

for c in nsd unbound ldns-keygen ldns-signzone; do
	command -v $c >/dev/null 2>&1 || fail "$c is missing (.ci/install-deps: nsd unbound ldnsutils)"
done
NETNS_ETC=/etc/netns/stg-cli
cleanup_dane() { rm -rf "$NETNS_ETC"; cleanup; }
trap cleanup_dane EXIT

topo_up
AUTH=203.0.113.53 REC=203.0.113.54
MX_OK=203.0.113.25 MX_BAD=203.0.113.26 MX_NOTLS=203.0.113.27 MX_ORG=203.0.113.28
MX_COM=203.0.113.29
for a in $AUTH $REC $MX_BAD $MX_NOTLS $MX_ORG $MX_COM; do
	nsx stg-srv ip addr add $a/24 dev eth0
done

# --- the server: certificate, TLS 1.2 only, one listener without TLS -------
S=$WORK/srv
pf_common "$S" mx.example.net
mkdir -p "$S/vmail"
chown postfix:postfix "$S/vmail"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -subj /CN=mx.example.net -keyout "$S/conf/key.pem" -out "$S/conf/cert.pem" \
    >/dev/null 2>&1 || fail "openssl req"
openssl genpkey -algorithm ec -pkeyopt ec_paramgen_curve:P-256 -out "$WORK/other.pem" \
    2>/dev/null || fail "openssl genpkey"
spki_sha256() { openssl pkey -pubout -outform DER "$@" 2>/dev/null | sha256sum | cut -c1-64; }
TLSA_OK=$(openssl x509 -in "$S/conf/cert.pem" -noout -pubkey | spki_sha256 -pubin)
TLSA_OTHER=$(spki_sha256 -in "$WORK/other.pem")
[ ${#TLSA_OK} -eq 64 ] && [ "$TLSA_OK" != "$TLSA_OTHER" ] || fail "TLSA digests"
pf_master_cf "$S"
sed -i '/^smtp      inet/d' "$S/conf/master.cf"
for a in $MX_OK $MX_BAD $MX_ORG $MX_COM; do
	echo "$a:smtp inet n - n - - smtpd" >>"$S/conf/master.cf"
done
echo "$MX_NOTLS:smtp inet n - n - - smtpd -o smtpd_tls_security_level=none" >>"$S/conf/master.cf"
cat >>"$S/conf/main.cf" <<MAIN
inet_interfaces = all
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
virtual_mailbox_domains = example.net bad.example.net notls.example.net example.org example.com nosig.example
virtual_mailbox_base = $S/vmail
virtual_mailbox_maps = static:inbox
virtual_uid_maps = static:$(id -u postfix)
virtual_gid_maps = static:$(id -g postfix)
virtual_minimum_uid = 1
smtpd_tls_cert_file = $S/conf/cert.pem
smtpd_tls_key_file = $S/conf/key.pem
smtpd_tls_security_level = may
smtpd_tls_protocols = >=TLSv1.2, <=TLSv1.2
smtpd_tls_received_header = yes
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
smtpd_banner = smtp.invalid ESMTP
MAIN
pf_start stg-srv "$S"
MBOX=$S/vmail/inbox

# --- the zones, signed now ------------------------------------------------
D=$WORK/dns
mkdir -p "$D" "$WORK/dane"
zone() { # NAME BODY...
	local z=$1; shift
	{
		printf '$ORIGIN %s.\n$TTL 3600\n' "$z"
		printf '@ IN SOA ns.%s. hostmaster.%s. 1 3600 600 86400 3600\n@ IN NS ns.%s.\nns IN A %s\n' \
		    "$z" "$z" "$z" "$AUTH"
		printf '%s\n' "$@"
	} >"$D/$z.zone"
}
zone example.net "@ IN MX 10 mx" "mx IN A $MX_OK" "_25._tcp.mx IN TLSA 3 1 1 $TLSA_OK" \
    "bad IN MX 10 mx-bad" "mx-bad IN A $MX_BAD" "_25._tcp.mx-bad IN TLSA 3 1 1 $TLSA_OTHER" \
    "notls IN MX 10 mx-notls" "mx-notls IN A $MX_NOTLS" "_25._tcp.mx-notls IN TLSA 3 1 1 $TLSA_OK"
zone example.com "@ IN MX 10 mx" "mx IN A $MX_COM" "_25._tcp.mx IN TLSA 3 1 1 $TLSA_OK"
zone nosig.example "@ IN MX 10 mx" "mx IN A $MX_COM" "_25._tcp.mx IN TLSA 3 1 1 $TLSA_OK"
zone example.org "@ IN MX 10 mx" "mx IN A $MX_ORG"
: >"$D/anchors.ds"
for z in example.net example.com nosig.example; do
	(cd "$D" && ksk=$(ldns-keygen -a ECDSAP256SHA256 -k $z) && zsk=$(ldns-keygen -a ECDSAP256SHA256 $z) &&
	    ldns-signzone -f $z.zone.signed $z.zone $zsk $ksk && cat $ksk.ds >>anchors.ds) \
	    >/dev/null 2>&1 || fail "signing $z"
done
# example.com: the MX target changed after signing -> its RRSIG no longer matches
sed -i 's/^\(example\.com\.\s.*MX\s*10\s*\)mx\.example\.com\./\1mx2.example.com./' \
    "$D/example.com.zone.signed"
grep -q 'MX.*mx2\.example\.com\.' "$D/example.com.zone.signed" || fail "breaking example.com"
# nosig.example: the anchor says signed, nsd serves the unsigned zone
cp "$D/nosig.example.zone" "$D/nosig.example.zone.signed"
check "three trust anchors (DS)" [ "$(grep -c 'IN[[:space:]]*DS' "$D/anchors.ds")" -eq 3 ]

{
	printf 'server:\n ip-address: %s\n port: 53\n zonesdir: "%s"\n username: ""\n chroot: ""\n' "$AUTH" "$D"
	printf ' database: ""\n zonelistfile: "%s/zone.list"\n xfrdfile: "%s/xfrd.state"\n' "$D" "$D"
	printf ' pidfile: "%s/nsd.pid"\n logfile: "%s/nsd.log"\n server-count: 1\n' "$D" "$D"
	printf 'remote-control:\n control-enable: no\n'
	for z in example.net example.com nosig.example; do printf 'zone:\n name: %s\n zonefile: %s.zone.signed\n' $z $z; done
	printf 'zone:\n name: example.org\n zonefile: example.org.zone\n'
} >"$D/nsd.conf"
spawn stg-srv "$D/nsd.out" nsd -d -c "$D/nsd.conf"
{
	printf 'server:\n interface: %s\n port: 53\n access-control: 0.0.0.0/0 allow\n' "$REC"
	printf ' username: ""\n chroot: ""\n directory: "%s"\n pidfile: "%s/unbound.pid"\n' "$D" "$D"
	printf ' use-syslog: no\n logfile: ""\n do-not-query-localhost: no\n do-ip6: no\n'
	printf ' trust-anchor-file: "%s/anchors.ds"\n val-log-level: 2\n qname-minimisation: no\n' "$D"
	printf ' module-config: "validator iterator"\n'
	for z in example.net example.com nosig.example example.org; do
		printf 'stub-zone:\n name: %s\n stub-addr: %s\n' $z $AUTH
	done
	printf 'remote-control:\n control-enable: no\n'
} >"$D/unbound.conf"
spawn stg-srv "$D/unbound.out" unbound -d -c "$D/unbound.conf"
check "nsd answers" wait_until 10 \
    ip netns exec stg-srv python3 "$ROOT/tests/integ/dns_query.py" "$AUTH" mx.example.net
check "unbound answers" wait_until 10 \
    ip netns exec stg-srv python3 "$ROOT/tests/integ/dns_query.py" "$REC" mx.example.net

# --- the gateway's DANE lookups -------------------------------------------
printf 'nameserver %s\n' "$AUTH" >"$D/resolv.auth"
cat >"$WORK/gw.conf" <<CONF
ports = [ 25 ];
eve = { file = "$EVE"; };
nfqueue = { fail_open = true; bypass_mark = $MARK; };
policy = { default = { mode = "testing"; }; learn_dns = true; };
discovery = { dane = { dir = "$WORK/dane"; trust_anchor = "$D/anchors.ds";
                       resolv_conf = "$D/resolv.auth"; }; };
CONF
ip netns exec stg-gw "$BIN" -c "$WORK/gw.conf" dane-fetch example.net bad.example.net \
    notls.example.net example.com nosig.example example.org >"$WORK/fetch.out" 2>&1
rc=$?
cat "$WORK/fetch.out"
check "dane-fetch exits 1 (two domains are dnssec-invalid)" [ $rc -eq 1 ]
check "example.net: DANE, 1 usable TLSA" grep -q '^example.net: DANE: MX RRset secure; mx.example.net TLSA 1 usable of 1' "$WORK/fetch.out"
check "bad.example.net: DANE" grep -q '^bad.example.net: DANE:' "$WORK/fetch.out"
check "example.com: dnssec-invalid (bogus MX RRset)" grep -q '^example.com: dnssec-invalid: MX RRset bogus' "$WORK/fetch.out"
check "nosig.example: dnssec-invalid (answers without signatures)" grep -q '^nosig.example: dnssec-invalid: MX RRset bogus' "$WORK/fetch.out"
check "example.org: no DANE (insecure)" grep -q '^example.org: no DANE: MX RRset insecure' "$WORK/fetch.out"
check "cache files written" [ "$(ls "$WORK/dane" | grep -c '\.dane$')" -eq 6 ]
"$BIN" -c "$WORK/gw.conf" -t >"$WORK/t.out" 2>&1 || fail "-t: $(cat "$WORK/t.out")"
grep '^DANE' "$WORK/t.out"
check "-t: 3 DANE domains, 2 dnssec-invalid, 1 insecure" \
    grep -q 'mode enforce: 3 domains (3 MX hosts, [0-9]* bytes), 1 insecure, 2 dnssec-invalid' "$WORK/t.out"

export DNS=1

# --- Postfix as the DANE sender ---------------------------------------------
mkdir -p "$NETNS_ETC"
printf 'nameserver %s\noptions trust-ad\n' "$REC" >"$NETNS_ETC/resolv.conf"
C=$WORK/cli
pf_common "$C" client.example.org
sed -i '/^smtp_dns_support_level/d; /^smtp_host_lookup/d' "$C/conf/main.cf"
cat >>"$C/conf/main.cf" <<MAIN
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject
smtp_dns_support_level = dnssec
smtp_host_lookup = dns
smtp_tls_security_level = dane
smtp_tls_loglevel = 1
smtp_connect_timeout = 5s
smtp_helo_timeout = 10s
smtp_address_preference = ipv4
MAIN
pf_start stg-cli "$C"
CLIPF=$C

# send TAG RCPT_DOMAIN: one message, wait for Postfix's verdict on it;
# sets ST (sent, deferred) and WHY (Postfix's reason).
send() {
	local tag=$1 dom=$2 line
	printf 'Test message %s\nSECRET-BODY-%s\n' "$tag" "$tag" >"$WORK/body-$tag.txt"
	ip netns exec stg-cli swaks --server 127.0.0.1 --port 25 --helo client.example.org \
	    --from sender@example.org --to "user-$tag@$dom" --header "Subject: stg test $tag" \
	    --body "$WORK/body-$tag.txt" >"$WORK/swaks-$tag.log" 2>&1 || fail "swaks $tag"
	wait_until 30 grep -q "to=<user-$tag@$dom>.*status=" "$C/maillog" || fail "no verdict for $tag"
	line=$(grep "to=<user-$tag@$dom>.*status=" "$C/maillog" | tail -n 1)
	ST=$(echo "$line" | sed 's/.*status=\([a-z]*\).*/\1/')
	WHY=$(echo "$line" | sed 's/.*status=[a-z]* (\(.*\))$/\1/' | cut -c1-60)
	postsuper -c "$C/conf" -d ALL >/dev/null 2>&1  # no retries into the next case
}
alerts() { eve_count ".event_type == \"alert\" and $1"; }
TABLE=$WORK/table
printf '%-30s %-44s %s\n' case "Postfix alone (gateway testing)" "gateway enforce" >"$TABLE"

# pass MODE: the seven cases with discovery.dane.mode MODE. In testing the
# gateway must only alert and Postfix decides alone; in enforce it blocks.
pass() {
	local mode=$1 act
	[ "$mode" = enforce ] && act=blocked || act=allowed
	sed -i -e 's/dane = { dir/dane = { mode = "x"; dir/' \
	    -e "s/dane = { mode = \"[a-z]*\"; dir/dane = { mode = \"$mode\"; dir/" "$WORK/gw.conf"
	grep -q "dane = { mode = \"$mode\"; dir" "$WORK/gw.conf" || fail "gw.conf mode $mode"
	: >"$EVE"
	gw_start "$WORK/gw.conf"
	log "--- pass: discovery.dane.mode $mode"

	send ok$mode example.net
	check "[$mode] Postfix delivered to example.net ($ST)" [ "$ST" = sent ]
	check "[$mode] ... over a DANE-verified TLS connection" \
	    grep -q 'Verified TLS connection established to mx.example.net' "$C/maillog"
	check "[$mode] gateway: no alert" [ "$(alerts true)" -eq 0 ]
	check "[$mode] gateway: TLS 1.2 flow, certificate checked by DANE: ok" \
	    [ "$(eve_count '.event_type == "flow" and .tls.version == "TLSv1.2" and .tls.cert.dane == true and .tls.cert.result == "ok" and .tls.cert.tlsa == "TLSA 3 1 1 at depth 0"')" -ge 1 ]
	R_OK="$ST, Verified TLS"

	send bad$mode bad.example.net
	check "[$mode] Postfix refused bad.example.net ($ST: $WHY)" [ "$ST" = deferred ]
	[ "$mode" = testing ] && { check "[$mode] ... because the certificate is not verified" \
	    grep -q 'certificate not verified\|untrusted issuer\|certificate verification failed' <<<"$WHY"; R_BAD="$ST ($WHY)"; }
	check "[$mode] gateway: tls_cert_invalid tlsa-invalid $act, source dane" \
	    [ "$(alerts ".alert.signature == \"tls_cert_invalid\" and .alert.tlsrpt == \"tlsa-invalid\" and .alert.action == \"$act\" and .policy.source == \"dane\"")" -ge 1 ]

	send notls$mode notls.example.net
	check "[$mode] Postfix refused notls.example.net ($ST: $WHY)" [ "$ST" = deferred ]
	[ "$mode" = testing ] && R_NOTLS="$ST ($WHY)"
	check "[$mode] gateway: starttls_downgrade dane-required $act, source dane" \
	    [ "$(alerts ".alert.signature == \"starttls_downgrade\" and .alert.action == \"$act\" and .policy.source == \"dane\" and .alert.tlsrpt == \"dane-required\"")" -ge 1 ]
	check "[$mode] the body never reached the server" not grep -q "SECRET-BODY-notls$mode" "$MBOX"

	attacker_start
	send strip$mode example.net
	attacker_stop
	check "[$mode] Postfix refused example.net with STARTTLS garbled ($ST: $WHY)" [ "$ST" = deferred ]
	[ "$mode" = testing ] && R_STRIP="$ST ($WHY)"
	check "[$mode] gateway: starttls_stripped $act, source dane" \
	    [ "$(alerts ".alert.signature == \"starttls_stripped\" and .policy.source == \"dane\" and .alert.action == \"$act\"")" -ge 1 ]

	send com$mode example.com
	check "[$mode] Postfix refused example.com, bogus ($ST: $WHY)" [ "$ST" = deferred ]
	[ "$mode" = testing ] && R_COM="$ST ($WHY)"
	send nosig$mode nosig.example
	check "[$mode] Postfix refused nosig.example, no signatures ($ST: $WHY)" [ "$ST" = deferred ]
	[ "$mode" = testing ] && R_NOSIG="$ST ($WHY)"
	check "[$mode] no session to the bogus domains' MX" \
	    [ "$(eve_count ".dest_ip == \"$MX_COM\"")" -eq 0 ]

	attacker_start
	send org$mode example.org
	attacker_stop
	check "[$mode] Postfix delivered to example.org, unsigned, in plaintext ($ST)" [ "$ST" = sent ]
	[ "$mode" = testing ] && R_ORG="$ST (plaintext)"
	check "[$mode] gateway: nothing blocked for $MX_ORG" \
	    [ "$(eve_count ".event_type == \"alert\" and .dest_ip == \"$MX_ORG\" and .alert.action == \"blocked\"")" -eq 0 ]
	check "[$mode] gateway: the stripping seen under the default policy" \
	    [ "$(eve_count ".event_type == \"alert\" and .dest_ip == \"$MX_ORG\" and .alert.signature == \"starttls_stripped\" and .policy.source == \"default\"")" -ge 1 ]
	gw_stop
	"$RULES" del "$QUEUES" "$MARK" stg-gw
}

pass testing
# the TLS-RPT report of the testing pass carries the DANE result types
mkdir -p "$WORK/rpt"
"$BIN" report -o "$WORK/rpt" "$EVE" >"$WORK/rpt.out" 2>&1 || fail "report: $(cat "$WORK/rpt.out")"
check "report: policy-type tlsa with tlsa-invalid and dane-required" \
    sh -c "cat '$WORK'/rpt/*.json | jq -e -s '[.[].policies[] | select(.policy.\"policy-type\" == \"tlsa\") | .\"failure-details\"[].\"result-type\"] | (index(\"tlsa-invalid\") != null) and (index(\"dane-required\") != null)' >/dev/null"
pass enforce

printf '%-30s %-44s %s\n' "example.net TLSA 3 1 1 ok" "$R_OK" "no alert (dane ok)" >>"$TABLE"
printf '%-30s %-44s %s\n' "bad.example.net no TLSA match" "$R_BAD" "tls_cert_invalid tlsa-invalid blocked" >>"$TABLE"
printf '%-30s %-44s %s\n' "notls.example.net no STARTTLS" "$R_NOTLS" "starttls_downgrade dane-required blocked" >>"$TABLE"
printf '%-30s %-44s %s\n' "example.net STARTTLS garbled" "$R_STRIP" "starttls_stripped (dane) blocked" >>"$TABLE"
printf '%-30s %-44s %s\n' "example.com broken RRSIG" "$R_COM" "dnssec-invalid, no policy, no session" >>"$TABLE"
printf '%-30s %-44s %s\n' "nosig.example no RRSIGs" "$R_NOSIG" "dnssec-invalid, no policy, no session" >>"$TABLE"
printf '%-30s %-44s %s\n' "example.org unsigned+garbled" "$R_ORG" "no DANE: starttls_stripped allowed" >>"$TABLE"
echo "--- Postfix (DANE sender) vs the gateway"
cat "$TABLE"
log "all passed"
