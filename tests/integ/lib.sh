# lib.sh - shared by the integration tests (sourced by bash, as root).
#
# Each test sources this file, which makes a work directory, builds the
# stg-* namespaces (netns-scripts/topo.sh) and traps EXIT to undo all of it:
# processes it started (by PID, never by name), the Postfix instances it
# started (their own master PIDs), the namespaces and the work directory.
# Only documentation addresses are used (see topo.sh). KEEP=1 keeps WORK.
set -u

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${BUILD:-build}
case "$BUILD" in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
BIN=$BUILD/starttls-guard
TOOLS=$BUILD/tools
TOPO=$ROOT/netns-scripts/topo.sh
RULES=$ROOT/netns-scripts/rules.sh
MARK=0x10000
QUEUES=${QUEUES:-0-1}
ATTQ=7

CLI4=198.51.100.10
SRV4=203.0.113.25
SRV6=2001:db8:2::25

# The stg-* names are fixed: two runs at once (two developers' `make check`
# on one machine) would tear down each other's namespaces. Serialize them.
# Background processes get the lock fd closed (9>&-), so it dies with us.
STG_LOCK=${STG_LOCK:-/run/lock/stg-integ.lock}
if [ -z "${STG_LOCK_HELD:-}" ]; then     # run.sh holds it for the whole run
	mkdir -p "$(dirname "$STG_LOCK")"    # a minimal root may lack /run/lock
	exec 9>"$STG_LOCK"
	if ! flock -w "${STG_LOCK_WAIT:-900}" 9; then
		echo "[$(basename "$0" .sh)] another integration run holds $STG_LOCK"
		exit 1
	fi
fi

WORK=$(mktemp -d /tmp/stg-integ.XXXXXX)
chmod 755 "$WORK"
EVE=$WORK/eve.json
GWLOG=$WORK/gw.log
PIDS=""
PF_DIRS=""
GWPID=""
TESTNAME=$(basename "$0" .sh)

log() { echo "[$TESTNAME] $*"; }
fail() {
	echo "[$TESTNAME] FAIL: $*"
	if [ -f "$GWLOG" ]; then echo "--- gateway log (tail)"; tail -n 20 "$GWLOG"; fi
	exit 1
}
ok() { echo "[$TESTNAME]   ok: $*"; }

# check DESCRIPTION COMMAND...: the command must succeed.
check() {
	desc=$1; shift
	if "$@"; then ok "$desc"; else fail "$desc"; fi
}

# not COMMAND...: succeeds when the command fails.
not() { ! "$@"; }

