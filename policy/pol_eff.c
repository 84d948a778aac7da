/*
 * pol_eff.c - EFF STARTTLS-Everywhere list (JSON) -> POL_SRC_EFF domain entries.
 *
 * Two passes over the parsed document: the first validates every alias and
 * policy and counts, the second adds, so a bad list leaves the table as it
 * was. jansson is included here and nowhere else; the parsed document is
 * freed before returning. No clock (the caller passes now), no files, no
 * logging. RFC 3339 times are parsed here by hand, without the C library's
 * time zone machinery, so the result never depends on TZ.
 */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "pol_eff.h"

/* Seconds in a day, and the offset of 1970-01-01 from 0000-03-01. */
#define EFF_DAY 86400
#define EFF_EPOCH_DAYS 719468

/* One validated policy: what pass two adds. */
struct eff_pol {
	enum pol_mode mode;                     /* as listed */
	const char   *mx[POL_DOMAIN_MX_MAX];    /* point into the JSON document */
	size_t        n_mx;                     /* patterns in mx */
};

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant). */
static int64_t
eff_days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - EFF_EPOCH_DAYS;
}

/* Read n decimal digits at s into *v. 0, or -1 if one is not a digit. */
static int
eff_digits(const char *s, int n, unsigned *v)
{
	*v = 0;
	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		*v = *v * 10 + (unsigned)(s[i] - '0');
	}
	return 0;
}

int
pol_eff_time_parse(const char *s, int64_t *out)
{
	static const unsigned mdays[12] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	unsigned y, mo, d, h, mi, sec, oh = 0, om = 0;
	int64_t t;
	int sign = 0;

	if (s == NULL || strlen(s) < 20)
		return -1;
	if (eff_digits(s, 4, &y) || s[4] != '-' || eff_digits(s + 5, 2, &mo) ||
	    s[7] != '-' || eff_digits(s + 8, 2, &d) || (s[10] != 'T' && s[10] != 't') ||
	    eff_digits(s + 11, 2, &h) || s[13] != ':' || eff_digits(s + 14, 2, &mi) ||
	    s[16] != ':' || eff_digits(s + 17, 2, &sec))
		return -1;
	if (y < 1000 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] ||
	    h > 23 || mi > 59 || sec > 59)
		return -1;
	if (mo == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return -1;
	s += 19;
	if (*s == '.') {
		/* Fractional seconds: any number of digits, at least one; dropped. */
		if (s[1] < '0' || s[1] > '9')
			return -1;
		for (s++; *s >= '0' && *s <= '9'; s++)
			;
	}
	if (*s == 'Z' || *s == 'z') {
		s++;
	} else if (*s == '+' || *s == '-') {
		sign = *s == '+' ? 1 : -1;
		if (eff_digits(s + 1, 2, &oh) || s[3] != ':' || eff_digits(s + 4, 2, &om) ||
		    oh > 23 || om > 59)
			return -1;
		s += 6;
	} else {
		return -1;
	}
	if (*s != '\0')
		return -1;
	t = eff_days_from_civil(y, mo, d) * EFF_DAY + h * 3600 + mi * 60 + sec;
	/* Local time = UTC + offset, so UTC = local - offset. */
	t -= sign * (int64_t)(oh * 3600 + om * 60);
	*out = t;
	return 0;
}

void
pol_eff_time_format(int64_t t, char *buf, size_t len)
{
	int64_t days = t / EFF_DAY, rem = t % EFF_DAY, z, era, doe, yoe, y, doy, mp;
	unsigned m, d;

	if (rem < 0) {
		rem += EFF_DAY;
		days--;
	}
	/* Inverse of eff_days_from_civil (H. Hinnant's civil_from_days). */
	z = days + EFF_EPOCH_DAYS;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	y = yoe + era * 400;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
	m = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
	y += m <= 2;
	snprintf(buf, len, "%04lld-%02u-%02uT%02u:%02u:%02uZ", (long long)y, m, d,
	    (unsigned)(rem / 3600), (unsigned)(rem / 60 % 60), (unsigned)(rem % 60));
}

