/*
 * gw_eve.c - write alert, flow and stats events as Suricata-style EVE lines.
 *
 * Each event is built in a buffer on the stack (no allocation per event),
 * every wire byte escaped by eve_escape() and every string cut to a fixed
 * size first, so the worst case always fits; then the line goes out with
 * one write() under a mutex, so lines of several engine threads never
 * interleave. The caller must not hold pointers into flows across events:
 * everything is copied here. eve_reopen() serves logrotate/SIGHUP. An
 * optional syslog tee (gw_syslog.h) gets each line too, under the same lock.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "gw_stats.h"
#include "gw_eve.h"
#include "gw_syslog.h"
#include "../gw_tls.h"

/* One event line: the worst alert (escaped reason, banner, HELO, match) is
 * about 2.5 KiB and a stats event about 2 KiB; 8 KiB leaves room. */
#define EVE_LINE_MAX   8192
/* Longest reason we copy: FINDING_REASON_MAX bytes, each escaped to at most
 * 6 ("\u00XX"), and the NUL. */
#define EVE_REASON_ESC (FINDING_REASON_MAX * 6 + 1)

struct eve {
	pthread_mutex_t lock;      /* one line at a time */
	int  fd;                   /* where lines go */
	int  is_stdout;            /* path "-": never closed or reopened */
	int  is_none;              /* no file: lines go only to the syslog tee */
	struct gw_syslog *sl;      /* tee to syslog (not owned), NULL = none */
	eve_tee_fn tee;            /* another copy of each line (Redis), NULL = none */
	void      *tee_arg;
	char path[4096];           /* for eve_reopen() */
};

/* A line under construction; overflow makes the line be dropped, never cut. */
struct jb {
	char  *buf;      /* EVE_LINE_MAX bytes */
	size_t len;      /* used */
	size_t cap;      /* size of buf */
	int    overflow; /* something did not fit */
};

/* Open path for appending, close-on-exec. */
static int
eve_open_fd(const char *path)
{
	return open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
}

struct eve *
eve_open(const char *path)
{
	struct eve *ev;

	if (path == NULL || *path == '\0') {
		errno = EINVAL;
		return NULL;
	}
	if (strlen(path) >= sizeof(ev->path)) {
		errno = ENAMETOOLONG;
		return NULL;
	}
	if ((ev = calloc(1, sizeof(*ev))) == NULL)
		return NULL;
	snprintf(ev->path, sizeof(ev->path), "%s", path);
	if (strcmp(path, "-") == 0) {
		ev->fd = STDOUT_FILENO;
		ev->is_stdout = 1;
	} else if ((ev->fd = eve_open_fd(path)) == -1) {
		int saved = errno;

		free(ev);
		errno = saved;
		return NULL;
	}
	pthread_mutex_init(&ev->lock, NULL);
	return ev;
}

struct eve *
eve_open_none(void)
{
	struct eve *ev;

	if ((ev = calloc(1, sizeof(*ev))) == NULL)
		return NULL;
	ev->fd = -1;
	ev->is_none = 1;
	pthread_mutex_init(&ev->lock, NULL);
	return ev;
}

void
eve_set_syslog(struct eve *ev, struct gw_syslog *sl)
{
	if (ev != NULL)
		ev->sl = sl;
}

void
eve_set_tee(struct eve *ev, eve_tee_fn fn, void *arg)
{
	if (ev == NULL)
		return;
	pthread_mutex_lock(&ev->lock);
	ev->tee = fn;
	ev->tee_arg = arg;
	pthread_mutex_unlock(&ev->lock);
}

int
eve_reopen(struct eve *ev)
{
	int fd, old;

	if (ev == NULL || ev->is_stdout || ev->is_none)
		return 0;
	if ((fd = eve_open_fd(ev->path)) == -1)
		return -1;
	pthread_mutex_lock(&ev->lock);
	old = ev->fd;
	ev->fd = fd;
	pthread_mutex_unlock(&ev->lock);
	close(old);
	return 0;
}

