/*
 * nfq.c - NFQUEUE transport: one netlink socket and one thread per queue.
 *
 * Built on libnetfilter_queue's libmnl API. Each thread drains its socket
 * without blocking, answers runs of ACCEPT with one NFQNL_MSG_VERDICT_BATCH,
 * and answers everything else at once (flushing the pending batch first, so
 * verdicts stay in packet order). A decided connection (NFQ_BYPASS) gets the
 * bypass bit twice: in the conntrack mark through a nested NFQA_CT/CTA_MARK
 * (honoured where the kernel has CONFIG_NETFILTER_NETLINK_GLUE_CT) and in
 * the packet mark, which the rules copy to the connmark in mangle
 * POSTROUTING (netns-scripts/rules.sh) - so it works on either kernel. The
 * "being inspected" bit is written the same two ways when the caller says
 * a connection's inspection starts, and read back from the packet mark,
 * into which the rules restore it from the connmark before queueing. The
 * caller must not call into a thread's context from another thread: each
 * thread only ever touches the context thread_init() returned on it.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <sys/socket.h>

#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
/* libnetfilter_queue's legacy API owns the names nfq_open/nfq_close, which
 * our contract (nfq.h) uses too. We only call its libmnl-based nfq_nlmsg_*
 * helpers, so its two legacy prototypes are renamed out of the way here. The
 * library never calls them itself, so no run-time interposition either. */
#define nfq_open  nfq_legacy_open_unused
#define nfq_close nfq_legacy_close_unused
#include <libnetfilter_queue/libnetfilter_queue.h>
#undef nfq_open
#undef nfq_close

#include "nfq.h"
#include "nfq_rst.h"

#ifndef NETLINK_NO_ENOBUFS
#define NETLINK_NO_ENOBUFS 5
#endif

/* GSO packets reach 64 KB; the netlink and attribute headers come on top. */
#define NFQ_RECV_BUFSZ   (0xffff + MNL_SOCKET_BUFFER_SIZE)
/* Config and verdict messages; a verdict may carry a changed datagram
 * (up to 64 KB, GSO) back to the kernel. */
#define NFQ_SEND_BUFSZ   (0xffff + 8192)
/* Longest run of ACCEPTs answered with one batch verdict: bounds how long
 * an accepted packet waits for its verdict while the socket keeps filling. */
#define NFQ_BATCH_MAX    64
/* Longest wait in a blocking recv() (SO_RCVTIMEO), so idle() runs
 * (reload, expiry, stop) without traffic. */
#define NFQ_POLL_MS      200
/* Packets read in one drain before idle() gets a turn. */
#define NFQ_DRAIN_MAX    256
/* The kernel caps copy_range at this (0xffff less the attribute header). */
#define NFQ_COPY_MAX     0xffff

/* Per-thread counters: written by the owning thread only, read by anyone. */
struct nfq_counters {
	uint64_t received, verdicts, batches, enobufs, send_errors, rst_sent, changed;
	uint64_t marked_inspecting;
	uint64_t gso, csum_partial;  /* NFQA_SKB_INFO: super-packets; checksums not filled in */
	uint64_t lat[NFQ_LAT_BUCKETS];   /* receive -> verdict histogram (nfq.h) */
	uint64_t lat_sum_us;             /* sum of those times */
};

struct nfq_thread {
	struct nfq          *q;          /* back pointer */
	unsigned             queue;      /* queue number */
	struct mnl_socket   *nl;         /* this queue's netlink socket */
	unsigned             portid;     /* its netlink port id */
	pthread_t            tid;        /* valid when started */
	int                  started;    /* thread was created */
	void                *tctx;       /* caller context from thread_init */
	uint8_t             *rbuf;       /* receive buffer, NFQ_RECV_BUFSZ */
	uint32_t             batch_id;   /* highest accepted id not yet answered */
	unsigned             batch_n;    /* how many accepts that batch covers */
	uint64_t             batch_t0;   /* arrival of the batch's oldest packet, monotonic ns */
	uint64_t             rx_t0;      /* arrival of the datagram being handled, monotonic ns */
	struct nfq_counters  cnt;        /* see above */
	struct pkt           pkt;        /* decoded packet the callback fills */
	char                 sbuf[NFQ_SEND_BUFSZ]; /* verdict message */
};

struct nfq {
	struct nfq_conf      c;          /* copy of the caller's configuration */
	struct nfq_rst       rst;        /* raw sockets for RST injection */
	unsigned             n;          /* number of queues/threads */
	struct nfq_thread   *t;          /* n threads */
	volatile int        *stop;       /* caller's stop flag during nfq_loop */
	int                  failed;     /* a thread could not start: all stop */
};

