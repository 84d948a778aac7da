/*
 * flow.c - the bounded flow table (see flow.h).
 *
 * Flows are slots of one array, found through a power-of-two bucket array of
 * chained indices (index + 1, so 0 means "none") and ordered newest-to-oldest
 * on an intrusive LRU list. The hash is symmetric in the two endpoints, so a
 * packet of either direction costs one hash; it is keyed by the caller's
 * random seed so a remote peer cannot aim collisions at one bucket.
 */
#include <stdlib.h>
#include <string.h>

#include "flow.h"

_Static_assert(sizeof(struct flow) <= 256, "a tracked flow must stay within 256 bytes");

struct flow_table {
	uint32_t     cap;        /* slots */
	uint32_t     mask;       /* buckets - 1 */
	uint32_t    *bucket;     /* first slot index + 1 per bucket */
	struct flow *slot;       /* cap flows */
	uint32_t     free;       /* list of freed slots (index + 1, chained through hnext) */
	uint32_t     unused;     /* slots [unused, cap) were never handed out: their pages
	                            stay untouched until the table really grows */
	uint32_t     newest;     /* LRU head, index + 1 */
	uint32_t     oldest;     /* LRU tail, index + 1 */
	uint64_t     seed;       /* hash key */
	uint64_t     next_id;    /* flow ids: seed-derived high bits, counter low bits */
	struct flow_stats st;
};

/* 64-bit mixer (splitmix64 finaliser). */
static uint64_t
mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return x;
}

/* Hash of one endpoint (address words and port), seeded. */
static uint64_t
endpoint_hash(uint64_t seed, const struct pkt_addr *a, uint16_t port)
{
	uint64_t w0, w1;

	memcpy(&w0, a->a, 8);
	memcpy(&w1, a->a + 8, 8);
	return mix64(mix64(seed ^ w0) ^ w1 ^ ((uint64_t)port << 7));
}

/* Symmetric flow hash: the same for both directions of a connection. */
static uint32_t
flow_hash(uint64_t seed, uint8_t af, const struct pkt_addr *a,
    uint16_t ap, const struct pkt_addr *b, uint16_t bp)
{
	uint64_t x = endpoint_hash(seed, a, ap), y = endpoint_hash(seed, b, bp);

	return (uint32_t)mix64((x + y) ^ (x ^ y) * 0x9e3779b97f4a7c15ULL ^ af);
}

uint32_t
flow_key_hash(uint64_t seed, const struct flow_key *k)
{
	return flow_hash(seed, k->af, &k->caddr, k->cport, &k->saddr, k->sport);
}

struct flow_table *
flow_table_new(uint32_t max_flows, uint64_t seed)
{
	struct flow_table *t;
	uint32_t nb = 1;

	if (max_flows == 0 || max_flows > (1u << 30))
		return NULL;
	while (nb < max_flows)
		nb <<= 1;
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	t->bucket = calloc(nb, sizeof(*t->bucket));
	t->slot = calloc(max_flows, sizeof(*t->slot));
	if (t->bucket == NULL || t->slot == NULL) {
		flow_table_free(t);
		return NULL;
	}
	t->cap = max_flows;
	t->mask = nb - 1;
	t->seed = mix64(seed ^ 0x5354472d666c6f77ULL);
	t->next_id = ((t->seed & 0xfff) << 40) + 1;
	t->st.capacity = max_flows;
	return t;
}

void
flow_table_free(struct flow_table *t)
{
	if (t == NULL)
		return;
	free(t->bucket);
	free(t->slot);
	free(t);
}

/* Unlink slot i (index + 1) from the LRU list. */
static void
lru_unlink(struct flow_table *t, uint32_t i)
{
	struct flow *f = &t->slot[i - 1];

	if (f->lru_prev)
		t->slot[f->lru_prev - 1].lru_next = f->lru_next;
	else
		t->newest = f->lru_next;
	if (f->lru_next)
		t->slot[f->lru_next - 1].lru_prev = f->lru_prev;
	else
		t->oldest = f->lru_prev;
	f->lru_prev = f->lru_next = 0;
}

/* Put slot i (index + 1) at the newest end. */
static void
lru_push(struct flow_table *t, uint32_t i)
{
	struct flow *f = &t->slot[i - 1];

	f->lru_prev = 0;
	f->lru_next = t->newest;
	if (t->newest)
		t->slot[t->newest - 1].lru_prev = i;
	t->newest = i;
	if (t->oldest == 0)
		t->oldest = i;
}

