/*
 * gw_stsfetch.c - fetch MTA-STS policies into the cache (see gw_stsfetch.h).
 *
 * DNS through libresolv (res_nquery: getaddrinfo cannot ask for TXT),
 * HTTPS through OpenSSL with a non-blocking socket and one deadline for
 * connect, handshake, request and response. Nothing from the network is
 * trusted: every length is checked, every byte shown to the operator is
 * escaped and cut. Redirects are never followed (RFC 8461 3.3). A failure
 * never touches the cache: the file in place stays in force.
 */
#include <arpa/nameser.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <resolv.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "../policy/pol_mx.h"
#include "../policy/pol_sts.h"
#include "gw_config.h"
#include "gw_stsfetch.h"

#ifndef STG_VERSION
#define STG_VERSION "unknown"
#endif

#define SF_PROG "starttls-guard sts-fetch"
/* Connect + handshake + request + response, per domain (RFC 8461 3.3 asks
 * for a timeout without naming one; a minute would stall a cron run). */
#define SF_TIMEOUT_MS 10000
/* Raw bytes read: head plus a 64 KiB body, with room for chunk framing. */
#define SF_RAW_MAX (GW_HTTP_HEAD_MAX + 2 * POL_STS_MAX_BYTES)
/* TXT records at _mta-sts.DOMAIN we look at; one is expected. */
#define SF_TXT_RR_MAX 16
/* A DNS answer: the largest message TCP can carry. */
#define SF_DNS_MAX 65535
/* Where the policy lives (RFC 8461 3.3). */
#define SF_PATH "/.well-known/mta-sts.txt"

/* ---- pure parsers ------------------------------------------------------ */

/* Copy len untrusted bytes into out as printable ASCII (\xHH otherwise),
 * cut with "..." so that it fits outlen. */
static void
esc(const char *in, size_t len, char *out, size_t outlen)
{
	size_t o = 0;

	if (outlen == 0)
		return;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)in[i];
		size_t need = (c >= 0x20 && c < 0x7f && c != '\\') ? 1 : 4;

		if (o + need + 4 > outlen) {
			if (o + 4 <= outlen)
				memcpy(out + o, "...", 3), o += 3;
			break;
		}
		if (need == 1)
			out[o++] = (char)c;
		else
			o += (size_t)snprintf(out + o, outlen - o, "\\x%02x", c);
	}
	out[o] = '\0';
}

long
gw_sts_txt_rdata(const unsigned char *rdata, size_t len, char *out, size_t outlen)
{
	size_t i = 0, o = 0;

	if (outlen == 0)
		return -1;
	while (i < len) {
		size_t n = rdata[i++];

		if (n > len - i)
			return -1;
		for (size_t k = 0; k < n; k++, o++)
			if (o < outlen - 1)
				out[o] = (char)rdata[i + k];
		i += n;
	}
	out[o < outlen - 1 ? o : outlen - 1] = '\0';
	return (long)o;
}

/* RFC 5234 WSP. */
static int
is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

/* RFC 5234 ALPHA / DIGIT. */
static int
is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

int
gw_sts_txt_record(const char *txt, size_t len, char *id, size_t idlen, char *err, size_t errlen)
{
	static const char ver[] = "v=STSv1";
	const size_t vl = sizeof(ver) - 1;
	size_t i = vl, nfields = 0;
	int have_id = 0;

	if (idlen < GW_STS_ID_MAX + 1) {
		snprintf(err, errlen, "id buffer too small");
		return -1;
	}
	id[0] = '\0';
	/* RFC 8461 3.1: records not beginning with "v=STSv1;" are discarded;
	 * "v=STSv1 ;" (spaces before the separator) is the same record. */
	if (len < vl || memcmp(txt, ver, vl) != 0 || (len > vl && txt[vl] != ';' && !is_wsp(txt[vl])))
		return 1;
	for (;;) {
		size_t ns, nl, vs, vlen;

		while (i < len && is_wsp(txt[i]))
			i++;
		if (i == len)
			break;
		if (txt[i] != ';') {
			snprintf(err, errlen, "TXT record: ';' expected at offset %zu", i);
			return -1;
		}
		i++;
		while (i < len && is_wsp(txt[i]))
			i++;
		if (i == len)
			break; /* a trailing separator is allowed */
		/* sts-ext-name = (ALPHA / DIGIT) *31(ALPHA / DIGIT / "_" / "-" / ".") */
		ns = i;
		if (!is_alnum(txt[i])) {
			snprintf(err, errlen, "TXT record: field name expected at offset %zu", i);
			return -1;
		}
		while (i < len && (is_alnum(txt[i]) || txt[i] == '_' || txt[i] == '-' || txt[i] == '.'))
			i++;
		nl = i - ns;
		if (nl > 32) {
			snprintf(err, errlen, "TXT record: field name longer than 32 characters");
			return -1;
		}
		if (i == len || txt[i] != '=') {
			snprintf(err, errlen, "TXT record: '=' expected at offset %zu", i);
			return -1;
		}
		vs = ++i;
		if (nl == 2 && memcmp(txt + ns, "id", 2) == 0) {
			while (i < len && is_alnum(txt[i]))
				i++;
			vlen = i - vs;
			if (vlen == 0 || vlen > GW_STS_ID_MAX) {
				snprintf(err, errlen, "TXT record: id must be 1 to %d letters or digits",
				    GW_STS_ID_MAX);
				return -1;
			}
			if (have_id) {
				snprintf(err, errlen, "TXT record: id given twice");
				return -1;
			}
			memcpy(id, txt + vs, vlen);
			id[vlen] = '\0';
			have_id = 1;
		} else {
			/* sts-ext-value = 1*(%x21-3A / %x3C / %x3E-7E) */
			while (i < len && (unsigned char)txt[i] >= 0x21 && (unsigned char)txt[i] <= 0x7e &&
			    txt[i] != ';' && txt[i] != '=')
				i++;
			if (i == vs) {
				snprintf(err, errlen, "TXT record: empty value at offset %zu", vs);
				return -1;
			}
		}
		if (i < len && txt[i] != ';' && !is_wsp(txt[i])) {
			snprintf(err, errlen, "TXT record: bad character at offset %zu", i);
			return -1;
		}
		nfields++;
	}
	if (nfields == 0 || !have_id) {
		id[0] = '\0';
		snprintf(err, errlen, "TXT record: no id");
		return -1;
	}
	return 0;
}

