/*
 * test_tcp_reasm.c - TCP stream reassembly: order, overlaps, limits, wrap.
 *
 * Every test writes the stream it expects as bytes and compares it with the
 * concatenation of what the deliver callback received. First copy wins
 * (tcp_reasm.h), so where two copies of a byte differ the expected stream
 * holds the one pushed first. Pool accounting is checked through
 * tcp_pool_get_stats(): after tcp_half_release() nothing may stay borrowed.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "inspect/tcp_reasm.h"

#define SINK_MAX 65536

/* What the deliver callback received. */
struct sink {
	uint8_t        buf[SINK_MAX]; /* delivered bytes, concatenated */
	size_t         len;
	int            calls;
	int            stop_after;    /* return non-zero on this call (0 = never) */
	const uint8_t *last_ptr;      /* data pointer of the last call */
};

/* Deliver callback: append, remember where the bytes were. */
static int
deliver(void *ctx, const uint8_t *data, size_t len)
{
	struct sink *k = ctx;

	assert_true(k->len + len <= SINK_MAX);
	memcpy(k->buf + k->len, data, len);
	k->len += len;
	k->calls++;
	k->last_ptr = data;
	return k->stop_after != 0 && k->calls >= k->stop_after;
}

/* Pattern byte for stream offset i: readable and never periodic in 16. */
static uint8_t
pat(size_t i)
{
	return (uint8_t)('a' + (i * 7 + i / 26) % 26);
}

/* Fill b with the pattern of stream offsets [off, off + n). */
static void
fill(uint8_t *b, size_t off, size_t n)
{
	for (size_t i = 0; i < n; i++)
		b[i] = pat(off + i);
}

static uint32_t
in_use(const struct tcp_pool *pool)
{
	struct tcp_pool_stats st;

	tcp_pool_get_stats(pool, &st);
	return st.in_use;
}

/* Push stream offsets [off, off + n) of the pattern relative to isn. */
static int
push_pat(struct tcp_pool *pool, struct tcp_half *h, uint32_t isn, size_t off,
    size_t n, struct sink *k)
{
	static uint8_t b[8192];

	assert_true(n <= sizeof(b));
	fill(b, off, n);
	return tcp_reasm_push(pool, h, isn + (uint32_t)off, b, (uint32_t)n, deliver, k);
}

/* The delivered stream is the pattern [0, n). */
static void
assert_stream_pat(const struct sink *k, size_t n)
{
	uint8_t want[SINK_MAX];

	assert_int_equal(k->len, n);
	fill(want, 0, n);
	assert_memory_equal(k->buf, want, n);
}

static struct sink sink; /* one at a time; reset per test */

static int
setup(void **state)
{
	(void)state;
	memset(&sink, 0, sizeof(sink));
	return 0;
}

/* In-order data goes straight from the packet to the callback. */
static void
test_in_order_no_copy(void **state)
{
	struct tcp_pool *pool = tcp_pool_new(8);
	struct tcp_half h;
	static const uint8_t a[] = "EHLO client.example.org\r\n";
	static const uint8_t b[] = "STARTTLS\r\n";
	int r;

	(void)state;
	assert_non_null(pool);
	tcp_half_init(&h, 1000);
	assert_int_equal(h.next_seq, 1000);
	r = tcp_reasm_push(pool, &h, 1000, a, sizeof(a) - 1, deliver, &sink);
	assert_true(r & TCP_R_DELIVERED);
	assert_false(r & (TCP_R_OOO | TCP_R_RETRANS | TCP_R_CONFLICT | TCP_R_LIMIT | TCP_R_OLD));
	assert_ptr_equal(sink.last_ptr, a);
	r = tcp_reasm_push(pool, &h, 1000 + sizeof(a) - 1, b, sizeof(b) - 1, deliver, &sink);
	assert_true(r & TCP_R_DELIVERED);
	assert_ptr_equal(sink.last_ptr, b);
	assert_int_equal(sink.calls, 2);
	assert_int_equal(sink.len, sizeof(a) - 1 + sizeof(b) - 1);
	assert_memory_equal(sink.buf, "EHLO client.example.org\r\nSTARTTLS\r\n", sink.len);
	assert_int_equal(h.next_seq, 1000 + sink.len);
	assert_true(in_use(pool) <= 1); /* the history chunk at most */
	tcp_half_release(pool, &h);
	assert_int_equal(in_use(pool), 0);
	assert_int_equal(h.next_seq, 1000 + sink.len);
	tcp_pool_free(pool);
}