/* Relaxed counter increment, so nfq_get_stats() may read concurrently. */
#define CNT_ADD(t, field, v) \
	__atomic_fetch_add(&(t)->cnt.field, (v), __ATOMIC_RELAXED)

static void seterr(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* snprintf into err, ignoring truncation. */
static void
seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* Wall clock in microseconds: EVE timestamps come from it. */
static uint64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* Monotonic nanoseconds, for the receive -> verdict timing. */
static uint64_t
mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Upper bound (us) of histogram bucket b. */
static uint64_t
lat_bound(unsigned b)
{
	return b < NFQ_LAT_LINEAR ? b + 1 : (uint64_t)NFQ_LAT_LINEAR << (b - NFQ_LAT_LINEAR + 1);
}

/* Count one receive -> verdict time, from t0 to now. */
static void
lat_note(struct nfq_thread *t, uint64_t t0)
{
	uint64_t us = (mono_ns() - t0) / 1000u;
	unsigned b;

	if (us < NFQ_LAT_LINEAR) {
		b = (unsigned)us;
	} else {
		b = NFQ_LAT_LINEAR;
		for (uint64_t lim = 2 * NFQ_LAT_LINEAR; us >= lim && b < NFQ_LAT_BUCKETS - 1; lim *= 2)
			b++;
	}
	__atomic_fetch_add(&t->cnt.lat[b], 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&t->cnt.lat_sum_us, us, __ATOMIC_RELAXED);
}

uint64_t
nfq_latency_below(const struct nfq_stats *st, uint64_t le)
{
	uint64_t n = 0;

	for (unsigned b = 0; b < NFQ_LAT_BUCKETS - 1 && lat_bound(b) <= le; b++)
		n += st->lat[b];
	return n;
}

uint64_t
nfq_latency_us(const struct nfq_stats *st, double q)
{
	uint64_t total = 0, seen = 0;

	for (unsigned b = 0; b < NFQ_LAT_BUCKETS; b++)
		total += st->lat[b];
	if (total == 0)
		return 0;
	for (unsigned b = 0; b < NFQ_LAT_BUCKETS; b++) {
		seen += st->lat[b];
		if ((double)seen >= q * (double)total)
			return lat_bound(b);
	}
	return lat_bound(NFQ_LAT_BUCKETS - 1);
}

/* Send a config message with NLM_F_ACK and wait for the kernel's answer. */
static int
cfg_talk(struct nfq_thread *t, struct nlmsghdr *nlh)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	uint32_t seq = (uint32_t)time(NULL) ^ t->queue;
	ssize_t n;
	int rc;

	nlh->nlmsg_flags |= NLM_F_ACK;
	nlh->nlmsg_seq = seq;
	if (mnl_socket_sendto(t->nl, nlh, nlh->nlmsg_len) < 0)
		return -1;
	for (;;) {
		n = mnl_socket_recvfrom(t->nl, buf, sizeof buf);
		if (n < 0)
			return -1;
		rc = mnl_cb_run(buf, (size_t)n, seq, t->portid, NULL, NULL);
		if (rc <= MNL_CB_STOP)
			return rc < 0 ? -1 : 0;
	}
}

