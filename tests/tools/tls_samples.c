/*
 * tls_samples.c - real TLS handshakes for the unit tests, made by OpenSSL
 * over memory BIOs (no socket, no network).
 *
 *   tls_samples DIR
 *
 * Creates a test CA, an intermediate and server certificates (valid,
 * expired, self-signed, wrong name, wildcard), runs one client and one
 * server SSL against each other per case (TLS 1.0 and 1.1 at SECLEVEL=0,
 * 1.2, 1.3, a HelloRetryRequest) and writes, per case, the raw bytes each
 * side sent until the handshake completed: DIR/<case>.c2s and DIR/<case>.s2c.
 * DIR/ca.pem is the root, DIR/MANIFEST one line per case with what OpenSSL
 * negotiated (the unit tests compare the parser with it). Certificates are
 * dated around SAMPLE_TIME, the time the tests verify at. Run it again to
 * regenerate tests/tls/ (keys and randoms differ each run, facts do not).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

/* 2026-11-28T12:00:00Z, the time of the pcap fixtures. */
#define SAMPLE_TIME 1795867200L
#define DAY 86400L
/* Handshake bytes per direction we keep: far more than any case needs. */
#define CAP_MAX (256 * 1024)

/* Bytes one side sent. */
struct cap {
	unsigned char buf[CAP_MAX];
	size_t        len;
};

/* A key and its certificate. */
struct cred {
	EVP_PKEY *key;
	X509     *cert;
};

/* Print OpenSSL's errors and exit. */
static void
die(const char *what)
{
	fprintf(stderr, "tls_samples: %s\n", what);
	ERR_print_errors_fp(stderr);
	exit(1);
}

/* A fresh P-256 key. */
static EVP_PKEY *
new_key(void)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");

	if (k == NULL)
		die("key generation");
	return k;
}

/* Add an extension given in openssl.cnf syntax. */
static void
add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *e;

	X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
	if ((e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value)) == NULL)
		die("extension");
	X509_add_ext(x, e, -1);
	X509_EXTENSION_free(e);
}

/* Certificate for cn (SAN san unless NULL), valid [from, to] relative to
 * SAMPLE_TIME, signed by issuer (NULL = self-signed); ca: a CA cert. */
static struct cred
make_cert(const char *cn, const char *san, long from, long to,
    const struct cred *issuer, int ca, long serial)
{
	struct cred c = { new_key(), X509_new() };
	X509_NAME *name;
	time_t t;

	if (c.cert == NULL)
		die("X509_new");
	X509_set_version(c.cert, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(c.cert), serial);
	t = SAMPLE_TIME + from;
	X509_time_adj_ex(X509_getm_notBefore(c.cert), 0, 0, &t);
	t = SAMPLE_TIME + to;
	X509_time_adj_ex(X509_getm_notAfter(c.cert), 0, 0, &t);
	X509_set_pubkey(c.cert, c.key);
	name = X509_get_subject_name(c.cert);
	X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
	    (const unsigned char *)"starttls-guard tests", -1, -1, 0);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(c.cert, issuer ? X509_get_subject_name(issuer->cert) : name);
	if (ca) {
		add_ext(c.cert, issuer ? issuer->cert : c.cert, NID_basic_constraints, "critical,CA:TRUE");
		add_ext(c.cert, issuer ? issuer->cert : c.cert, NID_key_usage, "critical,keyCertSign,cRLSign");
	} else {
		add_ext(c.cert, issuer ? issuer->cert : c.cert, NID_basic_constraints, "CA:FALSE");
		add_ext(c.cert, issuer ? issuer->cert : c.cert, NID_ext_key_usage, "serverAuth");
	}
	add_ext(c.cert, issuer ? issuer->cert : c.cert, NID_subject_key_identifier, "hash");
	if (issuer != NULL)
		add_ext(c.cert, issuer->cert, NID_authority_key_identifier, "keyid");
	if (san != NULL)
		add_ext(c.cert, issuer ? issuer->cert : c.cert, NID_subject_alt_name, san);
	if (!X509_sign(c.cert, issuer ? issuer->key : c.key, EVP_sha256()))
		die("sign");
	return c;
}

/* Move what BIO from holds into to, appending a copy to cap. */
static void
pump(BIO *from, BIO *to, struct cap *cap)
{
	unsigned char b[4096];
	int n;

	while ((n = BIO_read(from, b, sizeof(b))) > 0) {
		if (cap->len + (size_t)n > sizeof(cap->buf))
			die("capture buffer full");
		memcpy(cap->buf + cap->len, b, (size_t)n);
		cap->len += (size_t)n;
		if (BIO_write(to, b, n) != n)
			die("BIO_write");
	}
}

