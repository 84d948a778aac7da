/*
 * gw_metrics.c - write the Prometheus text exposition format, atomically.
 *
 * Format 0.0.4 as node_exporter's textfile collector reads it: "# HELP",
 * "# TYPE", then one "name{labels} value" line per series, each metric
 * family once and contiguous. Counters end in _total. The kernel's own
 * per-queue drop counters come from /proc/net/netfilter/nfnetlink_queue
 * (queue_dropped: queue full; user_dropped: netlink buffer full) when the
 * caller asks. The file goes to PATH.tmp first, then rename(2) over PATH.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../inspect/finding.h"
#include "../../policy/pol.h"
#include "gw_metrics.h"

#ifndef STG_VERSION
#define STG_VERSION "unknown"
#endif

/* Where the kernel lists its NFQUEUE instances of this network namespace. */
#define GW_METRICS_PROC_NFQ "/proc/net/netfilter/nfnetlink_queue"

/* "# HELP" and "# TYPE" of one family. */
static void
family(FILE *fp, const char *name, const char *type, const char *help)
{
	fprintf(fp, "# HELP starttls_guard_%s %s\n# TYPE starttls_guard_%s %s\n",
	    name, help, name, type);
}

/* A family with one unlabelled sample. */
static void
one(FILE *fp, const char *name, const char *type, const char *help, unsigned long long v)
{
	family(fp, name, type, help);
	fprintf(fp, "starttls_guard_%s %llu\n", name, v);
}

/* Receive -> verdict time of queued packets, as a Prometheus histogram. */
static void
verdict_latency(FILE *fp, const struct nfq_stats *ns)
{
	static const unsigned le[] = { 5, 10, 20, 50, 100, 128, 256, 1024, 8192, 65536 };
	uint64_t count = 0;

	for (unsigned b = 0; b < NFQ_LAT_BUCKETS; b++)
		count += ns->lat[b];
	family(fp, "nfq_verdict_latency_microseconds", "histogram",
	    "Time from a queued packet's arrival in userspace to its verdict.");
	for (size_t i = 0; i < sizeof(le) / sizeof(le[0]); i++)
		fprintf(fp, "starttls_guard_nfq_verdict_latency_microseconds_bucket{le=\"%u\"} %llu\n",
		    le[i], (unsigned long long)nfq_latency_below(ns, le[i]));
	fprintf(fp, "starttls_guard_nfq_verdict_latency_microseconds_bucket{le=\"+Inf\"} %llu\n",
	    (unsigned long long)count);
	fprintf(fp, "starttls_guard_nfq_verdict_latency_microseconds_sum %llu\n",
	    (unsigned long long)ns->lat_sum_us);
	fprintf(fp, "starttls_guard_nfq_verdict_latency_microseconds_count %llu\n",
	    (unsigned long long)count);
}

int
gw_metrics_proc_open(void)
{
	return open(GW_METRICS_PROC_NFQ, O_RDONLY | O_CLOEXEC);
}

/* The kernel's per-queue drop counters, as two families. The list is read
 * whole from offset 0 (pread: the descriptor outlives the privileges). */
static void
proc_queues(FILE *fp, int fd)
{
	unsigned long long q[64][2];
	unsigned qn[64], n = 0, i;
	char buf[64 * 128 + 1], *line, *save = NULL;
	size_t len = 0;
	ssize_t r;

	while (len < sizeof(buf) - 1 &&
	    (r = pread(fd, buf + len, sizeof(buf) - 1 - len, (off_t)len)) > 0)
		len += (size_t)r;
	buf[len] = '\0';
	for (line = strtok_r(buf, "\n", &save); line != NULL && n < 64;
	    line = strtok_r(NULL, "\n", &save)) {
		unsigned num, copy_mode, copy_range, portid, total;
		unsigned long long qd, ud;

		if (sscanf(line, "%u %u %u %u %u %llu %llu", &num, &portid, &total,
		    &copy_mode, &copy_range, &qd, &ud) == 7) {
			qn[n] = num;
			q[n][0] = qd;
			q[n][1] = ud;
			n++;
		}
	}
	if (n == 0)
		return;
	family(fp, "nfq_kernel_queue_dropped_total", "counter",
	    "Packets the kernel dropped because the queue was full (fail-open passes them instead).");
	for (i = 0; i < n; i++)
		fprintf(fp, "starttls_guard_nfq_kernel_queue_dropped_total{queue=\"%u\"} %llu\n", qn[i], q[i][0]);
	family(fp, "nfq_kernel_user_dropped_total", "counter",
	    "Packets the kernel could not hand to the gateway (netlink receive buffer full).");
	for (i = 0; i < n; i++)
		fprintf(fp, "starttls_guard_nfq_kernel_user_dropped_total{queue=\"%u\"} %llu\n", qn[i], q[i][1]);
}

