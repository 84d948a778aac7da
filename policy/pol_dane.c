/*
 * pol_dane.c - TLSA records, the DANE cache file and the MX -> TLSA table
 * (pol_dane.h). No I/O, clock or logging; every length is checked before
 * it is used, and a file that breaks any rule is refused whole.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pol_dane.h"
#include "pol_domain.h"

/* Table buckets: a power of two, grown when half full. */
#define PD_BUCKETS_MIN 64u
/* MX hosts in one table (a large relay's cache holds some 100 000). */
#define PD_HOSTS_MAX (1u << 20)

int
pol_tlsa_rdata(const uint8_t *rdata, size_t len, struct pol_tlsa *t)
{
	memset(t, 0, sizeof(*t));
	if (rdata == NULL || len < 4 || len - 3 > UINT16_MAX)
		return -1;
	t->usage = rdata[0];
	t->selector = rdata[1];
	t->mtype = rdata[2];
	t->len = (uint16_t)(len - 3);
	t->data = rdata + 3;
	return 0;
}

enum pol_tlsa_why
pol_tlsa_check(const struct pol_tlsa *t)
{
	if (t->usage != POL_TLSA_DANE_TA && t->usage != POL_TLSA_DANE_EE)
		return POL_TLSA_BAD_USAGE;
	if (t->selector != POL_TLSA_SEL_CERT && t->selector != POL_TLSA_SEL_SPKI)
		return POL_TLSA_BAD_SELECTOR;
	switch (t->mtype) {
	case POL_TLSA_MT_FULL:
		/* the shortest DER key or certificate is far above 16 bytes */
		if (t->len < 16 || t->len > POL_TLSA_DATA_MAX)
			return POL_TLSA_BAD_LENGTH;
		break;
	case POL_TLSA_MT_SHA256:
		if (t->len != 32)
			return POL_TLSA_BAD_LENGTH;
		break;
	case POL_TLSA_MT_SHA512:
		if (t->len != 64)
			return POL_TLSA_BAD_LENGTH;
		break;
	default:
		return POL_TLSA_BAD_MTYPE;
	}
	if (t->data == NULL)
		return POL_TLSA_BAD_LENGTH;
	return POL_TLSA_OK;
}

int
pol_tlsa_usable(const struct pol_tlsa *t)
{
	return pol_tlsa_check(t) == POL_TLSA_OK;
}

const char *
pol_tlsa_why_name(enum pol_tlsa_why w)
{
	switch (w) {
	case POL_TLSA_OK:           return "usable";
	case POL_TLSA_BAD_USAGE:    return "unusable usage (PKIX-TA/PKIX-EE or unknown)";
	case POL_TLSA_BAD_SELECTOR: return "unknown selector";
	case POL_TLSA_BAD_MTYPE:    return "unknown matching type";
	case POL_TLSA_BAD_LENGTH:   return "association data of the wrong length";
	}
	return "unknown";
}

const char *
pol_dnssec_name(enum pol_dnssec s)
{
	switch (s) {
	case POL_DNSSEC_SECURE:   return "secure";
	case POL_DNSSEC_INSECURE: return "insecure";
	case POL_DNSSEC_BOGUS:    return "bogus";
	case POL_DNSSEC_FAILED:   return "failed";
	}
	return "failed";
}

const char *
pol_dane_mx_state_name(enum pol_dane_mx_state s)
{
	switch (s) {
	case POL_DANE_MX_TLSA:   return "tlsa";
	case POL_DANE_MX_NONE:   return "none";
	case POL_DANE_MX_BOGUS:  return "bogus";
	case POL_DANE_MX_FAILED: return "failed";
	}
	return "failed";
}

int
pol_dane_applies(const struct pol_dane_answer *a)
{
	if (a->mx_state != POL_DNSSEC_SECURE)
		return 0;
	for (size_t i = 0; i < a->nmx; i++)
		if (a->mx[i].state == POL_DANE_MX_TLSA)
			return 1;
	return 0;
}

int
pol_dane_bogus(const struct pol_dane_answer *a)
{
	if (a->mx_state == POL_DNSSEC_BOGUS)
		return 1;
	for (size_t i = 0; i < a->nmx; i++)
		if (a->mx[i].state == POL_DANE_MX_BOGUS)
			return 1;
	return 0;
}