/* Segments ahead of a hole wait and drain when it fills. */
static void
test_ooo_buffer_and_drain(void **state)
{
	struct tcp_pool *pool = tcp_pool_new(8);
	struct tcp_half h;
	int r;

	(void)state;
	tcp_half_init(&h, 5000);
	r = push_pat(pool, &h, 5000, 30, 10, &sink);      /* [30,40) */
	assert_true(r & TCP_R_OOO);
	assert_false(r & TCP_R_DELIVERED);
	r = push_pat(pool, &h, 5000, 10, 10, &sink);      /* [10,20) */
	assert_true(r & TCP_R_OOO);
	r = push_pat(pool, &h, 5000, 20, 10, &sink);      /* [20,30) */
	assert_true(r & TCP_R_OOO);
	assert_int_equal(sink.len, 0);
	assert_true(h.ooo_n >= 1 && h.ooo_n <= 3);
	assert_true(in_use(pool) >= 1);
	assert_int_equal(h.next_seq, 5000);
	r = push_pat(pool, &h, 5000, 0, 10, &sink);       /* fills the hole */
	assert_true(r & TCP_R_DELIVERED);
	assert_false(r & (TCP_R_CONFLICT | TCP_R_LIMIT));
	assert_stream_pat(&sink, 40);
	assert_int_equal(h.next_seq, 5040);
	assert_int_equal(h.ooo_n, 0);
	assert_true(in_use(pool) <= 1);
	/* and on in order */
	r = push_pat(pool, &h, 5000, 40, 5, &sink);
	assert_true(r & TCP_R_DELIVERED);
	assert_stream_pat(&sink, 45);
	tcp_half_release(pool, &h);
	assert_int_equal(in_use(pool), 0);
	tcp_pool_free(pool);
}

/* Two holes: filling the first drains only up to the second. */
static void
test_ooo_two_holes(void **state)
{
	struct tcp_pool *pool = tcp_pool_new(8);
	struct tcp_half h;

	(void)state;
	tcp_half_init(&h, 0);
	push_pat(pool, &h, 0, 50, 10, &sink);
	push_pat(pool, &h, 0, 20, 10, &sink);
	push_pat(pool, &h, 0, 0, 10, &sink);
	assert_stream_pat(&sink, 10);
	push_pat(pool, &h, 0, 10, 10, &sink);
	assert_stream_pat(&sink, 30);
	assert_int_equal(h.next_seq, 30);
	assert_int_equal(h.ooo_n, 1);
	push_pat(pool, &h, 0, 30, 20, &sink);
	assert_stream_pat(&sink, 60);
	tcp_half_release(pool, &h);
	assert_int_equal(in_use(pool), 0);
	tcp_pool_free(pool);
}

/* The same bytes again: a retransmission, nothing delivered twice. */
static void
test_retrans_same(void **state)
{
	struct tcp_pool *pool = tcp_pool_new(8);
	struct tcp_half h;
	int r;

	(void)state;
	tcp_half_init(&h, 100);
	r = tcp_reasm_push(pool, &h, 100, (const uint8_t *)"hello", 5, deliver, &sink);
	assert_true(r & TCP_R_DELIVERED);
	r = tcp_reasm_push(pool, &h, 100, (const uint8_t *)"hello", 5, deliver, &sink);
	assert_true(r & TCP_R_RETRANS);
	assert_false(r & (TCP_R_CONFLICT | TCP_R_DELIVERED | TCP_R_LIMIT));
	r = tcp_reasm_push(pool, &h, 102, (const uint8_t *)"ll", 2, deliver, &sink);
	assert_true(r & TCP_R_RETRANS);
	assert_false(r & (TCP_R_CONFLICT | TCP_R_DELIVERED));
	assert_int_equal(sink.len, 5);
	assert_memory_equal(sink.buf, "hello", 5);
	tcp_half_release(pool, &h);
	assert_int_equal(in_use(pool), 0);
	tcp_pool_free(pool);
}

/* Different bytes again: conflict, the first copy stays delivered. */
static void
test_retrans_conflict(void **state)
{
	struct tcp_pool *pool = tcp_pool_new(8);
	struct tcp_half h;
	int r;

	(void)state;
	tcp_half_init(&h, 100);
	tcp_reasm_push(pool, &h, 100, (const uint8_t *)"250 STARTTLS\r\n", 14, deliver, &sink);
	r = tcp_reasm_push(pool, &h, 100, (const uint8_t *)"250 XXXXXXXX\r\n", 14, deliver, &sink);
	assert_true(r & TCP_R_RETRANS);
	assert_true(r & TCP_R_CONFLICT);
	assert_false(r & TCP_R_DELIVERED);
	assert_int_equal(sink.len, 14);
	assert_memory_equal(sink.buf, "250 STARTTLS\r\n", 14);
	/* a single differing byte in the middle of an earlier push */
	r = tcp_reasm_push(pool, &h, 107, (const uint8_t *)"R", 1, deliver, &sink);
	assert_true(r & TCP_R_RETRANS);
	assert_false(r & TCP_R_CONFLICT);
	r = tcp_reasm_push(pool, &h, 107, (const uint8_t *)"Z", 1, deliver, &sink);
	assert_true(r & TCP_R_CONFLICT);
	assert_int_equal(sink.len, 14);
	tcp_half_release(pool, &h);
	assert_int_equal(in_use(pool), 0);
	tcp_pool_free(pool);
}

/* History spans pushes: a retransmission across two earlier segments. */
static void
test_retrans_across_pushes(void **state)
{
	struct tcp_pool *pool = tcp_pool_new(8);
	struct tcp_half h;
	int r;

	(void)state;
	tcp_half_init(&h, 0);
	tcp_reasm_push(pool, &h, 0, (const uint8_t *)"abc", 3, deliver, &sink);
	tcp_reasm_push(pool, &h, 3, (const uint8_t *)"def", 3, deliver, &sink);
	r = tcp_reasm_push(pool, &h, 1, (const uint8_t *)"bcde", 4, deliver, &sink);
	assert_true(r & TCP_R_RETRANS);
	assert_false(r & TCP_R_CONFLICT);
	r = tcp_reasm_push(pool, &h, 1, (const uint8_t *)"bcdE", 4, deliver, &sink);
	assert_true(r & TCP_R_CONFLICT);
	assert_int_equal(sink.len, 6);
	assert_memory_equal(sink.buf, "abcdef", 6);
	tcp_half_release(pool, &h);
	tcp_pool_free(pool);
}

