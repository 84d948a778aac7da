/*
 * gw_fallback.h - recent TLS failures per client/server pair (tls_fallback).
 *
 * A sender whose TLS handshake failed often retries the same server in
 * plaintext at once; an attacker who breaks handshakes relies on that. This
 * table remembers, for a bounded number of client/server address pairs, when
 * a handshake last failed. It is shared by every engine thread (NFQUEUE
 * balances connections, not address pairs, across queues), so it locks; it
 * is touched only when a handshake fails and when a session is created.
 */
#ifndef GATEWAY_GW_FALLBACK_H
#define GATEWAY_GW_FALLBACK_H

#include <stdint.h>

#include "../inspect/pkt.h"

struct gw_fallback;

/* entries: rounded up to a power of two; colliding pairs overwrite. */
struct gw_fallback *gw_fallback_new(uint32_t entries, uint64_t seed);
void gw_fallback_free(struct gw_fallback *fb);

void gw_fallback_note(struct gw_fallback *fb, uint8_t af, const struct pkt_addr *client,
    const struct pkt_addr *server, uint64_t ts_us);

/* Did this pair fail within window_s before ts_us? */
int gw_fallback_recent(struct gw_fallback *fb, uint8_t af, const struct pkt_addr *client,
    const struct pkt_addr *server, uint64_t ts_us, uint32_t window_s);

#endif
