/*
 * gen_flood.c - write flood captures for tests/run-flood.sh.
 *
 * Usage: gen_flood syn N FILE     N SYNs, each from a distinct client
 *                                 address/port to 203.0.113.25:25
 *        gen_flood line MB FILE   one session whose client sends one
 *                                 line of MB megabytes that never ends
 *        gen_flood tiny N FILE    one session of N one-byte segments
 *                                 (NOOP commands, each answered)
 *
 * Every capture ends with one stripped session (250-XXXXXXXX in the EHLO
 * reply) from 198.51.100.250 to the enforced 203.0.113.26, which must still
 * be caught after the flood. Raw IPv4 in Ethernet, valid checksums, fixed
 * clock (2026-11-28 12:00:00 UTC, 1 us per packet): byte-identical on every
 * run. Captures are large: they are written to a temporary directory at
 * test time, never committed.
 */
#include <arpa/inet.h>
#include <pcap/pcap.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../../inspect/csum.h"
#include "../../inspect/wire.h"

#define GEN_T0_SEC 1795867200u
#define MSS        1448u

#define TH_FIN 0x01
#define TH_SYN 0x02
#define TH_PSH 0x08
#define TH_ACK 0x10

static pcap_dumper_t *dump;
static uint64_t ts_us = (uint64_t)GEN_T0_SEC * 1000000u;

/* One TCP connection: addresses host order, next seq per side. */
struct conn {
	uint32_t addr[2];
	uint16_t port[2];
	uint32_t nxt[2];
};

static void
die(const char *what)
{
	fprintf(stderr, "gen_flood: %s\n", what);
	exit(1);
}

/* Write one segment from side `from` (0 client, 1 server). */
static void
seg(struct conn *c, int from, unsigned flags, const void *pl, size_t n)
{
	static const uint8_t mac[2][6] = { { 2, 0, 0, 0, 0, 0x0c }, { 2, 0, 0, 0, 0, 5 } };
	uint8_t f[14 + 40 + MSS];
	uint8_t *ip = f + 14, *th = ip + 20;
	uint8_t ph[12];
	struct pcap_pkthdr h;

	if (n > MSS)
		die("segment too large");
	memcpy(f, mac[!from], 6);
	memcpy(f + 6, mac[from], 6);
	put16(f + 12, 0x0800);
	memset(ip, 0, 40);
	ip[0] = 0x45;
	put16(ip + 2, (unsigned)(40 + n));
	put16(ip + 6, 0x4000);
	ip[8] = 64;
	ip[9] = 6;
	put32(ip + 12, c->addr[from]);
	put32(ip + 16, c->addr[!from]);
	put16(ip + 10, csum_fold(csum_add(0, ip, 20)));
	put16(th, c->port[from]);
	put16(th + 2, c->port[!from]);
	put32(th + 4, c->nxt[from]);
	put32(th + 8, (flags & TH_ACK) ? c->nxt[!from] : 0);
	th[12] = 5 << 4;
	th[13] = (uint8_t)flags;
	put16(th + 14, 65000);
	if (n)
		memcpy(th + 20, pl, n);
	memcpy(ph, ip + 12, 8);
	ph[8] = 0;
	ph[9] = 6;
	put16(ph + 10, (unsigned)(20 + n));
	put16(th + 16, csum_fold(csum_add(csum_add(0, ph, 12), th, 20 + n)));
	c->nxt[from] += (uint32_t)n + ((flags & (TH_SYN | TH_FIN)) ? 1 : 0);

	ts_us += 1;
	memset(&h, 0, sizeof h);
	h.ts.tv_sec = (time_t)(ts_us / 1000000u);
	h.ts.tv_usec = (suseconds_t)(ts_us % 1000000u);
	h.caplen = h.len = (bpf_u_int32)(14 + 40 + n);
	pcap_dump((u_char *)dump, &h, f);
}

/* A connection between host-order addresses, handshake written. */
static void
open_conn(struct conn *c, uint32_t cli, uint16_t cport, uint32_t srv)
{
	c->addr[0] = cli;
	c->addr[1] = srv;
	c->port[0] = cport;
	c->port[1] = 25;
	c->nxt[0] = cli * 2654435761u + cport;
	c->nxt[1] = cli * 40503u;
	seg(c, 0, TH_SYN, NULL, 0);
	seg(c, 1, TH_SYN | TH_ACK, NULL, 0);
	seg(c, 0, TH_ACK, NULL, 0);
}

/* Send text in MSS pieces from one side. */
static void
say(struct conn *c, int from, const char *text)
{
	size_t n = strlen(text);
	for (size_t off = 0; off < n; off += MSS)
		seg(c, from, TH_ACK | TH_PSH, text + off, n - off < MSS ? n - off : MSS);
}

static uint32_t
ip4(const char *s)
{
	struct in_addr a;
	if (inet_pton(AF_INET, s, &a) != 1)
		die("bad address");
	return ntohl(a.s_addr);
}

