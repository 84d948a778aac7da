/*
 * gw_danefetch.c - the dane-fetch command (see gw_danefetch.h): options,
 * the cache directory, one line per domain. Lookups are rs_dane's.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "../resolver/rs_dane.h"
#include "../resolver/rs_sts.h"
#include "gw_config.h"
#include "gw_dane.h"
#include "gw_danefetch.h"

#define DF_PROG "starttls-guard dane-fetch"

struct df_item {
	char domain[POL_NAME_BUF];  /* normalised, "" when the argument is not a domain */
	char line[1024];            /* what to print */
	int  ok;                    /* answered (DANE, insecure or none) */
};

struct df_run {
	const char *dir;
	struct df_item *items;
	struct pol_dane_answer *old; /* scratch for the cached answer */
};

/* One line of what DANE found for the MX hosts. */
static void
df_hosts(const struct pol_dane_answer *a, char *out, size_t len)
{
	size_t o = 0;

	out[0] = '\0';
	for (size_t i = 0; i < a->nmx && o < len; i++) {
		const struct pol_dane_mx *m = &a->mx[i];
		int n;

		if (m->state == POL_DANE_MX_TLSA)
			n = snprintf(out + o, len - o, "%s%s TLSA %zu usable of %zu%s", i ? ", " : "",
			    m->host, m->too_many ? 0 : m->nusable, m->ntlsa,
			    m->too_many ? " (too many: TLS required, not authenticated)" : "");
		else
			n = snprintf(out + o, len - o, "%s%s %s", i ? ", " : "", m->host,
			    m->state == POL_DANE_MX_BOGUS ? "TLSA bogus (dnssec-invalid)" :
			    m->state == POL_DANE_MX_NONE ? "no TLSA" : "TLSA lookup failed");
		if (n < 0)
			break;
		o += (size_t)n;
	}
}

/* rs_dane's callback: cache the answer and say it. */
static void
df_done(void *arg, const struct rs_dane_result *r)
{
	struct df_run *run = arg;
	struct df_item *it = &run->items[r->tag];
	const struct pol_dane_answer *a = r->a;
	char hosts[700], err[300];
	const char *what;

	if (a == NULL) {
		snprintf(it->line, sizeof(it->line), "%s: %s", r->domain, r->text);
		return;
	}
	df_hosts(a, hosts, sizeof(hosts));
	if (pol_dane_bogus(a))
		what = "dnssec-invalid";
	else if (pol_dane_applies(a))
		what = "DANE";
	else if (a->mx_state == POL_DNSSEC_FAILED)
		what = "failed";
	else
		what = "no DANE";
	it->ok = !pol_dane_bogus(a) && a->mx_state != POL_DNSSEC_FAILED;
	/* A failed lookup must not replace a cached answer that still holds. */
	if (a->mx_state == POL_DNSSEC_FAILED &&
	    gw_dane_get(run->dir, a->domain, run->old, err, sizeof(err)) == 1 &&
	    pol_dane_applies(run->old) && run->old->until >= a->fetched) {
		snprintf(it->line, sizeof(it->line), "%s: failed (%s); cached DANE answer kept",
		    r->domain, r->text);
		return;
	}
	if (gw_dane_put(run->dir, a, err, sizeof(err)) == -1) {
		snprintf(it->line, sizeof(it->line), "%s: %s", r->domain, err);
		it->ok = 0;
		return;
	}
	snprintf(it->line, sizeof(it->line), "%s: %s: MX RRset %s%s%s (%s), cached for %llds",
	    r->domain, what, pol_dnssec_name(a->mx_state), hosts[0] ? "; " : "", hosts, r->text,
	    (long long)(a->until - a->fetched));
}

static void
df_usage(FILE *fp)
{
	fprintf(fp,
	    "usage: starttls-guard [-c FILE] dane-fetch [-d DIR] [--trust-anchor FILE]\n"
	    "           [--resolv-conf FILE] DOMAIN...\n"
	    "\n"
	    "  -c, --config FILE      take DIR and the rest from discovery.dane\n"
	    "  -d, --dir DIR          the DANE cache directory (<domain>.dane)\n"
	    "      --trust-anchor F   DNSSEC trust anchor (DS/DNSKEY); default " RS_DANE_ANCHOR_DEFAULT "\n"
	    "      --resolv-conf F    forwarders; default /etc/resolv.conf\n"
	    "  -h, --help             print this help and exit\n"
	    "\n"
	    "Exit status: 0 every domain answered, 1 a lookup failed or was dnssec-invalid, 2 usage.\n");
}

