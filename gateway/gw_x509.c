/*
 * gw_x509.c - certificate chain checks with OpenSSL: trust anchors loaded
 * once, chain verified at the capture's time, leaf names matched against
 * the MX host and the policy's MX patterns (RFC 8461 4.2, RFC 6125 6.4).
 *
 * The only file that includes OpenSSL headers. The store is read-only after
 * gw_x509_store_new(), so threads share it (OpenSSL locks its own lookup
 * caches). Wire bytes copied into info (subject, issuer, names) are not
 * escaped here: the EVE writer does that.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "../policy/pol_mx.h"
#include "gw_x509.h"

struct gw_x509_store {
	X509_STORE *store; /* trust anchors; never modified after loading */
};

/* MX patterns of one policy that are looked at: a policy lists a handful. */
#define PATTERNS_MAX 16

/* snprintf into a fixed buffer, result ignored (always terminated). */
#define fmt(buf, ...) ((void)snprintf((buf), sizeof(buf), __VA_ARGS__))

/* Load every PEM file of directory dir now, rather than through OpenSSL's
 * hash-directory lookup, which opens files lazily during verification:
 * after the privilege drop and under the seccomp sandbox that would fail.
 * Files that hold no certificate are skipped. 1 when one loaded, else 0. */
static int
load_dir(X509_STORE *store, const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[4096];
	int any = 0;

	if (d == NULL)
		return 0;
	while ((e = readdir(d)) != NULL) {
		struct stat sb;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (stat(path, &sb) == -1 || !S_ISREG(sb.st_mode))
			continue;
		if (X509_STORE_load_file(store, path))
			any = 1;
		ERR_clear_error();
	}
	closedir(d);
	return any;
}

struct gw_x509_store *
gw_x509_store_new(const char *ca, char *err, size_t errlen)
{
	struct gw_x509_store *st;
	struct stat sb;
	int ok;

	if (ca == NULL || *ca == '\0')
		ca = GW_X509_CA_DEFAULT;
	if (stat(ca, &sb) == -1) {
		snprintf(err, errlen, "%s: %s", ca, strerror(errno));
		return NULL;
	}
	if ((st = calloc(1, sizeof(*st))) == NULL ||
	    (st->store = X509_STORE_new()) == NULL) {
		free(st);
		snprintf(err, errlen, "%s: out of memory", ca);
		return NULL;
	}
	if (S_ISDIR(sb.st_mode))
		ok = load_dir(st->store, ca);
	else
		ok = X509_STORE_load_file(st->store, ca);
	ok = ok && sk_X509_OBJECT_num(X509_STORE_get0_objects(st->store)) > 0;
	if (!ok) {
		unsigned long e = ERR_get_error();

		snprintf(err, errlen, "%s: no CA certificate could be loaded%s%s", ca,
		    e ? ": " : "", e ? ERR_reason_error_string(e) : "");
		ERR_clear_error();
		gw_x509_store_free(st);
		return NULL;
	}
	return st;
}

void
gw_x509_store_free(struct gw_x509_store *st)
{
	if (st == NULL)
		return;
	X509_STORE_free(st->store);
	free(st);
}

/* Normalise a certificate name into out (POL_NAME_BUF): "*.x" kept as a
 * wildcard when x has two labels or more (no "*.com", like OpenSSL), partial
 * wildcards and the EFF ".x" form refused. 1 = wildcard, 0 = exact, -1. */
static int
cert_name_norm(const char *in, size_t len, char *out)
{
	char err[8];
	int wild = 0;

	if (len == 0 || in[0] == '.' || memchr(in, '\0', len) != NULL)
		return -1;
	if (pol_mx_pattern_norm(in, len, out, POL_NAME_BUF, &wild, err, sizeof(err)) == -1)
		return -1;
	if (wild && strchr(out + 2, '.') == NULL)
		return -1;
	return wild;
}

int
gw_x509_name_match(const char *certname, const char *host)
{
	char c[POL_NAME_BUF], h[POL_NAME_BUF], err[8];

	if (cert_name_norm(certname, strlen(certname), c) == -1)
		return 0;
	if (pol_name_norm(host, strlen(host), h, sizeof(h), err, sizeof(err)) == -1)
		return 0;
	return pol_mx_match_norm(c, h);
}

/* Does normalised certificate name c (wildcard cw) overlap pattern p? */
static int
name_in_pattern(const char *c, int cw, const char *p)
{
	int pw = p[0] == '*';

	if (cw == pw)
		return strcmp(c, p) == 0;
	return cw ? pol_mx_match_norm(c, p) : pol_mx_match_norm(p, c);
}