/* Open, tune and bind one queue's socket. */
static int
queue_open(struct nfq *q, struct nfq_thread *t, char *err, size_t errlen)
{
	const struct nfq_conf *c = &q->c;
	struct nlmsghdr *nlh;
	uint32_t flags, mask, range;
	int one = 1, rcv;

	t->nl = mnl_socket_open(NETLINK_NETFILTER);
	if (t->nl == NULL) {
		seterr(err, errlen, "queue %u: netlink socket: %s", t->queue,
		    strerror(errno));
		return -1;
	}
	if (mnl_socket_bind(t->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		seterr(err, errlen, "queue %u: netlink bind: %s", t->queue,
		    strerror(errno));
		return -1;
	}
	t->portid = mnl_socket_get_portid(t->nl);
	if (c->rcvbuf > 0) {
		rcv = c->rcvbuf > (uint32_t)(INT32_MAX / 2) ? INT32_MAX / 2 :
		    (int)c->rcvbuf;
		/* FORCE ignores rmem_max but needs CAP_NET_ADMIN; fall back. */
		if (setsockopt(mnl_socket_get_fd(t->nl), SOL_SOCKET,
		    SO_RCVBUFFORCE, &rcv, sizeof rcv) < 0)
			(void)setsockopt(mnl_socket_get_fd(t->nl), SOL_SOCKET,
			    SO_RCVBUF, &rcv, sizeof rcv);
	}
	/* A full socket loses packets (fail-open decides their fate); we
	 * count the loss instead of getting ENOBUFS from every recv. */
	(void)mnl_socket_setsockopt(t->nl, NETLINK_NO_ENOBUFS, &one, sizeof one);

	nlh = nfq_nlmsg_put(t->sbuf, NFQNL_MSG_CONFIG, t->queue);
	nfq_nlmsg_cfg_put_cmd(nlh, AF_UNSPEC, NFQNL_CFG_CMD_BIND);
	if (cfg_talk(t, nlh) < 0) {
		seterr(err, errlen, "queue %u: bind: %s%s", t->queue,
		    strerror(errno), errno == EBUSY ?
		    " (another process holds this queue)" : "");
		return -1;
	}

	range = c->copy_range == 0 || c->copy_range > NFQ_COPY_MAX ?
	    NFQ_COPY_MAX : c->copy_range;
	nlh = nfq_nlmsg_put(t->sbuf, NFQNL_MSG_CONFIG, t->queue);
	nfq_nlmsg_cfg_put_params(nlh, NFQNL_COPY_PACKET, (int)range);
	if (c->queue_maxlen > 0)
		nfq_nlmsg_cfg_put_qmaxlen(nlh, c->queue_maxlen);
	flags = NFQA_CFG_F_GSO | (c->fail_open ? NFQA_CFG_F_FAIL_OPEN : 0);
	mask = NFQA_CFG_F_GSO | NFQA_CFG_F_FAIL_OPEN;
	mnl_attr_put_u32(nlh, NFQA_CFG_FLAGS, htonl(flags));
	mnl_attr_put_u32(nlh, NFQA_CFG_MASK, htonl(mask));
	if (cfg_talk(t, nlh) < 0) {
		seterr(err, errlen, "queue %u: parameters (copy %u, maxlen %u, "
		    "flags 0x%x): %s", t->queue, range, c->queue_maxlen, flags,
		    strerror(errno));
		return -1;
	}
	return 0;
}

struct nfq *
nfq_open(const struct nfq_conf *c, char *err, size_t errlen)
{
	struct nfq *q;
	unsigned i;

	if (c == NULL || c->packet == NULL || c->qlast < c->qfirst ||
	    c->qlast - c->qfirst >= 1024 || c->qlast > 65535) {
		errno = EINVAL;
		seterr(err, errlen, "bad queue range or configuration");
		return NULL;
	}
	q = calloc(1, sizeof *q);
	if (q == NULL) {
		seterr(err, errlen, "out of memory");
		return NULL;
	}
	q->c = *c;
	q->n = c->qlast - c->qfirst + 1;
	q->rst.fd4 = q->rst.fd6 = -1;
	q->t = calloc(q->n, sizeof *q->t);
	if (q->t == NULL) {
		seterr(err, errlen, "out of memory");
		goto fail;
	}
	if (nfq_rst_open(&q->rst) < 0) {
		seterr(err, errlen, "raw socket for resets: %s", strerror(errno));
		goto fail;
	}
	for (i = 0; i < q->n; i++) {
		struct nfq_thread *t = &q->t[i];

		t->q = q;
		t->queue = c->qfirst + i;
		t->rbuf = malloc(NFQ_RECV_BUFSZ);
		if (t->rbuf == NULL) {
			seterr(err, errlen, "out of memory");
			goto fail;
		}
		if (queue_open(q, t, err, errlen) < 0)
			goto fail;
	}
	return q;
fail:
	{
		int saved = errno;

		nfq_close(q);
		errno = saved;
	}
	return NULL;
}

/* Answer every pending ACCEPT with one batch verdict. */
static void
batch_flush(struct nfq_thread *t)
{
	struct nlmsghdr *nlh;

	if (t->batch_n == 0)
		return;
	nlh = nfq_nlmsg_put(t->sbuf, NFQNL_MSG_VERDICT_BATCH, t->queue);
	nfq_nlmsg_verdict_put(nlh, (int)t->batch_id, NF_ACCEPT);
	if (mnl_socket_sendto(t->nl, nlh, nlh->nlmsg_len) < 0)
		CNT_ADD(t, send_errors, 1);
	else {
		CNT_ADD(t, batches, 1);
		CNT_ADD(t, verdicts, t->batch_n);
		lat_note(t, t->batch_t0);
	}
	t->batch_n = 0;
}

/* One verdict for one packet; bit (0 = none) is written into the packet
 * mark and the connmark (the bypass or the "being inspected" bits); data
 * (len bytes) replaces the packet when not NULL. */
static void
verdict_one(struct nfq_thread *t, uint32_t id, int verdict, uint32_t bit,
    uint32_t pkt_mark, const void *data, size_t len)
{
	struct nlmsghdr *nlh;
	struct nlattr *nest;

	nlh = nfq_nlmsg_put(t->sbuf, NFQNL_MSG_VERDICT, t->queue);
	nfq_nlmsg_verdict_put(nlh, (int)id, verdict);
	if (data != NULL) {
		nfq_nlmsg_verdict_put_pkt(nlh, data, (uint32_t)len);
		CNT_ADD(t, changed, 1);
	}
	if (bit != 0) {
		nfq_nlmsg_verdict_put_mark(nlh, pkt_mark | bit);
		nest = mnl_attr_nest_start(nlh, NFQA_CT);
		mnl_attr_put_u32(nlh, CTA_MARK, htonl(bit));
		mnl_attr_put_u32(nlh, CTA_MARK_MASK, htonl(bit));
		mnl_attr_nest_end(nlh, nest);
	}
	if (mnl_socket_sendto(t->nl, nlh, nlh->nlmsg_len) < 0)
		CNT_ADD(t, send_errors, 1);
	else {
		CNT_ADD(t, verdicts, 1);
		lat_note(t, t->rx_t0);
	}
}

/* What NFQA_SKB_INFO says, as NFQ_IN_* bits. No attribute means no flag
 * to report: the checksum was verified (skb_csum_unnecessary). A partial
 * checksum (NFQA_SKB_CSUMNOTREADY) is one the kernel will fill in on
 * output -- GRO merged segments it verified, or a local stack built the
 * packet -- so the receiver gets it right: trusted, though the bytes in
 * the field are not the checksum yet. Only NFQA_SKB_CSUM_NOTVERIFIED
 * leaves the check to the caller. */
static unsigned
skb_info(struct nfq_thread *t, const struct nlattr *a)
{
	uint32_t info = 0;
	unsigned skb = 0;

	if (a != NULL && mnl_attr_get_payload_len(a) >= 4)
		info = ntohl(mnl_attr_get_u32(a));
	if ((info & NFQA_SKB_CSUMNOTREADY) || !(info & NFQA_SKB_CSUM_NOTVERIFIED))
		skb |= NFQ_IN_CSUM_OK;
	if (info & NFQA_SKB_CSUMNOTREADY)
		CNT_ADD(t, csum_partial, 1);
	if (info & NFQA_SKB_GSO) {
		skb |= NFQ_IN_GSO;
		CNT_ADD(t, gso, 1);
	}
	return skb;
}

/* Handle one NFQNL_MSG_PACKET. */
static void
packet_msg(struct nfq_thread *t, const struct nlmsghdr *nlh)
{
	const struct nfq_conf *c = &t->q->c;
	struct nlattr *attr[NFQA_MAX + 1];
	struct nfqnl_msg_packet_hdr *ph;
	enum nfq_verdict v;
	uint32_t id, mark = 0, setbit;
	uint8_t *data = NULL;
	size_t len = 0;
	unsigned in = 0, out = 0;

	memset(attr, 0, sizeof attr);
	if (nfq_nlmsg_parse(nlh, attr) < 0 || attr[NFQA_PACKET_HDR] == NULL ||
	    mnl_attr_get_payload_len(attr[NFQA_PACKET_HDR]) < sizeof *ph)
		return;
	ph = mnl_attr_get_payload(attr[NFQA_PACKET_HDR]);
	id = ntohl(ph->packet_id);
	CNT_ADD(t, received, 1);
	if (attr[NFQA_MARK] != NULL &&
	    mnl_attr_get_payload_len(attr[NFQA_MARK]) >= 4)
		mark = ntohl(mnl_attr_get_u32(attr[NFQA_MARK]));
	if (attr[NFQA_PAYLOAD] == NULL) {
		v = NFQ_ACCEPT;     /* nothing to inspect: never hold traffic */
	} else if (c->bypass_mark != 0 &&
	    (mark & c->bypass_mark) == c->bypass_mark) {
		/* Already decided (rules without the connmark match, or a
		 * packet in flight when the mark was written): pass. */
		v = NFQ_ACCEPT;
	} else {
		data = mnl_attr_get_payload(attr[NFQA_PAYLOAD]);
		len = mnl_attr_get_payload_len(attr[NFQA_PAYLOAD]);
		memset(&t->pkt, 0, sizeof t->pkt);
		if (c->inspect_mark != 0 && (mark & c->inspect_mark) == c->inspect_mark)
			in |= NFQ_IN_INSPECTING;
		in |= skb_info(t, attr[NFQA_SKB_INFO]);
		v = c->packet(t->tctx, data, len, now_us(), in, &t->pkt, &out);
	}

	setbit = v == NFQ_BYPASS ? c->bypass_mark :
	    v == NFQ_ACCEPT && (out & NFQ_OUT_INSPECTING) ? c->inspect_mark : 0;
	if (v == NFQ_ACCEPT && setbit != 0)
		CNT_ADD(t, marked_inspecting, 1);
	if ((v == NFQ_ACCEPT || v == NFQ_BYPASS) && ((out & NFQ_OUT_CHANGED) || setbit != 0)) {
		batch_flush(t);
		verdict_one(t, id, NF_ACCEPT, setbit, mark,
		    (out & NFQ_OUT_CHANGED) ? data : NULL, len);
		return;
	}
	switch (v) {
	case NFQ_ACCEPT:
		t->batch_id = id;
		if (t->batch_n == 0)
			t->batch_t0 = t->rx_t0;
		if (++t->batch_n >= NFQ_BATCH_MAX)
			batch_flush(t);
		break;
	case NFQ_BYPASS: /* bypass_mark 0: nothing to write */
		batch_flush(t);
		verdict_one(t, id, NF_ACCEPT, 0, mark, NULL, 0);
		break;
	case NFQ_DROP:
		batch_flush(t);
		verdict_one(t, id, NF_DROP, 0, 0, NULL, 0);
		break;
	case NFQ_BLOCK:
	default:
		batch_flush(t);
		verdict_one(t, id, NF_DROP, 0, 0, NULL, 0);
		if (v == NFQ_BLOCK)
			CNT_ADD(t, rst_sent,
			    (uint64_t)nfq_rst_send(&t->q->rst, &t->pkt));
		break;
	}
}

/* Walk the netlink messages of one datagram. */
static void
datagram(struct nfq_thread *t, size_t n)
{
	const struct nlmsghdr *nlh = (const struct nlmsghdr *)t->rbuf;
	int len = (int)n;

	while (mnl_nlmsg_ok(nlh, len)) {
		if (NFNL_MSG_TYPE(nlh->nlmsg_type) == NFQNL_MSG_PACKET &&
		    NFNL_SUBSYS_ID(nlh->nlmsg_type) == NFNL_SUBSYS_QUEUE)
			packet_msg(t, nlh);
		else if (nlh->nlmsg_type == NLMSG_ERROR) {
			const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);

			if (nlh->nlmsg_len >= mnl_nlmsg_size(sizeof *e) &&
			    e->error != 0)
				CNT_ADD(t, send_errors, 1);
		}
		nlh = mnl_nlmsg_next(nlh, &len);
	}
}

