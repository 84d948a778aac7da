/*
 * gen_evasion.c - write the evasion corpus: captures that try to make the
 * gateway see other bytes than the receiving MTA does.
 *
 * Usage: gen_evasion DIR   (writes DIR/<case>.pcap for every case below)
 *
 * Each case is a function that writes one or more TCP sessions through a
 * small imperative API (open, say, raw segments at any sequence number,
 * IPv4/IPv6 fragments, bad checksums, urgent pointers, FIN) over the
 * capture writer capw.h (the one gen_fixtures.c uses: same clock,
 * checksums, Ethernet framing). Two shapes recur and have a helper:
 * forged_then_real() (a forged segment -- any flags, TTL, TCP options,
 * wrong checksum, sequence -- ahead of the real EHLO reply) and one_reply()
 * (the reply in one shaped segment). Like gen_fixtures, the output is
 * byte-identical on every run: times start at 2026-11-28 12:00:00 UTC,
 * ISNs and ports derive from the case name and the session number.
 * tests/run-evasion.sh compares the output with the committed captures
 * tests/evasion/<case>.pcap and replays each against
 * tests/evasion/<case>.expect ("signature action" per alert, sorted).
 *
 * Servers (tests/evasion/evasion.conf): 203.0.113.0/25 enforce,
 * 203.0.113.128/25 testing (TLS expected, alerts only), 192.0.2.0/24 no
 * rule (default testing: nothing expected), 2001:db8:25::/48 enforce. A
 * case whose policy that cannot express has its own <case>.conf.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../../inspect/wire.h"
#include "capw.h"

/* 2026-11-28 12:00:00 UTC, as gen_fixtures. */
#define GEN_T0_SEC      1795867200u
#define GEN_PKT_GAP_US  150u
#define GEN_STEP_GAP_US 12000u
#define GEN_MSS         1448u
#define GEN_SNAPLEN     65535

#define C 0
#define S 1

/* Servers by policy. */
#define SRV_ENFORCE "203.0.113.25"
#define SRV_TESTING "203.0.113.140"
#define SRV_NONE    "192.0.2.25"
#define SRV6_ENFORCE "2001:db8:25::25"

/* Dialogue texts. */
#define T_BANNER   "220 mx.example.net ESMTP Postfix\r\n"
#define T_EHLO     "EHLO client.example.org\r\n"
/* 64 bytes; the keyword is at [40, 48). */
#define T_REPLY_X  "250-mx.example.net\r\n250-PIPELINING\r\n250-XXXXXXXX\r\n250 8BITMIME\r\n"
#define T_REPLY_S  "250-mx.example.net\r\n250-PIPELINING\r\n250-STARTTLS\r\n250 8BITMIME\r\n"
#define T_REPLY_NO "250-mx.example.net\r\n250-PIPELINING\r\n250 8BITMIME\r\n"
#define KW_OFF     40
#define T_READY    "220 2.0.0 Ready to start TLS\r\n"
#define T_MAIL     "MAIL FROM:<alice@client.example.org>\r\n"
#define T_OK       "250 2.1.0 Ok\r\n"
#define T_502      "502 5.5.2 Error: command not recognized\r\n"

/* ------------------------------------------------------------------ */
/* Output                                                              */

/* What one segment looks like beyond its bytes. */
struct segopt {
	unsigned flags;     /* TH_*; 0 means ACK|PSH */
	uint16_t urg;       /* urgent pointer (with TH_URG) */
	int bad_csum;       /* write a wrong TCP checksum */
	unsigned ttl;       /* IP TTL / hop limit; 0 = 64 (capw.h: CAPW_TTL_ZERO for 0) */
	const uint8_t *tcpopt; /* extra TCP options (e.g. capw_opt_md5), tcpoptlen bytes */
	size_t tcpoptlen;
	int ack_set;        /* write .ack instead of the peer's next sequence number */
	uint32_t ack;
	unsigned frag;      /* IP fragment payload size (multiple of 8), 0 = whole */
	int frag_order;     /* 0 in order, 1 reversed */
	const uint8_t *frag_alt; /* right after fragment 2, send fragment 2 again with these TCP bytes (overlap) */
	unsigned frag_alt_shift; /* ...that many bytes further on (a multiple of 8: a partial overlap) */
	int v6ext;          /* IPv6: hop-by-hop + destination options before TCP / the fragment header */
};

/* The capture being written. */
struct gen {
	struct capw w;      /* output, clock, packet count */
	uint32_t seed;      /* from the case name */
	unsigned nsess;     /* sessions opened so far */
	uint32_t v6fragid;  /* last IPv6 fragment identification used */
};

static void
die(const char *what)
{
	fprintf(stderr, "gen_evasion: %s\n", what);
	exit(1);
}

/* Send one TCP segment from side `from` at seq, as the options say. */
static void
seg(struct gen *g, struct capw_conn *c, int from, uint32_t seq, const void *pl, size_t n,
    const struct segopt *o)
{
	static const struct segopt none;
	static uint8_t tcp[CAPW_L4_MAX], alt[CAPW_L4_MAX];
	uint8_t opt[CAPW_TCPOPT_MAX];
	struct capw_seg s;
	struct capw_tcp t;
	struct capw_ip ip;
	size_t tl;

	if (o == NULL)
		o = &none;
	s = (struct capw_seg){ .flags = o->flags ? o->flags : (TH_ACK | TH_PSH), .seq = seq,
		.pl = pl, .n = n, .urg = o->urg, .opt = o->tcpopt, .optlen = o->tcpoptlen,
		.ttl = o->ttl, .csum_xor = o->bad_csum ? 0x5a5a : 0, .ack_set = o->ack_set,
		.ack = o->ack, .v6ext = o->v6ext };
	if (o->frag == 0) {
		capw_send(&g->w, c, from, &s);
		return;
	}

	/* fragments of o->frag bytes (the last shorter) */
	capw_conn_ip(c, from, &ip);
	ip.ttl = o->ttl;
	ip.v6ext = o->v6ext;
	ip.v6frag = c->af == 6;
	capw_conn_tcp(c, from, &s, &t, opt);
	tl = capw_tcp_build(tcp, sizeof tcp, &ip, &t);
	if (o->frag_alt) {
		t.pl = o->frag_alt;
		capw_tcp_build(alt, sizeof alt, &ip, &t);
	}
	unsigned nfrag = (unsigned)((tl + o->frag - 1) / o->frag);
	ip.id = c->e[from].ipid++;
	ip.v6frag_id = ++g->v6fragid;
	for (unsigned k = 0; k < nfrag + (o->frag_alt ? 1 : 0); k++) {
		/* with an alternative, step 3 resends fragment 2 and later steps shift by one */
		unsigned kk = o->frag_alt && k > 2 ? k - 1 : k;
		unsigned i = o->frag_order ? nfrag - 1 - kk : kk;
		const uint8_t *body = o->frag_alt && k == 3 ? alt : tcp;
		size_t off = (size_t)i * o->frag + (o->frag_alt && k == 3 ? o->frag_alt_shift : 0);
		size_t len = tl - off < o->frag ? tl - off : o->frag;

		ip.frag_off = (unsigned)off;
		ip.more = i + 1 < nfrag;
		ip.df = 0;
		capw_write_ip(&g->w, &ip, body + off, len);
	}
}