/* One-line RFC 2253 form of name into out (outlen > 0), cut at a UTF-8
 * character boundary. */
static void
name_line(const X509_NAME *name, char *out, size_t outlen)
{
	BIO *b = BIO_new(BIO_s_mem());
	int n = 0;

	out[0] = '\0';
	if (b == NULL)
		return;
	if (X509_NAME_print_ex(b, name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) >= 0)
		n = BIO_read(b, out, (int)outlen - 1);
	BIO_free(b);
	if (n <= 0) {
		out[0] = '\0';
		return;
	}
	if ((size_t)n == outlen - 1)
		while (n > 0 && ((unsigned char)out[n] & 0xc0) == 0x80)
			n--;
	out[n] = '\0';
}

/* ASN1_TIME as RFC 3339 UTC into out (GW_X509_TIME_MAX). */
static void
time_line(const ASN1_TIME *t, char *out)
{
	struct tm tm;

	out[0] = '\0';
	if (t == NULL || !ASN1_TIME_to_tm(t, &tm))
		return;
	strftime(out, GW_X509_TIME_MAX, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Which result an X509_V_ERR_* stands for. */
static enum gw_x509_result
map_verify_error(int e)
{
	switch (e) {
	case X509_V_ERR_CERT_HAS_EXPIRED:
		return GW_X509_EXPIRED;
	case X509_V_ERR_CERT_NOT_YET_VALID:
		return GW_X509_NOT_YET_VALID;
	case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
	case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
	case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
	case X509_V_ERR_UNABLE_TO_DECRYPT_CERT_SIGNATURE:
	case X509_V_ERR_UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY:
	case X509_V_ERR_CERT_SIGNATURE_FAILURE:
	case X509_V_ERR_CERT_UNTRUSTED:
	case X509_V_ERR_CERT_REJECTED:
		return GW_X509_NOT_TRUSTED;
	default:
		return GW_X509_INVALID;
	}
}

/* Collect the leaf's names: SAN dNSNames, or the subject CNs when there is
 * no dNSName. Calls fn(name, wildcard, arg) for each valid one until it
 * returns 1; returns 1 then, else 0. */
static int
for_each_name(X509 *x, int (*fn)(const char *, int, void *), void *arg)
{
	GENERAL_NAMES *gens;
	int have_dns = 0, hit = 0;
	char n[POL_NAME_BUF];

	gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	for (int i = 0; gens != NULL && i < sk_GENERAL_NAME_num(gens) && !hit; i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
		int w;

		if (g->type != GEN_DNS)
			continue;
		have_dns = 1;
		w = cert_name_norm((const char *)ASN1_STRING_get0_data(g->d.dNSName),
		    (size_t)ASN1_STRING_length(g->d.dNSName), n);
		if (w != -1 && fn(n, w, arg))
			hit = 1;
	}
	GENERAL_NAMES_free(gens);
	if (have_dns || hit)
		return hit;

	const X509_NAME *subj = X509_get_subject_name(x);
	for (int i = -1; (i = X509_NAME_get_index_by_NID(subj, NID_commonName, i)) >= 0;) {
		const ASN1_STRING *s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subj, i));
		unsigned char *u = NULL;
		int len = ASN1_STRING_to_UTF8(&u, s), w;

		if (len < 0)
			continue;
		w = cert_name_norm((const char *)u, (size_t)len, n);
		OPENSSL_free(u);
		if (w != -1 && fn(n, w, arg))
			return 1;
	}
	return 0;
}

/* What a name check compares against. */
struct name_req {
	const char         *host;   /* normalised MX host, or NULL */
	const char *const  *pats;   /* normalised patterns */
	size_t              npats;
	char               *matched; /* GW_X509_NAME_MAX: the name that matched */
};

/* for_each_name() callback: does this certificate name satisfy req? */
static int
name_ok(const char *n, int wild, void *arg)
{
	struct name_req *r = arg;
	int ok = 0;

	if (r->host != NULL)
		ok = pol_mx_match_norm(n, r->host) || (!wild && strcmp(n, r->host) == 0);
	else
		for (size_t i = 0; i < r->npats && !ok; i++)
			ok = name_in_pattern(n, wild, r->pats[i]);
	if (ok)
		snprintf(r->matched, GW_X509_NAME_MAX, "%s", n);
	return ok;
}

/* The name part of gw_x509_check: 0 ok, else GW_X509_HOST_MISMATCH with the
 * reason filled. */
