/*
 * gw_stscache.c - the MTA-STS cache directory (see gw_stscache.h).
 * Writes go through one atomic writer; reads go through gw_read_file and
 * the pure parsers of policy/. Nothing here trusts a file's content.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../policy/pol_mx.h"
#include "../policy/pol_sts.h"
#include "gw_config.h"
#include "gw_file.h"
#include "gw_stscache.h"

/* A .none file is one short line. */
#define GW_NONE_MAX 64
#define GW_NONE_SUFFIX ".none"

static int unlinkat_quiet(const char *dir, const char *name);

int
gw_stscache_put(const char *dir, const char *domain, const void *body, size_t len,
    const char *id, char *err, size_t errlen)
{
	char name[POL_NAME_BUF + 8], line[RS_STS_ID_MAX + 2];

	snprintf(name, sizeof(name), "%s" POL_STS_SUFFIX, domain);
	if (gw_write_atomic(dir, name, body, len, err, errlen) == -1)
		return -1;
	snprintf(name, sizeof(name), "%s" GW_NONE_SUFFIX, domain);
	(void)unlinkat_quiet(dir, name);
	snprintf(name, sizeof(name), "%s.id", domain);
	snprintf(line, sizeof(line), "%s\n", id);
	return gw_write_atomic(dir, name, line, strlen(line), err, errlen);
}

int
gw_stscache_known_id(const char *dir, const char *domain, int64_t now, char *id)
{
	char path[GW_PATH_MAX], perr[256];
	struct pol_sts_policy *pol;
	struct stat sb;
	size_t n;
	char *buf;
	int ok = 0;

	snprintf(path, sizeof(path), "%s/%s.id", dir, domain);
	if ((buf = gw_read_file(path, RS_STS_ID_MAX + 2, &n, NULL, perr, sizeof(perr))) == NULL)
		return 0;
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = '\0';
	if (n == 0 || n > RS_STS_ID_MAX || strspn(buf, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") != n) {
		free(buf);
		return 0;
	}
	memcpy(id, buf, n + 1);
	free(buf);
	snprintf(path, sizeof(path), "%s/%s" POL_STS_SUFFIX, dir, domain);
	if ((buf = gw_read_file(path, POL_STS_MAX_BYTES, &n, &sb, perr, sizeof(perr))) == NULL)
		return 0;
	if ((pol = malloc(sizeof(*pol))) != NULL &&
	    pol_sts_parse(buf, n, pol, perr, sizeof(perr)) == 0)
		/* RFC 8461 5.1: an expired policy is not used; fetch it again. */
		ok = (int64_t)sb.st_mtime + pol->max_age >= now;
	free(pol);
	free(buf);
	return ok;
}

int
gw_stscache_put_none(const char *dir, const char *domain, int64_t until, unsigned fails,
    char *err, size_t errlen)
{
	char name[POL_NAME_BUF + 8], line[GW_NONE_MAX];

	snprintf(name, sizeof(name), "%s" GW_NONE_SUFFIX, domain);
	snprintf(line, sizeof(line), "until=%" PRId64 " fails=%u\n", until, fails);
	return gw_write_atomic(dir, name, line, strlen(line), err, errlen);
}

int
gw_stscache_parse_none(const char *buf, size_t len, int64_t *until, unsigned *fails)
{
	char line[GW_NONE_MAX], tail;
	long long u;

	if (len == 0 || len >= sizeof(line) || memchr(buf, '\0', len) != NULL)
		return -1;
	memcpy(line, buf, len);
	line[len] = '\0';
	if (sscanf(line, "until=%lld fails=%u%c", &u, fails, &tail) != 3 || tail != '\n' ||
	    u < 0 || *fails > 1000)
		return -1;
	*until = (int64_t)u;
	return 0;
}

/* unlink dir/name, ignoring a missing file. */
static int
unlinkat_quiet(const char *dir, const char *name)
{
	char path[GW_PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return unlink(path) == -1 && errno != ENOENT ? -1 : 0;
}

void
gw_stscache_remove(const char *dir, const char *domain)
{
	static const char *const sfx[] = { POL_STS_SUFFIX, ".id", GW_NONE_SUFFIX };
	char name[POL_NAME_BUF + 8];

	for (size_t i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++) {
		snprintf(name, sizeof(name), "%s%s", domain, sfx[i]);
		(void)unlinkat_quiet(dir, name);
	}
}

/* "<domain>.none" -> the normalised domain in out; -1 for anything else. */
static int
none_domain(const char *fname, char *out, size_t outlen)
{
	size_t l = strlen(fname), sl = sizeof(GW_NONE_SUFFIX) - 1;
	char err[64];

	if (l <= sl || strcmp(fname + l - sl, GW_NONE_SUFFIX) != 0 || fname[0] == '.')
		return -1;
	if (pol_name_norm(fname, l - sl, out, outlen, err, sizeof(err)) < 0 ||
	    strchr(out, '.') == NULL)
		return -1;
	return 0;
}

int
gw_stscache_scan(const char *dir, gw_stscache_fn fn, void *arg, char *err, size_t errlen)
{
	char domain[POL_NAME_BUF], path[GW_PATH_MAX], ferr[256];
	struct dirent *de;
	DIR *dp;

	if ((dp = opendir(dir)) == NULL) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return -1;
	}
	while ((de = readdir(dp)) != NULL) {
		struct stat sb;
		int64_t until;
		unsigned fails;
		size_t len;
		char *buf;

		if (pol_sts_file_domain(de->d_name, domain, sizeof(domain)) == 0) {
			snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
			if (stat(path, &sb) == 0 && S_ISREG(sb.st_mode))
				fn(arg, domain, 1, 0, 0, (int64_t)sb.st_mtime);
			continue;
		}
		if (none_domain(de->d_name, domain, sizeof(domain)) == -1)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if ((buf = gw_read_file(path, GW_NONE_MAX, &len, &sb, ferr, sizeof(ferr))) == NULL)
			continue;
		if (gw_stscache_parse_none(buf, len, &until, &fails) == 0)
			fn(arg, domain, 0, until, fails, (int64_t)sb.st_mtime);
		free(buf);
	}
	closedir(dp);
	return 0;
}
