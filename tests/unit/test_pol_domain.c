/*
 * test_pol_domain.c - unit tests for policy/pol_domain.c (the domain table).
 *
 * Small tables built from C literals: lookups by recipient domain and by MX
 * name, precedence config -> MTA-STS -> EFF, exact before wildcard,
 * conflicts as warnings, expiry at `now`, bad input, and a table large
 * enough to force several rehashes.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "policy/pol_domain.h"

/* A fixed "now" for every lookup: 2026-01-01. */
#define TD_NOW 1767225600

/* Add one entry; returns pol_domain_add's result. */
static int
td_add(struct pol_domain *t, struct pol_warnings *w, const char *domain,
    enum pol_source src, enum pol_mode mode, const char *const *mx, size_t n_mx)
{
	struct pol_domain_entry e;
	char err[256];
	int rc;

	memset(&e, 0, sizeof(e));
	e.domain = domain;
	e.source = src;
	e.mode = mode;
	e.mx = mx;
	e.n_mx = n_mx;
	rc = pol_domain_add(t, &e, w, err, sizeof(err));
	if (rc == -1)
		print_message("add %s: %s\n", domain != NULL ? domain : "(null)", err);
	return rc;
}

/* Lookup by recipient domain: exact, normalised, not subdomains. */
static void
test_find_domain(void **state)
{
	static const char *const mx[] = { "MX.Example.NET.", "*.example.org" };
	struct pol_domain *t = pol_domain_new();
	struct pol_domain_hit hit;

	(void)state;
	assert_non_null(t);
	assert_int_equal(td_add(t, NULL, "Example.NET.", POL_SRC_CONFIG, POL_MODE_ENFORCE, mx, 2), 0);
	assert_int_equal(pol_domain_find(t, "example.net", TD_NOW, &hit), 1);
	assert_string_equal(hit.entry->domain, "example.net");
	assert_int_equal(hit.mode, POL_MODE_ENFORCE);
	assert_int_equal(hit.entry->n_mx, 2);
	assert_string_equal(hit.entry->mx[0], "mx.example.net");
	assert_string_equal(hit.entry->mx[1], "*.example.org");
	assert_null(hit.pattern);
	assert_int_equal(pol_domain_find(t, "EXAMPLE.net.", TD_NOW, &hit), 1);
	assert_int_equal(pol_domain_find(t, "lists.example.net", TD_NOW, &hit), 0);
	assert_null(hit.entry);
	assert_int_equal(pol_domain_find(t, "net", TD_NOW, &hit), 0);
	assert_int_equal(pol_domain_find(t, "", TD_NOW, &hit), 0);
	assert_int_equal(pol_domain_find(t, NULL, TD_NOW, &hit), 0);
	assert_int_equal(pol_domain_find(NULL, "example.net", TD_NOW, &hit), 0);
	assert_int_equal(pol_domain_count(t), 1);
	assert_int_equal(pol_domain_count_src(t, POL_SRC_CONFIG), 1);
	assert_int_equal(pol_domain_count_src(t, POL_SRC_EFF), 0);
	assert_string_equal(pol_domain_at(t, 0)->domain, "example.net");
	assert_null(pol_domain_at(t, 1));
	pol_domain_free(t);
}

/* MX lookup: exact and wildcard patterns, one label only. */
static void
test_match_mx(void **state)
{
	static const char *const mx1[] = { "mx1.example.net", ".backup.example.net" };
	static const char *const mx2[] = { "*.mail.example.com" };
	struct pol_domain *t = pol_domain_new();
	struct pol_domain_hit hit;

	(void)state;
	assert_int_equal(td_add(t, NULL, "example.net", POL_SRC_EFF, POL_MODE_TESTING, mx1, 2), 0);
	assert_int_equal(td_add(t, NULL, "example.com", POL_SRC_EFF, POL_MODE_ENFORCE, mx2, 1), 0);

	assert_int_equal(pol_domain_match_mx(t, "MX1.example.net.", TD_NOW, &hit), 1);
	assert_string_equal(hit.entry->domain, "example.net");
	assert_string_equal(hit.pattern, "mx1.example.net");
	assert_int_equal(hit.matches, 1);
	assert_int_equal(pol_domain_match_mx(t, "b1.backup.example.net", TD_NOW, &hit), 1);
	assert_string_equal(hit.pattern, "*.backup.example.net");
	assert_int_equal(pol_domain_match_mx(t, "a.b1.backup.example.net", TD_NOW, &hit), 0);
	assert_int_equal(pol_domain_match_mx(t, "backup.example.net", TD_NOW, &hit), 0);
	assert_int_equal(pol_domain_match_mx(t, "mx2.example.net", TD_NOW, &hit), 0);
	assert_int_equal(pol_domain_match_mx(t, "in1.mail.example.com", TD_NOW, &hit), 1);
	assert_string_equal(hit.entry->domain, "example.com");
	assert_int_equal(hit.mode, POL_MODE_ENFORCE);
	assert_int_equal(pol_domain_match_mx(t, "mail.example.com", TD_NOW, &hit), 0);
	assert_int_equal(pol_domain_match_mx(t, "com", TD_NOW, &hit), 0);
	assert_int_equal(pol_domain_match_mx(t, "bad..name", TD_NOW, &hit), 0);
	pol_domain_free(t);
}

