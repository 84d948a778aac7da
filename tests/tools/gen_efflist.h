/*
 * gen_efflist.h - write an EFF STARTTLS-Everywhere policy list (format 0.1)
 * of the published list's size and shape, so tests never need the real one
 * (which is not the project's to ship). Header only: gen_efflist.c writes it
 * to a file for the shell suites, test_pol_eff.c builds it in memory.
 *
 * Shape: RFC 3339 times with a fraction and a -07:00 offset, an "author",
 * four policy-aliases used by twelve domains, direct policies in enforce
 * and testing with one to eight MX patterns (exact names and leading-dot
 * wildcards, some shared by many domains like a hosting provider's),
 * sorted by domain. Deterministic: the same options give the same bytes.
 * The fixed entries tests look up by name are listed at EFL_ANCHORS; every
 * other domain is made up under reserved names (RFC 2606, RFC 6761) except
 * gmail.com, which tests/fixtures/policy/eff_dns_downgrade.pcap looks up.
 */
#ifndef TESTS_TOOLS_GEN_EFFLIST_H
#define TESTS_TOOLS_GEN_EFFLIST_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Default list: 900 domains, timestamp 2023-11-14T22:13:20Z, expired two
 * weeks later (so loaders warn and lower enforce to testing). */
#define EFL_DEF_POLICIES 900
#define EFL_DEF_TIMESTAMP 1700000000LL
#define EFL_DEF_LIFETIME (14 * 86400LL)
/* Longest domain name we make up (a label of 63 is among them). */
#define EFL_NAME_MAX 254
/* At most this many MX patterns per direct policy: the published list has 8. */
#define EFL_MX_MAX 8
/* Seed of the made-up part: another seed, another list (efl_write fails on a name clash). */
#define EFL_DEF_SEED 0x5eed2020u
/* Hosting providers whose MX patterns many domains share. */
#define EFL_HOSTERS 6

/* What to write. */
struct efl_opts {
	unsigned n_policies; /* domains in "policies", the 15 fixed ones included */
	int64_t  timestamp;  /* list "timestamp", epoch seconds */
	int64_t  expires;    /* list "expires", epoch seconds */
	uint32_t seed;       /* PRNG seed for the made-up part, nonzero */
};

/* The default list, as gen_efflist writes it without options. */
static inline void
efl_defaults(struct efl_opts *o)
{
	o->n_policies = EFL_DEF_POLICIES;
	o->timestamp = EFL_DEF_TIMESTAMP;
	o->expires = EFL_DEF_TIMESTAMP + EFL_DEF_LIFETIME;
	o->seed = EFL_DEF_SEED;
}

/* What was written: what a loader must report back. */
struct efl_counts {
	unsigned n_policies;  /* domains in "policies" */
	unsigned n_aliases;   /* entries in "policy-aliases" */
	unsigned n_via_alias; /* domains whose policy is a policy-alias */
	unsigned n_enforce;   /* domains in enforce (direct or through their alias) */
	unsigned n_testing;   /* domains in testing */
	unsigned n_mx;        /* MX patterns written in direct policies and aliases */
	int64_t  timestamp;   /* as in efl_opts */
	int64_t  expires;
};

/* One alias and the domains that use it. */
struct efl_alias {
	const char *name;
	const char *mode;
	const char *mx[8];
	const char *users[5];
};

/*
 * EFL_ANCHORS - the fixed entries, for tests that look names up:
 *   gmail.com          enforce; gmail-smtp-in.l.google.com, .gmail-smtp-in.l.google.com
 *   mail.example       enforce; mx1.mail.example, mx2.mail.example
 *   plain.example      testing; .plain.example
 *   alias "hosted"     testing; .in.hosted.example, .out.hosted.example;
 *                      alpha/beta/gamma/delta.example.org
 *   alias "bulk"       testing; .mta.bulk.example and three exact names
 *                      under it (exact beats wildcard); bulk.example, bulk.test, bulk-mail.example.net
 *   alias "strict"     enforce; mx1/mx2.strict.example; strict.example,
 *                      strict.test, strict-mail.example.net
 *   alias "cloud"      testing; mx1..mx6.cloud.example, .mail.cloud.example;
 *                      cloud.example, cloud-mail.example.com
 */
