/*
 * stg_flood.c - floods through a live gateway, each end from its own
 * network namespace (tests/integ/t10_flood_inline.sh).
 *
 *   stg_flood -c CLIENT_NETNS -s SERVER_NETNS [-n SYNS] [-o HALF_OPEN]
 *             [-l LINE_KB] [-t TINY] [-W WINDOW] [-w STOPFILE] [-m SECONDS]
 *
 * Four floods at once, interleaved round by round, every datagram a raw
 * one (header included, valid checksums) sent from the client namespace
 * when it travels client->server and from the server namespace otherwise,
 * so the gateway in between forwards and inspects each as real traffic:
 *
 *   -n  SYNs with distinct tuples, never answered (default 50000);
 *   -o  idle half-open sessions: SYN, SYN-ACK, then nothing (default
 *       20000); every 8th one completes the handshake and gets the
 *       server's 220 greeting, then idles waiting for an EHLO;
 *   -l  one session whose client, after EHLO, sends "NOOP " and then a
 *       line that never ends: LINE_KB kilobytes without CRLF (default
 *       16384), the server ACKing each round;
 *   -t  one session sending TINY one-byte segments (NOOP commands byte by
 *       byte, four pipelined per round, each answered; default 20000).
 *
 * Addresses (documentation ranges only): clients 198.51.100.128-191 and
 * 2001:db8:1::80-bf, servers 203.0.113.128-191 and 2001:db8:2::80-bf; a
 * quarter of the SYNs and half-open sessions are IPv6. The SYN flood uses
 * host offsets 0-15, half-open 16-31, the line flow offset 32 (port 40000),
 * the tiny flow offset 33 (port 40001). The caller routes them across the
 * gateway and makes the far routers deliver them to the end namespaces
 * (static neighbours), which drop them (they are not their addresses).
 *
 * Pacing: a packet socket in each end namespace sees what comes out of the
 * gateway. At most WINDOW (default 512) datagrams are in flight, so the
 * gateway's queue never overflows into fail-open because of us; before a
 * direction changes, everything sent must have arrived (a reply never
 * overtakes its request inside the gateway). When nothing arrives for
 * three seconds, what is still in flight counts as lost. With -w the
 * floods go on (same rate, fresh tuples, the line and the tiny storm
 * continue) until STOPFILE exists, the counts given being minimums; -m
 * caps the run (default 300 s).
 *
 * Progress goes to stderr once a second; at the end one line
 *   summary syn=N syn6=N half=N greeted=N line_bytes=N line_segs=N
 *           tiny=N tiny_cmds=N packets=N lost=N late=N rounds=N secs=S
 * sums up, then the tiny flow is closed with FINs (so the gateway writes its flow
 * event) and so is the line flow. Exit 0, 1 on a setup error.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "../../inspect/csum.h"
#include "../../inspect/wire.h"
#include "stg_side.h"

#define TH_FIN 0x01
#define TH_SYN 0x02
#define TH_PSH 0x08
#define TH_ACK 0x10

#define MSS        1448u
#define WIN        65000u
#define LOST_MS    3000      /* nothing out of the gateway for that long: the rest is lost */
#define OFF_SYN    0         /* host offsets (see above) */
#define OFF_HALF   16
#define OFF_LINE   32
#define OFF_TINY   33
#define TINY_PER   4         /* NOOPs pipelined per round (the engine allows 8) */
#define HALF_PER   64        /* per round at most (before scaling) */
#define SYN_PER    256
#define LINE_PER   16        /* segments per round: within one unscaled window */

/* One TCP connection between a flood client and server. */
struct conn {
	int      v6;
	unsigned coff, soff;   /* host offsets */
	uint16_t port[2];      /* client, server */
	uint32_t nxt[2];       /* next seq of client, server */
};

static struct side cli, srv;
static int64_t outstanding;
static uint64_t sent, lost, late;
static unsigned window = 512;

static void
die(const char *what)
{
	fprintf(stderr, "stg_flood: %s: %s\n", what, strerror(errno));
	exit(1);
}

