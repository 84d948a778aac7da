/*
 * test_dns.c - unit tests for inspect/dns.c (DNS response reader).
 *
 * Messages are built by hand with the small writer below (header, names
 * as text or as compression pointers, records), so each test states the
 * bytes it feeds. Every valid message is also parsed cut at every length,
 * each prefix in an exactly-sized heap buffer so ASan sees any overread;
 * none may report a record. Hostile names: pointer loops, forward
 * pointers, hop chains, over-long names, reserved label types.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "inspect/dns.h"

/* Large enough for every message built here. */
#define TD_BUF 4096

/* A message being written. */
struct td_msg {
	uint8_t b[TD_BUF]; /* bytes */
	size_t n;          /* length so far */
};

/* Append a big-endian 16-bit value. */
static void
td_16(struct td_msg *m, unsigned v)
{
	m->b[m->n++] = (uint8_t)(v >> 8);
	m->b[m->n++] = (uint8_t)v;
}

/* Append a big-endian 32-bit value. */
static void
td_32(struct td_msg *m, uint32_t v)
{
	td_16(m, v >> 16);
	td_16(m, v & 0xffff);
}

/* Append raw bytes. */
static void
td_raw(struct td_msg *m, const void *p, size_t n)
{
	memcpy(m->b + m->n, p, n);
	m->n += n;
}

/* Start a message: id, flags (QR etc.), counts. */
static void
td_hdr(struct td_msg *m, unsigned flags, unsigned qd, unsigned an, unsigned ns, unsigned ar)
{
	m->n = 0;
	td_16(m, 0x1234);
	td_16(m, flags);
	td_16(m, qd);
	td_16(m, an);
	td_16(m, ns);
	td_16(m, ar);
}

/* Append a name "a.b.c" as labels; ptr >= 0 ends it with a pointer there
 * instead of the root label. Returns the offset where the name began. */
static size_t
td_name(struct td_msg *m, const char *text, int ptr)
{
	size_t start = m->n;
	const char *s = text;

	while (*s) {
		const char *dot = strchr(s, '.');
		size_t l = dot ? (size_t)(dot - s) : strlen(s);

		m->b[m->n++] = (uint8_t)l;
		td_raw(m, s, l);
		s += l;
		if (*s == '.')
			s++;
	}
	if (ptr >= 0)
		td_16(m, 0xc000 | (unsigned)ptr);
	else
		m->b[m->n++] = 0;
	return start;
}

/* Append a record header (type, class IN, ttl) and return where rdlength goes. */
static size_t
td_rr(struct td_msg *m, unsigned type, unsigned class, uint32_t ttl)
{
	size_t at;

	td_16(m, type);
	td_16(m, class);
	td_32(m, ttl);
	at = m->n;
	td_16(m, 0);
	return at;
}

/* Fill in rdlength at `at` to cover up to the current end. */
static void
td_rdlen(struct td_msg *m, size_t at)
{
	size_t l = m->n - at - 2;

	m->b[at] = (uint8_t)(l >> 8);
	m->b[at + 1] = (uint8_t)l;
}

/* Standard response flags: QR, RD, RA, RCODE 0. */
#define TD_RESP 0x8180

/* Collects reported records. */
struct td_got {
	struct dns_rr rr[16]; /* copies */
	size_t n;             /* how many */
	size_t stop_after;    /* stop the walk after this many (0: never) */
};

/* Callback: copy the record. */
static int
td_cb(const struct dns_rr *rr, void *arg)
{
	struct td_got *g = arg;

	if (g->n < 16)
		g->rr[g->n] = *rr;
	g->n++;
	return g->stop_after != 0 && g->n >= g->stop_after;
}

/* Parse every prefix of m (shorter than it) from an exactly-sized copy:
 * each must fail and report nothing. */
static void
td_all_prefixes(const struct td_msg *m)
{
	for (size_t k = 0; k < m->n; k++) {
		uint8_t *cut = malloc(k ? k : 1);
		struct td_got g;
		int rc;

		memset(&g, 0, sizeof(g));
		memcpy(cut, m->b, k);
		rc = dns_parse(cut, k, NULL, td_cb, &g);
		if (rc == DNS_OK || g.n != 0)
			fail_msg("prefix %zu of %zu: rc %d, %zu records", k, m->n, rc, g.n);
		free(cut);
	}
}

