/*
 * hsbuf.h - a bounded pool of buffers for TLS handshake messages.
 *
 * After STARTTLS each side's handshake messages (ClientHello; ServerHello,
 * Certificate, ServerHelloDone) may span records and TCP segments, so their
 * bytes are collected until the session is decided; then the caller reads
 * version, cipher, SNI and the certificate chain from them and gives the
 * buffers back. A flow borrows at most one buffer per direction and only
 * during its handshake, so a few dozen buffers serve a busy router; when
 * none is free the handshake is followed by its record headers alone.
 * Nothing allocates after hsbuf_pool_new(); no I/O.
 */
#ifndef INSPECT_HSBUF_H
#define INSPECT_HSBUF_H

#include <stddef.h>
#include <stdint.h>

/* A server's first flight: ServerHello, a certificate chain of a few KB
 * (3 certificates of 1-2 KB is common), ServerKeyExchange, ServerHelloDone.
 * 32 KB holds long chains; more is an inspection limit. */
#define HSBUF_SIZE (32u * 1024)
/* Buffer indices are 16 bits (they live in a full flow). */
#define HSBUF_MAX  65535u

struct hsbuf {
	uint32_t len;                /* bytes held */
	uint8_t  over;               /* 1 when bytes were dropped for lack of room */
	uint8_t  data[HSBUF_SIZE];   /* handshake messages, in order */
};

struct hsbuf_pool;

struct hsbuf_pool_stats {
	uint32_t buffers;    /* capacity */
	uint32_t in_use;     /* borrowed now */
	uint64_t exhausted;  /* wanted one, none was free */
	uint64_t overflows;  /* handshakes larger than HSBUF_SIZE */
};

/* n buffers (1..HSBUF_MAX); their pages are touched only when used. */
struct hsbuf_pool *hsbuf_pool_new(uint32_t n);
void hsbuf_pool_free(struct hsbuf_pool *pool);

/* Borrow an empty buffer: its index (1..n), or 0 when none is free. */
uint16_t hsbuf_get(struct hsbuf_pool *pool);
/* Give it back (0 is ignored). */
void hsbuf_put(struct hsbuf_pool *pool, uint16_t idx);
/* The buffer behind an index (idx must be borrowed). */
struct hsbuf *hsbuf_at(struct hsbuf_pool *pool, uint16_t idx);
/* Append bytes; beyond HSBUF_SIZE they are dropped and `over` set. */
void hsbuf_append(struct hsbuf_pool *pool, uint16_t idx, const uint8_t *p, size_t n);

void hsbuf_pool_get_stats(const struct hsbuf_pool *pool, struct hsbuf_pool_stats *st);

#endif