static double
now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Address of host offset off on the client (0) or server (1) side. */
static void
flood_addr(int v6, int server, unsigned off, uint8_t *a)
{
	if (!v6) {
		a[0] = server ? 203 : 198;
		a[1] = server ? 0 : 51;
		a[2] = server ? 113 : 100;
		a[3] = (uint8_t)(128 + off);
	} else {
		memset(a, 0, 16);
		a[0] = 0x20; a[1] = 0x01; a[2] = 0x0d; a[3] = 0xb8;
		a[5] = server ? 2 : 1;
		a[15] = (uint8_t)(0x80 + off);
	}
}

/* Is this datagram (as the packet socket hands it, from the IP header) one
 * of ours: its destination in the flood ranges? */
static int
ours(const uint8_t *b, ssize_t n)
{
	if (n >= 20 && (b[0] >> 4) == 4)
		return ((b[16] == 198 && b[17] == 51 && b[18] == 100) ||
		    (b[16] == 203 && b[17] == 0 && b[18] == 113)) && (b[19] & 0xc0) == 0x80;
	if (n >= 40 && (b[0] >> 4) == 6) {
		static const uint8_t pre[4] = { 0x20, 0x01, 0x0d, 0xb8 };
		const uint8_t *d = b + 24;
		int i;

		if (memcmp(d, pre, 4) != 0 || d[4] != 0 || (d[5] != 1 && d[5] != 2))
			return 0;
		for (i = 6; i < 15; i++)
			if (d[i] != 0)
				return 0;
		return (d[15] & 0xc0) == 0x80;
	}
	return 0;
}

/* Count what came out at either end; 1 if anything of ours did. */
static int
reap(int timeout_ms)
{
	static uint8_t buf[70000];
	struct pollfd pfd[2] = { { cli.cap, POLLIN, 0 }, { srv.cap, POLLIN, 0 } };
	struct sockaddr_ll sll;
	socklen_t sl;
	ssize_t n;
	int i, got = 0;

	if (poll(pfd, 2, timeout_ms) <= 0)
		return 0;
	for (i = 0; i < 2; i++) {
		if (!(pfd[i].revents & POLLIN))
			continue;
		for (;;) {
			sl = sizeof sll;
			n = recvfrom(pfd[i].fd, buf, sizeof buf, MSG_DONTWAIT,
			    (struct sockaddr *)&sll, &sl);
			if (n <= 0)
				break;
			if (sll.sll_pkttype == PACKET_OUTGOING || !ours(buf, n))
				continue;
			got = 1;
			if (outstanding > 0)
				outstanding--;
			else
				late++;
		}
	}
	return got;
}

/* Wait until at most limit datagrams are in flight. */
static void
settle(int64_t limit)
{
	double last = now_s();

	while (outstanding > limit) {
		if (reap(100))
			last = now_s();
		else if (now_s() - last > LOST_MS / 1000.0) {
			lost += (uint64_t)outstanding;
			outstanding = 0;
		}
	}
}

/* Send one segment of c from side `from` (0 client, 1 server). */
static void
seg(struct conn *c, int from, unsigned flags, const void *pl, size_t n)
{
	uint8_t f[40 + 20 + MSS];
	uint8_t a[2][16];
	uint8_t ph[40], *th;
	size_t hl = c->v6 ? 40 : 20, phl;
	const struct side *s = from ? &srv : &cli;
	int r;

	if (n > MSS)
		n = MSS;
	if (outstanding >= (int64_t)window)
		settle(window / 2);
	flood_addr(c->v6, 0, c->coff, a[0]);
	flood_addr(c->v6, 1, c->soff, a[1]);
	memset(f, 0, hl + 20);
	if (!c->v6) {
		f[0] = 0x45;
		put16(f + 2, (unsigned)(20 + 20 + n));
		put16(f + 6, 0x4000);
		f[8] = 64;
		f[9] = 6;
		memcpy(f + 12, a[from], 4);
		memcpy(f + 16, a[!from], 4);
		put16(f + 10, csum_fold(csum_add(0, f, 20)));
		memcpy(ph, f + 12, 8);
		ph[8] = 0;
		ph[9] = 6;
		put16(ph + 10, (unsigned)(20 + n));
		phl = 12;
	} else {
		f[0] = 0x60;
		put16(f + 4, (unsigned)(20 + n));
		f[6] = 6;
		f[7] = 64;
		memcpy(f + 8, a[from], 16);
		memcpy(f + 24, a[!from], 16);
		memcpy(ph, f + 8, 32);
		put32(ph + 32, (uint32_t)(20 + n));
		memset(ph + 36, 0, 3);
		ph[39] = 6;
		phl = 40;
	}
	th = f + hl;
	put16(th, c->port[from]);
	put16(th + 2, c->port[!from]);
	put32(th + 4, c->nxt[from]);
	put32(th + 8, (flags & TH_ACK) ? c->nxt[!from] : 0);
	th[12] = 5 << 4;
	th[13] = (uint8_t)flags;
	put16(th + 14, WIN);
	if (n)
		memcpy(th + 20, pl, n);
	put16(th + 16, csum_fold(csum_add(csum_add(0, ph, phl), th, 20 + n)));
	c->nxt[from] += (uint32_t)n + ((flags & (TH_SYN | TH_FIN)) ? 1 : 0);

	r = side_send(s, c->v6, a[!from], f, hl + 20 + n);
	if (r < 0) {
		/* a full device queue: let it drain and try once more */
		settle(0);
		if (side_send(s, c->v6, a[!from], f, hl + 20 + n) < 0)
			die("sendto");
	}
	sent++;
	outstanding++;
}

