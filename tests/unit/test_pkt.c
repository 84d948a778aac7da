/*
 * test_pkt.c - unit tests for inspect/pkt.c (frame decoding).
 *
 * Frames are built by hand with the small helpers below, one per header, so
 * each test states the bytes it feeds. Most cases are table rows: link
 * framings (tp_links: a link header as a string in front of the standard
 * datagram), changed header fields (tp_fields) and fragments (tp_frags);
 * a failing row prints its name. Every valid frame is also replayed cut
 * at every length, each prefix in its own exactly-sized heap buffer so
 * AddressSanitizer catches any read past the capture.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "inspect/pkt.h"
#include "inspect/wire.h"

/* Large enough for every frame built here. */
#define TP_BUF 2048

static const uint8_t tp_src4[4] = { 192, 0, 2, 1 };
static const uint8_t tp_dst4[4] = { 203, 0, 113, 25 };
static const uint8_t tp_src6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 1 };
static const uint8_t tp_dst6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0x25 };
static const char tp_data[] = "EHLO client.example.org\r\n";
#define TP_DATA_LEN (sizeof(tp_data) - 1)

/* Write a TCP header (doff 32-bit words, options NOP-filled) and payload. */
static size_t
tp_tcp(uint8_t *b, unsigned doff, const void *data, size_t len)
{
	size_t hl = (size_t)doff * 4;

	memset(b, 0, hl);
	put16(b, 41234);
	put16(b + 2, 25);
	put32(b + 4, 0x11223344);
	put32(b + 8, 0x55667788);
	b[12] = (uint8_t)(doff << 4);
	b[13] = PKT_TH_ACK | PKT_TH_PSH;
	put16(b + 14, 64240);
	put16(b + 18, 7);
	if (hl > 20)
		memset(b + 20, 1, hl - 20);
	if (len > 0)
		memcpy(b + hl, data, len);
	return hl + len;
}

/* Write an IPv4 header of ihl words in front of l4len bytes. */
static size_t
tp_ip4(uint8_t *b, unsigned ihl, uint8_t proto, unsigned frag, size_t l4len)
{
	size_t hl = (size_t)ihl * 4;

	memset(b, 0, hl);
	b[0] = (uint8_t)(0x40 | ihl);
	put16(b + 2, (unsigned)(hl + l4len));
	put16(b + 4, 0xbeef);
	put16(b + 6, frag);
	b[8] = 64;
	b[9] = proto;
	memcpy(b + 12, tp_src4, 4);
	memcpy(b + 16, tp_dst4, 4);
	return hl;
}

/* Write an IPv6 header with next header nh and payload length plen. */
static size_t
tp_ip6(uint8_t *b, uint8_t nh, size_t plen)
{
	memset(b, 0, 40);
	b[0] = 0x60;
	put16(b + 4, (unsigned)plen);
	b[6] = nh;
	b[7] = 57;
	memcpy(b + 8, tp_src6, 16);
	memcpy(b + 24, tp_dst6, 16);
	return 40;
}

/* Build IPv4+TCP(+payload) at b; returns the datagram length. */
static size_t
tp_v4_tcp(uint8_t *b, unsigned ihl, unsigned doff)
{
	size_t hl = (size_t)ihl * 4;
	size_t l4 = tp_tcp(b + hl, doff, tp_data, TP_DATA_LEN);

	tp_ip4(b, ihl, 6, 0x4000, l4);
	return hl + l4;
}

/* Build IPv6+TCP(+payload) at b; returns the packet length. */
static size_t
tp_v6_tcp(uint8_t *b)
{
	size_t l4 = tp_tcp(b + 40, 5, tp_data, TP_DATA_LEN);

	tp_ip6(b, 6, l4);
	return 40 + l4;
}

/* Decode a copy of frame[0, len) held in an exactly-sized heap buffer. */
static int
tp_decode_copy(struct pkt *p, int link, const uint8_t *frame, size_t len)
{
	uint8_t *copy = malloc(len ? len : 1);
	int rc;

	assert_non_null(copy);
	memcpy(copy, frame, len);
	rc = pkt_decode(p, link, copy, len);
	/* Pointers must stay inside the buffer; check before freeing it. */
	if (rc == PKT_OK) {
		assert_true(p->payload >= copy);
		assert_true(p->payload + p->payload_len <= copy + len);
		assert_true(p->payload_len <= p->payload_wire_len);
		assert_true(p->l3 >= copy && p->l3 + p->l3_len <= copy + len);
	}
	if (rc == PKT_FRAGMENT)
		assert_true(p->frag_data + p->frag_len <= copy + len);
	free(copy);
	return rc;
}

