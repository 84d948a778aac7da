/*
 * tcp_reasm.c - per-direction TCP reassembly over a bounded chunk pool
 * (see tcp_reasm.h).
 *
 * Invariants of a direction: its out-of-order chunks are sorted by sequence,
 * never overlap each other, and all lie at or beyond next_seq; its history
 * chunk is a ring indexed by sequence number modulo TCP_HIST_MAX holding the
 * hist_len bytes just below next_seq. First copy wins everywhere: bytes
 * already delivered or already buffered are never replaced.
 */
#include <stdlib.h>
#include <string.h>

#include "tcp_reasm.h"

/* Segments further ahead than this are bogus (no window is this large
 * during an SMTP cleartext phase): ignore rather than buffer. */
#define TCP_AHEAD_MAX (1u << 20)

#define TCP_HIST_MASK (TCP_HIST_MAX - 1)

struct tcp_chunk {
	uint32_t next;                /* next chunk in its list (0 = end) */
	uint32_t seq;                 /* sequence number of data[0] */
	uint16_t len;                 /* bytes used in data */
	uint8_t  data[TCP_CHUNK_DATA];
};

struct tcp_pool {
	uint32_t nchunks;             /* capacity; chunk 0 is never used */
	uint32_t free;                /* head of the list of returned chunks */
	uint32_t unused;              /* chunks [unused + 1, nchunks] never lent: untouched pages */
	uint32_t in_use;              /* borrowed now */
	uint64_t exhausted;           /* wanted one, had none */
	uint64_t reclaims;            /* reclaim callback calls */
	tcp_reclaim_fn reclaim;       /* asked for chunks when empty, NULL = none */
	void    *reclaim_ctx;
	int      reclaiming;          /* inside the callback: no recursion */
	struct tcp_chunk *c;          /* nchunks + 1 chunks */
};

struct tcp_pool *
tcp_pool_new(uint32_t nchunks)
{
	struct tcp_pool *pool = calloc(1, sizeof(*pool));

	if (pool == NULL)
		return NULL;
	pool->c = calloc((size_t)nchunks + 1, sizeof(*pool->c));
	if (pool->c == NULL) {
		free(pool);
		return NULL;
	}
	pool->nchunks = nchunks;
	return pool;
}

void
tcp_pool_free(struct tcp_pool *pool)
{
	if (pool == NULL)
		return;
	free(pool->c);
	free(pool);
}

void
tcp_pool_get_stats(const struct tcp_pool *pool, struct tcp_pool_stats *st)
{
	st->chunks = pool->nchunks;
	st->in_use = pool->in_use;
	st->exhausted = pool->exhausted;
	st->reclaims = pool->reclaims;
}

void
tcp_pool_set_reclaim(struct tcp_pool *pool, tcp_reclaim_fn fn, void *ctx)
{
	pool->reclaim = fn;
	pool->reclaim_ctx = ctx;
}

/* Borrow a chunk; 0 when the pool is empty. */
static uint32_t
chunk_get(struct tcp_pool *pool)
{
	uint32_t i = pool->free;

	if (i == 0 && pool->unused >= pool->nchunks && pool->reclaim != NULL &&
	    !pool->reclaiming) {
		pool->reclaiming = 1;
		pool->reclaims++;
		pool->reclaim(pool->reclaim_ctx);
		pool->reclaiming = 0;
		i = pool->free;
	}
	if (i != 0) {
		pool->free = pool->c[i].next;
	} else if (pool->unused < pool->nchunks) {
		i = ++pool->unused;
	} else {
		pool->exhausted++;
		return 0;
	}
	pool->c[i].next = 0;
	pool->c[i].len = 0;
	pool->in_use++;
	return i;
}

static void
chunk_put(struct tcp_pool *pool, uint32_t i)
{
	pool->c[i].next = pool->free;
	pool->free = i;
	pool->in_use--;
}

void
tcp_half_init(struct tcp_half *h, uint32_t next_seq)
{
	memset(h, 0, sizeof(*h));
	h->next_seq = next_seq;
	h->flags = TCP_HALF_ISN;
}

int
tcp_half_drop_history(struct tcp_pool *pool, struct tcp_half *h)
{
	if (h->hist == 0)
		return 0;
	chunk_put(pool, h->hist);
	h->hist = 0;
	h->hist_len = 0;
	h->flags |= TCP_HALF_HISTLOST;
	return 1;
}

void
tcp_half_release(struct tcp_pool *pool, struct tcp_half *h)
{
	while (h->ooo) {
		uint32_t next = pool->c[h->ooo].next;
		chunk_put(pool, h->ooo);
		h->ooo = next;
	}
	h->ooo_n = 0;
	if (h->hist) {
		chunk_put(pool, h->hist);
		h->hist = 0;
	}
	h->hist_len = 0;
	h->flags |= TCP_HALF_NOHIST;
}

