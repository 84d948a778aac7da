/*
 * gw_polsrc.h - read the policy sources a configuration names into a
 * domain table: the EFF STARTTLS-Everywhere list and a directory of cached
 * MTA-STS policies. The parsing is policy/'s (pure); this file only reads
 * files and the clock, and says which file and what went wrong.
 */
#ifndef GATEWAY_GW_POLSRC_H
#define GATEWAY_GW_POLSRC_H

#include <stddef.h>
#include <stdint.h>

#include "../policy/pol_domain.h"
#include "../policy/pol_eff.h"

/* Load the EFF list at path. prev_ts: timestamp of the list loaded before
 * (0 = none): an older list is refused. 0, or -1 with "path: why" in err. */
int gw_polsrc_eff(struct pol_domain *d, const char *path, int64_t now,
    int64_t prev_ts, int keep_enforce, struct pol_eff_info *info,
    struct pol_warnings *w, char *err, size_t errlen);

/* Load every <domain>.txt of dir (fetch time = the file's mtime); bad or
 * expired files are skipped with a warning. *n gets the policies added.
 * 0, or -1 when the directory cannot be read. */
int gw_polsrc_sts_dir(struct pol_domain *d, const char *dir, int64_t now,
    size_t *n, struct pol_warnings *w, char *err, size_t errlen);

#endif
