/*
 * test_pol.c - unit tests for policy/pol.c: CIDR rules, precedence, helpers.
 *
 * Lookups are stated as tables (address -> expected mode, source, match),
 * and each table is replayed with the rules added in both orders, so the
 * longest prefix wins whatever the configuration order.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include <cmocka.h>

#include "policy/pol.h"

/* A rule to add. */
struct tpol_rule {
	const char   *cidr;
	enum pol_mode mode;
	uint16_t      min_tls;
};

/* A lookup and what it must return. */
struct tpol_case {
	const char     *addr;
	enum pol_mode   mode;
	enum pol_source source;
	const char     *match;
	uint16_t        min_tls;
};

/* Parse a v4 or v6 address into af/a. */
static void
tpol_addr(const char *s, uint8_t *af, struct pkt_addr *a)
{
	memset(a, 0, sizeof(*a));
	if (inet_pton(AF_INET, s, a->a) == 1)
		*af = 4;
	else {
		assert_int_equal(inet_pton(AF_INET6, s, a->a), 1);
		*af = 6;
	}
}

/* Build a policy from rules (forward or reversed) and check every case. */
static void
tpol_run(const struct tpol_rule *r, size_t nr, const struct tpol_case *c,
    size_t nc, int reverse)
{
	struct pol *p = pol_new();
	char err[256];

	assert_non_null(p);
	for (size_t i = 0; i < nr; i++) {
		const struct tpol_rule *x = &r[reverse ? nr - 1 - i : i];

		if (pol_add_cidr(p, x->cidr, x->mode, x->min_tls, err, sizeof(err)) != 0)
			fail_msg("pol_add_cidr(%s): %s", x->cidr, err);
	}
	assert_int_equal(pol_rule_count(p), nr);
	for (size_t i = 0; i < nc; i++) {
		struct pol_match m;
		struct pkt_addr a;
		uint8_t af;

		tpol_addr(c[i].addr, &af, &a);
		memset(&m, 0xa5, sizeof(m));
		pol_lookup_addr(p, af, &a, &m);
		if (m.mode != c[i].mode || m.source != c[i].source ||
		    strcmp(m.match, c[i].match) != 0 || m.min_tls != c[i].min_tls)
			fail_msg("%s (%s order): got %s/%s/\"%s\"/%04x, want %s/%s/\"%s\"/%04x",
			    c[i].addr, reverse ? "reverse" : "forward",
			    pol_mode_name(m.mode), pol_source_name(m.source), m.match, m.min_tls,
			    pol_mode_name(c[i].mode), pol_source_name(c[i].source),
			    c[i].match, c[i].min_tls);
	}
	pol_free(p);
}

#define N(a) (sizeof(a) / sizeof((a)[0]))

static void
test_default_only(void **state)
{
	static const struct tpol_case c[] = {
		{ "192.0.2.1", POL_MODE_TESTING, POL_SRC_DEFAULT, "", POL_TLS_1_2 },
		{ "2001:db8::1", POL_MODE_TESTING, POL_SRC_DEFAULT, "", POL_TLS_1_2 },
	};
	struct pol *p = pol_new();
	struct pol_match m;

	(void)state;
	tpol_run(NULL, 0, c, N(c), 0);
	/* pol_set_default applies to every unmatched address */
	pol_set_default(p, POL_MODE_ENFORCE, POL_TLS_1_3);
	pol_lookup_addr(p, 4, NULL, &m);
	assert_int_equal(m.mode, POL_MODE_ENFORCE);
	assert_int_equal(m.source, POL_SRC_DEFAULT);
	assert_int_equal(m.min_tls, POL_TLS_1_3);
	assert_string_equal(m.match, "");
	pol_free(p);
	/* no policy at all: the built-in default */
	pol_lookup_addr(NULL, 4, NULL, &m);
	assert_int_equal(m.mode, POL_MODE_TESTING);
}