void
eve_close(struct eve *ev)
{
	if (ev == NULL)
		return;
	if (!ev->is_stdout && !ev->is_none)
		close(ev->fd);
	pthread_mutex_destroy(&ev->lock);
	free(ev);
}

/* Length of the valid UTF-8 sequence at s (RFC 3629), or 0 if invalid. */
static size_t
utf8_seq_len(const uint8_t *s, size_t n)
{
	uint8_t c = s[0];
	size_t len;
	uint8_t lo = 0x80, hi = 0xbf; /* allowed range of the second byte */

	if (c >= 0xc2 && c <= 0xdf)
		len = 2;
	else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		if (c == 0xe0)
			lo = 0xa0;  /* no overlongs */
		else if (c == 0xed)
			hi = 0x9f;  /* no surrogates */
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		if (c == 0xf0)
			lo = 0x90;  /* no overlongs */
		else if (c == 0xf4)
			hi = 0x8f;  /* nothing past U+10FFFF */
	} else
		return 0;
	if (n < len || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	return len;
}

size_t
eve_escape(char *dst, size_t dstlen, const uint8_t *src, size_t srclen)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0, i = 0;

	if (dstlen == 0)
		return 0;
	while (i < srclen) {
		uint8_t c = src[i];
		char tmp[6];
		size_t tl, used;

		if (c == '"' || c == '\\') {
			tmp[0] = '\\';
			tmp[1] = (char)c;
			tl = 2;
			used = 1;
		} else if (c >= 0x20 && c < 0x7f) {
			tmp[0] = (char)c;
			tl = 1;
			used = 1;
		} else if (c >= 0x80 && (used = utf8_seq_len(src + i, srclen - i)) != 0) {
			memcpy(tmp, src + i, used);
			tl = used;
		} else {
			/* control, DEL, or a byte that is not valid UTF-8 */
			tmp[0] = '\\';
			tmp[1] = 'u';
			tmp[2] = '0';
			tmp[3] = '0';
			tmp[4] = hex[c >> 4];
			tmp[5] = hex[c & 15];
			tl = 6;
			used = 1;
		}
		if (o + tl + 1 > dstlen)
			break;   /* cut at a character boundary */
		memcpy(dst + o, tmp, tl);
		o += tl;
		i += used;
	}
	dst[o] = '\0';
	return o;
}

/* Append raw text. */
static void
jb_raw(struct jb *b, const char *s, size_t n)
{
	if (b->overflow || n > b->cap - b->len) {
		b->overflow = 1;
		return;
	}
	memcpy(b->buf + b->len, s, n);
	b->len += n;
}

/* Append formatted raw text (numbers, fixed keys). */
static void __attribute__((format(printf, 2, 3)))
jb_printf(struct jb *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->overflow)
		return;
	va_start(ap, fmt);
	n = vsnprintf(b->buf + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= b->cap - b->len) {
		b->overflow = 1;
		return;
	}
	b->len += (size_t)n;
}

/* Append "key":"escaped bytes" with at most max source bytes. */
static void
jb_str(struct jb *b, const char *key, const void *s, size_t n, size_t max)
{
	char esc[EVE_REASON_ESC];

	if (n > max)
		n = max;
	if (n * 6 + 1 > sizeof(esc))
		n = (sizeof(esc) - 1) / 6;
	eve_escape(esc, sizeof(esc), s, n);
	jb_printf(b, "\"%s\":\"%s\"", key, esc);
}

/* Append "key":"2026-11-28T22:12:34.123456+0000". */
static void
jb_time(struct jb *b, const char *key, uint64_t ts_us)
{
	time_t sec = (time_t)(ts_us / 1000000);
	struct tm tm;
	char t[40];

	if (gmtime_r(&sec, &tm) == NULL || strftime(t, sizeof(t), "%Y-%m-%dT%H:%M:%S", &tm) == 0)
		snprintf(t, sizeof(t), "1970-01-01T00:00:00");
	jb_printf(b, "\"%s\":\"%s.%06u+0000\"", key, t, (unsigned)(ts_us % 1000000));
}

