/*
 * test_rs_msg.c - the daemon <-> resolver message format (resolver/rs_msg.c):
 * round trips of every type, the largest message, and refusal of anything
 * malformed: each header byte changed, every truncation, bad strings, a
 * body where none belongs, lengths that do not add up. Decoding runs on
 * exactly-sized heap copies so ASan sees any overread.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "resolver/rs_msg.h"

/* Decode buf[len] from an exact heap copy. */
static int
dec(const uint8_t *buf, size_t len, struct rs_msg *m, char *err)
{
	uint8_t *p = malloc(len ? len : 1);
	int rc;

	assert_non_null(p);
	memcpy(p, buf, len);
	rc = rs_msg_decode(p, len, m, err, 128);
	if (rc == 0 && m->body_len > 0) {
		/* body points into p: check before freeing */
		assert_true(m->body >= p && m->body + m->body_len <= p + len);
	}
	free(p);
	return rc;
}

static void
test_roundtrip(void **state)
{
	static uint8_t buf[RS_MSG_MAX];
	static const char policy[] = "version: STSv1\nmode: enforce\nmx: mx.example.net\nmax_age: 86400\n";
	struct rs_msg q, a, h, out;
	char err[128];
	long n;

	(void)state;
	memset(&q, 0, sizeof(q));
	q.type = RS_MSG_QUERY_STS;
	q.reqid = 0xdeadbeef;
	snprintf(q.domain, sizeof(q.domain), "example.net");
	snprintf(q.id, sizeof(q.id), "20261128T000000");
	n = rs_msg_encode(&q, buf, sizeof(buf));
	assert_int_equal(n, RS_MSG_HDR + 11 + 15);
	assert_int_equal(dec(buf, (size_t)n, &out, err), 0);
	assert_int_equal(out.type, RS_MSG_QUERY_STS);
	assert_int_equal(out.reqid, 0xdeadbeef);
	assert_string_equal(out.domain, "example.net");
	assert_string_equal(out.id, "20261128T000000");

	memset(&a, 0, sizeof(a));
	a.type = RS_MSG_ANSWER_STS;
	a.status = RS_ST_POLICY;
	a.reqid = 7;
	snprintf(a.domain, sizeof(a.domain), "example.net");
	snprintf(a.id, sizeof(a.id), "abc1");
	snprintf(a.text, sizeof(a.text), "fetched (mode enforce)");
	a.body = (const uint8_t *)policy;
	a.body_len = sizeof(policy) - 1;
	n = rs_msg_encode(&a, buf, sizeof(buf));
	assert_true(n > 0);
	assert_int_equal(dec(buf, (size_t)n, &out, err), 0);
	assert_int_equal(out.status, RS_ST_POLICY);
	assert_string_equal(out.text, "fetched (mode enforce)");

	memset(&h, 0, sizeof(h));
	h.type = RS_MSG_HELLO;
	h.gen = 3;
	n = rs_msg_encode(&h, buf, sizeof(buf));
	assert_int_equal(n, RS_MSG_HDR);
	assert_int_equal(dec(buf, (size_t)n, &out, err), 0);
	assert_int_equal(out.gen, 3);

	/* a failure carries a reason, no body */
	memset(&a, 0, sizeof(a));
	a.type = RS_MSG_ANSWER_STS;
	a.status = RS_ST_FAILED;
	a.reason = RS_R_TLS_CERT;
	snprintf(a.domain, sizeof(a.domain), "example.net");
	snprintf(a.text, sizeof(a.text), "certificate verify failed");
	n = rs_msg_encode(&a, buf, sizeof(buf));
	assert_true(n > 0);
	assert_int_equal(dec(buf, (size_t)n, &out, err), 0);
	assert_int_equal(out.reason, RS_R_TLS_CERT);
}

static void
test_largest(void **state)
{
	static uint8_t buf[RS_MSG_MAX], body[POL_STS_MAX_BYTES + 1];
	struct rs_msg a, out;
	char err[128];
	long n;

	(void)state;
	memset(body, 'x', sizeof(body));
	memset(&a, 0, sizeof(a));
	a.type = RS_MSG_ANSWER_STS;
	a.status = RS_ST_POLICY;
	memset(a.domain, 'a', POL_NAME_MAX);
	for (int i = 63; i < POL_NAME_MAX; i += 64)
		a.domain[i] = '.';
	memset(a.id, '9', RS_STS_ID_MAX);
	memset(a.text, 't', RS_MSG_TEXT_MAX - 1);
	a.body = body;
	a.body_len = POL_STS_MAX_BYTES;
	n = rs_msg_encode(&a, buf, sizeof(buf));
	assert_int_equal(n, RS_MSG_MAX - 1);  /* text is at most RS_MSG_TEXT_MAX - 1 */
	assert_int_equal(dec(buf, (size_t)n, &out, err), 0);
	/* one byte more body: refused both ways */
	a.body_len = POL_STS_MAX_BYTES + 1;
	assert_int_equal(rs_msg_encode(&a, buf, sizeof(buf)), -1);
	/* does not fit the caller's buffer */
	a.body_len = 10;
	assert_int_equal(rs_msg_encode(&a, buf, 100), -1);
}

