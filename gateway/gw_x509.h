/*
 * gw_x509.h - validate a server's certificate chain seen in a TLS <= 1.2
 * handshake: trust, validity period, and the MX host name (RFC 6125/8461).
 *
 * The only module that includes OpenSSL. A struct gw_x509_store holds the
 * trust anchors, loaded once; after gw_x509_store_new() it is only read, so
 * engine threads may share it (a reload builds a new one and swaps the
 * pointer, like struct pol). gw_x509_check() allocates OpenSSL objects for
 * the duration of the call and frees them; it never logs: the caller turns
 * the result into a finding (tls_cert_invalid) and the flow event.
 *
 * DANE (RFC 7672): gw_x509_dane_check() matches a chain against the TLSA
 * records of the MX host with OpenSSL's own DANE code (the verification a
 * DANE-enabled SSL client runs, on a chain read off the wire): no PKIX
 * trust anchors are involved.
 */
#ifndef GATEWAY_GW_X509_H
#define GATEWAY_GW_X509_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "../policy/pol_dane.h"

/* Debian/Ubuntu's bundle; policy.ca_file's default. */
#define GW_X509_CA_DEFAULT "/etc/ssl/certs/ca-certificates.crt"

/* Certificates of a chain looked at (leaf first); more are ignored. */
#define GW_X509_CHAIN_MAX 8
/* Room for a one-line RFC 2253 subject or issuer; longer ones are cut. */
#define GW_X509_NAME_MAX 256
/* "2026-11-28T12:00:00Z" and its NUL. */
#define GW_X509_TIME_MAX 24
/* Room for the reason text. */
#define GW_X509_REASON_MAX 160

enum gw_x509_result {
	GW_X509_OK = 0,          /* chain trusted, in its validity period, name matches */
	GW_X509_EXPIRED,         /* a certificate of the chain is past notAfter */
	GW_X509_NOT_YET_VALID,   /* a certificate of the chain is before notBefore */
	GW_X509_NOT_TRUSTED,     /* self-signed, unknown CA, incomplete chain, bad signature */
	GW_X509_HOST_MISMATCH,   /* no SAN dNSName (or CN without SAN) matches the MX host/patterns */
	GW_X509_INVALID,         /* other verification failure (CA flags, purpose, key too weak) */
	GW_X509_PARSE_ERROR,     /* no certificate, or DER that does not parse */
	GW_X509_TLSA_MISMATCH    /* DANE: no usable TLSA record matches the chain */
};


/* One DER certificate (the same shape as inspect/tls_hs.h's tls_cert_ref). */
struct gw_x509_der {
	const uint8_t *der;
	size_t         len;
};

struct gw_x509_info {
	enum gw_x509_result result;            /* the verdict */
	int      verify_error;                 /* OpenSSL X509_V_ERR_* (0 when none or not run) */
	int      depth;                        /* chain depth of that error (0 = leaf), -1 when none */
	int      self_signed;                  /* the leaf is self-issued (informational checks) */
	char     reason[GW_X509_REASON_MAX];   /* short human text, "" for ok */
	char     subject[GW_X509_NAME_MAX];    /* leaf subject, RFC 2253 one line ("" when unparsed) */
	char     issuer[GW_X509_NAME_MAX];     /* leaf issuer, RFC 2253 one line */
	char     not_before[GW_X509_TIME_MAX]; /* leaf notBefore, RFC 3339 UTC */
	char     not_after[GW_X509_TIME_MAX];  /* leaf notAfter, RFC 3339 UTC */
	char     matched[GW_X509_NAME_MAX];    /* the certificate name that matched ("" when none) */
};

struct gw_x509_store;

/*
 * Load trust anchors from ca (a PEM bundle file, or a directory whose PEM
 * files are all loaded now; NULL or "" = GW_X509_CA_DEFAULT). Nothing is
 * read later, so the store works after the privilege drop and chroot/seccomp.
 * NULL with a message in err on failure (unreadable, no certificate in it).
 */
struct gw_x509_store *gw_x509_store_new(const char *ca, char *err, size_t errlen);
void gw_x509_store_free(struct gw_x509_store *st);

/*
 * Validate chain[0..n) (leaf first; the rest are untrusted intermediates)
 * at time at (the packet's timestamp, so replays give the same answer).
 *
 * Name check (RFC 8461 4.2 with RFC 6125 6.4): the names are the leaf's
 * SAN dNSNames, or its subject CNs when it has no dNSName; a name "*.x"
 * matches exactly one leftmost label; comparison ignores case and one
 * trailing dot.
 *   - mx_host given (the MX name: from DNS, the SNI, or the policy): it
 *     must match one of npatterns patterns (RFC 8461 "*.example.net" or
 *     exact; none given = no constraint) and a certificate name must match it;
 *   - mx_host NULL or "": a certificate name must overlap one of the
 *     patterns (an exact name inside a pattern, or a wildcard equal to or
 *     covering it);
 *   - neither: the name is not checked (opportunistic TLS, no policy).
 * Trust and time are checked first; their failure is reported even when
 * the name is wrong too. Returns info->result.
 */
enum gw_x509_result gw_x509_check(const struct gw_x509_store *st,
    const struct gw_x509_der *chain, size_t n, time_t at,
    const char *mx_host, const char *const *patterns, size_t npatterns,
    struct gw_x509_info *info);

/*
 * DANE check (RFC 7672 3.1) of chain[0..n) (leaf first, as the server sent
 * it) against the TLSA records of mx_host, at time at:
 *   - DANE-EE(3): the leaf's certificate or key matches; names and dates
 *     are ignored (3.1.1);
 *   - DANE-TA(2): a certificate or key of the chain matches and the chain
 *     from the leaf up to it verifies: signatures, dates, and the leaf's
 *     names against mx_host (3.1.2, RFC 6125 without partial wildcards);
 *   - records pol_tlsa_usable() refuses (PKIX-TA(0), PKIX-EE(1), unknown
 *     selectors and matching types, digests of the wrong length; RFC 7672
 *     3.1.3) are skipped.
 * mx_host is the TLSA base domain (the MX host name; needed for DANE-TA).
 * With no usable record there is nothing to authenticate against: GW_X509_OK
 * with info->reason saying so and *usable = 0 (RFC 7672 2.2: TLS is still
 * required, unauthenticated). On a match info->matched is "TLSA U S M at
 * depth D". A chain no record matches is GW_X509_TLSA_MISMATCH; a DANE-TA
 * match with a bad name, date or signature gets that result
 * (GW_X509_HOST_MISMATCH, GW_X509_EXPIRED, ...). usable may be NULL.
 */
enum gw_x509_result gw_x509_dane_check(const struct gw_x509_der *chain, size_t n,
    time_t at, const char *mx_host, const struct pol_tlsa *tlsa, size_t ntlsa,
    struct gw_x509_info *info, size_t *usable);

/* "ok", "expired", "not_yet_valid", "not_trusted", "host_mismatch",
 * "invalid", "parse_error", "tlsa_mismatch". */
const char *gw_x509_result_name(enum gw_x509_result r);
/* RFC 8460 4.3 result type: "certificate-expired", "certificate-not-trusted",
 * "certificate-host-mismatch", "tlsa-invalid", "validation-failure"; NULL
 * for ok. */
const char *gw_x509_tlsrpt(enum gw_x509_result r);

/* Does the certificate name (maybe "*.x") match host? RFC 6125 6.4.3 as
 * above. Exposed for the tests. */
int gw_x509_name_match(const char *certname, const char *host);

#endif