/* An MX response, compressed, with glue in the additional section. */
static void
build_mx(struct td_msg *m)
{
	size_t q, mx1, mx2, at;
	static const uint8_t v4[4] = { 203, 0, 113, 25 };
	static const uint8_t v6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x25 };

	td_hdr(m, TD_RESP | 0x0400, 1, 2, 0, 2);
	q = td_name(m, "Example.NET", -1);
	td_16(m, DNS_T_MX);
	td_16(m, DNS_C_IN);
	td_name(m, "", (int)q);                   /* owner: pointer to the question */
	at = td_rr(m, DNS_T_MX, DNS_C_IN, 3600);
	td_16(m, 10);
	mx1 = td_name(m, "MX1", (int)q);          /* mx1.example.net */
	td_rdlen(m, at);
	td_name(m, "", (int)q);
	at = td_rr(m, DNS_T_MX, DNS_C_IN, 0x80000001u);   /* top bit: reads as 0 */
	td_16(m, 20);
	mx2 = td_name(m, "mx2.backup", (int)q);   /* mx2.backup.example.net */
	td_rdlen(m, at);
	td_name(m, "", (int)mx1);
	at = td_rr(m, DNS_T_A, DNS_C_IN, 300);
	td_raw(m, v4, 4);
	td_rdlen(m, at);
	td_name(m, "", (int)mx2);
	at = td_rr(m, DNS_T_AAAA, DNS_C_IN, 301);
	td_raw(m, v6, 16);
	td_rdlen(m, at);
}

/* MX answers and glue: every field. */
static void
test_mx_response(void **state)
{
	struct td_msg m;
	struct td_got g;
	struct dns_info info;

	(void)state;
	build_mx(&m);
	memset(&g, 0, sizeof(g));
	assert_int_equal(dns_parse(m.b, m.n, &info, td_cb, &g), DNS_OK);
	assert_int_equal(info.id, 0x1234);
	assert_int_equal(info.aa, 1);
	assert_int_equal(info.tc, 0);
	assert_int_equal(info.qdcount, 1);
	assert_int_equal(info.ancount, 2);
	assert_int_equal(info.arcount, 2);
	assert_int_equal(info.qtype, DNS_T_MX);
	assert_string_equal(info.qname, "example.net");
	assert_int_equal(info.n_rr, 4);
	assert_int_equal(info.n_skipped, 0);
	assert_int_equal(g.n, 4);

	assert_int_equal(g.rr[0].type, DNS_T_MX);
	assert_int_equal(g.rr[0].section, DNS_SEC_ANSWER);
	assert_string_equal(g.rr[0].owner, "example.net");
	assert_string_equal(g.rr[0].target, "mx1.example.net");
	assert_int_equal(g.rr[0].pref, 10);
	assert_int_equal(g.rr[0].ttl, 3600);
	assert_string_equal(g.rr[1].target, "mx2.backup.example.net");
	assert_int_equal(g.rr[1].pref, 20);
	assert_int_equal(g.rr[1].ttl, 0);

	assert_int_equal(g.rr[2].type, DNS_T_A);
	assert_int_equal(g.rr[2].section, DNS_SEC_ADDITIONAL);
	assert_int_equal(g.rr[2].af, 4);
	assert_string_equal(g.rr[2].owner, "mx1.example.net");
	assert_string_equal(g.rr[2].target, "");
	assert_int_equal(g.rr[2].addr.a[0], 203);
	assert_int_equal(g.rr[2].addr.a[3], 25);
	assert_int_equal(g.rr[2].addr.a[4], 0);
	assert_int_equal(g.rr[2].ttl, 300);
	assert_int_equal(g.rr[3].type, DNS_T_AAAA);
	assert_int_equal(g.rr[3].af, 6);
	assert_string_equal(g.rr[3].owner, "mx2.backup.example.net");
	assert_int_equal(g.rr[3].addr.a[0], 0x20);
	assert_int_equal(g.rr[3].addr.a[15], 0x25);

	/* Stop after the first record. */
	memset(&g, 0, sizeof(g));
	g.stop_after = 1;
	assert_int_equal(dns_parse(m.b, m.n, NULL, td_cb, &g), DNS_OK);
	assert_int_equal(g.n, 1);
	/* Validate only. */
	assert_int_equal(dns_parse(m.b, m.n, &info, NULL, NULL), DNS_OK);
	assert_int_equal(info.n_rr, 4);
	/* Trailing bytes after the last record are ignored. */
	m.b[m.n++] = 0xff;
	assert_int_equal(dns_parse(m.b, m.n, NULL, NULL, NULL), DNS_OK);
	m.n--;
	td_all_prefixes(&m);
}

