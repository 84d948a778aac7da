/*
 * nfq_rst.c - TCP resets to both ends of a blocked session, from raw sockets.
 *
 * The gateway drops the offending packet, so the receiver still expects
 * exactly p->seq and the sender expects p->ack: resets carrying those
 * sequence numbers land inside both windows (RFC 5961 exact match, no
 * challenge ACK). The forged segments are locally generated on the router,
 * so they take the OUTPUT path and are never queued back to us.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "nfq_rst.h"
#include "../inspect/csum.h"
#include "../inspect/wire.h"

#define RST_TTL 64   /* a fresh TTL: the reset may travel as far as the peer */

int
nfq_rst_open(struct nfq_rst *r)
{
	int saved;

	r->fd4 = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
	saved = errno;
	r->fd6 = socket(AF_INET6, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
	if (r->fd4 < 0 && r->fd6 < 0) {
		errno = saved;
		return -1;
	}
	return 0;
}

void
nfq_rst_close(struct nfq_rst *r)
{
	if (r->fd4 >= 0)
		close(r->fd4);
	if (r->fd6 >= 0)
		close(r->fd6);
	r->fd4 = r->fd6 = -1;
}

size_t
nfq_rst_build(uint8_t *buf, const struct pkt *p, int to_sender)
{
	const struct pkt_addr *src, *dst;
	uint16_t sport, dport;
	uint32_t seq, ack, sum, advance;
	uint8_t *th, pseudo[40];
	size_t l3len, alen;

	if (p->proto != 6 || (p->af != 4 && p->af != 6))
		return 0;
	/* SYN and FIN each occupy one sequence number. */
	advance = p->payload_wire_len +
	    ((p->tcp_flags & PKT_TH_SYN) ? 1 : 0) +
	    ((p->tcp_flags & PKT_TH_FIN) ? 1 : 0);
	if (to_sender) {
		src = &p->dst; dst = &p->src;
		sport = p->dport; dport = p->sport;
		seq = (p->tcp_flags & PKT_TH_ACK) ? p->ack : 0;
		ack = p->seq + advance;
	} else {
		src = &p->src; dst = &p->dst;
		sport = p->sport; dport = p->dport;
		seq = p->seq;
		ack = p->ack;
	}
	alen = p->af == 4 ? 4 : 16;
	l3len = p->af == 4 ? 20 : 40;
	memset(buf, 0, l3len + 20);
	if (p->af == 4) {
		buf[0] = 0x45;
		put16(buf + 2, (uint16_t)(l3len + 20));
		buf[6] = 0x40;                 /* DF */
		buf[8] = RST_TTL;
		buf[9] = IPPROTO_TCP;
		memcpy(buf + 12, src->a, 4);
		memcpy(buf + 16, dst->a, 4);
		put16(buf + 10, csum_fold(csum_add(0, buf, 20)));
	} else {
		buf[0] = 0x60;
		put16(buf + 4, 20);            /* payload length */
		buf[6] = IPPROTO_TCP;
		buf[7] = RST_TTL;
		memcpy(buf + 8, src->a, 16);
		memcpy(buf + 24, dst->a, 16);
	}
	th = buf + l3len;
	put16(th, sport);
	put16(th + 2, dport);
	put32(th + 4, seq);
	put32(th + 8, ack);
	th[12] = 5 << 4;
	th[13] = PKT_TH_RST | PKT_TH_ACK;
	/* window, checksum, urgent stay 0 until the checksum below */
	memset(pseudo, 0, sizeof pseudo);
	memcpy(pseudo, src->a, alen);
	memcpy(pseudo + alen, dst->a, alen);
	sum = csum_add(0, pseudo, 2 * alen);
	sum += IPPROTO_TCP + 20;
	sum = csum_add(sum, th, 20);
	put16(th + 16, csum_fold(sum));
	return l3len + 20;
}

/* Send one forged datagram to its destination address. */
static int
rst_sendto(const struct nfq_rst *r, const struct pkt *p, const uint8_t *buf,
    size_t len, int to_sender)
{
	const struct pkt_addr *dst = to_sender ? &p->src : &p->dst;

	if (p->af == 4) {
		struct sockaddr_in sin;

		if (r->fd4 < 0) {
			errno = EAFNOSUPPORT;
			return -1;
		}
		memset(&sin, 0, sizeof sin);
		sin.sin_family = AF_INET;
		memcpy(&sin.sin_addr, dst->a, 4);
		return sendto(r->fd4, buf, len, 0, (struct sockaddr *)&sin,
		    sizeof sin) == (ssize_t)len ? 0 : -1;
	} else {
		struct sockaddr_in6 sin6;

		if (r->fd6 < 0) {
			errno = EAFNOSUPPORT;
			return -1;
		}
		memset(&sin6, 0, sizeof sin6);
		sin6.sin6_family = AF_INET6;
		memcpy(&sin6.sin6_addr, dst->a, 16);
		return sendto(r->fd6, buf, len, 0, (struct sockaddr *)&sin6,
		    sizeof sin6) == (ssize_t)len ? 0 : -1;
	}
}

int
nfq_rst_send(const struct nfq_rst *r, const struct pkt *p)
{
	uint8_t buf[NFQ_RST_MAXLEN];
	int dir, sent = 0;
	size_t len;

	for (dir = 0; dir < 2; dir++) {
		len = nfq_rst_build(buf, p, dir);
		if (len == 0) {
			errno = EINVAL;
			continue;
		}
		if (rst_sendto(r, p, buf, len, dir) == 0)
			sent++;
	}
	return sent;
}
