/*
 * gw_stscache.h - the MTA-STS cache directory (policy.mta_sts_dir).
 *
 * Per domain, as sts-fetch has always written it and gw_polsrc.c reads it:
 *   <domain>.txt   the policy exactly as fetched; its mtime is the fetch time
 *   <domain>.id    the _mta-sts TXT id it was fetched under, one line
 * and, for discovery's negative cache (ignored by the policy loader):
 *   <domain>.none  "until=<epoch s> fails=<n>": no policy until then
 * Every write is atomic (temporary file, fsync, rename, fsync of the
 * directory), so a crash leaves the old file or the new one, never half of
 * one, and a reader never sees a temporary file as a policy. Only this
 * file and gw_polsrc.c touch the directory.
 */
#ifndef GATEWAY_GW_STSCACHE_H
#define GATEWAY_GW_STSCACHE_H

#include <stddef.h>
#include <stdint.h>

#include "../resolver/rs_sts.h"

/* Write body as <domain>.txt (fetched now) and id as <domain>.id. 0, or -1
 * with err (the policy may be in place without its id: a refetch fixes it). */
int gw_stscache_put(const char *dir, const char *domain, const void *body, size_t len,
    const char *id, char *err, size_t errlen);

/* The id of a cached policy that is still usable at now (parses, not past
 * fetch time + max_age): 1 with id (RS_STS_ID_MAX + 1 bytes), else 0. */
int gw_stscache_known_id(const char *dir, const char *domain, int64_t now, char *id);

/* Negative entry: no policy for domain until `until`; fails = consecutive
 * failures (backoff). 0, or -1 with err. */
int gw_stscache_put_none(const char *dir, const char *domain, int64_t until, unsigned fails,
    char *err, size_t errlen);

/* Parse the content of a <domain>.none file. 0, or -1 when malformed. */
int gw_stscache_parse_none(const char *buf, size_t len, int64_t *until, unsigned *fails);

/* Remove every file of domain (eviction). */
void gw_stscache_remove(const char *dir, const char *domain);

/* Call fn for each cache entry of dir: domain (normalised), whether it is
 * a policy (.txt) or a negative entry (.none, with until/fails), and the
 * file's mtime. Malformed names and files are skipped. 0, or -1 with err
 * when the directory cannot be read. */
typedef void (*gw_stscache_fn)(void *arg, const char *domain, int positive, int64_t until,
    unsigned fails, int64_t mtime);
int gw_stscache_scan(const char *dir, gw_stscache_fn fn, void *arg, char *err, size_t errlen);

#endif
