/*
 * gw_cluster.c - the cluster sync thread (see gw_cluster.h).
 *
 * Why pub/sub and keys rather than a stream: the state is a set of facts
 * that each expire on their own, which is what keys with PXAT are; a
 * stream is one log that can only be trimmed by length or age as a whole.
 * The live path needs lowest latency and no per-consumer bookkeeping, which
 * is what pub/sub gives (Redis pushes; nothing to acknowledge or trim). A
 * message lost while a gateway is disconnected costs nothing: on reconnect
 * it reloads the keys, which hold the same facts. Two connections: a
 * subscribed one only receives (RESP2), the other stores and publishes.
 * The thread waits in poll() on the subscription and on the fact queue's
 * eventfd, so a learned fact is published at once (no batching timer): a
 * batch is what accumulated while the previous round trip was in flight.
 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../policy/pol.h"
#include "gw_clq.h"
#include "gw_cluster.h"
#include "gw_fallback.h"
#include "gw_names.h"
#include "gw_pins.h"
#include "output/gw_clock.h"
#include "output/gw_log.h"
#include "output/gw_thread.h"

/* Facts per publish round trip. */
#define CL_BATCH 256
/* Repeats are not republished. A pin, refreshed by every TLS session,
 * goes out at most once an hour per server: another gateway only needs to
 * know it is alive (an hour out of a month's max_age). The same MX name
 * for the same address, seen again in every answer a busy resolver gets,
 * goes out at most once a minute (GW_NAMES_TTL_MIN: the remote entry may
 * end that much before ours). Ten gateways would otherwise each send one
 * fact per TLS session and per DNS answer. Direct-mapped memory of the
 * last publication per (kind, address), CL_SENT_SLOTS entries. */
#define CL_PIN_REPUBLISH_US (3600ULL * 1000000ULL)
#define CL_MX_REPUBLISH_US  ((uint64_t)GW_NAMES_TTL_MIN * 1000000ULL)
#define CL_SENT_SLOTS 8192
/* First reconnect delay; doubled per failure up to backoff_max_ms. */
#define CL_BACKOFF_MIN_MS 100
/* A connection that said nothing this long is pinged (a dead peer without
 * a FIN is found within about twice this). */
#define CL_PING_US 1000000u
/* Clocks of routers differ a little; a fact from further ahead than this
 * is refused. */
#define CL_SKEW_US (60ULL * 1000000ULL)
/* Longest lifetimes accepted, whatever the publisher's configuration:
 * a DNS name a day (GW_NAMES_TTL_MAX), a pin a year, a failure a day. */
#define CL_MX_LIFE_US   (86400ULL * 1000000ULL + CL_SKEW_US)
#define CL_PIN_LIFE_US  (366ULL * 86400ULL * 1000000ULL)
#define CL_FAIL_LIFE_US (86400ULL * 1000000ULL)

_Static_assert(GW_FACT_KINDS == GW_CLUSTER_KINDS, "metrics index facts by kind");

struct gw_cluster {
	struct gw_cluster_conf   conf;
	struct gw_cluster_tables t;
	struct gw_clq           *q;
	struct gw_redis         *pub, *sub;    /* NULL while down */
	pthread_t                tid;
	int                      running;
	volatile int             stop;
	pthread_mutex_t          st_mu;        /* guards st */
	struct gw_cluster_stats  st;
	/* sync thread only */
	uint64_t                 next_try_us;  /* next connection attempt */
	uint32_t                 backoff_ms;
	int                      logged_down;  /* this outage was logged */
	uint64_t                 down_since_us;
	uint64_t                 last_io_us;
	struct gw_fact           batch[CL_BATCH];  /* drained from the queue */
	char keys[CL_BATCH][GW_FACT_KEY_MAX];      /* their keys, values, expiries */
	char vals[CL_BATCH][GW_FACT_LINE_MAX];
	char px[CL_BATCH][24];
	char lines[CL_BATCH * (GW_FACT_LINE_MAX + 1)]; /* the PUBLISH payload */
	struct { uint8_t kind, af; struct pkt_addr a; uint64_t name_h, at_us; }
	    sent[CL_SENT_SLOTS];               /* last pin / MX name published per slot */
	uint64_t                 load_now_us;  /* time of the load in progress */
	unsigned                 load_applied;
};

