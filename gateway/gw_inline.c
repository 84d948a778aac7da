/*
 * gw_inline.c - the inline daemon: NFQUEUE threads, signals, reload, privileges.
 *
 * One engine per queue thread; the engines never meet. Everything shared
 * (current policy, reload and stats requests) goes through struct daemon
 * under one mutex and two generation counters that the threads poll in
 * their idle() callback, so the packet path takes no lock. Signals are
 * blocked everywhere and taken by one thread with sigtimedwait(), which
 * may then block on file I/O (config reload) without stalling verdicts.
 * A reloaded policy replaces the old one only when every queue thread has
 * switched to it; only then is the old one freed. Order at start: open the
 * queues and raw sockets, drop privileges, enter the seccomp sandbox, then
 * start threads (capabilities and the filter are inherited per thread).
 * The signal thread also rewrites the metrics file every
 * outputs.metrics.interval seconds, from the same summed snapshot a
 * SIGUSR1 stats event uses; each queue thread owns its evidence ring.
 */
#include <errno.h>
#include <grp.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/syscall.h>

#include "../nfq/nfq.h"
#include "gw_cluster.h"
#include "output/gw_eve_redis.h"
#include "output/gw_evidence.h"
#include "gw_fallback.h"
#include "gw_inline.h"
#include "output/gw_clock.h"
#include "output/gw_log.h"
#include "output/gw_metrics.h"
#include "gw_names.h"
#include "gw_pins.h"
#include "gw_sandbox.h"
#include "output/gw_syslog.h"
#include "gw_x509.h"

/* Pins are written to their file this often (and at reload and exit), so
 * a crash loses at most this much learning. */
#define GWI_PINS_SAVE_US (300ULL * 1000000ULL)

/* Bytes of each packet copied to us: everything, GSO packets included;
 * a cut segment would leave holes in the reassembled stream. */
#define GWI_COPY_RANGE      65535
/* How often each queue thread expires idle flows. */
#define GWI_EXPIRE_US       1000000u
/* How long a stats request waits for every thread's snapshot. */
#define GWI_STATS_WAIT_MS   2000
/* Step of the waits above and of the signal thread's wakeups. */
#define GWI_STEP_MS         10
#define GWI_SIGWAIT_MS      250

struct daemon;

/* One queue thread's state; touched by that thread, snap under d->mu. */
struct gw_thread {
	struct daemon     *d;            /* back pointer */
	unsigned           queue;        /* queue number */
	struct gw_engine  *e;            /* this thread's engine */
	unsigned           pol_gen;      /* policy generation the engine runs */
	unsigned           stats_gen;    /* last stats request answered */
	struct gw_stats    snap;         /* engine counters at that request */
	struct gw_evidence *evid;        /* this queue's evidence ring, NULL = off */
	struct gw_evidence_stats evsnap; /* its counters at that request */
	uint64_t           last_expire;  /* when flows were last expired, us */
	int                alive;        /* between thread_init and thread_fini */
};

struct daemon {
	const char        *config_path;  /* NULL: SIGHUP only reopens the EVE file */
	struct gw_config  *c;            /* owned: c->pol is the current policy */
	struct eve        *eve;          /* shared EVE writer (thread-safe) */
	unsigned           qfirst, n;    /* queues qfirst .. qfirst+n-1 */
	struct gw_thread  *th;           /* n slots, by queue - qfirst */
	struct nfq        *nfq;          /* transport, for its counters */
	pthread_mutex_t    mu;           /* guards pol, generations, snapshots */
	unsigned           pol_gen;      /* bumped on each policy swap */
	unsigned           stats_gen;    /* bumped on each stats request */
	unsigned           ready;        /* queue threads whose engine exists */
	struct pol        *retired;      /* old policy some thread may still use */
	volatile int       stop;         /* set by SIGTERM/SIGINT: queue threads end */
	volatile int       sig_done;     /* set when the queue threads have ended */
	/* learned at run time, shared by every queue's engine (NFQUEUE
	 * balances connections, not address pairs, across queues) */
	struct gw_fallback *fb;          /* recent TLS failures (tls_fallback) */
	struct gw_names   *names;        /* address -> MX name from DNS answers */
	struct gw_pins    *pins;         /* learned pins, kept in policy.pins.file */
	struct gw_x509_store *x509;      /* trust anchors, NULL = certificates not checked */
	struct gw_cluster *cl;           /* facts shared through Redis, NULL = off */
	struct gw_eve_redis *evr;        /* eve's Redis tee (not owned), NULL = none */
	uint64_t           pins_saved;   /* when the pins file was last written */
	struct gw_syslog  *sl;           /* eve's syslog tee (not owned), NULL = none */
	uint64_t           start_us;     /* process start, for the metrics */
	uint64_t           metrics_at;   /* when the metrics file was last written */
	int                metrics_err;  /* last write failed (warn once per outage) */
	int                proc_fd;      /* the kernel's queue list, opened while root (-1: none) */
};

