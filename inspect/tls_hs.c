/*
 * tls_hs.c - TLS handshake message reader: ClientHello, ServerHello,
 * Certificate, and the walk over concatenated messages.
 *
 * Reads in place from the caller's buffer through a bounded cursor: every
 * get checks the bytes left first and poisons the cursor on a short read, so
 * one test at the end of a field list catches any truncation. Nothing is
 * allocated, nothing logged; see tls_hs.h for what the caller must do.
 */
#include <string.h>

#include "tls_hs.h"

/* A read position inside [p, end); bad != 0 once a read ran short. */
struct cur {
	const uint8_t *p;   /* next byte */
	const uint8_t *end; /* one past the last byte */
	int            bad; /* a read ran past end: every later read fails */
};

/* RFC 8446 4.1.3: SHA-256("HelloRetryRequest"), the random of an HRR. */
static const uint8_t hrr_random[32] = {
	0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02,
	0x1e, 0x65, 0xb8, 0x91, 0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e,
	0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c
};
/* RFC 8446 4.1.3: last 8 bytes of a ServerHello random from a TLS 1.3
 * capable server that negotiated a lower version ("DOWNGRD" + 1 or 0). */
static const uint8_t downgrd[7] = { 0x44, 0x4f, 0x57, 0x4e, 0x47, 0x52, 0x44 };

#define EXT_SERVER_NAME        0x0000
#define EXT_SUPPORTED_VERSIONS 0x002b
#define SNI_HOST_NAME          0

/* Start a cursor over p[0..n). */
static void
cur_init(struct cur *c, const uint8_t *p, size_t n)
{
	c->p = p;
	c->end = p + n;
	c->bad = 0;
}

/* Bytes left (0 once bad). */
static size_t
cur_left(const struct cur *c)
{
	return c->bad ? 0 : (size_t)(c->end - c->p);
}

/* Take n bytes: pointer to them, or NULL (and bad) when fewer are left. */
static const uint8_t *
cur_take(struct cur *c, size_t n)
{
	const uint8_t *r;

	if (c->bad || (size_t)(c->end - c->p) < n) {
		c->bad = 1;
		return NULL;
	}
	r = c->p;
	c->p += n;
	return r;
}

/* Big-endian 8/16/24-bit reads; 0 on a short read (and bad set). */
static uint32_t
cur_u8(struct cur *c)
{
	const uint8_t *b = cur_take(c, 1);

	return b ? b[0] : 0;
}

static uint32_t
cur_u16(struct cur *c)
{
	const uint8_t *b = cur_take(c, 2);

	return b ? (uint32_t)b[0] << 8 | b[1] : 0;
}

static uint32_t
cur_u24(struct cur *c)
{
	const uint8_t *b = cur_take(c, 3);

	return b ? (uint32_t)b[0] << 16 | (uint32_t)b[1] << 8 | b[2] : 0;
}

/* Cut a sub-cursor of n bytes off c (a length-prefixed vector's body). */
static int
cur_sub(struct cur *c, size_t n, struct cur *sub)
{
	const uint8_t *b = cur_take(c, n);

	if (b == NULL)
		return -1;
	cur_init(sub, b, n);
	return 0;
}

int
tls_hs_next(const uint8_t *buf, size_t len, size_t *off,
    struct tls_hs_msg *m, size_t *need)
{
	size_t have, blen;
	const uint8_t *h;

	if (*off > len)
		return TLS_HS_ELEN;
	have = len - *off;
	h = buf + *off;
	if (have < TLS_HS_HDR_LEN) {
		if (need != NULL)
			*need = TLS_HS_HDR_LEN - have;
		return TLS_HS_EMORE;
	}
	blen = (size_t)h[1] << 16 | (size_t)h[2] << 8 | h[3];
	if (blen > TLS_HS_MSG_MAX)
		return TLS_HS_ETOOBIG;
	if (have - TLS_HS_HDR_LEN < blen) {
		if (need != NULL)
			*need = blen - (have - TLS_HS_HDR_LEN);
		return TLS_HS_EMORE;
	}
	m->type = h[0];
	m->len = (uint32_t)blen;
	m->body = h + TLS_HS_HDR_LEN;
	*off += TLS_HS_HDR_LEN + blen;
	if (need != NULL)
		*need = 0;
	return TLS_HS_OK;
}

int
tls_is_grease(uint16_t v)
{
	return (v & 0x0f0f) == 0x0a0a && (v >> 8) == (v & 0xff);
}