# wait_until SECONDS COMMAND...: poll every 0.1 s until the command succeeds.
wait_until() {
	local limit=$(( $1 * 10 )) i=0
	shift
	while [ $i -lt $limit ]; do
		"$@" 2>/dev/null && return 0
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

cleanup() {
	set +e
	local pid d m i
	for pid in $PIDS; do kill -TERM "$pid" 2>/dev/null; done
	for i in 1 2 3 4 5 6 7 8 9 10; do
		m=0
		for pid in $PIDS; do kill -0 "$pid" 2>/dev/null && m=1; done
		[ $m = 0 ] && break
		sleep 0.2
	done
	for pid in $PIDS; do kill -KILL "$pid" 2>/dev/null; done
	for d in $PF_DIRS; do
		pf_stop "$d"
	done
	"$TOPO" down
	if [ -n "${KEEP:-}" ]; then echo "[$TESTNAME] work dir kept: $WORK"
	else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# spawn NETNS LOGFILE COMMAND...: start in the background, remember the PID.
# ip netns exec execs the command, so $! is the command's own PID.
spawn() {
	local ns=$1 out=$2
	shift 2
	ip netns exec "$ns" "$@" >"$out" 2>&1 9>&- &
	LASTPID=$!
	PIDS="$PIDS $LASTPID"
}

# stop_pid PID: TERM, wait for it, forget it. Returns its exit status.
stop_pid() {
	local pid=$1 rc
	kill -TERM "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	rc=$?
	PIDS=$(echo "$PIDS" | tr ' ' '\n' | grep -vx "$pid" | tr '\n' ' ')
	return $rc
}

topo_up() {
	"$TOPO" up || fail "cannot build the namespaces"
}

# gw_conf FILE MODE_FOR_SERVER [DEFAULT_MODE]: the gateway's configuration
# (GW_USER: nfqueue.user, the account it drops privileges to).
gw_conf() {
	cat >"$1" <<CONF
ports = [ 25 ];
eve = { file = "$EVE"; };
engine = { idle_timeout = 120; };
nfqueue = { fail_open = true; queue_maxlen = 4096; rcvbuf = 4194304;
            bypass_mark = $MARK; user = "${GW_USER:-}"; };
policy = {
  default = { mode = "${3:-testing}"; };
  rules = ( { match = "203.0.113.0/24"; mode = "$2"; },
            { match = "2001:db8:2::/64"; mode = "$2"; } );
};
CONF
}

# gw_start CONF: rules in stg-gw, then the gateway on QUEUES.
gw_start() {
	"$RULES" add "$QUEUES" "$MARK" stg-gw || fail "rules.sh add"
	: >"$GWLOG"
	spawn stg-gw "$GWLOG" "$BIN" -c "$1" -q "$QUEUES" -l "$EVE"
	GWPID=$LASTPID
	wait_until 10 grep -q 'queue threads* ready' "$GWLOG" ||
		fail "gateway did not start: $(tail -n 5 "$GWLOG")"
}

gw_stop() {
	[ -n "$GWPID" ] || return 0
	stop_pid "$GWPID"
	local rc=$?
	GWPID=""
	return $rc
}

# attacker_start: queue server->client port-25 traffic in stg-att to the rewriter.
attacker_start() {
	local t
	for t in iptables ip6tables; do
		ip netns exec stg-att $t -w -t mangle -C FORWARD -p tcp --sport 25 \
		    -j NFQUEUE --queue-num $ATTQ 2>/dev/null ||
		ip netns exec stg-att $t -w -t mangle -A FORWARD -p tcp --sport 25 \
		    -j NFQUEUE --queue-num $ATTQ
	done
	spawn stg-att "$WORK/attacker.log" "$TOOLS/stg_attacker" rewrite $ATTQ
	ATTPID=$LASTPID
	wait_until 5 grep -q 'rewriting on queue' "$WORK/attacker.log" ||
		fail "attacker did not start"
}

attacker_stop() {
	local t
	stop_pid "$ATTPID"
	for t in iptables ip6tables; do
		ip netns exec stg-att $t -w -t mangle -D FORWARD -p tcp --sport 25 \
		    -j NFQUEUE --queue-num $ATTQ 2>/dev/null
	done
	return 0
}

# --- Postfix -----------------------------------------------------------

# pf_master_cf DIR: a minimal master.cf without chroot (no /etc copies needed).
pf_master_cf() {
	cat >"$1/conf/master.cf" <<'MCF'
smtp      inet  n       -       n       -       -       smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
virtual   unix  -       n       n       -       -       virtual
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
MCF
}

# pf_common DIR NAME: the settings both instances share. No DNS anywhere.
pf_common() {
	local d=$1
	mkdir -p "$d/conf" "$d/queue" "$d/data"
	chown postfix "$d/data"
	pf_master_cf "$d"
	cat >"$d/conf/main.cf" <<MAIN
compatibility_level = 3.6
queue_directory = $d/queue
data_directory = $d/data
maillog_file = $d/maillog
maillog_file_prefixes = $WORK
myhostname = $2
mydomain = ${2#*.}
mydestination =
alias_maps =
alias_database =
local_recipient_maps =
biff = no
smtp_dns_support_level = disabled
smtp_host_lookup = native
smtpd_peername_lookup = no
message_size_limit = 20480000
smtpd_banner = \$myhostname ESMTP
MAIN
}

# pf_server: the receiving MTA in stg-srv, STARTTLS offered, mail for
# example.net into $WORK/srv/vmail/inbox.
pf_server() {
	local d=$WORK/srv
	pf_common "$d" mx.example.net
	mkdir -p "$d/vmail"
	chown postfix:postfix "$d/vmail"
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=mx.example.net \
	    -keyout "$d/conf/key.pem" -out "$d/conf/cert.pem" >/dev/null 2>&1 ||
		fail "openssl req"
	cat >>"$d/conf/main.cf" <<MAIN
inet_interfaces = $SRV4, $SRV6
inet_protocols = ipv4, ipv6
mynetworks = 127.0.0.0/8
virtual_mailbox_domains = example.net
virtual_mailbox_base = $d/vmail
virtual_mailbox_maps = static:inbox
virtual_uid_maps = static:$(id -u postfix)
virtual_gid_maps = static:$(id -g postfix)
virtual_minimum_uid = 1
smtpd_tls_cert_file = $d/conf/cert.pem
smtpd_tls_key_file = $d/conf/key.pem
smtpd_tls_security_level = may
smtpd_tls_received_header = yes
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
MAIN
	pf_start stg-srv "$d"
	MBOX=$d/vmail/inbox
}

# pf_client [RELAY]: the sending MTA in stg-cli: accepts on its loopback,
# relays everything to the server with opportunistic TLS.
pf_client() {
	local d=$WORK/cli
	pf_common "$d" client.example.org
	cat >>"$d/conf/main.cf" <<MAIN
inet_interfaces = 127.0.0.1
inet_protocols = ipv4, ipv6
mynetworks = 127.0.0.0/8
relayhost = [${1:-$SRV4}]
smtp_tls_security_level = may
smtp_tls_loglevel = 1
smtpd_relay_restrictions = permit_mynetworks, reject
smtp_connect_timeout = 5s
smtp_helo_timeout = 10s
MAIN
	pf_start stg-cli "$d"
	CLIPF=$d
}

# pf_start NETNS DIR: start the instance; its master stays in NETNS.
pf_start() {
	PF_DIRS="$PF_DIRS $2"
	ip netns exec "$1" postfix -c "$2/conf" start >"$2/start.log" 2>&1 9>&- ||
		fail "postfix start in $1: $(cat "$2/start.log"; tail -n 5 "$2/maillog" 2>/dev/null)"
	wait_until 10 test -s "$2/queue/pid/master.pid" || fail "postfix master in $1"
	# the master listens once its children are set up
	sleep 0.5
}

# pf_stop DIR: stop the instance we started (its own master, by pid file).
pf_stop() {
	local d=$1 pid
	[ -d "$d/conf" ] || return 0
	pid=$(tr -dc 0-9 <"$d/queue/pid/master.pid" 2>/dev/null)
	postfix -c "$d/conf" stop >/dev/null 2>&1
	if [ -n "$pid" ]; then
		wait_until 5 sh -c "! kill -0 $pid" || kill -KILL "$pid" 2>/dev/null
	fi
}

# send_mail TAG [BODYFILE]: submit one message to the client MTA (swaks over
# its loopback inside stg-cli). TAG is in the subject and the body.
send_mail() {
	local tag=$1 body=${2:-}
	if [ -z "$body" ]; then
		body=$WORK/body-$tag.txt
		printf 'Test message %s\nSECRET-BODY-%s\n' "$tag" "$tag" >"$body"
	fi
	ip netns exec stg-cli swaks --server 127.0.0.1 --port 25 \
	    --helo client.example.org --from sender@example.org \
	    --to "user@example.net" --header "Subject: stg test $tag" \
	    --body "$body" >"$WORK/swaks-$tag.log" 2>&1 ||
		fail "swaks submission $tag: $(tail -n 5 "$WORK/swaks-$tag.log")"
}

# delivered TAG: the message with TAG sits in the server's mailbox.
delivered() { grep -q "stg test $1" "$MBOX" 2>/dev/null; }

# delivered_tls TAG: ... and the server's Received header says TLS.
delivered_tls() {
	awk -v tag="stg test $1" '
		/^From / { hdr = ""; inhdr = 1 }
		inhdr && /^$/ { inhdr = 0; if (index(hdr, tag) && hdr ~ /using TLS/) found = 1 }
		inhdr { hdr = hdr $0 "\n" }
		END { exit !found }' "$MBOX" 2>/dev/null
}

# client_queued: messages sitting in the client MTA's queue.
client_queued() {
	postqueue -c "$CLIPF/conf" -p 2>/dev/null | grep -c '^[0-9A-F]\{6,\}' || true
}

client_flush() { postqueue -c "$CLIPF/conf" -f; }

# eve_count JQ_FILTER: how many EVE lines match (jq -c select).
eve_count() {
	[ -f "$EVE" ] || { echo 0; return; }
	jq -c "select($1)" "$EVE" 2>/dev/null | wc -l
}

# gw_stats: SIGUSR1, then wait for the stats line; prints "received packets".
gw_usr1() {
	local before
	before=$(grep -c 'stats: nfq' "$GWLOG")
	kill -USR1 "$GWPID"
	wait_until 5 sh -c "[ \$(grep -c 'stats: nfq' '$GWLOG') -gt $before ]" ||
		fail "no stats after SIGUSR1"
}

# nfq_received: the last logged nfq received counter.
nfq_received() {
	grep 'stats: nfq' "$GWLOG" | tail -n 1 | sed 's/.*received=\([0-9]*\).*/\1/'
}

# --- Replaying captures through the live gateway (t4, t11) --------------

# replay_routes: route captured (documentation) addresses across stg-gw so
# that tests/tools/stg_replay can send each capture's client packets from
# stg-cli and its server packets from stg-srv. REPLAY_GW4 (default the
# topology's 198.51.100.1) moves stg-gw's client-side IPv4 address first,
# for captures that use 198.51.100.1 as a client (tests/evasion does):
# stg-gw would take such packets as its own (martian source one way, local
# delivery the other).
replay_routes() {
	local gw4=${REPLAY_GW4:-198.51.100.1} l ns v4 v6 r pair fam i
	if [ "$gw4" != 198.51.100.1 ]; then
		nsx stg-gw ip addr del 198.51.100.1/24 dev cli0
		nsx stg-gw ip addr add "$gw4/24" dev cli0
		nsx stg-cli ip route replace 203.0.113.0/24 via "$gw4"
		nsx stg-cli ip route replace 192.0.2.0/30 via "$gw4"
	fi
	# Some captures carry 1448-byte segments over IPv6 (1508-byte datagrams):
	# jumbo links, so every datagram crosses whole as it was captured.
	for l in "stg-cli eth0" "stg-gw cli0" "stg-gw att0" "stg-att gw0" "stg-att srv0" "stg-srv eth0"; do
		set -- $l
		nsx $1 ip link set dev $2 mtu 9000
	done
	# End namespaces: send everything for the doc ranges via the next router
	# and answer nothing (the replayed addresses are not theirs).
	for ns in stg-cli stg-srv; do
		if [ $ns = stg-cli ]; then v4=$gw4 v6=2001:db8:1::1; else v4=203.0.113.1 v6=2001:db8:2::1; fi
		nsx $ns ip route add default via $v4 table 100
		nsx $ns ip -6 route add default via $v6 table 100
		for r in 192.0.2.0/24 198.51.100.0/24 203.0.113.0/24; do
			nsx $ns ip rule add to $r lookup 100 pref 100
		done
		nsx $ns ip -6 rule add to 2001:db8::/32 lookup 100 pref 100
		nsx $ns iptables -w -A INPUT -p tcp -j DROP
		nsx $ns ip6tables -w -A INPUT -p tcp -j DROP
	done
	# Routers: what comes in on one side leaves on the other, whatever the
	# (documentation) destination. Source checks off: sources are replayed.
	nsx stg-gw ip route add default via 192.0.2.2 table 100
	nsx stg-gw ip route add default via 198.51.100.10 table 101
	nsx stg-gw ip -6 route add default via 2001:db8:ff::2 table 100
	nsx stg-gw ip -6 route add default via 2001:db8:1::10 table 101
	nsx stg-att ip route add default via 203.0.113.25 table 100
	nsx stg-att ip route add default via 192.0.2.1 table 101
	nsx stg-att ip -6 route add default via 2001:db8:2::25 table 100
	nsx stg-att ip -6 route add default via 2001:db8:ff::1 table 101
	for pair in "stg-gw cli0 att0" "stg-att gw0 srv0"; do
		set -- $pair
		for fam in -4 -6; do
			nsx $1 ip $fam rule add iif $2 lookup 100 pref 100
			nsx $1 ip $fam rule add iif $3 lookup 101 pref 101
		done
		nsx $1 sysctl -qw net.ipv4.conf.all.rp_filter=0
		for i in $2 $3; do nsx $1 sysctl -qw net.ipv4.conf.$i.rp_filter=0; done
	done
}

nsx() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

# sigs EVE: the sorted "signature action" list of its alerts; flows EVE:
# how many flow events.
sigs() { jq -r 'select(.event_type == "alert") | "\(.alert.signature) \(.alert.action)"' "$1" | LC_ALL=C sort; }
flows() { jq -r 'select(.event_type == "flow") | .flow.verdict' "$1" | wc -l; }

# replay_live NAME PCAP CONF: a fresh gateway with CONF (its EVE in
# $WORK/NAME.live.json, which EVE then names), stg_replay sends PCAP
# through it (gap 1 ms), the gateway stops. Fails the test on any error.
replay_live() {
	local name=$1 pcap=$2 conf=$3
	EVE=$WORK/$name.live.json
	: >"$EVE"
	"$RULES" add "$QUEUES" "$MARK" stg-gw >/dev/null
	: >"$GWLOG"
	spawn stg-gw "$GWLOG" "$BIN" -c "$conf" -q "$QUEUES" -l "$EVE"
	GWPID=$LASTPID
	wait_until 10 grep -q 'queue threads* ready' "$GWLOG" || fail "$name: gateway did not start"
	"$TOOLS/stg_replay" -c stg-cli -s stg-srv -g 1000 "$pcap" 2>"$WORK/replay.log" && cat "$WORK/replay.log" >>"$WORK/replay-all.log" ||
		fail "$name: replay failed"
	grep -q 'send:' "$WORK/replay.log" && fail "$name: $(grep -m1 'send:' "$WORK/replay.log")"
	sleep 0.3
	gw_stop || fail "$name: gateway exit status"
}

[ "$(id -u)" = 0 ] || { echo "integration tests need root"; exit 77; }
[ -x "$BIN" ] || { echo "no $BIN: build first"; exit 1; }
# Private copies: a rebuild in the tree during the run must not swap the
# binaries under a running test.
mkdir -p "$WORK/bin/tools"
# not while a make is writing it: wait until it is 3 s old
for i in $(seq 1 60); do
	[ $(( $(date +%s) - $(stat -c %Y "$BIN") )) -ge 3 ] && break
	sleep 1
done
cp "$BIN" "$WORK/bin/starttls-guard" || fail "copy $BIN"
cp "$TOOLS"/stg_* "$TOOLS"/gen_efflist "$WORK/bin/tools/" || fail "copy $TOOLS"
chmod -R a+rX "$WORK/bin"
BIN=$WORK/bin/starttls-guard
TOOLS=$WORK/bin/tools
