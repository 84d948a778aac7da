/*
 * test_eve.c - unit tests for gateway/output/gw_eve.c: escaping and event lines.
 *
 * The escaper is checked against a table of exact outputs (control bytes,
 * quotes, every class of invalid UTF-8), then every byte value and many
 * random strings must give a body that jansson accepts as a JSON string and
 * that a strict UTF-8 check accepts. Whole events are written to a temporary
 * file and parsed back, also from several threads at once.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <pthread.h>
#include <arpa/inet.h>
#include <cmocka.h>
#include <jansson.h>

#include "gateway/gw_engine.h"
#include "gateway/output/gw_eve.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))
/* 2026-11-28T22:12:34.123456 UTC, the example of DESIGN.md. */
#define TE_TS 1795903954123456ULL

/* Strict UTF-8 (RFC 3629) check of n bytes: 1 if valid. */
static int
te_utf8_valid(const uint8_t *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		uint8_t c = s[i];
		size_t len;
		uint32_t cp;

		if (c < 0x80) {
			i++;
			continue;
		} else if ((c & 0xe0) == 0xc0) {
			len = 2;
			cp = c & 0x1f;
		} else if ((c & 0xf0) == 0xe0) {
			len = 3;
			cp = c & 0x0f;
		} else if ((c & 0xf8) == 0xf0) {
			len = 4;
			cp = c & 0x07;
		} else
			return 0;
		if (i + len > n)
			return 0;
		for (size_t k = 1; k < len; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) ||
		    (len == 4 && cp < 0x10000) || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += len;
	}
	return 1;
}

/* Is body (an escaped string) a valid JSON string body? Checks the raw
 * bytes (no control characters, strict UTF-8) and parses it with jansson.
 * With want/wantlen, the decoded string must equal want. */
