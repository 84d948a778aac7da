/*
 * test_tls_hs.c - unit tests for inspect/tls_hs.c (handshake messages).
 *
 * Real handshakes first: tests/tls/<case>.{c2s,s2c} were made by OpenSSL
 * (tests/tools/tls_samples.c) for TLS 1.0 to 1.3, and tests/tls/MANIFEST
 * says what OpenSSL negotiated; the parser must find the same. Then every
 * message is fed split at every byte, cut at every byte and with every byte
 * overwritten, each time in a heap copy of exactly the bytes given, so the
 * sanitizer build catches any read past them. Hand-made messages cover
 * GREASE, SCSV, long SNI, HRR, downgrade sentinels and broken lengths.
 * The samples are read from $STG_TLS_SAMPLES or tests/tls.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "inspect/tls_hs.h"

/* Bytes of one sample file and the handshake bytes taken from it. */
#define SAMPLE_MAX (64 * 1024)

/* One MANIFEST line. */
struct sample {
	char     name[64];
	unsigned version, cipher, certs, hrr;
	char     sni[256];  /* "" = none */
	char     cert[32];
};

#define SAMPLES_MAX 32
static struct sample samples[SAMPLES_MAX];
static size_t nsamples;

/* Directory of the samples. */
static const char *
sample_dir(void)
{
	const char *d = getenv("STG_TLS_SAMPLES");

	return d != NULL && *d != '\0' ? d : "tests/tls";
}

/* Read dir/name into buf; returns the length (fails the test if missing). */
static size_t
read_sample(const char *name, uint8_t *buf, size_t max)
{
	char path[512];
	FILE *fp;
	size_t n;

	snprintf(path, sizeof(path), "%s/%s", sample_dir(), name);
	if ((fp = fopen(path, "rb")) == NULL)
		fail_msg("%s: cannot open (run from the source tree or set STG_TLS_SAMPLES)", path);
	n = fread(buf, 1, max, fp);
	fclose(fp);
	return n;
}

/* Load the MANIFEST once. */
static int
setup_samples(void **state)
{
	char path[512], line[512];
	FILE *fp;

	(void)state;
	snprintf(path, sizeof(path), "%s/MANIFEST", sample_dir());
	if ((fp = fopen(path, "r")) == NULL) {
		fprintf(stderr, "%s: cannot open\n", path);
		return -1;
	}
	while (fgets(line, sizeof(line), fp) != NULL && nsamples < SAMPLES_MAX) {
		struct sample *s = &samples[nsamples];

		if (line[0] == '#')
			continue;
		if (sscanf(line, "%63s version=%x cipher=%x sni=%255s certs=%u hrr=%u cert=%31s",
		    s->name, &s->version, &s->cipher, s->sni, &s->certs, &s->hrr, s->cert) != 7) {
			fprintf(stderr, "%s: bad line: %s", path, line);
			fclose(fp);
			return -1;
		}
		if (strcmp(s->sni, "-") == 0)
			s->sni[0] = '\0';
		nsamples++;
	}
	fclose(fp);
	return nsamples > 0 ? 0 : -1;
}

/*
 * Concatenate the payloads of the cleartext handshake records of one
 * direction, the way the engine will: stop at an application-data record,
 * and at ChangeCipherSpec unless TLS 1.3 (where CCS is a dummy and an HRR
 * is followed by a cleartext ServerHello). Returns the length in out.
 */
static size_t
handshake_bytes(const uint8_t *rec, size_t n, int tls13, uint8_t *out, size_t max)
{
	size_t off = 0, len = 0;

	while (n - off >= 5) {
		size_t rlen = (size_t)rec[off + 3] << 8 | rec[off + 4];

		assert_true(rlen <= n - off - 5);
		if (rec[off] == 23 || (rec[off] == 20 && !tls13))
			break;
		if (rec[off] == 22) {
			assert_true(len + rlen <= max);
			memcpy(out + len, rec + off + 5, rlen);
			len += rlen;
		}
		off += 5 + rlen;
	}
	return len;
}

/* Load one direction of a sample as handshake bytes. */
static size_t
load_hs(const struct sample *s, const char *ext, uint8_t *out)
{
	static uint8_t raw[SAMPLE_MAX];
	char name[128];
	size_t n;

	snprintf(name, sizeof(name), "%s.%s", s->name, ext);
	n = read_sample(name, raw, sizeof(raw));
	assert_true(n > 0);
	return handshake_bytes(raw, n, s->version == TLS_V_1_3, out, SAMPLE_MAX);
}