/* Write n bytes to dir/name. */
static void
write_file(const char *dir, const char *name, const void *p, size_t n)
{
	char path[1024];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((fp = fopen(path, "wb")) == NULL || fwrite(p, 1, n, fp) != n || fclose(fp) != 0) {
		perror(path);
		exit(1);
	}
}

/* One handshake case. */
struct scase {
	const char *name;       /* file prefix */
	int         version;    /* TLS1_VERSION ... TLS1_3_VERSION */
	const char *sni;        /* client's SNI, NULL = none */
	int         cred;       /* index into the server credentials */
	int         hrr;        /* make the server ask for another key share */
	const char *cert_case;  /* what gw_x509 should say at SAMPLE_TIME (MANIFEST) */
};

enum { CR_VALID, CR_EXPIRED, CR_SELF, CR_WRONG, CR_WILD, CR_COUNT };

/* Run one case; append its MANIFEST line to man. */
static void
run_case(const char *dir, const struct scase *sc, const struct cred *srv,
    X509 *inter, FILE *man)
{
	static struct cap c2s, s2c;
	SSL_CTX *cctx = NULL, *sctx = NULL;
	SSL *cl, *sv;
	BIO *c_in, *c_out, *s_in, *s_out;
	char fname[256];
	int done = 0;

	c2s.len = s2c.len = 0;
	if ((cctx = SSL_CTX_new(TLS_client_method())) == NULL ||
	    (sctx = SSL_CTX_new(TLS_server_method())) == NULL)
		die("SSL_CTX_new");
	SSL_CTX_set_min_proto_version(cctx, sc->version);
	SSL_CTX_set_max_proto_version(cctx, sc->version);
	SSL_CTX_set_min_proto_version(sctx, TLS1_VERSION);
	SSL_CTX_set_max_proto_version(sctx, TLS1_3_VERSION);
	if (sc->version < TLS1_2_VERSION) {
		SSL_CTX_set_security_level(cctx, 0);
		SSL_CTX_set_security_level(sctx, 0);
		SSL_CTX_set_cipher_list(cctx, "DEFAULT:@SECLEVEL=0");
		SSL_CTX_set_cipher_list(sctx, "DEFAULT:@SECLEVEL=0");
	}
	if (sc->hrr) {
		/* The client's first key share is X25519; the server takes
		 * only P-256: it must send a HelloRetryRequest. */
		SSL_CTX_set1_groups_list(cctx, "X25519:P-256");
		SSL_CTX_set1_groups_list(sctx, "P-256");
	}
	SSL_CTX_set_verify(cctx, SSL_VERIFY_NONE, NULL);
	if (SSL_CTX_use_certificate(sctx, srv[sc->cred].cert) != 1 ||
	    SSL_CTX_use_PrivateKey(sctx, srv[sc->cred].key) != 1)
		die("server credentials");
	if (sc->cred == CR_VALID && inter != NULL && SSL_CTX_add1_chain_cert(sctx, inter) != 1)
		die("chain");

	cl = SSL_new(cctx);
	sv = SSL_new(sctx);
	c_in = BIO_new(BIO_s_mem());
	c_out = BIO_new(BIO_s_mem());
	s_in = BIO_new(BIO_s_mem());
	s_out = BIO_new(BIO_s_mem());
	if (!cl || !sv || !c_in || !c_out || !s_in || !s_out)
		die("SSL_new");
	BIO_set_mem_eof_return(c_in, -1);
	BIO_set_mem_eof_return(s_in, -1);
	SSL_set_bio(cl, c_in, c_out);
	SSL_set_bio(sv, s_in, s_out);
	SSL_set_connect_state(cl);
	SSL_set_accept_state(sv);
	if (sc->sni != NULL)
		SSL_set_tlsext_host_name(cl, sc->sni);

	for (int round = 0; round < 20 && done != 3; round++) {
		int r;

		r = SSL_do_handshake(cl);
		if (r == 1)
			done |= 1;
		else if (SSL_get_error(cl, r) != SSL_ERROR_WANT_READ)
			die(sc->name);
		pump(c_out, s_in, &c2s);
		r = SSL_do_handshake(sv);
		if (r == 1)
			done |= 2;
		else if (SSL_get_error(sv, r) != SSL_ERROR_WANT_READ)
			die(sc->name);
		pump(s_out, c_in, &s2c);
	}
	if (done != 3)
		die("handshake did not complete");

	snprintf(fname, sizeof(fname), "%s.c2s", sc->name);
	write_file(dir, fname, c2s.buf, c2s.len);
	snprintf(fname, sizeof(fname), "%s.s2c", sc->name);
	write_file(dir, fname, s2c.buf, s2c.len);
	fprintf(man, "%s version=0x%04x cipher=0x%04x sni=%s certs=%d hrr=%d cert=%s\n",
	    sc->name, (unsigned)SSL_version(cl),
	    (unsigned)SSL_CIPHER_get_protocol_id(SSL_get_current_cipher(cl)),
	    sc->sni ? sc->sni : "-",
	    sc->cred == CR_VALID && inter != NULL ? 2 : 1, sc->hrr, sc->cert_case);
	SSL_free(cl);
	SSL_free(sv);
	SSL_CTX_free(cctx);
	SSL_CTX_free(sctx);
}

