/*
 * rs_dane.c - DANE discovery over libunbound (rs_dane.h).
 *
 * A job goes MX -> TLSA of every MX host at once -> done. Jobs live in a
 * fixed array of max_inflight slots, each with its answer buffer
 * allocated once; more domains wait in a bounded ring. libunbound has its
 * own context here (not rs_net's): this one validates against the trust
 * anchor and must never be reconfigured by the MTA-STS side.
 */
#include <errno.h>
#include <poll.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <unbound.h>

#include "rs_dane.h"
#include "rs_sts.h"

#define RS_T_MX   15
#define RS_T_TLSA 52
#define RS_C_IN   1
#define RS_RCODE_SERVFAIL 2
/* One line of text per answer. */
#define RS_DANE_TEXT_MAX 240

enum djob_state { DJ_FREE = 0, DJ_MX, DJ_TLSA };

struct djob;

/* What one outstanding query answers: the MX RRset (mx = -1) or the TLSA
 * RRset of MX host mx. */
struct dq {
	struct djob *j;
	int mx;
	int ub_id;
	int live;
};

/* One domain in progress. */
struct djob {
	struct rs_dane *d;
	enum djob_state state;
	uint32_t tag;
	int64_t  start_ms, deadline_ms;
	int64_t  min_ttl;                 /* smallest TTL of the secure answers, -1 = none */
	unsigned outstanding;             /* queries in flight */
	struct dq q[1 + POL_DANE_MX_MAX]; /* [0] MX, [1 + i] TLSA of mx[i] */
	struct pol_dane_answer *a;        /* the answer being built */
	char     text[RS_DANE_TEXT_MAX];     /* what happened, the first reason */
};

struct dwait {
	char domain[POL_NAME_BUF];
	uint32_t tag;
};

struct rs_dane {
	struct rs_dane_conf c;
	rs_dane_done_fn done;
	void *arg;
	struct ub_ctx *ub;
	struct djob *jobs;
	unsigned running;
	struct dwait *q;
	unsigned qhead, qlen;
	struct rs_dane_stats st;
};

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Does the anchor file hold a DS or DNSKEY record? libunbound reads it
 * only at the first query and would then fail every lookup; say it now. */
static int
anchor_ok(const char *path, char *err, size_t errlen)
{
	FILE *fp = fopen(path, "r");
	char line[4096];
	int found = 0;

	if (fp == NULL) {
		snprintf(err, errlen, "trust anchor %s: %s", path, strerror(errno));
		return 0;
	}
	while (!found && fgets(line, sizeof(line), fp) != NULL) {
		char *save = NULL;

		if (line[0] == ';')
			continue;
		for (char *w = strtok_r(line, " \t\r\n", &save); w != NULL && !found;
		    w = strtok_r(NULL, " \t\r\n", &save))
			found = strcmp(w, "DS") == 0 || strcmp(w, "DNSKEY") == 0;
	}
	fclose(fp);
	if (!found)
		snprintf(err, errlen, "trust anchor %s: no DS or DNSKEY record in it", path);
	return found;
}

