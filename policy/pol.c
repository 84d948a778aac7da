/*
 * pol.c - server-address rules (CIDR, IPv4 and IPv6) and the default policy.
 *
 * Rules are kept per family, sorted by prefix length, longest first, so a
 * lookup returns the first rule that covers the address: the longest prefix
 * wins, whatever the order in the configuration. Building may allocate;
 * lookups never do, and never log, read the clock or touch files (pol.h).
 * The caller builds a struct pol once and then only reads it.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../inspect/smtp.h"
#include "pol.h"
#include "pol_dane.h"
#include "pol_domain.h"

/* One address rule. */
struct pol_rule {
	uint8_t  addr[16];            /* network address, host bits zero */
	uint8_t  plen;                /* prefix length in bits */
	uint8_t  mode;                /* enum pol_mode */
	uint16_t min_tls;             /* POL_TLS_* */
	char     match[POL_MATCH_MAX]; /* the rule as written */
};

/* Rules of one address family, sorted by plen, longest first. */
struct pol_rules {
	struct pol_rule *r;  /* the rules */
	size_t n;            /* rules held */
	size_t cap;          /* rules allocated */
};

/* A domain entry by the hash of its name (recipient lookups, references). */
struct pol_dref {
	uint64_t hash;                          /* smtp_name_hash of entry->domain */
	const struct pol_domain_entry *e;       /* the entry */
};

struct pol {
	enum pol_mode def_mode;   /* policy.default.mode */
	uint16_t def_min_tls;     /* policy.default.min_tls */
	struct pol_rules v4, v6;  /* server-address rules per family */
	struct pol_domain *dom;   /* domain policies (owned), NULL = none */
	struct pol_dref *dref;    /* every domain entry, sorted by hash */
	size_t ndref;             /* entries in dref */
	struct pol_dane *dane;    /* TLSA records of DANE MX hosts (owned), NULL = none */
};

struct pol *
pol_new(void)
{
	struct pol *p = calloc(1, sizeof(*p));

	if (p == NULL)
		return NULL;
	p->def_mode = POL_MODE_TESTING;
	p->def_min_tls = POL_TLS_1_2;
	return p;
}

void
pol_free(struct pol *p)
{
	if (p == NULL)
		return;
	free(p->v4.r);
	free(p->v6.r);
	pol_domain_free(p->dom);
	pol_dane_free(p->dane);
	free(p->dref);
	free(p);
}

void
pol_set_default(struct pol *p, enum pol_mode mode, uint16_t min_tls)
{
	p->def_mode = mode;
	p->def_min_tls = min_tls;
}

/* Does addr (alen bytes) lie inside the first plen bits of net? */
static int
prefix_covers(const uint8_t *net, unsigned plen, const uint8_t *addr)
{
	unsigned full = plen / 8, rest = plen % 8;

	if (memcmp(net, addr, full) != 0)
		return 0;
	if (rest == 0)
		return 1;
	uint8_t mask = (uint8_t)(0xff << (8 - rest));
	return (net[full] & mask) == (addr[full] & mask);
}

/* Are any bits past plen set in addr (alen bytes)? */
static int
host_bits_set(const uint8_t *addr, size_t alen, unsigned plen)
{
	for (size_t i = 0; i < alen; i++) {
		unsigned bit0 = (unsigned)i * 8;
		uint8_t keep;

		if (bit0 + 8 <= plen)
			continue;
		keep = bit0 >= plen ? 0 : (uint8_t)(0xff << (8 - (plen - bit0)));
		if (addr[i] & (uint8_t)~keep)
			return 1;
	}
	return 0;
}