/* Append "key":"address" for family af. */
static void
jb_addr(struct jb *b, const char *key, uint8_t af, const struct pkt_addr *a)
{
	char s[INET6_ADDRSTRLEN];

	if (inet_ntop(af == 6 ? AF_INET6 : AF_INET, a->a, s, sizeof(s)) == NULL)
		snprintf(s, sizeof(s), "?");
	jb_printf(b, "\"%s\":\"%s\"", key, s);
}

/* The common head: timestamp, event_type, flow_id, addresses, proto. */
static void
jb_head(struct jb *b, uint64_t ts_us, const char *type, const struct flow *f)
{
	jb_raw(b, "{", 1);
	jb_time(b, "timestamp", ts_us);
	jb_printf(b, ",\"event_type\":\"%s\"", type);
	if (f == NULL)
		return;
	jb_printf(b, ",\"flow_id\":%llu,", (unsigned long long)f->id);
	jb_addr(b, "src_ip", f->key.af, &f->key.caddr);
	jb_printf(b, ",\"src_port\":%u,", (unsigned)f->key.cport);
	jb_addr(b, "dest_ip", f->key.af, &f->key.saddr);
	jb_printf(b, ",\"dest_port\":%u,\"proto\":\"TCP\"", (unsigned)f->key.sport);
}

/* ,"policy":{...} (nothing when pm is NULL). */
static void
jb_policy(struct jb *b, const struct pol_match *pm)
{
	if (pm == NULL)
		return;
	jb_printf(b, ",\"policy\":{\"mode\":\"%s\",\"source\":\"%s\",",
	    pol_mode_name(pm->mode), pol_source_name(pm->source));
	jb_str(b, "match", pm->match, strnlen(pm->match, sizeof(pm->match)),
	    sizeof(pm->match));
	jb_raw(b, "}", 1);
}

/* ,"smtp":{...} */
static void
jb_smtp(struct jb *b, const struct smtp *s)
{
	jb_raw(b, ",\"smtp\":{", 9);
	jb_str(b, "banner", s->banner, s->banner_len, sizeof(s->banner));
	jb_raw(b, ",", 1);
	jb_str(b, "helo", s->helo, s->helo_len, sizeof(s->helo));
	jb_printf(b, ",\"starttls_offered\":%s,\"starttls_sent\":%s,\"tls\":%s}",
	    (s->flags & SMTP_F_OFFERED) ? "true" : "false",
	    (s->flags & SMTP_F_SENT) ? "true" : "false",
	    s->phase == SMTP_PH_TLS ? "true" : "false");
}

/* Finish the line and write it whole; a line that overflowed is dropped.
 * m describes the event for the syslog tee. */
static void
eve_emit(struct eve *ev, struct jb *b, uint64_t ts_us, const struct gw_syslog_meta *m)
{
	size_t off = 0;

	jb_raw(b, "}\n", 2);
	if (ev == NULL || b->overflow)
		return;
	pthread_mutex_lock(&ev->lock);
	if (ev->sl != NULL)
		gw_syslog_send(ev->sl, ts_us, m, b->buf, b->len - 1);
	if (ev->tee != NULL)
		ev->tee(ev->tee_arg, m->type, b->buf, b->len - 1);
	while (ev->fd != -1 && off < b->len) {
		ssize_t n = write(ev->fd, b->buf + off, b->len - off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			break;  /* disk full, closed pipe: the counters still count */
		}
		off += (size_t)n;
	}
	pthread_mutex_unlock(&ev->lock);
}

