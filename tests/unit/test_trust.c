/*
 * test_trust.c - checksum trust and the handshake through the engine
 * (inspect/tcp_trust.h): offline, a wrong-checksum segment is held until
 * its receiver acknowledges it and loses to any right copy; a side whose
 * checksums the capture shows unfilled is learnt from that; inline the
 * kernel's word decides; a second SYN-ACK, or a forged SYN, moves nothing
 * the endpoints did not take. Findings are read from the engine's
 * counters (no EVE writer).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "gateway/gw_engine.h"
#include "inspect/csum.h"
#include "inspect/pkt.h"
#include "inspect/wire.h"
#include "policy/pol.h"

#define CLI 0xc6336410u  /* 198.51.100.16 */
#define SRV 0xcb007119u  /* 203.0.113.25 */
#define CISN 1000u
#define SISN 5000u
#define MSS 1448u

#define BANNER  "220 mx.example.net ESMTP\r\n"
#define EHLO    "EHLO client.example.org\r\n"
#define REPLY_X "250-mx.example.net\r\n250-PIPELINING\r\n250-XXXXXXXX\r\n250 8BITMIME\r\n"
#define REPLY_S "250-mx.example.net\r\n250-PIPELINING\r\n250-STARTTLS\r\n250 8BITMIME\r\n"
#define MAIL    "MAIL FROM:<a@example.org>\r\n"

enum { GOOD = 0, BAD = 1 };

struct conv {
	struct pol *pol;
	struct gw_engine *e;
	int inline_mode;       /* send through gw_engine_packet_inline */
	int kcsum;             /* inline: what the kernel says of the checksum */
	uint32_t cseq, sseq;   /* next client / server sequence numbers */
	enum gw_verdict last;  /* verdict of the last packet */
};

/* One IPv4/TCP datagram into b (wrong checksum when bad); its length. */
static size_t
segment(uint8_t *b, int to_server, uint32_t seq, uint32_t ack, uint8_t flags,
    const void *data, size_t n, int bad)
{
	size_t len = 40 + n;
	uint32_t sum;

	memset(b, 0, 40);
	b[0] = 0x45;
	put16(b + 2, (unsigned)len);
	b[8] = 64;
	b[9] = 6;
	put32(b + 12, to_server ? CLI : SRV);
	put32(b + 16, to_server ? SRV : CLI);
	put16(b + 10, csum_fold(csum_add(0, b, 20)));
	put16(b + 20, to_server ? 40000 : 25);
	put16(b + 22, to_server ? 25 : 40000);
	put32(b + 24, seq);
	put32(b + 28, ack);
	b[32] = 5 << 4;
	b[33] = flags;
	put16(b + 34, 65535);
	if (n)
		memcpy(b + 40, data, n);
	sum = csum_add(0, b + 12, 8) + 6 + (uint32_t)(len - 20);
	put16(b + 36, (uint16_t)(csum_fold(csum_add(sum, b + 20, len - 20)) ^ (bad ? 0x5a5a : 0)));
	return len;
}

static void
conv_start(struct conv *c, enum pol_mode mode)
{
	struct gw_engine_conf ec;

	memset(c, 0, sizeof(*c));
	gw_engine_conf_default(&ec);
	ec.max_flows = 16;
	ec.pool_chunks = 128;
	c->pol = pol_new();
	assert_non_null(c->pol);
	pol_set_default(c->pol, mode, 0);
	c->e = gw_engine_new(&ec, c->pol, NULL, 7);
	assert_non_null(c->e);
	c->cseq = CISN + 1;
	c->sseq = SISN + 1;
}

static void
conv_end(struct conv *c)
{
	gw_engine_free(c->e);
	pol_free(c->pol);
}

/* Send any segment; its ACK is the peer's next sequence number unless ack
 * is given (non-zero). */
static enum gw_verdict
raw(struct conv *c, int to_server, uint32_t seq, uint32_t ack, uint8_t flags,
    const void *data, size_t n, int bad)
{
	static uint8_t b[4096];
	struct pkt p;
	size_t len;
	unsigned out;

	assert_true(n + 40 <= sizeof(b));
	if (ack == 0 && (flags & 0x10))
		ack = to_server ? c->sseq : c->cseq;
	len = segment(b, to_server, seq, ack, flags, data, n, bad);
	if (c->inline_mode)
		c->last = gw_engine_packet_inline(c->e, b, len, 1000000,
		    c->kcsum ? GW_CT_CSUM_OK : 0, &p, &out);
	else
		c->last = gw_engine_packet(c->e, PKT_LINK_RAW, b, len, 1000000, &p);
	return c->last;
}

