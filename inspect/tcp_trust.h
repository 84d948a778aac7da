/*
 * tcp_trust.h - which segments the endpoints took: the handshake and the
 * trust in TCP checksums, as a normalising IPS follows them.
 *
 * A wrong checksum means the receiver drops the segment, unless the
 * capture was made where checksums are not filled in yet (the sending
 * host's NIC offloads them, GRO merged segments, loopback). Inline the
 * kernel says which (NFQA_SKB_INFO), and a segment with a wrong checksum
 * is simply not inspected. Offline the capture must settle it, segment by
 * segment, without ever letting a forgery win over the real bytes:
 *
 *  - a segment with a right checksum is taken at once, and a held copy of
 *    its bytes (below) loses to it, whichever came first;
 *  - a data segment with a wrong checksum is held aside, never inspected
 *    on arrival, and taken only when its receiver acknowledges its bytes
 *    in a segment trusted itself, before any right copy of them came: a
 *    receiver acknowledges only bytes it took;
 *  - a side whose wrong-checksum bytes were so acknowledged, or whose
 *    wrong-checksum SYN (SYN-ACK) the peer answered, offloads: its later
 *    segments count as acknowledgments, and its FIN/RST end the flow, with
 *    wrong checksums (its data is still held until acknowledged);
 *  - the server's ISN comes from the first SYN-ACK with a right checksum
 *    (later ones change nothing: the client answers them with a challenge
 *    ACK), or from a wrong-checksum one the client acknowledges before a
 *    right one came; the client's ISN from the SYN that SYN-ACK
 *    acknowledges, not from the first SYN seen.
 *
 * Pure code: no I/O, no clock. The held bytes live in chunks of the
 * caller's reassembly pool, listed in a table of at most `slots` flows
 * (only offline captures with offloaded checksums need it). The caller
 * must call tcp_trust_forget() before a flow's chunks are released.
 */
#ifndef INSPECT_TCP_TRUST_H
#define INSPECT_TCP_TRUST_H

#include <stdint.h>

#include "flow.h"
#include "pkt.h"
#include "tcp_reasm.h"

/* Flows holding unverified bytes at once; more are refused (TCP_R_LIMIT). */
#define TCP_TRUST_SLOTS_DEFAULT 256

struct tcp_trust;

struct tcp_trust *tcp_trust_new(uint32_t slots);
void tcp_trust_free(struct tcp_trust *t);

/* The SYN that created f (its client half is set from it). */
void tcp_trust_first_syn(struct flow *f, const struct pkt *p, int csum_ok);

/* A SYN or SYN-ACK of a flow being inspected, checksum checked first:
 * nothing changes for one the endpoints would not take. Returns 1 when a
 * SYN-ACK was taken now (the server's half starts from it). */
int tcp_trust_handshake(struct flow *f, int dir, const struct pkt *p, int csum_ok);

/* May a (non-SYN) segment from dir, with its checksum verdict, change
 * state? A right checksum, or a side that offloads; or, while the SYN-ACK
 * waits, the client's ACK of it in a handshake whose every segment has a
 * wrong checksum (a capture on the one host both ends run on). */
int tcp_trust_segment(const struct flow *f, int dir, const struct pkt *p, int csum_ok);

/* A trusted segment from dir with the ACK flag: the client's ACK takes a
 * waiting SYN-ACK; the other direction's held bytes below p->ack are
 * pushed into its half through deliver (TCP_R_* of those pushes), and that
 * side is then known to offload. */
int tcp_trust_ack(struct tcp_trust *t, struct tcp_pool *pool, struct flow *f, int dir,
    const struct pkt *p, tcp_deliver_fn deliver, void *ctx);

/* A wrong-checksum segment's payload from dir: hold it (tcp_held_add's
 * TCP_R_* bits; TCP_R_LIMIT also when no slot is free). */
int tcp_trust_hold(struct tcp_trust *t, struct tcp_pool *pool, struct flow *f, int dir,
    const struct pkt *p);

/* A right-checksum segment's payload from dir: held copies of it lose. */
void tcp_trust_verified(struct tcp_trust *t, struct tcp_pool *pool, struct flow *f, int dir,
    const struct pkt *p);

/* Where dir's sending is known to reach: its half's next_seq, or beyond
 * when bytes of it are held (an ACK up to there acknowledges bytes sent). */
uint32_t tcp_trust_sent_end(const struct tcp_trust *t, const struct tcp_pool *pool,
    const struct flow *f, int dir);

/* Inspection of f is over: give back what it holds. */
void tcp_trust_forget(struct tcp_trust *t, struct tcp_pool *pool, struct flow *f);

#endif
