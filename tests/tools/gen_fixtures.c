/*
 * gen_fixtures.c - write the golden pcap fixtures, one capture per case.
 *
 * Usage: gen_fixtures DIR   (writes DIR/<case>.pcap for every case below)
 *
 * Each case is a small SMTP dialogue written as a table of steps tagged by
 * direction ({ C, "EHLO ...\r\n" }, { S, "250-..." }), plus TLS record
 * helpers, segment splitting, reordering and retransmission. The generator
 * builds real TCP/IP around it with the capture writer shared by every
 * generator (capw.h): handshake, correct seq/ack, IPv4 header and TCP
 * checksums (IPv6 with its pseudo-header), FIN or RST at the end.
 * Output must be byte-identical on every run and every machine: timestamps
 * start at 2026-11-28 12:00:00 UTC and advance by fixed steps, ISNs, ports
 * and "random" TLS bytes derive from the case name only. tests/run-golden.sh
 * compares the result with the committed captures in tests/fixtures/, so a
 * change here must be committed together with the regenerated captures.
 *
 * Addresses: clients 198.51.100.0/24 and 2001:db8:100::/48, servers
 * 203.0.113.0/24, 192.0.2.0/24 (no config rule) and 2001:db8:25::/48.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../../inspect/wire.h"
#include "capw.h"

/* 2026-11-28 12:00:00 UTC: every capture starts here. */
#define GEN_T0_SEC      1795867200u
/* Clock steps: between packets of one burst, and between dialogue steps. */
#define GEN_PKT_GAP_US  150u
#define GEN_STEP_GAP_US 12000u
/* Payload bytes per segment: Ethernet MTU minus IP/TCP with timestamps. */
#define GEN_MSS         1448u
#define GEN_MAX_SEGS    64
#define GEN_SNAPLEN     65535
#define GEN_MAX_SESS    2

/* Directions in a step: the side that opened the connection, or the server. */
#define C 0
#define S 1

/* What a step produces. OP_TEXT is 0 so that { C, "..." } is a text step. */
enum op {
	OP_TEXT = 0,      /* text: the bytes of .text */
	OP_BYTES,         /* .arg raw bytes of .text (may contain NUL) */
	OP_LONGLINE,      /* .text, then filler, then CRLF: .arg bytes in all */
	OP_CLIENT_HELLO,  /* one ClientHello record with SNI */
	OP_SERVER_HELLO12,/* ServerHello (TLS 1.2) + ServerHelloDone */
	OP_CLIENT_FIN12,  /* ClientKeyExchange, ChangeCipherSpec, Finished */
	OP_SERVER_FIN12,  /* ChangeCipherSpec, Finished */
	OP_SERVER_HELLO13,/* ServerHello with supported_versions 0x0304, CCS, encrypted flight */
	OP_CLIENT_FIN13,  /* CCS, encrypted Finished */
	OP_APPDATA,       /* .arg bytes of application data in 0x17 records */
	OP_TLSFILE,       /* real handshake bytes from tests/tls/<.text>: .arg 0 = the client's
	                     first record, 1 = all the server sent, 2 = the client's rest */
	OP_PAUSE,         /* the clock jumps .arg seconds */
	OP_FIN,           /* .dir closes, the peer closes too: FIN, FIN, ACK */
	OP_RST,           /* .dir resets the connection */
	OP_END            /* end of the table */
};

/* Dialogue tables say { C, "EHLO ...\r\n" } and rely on zeroed defaults
 * for the other fields; -Wextra would flag every such line. */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

/* One step of a dialogue. */
struct step {
	int dir;              /* C or S: who sends */
	const char *text;     /* bytes for OP_TEXT / OP_BYTES / OP_LONGLINE */
	enum op op;           /* what to produce */
	unsigned arg;         /* length / size / seconds, per op */
	const int *split;     /* cut the step's bytes at these offsets, -1 ends */
	const int *order;     /* send segments in this order (indices), -1 ends */
	const char *retrans;  /* afterwards resend segment retrans_seg with these bytes */
	int retrans_seg;      /* which segment retrans replaces */
};

/* One TCP connection of a case. */
struct session {
	int af;                   /* 4 or 6 */
	const char *cli, *srv;    /* addresses */
	const struct step *steps; /* ends with OP_END */
	int start_at;             /* first step written (midstream); 0 = all, handshake included */
	unsigned delay_s;         /* seconds after the previous session's last packet */
	const char *dns;          /* if set: first a DNS answer "dns has the server's address" */
	int dns_tcp;              /* ...over TCP (one segment, length-prefixed), not UDP */
	int stop_at;              /* steps from this one on are not written (the first half of
	                             a capture cut in two); 0 = to the end */
};

/* One capture. */
struct fcase {
	const char *name;         /* file name without .pcap */
	int dlt;                  /* DLT_EN10MB, DLT_LINUX_SLL or DLT_RAW */
	struct session sess[GEN_MAX_SESS];
	const char *seed_of;      /* seed the connections as for this case name (the halves of
	                             one capture); NULL = name */
};

/* ------------------------------------------------------------------ */
/* Dialogue building blocks                                            */

#define END                { .op = OP_END }
#define FIN(d)             { .dir = (d), .op = OP_FIN }
#define RST(d)             { .dir = (d), .op = OP_RST }
#define PAUSE(s)           { .op = OP_PAUSE, .arg = (s) }
#define BYTES(d, s)        { .dir = (d), .op = OP_BYTES, .text = (s), .arg = sizeof(s) - 1 }
#define APPDATA(d, n)      { .dir = (d), .op = OP_APPDATA, .arg = (n) }
#define CLIENT_HELLO       { .dir = C, .op = OP_CLIENT_HELLO }

#define BANNER       { S, "220 mx.example.net ESMTP Postfix\r\n" }
#define EHLO         { C, "EHLO client.example.org\r\n" }
/* Postfix's usual EHLO reply, with and without STARTTLS. */
#define EHLO_TLS     { S, "250-mx.example.net\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n" \
			  "250-STARTTLS\r\n250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n" \
			  "250-DSN\r\n250-SMTPUTF8\r\n250 CHUNKING\r\n" }
#define EHLO_NOTLS   { S, "250-mx.example.net\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n" \
			  "250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n" \
			  "250-DSN\r\n250-SMTPUTF8\r\n250 CHUNKING\r\n" }
#define STARTTLS     { C, "STARTTLS\r\n" }
#define READY        { S, "220 2.0.0 Ready to start TLS\r\n" }
#define TLS12        CLIENT_HELLO, { .dir = S, .op = OP_SERVER_HELLO12 }, \
		     { .dir = C, .op = OP_CLIENT_FIN12 }, { .dir = S, .op = OP_SERVER_FIN12 }, \
		     APPDATA(C, 6000), APPDATA(S, 300)
