/*
 * gw_eve.h - EVE JSON lines for the SIEM: alert, flow and stats events.
 *
 * One JSON object per line, Suricata-EVE shaped (DESIGN.md "Findings").
 * Every wire byte that reaches a string (banner, HELO name, reasons) is
 * escaped: control characters as \u00XX, invalid UTF-8 bytes as \u00XX of
 * the byte (Latin-1 reading), so the line is always valid JSON and valid
 * UTF-8. Each event is built in a buffer and written with one write(), under
 * a lock, so lines from several threads never interleave and none is lost
 * half-way.
 */
#ifndef GATEWAY_GW_EVE_H
#define GATEWAY_GW_EVE_H

#include <stddef.h>
#include <stdint.h>

#include "../../inspect/finding.h"
#include "../../inspect/flow.h"
#include "../../policy/pol.h"

struct eve;
struct gw_stats;

/* path "-" is standard output. NULL with errno set on failure. */
struct eve *eve_open(const char *path);
/* Reopen the same path (logrotate, SIGHUP). 0 or -1 with errno. */
int eve_reopen(struct eve *ev);
/* A writer with no file (eve output disabled): only the syslog tee. */
struct eve *eve_open_none(void);
/* Also send every event to sl (gw_syslog.h), which must outlive ev. */
struct gw_syslog;
void eve_set_syslog(struct eve *ev, struct gw_syslog *sl);
/* Also hand every line (without its newline) to fn, under the writer's
 * lock: fn must only copy it somewhere and return (gw_eve_redis.h queues
 * it for Redis). type is the event_type. NULL = none. */
typedef void (*eve_tee_fn)(void *arg, const char *type, const char *line, size_t len);
void eve_set_tee(struct eve *ev, eve_tee_fn fn, void *arg);
void eve_close(struct eve *ev);

/* One alert. blocked: the gateway dropped/reset (or, offline, would have). */
void eve_alert(struct eve *ev, uint64_t ts_us, const struct flow *f,
    enum sig sig, const char *reason, int blocked, const struct pol_match *pm);

/* The same for a finding that may carry its own severity and TLS-RPT
 * result type; tls (may be NULL) adds the handshake's facts. */
struct gw_tls_facts;
void eve_alert_finding(struct eve *ev, uint64_t ts_us, const struct flow *f,
    const struct finding *fd, int blocked, const struct pol_match *pm,
    const struct gw_tls_facts *tls);

/* One summary per finished SMTP session. verdict: "tls", "plaintext",
 * "blocked", "tls_failed", "not_inspected", "incomplete". */
void eve_flow(struct eve *ev, uint64_t ts_us, const struct flow *f,
    const char *verdict, const struct pol_match *pm);
/* The same with the TLS handshake's facts (tls may be NULL). */
void eve_flow_tls(struct eve *ev, uint64_t ts_us, const struct flow *f,
    const char *verdict, const struct pol_match *pm, const struct gw_tls_facts *tls);

/* Counters of a run (end of offline run, SIGUSR1). */
void eve_stats(struct eve *ev, uint64_t ts_us, const struct gw_stats *st);

/* Escape bytes as a JSON string body into dst (always NUL-terminated, cut
 * at a character boundary if dst is short). Returns the length written.
 * Exposed for the unit tests. */
size_t eve_escape(char *dst, size_t dstlen, const uint8_t *src, size_t srclen);

#endif
