/*
 * test_flow.c - the bounded flow table: lookup both ways, LRU, limits, stats.
 *
 * Packets are built by hand (struct pkt: af, src, dst, sport, dport), so
 * these tests need no decoder. They check what flow.h promises: a flow is
 * found from either direction with the right dir, IPv4 and IPv6 never mix,
 * a full table refuses to create, the LRU order follows flow_touch(), and
 * removed slots are reused clean. And the memory of lost connections
 * (flow_lost.h): found once, bounded, what matters kept over a flood.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "inspect/flow.h"
#include "inspect/flow_lost.h"

/* A packet from src:sport to dst:dport; addresses in text. */
static struct pkt
mkpkt(int af, const char *src, uint16_t sport, const char *dst, uint16_t dport)
{
	struct pkt p;

	memset(&p, 0, sizeof(p));
	p.af = (uint8_t)af;
	p.proto = 6;
	p.sport = sport;
	p.dport = dport;
	assert_int_equal(inet_pton(af == 4 ? AF_INET : AF_INET6, src, p.src.a), 1);
	assert_int_equal(inet_pton(af == 4 ? AF_INET : AF_INET6, dst, p.dst.a), 1);
	return p;
}

/* The same packet, answered. */
static struct pkt
reverse(const struct pkt *p)
{
	struct pkt r = *p;

	r.src = p->dst;
	r.dst = p->src;
	r.sport = p->dport;
	r.dport = p->sport;
	return r;
}

/* Look p up and demand flow f in direction dir. */
static void
expect_flow(struct flow_table *t, const struct pkt *p, const struct flow *f, int dir)
{
	int d = -1;
	struct flow *got = flow_lookup(t, p, &d);

	assert_ptr_equal(got, f);
	assert_int_equal(d, dir);
}

static void
expect_none(struct flow_table *t, const struct pkt *p)
{
	int d = -1;

	assert_null(flow_lookup(t, p, &d));
}

static void
test_create_lookup_v4(void **state)
{
	struct flow_table *t = flow_table_new(16, 0x1234);
	struct pkt p = mkpkt(4, "198.51.100.7", 41234, "203.0.113.25", 25);
	struct pkt r = reverse(&p);
	struct pkt q;
	struct flow_stats st;
	struct flow *f;

	(void)state;
	assert_non_null(t);
	expect_none(t, &p);
	expect_none(t, &r);
	f = flow_create(t, &p, 1500000);
	assert_non_null(f);
	assert_int_equal(f->key.af, 4);
	assert_memory_equal(f->key.caddr.a, p.src.a, 16);
	assert_memory_equal(f->key.saddr.a, p.dst.a, 16);
	assert_int_equal(f->key.cport, 41234);
	assert_int_equal(f->key.sport, 25);
	assert_int_equal(f->start_us, 1500000);
	assert_int_equal(f->last_sec, 1);
	assert_int_equal(f->pkts[0] + f->pkts[1] + f->bytes[0] + f->bytes[1], 0);
	assert_int_equal(f->flags, 0);
	assert_int_equal(f->ended, 0);

	expect_flow(t, &p, f, FLOW_TO_SERVER);
	expect_flow(t, &r, f, FLOW_TO_CLIENT);

	q = mkpkt(4, "198.51.100.7", 41235, "203.0.113.25", 25);     /* other client port */
	expect_none(t, &q);
	q = mkpkt(4, "198.51.100.7", 41234, "203.0.113.25", 587);    /* other server port */
	expect_none(t, &q);
	q = mkpkt(4, "198.51.100.8", 41234, "203.0.113.25", 25);     /* other client */
	expect_none(t, &q);
	q = mkpkt(4, "198.51.100.7", 25, "203.0.113.25", 41234);     /* ports swapped */
	expect_none(t, &q);
	q = mkpkt(4, "203.0.113.25", 41234, "198.51.100.7", 25);     /* addresses swapped */
	expect_none(t, &q);

	flow_table_get_stats(t, &st);
	assert_int_equal(st.capacity, 16);
	assert_int_equal(st.active, 1);
	assert_int_equal(st.created, 1);
	assert_int_equal(flow_table_full(t), 0);
	flow_table_free(t);
}