static void
say(struct conn *c, int from, const char *text)
{
	seg(c, from, TH_ACK | TH_PSH, text, strlen(text));
}

/* The tuple of SYN-flood index i, or of half-open index i (base OFF_HALF):
 * 16 x 16 address pairs, then the client port; distinct below 16.4 M. */
static void
tuple(struct conn *c, uint64_t i, unsigned base, int v6)
{
	c->v6 = v6;
	c->coff = base + (unsigned)(i % 16);
	c->soff = base + (unsigned)((i / 16) % 16);
	c->port[0] = (uint16_t)(1024 + (i / 256) % 64000);
	c->port[1] = 25;
}

static void
syn_one(uint64_t i)
{
	struct conn c;

	tuple(&c, i, OFF_SYN, i % 4 == 3);
	c.nxt[0] = (uint32_t)(i * 2654435761u + 12345u);
	c.nxt[1] = 0;
	seg(&c, 0, TH_SYN, NULL, 0);
}

/* Half-open session j; step 0 SYN, 1 SYN-ACK, 2 client ACK, 3 greeting. */
static void
half_step(uint64_t j, int step)
{
	struct conn c;

	tuple(&c, j, OFF_HALF, j % 4 == 1);
	c.nxt[0] = (uint32_t)(j * 2246822519u + 777u);
	c.nxt[1] = (uint32_t)(j * 3266489917u + 99u);
	if (step >= 1)
		c.nxt[0]++;
	if (step >= 2)
		c.nxt[1]++;
	switch (step) {
	case 0: seg(&c, 0, TH_SYN, NULL, 0); break;
	case 1: seg(&c, 1, TH_SYN | TH_ACK, NULL, 0); break;
	case 2: seg(&c, 0, TH_ACK, NULL, 0); break;
	case 3: say(&c, 1, "220 mx.example.net ESMTP\r\n"); break;
	}
}

static int
greeted(uint64_t j)
{
	return j % 8 == 0;
}

/* Handshake, greeting and EHLO of the line and tiny flows, side by side. */
static void
open_pair(struct conn *c, const char *const *ehlo_reply)
{
	int k;

	for (k = 0; k < 2; k++)
		seg(&c[k], 0, TH_SYN, NULL, 0);
	settle(0);
	for (k = 0; k < 2; k++)
		seg(&c[k], 1, TH_SYN | TH_ACK, NULL, 0);
	settle(0);
	for (k = 0; k < 2; k++)
		seg(&c[k], 0, TH_ACK, NULL, 0);
	settle(0);
	for (k = 0; k < 2; k++)
		say(&c[k], 1, "220 mx.example.net ESMTP\r\n");
	settle(0);
	for (k = 0; k < 2; k++)
		say(&c[k], 0, "EHLO client.example.org\r\n");
	settle(0);
	for (k = 0; k < 2; k++)
		say(&c[k], 1, ehlo_reply[k]);
	settle(0);
}

