/*
 * gw_fact.c - shared facts as text lines and Redis keys (see gw_fact.h).
 *
 * The line is split on single spaces into a fixed number of fields per
 * kind; numbers are plain decimal without sign or leading zeros beyond
 * "0", so one fact has exactly one spelling and a value cannot smuggle a
 * second one in.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "gw_fact.h"

/* Fields of a line: "v1", kind, origin, at, expires, and up to three more. */
#define FACT_FIELDS_MAX 8
/* Numbers above this are not times (year 2286 in microseconds is 10^16). */
#define FACT_NUM_DIGITS 17

static const char *const kind_word[GW_FACT_KINDS] = { NULL, "mx", "pin", "fail" };

const char *
gw_fact_err_name(enum gw_fact_err e)
{
	static const char *const n[GW_FACT_E_COUNT] = {
		"ok", "syntax", "kind", "addr", "name", "time", "key" };

	return (unsigned)e < GW_FACT_E_COUNT ? n[e] : "?";
}

int
gw_fact_origin_ok(const char *s)
{
	size_t n = 0;

	for (; s[n] != '\0'; n++) {
		char c = s[n];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '.' || c == '_' || c == ':' || c == '/' || c == '-'))
			return 0;
	}
	return n >= 1 && n <= GW_FACT_ORIGIN_MAX;
}

int
gw_fact_name_ok(const char *s)
{
	size_t n = 0, label = 0;

	for (; s[n] != '\0'; n++) {
		char c = s[n];
		if (c == '.') {
			if (label == 0)
				return 0;
			label = 0;
			continue;
		}
		/* LDH plus '_' (service labels some MX chains carry) */
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '_'))
			return 0;
		if (++label > 63)
			return 0;
	}
	return n >= 1 && n <= GW_FACT_NAME_MAX && label > 0;
}

/* Address text of (af, a). */
static void
addr_text(uint8_t af, const struct pkt_addr *a, char *buf, size_t len)
{
	if (inet_ntop(af == 6 ? AF_INET6 : AF_INET, a->a, buf, (socklen_t)len) == NULL)
		buf[0] = '\0';
}

size_t
gw_fact_format(const struct gw_fact *f, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN], c[INET6_ADDRSTRLEN];
	int n;

	if (f->kind < GW_FACT_MX || f->kind >= GW_FACT_KINDS || len == 0)
		return 0;
	addr_text(f->af, &f->addr, a, sizeof a);
	switch (f->kind) {
	case GW_FACT_MX:
		n = snprintf(buf, len, "v1 mx %s %llu %llu %s %s", f->origin,
		    (unsigned long long)f->at_us, (unsigned long long)f->expires_us, a, f->name);
		break;
	case GW_FACT_PIN:
		n = snprintf(buf, len, "v1 pin %s %llu %llu %s %s %llu", f->origin,
		    (unsigned long long)f->at_us, (unsigned long long)f->expires_us, a,
		    f->name[0] ? f->name : "-", (unsigned long long)f->first_us);
		break;
	default:
		addr_text(f->af, &f->client, c, sizeof c);
		n = snprintf(buf, len, "v1 fail %s %llu %llu %s %s", f->origin,
		    (unsigned long long)f->at_us, (unsigned long long)f->expires_us, c, a);
		break;
	}
	if (n < 0 || (size_t)n >= len) {
		buf[0] = '\0';
		return 0;
	}
	return (size_t)n;
}

size_t
gw_fact_key(const char *prefix, const struct gw_fact *f, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN], c[INET6_ADDRSTRLEN];
	int n;

	if (f->kind < GW_FACT_MX || f->kind >= GW_FACT_KINDS || len == 0)
		return 0;
	addr_text(f->af, &f->addr, a, sizeof a);
	if (f->kind == GW_FACT_FAIL) {
		addr_text(f->af, &f->client, c, sizeof c);
		n = snprintf(buf, len, "%sfail:%s,%s", prefix, c, a);
	} else
		n = snprintf(buf, len, "%s%s:%s", prefix, kind_word[f->kind], a);
	if (n < 0 || (size_t)n >= len) {
		buf[0] = '\0';
		return 0;
	}
	return (size_t)n;
}

