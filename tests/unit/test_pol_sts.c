/*
 * test_pol_sts.c - unit tests for policy/pol_sts.c (MTA-STS policy files).
 *
 * Good and bad policy texts as readable C strings, each bad one with the
 * words (and line number) its error must carry; expiry against fetch time
 * and now; the cache file naming rule; every prefix of a good policy
 * parsed from an exactly-sized heap copy so ASan sees any overread.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "policy/pol_sts.h"

/* A fixed now: 2026-01-01T00:00:00Z. */
#define TS_NOW 1767225600

static const char ts_good[] =
    "version: STSv1\r\n"
    "mode: enforce\r\n"
    "mx: mail.example.com\r\n"
    "mx: *.Example.NET\r\n"
    "mx: backupmx.example.com\r\n"
    "max_age: 604800\r\n";

/* The RFC 8461 example and its variations parse to the same policy. */
static void
test_good(void **state)
{
	static const char *const same[] = {
		ts_good,
		/* LF only, any order, no final newline, spaces, blank lines, extensions */
		"max_age:604800\nmx: mail.example.com\n\nmode:   enforce  \n"
		"x_ext: whatever: really\nmx: *.example.net\nmx:\tbackupmx.example.com\nversion: STSv1",
		"version: STSv1\nmode: enforce\nmx: mail.example.com\nmx: *.example.net\n"
		"mx: MAIL.example.com.\nmx: backupmx.example.com\nmax_age: 604800\n\n\n",
	};
	static const char ts_none[] = "version: STSv1\nmode: none\nmax_age: 0\n";
	static const char ts_year[] = "version: STSv1\nmode: testing\nmx: a.b\nmax_age: 31557600\n";
	struct pol_sts_policy *p = malloc(sizeof(*p));
	char err[256];

	(void)state;
	for (size_t i = 0; i < sizeof(same) / sizeof(same[0]); i++) {
		if (pol_sts_parse(same[i], strlen(same[i]), p, err, sizeof(err)) != 0)
			fail_msg("text %zu: %s", i, err);
		assert_int_equal(p->mode, POL_MODE_ENFORCE);
		assert_int_equal(p->max_age, 604800);
		assert_int_equal(p->n_mx, 3);
		assert_string_equal(p->mx[0], "mail.example.com");
		assert_string_equal(p->mx[1], "*.example.net");
		assert_string_equal(p->mx[2], "backupmx.example.com");
	}
	assert_int_equal(pol_sts_parse(ts_none, strlen(ts_none), p, err, sizeof(err)), 0);
	assert_int_equal(p->mode, POL_MODE_NONE);
	assert_int_equal(p->n_mx, 0);
	assert_int_equal(p->max_age, 0);
	assert_int_equal(pol_sts_parse(ts_year, strlen(ts_year), p, err, sizeof(err)), 0);
	assert_int_equal(p->mode, POL_MODE_TESTING);
	assert_int_equal(p->max_age, 31557600);
	free(p);
}

/* One bad text and what its error must contain. */
struct ts_bad {
	const char *text;
	const char *want;
};