void
gw_cluster_conf_default(struct gw_cluster_conf *c)
{
	char host[64];

	memset(c, 0, sizeof(*c));
	c->redis.timeout_ms = GW_CLUSTER_TIMEOUT_DEFAULT_MS;
	snprintf(c->prefix, sizeof c->prefix, "stg:");
	c->queue = GW_CLUSTER_QUEUE_DEFAULT;
	c->backoff_max_ms = GW_CLUSTER_BACKOFF_MAX_DEFAULT_MS;
	if (gethostname(host, sizeof host) != 0)
		snprintf(host, sizeof host, "gateway");
	host[sizeof host - 1] = '\0';
	/* the pid tells apart gateways of one host (namespaces, tests) */
	snprintf(c->id, sizeof c->id, "%.40s/%ld", host, (long)getpid());
	if (!gw_fact_origin_ok(c->id))
		snprintf(c->id, sizeof c->id, "gateway/%ld", (long)getpid());
}

struct gw_cluster *
gw_cluster_new(const struct gw_cluster_conf *c, const struct gw_cluster_tables *t)
{
	struct gw_cluster *cl = calloc(1, sizeof(*cl));

	if (cl == NULL)
		return NULL;
	cl->conf = *c;
	if (cl->conf.channel[0] == '\0')
		snprintf(cl->conf.channel, sizeof cl->conf.channel, "%sfacts", cl->conf.prefix);
	cl->t = *t;
	if ((cl->q = gw_clq_new(c->queue ? c->queue : 1)) == NULL) {
		free(cl);
		return NULL;
	}
	pthread_mutex_init(&cl->st_mu, NULL);
	cl->backoff_ms = CL_BACKOFF_MIN_MS;
	return cl;
}

struct gw_clq *
gw_cluster_queue(struct gw_cluster *cl)
{
	return cl->q;
}

void
gw_cluster_free(struct gw_cluster *cl)
{
	if (cl == NULL)
		return;
	gw_cluster_stop(cl);
	gw_redis_close(cl->pub);
	gw_redis_close(cl->sub);
	gw_clq_free(cl->q);
	pthread_mutex_destroy(&cl->st_mu);
	free(cl);
}

void
gw_cluster_get_stats(struct gw_cluster *cl, struct gw_cluster_stats *st)
{
	struct gw_clq_stats qs;

	gw_clq_get_stats(cl->q, &qs);
	pthread_mutex_lock(&cl->st_mu);
	*st = cl->st;
	pthread_mutex_unlock(&cl->st_mu);
	st->dropped = qs.dropped;
}

/* Count one thing under the stats lock. */
#define ST_ADD(cl, field, n) do { \
	pthread_mutex_lock(&(cl)->st_mu); (cl)->st.field += (n); pthread_mutex_unlock(&(cl)->st_mu); \
} while (0)

/*
 * Would learning "addr is name" lower what this server gets here? The
 * engine resolves: address rule, else the domain policy of the MX name,
 * else a pin, else the default. Compare that with the local name (if any)
 * and with the remote one. Returns 1 apply, 0 keep the local name,
 * -1 refuse (weaker).
 */
