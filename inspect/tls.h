/*
 * tls.h - read the first TLS records of a direction, byte by byte.
 *
 * After STARTTLS is accepted, each side's next bytes must be TLS records.
 * This scanner checks record headers as the bytes arrive (any segmentation
 * works), notes the first handshake message type and any cleartext alert,
 * and never buffers more than a record header. It decrypts nothing. No I/O.
 */
#ifndef INSPECT_TLS_H
#define INSPECT_TLS_H

#include <stddef.h>
#include <stdint.h>

#define TLS_CT_CCS        20
#define TLS_CT_ALERT      21
#define TLS_CT_HANDSHAKE  22
#define TLS_CT_APPDATA    23

#define TLS_HS_CLIENT_HELLO 1
#define TLS_HS_SERVER_HELLO 2

/* TLS records are at most 2^14 bytes plus 2048 of expansion (RFC 5246 6.2.3). */
#define TLS_RECORD_MAX   (16384 + 2048)

/* What tls_scan_push() found; a bit set, several may come at once. */
#define TLS_EV_NOT_TLS     0x01 /* bytes are not a TLS record header */
#define TLS_EV_HANDSHAKE   0x02 /* first handshake message type is known */
#define TLS_EV_ALERT       0x04 /* an alert record's level and description are known */
#define TLS_EV_CCS         0x08 /* a ChangeCipherSpec record began */
#define TLS_EV_APPDATA     0x10 /* an application-data record began */

struct tls_scan {
	uint8_t  hdr[5];    /* record header being collected */
	uint8_t  have;      /* bytes of hdr collected, then of the body peeked (<= 2) */
	uint8_t  hs_type;   /* first handshake message type seen, 0 = none yet */
	uint8_t  alert[2];  /* level, description of the first alert */
	uint8_t  records;   /* records started, saturating at 255 */
	uint8_t  first_type; /* content type of the first record, 0 = none yet */
	uint16_t left;      /* body bytes of the current record still to skip */
	uint16_t hsbuf;     /* the caller's handshake buffer (hsbuf.h) for this direction, 0 = none */
};

void tls_scan_init(struct tls_scan *s);

/*
 * Feed bytes. Returns TLS_EV_* bits for what became known during this call.
 * On TLS_EV_NOT_TLS the scan stops; *used (if not NULL) tells how many bytes
 * were consumed before the offending byte.
 */
int tls_scan_push(struct tls_scan *s, const uint8_t *p, size_t n, size_t *used);

/* The same, handing every handshake-record body byte to body(ctx, ...) as
 * it passes (body may be NULL): the handshake messages, in order, across
 * records and segments. */
typedef void (*tls_body_fn)(void *ctx, const uint8_t *p, size_t n);
int tls_scan_push_body(struct tls_scan *s, const uint8_t *p, size_t n, size_t *used,
    tls_body_fn body, void *ctx);

/* "handshake_failure", "unknown_ca", ... for an alert description. */
const char *tls_alert_name(uint8_t desc);

#endif