static const struct ts_bad ts_bads[] = {
	{ "", "version" },
	{ "mode: enforce\nmx: a.b\nmax_age: 1\n", "version" },
	{ "version: STSv1\nmx: a.b\nmax_age: 1\n", "\"mode\"" },
	{ "version: STSv1\nmode: enforce\nmx: a.b\n", "\"max_age\"" },
	{ "version: STSv1\nmode: enforce\nmax_age: 1\n", "needs at least one" },
	{ "version: STSv1\nmode: testing\nmax_age: 1\n", "needs at least one" },
	{ "version: STSv2\nmode: enforce\nmx: a.b\nmax_age: 1\n", "line 1: version" },
	{ "version: stsv1\nmode: enforce\nmx: a.b\nmax_age: 1\n", "line 1: version" },
	{ "version: STSv1\nmode: Enforce\nmx: a.b\nmax_age: 1\n", "line 2: unknown mode \"Enforce\"" },
	{ "version: STSv1\nmode: strict\nmx: a.b\nmax_age: 1\n", "unknown mode" },
	{ "version: STSv1\nmode: enforce\nmode: testing\nmx: a.b\nmax_age: 1\n", "line 3: \"mode\" given twice" },
	{ "version: STSv1\nversion: STSv1\nmode: enforce\nmx: a.b\nmax_age: 1\n", "line 2: \"version\" given twice" },
	{ "version: STSv1\nmode: enforce\nmx: a.b\nmax_age: 1\nmax_age: 2\n", "line 5: \"max_age\" given twice" },
	{ "version: STSv1\nmode: enforce\nmx: a.b\nmax_age: 31557601\n", "line 4: max_age" },
	{ "version: STSv1\nmode: enforce\nmx: a.b\nmax_age: -1\n", "max_age" },
	{ "version: STSv1\nmode: enforce\nmx: a.b\nmax_age: 1d\n", "max_age" },
	{ "version: STSv1\nmode: enforce\nmx: a.b\nmax_age: 00000000001\n", "max_age" },
	{ "version: STSv1\nmode: enforce\nmx: a.b\nmax_age:\n", "max_age" },
	{ "version: STSv1\nmode: enforce\nmx: a..b\nmax_age: 1\n", "line 3: mx: empty label" },
	{ "version: STSv1\nmode: enforce\nmx: .example.net\nmax_age: 1\n", "wildcard is written" },
	{ "version: STSv1\nmode: enforce\nmx: a.*.net\nmax_age: 1\n", "leftmost" },
	{ "version: STSv1\nmode: enforce\nmx:\nmax_age: 1\n", "line 3: mx" },
	{ "version: STSv1\nmode enforce\nmx: a.b\nmax_age: 1\n", "line 2: not a \"key: value\" line" },
	{ "version: STSv1\n: enforce\n", "line 2" },
	{ "version: STSv1\nmode: enforce\rmx: a.b\nmax_age: 1\n", "line 2: NUL or CR" },
};

/* Every bad text fails with the right words. */
static void
test_bad(void **state)
{
	struct pol_sts_policy *p = malloc(sizeof(*p));
	char err[256];

	(void)state;
	for (size_t i = 0; i < sizeof(ts_bads) / sizeof(ts_bads[0]); i++) {
		const struct ts_bad *b = &ts_bads[i];

		err[0] = '\0';
		if (pol_sts_parse(b->text, strlen(b->text), p, err, sizeof(err)) != -1)
			fail_msg("row %zu accepted", i);
		if (strstr(err, b->want) == NULL)
			fail_msg("row %zu: error \"%s\" lacks \"%s\"", i, err, b->want);
	}
	/* A NUL inside the text. */
	assert_int_equal(pol_sts_parse("version: STSv1\nmode: enf\0rce\n", 28, p, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "line 2"));
	free(p);
}

/* Too many patterns, and too many bytes. */
static void
test_limits(void **state)
{
	struct pol_sts_policy *p = malloc(sizeof(*p));
	char *text = malloc(POL_STS_MAX_BYTES + 16);
	char err[256];
	size_t n;

	(void)state;
	n = (size_t)sprintf(text, "version: STSv1\nmode: enforce\nmax_age: 86400\n");
	for (int i = 0; i < POL_DOMAIN_MX_MAX; i++)
		n += (size_t)sprintf(text + n, "mx: mx%d.example.net\n", i);
	assert_int_equal(pol_sts_parse(text, n, p, err, sizeof(err)), 0);
	assert_int_equal(p->n_mx, POL_DOMAIN_MX_MAX);
	n += (size_t)sprintf(text + n, "mx: one-more.example.net\n");
	assert_int_equal(pol_sts_parse(text, n, p, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "more than"));
	memset(text, '\n', POL_STS_MAX_BYTES + 1);
	assert_int_equal(pol_sts_parse(text, POL_STS_MAX_BYTES + 1, p, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "bytes"));
	free(text);
	free(p);
}

/* Every prefix of a good policy: parsed or refused, never overread. */
static void
test_prefixes(void **state)
{
	struct pol_sts_policy *p = malloc(sizeof(*p));
	char err[256];
	size_t len = strlen(ts_good);
	int ok = 0;

	(void)state;
	for (size_t n = 0; n <= len; n++) {
		char *cut = malloc(n ? n : 1);

		memcpy(cut, ts_good, n);
		if (pol_sts_parse(cut, n, p, err, sizeof(err)) == 0)
			ok++;
		free(cut);
	}
	/* Complete once "max_age: 6" is in: "6", "60", ... "604800", "\r", "\r\n". */
	assert_int_equal(ok, 8);
	free(p);
}