/* Write the pins file (at intervals, reload and exit). */
static void
save_pins(struct daemon *d)
{
	char err[GW_PATH_MAX + 256];

	if (gw_pins_save(d->pins, err, sizeof err) == -1)
		log_warnx("pins: %s", err);
}

/* Microseconds of wall clock (EVE timestamps). */
static uint64_t
gwi_now(void)
{
	return gw_clock_us();
}

static void
gwi_sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* nfq thread_init: build this queue's engine on its own thread. */
static void *
gwi_thread_init(void *arg, unsigned queue)
{
	struct daemon *d = arg;
	const struct pol *pol;
	struct gw_engine *e;
	struct gw_thread *t;
	uint64_t seed;

	if (queue < d->qfirst || queue - d->qfirst >= d->n)
		return NULL;
	t = &d->th[queue - d->qfirst];
	if (getrandom(&seed, sizeof seed, 0) != (ssize_t)sizeof seed)
		seed = gwi_now() ^ ((uint64_t)getpid() << 32) ^ queue;
	t->d = d;
	t->queue = queue;
	/* Alive from here: a reload now waits for this thread to switch, so
	 * the policy read below is not freed while the engine is built
	 * outside the lock (building takes a while; queues start in parallel). */
	pthread_mutex_lock(&d->mu);
	pol = d->c->pol;
	t->pol_gen = d->pol_gen;
	t->stats_gen = d->stats_gen;
	t->alive = 1;
	pthread_mutex_unlock(&d->mu);
	e = gw_engine_new(&d->c->engine, pol, d->eve, seed);
	if (e != NULL) {
		gw_engine_set_fallback(e, d->fb);
		gw_engine_set_learned(e, d->names, d->pins);
		if (d->cl != NULL)
			gw_engine_set_cluster(e, gw_cluster_queue(d->cl));
		gw_engine_set_x509(e, d->x509);
		if (d->c->evidence.dir[0] != '\0') {
			/* the ring is preallocated here, never on the packet path */
			t->evid = gw_evidence_new(&d->c->evidence);
			if (t->evid == NULL)
				log_warnx("queue %u: no memory for the evidence ring (evidence off)", queue);
			gw_engine_set_evidence(e, t->evid);
		}
	}
	pthread_mutex_lock(&d->mu);
	t->e = e;
	t->alive = e != NULL;
	pthread_mutex_unlock(&d->mu);
	if (e == NULL) {
		log_warnx("queue %u: cannot create the inspection engine", queue);
		return NULL;
	}
	t->last_expire = gwi_now();
	pthread_mutex_lock(&d->mu);
	if (++d->ready == d->n)
		log_info("inline: %u queue thread%s ready", d->n,
		    d->n == 1 ? "" : "s");
	pthread_mutex_unlock(&d->mu);
	return t;
}

/* nfq thread_fini: finish the flows (flow events), keep the last counters. */
static void
gwi_thread_fini(void *tctx)
{
	struct gw_thread *t = tctx;
	struct daemon *d = t->d;

	gw_engine_flush(t->e, gwi_now());
	pthread_mutex_lock(&d->mu);
	gw_engine_get_stats(t->e, &t->snap);
	gw_evidence_get_stats(t->evid, &t->evsnap);
	t->alive = 0;
	pthread_mutex_unlock(&d->mu);
	gw_engine_free(t->e);
	t->e = NULL;
	gw_evidence_free(t->evid);
	t->evid = NULL;
}

