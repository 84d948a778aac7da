/*
 * gw_report.c - RFC 8460 TLS-RPT aggregate reports from an EVE file.
 *
 * One pass over the EVE lines: alert and flow events update per-session
 * state (a hash of sessions) and per-(domain, day) counters; at the end each
 * (domain, day) becomes one JSON report file. Sessions are remembered for
 * the whole run (an alert may follow its flow event), about 100 bytes each.
 * Everything read from the file is data: names from it are sanitised before
 * they become file names. See gw_report.h for the counting rules.
 */
#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "gw_log.h"
#include "gw_report.h"

#define PROG "starttls-guard report"
#define DAY_SECONDS 86400

/* Where a session was counted. */
struct sess {
	size_t  group;   /* index into groups */
	size_t  pol;     /* index into that group's policies */
	uint8_t failed;  /* an alert counted it as a failure */
	uint8_t success; /* its flow event counted it as a success */
};

/* One failure-details entry. */
struct detail {
	char         *result;  /* result-type (alert.tlsrpt) */
	char         *code;    /* failure-reason-code (alert.signature) */
	char         *src;     /* sending-mta-ip */
	char         *mx;      /* receiving-mx-hostname, NULL when unknown */
	char         *dst;     /* receiving-ip */
	unsigned long count;   /* failed-session-count */
};

/* One policies[] entry of a report. */
struct rpol {
	char          *type;   /* policy-type */
	char          *mode;   /* the policy's mode, part of policy-string */
	json_t        *mxs;    /* MX patterns (array) from the events, or NULL */
	unsigned long  ok;     /* total-successful-session-count */
	unsigned long  fail;   /* total-failure-session-count */
	struct detail *d;      /* failure-details */
	size_t         nd, cd; /* used, allocated */
};

/* One report: a policy domain on one UTC day. */
struct group {
	char        *domain;
	long         day;      /* days since the epoch (UTC) */
	struct rpol *p;
	size_t       np, cp;
};

/* String -> index hash, open addressing. */
struct map {
	char  **key;
	size_t *val;
	size_t  n, cap;        /* cap is a power of two */
};

/* Everything one run accumulates. */
struct rep {
	struct map    gmap;    /* "domain\nday" -> group index */
	struct map    smap;    /* session key -> session index */
	struct group *g;
	size_t        ng, cg;
	struct sess  *s;
	size_t        ns, cs;
};

/* Abort on allocation failure: a report run has nothing to save. */
static void *
xrealloc(void *p, size_t n, size_t size)
{
	if (size != 0 && n > SIZE_MAX / size)
		fatalx("out of memory");
	if ((p = realloc(p, n * size)) == NULL)
		fatal("realloc");
	return p;
}

static char *
xstrdup(const char *s)
{
	char *d = strdup(s);

	if (d == NULL)
		fatal("strdup");
	return d;
}

/* Grow an array of *cap elements to hold n + 1. */
#define GROW(arr, n, cap) do {                                          \
	if ((n) == (cap)) {                                             \
		(cap) = (cap) ? 2 * (cap) : 8;                          \
		(arr) = xrealloc((arr), (cap), sizeof(*(arr)));         \
	}                                                               \
} while (0)

/* FNV-1a. */
static size_t
hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return (size_t)h;
}

/* Slot of key in m: its own, or the empty one where it would go. */
static size_t
map_slot(const struct map *m, const char *key)
{
	size_t i = hash(key) & (m->cap - 1);

	while (m->key[i] != NULL && strcmp(m->key[i], key) != 0)
		i = (i + 1) & (m->cap - 1);
	return i;
}

/* Index stored for key, or SIZE_MAX. */
static size_t
map_get(const struct map *m, const char *key)
{
	size_t i;

	if (m->cap == 0)
		return SIZE_MAX;
	i = map_slot(m, key);
	return m->key[i] != NULL ? m->val[i] : SIZE_MAX;
}

/* Store key -> val (key not present yet). */
static void
map_put(struct map *m, const char *key, size_t val)
{
	size_t i;

	if (2 * (m->n + 1) > m->cap) {
		struct map old = *m;

		m->cap = m->cap ? 2 * m->cap : 64;
		m->key = calloc(m->cap, sizeof(*m->key));
		m->val = calloc(m->cap, sizeof(*m->val));
		if (m->key == NULL || m->val == NULL)
			fatal("calloc");
		for (size_t j = 0; j < old.cap; j++)
			if (old.key[j] != NULL) {
				i = map_slot(m, old.key[j]);
				m->key[i] = old.key[j];
				m->val[i] = old.val[j];
			}
		free(old.key);
		free(old.val);
	}
	i = map_slot(m, key);
	m->key[i] = xstrdup(key);
	m->val[i] = val;
	m->n++;
}