/* Remember bytes about to be delivered at next_seq. */
static void
hist_record(struct tcp_pool *pool, struct tcp_half *h, const uint8_t *p, uint32_t n)
{
	uint32_t seq = h->next_seq;

	if (h->flags & TCP_HALF_NOHIST)
		return;
	if (h->hist == 0 && (h->hist = chunk_get(pool)) == 0) {
		h->flags |= TCP_HALF_HISTLOST;
		return;
	}
	if (n > TCP_HIST_MAX) {
		p += n - TCP_HIST_MAX;
		seq += n - TCP_HIST_MAX;
		n = TCP_HIST_MAX;
	}
	uint8_t *ring = pool->c[h->hist].data;
	uint32_t at = seq & TCP_HIST_MASK, first = TCP_HIST_MAX - at;
	if (first > n)
		first = n;
	memcpy(ring + at, p, first);
	memcpy(ring, p + first, n - first);
	h->hist_len = (uint16_t)(h->hist_len + n > TCP_HIST_MAX ? TCP_HIST_MAX : h->hist_len + n);
}

/* Deliver in-order bytes; returns the callback's stop request. */
static int
emit(struct tcp_pool *pool, struct tcp_half *h, const uint8_t *p, uint32_t n,
    tcp_deliver_fn deliver, void *ctx, int *res)
{
	if (n == 0)
		return 0;
	hist_record(pool, h, p, n);
	h->next_seq += n;
	*res |= TCP_R_DELIVERED;
	return deliver(ctx, p, n);
}

void
tcp_half_skip(struct tcp_pool *pool, struct tcp_half *h, const uint8_t *p, uint32_t n)
{
	hist_record(pool, h, p, n);
	h->next_seq += n;
}

/* Copy src over dst where they differ; returns the bytes changed. */
static uint32_t
overwrite(uint8_t *dst, const uint8_t *src, uint32_t n)
{
	uint32_t changed = 0;

	for (uint32_t j = 0; j < n; j++)
		if (dst[j] != src[j]) {
			dst[j] = src[j];
			changed++;
		}
	return changed;
}

uint32_t
tcp_reasm_first_copy(const struct tcp_pool *pool, const struct tcp_half *h,
    uint32_t seq, uint8_t *data, uint32_t len)
{
	uint32_t changed = 0;

	/* Below next_seq: the remembered delivered bytes, a ring. */
	if (h->hist != 0 && len > 0 && tcp_seq_lt(seq, h->next_seq)) {
		uint32_t lo = h->next_seq - h->hist_len, from = 0, to = h->next_seq - seq;
		const uint8_t *ring = pool->c[h->hist].data;

		if (to > len)
			to = len;
		if (tcp_seq_lt(seq, lo))
			from = lo - seq < to ? lo - seq : to;
		for (uint32_t j = from; j < to; j++)
			if (data[j] != ring[(seq + j) & TCP_HIST_MASK]) {
				data[j] = ring[(seq + j) & TCP_HIST_MASK];
				changed++;
			}
	}
	/* At or beyond next_seq: the buffered chunks (sorted, disjoint). */
	for (uint32_t i = h->ooo; i != 0; i = pool->c[i].next) {
		const struct tcp_chunk *c = &pool->c[i];
		uint32_t a = c->seq, b = c->seq + c->len;

		if (!tcp_seq_lt(a, seq + len))
			break;
		if (!tcp_seq_lt(seq, b))
			continue;
		if (tcp_seq_lt(a, seq))
			a = seq;
		if (tcp_seq_lt(seq + len, b))
			b = seq + len;
		changed += overwrite(data + (a - seq), c->data + (a - c->seq), b - a);
	}
	return changed;
}

/* Compare a retransmission of delivered bytes [seq, seq+n) with history.
 * Returns TCP_R_CONFLICT, TCP_R_OLD (nothing verifiable) or 0. */
static int
hist_compare(struct tcp_pool *pool, const struct tcp_half *h, uint32_t seq,
    const uint8_t *p, uint32_t n)
{
	uint32_t lo = h->next_seq - h->hist_len, skip = 0;
	/* Bytes below the remembered ones: merely old, unless some recent
	 * ones were never remembered (then an attack could hide there). */
	int below = (h->flags & TCP_HALF_HISTLOST) ? TCP_R_UNVERIFIED : TCP_R_OLD;

	if (h->hist == 0)
		return below;
	if (tcp_seq_lt(seq, lo)) {
		skip = lo - seq;
		if (skip >= n)
			return below;
	}
	const uint8_t *ring = pool->c[h->hist].data;
	for (uint32_t j = skip; j < n; j++)
		if (ring[(seq + j) & TCP_HIST_MASK] != p[j])
			return TCP_R_CONFLICT;
	return skip ? (below & TCP_R_UNVERIFIED) : 0;
}