/* ClientHellos of every sample. */
static void
test_samples_client_hello(void **state)
{
	static uint8_t hs[SAMPLE_MAX];

	(void)state;
	for (size_t i = 0; i < nsamples; i++) {
		const struct sample *s = &samples[i];
		struct tls_client_hello ch;
		struct tls_hs_msg m;
		size_t len = load_hs(s, "c2s", hs), off = 0, need = 99;
		int found = 0;

		assert_int_equal(tls_hs_next(hs, len, &off, &m, &need), TLS_HS_OK);
		assert_int_equal(m.type, TLS_HS_T_CLIENT_HELLO);
		assert_int_equal(need, 0);
		if (tls_hs_msg_client_hello(&m, &ch) != TLS_HS_OK)
			fail_msg("%s: ClientHello refused", s->name);
		assert_int_equal(ch.max_version, s->version);
		if (s->version == TLS_V_1_3) {
			/* 1.3 hides behind legacy 1.2 and says so in supported_versions. */
			assert_int_equal(ch.legacy_version, TLS_V_1_2);
			assert_true(ch.flags & TLS_CH_F_VERSIONS);
			assert_int_equal(ch.versions[0], TLS_V_1_3);
		} else {
			assert_int_equal(ch.legacy_version, s->version);
		}
		assert_false(ch.flags & TLS_CH_F_SCSV);
		assert_true(ch.flags & TLS_CH_F_EXTENSIONS);
		if (s->sni[0] != '\0') {
			assert_true(ch.flags & TLS_CH_F_SNI);
			assert_string_equal(ch.sni, s->sni);
			assert_int_equal(ch.sni_len, strlen(s->sni));
		} else {
			assert_false(ch.flags & TLS_CH_F_SNI);
			assert_int_equal(ch.sni_len, 0);
		}
		assert_true(ch.nciphers > 0);
		assert_int_equal(ch.nciphers_kept,
		    ch.nciphers < TLS_HS_CIPHERS_MAX ? ch.nciphers : TLS_HS_CIPHERS_MAX);
		for (unsigned k = 0; k < ch.nciphers_kept; k++)
			found |= ch.ciphers[k] == s->cipher;
		if (ch.nciphers <= TLS_HS_CIPHERS_MAX && !found)
			fail_msg("%s: negotiated 0x%04x not among the offered", s->name, s->cipher);
		/* TLS 1.3's second ClientHello after an HRR. */
		if (s->hrr) {
			assert_int_equal(tls_hs_next(hs, len, &off, &m, &need), TLS_HS_OK);
			assert_int_equal(tls_hs_msg_client_hello(&m, &ch), TLS_HS_OK);
			assert_int_equal(ch.max_version, TLS_V_1_3);
		}
	}
}