/* The peer acknowledges everything so far. */
static void
ack(struct gen *g, struct capw_conn *c, int from)
{
	struct segopt o = { .flags = TH_ACK };
	seg(g, c, from, c->e[from].nxt, NULL, 0, &o);
}

/* Open a connection (three-way handshake unless midstream). */
static void
open_conn(struct gen *g, struct capw_conn *c, int af, const char *cli, const char *srv, int handshake)
{
	uint32_t s = g->seed + g->nsess++ * 7919u;

	capw_conn_init(c, af, cli, srv, s);
	c->e[C].port = (uint16_t)(32768 + (s + g->nsess) % 28000);
	g->w.ts_us += 1000000u;
	if (handshake) {
		capw_handshake(&g->w, c);
	} else {
		c->e[C].nxt++;
		c->e[S].nxt++;
	}
}

/* Send n bytes from `from` in order (MSS-sized segments), at once, and let
 * the peer ack them. */
static void
send_n(struct gen *g, struct capw_conn *c, int from, const void *text, size_t n)
{
	const uint8_t *p = text;

	for (size_t off = 0; off < n; off += GEN_MSS) {
		size_t k = n - off < GEN_MSS ? n - off : GEN_MSS;
		seg(g, c, from, c->e[from].nxt + (uint32_t)off, p + off, k, NULL);
	}
	c->e[from].nxt += (uint32_t)n;
	ack(g, c, !from);
}

/* The same after a dialogue step's pause. */
static void
say_n(struct gen *g, struct capw_conn *c, int from, const void *text, size_t n)
{
	g->w.ts_us += GEN_STEP_GAP_US;
	send_n(g, c, from, text, n);
}

static void
say(struct gen *g, struct capw_conn *c, int from, const char *text)
{
	say_n(g, c, from, text, strlen(text));
}

/* Send text cut at the given offsets (sorted, ncut of them), segments in the
 * order perm gives (NULL: in order), then advance and ack. */
static void
say_cut(struct gen *g, struct capw_conn *c, int from, const char *text, const size_t *cut,
    size_t ncut, const size_t *perm)
{
	size_t n = strlen(text), nseg = ncut + 1;
	uint32_t base = c->e[from].nxt;

	g->w.ts_us += GEN_STEP_GAP_US;
	for (size_t k = 0; k < nseg; k++) {
		size_t i = perm ? perm[k] : k;
		size_t a = i == 0 ? 0 : cut[i - 1], b = i == ncut ? n : cut[i];
		seg(g, c, from, base + (uint32_t)a, text + a, b - a, NULL);
	}
	c->e[from].nxt += (uint32_t)n;
	ack(g, c, !from);
}

/* Bytes [a, b) of text at their place in the stream, without advancing. */
static void
part(struct gen *g, struct capw_conn *c, int from, const char *text, size_t a, size_t b,
    const struct segopt *o)
{
	seg(g, c, from, c->e[from].nxt + (uint32_t)a, text + a, b - a, o);
}

/* Close: FIN, FIN, ACK. */
static void
fin(struct gen *g, struct capw_conn *c)
{
	struct segopt f = { .flags = TH_FIN | TH_ACK };
	g->w.ts_us += GEN_STEP_GAP_US;
	seg(g, c, C, c->e[C].nxt, NULL, 0, &f);
	c->e[C].nxt++;
	seg(g, c, S, c->e[S].nxt, NULL, 0, &f);
	c->e[S].nxt++;
	ack(g, c, C);
}

/* ------------------------------------------------------------------ */
/* TLS records: enough for the engine's decision (record headers and the
 * first handshake message type); bodies are fixed filler. */

static size_t
tls_rec(uint8_t *b, unsigned ct, unsigned hs, size_t body)
{
	b[0] = (uint8_t)ct;
	b[1] = 3;
	b[2] = ct == 0x16 && hs == 1 ? 1 : 3;
	put16(b + 3, (unsigned)body);
	memset(b + 5, 0x42, body);
	if (hs) {
		b[5] = (uint8_t)hs;
		b[6] = 0;
		put16(b + 7, (unsigned)(body - 4));
		b[9] = 3;
		b[10] = 3;
	}
	return 5 + body;
}

/* ClientHello, ServerHello: the session is decided "tls". */
static void
tls_start(struct gen *g, struct capw_conn *c)
{
	uint8_t b[600];
	say_n(g, c, C, b, tls_rec(b, 0x16, 1, 512));
	say_n(g, c, S, b, tls_rec(b, 0x16, 2, 90));
}

/* ------------------------------------------------------------------ */
/* Dialogue pieces                                                      */

/* Banner and EHLO. */
static void
greet(struct gen *g, struct capw_conn *c)
{
	say(g, c, S, T_BANNER);
	say(g, c, C, T_EHLO);
}

/* After an EHLO reply: the stripped variant goes on in plaintext, the
 * clean one through STARTTLS into TLS. */
static void
finish(struct gen *g, struct capw_conn *c, int stripped)
{
	if (stripped) {
		say(g, c, C, T_MAIL);
		say(g, c, S, T_OK);
	} else {
		say(g, c, C, "STARTTLS\r\n");
		say(g, c, S, T_READY);
		tls_start(g, c);
	}
	fin(g, c);
}