/* CNAME chain to an A record; the array interface. */
static void
test_cname(void **state)
{
	struct td_msg m;
	struct dns_rr out[4];
	struct dns_info info;
	size_t q, t, at, n;
	static const uint8_t v4[4] = { 192, 0, 2, 7 };

	(void)state;
	td_hdr(&m, TD_RESP, 1, 2, 0, 0);
	q = td_name(&m, "mail.example.com", -1);
	td_16(&m, DNS_T_A);
	td_16(&m, DNS_C_IN);
	td_name(&m, "", (int)q);
	at = td_rr(&m, DNS_T_CNAME, DNS_C_IN, 60);
	t = td_name(&m, "in.Mail.Example.ORG", -1);
	td_rdlen(&m, at);
	td_name(&m, "", (int)t);
	at = td_rr(&m, DNS_T_A, DNS_C_IN, 30);
	td_raw(&m, v4, 4);
	td_rdlen(&m, at);

	assert_int_equal(dns_parse_array(m.b, m.n, &info, out, 4, &n), DNS_OK);
	assert_int_equal(n, 2);
	assert_int_equal(out[0].type, DNS_T_CNAME);
	assert_string_equal(out[0].owner, "mail.example.com");
	assert_string_equal(out[0].target, "in.mail.example.org");
	assert_int_equal(out[0].ttl, 60);
	assert_int_equal(out[1].type, DNS_T_A);
	assert_string_equal(out[1].owner, "in.mail.example.org");
	assert_int_equal(out[1].addr.a[3], 7);
	/* Room for one: one stored, two counted. */
	assert_int_equal(dns_parse_array(m.b, m.n, &info, out, 1, &n), DNS_OK);
	assert_int_equal(n, 1);
	assert_int_equal(info.n_rr, 2);
	td_all_prefixes(&m);
}

/* Records we skip: other types, other classes, odd bytes in names. */
static void
test_skipped(void **state)
{
	struct td_msg m;
	struct td_got g;
	struct dns_info info;
	size_t at;

	(void)state;
	td_hdr(&m, TD_RESP, 0, 4, 0, 1);
	td_name(&m, "example.net", -1);
	at = td_rr(&m, 16, DNS_C_IN, 60);          /* TXT */
	td_raw(&m, "\x05hello", 6);
	td_rdlen(&m, at);
	td_name(&m, "example.net", -1);
	at = td_rr(&m, DNS_T_A, 3, 60);            /* class CH */
	td_raw(&m, "\1\2\3\4", 4);
	td_rdlen(&m, at);
	td_name(&m, "ex ample.net", -1);           /* a space: not a host name */
	at = td_rr(&m, DNS_T_A, DNS_C_IN, 60);
	td_raw(&m, "\1\2\3\4", 4);
	td_rdlen(&m, at);
	td_name(&m, "example.net", -1);
	at = td_rr(&m, DNS_T_MX, DNS_C_IN, 60);
	td_16(&m, 5);
	td_name(&m, "m\x01x.example.net", -1);
	td_rdlen(&m, at);
	td_name(&m, "", -1);                        /* OPT pseudo-record, root owner */
	at = td_rr(&m, 41, 1232, 0);
	td_rdlen(&m, at);
	memset(&g, 0, sizeof(g));
	assert_int_equal(dns_parse(m.b, m.n, &info, td_cb, &g), DNS_OK);
	assert_int_equal(g.n, 0);
	assert_int_equal(info.n_skipped, 5);
	assert_string_equal(info.qname, "");
	td_all_prefixes(&m);
}