/* ,"tls":{...}: what the handshake showed (nothing when tls is NULL). */
static void
jb_tls(struct jb *b, const struct gw_tls_facts *t)
{
	static const char *const cert_state[] = { "none", "hidden", "unchecked", "checked" };
	char v[TLS_HEX_BUF], c[TLS_HEX_BUF];

	if (t == NULL || (!t->have_server && !t->have_client))
		return;
	jb_raw(b, ",\"tls\":{", 8);
	jb_printf(b, "\"version\":\"%s\",\"cipher\":\"%s\",",
	    t->have_server ? tls_version_str(t->version, v) : "",
	    t->have_server ? tls_cipher_str(t->cipher, c) : "");
	jb_str(b, "sni", t->sni, strnlen(t->sni, sizeof(t->sni)), sizeof(t->sni));
	jb_printf(b, ",\"client_version\":\"%s\",\"fallback_scsv\":%s,\"hrr\":%s,"
	    "\"cert\":{\"state\":\"%s\",\"chain\":%u",
	    t->have_client ? tls_version_str(t->client_max, v) : "",
	    t->scsv ? "true" : "false", t->hrr ? "true" : "false",
	    cert_state[(unsigned)t->cert < 4 ? t->cert : 0], t->chain);
	if (t->cert == GW_CERT_CHECKED) {
		const struct gw_x509_info *x = &t->x509;
		jb_printf(b, ",\"result\":\"%s\",", gw_x509_result_name(x->result));
		jb_str(b, "reason", x->reason, strnlen(x->reason, sizeof(x->reason)), sizeof(x->reason));
		jb_raw(b, ",", 1);
		jb_str(b, "subject", x->subject, strnlen(x->subject, sizeof(x->subject)), sizeof(x->subject));
		jb_raw(b, ",", 1);
		jb_str(b, "issuerdn", x->issuer, strnlen(x->issuer, sizeof(x->issuer)), sizeof(x->issuer));
		jb_raw(b, ",", 1);
		jb_str(b, "notbefore", x->not_before, strnlen(x->not_before, sizeof(x->not_before)),
		    sizeof(x->not_before));
		jb_raw(b, ",", 1);
		jb_str(b, "notafter", x->not_after, strnlen(x->not_after, sizeof(x->not_after)),
		    sizeof(x->not_after));
		if (t->dane) {
			/* checked against the MX host's TLSA records: which one matched */
			jb_raw(b, ",\"dane\":true,", 13);
			jb_str(b, "tlsa", x->matched, strnlen(x->matched, sizeof(x->matched)),
			    sizeof(x->matched));
		}
	} else if (t->cert == GW_CERT_HIDDEN) {
		jb_printf(b, ",\"reason\":\"TLS 1.3 encrypts the certificate: not checked\"");
	}
	jb_raw(b, "}}", 2);
}

/* One alert line; severity 0 and tlsrpt NULL mean the signature's own. */
static void
alert_line(struct eve *ev, uint64_t ts_us, const struct flow *f, enum sig sig,
    int severity, const char *tlsrpt, const char *reason, int blocked,
    const struct pol_match *pm, const struct gw_tls_facts *tls)
{
	char buf[EVE_LINE_MAX];
	struct jb b = { buf, 0, sizeof(buf), 0 };
	const char *name = sig_name(sig);

	if (ev == NULL || f == NULL)
		return;
	jb_head(&b, ts_us, "alert", f);
	jb_printf(&b, ",\"alert\":{\"signature\":\"%s\",\"severity\":%d,\"action\":\"%s\",",
	    name ? name : "unknown", severity ? severity : sig_severity(sig),
	    blocked ? "blocked" : "allowed");
	if (reason == NULL)
		reason = "";
	jb_str(&b, "reason", reason, strnlen(reason, FINDING_REASON_MAX),
	    FINDING_REASON_MAX);
	jb_printf(&b, ",\"tlsrpt\":\"%s\"}", tlsrpt ? tlsrpt : sig_tlsrpt(sig));
	jb_policy(&b, pm);
	jb_smtp(&b, &f->smtp);
	jb_tls(&b, tls);
	{
		struct gw_syslog_meta m = { "alert", severity ? severity : sig_severity(sig),
		    name ? name : "unknown", blocked, f->id };

		eve_emit(ev, &b, ts_us, &m);
	}
}