static void
test_create_lookup_v6(void **state)
{
	struct flow_table *t = flow_table_new(16, 99);
	struct pkt p6 = mkpkt(6, "2001:db8::7", 50000, "2001:db8:1::25", 25);
	struct pkt r6 = reverse(&p6);
	/* 32.1.13.184 is 20 01 0d b8: the same first bytes as 2001:db8:: */
	struct pkt p4 = mkpkt(4, "32.1.13.184", 50000, "32.1.13.184", 25);
	struct pkt p6z = mkpkt(6, "2001:db8::", 50000, "2001:db8::", 25);
	struct flow *f6, *f4, *f6z;

	(void)state;
	f6 = flow_create(t, &p6, 10);
	assert_non_null(f6);
	assert_int_equal(f6->key.af, 6);
	assert_memory_equal(f6->key.caddr.a, p6.src.a, 16);
	assert_memory_equal(f6->key.saddr.a, p6.dst.a, 16);
	expect_flow(t, &p6, f6, FLOW_TO_SERVER);
	expect_flow(t, &r6, f6, FLOW_TO_CLIENT);

	/* IPv4 and IPv6 with identical address bytes are different flows */
	f6z = flow_create(t, &p6z, 20);
	assert_non_null(f6z);
	expect_none(t, &p4);
	f4 = flow_create(t, &p4, 30);
	assert_non_null(f4);
	assert_ptr_not_equal(f4, f6z);
	expect_flow(t, &p4, f4, FLOW_TO_SERVER);
	expect_flow(t, &p6z, f6z, FLOW_TO_SERVER);
	{
		struct pkt r4 = reverse(&p4), r6z = reverse(&p6z);

		expect_flow(t, &r4, f4, FLOW_TO_CLIENT);
		expect_flow(t, &r6z, f6z, FLOW_TO_CLIENT);
	}
	flow_remove(t, f6z, FLOW_REMOVE_ENDED);
	expect_none(t, &p6z);
	expect_flow(t, &p4, f4, FLOW_TO_SERVER);
	flow_table_free(t);
}

/* A full table refuses; removing the oldest makes room. */
static void
test_full_table(void **state)
{
	struct flow_table *t = flow_table_new(4, 7);
	struct flow *f[4], *g;
	struct pkt p[5];
	struct flow_stats st;
	char ip[32];

	(void)state;
	for (int i = 0; i < 5; i++) {
		snprintf(ip, sizeof(ip), "10.0.0.%d", i + 1);
		p[i] = mkpkt(4, ip, (uint16_t)(40000 + i), "192.0.2.25", 25);
	}
	for (int i = 0; i < 4; i++) {
		assert_int_equal(flow_table_full(t), 0);
		f[i] = flow_create(t, &p[i], (uint64_t)(i + 1) * 1000000);
		assert_non_null(f[i]);
	}
	assert_int_equal(flow_table_full(t), 1);
	assert_null(flow_create(t, &p[4], 9000000));
	expect_none(t, &p[4]);
	flow_table_get_stats(t, &st);
	assert_int_equal(st.active, 4);
	assert_int_equal(st.created, 4);
	for (int i = 0; i < 4; i++)
		expect_flow(t, &p[i], f[i], FLOW_TO_SERVER);

	g = flow_oldest(t);
	assert_ptr_equal(g, f[0]);
	flow_remove(t, g, FLOW_REMOVE_EVICTED);
	assert_int_equal(flow_table_full(t), 0);
	expect_none(t, &p[0]);
	g = flow_create(t, &p[4], 9000000);
	assert_non_null(g);
	expect_flow(t, &p[4], g, FLOW_TO_SERVER);
	for (int i = 1; i < 4; i++)
		expect_flow(t, &p[i], f[i], FLOW_TO_SERVER);
	assert_ptr_equal(flow_oldest(t), f[1]);
	flow_table_get_stats(t, &st);
	assert_int_equal(st.active, 4);
	assert_int_equal(st.created, 5);
	assert_int_equal(st.evicted, 1);
	assert_int_equal(st.expired, 0);
	assert_int_equal(st.removed, 0);
	flow_table_free(t);
}

/* Walk callback: record the order. */
struct order {
	struct flow *seen[16];
	int n;
};