/* nfq packet: the engine decides, we translate. */
static enum nfq_verdict
gwi_packet(void *tctx, uint8_t *ip, size_t len, uint64_t ts_us,
    unsigned in, struct pkt *p, unsigned *out)
{
	struct gw_thread *t = tctx;
	enum gw_verdict v;
	unsigned eo;

	v = gw_engine_packet_inline(t->e, ip, len, ts_us,
	    ((in & NFQ_IN_INSPECTING) ? GW_CT_INSPECTING : 0) |
	    ((in & NFQ_IN_CSUM_OK) ? GW_CT_CSUM_OK : 0), p, &eo);
	*out = ((eo & GW_OUT_REWRITTEN) ? NFQ_OUT_CHANGED : 0) |
	    ((eo & GW_OUT_INSPECTING) ? NFQ_OUT_INSPECTING : 0);
	switch (v) {
	case GW_V_BYPASS:
		return NFQ_BYPASS;
	case GW_V_DROP:
		return NFQ_DROP;
	case GW_V_BLOCK:
		return NFQ_BLOCK;
	case GW_V_ACCEPT:
	default:
		return NFQ_ACCEPT;
	}
}

/* nfq idle: pick up a new policy, answer a stats request, expire flows. */
static void
gwi_idle(void *tctx, uint64_t now_us)
{
	struct gw_thread *t = tctx;
	struct daemon *d = t->d;

	if (__atomic_load_n(&d->pol_gen, __ATOMIC_ACQUIRE) != t->pol_gen) {
		pthread_mutex_lock(&d->mu);
		gw_engine_set_policy(t->e, d->c->pol);
		t->pol_gen = d->pol_gen;
		pthread_mutex_unlock(&d->mu);
	}
	if (__atomic_load_n(&d->stats_gen, __ATOMIC_ACQUIRE) != t->stats_gen) {
		pthread_mutex_lock(&d->mu);
		gw_engine_get_stats(t->e, &t->snap);
		gw_evidence_get_stats(t->evid, &t->evsnap);
		t->stats_gen = d->stats_gen;
		pthread_mutex_unlock(&d->mu);
	}
	if (now_us - t->last_expire >= GWI_EXPIRE_US) {
		gw_engine_expire(t->e, now_us);
		t->last_expire = now_us;
	}
}

/* Add b's counters to a (gauges such as capacities add up too). */
static void
stats_add(struct gw_stats *a, const struct gw_stats *b)
{
	size_t i;

	a->packets += b->packets;
	a->bytes += b->bytes;
	for (i = 0; i < sizeof a->decode / sizeof a->decode[0]; i++)
		a->decode[i] += b->decode[i];
	a->not_monitored += b->not_monitored;
	a->midstream += b->midstream;
	a->lost += b->lost;
	a->gave_up += b->gave_up;
	a->reused += b->reused;
	a->expired_inspecting += b->expired_inspecting;
	for (i = 0; i < GW_V_COUNT; i++)
		a->verdicts[i] += b->verdicts[i];
	for (i = 0; i < SIG_COUNT; i++) {
		a->findings[i] += b->findings[i];
		a->findings_blocked[i] += b->findings_blocked[i];
	}
	a->suppressed += b->suppressed;
	a->flows_tls += b->flows_tls;
	a->flows_plain += b->flows_plain;
	a->flows_lost += b->flows_lost;
	a->frag_reassembled += b->frag_reassembled;
	a->frag_refused += b->frag_refused;
	a->dns_answers += b->dns_answers;
	a->bad_checksum += b->bad_checksum;
	a->bad_rst += b->bad_rst;
	a->urgent += b->urgent;
	a->insert_dropped += b->insert_dropped;
	a->ttl_raised += b->ttl_raised;
	a->rewritten += b->rewritten;
	a->hist_reclaimed += b->hist_reclaimed;
	a->evicted_inspecting += b->evicted_inspecting;
	for (i = 0; i < sizeof a->tls_versions / sizeof a->tls_versions[0]; i++)
		a->tls_versions[i] += b->tls_versions[i];
	a->certs_checked += b->certs_checked;
	a->hs_exhausted += b->hs_exhausted;
	a->pins_learned += b->pins_learned;
	for (i = 0; i < sizeof a->policy_by / sizeof a->policy_by[0]; i++)
		a->policy_by[i] += b->policy_by[i];
	for (i = 0; i < GW_S_COUNT; i++)
		a->sessions[i] += b->sessions[i];
	a->flow.capacity += b->flow.capacity;
	a->flow.active += b->flow.active;
	a->flow.created += b->flow.created;
	a->flow.evicted += b->flow.evicted;
	a->flow.expired += b->flow.expired;
	a->flow.removed += b->flow.removed;
	a->pool.chunks += b->pool.chunks;
	a->pool.in_use += b->pool.in_use;
	a->pool.exhausted += b->pool.exhausted;
}

