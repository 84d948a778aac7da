/*
 * gen_big.c - write a large, deterministic SMTP capture for the benchmarks.
 *
 * Usage: gen_big [-m MB] [-k mixed|plain|syn] [-n SESSIONS] OUT.pcap
 *
 *   mixed  (default) sessions until the file reaches MB megabytes (default
 *          300): ~85% STARTTLS (TLS 1.2 or 1.3) carrying 20-200 KB of
 *          application-data records, the rest plaintext, stripped
 *          (XXXXXXXX), rejected (454) and injected (STARTTLS\r\nRSET).
 *   plain  sessions until MB: every one a full SMTP exchange in cleartext
 *          (no STARTTLS offered, a 1-8 KB message), for sessions/second.
 *   syn    exactly -n SESSIONS client SYNs with distinct tuples and nothing
 *          else: half-open flows for the memory benchmark.
 *
 * 64 sessions run at once and take turns packet by packet, as on a real
 * link. Clients 198.51.100.0/24 and 2001:db8:100::/48 (one in four is
 * IPv6), servers 203.0.113.0/24, 192.0.2.0/24 and 2001:db8:25::/48. Output
 * is byte-identical on every run: one xorshift generator with a fixed seed
 * picks everything. Ethernet link type; lengths and checksums are right
 * (the frames are those of tests/tools/capw.h, the generators' writer).
 * A summary (sessions, packets, bytes) goes to standard error. This is a
 * benchmark tool: it exits on any error.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../tests/tools/capw.h"

/* 2026-11-28 12:00:00 UTC, as the fixtures. */
#define BIG_T0_SEC      1795867200u
/* Link clock: one packet every BIG_PKT_GAP_US (about 1 Gbit/s of 1.5 KB frames). */
#define BIG_PKT_GAP_US  12u
#define BIG_MSS         1448u
#define BIG_CONCURRENT  64
#define BIG_STEPS_MAX   32
/* Opaque (encrypted-looking) bytes are copied from this pool. */
#define BIG_POOL        (1u << 20)
/* Application data: bytes per session, and per TLS record (as OpenSSL). */
#define BIG_APP_MIN     (20u * 1024u)
#define BIG_APP_MAX     (200u * 1024u)
#define BIG_REC_MAX     (16384u + 22u)

#define C 0
#define S 1

/* Session kinds. */
enum kind { K_TLS12, K_TLS13, K_PLAIN, K_STRIPPED, K_REJECTED, K_INJECTED, K_SYN };

/* One step of a dialogue: bytes from one side. */
struct step {
	int dir;          /* C or S */
	uint8_t *p;       /* bytes (owned) */
	size_t len;       /* their length */
};

/* A session being written, packet by packet. */
struct sess {
	struct capw_conn c;            /* [C] client, [S] server */
	struct step st[BIG_STEPS_MAX]; /* the dialogue */
	int nst;                       /* steps used */
	int phase;                     /* 0-2 handshake, 3 data, 4-6 teardown, 7 done */
	int cur;                       /* step being sent */
	size_t off;                    /* bytes of it sent */
	int ack_due;                   /* the peer owes an ACK for the last data */
	unsigned unacked;              /* segments since the peer's last ACK */
};

/* The capture being written. */
struct gen {
	struct capw w;                 /* output, link clock, packets and frame bytes */
	uint64_t sessions;             /* started */
};

static uint32_t rng_state = 0x53544721u;
static uint8_t pool[BIG_POOL];

/* Print and exit. */
static void
die(const char *what)
{
	fprintf(stderr, "gen_big: %s\n", what);
	exit(1);
}

/* Next pseudo-random word. */
static uint32_t
rng_next(void)
{
	return capw_rng(&rng_state);
}

/* Bytes of the capture so far: frames and their 16-byte record headers. */
static uint64_t
big_bytes(const struct gen *g)
{
	return g->w.bytes + 16u * g->w.packets;
}

/* A number in [lo, hi]. */
static uint32_t
rng_range(uint32_t lo, uint32_t hi)
{
	return lo + rng_next() % (hi - lo + 1);
}

/* ------------------------------------------------------------------ */
/* Step payloads                                                       */