int
gw_sts_txt_select(const char *const *txt, const size_t *len, size_t n, char *id, size_t idlen,
    char *err, size_t errlen)
{
	char one[GW_STS_ID_MAX + 1], rerr[128];
	size_t found = 0;
	int bad = 0;

	for (size_t i = 0; i < n; i++) {
		int rc = gw_sts_txt_record(txt[i], len[i], one, sizeof(one), rerr, sizeof(rerr));

		if (rc == 1)
			continue;
		found++;
		if (rc == -1) {
			bad = 1;
			snprintf(err, errlen, "%s", rerr);
		} else if (found == 1) {
			snprintf(id, idlen, "%s", one);
		}
	}
	if (found == 0) {
		snprintf(err, errlen, "no v=STSv1 TXT record");
		return 1;
	}
	if (found > 1) {
		snprintf(err, errlen, "%zu v=STSv1 TXT records (RFC 8461 3.1 wants exactly one)", found);
		return -1;
	}
	return bad ? -1 : 0;
}

/* RFC 9110 tchar. */
static int
is_tchar(char c)
{
	return is_alnum(c) || (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* Case-insensitive comparison of name[0..nl) with a NUL-terminated word. */
static int
name_is(const char *name, size_t nl, const char *word)
{
	return strlen(word) == nl && strncasecmp(name, word, nl) == 0;
}

int
gw_http_parse_head(const char *buf, size_t len, struct gw_http_resp *r, char *err, size_t errlen)
{
	size_t i = 0, end = 0, nheaders = 0;
	int64_t cl = -1;

	memset(r, 0, sizeof(*r));
	r->content_length = -1;
	/* Find the empty line that ends the head, within the limit. */
	for (size_t k = 0; k < len && k < GW_HTTP_HEAD_MAX; k++) {
		if (buf[k] != '\n')
			continue;
		if (k + 1 < len && buf[k + 1] == '\n') {
			end = k + 2;
			break;
		}
		if (k + 2 < len && buf[k + 1] == '\r' && buf[k + 2] == '\n') {
			end = k + 3;
			break;
		}
	}
	if (end == 0 || end > GW_HTTP_HEAD_MAX) {
		if (len >= GW_HTTP_HEAD_MAX) {
			snprintf(err, errlen, "response head longer than %d bytes", GW_HTTP_HEAD_MAX);
			return -1;
		}
		return 1;
	}
	r->head_len = end;

	/* Status line: HTTP/1.x SP 3DIGIT [SP reason]. */
	if (end < 13 || memcmp(buf, "HTTP/1.", 7) != 0 || (buf[7] != '0' && buf[7] != '1') ||
	    buf[8] != ' ' || buf[9] < '1' || buf[9] > '9' || buf[10] < '0' || buf[10] > '9' ||
	    buf[11] < '0' || buf[11] > '9' || (buf[12] != ' ' && buf[12] != '\r' && buf[12] != '\n')) {
		char shown[48];
		size_t l = 0;

		while (l < end && buf[l] != '\r' && buf[l] != '\n')
			l++;
		esc(buf, l < 32 ? l : 32, shown, sizeof(shown));
		snprintf(err, errlen, "not an HTTP/1.x status line: \"%s\"", shown);
		return -1;
	}
	r->minor = buf[7] - '0';
	r->status = (buf[9] - '0') * 100 + (buf[10] - '0') * 10 + (buf[11] - '0');
	{
		size_t rs = buf[12] == ' ' ? 13 : 12, re;

		i = rs;
		while (buf[i] != '\n')  /* there is one before end */
			i++;
		re = i++;
		if (re > rs && buf[re - 1] == '\r')
			re--;
		esc(buf + rs, re - rs, r->reason, sizeof(r->reason));
	}

	/* Header fields until the empty line. */
	while (i < end) {
		size_t ls = i, le, ns, nl, vs, ve;

		while (i < end && buf[i] != '\n')
			i++;
		le = i;                 /* at '\n' */
		i++;
		if (le > ls && buf[le - 1] == '\r')
			le--;
		if (le == ls)
			break;          /* the empty line */
		if (++nheaders > GW_HTTP_HEADERS_MAX) {
			snprintf(err, errlen, "more than %d header lines", GW_HTTP_HEADERS_MAX);
			return -1;
		}
		if (is_wsp(buf[ls])) {
			snprintf(err, errlen, "folded header line (obsolete, refused)");
			return -1;
		}
		ns = ls;
		while (ns < le && is_tchar(buf[ns]))
			ns++;
		nl = ns - ls;
		if (nl == 0 || ns == le || buf[ns] != ':') {
			snprintf(err, errlen, "header line %zu: no field name and ':'", nheaders);
			return -1;
		}
		vs = ns + 1;
		while (vs < le && is_wsp(buf[vs]))
			vs++;
		ve = le;
		while (ve > vs && is_wsp(buf[ve - 1]))
			ve--;
		for (size_t k = vs; k < ve; k++) {
			unsigned char c = (unsigned char)buf[k];

			if ((c < 0x20 && c != '\t') || c == 0x7f) {
				snprintf(err, errlen, "header line %zu: control byte 0x%02x", nheaders, c);
				return -1;
			}
		}
		const char *name = buf + ls, *v = buf + vs;
		size_t vl = ve - vs;

		if (name_is(name, nl, "content-length")) {
			int64_t x = 0;

			if (vl == 0 || vl > 15) {
				snprintf(err, errlen, "bad Content-Length");
				return -1;
			}
			for (size_t k = 0; k < vl; k++) {
				if (v[k] < '0' || v[k] > '9') {
					snprintf(err, errlen, "bad Content-Length");
					return -1;
				}
				x = x * 10 + (v[k] - '0');
			}
			if (cl != -1 && cl != x) {
				snprintf(err, errlen, "conflicting Content-Length headers");
				return -1;
			}
			cl = x;
		} else if (name_is(name, nl, "transfer-encoding")) {
			char shown[64];

			if (name_is(v, vl, "chunked") && !r->chunked) {
				r->chunked = 1;
			} else if (!name_is(v, vl, "identity")) {
				esc(v, vl, shown, sizeof(shown));
				snprintf(err, errlen, "Transfer-Encoding \"%s\" not supported", shown);
				return -1;
			}
		} else if (name_is(name, nl, "content-encoding")) {
			char shown[64];

			if (!name_is(v, vl, "identity")) {
				esc(v, vl, shown, sizeof(shown));
				snprintf(err, errlen, "Content-Encoding \"%s\" not supported", shown);
				return -1;
			}
		} else if (name_is(name, nl, "content-type")) {
			if (r->content_type[0] != '\0') {
				snprintf(err, errlen, "Content-Type given twice");
				return -1;
			}
			if (vl >= sizeof(r->content_type))
				vl = sizeof(r->content_type) - 1;
			memcpy(r->content_type, v, vl);
			r->content_type[vl] = '\0';
		} else if (name_is(name, nl, "location")) {
			esc(v, vl, r->location, sizeof(r->location));
		}
	}
	/* RFC 9112 6.3: Transfer-Encoding overrides Content-Length. */
	r->content_length = r->chunked ? -1 : cl;
	return 0;
}

int
gw_http_ctype_text_plain(const char *v)
{
	static const char tp[] = "text/plain";
	size_t n = sizeof(tp) - 1;

	if (v == NULL || strncasecmp(v, tp, n) != 0)
		return 0;
	v += n;
	while (is_wsp(*v))
		v++;
	return *v == '\0' || *v == ';';
}

/* Hex digit value, or -1. */
static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
gw_http_dechunk(char *buf, size_t len, size_t max, size_t *outlen, char *err, size_t errlen)
{
	size_t i = 0, o = 0;

	for (;;) {
		size_t size = 0, digits = 0;
		int h;

		while (i < len && (h = hexval(buf[i])) >= 0) {
			if (++digits > 8) {
				snprintf(err, errlen, "chunk size too large");
				return -1;
			}
			size = size * 16 + (size_t)h;
			i++;
		}
		if (digits == 0) {
			snprintf(err, errlen, "chunked body: chunk size expected at offset %zu", i);
			return -1;
		}
		/* chunk extensions, then CRLF (or LF) */
		while (i < len && buf[i] != '\n')
			i++;
		if (i == len) {
			snprintf(err, errlen, "chunked body: cut inside a chunk header");
			return -1;
		}
		i++;
		if (size == 0)
			break; /* trailers, if any, are of no interest */
		if (size > len - i) {
			snprintf(err, errlen, "chunked body: cut inside a chunk");
			return -1;
		}
		if (size > max - o) {
			snprintf(err, errlen, "body longer than %zu bytes", max);
			return -1;
		}
		memmove(buf + o, buf + i, size);
		o += size;
		i += size;
		if (i < len && buf[i] == '\r')
			i++;
		if (i == len || buf[i] != '\n') {
			snprintf(err, errlen, "chunked body: CRLF missing after a chunk");
			return -1;
		}
		i++;
	}
	*outlen = o;
	return 0;
}

/* ---- I/O ---------------------------------------------------------------- */

/* What the whole run shares. */
struct fetcher {
	const char *dir;          /* cache directory */
	SSL_CTX *ctx;             /* TLS >= 1.2, trust anchors loaded */
	struct __res_state res;   /* resolver state (res_ninit) */
	unsigned char *dnsbuf;    /* SF_DNS_MAX bytes */
	char *raw;                /* SF_RAW_MAX + 1 bytes: the HTTP response */
	struct pol_sts_policy *pol; /* the policy being checked */
};

/* Milliseconds on the monotonic clock. */
static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait until fd is ready for ev or the deadline passes: 1, 0 (time), -1. */
static int
wait_fd(int fd, short ev, int64_t deadline)
{
	for (;;) {
		struct pollfd p = { fd, ev, 0 };
		int64_t left = deadline - now_ms();
		int rc;

		if (left <= 0)
			return 0;
		rc = poll(&p, 1, (int)left);
		if (rc == -1 && errno == EINTR)
			continue;
		return rc > 0 ? 1 : rc;
	}
}

/* The _mta-sts TXT lookup. 0 with id; 1 no policy (err says why); -1 a
 * DNS failure (err). */
static int
lookup_txt(struct fetcher *f, const char *domain, char *id, size_t idlen, char *err, size_t errlen)
{
	static char txt[SF_TXT_RR_MAX][GW_STS_TXT_MAX];
	const char *recs[SF_TXT_RR_MAX];
	size_t lens[SF_TXT_RR_MAX], n = 0;
	char qname[POL_NAME_BUF + 16];
	ns_msg msg;
	int len;

	snprintf(qname, sizeof(qname), "_mta-sts.%s", domain);
	len = res_nquery(&f->res, qname, ns_c_in, ns_t_txt, f->dnsbuf, SF_DNS_MAX);
	if (len < 0) {
		switch (f->res.res_h_errno) {
		case HOST_NOT_FOUND:
			snprintf(err, errlen, "no _mta-sts TXT record: %s does not exist", qname);
			return 1;
		case NO_DATA:
			snprintf(err, errlen, "no _mta-sts TXT record");
			return 1;
		case TRY_AGAIN:
			snprintf(err, errlen, "DNS lookup of %s TXT failed (no answer or SERVFAIL)", qname);
			return -1;
		default:
			snprintf(err, errlen, "DNS lookup of %s TXT failed (%s)", qname,
			    hstrerror(f->res.res_h_errno));
			return -1;
		}
	}
	if (len > SF_DNS_MAX || ns_initparse(f->dnsbuf, len, &msg) == -1) {
		snprintf(err, errlen, "DNS answer for %s TXT is malformed", qname);
		return -1;
	}
	for (int i = 0; i < ns_msg_count(msg, ns_s_an); i++) {
		ns_rr rr;
		long tl;

		if (ns_parserr(&msg, ns_s_an, i, &rr) == -1) {
			snprintf(err, errlen, "DNS answer for %s TXT is malformed", qname);
			return -1;
		}
		if (ns_rr_type(rr) != ns_t_txt || ns_rr_class(rr) != ns_c_in)
			continue; /* the CNAMEs the resolver followed */
		if (n == SF_TXT_RR_MAX) {
			snprintf(err, errlen, "more than %d TXT records at %s", SF_TXT_RR_MAX, qname);
			return 1;
		}
		tl = gw_sts_txt_rdata(ns_rr_rdata(rr), ns_rr_rdlen(rr), txt[n], sizeof(txt[n]));
		if (tl < 0) {
			snprintf(err, errlen, "malformed TXT record at %s", qname);
			return -1;
		}
		if ((size_t)tl >= sizeof(txt[n])) {
			/* Only a prefix is here: fine to discard a foreign record,
			 * but an STSv1 one cannot be checked. */
			if (strncmp(txt[n], "v=STSv1", 7) == 0) {
				snprintf(err, errlen, "v=STSv1 TXT record longer than %d bytes",
				    GW_STS_TXT_MAX - 1);
				return 1;
			}
			continue;
		}
		recs[n] = txt[n];
		lens[n] = (size_t)tl;
		n++;
	}
	return gw_sts_txt_select(recs, lens, n, id, idlen, err, errlen) == 0 ? 0 : 1;
}

/* Connect to host:443, trying each address, before the deadline. The
 * socket is non-blocking. fd, or -1 with err. */
static int
tcp_connect(const char *host, int64_t deadline, char *err, size_t errlen)
{
	struct addrinfo hints, *ai, *a;
	int rc, fd = -1, lasterr = 0;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_ADDRCONFIG;
	if ((rc = getaddrinfo(host, "443", &hints, &ai)) != 0) {
		snprintf(err, errlen, "%s: %s", host, gai_strerror(rc));
		return -1;
	}
	for (a = ai; a != NULL; a = a->ai_next) {
		fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
		if (fd == -1) {
			lasterr = errno;
			continue;
		}
		if (connect(fd, a->ai_addr, a->ai_addrlen) == 0)
			break;
		if (errno == EINPROGRESS) {
			int w = wait_fd(fd, POLLOUT, deadline), soerr = 0;
			socklen_t sl = sizeof(soerr);

			if (w == 1 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0 && soerr == 0)
				break;
			lasterr = w == 0 ? ETIMEDOUT : soerr ? soerr : errno;
		} else {
			lasterr = errno;
		}
		close(fd);
		fd = -1;
		if (now_ms() >= deadline)
			break;
	}
	freeaddrinfo(ai);
	if (fd == -1)
		snprintf(err, errlen, "connect to %s port 443: %s", host,
		    strerror(lasterr ? lasterr : ETIMEDOUT));
	return fd;
}

/* The first OpenSSL error, or what failed when there is none. */
static void
ssl_reason(SSL *ssl, int rc, const char *what, char *err, size_t errlen)
{
	unsigned long e = ERR_peek_error();
	long vr = SSL_get_verify_result(ssl);

	if (vr != X509_V_OK) {
		snprintf(err, errlen, "certificate verify failed: %s", X509_verify_cert_error_string(vr));
	} else if (e != 0) {
		const char *r = ERR_reason_error_string(e);

		snprintf(err, errlen, "%s: %s", what, r ? r : "TLS error");
	} else if (SSL_get_error(ssl, rc) == SSL_ERROR_SYSCALL && errno != 0) {
		snprintf(err, errlen, "%s: %s", what, strerror(errno));
	} else {
		snprintf(err, errlen, "%s: connection closed", what);
	}
	ERR_clear_error();
}

/* Run one SSL call (op 0 connect, 1 write, 2 read) to completion or the
 * deadline. Returns the call's positive result, 0 for a clean close
 * (read), -2 for an unclean end of stream (read), -1 with err. */
static int
ssl_step(SSL *ssl, int fd, int op, void *buf, int len, int64_t deadline, char *err, size_t errlen)
{
	static const char *const what[] = { "TLS handshake", "TLS write", "TLS read" };

	for (;;) {
		int rc, e, w;

		ERR_clear_error();
		errno = 0;
		rc = op == 0 ? SSL_connect(ssl) : op == 1 ? SSL_write(ssl, buf, len) : SSL_read(ssl, buf, len);
		if (rc > 0)
			return rc;
		e = SSL_get_error(ssl, rc);
		if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
			w = wait_fd(fd, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline);
			if (w == 1)
				continue;
			snprintf(err, errlen, "%s: %s", what[op], w == 0 ? "timed out" : strerror(errno));
			return -1;
		}
		if (op == 2 && e == SSL_ERROR_ZERO_RETURN)
			return 0;
		if (op == 2 && (e == SSL_ERROR_SYSCALL ||
		    (e == SSL_ERROR_SSL && ERR_GET_REASON(ERR_peek_error()) == SSL_R_UNEXPECTED_EOF_WHILE_READING))) {
			ERR_clear_error();
			return -2;
		}
		ssl_reason(ssl, rc, what[op], err, errlen);
		return -1;
	}
}

/* GET the policy of domain over HTTPS into f->raw. On success returns 0
 * with the body at *body (inside f->raw), its length in *blen. */
static int
https_get(struct fetcher *f, const char *domain, char **body, size_t *blen, char *err, size_t errlen)
{
	char host[POL_NAME_BUF + 16], req[POL_NAME_BUF + 256], herr[256];
	struct gw_http_resp r = { 0 };
	int64_t deadline = now_ms() + SF_TIMEOUT_MS;
	size_t got = 0;
	int fd, rc = -1, head = 1, clean = 0, reqlen;
	SSL *ssl = NULL;

	snprintf(host, sizeof(host), "mta-sts.%s", domain);
	if ((fd = tcp_connect(host, deadline, err, errlen)) == -1)
		return -1;
	if ((ssl = SSL_new(f->ctx)) == NULL || SSL_set_fd(ssl, fd) != 1 ||
	    SSL_set_tlsext_host_name(ssl, host) != 1 ||
	    X509_VERIFY_PARAM_set1_host(SSL_get0_param(ssl), host, 0) != 1) {
		snprintf(err, errlen, "TLS setup failed");
		goto out;
	}
	X509_VERIFY_PARAM_set_hostflags(SSL_get0_param(ssl), X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	SSL_set_verify(ssl, SSL_VERIFY_PEER, NULL);
	if (ssl_step(ssl, fd, 0, NULL, 0, deadline, err, errlen) < 0)
		goto out;
	/* Belt and braces: SSL_VERIFY_PEER already failed the handshake. */
	if (SSL_get_verify_result(ssl) != X509_V_OK || SSL_get0_peer_certificate(ssl) == NULL) {
		snprintf(err, errlen, "certificate verify failed");
		goto out;
	}
	reqlen = snprintf(req, sizeof(req),
	    "GET " SF_PATH " HTTP/1.1\r\nHost: %s\r\nUser-Agent: starttls-guard/" STG_VERSION
	    "\r\nAccept: text/plain\r\nConnection: close\r\n\r\n", host);
	for (int off = 0; off < reqlen;) {
		int w = ssl_step(ssl, fd, 1, req + off, reqlen - off, deadline, err, errlen);

		if (w < 0)
			goto out;
		off += w;
	}
	/* Read until the body is complete (Content-Length) or the end. */
	for (;;) {
		int n;

		if (got == SF_RAW_MAX) {
			snprintf(err, errlen, "response longer than %d bytes", SF_RAW_MAX);
			goto out;
		}
		n = ssl_step(ssl, fd, 2, f->raw + got, (int)(SF_RAW_MAX - got), deadline, err, errlen);
		if (n == -1)
			goto out;
		if (n == 0 || n == -2) {
			clean = n == 0;
			break;
		}
		got += (size_t)n;
		if (head) {
			int h = gw_http_parse_head(f->raw, got, &r, herr, sizeof(herr));

			if (h == -1) {
				snprintf(err, errlen, "%s", herr);
				goto out;
			}
			if (h == 0) {
				head = 0;
				if (r.content_length > POL_STS_MAX_BYTES)
					break; /* refused below */
			}
		}
		if (!head && r.content_length >= 0 &&
		    got - r.head_len >= (size_t)r.content_length)
			break;
	}
	if (head) {
		int h = gw_http_parse_head(f->raw, got, &r, herr, sizeof(herr));

		if (h != 0) {
			snprintf(err, errlen, "%s", h == 1 ? "connection closed inside the response head" : herr);
			goto out;
		}
	}
	if (r.status >= 300 && r.status < 400) {
		snprintf(err, errlen, "HTTP %d redirect%s%s not followed (RFC 8461 3.3)", r.status,
		    r.location[0] ? " to " : "", r.location);
		goto out;
	}
	if (r.status != 200) {
		snprintf(err, errlen, "HTTP %d %s (want 200)", r.status, r.reason);
		goto out;
	}
	if (!gw_http_ctype_text_plain(r.content_type)) {
		char shown[64];

		esc(r.content_type, strlen(r.content_type), shown, sizeof(shown));
		snprintf(err, errlen, "Content-Type \"%s\", want text/plain (RFC 8461 3.2)", shown);
		goto out;
	}
	*body = f->raw + r.head_len;
	*blen = got - r.head_len;
	if (r.chunked) {
		if (gw_http_dechunk(*body, *blen, POL_STS_MAX_BYTES, blen, herr, sizeof(herr)) == -1) {
			snprintf(err, errlen, "%s", herr);
			goto out;
		}
	} else if (r.content_length >= 0) {
		if (r.content_length > POL_STS_MAX_BYTES) {
			snprintf(err, errlen, "body of %lld bytes, more than %d",
			    (long long)r.content_length, POL_STS_MAX_BYTES);
			goto out;
		}
		if (*blen < (size_t)r.content_length) {
			snprintf(err, errlen, "body cut after %zu of %lld bytes", *blen,
			    (long long)r.content_length);
			goto out;
		}
		*blen = (size_t)r.content_length;
	} else {
		/* The end of the stream ends the body: only a TLS close_notify
		 * tells it from a connection cut by an attacker. */
		if (!clean) {
			snprintf(err, errlen, "body without length ended without TLS close_notify");
			goto out;
		}
		if (*blen > POL_STS_MAX_BYTES) {
			snprintf(err, errlen, "body longer than %d bytes", POL_STS_MAX_BYTES);
			goto out;
		}
	}
	rc = 0;
out:
	if (ssl != NULL) {
		if (rc == 0)
			SSL_shutdown(ssl); /* best effort: non-blocking, no wait */
		SSL_free(ssl);
	}
	close(fd);
	return rc;
}

/* Write buf to dir/name atomically: a temporary file in dir (its name is
 * never "*.txt", so the gateway skips it), fsync, rename, fsync dir. */
static int
write_atomic(const char *dir, const char *name, const void *buf, size_t len, char *err, size_t errlen)
{
	char tmp[GW_PATH_MAX], path[GW_PATH_MAX];
	size_t off = 0;
	int fd, dfd;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s/.%s.XXXXXX", dir, name) >= sizeof(tmp) ||
	    (size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path)) {
		snprintf(err, errlen, "%s: path too long", dir);
		return -1;
	}
	if ((fd = mkostemp(tmp, O_CLOEXEC)) == -1) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		return -1;
	}
	/* Policies are public; the gateway may read them after dropping root. */
	if (fchmod(fd, 0644) == -1)
		goto fail;
	while (off < len) {
		ssize_t w = write(fd, (const char *)buf + off, len - off);

		if (w == -1 && errno == EINTR)
			continue;
		if (w == -1)
			goto fail;
		off += (size_t)w;
	}
	if (fsync(fd) == -1)
		goto fail;
	if (close(fd) == -1) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) == -1)
		goto fail;
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) != -1) {
		(void)fsync(dfd);
		close(dfd);
	}
	return 0;