/* Data in order from one side (the stream advances), checksum as told. */
static void
say(struct conv *c, int to_server, const char *text, int bad)
{
	size_t n = strlen(text);
	uint32_t *seq = to_server ? &c->cseq : &c->sseq;

	raw(c, to_server, *seq, 0, 0x18, text, n, bad);
	*seq += (uint32_t)n;
}

/* The peer acknowledges all so far (a pure ACK), checksum as told. */
static void
ack(struct conv *c, int to_server, int bad)
{
	raw(c, to_server, to_server ? c->cseq : c->sseq, 0, 0x10, NULL, 0, bad);
}

/* SYN, SYN-ACK, ACK with the given checksums. */
static void
handshake(struct conv *c, int syn_bad, int synack_bad, int ack_bad)
{
	raw(c, 1, CISN, 0, 0x02, NULL, 0, syn_bad);
	raw(c, 0, SISN, CISN + 1, 0x12, NULL, 0, synack_bad);
	ack(c, 1, ack_bad);
}

static uint64_t
found(const struct conv *c, enum sig s)
{
	struct gw_stats st;

	gw_engine_get_stats(c->e, &st);
	return st.findings[s];
}

static uint64_t
bad_checksums(const struct conv *c)
{
	struct gw_stats st;

	gw_engine_get_stats(c->e, &st);
	return st.bad_checksum;
}

/* A capture on the server host: its SYN-ACK right, every data segment it
 * sends with an unfilled checksum. The client's ACKs take them. */
static void
test_offloaded_server_after_good_synack(void **state)
{
	struct conv c;

	(void)state;
	conv_start(&c, POL_MODE_ENFORCE);
	handshake(&c, GOOD, GOOD, GOOD);
	say(&c, 0, BANNER, BAD);
	ack(&c, 1, GOOD);
	say(&c, 1, EHLO, GOOD);
	say(&c, 0, REPLY_X, BAD);
	assert_int_equal(found(&c, SIG_STARTTLS_STRIPPED), 0); /* held, not inspected yet */
	ack(&c, 1, GOOD);
	assert_int_equal(found(&c, SIG_STARTTLS_STRIPPED), 1);
	assert_int_equal(c.last, GW_V_BLOCK);
	assert_int_equal(bad_checksums(&c), 2);
	conv_end(&c);
}

/* The client side offloads: its EHLO and MAIL are taken at the server's
 * ACK, and the plaintext mail is found. */
static void
test_offloaded_client_mail(void **state)
{
	struct conv c;

	(void)state;
	conv_start(&c, POL_MODE_TESTING);
	handshake(&c, GOOD, GOOD, BAD);
	say(&c, 0, BANNER, GOOD);
	say(&c, 1, EHLO, BAD);
	say(&c, 0, "250-mx.example.net\r\n250 8BITMIME\r\n", GOOD); /* acks the EHLO */
	say(&c, 1, MAIL, BAD);
	assert_int_equal(found(&c, SIG_STARTTLS_MISSING), 0);
	ack(&c, 0, GOOD);
	assert_int_equal(found(&c, SIG_STARTTLS_MISSING), 1);
	conv_end(&c);
}

/* GRO: a segment of two MSS, wrong checksum, in each direction. */
static void
test_gro_sized_both_directions(void **state)
{
	static char big[2 * MSS + 1];
	struct conv c;

	(void)state;
	conv_start(&c, POL_MODE_ENFORCE);
	handshake(&c, GOOD, GOOD, GOOD);
	say(&c, 0, BANNER, GOOD);
	/* the client's long NOOP and EHLO: 2 * MSS bytes in one merged segment */
	memset(big, 'n', sizeof(big));
	memcpy(big, "NOOP ", 5);
	strcpy(big + 2 * MSS - strlen(EHLO) - 2, "\r\n" EHLO);
	say(&c, 1, big, BAD);
	assert_true(strlen(big) > MSS);
	ack(&c, 0, GOOD);
	/* the server's reply, padded past one MSS with a long first line */
	memset(big, 'a', sizeof(big));
	memcpy(big, "250 2.0.0 Ok\r\n250-", 18); /* the NOOP's reply, then the EHLO's */
	memcpy(big + 2 * MSS - 80, "\r\n" REPLY_X, sizeof("\r\n" REPLY_X) - 1);
	big[2 * MSS - 80 + sizeof("\r\n" REPLY_X) - 1] = '\0';
	say(&c, 0, big, BAD);
	assert_int_equal(found(&c, SIG_STARTTLS_STRIPPED), 0);
	/* the client's ACK is unfilled too: it counts, the client is known to
	 * offload (its own merged segment was taken above) */
	ack(&c, 1, BAD);
	assert_int_equal(found(&c, SIG_INSPECTION_LIMIT), 0);
	assert_int_equal(found(&c, SIG_STARTTLS_STRIPPED), 1);
	conv_end(&c);
}

