/*
 * gw_config.c - read the libconfig file into a struct gw_config.
 *
 * The only file that includes libconfig.h. Every value is type- and
 * range-checked; the first bad one fails the whole load with
 * "file:line: setting: what is wrong", and the caller's struct is left
 * untouched, so a SIGHUP with a broken file keeps the running config.
 * Unknown keys are not fatal (a newer file on an older binary must still
 * load, as with Postfix's unused-parameter warnings): they are listed in
 * c->warn for the caller to print. Domain rules, eff_list, mta_sts_dir, pins
 * and ca_file are checked for shape but not used yet.
 */
#include <errno.h>
#include <libconfig.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../inspect/hsbuf.h"
#include "../policy/pol_domain.h"
#include "gw_config.h"
#include "gw_polsrc.h"

/* State of one load. */
struct ld {
	const char *path;         /* the file named on the command line */
	char *err;                /* where the fatal message goes */
	size_t errlen;
	struct gw_config *c;      /* being filled */
	struct pol_domain *dom;   /* domain policies being built, NULL = none yet */
};

/* The domain table being built, created on first use. */
static struct pol_domain *
ld_domains(struct ld *l)
{
	if (l->dom == NULL)
		l->dom = pol_domain_new();
	return l->dom;
}

/* "file:line" of a setting (its own file when it came from @include). */
static void
ld_where(const struct ld *l, const config_setting_t *s, char *buf, size_t len)
{
	const char *file = s ? config_setting_source_file(s) : NULL;
	unsigned line = s ? config_setting_source_line(s) : 0;

	if (file == NULL)
		file = l->path;
	if (line > 0)
		snprintf(buf, len, "%s:%u", file, line);
	else
		snprintf(buf, len, "%s", file);
}

/* Fail the load with "file:line: message". Returns -1. */
static int __attribute__((format(printf, 3, 4)))
ld_err(struct ld *l, const config_setting_t *s, const char *fmt, ...)
{
	char where[GW_PATH_MAX + 16], msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	ld_where(l, s, where, sizeof(where));
	snprintf(l->err, l->errlen, "%s: %s", where, msg);
	return -1;
}

/* Keep a warning "file:line: message". */
static void __attribute__((format(printf, 3, 4)))
ld_warn(struct ld *l, const config_setting_t *s, const char *fmt, ...)
{
	char where[GW_PATH_MAX + 16], msg[256];
	struct gw_config *c = l->c;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (c->nwarn < GW_CONFIG_WARN_MAX) {
		ld_where(l, s, where, sizeof(where));
		/* a cut warning is still a useful warning */
		if (snprintf(c->warn[c->nwarn], GW_CONFIG_WARN_LEN, "%s: %s", where, msg) < 0)
			c->warn[c->nwarn][0] = '\0';
	}
	c->nwarn++;
}

/* Warn about every member of group whose name is not in known (NULL-ended). */
static void
ld_unknown_keys(struct ld *l, const config_setting_t *group, const char *section,
    const char *const *known)
{
	int n = config_setting_length(group);

	for (int i = 0; i < n; i++) {
		const config_setting_t *m = config_setting_get_elem(group, (unsigned)i);
		const char *name = config_setting_name(m);
		const char *const *k;

		if (name == NULL)
			continue;
		for (k = known; *k != NULL; k++)
			if (strcmp(*k, name) == 0)
				break;
		if (*k == NULL)
			ld_warn(l, m, "unknown setting '%s%s%s' ignored", section,
			    *section ? "." : "", name);
	}
}

/* Name of a libconfig type, for "expected X, got Y". */
static const char *
type_name(const config_setting_t *s)
{
	switch (config_setting_type(s)) {
	case CONFIG_TYPE_GROUP:  return "a group { }";
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64:  return "an integer";
	case CONFIG_TYPE_FLOAT:  return "a number";
	case CONFIG_TYPE_STRING: return "a string";
	case CONFIG_TYPE_BOOL:   return "a boolean";
	case CONFIG_TYPE_ARRAY:  return "an array [ ]";
	case CONFIG_TYPE_LIST:   return "a list ( )";
	default:                 return "nothing";
	}
}

/* Member name of group, or NULL when absent. */
static config_setting_t *
member(const config_setting_t *group, const char *name)
{
	return config_setting_get_member(group, name);
}

/* Is s a group? Fail the load if not. */
static int
need_group(struct ld *l, const config_setting_t *s, const char *what)
{
	if (config_setting_type(s) != CONFIG_TYPE_GROUP)
		return ld_err(l, s, "%s: expected a group { ... }, got %s", what, type_name(s));
	return 0;
}

/* An integer in [min, max]. */
static int
get_int(struct ld *l, const config_setting_t *s, const char *what,
    long long min, long long max, long long *out)
{
	long long v;

	if (config_setting_type(s) != CONFIG_TYPE_INT &&
	    config_setting_type(s) != CONFIG_TYPE_INT64)
		return ld_err(l, s, "%s: expected an integer, got %s", what, type_name(s));
	v = config_setting_get_int64(s);
	if (v < min || v > max)
		return ld_err(l, s, "%s: %lld is out of range (%lld to %lld)", what, v, min, max);
	*out = v;
	return 0;
}