#define TLS13        CLIENT_HELLO, { .dir = S, .op = OP_SERVER_HELLO13 }, \
		     { .dir = C, .op = OP_CLIENT_FIN13 }, \
		     APPDATA(C, 5000), APPDATA(S, 400)
#define ALERT_HS_FAILURE BYTES(S, "\x15\x03\x03\x00\x02\x02\x28")
/* A cleartext mail transaction to its end. */
#define MAIL_TXN     { C, "MAIL FROM:<alice@client.example.org>\r\n" }, \
		     { S, "250 2.1.0 Ok\r\n" }, \
		     { C, "RCPT TO:<bob@example.net>\r\n" }, \
		     { S, "250 2.1.5 Ok\r\n" }, \
		     { C, "DATA\r\n" }, \
		     { S, "354 End data with <CR><LF>.<CR><LF>\r\n" }, \
		     { C, "From: alice@client.example.org\r\nTo: bob@example.net\r\n" \
			  "Subject: fixture\r\n\r\nHello Bob.\r\n.\r\n" }, \
		     { S, "250 2.0.0 Ok: queued as 4Xq3Lz0Hb2z9\r\n" }, \
		     { C, "QUIT\r\n" }, \
		     { S, "221 2.0.0 Bye\r\n" }

#define SPLIT(...)   .split = (const int[]){ __VA_ARGS__, -1 }
#define ORDER(...)   .order = (const int[]){ __VA_ARGS__, -1 }

/* ------------------------------------------------------------------ */
/* Dialogues                                                           */

static const struct step d_clean_tls12[] = {
	BANNER, EHLO, EHLO_TLS, STARTTLS, READY, TLS12, FIN(C), END
};

static const struct step d_clean_tls13[] = {
	BANNER, EHLO, EHLO_TLS, STARTTLS, READY, TLS13, FIN(C), END
};

static const struct step d_lowercase[] = {
	{ S, "220 mx.example.net ESMTP\r\n" },
	{ C, "ehlo client.example.org\r\n" },
	{ S, "250-mx.example.net\r\n250-pipelining\r\n250-starttls\r\n250 8bitmime\r\n" },
	{ C, "starttls\r\n" },
	{ S, "220 go ahead\r\n" },
	TLS13, FIN(C), END
};

/* "250-mx.example.net\r\n250-PIPELINING\r\n250-" is 40 bytes: cut after
 * "250-", in the middle of "STARTTLS" and once more inside it. */
static const struct step d_ehlo_split[] = {
	BANNER, EHLO,
	{ S, "250-mx.example.net\r\n250-PIPELINING\r\n250-STARTTLS\r\n250 8BITMIME\r\n",
	  SPLIT(40, 44, 47) },
	STARTTLS, READY, TLS12, FIN(C), END
};

static const struct step d_out_of_order[] = {
	BANNER, EHLO,
	{ S, "250-mx.example.net\r\n250-PIPELINING\r\n250-STARTTLS\r\n250 8BITMIME\r\n",
	  SPLIT(20, 36), ORDER(2, 1, 0) },
	STARTTLS, READY, TLS12, FIN(C), END
};

static const struct step d_no_starttls[] = {
	BANNER, EHLO, EHLO_NOTLS, MAIL_TXN, FIN(C), END
};

static const struct step d_stripped_x[] = {
	BANNER, EHLO,
	{ S, "250-mx.example.net\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n"
	     "250-XXXXXXXX\r\n250-ENHANCEDSTATUSCODES\r\n250 8BITMIME\r\n" },
	MAIL_TXN, FIN(C), END
};

static const struct step d_stripped_xa[] = {
	BANNER, EHLO,
	{ S, "250-mx.example.net\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n"
	     "250-XXXXXXXA\r\n250-ENHANCEDSTATUSCODES\r\n250 8BITMIME\r\n" },
	MAIL_TXN, FIN(C), END
};

static const struct step d_pix_banner[] = {
	{ S, "220 ****************2*0**0*********\r\n" },
	EHLO, EHLO_NOTLS, MAIL_TXN, FIN(C), END
};

static const struct step d_unknown_cmd[] = {
	BANNER, EHLO, EHLO_TLS, STARTTLS,
	{ S, "502 5.5.2 Error: command not recognized\r\n" },
	MAIL_TXN, FIN(C), END
};

static const struct step d_rejected_454[] = {
	BANNER, EHLO, EHLO_TLS, STARTTLS,
	{ S, "454 4.7.0 TLS not available due to local problem\r\n" },
	MAIL_TXN, FIN(C), END
};

static const struct step d_injection_client[] = {
	BANNER, EHLO, EHLO_TLS,
	{ C, "STARTTLS\r\nRSET\r\n" },
	READY, TLS12, FIN(C), END
};

static const struct step d_injection_server[] = {
	BANNER, EHLO, EHLO_TLS, STARTTLS,
	{ S, "220 2.0.0 Ready to start TLS\r\n250 2.0.0 injected\r\n" },
	TLS12, FIN(C), END
};

/* The client ignores the 220 and goes on in cleartext; the capture stops
 * while the server still waits for a ClientHello (no FIN: a FIN there
 * would be a separate, legitimate tls_handshake_failed question). */
static const struct step d_plain_after[] = {
	BANNER, EHLO, EHLO_TLS, STARTTLS, READY,
	{ C, "EHLO x\r\n" },
	END
};

static const struct step d_plain_auth[] = {
	BANNER, EHLO,
	{ S, "250-mx.example.com\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n"
	     "250-AUTH PLAIN LOGIN\r\n250-ENHANCEDSTATUSCODES\r\n250 8BITMIME\r\n" },
	{ C, "AUTH PLAIN AGFsaWNlAHMzY3IzdA==\r\n" },
	{ S, "235 2.7.0 Authentication successful\r\n" },
	MAIL_TXN, FIN(C), END
};

/* Blocked at the EHLO reply; the capture goes on as the real world would
 * not, to show the engine ignores a blocked flow. */
static const struct step d_downgrade[] = {
	BANNER, EHLO, EHLO_NOTLS, MAIL_TXN, FIN(C), END
};

/* The EHLO segment is resent at once with other bytes of the same length. */
static const struct step d_overlap[] = {
	BANNER,
	{ C, "EHLO client.example.org\r\n", .retrans = "EHLO evil.attacker.test\r\n" },
	EHLO_TLS, STARTTLS, READY, TLS13, FIN(C), END
};

static const struct step d_line_too_long[] = {
	{ S, "220-mx.example.com ESMTP ", .op = OP_LONGLINE, .arg = 5000 },
	{ S, "220 mx.example.com ESMTP\r\n" },
	EHLO, EHLO_NOTLS, MAIL_TXN, FIN(C), END
};

static const struct step d_hs_alert[] = {
	BANNER, EHLO, EHLO_TLS, STARTTLS, READY, CLIENT_HELLO,
	ALERT_HS_FAILURE, FIN(S), END
};

static const struct step d_hs_rst[] = {
	BANNER, EHLO, EHLO_TLS, STARTTLS, READY, CLIENT_HELLO, RST(S), END
};

