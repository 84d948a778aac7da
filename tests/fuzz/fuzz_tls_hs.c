/*
 * fuzz_tls_hs.c - bytes -> the TLS handshake readers (inspect/tls_hs.h).
 *
 * The input is read twice: as a stream of handshake messages, and as TLS
 * records whose handshake bodies are collected the way the engine keeps
 * them (tls_scan_push_body into a bounded buffer). Every message cut by
 * tls_hs_next goes through the ClientHello, ServerHello and Certificate
 * readers; returned pointers must lie inside the buffer and the SNI must be
 * a terminated string. Seeds: the real handshakes of tests/tls.
 */
#include <string.h>

#include "../../inspect/tls.h"
#include "../../inspect/tls_hs.h"
#include "fuzz.h"

/* The engine's buffer size: more is dropped, like hsbuf_append. */
#define FUZZ_HS_MAX (32u * 1024)

struct collect {
	uint8_t buf[FUZZ_HS_MAX];
	size_t  len;
};

/* tls_scan body callback: keep what fits. */
static void
keep(void *ctx, const uint8_t *p, size_t n)
{
	struct collect *c = ctx;

	if (n > sizeof(c->buf) - c->len)
		n = sizeof(c->buf) - c->len;
	memcpy(c->buf + c->len, p, n);
	c->len += n;
}

/* Cut every message of buf and run each reader over it. */
static void
read_all(const uint8_t *buf, size_t len)
{
	struct tls_hs_msg m;
	size_t off = 0, need = 0;
	int rc;

	while ((rc = tls_hs_next(buf, len, &off, &m, &need)) == TLS_HS_OK) {
		struct tls_client_hello ch;
		struct tls_server_hello sh;
		struct tls_certs certs;

		FUZZ_CHECK(m.body >= buf && m.body + m.len <= buf + len);
		FUZZ_CHECK(off <= len);
		if (tls_hs_msg_client_hello(&m, &ch) == TLS_HS_OK)
			FUZZ_CHECK(memchr(ch.sni, '\0', sizeof(ch.sni)) != NULL);
		(void)tls_hs_msg_server_hello(&m, &sh);
		if (tls_hs_msg_certificate(&m, &certs) == TLS_HS_OK) {
			FUZZ_CHECK(certs.n <= TLS_HS_CERTS_MAX && certs.n <= certs.total);
			for (unsigned i = 0; i < certs.n; i++)
				FUZZ_CHECK(certs.cert[i].der >= m.body &&
				    certs.cert[i].der + certs.cert[i].len <= m.body + m.len);
		}
	}
	if (rc == TLS_HS_EMORE)
		FUZZ_CHECK(need > 0 && off <= len);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct collect c;
	struct tls_scan ts;

	read_all(data, size);
	tls_scan_init(&ts);
	c.len = 0;
	(void)tls_scan_push_body(&ts, data, size, NULL, keep, &c);
	read_all(c.buf, c.len);
	return 0;
}
