/*
 * test_pol_eff.c - unit tests for policy/pol_eff.c (EFF STARTTLS-Everywhere list).
 *
 * A list of the published one's size and shape, made by the project's own
 * generator (tests/tools/gen_efflist.h, built in memory here): the loader's
 * counts must equal what the generator wrote, then the expiry lowering,
 * aliases and MX matching through its fixed entries. Small hand-written
 * lists cover each validation error, the backwards timestamp and the RFC
 * 3339 parser; lists cut at many lengths must fail cleanly, never crash.
 * With STG_EFF_LIST=path (the published list, which the project does not
 * ship; .ci/run sets it when the file is beside the repository) the same is
 * checked on the real list, against its published counts; without it a
 * "note:" line says those checks did not run (tests/run-unit.sh shows it).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "policy/pol_eff.h"
#include "tests/tools/gen_efflist.h"

/* 2026-01-01T00:00:00Z: long after both lists expired. */
#define TE_NOW 1767225600
/* The published list's timestamp and expiry, epoch seconds. */
#define TE_LIST_TS 1589995512
#define TE_LIST_EXP 1591205112
/* Warnings kept per load. */
#define TE_WARN 16

/* The generated list and what the generator says it holds. */
static char *te_gen;
static size_t te_gen_len;
static struct efl_counts te_gc;
/* The published list from $STG_EFF_LIST, read once (NULL when not given). */
static char *te_list;
static size_t te_list_len;

/* Make the generated list (the generator's defaults, as gen_efflist writes). */
static int
te_setup(void **state)
{
	struct efl_opts o;

	(void)state;
	efl_defaults(&o);
	return efl_write(&o, &te_gen, &te_gen_len, &te_gc);
}

/* Read the published list named by STG_EFF_LIST: 1 read, 0 not given, -1 unreadable. */
static int
te_read_real(void)
{
	const char *path = getenv("STG_EFF_LIST");
	FILE *f;
	long n;

	if (path == NULL || *path == '\0')
		return 0;
	f = fopen(path, "rb");
	if (f == NULL) {
		print_error("test_pol_eff: STG_EFF_LIST=%s cannot be opened\n", path);
		return -1;
	}
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) > 0 && fseek(f, 0, SEEK_SET) == 0) {
		te_list = malloc((size_t)n);
		if (te_list != NULL && fread(te_list, 1, (size_t)n, f) == (size_t)n)
			te_list_len = (size_t)n;
	}
	fclose(f);
	if (te_list_len == 0) {
		print_error("test_pol_eff: STG_EFF_LIST=%s cannot be read\n", path);
		return -1;
	}
	print_message("note: published EFF list checks run on %s\n", path);
	return 1;
}

/* Free both lists. */
static int
te_teardown(void **state)
{
	(void)state;
	free(te_gen);
	free(te_list);
	return 0;
}

/* Load text into a fresh table with the given now/prev/flags. */
static int
te_load(struct pol_domain *t, const char *json, size_t len, int64_t now,
    int64_t prev, unsigned flags, struct pol_eff_info *info,
    struct pol_warnings *w, char *err, size_t errlen)
{
	struct pol_eff_opts o = { .now = now, .prev_timestamp = prev, .flags = flags };

	err[0] = '\0';
	return pol_eff_load(t, json, len, &o, info, w, err, errlen);
}

/* What a list holds and names to look up in it: both lists list gmail.com
 * in enforce with the same two patterns; each has an alias shared by
 * several domains and an alias where exact names beat a wildcard. */
struct te_facts {
	const char *list;          /* the text */
	size_t      len;
	int64_t     ts, exp;       /* its timestamp and expiry */
	size_t      n_policies, n_aliases, n_via_alias, n_enforce, n_testing;
	const char *alias_lookup;  /* a domain using the shared alias, odd case and root dot */
	const char *alias_mx[2];   /* that alias's two first patterns */
	const char *shared_mx;     /* an MX name under the shared alias's first pattern */
	size_t      shared_n;      /* how many domains use that alias */
	const char *shared_first;  /* the first of them in the list: it wins */
	const char *exact_mx;      /* an exact name of the other alias, under its wildcard */
	const char *wild_mx;       /* another name under that wildcard */
	const char *wild_pattern;  /* the wildcard */
	const char *deep_mx;       /* two labels under it: no match */
};