/* A client address per session: 198.51.100.(1 + n % 250). */
static const char *
cli4(struct gen *g)
{
	static char a[32];
	snprintf(a, sizeof a, "198.51.%u.%u", 100 + g->nsess / 250, 1 + g->nsess % 250);
	return a;
}

/*
 * Insertion: on a new session to srv, after banner and EHLO, a forged
 * segment from the server -- the bytes `forged` (NULL: none) `ahead` bytes
 * past its next sequence number, shaped by o (flags, a wrong checksum,
 * TTL, TCP options, another ack) -- then the real EHLO reply, at once or
 * (pause) after a step's pause; then the session goes on in plaintext
 * (stripped) or into TLS. What the receiving MTA would drop must not count.
 */
static void
forged_then_real(struct gen *g, const char *srv, const char *forged, uint32_t ahead,
    const struct segopt *o, const char *real, int pause, int stripped)
{
	struct capw_conn c;

	open_conn(g, &c, 4, cli4(g), srv, 1);
	greet(g, &c);
	g->w.ts_us += GEN_STEP_GAP_US;
	seg(g, &c, S, c.e[S].nxt + ahead, forged, forged ? strlen(forged) : 0, o);
	if (pause)
		say(g, &c, S, real);
	else
		send_n(g, &c, S, real, strlen(real));
	finish(g, &c, stripped);
}

/* On a new session to srv, after banner and EHLO: the EHLO reply (n bytes
 * of text) in one segment shaped by o, which the client acknowledges;
 * then the session goes on in plaintext (stripped) or into TLS. */
static void
one_reply(struct gen *g, const char *srv, const void *text, size_t n,
    const struct segopt *o, int stripped)
{
	struct capw_conn c;

	open_conn(g, &c, 4, cli4(g), srv, 1);
	greet(g, &c);
	g->w.ts_us += GEN_STEP_GAP_US;
	seg(g, &c, S, c.e[S].nxt, text, n, o);
	c.e[S].nxt += (uint32_t)n;
	ack(g, &c, C);
	finish(g, &c, stripped);
}

/* ------------------------------------------------------------------ */
/* Cases                                                               */

/* The EHLO reply cut in two at every byte, one session per cut; and once
 * as one segment per byte. */
static void
c_split_reply(struct gen *g, const char *reply, int stripped)
{
	struct capw_conn c;
	size_t n = strlen(reply), cut[128], ncut;

	for (size_t k = 1; k < n; k++) {
		open_conn(g, &c, 4, cli4(g), SRV_ENFORCE, 1);
		greet(g, &c);
		say_cut(g, &c, S, reply, &k, 1, NULL);
		finish(g, &c, stripped);
	}
	for (ncut = 0; ncut + 1 < n; ncut++)
		cut[ncut] = ncut + 1;
	open_conn(g, &c, 4, cli4(g), SRV_ENFORCE, 1);
	greet(g, &c);
	say_cut(g, &c, S, reply, cut, ncut, NULL);
	finish(g, &c, stripped);
}

static void c_split_reply_stripped(struct gen *g) { c_split_reply(g, T_REPLY_X, 1); }
static void c_split_reply_clean(struct gen *g) { c_split_reply(g, T_REPLY_S, 0); }

/* The client's command cut at every byte: STARTTLS (clean) or the
 * garbled XXXXXXXX answered 502 (stripped). */
static void
c_split_cmd(struct gen *g, int stripped)
{
	const char *cmd = stripped ? "XXXXXXXX\r\n" : "STARTTLS\r\n";
	struct capw_conn c;

	for (size_t k = 1; k < strlen(cmd); k++) {
		open_conn(g, &c, 4, cli4(g), SRV_ENFORCE, 1);
		greet(g, &c);
		say(g, &c, S, T_REPLY_S);
		say_cut(g, &c, C, cmd, &k, 1, NULL);
		if (stripped) {
			say(g, &c, S, T_502);
			say(g, &c, C, T_MAIL);
			say(g, &c, S, T_OK);
		} else {
			say(g, &c, S, T_READY);
			tls_start(g, &c);
		}
		fin(g, &c);
	}
}

static void c_split_cmd_stripped(struct gen *g) { c_split_cmd(g, 1); }
static void c_split_cmd_clean(struct gen *g) { c_split_cmd(g, 0); }

/* Segment order: the reply in 8 pieces sent last-first, and in 6
 * deterministic shuffles; stripped and clean. */
static void
c_reorder(struct gen *g, int stripped)
{
	static const size_t cut[7] = { 8, 16, 24, 32, 40, 44, 52 };
	static const size_t perms[7][8] = {
		{ 7, 6, 5, 4, 3, 2, 1, 0 },
		{ 3, 0, 7, 1, 5, 2, 6, 4 },
		{ 1, 0, 3, 2, 5, 4, 7, 6 },
		{ 6, 5, 0, 7, 2, 1, 4, 3 },
		{ 0, 7, 1, 6, 2, 5, 3, 4 },
		{ 4, 5, 6, 7, 0, 1, 2, 3 },
		{ 2, 6, 4, 0, 7, 3, 1, 5 },
	};
	struct capw_conn c;

	for (size_t i = 0; i < 7; i++) {
		open_conn(g, &c, 4, cli4(g), SRV_ENFORCE, 1);
		greet(g, &c);
		say_cut(g, &c, S, stripped ? T_REPLY_X : T_REPLY_S, cut, 7, perms[i]);
		finish(g, &c, stripped);
	}
}

static void c_reorder_stripped(struct gen *g) { c_reorder(g, 1); }
static void c_reorder_clean(struct gen *g) { c_reorder(g, 0); }

/* 40 one-byte segments sent last-first: more than 16 out-of-order chunks. */
static void
c_reorder_many(struct gen *g)
{
	size_t cut[63], perm[64];
	struct capw_conn c;

	for (size_t i = 0; i < 63; i++)
		cut[i] = i + 1;
	for (size_t i = 0; i < 64; i++)
		perm[i] = 63 - i;
	open_conn(g, &c, 4, cli4(g), SRV_NONE, 1);
	greet(g, &c);
	say_cut(g, &c, S, T_REPLY_X, cut, 63, perm);
	finish(g, &c, 1);
}

