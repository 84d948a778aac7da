/*
 * test_cluster.c - shared facts: the line and key format (gw_fact), and
 * what a gateway does with a remote fact (gw_cluster_apply_line): applied
 * when it raises or adds knowledge, refused and counted when it is
 * garbage, names another key, is out of date or would weaken the policy a
 * server gets here. No Redis here: the sync thread's Redis side is tested
 * with a real redis-server in tests/integ/t12_cluster.sh and bench/.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <cmocka.h>

#include "gateway/gw_cluster.h"
#include "gateway/gw_config.h"
#include "gateway/gw_fact.h"
#include "gateway/gw_fallback.h"
#include "gateway/gw_names.h"
#include "gateway/gw_pins.h"
#include "gateway/output/gw_metrics.h"

#define SEC 1000000ULL
/* A fixed "now" (2026-12-01) so the lines below are literal. */
#define NOW (1796083200ULL * SEC)

static struct pkt_addr
addr(const char *s, uint8_t *af)
{
	struct pkt_addr a;

	memset(&a, 0, sizeof(a));
	*af = strchr(s, ':') ? 6 : 4;
	assert_int_equal(inet_pton(*af == 6 ? AF_INET6 : AF_INET, s, a.a), 1);
	return a;
}

/* Every kind survives format -> parse, and its key names it. */
static void
test_fact_roundtrip(void **state)
{
	struct gw_fact f, g;
	char line[GW_FACT_LINE_MAX], key[GW_FACT_KEY_MAX];
	size_t n;

	(void)state;
	memset(&f, 0, sizeof(f));
	f.kind = GW_FACT_MX;
	f.addr = addr("192.0.2.25", &f.af);
	snprintf(f.name, sizeof(f.name), "mx.example.net");
	snprintf(f.origin, sizeof(f.origin), "gw-a/12");
	f.at_us = NOW;
	f.expires_us = NOW + 300 * SEC;
	n = gw_fact_format(&f, line, sizeof(line));
	assert_string_equal(line, "v1 mx gw-a/12 1796083200000000 1796083500000000 192.0.2.25 mx.example.net");
	assert_int_equal(gw_fact_parse(line, n, &g), GW_FACT_OK);
	assert_memory_equal(&f, &g, sizeof(f));
	gw_fact_key("stg:", &f, key, sizeof(key));
	assert_string_equal(key, "stg:mx:192.0.2.25");
	assert_int_equal(gw_fact_parse_keyed("stg:", key, strlen(key), line, n, &g), GW_FACT_OK);
	/* the same value under another address's key is refused */
	assert_int_equal(gw_fact_parse_keyed("stg:", "stg:mx:192.0.2.26", 17, line, n, &g),
	    GW_FACT_E_KEY);

	f.kind = GW_FACT_PIN;
	f.addr = addr("2001:db8::25", &f.af);
	memset(f.name, 0, sizeof(f.name));
	f.first_us = NOW - 86400 * SEC;
	n = gw_fact_format(&f, line, sizeof(line));
	assert_string_equal(line, "v1 pin gw-a/12 1796083200000000 1796083500000000 2001:db8::25 - 1795996800000000");
	assert_int_equal(gw_fact_parse(line, n, &g), GW_FACT_OK);
	assert_memory_equal(&f, &g, sizeof(f));

	memset(&f, 0, sizeof(f));
	f.kind = GW_FACT_FAIL;
	f.client = addr("198.51.100.7", &f.af);
	f.addr = addr("203.0.113.25", &f.af);
	snprintf(f.origin, sizeof(f.origin), "b");
	f.at_us = NOW;
	f.expires_us = NOW + 300 * SEC;
	n = gw_fact_format(&f, line, sizeof(line));
	assert_string_equal(line, "v1 fail b 1796083200000000 1796083500000000 198.51.100.7 203.0.113.25");
	assert_int_equal(gw_fact_parse(line, n, &g), GW_FACT_OK);
	assert_memory_equal(&f, &g, sizeof(f));
	gw_fact_key("x:", &f, key, sizeof(key));
	assert_string_equal(key, "x:fail:198.51.100.7,203.0.113.25");
}

/* Garbage of every kind is refused with its reason; no prefix of a good
 * line is taken for a fact (but those that only cut the last number, which
 * still are one), and bytes past the length are never read. */