static const struct efl_alias efl_aliases[] = {
	{ "bulk", "testing", { ".mta.bulk.example", "mta5.mta.bulk.example",
	    "mta6.mta.bulk.example", "mta7.mta.bulk.example" },
	    { "bulk.example", "bulk.test", "bulk-mail.example.net" } },
	{ "cloud", "testing", { "mx1.cloud.example", "mx2.cloud.example", "mx3.cloud.example",
	    "mx4.cloud.example", "mx5.cloud.example", "mx6.cloud.example", ".mail.cloud.example" },
	    { "cloud.example", "cloud-mail.example.com" } },
	{ "hosted", "testing", { ".in.hosted.example", ".out.hosted.example" },
	    { "alpha.example.org", "beta.example.org", "delta.example.org", "gamma.example.org" } },
	{ "strict", "enforce", { "mx1.strict.example", "mx2.strict.example" },
	    { "strict.example", "strict.test", "strict-mail.example.net" } },
};
#define EFL_N_ALIASES (sizeof(efl_aliases) / sizeof(efl_aliases[0]))

/* Fixed direct policies: domain, mode, patterns. */
static const struct {
	const char *domain;
	const char *mode;
	const char *mx[3];
} efl_fixed[] = {
	{ "gmail.com", "enforce", { "gmail-smtp-in.l.google.com", ".gmail-smtp-in.l.google.com" } },
	{ "mail.example", "enforce", { "mx1.mail.example", "mx2.mail.example" } },
	{ "plain.example", "testing", { ".plain.example" } },
};
#define EFL_N_FIXED (sizeof(efl_fixed) / sizeof(efl_fixed[0]))

/* Parent names for made-up domains: reserved for documentation and tests. */
static const char *const efl_parents[] = {
	"example", "test", "example.com", "example.net", "example.org", "co.example",
	"ac.test", "mail.example.net",
};

/* One policy line being built: its name sorts the list. */
struct efl_entry {
	char domain[EFL_NAME_MAX];
	char *body; /* the JSON value, malloc'd */
};

/* xorshift32: the made-up part depends on the seed only. */
static inline uint32_t
efl_rand(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

/* A pronounceable label of syllables, plus i in base 36 so names are unique. */
static inline void
efl_label(uint32_t *s, unsigned i, char *out, size_t len)
{
	static const char *const syl[] = { "ka", "lo", "mi", "ne", "ru", "sta", "vel",
	    "tor", "bri", "xen", "qua", "po", "da", "fin", "gor", "hu" };
	static const char b36[] = "0123456789abcdefghijklmnopqrstuvwxyz";
	size_t n = 0;
	unsigned k = 1 + efl_rand(s) % 4;

	for (unsigned j = 0; j < k; j++)
		n += (size_t)snprintf(out + n, len - n, "%s", syl[efl_rand(s) % 16]);
	if (efl_rand(s) % 5 == 0)
		n += (size_t)snprintf(out + n, len - n, "-");
	do {
		out[n++] = b36[i % 36];
		i /= 36;
	} while (i != 0 && n + 1 < len);
	out[n] = '\0';
}

/* RFC 3339 with a microsecond fraction and a -07:00 offset, as EFF wrote them. */
static inline void
efl_time(int64_t t, unsigned usec, char *out, size_t len)
{
	time_t local = (time_t)(t - 7 * 3600);
	struct tm tm;

	gmtime_r(&local, &tm);
	snprintf(out, len, "%04d-%02d-%02dT%02d:%02d:%02d.%06u-07:00", tm.tm_year + 1900,
	    tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, usec % 1000000);
}

/* Append one JSON string array of patterns to f. */
static inline void
efl_mxs(FILE *f, const char *const *mx, size_t n)
{
	fputs("\"mxs\": [", f);
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%s\n        \"%s\"", i ? "," : "", mx[i]);
	fputs("\n      ]", f);
}

