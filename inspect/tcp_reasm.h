/*
 * tcp_reasm.h - per-direction TCP stream reassembly over a bounded pool.
 *
 * A struct tcp_half (16 bytes, inside the flow) tracks one direction. Data
 * that arrives in order is handed to the deliver callback at once, straight
 * from the packet: no copy. Segments ahead of a hole are copied into chunks
 * of a pool fixed at tcp_pool_new() and delivered when the hole fills.
 * While a direction is inspected it also borrows one chunk that remembers
 * the last TCP_HIST_MAX delivered bytes, so a retransmission that carries
 * different bytes than the first copy is caught (first copy wins, as the
 * receiving stack keeps what it already queued). Nothing allocates after
 * tcp_pool_new(); an exhausted pool is reported, never fatal. No I/O.
 *
 * The caller must call tcp_half_release() before the flow is forgotten, or
 * the chunks it borrowed are lost to the pool.
 */
#ifndef INSPECT_TCP_REASM_H
#define INSPECT_TCP_REASM_H

#include <stddef.h>
#include <stdint.h>

/* Bytes per pool chunk: a full-size Ethernet segment plus room. */
#define TCP_CHUNK_DATA   2048
/* Delivered bytes remembered per inspected direction for conflict checks. */
#define TCP_HIST_MAX     TCP_CHUNK_DATA
/* Out-of-order chunks one direction may hold; SMTP's cleartext phase is a
 * few kilobytes, so more than this is an attack or a broken capture. */
#define TCP_OOO_MAX      16

/* tcp_half.flags */
#define TCP_HALF_ISN     0x01 /* next_seq is known (SYN seen, or first data) */
#define TCP_HALF_FIN     0x02 /* FIN seen */
#define TCP_HALF_RST     0x04 /* RST seen */
#define TCP_HALF_NOHIST  0x08 /* do not keep history (inspection over) */
#define TCP_HALF_HISTLOST 0x10 /* some delivered bytes were not remembered (no chunk) */
#define TCP_HALF_UNVERIFIED 0x20 /* some delivered bytes were taken from held ones (tcp_held_take):
                                    an old retransmission is reported unverified, not ignored */

struct tcp_half {
	uint32_t next_seq;  /* next in-order sequence number expected */
	uint32_t ooo;       /* pool index of the first out-of-order chunk, 0 = none */
	uint32_t hist;      /* pool index of the history chunk, 0 = none */
	uint16_t hist_len;  /* history bytes held; they end at next_seq */
	uint8_t  ooo_n;     /* out-of-order chunks held */
	uint8_t  flags;     /* TCP_HALF_* */
};

/* Result bits of tcp_reasm_push(). */
#define TCP_R_DELIVERED  0x01 /* some bytes reached the callback */
#define TCP_R_OOO        0x02 /* the segment was buffered ahead of a hole */
#define TCP_R_RETRANS    0x04 /* the segment repeated bytes already seen */
#define TCP_R_CONFLICT   0x08 /* ...and some of them differed: first copy kept */
#define TCP_R_LIMIT      0x10 /* out-of-order limit or pool exhausted: bytes lost */
#define TCP_R_OLD        0x20 /* wholly below the window we remember: ignored */
#define TCP_R_UNVERIFIED 0x40 /* repeated delivered bytes that were not remembered
                                 (no chunk was free for history): not checked */

struct tcp_pool;

struct tcp_pool_stats {
	uint32_t chunks;     /* capacity */
	uint32_t in_use;     /* currently borrowed */
	uint64_t exhausted;  /* times a chunk was wanted and none was free */
	uint64_t reclaims;   /* times the reclaim callback was asked for chunks */
};

/* Called when the pool is empty, before a request is refused: give chunks
 * back (e.g. tcp_half_drop_history() on idle directions); returns how many.
 * It must not touch the direction whose push is in progress. */
typedef unsigned (*tcp_reclaim_fn)(void *ctx);

/* Deliver callback: bytes in stream order. Return non-zero to stop
 * delivering (the direction is decided); the rest is dropped silently. */
typedef int (*tcp_deliver_fn)(void *ctx, const uint8_t *data, size_t len);

