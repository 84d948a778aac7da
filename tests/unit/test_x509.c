/*
 * test_x509.c - unit tests for gateway/gw_x509.c (certificate checks).
 *
 * Certificates are made here at run time with the OpenSSL API: a test root,
 * an intermediate, leaves that are valid, expired, not yet valid,
 * self-signed, for the wrong name, wildcards, CN-only. Each chain is checked
 * at a fixed time against a store loaded from a temporary file (and a
 * c_rehash-style directory), with MX hosts and RFC 8461 patterns. Then the
 * certificates of the real handshakes in tests/tls (tests/tools/tls_samples.c)
 * are taken through inspect/tls_hs.c and checked as the engine will.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "gateway/gw_x509.h"
#include "inspect/tls_hs.h"

/* 2026-11-28T12:00:00Z: the time every check is made at. */
#define T0  1795867200L
#define DAY 86400L

/* A key, its certificate and the certificate's DER. */
struct cred {
	EVP_PKEY      *key;
	X509          *cert;
	unsigned char *der;
	size_t         len;
};

/* Add an extension in openssl.cnf syntax. */
static void
add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *e;

	X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
	e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	assert_non_null(e);
	X509_add_ext(x, e, -1);
	X509_EXTENSION_free(e);
}

/* Make a certificate: CN cn, SAN san (NULL = none), valid [T0+from, T0+to],
 * signed by issuer (NULL = self-signed), CA or leaf. */
static struct cred
make(const char *cn, const char *san, long from, long to, const struct cred *issuer, int ca)
{
	static long serial = 100;
	struct cred c;
	X509_NAME *name;
	X509 *signer;
	time_t t;
	unsigned char *p;
	int n;

	c.key = EVP_EC_gen("P-256");
	c.cert = X509_new();
	assert_non_null(c.key);
	assert_non_null(c.cert);
	X509_set_version(c.cert, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(c.cert), serial++);
	t = T0 + from;
	X509_time_adj_ex(X509_getm_notBefore(c.cert), 0, 0, &t);
	t = T0 + to;
	X509_time_adj_ex(X509_getm_notAfter(c.cert), 0, 0, &t);
	X509_set_pubkey(c.cert, c.key);
	name = X509_get_subject_name(c.cert);
	X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, (const unsigned char *)"Test", -1, -1, 0);
	if (cn != NULL)
		X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(c.cert, issuer ? X509_get_subject_name(issuer->cert) : name);
	signer = issuer ? issuer->cert : c.cert;
	add_ext(c.cert, signer, NID_basic_constraints, ca ? "critical,CA:TRUE" : "CA:FALSE");
	if (ca)
		add_ext(c.cert, signer, NID_key_usage, "critical,keyCertSign,cRLSign");
	add_ext(c.cert, signer, NID_subject_key_identifier, "hash");
	if (issuer != NULL)
		add_ext(c.cert, signer, NID_authority_key_identifier, "keyid");
	if (san != NULL)
		add_ext(c.cert, signer, NID_subject_alt_name, san);
	assert_true(X509_sign(c.cert, issuer ? issuer->key : c.key, EVP_sha256()) > 0);
	n = i2d_X509(c.cert, NULL);
	assert_true(n > 0);
	c.der = malloc((size_t)n);
	assert_non_null(c.der);
	p = c.der;
	i2d_X509(c.cert, &p);
	c.len = (size_t)n;
	return c;
}

static void
cred_free(struct cred *c)
{
	EVP_PKEY_free(c->key);
	X509_free(c->cert);
	free(c->der);
}

/* The fixture: root, intermediate, a store file and directory. */
static struct cred root, inter, other_root;
static char ca_file[] = "/tmp/test_x509_caXXXXXX";
static char ca_dir[] = "/tmp/test_x509_dirXXXXXX";
static char ca_dir_file[512];
static struct gw_x509_store *store;

static int
setup(void **state)
{
	char err[256];
	FILE *fp;
	int fd;

	(void)state;
	root = make("Test Root", NULL, -3650 * DAY, 3650 * DAY, NULL, 1);
	inter = make("Test Intermediate", NULL, -1000 * DAY, 1000 * DAY, &root, 1);
	other_root = make("Unknown Root", NULL, -3650 * DAY, 3650 * DAY, NULL, 1);
	if ((fd = mkstemp(ca_file)) == -1 || (fp = fdopen(fd, "w")) == NULL)
		return -1;
	PEM_write_X509(fp, root.cert);
	fclose(fp);
	/* A c_rehash directory: <subject hash>.0 */
	if (mkdtemp(ca_dir) == NULL)
		return -1;
	snprintf(ca_dir_file, sizeof(ca_dir_file), "%s/%08lx.0", ca_dir,
	    X509_NAME_hash_ex(X509_get_subject_name(root.cert), NULL, NULL, NULL));
	if ((fp = fopen(ca_dir_file, "w")) == NULL)
		return -1;
	PEM_write_X509(fp, root.cert);
	fclose(fp);
	store = gw_x509_store_new(ca_file, err, sizeof(err));
	if (store == NULL) {
		fprintf(stderr, "store: %s\n", err);
		return -1;
	}
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	gw_x509_store_free(store);
	unlink(ca_file);
	unlink(ca_dir_file);
	rmdir(ca_dir);
	cred_free(&root);
	cred_free(&inter);
	cred_free(&other_root);
	return 0;
}

