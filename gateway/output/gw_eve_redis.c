/*
 * gw_eve_redis.c - EVE lines to a Redis list, channel or stream (see
 * gw_eve_redis.h).
 *
 * The ring holds [4-byte length][line] records; the tee only copies and
 * signals a condition variable, the thread does all I/O. A batch is what
 * the ring holds when the thread wakes, sent as one pipeline.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gw_clock.h"
#include "gw_thread.h"
#include "gw_eve_redis.h"
#include "gw_log.h"

/* Lines per pipelined batch. */
#define EVR_BATCH 256
#define EVR_BACKOFF_MIN_MS 100
#define EVR_BACKOFF_MAX_MS 30000
/* A line longer than this is not queued (EVE lines stay under 8 KiB). */
#define EVR_LINE_MAX 16384

struct gw_eve_redis {
	struct gw_eve_redis_conf conf;
	pthread_mutex_t mu;          /* guards the ring, stop, st */
	pthread_cond_t  cv;          /* lines queued, or stop */
	uint8_t        *ring;        /* conf.queue_bytes */
	size_t          head, used;  /* oldest byte, bytes held */
	int             stop;
	pthread_t       tid;
	struct gw_eve_redis_stats st;
	/* thread only */
	struct gw_redis *link;       /* NULL while down */
	int             logged_down;
	uint32_t        backoff_ms;
	char           *lines[EVR_BATCH];   /* a batch taken from the ring */
	size_t          lens[EVR_BATCH];
};

int
gw_eve_redis_mode_parse(const char *s)
{
	if (strcmp(s, "list") == 0 || strcmp(s, "rpush") == 0)
		return GW_EVR_RPUSH;
	if (strcmp(s, "lpush") == 0)
		return GW_EVR_LPUSH;
	if (strcmp(s, "channel") == 0 || strcmp(s, "publish") == 0)
		return GW_EVR_PUBLISH;
	if (strcmp(s, "stream") == 0 || strcmp(s, "xadd") == 0)
		return GW_EVR_XADD;
	return -1;
}

const char *
gw_eve_redis_mode_name(int mode)
{
	static const char *const n[] = { "list (RPUSH)", "list (LPUSH)", "channel (PUBLISH)",
	    "stream (XADD)" };

	return mode >= 0 && mode <= GW_EVR_XADD ? n[mode] : "?";
}

void
gw_eve_redis_conf_default(struct gw_eve_redis_conf *c)
{
	memset(c, 0, sizeof(*c));
	c->redis.timeout_ms = 1000;
	c->mode = GW_EVR_RPUSH;
	snprintf(c->key, sizeof c->key, "starttls-guard");
	c->queue_bytes = GW_EVE_REDIS_QUEUE_DEFAULT;
	c->stream_maxlen = GW_EVE_REDIS_MAXLEN_DEFAULT;
	c->events = 1 | 2 | 4;
}

/* Copy n bytes into the ring at its tail (caller checked the room). */
static void
ring_put(struct gw_eve_redis *r, const void *p, size_t n)
{
	size_t cap = r->conf.queue_bytes, tail = (r->head + r->used) % cap, first = cap - tail;

	if (first > n)
		first = n;
	memcpy(r->ring + tail, p, first);
	memcpy(r->ring, (const uint8_t *)p + first, n - first);
	r->used += n;
}

/* Copy n bytes out of the ring's head. */
static void
ring_get(struct gw_eve_redis *r, void *p, size_t n)
{
	size_t cap = r->conf.queue_bytes, first = cap - r->head;

	if (first > n)
		first = n;
	memcpy(p, r->ring + r->head, first);
	memcpy((uint8_t *)p + first, r->ring, n - first);
	r->head = (r->head + n) % cap;
	r->used -= n;
}

void
gw_eve_redis_tee(void *arg, const char *type, const char *line, size_t len)
{
	struct gw_eve_redis *r = arg;
	unsigned bit = strcmp(type, "alert") == 0 ? 1 : strcmp(type, "flow") == 0 ? 2 : 4;
	uint32_t l = (uint32_t)len;

	if (!(r->conf.events & bit))
		return;
	pthread_mutex_lock(&r->mu);
	if (len > EVR_LINE_MAX || r->used + 4 + len > r->conf.queue_bytes)
		r->st.dropped++;
	else {
		ring_put(r, &l, 4);
		ring_put(r, line, len);
		pthread_cond_signal(&r->cv);
	}
	pthread_mutex_unlock(&r->mu);
}

