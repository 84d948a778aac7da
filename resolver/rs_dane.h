/*
 * rs_dane.h - DANE discovery (RFC 7672 section 2): for a mail domain, its
 * MX RRset validated with DNSSEC, then the TLSA RRset _25._tcp.<host> of
 * each MX host; many domains at once.
 *
 * libunbound validates against a trust anchor file (Debian's root key by
 * default, a test anchor in the tests) through the forwarders of a
 * resolv.conf, asynchronously (a thread of its own). The outcome of a
 * domain is a struct pol_dane_answer (policy/pol_dane.h), which is what
 * the cache file holds: the MX RRset's DNSSEC state (secure, insecure,
 * bogus, failed) and per MX host its TLSA state and usable records. Every
 * answer from the network is untrusted: names, counts and lengths are
 * bounded (pol_dane.h), refusals counted; nothing read can crash it.
 *
 * Single-threaded from the caller's view, like rs_net.h: call
 * rs_dane_run() in a loop; the done callback runs inside it. The caller
 * creates the context before any sandbox (it reads the anchor and
 * resolv.conf).
 */
#ifndef RESOLVER_RS_DANE_H
#define RESOLVER_RS_DANE_H

#include <stddef.h>
#include <stdint.h>

#include "../policy/pol_dane.h"

/* Debian's root trust anchor (package dns-root-data). */
#define RS_DANE_ANCHOR_DEFAULT "/usr/share/dns/root.key"
/* One domain's lookups as a whole. */
#define RS_DANE_TIMEOUT_MS_DEFAULT 10000
#define RS_DANE_INFLIGHT_DEFAULT 32
#define RS_DANE_QUEUE_DEFAULT 1024
/* How long answers are kept (the DNS TTL, within these bounds): a TTL of
 * seconds would have every flow wait for a lookup, one of weeks would
 * outlive a key rollover. Negative (insecure, no TLSA) and bogus answers
 * are cached for the negative TTL; failures are retried sooner. */
#define RS_DANE_TTL_MIN 300
#define RS_DANE_TTL_MAX 86400
#define RS_DANE_NEG_TTL 3600
#define RS_DANE_FAIL_TTL 60

struct rs_dane_conf {
	const char *anchor;       /* trust anchor file (DS or DNSKEY records); NULL = default */
	const char *resolv_conf;  /* forwarders; NULL = /etc/resolv.conf */
	unsigned timeout_ms;      /* per domain */
	unsigned max_inflight;    /* domains at once */
	unsigned queue_max;       /* domains waiting; more are refused (busy) */
};

/* Counted refusals and outcomes (for the metrics and the tests). */
struct rs_dane_stats {
	uint64_t lookups;         /* domains started */
	uint64_t applies;         /* DANE applies (secure MX, some MX with secure TLSA) */
	uint64_t insecure;        /* MX RRset insecure: no DANE */
	uint64_t bogus;           /* an MX or TLSA RRset was bogus (dnssec-invalid) */
	uint64_t failed;          /* no answer in time, SERVFAIL */
	uint64_t busy;            /* refused: queue full */
	uint64_t mx_dropped;      /* MX hosts beyond POL_DANE_MX_MAX, or unreadable names */
	uint64_t tlsa_unusable;   /* TLSA records SMTP may not use (RFC 7672 3.1.3) */
	uint64_t tlsa_too_many;   /* TLSA sets beyond POL_TLSA_RR_MAX or the byte budget */
	uint64_t tlsa_malformed;  /* TLSA RDATA shorter than 4 bytes */
};

/* The outcome of one domain; pointers valid during the callback only. */
struct rs_dane_result {
	const char *domain;
	uint32_t tag;                     /* the caller's */
	const struct pol_dane_answer *a;  /* the answer (until set from the TTLs) */
	const char *text;                 /* one line: what happened */
	unsigned elapsed_ms;
};

typedef void (*rs_dane_done_fn)(void *arg, const struct rs_dane_result *r);

struct rs_dane;

/* NULL with err when the anchor, resolv.conf or libunbound fails. */
struct rs_dane *rs_dane_new(const struct rs_dane_conf *c, rs_dane_done_fn done, void *arg,
    char *err, size_t errlen);
void rs_dane_free(struct rs_dane *d);

/* Start (or queue) the lookups of domain (normalised). When the queue is
 * full, done is called at once with a failed answer ("busy"). */
void rs_dane_start(struct rs_dane *d, const char *domain, uint32_t tag);

/* Wait up to timeout_ms for answers (and fd readable, if fd >= 0), handle
 * them, call done for domains that finished. 1 when fd is readable, 0
 * otherwise, -1 on a library failure. */
int rs_dane_run(struct rs_dane *d, int fd, int timeout_ms);

unsigned rs_dane_pending(const struct rs_dane *d);
const struct rs_dane_stats *rs_dane_stats(const struct rs_dane *d);

/* The host name in an MX RDATA (2-byte preference, uncompressed wire
 * name) as a normalised name into out (POL_NAME_BUF). 0; 1 for the null
 * MX "." (RFC 7505: no mail); -1 when malformed. Exposed for the tests. */
int rs_dane_mx_rdata(const uint8_t *rd, size_t len, char *out);

#endif