static int
stopping(const struct nfq_thread *t)
{
	return __atomic_load_n(t->q->stop, __ATOMIC_RELAXED) ||
	    __atomic_load_n(&t->q->failed, __ATOMIC_RELAXED);
}

/* Thread body: init, receive/verdict loop, fini. */
static void *
queue_thread(void *arg)
{
	struct nfq_thread *t = arg;
	const struct nfq_conf *c = &t->q->c;
	int fd = mnl_socket_get_fd(t->nl);
	struct timeval tv = { 0, NFQ_POLL_MS * 1000 };
	uint64_t last_idle = 0, now;
	unsigned drained;
	ssize_t n;

	if (c->thread_init != NULL) {
		t->tctx = c->thread_init(c->arg, t->queue);
		if (t->tctx == NULL) {
			__atomic_store_n(&t->q->failed, 1, __ATOMIC_RELAXED);
			return NULL;
		}
	}
	/* The first recv of a round blocks (up to NFQ_POLL_MS): no poll()
	 * before it, one system call less per lone packet, which is what an
	 * SMTP session's few queued packets are. The next ones only drain
	 * what is already there, so runs of ACCEPTs share one verdict. */
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	while (!stopping(t)) {
		for (drained = 0; drained < NFQ_DRAIN_MAX; drained++) {
			n = recv(fd, t->rbuf, NFQ_RECV_BUFSZ, drained ? MSG_DONTWAIT : 0);
			if (n < 0) {
				if (errno == ENOBUFS)
					CNT_ADD(t, enobufs, 1);
				else if (errno != EAGAIN &&
				    errno != EWOULDBLOCK && errno != EINTR)
					CNT_ADD(t, send_errors, 1);
				if (errno != ENOBUFS)
					break;
				continue;
			}
			if (n == 0)
				break;
			t->rx_t0 = mono_ns();
			datagram(t, (size_t)n);
		}
		batch_flush(t);
		now = now_us();
		if (c->idle != NULL && (drained == 0 || now - last_idle >= NFQ_POLL_MS * 1000ULL)) {
			c->idle(t->tctx, now);
			last_idle = now;
		}
	}
	batch_flush(t);
	if (c->thread_fini != NULL && t->tctx != NULL)
		c->thread_fini(t->tctx);
	t->tctx = NULL;
	return NULL;
}