/* Everything, in a fixed order. */
static void
body(FILE *fp, const struct gw_metrics_in *in)
{
	static const char *const decode[] = { "ok", "not_tcp", "fragment", "truncated",
	    "malformed", "unsupported_link", "udp" };
	static const char *const tlsv[5] = { "SSLv3", "TLSv1.0", "TLSv1.1", "TLSv1.2", "TLSv1.3" };
	const struct gw_stats *st = in->st;
	size_t i;

	family(fp, "info", "gauge", "Version and mode of the running starttls-guard.");
	fprintf(fp, "starttls_guard_info{version=\"%s\",mode=\"%s\"} 1\n", STG_VERSION, in->mode);
	family(fp, "start_time_seconds", "gauge", "When the process started, seconds since the epoch.");
	fprintf(fp, "starttls_guard_start_time_seconds %llu.%06llu\n",
	    (unsigned long long)(in->start_us / 1000000u), (unsigned long long)(in->start_us % 1000000u));
	/* node_exporter serves an old file as if it were new: these two let
	 * an alert tell a gateway that stopped writing (tests: deploy/) */
	family(fp, "metrics_written_timestamp_seconds", "gauge",
	    "When this file was written, seconds since the epoch.");
	fprintf(fp, "starttls_guard_metrics_written_timestamp_seconds %llu.%06llu\n",
	    (unsigned long long)(in->now_us / 1000000u), (unsigned long long)(in->now_us % 1000000u));
	one(fp, "metrics_interval_seconds", "gauge", "Seconds between two writes of this file (inline).",
	    (unsigned long long)in->cfg.interval);

	one(fp, "packets_total", "counter", "Packets handed to the inspection engines.",
	    (unsigned long long)st->packets);
	one(fp, "bytes_total", "counter", "Bytes of the packets handed to the engines.",
	    (unsigned long long)st->bytes);
	family(fp, "decode_total", "counter", "Packets by decode result.");
	for (i = 0; i < sizeof(decode) / sizeof(decode[0]); i++)
		fprintf(fp, "starttls_guard_decode_total{status=\"%s\"} %llu\n", decode[i],
		    (unsigned long long)st->decode[i]);
	family(fp, "verdicts_total", "counter",
	    "Verdicts by kind: accept (keep queueing), bypass (decided, connmark set), drop, block (drop and RST).");
	for (i = 0; i < GW_V_COUNT; i++)
		fprintf(fp, "starttls_guard_verdicts_total{verdict=\"%s\"} %llu\n", gw_verdict_names[i],
		    (unsigned long long)st->verdicts[i]);
	family(fp, "sessions_total", "counter",
	    "SMTP sessions summarised (EVE flow events), by flow.verdict.");
	for (i = 0; i < GW_S_COUNT; i++)
		fprintf(fp, "starttls_guard_sessions_total{verdict=\"%s\"} %llu\n",
		    gw_session_names[i], (unsigned long long)st->sessions[i]);
	family(fp, "findings_total", "counter", "Alerts written, by signature.");
	for (i = 0; i < SIG_COUNT; i++)
		fprintf(fp, "starttls_guard_findings_total{signature=\"%s\"} %llu\n",
		    sig_name((enum sig)i), (unsigned long long)st->findings[i]);
	family(fp, "alerts_total", "counter",
	    "Alerts written, by signature and alert.action (blocked: dropped and reset; offline: would have been).");
	for (i = 0; i < SIG_COUNT; i++) {
		fprintf(fp, "starttls_guard_alerts_total{signature=\"%s\",action=\"blocked\"} %llu\n",
		    sig_name((enum sig)i), (unsigned long long)st->findings_blocked[i]);
		fprintf(fp, "starttls_guard_alerts_total{signature=\"%s\",action=\"allowed\"} %llu\n",
		    sig_name((enum sig)i), (unsigned long long)(st->findings[i] - st->findings_blocked[i]));
	}
	one(fp, "findings_suppressed_total", "counter",
	    "Findings not written because the policy mode was none.", (unsigned long long)st->suppressed);

	one(fp, "flows_created_total", "counter", "Flows tracked (SYN seen on an inspected port).",
	    (unsigned long long)st->flow.created);
	one(fp, "flows_evicted_total", "counter", "Flows evicted from a full flow table.",
	    (unsigned long long)st->flow.evicted);
	one(fp, "flows_expired_total", "counter", "Flows forgotten after idle_timeout or inspect_timeout.",
	    (unsigned long long)st->flow.expired);
	one(fp, "flows_removed_total", "counter", "Flows that ended (FIN/RST) and left the table.",
	    (unsigned long long)st->flow.removed);
	one(fp, "flows_active", "gauge", "Flows in the tables now.", (unsigned long long)st->flow.active);
	one(fp, "flows_capacity", "gauge", "Flow table slots (engine.max_flows times queues).",
	    (unsigned long long)st->flow.capacity);
	one(fp, "flows_midstream_total", "counter", "Connections picked up without their handshake (passed, not inspected).",
	    (unsigned long long)st->midstream);
	family(fp, "flow_decisions_total", "counter", "Inspected flows by decision.");
	fprintf(fp, "starttls_guard_flow_decisions_total{decision=\"tls\"} %llu\n",
	    (unsigned long long)st->flows_tls);
	fprintf(fp, "starttls_guard_flow_decisions_total{decision=\"plaintext\"} %llu\n",
	    (unsigned long long)st->flows_plain);
	fprintf(fp, "starttls_guard_flow_decisions_total{decision=\"lost\"} %llu\n",
	    (unsigned long long)st->flows_lost);
	family(fp, "flows_by_policy_source_total", "counter", "Inspected flows by the source of their policy.");
	for (i = 0; i < POL_SRC_COUNT; i++)
		fprintf(fp, "starttls_guard_flows_by_policy_source_total{source=\"%s\"} %llu\n",
		    pol_source_name((enum pol_source)i), (unsigned long long)st->policy_by[i]);
	family(fp, "tls_sessions_total", "counter", "Decided TLS sessions by negotiated version.");
	for (i = 0; i < 5; i++)
		fprintf(fp, "starttls_guard_tls_sessions_total{version=\"%s\"} %llu\n", tlsv[i],
		    (unsigned long long)st->tls_versions[i]);
	one(fp, "certs_checked_total", "counter", "Server certificates checked.",
	    (unsigned long long)st->certs_checked);
	one(fp, "pins_learned_total", "counter", "TLS sessions that (re)pinned their server.",
	    (unsigned long long)st->pins_learned);
	one(fp, "dns_answers_total", "counter", "DNS answers read for MX names.",
	    (unsigned long long)st->dns_answers);
	one(fp, "pool_exhausted_total", "counter", "Reassembly chunk requests refused (pool empty).",
	    (unsigned long long)st->pool.exhausted);
	one(fp, "flows_evicted_inspecting_total", "counter",
	    "Flows evicted in the middle of their inspection (flow table full of them).",
	    (unsigned long long)st->evicted_inspecting);
	one(fp, "flows_expired_inspecting_total", "counter",
	    "Flows forgotten after inspect_timeout while still being inspected.",
	    (unsigned long long)st->expired_inspecting);
	one(fp, "flows_lost_total", "counter",
	    "Connections seen again after their inspection state was lost (expired, evicted, restart): given up.",
	    (unsigned long long)st->lost);
	one(fp, "flows_given_up_total", "counter",
	    "Flows given up before their decision (blocked under enforce, passed otherwise).",
	    (unsigned long long)st->gave_up);
	one(fp, "flows_reused_total", "counter",
	    "New SYNs on the 4-tuple of a settled flow (inspected as new connections).",
	    (unsigned long long)st->reused);
	one(fp, "pool_history_reclaimed_total", "counter",
	    "History chunks taken back from idle flows when the pool ran dry.",
	    (unsigned long long)st->hist_reclaimed);

	/* what the policy is made of */
	family(fp, "policy_domains", "gauge", "Domain policies loaded, by source.");
	fprintf(fp, "starttls_guard_policy_domains{source=\"config\"} %zu\n", in->cfg.n_domains[POL_SRC_CONFIG]);
	fprintf(fp, "starttls_guard_policy_domains{source=\"mta-sts\"} %zu\n", in->cfg.n_domains[POL_SRC_MTA_STS]);
	fprintf(fp, "starttls_guard_policy_domains{source=\"eff\"} %zu\n", in->cfg.n_domains[POL_SRC_EFF]);
	fprintf(fp, "starttls_guard_policy_domains{source=\"dane\"} %zu\n", in->cfg.n_domains[POL_SRC_DANE]);
	one(fp, "policy_dane_mx_hosts", "gauge", "MX hosts with DNSSEC-secure TLSA records loaded (DANE).",
	    (unsigned long long)in->cfg.dane_hosts);
	one(fp, "policy_dane_dnssec_invalid", "gauge",
	    "Cached DANE answers whose DNSSEC validation failed (bogus): no policy taken from them.",
	    (unsigned long long)in->cfg.dane_bogus);
	one(fp, "policy_address_rules", "gauge", "Address (CIDR) rules loaded.",
	    (unsigned long long)in->cfg.rules);
	one(fp, "policy_eff_expired", "gauge", "1 when the loaded EFF list is past its expiry.",
	    (unsigned long long)(in->cfg.eff_expired != 0));
	family(fp, "policy_expiry_timestamp_seconds", "gauge",
	    "When loaded policy data goes stale, seconds since the epoch: the EFF list's expires, the first MTA-STS policy's fetch time + max_age (0: none loaded).");
	fprintf(fp, "starttls_guard_policy_expiry_timestamp_seconds{source=\"eff\"} %lld\n",
	    (long long)in->cfg.eff_expires);
	fprintf(fp, "starttls_guard_policy_expiry_timestamp_seconds{source=\"mta-sts\"} %lld\n",
	    (long long)in->cfg.sts_expires);
	one(fp, "pins", "gauge", "Learned pins held.", (unsigned long long)in->pins);

	if (in->nfq != NULL) {
		one(fp, "nfq_received_total", "counter", "Packets received from NFQUEUE.",
		    (unsigned long long)in->nfq->received);
		one(fp, "nfq_verdicts_total", "counter", "Verdicts sent to the kernel.",
		    (unsigned long long)in->nfq->verdicts);
		one(fp, "nfq_batches_total", "counter", "Batch verdicts sent.",
		    (unsigned long long)in->nfq->batches);
		one(fp, "nfq_enobufs_total", "counter",
		    "ENOBUFS on the netlink socket: the kernel dropped messages to us.",
		    (unsigned long long)in->nfq->enobufs);
		one(fp, "nfq_send_errors_total", "counter", "Verdicts that could not be sent.",
		    (unsigned long long)in->nfq->send_errors);
		one(fp, "rst_sent_total", "counter", "TCP resets sent for blocked flows.",
		    (unsigned long long)in->nfq->rst_sent);
		one(fp, "nfq_changed_total", "counter",
		    "Packets forwarded changed: rewritten to the bytes first inspected, or their TTL raised to their sender's.",
		    (unsigned long long)in->nfq->changed);
		verdict_latency(fp, in->nfq);
	}
	if (in->proc_fd >= 0)
		proc_queues(fp, in->proc_fd);
	if (in->evid != NULL) {
		one(fp, "evidence_written_total", "counter", "Evidence pcaps written.",
		    (unsigned long long)in->evid->written);
		one(fp, "evidence_failed_total", "counter", "Evidence pcaps that could not be written.",
		    (unsigned long long)in->evid->failed);
		one(fp, "evidence_pruned_total", "counter", "Old evidence pcaps deleted to respect the limits.",
		    (unsigned long long)in->evid->pruned);
	}
	if (in->sl != NULL) {
		one(fp, "syslog_sent_total", "counter", "Syslog messages sent.",
		    (unsigned long long)in->sl->sent);
		one(fp, "syslog_dropped_total", "counter", "Syslog messages dropped (socket full, collector away).",
		    (unsigned long long)in->sl->dropped);
	}
	if (in->cluster != NULL)
		gw_metrics_cluster(fp, in->cluster);
	if (in->eve_redis != NULL) {
		one(fp, "eve_redis_sent_total", "counter", "EVE lines Redis took (outputs.redis).",
		    (unsigned long long)in->eve_redis->sent);
		one(fp, "eve_redis_dropped_total", "counter",
		    "EVE lines not sent to Redis: queue full (Redis slow or away).",
		    (unsigned long long)in->eve_redis->dropped);
		one(fp, "eve_redis_errors_total", "counter", "EVE lines Redis answered with an error.",
		    (unsigned long long)in->eve_redis->errors);
		one(fp, "eve_redis_up", "gauge", "1 while connected to the Redis of outputs.redis.",
		    (unsigned long long)(in->eve_redis->up != 0));
	}
}

