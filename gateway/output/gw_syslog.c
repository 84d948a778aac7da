/*
 * gw_syslog.c - RFC 5424 messages to /dev/log, a unix socket, UDP or TCP.
 *
 * Datagram targets use sendto() with the stored address on every message,
 * so a restarted syslog daemon (a new /dev/log) is found again without a
 * new socket. TCP frames each message with RFC 6587 octet counting; sends
 * are non-blocking, a message the socket could only take in part keeps its
 * rest in a small pending buffer sent first next time, and while that is
 * pending new messages are dropped (counted). A broken TCP connection is
 * reconnected at most every GW_SYSLOG_RETRY_S seconds (the sandbox allows
 * TCP, UDP and unix sockets for that). Must not log: it may run on the
 * packet path.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "gw_syslog.h"

/* Longest message: an EVE line (8 KiB at most) plus header and SD. */
#define GW_SYSLOG_MSG_MAX  9216
/* Seconds between TCP reconnect attempts. */
#define GW_SYSLOG_RETRY_S  5
#define GW_SYSLOG_PORT     "514"
#define GW_SYSLOG_DEVLOG   "/dev/log"
/* RFC 5612: the enterprise number reserved for documentation. */
#define GW_SYSLOG_SD_ID    "stg@32473"

enum { T_UNIX, T_UDP, T_TCP };

struct gw_syslog {
	pthread_mutex_t mu;                    /* one message at a time */
	struct gw_syslog_conf conf;            /* copy of the settings */
	int      kind;                         /* T_UNIX, T_UDP, T_TCP */
	int      fd;                           /* -1 while disconnected (TCP) */
	struct sockaddr_storage addr;          /* where datagrams go / TCP peer */
	socklen_t addrlen;
	int      no_new;                       /* sandboxed: no socket(2) any more */
	time_t   last_try;                     /* last TCP connect attempt */
	char     host[256];                    /* HOSTNAME field */
	long     pid;                          /* PROCID field */
	char     pend[GW_SYSLOG_MSG_MAX + 16]; /* TCP: unsent rest of a message */
	size_t   pend_off, pend_len;
	struct gw_syslog_stats st;             /* counters */
};

static const char *const facilities[24] = {
	"kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news",
	"uucp", "cron", "authpriv", "ftp", "ntp", "security", "console", "clock",
	"local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7",
};

void
gw_syslog_conf_default(struct gw_syslog_conf *c)
{
	memset(c, 0, sizeof(*c));
	c->enabled = 0;
	c->facility = 3;
	snprintf(c->target, sizeof(c->target), "local");
	snprintf(c->app_name, sizeof(c->app_name), "starttls-guard");
	c->events = GW_SYSLOG_EV_ALERT;
}

int
gw_syslog_facility(const char *name)
{
	for (int i = 0; i < 24; i++)
		if (strcmp(facilities[i], name) == 0)
			return i;
	return -1;
}

/* Split "udp://host:port" / "tcp://[v6]:port" into kind, host, port. */
static int
parse_target(const char *t, int *kind, char *host, size_t hlen, char *port,
    size_t plen, char *err, size_t errlen)
{
	const char *h, *colon;
	size_t n;

	if (strcmp(t, "local") == 0) {
		*kind = T_UNIX;
		snprintf(host, hlen, "%s", GW_SYSLOG_DEVLOG);
		return 0;
	}
	if (strncmp(t, "unix:", 5) == 0) {
		*kind = T_UNIX;
		if (t[5] != '/' || strlen(t + 5) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
			snprintf(err, errlen, "\"%s\": unix: needs an absolute socket path (at most 107 bytes)", t);
			return -1;
		}
		snprintf(host, hlen, "%s", t + 5);
		return 0;
	}
	if (strncmp(t, "udp://", 6) == 0)
		*kind = T_UDP;
	else if (strncmp(t, "tcp://", 6) == 0)
		*kind = T_TCP;
	else {
		snprintf(err, errlen, "\"%s\": use \"local\", \"unix:/path\", \"udp://host:port\" or \"tcp://host:port\"", t);
		return -1;
	}
	h = t + 6;
	if (*h == '[') {
		const char *rb = strchr(h, ']');

		if (rb == NULL) {
			snprintf(err, errlen, "\"%s\": missing ']'", t);
			return -1;
		}
		n = (size_t)(rb - h - 1);
		if (n == 0 || n >= hlen) {
			snprintf(err, errlen, "\"%s\": bad address", t);
			return -1;
		}
		memcpy(host, h + 1, n);
		host[n] = '\0';
		colon = rb[1] == ':' ? rb + 1 : NULL;
		if (rb[1] != '\0' && colon == NULL) {
			snprintf(err, errlen, "\"%s\": junk after ']'", t);
			return -1;
		}
	} else {
		colon = strrchr(h, ':');
		n = colon ? (size_t)(colon - h) : strlen(h);
		if (n == 0 || n >= hlen || memchr(h, '/', n) != NULL) {
			snprintf(err, errlen, "\"%s\": bad host", t);
			return -1;
		}
		memcpy(host, h, n);
		host[n] = '\0';
	}
	if (colon != NULL) {
		char *end;
		unsigned long p = strtoul(colon + 1, &end, 10);

		if (colon[1] == '\0' || *end != '\0' || p == 0 || p > 65535) {
			snprintf(err, errlen, "\"%s\": bad port", t);
			return -1;
		}
		snprintf(port, plen, "%lu", p);
	} else
		snprintf(port, plen, "%s", GW_SYSLOG_PORT);
	return 0;
}