/* Load f's list expired: counts, the one warning, lowering, aliases, MX matching. */
static void
te_check_list(const struct te_facts *f)
{
	char msgs[TE_WARN][POL_WARN_LEN], err[256], when[POL_EFF_TIME_BUF];
	struct pol_warnings w;
	struct pol_eff_info info;
	struct pol_domain_hit hit;
	struct pol_domain *t = pol_domain_new();

	pol_warn_init(&w, msgs, TE_WARN);
	if (te_load(t, f->list, f->len, TE_NOW, 0, 0, &info, &w, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_int_equal(info.timestamp, f->ts);
	assert_int_equal(info.expires, f->exp);
	assert_int_equal(info.expired, 1);
	assert_int_equal(info.n_policies, f->n_policies);
	assert_int_equal(info.n_aliases, f->n_aliases);
	assert_int_equal(info.n_via_alias, f->n_via_alias);
	assert_int_equal(info.n_enforce, f->n_enforce);
	assert_int_equal(info.n_testing, f->n_testing);
	assert_int_equal(info.n_lowered, f->n_enforce);
	assert_int_equal(info.n_added, f->n_policies);
	assert_int_equal(pol_domain_count(t), f->n_policies);
	assert_int_equal(pol_domain_count_src(t, POL_SRC_EFF), f->n_policies);
	assert_int_equal(w.n, 1);
	pol_eff_time_format(f->exp, when, sizeof(when));
	assert_non_null(strstr(msgs[0], when));
	assert_non_null(strstr(msgs[0], "testing"));

	/* gmail.com: enforce in the list, testing because expired. */
	assert_int_equal(pol_domain_find(t, "gmail.com", TE_NOW, &hit), 1);
	assert_int_equal(hit.mode, POL_MODE_TESTING);
	assert_int_equal(hit.stale, 1);
	assert_int_equal(hit.entry->mode, POL_MODE_TESTING);
	assert_int_equal(hit.entry->listed_mode, POL_MODE_ENFORCE);
	assert_int_equal(hit.entry->source, POL_SRC_EFF);
	assert_int_equal(hit.entry->expires, f->exp);
	assert_int_equal(hit.entry->fetched_at, f->ts);
	assert_int_equal(hit.entry->n_mx, 2);
	assert_string_equal(hit.entry->mx[0], "gmail-smtp-in.l.google.com");
	assert_string_equal(hit.entry->mx[1], "*.gmail-smtp-in.l.google.com");
	assert_int_equal(pol_domain_find(t, "mail.gmail.com", TE_NOW, &hit), 0);

	/* A domain through a (testing) alias, its name normalised on lookup. */
	assert_int_equal(pol_domain_find(t, f->alias_lookup, TE_NOW, &hit), 1);
	assert_int_equal(hit.mode, POL_MODE_TESTING);
	assert_int_equal(hit.stale, 0);
	assert_int_equal(hit.entry->n_mx, 2);
	assert_string_equal(hit.entry->mx[0], f->alias_mx[0]);
	assert_string_equal(hit.entry->mx[1], f->alias_mx[1]);

	/* MX names. */
	assert_int_equal(pol_domain_match_mx(t, "gmail-smtp-in.l.google.com.", TE_NOW, &hit), 1);
	assert_string_equal(hit.entry->domain, "gmail.com");
	assert_string_equal(hit.pattern, "gmail-smtp-in.l.google.com");
	assert_int_equal(pol_domain_match_mx(t, "ALT1.gmail-smtp-in.l.google.com", TE_NOW, &hit), 1);
	assert_string_equal(hit.pattern, "*.gmail-smtp-in.l.google.com");
	assert_int_equal(pol_domain_match_mx(t, "a.alt1.gmail-smtp-in.l.google.com", TE_NOW, &hit), 0);
	/* One alias, several domains: every one matches, the first added wins. */
	assert_int_equal(pol_domain_match_mx(t, f->shared_mx, TE_NOW, &hit), 1);
	assert_string_equal(hit.pattern, f->alias_mx[0]);
	assert_int_equal(hit.matches, f->shared_n);
	assert_string_equal(hit.entry->domain, f->shared_first);
	/* An exact pattern beats the wildcard above it. */
	assert_int_equal(pol_domain_match_mx(t, f->exact_mx, TE_NOW, &hit), 1);
	assert_string_equal(hit.pattern, f->exact_mx);
	assert_int_equal(pol_domain_match_mx(t, f->wild_mx, TE_NOW, &hit), 1);
	assert_string_equal(hit.pattern, f->wild_pattern);
	/* The schema's "arbitrarily deep" suffix reading is not ours (RFC 8461). */
	assert_int_equal(pol_domain_match_mx(t, f->deep_mx, TE_NOW, &hit), 0);
	assert_int_equal(pol_domain_match_mx(t, "mx.example.invalid", TE_NOW, &hit), 0);
	pol_domain_free(t);
}

/* f's list before it expired, with enforce kept, loaded twice, and after a
 * newer list. */
static void
te_check_modes(const struct te_facts *f)
{
	char msgs[4][POL_WARN_LEN], err[256], when[POL_EFF_TIME_BUF];
	struct pol_warnings w;
	struct pol_eff_info info;
	struct pol_domain_hit hit;
	struct pol_domain *t = pol_domain_new();

	assert_int_equal(te_load(t, f->list, f->len, f->ts + 3600, f->ts, 0, &info, NULL,
	    err, sizeof(err)), 0);
	assert_int_equal(info.expired, 0);
	assert_int_equal(info.n_lowered, 0);
	assert_int_equal(pol_domain_find(t, "gmail.com", f->ts + 3600, &hit), 1);
	assert_int_equal(hit.mode, POL_MODE_ENFORCE);
	/* The same table later: lowered at lookup time once expired. */
	assert_int_equal(pol_domain_find(t, "gmail.com", f->exp + 1, &hit), 1);
	assert_int_equal(hit.mode, POL_MODE_TESTING);
	assert_int_equal(hit.stale, 1);
	pol_domain_free(t);

	t = pol_domain_new();
	assert_int_equal(te_load(t, f->list, f->len, TE_NOW, 0, POL_EFF_F_KEEP_ENFORCE,
	    &info, NULL, err, sizeof(err)), 0);
	assert_int_equal(info.expired, 1);
	assert_int_equal(info.n_lowered, 0);
	assert_int_equal(pol_domain_find(t, "gmail.com", TE_NOW, &hit), 1);
	assert_int_equal(hit.mode, POL_MODE_ENFORCE);
	assert_int_equal(hit.stale, 0);
	/* Loading the same list twice into one table: every domain a conflict. */
	pol_warn_init(&w, msgs, 4);
	assert_int_equal(te_load(t, f->list, f->len, TE_NOW, 0, 0, &info, &w, err, sizeof(err)), 0);
	assert_int_equal(info.n_added, 0);
	assert_int_equal(w.n + w.lost, f->n_policies + 1);   /* expiry + every domain again */
	pol_domain_free(t);

	t = pol_domain_new();
	assert_int_equal(te_load(t, f->list, f->len, TE_NOW, f->ts + 1, 0, &info, NULL,
	    err, sizeof(err)), -1);
	pol_eff_time_format(f->ts, when, sizeof(when));
	assert_non_null(strstr(err, when));
	assert_int_equal(pol_domain_count(t), 0);
	pol_domain_free(t);
}

/* The generated list's facts: counts from the generator, names from EFL_ANCHORS. */
static void
te_gen_facts(struct te_facts *f)
{
	*f = (struct te_facts){ te_gen, te_gen_len, te_gc.timestamp, te_gc.expires,
	    te_gc.n_policies, te_gc.n_aliases, te_gc.n_via_alias, te_gc.n_enforce, te_gc.n_testing,
	    "Beta.Example.ORG.", { "*.in.hosted.example", "*.out.hosted.example" },
	    "x.in.hosted.example", 4, "alpha.example.org",
	    "mta5.mta.bulk.example", "mta9.mta.bulk.example", "*.mta.bulk.example",
	    "x.mta9.mta.bulk.example" };
}

/* The published list's facts, as published (2020-05-20, 926 domains). */
static const struct te_facts te_real_facts = {
	NULL, 0, TE_LIST_TS, TE_LIST_EXP, 926, 4, 12, 361, 565,
	"Hotmail.COM.", { "*.olc.protection.outlook.com", "*.mail.protection.outlook.com" },
	"hotmail-com.olc.protection.outlook.com", 4, "hotmail.com",   /* hotmail, live, msn, outlook */
	"mta5.am0.yahoodns.net", "mta9.am0.yahoodns.net", "*.am0.yahoodns.net",
	"x.mta9.am0.yahoodns.net",
};

/* The generated list, and what only it has: an enforce alias, a testing domain. */
static void
test_gen_list(void **state)
{
	struct te_facts f;
	struct pol_domain_hit hit;
	struct pol_domain *t = pol_domain_new();
	char err[256];

	(void)state;
	te_gen_facts(&f);
	assert_true(f.n_policies >= 900);
	te_check_list(&f);
	assert_int_equal(te_load(t, te_gen, te_gen_len, TE_NOW, 0, 0, NULL, NULL, err, sizeof(err)), 0);
	assert_int_equal(pol_domain_find(t, "strict.test", TE_NOW, &hit), 1);
	assert_int_equal(hit.entry->listed_mode, POL_MODE_ENFORCE);
	assert_int_equal(hit.mode, POL_MODE_TESTING);
	assert_int_equal(pol_domain_match_mx(t, "mx2.strict.example", TE_NOW, &hit), 1);
	assert_int_equal(hit.matches, 3);
	assert_int_equal(hit.stale, 1);
	assert_int_equal(pol_domain_find(t, "cloud-mail.example.com", TE_NOW, &hit), 1);
	assert_int_equal(hit.entry->n_mx, 7);
	assert_int_equal(pol_domain_find(t, "plain.example", TE_NOW, &hit), 1);
	assert_int_equal(hit.entry->listed_mode, POL_MODE_TESTING);
	assert_int_equal(hit.stale, 0);
	pol_domain_free(t);
}

/* The generated list's modes. */
static void
test_gen_list_modes(void **state)
{
	struct te_facts f;

	(void)state;
	te_gen_facts(&f);
	te_check_modes(&f);
}

/* The published list, and what only it has: yahoo's four patterns, comcast. */
static void
test_real_list(void **state)
{
	struct te_facts f = te_real_facts;
	struct pol_domain_hit hit;
	struct pol_domain *t = pol_domain_new();
	char err[256];

	(void)state;
	f.list = te_list;
	f.len = te_list_len;
	te_check_list(&f);
	assert_int_equal(te_load(t, te_list, te_list_len, TE_NOW, 0, 0, NULL, NULL, err, sizeof(err)), 0);
	assert_int_equal(pol_domain_find(t, "yahoo.com", TE_NOW, &hit), 1);
	assert_int_equal(hit.entry->n_mx, 4);
	assert_int_equal(pol_domain_find(t, "comcast.net", TE_NOW, &hit), 1);
	assert_int_equal(hit.entry->listed_mode, POL_MODE_ENFORCE);
	assert_int_equal(pol_domain_match_mx(t, "mx1.comcast.net", TE_NOW, &hit), 1);
	assert_string_equal(hit.entry->domain, "comcast.net");
	assert_int_equal(hit.mode, POL_MODE_TESTING);
	pol_domain_free(t);
}

/* The published list's modes. */
static void
test_real_list_modes(void **state)
{
	struct te_facts f = te_real_facts;

	(void)state;
	f.list = te_list;
	f.len = te_list_len;
	te_check_modes(&f);
}

/* Timestamps: backwards refused, equal and forwards accepted. */
static void
test_timestamp_order(void **state)
{
	static const char list[] = "{\"timestamp\": 1000, \"expires\": 5000, \"version\": \"0.1\","
	    "\"policy-aliases\": {}, \"policies\": {\"example.net\": {\"mode\": \"enforce\","
	    "\"mxs\": [\"mx.example.net\"]}}}";
	char err[256];
	struct pol_eff_info info;
	struct pol_domain *t = pol_domain_new();

	(void)state;
	assert_int_equal(te_load(t, list, strlen(list), 2000, 1001, 0, &info, NULL, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "backwards"));
	assert_int_equal(pol_domain_count(t), 0);
	assert_int_equal(te_load(t, list, strlen(list), 2000, 1000, 0, &info, NULL, err, sizeof(err)), 0);
	assert_int_equal(info.timestamp, 1000);
	assert_int_equal(info.expires, 5000);
	assert_int_equal(info.expired, 0);
	assert_int_equal(pol_domain_count(t), 1);
	pol_domain_free(t);
	t = pol_domain_new();
	assert_int_equal(te_load(t, list, strlen(list), 2000, 999, 0, &info, NULL, err, sizeof(err)), 0);
	pol_domain_free(t);
}

/* One bad list and a word its error must contain. */
struct te_bad {
	const char *json;
	const char *want;
};

#define TE_HEAD "{\"timestamp\": \"2020-05-20T10:25:12Z\", \"expires\": \"2020-06-03T10:25:12Z\", " \
	"\"version\": \"0.1\", "

static const struct te_bad te_bads[] = {
	{ TE_HEAD "\"policy-aliases\": {}, \"policies\": {\"ok.example\": {\"mode\": \"testing\", \"mxs\": [\"mx.ok.example\"]},"
	    "\"bad.example\": {\"mode\": \"strict\", \"mxs\": [\"mx.bad.example\"]}}}", "bad.example\": unknown mode \"strict\"" },
	{ TE_HEAD "\"policy-aliases\": {}, \"policies\": {\"bad.example\": {\"mode\": \"none\", \"mxs\": [\"mx.bad.example\"]}}}", "unknown mode" },
	{ TE_HEAD "\"policy-aliases\": {}, \"policies\": {\"bad.example\": {\"mode\": 1, \"mxs\": [\"mx.bad.example\"]}}}", "unknown mode" },
	{ TE_HEAD "\"policy-aliases\": {}, \"policies\": {\"bad.example\": {\"mxs\": [\"mx.bad.example\"]}}}", "bad.example\": missing \"mode\"" },
	{ TE_HEAD "\"policy-aliases\": {}, \"policies\": {\"bad.example\": {\"mode\": \"enforce\"}}}", "bad.example\": missing \"mxs\"" },
	{ TE_HEAD "\"policy-aliases\": {}, \"policies\": {\"bad.example\": {\"mode\": \"enforce\", \"mxs\": []}}}", "non-empty" },
	{ TE_HEAD "\"policy-aliases\": {}, \"policies\": {\"bad.example\": {\"mode\": \"enforce\", \"mxs\": \"mx.bad.example\"}}}", "non-empty" },
	{ TE_HEAD "\"policy-aliases\": {}, \"policies\": {\"bad.example\": {\"mode\": \"enforce\", \"mxs\": [7]}}}", "mxs[0] is not a string" },
	{ TE_HEAD "\"policy-aliases\": {}, \"policies\": {\"bad.example\": {\"mode\": \"enforce\", \"mxs\": [\"a..b\"]}}}", "empty label" },
	{ TE_HEAD "\"policy-aliases\": {}, \"policies\": {\"bad.example\": {\"mode\": \"enforce\", \"mxs\": [\"a.b\", \"a.b\"]}}}", "listed twice" },
	{ TE_HEAD "\"policy-aliases\": {}, \"policies\": {\"bad.example\": {\"policy-alias\": \"nope\"}}}", "bad.example\": unknown policy-alias \"nope\"" },
	{ TE_HEAD "\"policy-aliases\": {}, \"policies\": {\"bad.example\": {\"policy-alias\": 3}}}", "not a string" },
	{ TE_HEAD "\"policy-aliases\": {\"x\": {\"mode\": \"enforce\"}}, \"policies\": {}}", "policy-alias \"x\": missing \"mxs\"" },
	{ TE_HEAD "\"policy-aliases\": {}, \"policies\": {\"localhost\": {\"mode\": \"enforce\", \"mxs\": [\"a.b\"]}}}", "no dot" },
	{ TE_HEAD "\"policy-aliases\": {}, \"policies\": {\"a..b\": {\"mode\": \"enforce\", \"mxs\": [\"a.b\"]}}}", "bad domain" },
	{ TE_HEAD "\"policy-aliases\": {}, \"policies\": {\"a.b\": []}}", "not an object" },
	{ TE_HEAD "\"policy-aliases\": {}, \"policies\": []}", "\"policies\"" },
	{ TE_HEAD "\"policies\": {}}", "\"policy-aliases\"" },
	{ TE_HEAD "\"policy-aliases\": {}, \"policies\": {\"a.b\": {\"mode\": \"enforce\", \"mxs\": [\"a.b\"]},"
	    "\"a.b\": {\"mode\": \"testing\", \"mxs\": [\"a.b\"]}}}", "duplicate" },
	{ "{\"timestamp\": \"2020-05-20\", \"expires\": 1, \"version\": \"0.1\", \"policy-aliases\": {}, \"policies\": {}}", "\"timestamp\"" },
	{ "{\"timestamp\": -1, \"expires\": 1, \"version\": \"0.1\", \"policy-aliases\": {}, \"policies\": {}}", "\"timestamp\"" },
	{ "{\"expires\": 1, \"version\": \"0.1\", \"policy-aliases\": {}, \"policies\": {}}", "missing \"timestamp\"" },
	{ "{\"timestamp\": 1, \"version\": \"0.1\", \"policy-aliases\": {}, \"policies\": {}}", "missing \"expires\"" },
	{ "{\"timestamp\": 1, \"expires\": 1, \"version\": \"0.2\", \"policy-aliases\": {}, \"policies\": {}}", "version \"0.2\"" },
	{ "{\"timestamp\": 1, \"expires\": 1, \"policy-aliases\": {}, \"policies\": {}}", "missing \"version\"" },
	{ "[1, 2]", "top level" },
	{ "{\"timestamp\": 1,\n \"expires\": }", "line 2" },
	{ "", "line" },
};

/* Every bad list fails with the expected words and adds nothing. */
static void
test_bad_lists(void **state)
{
	char err[256];
	struct pol_domain *t = pol_domain_new();

	(void)state;
	for (size_t i = 0; i < sizeof(te_bads) / sizeof(te_bads[0]); i++) {
		const struct te_bad *b = &te_bads[i];
		int rc = te_load(t, b->json, strlen(b->json), TE_NOW, 0, 0, NULL, NULL,
		    err, sizeof(err));

		if (rc != -1)
			fail_msg("row %zu: accepted", i);
		if (strstr(err, b->want) == NULL)
			fail_msg("row %zu: error \"%s\" lacks \"%s\"", i, err, b->want);
		assert_int_equal(pol_domain_count(t), 0);
	}
	pol_domain_free(t);
}

/* Warnings: unknown keys ignored, alias with extra fields, expires < timestamp. */
static void
test_warnings(void **state)
{
	static const char list[] = "{\"timestamp\": 100, \"expires\": 50, \"version\": \"0.1\", \"author\": \"me\","
	    "\"extra\": 1, \"policy-aliases\": {\"a\": {\"mode\": \"enforce\", \"mxs\": [\".A.example\"], \"x\": 1}},"
	    "\"policies\": {\"B.example\": {\"policy-alias\": \"a\", \"mode\": \"testing\"},"
	    "\"b.example.\": {\"mode\": \"testing\", \"mxs\": [\"mx.b.example\"]}}}";
	char msgs[TE_WARN][POL_WARN_LEN], err[256];
	struct pol_warnings w;
	struct pol_eff_info info;
	struct pol_domain_hit hit;
	struct pol_domain *t = pol_domain_new();

	(void)state;
	pol_warn_init(&w, msgs, TE_WARN);
	assert_int_equal(te_load(t, list, strlen(list), 10, 0, 0, &info, &w, err, sizeof(err)), 0);
	/* extra key, expires<timestamp, alias key x, fields next to alias, duplicate b.example */
	assert_int_equal(w.n, 5);
	assert_non_null(strstr(msgs[0], "\"extra\""));
	assert_non_null(strstr(msgs[1], "before its timestamp"));
	assert_non_null(strstr(msgs[2], "\"x\""));
	assert_non_null(strstr(msgs[3], "next to"));
	assert_non_null(strstr(msgs[4], "defined twice"));
	assert_int_equal(info.n_policies, 2);
	assert_int_equal(info.n_added, 1);
	assert_int_equal(pol_domain_find(t, "b.example", 10, &hit), 1);
	assert_int_equal(hit.mode, POL_MODE_ENFORCE);
	assert_string_equal(hit.entry->mx[0], "*.a.example");
	pol_domain_free(t);
}

/* Cut a whole list at every 1009th length: each cut fails, nothing is added. */
static void
te_cuts(const char *list, size_t len)
{
	char err[256];
	struct pol_domain *t = pol_domain_new();

	for (size_t n = 0; n + 1 < len; n += 1009) {   /* len - 1 would only drop the newline */
		char *cut = malloc(n + 1);

		memcpy(cut, list, n);
		assert_int_equal(te_load(t, cut, n, TE_NOW, 0, 0, NULL, NULL, err, sizeof(err)), -1);
		assert_true(err[0] != '\0');
		free(cut);
	}
	assert_int_equal(pol_domain_count(t), 0);
	pol_domain_free(t);
}

/* Cut the generated list and a small one at many lengths: clean errors only. */
static void
test_truncated(void **state)
{
	static const char small[] = TE_HEAD "\"policy-aliases\": {\"g\": {\"mode\": \"testing\", \"mxs\": [\"a.b\"]}},"
	    "\"policies\": {\"x.example\": {\"policy-alias\": \"g\"}, \"y.example\": {\"mode\": \"enforce\", \"mxs\": [\".y.example\"]}}}";
	char err[256];
	struct pol_domain *t = pol_domain_new();

	(void)state;
	for (size_t n = 0; n < sizeof(small) - 1; n++) {
		char *cut = malloc(n + 1);

		memcpy(cut, small, n);
		assert_int_equal(te_load(t, cut, n, TE_NOW, 0, 0, NULL, NULL, err, sizeof(err)), -1);
		assert_true(err[0] != '\0');
		free(cut);
	}
	assert_int_equal(te_load(t, small, sizeof(small) - 1, TE_NOW, 0, 0, NULL, NULL, err, sizeof(err)), 0);
	assert_int_equal(pol_domain_count(t), 2);
	pol_domain_free(t);
	te_cuts(te_gen, te_gen_len);
}

/* The real list cut the same way. */
static void
test_real_list_truncated(void **state)
{
	(void)state;
	te_cuts(te_list, te_list_len);
}

/* One RFC 3339 case; ok = 0 means refused. */
struct te_time {
	const char *s;
	int ok;
	int64_t want;
};

static const struct te_time te_times[] = {
	{ "2020-05-20T10:25:12.710034-07:00", 1, 1589995512 },
	{ "2020-06-03T10:25:12.710055-07:00", 1, 1591205112 },
	{ "2020-05-20T17:25:12Z", 1, 1589995512 },
	{ "2020-05-20t17:25:12z", 1, 1589995512 },
	{ "1970-01-01T00:00:00Z", 1, 0 },
	{ "1970-01-01T00:00:00+00:00", 1, 0 },
	{ "2000-02-29T00:00:00Z", 1, 951782400 },
	{ "2026-11-28T22:12:34+05:30", 1, 1795884154 },
	{ "9999-12-31T23:59:59Z", 1, 253402300799LL },
	{ "1000-01-01T00:00:00Z", 1, -30610224000LL },
	{ "2020-05-20T10:25:12.1Z", 1, 1589970312 },
	{ "1900-02-29T00:00:00Z", 0, 0 },
	{ "2021-02-29T00:00:00Z", 0, 0 },
	{ "2020-04-31T00:00:00Z", 0, 0 },
	{ "2020-13-01T00:00:00Z", 0, 0 },
	{ "2020-00-01T00:00:00Z", 0, 0 },
	{ "2020-01-00T00:00:00Z", 0, 0 },
	{ "2020-01-01T24:00:00Z", 0, 0 },
	{ "2020-01-01T00:60:00Z", 0, 0 },
	{ "2020-01-01T00:00:60Z", 0, 0 },
	{ "2020-01-01T00:00:00", 0, 0 },
	{ "2020-01-01T00:00:00.Z", 0, 0 },
	{ "2020-01-01T00:00:00+0100", 0, 0 },
	{ "2020-01-01T00:00:00+01:00x", 0, 0 },
	{ "2020-01-01 00:00:00Z", 0, 0 },
	{ "0999-01-01T00:00:00Z", 0, 0 },
	{ "2020-1-01T00:00:00Z", 0, 0 },
	{ "", 0, 0 },
};

/* RFC 3339 parsing, and formatting back. */
static void
test_time(void **state)
{
	char buf[POL_EFF_TIME_BUF];
	int64_t v;

	(void)state;
	for (size_t i = 0; i < sizeof(te_times) / sizeof(te_times[0]); i++) {
		const struct te_time *c = &te_times[i];
		int rc = pol_eff_time_parse(c->s, &v);

		if (c->ok && (rc != 0 || v != c->want))
			fail_msg("\"%s\": rc %d value %lld, want %lld", c->s, rc, (long long)v,
			    (long long)c->want);
		if (!c->ok && rc != -1)
			fail_msg("\"%s\": accepted as %lld", c->s, (long long)v);
	}
	assert_int_equal(pol_eff_time_parse(NULL, &v), -1);
	pol_eff_time_format(1591205112, buf, sizeof(buf));
	assert_string_equal(buf, "2020-06-03T17:25:12Z");
	pol_eff_time_format(0, buf, sizeof(buf));
	assert_string_equal(buf, "1970-01-01T00:00:00Z");
	pol_eff_time_format(951782400 + 86399, buf, sizeof(buf));
	assert_string_equal(buf, "2000-02-29T23:59:59Z");
	pol_eff_time_format(-1, buf, sizeof(buf));
	assert_string_equal(buf, "1969-12-31T23:59:59Z");
	/* Round trip over a range of days. */
	for (int64_t t = -86400LL * 800; t < 86400LL * 40000; t += 86400LL * 13 + 3601) {
		pol_eff_time_format(t, buf, sizeof(buf));
		assert_int_equal(pol_eff_time_parse(buf, &v), 0);
		assert_int_equal(v, t);
	}
}

/* Size limit refused before parsing. */
static void
test_too_big(void **state)
{
	char err[256];
	struct pol_domain *t = pol_domain_new();

	(void)state;
	assert_int_equal(te_load(t, "{}", (size_t)POL_EFF_MAX_BYTES + 1, TE_NOW, 0, 0, NULL,
	    NULL, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "bytes"));
	pol_domain_free(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gen_list),
		cmocka_unit_test(test_gen_list_modes),
		cmocka_unit_test(test_timestamp_order),
		cmocka_unit_test(test_bad_lists),
		cmocka_unit_test(test_warnings),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_time),
		cmocka_unit_test(test_too_big),
	};
	/* Only with STG_EFF_LIST: the published list, against its published counts. */
	const struct CMUnitTest real[] = {
		cmocka_unit_test(test_real_list),
		cmocka_unit_test(test_real_list_modes),
		cmocka_unit_test(test_real_list_truncated),
	};
	int failed = cmocka_run_group_tests(tests, te_setup, NULL);

	switch (te_read_real()) {
	case 1:
		failed += cmocka_run_group_tests(real, NULL, NULL);
		break;
	case 0:
		print_message("note: published EFF list checks not run (STG_EFF_LIST=path runs them)\n");
		break;
	default:
		failed++;
	}
	te_teardown(NULL);
	return failed;
}