int
nfq_loop(struct nfq *q, volatile int *stop)
{
	unsigned i;
	int rc = 0;

	if (q == NULL || stop == NULL) {
		errno = EINVAL;
		return -1;
	}
	q->stop = stop;
	q->failed = 0;
	for (i = 0; i < q->n; i++) {
		int e = pthread_create(&q->t[i].tid, NULL, queue_thread, &q->t[i]);

		if (e != 0) {
			errno = e;
			__atomic_store_n(&q->failed, 1, __ATOMIC_RELAXED);
			rc = -1;
			break;
		}
		q->t[i].started = 1;
	}
	for (i = 0; i < q->n; i++) {
		if (q->t[i].started) {
			pthread_join(q->t[i].tid, NULL);
			q->t[i].started = 0;
		}
	}
	if (q->failed) {
		if (rc == 0)
			errno = ECANCELED;
		rc = -1;
	}
	return rc;
}

void
nfq_close(struct nfq *q)
{
	struct nlmsghdr *nlh;
	unsigned i;

	if (q == NULL)
		return;
	for (i = 0; q->t != NULL && i < q->n; i++) {
		struct nfq_thread *t = &q->t[i];

		if (t->nl != NULL) {
			/* Unbind explicitly: closing would do it too, but
			 * say it so the kernel falls back to bypass now. */
			nlh = nfq_nlmsg_put(t->sbuf, NFQNL_MSG_CONFIG, t->queue);
			nfq_nlmsg_cfg_put_cmd(nlh, AF_UNSPEC, NFQNL_CFG_CMD_UNBIND);
			(void)mnl_socket_sendto(t->nl, nlh, nlh->nlmsg_len);
			mnl_socket_close(t->nl);
		}
		free(t->rbuf);
	}
	free(q->t);
	nfq_rst_close(&q->rst);
	free(q);
}

