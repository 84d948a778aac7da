/*
 * gw_main.c - the starttls-guard command line (DESIGN.md "Command line").
 *
 *   starttls-guard [-c FILE] -q QUEUES   inline (NFQUEUE), QUEUES "0" or "0-3"
 *   starttls-guard [-c FILE] -r FILE     offline replay of a pcap/pcapng file
 *   starttls-guard [-c FILE] -t          check the configuration
 *
 * Parses options, loads the configuration, opens the EVE output and hands
 * over to the offline or inline driver. Exit status: 0 success, 1 bad input
 * (configuration, capture, output), 2 usage error.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_config.h"
#include "output/gw_eve.h"
#include "output/gw_eve_redis.h"
#include "gw_inline.h"
#include "output/gw_log.h"
#include "gw_offline.h"
#include "gw_pins.h"
#include "output/gw_report.h"
#include "gw_danefetch.h"
#include "gw_stsfetch.h"
#include "output/gw_syslog.h"

#ifndef STG_VERSION
#define STG_VERSION "unknown"
#endif

#define PROG "starttls-guard"

/* Print the synopsis, and with full the option list, to fp. */
static void
usage(FILE *fp, int full)
{
	fprintf(fp,
	    "usage: " PROG " [-c FILE] [-l FILE] -q QUEUES   inline on NFQUEUE (QUEUES: 0 or 0-3)\n"
	    "       " PROG " [-c FILE] [-l FILE] -r FILE     replay a pcap or pcapng capture\n"
	    "       " PROG " [-c FILE] -t                    check the configuration\n"
	    "       " PROG " -c FILE pins list | pins forget ADDRESS|MXNAME\n"
	    "       " PROG " report [-o DIR] [--org NAME] [--contact ADDR] EVE_FILE\n"
	    "       " PROG " [-c FILE] sts-fetch [-d DIR] [--ca-file FILE] DOMAIN...\n"
	    "       " PROG " [-c FILE] dane-fetch [-d DIR] [--trust-anchor FILE] DOMAIN...\n"
	    "       " PROG " --version | --help\n");
	if (!full)
		return;
	fprintf(fp,
	    "\n"
	    "  -c, --config FILE   configuration (libconfig); built-in defaults without it\n"
	    "  -l, --log FILE      EVE JSON output, \"-\" = standard output (overrides eve.file)\n"
	    "  -q, --queue QUEUES  NFQUEUE numbers, one thread per queue\n"
	    "  -r, --read FILE     read packets from a capture file instead\n"
	    "  -t, --test          check the configuration, print a summary, exit\n"
	    "  -v, --verbose       debug diagnostics on standard error\n"
	    "  -V, --version       print the version and exit\n"
	    "  -h, --help          print this help and exit\n");
}

/* Parse "N" or "N-M" (0..65535, N <= M). 0, or -1. */
static int
parse_queues(const char *s, unsigned *first, unsigned *last)
{
	char *end;
	unsigned long a, b;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	a = strtoul(s, &end, 10);
	if (errno != 0 || a > 65535)
		return -1;
	b = a;
	if (*end == '-') {
		const char *t = end + 1;

		if (*t < '0' || *t > '9')
			return -1;
		b = strtoul(t, &end, 10);
		if (errno != 0 || b > 65535 || b < a)
			return -1;
	}
	if (*end != '\0')
		return -1;
	*first = (unsigned)a;
	*last = (unsigned)b;
	return 0;
}