/* ServerHellos (and HRR) and TLS <= 1.2 certificates of every sample. */
static void
test_samples_server(void **state)
{
	static uint8_t hs[SAMPLE_MAX];

	(void)state;
	for (size_t i = 0; i < nsamples; i++) {
		const struct sample *s = &samples[i];
		struct tls_server_hello sh;
		struct tls_certs cs;
		struct tls_hs_msg m;
		size_t len = load_hs(s, "s2c", hs), off = 0;
		int rc, saw_cert = 0, saw_done = 0;

		assert_int_equal(tls_hs_next(hs, len, &off, &m, NULL), TLS_HS_OK);
		assert_int_equal(tls_hs_msg_server_hello(&m, &sh), TLS_HS_OK);
		if (s->hrr) {
			assert_true(sh.flags & TLS_SH_F_HRR);
			assert_int_equal(sh.version, TLS_V_1_3);
			assert_int_equal(tls_hs_next(hs, len, &off, &m, NULL), TLS_HS_OK);
			assert_int_equal(tls_hs_msg_server_hello(&m, &sh), TLS_HS_OK);
		}
		assert_false(sh.flags & TLS_SH_F_HRR);
		if (sh.version != s->version || sh.cipher != s->cipher)
			fail_msg("%s: got version 0x%04x cipher 0x%04x", s->name, sh.version, sh.cipher);
		assert_int_equal(sh.compression, 0);
		if (s->version == TLS_V_1_3) {
			assert_int_equal(sh.legacy_version, TLS_V_1_2);
			assert_true(sh.flags & TLS_SH_F_VERSIONS);
			/* Nothing else in cleartext: the certificate is encrypted. */
			assert_int_equal(off, len);
			continue;
		}
		assert_int_equal(sh.legacy_version, s->version);
		/* The server allows 1.3: a lower version carries the sentinel. */
		assert_true(sh.flags & (s->version == TLS_V_1_2 ? TLS_SH_F_DOWN12 : TLS_SH_F_DOWN11));
		while ((rc = tls_hs_next(hs, len, &off, &m, NULL)) == TLS_HS_OK) {
			if (m.type == TLS_HS_T_CERTIFICATE) {
				assert_int_equal(tls_hs_msg_certificate(&m, &cs), TLS_HS_OK);
				assert_int_equal(cs.total, s->certs);
				assert_int_equal(cs.n, s->certs);
				for (unsigned k = 0; k < cs.n; k++) {
					const uint8_t *d = cs.cert[k].der;

					/* DER SEQUENCE with a 2-byte length covering it all. */
					assert_int_equal(d[0], 0x30);
					assert_int_equal(d[1], 0x82);
					assert_int_equal(((size_t)d[2] << 8 | d[3]) + 4, cs.cert[k].len);
					assert_true(d >= hs && d + cs.cert[k].len <= hs + len);
				}
				saw_cert = 1;
			}
			if (m.type == TLS_HS_T_SERVER_DONE)
				saw_done = 1;
			assert_int_equal(tls_hs_msg_certificate(&m, &cs),
			    m.type == TLS_HS_T_CERTIFICATE ? TLS_HS_OK : TLS_HS_ETYPE);
		}
		assert_int_equal(rc, TLS_HS_EMORE);
		assert_int_equal(off, len);
		assert_true(saw_cert && saw_done);
	}
}

/* Message boundaries of buf, in one pass. */
static size_t
boundaries(const uint8_t *buf, size_t len, size_t *ends, size_t max)
{
	struct tls_hs_msg m;
	size_t off = 0, n = 0;

	while (n < max && tls_hs_next(buf, len, &off, &m, NULL) == TLS_HS_OK)
		ends[n++] = off;
	return n;
}

/* Every prefix of a direction's handshake bytes: the walk reports exactly
 * the messages complete in it, and the need it reports is exact. */
static void
test_walk_every_prefix(void **state)
{
	static uint8_t hs[SAMPLE_MAX];

	(void)state;
	for (size_t i = 0; i < nsamples; i++) {
		for (int dir = 0; dir < 2; dir++) {
			size_t len = load_hs(&samples[i], dir ? "s2c" : "c2s", hs);
			size_t ends[64], nend = boundaries(hs, len, ends, 64);

			assert_true(nend >= 1);
			assert_int_equal(ends[nend - 1], len);
			for (size_t l = 0; l <= len; l++) {
				uint8_t *cp = malloc(l ? l : 1);
				struct tls_hs_msg m;
				size_t off = 0, need = 0, got = 0, start;
				int rc;

				assert_non_null(cp);
				memcpy(cp, hs, l);
				while ((rc = tls_hs_next(cp, l, &off, &m, &need)) == TLS_HS_OK) {
					assert_int_equal(off, ends[got]);
					got++;
				}
				assert_int_equal(rc, TLS_HS_EMORE);
				start = got ? ends[got - 1] : 0;
				assert_int_equal(off, start);
				assert_true(need >= 1);
				if (l - start >= TLS_HS_HDR_LEN) /* header known: exact */
					assert_int_equal(l + need, ends[got]);
				else
					assert_int_equal(need, TLS_HS_HDR_LEN - (l - start));
				free(cp);
			}
		}
	}
}