/* Append n bytes to step s. */
static void
st_put(struct step *s, const void *d, size_t n)
{
	uint8_t *np = realloc(s->p, s->len + n);
	if (np == NULL)
		die("out of memory");
	s->p = np;
	memcpy(s->p + s->len, d, n);
	s->len += n;
}

/* Append opaque bytes (from the pool, at a random offset). */
static void
st_opaque(struct step *s, size_t n)
{
	uint8_t *np = realloc(s->p, s->len + n);
	if (np == NULL)
		die("out of memory");
	s->p = np;
	while (n > 0) {
		size_t at = rng_next() % (BIG_POOL / 2), k = n < BIG_POOL / 2 ? n : BIG_POOL / 2;
		memcpy(s->p + s->len, pool + at, k);
		s->len += k;
		n -= k;
	}
}

/* Append one TLS record header of type ct with a body of n opaque bytes. */
static void
st_record(struct step *s, unsigned ct, size_t n)
{
	uint8_t h[5] = { (uint8_t)ct, 3, 3, (uint8_t)(n >> 8), (uint8_t)n };
	st_put(s, h, 5);
	st_opaque(s, n);
}

/* Start a new step from dir; returns it. */
static struct step *
st_new(struct sess *ss, int dir)
{
	if (ss->nst >= BIG_STEPS_MAX)
		die("too many steps");
	struct step *s = &ss->st[ss->nst++];
	s->dir = dir;
	s->p = NULL;
	s->len = 0;
	return s;
}

/* A step of text. */
static void
st_text(struct sess *ss, int dir, const char *t)
{
	st_put(st_new(ss, dir), t, strlen(t));
}

/* ClientHello with SNI mx.example.net, supported_versions 1.3/1.2, x25519. */
static void
tls_client_hello(struct sess *ss)
{
	static const uint8_t body_head[] = {
		0x03, 0x03,                                      /* legacy_version */
	};
	static const uint8_t suites_comp[] = {
		0x00, 0x08, 0x13, 0x02, 0x13, 0x01, 0xc0, 0x2c, 0xc0, 0x2f, /* suites */
		0x01, 0x00,                                      /* compression: null */
	};
	static const uint8_t sni[] = {
		0x00, 0x00, 0x00, 0x13, 0x00, 0x11, 0x00, 0x00, 0x0e,
		'm', 'x', '.', 'e', 'x', 'a', 'm', 'p', 'l', 'e', '.', 'n', 'e', 't',
	};
	static const uint8_t exts_rest[] = {
		0x00, 0x0a, 0x00, 0x04, 0x00, 0x02, 0x00, 0x1d,  /* supported_groups */
		0x00, 0x0d, 0x00, 0x04, 0x00, 0x02, 0x04, 0x03,  /* signature_algorithms */
		0x00, 0x2b, 0x00, 0x05, 0x04, 0x03, 0x04, 0x03, 0x03, /* supported_versions */
		0x00, 0x33, 0x00, 0x26, 0x00, 0x24, 0x00, 0x1d, 0x00, 0x20, /* key_share x25519 */
	};
	struct step *s = st_new(ss, C);
	size_t exts = sizeof sni + sizeof exts_rest + 32;
	size_t hs = sizeof body_head + 32 + 1 + 32 + sizeof suites_comp + 2 + exts;
	uint8_t h[9] = { 0x16, 3, 1, (uint8_t)((hs + 4) >> 8), (uint8_t)(hs + 4),
		1, 0, (uint8_t)(hs >> 8), (uint8_t)hs };
	uint8_t el[2] = { (uint8_t)(exts >> 8), (uint8_t)exts };
	uint8_t sidlen = 32;

	st_put(s, h, sizeof h);
	st_put(s, body_head, sizeof body_head);
	st_opaque(s, 32);                    /* random */
	st_put(s, &sidlen, 1);
	st_opaque(s, 32);                    /* session id */
	st_put(s, suites_comp, sizeof suites_comp);
	st_put(s, el, 2);
	st_put(s, sni, sizeof sni);
	st_put(s, exts_rest, sizeof exts_rest);
	st_opaque(s, 32);                    /* the key share */
}