/*
 * Overlaps. The reply's bytes [30, 56) arrive first, ahead of a hole
 * [0, 30); then a second copy with the other keyword overlaps them in one
 * geometry; then the hole and the tail [56, 64). First copy wins, so the
 * keyword the gateway must act on is the first copy's. Testing server:
 * alerts only, so both findings show.
 */
struct overlap {
	const char *name;
	size_t a, b;        /* the second copy's range */
};

static const struct overlap overlaps[] = {
	{ "starts_before", 26, 50 },
	{ "same_start", 30, 50 },
	{ "same_start_longer", 30, 60 },
	{ "contains", 26, 60 },
	{ "contained", 36, 52 },
	{ "ends_after", 36, 60 },
	{ "same", 30, 56 },
};

static void
c_overlap(struct gen *g, int first_stripped)
{
	const char *first = first_stripped ? T_REPLY_X : T_REPLY_S;
	const char *second = first_stripped ? T_REPLY_S : T_REPLY_X;
	struct capw_conn c;

	for (size_t i = 0; i < sizeof overlaps / sizeof overlaps[0]; i++) {
		open_conn(g, &c, 4, cli4(g), SRV_TESTING, 1);
		greet(g, &c);
		g->w.ts_us += GEN_STEP_GAP_US;
		part(g, &c, S, first, 30, 56, NULL);
		part(g, &c, S, second, overlaps[i].a, overlaps[i].b, NULL);
		part(g, &c, S, first, 0, 30, NULL);
		part(g, &c, S, first, 56, 64, NULL);
		c.e[S].nxt += 64;
		ack(g, &c, C);
		finish(g, &c, first_stripped);
	}
}

static void c_overlap_first_stripped(struct gen *g) { c_overlap(g, 1); }
static void c_overlap_first_clean(struct gen *g) { c_overlap(g, 0); }

/* Retransmissions with different content after in-order delivery: the
 * reply, then the same range again with the other keyword. */
static void
c_retrans(struct gen *g, int first_stripped)
{
	const char *first = first_stripped ? T_REPLY_X : T_REPLY_S;
	const char *second = first_stripped ? T_REPLY_S : T_REPLY_X;
	struct capw_conn c;

	for (int whole = 0; whole < 2; whole++) {
		open_conn(g, &c, 4, cli4(g), SRV_TESTING, 1);
		greet(g, &c);
		g->w.ts_us += GEN_STEP_GAP_US;
		part(g, &c, S, first, 0, 64, NULL);
		if (whole)
			part(g, &c, S, second, 0, 64, NULL);
		else
			part(g, &c, S, second, 36, 52, NULL);
		c.e[S].nxt += 64;
		ack(g, &c, C);
		finish(g, &c, first_stripped);
	}
}

static void c_retrans_first_stripped(struct gen *g) { c_retrans(g, 1); }
static void c_retrans_first_clean(struct gen *g) { c_retrans(g, 0); }

/* Data far below the acknowledged base: a stripped-looking reply 100000
 * bytes back (the MTA drops it as an old duplicate), in a clean session. */
static void
c_below_base(struct gen *g)
{
	struct capw_conn c;

	open_conn(g, &c, 4, cli4(g), SRV_ENFORCE, 1);
	greet(g, &c);
	say(g, &c, S, T_REPLY_S);
	seg(g, &c, S, c.e[S].nxt - 100000u, T_REPLY_X, 64, NULL);
	finish(g, &c, 0);
}

/* Urgent data: the attacker sends "250-XXXXXXXXY\r\n" with the urgent
 * pointer at Y. A receiver without SO_OOBINLINE (every MTA) takes Y out of
 * the stream and reads 250-XXXXXXXX: stripped. */
static void
c_urgent_reply(struct gen *g)
{
	static const char r[] = "250-mx.example.net\r\n250-PIPELINING\r\n250-XXXXXXXXY\r\n250 8BITMIME\r\n";
	static const struct segopt o = { .flags = TH_ACK | TH_PSH | TH_URG, .urg = 49 };

	one_reply(g, SRV_ENFORCE, r, sizeof r - 1, &o, 1);
}

/* Urgent pointer inside a clean STARTTLS command: the MTA reads "STARTTLS"
 * once the urgent byte is out; the gateway must not fire on the rest. The
 * client sends "STARTTLSZ\r\n" with the pointer after Z. */
static void
c_urgent_cmd(struct gen *g)
{
	static const char cmd[] = "STARTTLSZ\r\n";
	struct segopt o = { .flags = TH_ACK | TH_PSH | TH_URG, .urg = 9 };
	struct capw_conn c;

	open_conn(g, &c, 4, cli4(g), SRV_ENFORCE, 1);
	greet(g, &c);
	say(g, &c, S, T_REPLY_S);
	g->w.ts_us += GEN_STEP_GAP_US;
	seg(g, &c, C, c.e[C].nxt, cmd, sizeof cmd - 1, &o);
	c.e[C].nxt += sizeof cmd - 1;
	say(g, &c, S, T_READY);
	tls_start(g, &c);
	fin(g, &c);
}

/* IPv4 fragments of the stripped reply: in order, reversed. */
static void
c_frag4(struct gen *g)
{
	for (int rev = 0; rev < 2; rev++) {
		struct segopt o = { .frag = 24, .frag_order = rev };

		one_reply(g, SRV_ENFORCE, T_REPLY_X, 64, &o, 1);
	}
}

/* Overlapping IPv4 fragments: the stripped reply in 24-byte fragments,
 * and right after fragment 2 (TCP bytes 48-71: reply bytes 28-51, the
 * keyword) a clean copy of it, shift bytes further on; then the sender's
 * retransmission, unfragmented and stripped. */
static void
frag4_overlap(struct gen *g, unsigned shift)
{
	uint8_t alt[64];
	struct capw_conn c;

	memcpy(alt, T_REPLY_S, 64);
	open_conn(g, &c, 4, cli4(g), SRV_TESTING, 1);
	greet(g, &c);
	g->w.ts_us += GEN_STEP_GAP_US;
	struct segopt o = { .frag = 24, .frag_alt = alt, .frag_alt_shift = shift };
	seg(g, &c, S, c.e[S].nxt, T_REPLY_X, 64, &o);
	seg(g, &c, S, c.e[S].nxt, T_REPLY_X, 64, NULL);
	c.e[S].nxt += 64;
	ack(g, &c, C);
	finish(g, &c, 1);
}

