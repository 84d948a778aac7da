/*
 * test_engine_inline.c - inline, the receiver gets exactly the stream the
 * gateway inspected: a segment that repeats inspected bytes with other
 * ones (retransmission or overlap, in order or ahead of a hole) leaves
 * gw_engine_packet_inline() carrying the first copy's bytes, with a valid
 * TCP checksum; offline the frame is never touched. And giving up never
 * means passing: a flow that cannot be inspected to its decision (its
 * state expired, evicted or gone with a restart, a greeting that is not
 * SMTP) is blocked under enforce, passed with a finding where TLS is
 * expected; a SYN marks its connection "being inspected" and a new SYN on
 * a settled flow's 4-tuple starts a new flow.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "gateway/gw_engine.h"
#include "gateway/gw_pins.h"
#include "inspect/csum.h"
#include "inspect/pkt.h"
#include "inspect/wire.h"
#include "policy/pol.h"

#define CLI 0xc6336410u  /* 198.51.100.16 */
#define SRV 0xcb007119u  /* 203.0.113.25 */
#define CISN 1000u
#define SISN 5000u

/* What a test segment carries beyond its bytes. */
struct segx {
	uint8_t ttl;   /* IPv4 TTL, 0 = 64 */
	int md5;       /* 1: a TCP-MD5 option (kind 19, length 18); 2: a malformed one
	                  (length 10: Linux takes the segment as unsigned) */
};

/* One IPv4/TCP datagram of n payload bytes into b; returns its length. */
static size_t
segment_x(uint8_t *b, int to_server, uint16_t cport, uint32_t seq, uint32_t ack, uint8_t flags,
    const void *data, size_t n, const struct segx *x)
{
	size_t thl = x && x->md5 ? 40 : 20, len = 20 + thl + n;
	uint32_t sum;

	memset(b, 0, 20 + thl);
	b[0] = 0x45;
	put16(b + 2, (unsigned)len);
	b[8] = x && x->ttl ? x->ttl : 64;
	b[9] = 6;
	put32(b + 12, to_server ? CLI : SRV);
	put32(b + 16, to_server ? SRV : CLI);
	put16(b + 10, csum_fold(csum_add(0, b, 20)));
	put16(b + 20, to_server ? cport : 25);
	put16(b + 22, to_server ? 25 : cport);
	put32(b + 24, seq);
	put32(b + 28, ack);
	b[32] = (uint8_t)((thl / 4) << 4);
	b[33] = flags;
	put16(b + 34, 65535);
	if (thl > 20) {
		b[40] = 19;
		b[41] = x->md5 == 1 ? 18 : 10;
		memset(b + 42, 0xa5, x->md5 == 1 ? 16 : 8);
		/* the rest stays 0: end of options */
	}
	memcpy(b + 20 + thl, data, n);
	sum = csum_add(0, b + 12, 8) + 6 + (uint32_t)(len - 20);
	put16(b + 36, csum_fold(csum_add(sum, b + 20, len - 20)));
	return len;
}

/* One plain IPv4/TCP datagram into b; returns its length. */
static size_t
segment(uint8_t *b, int to_server, uint16_t cport, uint32_t seq, uint32_t ack, uint8_t flags,
    const char *data)
{
	return segment_x(b, to_server, cport, seq, ack, flags, data, strlen(data), NULL);
}

/* One client connection of an engine. */
struct run {
	struct pol *pol;
	struct gw_engine *e;
	uint16_t cport;        /* client port */
	uint32_t cseq, sseq;   /* next client / server sequence numbers */
};

/* An engine with conf c for r. */
static void
run_start_conf(struct run *r, enum pol_mode mode, const struct gw_engine_conf *conf)
{
	r->pol = pol_new();
	assert_non_null(r->pol);
	pol_set_default(r->pol, mode, 0);
	r->e = gw_engine_new(conf, r->pol, NULL, 1);
	assert_non_null(r->e);
	r->cport = 40000;
	r->cseq = CISN + 1;
	r->sseq = SISN + 1;
}

static void
run_start_flows(struct run *r, enum pol_mode mode, uint32_t chunks, uint32_t flows)
{
	struct gw_engine_conf c;

	gw_engine_conf_default(&c);
	c.max_flows = flows;
	c.pool_chunks = chunks;
	run_start_conf(r, mode, &c);
}

static void
run_start_pool(struct run *r, enum pol_mode mode, uint32_t chunks)
{
	run_start_flows(r, mode, chunks, 64);
}

static void
run_start(struct run *r, enum pol_mode mode)
{
	run_start_pool(r, mode, 64);
}

/* Another connection on r's engine. */
static void
run_another(struct run *r, const struct run *of, uint16_t cport)
{
	*r = *of;
	r->cport = cport;
	r->cseq = CISN + 1;
	r->sseq = SISN + 1;
}

static void
run_end(struct run *r)
{
	gw_engine_free(r->e);
	pol_free(r->pol);
}

/* Send a segment inline at time ts_us, its connection marked ct
 * (GW_CT_*); returns the verdict, *out the GW_OUT_* bits. */
static enum gw_verdict
send_ct(struct run *r, uint8_t *b, int to_server, uint32_t seq, uint8_t flags,
    const char *data, uint64_t ts_us, unsigned ct, unsigned *out)
{
	struct pkt p;
	size_t n = segment(b, to_server, r->cport, seq, to_server ? r->sseq : r->cseq, flags, data);

	return gw_engine_packet_inline(r->e, b, n, ts_us, ct, &p, out);
}