static void
walk_fn(void *ctx, struct flow *f)
{
	struct order *o = ctx;

	assert_true(o->n < 16);
	o->seen[o->n++] = f;
}

/* LRU order: creation, then flow_touch moves a flow to the newest end. */
static void
test_oldest_and_touch(void **state)
{
	struct flow_table *t = flow_table_new(8, 1);
	struct pkt pa = mkpkt(4, "10.1.0.1", 1111, "192.0.2.1", 25);
	struct pkt pb = mkpkt(4, "10.1.0.2", 2222, "192.0.2.1", 25);
	struct pkt pc = mkpkt(6, "2001:db8::3", 3333, "2001:db8::25", 25);
	struct flow *a, *b, *c;
	struct order o;
	struct flow_stats st;

	(void)state;
	assert_null(flow_oldest(t));
	a = flow_create(t, &pa, 1000000);
	b = flow_create(t, &pb, 2000000);
	c = flow_create(t, &pc, 3000000);
	assert_ptr_equal(flow_oldest(t), a);

	memset(&o, 0, sizeof(o));
	flow_table_walk(t, walk_fn, &o);
	assert_int_equal(o.n, 3);
	assert_ptr_equal(o.seen[0], a);
	assert_ptr_equal(o.seen[1], b);
	assert_ptr_equal(o.seen[2], c);

	flow_touch(t, a, 4500000);
	assert_int_equal(a->last_sec, 4);
	assert_int_equal(a->start_us, 1000000);
	assert_ptr_equal(flow_oldest(t), b);
	flow_touch(t, b, 5000000);
	assert_ptr_equal(flow_oldest(t), c);
	flow_touch(t, b, 5100000);             /* touching the newest keeps order */
	assert_ptr_equal(flow_oldest(t), c);

	memset(&o, 0, sizeof(o));
	flow_table_walk(t, walk_fn, &o);
	assert_int_equal(o.n, 3);
	assert_ptr_equal(o.seen[0], c);
	assert_ptr_equal(o.seen[1], a);
	assert_ptr_equal(o.seen[2], b);

	flow_remove(t, c, FLOW_REMOVE_ENDED);
	assert_ptr_equal(flow_oldest(t), a);
	flow_remove(t, a, FLOW_REMOVE_EXPIRED);
	assert_ptr_equal(flow_oldest(t), b);
	flow_touch(t, b, 6000000);
	assert_ptr_equal(flow_oldest(t), b);
	flow_remove(t, b, FLOW_REMOVE_EVICTED);
	assert_null(flow_oldest(t));

	memset(&o, 0, sizeof(o));
	flow_table_walk(t, walk_fn, &o);
	assert_int_equal(o.n, 0);

	flow_table_get_stats(t, &st);
	assert_int_equal(st.active, 0);
	assert_int_equal(st.created, 3);
	assert_int_equal(st.removed, 1);
	assert_int_equal(st.expired, 1);
	assert_int_equal(st.evicted, 1);
	flow_table_free(t);
}

/* A removed flow's slot comes back clean, with a new id. */
static void
test_remove_and_reuse(void **state)
{
	struct flow_table *t = flow_table_new(2, 5);
	struct pkt p = mkpkt(4, "10.2.0.1", 33333, "192.0.2.9", 25);
	struct pkt q = mkpkt(4, "10.2.0.2", 33334, "192.0.2.9", 25);
	struct flow *f, *g, *h;
	uint64_t id;

	(void)state;
	f = flow_create(t, &p, 100);
	g = flow_create(t, &q, 200);
	assert_non_null(f);
	assert_non_null(g);
	assert_true(f->id != g->id);
	id = f->id;
	f->pkts[0] = 7;
	f->bytes[1] = 1234;
	f->state = FLOW_ST_BLOCKED;
	f->flags = FLOW_F_REPORTED;
	f->ended = 3;
	f->smtp.phase = SMTP_PH_PLAIN;
	f->smtp.flags = 0xffff;
	f->half[0].next_seq = 99;
	flow_remove(t, f, FLOW_REMOVE_ENDED);
	expect_none(t, &p);
	expect_flow(t, &q, g, FLOW_TO_SERVER);

	h = flow_create(t, &p, 300);
	assert_non_null(h);
	assert_true(h->id != id);
	assert_true(h->id != g->id);
	assert_int_equal(h->start_us, 300);
	assert_int_equal(h->pkts[0], 0);
	assert_int_equal(h->bytes[1], 0);
	assert_int_equal(h->state, FLOW_ST_SYN);
	assert_int_equal(h->flags, 0);
	assert_int_equal(h->ended, 0);
	assert_int_equal(h->smtp.flags, 0);
	assert_int_equal(h->half[0].next_seq, 0);
	expect_flow(t, &p, h, FLOW_TO_SERVER);
	assert_ptr_equal(flow_oldest(t), g);

	/* remove the other, reuse twice more */
	flow_remove(t, g, FLOW_REMOVE_ENDED);
	g = flow_create(t, &q, 400);
	assert_non_null(g);
	expect_flow(t, &q, g, FLOW_TO_SERVER);
	expect_flow(t, &p, h, FLOW_TO_SERVER);
	assert_int_equal(flow_table_full(t), 1);
	flow_table_free(t);
}

