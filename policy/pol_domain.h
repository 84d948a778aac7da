/*
 * pol_domain.h - the domain policy table: recipient domain -> mode + MX patterns.
 *
 * Entries come from four sources (config rules, DANE answers, MTA-STS cache files, the
 * EFF list); the table is filled once at load time (pol_domain_add copies
 * everything it is given) and then only read, so engine threads may share
 * it. Lookups are hash-based, never allocate, log, read the clock or touch
 * files: the caller passes `now`. Precedence (DESIGN.md "Policy"): config -> DANE ->
 * MTA-STS -> EFF; for an MX name, within one source an exact pattern beats a
 * wildcard. The caller serialises adds against lookups (build, then share).
 */
#ifndef POLICY_POL_DOMAIN_H
#define POLICY_POL_DOMAIN_H

#include <stddef.h>
#include <stdint.h>

#include "pol_mx.h"
#include "pol_types.h"

/* ---- warnings collected while loading, for `-t` and the log ---- */

/* One warning line; longer text is cut (names are quoted cut to 64). */
#define POL_WARN_LEN 200

/* A caller-owned list of warnings. Loaders append; when full, further
 * warnings are only counted in `lost`. A NULL list discards warnings. */
struct pol_warnings {
	char   (*msg)[POL_WARN_LEN]; /* caller's array of cap lines */
	size_t cap;                  /* lines the array holds */
	size_t n;                    /* lines written, <= cap */
	size_t lost;                 /* warnings that did not fit */
};

/* Point w at the caller's array msg[cap] and empty it. */
void pol_warn_init(struct pol_warnings *w, char (*msg)[POL_WARN_LEN], size_t cap);

/* Append a warning (printf format). w may be NULL. */
void pol_warn(struct pol_warnings *w, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* ---- the table ---- */

/* At most this many MX patterns per domain: the EFF list has at most 8 and
 * MTA-STS policies rarely more than a handful; the bound keeps a hostile
 * policy file from growing the table without limit. */
#define POL_DOMAIN_MX_MAX 64
/* At most this many entries per table (all sources): the EFF list has 926,
 * an MTA-STS cache of a large relay a few hundred thousand. */
#define POL_DOMAIN_MAX (1u << 20)

/* Entry flags. */
#define POL_DOMAIN_F_STALE        0x01 /* its list had expired at load: mode lowered to testing */
#define POL_DOMAIN_F_KEEP_ENFORCE 0x02 /* keep enforce even once `expires` passes (operator option) */

/*
 * One domain policy. To add, fill one (strings need not be normalised: the
 * table copies and normalises them) and call pol_domain_add(); entries the
 * table hands back point into the table and live as long as it.
 */
struct pol_domain_entry {
	const char *domain;        /* recipient domain ("example.net"), normalised in the table */
	enum pol_mode mode;        /* mode in force (after any lowering at load) */
	enum pol_mode listed_mode; /* mode as the source wrote it (set by pol_domain_add: enforce if STALE, else mode) */
	enum pol_source source;    /* POL_SRC_CONFIG, _DANE, _MTA_STS or _EFF */
	uint16_t min_tls;          /* POL_TLS_*, 0 = the caller's default applies */
	uint8_t  flags;            /* POL_DOMAIN_F_* */
	int64_t  expires;          /* epoch s after which the source is stale, 0 = never */
	int64_t  fetched_at;       /* MTA-STS: fetch time; EFF: list timestamp; else 0 */
	uint32_t max_age;          /* MTA-STS max_age in seconds, else 0 */
	size_t   n_mx;             /* patterns in mx[]; 0 = matched by recipient domain only */
	const char *const *mx;     /* patterns: "mx.example.net", "*.example.net" (".x" accepted on add) */
};

/*
 * A lookup result. `mode` is what applies at `now`: an MTA-STS entry past
 * `expires` is not returned at all (RFC 8461 5.1: an expired policy is not
 * used); an EFF entry past `expires` is lowered from enforce to testing
 * unless it carries POL_DOMAIN_F_KEEP_ENFORCE.
 */
struct pol_domain_hit {
	const struct pol_domain_entry *entry; /* the winning policy */
	const char *pattern;  /* MX lookups: the normalised pattern that matched; else NULL */
	enum pol_mode mode;   /* effective mode at `now` */
	int stale;            /* 1 when the mode was lowered because the source expired */
	size_t matches;       /* how many (entry, pattern) pairs matched in all, for diagnostics */
};

struct pol_domain;

/* An empty table, or NULL when out of memory. */
struct pol_domain *pol_domain_new(void);
void pol_domain_free(struct pol_domain *t);

/*
 * Copy e into the table. The domain and every pattern are normalised;
 * patterns equal after normalisation are kept once. Returns 0 when added;
 * 1 when the same domain already has an entry from the same source (a
 * conflict: the first definition is kept, a warning names both); -1 with a
 * message in err for a bad name or pattern, too many patterns or entries,
 * an unknown source or mode, or out of memory.
 */
int pol_domain_add(struct pol_domain *t, const struct pol_domain_entry *e,
    struct pol_warnings *w, char *err, size_t errlen);

/*
 * Policy for a recipient domain (exact match after normalisation: a policy
 * for "example.net" says nothing about "lists.example.net"). When several
 * sources define it, the first by precedence (config, DANE, MTA-STS, EFF) that is
 * usable at `now` wins. Returns 1 and fills hit, or 0 (hit zeroed).
 */
int pol_domain_find(const struct pol_domain *t, const char *domain,
    int64_t now, struct pol_domain_hit *hit);

/* The same, restricted to one source. */
int pol_domain_find_src(const struct pol_domain *t, const char *domain,
    enum pol_source source, int64_t now, struct pol_domain_hit *hit);

/*
 * Which domain policy lists a pattern matching this MX host name? When
 * several do, the winner is chosen by: source precedence (config, DANE, MTA-STS,
 * EFF), then an exact pattern before a wildcard, then the stricter
 * effective mode, then the entry added first. Returns 1 and fills hit, or 0.
 */
int pol_domain_match_mx(const struct pol_domain *t, const char *mx,
    int64_t now, struct pol_domain_hit *hit);

/*
 * Fill a struct pol_match (pol.h) from a hit, for alerts: mode, source,
 * min_tls (def_min_tls when the entry has none) and match = the domain,
 * cut to fit POL_MATCH_MAX.
 */
void pol_domain_hit_match(const struct pol_domain_hit *hit, uint16_t def_min_tls,
    struct pol_match *out);

/* Entries held, in all or from one source (for `-t` summaries). */
size_t pol_domain_count(const struct pol_domain *t);
size_t pol_domain_count_src(const struct pol_domain *t, enum pol_source source);

/* The i-th entry in the order added (i < pol_domain_count), for listings. */
const struct pol_domain_entry *pol_domain_at(const struct pol_domain *t, size_t i);

#endif