static int
mx_verdict(struct gw_cluster *cl, const struct gw_fact *f, uint64_t now)
{
	struct pol_match base, cur, nw, dm;
	char local[GW_NAMES_NAME_MAX + 1];
	int64_t now_s = (int64_t)(now / 1000000);
	const struct pol *pol;
	uint32_t ref;
	int have_local;

	pthread_mutex_lock(cl->t.pol_mu);
	pol = *cl->t.pol;
	pol_lookup_addr(pol, f->af, &f->addr, &base);
	if (base.source != POL_SRC_DEFAULT) {
		pthread_mutex_unlock(cl->t.pol_mu);
		return 1;   /* an address rule decides; the name changes nothing */
	}
	if (cl->t.pins != NULL && gw_pins_lookup(cl->t.pins, f->af, &f->addr, now_s,
	    cl->t.pins_max_age, NULL)) {
		base.mode = (enum pol_mode)cl->t.pins_mode;
		base.source = POL_SRC_PIN;
	}
	have_local = gw_names_get(cl->t.names, f->af, &f->addr, now, local, sizeof local);
	/* as the engine resolves: a name's policy may raise the base, not lower it */
	cur = base;
	if (have_local && pol_lookup_mx(pol, local, now_s, &dm, &ref) && pol_cmp(&dm, &base) >= 0)
		cur = dm;
	nw = base;
	if (pol_lookup_mx(pol, f->name, now_s, &dm, &ref))
		nw = dm;   /* weaker than base: refused below */
	pthread_mutex_unlock(cl->t.pol_mu);
	/* the engine's own rule for learned facts (pol_cmp) */
	if (pol_cmp(&nw, &cur) < 0)
		return -1;
	if (have_local && strcmp(local, f->name) != 0 && pol_cmp(&nw, &cur) == 0)
		return 0;
	return 1;
}

/* Check a parsed remote fact against now and our tables, then apply it.
 * Returns 1 applied, 0 not. */
static int
apply_fact(struct gw_cluster *cl, const struct gw_fact *f, int from_load, uint64_t now)
{
	uint64_t life = f->expires_us - f->at_us, max_life;
	int v;

	if (strcmp(f->origin, cl->conf.id) == 0) {
		ST_ADD(cl, own, 1);
		return 0;
	}
	max_life = f->kind == GW_FACT_MX ? CL_MX_LIFE_US :
	    f->kind == GW_FACT_PIN ? CL_PIN_LIFE_US : CL_FAIL_LIFE_US;
	if (f->at_us > now + CL_SKEW_US || life > max_life) {
		ST_ADD(cl, refused[GW_CL_REF_TIME], 1);
		return 0;
	}
	if (f->expires_us <= now) {
		ST_ADD(cl, expired, 1);
		return 0;
	}
	switch (f->kind) {
	case GW_FACT_MX:
		if ((v = mx_verdict(cl, f, now)) < 0) {
			ST_ADD(cl, refused[GW_CL_REF_WEAKER], 1);
			return 0;
		}
		if (v == 0) {
			ST_ADD(cl, kept_local, 1);
			return 0;
		}
		/* live until the publisher's expiry, as the local entry would */
		gw_names_put(cl->t.names, f->af, &f->addr, f->name,
		    (uint32_t)((f->expires_us - now + 999999) / 1000000), now);
		break;
	case GW_FACT_PIN:
		if (cl->t.pins == NULL)
			return 0;
		if (f->at_us / 1000000 + cl->t.pins_max_age < now / 1000000) {
			ST_ADD(cl, expired, 1);
			return 0;
		}
		/* a pin only ever raises; last_seen never moves backwards */
		gw_pins_see(cl->t.pins, f->af, &f->addr, f->name, (int64_t)(f->at_us / 1000000));
		break;
	default:
		/* keeps the later failure of a pair (gw_fallback_note) */
		gw_fallback_note(cl->t.fb, f->af, &f->client, &f->addr, f->at_us);
		break;
	}
	pthread_mutex_lock(&cl->st_mu);
	cl->st.applied[f->kind]++;
	if (from_load)
		cl->st.loaded++;
	else {
		uint64_t lag = now > f->at_us ? now - f->at_us : 0;
		unsigned b = 0;

		while (b < GW_CLUSTER_LAG_BUCKETS && lag > gw_cluster_lag_bound_us(b))
			b++;
		cl->st.lag_bucket[b]++;
		cl->st.lag_count++;
		cl->st.lag_sum_us += lag;
	}
	pthread_mutex_unlock(&cl->st_mu);
	return 1;
}

static enum gw_cluster_refusal
refusal_of(enum gw_fact_err e)
{
	switch (e) {
	case GW_FACT_E_KIND: return GW_CL_REF_KIND;
	case GW_FACT_E_ADDR: return GW_CL_REF_ADDR;
	case GW_FACT_E_NAME: return GW_CL_REF_NAME;
	case GW_FACT_E_TIME: return GW_CL_REF_TIME;
	case GW_FACT_E_KEY:  return GW_CL_REF_KEY;
	default:             return GW_CL_REF_SYNTAX;
	}
}