/* ClientHello server_name (RFC 6066 3): keep the first host_name. */
static int
ch_sni(struct cur *e, struct tls_client_hello *ch)
{
	struct cur list;
	size_t n;

	n = cur_u16(e);
	if (cur_sub(e, n, &list) == -1)
		return TLS_HS_ETRUNC;
	if (n == 0 || cur_left(e) != 0)
		return TLS_HS_ELEN;
	while (cur_left(&list) > 0) {
		unsigned type = cur_u8(&list);
		size_t nlen = cur_u16(&list);
		const uint8_t *name = cur_take(&list, nlen);

		if (name == NULL)
			return TLS_HS_ETRUNC;
		if (nlen == 0)
			return TLS_HS_ELEN;
		if (type != SNI_HOST_NAME || (ch->flags & TLS_CH_F_SNI))
			continue;
		if (nlen > TLS_HS_SNI_MAX) {
			nlen = TLS_HS_SNI_MAX;
			ch->flags |= TLS_CH_F_SNI_CUT;
		}
		memcpy(ch->sni, name, nlen);
		ch->sni[nlen] = '\0';
		ch->sni_len = (uint16_t)nlen;
		ch->flags |= TLS_CH_F_SNI;
	}
	return TLS_HS_OK;
}

/* ClientHello supported_versions (RFC 8446 4.2.1): 1-byte length, 2..254. */
static int
ch_versions(struct cur *e, struct tls_client_hello *ch)
{
	struct cur list;
	size_t n;

	n = cur_u8(e);
	if (cur_sub(e, n, &list) == -1)
		return TLS_HS_ETRUNC;
	if (n < 2 || n % 2 != 0 || cur_left(e) != 0)
		return TLS_HS_ELEN;
	ch->flags |= TLS_CH_F_VERSIONS;
	ch->max_version = 0;
	while (cur_left(&list) > 0) {
		uint16_t v = (uint16_t)cur_u16(&list);

		if (tls_is_grease(v))
			continue;
		if (ch->nversions < TLS_HS_VERSIONS_MAX)
			ch->versions[ch->nversions++] = v;
		if (v > ch->max_version)
			ch->max_version = v;
	}
	if (ch->max_version == 0) /* GREASE only: fall back to the legacy field */
		ch->max_version = ch->legacy_version;
	return TLS_HS_OK;
}

int
tls_hs_client_hello(const uint8_t *body, size_t len, struct tls_client_hello *ch)
{
	struct cur c, v, exts;
	size_t n;

	memset(ch, 0, sizeof(*ch));
	cur_init(&c, body, len);
	ch->legacy_version = (uint16_t)cur_u16(&c);
	ch->max_version = ch->legacy_version;
	cur_take(&c, 32);                       /* random */
	n = cur_u8(&c);                         /* session_id <0..32> */
	if (cur_take(&c, n) == NULL)
		return TLS_HS_ETRUNC;
	if (n > 32)
		return TLS_HS_ELEN;
	n = cur_u16(&c);                        /* cipher_suites <2..2^16-2> */
	if (cur_sub(&c, n, &v) == -1)
		return TLS_HS_ETRUNC;
	if (n < 2 || n % 2 != 0)
		return TLS_HS_ELEN;
	ch->nciphers = (uint16_t)(n / 2);
	while (cur_left(&v) > 0) {
		uint16_t cs = (uint16_t)cur_u16(&v);

		if (cs == TLS_CS_FALLBACK_SCSV)
			ch->flags |= TLS_CH_F_SCSV;
		if (ch->nciphers_kept < TLS_HS_CIPHERS_MAX)
			ch->ciphers[ch->nciphers_kept++] = cs;
	}
	n = cur_u8(&c);                         /* compression_methods <1..2^8-1> */
	if (cur_take(&c, n) == NULL)
		return TLS_HS_ETRUNC;
	if (n < 1)
		return TLS_HS_ELEN;
	if (cur_left(&c) == 0)                  /* SSLv3/TLS 1.0 hello without extensions */
		return TLS_HS_OK;
	n = cur_u16(&c);                        /* extensions <0..2^16-1> */
	if (cur_sub(&c, n, &exts) == -1)
		return TLS_HS_ETRUNC;
	if (cur_left(&c) != 0)
		return TLS_HS_ELEN;             /* bytes after the extensions */
	ch->flags |= TLS_CH_F_EXTENSIONS;
	while (cur_left(&exts) > 0) {
		unsigned type = cur_u16(&exts);
		struct cur e;
		int rc = TLS_HS_OK;

		n = cur_u16(&exts);
		if (cur_sub(&exts, n, &e) == -1)
			return TLS_HS_ETRUNC;
		if (type == EXT_SERVER_NAME && !(ch->flags & TLS_CH_F_SNI))
			rc = ch_sni(&e, ch);
		else if (type == EXT_SUPPORTED_VERSIONS && !(ch->flags & TLS_CH_F_VERSIONS))
			rc = ch_versions(&e, ch);
		if (rc != TLS_HS_OK)
			return rc;
	}
	return TLS_HS_OK;
}

