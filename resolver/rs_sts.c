/*
 * rs_sts.c - the pure parts of MTA-STS discovery (see rs_sts.h): TXT
 * records (RFC 8461 3.1), the Content-Type check, escaping untrusted
 * text. No I/O, no allocation, no clock.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "rs_sts.h"

/* Copy len untrusted bytes into out as printable ASCII (\xHH otherwise),
 * cut with "..." so that it fits outlen. */
void
rs_esc(const char *in, size_t len, char *out, size_t outlen)
{
	size_t o = 0;

	if (outlen == 0)
		return;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)in[i];
		size_t need = (c >= 0x20 && c < 0x7f && c != '\\') ? 1 : 4;

		if (o + need + 4 > outlen) {
			if (o + 4 <= outlen)
				memcpy(out + o, "...", 3), o += 3;
			break;
		}
		if (need == 1)
			out[o++] = (char)c;
		else
			o += (size_t)snprintf(out + o, outlen - o, "\\x%02x", c);
	}
	out[o] = '\0';
}

long
rs_sts_txt_rdata(const unsigned char *rdata, size_t len, char *out, size_t outlen)
{
	size_t i = 0, o = 0;

	if (outlen == 0)
		return -1;
	while (i < len) {
		size_t n = rdata[i++];

		if (n > len - i)
			return -1;
		for (size_t k = 0; k < n; k++, o++)
			if (o < outlen - 1)
				out[o] = (char)rdata[i + k];
		i += n;
	}
	out[o < outlen - 1 ? o : outlen - 1] = '\0';
	return (long)o;
}

/* RFC 5234 WSP. */
static int
is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

/* RFC 5234 ALPHA / DIGIT. */
static int
is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

int
rs_sts_txt_record(const char *txt, size_t len, char *id, size_t idlen, char *err, size_t errlen)
{
	static const char ver[] = "v=STSv1";
	const size_t vl = sizeof(ver) - 1;
	size_t i = vl, nfields = 0;
	int have_id = 0;

	if (idlen < RS_STS_ID_MAX + 1) {
		snprintf(err, errlen, "id buffer too small");
		return -1;
	}
	id[0] = '\0';
	/* RFC 8461 3.1: records not beginning with "v=STSv1;" are discarded;
	 * "v=STSv1 ;" (spaces before the separator) is the same record. */
	if (len < vl || memcmp(txt, ver, vl) != 0 || (len > vl && txt[vl] != ';' && !is_wsp(txt[vl])))
		return 1;
	for (;;) {
		size_t ns, nl, vs, vlen;

		while (i < len && is_wsp(txt[i]))
			i++;
		if (i == len)
			break;
		if (txt[i] != ';') {
			snprintf(err, errlen, "TXT record: ';' expected at offset %zu", i);
			return -1;
		}
		i++;
		while (i < len && is_wsp(txt[i]))
			i++;
		if (i == len)
			break; /* a trailing separator is allowed */
		/* sts-ext-name = (ALPHA / DIGIT) *31(ALPHA / DIGIT / "_" / "-" / ".") */
		ns = i;
		if (!is_alnum(txt[i])) {
			snprintf(err, errlen, "TXT record: field name expected at offset %zu", i);
			return -1;
		}
		while (i < len && (is_alnum(txt[i]) || txt[i] == '_' || txt[i] == '-' || txt[i] == '.'))
			i++;
		nl = i - ns;
		if (nl > 32) {
			snprintf(err, errlen, "TXT record: field name longer than 32 characters");
			return -1;
		}
		if (i == len || txt[i] != '=') {
			snprintf(err, errlen, "TXT record: '=' expected at offset %zu", i);
			return -1;
		}
		vs = ++i;
		if (nl == 2 && memcmp(txt + ns, "id", 2) == 0) {
			while (i < len && is_alnum(txt[i]))
				i++;
			vlen = i - vs;
			if (vlen == 0 || vlen > RS_STS_ID_MAX) {
				snprintf(err, errlen, "TXT record: id must be 1 to %d letters or digits",
				    RS_STS_ID_MAX);
				return -1;
			}
			if (have_id) {
				snprintf(err, errlen, "TXT record: id given twice");
				return -1;
			}
			memcpy(id, txt + vs, vlen);
			id[vlen] = '\0';
			have_id = 1;
		} else {
			/* sts-ext-value = 1*(%x21-3A / %x3C / %x3E-7E) */
			while (i < len && (unsigned char)txt[i] >= 0x21 && (unsigned char)txt[i] <= 0x7e &&
			    txt[i] != ';' && txt[i] != '=')
				i++;
			if (i == vs) {
				snprintf(err, errlen, "TXT record: empty value at offset %zu", vs);
				return -1;
			}
		}
		if (i < len && txt[i] != ';' && !is_wsp(txt[i])) {
			snprintf(err, errlen, "TXT record: bad character at offset %zu", i);
			return -1;
		}
		nfields++;
	}
	if (nfields == 0 || !have_id) {
		id[0] = '\0';
		snprintf(err, errlen, "TXT record: no id");
		return -1;
	}
	return 0;
}

int
rs_sts_txt_select(const char *const *txt, const size_t *len, size_t n, char *id, size_t idlen,
    char *err, size_t errlen)
{
	char one[RS_STS_ID_MAX + 1], rerr[128];
	size_t found = 0;
	int bad = 0;

	for (size_t i = 0; i < n; i++) {
		int rc = rs_sts_txt_record(txt[i], len[i], one, sizeof(one), rerr, sizeof(rerr));

		if (rc == 1)
			continue;
		found++;
		if (rc == -1) {
			bad = 1;
			snprintf(err, errlen, "%s", rerr);
		} else if (found == 1) {
			snprintf(id, idlen, "%s", one);
		}
	}
	if (found == 0) {
		snprintf(err, errlen, "no v=STSv1 TXT record");
		return 1;
	}
	if (found > 1) {
		snprintf(err, errlen, "%zu v=STSv1 TXT records (RFC 8461 3.1 wants exactly one)", found);
		return -1;
	}
	return bad ? -1 : 0;
}

int
rs_ctype_text_plain(const char *v)
{
	static const char tp[] = "text/plain";
	size_t n = sizeof(tp) - 1;

	if (v == NULL || strncasecmp(v, tp, n) != 0)
		return 0;
	v += n;
	while (is_wsp(*v))
		v++;
	return *v == '\0' || *v == ';';
}

const char *
rs_reason_name(enum rs_reason r)
{
	static const char *const names[RS_R_COUNT] = {
		"none", "dns_failed", "dns_timeout", "txt_invalid", "no_address",
		"connect", "tls_certificate", "tls", "timeout", "http_status",
		"redirect", "content_type", "too_big", "truncated", "bad_http",
		"bad_policy", "busy", "internal",
	};

	return (unsigned)r < RS_R_COUNT ? names[r] : "?";
}