/* Check every TCP field of a decoded tp_data segment. */
static void
tp_check_tcp(const struct pkt *p, uint8_t af)
{
	assert_int_equal(p->af, af);
	assert_int_equal(p->proto, 6);
	assert_int_equal(p->sport, 41234);
	assert_int_equal(p->dport, 25);
	assert_int_equal(p->seq, 0x11223344);
	assert_int_equal(p->ack, 0x55667788);
	assert_int_equal(p->tcp_flags, PKT_TH_ACK | PKT_TH_PSH);
	assert_int_equal(p->win, 64240);
	assert_int_equal(p->urg, 7);
	assert_int_equal(p->payload_len, TP_DATA_LEN);
	assert_int_equal(p->payload_wire_len, TP_DATA_LEN);
	assert_memory_equal(p->payload, tp_data, TP_DATA_LEN);
	if (af == 4) {
		struct pkt_addr s = { { 0 } }, d = { { 0 } };

		memcpy(s.a, tp_src4, 4);
		memcpy(d.a, tp_dst4, 4);
		assert_memory_equal(p->src.a, s.a, 16);
		assert_memory_equal(p->dst.a, d.a, 16);
		assert_int_equal(p->ttl, 64);
	} else {
		assert_memory_equal(p->src.a, tp_src6, 16);
		assert_memory_equal(p->dst.a, tp_dst6, 16);
		assert_int_equal(p->ttl, 57);
	}
}

/*
 * Replay frame cut at every length: below hdr_end (end of the TCP header)
 * the answer is PKT_TRUNCATED, from there on PKT_OK with a clipped payload.
 */
static void
tp_check_prefixes(int link, const uint8_t *frame, size_t len, size_t hdr_end)
{
	struct pkt p;

	for (size_t n = 0; n <= len; n++) {
		int rc = tp_decode_copy(&p, link, frame, n);

		if (n < hdr_end) {
			assert_int_equal(rc, PKT_TRUNCATED);
			continue;
		}
		assert_int_equal(rc, PKT_OK);
		assert_int_equal(p.payload_len, n - hdr_end);
		assert_int_equal(p.payload_wire_len, len - hdr_end);
	}
}

/* ------------------------------------------------------------------ */
/* Link framings: one table row each                                  */

/* Twelve bytes of MAC addresses, in front of an EtherType or a tag. */
#define TP_MACS "\xaa\xaa\xaa\xaa\xaa\xaa\xaa\xaa\xaa\xaa\xaa\xaa"
/* An 802.1Q tag, VLAN 100. */
#define TP_VLAN "\x81\x00\x00\x64"
/* Linux cooked v1 up to its protocol: to us, ARPHRD_ETHER, 6-byte address. */
#define TP_SLL  "\x00\x00\x00\x01\x00\x06\0\0\0\0\0\0\0\0"
/* Linux cooked v2 after its protocol: reserved, ifindex 3, ARPHRD_ETHER,
 * packet type, address length, address. */
#define TP_SLL2 "\0\0\0\0\0\x03\0\x01\0\0\0\0\0\0\0\0\0\0"
/* A link header as a string literal and its length. */
#define TP_HEAD(s) (s), sizeof(s) - 1

/*
 * A frame: the link header head (headlen bytes) in front of the standard
 * datagram, IPv4 (tp_v4_tcp with ihl and doff words, 5 when 0) or IPv6
 * (tp_v6_tcp). pkt_decode must answer want; a PKT_OK frame is checked
 * field by field, through pkt_decode_ip too, and replayed cut at every
 * length (tp_check_prefixes).
 */
struct tp_link_case {
	const char *what;     /* for the failure message */
	int link;             /* PKT_LINK_* (or a number we do not decode) */
	const char *head;     /* link header bytes */
	size_t headlen;
	int af;               /* 4 or 6 */
	int want;             /* enum pkt_status */
	unsigned ihl, doff;   /* IPv4 header and TCP header words, 0 = 5 */
};