/* A direct policy's JSON value into a new string (NULL out of memory). */
static inline char *
efl_body(const char *mode, const char *const *mx, size_t n)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (f == NULL)
		return NULL;
	fprintf(f, "{\n      \"mode\": \"%s\",\n      ", mode);
	efl_mxs(f, mx, n);
	fputs("\n    }", f);
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

/* Made-up direct policy number i: name, mode and 1..8 patterns. */
static inline int
efl_made_up(uint32_t *s, unsigned i, struct efl_entry *e, struct efl_counts *c)
{
	char label[80], pat[EFL_MX_MAX][EFL_NAME_MAX + 8];
	const char *mx[EFL_MX_MAX];
	const char *parent = efl_parents[efl_rand(s) % (sizeof(efl_parents) / sizeof(efl_parents[0]))];
	unsigned kind = efl_rand(s) % 100, n = 0;
	int enforce = efl_rand(s) % 100 < 39;   /* the published list: 361 of 926 */

	if (i == 7)   /* one label as long as DNS allows */
		snprintf(label, sizeof(label), "%.*s", 63,
		    "longest-label-allowed-by-rfc-1035-is-sixty-three-octets-long-xx");
	else
		efl_label(s, i, label, sizeof(label));
	snprintf(e->domain, sizeof(e->domain), "%s%s.%s", i % 97 == 3 ? "xn--" : "", label, parent);
	if (kind < 30) {              /* its own wildcard */
		snprintf(pat[n++], sizeof(pat[0]), ".%s", e->domain);
	} else if (kind < 55) {       /* a hosting provider's, shared */
		unsigned h = efl_rand(s) % EFL_HOSTERS;

		snprintf(pat[n++], sizeof(pat[0]), ".mx%u.hoster%u.example", h % 2, h);
		if (efl_rand(s) % 2)
			snprintf(pat[n++], sizeof(pat[0]), "smtp.hoster%u.example", h);
	} else {                      /* exact names, sometimes a wildcard too */
		unsigned k = 1 + efl_rand(s) % 2;   /* most have one or two, a few up to 8 */

		if (efl_rand(s) % 12 == 0)
			k = 3 + efl_rand(s) % (EFL_MX_MAX - 3);

		for (unsigned j = 0; j < k; j++)
			snprintf(pat[n++], sizeof(pat[0]), "mx%u.%s", j + 1, e->domain);
		if (efl_rand(s) % 4 == 0)
			snprintf(pat[n++], sizeof(pat[0]), ".mail.%s", e->domain);
	}
	for (unsigned j = 0; j < n; j++)
		mx[j] = pat[j];
	e->body = efl_body(enforce ? "enforce" : "testing", mx, n);
	c->n_mx += n;
	if (enforce)
		c->n_enforce++;
	else
		c->n_testing++;
	return e->body == NULL ? -1 : 0;
}

/* Sort policies by domain, as the published list is. */
static inline int
efl_cmp(const void *a, const void *b)
{
	return strcmp(((const struct efl_entry *)a)->domain, ((const struct efl_entry *)b)->domain);
}

/* Count of patterns in a fixed array. */
static inline size_t
efl_nmx(const char *const *mx, size_t cap)
{
	size_t n = 0;

	while (n < cap && mx[n] != NULL)
		n++;
	return n;
}

/*
 * Write the list into a new buffer (*out, *outlen; the caller frees it)
 * and say what it holds in c. 0, or -1 (bad options, out of memory).
 */