/* One chain check. */
struct tc {
	const char *what;
	const char *cn, *san;     /* leaf names */
	long        from, to;     /* leaf validity, days around T0 */
	int         signer;       /* 0 root, 1 intermediate (sent in the chain), 2 self, 3 unknown root */
	const char *host;         /* MX host, NULL = none */
	const char *pats[3];      /* policy MX patterns */
	enum gw_x509_result want;
	const char *matched;      /* expected matched name for ok, NULL = "" */
};

static const struct tc tcs[] = {
	{ "valid leaf, exact host", "mx.example.net", "DNS:mx.example.net", -30, 300, 0,
	  "mx.example.net", { NULL }, GW_X509_OK, "mx.example.net" },
	{ "valid via intermediate", "mx.example.net", "DNS:mx.example.net", -30, 300, 1,
	  "mx.example.net", { "mx.example.net" }, GW_X509_OK, "mx.example.net" },
	{ "host case and trailing dot", "mx.example.net", "DNS:MX.Example.NET", -30, 300, 0,
	  "mx.EXAMPLE.net.", { "*.example.net" }, GW_X509_OK, "mx.example.net" },
	{ "no name check without host and patterns", "whatever", "DNS:whatever.example", -30, 300, 0,
	  NULL, { NULL }, GW_X509_OK, NULL },
	{ "expired", "mx.example.net", "DNS:mx.example.net", -400, -35, 0,
	  "mx.example.net", { NULL }, GW_X509_EXPIRED, NULL },
	{ "expired and wrong name: time first", "x.other", "DNS:x.other", -400, -1, 0,
	  "mx.example.net", { NULL }, GW_X509_EXPIRED, NULL },
	{ "not yet valid", "mx.example.net", "DNS:mx.example.net", 2, 300, 0,
	  "mx.example.net", { NULL }, GW_X509_NOT_YET_VALID, NULL },
	{ "self-signed", "mx.example.net", "DNS:mx.example.net", -30, 300, 2,
	  "mx.example.net", { NULL }, GW_X509_NOT_TRUSTED, NULL },
	{ "self-signed, no policy either", "mx.example.net", "DNS:mx.example.net", -30, 300, 2,
	  NULL, { NULL }, GW_X509_NOT_TRUSTED, NULL },
	{ "unknown CA", "mx.example.net", "DNS:mx.example.net", -30, 300, 3,
	  "mx.example.net", { NULL }, GW_X509_NOT_TRUSTED, NULL },
	{ "intermediate missing from chain", "mx.example.net", "DNS:mx.example.net", -30, 300, 4,
	  "mx.example.net", { NULL }, GW_X509_NOT_TRUSTED, NULL },
	{ "wrong name", "mail.other.example", "DNS:mail.other.example", -30, 300, 0,
	  "mx.example.net", { NULL }, GW_X509_HOST_MISMATCH, NULL },
	{ "wildcard one label", "*.example.net", "DNS:*.example.net", -30, 300, 0,
	  "mx.example.net", { "*.example.net" }, GW_X509_OK, "*.example.net" },
	{ "wildcard is not two labels", "*.example.net", "DNS:*.example.net", -30, 300, 0,
	  "a.b.example.net", { "*.example.net", "a.b.example.net" }, GW_X509_HOST_MISMATCH, NULL },
	{ "wildcard not the bare domain", "*.example.net", "DNS:*.example.net", -30, 300, 0,
	  "example.net", { NULL }, GW_X509_HOST_MISMATCH, NULL },
	{ "partial wildcard refused", "mx*.example.net", "DNS:mx*.example.net", -30, 300, 0,
	  "mx1.example.net", { NULL }, GW_X509_HOST_MISMATCH, NULL },
	{ "wildcard over a public suffix refused", "*.net", "DNS:*.net", -30, 300, 0,
	  "example.net", { NULL }, GW_X509_HOST_MISMATCH, NULL },
	{ "second SAN matches", "mx.example.net", "DNS:a.example.org,IP:192.0.2.1,DNS:mx2.example.net",
	  -30, 300, 0, "mx2.example.net", { NULL }, GW_X509_OK, "mx2.example.net" },
	{ "CN only when no SAN", "mx.example.net", NULL, -30, 300, 0,
	  "mx.example.net", { NULL }, GW_X509_OK, "mx.example.net" },
	{ "CN ignored when SAN has dNSName", "mx.example.net", "DNS:other.example.net", -30, 300, 0,
	  "mx.example.net", { NULL }, GW_X509_HOST_MISMATCH, NULL },
	{ "CN used when SAN has only IP", "mx.example.net", "IP:192.0.2.1", -30, 300, 0,
	  "mx.example.net", { NULL }, GW_X509_OK, "mx.example.net" },
	{ "no names at all", NULL, NULL, -30, 300, 0,
	  "mx.example.net", { NULL }, GW_X509_HOST_MISMATCH, NULL },
	{ "MX host outside the policy", "mx.evil.example", "DNS:mx.evil.example", -30, 300, 0,
	  "mx.evil.example", { "mx.example.net", "*.example.org" }, GW_X509_HOST_MISMATCH, NULL },
	{ "MX host in policy via wildcard", "mx1.example.org", "DNS:mx1.example.org", -30, 300, 0,
	  "mx1.example.org", { "mx.example.net", "*.example.org" }, GW_X509_OK, "mx1.example.org" },
	{ "no host: name within patterns", "mx.example.net", "DNS:mx.example.net", -30, 300, 0,
	  NULL, { "*.example.net" }, GW_X509_OK, "mx.example.net" },
	{ "no host: wildcard cert covers exact pattern", "*.example.net", "DNS:*.example.net", -30, 300, 0,
	  NULL, { "mx.example.net" }, GW_X509_OK, "*.example.net" },
	{ "no host: same wildcard", "*.example.net", "DNS:*.example.net", -30, 300, 0,
	  NULL, { "*.example.net" }, GW_X509_OK, "*.example.net" },
	{ "no host: name outside patterns", "mx.example.com", "DNS:mx.example.com", -30, 300, 0,
	  NULL, { "*.example.net", "mx.example.org" }, GW_X509_HOST_MISMATCH, NULL },
	{ "invalid MX host", "mx.example.net", "DNS:mx.example.net", -30, 300, 0,
	  "mx..example.net", { NULL }, GW_X509_HOST_MISMATCH, NULL },
};

