#!/bin/bash
# t11_evasion_inline.sh - every tests/evasion/*.pcap through the live gateway.
# integ-timeout: 600   (about 250 s on a loaded two-core machine: some 500
#                       packets of blocked flows cost stg_replay 250 ms each)
#
# As t4 does with the fixtures: stg_replay sends each evasion capture's
# client packets from stg-cli and its server packets from stg-srv, across
# stg-gw where a fresh gateway (tests/evasion/evasion.conf) inspects them
# from NFQUEUE. Per case:
#
#  - the live "signature action" list must equal the committed <case>.expect
#    (and "count verdict" of the flow events <case>.flows when there is one),
#    unless the table INLINE below gives the inline result and why: there
#    the kernel of stg-gw acts before the gateway does;
#  - the packets conntrack marks INVALID in stg-gw are counted (a rule ahead
#    of the gateway's, NFLOG to a capture for the log; such packets have no
#    conntrack entry, so the connmark rules never match them: rules.sh
#    queues them with a rule of their own). The count must be the table's
#    (0 for a case not in it), so the table's claims are checked every run;
#  - what arrives in stg-cli and stg-srv (tcpdump -Q in, both for the whole
#    run) must be the bytes the gateway inspected: every received payload
#    byte equals the first copy of that sequence number in the capture
#    (tests/integ/recv_check.py; first copy wins, as in tcp_reasm), and the
#    losing copy's keyword (column ABSENT) reaches neither end; in a case
#    with a block, no MAIL FROM reaches the server;
#  - fragments (frag4, frag4_*overlap, ipv6_ext_frag): stg-gw's kernel
#    reassembles them (conntrack defrag) before NFQUEUE: the gateway decodes
#    no fragment at all, yet its alerts are the offline ones; IPv4 reassembly
#    is counted by stg-gw's IpReasmOKs; a blocked datagram reaches the
#    client in no fragment (not even those sent before the keyword's); the
#    overlapping copy of frag4_overlap's fragment 2 is dropped by the kernel
#    as a duplicate and never reaches the client, which gets the datagram
#    as the gateway inspected it (refragmented); frag4_partial_overlap's
#    straddling copy makes the kernel discard the whole datagram
#    (IpExtReasmOverlaps), so neither the gateway nor the client gets any
#    of it, only the unfragmented retransmission.
#
#  - issue 20: segments the receiver drops (insert_no_ack, insert_ack_unsent,
#    insert_md5, rst_insertion's MD5 RST) are dropped by the gateway, so the
#    forged bytes reach no end (stats.insert_dropped); insert_ttl's client
#    RST and EHLO, sent with TTL 2, would expire at stg-att, the hop after
#    the gateway: the gateway raises their TTL (stats.ttl_raised) and the
#    server receives both. A case with its own tests/evasion/<case>.conf
#    (pin_never_lowers: default enforce) runs with it, offline and live.
#
# All cases are replayed first, then checked; every failure is listed.
# CASES="frag4 bad_*" replays only those.
. "$(dirname "$0")/lib.sh"

EV=$ROOT/tests/evasion
CONF=$EV/evasion.conf
NFLOG_GROUP=11