/* Adding to a table: expiry, fields, conflicts, bad domain. */
static void
test_add(void **state)
{
	char msgs[4][POL_WARN_LEN], err[256];
	struct pol_warnings w;
	struct pol_domain *t = pol_domain_new();
	struct pol_domain_hit hit;

	(void)state;
	pol_warn_init(&w, msgs, 4);
	/* Fetched 604800 s ago exactly: still valid; one second more: expired. */
	assert_int_equal(pol_sts_add(t, "Example.COM", ts_good, strlen(ts_good),
	    TS_NOW - 604800, TS_NOW, &w, err, sizeof(err)), 0);
	assert_int_equal(pol_sts_add(t, "old.example", ts_good, strlen(ts_good),
	    TS_NOW - 604801, TS_NOW, &w, err, sizeof(err)), 1);
	assert_int_equal(w.n, 1);
	assert_non_null(strstr(msgs[0], "old.example"));
	assert_non_null(strstr(msgs[0], "expired"));
	assert_int_equal(pol_sts_add(t, "example.com.", ts_good, strlen(ts_good),
	    TS_NOW, TS_NOW, &w, err, sizeof(err)), 1);
	assert_int_equal(w.n, 2);
	assert_non_null(strstr(msgs[1], "defined twice"));
	assert_int_equal(pol_sts_add(t, "bad..example", ts_good, strlen(ts_good),
	    TS_NOW, TS_NOW, &w, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "bad domain"));
	assert_int_equal(pol_sts_add(t, NULL, ts_good, strlen(ts_good),
	    TS_NOW, TS_NOW, &w, err, sizeof(err)), -1);
	assert_int_equal(pol_sts_add(t, "bad.example", "version: STSv1\n", 15,
	    TS_NOW, TS_NOW, &w, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "bad.example"));
	assert_int_equal(pol_domain_count(t), 1);

	assert_int_equal(pol_domain_find(t, "example.com", TS_NOW, &hit), 1);
	assert_int_equal(hit.entry->source, POL_SRC_MTA_STS);
	assert_int_equal(hit.mode, POL_MODE_ENFORCE);
	assert_int_equal(hit.entry->max_age, 604800);
	assert_int_equal(hit.entry->fetched_at, TS_NOW - 604800);
	assert_int_equal(hit.entry->expires, TS_NOW);
	assert_int_equal(hit.entry->n_mx, 3);
	assert_int_equal(pol_domain_match_mx(t, "mx1.example.net", TS_NOW, &hit), 1);
	assert_string_equal(hit.entry->domain, "example.com");
	assert_string_equal(hit.pattern, "*.example.net");
	/* A second later the cached policy has expired at lookup time too. */
	assert_int_equal(pol_domain_find(t, "example.com", TS_NOW + 1, &hit), 0);
	pol_domain_free(t);
}

/* Cache file names. */
static void
test_file_domain(void **state)
{
	static const struct { const char *name; const char *want; } cases[] = {
		{ "example.com.txt", "example.com" },
		{ "Example.COM.txt", "example.com" },
		{ "xn--bcher-kva.example.txt", "xn--bcher-kva.example" },
		{ "localhost.txt", NULL },
		{ ".txt", NULL },
		{ "txt", NULL },
		{ ".", NULL },
		{ "..", NULL },
		{ "example.com", NULL },
		{ "example.com.txt.tmp", NULL },
		{ "example.com..txt", NULL },
		{ "a..b.txt", NULL },
		{ ".example.com.txt", NULL },
		{ "example.com.TXT", NULL },
		{ "exa mple.com.txt", NULL },
	};
	char out[POL_NAME_BUF];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = pol_sts_file_domain(cases[i].name, out, sizeof(out));

		if (cases[i].want == NULL) {
			if (rc != -1)
				fail_msg("\"%s\" accepted as \"%s\"", cases[i].name, out);
		} else {
			if (rc != 0)
				fail_msg("\"%s\" refused", cases[i].name);
			assert_string_equal(out, cases[i].want);
		}
	}
	assert_int_equal(pol_sts_file_domain(NULL, out, sizeof(out)), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_bad),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_prefixes),
		cmocka_unit_test(test_add),
		cmocka_unit_test(test_file_domain),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