int
gw_cluster_apply_line(struct gw_cluster *cl, const char *line, size_t len,
    const char *key, size_t klen, int from_load, uint64_t now)
{
	struct gw_fact f;
	enum gw_fact_err e = key != NULL ?
	    gw_fact_parse_keyed(cl->conf.prefix, key, klen, line, len, &f) :
	    gw_fact_parse(line, len, &f);

	if (e != GW_FACT_OK) {
		ST_ADD(cl, refused[refusal_of(e)], 1);
		return 0;
	}
	return apply_fact(cl, &f, from_load, now);
}

/* A pub/sub message: one fact per line. */
static void
on_message(const char *payload, size_t len, void *arg)
{
	struct gw_cluster *cl = arg;
	uint64_t now = gw_clock_us();
	size_t i = 0;

	while (i < len) {
		const char *nl = memchr(payload + i, '\n', len - i);
		size_t end = nl ? (size_t)(nl - payload) : len;

		if (end > i)
			gw_cluster_apply_line(cl, payload + i, end - i, NULL, 0, 0, now);
		i = end + 1;
	}
}

/* A key of the state load. */
static int
on_value(const char *key, size_t klen, const char *val, size_t vlen, void *arg)
{
	struct gw_cluster *cl = arg;

	cl->load_applied += (unsigned)gw_cluster_apply_line(cl, val, vlen, key, klen, 1,
	    cl->load_now_us);
	return cl->stop;
}

/* Drop both connections; log once per outage. */
static void
go_down(struct gw_cluster *cl, const char *why)
{
	int was_up = cl->pub != NULL;

	gw_redis_close(cl->pub);
	gw_redis_close(cl->sub);
	cl->pub = cl->sub = NULL;
	/* what was in flight may not have arrived: repeat it when it comes again */
	memset(cl->sent, 0, sizeof(cl->sent));
	if (was_up || !cl->logged_down) {
		pthread_mutex_lock(&cl->st_mu);
		cl->st.outages++;
		cl->st.up = 0;
		pthread_mutex_unlock(&cl->st_mu);
	}
	if (!cl->logged_down) {
		log_warnx("cluster: redis %s: %s; working on local state, reconnecting",
		    cl->conf.redis.url, why);
		cl->logged_down = 1;
		cl->down_since_us = gw_clock_us();
	}
	cl->next_try_us = gw_clock_us() + (uint64_t)cl->backoff_ms * 1000;
	/* jitter of up to a quarter, so gateways do not reconnect in step */
	cl->next_try_us += (uint64_t)(rand() % (int)(cl->backoff_ms / 4 + 1)) * 1000;
	cl->backoff_ms = cl->backoff_ms * 2 > cl->conf.backoff_max_ms ?
	    cl->conf.backoff_max_ms : cl->backoff_ms * 2;
}

/* Was the same pin, or the same MX name for this address, published
 * recently (see CL_SENT_SLOTS)? If not, remember this one. */
static int
sent_recent(struct gw_cluster *cl, const struct gw_fact *f)
{
	uint64_t h = 0xcbf29ce484222325ULL ^ f->af ^ ((uint64_t)f->kind << 8), nh = 0xcbf29ce484222325ULL;
	uint64_t window = f->kind == GW_FACT_PIN ? CL_PIN_REPUBLISH_US : CL_MX_REPUBLISH_US;
	unsigned slot;

	for (int i = 0; i < 16; i++)
		h = (h ^ f->addr.a[i]) * 0x100000001b3ULL;
	for (const char *p = f->name; *p; p++)
		nh = (nh ^ (uint8_t)*p) * 0x100000001b3ULL;
	slot = (unsigned)(h ^ (h >> 32)) % CL_SENT_SLOTS;
	if (cl->sent[slot].kind == f->kind && cl->sent[slot].af == f->af &&
	    memcmp(&cl->sent[slot].a, &f->addr, sizeof(f->addr)) == 0 &&
	    (f->kind == GW_FACT_PIN || cl->sent[slot].name_h == nh) &&
	    f->at_us >= cl->sent[slot].at_us && f->at_us - cl->sent[slot].at_us < window)
		return 1;
	cl->sent[slot].kind = f->kind;
	cl->sent[slot].af = f->af;
	cl->sent[slot].a = f->addr;
	cl->sent[slot].name_h = nh;
	cl->sent[slot].at_us = f->at_us;
	return 0;
}