/* ServerHello; v13: with supported_versions 0x0304 (then the encrypted
 * flight), else TLS 1.2 ServerHello + ServerHelloDone. */
static void
tls_server_hello(struct sess *ss, int v13)
{
	static const uint8_t ext12[] = { 0x00, 0x05, 0xff, 0x01, 0x00, 0x01, 0x00 };
	static const uint8_t ext13[] = {
		0x00, 0x2e,
		0x00, 0x2b, 0x00, 0x02, 0x03, 0x04,
		0x00, 0x33, 0x00, 0x24, 0x00, 0x1d, 0x00, 0x20,
	};
	struct step *s = st_new(ss, S);
	const uint8_t *ext = v13 ? ext13 : ext12;
	size_t extlen = v13 ? sizeof ext13 + 32 : sizeof ext12;
	size_t hs = 2 + 32 + 1 + 32 + 3 + extlen;
	size_t rec = 4 + hs + (v13 ? 0 : 4);
	uint8_t h[9] = { 0x16, 3, 3, (uint8_t)(rec >> 8), (uint8_t)rec,
		2, 0, (uint8_t)(hs >> 8), (uint8_t)hs };
	static const uint8_t ver[2] = { 3, 3 };
	static const uint8_t suite13[3] = { 0x13, 0x02, 0 }, suite12[3] = { 0xc0, 0x2f, 0 };
	static const uint8_t done[4] = { 14, 0, 0, 0 };
	uint8_t sidlen = 32;

	st_put(s, h, sizeof h);
	st_put(s, ver, 2);
	st_opaque(s, 32);
	st_put(s, &sidlen, 1);
	st_opaque(s, 32);
	st_put(s, v13 ? suite13 : suite12, 3);
	st_put(s, ext, v13 ? sizeof ext13 : sizeof ext12);
	if (v13) {
		static const uint8_t ccs[6] = { 0x14, 3, 3, 0, 1, 1 };
		st_opaque(s, 32);
		st_put(s, ccs, 6);
		st_record(s, 0x17, 1800);    /* EncryptedExtensions + Certificate */
		st_record(s, 0x17, 286);     /* CertificateVerify */
		st_record(s, 0x17, 69);      /* Finished */
	} else {
		st_put(s, done, 4);
	}
}

/* The rest of the handshake: TLS 1.2 two more flights, TLS 1.3 one. */
static void
tls_finish(struct sess *ss, int v13)
{
	static const uint8_t ccs[6] = { 0x14, 3, 3, 0, 1, 1 };
	struct step *s = st_new(ss, C);

	if (v13) {
		st_put(s, ccs, 6);
		st_record(s, 0x17, 69);
		return;
	}
	static const uint8_t cke[9] = { 0x16, 3, 3, 0, 37, 16, 0, 0, 33 };
	static const uint8_t klen = 32;
	st_put(s, cke, 9);
	st_put(s, &klen, 1);
	st_opaque(s, 32);
	st_put(s, ccs, 6);
	st_record(s, 0x16, 40);
	s = st_new(ss, S);
	st_put(s, ccs, 6);
	st_record(s, 0x16, 40);
}

/* n bytes of application data from dir, in records of at most BIG_REC_MAX. */
static void
tls_appdata(struct sess *ss, int dir, size_t n)
{
	struct step *s = st_new(ss, dir);
	while (n > 0) {
		size_t body = n > BIG_REC_MAX ? BIG_REC_MAX : n;
		st_record(s, 0x17, body);
		n -= body;
	}
}

#define EHLO_TLS  "250-mx.example.net\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n" \
		  "250-STARTTLS\r\n250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n" \
		  "250-DSN\r\n250-SMTPUTF8\r\n250 CHUNKING\r\n"
#define EHLO_NOTLS "250-mx.example.net\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n" \
		  "250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n" \
		  "250-DSN\r\n250-SMTPUTF8\r\n250 CHUNKING\r\n"
#define EHLO_X    "250-mx.example.net\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n" \
		  "250-XXXXXXXX\r\n250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n" \
		  "250-DSN\r\n250-SMTPUTF8\r\n250 CHUNKING\r\n"