static void
test_fact_garbage(void **state)
{
	static const struct { const char *line; enum gw_fact_err want; } bad[] = {
		{ "", GW_FACT_E_SYNTAX },
		{ "hello", GW_FACT_E_KIND },
		{ "v2 mx a 1 2 192.0.2.1 mx.example.net", GW_FACT_E_KIND },
		{ "v1 sts a 1 2 example.net none mx.example.net", GW_FACT_E_KIND },
		{ "v1 mx a 1 2 192.0.2.1", GW_FACT_E_SYNTAX },
		{ "v1 mx a 1 2 192.0.2.1 mx.example.net extra", GW_FACT_E_SYNTAX },
		{ "v1 mx a  1 2 192.0.2.1 mx.example.net", GW_FACT_E_SYNTAX },
		{ "v1 mx a 01 2 192.0.2.1 mx.example.net", GW_FACT_E_SYNTAX },
		{ "v1 mx a -1 2 192.0.2.1 mx.example.net", GW_FACT_E_SYNTAX },
		{ "v1 mx a 1 99999999999999999999 192.0.2.1 mx.example.net", GW_FACT_E_SYNTAX },
		{ "v1 mx a b 1 2 192.0.2.1 mx.example.net", GW_FACT_E_SYNTAX },
		{ "v1 mx a 1 2 192.0.2.300 mx.example.net", GW_FACT_E_ADDR },
		{ "v1 mx a 1 2 192.0.2.1 mx..example.net", GW_FACT_E_NAME },
		{ "v1 mx a 1 2 192.0.2.1 mx.example.net.", GW_FACT_E_NAME },
		{ "v1 mx a 1 2 192.0.2.1 mx;rm.example", GW_FACT_E_NAME },
		{ "v1 mx a 2 1 192.0.2.1 mx.example.net", GW_FACT_E_TIME },
		{ "v1 mx a 2 2 192.0.2.1 mx.example.net", GW_FACT_E_TIME },
		{ "v1 pin a 5 9 192.0.2.1 - 6", GW_FACT_E_TIME },
		{ "v1 pin a 5 9 192.0.2.1 -", GW_FACT_E_SYNTAX },
		{ "v1 fail a 1 2 192.0.2.1 2001:db8::1", GW_FACT_E_ADDR },
		{ "v1 fail a 1 2 192.0.2.1 mx.example.net", GW_FACT_E_ADDR },
		{ "v1 mx a\t1 2 192.0.2.1 mx.example.net", GW_FACT_E_SYNTAX },
		{ "v1 mx a 1 2 192.0.2.1 mx.example.net\r", GW_FACT_E_SYNTAX },
		{ "v1 mx a\xff 1 2 192.0.2.1 mx.example.net", GW_FACT_E_SYNTAX },
		{ "v1 mx a*b 1 2 192.0.2.1 mx.example.net", GW_FACT_E_SYNTAX },
	};
	const char *good = "v1 pin gw-a 1796083200000000 1796083500000000 192.0.2.25 mx.example.net 1795996800000000";
	char big[GW_FACT_LINE_MAX + 2];
	struct gw_fact f;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		enum gw_fact_err e = gw_fact_parse(bad[i].line, strlen(bad[i].line), &f);
		if (e != bad[i].want)
			fail_msg("\"%s\": %s, expected %s", bad[i].line, gw_fact_err_name(e),
			    gw_fact_err_name(bad[i].want));
	}
	assert_int_equal(gw_fact_parse(good, strlen(good), &f), GW_FACT_OK);
	for (size_t n = 0; n < strlen(good); n++) {
		char *copy = malloc(n ? n : 1);   /* exactly n bytes: ASan sees overreads */
		size_t last = (size_t)(strrchr(good, ' ') - good) + 1;
		memcpy(copy, good, n);
		if (n <= last)
			assert_int_not_equal(gw_fact_parse(copy, n, &f), GW_FACT_OK);
		else
			(void)gw_fact_parse(copy, n, &f);
		free(copy);
	}
	memset(big, 'a', sizeof(big));
	assert_int_equal(gw_fact_parse(big, sizeof(big), &f), GW_FACT_E_SYNTAX);
	/* a name of 128 characters is longer than the local tables keep */
	snprintf(big, sizeof(big), "v1 mx a 1 2 192.0.2.1 %0128d", 0);
	assert_int_equal(gw_fact_parse(big, strlen(big), &f), GW_FACT_E_NAME);
}