static void
te_check_body(const char *body, const uint8_t *want, size_t wantlen)
{
	size_t n = strlen(body);
	char *doc = malloc(n + 3);
	json_error_t jerr;
	json_t *j;

	assert_non_null(doc);
	for (size_t i = 0; i < n; i++)
		if ((uint8_t)body[i] < 0x20)
			fail_msg("raw control byte 0x%02x in \"%s\"", (uint8_t)body[i], body);
	assert_true(te_utf8_valid((const uint8_t *)body, n));
	doc[0] = '"';
	memcpy(doc + 1, body, n);
	doc[n + 1] = '"';
	doc[n + 2] = '\0';
	j = json_loads(doc, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
	if (j == NULL || !json_is_string(j))
		fail_msg("not a JSON string: %s (%s)", doc, jerr.text);
	if (want != NULL) {
		assert_int_equal(json_string_length(j), wantlen);
		assert_memory_equal(json_string_value(j), want, wantlen);
	}
	json_decref(j);
	free(doc);
}

/* One row: input bytes and the exact escaped output. */
struct te_esc {
	const char *in;
	size_t      len;
	const char *out;
};

#define E(in, out) { in, sizeof(in) - 1, out }

static void
test_escape_table(void **state)
{
	static const struct te_esc t[] = {
		E("", ""),
		E("mx.example.net ESMTP", "mx.example.net ESMTP"),
		E("a\"b\\c", "a\\\"b\\\\c"),
		E("/", "/"),
		E("\r\n\t", "\\u000d\\u000a\\u0009"),
		E("\0x\x1f", "\\u0000x\\u001f"),
		E("\x7f", "\\u007f"),
		E(" ~", " ~"),
		/* valid multibyte passes */
		E("caf\xc3\xa9", "caf\xc3\xa9"),
		E("\xc2\x80", "\xc2\x80"),
		E("\xdf\xbf", "\xdf\xbf"),
		E("\xe0\xa0\x80", "\xe0\xa0\x80"),
		E("\xe2\x82\xac", "\xe2\x82\xac"),
		E("\xed\x9f\xbf", "\xed\x9f\xbf"),
		E("\xee\x80\x80", "\xee\x80\x80"),
		E("\xef\xbf\xbf", "\xef\xbf\xbf"),
		E("\xf0\x90\x80\x80", "\xf0\x90\x80\x80"),
		E("\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80"),
		E("\xf4\x8f\xbf\xbf", "\xf4\x8f\xbf\xbf"),
		/* lone continuation bytes */
		E("\x80", "\\u0080"),
		E("\xbf", "\\u00bf"),
		/* overlongs */
		E("\xc0\xaf", "\\u00c0\\u00af"),
		E("\xc1\xbf", "\\u00c1\\u00bf"),
		E("\xe0\x80\xaf", "\\u00e0\\u0080\\u00af"),
		E("\xe0\x9f\xbf", "\\u00e0\\u009f\\u00bf"),
		E("\xf0\x80\x80\xaf", "\\u00f0\\u0080\\u0080\\u00af"),
		E("\xf0\x8f\xbf\xbf", "\\u00f0\\u008f\\u00bf\\u00bf"),
		/* UTF-16 surrogates */
		E("\xed\xa0\x80", "\\u00ed\\u00a0\\u0080"),
		E("\xed\xbf\xbf", "\\u00ed\\u00bf\\u00bf"),
		/* beyond U+10FFFF */
		E("\xf4\x90\x80\x80", "\\u00f4\\u0090\\u0080\\u0080"),
		E("\xf5\x80\x80\x80", "\\u00f5\\u0080\\u0080\\u0080"),
		E("\xf8\x88\x80\x80\x80", "\\u00f8\\u0088\\u0080\\u0080\\u0080"),
		E("\xfe\xff", "\\u00fe\\u00ff"),
		/* truncated sequences, at the end and before ASCII */
		E("\xc3", "\\u00c3"),
		E("\xc3" "A", "\\u00c3A"),
		E("\xe2\x82", "\\u00e2\\u0082"),
		E("\xe2\x82" "A", "\\u00e2\\u0082A"),
		E("\xf0\x9f\x98", "\\u00f0\\u009f\\u0098"),
		E("\xf0\x9f\x98" "\xc3\xa9", "\\u00f0\\u009f\\u0098\xc3\xa9"),
		/* a valid sequence right after an invalid lead byte survives */
		E("\xe2\xe2\x82\xac", "\\u00e2\xe2\x82\xac"),
		/* Latin-1 as sent by old MTAs */
		E("Gr\xfc\xdf" "e", "Gr\\u00fc\\u00dfe"),
	};
	char out[256];

	(void)state;
	for (size_t i = 0; i < N(t); i++) {
		size_t n = eve_escape(out, sizeof(out), (const uint8_t *)t[i].in, t[i].len);

		if (strcmp(out, t[i].out) != 0)
			fail_msg("row %zu: got \"%s\", want \"%s\"", i, out, t[i].out);
		assert_int_equal(n, strlen(out));
		te_check_body(out, NULL, 0);
	}
}

static void
test_escape_every_byte(void **state)
{
	uint8_t all[256];
	char out[256 * 6 + 1];

	(void)state;
	for (unsigned b = 0; b < 256; b++) {
		uint8_t one = (uint8_t)b;
		char want[8];

		all[b] = (uint8_t)b;
		eve_escape(out, sizeof(out), &one, 1);
		te_check_body(out, NULL, 0);
		/* a single byte is either itself (printable ASCII), \" \\, or \u00XX */
		if (b == '"' || b == '\\')
			snprintf(want, sizeof(want), "\\%c", b);
		else if (b >= 0x20 && b < 0x7f)
			snprintf(want, sizeof(want), "%c", b);
		else
			snprintf(want, sizeof(want), "\\u%04x", b);
		assert_string_equal(out, want);
	}
	eve_escape(out, sizeof(out), all, sizeof(all));
	te_check_body(out, NULL, 0);
}

/* Tiny deterministic generator (xorshift32). */
static uint32_t
te_rand(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

static void
test_escape_random(void **state)
{
	/* bytes chosen to hit UTF-8 edges often */
	static const uint8_t pick[] = { 'a', '"', '\\', 0, '\n', 0x7f, 0x80, 0x8f,
		0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xc2, 0xdf, 0xe0, 0xed, 0xef, 0xf0,
		0xf4, 0xf5, 0xff };
	uint32_t seed = 0x5eed1234;
	uint8_t in[24];
	char out[24 * 6 + 1];

	(void)state;
	for (int round = 0; round < 200000; round++) {
		size_t n = te_rand(&seed) % sizeof(in);

		for (size_t i = 0; i < n; i++)
			in[i] = (te_rand(&seed) & 1) ? pick[te_rand(&seed) % sizeof(pick)]
			    : (uint8_t)te_rand(&seed);
		eve_escape(out, sizeof(out), in, n);
		/* valid UTF-8 input comes back unchanged after JSON decoding */
		if (te_utf8_valid(in, n))
			te_check_body(out, in, n);
		else if (round % 16 == 0)
			te_check_body(out, NULL, 0);
		else
			assert_true(te_utf8_valid((const uint8_t *)out, strlen(out)));
	}
}

static void
test_escape_cut(void **state)
{
	char out[16];
	size_t n;

	(void)state;
	/* never split an escape or a UTF-8 sequence; always terminated */
	n = eve_escape(out, 4, (const uint8_t *)"a\x01", 2);
	assert_string_equal(out, "a");
	assert_int_equal(n, 1);
	n = eve_escape(out, 7, (const uint8_t *)"\x01\x02", 2);
	assert_string_equal(out, "\\u0001");
	assert_int_equal(n, 6);
	n = eve_escape(out, 3, (const uint8_t *)"a\xc3\xa9", 3);
	assert_string_equal(out, "a");
	n = eve_escape(out, 4, (const uint8_t *)"a\xc3\xa9", 3);
	assert_string_equal(out, "a\xc3\xa9");
	n = eve_escape(out, 5, (const uint8_t *)"\xf0\x9f\x98\x80", 4);
	assert_string_equal(out, "\xf0\x9f\x98\x80");
	n = eve_escape(out, 4, (const uint8_t *)"\xf0\x9f\x98\x80", 4);
	assert_string_equal(out, "");
	n = eve_escape(out, 2, (const uint8_t *)"\"", 1);
	assert_string_equal(out, "");
	n = eve_escape(out, 1, (const uint8_t *)"abc", 3);
	assert_string_equal(out, "");
	assert_int_equal(n, 0);
	out[0] = 'x';
	assert_int_equal(eve_escape(out, 0, (const uint8_t *)"abc", 3), 0);
	assert_int_equal(out[0], 'x');
	/* every possible size gives a valid body */
	for (size_t sz = 1; sz <= sizeof(out); sz++) {
		eve_escape(out, sz, (const uint8_t *)"\"\xc3\xa9\x01\xff\xe2\x82\xac", 8);
		assert_true(strlen(out) < sz);
		te_check_body(out, NULL, 0);
	}
}

/* A flow as the engine would hand it over. */
static void
te_flow(struct flow *f, int v6)
{
	memset(f, 0, sizeof(*f));
	f->id = 1234;
	f->start_us = TE_TS - 2000000;
	if (v6) {
		f->key.af = 6;
		inet_pton(AF_INET6, "2001:db8::7", f->key.caddr.a);
		inet_pton(AF_INET6, "2001:db8:25::25", f->key.saddr.a);
	} else {
		f->key.af = 4;
		inet_pton(AF_INET, "198.51.100.7", f->key.caddr.a);
		inet_pton(AF_INET, "203.0.113.25", f->key.saddr.a);
	}
	f->key.cport = 41234;
	f->key.sport = 25;
	f->pkts[FLOW_TO_SERVER] = 5;
	f->pkts[FLOW_TO_CLIENT] = 4;
	f->bytes[FLOW_TO_SERVER] = 120;
	f->bytes[FLOW_TO_CLIENT] = 300;
	memcpy(f->smtp.banner, "mx.example.net ESMTP", 20);
	f->smtp.banner_len = 20;
	memcpy(f->smtp.helo, "client.example.org", 18);
	f->smtp.helo_len = 18;
	f->smtp.phase = SMTP_PH_CMD;
}

/* A temporary EVE file; returns its path in buf. */
static struct eve *
te_open(char *buf, size_t len)
{
	struct eve *ev;
	int fd;

	snprintf(buf, len, "%s/test_eve.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	fd = mkstemp(buf);
	assert_true(fd >= 0);
	close(fd);
	ev = eve_open(buf);
	assert_non_null(ev);
	return ev;
}

/* Read the file's lines; each must be one JSON object ending in \n. */
static size_t
te_lines(const char *path, json_t **objs, size_t max)
{
	FILE *fp = fopen(path, "r");
	char line[16384];
	size_t n = 0;

	assert_non_null(fp);
	while (fgets(line, sizeof(line), fp) != NULL) {
		json_error_t jerr;
		size_t l = strlen(line);

		assert_true(l > 0 && line[l - 1] == '\n');
		assert_true(te_utf8_valid((const uint8_t *)line, l));
		json_t *j = json_loads(line, 0, &jerr);
		if (j == NULL || !json_is_object(j))
			fail_msg("bad line: %s (%s)", line, jerr.text);
		if (n < max)
			objs[n] = j;
		else
			json_decref(j);
		n++;
	}
	fclose(fp);
	return n;
}

static const char *
te_s(json_t *o, const char *path)
{
	json_t *j = json_object_get(o, path);

	assert_non_null(j);
	assert_true(json_is_string(j));
	return json_string_value(j);
}

static json_int_t
te_i(json_t *o, const char *key)
{
	json_t *j = json_object_get(o, key);

	assert_non_null(j);
	assert_true(json_is_integer(j));
	return json_integer_value(j);
}

static int
te_b(json_t *o, const char *key)
{
	json_t *j = json_object_get(o, key);

	assert_non_null(j);
	assert_true(json_is_boolean(j));
	return json_is_true(j);
}

static void
test_alert_line(void **state)
{
	struct pol_match pm = { POL_MODE_ENFORCE, POL_SRC_CONFIG, POL_TLS_1_2, "203.0.113.0/24" };
	char path[256];
	json_t *o[4];
	struct flow f;
	struct eve *ev;
	json_t *a, *p, *s;

	(void)state;
	ev = te_open(path, sizeof(path));
	te_flow(&f, 0);
	f.smtp.flags = SMTP_F_OFFERED;
	eve_alert(ev, TE_TS, &f, SIG_STARTTLS_STRIPPED,
	    "EHLO reply capability 'XXXXXXXX' is a rewritten STARTTLS", 1, &pm);
	eve_close(ev);
	assert_int_equal(te_lines(path, o, 4), 1);
	assert_string_equal(te_s(o[0], "timestamp"), "2026-11-28T22:12:34.123456+0000");
	assert_string_equal(te_s(o[0], "event_type"), "alert");
	assert_int_equal(te_i(o[0], "flow_id"), 1234);
	assert_string_equal(te_s(o[0], "src_ip"), "198.51.100.7");
	assert_int_equal(te_i(o[0], "src_port"), 41234);
	assert_string_equal(te_s(o[0], "dest_ip"), "203.0.113.25");
	assert_int_equal(te_i(o[0], "dest_port"), 25);
	assert_string_equal(te_s(o[0], "proto"), "TCP");
	a = json_object_get(o[0], "alert");
	assert_non_null(a);
	assert_string_equal(te_s(a, "signature"), "starttls_stripped");
	assert_int_equal(te_i(a, "severity"), 1);
	assert_string_equal(te_s(a, "action"), "blocked");
	assert_string_equal(te_s(a, "reason"), "EHLO reply capability 'XXXXXXXX' is a rewritten STARTTLS");
	assert_string_equal(te_s(a, "tlsrpt"), "starttls-not-supported");
	p = json_object_get(o[0], "policy");
	assert_non_null(p);
	assert_string_equal(te_s(p, "mode"), "enforce");
	assert_string_equal(te_s(p, "source"), "config");
	assert_string_equal(te_s(p, "match"), "203.0.113.0/24");
	s = json_object_get(o[0], "smtp");
	assert_non_null(s);
	assert_string_equal(te_s(s, "banner"), "mx.example.net ESMTP");
	assert_string_equal(te_s(s, "helo"), "client.example.org");
	assert_true(te_b(s, "starttls_offered"));
	assert_false(te_b(s, "starttls_sent"));
	assert_false(te_b(s, "tls"));
	json_decref(o[0]);
	unlink(path);
}

static void
test_alert_hostile(void **state)
{
	struct pol_match pm = { POL_MODE_TESTING, POL_SRC_DEFAULT, POL_TLS_1_2, "" };
	char path[256], reason[FINDING_REASON_MAX * 2];
	json_t *o[1];
	struct flow f;
	struct eve *ev;

	(void)state;
	ev = te_open(path, sizeof(path));
	te_flow(&f, 1);
	/* banner and HELO of worst-case bytes, a reason longer than allowed */
	memset(f.smtp.banner, 0x01, sizeof(f.smtp.banner));
	f.smtp.banner[0] = '"';
	f.smtp.banner[1] = (char)0xc3;
	f.smtp.banner_len = sizeof(f.smtp.banner);
	memset(f.smtp.helo, 0xff, sizeof(f.smtp.helo));
	f.smtp.helo_len = 255;   /* bogus length: clamped to the array */
	memset(reason, '\\', sizeof(reason) - 1);
	reason[sizeof(reason) - 1] = '\0';
	f.smtp.flags = SMTP_F_OFFERED | SMTP_F_SENT;
	f.smtp.phase = SMTP_PH_TLS;
	eve_alert(ev, TE_TS, &f, SIG_STARTTLS_INJECTION, reason, 0, &pm);
	eve_alert(ev, TE_TS, &f, SIG_COUNT, NULL, 0, NULL);
	eve_close(ev);
	assert_int_equal(te_lines(path, o, 1), 2);
	assert_string_equal(te_s(o[0], "src_ip"), "2001:db8::7");
	assert_string_equal(te_s(o[0], "dest_ip"), "2001:db8:25::25");
	assert_int_equal(strlen(te_s(json_object_get(o[0], "alert"), "reason")), FINDING_REASON_MAX);
	assert_string_equal(te_s(json_object_get(o[0], "alert"), "action"), "allowed");
	assert_int_equal(json_string_length(json_object_get(json_object_get(o[0], "smtp"), "helo")),
	    2 * SMTP_HELO_MAX);  /* each 0xff is U+00FF, two bytes in UTF-8 */
	assert_true(te_b(json_object_get(o[0], "smtp"), "tls"));
	assert_string_equal(te_s(json_object_get(o[0], "policy"), "source"), "default");
	json_decref(o[0]);
	unlink(path);
}

static void
test_flow_line(void **state)
{
	struct pol_match pm = { POL_MODE_TESTING, POL_SRC_DEFAULT, POL_TLS_1_2, "" };
	char path[256];
	json_t *o[1], *fl;
	struct flow f;
	struct eve *ev;

	(void)state;
	ev = te_open(path, sizeof(path));
	te_flow(&f, 0);
	eve_flow(ev, TE_TS, &f, "plaintext", &pm);
	eve_close(ev);
	assert_int_equal(te_lines(path, o, 1), 1);
	assert_string_equal(te_s(o[0], "event_type"), "flow");
	assert_string_equal(te_s(o[0], "src_ip"), "198.51.100.7");
	fl = json_object_get(o[0], "flow");
	assert_non_null(fl);
	assert_string_equal(te_s(fl, "start"), "2026-11-28T22:12:32.123456+0000");
	assert_int_equal(te_i(fl, "pkts_toserver"), 5);
	assert_int_equal(te_i(fl, "pkts_toclient"), 4);
	assert_int_equal(te_i(fl, "bytes_toserver"), 120);
	assert_int_equal(te_i(fl, "bytes_toclient"), 300);
	assert_string_equal(te_s(fl, "verdict"), "plaintext");
	assert_non_null(json_object_get(o[0], "smtp"));
	assert_string_equal(te_s(json_object_get(o[0], "policy"), "mode"), "testing");
	json_decref(o[0]);
	unlink(path);
}

static void
test_stats_line(void **state)
{
	struct gw_stats st;
	char path[256];
	json_t *o[1], *s, *fi;
	struct eve *ev;

	(void)state;
	memset(&st, 0, sizeof(st));
	st.packets = 10;
	st.bytes = 1000;
	st.decode[PKT_TRUNCATED] = 2;
	st.verdicts[GW_V_BLOCK] = 1;
	st.findings[SIG_STARTTLS_STRIPPED] = 3;
	st.findings[SIG_INSPECTION_LIMIT] = UINT64_C(1) << 40;
	st.flow.capacity = 65536;
	st.pool.exhausted = 7;
	ev = te_open(path, sizeof(path));
	eve_stats(ev, TE_TS, &st);
	eve_close(ev);
	assert_int_equal(te_lines(path, o, 1), 1);
	assert_string_equal(te_s(o[0], "event_type"), "stats");
	s = json_object_get(o[0], "stats");
	assert_non_null(s);
	assert_int_equal(te_i(s, "packets"), 10);
	assert_int_equal(te_i(s, "bytes"), 1000);
	assert_int_equal(te_i(json_object_get(s, "decode"), "truncated"), 2);
	assert_int_equal(te_i(json_object_get(s, "verdicts"), "block"), 1);
	fi = json_object_get(s, "findings");
	assert_non_null(fi);
	assert_int_equal(json_object_size(fi), SIG_COUNT);
	for (int i = 0; i < SIG_COUNT; i++)
		assert_non_null(json_object_get(fi, sig_name((enum sig)i)));
	assert_int_equal(te_i(fi, "starttls_stripped"), 3);
	assert_int_equal(te_i(fi, "inspection_limit"), (json_int_t)1 << 40);
	assert_int_equal(te_i(json_object_get(s, "flow"), "capacity"), 65536);
	assert_int_equal(te_i(json_object_get(s, "pool"), "exhausted"), 7);
	assert_non_null(json_object_get(s, "suppressed"));
	assert_non_null(json_object_get(s, "midstream"));
	json_decref(o[0]);
	unlink(path);
}

/* Thread body: many alerts to a shared writer. */
static void *
te_writer(void *arg)
{
	struct eve *ev = arg;
	struct flow f;

	te_flow(&f, 0);
	for (int i = 0; i < 2000; i++) {
		f.id = (uint64_t)i;
		eve_alert(ev, TE_TS, &f, SIG_PLAINTEXT_AUTH, "AUTH PLAIN before TLS", 0, NULL);
	}
	return NULL;
}

static void
test_threads(void **state)
{
	pthread_t th[4];
	char path[256];
	struct eve *ev;

	(void)state;
	ev = te_open(path, sizeof(path));
	for (size_t i = 0; i < N(th); i++)
		assert_int_equal(pthread_create(&th[i], NULL, te_writer, ev), 0);
	for (size_t i = 0; i < N(th); i++)
		pthread_join(th[i], NULL);
	eve_close(ev);
	/* every line whole: none interleaved, none lost */
	assert_int_equal(te_lines(path, NULL, 0), 4 * 2000);
	unlink(path);
}

static void
test_reopen(void **state)
{
	char path[256], moved[300];
	json_t *o[2];
	struct flow f;
	struct eve *ev;

	(void)state;
	te_flow(&f, 0);
	ev = te_open(path, sizeof(path));
	eve_alert(ev, TE_TS, &f, SIG_STARTTLS_MISSING, "first", 0, NULL);
	snprintf(moved, sizeof(moved), "%s.1", path);
	assert_int_equal(rename(path, moved), 0);
	eve_alert(ev, TE_TS, &f, SIG_STARTTLS_MISSING, "second", 0, NULL);
	assert_int_equal(eve_reopen(ev), 0);
	eve_alert(ev, TE_TS, &f, SIG_STARTTLS_MISSING, "third", 0, NULL);
	eve_close(ev);
	assert_int_equal(te_lines(moved, o, 2), 2);
	json_decref(o[0]);
	json_decref(o[1]);
	assert_int_equal(te_lines(path, o, 1), 1);
	assert_string_equal(te_s(json_object_get(o[0], "alert"), "reason"), "third");
	json_decref(o[0]);
	/* appending: a reopen never truncates */
	ev = eve_open(path);
	assert_non_null(ev);
	eve_alert(ev, TE_TS, &f, SIG_STARTTLS_MISSING, "fourth", 0, NULL);
	eve_close(ev);
	assert_int_equal(te_lines(path, NULL, 0), 2);
	unlink(path);
	unlink(moved);
	/* errors */
	assert_null(eve_open("/nonexistent/dir/eve.json"));
	assert_null(eve_open(""));
	assert_null(eve_open(NULL));
	/* NULL writer: counting only, nothing happens */
	eve_alert(NULL, TE_TS, &f, SIG_STARTTLS_MISSING, "x", 0, NULL);
	eve_flow(NULL, TE_TS, &f, "tls", NULL);
	eve_stats(NULL, TE_TS, NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escape_table),
		cmocka_unit_test(test_escape_every_byte),
		cmocka_unit_test(test_escape_random),
		cmocka_unit_test(test_escape_cut),
		cmocka_unit_test(test_alert_line),
		cmocka_unit_test(test_alert_hostile),
		cmocka_unit_test(test_flow_line),
		cmocka_unit_test(test_stats_line),
		cmocka_unit_test(test_threads),
		cmocka_unit_test(test_reopen),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
