/*
 * gw_stsfetch.c - the sts-fetch command (see gw_stsfetch.h): options, the
 * cache directory, one line per domain. Discovery itself is rs_net's.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "../policy/pol_mx.h"
#include "../policy/pol_sts.h"
#include "../resolver/rs_net.h"
#include "gw_config.h"
#include "gw_file.h"
#include "gw_stscache.h"
#include "gw_stsfetch.h"

#define SF_PROG "starttls-guard sts-fetch"

/* One domain of the command line. */
struct sf_item {
	char domain[POL_NAME_BUF];  /* normalised, "" when the argument is not a domain */
	char line[RS_MSG_TEXT_MAX + GW_PATH_MAX]; /* what to print */
	int  ok;                    /* fetched or unchanged */
};

/* The run's state, for the callback. */
struct sf_run {
	const char *dir;            /* cache directory */
	struct sf_item *items;      /* one per argument */
};

/* rs_net's callback: cache what came and say it. */
static void
sf_done(void *arg, const struct rs_result *r)
{
	struct sf_run *run = arg;
	struct sf_item *it = &run->items[r->tag];
	char err[RS_MSG_TEXT_MAX];

	switch (r->status) {
	case RS_ST_POLICY:
		if (gw_stscache_put(run->dir, r->domain, r->body, r->body_len, r->id, err,
		    sizeof(err)) == -1) {
			snprintf(it->line, sizeof(it->line), "%s: %s", r->domain, err);
			return;
		}
		snprintf(it->line, sizeof(it->line), "%s: %s", r->domain, r->text);
		it->ok = 1;
		break;
	case RS_ST_UNCHANGED:
		snprintf(it->line, sizeof(it->line), "%s: %s", r->domain, r->text);
		it->ok = 1;
		break;
	case RS_ST_NO_POLICY:
		snprintf(it->line, sizeof(it->line), "%s: %s (no MTA-STS policy)", r->domain, r->text);
		break;
	default:
		/* DNS-level reasons name no URL: nothing was fetched */
		if (r->reason <= RS_R_NO_ADDRESS || r->reason == RS_R_BUSY)
			snprintf(it->line, sizeof(it->line), "%s: %s [%s]", r->domain, r->text,
			    rs_reason_name(r->reason));
		else
			snprintf(it->line, sizeof(it->line), "%s: https://mta-sts.%s/.well-known/"
			    "mta-sts.txt: %s [%s]", r->domain, r->domain, r->text,
			    rs_reason_name(r->reason));
		break;
	}
}

/* Usage on fp. */
static void
sf_usage(FILE *fp)
{
	fprintf(fp,
	    "usage: starttls-guard [-c FILE] sts-fetch [-d DIR] [--ca-file FILE] DOMAIN...\n"
	    "\n"
	    "  -c, --config FILE  take DIR from policy.mta_sts_dir, CAs from policy.ca_file\n"
	    "  -d, --dir DIR      the MTA-STS cache directory (<domain>.txt, <domain>.id)\n"
	    "      --ca-file FILE trust anchors (PEM); default: policy.ca_file, else the system store\n"
	    "  -h, --help         print this help and exit\n"
	    "\n"
	    "Exit status: 0 every domain fetched or unchanged, 1 otherwise, 2 usage.\n");
}