/* Read "timestamp"/"expires": an RFC 3339 string or non-negative integer. */
static int
eff_time_field(json_t *root, const char *key, int64_t *out, char *err, size_t errlen)
{
	json_t *v = json_object_get(root, key);

	if (v == NULL) {
		snprintf(err, errlen, "EFF list: missing \"%s\"", key);
		return -1;
	}
	if (json_is_integer(v) && json_integer_value(v) >= 0) {
		*out = (int64_t)json_integer_value(v);
		return 0;
	}
	if (json_is_string(v) && pol_eff_time_parse(json_string_value(v), out) == 0)
		return 0;
	snprintf(err, errlen, "EFF list: \"%s\" is not an RFC 3339 time or epoch seconds", key);
	return -1;
}

/* Validate one policy definition (mode + mxs) into p; `what` names it. */
static int
eff_policy_def(json_t *obj, const char *what, struct eff_pol *p,
    struct pol_warnings *w, char *err, size_t errlen)
{
	json_t *mode, *mxs, *v;
	const char *key, *ms;
	char pat[POL_NAME_BUF], perr[160];
	size_t i, j;

	if (!json_is_object(obj)) {
		snprintf(err, errlen, "EFF list: %s: policy is not an object", what);
		return -1;
	}
	json_object_foreach(obj, key, v) {
		if (strcmp(key, "mode") != 0 && strcmp(key, "mxs") != 0)
			pol_warn(w, "EFF list: %.80s: unknown key \"%.32s\" ignored", what, key);
	}
	mode = json_object_get(obj, "mode");
	if (mode == NULL) {
		snprintf(err, errlen, "EFF list: %s: missing \"mode\"", what);
		return -1;
	}
	ms = json_string_value(mode);
	if (ms != NULL && strcmp(ms, "enforce") == 0) {
		p->mode = POL_MODE_ENFORCE;
	} else if (ms != NULL && strcmp(ms, "testing") == 0) {
		p->mode = POL_MODE_TESTING;
	} else {
		/* The schema allows only these two; "none" is MTA-STS, not EFF. */
		snprintf(err, errlen, "EFF list: %s: unknown mode \"%.32s\" (want enforce or testing)",
		    what, ms != NULL ? ms : "(not a string)");
		return -1;
	}
	mxs = json_object_get(obj, "mxs");
	if (mxs == NULL) {
		snprintf(err, errlen, "EFF list: %s: missing \"mxs\"", what);
		return -1;
	}
	if (!json_is_array(mxs) || json_array_size(mxs) == 0) {
		snprintf(err, errlen, "EFF list: %s: \"mxs\" must be a non-empty array", what);
		return -1;
	}
	if (json_array_size(mxs) > POL_DOMAIN_MX_MAX) {
		snprintf(err, errlen, "EFF list: %s: %zu MX patterns, at most %d allowed",
		    what, json_array_size(mxs), POL_DOMAIN_MX_MAX);
		return -1;
	}
	p->n_mx = 0;
	json_array_foreach(mxs, i, v) {
		const char *m = json_string_value(v);

		if (m == NULL) {
			snprintf(err, errlen, "EFF list: %s: mxs[%zu] is not a string", what, i);
			return -1;
		}
		if (pol_mx_pattern_norm(m, strlen(m), pat, sizeof(pat), NULL, perr, sizeof(perr)) < 0) {
			snprintf(err, errlen, "EFF list: %s: mxs[%zu]: %s", what, i, perr);
			return -1;
		}
		for (j = 0; j < p->n_mx; j++) {
			if (strcmp(p->mx[j], m) == 0) {
				snprintf(err, errlen, "EFF list: %s: \"%.64s\" listed twice in mxs", what, m);
				return -1;
			}
		}
		p->mx[p->n_mx++] = m;
	}
	return 0;
}