int
gw_danefetch_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config",       required_argument, NULL, 'c' },
		{ "dir",          required_argument, NULL, 'd' },
		{ "trust-anchor", required_argument, NULL, 'T' },
		{ "resolv-conf",  required_argument, NULL, 'R' },
		{ "help",         no_argument,       NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *config_path = NULL, *dir = NULL, *anchor = NULL, *resolv = NULL;
	static char cdir[GW_PATH_MAX], canchor[GW_PATH_MAX], cresolv[GW_PATH_MAX];
	char cerr[GW_PATH_MAX + 512];
	struct rs_dane_conf dc;
	struct rs_dane *rd = NULL;
	struct df_run run;
	struct stat sb;
	int ch, failed = 0, nitems;

	optind = 0;
	while ((ch = getopt_long(argc, argv, "+c:d:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c': config_path = optarg; break;
		case 'd': dir = optarg; break;
		case 'T': anchor = optarg; break;
		case 'R': resolv = optarg; break;
		case 'h':
			df_usage(stdout);
			return 0;
		default:
			df_usage(stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, DF_PROG ": no DOMAIN given\n");
		df_usage(stderr);
		return 2;
	}
	if (config_path != NULL) {
		struct gw_config c;

		if (gw_config_load(config_path, &c, cerr, sizeof(cerr)) == -1) {
			fprintf(stderr, DF_PROG ": %s\n", cerr);
			return 1;
		}
		snprintf(cdir, sizeof(cdir), "%s", c.dane_dir);
		snprintf(canchor, sizeof(canchor), "%s", c.dane_anchor);
		snprintf(cresolv, sizeof(cresolv), "%s", c.dane_resolv);
		gw_config_free(&c);
		if (dir == NULL && cdir[0])
			dir = cdir;
		if (anchor == NULL && canchor[0])
			anchor = canchor;
		if (resolv == NULL && cresolv[0])
			resolv = cresolv;
	}
	if (dir == NULL) {
		fprintf(stderr, DF_PROG ": -d DIR (or -c FILE with discovery.dane.dir) is needed\n");
		df_usage(stderr);
		return 2;
	}
	errno = 0;
	if (stat(dir, &sb) == -1 || !S_ISDIR(sb.st_mode)) {
		fprintf(stderr, DF_PROG ": %s: %s\n", dir, errno ? strerror(errno) : "not a directory");
		return 1;
	}
	nitems = argc - optind;
	memset(&run, 0, sizeof(run));
	run.dir = dir;
	run.items = calloc((size_t)nitems, sizeof(*run.items));
	run.old = malloc(sizeof(*run.old));
	if (run.items == NULL || run.old == NULL) {
		fprintf(stderr, DF_PROG ": out of memory\n");
		failed = 1;
		goto out;
	}
	memset(&dc, 0, sizeof(dc));
	dc.anchor = anchor;
	dc.resolv_conf = resolv;
	dc.queue_max = (unsigned)nitems;
	if ((rd = rs_dane_new(&dc, df_done, &run, cerr, sizeof(cerr))) == NULL) {
		fprintf(stderr, DF_PROG ": %s\n", cerr);
		failed = 1;
		goto out;
	}
	for (int i = 0; i < nitems; i++) {
		struct df_item *it = &run.items[i];
		const char *arg = argv[optind + i];
		char shown[300];

		if (pol_name_norm(arg, strlen(arg), it->domain, sizeof(it->domain), NULL, 0) < 0 ||
		    strchr(it->domain, '.') == NULL) {
			rs_esc(arg, strlen(arg), shown, sizeof(shown));
			snprintf(it->line, sizeof(it->line), "%s: not a domain name", shown);
			continue;
		}
		rs_dane_start(rd, it->domain, (uint32_t)i);
	}
	while (rs_dane_pending(rd) > 0)
		if (rs_dane_run(rd, -1, 1000) == -1) {
			fprintf(stderr, DF_PROG ": DNS loop failed\n");
			failed = 1;
			break;
		}
	for (int i = 0; i < nitems; i++) {
		printf("%s\n", run.items[i].line[0] ? run.items[i].line : "(no answer)");
		if (!run.items[i].ok)
			failed = 1;
	}
	fflush(stdout);
out:
	rs_dane_free(rd);
	free(run.items);
	free(run.old);
	return failed ? 1 : 0;
}
