/*
 * pol_sts.h - MTA-STS policies (RFC 8461 section 3.2) from a cache directory.
 *
 * The cache holds one policy per domain, in a file named "<domain>.txt"
 * whose content is the policy exactly as fetched from
 * https://mta-sts.<domain>/.well-known/mta-sts.txt. The caller lists the
 * directory, asks pol_sts_file_domain() which names are policies, reads
 * each file, and passes its bytes, the file's fetch time (its mtime) and
 * now to pol_sts_add(). Nothing here reads files, the clock or logs.
 */
#ifndef POLICY_POL_STS_H
#define POLICY_POL_STS_H

#include <stddef.h>
#include <stdint.h>

#include "pol_domain.h"

/* RFC 8461 3.3 suggests senders limit a policy body to 64 KiB. */
#define POL_STS_MAX_BYTES 65536
/* RFC 8461 3.2: max_age is at most 31557600 seconds (about one year). */
#define POL_STS_MAX_AGE_MAX 31557600u
/* The cache file suffix. */
#define POL_STS_SUFFIX ".txt"

/* A parsed policy. Large (about 16 KB): keep it off small stacks. */
struct pol_sts_policy {
	enum pol_mode mode;     /* enforce, testing or none */
	uint32_t max_age;       /* seconds, 0..POL_STS_MAX_AGE_MAX */
	size_t   n_mx;          /* patterns in mx[] (0 only with mode none) */
	char     mx[POL_DOMAIN_MX_MAX][POL_NAME_BUF]; /* normalised: "mx.example.net", "*.example.net" */
};

/*
 * Parse policy text: lines "key: value" ending in CRLF or LF (the last line
 * may lack its end). "version" (must be "STSv1"), "mode" ("enforce",
 * "testing", "none") and "max_age" are required once each, in any order;
 * "mx" is repeatable and required at least once unless mode is none. Keys
 * and values are case-sensitive (RFC 8461 uses %s strings). Unknown keys
 * are ignored; blank lines and spaces around values are tolerated. Returns
 * 0, or -1 with "line N: ..." in err (a duplicate non-mx key, a bad value,
 * a line without ':', a missing field, more than POL_DOMAIN_MX_MAX mx).
 */
int pol_sts_parse(const void *buf, size_t len, struct pol_sts_policy *out,
    char *err, size_t errlen);

/*
 * Parse a cached policy for domain and add it to t as a POL_SRC_MTA_STS
 * entry (expires = fetched_at + max_age, fetched_at and max_age kept).
 * Returns 0 when added; 1 when skipped with a warning: expired
 * (fetched_at + max_age < now; RFC 8461 5.1 says not to use it) or the
 * domain already has an MTA-STS entry; -1 with err (naming the domain) for
 * a bad domain or policy text.
 */
int pol_sts_add(struct pol_domain *t, const char *domain, const void *buf,
    size_t len, int64_t fetched_at, int64_t now, struct pol_warnings *w,
    char *err, size_t errlen);

/*
 * Is this directory entry a cached policy? For "<domain>.txt" with a valid
 * domain (at least one dot), writes the normalised domain into out
 * (POL_NAME_BUF) and returns 0; returns -1 for anything else (".", "..",
 * temporary files, "x.txt.tmp", "bad..name.txt"), which the caller skips.
 */
int pol_sts_file_domain(const char *filename, char *out, size_t outlen);

#endif