/* Send a segment inline; returns the verdict, *rw whether it was changed. */
static enum gw_verdict
send_at(struct run *r, uint8_t *b, int to_server, uint32_t seq, uint8_t flags,
    const char *data, int *rw)
{
	unsigned out;
	enum gw_verdict v = send_ct(r, b, to_server, seq, flags, data, 1000000, 0, &out);

	*rw = (out & GW_OUT_REWRITTEN) != 0;
	return v;
}

/* A normal segment of the dialogue, in order. */
static void
say(struct run *r, int to_server, const char *data)
{
	uint8_t b[1600];
	int rw = 1;
	uint32_t *seq = to_server ? &r->cseq : &r->sseq;

	assert_int_equal(send_at(r, b, to_server, *seq, 0x18, data, &rw), GW_V_ACCEPT);
	assert_int_equal(rw, 0);
	*seq += (uint32_t)strlen(data);
}

/* Handshake only. */
static void
handshake(struct run *r)
{
	uint8_t b[100];
	int rw;

	assert_int_equal(send_at(r, b, 1, CISN, 0x02, "", &rw), GW_V_ACCEPT);
	assert_int_equal(send_at(r, b, 0, SISN, 0x12, "", &rw), GW_V_ACCEPT);
}

/* Handshake and the cleartext phase up to the client's STARTTLS turn. */
static void
dialogue_to_starttls(struct run *r)
{
	handshake(r);
	say(r, 0, "220 mx.example.net ESMTP\r\n");
	say(r, 1, "EHLO client.example.org\r\n");
	say(r, 0, "250-mx.example.net\r\n250 STARTTLS\r\n");
}

/* The segment's TCP payload and checksum as the receiver would get them. */
static void
assert_forwarded(const uint8_t *b, size_t n, const char *want)
{
	struct pkt p;

	assert_int_equal(pkt_decode(&p, PKT_LINK_RAW, b, n), PKT_OK);
	assert_int_equal(p.payload_len, strlen(want));
	assert_memory_equal(p.payload, want, p.payload_len);
	assert_int_equal(pkt_tcp_csum_ok(&p), 1);
}

/* A retransmission of delivered bytes with other ones is forwarded as the
 * first copy (testing mode: alerted, not blocked). */
static void
test_retransmission_rewritten(void **state)
{
	struct run r;
	struct gw_stats st;
	uint8_t b[200];
	int rw = 0;

	(void)state;
	run_start(&r, POL_MODE_TESTING);
	dialogue_to_starttls(&r);
	say(&r, 1, "STARTTLS\r\n");
	assert_int_equal(send_at(&r, b, 1, r.cseq - 10, 0x18, "XXXXXXXX\r\n", &rw), GW_V_ACCEPT);
	assert_int_equal(rw, 1);
	assert_forwarded(b, 50, "STARTTLS\r\n");
	/* an identical retransmission is left alone */
	assert_int_equal(send_at(&r, b, 1, r.cseq - 10, 0x18, "STARTTLS\r\n", &rw), GW_V_ACCEPT);
	assert_int_equal(rw, 0);
	gw_engine_get_stats(r.e, &st);
	assert_int_equal(st.rewritten, 1);
	assert_int_equal(st.findings[SIG_TCP_OVERLAP_CONFLICT], 1);
	run_end(&r);
}

/* Bytes ahead of a hole came first, so they win over a later in-order
 * segment covering them: the receiver must not get the later ones. */
static void
test_overlap_ahead_rewritten(void **state)
{
	struct run r;
	uint8_t b[200];
	int rw = 0;

	(void)state;
	run_start(&r, POL_MODE_TESTING);
	dialogue_to_starttls(&r);
	assert_int_equal(send_at(&r, b, 1, r.cseq + 4, 0x18, "XXXX", &rw), GW_V_ACCEPT);
	assert_int_equal(rw, 0); /* first copy: forwarded as it is */
	assert_int_equal(send_at(&r, b, 1, r.cseq, 0x18, "STARTTLS\r\n", &rw), GW_V_ACCEPT);
	assert_int_equal(rw, 1);
	assert_forwarded(b, 50, "STARXXXX\r\n");
	run_end(&r);
}

/* Under enforce the conflict blocks the flow: dropped (and reset), so the
 * other bytes reach nobody whatever the frame now holds. */
static void
test_enforce_blocks_instead(void **state)
{
	struct run r;
	uint8_t b[200];
	int rw = 0;

	(void)state;
	run_start(&r, POL_MODE_ENFORCE);
	dialogue_to_starttls(&r);
	say(&r, 1, "STARTTLS\r\n");
	assert_int_equal(send_at(&r, b, 1, r.cseq - 10, 0x18, "XXXXXXXX\r\n", &rw), GW_V_BLOCK);
	run_end(&r);
}

/* Offline the same conflict is reported, and the frame is not written. */
static void
test_offline_untouched(void **state)
{
	struct run r;
	struct gw_stats st;
	uint8_t b[200], copy[200];
	struct pkt p;
	size_t n;

	(void)state;
	run_start(&r, POL_MODE_TESTING);
	dialogue_to_starttls(&r);
	say(&r, 1, "STARTTLS\r\n");
	n = segment(b, 1, r.cport, r.cseq - 10, r.sseq, 0x18, "XXXXXXXX\r\n");
	memcpy(copy, b, n);
	assert_int_equal(gw_engine_packet(r.e, PKT_LINK_RAW, b, n, 1000000, &p), GW_V_ACCEPT);
	assert_memory_equal(b, copy, n);
	gw_engine_get_stats(r.e, &st);
	assert_int_equal(st.rewritten, 0);
	assert_int_equal(st.findings[SIG_TCP_OVERLAP_CONFLICT], 1);
	run_end(&r);
}