/* Lose the link; log once per outage. */
static void
evr_down(struct gw_eve_redis *r, const char *why)
{
	int was_up = r->link != NULL;

	gw_redis_close(r->link);
	r->link = NULL;
	pthread_mutex_lock(&r->mu);
	if (was_up || !r->logged_down)
		r->st.outages++;
	r->st.up = 0;
	pthread_mutex_unlock(&r->mu);
	if (!r->logged_down)
		log_warnx("outputs.redis: %s: %s; EVE lines queue (and are dropped when %u bytes are "
		    "waiting) until it is back", r->conf.redis.url, why, r->conf.queue_bytes);
	r->logged_down = 1;
}

/* Send lines[0..n) as one pipeline. 0, or -1 (link lost). */
static int
evr_send(struct gw_eve_redis *r, size_t n)
{
	char maxlen[24], err[256];
	unsigned errors = 0;

	snprintf(maxlen, sizeof maxlen, "%u", r->conf.stream_maxlen);
	for (size_t i = 0; i < n; i++) {
		const char *argv[7];
		size_t lens[7];
		int argc = 0;

		switch (r->conf.mode) {
		case GW_EVR_XADD:
			argv[argc++] = "XADD";
			argv[argc++] = r->conf.key;
			argv[argc++] = "MAXLEN";
			argv[argc++] = "~";
			argv[argc++] = maxlen;
			argv[argc++] = "*";
			argv[argc++] = "eve";
			break;
		default:
			argv[argc++] = r->conf.mode == GW_EVR_LPUSH ? "LPUSH" :
			    r->conf.mode == GW_EVR_PUBLISH ? "PUBLISH" : "RPUSH";
			argv[argc++] = r->conf.key;
			break;
		}
		for (int k = 0; k < argc; k++)
			lens[k] = strlen(argv[k]);
		/* the line is the last argument (XADD: the value of "eve") */
		{
			const char *av[8];
			size_t ln[8];

			memcpy(av, argv, sizeof(argv[0]) * (size_t)argc);
			memcpy(ln, lens, sizeof(lens[0]) * (size_t)argc);
			av[argc] = r->lines[i];
			ln[argc] = r->lens[i];
			if (gw_redis_append(r->link, argc + 1, av, ln) == -1)
				return -1;
		}
	}
	switch (gw_redis_collect(r->link, (unsigned)n, &errors, err, sizeof err)) {
	case -1:
		evr_down(r, err);
		return -1;
	case 1:
		log_warnx("outputs.redis: %u of %zu lines refused: %s", errors, n, err);
		break;
	}
	pthread_mutex_lock(&r->mu);
	r->st.sent += n - errors;
	r->st.errors += errors;
	pthread_mutex_unlock(&r->mu);
	return 0;
}

