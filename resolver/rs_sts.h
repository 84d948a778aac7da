/*
 * rs_sts.h - the pure parts of MTA-STS discovery (RFC 8461): the
 * _mta-sts TXT record grammar and its exactly-one rule, the Content-Type
 * check of the policy response, the reasons a discovery is refused, and
 * the escaping of untrusted text before anyone logs it. No I/O, no
 * allocation, no clock; hostile input of any kind gets -1 and a message,
 * never more than the buffers the caller gave. The policy text itself is
 * policy/pol_sts.c's.
 */
#ifndef RESOLVER_RS_STS_H
#define RESOLVER_RS_STS_H

#include <stddef.h>

/* RFC 8461 3.1: sts-id = 1*32(ALPHA / DIGIT). */
#define RS_STS_ID_MAX 32
/* A TXT record text we look at; an STSv1 record is well under 100 bytes. */
#define RS_STS_TXT_MAX 2048
/* TXT records at _mta-sts.DOMAIN we look at; one is expected. */
#define RS_STS_TXT_RR_MAX 16

/* Why a discovery did not bring a policy (counted per reason; public in
 * the metrics as their names, so append only). */
enum rs_reason {
	RS_R_NONE = 0,       /* no reason: a policy, unchanged, or no TXT record */
	RS_R_DNS_FAILED,     /* SERVFAIL, refused, malformed answer */
	RS_R_DNS_TIMEOUT,    /* no DNS answer within the deadline */
	RS_R_TXT_INVALID,    /* several STSv1 records, or one that breaks the grammar */
	RS_R_NO_ADDRESS,     /* mta-sts.DOMAIN has no address */
	RS_R_CONNECT,        /* TCP connection refused or unreachable */
	RS_R_TLS_CERT,       /* certificate not valid for mta-sts.DOMAIN under ca_file */
	RS_R_TLS,            /* any other TLS failure */
	RS_R_TIMEOUT,        /* the fetch passed its deadline */
	RS_R_HTTP_STATUS,    /* status other than 200 */
	RS_R_REDIRECT,       /* 3xx: never followed (RFC 8461 3.3) */
	RS_R_CONTENT_TYPE,   /* not text/plain (RFC 8461 3.2) */
	RS_R_TOO_BIG,        /* body over 64 KiB (RFC 8461 3.3) */
	RS_R_TRUNCATED,      /* body shorter than announced, or cut */
	RS_R_BAD_HTTP,       /* not HTTP/1.x, bad framing */
	RS_R_BAD_POLICY,     /* body is not a valid STSv1 policy */
	RS_R_BUSY,           /* resolver queue full: not tried */
	RS_R_INTERNAL,       /* out of memory, library failure */
	RS_R_COUNT
};

const char *rs_reason_name(enum rs_reason r);

/* Copy len untrusted bytes into out as printable ASCII (\xHH otherwise),
 * cut with "..." so that it fits outlen. */
void rs_esc(const char *in, size_t len, char *out, size_t outlen);

/*
 * The text of one TXT RDATA: its character-strings concatenated (RFC 1035
 * 3.3.14, RFC 8461 3.1). At most outlen - 1 bytes are copied, NUL added.
 * Returns the full text length (more than outlen - 1 means out holds a
 * prefix only), or -1 when a character-string runs past the RDATA.
 */
long rs_sts_txt_rdata(const unsigned char *rdata, size_t len, char *out, size_t outlen);

/*
 * One TXT record text against RFC 8461 3.1:
 *   v=STSv1; id=ID[; ext-name=ext-value]...[;]   (spaces/tabs around ';')
 * Returns 0 with the id (NUL-terminated, idlen >= RS_STS_ID_MAX + 1) for a
 * valid record; 1 when it is not an STSv1 record (discarded by the RFC);
 * -1 with err for an STSv1 record that breaks the grammar.
 */
int rs_sts_txt_record(const char *txt, size_t len, char *id, size_t idlen,
    char *err, size_t errlen);

/*
 * The RFC 8461 3.1 rule over all TXT records of _mta-sts.DOMAIN: records
 * that are not STSv1 are discarded; exactly one must remain, and be valid.
 * Returns 0 with its id; 1 when no STSv1 record is there; -1 with err
 * (several STSv1 records, or an invalid one). Either non-zero answer means
 * the domain has no available policy.
 */
int rs_sts_txt_select(const char *const *txt, const size_t *len, size_t n,
    char *id, size_t idlen, char *err, size_t errlen);

/* Is this Content-Type value the media type text/plain (any case,
 * parameters such as "; charset=utf-8" allowed)? 1 or 0. */
int rs_ctype_text_plain(const char *value);

#endif