int
pol_dane_add_tlsa(struct pol_dane_answer *a, struct pol_dane_mx *mx, const struct pol_tlsa *t)
{
	struct pol_tlsa *d;
	int usable = pol_tlsa_usable(t);

	if (t->data == NULL && t->len != 0)
		return -1;
	mx->ntlsa++;
	/* Unusable records are counted, never kept: nothing reads them. */
	if (!usable)
		return 0;
	if (mx->nusable == POL_TLSA_RR_MAX || t->len > sizeof(a->bytes) - a->nbytes) {
		mx->too_many = 1;
		return 1;
	}
	d = &mx->tlsa[mx->nusable++];
	*d = *t;
	memcpy(a->bytes + a->nbytes, t->data, t->len);
	d->data = a->bytes + a->nbytes;
	a->nbytes += t->len;
	return 0;
}

/* ---- the cache file ---- */

/* Append to out; -1 once it no longer fits. */
static int __attribute__((format(printf, 4, 5)))
put(char *out, size_t cap, size_t *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(out + *o, cap - *o, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= cap - *o)
		return -1;
	*o += (size_t)n;
	return 0;
}

long
pol_dane_format(const struct pol_dane_answer *a, char *out, size_t cap)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	if (cap == 0)
		return -1;
	if (put(out, cap, &o, "dane 1\ndomain %s\nmx-rrset %s\nfetched %lld\nuntil %lld\n",
	    a->domain, pol_dnssec_name(a->mx_state), (long long)a->fetched,
	    (long long)a->until) == -1)
		return -1;
	for (size_t i = 0; i < a->nmx && i < POL_DANE_MX_MAX; i++) {
		const struct pol_dane_mx *m = &a->mx[i];

		if (put(out, cap, &o, "mx %s %s%s\n", m->host, pol_dane_mx_state_name(m->state),
		    m->too_many ? " too-many" : "") == -1)
			return -1;
		for (size_t k = 0; k < m->nusable && !m->too_many; k++) {
			const struct pol_tlsa *t = &m->tlsa[k];

			if (put(out, cap, &o, "tlsa %u %u %u ", t->usage, t->selector, t->mtype) == -1 ||
			    cap - o < (size_t)t->len * 2 + 2)
				return -1;
			for (size_t b = 0; b < t->len; b++) {
				out[o++] = hex[t->data[b] >> 4];
				out[o++] = hex[t->data[b] & 15];
			}
			out[o++] = '\n';
			out[o] = '\0';
		}
	}
	return (long)o;
}

/* The next line of buf (without its newline) into *line and *ll; 0 at the end. */
static int
next_line(const char *buf, size_t len, size_t *off, const char **line, size_t *ll)
{
	const char *nl;

	if (*off >= len)
		return 0;
	*line = buf + *off;
	nl = memchr(*line, '\n', len - *off);
	*ll = nl ? (size_t)(nl - *line) : len - *off;
	*off += *ll + (nl != NULL);
	return 1;
}

/* Split line into at most max words at single spaces; returns the count,
 * or -1 for empty words or too many. */
static int
words(const char *line, size_t ll, const char **w, size_t *wl, int max)
{
	int n = 0;
	size_t i = 0;

	while (i < ll) {
		size_t s = i;

		while (i < ll && line[i] != ' ')
			i++;
		if (i == s || n == max)
			return -1;
		w[n] = line + s;
		wl[n++] = i - s;
		if (i < ll && ++i == ll)
			return -1; /* trailing space */
	}
	return n;
}

/* Is w[0..l) equal to the literal s? */
static int
is(const char *w, size_t l, const char *s)
{
	return strlen(s) == l && memcmp(w, s, l) == 0;
}

/* A decimal number of at most 18 digits, or -1. */
static long long
num(const char *w, size_t l)
{
	long long v = 0;

	if (l == 0 || l > 18)
		return -1;
	for (size_t i = 0; i < l; i++) {
		if (w[i] < '0' || w[i] > '9')
			return -1;
		v = v * 10 + (w[i] - '0');
	}
	return v;
}