/* Run one table row. */
static void
run_tc(const struct tc *t)
{
	struct cred leaf, self;
	struct gw_x509_der chain[2];
	struct gw_x509_info info;
	size_t n = 1, np = 0;
	const struct cred *issuer = t->signer == 1 || t->signer == 4 ? &inter :
	    t->signer == 3 ? &other_root : &root;
	enum gw_x509_result r;

	while (np < 3 && t->pats[np] != NULL)
		np++;
	if (t->signer == 2) {
		self = make(t->cn, t->san, t->from * DAY, t->to * DAY, NULL, 0);
		leaf = self;
	} else {
		leaf = make(t->cn, t->san, t->from * DAY, t->to * DAY, issuer, 0);
	}
	chain[0].der = leaf.der;
	chain[0].len = leaf.len;
	if (t->signer == 1) {
		chain[1].der = inter.der;
		chain[1].len = inter.len;
		n = 2;
	}
	r = gw_x509_check(store, chain, n, T0, t->host, t->pats, np, &info);
	if (r != t->want)
		fail_msg("%s: got %s (%s), want %s", t->what, gw_x509_result_name(r), info.reason,
		    gw_x509_result_name(t->want));
	assert_int_equal(info.result, r);
	if (r == GW_X509_OK) {
		assert_string_equal(info.reason, "");
		assert_string_equal(info.matched, t->matched ? t->matched : "");
	} else {
		assert_true(info.reason[0] != '\0');
	}
	if (r == GW_X509_HOST_MISMATCH || r == GW_X509_OK)
		assert_int_equal(info.verify_error, 0);
	else
		assert_true(info.verify_error != 0);
	assert_int_equal(info.self_signed, t->signer == 2);
	if (t->cn != NULL)
		assert_non_null(strstr(info.subject, t->cn));
	assert_non_null(strstr(info.issuer, t->signer == 2 ? t->cn : issuer == &inter ?
	    "Test Intermediate" : issuer == &other_root ? "Unknown Root" : "Test Root"));
	assert_int_equal(strlen(info.not_before), 20);
	assert_int_equal(strlen(info.not_after), 20);
	cred_free(&leaf);
}

static void
test_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(tcs) / sizeof(tcs[0]); i++)
		run_tc(&tcs[i]);
}

