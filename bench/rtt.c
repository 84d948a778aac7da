/*
 * rtt.c - SMTP-looking ping-pong for the inline benchmark's latency figure.
 *
 * Usage: rtt -s ADDR PORT                      server (runs until killed)
 *        rtt -c ADDR PORT [-n COUNT] [-w WARMUP]   client
 *
 * The server greets with "220 rtt.example.net ESMTP\r\n" and answers every
 * line with "250 ok\r\n" ("221 bye" to QUIT, then closes), one client at a
 * time. The client reads the greeting, then sends "NOOP\r\n" WARMUP times
 * untimed and COUNT times timed (CLOCK_MONOTONIC, send → whole reply read).
 * It never says EHLO or MAIL FROM, so an inline gateway can never decide the
 * session and bypass it: every request and every reply is queued to it. With
 * TCP_NODELAY on both ends and the next request sent as soon as the reply
 * arrives, each exchange is two packets (ACKs ride along), so RTT added by
 * the gateway / 2 = latency added per queued packet. Prints one line:
 *   rtt n=COUNT min_us=.. p50_us=.. p90_us=.. p99_us=.. p999_us=.. max_us=.. mean_us=..
 * Documentation addresses only; no name lookups.
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#define RTT_BANNER    "220 rtt.example.net ESMTP\r\n"
#define RTT_REQ       "NOOP\r\n"
#define RTT_REPLY     "250 ok\r\n"
/* Longest line the server keeps (RFC 5321 command line, 512 octets). */
#define RTT_LINE_MAX  512
/* Upper bound on timed exchanges (the samples live in one array). */
#define RTT_COUNT_MAX 10000000UL

/* Print a message with errno and exit 1. */
static _Noreturn void
die(const char *what)
{
	fprintf(stderr, "rtt: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* Fill sa with ADDR:PORT (IPv4 or IPv6 literal); returns its length or 0. */
static socklen_t
rtt_addr(struct sockaddr_storage *sa, const char *addr, const char *port)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)sa;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)sa;
	char *end;
	unsigned long p = strtoul(port, &end, 10);

	if (*end != '\0' || p == 0 || p > 65535)
		return 0;
	memset(sa, 0, sizeof *sa);
	if (inet_pton(AF_INET, addr, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)p);
		return sizeof *s4;
	}
	if (inet_pton(AF_INET6, addr, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)p);
		return sizeof *s6;
	}
	return 0;
}