/* Parse "a.b.c.d[/n]" or "v6[/n]" into addr/plen/af. 0, or -1 with err. */
static int
cidr_parse(const char *cidr, uint8_t addr[16], unsigned *plen, int *af,
    char *err, size_t errlen)
{
	char buf[INET6_ADDRSTRLEN + 8];
	const char *slash = strchr(cidr, '/');
	size_t alen = slash ? (size_t)(slash - cidr) : strlen(cidr);
	unsigned maxlen;

	if (alen == 0 || alen >= sizeof(buf)) {
		snprintf(err, errlen, "bad address in \"%s\"", cidr);
		return -1;
	}
	memcpy(buf, cidr, alen);
	buf[alen] = '\0';
	memset(addr, 0, 16);
	if (inet_pton(AF_INET, buf, addr) == 1) {
		*af = 4;
		maxlen = 32;
	} else if (inet_pton(AF_INET6, buf, addr) == 1) {
		*af = 6;
		maxlen = 128;
	} else {
		snprintf(err, errlen, "bad address in \"%s\" (want 192.0.2.0/24, 2001:db8::/32 or an address)", cidr);
		return -1;
	}
	*plen = maxlen;
	if (slash != NULL) {
		const char *s = slash + 1;
		unsigned v = 0;

		if (*s == '\0') {
			snprintf(err, errlen, "missing prefix length in \"%s\"", cidr);
			return -1;
		}
		for (; *s; s++) {
			if (*s < '0' || *s > '9' || v > 128) {
				snprintf(err, errlen, "bad prefix length in \"%s\"", cidr);
				return -1;
			}
			v = v * 10 + (unsigned)(*s - '0');
		}
		if (v > maxlen || strlen(slash + 1) > 3) {
			snprintf(err, errlen, "prefix length in \"%s\" is over %u", cidr, maxlen);
			return -1;
		}
		*plen = v;
	}
	if (host_bits_set(addr, maxlen / 8, *plen)) {
		/* Postfix's cidr tables refuse these too: the intent is ambiguous. */
		snprintf(err, errlen, "non-zero host bits in \"%s\" after /%u", cidr, *plen);
		return -1;
	}
	return 0;
}

int
pol_add_cidr(struct pol *p, const char *cidr, enum pol_mode mode,
    uint16_t min_tls, char *err, size_t errlen)
{
	struct pol_rules *rs;
	struct pol_rule nr;
	unsigned plen;
	int af;
	size_t i;

	if (cidr == NULL) {
		snprintf(err, errlen, "missing address");
		return -1;
	}
	if (strlen(cidr) >= POL_MATCH_MAX) {
		snprintf(err, errlen, "address rule is longer than %d characters", POL_MATCH_MAX - 1);
		return -1;
	}
	if ((unsigned)mode > POL_MODE_ENFORCE) {
		snprintf(err, errlen, "bad mode for \"%s\"", cidr);
		return -1;
	}
	memset(&nr, 0, sizeof(nr));
	if (cidr_parse(cidr, nr.addr, &plen, &af, err, errlen) == -1)
		return -1;
	nr.plen = (uint8_t)plen;
	nr.mode = (uint8_t)mode;
	nr.min_tls = min_tls;
	memcpy(nr.match, cidr, strlen(cidr) + 1);

	rs = af == 4 ? &p->v4 : &p->v6;
	for (i = 0; i < rs->n; i++) {
		if (rs->r[i].plen == nr.plen && memcmp(rs->r[i].addr, nr.addr, 16) == 0) {
			snprintf(err, errlen, "\"%s\" duplicates the rule \"%s\"", cidr, rs->r[i].match);
			return -1;
		}
	}
	if (rs->n == rs->cap) {
		size_t ncap = rs->cap ? rs->cap * 2 : 16;
		struct pol_rule *nrs = realloc(rs->r, ncap * sizeof(*nrs));

		if (nrs == NULL) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		rs->r = nrs;
		rs->cap = ncap;
	}
	/* Insert after every rule at least as long: longest prefix first,
	 * equal lengths (disjoint by construction) in configuration order. */
	for (i = 0; i < rs->n && rs->r[i].plen >= nr.plen; i++)
		;
	memmove(&rs->r[i + 1], &rs->r[i], (rs->n - i) * sizeof(*rs->r));
	rs->r[i] = nr;
	rs->n++;
	return 0;
}

void
pol_lookup_addr(const struct pol *p, uint8_t af, const struct pkt_addr *server,
    struct pol_match *out)
{
	memset(out, 0, sizeof(*out));
	if (p == NULL) {
		out->mode = POL_MODE_TESTING;
		out->source = POL_SRC_DEFAULT;
		out->min_tls = POL_TLS_1_2;
		return;
	}
	if (server != NULL && (af == 4 || af == 6)) {
		const struct pol_rules *rs = af == 4 ? &p->v4 : &p->v6;

		for (size_t i = 0; i < rs->n; i++) {
			const struct pol_rule *r = &rs->r[i];

			if (prefix_covers(r->addr, r->plen, server->a)) {
				out->mode = (enum pol_mode)r->mode;
				out->source = POL_SRC_CONFIG;
				out->min_tls = r->min_tls;
				memcpy(out->match, r->match, sizeof(out->match));
				return;
			}
		}
	}
	out->mode = p->def_mode;
	out->source = POL_SRC_DEFAULT;
	out->min_tls = p->def_min_tls;
}