/* Subject, issuer, dates, reason texts of one leaf. */
static void
test_info_fields(void **state)
{
	struct cred leaf = make("mx.example.net", "DNS:mx.example.net", -400 * DAY, -35 * DAY, &root, 0);
	struct gw_x509_der d = { leaf.der, leaf.len };
	struct gw_x509_info info;

	(void)state;
	assert_int_equal(gw_x509_check(store, &d, 1, T0, "mx.example.net", NULL, 0, &info),
	    GW_X509_EXPIRED);
	assert_string_equal(info.subject, "CN=mx.example.net,O=Test");
	assert_string_equal(info.issuer, "CN=Test Root,O=Test");
	assert_string_equal(info.not_before, "2025-10-24T12:00:00Z");
	assert_string_equal(info.not_after, "2026-10-24T12:00:00Z");
	assert_string_equal(info.reason, "certificate expired 2026-10-24T12:00:00Z (depth 0)");
	assert_int_equal(info.depth, 0);
	/* The same chain a year earlier is fine: the time given is used. */
	assert_int_equal(gw_x509_check(store, &d, 1, T0 - 200 * DAY, "mx.example.net", NULL, 0, &info),
	    GW_X509_OK);
	assert_string_equal(gw_x509_result_name(GW_X509_EXPIRED), "expired");
	assert_string_equal(gw_x509_tlsrpt(GW_X509_EXPIRED), "certificate-expired");
	assert_string_equal(gw_x509_tlsrpt(GW_X509_NOT_TRUSTED), "certificate-not-trusted");
	assert_string_equal(gw_x509_tlsrpt(GW_X509_HOST_MISMATCH), "certificate-host-mismatch");
	assert_string_equal(gw_x509_tlsrpt(GW_X509_PARSE_ERROR), "validation-failure");
	assert_string_equal(gw_x509_tlsrpt(GW_X509_NOT_YET_VALID), "validation-failure");
	assert_null(gw_x509_tlsrpt(GW_X509_OK));
	cred_free(&leaf);
}

/* Garbage, truncated DER, trailing bytes, empty chain, bad intermediate. */
static void
test_parse_errors(void **state)
{
	struct cred leaf = make("mx.example.net", "DNS:mx.example.net", -30 * DAY, 300 * DAY, &root, 0);
	unsigned char *buf = malloc(leaf.len + 1);
	struct gw_x509_der d[2];
	struct gw_x509_info info;
	static const unsigned char junk[] = { 0x30, 0x82, 0xff, 0xff, 0x01 };

	(void)state;
	assert_non_null(buf);
	assert_int_equal(gw_x509_check(store, d, 0, T0, NULL, NULL, 0, &info), GW_X509_PARSE_ERROR);
	d[0].der = junk;
	d[0].len = sizeof(junk);
	assert_int_equal(gw_x509_check(store, d, 1, T0, NULL, NULL, 0, &info), GW_X509_PARSE_ERROR);
	assert_string_equal(info.subject, "");
	/* Every truncation of a good certificate. */
	for (size_t k = 0; k < leaf.len; k++) {
		unsigned char *cp = malloc(k ? k : 1);

		assert_non_null(cp);
		memcpy(cp, leaf.der, k);
		d[0].der = cp;
		d[0].len = k;
		assert_int_equal(gw_x509_check(store, d, 1, T0, NULL, NULL, 0, &info),
		    GW_X509_PARSE_ERROR);
		free(cp);
	}
	/* A trailing byte. */
	memcpy(buf, leaf.der, leaf.len);
	buf[leaf.len] = 0;
	d[0].der = buf;
	d[0].len = leaf.len + 1;
	assert_int_equal(gw_x509_check(store, d, 1, T0, NULL, NULL, 0, &info), GW_X509_PARSE_ERROR);
	/* Good leaf, garbage intermediate. */
	d[0].len = leaf.len;
	d[1].der = junk;
	d[1].len = sizeof(junk);
	assert_int_equal(gw_x509_check(store, d, 2, T0, NULL, NULL, 0, &info), GW_X509_PARSE_ERROR);
	assert_non_null(strstr(info.reason, "certificate 1"));
	/* Every byte flipped: any answer, never a crash. */
	for (size_t k = 0; k < leaf.len; k++) {
		buf[k] ^= 0x5a;
		gw_x509_check(store, d, 1, T0, "mx.example.net", NULL, 0, &info);
		buf[k] ^= 0x5a;
	}
	free(buf);
	cred_free(&leaf);
}