int
gw_syslog_check_target(const char *target, char *err, size_t errlen)
{
	char host[256], port[8];
	int kind;

	return parse_target(target, &kind, host, sizeof(host), port, sizeof(port), err, errlen);
}

/* A new TCP socket, connection started (non-blocking). -1 on failure. */
static int
tcp_connect(struct gw_syslog *s)
{
	int fd, one = 1;

	s->last_try = time(NULL);
	fd = socket(s->addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd == -1)
		return -1;
	(void)setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
	if (connect(fd, (struct sockaddr *)&s->addr, s->addrlen) == -1 && errno != EINPROGRESS) {
		close(fd);
		return -1;
	}
	s->pend_len = s->pend_off = 0;
	return fd;
}

struct gw_syslog *
gw_syslog_open(const struct gw_syslog_conf *c, char *err, size_t errlen)
{
	char host[256], port[8];
	struct gw_syslog *s;
	int kind;

	if (parse_target(c->target, &kind, host, sizeof(host), port, sizeof(port), err, errlen) == -1)
		return NULL;
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->conf = *c;
	s->kind = kind;
	s->fd = -1;
	s->pid = (long)getpid();
	if (gethostname(s->host, sizeof(s->host)) == -1 || s->host[0] == '\0')
		snprintf(s->host, sizeof(s->host), "-");
	s->host[sizeof(s->host) - 1] = '\0';
	for (char *p = s->host; *p; p++)      /* PRINTUSASCII, no spaces */
		if (*p <= ' ' || *p > '~')
			*p = '-';
	if (kind == T_UNIX) {
		struct sockaddr_un *sun = (struct sockaddr_un *)&s->addr;

		sun->sun_family = AF_UNIX;
		memcpy(sun->sun_path, host, strnlen(host, sizeof(sun->sun_path) - 1));
		s->addrlen = (socklen_t)sizeof(*sun);
		s->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	} else {
		struct addrinfo hints, *ai = NULL;
		int rc;

		memset(&hints, 0, sizeof(hints));
		hints.ai_family = AF_UNSPEC;
		hints.ai_socktype = kind == T_UDP ? SOCK_DGRAM : SOCK_STREAM;
		if ((rc = getaddrinfo(host, port, &hints, &ai)) != 0 || ai == NULL) {
			snprintf(err, errlen, "\"%s\": cannot resolve %s: %s", c->target, host,
			    gai_strerror(rc));
			free(s);
			return NULL;
		}
		memcpy(&s->addr, ai->ai_addr, ai->ai_addrlen);
		s->addrlen = ai->ai_addrlen;
		freeaddrinfo(ai);
		if (kind == T_UDP)
			s->fd = socket(s->addr.ss_family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		else
			s->fd = tcp_connect(s);   /* may fail: retried at the next message */
	}
	if (s->fd == -1 && kind != T_TCP) {
		snprintf(err, errlen, "\"%s\": socket: %s", c->target, strerror(errno));
		free(s);
		return NULL;
	}
	pthread_mutex_init(&s->mu, NULL);
	return s;
}

void
gw_syslog_close(struct gw_syslog *s)
{
	if (s == NULL)
		return;
	if (s->fd != -1)
		close(s->fd);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

void
gw_syslog_no_new_sockets(struct gw_syslog *s)
{
	if (s == NULL)
		return;
	pthread_mutex_lock(&s->mu);
	s->no_new = 1;
	pthread_mutex_unlock(&s->mu);
}

/* Append an SD-PARAM value with '"', '\' and ']' escaped (RFC 5424 6.3.3). */
static size_t
sd_value(char *dst, size_t len, const char *v)
{
	size_t o = 0;

	for (; *v != '\0' && o + 3 < len; v++) {
		if (*v == '"' || *v == '\\' || *v == ']')
			dst[o++] = '\\';
		dst[o++] = (*v >= ' ' && *v <= '~') ? *v : '?';
	}
	dst[o] = '\0';
	return o;
}

size_t
gw_syslog_format(char *buf, size_t buflen, int facility, const char *host,
    const char *app, long pid, uint64_t ts_us, const struct gw_syslog_meta *m,
    const char *json, size_t len)
{
	time_t sec = (time_t)(ts_us / 1000000u);
	char ts[40], sd[256], sig[96], msgid[33];
	struct tm tm;
	int sev, n;

	/* alert severity 1 -> crit, 2 -> warning, 3 -> notice; the rest info */
	switch (m->severity) {
	case 1:  sev = 2; break;
	case 2:  sev = 4; break;
	case 3:  sev = 5; break;
	default: sev = 6; break;
	}
	if (gmtime_r(&sec, &tm) == NULL || strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm) == 0)
		snprintf(ts, sizeof(ts), "1970-01-01T00:00:00");
	snprintf(msgid, sizeof(msgid), "%s", m->type && *m->type ? m->type : "-");
	if (m->signature != NULL) {
		sd_value(sig, sizeof(sig), m->signature);
		snprintf(sd, sizeof(sd), "[" GW_SYSLOG_SD_ID " signature=\"%s\" severity=\"%d\" "
		    "action=\"%s\" flow_id=\"%llu\"]", sig, m->severity,
		    m->blocked ? "blocked" : "allowed", (unsigned long long)m->flow_id);
	} else if (m->flow_id != 0)
		snprintf(sd, sizeof(sd), "[" GW_SYSLOG_SD_ID " flow_id=\"%llu\"]",
		    (unsigned long long)m->flow_id);
	else
		snprintf(sd, sizeof(sd), "-");
	n = snprintf(buf, buflen, "<%d>1 %s.%06uZ %s %s %ld %s %s ", facility * 8 + sev, ts,
	    (unsigned)(ts_us % 1000000u), host && *host ? host : "-", app && *app ? app : "-",
	    pid, msgid, sd);
	if (n < 0 || (size_t)n + len >= buflen)
		return 0;
	memcpy(buf + n, json, len);
	buf[(size_t)n + len] = '\0';
	return (size_t)n + len;
}

/* TCP: push out the pending rest. 0 when nothing is left pending. */
static int
tcp_flush(struct gw_syslog *s)
{
	while (s->pend_off < s->pend_len) {
		ssize_t w = send(s->fd, s->pend + s->pend_off, s->pend_len - s->pend_off,
		    MSG_DONTWAIT | MSG_NOSIGNAL);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return -1;
			/* broken: start over with a new connection later */
			close(s->fd);
			s->fd = -1;
			s->pend_off = s->pend_len = 0;
			return -1;
		}
		s->pend_off += (size_t)w;
	}
	s->pend_off = s->pend_len = 0;
	return 0;
}