/* Run every reader on body[0..n) in a heap copy of exactly n bytes. */
static int
parse_copy(int type, const uint8_t *body, size_t n)
{
	uint8_t *cp = malloc(n ? n : 1);
	struct tls_client_hello ch;
	struct tls_server_hello sh;
	struct tls_certs cs;
	int rc;

	assert_non_null(cp);
	memcpy(cp, body, n);
	if (type == TLS_HS_T_CLIENT_HELLO)
		rc = tls_hs_client_hello(cp, n, &ch);
	else if (type == TLS_HS_T_SERVER_HELLO)
		rc = tls_hs_server_hello(cp, n, &sh);
	else if (type == TLS_HS_T_CERTIFICATE) {
		rc = tls_hs_certificate(cp, n, &cs);
		if (rc == TLS_HS_OK)
			for (unsigned k = 0; k < cs.n; k++)
				assert_true(cs.cert[k].der >= cp &&
				    cs.cert[k].der + cs.cert[k].len <= cp + n);
	} else
		rc = TLS_HS_ETYPE;
	free(cp);
	assert_true(rc == TLS_HS_OK || (rc <= TLS_HS_ETRUNC && rc >= TLS_HS_ETYPE));
	return rc;
}

/* Each message of each sample: cut at every byte, every byte set to 0x00
 * and 0xff. A cut message is refused, except a hello cut exactly where its
 * (optional) extensions begin; nothing reads out of bounds. */
static void
test_samples_hostile(void **state)
{
	static uint8_t hs[SAMPLE_MAX], mut[SAMPLE_MAX];

	(void)state;
	for (size_t i = 0; i < nsamples; i++) {
		for (int dir = 0; dir < 2; dir++) {
			size_t len = load_hs(&samples[i], dir ? "s2c" : "c2s", hs), off = 0;
			struct tls_hs_msg m;

			while (tls_hs_next(hs, len, &off, &m, NULL) == TLS_HS_OK) {
				unsigned ok_cuts = 0;

				if (m.type != TLS_HS_T_CLIENT_HELLO && m.type != TLS_HS_T_SERVER_HELLO &&
				    m.type != TLS_HS_T_CERTIFICATE)
					continue;
				assert_int_equal(parse_copy(m.type, m.body, m.len), TLS_HS_OK);
				for (size_t k = 0; k < m.len; k++)
					ok_cuts += parse_copy(m.type, m.body, k) == TLS_HS_OK;
				assert_true(ok_cuts <= (m.type == TLS_HS_T_CERTIFICATE ? 0u : 1u));
				memcpy(mut, m.body, m.len);
				for (size_t k = 0; k < m.len; k++) {
					uint8_t saved = mut[k];

					mut[k] = 0xff;
					parse_copy(m.type, mut, m.len);
					mut[k] = 0x00;
					parse_copy(m.type, mut, m.len);
					mut[k] = saved;
				}
			}
		}
	}
}

/* Build a handshake message header. */
static size_t
put_hdr(uint8_t *p, uint8_t type, size_t len)
{
	p[0] = type;
	p[1] = (uint8_t)(len >> 16);
	p[2] = (uint8_t)(len >> 8);
	p[3] = (uint8_t)len;
	return 4;
}

/* Announced lengths: huge, just over the limit, at the limit. */
static void
test_walk_lengths(void **state)
{
	uint8_t b[8] = { 0 };
	struct tls_hs_msg m;
	size_t off = 0, need = 0;

	(void)state;
	put_hdr(b, TLS_HS_T_CERTIFICATE, 0xffffff);
	assert_int_equal(tls_hs_next(b, sizeof(b), &off, &m, &need), TLS_HS_ETOOBIG);
	assert_int_equal(off, 0);
	put_hdr(b, TLS_HS_T_CERTIFICATE, TLS_HS_MSG_MAX + 1);
	assert_int_equal(tls_hs_next(b, sizeof(b), &off, &m, &need), TLS_HS_ETOOBIG);
	put_hdr(b, TLS_HS_T_CERTIFICATE, TLS_HS_MSG_MAX);
	assert_int_equal(tls_hs_next(b, sizeof(b), &off, &m, &need), TLS_HS_EMORE);
	assert_int_equal(need, TLS_HS_MSG_MAX - 4);
	/* An empty body is a complete message (ServerHelloDone). */
	put_hdr(b, TLS_HS_T_SERVER_DONE, 0);
	assert_int_equal(tls_hs_next(b, 4, &off, &m, &need), TLS_HS_OK);
	assert_int_equal(off, 4);
	assert_int_equal(m.len, 0);
	assert_int_equal(tls_hs_next(b, 4, &off, &m, &need), TLS_HS_EMORE);
	assert_int_equal(need, 4);
	/* An offset past the end is the caller's bug, reported not followed. */
	off = 9;
	assert_int_equal(tls_hs_next(b, 4, &off, &m, &need), TLS_HS_ELEN);
	/* Hello bodies with lengths far beyond what is there. */
	memset(b, 0xff, sizeof(b));
	assert_true(parse_copy(TLS_HS_T_CLIENT_HELLO, b, sizeof(b)) < 0);
	assert_true(parse_copy(TLS_HS_T_SERVER_HELLO, b, sizeof(b)) < 0);
	assert_true(parse_copy(TLS_HS_T_CERTIFICATE, b, sizeof(b)) < 0);
	assert_true(parse_copy(TLS_HS_T_CLIENT_HELLO, b, 0) < 0);
	assert_true(parse_copy(TLS_HS_T_SERVER_HELLO, b, 0) < 0);
	assert_true(parse_copy(TLS_HS_T_CERTIFICATE, b, 0) < 0);
}