static void
map_free(struct map *m)
{
	for (size_t i = 0; i < m->cap; i++)
		free(m->key[i]);
	free(m->key);
	free(m->val);
}

/* A string member of obj (obj may be NULL), NULL when absent or not a string. */
static const char *
jstr(const json_t *obj, const char *name)
{
	const json_t *v = json_object_get(obj, name);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

/* A string member, "" when absent. */
static const char *
jstr0(const json_t *obj, const char *name)
{
	const char *s = jstr(obj, name);

	return s != NULL ? s : "";
}

/* EVE time "2026-11-28T12:00:00.061200+0000" (fraction optional, offset
 * +HHMM, +HH:MM or Z) -> seconds since the epoch. -1 when malformed. */
static long long
parse_time(const char *s)
{
	struct tm tm;
	const char *p;
	int sign, oh, om;
	long long t;

	memset(&tm, 0, sizeof(tm));
	if ((p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm)) == NULL)
		return -1;
	if (*p == '.')
		for (p++; *p >= '0' && *p <= '9'; p++)
			;
	t = (long long)timegm(&tm);
	if (*p == 'Z' && p[1] == '\0')
		return t;
	if ((*p != '+' && *p != '-'))
		return -1;
	sign = *p == '-' ? -1 : 1;
	if (sscanf(p + 1, "%2d%2d", &oh, &om) != 2 && sscanf(p + 1, "%2d:%2d", &oh, &om) != 2)
		return -1;
	return t - sign * (oh * 3600LL + om * 60LL);
}

/* "YYYY-MM-DD" of a day number. */
static void
day_str(long day, char *buf, size_t len)
{
	time_t t = (time_t)day * DAY_SECONDS;
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%d", &tm);
}

/* RFC 8460 policy-type for an EVE policy.source. */
static const char *
policy_type(const char *source)
{
	if (strcmp(source, "mta-sts") == 0)
		return "sts";
	if (strcmp(source, "dane") == 0 || strcmp(source, "tlsa") == 0)
		return "tlsa";
	return "no-policy-found";
}

/* Find or add the (domain, day) group and its policy entry for event ev. */
static void
locate(struct rep *r, const json_t *ev, long day, size_t *gi, size_t *pi)
{
	const json_t *pol = json_object_get(ev, "policy");
	const char *domain = jstr0(pol, "domain");
	const char *type = policy_type(jstr0(pol, "source"));
	const char *mode = jstr0(pol, "mode");
	char key[1024];
	struct group *g;

	if (*domain == '\0')
		domain = jstr0(pol, "match");
	if (*domain == '\0')
		domain = jstr0(ev, "dest_ip");
	snprintf(key, sizeof(key), "%.900s\n%ld", domain, day);
	if ((*gi = map_get(&r->gmap, key)) == SIZE_MAX) {
		GROW(r->g, r->ng, r->cg);
		*gi = r->ng++;
		memset(&r->g[*gi], 0, sizeof(r->g[*gi]));
		r->g[*gi].domain = xstrdup(domain);
		r->g[*gi].day = day;
		map_put(&r->gmap, key, *gi);
	}
	g = &r->g[*gi];
	for (*pi = 0; *pi < g->np; (*pi)++)
		if (strcmp(g->p[*pi].type, type) == 0 && strcmp(g->p[*pi].mode, mode) == 0)
			return;
	GROW(g->p, g->np, g->cp);
	*pi = g->np++;
	memset(&g->p[*pi], 0, sizeof(g->p[*pi]));
	g->p[*pi].type = xstrdup(type);
	g->p[*pi].mode = xstrdup(mode);
	if (json_is_array(json_object_get(pol, "mxs")))
		g->p[*pi].mxs = json_deep_copy(json_object_get(pol, "mxs"));
}

/* Session of event ev: existing, or new (counted in ev's group). */
static struct sess *
session(struct rep *r, const json_t *ev, long day)
{
	char key[512];
	size_t i;

	snprintf(key, sizeof(key), "%lld|%s|%lld|%s|%lld",
	    (long long)json_integer_value(json_object_get(ev, "flow_id")),
	    jstr0(ev, "src_ip"), (long long)json_integer_value(json_object_get(ev, "src_port")),
	    jstr0(ev, "dest_ip"), (long long)json_integer_value(json_object_get(ev, "dest_port")));
	if ((i = map_get(&r->smap, key)) == SIZE_MAX) {
		GROW(r->s, r->ns, r->cs);
		i = r->ns++;
		memset(&r->s[i], 0, sizeof(r->s[i]));
		locate(r, ev, day, &r->s[i].group, &r->s[i].pol);
		map_put(&r->smap, key, i);
	}
	return &r->s[i];
}

