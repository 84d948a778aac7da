/*
 * test_nfq_rst.c - the forged resets of a blocked session (nfq/nfq_rst.c).
 *
 * For a dropped segment, the reset back to its sender must come from the
 * receiver with seq = the segment's ack and ack = its seq + payload (+SYN/
 * FIN), the reset on to the receiver from the sender with the segment's own
 * seq and ack; both with valid IP and TCP checksums, IPv4 and IPv6.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include "../../inspect/pkt.h"
#include "../../nfq/nfq_rst.h"

static uint32_t
sum16(uint32_t s, const uint8_t *b, size_t len)
{
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		s += (uint32_t)b[i] << 8 | b[i + 1];
	if (len & 1)
		s += (uint32_t)b[len - 1] << 8;
	return s;
}

static uint16_t
fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

static uint32_t
get32(const uint8_t *b)
{
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

/* A decoded data segment 198.51.100.7:41234 -> 203.0.113.25:25 (or v6). */
static void
mkpkt(struct pkt *p, int af)
{
	static const uint8_t c6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 1, [15] = 0x10 };
	static const uint8_t s6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 2, [15] = 0x25 };

	memset(p, 0, sizeof *p);
	p->af = (uint8_t)af;
	p->proto = 6;
	if (af == 4) {
		memcpy(p->src.a, (const uint8_t[]){ 198, 51, 100, 7 }, 4);
		memcpy(p->dst.a, (const uint8_t[]){ 203, 0, 113, 25 }, 4);
	} else {
		memcpy(p->src.a, c6, 16);
		memcpy(p->dst.a, s6, 16);
	}
	p->sport = 41234;
	p->dport = 25;
	p->seq = 0xfffffff0u;          /* wraps: seq + len crosses 2^32 */
	p->ack = 1000;
	p->tcp_flags = PKT_TH_ACK | PKT_TH_PSH;
	p->payload_len = p->payload_wire_len = 38;
}

/* Check one built reset; returns its TCP header. */
static const uint8_t *
check_rst(const uint8_t *b, size_t len, const struct pkt *p, int to_sender)
{
	size_t l3 = p->af == 4 ? 20 : 40, alen = p->af == 4 ? 4 : 16;
	const uint8_t *src = p->af == 4 ? b + 12 : b + 8;
	const uint8_t *dst = src + alen;
	const uint8_t *th = b + l3;
	uint32_t s;

	assert_int_equal(len, l3 + 20);
	if (p->af == 4) {
		assert_int_equal(b[0], 0x45);
		assert_int_equal(b[9], 6);
		assert_int_equal(fold(sum16(0, b, 20)), 0xffff);
	} else {
		assert_int_equal(b[0] >> 4, 6);
		assert_int_equal(b[6], 6);
		assert_int_equal(b[4] << 8 | b[5], 20);
	}
	assert_memory_equal(src, to_sender ? p->dst.a : p->src.a, alen);
	assert_memory_equal(dst, to_sender ? p->src.a : p->dst.a, alen);
	assert_int_equal(th[0] << 8 | th[1], to_sender ? p->dport : p->sport);
	assert_int_equal(th[2] << 8 | th[3], to_sender ? p->sport : p->dport);
	assert_int_equal(th[13], PKT_TH_RST | PKT_TH_ACK);
	assert_int_equal(th[12] >> 4, 5);
	s = sum16(0, src, alen);
	s = sum16(s, dst, alen);
	s += 6 + 20;
	s = sum16(s, th, 20);
	assert_int_equal(fold(s), 0xffff);
	return th;
}

static void
test_both_directions(void **state)
{
	uint8_t buf[NFQ_RST_MAXLEN];
	const uint8_t *th;
	struct pkt p;
	int af;
	size_t n;

	(void)state;
	for (af = 4; af <= 6; af += 2) {
		mkpkt(&p, af);
		n = nfq_rst_build(buf, &p, 1);
		th = check_rst(buf, n, &p, 1);
		assert_int_equal(get32(th + 4), p.ack);
		assert_int_equal(get32(th + 8), (uint32_t)(p.seq + 38));
		n = nfq_rst_build(buf, &p, 0);
		th = check_rst(buf, n, &p, 0);
		assert_int_equal(get32(th + 4), p.seq);
		assert_int_equal(get32(th + 8), p.ack);
	}
}

static void
test_syn_fin_count(void **state)
{
	uint8_t buf[NFQ_RST_MAXLEN];
	struct pkt p;

	(void)state;
	mkpkt(&p, 4);
	p.tcp_flags = PKT_TH_ACK | PKT_TH_FIN;
	p.payload_len = p.payload_wire_len = 0;
	nfq_rst_build(buf, &p, 1);
	assert_int_equal(get32(buf + 20 + 8), (uint32_t)(p.seq + 1));
	/* a bare SYN has no ack to answer with: seq 0, ack = its seq + 1 */
	p.tcp_flags = PKT_TH_SYN;
	nfq_rst_build(buf, &p, 1);
	assert_int_equal(get32(buf + 20 + 4), 0);
	assert_int_equal(get32(buf + 20 + 8), (uint32_t)(p.seq + 1));
}

static void
test_gso_payload_uses_wire_length(void **state)
{
	uint8_t buf[NFQ_RST_MAXLEN];
	struct pkt p;

	(void)state;
	mkpkt(&p, 6);
	p.payload_len = 1000;              /* copied */
	p.payload_wire_len = 64000;        /* a 64 KB GSO packet */
	nfq_rst_build(buf, &p, 1);
	assert_int_equal(get32(buf + 40 + 8), (uint32_t)(p.seq + 64000));
}

static void
test_not_tcp(void **state)
{
	uint8_t buf[NFQ_RST_MAXLEN];
	struct pkt p;

	(void)state;
	mkpkt(&p, 4);
	p.proto = 17;
	assert_int_equal(nfq_rst_build(buf, &p, 0), 0);
	mkpkt(&p, 4);
	p.af = 5;
	assert_int_equal(nfq_rst_build(buf, &p, 0), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_both_directions),
		cmocka_unit_test(test_syn_fin_count),
		cmocka_unit_test(test_gso_payload_uses_wire_length),
		cmocka_unit_test(test_not_tcp),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
