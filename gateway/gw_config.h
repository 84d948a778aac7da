/*
 * gw_config.h - load the libconfig file into engine, policy and daemon settings.
 *
 * The only place that includes libconfig. A load either fully succeeds or
 * leaves nothing behind and says why, naming file and line, so SIGHUP can
 * keep the old configuration when the new one is broken. Shape (DESIGN.md
 * "Policy" plus the keys below, every one optional):
 *
 *   ports = [ 25, 587 ];
 *   eve = { file = "/var/log/starttls-guard/eve.json"; };
 *   engine = { max_flows = 65536; pool_chunks = 4096; idle_timeout = 600;
 *              inspect_timeout = 7200; midstream = "pass";
 *              fallback_window = 300; fallback_entries = 4096; };
 *   nfqueue = { fail_open = true; queue_maxlen = 4096; rcvbuf = 8388608;
 *               bypass_mark = 0x10000; inspect_mark = 0x20000;
 *               user = "starttls-guard"; };
 *   policy = { default = {...}; rules = (...); ... };
 *   outputs = { eve = { enabled = true; file = "..."; };
 *               syslog = { enabled = false; facility = "daemon"; target = "local";
 *                          format = "rfc5424"; app_name = "starttls-guard";
 *                          events = [ "alert" ]; };
 *               evidence = { dir = ""; max_files = 1000; max_bytes = 104857600;
 *                            ring_bytes = 4194304; };
 *               metrics = { file = ""; interval = 15; };
 *               redis = { server = "tcp://192.0.2.10:6379"; mode = "list";
 *                         key = "starttls-guard"; user; password; password_file;
 *                         timeout = 1000; queue_bytes = 4194304;
 *                         stream_maxlen = 100000; events = [ "alert", "flow", "stats" ]; }; };
 *   cluster = { redis = "tcp://192.0.2.10:6379"; user = ""; password = "";
 *               password_file = ""; id = "<hostname>/<pid>"; prefix = "stg:";
 *               channel = "stg:facts"; queue = 8192; timeout = 1000;
 *               backoff_max = 30000; };   (times in milliseconds)
 * (the top-level eve = { file } stays valid; outputs.eve wins over it).
 */
#ifndef GATEWAY_GW_CONFIG_H
#define GATEWAY_GW_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "gw_cluster.h"
#include "gw_dane.h"
#include "gw_engine.h"
#include "output/gw_eve_redis.h"
#include "output/gw_evidence.h"
#include "output/gw_metrics.h"
#include "output/gw_syslog.h"

#define GW_PATH_MAX 4096
/* Warnings kept from a load (ignored keys); more are counted, not kept. */
#define GW_CONFIG_WARN_MAX 8
#define GW_CONFIG_WARN_LEN 192
/* Default connmark bit for decided flows: bit 16, clear of the low bits
 * that routing setups (fwmark policy routing, Docker, Kubernetes) use. */
#define GW_BYPASS_MARK_DEFAULT 0x10000
/* Default connmark bit "being inspected", next to it (0 = not used). */
#define GW_INSPECT_MARK_DEFAULT 0x20000
#define POL_PINS_MAX_CONF       (1 << 24)
/* Seconds between two writes of the metrics file, by default. */
#define GW_METRICS_INTERVAL_DEFAULT 15

struct gw_config {
	struct gw_engine_conf engine;   /* ports, table sizes, timeouts */
	struct pol *pol;                /* owned: policy built from the file */
	char     eve_path[GW_PATH_MAX]; /* "-" = standard output */
	int      eve_enabled;           /* outputs.eve.enabled (default 1) */
	struct gw_syslog_conf syslog;   /* outputs.syslog: RFC 5424 tee of the EVE lines */
	struct gw_evidence_conf evidence; /* outputs.evidence: pcaps of alerted flows */
	char     metrics_file[GW_PATH_MAX]; /* outputs.metrics.file, "" = none */
	struct gw_cluster_conf cluster; /* cluster: facts shared through Redis (off by default) */
	struct gw_eve_redis_conf eve_redis; /* outputs.redis: EVE lines to a Redis list/channel/stream */
	uint32_t metrics_interval;      /* seconds between metrics writes (inline) */
	/* inline daemon */
	int      fail_open;             /* NFQA_CFG_F_FAIL_OPEN (default 1) */
	uint32_t queue_maxlen;          /* packets the kernel may queue per queue */
	uint32_t rcvbuf;                /* netlink socket receive buffer, bytes */
	uint32_t bypass_mark;           /* connmark bit written for decided flows */
	uint32_t inspect_mark;          /* connmark bit "being inspected", written when a
	                                   connection's inspection starts; 0 = not used */
	char     user[64];              /* drop privileges to this user ("" = stay) */
	/* policy sources beyond address rules (DESIGN.md "Policy") */
	char     eff_list[GW_PATH_MAX];    /* EFF STARTTLS-Everywhere list, "" = none */
	int      eff_keep_enforce;         /* an expired list keeps enforce (default: lowered to testing) */
	int64_t  eff_timestamp;            /* the loaded list's timestamp: a reload refuses an older one */
	int      eff_expired;              /* the loaded list had expired */
	int64_t  eff_expires;              /* the loaded list's "expires", epoch s, 0 = no list */
	int64_t  sts_expires;              /* earliest fetch + max_age of the MTA-STS policies loaded, 0 = none */
	char     mta_sts_dir[GW_PATH_MAX]; /* cached MTA-STS policies, <domain>.txt, "" = none */
	char     ca_file[GW_PATH_MAX];     /* trust anchors for certificate checks */
	char     pins_file[GW_PATH_MAX];   /* learned pins, "" = kept in memory only */
	/* discovery.dane: DANE (RFC 7672) answers cached by dane-fetch / the resolver */
	char     dane_dir[GW_PATH_MAX];    /* <domain>.dane files, "" = no DANE */
	char     dane_anchor[GW_PATH_MAX]; /* trust anchor file, "" = /usr/share/dns/root.key */
	char     dane_resolv[GW_PATH_MAX]; /* forwarders for the lookups, "" = /etc/resolv.conf */
	enum pol_mode dane_mode;           /* mode of DANE policies (default enforce) */
	struct gw_dane_counts dane;        /* what the DANE load found */
	size_t   n_domains[POL_SRC_COUNT];             /* domain policies loaded, by enum pol_source */
	/* diagnostics of the load, for -t and the daemon's log */
	unsigned nwarn;                 /* warnings raised (may exceed GW_CONFIG_WARN_MAX) */
	char     warn[GW_CONFIG_WARN_MAX][GW_CONFIG_WARN_LEN]; /* "file:line: setting 'x' ignored" */
};

/* Built-in defaults (no file). Never fails except on memory. */
int gw_config_default(struct gw_config *c);

/* What of c the metrics file reports (the policy sources, the interval). */
void gw_config_metrics(const struct gw_config *c, struct gw_metrics_cfg *m);

/* Load path into c (c is overwritten only on success). Returns 0, or -1
 * with "file:line: message" in err. */
int gw_config_load(const char *path, struct gw_config *c, char *err, size_t errlen);

void gw_config_free(struct gw_config *c);

/* May new replace old on SIGHUP? Refuses an EFF list older than the one in
 * force (a replayed or rolled-back list). 0, or -1 with err. */
int gw_config_check_reload(const struct gw_config *old, const struct gw_config *nc,
    char *err, size_t errlen);

#endif