static enum gw_x509_result
check_names(X509 *leaf, const char *mx_host, const char *const *patterns,
    size_t npatterns, struct gw_x509_info *info)
{
	char host[POL_NAME_BUF], err[8];
	char pbuf[PATTERNS_MAX][POL_NAME_BUF];
	const char *pats[PATTERNS_MAX];
	struct name_req req = { NULL, pats, 0, info->matched };
	int have_host = mx_host != NULL && *mx_host != '\0';

	/* Keep the first PATTERNS_MAX valid patterns. */
	for (size_t i = 0; i < npatterns && req.npats < PATTERNS_MAX; i++) {
		if (patterns[i] == NULL ||
		    pol_mx_pattern_norm(patterns[i], strlen(patterns[i]), pbuf[req.npats],
		    POL_NAME_BUF, NULL, err, sizeof(err)) == -1)
			continue;
		pats[req.npats] = pbuf[req.npats];
		req.npats++;
	}
	if (!have_host && npatterns == 0)
		return GW_X509_OK;
	if (have_host) {
		int inpol = npatterns == 0;

		if (pol_name_norm(mx_host, strlen(mx_host), host, sizeof(host), err,
		    sizeof(err)) == -1) {
			fmt(info->reason, "MX host name is not a valid name");
			return GW_X509_HOST_MISMATCH;
		}
		for (size_t i = 0; i < req.npats && !inpol; i++)
			inpol = pol_mx_match_norm(pats[i], host);
		if (!inpol) {
			fmt(info->reason, "MX host %.100s matches no MX pattern of the policy", host);
			return GW_X509_HOST_MISMATCH;
		}
		req.host = host;
	}
	if (for_each_name(leaf, name_ok, &req))
		return GW_X509_OK;
	if (have_host)
		fmt(info->reason, "no certificate name matches %.100s", host);
	else
		fmt(info->reason, "no certificate name matches the policy's MX patterns");
	return GW_X509_HOST_MISMATCH;
}

/* Parse chain[0..n) into certs (n <= GW_X509_CHAIN_MAX); the count parsed
 * is in *ncert even on failure. 0, or -1 with info->reason. */
static int
parse_chain(const struct gw_x509_der *chain, size_t n, X509 **certs, size_t *ncert,
    struct gw_x509_info *info)
{
	for (*ncert = 0; *ncert < n; (*ncert)++) {
		const unsigned char *p = chain[*ncert].der;

		if (chain[*ncert].len > LONG_MAX ||
		    (certs[*ncert] = d2i_X509(NULL, &p, (long)chain[*ncert].len)) == NULL ||
		    p != chain[*ncert].der + chain[*ncert].len) {
			fmt(info->reason, "certificate %zu of the chain is not valid DER", *ncert);
			if (certs[*ncert] != NULL)
				(*ncert)++;
			return -1;
		}
	}
	return 0;
}

/* The leaf's facts for the flow event. */
static void
leaf_info(X509 *leaf, struct gw_x509_info *info)
{
	name_line(X509_get_subject_name(leaf), info->subject, sizeof(info->subject));
	name_line(X509_get_issuer_name(leaf), info->issuer, sizeof(info->issuer));
	time_line(X509_get0_notBefore(leaf), info->not_before);
	time_line(X509_get0_notAfter(leaf), info->not_after);
	info->self_signed = X509_check_issued(leaf, leaf) == X509_V_OK;
}

