#!/bin/sh
# rules.sh - the gateway's netfilter rules: queue port-25 TCP to
# starttls-guard until its connection carries the bypass connmark.
#
#   rules.sh add|del QUEUES MARK [NETNS]     rules.sh show [NETNS]
#
# QUEUES is 0 (--queue-num 0) or 0-3 (--queue-balance 0:3, one connection
# stays on one queue). MARK is the bypass bit (nfqueue.bypass_mark, default
# 0x10000). NETNS defaults to stg-gw; "-" means the current namespace (an
# operator's router). PORTS (environment, default "25") lists the SMTP ports.
# PUREACK=0 (environment) queues pure ACKs too (by default they skip the
# queue: they carry nothing to inspect).
# IMARK (environment, default 0x20000) is the "being inspected" bit
# (nfqueue.inspect_mark); 0 leaves it out.
# DNS=1 (environment) also queues DNS answers (UDP and TCP source port 53) so the
# gateway learns which MX name each server address was looked up as; they
# are always accepted, never held.
#
# mangle FORWARD:     pure ACKs (flags exactly ACK, no payload: the u32 match checks
#                     the IP length against the header lengths, for TCP headers of 20
#                     and 32 bytes) -j RETURN: nothing in them to inspect
#                     -p tcp --dport 25 --tcp-flags SYN,ACK,RST,FIN SYN
#                       -j CONNMARK --set-xmark 0/M|I: a SYN starts a connection anew.
#                       Conntrack keeps an entry (and its mark) when a SYN reuses
#                       the 4-tuple of one it still believes open (NAT, port reuse:
#                       the old FIN/RST were bypassed, or never came): without this
#                       the new connection would pass bypassed with the old one
#                     -p tcp --dport/--sport 25 -j CONNMARK --restore-mark
#                       --nfmask I --ctmask I: the gateway reads "being inspected"
#                       from the packet mark
#                     -p tcp --dport 25 -m connmark ! --mark M/M -j NFQUEUE --queue-bypass ...
#                     -p tcp --sport 25 -m connmark ! --mark M/M -j NFQUEUE --queue-bypass ...
#                     -p tcp --dport/--sport 25 -m conntrack --ctstate INVALID,UNTRACKED
#                       -j NFQUEUE --queue-bypass ...  (no conntrack entry: connmark
#                       never matches them, yet the MTA may accept them)
# mangle POSTROUTING: -m mark --mark M/M -j CONNMARK --save-mark --nfmask M --ctmask M
#                     -m mark --mark I/I -j CONNMARK --save-mark --nfmask I --ctmask I
#
# The gateway writes the bit into the conntrack mark in its verdict (NFQA_CT)
# where the kernel supports that (CONFIG_NETFILTER_NETLINK_GLUE_CT), and
# always into the packet mark; the POSTROUTING rule copies the packet mark's
# bit into the connmark, so bypass works on either kernel. The same for the
# "being inspected" bit I, written when a connection's inspection starts
# (its SYN): a later packet of a connection whose state the gateway lost
# (idle, evicted, or the daemon restarted) arrives with I in its packet
# mark and is handled as lost, not taken for a new midstream connection. --queue-bypass:
# with no gateway attached, packets pass (fail-open). Idempotent: add checks
# each rule with -C first, del removes every copy.
set -eu

usage() { echo "usage: $0 add|del QUEUES MARK [NETNS] | show [NETNS]" >&2; exit 2; }
[ $# -ge 1 ] || usage
if [ "$1" = show ]; then
	netns=${2:-stg-gw}
	for tool in iptables ip6tables; do
		if [ "$netns" = "-" ]; then $tool -w -t mangle -S
		else ip netns exec "$netns" $tool -w -t mangle -S; fi
	done
	exit 0
fi
[ $# -ge 3 ] || usage
op=$1; queues=$2; mark=$3; netns=${4:-stg-gw}
PORTS=${PORTS:-25}
imark=${IMARK:-0x20000}

case "$queues" in
*-*) qa=${queues%-*}; qb=${queues#*-}; qspec="--queue-balance $qa:$qb" ;;
*)   qspec="--queue-num $queues" ;;
esac
for m in "$mark" "$imark"; do
	case "$m" in
	0x*|[0-9]*) ;;
	*) usage ;;
	esac