/* Hex value of c, or -1. */
static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* One "tlsa U S M HEX" line for mx. 0 or -1 (err). */
static int
parse_tlsa(struct pol_dane_answer *a, struct pol_dane_mx *mx, const char **w, const size_t *wl,
    char *err, size_t errlen)
{
	uint8_t raw[POL_TLSA_DATA_MAX];
	long long u = num(w[1], wl[1]), s = num(w[2], wl[2]), m = num(w[3], wl[3]);
	struct pol_tlsa t;

	if (u < 0 || u > 255 || s < 0 || s > 255 || m < 0 || m > 255) {
		snprintf(err, errlen, "tlsa: bad number");
		return -1;
	}
	if (wl[4] % 2 != 0 || wl[4] / 2 > POL_TLSA_DATA_MAX) {
		snprintf(err, errlen, "tlsa: bad data length");
		return -1;
	}
	for (size_t i = 0; i < wl[4] / 2; i++) {
		int hi = hexval(w[4][2 * i]), lo = hexval(w[4][2 * i + 1]);

		if (hi < 0 || lo < 0) {
			snprintf(err, errlen, "tlsa: bad hex");
			return -1;
		}
		raw[i] = (uint8_t)(hi << 4 | lo);
	}
	t.usage = (uint8_t)u;
	t.selector = (uint8_t)s;
	t.mtype = (uint8_t)m;
	t.len = (uint16_t)(wl[4] / 2);
	t.data = raw;
	if (!pol_tlsa_usable(&t)) {
		snprintf(err, errlen, "tlsa: %s", pol_tlsa_why_name(pol_tlsa_check(&t)));
		return -1;
	}
	if (pol_dane_add_tlsa(a, mx, &t) != 0) {
		snprintf(err, errlen, "tlsa: too many records");
		return -1;
	}
	return 0;
}

/* One "mx HOST STATE [too-many]" line. 0 or -1. */
static int
parse_mx(struct pol_dane_answer *a, const char **w, const size_t *wl, int n,
    char *err, size_t errlen)
{
	struct pol_dane_mx *mx;
	static const enum pol_dane_mx_state st[] = { POL_DANE_MX_TLSA, POL_DANE_MX_NONE,
		POL_DANE_MX_BOGUS, POL_DANE_MX_FAILED };
	size_t k;

	if (a->nmx == POL_DANE_MX_MAX) {
		snprintf(err, errlen, "more than %d mx lines", POL_DANE_MX_MAX);
		return -1;
	}
	mx = &a->mx[a->nmx];
	memset(mx, 0, sizeof(*mx));
	if (pol_name_norm(w[1], wl[1], mx->host, sizeof(mx->host), NULL, 0) != (int)wl[1] ||
	    memcmp(mx->host, w[1], wl[1]) != 0) {
		snprintf(err, errlen, "mx: not a normalised host name");
		return -1;
	}
	for (k = 0; k < 4; k++)
		if (is(w[2], wl[2], pol_dane_mx_state_name(st[k])))
			break;
	if (k == 4 || (n == 4 && !is(w[3], wl[3], "too-many")) ||
	    (n == 4 && st[k] != POL_DANE_MX_TLSA)) {
		snprintf(err, errlen, "mx: bad state");
		return -1;
	}
	mx->state = st[k];
	mx->too_many = n == 4;
	a->nmx++;
	return 0;
}