static void
test_longest_prefix_v4(void **state)
{
	static const struct tpol_rule r[] = {
		{ "10.0.0.0/8", POL_MODE_TESTING, POL_TLS_1_2 },
		{ "10.1.0.0/16", POL_MODE_ENFORCE, POL_TLS_1_2 },
		{ "10.1.2.0/24", POL_MODE_NONE, POL_TLS_1_0 },
		{ "10.1.2.3", POL_MODE_ENFORCE, POL_TLS_1_3 },
		{ "10.1.2.128/25", POL_MODE_TESTING, POL_TLS_1_1 },
		{ "203.0.113.0/24", POL_MODE_ENFORCE, POL_TLS_1_2 },
	};
	static const struct tpol_case c[] = {
		{ "10.1.2.3", POL_MODE_ENFORCE, POL_SRC_CONFIG, "10.1.2.3", POL_TLS_1_3 },
		{ "10.1.2.4", POL_MODE_NONE, POL_SRC_CONFIG, "10.1.2.0/24", POL_TLS_1_0 },
		{ "10.1.2.200", POL_MODE_TESTING, POL_SRC_CONFIG, "10.1.2.128/25", POL_TLS_1_1 },
		{ "10.1.3.1", POL_MODE_ENFORCE, POL_SRC_CONFIG, "10.1.0.0/16", POL_TLS_1_2 },
		{ "10.255.255.255", POL_MODE_TESTING, POL_SRC_CONFIG, "10.0.0.0/8", POL_TLS_1_2 },
		{ "11.0.0.0", POL_MODE_TESTING, POL_SRC_DEFAULT, "", POL_TLS_1_2 },
		{ "9.255.255.255", POL_MODE_TESTING, POL_SRC_DEFAULT, "", POL_TLS_1_2 },
		{ "203.0.113.25", POL_MODE_ENFORCE, POL_SRC_CONFIG, "203.0.113.0/24", POL_TLS_1_2 },
		{ "203.0.114.25", POL_MODE_TESTING, POL_SRC_DEFAULT, "", POL_TLS_1_2 },
		/* a v6 address never matches a v4 rule, not even ::ffff:10.1.2.3 */
		{ "::ffff:10.1.2.3", POL_MODE_TESTING, POL_SRC_DEFAULT, "", POL_TLS_1_2 },
		{ "::a01:203", POL_MODE_TESTING, POL_SRC_DEFAULT, "", POL_TLS_1_2 },
	};

	(void)state;
	tpol_run(r, N(r), c, N(c), 0);
	tpol_run(r, N(r), c, N(c), 1);
}

static void
test_longest_prefix_v6(void **state)
{
	static const struct tpol_rule r[] = {
		{ "2001:db8::/32", POL_MODE_TESTING, POL_TLS_1_2 },
		{ "2001:db8:25::/48", POL_MODE_ENFORCE, POL_TLS_1_3 },
		{ "2001:db8:25::25", POL_MODE_NONE, POL_TLS_1_2 },
		{ "2001:db8:8000::/33", POL_MODE_ENFORCE, POL_TLS_1_2 },
		{ "10.0.0.0/8", POL_MODE_ENFORCE, POL_TLS_1_2 },
	};
	static const struct tpol_case c[] = {
		{ "2001:db8:25::25", POL_MODE_NONE, POL_SRC_CONFIG, "2001:db8:25::25", POL_TLS_1_2 },
		{ "2001:db8:25::26", POL_MODE_ENFORCE, POL_SRC_CONFIG, "2001:db8:25::/48", POL_TLS_1_3 },
		{ "2001:db8:26::1", POL_MODE_TESTING, POL_SRC_CONFIG, "2001:db8::/32", POL_TLS_1_2 },
		{ "2001:db8:8000::1", POL_MODE_ENFORCE, POL_SRC_CONFIG, "2001:db8:8000::/33", POL_TLS_1_2 },
		{ "2001:db8:7fff::1", POL_MODE_TESTING, POL_SRC_CONFIG, "2001:db8::/32", POL_TLS_1_2 },
		{ "2001:db9::1", POL_MODE_TESTING, POL_SRC_DEFAULT, "", POL_TLS_1_2 },
		{ "10.0.0.1", POL_MODE_ENFORCE, POL_SRC_CONFIG, "10.0.0.0/8", POL_TLS_1_2 },
		/* 10.0.0.0/8 is a v4 rule: the v6 address 0a00::1 does not match */
		{ "a00::1", POL_MODE_TESTING, POL_SRC_DEFAULT, "", POL_TLS_1_2 },
	};

	(void)state;
	tpol_run(r, N(r), c, N(c), 0);
	tpol_run(r, N(r), c, N(c), 1);
}

static void
test_catch_all(void **state)
{
	static const struct tpol_rule r[] = {
		{ "0.0.0.0/0", POL_MODE_ENFORCE, POL_TLS_1_2 },
		{ "::/0", POL_MODE_NONE, POL_TLS_1_2 },
		{ "192.0.2.0/24", POL_MODE_TESTING, POL_TLS_1_2 },
	};
	static const struct tpol_case c[] = {
		{ "1.2.3.4", POL_MODE_ENFORCE, POL_SRC_CONFIG, "0.0.0.0/0", POL_TLS_1_2 },
		{ "192.0.2.9", POL_MODE_TESTING, POL_SRC_CONFIG, "192.0.2.0/24", POL_TLS_1_2 },
		{ "2001:db8::1", POL_MODE_NONE, POL_SRC_CONFIG, "::/0", POL_TLS_1_2 },
	};

	(void)state;
	tpol_run(r, N(r), c, N(c), 0);
	tpol_run(r, N(r), c, N(c), 1);
}