/* Precedence: config beats MTA-STS beats EFF, by domain and by MX. */
static void
test_precedence(void **state)
{
	static const char *const wild[] = { "*.example.net" };
	static const char *const exact[] = { "mx.example.net" };
	struct pol_domain *t = pol_domain_new();
	struct pol_domain_hit hit;
	struct pol_match m;

	(void)state;
	/* Added in the reverse order of precedence on purpose. */
	assert_int_equal(td_add(t, NULL, "example.net", POL_SRC_EFF, POL_MODE_ENFORCE, exact, 1), 0);
	assert_int_equal(td_add(t, NULL, "example.net", POL_SRC_MTA_STS, POL_MODE_TESTING, wild, 1), 0);
	assert_int_equal(pol_domain_find(t, "example.net", TD_NOW, &hit), 1);
	assert_int_equal(hit.entry->source, POL_SRC_MTA_STS);
	assert_int_equal(hit.matches, 2);
	/* MX: the MTA-STS wildcard outranks the EFF exact pattern (source first). */
	assert_int_equal(pol_domain_match_mx(t, "mx.example.net", TD_NOW, &hit), 1);
	assert_int_equal(hit.entry->source, POL_SRC_MTA_STS);
	assert_string_equal(hit.pattern, "*.example.net");
	assert_int_equal(hit.matches, 2);

	assert_int_equal(td_add(t, NULL, "example.net", POL_SRC_CONFIG, POL_MODE_NONE, wild, 1), 0);
	assert_int_equal(pol_domain_find(t, "example.net", TD_NOW, &hit), 1);
	assert_int_equal(hit.entry->source, POL_SRC_CONFIG);
	assert_int_equal(hit.mode, POL_MODE_NONE);
	assert_int_equal(pol_domain_find_src(t, "example.net", POL_SRC_EFF, TD_NOW, &hit), 1);
	assert_int_equal(hit.entry->source, POL_SRC_EFF);
	assert_int_equal(pol_domain_match_mx(t, "mx.example.net", TD_NOW, &hit), 1);
	assert_int_equal(hit.entry->source, POL_SRC_CONFIG);
	assert_int_equal(hit.matches, 3);

	pol_domain_hit_match(&hit, POL_TLS_1_2, &m);
	assert_int_equal(m.source, POL_SRC_CONFIG);
	assert_int_equal(m.mode, POL_MODE_NONE);
	assert_int_equal(m.min_tls, POL_TLS_1_2);
	assert_string_equal(m.match, "example.net");
	pol_domain_hit_match(NULL, POL_TLS_1_3, &m);
	assert_int_equal(m.source, POL_SRC_DEFAULT);
	assert_int_equal(m.min_tls, POL_TLS_1_3);
	pol_domain_free(t);
}

/* Within one source: exact before wildcard, then stricter mode, then first. */
static void
test_specificity(void **state)
{
	static const char *const wild[] = { "*.shared.example" };
	static const char *const exact[] = { "mx.shared.example" };
	struct pol_domain *t = pol_domain_new();
	struct pol_domain_hit hit;

	(void)state;
	assert_int_equal(td_add(t, NULL, "a.example", POL_SRC_EFF, POL_MODE_ENFORCE, wild, 1), 0);
	assert_int_equal(td_add(t, NULL, "b.example", POL_SRC_EFF, POL_MODE_TESTING, exact, 1), 0);
	assert_int_equal(td_add(t, NULL, "c.example", POL_SRC_EFF, POL_MODE_TESTING, wild, 1), 0);
	assert_int_equal(td_add(t, NULL, "d.example", POL_SRC_EFF, POL_MODE_ENFORCE, wild, 1), 0);
	assert_int_equal(pol_domain_match_mx(t, "mx.shared.example", TD_NOW, &hit), 1);
	assert_string_equal(hit.entry->domain, "b.example");
	assert_int_equal(hit.matches, 4);
	assert_int_equal(pol_domain_match_mx(t, "mx2.shared.example", TD_NOW, &hit), 1);
	assert_string_equal(hit.entry->domain, "a.example");   /* enforce, added first */
	assert_int_equal(hit.matches, 3);
	pol_domain_free(t);
}

