/*
 * test_capw.c - the capture writer (tests/tools/capw.c) read back by the
 * engine's own decoder (inspect/pkt.c) through libpcap.
 *
 * The generators' captures are checked byte for byte by the drift checks;
 * this test covers what no committed capture uses yet but the writer
 * offers: any TTL (0 included), extra TCP options (TCP-MD5), wrong
 * checksums, an ack of the caller's choice, GRO-sized segments, IPv6
 * fragments, UDP, and the mute switch.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "inspect/pkt.h"
#include "tests/tools/capw.h"

/* Frames read back from one capture. */
#define TC_MAX 8

struct tc_read {
	int n;                          /* frames read */
	uint8_t *frame[TC_MAX];         /* copies of them */
	size_t len[TC_MAX];             /* their lengths */
	uint64_t ts_us[TC_MAX];         /* their times */
	int dlt;                        /* the file's link type */
};

/* A temporary file name for one capture. */
static void
tc_path(char *path, size_t n)
{
	snprintf(path, n, "/tmp/test_capw.%ld.pcap", (long)getpid());
}

/* Read every frame of path into r, then remove the file. */
static void
tc_read_all(const char *path, struct tc_read *r)
{
	char err[PCAP_ERRBUF_SIZE];
	struct pcap_pkthdr *h;
	const u_char *d;
	pcap_t *p = pcap_open_offline(path, err);

	assert_non_null(p);
	memset(r, 0, sizeof *r);
	r->dlt = pcap_datalink(p);
	while (pcap_next_ex(p, &h, &d) == 1) {
		assert_true(r->n < TC_MAX);
		assert_int_equal(h->caplen, h->len);
		r->frame[r->n] = malloc(h->caplen);
		assert_non_null(r->frame[r->n]);
		memcpy(r->frame[r->n], d, h->caplen);
		r->len[r->n] = h->caplen;
		r->ts_us[r->n] = (uint64_t)h->ts.tv_sec * 1000000u + (uint64_t)h->ts.tv_usec;
		r->n++;
	}
	pcap_close(p);
	unlink(path);
}

static void
tc_free(struct tc_read *r)
{
	for (int i = 0; i < r->n; i++)
		free(r->frame[i]);
}

/* A connection 198.51.100.1 -> 203.0.113.25 (or IPv6) as the generators
 * open them. */
static void
tc_conn(struct capw_conn *c, int af)
{
	if (af == 4)
		capw_conn_init(c, 4, "198.51.100.1", "203.0.113.25", capw_seed("test"));
	else
		capw_conn_init(c, 6, "2001:db8:100::1", "2001:db8:25::25", capw_seed("test"));
}

/* Handshake, then segments with every option the writer offers. */
static void
test_segments(void **state)
{
	static uint8_t big[60000];
	char path[64];
	struct capw w;
	struct capw_conn c;
	struct tc_read r;
	struct pkt p;
	uint8_t md5[CAPW_OPT_MD5_LEN];
	(void)state;

	memset(big, 'a', sizeof big);
	capw_opt_md5(md5, 0x42);
	tc_path(path, sizeof path);
	capw_open(&w, path, DLT_EN10MB, 65535, 1000000u, 150);
	tc_conn(&c, 4);
	capw_handshake(&w, &c);
	struct capw_seg s1 = { .flags = TH_ACK | TH_PSH, .seq = c.e[0].nxt, .pl = "EHLO x\r\n",
		.n = 8, .ttl = 1, .opt = md5, .optlen = sizeof md5 };
	capw_send(&w, &c, 0, &s1);
	struct capw_seg s2 = { .flags = TH_ACK, .seq = c.e[1].nxt, .ttl = CAPW_TTL_ZERO,
		.csum_xor = 0x5a5a, .ack_set = 1, .ack = 7 };
	capw_send(&w, &c, 1, &s2);
	/* a GRO-sized segment: bigger than any MTU, as the kernel hands it over */
	struct capw_seg s3 = { .flags = TH_ACK, .seq = c.e[0].nxt, .pl = big, .n = sizeof big };
	capw_send(&w, &c, 0, &s3);
	capw_close(&w);
	assert_int_equal(w.packets, 6);

	tc_read_all(path, &r);
	assert_int_equal(r.dlt, DLT_EN10MB);
	assert_int_equal(r.n, 6);
	/* the clock: 150 us per packet from the start */
	for (int i = 0; i < r.n; i++)
		assert_int_equal(r.ts_us[i], 1000000u + 150u * (uint64_t)(i + 1));

	/* SYN: MSS option, checksum right, TTL 64 */
	assert_int_equal(pkt_decode(&p, PKT_LINK_ETHER, r.frame[0], r.len[0]), PKT_OK);
	assert_int_equal(p.tcp_flags, PKT_TH_SYN);
	assert_int_equal(p.ttl, 64);
	assert_int_equal(p.l4[12] >> 4, 6);
	assert_int_equal(p.l4[20], 2);
	assert_int_equal(pkt_tcp_csum_ok(&p), 1);
	assert_int_equal(p.ack, 0);
	/* SYN/ACK acknowledges the SYN; the last ACK the SYN/ACK */
	assert_int_equal(pkt_decode(&p, PKT_LINK_ETHER, r.frame[1], r.len[1]), PKT_OK);
	assert_int_equal(p.tcp_flags, PKT_TH_SYN | PKT_TH_ACK);
	assert_int_equal(p.ack, c.e[0].nxt);
	assert_int_equal(p.win, 65160);

	/* data: TTL 1, MD5 option (40-byte header), the payload after it */
	assert_int_equal(pkt_decode(&p, PKT_LINK_ETHER, r.frame[3], r.len[3]), PKT_OK);
	assert_int_equal(p.ttl, 1);
	assert_int_equal(p.l4[12] >> 4, 10);
	assert_int_equal(p.l4[20], 19);
	assert_int_equal(p.l4[21], 18);
	assert_int_equal(p.payload_len, 8);
	assert_memory_equal(p.payload, "EHLO x\r\n", 8);
	assert_int_equal(pkt_tcp_csum_ok(&p), 1);
	/* TTL 0, wrong checksum, the ack asked for */
	assert_int_equal(pkt_decode(&p, PKT_LINK_ETHER, r.frame[4], r.len[4]), PKT_OK);
	assert_int_equal(p.ttl, 0);
	assert_int_equal(p.ack, 7);
	assert_int_equal(pkt_tcp_csum_ok(&p), 0);
	/* GRO-sized: all of it, checksum right */
	assert_int_equal(pkt_decode(&p, PKT_LINK_ETHER, r.frame[5], r.len[5]), PKT_OK);
	assert_int_equal(p.payload_len, sizeof big);
	assert_int_equal(pkt_tcp_csum_ok(&p), 1);
	tc_free(&r);
}

