/*
 * test_pol_dane.c - unit tests for policy/pol_dane.c: which TLSA records
 * SMTP may use (every usage, selector, matching type and length), the
 * RDATA split, the cache file written and read back, hostile files
 * (absurd lengths and counts, bad states), the MX -> TLSA table, the
 * domain entry and its precedence over MTA-STS in the domain table.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "policy/pol_dane.h"
#include "policy/pol_domain.h"

static uint8_t d64[POL_TLSA_DATA_MAX + 1];

/* usage, selector, mtype, length -> why */
struct uc {
	int u, s, m, len;
	enum pol_tlsa_why want;
};

static const struct uc ucs[] = {
	{ 3, 1, 1, 32, POL_TLSA_OK },          { 3, 0, 1, 32, POL_TLSA_OK },
	{ 3, 1, 2, 64, POL_TLSA_OK },          { 3, 0, 2, 64, POL_TLSA_OK },
	{ 3, 1, 0, 91, POL_TLSA_OK },          { 3, 0, 0, 800, POL_TLSA_OK },
	{ 2, 1, 1, 32, POL_TLSA_OK },          { 2, 0, 1, 32, POL_TLSA_OK },
	{ 2, 1, 2, 64, POL_TLSA_OK },          { 2, 0, 2, 64, POL_TLSA_OK },
	{ 2, 1, 0, 91, POL_TLSA_OK },          { 2, 0, 0, 1500, POL_TLSA_OK },
	{ 0, 1, 1, 32, POL_TLSA_BAD_USAGE },   { 1, 1, 1, 32, POL_TLSA_BAD_USAGE },
	{ 0, 0, 0, 800, POL_TLSA_BAD_USAGE },  { 4, 1, 1, 32, POL_TLSA_BAD_USAGE },
	{ 255, 1, 1, 32, POL_TLSA_BAD_USAGE }, { 3, 2, 1, 32, POL_TLSA_BAD_SELECTOR },
	{ 3, 255, 1, 32, POL_TLSA_BAD_SELECTOR }, { 3, 1, 3, 32, POL_TLSA_BAD_MTYPE },
	{ 3, 1, 255, 32, POL_TLSA_BAD_MTYPE }, { 3, 1, 1, 31, POL_TLSA_BAD_LENGTH },
	{ 3, 1, 1, 33, POL_TLSA_BAD_LENGTH },  { 3, 1, 1, 64, POL_TLSA_BAD_LENGTH },
	{ 3, 1, 2, 32, POL_TLSA_BAD_LENGTH },  { 3, 1, 2, 63, POL_TLSA_BAD_LENGTH },
	{ 3, 1, 1, 0, POL_TLSA_BAD_LENGTH },   { 3, 1, 0, 0, POL_TLSA_BAD_LENGTH },
	{ 3, 1, 0, 15, POL_TLSA_BAD_LENGTH },
	{ 3, 0, 0, POL_TLSA_DATA_MAX, POL_TLSA_OK },
	{ 3, 0, 0, POL_TLSA_DATA_MAX + 1, POL_TLSA_BAD_LENGTH },
};

static void
test_usable(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(ucs) / sizeof(ucs[0]); i++) {
		struct pol_tlsa t = { (uint8_t)ucs[i].u, (uint8_t)ucs[i].s, (uint8_t)ucs[i].m,
		    (uint16_t)ucs[i].len, d64 };
		enum pol_tlsa_why w = pol_tlsa_check(&t);

		if (w != ucs[i].want)
			fail_msg("%d %d %d len %d: %s, want %s", ucs[i].u, ucs[i].s, ucs[i].m,
			    ucs[i].len, pol_tlsa_why_name(w), pol_tlsa_why_name(ucs[i].want));
		assert_int_equal(pol_tlsa_usable(&t), ucs[i].want == POL_TLSA_OK);
	}
}