/* Second session of tls_fallback: STARTTLS offered, not used. */
static const struct step d_fallback_plain[] = {
	BANNER, EHLO, EHLO_TLS, MAIL_TXN, FIN(C), END
};

/* midstream: written from step 3 (the stripped reply) on. */
static const struct step d_midstream[] = {
	BANNER, EHLO,
	{ S, "250-mx.example.net\r\n250-PIPELINING\r\n250-XXXXXXXX\r\n250 8BITMIME\r\n" },
	MAIL_TXN, FIN(C), END
};

/* A reply held past the inspecting idle limit's old value (600 s: the
 * session must still be inspected) and past its new one (7200 s: the flow
 * is forgotten, remembered as lost, and the held reply is given up:
 * blocked under enforce). sendmail waits an hour for either reply. */
#define HELD_STARTTLS_REPLY(var, secs) static const struct step var[] = { \
	BANNER, EHLO, EHLO_TLS, STARTTLS, PAUSE(secs), \
	{ S, "454 4.7.0 TLS not available due to local problem\r\n" }, MAIL_TXN, FIN(C), END }
HELD_STARTTLS_REPLY(d_held_starttls_700, 700);
HELD_STARTTLS_REPLY(d_held_starttls_7300, 7300);
#define HELD_EHLO_REPLY(var, secs) static const struct step var[] = { \
	BANNER, EHLO, PAUSE(secs), \
	{ S, "250-mx.example.net\r\n250-PIPELINING\r\n250-XXXXXXXX\r\n250 8BITMIME\r\n" }, \
	MAIL_TXN, FIN(C), END }
HELD_EHLO_REPLY(d_held_ehlo_700, 700);
HELD_EHLO_REPLY(d_held_ehlo_7300, 7300);

/* A restart mid-session: one capture cut in two after the EHLO (step 2),
 * the halves replayed as two runs (tests/run-golden.sh). */
static const struct step d_restart[] = {
	BANNER, EHLO,
	{ S, "250-mx.example.net\r\n250-PIPELINING\r\n250-XXXXXXXX\r\n250 8BITMIME\r\n" },
	MAIL_TXN, FIN(C), END
};

/* Policy cases (tests/fixtures/policy/, tests/run-policy.sh). */
#define BANNER_RELAY { S, "220 relay.example.com ESMTP\r\n" }
static const struct step d_pol_notls[] = {       /* STARTTLS deleted from the reply */
	BANNER_RELAY, EHLO, EHLO_NOTLS, MAIL_TXN, FIN(C), END
};
static const struct step d_pol_banner[] = {      /* names itself mx.example.net */
	BANNER, EHLO, EHLO_NOTLS, MAIL_TXN, FIN(C), END
};
static const struct step d_pol_notls_other[] = { /* recipient domain without a policy */
	BANNER_RELAY, EHLO, EHLO_NOTLS,
	{ C, "MAIL FROM:<alice@client.example.org>\r\n" }, { S, "250 2.1.0 Ok\r\n" },
	{ C, "RCPT TO:<carol@other.example>\r\n" }, { S, "250 2.1.5 Ok\r\n" },
	{ C, "QUIT\r\n" }, { S, "221 2.0.0 Bye\r\n" }, FIN(C), END
};
#define TLSFILE(d, name, part) { .dir = (d), .op = OP_TLSFILE, .text = (name), .arg = (part) }
#define REAL_TLS(name) TLSFILE(C, name, 0), TLSFILE(S, name, 1), TLSFILE(C, name, 2)
#define REAL_TLS_DIALOGUE(var, name) static const struct step var[] = { \
	BANNER_RELAY, EHLO, EHLO_TLS, STARTTLS, READY, REAL_TLS(name), FIN(C), END }
/* The first RCPT (the one its domain's policy decides at) held past the
 * old and the new inspecting idle limit. */
#define HELD_RCPT(var, secs) static const struct step var[] = { \
	BANNER_RELAY, EHLO, EHLO_NOTLS, \
	{ C, "MAIL FROM:<alice@client.example.org>\r\n" }, { S, "250 2.1.0 Ok\r\n" }, \
	PAUSE(secs), { C, "RCPT TO:<bob@example.net>\r\n" }, { S, "250 2.1.5 Ok\r\n" }, \
	{ C, "QUIT\r\n" }, { S, "221 2.0.0 Bye\r\n" }, FIN(C), END }
HELD_RCPT(d_held_rcpt_700, 700);
HELD_RCPT(d_held_rcpt_7300, 7300);
REAL_TLS_DIALOGUE(d_real_tls12, "tls12");
REAL_TLS_DIALOGUE(d_real_tls12_wrongname, "tls12_wrongname");
REAL_TLS_DIALOGUE(d_real_tls12_expired, "tls12_expired");
REAL_TLS_DIALOGUE(d_real_tls12_selfsigned, "tls12_selfsigned");
REAL_TLS_DIALOGUE(d_real_tls10, "tls10");
REAL_TLS_DIALOGUE(d_real_tls13, "tls13");
REAL_TLS_DIALOGUE(d_real_tls13_hrr, "tls13_hrr");
static const struct step d_pol_tls[] = {
	BANNER_RELAY, EHLO, EHLO_TLS, STARTTLS, READY, TLS12, FIN(C), END
};

/* Issue 12: Cisco ESMTP inspection masks keywords it does not allow with
 * X's and a sequence letter. BINARYMIME needs CHUNKING, which is absent:
 * the 8-character mask may hide CHUNKING (a masked capability), not
 * necessarily STARTTLS. The same reply with CHUNKING in clear: then only
 * STARTTLS is left to hide (stripping). */
static const struct step d_masked_chunking[] = {
	BANNER, EHLO,
	{ S, "250-mx.example.net\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n"
	     "250-BINARYMIME\r\n250-XXXXXXXB\r\n250-8BITMIME\r\n250 DSN\r\n" },
	MAIL_TXN, FIN(C), END
};
static const struct step d_masked_starttls[] = {
	BANNER, EHLO,
	{ S, "250-mx.example.net\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n"
	     "250-BINARYMIME\r\n250-CHUNKING\r\n250-XXXXXXXB\r\n250-8BITMIME\r\n"
	     "250 DSN\r\n" },
	MAIL_TXN, FIN(C), END
};
/* A server that takes DATA (or BDAT) with no MAIL before it: the message
 * crosses in cleartext all the same. */