struct rs_dane *
rs_dane_new(const struct rs_dane_conf *c, rs_dane_done_fn done, void *arg, char *err,
    size_t errlen)
{
	struct rs_dane *d = calloc(1, sizeof(*d));
	const char *anchor = c->anchor && *c->anchor ? c->anchor : RS_DANE_ANCHOR_DEFAULT;
	int rc;

	if (d == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (!anchor_ok(anchor, err, errlen)) {
		free(d);
		return NULL;
	}
	d->c = *c;
	d->c.anchor = d->c.resolv_conf = NULL;
	if (d->c.timeout_ms == 0)
		d->c.timeout_ms = RS_DANE_TIMEOUT_MS_DEFAULT;
	if (d->c.max_inflight == 0)
		d->c.max_inflight = RS_DANE_INFLIGHT_DEFAULT;
	if (d->c.queue_max == 0)
		d->c.queue_max = RS_DANE_QUEUE_DEFAULT;
	d->done = done;
	d->arg = arg;
	d->jobs = calloc(d->c.max_inflight, sizeof(*d->jobs));
	d->q = calloc(d->c.queue_max, sizeof(*d->q));
	if (d->jobs == NULL || d->q == NULL)
		goto oom;
	for (unsigned i = 0; i < d->c.max_inflight; i++) {
		d->jobs[i].d = d;
		if ((d->jobs[i].a = malloc(sizeof(*d->jobs[i].a))) == NULL)
			goto oom;
	}
	if ((d->ub = ub_ctx_create()) == NULL) {
		snprintf(err, errlen, "libunbound initialisation failed");
		goto fail;
	}
	if ((rc = ub_ctx_resolvconf(d->ub, c->resolv_conf)) != 0) {
		snprintf(err, errlen, "%s: %s", c->resolv_conf ? c->resolv_conf : "/etc/resolv.conf",
		    rc == UB_READFILE ? strerror(errno) : ub_strerror(rc));
		goto fail;
	}
	if ((rc = ub_ctx_add_ta_file(d->ub, anchor)) != 0) {
		snprintf(err, errlen, "trust anchor %s: %s", anchor,
		    rc == UB_READFILE ? strerror(errno) : ub_strerror(rc));
		goto fail;
	}
	if ((rc = ub_ctx_async(d->ub, 1)) != 0) {
		snprintf(err, errlen, "libunbound: %s", ub_strerror(rc));
		goto fail;
	}
	return d;
oom:
	snprintf(err, errlen, "out of memory");
fail:
	rs_dane_free(d);
	return NULL;
}

/* Cancel a job's queries and free its slot (no callback). */
static void
djob_clear(struct djob *j)
{
	for (size_t i = 0; i < sizeof(j->q) / sizeof(j->q[0]); i++)
		if (j->q[i].live) {
			ub_cancel(j->d->ub, j->q[i].ub_id);
			j->q[i].live = 0;
		}
	j->outstanding = 0;
	if (j->state != DJ_FREE)
		j->d->running--;
	j->state = DJ_FREE;
}

void
rs_dane_free(struct rs_dane *d)
{
	if (d == NULL)
		return;
	if (d->jobs != NULL)
		for (unsigned i = 0; i < d->c.max_inflight; i++) {
			djob_clear(&d->jobs[i]);
			free(d->jobs[i].a);
		}
	if (d->ub != NULL)
		ub_ctx_delete(d->ub);
	free(d->jobs);
	free(d->q);
	free(d);
}

/* Note why, once (the first reason is kept). */
static void __attribute__((format(printf, 2, 3)))
djob_say(struct djob *j, const char *fmt, ...)
{
	va_list ap;

	if (j->text[0] != '\0')
		return;
	va_start(ap, fmt);
	vsnprintf(j->text, sizeof(j->text), fmt, ap);
	va_end(ap);
}

/* Did the TLSA lookup of an MX host fail (no answer, not a denial)? */
static int
djob_any_failed(const struct pol_dane_answer *a)
{
	for (size_t i = 0; i < a->nmx; i++)
		if (a->mx[i].state == POL_DANE_MX_FAILED)
			return 1;
	return 0;
}

/* The answer is complete: set its lifetime, count it, report it. */
static void
djob_end(struct djob *j)
{
	struct rs_dane *d = j->d;
	struct pol_dane_answer *a = j->a;
	struct rs_dane_result r;
	int64_t ttl;
	char text[sizeof(j->text)];

	if (pol_dane_applies(a)) {
		ttl = j->min_ttl < RS_DANE_TTL_MIN ? RS_DANE_TTL_MIN :
		    j->min_ttl > RS_DANE_TTL_MAX ? RS_DANE_TTL_MAX : j->min_ttl;
		d->st.applies++;
		djob_say(j, "DANE applies");
	} else if (a->mx_state == POL_DNSSEC_FAILED || djob_any_failed(a)) {
		ttl = RS_DANE_FAIL_TTL;
		djob_say(j, "lookup failed: retried later");
	} else {
		ttl = RS_DANE_NEG_TTL;
		djob_say(j, "no DANE");
	}
	if (pol_dane_bogus(a))
		d->st.bogus++;
	else if (a->mx_state == POL_DNSSEC_INSECURE)
		d->st.insecure++;
	else if (a->mx_state == POL_DNSSEC_FAILED)
		d->st.failed++;
	a->until = a->fetched + ttl;
	memcpy(text, j->text, sizeof(text));
	memset(&r, 0, sizeof(r));
	r.domain = a->domain;
	r.tag = j->tag;
	r.a = a;
	r.text = text;
	r.elapsed_ms = (unsigned)(now_ms() - j->start_ms);
	djob_clear(j);
	/* a points into the slot, which only a later start reuses */
	d->done(d->arg, &r);
}

static void dq_done(void *arg, int err, struct ub_result *res);

/* Send query qi of j for name/type. 0 or -1. */
static int
dq_send(struct djob *j, int qi, const char *name, int type)
{
	struct dq *q = &j->q[qi];
	int rc;

	q->j = j;
	q->mx = qi - 1;
	rc = ub_resolve_async(j->d->ub, name, type, RS_C_IN, q, dq_done, &q->ub_id);
	if (rc != 0)
		return -1;
	q->live = 1;
	j->outstanding++;
	return 0;
}

int
rs_dane_mx_rdata(const uint8_t *rd, size_t len, char *out)
{
	char text[POL_NAME_MAX + 2];
	size_t i = 2, o = 0;

	out[0] = '\0';
	if (rd == NULL || len < 3)
		return -1;
	while (i < len) {
		size_t l = rd[i++];

		if (l == 0)
			break;
		if (l > POL_LABEL_MAX || l > len - i || o + l + 1 > POL_NAME_MAX + 1)
			return -1; /* compression pointers (0xc0) land here too */
		if (o > 0)
			text[o++] = '.';
		memcpy(text + o, rd + i, l);
		o += l;
		i += l;
	}
	if (i != len || rd[i - 1] != 0)
		return -1;
	if (o == 0)
		return 1; /* "." : null MX */
	return pol_name_norm(text, o, out, POL_NAME_BUF, NULL, 0) < 0 ? -1 : 0;
}

/* Take a secure TTL into the answer's lifetime. */
static void
djob_ttl(struct djob *j, int ttl)
{
	if (ttl >= 0 && (j->min_ttl < 0 || ttl < j->min_ttl))
		j->min_ttl = ttl;
}

/* The MX answer: decide the MX hosts, ask for their TLSA records. */
static void
mx_answer(struct djob *j, struct ub_result *res)
{
	struct pol_dane_answer *a = j->a;
	struct rs_dane *d = j->d;

	if (res->bogus) {
		a->mx_state = POL_DNSSEC_BOGUS;
		djob_say(j, "MX RRset is bogus (dnssec-invalid): %.120s",
		    res->why_bogus ? res->why_bogus : "no reason given");
		return;
	}
	if (res->rcode == RS_RCODE_SERVFAIL || (res->rcode != 0 && res->rcode != 3)) {
		a->mx_state = POL_DNSSEC_FAILED;
		djob_say(j, "MX lookup failed (rcode %d)", res->rcode);
		return;
	}
	if (!res->secure) {
		a->mx_state = POL_DNSSEC_INSECURE;
		djob_say(j, "MX RRset is insecure (not signed): no DANE");
		return;
	}
	a->mx_state = POL_DNSSEC_SECURE;
	djob_ttl(j, res->ttl);
	if (res->rcode == 3) {
		djob_say(j, "domain does not exist (secure NXDOMAIN)");
		return;
	}
	if (!res->havedata) {
		/* RFC 5321 5.1, RFC 7672 2.2.1: no MX -> the domain is its own host */
		snprintf(a->mx[0].host, sizeof(a->mx[0].host), "%s", a->domain);
		a->nmx = 1;
	}
	for (int i = 0; res->havedata && res->data[i] != NULL; i++) {
		char host[POL_NAME_BUF];
		int dup = 0, rc = rs_dane_mx_rdata((const uint8_t *)res->data[i],
		    (size_t)res->len[i], host);

		if (rc == 1) {
			a->nmx = 0;
			djob_say(j, "null MX (RFC 7505): the domain takes no mail");
			return;
		}
		if (rc == -1 || a->nmx == POL_DANE_MX_MAX) {
			d->st.mx_dropped++;
			continue;
		}
		for (size_t k = 0; k < a->nmx && !dup; k++)
			dup = strcmp(a->mx[k].host, host) == 0;
		if (dup)
			continue;
		memset(&a->mx[a->nmx], 0, sizeof(a->mx[0]));
		snprintf(a->mx[a->nmx].host, sizeof(a->mx[0].host), "%s", host);
		a->nmx++;
	}
	j->state = DJ_TLSA;
	for (size_t k = 0; k < a->nmx; k++) {
		char q[POL_NAME_BUF + 16];

		a->mx[k].state = POL_DANE_MX_FAILED;
		snprintf(q, sizeof(q), "_25._tcp.%s", a->mx[k].host);
		if (dq_send(j, (int)k + 1, q, RS_T_TLSA) == -1)
			djob_say(j, "TLSA query for %s could not be sent", a->mx[k].host);
	}
}

/* The TLSA answer of MX host i. */
static void
tlsa_answer(struct djob *j, int i, struct ub_result *res)
{
	struct pol_dane_answer *a = j->a;
	struct pol_dane_mx *m = &a->mx[i];
	struct rs_dane *d = j->d;

	if (res->bogus) {
		m->state = POL_DANE_MX_BOGUS;
		djob_say(j, "TLSA of %.100s is bogus (dnssec-invalid): %.80s", m->host,
		    res->why_bogus ? res->why_bogus : "no reason given");
		return;
	}
	if (res->rcode != 0 && res->rcode != 3) {
		m->state = POL_DANE_MX_FAILED;
		return;
	}
	if (!res->secure || res->rcode == 3 || !res->havedata) {
		m->state = POL_DANE_MX_NONE;
		return;
	}
	m->state = POL_DANE_MX_TLSA;
	djob_ttl(j, res->ttl);
	for (int k = 0; res->data[k] != NULL; k++) {
		struct pol_tlsa t;

		if (pol_tlsa_rdata((const uint8_t *)res->data[k], (size_t)res->len[k], &t) == -1) {
			d->st.tlsa_malformed++;
			continue;
		}
		if (!pol_tlsa_usable(&t))
			d->st.tlsa_unusable++;
		(void)pol_dane_add_tlsa(a, m, &t); /* a set too big is flagged, counted below */
	}
	if (m->too_many)
		d->st.tlsa_too_many++;
}

/* libunbound's callback (inside ub_process). */
static void
dq_done(void *arg, int err, struct ub_result *res)
{
	struct dq *q = arg;
	struct djob *j = q->j;

	q->live = 0;
	j->outstanding--;
	if (err != 0 || res == NULL) {
		if (q->mx < 0) {
			j->a->mx_state = POL_DNSSEC_FAILED;
			djob_say(j, "MX lookup failed: %s", ub_strerror(err));
		}
	} else if (q->mx < 0) {
		mx_answer(j, res);
	} else {
		tlsa_answer(j, q->mx, res);
	}
	if (res != NULL)
		ub_resolve_free(res);
	if (j->outstanding == 0 && j->state != DJ_FREE)
		djob_end(j);
}

/* Put a domain into a free slot and ask for its MX RRset. */
static void
djob_begin(struct rs_dane *d, const char *domain, uint32_t tag)
{
	struct djob *j = NULL;

	for (unsigned i = 0; i < d->c.max_inflight && j == NULL; i++)
		if (d->jobs[i].state == DJ_FREE)
			j = &d->jobs[i];
	if (j == NULL)
		return;
	d->running++;
	d->st.lookups++;
	j->state = DJ_MX;
	j->tag = tag;
	j->start_ms = now_ms();
	j->deadline_ms = j->start_ms + d->c.timeout_ms;
	j->min_ttl = -1;
	j->outstanding = 0;
	j->text[0] = '\0';
	memset(j->a, 0, offsetof(struct pol_dane_answer, bytes));
	snprintf(j->a->domain, sizeof(j->a->domain), "%s", domain);
	j->a->fetched = (int64_t)time(NULL);
	j->a->mx_state = POL_DNSSEC_FAILED;
	if (dq_send(j, 0, domain, RS_T_MX) == -1) {
		djob_say(j, "MX query could not be sent");
		djob_end(j);
	}
}

void
rs_dane_start(struct rs_dane *d, const char *domain, uint32_t tag)
{
	if (d->running < d->c.max_inflight && d->qlen == 0) {
		djob_begin(d, domain, tag);
		return;
	}
	if (d->qlen == d->c.queue_max) {
		struct pol_dane_answer *a = calloc(1, sizeof(*a));
		struct rs_dane_result r;

		d->st.busy++;
		memset(&r, 0, sizeof(r));
		r.domain = domain;
		r.tag = tag;
		r.text = "resolver busy: too many DANE lookups waiting";
		if (a != NULL) {
			snprintf(a->domain, sizeof(a->domain), "%s", domain);
			a->mx_state = POL_DNSSEC_FAILED;
		}
		r.a = a;
		d->done(d->arg, &r);
		free(a);
		return;
	}
	struct dwait *w = &d->q[(d->qhead + d->qlen++) % d->c.queue_max];
	snprintf(w->domain, sizeof(w->domain), "%s", domain);
	w->tag = tag;
}

unsigned
rs_dane_pending(const struct rs_dane *d)
{
	return d->running + d->qlen;
}

const struct rs_dane_stats *
rs_dane_stats(const struct rs_dane *d)
{
	return &d->st;
}

int
rs_dane_run(struct rs_dane *d, int fd, int timeout_ms)
{
	struct pollfd p[2];
	int64_t now = now_ms(), soonest = now + timeout_ms;
	int n = 1, fd_ready = 0, left;

	for (unsigned i = 0; i < d->c.max_inflight; i++)
		if (d->jobs[i].state != DJ_FREE && d->jobs[i].deadline_ms < soonest)
			soonest = d->jobs[i].deadline_ms;
	p[0].fd = ub_fd(d->ub);
	p[0].events = POLLIN;
	p[0].revents = 0;
	if (fd >= 0) {
		p[1].fd = fd;
		p[1].events = POLLIN;
		p[1].revents = 0;
		n = 2;
	}
	left = soonest > now ? (int)(soonest - now) : 0;
	if (poll(p, (nfds_t)n, left) == -1 && errno != EINTR)
		return -1;
	if (ub_poll(d->ub) && ub_process(d->ub) != 0)
		return -1;
	if (fd >= 0 && (p[1].revents & (POLLIN | POLLHUP)))
		fd_ready = 1;
	now = now_ms();
	for (unsigned i = 0; i < d->c.max_inflight; i++) {
		struct djob *j = &d->jobs[i];

		if (j->state == DJ_FREE || now < j->deadline_ms)
			continue;
		/* Late: what answered is kept; an MX RRset that did not is a failure. */
		if (j->state == DJ_MX)
			j->a->mx_state = POL_DNSSEC_FAILED;
		djob_say(j, "DNS lookups timed out");
		djob_end(j);
	}
	while (d->qlen > 0 && d->running < d->c.max_inflight) {
		struct dwait w = d->q[d->qhead];

		d->qhead = (d->qhead + 1) % d->c.queue_max;
		d->qlen--;
		djob_begin(d, w.domain, w.tag);
	}
	return fd_ready;
}