enum gw_x509_result
gw_x509_check(const struct gw_x509_store *st, const struct gw_x509_der *chain,
    size_t n, time_t at, const char *mx_host, const char *const *patterns,
    size_t npatterns, struct gw_x509_info *info)
{
	X509 *certs[GW_X509_CHAIN_MAX] = { NULL };
	STACK_OF(X509) *untrusted = NULL;
	X509_STORE_CTX *ctx = NULL;
	size_t ncert = 0;
	enum gw_x509_result r = GW_X509_OK;

	memset(info, 0, sizeof(*info));
	info->depth = -1;
	if (n > GW_X509_CHAIN_MAX)
		n = GW_X509_CHAIN_MAX;
	if (n == 0) {
		fmt(info->reason, "no certificate");
		return info->result = GW_X509_PARSE_ERROR;
	}
	if (parse_chain(chain, n, certs, &ncert, info) == -1) {
		r = GW_X509_PARSE_ERROR;
		goto out;
	}
	leaf_info(certs[0], info);

	if ((untrusted = sk_X509_new_null()) == NULL || (ctx = X509_STORE_CTX_new()) == NULL)
		goto oom;
	for (size_t i = 1; i < ncert; i++)
		if (!sk_X509_push(untrusted, certs[i]))
			goto oom;
	if (!X509_STORE_CTX_init(ctx, st->store, certs[0], untrusted))
		goto oom;
	X509_VERIFY_PARAM_set_time(X509_STORE_CTX_get0_param(ctx), at);
	X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_SERVER);
	if (X509_verify_cert(ctx) != 1) {
		int e = X509_STORE_CTX_get_error(ctx);
		X509 *bad = X509_STORE_CTX_get_current_cert(ctx);
		char when[GW_X509_TIME_MAX];

		info->verify_error = e;
		info->depth = X509_STORE_CTX_get_error_depth(ctx);
		r = map_verify_error(e);
		if (r == GW_X509_EXPIRED || r == GW_X509_NOT_YET_VALID) {
			time_line(bad == NULL ? NULL : r == GW_X509_EXPIRED ?
			    X509_get0_notAfter(bad) : X509_get0_notBefore(bad), when);
			fmt(info->reason, "certificate %s %s (depth %d)",
			    r == GW_X509_EXPIRED ? "expired" : "not valid before", when,
			    info->depth);
		} else {
			fmt(info->reason, "%s (depth %d)", X509_verify_cert_error_string(e),
			    info->depth);
		}
		goto out;
	}
	r = check_names(certs[0], mx_host, patterns, npatterns, info);
	goto out;
oom:
	fmt(info->reason, "out of memory");
	r = GW_X509_INVALID;
out:
	X509_STORE_CTX_free(ctx);
	sk_X509_free(untrusted);
	for (size_t i = 0; i < ncert; i++)
		X509_free(certs[i]);
	ERR_clear_error();
	return info->result = r;
}

const char *
gw_x509_result_name(enum gw_x509_result r)
{
	switch (r) {
	case GW_X509_OK:            return "ok";
	case GW_X509_EXPIRED:       return "expired";
	case GW_X509_NOT_YET_VALID: return "not_yet_valid";
	case GW_X509_NOT_TRUSTED:   return "not_trusted";
	case GW_X509_HOST_MISMATCH: return "host_mismatch";
	case GW_X509_INVALID:       return "invalid";
	case GW_X509_PARSE_ERROR:   return "parse_error";
	case GW_X509_TLSA_MISMATCH: return "tlsa_mismatch";
	}
	return "invalid";
}

const char *
gw_x509_tlsrpt(enum gw_x509_result r)
{
	switch (r) {
	case GW_X509_OK:            return NULL;
	case GW_X509_EXPIRED:       return "certificate-expired";
	case GW_X509_NOT_TRUSTED:   return "certificate-not-trusted";
	case GW_X509_HOST_MISMATCH: return "certificate-host-mismatch";
	case GW_X509_TLSA_MISMATCH: return "tlsa-invalid";
	case GW_X509_NOT_YET_VALID: /* RFC 8460 has no type of its own for it */
	case GW_X509_INVALID:
	case GW_X509_PARSE_ERROR:
		return "validation-failure";
	}
	return "validation-failure";
}

/* ---- DANE (RFC 7672) ---- */

/* One SSL_CTX with DANE enabled, made once and shared: it only hands
 * SSL objects their DANE digests (SHA2-256/512) and an empty X509 store,
 * so PKIX trust anchors never count. */
static SSL_CTX *dane_ctx;
static pthread_once_t dane_once = PTHREAD_ONCE_INIT;

static void
dane_init(void)
{
	SSL_CTX *c = SSL_CTX_new(TLS_client_method());

	if (c != NULL && SSL_CTX_dane_enable(c) <= 0) {
		SSL_CTX_free(c);
		c = NULL;
	}
	dane_ctx = c;
	ERR_clear_error();
}