fail:
	snprintf(err, errlen, "%s: %s", path, strerror(errno));
	if (fd != -1)
		close(fd);
	unlink(tmp);
	return -1;
}

/* Read at most max bytes of a small regular file into buf (NUL added).
 * Length, or -1. */
static long
read_small(const char *path, char *buf, size_t max, struct stat *sb)
{
	size_t got = 0;
	ssize_t r;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	if (fstat(fd, sb) == -1 || !S_ISREG(sb->st_mode) || (size_t)sb->st_size > max) {
		close(fd);
		return -1;
	}
	while (got < max && (r = read(fd, buf + got, max - got)) > 0)
		got += (size_t)r;
	close(fd);
	buf[got] = '\0';
	return (long)got;
}

/* Is the cached policy of domain still good for this id? 1 yes, 0 no. */
static int
cache_current(struct fetcher *f, const char *domain, const char *id)
{
	char path[GW_PATH_MAX], idbuf[GW_STS_ID_MAX + 4], perr[256];
	struct stat sb;
	long n;

	snprintf(path, sizeof(path), "%s/%s.id", f->dir, domain);
	if ((n = read_small(path, idbuf, sizeof(idbuf) - 1, &sb)) <= 0)
		return 0;
	while (n > 0 && (idbuf[n - 1] == '\n' || idbuf[n - 1] == '\r'))
		idbuf[--n] = '\0';
	if (strcmp(idbuf, id) != 0)
		return 0;
	snprintf(path, sizeof(path), "%s/%s" POL_STS_SUFFIX, f->dir, domain);
	if ((n = read_small(path, f->raw, POL_STS_MAX_BYTES, &sb)) < 0)
		return 0;
	if (pol_sts_parse(f->raw, (size_t)n, f->pol, perr, sizeof(perr)) == -1)
		return 0;
	/* RFC 8461 5.1: an expired policy is not used; fetch it again. */
	return (int64_t)sb.st_mtime + f->pol->max_age >= (int64_t)time(NULL);
}

