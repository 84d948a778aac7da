/*
 * tls_hs.h - read complete TLS handshake messages from a contiguous buffer.
 *
 * The streaming caller collects the handshake-record payload of one
 * direction (across records and TCP segments) into a bounded buffer it
 * owns; tls_hs_next() cuts that buffer into messages and says how many
 * bytes a partial one still needs, and the readers below take one message
 * body each: ClientHello, ServerHello, and the TLS <= 1.2 Certificate.
 * Every length is checked against the bytes present before it is used;
 * hostile input gives a negative TLS_HS_E* code, never an out-of-bounds
 * read. No allocation, no I/O, no clock. Pointers handed out point into the
 * caller's buffer and are valid as long as it is.
 */
#ifndef INSPECT_TLS_HS_H
#define INSPECT_TLS_HS_H

#include <stddef.h>
#include <stdint.h>

/* Handshake message types (RFC 8446 4, RFC 5246 7.4). */
#define TLS_HS_T_CLIENT_HELLO   1
#define TLS_HS_T_SERVER_HELLO   2
#define TLS_HS_T_CERTIFICATE    11
#define TLS_HS_T_SERVER_KEYX    12
#define TLS_HS_T_SERVER_DONE    14

/* Message header: type (1) + 24-bit length (3). */
#define TLS_HS_HDR_LEN 4
/* Largest message we agree to collect. The wire allows 2^24-1; a
 * ClientHello or a certificate chain of a mail server is a few KB, and
 * OpenSSL itself refuses a Certificate message over 100 KB by default
 * (max_cert_list); 64 KB is room for long chains and keeps the buffer
 * bounded. Bigger announced lengths are TLS_HS_ETOOBIG. */
#define TLS_HS_MSG_MAX 65536

/* What the readers keep: enough for the flow event and policy checks. */
#define TLS_HS_CIPHERS_MAX  16  /* first cipher suites offered, in order */
#define TLS_HS_VERSIONS_MAX 8   /* supported_versions entries (GREASE skipped) */
#define TLS_HS_SNI_MAX      255 /* RFC 6066 3: HostName is at most 2^16-1, DNS names 253 */
#define TLS_HS_CERTS_MAX    8   /* certificates of a chain handed out */

/* Return codes (negative = the message is malformed, give up on it). */
#define TLS_HS_OK       0
#define TLS_HS_EMORE   (-1) /* tls_hs_next only: no complete message yet */
#define TLS_HS_ETRUNC  (-2) /* the body ends before a field it announces */
#define TLS_HS_ELEN    (-3) /* an inner length is inconsistent (odd, zero, too long for its parent) */
#define TLS_HS_ETOOBIG (-4) /* a message announces more than TLS_HS_MSG_MAX */
#define TLS_HS_ETYPE   (-5) /* not the message type this reader takes */

/* Special versions and values. */
#define TLS_V_SSL3   0x0300
#define TLS_V_1_0    0x0301
#define TLS_V_1_1    0x0302
#define TLS_V_1_2    0x0303
#define TLS_V_1_3    0x0304
#define TLS_CS_FALLBACK_SCSV 0x5600 /* RFC 7507: client retries with a lower version */
#define TLS_CS_EMPTY_RENEGO  0x00ff /* RFC 5746 signalling suite */

/* One message cut from the buffer. */
struct tls_hs_msg {
	uint8_t        type; /* TLS_HS_T_* (any value, unknown ones too) */
	uint32_t       len;  /* body length */
	const uint8_t *body; /* len bytes, right after the 4-byte header */
};

/* struct tls_client_hello.flags */
#define TLS_CH_F_SNI        0x01 /* server_name extension with a host_name */
#define TLS_CH_F_VERSIONS   0x02 /* supported_versions extension present */
#define TLS_CH_F_SCSV       0x04 /* TLS_FALLBACK_SCSV offered: a client's downgraded retry */
#define TLS_CH_F_EXTENSIONS 0x08 /* an extensions block was present at all */
#define TLS_CH_F_SNI_CUT    0x10 /* the host name was longer than TLS_HS_SNI_MAX and cut */

struct tls_client_hello {
	uint16_t legacy_version;   /* client_version field (0x0303 for TLS 1.3 too) */
	uint16_t max_version;      /* highest offered: max of supported_versions, else legacy_version */
	uint8_t  flags;            /* TLS_CH_F_* */
	uint8_t  nversions;        /* entries in versions[] */
	uint16_t versions[TLS_HS_VERSIONS_MAX]; /* supported_versions in order, GREASE skipped */
	uint16_t nciphers;         /* cipher suites offered in total (GREASE included) */
	uint8_t  nciphers_kept;    /* entries in ciphers[] */
	uint16_t ciphers[TLS_HS_CIPHERS_MAX]; /* the first suites offered, in order */
	uint16_t sni_len;          /* bytes in sni (without the NUL) */
	char     sni[TLS_HS_SNI_MAX + 1]; /* first host_name, raw wire bytes, NUL-terminated;
	                            * may contain anything: the EVE writer escapes */
};

