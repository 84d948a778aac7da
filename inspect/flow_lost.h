/*
 * flow_lost.h - a bounded memory of connections whose inspection state was
 * lost before their decision (idle expiry, eviction from a full table), or
 * whose blocked state was.
 *
 * The flow table forgets such a flow to make room or because it went
 * silent; this memory keeps only its key, so that a later packet of the
 * same connection is known to be lost, not new, and is handled by policy
 * (gw_engine.c, "giving up") instead of passing as an unseen midstream
 * pickup. Inline the conntrack "being inspected" mark says the same and
 * also survives a daemon restart; offline this memory is all there is.
 * Fixed size (a power of two at least as large as asked), nothing
 * allocated after creation; when the probed slots are full the entry lost
 * longest ago is overwritten, one without FLOW_LOST_F_KEEP first: a flood
 * of sessions nobody expects TLS from cannot push out the one an attacker
 * is after. No I/O, no clock: the caller passes seconds.
 */
#ifndef INSPECT_FLOW_LOST_H
#define INSPECT_FLOW_LOST_H

#include <stddef.h>
#include <stdint.h>

#include "flow.h"

/* Why a connection's state was lost. */
#define FLOW_LOST_EXPIRED 1   /* idle beyond the inspecting idle limit */
#define FLOW_LOST_EVICTED 2   /* evicted from a full flow table */

/* What was already done about it. */
#define FLOW_LOST_F_REPORTED 0x01 /* an alert was written for it already */
#define FLOW_LOST_F_BLOCKED  0x02 /* it was blocked: whatever comes later is dropped */
#define FLOW_LOST_F_DEFER    0x04 /* its policy was waiting for the recipient domain */
#define FLOW_LOST_F_KEEP     0x08 /* its policy expected TLS (or it was blocked): kept
                                     before entries without, when room runs out */

struct flow_lost_entry {
	struct flow_key key;  /* the connection, oriented client -> server */
	uint32_t sec;         /* its last activity before the loss (caller's seconds) */
	uint32_t pol_ref;     /* the policy it had (struct flow's pol_ref, pol_source, mode):
	                         what it learned (a greeting's MX name) is not lost with it */
	uint8_t  pol_source;
	uint8_t  mode;
	uint8_t  why;         /* FLOW_LOST_*, 0 = free slot */
	uint8_t  flags;       /* FLOW_LOST_F_* */
};

struct flow_lost;

/* cap: entries wanted (rounded up to a power of two); seed: random bytes.
 * NULL on allocation failure or cap 0. */
struct flow_lost *flow_lost_new(uint32_t cap, uint64_t seed);
void flow_lost_free(struct flow_lost *l);

/* Remember a lost connection from what e holds (key, sec, policy, why,
 * flags), replacing an older entry for the same key. */
void flow_lost_add(struct flow_lost *l, const struct flow_lost_entry *e);

/* Look a connection up and forget it: 1 and *e filled when it was lost,
 * 0 when not remembered. e may be NULL (only forget). */
int flow_lost_take(struct flow_lost *l, const struct flow_key *k, struct flow_lost_entry *e);

/* Entries held now, and the bytes the memory takes. */
uint32_t flow_lost_count(const struct flow_lost *l);
size_t flow_lost_bytes(const struct flow_lost *l);

#endif
