/*
 * pol_sts.c - RFC 8461 policy text parser and the MTA-STS cache naming rule.
 *
 * A line-by-line parse over the caller's bytes: no allocation beyond the
 * caller's struct, no clock (fetch time and now come in), no files, no
 * logging. Errors carry the line number so the operator can open the
 * cache file at the right place.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pol_sts.h"

/* Longest value or key we quote back in an error message. */
#define STS_QUOTE_MAX 40

/* Required-once keys, as bits in a "seen" mask. */
#define STS_SEEN_VERSION 0x1
#define STS_SEEN_MODE    0x2
#define STS_SEEN_MAX_AGE 0x4

/* Is c RFC 5234 WSP (space or tab)? */
static int
sts_wsp(char c)
{
	return c == ' ' || c == '\t';
}

/* Does the counted string v[0..n) equal the literal s? */
static int
sts_eq(const char *v, size_t n, const char *s)
{
	return strlen(s) == n && memcmp(v, s, n) == 0;
}

/* Parse max_age digits (1..10 of them, RFC 8461 grammar) into *out. */
static int
sts_max_age(const char *v, size_t n, uint32_t *out)
{
	uint64_t a = 0;

	if (n == 0 || n > 10)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (v[i] < '0' || v[i] > '9')
			return -1;
		a = a * 10 + (uint64_t)(v[i] - '0');
	}
	if (a > POL_STS_MAX_AGE_MAX)
		return -1;
	*out = (uint32_t)a;
	return 0;
}

/* Handle one "key: value" pair of line `line`. 0, or -1 with err. */
static int
sts_field(struct pol_sts_policy *p, unsigned *seen, unsigned line,
    const char *k, size_t kn, const char *v, size_t vn, char *err, size_t errlen)
{
	int shown = vn > STS_QUOTE_MAX ? STS_QUOTE_MAX : (int)vn;
	unsigned bit = 0;

	if (sts_eq(k, kn, "version"))
		bit = STS_SEEN_VERSION;
	else if (sts_eq(k, kn, "mode"))
		bit = STS_SEEN_MODE;
	else if (sts_eq(k, kn, "max_age"))
		bit = STS_SEEN_MAX_AGE;
	if (bit != 0 && (*seen & bit)) {
		snprintf(err, errlen, "line %u: \"%.*s\" given twice", line, (int)kn, k);
		return -1;
	}
	*seen |= bit;
	if (bit == STS_SEEN_VERSION) {
		if (!sts_eq(v, vn, "STSv1")) {
			snprintf(err, errlen, "line %u: version \"%.*s\" is not STSv1", line, shown, v);
			return -1;
		}
	} else if (bit == STS_SEEN_MODE) {
		if (sts_eq(v, vn, "enforce"))
			p->mode = POL_MODE_ENFORCE;
		else if (sts_eq(v, vn, "testing"))
			p->mode = POL_MODE_TESTING;
		else if (sts_eq(v, vn, "none"))
			p->mode = POL_MODE_NONE;
		else {
			snprintf(err, errlen, "line %u: unknown mode \"%.*s\" (want enforce, testing or none)",
			    line, shown, v);
			return -1;
		}
	} else if (bit == STS_SEEN_MAX_AGE) {
		if (sts_max_age(v, vn, &p->max_age) == -1) {
			snprintf(err, errlen, "line %u: max_age \"%.*s\" is not a number of seconds up to %u",
			    line, shown, v, POL_STS_MAX_AGE_MAX);
			return -1;
		}
	} else if (sts_eq(k, kn, "mx")) {
		char perr[160];
		size_t j;

		if (p->n_mx >= POL_DOMAIN_MX_MAX) {
			snprintf(err, errlen, "line %u: more than %d mx patterns", line, POL_DOMAIN_MX_MAX);
			return -1;
		}
		/* The EFF ".suffix" form is not MTA-STS syntax: only "*." may lead. */
		if (vn > 0 && v[0] == '.') {
			snprintf(err, errlen, "line %u: mx \"%.*s\": a wildcard is written \"*.\"", line, shown, v);
			return -1;
		}
		if (pol_mx_pattern_norm(v, vn, p->mx[p->n_mx], sizeof(p->mx[0]), NULL,
		    perr, sizeof(perr)) < 0) {
			snprintf(err, errlen, "line %u: mx: %s", line, perr);
			return -1;
		}
		for (j = 0; j < p->n_mx; j++)
			if (strcmp(p->mx[j], p->mx[p->n_mx]) == 0)
				break;
		if (j == p->n_mx)
			p->n_mx++;   /* a repeated pattern is harmless: keep one */
	}
	/* Any other key is an extension: RFC 8461 3.2 says ignore it. */
	return 0;
}

