#!/bin/bash
# t8_sts_fetch.sh - "starttls-guard sts-fetch" against a real DNS server
# (dnsmasq) and real HTTPS servers (openssl s_server) with a test CA, all in
# one network namespace of its own (stg-sts-<pid>) whose only interface is
# its loopback carrying documentation addresses: nothing can leave it.
#
#   192.0.2.53  dnsmasq (the namespace's resolv.conf, via /etc/netns/<ns>/)
#   192.0.2.80  s_server -WWW, certificate for mta-sts.example.net
#   192.0.2.81  s_server -HTTP (files hold whole responses: 404, redirects,
#               chunked...), certificate for mta-sts.hostile.example
#   192.0.2.82  s_server -WWW, certificate for mta-sts.wrong.example
#   192.0.2.83  a listener that never accepts nor speaks (the time limit)
#
# Self-contained (lib.sh builds the stg-* SMTP topology, not needed here);
# traps EXIT to stop what it started (by PID), delete the namespace, its
# /etc/netns entry and the work directory. KEEP=1 keeps the work directory.
set -u

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${BUILD:-build}
case "$BUILD" in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
TESTNAME=$(basename "$0" .sh)
NS=stg-sts-$$
NSETC=/etc/netns/$NS
DNS4=192.0.2.53 WWW4=192.0.2.80 HOST4=192.0.2.81 WRONG4=192.0.2.82 MUTE4=192.0.2.83
PIDS=""
DNSPID=""

log() { echo "[$TESTNAME] $*"; }
ok() { echo "[$TESTNAME]   ok: $*"; }
fail() {
	echo "[$TESTNAME] FAIL: $*"
	[ -f "${OUT:-/nonexistent}" ] && { echo "--- last sts-fetch output"; cat "$OUT"; }
	exit 1
}

[ "$(id -u)" = 0 ] || { echo "[$TESTNAME] needs root"; exit 77; }
for cmd in dnsmasq openssl ip; do
	command -v "$cmd" >/dev/null 2>&1 || { echo "[$TESTNAME] missing $cmd (.ci/install-deps)"; exit 1; }
done
[ -x "$BUILD/starttls-guard" ] || { echo "[$TESTNAME] no $BUILD/starttls-guard: build first"; exit 1; }

WORK=$(mktemp -d /tmp/stg-sts.XXXXXX)
OUT=$WORK/out.txt