void
nfq_get_stats(const struct nfq *q, struct nfq_stats *st)
{
	unsigned i;

	memset(st, 0, sizeof *st);
	if (q == NULL)
		return;
	for (i = 0; i < q->n; i++) {
		const struct nfq_counters *k = &q->t[i].cnt;

		st->received += __atomic_load_n(&k->received, __ATOMIC_RELAXED);
		st->verdicts += __atomic_load_n(&k->verdicts, __ATOMIC_RELAXED);
		st->batches += __atomic_load_n(&k->batches, __ATOMIC_RELAXED);
		st->enobufs += __atomic_load_n(&k->enobufs, __ATOMIC_RELAXED);
		st->send_errors += __atomic_load_n(&k->send_errors,
		    __ATOMIC_RELAXED);
		st->rst_sent += __atomic_load_n(&k->rst_sent, __ATOMIC_RELAXED);
		st->changed += __atomic_load_n(&k->changed, __ATOMIC_RELAXED);
		st->marked_inspecting += __atomic_load_n(&k->marked_inspecting, __ATOMIC_RELAXED);
		st->gso += __atomic_load_n(&k->gso, __ATOMIC_RELAXED);
		st->csum_partial += __atomic_load_n(&k->csum_partial, __ATOMIC_RELAXED);
		for (unsigned b = 0; b < NFQ_LAT_BUCKETS; b++)
			st->lat[b] += __atomic_load_n(&k->lat[b], __ATOMIC_RELAXED);
		st->lat_sum_us += __atomic_load_n(&k->lat_sum_us, __ATOMIC_RELAXED);
	}
}