static const struct tp_link_case tp_links[] = {
	{ "raw IPv4", PKT_LINK_RAW, TP_HEAD(""), 4, PKT_OK, 0, 0 },
	{ "IPv4 and TCP options", PKT_LINK_IPV4, TP_HEAD(""), 4, PKT_OK, 15, 15 },
	{ "raw IPv6", PKT_LINK_RAW, TP_HEAD(""), 6, PKT_OK, 0, 0 },
	{ "LINKTYPE_RAW", PKT_LINK_RAW_LT, TP_HEAD(""), 6, PKT_OK, 0, 0 },
	{ "LINKTYPE_IPV6", PKT_LINK_IPV6, TP_HEAD(""), 6, PKT_OK, 0, 0 },
	{ "OpenBSD DLT_RAW", PKT_LINK_RAW_BSD, TP_HEAD(""), 6, PKT_OK, 0, 0 },
	{ "IPv4 on an IPv6 link", PKT_LINK_IPV6, TP_HEAD(""), 4, PKT_MALFORMED, 0, 0 },
	{ "IPv6 on an IPv4 link", PKT_LINK_IPV4, TP_HEAD(""), 6, PKT_MALFORMED, 0, 0 },
	{ "Ethernet", PKT_LINK_ETHER, TP_HEAD(TP_MACS "\x08\x00"), 4, PKT_OK, 0, 0 },
	{ "802.1Q", PKT_LINK_ETHER, TP_HEAD(TP_MACS TP_VLAN "\x08\x00"), 4, PKT_OK, 0, 0 },
	{ "QinQ", PKT_LINK_ETHER, TP_HEAD(TP_MACS "\x88\xa8\x00\x64" "\x81\x00\x00\x65" "\x08\x00"),
	  4, PKT_OK, 0, 0 },
	{ "QinQ with 0x9100", PKT_LINK_ETHER,
	  TP_HEAD(TP_MACS "\x91\x00\x00\x64" "\x81\x00\x00\x65" "\x81\x00\x00\x66" "\x08\x00"),
	  4, PKT_OK, 0, 0 },
	{ "QinQ IPv6", PKT_LINK_ETHER, TP_HEAD(TP_MACS "\x88\xa8\x00\x64" "\x81\x00\x00\x65" "\x86\xdd"),
	  6, PKT_OK, 0, 0 },
	{ "8 VLAN tags", PKT_LINK_ETHER, TP_HEAD(TP_MACS TP_VLAN TP_VLAN TP_VLAN TP_VLAN
	  TP_VLAN TP_VLAN TP_VLAN TP_VLAN "\x08\x00"), 4, PKT_OK, 0, 0 },
	{ "9 VLAN tags", PKT_LINK_ETHER, TP_HEAD(TP_MACS TP_VLAN TP_VLAN TP_VLAN TP_VLAN
	  TP_VLAN TP_VLAN TP_VLAN TP_VLAN TP_VLAN "\x08\x00"), 4, PKT_MALFORMED, 0, 0 },
	{ "EtherType IPv4, IPv6 inside", PKT_LINK_ETHER, TP_HEAD(TP_MACS "\x08\x00"), 6,
	  PKT_MALFORMED, 0, 0 },
	{ "ARP", PKT_LINK_ETHER, TP_HEAD(TP_MACS "\x08\x06"), 4, PKT_NOT_TCP, 0, 0 },
	{ "802.3 length after a tag", PKT_LINK_ETHER, TP_HEAD(TP_MACS TP_VLAN "\x00\x64"), 4,
	  PKT_NOT_TCP, 0, 0 },
	{ "SLL", PKT_LINK_SLL, TP_HEAD(TP_SLL "\x08\x00"), 4, PKT_OK, 0, 0 },
	{ "SLL with a VLAN header left in", PKT_LINK_SLL, TP_HEAD(TP_SLL "\x81\x00\x00\x05\x86\xdd"),
	  6, PKT_OK, 0, 0 },
	{ "SLL 802.2 LLC", PKT_LINK_SLL, TP_HEAD(TP_SLL "\x00\x04\x00\x05\x86\xdd"), 6,
	  PKT_NOT_TCP, 0, 0 },
	{ "SLL2 IPv6", PKT_LINK_SLL2, TP_HEAD("\x86\xdd" TP_SLL2), 6, PKT_OK, 0, 0 },
	{ "SLL2 IPv4", PKT_LINK_SLL2, TP_HEAD("\x08\x00" TP_SLL2), 4, PKT_OK, 0, 0 },
	{ "link type 105", 105, TP_HEAD(""), 4, PKT_UNSUPPORTED_LINK, 0, 0 },
	{ "link type -1", -1, TP_HEAD(""), 4, PKT_UNSUPPORTED_LINK, 0, 0 },
};