/* Sum every queue's counters into *sum and *ev; unless final, first ask
 * the running threads for a fresh snapshot (taken at their next idle()). */
static void
collect_stats(struct daemon *d, int final, struct gw_stats *sum,
    struct gw_evidence_stats *ev)
{
	unsigned i, g, waited, pending;

	if (!final) {
		pthread_mutex_lock(&d->mu);
		g = ++d->stats_gen;
		pthread_mutex_unlock(&d->mu);
		__atomic_thread_fence(__ATOMIC_RELEASE);
		for (waited = 0; waited < GWI_STATS_WAIT_MS; waited += GWI_STEP_MS) {
			pthread_mutex_lock(&d->mu);
			for (pending = 0, i = 0; i < d->n; i++)
				if (d->th[i].alive && d->th[i].stats_gen != g)
					pending++;
			pthread_mutex_unlock(&d->mu);
			if (pending == 0)
				break;
			gwi_sleep_ms(GWI_STEP_MS);
		}
	}
	memset(sum, 0, sizeof *sum);
	memset(ev, 0, sizeof *ev);
	pthread_mutex_lock(&d->mu);
	for (i = 0; i < d->n; i++) {
		stats_add(sum, &d->th[i].snap);
		ev->written += d->th[i].evsnap.written;
		ev->failed += d->th[i].evsnap.failed;
		ev->pruned += d->th[i].evsnap.pruned;
		ev->packets += d->th[i].evsnap.packets;
	}
	pthread_mutex_unlock(&d->mu);
}

/* Rewrite the metrics file (outputs.metrics.file) from a summed snapshot. */
static void
write_metrics_from(struct daemon *d, const struct gw_stats *sum,
    const struct gw_evidence_stats *ev)
{
	struct gw_metrics_in mi;
	struct gw_syslog_stats ss;
	struct gw_cluster_stats cs;
	struct gw_eve_redis_stats es;
	struct nfq_stats ns;

	if (d->c->metrics_file[0] == '\0')
		return;
	memset(&mi, 0, sizeof mi);
	nfq_get_stats(d->nfq, &ns);
	gw_syslog_get_stats(d->sl, &ss);
	mi.mode = "inline";
	mi.st = sum;
	mi.nfq = &ns;
	mi.proc_fd = d->proc_fd;
	mi.evid = d->c->evidence.dir[0] ? ev : NULL;
	mi.sl = d->sl ? &ss : NULL;
	gw_config_metrics(d->c, &mi.cfg);
	mi.pins = gw_pins_count(d->pins);
	mi.start_us = d->start_us;
	mi.now_us = gwi_now();
	if (d->cl != NULL) {
		gw_cluster_get_stats(d->cl, &cs);
		mi.cluster = &cs;
	}
	if (d->evr != NULL) {
		gw_eve_redis_get_stats(d->evr, &es);
		mi.eve_redis = &es;
	}
	if (gw_metrics_write(d->c->metrics_file, &mi) == -1) {
		if (!d->metrics_err)
			log_warn("%s: cannot write the metrics file", d->c->metrics_file);
		d->metrics_err = 1;
	} else
		d->metrics_err = 0;
	d->metrics_at = gwi_now();
}

