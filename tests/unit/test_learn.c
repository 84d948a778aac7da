/*
 * test_learn.c - what the gateway learns at run time and how policy finds
 * domains: MX names from DNS answers (gw_names), recipient domains by hash
 * and policy references (pol.c over a pol_domain table).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "gateway/gw_names.h"
#include "inspect/smtp.h"
#include "policy/pol.h"
#include "policy/pol_domain.h"

#define SEC 1000000ULL

static struct pkt_addr
v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
	struct pkt_addr x;

	memset(&x, 0, sizeof(x));
	x.a[0] = a; x.a[1] = b; x.a[2] = c; x.a[3] = d;
	return x;
}

/* Names live for their TTL, clamped; the newest answer for an address wins. */
static void
test_names_ttl(void **state)
{
	struct gw_names *n = gw_names_new(64, 7);
	struct pkt_addr a = v4(192, 0, 2, 25);
	char out[128];

	(void)state;
	assert_non_null(n);
	assert_int_equal(gw_names_get(n, 4, &a, 0, out, sizeof(out)), 0);
	gw_names_put(n, 4, &a, "mx.example.net", 0, 1000 * SEC);   /* TTL 0: kept a minute */
	assert_int_equal(gw_names_get(n, 4, &a, 1030 * SEC, out, sizeof(out)), 1);
	assert_string_equal(out, "mx.example.net");
	assert_int_equal(gw_names_get(n, 4, &a, (1000 + GW_NAMES_TTL_MIN + 1) * SEC, out, sizeof(out)), 0);
	gw_names_put(n, 4, &a, "mx1.example.net", 300, 2000 * SEC);
	gw_names_put(n, 4, &a, "mx2.example.net", 300, 2001 * SEC);
	assert_int_equal(gw_names_get(n, 4, &a, 2100 * SEC, out, sizeof(out)), 1);
	assert_string_equal(out, "mx2.example.net");
	/* the same bytes as IPv6 are another address */
	assert_int_equal(gw_names_get(n, 6, &a, 2100 * SEC, out, sizeof(out)), 0);
	gw_names_free(n);
}

/* Bounded: many addresses into a small table never grow it, and recent
 * ones stay findable. */
static void
test_names_bounded(void **state)
{
	struct gw_names *n = gw_names_new(16, 9);
	struct gw_names_stats st;
	char out[128];

	(void)state;
	for (unsigned i = 0; i < 5000; i++) {
		struct pkt_addr a = v4(198, 51, (uint8_t)(i >> 8), (uint8_t)i);
		gw_names_put(n, 4, &a, "mx.example.net", 3600, (uint64_t)i * SEC);
	}
	struct pkt_addr last = v4(198, 51, 4999 >> 8, 4999 & 0xff);
	assert_int_equal(gw_names_get(n, 4, &last, 5000 * SEC, out, sizeof(out)), 1);
	gw_names_get_stats(n, &st);
	assert_int_equal(st.learned, 5000);
	assert_true(st.replaced > 0);
	gw_names_free(n);
}

/* A DNS answer teaches the name asked for (the question), also through a CNAME. */
static void
test_names_dns(void **state)
{
	/* id, flags 8180, qd 1, an 2: mx.example.net A? -> CNAME host.provider.example.net, A 192.0.2.26 */
	static const uint8_t msg[] = {
		0x12, 0x34, 0x81, 0x80, 0, 1, 0, 2, 0, 0, 0, 0,
		2, 'm', 'x', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'n', 'e', 't', 0, 0, 1, 0, 1,
		0xc0, 0x0c, 0, 5, 0, 1, 0, 0, 0x0e, 0x10, 0, 16,
		4, 'h', 'o', 's', 't', 8, 'p', 'r', 'o', 'v', 'i', 'd', 'e', 'r', 0xc0, 0x0f,
		0xc0, 0x2c, 0, 1, 0, 1, 0, 0, 0x0e, 0x10, 0, 4, 192, 0, 2, 26,
	};
	struct gw_names *n = gw_names_new(64, 3);
	struct pkt_addr a = v4(192, 0, 2, 26);
	char out[128];

	(void)state;
	gw_names_learn_dns(n, msg, sizeof(msg), 10 * SEC);
	assert_int_equal(gw_names_get(n, 4, &a, 11 * SEC, out, sizeof(out)), 1);
	assert_string_equal(out, "mx.example.net");
	/* every truncation: never learned, never a crash */
	for (size_t len = 0; len < sizeof(msg); len++) {
		struct gw_names *m = gw_names_new(8, 1);
		gw_names_learn_dns(m, msg, len, 10 * SEC);
		assert_int_equal(gw_names_get(m, 4, &a, 11 * SEC, out, sizeof(out)), 0);
		gw_names_free(m);
	}
	gw_names_free(n);
}

/* Recipient domains by hash, references back to the same policy. */
static void
test_pol_domains(void **state)
{
	static const char *const mx1[] = { "mx.example.net" };
	static const char *const mx2[] = { "*.mail.example.org" };
	struct pol *p = pol_new();
	struct pol_domain *d = pol_domain_new();
	struct pol_domain_entry e;
	struct pol_match m;
	uint32_t ref = POL_REF_NONE;
	char err[256];

	(void)state;
	memset(&e, 0, sizeof(e));
	e.domain = "Example.NET"; e.mode = POL_MODE_ENFORCE; e.source = POL_SRC_MTA_STS;
	e.n_mx = 1; e.mx = mx1;
	assert_int_equal(pol_domain_add(d, &e, NULL, err, sizeof(err)), 0);
	e.domain = "example.org"; e.mode = POL_MODE_TESTING; e.source = POL_SRC_EFF; e.mx = mx2;
	assert_int_equal(pol_domain_add(d, &e, NULL, err, sizeof(err)), 0);
	assert_false(pol_has_domains(p));
	assert_int_equal(pol_set_domains(p, d), 0);
	assert_true(pol_has_domains(p));

	uint64_t h = smtp_name_hash("EXAMPLE.net.", 12);
	assert_int_equal(pol_lookup_domain_hash(p, h, 0, &m, &ref), 1);
	assert_int_equal(m.mode, POL_MODE_ENFORCE);
	assert_int_equal(m.source, POL_SRC_MTA_STS);
	assert_string_equal(m.match, "example.net");
	assert_int_not_equal(ref, POL_REF_NONE);
	memset(&m, 0, sizeof(m));
	assert_int_equal(pol_match_from_ref(p, ref, 0, &m), 1);
	assert_string_equal(m.match, "example.net");
	assert_int_equal(pol_match_from_ref(p, 12345, 0, &m), 0);

	h = smtp_name_hash("lists.example.net", 17);   /* a subdomain is not the domain */
	assert_int_equal(pol_lookup_domain_hash(p, h, 0, &m, &ref), 0);
	assert_int_equal(pol_lookup_mx(p, "a.mail.example.org", 0, &m, &ref), 1);
	assert_int_equal(m.source, POL_SRC_EFF);
	assert_int_equal(pol_lookup_mx(p, "b.a.mail.example.org", 0, &m, &ref), 0);
	pol_free(p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names_ttl),
		cmocka_unit_test(test_names_bounded),
		cmocka_unit_test(test_names_dns),
		cmocka_unit_test(test_pol_domains),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