/* Same domain twice from one source: a warning, the first is kept. */
static void
test_conflict(void **state)
{
	static const char *const mx[] = { "mx.example.net" };
	char msgs[2][POL_WARN_LEN];
	struct pol_warnings w;
	struct pol_domain *t = pol_domain_new();
	struct pol_domain_hit hit;

	(void)state;
	pol_warn_init(&w, msgs, 2);
	assert_int_equal(td_add(t, &w, "example.net", POL_SRC_CONFIG, POL_MODE_ENFORCE, mx, 1), 0);
	assert_int_equal(td_add(t, &w, "EXAMPLE.NET.", POL_SRC_CONFIG, POL_MODE_TESTING, mx, 1), 1);
	assert_int_equal(w.n, 1);
	assert_non_null(strstr(msgs[0], "example.net"));
	assert_non_null(strstr(msgs[0], "config"));
	assert_int_equal(td_add(t, &w, "example.net", POL_SRC_CONFIG, POL_MODE_NONE, mx, 1), 1);
	assert_int_equal(td_add(t, &w, "example.net", POL_SRC_CONFIG, POL_MODE_NONE, mx, 1), 1);
	assert_int_equal(w.n, 2);
	assert_int_equal(w.lost, 1);
	assert_int_equal(td_add(t, NULL, "example.net", POL_SRC_CONFIG, POL_MODE_NONE, mx, 1), 1);
	assert_int_equal(pol_domain_count(t), 1);
	assert_int_equal(pol_domain_find(t, "example.net", TD_NOW, &hit), 1);
	assert_int_equal(hit.mode, POL_MODE_ENFORCE);
	pol_domain_free(t);
}

/* Bad input: names, patterns, sources, modes, too many patterns; dedup. */
static void
test_bad_input(void **state)
{
	static const char *const badmx[] = { "mx.example.net", "a.*.example.net" };
	static const char *const nullmx[] = { NULL };
	static const char *const dup[] = { "mx.example.net", "MX.example.net.", "*.x.net", ".X.net" };
	const char *many[POL_DOMAIN_MX_MAX + 1];
	char names[POL_DOMAIN_MX_MAX + 1][32];
	struct pol_domain *t = pol_domain_new();
	struct pol_domain_entry e;
	char err[256];

	(void)state;
	assert_int_equal(td_add(t, NULL, "a..example", POL_SRC_CONFIG, POL_MODE_ENFORCE, NULL, 0), -1);
	assert_int_equal(td_add(t, NULL, NULL, POL_SRC_CONFIG, POL_MODE_ENFORCE, NULL, 0), -1);
	assert_int_equal(td_add(t, NULL, "example.net", POL_SRC_CONFIG, POL_MODE_ENFORCE, badmx, 2), -1);
	assert_int_equal(td_add(t, NULL, "example.net", POL_SRC_CONFIG, POL_MODE_ENFORCE, nullmx, 1), -1);
	assert_int_equal(td_add(t, NULL, "example.net", POL_SRC_PIN, POL_MODE_ENFORCE, NULL, 0), -1);
	assert_int_equal(td_add(t, NULL, "example.net", POL_SRC_CONFIG, (enum pol_mode)7, NULL, 0), -1);
	for (int i = 0; i <= POL_DOMAIN_MX_MAX; i++) {
		snprintf(names[i], sizeof(names[i]), "mx%d.example.net", i);
		many[i] = names[i];
	}
	assert_int_equal(td_add(t, NULL, "example.net", POL_SRC_CONFIG, POL_MODE_ENFORCE, many, POL_DOMAIN_MX_MAX + 1), -1);
	assert_int_equal(td_add(t, NULL, "example.net", POL_SRC_CONFIG, POL_MODE_ENFORCE, many, POL_DOMAIN_MX_MAX), 0);
	assert_int_equal(pol_domain_at(t, 0)->n_mx, POL_DOMAIN_MX_MAX);
	assert_int_equal(td_add(t, NULL, "example.org", POL_SRC_CONFIG, POL_MODE_ENFORCE, dup, 4), 0);
	assert_int_equal(pol_domain_at(t, 1)->n_mx, 2);
	/* Domain-only policy (no MX): found by domain, never by MX. */
	memset(&e, 0, sizeof(e));
	e.domain = "nomx.example";
	e.source = POL_SRC_CONFIG;
	e.mode = POL_MODE_ENFORCE;
	e.min_tls = POL_TLS_1_3;
	assert_int_equal(pol_domain_add(t, &e, NULL, err, sizeof(err)), 0);
	assert_int_equal(pol_domain_count(t), 3);
	assert_int_equal(pol_domain_at(t, 2)->min_tls, POL_TLS_1_3);
	pol_domain_free(t);
	pol_domain_free(NULL);
}