/* IPv6 with extension headers, fragmented by hand; SLL framing; mute. */
static void
test_ipv6_fragment_sll(void **state)
{
	char path[64];
	struct capw w;
	struct capw_conn c;
	struct capw_ip ip;
	struct capw_tcp t;
	struct tc_read r;
	struct pkt p;
	uint8_t opt[CAPW_TCPOPT_MAX], l4[256];
	size_t n;
	(void)state;

	tc_path(path, sizeof path);
	capw_open(&w, path, DLT_LINUX_SLL, 65535, 0, 10);
	tc_conn(&c, 6);
	w.mute = 1;
	capw_handshake(&w, &c);            /* clock runs, nothing written */
	w.mute = 0;
	struct capw_seg s = { .flags = TH_ACK | TH_PSH, .seq = c.e[1].nxt,
		.pl = "250-STARTTLS\r\n250 OK\r\n", .n = 22 };
	capw_conn_ip(&c, 1, &ip);
	capw_conn_tcp(&c, 1, &s, &t, opt);
	ip.v6ext = 1;
	ip.v6frag = 1;
	ip.v6frag_id = 99;
	n = capw_tcp_build(l4, sizeof l4, &ip, &t);
	ip.more = 1;
	capw_write_ip(&w, &ip, l4, 16);
	ip.more = 0;
	ip.frag_off = 16;
	capw_write_ip(&w, &ip, l4 + 16, n - 16);
	capw_close(&w);

	tc_read_all(path, &r);
	assert_int_equal(r.dlt, DLT_LINUX_SLL);
	assert_int_equal(r.n, 2);
	assert_int_equal(r.ts_us[0], 40u);  /* three muted ticks, then this one */
	assert_int_equal(r.frame[0][1], 4); /* from the server: "outgoing" */
	assert_int_equal(pkt_decode(&p, PKT_LINK_SLL, r.frame[0], r.len[0]), PKT_FRAGMENT);
	assert_int_equal(p.frag_id, 99);
	assert_int_equal(p.frag_off, 0);
	assert_int_equal(p.frag_more, 1);
	assert_int_equal(p.frag_proto, 6);
	assert_int_equal(pkt_decode(&p, PKT_LINK_SLL, r.frame[1], r.len[1]), PKT_FRAGMENT);
	assert_int_equal(p.frag_off, 16);
	assert_int_equal(p.frag_more, 0);
	assert_int_equal(p.frag_len, n - 16);
	tc_free(&r);
}

/* A UDP datagram on raw IP: decoded as UDP with its payload. */
static void
test_udp_raw(void **state)
{
	char path[64];
	struct capw w;
	struct tc_read r;
	struct pkt p;
	uint8_t src[16], dst[16], l4[64];
	struct capw_ip ip = { .af = 4, .src = src, .dst = dst, .proto = 17 };
	size_t n;
	(void)state;

	capw_addr(4, "203.0.113.53", src);
	capw_addr(4, "198.51.100.53", dst);
	tc_path(path, sizeof path);
	capw_open(&w, path, DLT_RAW, 65535, 0, 1);
	n = capw_udp_build(l4, sizeof l4, &ip, 53, 53000, "answer", 6);
	assert_int_equal(n, 14);
	capw_write_ip(&w, &ip, l4, n);
	capw_close(&w);

	tc_read_all(path, &r);
	assert_int_equal(r.n, 1);
	assert_int_equal(pkt_decode(&p, PKT_LINK_RAW, r.frame[0], r.len[0]), PKT_UDP);
	assert_int_equal(p.sport, 53);
	assert_int_equal(p.dport, 53000);
	assert_int_equal(p.payload_len, 6);
	assert_memory_equal(p.payload, "answer", 6);
	tc_free(&r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_segments),
		cmocka_unit_test(test_ipv6_fragment_sll),
		cmocka_unit_test(test_udp_raw),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