/* Stores: a directory, the system default, errors. */
static void
test_stores(void **state)
{
	struct cred leaf = make("mx.example.net", "DNS:mx.example.net", -30 * DAY, 300 * DAY, &root, 0);
	struct gw_x509_der d = { leaf.der, leaf.len };
	struct gw_x509_info info;
	struct gw_x509_store *st;
	char err[256];

	(void)state;
	st = gw_x509_store_new(ca_dir, err, sizeof(err));
	assert_non_null(st);
	assert_int_equal(gw_x509_check(st, &d, 1, T0, "mx.example.net", NULL, 0, &info), GW_X509_OK);
	gw_x509_store_free(st);
	if (access(GW_X509_CA_DEFAULT, R_OK) == 0) {
		st = gw_x509_store_new(NULL, err, sizeof(err));
		assert_non_null(st);
		/* Our test root is in no system store. */
		assert_int_equal(gw_x509_check(st, &d, 1, T0, "mx.example.net", NULL, 0, &info),
		    GW_X509_NOT_TRUSTED);
		gw_x509_store_free(st);
	}
	assert_null(gw_x509_store_new("/nonexistent/ca.pem", err, sizeof(err)));
	assert_non_null(strstr(err, "/nonexistent/ca.pem"));
	assert_null(gw_x509_store_new("/dev/null", err, sizeof(err)));
	assert_non_null(strstr(err, "no CA certificate"));
	cred_free(&leaf);
}

