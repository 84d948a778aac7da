/*
 * stg_syslog_listen.c - a tiny syslog receiver for the operators tests.
 *
 *   stg_syslog_listen unix PATH OUT N SECONDS
 *   stg_syslog_listen udp PORT OUT N SECONDS     (127.0.0.1 only)
 *   stg_syslog_listen tcp PORT OUT N SECONDS     (127.0.0.1, RFC 6587 octet counting)
 *
 * Binds first, then writes "ready" to standard output, and appends each
 * message received as one line to OUT until N messages came or SECONDS
 * passed (exit 0 when N arrived, 1 otherwise). Loopback only: it never
 * talks to anything but the gateway under test.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* Largest message we accept (the gateway sends at most about 9 KiB). */
#define LISTEN_MSG_MAX 65536

/* Milliseconds left until deadline (0 when past). */
static int
left_ms(const struct timespec *deadline)
{
	struct timespec now;
	long long ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (long long)(deadline->tv_sec - now.tv_sec) * 1000 +
	    (deadline->tv_nsec - now.tv_nsec) / 1000000;
	return ms > 0 ? (int)ms : 0;
}

/* Write one message as a line. */
static void
emit(FILE *out, const char *m, size_t n)
{
	fwrite(m, 1, n, out);
	fputc('\n', out);
	fflush(out);
}

/* TCP: split buf into octet-counted frames; returns messages taken. */
static int
tcp_frames(char *buf, size_t *len, FILE *out)
{
	int got = 0;

	for (;;) {
		size_t i = 0, n = 0, rest;

		while (i < *len && buf[i] >= '0' && buf[i] <= '9' && i < 8)
			n = n * 10 + (size_t)(buf[i++] - '0');
		if (i == *len || i == 0)
			return got;
		if (buf[i] != ' ') {
			fprintf(stderr, "stg_syslog_listen: bad frame\n");
			exit(1);
		}
		if (*len < i + 1 + n)
			return got;
		emit(out, buf + i + 1, n);
		got++;
		rest = *len - (i + 1 + n);
		memmove(buf, buf + i + 1 + n, rest);
		*len = rest;
	}
}

int
main(int argc, char **argv)
{
	static char buf[LISTEN_MSG_MAX];
	struct timespec deadline;
	int fd, cfd = -1, want, got = 0, tcp = 0;
	size_t have = 0;
	FILE *out;

	if (argc != 6) {
		fprintf(stderr, "usage: stg_syslog_listen unix PATH|udp PORT|tcp PORT OUT N SECONDS\n");
		return 2;
	}
	want = atoi(argv[4]);
	if (strcmp(argv[1], "unix") == 0) {
		struct sockaddr_un sun;

		memset(&sun, 0, sizeof(sun));
		sun.sun_family = AF_UNIX;
		if (strlen(argv[2]) >= sizeof(sun.sun_path))
			return 2;
		memcpy(sun.sun_path, argv[2], strlen(argv[2]));
		unlink(argv[2]);
		fd = socket(AF_UNIX, SOCK_DGRAM, 0);
		if (fd == -1 || bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
			perror("stg_syslog_listen: unix");
			return 1;
		}
	} else {
		struct sockaddr_in sin;
		int one = 1;

		tcp = strcmp(argv[1], "tcp") == 0;
		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		sin.sin_port = htons((uint16_t)atoi(argv[2]));
		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		fd = socket(AF_INET, tcp ? SOCK_STREAM : SOCK_DGRAM, 0);
		if (fd != -1)
			setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (fd == -1 || bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
		    (tcp && listen(fd, 4) == -1)) {
			perror("stg_syslog_listen: inet");
			return 1;
		}
	}
	if ((out = fopen(argv[3], "a")) == NULL) {
		perror(argv[3]);
		return 1;
	}
	printf("ready\n");
	fflush(stdout);
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += atoi(argv[5]);
	while (got < want) {
		struct pollfd p = { tcp && cfd != -1 ? cfd : fd, POLLIN, 0 };
		int ms = left_ms(&deadline);
		ssize_t n;

		if (ms == 0 || poll(&p, 1, ms) <= 0)
			break;
		if (tcp && cfd == -1) {
			cfd = accept(fd, NULL, NULL);
			continue;
		}
		if (tcp) {
			n = read(cfd, buf + have, sizeof(buf) - have);
			if (n <= 0) {
				close(cfd);
				cfd = -1;
				continue;
			}
			have += (size_t)n;
			got += tcp_frames(buf, &have, out);
		} else {
			n = recv(fd, buf, sizeof(buf), 0);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0)
				break;
			emit(out, buf, (size_t)n);
			got++;
		}
	}
	fclose(out);
	if (strcmp(argv[1], "unix") == 0)
		unlink(argv[2]);
	return got >= want ? 0 : 1;
}