static const struct step d_data_without_mail[] = {
	BANNER, EHLO, EHLO_TLS,
	{ C, "DATA\r\n" },
	{ S, "354 End data with <CR><LF>.<CR><LF>\r\n" },
	{ C, "From: alice@client.example.org\r\nTo: bob@example.net\r\n"
	     "Subject: fixture\r\n\r\nHello Bob.\r\n.\r\n" },
	{ S, "250 2.0.0 Ok: queued as 4Xq3Lz0Hb2z9\r\n" },
	{ C, "QUIT\r\n" }, { S, "221 2.0.0 Bye\r\n" }, FIN(C), END
};
static const struct step d_bdat_without_mail[] = {
	BANNER, EHLO, EHLO_NOTLS,
	{ C, "BDAT 85 LAST\r\nFrom: alice@client.example.org\r\nTo: bob@example.net\r\n"
	     "Subject: fixture\r\n\r\nHello Bob.\r\n" },
	{ S, "250 2.0.0 Ok: queued as 4Xq3Lz0Hb2z9\r\n" },
	{ C, "QUIT\r\n" }, { S, "221 2.0.0 Bye\r\n" }, FIN(C), END
};

#define V4(c, s, d)   { 4, (c), (s), (d), 0, 0 }
#define V6(c, s, d)   { 6, (c), (s), (d), 0, 0 }

static const struct fcase cases[] = {
	/* issue 12: a masked CHUNKING and a masked STARTTLS side by side, both
	 * to enforced servers; a masked CHUNKING where nothing expects TLS;
	 * DATA and BDAT without MAIL */
	{ "masked_keywords", DLT_EN10MB, { V4("198.51.100.70", "203.0.113.42", d_masked_chunking),
	  V4("198.51.100.71", "203.0.113.43", d_masked_starttls) } },
	{ "masked_chunking_nopolicy", DLT_EN10MB,
	  { V4("198.51.100.72", "192.0.2.60", d_masked_chunking) } },
	{ "data_without_mail", DLT_EN10MB,
	  { V4("198.51.100.73", "203.0.113.44", d_data_without_mail) } },
	{ "bdat_without_mail", DLT_EN10MB,
	  { V4("198.51.100.74", "192.0.2.61", d_bdat_without_mail) } },
	{ "clean_tls12", DLT_EN10MB, { V4("198.51.100.7", "203.0.113.25", d_clean_tls12) } },
	{ "clean_tls13", DLT_EN10MB, { V4("198.51.100.8", "203.0.113.130", d_clean_tls13) } },
	{ "lowercase_starttls", DLT_EN10MB, { V4("198.51.100.9", "203.0.113.26", d_lowercase) } },
	{ "ehlo_split_midword", DLT_EN10MB, { V4("198.51.100.10", "203.0.113.27", d_ehlo_split) } },
	{ "out_of_order", DLT_EN10MB, { V4("198.51.100.11", "203.0.113.28", d_out_of_order) } },
	{ "ipv6_clean", DLT_EN10MB, { V6("2001:db8:100::7", "2001:db8:25::25", d_clean_tls13) } },
	{ "sll_clean", DLT_LINUX_SLL, { V4("198.51.100.12", "203.0.113.131", d_clean_tls12) } },
	{ "rawip_clean", DLT_RAW, { V4("198.51.100.13", "203.0.113.29", d_clean_tls13) } },
	{ "no_starttls_server_nopolicy", DLT_EN10MB, { V4("198.51.100.14", "192.0.2.25", d_no_starttls) } },
	{ "stripped_xxxxxxxx", DLT_EN10MB, { V4("198.51.100.15", "203.0.113.10", d_stripped_x) } },
	{ "stripped_xxxxxxxa_testing", DLT_EN10MB, { V4("198.51.100.16", "203.0.113.200", d_stripped_xa) } },
	{ "pix_banner", DLT_EN10MB, { V4("198.51.100.17", "192.0.2.26", d_pix_banner) } },
	{ "stripped_unknown_command", DLT_EN10MB, { V4("198.51.100.18", "203.0.113.140", d_unknown_cmd) } },
	{ "rejected_454", DLT_EN10MB, { V4("198.51.100.19", "203.0.113.30", d_rejected_454) } },
	{ "injection_client", DLT_EN10MB, { V4("198.51.100.20", "203.0.113.31", d_injection_client) } },
	{ "injection_server", DLT_EN10MB, { V4("198.51.100.21", "203.0.113.132", d_injection_server) } },
	{ "plaintext_after_starttls", DLT_EN10MB, { V4("198.51.100.22", "192.0.2.27", d_plain_after) } },
	{ "plaintext_auth", DLT_EN10MB, { V4("198.51.100.23", "192.0.2.28", d_plain_auth) } },
	{ "downgrade_no_starttls", DLT_EN10MB, { V4("198.51.100.24", "203.0.113.32", d_downgrade) } },
	{ "downgrade_ipv6", DLT_EN10MB, { V6("2001:db8:100::24", "2001:db8:25::25", d_downgrade) } },
	{ "overlap_conflict", DLT_EN10MB, { V4("198.51.100.25", "192.0.2.29", d_overlap) } },
	{ "line_too_long", DLT_EN10MB, { V4("198.51.100.26", "192.0.2.30", d_line_too_long) } },
	{ "handshake_alert", DLT_EN10MB, { V4("198.51.100.27", "203.0.113.141", d_hs_alert) } },
	{ "handshake_rst", DLT_EN10MB, { V4("198.51.100.28", "203.0.113.33", d_hs_rst) } },
	{ "tls_fallback", DLT_EN10MB, {
		V4("198.51.100.29", "192.0.2.31", d_hs_alert),
		{ 4, "198.51.100.29", "192.0.2.31", d_fallback_plain, 0, 10 } } },
	{ "midstream", DLT_EN10MB, { { 4, "198.51.100.30", "203.0.113.11", d_midstream, 2, 0 } } },
	/* An on-path attacker resets the handshake; the sender retries in
	 * plaintext 5 s later. Under enforce the retry is blocked. */
	{ "tls_fallback_enforce", DLT_EN10MB, {
		V4("198.51.100.31", "203.0.113.34", d_hs_rst),
		{ 4, "198.51.100.31", "203.0.113.34", d_fallback_plain, 0, 5 } } },
	/* Held replies (issue 19), enforced servers. */
	{ "held_starttls_reply_700", DLT_EN10MB, { V4("198.51.100.60", "203.0.113.35", d_held_starttls_700) } },
	{ "held_starttls_reply_7300", DLT_EN10MB, { V4("198.51.100.61", "203.0.113.36", d_held_starttls_7300) } },
	{ "held_ehlo_reply_700", DLT_EN10MB, { V4("198.51.100.62", "203.0.113.37", d_held_ehlo_700) } },
	{ "held_ehlo_reply_7300", DLT_EN10MB, { V4("198.51.100.63", "203.0.113.38", d_held_ehlo_7300) } },
	/* The two halves of one session, cut after the EHLO. */
	{ "restart_first", DLT_EN10MB, { { 4, "198.51.100.64", "203.0.113.39", d_restart, 0, 0, NULL, 0, 2 } },
	    "restart" },
	{ "restart_second", DLT_EN10MB, { { 4, "198.51.100.64", "203.0.113.39", d_restart, 2, 0, NULL, 0, 0 } },
	    "restart" },
};