static void
test_links(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(tp_links) / sizeof(tp_links[0]); i++) {
		const struct tp_link_case *c = &tp_links[i];
		unsigned ihl = c->ihl ? c->ihl : 5, doff = c->doff ? c->doff : 5;
		uint8_t f[TP_BUF];
		size_t iplen, l3hl = c->af == 4 ? (size_t)ihl * 4 : 40;
		struct pkt p;

		print_message("%s\n", c->what);
		memcpy(f, c->head, c->headlen);
		iplen = c->af == 4 ? tp_v4_tcp(f + c->headlen, ihl, doff) : tp_v6_tcp(f + c->headlen);
		assert_int_equal(pkt_decode(&p, c->link, f, c->headlen + iplen), c->want);
		if (c->want != PKT_OK)
			continue;
		tp_check_tcp(&p, (uint8_t)c->af);
		assert_ptr_equal(p.l3, f + c->headlen);
		assert_int_equal(p.l3_len, iplen);
		assert_ptr_equal(p.l4, f + c->headlen + l3hl);
		assert_int_equal(p.l4_len, iplen - l3hl);
		assert_int_equal(pkt_decode_ip(&p, f + c->headlen, iplen), PKT_OK);
		tp_check_tcp(&p, (uint8_t)c->af);
		tp_check_prefixes(c->link, f, c->headlen + iplen,
		    c->headlen + l3hl + (size_t)doff * 4);
	}
}

/* ------------------------------------------------------------------ */
/* Header fields changed: one table row each                          */

/* The standard IPv4 datagram's length: headers and tp_data. */
#define TP_V4_LEN (40 + TP_DATA_LEN)

/* Store v at byte `at`: one byte (width 1) or big-endian 16 bits (2). */
struct tp_set {
	size_t at;
	unsigned v;
	int width;            /* 0: unused */
};
#define TP_B(at, v) { (at), (v), 1 }
#define TP_W(at, v) { (at), (v), 2 }

/*
 * The standard raw datagram (IPv4 of ihl/doff words, or IPv6) with some
 * fields changed, of which caplen bytes are captured (0: all); pkt_decode
 * must answer want. For PKT_OK, payload is the payload length it must see
 * (-1: the whole tp_data, every field checked) and, cut by caplen, the IP
 * length seen is caplen; for PKT_NOT_TCP the family, protocol and layer 4
 * must be set all the same.
 */
struct tp_field_case {
	const char *what;
	int af;
	unsigned ihl, doff;
	struct tp_set set[2];
	size_t caplen;
	int want;
	long payload;
};

static const struct tp_field_case tp_fields[] = {
	{ "IHL 4", 4, 5, 5, { TP_B(0, 0x44) }, 0, PKT_MALFORMED, 0 },
	{ "version 5", 4, 5, 5, { TP_B(0, 0x55) }, 0, PKT_MALFORMED, 0 },
	{ "total length below the header", 4, 5, 5, { TP_W(2, 19) }, 0, PKT_MALFORMED, 0 },
	{ "total length inside the options", 4, 6, 5, { TP_W(2, 22) }, 0, PKT_MALFORMED, 0 },
	{ "room for only 10 TCP bytes", 4, 5, 5, { TP_W(2, 30) }, 0, PKT_MALFORMED, 0 },
	{ "TCP data offset 4", 4, 5, 5, { TP_B(32, 0x40) }, 0, PKT_MALFORMED, 0 },
	{ "TCP header = the segment", 4, 5, 5, { TP_W(2, 20 + 24), TP_B(32, 0x60) }, 0, PKT_OK, 0 },
	{ "TCP header past the segment", 4, 5, 5, { TP_W(2, 20 + 24), TP_B(32, 0x70) }, 0,
	  PKT_MALFORMED, 0 },
	{ "snaplen 50: payload cut", 4, 5, 5, { { 0 } }, 50, PKT_OK, 10 },
	{ "TCP options cut", 4, 5, 10, { { 0 } }, 50, PKT_TRUNCATED, 0 },
	{ "TCP options whole", 4, 5, 10, { { 0 } }, 60, PKT_OK, 0 },
	{ "total length 0 (TSO)", 4, 5, 5, { TP_W(2, 0) }, 0, PKT_OK, -1 },
	{ "total length 0 in a fragment", 4, 5, 5, { TP_W(2, 0), TP_W(6, 0x2000) }, 0,
	  PKT_MALFORMED, 0 },
	{ "GRE", 4, 5, 5, { TP_B(9, 47) }, 0, PKT_NOT_TCP, 0 },
	{ "short GRE", 4, 5, 5, { TP_B(9, 47) }, 24, PKT_NOT_TCP, 0 },
	{ "IPv6 payload length 0 (jumbo)", 6, 0, 0, { TP_W(4, 0) }, 0, PKT_OK, -1 },
	{ "UDP length below its header", 4, 5, 5, { TP_B(9, 17), TP_W(24, 7) }, 0, PKT_MALFORMED, 0 },
	{ "UDP length past the datagram", 4, 5, 5, { TP_B(9, 17), TP_W(24, TP_V4_LEN - 20 + 1) }, 0,
	  PKT_MALFORMED, 0 },
};