/* Is s a plausible host name (letters, digits, '-', '.', one dot at least)? */
static int
hostname_like(const char *s, size_t n)
{
	int dot = 0;

	if (n == 0 || n > 253)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (c == '.')
			dot = 1;
		else if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '_'))
			return 0;
	}
	return dot;
}

/* The receiving MX host name the event tells: tls.sni, the policy's
 * mx_host, or the first word of the greeting (RFC 5321 4.3.1: the server's
 * own name). Written into buf; NULL when none. */
static const char *
mx_name(const json_t *ev, char *buf, size_t len)
{
	const char *s = jstr(json_object_get(ev, "tls"), "sni");
	size_t n;

	if (s == NULL || *s == '\0')
		s = jstr(json_object_get(ev, "policy"), "mx_host");
	if (s == NULL || *s == '\0') {
		s = jstr(json_object_get(ev, "smtp"), "banner");
		if (s == NULL)
			return NULL;
		n = strcspn(s, " ");
		if (!hostname_like(s, n) || n >= len)
			return NULL;
		memcpy(buf, s, n);
		buf[n] = '\0';
		return buf;
	}
	snprintf(buf, len, "%s", s);
	return buf;
}

/* Count the first alert of a session as its failure. */
static void
on_alert(struct rep *r, const json_t *ev, long day)
{
	const json_t *al = json_object_get(ev, "alert");
	const char *result = jstr(al, "tlsrpt"), *code = jstr0(al, "signature");
	const char *src = jstr0(ev, "src_ip"), *dst = jstr0(ev, "dest_ip"), *mx;
	char mxbuf[256];
	struct sess *s;
	struct rpol *p;
	size_t i;

	if (result == NULL || strcmp(code, "inspection_limit") == 0)
		return;
	s = session(r, ev, day);
	if (s->failed)
		return;
	p = &r->g[s->group].p[s->pol];
	s->failed = 1;
	p->fail++;
	if (s->success) {
		s->success = 0;
		p->ok--;
	}
	mx = mx_name(ev, mxbuf, sizeof(mxbuf));
	for (i = 0; i < p->nd; i++) {
		struct detail *d = &p->d[i];

		if (strcmp(d->result, result) == 0 && strcmp(d->code, code) == 0 &&
		    strcmp(d->src, src) == 0 && strcmp(d->dst, dst) == 0 &&
		    (d->mx == NULL ? mx == NULL : mx != NULL && strcmp(d->mx, mx) == 0))
			break;
	}
	if (i == p->nd) {
		GROW(p->d, p->nd, p->cd);
		p->d[i].result = xstrdup(result);
		p->d[i].code = xstrdup(code);
		p->d[i].src = xstrdup(src);
		p->d[i].dst = xstrdup(dst);
		p->d[i].mx = mx != NULL ? xstrdup(mx) : NULL;
		p->d[i].count = 0;
		p->nd++;
	}
	p->d[i].count++;
}

/* A flow event with verdict tls and no alert is a successful session. */
static void
on_flow(struct rep *r, const json_t *ev, long day)
{
	struct sess *s;

	if (strcmp(jstr0(json_object_get(ev, "flow"), "verdict"), "tls") != 0)
		return;
	s = session(r, ev, day);
	if (s->failed || s->success)
		return;
	s->success = 1;
	r->g[s->group].p[s->pol].ok++;
}

/* Order of failure-details: by result, code, sending IP, MX, receiving IP. */
static int
detail_cmp(const void *a, const void *b)
{
	const struct detail *x = a, *y = b;
	int c;

	if ((c = strcmp(x->result, y->result)) != 0 || (c = strcmp(x->code, y->code)) != 0 ||
	    (c = strcmp(x->src, y->src)) != 0)
		return c;
	if ((c = strcmp(x->mx ? x->mx : "", y->mx ? y->mx : "")) != 0)
		return c;
	return strcmp(x->dst, y->dst);
}