int
gw_stsfetch_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config",  required_argument, NULL, 'c' },
		{ "dir",     required_argument, NULL, 'd' },
		{ "ca-file", required_argument, NULL, 'C' },
		{ "help",    no_argument,       NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *config_path = NULL, *dir = NULL, *cafile = NULL;
	char cerr[GW_PATH_MAX + 512], cdir[GW_PATH_MAX], ccafile[GW_PATH_MAX];
	struct rs_net_conf nc;
	struct sf_run run;
	struct rs_net *net = NULL;
	struct stat sb;
	char *ca = NULL;
	size_t ca_len = 0;
	int ch, failed = 0, nitems;

	cdir[0] = ccafile[0] = '\0';
	optind = 0; /* a fresh getopt, whatever ran before */
	while ((ch = getopt_long(argc, argv, "+c:d:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c': config_path = optarg; break;
		case 'd': dir = optarg; break;
		case 'C': cafile = optarg; break;
		case 'h':
			sf_usage(stdout);
			return 0;
		default:
			sf_usage(stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, SF_PROG ": no DOMAIN given\n");
		sf_usage(stderr);
		return 2;
	}
	if (config_path != NULL) {
		struct gw_config c;

		if (gw_config_load(config_path, &c, cerr, sizeof(cerr)) == -1) {
			fprintf(stderr, SF_PROG ": %s\n", cerr);
			return 1;
		}
		snprintf(cdir, sizeof(cdir), "%s", c.mta_sts_dir);
		snprintf(ccafile, sizeof(ccafile), "%s", c.ca_file);
		gw_config_free(&c);
		if (dir == NULL && cdir[0] == '\0') {
			fprintf(stderr, SF_PROG ": %s: policy.mta_sts_dir is not set or does not exist;"
			    " give -d DIR\n", config_path);
			return 2;
		}
		if (dir == NULL)
			dir = cdir;
		if (cafile == NULL && ccafile[0] != '\0')
			cafile = ccafile;
	}
	if (dir == NULL) {
		fprintf(stderr, SF_PROG ": -d DIR (or -c FILE with policy.mta_sts_dir) is needed\n");
		sf_usage(stderr);
		return 2;
	}
	errno = 0;
	if (stat(dir, &sb) == -1 || !S_ISDIR(sb.st_mode)) {
		fprintf(stderr, SF_PROG ": %s: %s\n", dir, errno ? strerror(errno) : "not a directory");
		return 1;
	}

	nitems = argc - optind;
	memset(&run, 0, sizeof(run));
	run.dir = dir;
	run.items = calloc((size_t)nitems, sizeof(*run.items));
	ca = gw_read_file(cafile ? cafile : RS_NET_CA_DEFAULT, RS_NET_CA_MAX, &ca_len, NULL, cerr,
	    sizeof(cerr));
	if (run.items == NULL || ca == NULL) {
		fprintf(stderr, SF_PROG ": %s\n", run.items == NULL ? "out of memory" : cerr);
		failed = 1;
		goto out;
	}
	memset(&nc, 0, sizeof(nc));
	nc.ca_pem = ca;
	nc.ca_len = ca_len;
	nc.max_inflight = RS_NET_INFLIGHT_DEFAULT;
	nc.queue_max = (unsigned)nitems;
	nc.timeout_ms = RS_NET_TIMEOUT_MS_DEFAULT;
	if ((net = rs_net_new(&nc, sf_done, &run, cerr, sizeof(cerr))) == NULL) {
		fprintf(stderr, SF_PROG ": %s\n", cerr);
		failed = 1;
		goto out;
	}
	signal(SIGPIPE, SIG_IGN); /* a peer that hangs up is an error, not a signal */
	for (int i = 0; i < nitems; i++) {
		struct sf_item *it = &run.items[i];
		const char *arg = argv[optind + i];
		char perr[128], shown[300], fname[POL_NAME_BUF + 8], check[POL_NAME_BUF];
		char id[RS_STS_ID_MAX + 1];

		if (pol_name_norm(arg, strlen(arg), it->domain, sizeof(it->domain), perr,
		    sizeof(perr)) < 0 || strchr(it->domain, '.') == NULL || it->domain[0] == '*') {
			rs_esc(arg, strlen(arg), shown, sizeof(shown));
			snprintf(it->line, sizeof(it->line), "%s: not a domain name", shown);
			continue;
		}
		/* The gateway must read back what we write under this name. */
		snprintf(fname, sizeof(fname), "%s" POL_STS_SUFFIX, it->domain);
		if (pol_sts_file_domain(fname, check, sizeof(check)) == -1 ||
		    strcmp(check, it->domain) != 0) {
			snprintf(it->line, sizeof(it->line), "%s: cannot be a cache file name", it->domain);
			continue;
		}
		if (!gw_stscache_known_id(dir, it->domain, (int64_t)time(NULL), id))
			id[0] = '\0';
		rs_net_start(net, it->domain, id, (uint32_t)i);
	}
	while (rs_net_pending(net) > 0)
		if (rs_net_run(net, -1, 1000) == -1) {
			fprintf(stderr, SF_PROG ": network loop failed\n");
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
	rs_net_free(net);
	free(ca);
	free(run.items);
	return failed ? 1 : 0;
}