/* The clean copy lies exactly within fragment 2: Linux drops it as a
 * duplicate and keeps the datagram (first copy), as ipfrag does: stripped
 * either way. */
static void
c_frag4_overlap(struct gen *g)
{
	frag4_overlap(g, 0);
}

/* The clean copy starts 8 bytes further on (TCP bytes 56-79), straddling
 * fragments 2 and 3: a partial overlap. Linux (since 4.19, CVE-2018-5391;
 * RFC 5722 for IPv6) then discards the whole datagram, as ipfrag does, and
 * the MTA reads the unfragmented retransmission: stripped. */
static void
c_frag4_partial_overlap(struct gen *g)
{
	frag4_overlap(g, 8);
}

/* IPv6 with hop-by-hop and destination options, plain and fragmented
 * (fragment header after them), stripped reply to an enforced server. */
static void
c_ipv6_ext(struct gen *g)
{
	struct capw_conn c;

	for (int frag = 0; frag < 3; frag++) {
		struct segopt o = { .v6ext = 1, .frag = frag ? 32 : 0, .frag_order = frag == 2 };
		open_conn(g, &c, 6, "2001:db8:100::7", SRV6_ENFORCE, 1);
		greet(g, &c);
		g->w.ts_us += GEN_STEP_GAP_US;
		seg(g, &c, S, c.e[S].nxt, T_REPLY_X, 64, &o);
		c.e[S].nxt += 64;
		ack(g, &c, C);
		finish(g, &c, 1);
	}
}

/* Picked up midstream (no handshake in the capture): nothing inspected. */
static void
c_midstream(struct gen *g)
{
	struct capw_conn c;

	open_conn(g, &c, 4, cli4(g), SRV_ENFORCE, 0);
	greet(g, &c);
	say(g, &c, S, T_REPLY_X);
	finish(g, &c, 1);
}

/* Only the client's direction is captured (asymmetric routing): the
 * handshake's SYN and the client's commands; MAIL in plaintext to an
 * enforced server is a downgrade even without the server's replies. */
static void
c_one_direction_client(struct gen *g)
{
	struct segopt syn = { .flags = TH_SYN };
	struct capw_conn c;

	open_conn(g, &c, 4, cli4(g), SRV_ENFORCE, 0);
	c.e[C].nxt--;
	seg(g, &c, C, c.e[C].nxt, NULL, 0, &syn);
	c.e[C].nxt++;
	ack(g, &c, C);
	g->w.ts_us += GEN_STEP_GAP_US;
	seg(g, &c, C, c.e[C].nxt, T_EHLO, strlen(T_EHLO), NULL);
	c.e[C].nxt += (uint32_t)strlen(T_EHLO);
	g->w.ts_us += GEN_STEP_GAP_US;
	seg(g, &c, C, c.e[C].nxt, T_MAIL, strlen(T_MAIL), NULL);
	c.e[C].nxt += (uint32_t)strlen(T_MAIL);
}

/* Only the server's direction (from the SYN/ACK on): the client's SYN was
 * not seen, so this is a midstream pickup: nothing inspected. */
static void
c_one_direction_server(struct gen *g)
{
	struct segopt synack = { .flags = TH_SYN | TH_ACK };
	struct capw_conn c;

	open_conn(g, &c, 4, cli4(g), SRV_ENFORCE, 0);
	c.e[S].nxt--;
	seg(g, &c, S, c.e[S].nxt, NULL, 0, &synack);
	c.e[S].nxt++;
	g->w.ts_us += GEN_STEP_GAP_US;
	seg(g, &c, S, c.e[S].nxt, T_BANNER, strlen(T_BANNER), NULL);
	c.e[S].nxt += (uint32_t)strlen(T_BANNER);
	seg(g, &c, S, c.e[S].nxt, T_REPLY_X, 64, NULL);
	c.e[S].nxt += 64;
}

/* A line over 4096 bytes from each side, to a server without policy. */
static void
c_long_lines(struct gen *g)
{
	static char line[6000];
	struct capw_conn c;

	for (int from = 0; from < 2; from++) {
		memset(line, 'a', sizeof line);
		memcpy(line, from == C ? "NOOP " : "250-", from == C ? 5 : 4);
		memcpy(line + 5000, "\r\n", 3);
		open_conn(g, &c, 4, cli4(g), SRV_NONE, 1);
		say(g, &c, S, T_BANNER);
		say(g, &c, C, T_EHLO);
		if (from == C) {
			say(g, &c, S, T_REPLY_S);
			say(g, &c, C, line);
		} else {
			say(g, &c, S, line);
			say(g, &c, S, T_REPLY_S);
		}
		finish(g, &c, 0);
	}
}

/* Bare LF and LF/CRLF mixes: the stripped keyword on a bare-LF line. */
static void
c_bare_lf(struct gen *g)
{
	static const char *const replies[] = {
		"250-mx.example.net\n250-PIPELINING\n250-XXXXXXXX\n250 8BITMIME\n",
		"250-mx.example.net\r\n250-PIPELINING\n250-XXXXXXXX\n250 8BITMIME\r\n",
		"250-mx.example.net\n250-PIPELINING\r\n250-XXXXXXXX\r\n250 8BITMIME\n",
	};
	struct capw_conn c;

	for (size_t i = 0; i < 3; i++) {
		open_conn(g, &c, 4, cli4(g), SRV_ENFORCE, 1);
		say(g, &c, S, "220 mx.example.net ESMTP\n");
		say(g, &c, C, "EHLO client.example.org\n");
		say(g, &c, S, replies[i]);
		finish(g, &c, 1);
	}
	/* clean with bare LF everywhere */
	open_conn(g, &c, 4, cli4(g), SRV_ENFORCE, 1);
	say(g, &c, S, "220 mx.example.net ESMTP\n");
	say(g, &c, C, "EHLO client.example.org\n");
	say(g, &c, S, "250-mx.example.net\n250-STARTTLS\n250 8BITMIME\n");
	say(g, &c, C, "STARTTLS\n");
	say(g, &c, S, "220 go ahead\n");
	tls_start(g, &c);
	fin(g, &c);
}

