/*
 * rs_net.c - MTA-STS discovery over libunbound and libcurl multi (rs_net.h).
 *
 * A job goes TXT -> ADDR (A, then AAAA if no A) -> HTTP -> done. Jobs live
 * in a fixed array of max_inflight slots; more wait in a bounded ring.
 * libunbound runs its resolving in a thread of its own (ub_ctx_async 1) and
 * signals results on ub_fd(); libcurl's sockets and both descriptors are
 * polled by curl_multi_poll(). The one libcurl and libunbound user.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>
#include <unbound.h>

#include "../policy/pol_sts.h"
#include "rs_net.h"

#ifndef STG_VERSION
#define STG_VERSION "unknown"
#endif

/* RR types asked for. */
#define RS_T_A    1
#define RS_T_TXT  16
#define RS_T_AAAA 28
#define RS_C_IN   1
/* Addresses of mta-sts.DOMAIN handed to curl at most. */
#define RS_ADDR_MAX 4
/* Where the policy lives (RFC 8461 3.3). */
#define RS_PATH "/.well-known/mta-sts.txt"

enum job_state { JOB_FREE = 0, JOB_TXT, JOB_ADDR, JOB_HTTP };

/* One discovery in progress. */
struct job {
	struct rs_net *n;                /* back pointer */
	enum job_state state;            /* where it is */
	int      ub_id;                  /* libunbound query, while TXT/ADDR */
	int      ub_live;                /* ub_id is outstanding */
	int      addr_type;              /* RS_T_A or RS_T_AAAA while ADDR */
	uint32_t tag;                    /* caller's tag */
	int64_t  start_ms, deadline_ms;  /* monotonic */
	char     domain[POL_NAME_BUF];   /* normalised */
	char     known_id[RS_STS_ID_MAX + 1]; /* cached policy's id, "" = none */
	char     id[RS_STS_ID_MAX + 1];  /* the TXT id read */
	CURL    *h;                      /* while HTTP */
	struct curl_slist *resolve;      /* "mta-sts.D:443:addr,..." for h */
	char     status_line[96];        /* the last status line seen (escaped) */
	int      too_big;                /* the body went past the limit */
	long long announced;             /* Content-Length of the last response, -1 = none */
	uint8_t *body;                   /* POL_STS_MAX_BYTES, allocated at new */
	size_t   blen;                   /* bytes in body */
	char     errbuf[CURL_ERROR_SIZE];/* curl's message */
};

/* A discovery waiting for a slot. */
struct waiting {
	char domain[POL_NAME_BUF];
	char known_id[RS_STS_ID_MAX + 1];
	uint32_t tag;
};

struct rs_net {
	struct rs_net_conf c;            /* copy (strings not kept) */
	rs_net_done_fn done;             /* result callback */
	void *arg;                       /* its argument */
	struct ub_ctx *ub;               /* DNS */
	CURLM *m;                        /* HTTPS */
	char *ca;                        /* the CA file's bytes */
	size_t ca_len;
	struct job *jobs;                /* max_inflight slots */
	unsigned running;                /* slots in use */
	struct waiting *q;               /* queue_max ring */
	unsigned qhead, qlen;            /* ring start and length */
	struct pol_sts_policy *pol;      /* scratch for checking bodies */
};