/* The pool runs dry: the live connection takes the history chunks of the
 * idle ones, so its own conflict is still caught and rewritten; an idle
 * one's retransmission, no longer checkable, is reported, not passed
 * silently. */
static void
test_pool_dry_reclaims_idle_history(void **state)
{
	struct run idle[4], live;
	struct gw_stats st;
	uint8_t b[200];
	int rw = 0;

	(void)state;
	/* each greeted connection holds one history chunk (server side) */
	run_start_pool(&idle[0], POL_MODE_TESTING, 4);
	for (int i = 0; i < 4; i++) {
		if (i > 0)
			run_another(&idle[i], &idle[0], (uint16_t)(41000 + i));
		assert_int_equal(send_at(&idle[i], b, 1, CISN, 0x02, "", &rw), GW_V_ACCEPT);
		assert_int_equal(send_at(&idle[i], b, 0, SISN, 0x12, "", &rw), GW_V_ACCEPT);
		say(&idle[i], 0, "220 mx.example.net ESMTP\r\n");
	}
	gw_engine_get_stats(idle[0].e, &st);
	assert_int_equal(st.pool.in_use, 4);
	run_another(&live, &idle[0], 42000);
	dialogue_to_starttls(&live);
	say(&live, 1, "STARTTLS\r\n");
	assert_int_equal(send_at(&live, b, 1, live.cseq - 10, 0x18, "XXXXXXXX\r\n", &rw), GW_V_ACCEPT);
	assert_int_equal(rw, 1);
	assert_forwarded(b, 50, "STARTTLS\r\n");
	gw_engine_get_stats(live.e, &st);
	assert_true(st.hist_reclaimed >= 2);
	assert_int_equal(st.findings[SIG_INSPECTION_LIMIT], 0);
	/* the oldest idle connection lost its history: its greeting, replayed
	 * with other bytes, cannot be checked and says so */
	assert_int_equal(send_at(&idle[0], b, 0, SISN + 1, 0x18, "220 evil.example ESMTP\r\n", &rw),
	    GW_V_ACCEPT);
	assert_int_equal(rw, 0);
	gw_engine_get_stats(live.e, &st);
	assert_int_equal(st.findings[SIG_INSPECTION_LIMIT], 1);
	run_end(&live);
}

/* Four greeted sessions fill a 4-flow table, then two SYNs arrive: the
 * first evicts the oldest session (all four are mid-inspection), the
 * second the half-open flow (it goes first, quietly). */
static void
evict_scenario(enum pol_mode mode, struct gw_stats *st)
{
	struct run r[6];
	uint8_t b[200];
	int rw = 0;

	run_start_flows(&r[0], mode, 64, 4);
	for (int i = 0; i < 6; i++) {
		if (i > 0)
			run_another(&r[i], &r[0], (uint16_t)(43000 + i));
		assert_int_equal(send_at(&r[i], b, 1, CISN, 0x02, "", &rw), GW_V_ACCEPT);
		if (i >= 4)
			continue; /* r[4], r[5]: half-open */
		assert_int_equal(send_at(&r[i], b, 0, SISN, 0x12, "", &rw), GW_V_ACCEPT);
		say(&r[i], 0, "220 mx.example.net ESMTP\r\n");
	}
	gw_engine_get_stats(r[0].e, st);
	run_end(&r[0]);
}

/* A flow evicted mid-inspection is counted, and where the policy expects
 * TLS it is an alert, not a silent pass (elsewhere a flood of idle greeted
 * sessions must not become a flood of alerts). */
static void
test_evicted_mid_inspection_alerts(void **state)
{
	struct gw_stats st;

	(void)state;
	evict_scenario(POL_MODE_ENFORCE, &st);
	assert_int_equal(st.flow.capacity, 4);
	assert_int_equal(st.flow.evicted, 2);
	assert_int_equal(st.evicted_inspecting, 1);
	assert_int_equal(st.findings[SIG_INSPECTION_LIMIT], 1);
	evict_scenario(POL_MODE_TESTING, &st); /* default testing: nothing expected */
	assert_int_equal(st.flow.evicted, 2);
	assert_int_equal(st.evicted_inspecting, 1);
	assert_int_equal(st.findings[SIG_INSPECTION_LIMIT], 0);
}


/* ---- issue 20: what the receiver drops changes nothing ---- */

/* Send a segment with extras; returns the verdict. */
static enum gw_verdict
send_x(struct run *r, uint8_t *b, int to_server, uint32_t seq, uint32_t ack, uint8_t flags,
    const void *data, size_t n, const struct segx *x, int *rw)
{
	struct pkt p;
	size_t len = segment_x(b, to_server, r->cport, seq, ack, flags, data, n, x);
	unsigned out;
	enum gw_verdict v = gw_engine_packet_inline(r->e, b, len, 1000000, 0, &p, &out);

	*rw = (out & GW_OUT_REWRITTEN) != 0;
	return v;
}

#define STRIPPED_REPLY "250-mx.example.net\r\n250 XXXXXXXX\r\n"

/* After a forged segment that was dropped, the real dialogue is followed
 * as if it never came: the stripped reply of an enforced server blocks. */