/* The policies[] entry of one rpol. */
static json_t *
policy_json(const struct group *g, struct rpol *p)
{
	json_t *pol = json_object(), *details = json_array(), *o;

	o = json_object();
	json_object_set_new(o, "policy-type", json_string(p->type));
	if (strcmp(p->type, "no-policy-found") != 0) {
		json_t *ps = json_array();
		size_t i;
		json_t *mx;

		if (strcmp(p->type, "sts") == 0)
			json_array_append_new(ps, json_string("version: STSv1"));
		if (*p->mode != '\0') {
			char line[64];

			snprintf(line, sizeof(line), "mode: %s", p->mode);
			json_array_append_new(ps, json_string(line));
		}
		json_array_foreach(p->mxs, i, mx)
			if (json_is_string(mx)) {
				char line[300];

				snprintf(line, sizeof(line), "mx: %s", json_string_value(mx));
				json_array_append_new(ps, json_string(line));
			}
		json_object_set_new(o, "policy-string", ps);
	}
	json_object_set_new(o, "policy-domain", json_string(g->domain));
	if (p->mxs != NULL && json_array_size(p->mxs) > 0)
		json_object_set(o, "mx-host", p->mxs);
	json_object_set_new(pol, "policy", o);

	o = json_object();
	json_object_set_new(o, "total-successful-session-count", json_integer((json_int_t)p->ok));
	json_object_set_new(o, "total-failure-session-count", json_integer((json_int_t)p->fail));
	json_object_set_new(pol, "summary", o);

	if (p->nd > 1)
		qsort(p->d, p->nd, sizeof(*p->d), detail_cmp);
	for (size_t i = 0; i < p->nd; i++) {
		const struct detail *d = &p->d[i];

		o = json_object();
		json_object_set_new(o, "result-type", json_string(d->result));
		json_object_set_new(o, "sending-mta-ip", json_string(d->src));
		if (d->mx != NULL)
			json_object_set_new(o, "receiving-mx-hostname", json_string(d->mx));
		json_object_set_new(o, "receiving-ip", json_string(d->dst));
		json_object_set_new(o, "failed-session-count", json_integer((json_int_t)d->count));
		json_object_set_new(o, "failure-reason-code", json_string(d->code));
		json_array_append_new(details, o);
	}
	if (p->nd > 0)
		json_object_set_new(pol, "failure-details", details);
	else
		json_decref(details);
	return pol;
}

/* A file-name-safe copy of a domain: CIDR slashes, IPv6 colons (make and
 * other systems choke on them) and anything odd become '_'. */
static void
safe_name(const char *in, char *out, size_t len)
{
	size_t i;

	for (i = 0; in[i] != '\0' && i + 1 < len; i++) {
		char c = in[i];

		out[i] = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '.' || c == '-' ? c : '_';
	}
	out[i] = '\0';
	if (i == 0 || out[0] == '.')
		out[0] = '_';
	if (i == 0 && len > 1)
		out[1] = '\0';
}

/* Order of the reports: by domain, then day. */
static int
group_cmp(const void *a, const void *b)
{
	const struct group *x = a, *y = b;
	int c = strcmp(x->domain, y->domain);

	return c != 0 ? c : (x->day > y->day) - (x->day < y->day);
}

/* Write every report into dir. 0 or -1 (logged). */
static int
write_reports(struct rep *r, const char *dir, const char *org, const char *contact)
{
	if (r->ng > 1)
		qsort(r->g, r->ng, sizeof(*r->g), group_cmp);
	for (size_t gi = 0; gi < r->ng; gi++) {
		struct group *g = &r->g[gi];
		char date[16], start[32], end[32], id[600], name[300], path[4096];
		json_t *doc = json_object(), *dr = json_object(), *pols = json_array();

		day_str(g->day, date, sizeof(date));
		snprintf(start, sizeof(start), "%sT00:00:00Z", date);
		snprintf(end, sizeof(end), "%sT23:59:59Z", date);
		snprintf(id, sizeof(id), "%s_%.250s@%.250s", date, g->domain, org);
		safe_name(g->domain, name, sizeof(name));
		snprintf(path, sizeof(path), "%s/%s_%s.json", dir, name, date);

		json_object_set_new(doc, "organization-name", json_string(org));
		json_object_set_new(dr, "start-datetime", json_string(start));
		json_object_set_new(dr, "end-datetime", json_string(end));
		json_object_set_new(doc, "date-range", dr);
		json_object_set_new(doc, "contact-info", json_string(contact));
		json_object_set_new(doc, "report-id", json_string(id));
		for (size_t pi = 0; pi < g->np; pi++)
			json_array_append_new(pols, policy_json(g, &g->p[pi]));
		json_object_set_new(doc, "policies", pols);
		if (json_dump_file(doc, path, JSON_INDENT(2) | JSON_PRESERVE_ORDER) == -1) {
			log_err("%s: cannot write", path);
			json_decref(doc);
			return -1;
		}
		json_decref(doc);
		printf("%s\n", path);
	}
	return 0;
}

