/*
 * gw_redis.h - the few Redis operations starttls-guard needs (hiredis).
 *
 * The only file that includes hiredis. One struct gw_redis is one blocking
 * connection with a time limit on every operation (connect, each reply),
 * authenticated (requirepass or an ACL user) before it is handed out. Used
 * off the packet path only: by the cluster sync thread (gw_cluster.h) and
 * the EVE-to-Redis output. TLS: Debian 12's hiredis (0.14) has no TLS, so
 * a URL asking for it (rediss://) is refused with a message saying so;
 * reach a remote Redis over TLS through a local tunnel (stunnel, spiped)
 * on a unix socket or loopback port.
 *
 * URLs: "tcp://host:port", "redis://host:port", "host:port", "host"
 * (port 6379), "[v6addr]:port", "unix:/path" or "/path".
 */
#ifndef GATEWAY_GW_REDIS_H
#define GATEWAY_GW_REDIS_H

#include <stddef.h>
#include <stdint.h>

#define GW_REDIS_URL_MAX  256
#define GW_REDIS_USER_MAX 64
#define GW_REDIS_PASS_MAX 256

struct gw_redis_conf {
	char     url[GW_REDIS_URL_MAX];       /* where (see above) */
	char     user[GW_REDIS_USER_MAX];     /* ACL user, "" = default user */
	char     password[GW_REDIS_PASS_MAX]; /* "" = no AUTH */
	uint32_t timeout_ms;                  /* connect and each reply */
};

struct gw_redis;

/* Does url parse? 0, or -1 with err. */
int gw_redis_url_check(const char *url, char *err, size_t errlen);

/* Connect and authenticate. NULL with err; *auth_refused (may be NULL)
 * set when the server refused the credentials (or asked for some). */
struct gw_redis *gw_redis_connect(const struct gw_redis_conf *c, char *err, size_t errlen,
    int *auth_refused);
void gw_redis_close(struct gw_redis *r);

/* The socket, for poll() (subscribed connections). */
int gw_redis_fd(const struct gw_redis *r);

/* Queue one command (argc words of given lengths) without waiting. */
int gw_redis_append(struct gw_redis *r, int argc, const char **argv, const size_t *lens);
/* Read n replies of queued commands: 0 when all were not errors, 1 when
 * some were error replies (*errors counts them, err holds the first), -1
 * when the connection failed (err says why; the connection is unusable). */
int gw_redis_collect(struct gw_redis *r, unsigned n, unsigned *errors, char *err, size_t errlen);

/* Walk the string values of the keys matching pattern (SCAN + MGET, in
 * batches); cb gets key and value (not NUL-terminated); a non-zero return
 * stops the walk. Keys whose value vanished or is not a string are skipped
 * and counted in *skipped. 0, or -1 (connection failed, err). */
typedef int (*gw_redis_kv_cb)(const char *key, size_t klen, const char *val, size_t vlen,
    void *arg);
int gw_redis_scan_values(struct gw_redis *r, const char *pattern, gw_redis_kv_cb cb, void *arg,
    uint64_t *skipped, char *err, size_t errlen);

/* Subscribe to channel (the connection then only receives). 0 / -1. */
int gw_redis_subscribe(struct gw_redis *r, const char *channel, char *err, size_t errlen);
/* After poll() said readable: read what came and hand each message's
 * payload to cb. Returns the number of messages, or -1 (connection lost). */
typedef void (*gw_redis_msg_cb)(const char *payload, size_t len, void *arg);
int gw_redis_read_messages(struct gw_redis *r, gw_redis_msg_cb cb, void *arg,
    char *err, size_t errlen);

#endif
