/*
 * test_pol_mx.c - unit tests for policy/pol_mx.c (names and MX patterns).
 *
 * Tables of (pattern, host, expected) and (input, normalised or refused),
 * so each case reads as one line. Covers RFC 8461 4.1 wildcard depth, case,
 * trailing dots, the EFF leading-dot form, A-labels and length limits.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "policy/pol_mx.h"

/* One matching case. */
struct tm_match {
	const char *pattern;
	const char *host;
	int want;
};

static const struct tm_match tm_matches[] = {
	{ "mx.example.net", "mx.example.net", 1 },
	{ "mx.example.net", "MX.Example.NET", 1 },
	{ "MX.EXAMPLE.NET.", "mx.example.net", 1 },
	{ "mx.example.net", "mx.example.net.", 1 },
	{ "mx.example.net", "mx2.example.net", 0 },
	{ "mx.example.net", "example.net", 0 },
	{ "mx.example.net", "a.mx.example.net", 0 },
	{ "*.example.net", "mx.example.net", 1 },
	{ "*.example.net", "MX.EXAMPLE.NET.", 1 },
	{ "*.Example.Net.", "mx.example.net", 1 },
	{ "*.example.net", "a.b.example.net", 0 },   /* exactly one label */
	{ "*.example.net", "example.net", 0 },       /* not the bare suffix */
	{ "*.example.net", "mxexample.net", 0 },
	{ "*.example.net", ".example.net", 0 },      /* empty label */
	{ "*.example.net", "mx..example.net", 0 },
	{ ".example.net", "mx.example.net", 1 },     /* EFF form */
	{ ".example.net", "a.b.example.net", 0 },
	{ ".example.net", "example.net", 0 },
	{ ".mail.protection.outlook.com", "hotmail-com.olc.protection.outlook.com", 0 },
	{ ".olc.protection.outlook.com", "hotmail-com.olc.protection.outlook.com", 1 },
	{ "xn--bcher-kva.example", "XN--BCHER-KVA.example", 1 },
	{ "*.xn--bcher-kva.example", "mx.xn--bcher-kva.example", 1 },
	{ "*.example", "xn--mx-abc.example", 1 },
	{ "b\xc3\xbc" "cher.example", "b\xc3\xbc" "cher.example", 0 }, /* U-label refused */
	{ "mx*.example.net", "mx1.example.net", 0 },
	{ "*", "mx", 0 },
	{ "*.*.example.net", "a.b.example.net", 0 },
	{ "*example.net", "mx.example.net", 0 },
	{ "", "", 0 },
	{ ".", "mx.example.net", 0 },
	{ "*.", "mx", 0 },
	{ "mx.example.net", "mx.example.net..", 0 },
	{ "mx.example.net", "*.example.net", 0 },
	{ "_dmarc.example.net", "_DMARC.example.net", 1 },
	{ "mx example.net", "mx example.net", 0 },
};

/* Every row of the match table. */
static void
test_match_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(tm_matches) / sizeof(tm_matches[0]); i++) {
		const struct tm_match *m = &tm_matches[i];
		int got = pol_mx_match(m->pattern, m->host);

		if (got != m->want)
			fail_msg("row %zu: pattern \"%s\" host \"%s\": got %d want %d",
			    i, m->pattern, m->host, got, m->want);
	}
	assert_int_equal(pol_mx_match(NULL, "a.b"), 0);
	assert_int_equal(pol_mx_match("a.b", NULL), 0);
}

/* One normalisation case: want NULL = refused. */
struct tm_norm {
	const char *in;
	const char *want;
};

static const struct tm_norm tm_names[] = {
	{ "Example.NET", "example.net" },
	{ "example.net.", "example.net" },
	{ "localhost", "localhost" },
	{ "XN--BCHER-KVA.Example", "xn--bcher-kva.example" },
	{ "", NULL },
	{ ".", NULL },
	{ "..", NULL },
	{ "a..b", NULL },
	{ ".a.b", NULL },
	{ "a.b..", NULL },
	{ "a b", NULL },
	{ "a/b", NULL },
	{ "*.a.b", NULL },
	{ "b\xc3\xbc" "cher.de", NULL },
};

/* Names: lowercase, trailing dot, refusals. */
static void
test_name_norm(void **state)
{
	char out[POL_NAME_BUF], err[128];

	(void)state;
	for (size_t i = 0; i < sizeof(tm_names) / sizeof(tm_names[0]); i++) {
		const struct tm_norm *t = &tm_names[i];
		int n = pol_name_norm(t->in, strlen(t->in), out, sizeof(out), err, sizeof(err));

		if (t->want == NULL) {
			if (n != -1)
				fail_msg("row %zu \"%s\": accepted as \"%s\"", i, t->in, out);
			assert_true(err[0] != '\0');
		} else {
			if (n < 0)
				fail_msg("row %zu \"%s\": %s", i, t->in, err);
			assert_string_equal(out, t->want);
			assert_int_equal(n, (int)strlen(t->want));
		}
	}
	/* Not NUL-terminated input: only len bytes are read. */
	assert_int_equal(pol_name_norm("MX.EXAMPLE.NETgarbage", 14, out, sizeof(out), NULL, 0), 14);
	assert_string_equal(out, "mx.example.net");
	/* A buffer too small is an error, not an overflow. */
	assert_int_equal(pol_name_norm("example.net", 11, out, 11, err, sizeof(err)), -1);
	assert_int_equal(pol_name_norm(NULL, 0, out, sizeof(out), err, sizeof(err)), -1);
}