/* A ClientHello writer for the hand-made cases. */
struct chb {
	uint8_t b[2048];
	size_t  n;
};

static void
put8(struct chb *c, unsigned v)
{
	assert_true(c->n < sizeof(c->b));
	c->b[c->n++] = (uint8_t)v;
}

static void
put16(struct chb *c, unsigned v)
{
	put8(c, v >> 8);
	put8(c, v);
}

static void
putn(struct chb *c, const void *p, size_t n)
{
	assert_true(c->n + n <= sizeof(c->b));
	memcpy(c->b + c->n, p, n);
	c->n += n;
}

/* Hello prefix: version, random, session id of sid bytes. */
static void
hello_head(struct chb *c, unsigned version, const uint8_t *random, size_t sid)
{
	uint8_t zero[64] = { 0 };

	c->n = 0;
	put16(c, version);
	putn(c, random ? random : zero, 32);
	put8(c, (unsigned)sid);
	putn(c, zero, sid);
}

/* ClientHello with given suites and a raw extensions block (NULL = none). */
static void
make_ch(struct chb *c, const uint16_t *cs, size_t ncs, const uint8_t *ext, size_t extlen)
{
	hello_head(c, TLS_V_1_2, NULL, 32);
	put16(c, (unsigned)(2 * ncs));
	for (size_t i = 0; i < ncs; i++)
		put16(c, cs[i]);
	put8(c, 1);
	put8(c, 0);
	if (ext != NULL) {
		put16(c, (unsigned)extlen);
		putn(c, ext, extlen);
	}
}