static void
close_conn(struct conn *c)
{
	seg(c, 0, TH_FIN | TH_ACK, NULL, 0);
	settle(0);
	seg(c, 1, TH_FIN | TH_ACK, NULL, 0);
	settle(0);
	seg(c, 0, TH_ACK, NULL, 0);
	settle(0);
}

static uint64_t
ceil_div(uint64_t a, uint64_t b)
{
	return (a + b - 1) / b;
}

int
main(int argc, char **argv)
{
	static const char *const ehlo_reply[2] = {
		"250-mx.example.net\r\n250 8BITMIME\r\n",
		"250-mx.example.net\r\n250-PIPELINING\r\n250 8BITMIME\r\n",
	};
	static const char noop[] = "NOOP\r\n";
	static char chunk[MSS];
	const char *cns = NULL, *sns = NULL, *stop = NULL;
	uint64_t n_syn = 50000, n_half = 20000, line_kb = 16384, n_tiny = 20000;
	uint64_t syn_i = 0, syn6 = 0, half_i = 0, half_prev = 0, n_greet = 0;
	uint64_t line_bytes = 0, line_segs = 0, tiny = 0, tiny_cmds = 0, rounds = 0, r;
	uint64_t q_syn, q_half, q_line, q_tiny, line_need, tiny_need, k, j;
	double t0, last_report, max_s = 300;
	struct conn flows[2];   /* 0 the line, 1 the tiny storm */
	int ch, done;

	while ((ch = getopt(argc, argv, "c:s:n:o:l:t:W:w:m:")) != -1) {
		switch (ch) {
		case 'c': cns = optarg; break;
		case 's': sns = optarg; break;
		case 'n': n_syn = strtoull(optarg, NULL, 10); break;
		case 'o': n_half = strtoull(optarg, NULL, 10); break;
		case 'l': line_kb = strtoull(optarg, NULL, 10); break;
		case 't': n_tiny = strtoull(optarg, NULL, 10); break;
		case 'W': window = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'w': stop = optarg; break;
		case 'm': max_s = atof(optarg); break;
		default: goto usage;
		}
	}
	if (cns == NULL || sns == NULL || optind != argc || window < 2 ||
	    n_syn > 16000000 || n_half > 16000000)
		goto usage;
	if (side_open(&cli, cns, "stg_flood") < 0 || side_open(&srv, sns, "stg_flood") < 0)
		return 1;
	/* A flood's worth of datagrams comes out at each end: room to see it. */
	for (int i = 0; i < 2; i++) {
		int fd = i ? srv.cap : cli.cap, big = 8 << 20;
		if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof big) < 0)
			(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
	}
	memset(chunk, 'a', sizeof chunk);

	/* Rounds: enough for the flood that needs most, quotas scaled to it. */
	line_need = ceil_div(line_kb * 1024, MSS);
	tiny_need = ceil_div(n_tiny, sizeof noop - 1);
	rounds = ceil_div(n_syn, SYN_PER);
	if (ceil_div(n_half, HALF_PER) > rounds)
		rounds = ceil_div(n_half, HALF_PER);
	if (ceil_div(line_need, LINE_PER) > rounds)
		rounds = ceil_div(line_need, LINE_PER);
	if (ceil_div(tiny_need, TINY_PER) > rounds)
		rounds = ceil_div(tiny_need, TINY_PER);
	if (rounds == 0)
		rounds = 1;
	q_syn = ceil_div(n_syn, rounds);
	q_half = ceil_div(n_half, rounds);
	q_line = ceil_div(line_need, rounds);
	q_tiny = ceil_div(tiny_need, rounds);
	fprintf(stderr, "stg_flood: %llu rounds of %llu SYNs, %llu half-open, %llu line "
	    "segments, %llu tiny NOOPs; window %u\n", (unsigned long long)rounds,
	    (unsigned long long)q_syn, (unsigned long long)q_half,
	    (unsigned long long)q_line, (unsigned long long)q_tiny, window);

	t0 = last_report = now_s();
	memset(flows, 0, sizeof flows);
	for (k = 0; k < 2; k++) {
		flows[k].coff = k ? OFF_TINY : OFF_LINE;
		flows[k].soff = flows[k].coff;
		flows[k].port[0] = (uint16_t)(40000 + k);
		flows[k].port[1] = 25;
		flows[k].nxt[0] = (uint32_t)(0x10000000u * (k + 1) + 1);
		flows[k].nxt[1] = (uint32_t)(0x70000000u + 0x1000000u * k);
	}
	open_pair(flows, ehlo_reply);
	seg(&flows[0], 0, TH_ACK | TH_PSH, "NOOP ", 5);
	line_bytes = 5;
	line_segs = 1;
	settle(0);
	fprintf(stderr, "stg_flood: flooding\n");

	for (r = 0, done = 0; !done; r++) {
		uint64_t half_start = half_i;

		/* client -> server: SYNs, half-open SYNs and the previous round's
		 * handshake-completing ACKs, the line, the tiny bytes */
		for (k = 0; k < q_syn; k++, syn_i++) {
			syn_one(syn_i);
			syn6 += syn_i % 4 == 3;
		}
		for (k = 0; k < q_half; k++)
			half_step(half_i++, 0);
		for (j = half_prev; j < half_start; j++)
			if (greeted(j))
				half_step(j, 2);
		for (k = 0; k < q_line; k++) {
			seg(&flows[0], 0, TH_ACK, chunk, MSS);
			line_bytes += MSS;
			line_segs++;
		}
		for (k = 0; k < q_tiny; k++, tiny_cmds++)
			for (j = 0; j < sizeof noop - 1; j++, tiny++)
				seg(&flows[1], 0, TH_ACK | TH_PSH, noop + j, 1);
		settle(0);
		/* server -> client: SYN-ACKs, greetings, the line's ACK, replies */
		for (j = half_start; j < half_i; j++)
			half_step(j, 1);
		for (j = half_prev; j < half_start; j++)
			if (greeted(j)) {
				half_step(j, 3);
				n_greet++;
			}
		seg(&flows[0], 1, TH_ACK, NULL, 0);
		for (k = 0; k < q_tiny; k++)
			say(&flows[1], 1, "250 2.0.0 Ok\r\n");
		settle(0);
		half_prev = half_start;

		if (now_s() - last_report >= 1.0) {
			last_report = now_s();
			fprintf(stderr, "stg_flood: %.1f s: syn %llu half %llu line %llu KB "
			    "tiny %llu packets %llu lost %llu\n", last_report - t0,
			    (unsigned long long)syn_i, (unsigned long long)half_i,
			    (unsigned long long)(line_bytes >> 10), (unsigned long long)tiny,
			    (unsigned long long)sent, (unsigned long long)lost);
		}
		done = r + 1 >= rounds && (stop == NULL || access(stop, F_OK) == 0);
		if (now_s() - t0 > max_s) {
			fprintf(stderr, "stg_flood: stopping after %.0f s (-m)\n", max_s);
			done = 1;
		}
	}
	/* the last round's greeted sessions: complete and greet them too */
	for (j = half_prev; j < half_i; j++)
		if (greeted(j))
			half_step(j, 2);
	settle(0);
	for (j = half_prev; j < half_i; j++)
		if (greeted(j)) {
			half_step(j, 3);
			n_greet++;
		}
	settle(0);
	fprintf(stderr, "summary syn=%llu syn6=%llu half=%llu greeted=%llu line_bytes=%llu "
	    "line_segs=%llu tiny=%llu tiny_cmds=%llu packets=%llu lost=%llu late=%llu "
	    "rounds=%llu secs=%.2f\n",
	    (unsigned long long)syn_i, (unsigned long long)syn6, (unsigned long long)half_i,
	    (unsigned long long)n_greet, (unsigned long long)line_bytes,
	    (unsigned long long)line_segs, (unsigned long long)tiny,
	    (unsigned long long)tiny_cmds, (unsigned long long)sent,
	    (unsigned long long)lost, (unsigned long long)late,
	    (unsigned long long)r, now_s() - t0);
	close_conn(&flows[1]);
	close_conn(&flows[0]);
	fprintf(stderr, "stg_flood: closed (lost %llu in all)\n", (unsigned long long)lost);
	return 0;
usage:
	fprintf(stderr, "usage: stg_flood -c CLIENT_NETNS -s SERVER_NETNS [-n SYNS] "
	    "[-o HALF_OPEN] [-l LINE_KB] [-t TINY] [-W WINDOW] [-w STOPFILE] [-m SECONDS]\n");
	return 2;
}
