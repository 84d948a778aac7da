/*
 * pol_types.h - the words every policy module shares: modes, sources,
 * minimum TLS versions, the answer of a lookup (struct pol_match), and
 * their names.
 *
 * The bottom of policy/: it includes nothing of policy/ itself, so the
 * address rules (pol.h), the domain table (pol_domain.h) and the sources
 * built on it (pol_sts.h, pol_eff.h, pol_pins.h) depend on it and never on
 * each other in a circle. No allocation, I/O, logging or clock.
 */
#ifndef POLICY_POL_TYPES_H
#define POLICY_POL_TYPES_H

#include <stdint.h>

enum pol_mode {
	POL_MODE_NONE = 0,   /* ignore: no expectation, no blocking */
	POL_MODE_TESTING,    /* alert only */
	POL_MODE_ENFORCE     /* block */
};

enum pol_source {
	POL_SRC_DEFAULT = 0,
	POL_SRC_CONFIG,
	POL_SRC_MTA_STS,
	POL_SRC_EFF,
	POL_SRC_PIN,
	POL_SRC_DANE      /* secure TLSA records for the MX (RFC 7672) */
};

/* Sources counted per flow (enum pol_source values). */
#define POL_SRC_COUNT 6

/* TLS versions as the wire's minor number: 1.0 = 0x0301 ... 1.3 = 0x0304. */
#define POL_TLS_1_0 0x0301
#define POL_TLS_1_1 0x0302
#define POL_TLS_1_2 0x0303
#define POL_TLS_1_3 0x0304

#define POL_MATCH_MAX 96

struct pol_match {
	enum pol_mode   mode;     /* what applies to this server */
	enum pol_source source;   /* where it came from */
	uint16_t        min_tls;  /* minimum TLS version, POL_TLS_* */
	char            match[POL_MATCH_MAX]; /* the rule as written ("203.0.113.0/24"), "" for default */
};

/* Does this match make TLS expected? (enforce/testing from a non-default
 * source, or a default mode of enforce.) */
int pol_expects_tls(const struct pol_match *m);

/* Compare the strength of two matches: < 0 when a is weaker than b, 0 when
 * equal, > 0 when stronger. Expecting TLS is stronger than not, then
 * enforce > testing > none. A fact learned at run time (pin, DNS name,
 * greeting name, recipient domain, shared or discovered policy) replaces
 * the flow's policy only when pol_cmp(learned, current) >= 0. */
int pol_cmp(const struct pol_match *a, const struct pol_match *b);

const char *pol_mode_name(enum pol_mode m);
const char *pol_source_name(enum pol_source s);
/* "enforce" / "testing" / "none" -> mode; -1 when unknown. */
int pol_mode_parse(const char *s, enum pol_mode *out);
/* "1.0" .. "1.3" -> POL_TLS_*; -1 when unknown. */
int pol_tls_parse(const char *s, uint16_t *out);

#endif
