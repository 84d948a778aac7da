/*
 * test_pkt.c - unit tests for inspect/pkt.c (frame decoding).
 *
 * Frames are built by hand with the small helpers below, one per header, so
 * each test states the bytes it feeds. Every valid frame is also replayed
 * cut at every length, each prefix in its own exactly-sized heap buffer so
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

/* Store a big-endian 16-bit value. */
static void
tp_put16(uint8_t *b, unsigned v)
{
	b[0] = (uint8_t)(v >> 8);
	b[1] = (uint8_t)v;
}

/* Store a big-endian 32-bit value. */
static void
tp_put32(uint8_t *b, uint32_t v)
{
	b[0] = (uint8_t)(v >> 24);
	b[1] = (uint8_t)(v >> 16);
	b[2] = (uint8_t)(v >> 8);
	b[3] = (uint8_t)v;
}

/* Write a TCP header (doff 32-bit words, options NOP-filled) and payload. */
static size_t
tp_tcp(uint8_t *b, unsigned doff, const void *data, size_t len)
{
	size_t hl = (size_t)doff * 4;

	memset(b, 0, hl);
	tp_put16(b, 41234);
	tp_put16(b + 2, 25);
	tp_put32(b + 4, 0x11223344);
	tp_put32(b + 8, 0x55667788);
	b[12] = (uint8_t)(doff << 4);
	b[13] = PKT_TH_ACK | PKT_TH_PSH;
	tp_put16(b + 14, 64240);
	tp_put16(b + 18, 7);
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
	tp_put16(b + 2, (unsigned)(hl + l4len));
	tp_put16(b + 4, 0xbeef);
	tp_put16(b + 6, frag);
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
	tp_put16(b + 4, (unsigned)plen);
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

static void
test_ipv4_raw(void **state)
{
	uint8_t f[TP_BUF];
	size_t len = tp_v4_tcp(f, 5, 5);
	struct pkt p;

	(void)state;
	assert_int_equal(pkt_decode(&p, PKT_LINK_RAW, f, len), PKT_OK);
	tp_check_tcp(&p, 4);
	assert_ptr_equal(p.l3, f);
	assert_int_equal(p.l3_len, len);
	assert_ptr_equal(p.l4, f + 20);
	assert_int_equal(p.l4_len, len - 20);
	assert_int_equal(pkt_decode_ip(&p, f, len), PKT_OK);
	tp_check_tcp(&p, 4);
	tp_check_prefixes(PKT_LINK_RAW, f, len, 40);
}

static void
test_ipv4_options(void **state)
{
	uint8_t f[TP_BUF];
	size_t len = tp_v4_tcp(f, 15, 15);
	struct pkt p;

	(void)state;
	assert_int_equal(pkt_decode(&p, PKT_LINK_IPV4, f, len), PKT_OK);
	tp_check_tcp(&p, 4);
	assert_ptr_equal(p.payload, f + 60 + 60);
	tp_check_prefixes(PKT_LINK_IPV4, f, len, 120);
}

static void
test_ipv6_raw(void **state)
{
	uint8_t f[TP_BUF];
	size_t len = tp_v6_tcp(f);
	struct pkt p;

	(void)state;
	assert_int_equal(pkt_decode(&p, PKT_LINK_RAW_LT, f, len), PKT_OK);
	tp_check_tcp(&p, 6);
	assert_int_equal(pkt_decode(&p, PKT_LINK_IPV6, f, len), PKT_OK);
	tp_check_tcp(&p, 6);
	assert_int_equal(pkt_decode(&p, PKT_LINK_RAW_BSD, f, len), PKT_OK);
	tp_check_tcp(&p, 6);
	tp_check_prefixes(PKT_LINK_IPV6, f, len, 60);
	tp_check_prefixes(PKT_LINK_RAW, f, len, 60);
}

static void
test_raw_version_mismatch(void **state)
{
	uint8_t f[TP_BUF];
	size_t len4 = tp_v4_tcp(f, 5, 5);
	struct pkt p;

	(void)state;
	/* An IPv4 packet on a link that promises IPv6, and vice versa. */
	assert_int_equal(pkt_decode(&p, PKT_LINK_IPV6, f, len4), PKT_MALFORMED);
	f[0] = 0x55;
	assert_int_equal(pkt_decode(&p, PKT_LINK_RAW, f, len4), PKT_MALFORMED);
	size_t len6 = tp_v6_tcp(f);
	assert_int_equal(pkt_decode(&p, PKT_LINK_IPV4, f, len6), PKT_MALFORMED);
	assert_int_equal(pkt_decode(&p, PKT_LINK_RAW, f, 0), PKT_TRUNCATED);
	assert_int_equal(pkt_decode(&p, PKT_LINK_RAW, NULL, 0), PKT_TRUNCATED);
}

/* Build an Ethernet frame with the given VLAN TPIDs in front of ip. */
static size_t
tp_ether(uint8_t *f, const unsigned *tpids, size_t ntags, unsigned type,
    const uint8_t *ip, size_t iplen)
{
	size_t off = 12;

	memset(f, 0xaa, 12);
	for (size_t i = 0; i < ntags; i++) {
		tp_put16(f + off, tpids[i]);
		tp_put16(f + off + 2, (unsigned)(100 + i));
		off += 4;
	}
	tp_put16(f + off, type);
	off += 2;
	memcpy(f + off, ip, iplen);
	return off + iplen;
}

static void
test_ether(void **state)
{
	static const unsigned qinq[] = { 0x88a8, 0x8100 };
	static const unsigned old[] = { 0x9100, 0x8100, 0x8100 };
	static const unsigned dot1q[] = { 0x8100 };
	uint8_t ip[TP_BUF], f[TP_BUF];
	size_t iplen = tp_v4_tcp(ip, 5, 5), len;
	struct pkt p;

	(void)state;
	len = tp_ether(f, NULL, 0, 0x0800, ip, iplen);
	assert_int_equal(pkt_decode(&p, PKT_LINK_ETHER, f, len), PKT_OK);
	tp_check_tcp(&p, 4);
	tp_check_prefixes(PKT_LINK_ETHER, f, len, 14 + 40);

	len = tp_ether(f, dot1q, 1, 0x0800, ip, iplen);
	assert_int_equal(pkt_decode(&p, PKT_LINK_ETHER, f, len), PKT_OK);
	tp_check_tcp(&p, 4);
	tp_check_prefixes(PKT_LINK_ETHER, f, len, 18 + 40);

	len = tp_ether(f, qinq, 2, 0x0800, ip, iplen);
	assert_int_equal(pkt_decode(&p, PKT_LINK_ETHER, f, len), PKT_OK);
	tp_check_tcp(&p, 4);
	tp_check_prefixes(PKT_LINK_ETHER, f, len, 22 + 40);

	len = tp_ether(f, old, 3, 0x0800, ip, iplen);
	assert_int_equal(pkt_decode(&p, PKT_LINK_ETHER, f, len), PKT_OK);
	tp_check_tcp(&p, 4);

	iplen = tp_v6_tcp(ip);
	len = tp_ether(f, qinq, 2, 0x86dd, ip, iplen);
	assert_int_equal(pkt_decode(&p, PKT_LINK_ETHER, f, len), PKT_OK);
	tp_check_tcp(&p, 6);
	tp_check_prefixes(PKT_LINK_ETHER, f, len, 22 + 60);

	/* EtherType and IP version disagree. */
	len = tp_ether(f, NULL, 0, 0x0800, ip, iplen);
	assert_int_equal(pkt_decode(&p, PKT_LINK_ETHER, f, len), PKT_MALFORMED);

	/* ARP, and an 802.3 length field: not IP at all. */
	len = tp_ether(f, NULL, 0, 0x0806, ip, 28);
	assert_int_equal(pkt_decode(&p, PKT_LINK_ETHER, f, len), PKT_NOT_TCP);
	len = tp_ether(f, dot1q, 1, 0x0064, ip, 28);
	assert_int_equal(pkt_decode(&p, PKT_LINK_ETHER, f, len), PKT_NOT_TCP);
}

static void
test_ether_vlan_limit(void **state)
{
	unsigned tags[9];
	uint8_t ip[TP_BUF], f[TP_BUF];
	size_t iplen = tp_v4_tcp(ip, 5, 5), len;
	struct pkt p;

	(void)state;
	for (size_t i = 0; i < 9; i++)
		tags[i] = 0x8100;
	len = tp_ether(f, tags, 8, 0x0800, ip, iplen);
	assert_int_equal(pkt_decode(&p, PKT_LINK_ETHER, f, len), PKT_OK);
	len = tp_ether(f, tags, 9, 0x0800, ip, iplen);
	assert_int_equal(pkt_decode(&p, PKT_LINK_ETHER, f, len), PKT_MALFORMED);
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

static void
test_sll(void **state)
{
	uint8_t ip[TP_BUF], f[TP_BUF];
	size_t iplen = tp_v4_tcp(ip, 5, 5);
	struct pkt p;

	(void)state;
	memset(f, 0, 16);
	tp_put16(f, 0);       /* packet type: to us */
	tp_put16(f + 2, 1);   /* ARPHRD_ETHER */
	tp_put16(f + 4, 6);
	tp_put16(f + 14, 0x0800);
	memcpy(f + 16, ip, iplen);
	assert_int_equal(pkt_decode(&p, PKT_LINK_SLL, f, 16 + iplen), PKT_OK);
	tp_check_tcp(&p, 4);
	tp_check_prefixes(PKT_LINK_SLL, f, 16 + iplen, 16 + 40);

	/* An untagged-by-kernel VLAN header left in the cooked payload. */
	tp_put16(f + 14, 0x8100);
	tp_put16(f + 16, 5);
	tp_put16(f + 18, 0x86dd);
	iplen = tp_v6_tcp(f + 20);
	assert_int_equal(pkt_decode(&p, PKT_LINK_SLL, f, 20 + iplen), PKT_OK);
	tp_check_tcp(&p, 6);
	tp_check_prefixes(PKT_LINK_SLL, f, 20 + iplen, 20 + 60);

	/* Protocol 0x0004 is 802.2 LLC: pass. */
	tp_put16(f + 14, 0x0004);
	assert_int_equal(pkt_decode(&p, PKT_LINK_SLL, f, 20 + iplen),
	    PKT_NOT_TCP);
}

static void
test_sll2(void **state)
{
	uint8_t f[TP_BUF];
	size_t iplen;
	struct pkt p;

	(void)state;
	memset(f, 0, 20);
	tp_put16(f, 0x86dd);
	tp_put32(f + 4, 3);   /* interface index */
	tp_put16(f + 8, 1);   /* ARPHRD_ETHER */
	iplen = tp_v6_tcp(f + 20);
	assert_int_equal(pkt_decode(&p, PKT_LINK_SLL2, f, 20 + iplen), PKT_OK);
	tp_check_tcp(&p, 6);
	tp_check_prefixes(PKT_LINK_SLL2, f, 20 + iplen, 20 + 60);

	tp_put16(f, 0x0800);
	iplen = tp_v4_tcp(f + 20, 5, 5);
	assert_int_equal(pkt_decode(&p, PKT_LINK_SLL2, f, 20 + iplen), PKT_OK);
	tp_check_tcp(&p, 4);
	tp_check_prefixes(PKT_LINK_SLL2, f, 20 + iplen, 20 + 40);
}

/* Write a 4-byte loopback family word in the given byte order. */
static void
tp_family(uint8_t *f, uint32_t fam, int big)
{
	if (big) {
		tp_put32(f, fam);
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

static void
test_unsupported_link(void **state)
{
	uint8_t f[TP_BUF];
	size_t len = tp_v4_tcp(f, 5, 5);
	struct pkt p;

	(void)state;
	assert_int_equal(pkt_decode(&p, 105, f, len), PKT_UNSUPPORTED_LINK);
	assert_int_equal(pkt_decode(&p, -1, f, len), PKT_UNSUPPORTED_LINK);
}

static void
test_ipv4_malformed(void **state)
{
	uint8_t f[TP_BUF];
	size_t len;
	struct pkt p;

	(void)state;
	len = tp_v4_tcp(f, 5, 5);
	f[0] = 0x44;                     /* IHL 4 */
	assert_int_equal(pkt_decode(&p, PKT_LINK_RAW, f, len), PKT_MALFORMED);

	len = tp_v4_tcp(f, 5, 5);
	tp_put16(f + 2, 19);             /* total length below the header */
	assert_int_equal(pkt_decode(&p, PKT_LINK_RAW, f, len), PKT_MALFORMED);

	len = tp_v4_tcp(f, 6, 5);
	tp_put16(f + 2, 22);             /* total length inside the options */
	assert_int_equal(pkt_decode(&p, PKT_LINK_RAW, f, len), PKT_MALFORMED);

	len = tp_v4_tcp(f, 5, 5);
	tp_put16(f + 2, 30);             /* room for only 10 TCP bytes */
	assert_int_equal(pkt_decode(&p, PKT_LINK_RAW, f, len), PKT_MALFORMED);

	len = tp_v4_tcp(f, 5, 5);
	f[32] = 0x40;                    /* TCP data offset 4 */
	assert_int_equal(pkt_decode(&p, PKT_LINK_RAW, f, len), PKT_MALFORMED);

	len = tp_v4_tcp(f, 5, 5);
	tp_put16(f + 2, 20 + 24);        /* data offset 20, segment 24 */
	f[32] = 0x60;
	assert_int_equal(pkt_decode(&p, PKT_LINK_RAW, f, len), PKT_OK);
	assert_int_equal(p.payload_len, 0);
	f[32] = 0x70;                    /* data offset 28 past the segment */
	assert_int_equal(pkt_decode(&p, PKT_LINK_RAW, f, len), PKT_MALFORMED);
}

static void
test_ipv4_short_capture(void **state)
{
	uint8_t f[TP_BUF];
	size_t len = tp_v4_tcp(f, 5, 5);
	struct pkt p;

	(void)state;
	/* snaplen 50: headers whole, payload cut. */
	assert_int_equal(pkt_decode(&p, PKT_LINK_RAW, f, 50), PKT_OK);
	assert_int_equal(p.l3_len, 50);
	assert_int_equal(p.payload_len, 10);
	assert_int_equal(p.payload_wire_len, len - 40);
	/* TCP options announced but cut. */
	len = tp_v4_tcp(f, 5, 10);
	assert_int_equal(pkt_decode(&p, PKT_LINK_RAW, f, 50), PKT_TRUNCATED);
	assert_int_equal(pkt_decode(&p, PKT_LINK_RAW, f, 60), PKT_OK);
}

static void
test_ipv4_tso_zero_length(void **state)
{
	uint8_t f[TP_BUF];
	size_t len = tp_v4_tcp(f, 5, 5);
	struct pkt p;

	(void)state;
	tp_put16(f + 2, 0);
	assert_int_equal(pkt_decode(&p, PKT_LINK_RAW, f, len), PKT_OK);
	tp_check_tcp(&p, 4);
	/* A fragment with total length 0 is nonsense, not offload. */
	tp_put16(f + 6, 0x2000);
	assert_int_equal(pkt_decode(&p, PKT_LINK_RAW, f, len), PKT_MALFORMED);
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
	tp_put16(f + 20, 53);
	tp_put16(f + 22, 40000);
	tp_put16(f + 24, (uint16_t)(len - 20));
	assert_int_equal(pkt_decode(&p, PKT_LINK_RAW, f, len), PKT_UDP);
	assert_int_equal(p.sport, 53);
	assert_int_equal(p.dport, 40000);
	assert_ptr_equal(p.payload, f + 28);
	assert_int_equal(p.payload_len, len - 28);
	tp_put16(f + 24, 7);           /* shorter than its own header */
	assert_int_equal(pkt_decode(&p, PKT_LINK_RAW, f, len), PKT_MALFORMED);
	tp_put16(f + 24, (uint16_t)(len - 20 + 1)); /* past the IP datagram */
	assert_int_equal(pkt_decode(&p, PKT_LINK_RAW, f, len), PKT_MALFORMED);
}

static void
test_ipv4_not_tcp(void **state)
{
	uint8_t f[TP_BUF];
	size_t len = tp_v4_tcp(f, 5, 5);
	struct pkt p;

	(void)state;
	f[9] = 47; /* GRE */
	assert_int_equal(pkt_decode(&p, PKT_LINK_RAW, f, len), PKT_NOT_TCP);
	assert_int_equal(p.af, 4);
	assert_int_equal(p.proto, 47);
	assert_ptr_equal(p.l4, f + 20);
	/* A short GRE datagram is still just "not TCP". */
	assert_int_equal(pkt_decode(&p, PKT_LINK_RAW, f, 24), PKT_NOT_TCP);
}

static void
test_ipv4_fragments(void **state)
{
	uint8_t f[TP_BUF];
	size_t len;
	struct pkt p;

	(void)state;
	/* First fragment: offset 0 with MF. */
	len = tp_v4_tcp(f, 5, 5);
	tp_put16(f + 6, 0x2000);
	assert_int_equal(pkt_decode(&p, PKT_LINK_RAW, f, len), PKT_FRAGMENT);
	assert_int_equal(p.frag_id, 0xbeef);
	assert_int_equal(p.frag_off, 0);
	assert_int_equal(p.frag_more, 1);
	assert_int_equal(p.frag_proto, 6);
	assert_int_equal(p.frag_hdr_len, 20);
	assert_ptr_equal(p.frag_data, f + 20);
	assert_int_equal(p.frag_len, len - 20);
	assert_ptr_equal(p.l3, f);
	assert_int_equal(p.af, 4);

	/* Last fragment at offset 1480 (185 * 8), DF bit noise ignored. */
	tp_put16(f + 6, 185);
	assert_int_equal(pkt_decode(&p, PKT_LINK_RAW, f, len), PKT_FRAGMENT);
	assert_int_equal(p.frag_off, 1480);
	assert_int_equal(p.frag_more, 0);

	/* Middle fragment of UDP: still a fragment, frag_proto says so. */
	tp_put16(f + 6, 0x2000 | 3);
	f[9] = 17;
	assert_int_equal(pkt_decode(&p, PKT_LINK_RAW, f, len), PKT_FRAGMENT);
	assert_int_equal(p.frag_off, 24);
	assert_int_equal(p.frag_proto, 17);

	/* A fragment cut by the snaplen cannot be reassembled. */
	assert_int_equal(pkt_decode(&p, PKT_LINK_RAW, f, len - 1),
	    PKT_TRUNCATED);
	for (size_t n = 0; n < len; n++)
		assert_int_equal(tp_decode_copy(&p, PKT_LINK_RAW, f, n),
		    PKT_TRUNCATED);
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
	tp_put16(f + 4, 20);
	assert_int_equal(pkt_decode(&p, PKT_LINK_RAW, f, off + l4),
	    PKT_MALFORMED);
	/* ... or inside the TCP header. */
	tp_put16(f + 4, (unsigned)(off - 40 + 10));
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
	tp_put16(b + 2, (off & 0xfff8) | (more ? 1 : 0));
	tp_put32(b + 4, id);
	return 8;
}

static void
test_ipv6_fragment(void **state)
{
	uint8_t f[TP_BUF];
	size_t off, l4, len;
	struct pkt p;

	(void)state;
	/* HBH -> FRAG(first, MF) -> TCP */
	off = 40 + tp_ext(f + 40, 44, 0);
	off += tp_frag6(f + off, 6, 0, 1, 0xdeadbeef);
	l4 = tp_tcp(f + off, 5, tp_data, TP_DATA_LEN);
	tp_ip6(f, 0, off - 40 + l4);
	len = off + l4;
	assert_int_equal(pkt_decode(&p, PKT_LINK_RAW, f, len), PKT_FRAGMENT);
	assert_int_equal(p.af, 6);
	assert_int_equal(p.frag_id, 0xdeadbeef);
	assert_int_equal(p.frag_off, 0);
	assert_int_equal(p.frag_more, 1);
	assert_int_equal(p.frag_proto, 6);
	assert_int_equal(p.frag_hdr_len, 48);
	assert_ptr_equal(p.frag_data, f + 56);
	assert_int_equal(p.frag_len, l4);
	for (size_t n = 0; n < len; n++)
		assert_int_equal(tp_decode_copy(&p, PKT_LINK_RAW, f, n),
		    PKT_TRUNCATED);

	/* Last fragment at offset 1232. */
	tp_frag6(f + 48, 6, 1232, 0, 7);
	assert_int_equal(pkt_decode(&p, PKT_LINK_RAW, f, len), PKT_FRAGMENT);
	assert_int_equal(p.frag_off, 1232);
	assert_int_equal(p.frag_more, 0);
	assert_int_equal(p.frag_id, 7);

	/* Atomic fragment (offset 0, no MF): decoded as a whole packet. */
	tp_frag6(f + 48, 6, 0, 0, 7);
	assert_int_equal(pkt_decode(&p, PKT_LINK_RAW, f, len), PKT_OK);
	tp_check_tcp(&p, 6);
	tp_check_prefixes(PKT_LINK_RAW, f, len, off + 20);
}

static void
test_ipv6_jumbo_zero_length(void **state)
{
	uint8_t f[TP_BUF];
	size_t len = tp_v6_tcp(f);
	struct pkt p;

	(void)state;
	tp_put16(f + 4, 0);
	assert_int_equal(pkt_decode(&p, PKT_LINK_RAW, f, len), PKT_OK);
	tp_check_tcp(&p, 6);
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
			tp_put16(base + 12, (round & 1) ? 0x86dd : 0x0800);
			off = 14;
		} else if (link == PKT_LINK_SLL) {
			tp_put16(base + 14, (round & 1) ? 0x86dd : 0x0800);
			off = 16;
		} else if (link == PKT_LINK_SLL2) {
			tp_put16(base, (round & 1) ? 0x86dd : 0x0800);
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
		cmocka_unit_test(test_ipv4_raw),
		cmocka_unit_test(test_ipv4_options),
		cmocka_unit_test(test_ipv6_raw),
		cmocka_unit_test(test_raw_version_mismatch),
		cmocka_unit_test(test_ether),
		cmocka_unit_test(test_ether_vlan_limit),
		cmocka_unit_test(test_ether_padding),
		cmocka_unit_test(test_sll),
		cmocka_unit_test(test_sll2),
		cmocka_unit_test(test_null_loop),
		cmocka_unit_test(test_unsupported_link),
		cmocka_unit_test(test_ipv4_malformed),
		cmocka_unit_test(test_ipv4_short_capture),
		cmocka_unit_test(test_ipv4_tso_zero_length),
		cmocka_unit_test(test_ipv4_not_tcp),
		cmocka_unit_test(test_udp),
		cmocka_unit_test(test_ipv4_fragments),
		cmocka_unit_test(test_ipv6_ext_chain),
		cmocka_unit_test(test_ipv6_not_tcp),
		cmocka_unit_test(test_ipv6_ext_limits),
		cmocka_unit_test(test_ipv6_fragment),
		cmocka_unit_test(test_ipv6_jumbo_zero_length),
		cmocka_unit_test(test_status_names),
		cmocka_unit_test(test_addr_cmp),
		cmocka_unit_test(test_mutations),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