/* Write all n bytes; -1 on error. */
static int
write_all(int fd, const char *b, size_t n)
{
	while (n > 0) {
		ssize_t w = send(fd, b, n, MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		b += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Serve one connection: greet, answer each line. */
static void
rtt_serve(int fd)
{
	char buf[4096], line[RTT_LINE_MAX];
	size_t ll = 0;

	if (write_all(fd, RTT_BANNER, sizeof RTT_BANNER - 1) < 0)
		return;
	for (;;) {
		ssize_t n = recv(fd, buf, sizeof buf, 0);
		if (n <= 0) {
			if (n < 0 && errno == EINTR)
				continue;
			return;
		}
		for (ssize_t i = 0; i < n; i++) {
			if (ll < sizeof line)
				line[ll++] = buf[i];
			if (buf[i] != '\n')
				continue;
			if (ll >= 4 && strncasecmp(line, "QUIT", 4) == 0) {
				(void)write_all(fd, "221 bye\r\n", 9);
				return;
			}
			ll = 0;
			if (write_all(fd, RTT_REPLY, sizeof RTT_REPLY - 1) < 0)
				return;
		}
	}
}

/* Server: accept clients one at a time, forever. */
static _Noreturn void
rtt_server(const struct sockaddr_storage *sa, socklen_t sl)
{
	int one = 1, ls, fd;

	if ((ls = socket(sa->ss_family, SOCK_STREAM, 0)) < 0)
		die("socket");
	(void)setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(ls, (const struct sockaddr *)sa, sl) < 0)
		die("bind");
	if (listen(ls, 16) < 0)
		die("listen");
	printf("rtt: listening\n");
	fflush(stdout);
	for (;;) {
		if ((fd = accept(ls, NULL, NULL)) < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			die("accept");
		}
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		rtt_serve(fd);
		close(fd);
	}
}

/* Read until the buffer ends with want (a whole reply); -1 on EOF/error. */
static int
read_reply(int fd, const char *want)
{
	char buf[512];
	size_t have = 0, wl = strlen(want);

	while (have < wl || memcmp(buf + have - wl, want, wl) != 0) {
		ssize_t n = recv(fd, buf + have, sizeof buf - have, 0);
		if (n <= 0) {
			if (n < 0 && errno == EINTR)
				continue;
			return -1;
		}
		have += (size_t)n;
		if (have == sizeof buf)
			return -1;
	}
	return 0;
}

/* Monotonic clock in nanoseconds. */
static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* qsort order of uint64_t samples. */
static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Value at quantile q of n sorted samples (nearest rank), in µs. */
static double
quant_us(const uint64_t *s, size_t n, double q)
{
	size_t i = (size_t)(q * (double)n);

	if (i >= n)
		i = n - 1;
	return (double)s[i] / 1000.0;
}

/* Client: warm up, time COUNT exchanges, print the distribution. */
static int
rtt_client(const struct sockaddr_storage *sa, socklen_t sl, size_t count,
    size_t warmup)
{
	uint64_t *s, sum = 0;
	int one = 1, fd;

	if ((s = calloc(count, sizeof *s)) == NULL)
		die("calloc");
	if ((fd = socket(sa->ss_family, SOCK_STREAM, 0)) < 0)
		die("socket");
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (connect(fd, (const struct sockaddr *)sa, sl) < 0)
		die("connect");
	if (read_reply(fd, "\r\n") < 0)
		die("greeting");
	for (size_t i = 0; i < warmup + count; i++) {
		uint64_t t0 = now_ns();
		if (write_all(fd, RTT_REQ, sizeof RTT_REQ - 1) < 0)
			die("send");
		if (read_reply(fd, RTT_REPLY) < 0)
			die("reply");
		if (i >= warmup) {
			s[i - warmup] = now_ns() - t0;
			sum += s[i - warmup];
		}
	}
	(void)write_all(fd, "QUIT\r\n", 6);
	(void)read_reply(fd, "\r\n");
	close(fd);

	qsort(s, count, sizeof *s, cmp_u64);
	printf("rtt n=%zu min_us=%.1f p50_us=%.1f p90_us=%.1f p99_us=%.1f "
	    "p999_us=%.1f max_us=%.1f mean_us=%.1f\n", count,
	    (double)s[0] / 1000.0, quant_us(s, count, 0.50),
	    quant_us(s, count, 0.90), quant_us(s, count, 0.99),
	    quant_us(s, count, 0.999), (double)s[count - 1] / 1000.0,
	    (double)sum / (double)count / 1000.0);
	free(s);
	return 0;
}

/* Print the usage line and exit 2. */
static _Noreturn void
usage(void)
{
	fprintf(stderr, "usage: rtt -s ADDR PORT | rtt -c ADDR PORT [-n COUNT] [-w WARMUP]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	struct sockaddr_storage sa;
	socklen_t sl;
	unsigned long count = 10000, warmup = 500;

	if (argc < 4 || (strcmp(argv[1], "-s") != 0 && strcmp(argv[1], "-c") != 0))
		usage();
	if ((sl = rtt_addr(&sa, argv[2], argv[3])) == 0) {
		fprintf(stderr, "rtt: bad address %s port %s\n", argv[2], argv[3]);
		return 2;
	}
	for (int i = 4; i < argc; i++) {
		if (i + 1 >= argc)
			usage();
		if (strcmp(argv[i], "-n") == 0)
			count = strtoul(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "-w") == 0)
			warmup = strtoul(argv[++i], NULL, 10);
		else
			usage();
	}
	if (count == 0 || count > RTT_COUNT_MAX || warmup > RTT_COUNT_MAX)
		usage();
	signal(SIGPIPE, SIG_IGN);
	if (argv[1][1] == 's')
		rtt_server(&sa, sl);
	return rtt_client(&sa, sl, count, warmup);
}
