/*
 * pol.h - what each mail server is expected to do: the policy lookups.
 *
 * A struct pol is built once (from bytes the gateway read: config, lists)
 * and then only read, so several engine threads may share it; a reload
 * builds a new one and swaps the pointer. Lookups never allocate, log,
 * read the clock or touch files.
 *
 * Precedence (DESIGN.md "Policy"), most specific first: config rule for the
 * server address (CIDR) -> domain policy -> learned pin -> policy.default.
 * What the operator wrote for every server (an address rule, else the
 * default) is the floor: a policy reached through a learned fact (a pin, a
 * host name from DNS or the greeting, a recipient domain, shared or
 * discovered facts) is taken only when pol_cmp() says it is not weaker, so
 * learning can raise an expectation and never lower one.
 */
#ifndef POLICY_POL_H
#define POLICY_POL_H

#include <stddef.h>
#include <stdint.h>

#include "../inspect/pkt.h"
#include "pol_types.h"

struct pol;

struct pol *pol_new(void);
void pol_free(struct pol *p);

void pol_set_default(struct pol *p, enum pol_mode mode, uint16_t min_tls);

/* Add a server-address rule; cidr is "192.0.2.0/24", "2001:db8::/32" or a
 * bare address. Returns 0, or -1 with a message in err. */
int pol_add_cidr(struct pol *p, const char *cidr, enum pol_mode mode,
    uint16_t min_tls, char *err, size_t errlen);

/* Resolve the policy for a server address (af 4 or 6). Longest prefix wins;
 * with none, the default applies. */
void pol_lookup_addr(const struct pol *p, uint8_t af,
    const struct pkt_addr *server, struct pol_match *out);

/* ---- domain policies (config domain rules, MTA-STS files, the EFF list) ---- */

struct pol_domain;

/* A reference to a domain policy of this struct pol, small enough to keep
 * in a flow; POL_REF_NONE when there is none. A reference is only
 * meaningful with the struct pol that issued it. */
#define POL_REF_NONE UINT32_MAX

/* Hand the domain table to p (p owns and frees it; d may be NULL). Indexes
 * every domain by smtp_name_hash() for recipient lookups. 0 or -1 (memory). */
int pol_set_domains(struct pol *p, struct pol_domain *d);
const struct pol_domain *pol_domains(const struct pol *p);
int pol_has_domains(const struct pol *p);

/* The domain policy listing an MX pattern that matches host name mx
 * (learned from DNS, or the server's banner name), as in force at now.
 * Returns 1 and fills out (match = the domain) and *ref, or 0. */
int pol_lookup_mx(const struct pol *p, const char *mx, int64_t now,
    struct pol_match *out, uint32_t *ref);

/* The policy of a recipient domain given by its smtp_name_hash(). */
int pol_lookup_domain_hash(const struct pol *p, uint64_t hash, int64_t now,
    struct pol_match *out, uint32_t *ref);

/* The match a reference stands for, as in force at now; 0 if it is gone. */
int pol_match_from_ref(const struct pol *p, uint32_t ref, int64_t now,
    struct pol_match *out);

/* The domain policy entry a reference stands for (its MX patterns), or
 * NULL. Valid as long as p. */
struct pol_domain_entry;
const struct pol_domain_entry *pol_ref_entry(const struct pol *p, uint32_t ref);

/* Hand the DANE table (MX host -> TLSA records, pol_dane.h) to p, which
 * owns and frees it; the domain entries of source POL_SRC_DANE go into the
 * domain table as usual. */
struct pol_dane;
void pol_set_dane(struct pol *p, struct pol_dane *t);
const struct pol_dane *pol_dane_table(const struct pol *p);

/* Number of address rules (for -t summaries). */
size_t pol_rule_count(const struct pol *p);

#endif