/* Domain policies, DNS-learned MX names, recipient domains, pins: replayed
 * with tests/fixtures/policy/policy.conf by tests/run-policy.sh. */
static const struct fcase policy_cases[] = {
	{ "eff_dns_downgrade", DLT_EN10MB, {
		{ 4, "198.51.100.40", "192.0.2.40", d_pol_notls, 0, 0, "gmail-smtp-in.l.google.com" } } },
	{ "sts_dns_downgrade", DLT_EN10MB, {
		{ 4, "198.51.100.41", "192.0.2.41", d_pol_notls, 0, 0, "mx.example.net" } } },
	/* The MX answer over TCP (what a resolver does after a truncated UDP
	 * answer, which an on-path attacker can force); the recipient is of
	 * another domain, so only the learned MX name brings the policy. */
	{ "sts_dns_tcp_downgrade", DLT_EN10MB, {
		{ 4, "198.51.100.48", "192.0.2.48", d_pol_notls_other, 0, 0, "mx.example.net", 1 } } },
	{ "sts_dns_ipv6", DLT_EN10MB, {
		{ 6, "2001:db8:100::41", "2001:db8:41::25", d_pol_notls, 0, 0, "mx.example.net" } } },
	{ "rcpt_domain_downgrade", DLT_EN10MB, { V4("198.51.100.42", "192.0.2.42", d_pol_notls) } },
	{ "banner_raise", DLT_EN10MB, { V4("198.51.100.43", "192.0.2.43", d_pol_banner) } },
	{ "pin_in_capture", DLT_EN10MB, {
		V4("198.51.100.44", "192.0.2.44", d_pol_tls),
		{ 4, "198.51.100.44", "192.0.2.44", d_pol_notls_other, 0, 60, NULL } } },
	{ "pin_first_tls", DLT_EN10MB, { V4("198.51.100.45", "192.0.2.45", d_pol_tls) } },
	{ "pin_then_plain", DLT_EN10MB, { V4("198.51.100.45", "192.0.2.45", d_pol_notls_other) } },
	{ "config_domain_dns", DLT_EN10MB, {
		{ 4, "198.51.100.46", "192.0.2.46", d_pol_notls, 0, 0, "mx.config.example" } } },
	{ "no_policy_other_rcpt", DLT_EN10MB, { V4("198.51.100.47", "192.0.2.47", d_pol_notls_other) } },
	/* Real handshakes (tests/tls, made by OpenSSL) to an MX of example.net,
	 * whose MTA-STS policy (enforce) names mx.example.net. */
	{ "tls12_sts_valid", DLT_EN10MB, {
		{ 4, "198.51.100.50", "192.0.2.50", d_real_tls12, 0, 0, "mx.example.net" } } },
	{ "tls12_sts_wrongname", DLT_EN10MB, {
		{ 4, "198.51.100.51", "192.0.2.51", d_real_tls12_wrongname, 0, 0, "mx.example.net" } } },
	{ "tls12_sts_expired", DLT_EN10MB, {
		{ 4, "198.51.100.52", "192.0.2.52", d_real_tls12_expired, 0, 0, "mx.example.net" } } },
	{ "tls12_sts_selfsigned", DLT_EN10MB, {
		{ 4, "198.51.100.53", "192.0.2.53", d_real_tls12_selfsigned, 0, 0, "mx.example.net" } } },
	{ "tls10_sts_weak", DLT_EN10MB, {
		{ 4, "198.51.100.54", "192.0.2.54", d_real_tls10, 0, 0, "mx.example.net" } } },
	{ "tls13_sts", DLT_EN10MB, {
		{ 4, "198.51.100.55", "192.0.2.55", d_real_tls13, 0, 0, "mx.example.net" } } },
	{ "tls13_hrr_sts", DLT_EN10MB, {
		{ 4, "198.51.100.56", "192.0.2.56", d_real_tls13_hrr, 0, 0, "mx.example.net" } } },
	/* The same self-signed server with no policy naming its MX: informational. */
	{ "tls12_selfsigned_nopolicy", DLT_EN10MB, { V4("198.51.100.57", "192.0.2.57", d_real_tls12_selfsigned) } },
	/* The first RCPT to example.net (MTA-STS enforce) held (issue 19). */
	{ "held_rcpt_700", DLT_EN10MB, { V4("198.51.100.58", "192.0.2.58", d_held_rcpt_700) } },
	{ "held_rcpt_7300", DLT_EN10MB, { V4("198.51.100.59", "192.0.2.59", d_held_rcpt_7300) } },
};

/* ------------------------------------------------------------------ */
/* Byte buffer                                                         */

/* A growable byte string for one step's payload. */
struct buf {
	uint8_t *p;   /* bytes */
	size_t len;   /* used */
	size_t cap;   /* allocated */
};

/* Print and exit: the generator is a build tool, failure is final. */
static void
die(const char *what)
{
	fprintf(stderr, "gen_fixtures: %s\n", what);
	exit(1);
}

/* Append n bytes. */
static void
buf_put(struct buf *b, const void *d, size_t n)
{
	if (n == 0)
		return;   /* empty extensions pass d == NULL: memcpy must not see it */
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		while (cap < b->len + n)
			cap *= 2;
		uint8_t *np = realloc(b->p, cap);
		if (np == NULL)
			die("out of memory");
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->len, d, n);
	b->len += n;
}

/* Append one byte. */
static void
buf_u8(struct buf *b, unsigned v)
{
	uint8_t x = (uint8_t)v;
	buf_put(b, &x, 1);
}

/* Append a big-endian 16-bit value. */
static void
buf_u16(struct buf *b, unsigned v)
{
	buf_u8(b, v >> 8);
	buf_u8(b, v);
}

/* Reserve an n-byte big-endian length field; returns its position. */
static size_t
buf_len_open(struct buf *b, int n)
{
	size_t at = b->len;
	for (int i = 0; i < n; i++)
		buf_u8(b, 0);
	return at;
}

/* Fill the length field at `at` with the bytes written after it. */
static void
buf_len_close(struct buf *b, size_t at, int n)
{
	size_t v = b->len - at - (size_t)n;
	for (int i = n - 1; i >= 0; i--) {
		b->p[at + (size_t)i] = (uint8_t)v;
		v >>= 8;
	}
}

/* ------------------------------------------------------------------ */
/* Deterministic "random" bytes: xorshift32 seeded from the case name. */

static uint32_t rng_state;

/* Next pseudo-random word. */
static uint32_t
rng_next(void)
{
	return capw_rng(&rng_state);
}

/* Append n pseudo-random bytes. */
static void
buf_rand(struct buf *b, size_t n)
{
	while (n--)
		buf_u8(b, rng_next() >> 24);
}

/* ------------------------------------------------------------------ */
/* TLS records                                                         */

/* Session id the client offers and a TLS 1.3 server echoes. */
static uint8_t sess_id[32];