/* The session that must still be caught after the flood. */
static void
stripped_session(void)
{
	struct conn c;

	ts_us += 1000000u;
	open_conn(&c, ip4("198.51.100.250"), 40025, ip4("203.0.113.26"));
	say(&c, 1, "220 mx.example.net ESMTP\r\n");
	say(&c, 0, "EHLO client.example.org\r\n");
	say(&c, 1, "250-mx.example.net\r\n250-PIPELINING\r\n250-XXXXXXXX\r\n250 8BITMIME\r\n");
	say(&c, 0, "MAIL FROM:<alice@client.example.org>\r\n");
	say(&c, 1, "250 2.1.0 Ok\r\n");
	seg(&c, 0, TH_FIN | TH_ACK, NULL, 0);
	seg(&c, 1, TH_FIN | TH_ACK, NULL, 0);
	seg(&c, 0, TH_ACK, NULL, 0);
}

/* N SYNs from 10.0.0.0/8 (address and port vary), never answered. */
static void
syn_flood(unsigned long n)
{
	struct conn c;
	uint32_t srv = ip4("203.0.113.25");

	for (unsigned long i = 0; i < n; i++) {
		c.addr[0] = 0x0a000000u | (uint32_t)((i / 50000u) << 8 & 0xffff00u) | (uint32_t)(i % 250u + 1);
		c.addr[1] = srv;
		c.port[0] = (uint16_t)(1024 + (i / 250u) % 50000u);
		c.port[1] = 25;
		c.nxt[0] = (uint32_t)i * 2654435761u;
		c.nxt[1] = 0;
		seg(&c, 0, TH_SYN, NULL, 0);
	}
}

/* A session in the middle of its inspection while n SYNs arrive: the
 * stripped EHLO reply comes after the flood; the flow must not have been
 * evicted to make room (it would come back "midstream", uninspected). */
static void
syn_flood_mid(unsigned long n)
{
	struct conn c;

	open_conn(&c, ip4("198.51.100.251"), 40026, ip4("203.0.113.26"));
	say(&c, 1, "220 mx.example.net ESMTP\r\n");
	say(&c, 0, "EHLO client.example.org\r\n");
	syn_flood(n);
	say(&c, 1, "250-mx.example.net\r\n250-PIPELINING\r\n250-XXXXXXXX\r\n250 8BITMIME\r\n");
	say(&c, 0, "MAIL FROM:<alice@client.example.org>\r\n");
	seg(&c, 0, TH_FIN | TH_ACK, NULL, 0);
	seg(&c, 1, TH_FIN | TH_ACK, NULL, 0);
}

/* One line of mb megabytes from the client to a server without policy. */
static void
endless_line(unsigned long mb)
{
	static char chunk[MSS];
	struct conn c;
	unsigned long total = mb * 1024u * 1024u;

	memset(chunk, 'a', sizeof chunk);
	open_conn(&c, ip4("198.51.100.1"), 40000, ip4("192.0.2.25"));
	say(&c, 1, "220 mx.example.net ESMTP\r\n");
	say(&c, 0, "EHLO client.example.org\r\n");
	say(&c, 1, "250-mx.example.net\r\n250 8BITMIME\r\n");
	seg(&c, 0, TH_ACK | TH_PSH, "NOOP ", 5);
	for (unsigned long sent = 0; sent < total; sent += MSS) {
		seg(&c, 0, TH_ACK, chunk, MSS);
		if ((sent / MSS) % 32 == 31)
			seg(&c, 1, TH_ACK, NULL, 0);
	}
}

/* n one-byte segments: NOOP commands byte by byte, each answered. */
static void
tiny_segments(unsigned long n)
{
	static const char cmd[] = "NOOP\r\n";
	struct conn c;

	open_conn(&c, ip4("198.51.100.2"), 40001, ip4("192.0.2.26"));
	say(&c, 1, "220 mx.example.net ESMTP\r\n");
	say(&c, 0, "EHLO client.example.org\r\n");
	say(&c, 1, "250-mx.example.net\r\n250 8BITMIME\r\n");
	for (unsigned long i = 0; i < n; i++) {
		seg(&c, 0, TH_ACK | TH_PSH, cmd + i % 6, 1);
		if (i % 6 == 5)
			say(&c, 1, "250 2.0.0 Ok\r\n");
	}
}

int
main(int argc, char **argv)
{
	pcap_t *p;
	unsigned long n;

	if (argc != 4) {
		fprintf(stderr, "usage: gen_flood syn|synmid|line|tiny N FILE\n");
		return 2;
	}
	n = strtoul(argv[2], NULL, 10);
	p = pcap_open_dead(DLT_EN10MB, 65535);
	if (p == NULL || (dump = pcap_dump_open(p, argv[3])) == NULL)
		die("cannot open the output");
	if (strcmp(argv[1], "syn") == 0)
		syn_flood(n);
	else if (strcmp(argv[1], "synmid") == 0)
		syn_flood_mid(n);
	else if (strcmp(argv[1], "line") == 0)
		endless_line(n);
	else if (strcmp(argv[1], "tiny") == 0)
		tiny_segments(n);
	else
		die("unknown flood (syn, line, tiny)");
	stripped_session();
	if (pcap_dump_flush(dump) != 0)
		die("write failed");
	pcap_dump_close(dump);
	pcap_close(p);
	return 0;
}
