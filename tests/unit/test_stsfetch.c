/*
 * test_stsfetch.c - unit tests for the pure parts of gateway/gw_stsfetch.c:
 * TXT RDATA and RFC 8461 3.1 records, the exactly-one rule, HTTP response
 * heads (status line, headers, limits), Content-Type, chunked bodies.
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

#include "gateway/gw_stsfetch.h"

/* An exactly-sized heap copy of s[0..n). */
static char *
dup_n(const char *s, size_t n)
{
	char *p = malloc(n ? n : 1);

	assert_non_null(p);
	memcpy(p, s, n);
	return p;
}

/* gw_sts_txt_record on a heap copy. */
static int
rec(const char *txt, char *id, char *err)
{
	size_t n = strlen(txt);
	char *p = dup_n(txt, n);
	int rc = gw_sts_txt_record(p, n, id, GW_STS_ID_MAX + 1, err, 256);

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
	char id[GW_STS_ID_MAX + 1], err[256];

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
	char id[GW_STS_ID_MAX + 1], err[256];

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

		assert_int_equal(gw_sts_txt_record(p, sizeof(nul) - 1, id, sizeof(id), err, sizeof(err)), -1);
		free(p);
	}
	/* every prefix of a good record: never a crash, never an overread */
	{
		static const char g[] = "v=STSv1; ext=1; id=20160831085700Z;";

		for (size_t n = 0; n <= sizeof(g) - 1; n++) {
			char *p = dup_n(g, n);

			(void)gw_sts_txt_record(p, n, id, sizeof(id), err, sizeof(err));
			free(p);
		}
	}
}

static void
test_txt_select(void **state)
{
	const char *recs[4] = { NULL, NULL, NULL, NULL };
	size_t lens[4] = { 0, 0, 0, 0 };
	char id[GW_STS_ID_MAX + 1], err[256];

	(void)state;
	assert_int_equal(gw_sts_txt_select(recs, lens, 0, id, sizeof(id), err, sizeof(err)), 1);
	recs[0] = "v=spf1 -all";
	recs[1] = "v=STSv1; id=abc";
	recs[2] = "something else";
	for (int i = 0; i < 3; i++)
		lens[i] = strlen(recs[i]);
	assert_int_equal(gw_sts_txt_select(recs, lens, 1, id, sizeof(id), err, sizeof(err)), 1);
	assert_int_equal(gw_sts_txt_select(recs, lens, 3, id, sizeof(id), err, sizeof(err)), 0);
	assert_string_equal(id, "abc");
	recs[3] = "v=STSv1; id=def";
	lens[3] = strlen(recs[3]);
	assert_int_equal(gw_sts_txt_select(recs, lens, 4, id, sizeof(id), err, sizeof(err)), -1);
	assert_non_null(strstr(err, "2 v=STSv1 TXT records"));
	recs[1] = "v=STSv1; id=";
	lens[1] = strlen(recs[1]);
	assert_int_equal(gw_sts_txt_select(recs, lens, 3, id, sizeof(id), err, sizeof(err)), -1);
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
	assert_int_equal(gw_sts_txt_rdata(two, sizeof(two) - 1, out, sizeof(out)), 15);
	assert_string_equal(out, "v=STSv1; id=abc");
	assert_int_equal(gw_sts_txt_rdata(empty_str, sizeof(empty_str) - 1, out, sizeof(out)), 3);
	assert_string_equal(out, "abc");
	assert_int_equal(gw_sts_txt_rdata(over, sizeof(over) - 1, out, sizeof(out)), -1);
	assert_int_equal(gw_sts_txt_rdata(two, 0, out, sizeof(out)), 0);
	assert_string_equal(out, "");
	/* too long for the buffer: the full length, a cut copy */
	assert_int_equal(gw_sts_txt_rdata(two, sizeof(two) - 1, small, sizeof(small)), 15);
	assert_string_equal(small, "v=S");
	/* every prefix: a length byte past the end is caught */
	for (size_t n = 0; n < sizeof(two) - 1; n++) {
		unsigned char *p = (unsigned char *)dup_n((const char *)two, n);
		long r = gw_sts_txt_rdata(p, n, out, sizeof(out));

		assert_true(r == -1 || n == 0 || n == 9);
		free(p);
	}
}

/* gw_http_parse_head on a heap copy. */
static int
head(const char *s, struct gw_http_resp *r, char *err)
{
	size_t n = strlen(s);
	char *p = dup_n(s, n);
	int rc = gw_http_parse_head(p, n, r, err, 256);

	free(p);
	return rc;
}

static const char h_good[] =
    "HTTP/1.1 200 OK\r\n"
    "Server: nginx\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "content-length:   76  \r\n"
    "Connection: close\r\n"
    "\r\n"
    "version: STSv1\r\n";

