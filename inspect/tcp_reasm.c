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
	 * ones were never remembered, or were taken without a verified
	 * checksum (then an attack could hide there). */
	int below = (h->flags & (TCP_HALF_HISTLOST | TCP_HALF_UNVERIFIED)) ?
	    TCP_R_UNVERIFIED : TCP_R_OLD;

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

/* A list of chunks: sorted by sequence, disjoint (a direction's
 * out-of-order bytes, or bytes held unverified). */
struct chunk_list {
	uint32_t *head;  /* pool index of the first chunk, 0 = none */
	uint8_t  *n;     /* chunks on it, at most TCP_OOO_MAX */
};

/* Buffer [seq, seq+n) as new chunks linked after prev (0 = list head). */
static int
list_insert(struct tcp_pool *pool, struct chunk_list l, uint32_t prev, uint32_t seq,
    const uint8_t *p, uint32_t n)
{
	while (n > 0) {
		uint32_t k = n > TCP_CHUNK_DATA ? TCP_CHUNK_DATA : n, i;

		if (*l.n >= TCP_OOO_MAX || (i = chunk_get(pool)) == 0)
			return TCP_R_LIMIT;
		struct tcp_chunk *c = &pool->c[i];
		c->seq = seq;
		c->len = (uint16_t)k;
		memcpy(c->data, p, k);
		if (prev) {
			c->next = pool->c[prev].next;
			pool->c[prev].next = i;
		} else {
			c->next = *l.head;
			*l.head = i;
		}
		(*l.n)++;
		prev = i;
		seq += k;
		p += k;
		n -= k;
	}
	return 0;
}