int
gw_metrics_write(const char *path, const struct gw_metrics_in *in)
{
	char tmp[PATH_MAX + 8];
	FILE *fp;
	int fd, saved;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	/* 0644 less the umask (no fchmod: the sandbox does not allow it);
	 * node_exporter runs as another user and must be able to read it */
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) == -1)
		return -1;
	if ((fp = fdopen(fd, "w")) == NULL) {
		saved = errno;
		close(fd);
		unlink(tmp);
		errno = saved;
		return -1;
	}
	body(fp, in);
	if (fflush(fp) != 0 || ferror(fp)) {
		saved = errno;
		fclose(fp);
		unlink(tmp);
		errno = saved;
		return -1;
	}
	if (fclose(fp) != 0 || rename(tmp, path) == -1) {
		saved = errno;
		unlink(tmp);
		errno = saved;
		return -1;
	}
	return 0;
}

/* "# HELP" and "# TYPE" of one family. */
static void
cl_fam(FILE *fp, const char *name, const char *type, const char *help)
{
	fprintf(fp, "# HELP starttls_guard_cluster_%s %s\n# TYPE starttls_guard_cluster_%s %s\n",
	    name, help, name, type);
}

static void
cl_one(FILE *fp, const char *name, const char *type, const char *help, uint64_t v)
{
	cl_fam(fp, name, type, help);
	fprintf(fp, "starttls_guard_cluster_%s %llu\n", name, (unsigned long long)v);
}

