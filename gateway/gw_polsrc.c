/*
 * gw_polsrc.c - read the EFF list and the MTA-STS cache (see gw_polsrc.h).
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../policy/pol_mx.h"
#include "../policy/pol_sts.h"
#include "gw_file.h"
#include "gw_polsrc.h"

/* An MTA-STS policy is a few hundred bytes; RFC 8461 3.3 lets a sender
 * refuse more than 64 KiB. */
#define GW_STS_FILE_MAX (64u * 1024)

int
gw_polsrc_eff(struct pol_domain *d, const char *path, int64_t now, int64_t prev_ts,
    int keep_enforce, struct pol_eff_info *info, struct pol_warnings *w,
    char *err, size_t errlen)
{
	struct pol_eff_opts o = { now, prev_ts, keep_enforce ? POL_EFF_F_KEEP_ENFORCE : 0 };
	char perr[256];
	struct stat sb;
	size_t len;
	char *buf;
	int rc;

	if ((buf = gw_read_file(path, POL_EFF_MAX_BYTES, &len, &sb, err, errlen)) == NULL)
		return -1;
	rc = pol_eff_load(d, buf, len, &o, info, w, perr, sizeof(perr));
	free(buf);
	if (rc == -1) {
		snprintf(err, errlen, "%s: %s", path, perr);
		return -1;
	}
	return 0;
}

int
gw_polsrc_sts_dir(struct pol_domain *d, const char *dir, int64_t now, size_t *n,
    struct pol_warnings *w, char *err, size_t errlen)
{
	char domain[POL_NAME_BUF], path[4096], ferr[512];
	struct dirent *de;
	struct stat sb;
	DIR *dp;

	*n = 0;
	if ((dp = opendir(dir)) == NULL) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return -1;
	}
	while ((de = readdir(dp)) != NULL) {
		size_t len;
		char *buf;

		if (pol_sts_file_domain(de->d_name, domain, sizeof(domain)) == -1)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if ((buf = gw_read_file(path, GW_STS_FILE_MAX, &len, &sb, ferr, sizeof(ferr))) == NULL) {
			pol_warn(w, "%s", ferr);
			continue;
		}
		int rc = pol_sts_add(d, domain, buf, len, (int64_t)sb.st_mtime, now, w, ferr,
		    sizeof(ferr));
		if (rc == 0)
			(*n)++;
		else if (rc == -1)
			pol_warn(w, "%s: %s", path, ferr); /* a broken file costs its domain only */
		free(buf);
	}
	closedir(dp);
	return 0;
}