#define MANY 3000

/* Many flows whose keys differ in a bit or two, and mirrored pairs. */
static void
test_many_flows(void **state)
{
	static struct pkt p[MANY];
	static struct flow *f[MANY];
	struct flow_table *t = flow_table_new(MANY, 0xdeadbeefcafef00dull);
	struct flow_stats st;
	char c[64], s[64];

	(void)state;
	assert_non_null(t);
	for (int i = 0; i < MANY; i++) {
		if (i % 3 == 2) {
			/* the mirror of flow i-1: server and client addresses swapped */
			p[i] = p[i - 1];
			p[i].src = p[i - 1].dst;
			p[i].dst = p[i - 1].src;
		} else if (i % 2 == 0) {
			snprintf(c, sizeof(c), "10.%d.%d.%d", i & 1, (i >> 8) & 255, i & 255);
			snprintf(s, sizeof(s), "192.0.2.%d", i % 4);
			p[i] = mkpkt(4, c, (uint16_t)(1024 + (i % 5)), s, 25);
		} else {
			snprintf(c, sizeof(c), "2001:db8::%x", i);
			snprintf(s, sizeof(s), "2001:db8:ffff::%x", i % 3);
			p[i] = mkpkt(6, c, (uint16_t)(1024 + (i % 5)), s, (uint16_t)(i % 2 ? 25 : 587));
		}
	}
	for (int i = 0; i < MANY; i++) {
		f[i] = flow_create(t, &p[i], (uint64_t)i);
		if (f[i] == NULL)
			fail_msg("flow %d not created", i);
	}
	assert_int_equal(flow_table_full(t), 1);
	for (int i = 0; i < MANY; i++) {
		struct pkt r = reverse(&p[i]);

		expect_flow(t, &p[i], f[i], FLOW_TO_SERVER);
		expect_flow(t, &r, f[i], FLOW_TO_CLIENT);
		for (int j = 0; j < i && i < 200; j++)
			assert_ptr_not_equal(f[i], f[j]);
	}
	for (int i = 1; i < MANY; i++)
		for (int j = i - 1; j >= 0 && j >= i - 50; j--)
			assert_true(f[i]->id != f[j]->id);
	assert_ptr_equal(flow_oldest(t), f[0]);

	/* drop every other flow; the rest stay findable */
	for (int i = 0; i < MANY; i += 2)
		flow_remove(t, f[i], FLOW_REMOVE_EXPIRED);
	for (int i = 0; i < MANY; i++) {
		struct pkt r = reverse(&p[i]);

		if (i % 2 == 0) {
			expect_none(t, &p[i]);
			expect_none(t, &r);
		} else {
			expect_flow(t, &p[i], f[i], FLOW_TO_SERVER);
			expect_flow(t, &r, f[i], FLOW_TO_CLIENT);
		}
	}
	assert_ptr_equal(flow_oldest(t), f[1]);
	flow_table_get_stats(t, &st);
	assert_int_equal(st.active, MANY / 2);
	assert_int_equal(st.expired, MANY / 2);

	/* and come back */
	for (int i = 0; i < MANY; i += 2) {
		f[i] = flow_create(t, &p[i], (uint64_t)(MANY + i));
		assert_non_null(f[i]);
	}
	for (int i = 0; i < MANY; i++)
		expect_flow(t, &p[i], f[i], FLOW_TO_SERVER);
	flow_table_get_stats(t, &st);
	assert_int_equal(st.active, MANY);
	assert_int_equal(st.created, MANY + MANY / 2);
	assert_int_equal(flow_table_full(t), 1);
	flow_table_free(t);
}