void
eve_alert(struct eve *ev, uint64_t ts_us, const struct flow *f, enum sig sig,
    const char *reason, int blocked, const struct pol_match *pm)
{
	alert_line(ev, ts_us, f, sig, 0, NULL, reason, blocked, pm, NULL);
}

void
eve_alert_finding(struct eve *ev, uint64_t ts_us, const struct flow *f,
    const struct finding *fd, int blocked, const struct pol_match *pm,
    const struct gw_tls_facts *tls)
{
	alert_line(ev, ts_us, f, fd->sig, fd->severity, fd->tlsrpt, fd->reason, blocked, pm, tls);
}

void
eve_flow(struct eve *ev, uint64_t ts_us, const struct flow *f,
    const char *verdict, const struct pol_match *pm)
{
	eve_flow_tls(ev, ts_us, f, verdict, pm, NULL);
}

void
eve_flow_tls(struct eve *ev, uint64_t ts_us, const struct flow *f,
    const char *verdict, const struct pol_match *pm, const struct gw_tls_facts *tls)
{
	char buf[EVE_LINE_MAX];
	struct jb b = { buf, 0, sizeof(buf), 0 };

	if (ev == NULL || f == NULL)
		return;
	if (verdict == NULL)
		verdict = "incomplete";
	jb_head(&b, ts_us, "flow", f);
	jb_raw(&b, ",\"flow\":{", 9);
	jb_time(&b, "start", f->start_us);
	jb_printf(&b, ",\"pkts_toserver\":%u,\"pkts_toclient\":%u,"
	    "\"bytes_toserver\":%u,\"bytes_toclient\":%u,",
	    f->pkts[FLOW_TO_SERVER], f->pkts[FLOW_TO_CLIENT],
	    f->bytes[FLOW_TO_SERVER], f->bytes[FLOW_TO_CLIENT]);
	jb_str(&b, "verdict", verdict, strlen(verdict), 32);
	jb_raw(&b, "}", 1);
	jb_smtp(&b, &f->smtp);
	jb_policy(&b, pm);
	jb_tls(&b, tls);
	{
		struct gw_syslog_meta m = { "flow", 0, NULL, 0, f->id };

		eve_emit(ev, &b, ts_us, &m);
	}
}

/* Stable names of enum pkt_status values, as stats keys. */
static const char *const decode_names[] = {
	"ok", "not_tcp", "fragment", "truncated", "malformed", "unsupported_link", "udp",
};

