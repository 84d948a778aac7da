/*
 * pol_domain.c - domain policy table: entries, one hash index, lookups.
 *
 * Each entry is one allocation holding the struct, its pattern pointers and
 * its strings, made at load time. One chained hash (indices into a node
 * array, so growth never invalidates anything a lookup holds) indexes three
 * kinds of key: the recipient domain, each exact MX pattern, and the suffix
 * of each wildcard pattern ("example.net" for "*.example.net"). An MX
 * lookup is then two probes: the host itself and its parent. Lookups never
 * allocate, log, read the clock or touch files.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pol_domain.h"

/* Kinds of hash key. */
#define PD_KEY_DOMAIN 0   /* entry->domain */
#define PD_KEY_EXACT  1   /* entry->mx[i], an exact pattern */
#define PD_KEY_WILD   2   /* entry->mx[i] + 2, the suffix of "*.suffix" */

/* "No next node" in a chain. */
#define PD_NIL UINT32_MAX
/* First bucket count; doubled whenever nodes outnumber buckets. */
#define PD_BUCKETS_MIN 64

/* One index node: a key that leads to an entry. */
struct pd_node {
	uint32_t hash;   /* hash of (kind, key) */
	uint32_t next;   /* next node in the bucket chain, PD_NIL at the end */
	uint32_t entry;  /* index into t->ent */
	uint16_t mxi;    /* pattern index for PD_KEY_EXACT / PD_KEY_WILD */
	uint8_t  kind;   /* PD_KEY_* */
};

/* An entry and the storage behind its strings. */
struct pd_entry {
	struct pol_domain_entry e; /* what lookups hand out */
	const char *mxv[];         /* the pattern pointers, then the strings */
};

struct pol_domain {
	struct pd_entry **ent;  /* entries in the order added */
	size_t n_ent, cap_ent;  /* entries held / allocated */
	struct pd_node *node;   /* index nodes */
	size_t n_node, cap_node;/* nodes held / allocated */
	uint32_t *bucket;       /* chain heads, PD_NIL when empty */
	size_t n_bucket;        /* a power of two */
};

void
pol_warn_init(struct pol_warnings *w, char (*msg)[POL_WARN_LEN], size_t cap)
{
	w->msg = msg;
	w->cap = msg == NULL ? 0 : cap;
	w->n = 0;
	w->lost = 0;
}