/* Old bytes plus new ones: the new part is delivered, the old compared. */
static void
test_retrans_partial_new(void **state)
{
	struct tcp_pool *pool = tcp_pool_new(8);
	struct tcp_half h;
	int r;

	(void)state;
	tcp_half_init(&h, 0);
	tcp_reasm_push(pool, &h, 0, (const uint8_t *)"hello", 5, deliver, &sink);
	r = tcp_reasm_push(pool, &h, 3, (const uint8_t *)"lo wor", 6, deliver, &sink);
	assert_true(r & TCP_R_RETRANS);
	assert_true(r & TCP_R_DELIVERED);
	assert_false(r & TCP_R_CONFLICT);
	r = tcp_reasm_push(pool, &h, 7, (const uint8_t *)"RLD", 3, deliver, &sink);
	assert_true(r & TCP_R_RETRANS);
	assert_true(r & TCP_R_CONFLICT);
	assert_true(r & TCP_R_DELIVERED);
	assert_int_equal(sink.len, 10);
	assert_memory_equal(sink.buf, "hello worD", 10);
	assert_int_equal(h.next_seq, 10);
	tcp_half_release(pool, &h);
	assert_int_equal(in_use(pool), 0);
	tcp_pool_free(pool);
}

/* Beyond the remembered window: ignored as old, no false conflict. */
static void
test_retrans_old(void **state)
{
	struct tcp_pool *pool = tcp_pool_new(8);
	struct tcp_half h;
	uint8_t junk[100];
	int r;

	(void)state;
	tcp_half_init(&h, 0);
	push_pat(pool, &h, 0, 0, 1500, &sink);
	push_pat(pool, &h, 0, 1500, 1500, &sink);
	assert_stream_pat(&sink, 3000);
	memset(junk, '#', sizeof(junk));
	r = tcp_reasm_push(pool, &h, 0, junk, sizeof(junk), deliver, &sink);
	assert_true(r & TCP_R_OLD);
	assert_false(r & (TCP_R_CONFLICT | TCP_R_DELIVERED));
	/* within the last TCP_HIST_MAX bytes a difference is still caught */
	r = tcp_reasm_push(pool, &h, 3000 - 100, junk, sizeof(junk), deliver, &sink);
	assert_true(r & TCP_R_CONFLICT);
	assert_false(r & TCP_R_OLD);
	r = push_pat(pool, &h, 0, 3000 - TCP_HIST_MAX, 100, &sink);
	assert_true(r & TCP_R_RETRANS);
	assert_false(r & TCP_R_CONFLICT);
	assert_stream_pat(&sink, 3000);
	tcp_half_release(pool, &h);
	assert_int_equal(in_use(pool), 0);
	tcp_pool_free(pool);
}

/*
 * Overlaps with a buffered out-of-order segment [10,20): a second segment
 * [s,e) with the same or different bytes, then the hole [0, min(s,10)) is
 * filled. Bytes of the buffered segment win; the second segment's bytes
 * outside it are new data and count.
 */
struct overlap_case {
	const char *what;
	size_t s, e;
};

static const struct overlap_case overlaps[] = {
	{ "starts before, ends inside", 5, 15 },
	{ "starts before, same end", 5, 20 },
	{ "same start, shorter", 10, 15 },
	{ "same start and end", 10, 20 },
	{ "same start, longer", 10, 25 },
	{ "contains", 5, 25 },
	{ "inside", 12, 18 },
	{ "starts inside, ends after", 15, 25 },
};

static void
run_overlap(const struct overlap_case *c, int differ)
{
	struct tcp_pool *pool = tcp_pool_new(16);
	struct tcp_half h;
	uint8_t seg[64], want[64];
	size_t fill_end = c->s < 10 ? c->s : 10, end = c->e > 20 ? c->e : 20;
	int r;

	memset(&sink, 0, sizeof(sink));
	tcp_half_init(&h, 7777);
	r = push_pat(pool, &h, 7777, 10, 10, &sink);
	assert_true(r & TCP_R_OOO);

	fill(seg, c->s, c->e - c->s);
	if (differ)
		for (size_t i = 0; i < c->e - c->s; i++)
			seg[i] = (uint8_t)(seg[i] ^ 0x20); /* swap case */
	r = tcp_reasm_push(pool, &h, 7777 + (uint32_t)c->s, seg, (uint32_t)(c->e - c->s),
	    deliver, &sink);
	if (!!(r & TCP_R_CONFLICT) != differ || !(r & TCP_R_RETRANS) ||
	    (r & (TCP_R_DELIVERED | TCP_R_LIMIT)))
		fail_msg("overlap '%s' %s bytes: push returned 0x%x", c->what,
		    differ ? "different" : "same", (unsigned)r);

	r = push_pat(pool, &h, 7777, 0, fill_end, &sink);
	assert_true(r & TCP_R_DELIVERED);
	assert_false(r & TCP_R_CONFLICT);

	fill(want, 0, end);
	for (size_t i = c->s; i < c->e; i++)
		if ((i < 10 || i >= 20) && differ)
			want[i] = (uint8_t)(want[i] ^ 0x20);
	if (sink.len != end || memcmp(sink.buf, want, end) != 0)
		fail_msg("overlap '%s' %s bytes: delivered '%.*s', want '%.*s'", c->what,
		    differ ? "different" : "same", (int)sink.len, sink.buf, (int)end, want);
	assert_int_equal(h.next_seq, 7777 + end);
	tcp_half_release(pool, &h);
	assert_int_equal(in_use(pool), 0);
	tcp_pool_free(pool);
}