/* A cleartext mail transaction with a body of about body_len bytes. */
static void
mail_txn(struct sess *ss, size_t body_len)
{
	static const char line[] =
	    "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod.\r\n";
	st_text(ss, C, "MAIL FROM:<alice@client.example.org>\r\n");
	st_text(ss, S, "250 2.1.0 Ok\r\n");
	st_text(ss, C, "RCPT TO:<bob@example.net>\r\n");
	st_text(ss, S, "250 2.1.5 Ok\r\n");
	st_text(ss, C, "DATA\r\n");
	st_text(ss, S, "354 End data with <CR><LF>.<CR><LF>\r\n");
	struct step *s = st_new(ss, C);
	st_put(s, "From: alice@client.example.org\r\nTo: bob@example.net\r\n"
	    "Subject: benchmark\r\n\r\n", 76);
	for (size_t n = 0; n < body_len; n += sizeof line - 1)
		st_put(s, line, sizeof line - 1);
	st_put(s, ".\r\n", 3);
	st_text(ss, S, "250 2.0.0 Ok: queued as 4Xq3Lz0Hb2z9\r\n");
	st_text(ss, C, "QUIT\r\n");
	st_text(ss, S, "221 2.0.0 Bye\r\n");
}

/* Build the dialogue of a session of kind k. */
static void
build_dialogue(struct sess *ss, enum kind k)
{
	if (k == K_SYN)
		return;
	st_text(ss, S, "220 mx.example.net ESMTP Postfix\r\n");
	st_text(ss, C, "EHLO client.example.org\r\n");
	switch (k) {
	case K_TLS12:
	case K_TLS13: {
		size_t app = rng_range(BIG_APP_MIN, BIG_APP_MAX);
		st_text(ss, S, EHLO_TLS);
		st_text(ss, C, "STARTTLS\r\n");
		st_text(ss, S, "220 2.0.0 Ready to start TLS\r\n");
		tls_client_hello(ss);
		tls_server_hello(ss, k == K_TLS13);
		tls_finish(ss, k == K_TLS13);
		/* the mail goes out, the server answers briefly, twice over */
		tls_appdata(ss, C, app * 9 / 20);
		tls_appdata(ss, S, 120);
		tls_appdata(ss, C, app - app * 9 / 20);
		tls_appdata(ss, S, 300);
		break;
	}
	case K_PLAIN:
		st_text(ss, S, EHLO_NOTLS);
		mail_txn(ss, rng_range(1024, 8192));
		break;
	case K_STRIPPED:
		st_text(ss, S, EHLO_X);
		mail_txn(ss, rng_range(1024, 8192));
		break;
	case K_REJECTED:
		st_text(ss, S, EHLO_TLS);
		st_text(ss, C, "STARTTLS\r\n");
		st_text(ss, S, "454 4.7.0 TLS not available due to local problem\r\n");
		mail_txn(ss, rng_range(1024, 8192));
		break;
	case K_INJECTED:
		st_text(ss, S, EHLO_TLS);
		st_text(ss, C, "STARTTLS\r\nRSET\r\n");
		st_text(ss, S, "220 2.0.0 Ready to start TLS\r\n");
		tls_client_hello(ss);
		tls_server_hello(ss, 0);
		tls_finish(ss, 0);
		tls_appdata(ss, C, rng_range(BIG_APP_MIN, BIG_APP_MAX));
		break;
	case K_SYN:
		break;
	}
}

/* Pick a kind for the mixed capture. */
static enum kind
mixed_kind(void)
{
	uint32_t r = rng_next() % 100;
	if (r < 45)
		return K_TLS12;
	if (r < 85)
		return K_TLS13;
	if (r < 91)
		return K_PLAIN;
	if (r < 94)
		return K_STRIPPED;
	if (r < 97)
		return K_REJECTED;
	return K_INJECTED;
}