/* Header checks: queries, opcodes, rcodes, short headers. */
static void
test_header(void **state)
{
	struct td_msg m;
	struct dns_info info;

	(void)state;
	build_mx(&m);
	m.b[2] &= 0x7f;
	assert_int_equal(dns_parse(m.b, m.n, &info, NULL, NULL), DNS_ERR_NOT_RESPONSE);
	build_mx(&m);
	m.b[2] |= 4 << 3;                           /* opcode NOTIFY */
	assert_int_equal(dns_parse(m.b, m.n, &info, NULL, NULL), DNS_ERR_OPCODE);
	build_mx(&m);
	m.b[3] |= 3;                                /* NXDOMAIN */
	assert_int_equal(dns_parse(m.b, m.n, &info, NULL, NULL), DNS_ERR_RCODE);
	assert_int_equal(info.rcode, 3);
	build_mx(&m);
	m.b[2] |= 0x02;                             /* TC */
	assert_int_equal(dns_parse(m.b, m.n, &info, NULL, NULL), DNS_OK);
	assert_int_equal(info.tc, 1);
	build_mx(&m);
	m.b[11] = 3;                                /* claims one more additional record */
	assert_int_equal(dns_parse(m.b, m.n, &info, NULL, NULL), DNS_ERR_SHORT);
	assert_int_equal(dns_parse(m.b, 11, &info, NULL, NULL), DNS_ERR_SHORT);
	assert_int_equal(dns_parse(NULL, 0, &info, NULL, NULL), DNS_ERR_SHORT);
	assert_string_equal(dns_status_name(DNS_ERR_MALFORMED), "malformed");
	assert_string_equal(dns_status_name(DNS_OK), "ok");
	assert_string_equal(dns_status_name(42), "unknown");
}

/* Hostile names: loops, forward pointers, hop chains, long names. */
static void
test_hostile_names(void **state)
{
	struct td_msg m;
	struct td_got g;
	size_t at, p0;

	(void)state;
	/* A pointer to itself. */
	td_hdr(&m, TD_RESP, 1, 0, 0, 0);
	td_16(&m, 0xc000 | DNS_HDR_LEN);
	td_16(&m, DNS_T_A);
	td_16(&m, DNS_C_IN);
	assert_int_equal(dns_parse(m.b, m.n, NULL, NULL, NULL), DNS_ERR_MALFORMED);
	/* A label then a pointer back to that label: a loop. */
	td_hdr(&m, TD_RESP, 1, 0, 0, 0);
	td_name(&m, "a", DNS_HDR_LEN);
	td_16(&m, DNS_T_A);
	td_16(&m, DNS_C_IN);
	assert_int_equal(dns_parse(m.b, m.n, NULL, NULL, NULL), DNS_ERR_MALFORMED);
	/* Two names pointing at each other. */
	td_hdr(&m, TD_RESP, 2, 0, 0, 0);
	td_name(&m, "a", DNS_HDR_LEN + 8);         /* forward to the second question */
	td_16(&m, DNS_T_A);
	td_16(&m, DNS_C_IN);
	td_name(&m, "b", DNS_HDR_LEN);
	td_16(&m, DNS_T_A);
	td_16(&m, DNS_C_IN);
	assert_int_equal(dns_parse(m.b, m.n, NULL, NULL, NULL), DNS_ERR_MALFORMED);
	/* A pointer past the end. */
	td_hdr(&m, TD_RESP, 1, 0, 0, 0);
	td_16(&m, 0xffff);
	td_16(&m, DNS_T_A);
	td_16(&m, DNS_C_IN);
	assert_int_equal(dns_parse(m.b, m.n, NULL, NULL, NULL), DNS_ERR_MALFORMED);
	/* Reserved label types 01 and 10. */
	td_hdr(&m, TD_RESP, 1, 0, 0, 0);
	m.b[m.n++] = 0x41;
	m.b[m.n++] = 0;
	td_16(&m, DNS_T_A);
	td_16(&m, DNS_C_IN);
	assert_int_equal(dns_parse(m.b, m.n, NULL, NULL, NULL), DNS_ERR_MALFORMED);
	m.b[DNS_HDR_LEN] = 0x81;
	assert_int_equal(dns_parse(m.b, m.n, NULL, NULL, NULL), DNS_ERR_MALFORMED);

	/* A chain of names each "x" + pointer to the previous: 20 hops pass,
	 * more than DNS_NAME_HOPS_MAX fail. */
	for (int hops = 20; hops <= DNS_NAME_HOPS_MAX + 6; hops += DNS_NAME_HOPS_MAX + 6 - 20) {
		/* The chain lives in questions: "x", then each a pointer to the last. */
		td_hdr(&m, TD_RESP, (unsigned)hops + 1, 1, 0, 0);
		p0 = td_name(&m, "x", -1);
		td_32(&m, DNS_T_A << 16 | DNS_C_IN);
		for (int h = 0; h < hops; h++) {
			p0 = td_name(&m, "", (int)p0);   /* pointer to a pointer */
			td_32(&m, DNS_T_A << 16 | DNS_C_IN);
		}
		td_name(&m, "", (int)p0);
		at = td_rr(&m, DNS_T_A, DNS_C_IN, 1);
		td_raw(&m, "\1\2\3\4", 4);
		td_rdlen(&m, at);
		memset(&g, 0, sizeof(g));
		assert_int_equal(dns_parse(m.b, m.n, NULL, td_cb, &g),
		    hops + 1 <= DNS_NAME_HOPS_MAX ? DNS_OK : DNS_ERR_MALFORMED);
		if (g.n == 1)
			assert_string_equal(g.rr[0].owner, "x");
	}

	/* Long names: 255 wire octets pass, 256 fail, also when built with pointers. */
	{
		char name[300];
		size_t n = 0;

		/* 3 labels of 63 + one of 61: 64*3 + 62 + root = 255. */
		for (int l = 0; l < 3; l++) {
			memset(name + n, 'a', 63);
			n += 63;
			name[n++] = '.';
		}
		memset(name + n, 'b', 61);
		n += 61;
		name[n] = '\0';
		td_hdr(&m, TD_RESP, 0, 1, 0, 0);
		td_name(&m, name, -1);
		at = td_rr(&m, DNS_T_A, DNS_C_IN, 1);
		td_raw(&m, "\1\2\3\4", 4);
		td_rdlen(&m, at);
		memset(&g, 0, sizeof(g));
		assert_int_equal(dns_parse(m.b, m.n, NULL, td_cb, &g), DNS_OK);
		assert_int_equal(strlen(g.rr[0].owner), 253);
		td_all_prefixes(&m);

		name[n++] = 'b';                          /* 256 */
		name[n] = '\0';
		td_hdr(&m, TD_RESP, 0, 1, 0, 0);
		td_name(&m, name, -1);
		at = td_rr(&m, DNS_T_A, DNS_C_IN, 1);
		td_raw(&m, "\1\2\3\4", 4);
		td_rdlen(&m, at);
		assert_int_equal(dns_parse(m.b, m.n, NULL, NULL, NULL), DNS_ERR_MALFORMED);

		/* 192 octets of labels, then a name adding 64 more through a pointer. */
		td_hdr(&m, TD_RESP, 1, 1, 0, 0);
		p0 = td_name(&m, name + 64, -1);           /* question: 2 labels of 63 + 62 + root = 192 */
		td_32(&m, DNS_T_A << 16 | DNS_C_IN);
		memset(name, 'c', 63);
		name[63] = '\0';
		td_name(&m, name, (int)p0);                /* 64 more: 256, too long */
		at = td_rr(&m, DNS_T_A, DNS_C_IN, 1);
		td_raw(&m, "\1\2\3\4", 4);
		td_rdlen(&m, at);
		assert_int_equal(dns_parse(m.b, m.n, NULL, NULL, NULL), DNS_ERR_MALFORMED);
		/* One octet less: 255, accepted. */
		m.b[p0 + 192 + 4] = 62;                    /* the "c" label's length byte */
		memmove(m.b + p0 + 192 + 4 + 63, m.b + p0 + 192 + 4 + 64, m.n - (p0 + 192 + 4 + 64));
		m.n--;
		memset(&g, 0, sizeof(g));
		assert_int_equal(dns_parse(m.b, m.n, NULL, td_cb, &g), DNS_OK);
		assert_int_equal(g.n, 1);
		assert_int_equal(strlen(g.rr[0].owner), 253);
		td_all_prefixes(&m);
	}
}

