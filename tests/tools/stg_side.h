/*
 * stg_side.h - one end of a test topology for the tools that send packets
 * across the gateway from inside its namespaces (stg_replay, stg_flood):
 * raw sockets to send from the namespace, a packet socket to see what the
 * gateway let through to it. Header only: each tool is one file.
 */
#ifndef TESTS_TOOLS_STG_SIDE_H
#define TESTS_TOOLS_STG_SIDE_H

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <netinet/in.h>
#include <sys/socket.h>

struct side {
	int fd4, fd6;   /* raw sockets created inside that namespace */
	int cap;        /* packet socket there: what arrives from the gateway */
};

/* Enter the namespace at /run/netns/NS (the calling thread stays there)
 * and open its sockets; who names the tool in messages. 0 or -1. */
static inline int
side_open(struct side *s, const char *ns, const char *who)
{
	char path[256];
	int fd;

	snprintf(path, sizeof path, "/run/netns/%s", ns);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || setns(fd, CLONE_NEWNET) < 0) {
		fprintf(stderr, "%s: netns %s: %s\n", who, ns, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	s->fd4 = socket(AF_INET, SOCK_RAW, IPPROTO_RAW);
	s->fd6 = socket(AF_INET6, SOCK_RAW, IPPROTO_RAW);
	s->cap = socket(AF_PACKET, SOCK_DGRAM, htons(ETH_P_ALL));
	if (s->fd4 < 0 || s->fd6 < 0 || s->cap < 0) {
		fprintf(stderr, "%s: raw socket in %s: %s\n", who, ns, strerror(errno));
		return -1;
	}
	return 0;
}

/* Send a whole IP datagram (header included) from the side's namespace
 * to dst (4 or 16 bytes, as v6 says). The sendto() result. */
static inline int
side_send(const struct side *s, int v6, const uint8_t *dst, const void *dgram, size_t len)
{
	if (!v6) {
		struct sockaddr_in sin;

		memset(&sin, 0, sizeof sin);
		sin.sin_family = AF_INET;
		memcpy(&sin.sin_addr, dst, 4);
		return (int)sendto(s->fd4, dgram, len, 0, (struct sockaddr *)&sin, sizeof sin);
	} else {
		struct sockaddr_in6 sin6;

		memset(&sin6, 0, sizeof sin6);
		sin6.sin6_family = AF_INET6;
		memcpy(&sin6.sin6_addr, dst, 16);
		return (int)sendto(s->fd6, dgram, len, 0, (struct sockaddr *)&sin6, sizeof sin6);
	}
}

#endif
