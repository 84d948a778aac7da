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
 * be caught after the flood. Raw IPv4 in Ethernet (written by capw.h, no
 * SYN options, IPv4 id 0, window 65000), valid checksums, fixed
 * clock (2026-11-28 12:00:00 UTC, 1 us per packet): byte-identical on every
 * run. Captures are large: they are written to a temporary directory at
 * test time, never committed.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../../inspect/wire.h"
#include "capw.h"

#define GEN_T0_SEC 1795867200u
#define MSS        1448u
/* Every flood segment advertises this window, both ways. */
#define FLOOD_WIN  65000

/* The capture: a clock of 1 us per packet. */
static struct capw w;

static void
die(const char *what)
{
	fprintf(stderr, "gen_flood: %s\n", what);
	exit(1);
}

/* Write one segment from side `from` (0 client, 1 server) at its next
 * sequence number, which then advances past it. */
static void
seg(struct capw_conn *c, int from, unsigned flags, const void *pl, size_t n)
{
	struct capw_seg s = { .flags = flags, .seq = c->e[from].nxt, .pl = pl, .n = n };

	if (n > MSS)
		die("segment too large");
	capw_send(&w, c, from, &s);
	c->e[from].nxt += (uint32_t)n + ((flags & (TH_SYN | TH_FIN)) ? 1 : 0);
}

/* One side of a flood connection: host-order IPv4 address, port. */
static void
set_end(struct capw_end *e, uint32_t addr, uint16_t port)
{
	put32(e->addr, addr);
	e->port = port;
	e->win = FLOOD_WIN;
}

/* A connection as the flood writes it: Ethernet, IPv4 id 0, no SYN options. */
static void
flood_conn(struct capw_conn *c, uint32_t cli, uint16_t cport, uint32_t srv)
{
	capw_conn_init(c, 4, NULL, NULL, 0);
	set_end(&c->e[0], cli, cport);
	set_end(&c->e[1], srv, 25);
	c->e[0].ipid = c->e[1].ipid = 0;
	c->ipid_fixed = 1;
	c->syn_mss = 0;
}

/* A connection between host-order addresses, handshake written. */
static void
open_conn(struct capw_conn *c, uint32_t cli, uint16_t cport, uint32_t srv)
{
	flood_conn(c, cli, cport, srv);
	c->e[0].nxt = cli * 2654435761u + cport;
	c->e[1].nxt = cli * 40503u;
	seg(c, 0, TH_SYN, NULL, 0);
	seg(c, 1, TH_SYN | TH_ACK, NULL, 0);
	seg(c, 0, TH_ACK, NULL, 0);
}

/* Send text in MSS pieces from one side. */
static void
say(struct capw_conn *c, int from, const char *text)
{
	size_t n = strlen(text);
	for (size_t off = 0; off < n; off += MSS)
		seg(c, from, TH_ACK | TH_PSH, text + off, n - off < MSS ? n - off : MSS);
}

/* A text IPv4 address in host order. */
static uint32_t
ip4(const char *s)
{
	uint8_t a[16];

	capw_addr(4, s, a);
	return (uint32_t)a[0] << 24 | (uint32_t)a[1] << 16 | (uint32_t)a[2] << 8 | a[3];
}

/* The session that must still be caught after the flood. */
static void
stripped_session(void)
{
	struct capw_conn c;

	w.ts_us += 1000000u;
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
	struct capw_conn c;
	uint32_t srv = ip4("203.0.113.25");

	for (unsigned long i = 0; i < n; i++) {
		flood_conn(&c, 0x0a000000u | (uint32_t)((i / 50000u) << 8 & 0xffff00u) |
		    (uint32_t)(i % 250u + 1), (uint16_t)(1024 + (i / 250u) % 50000u), srv);
		c.e[0].nxt = (uint32_t)i * 2654435761u;
		seg(&c, 0, TH_SYN, NULL, 0);
	}
}

/* A session in the middle of its inspection while n SYNs arrive: the
 * stripped EHLO reply comes after the flood; the flow must not have been
 * evicted to make room (it would come back "midstream", uninspected). */
static void
syn_flood_mid(unsigned long n)
{
	struct capw_conn c;

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
	struct capw_conn c;
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
	struct capw_conn c;

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
	unsigned long n;

	if (argc != 4) {
		fprintf(stderr, "usage: gen_flood syn|synmid|line|tiny N FILE\n");
		return 2;
	}
	n = strtoul(argv[2], NULL, 10);
	capw_open(&w, argv[3], DLT_EN10MB, 65535, (uint64_t)GEN_T0_SEC * 1000000u, 1);
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
	capw_close(&w);
	return 0;
}