struct flow *
flow_lookup(struct flow_table *t, const struct pkt *p, int *dir)
{
	size_t alen = p->af == 4 ? 4 : 16;
	uint32_t h = flow_hash(t->seed, p->af, &p->src, p->sport, &p->dst, p->dport) & t->mask;

	for (uint32_t i = t->bucket[h]; i; i = t->slot[i - 1].hnext) {
		struct flow *f = &t->slot[i - 1];
		const struct flow_key *k = &f->key;

		if (k->af != p->af)
			continue;
		if (k->cport == p->sport && k->sport == p->dport &&
		    memcmp(k->caddr.a, p->src.a, alen) == 0 &&
		    memcmp(k->saddr.a, p->dst.a, alen) == 0) {
			*dir = FLOW_TO_SERVER;
			return f;
		}
		if (k->cport == p->dport && k->sport == p->sport &&
		    memcmp(k->caddr.a, p->dst.a, alen) == 0 &&
		    memcmp(k->saddr.a, p->src.a, alen) == 0) {
			*dir = FLOW_TO_CLIENT;
			return f;
		}
	}
	return NULL;
}

struct flow *
flow_create(struct flow_table *t, const struct pkt *p, uint64_t ts_us)
{
	uint32_t i = t->free, h;
	struct flow *f;

	if (i != 0)
		t->free = t->slot[i - 1].hnext;
	else if (t->unused < t->cap)
		i = ++t->unused;
	else
		return NULL;
	f = &t->slot[i - 1];
	memset(f, 0, sizeof(*f));
	f->key.af = p->af;
	f->key.caddr = p->src;
	f->key.saddr = p->dst;
	f->key.cport = p->sport;
	f->key.sport = p->dport;
	f->id = t->next_id++;
	f->start_us = ts_us;
	f->last_sec = (uint32_t)(ts_us / 1000000);
	smtp_init(&f->smtp);
	h = flow_hash(t->seed, p->af, &p->src, p->sport, &p->dst, p->dport) & t->mask;
	f->hnext = t->bucket[h];
	t->bucket[h] = i;
	lru_push(t, i);
	t->st.active++;
	t->st.created++;
	return f;
}

void
flow_touch(struct flow_table *t, struct flow *f, uint64_t ts_us)
{
	uint32_t i = (uint32_t)(f - t->slot) + 1;

	f->last_sec = (uint32_t)(ts_us / 1000000);
	if (t->newest != i) {
		lru_unlink(t, i);
		lru_push(t, i);
	}
}

struct flow *
flow_oldest(const struct flow_table *t)
{
	return t->oldest ? &t->slot[t->oldest - 1] : NULL;
}

struct flow *
flow_newer(const struct flow_table *t, const struct flow *f)
{
	return f->lru_prev ? &t->slot[f->lru_prev - 1] : NULL;
}

void
flow_remove(struct flow_table *t, struct flow *f, int why)
{
	uint32_t i = (uint32_t)(f - t->slot) + 1;
	uint32_t h = flow_hash(t->seed, f->key.af, &f->key.caddr, f->key.cport,
	    &f->key.saddr, f->key.sport) & t->mask;
	uint32_t *pp = &t->bucket[h];

	while (*pp && *pp != i)
		pp = &t->slot[*pp - 1].hnext;
	if (*pp == i)
		*pp = f->hnext;
	lru_unlink(t, i);
	f->hnext = t->free;
	t->free = i;
	t->st.active--;
	if (why == FLOW_REMOVE_EVICTED)
		t->st.evicted++;
	else if (why == FLOW_REMOVE_EXPIRED)
		t->st.expired++;
	else
		t->st.removed++;
}

int
flow_table_full(const struct flow_table *t)
{
	return t->free == 0 && t->unused == t->cap;
}

void
flow_table_get_stats(const struct flow_table *t, struct flow_stats *st)
{
	*st = t->st;
}

void
flow_table_walk(struct flow_table *t, void (*fn)(void *, struct flow *), void *ctx)
{
	for (uint32_t i = t->oldest; i; i = t->slot[i - 1].lru_prev)
		fn(ctx, &t->slot[i - 1]);
}
