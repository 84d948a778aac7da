/*
 * test_config.c - unit tests for gateway/gw_config.c (libconfig loading).
 *
 * Each case writes a small file to a temporary directory and loads it. Good
 * files are checked value by value; bad files must fail with an error that
 * starts with "FILE:LINE: " and names the setting, and must leave the
 * caller's struct untouched.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <cmocka.h>

#include "gateway/gw_config.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static char tc_path[256];

/* Write text to a fresh temporary file; its name is in tc_path. */
static const char *
tc_write(const char *text)
{
	int fd;

	snprintf(tc_path, sizeof(tc_path), "%s/test_config.XXXXXX",
	    getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	fd = mkstemp(tc_path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return tc_path;
}

/* Policy lookup of a literal address. */
static void
tc_lookup(const struct gw_config *c, const char *addr, struct pol_match *m)
{
	struct pkt_addr a;
	uint8_t af = 4;

	memset(&a, 0, sizeof(a));
	if (inet_pton(AF_INET, addr, a.a) != 1) {
		assert_int_equal(inet_pton(AF_INET6, addr, a.a), 1);
		af = 6;
	}
	pol_lookup_addr(c->pol, af, &a, m);
}

static void
test_defaults(void **state)
{
	struct gw_config c;
	struct pol_match m;

	(void)state;
	assert_int_equal(gw_config_default(&c), 0);
	assert_true(c.engine.nports >= 1);
	assert_int_equal(c.engine.ports[0], 25);
	assert_string_equal(c.eve_path, "-");
	assert_int_equal(c.fail_open, 1);
	assert_int_equal(c.queue_maxlen, 4096);
	assert_int_equal(c.rcvbuf, 8 << 20);
	assert_int_equal(c.bypass_mark, GW_BYPASS_MARK_DEFAULT);
	assert_string_equal(c.user, "");
	assert_int_equal(c.nwarn, 0);
	tc_lookup(&c, "192.0.2.1", &m);
	assert_int_equal(m.mode, POL_MODE_TESTING);
	assert_int_equal(m.min_tls, POL_TLS_1_2);
	assert_int_equal(pol_rule_count(c.pol), 0);
	gw_config_free(&c);
}

static void
test_design_example(void **state)
{
	/* DESIGN.md's shape, which every version must accept */
	static const char text[] =
	    "policy = {\n"
	    "  default = { mode = \"testing\"; min_tls = \"1.2\"; };\n"
	    "  rules = (\n"
	    "    { match = \"203.0.113.0/24\"; mode = \"enforce\"; },                 # server address\n"
	    "    { domain = \"example.net\"; mxs = [ \"mx.example.net\", \"*.example.org\" ]; mode = \"enforce\"; }\n"
	    "  );\n"
	    "  eff_list = \"/etc/starttls-guard/policy.json\";\n"
	    "  mta_sts_dir = \"/var/lib/starttls-guard/mta-sts\";\n"
	    "  pins = { file = \"/var/lib/starttls-guard/pins\"; max_age = 2592000; mode = \"enforce\"; };\n"
	    "  ca_file = \"/etc/ssl/certs/ca-certificates.crt\";\n"
	    "};\n";
	struct gw_config c;
	struct pol_match m;
	char err[512];

	(void)state;
	if (gw_config_load(tc_write(text), &c, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	/* The named EFF list and MTA-STS cache do not exist here: each is
	 * skipped with a warning, never a refused configuration. */
	assert_int_equal(c.nwarn, 2);
	assert_non_null(strstr(c.warn[0], "policy.eff_list"));
	assert_non_null(strstr(c.warn[1], "policy.mta_sts_dir"));
	assert_int_equal(pol_rule_count(c.pol), 1);
	/* The domain rule is a config-sourced domain policy, found by MX name. */
	{
		uint32_t ref;
		assert_true(pol_has_domains(c.pol));
		assert_int_equal(pol_lookup_mx(c.pol, "a.example.org", 0, &m, &ref), 1);
		assert_int_equal(m.mode, POL_MODE_ENFORCE);
		assert_int_equal(m.source, POL_SRC_CONFIG);
		assert_string_equal(m.match, "example.net");
		assert_int_equal(pol_lookup_mx(c.pol, "b.a.example.org", 0, &m, &ref), 0);
	}
	tc_lookup(&c, "203.0.113.25", &m);
	assert_int_equal(m.mode, POL_MODE_ENFORCE);
	assert_int_equal(m.source, POL_SRC_CONFIG);
	assert_string_equal(m.match, "203.0.113.0/24");
	tc_lookup(&c, "198.51.100.1", &m);
	assert_int_equal(m.mode, POL_MODE_TESTING);
	assert_int_equal(m.source, POL_SRC_DEFAULT);
	gw_config_free(&c);
	unlink(tc_path);
}

static void
test_all_sections(void **state)
{
	static const char text[] =
	    "ports = [ 25, 587 ];\n"
	    "eve = { file = \"/var/log/starttls-guard/eve.json\"; };\n"
	    "engine = { max_flows = 1000; pool_chunks = 64; idle_timeout = 30;\n"
	    "           inspect_timeout = 4000; midstream = \"lost\";\n"
	    "           fallback_window = 0; fallback_entries = 16; };\n"
	    "nfqueue = { fail_open = false; queue_maxlen = 100; rcvbuf = 65536;\n"
	    "            bypass_mark = 0x4; inspect_mark = 0x8; user = \"starttls-guard\"; };\n"
	    "policy = {\n"
	    "  default = { mode = \"enforce\"; min_tls = 1.3; };\n"
	    "  rules = (\n"
	    "    { match = \"2001:db8::/32\"; mode = \"none\"; },\n"
	    "    { match = \"192.0.2.25\"; mode = \"testing\"; min_tls = \"1.0\"; }\n"
	    "  );\n"
	    "};\n";
	struct gw_config c;
	struct pol_match m;
	char err[512];

	(void)state;
	if (gw_config_load(tc_write(text), &c, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_int_equal(c.engine.nports, 2);
	assert_int_equal(c.engine.ports[0], 25);
	assert_int_equal(c.engine.ports[1], 587);
	assert_string_equal(c.eve_path, "/var/log/starttls-guard/eve.json");
	assert_int_equal(c.engine.max_flows, 1000);
	assert_int_equal(c.engine.pool_chunks, 64);
	assert_int_equal(c.engine.idle_timeout_s, 30);
	assert_int_equal(c.engine.inspect_timeout_s, 4000);
	assert_int_equal(c.engine.midstream_lost, 1);
	assert_int_equal(c.inspect_mark, 8);
	assert_int_equal(c.engine.fallback_window_s, 0);
	assert_int_equal(c.engine.fallback_entries, 16);
	assert_int_equal(c.fail_open, 0);
	assert_int_equal(c.queue_maxlen, 100);
	assert_int_equal(c.rcvbuf, 65536);
	assert_int_equal(c.bypass_mark, 4);
	assert_string_equal(c.user, "starttls-guard");
	tc_lookup(&c, "2001:db8::25", &m);
	assert_int_equal(m.mode, POL_MODE_NONE);
	tc_lookup(&c, "192.0.2.25", &m);
	assert_int_equal(m.mode, POL_MODE_TESTING);
	assert_int_equal(m.min_tls, POL_TLS_1_0);
	tc_lookup(&c, "192.0.2.26", &m);
	assert_int_equal(m.mode, POL_MODE_ENFORCE);
	assert_int_equal(m.source, POL_SRC_DEFAULT);
	assert_int_equal(m.min_tls, POL_TLS_1_3);
	gw_config_free(&c);
	unlink(tc_path);
}

static void
test_small_forms(void **state)
{
	struct gw_config c;
	char err[512];

	(void)state;
	/* a single port, eve as a string, fail_open as 0/1, rule min_tls
	 * inherited from the default */
	if (gw_config_load(tc_write("ports = 2525;\neve = \"-\";\nnfqueue = { fail_open = 0; };\n"
	    "policy = { default = { min_tls = \"1.3\"; }; rules = ( { match = \"10.0.0.0/8\"; mode = \"enforce\"; } ); };\n"),
	    &c, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_int_equal(c.engine.nports, 1);
	assert_int_equal(c.engine.ports[0], 2525);
	assert_string_equal(c.eve_path, "-");
	assert_int_equal(c.fail_open, 0);
	{
		struct pol_match m;

		tc_lookup(&c, "10.1.1.1", &m);
		assert_int_equal(m.min_tls, POL_TLS_1_3);
	}
	gw_config_free(&c);
	unlink(tc_path);
	/* an empty file is all defaults */
	if (gw_config_load(tc_write(""), &c, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_int_equal(c.engine.ports[0], 25);
	assert_int_equal(c.engine.idle_timeout_s, 600);
	assert_int_equal(c.engine.inspect_timeout_s, 7200);
	assert_int_equal(c.engine.midstream_lost, 0);
	assert_int_equal(c.bypass_mark, 0x10000);
	assert_int_equal(c.inspect_mark, 0x20000);
	gw_config_free(&c);
	unlink(tc_path);
}

static void
test_unknown_keys(void **state)
{
	static const char text[] =
	    "bogus = 1;\n"
	    "engine = {\n"
	    "  max_flow = 5;\n"
	    "};\n"
	    "policy = { default = { mode = \"enforce\"; strict = true; }; };\n";
	struct gw_config c;
	char err[512], want[sizeof(tc_path) + 128];

	(void)state;
	if (gw_config_load(tc_write(text), &c, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_int_equal(c.nwarn, 3);
	snprintf(want, sizeof(want), "%s:1: unknown setting 'bogus' ignored", tc_path);
	assert_string_equal(c.warn[0], want);
	snprintf(want, sizeof(want), "%s:3: unknown setting 'engine.max_flow' ignored", tc_path);
	assert_string_equal(c.warn[1], want);
	snprintf(want, sizeof(want), "%s:5: unknown setting 'policy.default.strict' ignored", tc_path);
	assert_string_equal(c.warn[2], want);
	gw_config_free(&c);
	unlink(tc_path);
}

/* A bad file: the error must begin "FILE:LINE: " and contain what. */
struct tc_bad {
	const char *text;
	int         line;
	const char *what;
};

static void
test_bad_files(void **state)
{
	static const struct tc_bad t[] = {
		{ "ports = [ 25\npolicy = {};\n", 2, "syntax error" },
		{ "policy = {\n  default = { mode = \"enforcing\"; };\n};\n", 2, "unknown mode \"enforcing\"" },
		{ "policy = {\n  default = { mode = 1; };\n};\n", 2, "policy.default.mode: expected a string" },
		{ "policy = {\n  default = { min_tls = \"1.4\"; };\n};\n", 2, "unknown TLS version \"1.4\"" },
		{ "policy = {\n  default = { min_tls = 2.0; };\n};\n", 2, "unknown TLS version \"2.0\"" },
		{ "policy = {\n  rules = (\n    { match = \"203.0.113.0/33\"; mode = \"enforce\"; }\n  );\n};\n", 3, "203.0.113.0/33" },
		{ "policy = {\n  rules = (\n    { match = \"mx.example.net\"; mode = \"enforce\"; }\n  );\n};\n", 3, "bad address" },
		{ "policy = {\n  rules = (\n    { match = \"10.0.0.1/8\"; mode = \"enforce\"; }\n  );\n};\n", 3, "host bits" },
		{ "policy = {\n  rules = (\n    { match = \"10.0.0.0/8\"; mode = \"enforce\"; },\n    { match = \"10.0.0.0/8\"; mode = \"none\"; }\n  );\n};\n", 4, "duplicates" },
		{ "policy = {\n  rules = (\n    { match = \"10.0.0.0/8\"; }\n  );\n};\n", 3, "missing mode" },
		{ "policy = {\n  rules = (\n    { mode = \"enforce\"; }\n  );\n};\n", 3, "needs match" },
		{ "policy = {\n  rules = (\n    { match = \"10.0.0.0/8\"; domain = \"x\"; mode = \"enforce\"; }\n  );\n};\n", 3, "not both" },
		{ "policy = {\n  rules = (\n    { domain = \"x\"; mxs = \"mx.x\"; mode = \"enforce\"; }\n  );\n};\n", 3, "mxs: expected a list" },
		{ "policy = {\n  rules = (\n    { domain = \"x\"; mxs = [ 1 ]; mode = \"enforce\"; }\n  );\n};\n", 3, "mxs[0]: expected a string" },
		{ "policy = {\n  rules = (\n    { domain = \"x\"; mode = \"enforcing\"; }\n  );\n};\n", 3, "unknown mode" },
		{ "policy = {\n  rules = { match = \"10.0.0.0/8\"; mode = \"enforce\"; };\n};\n", 2, "policy.rules: expected a list" },
		{ "policy = {\n  pins = { max_age = -1; };\n};\n", 2, "policy.pins.max_age: -1 is out of range" },
		{ "policy = {\n  eff_list = 5;\n};\n", 2, "policy.eff_list: expected a string" },
		{ "policy = 1;\n", 1, "policy: expected a group" },
		{ "ports = [ 25, 70000 ];\n", 1, "70000 is out of range" },
		{ "engine = {\n  midstream = \"drop\";\n};\n", 2, "neither \"pass\" nor \"lost\"" },
		{ "engine = {\n  inspect_timeout = 0;\n};\n", 2, "engine.inspect_timeout: 0 is out of range" },
		{ "nfqueue = {\n  bypass_mark = 0x10000;\n  inspect_mark = 0x30000;\n};\n", 3, "shares bits with bypass_mark" },
		{ "ports = [ 0 ];\n", 1, "out of range" },
		{ "ports = [ ];\n", 1, "empty" },
		{ "ports = [ 25, 25 ];\n", 1, "listed twice" },
		{ "ports = [ 1, 2, 3, 4, 5, 6, 7, 8, 9 ];\n", 1, "at most" },
		{ "ports = \"25\";\n", 1, "ports: expected a list" },
		{ "engine = {\n  max_flows = \"many\";\n};\n", 2, "engine.max_flows: expected an integer, got a string" },
		{ "engine = {\n  max_flows = 0;\n};\n", 2, "engine.max_flows: 0 is out of range" },
		{ "engine = {\n  idle_timeout = 1.5;\n};\n", 2, "expected an integer, got a number" },
		{ "nfqueue = {\n  fail_open = \"yes\";\n};\n", 2, "nfqueue.fail_open: expected true or false" },
		{ "nfqueue = {\n  fail_open = 2;\n};\n", 2, "expected true or false" },
		{ "nfqueue = {\n  bypass_mark = 0;\n};\n", 2, "nfqueue.bypass_mark: 0 is out of range" },
		{ "nfqueue = {\n  user = \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\";\n};\n", 2, "longer than" },
		{ "eve = {\n  file = \"\";\n};\n", 2, "eve.file: must not be empty" },
		{ "eve = 3;\n", 1, "eve: expected a group" },
		{ "\n\n\nengine = ;\n", 4, "syntax error" },
	};
	struct gw_config c;
	char err[512], want[sizeof(tc_path) + 128];

	(void)state;
	for (size_t i = 0; i < N(t); i++) {
		memset(&c, 0x5a, sizeof(c));
		err[0] = '\0';
		if (gw_config_load(tc_write(t[i].text), &c, err, sizeof(err)) != -1)
			fail_msg("case %zu was accepted:\n%s", i, t[i].text);
		snprintf(want, sizeof(want), "%s:%d: ", tc_path, t[i].line);
		if (strncmp(err, want, strlen(want)) != 0 || strstr(err, t[i].what) == NULL)
			fail_msg("case %zu: got \"%s\", want \"%s...%s\"", i, err, want, t[i].what);
		/* untouched on failure */
		for (size_t k = 0; k < sizeof(c); k++)
			if (((unsigned char *)&c)[k] != 0x5a)
				fail_msg("case %zu: the struct was changed", i);
		unlink(tc_path);
	}
}

static void
test_missing_file(void **state)
{
	struct gw_config c;
	char err[512];

	(void)state;
	assert_int_equal(gw_config_load("/nonexistent/starttls-guard.conf", &c, err, sizeof(err)), -1);
	assert_string_equal(err, "/nonexistent/starttls-guard.conf: cannot read: No such file or directory");
	assert_int_equal(gw_config_load("", &c, err, sizeof(err)), -1);
	/* an @include that is missing names the including setup */
	assert_int_equal(gw_config_load(tc_write("@include \"/nonexistent/part.conf\"\n"), &c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, tc_path));
	unlink(tc_path);
}

static void
test_example_file(void **state)
{
	struct gw_config c;
	char err[512];
	FILE *fp = fopen("starttls-guard.conf", "r");

	(void)state;
	if (fp == NULL)
		skip();   /* not run from the source tree */
	fclose(fp);
	if (gw_config_load("starttls-guard.conf", &c, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_int_equal(c.nwarn, 0);
	assert_true(pol_rule_count(c.pol) >= 1);
	gw_config_free(&c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_design_example),
		cmocka_unit_test(test_all_sections),
		cmocka_unit_test(test_small_forms),
		cmocka_unit_test(test_unknown_keys),
		cmocka_unit_test(test_bad_files),
		cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_example_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
