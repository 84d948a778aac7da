/*
 * gw_eve_redis.h - EVE lines to Redis, for SIEM pipelines that read there
 * (outputs.redis), as Suricata's Redis output: RPUSH or LPUSH onto a list,
 * PUBLISH on a channel, or XADD to a stream (field "eve", trimmed to about
 * stream_maxlen entries).
 *
 * The EVE writer hands each line to gw_eve_redis_tee() under its lock; the
 * line is copied into a bounded byte ring and a thread of its own sends
 * the ring's lines in pipelined batches. Redis slow or away: lines beyond
 * the ring are dropped and counted, the EVE file and the packet path never
 * wait; the thread reconnects with backoff and logs once per outage.
 */
#ifndef GATEWAY_GW_EVE_REDIS_H
#define GATEWAY_GW_EVE_REDIS_H

#include <stddef.h>
#include <stdint.h>

#include "gw_redis.h"
#include "gw_cluster_stats.h"

enum gw_eve_redis_mode {
	GW_EVR_RPUSH = 0,   /* "list" / "rpush": oldest first for LPOP/BLPOP readers */
	GW_EVR_LPUSH,       /* "lpush" */
	GW_EVR_PUBLISH,     /* "channel" / "publish" */
	GW_EVR_XADD         /* "stream" / "xadd" */
};

#define GW_EVE_REDIS_KEY_MAX 128
#define GW_EVE_REDIS_QUEUE_DEFAULT (4u << 20)
#define GW_EVE_REDIS_MAXLEN_DEFAULT 100000

struct gw_eve_redis_conf {
	int      enabled;                         /* an outputs.redis section */
	struct gw_redis_conf redis;               /* where, credentials, time limit */
	int      mode;                            /* enum gw_eve_redis_mode */
	char     key[GW_EVE_REDIS_KEY_MAX];       /* list, channel or stream name */
	uint32_t queue_bytes;                     /* ring size */
	uint32_t stream_maxlen;                   /* XADD MAXLEN ~ this */
	unsigned events;                          /* GW_SYSLOG_EV_* style mask: 1 alert, 2 flow, 4 stats */
};

/* "list", "rpush", "lpush", "channel", "publish", "stream", "xadd" -> mode; -1 unknown. */
int gw_eve_redis_mode_parse(const char *s);
const char *gw_eve_redis_mode_name(int mode);
void gw_eve_redis_conf_default(struct gw_eve_redis_conf *c);

struct gw_eve_redis;
/* Start the sender thread (it connects by itself). NULL on memory. */
struct gw_eve_redis *gw_eve_redis_start(const struct gw_eve_redis_conf *c);
/* Send what is queued (waiting up to wait_ms), stop the thread, free. */
void gw_eve_redis_stop(struct gw_eve_redis *r, unsigned wait_ms);

/* eve_tee_fn for eve_set_tee(): copy one line into the ring. */
void gw_eve_redis_tee(void *arg, const char *type, const char *line, size_t len);

void gw_eve_redis_get_stats(struct gw_eve_redis *r, struct gw_eve_redis_stats *st);

#endif
