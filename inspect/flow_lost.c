/*
 * flow_lost.c - the memory of connections lost mid-inspection (flow_lost.h).
 *
 * Open addressing over a power-of-two array: a key lives in one of
 * FLOW_LOST_PROBE slots from its seeded hash (flow_key_hash, the flow
 * table's own), so a lookup costs at most that many key compares. Adding
 * to a full neighbourhood overwrites the entry lost longest ago there
 * among those without FLOW_LOST_F_KEEP, else among all: the memory stays
 * bounded under a flood, and what it forgets first is what matters least.
 */
#include <stdlib.h>
#include <string.h>

#include "flow_lost.h"

/* Slots probed per key: bounds the work per lookup. */
#define FLOW_LOST_PROBE 8

struct flow_lost {
	struct flow_lost_entry *e;  /* mask + 1 entries */
	uint32_t mask;              /* entries - 1 */
	uint32_t n;                 /* entries in use */
	uint64_t seed;              /* hash key */
};

struct flow_lost *
flow_lost_new(uint32_t cap, uint64_t seed)
{
	struct flow_lost *l;
	uint32_t n = FLOW_LOST_PROBE;

	if (cap == 0 || cap > (1u << 30))
		return NULL;
	while (n < cap)
		n <<= 1;
	if ((l = calloc(1, sizeof(*l))) == NULL)
		return NULL;
	if ((l->e = calloc(n, sizeof(*l->e))) == NULL) {
		free(l);
		return NULL;
	}
	l->mask = n - 1;
	l->seed = seed;
	return l;
}

void
flow_lost_free(struct flow_lost *l)
{
	if (l == NULL)
		return;
	free(l->e);
	free(l);
}

/* Is slot e holding key k? */
static int
same_key(const struct flow_lost_entry *e, const struct flow_key *k)
{
	return e->why != 0 && e->key.af == k->af && e->key.cport == k->cport &&
	    e->key.sport == k->sport && memcmp(&e->key.caddr, &k->caddr, sizeof(k->caddr)) == 0 &&
	    memcmp(&e->key.saddr, &k->saddr, sizeof(k->saddr)) == 0;
}

/* The slot holding k, or NULL. */
static struct flow_lost_entry *
find(const struct flow_lost *l, const struct flow_key *k)
{
	uint32_t h = flow_key_hash(l->seed, k);

	for (uint32_t i = 0; i < FLOW_LOST_PROBE; i++) {
		struct flow_lost_entry *e = &l->e[(h + i) & l->mask];
		if (same_key(e, k))
			return e;
	}
	return NULL;
}

/* Is a a better slot to overwrite than b? Not kept before kept, then the
 * one lost longest ago. */
static int
worse(const struct flow_lost_entry *a, const struct flow_lost_entry *b)
{
	int ka = (a->flags & FLOW_LOST_F_KEEP) != 0, kb = (b->flags & FLOW_LOST_F_KEEP) != 0;

	if (ka != kb)
		return kb;
	return (int32_t)(a->sec - b->sec) < 0;
}

void
flow_lost_add(struct flow_lost *l, const struct flow_lost_entry *in)
{
	const struct flow_key *k = &in->key;
	struct flow_lost_entry *e = find(l, k), *c;
	uint32_t h;

	if (e == NULL) {
		h = flow_key_hash(l->seed, k);
		for (uint32_t i = 0; i < FLOW_LOST_PROBE; i++) {
			c = &l->e[(h + i) & l->mask];
			if (c->why == 0) {
				e = c;
				break;
			}
			if (e == NULL || worse(c, e))
				e = c;
		}
		if (e->why == 0)
			l->n++;
	}
	*e = *in;
	memset(e->key.pad, 0, sizeof(e->key.pad));
	if (e->why == 0)
		e->why = FLOW_LOST_EXPIRED;
}

int
flow_lost_take(struct flow_lost *l, const struct flow_key *k, struct flow_lost_entry *out)
{
	struct flow_lost_entry *e = find(l, k);

	if (e == NULL)
		return 0;
	if (out != NULL)
		*out = *e;
	memset(e, 0, sizeof(*e));
	l->n--;
	return 1;
}

uint32_t
flow_lost_count(const struct flow_lost *l)
{
	return l->n;
}

size_t
flow_lost_bytes(const struct flow_lost *l)
{
	return sizeof(*l) + ((size_t)l->mask + 1) * sizeof(*l->e);
}
