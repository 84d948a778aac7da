/*
 * fuzz_engine.c - bytes -> frames -> gw_engine_packet: decode, flow table,
 * reassembly, SMTP/TLS, policy, EVE formatting, all at once.
 *
 * Input: a mode byte, then records. Mode bit 0 clear ("raw"): each record is
 * [link selector][length: 2 bytes BE][frame bytes], so the fuzzer mutates
 * whole frames of any link type. Mode bit 0 set ("tcp"): the harness opens
 * one IPv4 connection 198.51.100.7 -> 203.0.113.25:25 (an enforced server)
 * with a real handshake, and each record is [ctl][seq delta: 2 bytes BE]
 * [length][payload]: ctl bit 7 picks the direction, bits 0-5 are TCP flags
 * (ACK forced on unless bit 6), so the fuzzer reaches reassembly and SMTP
 * with few bytes. The engine is small (16 flows, 32 chunks) so eviction and
 * pool exhaustion are reached too; findings are formatted into /dev/null.
 * One engine serves every input (creating one costs milliseconds under
 * ASan: the fragment table alone is 4 MB): each input starts ten days after
 * the previous one ended, and ends with gw_engine_flush, so no flow,
 * fragment or fallback entry of one input is alive in the next.
 */
#include <stdio.h>
#include <string.h>

#include "../../gateway/gw_engine.h"
#include "../../gateway/output/gw_eve.h"
#include "../../policy/pol.h"
#include "fuzz.h"

/* Link types the selector byte picks from. */
static const int links[] = {
	PKT_LINK_RAW, PKT_LINK_ETHER, PKT_LINK_NULL, PKT_LINK_RAW_BSD, PKT_LINK_RAW_LT,
	PKT_LINK_LOOP, PKT_LINK_SLL, PKT_LINK_IPV4, PKT_LINK_IPV6, PKT_LINK_SLL2,
};

static struct pol *pol;
static struct eve *eve;
static struct gw_engine *eng;
static struct gw_engine_conf conf;
/* The clock: capture time of the next input's first frame. */
static uint64_t clock_us = 1795867200000000ull;

/* Build the shared policy and writer once. */
static void
setup(void)
{
	char err[256];

	if (pol)
		return;
	pol = pol_new();
	FUZZ_CHECK(pol != NULL);
	pol_set_default(pol, POL_MODE_TESTING, POL_TLS_1_2);
	FUZZ_CHECK(pol_add_cidr(pol, "203.0.113.0/25", POL_MODE_ENFORCE, POL_TLS_1_2, err, sizeof err) == 0);
	FUZZ_CHECK(pol_add_cidr(pol, "203.0.113.128/25", POL_MODE_TESTING, POL_TLS_1_3, err, sizeof err) == 0);
	FUZZ_CHECK(pol_add_cidr(pol, "2001:db8:25::/48", POL_MODE_NONE, 0, err, sizeof err) == 0);
	eve = eve_open("/dev/null");   /* NULL (count only) if it cannot be opened */
	gw_engine_conf_default(&conf);
	conf.max_flows = 16;
	conf.pool_chunks = 32;
	conf.fallback_entries = 8;
	if (conf.nports < GW_PORTS_MAX)
		conf.ports[conf.nports++] = 587;
	eng = gw_engine_new(&conf, pol, eve, 42);
	FUZZ_CHECK(eng != NULL);
}