/* A TLS record header of type ct, version 03 v; returns the length position. */
static size_t
tls_record_open(struct buf *b, unsigned ct, unsigned v)
{
	buf_u8(b, ct);
	buf_u8(b, 3);
	buf_u8(b, v);
	return buf_len_open(b, 2);
}

/* One extension: type, then data of n bytes. */
static void
tls_ext(struct buf *b, unsigned type, const void *data, size_t n)
{
	buf_u16(b, type);
	buf_u16(b, (unsigned)n);
	buf_put(b, data, n);
}

/* A ClientHello record as OpenSSL 3 or Postfix sends it, SNI included. */
static void
tls_client_hello(struct buf *b, const char *sni)
{
	static const uint8_t suites[] = {
		0x13, 0x02, 0x13, 0x03, 0x13, 0x01, 0xc0, 0x2c, 0xc0, 0x30,
		0xcc, 0xa9, 0xcc, 0xa8, 0xc0, 0x2b, 0xc0, 0x2f, 0x00, 0x9e,
	};
	static const uint8_t groups[] = { 0x00, 0x06, 0x00, 0x1d, 0x00, 0x17, 0x00, 0x18 };
	static const uint8_t ecpf[] = { 0x01, 0x00 };
	static const uint8_t sigalgs[] = {
		0x00, 0x0c, 0x04, 0x03, 0x05, 0x03, 0x08, 0x04, 0x08, 0x05, 0x04, 0x01, 0x05, 0x01,
	};
	static const uint8_t versions[] = { 0x04, 0x03, 0x04, 0x03, 0x03 };
	static const uint8_t pskmodes[] = { 0x01, 0x01 };
	static const uint8_t renego[] = { 0x00 };

	size_t rec = tls_record_open(b, 0x16, 1);
	buf_u8(b, 1);                     /* client_hello */
	size_t hs = buf_len_open(b, 3);
	buf_u16(b, 0x0303);               /* legacy_version */
	buf_rand(b, 32);                  /* random */
	buf_u8(b, sizeof sess_id);
	buf_put(b, sess_id, sizeof sess_id);
	buf_u16(b, sizeof suites);
	buf_put(b, suites, sizeof suites);
	buf_u8(b, 1);                     /* compression methods: null */
	buf_u8(b, 0);
	size_t exts = buf_len_open(b, 2);

	/* server_name: list, host_name entry */
	buf_u16(b, 0x0000);
	size_t e = buf_len_open(b, 2);
	size_t list = buf_len_open(b, 2);
	buf_u8(b, 0);
	buf_u16(b, (unsigned)strlen(sni));
	buf_put(b, sni, strlen(sni));
	buf_len_close(b, list, 2);
	buf_len_close(b, e, 2);

	tls_ext(b, 0x000b, ecpf, sizeof ecpf);        /* ec_point_formats */
	tls_ext(b, 0x000a, groups, sizeof groups);    /* supported_groups */
	tls_ext(b, 0x0016, NULL, 0);                  /* encrypt_then_mac */
	tls_ext(b, 0x0017, NULL, 0);                  /* extended_master_secret */
	tls_ext(b, 0x000d, sigalgs, sizeof sigalgs);  /* signature_algorithms */
	tls_ext(b, 0x002b, versions, sizeof versions);/* supported_versions 1.3, 1.2 */
	tls_ext(b, 0x002d, pskmodes, sizeof pskmodes);/* psk_key_exchange_modes */
	tls_ext(b, 0xff01, renego, sizeof renego);    /* renegotiation_info */

	/* key_share: x25519 */
	buf_u16(b, 0x0033);
	e = buf_len_open(b, 2);
	list = buf_len_open(b, 2);
	buf_u16(b, 0x001d);
	buf_u16(b, 32);
	buf_rand(b, 32);
	buf_len_close(b, list, 2);
	buf_len_close(b, e, 2);

	buf_len_close(b, exts, 2);
	buf_len_close(b, hs, 3);
	buf_len_close(b, rec, 2);
}

/* ServerHello for TLS 1.2 (ECDHE-RSA-AES128-GCM) followed by ServerHelloDone. */
static void
tls_server_hello12(struct buf *b)
{
	static const uint8_t renego[] = { 0x00 };
	static const uint8_t ecpf[] = { 0x01, 0x00 };

	size_t rec = tls_record_open(b, 0x16, 3);
	buf_u8(b, 2);                     /* server_hello */
	size_t hs = buf_len_open(b, 3);
	buf_u16(b, 0x0303);
	buf_rand(b, 32);
	buf_u8(b, 32);                    /* a fresh session id */
	buf_rand(b, 32);
	buf_u16(b, 0xc02f);
	buf_u8(b, 0);
	size_t exts = buf_len_open(b, 2);
	tls_ext(b, 0xff01, renego, sizeof renego);
	tls_ext(b, 0x000b, ecpf, sizeof ecpf);
	tls_ext(b, 0x0017, NULL, 0);
	buf_len_close(b, exts, 2);
	buf_len_close(b, hs, 3);
	buf_u8(b, 14);                    /* server_hello_done, empty */
	buf_u8(b, 0);
	buf_u16(b, 0);
	buf_len_close(b, rec, 2);
}

/* ChangeCipherSpec record. */
static void
tls_ccs(struct buf *b)
{
	size_t rec = tls_record_open(b, 0x14, 3);
	buf_u8(b, 1);
	buf_len_close(b, rec, 2);
}

/* A record of type ct whose body is n opaque (encrypted) bytes. */
static void
tls_opaque(struct buf *b, unsigned ct, size_t n)
{
	size_t rec = tls_record_open(b, ct, 3);
	buf_rand(b, n);
	buf_len_close(b, rec, 2);
}

/* The client's second TLS 1.2 flight. */
static void
tls_client_fin12(struct buf *b)
{
	size_t rec = tls_record_open(b, 0x16, 3);
	buf_u8(b, 16);                    /* client_key_exchange */
	size_t hs = buf_len_open(b, 3);
	buf_u8(b, 32);                    /* x25519 public key */
	buf_rand(b, 32);
	buf_len_close(b, hs, 3);
	buf_len_close(b, rec, 2);
	tls_ccs(b);
	tls_opaque(b, 0x16, 40);          /* encrypted Finished */
}

/* The server's last TLS 1.2 flight. */
static void
tls_server_fin12(struct buf *b)
{
	tls_ccs(b);
	tls_opaque(b, 0x16, 40);
}

/* TLS 1.3 ServerHello (supported_versions 0x0304), middlebox CCS, and the
 * encrypted EncryptedExtensions..Finished flight as application data. */