/* One domain, start to end: 0 fetched or unchanged, -1 failure. */
static int
fetch_one(struct fetcher *f, const char *arg)
{
	char domain[POL_NAME_BUF], check[POL_NAME_BUF + 8], fname[POL_NAME_BUF + 8];
	char id[GW_STS_ID_MAX + 1], err[GW_PATH_MAX + 512], perr[256], shown[300];
	char *body;
	size_t blen;
	int rc;

	if (pol_name_norm(arg, strlen(arg), domain, sizeof(domain), perr, sizeof(perr)) < 0 ||
	    strchr(domain, '.') == NULL || domain[0] == '*') {
		esc(arg, strlen(arg), shown, sizeof(shown));
		printf("%s: not a domain name\n", shown);
		return -1;
	}
	/* The gateway must read back what we write under this name. */
	snprintf(fname, sizeof(fname), "%s" POL_STS_SUFFIX, domain);
	if (pol_sts_file_domain(fname, check, sizeof(check)) == -1 || strcmp(check, domain) != 0) {
		printf("%s: cannot be a cache file name\n", domain);
		return -1;
	}
	rc = lookup_txt(f, domain, id, sizeof(id), err, sizeof(err));
	if (rc != 0) {
		printf("%s: %s%s\n", domain, err, rc == 1 ? " (no MTA-STS policy)" : "");
		return -1;
	}
	if (cache_current(f, domain, id)) {
		printf("%s: unchanged (id %s)\n", domain, id);
		return 0;
	}
	if (https_get(f, domain, &body, &blen, err, sizeof(err)) == -1) {
		printf("%s: https://mta-sts.%s" SF_PATH ": %s\n", domain, domain, err);
		return -1;
	}
	if (pol_sts_parse(body, blen, f->pol, perr, sizeof(perr)) == -1) {
		esc(perr, strlen(perr), shown, sizeof(shown));
		printf("%s: https://mta-sts.%s" SF_PATH ": not a policy: %s\n", domain, domain, shown);
		return -1;
	}
	if (write_atomic(f->dir, fname, body, blen, err, sizeof(err)) == -1) {
		printf("%s: %s\n", domain, err);
		return -1;
	}
	snprintf(check, sizeof(check), "%s.id", domain);
	snprintf(shown, sizeof(shown), "%s\n", id);
	if (write_atomic(f->dir, check, shown, strlen(shown), err, sizeof(err)) == -1) {
		/* The policy is in place; a missing id only costs a refetch. */
		printf("%s: %s\n", domain, err);
		return -1;
	}
	printf("%s: fetched (mode %s, %zu mx, max_age %u)\n", domain,
	    pol_mode_name(f->pol->mode), f->pol->n_mx, (unsigned)f->pol->max_age);
	return 0;
}

