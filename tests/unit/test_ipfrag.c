/*
 * test_ipfrag.c - unit tests for inspect/ipfrag.c (fragment reassembly).
 *
 * Each test builds a whole IPv4 or IPv6 TCP datagram, cuts it into
 * fragments by hand, feeds them through pkt_decode() and ipfrag_push() in
 * some order, and expects the rebuilt datagram to be byte-identical to the
 * original and to decode with pkt_decode_ip() to the original payload.
 * Sequences of pushes are tables of struct tf_step (which datagram, which
 * bytes, MF, time, the answer and the conflict flag expected).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "inspect/csum.h"
#include "inspect/ipfrag.h"
#include "inspect/pkt.h"
#include "inspect/wire.h"

/* Large enough for any datagram built here. */
#define TF_MAX   70000
/* Generous budget for tests that are not about limits. */
#define TF_BYTES (1024 * 1024)
#define TF_SEC   1000000ULL

/* An original datagram and how to cut it. */
struct tf_dgram {
	uint8_t  b[TF_MAX]; /* the unfragmented datagram */
	size_t   len;       /* its length */
	size_t   hl;        /* unfragmentable part (IPv4 header / IPv6 chain) */
	size_t   nh_pos;    /* IPv6: byte naming the header after the chain */
	uint8_t  af;        /* 4 or 6 */
	uint32_t id;        /* fragment id to use */
	size_t   plen;      /* TCP payload length */
};

/* One fragment frame. */
struct tf_frag {
	uint8_t b[TF_MAX];
	size_t  len;
};

static struct tf_dgram tf_d, tf_d2, tf_d3;
static struct tf_frag tf_f;
/* The datagrams a script's steps name by index. */
static struct tf_dgram *const tf_ds[] = { &tf_d, &tf_d2, &tf_d3 };

/* Write TCP header + a recognisable payload of plen bytes at b. */
static size_t
tf_tcp(uint8_t *b, size_t plen, uint8_t salt)
{
	memset(b, 0, 20);
	put16(b, 41234);
	put16(b + 2, 25);
	put32(b + 4, 1000);
	put32(b + 8, 2000);
	b[12] = 5 << 4;
	b[13] = PKT_TH_ACK | PKT_TH_PSH;
	put16(b + 14, 65535);
	for (size_t i = 0; i < plen; i++)
		b[20 + i] = (uint8_t)('A' + (i * 7 + salt) % 26);
	return 20 + plen;
}

/* Build an IPv4 TCP datagram with plen payload bytes and a valid checksum. */
static void
tf_build4(struct tf_dgram *d, size_t plen, uint16_t id, uint8_t src_last)
{
	static const uint8_t src[4] = { 192, 0, 2, 1 }, dst[4] = { 203, 0, 113, 25 };
	uint8_t *b = d->b;

	memset(b, 0, 20);
	b[0] = 0x45;
	b[8] = 64;
	b[9] = 6;
	put16(b + 4, id);
	memcpy(b + 12, src, 4);
	b[15] = src_last;
	memcpy(b + 16, dst, 4);
	d->len = 20 + tf_tcp(b + 20, plen, src_last);
	put16(b + 2, d->len);
	put16(b + 10, csum_fold(csum_add(0, b, 20)));
	d->hl = 20;
	d->af = 4;
	d->id = id;
	d->plen = plen;
}

/* Build an IPv6 TCP packet; with_hbh puts a hop-by-hop header first. */
static void
tf_build6(struct tf_dgram *d, size_t plen, uint32_t id, int with_hbh)
{
	uint8_t *b = d->b;
	size_t off = 40;

	memset(b, 0, 40);
	b[0] = 0x60;
	b[7] = 64;
	b[8] = 0x20;
	b[9] = 0x01;
	b[23] = 1;
	b[24] = 0x20;
	b[25] = 0x01;
	b[39] = 0x25;
	d->nh_pos = 6;
	if (with_hbh) {
		b[6] = 0;
		memset(b + 40, 0, 8);
		b[40] = 6;
		b[42] = 1;              /* PadN, 4 bytes of padding */
		b[43] = 4;
		d->nh_pos = 40;
		off = 48;
	} else {
		b[6] = 6;
	}
	d->len = off + tf_tcp(b + off, plen, 3);
	put16(b + 4, d->len - 40);
	d->hl = off;
	d->af = 6;
	d->id = id;
	d->plen = plen;
}

