/*
 * pol_dane.h - DANE for SMTP (RFC 7672) as a policy source: TLSA records,
 * which of them SMTP may use, the resolver's answer for one domain as a
 * cache file, and the table of MX hosts with their TLSA records that the
 * certificate check reads.
 *
 * Pure like the rest of policy/: bytes in (TLSA RDATA, cache file text),
 * results and reasons out; no I/O, clock, logging. Every count and length
 * is bounded by a named constant; hostile input gets -1 and a message.
 * A domain whose MX hosts have TLSA records becomes a pol_domain_entry of
 * source POL_SRC_DANE whose MX patterns are those hosts (pol_dane_entry);
 * the table (struct pol_dane) is filled once at load, then only read, so
 * engine threads share it.
 */
#ifndef POLICY_POL_DANE_H
#define POLICY_POL_DANE_H

#include <stddef.h>
#include <stdint.h>

#include "pol_mx.h"
#include "pol_types.h"

/* TLSA fields (RFC 6698 2.1, RFC 7218 names). */
#define POL_TLSA_PKIX_TA 0   /* unusable for SMTP (RFC 7672 3.1.3) */
#define POL_TLSA_PKIX_EE 1   /* unusable for SMTP (RFC 7672 3.1.3) */
#define POL_TLSA_DANE_TA 2
#define POL_TLSA_DANE_EE 3
#define POL_TLSA_SEL_CERT 0
#define POL_TLSA_SEL_SPKI 1
#define POL_TLSA_MT_FULL 0
#define POL_TLSA_MT_SHA256 1
#define POL_TLSA_MT_SHA512 2

/* Association data of a "full" (matching type 0) record we accept: a
 * certificate or key of a real chain is 0.3-2 KB; a larger one is
 * unusable rather than copied. */
#define POL_TLSA_DATA_MAX 4096
/* TLSA records per MX host kept (real sets have 1-4: current and next
 * key). A set with more is not cut (a cut could drop the record that
 * matches and block good mail): it is kept as "TLS required, nothing to
 * authenticate against" and counted. */
#define POL_TLSA_RR_MAX 16
/* MX hosts per domain looked at (RFC 7672 does not bound them; real
 * domains list 1-10). */
#define POL_DANE_MX_MAX 16
/* Association bytes of one domain's cache file in all. */
#define POL_DANE_BYTES_MAX (64u << 10)
/* A cache file: 16 MX x 16 records x 4 KB in hex would be 2 MB; a file
 * over this is refused whole. */
#define POL_DANE_FILE_MAX (160u << 10)
/* Cache file name suffix: <domain>.dane */
#define POL_DANE_SUFFIX ".dane"

/* One TLSA record. data points into the caller's bytes (the RDATA, a
 * parsed file, or the table). */
struct pol_tlsa {
	uint8_t        usage;     /* POL_TLSA_* usage */
	uint8_t        selector;  /* POL_TLSA_SEL_* */
	uint8_t        mtype;     /* POL_TLSA_MT_* */
	uint16_t       len;       /* bytes at data (<= POL_TLSA_DATA_MAX when usable) */
	const uint8_t *data;      /* certificate association data */
};

/* Why a record is unusable (pol_tlsa_check). */
enum pol_tlsa_why {
	POL_TLSA_OK = 0,
	POL_TLSA_BAD_USAGE,       /* PKIX-TA(0), PKIX-EE(1) or unknown (RFC 7672 3.1.3) */
	POL_TLSA_BAD_SELECTOR,    /* not 0 or 1 */
	POL_TLSA_BAD_MTYPE,       /* not 0, 1 or 2 */
	POL_TLSA_BAD_LENGTH       /* digest not 32/64 bytes, empty or oversized full data */
};

/* Split one TLSA RDATA (usage, selector, mtype, data). 0, or -1 when
 * shorter than 4 bytes or longer than 65535. t->data points into rdata. */
int pol_tlsa_rdata(const uint8_t *rdata, size_t len, struct pol_tlsa *t);
/* May SMTP use this record? POL_TLSA_OK or why not. */
enum pol_tlsa_why pol_tlsa_check(const struct pol_tlsa *t);
int pol_tlsa_usable(const struct pol_tlsa *t);
const char *pol_tlsa_why_name(enum pol_tlsa_why w);

/* ---- the resolver's answer for one domain (the cache file) ---- */

/* DNSSEC state of a lookup, as the validating resolver says it. */
enum pol_dnssec {
	POL_DNSSEC_SECURE = 0,    /* validated */
	POL_DNSSEC_INSECURE,      /* provably unsigned: no DANE */
	POL_DNSSEC_BOGUS,         /* signed but does not validate: dnssec-invalid */
	POL_DNSSEC_FAILED         /* no answer (SERVFAIL, timeout): retried later */
};

