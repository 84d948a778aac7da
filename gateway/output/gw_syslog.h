/*
 * gw_syslog.h - send EVE events as RFC 5424 syslog messages.
 *
 * Our own small sender, since libc syslog(3) speaks neither RFC 5424 nor
 * to remote collectors: a local datagram socket (/dev/log or any unix
 * socket), UDP (RFC 5426, one message per datagram) or TCP (RFC 6587
 * octet counting). Each message is
 *   <PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID [stg@32473 ...] {EVE JSON}
 * with the alert's signature/severity/action also as structured data
 * (32473 is the documentation enterprise number of RFC 5612). Sockets are
 * made and addresses resolved in gw_syslog_open(), before the sandbox; a
 * send never blocks (a slow collector costs messages, counted, never
 * verdicts). Thread-safe.
 */
#ifndef GATEWAY_GW_SYSLOG_H
#define GATEWAY_GW_SYSLOG_H

#include <stddef.h>
#include <stdint.h>

#define GW_SYSLOG_TARGET_MAX 512
#define GW_SYSLOG_APP_MAX    48    /* RFC 5424 APP-NAME */
/* Which events go to syslog (bits of gw_syslog_conf.events). */
#define GW_SYSLOG_EV_ALERT 0x01
#define GW_SYSLOG_EV_FLOW  0x02
#define GW_SYSLOG_EV_STATS 0x04

struct gw_syslog_conf {
	int      enabled;                        /* 0 = no syslog output */
	int      facility;                       /* 0..23 (daemon = 3) */
	char     target[GW_SYSLOG_TARGET_MAX];   /* "local", "unix:/path", "udp://h:p", "tcp://h:p" */
	char     app_name[GW_SYSLOG_APP_MAX + 1];/* APP-NAME */
	unsigned events;                         /* GW_SYSLOG_EV_* */
};

/* What the EVE writer knows of the event besides its JSON. */
struct gw_syslog_meta {
	const char *type;       /* event_type: MSGID */
	int         severity;   /* alert severity 1..3, 0 for other events */
	const char *signature;  /* alert only, else NULL */
	int         blocked;    /* alert only */
	uint64_t    flow_id;    /* 0 = none */
};

struct gw_syslog_stats {
	uint64_t sent;      /* messages handed to the socket */
	uint64_t dropped;   /* not sent: socket full, collector away */
};

struct gw_syslog;

/* Defaults: disabled, facility daemon, target "local", all alerts. */
void gw_syslog_conf_default(struct gw_syslog_conf *c);
/* Parse a facility name ("daemon", "local0", ...). -1 if unknown. */
int gw_syslog_facility(const char *name);
/* Check a target's shape without resolving it. 0, or -1 with err. */
int gw_syslog_check_target(const char *target, char *err, size_t errlen);

/* Resolve the target and make the socket (TCP: connect). NULL with err. */
struct gw_syslog *gw_syslog_open(const struct gw_syslog_conf *c, char *err, size_t errlen);
void gw_syslog_close(struct gw_syslog *s);

/* From now on no new socket may be made (the seccomp sandbox forbids
 * socket(2)): a lost TCP connection is not re-established, its messages
 * are counted as dropped. */
void gw_syslog_no_new_sockets(struct gw_syslog *s);

/* Send one event whose EVE line is json (len bytes, no newline). Events
 * not selected by conf.events are ignored. */
void gw_syslog_send(struct gw_syslog *s, uint64_t ts_us, const struct gw_syslog_meta *m,
    const char *json, size_t len);

void gw_syslog_get_stats(struct gw_syslog *s, struct gw_syslog_stats *st);

/* Format one RFC 5424 message into buf (no framing). Returns its length,
 * or 0 when it does not fit. Exposed for the unit tests. */
size_t gw_syslog_format(char *buf, size_t buflen, int facility, const char *host,
    const char *app, long pid, uint64_t ts_us, const struct gw_syslog_meta *m,
    const char *json, size_t len);

#endif