/* Cut data [off, off+len) of d into f as one fragment. */
static void
tf_cut(struct tf_frag *f, const struct tf_dgram *d, size_t off, size_t len,
    int more)
{
	const uint8_t *data = d->b + d->hl + off;

	memcpy(f->b, d->b, d->hl);
	if (d->af == 4) {
		memcpy(f->b + d->hl, data, len);
		f->len = d->hl + len;
		put16(f->b + 2, f->len);
		put16(f->b + 6, (off / 8) | (more ? 0x2000 : 0));
		put16(f->b + 10, 0);
		put16(f->b + 10, csum_fold(csum_add(0, f->b, d->hl)));
	} else {
		uint8_t *fh = f->b + d->hl;

		fh[0] = d->b[d->nh_pos];
		fh[1] = 0;
		put16(fh + 2, (off & 0xfff8) | (more ? 1 : 0));
		put32(fh + 4, d->id);
		f->b[d->nh_pos] = 44;
		memcpy(fh + 8, data, len);
		f->len = d->hl + 8 + len;
		put16(f->b + 4, f->len - 40);
	}
}

/* Decode fragment f (must be PKT_FRAGMENT) and push it. */
static int
tf_push(struct ipfrag *t, const struct tf_frag *f, uint64_t now,
    const uint8_t **out, size_t *outlen, int *conflict)
{
	struct pkt p;

	assert_int_equal(pkt_decode(&p, PKT_LINK_RAW, f->b, f->len),
	    PKT_FRAGMENT);
	return ipfrag_push(t, &p, now, out, outlen, conflict);
}

/* Cut and push data [off, off+len) of d. */
static int
tf_send(struct ipfrag *t, const struct tf_dgram *d, size_t off, size_t len,
    int more, uint64_t now, const uint8_t **out, size_t *outlen,
    int *conflict)
{
	tf_cut(&tf_f, d, off, len, more);
	return tf_push(t, &tf_f, now, out, outlen, conflict);
}

/* Check that out is d byte for byte and decodes to d's payload. */
static void
tf_check_out(const struct tf_dgram *d, const uint8_t *out, size_t outlen)
{
	struct pkt p;

	assert_int_equal(outlen, d->len);
	assert_memory_equal(out, d->b, d->len);
	assert_int_equal(pkt_decode_ip(&p, out, outlen), PKT_OK);
	assert_int_equal(p.payload_len, d->plen);
	assert_int_equal(p.payload_wire_len, d->plen);
	assert_memory_equal(p.payload, d->b + d->len - d->plen, d->plen);
	assert_int_equal(p.sport, 41234);
	assert_int_equal(p.dport, 25);
	if (d->af == 4)
		assert_int_equal(csum_fold(csum_add(0, out, 20)), 0);
}

/* Push fragments of size fs in the order given by idx; expect completion
 * exactly at the last push. */
static void
tf_run_order(struct ipfrag *t, const struct tf_dgram *d, size_t fs,
    const size_t *idx, size_t n)
{
	size_t data = d->len - d->hl, outlen = 0;
	const uint8_t *out = NULL;
	int conflict;

	for (size_t k = 0; k < n; k++) {
		size_t off = idx[k] * fs;
		size_t len = data - off < fs ? data - off : fs;
		int rc = tf_send(t, d, off, len, off + len < data, k, &out,
		    &outlen, &conflict);

		assert_int_equal(conflict, 0);
		assert_int_equal(rc, k + 1 == n ? 1 : 0);
	}
	tf_check_out(d, out, outlen);
}

/*
 * One step of a scripted test: bytes [off, off + len) of datagram d
 * (tf_ds: 0 tf_d, 1 tf_d2, 2 tf_d3) pushed as one fragment, "more
 * fragments" set when more, at time now (us). The push must return rc
 * (1: complete, and the result must be datagram d byte for byte) and
 * report conflict (TF_ANY: not checked).
 */