/* A forgery with a wrong checksum never wins over the real segment, in
 * either order, and is never taken by an ACK of bytes never sent. */
static void
test_forgery_never_wins(void **state)
{
	struct conv c;

	(void)state;
	for (int order = 0; order < 2; order++) {
		conv_start(&c, POL_MODE_TESTING);
		handshake(&c, GOOD, GOOD, GOOD);
		say(&c, 0, BANNER, GOOD);
		say(&c, 1, EHLO, GOOD);
		if (order == 0) /* forged clean first, real stripped after */
			raw(&c, 0, c.sseq, 0, 0x18, REPLY_S, strlen(REPLY_S), BAD);
		raw(&c, 0, c.sseq, 0, 0x18, REPLY_X, strlen(REPLY_X), GOOD);
		if (order == 1)
			raw(&c, 0, c.sseq, 0, 0x18, REPLY_S, strlen(REPLY_S), BAD);
		c.sseq += (uint32_t)strlen(REPLY_X);
		ack(&c, 1, GOOD);
		assert_int_equal(found(&c, SIG_STARTTLS_STRIPPED), 1);
		assert_int_equal(found(&c, SIG_TCP_OVERLAP_CONFLICT), 0);
		conv_end(&c);
	}
	/* forged stripped reply, then an ACK far beyond anything sent */
	conv_start(&c, POL_MODE_TESTING);
	handshake(&c, GOOD, GOOD, GOOD);
	say(&c, 0, BANNER, GOOD);
	say(&c, 1, EHLO, GOOD);
	raw(&c, 0, c.sseq, 0, 0x18, REPLY_X, strlen(REPLY_X), BAD);
	raw(&c, 1, c.cseq, c.sseq + 100000, 0x10, NULL, 0, GOOD);
	assert_int_equal(found(&c, SIG_STARTTLS_STRIPPED), 0);
	say(&c, 0, REPLY_S, GOOD);
	ack(&c, 1, GOOD);
	assert_int_equal(found(&c, SIG_STARTTLS_STRIPPED), 0);
	conv_end(&c);
}

/* Issue 20.4: a second SYN-ACK, wrong checksum or another ISN, changes
 * nothing: the server's bad-checksum forgeries stay uninspected, and bytes
 * at the forged ISN are out of the stream. */
static void
test_second_synack(void **state)
{
	struct conv c;

	(void)state;
	conv_start(&c, POL_MODE_TESTING);
	handshake(&c, GOOD, GOOD, GOOD);
	raw(&c, 0, SISN, CISN + 1, 0x12, NULL, 0, BAD);        /* would flip "offloaded" */
	raw(&c, 0, SISN + 7777777, CISN + 1, 0x12, NULL, 0, GOOD); /* would re-base */
	ack(&c, 1, GOOD);
	say(&c, 0, BANNER, GOOD);
	say(&c, 1, EHLO, GOOD);
	/* a forged clean reply at the forged ISN, then one with a wrong checksum */
	raw(&c, 0, SISN + 7777777 + 1 + (uint32_t)strlen(BANNER), 0, 0x18, REPLY_S,
	    strlen(REPLY_S), GOOD);
	raw(&c, 0, c.sseq, 0, 0x18, REPLY_S, strlen(REPLY_S), BAD);
	say(&c, 0, REPLY_X, GOOD);
	ack(&c, 1, GOOD);
	assert_int_equal(found(&c, SIG_STARTTLS_STRIPPED), 1);
	assert_int_equal(found(&c, SIG_TCP_OVERLAP_CONFLICT), 0);
	conv_end(&c);
}

/* Issue 20.7: a forged SYN 3 MiB away comes first; the server takes the
 * real one, and the SYN-ACK says which: the real data is inspected. */