int
pol_dane_parse(const char *buf, size_t len, struct pol_dane_answer *a, char *err, size_t errlen)
{
	const char *line, *w[5];
	size_t ll, wl[5], off = 0;
	unsigned seen = 0, lineno = 0;
	char e2[128];

	memset(a, 0, offsetof(struct pol_dane_answer, bytes));
	if (len > POL_DANE_FILE_MAX) {
		snprintf(err, errlen, "file over %u bytes", POL_DANE_FILE_MAX);
		return -1;
	}
	if (memchr(buf, '\0', len) != NULL) {
		snprintf(err, errlen, "NUL byte");
		return -1;
	}
	while (next_line(buf, len, &off, &line, &ll)) {
		int n = words(line, ll, w, wl, 5);

		lineno++;
		e2[0] = '\0';
		if (n <= 0) {
			snprintf(e2, sizeof(e2), "malformed line");
		} else if (lineno == 1) {
			if (n != 2 || !is(w[0], wl[0], "dane") || !is(w[1], wl[1], "1"))
				snprintf(e2, sizeof(e2), "not a DANE cache file (want \"dane 1\")");
		} else if (is(w[0], wl[0], "domain") && n == 2 && !(seen & 1)) {
			seen |= 1;
			if (pol_name_norm(w[1], wl[1], a->domain, sizeof(a->domain), NULL, 0) !=
			    (int)wl[1] || memcmp(a->domain, w[1], wl[1]) != 0 ||
			    memchr(a->domain, '.', wl[1]) == NULL)
				snprintf(e2, sizeof(e2), "domain: not a normalised domain");
		} else if (is(w[0], wl[0], "mx-rrset") && n == 2 && !(seen & 2)) {
			int k;

			seen |= 2;
			for (k = 0; k < 4; k++)
				if (is(w[1], wl[1], pol_dnssec_name((enum pol_dnssec)k)))
					break;
			if (k == 4)
				snprintf(e2, sizeof(e2), "mx-rrset: unknown state");
			a->mx_state = (enum pol_dnssec)k;
		} else if (is(w[0], wl[0], "fetched") && n == 2 && !(seen & 4)) {
			seen |= 4;
			if ((a->fetched = num(w[1], wl[1])) < 0)
				snprintf(e2, sizeof(e2), "fetched: bad number");
		} else if (is(w[0], wl[0], "until") && n == 2 && !(seen & 8)) {
			seen |= 8;
			if ((a->until = num(w[1], wl[1])) < 0)
				snprintf(e2, sizeof(e2), "until: bad number");
		} else if (is(w[0], wl[0], "mx") && (n == 3 || n == 4) && seen == 15) {
			(void)parse_mx(a, w, wl, n, e2, sizeof(e2));
		} else if (is(w[0], wl[0], "tlsa") && n == 5 && a->nmx > 0 &&
		    a->mx[a->nmx - 1].state == POL_DANE_MX_TLSA && !a->mx[a->nmx - 1].too_many) {
			(void)parse_tlsa(a, &a->mx[a->nmx - 1], w, wl, e2, sizeof(e2));
		} else {
			snprintf(e2, sizeof(e2), "unexpected line");
		}
		if (e2[0] != '\0') {
			snprintf(err, errlen, "line %u: %s", lineno, e2);
			return -1;
		}
	}
	if (seen != 15) {
		snprintf(err, errlen, "incomplete: domain, mx-rrset, fetched and until are needed");
		return -1;
	}
	if (a->until < a->fetched) {
		snprintf(err, errlen, "until before fetched");
		return -1;
	}
	if (a->mx_state != POL_DNSSEC_SECURE && a->nmx > 0) {
		snprintf(err, errlen, "mx lines under an MX RRset that is not secure");
		return -1;
	}
	return 0;
}

/* ---- the table ---- */

/* One MX host and its usable records, in one allocation. */
struct pd_host {
	uint32_t hash;
	size_t   n;                         /* usable records (0 when too_many or none) */
	struct pol_tlsa rec[POL_TLSA_RR_MAX];
	char     host[POL_NAME_BUF];
	uint8_t  data[];                    /* the records' bytes */
};

struct pol_dane {
	struct pd_host **slot;   /* open addressing, nslot a power of two */
	size_t nslot, n, bytes;
};

/* FNV-1a of a normalised name. */
static uint32_t
pd_hash(const char *s)
{
	uint32_t h = 2166136261u;

	while (*s)
		h = (h ^ (uint8_t)*s++) * 16777619u;
	return h;
}

struct pol_dane *
pol_dane_new(void)
{
	struct pol_dane *t = calloc(1, sizeof(*t));

	if (t == NULL)
		return NULL;
	if ((t->slot = calloc(PD_BUCKETS_MIN, sizeof(*t->slot))) == NULL) {
		free(t);
		return NULL;
	}
	t->nslot = PD_BUCKETS_MIN;
	return t;
}

void
pol_dane_free(struct pol_dane *t)
{
	if (t == NULL)
		return;
	for (size_t i = 0; i < t->nslot; i++)
		free(t->slot[i]);
	free(t->slot);
	free(t);
}