/* Start session number i of kind k: distinct client tuple per i. */
static void
sess_start(struct gen *g, struct sess *ss, uint64_t i, enum kind k)
{
	memset(ss, 0, sizeof *ss);
	capw_conn_init(&ss->c, (i % 4 == 3) ? 6 : 4, NULL, NULL, 0);
	uint32_t host = (uint32_t)(i % 250) + 1, hi = (uint32_t)(i / 250);
	if (ss->c.af == 4) {
		uint8_t c4[4] = { 198, 51, 100, (uint8_t)host };
		memcpy(ss->c.e[C].addr, c4, 4);
		if (rng_next() & 1) {
			uint8_t s4[4] = { 203, 0, 113, (uint8_t)rng_range(1, 254) };
			memcpy(ss->c.e[S].addr, s4, 4);
		} else {
			uint8_t s4[4] = { 192, 0, 2, (uint8_t)rng_range(1, 254) };
			memcpy(ss->c.e[S].addr, s4, 4);
		}
	} else {
		/* 2001:db8:100::<hi>:<host> and 2001:db8:25::<n> */
		uint8_t c6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0x01, 0x00 };
		c6[12] = (uint8_t)(hi >> 8);
		c6[13] = (uint8_t)hi;
		c6[15] = (uint8_t)host;
		memcpy(ss->c.e[C].addr, c6, 16);
		uint8_t s6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x25 };
		s6[15] = (uint8_t)rng_range(1, 254);
		memcpy(ss->c.e[S].addr, s6, 16);
	}
	ss->c.e[C].port = (uint16_t)(1024 + hi % 64000);
	ss->c.e[S].port = 25;
	ss->c.e[C].ipid = (uint16_t)rng_next();
	ss->c.e[S].ipid = (uint16_t)rng_next();
	ss->c.e[C].nxt = rng_next();
	ss->c.e[S].nxt = rng_next();
	build_dialogue(ss, k);
	if (k == K_SYN)
		ss->phase = 7;   /* after the SYN: nothing more */
	g->sessions++;
}

/* Free a session's steps. */
static void
sess_free(struct sess *ss)
{
	for (int i = 0; i < ss->nst; i++)
		free(ss->st[i].p);
	ss->nst = 0;
}

/* ------------------------------------------------------------------ */
/* Packets                                                             */

/* Write one segment from side `from` with seq, flags and n payload bytes. */
static void
send_seg(struct gen *g, struct sess *ss, int from, unsigned flags, uint32_t seq,
    const uint8_t *pl, size_t n)
{
	struct capw_seg s = { .flags = flags, .seq = seq, .pl = pl, .n = n };

	capw_send(&g->w, &ss->c, from, &s);
}

/* Write the next packet of a session; returns 0 when it has ended. */
static int
sess_step(struct gen *g, struct sess *ss)
{
	struct capw_end *c = &ss->c.e[C], *s = &ss->c.e[S];

	switch (ss->phase) {
	case 0:
		send_seg(g, ss, C, TH_SYN, c->nxt, NULL, 0);
		c->nxt++;
		ss->phase = 1;
		return 1;
	case 1:
		send_seg(g, ss, S, TH_SYN | TH_ACK, s->nxt, NULL, 0);
		s->nxt++;
		ss->phase = 2;
		return 1;
	case 2:
		send_seg(g, ss, C, TH_ACK, c->nxt, NULL, 0);
		ss->phase = 3;
		return 1;
	case 3: {
		struct step *st = &ss->st[ss->cur];
		int from = st->dir;
		/* the receiver acknowledges every second full segment, and the
		 * end of a step unless it answers with data at once */
		if (ss->ack_due) {
			send_seg(g, ss, !from, TH_ACK, ss->c.e[!from].nxt, NULL, 0);
			ss->ack_due = 0;
			ss->unacked = 0;
			if (ss->off == st->len && ++ss->cur == ss->nst)
				ss->phase = 4;
			else if (ss->off == st->len)
				ss->off = 0;
			return 1;
		}
		size_t n = st->len - ss->off < BIG_MSS ? st->len - ss->off : BIG_MSS;
		int last = ss->off + n == st->len;
		send_seg(g, ss, from, TH_ACK | (last ? TH_PSH : 0),
		    ss->c.e[from].nxt, st->p + ss->off, n);
		ss->c.e[from].nxt += (uint32_t)n;
		ss->off += n;
		ss->unacked++;
		if (last) {
			int answers = ss->cur + 1 < ss->nst && ss->st[ss->cur + 1].dir != from;
			if (answers) {
				ss->off = 0;
				ss->unacked = 0;
				if (++ss->cur == ss->nst)
					ss->phase = 4;
			} else {
				ss->ack_due = 1;
			}
		} else if (ss->unacked >= 2) {
			ss->ack_due = 1;
		}
		return 1;
	}
	case 4:
		send_seg(g, ss, C, TH_FIN | TH_ACK, c->nxt, NULL, 0);
		c->nxt++;
		ss->phase = 5;
		return 1;
	case 5:
		send_seg(g, ss, S, TH_FIN | TH_ACK, s->nxt, NULL, 0);
		s->nxt++;
		ss->phase = 6;
		return 1;
	case 6:
		send_seg(g, ss, C, TH_ACK, c->nxt, NULL, 0);
		ss->phase = 7;
		return 1;
	default:
		return 0;
	}
}