/* Usage on fp. */
static void
sf_usage(FILE *fp)
{
	fprintf(fp,
	    "usage: starttls-guard [-c FILE] sts-fetch [-d DIR] [--ca-file FILE] DOMAIN...\n"
	    "\n"
	    "  -c, --config FILE  take DIR from policy.mta_sts_dir, CAs from policy.ca_file\n"
	    "  -d, --dir DIR      the MTA-STS cache directory (<domain>.txt, <domain>.id)\n"
	    "      --ca-file FILE trust anchors (PEM); default: policy.ca_file, else the system store\n"
	    "  -h, --help         print this help and exit\n"
	    "\n"
	    "Exit status: 0 every domain fetched or unchanged, 1 otherwise, 2 usage.\n");
}

int
gw_stsfetch_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config",  required_argument, NULL, 'c' },
		{ "dir",     required_argument, NULL, 'd' },
		{ "ca-file", required_argument, NULL, 'C' },
		{ "help",    no_argument,       NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *config_path = NULL, *dir = NULL, *cafile = NULL;
	char cerr[GW_PATH_MAX + 512], cdir[GW_PATH_MAX], ccafile[GW_PATH_MAX];
	struct fetcher f;
	struct stat sb;
	int ch, failed = 0;

	cdir[0] = ccafile[0] = '\0';
	optind = 0; /* a fresh getopt, whatever ran before */
	while ((ch = getopt_long(argc, argv, "+c:d:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c': config_path = optarg; break;
		case 'd': dir = optarg; break;
		case 'C': cafile = optarg; break;
		case 'h':
			sf_usage(stdout);
			return 0;
		default:
			sf_usage(stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, SF_PROG ": no DOMAIN given\n");
		sf_usage(stderr);
		return 2;
	}
	if (config_path != NULL) {
		struct gw_config c;

		if (gw_config_load(config_path, &c, cerr, sizeof(cerr)) == -1) {
			fprintf(stderr, SF_PROG ": %s\n", cerr);
			return 1;
		}
		snprintf(cdir, sizeof(cdir), "%s", c.mta_sts_dir);
		snprintf(ccafile, sizeof(ccafile), "%s", c.ca_file);
		gw_config_free(&c);
		if (dir == NULL && cdir[0] == '\0') {
			fprintf(stderr, SF_PROG ": %s: policy.mta_sts_dir is not set or does not exist;"
			    " give -d DIR\n", config_path);
			return 2;
		}
		if (dir == NULL)
			dir = cdir;
		if (cafile == NULL && ccafile[0] != '\0')
			cafile = ccafile;
	}
	if (dir == NULL) {
		fprintf(stderr, SF_PROG ": -d DIR (or -c FILE with policy.mta_sts_dir) is needed\n");
		sf_usage(stderr);
		return 2;
	}
	errno = 0;
	if (stat(dir, &sb) == -1 || !S_ISDIR(sb.st_mode)) {
		fprintf(stderr, SF_PROG ": %s: %s\n", dir, errno ? strerror(errno) : "not a directory");
		return 1;
	}

	memset(&f, 0, sizeof(f));
	f.dir = dir;
	f.dnsbuf = malloc(SF_DNS_MAX);
	f.raw = malloc(SF_RAW_MAX + 1);
	f.pol = malloc(sizeof(*f.pol));
	f.ctx = SSL_CTX_new(TLS_client_method());
	if (f.dnsbuf == NULL || f.raw == NULL || f.pol == NULL || f.ctx == NULL) {
		fprintf(stderr, SF_PROG ": out of memory\n");
		failed = 1;
		goto out;
	}
	SSL_CTX_set_min_proto_version(f.ctx, TLS1_2_VERSION);
	if (cafile != NULL ? SSL_CTX_load_verify_locations(f.ctx, cafile, NULL) != 1 :
	    SSL_CTX_set_default_verify_paths(f.ctx) != 1) {
		unsigned long e = ERR_get_error();

		fprintf(stderr, SF_PROG ": %s: cannot load trust anchors: %s\n",
		    cafile ? cafile : "system store", e ? ERR_reason_error_string(e) : "unknown error");
		failed = 1;
		goto out;
	}
	if (res_ninit(&f.res) == -1) {
		fprintf(stderr, SF_PROG ": cannot initialise the resolver\n");
		failed = 1;
		goto out;
	}
	/* A dead resolver should cost seconds, not the libc default minute. */
	f.res.retrans = 2;
	f.res.retry = 2;
	signal(SIGPIPE, SIG_IGN); /* a peer that hangs up is an error, not a signal */
	for (int i = optind; i < argc; i++) {
		if (fetch_one(&f, argv[i]) == -1)
			failed = 1;
		fflush(stdout);
	}
	res_nclose(&f.res);
out:
	SSL_CTX_free(f.ctx);
	free(f.pol);
	free(f.raw);
	free(f.dnsbuf);
	return failed ? 1 : 0;
}