/* The periodic metrics write (signal thread). */
static void
write_metrics(struct daemon *d)
{
	struct gw_stats sum;
	struct gw_evidence_stats ev;

	collect_stats(d, 0, &sum, &ev);
	write_metrics_from(d, &sum, &ev);
}

/* Write one stats event: summed engine counters, and the transport's in
 * the log; the metrics file is refreshed from the same snapshot. Running
 * threads snapshot at their next idle(). */
static void
write_stats(struct daemon *d, int final)
{
	struct gw_stats sum;
	struct gw_evidence_stats ev;
	struct nfq_stats ns;

	collect_stats(d, final, &sum, &ev);
	eve_stats(d->eve, gwi_now(), &sum);
	write_metrics_from(d, &sum, &ev);
	nfq_get_stats(d->nfq, &ns);
	log_info("%sstats: nfq received=%llu verdicts=%llu batches=%llu "
	    "enobufs=%llu send_errors=%llu rst_sent=%llu changed=%llu gso=%llu csum_partial=%llu "
	    "verdict_us_p50=%llu "
	    "verdict_us_p99=%llu; engine packets=%llu "
	    "bypass=%llu block=%llu tls=%llu plaintext=%llu midstream=%llu",
	    final ? "final " : "",
	    (unsigned long long)ns.received, (unsigned long long)ns.verdicts,
	    (unsigned long long)ns.batches, (unsigned long long)ns.enobufs,
	    (unsigned long long)ns.send_errors, (unsigned long long)ns.rst_sent,
	    (unsigned long long)ns.changed, (unsigned long long)ns.gso,
	    (unsigned long long)ns.csum_partial, (unsigned long long)nfq_latency_us(&ns, 0.5),
	    (unsigned long long)nfq_latency_us(&ns, 0.99),
	    (unsigned long long)sum.packets,
	    (unsigned long long)sum.verdicts[GW_V_BYPASS],
	    (unsigned long long)sum.verdicts[GW_V_BLOCK],
	    (unsigned long long)sum.flows_tls, (unsigned long long)sum.flows_plain,
	    (unsigned long long)sum.midstream);
}

/* Settings a reload cannot apply to running threads and queues. */
static int
needs_restart(const struct gw_config *a, const struct gw_config *b)
{
	return memcmp(&a->engine, &b->engine, sizeof a->engine) != 0 ||
	    a->fail_open != b->fail_open || a->queue_maxlen != b->queue_maxlen ||
	    a->rcvbuf != b->rcvbuf || a->bypass_mark != b->bypass_mark ||
	    a->inspect_mark != b->inspect_mark ||
	    strcmp(a->user, b->user) != 0 || strcmp(a->eve_path, b->eve_path) != 0 ||
	    a->eve_enabled != b->eve_enabled ||
	    memcmp(&a->syslog, &b->syslog, sizeof a->syslog) != 0 ||
	    memcmp(&a->evidence, &b->evidence, sizeof a->evidence) != 0 ||
	    strcmp(a->metrics_file, b->metrics_file) != 0 ||
	    a->metrics_interval != b->metrics_interval ||
	    memcmp(&a->cluster, &b->cluster, sizeof a->cluster) != 0 ||
	    memcmp(&a->eve_redis, &b->eve_redis, sizeof a->eve_redis) != 0;
}