/* qsort order of struct pol_dref: by hash. */
static int
dref_cmp(const void *a, const void *b)
{
	uint64_t x = ((const struct pol_dref *)a)->hash, y = ((const struct pol_dref *)b)->hash;

	return x < y ? -1 : x > y;
}

int
pol_set_domains(struct pol *p, struct pol_domain *d)
{
	size_t n = d ? pol_domain_count(d) : 0;
	struct pol_dref *r = NULL;

	if (n > 0 && (r = calloc(n, sizeof(*r))) == NULL)
		return -1;
	for (size_t i = 0; i < n; i++) {
		r[i].e = pol_domain_at(d, i);
		r[i].hash = smtp_name_hash(r[i].e->domain, strlen(r[i].e->domain));
	}
	if (n > 1)
		qsort(r, n, sizeof(*r), dref_cmp);
	pol_domain_free(p->dom);
	free(p->dref);
	p->dom = d;
	p->dref = r;
	p->ndref = n;
	return 0;
}

const struct pol_domain *
pol_domains(const struct pol *p)
{
	return p ? p->dom : NULL;
}

int
pol_has_domains(const struct pol *p)
{
	return p != NULL && p->ndref > 0;
}

/* First dref index with this hash, or ndref. */
static size_t
dref_first(const struct pol *p, uint64_t hash)
{
	size_t lo = 0, hi = p->ndref;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (p->dref[mid].hash < hash)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Reference (dref index) of an entry. */
static uint32_t
dref_of(const struct pol *p, const struct pol_domain_entry *e)
{
	uint64_t h = smtp_name_hash(e->domain, strlen(e->domain));

	for (size_t i = dref_first(p, h); i < p->ndref && p->dref[i].hash == h; i++)
		if (p->dref[i].e == e)
			return (uint32_t)i;
	return POL_REF_NONE;
}

/* Fill out and *ref from a domain hit. */
static void
hit_to_match(const struct pol *p, const struct pol_domain_hit *hit,
    struct pol_match *out, uint32_t *ref)
{
	pol_domain_hit_match(hit, p->def_min_tls, out);
	if (ref)
		*ref = dref_of(p, hit->entry);
}

int
pol_lookup_mx(const struct pol *p, const char *mx, int64_t now, struct pol_match *out,
    uint32_t *ref)
{
	struct pol_domain_hit hit;

	if (p == NULL || p->dom == NULL || mx == NULL || mx[0] == '\0' ||
	    !pol_domain_match_mx(p->dom, mx, now, &hit))
		return 0;
	hit_to_match(p, &hit, out, ref);
	return 1;
}

int
pol_lookup_domain_hash(const struct pol *p, uint64_t hash, int64_t now,
    struct pol_match *out, uint32_t *ref)
{
	struct pol_domain_hit hit;

	if (p == NULL || p->dom == NULL)
		return 0;
	for (size_t i = dref_first(p, hash); i < p->ndref && p->dref[i].hash == hash; i++) {
		/* The name decides, not the hash: a collision finds nothing. */
		if (pol_domain_find(p->dom, p->dref[i].e->domain, now, &hit)) {
			hit_to_match(p, &hit, out, ref);
			return 1;
		}
	}
	return 0;
}

int
pol_match_from_ref(const struct pol *p, uint32_t ref, int64_t now, struct pol_match *out)
{
	struct pol_domain_hit hit;
	const struct pol_domain_entry *e;

	if (p == NULL || p->dom == NULL || ref >= p->ndref)
		return 0;
	e = p->dref[ref].e;
	if (!pol_domain_find_src(p->dom, e->domain, e->source, now, &hit))
		return 0;
	pol_domain_hit_match(&hit, p->def_min_tls, out);
	return 1;
}

const struct pol_domain_entry *
pol_ref_entry(const struct pol *p, uint32_t ref)
{
	if (p == NULL || ref >= p->ndref)
		return NULL;
	return p->dref[ref].e;
}

size_t
pol_rule_count(const struct pol *p)
{
	return p == NULL ? 0 : p->v4.n + p->v6.n;
}

void
pol_set_dane(struct pol *p, struct pol_dane *t)
{
	pol_dane_free(p->dane);
	p->dane = t;
}

const struct pol_dane *
pol_dane_table(const struct pol *p)
{
	return p->dane;
}
