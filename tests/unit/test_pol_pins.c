/*
 * test_pol_pins.c - unit tests for policy/pol_pins.c (learned STARTTLS pins).
 *
 * Pins seen, refreshed, expired, evicted oldest-first; the text format
 * written and read back identically; parse errors with line numbers and
 * all-or-nothing loading; forgetting by address and MX name; every prefix
 * of a pins file parsed from an exactly-sized heap copy.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "policy/pol_pins.h"

/* 30 days, the example max_age of DESIGN.md. */
#define TP_MAX_AGE 2592000u
/* A fixed now. */
#define TP_NOW 1767225600
/* Room for any file written here. */
#define TP_BUF 65536

/* An IPv4 address 192.0.2.n. */
static struct pkt_addr
tp_v4(unsigned n)
{
	struct pkt_addr a;

	memset(&a, 0, sizeof(a));
	a.a[0] = 192;
	a.a[1] = 0;
	a.a[2] = 2;
	a.a[3] = (uint8_t)n;
	return a;
}

/* An IPv6 address 2001:db8::n. */
static struct pkt_addr
tp_v6(unsigned n)
{
	struct pkt_addr a;

	memset(&a, 0, sizeof(a));
	a.a[0] = 0x20;
	a.a[1] = 0x01;
	a.a[2] = 0x0d;
	a.a[3] = 0xb8;
	a.a[14] = (uint8_t)(n >> 8);
	a.a[15] = (uint8_t)n;
	return a;
}

/* See, refresh, look up, expire. */
static void
test_see_lookup(void **state)
{
	struct pol_pins *p = pol_pins_new(8, 12345);
	struct pkt_addr a = tp_v4(25), b = tp_v6(25), c = tp_v4(26);
	struct pol_pin pin;

	(void)state;
	assert_non_null(p);
	assert_int_equal(pol_pins_capacity(p), 8);
	assert_int_equal(pol_pins_lookup(p, 4, &a, TP_NOW, TP_MAX_AGE, &pin), 0);
	assert_int_equal(pol_pins_see(p, 4, &a, "MX.Example.NET.", TP_NOW), POL_PINS_NEW);
	assert_int_equal(pol_pins_see(p, 6, &b, NULL, TP_NOW), POL_PINS_NEW);
	assert_int_equal(pol_pins_count(p), 2);
	assert_int_equal(pol_pins_lookup(p, 4, &a, TP_NOW, TP_MAX_AGE, &pin), 1);
	assert_string_equal(pin.mx, "mx.example.net");
	assert_int_equal(pin.first_seen, TP_NOW);
	assert_int_equal(pin.last_seen, TP_NOW);
	assert_int_equal(pol_pins_lookup(p, 6, &b, TP_NOW, TP_MAX_AGE, NULL), 1);
	assert_int_equal(pol_pins_lookup(p, 4, &c, TP_NOW, TP_MAX_AGE, NULL), 0);
	/* Same bytes, other family: not the same server. */
	assert_int_equal(pol_pins_lookup(p, 6, &a, TP_NOW, TP_MAX_AGE, NULL), 0);

	/* Refresh: last_seen moves on, a known MX name is kept. */
	assert_int_equal(pol_pins_see(p, 4, &a, "", TP_NOW + 100), POL_PINS_REFRESH);
	assert_int_equal(pol_pins_lookup(p, 4, &a, TP_NOW + 100, TP_MAX_AGE, &pin), 1);
	assert_int_equal(pin.first_seen, TP_NOW);
	assert_int_equal(pin.last_seen, TP_NOW + 100);
	assert_string_equal(pin.mx, "mx.example.net");
	/* ... and never moves back. */
	assert_int_equal(pol_pins_see(p, 4, &a, "mx2.example.net", TP_NOW + 50), POL_PINS_REFRESH);
	assert_int_equal(pol_pins_lookup(p, 4, &a, TP_NOW, TP_MAX_AGE, &pin), 1);
	assert_int_equal(pin.last_seen, TP_NOW + 100);
	assert_string_equal(pin.mx, "mx2.example.net");

	/* Expiry: valid through last_seen + max_age inclusive. */
	assert_int_equal(pol_pins_lookup(p, 4, &a, TP_NOW + 100 + TP_MAX_AGE, TP_MAX_AGE, NULL), 1);
	assert_int_equal(pol_pins_lookup(p, 4, &a, TP_NOW + 101 + TP_MAX_AGE, TP_MAX_AGE, NULL), 0);
	assert_int_equal(pol_pins_expire(p, TP_NOW + 1 + TP_MAX_AGE, TP_MAX_AGE), 1);   /* b */
	assert_int_equal(pol_pins_count(p), 1);
	assert_int_equal(pol_pins_lookup(p, 6, &b, TP_NOW, TP_MAX_AGE, NULL), 0);

	/* Bad input. */
	assert_int_equal(pol_pins_see(p, 5, &a, NULL, TP_NOW), -1);
	assert_int_equal(pol_pins_see(p, 4, NULL, NULL, TP_NOW), -1);
	assert_int_equal(pol_pins_see(p, 4, &c, "bad..name", TP_NOW), -1);
	assert_int_equal(pol_pins_see(NULL, 4, &c, NULL, TP_NOW), -1);
	assert_int_equal(pol_pins_lookup(NULL, 4, &a, TP_NOW, TP_MAX_AGE, NULL), 0);
	assert_int_equal(pol_pins_lookup(p, 0, &a, TP_NOW, TP_MAX_AGE, NULL), 0);
	assert_int_equal(pol_pins_count(p), 1);
	pol_pins_free(p);
	pol_pins_free(NULL);
	assert_null(pol_pins_new(0, 1));
	assert_null(pol_pins_new((size_t)POL_PINS_MAX + 1, 1));
}