/* Name matching alone. */
static void
test_name_match(void **state)
{
	static const struct {
		const char *cert, *host;
		int want;
	} t[] = {
		{ "mx.example.net", "mx.example.net", 1 },
		{ "MX.example.net.", "mx.EXAMPLE.net", 1 },
		{ "*.example.net", "mx.example.net", 1 },
		{ "*.example.net", "a.b.example.net", 0 },
		{ "*.example.net", "example.net", 0 },
		{ "*.net", "example.net", 0 },
		{ "mx*.example.net", "mx1.example.net", 0 },
		{ "*mx.example.net", "amx.example.net", 0 },
		{ "m*x.example.net", "mx.example.net", 0 },
		{ ".example.net", "mx.example.net", 0 },
		{ "mx.example.net", "*.example.net", 0 },
		{ "", "", 0 },
		{ "mx.example.net", "mx.example.net.evil", 0 },
		{ "xn--bcher-kva.example", "XN--BCHER-KVA.example", 1 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (gw_x509_name_match(t[i].cert, t[i].host) != t[i].want)
			fail_msg("%s vs %s: want %d", t[i].cert, t[i].host, t[i].want);
}

/* A name with an embedded NUL ("mx.example.net\0.evil") never matches. */
static void
test_embedded_nul(void **state)
{
	struct cred c;
	X509_EXTENSION *e;
	GENERAL_NAMES *gens = GENERAL_NAMES_new();
	GENERAL_NAME *g = GENERAL_NAME_new();
	ASN1_IA5STRING *s = ASN1_IA5STRING_new();
	struct gw_x509_der d;
	struct gw_x509_info info;
	unsigned char *p;
	int n;

	(void)state;
	c = make(NULL, NULL, -30 * DAY, 300 * DAY, &root, 0);
	ASN1_STRING_set(s, "mx.example.net\0.evil.example", 28);
	GENERAL_NAME_set0_value(g, GEN_DNS, s);
	sk_GENERAL_NAME_push(gens, g);
	e = X509V3_EXT_i2d(NID_subject_alt_name, 0, gens);
	X509_add_ext(c.cert, e, -1);
	X509_EXTENSION_free(e);
	GENERAL_NAMES_free(gens);
	X509_sign(c.cert, root.key, EVP_sha256());
	free(c.der);
	n = i2d_X509(c.cert, NULL);
	c.der = malloc((size_t)n);
	p = c.der;
	i2d_X509(c.cert, &p);
	d.der = c.der;
	d.len = (size_t)n;
	assert_int_equal(gw_x509_check(store, &d, 1, T0, "mx.example.net", NULL, 0, &info),
	    GW_X509_HOST_MISMATCH);
	cred_free(&c);
}

/* Threads share one store. */
struct thr {
	const struct gw_x509_der *d;
	int bad;
};

static void *
thr_run(void *arg)
{
	struct thr *t = arg;
	struct gw_x509_info info;

	for (int i = 0; i < 200; i++)
		if (gw_x509_check(store, t->d, 2, T0, "mx.example.net", NULL, 0, &info) != GW_X509_OK)
			t->bad++;
	return NULL;
}

static void
test_threads(void **state)
{
	struct cred leaf = make("mx.example.net", "DNS:mx.example.net", -30 * DAY, 300 * DAY, &inter, 0);
	struct gw_x509_der d[2] = { { leaf.der, leaf.len }, { inter.der, inter.len } };
	pthread_t th[4];
	struct thr t[4];

	(void)state;
	for (int i = 0; i < 4; i++) {
		t[i].d = d;
		t[i].bad = 0;
		assert_int_equal(pthread_create(&th[i], NULL, thr_run, &t[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(t[i].bad, 0);
	}
	cred_free(&leaf);
}

/* The certificates of the real handshakes in tests/tls, as the engine will
 * see them: records -> tls_hs -> gw_x509, against tests/tls/ca.pem. */
static void
test_samples(void **state)
{
	const char *dir = getenv("STG_TLS_SAMPLES");
	char path[512], line[512], name[64], want[32];
	static uint8_t raw[65536], hs[65536];
	struct gw_x509_store *st;
	unsigned checked = 0;
	FILE *man;

	(void)state;
	if (dir == NULL || *dir == '\0')
		dir = "tests/tls";
	snprintf(path, sizeof(path), "%s/ca.pem", dir);
	st = gw_x509_store_new(path, line, sizeof(line));
	if (st == NULL)
		fail_msg("%s", line);
	snprintf(path, sizeof(path), "%s/MANIFEST", dir);
	man = fopen(path, "r");
	assert_non_null(man);
	while (fgets(line, sizeof(line), man) != NULL) {
		size_t n, off = 0, len = 0;
		struct tls_hs_msg m;
		struct tls_certs cs;
		struct gw_x509_der d[TLS_HS_CERTS_MAX];
		struct gw_x509_info info;
		static const char *const pats[] = { "mx.example.net" };
		FILE *fp;

		if (line[0] == '#' || sscanf(line, "%63s %*s %*s %*s %*s %*s cert=%31s", name, want) != 2)
			continue;
		if (strcmp(want, "hidden") == 0) /* TLS 1.3: encrypted */
			continue;
		snprintf(path, sizeof(path), "%s/%s.s2c", dir, name);
		fp = fopen(path, "rb");
		assert_non_null(fp);
		n = fread(raw, 1, sizeof(raw), fp);
		fclose(fp);
		/* Handshake records up to the ChangeCipherSpec. */
		while (n - off >= 5 && raw[off] != 20) {
			size_t rl = (size_t)raw[off + 3] << 8 | raw[off + 4];

			assert_true(rl <= n - off - 5);
			if (raw[off] == 22) {
				memcpy(hs + len, raw + off + 5, rl);
				len += rl;
			}
			off += 5 + rl;
		}
		off = 0;
		while (tls_hs_next(hs, len, &off, &m, NULL) == TLS_HS_OK)
			if (m.type == TLS_HS_T_CERTIFICATE)
				break;
		assert_int_equal(m.type, TLS_HS_T_CERTIFICATE);
		assert_int_equal(tls_hs_msg_certificate(&m, &cs), TLS_HS_OK);
		for (unsigned i = 0; i < cs.n; i++) {
			d[i].der = cs.cert[i].der;
			d[i].len = cs.cert[i].len;
		}
		gw_x509_check(st, d, cs.n, T0, "mx.example.net", pats, 1, &info);
		if (strcmp(gw_x509_result_name(info.result), want) != 0)
			fail_msg("%s: got %s (%s), want %s", name, gw_x509_result_name(info.result),
			    info.reason, want);
		checked++;
	}
	fclose(man);
	gw_x509_store_free(st);
	assert_true(checked >= 6);
}

/* ---- DANE (RFC 7672 3.1) ---- */

/* Certificate association data of c for selector sel and matching type mt
 * into out (room for a certificate); returns its length. */
static size_t
assoc(const struct cred *c, int sel, int mt, uint8_t *out)
{
	unsigned char *der = NULL, *p;
	int n;
	unsigned int dl = 0;
	size_t len;

	if (sel == 0) {
		n = i2d_X509(c->cert, NULL);
		der = malloc((size_t)n);
		p = der;
		i2d_X509(c->cert, &p);
	} else {
		n = i2d_PUBKEY(X509_get0_pubkey(c->cert), NULL);
		der = malloc((size_t)n);
		p = der;
		i2d_PUBKEY(X509_get0_pubkey(c->cert), &p);
	}
	assert_true(n > 0);
	if (mt == 0) {
		memcpy(out, der, (size_t)n);
		len = (size_t)n;
	} else {
		assert_true(EVP_Digest(der, (size_t)n, out, &dl, mt == 1 ? EVP_sha256() : EVP_sha512(),
		    NULL));
		len = dl;
	}
	free(der);
	return len;
}

/* A chain leaf (name, validity) <- inter <- root, sent leaf + inter. */
struct dane_chain {
	struct cred leaf;
	struct gw_x509_der d[2];
};

static void
dane_chain(struct dane_chain *c, const char *name, long from, long to)
{
	char san[128];

	snprintf(san, sizeof(san), "DNS:%s", name);
	c->leaf = make(name, san, from * DAY, to * DAY, &inter, 0);
	c->d[0].der = c->leaf.der;
	c->d[0].len = c->leaf.len;
	c->d[1].der = inter.der;
	c->d[1].len = inter.len;
}

/* Every usage x selector x matching type, at the leaf (EE) and at the
 * intermediate and root-less chain top (TA); then records that match
 * nothing, of the wrong length, and of the unusable PKIX usages. */
static void
test_dane_matrix(void **state)
{
	static uint8_t data[8192];
	struct dane_chain c;
	struct gw_x509_info info;
	struct pol_tlsa t;
	size_t usable;
	enum gw_x509_result r;

	(void)state;
	dane_chain(&c, "mx.example.net", -30, 300);
	for (int u = 2; u <= 3; u++)
		for (int sel = 0; sel <= 1; sel++)
			for (int mt = 0; mt <= 2; mt++) {
				const struct cred *who = u == 3 ? &c.leaf : &inter;

				t.usage = (uint8_t)u;
				t.selector = (uint8_t)sel;
				t.mtype = (uint8_t)mt;
				t.len = (uint16_t)assoc(who, sel, mt, data);
				t.data = data;
				r = gw_x509_dane_check(c.d, 2, T0, "mx.example.net", &t, 1, &info, &usable);
				if (r != GW_X509_OK)
					fail_msg("%d %d %d: %s (%s)", u, sel, mt, gw_x509_result_name(r),
					    info.reason);
				assert_int_equal(usable, 1);
				char want[64];
				snprintf(want, sizeof(want), "TLSA %d %d %d at depth %d", u, sel, mt,
				    u == 3 ? 0 : 1);
				assert_string_equal(info.matched, want);
				/* another key's record: no match */
				t.len = (uint16_t)assoc(&other_root, sel, mt, data);
				r = gw_x509_dane_check(c.d, 2, T0, "mx.example.net", &t, 1, &info, &usable);
				assert_int_equal(r, GW_X509_TLSA_MISMATCH);
				assert_string_equal(gw_x509_tlsrpt(r), "tlsa-invalid");
				assert_int_equal(info.verify_error, X509_V_ERR_DANE_NO_MATCH);
				if (mt != 0) {
					/* one bit off a digest: no match either */
					t.len = (uint16_t)assoc(who, sel, mt, data);
					data[t.len / 2] ^= 1;
					r = gw_x509_dane_check(c.d, 2, T0, "mx.example.net", &t, 1,
					    &info, &usable);
					assert_int_equal(r, GW_X509_TLSA_MISMATCH);
				}
				/* PKIX usages with the right data: unusable for SMTP */
				t.len = (uint16_t)assoc(who, sel, mt, data);
				t.usage = (uint8_t)(u - 2);
				r = gw_x509_dane_check(c.d, 2, T0, "mx.example.net", &t, 1, &info, &usable);
				assert_int_equal(r, GW_X509_OK);
				assert_int_equal(usable, 0);
				assert_non_null(strstr(info.reason, "no usable TLSA record"));
			}
	/* wrong lengths of the digests: unusable, so a set of only those
	 * authenticates nothing; next to a good record they do not matter */
	struct pol_tlsa two[2];
	two[0].usage = 3, two[0].selector = 1, two[0].mtype = 1;
	two[0].len = (uint16_t)assoc(&c.leaf, 1, 1, data);
	two[0].data = data;
	two[0].len = 31;
	r = gw_x509_dane_check(c.d, 2, T0, "mx.example.net", two, 1, &info, &usable);
	assert_int_equal(r, GW_X509_OK);
	assert_int_equal(usable, 0);
	two[1] = two[0];
	two[1].len = 32;
	r = gw_x509_dane_check(c.d, 2, T0, "mx.example.net", two, 2, &info, &usable);
	assert_int_equal(r, GW_X509_OK);
	assert_int_equal(usable, 1);
	assert_string_equal(info.matched, "TLSA 3 1 1 at depth 0");
	/* SHA-512 length 63, unknown matching type 3, selector 2, usage 4 */
	uint8_t d64[64] = { 0 };
	struct pol_tlsa bad[] = {
		{ 3, 1, 2, 63, d64 }, { 3, 1, 3, 32, d64 }, { 3, 2, 1, 32, d64 }, { 4, 1, 1, 32, d64 },
	};
	r = gw_x509_dane_check(c.d, 2, T0, "mx.example.net", bad, 4, &info, &usable);
	assert_int_equal(r, GW_X509_OK);
	assert_int_equal(usable, 0);
	cred_free(&c.leaf);
}

/* DANE-EE ignores names and dates; DANE-TA checks both and the chain. */
static void
test_dane_names_dates(void **state)
{
	static uint8_t ee[64], ta[64];
	struct dane_chain c;
	struct gw_x509_info info;
	struct pol_tlsa te = { 3, 1, 1, 0, ee }, tt = { 2, 1, 1, 0, ta };
	enum gw_x509_result r;
	struct cred self;
	struct gw_x509_der sd;

	(void)state;
	tt.len = (uint16_t)assoc(&inter, 1, 1, ta);
	/* wrong name, expired: EE still matches, TA does not */
	dane_chain(&c, "mail.other.example", -400, -30);
	te.len = (uint16_t)assoc(&c.leaf, 1, 1, ee);
	r = gw_x509_dane_check(c.d, 2, T0, "mx.example.net", &te, 1, &info, NULL);
	assert_int_equal(r, GW_X509_OK);
	r = gw_x509_dane_check(c.d, 2, T0, "mx.example.net", &tt, 1, &info, NULL);
	assert_int_equal(r, GW_X509_HOST_MISMATCH);
	r = gw_x509_dane_check(c.d, 2, T0, "mail.other.example", &tt, 1, &info, NULL);
	assert_int_equal(r, GW_X509_EXPIRED);
	assert_non_null(strstr(info.reason, "DANE-TA chain"));
	cred_free(&c.leaf);
	/* valid dates, wrong name: TA says host mismatch */
	dane_chain(&c, "mail.other.example", -30, 300);
	r = gw_x509_dane_check(c.d, 2, T0, "mx.example.net", &tt, 1, &info, NULL);
	assert_int_equal(r, GW_X509_HOST_MISMATCH);
	assert_string_equal(gw_x509_tlsrpt(r), "certificate-host-mismatch");
	r = gw_x509_dane_check(c.d, 2, T0, "mail.other.example", &tt, 1, &info, NULL);
	assert_int_equal(r, GW_X509_OK);
	/* no MX host known: TA cannot be name-checked */
	r = gw_x509_dane_check(c.d, 2, T0, NULL, &tt, 1, &info, NULL);
	assert_int_equal(r, GW_X509_HOST_MISMATCH);
	/* TA not in the chain sent (leaf only): a digest cannot match */
	r = gw_x509_dane_check(c.d, 1, T0, "mail.other.example", &tt, 1, &info, NULL);
	assert_int_equal(r, GW_X509_TLSA_MISMATCH);
	cred_free(&c.leaf);
	/* wildcard certificate under DANE-TA: one label only */
	dane_chain(&c, "*.example.net", -30, 300);
	assert_int_equal(gw_x509_dane_check(c.d, 2, T0, "mx.example.net", &tt, 1, &info, NULL),
	    GW_X509_OK);
	assert_int_equal(gw_x509_dane_check(c.d, 2, T0, "a.mx.example.net", &tt, 1, &info, NULL),
	    GW_X509_HOST_MISMATCH);
	cred_free(&c.leaf);
	/* a self-signed leaf pinned by DANE-EE (the common SMTP case) */
	self = make("localhost", NULL, -30, 300 * DAY, NULL, 0);
	sd.der = self.der;
	sd.len = self.len;
	te.len = (uint16_t)assoc(&self, 0, 2, ee);
	te.selector = 0;
	te.mtype = 2;
	assert_int_equal(gw_x509_dane_check(&sd, 1, T0, "mx.example.net", &te, 1, &info, NULL),
	    GW_X509_OK);
	assert_int_equal(gw_x509_check(store, &sd, 1, T0, "mx.example.net", NULL, 0, &info),
	    GW_X509_NOT_TRUSTED);
	/* garbage DER */
	uint8_t junk[40] = { 0x30, 0x03, 1, 2, 3 };
	sd.der = junk;
	sd.len = sizeof(junk);
	assert_int_equal(gw_x509_dane_check(&sd, 1, T0, "mx.example.net", &te, 1, &info, NULL),
	    GW_X509_PARSE_ERROR);
	assert_int_equal(gw_x509_dane_check(&sd, 0, T0, "mx.example.net", &te, 1, &info, NULL),
	    GW_X509_PARSE_ERROR);
	cred_free(&self);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_info_fields),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_stores),
		cmocka_unit_test(test_name_match),
		cmocka_unit_test(test_embedded_nul),
		cmocka_unit_test(test_threads),
		cmocka_unit_test(test_samples),
		cmocka_unit_test(test_dane_matrix),
		cmocka_unit_test(test_dane_names_dates),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
