/*
 * nfq_accept.c - the naive NFQUEUE program of the inline benchmark: accept
 * every packet, one verdict per packet, no connmark bypass.
 *
 * Usage: nfq_accept QFIRST[-QLAST]      (as root, in the router's namespace)
 *
 * One thread per queue, each with its own handle, written the way
 * libnetfilter_queue's own nfqnl_test example is: the legacy API, the whole
 * packet copied to userspace, NF_ACCEPT sent back for each packet. Only
 * NFQA_CFG_F_GSO is set on top (so 64 KB GSO packets are not segmented for
 * us: without it the kernel's software segmentation, not the queue, would
 * dominate the bulk figure). It shows what queueing every packet of every
 * session costs - the price the gateway's bypass avoids. Prints
 * "nfq_accept: queues A-B ready" once bound, and the packet count at
 * SIGTERM/SIGINT.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <sys/socket.h>

#include <linux/netfilter.h>
#include <libnetfilter_queue/libnetfilter_queue.h>

/* Largest packet copied to us: a full GSO packet. */
#define NA_COPY_MAX   0xffff
/* Receive buffer: one GSO packet plus netlink headers. */
#define NA_BUFSZ      (0xffff + 4096)
/* Queues this program serves at most (one thread each). */
#define NA_QUEUES_MAX 16

static atomic_ullong na_packets;   /* packets accepted, all queues */

/* One packet: accept it, count it. */
static int
na_packet(struct nfq_q_handle *qh, struct nfgenmsg *msg, struct nfq_data *nfa,
    void *arg)
{
	struct nfqnl_msg_packet_hdr *ph = nfq_get_msg_packet_hdr(nfa);

	(void)msg;
	(void)arg;
	if (ph == NULL)
		return 0;
	atomic_fetch_add_explicit(&na_packets, 1, memory_order_relaxed);
	return nfq_set_verdict(qh, ntohl(ph->packet_id), NF_ACCEPT, 0, NULL);
}

/* One queue's handle and thread. */
struct na_queue {
	unsigned             num;  /* queue number */
	struct nfq_handle   *h;    /* its own netlink handle */
	struct nfq_q_handle *qh;   /* the bound queue */
	pthread_t            tid;  /* its receive thread */
};

/* Open and bind one queue; 0 or -1 with a message on stderr. */
static int
na_open(struct na_queue *q)
{
	int one = 1;

	if ((q->h = nfq_open()) == NULL) {
		perror("nfq_open");
		return -1;
	}
	q->qh = nfq_create_queue(q->h, (uint16_t)q->num, na_packet, NULL);
	if (q->qh == NULL) {
		fprintf(stderr, "nfq_accept: queue %u: %s\n", q->num, strerror(errno));
		return -1;
	}
	if (nfq_set_mode(q->qh, NFQNL_COPY_PACKET, NA_COPY_MAX) < 0) {
		fprintf(stderr, "nfq_accept: queue %u: copy mode\n", q->num);
		return -1;
	}
	(void)nfq_set_queue_flags(q->qh, NFQA_CFG_F_GSO, NFQA_CFG_F_GSO);
	/* A full socket buffer drops packets at the kernel and we carry on,
	 * as nfqnl_test does; do not exit on ENOBUFS. */
	(void)setsockopt(nfq_fd(q->h), SOL_NETLINK, NETLINK_NO_ENOBUFS, &one, sizeof one);
	return 0;
}

/* Receive loop of one queue. */
static void *
na_loop(void *arg)
{
	struct na_queue *q = arg;
	static _Thread_local char buf[NA_BUFSZ];
	int fd = nfq_fd(q->h);

	for (;;) {
		ssize_t n = recv(fd, buf, sizeof buf, 0);
		if (n < 0) {
			if (errno == EINTR || errno == ENOBUFS)
				continue;
			perror("nfq_accept: recv");
			exit(1);
		}
		nfq_handle_packet(q->h, buf, (int)n);
	}
	return NULL;
}

int
main(int argc, char **argv)
{
	static struct na_queue qs[NA_QUEUES_MAX];
	unsigned qfirst, qlast, n;
	sigset_t set;
	int sig;
	char *end;

	if (argc != 2) {
		fprintf(stderr, "usage: nfq_accept QFIRST[-QLAST]\n");
		return 2;
	}
	qfirst = (unsigned)strtoul(argv[1], &end, 10);
	qlast = *end == '-' ? (unsigned)strtoul(end + 1, &end, 10) : qfirst;
	if (*end != '\0' || qlast < qfirst || qlast - qfirst >= NA_QUEUES_MAX) {
		fprintf(stderr, "nfq_accept: bad queue range '%s'\n", argv[1]);
		return 2;
	}
	n = qlast - qfirst + 1;

	/* Threads inherit the blocked set: only main takes TERM/INT. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);

	for (unsigned i = 0; i < n; i++) {
		qs[i].num = qfirst + i;
		if (na_open(&qs[i]) < 0)
			return 1;
	}
	for (unsigned i = 0; i < n; i++)
		if (pthread_create(&qs[i].tid, NULL, na_loop, &qs[i]) != 0) {
			fprintf(stderr, "nfq_accept: cannot start a thread\n");
			return 1;
		}
	printf("nfq_accept: queues %u-%u ready\n", qfirst, qlast);
	fflush(stdout);

	if (sigwait(&set, &sig) != 0)
		return 1;
	printf("nfq_accept: signal %d: %llu packets accepted\n", sig,
	    (unsigned long long)atomic_load(&na_packets));
	fflush(stdout);
	/* The kernel unbinds the queues when the sockets close at exit. */
	_exit(0);
}