/* SIGHUP: load the file anew; swap the policy only if it loaded. */
static void
reload(struct daemon *d)
{
	struct gw_config *nc;
	struct pol *old;
	char err[512];
	unsigned i, g, pending;

	if (eve_reopen(d->eve) < 0)
		log_warn("reload: cannot reopen the EVE output");
	if (d->config_path == NULL) {
		log_info("reload: no configuration file; EVE output reopened");
		return;
	}
	nc = calloc(1, sizeof *nc);
	if (nc == NULL) {
		log_warnx("reload: out of memory; keeping the old configuration");
		return;
	}
	err[0] = '\0';
	if (gw_config_load(d->config_path, nc, err, sizeof err) < 0) {
		log_warnx("reload: %s; keeping the old configuration",
		    err[0] ? err : d->config_path);
		free(nc);
		return;
	}
	if (gw_config_check_reload(d->c, nc, err, sizeof err) < 0) {
		log_warnx("reload: %s; keeping the old configuration", err);
		gw_config_free(nc);
		free(nc);
		return;
	}
	for (i = 0; i < nc->nwarn && i < GW_CONFIG_WARN_MAX; i++)
		log_warnx("reload: %s", nc->warn[i]);
	save_pins(d);
	if (needs_restart(d->c, nc))
		log_warnx("reload: engine, nfqueue or outputs settings changed; "
		    "only the policy is reloaded, restart for the rest");

	pthread_mutex_lock(&d->mu);
	old = d->c->pol;
	d->c->pol = nc->pol;
	g = ++d->pol_gen;
	pthread_mutex_unlock(&d->mu);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	nc->pol = NULL;
	gw_config_free(nc);
	free(nc);

	/* Free the old policy once no engine can hold it any more. */
	for (;;) {
		pthread_mutex_lock(&d->mu);
		for (pending = 0, i = 0; i < d->n; i++)
			if (d->th[i].alive && d->th[i].pol_gen != g)
				pending++;
		pthread_mutex_unlock(&d->mu);
		if (pending == 0) {
			pol_free(old);
			break;
		}
		if (__atomic_load_n(&d->stop, __ATOMIC_RELAXED)) {
			d->retired = old;   /* freed after the threads are joined */
			break;
		}
		gwi_sleep_ms(GWI_STEP_MS);
	}
	log_info("reload: %s loaded, policy generation %u (%zu address rules)",
	    d->config_path, g, pol_rule_count(d->c->pol));
}

/* The signal thread: the only one that takes SIGTERM/INT/HUP/USR1. */
static void *
signal_thread(void *arg)
{
	struct daemon *d = arg;
	struct timespec ts = { 0, GWI_SIGWAIT_MS * 1000000L };
	sigset_t set;
	int sig;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGUSR1);
	while (!__atomic_load_n(&d->sig_done, __ATOMIC_ACQUIRE)) {
		uint64_t now = gwi_now();

		if (now - d->pins_saved >= GWI_PINS_SAVE_US) {
			save_pins(d);
			d->pins_saved = now;
		}
		if (d->c->metrics_file[0] != '\0' && !__atomic_load_n(&d->stop, __ATOMIC_ACQUIRE) &&
		    now - d->metrics_at >= (uint64_t)d->c->metrics_interval * 1000000u)
			write_metrics(d);
		sig = sigtimedwait(&set, NULL, &ts);
		if (sig < 0)
			continue;
		switch (sig) {
		case SIGTERM:
		case SIGINT:
			log_info("signal %d: stopping", sig);
			__atomic_store_n(&d->stop, 1, __ATOMIC_RELEASE);
			break;
		case SIGHUP:
			if (!__atomic_load_n(&d->stop, __ATOMIC_ACQUIRE))
				reload(d);
			break;
		case SIGUSR1:
			if (!__atomic_load_n(&d->stop, __ATOMIC_ACQUIRE))
				write_stats(d, 0);
			break;
		}
	}
	return NULL;
}

/* capset(2) without libcap: keep exactly caps in permitted and effective. */
static int
caps_keep(uint64_t caps)
{
	struct __user_cap_header_struct hdr;
	struct __user_cap_data_struct data[2];

	memset(&hdr, 0, sizeof hdr);
	memset(data, 0, sizeof data);
	hdr.version = _LINUX_CAPABILITY_VERSION_3;
	hdr.pid = 0;
	data[0].permitted = data[0].effective = (uint32_t)caps;
	data[1].permitted = data[1].effective = (uint32_t)(caps >> 32);
	return (int)syscall(SYS_capset, &hdr, data);
}

/*
 * Become user, keeping CAP_NET_ADMIN (nfnetlink checks it on every verdict)
 * and CAP_NET_RAW (resets). Must run while the process has one thread:
 * capabilities are per thread and threads created later inherit them.
 */
