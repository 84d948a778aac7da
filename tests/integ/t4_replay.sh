#!/bin/bash
# t4_replay.sh - every tests/fixtures/*.pcap through the live gateway.
#
# stg_replay sends each capture's client packets from stg-cli and its
# server packets from stg-srv; policy routing (doc ranges only) sends all
# of them across stg-gw, where the gateway (golden.conf policy) inspects
# them as it would real traffic. For each capture, a fresh gateway; then
# the "signature action" list of its alerts must equal that of
# `starttls-guard -c golden.conf -r FILE` on the same file, and the same
# number of flows must be reported. Asserts per file; a file the offline
# run says is clean must be clean live as well. A capture X_7300 (a reply
# held 7300 s, past engine.inspect_timeout) is compared with its X_700:
# stg_replay sends at its own pace, so live the hold never happens and the
# reply is inspected as in X_700 (t19 holds a reply for real, against a
# shortened inspect_timeout). restart_second, the rest of restart_first's
# session, arrives after restart_first's gateway stopped and a fresh one
# started: conntrack kept the "being inspected" mark, so live it is given
# up, as offline with engine.midstream = "lost" (tests/run-golden.sh).
. "$(dirname "$0")/lib.sh"

FIX=$ROOT/tests/fixtures
CONF=$FIX/golden.conf
topo_up

replay_routes

# replay_set DIR CONF: every capture of DIR through a fresh gateway with CONF.
# (Certificates are checked at the capture's time offline and at the wall
# clock live: tests/tls's certificates are valid for a year from 2026-11-28.)
replay_set() {
	local dir=$1 conf=$2 pcap name off live fo fl ref rconf
	for pcap in "$dir"/${FIXTURES:-*}.pcap; do
		[ -f "$pcap" ] || continue
		name=$(basename "$pcap" .pcap)
		ref=$pcap rconf=$conf
		case $name in
		restart_second)
			{ cat "$conf"; echo 'engine = { midstream = "lost"; };'; } >"$WORK/restart.conf"
			rconf=$WORK/restart.conf ;;
		*_7300) ref=$dir/${name%_7300}_700.pcap
			[ -f "$ref" ] || fail "$name: no ${name%_7300}_700.pcap to compare with" ;;
		esac
		"$BIN" -c "$rconf" -r "$ref" -l "$WORK/$name.offline.json" >/dev/null 2>&1 ||
			fail "$name: offline run failed"
		replay_live "$name" "$pcap" "$conf"
		off=$(sigs "$WORK/$name.offline.json")
		live=$(sigs "$EVE")
		if [ "$off" != "$live" ]; then
			echo "--- offline:"; echo "$off"; echo "--- live:"; echo "$live"
			fail "$name: live alerts differ from -r"
		fi
		fo=$(flows "$WORK/$name.offline.json"); fl=$(flows "$EVE")
		[ "$fo" = "$fl" ] || fail "$name: $fl flow events live, $fo offline"
		ok "$name: $(echo "$live" | grep -c . ) alert(s) as offline: $(echo $off | tr '\n' ';')"
		n=$((n + 1))
	done
}

n=0
replay_set "$FIX" "$CONF"
[ -n "${FIXTURES:-}" ] || check "all $n captures replayed" [ "$n" -ge 20 ]
# The domain-policy captures (DNS answers, MTA-STS, EFF, pins, real TLS
# handshakes with wrong names and old versions): the DNS answers cross the
# gateway too (rules.sh DNS=1), so it learns the MX names live. Their EFF
# list is generated here (tests/tools/gen_efflist, as tests/run-policy.sh).
"$TOOLS/gen_efflist" "$WORK/eff.json" >"$WORK/eff.sum" || fail "gen_efflist cannot write a list"
chmod 644 "$WORK/eff.json"
log "EFF list: generated, $(cat "$WORK/eff.sum")"
sed "s|\"EFF_LIST\"|\"$WORK/eff.json\"|" "$FIX/policy/policy.conf" >"$WORK/policy.conf"
m=$n
export DNS=1
replay_set "$FIX/policy" "$WORK/policy.conf"
unset DNS
[ -n "${FIXTURES:-}" ] || check "all $((n - m)) policy captures replayed" [ $((n - m)) -ge 15 ]