done
both=$(printf '0x%x' $((mark | imark)))

run() {
	if [ "$netns" = "-" ]; then "$@"; else ip netns exec "$netns" "$@"; fi
}

# rule TOOL CHAIN ARGS...: apply $op to one mangle rule.
rule() {
	tool=$1; shift
	chain=$1; shift
	case "$op" in
	add)
		run "$tool" -w -t mangle -C "$chain" "$@" 2>/dev/null ||
			run "$tool" -w -t mangle -A "$chain" "$@" ;;
	del)
		while run "$tool" -w -t mangle -C "$chain" "$@" 2>/dev/null; do
			run "$tool" -w -t mangle -D "$chain" "$@"
		done ;;
	esac
}

case "$op" in
add|del) ;;
*) usage ;;
esac

# pure_ack TOOL PORT-MATCH: pure ACKs of that port skip the queue. The
# u32 tests are exact (IP header 20 bytes / IPv6 without extension
# headers, total length = headers only), so a segment with even one byte
# of payload is still queued: nothing an attacker sends can slip past.
pure_ack() {
	tool=$1; shift
	for doff in 5 8; do
		hl=$((doff * 4))
		if [ "$tool" = iptables ]; then
			u="0>>24&0xF=5&&0&0xFFFF=$((20 + hl))&&32>>28=$doff"
		else
			u="4>>16=$hl&&4>>8&0xFF=6&&52>>28=$doff"
		fi
		rule "$tool" FORWARD -p tcp "$@" --tcp-flags ALL ACK -m u32 --u32 "$u" -j RETURN
	done
}

for tool in iptables ip6tables; do
	if [ "${PUREACK:-1}" = 1 ] || [ "$op" = del ]; then
		for port in $PORTS; do
			pure_ack $tool --dport "$port"
			pure_ack $tool --sport "$port"
		done
	fi
	for port in $PORTS; do
		rule $tool FORWARD -p tcp --dport "$port" --tcp-flags SYN,ACK,RST,FIN SYN \
			-j CONNMARK --set-xmark "0x0/$both"
		if [ $((imark)) -ne 0 ]; then
			for dir in --dport --sport; do
				rule $tool FORWARD -p tcp $dir "$port" \
					-j CONNMARK --restore-mark --nfmask "$imark" --ctmask "$imark"
			done
		fi
		# shellcheck disable=SC2086
		rule $tool FORWARD -p tcp --dport "$port" -m connmark ! --mark "$mark/$mark" \
			-j NFQUEUE --queue-bypass $qspec
		# shellcheck disable=SC2086
		rule $tool FORWARD -p tcp --sport "$port" -m connmark ! --mark "$mark/$mark" \
			-j NFQUEUE --queue-bypass $qspec
		# Packets conntrack has no entry for (INVALID: e.g. one direction
		# only, with asymmetric routing; a bad checksum; out of window)
		# never match connmark: queue them too, so the gateway sees what
		# the MTA may accept, as it does offline.
		for dir in --dport --sport; do
			# shellcheck disable=SC2086
			rule $tool FORWARD -p tcp $dir "$port" -m conntrack --ctstate INVALID,UNTRACKED \
				-j NFQUEUE --queue-bypass $qspec
		done
	done
	if [ "${DNS:-0}" = 1 ] || [ "$op" = del ]; then
		# (over TCP too: a resolver retries there after a truncated UDP
		# answer, which an on-path attacker can force)
		for proto in udp tcp; do
			# shellcheck disable=SC2086
			rule $tool FORWARD -p $proto --sport 53 -j NFQUEUE --queue-bypass $qspec
		done
	fi
	rule $tool POSTROUTING -m mark --mark "$mark/$mark" \
		-j CONNMARK --save-mark --nfmask "$mark" --ctmask "$mark"
	if [ $((imark)) -ne 0 ]; then
		rule $tool POSTROUTING -m mark --mark "$imark/$imark" \
			-j CONNMARK --save-mark --nfmask "$imark" --ctmask "$imark"
	fi
done