static void
tls_server_hello13(struct buf *b)
{
	static const uint8_t sv[] = { 0x03, 0x04 };

	size_t rec = tls_record_open(b, 0x16, 3);
	buf_u8(b, 2);
	size_t hs = buf_len_open(b, 3);
	buf_u16(b, 0x0303);
	buf_rand(b, 32);
	buf_u8(b, sizeof sess_id);        /* echo the client's */
	buf_put(b, sess_id, sizeof sess_id);
	buf_u16(b, 0x1302);               /* TLS_AES_256_GCM_SHA384 */
	buf_u8(b, 0);
	size_t exts = buf_len_open(b, 2);
	tls_ext(b, 0x002b, sv, sizeof sv);
	buf_u16(b, 0x0033);               /* key_share: x25519 */
	size_t e = buf_len_open(b, 2);
	buf_u16(b, 0x001d);
	buf_u16(b, 32);
	buf_rand(b, 32);
	buf_len_close(b, e, 2);
	buf_len_close(b, exts, 2);
	buf_len_close(b, hs, 3);
	buf_len_close(b, rec, 2);
	tls_ccs(b);
	tls_opaque(b, 0x17, 1800);        /* EncryptedExtensions + Certificate */
	tls_opaque(b, 0x17, 286);         /* CertificateVerify */
	tls_opaque(b, 0x17, 69);          /* Finished */
}

/* The client's TLS 1.3 CCS and Finished. */
static void
tls_client_fin13(struct buf *b)
{
	tls_ccs(b);
	tls_opaque(b, 0x17, 69);
}

/* n bytes of application data in records of at most 4096 + 22 bytes. */
static void
tls_appdata(struct buf *b, size_t n)
{
	while (n > 0) {
		size_t body = n > 4096 + 22 ? 4096 + 22 : n;
		tls_opaque(b, 0x17, body);
		n -= body;
	}
}

/* ------------------------------------------------------------------ */
/* Packets                                                             */

/* The capture being written; a session's connection is a struct capw_conn
 * ([C] client, [S] server). While the writer is muted (a midstream pickup
 * before its first step) the clock runs and nothing is written. */
struct gen {
	struct capw w;       /* output, clock, packet count */
};

/* Write one TCP segment from side `from`, with the peer's nxt as ack. */
static void
send_seg(struct gen *g, struct capw_conn *c, int from, unsigned flags, uint32_t seq,
    const uint8_t *pl, size_t n)
{
	struct capw_seg s = { .flags = flags, .seq = seq, .pl = pl, .n = n };

	capw_send(&g->w, c, from, &s);
}

/* A data step: cut into segments, send them (in order or as told),
 * optionally resend one with other bytes, advance the sender. */
static void
send_data(struct gen *g, struct capw_conn *c, const struct step *st,
    const uint8_t *b, size_t n)
{
	size_t off[GEN_MAX_SEGS], len[GEN_MAX_SEGS], cut[GEN_MAX_SEGS + 1];
	int ncut = 0, nseg = 0;
	int from = st->dir;
	uint32_t base = c->e[from].nxt;

	cut[ncut++] = 0;
	for (const int *s = st->split; s && *s >= 0; s++) {
		if ((size_t)*s <= cut[ncut - 1] || (size_t)*s >= n || ncut >= GEN_MAX_SEGS)
			die("bad split offsets");
		cut[ncut++] = (size_t)*s;
	}
	cut[ncut] = n;
	for (int i = 0; i < ncut; i++) {
		for (size_t o = cut[i]; o < cut[i + 1]; o += GEN_MSS) {
			if (nseg >= GEN_MAX_SEGS)
				die("too many segments");
			off[nseg] = o;
			len[nseg] = cut[i + 1] - o < GEN_MSS ? cut[i + 1] - o : GEN_MSS;
			nseg++;
		}
	}

	int sent = 0;
	for (int i = 0; ; i++) {
		int k;
		if (st->order) {
			if (st->order[i] < 0)
				break;
			k = st->order[i];
			if (k >= nseg)
				die("bad segment order");
		} else {
			if (i >= nseg)
				break;
			k = i;
		}
		unsigned fl = TH_ACK | (k == nseg - 1 ? TH_PSH : 0);
		send_seg(g, c, from, fl, base + (uint32_t)off[k], b + off[k], len[k]);
		sent++;
	}
	if (sent != nseg)
		die("segment order does not send every segment");
	if (st->retrans) {
		int k = st->retrans_seg;
		if (k >= nseg || strlen(st->retrans) != len[k])
			die("retransmission must match its segment's length");
		send_seg(g, c, from, TH_ACK | TH_PSH, base + (uint32_t)off[k],
		    (const uint8_t *)st->retrans, len[k]);
	}
	c->e[from].nxt += (uint32_t)n;
}

/* Does step t carry bytes or a teardown from direction dir? */
static int
step_answers(const struct step *t, int dir)
{
	return t->op != OP_END && t->op != OP_PAUSE && t->dir == dir;
}

/* Bytes of a real handshake recorded by tests/tools/tls_samples (run from
 * the top of the tree): part 0 = the client's first record (its
 * ClientHello), 1 = everything the server sent, 2 = the rest of the
 * client's bytes. */
static void
tls_sample(struct buf *b, const char *name, unsigned part)
{
	char path[512];
	uint8_t data[8192];
	size_t n, first;
	FILE *fp;

	snprintf(path, sizeof path, "tests/tls/%s.%s", name, part == 1 ? "s2c" : "c2s");
	if ((fp = fopen(path, "rb")) == NULL)
		die(path);
	n = fread(data, 1, sizeof data, fp);
	fclose(fp);
	if (part == 1) {
		buf_put(b, data, n);
		return;
	}
	if (n < 5 || (first = 5 + ((size_t)data[3] << 8 | data[4])) > n)
		die("bad TLS sample");
	if (part == 0)
		buf_put(b, data, first);
	else
		buf_put(b, data + first, n - first);
}

/* Fill a step's payload; returns 0 when the step is not a data step. */
static int
step_bytes(const struct step *st, struct buf *b)
{
	b->len = 0;
	switch (st->op) {
	case OP_TEXT:
		buf_put(b, st->text, strlen(st->text));
		return 1;
	case OP_BYTES:
		buf_put(b, st->text, st->arg);
		return 1;
	case OP_LONGLINE: {
		static const char fill[] = "The quick brown fox jumps over the lazy dog. ";
		size_t i = 0;
		buf_put(b, st->text, strlen(st->text));
		while (b->len < st->arg - 2)
			buf_u8(b, (uint8_t)fill[i++ % (sizeof fill - 1)]);
		buf_put(b, "\r\n", 2);
		return 1;
	}
	case OP_CLIENT_HELLO:
		tls_client_hello(b, "mx.example.net");
		return 1;
	case OP_SERVER_HELLO12:
		tls_server_hello12(b);
		return 1;
	case OP_CLIENT_FIN12:
		tls_client_fin12(b);
		return 1;
	case OP_SERVER_FIN12:
		tls_server_fin12(b);
		return 1;
	case OP_SERVER_HELLO13:
		tls_server_hello13(b);
		return 1;
	case OP_CLIENT_FIN13:
		tls_client_fin13(b);
		return 1;
	case OP_APPDATA:
		tls_appdata(b, st->arg);
		return 1;
	case OP_TLSFILE:
		tls_sample(b, st->text, st->arg);
		return 1;
	default:
		return 0;
	}
}