struct tf_step {
	int      d;
	size_t   off, len;
	int      more;
	uint64_t now;
	int      rc;
	int      conflict;
};
#define TF_ANY (-1)
/* A step whose conflict flag is not checked. */
#define TF_P(d, off, len, more, now, rc) { d, off, len, more, now, rc, TF_ANY }

/* Run n steps in order against t. */
static void
tf_script(struct ipfrag *t, const struct tf_step *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct tf_dgram *d = tf_ds[s[i].d];
		const uint8_t *out = NULL;
		size_t outlen = 0;
		int conflict = 0;
		int rc = tf_send(t, d, s[i].off, s[i].len, s[i].more, s[i].now,
		    &out, &outlen, &conflict);

		assert_int_equal(rc, s[i].rc);
		if (s[i].conflict != TF_ANY)
			assert_int_equal(conflict, s[i].conflict);
		if (rc == 1)
			tf_check_out(d, out, outlen);
	}
}
#define TF_SCRIPT(t, steps) tf_script((t), (steps), sizeof(steps) / sizeof((steps)[0]))

static void
test_new_args(void **state)
{
	struct ipfrag *t;

	(void)state;
	assert_null(ipfrag_new(0, TF_BYTES));
	assert_null(ipfrag_new(4, 100));
	t = ipfrag_new(1, 1024);
	assert_non_null(t);
	ipfrag_free(t);
	ipfrag_free(NULL);
}

static void
test_v4_in_order(void **state)
{
	struct ipfrag *t = ipfrag_new(16, TF_BYTES);
	size_t idx[] = { 0, 1, 2 };
	struct ipfrag_stats st;

	(void)state;
	tf_build4(&tf_d, 3000, 0x1234, 1);     /* 3020 data bytes */
	tf_run_order(t, &tf_d, 1480, idx, 3);
	ipfrag_get_stats(t, &st);
	assert_int_equal(st.fragments, 3);
	assert_int_equal(st.reassembled, 1);
	assert_int_equal(st.overlaps + st.conflicts + st.invalid, 0);
	ipfrag_free(t);
}

static void
test_v4_reversed(void **state)
{
	struct ipfrag *t = ipfrag_new(16, TF_BYTES);
	size_t idx[] = { 2, 1, 0 };

	(void)state;
	tf_build4(&tf_d, 3000, 0x1234, 1);
	tf_run_order(t, &tf_d, 1480, idx, 3);
	/* Middle first, then the ends. */
	size_t idx2[] = { 1, 2, 0 };
	tf_run_order(t, &tf_d, 1480, idx2, 3);
	ipfrag_free(t);
}