/* TCP: frame msg (octet counting) and send what the socket takes. */
static void
tcp_send(struct gw_syslog *s, const char *msg, size_t n)
{
	int h;

	if (s->fd == -1) {
		if (s->no_new || time(NULL) - s->last_try < GW_SYSLOG_RETRY_S ||
		    (s->fd = tcp_connect(s)) == -1) {
			s->st.dropped++;
			return;
		}
	}
	if (s->pend_len > 0 && tcp_flush(s) == -1) {
		s->st.dropped++;
		return;
	}
	h = snprintf(s->pend, sizeof(s->pend), "%zu ", n);
	if (h < 0 || (size_t)h + n > sizeof(s->pend)) {
		s->st.dropped++;
		return;
	}
	memcpy(s->pend + h, msg, n);
	s->pend_len = (size_t)h + n;
	s->pend_off = 0;
	if (tcp_flush(s) == -1 && s->fd == -1) {
		s->st.dropped++;   /* the connection broke under this message */
		return;
	}
	s->st.sent++;          /* sent, or its rest goes first next time */
}

void
gw_syslog_send(struct gw_syslog *s, uint64_t ts_us, const struct gw_syslog_meta *m,
    const char *json, size_t len)
{
	char msg[GW_SYSLOG_MSG_MAX];
	unsigned bit;
	size_t n;

	if (s == NULL || m == NULL || m->type == NULL)
		return;
	if (strcmp(m->type, "alert") == 0)
		bit = GW_SYSLOG_EV_ALERT;
	else if (strcmp(m->type, "flow") == 0)
		bit = GW_SYSLOG_EV_FLOW;
	else if (strcmp(m->type, "stats") == 0)
		bit = GW_SYSLOG_EV_STATS;
	else
		bit = 0;
	if ((s->conf.events & bit) == 0)
		return;
	pthread_mutex_lock(&s->mu);
	n = gw_syslog_format(msg, sizeof(msg), s->conf.facility, s->host, s->conf.app_name,
	    s->pid, ts_us, m, json, len);
	if (n == 0)
		s->st.dropped++;
	else if (s->kind == T_TCP)
		tcp_send(s, msg, n);
	else if (sendto(s->fd, msg, n, MSG_DONTWAIT | MSG_NOSIGNAL,
	    (struct sockaddr *)&s->addr, s->addrlen) == (ssize_t)n)
		s->st.sent++;
	else
		s->st.dropped++;
	pthread_mutex_unlock(&s->mu);
}

void
gw_syslog_get_stats(struct gw_syslog *s, struct gw_syslog_stats *st)
{
	if (s == NULL) {
		memset(st, 0, sizeof(*st));
		return;
	}
	pthread_mutex_lock(&s->mu);
	*st = s->st;
	pthread_mutex_unlock(&s->mu);
}