/* Bad rdata: lengths and names that do not fit their rdata. */
static void
test_bad_rdata(void **state)
{
	struct td_msg m;
	size_t at;

	(void)state;
	td_hdr(&m, TD_RESP, 0, 1, 0, 0);
	td_name(&m, "a.example", -1);
	at = td_rr(&m, DNS_T_A, DNS_C_IN, 1);
	td_raw(&m, "\1\2\3\4\5", 5);
	td_rdlen(&m, at);
	assert_int_equal(dns_parse(m.b, m.n, NULL, NULL, NULL), DNS_ERR_MALFORMED);

	td_hdr(&m, TD_RESP, 0, 1, 0, 0);
	td_name(&m, "a.example", -1);
	at = td_rr(&m, DNS_T_AAAA, DNS_C_IN, 1);
	td_raw(&m, "\1\2\3\4", 4);
	td_rdlen(&m, at);
	assert_int_equal(dns_parse(m.b, m.n, NULL, NULL, NULL), DNS_ERR_MALFORMED);

	/* CNAME with a byte after its name inside the rdata. */
	td_hdr(&m, TD_RESP, 0, 1, 0, 0);
	td_name(&m, "a.example", -1);
	at = td_rr(&m, DNS_T_CNAME, DNS_C_IN, 1);
	td_name(&m, "b.example", -1);
	m.b[m.n++] = 0;
	td_rdlen(&m, at);
	assert_int_equal(dns_parse(m.b, m.n, NULL, NULL, NULL), DNS_ERR_MALFORMED);

	/* MX whose name runs past its rdlength (rdlength cut by 3). */
	td_hdr(&m, TD_RESP, 0, 2, 0, 0);
	td_name(&m, "a.example", -1);
	at = td_rr(&m, DNS_T_MX, DNS_C_IN, 1);
	td_16(&m, 1);
	td_name(&m, "mx.example", -1);
	td_rdlen(&m, at);
	m.b[at + 1] -= 3;
	assert_int_equal(dns_parse(m.b, m.n, NULL, NULL, NULL), DNS_ERR_MALFORMED);

	/* MX with only a preference. */
	td_hdr(&m, TD_RESP, 0, 1, 0, 0);
	td_name(&m, "a.example", -1);
	at = td_rr(&m, DNS_T_MX, DNS_C_IN, 1);
	td_16(&m, 1);
	td_rdlen(&m, at);
	assert_int_equal(dns_parse(m.b, m.n, NULL, NULL, NULL), DNS_ERR_MALFORMED);

	/* rdlength beyond the message. */
	td_hdr(&m, TD_RESP, 0, 1, 0, 0);
	td_name(&m, "a.example", -1);
	at = td_rr(&m, DNS_T_A, DNS_C_IN, 1);
	td_raw(&m, "\1\2\3\4", 4);
	td_rdlen(&m, at);
	m.b[at + 1] = 40;
	assert_int_equal(dns_parse(m.b, m.n, NULL, NULL, NULL), DNS_ERR_SHORT);
}

