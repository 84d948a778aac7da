/*
 * cluster.c - propagation delay between two gateways through a real Redis,
 * and the engine's per-packet cost with clustering on and off.
 *
 * Usage: cluster REDIS_URL N CAPTURE.pcap [PASSES]
 *
 * Two cluster sync threads (gateway A and B: each its own tables, queue,
 * two Redis connections, as two processes would have) run against the
 * Redis at REDIS_URL. Propagation: N times, A's queue gets a fresh MX
 * fact, as a packet thread pushes one when a DNS answer crosses router A;
 * the clock runs until B's names table (what B's packet threads read)
 * has it (looked at every 20 us). Facts are paced 2 ms apart, as separate
 * lookups arrive. Prints
 * p50/p90/p99/max and how many would lose a race against a SYN arriving
 * 0.5, 1, 2 and 5 ms after the DNS answer.
 * Per-packet cost: the capture is loaded into memory and run through a
 * fresh engine PASSES times (default 20) alternately without and with
 * clustering (taps on, A's sync thread publishing what it learns), so
 * both see the same machine load; prints ns/packet of each, the best
 * pass and the median. A benchmark tool: exits on any error.
 */
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sys/prctl.h>

#include "../gateway/gw_clq.h"
#include "../gateway/gw_cluster.h"
#include "../gateway/gw_config.h"
#include "../gateway/gw_engine.h"
#include "../gateway/gw_fallback.h"
#include "../gateway/gw_names.h"
#include "../gateway/gw_pins.h"
#include "../gateway/output/gw_clock.h"

/* One simulated gateway. */
struct side {
	struct gw_names    *names;
	struct gw_pins     *pins;
	struct gw_fallback *fb;
	struct gw_cluster  *cl;
};

struct frame {
	uint8_t *data;
	uint32_t len;
	uint64_t ts_us;
};

static void
die(const char *msg)
{
	fprintf(stderr, "cluster: %s\n", msg);
	exit(1);
}