int
pol_sts_parse(const void *buf, size_t len, struct pol_sts_policy *p,
    char *err, size_t errlen)
{
	const char *s = buf, *end = s + len;
	unsigned seen = 0, line = 0;

	memset(p, 0, sizeof(*p));
	if (len > POL_STS_MAX_BYTES) {
		snprintf(err, errlen, "policy of %zu bytes, more than %d", len, POL_STS_MAX_BYTES);
		return -1;
	}
	while (s < end) {
		const char *eol = memchr(s, '\n', (size_t)(end - s));
		const char *next = eol != NULL ? eol + 1 : end;
		const char *k, *ke, *v, *ve, *colon;

		line++;
		if (eol == NULL)
			eol = end;
		if (eol > s && eol[-1] == '\r')
			eol--;
		for (k = s; k < eol && sts_wsp(*k); k++)
			;
		for (ve = eol; ve > k && sts_wsp(ve[-1]); ve--)
			;
		s = next;
		if (k == ve)
			continue;   /* blank line */
		if (memchr(k, '\0', (size_t)(ve - k)) != NULL || memchr(k, '\r', (size_t)(ve - k)) != NULL) {
			snprintf(err, errlen, "line %u: NUL or CR inside the line", line);
			return -1;
		}
		colon = memchr(k, ':', (size_t)(ve - k));
		if (colon == NULL || colon == k) {
			snprintf(err, errlen, "line %u: not a \"key: value\" line", line);
			return -1;
		}
		for (ke = colon; ke > k && sts_wsp(ke[-1]); ke--)
			;
		for (v = colon + 1; v < ve && sts_wsp(*v); v++)
			;
		if (sts_field(p, &seen, line, k, (size_t)(ke - k), v, (size_t)(ve - v),
		    err, errlen) == -1)
			return -1;
	}
	if (!(seen & STS_SEEN_VERSION)) {
		snprintf(err, errlen, "no \"version: STSv1\" line");
		return -1;
	}
	if (!(seen & STS_SEEN_MODE)) {
		snprintf(err, errlen, "no \"mode\" line");
		return -1;
	}
	if (!(seen & STS_SEEN_MAX_AGE)) {
		snprintf(err, errlen, "no \"max_age\" line");
		return -1;
	}
	if (p->n_mx == 0 && p->mode != POL_MODE_NONE) {
		snprintf(err, errlen, "mode %s needs at least one \"mx\" line", pol_mode_name(p->mode));
		return -1;
	}
	return 0;
}

int
pol_sts_add(struct pol_domain *t, const char *domain, const void *buf,
    size_t len, int64_t fetched_at, int64_t now, struct pol_warnings *w,
    char *err, size_t errlen)
{
	struct pol_sts_policy *p;
	struct pol_domain_entry e;
	const char *mx[POL_DOMAIN_MX_MAX];
	char dom[POL_NAME_BUF], perr[200];
	int rc;

	if (pol_name_norm(domain, domain ? strlen(domain) : 0, dom, sizeof(dom), perr, sizeof(perr)) < 0) {
		snprintf(err, errlen, "MTA-STS: bad domain: %s", perr);
		return -1;
	}
	/* Load-time only: the parsed policy is too large for a small stack. */
	p = malloc(sizeof(*p));
	if (p == NULL) {
		snprintf(err, errlen, "MTA-STS policy for %.64s: out of memory", dom);
		return -1;
	}
	if (pol_sts_parse(buf, len, p, perr, sizeof(perr)) == -1) {
		snprintf(err, errlen, "MTA-STS policy for %.64s: %s", dom, perr);
		free(p);
		return -1;
	}
	if (fetched_at + (int64_t)p->max_age < now) {
		pol_warn(w, "MTA-STS policy for %.64s expired %lld s ago (max_age %u): skipped",
		    dom, (long long)(now - fetched_at - (int64_t)p->max_age), p->max_age);
		free(p);
		return 1;
	}
	memset(&e, 0, sizeof(e));
	e.domain = dom;
	e.source = POL_SRC_MTA_STS;
	e.mode = p->mode;
	e.fetched_at = fetched_at;
	e.max_age = p->max_age;
	e.expires = fetched_at + (int64_t)p->max_age;
	for (size_t i = 0; i < p->n_mx; i++)
		mx[i] = p->mx[i];
	e.mx = mx;
	e.n_mx = p->n_mx;
	rc = pol_domain_add(t, &e, w, err, errlen);
	free(p);
	return rc;
}

int
pol_sts_file_domain(const char *filename, char *out, size_t outlen)
{
	size_t n, sl = strlen(POL_STS_SUFFIX);

	if (filename == NULL)
		return -1;
	n = strlen(filename);
	if (n <= sl || strcmp(filename + n - sl, POL_STS_SUFFIX) != 0)
		return -1;
	n -= sl;
	/* "example.net..txt" would normalise to example.net: not our name. */
	if (filename[n - 1] == '.')
		return -1;
	if (pol_name_norm(filename, n, out, outlen, NULL, 0) < 0)
		return -1;
	if (strchr(out, '.') == NULL)
		return -1;
	return 0;
}