/* -t: what the configuration amounts to. */
static void
print_summary(const char *path, const struct gw_config *c)
{
	struct pol_match def;

	pol_lookup_addr(c->pol, 0, NULL, &def);
	printf("configuration: %s\n", path ? path : "(built-in defaults)");
	printf("ports:");
	for (unsigned i = 0; i < c->engine.nports; i++)
		printf(" %u", c->engine.ports[i]);
	printf("\n");
	printf("default mode: %s, min_tls %u.%u\n", pol_mode_name(def.mode),
	    (unsigned)(def.min_tls >> 8) - 2, (unsigned)(def.min_tls & 0xff) - 1);
	printf("address rules: %zu\n", pol_rule_count(c->pol));
	printf("domain policies: %zu from config rules, %zu MTA-STS, %zu EFF list%s\n",
	    c->n_domains[POL_SRC_CONFIG], c->n_domains[POL_SRC_MTA_STS], c->n_domains[POL_SRC_EFF],
	    c->eff_expired ? " (expired: enforce acts as testing)" : "");
	if (c->dane_dir[0] != '\0')
		printf("DANE: %s, mode %s: %zu domains (%zu MX hosts, %zu bytes), %zu insecure, "
		    "%zu dnssec-invalid, %zu expired, %zu broken\n", c->dane_dir,
		    pol_mode_name(c->dane_mode), c->dane.applied, c->dane.hosts, c->dane.bytes,
		    c->dane.insecure, c->dane.bogus, c->dane.expired, c->dane.broken);
	printf("learned pins: %s, mode %s, max_age %us, at most %u\n",
	    c->pins_file[0] ? c->pins_file : "in memory only",
	    pol_mode_name((enum pol_mode)c->engine.pins_mode), c->engine.pins_max_age,
	    c->engine.pins_max);
	printf("MX names from DNS answers: %s\n", c->engine.learn_dns ? "learned" : "off");
	if (!c->eve_enabled)
		printf("eve output: off\n");
	else
		printf("eve output: %s\n", strcmp(c->eve_path, "-") == 0 ? "standard output" : c->eve_path);
	if (c->syslog.enabled)
		printf("syslog output: %s, facility %d, RFC 5424, events%s%s%s\n", c->syslog.target,
		    c->syslog.facility,
		    (c->syslog.events & GW_SYSLOG_EV_ALERT) ? " alert" : "",
		    (c->syslog.events & GW_SYSLOG_EV_FLOW) ? " flow" : "",
		    (c->syslog.events & GW_SYSLOG_EV_STATS) ? " stats" : "");
	else
		printf("syslog output: off\n");
	if (c->evidence.dir[0] != '\0')
		printf("evidence pcaps: %s (at most %u files, %llu bytes; ring %u bytes per queue)\n",
		    c->evidence.dir, c->evidence.max_files, (unsigned long long)c->evidence.max_bytes,
		    c->evidence.ring_bytes);
	else
		printf("evidence pcaps: off\n");
	if (c->metrics_file[0] != '\0')
		printf("metrics: %s every %us\n", c->metrics_file, c->metrics_interval);
	else
		printf("metrics: off\n");
	if (c->cluster.enabled)
		printf("cluster: redis %s as %s, keys %s*, channel %s, %s%s%s, queue %u, "
		    "timeout %ums, reconnect backoff up to %ums\n", c->cluster.redis.url, c->cluster.id,
		    c->cluster.prefix, c->cluster.channel,
		    c->cluster.redis.password[0] ? "password set" : "no password",
		    c->cluster.redis.user[0] ? ", ACL user " : "", c->cluster.redis.user,
		    c->cluster.queue, c->cluster.redis.timeout_ms, c->cluster.backoff_max_ms);
	else
		printf("cluster: off\n");
	if (c->eve_redis.enabled)
		printf("redis output: %s, %s %s, events%s%s%s, queue %u bytes\n", c->eve_redis.redis.url,
		    gw_eve_redis_mode_name(c->eve_redis.mode), c->eve_redis.key,
		    (c->eve_redis.events & 1) ? " alert" : "", (c->eve_redis.events & 2) ? " flow" : "",
		    (c->eve_redis.events & 4) ? " stats" : "", c->eve_redis.queue_bytes);
	else
		printf("redis output: off\n");
	printf("configuration OK\n");
}

/* "pins list" and "pins forget ADDR|MXNAME|*.DOMAIN": the operator's view
 * of the learned pins in the configured file. */
