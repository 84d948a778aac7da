/*
 * gw_fallback.c - recent TLS failures per client/server pair (see gw_fallback.h).
 *
 * A direct-mapped table: one slot per hash value, a newer failure of another
 * pair takes the slot. Losing an old entry only forgets an old failure.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "gw_fallback.h"

struct fb_entry {
	struct pkt_addr client, server; /* the pair */
	uint64_t ts_us;                 /* last failure, 0 = empty */
	uint8_t  af;
};

struct gw_fallback {
	pthread_mutex_t  lock;
	uint32_t         mask;
	uint64_t         seed;
	struct fb_entry *e;
};

struct gw_fallback *
gw_fallback_new(uint32_t entries, uint64_t seed)
{
	struct gw_fallback *fb = calloc(1, sizeof(*fb));
	uint32_t n = 1;

	if (fb == NULL)
		return NULL;
	while (n < entries && n < (1u << 24))
		n <<= 1;
	if ((fb->e = calloc(n, sizeof(*fb->e))) == NULL) {
		free(fb);
		return NULL;
	}
	fb->mask = n - 1;
	fb->seed = seed | 1;
	pthread_mutex_init(&fb->lock, NULL);
	return fb;
}

void
gw_fallback_free(struct gw_fallback *fb)
{
	if (fb == NULL)
		return;
	pthread_mutex_destroy(&fb->lock);
	free(fb->e);
	free(fb);
}

/* Slot of a pair (FNV-1a over both addresses, seeded). */
static uint32_t
fb_slot(const struct gw_fallback *fb, const struct pkt_addr *c, const struct pkt_addr *s)
{
	uint64_t h = 0xcbf29ce484222325ULL ^ fb->seed;

	for (int i = 0; i < 16; i++)
		h = (h ^ c->a[i]) * 0x100000001b3ULL;
	for (int i = 0; i < 16; i++)
		h = (h ^ s->a[i]) * 0x100000001b3ULL;
	return (uint32_t)(h ^ (h >> 32)) & fb->mask;
}

void
gw_fallback_note(struct gw_fallback *fb, uint8_t af, const struct pkt_addr *client,
    const struct pkt_addr *server, uint64_t ts_us)
{
	struct fb_entry *e = &fb->e[fb_slot(fb, client, server)];

	pthread_mutex_lock(&fb->lock);
	/* the same pair keeps its later failure: an older report (another
	 * gateway's, or a replay going back) must not shorten the window */
	if (e->ts_us > ts_us && e->af == af && memcmp(&e->client, client, sizeof(*client)) == 0 &&
	    memcmp(&e->server, server, sizeof(*server)) == 0) {
		pthread_mutex_unlock(&fb->lock);
		return;
	}
	e->client = *client;
	e->server = *server;
	e->af = af;
	e->ts_us = ts_us ? ts_us : 1;
	pthread_mutex_unlock(&fb->lock);
}

int
gw_fallback_recent(struct gw_fallback *fb, uint8_t af, const struct pkt_addr *client,
    const struct pkt_addr *server, uint64_t ts_us, uint32_t window_s)
{
	const struct fb_entry *e = &fb->e[fb_slot(fb, client, server)];
	int hit;

	pthread_mutex_lock(&fb->lock);
	hit = e->ts_us != 0 && e->af == af &&
	    memcmp(&e->client, client, sizeof(*client)) == 0 &&
	    memcmp(&e->server, server, sizeof(*server)) == 0 &&
	    ts_us >= e->ts_us && ts_us - e->ts_us <= (uint64_t)window_s * 1000000;
	pthread_mutex_unlock(&fb->lock);
	return hit;
}
