/*
 * pol_eff.h - load the EFF STARTTLS-Everywhere policy list into a domain table.
 *
 * The caller reads the list file and passes its bytes, the current time and
 * the timestamp of the list it loaded before; pol_eff_load() validates the
 * whole list the way schema/policy-0.1.schema.json does, then adds one
 * POL_SRC_EFF entry per domain (policy-alias references resolved). Nothing
 * is added when validation fails. A list whose timestamp goes backwards is
 * refused; a list past `expires` loads with a warning and its enforce
 * policies lowered to testing (DESIGN.md "Policy") unless the caller says
 * otherwise. No clock, no files, no logging: errors go into err, warnings
 * into the caller's list. The only file of the project that uses jansson.
 */
#ifndef POLICY_POL_EFF_H
#define POLICY_POL_EFF_H

#include <stddef.h>
#include <stdint.h>

#include "pol_domain.h"

/* Option: keep `enforce` even when the list has expired (the operator
 * knows the list is stale and wants it enforced anyway). */
#define POL_EFF_F_KEEP_ENFORCE 0x01

/* A list bigger than this is refused before parsing: the real list is
 * about 120 KB for 926 domains; 64 MB leaves room for
 * some 400 000. */
#define POL_EFF_MAX_BYTES (64u * 1024 * 1024)

/* Room for an RFC 3339 time as pol_eff_time_format writes it. */
#define POL_EFF_TIME_BUF 32

/* What the caller knows and wants. */
struct pol_eff_opts {
	int64_t  now;            /* current time, epoch seconds */
	int64_t  prev_timestamp; /* timestamp of the previously loaded list, 0 = none */
	unsigned flags;          /* POL_EFF_F_* */
};

/* What was loaded, for `-t` summaries and the next load's prev_timestamp. */
struct pol_eff_info {
	int64_t timestamp;     /* list "timestamp", epoch seconds */
	int64_t expires;       /* list "expires", epoch seconds */
	int     expired;       /* 1 when now > expires */
	size_t  n_policies;    /* domains in "policies" */
	size_t  n_aliases;     /* entries in "policy-aliases" */
	size_t  n_via_alias;   /* domains whose policy is a policy-alias */
	size_t  n_enforce;     /* domains listed as enforce (before any lowering) */
	size_t  n_testing;     /* domains listed as testing */
	size_t  n_lowered;     /* added entries lowered from enforce to testing (expired) */
	size_t  n_added;       /* entries added to the table (duplicates excluded) */
};

/*
 * Parse the list in buf[0..len) and add its policies to t. Returns 0 on
 * success (info filled, warnings appended: expired list, duplicate domains,
 * unknown keys, which are ignored); -1 with a message in err (JSON syntax
 * error with its line, a missing or bad field naming the domain or alias,
 * an unknown mode, a missing/empty "mxs", an unknown policy-alias, version
 * other than "0.1", a timestamp older than o->prev_timestamp). On -1 the
 * table is unchanged, except after an out-of-memory error in the adding
 * phase: then the caller must discard the table. info may be NULL.
 */
int pol_eff_load(struct pol_domain *t, const void *buf, size_t len,
    const struct pol_eff_opts *o, struct pol_eff_info *info,
    struct pol_warnings *w, char *err, size_t errlen);

/*
 * RFC 3339 date-time ("2020-05-20T10:25:12.710034-07:00", "...Z"; the
 * fraction is dropped, the offset applied) -> epoch seconds. Only the
 * syntax the list's schema allows: years 1000-9999, no leap second.
 * 0, or -1 when s is not such a time.
 */
int pol_eff_time_parse(const char *s, int64_t *out);

/* Epoch seconds -> "2020-06-03T17:25:12Z" into buf (POL_EFF_TIME_BUF). */
void pol_eff_time_format(int64_t t, char *buf, size_t len);

#endif