/* struct tls_server_hello.flags */
#define TLS_SH_F_VERSIONS 0x01 /* supported_versions extension selected the version */
#define TLS_SH_F_HRR      0x02 /* this is a HelloRetryRequest (RFC 8446 4.1.3 random) */
#define TLS_SH_F_DOWN12   0x04 /* random ends in DOWNGRD\1: a TLS 1.3 server negotiated 1.2 */
#define TLS_SH_F_DOWN11   0x08 /* random ends in DOWNGRD\0: a TLS 1.3 server negotiated <= 1.1 */

struct tls_server_hello {
	uint16_t legacy_version;   /* server_version field */
	uint16_t version;          /* negotiated: supported_versions if present, else legacy_version */
	uint16_t cipher;           /* selected cipher suite */
	uint8_t  compression;      /* selected compression method (0 = none) */
	uint8_t  flags;            /* TLS_SH_F_* */
};

/* One DER certificate inside the caller's buffer. */
struct tls_cert_ref {
	const uint8_t *der;
	uint32_t       len;
};

struct tls_certs {
	unsigned            total; /* certificates in the message */
	unsigned            n;     /* entries in cert[] (min(total, TLS_HS_CERTS_MAX)), leaf first */
	struct tls_cert_ref cert[TLS_HS_CERTS_MAX];
};

/*
 * Cut the next message from buf[*off .. len). Returns:
 *   TLS_HS_OK      m is filled, *off advanced past the message;
 *   TLS_HS_EMORE   the message at *off is incomplete: *need (if not NULL) is
 *                  how many more bytes it needs (at least 1; when even the
 *                  header is cut, the header's missing bytes); *off unchanged,
 *                  so the caller keeps buf[*off .. len) and appends;
 *   TLS_HS_ETOOBIG the header announces more than TLS_HS_MSG_MAX: give up.
 * *off == len (nothing left) gives TLS_HS_EMORE with *need = TLS_HS_HDR_LEN.
 */
int tls_hs_next(const uint8_t *buf, size_t len, size_t *off,
    struct tls_hs_msg *m, size_t *need);

/* Read a ClientHello body (m->body, m->len). TLS_HS_OK or TLS_HS_E*; ch is
 * cleared first and may hold partial results after an error. */
int tls_hs_client_hello(const uint8_t *body, size_t len, struct tls_client_hello *ch);

/* Read a ServerHello body (also a HelloRetryRequest, which has the same
 * shape; see TLS_SH_F_HRR). */
int tls_hs_server_hello(const uint8_t *body, size_t len, struct tls_server_hello *sh);

/* Read a TLS <= 1.2 Certificate body (RFC 5246 7.4.2): a 3-byte list length
 * that must equal the rest of the body, then certificates of 3-byte length
 * + DER each (none empty). The DER bytes are not parsed here. TLS 1.3's
 * Certificate has another shape and travels encrypted: not for this. */
int tls_hs_certificate(const uint8_t *body, size_t len, struct tls_certs *c);

/* The same three taking a message from tls_hs_next(): TLS_HS_ETYPE when the
 * type differs. */
int tls_hs_msg_client_hello(const struct tls_hs_msg *m, struct tls_client_hello *ch);
int tls_hs_msg_server_hello(const struct tls_hs_msg *m, struct tls_server_hello *sh);
int tls_hs_msg_certificate(const struct tls_hs_msg *m, struct tls_certs *c);

/* Is v a GREASE value (RFC 8701: 0x0a0a, 0x1a1a, ... 0xfafa)? */
int tls_is_grease(uint16_t v);

/* "SSLv3", "TLSv1.0" .. "TLSv1.3"; NULL for anything else. */
const char *tls_version_name(uint16_t v);
/* IANA name of a common suite ("TLS_AES_128_GCM_SHA256",
 * "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"); NULL when not in the table. */
const char *tls_cipher_name(uint16_t id);

/* Room for "0xc02f" and its NUL. */
#define TLS_HEX_BUF 7
/* The name, or "0x%04x" written into buf (TLS_HEX_BUF bytes): never NULL. */
const char *tls_version_str(uint16_t v, char buf[TLS_HEX_BUF]);
const char *tls_cipher_str(uint16_t id, char buf[TLS_HEX_BUF]);

/* "ok", "need more bytes", "truncated", ... for a TLS_HS_* code. */
const char *tls_hs_strerror(int rc);

#endif