static void
test_http_good(void **state)
{
	struct gw_http_resp r;
	char err[256];

	(void)state;
	assert_int_equal(head(h_good, &r, err), 0);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.minor, 1);
	assert_string_equal(r.reason, "OK");
	assert_string_equal(r.content_type, "text/plain; charset=utf-8");
	assert_int_equal(r.content_length, 76);
	assert_int_equal(r.chunked, 0);
	assert_int_equal(r.head_len, strlen(h_good) - strlen("version: STSv1\r\n"));

	/* HTTP/1.0, bare LF, no reason phrase, no length */
	assert_int_equal(head("HTTP/1.0 200\nContent-Type: text/plain\n\nbody", &r, err), 0);
	assert_int_equal(r.minor, 0);
	assert_string_equal(r.reason, "");
	assert_int_equal(r.content_length, -1);
	assert_int_equal(r.head_len, 39);

	/* redirect: Location kept, escaped */
	assert_int_equal(head("HTTP/1.1 302 Found\r\nLocation: https://evil.example/\x1b[0m\r\n\r\n", &r, err), -1);
	assert_int_equal(head("HTTP/1.1 302 Found\r\nLocation: https://evil.example/\r\n\r\n", &r, err), 0);
	assert_int_equal(r.status, 302);
	assert_string_equal(r.location, "https://evil.example/");

	/* chunked wins over Content-Length (RFC 9112 6.3) */
	assert_int_equal(head("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: Chunked\r\n\r\n",
	    &r, err), 0);
	assert_int_equal(r.chunked, 1);
	assert_int_equal(r.content_length, -1);

	/* the same Content-Length twice is fine; 404 parses (the caller refuses it) */
	assert_int_equal(head("HTTP/1.1 404 Not Found\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\n",
	    &r, err), 0);
	assert_int_equal(r.status, 404);
	assert_string_equal(r.reason, "Not Found");

	/* every prefix of the head wants more bytes */
	for (size_t n = 0, hl = strlen(h_good) - strlen("version: STSv1\r\n"); n < hl; n++) {
		char *p = dup_n(h_good, n);

		if (gw_http_parse_head(p, n, &r, err, sizeof(err)) != 1)
			fail_msg("prefix of %zu bytes: not \"need more\"", n);
		free(p);
	}
}

static void
test_http_bad(void **state)
{
	static const struct { const char *s, *words; } bad[] = {
		{ "HTTP/2 200 OK\r\n\r\n", "status line" },
		{ "HTTP/1.2 200 OK\r\n\r\n", "status line" },
		{ "HTTP/1.1 20 OK\r\n\r\n", "status line" },
		{ "HTTP/1.1 2000 OK\r\n\r\n", "status line" },
		{ "HTTP/1.1 099 OK\r\n\r\n", "status line" },
		{ "HTTP/1.1  200 OK\r\n\r\n", "status line" },
		{ "http/1.1 200 OK\r\n\r\n", "status line" },
		{ "ICY 200 OK\r\n\r\n", "status line" },
		{ "\r\n\r\n", "status line" },
		{ "HTTP/1.1 200 OK\r\nNo colon here\r\n\r\n", "no field name" },
		{ "HTTP/1.1 200 OK\r\nName : v\r\n\r\n", "no field name" },
		{ "HTTP/1.1 200 OK\r\n: v\r\n\r\n", "no field name" },
		{ "HTTP/1.1 200 OK\r\nA: b\r\n continued\r\n\r\n", "folded" },
		{ "HTTP/1.1 200 OK\r\nA: b\x01c\r\n\r\n", "control byte" },
		{ "HTTP/1.1 200 OK\r\nA: b\rc\r\n\r\n", "control byte" },
		{ "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", "Content-Length" },
		{ "HTTP/1.1 200 OK\r\nContent-Length: 1 2\r\n\r\n", "Content-Length" },
		{ "HTTP/1.1 200 OK\r\nContent-Length:\r\n\r\n", "Content-Length" },
		{ "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n", "Content-Length" },
		{ "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n", "conflicting" },
		{ "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", "not supported" },
		{ "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
		    "not supported" },
		{ "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\n\r\n", "not supported" },
		{ "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Type: text/html\r\n\r\n", "twice" },
	};
	struct gw_http_resp r;
	char err[256];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		if (head(bad[i].s, &r, err) != -1)
			fail_msg("case %zu accepted", i);
		if (strstr(err, bad[i].words) == NULL)
			fail_msg("case %zu: \"%s\" lacks \"%s\"", i, err, bad[i].words);
	}
	/* a hostile status line is escaped in the message */
	assert_int_equal(head("\x1b[31mHTTP/1.1 200\r\n\r\n", &r, err), -1);
	assert_null(strchr(err, '\x1b'));
}

