/*
 * hsbuf.c - bounded pool of TLS handshake buffers (see hsbuf.h).
 */
#include <stdlib.h>
#include <string.h>

#include "hsbuf.h"

struct hsbuf_pool {
	uint32_t      n;         /* capacity */
	uint32_t      unused;    /* buffers [unused + 1, n] never lent */
	uint32_t      in_use;
	uint64_t      exhausted;
	uint64_t      overflows;
	uint16_t     *free;      /* stack of returned indices */
	uint32_t      nfree;
	struct hsbuf *buf;       /* n buffers; index i is buf[i - 1] */
};

struct hsbuf_pool *
hsbuf_pool_new(uint32_t n)
{
	struct hsbuf_pool *pool;

	if (n == 0 || n > HSBUF_MAX || (pool = calloc(1, sizeof(*pool))) == NULL)
		return NULL;
	pool->free = calloc(n, sizeof(*pool->free));
	pool->buf = calloc(n, sizeof(*pool->buf));
	if (pool->free == NULL || pool->buf == NULL) {
		hsbuf_pool_free(pool);
		return NULL;
	}
	pool->n = n;
	return pool;
}

void
hsbuf_pool_free(struct hsbuf_pool *pool)
{
	if (pool == NULL)
		return;
	free(pool->free);
	free(pool->buf);
	free(pool);
}

uint16_t
hsbuf_get(struct hsbuf_pool *pool)
{
	uint16_t i;

	if (pool->nfree > 0)
		i = pool->free[--pool->nfree];
	else if (pool->unused < pool->n)
		i = (uint16_t)++pool->unused;
	else {
		pool->exhausted++;
		return 0;
	}
	pool->buf[i - 1].len = 0;
	pool->buf[i - 1].over = 0;
	pool->in_use++;
	return i;
}

void
hsbuf_put(struct hsbuf_pool *pool, uint16_t idx)
{
	if (idx == 0 || idx > pool->n)
		return;
	pool->free[pool->nfree++] = idx;
	pool->in_use--;
}

struct hsbuf *
hsbuf_at(struct hsbuf_pool *pool, uint16_t idx)
{
	return &pool->buf[idx - 1];
}

void
hsbuf_append(struct hsbuf_pool *pool, uint16_t idx, const uint8_t *p, size_t n)
{
	struct hsbuf *b = &pool->buf[idx - 1];
	size_t room = HSBUF_SIZE - b->len;

	if (n > room) {
		if (!b->over)
			pool->overflows++;
		b->over = 1;
		n = room;
	}
	memcpy(b->data + b->len, p, n);
	b->len += (uint32_t)n;
}

void
hsbuf_pool_get_stats(const struct hsbuf_pool *pool, struct hsbuf_pool_stats *st)
{
	st->buffers = pool->n;
	st->in_use = pool->in_use;
	st->exhausted = pool->exhausted;
	st->overflows = pool->overflows;
}