static void
finish_stripped(struct run *r)
{
	uint8_t b[200];
	int rw;

	say(r, 0, "220 mx.example.net ESMTP\r\n");
	say(r, 1, "EHLO client.example.org\r\n");
	assert_int_equal(send_at(r, b, 0, r->sseq, 0x18, STRIPPED_REPLY, &rw), GW_V_BLOCK);
}

/* A forged "greeting" without ACK, with an ACK of bytes the client never
 * sent, with a TCP-MD5 option: the client drops each, so does the gateway
 * (inline, on the wire too); a malformed MD5 option Linux ignores is read. */
static void
test_receiver_drops_not_inspected(void **state)
{
	static const char junk[] = "garbage\r\n";
	struct segx md5 = { 0, 1 }, badmd5 = { 0, 2 };
	struct gw_stats st;
	struct run r;
	uint8_t b[200];
	int rw;

	(void)state;
	run_start(&r, POL_MODE_ENFORCE);
	handshake(&r);
	assert_int_equal(send_x(&r, b, 0, r.sseq, 0, 0x08, junk, 9, NULL, &rw), GW_V_DROP);
	assert_int_equal(send_x(&r, b, 0, r.sseq, r.cseq + 5000, 0x18, junk, 9, NULL, &rw),
	    GW_V_DROP);
	assert_int_equal(send_x(&r, b, 0, r.sseq, r.cseq, 0x18, junk, 9, &md5, &rw), GW_V_DROP);
	/* and a FIN without ACK ends nothing */
	assert_int_equal(send_x(&r, b, 0, r.sseq, 0, 0x01, "", 0, NULL, &rw), GW_V_DROP);
	gw_engine_get_stats(r.e, &st);
	assert_int_equal(st.insert_dropped, 4);
	finish_stripped(&r);
	run_end(&r);

	/* Linux reads a segment whose MD5 option has the wrong length as unsigned */
	run_start(&r, POL_MODE_ENFORCE);
	handshake(&r);
	assert_int_equal(send_x(&r, b, 0, r.sseq, r.cseq, 0x18, "220 mx ESMTP\r\n", 14, &badmd5, &rw),
	    GW_V_ACCEPT);
	r.sseq += 14;
	say(&r, 1, "EHLO client.example.org\r\n");
	assert_int_equal(send_at(&r, b, 0, r.sseq, 0x18, STRIPPED_REPLY, &rw), GW_V_BLOCK);
	run_end(&r);
}

/* A segment whose TTL is below its sender's (sent to expire after the
 * gateway) is raised to it inline, IP checksum rewritten: the receiver
 * gets what was inspected. */
static void
test_low_ttl_raised(void **state)
{
	struct segx low = { 2, 0 };
	struct gw_stats st;
	struct run r;
	struct pkt p;
	uint8_t b[200];
	size_t n;
	unsigned rw = 0;

	(void)state;
	run_start(&r, POL_MODE_TESTING);
	handshake(&r);
	n = segment_x(b, 0, r.cport, r.sseq, r.cseq, 0x18, "220 mx ESMTP\r\n", 14, &low);
	assert_int_equal(gw_engine_packet_inline(r.e, b, n, 1000000, 0, &p, &rw), GW_V_ACCEPT);
	assert_int_equal(rw & GW_OUT_REWRITTEN, GW_OUT_REWRITTEN);
	assert_int_equal(b[8], 64);
	assert_int_equal(csum_fold(csum_add(0, b, 20)), 0);
	assert_forwarded(b, n, "220 mx ESMTP\r\n");
	gw_engine_get_stats(r.e, &st);
	assert_int_equal(st.ttl_raised, 1);
	run_end(&r);
}

/* A server RST at the expected sequence number that may never reach the
 * client (low TTL, lost after the gateway) does not remove the flow: what
 * follows is still inspected, never passed midstream; an RST with an
 * MD5 option the client has no key for is dropped and ends nothing. */
static void
test_rst_keeps_inspecting(void **state)
{
	struct segx md5 = { 0, 1 }, low = { 3, 0 };
	struct run r;
	uint8_t b[200];
	int rw;

	(void)state;
	run_start(&r, POL_MODE_ENFORCE);
	handshake(&r);
	assert_int_equal(send_x(&r, b, 0, r.sseq, r.cseq, 0x14, "", 0, &md5, &rw), GW_V_DROP);
	assert_int_equal(send_x(&r, b, 0, r.sseq, r.cseq, 0x14, "", 0, &low, &rw), GW_V_ACCEPT);
	assert_int_equal(rw, 1); /* raised: it reaches the client after all */
	finish_stripped(&r);
	run_end(&r);

	/* a new SYN on the 4-tuple of a reset flow opens a new, inspected one */
	run_start(&r, POL_MODE_ENFORCE);
	handshake(&r);
	assert_int_equal(send_x(&r, b, 0, r.sseq, r.cseq, 0x14, "", 0, NULL, &rw), GW_V_ACCEPT);
	r.cseq = CISN + 100001;
	r.sseq = SISN + 100001;
	assert_int_equal(send_at(&r, b, 1, CISN + 100000, 0x02, "", &rw), GW_V_ACCEPT);
	assert_int_equal(send_at(&r, b, 0, SISN + 100000, 0x12, "", &rw), GW_V_ACCEPT);
	finish_stripped(&r);
	run_end(&r);
}

/* TLS records for a session the engine decides "tls". */
#define T_CLIENT_HELLO "\x16\x03\x01\x00\x2d\x01\x00\x00\x29\x03\x03" \
	"RRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRR\x00\x00\x02\x13\x01\x01\x00"
