/*
 * dns.c - DNS response reader: header, questions, resource records, names.
 *
 * Two walks over the message: the first checks every length, name and
 * rdata and stops at the first problem; the second, only when the first
 * succeeded, reports records. A name is decoded segment by segment; each
 * compression pointer must point before the start of the segment it ends,
 * so the segment starts strictly decrease and no loop can form. Every read
 * is checked against the message length first. No allocation, no I/O.
 */
#include <string.h>

#include "dns.h"

/* Header flag bits (byte 2 and 3 of the header). */
#define DNS_F_QR     0x80   /* byte 2: response */
#define DNS_F_AA     0x04   /* byte 2: authoritative answer */
#define DNS_F_TC     0x02   /* byte 2: truncated */
/* Label length byte: top two bits 11 = pointer, 00 = label. */
#define DNS_LABEL_PTR  0xc0
/* Fixed part of a resource record after its name: type, class, ttl, rdlength. */
#define DNS_RR_FIXED 10

/* Big-endian 16 bits at p. */
static uint16_t
dns_get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* Big-endian 32 bits at p. */
static uint32_t
dns_get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Can c stand in a host name label? (letters, digits, '-', '_') */
static int
dns_host_char(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '_';
}

/*
 * Decode the name at msg[off]. *end gets the offset just past the name as
 * it sits at off (after its first pointer, or its root label). out (NULL
 * to skip) gets the lowercase text; *odd is set when a label holds bytes
 * a host name cannot have. DNS_OK or DNS_ERR_*.
 */
static int
dns_name(const uint8_t *msg, size_t len, size_t off, size_t *end, char *out, int *odd)
{
	size_t pos = off, seg = off, wire = 0, o = 0;
	unsigned hops = 0;
	int ended = 0;

	*odd = 0;
	for (;;) {
		uint8_t c;

		if (pos >= len)
			return DNS_ERR_SHORT;
		c = msg[pos];
		if (c == 0) {
			if (!ended)
				*end = pos + 1;
			break;
		}
		if ((c & DNS_LABEL_PTR) == DNS_LABEL_PTR) {
			size_t to;

			if (pos + 1 >= len)
				return DNS_ERR_SHORT;
			to = (size_t)(c & ~DNS_LABEL_PTR) << 8 | msg[pos + 1];
			if (!ended) {
				*end = pos + 2;
				ended = 1;
			}
			/* Backwards of the segment start: starts decrease, no loop. */
			if (to >= seg || ++hops > DNS_NAME_HOPS_MAX)
				return DNS_ERR_MALFORMED;
			pos = seg = to;
			continue;
		}
		if (c & DNS_LABEL_PTR)
			return DNS_ERR_MALFORMED;   /* 01/10: RFC 6891 extended labels, obsolete */
		wire += 1 + (size_t)c;
		if (wire + 1 > DNS_NAME_WIRE_MAX)
			return DNS_ERR_MALFORMED;
		if (pos + 1 + c > len)
			return DNS_ERR_SHORT;
		for (size_t i = 0; i < c; i++) {
			uint8_t b = msg[pos + 1 + i];

			if (!dns_host_char(b))
				*odd = 1;
			if (out != NULL)
				out[o++] = (char)(b >= 'A' && b <= 'Z' ? b - 'A' + 'a' : b);
		}
		if (out != NULL)
			out[o++] = '.';
		pos += 1 + (size_t)c;
	}
	if (out != NULL) {
		/* wire <= 254 keeps o <= 254: drop the last dot, terminate. */
		if (o > 0)
			o--;
		out[o] = '\0';
	}
	return DNS_OK;
}

/* Read one resource record at *off; with rr, decode it. Sets *use when the
 * record is one we report. DNS_OK or DNS_ERR_*. */
static int
dns_rr_read(const uint8_t *msg, size_t len, size_t *off, struct dns_rr *rr, int *use)
{
	size_t p, rdstart, rdlen, nend;
	uint16_t type, class;
	int odd, odd2 = 0, rc;

	*use = 0;
	rc = dns_name(msg, len, *off, &p, rr ? rr->owner : NULL, &odd);
	if (rc != DNS_OK)
		return rc;
	if (p + DNS_RR_FIXED > len)
		return DNS_ERR_SHORT;
	type = dns_get16(msg + p);
	class = dns_get16(msg + p + 2);
	rdlen = dns_get16(msg + p + 8);
	rdstart = p + DNS_RR_FIXED;
	if (rdstart + rdlen > len)
		return DNS_ERR_SHORT;
	*off = rdstart + rdlen;
	switch (type) {
	case DNS_T_A:
	case DNS_T_AAAA:
		if (rdlen != (type == DNS_T_A ? 4u : 16u))
			return DNS_ERR_MALFORMED;
		break;
	case DNS_T_CNAME:
	case DNS_T_MX:
		if (type == DNS_T_MX && rdlen < 3)
			return DNS_ERR_MALFORMED;
		rc = dns_name(msg, len, rdstart + (type == DNS_T_MX ? 2 : 0), &nend,
		    rr ? rr->target : NULL, &odd2);
		if (rc == DNS_ERR_SHORT && rdlen > 0)
			return DNS_ERR_MALFORMED;   /* the name runs past its rdata */
		if (rc != DNS_OK)
			return rc;
		if (nend != rdstart + rdlen)
			return DNS_ERR_MALFORMED;   /* the name must fill the rdata exactly */
		break;
	default:
		return DNS_OK;   /* a type we do not read: skipped */
	}
	if (class != DNS_C_IN || odd || odd2)
		return DNS_OK;
	*use = 1;
	if (rr == NULL)
		return DNS_OK;
	rr->type = type;
	rr->ttl = dns_get32(msg + p + 4);
	if (rr->ttl & 0x80000000u)
		rr->ttl = 0;
	rr->af = 0;
	rr->pref = 0;
	memset(&rr->addr, 0, sizeof(rr->addr));
	if (type == DNS_T_A || type == DNS_T_AAAA) {
		rr->af = type == DNS_T_A ? 4 : 6;
		memcpy(rr->addr.a, msg + rdstart, rdlen);
		rr->target[0] = '\0';
	} else if (type == DNS_T_MX) {
		rr->pref = dns_get16(msg + rdstart);
	}
	return DNS_OK;
}