/* Random bytes after a valid header: any result but a crash. */
static void
test_garbage(void **state)
{
	uint32_t x = 2463534242u;

	(void)state;
	for (int round = 0; round < 20000; round++) {
		size_t len = DNS_HDR_LEN + (x % 96);
		uint8_t *b = malloc(len);

		for (size_t i = 0; i < len; i++) {
			x ^= x << 13;
			x ^= x >> 17;
			x ^= x << 5;
			/* Bias towards small counts, pointers and short labels. */
			b[i] = (uint8_t)(i % 7 == 0 ? (x & 0xc3) : x);
		}
		b[2] = 0x80;
		b[3] = 0;
		b[4] = 0;
		b[5] = (uint8_t)(x & 3);
		b[6] = 0;
		b[7] = (uint8_t)((x >> 3) & 7);
		{
			struct td_got g;

			memset(&g, 0, sizeof(g));
			(void)dns_parse(b, len, NULL, td_cb, &g);
		}
		free(b);
	}
}

/* TCP framing. */
static void
test_tcp_frame(void **state)
{
	struct td_msg m;
	uint8_t stream[TD_BUF + 4];
	const uint8_t *msg;
	size_t mlen, n;

	(void)state;
	build_mx(&m);
	stream[0] = (uint8_t)(m.n >> 8);
	stream[1] = (uint8_t)m.n;
	memcpy(stream + 2, m.b, m.n);
	stream[2 + m.n] = 0;   /* the start of a next frame */
	for (size_t k = 0; k < 2 + m.n; k++)
		assert_int_equal(dns_tcp_frame(stream, k, &msg, &mlen), 0);
	n = dns_tcp_frame(stream, 3 + m.n, &msg, &mlen);
	assert_int_equal(n, 2 + m.n);
	assert_ptr_equal(msg, stream + 2);
	assert_int_equal(mlen, m.n);
	assert_int_equal(dns_parse(msg, mlen, NULL, NULL, NULL), DNS_OK);
	stream[0] = stream[1] = 0;
	assert_int_equal(dns_tcp_frame(stream, 2, &msg, &mlen), 2);
	assert_int_equal(mlen, 0);
	assert_int_equal(dns_parse(msg, mlen, NULL, NULL, NULL), DNS_ERR_SHORT);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mx_response),
		cmocka_unit_test(test_cname),
		cmocka_unit_test(test_skipped),
		cmocka_unit_test(test_header),
		cmocka_unit_test(test_hostile_names),
		cmocka_unit_test(test_bad_rdata),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_tcp_frame),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
