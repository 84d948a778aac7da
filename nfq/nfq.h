/*
 * nfq.h - everything that touches libnetfilter_queue.
 *
 * nfq_run() opens queues qfirst..qlast, one thread per queue, and calls the
 * caller's packet function for each queued packet (a whole IP datagram),
 * turning its answer into a verdict: runs of ACCEPT are batched, decided
 * connections get the bypass connmark in the verdict itself, a datagram
 * the caller changed is handed back with its verdict, BLOCK drops
 * the packet and forges RSTs to both ends from a raw socket. A connection
 * whose inspection starts gets the "being inspected" connmark bit, and
 * the caller learns whether a packet's connection carries it (the rules
 * restore that bit of the connmark into the packet mark), so a connection
 * whose state the caller lost -- a restart included -- is known. This module
 * knows nothing of SMTP or policy: it is the gateway's transport.
 */
#ifndef NFQ_NFQ_H
#define NFQ_NFQ_H

#include <stddef.h>
#include <stdint.h>

#include "../inspect/pkt.h"

enum nfq_verdict {
	NFQ_ACCEPT = 0,  /* pass */
	NFQ_BYPASS,      /* pass and set the bypass connmark */
	NFQ_DROP,        /* drop */
	NFQ_BLOCK        /* drop and RST both ends (p must be the decoded packet) */
};

/* The packet callback's in and out bits. */
#define NFQ_IN_INSPECTING  0x01 /* the packet mark has every inspect_mark bit */
#define NFQ_OUT_CHANGED    0x01 /* the datagram was changed in place */
#define NFQ_OUT_INSPECTING 0x02 /* set the inspect_mark bits on the connection */
#define NFQ_IN_CSUM_OK     0x02 /* NFQA_SKB_INFO: the TCP/UDP checksum was verified (NIC or
                                   kernel), or is not filled in yet (CHECKSUM_PARTIAL: GRO merged
                                   segments whose checksums were verified, or a local stack built
                                   it): either way its receiver gets a right one. Clear: check it */
#define NFQ_IN_GSO         0x04 /* NFQA_SKB_INFO: a GRO/GSO super-packet, may exceed the MTU */

struct nfq_conf {
	unsigned qfirst, qlast;   /* queue numbers, inclusive */
	uint32_t queue_maxlen;    /* NFQA_CFG_QUEUE_MAXLEN */
	uint32_t rcvbuf;          /* SO_RCVBUFFORCE bytes */
	uint32_t copy_range;      /* bytes of each packet copied to us */
	uint32_t bypass_mark;     /* connmark bits set on NFQ_BYPASS */
	uint32_t inspect_mark;    /* connmark bits "being inspected" (NFQ_OUT_INSPECTING),
	                             0 = not used */
	int      fail_open;       /* NFQA_CFG_F_FAIL_OPEN */
	/* Per-thread setup: returns that thread's context (NULL = failure). */
	void *(*thread_init)(void *arg, unsigned queue);
	void  (*thread_fini)(void *tctx);
	/* Per packet: ip/len is the datagram, ts_us its arrival time, in its
	 * NFQ_IN_* bits. It may change the datagram in place (same length) and
	 * set NFQ_OUT_CHANGED in *out: an ACCEPT or BYPASS then forwards the
	 * changed datagram; NFQ_OUT_INSPECTING with an ACCEPT marks the
	 * connection "being inspected". */
	enum nfq_verdict (*packet)(void *tctx, uint8_t *ip, size_t len,
	    uint64_t ts_us, unsigned in, struct pkt *p, unsigned *out);
	/* Called between batches on each thread (reload checks, expiry). */
	void  (*idle)(void *tctx, uint64_t now_us);
	void  *arg;               /* passed to thread_init */
};

/* Time from a packet's arrival in userspace (its recv returned) to its
 * verdict's send: 1 us buckets up to NFQ_LAT_LINEAR us, then doubling
 * buckets, the last one open-ended. A batch of ACCEPTs counts once, with
 * its oldest packet's time. */
#define NFQ_LAT_LINEAR  128
#define NFQ_LAT_BUCKETS (NFQ_LAT_LINEAR + 16)

struct nfq_stats {
	uint64_t received, verdicts, batches, enobufs, send_errors, rst_sent;
	uint64_t changed;               /* packets forwarded with changed bytes */
	uint64_t marked_inspecting;     /* connections marked "being inspected" */
	uint64_t gso;                   /* GRO/GSO super-packets received (NFQ_SKB_GSO) */
	uint64_t csum_partial;          /* received with the checksum not filled in yet */
	uint64_t lat[NFQ_LAT_BUCKETS];  /* receive -> verdict, see above */
	uint64_t lat_sum_us;            /* their sum, microseconds */
};

/* The q-quantile (0..1) of the receive -> verdict time, in microseconds
 * (a bucket's upper bound); 0 when nothing was measured. */
uint64_t nfq_latency_us(const struct nfq_stats *st, double q);

/* How many measured times were below le microseconds (le a bucket bound:
 * 1..NFQ_LAT_LINEAR, or NFQ_LAT_LINEAR times a power of two). */
uint64_t nfq_latency_below(const struct nfq_stats *st, uint64_t le);

/* Open the queues; 0 or -1 with errno and a message in err. After it
 * returns 0, the caller may drop privileges (CAP_NET_ADMIN and CAP_NET_RAW
 * stay needed for verdicts and RSTs) and then call nfq_loop(). */
struct nfq;
struct nfq *nfq_open(const struct nfq_conf *c, char *err, size_t errlen);
/* Run until *stop becomes non-zero; threads joined before returning. */
int nfq_loop(struct nfq *q, volatile int *stop);
void nfq_close(struct nfq *q);
void nfq_get_stats(const struct nfq *q, struct nfq_stats *st);

#endif