/* Slot of host (hash h): its own, or the free one it would go to. */
static size_t
pd_find(const struct pol_dane *t, const char *host, uint32_t h)
{
	size_t i = h & (t->nslot - 1);

	while (t->slot[i] != NULL && (t->slot[i]->hash != h || strcmp(t->slot[i]->host, host) != 0))
		i = (i + 1) & (t->nslot - 1);
	return i;
}

/* Double the slots. 0 or -1. */
static int
pd_grow(struct pol_dane *t)
{
	struct pol_dane nt = { NULL, t->nslot * 2, t->n, t->bytes };

	if ((nt.slot = calloc(nt.nslot, sizeof(*nt.slot))) == NULL)
		return -1;
	for (size_t i = 0; i < t->nslot; i++)
		if (t->slot[i] != NULL)
			nt.slot[pd_find(&nt, t->slot[i]->host, t->slot[i]->hash)] = t->slot[i];
	free(t->slot);
	t->slot = nt.slot;
	t->nslot = nt.nslot;
	return 0;
}

int
pol_dane_add(struct pol_dane *t, const struct pol_dane_answer *a, char *err, size_t errlen)
{
	if (!pol_dane_applies(a))
		return 0;
	for (size_t i = 0; i < a->nmx; i++) {
		const struct pol_dane_mx *m = &a->mx[i];
		struct pd_host *h;
		size_t need = 0, s, o = 0, n = m->too_many ? 0 : m->nusable;
		uint32_t hash;

		if (m->state != POL_DANE_MX_TLSA)
			continue;
		hash = pd_hash(m->host);
		s = pd_find(t, m->host, hash);
		if (t->slot[s] != NULL)
			continue;
		if (t->n == PD_HOSTS_MAX) {
			snprintf(err, errlen, "more than %u DANE MX hosts", PD_HOSTS_MAX);
			return -1;
		}
		for (size_t k = 0; k < n; k++)
			need += m->tlsa[k].len;
		if ((h = calloc(1, sizeof(*h) + need)) == NULL) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		h->hash = hash;
		snprintf(h->host, sizeof(h->host), "%s", m->host);
		for (size_t k = 0; k < n; k++) {
			h->rec[k] = m->tlsa[k];
			memcpy(h->data + o, m->tlsa[k].data, m->tlsa[k].len);
			h->rec[k].data = h->data + o;
			o += m->tlsa[k].len;
		}
		h->n = n;
		t->slot[s] = h;
		t->n++;
		t->bytes += sizeof(*h) + need;
		if (t->n * 2 > t->nslot && pd_grow(t) == -1) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
	}
	return 0;
}

int
pol_dane_lookup(const struct pol_dane *t, const char *host, const struct pol_tlsa **recs,
    size_t *n)
{
	char norm[POL_NAME_BUF];
	size_t s;

	*recs = NULL;
	*n = 0;
	if (t == NULL || host == NULL ||
	    pol_name_norm(host, strlen(host), norm, sizeof(norm), NULL, 0) < 0)
		return 0;
	s = pd_find(t, norm, pd_hash(norm));
	if (t->slot[s] == NULL)
		return 0;
	*recs = t->slot[s]->rec;
	*n = t->slot[s]->n;
	return 1;
}

size_t
pol_dane_count(const struct pol_dane *t)
{
	return t ? t->n : 0;
}

size_t
pol_dane_bytes(const struct pol_dane *t)
{
	return t ? t->bytes + t->nslot * sizeof(*t->slot) + sizeof(*t) : 0;
}

int
pol_dane_entry(const struct pol_dane_answer *a, enum pol_mode mode, const char **pats,
    struct pol_domain_entry *e)
{
	size_t n = 0;

	memset(e, 0, sizeof(*e));
	if (!pol_dane_applies(a))
		return -1;
	for (size_t i = 0; i < a->nmx; i++)
		if (a->mx[i].state == POL_DANE_MX_TLSA)
			pats[n++] = a->mx[i].host;
	e->domain = a->domain;
	e->mode = mode;
	e->source = POL_SRC_DANE;
	e->expires = a->until;
	e->fetched_at = a->fetched;
	e->n_mx = n;
	e->mx = pats;
	return 0;
}