static void
test_overlap_ooo_same(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(overlaps) / sizeof(overlaps[0]); i++)
		run_overlap(&overlaps[i], 0);
}

static void
test_overlap_ooo_different(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(overlaps) / sizeof(overlaps[0]); i++)
		run_overlap(&overlaps[i], 1);
}

/* Adjacent to a buffered segment is not an overlap. */
static void
test_adjacent_not_overlap(void **state)
{
	struct tcp_pool *pool = tcp_pool_new(8);
	struct tcp_half h;
	int r;

	(void)state;
	tcp_half_init(&h, 0);
	push_pat(pool, &h, 0, 10, 10, &sink);
	r = push_pat(pool, &h, 0, 20, 5, &sink);
	assert_true(r & TCP_R_OOO);
	assert_false(r & (TCP_R_RETRANS | TCP_R_CONFLICT));
	r = push_pat(pool, &h, 0, 5, 5, &sink);
	assert_true(r & TCP_R_OOO);
	assert_false(r & (TCP_R_RETRANS | TCP_R_CONFLICT));
	push_pat(pool, &h, 0, 0, 5, &sink);
	assert_stream_pat(&sink, 25);
	tcp_half_release(pool, &h);
	assert_int_equal(in_use(pool), 0);
	tcp_pool_free(pool);
}

/* An in-order segment running into buffered data: buffered bytes came first. */
static void
test_in_order_overlapping_buffered(void **state)
{
	struct tcp_pool *pool = tcp_pool_new(8);
	struct tcp_half h;
	uint8_t seg[15], want[20];
	int r;

	(void)state;
	tcp_half_init(&h, 0);
	push_pat(pool, &h, 0, 10, 10, &sink);   /* [10,20) buffered */
	fill(seg, 0, 15);
	for (size_t i = 10; i < 15; i++)
		seg[i] = '#';
	r = tcp_reasm_push(pool, &h, 0, seg, 15, deliver, &sink);
	assert_true(r & TCP_R_DELIVERED);
	assert_true(r & TCP_R_CONFLICT);
	fill(want, 0, 20);
	assert_int_equal(sink.len, 20);
	assert_memory_equal(sink.buf, want, 20);
	tcp_half_release(pool, &h);
	assert_int_equal(in_use(pool), 0);
	tcp_pool_free(pool);
}

/* More than TCP_OOO_MAX chunks ahead of a hole: the excess is lost, reported. */
static void
test_ooo_limit(void **state)
{
	struct tcp_pool *pool = tcp_pool_new(64);
	struct tcp_half h;
	const size_t seg = 1200, gap = 1300; /* > half a chunk: one chunk each */
	int r;

	(void)state;
	tcp_half_init(&h, 42);
	for (size_t k = 1; k <= TCP_OOO_MAX; k++) {
		r = push_pat(pool, &h, 42, k * gap, seg, &sink);
		if (!(r & TCP_R_OOO) || (r & TCP_R_LIMIT))
			fail_msg("out-of-order segment %zu of %d: 0x%x", k, TCP_OOO_MAX, (unsigned)r);
	}
	assert_int_equal(h.ooo_n, TCP_OOO_MAX);
	r = push_pat(pool, &h, 42, (TCP_OOO_MAX + 1) * gap, seg, &sink);
	assert_true(r & TCP_R_LIMIT);
	assert_int_equal(h.ooo_n, TCP_OOO_MAX);
	assert_int_equal(sink.len, 0);

	/* fill every hole up to the lost segment: all the kept data arrives */
	push_pat(pool, &h, 42, 0, gap, &sink);
	for (size_t k = 1; k < TCP_OOO_MAX; k++)
		push_pat(pool, &h, 42, k * gap + seg, gap - seg, &sink);
	assert_stream_pat(&sink, TCP_OOO_MAX * gap + seg);
	assert_int_equal(h.ooo_n, 0);
	/* the lost segment's place is a hole again until it is resent */
	push_pat(pool, &h, 42, TCP_OOO_MAX * gap + seg, gap - seg, &sink);
	assert_stream_pat(&sink, (TCP_OOO_MAX + 1) * gap);
	r = push_pat(pool, &h, 42, (TCP_OOO_MAX + 1) * gap, seg, &sink);
	assert_true(r & TCP_R_DELIVERED);
	assert_stream_pat(&sink, (TCP_OOO_MAX + 1) * gap + seg);
	tcp_half_release(pool, &h);
	assert_int_equal(in_use(pool), 0);
	tcp_pool_free(pool);
}