static void
test_bad_cidr(void **state)
{
	static const char *const bad[] = {
		"", "abc", "10.0.0.0/", "10.0.0.0/33", "10.0.0.0/-1", "10.0.0.0/8x",
		"10.0.0.1/8", "10.0.0.0/0008", "/8", "10.0.0/8", "256.0.0.0/8",
		"2001:db8::/129", "2001:db8::1/32", "2001:db8:::/32", "10.0.0.0 /8",
		"203.0.113.0/24/1",
		"1234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890",
	};
	struct pol *p = pol_new();
	char err[256];

	(void)state;
	assert_non_null(p);
	for (size_t i = 0; i < N(bad); i++) {
		err[0] = '\0';
		if (pol_add_cidr(p, bad[i], POL_MODE_ENFORCE, POL_TLS_1_2, err, sizeof(err)) != -1)
			fail_msg("\"%s\" was accepted", bad[i]);
		assert_true(err[0] != '\0');
	}
	assert_int_equal(pol_add_cidr(p, NULL, POL_MODE_ENFORCE, POL_TLS_1_2, err, sizeof(err)), -1);
	assert_int_equal(pol_rule_count(p), 0);
	/* duplicates are refused, also when written differently */
	assert_int_equal(pol_add_cidr(p, "2001:db8::/32", POL_MODE_ENFORCE, POL_TLS_1_2, err, sizeof(err)), 0);
	assert_int_equal(pol_add_cidr(p, "2001:0db8:0::/32", POL_MODE_TESTING, POL_TLS_1_2, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "duplicates"));
	assert_int_equal(pol_add_cidr(p, "10.0.0.0/8", POL_MODE_ENFORCE, POL_TLS_1_2, err, sizeof(err)), 0);
	assert_int_equal(pol_add_cidr(p, "10.0.0.0/8", POL_MODE_ENFORCE, POL_TLS_1_2, err, sizeof(err)), -1);
	assert_int_equal(pol_rule_count(p), 2);
	pol_free(p);
}

static void
test_many_rules(void **state)
{
	struct pol *p = pol_new();
	char cidr[64], err[256];
	struct pol_match m;
	struct pkt_addr a;
	uint8_t af;

	(void)state;
	/* growth past the first allocation; each /24 of 10.x.y.0 */
	for (unsigned i = 0; i < 1000; i++) {
		snprintf(cidr, sizeof(cidr), "10.%u.%u.0/24", i / 256, i % 256);
		assert_int_equal(pol_add_cidr(p, cidr, i % 2 ? POL_MODE_ENFORCE : POL_MODE_NONE,
		    POL_TLS_1_2, err, sizeof(err)), 0);
	}
	assert_int_equal(pol_add_cidr(p, "10.0.0.0/8", POL_MODE_TESTING, POL_TLS_1_2, err, sizeof(err)), 0);
	tpol_addr("10.3.231.7", &af, &a);
	pol_lookup_addr(p, af, &a, &m);
	assert_string_equal(m.match, "10.3.231.0/24");
	assert_int_equal(m.mode, POL_MODE_ENFORCE);
	tpol_addr("10.200.0.1", &af, &a);
	pol_lookup_addr(p, af, &a, &m);
	assert_string_equal(m.match, "10.0.0.0/8");
	assert_int_equal(pol_rule_count(p), 1001);
	pol_free(p);
}

static void
test_expects_tls(void **state)
{
	static const struct {
		enum pol_mode mode;
		enum pol_source src;
		int want;
	} t[] = {
		{ POL_MODE_ENFORCE, POL_SRC_DEFAULT, 1 },
		{ POL_MODE_TESTING, POL_SRC_DEFAULT, 0 },
		{ POL_MODE_NONE,    POL_SRC_DEFAULT, 0 },
		{ POL_MODE_ENFORCE, POL_SRC_CONFIG, 1 },
		{ POL_MODE_TESTING, POL_SRC_CONFIG, 1 },
		{ POL_MODE_NONE,    POL_SRC_CONFIG, 0 },
		{ POL_MODE_TESTING, POL_SRC_MTA_STS, 1 },
		{ POL_MODE_ENFORCE, POL_SRC_EFF, 1 },
		{ POL_MODE_TESTING, POL_SRC_PIN, 1 },
		{ POL_MODE_NONE,    POL_SRC_PIN, 0 },
	};

	(void)state;
	for (size_t i = 0; i < N(t); i++) {
		struct pol_match m;

		memset(&m, 0, sizeof(m));
		m.mode = t[i].mode;
		m.source = t[i].src;
		if (pol_expects_tls(&m) != t[i].want)
			fail_msg("%s/%s: want %d", pol_mode_name(t[i].mode),
			    pol_source_name(t[i].src), t[i].want);
	}
}

/* Learned facts may only raise: pol_cmp orders expecting TLS first, then
 * the mode. The first row of each pair must never replace the second. */