/* Hand-made ClientHellos: GREASE, SCSV, no extensions, long SNI, bad lengths. */
static void
test_client_hello_crafted(void **state)
{
	static const uint16_t cs[] = { 0x0a0a, 0x1301, 0xc02f, TLS_CS_FALLBACK_SCSV };
	struct tls_client_hello ch;
	struct chb c;
	uint8_t ext[600];
	size_t e;

	(void)state;
	/* No extensions at all (SSLv3-style hello). */
	make_ch(&c, cs, 4, NULL, 0);
	assert_int_equal(tls_hs_client_hello(c.b, c.n, &ch), TLS_HS_OK);
	assert_int_equal(ch.max_version, TLS_V_1_2);
	assert_int_equal(ch.nciphers, 4);
	assert_true(ch.flags & TLS_CH_F_SCSV);
	assert_false(ch.flags & TLS_CH_F_EXTENSIONS);
	assert_int_equal(ch.ciphers[1], 0x1301);
	/* supported_versions with GREASE first, then 1.3 and 1.2. */
	e = 0;
	ext[e++] = 0x00; ext[e++] = 0x2b; ext[e++] = 0; ext[e++] = 7;
	ext[e++] = 6; ext[e++] = 0x7a; ext[e++] = 0x7a; ext[e++] = 0x03; ext[e++] = 0x04;
	ext[e++] = 0x03; ext[e++] = 0x03;
	make_ch(&c, cs, 2, ext, e);
	assert_int_equal(tls_hs_client_hello(c.b, c.n, &ch), TLS_HS_OK);
	assert_int_equal(ch.nversions, 2);
	assert_int_equal(ch.versions[0], TLS_V_1_3);
	assert_int_equal(ch.max_version, TLS_V_1_3);
	assert_false(ch.flags & TLS_CH_F_SCSV);
	/* Odd supported_versions length. */
	ext[4] = 5;
	make_ch(&c, cs, 2, ext, e);
	assert_int_equal(tls_hs_client_hello(c.b, c.n, &ch), TLS_HS_ELEN);
	/* GREASE only: the legacy field stands. */
	e = 0;
	ext[e++] = 0x00; ext[e++] = 0x2b; ext[e++] = 0; ext[e++] = 3;
	ext[e++] = 2; ext[e++] = 0x1a; ext[e++] = 0x1a;
	make_ch(&c, cs, 2, ext, e);
	assert_int_equal(tls_hs_client_hello(c.b, c.n, &ch), TLS_HS_OK);
	assert_int_equal(ch.nversions, 0);
	assert_int_equal(ch.max_version, TLS_V_1_2);
	/* A 300-byte host name is cut to TLS_HS_SNI_MAX and flagged. */
	e = 0;
	ext[e++] = 0x00; ext[e++] = 0x00; ext[e++] = (305 >> 8); ext[e++] = 305 & 0xff;
	ext[e++] = (303 >> 8); ext[e++] = 303 & 0xff;
	ext[e++] = 0; ext[e++] = (300 >> 8); ext[e++] = 300 & 0xff;
	memset(ext + e, 'a', 300);
	e += 300;
	make_ch(&c, cs, 2, ext, e);
	assert_int_equal(tls_hs_client_hello(c.b, c.n, &ch), TLS_HS_OK);
	assert_true(ch.flags & TLS_CH_F_SNI_CUT);
	assert_int_equal(ch.sni_len, TLS_HS_SNI_MAX);
	assert_int_equal(strlen(ch.sni), TLS_HS_SNI_MAX);
	/* SNI whose name runs past its list. */
	ext[8] = 0x40;
	make_ch(&c, cs, 2, ext, e);
	assert_int_equal(tls_hs_client_hello(c.b, c.n, &ch), TLS_HS_ETRUNC);
	/* Empty server_name list. */
	e = 0;
	ext[e++] = 0x00; ext[e++] = 0x00; ext[e++] = 0; ext[e++] = 2; ext[e++] = 0; ext[e++] = 0;
	make_ch(&c, cs, 2, ext, e);
	assert_int_equal(tls_hs_client_hello(c.b, c.n, &ch), TLS_HS_ELEN);
	/* An extension announcing more than the block holds. */
	e = 0;
	ext[e++] = 0x00; ext[e++] = 0x17; ext[e++] = 0xff; ext[e++] = 0xff;
	make_ch(&c, cs, 2, ext, e);
	assert_int_equal(tls_hs_client_hello(c.b, c.n, &ch), TLS_HS_ETRUNC);
	/* Bytes after the extensions block. */
	e = 0;
	make_ch(&c, cs, 2, ext, 0);
	put8(&c, 0);
	assert_int_equal(tls_hs_client_hello(c.b, c.n, &ch), TLS_HS_ELEN);
	/* Odd cipher suites length, zero compression methods, long session id. */
	make_ch(&c, cs, 2, NULL, 0);
	c.b[2 + 32 + 1 + 32 + 1] = 3;
	assert_true(tls_hs_client_hello(c.b, c.n, &ch) < 0);
	make_ch(&c, cs, 2, NULL, 0);
	c.b[c.n - 2] = 0;
	assert_true(tls_hs_client_hello(c.b, c.n, &ch) < 0);
	hello_head(&c, TLS_V_1_2, NULL, 33);
	put16(&c, 2); put16(&c, 0x002f); put8(&c, 1); put8(&c, 0);
	assert_int_equal(tls_hs_client_hello(c.b, c.n, &ch), TLS_HS_ELEN);
	/* More suites than kept: the first ones, all counted. */
	{
		uint16_t many[40];

		for (unsigned i = 0; i < 40; i++)
			many[i] = (uint16_t)(0xc000 + i);
		make_ch(&c, many, 40, NULL, 0);
		assert_int_equal(tls_hs_client_hello(c.b, c.n, &ch), TLS_HS_OK);
		assert_int_equal(ch.nciphers, 40);
		assert_int_equal(ch.nciphers_kept, TLS_HS_CIPHERS_MAX);
		assert_int_equal(ch.ciphers[TLS_HS_CIPHERS_MAX - 1], 0xc000 + TLS_HS_CIPHERS_MAX - 1);
	}
}