/* One's complement sum for the IPv4 header checksum. */
static uint16_t
csum(const uint8_t *p, size_t n)
{
	uint32_t s = 0;
	for (size_t i = 0; i + 1 < n; i += 2)
		s += (uint32_t)p[i] << 8 | p[i + 1];
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

/* Write a raw IPv4/TCP frame into f; returns its length. */
static size_t
mkseg(uint8_t *f, int from_server, unsigned flags, uint32_t seq, uint32_t ack,
    uint16_t urg, const uint8_t *pl, size_t n)
{
	static const uint8_t cli[4] = { 198, 51, 100, 7 }, srv[4] = { 203, 0, 113, 25 };
	uint8_t *th = f + 20;
	size_t tot = 40 + n;

	memset(f, 0, 40);
	f[0] = 0x45;
	f[2] = (uint8_t)(tot >> 8);
	f[3] = (uint8_t)tot;
	f[8] = 64;
	f[9] = 6;
	memcpy(f + 12, from_server ? srv : cli, 4);
	memcpy(f + 16, from_server ? cli : srv, 4);
	uint16_t c = csum(f, 20);
	f[10] = (uint8_t)(c >> 8);
	f[11] = (uint8_t)c;
	th[0] = from_server ? 0 : 0x9c;   /* client port 40000 */
	th[1] = from_server ? 25 : 0x40;
	th[2] = from_server ? 0x9c : 0;
	th[3] = from_server ? 0x40 : 25;
	for (int i = 0; i < 4; i++) {
		th[4 + i] = (uint8_t)(seq >> (24 - 8 * i));
		th[8 + i] = (uint8_t)(ack >> (24 - 8 * i));
	}
	th[12] = 5 << 4;
	th[13] = (uint8_t)flags;
	th[14] = 0xff;
	th[15] = 0xff;
	th[18] = (uint8_t)(urg >> 8);
	th[19] = (uint8_t)urg;
	if (n)
		memcpy(th + 20, pl, n);
	return tot;
}

/* Hand a segment to the engine, inline (the engine may rewrite it to the
 * bytes it inspected first: then it must still be a valid segment of the
 * same length, with a correct TCP checksum) or offline. */
static void
feed(struct gw_engine *e, uint8_t *f, size_t flen, uint64_t ts, int inl)
{
	struct pkt p, q;
	unsigned rw = 0;

	if (!inl) {
		gw_engine_packet(e, PKT_LINK_RAW, f, flen, ts, &p);
		return;
	}
	/* half the inline packets come as if their connection were marked
	 * "being inspected" (a restart): the lost path gets fuzzed too */
	gw_engine_packet_inline(e, f, flen, ts, (flen & 1) ? GW_CT_INSPECTING : 0, &p, &rw);
	if (rw & GW_OUT_REWRITTEN) {
		FUZZ_CHECK(pkt_decode(&q, PKT_LINK_RAW, f, flen) == PKT_OK);
		FUZZ_CHECK(pkt_tcp_csum_ok(&q) == 1);
	}
}

/* "tcp" mode: a handshake, then the fuzzer's segments. */
static void
run_tcp(struct gw_engine *e, const uint8_t *d, size_t n, uint64_t *ts, int inl)
{
	static uint8_t f[40 + 256];
	uint32_t isn[2] = { 1000000u, 7000000u }, nxt[2];
	struct pkt p;

	gw_engine_packet(e, PKT_LINK_RAW, f, mkseg(f, 0, PKT_TH_SYN, isn[0], 0, 0, NULL, 0), *ts += 10, &p);
	gw_engine_packet(e, PKT_LINK_RAW, f, mkseg(f, 1, PKT_TH_SYN | PKT_TH_ACK, isn[1], isn[0] + 1, 0, NULL, 0), *ts += 10, &p);
	gw_engine_packet(e, PKT_LINK_RAW, f, mkseg(f, 0, PKT_TH_ACK, isn[0] + 1, isn[1] + 1, 0, NULL, 0), *ts += 10, &p);
	nxt[0] = isn[0] + 1;
	nxt[1] = isn[1] + 1;
	while (n >= 4) {
		unsigned ctl = d[0];
		int dir = ctl >> 7;
		int16_t delta = (int16_t)(d[1] << 8 | d[2]);
		size_t len = d[3];
		unsigned flags = ctl & 0x3f;

		d += 4;
		n -= 4;
		if (len > n)
			len = n;
		if (!(ctl & 0x40))
			flags |= PKT_TH_ACK;
		/* delta 0 continues the stream; others probe old, overlapping and future data */
		uint32_t seq = nxt[dir] + (uint32_t)(int32_t)delta;
		size_t flen = mkseg(f, dir, flags, seq, nxt[!dir], (uint16_t)(delta & 0xff), d, len);
		feed(e, f, flen, *ts += 1000, inl);
		if (delta == 0)
			nxt[dir] += (uint32_t)len;
		d += len;
		n -= len;
	}
}

/* "raw" mode: whole frames of any link type. */
static void
run_raw(struct gw_engine *e, const uint8_t *d, size_t n, uint64_t *ts)
{
	struct pkt p;

	while (n >= 3) {
		int link = links[d[0] % (sizeof links / sizeof links[0])];
		size_t len = (size_t)d[1] << 8 | d[2];

		d += 3;
		n -= 3;
		if (len > n)
			len = n;
		/* the time step comes from the selector's high bits: idle expiry too */
		*ts += (uint64_t)(d[-3] >> 4) * 100000000u;
		gw_engine_packet(e, link, d, len, *ts, &p);
		if ((d[-3] & 0xf0) == 0xf0)
			gw_engine_expire(e, *ts);
		d += len;
		n -= len;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gw_stats st;
	uint64_t ts;

	if (size < 1)
		return 0;
	setup();
	ts = clock_us;
	if (data[0] & 1)
		run_tcp(eng, data + 1, size - 1, &ts, (data[0] & 2) != 0);
	else
		run_raw(eng, data + 1, size - 1, &ts);
	gw_engine_flush(eng, ts + 1);
	gw_engine_get_stats(eng, &st);
	FUZZ_CHECK(st.flow.active <= conf.max_flows);
	clock_us = ts + 10ull * 86400 * 1000000;
	return 0;
}