/* A full table evicts the pin with the oldest last_seen. */
static void
test_eviction(void **state)
{
	struct pol_pins *p = pol_pins_new(3, 7);
	struct pkt_addr a[5];
	const struct pol_pin *it;

	(void)state;
	for (unsigned i = 0; i < 5; i++)
		a[i] = tp_v4(i + 1);
	assert_int_equal(pol_pins_see(p, 4, &a[0], NULL, 100), POL_PINS_NEW);
	assert_int_equal(pol_pins_see(p, 4, &a[1], NULL, 200), POL_PINS_NEW);
	assert_int_equal(pol_pins_see(p, 4, &a[2], NULL, 300), POL_PINS_NEW);
	assert_int_equal(pol_pins_see(p, 4, &a[0], NULL, 400), POL_PINS_REFRESH);   /* a0 now newest */
	assert_int_equal(pol_pins_see(p, 4, &a[3], NULL, 500), POL_PINS_EVICTED);   /* a1 goes */
	assert_int_equal(pol_pins_lookup(p, 4, &a[1], 500, TP_MAX_AGE, NULL), 0);
	assert_int_equal(pol_pins_lookup(p, 4, &a[0], 500, TP_MAX_AGE, NULL), 1);
	/* A sighting older than every pin held (a replay) is itself the oldest. */
	assert_int_equal(pol_pins_see(p, 4, &a[4], NULL, 250), POL_PINS_EVICTED);
	assert_int_equal(pol_pins_lookup(p, 4, &a[4], 500, TP_MAX_AGE, NULL), 0);
	assert_int_equal(pol_pins_lookup(p, 4, &a[2], 500, TP_MAX_AGE, NULL), 1);
	/* One in the past but not the oldest sorts into place, evicting a2 (300). */
	assert_int_equal(pol_pins_see(p, 4, &a[4], NULL, 350), POL_PINS_EVICTED);
	assert_int_equal(pol_pins_lookup(p, 4, &a[2], 500, TP_MAX_AGE, NULL), 0);
	it = pol_pins_next(p, NULL);
	assert_int_equal(it->last_seen, 350);
	it = pol_pins_next(p, it);
	assert_int_equal(it->last_seen, 400);
	it = pol_pins_next(p, it);
	assert_int_equal(it->last_seen, 500);
	assert_null(pol_pins_next(p, it));
	assert_int_equal(pol_pins_count(p), 3);
	pol_pins_free(p);
}

/* Many pins in a large table, churned: the count and lookups stay right. */
static void
test_churn(void **state)
{
	struct pol_pins *p = pol_pins_new(1000, 99);
	struct pkt_addr a;
	int64_t prev = -1;

	(void)state;
	for (unsigned i = 0; i < 5000; i++) {
		a = tp_v6(i);
		assert_true(pol_pins_see(p, 6, &a, NULL, 1000 + i) >= 0);
	}
	assert_int_equal(pol_pins_count(p), 1000);
	for (unsigned i = 0; i < 5000; i++) {
		a = tp_v6(i);
		assert_int_equal(pol_pins_lookup(p, 6, &a, 6000, TP_MAX_AGE, NULL), i >= 4000);
	}
	for (const struct pol_pin *it = pol_pins_next(p, NULL); it; it = pol_pins_next(p, it)) {
		assert_true(it->last_seen > prev);
		prev = it->last_seen;
	}
	for (unsigned i = 4000; i < 5000; i += 2) {
		a = tp_v6(i);
		assert_int_equal(pol_pins_forget_addr(p, 6, &a), 1);
		assert_int_equal(pol_pins_forget_addr(p, 6, &a), 0);
	}
	assert_int_equal(pol_pins_count(p), 500);
	assert_int_equal(pol_pins_expire(p, 5999 + TP_MAX_AGE, TP_MAX_AGE), 500 - 1);
	assert_int_equal(pol_pins_count(p), 1);
	pol_pins_free(p);
}

