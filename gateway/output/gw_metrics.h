/*
 * gw_metrics.h - counters as a Prometheus text file (node_exporter textfile collector).
 *
 * The caller gathers the counters (engine stats summed over the queues,
 * the transport's, the outputs') and calls gw_metrics_write() now and then;
 * the file is written to a temporary name beside the target and renamed
 * over it, so the collector never reads half a file. Every metric is named
 * starttls_guard_*, with HELP and TYPE lines; labels: verdict, signature,
 * version, source, decision, status, queue. Must not log.
 */
#ifndef GATEWAY_GW_METRICS_H
#define GATEWAY_GW_METRICS_H

#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

#include "../../nfq/nfq.h"
#include "gw_cluster_stats.h"
#include "gw_stats.h"
#include "gw_evidence.h"
#include "gw_syslog.h"

/* What the configuration in force says that the metrics report. Filled by
 * gw_config_metrics() (gw_config.h): the metrics read neither the
 * configuration nor the engine themselves. */
struct gw_metrics_cfg {
	uint32_t interval;         /* seconds between two writes (inline) */
	size_t   n_domains[POL_SRC_COUNT]; /* domain policies loaded, by enum pol_source */
	size_t   dane_bogus;       /* DANE answers with bogus DNSSEC (dnssec-invalid) */
	size_t   dane_hosts;       /* MX hosts with TLSA records loaded */
	size_t   rules;            /* address (CIDR) rules of the policy */
	int      eff_expired;      /* the loaded EFF list is past its expiry */
	int64_t  eff_expires;      /* its "expires", epoch s, 0 = no list */
	int64_t  sts_expires;      /* earliest fetch + max_age of the MTA-STS policies, 0 = none */
};

struct gw_metrics_in {
	const char                     *mode;  /* "inline" or "offline" */
	const struct gw_stats          *st;    /* engine counters (summed) */
	const struct nfq_stats         *nfq;   /* transport, NULL offline */
	int                             proc_fd; /* gw_metrics_proc_open(), -1 = no kernel per-queue drops */
	const struct gw_evidence_stats *evid;  /* NULL = evidence off */
	const struct gw_syslog_stats   *sl;    /* NULL = syslog off */
	struct gw_metrics_cfg           cfg;   /* policy sources loaded, write interval */
	size_t                          pins;  /* learned pins held */
	const struct gw_cluster_stats  *cluster; /* NULL = cluster off */
	const struct gw_eve_redis_stats *eve_redis; /* NULL = outputs.redis off */
	uint64_t                        start_us; /* process start, wall clock */
	uint64_t                        now_us;   /* this write, wall clock: a stale file shows */
};

/* The starttls_guard_cluster_* families alone (gw_metrics_write adds
 * them when in->cluster is set). */
void gw_metrics_cluster(FILE *fp, const struct gw_cluster_stats *st);

/* Open the kernel's NFQUEUE list of this network namespace for the
 * per-queue drop counters, or -1. Call it before dropping privileges: the
 * file is root's, mode 0440, so the unprivileged daemon keeps this
 * descriptor and re-reads it from the start at each write. */
int gw_metrics_proc_open(void);

/* Write path atomically (path.tmp, then rename). 0, or -1 with errno. */
int gw_metrics_write(const char *path, const struct gw_metrics_in *in);

#endif
