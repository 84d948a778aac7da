/*
 * pol_mx.h - domain names and MX patterns: normalise, validate, match.
 *
 * A name is normalised once (lowercase ASCII, one trailing dot dropped,
 * RFC 1035 lengths checked) and then compared byte for byte. Patterns follow
 * RFC 8461 section 4.1: an exact name, or "*." followed by a name, where the
 * "*" stands for exactly one leftmost label; the EFF list's ".example.net"
 * is read as "*.example.net". IDNA names must be given as A-labels
 * ("xn--..."), which are plain ASCII; anything else outside [a-z0-9-_] is
 * refused. Pure functions: no allocation, no logging, no I/O.
 */
#ifndef POLICY_POL_MX_H
#define POLICY_POL_MX_H

#include <stddef.h>

/* RFC 1035 2.3.4: 255 octets on the wire = 253 characters in text form
 * (no trailing dot). */
#define POL_NAME_MAX 253
/* RFC 1035 2.3.4: 63 octets per label. */
#define POL_LABEL_MAX 63
/* Room for a normalised name or pattern: "*." + a 253-character name is
 * refused (the pattern would match names over 253), so 253 + NUL suffices. */
#define POL_NAME_BUF (POL_NAME_MAX + 1)

/*
 * Normalise the name in[0..len) (not NUL-terminated necessarily) into out
 * (outlen >= POL_NAME_BUF is always enough): lowercase, one trailing dot
 * stripped, every label 1..63 characters of [a-z0-9-_], total <= 253.
 * Returns the length written (without the NUL), or -1 with a message in err.
 */
int pol_name_norm(const char *in, size_t len, char *out, size_t outlen,
    char *err, size_t errlen);

/*
 * Normalise an MX pattern: "mx.example.net", "*.example.net" or the EFF
 * form ".example.net" (stored as "*.example.net"). *wildcard (may be NULL)
 * is set to 1 for a wildcard pattern. A "*" anywhere else ("a*.b", "*",
 * "*.*.b") is refused. Returns the length written, or -1 with err.
 */
int pol_mx_pattern_norm(const char *in, size_t len, char *out, size_t outlen,
    int *wildcard, char *err, size_t errlen);

/*
 * Does the MX host name match the pattern? Both are taken as written (any
 * case, trailing dot or not, ".x" or "*.x" for the pattern) and normalised
 * on the stack; an invalid pattern or host matches nothing. 1 or 0.
 */
int pol_mx_match(const char *pattern, const char *host);

/* The same for an already normalised pattern and host (pol_name_norm,
 * pol_mx_pattern_norm output): no validation, just the comparison. */
int pol_mx_match_norm(const char *pattern, const char *host);

/* The name after its leftmost label ("b.c" for "a.b.c"), or NULL when the
 * name has a single label. Points into name. */
const char *pol_name_parent(const char *name);

#endif