static int
drop_privileges(const char *user)
{
	const uint64_t keep = (1ull << CAP_NET_ADMIN) | (1ull << CAP_NET_RAW);
	struct passwd *pw;
	uid_t uid;
	gid_t gid;

	errno = 0;
	pw = getpwnam(user);
	if (pw == NULL) {
		log_warnx("user '%s' not found%s%s", user, errno ? ": " : "",
		    errno ? strerror(errno) : "");
		return -1;
	}
	uid = pw->pw_uid;
	gid = pw->pw_gid;
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0) {
		log_warn("prctl(PR_SET_KEEPCAPS)");
		return -1;
	}
	if (setgroups(1, &gid) < 0 || setresgid(gid, gid, gid) < 0 ||
	    setresuid(uid, uid, uid) < 0) {
		log_warn("cannot become user '%s'", user);
		return -1;
	}
	if (caps_keep(keep) < 0) {
		log_warn("capset");
		return -1;
	}
	(void)prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
	(void)prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
	if (uid != 0 && setuid(0) == 0) {
		log_warnx("privilege drop to '%s' did not stick", user);
		return -1;
	}
	log_info("running as %s (uid %u), keeping CAP_NET_ADMIN and CAP_NET_RAW",
	    user, (unsigned)uid);
	return 0;
}