static void
test_cmp(void **state)
{
	static const struct {
		enum pol_mode am; enum pol_source as;   /* learned */
		enum pol_mode bm; enum pol_source bs;   /* current */
		int sign;                               /* of pol_cmp(a, b) */
	} t[] = {
		{ POL_MODE_TESTING, POL_SRC_PIN, POL_MODE_ENFORCE, POL_SRC_DEFAULT, -1 },
		{ POL_MODE_TESTING, POL_SRC_MTA_STS, POL_MODE_ENFORCE, POL_SRC_DEFAULT, -1 },
		{ POL_MODE_NONE, POL_SRC_CONFIG, POL_MODE_TESTING, POL_SRC_DEFAULT, -1 },
		{ POL_MODE_NONE, POL_SRC_PIN, POL_MODE_TESTING, POL_SRC_DEFAULT, -1 },
		{ POL_MODE_TESTING, POL_SRC_EFF, POL_MODE_ENFORCE, POL_SRC_PIN, -1 },
		{ POL_MODE_TESTING, POL_SRC_PIN, POL_MODE_TESTING, POL_SRC_DEFAULT, 1 },
		{ POL_MODE_ENFORCE, POL_SRC_PIN, POL_MODE_TESTING, POL_SRC_MTA_STS, 1 },
		{ POL_MODE_ENFORCE, POL_SRC_EFF, POL_MODE_ENFORCE, POL_SRC_DEFAULT, 0 },
		{ POL_MODE_TESTING, POL_SRC_EFF, POL_MODE_TESTING, POL_SRC_PIN, 0 },
	};

	(void)state;
	for (size_t i = 0; i < N(t); i++) {
		struct pol_match a, b;
		int c;

		memset(&a, 0, sizeof(a));
		memset(&b, 0, sizeof(b));
		a.mode = t[i].am;
		a.source = t[i].as;
		b.mode = t[i].bm;
		b.source = t[i].bs;
		c = pol_cmp(&a, &b);
		if ((c > 0) - (c < 0) != t[i].sign || (pol_cmp(&b, &a) > 0) - (pol_cmp(&b, &a) < 0) != -t[i].sign)
			fail_msg("row %zu: %s/%s vs %s/%s gave %d, want sign %d", i,
			    pol_mode_name(a.mode), pol_source_name(a.source),
			    pol_mode_name(b.mode), pol_source_name(b.source), c, t[i].sign);
	}
}

static void
test_names(void **state)
{
	enum pol_mode m;
	uint16_t v;

	(void)state;
	assert_string_equal(pol_mode_name(POL_MODE_ENFORCE), "enforce");
	assert_string_equal(pol_mode_name(POL_MODE_TESTING), "testing");
	assert_string_equal(pol_mode_name(POL_MODE_NONE), "none");
	assert_string_equal(pol_source_name(POL_SRC_DEFAULT), "default");
	assert_string_equal(pol_source_name(POL_SRC_CONFIG), "config");
	assert_string_equal(pol_source_name(POL_SRC_MTA_STS), "mta-sts");
	assert_string_equal(pol_source_name(POL_SRC_EFF), "eff");
	assert_string_equal(pol_source_name(POL_SRC_PIN), "pin");
	assert_int_equal(pol_mode_parse("enforce", &m), 0);
	assert_int_equal(m, POL_MODE_ENFORCE);
	assert_int_equal(pol_mode_parse("testing", &m), 0);
	assert_int_equal(m, POL_MODE_TESTING);
	assert_int_equal(pol_mode_parse("none", &m), 0);
	assert_int_equal(m, POL_MODE_NONE);
	assert_int_equal(pol_mode_parse("enforcing", &m), -1);
	assert_int_equal(pol_mode_parse("Enforce", &m), -1);
	assert_int_equal(pol_mode_parse("", &m), -1);
	assert_int_equal(pol_mode_parse(NULL, &m), -1);
	assert_int_equal(pol_tls_parse("1.0", &v), 0);
	assert_int_equal(v, POL_TLS_1_0);
	assert_int_equal(pol_tls_parse("1.3", &v), 0);
	assert_int_equal(v, POL_TLS_1_3);
	assert_int_equal(pol_tls_parse("1.4", &v), -1);
	assert_int_equal(pol_tls_parse("1.2 ", &v), -1);
	assert_int_equal(pol_tls_parse("", &v), -1);
	assert_int_equal(pol_tls_parse(NULL, &v), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default_only),
		cmocka_unit_test(test_longest_prefix_v4),
		cmocka_unit_test(test_longest_prefix_v6),
		cmocka_unit_test(test_catch_all),
		cmocka_unit_test(test_bad_cidr),
		cmocka_unit_test(test_many_rules),
		cmocka_unit_test(test_expects_tls),
		cmocka_unit_test(test_cmp),
		cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