/* xorshift32, so shuffles are reproducible. */
static uint32_t
tf_rand(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

static void
test_v4_shuffled_small(void **state)
{
	struct ipfrag *t = ipfrag_new(4, TF_BYTES);
	size_t idx[512], n;
	uint32_t seed = 12345;

	(void)state;
	/* 8-byte fragments of a 4000-byte datagram, many permutations. */
	tf_build4(&tf_d, 3981, 7, 2);          /* 4001 data bytes */
	n = (tf_d.len - tf_d.hl + 7) / 8;
	assert_true(n <= 512);
	for (int round = 0; round < 20; round++) {
		for (size_t i = 0; i < n; i++)
			idx[i] = i;
		for (size_t i = n - 1; i > 0; i--) {
			size_t j = tf_rand(&seed) % (i + 1), x = idx[i];

			idx[i] = idx[j];
			idx[j] = x;
		}
		tf_run_order(t, &tf_d, 8, idx, n);
	}
	ipfrag_free(t);
}

static void
test_v4_max_size(void **state)
{
	struct ipfrag *t = ipfrag_new(2, 128 * 1024);
	size_t idx[] = { 0, 5, 1, 4, 2, 3 };

	(void)state;
	/* The largest legal datagram: 65535 bytes in 6 pieces. */
	tf_build4(&tf_d, 65535 - 40, 99, 3);
	tf_run_order(t, &tf_d, 12000, idx, 6);
	ipfrag_free(t);
}

/* Overlaps are judged as Linux >= 4.19 (CVE-2018-5391) and RFC 5722 do:
 * an exact repeat is a duplicate and ignored, first copy kept, whatever
 * its bytes; a partial overlap drops the whole datagram. */
static void
test_v4_overlap_same(void **state)
{
	static const struct tf_step steps[] = {
		{ 0, 0, 1600, 1, 0, 0, 0 },
		{ 0, 0, 1600, 1, 1, 0, 0 },          /* twice the same: a duplicate */
		{ 0, 1600, 1420, 0, 3, 1, 0 },
	};
	struct ipfrag *t = ipfrag_new(16, TF_BYTES);
	struct ipfrag_stats st;

	(void)state;
	tf_build4(&tf_d, 3000, 0x4321, 1);
	TF_SCRIPT(t, steps);
	ipfrag_get_stats(t, &st);
	assert_int_equal(st.overlaps, 1);
	assert_int_equal(st.conflicts, 0);
	ipfrag_free(t);
}

static void
test_v4_overlap_conflict(void **state)
{
	static const struct tf_step steps[] = {
		/* An exact repeat with other bytes: reported, first copy kept. */
		TF_P(0, 0, 1480, 1, 0, 0),
		{ 1, 0, 1480, 1, 1, 0, 1 },
		TF_P(0, 1480, 1540, 0, 2, 1),
		/* A partial overlap kills the datagram: nothing is delivered,
		 * and the later fragments start a new partial datagram. */
		TF_P(0, 0, 1480, 1, 3, 0),
		{ 1, 960, 1480, 1, 3, -1, 1 },
		TF_P(0, 1480, 1540, 0, 3, 0),
	};
	struct ipfrag *t = ipfrag_new(16, TF_BYTES);
	struct ipfrag_stats st;

	(void)state;
	tf_build4(&tf_d, 3000, 0x4321, 1);
	memcpy(&tf_d2, &tf_d, sizeof(tf_d));
	/* The attacker's copy says something else in [1000, 1008). */
	memset(tf_d2.b + 20 + 1000, 'Z', 8);
	TF_SCRIPT(t, steps);
	ipfrag_get_stats(t, &st);
	assert_int_equal(st.overlaps, 2);
	assert_int_equal(st.conflicts, 2);
	assert_int_equal(st.reassembled, 1);
	ipfrag_free(t);
}

static void
test_v4_keys(void **state)
{
	/* Same id from two sources, interleaved: two datagrams. */
	static const struct tf_step two[] = {
		TF_P(0, 0, 1480, 1, 0, 0),
		TF_P(1, 0, 1480, 1, 0, 0),
		TF_P(0, 1480, 540, 0, 0, 1),
		TF_P(1, 1480, 1040, 0, 0, 1),
	};
	struct ipfrag *t = ipfrag_new(16, TF_BYTES);
	const uint8_t *out;
	size_t outlen;
	int conflict;
	struct tf_frag *g = malloc(sizeof(*g));

	(void)state;
	assert_non_null(g);
	tf_build4(&tf_d, 2000, 0x55, 1);
	tf_build4(&tf_d2, 2500, 0x55, 2);
	TF_SCRIPT(t, two);

	/* Same addresses and id, another protocol: not the same datagram. */
	tf_cut(g, &tf_d, 1480, 540, 0);
	g->b[9] = 17;
	assert_int_equal(tf_send(t, &tf_d, 0, 1480, 1, 0, &out, &outlen,
	    &conflict), 0);
	assert_int_equal(tf_push(t, g, 0, &out, &outlen, &conflict), 0);
	assert_int_equal(tf_send(t, &tf_d, 1480, 540, 0, 0, &out, &outlen,
	    &conflict), 1);
	tf_check_out(&tf_d, out, outlen);
	free(g);
	ipfrag_free(t);
}

static void
test_v4_rejects(void **state)
{
	static const struct tf_step bad_sizes[] = {
		TF_P(0, 0, 1477, 1, 0, -1),      /* middle fragment not a multiple of 8 */
		TF_P(0, 1480, 0, 1, 0, -1),      /* zero-length fragment */
		/* Last fragments disagreeing on the total: the datagram is
		 * dropped, so the middle then starts a new one. */
		TF_P(0, 0, 1480, 1, 0, 0),
		TF_P(0, 2960, 60, 0, 0, 0),
		TF_P(0, 2960, 40, 0, 0, -1),
		TF_P(0, 1480, 1480, 1, 0, 0),
	};
	static const struct tf_step past_end[] = {   /* data past a known end */
		TF_P(0, 1480, 1480, 0, 0, 0),
		TF_P(0, 2960, 1480, 1, 0, -1),
	};
	static const struct tf_step before_seen[] = { /* a last fragment ending before data seen */
		TF_P(0, 1480, 1480, 1, 0, 0),
		TF_P(0, 800, 200, 0, 0, -1),
	};
	/* Hand-made fragments: offset and length as 8-byte units set in the
	 * header after cutting. */
	static const struct { size_t len; unsigned units; int rc; } edge[] = {
		{ 16, 65528 / 8, -1 },           /* ping of death: 65528 + 16 */
		{ 3, 65512 / 8, 0 },             /* ending exactly at 65535 is fine */
	};
	struct ipfrag *t = ipfrag_new(16, TF_BYTES);
	const uint8_t *out;
	size_t outlen;
	int conflict;
	struct ipfrag_stats st;
	struct pkt p;

	(void)state;
	tf_build4(&tf_d, 3000, 0x77, 1);
	TF_SCRIPT(t, bad_sizes);
	tf_build4(&tf_d, 3000, 0x78, 1);
	TF_SCRIPT(t, past_end);
	tf_build4(&tf_d, 3000, 0x79, 1);
	TF_SCRIPT(t, before_seen);
	for (size_t i = 0; i < sizeof(edge) / sizeof(edge[0]); i++) {
		tf_cut(&tf_f, &tf_d, 0, edge[i].len, 0);
		put16(tf_f.b + 6, edge[i].units);
		assert_int_equal(tf_push(t, &tf_f, 0, &out, &outlen, &conflict), edge[i].rc);
	}

	/* Hand-made nonsense that pkt_decode never produces. */
	tf_cut(&tf_f, &tf_d, 0, 1480, 1);
	assert_int_equal(pkt_decode(&p, PKT_LINK_RAW, tf_f.b, tf_f.len),
	    PKT_FRAGMENT);
	p.af = 5;
	assert_int_equal(ipfrag_push(t, &p, 0, &out, &outlen, &conflict), -1);
	p.af = 4;
	p.frag_more = 0;            /* offset 0 and no MF: not a fragment */
	assert_int_equal(ipfrag_push(t, &p, 0, &out, &outlen, &conflict), -1);
	p.frag_more = 1;
	p.frag_len = 100000;        /* past the captured datagram */
	assert_int_equal(ipfrag_push(t, &p, 0, &out, &outlen, &conflict), -1);
	p.frag_len = 1480;
	p.frag_off = 4;             /* not on an 8-byte boundary */
	assert_int_equal(ipfrag_push(t, &p, 0, &out, &outlen, &conflict), -1);
	assert_int_equal(ipfrag_push(NULL, &p, 0, &out, &outlen, &conflict), -1);
	assert_int_equal(ipfrag_push(t, NULL, 0, &out, &outlen, &conflict), -1);

	ipfrag_get_stats(t, &st);
	assert_int_equal(st.invalid, 10);
	assert_int_equal(st.reassembled, 0);
	ipfrag_free(t);
}

static void
test_v6_plain(void **state)
{
	struct ipfrag *t = ipfrag_new(16, TF_BYTES);
	size_t idx[] = { 0, 1, 2, 3 };
	size_t rev[] = { 3, 1, 0, 2 };

	(void)state;
	tf_build6(&tf_d, 5000, 0xcafe0001, 0);
	tf_run_order(t, &tf_d, 1448, idx, 4);
	tf_run_order(t, &tf_d, 1448, rev, 4);
	ipfrag_free(t);
}

static void
test_v6_ext_header(void **state)
{
	struct ipfrag *t = ipfrag_new(16, TF_BYTES);
	size_t idx[] = { 1, 0, 2 };
	struct pkt p;

	(void)state;
	tf_build6(&tf_d, 3000, 0xcafe0002, 1);
	/* The fragment's unfragmentable part is base header + hop-by-hop. */
	tf_cut(&tf_f, &tf_d, 0, 1448, 1);
	assert_int_equal(pkt_decode(&p, PKT_LINK_RAW, tf_f.b, tf_f.len),
	    PKT_FRAGMENT);
	assert_int_equal(p.frag_hdr_len, 48);
	assert_int_equal(p.frag_proto, 6);
	tf_run_order(t, &tf_d, 1448, idx, 3);
	ipfrag_free(t);
}

static void
test_v6_overlap_and_rejects(void **state)
{
	static const struct tf_step steps[] = {
		/* RFC 5722: an overlapping IPv6 fragment discards the datagram. */
		TF_P(0, 1448, 1448, 1, 0, 0),
		{ 1, 0, 2000, 1, 0, -1, 1 },
		TF_P(0, 0, 1448, 1, 0, 0),
		TF_P(0, 1448, 1448, 1, 0, 0),
		TF_P(0, 2896, 124, 0, 0, 1),
		/* Middle fragment of odd length; last fragments that disagree. */
		TF_P(0, 0, 1447, 1, 0, -1),
		TF_P(0, 2896, 124, 0, 0, 0),
		TF_P(0, 2896, 100, 0, 0, -1),
	};
	struct ipfrag *t = ipfrag_new(16, TF_BYTES);
	const uint8_t *out;
	size_t outlen;
	int conflict;
	struct ipfrag_stats st;

	(void)state;
	tf_build6(&tf_d, 3000, 0xcafe0003, 1);
	memcpy(&tf_d2, &tf_d, sizeof(tf_d));
	memset(tf_d2.b + tf_d2.hl + 1500, 'Q', 4);
	TF_SCRIPT(t, steps);
	/* 65535 payload bytes at most: 8 (HBH) + offset 65528 + 8 is over. */
	tf_cut(&tf_f, &tf_d, 0, 8, 0);
	put16(tf_f.b + 48 + 2, 65528);
	assert_int_equal(tf_push(t, &tf_f, 0, &out, &outlen, &conflict), -1);
	ipfrag_get_stats(t, &st);
	assert_int_equal(st.conflicts, 1);
	assert_int_equal(st.invalid, 4);
	ipfrag_free(t);
}

static void
test_v6_next_header_from_first(void **state)
{
	struct ipfrag *t = ipfrag_new(16, TF_BYTES);
	const uint8_t *out;
	size_t outlen;
	int conflict;

	(void)state;
	/* RFC 8200 4.5: later fragments' next header may differ; the
	 * offset-0 fragment's value is used. */
	tf_build6(&tf_d, 2000, 0xcafe0004, 0);
	tf_cut(&tf_f, &tf_d, 1448, 572, 0);
	tf_f.b[40] = 17;
	assert_int_equal(tf_push(t, &tf_f, 0, &out, &outlen, &conflict), 0);
	assert_int_equal(tf_send(t, &tf_d, 0, 1448, 1, 0, &out, &outlen,
	    &conflict), 1);
	tf_check_out(&tf_d, out, outlen);
	ipfrag_free(t);
}

static void
test_eviction_slots(void **state)
{
	static const struct tf_step steps[] = {
		TF_P(0, 0, 1480, 1, 0, 0),
		TF_P(1, 0, 1480, 1, 1, 0),
		TF_P(2, 0, 1480, 1, 2, 0),       /* table full: evicts the oldest (tf_d) */
		TF_P(1, 1480, 540, 0, 3, 1),
		TF_P(2, 1480, 540, 0, 4, 1),
		TF_P(0, 1480, 540, 0, 5, 0),     /* tf_d's tail alone cannot complete */
	};
	struct ipfrag *t = ipfrag_new(2, TF_BYTES);
	struct ipfrag_stats st;

	(void)state;
	tf_build4(&tf_d, 2000, 1, 1);
	tf_build4(&tf_d2, 2000, 2, 1);
	tf_build4(&tf_d3, 2000, 3, 1);
	TF_SCRIPT(t, steps);
	ipfrag_get_stats(t, &st);
	assert_int_equal(st.evicted, 1);
	assert_int_equal(st.reassembled, 2);
	ipfrag_free(t);
}

static void
test_eviction_bytes(void **state)
{
	static const struct tf_step evict[] = {
		TF_P(0, 0, 1480, 1, 0, 0),
		TF_P(1, 0, 1480, 1, 0, 0),
		/* The rest of tf_d2 needs a third chunk: tf_d (oldest) goes. */
		TF_P(1, 1480, 1540, 0, 0, 1),
	};
	static const struct tf_step too_big[] = {   /* bigger than the whole budget */
		TF_P(0, 0, 2400, 1, 0, 0),
		TF_P(0, 2400, 2400, 1, 0, -1),
	};
	/* Budget of 4 KB: four 1 KB chunks. */
	struct ipfrag *t = ipfrag_new(16, 4096);
	struct ipfrag_stats st;
	size_t idx[] = { 1, 0, 2 };

	(void)state;
	tf_build4(&tf_d, 2000, 1, 1);          /* 2020 bytes: 2 chunks */
	tf_build4(&tf_d2, 3000, 2, 1);         /* 3020 bytes: 3 chunks */
	TF_SCRIPT(t, evict);
	ipfrag_get_stats(t, &st);
	assert_int_equal(st.evicted, 1);
	tf_build4(&tf_d, 6000, 3, 1);
	TF_SCRIPT(t, too_big);
	/* Memory came back: a fitting datagram still works afterwards. */
	tf_build4(&tf_d, 3000, 4, 1);
	tf_run_order(t, &tf_d, 1480, idx, 3);
	ipfrag_free(t);
}

static void
test_timeout(void **state)
{
	/* Exactly 30 s after the first fragment: still completes. */
	static const struct tf_step at_limit[] = {
		TF_P(0, 0, 1480, 1, 100, 0),
		TF_P(0, 1480, 540, 0, 100 + 30 * TF_SEC, 1),
	};
	/* Measured from the first fragment, not the latest one: the middle at
	 * +20 s does not extend the datagram's life. The tail starts afresh;
	 * the rest within 30 s of it completes. */
	static const struct tf_step from_first[] = {
		TF_P(0, 0, 1480, 1, 200 * TF_SEC, 0),
		TF_P(0, 1480, 1480, 1, 220 * TF_SEC, 0),
		TF_P(0, 2960, 60, 0, 230 * TF_SEC + 1, 0),
		TF_P(0, 0, 1480, 1, 240 * TF_SEC, 0),
		TF_P(0, 1480, 1480, 1, 250 * TF_SEC, 1),
	};
	/* A clock that steps back expires nothing. */
	static const struct tf_step backwards[] = {
		TF_P(0, 0, 1480, 1, 400 * TF_SEC, 0),
		TF_P(0, 1480, 540, 0, 10 * TF_SEC, 1),
	};
	struct ipfrag *t = ipfrag_new(4, TF_BYTES);
	struct ipfrag_stats st;

	(void)state;
	tf_build4(&tf_d, 2000, 1, 1);
	TF_SCRIPT(t, at_limit);
	tf_build4(&tf_d, 3000, 2, 1);
	TF_SCRIPT(t, from_first);
	ipfrag_get_stats(t, &st);
	assert_int_equal(st.timed_out, 1);
	tf_build4(&tf_d, 2000, 3, 1);
	TF_SCRIPT(t, backwards);
	ipfrag_get_stats(t, &st);
	assert_int_equal(st.timed_out, 1);
	ipfrag_free(t);
}

static void
test_many_interleaved(void **state)
{
	/* 64 datagrams in flight at once, 40 slots: the first 24 are evicted,
	 * the last 40 complete. */
	struct ipfrag *t = ipfrag_new(40, TF_BYTES);
	static struct tf_dgram ds[64];
	const uint8_t *out;
	size_t outlen;
	int conflict, done = 0;
	struct ipfrag_stats st;

	(void)state;
	for (int i = 0; i < 64; i++) {
		tf_build4(&ds[i], 1000 + (size_t)i, (uint16_t)(i * 257), (uint8_t)i);
		assert_int_equal(tf_send(t, &ds[i], 0, 512, 1, 0, &out, &outlen,
		    &conflict), 0);
	}
	for (int i = 63; i >= 0; i--) {
		size_t rest = ds[i].len - 20 - 512;
		int rc = tf_send(t, &ds[i], 512, rest, 0, 1, &out, &outlen,
		    &conflict);

		if (i >= 24) {
			assert_int_equal(rc, 1);
			tf_check_out(&ds[i], out, outlen);
			done++;
		} else {
			assert_int_equal(rc, 0);
		}
	}
	assert_int_equal(done, 40);
	ipfrag_get_stats(t, &st);
	assert_int_equal(st.evicted, 24 + 0);
	ipfrag_free(t);
}

static void
test_random_fragments(void **state)
{
	/* Random pieces of a few datagrams, random sizes, times and flags,
	 * into a table too small for them: it must never crash, never hand
	 * out a datagram over the limit, and whatever completes must decode. */
	struct ipfrag *t = ipfrag_new(3, 8 * 1024);
	uint32_t seed = 0x9e3779b9;
	const uint8_t *out;
	size_t outlen;
	int conflict;
	struct ipfrag_stats st;

	(void)state;
	for (int round = 0; round < 30000; round++) {
		struct tf_dgram *d = (round & 1) ? &tf_d : &tf_d2;
		uint32_t r = tf_rand(&seed);
		size_t data, off, len;
		int more, rc;
		struct pkt p;

		if (round % 64 == 0) {
			if (r & 1)
				tf_build4(d, 100 + r % 9000, (uint16_t)(r >> 8 & 3), 1);
			else
				tf_build6(d, 100 + r % 9000, r >> 8 & 3, (r >> 4) & 1);
		}
		data = d->len - d->hl;
		off = (tf_rand(&seed) % (data / 8 + 4)) * 8;
		len = tf_rand(&seed) % 3000 + 1;
		more = tf_rand(&seed) % 3 != 0;
		if (off == 0 && !more)
			more = 1;
		if (more && tf_rand(&seed) % 8 != 0)
			len = (len + 7) & ~(size_t)7;
		if (d->hl + 8 + off + len > TF_MAX - 8)
			continue;
		tf_cut(&tf_f, d, off, len, more);
		if (pkt_decode(&p, PKT_LINK_RAW, tf_f.b, tf_f.len) !=
		    PKT_FRAGMENT)
			continue;
		rc = ipfrag_push(t, &p, (uint64_t)round * 5000, &out, &outlen,
		    &conflict);
		assert_true(rc >= -1 && rc <= 1);
		if (rc == 1) {
			struct pkt q;

			assert_true(outlen <= 40 + IPFRAG_DATAGRAM_MAX);
			assert_int_not_equal(pkt_decode_ip(&q, out, outlen),
			    PKT_FRAGMENT);
		}
	}
	ipfrag_get_stats(t, &st);
	assert_int_equal(st.fragments > 0, 1);
	/* Random pieces overlap often, and an overlap kills the datagram
	 * (Linux, RFC 5722): completions are rare here, overlaps are not. */
	assert_true(st.overlaps > 0);
	assert_true(st.evicted > 0);
	assert_true(st.invalid > 0);
	ipfrag_free(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_new_args),
		cmocka_unit_test(test_v4_in_order),
		cmocka_unit_test(test_v4_reversed),
		cmocka_unit_test(test_v4_shuffled_small),
		cmocka_unit_test(test_v4_max_size),
		cmocka_unit_test(test_v4_overlap_same),
		cmocka_unit_test(test_v4_overlap_conflict),
		cmocka_unit_test(test_v4_keys),
		cmocka_unit_test(test_v4_rejects),
		cmocka_unit_test(test_v6_plain),
		cmocka_unit_test(test_v6_ext_header),
		cmocka_unit_test(test_v6_overlap_and_rejects),
		cmocka_unit_test(test_v6_next_header_from_first),
		cmocka_unit_test(test_eviction_slots),
		cmocka_unit_test(test_eviction_bytes),
		cmocka_unit_test(test_timeout),
		cmocka_unit_test(test_many_interleaved),
		cmocka_unit_test(test_random_fragments),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