void
gw_metrics_cluster(FILE *fp, const struct gw_cluster_stats *st)
{
	uint64_t cum = 0;

	cl_one(fp, "up", "gauge", "1 while connected to Redis and subscribed.", (uint64_t)(st->up != 0));
	cl_one(fp, "connects_total", "counter", "Successful (re)connections to Redis.", st->connects);
	cl_one(fp, "outages_total", "counter", "Connections to Redis lost or not made.", st->outages);
	cl_one(fp, "auth_failures_total", "counter", "Connections Redis refused for credentials.",
	    st->auth_failures);
	cl_one(fp, "resyncs_total", "counter", "State loads from Redis (start and after outages).",
	    st->resyncs);
	cl_one(fp, "published_total", "counter", "Local facts stored in Redis and published.",
	    st->published);
	cl_one(fp, "publish_batches_total", "counter", "Publish round trips.", st->batches);
	cl_one(fp, "coalesced_total", "counter",
	    "Repeated facts not republished (a pin once an hour, an MX name once a minute).",
	    st->coalesced);
	cl_one(fp, "publish_errors_total", "counter", "Commands Redis answered with an error.",
	    st->publish_errors);
	cl_one(fp, "dropped_total", "counter", "Local facts not published: queue full (Redis away).",
	    st->dropped);
	cl_fam(fp, "applied_total", "counter", "Remote facts applied to the local tables, by kind.");
	for (unsigned k = 1; k < GW_CLUSTER_KINDS; k++)
		fprintf(fp, "starttls_guard_cluster_applied_total{kind=\"%s\"} %llu\n", gw_cluster_kind_name(k),
		    (unsigned long long)st->applied[k]);
	cl_one(fp, "loaded_total", "counter", "Remote facts applied from state loads.", st->loaded);
	cl_fam(fp, "refused_total", "counter", "Remote values refused, by reason.");
	for (int r = 0; r < GW_CL_REF_COUNT; r++)
		fprintf(fp, "starttls_guard_cluster_refused_total{reason=\"%s\"} %llu\n",
		    gw_cluster_refusal_name((enum gw_cluster_refusal)r),
		    (unsigned long long)st->refused[r]);
	cl_one(fp, "expired_total", "counter", "Remote facts already expired when they arrived.",
	    st->expired);
	cl_one(fp, "kept_local_total", "counter",
	    "Remote MX names not applied: the local name gives as strong a policy.", st->kept_local);
	cl_one(fp, "own_total", "counter", "Own facts echoed back by Redis (ignored).", st->own);
	cl_fam(fp, "lag_seconds", "histogram",
	    "From a fact learned on another gateway to applied here (pub/sub).");
	for (unsigned b = 0; b < GW_CLUSTER_LAG_BUCKETS; b++) {
		cum += st->lag_bucket[b];
		fprintf(fp, "starttls_guard_cluster_lag_seconds_bucket{le=\"%g\"} %llu\n",
		    (double)gw_cluster_lag_bound_us(b) / 1e6, (unsigned long long)cum);
	}
	fprintf(fp, "starttls_guard_cluster_lag_seconds_bucket{le=\"+Inf\"} %llu\n",
	    (unsigned long long)st->lag_count);
	fprintf(fp, "starttls_guard_cluster_lag_seconds_sum %.6f\n", (double)st->lag_sum_us / 1e6);
	fprintf(fp, "starttls_guard_cluster_lag_seconds_count %llu\n",
	    (unsigned long long)st->lag_count);
}
