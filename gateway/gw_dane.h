/*
 * gw_dane.h - the DANE cache directory (discovery.dane.dir): one file per
 * domain, <domain>.dane, in pol_dane.h's text format, written atomically
 * by dane-fetch (and the resolver process), read at load into the domain
 * table (source dane) and the MX -> TLSA table of the struct pol.
 *
 * The parsing is policy/pol_dane.c's; this file reads and writes files and
 * says which file and what went wrong. A broken file costs its domain, a
 * warning, never the load.
 */
#ifndef GATEWAY_GW_DANE_H
#define GATEWAY_GW_DANE_H

#include <stddef.h>
#include <stdint.h>

#include "../policy/pol_dane.h"
#include "../policy/pol_domain.h"

/* What a load found (for -t, the log and the metrics). */
struct gw_dane_counts {
	size_t files;      /* <domain>.dane files read */
	size_t applied;    /* domains DANE applies to: policies added */
	size_t insecure;   /* insecure or no TLSA: nothing enforced */
	size_t bogus;      /* an MX or TLSA RRset was bogus: dnssec-invalid, no policy */
	size_t expired;    /* past their TTL: not used */
	size_t broken;     /* unreadable or malformed: skipped with a warning */
	size_t hosts;      /* MX hosts with TLSA records in the table */
	size_t bytes;      /* memory of the table */
};

/* Write a as dir/<domain>.dane. 0, or -1 with err. */
int gw_dane_put(const char *dir, const struct pol_dane_answer *a, char *err, size_t errlen);

/* Read a cached answer of domain from dir into a (allocated by the
 * caller). 1 when read, 0 when there is none, -1 with err when broken. */
int gw_dane_get(const char *dir, const char *domain, struct pol_dane_answer *a,
    char *err, size_t errlen);

/* Load every <domain>.dane of dir: answers DANE applies to (and still
 * within their TTL at now) become domain policies of mode mode in dom and
 * TLSA sets in tab. 0, or -1 with err when the directory cannot be read. */
int gw_dane_load_dir(struct pol_domain *dom, struct pol_dane *tab, const char *dir,
    enum pol_mode mode, int64_t now, struct gw_dane_counts *cnt, struct pol_warnings *w,
    char *err, size_t errlen);

#endif