static inline int
efl_write(const struct efl_opts *o, char **out, size_t *outlen, struct efl_counts *c)
{
	unsigned fixed = (unsigned)EFL_N_FIXED, n_alias_users = 0;
	struct efl_entry *ent;
	uint32_t s = o->seed ? o->seed : 1;
	unsigned n = 0, ok = 1;
	char ts[96], ex[96];
	FILE *f;

	memset(c, 0, sizeof(*c));
	for (size_t a = 0; a < EFL_N_ALIASES; a++)
		n_alias_users += (unsigned)efl_nmx(efl_aliases[a].users, 5);
	if (o->n_policies < fixed + n_alias_users)
		return -1;
	ent = calloc(o->n_policies, sizeof(*ent));
	if (ent == NULL)
		return -1;
	for (size_t k = 0; k < EFL_N_FIXED; k++, n++) {
		snprintf(ent[n].domain, sizeof(ent[n].domain), "%s", efl_fixed[k].domain);
		ent[n].body = efl_body(efl_fixed[k].mode, efl_fixed[k].mx, efl_nmx(efl_fixed[k].mx, 3));
		c->n_mx += (unsigned)efl_nmx(efl_fixed[k].mx, 3);
		if (strcmp(efl_fixed[k].mode, "enforce") == 0)
			c->n_enforce++;
		else
			c->n_testing++;
		ok &= ent[n].body != NULL;
	}
	for (size_t a = 0; a < EFL_N_ALIASES; a++) {
		const struct efl_alias *al = &efl_aliases[a];

		for (size_t u = 0; u < efl_nmx(al->users, 5); u++, n++) {
			snprintf(ent[n].domain, sizeof(ent[n].domain), "%s", al->users[u]);
			ent[n].body = malloc(64);
			ok &= ent[n].body != NULL;
			if (ent[n].body != NULL)
				snprintf(ent[n].body, 64, "{\n      \"policy-alias\": \"%s\"\n    }", al->name);
			c->n_via_alias++;
			if (strcmp(al->mode, "enforce") == 0)
				c->n_enforce++;
			else
				c->n_testing++;
		}
		c->n_mx += (unsigned)efl_nmx(al->mx, 8);
	}
	for (unsigned i = 0; n < o->n_policies; i++, n++)
		ok &= efl_made_up(&s, i, &ent[n], c) == 0;
	qsort(ent, n, sizeof(*ent), efl_cmp);
	for (unsigned i = 1; i < n; i++)   /* a made-up name met another: change the seed */
		ok &= strcmp(ent[i - 1].domain, ent[i].domain) != 0;

	c->n_policies = n;
	c->n_aliases = (unsigned)EFL_N_ALIASES;
	c->timestamp = o->timestamp;
	c->expires = o->expires;
	efl_time(o->timestamp, 710034, ts, sizeof(ts));
	efl_time(o->expires, 710055, ex, sizeof(ex));
	*out = NULL;
	f = ok ? open_memstream(out, outlen) : NULL;
	if (f != NULL) {
		fprintf(f, "{\n  \"timestamp\": \"%s\",\n  \"expires\": \"%s\",\n  \"version\": \"0.1\",\n"
		    "  \"author\": \"starttls-guard test generator (tests/tools/gen_efflist.h), not EFF\",\n"
		    "  \"policy-aliases\": {", ts, ex);
		for (size_t a = 0; a < EFL_N_ALIASES; a++) {
			fprintf(f, "%s\n    \"%s\": {\n      \"mode\": \"%s\",\n      ", a ? "," : "",
			    efl_aliases[a].name, efl_aliases[a].mode);
			efl_mxs(f, efl_aliases[a].mx, efl_nmx(efl_aliases[a].mx, 8));
			fputs("\n    }", f);
		}
		fputs("\n  },\n  \"policies\": {", f);
		for (unsigned i = 0; i < n; i++)
			fprintf(f, "%s\n    \"%s\": %s", i ? "," : "", ent[i].domain, ent[i].body);
		fputs("\n  }\n}\n", f);
		ok &= fclose(f) == 0;
	} else {
		ok = 0;
	}
	for (unsigned i = 0; i < o->n_policies; i++)
		free(ent[i].body);
	free(ent);
	if (!ok) {
		free(*out);
		*out = NULL;
		return -1;
	}
	return 0;
}

#endif
