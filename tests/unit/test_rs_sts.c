/*
 * test_rs_sts.c - unit tests for the pure parts of MTA-STS discovery
 * (resolver/rs_sts.c): TXT RDATA and RFC 8461 3.1 records, the exactly-one
 * rule, the Content-Type check. (HTTP framing is libcurl's since the
 * hand-written client was retired.)
 * Every input is parsed from an exactly-sized heap copy (so ASan sees any
 * overread), and every prefix of the good inputs is tried as well.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "resolver/rs_sts.h"

/* An exactly-sized heap copy of s[0..n). */
static char *
dup_n(const char *s, size_t n)
{
	char *p = malloc(n ? n : 1);

	assert_non_null(p);
	memcpy(p, s, n);
	return p;
}

/* rs_sts_txt_record on a heap copy. */
static int
rec(const char *txt, char *id, char *err)
{
	size_t n = strlen(txt);
	char *p = dup_n(txt, n);
	int rc = rs_sts_txt_record(p, n, id, RS_STS_ID_MAX + 1, err, 256);

	free(p);
	return rc;
}

static void
test_txt_good(void **state)
{
	static const struct { const char *txt, *id; } good[] = {
		{ "v=STSv1; id=20160831085700Z;", "20160831085700Z" },   /* RFC 8461 3.1 */
		{ "v=STSv1; id=20160831085700Z", "20160831085700Z" },
		{ "v=STSv1;id=abc", "abc" },
		{ "v=STSv1 ;\tid=X1 ; ", "X1" },
		{ "v=STSv1; ext_1=v:a/l+ue; id=9; other.ext-2=~!", "9" },
		{ "v=STSv1; id=12345678901234567890123456789012", "12345678901234567890123456789012" },
	};
	char id[RS_STS_ID_MAX + 1], err[256];

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		if (rec(good[i].txt, id, err) != 0)
			fail_msg("\"%s\": %s", good[i].txt, err);
		assert_string_equal(id, good[i].id);
	}
}

static void
test_txt_bad(void **state)
{
	static const char *const foreign[] = {
		"", "v=spf1 -all", "v=STSv10; id=1", "V=STSv1; id=1", " v=STSv1; id=1", "id=1; v=STSv1",
	};
	static const struct { const char *txt, *words; } bad[] = {
		{ "v=STSv1", "no id" },
		{ "v=STSv1;", "no id" },
		{ "v=STSv1; x=1", "no id" },
		{ "v=STSv1; id=", "id must be" },
		{ "v=STSv1; id=123456789012345678901234567890123", "id must be" },
		{ "v=STSv1; id=20-16", "bad character" },
		{ "v=STSv1; id=a b", "';' expected" },
		{ "v=STSv1; id=1; id=2", "twice" },
		{ "v=STSv1; id=1;; x=2", "field name expected" },
		{ "v=STSv1; id=1; x", "'=' expected" },
		{ "v=STSv1; id=1; x=", "empty value" },
		{ "v=STSv1; id=1; x==", "empty value" },
		{ "v=STSv1; id=1; x=a=b", "bad character" },
		{ "v=STSv1; id=1; _x=1", "field name expected" },
		{ "v=STSv1; id=1; abcdefghijabcdefghijabcdefghijabc=1", "longer than 32" },
		{ "v=STSv1; id=1; x=\x01", "empty value" },
		{ "v=STSv1 id=1", "';' expected" },
	};
	char id[RS_STS_ID_MAX + 1], err[256];

	(void)state;
	for (size_t i = 0; i < sizeof(foreign) / sizeof(foreign[0]); i++)
		assert_int_equal(rec(foreign[i], id, err), 1);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		if (rec(bad[i].txt, id, err) != -1)
			fail_msg("\"%s\" accepted", bad[i].txt);
		if (strstr(err, bad[i].words) == NULL)
			fail_msg("\"%s\": \"%s\" lacks \"%s\"", bad[i].txt, err, bad[i].words);
	}
	/* NUL bytes inside the record text */
	{
		static const char nul[] = "v=STSv1; id=1\0x";
		char *p = dup_n(nul, sizeof(nul) - 1);

		assert_int_equal(rs_sts_txt_record(p, sizeof(nul) - 1, id, sizeof(id), err, sizeof(err)), -1);
		free(p);
	}
	/* every prefix of a good record: never a crash, never an overread */
	{
		static const char g[] = "v=STSv1; ext=1; id=20160831085700Z;";

		for (size_t n = 0; n <= sizeof(g) - 1; n++) {
			char *p = dup_n(g, n);

			(void)rs_sts_txt_record(p, n, id, sizeof(id), err, sizeof(err));
			free(p);
		}
	}
}

