/*
 * stg_replay.c - replay a capture through a live gateway, each side from
 * its own network namespace (integration tests).
 *
 *   stg_replay -c CLIENT_NETNS -s SERVER_NETNS [-g GAP_US] FILE...
 *
 * Every IP datagram of the capture is sent as it was (raw socket, header
 * included) from the client's namespace when it travels client->server,
 * from the server's otherwise, so the gateway in between receives each on
 * the right interface and forwards it through its FORWARD hook. The client
 * of a flow is the sender of its SYN; without one, the side talking to
 * port 25/465/587. UDP datagrams (DNS answers) go from whichever side their
 * source is on. Each datagram is sent only once the one before came out
 * at the far side (or REPLAY_WAIT_MS passed: the gateway dropped it), then
 * GAP_US more (default 1000), so the two paths never reorder. The caller must route the capture's addresses
 * through the gateway and keep both end namespaces from answering (tests/
 * integ/t4_replay.sh does). Exit 0, or 1 when a file cannot be read.
 */
#include <errno.h>
#include <fcntl.h>
#include <pcap/pcap.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <linux/if_ether.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include "../../inspect/pkt.h"
#include "stg_side.h"

#define REPLAY_CLIENTS 256   /* client addresses remembered (fixtures hold few) */

/* How long to wait for a datagram to come out at the far end before it is
 * taken as dropped (a blocked flow). Waiting keeps the two paths in order:
 * a reply must not overtake the packet it answers while that one sits in
 * the gateway's queue (conntrack would drop the loser of the race). */
#define REPLAY_WAIT_MS 250
/* A connection one of whose segments never came out is blocked: the
 * gateway drops the rest of it at once, so its later segments are waited
 * for only this long (blocked sessions made the replays slow). */
#define REPLAY_WAIT_BLOCKED_MS 25
#define REPLAY_BLOCKED 64    /* blocked connections remembered (a ring) */

/* TCP connections seen blocked (either direction's tuple). */
static struct conn_key {
	uint8_t af;
	struct pkt_addr a, b;
	uint16_t pa, pb;
} blocked[REPLAY_BLOCKED];
static unsigned nblocked;

static struct pkt_addr clients[REPLAY_CLIENTS];
static uint8_t client_af[REPLAY_CLIENTS];
static unsigned nclients;

static int
is_client(uint8_t af, const struct pkt_addr *a)
{
	unsigned i;

	for (i = 0; i < nclients; i++)
		if (client_af[i] == af && pkt_addr_cmp(af, &clients[i], a) == 0)
			return 1;
	return 0;
}

static void
add_client(uint8_t af, const struct pkt_addr *a)
{
	if (!is_client(af, a) && nclients < REPLAY_CLIENTS) {
		clients[nclients] = *a;
		client_af[nclients++] = af;
	}
}

static int
server_port(uint16_t port)
{
	return port == 25 || port == 465 || port == 587;
}

/* Send one datagram from the chosen side to its destination. */
static int
send_dgram(const struct side *s, const struct pkt *p)
{
	return side_send(s, p->af == 6, p->dst.a, p->l3, p->l3_len);
}

/* Same segment (or fragment), whatever TTL and checksums became? */
static int
same(const struct pkt *a, const struct pkt *b)
{
	if (a->af != b->af || pkt_addr_cmp(a->af, &a->src, &b->src) != 0 ||
	    pkt_addr_cmp(a->af, &a->dst, &b->dst) != 0)
		return 0;
	if (a->frag_len != 0 || b->frag_len != 0)
		return a->frag_id == b->frag_id && a->frag_off == b->frag_off;
	return a->sport == b->sport && a->dport == b->dport &&
	    a->seq == b->seq && a->ack == b->ack &&
	    a->tcp_flags == b->tcp_flags && a->payload_len == b->payload_len;
}

/* p's connection, the same key for both directions (fragments: none). */
static int
conn_key(const struct pkt *p, struct conn_key *k)
{
	int swap;

	if (p->frag_len != 0)
		return 0;
	swap = pkt_addr_cmp(p->af, &p->src, &p->dst) > 0 ||
	    (pkt_addr_cmp(p->af, &p->src, &p->dst) == 0 && p->sport > p->dport);
	memset(k, 0, sizeof *k);
	k->af = p->af;
	k->a = swap ? p->dst : p->src;
	k->b = swap ? p->src : p->dst;
	k->pa = swap ? p->dport : p->sport;
	k->pb = swap ? p->sport : p->dport;
	return 1;
}

static int
is_blocked(const struct pkt *p)
{
	struct conn_key k;

	if (!conn_key(p, &k))
		return 0;
	for (unsigned i = 0; i < nblocked && i < REPLAY_BLOCKED; i++)
		if (memcmp(&blocked[i], &k, sizeof k) == 0)
			return 1;
	return 0;
}

static void
note_blocked(const struct pkt *p)
{
	struct conn_key k;

	if (conn_key(p, &k) && !is_blocked(p))
		blocked[nblocked++ % REPLAY_BLOCKED] = k;
}