/* A tiny pool runs dry: reported as a limit, never fatal, recovered on release. */
static void
test_pool_exhausted(void **state)
{
	struct tcp_pool *pool = tcp_pool_new(3);
	struct tcp_pool_stats st;
	struct tcp_half h, h2;
	struct sink other;
	int r = 0, pushes = 0;

	(void)state;
	tcp_pool_get_stats(pool, &st);
	assert_int_equal(st.chunks, 3);
	assert_int_equal(st.in_use, 0);
	assert_int_equal(st.exhausted, 0);

	tcp_half_init(&h, 0);
	push_pat(pool, &h, 0, 0, 100, &sink);            /* may borrow history */
	for (size_t k = 1; k <= 8 && !(r & TCP_R_LIMIT); k++) {
		r = push_pat(pool, &h, 0, k * 1300, 1200, &sink);
		pushes++;
	}
	assert_true(r & TCP_R_LIMIT);
	assert_true(pushes <= 4);
	tcp_pool_get_stats(pool, &st);
	assert_true(st.exhausted >= 1);
	assert_int_equal(st.in_use, 3);

	/* another direction still gets its in-order bytes through */
	memset(&other, 0, sizeof(other));
	tcp_half_init(&h2, 9);
	r = tcp_reasm_push(pool, &h2, 9, (const uint8_t *)"220 ok\r\n", 8, deliver, &other);
	assert_true(r & TCP_R_DELIVERED);
	assert_int_equal(other.len, 8);
	assert_memory_equal(other.buf, "220 ok\r\n", 8);

	tcp_half_release(pool, &h);
	tcp_half_release(pool, &h2);
	tcp_pool_get_stats(pool, &st);
	assert_int_equal(st.in_use, 0);
	assert_int_equal(st.chunks, 3);

	/* chunks came back: buffering works again */
	tcp_half_init(&h, 0);
	r = push_pat(pool, &h, 0, 1300, 1200, &sink);
	assert_true(r & TCP_R_OOO);
	assert_false(r & TCP_R_LIMIT);
	tcp_half_release(pool, &h);
	assert_int_equal(in_use(pool), 0);
	tcp_pool_free(pool);
}

/* Sequence numbers wrap at 2^32. */
static void
test_wraparound(void **state)
{
	struct tcp_pool *pool = tcp_pool_new(8);
	struct tcp_half h;
	const uint32_t isn = 0xFFFFFFF0u;
	int r;

	(void)state;
	assert_true(tcp_seq_lt(0xFFFFFFFFu, 0));
	assert_false(tcp_seq_lt(0, 0xFFFFFFFFu));
	assert_true(tcp_seq_lt(0x7FFFFFF0u, 0x80000010u));
	assert_false(tcp_seq_lt(5, 5));

	tcp_half_init(&h, isn);
	r = push_pat(pool, &h, isn, 0, 10, &sink);       /* up to 0xFFFFFFFA */
	assert_true(r & TCP_R_DELIVERED);
	r = push_pat(pool, &h, isn, 20, 12, &sink);      /* 0x00000004.. ahead */
	assert_true(r & TCP_R_OOO);
	assert_false(r & (TCP_R_OLD | TCP_R_RETRANS));
	r = push_pat(pool, &h, isn, 10, 10, &sink);      /* crosses zero */
	assert_true(r & TCP_R_DELIVERED);
	assert_stream_pat(&sink, 32);
	assert_int_equal(h.next_seq, 0x10);
	/* a retransmission across zero with a changed byte */
	r = tcp_reasm_push(pool, &h, 0xFFFFFFFEu, (const uint8_t *)"####", 4, deliver, &sink);
	assert_true(r & TCP_R_RETRANS);
	assert_true(r & TCP_R_CONFLICT);
	r = push_pat(pool, &h, isn, 14, 4, &sink);
	assert_true(r & TCP_R_RETRANS);
	assert_false(r & TCP_R_CONFLICT);
	assert_stream_pat(&sink, 32);
	tcp_half_release(pool, &h);
	assert_int_equal(in_use(pool), 0);
	tcp_pool_free(pool);
}

/* Release gives every chunk back and stops history. */
static void
test_release_all(void **state)
{
	struct tcp_pool *pool = tcp_pool_new(16);
	struct tcp_half h;

	(void)state;
	tcp_half_init(&h, 0);
	push_pat(pool, &h, 0, 0, 100, &sink);
	push_pat(pool, &h, 0, 1000, 1200, &sink);
	push_pat(pool, &h, 0, 3000, 1200, &sink);
	push_pat(pool, &h, 0, 5000, 1200, &sink);
	assert_true(in_use(pool) >= 3);
	tcp_half_release(pool, &h);
	assert_int_equal(in_use(pool), 0);
	assert_int_equal(h.ooo_n, 0);
	assert_int_equal(h.ooo, 0);
	assert_int_equal(h.hist, 0);
	assert_int_equal(h.next_seq, 100);
	/* later pushes borrow nothing */
	push_pat(pool, &h, 0, 100, 100, &sink);
	assert_int_equal(in_use(pool), 0);
	tcp_half_release(pool, &h);           /* twice is harmless */
	assert_int_equal(in_use(pool), 0);
	/* a half that never held anything */
	tcp_half_init(&h, 1);
	tcp_half_release(pool, &h);
	assert_int_equal(in_use(pool), 0);
	tcp_pool_free(pool);
}