/* Parse a decimal time: digits only, no leading zero unless "0". */
static int
parse_num(const char *s, uint64_t *out)
{
	size_t n = strlen(s);
	uint64_t v = 0;

	if (n == 0 || n > FACT_NUM_DIGITS || (n > 1 && s[0] == '0'))
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*out = v;
	return 0;
}

/* Parse an address; its family must match *af when *af is set. */
static int
parse_addr(const char *s, uint8_t *af, struct pkt_addr *a)
{
	uint8_t fam = strchr(s, ':') != NULL ? 6 : 4;

	memset(a, 0, sizeof(*a));
	if (*af != 0 && *af != fam)
		return -1;
	if (inet_pton(fam == 6 ? AF_INET6 : AF_INET, s, a->a) != 1)
		return -1;
	*af = fam;
	return 0;
}

enum gw_fact_err
gw_fact_parse(const char *s, size_t len, struct gw_fact *f)
{
	char line[GW_FACT_LINE_MAX + 1];
	char *fld[FACT_FIELDS_MAX];
	size_t nf = 0;
	int kind = 0, want;

	memset(f, 0, sizeof(*f));
	if (len == 0 || len > GW_FACT_LINE_MAX)
		return GW_FACT_E_SYNTAX;
	for (size_t i = 0; i < len; i++)    /* printable ASCII only, no NUL */
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			return GW_FACT_E_SYNTAX;
	memcpy(line, s, len);
	line[len] = '\0';
	/* single spaces between non-empty fields */
	for (char *p = line;;) {
		char *sp = strchr(p, ' ');
		if (nf == FACT_FIELDS_MAX || *p == ' ' || *p == '\0')
			return GW_FACT_E_SYNTAX;
		fld[nf++] = p;
		if (sp == NULL)
			break;
		*sp = '\0';
		p = sp + 1;
	}
	if (nf < 2 || strcmp(fld[0], "v1") != 0)
		return GW_FACT_E_KIND;
	for (int k = GW_FACT_MX; k < GW_FACT_KINDS; k++)
		if (strcmp(fld[1], kind_word[k]) == 0)
			kind = k;
	if (kind == 0)
		return GW_FACT_E_KIND;
	want = kind == GW_FACT_PIN ? 8 : 7;
	if (nf != (size_t)want)
		return GW_FACT_E_SYNTAX;
	f->kind = (uint8_t)kind;
	if (!gw_fact_origin_ok(fld[2]))
		return GW_FACT_E_SYNTAX;
	snprintf(f->origin, sizeof f->origin, "%s", fld[2]);
	if (parse_num(fld[3], &f->at_us) == -1 || parse_num(fld[4], &f->expires_us) == -1)
		return GW_FACT_E_SYNTAX;
	switch (kind) {
	case GW_FACT_MX:
	case GW_FACT_PIN:
		if (parse_addr(fld[5], &f->af, &f->addr) == -1)
			return GW_FACT_E_ADDR;
		if (kind == GW_FACT_PIN && strcmp(fld[6], "-") == 0)
			f->name[0] = '\0';
		else if (!gw_fact_name_ok(fld[6]))
			return GW_FACT_E_NAME;
		else
			snprintf(f->name, sizeof f->name, "%s", fld[6]);
		if (kind == GW_FACT_PIN) {
			if (parse_num(fld[7], &f->first_us) == -1)
				return GW_FACT_E_SYNTAX;
			if (f->first_us > f->at_us)
				return GW_FACT_E_TIME;
		}
		break;
	default:
		if (parse_addr(fld[5], &f->af, &f->client) == -1 ||
		    parse_addr(fld[6], &f->af, &f->addr) == -1)
			return GW_FACT_E_ADDR;
		break;
	}
	if (f->expires_us <= f->at_us)
		return GW_FACT_E_TIME;
	return GW_FACT_OK;
}

enum gw_fact_err
gw_fact_parse_keyed(const char *prefix, const char *key, size_t klen,
    const char *s, size_t len, struct gw_fact *f)
{
	char want[GW_FACT_KEY_MAX];
	enum gw_fact_err e = gw_fact_parse(s, len, f);
	size_t n;

	if (e != GW_FACT_OK)
		return e;
	n = gw_fact_key(prefix, f, want, sizeof want);
	if (n == 0 || n != klen || memcmp(want, key, n) != 0)
		return GW_FACT_E_KEY;
	return GW_FACT_OK;
}