struct tcp_pool *tcp_pool_new(uint32_t nchunks);
void tcp_pool_free(struct tcp_pool *pool);
void tcp_pool_get_stats(const struct tcp_pool *pool, struct tcp_pool_stats *st);
void tcp_pool_set_reclaim(struct tcp_pool *pool, tcp_reclaim_fn fn, void *ctx);

/* Start a direction at initial sequence number isn (the SYN's seq + 1, or
 * the first data byte's seq on pickup). */
void tcp_half_init(struct tcp_half *h, uint32_t next_seq);

/* Push one segment's payload. Returns TCP_R_* bits. */
int tcp_reasm_push(struct tcp_pool *pool, struct tcp_half *h, uint32_t seq,
    const uint8_t *data, uint32_t len, tcp_deliver_fn deliver, void *ctx);

/* Inline normalization, before tcp_reasm_push() of the same segment:
 * overwrite the bytes of [seq, seq+len) that repeat bytes already
 * delivered (while remembered) or already buffered with those first
 * copies, so a gateway forwards to the receiver exactly what it inspected.
 * Returns the number of bytes changed (0: nothing conflicted). */
uint32_t tcp_reasm_first_copy(const struct tcp_pool *pool, const struct tcp_half *h,
    uint32_t seq, uint8_t *data, uint32_t len);

/* Step over n in-order bytes at next_seq without delivering them (an
 * urgent byte the receiver reads apart), remembering them as delivered. */
void tcp_half_skip(struct tcp_pool *pool, struct tcp_half *h, const uint8_t *p,
    uint32_t n);

/* Give back the direction's history chunk (it keeps its buffered data);
 * its later retransmissions of those bytes report TCP_R_UNVERIFIED.
 * Returns 1 if a chunk was returned. */
int tcp_half_drop_history(struct tcp_pool *pool, struct tcp_half *h);

/* Return every chunk the direction holds (keeps next_seq). Also stops
 * history, so later pushes of a decided flow cost nothing. */
void tcp_half_release(struct tcp_pool *pool, struct tcp_half *h);

/*
 * Bytes held aside unverified: a segment whose checksum is wrong in an
 * offline capture may still be what its receiver took (the capture was
 * made where the NIC fills checksums in later, or GRO merged segments), or
 * a forgery its receiver dropped. Its bytes wait here, never delivered,
 * until the capture settles which: a verified copy of them wins
 * (tcp_held_drop), the receiver's acknowledgment takes them
 * (tcp_held_take). The list (sorted, disjoint, at most TCP_OOO_MAX chunks
 * of the pool) lives wherever the caller keeps it.
 */
struct tcp_held {
	uint32_t head;  /* pool index of the first chunk, 0 = none */
	uint8_t  n;     /* chunks held */
};

/* Hold what of [seq, seq+len) h has neither delivered nor buffered (a
 * verified copy of those exists: it wins). TCP_R_* bits: OOO held,
 * RETRANS|CONFLICT repeats held bytes (with other ones: first kept),
 * LIMIT bytes lost (TCP_OOO_MAX chunks held, or the pool dry), OLD
 * nothing new. */
int tcp_held_add(struct tcp_pool *pool, struct tcp_held *hd, const struct tcp_half *h,
    uint32_t seq, const uint8_t *data, uint32_t len);

/* A verified copy of [seq, seq+len) arrived: the held copy loses. */
void tcp_held_drop(struct tcp_pool *pool, struct tcp_held *hd, uint32_t seq, uint32_t len);

/* The receiver acknowledged the bytes below ack: push the held ones into
 * h as if they arrived now (TCP_R_* of those pushes), and mark h
 * TCP_HALF_UNVERIFIED. Nothing when ack is beyond every byte the direction
 * was seen sending (a receiver drops such an ACK). */
int tcp_held_take(struct tcp_pool *pool, struct tcp_held *hd, struct tcp_half *h, uint32_t ack,
    tcp_deliver_fn deliver, void *ctx);

/* end, or the end of the last held byte when that is beyond it. */
uint32_t tcp_held_end(const struct tcp_pool *pool, const struct tcp_held *hd, uint32_t end);

/* Give the held chunks back. */
void tcp_held_release(struct tcp_pool *pool, struct tcp_held *hd);

/* Is sequence a before b, modulo 2^32? */
static inline int
tcp_seq_lt(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) < 0;
}

#endif