enum gw_x509_result
gw_x509_dane_check(const struct gw_x509_der *chain, size_t n, time_t at, const char *mx_host,
    const struct pol_tlsa *tlsa, size_t ntlsa, struct gw_x509_info *info, size_t *usable)
{
	X509 *certs[GW_X509_CHAIN_MAX] = { NULL };
	STACK_OF(X509) *untrusted = NULL;
	X509_STORE_CTX *ctx = NULL;
	SSL *ssl = NULL;
	size_t ncert = 0, nuse = 0;
	enum gw_x509_result r = GW_X509_OK;
	char host[POL_NAME_BUF], err[8];

	memset(info, 0, sizeof(*info));
	info->depth = -1;
	if (usable != NULL)
		*usable = 0;
	if (n > GW_X509_CHAIN_MAX)
		n = GW_X509_CHAIN_MAX;
	if (n == 0) {
		fmt(info->reason, "no certificate");
		return info->result = GW_X509_PARSE_ERROR;
	}
	if (parse_chain(chain, n, certs, &ncert, info) == -1) {
		r = GW_X509_PARSE_ERROR;
		goto out;
	}
	leaf_info(certs[0], info);
	pthread_once(&dane_once, dane_init);
	if (dane_ctx == NULL || (ssl = SSL_new(dane_ctx)) == NULL)
		goto oom;
	/* The TLSA base domain: the MX host; DANE-TA checks the leaf's names
	 * against it. Without one only DANE-EE records can match. */
	if (mx_host == NULL ||
	    pol_name_norm(mx_host, strlen(mx_host), host, sizeof(host), err, sizeof(err)) < 0)
		snprintf(host, sizeof(host), "invalid.");
	if (SSL_dane_enable(ssl, host) <= 0)
		goto oom;
	/* RFC 7672 3.1.1: DANE-EE ignores the names (and, in OpenSSL, the dates). */
	SSL_dane_set_flags(ssl, DANE_FLAG_NO_DANE_EE_NAMECHECKS);
	for (size_t i = 0; i < ntlsa; i++) {
		if (!pol_tlsa_usable(&tlsa[i]))
			continue;
		if (SSL_dane_tlsa_add(ssl, tlsa[i].usage, tlsa[i].selector, tlsa[i].mtype,
		    tlsa[i].data, tlsa[i].len) > 0)
			nuse++;
		ERR_clear_error();
	}
	if (usable != NULL)
		*usable = nuse;
	if (nuse == 0) {
		fmt(info->reason, "no usable TLSA record: TLS required, not authenticated (RFC 7672 2.2)");
		goto out;
	}
	if ((untrusted = sk_X509_new_null()) == NULL || (ctx = X509_STORE_CTX_new()) == NULL)
		goto oom;
	for (size_t i = 1; i < ncert; i++)
		if (!sk_X509_push(untrusted, certs[i]))
			goto oom;
	/* What ssl_verify_cert_chain() does for a DANE client, on our chain. */
	if (!X509_STORE_CTX_init(ctx, SSL_CTX_get_cert_store(dane_ctx), certs[0], untrusted) ||
	    !X509_STORE_CTX_set_default(ctx, "ssl_server") ||
	    !X509_VERIFY_PARAM_set1(X509_STORE_CTX_get0_param(ctx), SSL_get0_param(ssl)))
		goto oom;
	X509_STORE_CTX_set0_dane(ctx, SSL_get0_dane(ssl));
	X509_VERIFY_PARAM_set_time(X509_STORE_CTX_get0_param(ctx), at);
	if (X509_verify_cert(ctx) == 1) {
		uint8_t u = 0, s = 0, m = 0;
		const unsigned char *d = NULL;
		size_t dl = 0;
		int depth;

		SSL_set_verify_result(ssl, X509_V_OK);
		depth = SSL_get0_dane_tlsa(ssl, &u, &s, &m, &d, &dl);
		fmt(info->matched, "TLSA %u %u %u at depth %d", u, s, m, depth);
		goto out;
	}
	info->verify_error = X509_STORE_CTX_get_error(ctx);
	info->depth = X509_STORE_CTX_get_error_depth(ctx);
	switch (info->verify_error) {
	case X509_V_ERR_DANE_NO_MATCH:
		r = GW_X509_TLSA_MISMATCH;
		fmt(info->reason, "no TLSA record of %.100s matches the certificate chain", host);
		break;
	case X509_V_ERR_HOSTNAME_MISMATCH:
		r = GW_X509_HOST_MISMATCH;
		fmt(info->reason, "DANE-TA matched, but no certificate name matches %.100s", host);
		break;
	default:
		r = map_verify_error(info->verify_error);
		fmt(info->reason, "DANE-TA chain: %s (depth %d)",
		    X509_verify_cert_error_string(info->verify_error), info->depth);
		break;
	}
	goto out;
oom:
	fmt(info->reason, "out of memory");
	r = GW_X509_INVALID;
out:
	X509_STORE_CTX_free(ctx);
	sk_X509_free(untrusted);
	SSL_free(ssl);
	for (size_t i = 0; i < ncert; i++)
		X509_free(certs[i]);
	ERR_clear_error();
	return info->result = r;
}