/* Forget by MX name, exact or pattern. */
static void
test_forget_mx(void **state)
{
	struct pol_pins *p = pol_pins_new(16, 1);
	struct pkt_addr a;

	(void)state;
	a = tp_v4(1);
	pol_pins_see(p, 4, &a, "mx1.example.net", 10);
	a = tp_v4(2);
	pol_pins_see(p, 4, &a, "mx2.example.net", 10);
	a = tp_v4(3);
	pol_pins_see(p, 4, &a, "a.mx.example.net", 10);
	a = tp_v4(4);
	pol_pins_see(p, 4, &a, NULL, 10);
	assert_int_equal(pol_pins_forget_mx(p, "MX1.example.net."), 1);
	assert_int_equal(pol_pins_forget_mx(p, "mx1.example.net"), 0);
	assert_int_equal(pol_pins_forget_mx(p, "*.example.net"), 1);   /* mx2, not a.mx */
	assert_int_equal(pol_pins_forget_mx(p, ".mx.example.net"), 1);
	assert_int_equal(pol_pins_forget_mx(p, "bad..name"), 0);
	assert_int_equal(pol_pins_forget_mx(p, NULL), 0);
	assert_int_equal(pol_pins_count(p), 1);
	pol_pins_free(p);
}

/* Write, parse back, write again: identical text. */
static void
test_round_trip(void **state)
{
	struct pol_pins *p = pol_pins_new(16, 5), *q = pol_pins_new(16, 6);
	char *t1 = malloc(TP_BUF), *t2 = malloc(TP_BUF), err[128], small[8];
	struct pkt_addr a;
	struct pol_pin pin;
	size_t n1, n2;

	(void)state;
	a = tp_v4(25);
	pol_pins_see(p, 4, &a, "mx.example.net", 1000);
	pol_pins_see(p, 4, &a, NULL, 2000);
	a = tp_v6(0x25);
	pol_pins_see(p, 6, &a, NULL, 1500);
	n1 = pol_pins_write(p, t1, TP_BUF);
	assert_true(n1 < TP_BUF);
	assert_int_equal(strlen(t1), n1);
	assert_non_null(strstr(t1, "\nv1 2001:db8::25 - 1500 1500\nv1 192.0.2.25 mx.example.net 1000 2000\n"));
	assert_int_equal(pol_pins_parse(q, t1, n1, NULL, err, sizeof(err)), 0);
	assert_int_equal(pol_pins_count(q), 2);
	n2 = pol_pins_write(q, t2, TP_BUF);
	assert_int_equal(n1, n2);
	assert_string_equal(t1, t2);
	a = tp_v4(25);
	assert_int_equal(pol_pins_lookup(q, 4, &a, 2000, TP_MAX_AGE, &pin), 1);
	assert_int_equal(pin.first_seen, 1000);
	assert_string_equal(pin.mx, "mx.example.net");
	/* Too small a buffer: the size needed, an empty string. */
	assert_int_equal(pol_pins_write(p, small, sizeof(small)), n1);
	assert_string_equal(small, "");
	assert_int_equal(pol_pins_write(p, t2, n1), n1);
	assert_string_equal(t2, "");
	assert_int_equal(pol_pins_write(p, t2, n1 + 1), n1);
	assert_string_equal(t2, t1);
	assert_int_equal(pol_pins_write(p, NULL, 0), n1);
	pol_pins_free(p);
	pol_pins_free(q);
	free(t1);
	free(t2);
}

/* One bad file and the error it must give. */
struct tp_bad {
	const char *text;
	const char *want;
};

static const struct tp_bad tp_bads[] = {
	{ "v1 192.0.2.1 - 1 2\nv2 192.0.2.2 - 1 2\n", "line 2: unknown record tag" },
	{ "# c\n\nv1 192.0.2.300 - 1 2\n", "line 3: bad address" },
	{ "v1 192.0.2.1 mx..x 1 2\n", "line 1: bad MX name" },
	{ "v1 192.0.2.1 - 3 2\n", "line 1: first_seen is after" },
	{ "v1 192.0.2.1 - -1 2\n", "line 1: bad time" },
	{ "v1 192.0.2.1 - 1 2x\n", "line 1: bad time" },
	{ "v1 192.0.2.1 - 1 99999999999999999999\n", "line 1: bad time" },
	{ "v1 192.0.2.1 - 1\n", "line 1: want" },
	{ "v1 192.0.2.1 - 1 2 3\n", "line 1: want" },
	{ "v1\n", "line 1: want" },
	{ "v1 192.0.2.1 - 1 2\r\nv1 ::1 - 1 2\r\nv1 192.0.2.1 - 1\r\n", "line 3" },
	{ "v1 1234567890123456789012345678901234567890123456 - 1 2\n", "bad address" },
};