static void
test_rdata(void **state)
{
	uint8_t rd[36] = { 3, 1, 1 };
	struct pol_tlsa t;

	(void)state;
	for (size_t i = 3; i < sizeof(rd); i++)
		rd[i] = (uint8_t)i;
	assert_int_equal(pol_tlsa_rdata(rd, 35, &t), 0);
	assert_int_equal(t.usage, 3);
	assert_int_equal(t.selector, 1);
	assert_int_equal(t.mtype, 1);
	assert_int_equal(t.len, 32);
	assert_ptr_equal(t.data, rd + 3);
	assert_true(pol_tlsa_usable(&t));
	assert_int_equal(pol_tlsa_rdata(rd, 36, &t), 0);
	assert_false(pol_tlsa_usable(&t));   /* 33 bytes of SHA2-256 */
	assert_int_equal(pol_tlsa_rdata(rd, 3, &t), -1);
	assert_int_equal(pol_tlsa_rdata(rd, 0, &t), -1);
	assert_int_equal(pol_tlsa_rdata(NULL, 10, &t), -1);
	assert_int_equal(pol_tlsa_rdata(rd, 70000, &t), -1);
}

/* An answer: example.net, MX mx1 (TLSA 3 1 1 + 2 1 2), mx2 (none). */
static struct pol_dane_answer *
answer(void)
{
	struct pol_dane_answer *a = calloc(1, sizeof(*a));
	struct pol_tlsa t1 = { 3, 1, 1, 32, d64 }, t2 = { 2, 1, 2, 64, d64 + 1 };
	struct pol_tlsa bad = { 1, 1, 1, 32, d64 };

	assert_non_null(a);
	snprintf(a->domain, sizeof(a->domain), "example.net");
	a->mx_state = POL_DNSSEC_SECURE;
	a->fetched = 1795867200;
	a->until = 1795867200 + 3600;
	a->nmx = 2;
	snprintf(a->mx[0].host, sizeof(a->mx[0].host), "mx1.example.net");
	a->mx[0].state = POL_DANE_MX_TLSA;
	assert_int_equal(pol_dane_add_tlsa(a, &a->mx[0], &t1), 0);
	assert_int_equal(pol_dane_add_tlsa(a, &a->mx[0], &bad), 0);  /* counted, not kept */
	assert_int_equal(pol_dane_add_tlsa(a, &a->mx[0], &t2), 0);
	assert_int_equal(a->mx[0].ntlsa, 3);
	assert_int_equal(a->mx[0].nusable, 2);
	snprintf(a->mx[1].host, sizeof(a->mx[1].host), "mx2.example.net");
	a->mx[1].state = POL_DANE_MX_NONE;
	return a;
}