/* 10 000 pipelined NOOPs, answered, then a plaintext mail to a server
 * without policy: more than 8 commands awaiting replies. */
static void
c_pipelined_10k(struct gen *g)
{
	static char cmds[10000 * 6 + 1], reps[10000 * 8 + 1];
	struct capw_conn c;

	for (int i = 0; i < 10000; i++) {
		memcpy(cmds + i * 6, "NOOP\r\n", 6);
		memcpy(reps + i * 8, "250 ok\r\n", 8);
	}
	open_conn(g, &c, 4, cli4(g), SRV_NONE, 1);
	greet(g, &c);
	say(g, &c, S, T_REPLY_S);
	say_n(g, &c, C, cmds, 10000 * 6);
	say_n(g, &c, S, reps, 10000 * 8);
	finish(g, &c, 1);
}

/* Bad TCP checksum: a forged clean reply with a wrong checksum arrives
 * before the real, stripped one. The MTA drops the forged segment; the
 * gateway must too. Testing server, so every finding shows. */
static void
c_bad_csum(struct gen *g)
{
	static const struct segopt bad = { .bad_csum = 1 };

	forged_then_real(g, SRV_TESTING, T_REPLY_S, 0, &bad, T_REPLY_X, 0, 1);
}

/* Bad checksum the other way: a forged stripped reply (bad checksum) ahead
 * of the real clean one: no finding may come of it. */
static void
c_bad_csum_false_positive(struct gen *g)
{
	static const struct segopt bad = { .bad_csum = 1 };

	forged_then_real(g, SRV_TESTING, T_REPLY_X, 0, &bad, T_REPLY_S, 0, 0);
}

/* A RST with a bad checksum, and one far outside the window, before the
 * stripped reply: the MTA ignores both (RFC 5961), the gateway must keep
 * following the flow. */
static void
c_bogus_rst(struct gen *g)
{
	static const struct segopt bad_csum = { .flags = TH_RST | TH_ACK, .bad_csum = 1 };
	static const struct segopt rst = { .flags = TH_RST | TH_ACK };

	forged_then_real(g, SRV_ENFORCE, NULL, 0, &bad_csum, T_REPLY_X, 1, 1);
	forged_then_real(g, SRV_ENFORCE, NULL, 3000000u, &rst, T_REPLY_X, 1, 1);
}

/* Out-of-window data: a forged clean reply 3 000 000 bytes ahead (far past
 * any window), then the real stripped one. */
static void
c_out_of_window(struct gen *g)
{
	forged_then_real(g, SRV_ENFORCE, T_REPLY_S, 3000000u, NULL, T_REPLY_X, 1, 1);
}

/* ------------------------------------------------------------------ */
/* Issue 20: each trick is tried on a stripped session (EHLO reply with
 * STARTTLS masked) to an enforced server, followed by a plaintext mail
 * transaction, unless said otherwise. */

/* The stripped rest of a session after its greeting. */
static void
stripped_rest(struct gen *g, struct capw_conn *c)
{
	say(g, c, C, T_EHLO);
	say(g, c, S, T_REPLY_X);
	finish(g, c, 1);
}

/* Item 1: learned facts only raise. Under a default of enforce
 * (pin_never_lowers.conf), one clean TLS session pins the server (pins in
 * memory, "testing"); the stripped session after it is still blocked. */
static void
c_pin_never_lowers(struct gen *g)
{
	struct capw_conn c;

	open_conn(g, &c, 4, cli4(g), SRV_NONE, 1);
	greet(g, &c);
	say(g, &c, S, T_REPLY_S);
	finish(g, &c, 0);
	open_conn(g, &c, 4, cli4(g), SRV_NONE, 1);
	say(g, &c, S, T_BANNER);
	stripped_rest(g, &c);
}

/* Item 2: garbage in the greeting, as Postfix's client reads it: a line
 * that is no reply before the 220 (skipped), "220\0..." (a 220), a bad line
 * inside a multi-line 220- (skipped). */
static void
c_greeting_garbage(struct gen *g)
{
	static const char nul[] = "220\0mx.example.net ESMTP\r\n";
	struct capw_conn c;

	open_conn(g, &c, 4, cli4(g), SRV_ENFORCE, 1);
	say(g, &c, S, "garbage\r\n");
	say(g, &c, S, T_BANNER);
	stripped_rest(g, &c);
	open_conn(g, &c, 4, cli4(g), SRV_ENFORCE, 1);
	say_n(g, &c, S, nul, sizeof nul - 1);
	stripped_rest(g, &c);
	open_conn(g, &c, 4, cli4(g), SRV_ENFORCE, 1);
	say(g, &c, S, "220-mx.example.net ESMTP\r\nthis is not a reply line\r\n220 ready\r\n");
	stripped_rest(g, &c);
}

/* Item 3: a forged one-line "greeting" the client's stack drops, ahead of
 * the real one at the same sequence number; then the stripped session. */
static void
insert_greeting(struct gen *g, const struct segopt *o)
{
	struct capw_conn c;

	open_conn(g, &c, 4, cli4(g), SRV_ENFORCE, 1);
	g->w.ts_us += GEN_STEP_GAP_US;
	seg(g, &c, S, c.e[S].nxt, "garbage\r\n", 9, o);
	say(g, &c, S, T_BANNER);
	stripped_rest(g, &c);
}

/* ...without the ACK flag */
static void
c_insert_no_ack(struct gen *g)
{
	struct segopt o = { .flags = TH_PSH };
	insert_greeting(g, &o);
}

/* ...acknowledging 100000 bytes the client never sent */
static void
c_insert_ack_unsent(struct gen *g)
{
	struct segopt o = { .ack_set = 1 };
	struct capw_conn c;

	/* the client's next sequence number is only known once the
	 * connection is set up: write the case by hand */
	open_conn(g, &c, 4, cli4(g), SRV_ENFORCE, 1);
	g->w.ts_us += GEN_STEP_GAP_US;
	o.ack = c.e[C].nxt + 100000u;
	seg(g, &c, S, c.e[S].nxt, "garbage\r\n", 9, &o);
	say(g, &c, S, T_BANNER);
	stripped_rest(g, &c);
}