static void
side_init(struct side *s, struct gw_config *c, pthread_mutex_t *mu, const char *url, const char *id)
{
	struct gw_cluster_conf cc;

	s->names = gw_names_new(1 << 16, 11);
	s->pins = gw_pins_new(1 << 16, "", 12);
	s->fb = gw_fallback_new(4096, 13);
	gw_cluster_conf_default(&cc);
	snprintf(cc.redis.url, sizeof cc.redis.url, "%s", url);
	snprintf(cc.id, sizeof cc.id, "%s", id);
	snprintf(cc.prefix, sizeof cc.prefix, "stgbench:");
	cc.enabled = 1;
	cc.queue = 1 << 16;
	struct gw_cluster_tables t = { s->names, s->pins, s->fb, c->engine.pins_max_age,
	    c->engine.fallback_window_s, c->engine.pins_mode, mu, &c->pol };
	if (s->names == NULL || s->pins == NULL || s->fb == NULL ||
	    (s->cl = gw_cluster_new(&cc, &t)) == NULL)
		die("out of memory");
	gw_names_set_tap(s->names, gw_cluster_queue(s->cl));
	if (gw_cluster_start(s->cl) < 0)
		die("cannot start a sync thread");
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Load every frame of the capture. */
static struct frame *
load(const char *path, size_t *n, int *linktype)
{
	char err[PCAP_ERRBUF_SIZE];
	pcap_t *p = pcap_open_offline(path, err);
	struct pcap_pkthdr *h;
	const u_char *d;
	struct frame *f = NULL;
	size_t cap = 0;

	if (p == NULL)
		die(err);
	*linktype = pcap_datalink(p);   /* the engine takes pcap link types as they are */
	*n = 0;
	while (pcap_next_ex(p, &h, &d) == 1) {
		if (*n == cap) {
			cap = cap ? cap * 2 : 4096;
			if ((f = realloc(f, cap * sizeof(*f))) == NULL)
				die("out of memory");
		}
		if ((f[*n].data = malloc(h->caplen)) == NULL)
			die("out of memory");
		memcpy(f[*n].data, d, h->caplen);
		f[*n].len = h->caplen;
		f[*n].ts_us = (uint64_t)h->ts.tv_sec * 1000000u + (uint64_t)h->ts.tv_usec;
		(*n)++;
	}
	pcap_close(p);
	return f;
}

/* One pass of the capture through a fresh engine; ns per packet. */
static double
pass(struct gw_config *c, struct side *s, int clustered, struct frame *fr, size_t n, int lt)
{
	struct gw_engine *e = gw_engine_new(&c->engine, c->pol, NULL, 7);
	uint64_t t0, t1, shift;

	if (e == NULL)
		die("engine");
	gw_engine_set_learned(e, s->names, s->pins);
	gw_engine_set_fallback(e, s->fb);
	if (clustered)
		gw_engine_set_cluster(e, gw_cluster_queue(s->cl));
	/* pins are learned at "now", so the published facts are live ones */
	shift = gw_clock_us() - fr[0].ts_us;
	t0 = gw_clock_mono_ns();
	for (size_t i = 0; i < n; i++)
		gw_engine_packet(e, lt, fr[i].data, fr[i].len, fr[i].ts_us + shift, NULL);
	t1 = gw_clock_mono_ns();
	gw_engine_free(e);
	return (double)(t1 - t0) / (double)n;
}

int
main(int argc, char **argv)
{
	struct gw_config c;
	pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
	struct side a, b;
	struct gw_cluster_stats sa, sb;
	uint64_t *d;
	size_t nf, nd = 0;
	int n, passes, lt;
	struct frame *fr;

	if (argc < 4)
		die("usage: cluster REDIS_URL N CAPTURE.pcap [PASSES]");
	n = atoi(argv[2]);
	passes = argc > 4 ? atoi(argv[4]) : 20;
	if (n < 1 || passes < 2)
		die("N >= 1, PASSES >= 2");
	if (gw_config_default(&c) < 0)
		die("config");
	(void)prctl(PR_SET_TIMERSLACK, 1, 0, 0, 0);   /* short sleeps stay short */
	c.engine.pins_mode = POL_MODE_ENFORCE;
	side_init(&a, &c, &mu, argv[1], "bench-a");
	side_init(&b, &c, &mu, argv[1], "bench-b");
	for (int i = 0; i < 500; i++) {
		gw_cluster_get_stats(a.cl, &sa);
		gw_cluster_get_stats(b.cl, &sb);
		if (sa.up && sb.up)
			break;
		usleep(10000);
	}
	if (!sa.up || !sb.up)
		die("the sync threads did not connect to Redis");

	/* propagation */
	if ((d = calloc((size_t)n, sizeof(*d))) == NULL)
		die("out of memory");
	for (int i = 0; i < n; i++) {
		struct gw_fact f;
		char out[GW_NAMES_NAME_MAX + 1];
		uint64_t t0, deadline;

		memset(&f, 0, sizeof f);
		f.kind = GW_FACT_MX;
		f.af = 6;
		f.addr.a[0] = 0x20; f.addr.a[1] = 0x01; f.addr.a[2] = 0x0d; f.addr.a[3] = 0xb8;
		f.addr.a[12] = (uint8_t)(i >> 24); f.addr.a[13] = (uint8_t)(i >> 16);
		f.addr.a[14] = (uint8_t)(i >> 8); f.addr.a[15] = (uint8_t)i;
		f.addr.a[8] = (uint8_t)getpid();
		snprintf(f.name, sizeof f.name, "mx%d.example.net", i);
		t0 = gw_clock_us();
		f.at_us = t0;
		f.expires_us = t0 + 120 * 1000000ULL;
		gw_clq_push(gw_cluster_queue(a.cl), &f, 1);
		deadline = t0 + 2000000;
		/* look every 20 us, sleeping between looks: a spinning reader
		 * would take one of the cores the sync threads and Redis need */
		while (!gw_names_get(b.names, 6, &f.addr, gw_clock_us(), out, sizeof out)) {
			struct timespec ts = { 0, 20000 };
			if (gw_clock_us() > deadline)
				break;
			nanosleep(&ts, NULL);
		}
		if (gw_clock_us() <= deadline)
			d[nd++] = gw_clock_us() - t0;
		usleep(2000);
	}
	qsort(d, nd, sizeof(*d), cmp_u64);
	if (nd == 0)
		die("no fact arrived");
	{
		size_t lose[4] = { 0, 0, 0, 0 };
		static const uint64_t gap[4] = { 500, 1000, 2000, 5000 };

		for (size_t i = 0; i < nd; i++)
			for (int g = 0; g < 4; g++)
				lose[g] += d[i] > gap[g];
		printf("propagation A -> B (%zu of %d facts arrived within 2 s): "
		    "p50 %llu us, p90 %llu us, p99 %llu us, max %llu us\n", nd, n,
		    (unsigned long long)d[nd / 2], (unsigned long long)d[nd * 9 / 10],
		    (unsigned long long)d[nd * 99 / 100], (unsigned long long)d[nd - 1]);
		printf("would lose the race to a SYN arriving 0.5 / 1 / 2 / 5 ms after the DNS answer: "
		    "%.1f%% / %.1f%% / %.1f%% / %.1f%%\n", 100.0 * (double)lose[0] / (double)nd,
		    100.0 * (double)lose[1] / (double)nd, 100.0 * (double)lose[2] / (double)nd,
		    100.0 * (double)lose[3] / (double)nd);
	}

	/* per-packet cost, off and on alternately */
	fr = load(argv[3], &nf, &lt);
	{
		double *off = calloc((size_t)passes, sizeof(double)), *on = calloc((size_t)passes, sizeof(double));
		int no = 0, nn = 0;

		if (off == NULL || on == NULL)
			die("out of memory");
		for (int p = 0; p < passes; p++) {
			int clustered = p % 2;
			double v = pass(&c, &a, clustered, fr, nf, lt);
			if (clustered)
				on[nn++] = v;
			else
				off[no++] = v;
		}
		for (int i = 0; i < no; i++)
			for (int j = i + 1; j < no; j++)
				if (off[j] < off[i]) { double t = off[i]; off[i] = off[j]; off[j] = t; }
		for (int i = 0; i < nn; i++)
			for (int j = i + 1; j < nn; j++)
				if (on[j] < on[i]) { double t = on[i]; on[i] = on[j]; on[j] = t; }
		usleep(200000);   /* let A publish the last batch */
		gw_cluster_get_stats(a.cl, &sa);
		printf("per packet (%zu packets, %d passes each): clustering off best %.1f ns, "
		    "median %.1f ns; on best %.1f ns, median %.1f ns (%+.1f%% median); "
		    "A published %llu facts in %llu batches, dropped %llu\n", nf, no, off[0],
		    off[no / 2], on[0], on[nn / 2], 100.0 * (on[nn / 2] - off[no / 2]) / off[no / 2],
		    (unsigned long long)sa.published, (unsigned long long)sa.batches,
		    (unsigned long long)sa.dropped);
		free(off);
		free(on);
	}
	gw_cluster_get_stats(b.cl, &sb);
	printf("B applied %llu MX, %llu pins; lag histogram count %llu, mean %.0f us\n",
	    (unsigned long long)sb.applied[GW_FACT_MX], (unsigned long long)sb.applied[GW_FACT_PIN],
	    (unsigned long long)sb.lag_count,
	    sb.lag_count ? (double)sb.lag_sum_us / (double)sb.lag_count : 0.0);
	gw_cluster_free(a.cl);
	gw_cluster_free(b.cl);
	for (size_t i = 0; i < nf; i++)
		free(fr[i].data);
	free(fr);
	free(d);
	gw_config_free(&c);
	return 0;
}