/* Expiry at now: MTA-STS entries vanish, EFF enforce drops to testing. */
static void
test_expiry(void **state)
{
	static const char *const mx[] = { "mx.example.net" };
	struct pol_domain *t = pol_domain_new();
	struct pol_domain_entry e;
	struct pol_domain_hit hit;
	char err[256];

	(void)state;
	memset(&e, 0, sizeof(e));
	e.domain = "example.net";
	e.mx = mx;
	e.n_mx = 1;
	e.mode = POL_MODE_ENFORCE;
	e.source = POL_SRC_MTA_STS;
	e.expires = TD_NOW + 100;
	assert_int_equal(pol_domain_add(t, &e, NULL, err, sizeof(err)), 0);
	e.source = POL_SRC_EFF;
	assert_int_equal(pol_domain_add(t, &e, NULL, err, sizeof(err)), 0);
	e.domain = "keep.example";
	e.flags = POL_DOMAIN_F_KEEP_ENFORCE;
	assert_int_equal(pol_domain_add(t, &e, NULL, err, sizeof(err)), 0);

	assert_int_equal(pol_domain_find(t, "example.net", TD_NOW + 100, &hit), 1);
	assert_int_equal(hit.entry->source, POL_SRC_MTA_STS);
	assert_int_equal(hit.mode, POL_MODE_ENFORCE);
	assert_int_equal(hit.stale, 0);
	assert_int_equal(pol_domain_find(t, "example.net", TD_NOW + 101, &hit), 1);
	assert_int_equal(hit.entry->source, POL_SRC_EFF);
	assert_int_equal(hit.mode, POL_MODE_TESTING);
	assert_int_equal(hit.stale, 1);
	assert_int_equal(pol_domain_match_mx(t, "mx.example.net", TD_NOW + 101, &hit), 1);
	assert_int_equal(hit.entry->source, POL_SRC_EFF);
	assert_int_equal(hit.matches, 2);   /* the expired MTA-STS entry is not counted */
	assert_int_equal(pol_domain_find_src(t, "example.net", POL_SRC_MTA_STS, TD_NOW + 101, &hit), 0);
	assert_int_equal(pol_domain_find(t, "keep.example", TD_NOW + 101, &hit), 1);
	assert_int_equal(hit.mode, POL_MODE_ENFORCE);
	assert_int_equal(hit.stale, 0);
	pol_domain_free(t);
}

/* Many entries: rehashing keeps every key findable. */
static void
test_many(void **state)
{
	struct pol_domain *t = pol_domain_new();
	struct pol_domain_hit hit;
	char dom[64], mxn[64], q[64];
	const char *mx[2] = { mxn, "*.shared.example" };

	(void)state;
	for (int i = 0; i < 5000; i++) {
		snprintf(dom, sizeof(dom), "d%d.example", i);
		snprintf(mxn, sizeof(mxn), "mx%d.example", i);
		assert_int_equal(td_add(t, NULL, dom, POL_SRC_EFF, POL_MODE_TESTING, mx, 2), 0);
	}
	for (int i = 0; i < 5000; i += 7) {
		snprintf(q, sizeof(q), "D%d.Example.", i);
		assert_int_equal(pol_domain_find(t, q, TD_NOW, &hit), 1);
		snprintf(q, sizeof(q), "d%d.example", i);
		assert_string_equal(hit.entry->domain, q);
		snprintf(q, sizeof(q), "mx%d.example", i);
		assert_int_equal(pol_domain_match_mx(t, q, TD_NOW, &hit), 1);
		assert_int_equal(hit.matches, 1);
	}
	assert_int_equal(pol_domain_match_mx(t, "x.shared.example", TD_NOW, &hit), 1);
	assert_int_equal(hit.matches, 5000);
	assert_string_equal(hit.entry->domain, "d0.example");
	pol_domain_free(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_find_domain),
		cmocka_unit_test(test_match_mx),
		cmocka_unit_test(test_precedence),
		cmocka_unit_test(test_specificity),
		cmocka_unit_test(test_conflict),
		cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_expiry),
		cmocka_unit_test(test_many),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
