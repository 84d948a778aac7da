/*
 * flow.h - the bounded flow table: one struct flow per TCP connection.
 *
 * All flows live in one array sized at flow_table_new(); a hash (seeded by
 * the caller, so remote peers cannot aim collisions) finds them, and an LRU
 * list orders them by last activity so the oldest can be evicted or expired.
 * Nothing allocates after creation. A flow is oriented: "client" is the side
 * that sent the SYN (or, on midstream pickup, the side talking to a server
 * port). The table never logs or reads the clock: the caller passes
 * timestamps, and finishes a flow (events, tcp_half_release) before it calls
 * flow_remove().
 */
#ifndef INSPECT_FLOW_H
#define INSPECT_FLOW_H

#include <stddef.h>
#include <stdint.h>

#include "pkt.h"
#include "smtp.h"
#include "tcp_reasm.h"

/* Directions inside a flow. */
#define FLOW_TO_SERVER 0
#define FLOW_TO_CLIENT 1

enum flow_state {
	FLOW_ST_SYN,         /* SYN seen, waiting for data */
	FLOW_ST_INSPECT,     /* following the SMTP cleartext phase */
	FLOW_ST_MIDSTREAM,   /* picked up without a handshake: not inspectable */
	FLOW_ST_DECIDED,     /* inspection over (TLS, plaintext decided, lost): pass */
	FLOW_ST_BLOCKED      /* blocked: drop whatever else arrives */
};

struct flow_key {
	struct pkt_addr caddr;  /* client address */
	struct pkt_addr saddr;  /* server address */
	uint16_t cport, sport;  /* host order */
	uint8_t  af;            /* 4 or 6 */
	uint8_t  pad[3];
};

struct flow {
	struct flow_key key;     /* who talks to whom */
	uint32_t hnext;          /* next index in the hash bucket, 0 = end */
	uint32_t lru_prev;       /* towards newer flows, 0 = none */
	uint32_t lru_next;       /* towards older flows, 0 = none */
	uint32_t last_sec;       /* last activity, whole seconds of the caller's clock */
	uint64_t id;             /* flow_id in EVE events, unique per table */
	uint64_t start_us;       /* first packet, microseconds */
	struct tcp_half half[2]; /* FLOW_TO_SERVER, FLOW_TO_CLIENT */
	uint16_t pkts[2];        /* packets seen per direction (saturating: only the inspected
	                            phase is reported, a handful of packets) */
	uint32_t bytes[2];       /* payload bytes seen per direction */
	uint32_t pol_ref;        /* the owner's reference to the policy that matched */
	uint8_t  pol_source;     /* where that policy came from (owner's enum) */
	uint8_t  state;          /* enum flow_state */
	uint8_t  mode;           /* policy mode in force (owner's enum) */
	uint8_t  ended;          /* FIN/RST seen from: bit 0 client, bit 1 server */
	uint8_t  ttl[2];         /* highest IP TTL / hop limit seen per direction (FLOW_TO_*):
	                            inline, lower ones are raised to it so what is inspected
	                            reaches the receiver */
	uint16_t flags;          /* FLOW_F_* */
	struct smtp smtp;        /* the SMTP dialogue */
};

/* struct flow.flags */
#define FLOW_F_REPORTED 0x01 /* flow summary already written */
#define FLOW_F_BANNER   0x02 /* the greeting's host name was looked up for policy */
#define FLOW_F_NOCSUM_C 0x04 /* the capture shows the client's checksums unfilled (offloaded):
                                a wrong one was taken by the server (tcp_trust.h) */
#define FLOW_F_NOCSUM_S 0x08 /* the same for the server's */
#define FLOW_F_AUTH_C   0x10 /* the client's SYN carried TCP-MD5/AO: the client holds a key */
#define FLOW_F_AUTH_S   0x20 /* the server's SYN-ACK did: the server holds a key */
#define FLOW_F_RESET    0x40 /* an acceptable RST was seen before the decision: kept (not
                                removed) in case it never reached the other end */
#define FLOW_F_GAVEUP   0x80 /* given up before its decision: its policy settles it
                                (gw_engine.c give_up) */
#define FLOW_F_ANYDOMAIN 0x100 /* lost while its policy waited for the recipient domain:
                                 held to the strongest a domain policy asks (enforce) */
/* The handshake as the endpoints took it, and held bytes (tcp_trust.h): */
#define FLOW_T_SYN_BAD    0x0200 /* the first SYN's checksum was wrong (no right copy seen) */
#define FLOW_T_SA_TAKEN   0x0400 /* the server's ISN is taken: later SYN-ACKs change nothing... */
#define FLOW_T_SA_BAD     0x0800 /* ...taken from a wrong-checksum SYN-ACK: until server data, a
                                    right one still replaces it */
#define FLOW_T_SA_PENDING 0x1000 /* a wrong-checksum SYN-ACK waits for the client's ACK: its
                                    seq + 1 is in half[FLOW_TO_CLIENT].next_seq, no TCP_HALF_ISN */
#define FLOW_T_HELD       0x2000 /* the trust table holds unverified bytes of this flow */
#define FLOW_T_ALL        0x3e00

struct flow_table;

struct flow_stats {
	uint32_t capacity;       /* flows the table can hold */
	uint32_t active;         /* flows held now */
	uint64_t created;        /* flows ever created */
	uint64_t evicted;        /* removed to make room */
	uint64_t expired;        /* removed for idleness */
	uint64_t removed;        /* removed because they ended */
};

/* seed: random bytes from the caller. NULL on allocation failure. */
struct flow_table *flow_table_new(uint32_t max_flows, uint64_t seed);
void flow_table_free(struct flow_table *t);

/* Find the flow of a decoded packet; *dir gets FLOW_TO_SERVER or
 * FLOW_TO_CLIENT. NULL when the table has none. */
struct flow *flow_lookup(struct flow_table *t, const struct pkt *p, int *dir);

/* Create a flow with p->src as client. Returns NULL when the table is full:
 * the caller finishes flow_oldest() and removes it, then retries. */
struct flow *flow_create(struct flow_table *t, const struct pkt *p,
    uint64_t ts_us);

/* Mark activity: the flow becomes the newest. */
void flow_touch(struct flow_table *t, struct flow *f, uint64_t ts_us);

/* The least recently active flow, or NULL. */
struct flow *flow_oldest(const struct flow_table *t);
/* The flow active next after f (towards the newest), or NULL. */
struct flow *flow_newer(const struct flow_table *t, const struct flow *f);

/* Forget a flow. why: 0 ended, 1 evicted, 2 expired (for the counters). */
void flow_remove(struct flow_table *t, struct flow *f, int why);

int flow_table_full(const struct flow_table *t);
void flow_table_get_stats(const struct flow_table *t, struct flow_stats *st);

/* The table's symmetric hash of a key under seed (for other tables keyed
 * by connection, such as flow_lost.h). */
uint32_t flow_key_hash(uint64_t seed, const struct flow_key *k);

/* Call fn on each flow, oldest first; fn may not remove flows. */
void flow_table_walk(struct flow_table *t, void (*fn)(void *, struct flow *), void *ctx);

#define FLOW_REMOVE_ENDED   0
#define FLOW_REMOVE_EVICTED 1
#define FLOW_REMOVE_EXPIRED 2

#endif