static void
test_forged_first_syn(void **state)
{
	struct conv c;

	(void)state;
	conv_start(&c, POL_MODE_ENFORCE);
	raw(&c, 1, CISN + (3u << 20), 0, 0x02, NULL, 0, GOOD);
	handshake(&c, GOOD, GOOD, GOOD);
	say(&c, 0, BANNER, GOOD);
	say(&c, 1, EHLO, GOOD);
	say(&c, 0, REPLY_S, GOOD);
	say(&c, 1, MAIL, GOOD);
	assert_int_equal(found(&c, SIG_STARTTLS_DOWNGRADE), 1);
	assert_int_equal(c.last, GW_V_BLOCK);
	conv_end(&c);
}

/* A forged wrong-checksum SYN-ACK ahead of the real one: the right one
 * wins, so the server is not taken for offloading. */
static void
test_bad_synack_then_real(void **state)
{
	struct conv c;

	(void)state;
	conv_start(&c, POL_MODE_TESTING);
	raw(&c, 1, CISN, 0, 0x02, NULL, 0, GOOD);
	raw(&c, 0, SISN + 999, CISN + 1, 0x12, NULL, 0, BAD);
	raw(&c, 0, SISN, CISN + 1, 0x12, NULL, 0, GOOD);
	ack(&c, 1, GOOD);
	say(&c, 0, BANNER, GOOD);
	say(&c, 1, EHLO, GOOD);
	raw(&c, 0, c.sseq, 0, 0x18, REPLY_S, strlen(REPLY_S), BAD);
	say(&c, 0, REPLY_X, GOOD);
	ack(&c, 1, GOOD);
	assert_int_equal(found(&c, SIG_STARTTLS_STRIPPED), 1);
	conv_end(&c);
}

/* Loopback: every checksum of both sides unfilled, handshake included. */
static void
test_all_unfilled(void **state)
{
	struct conv c;

	(void)state;
	conv_start(&c, POL_MODE_ENFORCE);
	handshake(&c, BAD, BAD, BAD);
	say(&c, 0, BANNER, BAD);
	say(&c, 1, EHLO, BAD);
	say(&c, 0, REPLY_X, BAD);
	say(&c, 1, MAIL, BAD);
	ack(&c, 0, BAD);
	assert_int_equal(found(&c, SIG_STARTTLS_STRIPPED), 1);
	conv_end(&c);
}

/* Inline the kernel's word decides: a partial checksum it will fill in is
 * inspected; a wrong one it did not verify is not, and teaches nothing
 * (no offloading is learnt from the handshake either). */
static void
test_inline_kernel_word(void **state)
{
	struct conv c;

	(void)state;
	conv_start(&c, POL_MODE_ENFORCE);
	c.inline_mode = 1;
	c.kcsum = 1; /* GRO'd / local: the field is not the checksum yet */
	handshake(&c, BAD, BAD, BAD);
	say(&c, 0, BANNER, BAD);
	say(&c, 1, EHLO, BAD);
	say(&c, 0, REPLY_X, BAD);
	assert_int_equal(found(&c, SIG_STARTTLS_STRIPPED), 1);
	assert_int_equal(c.last, GW_V_BLOCK);
	conv_end(&c);

	conv_start(&c, POL_MODE_ENFORCE);
	c.inline_mode = 1;
	c.kcsum = 0;
	handshake(&c, BAD, GOOD, GOOD); /* a wrong SYN teaches nothing inline */
	say(&c, 0, BANNER, GOOD);
	say(&c, 1, EHLO, GOOD);
	raw(&c, 0, c.sseq, 0, 0x18, REPLY_S, strlen(REPLY_S), BAD);
	ack(&c, 1, GOOD);
	assert_int_equal(c.last, GW_V_ACCEPT);
	say(&c, 0, REPLY_X, GOOD);
	assert_int_equal(found(&c, SIG_STARTTLS_STRIPPED), 1);
	assert_int_equal(c.last, GW_V_BLOCK);
	assert_int_equal(bad_checksums(&c), 1);
	conv_end(&c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_offloaded_server_after_good_synack),
		cmocka_unit_test(test_offloaded_client_mail),
		cmocka_unit_test(test_gro_sized_both_directions),
		cmocka_unit_test(test_forgery_never_wins),
		cmocka_unit_test(test_second_synack),
		cmocka_unit_test(test_forged_first_syn),
		cmocka_unit_test(test_bad_synack_then_real),
		cmocka_unit_test(test_all_unfilled),
		cmocka_unit_test(test_inline_kernel_word),
	};

	return cmocka_run_group_tests_name("trust", tests, NULL, NULL);
}