/* Label and name length limits (63 / 253), with and without trailing dot. */
static void
test_name_lengths(void **state)
{
	char in[400], out[POL_NAME_BUF], err[128];
	size_t n;

	(void)state;
	memset(in, 'a', 63);
	memcpy(in + 63, ".net", 5);
	assert_int_equal(pol_name_norm(in, strlen(in), out, sizeof(out), err, sizeof(err)), 67);
	memset(in, 'a', 64);
	memcpy(in + 64, ".net", 5);
	assert_int_equal(pol_name_norm(in, strlen(in), out, sizeof(out), err, sizeof(err)), -1);
	assert_non_null(strstr(err, "63"));

	/* 4 labels of 63 + 3 dots = 255 > 253; 253 exactly is fine. */
	n = 0;
	for (int l = 0; l < 4; l++) {
		memset(in + n, 'b', 63);
		n += 63;
		in[n++] = '.';
	}
	in[n - 1] = '\0';
	assert_int_equal(pol_name_norm(in, strlen(in), out, sizeof(out), err, sizeof(err)), -1);
	in[253] = '\0';   /* "bbb...b.bb" cut to 253: last label 61 chars */
	assert_int_equal(pol_name_norm(in, 253, out, sizeof(out), err, sizeof(err)), 253);
	in[253] = '.';    /* with a trailing dot: 254 characters, still fine */
	in[254] = '\0';
	assert_int_equal(pol_name_norm(in, 254, out, sizeof(out), err, sizeof(err)), 253);
	assert_int_equal(pol_mx_match(in, in), 1);
	/* "*." + 252 would describe names longer than 253: refused. */
	memcpy(in, "*.", 2);
	memset(in + 2, 'c', 63);   /* "*." + 63 + "." + 63 + "." + 63 + "." + 60 */
	in[65] = '.';
	memset(in + 66, 'c', 63);
	in[129] = '.';
	memset(in + 130, 'c', 63);
	in[193] = '.';
	memset(in + 194, 'c', 60);
	assert_int_equal(pol_mx_pattern_norm(in, 254, out, sizeof(out), NULL, err, sizeof(err)), -1);
	if (strstr(err, "251") == NULL)
		fail_msg("%s", err);
	assert_int_equal(pol_mx_pattern_norm(in, 253, out, sizeof(out), NULL, err, sizeof(err)), 253);
}

/* Pattern normalisation: forms, wildcard flag, refusals. */
static void
test_pattern_norm(void **state)
{
	char out[POL_NAME_BUF], err[128];
	int wild;

	(void)state;
	assert_int_equal(pol_mx_pattern_norm(".Example.NET.", 13, out, sizeof(out), &wild, err, sizeof(err)), 13);
	assert_string_equal(out, "*.example.net");
	assert_int_equal(wild, 1);
	assert_int_equal(pol_mx_pattern_norm("*.example.net", 13, out, sizeof(out), &wild, err, sizeof(err)), 13);
	assert_string_equal(out, "*.example.net");
	assert_int_equal(wild, 1);
	assert_int_equal(pol_mx_pattern_norm("MX.example.net", 14, out, sizeof(out), &wild, err, sizeof(err)), 14);
	assert_string_equal(out, "mx.example.net");
	assert_int_equal(wild, 0);
	assert_int_equal(pol_mx_pattern_norm("a.*.net", 7, out, sizeof(out), &wild, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "leftmost"));
	assert_int_equal(pol_mx_pattern_norm("..net", 5, out, sizeof(out), &wild, err, sizeof(err)), -1);
	assert_int_equal(pol_mx_pattern_norm("*.", 2, out, sizeof(out), &wild, err, sizeof(err)), -1);
	assert_int_equal(pol_mx_pattern_norm("*", 1, out, sizeof(out), &wild, err, sizeof(err)), -1);
	assert_int_equal(pol_mx_pattern_norm("*.a", 3, out, 3, &wild, err, sizeof(err)), -1);
	assert_int_equal(pol_mx_pattern_norm(NULL, 0, out, sizeof(out), &wild, err, sizeof(err)), -1);
	assert_int_equal(pol_mx_match_norm("*.example.net", "mx.example.net"), 1);
	assert_int_equal(pol_mx_match_norm("*.example.net", "example.net"), 0);
}

/* The parent of a name. */
static void
test_parent(void **state)
{
	(void)state;
	assert_string_equal(pol_name_parent("a.b.c"), "b.c");
	assert_string_equal(pol_name_parent("a.b"), "b");
	assert_null(pol_name_parent("a"));
	assert_null(pol_name_parent("a."));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_match_table),
		cmocka_unit_test(test_name_norm),
		cmocka_unit_test(test_name_lengths),
		cmocka_unit_test(test_pattern_norm),
		cmocka_unit_test(test_parent),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