static void
test_http_limits(void **state)
{
	size_t n = GW_HTTP_HEAD_MAX + 64;
	char *big = malloc(n), err[256];
	struct gw_http_resp r;
	size_t o;

	(void)state;
	assert_non_null(big);
	/* a head that never ends: "need more" until the limit, then refused */
	o = (size_t)snprintf(big, n, "HTTP/1.1 200 OK\r\nX: ");
	memset(big + o, 'a', n - o);
	assert_int_equal(gw_http_parse_head(big, GW_HTTP_HEAD_MAX - 1, &r, err, sizeof(err)), 1);
	assert_int_equal(gw_http_parse_head(big, GW_HTTP_HEAD_MAX, &r, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "longer than"));
	assert_int_equal(gw_http_parse_head(big, n, &r, err, sizeof(err)), -1);
	/* the empty line just past the limit does not help */
	memcpy(big + GW_HTTP_HEAD_MAX - 2, "\r\n\r\n", 4);
	assert_int_equal(gw_http_parse_head(big, n, &r, err, sizeof(err)), -1);

	/* too many header lines */
	o = (size_t)snprintf(big, n, "HTTP/1.1 200 OK\r\n");
	for (int i = 0; i <= GW_HTTP_HEADERS_MAX; i++)
		o += (size_t)snprintf(big + o, n - o, "X-%d: 1\r\n", i);
	o += (size_t)snprintf(big + o, n - o, "\r\n");
	assert_int_equal(gw_http_parse_head(big, o, &r, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "header lines"));

	/* a long Content-Type is cut, not overflowed */
	o = (size_t)snprintf(big, n, "HTTP/1.1 200 OK\r\nContent-Type: text/plain; x=");
	memset(big + o, 'b', 1000);
	o += 1000;
	o += (size_t)snprintf(big + o, n - o, "\r\n\r\n");
	assert_int_equal(gw_http_parse_head(big, o, &r, err, sizeof(err)), 0);
	assert_int_equal(strlen(r.content_type), GW_HTTP_VALUE_MAX - 1);
	assert_int_equal(gw_http_ctype_text_plain(r.content_type), 1);
	free(big);
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
		if (!gw_http_ctype_text_plain(yes[i]))
			fail_msg("\"%s\" refused", yes[i]);
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		if (gw_http_ctype_text_plain(no[i]))
			fail_msg("\"%s\" accepted", no[i]);
	assert_int_equal(gw_http_ctype_text_plain(NULL), 0);
}

/* gw_http_dechunk on a heap copy; the decoded text in out. */
static int
dechunk(const char *s, size_t max, char *out, size_t outsz, char *err)
{
	size_t n = strlen(s), got = 0;
	char *p = dup_n(s, n);
	int rc = gw_http_dechunk(p, n, max, &got, err, 256);

	if (rc == 0) {
		assert_true(got < outsz);
		memcpy(out, p, got);
		out[got] = '\0';
	}
	free(p);
	return rc;
}

static void
test_chunked(void **state)
{
	static const char good[] = "5\r\nhello\r\n7;name=val\r\n, world\r\n0\r\nTrailer: x\r\n\r\n";
	static const struct { const char *s, *words; } bad[] = {
		{ "", "chunk size expected" },
		{ "x\r\nabc\r\n0\r\n\r\n", "chunk size expected" },
		{ "5\r\nhel", "cut inside a chunk" },
		{ "5", "cut inside a chunk header" },
		{ "5\r\nhelloX\r\n0\r\n\r\n", "CRLF missing" },
		{ "5\r\nhello", "CRLF missing" },
		{ "5\r\nhello\r\n", "chunk size expected" },           /* no last chunk */
		{ "fffffffff\r\n", "too large" },
		{ "ffffffff\r\nab\r\n0\r\n\r\n", "cut inside a chunk" },
		{ "-1\r\n", "chunk size expected" },
	};
	char out[128], err[256];

	(void)state;
	assert_int_equal(dechunk(good, 65536, out, sizeof(out), err), 0);
	assert_string_equal(out, "hello, world");
	assert_int_equal(dechunk("3\nabc\n0\n\n", 65536, out, sizeof(out), err), 0);
	assert_string_equal(out, "abc");
	assert_int_equal(dechunk("0\r\n\r\n", 65536, out, sizeof(out), err), 0);
	assert_string_equal(out, "");
	/* the decoded size limit */
	assert_int_equal(dechunk(good, 11, out, sizeof(out), err), -1);
	assert_non_null(strstr(err, "longer than 11"));
	assert_int_equal(dechunk(good, 12, out, sizeof(out), err), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		if (dechunk(bad[i].s, 65536, out, sizeof(out), err) != -1)
			fail_msg("case %zu accepted", i);
		if (strstr(err, bad[i].words) == NULL)
			fail_msg("case %zu: \"%s\" lacks \"%s\"", i, err, bad[i].words);
	}
	/* every prefix: refused or decoded, never an overread */
	for (size_t n = 0; n < sizeof(good) - 1; n++) {
		char *p = dup_n(good, n);
		size_t got;

		(void)gw_http_dechunk(p, n, 65536, &got, err, sizeof(err));
		free(p);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_txt_good),
		cmocka_unit_test(test_txt_bad),
		cmocka_unit_test(test_txt_select),
		cmocka_unit_test(test_txt_rdata),
		cmocka_unit_test(test_http_good),
		cmocka_unit_test(test_http_bad),
		cmocka_unit_test(test_http_limits),
		cmocka_unit_test(test_ctype),
		cmocka_unit_test(test_chunked),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