static void
test_fields(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(tp_fields) / sizeof(tp_fields[0]); i++) {
		const struct tp_field_case *c = &tp_fields[i];
		uint8_t f[TP_BUF];
		size_t len = c->af == 4 ? tp_v4_tcp(f, c->ihl, c->doff) : tp_v6_tcp(f);
		struct pkt p;

		print_message("%s\n", c->what);
		for (size_t k = 0; k < 2; k++) {
			if (c->set[k].width == 1)
				f[c->set[k].at] = (uint8_t)c->set[k].v;
			else if (c->set[k].width == 2)
				put16(f + c->set[k].at, c->set[k].v);
		}
		if (c->caplen)
			len = c->caplen;
		assert_int_equal(tp_decode_copy(&p, PKT_LINK_RAW, f, len), c->want);
		if (c->want == PKT_NOT_TCP) {
			assert_int_equal(p.af, c->af);
			assert_int_equal(p.proto, f[9]);
			assert_int_equal(p.l4 - p.l3, (long)c->ihl * 4);
		}
		if (c->want != PKT_OK)
			continue;
		if (c->payload < 0) {
			tp_check_tcp(&p, (uint8_t)c->af);
		} else {
			assert_int_equal(p.payload_len, c->payload);
			if (c->caplen)           /* clipped to what was captured */
				assert_int_equal(p.l3_len, c->caplen);
		}
	}
}

/* Build an Ethernet frame with the given VLAN TPIDs in front of ip. */
static size_t
tp_ether(uint8_t *f, const unsigned *tpids, size_t ntags, unsigned type,
    const uint8_t *ip, size_t iplen)
{
	size_t off = 12;

	memset(f, 0xaa, 12);
	for (size_t i = 0; i < ntags; i++) {
		put16(f + off, tpids[i]);
		put16(f + off + 2, (unsigned)(100 + i));
		off += 4;
	}
	put16(f + off, type);
	off += 2;
	memcpy(f + off, ip, iplen);
	return off + iplen;
}

static void
test_ether_padding(void **state)
{
	uint8_t ip[TP_BUF], f[TP_BUF];
	size_t iplen, len;
	struct pkt p;

	(void)state;
	/* A bare ACK is 40 bytes: Ethernet pads it to 46 with zeros. */
	iplen = tp_tcp(ip + 20, 5, NULL, 0);
	iplen += tp_ip4(ip, 5, 6, 0, iplen);
	len = tp_ether(f, NULL, 0, 0x0800, ip, iplen);
	memset(f + len, 0, 6);
	len += 6;
	assert_int_equal(pkt_decode(&p, PKT_LINK_ETHER, f, len), PKT_OK);
	assert_int_equal(p.l3_len, 40);
	assert_int_equal(p.payload_len, 0);
	assert_int_equal(p.payload_wire_len, 0);
}

/* Write a 4-byte loopback family word in the given byte order. */
static void
tp_family(uint8_t *f, uint32_t fam, int big)
{
	if (big) {
		put32(f, fam);
	} else {
		f[0] = (uint8_t)fam;
		f[1] = (uint8_t)(fam >> 8);
		f[2] = (uint8_t)(fam >> 16);
		f[3] = (uint8_t)(fam >> 24);
	}
}

static void
test_null_loop(void **state)
{
	static const uint32_t fam6[] = { 24, 28, 30 };
	static const int links[] = { PKT_LINK_NULL, PKT_LINK_LOOP };
	uint8_t f[TP_BUF];
	size_t iplen;
	struct pkt p;

	(void)state;
	for (size_t l = 0; l < 2; l++) {
		for (int big = 0; big < 2; big++) {
			tp_family(f, 2, big);
			iplen = tp_v4_tcp(f + 4, 5, 5);
			assert_int_equal(pkt_decode(&p, links[l], f, 4 + iplen),
			    PKT_OK);
			tp_check_tcp(&p, 4);
			tp_check_prefixes(links[l], f, 4 + iplen, 44);
			iplen = tp_v6_tcp(f + 4);
			for (size_t i = 0; i < 3; i++) {
				tp_family(f, fam6[i], big);
				assert_int_equal(pkt_decode(&p, links[l], f,
				    4 + iplen), PKT_OK);
				tp_check_tcp(&p, 6);
			}
			tp_check_prefixes(links[l], f, 4 + iplen, 64);
			/* AF_APPLETALK etc.: not ours. */
			tp_family(f, 16, big);
			assert_int_equal(pkt_decode(&p, links[l], f, 4 + iplen),
			    PKT_NOT_TCP);
		}
	}
}