int
main(int argc, char **argv)
{
	static const struct scase cases[] = {
		{ "tls10",          TLS1_VERSION,   "mx.example.net", CR_VALID,   0, "ok" },
		{ "tls11",          TLS1_1_VERSION, "mx.example.net", CR_VALID,   0, "ok" },
		{ "tls12",          TLS1_2_VERSION, "mx.example.net", CR_VALID,   0, "ok" },
		{ "tls12_nosni",    TLS1_2_VERSION, NULL,             CR_VALID,   0, "ok" },
		{ "tls12_expired",  TLS1_2_VERSION, "mx.example.net", CR_EXPIRED, 0, "expired" },
		{ "tls12_selfsigned", TLS1_2_VERSION, "mx.example.net", CR_SELF,  0, "not_trusted" },
		{ "tls12_wrongname", TLS1_2_VERSION, "mx.example.net", CR_WRONG,  0, "host_mismatch" },
		{ "tls12_wildcard", TLS1_2_VERSION, "mx.example.net", CR_WILD,    0, "ok" },
		{ "tls13",          TLS1_3_VERSION, "mx.example.net", CR_VALID,   0, "hidden" },
		{ "tls13_hrr",      TLS1_3_VERSION, "mx.example.net", CR_VALID,   1, "hidden" },
	};
	struct cred root, inter, srv[CR_COUNT];
	FILE *man, *fp;
	char path[1024];

	if (argc != 2) {
		fprintf(stderr, "usage: tls_samples DIR\n");
		return 2;
	}
	root = make_cert("Test Root CA", NULL, -3650 * DAY, 3650 * DAY, NULL, 1, 1);
	inter = make_cert("Test Intermediate CA", NULL, -1000 * DAY, 1000 * DAY, &root, 1, 2);
	srv[CR_VALID] = make_cert("mx.example.net", "DNS:mx.example.net",
	    -30 * DAY, 365 * DAY, &inter, 0, 10);
	srv[CR_EXPIRED] = make_cert("mx.example.net", "DNS:mx.example.net",
	    -400 * DAY, -35 * DAY, &root, 0, 11);
	srv[CR_SELF] = make_cert("mx.example.net", "DNS:mx.example.net",
	    -30 * DAY, 365 * DAY, NULL, 0, 12);
	srv[CR_WRONG] = make_cert("mail.other.example", "DNS:mail.other.example",
	    -30 * DAY, 365 * DAY, &root, 0, 13);
	srv[CR_WILD] = make_cert("*.example.net", "DNS:*.example.net",
	    -30 * DAY, 365 * DAY, &root, 0, 14);

	snprintf(path, sizeof(path), "%s/ca.pem", argv[1]);
	if ((fp = fopen(path, "w")) == NULL || !PEM_write_X509(fp, root.cert) || fclose(fp) != 0) {
		perror(path);
		return 1;
	}
	snprintf(path, sizeof(path), "%s/MANIFEST", argv[1]);
	if ((man = fopen(path, "w")) == NULL) {
		perror(path);
		return 1;
	}
	fprintf(man, "# made by tests/tools/tls_samples.c; verify at %ld (2026-11-28T12:00:00Z)\n",
	    SAMPLE_TIME);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		run_case(argv[1], &cases[i], srv, inter.cert, man);
	if (fclose(man) != 0) {
		perror(path);
		return 1;
	}
	return 0;
}
