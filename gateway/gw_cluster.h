/*
 * gw_cluster.h - share learned facts with the gateways of other routers
 * through Redis (cluster = { redis = "..."; ... }).
 *
 * One sync thread per daemon, never the packet path. The packet threads
 * learn into their local tables as always and push a copy of each new fact
 * to a queue (gw_clq.h); the sync thread drains it in batches, stores each
 * fact under its own key with the fact's expiry (SET .. PXAT, so Redis
 * forgets when the gateways do) and publishes the batch on one pub/sub
 * channel. It subscribes to that channel and applies what other gateways
 * publish to the same local tables the packet threads read (under the
 * locks those tables already have). At start and after every outage it
 * loads the current state (SCAN of the keys) and publishes what was
 * learned meanwhile. Remote facts only raise expectations: a value that
 * does not parse, names another key, is out of date, or would weaken the
 * policy a server gets locally is refused and counted, never applied.
 * Redis down: the gateway works on its local state, logs once per outage,
 * counts it, and reconnects with exponential backoff.
 */
#ifndef GATEWAY_GW_CLUSTER_H
#define GATEWAY_GW_CLUSTER_H

#include <pthread.h>
#include <stdint.h>

#include "gw_fact.h"
#include "output/gw_redis.h"
#include "output/gw_cluster_stats.h"

#define GW_CLUSTER_CHANNEL_MAX 64
/* Facts waiting for the sync thread, by default: a minute of a busy
 * router's learning while Redis is away. */
#define GW_CLUSTER_QUEUE_DEFAULT 8192
#define GW_CLUSTER_TIMEOUT_DEFAULT_MS 1000
#define GW_CLUSTER_BACKOFF_MAX_DEFAULT_MS 30000

struct gw_cluster_conf {
	int      enabled;                         /* a cluster section with a redis URL */
	struct gw_redis_conf redis;               /* where, credentials, time limit */
	char     prefix[GW_FACT_PREFIX_MAX + 1];  /* key prefix, default "stg:" */
	char     channel[GW_CLUSTER_CHANNEL_MAX]; /* pub/sub channel, default <prefix>facts */
	char     id[GW_FACT_ORIGIN_MAX + 1];      /* this gateway, default <hostname>/<pid> */
	uint32_t queue;                           /* facts waiting at most */
	uint32_t backoff_max_ms;                  /* reconnect interval at most */
};

/* What the sync thread reads and writes locally. */
struct gw_names;
struct gw_pins;
struct gw_fallback;
struct pol;
struct gw_cluster_tables {
	struct gw_names    *names;          /* address -> MX name */
	struct gw_pins     *pins;           /* may be NULL */
	struct gw_fallback *fb;             /* recent TLS failures */
	uint32_t            pins_max_age;   /* s */
	uint32_t            fallback_window_s;
	uint8_t             pins_mode;      /* enum pol_mode of pinned servers */
	pthread_mutex_t    *pol_mu;         /* guards *pol (the daemon's reload swaps it) */
	struct pol        **pol;            /* the current policy, read under pol_mu */
};

/* Defaults for a cluster section (not enabled until a URL is set). */
void gw_cluster_conf_default(struct gw_cluster_conf *c);

struct gw_cluster;
/* Build (no thread, no connection yet); NULL on memory. Taps the tables
 * once started: set the queue into gw_names_set_tap / gw_engine_set_cluster. */
struct gw_cluster *gw_cluster_new(const struct gw_cluster_conf *c,
    const struct gw_cluster_tables *t);
/* The queue the packet threads push learned facts to. */
struct gw_clq *gw_cluster_queue(struct gw_cluster *cl);
/* Start the sync thread (it connects, loads, then follows). 0 / -1. */
int gw_cluster_start(struct gw_cluster *cl);
/* Stop and join the thread (publishes nothing more). */
void gw_cluster_stop(struct gw_cluster *cl);
void gw_cluster_free(struct gw_cluster *cl);

void gw_cluster_get_stats(struct gw_cluster *cl, struct gw_cluster_stats *st);

/* Apply one remote fact line now (what the sync thread does with each
 * line it receives; exposed for tests and the benchmark). from_load: it
 * came from a state load, not a live message (no lag sample). Returns 1
 * applied, 0 not (counted by reason). */
int gw_cluster_apply_line(struct gw_cluster *cl, const char *line, size_t len,
    const char *key, size_t klen, int from_load, uint64_t now_us);

#endif