/* UDP (DNS answers): ports and payload, lengths checked. */
static void
test_udp(void **state)
{
	uint8_t f[TP_BUF];
	size_t len = tp_v4_tcp(f, 5, 5);
	struct pkt p;

	(void)state;
	f[9] = 17;
	put16(f + 20, 53);
	put16(f + 22, 40000);
	put16(f + 24, (uint16_t)(len - 20));
	assert_int_equal(pkt_decode(&p, PKT_LINK_RAW, f, len), PKT_UDP);
	assert_int_equal(p.sport, 53);
	assert_int_equal(p.dport, 40000);
	assert_ptr_equal(p.payload, f + 28);
	assert_int_equal(p.payload_len, len - 28);
	put16(f + 24, 7);           /* shorter than its own header */
	assert_int_equal(pkt_decode(&p, PKT_LINK_RAW, f, len), PKT_MALFORMED);
	put16(f + 24, (uint16_t)(len - 20 + 1)); /* past the IP datagram */
	assert_int_equal(pkt_decode(&p, PKT_LINK_RAW, f, len), PKT_MALFORMED);
}

/* Append an 8-byte-unit extension header (type-specific body zeroed). */
static size_t
tp_ext(uint8_t *b, uint8_t nh, size_t units)
{
	memset(b, 0, (units + 1) * 8);
	b[0] = nh;
	b[1] = (uint8_t)units;
	return (units + 1) * 8;
}

static void
test_ipv6_ext_chain(void **state)
{
	uint8_t f[TP_BUF];
	size_t off = 40, l4, hdr_end;
	struct pkt p;

	(void)state;
	/* HBH(8) -> DSTOPTS(16) -> ROUTING(24) -> AH(24) -> DSTOPTS(8) -> TCP */
	off += tp_ext(f + off, 60, 0);
	off += tp_ext(f + off, 43, 1);
	off += tp_ext(f + off, 51, 2);
	memset(f + off, 0, 24);
	f[off] = 60;
	f[off + 1] = 4;                  /* AH: (4 + 2) * 4 = 24 bytes */
	off += 24;
	off += tp_ext(f + off, 6, 0);
	hdr_end = off + 20;
	l4 = tp_tcp(f + off, 5, tp_data, TP_DATA_LEN);
	tp_ip6(f, 0, off - 40 + l4);
	assert_int_equal(pkt_decode(&p, PKT_LINK_RAW, f, off + l4), PKT_OK);
	tp_check_tcp(&p, 6);
	assert_ptr_equal(p.l4, f + off);
	tp_check_prefixes(PKT_LINK_RAW, f, off + l4, hdr_end);

	/* The payload length ends inside the chain: malformed, not truncated. */
	put16(f + 4, 20);
	assert_int_equal(pkt_decode(&p, PKT_LINK_RAW, f, off + l4),
	    PKT_MALFORMED);
	/* ... or inside the TCP header. */
	put16(f + 4, (unsigned)(off - 40 + 10));
	assert_int_equal(pkt_decode(&p, PKT_LINK_RAW, f, off + l4),
	    PKT_MALFORMED);
}

static void
test_ipv6_not_tcp(void **state)
{
	uint8_t f[TP_BUF];
	size_t off;
	struct pkt p;

	(void)state;
	tp_ip6(f, 50, 64);               /* ESP */
	memset(f + 40, 0, 64);
	assert_int_equal(pkt_decode(&p, PKT_LINK_RAW, f, 104), PKT_NOT_TCP);
	assert_int_equal(p.af, 6);
	tp_ip6(f, 59, 0);                /* no next header */
	assert_int_equal(pkt_decode(&p, PKT_LINK_RAW, f, 40), PKT_NOT_TCP);
	off = 40 + tp_ext(f + 40, 47, 0);
	tp_ip6(f, 60, off - 40 + 8);     /* DSTOPTS -> GRE */
	assert_int_equal(pkt_decode(&p, PKT_LINK_RAW, f, off + 8),
	    PKT_NOT_TCP);
	assert_int_equal(p.proto, 47);
	assert_ptr_equal(p.l4, f + off);
	off = 40 + tp_ext(f + 40, 50, 0);
	tp_ip6(f, 0, off - 40 + 8);      /* HBH -> ESP */
	assert_int_equal(pkt_decode(&p, PKT_LINK_RAW, f, off + 8),
	    PKT_NOT_TCP);
}

