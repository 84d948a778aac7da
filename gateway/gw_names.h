/*
 * gw_names.h - which MX name an address was looked up as, learned from DNS.
 *
 * Operators write policies for domains and MX names; packets carry
 * addresses. The DNS answers crossing the router (or in the capture) close
 * the gap: "mx.example.net has address 192.0.2.25" lets a session to
 * 192.0.2.25 be matched against the MX patterns of example.net's policy.
 * Bounded (set-associative, the soonest-expiring entry of a set is
 * replaced), entries live for their TTL clamped to [GW_NAMES_TTL_MIN,
 * GW_NAMES_TTL_MAX], shared by every engine thread under one lock.
 */
#ifndef GATEWAY_GW_NAMES_H
#define GATEWAY_GW_NAMES_H

#include <stddef.h>
#include <stdint.h>

#include "../inspect/dns.h"
#include "../inspect/pkt.h"

/* A sender connects right after its lookup, so even TTL 0 answers must
 * live long enough to be used; and a day bounds stale knowledge. */
#define GW_NAMES_TTL_MIN 60
#define GW_NAMES_TTL_MAX 86400
/* Names are kept up to this length; longer ones are not learned (an MX
 * name that long is not a real one). */
#define GW_NAMES_NAME_MAX 127

struct gw_names;

struct gw_names_stats {
	uint64_t learned;   /* address records stored */
	uint64_t replaced;  /* live entries pushed out for room */
	uint64_t messages;  /* DNS answers read */
	uint64_t bad;       /* DNS payloads that did not parse */
};

struct gw_names *gw_names_new(uint32_t entries, uint64_t seed);
void gw_names_free(struct gw_names *n);

/* Learn from one DNS message (UDP payload) seen at now_us. */
void gw_names_learn_dns(struct gw_names *n, const uint8_t *msg, size_t len, uint64_t now_us);

/* Remember addr as name until now_us + ttl (clamped). */
void gw_names_put(struct gw_names *n, uint8_t af, const struct pkt_addr *addr,
    const char *name, uint32_t ttl, uint64_t now_us);

/* The name addr was looked up as, copied to out; 1 if known and fresh. */
int gw_names_get(struct gw_names *n, uint8_t af, const struct pkt_addr *addr,
    uint64_t now_us, char *out, size_t outlen);

void gw_names_get_stats(struct gw_names *n, struct gw_names_stats *st);

/* Also hand every address learned by gw_names_learn_dns (not by
 * gw_names_put: facts other gateways sent come in that way) to q, for the
 * cluster sync thread to publish. NULL = off. Set before the threads run. */
struct gw_clq;
void gw_names_set_tap(struct gw_names *n, struct gw_clq *q);

#endif