static void
test_file_roundtrip(void **state)
{
	static char buf[POL_DANE_FILE_MAX];
	struct pol_dane_answer *a = answer(), *b = calloc(1, sizeof(*b));
	char err[128];
	long n;

	(void)state;
	for (size_t i = 0; i < sizeof(d64); i++)
		d64[i] = (uint8_t)(i * 7);
	a->mx[0].tlsa[0].data = d64;   /* (the answer copied them before d64 was set) */
	n = pol_dane_format(a, buf, sizeof(buf));
	assert_true(n > 0);
	assert_non_null(strstr(buf, "dane 1\ndomain example.net\nmx-rrset secure\n"));
	assert_non_null(strstr(buf, "mx mx1.example.net tlsa\ntlsa 3 1 1 "));
	assert_non_null(strstr(buf, "mx mx2.example.net none\n"));
	if (pol_dane_parse(buf, (size_t)n, b, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_string_equal(b->domain, "example.net");
	assert_int_equal(b->mx_state, POL_DNSSEC_SECURE);
	assert_int_equal(b->until, a->until);
	assert_int_equal(b->nmx, 2);
	assert_int_equal(b->mx[0].nusable, 2);
	assert_int_equal(b->mx[0].tlsa[1].usage, 2);
	assert_int_equal(b->mx[0].tlsa[1].mtype, 2);
	assert_memory_equal(b->mx[0].tlsa[0].data, d64, 32);
	assert_int_equal(b->mx[1].state, POL_DANE_MX_NONE);
	assert_true(pol_dane_applies(b));
	assert_false(pol_dane_bogus(b));
	free(a);
	free(b);
}

/* Files the loader must refuse whole. */
static void
test_file_bad(void **state)
{
	static const char *const bad[] = {
		"",
		"dane 2\ndomain example.net\nmx-rrset secure\nfetched 1\nuntil 2\n",
		"dane 1\ndomain example.net\nmx-rrset secure\nfetched 1\n",
		"dane 1\ndomain Example.net\nmx-rrset secure\nfetched 1\nuntil 2\n",
		"dane 1\ndomain example.net\nmx-rrset maybe\nfetched 1\nuntil 2\n",
		"dane 1\ndomain example.net\nmx-rrset secure\nfetched 3\nuntil 2\n",
		"dane 1\ndomain example.net\nmx-rrset secure\nfetched -1\nuntil 2\n",
		"dane 1\ndomain example.net\ndomain example.org\nmx-rrset secure\nfetched 1\nuntil 2\n",
		"dane 1\ndomain example.net\nmx-rrset insecure\nfetched 1\nuntil 2\nmx mx.example.net tlsa\n",
		"dane 1\ndomain example.net\nmx-rrset secure\nfetched 1\nuntil 2\ntlsa 3 1 1 00\n",
		"dane 1\ndomain example.net\nmx-rrset secure\nfetched 1\nuntil 2\nmx mx.example.net none\n"
		    "tlsa 3 1 1 0000000000000000000000000000000000000000000000000000000000000000\n",
		"dane 1\ndomain example.net\nmx-rrset secure\nfetched 1\nuntil 2\nmx mx.example.net tlsa\n"
		    "tlsa 3 1 1 00\n",
		"dane 1\ndomain example.net\nmx-rrset secure\nfetched 1\nuntil 2\nmx mx.example.net tlsa\n"
		    "tlsa 1 1 1 0000000000000000000000000000000000000000000000000000000000000000\n",
		"dane 1\ndomain example.net\nmx-rrset secure\nfetched 1\nuntil 2\nmx mx.example.net tlsa\n"
		    "tlsa 3 1 1 zz00000000000000000000000000000000000000000000000000000000000000\n",
		"dane 1\ndomain example.net\nmx-rrset secure\nfetched 1\nuntil 2\nmx mx.example.net tlsa\n"
		    "tlsa 3 1 1 0000000000000000000000000000000000000000000000000000000000000000 \n",
		"dane 1\ndomain example.net\nmx-rrset secure\nfetched 1\nuntil 2\nmx mx..example.net tlsa\n",
		"dane 1\ndomain example.net\nmx-rrset secure\nfetched 1\nuntil 2\nmx mx.example.net none too-many\n",
		"dane 1\ndomain example.net\nmx-rrset secure\nfetched  1\nuntil 2\n",
		"dane 1\ndomain example.net\nmx-rrset secure\nfetched 1\nuntil 99999999999999999999\n",
		"dane 1\ndomain example.net\nmx-rrset secure\nfetched 1\nuntil 2\nsomething else\n",
	};
	struct pol_dane_answer *a = calloc(1, sizeof(*a));
	char err[128];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (pol_dane_parse(bad[i], strlen(bad[i]), a, err, sizeof(err)) != -1)
			fail_msg("bad file %zu accepted", i);
		assert_true(err[0] != '\0');
	}
	/* an embedded NUL */
	static const char nul[] = "dane 1\ndomain example.net\0\nmx-rrset secure\nfetched 1\nuntil 2\n";
	assert_int_equal(pol_dane_parse(nul, sizeof(nul) - 1, a, err, sizeof(err)), -1);
	free(a);
}

/* Absurd counts and lengths: more MX hosts than kept, more records than
 * kept (the set becomes "TLS required, nothing to match"), a file over
 * the size limit, records over the byte budget. */
static void
test_bounds(void **state)
{
	static char buf[POL_DANE_FILE_MAX + 2];
	struct pol_dane_answer *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));
	struct pol_tlsa t = { 3, 1, 1, 32, d64 };
	struct pol_tlsa big = { 3, 0, 0, POL_TLSA_DATA_MAX, d64 };
	struct pol_dane *tab;
	const struct pol_tlsa *recs;
	size_t n, o;
	char err[128];
	long len;

	(void)state;
	snprintf(a->domain, sizeof(a->domain), "example.net");
	a->mx_state = POL_DNSSEC_SECURE;
	a->nmx = 2;
	snprintf(a->mx[0].host, sizeof(a->mx[0].host), "mx1.example.net");
	snprintf(a->mx[1].host, sizeof(a->mx[1].host), "mx2.example.net");
	for (int i = 0; i < POL_TLSA_RR_MAX; i++)
		assert_int_equal(pol_dane_add_tlsa(a, &a->mx[0], &t), 0);
	assert_int_equal(pol_dane_add_tlsa(a, &a->mx[0], &t), 1);
	assert_true(a->mx[0].too_many);
	assert_int_equal(a->mx[0].ntlsa, POL_TLSA_RR_MAX + 1);
	/* the byte budget: 4 KB records until it is spent */
	int kept = 0, refused = 0;
	for (int i = 0; i < 40; i++) {
		struct pol_dane_mx *m = &a->mx[1];

		if (m->nusable == POL_TLSA_RR_MAX) {
			m->nusable = 0; /* reuse the slot: only the budget counts here */
		}
		if (pol_dane_add_tlsa(a, m, &big) == 0)
			kept++;
		else
			refused++;
	}
	assert_true(a->nbytes <= POL_DANE_BYTES_MAX);
	assert_true(kept >= 14 && refused > 0);
	/* the too-many set is written as such and read back with no records */
	a->mx[1].nusable = 0;
	a->mx[1].too_many = 0;
	a->mx[0].state = POL_DANE_MX_TLSA;
	a->mx[1].state = POL_DANE_MX_NONE;
	len = pol_dane_format(a, buf, sizeof(buf));
	assert_true(len > 0);
	assert_non_null(strstr(buf, "mx mx1.example.net tlsa too-many\n"));
	assert_int_equal(pol_dane_parse(buf, (size_t)len, b, err, sizeof(err)), 0);
	assert_true(b->mx[0].too_many);
	assert_int_equal(b->mx[0].nusable, 0);
	tab = pol_dane_new();
	assert_int_equal(pol_dane_add(tab, b, err, sizeof(err)), 0);
	assert_int_equal(pol_dane_lookup(tab, "MX1.example.net.", &recs, &n), 1);
	assert_int_equal(n, 0);   /* TLS required, no record to match */
	assert_int_equal(pol_dane_lookup(tab, "mx2.example.net", &recs, &n), 0);
	pol_dane_free(tab);
	/* 17 mx lines: refused */
	o = (size_t)snprintf(buf, sizeof(buf), "dane 1\ndomain example.net\nmx-rrset secure\n"
	    "fetched 1\nuntil 2\n");
	for (int i = 0; i <= POL_DANE_MX_MAX; i++)
		o += (size_t)snprintf(buf + o, sizeof(buf) - o, "mx mx%d.example.net none\n", i);
	assert_int_equal(pol_dane_parse(buf, o, b, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "more than"));
	/* a file over the limit: refused before reading */
	memset(buf, 'a', sizeof(buf));
	assert_int_equal(pol_dane_parse(buf, POL_DANE_FILE_MAX + 1, b, err, sizeof(err)), -1);
	/* 17 tlsa lines under one mx: refused */
	o = (size_t)snprintf(buf, sizeof(buf), "dane 1\ndomain example.net\nmx-rrset secure\n"
	    "fetched 1\nuntil 2\nmx mx.example.net tlsa\n");
	for (int i = 0; i <= POL_TLSA_RR_MAX; i++)
		o += (size_t)snprintf(buf + o, sizeof(buf) - o, "tlsa 3 1 1 %064d\n", i);
	assert_int_equal(pol_dane_parse(buf, o, b, err, sizeof(err)), -1);
	free(a);
	free(b);
}