static void
usage(void)
{
	fprintf(stderr, "usage: gen_big [-m MB] [-k mixed|plain|syn] [-n SESSIONS] OUT.pcap\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	static struct sess act[BIG_CONCURRENT];
	unsigned long mb = 300, nsyn = 0;
	const char *kind = "mixed";
	int opt;

	while ((opt = getopt(argc, argv, "m:k:n:")) != -1) {
		switch (opt) {
		case 'm':
			mb = strtoul(optarg, NULL, 10);
			break;
		case 'k':
			kind = optarg;
			break;
		case 'n':
			nsyn = strtoul(optarg, NULL, 10);
			break;
		default:
			usage();
		}
	}
	if (optind + 1 != argc || mb == 0)
		usage();
	int k_mixed = strcmp(kind, "mixed") == 0, k_plain = strcmp(kind, "plain") == 0;
	int k_syn = strcmp(kind, "syn") == 0;
	if (!k_mixed && !k_plain && !k_syn)
		usage();
	if (k_syn && nsyn == 0)
		die("-k syn needs -n SESSIONS");

	for (size_t i = 0; i < BIG_POOL; i += 4) {
		uint32_t w = rng_next();
		memcpy(pool + i, &w, 4);
	}
	struct gen g;
	memset(&g, 0, sizeof g);
	/* the SYN capture: one SYN every microsecond */
	capw_open(&g.w, argv[optind], DLT_EN10MB, 65535, (uint64_t)BIG_T0_SEC * 1000000u,
	    k_syn ? 1 : BIG_PKT_GAP_US);

	if (k_syn) {
		/* one SYN per tuple, 1 us apart: all half-open at the end */
		struct sess ss;
		for (uint64_t i = 0; i < nsyn; i++) {
			sess_start(&g, &ss, i, K_SYN);
			send_seg(&g, &ss, C, TH_SYN, ss.c.e[C].nxt, NULL, 0);
		}
	} else {
		uint64_t limit = (uint64_t)mb * 1000000u, next = 0;
		int live = 0;
		for (int i = 0; i < BIG_CONCURRENT; i++) {
			sess_start(&g, &act[i], next++, k_plain ? K_PLAIN : mixed_kind());
			live++;
		}
		/* round robin; a finished slot starts a new session until the
		 * size is reached, then the others run to their end */
		while (live > 0) {
			for (int i = 0; i < BIG_CONCURRENT; i++) {
				if (act[i].phase == 7 && act[i].nst == 0)
					continue;
				if (sess_step(&g, &act[i]))
					continue;
				sess_free(&act[i]);
				if (big_bytes(&g) < limit) {
					sess_start(&g, &act[i], next++,
					    k_plain ? K_PLAIN : mixed_kind());
				} else {
					act[i].phase = 7;
					live--;
				}
			}
		}
	}
	capw_close(&g.w);
	fprintf(stderr, "gen_big: %s: %llu sessions, %llu packets, %llu bytes\n",
	    argv[optind], (unsigned long long)g.sessions,
	    (unsigned long long)g.w.packets, (unsigned long long)(big_bytes(&g) + 24));
	return 0;
}
