/*
 * stg_nfqprobe.c - exercise nfq/ without the engine (integration tests).
 *
 *   stg_nfqprobe -q QUEUES [-m MARK] [-o COUNTS_FILE]
 *
 * Serves the queues with nfq_open()/nfq_loop(). A TCP payload containing
 * "BYPASS" gets NFQ_BYPASS (connmark written), one containing "BLOCK" gets
 * NFQ_BLOCK (drop + RSTs), anything else NFQ_ACCEPT. On SIGTERM/SIGINT it
 * writes "received=N verdicts=N batches=N rst_sent=N" to COUNTS_FILE (or
 * stdout) and exits 0. Proves, independently of the SMTP engine, that the
 * bypass mark stops the queueing and that resets reach both ends.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../inspect/pkt.h"
#include "../../nfq/nfq.h"

static volatile int stop;

static void
on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

/* memmem over the TCP payload. */
static int
has(const struct pkt *p, const char *s)
{
	return p->payload_len > 0 &&
	    memmem(p->payload, p->payload_len, s, strlen(s)) != NULL;
}

static enum nfq_verdict
probe_packet(void *tctx, uint8_t *ip, size_t len, uint64_t ts_us,
    unsigned in, struct pkt *p, unsigned *out)
{
	(void)tctx; (void)ts_us; (void)in; (void)out;
	if (pkt_decode_ip(p, ip, len) != PKT_OK)
		return NFQ_ACCEPT;
	if (has(p, "BLOCK"))
		return NFQ_BLOCK;
	if (has(p, "BYPASS"))
		return NFQ_BYPASS;
	return NFQ_ACCEPT;
}

static void *
probe_init(void *arg, unsigned queue)
{
	(void)queue;
	return arg;
}

int
main(int argc, char **argv)
{
	struct nfq_conf c;
	struct nfq_stats st;
	struct sigaction sa;
	const char *out = NULL;
	char err[256];
	struct nfq *q;
	FILE *f;
	int ch;

	memset(&c, 0, sizeof c);
	c.copy_range = 65535;
	c.queue_maxlen = 4096;
	c.rcvbuf = 4 << 20;
	c.bypass_mark = 0x10000;
	c.fail_open = 1;
	c.packet = probe_packet;
	c.thread_init = probe_init;
	c.arg = &c;
	while ((ch = getopt(argc, argv, "q:m:o:")) != -1) {
		switch (ch) {
		case 'q':
			if (sscanf(optarg, "%u-%u", &c.qfirst, &c.qlast) != 2)
				c.qlast = c.qfirst = (unsigned)atoi(optarg);
			break;
		case 'm':
			c.bypass_mark = (uint32_t)strtoul(optarg, NULL, 0);
			break;
		case 'o':
			out = optarg;
			break;
		default:
			fprintf(stderr, "usage: stg_nfqprobe -q QUEUES [-m MARK] [-o FILE]\n");
			return 2;
		}
	}
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	q = nfq_open(&c, err, sizeof err);
	if (q == NULL) {
		fprintf(stderr, "stg_nfqprobe: %s\n", err);
		return 1;
	}
	fprintf(stderr, "stg_nfqprobe: ready\n");
	if (nfq_loop(q, &stop) < 0)
		perror("stg_nfqprobe: nfq_loop");
	nfq_get_stats(q, &st);
	nfq_close(q);
	f = out != NULL ? fopen(out, "w") : stdout;
	if (f == NULL)
		return 1;
	fprintf(f, "received=%llu verdicts=%llu batches=%llu rst_sent=%llu "
	    "send_errors=%llu enobufs=%llu\n",
	    (unsigned long long)st.received, (unsigned long long)st.verdicts,
	    (unsigned long long)st.batches, (unsigned long long)st.rst_sent,
	    (unsigned long long)st.send_errors, (unsigned long long)st.enobufs);
	if (f != stdout)
		fclose(f);
	return 0;
}