/* The table and the domain entry: DANE above MTA-STS for the same domain
 * and MX host, below nothing but config; bogus and insecure answers bring
 * no policy. */
static void
test_table_entry(void **state)
{
	struct pol_dane_answer *a = answer();
	struct pol_dane *tab = pol_dane_new();
	struct pol_domain *dom = pol_domain_new();
	struct pol_domain_entry e, sts;
	struct pol_domain_hit hit;
	const struct pol_tlsa *recs;
	const char *pats[POL_DANE_MX_MAX];
	const char *stspats[] = { "*.example.net" };
	size_t n;
	char err[128];

	(void)state;
	assert_int_equal(pol_dane_add(tab, a, err, sizeof(err)), 0);
	assert_int_equal(pol_dane_count(tab), 1);
	assert_true(pol_dane_bytes(tab) > 0);
	assert_int_equal(pol_dane_lookup(tab, "mx1.example.net", &recs, &n), 1);
	assert_int_equal(n, 2);
	assert_int_equal(recs[0].usage, 3);
	assert_int_equal(recs[1].len, 64);
	assert_int_equal(pol_dane_lookup(tab, "mx2.example.net", &recs, &n), 0);
	assert_int_equal(pol_dane_lookup(tab, "mx1.example.org", &recs, &n), 0);
	assert_int_equal(pol_dane_lookup(tab, "not a name", &recs, &n), 0);

	assert_int_equal(pol_dane_entry(a, POL_MODE_ENFORCE, pats, &e), 0);
	assert_int_equal(e.n_mx, 1);
	assert_string_equal(e.mx[0], "mx1.example.net");
	assert_int_equal(e.source, POL_SRC_DANE);
	memset(&sts, 0, sizeof(sts));
	sts.domain = "example.net";
	sts.mode = POL_MODE_TESTING;
	sts.source = POL_SRC_MTA_STS;
	sts.n_mx = 1;
	sts.mx = stspats;
	sts.expires = a->until + 100000;
	assert_int_equal(pol_domain_add(dom, &sts, NULL, err, sizeof(err)), 0);
	assert_int_equal(pol_domain_add(dom, &e, NULL, err, sizeof(err)), 0);
	assert_int_equal(pol_domain_match_mx(dom, "mx1.example.net", a->fetched, &hit), 1);
	assert_int_equal(hit.entry->source, POL_SRC_DANE);
	assert_int_equal(hit.mode, POL_MODE_ENFORCE);
	assert_string_equal(hit.pattern, "mx1.example.net");
	/* an MX without TLSA falls to MTA-STS */
	assert_int_equal(pol_domain_match_mx(dom, "mx2.example.net", a->fetched, &hit), 1);
	assert_int_equal(hit.entry->source, POL_SRC_MTA_STS);
	assert_int_equal(pol_domain_find(dom, "example.net", a->fetched, &hit), 1);
	assert_int_equal(hit.entry->source, POL_SRC_DANE);
	/* past the TTL: not used any more */
	assert_int_equal(pol_domain_match_mx(dom, "mx1.example.net", a->until + 1, &hit), 1);
	assert_int_equal(hit.entry->source, POL_SRC_MTA_STS);
	assert_string_equal(pol_source_name(POL_SRC_DANE), "dane");

	/* bogus, insecure and all-none answers bring no policy */
	a->mx_state = POL_DNSSEC_BOGUS;
	assert_true(pol_dane_bogus(a));
	assert_false(pol_dane_applies(a));
	assert_int_equal(pol_dane_entry(a, POL_MODE_ENFORCE, pats, &e), -1);
	a->mx_state = POL_DNSSEC_INSECURE;
	assert_false(pol_dane_applies(a));
	a->mx_state = POL_DNSSEC_SECURE;
	a->mx[0].state = POL_DANE_MX_BOGUS;
	assert_true(pol_dane_bogus(a));
	assert_false(pol_dane_applies(a));
	pol_domain_free(dom);
	pol_dane_free(tab);
	free(a);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_usable),
		cmocka_unit_test(test_rdata),
		cmocka_unit_test(test_file_roundtrip),
		cmocka_unit_test(test_file_bad),
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_table_entry),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
