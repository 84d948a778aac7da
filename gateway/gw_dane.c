/*
 * gw_dane.c - the DANE cache directory (gw_dane.h): atomic writes through
 * gw_write_atomic, reads through gw_read_file and pol_dane_parse.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_dane.h"
#include "gw_file.h"

/* The domain of a cache file name "<domain>.dane", normalised; -1 if the
 * name is not one (temporary files start with a dot). */
static int
file_domain(const char *name, char *domain)
{
	size_t n = strlen(name), sl = strlen(POL_DANE_SUFFIX);

	if (n <= sl || name[0] == '.' || strcmp(name + n - sl, POL_DANE_SUFFIX) != 0)
		return -1;
	if (pol_name_norm(name, n - sl, domain, POL_NAME_BUF, NULL, 0) != (int)(n - sl) ||
	    memcmp(domain, name, n - sl) != 0)
		return -1;
	return 0;
}

int
gw_dane_put(const char *dir, const struct pol_dane_answer *a, char *err, size_t errlen)
{
	char name[POL_NAME_BUF + 8], *buf;
	long n;
	int rc;

	if ((buf = malloc(POL_DANE_FILE_MAX)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	snprintf(name, sizeof(name), "%s" POL_DANE_SUFFIX, a->domain);
	if ((n = pol_dane_format(a, buf, POL_DANE_FILE_MAX)) < 0) {
		snprintf(err, errlen, "%s: answer too large for a cache file", a->domain);
		free(buf);
		return -1;
	}
	rc = gw_write_atomic(dir, name, buf, (size_t)n, err, errlen);
	free(buf);
	return rc;
}

int
gw_dane_get(const char *dir, const char *domain, struct pol_dane_answer *a, char *err,
    size_t errlen)
{
	char path[4096], perr[160];
	size_t len;
	char *buf;
	int rc;

	snprintf(path, sizeof(path), "%s/%s" POL_DANE_SUFFIX, dir, domain);
	if ((buf = gw_read_file(path, POL_DANE_FILE_MAX, &len, NULL, err, errlen)) == NULL)
		return errno == ENOENT ? 0 : -1;
	rc = pol_dane_parse(buf, len, a, perr, sizeof(perr));
	free(buf);
	if (rc == -1) {
		snprintf(err, errlen, "%s: %s", path, perr);
		return -1;
	}
	return 1;
}

int
gw_dane_load_dir(struct pol_domain *dom, struct pol_dane *tab, const char *dir,
    enum pol_mode mode, int64_t now, struct gw_dane_counts *cnt, struct pol_warnings *w,
    char *err, size_t errlen)
{
	struct pol_dane_answer *a;
	char domain[POL_NAME_BUF], ferr[512];
	const char *pats[POL_DANE_MX_MAX];
	struct pol_domain_entry e;
	struct dirent *de;
	DIR *dp;

	memset(cnt, 0, sizeof(*cnt));
	if ((dp = opendir(dir)) == NULL) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return -1;
	}
	if ((a = malloc(sizeof(*a))) == NULL) {
		closedir(dp);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	while ((de = readdir(dp)) != NULL) {
		int rc;

		if (file_domain(de->d_name, domain) == -1)
			continue;
		cnt->files++;
		rc = gw_dane_get(dir, domain, a, ferr, sizeof(ferr));
		if (rc == 1 && strcmp(a->domain, domain) != 0) {
			snprintf(ferr, sizeof(ferr), "%s/%s: holds another domain (%s)", dir,
			    de->d_name, a->domain);
			rc = -1;
		}
		if (rc != 1) {
			cnt->broken++;
			pol_warn(w, "%s", rc == 0 ? "cache file vanished while loading" : ferr);
			continue;
		}
		if (pol_dane_bogus(a)) {
			cnt->bogus++;  /* dnssec-invalid: no policy from it (RFC 7672 2.1.1) */
			continue;
		}
		if (!pol_dane_applies(a)) {
			cnt->insecure++;
			continue;
		}
		if (a->until < now) {
			cnt->expired++;
			continue;
		}
		if (pol_dane_entry(a, mode, pats, &e) == -1 ||
		    pol_domain_add(dom, &e, w, ferr, sizeof(ferr)) == -1 ||
		    pol_dane_add(tab, a, ferr, sizeof(ferr)) == -1) {
			cnt->broken++;
			pol_warn(w, "%s/%s: %s", dir, de->d_name, ferr);
			continue;
		}
		cnt->applied++;
	}
	closedir(dp);
	free(a);
	cnt->hosts = pol_dane_count(tab);
	cnt->bytes = pol_dane_bytes(tab);
	return 0;
}