/* Validate the policy of one domain (own or via alias) into p. */
static int
eff_domain_policy(json_t *aliases, const char *domain, json_t *obj, struct eff_pol *p,
    int *via_alias, struct pol_warnings *w, char *err, size_t errlen)
{
	char what[POL_NAME_BUF + 16], norm[POL_NAME_BUF], nerr[160];
	json_t *ref;

	*via_alias = 0;
	snprintf(what, sizeof(what), "domain \"%.64s\"", domain);
	if (pol_name_norm(domain, strlen(domain), norm, sizeof(norm), nerr, sizeof(nerr)) < 0) {
		snprintf(err, errlen, "EFF list: bad domain: %s", nerr);
		return -1;
	}
	if (strchr(norm, '.') == NULL) {
		snprintf(err, errlen, "EFF list: %s is not a mail domain (no dot)", what);
		return -1;
	}
	if (!json_is_object(obj)) {
		snprintf(err, errlen, "EFF list: %s: policy is not an object", what);
		return -1;
	}
	ref = json_object_get(obj, "policy-alias");
	if (ref == NULL)
		return eff_policy_def(obj, what, p, w, err, errlen);
	if (!json_is_string(ref)) {
		snprintf(err, errlen, "EFF list: %s: \"policy-alias\" is not a string", what);
		return -1;
	}
	if (json_object_size(obj) > 1)
		pol_warn(w, "EFF list: %s: fields next to \"policy-alias\" ignored", what);
	obj = json_object_get(aliases, json_string_value(ref));
	if (obj == NULL) {
		snprintf(err, errlen, "EFF list: %s: unknown policy-alias \"%.64s\"",
		    what, json_string_value(ref));
		return -1;
	}
	*via_alias = 1;
	/* Aliases were validated already; this cannot fail. */
	return eff_policy_def(obj, what, p, NULL, err, errlen);
}

/* Check the top level; fill info's times. 0, or -1 with err. */
static int
eff_header(json_t *root, const struct pol_eff_opts *o, struct pol_eff_info *info,
    struct pol_warnings *w, char *err, size_t errlen)
{
	static const char *const known[] = { "timestamp", "expires", "version",
	    "author", "policy-aliases", "policies" };
	const char *key, *ver;
	json_t *v;
	char t1[POL_EFF_TIME_BUF], t2[POL_EFF_TIME_BUF];

	json_object_foreach(root, key, v) {
		size_t i;

		for (i = 0; i < sizeof(known) / sizeof(known[0]); i++)
			if (strcmp(key, known[i]) == 0)
				break;
		if (i == sizeof(known) / sizeof(known[0]))
			pol_warn(w, "EFF list: unknown top-level key \"%.32s\" ignored", key);
	}
	v = json_object_get(root, "version");
	ver = json_string_value(v);
	if (ver == NULL) {
		snprintf(err, errlen, "EFF list: missing \"version\"");
		return -1;
	}
	if (strcmp(ver, "0.1") != 0) {
		snprintf(err, errlen, "EFF list: version \"%.16s\" is not supported (want \"0.1\")", ver);
		return -1;
	}
	if (eff_time_field(root, "timestamp", &info->timestamp, err, errlen) == -1 ||
	    eff_time_field(root, "expires", &info->expires, err, errlen) == -1)
		return -1;
	if (info->timestamp < o->prev_timestamp) {
		pol_eff_time_format(info->timestamp, t1, sizeof(t1));
		pol_eff_time_format(o->prev_timestamp, t2, sizeof(t2));
		snprintf(err, errlen, "EFF list: timestamp %s goes backwards (the loaded list is of %s): refused",
		    t1, t2);
		return -1;
	}
	if (info->expires < info->timestamp) {
		pol_eff_time_format(info->expires, t1, sizeof(t1));
		pol_eff_time_format(info->timestamp, t2, sizeof(t2));
		pol_warn(w, "EFF list: expires %s is before its timestamp %s", t1, t2);
	}
	info->expired = o->now > info->expires;
	if (!json_is_object(json_object_get(root, "policies"))) {
		snprintf(err, errlen, "EFF list: missing \"policies\" object");
		return -1;
	}
	if (!json_is_object(json_object_get(root, "policy-aliases"))) {
		snprintf(err, errlen, "EFF list: missing \"policy-aliases\" object");
		return -1;
	}
	return 0;
}

/* Pass one: validate aliases and policies, count into info. */
static int
eff_validate(json_t *aliases, json_t *policies, struct pol_eff_info *info,
    struct pol_warnings *w, char *err, size_t errlen)
{
	struct eff_pol p;
	const char *key;
	json_t *v;
	char what[96];
	int via;