#define T_SERVER_HELLO "\x16\x03\x03\x00\x2a\x02\x00\x00\x26\x03\x04" \
	"SSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSS\x00\x13\x01\x00"

/* One clean TLS session pins the server (pins in "testing"); under a
 * default of "enforce" the next, stripped, session is still blocked: a
 * learned pin raises an expectation, never lowers it. */
static void
test_pin_never_lowers(void **state)
{
	struct gw_stats st;
	struct gw_pins *pins;
	struct run r, r2;
	uint8_t b[200];
	int rw;

	(void)state;
	for (int mode = 0; mode < 2; mode++) {
		run_start(&r, mode ? POL_MODE_ENFORCE : POL_MODE_TESTING); /* pins: "testing" */
		pins = gw_pins_new(16, NULL, 1);
		assert_non_null(pins);
		gw_engine_set_learned(r.e, NULL, pins);
		dialogue_to_starttls(&r);
		say(&r, 1, "STARTTLS\r\n");
		say(&r, 0, "220 2.0.0 go ahead\r\n");
		assert_int_equal(send_x(&r, b, 1, r.cseq, r.sseq, 0x18, T_CLIENT_HELLO,
		    sizeof(T_CLIENT_HELLO) - 1, NULL, &rw), GW_V_ACCEPT);
		r.cseq += sizeof(T_CLIENT_HELLO) - 1;
		assert_int_equal(send_x(&r, b, 0, r.sseq, r.cseq, 0x18, T_SERVER_HELLO,
		    sizeof(T_SERVER_HELLO) - 1, NULL, &rw), GW_V_BYPASS);
		gw_engine_get_stats(r.e, &st);
		assert_int_equal(st.pins_learned, 1);
		run_another(&r2, &r, 40001);
		handshake(&r2);
		say(&r2, 0, "220 mx.example.net ESMTP\r\n");
		say(&r2, 1, "EHLO client.example.org\r\n");
		/* testing default: the pin raises it to an alert (allowed);
		 * enforce default: the pin's testing must not lower it */
		assert_int_equal(send_at(&r2, b, 0, r2.sseq, 0x18, STRIPPED_REPLY, &rw),
		    mode ? GW_V_BLOCK : GW_V_ACCEPT);
		gw_engine_get_stats(r.e, &st);
		assert_int_equal(st.findings[SIG_STARTTLS_STRIPPED], 1);
		assert_int_equal(st.policy_by[mode ? POL_SRC_DEFAULT : POL_SRC_PIN], mode ? 2 : 1);
		run_end(&r);
		gw_pins_free(pins);
	}
}

/* TCP Fast Open: data in the SYN reaches a server that takes TFO (Exim
 * does), so it is inspected as the client's first bytes: a whole plaintext
 * transaction in the SYN is blocked at the SYN, and a server acknowledging
 * the SYN's data is not taken for an insertion. */
static void
test_tfo_syn_data_inspected(void **state)
{
	static const char mail[] = "EHLO client.example.org\r\nMAIL FROM:<a@example.org>\r\n";
	static const char ehlo[] = "EHLO client.example.org\r\n";
	struct run r;
	uint8_t b[200];
	int rw;

	(void)state;
	run_start(&r, POL_MODE_ENFORCE);
	assert_int_equal(send_x(&r, b, 1, CISN, 0, 0x02, mail, sizeof(mail) - 1, NULL, &rw),
	    GW_V_BLOCK);
	run_end(&r);

	run_start(&r, POL_MODE_ENFORCE);
	assert_int_equal(send_x(&r, b, 1, CISN, 0, 0x02, ehlo, sizeof(ehlo) - 1, NULL, &rw),
	    GW_V_ACCEPT);
	r.cseq = CISN + 1 + (uint32_t)(sizeof(ehlo) - 1);
	assert_int_equal(send_at(&r, b, 0, SISN, 0x12, "", &rw), GW_V_ACCEPT);
	say(&r, 0, "220 mx.example.net ESMTP\r\n");
	assert_int_equal(send_at(&r, b, 0, r.sseq, 0x18, STRIPPED_REPLY, &rw), GW_V_BLOCK);
	run_end(&r);
}

/* ---- giving up must not mean passing ---------------------------------- */

#define SEC 1000000ull

/* A segment of the dialogue at ts seconds, marked ct: its verdict, which
 * must be want; the sequence number moves on. */
static void
say_at(struct run *r, int to_server, const char *data, uint64_t ts, unsigned ct,
    enum gw_verdict want)
{
	uint8_t b[1600];
	unsigned out;
	uint32_t *seq = to_server ? &r->cseq : &r->sseq;

	assert_int_equal(send_ct(r, b, to_server, *seq, 0x18, data, ts * SEC, ct, &out), want);
	*seq += (uint32_t)strlen(data);
}

/* Handshake and dialogue up to the server's turn to answer STARTTLS, at
 * second 1; returns the GW_OUT_* bits of the SYN. */