/* ...with a TCP-MD5 option (the client holds no key) */
static void
c_insert_md5(struct gen *g)
{
	uint8_t md5[CAPW_OPT_MD5_LEN];
	struct segopt o = { .tcpopt = md5, .tcpoptlen = sizeof md5 };

	capw_opt_md5(md5, 0xa5);
	insert_greeting(g, &o);
}

/* Item 3, TTL, on the client's side (the hop after the gateway, stg-att,
 * lets it expire unless the gateway raises it; t11): a client RST at the
 * expected sequence number and the client's EHLO, both with TTL 2, among
 * segments of TTL 64. The gateway raises both inline: the server gets
 * them, and what it reads is what was inspected. */
static void
c_insert_ttl(struct gen *g)
{
	struct segopt rst = { .flags = TH_RST | TH_ACK, .ttl = 2 }, low = { .ttl = 2 };
	struct capw_conn c;

	open_conn(g, &c, 4, cli4(g), SRV_ENFORCE, 1);
	say(g, &c, S, T_BANNER);
	g->w.ts_us += GEN_STEP_GAP_US;
	seg(g, &c, C, c.e[C].nxt, NULL, 0, &rst);
	seg(g, &c, C, c.e[C].nxt, T_EHLO, strlen(T_EHLO), &low);
	c.e[C].nxt += (uint32_t)strlen(T_EHLO);
	ack(g, &c, S);
	say(g, &c, S, T_REPLY_X);
	finish(g, &c, 1);
}

/* Item 5: RST insertion. A server RST at exactly the expected sequence
 * number with a TCP-MD5 option the client drops; and one with nothing
 * wrong that the client never gets (lost after the gateway): the session
 * goes on, stripped, and must still be inspected. */
static void
c_rst_insertion(struct gen *g)
{
	uint8_t md5[CAPW_OPT_MD5_LEN];
	struct capw_conn c;

	capw_opt_md5(md5, 0x5a);
	for (int kind = 0; kind < 2; kind++) {
		struct segopt rst = { .flags = TH_RST | TH_ACK };

		if (kind == 0) {
			rst.tcpopt = md5;
			rst.tcpoptlen = sizeof md5;
		}
		open_conn(g, &c, 4, cli4(g), SRV_ENFORCE, 1);
		say(g, &c, S, T_BANNER);
		g->w.ts_us += GEN_STEP_GAP_US;
		seg(g, &c, S, c.e[S].nxt, NULL, 0, &rst);
		stripped_rest(g, &c);
	}
}

/* Item 6: MAIL split as Postfix's smtpd splits it (any isspace(), leading
 * whitespace skipped), accepted with 250: inbound, the attacker between
 * the sender and the gateway rewrote STARTTLS away beyond it, so the
 * gateway sees it offered and then a plaintext MAIL. */
static void
c_verb_whitespace(struct gen *g)
{
	static const char *const mail[] = {
		"MAIL\vFROM:<alice@client.example.org>\r\n",
		"MAIL\fFROM:<alice@client.example.org>\r\n",
		"MAIL\rFROM:<alice@client.example.org>\r\n",
		" MAIL FROM:<alice@client.example.org>\r\n",
		"\t MAIL\t FROM:<alice@client.example.org>\r\n",
	};
	struct capw_conn c;

	for (size_t i = 0; i < sizeof mail / sizeof mail[0]; i++) {
		open_conn(g, &c, 4, cli4(g), SRV_ENFORCE, 1);
		greet(g, &c);
		say(g, &c, S, T_REPLY_S);
		say(g, &c, C, mail[i]);
		say(g, &c, S, T_OK);
		fin(g, &c);
	}
}

/* Item 10: clean sessions that must pass: "250- STARTTLS" and
 * "250-STARTTLS=x" (Postfix's client splits capability lines on space,
 * tab and '=' and uses STARTTLS), and a multi-line greeting that begins
 * with a row of '*'. */
static void
c_clean_forms(struct gen *g)
{
	static const char *const reply[] = {
		"250-mx.example.net\r\n250-PIPELINING\r\n250- STARTTLS\r\n250 8BITMIME\r\n",
		"250-mx.example.net\r\n250-PIPELINING\r\n250-STARTTLS=x\r\n250 8BITMIME\r\n",
	};
	struct capw_conn c;

	for (size_t i = 0; i < 2; i++) {
		open_conn(g, &c, 4, cli4(g), SRV_ENFORCE, 1);
		greet(g, &c);
		say(g, &c, S, reply[i]);
		finish(g, &c, 0);
	}
	open_conn(g, &c, 4, cli4(g), SRV_ENFORCE, 1);
	say(g, &c, S, "220-********************************************************\r\n"
	    "220-*   mx.example.net - unsolicited bulk mail is refused   *\r\n"
	    "220-********************************************************\r\n"
	    "220 mx.example.net ESMTP Postfix\r\n");
	say(g, &c, C, T_EHLO);
	say(g, &c, S, T_REPLY_S);
	finish(g, &c, 0);
}

/* TCP Fast Open (item 3's neighbour): data in the SYN, which a server that
 * takes TFO (Exim) hands to the MTA. The EHLO of a client pipelining it
 * into the SYN (Exim's pipe_connect), the server acknowledging it, then
 * the stripped reply; and a whole plaintext transaction in a SYN. */
static void
c_tfo_syn_data(struct gen *g)
{
	static const char *const data[] = {
		T_EHLO,
		T_EHLO T_MAIL "RCPT TO:<bob@example.net>\r\nDATA\r\n",
	};
	struct capw_conn c;

	for (size_t i = 0; i < 2; i++) {
		struct segopt syn = { .flags = TH_SYN }, synack = { .flags = TH_SYN | TH_ACK };
		size_t n = strlen(data[i]);

		open_conn(g, &c, 4, cli4(g), SRV_ENFORCE, 0);
		c.e[C].nxt--;
		c.e[S].nxt--;
		seg(g, &c, C, c.e[C].nxt, data[i], n, &syn);
		c.e[C].nxt += 1 + (uint32_t)n;
		seg(g, &c, S, c.e[S].nxt, NULL, 0, &synack);
		c.e[S].nxt++;
		ack(g, &c, C);
		say(g, &c, S, T_BANNER);
		if (i == 0) {
			say(g, &c, S, T_REPLY_X);
			finish(g, &c, 1);
		} else {
			say(g, &c, S, "250-mx.example.net\r\n250 STARTTLS\r\n" T_OK
			    "250 2.1.5 Ok\r\n354 End data with <CR><LF>.<CR><LF>\r\n");
			say(g, &c, C, "Subject: hi\r\n\r\nplaintext body\r\n.\r\n");
			fin(g, &c);
		}
	}
}