static void
test_ipv6_ext_limits(void **state)
{
	uint8_t f[TP_BUF];
	size_t off, l4;
	struct pkt p;

	(void)state;
	/* Eight destination option headers pass, nine do not. */
	for (size_t count = 8; count <= 9; count++) {
		off = 40;
		for (size_t i = 0; i < count; i++)
			off += tp_ext(f + off, i + 1 < count ? 60 : 6, 0);
		l4 = tp_tcp(f + off, 5, tp_data, TP_DATA_LEN);
		tp_ip6(f, 60, off - 40 + l4);
		assert_int_equal(pkt_decode(&p, PKT_LINK_RAW, f, off + l4),
		    count == 8 ? PKT_OK : PKT_MALFORMED);
	}
	/* Hop-by-hop anywhere but first. */
	off = 40;
	off += tp_ext(f + off, 0, 0);
	off += tp_ext(f + off, 6, 0);
	l4 = tp_tcp(f + off, 5, tp_data, TP_DATA_LEN);
	tp_ip6(f, 60, off - 40 + l4);
	assert_int_equal(pkt_decode(&p, PKT_LINK_RAW, f, off + l4),
	    PKT_MALFORMED);
	/* The largest extension header (2048 bytes) runs past the packet. */
	off = 40 + tp_ext(f + 40, 6, 0);
	f[41] = 255;
	l4 = tp_tcp(f + off, 5, tp_data, TP_DATA_LEN);
	tp_ip6(f, 60, off - 40 + l4);
	assert_int_equal(pkt_decode(&p, PKT_LINK_RAW, f, off + l4),
	    PKT_MALFORMED);
}

/* Write an IPv6 fragment header. */
static size_t
tp_frag6(uint8_t *b, uint8_t nh, unsigned off, int more, uint32_t id)
{
	b[0] = nh;
	b[1] = 0;
	put16(b + 2, (off & 0xfff8) | (more ? 1 : 0));
	put32(b + 4, id);
	return 8;
}

/*
 * A fragment: the standard IPv4 datagram with flags/offset word frag4 and
 * protocol proto4, or the standard TCP segment behind IPv6 + hop-by-hop +
 * a fragment header (off6, more6, id6). pkt_decode must answer want: for
 * PKT_FRAGMENT every frag_* field as listed, and every shorter capture is
 * PKT_TRUNCATED (a cut fragment cannot be reassembled); for PKT_OK (an
 * atomic fragment) the whole segment.
 */
struct tp_frag_case {
	const char *what;
	int af;
	unsigned frag4;           /* IPv4 flags and offset / 8 */
	uint8_t proto4;           /* IPv4 protocol */
	unsigned off6;            /* IPv6 fragment offset (bytes) */
	int more6;                /* IPv6 M flag */
	uint32_t id6;             /* IPv6 identification */
	int want;
	uint32_t id, off;         /* frag_id, frag_off */
	int more;                 /* frag_more */
	uint8_t proto;            /* frag_proto */
	uint32_t hdr_len;         /* frag_hdr_len: header bytes before the fragment header / data */
};

static const struct tp_frag_case tp_frags[] = {
	{ "IPv4 first", 4, 0x2000, 6, 0, 0, 0, PKT_FRAGMENT, 0xbeef, 0, 1, 6, 20 },
	{ "IPv4 last at 1480, DF noise", 4, 0x4000 | 185, 6, 0, 0, 0, PKT_FRAGMENT, 0xbeef, 1480, 0, 6, 20 },
	{ "IPv4 UDP middle", 4, 0x2000 | 3, 17, 0, 0, 0, PKT_FRAGMENT, 0xbeef, 24, 1, 17, 20 },
	{ "IPv6 first", 6, 0, 0, 0, 1, 0xdeadbeef, PKT_FRAGMENT, 0xdeadbeef, 0, 1, 6, 48 },
	{ "IPv6 last at 1232", 6, 0, 0, 1232, 0, 7, PKT_FRAGMENT, 7, 1232, 0, 6, 48 },
	{ "IPv6 atomic", 6, 0, 0, 0, 0, 7, PKT_OK, 0, 0, 0, 0, 0 },
};

static void
test_fragments(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(tp_frags) / sizeof(tp_frags[0]); i++) {
		const struct tp_frag_case *c = &tp_frags[i];
		uint8_t f[TP_BUF];
		size_t len, data;
		struct pkt p;

		print_message("%s\n", c->what);
		if (c->af == 4) {
			len = tp_v4_tcp(f, 5, 5);
			put16(f + 6, c->frag4);
			f[9] = c->proto4;
			data = 20;
		} else {
			data = 40 + tp_ext(f + 40, 44, 0);
			data += tp_frag6(f + data, 6, c->off6, c->more6, c->id6);
			len = data + tp_tcp(f + data, 5, tp_data, TP_DATA_LEN);
			tp_ip6(f, 0, len - 40);
		}
		assert_int_equal(pkt_decode(&p, PKT_LINK_RAW, f, len), c->want);
		if (c->want == PKT_OK) {
			tp_check_tcp(&p, (uint8_t)c->af);
			tp_check_prefixes(PKT_LINK_RAW, f, len, data + 20);
			continue;
		}
		assert_int_equal(p.af, c->af);
		assert_ptr_equal(p.l3, f);
		assert_int_equal(p.frag_id, c->id);
		assert_int_equal(p.frag_off, c->off);
		assert_int_equal(p.frag_more, c->more);
		assert_int_equal(p.frag_proto, c->proto);
		assert_int_equal(p.frag_hdr_len, c->hdr_len);
		assert_ptr_equal(p.frag_data, f + data);
		assert_int_equal(p.frag_len, len - data);
		for (size_t n = 0; n < len; n++)
			assert_int_equal(tp_decode_copy(&p, PKT_LINK_RAW, f, n), PKT_TRUNCATED);
	}
}