/* Store and publish what the packet threads queued. 0, or -1 (down). */
static int
publish_all(struct gw_cluster *cl)
{
	char (*keys)[GW_FACT_KEY_MAX] = cl->keys, (*vals)[GW_FACT_LINE_MAX] = cl->vals;
	char (*px)[24] = cl->px, *lines = cl->lines;
	char err[256];
	size_t n;

	while ((n = gw_clq_drain(cl->q, cl->batch, CL_BATCH)) > 0) {
		uint64_t now = gw_clock_us();
		size_t off = 0;
		unsigned cmds = 0, errors = 0, facts = 0, coalesced = 0;

		for (size_t i = 0; i < n; i++) {
			struct gw_fact *f = &cl->batch[i];
			size_t kl, vl;

			if (f->expires_us <= now)
				continue;
			if (f->kind != GW_FACT_FAIL && sent_recent(cl, f)) {
				coalesced++;
				continue;
			}
			snprintf(f->origin, sizeof f->origin, "%s", cl->conf.id);
			kl = gw_fact_key(cl->conf.prefix, f, keys[facts], sizeof keys[facts]);
			vl = gw_fact_format(f, vals[facts], sizeof vals[facts]);
			if (kl == 0 || vl == 0)
				continue;
			snprintf(px[facts], sizeof px[facts], "%llu",
			    (unsigned long long)((f->expires_us + 999) / 1000));
			const char *argv[5] = { "SET", keys[facts], vals[facts], "PXAT", px[facts] };
			size_t lens[5] = { 3, kl, vl, 4, strlen(px[facts]) };
			if (gw_redis_append(cl->pub, 5, argv, lens) == -1) {
				go_down(cl, "out of memory");
				return -1;
			}
			cmds++;
			memcpy(lines + off, vals[facts], vl);
			off += vl;
			lines[off++] = '\n';
			facts++;
		}
		if (coalesced > 0)
			ST_ADD(cl, coalesced, coalesced);
		if (facts == 0)
			continue;
		{
			const char *argv[3] = { "PUBLISH", cl->conf.channel, lines };
			size_t lens[3] = { 7, strlen(cl->conf.channel), off - 1 };
			if (gw_redis_append(cl->pub, 3, argv, lens) == -1) {
				go_down(cl, "out of memory");
				return -1;
			}
			cmds++;
		}
		switch (gw_redis_collect(cl->pub, cmds, &errors, err, sizeof err)) {
		case -1:
			go_down(cl, err);
			return -1;
		case 1:
			log_warnx("cluster: redis refused %u of %u commands: %s", errors, cmds, err);
			break;
		}
		cl->last_io_us = gw_clock_us();
		pthread_mutex_lock(&cl->st_mu);
		cl->st.published += facts;
		cl->st.batches++;
		cl->st.publish_errors += errors;
		pthread_mutex_unlock(&cl->st_mu);
	}
	return 0;
}