/* Buffer [seq, seq+n) as new chunks linked after prev (0 = list head). */
static int
ooo_insert(struct tcp_pool *pool, struct tcp_half *h, uint32_t prev, uint32_t seq,
    const uint8_t *p, uint32_t n)
{
	while (n > 0) {
		uint32_t k = n > TCP_CHUNK_DATA ? TCP_CHUNK_DATA : n, i;

		if (h->ooo_n >= TCP_OOO_MAX || (i = chunk_get(pool)) == 0)
			return TCP_R_LIMIT;
		struct tcp_chunk *c = &pool->c[i];
		c->seq = seq;
		c->len = (uint16_t)k;
		memcpy(c->data, p, k);
		if (prev) {
			c->next = pool->c[prev].next;
			pool->c[prev].next = i;
		} else {
			c->next = h->ooo;
			h->ooo = i;
		}
		h->ooo_n++;
		prev = i;
		seq += k;
		p += k;
		n -= k;
	}
	return 0;
}

/* Segment ahead of next_seq: buffer what no earlier chunk holds. */
static int
ooo_add(struct tcp_pool *pool, struct tcp_half *h, uint32_t seq, const uint8_t *p,
    uint32_t n)
{
	uint32_t prev = 0, cur = h->ooo;
	int res = TCP_R_OOO;

	while (n > 0) {
		struct tcp_chunk *c = cur ? &pool->c[cur] : NULL;

		if (c == NULL || !tcp_seq_lt(c->seq, seq + n)) {
			return res | ooo_insert(pool, h, prev, seq, p, n); /* all before c */
		}
		if (tcp_seq_lt(seq, c->seq)) {
			uint32_t k = c->seq - seq;
			int r = ooo_insert(pool, h, prev, seq, p, k);
			if (r)
				return res | r;
			seq += k;
			p += k;
			n -= k;
			/* the inserted chunks precede cur: advance prev to the last of them */
			while ((prev ? pool->c[prev].next : h->ooo) != cur)
				prev = prev ? pool->c[prev].next : h->ooo;
			continue;
		}
		uint32_t cend = c->seq + c->len;
		if (tcp_seq_lt(seq, cend)) {
			uint32_t off = seq - c->seq, k = cend - seq;
			if (k > n)
				k = n;
			res |= TCP_R_RETRANS;
			if (memcmp(c->data + off, p, k) != 0)
				res |= TCP_R_CONFLICT;
			seq += k;
			p += k;
			n -= k;
		}
		prev = cur;
		cur = c->next;
	}
	return res;
}

/* Deliver the first buffered chunk and give it back; returns the stop
 * request. Unlinked before delivery, so the list is sound whatever the
 * callback does. */
static int
ooo_pop_emit(struct tcp_pool *pool, struct tcp_half *h, tcp_deliver_fn deliver,
    void *ctx, int *res)
{
	uint32_t idx = h->ooo;
	struct tcp_chunk *c = &pool->c[idx];
	int stop;

	h->ooo = c->next;
	h->ooo_n--;
	stop = emit(pool, h, c->data, c->len, deliver, ctx, res);
	chunk_put(pool, idx);
	return stop;
}

int
tcp_reasm_push(struct tcp_pool *pool, struct tcp_half *h, uint32_t seq,
    const uint8_t *data, uint32_t len, tcp_deliver_fn deliver, void *ctx)
{
	int res = 0;

	if (len == 0)
		return 0;
	if (tcp_seq_lt(seq, h->next_seq)) {
		uint32_t behind = h->next_seq - seq, k = behind < len ? behind : len;
		res |= TCP_R_RETRANS | hist_compare(pool, h, seq, data, k);
		if (k == len)
			return res;
		res &= ~TCP_R_OLD;
		seq += k;
		data += k;
		len -= k;
	}
	if (seq - h->next_seq > TCP_AHEAD_MAX)
		return res | TCP_R_OLD;
	if (seq != h->next_seq)
		return res | ooo_add(pool, h, seq, data, len);

	/* In order: deliver straight from the packet, yielding to bytes that
	 * were buffered earlier (they came first, so they win). */
	while (len > 0) {
		struct tcp_chunk *c = h->ooo ? &pool->c[h->ooo] : NULL;

		if (c == NULL || !tcp_seq_lt(c->seq, seq + len)) {
			if (emit(pool, h, data, len, deliver, ctx, &res))
				return res;
			break;
		}
		if (c->seq != seq) {
			uint32_t k = c->seq - seq;
			if (emit(pool, h, data, k, deliver, ctx, &res))
				return res;
			seq += k;
			data += k;
			len -= k;
		}
		uint32_t k = len < c->len ? len : c->len;
		if (memcmp(c->data, data, k) != 0)
			res |= TCP_R_CONFLICT;
		res |= TCP_R_RETRANS;
		seq += k;
		data += k;
		len -= k;
		if (ooo_pop_emit(pool, h, deliver, ctx, &res))
			return res;
	}
	/* Drain chunks that now continue the stream. */
	while (h->ooo && pool->c[h->ooo].seq == h->next_seq)
		if (ooo_pop_emit(pool, h, deliver, ctx, &res))
			return res;
	return res;
}