void
pol_warn(struct pol_warnings *w, const char *fmt, ...)
{
	va_list ap;

	if (w == NULL)
		return;
	if (w->n >= w->cap) {
		w->lost++;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(w->msg[w->n], POL_WARN_LEN, fmt, ap);
	va_end(ap);
	w->n++;
}

/* FNV-1a over the kind and the key; keys come from trusted lists. */
static uint32_t
pd_hash(unsigned kind, const char *key)
{
	uint32_t h = 2166136261u ^ kind;

	h *= 16777619u;
	for (; *key; key++) {
		h ^= (unsigned char)*key;
		h *= 16777619u;
	}
	return h;
}

/* The key string a node stands for. */
static const char *
pd_node_key(const struct pol_domain *t, const struct pd_node *n)
{
	const struct pol_domain_entry *e = &t->ent[n->entry]->e;

	switch (n->kind) {
	case PD_KEY_DOMAIN: return e->domain;
	case PD_KEY_EXACT:  return e->mx[n->mxi];
	default:            return e->mx[n->mxi] + 2;
	}
}

struct pol_domain *
pol_domain_new(void)
{
	struct pol_domain *t = calloc(1, sizeof(*t));

	if (t == NULL)
		return NULL;
	t->bucket = malloc(PD_BUCKETS_MIN * sizeof(*t->bucket));
	if (t->bucket == NULL) {
		free(t);
		return NULL;
	}
	memset(t->bucket, 0xff, PD_BUCKETS_MIN * sizeof(*t->bucket));
	t->n_bucket = PD_BUCKETS_MIN;
	return t;
}

void
pol_domain_free(struct pol_domain *t)
{
	if (t == NULL)
		return;
	for (size_t i = 0; i < t->n_ent; i++)
		free(t->ent[i]);
	free(t->ent);
	free(t->node);
	free(t->bucket);
	free(t);
}

/* Double the bucket array and rechain every node. 0, or -1 out of memory. */
static int
pd_rehash(struct pol_domain *t)
{
	size_t nb = t->n_bucket * 2;
	uint32_t *b = malloc(nb * sizeof(*b));

	if (b == NULL)
		return -1;
	memset(b, 0xff, nb * sizeof(*b));
	for (size_t i = 0; i < t->n_node; i++) {
		struct pd_node *n = &t->node[i];
		size_t k = n->hash & (nb - 1);

		n->next = b[k];
		b[k] = (uint32_t)i;
	}
	free(t->bucket);
	t->bucket = b;
	t->n_bucket = nb;
	return 0;
}

/* Room for `more` nodes (and buckets to match). 0, or -1 out of memory. */
static int
pd_reserve_nodes(struct pol_domain *t, size_t more)
{
	if (t->n_node + more > t->cap_node) {
		size_t ncap = t->cap_node ? t->cap_node : 256;
		struct pd_node *nn;

		while (ncap < t->n_node + more)
			ncap *= 2;
		nn = realloc(t->node, ncap * sizeof(*nn));
		if (nn == NULL)
			return -1;
		t->node = nn;
		t->cap_node = ncap;
	}
	while (t->n_node + more > t->n_bucket)
		if (pd_rehash(t) == -1)
			return -1;
	return 0;
}

/* Append an index node; room was reserved. */
static void
pd_link(struct pol_domain *t, unsigned kind, uint32_t entry, uint16_t mxi)
{
	struct pd_node *n = &t->node[t->n_node];
	size_t k;

	n->kind = (uint8_t)kind;
	n->entry = entry;
	n->mxi = mxi;
	n->hash = pd_hash(kind, pd_node_key(t, n));
	k = n->hash & (t->n_bucket - 1);
	n->next = t->bucket[k];
	t->bucket[k] = (uint32_t)t->n_node;
	t->n_node++;
}

/* The first node of a chain matching (kind, key), from index `from` on. */
static uint32_t
pd_probe(const struct pol_domain *t, unsigned kind, const char *key,
    uint32_t hash, uint32_t from)
{
	for (uint32_t i = from; i != PD_NIL; i = t->node[i].next) {
		const struct pd_node *n = &t->node[i];

		if (n->hash == hash && n->kind == kind &&
		    strcmp(pd_node_key(t, n), key) == 0)
			return i;
	}
	return PD_NIL;
}

/* Rank of a source by precedence: lower wins. */
static int
pd_src_rank(enum pol_source s)
{
	switch (s) {
	case POL_SRC_CONFIG:  return 0;
	case POL_SRC_DANE:    return 1; /* above MTA-STS: RFC 8461 section 2 */
	case POL_SRC_MTA_STS: return 2;
	case POL_SRC_EFF:     return 3;
	default:              return 4;
	}
}

/* Effective mode of e at now; -1 when e is not usable (expired MTA-STS). */
static int
pd_effective(const struct pol_domain_entry *e, int64_t now, int *stale)
{
	int expired = e->expires != 0 && now > e->expires;

	*stale = (e->flags & POL_DOMAIN_F_STALE) != 0;
	if (!expired)
		return (int)e->mode;
	if (e->source == POL_SRC_MTA_STS || e->source == POL_SRC_DANE)
		return -1; /* past max_age / the DNS TTL: not known any more */
	if (e->source == POL_SRC_EFF && e->mode == POL_MODE_ENFORCE &&
	    !(e->flags & POL_DOMAIN_F_KEEP_ENFORCE)) {
		*stale = 1;
		return POL_MODE_TESTING;
	}
	return (int)e->mode;
}

/* Copy e (normalised) into one allocation. NULL with err on failure. */
static struct pd_entry *
pd_entry_copy(const struct pol_domain_entry *e, char *err, size_t errlen)
{
	char dom[POL_NAME_BUF];
	char pat[POL_DOMAIN_MX_MAX][POL_NAME_BUF];
	size_t plen[POL_DOMAIN_MX_MAX], np = 0, need, dlen;
	struct pd_entry *pe;
	char *s;
	int n;

	n = pol_name_norm(e->domain, e->domain ? strlen(e->domain) : 0,
	    dom, sizeof(dom), err, errlen);
	if (n < 0)
		return NULL;
	dlen = (size_t)n;
	if (e->n_mx > POL_DOMAIN_MX_MAX) {
		snprintf(err, errlen, "domain \"%s\": %zu MX patterns, at most %d allowed",
		    dom, e->n_mx, POL_DOMAIN_MX_MAX);
		return NULL;
	}
	need = sizeof(*pe) + dlen + 1;
	for (size_t i = 0; i < e->n_mx; i++) {
		char perr[128];
		const char *m = e->mx[i];
		size_t j;

		n = pol_mx_pattern_norm(m, m ? strlen(m) : 0, pat[np], sizeof(pat[np]),
		    NULL, perr, sizeof(perr));
		if (n < 0) {
			snprintf(err, errlen, "domain \"%s\": bad MX pattern: %s", dom, perr);
			return NULL;
		}
		for (j = 0; j < np; j++)
			if (strcmp(pat[j], pat[np]) == 0)
				break;
		if (j < np)
			continue;   /* same pattern in another spelling: keep one */
		plen[np] = (size_t)n;
		need += sizeof(char *) + (size_t)n + 1;
		np++;
	}
	pe = malloc(need);
	if (pe == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	pe->e = *e;
	/* STALE means "lowered from enforce": remember what the source said. */
	pe->e.listed_mode = (e->flags & POL_DOMAIN_F_STALE) ? POL_MODE_ENFORCE : e->mode;
	s = (char *)&pe->mxv[np];
	for (size_t i = 0; i < np; i++) {
		memcpy(s, pat[i], plen[i] + 1);
		pe->mxv[i] = s;
		s += plen[i] + 1;
	}
	memcpy(s, dom, dlen + 1);
	pe->e.domain = s;
	pe->e.mx = pe->mxv;
	pe->e.n_mx = np;
	return pe;
}

int
pol_domain_add(struct pol_domain *t, const struct pol_domain_entry *e,
    struct pol_warnings *w, char *err, size_t errlen)
{
	struct pd_entry *pe;
	uint32_t idx, hash, i;

	if (e->source != POL_SRC_CONFIG && e->source != POL_SRC_MTA_STS &&
	    e->source != POL_SRC_EFF && e->source != POL_SRC_DANE) {
		snprintf(err, errlen, "domain policy with an unknown source %d", (int)e->source);
		return -1;
	}
	if ((unsigned)e->mode > POL_MODE_ENFORCE) {
		snprintf(err, errlen, "domain policy with an unknown mode %d", (int)e->mode);
		return -1;
	}
	if (t->n_ent >= POL_DOMAIN_MAX) {
		snprintf(err, errlen, "more than %u domain policies", POL_DOMAIN_MAX);
		return -1;
	}
	pe = pd_entry_copy(e, err, errlen);
	if (pe == NULL)
		return -1;

	hash = pd_hash(PD_KEY_DOMAIN, pe->e.domain);
	for (i = pd_probe(t, PD_KEY_DOMAIN, pe->e.domain, hash,
	    t->bucket[hash & (t->n_bucket - 1)]); i != PD_NIL;
	    i = pd_probe(t, PD_KEY_DOMAIN, pe->e.domain, hash, t->node[i].next)) {
		const struct pol_domain_entry *o = &t->ent[t->node[i].entry]->e;

		if (o->source == pe->e.source) {
			pol_warn(w, "domain \"%.64s\" is defined twice by %s; the first definition (mode %s) is kept",
			    o->domain, pol_source_name(o->source), pol_mode_name(o->mode));
			free(pe);
			return 1;
		}
	}

	if (t->n_ent == t->cap_ent) {
		size_t ncap = t->cap_ent ? t->cap_ent * 2 : 64;
		struct pd_entry **ne = realloc(t->ent, ncap * sizeof(*ne));

		if (ne == NULL) {
			free(pe);
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		t->ent = ne;
		t->cap_ent = ncap;
	}
	if (pd_reserve_nodes(t, 1 + pe->e.n_mx) == -1) {
		free(pe);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	idx = (uint32_t)t->n_ent;
	t->ent[t->n_ent++] = pe;
	pd_link(t, PD_KEY_DOMAIN, idx, 0);
	for (size_t m = 0; m < pe->e.n_mx; m++)
		pd_link(t, pe->e.mx[m][0] == '*' ? PD_KEY_WILD : PD_KEY_EXACT, idx, (uint16_t)m);
	return 0;
}

/* Domain lookup, optionally restricted to one source (any = 1: all). */
static int
pd_find(const struct pol_domain *t, const char *domain, int any,
    enum pol_source source, int64_t now, struct pol_domain_hit *hit)
{
	char dom[POL_NAME_BUF];
	uint32_t hash, i;
	int best_rank = 99;

	memset(hit, 0, sizeof(*hit));
	if (t == NULL || domain == NULL ||
	    pol_name_norm(domain, strlen(domain), dom, sizeof(dom), NULL, 0) < 0)
		return 0;
	hash = pd_hash(PD_KEY_DOMAIN, dom);
	for (i = pd_probe(t, PD_KEY_DOMAIN, dom, hash, t->bucket[hash & (t->n_bucket - 1)]);
	    i != PD_NIL; i = pd_probe(t, PD_KEY_DOMAIN, dom, hash, t->node[i].next)) {
		const struct pol_domain_entry *e = &t->ent[t->node[i].entry]->e;
		int rank = pd_src_rank(e->source), stale, mode;

		if (!any && e->source != source)
			continue;
		mode = pd_effective(e, now, &stale);
		if (mode < 0)
			continue;
		hit->matches++;
		if (rank < best_rank) {
			best_rank = rank;
			hit->entry = e;
			hit->mode = (enum pol_mode)mode;
			hit->stale = stale;
		}
	}
	return hit->entry != NULL;
}

int
pol_domain_find(const struct pol_domain *t, const char *domain, int64_t now,
    struct pol_domain_hit *hit)
{
	return pd_find(t, domain, 1, POL_SRC_DEFAULT, now, hit);
}

int
pol_domain_find_src(const struct pol_domain *t, const char *domain,
    enum pol_source source, int64_t now, struct pol_domain_hit *hit)
{
	return pd_find(t, domain, 0, source, now, hit);
}

/* Is candidate (rank, kind, mode, entry index) better than the best so far? */
static int
pd_better(int rank, unsigned kind, int mode, uint32_t entry,
    int brank, unsigned bkind, int bmode, uint32_t bentry)
{
	if (rank != brank)
		return rank < brank;
	if (kind != bkind)
		return kind == PD_KEY_EXACT;
	if (mode != bmode)
		return mode > bmode;   /* enforce > testing > none */
	return entry < bentry;
}

int
pol_domain_match_mx(const struct pol_domain *t, const char *mx, int64_t now,
    struct pol_domain_hit *hit)
{
	char host[POL_NAME_BUF];
	const char *key[2];
	unsigned kinds[2] = { PD_KEY_EXACT, PD_KEY_WILD };
	int brank = 99, bmode = -1;
	unsigned bkind = PD_KEY_WILD;
	uint32_t bentry = PD_NIL;

	memset(hit, 0, sizeof(*hit));
	if (t == NULL || mx == NULL ||
	    pol_name_norm(mx, strlen(mx), host, sizeof(host), NULL, 0) < 0)
		return 0;
	key[0] = host;
	key[1] = pol_name_parent(host);   /* "*.suffix" matches one label more */
	for (int k = 0; k < 2; k++) {
		uint32_t hash, i;

		if (key[k] == NULL)
			continue;
		hash = pd_hash(kinds[k], key[k]);
		for (i = pd_probe(t, kinds[k], key[k], hash, t->bucket[hash & (t->n_bucket - 1)]);
		    i != PD_NIL; i = pd_probe(t, kinds[k], key[k], hash, t->node[i].next)) {
			const struct pd_node *n = &t->node[i];
			const struct pol_domain_entry *e = &t->ent[n->entry]->e;
			int stale, mode = pd_effective(e, now, &stale);
			int rank = pd_src_rank(e->source);

			if (mode < 0)
				continue;
			hit->matches++;
			if (bentry != PD_NIL && !pd_better(rank, kinds[k], mode, n->entry,
			    brank, bkind, bmode, bentry))
				continue;
			brank = rank;
			bkind = kinds[k];
			bmode = mode;
			bentry = n->entry;
			hit->entry = e;
			hit->pattern = e->mx[n->mxi];
			hit->mode = (enum pol_mode)mode;
			hit->stale = stale;
		}
	}
	return hit->entry != NULL;
}

void
pol_domain_hit_match(const struct pol_domain_hit *hit, uint16_t def_min_tls,
    struct pol_match *out)
{
	memset(out, 0, sizeof(*out));
	if (hit == NULL || hit->entry == NULL) {
		out->source = POL_SRC_DEFAULT;
		out->min_tls = def_min_tls;
		return;
	}
	out->mode = hit->mode;
	out->source = hit->entry->source;
	out->min_tls = hit->entry->min_tls ? hit->entry->min_tls : def_min_tls;
	snprintf(out->match, sizeof(out->match), "%s", hit->entry->domain);
}

size_t
pol_domain_count(const struct pol_domain *t)
{
	return t == NULL ? 0 : t->n_ent;
}

size_t
pol_domain_count_src(const struct pol_domain *t, enum pol_source source)
{
	size_t n = 0;

	for (size_t i = 0; t != NULL && i < t->n_ent; i++)
		n += t->ent[i]->e.source == source;
	return n;
}

const struct pol_domain_entry *
pol_domain_at(const struct pol_domain *t, size_t i)
{
	return t == NULL || i >= t->n_ent ? NULL : &t->ent[i]->e;
}