static void
test_txt_select(void **state)
{
	const char *recs[4] = { NULL, NULL, NULL, NULL };
	size_t lens[4] = { 0, 0, 0, 0 };
	char id[RS_STS_ID_MAX + 1], err[256];

	(void)state;
	assert_int_equal(rs_sts_txt_select(recs, lens, 0, id, sizeof(id), err, sizeof(err)), 1);
	recs[0] = "v=spf1 -all";
	recs[1] = "v=STSv1; id=abc";
	recs[2] = "something else";
	for (int i = 0; i < 3; i++)
		lens[i] = strlen(recs[i]);
	assert_int_equal(rs_sts_txt_select(recs, lens, 1, id, sizeof(id), err, sizeof(err)), 1);
	assert_int_equal(rs_sts_txt_select(recs, lens, 3, id, sizeof(id), err, sizeof(err)), 0);
	assert_string_equal(id, "abc");
	recs[3] = "v=STSv1; id=def";
	lens[3] = strlen(recs[3]);
	assert_int_equal(rs_sts_txt_select(recs, lens, 4, id, sizeof(id), err, sizeof(err)), -1);
	assert_non_null(strstr(err, "2 v=STSv1 TXT records"));
	recs[1] = "v=STSv1; id=";
	lens[1] = strlen(recs[1]);
	assert_int_equal(rs_sts_txt_select(recs, lens, 3, id, sizeof(id), err, sizeof(err)), -1);
	assert_non_null(strstr(err, "id must be"));
}

static void
test_txt_rdata(void **state)
{
	static const unsigned char two[] = "\x08v=STSv1;\x07 id=abc";
	static const unsigned char empty_str[] = "\x00\x03" "abc";
	static const unsigned char over[] = "\x05" "abc";
	char out[64], small[4];

	(void)state;
	assert_int_equal(rs_sts_txt_rdata(two, sizeof(two) - 1, out, sizeof(out)), 15);
	assert_string_equal(out, "v=STSv1; id=abc");
	assert_int_equal(rs_sts_txt_rdata(empty_str, sizeof(empty_str) - 1, out, sizeof(out)), 3);
	assert_string_equal(out, "abc");
	assert_int_equal(rs_sts_txt_rdata(over, sizeof(over) - 1, out, sizeof(out)), -1);
	assert_int_equal(rs_sts_txt_rdata(two, 0, out, sizeof(out)), 0);
	assert_string_equal(out, "");
	/* too long for the buffer: the full length, a cut copy */
	assert_int_equal(rs_sts_txt_rdata(two, sizeof(two) - 1, small, sizeof(small)), 15);
	assert_string_equal(small, "v=S");
	/* every prefix: a length byte past the end is caught */
	for (size_t n = 0; n < sizeof(two) - 1; n++) {
		unsigned char *p = (unsigned char *)dup_n((const char *)two, n);
		long r = rs_sts_txt_rdata(p, n, out, sizeof(out));

		assert_true(r == -1 || n == 0 || n == 9);
		free(p);
	}
}

static void
test_ctype(void **state)
{
	static const char *const yes[] = {
		"text/plain", "TEXT/Plain", "text/plain; charset=utf-8", "text/plain;charset=\"us-ascii\"",
		"text/plain ; format=flowed",
	};
	static const char *const no[] = {
		"", "text/html", "text/plainx", "text/plain2; charset=utf-8", "text/", "text/plain,text/html",
		" text/plain", "application/octet-stream", "text/plain\x01",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		if (!rs_ctype_text_plain(yes[i]))
			fail_msg("\"%s\" refused", yes[i]);
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		if (rs_ctype_text_plain(no[i]))
			fail_msg("\"%s\" accepted", no[i]);
	assert_int_equal(rs_ctype_text_plain(NULL), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_txt_good),
		cmocka_unit_test(test_txt_bad),
		cmocka_unit_test(test_txt_select),
		cmocka_unit_test(test_txt_rdata),
		cmocka_unit_test(test_ctype),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