static int
pins_command(const char *config_path, int argc, char **argv)
{
	char err[GW_PATH_MAX + 512];
	struct gw_config c;
	struct gw_pins *pins;
	int rc = 0;

	if (argc < 1 || (strcmp(argv[0], "list") == 0 && argc != 1) ||
	    (strcmp(argv[0], "forget") == 0 && argc != 2) ||
	    (strcmp(argv[0], "list") != 0 && strcmp(argv[0], "forget") != 0)) {
		fprintf(stderr, "usage: " PROG " -c FILE pins list | pins forget ADDRESS|MXNAME\n");
		return 2;
	}
	if (config_path == NULL) {
		fprintf(stderr, PROG ": pins: -c FILE is needed (it names policy.pins.file)\n");
		return 2;
	}
	if (gw_config_load(config_path, &c, err, sizeof(err)) == -1) {
		fprintf(stderr, PROG ": %s\n", err);
		return 1;
	}
	if (c.pins_file[0] == '\0') {
		fprintf(stderr, PROG ": %s: policy.pins.file is not set: pins live in memory only\n",
		    config_path);
		gw_config_free(&c);
		return 1;
	}
	if ((pins = gw_pins_new(c.engine.pins_max, c.pins_file, 1)) == NULL ||
	    gw_pins_load(pins, err, sizeof(err)) == -1) {
		fprintf(stderr, PROG ": %s\n", pins ? err : "out of memory");
		gw_pins_free(pins);
		gw_config_free(&c);
		return 1;
	}
	if (strcmp(argv[0], "list") == 0) {
		rc = gw_pins_list(pins, stdout) == 0 ? 0 : 1;
	} else {
		size_t n = gw_pins_forget(pins, argv[1]);
		printf("%zu pin%s forgotten\n", n, n == 1 ? "" : "s");
		if (n > 0 && gw_pins_save(pins, err, sizeof(err)) == -1) {
			fprintf(stderr, PROG ": %s\n", err);
			rc = 1;
		}
		/* A running daemon keeps its own copy until it restarts. */
	}
	gw_pins_free(pins);
	gw_config_free(&c);
	return rc;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config",  required_argument, NULL, 'c' },
		{ "log",     required_argument, NULL, 'l' },
		{ "queue",   required_argument, NULL, 'q' },
		{ "read",    required_argument, NULL, 'r' },
		{ "test",    no_argument,       NULL, 't' },
		{ "verbose", no_argument,       NULL, 'v' },
		{ "version", no_argument,       NULL, 'V' },
		{ "help",    no_argument,       NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *config_path = NULL, *log_path = NULL, *queues = NULL, *pcap = NULL;
	int test = 0, verbose = 0, ch, rc;
	unsigned qfirst = 0, qlast = 0;
	struct gw_config c;
	struct eve *eve;
	struct gw_syslog *sl = NULL;
	struct gw_eve_redis *evr = NULL;
	char err[GW_PATH_MAX + 512];

	gw_log_init(PROG, GW_LOG_INFO, 0);
	/* Subcommands with options of their own. */
	if (argc > 1 && strcmp(argv[1], "report") == 0)
		return gw_report_main(argc - 1, argv + 1);
	/* "[-c FILE] sts-fetch|dane-fetch ...": hand -c over to their own options. */
	if (argc > 3 && (strcmp(argv[3], "sts-fetch") == 0 || strcmp(argv[3], "dane-fetch") == 0) &&
	    (strcmp(argv[1], "-c") == 0 || strcmp(argv[1], "--config") == 0)) {
		char *opt = argv[1], *file = argv[2];

		argv[1] = argv[3], argv[2] = opt, argv[3] = file;
	}
	if (argc > 1 && strcmp(argv[1], "sts-fetch") == 0)
		return gw_stsfetch_main(argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "dane-fetch") == 0)
		return gw_danefetch_main(argc - 1, argv + 1);
	while ((ch = getopt_long(argc, argv, "c:l:q:r:tvVh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c': config_path = optarg; break;
		case 'l': log_path = optarg; break;
		case 'q': queues = optarg; break;
		case 'r': pcap = optarg; break;
		case 't': test = 1; break;
		case 'v': verbose++; break;
		case 'V':
			printf(PROG " " STG_VERSION "\n");
			return 0;
		case 'h':
			usage(stdout, 1);
			return 0;
		default:
			usage(stderr, 0);
			return 2;
		}
	}
	if (optind < argc && strcmp(argv[optind], "pins") == 0)
		return pins_command(config_path, argc - optind - 1, argv + optind + 1);
	if (optind < argc) {
		fprintf(stderr, PROG ": unexpected argument '%s'\n", argv[optind]);
		usage(stderr, 0);
		return 2;
	}
	if (!test && queues == NULL && pcap == NULL) {
		fprintf(stderr, PROG ": one of -q QUEUES, -r FILE or -t is needed\n");
		usage(stderr, 0);
		return 2;
	}
	if (!test && queues != NULL && pcap != NULL) {
		fprintf(stderr, PROG ": -q and -r exclude each other\n");
		usage(stderr, 0);
		return 2;
	}
	if (queues != NULL && parse_queues(queues, &qfirst, &qlast) == -1) {
		fprintf(stderr, PROG ": -q %s: expected a queue number or a range like 0-3\n", queues);
		return 2;
	}
	if (verbose)
		gw_log_setlevel(GW_LOG_DEBUG);
	if (queues != NULL && !test)
		gw_log_init(PROG, gw_log_level, GW_LOG_F_TIMESTAMP);

	if (config_path != NULL)
		rc = gw_config_load(config_path, &c, err, sizeof(err));
	else if ((rc = gw_config_default(&c)) == -1)
		snprintf(err, sizeof(err), "out of memory");
	if (rc == -1) {
		fprintf(stderr, PROG ": %s\n", err);
		return 1;
	}
	for (unsigned i = 0; i < c.nwarn && i < GW_CONFIG_WARN_MAX; i++)
		log_warnx("%s", c.warn[i]);
	if (c.nwarn > GW_CONFIG_WARN_MAX)
		log_warnx("%s: %u more warnings not shown", config_path,
		    c.nwarn - GW_CONFIG_WARN_MAX);
	if (log_path != NULL) {
		snprintf(c.eve_path, sizeof(c.eve_path), "%s", log_path);
		c.eve_enabled = 1;
	}

	if (test) {
		print_summary(config_path, &c);
		gw_config_free(&c);
		return 0;
	}

	if ((eve = c.eve_enabled ? eve_open(c.eve_path) : eve_open_none()) == NULL) {
		log_err("%s: cannot open the EVE output", c.eve_path);
		gw_config_free(&c);
		return 1;
	}
	if (c.syslog.enabled) {
		/* Resolved and connected now, before privileges and the sandbox go. */
		if ((sl = gw_syslog_open(&c.syslog, err, sizeof(err))) == NULL) {
			log_errx("outputs.syslog.target: %s", err);
			eve_close(eve);
			gw_config_free(&c);
			return 1;
		}
		eve_set_syslog(eve, sl);
	}
	if (c.eve_redis.enabled) {
		/* its thread connects by itself (and again after outages) */
		if ((evr = gw_eve_redis_start(&c.eve_redis)) == NULL) {
			log_errx("outputs.redis: out of memory");
			eve_close(eve);
			gw_syslog_close(sl);
			gw_config_free(&c);
			return 1;
		}
		eve_set_tee(eve, gw_eve_redis_tee, evr);
	}
	if (pcap != NULL) {
		rc = gw_offline_run(&c, pcap, eve, sl);
		gw_config_free(&c);
	} else {
		/* The daemon owns c from here on. */
		rc = gw_inline_run(config_path, &c, qfirst, qlast, eve, sl, evr);
	}
	eve_set_tee(eve, NULL, NULL);
	/* what is queued gets a few seconds to reach Redis */
	gw_eve_redis_stop(evr, 3000);
	eve_close(eve);
	gw_syslog_close(sl);
	return rc;
}