static void *
evr_thread(void *arg)
{
	struct gw_eve_redis *r = arg;
	uint64_t next_try = 0;
	char err[512];

	for (;;) {
		size_t n = 0;
		int stop;

		if (r->link == NULL && (gw_clock_mono_ns() / 1000000u) >= next_try) {
			r->link = gw_redis_connect(&r->conf.redis, err, sizeof err, NULL);
			if (r->link == NULL) {
				evr_down(r, err);
				next_try = (gw_clock_mono_ns() / 1000000u) + r->backoff_ms;
				r->backoff_ms = r->backoff_ms * 2 > EVR_BACKOFF_MAX_MS ?
				    EVR_BACKOFF_MAX_MS : r->backoff_ms * 2;
			} else {
				if (r->logged_down)
					log_info("outputs.redis: %s back", r->conf.redis.url);
				else
					log_info("outputs.redis: connected to %s, %s %s", r->conf.redis.url,
					    gw_eve_redis_mode_name(r->conf.mode), r->conf.key);
				r->logged_down = 0;
				r->backoff_ms = EVR_BACKOFF_MIN_MS;
				pthread_mutex_lock(&r->mu);
				r->st.up = 1;
				pthread_mutex_unlock(&r->mu);
			}
		}
		pthread_mutex_lock(&r->mu);
		if (r->link != NULL) {
			while (r->used == 0 && !r->stop)
				pthread_cond_wait(&r->cv, &r->mu);
			while (n < EVR_BATCH && r->used > 0) {
				uint32_t l;
				ring_get(r, &l, 4);
				ring_get(r, r->lines[n], l);
				r->lens[n++] = l;
			}
		} else if (!r->stop) {
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_nsec += 100 * 1000000L;
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
			pthread_cond_timedwait(&r->cv, &r->mu, &ts);
		}
		stop = r->stop;
		pthread_mutex_unlock(&r->mu);
		if (n > 0 && evr_send(r, n) == -1) {
			/* the batch is lost with the link: count it */
			pthread_mutex_lock(&r->mu);
			r->st.dropped += n;
			pthread_mutex_unlock(&r->mu);
			next_try = (gw_clock_mono_ns() / 1000000u) + r->backoff_ms;
		}
		if (stop && (r->link == NULL || n == 0))
			break;
	}
	return NULL;
}

struct gw_eve_redis *
gw_eve_redis_start(const struct gw_eve_redis_conf *c)
{
	struct gw_eve_redis *r = calloc(1, sizeof(*r));

	if (r == NULL)
		return NULL;
	r->conf = *c;
	if (r->conf.queue_bytes < 2 * EVR_LINE_MAX)
		r->conf.queue_bytes = 2 * EVR_LINE_MAX;
	r->ring = malloc(r->conf.queue_bytes);
	for (size_t i = 0; i < EVR_BATCH && r->ring != NULL; i++)
		if ((r->lines[i] = malloc(EVR_LINE_MAX)) == NULL)
			break;
	if (r->ring == NULL || r->lines[EVR_BATCH - 1] == NULL) {
		for (size_t i = 0; i < EVR_BATCH; i++)
			free(r->lines[i]);
		free(r->ring);
		free(r);
		return NULL;
	}
	r->backoff_ms = EVR_BACKOFF_MIN_MS;
	pthread_mutex_init(&r->mu, NULL);
	pthread_cond_init(&r->cv, NULL);
	if (gw_thread_start(&r->tid, evr_thread, r) != 0) {
		for (size_t i = 0; i < EVR_BATCH; i++)
			free(r->lines[i]);
		free(r->ring);
		free(r);
		return NULL;
	}
	return r;
}

void
gw_eve_redis_stop(struct gw_eve_redis *r, unsigned wait_ms)
{
	uint64_t until = (gw_clock_mono_ns() / 1000000u) + wait_ms;

	if (r == NULL)
		return;
	/* give the thread a moment to send what is queued (and to reconnect) */
	for (;;) {
		size_t used;
		pthread_mutex_lock(&r->mu);
		used = r->used;
		pthread_mutex_unlock(&r->mu);
		if (used == 0 || (gw_clock_mono_ns() / 1000000u) >= until)
			break;
		struct timespec ts = { 0, 20 * 1000000L };
		nanosleep(&ts, NULL);
	}
	pthread_mutex_lock(&r->mu);
	r->stop = 1;
	while (r->used > 0 && r->link == NULL) {   /* lines that never left */
		uint32_t l;
		ring_get(r, &l, 4);
		r->head = (r->head + l) % r->conf.queue_bytes;
		r->used -= l;
		r->st.dropped++;
	}
	pthread_cond_signal(&r->cv);
	pthread_mutex_unlock(&r->mu);
	pthread_join(r->tid, NULL);
	gw_redis_close(r->link);
	for (size_t i = 0; i < EVR_BATCH; i++)
		free(r->lines[i]);
	pthread_cond_destroy(&r->cv);
	pthread_mutex_destroy(&r->mu);
	free(r->ring);
	free(r);
}

void
gw_eve_redis_get_stats(struct gw_eve_redis *r, struct gw_eve_redis_stats *st)
{
	pthread_mutex_lock(&r->mu);
	*st = r->st;
	pthread_mutex_unlock(&r->mu);
}