/* Hand-made ServerHellos: HRR random, downgrade sentinels, bad versions. */
static void
test_server_hello_crafted(void **state)
{
	static const uint8_t hrr[32] = {
		0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02,
		0x1e, 0x65, 0xb8, 0x91, 0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e,
		0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c
	};
	uint8_t rnd[32] = { 0 };
	struct tls_server_hello sh;
	struct chb c;

	(void)state;
	hello_head(&c, TLS_V_1_2, hrr, 0);
	put16(&c, 0x1301); put8(&c, 0);
	put16(&c, 6); put16(&c, 0x002b); put16(&c, 2); put16(&c, TLS_V_1_3);
	assert_int_equal(tls_hs_server_hello(c.b, c.n, &sh), TLS_HS_OK);
	assert_true(sh.flags & TLS_SH_F_HRR);
	assert_true(sh.flags & TLS_SH_F_VERSIONS);
	assert_int_equal(sh.version, TLS_V_1_3);
	assert_int_equal(sh.legacy_version, TLS_V_1_2);
	/* selected_version must be exactly 2 bytes. */
	hello_head(&c, TLS_V_1_2, rnd, 0);
	put16(&c, 0x1301); put8(&c, 0);
	put16(&c, 7); put16(&c, 0x002b); put16(&c, 3); put16(&c, TLS_V_1_3); put8(&c, 0);
	assert_int_equal(tls_hs_server_hello(c.b, c.n, &sh), TLS_HS_ELEN);
	/* TLS 1.0 without extensions, "DOWNGRD\0". */
	memcpy(rnd + 24, "DOWNGRD", 7);
	hello_head(&c, TLS_V_1_0, rnd, 32);
	put16(&c, 0x002f); put8(&c, 0);
	assert_int_equal(tls_hs_server_hello(c.b, c.n, &sh), TLS_HS_OK);
	assert_int_equal(sh.version, TLS_V_1_0);
	assert_int_equal(sh.cipher, 0x002f);
	assert_true(sh.flags & TLS_SH_F_DOWN11);
	assert_false(sh.flags & (TLS_SH_F_DOWN12 | TLS_SH_F_HRR | TLS_SH_F_VERSIONS));
	rnd[31] = 1;
	hello_head(&c, TLS_V_1_2, rnd, 0);
	put16(&c, 0xc02f); put8(&c, 0);
	assert_int_equal(tls_hs_server_hello(c.b, c.n, &sh), TLS_HS_OK);
	assert_true(sh.flags & TLS_SH_F_DOWN12);
	/* Cut before the compression method. */
	assert_int_equal(tls_hs_server_hello(c.b, c.n - 1, &sh), TLS_HS_ETRUNC);
}

/* Certificate lists: empty, more than kept, bad lengths. */
static void
test_certificate_crafted(void **state)
{
	uint8_t b[200];
	struct tls_certs cs;
	size_t n = 0;

	(void)state;
	memset(b, 0, sizeof(b));
	assert_int_equal(tls_hs_certificate(b, 3, &cs), TLS_HS_OK); /* empty list */
	assert_int_equal(cs.total, 0);
	/* Ten 2-byte certificates: 10 * 5 = 50 bytes of list. */
	b[n++] = 0; b[n++] = 0; b[n++] = 50;
	for (int i = 0; i < 10; i++) {
		b[n++] = 0; b[n++] = 0; b[n++] = 2; b[n++] = 0x30; b[n++] = (uint8_t)i;
	}
	assert_int_equal(tls_hs_certificate(b, n, &cs), TLS_HS_OK);
	assert_int_equal(cs.total, 10);
	assert_int_equal(cs.n, TLS_HS_CERTS_MAX);
	assert_int_equal(cs.cert[7].der[1], 7);
	assert_ptr_equal(cs.cert[0].der, b + 6);
	/* List length one short of, one past, the body. */
	b[2] = 49;
	assert_int_equal(tls_hs_certificate(b, n, &cs), TLS_HS_ELEN);
	b[2] = 51;
	assert_int_equal(tls_hs_certificate(b, n, &cs), TLS_HS_ETRUNC);
	b[2] = 50;
	assert_int_equal(tls_hs_certificate(b, n + 1, &cs), TLS_HS_ELEN);
	/* A zero-length certificate. */
	b[5] = 0;
	assert_int_equal(tls_hs_certificate(b, n, &cs), TLS_HS_ELEN);
	b[2] = 3; b[5] = 0;
	assert_int_equal(tls_hs_certificate(b, 6, &cs), TLS_HS_ELEN);
	/* A certificate length of 16 MB. */
	b[2] = 5; b[3] = 0xff; b[4] = 0xff; b[5] = 0xff;
	assert_int_equal(tls_hs_certificate(b, 8, &cs), TLS_HS_ETRUNC);
}