int
tls_hs_server_hello(const uint8_t *body, size_t len, struct tls_server_hello *sh)
{
	struct cur c, exts;
	const uint8_t *rnd;
	size_t n;

	memset(sh, 0, sizeof(*sh));
	cur_init(&c, body, len);
	sh->legacy_version = (uint16_t)cur_u16(&c);
	sh->version = sh->legacy_version;
	rnd = cur_take(&c, 32);
	n = cur_u8(&c);                         /* legacy_session_id_echo <0..32> */
	if (cur_take(&c, n) == NULL)
		return TLS_HS_ETRUNC;
	if (n > 32)
		return TLS_HS_ELEN;
	sh->cipher = (uint16_t)cur_u16(&c);
	sh->compression = (uint8_t)cur_u8(&c);
	if (c.bad || rnd == NULL)
		return TLS_HS_ETRUNC;
	if (memcmp(rnd, hrr_random, sizeof(hrr_random)) == 0)
		sh->flags |= TLS_SH_F_HRR;
	else if (memcmp(rnd + 24, downgrd, sizeof(downgrd)) == 0 && rnd[31] == 1)
		sh->flags |= TLS_SH_F_DOWN12;
	else if (memcmp(rnd + 24, downgrd, sizeof(downgrd)) == 0 && rnd[31] == 0)
		sh->flags |= TLS_SH_F_DOWN11;
	if (cur_left(&c) == 0)                  /* no extensions (TLS <= 1.2) */
		return TLS_HS_OK;
	n = cur_u16(&c);
	if (cur_sub(&c, n, &exts) == -1)
		return TLS_HS_ETRUNC;
	if (cur_left(&c) != 0)
		return TLS_HS_ELEN;
	while (cur_left(&exts) > 0) {
		unsigned type = cur_u16(&exts);
		struct cur e;

		n = cur_u16(&exts);
		if (cur_sub(&exts, n, &e) == -1)
			return TLS_HS_ETRUNC;
		if (type != EXT_SUPPORTED_VERSIONS)
			continue;
		if (n != 2)                     /* selected_version: exactly one */
			return TLS_HS_ELEN;
		sh->version = (uint16_t)cur_u16(&e);
		sh->flags |= TLS_SH_F_VERSIONS;
	}
	return TLS_HS_OK;
}

int
tls_hs_certificate(const uint8_t *body, size_t len, struct tls_certs *cs)
{
	struct cur c, list;
	size_t n;

	memset(cs, 0, sizeof(*cs));
	cur_init(&c, body, len);
	n = cur_u24(&c);
	if (cur_sub(&c, n, &list) == -1)
		return TLS_HS_ETRUNC;
	if (cur_left(&c) != 0)
		return TLS_HS_ELEN;
	while (cur_left(&list) > 0) {
		size_t clen = cur_u24(&list);
		const uint8_t *der = cur_take(&list, clen);

		if (der == NULL)
			return TLS_HS_ETRUNC;
		if (clen == 0)
			return TLS_HS_ELEN;
		if (cs->n < TLS_HS_CERTS_MAX) {
			cs->cert[cs->n].der = der;
			cs->cert[cs->n].len = (uint32_t)clen;
			cs->n++;
		}
		cs->total++;
	}
	return TLS_HS_OK;
}

int
tls_hs_msg_client_hello(const struct tls_hs_msg *m, struct tls_client_hello *ch)
{
	if (m->type != TLS_HS_T_CLIENT_HELLO)
		return TLS_HS_ETYPE;
	return tls_hs_client_hello(m->body, m->len, ch);
}

int
tls_hs_msg_server_hello(const struct tls_hs_msg *m, struct tls_server_hello *sh)
{
	if (m->type != TLS_HS_T_SERVER_HELLO)
		return TLS_HS_ETYPE;
	return tls_hs_server_hello(m->body, m->len, sh);
}

int
tls_hs_msg_certificate(const struct tls_hs_msg *m, struct tls_certs *c)
{
	if (m->type != TLS_HS_T_CERTIFICATE)
		return TLS_HS_ETYPE;
	return tls_hs_certificate(m->body, m->len, c);
}

const char *
tls_version_name(uint16_t v)
{
	switch (v) {
	case TLS_V_SSL3: return "SSLv3";
	case TLS_V_1_0:  return "TLSv1.0";
	case TLS_V_1_1:  return "TLSv1.1";
	case TLS_V_1_2:  return "TLSv1.2";
	case TLS_V_1_3:  return "TLSv1.3";
	default:         return NULL;
	}
}