/* Milliseconds on the monotonic clock. */
static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct rs_net *
rs_net_new(const struct rs_net_conf *c, rs_net_done_fn done, void *arg, char *err, size_t errlen)
{
	struct rs_net *n = calloc(1, sizeof(*n));
	int rc;

	if (n == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	n->c = *c;
	n->c.ca_pem = NULL;
	n->c.resolv_conf = NULL;
	if (n->c.timeout_ms == 0)
		n->c.timeout_ms = RS_NET_TIMEOUT_MS_DEFAULT;
	if (n->c.max_inflight == 0)
		n->c.max_inflight = RS_NET_INFLIGHT_DEFAULT;
	if (n->c.queue_max == 0)
		n->c.queue_max = RS_NET_QUEUE_DEFAULT;
	n->done = done;
	n->arg = arg;
	n->jobs = calloc(n->c.max_inflight, sizeof(*n->jobs));
	n->q = calloc(n->c.queue_max, sizeof(*n->q));
	n->pol = malloc(sizeof(*n->pol));
	if (n->jobs == NULL || n->q == NULL || n->pol == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	for (unsigned i = 0; i < n->c.max_inflight; i++) {
		n->jobs[i].n = n;
		if ((n->jobs[i].body = malloc(POL_STS_MAX_BYTES)) == NULL) {
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
	}
	if (c->ca_pem == NULL || c->ca_len == 0 || (n->ca = malloc(c->ca_len)) == NULL) {
		snprintf(err, errlen, "no trust anchors");
		goto fail;
	}
	memcpy(n->ca, c->ca_pem, c->ca_len);
	n->ca_len = c->ca_len;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK || (n->m = curl_multi_init()) == NULL) {
		snprintf(err, errlen, "libcurl initialisation failed");
		goto fail;
	}
	curl_multi_setopt(n->m, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)n->c.max_inflight);
	if ((n->ub = ub_ctx_create()) == NULL) {
		snprintf(err, errlen, "libunbound initialisation failed");
		goto fail;
	}
	if ((rc = ub_ctx_resolvconf(n->ub, c->resolv_conf)) != 0) {
		snprintf(err, errlen, "%s: %s", c->resolv_conf ? c->resolv_conf : "/etc/resolv.conf",
		    rc == UB_READFILE ? strerror(errno) : ub_strerror(rc));
		goto fail;
	}
	/* Resolving in a thread of this process: the default would fork one. */
	if ((rc = ub_ctx_async(n->ub, 1)) != 0) {
		snprintf(err, errlen, "libunbound: %s", ub_strerror(rc));
		goto fail;
	}
	return n;
fail:
	rs_net_free(n);
	return NULL;
}

/* Give a job's resources back (no callback). */
static void
job_clear(struct job *j)
{
	struct rs_net *n = j->n;

	if (j->ub_live)
		ub_cancel(n->ub, j->ub_id);
	j->ub_live = 0;
	if (j->h != NULL) {
		curl_multi_remove_handle(n->m, j->h);
		curl_easy_cleanup(j->h);
		j->h = NULL;
	}
	curl_slist_free_all(j->resolve);
	j->resolve = NULL;
	if (j->state != JOB_FREE)
		n->running--;
	j->state = JOB_FREE;
}

void
rs_net_free(struct rs_net *n)
{
	if (n == NULL)
		return;
	if (n->jobs != NULL) {
		for (unsigned i = 0; i < n->c.max_inflight; i++) {
			job_clear(&n->jobs[i]);
			free(n->jobs[i].body);
		}
	}
	if (n->m != NULL)
		curl_multi_cleanup(n->m);
	if (n->ub != NULL)
		ub_ctx_delete(n->ub);
	free(n->jobs);
	free(n->q);
	free(n->pol);
	free(n->ca);
	free(n);
}

/* Report a job's outcome and free its slot. */
static void __attribute__((format(printf, 5, 6)))
job_end(struct job *j, enum rs_status st, enum rs_reason why, const uint8_t *body,
    const char *fmt, ...)
{
	struct rs_result r;
	char text[RS_MSG_TEXT_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	memset(&r, 0, sizeof(r));
	r.domain = j->domain;
	r.tag = j->tag;
	r.status = st;
	r.reason = st == RS_ST_FAILED ? why : RS_R_NONE;
	r.id = j->id;
	r.text = text;
	r.body = body;
	r.body_len = body ? j->blen : 0;
	r.elapsed_ms = (unsigned)(now_ms() - j->start_ms);
	job_clear(j);
	j->n->done(j->n->arg, &r);
}

static void ub_done(void *arg, int err, struct ub_result *res);

/* Ask libunbound for name/type on behalf of j. 0, or -1 (job ended). */
static int
job_query(struct job *j, const char *name, int type)
{
	int rc = ub_resolve_async(j->n->ub, name, type, RS_C_IN, j, ub_done, &j->ub_id);

	if (rc != 0) {
		job_end(j, RS_ST_FAILED, RS_R_DNS_FAILED, NULL, "DNS query for %s: %s", name,
		    ub_strerror(rc));
		return -1;
	}
	j->ub_live = 1;
	return 0;
}

/* The TXT answer: pick the one STSv1 record (RFC 8461 3.1). */
static void
txt_answer(struct job *j, struct ub_result *res)
{
	static char txt[RS_STS_TXT_RR_MAX][RS_STS_TXT_MAX];
	const char *recs[RS_STS_TXT_RR_MAX];
	size_t lens[RS_STS_TXT_RR_MAX], n = 0;
	char err[160], host[POL_NAME_BUF + 16];
	int rc;

	if (res->rcode == 3 || (res->rcode == 0 && !res->havedata)) {
		job_end(j, RS_ST_NO_POLICY, RS_R_NONE, NULL, "no _mta-sts TXT record%s",
		    res->rcode == 3 ? " (NXDOMAIN)" : "");
		return;
	}
	if (res->rcode != 0 || res->bogus) {
		job_end(j, RS_ST_FAILED, RS_R_DNS_FAILED, NULL, "DNS lookup of _mta-sts.%s TXT failed (%s)",
		    j->domain, res->bogus ? "DNSSEC bogus" : res->rcode == 2 ? "SERVFAIL" :
		    res->rcode == 5 ? "REFUSED" : "error");
		return;
	}
	for (int i = 0; res->data[i] != NULL; i++) {
		long tl;

		if (n == RS_STS_TXT_RR_MAX) {
			job_end(j, RS_ST_FAILED, RS_R_TXT_INVALID, NULL,
			    "more than %d TXT records at _mta-sts.%s", RS_STS_TXT_RR_MAX, j->domain);
			return;
		}
		tl = rs_sts_txt_rdata((const unsigned char *)res->data[i], (size_t)res->len[i], txt[n],
		    sizeof(txt[n]));
		if (tl < 0) {
			job_end(j, RS_ST_FAILED, RS_R_DNS_FAILED, NULL, "malformed TXT record");
			return;
		}
		if ((size_t)tl >= sizeof(txt[n])) {
			/* A prefix only: a foreign record may go, an STSv1 one cannot be checked. */
			if (strncmp(txt[n], "v=STSv1", 7) == 0) {
				job_end(j, RS_ST_FAILED, RS_R_TXT_INVALID, NULL,
				    "v=STSv1 TXT record longer than %d bytes", RS_STS_TXT_MAX - 1);
				return;
			}
			continue;
		}
		recs[n] = txt[n];
		lens[n] = (size_t)tl;
		n++;
	}
	rc = rs_sts_txt_select(recs, lens, n, j->id, sizeof(j->id), err, sizeof(err));
	if (rc == 1) {
		j->id[0] = '\0';
		job_end(j, RS_ST_NO_POLICY, RS_R_NONE, NULL, "%s", err);
		return;
	}
	if (rc == -1) {
		j->id[0] = '\0';
		job_end(j, RS_ST_FAILED, RS_R_TXT_INVALID, NULL, "%s", err);
		return;
	}
	if (j->known_id[0] != '\0' && strcmp(j->known_id, j->id) == 0) {
		job_end(j, RS_ST_UNCHANGED, RS_R_NONE, NULL, "unchanged (id %s)", j->id);
		return;
	}
	j->state = JOB_ADDR;
	j->addr_type = RS_T_A;
	snprintf(host, sizeof(host), "mta-sts.%s", j->domain);
	(void)job_query(j, host, RS_T_A);
}

static void http_start(struct job *j, struct ub_result *res);

/* An address answer for mta-sts.DOMAIN. */
static void
addr_answer(struct job *j, struct ub_result *res)
{
	char host[POL_NAME_BUF + 16];

	if (res->rcode == 0 && res->havedata && !res->bogus) {
		http_start(j, res);
		return;
	}
	snprintf(host, sizeof(host), "mta-sts.%s", j->domain);
	if (j->addr_type == RS_T_A && (res->rcode == 0 || res->rcode == 3) && !res->bogus) {
		if (res->rcode == 3) {
			job_end(j, RS_ST_FAILED, RS_R_NO_ADDRESS, NULL, "%s does not exist", host);
			return;
		}
		j->addr_type = RS_T_AAAA;
		(void)job_query(j, host, RS_T_AAAA);
		return;
	}
	job_end(j, RS_ST_FAILED, res->rcode == 0 ? RS_R_NO_ADDRESS : RS_R_DNS_FAILED, NULL,
	    "%s: %s", host, res->rcode == 0 ? "no address" : "address lookup failed");
}

/* libunbound's callback (inside ub_process). */
static void
ub_done(void *arg, int err, struct ub_result *res)
{
	struct job *j = arg;

	j->ub_live = 0;
	if (err != 0 || res == NULL) {
		job_end(j, RS_ST_FAILED, RS_R_DNS_FAILED, NULL, "DNS lookup failed: %s",
		    ub_strerror(err));
	} else if (j->state == JOB_TXT) {
		txt_answer(j, res);
	} else if (j->state == JOB_ADDR) {
		addr_answer(j, res);
	}
	if (res != NULL)
		ub_resolve_free(res);
}

/* curl: body bytes; more than the limit aborts the transfer. */
static size_t
on_body(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct job *j = arg;
	size_t len = size * nmemb;

	if (len > POL_STS_MAX_BYTES - j->blen) {
		j->too_big = 1;
		return 0;
	}
	memcpy(j->body + j->blen, ptr, len);
	j->blen += len;
	return len;
}

/* curl: header lines; keep the status line for messages. */
static size_t
on_header(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct job *j = arg;
	size_t len = size * nmemb, l = len;

	if (len > 5 && memcmp(ptr, "HTTP/", 5) == 0) {
		while (l > 0 && (ptr[l - 1] == '\n' || ptr[l - 1] == '\r'))
			l--;
		rs_esc(ptr, l, j->status_line, sizeof(j->status_line));
		j->announced = -1;
	} else if (len > 15 && strncasecmp(ptr, "content-length:", 15) == 0) {
		char num[24];
		size_t k = 15, o = 0;

		while (k < len && (ptr[k] == ' ' || ptr[k] == '\t'))
			k++;
		while (k < len && o < sizeof(num) - 1 && ptr[k] >= '0' && ptr[k] <= '9')
			num[o++] = ptr[k++];
		num[o] = '\0';
		if (o > 0 && o < 16)
			j->announced = strtoll(num, NULL, 10);
	}
	return len;
}

/* Addresses known: GET the policy. */
static void
http_start(struct job *j, struct ub_result *res)
{
	char url[POL_NAME_BUF + 64], entry[POL_NAME_BUF + 16 + RS_ADDR_MAX * (INET6_ADDRSTRLEN + 3)];
	struct curl_blob ca;
	size_t o;
	int64_t left = j->deadline_ms - now_ms();
	int naddr = 0;

	o = (size_t)snprintf(entry, sizeof(entry), "mta-sts.%s:443:", j->domain);
	for (int i = 0; res->data[i] != NULL && naddr < RS_ADDR_MAX; i++) {
		char a[INET6_ADDRSTRLEN];

		if (j->addr_type == RS_T_A && res->len[i] == 4)
			inet_ntop(AF_INET, res->data[i], a, sizeof(a));
		else if (j->addr_type == RS_T_AAAA && res->len[i] == 16)
			inet_ntop(AF_INET6, res->data[i], a, sizeof(a));
		else
			continue;
		o += (size_t)snprintf(entry + o, sizeof(entry) - o, j->addr_type == RS_T_AAAA ?
		    "%s[%s]" : "%s%s", naddr ? "," : "", a);
		naddr++;
	}
	if (naddr == 0) {
		job_end(j, RS_ST_FAILED, RS_R_NO_ADDRESS, NULL, "mta-sts.%s: no usable address",
		    j->domain);
		return;
	}
	if (left < 1) {
		job_end(j, RS_ST_FAILED, RS_R_TIMEOUT, NULL, "timed out before the HTTPS fetch");
		return;
	}
	snprintf(url, sizeof(url), "https://mta-sts.%s" RS_PATH, j->domain);
	j->state = JOB_HTTP;
	j->blen = 0;
	j->too_big = 0;
	j->announced = -1;
	j->status_line[0] = j->errbuf[0] = '\0';
	if ((j->resolve = curl_slist_append(NULL, entry)) == NULL || (j->h = curl_easy_init()) == NULL) {
		job_end(j, RS_ST_FAILED, RS_R_INTERNAL, NULL, "out of memory");
		return;
	}
	ca.data = j->n->ca;
	ca.len = j->n->ca_len;
	ca.flags = CURL_BLOB_NOCOPY;
	curl_easy_setopt(j->h, CURLOPT_URL, url);
	curl_easy_setopt(j->h, CURLOPT_RESOLVE, j->resolve);
	curl_easy_setopt(j->h, CURLOPT_PROTOCOLS_STR, "https");
	curl_easy_setopt(j->h, CURLOPT_FOLLOWLOCATION, 0L);        /* RFC 8461 3.3 */
	curl_easy_setopt(j->h, CURLOPT_PROXY, "");                 /* never the environment's proxy */
	curl_easy_setopt(j->h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(j->h, CURLOPT_TIMEOUT_MS, (long)left);
	curl_easy_setopt(j->h, CURLOPT_CONNECTTIMEOUT_MS, (long)left);
	curl_easy_setopt(j->h, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	curl_easy_setopt(j->h, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(j->h, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(j->h, CURLOPT_CAINFO_BLOB, &ca);
	curl_easy_setopt(j->h, CURLOPT_CAPATH, NULL);               /* only ca_file */
	curl_easy_setopt(j->h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)POL_STS_MAX_BYTES);
	curl_easy_setopt(j->h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(j->h, CURLOPT_WRITEDATA, j);
	curl_easy_setopt(j->h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(j->h, CURLOPT_HEADERDATA, j);
	curl_easy_setopt(j->h, CURLOPT_ERRORBUFFER, j->errbuf);
	curl_easy_setopt(j->h, CURLOPT_USERAGENT, "starttls-guard/" STG_VERSION);
	curl_easy_setopt(j->h, CURLOPT_PRIVATE, j);
	curl_easy_setopt(j->h, CURLOPT_FORBID_REUSE, 1L);            /* one fetch per connection */
	if (curl_multi_add_handle(j->n->m, j->h) != CURLM_OK)
		job_end(j, RS_ST_FAILED, RS_R_INTERNAL, NULL, "libcurl refused the transfer");
}

/* A transfer ended: judge what came back. */
static void
http_done(struct job *j, CURLcode cc)
{
	char shown[RS_MSG_TEXT_MAX], perr[200];
	const char *ctype = NULL;
	char *loc = NULL;
	long status = 0;

	rs_esc(j->errbuf, strlen(j->errbuf), shown, 160);
	if (shown[0] == '\0')
		snprintf(shown, 160, "%s", curl_easy_strerror(cc));
	switch (cc) {
	case CURLE_OK:
		break;
	case CURLE_OPERATION_TIMEDOUT:
		job_end(j, RS_ST_FAILED, RS_R_TIMEOUT, NULL, "timed out (%s)", shown);
		return;
	case CURLE_PEER_FAILED_VERIFICATION:
		job_end(j, RS_ST_FAILED, RS_R_TLS_CERT, NULL, "certificate verify failed: %s", shown);
		return;
	case CURLE_SSL_CONNECT_ERROR:
		if (strstr(j->errbuf, "certificate") != NULL)
			job_end(j, RS_ST_FAILED, RS_R_TLS_CERT, NULL, "certificate verify failed: %s", shown);
		else
			job_end(j, RS_ST_FAILED, RS_R_TLS, NULL, "TLS: %s", shown);
		return;
	case CURLE_COULDNT_CONNECT:
		job_end(j, RS_ST_FAILED, RS_R_CONNECT, NULL, "connect: %s", shown);
		return;
	case CURLE_FILESIZE_EXCEEDED:
		job_end(j, RS_ST_FAILED, RS_R_TOO_BIG, NULL, "body of %lld bytes, more than %d",
		    j->announced, POL_STS_MAX_BYTES);
		return;
	case CURLE_WRITE_ERROR:
		if (j->too_big) {
			job_end(j, RS_ST_FAILED, RS_R_TOO_BIG, NULL, "body longer than %d bytes",
			    POL_STS_MAX_BYTES);
			return;
		}
		job_end(j, RS_ST_FAILED, RS_R_INTERNAL, NULL, "%s", shown);
		return;
	case CURLE_PARTIAL_FILE:
		job_end(j, RS_ST_FAILED, RS_R_TRUNCATED, NULL, "body cut after %zu bytes (%s)",
		    j->blen, shown);
		return;
	default:
		job_end(j, RS_ST_FAILED, RS_R_BAD_HTTP, NULL, "HTTP: %s", shown);
		return;
	}
	curl_easy_getinfo(j->h, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_getinfo(j->h, CURLINFO_CONTENT_TYPE, &ctype);
	if (status >= 300 && status < 400) {
		char where[128] = "";

		if (curl_easy_getinfo(j->h, CURLINFO_REDIRECT_URL, &loc) == CURLE_OK && loc != NULL)
			rs_esc(loc, strlen(loc), where, sizeof(where));
		job_end(j, RS_ST_FAILED, RS_R_REDIRECT, NULL,
		    "HTTP %ld redirect%s%s not followed (RFC 8461 3.3)", status, where[0] ? " to " : "",
		    where);
		return;
	}
	if (status != 200) {
		job_end(j, RS_ST_FAILED, RS_R_HTTP_STATUS, NULL, "%s (want HTTP 200)",
		    j->status_line[0] ? j->status_line : "no status line");
		return;
	}
	if (!rs_ctype_text_plain(ctype)) {
		char ct[64];

		rs_esc(ctype ? ctype : "", ctype ? strlen(ctype) : 0, ct, sizeof(ct));
		job_end(j, RS_ST_FAILED, RS_R_CONTENT_TYPE, NULL,
		    "Content-Type \"%s\", want text/plain (RFC 8461 3.2)", ct);
		return;
	}
	if (pol_sts_parse(j->body, j->blen, j->n->pol, perr, sizeof(perr)) == -1) {
		rs_esc(perr, strlen(perr), shown, 200);
		job_end(j, RS_ST_FAILED, RS_R_BAD_POLICY, NULL, "not a policy: %s", shown);
		return;
	}
	job_end(j, RS_ST_POLICY, RS_R_NONE, j->body, "fetched (mode %s, %zu mx, max_age %u)",
	    pol_mode_name(j->n->pol->mode), j->n->pol->n_mx, (unsigned)j->n->pol->max_age);
}

/* Put a discovery into a free slot and send its first query. */
static void
job_begin(struct rs_net *n, const char *domain, const char *known_id, uint32_t tag)
{
	char q[POL_NAME_BUF + 16];
	struct job *j = NULL;

	for (unsigned i = 0; i < n->c.max_inflight; i++)
		if (n->jobs[i].state == JOB_FREE) {
			j = &n->jobs[i];
			break;
		}
	if (j == NULL)
		return; /* callers check n->running first */
	n->running++;
	j->state = JOB_TXT;
	j->tag = tag;
	j->start_ms = now_ms();
	j->deadline_ms = j->start_ms + n->c.timeout_ms;
	snprintf(j->domain, sizeof(j->domain), "%s", domain);
	snprintf(j->known_id, sizeof(j->known_id), "%s", known_id ? known_id : "");
	j->id[0] = '\0';
	snprintf(q, sizeof(q), "_mta-sts.%s", domain);
	(void)job_query(j, q, RS_T_TXT);
}

void
rs_net_start(struct rs_net *n, const char *domain, const char *known_id, uint32_t tag)
{
	struct waiting *w;

	if (n->running < n->c.max_inflight && n->qlen == 0) {
		job_begin(n, domain, known_id, tag);
		return;
	}
	if (n->qlen == n->c.queue_max) {
		struct rs_result r;

		memset(&r, 0, sizeof(r));
		r.domain = domain;
		r.tag = tag;
		r.status = RS_ST_FAILED;
		r.reason = RS_R_BUSY;
		r.id = "";
		r.text = "resolver busy: too many discoveries waiting";
		n->done(n->arg, &r);
		return;
	}
	w = &n->q[(n->qhead + n->qlen++) % n->c.queue_max];
	snprintf(w->domain, sizeof(w->domain), "%s", domain);
	snprintf(w->known_id, sizeof(w->known_id), "%s", known_id ? known_id : "");
	w->tag = tag;
}

unsigned
rs_net_pending(const struct rs_net *n)
{
	return n->running + n->qlen;
}

/* DNS stages past their deadline end here (curl enforces its own). */
static void
expire_dns(struct rs_net *n, int64_t now)
{
	for (unsigned i = 0; i < n->c.max_inflight; i++) {
		struct job *j = &n->jobs[i];

		if ((j->state == JOB_TXT || j->state == JOB_ADDR) && now >= j->deadline_ms)
			job_end(j, RS_ST_FAILED, RS_R_DNS_TIMEOUT, NULL, "DNS lookup timed out");
	}
}

int
rs_net_run(struct rs_net *n, int fd, int timeout_ms)
{
	struct curl_waitfd extra[2];
	struct CURLMsg *msg;
	int64_t now = now_ms(), soonest = now + timeout_ms;
	int nfd = 0, numfds, still, fd_ready = 0, left;

	for (unsigned i = 0; i < n->c.max_inflight; i++)
		if ((n->jobs[i].state == JOB_TXT || n->jobs[i].state == JOB_ADDR) &&
		    n->jobs[i].deadline_ms < soonest)
			soonest = n->jobs[i].deadline_ms;
	extra[nfd].fd = ub_fd(n->ub);
	extra[nfd].events = CURL_WAIT_POLLIN;
	extra[nfd++].revents = 0;
	if (fd >= 0) {
		extra[nfd].fd = fd;
		extra[nfd].events = CURL_WAIT_POLLIN;
		extra[nfd++].revents = 0;
	}
	left = soonest > now ? (int)(soonest - now) : 0;
	if (curl_multi_poll(n->m, extra, (unsigned)nfd, left, &numfds) != CURLM_OK)
		return -1;
	if (ub_poll(n->ub) && ub_process(n->ub) != 0)
		return -1;
	if (fd >= 0 && (extra[1].revents & (CURL_WAIT_POLLIN | CURL_WAIT_POLLPRI)))
		fd_ready = 1;
	curl_multi_perform(n->m, &still);
	while ((msg = curl_multi_info_read(n->m, &still)) != NULL) {
		struct job *j = NULL;

		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&j);
		if (j != NULL && j->state == JOB_HTTP)
			http_done(j, msg->data.result);
	}
	expire_dns(n, now_ms());
	while (n->qlen > 0 && n->running < n->c.max_inflight) {
		struct waiting w = n->q[n->qhead];

		n->qhead = (n->qhead + 1) % n->c.queue_max;
		n->qlen--;
		job_begin(n, w.domain, w.known_id, w.tag);
	}
	return fd_ready;
}
