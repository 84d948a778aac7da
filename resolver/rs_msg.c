/*
 * rs_msg.c - encode and check the daemon <-> resolver messages (rs_msg.h).
 * Both directions go through the same checks, so neither side can send
 * what the other would refuse.
 */
#include <stdio.h>
#include <string.h>

#include "../inspect/wire.h"
#include "rs_msg.h"

/* Big-endian reads to match wire.h. */
static uint32_t
get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static unsigned
get16(const uint8_t *p)
{
	return (unsigned)p[0] << 8 | p[1];
}

/* Is id an sts-id (RFC 8461 3.1), or empty? */
static int
id_ok(const char *id, size_t n)
{
	if (n > RS_STS_ID_MAX)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = id[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
			return 0;
	}
	return 1;
}

/* Is d[0..n) a normalised domain name (what pol_name_norm writes)? */
static int
domain_ok(const char *d, size_t n)
{
	char norm[POL_NAME_BUF], err[64];
	int l;

	if (n == 0 || n > POL_NAME_MAX)
		return 0;
	l = pol_name_norm(d, n, norm, sizeof(norm), err, sizeof(err));
	return l == (int)n && memcmp(norm, d, n) == 0 && memchr(d, '.', n) != NULL;
}

/* Printable ASCII only. */
static int
text_ok(const char *t, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)t[i] < 0x20 || (unsigned char)t[i] > 0x7e)
			return 0;
	return 1;
}

/* The rules of each type; err says which one m breaks. 0 or -1. */
static int
check(const struct rs_msg *m, size_t dl, size_t il, size_t tl, char *err, size_t errlen)
{
	const char *why = NULL;

	if (m->type == 0 || m->type > RS_MSG_TYPE_MAX)
		why = "unknown type";
	else if (m->type == RS_MSG_HELLO && (dl || il || tl || m->body_len || m->status || m->reason))
		why = "hello with content";
	else if (m->type != RS_MSG_HELLO && !domain_ok(m->domain, dl))
		why = "bad domain";
	else if (!id_ok(m->id, il))
		why = "bad id";
	else if (tl >= RS_MSG_TEXT_MAX || !text_ok(m->text, tl))
		why = "bad text";
	else if (m->type == RS_MSG_QUERY_STS && (m->status || m->reason || tl || m->body_len))
		why = "query with answer fields";
	else if (m->type == RS_MSG_ANSWER_STS && (m->status == 0 || m->status > RS_ST_MAX))
		why = "bad status";
	else if (m->reason >= RS_R_COUNT || ((m->reason != 0) != (m->status == RS_ST_FAILED)))
		why = "bad reason";
	else if (m->body_len > POL_STS_MAX_BYTES ||
	    ((m->body_len != 0) && m->status != RS_ST_POLICY))
		why = "bad body";
	else if (m->status == RS_ST_POLICY && (m->body_len == 0 || il == 0))
		why = "policy without body or id";
	if (why != NULL) {
		snprintf(err, errlen, "%s", why);
		return -1;
	}
	return 0;
}

long
rs_msg_encode(const struct rs_msg *m, uint8_t *buf, size_t cap)
{
	size_t dl = strnlen(m->domain, sizeof(m->domain)), il = strnlen(m->id, sizeof(m->id));
	size_t tl = strnlen(m->text, sizeof(m->text)), total;
	uint8_t *p;
	char err[64];

	if (dl == sizeof(m->domain) || il == sizeof(m->id) || tl == sizeof(m->text) ||
	    check(m, dl, il, tl, err, sizeof(err)) == -1)
		return -1;
	total = RS_MSG_HDR + dl + il + tl + m->body_len;
	if (total > cap)
		return -1;
	buf[0] = RS_MSG_VERSION;
	buf[1] = m->type;
	buf[2] = m->status;
	buf[3] = m->reason;
	put32(buf + 4, m->reqid);
	put32(buf + 8, m->gen);
	buf[12] = (uint8_t)dl;
	buf[13] = (uint8_t)il;
	put16(buf + 14, (unsigned)tl);
	put32(buf + 16, (uint32_t)m->body_len);
	p = buf + RS_MSG_HDR;
	memcpy(p, m->domain, dl), p += dl;
	memcpy(p, m->id, il), p += il;
	memcpy(p, m->text, tl), p += tl;
	if (m->body_len)
		memcpy(p, m->body, m->body_len);
	return (long)total;
}

int
rs_msg_decode(const uint8_t *buf, size_t len, struct rs_msg *m, char *err, size_t errlen)
{
	size_t dl, il, tl, bl;
	const uint8_t *p;

	memset(m, 0, sizeof(*m));
	if (len < RS_MSG_HDR) {
		snprintf(err, errlen, "short message (%zu bytes)", len);
		return -1;
	}
	if (buf[0] != RS_MSG_VERSION) {
		snprintf(err, errlen, "version %u", buf[0]);
		return -1;
	}
	dl = buf[12];
	il = buf[13];
	tl = get16(buf + 14);
	bl = get32(buf + 16);
	if (dl > POL_NAME_MAX || il > RS_STS_ID_MAX || tl >= RS_MSG_TEXT_MAX ||
	    bl > POL_STS_MAX_BYTES || len != RS_MSG_HDR + dl + il + tl + bl) {
		snprintf(err, errlen, "lengths do not add up");
		return -1;
	}
	m->type = buf[1];
	m->status = buf[2];
	m->reason = buf[3];
	m->reqid = get32(buf + 4);
	m->gen = get32(buf + 8);
	p = buf + RS_MSG_HDR;
	memcpy(m->domain, p, dl), p += dl;
	memcpy(m->id, p, il), p += il;
	memcpy(m->text, p, tl), p += tl;
	m->body = bl ? p : NULL;
	m->body_len = bl;
	if (memchr(m->domain, '\0', dl) || memchr(m->id, '\0', il) || memchr(m->text, '\0', tl)) {
		snprintf(err, errlen, "NUL inside a string");
		return -1;
	}
	return check(m, dl, il, tl, err, errlen);
}
