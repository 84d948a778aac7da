/*
 * gw_fact.h - one learned fact as gateways share it through Redis.
 *
 * A fact is what one gateway learned that another on a parallel router
 * could use: which MX name an address was looked up as (DNS), that a
 * server did STARTTLS (a pin), that a client's TLS to a server just failed
 * (tls_fallback). Each carries the id of the gateway that learned it, when,
 * and when it stops being true; the Redis key holding it expires then too,
 * so Redis forgets exactly what the gateways forget. On the wire it is one
 * line of text (times in microseconds since the epoch):
 *
 *   v1 mx   <origin> <at> <expires> <addr> <mxname>
 *   v1 pin  <origin> <at> <expires> <addr> <mxname|-> <first_seen>
 *   v1 fail <origin> <at> <expires> <client> <server>
 *
 * and it lives under the key <prefix>mx:<addr>, <prefix>pin:<addr>,
 * <prefix>fail:<client>,<server>. A later kind for discovered domain
 * policies (the resolver's MTA-STS/DANE results) is reserved as
 *   v1 sts <origin> <at> <expires> <domain> <mode> <mx>[,<mx>...]
 * and parses as GW_FACT_E_KIND (counted, not applied) until a gateway
 * that has discovered policies can check and apply it.
 * Pure: no clock, no I/O; the caller passes now and does the checks that
 * need its tables. Parsing never trusts its input: any deviation is an
 * error, never a partial fact.
 */
#ifndef GATEWAY_GW_FACT_H
#define GATEWAY_GW_FACT_H

#include <stddef.h>
#include <stdint.h>

#include "../inspect/pkt.h"

enum gw_fact_kind {
	GW_FACT_MX = 1,    /* address -> MX name it was looked up as */
	GW_FACT_PIN,       /* server seen completing STARTTLS */
	GW_FACT_FAIL,      /* client's TLS to server failed at "at" */
	GW_FACT_KINDS
};

/* An MX name is kept up to this length locally (GW_NAMES_NAME_MAX). */
#define GW_FACT_NAME_MAX   127
/* Gateway ids: a host name, maybe with a suffix; no spaces. */
#define GW_FACT_ORIGIN_MAX 63
/* Longest line: kind, id, three 20-digit numbers, two IPv6 texts, a name. */
#define GW_FACT_LINE_MAX   384
/* Longest key: prefix (GW_FACT_PREFIX_MAX) + "fail:" + two IPv6 texts. */
#define GW_FACT_PREFIX_MAX 32
#define GW_FACT_KEY_MAX    160

struct gw_fact {
	uint8_t  kind;                          /* enum gw_fact_kind */
	uint8_t  af;                            /* 4 or 6, for addr and client */
	struct pkt_addr addr;                   /* the server (all kinds) */
	struct pkt_addr client;                 /* FAIL: the client */
	char     name[GW_FACT_NAME_MAX + 1];    /* MX: its name; PIN: "" when unknown */
	uint64_t at_us;                         /* learned (PIN: last TLS session) */
	uint64_t first_us;                      /* PIN: first TLS session */
	uint64_t expires_us;                    /* stops being true */
	char     origin[GW_FACT_ORIGIN_MAX + 1]; /* id of the gateway that learned it */
};

enum gw_fact_err {
	GW_FACT_OK = 0,
	GW_FACT_E_SYNTAX,   /* not "v1 <kind> ..." with the right fields */
	GW_FACT_E_KIND,     /* a version or kind this gateway does not apply */
	GW_FACT_E_ADDR,     /* an address that does not parse, or mixed families */
	GW_FACT_E_NAME,     /* not a host name, or too long */
	GW_FACT_E_TIME,     /* times out of order (expires before at, first after at) */
	GW_FACT_E_KEY,      /* the key does not name the fact it holds */
	GW_FACT_E_COUNT
};

/* One word per error, for logs and metric labels. */
const char *gw_fact_err_name(enum gw_fact_err e);

/* Is s a usable gateway id (1..GW_FACT_ORIGIN_MAX of [A-Za-z0-9._:/-])? */
int gw_fact_origin_ok(const char *s);
/* Is s a host name as gw_names stores them (LDH labels, 1..63 each, dots
 * between, at most GW_FACT_NAME_MAX)? */
int gw_fact_name_ok(const char *s);

/* Write f as one line without newline; returns its length, or 0 when it
 * does not fit (len >= GW_FACT_LINE_MAX always fits). */
size_t gw_fact_format(const struct gw_fact *f, char *buf, size_t len);

/* Write the key of f under prefix; returns its length, 0 when it does not
 * fit (GW_FACT_KEY_MAX always fits a prefix of GW_FACT_PREFIX_MAX). */
size_t gw_fact_key(const char *prefix, const struct gw_fact *f, char *buf, size_t len);

/* Parse one line (len bytes, no NUL needed, no newline) into *f. */
enum gw_fact_err gw_fact_parse(const char *s, size_t len, struct gw_fact *f);

/* As gw_fact_parse, and the key (klen bytes) must be the one gw_fact_key
 * gives for the parsed fact under prefix: a value copied under another
 * key is refused. */
enum gw_fact_err gw_fact_parse_keyed(const char *prefix, const char *key, size_t klen,
    const char *s, size_t len, struct gw_fact *f);

#endif