/* Issue 20.8: a new connection on the 4-tuple of a decided one. The first
 * session goes into TLS and is never seen to end (a decided flow is
 * bypassed, its FIN/RST with it; here it has none at all, as when a NAT
 * forgot it); the second, same client port, new ISN, is stripped: it must
 * be inspected from its SYN, not passed with the old flow. */
static void
c_reuse_4tuple(struct gen *g)
{
	struct capw_conn c, d;
	char cli[32];

	snprintf(cli, sizeof cli, "%s", cli4(g));
	open_conn(g, &c, 4, cli, SRV_ENFORCE, 1);
	greet(g, &c);
	say(g, &c, S, T_REPLY_S);
	say(g, &c, C, "STARTTLS\r\n");
	say(g, &c, S, T_READY);
	tls_start(g, &c);
	g->w.ts_us += 30 * 1000000u;
	open_conn(g, &d, 4, cli, SRV_ENFORCE, 0);   /* new ISNs... */
	d.e[C].port = c.e[C].port;                  /* ...same 4-tuple */
	d.e[C].nxt--;
	d.e[S].nxt--;
	capw_handshake(&g->w, &d);
	greet(g, &d);
	say(g, &d, S, T_REPLY_X);
	finish(g, &d, 1);
}

/* Issue 20.9: a session stalled after its EHLO while a flood of greeted
 * sessions to a server without policy fills the flow table
 * (tests/evasion/evasion.conf: engine.max_flows = 64): the oldest 16 are
 * all mid-inspection, so the stalled one is evicted with an alert whose
 * action is "blocked". Then its stripped EHLO reply and plaintext MAIL
 * arrive: they must be dropped and reset (given up as lost), not picked
 * up midstream. 200 flood sessions: inline (t11) two queues share them,
 * and the victim's still gets far more than the 64 that evict it. */
#define EVICT_FLOOD 200
static void
c_evict_victim(struct gen *g)
{
	struct capw_conn v, f;

	open_conn(g, &v, 4, cli4(g), SRV_ENFORCE, 1);
	greet(g, &v);
	for (int i = 0; i < EVICT_FLOOD; i++) {
		open_conn(g, &f, 4, cli4(g), SRV_NONE, 1);
		say(g, &f, S, T_BANNER);
	}
	say(g, &v, S, T_REPLY_X);
	finish(g, &v, 1);
}

struct ecase {
	const char *name;
	void (*fn)(struct gen *g);
};

static const struct ecase cases[] = {
	{ "split_reply_stripped", c_split_reply_stripped },
	{ "split_reply_clean", c_split_reply_clean },
	{ "split_cmd_stripped", c_split_cmd_stripped },
	{ "split_cmd_clean", c_split_cmd_clean },
	{ "reorder_stripped", c_reorder_stripped },
	{ "reorder_clean", c_reorder_clean },
	{ "reorder_64_reversed", c_reorder_many },
	{ "overlap_first_stripped", c_overlap_first_stripped },
	{ "overlap_first_clean", c_overlap_first_clean },
	{ "retrans_first_stripped", c_retrans_first_stripped },
	{ "retrans_first_clean", c_retrans_first_clean },
	{ "below_base", c_below_base },
	{ "urgent_reply", c_urgent_reply },
	{ "urgent_cmd", c_urgent_cmd },
	{ "frag4", c_frag4 },
	{ "frag4_overlap", c_frag4_overlap },
	{ "frag4_partial_overlap", c_frag4_partial_overlap },
	{ "ipv6_ext_frag", c_ipv6_ext },
	{ "midstream", c_midstream },
	{ "one_direction_client", c_one_direction_client },
	{ "one_direction_server", c_one_direction_server },
	{ "long_lines", c_long_lines },
	{ "bare_lf", c_bare_lf },
	{ "pipelined_10k", c_pipelined_10k },
	{ "bad_checksum", c_bad_csum },
	{ "bad_checksum_false_positive", c_bad_csum_false_positive },
	{ "bogus_rst", c_bogus_rst },
	{ "out_of_window", c_out_of_window },
	{ "pin_never_lowers", c_pin_never_lowers },
	{ "greeting_garbage", c_greeting_garbage },
	{ "insert_no_ack", c_insert_no_ack },
	{ "insert_ack_unsent", c_insert_ack_unsent },
	{ "insert_md5", c_insert_md5 },
	{ "insert_ttl", c_insert_ttl },
	{ "rst_insertion", c_rst_insertion },
	{ "verb_whitespace", c_verb_whitespace },
	{ "clean_forms", c_clean_forms },
	{ "tfo_syn_data", c_tfo_syn_data },
	{ "reuse_4tuple", c_reuse_4tuple },
	{ "evict_victim", c_evict_victim },
};

static void
write_case(const char *dir, const struct ecase *ec)
{
	char path[4096];
	struct gen g;

	if ((size_t)snprintf(path, sizeof path, "%s/%s.pcap", dir, ec->name) >= sizeof path)
		die("path too long");
	memset(&g, 0, sizeof g);
	capw_open(&g.w, path, DLT_EN10MB, GEN_SNAPLEN, (uint64_t)GEN_T0_SEC * 1000000u,
	    GEN_PKT_GAP_US);
	g.seed = capw_seed(ec->name);
	ec->fn(&g);
	capw_close(&g.w);
	printf("%-30s %3u sessions %6u packets\n", ec->name, g.nsess, (unsigned)g.w.packets);
}

int
main(int argc, char **argv)
{
	const char *dir = capw_dir_arg(argc, argv, "gen_evasion");

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		write_case(dir, &cases[i]);
	return 0;
}