# Cases whose inline result differs from -r, or where the kernel acts first.
#   case | inline alerts (";" between, "=" the .expect, empty: none) |
#   packets conntrack marks INVALID | ABSENT: text the receiver must never get | why
INLINE='
bad_checksum|=|1||the forged segment (wrong TCP checksum) is INVALID to conntrack (nf_conntrack_checksum): queued by the INVALID rule, the gateway skips it for its checksum as offline; the MTA drops it
bad_checksum_false_positive|=|1||as bad_checksum: the wrong-checksum stripped reply is queued, skipped, dropped by the MTA
bogus_rst|=|2||both forged RSTs (wrong checksum; sequence 3e6 out of window) are INVALID to conntrack: queued by the INVALID rule, ignored by the gateway (RFC 5961) and by the MTA
out_of_window|=|1||the forged reply 3e6 bytes ahead is out of conntrack'"'"'s window: INVALID, queued by the INVALID rule, ignored by the gateway as offline; the MTA drops it
one_direction_client|=|3||conntrack saw a SYN and no SYN-ACK: the client'"'"'s ACK, EHLO and MAIL are INVALID (SYN_SENT + ACK); the INVALID rule queues them, so the gateway blocks the downgrade as offline (without that rule, asymmetric routing let them pass unseen)
one_direction_server|=|1||the SYN-ACK without a SYN is INVALID (queued, no flow to follow); the rest is picked up midstream (nf_conntrack_tcp_loose): nothing to inspect, as offline
frag4|=|0||conntrack defrag reassembles in stg-gw before NFQUEUE: the gateway gets whole datagrams and drops the whole stripped reply
frag4_overlap|=|0|STARTTLS|the second copy of fragment 2 lies within the first: the kernel drops it as a duplicate (first copy kept, inet_frag_queue_insert IPFRAG_DUP), reassembles the stripped reply the gateway sees, refragments it
frag4_partial_overlap|=|0|STARTTLS|the clean copy of fragment 2 straddles fragments 2 and 3: the kernel discards the whole datagram (IpExtReasmOverlaps); the gateway and the client see only the unfragmented stripped retransmission
ipv6_ext_frag|=|0||nf_conntrack_reasm reassembles the IPv6 fragments (after hop-by-hop and destination options) before NFQUEUE
overlap_first_stripped|=|0|STARTTLS|first copy wins: the conflicting second copy reaches the client rewritten to the first copy'"'"'s bytes
overlap_first_clean|=|0|XXXXXXXX|as overlap_first_stripped, the other way round
retrans_first_stripped|=|0|STARTTLS|the retransmission with other bytes reaches the client rewritten to the first copy'"'"'s
retrans_first_clean|=|0|XXXXXXXX|as retrans_first_stripped, the other way round
insert_no_ack|=|1|garbage|the forged greeting without ACK is INVALID to conntrack (queued by the INVALID rule); the gateway drops it (the client would), inspects the real greeting
insert_ack_unsent|=|1|garbage|the forged greeting acknowledging unsent bytes is INVALID to conntrack (ack beyond the window; queued); the gateway drops it
insert_md5|=|0|garbage|conntrack takes the TCP-MD5 segment; the gateway drops it (the client holds no key), so it reaches nobody
insert_ttl|=|0||the client RST and EHLO left with TTL 2: the gateway raises it (they would die at stg-att) and the server gets both
tfo_syn_data|=|1||the second SYN carries a whole plaintext transaction (TCP Fast Open) and is blocked: dropped, conntrack never confirms its entry, so the SYN-ACK is INVALID (queued, dropped as the blocked flow'"'"'s)
'

row() { echo "$INLINE" | awk -F'|' -v c="$1" '$1 == c'; }
field() { row "$1" | cut -d'|' -f"$2"; }

topo_up
REPLAY_GW4=198.51.100.254 replay_routes

# Count (NFLOG, no verdict) what conntrack marks INVALID, ahead of the
# gateway's rules (rules.sh appends after it).
for t in iptables ip6tables; do
	nsx stg-gw $t -w -t mangle -I FORWARD 1 -m conntrack --ctstate INVALID \
	    -j NFLOG --nflog-group $NFLOG_GROUP
done

# capture NETNS FILE TCPDUMP_ARGS...: for the whole run.
CAPS=""
capture() {
	local ns=$1 f=$2
	shift 2
	spawn "$ns" "$f.log" tcpdump -n -U --immediate-mode -w "$f" "$@"
	CAPS="$CAPS $LASTPID"
	wait_until 10 grep -q 'listening on' "$f.log" || fail "tcpdump in $ns: $(cat "$f.log")"
}
capture stg-cli "$WORK/cli.pcap" -i eth0 -Q in
capture stg-srv "$WORK/srv.pcap" -i eth0 -Q in
capture stg-gw "$WORK/invalid.pcap" -i nflog:$NFLOG_GROUP

# invalid_count: packets the INVALID rule has seen (both families).
invalid_count() {
	local t c s=0
	for t in iptables ip6tables; do
		c=$(nsx stg-gw $t -w -t mangle -L FORWARD 1 -v -x -n | awk '{ print $1 }')
		s=$((s + c))
	done
	echo $s
}
gw_snmp() { nsx stg-gw nstat -asz "$1" | awk -v n="$1" '$1 == n { print $2 }'; }
now() { date +%s.%N; }
gwstat() { jq -r "select(.event_type == \"stats\") | .stats.$2" "$1" | tail -n 1; }
flowlist() {
	jq -r 'select(.event_type == "flow") | .flow.verdict' "$1" | LC_ALL=C sort | uniq -c |
	    awk '{ print $1, $2 }'
}
brief() { if [ -z "$1" ]; then echo "-"; else echo "$1" | uniq -c | awk '{ printf "%s%d %s %s", (NR > 1 ? "; " : ""), $1, $2, $3 }'; fi; }

case_files() {
	local c pats
	read -ra pats <<<"${CASES:-*}"
	for c in "${pats[@]}"; do ls "$EV"/$c.pcap 2>/dev/null; done | LC_ALL=C sort -u
}

# Pass 1: replay every case, remember its window and counters.
n=0
for pcap in $(case_files); do
	name=$(basename "$pcap" .pcap)
	[ -f "$EV/$name.expect" ] || fail "$name: no $name.expect"
	conf=$CONF
	[ -f "$EV/$name.conf" ] && conf=$EV/$name.conf
	"$BIN" -c "$conf" -r "$pcap" -l "$WORK/$name.offline.json" >/dev/null 2>&1 ||
		fail "$name: offline run failed"
	r0=$(gw_snmp IpReasmOKs) o0=$(gw_snmp IpExtReasmOverlaps) f0=$(gw_snmp IpReasmFails)
	i0=$(invalid_count)
	t0=$(now)
	replay_live "$name" "$pcap" "$conf"
	t1=$(now)
	echo "$t0 $t1 $i0 $(invalid_count) $(( $(gw_snmp IpReasmOKs) - r0 )) $(( $(gw_snmp IpExtReasmOverlaps) - o0 ))" \
	    "$(( $(gw_snmp IpReasmFails) - f0 ))" >"$WORK/$name.win"
	log "$name: replayed ($(sed 's/.*pcap: //' "$WORK/replay.log"))"
	n=$((n + 1))
done
sleep 1
for p in $CAPS; do stop_pid "$p"; done

# Pass 2: check.
bad=""
nok() { echo "[$TESTNAME] FAIL: $name: $*"; bad="$bad $name"; }
printf '%s\n' "case|offline alerts|inline alerts|INVALID|received" >"$WORK/table"
for pcap in $(case_files); do
	name=$(basename "$pcap" .pcap)
	read -r t0 t1 i0 i1 reasm overlaps rfails <"$WORK/$name.win"
	live=$(sigs "$WORK/$name.live.json")
	off=$(sigs "$WORK/$name.offline.json")
	want=$(cat "$EV/$name.expect")
	r=$(row "$name")
	why=$(field "$name" 5)
	if [ -n "$r" ] && [ "$(field "$name" 2)" != "=" ]; then
		want=$(field "$name" 2 | tr ';' '\n' | LC_ALL=C sort)
	fi
	[ "$off" = "$(cat "$EV/$name.expect")" ] ||
		log "note: $name: offline alerts differ from $name.expect (tests/run-evasion.sh fails too)"
	if [ "$live" != "$want" ]; then
		echo "--- expected inline:"; echo "$want"; echo "--- live:"; echo "$live"
		nok "live alerts differ from the inline expectation${why:+ ($why)}"
	fi
	if [ -f "$EV/$name.flows" ]; then
		[ "$(flowlist "$WORK/$name.live.json")" = "$(cat "$EV/$name.flows")" ] ||
			nok "flow events live: $(flowlist "$WORK/$name.live.json" | tr '\n' ';'), $name.flows: $(tr '\n' ';' <"$EV/$name.flows")"
	fi
	# conntrack's INVALID packets (queued by the INVALID rule, counted here).
	inv=$((i1 - i0))
	winv=$(field "$name" 3)
	[ "$inv" = 0 ] || log "$name: INVALID to conntrack (queued by their own rule): $(tcpdump -nr "$WORK/invalid.pcap" 2>/dev/null |
	    sed -n "$((i0 + 1)),${i1}p" | cut -d' ' -f2- | cut -c1-110 | tr '\n' ';')"
	[ "$inv" = "${winv:-0}" ] ||
		nok "$inv packet(s) INVALID to conntrack in stg-gw, expected ${winv:-0}: $(tcpdump -nr "$WORK/invalid.pcap" 2>/dev/null |
		    sed -n "$((i0 + 1)),${i1}p" | head -n 5 | tr '\n' ';')"
	# What the ends received: the first copy only, never the ABSENT text.
	# A blocked session's MAIL FROM never reaches the server (every session
	# of a case with a block goes on with MAIL FROM only when not blocked).
	absent=$(field "$name" 4)
	set -- ${absent:+--absent "$absent"}
	case $live in *" blocked"*) set -- "$@" --absent "MAIL FROM" ;; esac
	recv=$(python3 "$ROOT/tests/integ/recv_check.py" "$pcap" "$t0" "$t1" \
	    "$WORK/cli.pcap" "$WORK/srv.pcap" "$@")
	rc=$?
	echo "$recv" >"$WORK/$name.recv"
	[ $rc = 0 ] || nok "the receivers got bytes other than the inspected first copy: $recv"
	summary=$(head -n 1 <<<"$recv")
	segs=$(sed 's/.*segments=\([0-9]*\).*/\1/' <<<"$summary")
	frags=$(sed 's/.* frags=\([0-9]*\).*/\1/' <<<"$summary")
	gfrag=$(gwstat "$WORK/$name.live.json" decode.fragment)
	greasm=$(gwstat "$WORK/$name.live.json" frag_reassembled)
	rewritten=$(gwstat "$WORK/$name.live.json" rewritten)
	gbadcs=$(gwstat "$WORK/$name.live.json" bad_checksum)
	[ "$segs" -gt 0 ] || nok "no data segment reached either end"
	grep -q ' unknown=0 ' <<<"$summary" || nok "bytes the capture never sent reached an end: $summary"
	case $name in
	frag4|ipv6_ext_frag|frag4_overlap|frag4_partial_overlap)
		# the kernel hands the gateway whole datagrams
		[ "$gfrag" = 0 ] && [ "$greasm" = 0 ] ||
			nok "the gateway decoded $gfrag fragment(s), reassembled $greasm: stg-gw's kernel did not reassemble"
		;;
	esac
	case $name in
	frag4)
		[ "$reasm" = 2 ] || nok "IpReasmOKs in stg-gw rose by $reasm, expected 2"
		[ "$frags" = 0 ] || nok "$frags fragment(s) of the blocked replies reached the client" ;;
	ipv6_ext_frag)
		# nf_conntrack_reasm keeps no Ip6Reasm* counters: the gateway's decode says it
		[ "$frags" = 0 ] || nok "$frags fragment(s) of the blocked replies reached the client" ;;
	frag4_overlap)
		[ "$reasm" = 1 ] && [ "$overlaps" = 0 ] && [ "$rfails" = 0 ] ||
			nok "stg-gw: IpReasmOKs +$reasm, IpExtReasmOverlaps +$overlaps, IpReasmFails +$rfails; expected +1, +0, +0 (duplicate dropped, datagram kept)"
		grep -q ' frags=4 datagrams=1 ' <<<"$summary" ||
			nok "the client should get the datagram refragmented, as 4 fragments: $summary" ;;
	frag4_partial_overlap)
		[ "$reasm" = 0 ] && [ "$overlaps" = 1 ] ||
			nok "stg-gw: IpReasmOKs +$reasm, IpExtReasmOverlaps +$overlaps; expected +0, +1 (the whole datagram discarded)"
		[ "$frags" = 0 ] || nok "$frags fragment(s) of the discarded datagram reached the client" ;;
	one_direction_client)
		# SYN, EHLO and MAIL reached the gateway, INVALID to conntrack or
		# not (the fourth packet, a pure ACK, skips the queue: PUREACK=1)
		[ "$(gwstat "$WORK/$name.live.json" packets)" = 3 ] ||
			nok "the gateway saw $(gwstat "$WORK/$name.live.json" packets) packets, expected SYN, EHLO and MAIL" ;;
	insert_no_ack|insert_ack_unsent|insert_md5|rst_insertion)
		[ "$(gwstat "$WORK/$name.live.json" insert_dropped)" = 1 ] ||
			nok "the gateway dropped $(gwstat "$WORK/$name.live.json" insert_dropped) segment(s) the receiver would drop, expected the forged one" ;;
	insert_ttl)
		[ "$(gwstat "$WORK/$name.live.json" ttl_raised)" = 2 ] ||
			nok "the gateway raised the TTL of $(gwstat "$WORK/$name.live.json" ttl_raised) segment(s), expected the client's RST and EHLO"
		# both arrived at the server (each would have died at stg-att);
		# the RST that counts comes before the EHLO (the block's RST after)
		arrived=$(tcpdump -tt -A -nr "$WORK/srv.pcap" 'tcp dst port 25' 2>/dev/null | awk -v a="$t0" -v b="$t1" '
		    /^[0-9]+\.[0-9]+ IP/ { on = ($1 >= a && $1 <= b); if (on && !e && / Flags \[R/) r++; next }
		    on && /EHLO client\.example\.org/ { e++ }
		    END { print r + 0, e + 0 }')
		[ "$arrived" = "1 1" ] ||
			nok "RSTs and EHLOs from the client at the server: $arrived, expected 1 1 (the low-TTL segments must arrive)"
		;;
	bad_checksum|bad_checksum_false_positive)
		[ "$gbadcs" = 1 ] || nok "the gateway saw $gbadcs bad-checksum segment(s), expected the forged one (queued as INVALID)" ;;
	esac
	if grep -q tcp_overlap_conflict "$EV/$name.expect" && [ -z "$absent" ]; then
		nok "a tcp_overlap_conflict case needs its losing keyword in INLINE (ABSENT)"
	fi
	case " $bad " in
	*" $name "*) ;;
	*) ok "$name: $(brief "$live") ${r:+[$why]}" ;;
	esac
	printf '%s|%s|%s|%s|%s\n' "$name" "$(brief "$off")" "$(brief "$live")" "$inv" \
	    "$(sed 's/ unknown=[0-9]*//; s/ frag_conflicts=[0-9]*//' <<<"$summary") rewritten=$rewritten" >>"$WORK/table"
done
echo "--- per case (INVALID: packets conntrack has no entry for, queued by their own rule; received: tcp payload at the ends)"
column -t -s'|' "$WORK/table" 2>/dev/null || cat "$WORK/table"
[ -n "${CASES:-}" ] || check "all $n evasion captures replayed" [ "$n" -ge 27 ]
[ -z "$bad" ] || fail "cases failing:$(echo $bad | tr ' ' '\n' | uniq | tr '\n' ' ')"