int
gw_inline_run(const char *config_path, struct gw_config *c, unsigned qfirst,
    unsigned qlast, struct eve *eve, struct gw_syslog *sl, struct gw_eve_redis *evr)
{
	struct daemon d;
	struct nfq_conf nc;
	pthread_t sigtid;
	sigset_t set, oset;
	char err[256];
	int rc = 0, loop_rc, e;

	if (qlast < qfirst) {
		log_warnx("bad queue range %u-%u", qfirst, qlast);
		gw_config_free(c);
		return 1;
	}
	memset(&d, 0, sizeof d);
	d.config_path = config_path;
	d.c = c;
	d.eve = eve;
	d.sl = sl;
	d.evr = evr;
	d.start_us = gwi_now();
	d.proc_fd = -1;
	d.metrics_at = 0;   /* first write as soon as the signal thread runs */
	d.qfirst = qfirst;
	d.n = qlast - qfirst + 1;
	pthread_mutex_init(&d.mu, NULL);
	d.th = calloc(d.n, sizeof *d.th);
	if (d.th == NULL) {
		log_warnx("out of memory");
		gw_config_free(c);
		return 1;
	}

	/* Every thread created from here on inherits the blocked set. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &set, &oset);
	signal(SIGPIPE, SIG_IGN);

	/* What the engines learn is shared; the pins file is read now, as
	 * root, and written later as the daemon user (who must own its
	 * directory, as Postfix's data_directory). */
	d.fb = gw_fallback_new(c->engine.fallback_entries, gwi_now() ^ 0xfb);
	d.names = gw_names_new(c->engine.names_entries ? c->engine.names_entries : 1,
	    gwi_now() ^ 0x4e);
	d.pins = gw_pins_new(c->engine.pins_max, c->pins_file, (uint32_t)gwi_now());
	if (d.fb == NULL || d.names == NULL || d.pins == NULL) {
		log_warnx("out of memory");
		rc = 1;
		goto out;
	}
	if (gw_pins_load(d.pins, err, sizeof err) == -1)
		log_warnx("pins: %s (starting without them)", err);
	else if (gw_pins_count(d.pins) > 0)
		log_info("pins: %zu learned servers loaded", gw_pins_count(d.pins));
	d.pins_saved = gwi_now();
	if (c->cluster.enabled) {
		struct gw_cluster_tables ct = {
			.names = d.names, .pins = d.pins, .fb = d.fb,
			.pins_max_age = c->engine.pins_max_age,
			.fallback_window_s = c->engine.fallback_window_s,
			.pins_mode = c->engine.pins_mode, .pol_mu = &d.mu, .pol = &d.c->pol };

		if ((d.cl = gw_cluster_new(&c->cluster, &ct)) == NULL) {
			log_warnx("out of memory");
			rc = 1;
			goto out;
		}
		gw_names_set_tap(d.names, gw_cluster_queue(d.cl));
	}
	if (c->ca_file[0] != '\0' || pol_has_domains(c->pol)) {
		d.x509 = gw_x509_store_new(c->ca_file[0] ? c->ca_file : NULL, err, sizeof err);
		if (d.x509 == NULL)
			log_warnx("%s (certificates will not be checked)", err);
	}

	memset(&nc, 0, sizeof nc);
	nc.qfirst = qfirst;
	nc.qlast = qlast;
	nc.queue_maxlen = c->queue_maxlen;
	nc.rcvbuf = c->rcvbuf;
	nc.copy_range = GWI_COPY_RANGE;
	nc.bypass_mark = c->bypass_mark;
	nc.inspect_mark = c->inspect_mark;
	nc.fail_open = c->fail_open;
	nc.thread_init = gwi_thread_init;
	nc.thread_fini = gwi_thread_fini;
	nc.packet = gwi_packet;
	nc.idle = gwi_idle;
	nc.arg = &d;
	err[0] = '\0';
	d.nfq = nfq_open(&nc, err, sizeof err);
	if (d.nfq == NULL) {
		log_warnx("nfqueue: %s", err);
		rc = 1;
		goto out;
	}
	d.proc_fd = gw_metrics_proc_open(); /* root's file: before the drop */
	if (c->user[0] != '\0' && drop_privileges(c->user) < 0) {
		rc = 1;
		goto out;
	}
	/* Every socket is open and ids are final: from here on only the
	 * system calls of the packet loop, logging and reloads remain. Before
	 * any thread exists, so all inherit the filter. */
	if (gw_sandbox_enter(err, sizeof err) < 0)
		log_warnx("running without the seccomp sandbox: %s", err);
	else {
		log_info("seccomp sandbox on (%zu system calls allowed)",
		    gw_sandbox_allowed_count());
		/* socket(2) would now kill us: a lost syslog TCP link stays lost */
		gw_syslog_no_new_sockets(sl);
	}
	log_info("inline: queues %u-%u, fail-open %s, bypass mark 0x%x, "
	    "inspect mark 0x%x, queue maxlen %u", qfirst, qlast, c->fail_open ? "on" : "off",
	    c->bypass_mark, c->inspect_mark, c->queue_maxlen);

	/* after the sandbox: the sync thread gets the filter too (it needs
	 * only stream sockets, connect and poll, which the list has) */
	if (d.cl != NULL && gw_cluster_start(d.cl) < 0) {
		log_warn("cluster thread");
		rc = 1;
		goto out;
	}
	e = pthread_create(&sigtid, NULL, signal_thread, &d);
	if (e != 0) {
		errno = e;
		log_warn("signal thread");
		rc = 1;
		goto out;
	}
	loop_rc = nfq_loop(d.nfq, &d.stop);
	if (loop_rc < 0 && !__atomic_load_n(&d.stop, __ATOMIC_ACQUIRE)) {
		log_warn("nfqueue threads stopped");
		rc = 1;
	}
	__atomic_store_n(&d.sig_done, 1, __ATOMIC_RELEASE);
	pthread_join(sigtid, NULL);
	if (d.cl != NULL)
		gw_cluster_stop(d.cl);
	write_stats(&d, 1);
out:
	if (d.cl != NULL)
		gw_cluster_stop(d.cl);   /* a failed start path: joins if running */
	if (d.nfq != NULL)
		nfq_close(d.nfq);
	if (d.proc_fd >= 0)
		close(d.proc_fd);
	if (d.pins != NULL)
		save_pins(&d);
	gw_cluster_free(d.cl);
	gw_pins_free(d.pins);
	gw_names_free(d.names);
	gw_fallback_free(d.fb);
	gw_x509_store_free(d.x509);
	pol_free(d.retired);
	gw_config_free(c);
	free(d.th);
	pthread_mutex_destroy(&d.mu);
	pthread_sigmask(SIG_SETMASK, &oset, NULL);
	return rc;
}