/* An optional integer member stored into a uint32_t. */
static int
opt_u32(struct ld *l, const config_setting_t *group, const char *section,
    const char *name, long long min, long long max, uint32_t *out)
{
	const config_setting_t *s = member(group, name);
	char what[64];
	long long v;

	if (s == NULL)
		return 0;
	snprintf(what, sizeof(what), "%s.%s", section, name);
	if (get_int(l, s, what, min, max, &v) == -1)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

/* A string (not empty unless empty_ok). */
static int
get_str(struct ld *l, const config_setting_t *s, const char *what, int empty_ok,
    const char **out)
{
	const char *v;

	if (config_setting_type(s) != CONFIG_TYPE_STRING)
		return ld_err(l, s, "%s: expected a string, got %s", what, type_name(s));
	v = config_setting_get_string(s);
	if (v == NULL || (!empty_ok && *v == '\0'))
		return ld_err(l, s, "%s: must not be empty", what);
	*out = v;
	return 0;
}

/* An optional string member copied into buf. */
static int
opt_str(struct ld *l, const config_setting_t *group, const char *section,
    const char *name, int empty_ok, char *buf, size_t len)
{
	const config_setting_t *s = member(group, name);
	const char *v;
	char what[64];

	if (s == NULL)
		return 0;
	snprintf(what, sizeof(what), "%s.%s", section, name);
	if (get_str(l, s, what, empty_ok, &v) == -1)
		return -1;
	if (buf == NULL)
		return 0;
	if (strlen(v) >= len)
		return ld_err(l, s, "%s: longer than %zu characters", what, len - 1);
	memcpy(buf, v, strlen(v) + 1);
	return 0;
}

/* A boolean (true/false, or 0/1). */
static int
get_bool(struct ld *l, const config_setting_t *s, const char *what, int *out)
{
	if (config_setting_type(s) == CONFIG_TYPE_BOOL) {
		*out = config_setting_get_bool(s);
		return 0;
	}
	if (config_setting_type(s) == CONFIG_TYPE_INT) {
		int v = config_setting_get_int(s);

		if (v == 0 || v == 1) {
			*out = v;
			return 0;
		}
	}
	return ld_err(l, s, "%s: expected true or false, got %s", what, type_name(s));
}

/* A mode: "enforce", "testing" or "none". */
static int
get_mode(struct ld *l, const config_setting_t *s, const char *what, enum pol_mode *out)
{
	const char *v;

	if (get_str(l, s, what, 1, &v) == -1)
		return -1;
	if (pol_mode_parse(v, out) == -1)
		return ld_err(l, s, "%s: unknown mode \"%s\" (use enforce, testing or none)", what, v);
	return 0;
}

/* A TLS version: "1.2" (or the number 1.2, which operators write too). */
static int
get_tls(struct ld *l, const config_setting_t *s, const char *what, uint16_t *out)
{
	char buf[32];
	const char *v;

	if (config_setting_type(s) == CONFIG_TYPE_FLOAT) {
		double d = config_setting_get_float(s);

		snprintf(buf, sizeof(buf), "%.1f", d);
		if (fabs(d - strtod(buf, NULL)) > 1e-9)
			snprintf(buf, sizeof(buf), "%g", d);
		v = buf;
	} else if (get_str(l, s, what, 1, &v) == -1)
		return -1;
	if (pol_tls_parse(v, out) == -1)
		return ld_err(l, s, "%s: unknown TLS version \"%s\" (use \"1.0\" to \"1.3\")", what, v);
	return 0;
}

/* ports = [ 25, 587 ]; or ports = 25; */
static int
ld_ports(struct ld *l, const config_setting_t *s)
{
	struct gw_engine_conf *e = &l->c->engine;
	int type = config_setting_type(s);
	long long v;
	int n;

	if (type == CONFIG_TYPE_INT || type == CONFIG_TYPE_INT64) {
		if (get_int(l, s, "ports", 1, 65535, &v) == -1)
			return -1;
		e->ports[0] = (uint16_t)v;
		e->nports = 1;
		return 0;
	}
	if (type != CONFIG_TYPE_ARRAY && type != CONFIG_TYPE_LIST)
		return ld_err(l, s, "ports: expected a list of port numbers like [ 25, 587 ], got %s",
		    type_name(s));
	n = config_setting_length(s);
	if (n == 0)
		return ld_err(l, s, "ports: the list is empty");
	if (n > GW_PORTS_MAX)
		return ld_err(l, s, "ports: at most %d ports", GW_PORTS_MAX);
	e->nports = 0;
	for (int i = 0; i < n; i++) {
		const config_setting_t *p = config_setting_get_elem(s, (unsigned)i);

		if (get_int(l, p, "ports", 1, 65535, &v) == -1)
			return -1;
		for (unsigned j = 0; j < e->nports; j++)
			if (e->ports[j] == v)
				return ld_err(l, p, "ports: port %lld is listed twice", v);
		e->ports[e->nports++] = (uint16_t)v;
	}
	return 0;
}

/* eve = { file = "..."; }; (eve = "..." is taken as the file too). */
static int
ld_eve(struct ld *l, const config_setting_t *s)
{
	static const char *const known[] = { "file", NULL };

	if (config_setting_type(s) == CONFIG_TYPE_STRING)
		return opt_str(l, config_setting_parent(s), "", "eve", 0,
		    l->c->eve_path, sizeof(l->c->eve_path));
	if (need_group(l, s, "eve") == -1)
		return -1;
	ld_unknown_keys(l, s, "eve", known);
	return opt_str(l, s, "eve", "file", 0, l->c->eve_path, sizeof(l->c->eve_path));
}

/* outputs.syslog = { enabled; facility; target; format; app_name; events }; */
static int
ld_syslog(struct ld *l, const config_setting_t *s)
{
	static const char *const known[] = { "enabled", "facility", "target",
	    "format", "app_name", "events", NULL };
	struct gw_syslog_conf *sc = &l->c->syslog;
	const config_setting_t *m;
	char perr[GW_SYSLOG_TARGET_MAX + 128], fac[32], fmt[16];

	if (need_group(l, s, "outputs.syslog") == -1)
		return -1;
	ld_unknown_keys(l, s, "outputs.syslog", known);
	sc->enabled = 1;   /* a syslog section means syslog, unless it says no */
	if ((m = member(s, "enabled")) != NULL &&
	    get_bool(l, m, "outputs.syslog.enabled", &sc->enabled) == -1)
		return -1;
	fac[0] = '\0';
	if (opt_str(l, s, "outputs.syslog", "facility", 0, fac, sizeof(fac)) == -1)
		return -1;
	if (fac[0] != '\0' && (sc->facility = gw_syslog_facility(fac)) == -1)
		return ld_err(l, member(s, "facility"), "outputs.syslog.facility: unknown facility \"%s\" "
		    "(kern, user, mail, daemon, auth, ..., local0 to local7)", fac);
	if (opt_str(l, s, "outputs.syslog", "target", 0, sc->target, sizeof(sc->target)) == -1)
		return -1;
	if (gw_syslog_check_target(sc->target, perr, sizeof(perr)) == -1)
		return ld_err(l, member(s, "target"), "outputs.syslog.target: %s", perr);
	snprintf(fmt, sizeof(fmt), "rfc5424");
	if (opt_str(l, s, "outputs.syslog", "format", 0, fmt, sizeof(fmt)) == -1)
		return -1;
	if (strcmp(fmt, "rfc5424") != 0)
		return ld_err(l, member(s, "format"), "outputs.syslog.format: \"%s\": only \"rfc5424\" is known", fmt);
	if (opt_str(l, s, "outputs.syslog", "app_name", 0, sc->app_name, sizeof(sc->app_name)) == -1)
		return -1;
	for (const char *p = sc->app_name; *p; p++)
		if (*p <= ' ' || *p > '~')
			return ld_err(l, member(s, "app_name"), "outputs.syslog.app_name: printable ASCII without spaces only");
	if ((m = member(s, "events")) != NULL) {
		int t = config_setting_type(m), n;

		if (t != CONFIG_TYPE_ARRAY && t != CONFIG_TYPE_LIST)
			return ld_err(l, m, "outputs.syslog.events: expected a list like [ \"alert\", \"flow\" ], got %s",
			    type_name(m));
		sc->events = 0;
		n = config_setting_length(m);
		for (int i = 0; i < n; i++) {
			const char *v;

			if (get_str(l, config_setting_get_elem(m, (unsigned)i), "outputs.syslog.events",
			    0, &v) == -1)
				return -1;
			if (strcmp(v, "alert") == 0)
				sc->events |= GW_SYSLOG_EV_ALERT;
			else if (strcmp(v, "flow") == 0)
				sc->events |= GW_SYSLOG_EV_FLOW;
			else if (strcmp(v, "stats") == 0)
				sc->events |= GW_SYSLOG_EV_STATS;
			else
				return ld_err(l, m, "outputs.syslog.events: unknown event \"%s\" (alert, flow, stats)", v);
		}
	}
	return 0;
}

static int ld_eve_redis(struct ld *l, const config_setting_t *s);

/* outputs = { eve = {...}; syslog = {...}; evidence = {...}; metrics = {...}; }; */
static int
ld_outputs(struct ld *l, const config_setting_t *s)
{
	static const char *const known[] = { "eve", "syslog", "evidence", "metrics", "redis", NULL };
	static const char *const known_eve[] = { "enabled", "file", NULL };
	static const char *const known_ev[] = { "enabled", "dir", "max_files", "max_bytes",
	    "ring_bytes", NULL };
	static const char *const known_met[] = { "enabled", "file", "interval", NULL };
	struct gw_config *c = l->c;
	const config_setting_t *g, *m;
	int on;

	if (need_group(l, s, "outputs") == -1)
		return -1;
	ld_unknown_keys(l, s, "outputs", known);
	if ((g = member(s, "eve")) != NULL) {
		if (need_group(l, g, "outputs.eve") == -1)
			return -1;
		ld_unknown_keys(l, g, "outputs.eve", known_eve);
		if ((m = member(g, "enabled")) != NULL &&
		    get_bool(l, m, "outputs.eve.enabled", &c->eve_enabled) == -1)
			return -1;
		if (opt_str(l, g, "outputs.eve", "file", 0, c->eve_path, sizeof(c->eve_path)) == -1)
			return -1;
	}
	if ((g = member(s, "syslog")) != NULL && ld_syslog(l, g) == -1)
		return -1;
	if ((g = member(s, "redis")) != NULL && ld_eve_redis(l, g) == -1)
		return -1;
	if ((g = member(s, "evidence")) != NULL) {
		struct gw_evidence_conf *ec = &c->evidence;
		long long v;

		if (need_group(l, g, "outputs.evidence") == -1)
			return -1;
		ld_unknown_keys(l, g, "outputs.evidence", known_ev);
		on = 1;
		if ((m = member(g, "enabled")) != NULL &&
		    get_bool(l, m, "outputs.evidence.enabled", &on) == -1)
			return -1;
		if (opt_str(l, g, "outputs.evidence", "dir", 0, ec->dir, sizeof(ec->dir)) == -1 ||
		    opt_u32(l, g, "outputs.evidence", "max_files", 0, 1 << 24, &ec->max_files) == -1 ||
		    opt_u32(l, g, "outputs.evidence", "ring_bytes", GW_EVIDENCE_RING_MIN, 1 << 30,
		    &ec->ring_bytes) == -1)
			return -1;
		if ((m = member(g, "max_bytes")) != NULL) {
			if (get_int(l, m, "outputs.evidence.max_bytes", 0, 1LL << 50, &v) == -1)
				return -1;
			ec->max_bytes = (uint64_t)v;
		}
		if (on && ec->dir[0] == '\0')
			return ld_err(l, g, "outputs.evidence: dir = \"/var/lib/starttls-guard/evidence\" (or enabled = false) is needed");
		if (!on)
			ec->dir[0] = '\0';
	}
	if ((g = member(s, "metrics")) != NULL) {
		if (need_group(l, g, "outputs.metrics") == -1)
			return -1;
		ld_unknown_keys(l, g, "outputs.metrics", known_met);
		on = 1;
		if ((m = member(g, "enabled")) != NULL &&
		    get_bool(l, m, "outputs.metrics.enabled", &on) == -1)
			return -1;
		if (opt_str(l, g, "outputs.metrics", "file", 0, c->metrics_file, sizeof(c->metrics_file)) == -1 ||
		    opt_u32(l, g, "outputs.metrics", "interval", 1, 86400, &c->metrics_interval) == -1)
			return -1;
		if (on && c->metrics_file[0] == '\0')
			return ld_err(l, g, "outputs.metrics: file = \"/var/lib/prometheus/node-exporter/starttls-guard.prom\" (or enabled = false) is needed");
		if (!on)
			c->metrics_file[0] = '\0';
	}
	return 0;
}

/* engine = { max_flows = ...; ... }; */
static int
ld_engine(struct ld *l, const config_setting_t *s)
{
	static const char *const known[] = { "max_flows", "pool_chunks",
	    "idle_timeout", "inspect_timeout", "midstream", "fallback_window",
	    "fallback_entries", "hs_buffers", "dns_names", NULL };
	struct gw_engine_conf *e = &l->c->engine;
	char mid[8] = "";

	if (need_group(l, s, "engine") == -1)
		return -1;
	ld_unknown_keys(l, s, "engine", known);
	if (opt_u32(l, s, "engine", "max_flows", 1, 1 << 24, &e->max_flows) == -1 ||
	    opt_u32(l, s, "engine", "pool_chunks", 1, 1 << 22, &e->pool_chunks) == -1 ||
	    opt_u32(l, s, "engine", "idle_timeout", 1, 7 * 86400, &e->idle_timeout_s) == -1 ||
	    opt_u32(l, s, "engine", "inspect_timeout", 1, 7 * 86400, &e->inspect_timeout_s) == -1 ||
	    opt_str(l, s, "engine", "midstream", 0, mid, sizeof(mid)) == -1 ||
	    opt_u32(l, s, "engine", "fallback_window", 0, 7 * 86400, &e->fallback_window_s) == -1 ||
	    opt_u32(l, s, "engine", "fallback_entries", 0, 1 << 24, &e->fallback_entries) == -1 ||
	    opt_u32(l, s, "engine", "hs_buffers", 0, HSBUF_MAX, &e->hs_buffers) == -1 ||
	    opt_u32(l, s, "engine", "dns_names", 1, 1 << 24, &e->names_entries) == -1)
		return -1;
	if (mid[0] != '\0') {
		/* pass: a connection older than the gateway is not its business;
		 * lost: handled like one whose state was lost (blocked under enforce) */
		if (strcmp(mid, "pass") != 0 && strcmp(mid, "lost") != 0)
			return ld_err(l, member(s, "midstream"),
			    "engine.midstream: \"%s\" is neither \"pass\" nor \"lost\"", mid);
		e->midstream_lost = strcmp(mid, "lost") == 0;
	}
	return 0;
}

/* nfqueue = { fail_open = true; ... }; */
static int
ld_nfqueue(struct ld *l, const config_setting_t *s)
{
	static const char *const known[] = { "fail_open", "queue_maxlen",
	    "rcvbuf", "bypass_mark", "inspect_mark", "user", NULL };
	struct gw_config *c = l->c;
	const config_setting_t *m;

	if (need_group(l, s, "nfqueue") == -1)
		return -1;
	ld_unknown_keys(l, s, "nfqueue", known);
	if ((m = member(s, "fail_open")) != NULL &&
	    get_bool(l, m, "nfqueue.fail_open", &c->fail_open) == -1)
		return -1;
	if (opt_u32(l, s, "nfqueue", "queue_maxlen", 1, 1 << 24, &c->queue_maxlen) == -1 ||
	    opt_u32(l, s, "nfqueue", "rcvbuf", 4096, 1 << 30, &c->rcvbuf) == -1 ||
	    opt_u32(l, s, "nfqueue", "bypass_mark", 1, 0xffffffffLL, &c->bypass_mark) == -1 ||
	    opt_u32(l, s, "nfqueue", "inspect_mark", 0, 0xffffffffLL, &c->inspect_mark) == -1 ||
	    opt_str(l, s, "nfqueue", "user", 1, c->user, sizeof(c->user)) == -1)
		return -1;
	if ((c->inspect_mark & c->bypass_mark) != 0)
		return ld_err(l, member(s, "inspect_mark") ? member(s, "inspect_mark") : s,
		    "nfqueue.inspect_mark 0x%x shares bits with bypass_mark 0x%x",
		    c->inspect_mark, c->bypass_mark);
	return 0;
}

/* Where and how to reach Redis: URL under url_key, user, password or
 * password_file, timeout (ms). Shared by cluster and outputs.redis. */
static int
ld_redis(struct ld *l, const config_setting_t *s, const char *section, const char *url_key,
    struct gw_redis_conf *rc)
{
	char pwfile[GW_PATH_MAX] = "", perr[512];

	if (member(s, url_key) == NULL)
		return ld_err(l, s, "%s: \"%s\" (the Redis server's address) is required", section,
		    url_key);
	if (opt_str(l, s, section, url_key, 0, rc->url, sizeof(rc->url)) == -1 ||
	    opt_str(l, s, section, "user", 1, rc->user, sizeof(rc->user)) == -1 ||
	    opt_str(l, s, section, "password", 1, rc->password, sizeof(rc->password)) == -1 ||
	    opt_str(l, s, section, "password_file", 1, pwfile, sizeof(pwfile)) == -1 ||
	    opt_u32(l, s, section, "timeout", 10, 60000, &rc->timeout_ms) == -1)
		return -1;
	if (gw_redis_url_check(rc->url, perr, sizeof(perr)) == -1)
		return ld_err(l, member(s, url_key), "%s.%s: %s", section, url_key, perr);
	if (pwfile[0] != '\0') {
		FILE *fp;
		size_t n;

		if (rc->password[0] != '\0')
			return ld_err(l, member(s, "password_file"),
			    "%s: password and password_file both set", section);
		if ((fp = fopen(pwfile, "r")) == NULL)
			return ld_err(l, member(s, "password_file"), "%s.password_file: %s: %s",
			    section, pwfile, strerror(errno));
		n = fread(rc->password, 1, sizeof(rc->password) - 1, fp);
		fclose(fp);
		rc->password[n] = '\0';
		rc->password[strcspn(rc->password, "\r\n")] = '\0';
		if (rc->password[0] == '\0')
			return ld_err(l, member(s, "password_file"), "%s.password_file: %s is empty",
			    section, pwfile);
	}
	if (rc->user[0] != '\0' && rc->password[0] == '\0')
		return ld_err(l, member(s, "user"), "%s.user needs a password", section);
	return 0;
}

/* cluster = { enabled; redis = "..."; user; password | password_file; id;
 * prefix; channel; queue; timeout; backoff_max; }; */
static int
ld_cluster(struct ld *l, const config_setting_t *s)
{
	static const char *const known[] = { "enabled", "redis", "user", "password", "password_file",
	    "id", "prefix", "channel", "queue", "timeout", "backoff_max", NULL };
	struct gw_cluster_conf *cc = &l->c->cluster;
	const config_setting_t *m;
	int on = 1;

	if (need_group(l, s, "cluster") == -1)
		return -1;
	ld_unknown_keys(l, s, "cluster", known);
	if ((m = member(s, "enabled")) != NULL && get_bool(l, m, "cluster.enabled", &on) == -1)
		return -1;
	if (!on)
		return 0;
	if (ld_redis(l, s, "cluster", "redis", &cc->redis) == -1 ||
	    opt_str(l, s, "cluster", "id", 0, cc->id, sizeof(cc->id)) == -1 ||
	    opt_str(l, s, "cluster", "prefix", 0, cc->prefix, sizeof(cc->prefix)) == -1 ||
	    opt_str(l, s, "cluster", "channel", 0, cc->channel, sizeof(cc->channel)) == -1 ||
	    opt_u32(l, s, "cluster", "queue", 1, 1 << 20, &cc->queue) == -1 ||
	    opt_u32(l, s, "cluster", "backoff_max", 100, 3600000, &cc->backoff_max_ms) == -1)
		return -1;
	if (!gw_fact_origin_ok(cc->id))
		return ld_err(l, member(s, "id"), "cluster.id: 1 to %d of letters, digits, "
		    "'.', '_', ':', '/', '-'", GW_FACT_ORIGIN_MAX);
	for (const char *p = cc->prefix; *p; p++)
		if (*p <= ' ' || *p > '~' || *p == '*' || *p == '?' || *p == '[' || *p == '\\')
			return ld_err(l, member(s, "prefix"), "cluster.prefix: printable, "
			    "without spaces or glob characters (* ? [ \\)");
	if (cc->channel[0] == '\0')
		snprintf(cc->channel, sizeof(cc->channel), "%sfacts", cc->prefix);
	cc->enabled = 1;
	return 0;
}

/* outputs.redis = { server; mode; key; user; password | password_file;
 * timeout; queue_bytes; stream_maxlen; events; }; */
static int
ld_eve_redis(struct ld *l, const config_setting_t *s)
{
	static const char *const known[] = { "enabled", "server", "mode", "key", "user",
	    "password", "password_file", "timeout", "queue_bytes", "stream_maxlen", "events", NULL };
	struct gw_eve_redis_conf *ec = &l->c->eve_redis;
	const config_setting_t *m;
	char mode[16] = "";
	int on = 1;

	if (need_group(l, s, "outputs.redis") == -1)
		return -1;
	ld_unknown_keys(l, s, "outputs.redis", known);
	if ((m = member(s, "enabled")) != NULL && get_bool(l, m, "outputs.redis.enabled", &on) == -1)
		return -1;
	if (!on)
		return 0;
	if (ld_redis(l, s, "outputs.redis", "server", &ec->redis) == -1 ||
	    opt_str(l, s, "outputs.redis", "mode", 0, mode, sizeof(mode)) == -1 ||
	    opt_str(l, s, "outputs.redis", "key", 0, ec->key, sizeof(ec->key)) == -1 ||
	    opt_u32(l, s, "outputs.redis", "queue_bytes", 65536, 1u << 30, &ec->queue_bytes) == -1 ||
	    opt_u32(l, s, "outputs.redis", "stream_maxlen", 1, 1u << 30, &ec->stream_maxlen) == -1)
		return -1;
	if (mode[0] != '\0' && (ec->mode = gw_eve_redis_mode_parse(mode)) == -1)
		return ld_err(l, member(s, "mode"), "outputs.redis.mode: \"%s\": list, lpush, rpush, "
		    "channel, publish, stream or xadd", mode);
	if ((m = member(s, "events")) != NULL) {
		if (config_setting_type(m) != CONFIG_TYPE_ARRAY && config_setting_type(m) != CONFIG_TYPE_LIST)
			return ld_err(l, m, "outputs.redis.events: expected a list like [ \"alert\" ]");
		ec->events = 0;
		for (int i = 0; i < config_setting_length(m); i++) {
			const char *v;
			if (get_str(l, config_setting_get_elem(m, (unsigned)i), "outputs.redis.events",
			    0, &v) == -1)
				return -1;
			if (strcmp(v, "alert") == 0)
				ec->events |= 1;
			else if (strcmp(v, "flow") == 0)
				ec->events |= 2;
			else if (strcmp(v, "stats") == 0)
				ec->events |= 4;
			else
				return ld_err(l, m, "outputs.redis.events: unknown event \"%s\" (alert, flow, stats)", v);
		}
	}
	ec->enabled = 1;
	return 0;
}

/* One element of policy.rules. */
static int
ld_rule(struct ld *l, const config_setting_t *r, int idx, uint16_t def_min_tls)
{
	static const char *const known[] = { "match", "domain", "mxs", "mode",
	    "min_tls", NULL };
	const config_setting_t *m, *d, *x;
	enum pol_mode mode;
	uint16_t min_tls = def_min_tls;
	const char *cidr = NULL;
	char what[64], perr[256];

	snprintf(what, sizeof(what), "policy.rules[%d]", idx);
	if (need_group(l, r, what) == -1)
		return -1;
	ld_unknown_keys(l, r, what, known);
	m = member(r, "match");
	d = member(r, "domain");
	if (m == NULL && d == NULL)
		return ld_err(l, r, "%s: a rule needs match = \"CIDR\" or domain = \"name\"", what);
	if (m != NULL && d != NULL)
		return ld_err(l, r, "%s: a rule has either match or domain, not both", what);
	if ((x = member(r, "mode")) == NULL)
		return ld_err(l, r, "%s: missing mode (enforce, testing or none)", what);
	snprintf(what, sizeof(what), "policy.rules[%d].mode", idx);
	if (get_mode(l, x, what, &mode) == -1)
		return -1;
	if ((x = member(r, "min_tls")) != NULL) {
		snprintf(what, sizeof(what), "policy.rules[%d].min_tls", idx);
		if (get_tls(l, x, what, &min_tls) == -1)
			return -1;
	}
	if (m != NULL) {
		snprintf(what, sizeof(what), "policy.rules[%d].match", idx);
		if (get_str(l, m, what, 0, &cidr) == -1)
			return -1;
		if (member(r, "mxs") != NULL)
			return ld_err(l, member(r, "mxs"), "policy.rules[%d]: mxs belongs to domain rules", idx);
		if (pol_add_cidr(l->c->pol, cidr, mode, min_tls, perr, sizeof(perr)) == -1)
			return ld_err(l, m, "%s: %s", what, perr);
		return 0;
	}
	/* Domain rule: a config-sourced domain policy. */
	const char *mxs[POL_DOMAIN_MX_MAX];
	struct pol_domain_entry e;
	struct pol_domain *dom;
	int n = 0, rc;

	snprintf(what, sizeof(what), "policy.rules[%d].domain", idx);
	if (get_str(l, d, what, 0, &cidr) == -1)
		return -1;
	if ((x = member(r, "mxs")) != NULL) {
		int t = config_setting_type(x);

		if (t != CONFIG_TYPE_ARRAY && t != CONFIG_TYPE_LIST)
			return ld_err(l, x, "policy.rules[%d].mxs: expected a list of names like [ \"mx.example.net\" ], got %s",
			    idx, type_name(x));
		n = config_setting_length(x);
		if (n > POL_DOMAIN_MX_MAX)
			return ld_err(l, x, "policy.rules[%d].mxs: more than %d patterns", idx,
			    POL_DOMAIN_MX_MAX);
		for (int i = 0; i < n; i++) {
			snprintf(what, sizeof(what), "policy.rules[%d].mxs[%d]", idx, i);
			if (get_str(l, config_setting_get_elem(x, (unsigned)i), what, 0, &mxs[i]) == -1)
				return -1;
		}
	}
	if ((dom = ld_domains(l)) == NULL)
		return ld_err(l, d, "out of memory");
	memset(&e, 0, sizeof(e));
	e.domain = cidr;
	e.mode = mode;
	e.source = POL_SRC_CONFIG;
	e.min_tls = min_tls;
	e.n_mx = (size_t)n;
	e.mx = mxs;
	if ((rc = pol_domain_add(dom, &e, NULL, perr, sizeof(perr))) == -1)
		return ld_err(l, d, "policy.rules[%d]: %s", idx, perr);
	if (rc == 1)
		ld_warn(l, d, "policy.rules[%d]: domain %s defined twice; the first rule is kept",
		    idx, cidr);
	return 0;
}

/* The first MTA-STS policy to expire, 0 when none is loaded: the metrics
 * warn before the cache runs dry (sts-fetch not refreshing it). */
static int64_t
sts_earliest_expiry(const struct pol_domain *dom)
{
	int64_t first = 0;

	for (size_t i = 0; i < pol_domain_count(dom); i++) {
		const struct pol_domain_entry *e = pol_domain_at(dom, i);

		if (e->source == POL_SRC_MTA_STS && e->expires != 0 &&
		    (first == 0 || e->expires < first))
			first = e->expires;
	}
	return first;
}

/* discovery = { dane = { mode = "enforce"; dir = "..."; trust_anchor = "...";
 * resolv_conf = "..."; }; }: only the dane group is read here. */
static int
ld_dane(struct ld *l, const config_setting_t *s)
{
	static const char *const known[] = { "mode", "dir", "trust_anchor", "resolv_conf", NULL };
	struct gw_config *c = l->c;
	const config_setting_t *m;

	if (need_group(l, s, "discovery.dane") == -1)
		return -1;
	ld_unknown_keys(l, s, "discovery.dane", known);
	if ((m = member(s, "mode")) != NULL && get_mode(l, m, "discovery.dane.mode", &c->dane_mode) == -1)
		return -1;
	if (opt_str(l, s, "discovery.dane", "dir", 0, c->dane_dir, sizeof(c->dane_dir)) == -1 ||
	    opt_str(l, s, "discovery.dane", "trust_anchor", 0, c->dane_anchor,
	    sizeof(c->dane_anchor)) == -1 ||
	    opt_str(l, s, "discovery.dane", "resolv_conf", 0, c->dane_resolv,
	    sizeof(c->dane_resolv)) == -1)
		return -1;
	return 0;
}

/* The DANE cache: policies of source dane and their TLSA records. A
 * directory not there yet costs its policies (first boot), like the
 * MTA-STS cache. */
static int
ld_dane_dir(struct ld *l, const config_setting_t *s, struct pol_domain *dom, int64_t now,
    struct pol_warnings *w)
{
	struct gw_config *c = l->c;
	struct pol_dane *tab;
	char perr[GW_PATH_MAX + 512];

	if (access(c->dane_dir, F_OK) == -1 && errno == ENOENT) {
		ld_warn(l, s, "discovery.dane.dir: %s does not exist; skipped", c->dane_dir);
		return 0;
	}
	if ((tab = pol_dane_new()) == NULL)
		return ld_err(l, s, "out of memory");
	if (gw_dane_load_dir(dom, tab, c->dane_dir, c->dane_mode, now, &c->dane, w, perr,
	    sizeof(perr)) == -1) {
		pol_dane_free(tab);
		return ld_err(l, s, "discovery.dane.dir: %s", perr);
	}
	if (c->dane.bogus > 0)
		ld_warn(l, s, "discovery.dane.dir: %zu domain(s) with bogus DNSSEC answers "
		    "(dnssec-invalid): no DANE policy from them", c->dane.bogus);
	pol_set_dane(c->pol, tab);
	return 0;
}

/* Load the EFF list and the MTA-STS cache named by the policy section, and
 * hand every domain policy to the struct pol. */
static int
ld_sources(struct ld *l, const config_setting_t *s)
{
	char msgs[16][POL_WARN_LEN], perr[GW_PATH_MAX + 512];
	struct gw_config *c = l->c;
	struct pol_warnings w;
	struct pol_domain *dom;
	int64_t now = (int64_t)time(NULL);

	if ((dom = ld_domains(l)) == NULL)
		return ld_err(l, s, "out of memory");
	pol_warn_init(&w, msgs, 16);
	/* A source named but not there yet (first boot, before the first
	 * fetch) costs its policies, not the gateway: warn and go on. A
	 * source that is there but broken is refused below. */
	if (c->eff_list[0] != '\0' && access(c->eff_list, F_OK) == -1 && errno == ENOENT) {
		ld_warn(l, member(s, "eff_list"), "policy.eff_list: %s does not exist; skipped",
		    c->eff_list);
		c->eff_list[0] = '\0';
	}
	if (c->mta_sts_dir[0] != '\0' && access(c->mta_sts_dir, F_OK) == -1 && errno == ENOENT) {
		ld_warn(l, member(s, "mta_sts_dir"), "policy.mta_sts_dir: %s does not exist; skipped",
		    c->mta_sts_dir);
		c->mta_sts_dir[0] = '\0';
	}
	if (c->eff_list[0] != '\0') {
		struct pol_eff_info info;

		if (gw_polsrc_eff(dom, c->eff_list, now, 0, c->eff_keep_enforce, &info, &w,
		    perr, sizeof(perr)) == -1)
			return ld_err(l, member(s, "eff_list"), "policy.eff_list: %s", perr);
		c->eff_timestamp = info.timestamp;
		c->eff_expired = info.expired; /* the loader warned, naming the date */
		c->eff_expires = info.expires;
	}
	if (c->mta_sts_dir[0] != '\0') {
		size_t n;

		if (gw_polsrc_sts_dir(dom, c->mta_sts_dir, now, &n, &w, perr, sizeof(perr)) == -1)
			return ld_err(l, member(s, "mta_sts_dir"), "policy.mta_sts_dir: %s", perr);
	}
	if (c->dane_dir[0] != '\0' && ld_dane_dir(l, s, dom, now, &w) == -1)
		return -1;
	for (size_t i = 0; i < w.n; i++)
		ld_warn(l, s, "%s", w.msg[i]);
	for (int src = 0; src < POL_SRC_COUNT; src++)
		c->n_domains[src] = pol_domain_count_src(dom, (enum pol_source)src);
	c->sts_expires = sts_earliest_expiry(dom);
	if (pol_set_domains(c->pol, dom) == -1)
		return ld_err(l, s, "out of memory");
	l->dom = NULL; /* the policy owns it now */
	return 0;
}

/* policy = { default = {...}; rules = (...); ... }; */
static int
ld_policy(struct ld *l, const config_setting_t *s)
{
	static const char *const known[] = { "default", "rules", "eff_list",
	    "eff_keep_enforce", "mta_sts_dir", "pins", "ca_file", "learn_dns", NULL };
	static const char *const known_def[] = { "mode", "min_tls", NULL };
	static const char *const known_pins[] = { "file", "max_age", "mode", "max", NULL };
	struct gw_config *c = l->c;
	enum pol_mode mode = POL_MODE_TESTING;
	uint16_t min_tls = POL_TLS_1_2;
	const config_setting_t *d, *x;

	if (need_group(l, s, "policy") == -1)
		return -1;
	ld_unknown_keys(l, s, "policy", known);
	if ((d = member(s, "default")) != NULL) {
		if (need_group(l, d, "policy.default") == -1)
			return -1;
		ld_unknown_keys(l, d, "policy.default", known_def);
		if ((x = member(d, "mode")) != NULL &&
		    get_mode(l, x, "policy.default.mode", &mode) == -1)
			return -1;
		if ((x = member(d, "min_tls")) != NULL &&
		    get_tls(l, x, "policy.default.min_tls", &min_tls) == -1)
			return -1;
	}
	pol_set_default(l->c->pol, mode, min_tls);
	if ((x = member(s, "rules")) != NULL) {
		int t = config_setting_type(x), n;

		if (t != CONFIG_TYPE_LIST && !(t == CONFIG_TYPE_ARRAY && config_setting_length(x) == 0))
			return ld_err(l, x, "policy.rules: expected a list ( { ... }, ... ), got %s",
			    type_name(x));
		n = config_setting_length(x);
		for (int i = 0; i < n; i++)
			if (ld_rule(l, config_setting_get_elem(x, (unsigned)i), i, min_tls) == -1)
				return -1;
	}
	if (opt_str(l, s, "policy", "eff_list", 0, c->eff_list, sizeof(c->eff_list)) == -1 ||
	    opt_str(l, s, "policy", "mta_sts_dir", 0, c->mta_sts_dir, sizeof(c->mta_sts_dir)) == -1 ||
	    opt_str(l, s, "policy", "ca_file", 0, c->ca_file, sizeof(c->ca_file)) == -1)
		return -1;
	if ((x = member(s, "eff_keep_enforce")) != NULL &&
	    get_bool(l, x, "policy.eff_keep_enforce", &c->eff_keep_enforce) == -1)
		return -1;
	if ((x = member(s, "learn_dns")) != NULL) {
		int on;

		if (get_bool(l, x, "policy.learn_dns", &on) == -1)
			return -1;
		c->engine.learn_dns = (uint8_t)on;
	}
	if ((x = member(s, "pins")) != NULL) {
		long long v;

		if (need_group(l, x, "policy.pins") == -1)
			return -1;
		ld_unknown_keys(l, x, "policy.pins", known_pins);
		if (opt_str(l, x, "policy.pins", "file", 0, c->pins_file, sizeof(c->pins_file)) == -1)
			return -1;
		if ((d = member(x, "max_age")) != NULL) {
			if (get_int(l, d, "policy.pins.max_age", 0, 0x7fffffffLL, &v) == -1)
				return -1;
			c->engine.pins_max_age = (uint32_t)v;
		}
		if ((d = member(x, "max")) != NULL) {
			if (get_int(l, d, "policy.pins.max", 1, POL_PINS_MAX_CONF, &v) == -1)
				return -1;
			c->engine.pins_max = (uint32_t)v;
		}
		if ((d = member(x, "mode")) != NULL) {
			enum pol_mode pm;

			if (get_mode(l, d, "policy.pins.mode", &pm) == -1)
				return -1;
			c->engine.pins_mode = (uint8_t)pm;
		}
	}
	return ld_sources(l, s);
}

int
gw_config_default(struct gw_config *c)
{
	memset(c, 0, sizeof(*c));
	gw_engine_conf_default(&c->engine);
	if (c->engine.nports == 0) {
		c->engine.ports[0] = 25;
		c->engine.nports = 1;
	}
	if ((c->pol = pol_new()) == NULL)
		return -1;
	pol_set_default(c->pol, POL_MODE_TESTING, POL_TLS_1_2);
	snprintf(c->eve_path, sizeof(c->eve_path), "-");
	c->eve_enabled = 1;
	gw_syslog_conf_default(&c->syslog);
	c->evidence.ring_bytes = GW_EVIDENCE_RING_DEFAULT;
	c->evidence.max_files = GW_EVIDENCE_FILES_DEFAULT;
	c->evidence.max_bytes = GW_EVIDENCE_BYTES_DEFAULT;
	c->metrics_interval = GW_METRICS_INTERVAL_DEFAULT;
	c->fail_open = 1;
	c->queue_maxlen = 4096;
	c->rcvbuf = 8u << 20;
	c->bypass_mark = GW_BYPASS_MARK_DEFAULT;
	c->inspect_mark = GW_INSPECT_MARK_DEFAULT;
	c->user[0] = '\0';
	gw_cluster_conf_default(&c->cluster);
	gw_eve_redis_conf_default(&c->eve_redis);
	c->dane_mode = POL_MODE_ENFORCE;
	return 0;
}

int
gw_config_load(const char *path, struct gw_config *c, char *err, size_t errlen)
{
	static const char *const known[] = { "ports", "eve", "engine", "nfqueue",
	    "policy", "outputs", "cluster", "discovery", NULL };
	struct gw_config nc;
	struct ld l = { path, err, errlen, &nc, NULL };
	config_t cfg;
	config_setting_t *root, *s;
	FILE *fp;
	int rc = -1;

	if (errlen > 0)
		err[0] = '\0';
	if (path == NULL || *path == '\0') {
		snprintf(err, errlen, "no configuration file named");
		return -1;
	}
	/* libconfig reports I/O errors without errno: look first. */
	if ((fp = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
		return -1;
	}
	fclose(fp);
	if (gw_config_default(&nc) == -1) {
		snprintf(err, errlen, "%s: out of memory", path);
		return -1;
	}
	config_init(&cfg);
	{
		/* @include "x" is relative to the including file's directory. */
		char dir[GW_PATH_MAX];
		const char *slash = strrchr(path, '/');

		if (slash != NULL && (size_t)(slash - path) < sizeof(dir)) {
			memcpy(dir, path, (size_t)(slash - path));
			dir[slash - path] = '\0';
			config_set_include_dir(&cfg, dir[0] ? dir : "/");
		}
	}
	if (config_read_file(&cfg, path) != CONFIG_TRUE) {
		const char *file = config_error_file(&cfg);

		if (config_error_type(&cfg) == CONFIG_ERR_FILE_IO)
			snprintf(err, errlen, "%s: cannot read the file (or an @include in it)",
			    file ? file : path);
		else
			snprintf(err, errlen, "%s:%d: %s", file ? file : path,
			    config_error_line(&cfg), config_error_text(&cfg));
		goto out;
	}
	root = config_root_setting(&cfg);
	ld_unknown_keys(&l, root, "", known);
	if ((s = config_setting_get_member(root, "ports")) != NULL && ld_ports(&l, s) == -1)
		goto out;
	if ((s = config_setting_get_member(root, "eve")) != NULL && ld_eve(&l, s) == -1)
		goto out;
	if ((s = config_setting_get_member(root, "engine")) != NULL && ld_engine(&l, s) == -1)
		goto out;
	if ((s = config_setting_get_member(root, "nfqueue")) != NULL && ld_nfqueue(&l, s) == -1)
		goto out;
	/* Before the policy: its sources include the DANE cache. */
	if ((s = config_lookup(&cfg, "discovery.dane")) != NULL && ld_dane(&l, s) == -1)
		goto out;
	if ((s = config_setting_get_member(root, "policy")) != NULL && ld_policy(&l, s) == -1)
		goto out;
	if ((s = config_setting_get_member(root, "outputs")) != NULL && ld_outputs(&l, s) == -1)
		goto out;
	if ((s = config_setting_get_member(root, "cluster")) != NULL && ld_cluster(&l, s) == -1)
		goto out;
	rc = 0;
out:
	config_destroy(&cfg);
	pol_domain_free(l.dom);
	if (rc == 0)
		*c = nc;
	else
		gw_config_free(&nc);
	return rc;
}

int
gw_config_check_reload(const struct gw_config *old, const struct gw_config *nc,
    char *err, size_t errlen)
{
	if (old->eff_timestamp != 0 && nc->eff_timestamp != 0 &&
	    nc->eff_timestamp < old->eff_timestamp) {
		snprintf(err, errlen, "%s: the list's timestamp goes backwards "
		    "(older than the one in force): refused", nc->eff_list);
		return -1;
	}
	return 0;
}

void
gw_config_free(struct gw_config *c)
{
	if (c == NULL)
		return;
	pol_free(c->pol);
	c->pol = NULL;
}

void
gw_config_metrics(const struct gw_config *c, struct gw_metrics_cfg *m)
{
	memset(m, 0, sizeof(*m));
	m->interval = c->metrics_interval;
	memcpy(m->n_domains, c->n_domains, sizeof(m->n_domains));
	m->rules = pol_rule_count(c->pol);
	m->eff_expired = c->eff_expired;
	m->eff_expires = c->eff_expires;
	m->sts_expires = c->sts_expires;
	m->dane_bogus = c->dane.bogus;
	m->dane_hosts = c->dane.hosts;
}