/* Add [seq, seq+n) to a list: buffer what no chunk on it holds yet. */
static int
list_add(struct tcp_pool *pool, struct chunk_list l, uint32_t seq, const uint8_t *p,
    uint32_t n)
{
	uint32_t prev = 0, cur = *l.head;
	int res = TCP_R_OOO;

	while (n > 0) {
		struct tcp_chunk *c = cur ? &pool->c[cur] : NULL;

		if (c == NULL || !tcp_seq_lt(c->seq, seq + n)) {
			return res | list_insert(pool, l, prev, seq, p, n); /* all before c */
		}
		if (tcp_seq_lt(seq, c->seq)) {
			uint32_t k = c->seq - seq;
			int r = list_insert(pool, l, prev, seq, p, k);
			if (r)
				return res | r;
			seq += k;
			p += k;
			n -= k;
			/* the inserted chunks precede cur: advance prev to the last of them */
			while ((prev ? pool->c[prev].next : *l.head) != cur)
				prev = prev ? pool->c[prev].next : *l.head;
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

/* Segment ahead of next_seq: buffer what no earlier chunk holds. */
static int
ooo_add(struct tcp_pool *pool, struct tcp_half *h, uint32_t seq, const uint8_t *p,
    uint32_t n)
{
	return list_add(pool, (struct chunk_list){ &h->ooo, &h->ooo_n }, seq, p, n);
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

/* The held bytes' list as chunk_list sees it. */
static struct chunk_list
held_list(struct tcp_held *hd)
{
	return (struct chunk_list){ &hd->head, &hd->n };
}

int
tcp_held_add(struct tcp_pool *pool, struct tcp_held *hd, const struct tcp_half *h,
    uint32_t seq, const uint8_t *data, uint32_t len)
{
	uint32_t i = h->ooo;
	int res = 0;

	if (tcp_seq_lt(seq, h->next_seq)) {
		uint32_t k = h->next_seq - seq;
		if (k >= len)
			return TCP_R_OLD; /* all delivered already: the receiver has them */
		seq += k;
		data += k;
		len -= k;
	}
	if (seq - h->next_seq > TCP_AHEAD_MAX)
		return TCP_R_OLD;
	/* Hold only the gaps between buffered (verified) chunks. */
	while (len > 0) {
		while (i != 0 && !tcp_seq_lt(seq, pool->c[i].seq + pool->c[i].len))
			i = pool->c[i].next;
		if (i == 0 || !tcp_seq_lt(pool->c[i].seq, seq + len))
			return res | list_add(pool, held_list(hd), seq, data, len);
		const struct tcp_chunk *c = &pool->c[i];
		uint32_t k;
		if (tcp_seq_lt(seq, c->seq)) {
			k = c->seq - seq;
			res |= list_add(pool, held_list(hd), seq, data, k);
			if (res & TCP_R_LIMIT)
				return res;
			seq += k;
			data += k;
			len -= k;
		}
		k = c->seq + c->len - seq;
		if (k > len)
			k = len;
		seq += k;
		data += k;
		len -= k;
	}
	return res;
}

void
tcp_held_drop(struct tcp_pool *pool, struct tcp_held *hd, uint32_t seq, uint32_t len)
{
	uint32_t prev = 0, i = hd->head, end = seq + len;

	while (i != 0 && len > 0) {
		struct tcp_chunk *c = &pool->c[i];
		uint32_t cend = c->seq + c->len, next = c->next;

		if (!tcp_seq_lt(c->seq, end))
			break;
		if (!tcp_seq_lt(seq, cend)) {
			prev = i;
			i = next;
			continue;
		}
		if (!tcp_seq_lt(c->seq, seq) && !tcp_seq_lt(end, cend)) {
			/* wholly covered: unlink */
			if (prev)
				pool->c[prev].next = next;
			else
				hd->head = next;
			chunk_put(pool, i);
			hd->n--;
			i = next;
			continue;
		}
		if (!tcp_seq_lt(c->seq, seq)) {
			/* the front is covered: keep the tail */
			uint32_t k = end - c->seq;
			memmove(c->data, c->data + k, c->len - k);
			c->seq = end;
			c->len = (uint16_t)(c->len - k);
		} else {
			/* the back is covered (or a middle part): keep the front,
			 * and a covered middle's tail in a chunk of its own (lost
			 * when none is free: unverified bytes may always be lost) */
			uint32_t j;
			if (tcp_seq_lt(end, cend) && hd->n < TCP_OOO_MAX && (j = chunk_get(pool)) != 0) {
				struct tcp_chunk *t = &pool->c[j];
				t->seq = end;
				t->len = (uint16_t)(cend - end);
				memcpy(t->data, c->data + (end - c->seq), t->len);
				t->next = next;
				c->next = j;
				hd->n++;
			}
			c->len = (uint16_t)(seq - c->seq);
		}
		prev = i;
		i = pool->c[i].next;
	}
}

/* The highest sequence number the direction is known to have sent, + 1. */
static uint32_t
seen_end(const struct tcp_pool *pool, const struct tcp_half *h, const struct tcp_held *hd)
{
	uint32_t end = h->next_seq;
	const uint32_t lists[2] = { h->ooo, hd->head };

	for (int k = 0; k < 2; k++)
		for (uint32_t i = lists[k]; i != 0; i = pool->c[i].next)
			if (tcp_seq_lt(end, pool->c[i].seq + pool->c[i].len))
				end = pool->c[i].seq + pool->c[i].len;
	return end;
}

int
tcp_held_take(struct tcp_pool *pool, struct tcp_held *hd, struct tcp_half *h, uint32_t ack,
    tcp_deliver_fn deliver, void *ctx)
{
	int res = 0;

	if (hd->head == 0 || tcp_seq_lt(seen_end(pool, h, hd), ack))
		return 0; /* an ACK of bytes never sent: its receiver drops it */
	while (hd->head != 0) {
		uint32_t i = hd->head;
		struct tcp_chunk *c = &pool->c[i];
		uint32_t k;

		if (!tcp_seq_lt(c->seq, ack))
			break;
		k = ack - c->seq < c->len ? ack - c->seq : c->len;
		h->flags |= TCP_HALF_UNVERIFIED;
		if (k == c->len) {
			hd->head = c->next;
			hd->n--;
			res |= tcp_reasm_push(pool, h, c->seq, c->data, k, deliver, ctx);
			chunk_put(pool, i);
		} else {
			res |= tcp_reasm_push(pool, h, c->seq, c->data, k, deliver, ctx);
			memmove(c->data, c->data + k, c->len - k);
			c->seq += k;
			c->len = (uint16_t)(c->len - k);
			break;
		}
	}
	return res;
}

uint32_t
tcp_held_end(const struct tcp_pool *pool, const struct tcp_held *hd, uint32_t end)
{
	for (uint32_t i = hd->head; i != 0; i = pool->c[i].next)
		if (tcp_seq_lt(end, pool->c[i].seq + pool->c[i].len))
			end = pool->c[i].seq + pool->c[i].len;
	return end;
}

void
tcp_held_release(struct tcp_pool *pool, struct tcp_held *hd)
{
	while (hd->head != 0) {
		uint32_t next = pool->c[hd->head].next;
		chunk_put(pool, hd->head);
		hd->head = next;
	}
	hd->n = 0;
}