static void
test_refused(void **state)
{
	static uint8_t buf[RS_MSG_MAX];
	struct rs_msg q, out;
	char err[128];
	long n;
	static const char *const bad_domains[] = {
		"", "localhost", "Example.net", "example.net.", "exa mple.net", "a..b", "-",
	};

	(void)state;
	memset(&q, 0, sizeof(q));
	q.type = RS_MSG_QUERY_STS;
	snprintf(q.domain, sizeof(q.domain), "example.net");
	n = rs_msg_encode(&q, buf, sizeof(buf));
	assert_true(n > 0);
	/* every truncation and every extension */
	for (long i = 0; i < n; i++)
		assert_int_equal(dec(buf, (size_t)i, &out, err), -1);
	buf[n] = 0;
	assert_int_equal(dec(buf, (size_t)n + 1, &out, err), -1);
	/* header fields out of range */
	{
		static const struct { size_t off; uint8_t v; } pokes[] = {
			{ 0, 2 },   /* version */
			{ 1, 0 }, { 1, 4 }, { 1, 255 },  /* type */
			{ 2, 1 },   /* a query with a status */
			{ 3, 1 },   /* a query with a reason */
			{ 12, 12 }, /* domain length past the end */
			{ 13, 1 },  /* id length */
			{ 15, 1 },  /* text length */
			{ 19, 1 },  /* body length */
		};
		for (size_t i = 0; i < sizeof(pokes) / sizeof(pokes[0]); i++) {
			uint8_t save = buf[pokes[i].off];

			buf[pokes[i].off] = pokes[i].v;
			if (dec(buf, (size_t)n, &out, err) != -1)
				fail_msg("poke %zu accepted", i);
			buf[pokes[i].off] = save;
		}
	}
	/* a NUL or an upper-case letter inside the domain */
	buf[RS_MSG_HDR + 3] = '\0';
	assert_int_equal(dec(buf, (size_t)n, &out, err), -1);
	buf[RS_MSG_HDR + 3] = 'M';
	assert_int_equal(dec(buf, (size_t)n, &out, err), -1);
	for (size_t i = 0; i < sizeof(bad_domains) / sizeof(bad_domains[0]); i++) {
		snprintf(q.domain, sizeof(q.domain), "%s", bad_domains[i]);
		if (rs_msg_encode(&q, buf, sizeof(buf)) != -1)
			fail_msg("domain \"%s\" encoded", bad_domains[i]);
	}
	/* ids: letters and digits, at most 32 */
	snprintf(q.domain, sizeof(q.domain), "example.net");
	snprintf(q.id, sizeof(q.id), "a-b");
	assert_int_equal(rs_msg_encode(&q, buf, sizeof(buf)), -1);
	/* answers: a body only with a policy, a reason only with a failure */
	memset(&q, 0, sizeof(q));
	q.type = RS_MSG_ANSWER_STS;
	snprintf(q.domain, sizeof(q.domain), "example.net");
	q.status = RS_ST_NO_POLICY;
	q.body = (const uint8_t *)"x";
	q.body_len = 1;
	assert_int_equal(rs_msg_encode(&q, buf, sizeof(buf)), -1);
	q.body_len = 0;
	q.reason = RS_R_TIMEOUT;
	assert_int_equal(rs_msg_encode(&q, buf, sizeof(buf)), -1);
	q.status = RS_ST_FAILED;
	assert_true(rs_msg_encode(&q, buf, sizeof(buf)) > 0);
	q.reason = RS_R_COUNT;
	assert_int_equal(rs_msg_encode(&q, buf, sizeof(buf)), -1);
	q.reason = 0;
	q.status = RS_ST_POLICY; /* without body and id */
	assert_int_equal(rs_msg_encode(&q, buf, sizeof(buf)), -1);
	/* control bytes in the text */
	q.status = RS_ST_NO_POLICY;
	snprintf(q.text, sizeof(q.text), "a\nb");
	assert_int_equal(rs_msg_encode(&q, buf, sizeof(buf)), -1);
}

/* Random bytes never crash the decoder. */
static void
test_noise(void **state)
{
	uint8_t buf[512];
	struct rs_msg out;
	char err[128];
	uint32_t x = 12345;

	(void)state;
	for (int round = 0; round < 20000; round++) {
		size_t len = (size_t)(x % sizeof(buf));

		for (size_t i = 0; i < len; i++) {
			x = x * 1103515245u + 12345u;
			buf[i] = (uint8_t)(x >> 16);
		}
		if (len > 0)
			buf[0] = RS_MSG_VERSION;
		(void)dec(buf, len, &out, err);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_largest),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_noise),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
