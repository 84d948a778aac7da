/*
 * gw_cluster_stats.h - the counters of the Redis users: the cluster sync
 * thread (gateway/gw_cluster.h) and the EVE-to-Redis output
 * (gateway/gw_eve_redis.h), as the metrics file is given them.
 * Plain data and names; outputs include this, never gw_cluster.h.
 */
#ifndef GATEWAY_OUTPUT_GW_CLUSTER_STATS_H
#define GATEWAY_OUTPUT_GW_CLUSTER_STATS_H

#include <stdint.h>

/* Lag histogram: upper bounds in microseconds, then +Inf. */
#define GW_CLUSTER_LAG_BUCKETS 10
/* Kinds of facts, indexed as enum gw_fact_kind (gw_fact.h): 1 mx, 2 pin,
 * 3 fail; 0 unused. */
#define GW_CLUSTER_KINDS 4

/* Why a remote fact was not applied (metric labels: gw_cluster_refusal_name). */
enum gw_cluster_refusal {
	GW_CL_REF_SYNTAX = 0,   /* not a fact line */
	GW_CL_REF_KIND,         /* unknown version or kind (sts before discovery exists) */
	GW_CL_REF_ADDR,
	GW_CL_REF_NAME,
	GW_CL_REF_TIME,         /* times out of order, too far ahead, lifetime too long */
	GW_CL_REF_KEY,          /* stored under a key that is not its own */
	GW_CL_REF_WEAKER,       /* would lower the policy the server gets here */
	GW_CL_REF_COUNT
};

struct gw_cluster_stats {
	uint64_t published;                  /* facts stored and published */
	uint64_t coalesced;                  /* repeats not republished (see gw_cluster.c) */
	uint64_t batches;                    /* publish round trips */
	uint64_t publish_errors;             /* commands Redis answered with an error */
	uint64_t applied[GW_CLUSTER_KINDS];     /* remote facts applied, by kind */
	uint64_t loaded;                     /* of those, from a (re)sync load */
	uint64_t refused[GW_CL_REF_COUNT];   /* remote values refused, by reason */
	uint64_t expired;                    /* remote facts already past their expiry */
	uint64_t kept_local;                 /* remote MX name not applied: local one as strong */
	uint64_t own;                        /* our own facts echoed back */
	uint64_t dropped;                    /* local facts lost: queue full during an outage */
	uint64_t connects;                   /* successful (re)connections */
	uint64_t outages;                    /* connection losses / failed first connects */
	uint64_t auth_failures;              /* connections refused for credentials */
	uint64_t resyncs;                    /* state loads (start and after each outage) */
	int      up;                         /* connected and subscribed now */
	uint64_t lag_bucket[GW_CLUSTER_LAG_BUCKETS + 1]; /* learned -> applied here, pub/sub facts */
	uint64_t lag_count, lag_sum_us;
};

/* Upper bound (us) of lag bucket i (< GW_CLUSTER_LAG_BUCKETS). */
uint64_t gw_cluster_lag_bound_us(unsigned i);
const char *gw_cluster_refusal_name(enum gw_cluster_refusal r);

/* The EVE-to-Redis output (gateway/gw_eve_redis.h). */
struct gw_eve_redis_stats {
	uint64_t sent;      /* lines Redis took */
	uint64_t dropped;   /* lines lost: queue full (Redis slow or away) or too long */
	uint64_t errors;    /* commands Redis answered with an error */
	uint64_t outages;   /* connections lost or not made */
	int      up;        /* connected now */
};

/* Name of fact kind k (1..GW_CLUSTER_KINDS-1), for metric labels. */
const char *gw_cluster_kind_name(unsigned k);

#endif
