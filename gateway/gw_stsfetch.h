/*
 * gw_stsfetch.h - "starttls-guard sts-fetch": fetch MTA-STS policies
 * (RFC 8461) into the cache directory that gw_polsrc.c reads.
 *
 * Per domain: the _mta-sts TXT record (system resolver), then, unless the
 * cached policy has the same id and has not expired, the policy over HTTPS
 * (certificate valid for mta-sts.DOMAIN, no redirects), validated with
 * pol_sts_parse and written atomically as "<domain>.txt" (its mtime is the
 * fetch time) with the id in a sidecar "<domain>.id". The parsers below are
 * pure (no I/O) and exported for the unit tests; hostile input of any kind
 * gets -1 and a message, never more than the buffers the caller gave.
 */
#ifndef GATEWAY_GW_STSFETCH_H
#define GATEWAY_GW_STSFETCH_H

#include <stddef.h>
#include <stdint.h>

/* RFC 8461 3.1: sts-id = 1*32(ALPHA / DIGIT). */
#define GW_STS_ID_MAX 32
/* A TXT record text we look at; an STSv1 record is well under 100 bytes. */
#define GW_STS_TXT_MAX 2048
/* Status line and headers of the policy response: a policy host has no
 * business sending more (nginx's default large_client_header_buffers). */
#define GW_HTTP_HEAD_MAX 8192
/* Header lines in that response. */
#define GW_HTTP_HEADERS_MAX 64
/* Content-Type and Location values kept for checks and messages. */
#define GW_HTTP_VALUE_MAX 256

/*
 * The text of one TXT RDATA: its character-strings concatenated (RFC 1035
 * 3.3.14, RFC 8461 3.1). At most outlen - 1 bytes are copied, NUL added.
 * Returns the full text length (more than outlen - 1 means out holds a
 * prefix only), or -1 when a character-string runs past the RDATA.
 */
long gw_sts_txt_rdata(const unsigned char *rdata, size_t len, char *out, size_t outlen);

/*
 * One TXT record text against RFC 8461 3.1:
 *   v=STSv1; id=ID[; ext-name=ext-value]...[;]   (spaces/tabs around ';')
 * Returns 0 with the id (NUL-terminated, idlen >= GW_STS_ID_MAX + 1) for a
 * valid record; 1 when it is not an STSv1 record (discarded by the RFC);
 * -1 with err for an STSv1 record that breaks the grammar.
 */
int gw_sts_txt_record(const char *txt, size_t len, char *id, size_t idlen,
    char *err, size_t errlen);

/*
 * The RFC 8461 3.1 rule over all TXT records of _mta-sts.DOMAIN: records
 * that are not STSv1 are discarded; exactly one must remain, and be valid.
 * Returns 0 with its id; 1 when no STSv1 record is there; -1 with err
 * (several STSv1 records, or an invalid one). Either non-zero answer means
 * the domain has no available policy.
 */
int gw_sts_txt_select(const char *const *txt, const size_t *len, size_t n,
    char *id, size_t idlen, char *err, size_t errlen);

/* The response head, as far as the fetcher cares. */
struct gw_http_resp {
	int status;               /* 100..999 from the status line */
	int minor;                /* HTTP/1.<minor>: 0 or 1 */
	int chunked;              /* Transfer-Encoding: chunked */
	int64_t content_length;   /* -1 when absent (or ignored because chunked) */
	char reason[64];          /* reason phrase, escaped, cut */
	char content_type[GW_HTTP_VALUE_MAX]; /* raw value, "" when absent */
	char location[GW_HTTP_VALUE_MAX];     /* raw value, "" when absent */
	size_t head_len;          /* status line + headers + the empty line */
};

/*
 * Parse the status line and headers at the start of buf[0..len). Lines end
 * in CRLF (a bare LF is tolerated). Returns 0 when the head is complete
 * (r->head_len says where the body starts); 1 when more bytes are needed;
 * -1 with err for a bad status line, a header without a name or colon, a
 * folded line, control bytes, a bad or conflicting Content-Length, a
 * transfer or content coding other than chunked/identity, more than
 * GW_HTTP_HEADERS_MAX headers or a head longer than GW_HTTP_HEAD_MAX.
 */
int gw_http_parse_head(const char *buf, size_t len, struct gw_http_resp *r,
    char *err, size_t errlen);

/* Is this Content-Type value the media type text/plain (any case,
 * parameters such as "; charset=utf-8" allowed)? 1 or 0. */
int gw_http_ctype_text_plain(const char *value);

/*
 * Decode a complete chunked body in place: buf[0..len) holds everything
 * after the head. Chunk extensions and trailers are skipped. Returns 0 with
 * the decoded length in *outlen (at most max), or -1 with err (bad size,
 * missing CRLF, no last chunk, more than max bytes).
 */
int gw_http_dechunk(char *buf, size_t len, size_t max, size_t *outlen,
    char *err, size_t errlen);

/*
 * starttls-guard sts-fetch [-c FILE] [-d DIR] [--ca-file FILE] DOMAIN...
 * argv[0] is "sts-fetch". One line per domain; returns the exit status:
 * 0 when every domain was fetched or unchanged, 1 otherwise, 2 usage.
 */
int gw_stsfetch_main(int argc, char **argv);

#endif