/* A callback that says "decided" stops delivery of the rest. */
static void
test_deliver_stop(void **state)
{
	struct tcp_pool *pool = tcp_pool_new(8);
	struct tcp_half h;
	int r;

	(void)state;
	tcp_half_init(&h, 0);
	push_pat(pool, &h, 0, 10, 1200, &sink);
	push_pat(pool, &h, 0, 1210, 1200, &sink);
	sink.stop_after = 1;
	r = push_pat(pool, &h, 0, 0, 10, &sink);
	assert_true(r & TCP_R_DELIVERED);
	assert_int_equal(sink.calls, 1);
	assert_true(sink.len >= 10);
	tcp_half_release(pool, &h);
	assert_int_equal(in_use(pool), 0);
	tcp_pool_free(pool);
}

/* Inline normalization: a retransmission with other bytes is given the
 * first copy's, from history and from buffered chunks alike. */
static void
test_first_copy_rewrites(void **state)
{
	struct tcp_pool *pool = tcp_pool_new(8);
	struct tcp_half h;
	uint8_t seg[32];
	int r;

	(void)state;
	tcp_half_init(&h, 100);
	tcp_reasm_push(pool, &h, 100, (const uint8_t *)"250 STARTTLS\r\n", 14, deliver, &sink);
	/* buffered ahead of a hole: [120, 126) */
	tcp_reasm_push(pool, &h, 120, (const uint8_t *)"QUIT\r\n", 6, deliver, &sink);
	/* [110, 124): 4 delivered bytes, 6 in the hole, 4 over the chunk */
	memcpy(seg, "LS\r\nEHLO xQUXX", 14);
	assert_int_equal(tcp_reasm_first_copy(pool, &h, 110, seg, 14), 2);
	assert_memory_equal(seg, "LS\r\nEHLO xQUIT", 14);
	r = tcp_reasm_push(pool, &h, 110, seg, 14, deliver, &sink);
	assert_false(r & TCP_R_CONFLICT);
	/* same bytes: nothing to change */
	memcpy(seg, "250 STARTTLS", 12);
	assert_int_equal(tcp_reasm_first_copy(pool, &h, 100, seg, 12), 0);
	/* a segment below what history remembers is left alone */
	assert_int_equal(tcp_reasm_first_copy(pool, &h, 50, seg, 10), 0);
	tcp_half_release(pool, &h);
	tcp_pool_free(pool);
}

/* A skipped (urgent) byte is remembered as delivered, not as stale ring. */
static void
test_skip_remembered(void **state)
{
	struct tcp_pool *pool = tcp_pool_new(8);
	struct tcp_half h;
	uint8_t seg[8];

	(void)state;
	tcp_half_init(&h, 1);
	tcp_reasm_push(pool, &h, 1, (const uint8_t *)"STA", 3, deliver, &sink);
	tcp_half_skip(pool, &h, (const uint8_t *)"!", 1);
	tcp_reasm_push(pool, &h, 5, (const uint8_t *)"RTTLS", 5, deliver, &sink);
	assert_int_equal(sink.len, 8);
	memcpy(seg, "STA!RTTL", 8);
	assert_int_equal(tcp_reasm_first_copy(pool, &h, 1, seg, 8), 0);
	assert_false(tcp_reasm_push(pool, &h, 1, seg, 8, deliver, &sink) & TCP_R_CONFLICT);
	tcp_half_release(pool, &h);
	tcp_pool_free(pool);
}

/* The property inline mode rests on: push every segment normalized, in any
 * order, overlapping, with random bytes: then a receiver (whatever its own
 * overlap rule, as copies never disagree) holds exactly the stream that
 * was delivered, and no push reports a conflict. */
static void
test_first_copy_receiver_agrees(void **state)
{
	enum { LEN = 1200, SEGS = 12 };
	static uint8_t rcv[LEN], set[LEN], seg[LEN];
	uint32_t rnd = 12345, isn = 0xfffffd00u; /* wraps inside the stream */
	int limited_trials = 0;

	(void)state;
	for (int trial = 0; trial < 300; trial++) {
		struct tcp_pool *pool = tcp_pool_new(64);
		struct tcp_half h;
		int limited = 0;

		memset(&sink, 0, sizeof(sink));
		memset(set, 0, sizeof(set));
		tcp_half_init(&h, isn);
		for (int i = 0; i <= SEGS; i++) {
			uint32_t off, n;

			rnd = rnd * 1103515245u + 12345u;
			off = (rnd >> 8) % LEN;
			n = 1 + (rnd >> 3) % 200;
			if (i == SEGS) { /* at last the whole stream, to fill every hole */
				off = 0;
				n = LEN;
			}
			if (off + n > LEN)
				n = LEN - off;
			fill(seg, off, n);
			for (uint32_t j = 0; j < n; j++) { /* an attacker's bytes here and there */
				rnd = rnd * 1103515245u + 12345u;
				if ((rnd >> 16) % 4 == 0)
					seg[j] = (uint8_t)(rnd >> 24);
			}
			tcp_reasm_first_copy(pool, &h, isn + off, seg, n);
			for (uint32_t j = 0; j < n; j++) {
				if (set[off + j] && !limited) /* (a refused chunk is not remembered) */
					assert_int_equal(seg[j], rcv[off + j]);
				rcv[off + j] = seg[j];
				set[off + j] = 1;
			}
			int r = tcp_reasm_push(pool, &h, isn + off, seg, n, deliver, &sink);
			limited |= r & TCP_R_LIMIT;
			assert_false(r & TCP_R_CONFLICT);
		}
		limited_trials += limited != 0;
		if (!limited) {
			assert_int_equal(sink.len, LEN);
			assert_memory_equal(sink.buf, rcv, LEN);
		}
		tcp_half_release(pool, &h);
		tcp_pool_free(pool);
	}
	assert_true(limited_trials < 100); /* most trials check the whole stream */
}