cleanup() {
	set +e
	local pid i m
	for pid in $PIDS; do kill -TERM "$pid" 2>/dev/null; done
	for i in 1 2 3 4 5 6 7 8 9 10; do
		m=0
		for pid in $PIDS; do kill -0 "$pid" 2>/dev/null && m=1; done
		[ $m = 0 ] && break
		sleep 0.2
	done
	for pid in $PIDS; do kill -KILL "$pid" 2>/dev/null; done
	ip netns del "$NS" 2>/dev/null
	rm -rf "$NSETC"
	rmdir /etc/netns 2>/dev/null # only when nobody else has an entry
	if [ -n "${KEEP:-}" ]; then echo "[$TESTNAME] work dir kept: $WORK"
	else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A private copy: a rebuild in the tree must not swap the binary mid-test.
cp "$BUILD/starttls-guard" "$WORK/starttls-guard" || fail "copy the binary"
BIN=$WORK/starttls-guard

# --- namespace: loopback only, documentation addresses --------------------
ip netns add "$NS" || fail "ip netns add $NS"
ip netns exec "$NS" ip link set lo up || fail "lo up"
for a in $DNS4 $WWW4 $HOST4 $WRONG4 $MUTE4; do
	ip netns exec "$NS" ip addr add "$a/32" dev lo || fail "address $a"
done
mkdir -p "$NSETC" || fail "mkdir $NSETC"
printf 'nameserver %s\noptions timeout:2 attempts:1\n' "$DNS4" >"$NSETC/resolv.conf"
# No /etc/hosts lookups for our names either: an empty hosts file.
: >"$NSETC/hosts"

# spawn LOG DIR COMMAND...: run in the namespace with DIR as working
# directory; ip netns exec and sh both exec, so $! is the command's PID.
spawn() {
	local out=$1 dir=$2
	shift 2
	ip netns exec "$NS" sh -c 'cd "$0" && exec "$@"' "$dir" "$@" >"$out" 2>&1 &
	LASTPID=$!
	PIDS="$PIDS $LASTPID"
}

# stop PID: TERM and wait; forget it.
stop() {
	kill -TERM "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	PIDS=$(echo "$PIDS" | tr ' ' '\n' | grep -vx "$1" | tr '\n' ' ')
}

# wait_until SECONDS COMMAND...
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

# --- test CA and server certificates ----------------------------------------
pki() {
	local n
	for n in ca other-ca; do
		openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=stg sts-fetch $n" \
		    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
		    -keyout "$WORK/$n.key" -out "$WORK/$n.pem" >/dev/null 2>&1 || return 1
	done
	for n in example.net hostile.example wrong.example; do
		openssl req -new -newkey rsa:2048 -nodes -subj "/CN=mta-sts.$n" \
		    -keyout "$WORK/$n.key" -out "$WORK/$n.csr" >/dev/null 2>&1 || return 1
		printf 'subjectAltName=DNS:mta-sts.%s\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' \
		    "$n" >"$WORK/$n.ext"
		openssl x509 -req -in "$WORK/$n.csr" -CA "$WORK/ca.pem" -CAkey "$WORK/ca.key" \
		    -CAcreateserial -days 2 -extfile "$WORK/$n.ext" -out "$WORK/$n.pem" >/dev/null 2>&1 ||
			return 1
	done
}
pki || fail "test certificates"
CA=$WORK/ca.pem

# --- HTTPS servers ----------------------------------------------------------
WWW=$WORK/www WRONGWWW=$WORK/wrongwww HOSTWWW=$WORK/hostile
mkdir -p "$WWW/.well-known" "$WRONGWWW/.well-known" "$HOSTWWW/.well-known"
POLICY2=$(printf 'version: STSv1\nmode: testing\nmx: mx2.example.net\nmax_age: 86400\n')
printf 'version: STSv1\r\nmode: enforce\r\nmx: mx.example.net\r\nmx: *.mx.example.net\r\nmax_age: 604800\r\n' \
    >"$WWW/.well-known/mta-sts.txt"
cp "$WWW/.well-known/mta-sts.txt" "$WRONGWWW/.well-known/mta-sts.txt"

https_server() { # ADDR MODE DIR CERTNAME
	spawn "$WORK/s_server-$1.log" "$3" openssl s_server -quiet "$2" -accept "$1:443" \
	    -cert "$WORK/$4.pem" -key "$WORK/$4.key"
}
https_server $WWW4 -WWW "$WWW" example.net
https_server $HOST4 -HTTP "$HOSTWWW" hostile.example
https_server $WRONG4 -WWW "$WRONGWWW" wrong.example
# The kernel completes the TCP handshake into the backlog; nobody answers.
spawn "$WORK/mute.log" "$WORK" python3 -c 'import socket, time
s = socket.socket(); s.bind(("'$MUTE4'", 443)); s.listen(8); time.sleep(600)'
listening() { ip netns exec "$NS" ss -ltnH "sport = :443" | grep -c LISTEN | grep -qx 4; }
wait_until 10 listening || fail "s_server did not start: $(cat "$WORK"/s_server-*.log)"

# --- DNS: dnsmasq, restarted with new records per phase ---------------------
dns_ready() { ip netns exec "$NS" ss -lunH "src $DNS4:53" | grep -q .; }
# Hostile domains: TXT records that must not yield a policy, and the host
# whose responses are crafted files.
DNS_COMMON=(
	--txt-record=_mta-sts.hostile.example,"v=STSv1; id=h1"
	--address=/mta-sts.hostile.example/$HOST4
	--txt-record=_mta-sts.twice.example,"v=STSv1; id=a1"
	--txt-record=_mta-sts.twice.example,"v=STSv1; id=a2"
	--address=/mta-sts.twice.example/$WWW4
	--txt-record=_mta-sts.noid.example,"v=STSv1; x=1"
	--address=/mta-sts.noid.example/$WWW4
	--txt-record=_mta-sts.mute.example,"v=STSv1; id=m1"
	--address=/mta-sts.mute.example/$MUTE4
	--txt-record=_mta-sts.spf.example,"v=spf1 -all"
	--address=/mta-sts.spf.example/$WWW4
)
# dns_restart ID ADDRESS: dnsmasq on 192.0.2.53:53 with no configuration
# file, no upstream, NXDOMAIN below example and example.net; the TXT id of
# example.net and the address of mta-sts.example.net change per phase.
dns_restart() {
	[ -n "$DNSPID" ] && stop "$DNSPID"
	DNSPID=""
	spawn "$WORK/dnsmasq.log" "$WORK" dnsmasq --keep-in-foreground --conf-file=/dev/null \
	    --no-resolv --no-hosts --no-poll --pid-file= --user=root \
	    --bind-interfaces --listen-address=$DNS4 --port=53 --log-facility=- --log-queries \
	    --local=/example/ --local=/example.net/ \
	    --txt-record=_mta-sts.example.net,"v=STSv1; id=$1" \
	    --address=/mta-sts.example.net/"$2" "${DNS_COMMON[@]}"
	DNSPID=$LASTPID
	wait_until 10 dns_ready || fail "dnsmasq did not start: $(cat "$WORK/dnsmasq.log")"
}

# fetch ARG...: sts-fetch inside the namespace; output in $OUT, status in $RC.
fetch() {
	ip netns exec "$NS" "$BIN" "$@" >"$OUT" 2>&1
	RC=$?
}
# expect RC PATTERN DESCRIPTION: last fetch exited RC and printed PATTERN.
expect() {
	[ "$RC" = "$1" ] || fail "$3: exit $RC, want $1"
	grep -q -- "$2" "$OUT" || fail "$3: no \"$2\" in the output"
	ok "$3: $(head -n 1 "$OUT")"
}
mtime() { stat -c %y "$1" 2>/dev/null; }

DIR=$WORK/cache
HDIR=$WORK/cache-hostile
mkdir -p "$DIR" "$HDIR"
F=$DIR/example.net.txt

# --- 1. first fetch -----------------------------------------------------------
log "phase 1: fetch"
dns_restart 20261128T000000 $WWW4
fetch sts-fetch -d "$DIR" --ca-file "$CA" example.net
expect 0 '^example.net: fetched (mode enforce, 2 mx, max_age 604800)$' "fetched"
cmp -s "$F" "$WWW/.well-known/mta-sts.txt" || fail "cache file differs from the served policy"
ok "cache file is the policy exactly as served"
[ "$(cat "$DIR/example.net.id")" = 20261128T000000 ] || fail "id sidecar: $(cat "$DIR/example.net.id")"
ok "id sidecar holds the TXT id"
[ "$(ls -A "$DIR" | sort | tr '\n' ' ')" = "example.net.id example.net.txt " ] ||
	fail "stray files in the cache: $(ls -A "$DIR")"
ok "no temporary files left"
M1=$(mtime "$F")

# --- 2. same id: unchanged, file untouched -------------------------------------
fetch sts-fetch -d "$DIR" --ca-file "$CA" example.net
expect 0 '^example.net: unchanged (id 20261128T000000)$' "same id"
[ "$(mtime "$F")" = "$M1" ] || fail "unchanged policy was rewritten"
ok "cache file untouched (mtime $M1)"

# --- 3. new id: fetched again ------------------------------------------------------
log "phase 3: new id"
printf '%s\n' "$POLICY2" >"$WWW/.well-known/mta-sts.txt"
dns_restart 20261129T000000 $WWW4
fetch sts-fetch -d "$DIR" --ca-file "$CA" example.net
expect 0 '^example.net: fetched (mode testing, 1 mx, max_age 86400)$' "id changed"
cmp -s "$F" "$WWW/.well-known/mta-sts.txt" || fail "cache file is not the new policy"
[ "$(cat "$DIR/example.net.id")" = 20261129T000000 ] || fail "id sidecar not updated"
ok "cache holds the new policy and id"
M2=$(mtime "$F")
cp "$F" "$WORK/policy-in-force"

# --- 4. certificate for another name, or from an unknown CA: refused ---------------
log "phase 4: wrong certificate"
dns_restart 20261130T000000 $WRONG4
fetch sts-fetch -d "$DIR" --ca-file "$CA" example.net
expect 1 '^example.net: https://mta-sts.example.net/.well-known/mta-sts.txt: certificate verify failed: .*\[tls_certificate\]$' \
    "certificate for mta-sts.wrong.example"
dns_restart 20261130T000000 $WWW4
fetch sts-fetch -d "$DIR" --ca-file "$WORK/other-ca.pem" example.net
expect 1 'certificate verify failed: .*unable to get local issuer certificate.*\[tls_certificate\]' "certificate from an unknown CA"
[ "$(mtime "$F")" = "$M2" ] && cmp -s "$F" "$WORK/policy-in-force" &&
    [ "$(cat "$DIR/example.net.id")" = 20261129T000000 ] || fail "a refused fetch touched the cache"
ok "cache untouched by refused fetches"

# --- 5. no policy in DNS ---------------------------------------------------------
log "phase 5: TXT records"
fetch sts-fetch -d "$HDIR" --ca-file "$CA" nopolicy.example
expect 1 '^nopolicy.example: no _mta-sts TXT record.*(no MTA-STS policy)' "no TXT record"
fetch sts-fetch -d "$HDIR" --ca-file "$CA" spf.example
expect 1 'no v=STSv1 TXT record (no MTA-STS policy)' "only a foreign TXT record"
fetch sts-fetch -d "$HDIR" --ca-file "$CA" twice.example
expect 1 '2 v=STSv1 TXT records.*\[txt_invalid\]' "two STSv1 records"
fetch sts-fetch -d "$HDIR" --ca-file "$CA" noid.example
expect 1 'TXT record: no id \[txt_invalid\]' "STSv1 record without id"

# --- 6. hostile HTTP answers (s_server -HTTP sends each file as is) ---------------
log "phase 6: HTTP answers"
HF=$HOSTWWW/.well-known/mta-sts.txt
# respond HEAD-LINES BODY: a whole response with a correct Content-Length.
respond() {
	printf '%s\r\nContent-Length: %d\r\n\r\n%s' "$1" "$(printf '%s' "$2" | wc -c)" "$2" >"$HF"
}
GOODBODY=$(printf 'version: STSv1\nmode: enforce\nmx: mx.hostile.example\nmax_age: 3600\n')

respond $'HTTP/1.1 404 Not Found\r\nContent-Type: text/plain' 'not here'
fetch sts-fetch -d "$HDIR" --ca-file "$CA" hostile.example
expect 1 'HTTP/1.1 404 Not Found (want HTTP 200) \[http_status\]' "HTTP 404"

respond $'HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8' '<html><body>It works!</body></html>'
fetch sts-fetch -d "$HDIR" --ca-file "$CA" hostile.example
expect 1 'not a policy: line 1.*\[bad_policy\]' "body that is not a policy"

respond $'HTTP/1.1 301 Moved Permanently\r\nLocation: https://mta-sts.example.net/.well-known/mta-sts.txt\r\nContent-Type: text/plain' "$GOODBODY"
fetch sts-fetch -d "$HDIR" --ca-file "$CA" hostile.example
expect 1 'HTTP 301 redirect to https://mta-sts.example.net/.well-known/mta-sts.txt not followed.*\[redirect\]' "redirect"

respond $'HTTP/1.1 200 OK\r\nContent-Type: text/html' "$GOODBODY"
fetch sts-fetch -d "$HDIR" --ca-file "$CA" hostile.example
expect 1 'Content-Type "text/html", want text/plain.*\[content_type\]' "wrong Content-Type"

printf 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 70000\r\n\r\n%s' "$GOODBODY" >"$HF"
fetch sts-fetch -d "$HDIR" --ca-file "$CA" hostile.example
expect 1 'body of 70000 bytes, more than 65536 \[too_big\]' "body over 64 KiB"

printf 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 500\r\n\r\n%s' "$GOODBODY" >"$HF"
fetch sts-fetch -d "$HDIR" --ca-file "$CA" hostile.example
expect 1 'body cut after.*\[truncated\]' "body shorter than Content-Length"

printf 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: gzip\r\n\r\nxx' >"$HF"
fetch sts-fetch -d "$HDIR" --ca-file "$CA" hostile.example
expect 1 '\[bad_http\]\|\[bad_policy\]' "unsupported transfer coding"

printf 'garbage\r\n\r\n' >"$HF"
fetch sts-fetch -d "$HDIR" --ca-file "$CA" hostile.example
expect 1 '\[bad_http\]' "no status line"
[ -z "$(ls -A "$HDIR")" ] || fail "refused fetches wrote into the cache: $(ls -A "$HDIR")"
ok "nothing cached for refused answers"

# a server that never answers: the time limit (10 s) ends the attempt
T0=$(date +%s)
fetch sts-fetch -d "$HDIR" --ca-file "$CA" mute.example
T1=$(date +%s)
expect 1 'timed out.*\[timeout\]' "silent server"
[ $((T1 - T0)) -le 15 ] || fail "silent server took $((T1 - T0)) s"
ok "gave up after $((T1 - T0)) s"

# chunked transfer coding is decoded
{
	printf 'HTTP/1.1 200 OK\r\nContent-Type: TEXT/plain\r\nTransfer-Encoding: chunked\r\n\r\n'
	printf '%s' "$GOODBODY" | head -c 20 | { b=$(cat); printf '%x;ext=1\r\n%s\r\n' "${#b}" "$b"; }
	printf '%s' "$GOODBODY" | tail -c +21 | { b=$(cat); printf '%x\r\n%s\n\r\n' $(( ${#b} + 1 )) "$b"; }
	printf '0\r\nX-Trailer: 1\r\n\r\n'
} >"$HF"
fetch sts-fetch -d "$HDIR" --ca-file "$CA" hostile.example
expect 0 '^hostile.example: fetched (mode enforce, 1 mx, max_age 3600)$' "chunked response"
printf '%s\n' "$GOODBODY" | cmp -s - "$HDIR/hostile.example.txt" || fail "chunked body decoded wrongly"
ok "chunked body decoded exactly"

# several domains at once: exit 1 when one fails, every domain reported
fetch sts-fetch -d "$HDIR" --ca-file "$CA" hostile.example nopolicy.example 'bad/name'
[ "$RC" = 1 ] && grep -q '^hostile.example: unchanged' "$OUT" && grep -q '^nopolicy.example: no' "$OUT" &&
    grep -q '^bad/name: not a domain name' "$OUT" || fail "several domains"
ok "several domains: one line each, exit 1"

# --- 7. the gateway loads the cache; DIR and CA from the configuration ----------
log "phase 7: configuration"
CONF=$WORK/stg.conf
cat >"$CONF" <<CONF
policy = {
  default = { mode = "testing"; };
  mta_sts_dir = "$DIR";
  ca_file = "$CA";
};
CONF
fetch -c "$CONF" sts-fetch example.net
expect 0 '^example.net: unchanged (id 20261130T000000)$\|^example.net: fetched' "-c FILE: cache dir and CA from the configuration"
fetch -c "$CONF" -t
expect 0 '1 MTA-STS' "the gateway loads the fetched policy (-t)"
fetch sts-fetch example.net
expect 2 '-d DIR' "no directory: usage error"

log "all passed"
exit 0