/* Wait until p shows up at the far side; 1 seen, 0 timed out. */
static int
await_far(const struct side *far, const struct pkt *p)
{
	long wait_ms = is_blocked(p) ? REPLAY_WAIT_BLOCKED_MS : REPLAY_WAIT_MS;
	static uint8_t buf[70000];
	struct timespec t0, t1;
	struct sockaddr_ll sll;
	socklen_t sl;
	struct pollfd pfd;
	struct pkt q;
	long left;
	ssize_t n;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &t1);
		left = wait_ms - ((t1.tv_sec - t0.tv_sec) * 1000 +
		    (t1.tv_nsec - t0.tv_nsec) / 1000000);
		if (left <= 0)
			return 0;
		pfd.fd = far->cap;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, (int)left) <= 0)
			continue;
		sl = sizeof sll;
		n = recvfrom(far->cap, buf, sizeof buf, MSG_DONTWAIT,
		    (struct sockaddr *)&sll, &sl);
		if (n <= 0 || sll.sll_pkttype == PACKET_OUTGOING)
			continue;
		memset(&q, 0, sizeof q);
		switch (pkt_decode_ip(&q, buf, (size_t)n)) {
		case PKT_OK:
		case PKT_FRAGMENT:
			if (same(p, &q))
				return 1;
			break;
		default:
			break;
		}
	}
}

/* Drop whatever the packet socket holds (earlier traffic). */
static void
drain(const struct side *s)
{
	static uint8_t buf[70000];

	while (recv(s->cap, buf, sizeof buf, MSG_DONTWAIT) > 0)
		;
}

static int
replay(const char *file, const struct side *cli, const struct side *srv,
    long gap_us)
{
	char errbuf[PCAP_ERRBUF_SIZE];
	struct pcap_pkthdr *h;
	const u_char *data;
	struct timespec gap = { gap_us / 1000000, (gap_us % 1000000) * 1000 };
	unsigned sent = 0, skipped = 0, lost = 0;
	struct pkt p;
	pcap_t *pc;
	int lt, st, to_server;

	pc = pcap_open_offline(file, errbuf);
	if (pc == NULL) {
		fprintf(stderr, "stg_replay: %s\n", errbuf);
		return -1;
	}
	lt = pcap_datalink(pc);
	nclients = 0;
	while (pcap_next_ex(pc, &h, &data) == 1) {
		memset(&p, 0, sizeof p);
		st = pkt_decode(&p, lt, data, h->caplen);
		if ((st != PKT_OK && st != PKT_FRAGMENT && st != PKT_UDP) || h->caplen < h->len) {
			skipped++;
			continue;
		}
		if (st == PKT_OK) {
			if ((p.tcp_flags & (PKT_TH_SYN | PKT_TH_ACK)) == PKT_TH_SYN)
				add_client(p.af, &p.src);
			else if (!is_client(p.af, &p.src) &&
			    !is_client(p.af, &p.dst) && server_port(p.dport))
				add_client(p.af, &p.src);
		}
		to_server = is_client(p.af, &p.src);
		drain(to_server ? srv : cli);
		if (send_dgram(to_server ? cli : srv, &p) < 0) {
			fprintf(stderr, "stg_replay: %s: send: %s\n", file,
			    strerror(errno));
			skipped++;
			continue;
		}
		sent++;
		if (!await_far(to_server ? srv : cli, &p)) {
			lost++;     /* dropped on the way: a blocked flow */
			if (p.tcp_flags & (PKT_TH_SYN | PKT_TH_RST | PKT_TH_FIN)) {
				/* not necessarily the gateway's doing (a SYN or
				 * a forged RST conntrack or the host drops) */
			} else {
				note_blocked(&p);
			}
		}
		nanosleep(&gap, NULL);
	}
	pcap_close(pc);
	fprintf(stderr, "stg_replay: %s: %u sent, %u not seen at the far end, "
	    "%u skipped\n", file, sent, lost, skipped);
	return 0;
}

int
main(int argc, char **argv)
{
	const char *cns = NULL, *sns = NULL;
	struct side cli, srv;
	long gap_us = 1000;
	int ch, i, rc = 0;

	while ((ch = getopt(argc, argv, "c:s:g:")) != -1) {
		switch (ch) {
		case 'c': cns = optarg; break;
		case 's': sns = optarg; break;
		case 'g': gap_us = atol(optarg); break;
		default: goto usage;
		}
	}
	if (cns == NULL || sns == NULL || optind >= argc || gap_us < 0)
		goto usage;
	if (side_open(&cli, cns, "stg_replay") < 0 || side_open(&srv, sns, "stg_replay") < 0)
		return 1;
	for (i = optind; i < argc; i++)
		if (replay(argv[i], &cli, &srv, gap_us) < 0)
			rc = 1;
	return rc;
usage:
	fprintf(stderr, "usage: stg_replay -c CLIENT_NETNS -s SERVER_NETNS "
	    "[-g GAP_US] FILE...\n");
	return 2;
}