/* No chunk for history: a later retransmission of those bytes is reported
 * unverified, never passed as merely old. So is one after the history was
 * taken back (tcp_half_drop_history). */
static void
test_history_lost_unverified(void **state)
{
	struct tcp_pool *pool = tcp_pool_new(1);
	struct tcp_half a, b;
	int r;

	(void)state;
	tcp_half_init(&a, 1);
	tcp_half_init(&b, 1);
	tcp_reasm_push(pool, &a, 1, (const uint8_t *)"220 a\r\n", 7, deliver, &sink);
	tcp_reasm_push(pool, &b, 1, (const uint8_t *)"220 b\r\n", 7, deliver, &sink);
	assert_int_equal(sink.len, 14); /* delivered all the same */
	r = tcp_reasm_push(pool, &b, 1, (const uint8_t *)"220 X\r\n", 7, deliver, &sink);
	assert_true(r & TCP_R_UNVERIFIED);
	assert_false(r & (TCP_R_OLD | TCP_R_CONFLICT));
	/* a keeps checking until its history is taken back */
	r = tcp_reasm_push(pool, &a, 1, (const uint8_t *)"220 X\r\n", 7, deliver, &sink);
	assert_true(r & TCP_R_CONFLICT);
	assert_int_equal(tcp_half_drop_history(pool, &a), 1);
	assert_int_equal(in_use(pool), 0);
	r = tcp_reasm_push(pool, &a, 1, (const uint8_t *)"220 X\r\n", 7, deliver, &sink);
	assert_true(r & TCP_R_UNVERIFIED);
	tcp_half_release(pool, &a);
	tcp_half_release(pool, &b);
	tcp_pool_free(pool);
}

/* Held (unverified) bytes: never delivered on their own; a verified copy
 * wins over them in either order; the receiver's ACK takes them, only up
 * to what it acknowledges, and never for an ACK of bytes never seen. */
static void
test_held_verified_wins(void **state)
{
	struct tcp_pool *pool = tcp_pool_new(16);
	struct tcp_half h;
	struct tcp_held hd = { 0, 0 };
	const uint32_t isn = 1000;
	int r;

	(void)state;
	tcp_half_init(&h, isn);
	/* a forged copy first (held), then the real one: the real one wins */
	r = tcp_held_add(pool, &hd, &h, isn, (const uint8_t *)"250-STARTTLS\r\n", 14);
	assert_true(r & TCP_R_OOO);
	assert_int_equal(sink.len, 0);
	tcp_held_drop(pool, &hd, isn, 14);
	r = tcp_reasm_push(pool, &h, isn, (const uint8_t *)"250-XXXXXXXX\r\n", 14, deliver, &sink);
	assert_false(r & TCP_R_CONFLICT);
	assert_int_equal(hd.n, 0);
	/* the ACK takes nothing now */
	assert_int_equal(tcp_held_take(pool, &hd, &h, isn + 14, deliver, &sink), 0);
	assert_int_equal(sink.len, 14);
	assert_memory_equal(sink.buf, "250-XXXXXXXX\r\n", 14);
	/* a wrong-checksum copy of delivered bytes is not even held */
	assert_int_equal(tcp_held_add(pool, &hd, &h, isn, (const uint8_t *)"250-STARTTLS", 12),
	    TCP_R_OLD);
	assert_false(h.flags & TCP_HALF_UNVERIFIED);
	tcp_half_release(pool, &h);
	tcp_held_release(pool, &hd);
	assert_int_equal(in_use(pool), 0);
	tcp_pool_free(pool);
}