static unsigned
to_starttls_reply(struct run *r)
{
	uint8_t b[100];
	unsigned out, o2;

	assert_int_equal(send_ct(r, b, 1, CISN, 0x02, "", SEC, 0, &out), GW_V_ACCEPT);
	assert_int_equal(send_ct(r, b, 0, SISN, 0x12, "", SEC, 0, &o2), GW_V_ACCEPT);
	assert_int_equal(o2 & GW_OUT_INSPECTING, 0); /* the client's SYN marks it */
	/* a retransmitted SYN (the rules clear the marks of every SYN) marks it again */
	assert_int_equal(send_ct(r, b, 1, CISN, 0x02, "", SEC, 0, &o2), GW_V_ACCEPT);
	assert_true(o2 & GW_OUT_INSPECTING);
	say_at(r, 0, "220 mx.example.net ESMTP\r\n", 1, 0, GW_V_ACCEPT);
	say_at(r, 1, "EHLO client.example.org\r\n", 1, 0, GW_V_ACCEPT);
	say_at(r, 0, "250-mx.example.net\r\n250 STARTTLS\r\n", 1, 0, GW_V_ACCEPT);
	say_at(r, 1, "STARTTLS\r\n", 1, 0, GW_V_ACCEPT);
	return out;
}

/* The STARTTLS reply held 11 minutes (past the decided flows' 600 s) is
 * still inspected: the flow being inspected has the long limit. */
static void
test_held_reply_still_inspected(void **state)
{
	struct gw_stats st;
	struct run r;

	(void)state;
	run_start(&r, POL_MODE_ENFORCE);
	assert_true(to_starttls_reply(&r) & GW_OUT_INSPECTING);
	say_at(&r, 0, "454 4.7.0 TLS not available\r\n", 1 + 660, 0, GW_V_BLOCK);
	gw_engine_get_stats(r.e, &st);
	assert_int_equal(st.findings[SIG_STARTTLS_REJECTED], 1);
	assert_int_equal(st.expired_inspecting, 0);
	assert_int_equal(st.lost, 0);
	run_end(&r);
}

/* Past the inspecting limit the flow is forgotten, but remembered as
 * lost: under enforce its next packet (the 454) is blocked with resets
 * and the client's cleartext MAIL that would follow is dropped. */
static void
test_expired_inspecting_blocked(void **state)
{
	struct gw_engine_conf c;
	struct gw_stats st;
	struct run r;

	(void)state;
	gw_engine_conf_default(&c);
	c.inspect_timeout_s = 60;
	run_start_conf(&r, POL_MODE_ENFORCE, &c);
	to_starttls_reply(&r);
	say_at(&r, 0, "454 4.7.0 TLS not available\r\n", 1 + 61, 0, GW_V_BLOCK);
	say_at(&r, 1, "MAIL FROM:<a@example.org>\r\n", 1 + 62, 0, GW_V_DROP);
	gw_engine_get_stats(r.e, &st);
	assert_int_equal(st.expired_inspecting, 1);
	assert_int_equal(st.lost, 1);
	assert_int_equal(st.gave_up, 1);
	assert_int_equal(st.midstream, 0);
	assert_int_equal(st.findings[SIG_INSPECTION_LIMIT], 1);
	run_end(&r);
}

/* Under testing the lost connection passes (bypassed: it is decided),
 * with the finding where TLS is expected, counted only elsewhere. */
static void
test_expired_inspecting_testing(void **state)
{
	struct gw_engine_conf c;
	struct gw_stats st;
	struct run r;
	char err[128];

	(void)state;
	gw_engine_conf_default(&c);
	c.inspect_timeout_s = 60;
	run_start_conf(&r, POL_MODE_TESTING, &c);
	to_starttls_reply(&r);
	say_at(&r, 0, "454 4.7.0 TLS not available\r\n", 100, 0, GW_V_BYPASS);
	gw_engine_get_stats(r.e, &st);
	assert_int_equal(st.lost, 1);
	assert_int_equal(st.findings[SIG_INSPECTION_LIMIT], 0); /* nothing expected TLS */
	run_end(&r);

	run_start_conf(&r, POL_MODE_TESTING, &c);
	assert_int_equal(pol_add_cidr(r.pol, "203.0.113.0/24", POL_MODE_TESTING, 0, err,
	    sizeof err), 0);
	to_starttls_reply(&r);
	say_at(&r, 0, "454 4.7.0 TLS not available\r\n", 100, 0, GW_V_BYPASS);
	say_at(&r, 1, "MAIL FROM:<a@example.org>\r\n", 100, 0, GW_V_BYPASS);
	gw_engine_get_stats(r.e, &st);
	assert_int_equal(st.lost, 1);
	assert_int_equal(st.findings[SIG_INSPECTION_LIMIT], 1);
	assert_int_equal(st.findings[SIG_STARTTLS_REJECTED], 0); /* not seen: it was lost */
	run_end(&r);
}

/* After a restart the engine knows nothing; the conntrack mark says the
 * connection was being inspected: blocked under enforce, not picked up as
 * a new midstream connection. Without the mark it is one. */
static void
test_restart_mark_blocks(void **state)
{
	struct gw_stats st;
	struct run r, other;

	(void)state;
	run_start(&r, POL_MODE_ENFORCE);
	say_at(&r, 0, "250-mx.example.net\r\n250 XXXXXXXX\r\n", 5, GW_CT_INSPECTING, GW_V_BLOCK);
	say_at(&r, 1, "MAIL FROM:<a@example.org>\r\n", 5, 0, GW_V_DROP);
	run_another(&other, &r, 40001);
	say_at(&other, 0, "250 ok\r\n", 5, 0, GW_V_BYPASS);
	gw_engine_get_stats(r.e, &st);
	assert_int_equal(st.lost, 1);
	assert_int_equal(st.midstream, 1);
	assert_int_equal(st.findings[SIG_INSPECTION_LIMIT], 1);
	run_end(&r);
}

/* engine.midstream = "lost": every connection picked up without its SYN
 * is given up (a capture that starts at a restart, or a strict site). */