static void
test_status_names(void **state)
{
	(void)state;
	assert_string_equal(pkt_status_name(PKT_OK), "ok");
	assert_string_equal(pkt_status_name(PKT_NOT_TCP), "not_tcp");
	assert_string_equal(pkt_status_name(PKT_FRAGMENT), "fragment");
	assert_string_equal(pkt_status_name(PKT_TRUNCATED), "truncated");
	assert_string_equal(pkt_status_name(PKT_MALFORMED), "malformed");
	assert_string_equal(pkt_status_name(PKT_UNSUPPORTED_LINK),
	    "unsupported_link");
	assert_string_equal(pkt_status_name(-1), "unknown");
	assert_string_equal(pkt_status_name(99), "unknown");
}

static void
test_addr_cmp(void **state)
{
	struct pkt_addr x = { { 0 } }, y = { { 0 } };

	(void)state;
	memcpy(x.a, tp_src4, 4);
	memcpy(y.a, tp_src4, 4);
	assert_int_equal(pkt_addr_cmp(4, &x, &y), 0);
	y.a[3] = 2;
	assert_true(pkt_addr_cmp(4, &x, &y) < 0);
	assert_true(pkt_addr_cmp(4, &y, &x) > 0);
	/* Bytes past the IPv4 address do not count for af 4. */
	y.a[3] = 1;
	y.a[10] = 9;
	assert_int_equal(pkt_addr_cmp(4, &x, &y), 0);
	assert_true(pkt_addr_cmp(6, &x, &y) < 0);
	memcpy(x.a, tp_dst6, 16);
	memcpy(y.a, tp_dst6, 16);
	assert_int_equal(pkt_addr_cmp(6, &x, &y), 0);
}

/* A small deterministic PRNG (xorshift32) so failures reproduce. */
static uint32_t
tp_rand(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

static void
test_mutations(void **state)
{
	static const int links[] = { PKT_LINK_NULL, PKT_LINK_ETHER,
		PKT_LINK_RAW, PKT_LINK_LOOP, PKT_LINK_SLL, PKT_LINK_SLL2 };
	uint8_t base[TP_BUF], f[TP_BUF];
	uint32_t seed = 0x2545f491;
	struct pkt p;

	(void)state;
	for (int round = 0; round < 20000; round++) {
		int link = links[tp_rand(&seed) % 6];
		size_t off = 0, len;

		memset(base, 0, 24);
		if (link == PKT_LINK_ETHER) {
			put16(base + 12, (round & 1) ? 0x86dd : 0x0800);
			off = 14;
		} else if (link == PKT_LINK_SLL) {
			put16(base + 14, (round & 1) ? 0x86dd : 0x0800);
			off = 16;
		} else if (link == PKT_LINK_SLL2) {
			put16(base, (round & 1) ? 0x86dd : 0x0800);
			off = 20;
		} else if (link != PKT_LINK_RAW) {
			tp_family(base, (round & 1) ? 24 : 2, 1);
			off = 4;
		}
		len = off + ((round & 1) ? tp_v6_tcp(base + off) :
		    tp_v4_tcp(base + off, 5, 5));
		memcpy(f, base, len);
		for (int k = tp_rand(&seed) % 4; k >= 0; k--)
			f[tp_rand(&seed) % len] = (uint8_t)tp_rand(&seed);
		len = tp_rand(&seed) % (len + 1);
		(void)tp_decode_copy(&p, link, f, len);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_links),
		cmocka_unit_test(test_fields),
		cmocka_unit_test(test_ether_padding),
		cmocka_unit_test(test_null_loop),
		cmocka_unit_test(test_udp),
		cmocka_unit_test(test_ipv6_ext_chain),
		cmocka_unit_test(test_ipv6_not_tcp),
		cmocka_unit_test(test_ipv6_ext_limits),
		cmocka_unit_test(test_fragments),
		cmocka_unit_test(test_status_names),
		cmocka_unit_test(test_addr_cmp),
		cmocka_unit_test(test_mutations),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