	json_object_foreach(aliases, key, v) {
		snprintf(what, sizeof(what), "policy-alias \"%.64s\"", key);
		if (eff_policy_def(v, what, &p, w, err, errlen) == -1)
			return -1;
		info->n_aliases++;
	}
	json_object_foreach(policies, key, v) {
		if (eff_domain_policy(aliases, key, v, &p, &via, w, err, errlen) == -1)
			return -1;
		info->n_policies++;
		info->n_via_alias += (size_t)via;
		if (p.mode == POL_MODE_ENFORCE)
			info->n_enforce++;
		else
			info->n_testing++;
	}
	return 0;
}

/* Pass two: add every domain to the table. */
static int
eff_add_all(struct pol_domain *t, json_t *aliases, json_t *policies,
    const struct pol_eff_opts *o, struct pol_eff_info *info,
    struct pol_warnings *w, char *err, size_t errlen)
{
	struct pol_domain_entry e;
	struct eff_pol p;
	const char *key;
	json_t *v;
	int via, rc;

	json_object_foreach(policies, key, v) {
		if (eff_domain_policy(aliases, key, v, &p, &via, NULL, err, errlen) == -1)
			return -1;
		memset(&e, 0, sizeof(e));
		e.domain = key;
		e.source = POL_SRC_EFF;
		e.mode = p.mode;
		e.expires = info->expires;
		e.fetched_at = info->timestamp;
		e.mx = p.mx;
		e.n_mx = p.n_mx;
		if (o->flags & POL_EFF_F_KEEP_ENFORCE)
			e.flags |= POL_DOMAIN_F_KEEP_ENFORCE;
		else if (info->expired && p.mode == POL_MODE_ENFORCE) {
			e.mode = POL_MODE_TESTING;
			e.flags |= POL_DOMAIN_F_STALE;
		}
		rc = pol_domain_add(t, &e, w, err, errlen);
		if (rc == -1)
			return -1;
		if (rc == 0) {
			info->n_added++;
			info->n_lowered += (e.flags & POL_DOMAIN_F_STALE) != 0;
		}
	}
	return 0;
}

int
pol_eff_load(struct pol_domain *t, const void *buf, size_t len,
    const struct pol_eff_opts *o, struct pol_eff_info *info,
    struct pol_warnings *w, char *err, size_t errlen)
{
	struct pol_eff_info local;
	json_error_t jerr;
	json_t *root, *aliases, *policies;
	char t1[POL_EFF_TIME_BUF];
	int rc = -1;

	if (info == NULL)
		info = &local;
	memset(info, 0, sizeof(*info));
	if (len > POL_EFF_MAX_BYTES) {
		snprintf(err, errlen, "EFF list: %zu bytes, more than the %u allowed",
		    len, POL_EFF_MAX_BYTES);
		return -1;
	}
	/* Duplicate keys would silently hide one domain's policy. */
	root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL) {
		snprintf(err, errlen, "EFF list: line %d column %d: %s",
		    jerr.line, jerr.column, jerr.text);
		return -1;
	}
	if (!json_is_object(root)) {
		snprintf(err, errlen, "EFF list: the top level is not an object");
		goto out;
	}
	if (eff_header(root, o, info, w, err, errlen) == -1)
		goto out;
	aliases = json_object_get(root, "policy-aliases");
	policies = json_object_get(root, "policies");
	if (eff_validate(aliases, policies, info, w, err, errlen) == -1)
		goto out;
	if (info->expired) {
		pol_eff_time_format(info->expires, t1, sizeof(t1));
		pol_warn(w, "EFF list expired at %s (%lld days ago): %s", t1,
		    (long long)((o->now - info->expires) / EFF_DAY),
		    (o->flags & POL_EFF_F_KEEP_ENFORCE) ? "enforce kept as configured" :
		    "its enforce policies are treated as testing");
	}
	rc = eff_add_all(t, aliases, policies, o, info, w, err, errlen);
out:
	json_decref(root);
	return rc;
}