/* Read the EVE lines of fp (named path). 0, or -1 (logged). */
static int
read_eve(struct rep *r, FILE *fp, const char *path)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	unsigned long lineno = 0;
	int rc = 0;

	while ((n = getline(&line, &cap, fp)) != -1) {
		json_error_t jerr;
		json_t *ev;
		const char *type, *ts;
		long long t;

		lineno++;
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = '\0';
		if (n == 0)
			continue;
		if ((ev = json_loadb(line, (size_t)n, 0, &jerr)) == NULL || !json_is_object(ev)) {
			log_errx("%s:%lu: not an EVE JSON object: %s", path, lineno,
			    ev == NULL ? jerr.text : "not an object");
			json_decref(ev);
			rc = -1;
			break;
		}
		type = jstr0(ev, "event_type");
		if (strcmp(type, "alert") == 0 || strcmp(type, "flow") == 0) {
			if ((ts = jstr(ev, "timestamp")) == NULL || (t = parse_time(ts)) < 0 ||
			    jstr(ev, "dest_ip") == NULL) {
				log_errx("%s:%lu: %s event without a valid timestamp or dest_ip",
				    path, lineno, type);
				json_decref(ev);
				rc = -1;
				break;
			}
			if (*type == 'a')
				on_alert(r, ev, (long)(t / DAY_SECONDS));
			else
				on_flow(r, ev, (long)(t / DAY_SECONDS));
		}
		json_decref(ev);
	}
	if (rc == 0 && ferror(fp)) {
		log_err("%s: read error", path);
		rc = -1;
	}
	free(line);
	return rc;
}

/* Free everything a run accumulated. */
static void
rep_free(struct rep *r)
{
	for (size_t gi = 0; gi < r->ng; gi++) {
		struct group *g = &r->g[gi];

		for (size_t pi = 0; pi < g->np; pi++) {
			struct rpol *p = &g->p[pi];

			for (size_t i = 0; i < p->nd; i++) {
				free(p->d[i].result);
				free(p->d[i].code);
				free(p->d[i].src);
				free(p->d[i].mx);
				free(p->d[i].dst);
			}
			free(p->d);
			free(p->type);
			free(p->mode);
			json_decref(p->mxs);
		}
		free(g->p);
		free(g->domain);
	}
	free(r->g);
	free(r->s);
	map_free(&r->gmap);
	map_free(&r->smap);
}

/* Print the synopsis to fp. */
static void
usage(FILE *fp)
{
	fprintf(fp,
	    "usage: " PROG " [-o DIR] [--org NAME] [--contact ADDR] EVE_FILE\n"
	    "\n"
	    "  -o, --output DIR    where to write <domain>_<date>.json (default .)\n"
	    "      --org NAME      organization-name (default: this host's name)\n"
	    "      --contact ADDR  contact-info (default: postmaster@<host name>)\n"
	    "  -h, --help          print this help and exit\n"
	    "\n"
	    "EVE_FILE \"-\" reads standard input. One RFC 8460 report per policy\n"
	    "domain and UTC day; each file written is printed on standard output.\n");
}

int
gw_report_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "output",  required_argument, NULL, 'o' },
		{ "org",     required_argument, NULL, 'O' },
		{ "contact", required_argument, NULL, 'C' },
		{ "help",    no_argument,       NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *dir = ".", *org = NULL, *contact = NULL, *path;
	char host[256], contact_buf[300];
	struct rep r;
	FILE *fp;
	int ch, rc;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "o:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'o': dir = optarg; break;
		case 'O': org = optarg; break;
		case 'C': contact = optarg; break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (argc - optind != 1) {
		fprintf(stderr, PROG ": one EVE file is needed\n");
		usage(stderr);
		return 2;
	}
	path = argv[optind];
	if (gethostname(host, sizeof(host)) == -1 || host[0] == '\0')
		snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	if (org == NULL)
		org = host;
	if (contact == NULL) {
		snprintf(contact_buf, sizeof(contact_buf), "postmaster@%s", host);
		contact = contact_buf;
	}
	if (access(dir, W_OK) == -1) {
		log_err("%s", dir);
		return 1;
	}
	if (strcmp(path, "-") == 0)
		fp = stdin;
	else if ((fp = fopen(path, "r")) == NULL) {
		log_err("%s", path);
		return 1;
	}
	memset(&r, 0, sizeof(r));
	rc = read_eve(&r, fp, strcmp(path, "-") == 0 ? "(standard input)" : path);
	if (fp != stdin)
		fclose(fp);
	if (rc == 0)
		rc = write_reports(&r, dir, org, contact);
	rep_free(&r);
	return rc == 0 ? 0 : 1;
}