/* One walk over the message: validate (cb unused) or report. */
static int
dns_walk(const uint8_t *msg, size_t len, struct dns_info *info, int report,
    int (*cb)(const struct dns_rr *rr, void *arg), void *arg)
{
	const uint16_t counts[3] = { info->ancount, info->nscount, info->arcount };
	struct dns_rr rr;
	size_t off = DNS_HDR_LEN, end;
	int odd, rc, use;

	for (unsigned q = 0; q < info->qdcount; q++) {
		rc = dns_name(msg, len, off, &end, q == 0 ? info->qname : NULL, &odd);
		if (rc != DNS_OK)
			return rc;
		if (end + 4 > len)
			return DNS_ERR_SHORT;
		if (q == 0)
			info->qtype = dns_get16(msg + end);
		off = end + 4;
	}
	for (unsigned s = 0; s < 3; s++) {
		for (unsigned i = 0; i < counts[s]; i++) {
			rc = dns_rr_read(msg, len, &off, report ? &rr : NULL, &use);
			if (rc != DNS_OK)
				return rc;
			if (!use) {
				info->n_skipped++;
				continue;
			}
			info->n_rr++;
			if (!report)
				continue;
			rr.section = (uint8_t)(DNS_SEC_ANSWER + s);
			if (cb != NULL && cb(&rr, arg) != 0)
				return DNS_OK;
		}
	}
	return DNS_OK;
}

int
dns_parse(const uint8_t *msg, size_t len, struct dns_info *info,
    int (*cb)(const struct dns_rr *rr, void *arg), void *arg)
{
	struct dns_info local;
	int rc;

	if (info == NULL)
		info = &local;
	memset(info, 0, sizeof(*info));
	if (msg == NULL || len < DNS_HDR_LEN)
		return DNS_ERR_SHORT;
	info->id = dns_get16(msg);
	info->tc = (msg[2] & DNS_F_TC) != 0;
	info->aa = (msg[2] & DNS_F_AA) != 0;
	info->rcode = msg[3] & 0x0f;
	info->qdcount = dns_get16(msg + 4);
	info->ancount = dns_get16(msg + 6);
	info->nscount = dns_get16(msg + 8);
	info->arcount = dns_get16(msg + 10);
	if (!(msg[2] & DNS_F_QR))
		return DNS_ERR_NOT_RESPONSE;
	if ((msg[2] >> 3) & 0x0f)
		return DNS_ERR_OPCODE;
	if (info->rcode != 0)
		return DNS_ERR_RCODE;
	rc = dns_walk(msg, len, info, 0, NULL, NULL);
	if (rc != DNS_OK || cb == NULL)
		return rc;
	/* Valid: walk again and report, counting afresh. */
	info->n_rr = info->n_skipped = 0;
	return dns_walk(msg, len, info, 1, cb, arg);
}

/* Where dns_parse_array's callback stores. */
struct dns_arr {
	struct dns_rr *out;  /* caller's array */
	size_t max;          /* its size */
	size_t n;            /* stored so far */
};

/* Store one record into the caller's array while room remains. */
static int
dns_arr_cb(const struct dns_rr *rr, void *arg)
{
	struct dns_arr *a = arg;

	if (a->n < a->max)
		a->out[a->n++] = *rr;
	return 0;
}

int
dns_parse_array(const uint8_t *msg, size_t len, struct dns_info *info,
    struct dns_rr *out, size_t max, size_t *n)
{
	struct dns_arr a = { out, max, 0 };
	int rc = dns_parse(msg, len, info, dns_arr_cb, &a);

	*n = rc == DNS_OK ? a.n : 0;
	return rc;
}

size_t
dns_tcp_frame(const uint8_t *buf, size_t len, const uint8_t **msg, size_t *msglen)
{
	size_t n;

	if (len < 2)
		return 0;
	n = dns_get16(buf);
	if (len < 2 + n)
		return 0;
	*msg = buf + 2;
	*msglen = n;
	return 2 + n;
}

const char *
dns_status_name(int status)
{
	switch (status) {
	case DNS_OK:               return "ok";
	case DNS_ERR_SHORT:        return "truncated";
	case DNS_ERR_MALFORMED:    return "malformed";
	case DNS_ERR_NOT_RESPONSE: return "not a response";
	case DNS_ERR_OPCODE:       return "not a standard query";
	case DNS_ERR_RCODE:        return "error rcode";
	}
	return "unknown";
}