/* Parse errors: line numbers, nothing added. */
static void
test_parse_errors(void **state)
{
	static const char tp_loose[] = "v1\t::1 -  1 2  \r\nv1 192.0.2.9 MX.x.net 5 6";
	struct pol_pins *p = pol_pins_new(16, 5);
	char err[128], longline[POL_PINS_LINE_MAX + 8];

	(void)state;
	for (size_t i = 0; i < sizeof(tp_bads) / sizeof(tp_bads[0]); i++) {
		err[0] = '\0';
		if (pol_pins_parse(p, tp_bads[i].text, strlen(tp_bads[i].text), NULL, err, sizeof(err)) != -1)
			fail_msg("row %zu accepted", i);
		if (strstr(err, tp_bads[i].want) == NULL)
			fail_msg("row %zu: \"%s\" lacks \"%s\"", i, err, tp_bads[i].want);
		assert_int_equal(pol_pins_count(p), 0);
	}
	memset(longline, ' ', sizeof(longline));
	memcpy(longline, "v1 ::1 - 1 2", 12);
	assert_int_equal(pol_pins_parse(p, longline, sizeof(longline), NULL, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "too long"));
	assert_int_equal(pol_pins_parse(p, "v1 ::1 - 1 2\n\0", 14, NULL, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "line 2: NUL"));
	/* Tolerated: tabs, trailing spaces, no final newline, CRLF, empty input. */
	assert_int_equal(pol_pins_parse(p, "", 0, NULL, err, sizeof(err)), 0);
	assert_int_equal(pol_pins_parse(p, tp_loose, strlen(tp_loose), NULL, err, sizeof(err)), 0);
	assert_int_equal(pol_pins_count(p), 2);
	pol_pins_free(p);
}

/* Duplicates merge; more lines than capacity keep the newest. */
static void
test_parse_merge_capacity(void **state)
{
	static const char text[] =
	    "v1 192.0.2.1 - 50 60\n"
	    "v1 192.0.2.2 - 10 20\n"
	    "v1 192.0.2.3 mx.example.net 30 40\n"
	    "v1 192.0.2.1 mx1.example.net 5 55\n"
	    "v1 192.0.2.4 - 1 2\n";
	char msgs[4][POL_WARN_LEN], err[128];
	struct pol_warnings w;
	struct pol_pins *p = pol_pins_new(2, 5);
	struct pkt_addr a;
	struct pol_pin pin;

	(void)state;
	pol_warn_init(&w, msgs, 4);
	assert_int_equal(pol_pins_parse(p, text, strlen(text), &w, err, sizeof(err)), 0);
	assert_int_equal(pol_pins_count(p), 2);
	assert_int_equal(w.n, 2);
	assert_non_null(strstr(msgs[0], "line 4"));
	assert_non_null(strstr(msgs[1], "capacity"));
	a = tp_v4(1);
	assert_int_equal(pol_pins_lookup(p, 4, &a, 60, TP_MAX_AGE, &pin), 1);
	assert_int_equal(pin.first_seen, 5);
	assert_int_equal(pin.last_seen, 60);
	assert_string_equal(pin.mx, "mx1.example.net");
	a = tp_v4(3);
	assert_int_equal(pol_pins_lookup(p, 4, &a, 60, TP_MAX_AGE, NULL), 1);
	pol_pins_free(p);
}

/* Every prefix of a written file: parsed or refused, never overread. */
static void
test_prefixes(void **state)
{
	struct pol_pins *p = pol_pins_new(8, 5);
	char text[1024], err[128];
	struct pkt_addr a = tp_v6(0xabcd);
	size_t n;

	(void)state;
	pol_pins_see(p, 6, &a, "mx.example.net", 1767225600);
	a = tp_v4(7);
	pol_pins_see(p, 4, &a, NULL, 1767225601);
	n = pol_pins_write(p, text, sizeof(text));
	assert_true(n < sizeof(text));
	for (size_t k = 0; k <= n; k++) {
		struct pol_pins *q = pol_pins_new(8, 5);
		char *cut = malloc(k ? k : 1);

		memcpy(cut, text, k);
		if (pol_pins_parse(q, cut, k, NULL, err, sizeof(err)) == 0)
			assert_true(pol_pins_count(q) <= 2);
		free(cut);
		pol_pins_free(q);
	}
	pol_pins_free(p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_see_lookup),
		cmocka_unit_test(test_eviction),
		cmocka_unit_test(test_churn),
		cmocka_unit_test(test_forget_mx),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_parse_merge_capacity),
		cmocka_unit_test(test_prefixes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