/* Append a DNS name in wire form. */
static size_t
dns_name_put(uint8_t *p, const char *name)
{
	size_t n = 0;

	while (*name) {
		const char *dot = strchr(name, '.');
		size_t l = dot ? (size_t)(dot - name) : strlen(name);
		p[n++] = (uint8_t)l;
		memcpy(p + n, name, l);
		n += l;
		name += l + (dot ? 1 : 0);
	}
	p[n++] = 0;
	return n;
}

/* A DNS answer to the client's resolver: "name has the server's address",
 * in a UDP datagram, or (tcp) in one TCP segment with its length prefix. */
static void
send_dns(struct gen *g, const struct capw_conn *c, const char *name, int tcp)
{
	static const uint8_t mac_r[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x35 };
	uint8_t msg[2 + 512], l4[8 + 20 + sizeof msg], res[16], auth[16];
	uint8_t *d = msg + 2;                    /* after the TCP length prefix */
	size_t q, alen = c->af == 4 ? 4 : 16, n;
	struct capw_ip ip = { .af = c->af, .src = auth, .dst = res, .smac = mac_r,
		.dmac = c->e[C].mac, .proto = tcp ? 6 : 17 };

	/* An authoritative server outside answers the sender's resolver inside:
	 * that answer is what crosses a border gateway. */
	capw_addr(c->af, c->af == 4 ? "198.51.100.53" : "2001:db8:100::53", res);
	capw_addr(c->af, c->af == 4 ? "203.0.113.53" : "2001:db8:53::53", auth);
	memset(msg, 0, sizeof msg);
	put16(d, 0x5354);                        /* id */
	put16(d + 2, 0x8180);                    /* response, RD, RA, NOERROR */
	put16(d + 4, 1);
	put16(d + 6, 1);
	q = 12 + dns_name_put(d + 12, name);
	put16(d + q, c->af == 4 ? 1 : 28);
	put16(d + q + 2, 1);
	q += 4;
	put16(d + q, 0xc00c);                    /* the question's name */
	put16(d + q + 2, c->af == 4 ? 1 : 28);
	put16(d + q + 4, 1);
	put32(d + q + 6, 300);
	put16(d + q + 10, (unsigned)alen);
	memcpy(d + q + 12, c->e[S].addr, alen);
	q += 12 + alen;
	if (tcp) {
		/* seq, ack: no handshake needed */
		struct capw_tcp t = { .sport = 53, .dport = 53000, .seq = 0x35000001u,
			.ack = 0x0c000001u, .flags = TH_PSH | TH_ACK, .win = 65535,
			.pl = msg, .n = 2 + q };
		put16(msg, (unsigned)q);             /* the message's length */
		n = capw_tcp_build(l4, sizeof l4, &ip, &t);
	} else {
		n = capw_udp_build(l4, sizeof l4, &ip, 53, 53000, d, q);
	}
	/* a step's gap before it, the writer's own tick included */
	g->w.ts_us += GEN_STEP_GAP_US - GEN_PKT_GAP_US;
	capw_write_ip(&g->w, &ip, l4, n);
}

/* Write one session: handshake, steps, teardown. */
static void
write_session(struct gen *g, const struct session *ss, uint32_t seed)
{
	struct capw_conn c;
	struct buf b = { NULL, 0, 0 };

	capw_conn_init(&c, ss->af, ss->cli, ss->srv, seed);   /* ISNs: fixed per case */
	for (size_t i = 0; i < sizeof sess_id; i++)
		sess_id[i] = (uint8_t)(rng_next() >> 24);

	g->w.ts_us += (uint64_t)ss->delay_s * 1000000u;
	g->w.mute = ss->start_at != 0;
	if (ss->dns)
		send_dns(g, &c, ss->dns, ss->dns_tcp);
	capw_handshake(&g->w, &c);

	for (int i = 0; ss->steps[i].op != OP_END && (ss->stop_at == 0 || i < ss->stop_at); i++) {
		const struct step *st = &ss->steps[i];
		const struct step *next = &ss->steps[i + 1];

		if (i == ss->start_at)
			g->w.mute = 0;
		g->w.ts_us += GEN_STEP_GAP_US;
		if (step_bytes(st, &b)) {
			send_data(g, &c, st, b.p, b.len);
			/* the peer acknowledges at once unless it answers */
			if (!step_answers(next, !st->dir))
				send_seg(g, &c, !st->dir, TH_ACK, c.e[!st->dir].nxt, NULL, 0);
			continue;
		}
		switch (st->op) {
		case OP_PAUSE:
			g->w.ts_us += (uint64_t)st->arg * 1000000u;
			break;
		case OP_FIN:
			send_seg(g, &c, st->dir, TH_FIN | TH_ACK, c.e[st->dir].nxt, NULL, 0);
			c.e[st->dir].nxt++;
			send_seg(g, &c, !st->dir, TH_FIN | TH_ACK, c.e[!st->dir].nxt, NULL, 0);
			c.e[!st->dir].nxt++;
			send_seg(g, &c, st->dir, TH_ACK, c.e[st->dir].nxt, NULL, 0);
			break;
		case OP_RST:
			send_seg(g, &c, st->dir, TH_RST | TH_ACK, c.e[st->dir].nxt, NULL, 0);
			break;
		default:
			die("unknown step");
		}
	}
	free(b.p);
}

/* Write one case into dir/<name>.pcap. */
static void
write_case(const char *dir, const struct fcase *fc)
{
	char path[4096];
	struct gen g;
	uint32_t seed = capw_seed(fc->seed_of ? fc->seed_of : fc->name);

	if ((size_t)snprintf(path, sizeof path, "%s/%s.pcap", dir, fc->name) >= sizeof path)
		die("path too long");
	capw_open(&g.w, path, fc->dlt, GEN_SNAPLEN, (uint64_t)GEN_T0_SEC * 1000000u,
	    GEN_PKT_GAP_US);
	rng_state = seed ? seed : 1;
	for (int i = 0; i < GEN_MAX_SESS && fc->sess[i].steps; i++)
		write_session(&g, &fc->sess[i], seed + (uint32_t)i * 7919u);
	capw_close(&g.w);
	printf("%-30s %3u packets\n", fc->name, (unsigned)g.w.packets);
}

int
main(int argc, char **argv)
{
	const char *dir = capw_dir_arg(argc, argv, "gen_fixtures");
	char pdir[4096];

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		write_case(dir, &cases[i]);
	snprintf(pdir, sizeof pdir, "%s/policy", dir);
	capw_mkdir(pdir);
	for (size_t i = 0; i < sizeof policy_cases / sizeof policy_cases[0]; i++)
		write_case(pdir, &policy_cases[i]);
	return 0;
}