/* What the apply tests share: a policy with an enforced and a "none"
 * domain, default testing, and the local tables. */
struct fixture {
	struct gw_config   c;
	pthread_mutex_t    mu;
	struct gw_names   *names;
	struct gw_pins    *pins;
	struct gw_fallback *fb;
	struct gw_cluster *cl;
};

static int
setup(void **state)
{
	static const char conf[] =
	    "policy = { default = { mode = \"testing\"; };\n"
	    "  rules = ( { domain = \"example.net\"; mxs = [ \"mx.example.net\" ]; mode = \"enforce\"; },\n"
	    "            { domain = \"open.example\"; mxs = [ \"mx.open.example\" ]; mode = \"none\"; } );\n"
	    "  pins = { mode = \"enforce\"; max_age = 86400; }; };\n"
	    "cluster = { redis = \"unix:/nonexistent\"; id = \"gw-b\"; };\n";
	struct fixture *fx = calloc(1, sizeof(*fx));
	char path[] = "/tmp/test_cluster.XXXXXX", err[256];
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, conf, sizeof(conf) - 1), (ssize_t)(sizeof(conf) - 1));
	close(fd);
	if (gw_config_load(path, &fx->c, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	unlink(path);
	pthread_mutex_init(&fx->mu, NULL);
	fx->names = gw_names_new(256, 1);
	fx->pins = gw_pins_new(256, "", 2);
	fx->fb = gw_fallback_new(256, 3);
	struct gw_cluster_tables t = { fx->names, fx->pins, fx->fb, 86400, 300,
	    POL_MODE_ENFORCE, &fx->mu, &fx->c.pol };
	fx->cl = gw_cluster_new(&fx->c.cluster, &t);
	assert_non_null(fx->cl);
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *fx = *state;

	gw_cluster_free(fx->cl);
	gw_fallback_free(fx->fb);
	gw_pins_free(fx->pins);
	gw_names_free(fx->names);
	gw_config_free(&fx->c);
	pthread_mutex_destroy(&fx->mu);
	free(fx);
	return 0;
}

/* Apply one line (live message) at NOW. */
static int
apply(struct fixture *fx, const char *line)
{
	return gw_cluster_apply_line(fx->cl, line, strlen(line), NULL, 0, 0, NOW);
}

static void
test_apply_mx(void **state)
{
	struct fixture *fx = *state;
	struct gw_cluster_stats st;
	struct pkt_addr a;
	uint8_t af;
	char out[128];

	/* an unknown address learns the enforced domain's MX name: raised */
	assert_int_equal(apply(fx, "v1 mx gw-a 1796083199000000 1796083500000000 192.0.2.25 mx.example.net"), 1);
	a = addr("192.0.2.25", &af);
	assert_int_equal(gw_names_get(fx->names, af, &a, NOW, out, sizeof(out)), 1);
	assert_string_equal(out, "mx.example.net");
	/* and lives until the publisher's expiry, not longer */
	assert_int_equal(gw_names_get(fx->names, af, &a, NOW + 301 * SEC, out, sizeof(out)), 0);
	/* the same address moved to a "none" domain, or to a name without a
	 * policy: weaker than what it has here, refused */
	assert_int_equal(apply(fx, "v1 mx gw-x 1796083199000000 1796083500000000 192.0.2.25 mx.open.example"), 0);
	assert_int_equal(apply(fx, "v1 mx gw-x 1796083199000000 1796083500000000 192.0.2.25 mx.other.example"), 0);
	assert_int_equal(gw_names_get(fx->names, af, &a, NOW, out, sizeof(out)), 1);
	assert_string_equal(out, "mx.example.net");
	/* an unknown address put in the "none" domain: weaker than the default */
	assert_int_equal(apply(fx, "v1 mx gw-x 1796083199000000 1796083500000000 192.0.2.26 mx.open.example"), 0);
	a = addr("192.0.2.26", &af);
	assert_int_equal(gw_names_get(fx->names, af, &a, NOW, out, sizeof(out)), 0);
	/* a name without a policy adds knowledge without changing the mode */
	assert_int_equal(apply(fx, "v1 mx gw-a 1796083199000000 1796083500000000 2001:db8::27 mx.other.example"), 1);
	/* our own echo, an expired fact, one from the future, one living for a year */
	assert_int_equal(apply(fx, "v1 mx gw-b 1796083199000000 1796083500000000 192.0.2.28 mx.example.net"), 0);
	assert_int_equal(apply(fx, "v1 mx gw-a 1796083000000000 1796083100000000 192.0.2.28 mx.example.net"), 0);
	assert_int_equal(apply(fx, "v1 mx gw-a 1796093200000000 1796093500000000 192.0.2.28 mx.example.net"), 0);
	assert_int_equal(apply(fx, "v1 mx gw-a 1796083199000000 1827619200000000 192.0.2.28 mx.example.net"), 0);
	gw_cluster_get_stats(fx->cl, &st);
	assert_int_equal(st.applied[GW_FACT_MX], 2);
	assert_int_equal(st.refused[GW_CL_REF_WEAKER], 3);
	assert_int_equal(st.own, 1);
	assert_int_equal(st.expired, 1);
	assert_int_equal(st.refused[GW_CL_REF_TIME], 2);
	assert_int_equal(st.lag_count, 2);
	assert_int_equal(st.lag_bucket[GW_CLUSTER_LAG_BUCKETS - 2], 2); /* 1 s: <= 1 s bound */
}

static void
test_apply_pin_fail(void **state)
{
	struct fixture *fx = *state;
	struct gw_cluster_stats st;
	struct pkt_addr a, c;
	uint8_t af;

	assert_int_equal(apply(fx, "v1 pin gw-a 1796083100000000 1796169500000000 203.0.113.25 - 1796000000000000"), 1);
	a = addr("203.0.113.25", &af);
	assert_int_equal(gw_pins_lookup(fx->pins, af, &a, (int64_t)(NOW / SEC), 86400, NULL), 1);
	/* a pin older than our max_age is out of date here */
	assert_int_equal(apply(fx, "v1 pin gw-a 1795900000000000 1797000000000000 203.0.113.26 - 1795900000000000"), 0);

	assert_int_equal(apply(fx, "v1 fail gw-a 1796083190000000 1796083490000000 198.51.100.7 203.0.113.25"), 1);
	c = addr("198.51.100.7", &af);
	assert_int_equal(gw_fallback_recent(fx->fb, af, &c, &a, NOW, 300), 1);
	/* an older failure of the same pair does not shorten the window */
	assert_int_equal(apply(fx, "v1 fail gw-a 1796083000000000 1796083300000000 198.51.100.7 203.0.113.25"), 1);
	assert_int_equal(gw_fallback_recent(fx->fb, af, &c, &a, NOW + 250 * SEC, 300), 1);

	/* a value stored under another key: refused (state load) */
	const char *v = "v1 pin gw-a 1796083100000000 1796169500000000 203.0.113.27 - 1796000000000000";
	assert_int_equal(gw_cluster_apply_line(fx->cl, v, strlen(v), "stg:pin:203.0.113.99", 20, 1, NOW), 0);
	assert_int_equal(gw_cluster_apply_line(fx->cl, v, strlen(v), "stg:pin:203.0.113.27", 20, 1, NOW), 1);
	gw_cluster_get_stats(fx->cl, &st);
	assert_int_equal(st.applied[GW_FACT_PIN], 2);
	assert_int_equal(st.applied[GW_FACT_FAIL], 2);
	assert_int_equal(st.loaded, 1);
	assert_int_equal(st.refused[GW_CL_REF_KEY], 1);
	assert_int_equal(st.expired, 1);
}

/* The Prometheus text names every reason and ends the histogram right. */
static void
test_metrics(void **state)
{
	struct fixture *fx = *state;
	struct gw_cluster_stats st;
	char *buf = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&buf, &len);

	apply(fx, "garbage");
	gw_cluster_get_stats(fx->cl, &st);
	gw_metrics_cluster(fp, &st);
	fclose(fp);
	assert_non_null(strstr(buf, "starttls_guard_cluster_refused_total{reason=\"kind\"} 1\n"));
	assert_non_null(strstr(buf, "starttls_guard_cluster_refused_total{reason=\"weaker\"} 0\n"));
	assert_non_null(strstr(buf, "starttls_guard_cluster_lag_seconds_bucket{le=\"+Inf\"} 0\n"));
	assert_non_null(strstr(buf, "starttls_guard_cluster_up 0\n"));
	free(buf);
}

