/*
 * gw_clq.h - hand-off of learned facts from the packet threads to the
 * cluster sync thread.
 *
 * A packet thread that learns something (a DNS answer, a TLS session, a
 * failed handshake) pushes one fact; the sync thread drains them in
 * batches and publishes them. The packet thread never waits on Redis: a
 * push takes one short mutex for a copy of a fixed-size record (no
 * allocation), only when something was learned -- not per packet -- and
 * writes the eventfd only for an urgent fact that finds no wake-up
 * pending. A
 * full queue (Redis slow or down) drops the new fact and counts it: local
 * enforcement never depends on it.
 */
#ifndef GATEWAY_GW_CLQ_H
#define GATEWAY_GW_CLQ_H

#include <stddef.h>
#include <stdint.h>

#include "gw_fact.h"

struct gw_clq;

struct gw_clq_stats {
	uint64_t pushed;    /* facts queued */
	uint64_t dropped;   /* facts lost: queue full */
};

/* cap facts (1..1M); NULL on memory or eventfd failure. */
struct gw_clq *gw_clq_new(uint32_t cap);
void gw_clq_free(struct gw_clq *q);

/* Readable (eventfd) while facts wait; the drainer reads it. */
int gw_clq_fd(const struct gw_clq *q);

/* Queue a copy of f (packet threads). urgent: wake the drainer now (an MX
 * name or a TLS failure, which the next session through another router
 * may need within milliseconds); else it is taken at the drainer's next
 * wake-up (at most GW_CLQ_LAZY_MS later), which spares a system call per
 * TLS session for pins. */
#define GW_CLQ_LAZY_MS 200
void gw_clq_push(struct gw_clq *q, const struct gw_fact *f, int urgent);

/* Move up to max facts, oldest first, into out; returns how many. */
size_t gw_clq_drain(struct gw_clq *q, struct gw_fact *out, size_t max);

/* Facts waiting now. */
size_t gw_clq_len(struct gw_clq *q);

void gw_clq_get_stats(struct gw_clq *q, struct gw_clq_stats *st);

#endif