static void
test_midstream_lost_setting(void **state)
{
	struct gw_engine_conf c;
	struct gw_stats st;
	struct run r;

	(void)state;
	gw_engine_conf_default(&c);
	c.midstream_lost = 1;
	run_start_conf(&r, POL_MODE_ENFORCE, &c);
	say_at(&r, 0, "250 ok\r\n", 5, 0, GW_V_BLOCK);
	gw_engine_get_stats(r.e, &st);
	assert_int_equal(st.lost, 1);
	assert_int_equal(st.midstream, 0);
	run_end(&r);
}

/* A flow evicted mid-inspection under enforce says "blocked", and is:
 * its next packet is dropped with resets, later ones dropped, and no
 * second alert is written. */
static void
test_evicted_really_blocked(void **state)
{
	struct run r[5];
	struct gw_stats st;
	uint8_t b[200];
	unsigned out;

	(void)state;
	run_start_flows(&r[0], POL_MODE_ENFORCE, 64, 4);
	for (int i = 0; i < 5; i++) {
		if (i > 0)
			run_another(&r[i], &r[0], (uint16_t)(43000 + i));
		assert_int_equal(send_ct(&r[i], b, 1, CISN, 0x02, "", SEC, 0, &out), GW_V_ACCEPT);
		if (i == 4)
			break;
		assert_int_equal(send_ct(&r[i], b, 0, SISN, 0x12, "", SEC, 0, &out), GW_V_ACCEPT);
		say_at(&r[i], 0, "220 mx.example.net ESMTP\r\n", 1, 0, GW_V_ACCEPT);
	}
	gw_engine_get_stats(r[0].e, &st);
	assert_int_equal(st.evicted_inspecting, 1);
	assert_int_equal(st.findings[SIG_INSPECTION_LIMIT], 1);
	say_at(&r[0], 1, "EHLO client.example.org\r\n", 2, 0, GW_V_BLOCK);
	say_at(&r[0], 0, "250 mx.example.net\r\n", 2, 0, GW_V_DROP);
	gw_engine_get_stats(r[0].e, &st);
	assert_int_equal(st.lost, 1);
	assert_int_equal(st.findings[SIG_INSPECTION_LIMIT], 1);
	assert_int_equal(st.verdicts[GW_V_BLOCK], 1);
	run_end(&r[0]);
}

/* A new SYN on the 4-tuple of a settled (decided, bypassed) flow starts a
 * new flow, marked and inspected from its SYN; the old one's end was never
 * seen. A blocked flow's sender retrying on the same port is inspected
 * too, not dropped. */
static void
test_syn_reuse_new_flow(void **state)
{
	struct gw_stats st;
	struct run r;
	uint8_t b[100];
	unsigned out;

	(void)state;
	run_start(&r, POL_MODE_TESTING);
	assert_int_equal(send_ct(&r, b, 1, CISN, 0x02, "", SEC, 0, &out), GW_V_ACCEPT);
	assert_int_equal(send_ct(&r, b, 0, SISN, 0x12, "", SEC, 0, &out), GW_V_ACCEPT);
	say_at(&r, 0, "220 mx.example.net ESMTP\r\n", 1, 0, GW_V_ACCEPT);
	say_at(&r, 1, "EHLO client.example.org\r\n", 1, 0, GW_V_ACCEPT);
	say_at(&r, 0, "250 mx.example.net\r\n", 1, 0, GW_V_ACCEPT);
	say_at(&r, 1, "MAIL FROM:<a@example.org>\r\n", 1, 0, GW_V_BYPASS); /* decided */
	/* same 4-tuple, new connection: stripped this time */
	r.cseq = CISN + 1;
	r.sseq = SISN + 1;
	assert_int_equal(send_ct(&r, b, 1, CISN + 777, 0x02, "", 3 * SEC, 0, &out), GW_V_ACCEPT);
	assert_true(out & GW_OUT_INSPECTING);
	r.cseq = CISN + 778;
	assert_int_equal(send_ct(&r, b, 0, SISN, 0x12, "", 3 * SEC, 0, &out), GW_V_ACCEPT);
	say_at(&r, 0, "220 mx.example.net ESMTP\r\n", 3, 0, GW_V_ACCEPT);
	say_at(&r, 1, "EHLO client.example.org\r\n", 3, 0, GW_V_ACCEPT);
	say_at(&r, 0, "250-mx.example.net\r\n250 XXXXXXXX\r\n", 3, 0, GW_V_ACCEPT);
	gw_engine_get_stats(r.e, &st);
	assert_int_equal(st.reused, 1);
	assert_int_equal(st.flows_plain, 1);
	assert_int_equal(st.findings[SIG_STARTTLS_STRIPPED], 1);
	run_end(&r);

	run_start(&r, POL_MODE_ENFORCE);
	to_starttls_reply(&r);
	say_at(&r, 0, "454 4.7.0 TLS not available\r\n", 1, 0, GW_V_BLOCK);
	assert_int_equal(send_ct(&r, b, 1, CISN + 999, 0x02, "", 2 * SEC, 0, &out), GW_V_ACCEPT);
	assert_true(out & GW_OUT_INSPECTING);
	gw_engine_get_stats(r.e, &st);
	assert_int_equal(st.reused, 1);
	run_end(&r);
}

/* A line beyond the limit leaves nothing to inspect: given up, so
 * blocked under enforce and passed (decided, then bypassed) under
 * testing, where the limit's own finding says why. */