/* What an MX host's TLSA lookup gave. */
enum pol_dane_mx_state {
	POL_DANE_MX_TLSA = 0,     /* secure TLSA RRset: DANE applies to this MX */
	POL_DANE_MX_NONE,         /* secure denial, or insecure: no DANE for this MX */
	POL_DANE_MX_BOGUS,        /* bogus TLSA (or address): this MX is unusable (RFC 7672 2.2.2) */
	POL_DANE_MX_FAILED        /* lookup failed: unknown */
};

struct pol_dane_mx {
	char     host[POL_NAME_BUF];       /* MX host, normalised: the TLSA base domain */
	enum pol_dane_mx_state state;
	size_t   ntlsa;                    /* records read (all, usable or not) */
	size_t   nusable;                  /* of them usable */
	int      too_many;                 /* more than POL_TLSA_RR_MAX: none is used */
	struct pol_tlsa tlsa[POL_TLSA_RR_MAX]; /* data points into the answer's bytes */
};

/* One domain's answer: what the resolver writes and the loader reads. */
struct pol_dane_answer {
	char     domain[POL_NAME_BUF];     /* normalised */
	enum pol_dnssec mx_state;          /* the MX RRset's DNSSEC state */
	int64_t  fetched;                  /* epoch s of the lookup */
	int64_t  until;                    /* epoch s the answer may be used to (TTL bound) */
	size_t   nmx;
	struct pol_dane_mx mx[POL_DANE_MX_MAX];
	size_t   nbytes;                   /* used of bytes[] */
	uint8_t  bytes[POL_DANE_BYTES_MAX];/* association data of all records */
};

/* Does DANE apply to the domain: a secure MX RRset with at least one MX
 * host whose TLSA RRset is secure? 1 or 0. */
int pol_dane_applies(const struct pol_dane_answer *a);
/* Was any part of the answer bogus (dnssec-invalid)? 1 or 0. */
int pol_dane_bogus(const struct pol_dane_answer *a);

/* Add a TLSA record to mx of a (copying data into a->bytes). 0; 1 when
 * it was counted but not kept (too many, or out of room: the set then
 * becomes too_many); -1 for a bad record shape. */
int pol_dane_add_tlsa(struct pol_dane_answer *a, struct pol_dane_mx *mx,
    const struct pol_tlsa *t);

/*
 * The cache file, text, one fact per line:
 *   dane 1
 *   domain example.net
 *   mx-rrset secure|insecure|bogus|failed
 *   fetched <epoch s>
 *   until <epoch s>
 *   mx <host> tlsa|none|bogus|failed
 *   tlsa <usage> <selector> <mtype> <hex>       (after its mx line)
 * pol_dane_format writes it into out (POL_DANE_FILE_MAX); returns the
 * length or -1 when it does not fit. pol_dane_parse reads it back: 0, or
 * -1 with err for anything malformed (the file is skipped whole).
 */
long pol_dane_format(const struct pol_dane_answer *a, char *out, size_t cap);
int pol_dane_parse(const char *buf, size_t len, struct pol_dane_answer *a,
    char *err, size_t errlen);

const char *pol_dnssec_name(enum pol_dnssec s);
const char *pol_dane_mx_state_name(enum pol_dane_mx_state s);

/* ---- the table the certificate check reads ---- */

struct pol_dane;

struct pol_dane *pol_dane_new(void);
void pol_dane_free(struct pol_dane *t);

/* Copy the TLSA records of every MX host of a that DANE applies to. 0, or
 * -1 with err (out of memory, table full). A host already in the table
 * (two domains sharing an MX) keeps its first set. */
int pol_dane_add(struct pol_dane *t, const struct pol_dane_answer *a, char *err, size_t errlen);

/* The records of MX host (any case, trailing dot allowed). Returns 1 with
 * *recs and *n (usable records only; *n may be 0: TLS required, no usable
 * record), or 0 when DANE does not apply to host. */
int pol_dane_lookup(const struct pol_dane *t, const char *host,
    const struct pol_tlsa **recs, size_t *n);

/* MX hosts held, and the bytes the table allocated for them. */
size_t pol_dane_count(const struct pol_dane *t);
size_t pol_dane_bytes(const struct pol_dane *t);

/* The domain policy an answer stands for: source POL_SRC_DANE, mode, the
 * MX hosts with TLSA as exact patterns (pointing into a; pats has room
 * for POL_DANE_MX_MAX), expires = a->until. 0, or -1 when DANE does not
 * apply. Fills e for pol_domain_add(). */
struct pol_domain_entry;
int pol_dane_entry(const struct pol_dane_answer *a, enum pol_mode mode,
    const char **pats, struct pol_domain_entry *e);

#endif