void
eve_stats(struct eve *ev, uint64_t ts_us, const struct gw_stats *st)
{
	char buf[EVE_LINE_MAX];
	struct jb b = { buf, 0, sizeof(buf), 0 };
	const size_t ndec = sizeof(st->decode) / sizeof(st->decode[0]);
	uint64_t other = 0;
	size_t i;

	if (ev == NULL || st == NULL)
		return;
	jb_head(&b, ts_us, "stats", NULL);
	jb_printf(&b, ",\"stats\":{\"packets\":%llu,\"bytes\":%llu,\"decode\":{",
	    (unsigned long long)st->packets, (unsigned long long)st->bytes);
	for (i = 0; i < ndec; i++) {
		if (i < sizeof(decode_names) / sizeof(decode_names[0]))
			jb_printf(&b, "\"%s\":%llu,", decode_names[i],
			    (unsigned long long)st->decode[i]);
		else
			other += st->decode[i];
	}
	jb_printf(&b, "\"other\":%llu}", (unsigned long long)other);
	jb_printf(&b, ",\"not_monitored\":%llu,\"midstream\":%llu,\"lost\":%llu,"
	    "\"gave_up\":%llu,\"reused\":%llu,\"verdicts\":{",
	    (unsigned long long)st->not_monitored, (unsigned long long)st->midstream,
	    (unsigned long long)st->lost, (unsigned long long)st->gave_up,
	    (unsigned long long)st->reused);
	for (i = 0; i < GW_V_COUNT; i++)
		jb_printf(&b, "%s\"%s\":%llu", i ? "," : "", gw_verdict_names[i],
		    (unsigned long long)st->verdicts[i]);
	jb_raw(&b, "},\"findings\":{", 14);
	for (i = 0; i < SIG_COUNT; i++)
		jb_printf(&b, "%s\"%s\":%llu", i ? "," : "", sig_name((enum sig)i),
		    (unsigned long long)st->findings[i]);
	jb_printf(&b, "},\"suppressed\":%llu,\"flows_tls\":%llu,\"flows_plain\":%llu,"
	    "\"flows_lost\":%llu,\"frag_reassembled\":%llu,\"frag_refused\":%llu",
	    (unsigned long long)st->suppressed, (unsigned long long)st->flows_tls,
	    (unsigned long long)st->flows_plain, (unsigned long long)st->flows_lost,
	    (unsigned long long)st->frag_reassembled,
	    (unsigned long long)st->frag_refused);
	jb_printf(&b, ",\"tls\":{\"SSLv3\":%llu,\"TLSv1.0\":%llu,\"TLSv1.1\":%llu,"
	    "\"TLSv1.2\":%llu,\"TLSv1.3\":%llu,\"certs_checked\":%llu,\"hs_unbuffered\":%llu}",
	    (unsigned long long)st->tls_versions[0], (unsigned long long)st->tls_versions[1],
	    (unsigned long long)st->tls_versions[2], (unsigned long long)st->tls_versions[3],
	    (unsigned long long)st->tls_versions[4], (unsigned long long)st->certs_checked,
	    (unsigned long long)st->hs_exhausted);
	jb_printf(&b, ",\"bad_checksum\":%llu,\"bad_rst\":%llu,\"urgent\":%llu,\"rewritten\":%llu",
	    (unsigned long long)st->bad_checksum, (unsigned long long)st->bad_rst,
	    (unsigned long long)st->urgent, (unsigned long long)st->rewritten);
	jb_printf(&b, ",\"insert_dropped\":%llu,\"ttl_raised\":%llu",
	    (unsigned long long)st->insert_dropped, (unsigned long long)st->ttl_raised);
	jb_printf(&b, ",\"dns_answers\":%llu,\"pins_learned\":%llu,\"policy\":{",
	    (unsigned long long)st->dns_answers, (unsigned long long)st->pins_learned);
	for (i = 0; i < POL_SRC_COUNT; i++)
		jb_printf(&b, "%s\"%s\":%llu", i ? "," : "", pol_source_name((enum pol_source)i),
		    (unsigned long long)st->policy_by[i]);
	jb_raw(&b, "}", 1);
	jb_printf(&b, ",\"flow\":{\"capacity\":%u,\"active\":%u,\"created\":%llu,"
	    "\"evicted\":%llu,\"evicted_inspecting\":%llu,\"expired\":%llu,"
	    "\"expired_inspecting\":%llu,\"removed\":%llu}",
	    st->flow.capacity, st->flow.active,
	    (unsigned long long)st->flow.created, (unsigned long long)st->flow.evicted,
	    (unsigned long long)st->evicted_inspecting,
	    (unsigned long long)st->flow.expired, (unsigned long long)st->expired_inspecting,
	    (unsigned long long)st->flow.removed);
	jb_printf(&b, ",\"pool\":{\"chunks\":%u,\"in_use\":%u,\"exhausted\":%llu,"
	    "\"history_reclaimed\":%llu}}",
	    st->pool.chunks, st->pool.in_use, (unsigned long long)st->pool.exhausted,
	    (unsigned long long)st->hist_reclaimed);
	{
		struct gw_syslog_meta m = { "stats", 0, NULL, 0, 0 };

		eve_emit(ev, &b, ts_us, &m);
	}
}