static void
test_held_taken_by_ack(void **state)
{
	struct tcp_pool *pool = tcp_pool_new(16);
	struct tcp_half h;
	struct tcp_held hd = { 0, 0 };
	static uint8_t b[3000];
	const uint32_t isn = 0xfffffc00u; /* wraps inside the GRO-sized segment */
	int r;

	(void)state;
	tcp_half_init(&h, isn);
	fill(b, 0, sizeof(b));
	/* one GRO-merged segment (two chunks) held */
	r = tcp_held_add(pool, &hd, &h, isn, b, 2896);
	assert_true(r & TCP_R_OOO);
	assert_int_equal(hd.n, 2);
	/* an ACK of bytes never seen takes nothing */
	assert_int_equal(tcp_held_take(pool, &hd, &h, isn + 2897, deliver, &sink), 0);
	assert_int_equal(sink.len, 0);
	/* the receiver acknowledges the first 1448: only those are taken */
	r = tcp_held_take(pool, &hd, &h, isn + 1448, deliver, &sink);
	assert_true(r & TCP_R_DELIVERED);
	assert_stream_pat(&sink, 1448);
	assert_true(h.flags & TCP_HALF_UNVERIFIED);
	/* a verified segment covering the middle of what is held wins there */
	r = push_pat(pool, &h, isn, 1448, 100, &sink);
	assert_true(r & TCP_R_DELIVERED);
	tcp_held_drop(pool, &hd, isn + 1448, 100);
	/* a held copy that differs from the held one: first kept, conflict */
	b[2000] ^= 1;
	r = tcp_held_add(pool, &hd, &h, isn + 1900, b + 1900, 200);
	assert_true(r & TCP_R_CONFLICT);
	b[2000] ^= 1;
	r = tcp_held_take(pool, &hd, &h, isn + 2896, deliver, &sink);
	assert_true(r & TCP_R_DELIVERED);
	assert_stream_pat(&sink, 2896);
	assert_int_equal(hd.n, 0);
	/* an old retransmission below the remembered bytes: unverified now */
	r = push_pat(pool, &h, isn, 0, 10, &sink);
	assert_true(r & TCP_R_UNVERIFIED);
	tcp_half_release(pool, &h);
	assert_int_equal(in_use(pool), 0);
	tcp_pool_free(pool);
}

/* Held bytes skip what is buffered out of order (verified copies), split
 * around a verified copy in their middle, and stop at TCP_OOO_MAX. */
static void
test_held_gaps_and_limit(void **state)
{
	struct tcp_pool *pool = tcp_pool_new(64);
	struct tcp_half h;
	struct tcp_held hd = { 0, 0 };
	static uint8_t b[40000];
	const uint32_t isn = 5;
	int r;

	(void)state;
	tcp_half_init(&h, isn);
	fill(b, 0, sizeof(b));
	r = push_pat(pool, &h, isn, 10, 5, &sink);   /* verified, out of order */
	assert_true(r & TCP_R_OOO);
	b[12] = '!';                                 /* the held copy differs there */
	r = tcp_held_add(pool, &hd, &h, isn, b, 30); /* held: [0,10) and [15,30) */
	assert_false(r & TCP_R_CONFLICT);
	assert_int_equal(hd.n, 2);
	tcp_held_drop(pool, &hd, isn + 20, 3);       /* split [15,30) around [20,23) */
	assert_int_equal(hd.n, 3);
	r = push_pat(pool, &h, isn, 20, 3, &sink);
	r = tcp_held_take(pool, &hd, &h, isn + 30, deliver, &sink);
	assert_true(r & TCP_R_DELIVERED);
	assert_stream_pat(&sink, 30);                /* the verified byte 12 kept */
	tcp_half_release(pool, &h);
	tcp_held_release(pool, &hd);
	tcp_half_init(&h, isn);
	r = tcp_held_add(pool, &hd, &h, isn, b, sizeof(b));
	assert_true(r & TCP_R_LIMIT);
	assert_int_equal(hd.n, TCP_OOO_MAX);
	tcp_held_release(pool, &hd);
	tcp_half_release(pool, &h);
	assert_int_equal(in_use(pool), 0);
	tcp_pool_free(pool);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_in_order_no_copy, setup),
		cmocka_unit_test_setup(test_ooo_buffer_and_drain, setup),
		cmocka_unit_test_setup(test_ooo_two_holes, setup),
		cmocka_unit_test_setup(test_retrans_same, setup),
		cmocka_unit_test_setup(test_retrans_conflict, setup),
		cmocka_unit_test_setup(test_retrans_across_pushes, setup),
		cmocka_unit_test_setup(test_retrans_partial_new, setup),
		cmocka_unit_test_setup(test_retrans_old, setup),
		cmocka_unit_test_setup(test_overlap_ooo_same, setup),
		cmocka_unit_test_setup(test_overlap_ooo_different, setup),
		cmocka_unit_test_setup(test_adjacent_not_overlap, setup),
		cmocka_unit_test_setup(test_in_order_overlapping_buffered, setup),
		cmocka_unit_test_setup(test_ooo_limit, setup),
		cmocka_unit_test_setup(test_pool_exhausted, setup),
		cmocka_unit_test_setup(test_wraparound, setup),
		cmocka_unit_test_setup(test_release_all, setup),
		cmocka_unit_test_setup(test_deliver_stop, setup),
		cmocka_unit_test_setup(test_first_copy_rewrites, setup),
		cmocka_unit_test_setup(test_skip_remembered, setup),
		cmocka_unit_test_setup(test_first_copy_receiver_agrees, setup),
		cmocka_unit_test_setup(test_history_lost_unverified, setup),
		cmocka_unit_test_setup(test_held_verified_wins, setup),
		cmocka_unit_test_setup(test_held_taken_by_ack, setup),
		cmocka_unit_test_setup(test_held_gaps_and_limit, setup),
	};

	return cmocka_run_group_tests_name("tcp_reasm", tests, NULL, NULL);
}