/* Suites a mail server meets in practice (IANA TLS Cipher Suites registry),
 * sorted by id for the binary search. */
static const struct {
	uint16_t    id;
	const char *name;
} cipher_tab[] = {
	{ 0x0004, "TLS_RSA_WITH_RC4_128_MD5" },
	{ 0x0005, "TLS_RSA_WITH_RC4_128_SHA" },
	{ 0x000a, "TLS_RSA_WITH_3DES_EDE_CBC_SHA" },
	{ 0x0016, "TLS_DHE_RSA_WITH_3DES_EDE_CBC_SHA" },
	{ 0x002f, "TLS_RSA_WITH_AES_128_CBC_SHA" },
	{ 0x0033, "TLS_DHE_RSA_WITH_AES_128_CBC_SHA" },
	{ 0x0035, "TLS_RSA_WITH_AES_256_CBC_SHA" },
	{ 0x0039, "TLS_DHE_RSA_WITH_AES_256_CBC_SHA" },
	{ 0x003c, "TLS_RSA_WITH_AES_128_CBC_SHA256" },
	{ 0x003d, "TLS_RSA_WITH_AES_256_CBC_SHA256" },
	{ 0x0067, "TLS_DHE_RSA_WITH_AES_128_CBC_SHA256" },
	{ 0x006b, "TLS_DHE_RSA_WITH_AES_256_CBC_SHA256" },
	{ 0x009c, "TLS_RSA_WITH_AES_128_GCM_SHA256" },
	{ 0x009d, "TLS_RSA_WITH_AES_256_GCM_SHA384" },
	{ 0x009e, "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256" },
	{ 0x009f, "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384" },
	{ 0x00ff, "TLS_EMPTY_RENEGOTIATION_INFO_SCSV" },
	{ 0x1301, "TLS_AES_128_GCM_SHA256" },
	{ 0x1302, "TLS_AES_256_GCM_SHA384" },
	{ 0x1303, "TLS_CHACHA20_POLY1305_SHA256" },
	{ 0x1304, "TLS_AES_128_CCM_SHA256" },
	{ 0x1305, "TLS_AES_128_CCM_8_SHA256" },
	{ 0x5600, "TLS_FALLBACK_SCSV" },
	{ 0xc009, "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA" },
	{ 0xc00a, "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA" },
	{ 0xc011, "TLS_ECDHE_RSA_WITH_RC4_128_SHA" },
	{ 0xc012, "TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA" },
	{ 0xc013, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA" },
	{ 0xc014, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA" },
	{ 0xc023, "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256" },
	{ 0xc024, "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384" },
	{ 0xc027, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256" },
	{ 0xc028, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384" },
	{ 0xc02b, "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256" },
	{ 0xc02c, "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384" },
	{ 0xc02f, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256" },
	{ 0xc030, "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384" },
	{ 0xcca8, "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256" },
	{ 0xcca9, "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256" },
	{ 0xccaa, "TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256" },
};

const char *
tls_cipher_name(uint16_t id)
{
	size_t lo = 0, hi = sizeof(cipher_tab) / sizeof(cipher_tab[0]);

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (cipher_tab[mid].id == id)
			return cipher_tab[mid].name;
		if (cipher_tab[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* "0x%04x" without stdio. */
static const char *
hex16(uint16_t v, char buf[TLS_HEX_BUF])
{
	static const char digits[] = "0123456789abcdef";

	buf[0] = '0';
	buf[1] = 'x';
	for (int i = 0; i < 4; i++)
		buf[2 + i] = digits[(v >> (12 - 4 * i)) & 0xf];
	buf[6] = '\0';
	return buf;
}

const char *
tls_version_str(uint16_t v, char buf[TLS_HEX_BUF])
{
	const char *s = tls_version_name(v);

	return s != NULL ? s : hex16(v, buf);
}

const char *
tls_cipher_str(uint16_t id, char buf[TLS_HEX_BUF])
{
	const char *s = tls_cipher_name(id);

	return s != NULL ? s : hex16(id, buf);
}

const char *
tls_hs_strerror(int rc)
{
	switch (rc) {
	case TLS_HS_OK:      return "ok";
	case TLS_HS_EMORE:   return "incomplete handshake message";
	case TLS_HS_ETRUNC:  return "handshake message truncated";
	case TLS_HS_ELEN:    return "inconsistent length in handshake message";
	case TLS_HS_ETOOBIG: return "handshake message too long";
	case TLS_HS_ETYPE:   return "unexpected handshake message type";
	default:             return "unknown error";
	}
}
