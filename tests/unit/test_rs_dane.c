/*
 * test_rs_dane.c - unit tests for resolver/rs_dane.c without the network:
 * MX RDATA names (normal, null MX, compression pointers and other hostile
 * shapes), and a context refused for a missing or empty trust anchor. The
 * lookups themselves run against a real signed zone in tests/integ.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "resolver/rs_dane.h"

static void
test_mx_rdata(void **state)
{
	static const uint8_t ok[] = { 0, 10, 2, 'M', 'X', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e',
		3, 'n', 'e', 't', 0 };
	static const uint8_t null_mx[] = { 0, 0, 0 };
	static const uint8_t ptr[] = { 0, 10, 2, 'm', 'x', 0xc0, 12 };
	static const uint8_t longlab[] = { 0, 10, 64, 'a' };
	static const uint8_t trailing[] = { 0, 10, 1, 'a', 0, 'x' };
	static const uint8_t unterminated[] = { 0, 10, 1, 'a' };
	static const uint8_t badchar[] = { 0, 10, 2, 'a', ' ', 0 };
	uint8_t huge[2 + 5 * 64 + 1];
	char out[POL_NAME_BUF];

	(void)state;
	assert_int_equal(rs_dane_mx_rdata(ok, sizeof(ok), out), 0);
	assert_string_equal(out, "mx.example.net");
	assert_int_equal(rs_dane_mx_rdata(null_mx, sizeof(null_mx), out), 1);
	assert_int_equal(rs_dane_mx_rdata(ptr, sizeof(ptr), out), -1);
	assert_int_equal(rs_dane_mx_rdata(longlab, sizeof(longlab), out), -1);
	assert_int_equal(rs_dane_mx_rdata(trailing, sizeof(trailing), out), -1);
	assert_int_equal(rs_dane_mx_rdata(unterminated, sizeof(unterminated), out), -1);
	assert_int_equal(rs_dane_mx_rdata(badchar, sizeof(badchar), out), -1);
	assert_int_equal(rs_dane_mx_rdata(ok, 2, out), -1);
	assert_int_equal(rs_dane_mx_rdata(NULL, 10, out), -1);
	/* a name over 253 characters */
	memset(huge, 'a', sizeof(huge));
	huge[0] = 0, huge[1] = 1;
	for (int i = 0; i < 5; i++)
		huge[2 + i * 64] = 63;
	huge[sizeof(huge) - 1] = 0;
	assert_int_equal(rs_dane_mx_rdata(huge, sizeof(huge), out), -1);
}

static void
done_cb(void *arg, const struct rs_dane_result *r)
{
	(void)arg;
	(void)r;
}

static void
test_new_refused(void **state)
{
	struct rs_dane_conf c;
	char err[256], empty[] = "/tmp/test_rs_dane_XXXXXX";
	int fd;

	(void)state;
	memset(&c, 0, sizeof(c));
	c.anchor = "/nonexistent/root.key";
	assert_null(rs_dane_new(&c, done_cb, NULL, err, sizeof(err)));
	assert_non_null(strstr(err, "trust anchor /nonexistent/root.key"));
	/* a file that is not an anchor */
	assert_true((fd = mkstemp(empty)) != -1);
	assert_int_equal(write(fd, "garbage here\n", 13), 13);
	close(fd);
	c.anchor = empty;
	assert_null(rs_dane_new(&c, done_cb, NULL, err, sizeof(err)));
	assert_non_null(strstr(err, "trust anchor"));
	unlink(empty);
	c.anchor = NULL;
	c.resolv_conf = "/nonexistent/resolv.conf";
	assert_null(rs_dane_new(&c, done_cb, NULL, err, sizeof(err)));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mx_rdata),
		cmocka_unit_test(test_new_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