static void
test_limit_given_up(void **state)
{
	static char part[1401];
	struct gw_stats st;
	struct run r;
	uint8_t b[100];
	unsigned out;

	(void)state;
	memset(part, 'a', sizeof part - 1);
	for (int enforce = 0; enforce < 2; enforce++) {
		run_start(&r, enforce ? POL_MODE_ENFORCE : POL_MODE_TESTING);
		assert_int_equal(send_ct(&r, b, 1, CISN, 0x02, "", SEC, 0, &out), GW_V_ACCEPT);
		assert_int_equal(send_ct(&r, b, 0, SISN, 0x12, "", SEC, 0, &out), GW_V_ACCEPT);
		say_at(&r, 0, "220 mx.example.net ESMTP\r\n", 1, 0, GW_V_ACCEPT);
		say_at(&r, 1, part, 1, 0, GW_V_ACCEPT);
		say_at(&r, 1, part, 1, 0, GW_V_ACCEPT);
		say_at(&r, 1, part, 1, 0, enforce ? GW_V_BLOCK : GW_V_BYPASS); /* 4200 > 4096 */
		gw_engine_get_stats(r.e, &st);
		assert_int_equal(st.gave_up, 1);
		assert_int_equal(st.findings[SIG_INSPECTION_LIMIT], 1);
		run_end(&r);
	}
}

/* A blocked flow forgotten after idle_timeout stays blocked: an attacker
 * in the path may have kept the RSTs from the endpoints, and the client's
 * cleartext MAIL 11 minutes later must not pass as a midstream pickup. */
static void
test_blocked_stays_blocked(void **state)
{
	struct gw_stats st;
	struct run r;

	(void)state;
	run_start(&r, POL_MODE_ENFORCE);
	to_starttls_reply(&r);
	say_at(&r, 0, "454 4.7.0 TLS not available\r\n", 1, 0, GW_V_BLOCK);
	say_at(&r, 1, "MAIL FROM:<a@example.org>\r\n", 700, 0, GW_V_BLOCK);
	say_at(&r, 1, "RCPT TO:<b@example.net>\r\n", 700, 0, GW_V_DROP);
	gw_engine_get_stats(r.e, &st);
	assert_int_equal(st.flow.expired, 1);
	assert_int_equal(st.lost, 1);
	assert_int_equal(st.midstream, 0);
	assert_int_equal(st.findings[SIG_STARTTLS_REJECTED], 1);
	assert_int_equal(st.findings[SIG_INSPECTION_LIMIT], 0); /* reported already */
	run_end(&r);
}

/* Decided flows expire after idle_timeout even behind older flows that
 * are still being inspected (they have the longer limit). */
static void
test_two_idle_limits(void **state)
{
	struct gw_stats st;
	struct run r, d;
	uint8_t b[100];
	unsigned out;

	(void)state;
	run_start(&r, POL_MODE_TESTING);
	to_starttls_reply(&r);                       /* inspecting, last seen at 1 s */
	run_another(&d, &r, 40002);
	say_at(&d, 0, "250 ok\r\n", 2, 0, GW_V_BYPASS); /* midstream: settled, at 2 s */
	gw_engine_expire(r.e, 700 * SEC);
	gw_engine_get_stats(r.e, &st);
	assert_int_equal(st.flow.expired, 1);
	assert_int_equal(st.flow.active, 1);
	assert_int_equal(st.expired_inspecting, 0);
	gw_engine_expire(r.e, 7300 * SEC);
	gw_engine_get_stats(r.e, &st);
	assert_int_equal(st.flow.active, 0);
	assert_int_equal(st.expired_inspecting, 1);
	/* a SYN on it later is a new connection, not a lost one */
	r.cseq = CISN + 1;
	r.sseq = SISN + 1;
	assert_int_equal(send_ct(&r, b, 1, CISN, 0x02, "", 7400 * SEC, 0, &out), GW_V_ACCEPT);
	assert_int_equal(send_ct(&r, b, 0, SISN, 0x12, "", 7400 * SEC, 0, &out), GW_V_ACCEPT);
	say_at(&r, 0, "220 x\r\n", 7400, 0, GW_V_ACCEPT);
	gw_engine_get_stats(r.e, &st);
	assert_int_equal(st.lost, 0);
	run_end(&r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_retransmission_rewritten),
		cmocka_unit_test(test_overlap_ahead_rewritten),
		cmocka_unit_test(test_enforce_blocks_instead),
		cmocka_unit_test(test_offline_untouched),
		cmocka_unit_test(test_pool_dry_reclaims_idle_history),
		cmocka_unit_test(test_evicted_mid_inspection_alerts),
		cmocka_unit_test(test_receiver_drops_not_inspected),
		cmocka_unit_test(test_low_ttl_raised),
		cmocka_unit_test(test_rst_keeps_inspecting),
		cmocka_unit_test(test_pin_never_lowers),
		cmocka_unit_test(test_tfo_syn_data_inspected),
		cmocka_unit_test(test_held_reply_still_inspected),
		cmocka_unit_test(test_expired_inspecting_blocked),
		cmocka_unit_test(test_expired_inspecting_testing),
		cmocka_unit_test(test_restart_mark_blocks),
		cmocka_unit_test(test_midstream_lost_setting),
		cmocka_unit_test(test_evicted_really_blocked),
		cmocka_unit_test(test_syn_reuse_new_flow),
		cmocka_unit_test(test_limit_given_up),
		cmocka_unit_test(test_two_idle_limits),
		cmocka_unit_test(test_blocked_stays_blocked),
	};

	return cmocka_run_group_tests_name("engine_inline", tests, NULL, NULL);
}