/* Configuration: what is refused, with a message naming the key. */
static void
test_config(void **state)
{
	static const struct { const char *text, *want; } bad[] = {
		{ "cluster = { };", "\"redis\" (the Redis server's address) is required" },
		{ "cluster = { redis = \"rediss://192.0.2.1\"; };", "needs hiredis 1.0" },
		{ "cluster = { redis = \"tcp://192.0.2.1:0\"; };", "not a Redis address" },
		{ "cluster = { redis = \"[2001:db8::1\"; };", "not a Redis address" },
		{ "cluster = { redis = \"192.0.2.1\"; user = \"u\"; };", "cluster.user needs a password" },
		{ "cluster = { redis = \"192.0.2.1\"; id = \"a b\"; };", "cluster.id" },
		{ "cluster = { redis = \"192.0.2.1\"; prefix = \"stg*\"; };", "glob" },
		{ "cluster = { redis = \"192.0.2.1\"; password = \"x\"; password_file = \"/nonexistent\"; };",
		  "both set" },
		{ "cluster = { redis = \"192.0.2.1\"; password_file = \"/nonexistent/pw\"; };", "/nonexistent/pw" },
		{ "outputs = { redis = { server = \"192.0.2.1\"; mode = \"queue\"; }; };", "outputs.redis.mode" },
		{ "outputs = { redis = { mode = \"list\"; }; };", "\"server\"" },
		{ "outputs = { redis = { server = \"192.0.2.1\"; events = [ \"dns\" ]; }; };", "unknown event" },
	};
	struct gw_config c;
	char path[] = "/tmp/test_cluster_conf.XXXXXX", err[512];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int fd = mkstemp(path);
		assert_true(fd >= 0);
		assert_int_equal(write(fd, bad[i].text, strlen(bad[i].text)), (ssize_t)strlen(bad[i].text));
		close(fd);
		err[0] = '\0';
		if (gw_config_load(path, &c, err, sizeof(err)) == 0) {
			gw_config_free(&c);
			fail_msg("accepted: %s", bad[i].text);
		}
		unlink(path);
		memcpy(path + strlen(path) - 6, "XXXXXX", 6);
		if (strstr(err, bad[i].want) == NULL)
			fail_msg("%s: \"%s\" does not say \"%s\"", bad[i].text, err, bad[i].want);
	}
	/* a good one: channel follows the prefix, the user is kept */
	{
		const char *good = "cluster = { redis = \"[2001:db8::10]:6380\"; user = \"gw-a\"; "
		    "password = \"pw\"; id = \"gw-a\"; prefix = \"x:\"; };\n"
		    "outputs = { redis = { server = \"unix:/run/redis.sock\"; mode = \"stream\"; "
		    "events = [ \"alert\" ]; }; };\n";
		int fd = mkstemp(path);
		assert_true(fd >= 0);
		assert_int_equal(write(fd, good, strlen(good)), (ssize_t)strlen(good));
		close(fd);
		if (gw_config_load(path, &c, err, sizeof(err)) != 0)
			fail_msg("%s", err);
		unlink(path);
		assert_true(c.cluster.enabled);
		assert_string_equal(c.cluster.channel, "x:facts");
		assert_string_equal(c.cluster.redis.user, "gw-a");
		assert_true(c.eve_redis.enabled);
		assert_int_equal(c.eve_redis.mode, GW_EVR_XADD);
		assert_int_equal(c.eve_redis.events, 1);
		gw_config_free(&c);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fact_roundtrip),
		cmocka_unit_test(test_fact_garbage),
		cmocka_unit_test(test_config),
		cmocka_unit_test_setup_teardown(test_apply_mx, setup, teardown),
		cmocka_unit_test_setup_teardown(test_apply_pin_fail, setup, teardown),
		cmocka_unit_test_setup_teardown(test_metrics, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