/* Connect both links, subscribe, load the state, publish the backlog. */
static void
try_connect(struct gw_cluster *cl)
{
	char err[512], pattern[GW_FACT_PREFIX_MAX + 2];
	int auth = 0;
	uint64_t skipped = 0, t0;

	cl->pub = gw_redis_connect(&cl->conf.redis, err, sizeof err, &auth);
	if (cl->pub != NULL) {
		cl->sub = gw_redis_connect(&cl->conf.redis, err, sizeof err, &auth);
		if (cl->sub != NULL && gw_redis_subscribe(cl->sub, cl->conf.channel, err, sizeof err) == -1) {
			gw_redis_close(cl->sub);
			cl->sub = NULL;
		}
	}
	if (cl->pub == NULL || cl->sub == NULL) {
		if (auth)
			ST_ADD(cl, auth_failures, 1);
		go_down(cl, err);
		return;
	}
	/* Subscribed before loading: a fact published during the load is
	 * either in the load or in the subscription (maybe both, harmless). */
	t0 = gw_clock_us();
	cl->load_now_us = t0;
	cl->load_applied = 0;
	snprintf(pattern, sizeof pattern, "%s*", cl->conf.prefix);
	if (gw_redis_scan_values(cl->pub, pattern, on_value, cl, &skipped, err, sizeof err) == -1) {
		go_down(cl, err);
		return;
	}
	pthread_mutex_lock(&cl->st_mu);
	cl->st.connects++;
	cl->st.resyncs++;
	cl->st.up = 1;
	pthread_mutex_unlock(&cl->st_mu);
	if (cl->logged_down && cl->down_since_us != 0)
		log_info("cluster: redis %s back after %.1f s; %u facts loaded",
		    cl->conf.redis.url, (double)(t0 - cl->down_since_us) / 1e6, cl->load_applied);
	else
		log_info("cluster: redis %s connected as %s; %u facts loaded (%llu keys skipped)",
		    cl->conf.redis.url, cl->conf.id, cl->load_applied, (unsigned long long)skipped);
	cl->logged_down = 0;
	cl->down_since_us = 0;
	cl->backoff_ms = CL_BACKOFF_MIN_MS;
	cl->last_io_us = gw_clock_us();
	publish_all(cl);   /* what was learned while away */
}

/* Is the store link alive? PING it when it was quiet. */
static void
keepalive(struct gw_cluster *cl)
{
	const char *argv[1] = { "PING" };
	size_t lens[1] = { 4 };
	char err[256];

	if (gw_clock_us() - cl->last_io_us < CL_PING_US)
		return;
	if (gw_redis_append(cl->pub, 1, argv, lens) == -1 ||
	    gw_redis_collect(cl->pub, 1, NULL, err, sizeof err) == -1) {
		go_down(cl, "no answer to PING");
		return;
	}
	cl->last_io_us = gw_clock_us();
}

static void *
cl_thread(void *arg)
{
	struct gw_cluster *cl = arg;
	char err[256];

	while (!__atomic_load_n(&cl->stop, __ATOMIC_ACQUIRE)) {
		struct pollfd p[2];

		if (cl->pub == NULL) {
			uint64_t now = gw_clock_us();
			if (now >= cl->next_try_us)
				try_connect(cl);
			if (cl->pub == NULL) {
				/* the queue fills meanwhile (bounded, drops counted) */
				uint64_t wait = cl->next_try_us > now ? cl->next_try_us - now : 0;
				struct timespec ts = { 0, (long)(wait > 100000 ? 100000 : wait) * 1000L };
				nanosleep(&ts, NULL);
			}
			continue;
		}
		p[0].fd = gw_clq_fd(cl->q);
		p[0].events = POLLIN;
		p[1].fd = gw_redis_fd(cl->sub);
		p[1].events = POLLIN;
		p[0].revents = p[1].revents = 0;
		if (poll(p, 2, GW_CLQ_LAZY_MS) < 0)
			continue;
		if (p[1].revents != 0) {
			if (gw_redis_read_messages(cl->sub, on_message, cl, err, sizeof err) < 0) {
				go_down(cl, err);
				continue;
			}
		}
		if ((p[0].revents != 0 || gw_clq_len(cl->q) > 0) && publish_all(cl) == -1)
			continue;
		keepalive(cl);
	}
	return NULL;
}

int
gw_cluster_start(struct gw_cluster *cl)
{
	srand((unsigned)gw_clock_us());
	if (gw_thread_start(&cl->tid, cl_thread, cl) != 0)
		return -1;
	cl->running = 1;
	return 0;
}

void
gw_cluster_stop(struct gw_cluster *cl)
{
	if (!cl->running)
		return;
	__atomic_store_n(&cl->stop, 1, __ATOMIC_RELEASE);
	pthread_join(cl->tid, NULL);
	cl->running = 0;
}