/* Random bytes through all readers and the walk: only return codes. */
static void
test_random_bytes(void **state)
{
	uint8_t b[300];
	uint32_t x = 0x12345678;

	(void)state;
	for (int round = 0; round < 20000; round++) {
		size_t n = (size_t)(round % 300), off = 0, need;
		struct tls_hs_msg m;

		for (size_t i = 0; i < n; i++) {
			x = x * 1103515245u + 12345u;
			b[i] = (uint8_t)(x >> 16);
		}
		if (n > 3) /* plausible small lengths now and then */
			b[1] = 0, b[2] = (uint8_t)(round & 1);
		parse_copy(TLS_HS_T_CLIENT_HELLO, b, n);
		parse_copy(TLS_HS_T_SERVER_HELLO, b, n);
		parse_copy(TLS_HS_T_CERTIFICATE, b, n);
		while (tls_hs_next(b, n, &off, &m, &need) == TLS_HS_OK)
			assert_true(m.body + m.len <= b + n);
	}
}

/* Version and cipher names. */
static void
test_names(void **state)
{
	char buf[TLS_HEX_BUF];
	unsigned named = 0;

	(void)state;
	assert_string_equal(tls_version_name(0x0303), "TLSv1.2");
	assert_string_equal(tls_version_name(0x0304), "TLSv1.3");
	assert_string_equal(tls_version_name(0x0301), "TLSv1.0");
	assert_string_equal(tls_version_name(0x0300), "SSLv3");
	assert_null(tls_version_name(0x0305));
	assert_string_equal(tls_version_str(0x7f1c, buf), "0x7f1c");
	assert_string_equal(tls_version_str(0x0302, buf), "TLSv1.1");
	assert_string_equal(tls_cipher_name(0xc02f), "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256");
	assert_string_equal(tls_cipher_name(0x1301), "TLS_AES_128_GCM_SHA256");
	assert_string_equal(tls_cipher_name(0x0004), "TLS_RSA_WITH_RC4_128_MD5");
	assert_string_equal(tls_cipher_name(0xccaa), "TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256");
	assert_null(tls_cipher_name(0x0a0a));
	assert_string_equal(tls_cipher_str(0xabcd, buf), "0xabcd");
	assert_string_equal(tls_cipher_str(0x0000, buf), "0x0000");
	/* Every table entry is found: the table is sorted for the search. */
	for (unsigned id = 0; id <= 0xffff; id++)
		named += tls_cipher_name((uint16_t)id) != NULL;
	assert_int_equal(named, 40);
	for (unsigned v = 0; v <= 0xffff; v++)
		assert_int_equal(tls_is_grease((uint16_t)v),
		    (v & 0x0f0f) == 0x0a0a && (v >> 8) == (v & 0xff));
	assert_true(tls_is_grease(0xfafa));
	assert_false(tls_is_grease(0x0a1a));
	assert_string_equal(tls_hs_strerror(TLS_HS_ETOOBIG), "handshake message too long");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_samples_client_hello),
		cmocka_unit_test(test_samples_server),
		cmocka_unit_test(test_walk_every_prefix),
		cmocka_unit_test(test_samples_hostile),
		cmocka_unit_test(test_walk_lengths),
		cmocka_unit_test(test_client_hello_crafted),
		cmocka_unit_test(test_server_hello_crafted),
		cmocka_unit_test(test_certificate_crafted),
		cmocka_unit_test(test_random_bytes),
		cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, setup_samples, NULL);
}