/* The same keys under different seeds behave the same. */
static void
test_seeds(void **state)
{
	uint64_t seeds[] = { 0, 1, ~0ull, 0x8000000000000000ull };

	(void)state;
	for (size_t k = 0; k < sizeof(seeds) / sizeof(seeds[0]); k++) {
		struct flow_table *t = flow_table_new(64, seeds[k]);
		struct flow *f[64];
		struct pkt p[64];

		for (int i = 0; i < 64; i++) {
			char c[32];

			snprintf(c, sizeof(c), "172.16.0.%d", i);
			p[i] = mkpkt(4, c, 5555, "192.0.2.77", 25);
			f[i] = flow_create(t, &p[i], 1);
			assert_non_null(f[i]);
		}
		for (int i = 0; i < 64; i++) {
			struct pkt r = reverse(&p[i]);

			expect_flow(t, &r, f[i], FLOW_TO_CLIENT);
		}
		flow_table_free(t);
	}
}

/* A lost-connection entry for client port cport at second sec. */
static struct flow_lost_entry
lost_entry(uint16_t cport, uint32_t sec, uint8_t flags)
{
	struct flow_lost_entry e;
	struct pkt p = mkpkt(4, "198.51.100.7", cport, "203.0.113.25", 25);

	memset(&e, 0, sizeof(e));
	e.key.af = 4;
	e.key.caddr = p.src;
	e.key.saddr = p.dst;
	e.key.cport = cport;
	e.key.sport = 25;
	e.sec = sec;
	e.why = FLOW_LOST_EVICTED;
	e.flags = flags;
	e.pol_ref = 7;
	return e;
}

/* Added, found once with what was stored, then forgotten; bounded: a
 * flood of entries nobody expects TLS from does not push out a kept one,
 * and the count never exceeds the capacity. */
static void
test_lost_memory(void **state)
{
	struct flow_lost *l = flow_lost_new(16, 42);
	struct flow_lost_entry e = lost_entry(40000, 5, FLOW_LOST_F_KEEP | FLOW_LOST_F_REPORTED), got;

	(void)state;
	assert_non_null(l);
	assert_null(flow_lost_new(0, 1));
	flow_lost_add(l, &e);
	assert_int_equal(flow_lost_count(l), 1);
	assert_int_equal(flow_lost_take(l, &e.key, &got), 1);
	assert_int_equal(got.pol_ref, 7);
	assert_int_equal(got.flags, FLOW_LOST_F_KEEP | FLOW_LOST_F_REPORTED);
	assert_int_equal(flow_lost_take(l, &e.key, &got), 0);
	assert_int_equal(flow_lost_count(l), 0);

	flow_lost_add(l, &e);
	for (uint16_t i = 0; i < 2000; i++) {
		struct flow_lost_entry f = lost_entry((uint16_t)(41000 + i), 100u + i, 0);
		flow_lost_add(l, &f);
		assert_true(flow_lost_count(l) <= 16);
	}
	assert_int_equal(flow_lost_take(l, &e.key, &got), 1);
	assert_int_equal(got.sec, 5);
	assert_true(flow_lost_bytes(l) >= 16 * sizeof(struct flow_lost_entry));
	flow_lost_free(l);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create_lookup_v4),
		cmocka_unit_test(test_create_lookup_v6),
		cmocka_unit_test(test_full_table),
		cmocka_unit_test(test_oldest_and_touch),
		cmocka_unit_test(test_remove_and_reuse),
		cmocka_unit_test(test_many_flows),
		cmocka_unit_test(test_seeds),
		cmocka_unit_test(test_lost_memory),
	};

	return cmocka_run_group_tests_name("flow", tests, NULL, NULL);
}
