/*
 * test_smtp.c - SMTP/STARTTLS state machine dialogues against doc/detection.md.
 *
 * Each dialogue is a list of steps written as readable C strings tagged by
 * direction (CLI = from the SYN sender, SRV = back), plus connection ends.
 * A step names the signatures it must raise (and those it may raise where
 * the contract leaves room). The runner replays every dialogue whole, with
 * each step split at every byte into two pushes, and byte by byte, and
 * demands the same findings, at the same steps, and the same decision each
 * time. It stops pushing once smtp_push() reports the session decided, as
 * the caller must.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "inspect/finding.h"
#include "inspect/smtp.h"
#include "inspect/tls.h"

/* Step kinds: end of list, bytes from client, bytes from server, FIN, RST. */
enum { K_END = 0, K_C, K_S, K_FIN, K_RST };

struct step {
	int         kind;  /* K_* */
	const char *p;     /* bytes (may contain NUL: the length is explicit) */
	size_t      n;     /* their count */
	unsigned    raise; /* signatures this step must raise (bit per enum sig) */
	unsigned    maybe; /* signatures this step may raise (contract is silent) */
};

#define B(sig) (1u << (sig))

#define STRIPPED  B(SIG_STARTTLS_STRIPPED)
#define DOWNGRADE B(SIG_STARTTLS_DOWNGRADE)
#define REJECTED  B(SIG_STARTTLS_REJECTED)
#define INJECTION B(SIG_STARTTLS_INJECTION)
#define PLAINTLS  B(SIG_PLAINTEXT_AFTER_STARTTLS)
#define MISSING   B(SIG_STARTTLS_MISSING)
#define FALLBACK  B(SIG_TLS_FALLBACK)
#define HSFAIL    B(SIG_TLS_HANDSHAKE_FAILED)
#define PLAUTH    B(SIG_PLAINTEXT_AUTH)
#define LIMIT     B(SIG_INSPECTION_LIMIT)

/* sizeof, not strlen: TLS bytes contain NUL. */
#define CLI(str)             { K_C, (str), sizeof(str) - 1, 0, 0 }
#define CLI_R(str, r)        { K_C, (str), sizeof(str) - 1, (r), 0 }
#define SRV(str)             { K_S, (str), sizeof(str) - 1, 0, 0 }
#define SRV_R(str, r)        { K_S, (str), sizeof(str) - 1, (r), 0 }
#define SRV_RM(str, r, m)    { K_S, (str), sizeof(str) - 1, (r), (m) }
#define CLI_RM(str, r, m)    { K_C, (str), sizeof(str) - 1, (r), (m) }
#define FIN_R(r)             { K_FIN, NULL, 0, (r), 0 }
#define RST_R(r)             { K_RST, NULL, 0, (r), 0 }
#define END                  { K_END, NULL, 0, 0, 0 }

/* Expected final phase beyond enum smtp_phase. */
#define PH_UNDECIDED (-1) /* any phase before a decision */
#define PH_ANY       (-2) /* the contract does not say */

#define MAX_STEPS 24

struct dialogue {
	const char *name;
	uint16_t    flags;   /* SMTP_F_EXPECT / SMTP_F_RECENT_FAIL set after smtp_init */
	int         phase;   /* enum smtp_phase, PH_UNDECIDED or PH_ANY */
	const char *banner;  /* expected banner[] bytes, NULL = not checked */
	const char *helo;    /* expected helo[] bytes, NULL = not checked */
	const char *reason;  /* a substring the reason of `reason_sig` must hold */
	int         reason_sig;
	unsigned    need;    /* signatures that must come at some step marked maybe */
	struct step steps[MAX_STEPS];
};

/*
 * TLS bytes. A minimal TLS 1.2 ClientHello (record 45 bytes: handshake type
 * 1, length 41), a ServerHello (record 42: type 2, length 38) followed by
 * ChangeCipherSpec and an application-data record as a real flight would
 * be, and a fatal handshake_failure alert in cleartext.
 */
#define CLIENT_HELLO \
	"\x16\x03\x01\x00\x2d" \
	"\x01\x00\x00\x29" "\x03\x03" \
	"RRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRR" \
	"\x00" "\x00\x02\x13\x01" "\x01\x00"
#define SERVER_HELLO \
	"\x16\x03\x03\x00\x2a" \
	"\x02\x00\x00\x26" "\x03\x03" \
	"SSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSS" \
	"\x00" "\x13\x01" "\x00"
#define SERVER_FLIGHT SERVER_HELLO "\x14\x03\x03\x00\x01\x01" "\x17\x03\x03\x00\x05" "hello"
#define ALERT_HS_FAILURE "\x15\x03\x03\x00\x02\x02\x28"

/* Building blocks of the common dialogue. */
#define BANNER   SRV("220 mx.example.net ESMTP Postfix\r\n")
#define EHLO     CLI("EHLO client.example.org\r\n")
#define EHLO_TLS SRV("250-mx.example.net\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n" \
                     "250-8BITMIME\r\n250 STARTTLS\r\n")
#define EHLO_NOTLS SRV("250-mx.example.net\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n" \
                       "250 8BITMIME\r\n")
#define STLS     CLI("STARTTLS\r\n")
#define READY    SRV("220 2.0.0 Ready to start TLS\r\n")
#define CH       CLI(CLIENT_HELLO)
#define SH       SRV(SERVER_FLIGHT)
#define MAIL     CLI("MAIL FROM:<alice@example.org> SIZE=1000\r\n")
#define MAIL_R(r) CLI_R("MAIL FROM:<alice@example.org> SIZE=1000\r\n", r)

/* Lines over SMTP_LINE_MAX and one well under it, filled in by main(). */
#define LONG_N 5000
#define OKLONG_N 4000
static char long_srv[LONG_N];
static char long_cli[LONG_N];
static char ok_long_srv[OKLONG_N];

static const struct dialogue dialogues[] = {
	/* ---- clean STARTTLS ---- */
	{ .name = "clean_tls", .phase = SMTP_PH_TLS,
	  .banner = "mx.example.net ESMTP Postfix", .helo = "client.example.org",
	  .steps = { BANNER, EHLO, EHLO_TLS, STLS, READY, CH, SH, END } },
	{ .name = "clean_tls_expect", .flags = SMTP_F_EXPECT, .phase = SMTP_PH_TLS,
	  .steps = { BANNER, EHLO, EHLO_TLS, STLS, READY, CH, SH, END } },
	{ .name = "clean_tls_recent_fail", .flags = SMTP_F_RECENT_FAIL | SMTP_F_EXPECT,
	  .phase = SMTP_PH_TLS,
	  .steps = { BANNER, EHLO, EHLO_TLS, STLS, READY, CH, SH, END } },
	{ .name = "after_tls_nothing_seen", .flags = SMTP_F_EXPECT, .phase = SMTP_PH_TLS,
	  .steps = { BANNER, EHLO, EHLO_TLS, STLS, READY, CH, SH,
		     CLI("AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n"), MAIL,
		     FIN_R(0), END } },
	{ .name = "end_after_tls_rst", .phase = SMTP_PH_TLS,
	  .steps = { BANNER, EHLO, EHLO_TLS, STLS, READY, CH, SH, RST_R(0), END } },
	{ .name = "server_hello_in_same_push_as_more", .phase = SMTP_PH_TLS,
	  .steps = { BANNER, EHLO, EHLO_TLS, STLS, READY, CH,
		     SRV(SERVER_HELLO "\x16\x03\x03\x00\x04\x0b\x00\x00\x00"), END } },

	/* ---- real extensions are not stripping ---- */
	{ .name = "real_extensions_not_stripped", .flags = SMTP_F_EXPECT, .phase = SMTP_PH_TLS,
	  .steps = { BANNER, EHLO,
		     SRV("250-mx.example.net\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n"
			 "250-VRFY\r\n250-ETRN\r\n250-AUTH PLAIN LOGIN\r\n"
			 "250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n250-CHUNKING\r\n"
			 "250-SMTPUTF8\r\n250-DSN\r\n250-XFORWARD NAME ADDR PROTO HELO\r\n"
			 "250-BINARYMIME\r\n250-DELIVERBY\r\n250 STARTTLS\r\n"),
		     STLS, READY, CH, SH, END } },
	{ .name = "eight_letter_extensions_last_no_tls", .phase = SMTP_PH_PLAIN,
	  .steps = { BANNER, EHLO,
		     SRV("250-mx.example.net\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250 CHUNKING\r\n"),
		     MAIL_R(MISSING), END } },
	{ .name = "eight_letter_extensions_lowercase", .phase = SMTP_PH_PLAIN,
	  .steps = { BANNER, EHLO,
		     SRV("250-mx.example.net\r\n250-chunking\r\n250-8bitmime\r\n250-xforward\r\n"
			 "250 smtputf8\r\n"),
		     MAIL_R(MISSING), END } },
	{ .name = "near_misses_not_stripped", .phase = SMTP_PH_TLS, .flags = SMTP_F_EXPECT,
	  /* 7 and 9 X are not 8 characters; ABCDETLS differs in 5 places, no X */
	  .steps = { BANNER, EHLO,
		     SRV("250-mx.example.net\r\n250-XXXXXXX\r\n250-XXXXXXXXX\r\n"
			 "250-ABCDETLS\r\n250 STARTTLS\r\n"),
		     STLS, READY, CH, SH, END } },

	/* ---- stripped capability ---- */
	{ .name = "stripped_XXXXXXXX", .phase = SMTP_PH_PLAIN,
	  .steps = { BANNER, EHLO,
		     SRV_R("250-mx.example.net\r\n250-PIPELINING\r\n250-XXXXXXXX\r\n"
			   "250 8BITMIME\r\n", STRIPPED),
		     MAIL, END } },
	{ .name = "stripped_XXXXXXXA_last_line", .phase = SMTP_PH_PLAIN,
	  .steps = { BANNER, EHLO,
		     SRV_R("250-mx.example.net\r\n250-PIPELINING\r\n250-8BITMIME\r\n"
			   "250 XXXXXXXA\r\n", STRIPPED),
		     MAIL, END } },
	{ .name = "stripped_STARTTLZ", .phase = SMTP_PH_PLAIN,
	  .steps = { BANNER, EHLO,
		     SRV_R("250-mx.example.net\r\n250-STARTTLZ\r\n250 SIZE 10240000\r\n", STRIPPED),
		     MAIL, END } },
	{ .name = "stripped_lowercase_xxxxxxxx", .phase = SMTP_PH_PLAIN,
	  .steps = { BANNER, EHLO,
		     SRV_R("250-mx.example.net\r\n250-xxxxxxxx\r\n250 DSN\r\n", STRIPPED),
		     MAIL, END } },
	{ .name = "stripped_stars", .phase = SMTP_PH_PLAIN,
	  .steps = { BANNER, EHLO,
		     SRV_R("250-mx.example.net\r\n250-********\r\n250 DSN\r\n", STRIPPED),
		     MAIL, END } },
	{ .name = "stripped_four_differences", .phase = SMTP_PH_PLAIN,
	  .steps = { BANNER, EHLO,
		     SRV_R("250-mx.example.net\r\n250-STARXXXX\r\n250 DSN\r\n", STRIPPED),
		     MAIL, END } },
	{ .name = "stripped_five_x", .phase = SMTP_PH_PLAIN,
	  .steps = { BANNER, EHLO,
		     SRV_R("250-mx.example.net\r\n250-XXXXXTLS\r\n250 DSN\r\n", STRIPPED),
		     MAIL, END } },
	{ .name = "stripped_expect_no_second_alert_at_mail", .flags = SMTP_F_EXPECT,
	  .phase = SMTP_PH_PLAIN,
	  /* the contract does not say whether the EHLO end adds a downgrade */
	  .steps = { BANNER, EHLO,
		     SRV_RM("250-mx.example.net\r\n250-XXXXXXXA\r\n250 8BITMIME\r\n",
			    STRIPPED, DOWNGRADE),
		     MAIL, END } },
	{ .name = "stripped_recent_fail_no_fallback", .flags = SMTP_F_RECENT_FAIL,
	  .phase = SMTP_PH_PLAIN,
	  .steps = { BANNER, EHLO,
		     SRV_R("250-mx.example.net\r\n250 XXXXXXXX\r\n", STRIPPED),
		     MAIL, END } },
	{ .name = "each_signature_once", .phase = SMTP_PH_PLAIN,
	  .steps = { BANNER, EHLO,
		     SRV_R("250-mx.example.net\r\n250-XXXXXXXA\r\n250-STARTTLZ\r\n"
			   "250-AUTH PLAIN LOGIN\r\n250 xxxxxxxx\r\n", STRIPPED),
		     CLI("XXXXXXXX\r\n"), SRV("502 5.5.2 Error: command not recognized\r\n"),
		     CLI_R("AUTH LOGIN\r\n", PLAUTH), SRV("334 VXNlcm5hbWU6\r\n"),
		     CLI("*\r\n"), SRV("501 5.7.0 Authentication aborted\r\n"),
		     CLI("AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n"),
		     SRV("535 5.7.8 Error: authentication failed\r\n"),
		     MAIL, END } },

	/* ---- masked 8-character keywords (Cisco ESMTP inspection) ---- */
	{ .name = "masked_chunking_binarymime", .phase = SMTP_PH_PLAIN,
	  /* BINARYMIME needs CHUNKING, which is missing: the mask may be it */
	  .reason = "may be CHUNKING", .reason_sig = SIG_STARTTLS_STRIPPED,
	  .steps = { BANNER, EHLO,
		     SRV_R("250-mx.example.net\r\n250-PIPELINING\r\n250-BINARYMIME\r\n"
			   "250-XXXXXXXB\r\n250 8BITMIME\r\n", STRIPPED),
		     MAIL_R(MISSING), END } },
	{ .name = "masked_chunking_policy_expects_tls", .phase = SMTP_PH_PLAIN,
	  .flags = SMTP_F_EXPECT,
	  .steps = { BANNER, EHLO,
		     SRV_R("250-mx.example.net\r\n250-BINARYMIME\r\n250-XXXXXXXB\r\n"
			   "250 8BITMIME\r\n", STRIPPED | DOWNGRADE),
		     MAIL, END } },
	{ .name = "masked_starttls_side_by_side", .phase = SMTP_PH_PLAIN,
	  /* the same reply with CHUNKING in clear: nothing else to hide */
	  .reason = "rewritten STARTTLS", .reason_sig = SIG_STARTTLS_STRIPPED,
	  .steps = { BANNER, EHLO,
		     SRV_R("250-mx.example.net\r\n250-PIPELINING\r\n250-BINARYMIME\r\n"
			   "250-CHUNKING\r\n250-XXXXXXXB\r\n250 8BITMIME\r\n", STRIPPED),
		     MAIL, END } },
	{ .name = "masked_two_one_explained", .phase = SMTP_PH_PLAIN,
	  .reason = "'XXXXXXXA' is a rewritten STARTTLS", .reason_sig = SIG_STARTTLS_STRIPPED,
	  .steps = { BANNER, EHLO,
		     SRV_R("250-mx.example.net\r\n250-XXXXXXXA\r\n250-BINARYMIME\r\n"
			   "250-XXXXXXXB\r\n250 DSN\r\n", STRIPPED),
		     MAIL, END } },
	{ .name = "masked_beside_starttls", .phase = SMTP_PH_TLS,
	  .reason = "not STARTTLS", .reason_sig = SIG_STARTTLS_STRIPPED,
	  .steps = { BANNER, EHLO,
		     SRV_R("250-mx.example.net\r\n250-STARTTLS\r\n250-xxxxxxxA\r\n"
			   "250 DSN\r\n", STRIPPED),
		     STLS, READY, CH, SH, END } },

	/* ---- a mail transaction without MAIL ---- */
	{ .name = "data_without_mail", .phase = SMTP_PH_PLAIN,
	  .steps = { BANNER, EHLO, EHLO_NOTLS, CLI_R("DATA\r\n", MISSING), END } },
	{ .name = "bdat_without_mail_expect", .phase = SMTP_PH_PLAIN, .flags = SMTP_F_EXPECT,
	  .steps = { BANNER, EHLO, EHLO_TLS,
		     CLI_R("BDAT 31 LAST\r\nSubject: x\r\n\r\nsecret body\r\n", DOWNGRADE),
		     END } },
	{ .name = "rcpt_without_mail", .phase = SMTP_PH_PLAIN,
	  .steps = { BANNER, EHLO, EHLO_NOTLS, CLI_R("RCPT TO:<bob@example.net>\r\n", MISSING),
		     END } },
	{ .name = "data_body_not_commands", .phase = SMTP_PH_PLAIN, .flags = SMTP_F_RECENT_FAIL,
	  /* the body's lines are not counted as pipelined commands */
	  .steps = { BANNER, EHLO, EHLO_TLS,
		     CLI_R("data\r\nNOOP\r\nNOOP\r\nNOOP\r\nNOOP\r\nNOOP\r\nNOOP\r\nNOOP\r\n"
			   "NOOP\r\nNOOP\r\n.\r\n", FALLBACK),
		     END } },

	/* ---- masked banner (Cisco PIX/ASA) ---- */
	{ .name = "pix_banner", .phase = SMTP_PH_PLAIN, .banner = "****2***0**",
	  .steps = { SRV_R("220 ****2***0**\r\n", STRIPPED), EHLO,
		     SRV("250-mx.example.net\r\n250 8BITMIME\r\n"), MAIL, END } },
	{ .name = "pix_banner_long", .phase = SMTP_PH_PLAIN, .flags = SMTP_F_EXPECT,
	  .steps = { SRV_R("220 *****************************************0*0****0****2**0*0***00\r\n",
			   STRIPPED),
		     CLI("HELO client.example.org\r\n"), SRV("250 ****************\r\n"),
		     MAIL, END } },
	{ .name = "banner_with_few_stars", .phase = SMTP_PH_TLS,
	  .banner = "mx.example.net ESMTP *** no UCE ", /* cut at SMTP_BANNER_MAX */
	  .steps = { SRV("220 mx.example.net ESMTP *** no UCE ***\r\n"), EHLO, EHLO_TLS,
		     STLS, READY, CH, SH, END } },

	/* ---- client side garbling ---- */
	{ .name = "client_garbled_command", .phase = SMTP_PH_PLAIN,
	  .steps = { BANNER, EHLO, EHLO_TLS, CLI_R("XXXXXXXX\r\n", STRIPPED),
		     SRV("502 5.5.2 Error: command not recognized\r\n"), MAIL, END } },
	{ .name = "client_garbled_command_starttlz", .phase = SMTP_PH_PLAIN,
	  .flags = SMTP_F_EXPECT,
	  .steps = { BANNER, EHLO, EHLO_TLS, CLI_R("STARTTLZ\r\n", STRIPPED),
		     SRV("500 5.5.1 Unrecognized command\r\n"), MAIL, END } },

	/* ---- STARTTLS answered with an error ---- */
	{ .name = "stripped_502_advertised", .phase = SMTP_PH_PLAIN,
	  .steps = { BANNER, EHLO, EHLO_TLS, STLS,
		     SRV_R("502 5.5.2 Error: command not recognized\r\n", STRIPPED),
		     MAIL, END } },
	{ .name = "stripped_500_advertised_expect", .phase = SMTP_PH_PLAIN, .flags = SMTP_F_EXPECT,
	  .steps = { BANNER, EHLO, EHLO_TLS, STLS,
		     SRV_R("500 5.5.1 Command unrecognized: \"STARTTLS\"\r\n", STRIPPED),
		     MAIL, END } },
	{ .name = "rejected_502_not_advertised", .phase = SMTP_PH_PLAIN,
	  .steps = { BANNER, EHLO, EHLO_NOTLS, STLS,
		     SRV_R("502 5.5.2 Error: command not recognized\r\n", REJECTED),
		     MAIL, END } },
	{ .name = "rejected_500_after_helo", .phase = SMTP_PH_PLAIN,
	  .steps = { BANNER, CLI("HELO client.example.org\r\n"), SRV("250 mx.example.net\r\n"),
		     STLS, SRV_R("500 unrecognized command\r\n", REJECTED),
		     MAIL, END } },
	{ .name = "rejected_454", .phase = SMTP_PH_PLAIN,
	  .steps = { BANNER, EHLO, EHLO_TLS, STLS,
		     SRV_R("454 4.7.0 TLS not available due to local problem\r\n", REJECTED),
		     MAIL, END } },
	{ .name = "rejected_454_expect_no_downgrade_at_mail", .phase = SMTP_PH_PLAIN,
	  .flags = SMTP_F_EXPECT,
	  .steps = { BANNER, EHLO, EHLO_TLS, STLS,
		     SRV_R("454 4.7.0 TLS not available due to local problem\r\n", REJECTED),
		     MAIL, END } },
	{ .name = "rejected_554_recent_fail_no_fallback", .phase = SMTP_PH_PLAIN,
	  .flags = SMTP_F_RECENT_FAIL,
	  .steps = { BANNER, EHLO, EHLO_TLS, STLS,
		     SRV_R("554 5.7.0 Too many TLS sessions\r\n", REJECTED),
		     MAIL, END } },

	/* ---- injection (CVE-2011-0411 class) ---- */
	{ .name = "injection_client_same_segment", .phase = SMTP_PH_TLS,
	  .steps = { BANNER, EHLO, EHLO_TLS, CLI_R("STARTTLS\r\nRSET\r\n", INJECTION),
		     READY, CH, SH, END } },
	{ .name = "injection_client_next_segment", .phase = SMTP_PH_TLS,
	  .steps = { BANNER, EHLO, EHLO_TLS, STLS, CLI_R("RSET\r\n", INJECTION),
		     READY, CH, SH, END } },
	{ .name = "injection_server_same_segment", .phase = SMTP_PH_TLS,
	  .steps = { BANNER, EHLO, EHLO_TLS, STLS,
		     SRV_R("220 2.0.0 Ready to start TLS\r\n250 2.0.0 Ok\r\n", INJECTION),
		     CH, SH, END } },
	{ .name = "injection_server_next_segment", .phase = SMTP_PH_TLS,
	  .steps = { BANNER, EHLO, EHLO_TLS, STLS, READY,
		     SRV_R("250 2.0.0 Ok\r\n", INJECTION), CH, SH, END } },

	/* ---- not TLS after 220 ---- */
	{ .name = "plaintext_after_starttls_client", .phase = PH_ANY,
	  .steps = { BANNER, EHLO, EHLO_TLS, STLS, READY,
		     CLI_R("EHLO client.example.org\r\n", PLAINTLS), END } },
	{ .name = "plaintext_after_starttls_client_bad_version", .phase = PH_ANY,
	  .steps = { BANNER, EHLO, EHLO_TLS, STLS, READY,
		     CLI_R("\x16\x03\x05\x00\x05hello", PLAINTLS), END } },
	{ .name = "plaintext_after_starttls_server", .phase = PH_ANY,
	  .steps = { BANNER, EHLO, EHLO_TLS, STLS, READY, CH,
		     SRV_R("250 mx.example.net\r\n", PLAINTLS), END } },

	/* ---- handshake failures ---- */
	{ .name = "handshake_alert", .phase = PH_ANY,
	  .reason_sig = SIG_TLS_HANDSHAKE_FAILED, .reason = "handshake_failure",
	  .steps = { BANNER, EHLO, EHLO_TLS, STLS, READY, CH,
		     SRV_R(ALERT_HS_FAILURE, HSFAIL), FIN_R(0), END } },
	{ .name = "end_after_220_before_client_hello_fin", .phase = PH_ANY,
	  .steps = { BANNER, EHLO, EHLO_TLS, STLS, READY, FIN_R(HSFAIL), END } },
	{ .name = "end_after_client_hello_rst", .phase = PH_ANY,
	  .steps = { BANNER, EHLO, EHLO_TLS, STLS, READY, CH, RST_R(HSFAIL), END } },
	{ .name = "end_before_reply_to_starttls", .phase = PH_ANY,
	  .steps = { BANNER, EHLO, EHLO_TLS, STLS, FIN_R(0), END } },
	{ .name = "end_in_cleartext_commands", .phase = PH_UNDECIDED,
	  .steps = { BANNER, EHLO, EHLO_TLS, CLI("QUIT\r\n"), SRV("221 2.0.0 Bye\r\n"),
		     FIN_R(0), END } },

	/* ---- AUTH before TLS ---- */
	{ .name = "plaintext_auth_plain", .phase = SMTP_PH_PLAIN,
	  .steps = { BANNER, EHLO,
		     SRV("250-mx.example.net\r\n250-AUTH PLAIN LOGIN\r\n250 STARTTLS\r\n"),
		     CLI_R("AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n", PLAUTH),
		     SRV("235 2.7.0 Authentication successful\r\n"),
		     MAIL_R(MISSING), END } },
	{ .name = "plaintext_auth_login_lowercase_once", .phase = SMTP_PH_PLAIN,
	  .steps = { BANNER, EHLO,
		     SRV("250-mx.example.net\r\n250 AUTH PLAIN LOGIN\r\n"),
		     CLI_R("auth login\r\n", PLAUTH), SRV("334 VXNlcm5hbWU6\r\n"),
		     CLI("YWxpY2U=\r\n"), SRV("334 UGFzc3dvcmQ6\r\n"),
		     CLI("c2VjcmV0\r\n"), SRV("535 5.7.8 Error: authentication failed\r\n"),
		     CLI("Auth Plain AGFsaWNlAHNlY3JldA==\r\n"), SRV("235 2.7.0 ok\r\n"),
		     MAIL_R(MISSING), END } },
	{ .name = "auth_cram_md5_is_not_plaintext_auth", .phase = SMTP_PH_PLAIN,
	  .steps = { BANNER, EHLO,
		     SRV("250-mx.example.net\r\n250 AUTH CRAM-MD5\r\n"),
		     CLI("AUTH CRAM-MD5\r\n"), SRV("334 PDQxOTI5NDIzNDEuMTI4Mjg0NzJAc291cmNlZm91ci5hbmRyZXcuY211LmVkdT4=\r\n"),
		     CLI("dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw\r\n"),
		     SRV("235 2.7.0 ok\r\n"), MAIL_R(MISSING), END } },

	/* ---- MAIL in cleartext ---- */
	{ .name = "mail_plain_missing", .phase = SMTP_PH_PLAIN,
	  .steps = { BANNER, EHLO, EHLO_NOTLS, MAIL_R(MISSING), END } },
	{ .name = "mail_plain_offered_unused_missing", .phase = SMTP_PH_PLAIN,
	  .steps = { BANNER, EHLO, EHLO_TLS, MAIL_R(MISSING), END } },
	{ .name = "mail_plain_offered_unused_expect", .phase = SMTP_PH_PLAIN,
	  .flags = SMTP_F_EXPECT,
	  .steps = { BANNER, EHLO, EHLO_TLS, MAIL_R(DOWNGRADE), END } },
	{ .name = "mail_plain_recent_fail", .phase = SMTP_PH_PLAIN,
	  .flags = SMTP_F_RECENT_FAIL,
	  .steps = { BANNER, EHLO, EHLO_TLS, MAIL_R(FALLBACK), END } },
	{ .name = "mail_plain_recent_fail_and_expect", .phase = SMTP_PH_PLAIN,
	  .flags = SMTP_F_RECENT_FAIL | SMTP_F_EXPECT,
	  .steps = { BANNER, EHLO, EHLO_TLS, MAIL_R(FALLBACK), END } },
	{ .name = "ehlo_without_starttls_expect", .phase = SMTP_PH_PLAIN,
	  .flags = SMTP_F_EXPECT,
	  .steps = { BANNER, EHLO,
		     SRV("250-mx.example.net\r\n250-PIPELINING\r\n"),
		     SRV_R("250-SIZE 10240000\r\n250 8BITMIME\r\n", DOWNGRADE),
		     MAIL, END } },
	{ .name = "ehlo_without_starttls_expect_and_recent_fail", .phase = SMTP_PH_PLAIN,
	  .flags = SMTP_F_EXPECT | SMTP_F_RECENT_FAIL,
	  .steps = { BANNER, EHLO, SRV_R("250-mx.example.net\r\n250 8BITMIME\r\n", DOWNGRADE),
		     MAIL, END } },
	{ .name = "ehlo_without_starttls_recent_fail", .phase = SMTP_PH_PLAIN,
	  .flags = SMTP_F_RECENT_FAIL,
	  .steps = { BANNER, EHLO, EHLO_NOTLS, MAIL_R(FALLBACK), END } },
	{ .name = "ehlo_single_line_reply_expect", .phase = SMTP_PH_PLAIN,
	  .flags = SMTP_F_EXPECT,
	  .steps = { BANNER, EHLO, SRV_R("250 mx.example.net\r\n", DOWNGRADE), MAIL, END } },
	{ .name = "helo_expect_downgrade_at_mail", .phase = SMTP_PH_PLAIN,
	  .flags = SMTP_F_EXPECT, .helo = "client.example.org",
	  .steps = { BANNER, CLI("HELO client.example.org\r\n"), SRV("250 mx.example.net\r\n"),
		     MAIL_R(DOWNGRADE), END } },
	{ .name = "ehlo_no_starttls_without_expect_quiet_until_mail", .phase = SMTP_PH_PLAIN,
	  .steps = { BANNER, EHLO, EHLO_NOTLS, CLI("NOOP\r\n"), SRV("250 2.0.0 Ok\r\n"),
		     CLI("RSET\r\n"), SRV("250 2.0.0 Ok\r\n"), MAIL_R(MISSING), END } },

	/* ---- case and line endings ---- */
	{ .name = "lowercase_dialogue", .phase = SMTP_PH_TLS, .flags = SMTP_F_EXPECT,
	  .helo = "client.example.org",
	  .steps = { BANNER, CLI("ehlo client.example.org\r\n"),
		     SRV("250-mx.example.net\r\n250-pipelining\r\n250 starttls\r\n"),
		     CLI("starttls\r\n"), SRV("220 go ahead\r\n"), CH, SH, END } },
	{ .name = "lowercase_offer_mixed_case_command_502", .phase = SMTP_PH_PLAIN,
	  .steps = { BANNER, EHLO,
		     SRV("250-mx.example.net\r\n250-StartTLS\r\n250 dsn\r\n"),
		     CLI("StartTls\r\n"), SRV_R("502 unknown\r\n", STRIPPED),
		     CLI("mail from:<a@example.org>\r\n"), END } },
	{ .name = "lowercase_mail", .phase = SMTP_PH_PLAIN,
	  .steps = { BANNER, EHLO, EHLO_NOTLS, CLI_R("mail from:<a@example.org>\r\n", MISSING), END } },
	{ .name = "bare_lf", .phase = SMTP_PH_TLS, .flags = SMTP_F_EXPECT,
	  .banner = "mx.example.net ESMTP", .helo = "client.example.org",
	  .steps = { SRV("220 mx.example.net ESMTP\n"), CLI("EHLO client.example.org\n"),
		     SRV("250-mx.example.net\n250-PIPELINING\n250 STARTTLS\n"),
		     CLI("STARTTLS\n"), SRV("220 Ready\n"), CH, SH, END } },
	{ .name = "bare_lf_stripped", .phase = SMTP_PH_PLAIN,
	  .steps = { SRV("220 mx.example.net ESMTP\n"), CLI("EHLO client.example.org\n"),
		     SRV_R("250-mx.example.net\n250-XXXXXXXA\n250 8BITMIME\n", STRIPPED),
		     CLI("MAIL FROM:<a@example.org>\n"), END } },
	{ .name = "crlf_lf_mix", .phase = SMTP_PH_TLS, .flags = SMTP_F_EXPECT,
	  .banner = "mx.example.net ESMTP", .helo = "client.example.org",
	  .steps = { SRV("220 mx.example.net ESMTP\r\n"), CLI("EHLO client.example.org\n"),
		     SRV("250-mx.example.net\n250-PIPELINING\r\n250-8BITMIME\n250 STARTTLS\r\n"),
		     CLI("STARTTLS\r\n"), SRV("220 Ready\n"), CH, SH, END } },
	{ .name = "crlf_lf_mix_missing", .phase = SMTP_PH_PLAIN,
	  .steps = { SRV("220 mx.example.net ESMTP\n"), CLI("EHLO client.example.org\r\n"),
		     SRV("250-mx.example.net\r\n250 8BITMIME\n"),
		     CLI_R("MAIL FROM:<a@example.org>\n", MISSING), END } },

	/* ---- pipelining ---- */
	{ .name = "pipelined_rset_ehlo", .phase = SMTP_PH_TLS, .flags = SMTP_F_EXPECT,
	  .helo = "client.example.org",
	  .steps = { BANNER, CLI("RSET\r\nEHLO client.example.org\r\n"),
		     SRV("250 2.0.0 Ok\r\n250-mx.example.net\r\n250-PIPELINING\r\n250 STARTTLS\r\n"),
		     STLS, READY, CH, SH, END } },
	{ .name = "pipelined_rset_ehlo_stripped", .phase = SMTP_PH_PLAIN,
	  .flags = SMTP_F_EXPECT,
	  .steps = { BANNER, CLI("RSET\r\nEHLO client.example.org\r\n"),
		     SRV_RM("250 2.0.0 Ok\r\n250-mx.example.net\r\n250-PIPELINING\r\n250 XXXXXXXA\r\n",
			    STRIPPED, DOWNGRADE),
		     MAIL, END } },
	{ .name = "pipelined_ehlo_starttls", .phase = SMTP_PH_TLS, .flags = SMTP_F_EXPECT,
	  .steps = { BANNER, CLI("EHLO client.example.org\r\nSTARTTLS\r\n"),
		     SRV("250-mx.example.net\r\n250-PIPELINING\r\n250 STARTTLS\r\n"
			 "220 2.0.0 Ready to start TLS\r\n"),
		     CH, SH, END } },
	{ .name = "pipelined_mail_rcpt_data", .phase = SMTP_PH_PLAIN,
	  .steps = { BANNER, EHLO, EHLO_NOTLS,
		     CLI_R("MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\nDATA\r\n", MISSING),
		     SRV("250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 End data with <CR><LF>.<CR><LF>\r\n"),
		     END } },
	{ .name = "pipelined_banner_and_ehlo_reply_one_segment", .phase = SMTP_PH_TLS,
	  .flags = SMTP_F_EXPECT,
	  .steps = { SRV("220 mx.example.net ESMTP\r\n"), EHLO, EHLO_TLS, STLS, READY, CH, SH,
		     END } },

	/* ---- greeting ---- */
	{ .name = "multiline_banner", .phase = SMTP_PH_TLS, .flags = SMTP_F_EXPECT,
	  .steps = { SRV("220-mx.example.net ESMTP\r\n220-Unsolicited mail prohibited\r\n"),
		     SRV("220 mx.example.net ready\r\n"),
		     EHLO, EHLO_TLS, STLS, READY, CH, SH, END } },
	{ .name = "multiline_banner_then_strip", .phase = SMTP_PH_PLAIN,
	  .steps = { SRV("220-mx.example.net ESMTP\r\n220-XXXXXXXX\r\n220 ready\r\n"),
		     EHLO, SRV_R("250-mx.example.net\r\n250 XXXXXXXX\r\n", STRIPPED),
		     MAIL, END } },
	{ .name = "banner_cut", .phase = SMTP_PH_TLS,
	  .banner = "mx.example.net ESMTP 0123456789a", /* SMTP_BANNER_MAX (32) bytes */
	  .steps = { SRV("220 mx.example.net ESMTP 0123456789abcdefghijklmnopqrstuvwxyz.!\r\n"),
		     EHLO, EHLO_TLS, STLS, READY, CH, SH, END } },
	{ .name = "helo_cut", .phase = SMTP_PH_TLS,
	  .helo = "a-very-long-client-name.", /* SMTP_HELO_MAX (24) bytes */
	  .steps = { BANNER, CLI("EHLO a-very-long-client-name.mail.example.org.example\r\n"),
		     EHLO_TLS, STLS, READY, CH, SH, END } },
	{ .name = "helo_first_name_kept", .phase = SMTP_PH_TLS,
	  .helo = "client.example.org", .banner = "mx.example.net ESMTP Postfix",
	  .steps = { BANNER, CLI("HELO client.example.org\r\n"), SRV("250 mx.example.net\r\n"),
		     CLI("EHLO other.example.com\r\n"), EHLO_TLS, STLS, READY, CH, SH, END } },

	/* ---- what cannot be followed ---- */
	{ .name = "long_server_line", .phase = SMTP_PH_LOST,
	  .steps = { BANNER, EHLO,
		     { K_S, long_srv, LONG_N, LIMIT, 0 },
		     STLS, READY, CH, SH, END } },
	{ .name = "long_client_line", .phase = SMTP_PH_LOST,
	  .steps = { BANNER, EHLO, EHLO_TLS,
		     { K_C, long_cli, LONG_N, LIMIT, 0 },
		     MAIL, END } },
	{ .name = "long_but_allowed_line", .phase = SMTP_PH_TLS, .flags = SMTP_F_EXPECT,
	  .steps = { BANNER, EHLO,
		     { K_S, ok_long_srv, OKLONG_N, 0, 0 },
		     SRV("250 STARTTLS\r\n"), STLS, READY, CH, SH, END } },
	/* Lines that are no reply are skipped, as Postfix's client skips them
	 * (smtp_chat.c): no giving up, whatever the service on the port. */
	{ .name = "not_smtp_http", .phase = SMTP_PH_PLAIN,
	  .steps = { SRV("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"),
		     CLI("EHLO client.example.org\r\n"),
		     CLI_R("MAIL FROM:<a@example.org>\r\n", MISSING), END } },
	{ .name = "not_smtp_ssh", .phase = PH_UNDECIDED,
	  .steps = { SRV("SSH-2.0-OpenSSH_9.6\r\n"), CLI("SSH-2.0-OpenSSH_9.6\r\n"), END } },

	/* ---- garbage in the greeting (issue 20, item 2) ---- */
	{ .name = "garbage_line_before_greeting", .phase = SMTP_PH_PLAIN, .flags = SMTP_F_EXPECT,
	  .banner = "mx.example.net ESMTP",
	  .steps = { SRV("garbage\r\n"), SRV("220 mx.example.net ESMTP\r\n"), EHLO,
		     SRV_R("250-mx.example.net\r\n250 8BITMIME\r\n", DOWNGRADE), MAIL, END } },
	{ .name = "garbage_lines_same_segment_as_greeting", .phase = SMTP_PH_PLAIN,
	  .banner = "mx.example.net ESMTP",
	  .steps = { SRV("garbage\r\n2200 four digits\r\n22 two\r\n220x\r\n\r\n"
			 "220 mx.example.net ESMTP\r\n"),
		     EHLO, SRV_R("250-mx.example.net\r\n250 XXXXXXXX\r\n", STRIPPED), MAIL, END } },
	{ .name = "greeting_code_then_nul", .phase = SMTP_PH_PLAIN, .flags = SMTP_F_EXPECT,
	  .steps = { SRV("220\0mx.example.net\r\n"), EHLO,
		     SRV_R("250-mx.example.net\r\n250 8BITMIME\r\n", DOWNGRADE), MAIL, END } },
	{ .name = "greeting_code_only", .phase = SMTP_PH_TLS, .flags = SMTP_F_EXPECT,
	  .steps = { SRV("220\r\n"), EHLO, EHLO_TLS, STLS, READY, CH, SH, END } },
	{ .name = "garbage_inside_multiline_greeting", .phase = SMTP_PH_PLAIN,
	  .flags = SMTP_F_EXPECT,
	  .steps = { SRV("220-mx.example.net ESMTP\r\nthis is no reply line\r\n220 ready\r\n"),
		     EHLO, SRV_R("250-mx.example.net\r\n250 8BITMIME\r\n", DOWNGRADE), MAIL, END } },
	{ .name = "garbage_greeting_then_client_mail", .phase = SMTP_PH_PLAIN,
	  .flags = SMTP_F_EXPECT,
	  .steps = { SRV("garbage\r\n"), CLI("EHLO client.example.org\r\n"),
		     CLI_R("MAIL FROM:<a@example.org>\r\n", DOWNGRADE), END } },

	/* ---- verbs split the way MTAs split them (item 6) ---- */
	{ .name = "mail_vt_separator", .phase = SMTP_PH_PLAIN, .flags = SMTP_F_EXPECT,
	  .steps = { BANNER, EHLO, EHLO_TLS, CLI_R("MAIL\vFROM:<a@example.org>\r\n", DOWNGRADE),
		     END } },
	{ .name = "mail_ff_separator", .phase = SMTP_PH_PLAIN,
	  .steps = { BANNER, EHLO, EHLO_NOTLS, CLI_R("MAIL\fFROM:<a@example.org>\r\n", MISSING),
		     END } },
	{ .name = "mail_cr_separator", .phase = SMTP_PH_PLAIN, .flags = SMTP_F_EXPECT,
	  .steps = { BANNER, EHLO, EHLO_TLS, CLI_R("MAIL\rFROM:<a@example.org>\r\n", DOWNGRADE),
		     END } },
	{ .name = "mail_leading_space", .phase = SMTP_PH_PLAIN, .flags = SMTP_F_EXPECT,
	  .steps = { BANNER, EHLO, EHLO_TLS, CLI_R(" MAIL FROM:<a@example.org>\r\n", DOWNGRADE),
		     END } },
	{ .name = "mail_leading_blanks_mixed", .phase = SMTP_PH_PLAIN,
	  .steps = { BANNER, EHLO, EHLO_NOTLS,
		     CLI_R(" \t\v\f\r MAIL \t FROM:<a@example.org>\r\n", MISSING), END } },
	{ .name = "blank_client_lines", .phase = SMTP_PH_PLAIN,
	  .steps = { BANNER, EHLO, EHLO_NOTLS, CLI(" \t\r\n\r\n \r \n"),
		     CLI_R("MAIL FROM:<a@example.org>\r\n", MISSING), END } },
	{ .name = "starttls_leading_space_and_tab", .phase = SMTP_PH_TLS, .flags = SMTP_F_EXPECT,
	  .steps = { BANNER, EHLO, EHLO_TLS, CLI("\t STARTTLS\r\n"), READY, CH, SH, END } },
	{ .name = "auth_plain_two_spaces", .phase = SMTP_PH_PLAIN,
	  .steps = { BANNER, EHLO, SRV("250-mx.example.net\r\n250 AUTH PLAIN LOGIN\r\n"),
		     CLI_R("AUTH  PLAIN AGFsaWNlAHNlY3JldA==\r\n", PLAUTH),
		     SRV("235 2.7.0 ok\r\n"), MAIL_R(MISSING), END } },
	{ .name = "ehlo_vt_helo_name", .phase = SMTP_PH_TLS, .helo = "client.example.org",
	  .steps = { BANNER, CLI("EHLO\vclient.example.org\r\n"), EHLO_TLS, STLS, READY, CH, SH,
		     END } },

	/* ---- capabilities the way Postfix's client reads them (item 10) ---- */
	{ .name = "capability_after_space", .phase = SMTP_PH_TLS, .flags = SMTP_F_EXPECT,
	  .steps = { BANNER, EHLO, SRV("250-mx.example.net\r\n250- STARTTLS\r\n250 8BITMIME\r\n"),
		     STLS, READY, CH, SH, END } },
	{ .name = "capability_with_equals", .phase = SMTP_PH_TLS, .flags = SMTP_F_EXPECT,
	  .steps = { BANNER, EHLO, SRV("250-mx.example.net\r\n250-STARTTLS=x\r\n250 8BITMIME\r\n"),
		     STLS, READY, CH, SH, END } },
	{ .name = "capability_last_line_blanks", .phase = SMTP_PH_TLS, .flags = SMTP_F_EXPECT,
	  .steps = { BANNER, EHLO, SRV("250-mx.example.net\r\n250 \t STARTTLS\r\n"),
		     STLS, READY, CH, SH, END } },
	{ .name = "capability_garbled_after_space", .phase = SMTP_PH_PLAIN,
	  .steps = { BANNER, EHLO,
		     SRV_R("250-mx.example.net\r\n250-  XXXXXXXX\r\n250 8BITMIME\r\n", STRIPPED),
		     MAIL, END } },
	{ .name = "capability_garbled_with_equals", .phase = SMTP_PH_PLAIN,
	  .steps = { BANNER, EHLO,
		     SRV_R("250-mx.example.net\r\n250-XXXXXXXX=1\r\n250 8BITMIME\r\n", STRIPPED),
		     MAIL, END } },

	/* ---- more edges of the contract ---- */
	{ .name = "injected_auth_plain_after_starttls", .phase = SMTP_PH_TLS,
	  /* credentials crossed in cleartext before TLS: plaintext_auth too */
	  .steps = { BANNER, EHLO, EHLO_TLS,
		     CLI_R("STARTTLS\r\nAUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n", INJECTION | PLAUTH),
		     READY, CH, SH, END } },
	{ .name = "pix_banner_masked_beyond_cut", .phase = SMTP_PH_PLAIN,
	  /* masked past the banner kept for events (SMTP_BANNER_MAX) */
	  .steps = { SRV_R("220 ****************************************2****0****0*****"
			   "*********************0****2**\r\n", STRIPPED),
		     EHLO, SRV("250-mx.example.net\r\n250 8BITMIME\r\n"), MAIL, END } },
	{ .name = "stars_with_text_not_masked", .phase = SMTP_PH_PLAIN,
	  /* 60 of the 81 characters after the code are '*', but a mask leaves no letters */
	  .steps = { SRV("220 mx.example.net ESMTP "
			 "************************************************************\r\n"),
		     EHLO, SRV("250-mx.example.net\r\n250 8BITMIME\r\n"), MAIL_R(MISSING), END } },
	{ .name = "decorative_multiline_banner", .phase = SMTP_PH_TLS, .flags = SMTP_F_EXPECT,
	  .banner = "********************************", /* SMTP_BANNER_MAX */
	  .steps = { SRV("220-******************************************************\r\n"
			 "220-*  Welcome to mx.example.net, unsolicited mail refused *\r\n"
			 "220-******************************************************\r\n"
			 "220 mx.example.net ESMTP Postfix\r\n"),
		     EHLO, EHLO_TLS, STLS, READY, CH, SH, END } },
	{ .name = "pix_multiline_masked", .phase = SMTP_PH_PLAIN,
	  .steps = { SRV("220-****************2**0**********\r\n"),
		     SRV_R("220 ******0*****2****\r\n", STRIPPED),
		     EHLO, SRV("250-mx.example.net\r\n250 8BITMIME\r\n"), MAIL, END } },
	{ .name = "pix_masked_garbage_line_skipped", .phase = SMTP_PH_PLAIN,
	  /* a garbage line Postfix skips cannot unmask the greeting */
	  .steps = { SRV_R("220-****************2**0**********\r\nnot a reply\r\n"
			   "220 ******0*****2****\r\n", STRIPPED),
		     EHLO, SRV("250-mx.example.net\r\n250 8BITMIME\r\n"), MAIL, END } },
	{ .name = "banner_stars_only_at_start", .phase = SMTP_PH_PLAIN,
	  /* 40 of the 91 characters after the code are '*': less than half */
	  .steps = { SRV("220 ****************************************"
			 " mx.example.net ESMTP Postfix ready for mail service\r\n"),
		     EHLO, SRV("250-mx.example.net\r\n250 8BITMIME\r\n"), MAIL_R(MISSING), END } },
	{ .name = "pipelined_eight_commands", .phase = SMTP_PH_TLS, .flags = SMTP_F_EXPECT,
	  .steps = { BANNER,
		     CLI("RSET\r\nRSET\r\nRSET\r\nRSET\r\nRSET\r\nRSET\r\nRSET\r\n"
			 "EHLO client.example.org\r\n"),
		     SRV("250 2.0.0 Ok\r\n250 2.0.0 Ok\r\n250 2.0.0 Ok\r\n250 2.0.0 Ok\r\n"
			 "250 2.0.0 Ok\r\n250 2.0.0 Ok\r\n250 2.0.0 Ok\r\n"
			 "250-mx.example.net\r\n250-PIPELINING\r\n250 STARTTLS\r\n"),
		     STLS, READY, CH, SH, END } },
	{ .name = "pipelined_ehlo_starttls_stripped", .phase = SMTP_PH_PLAIN,
	  /* the garbled keyword may or may not count as "advertised" for the 502 */
	  .steps = { BANNER, CLI("EHLO client.example.org\r\nSTARTTLS\r\n"),
		     SRV_RM("250-mx.example.net\r\n250 XXXXXXXX\r\n502 5.5.2 Error: command not recognized\r\n",
			    STRIPPED, REJECTED),
		     MAIL, END } },
	{ .name = "ehlo_refused_then_helo_expect", .phase = SMTP_PH_PLAIN,
	  .flags = SMTP_F_EXPECT, .need = DOWNGRADE,
	  /* a 5xx to EHLO forces HELO: a downgrade, at the 502 or at MAIL */
	  .steps = { BANNER, EHLO, SRV_RM("502 5.5.2 Error: command not recognized\r\n", 0, DOWNGRADE),
		     CLI("HELO client.example.org\r\n"), SRV("250 mx.example.net\r\n"),
		     CLI_RM("MAIL FROM:<a@example.org>\r\n", 0, DOWNGRADE), END } },
	{ .name = "starttls_retry_after_454", .phase = SMTP_PH_TLS,
	  .steps = { BANNER, EHLO, EHLO_TLS, STLS,
		     SRV_R("454 4.7.0 TLS not available due to local problem\r\n", REJECTED),
		     STLS, SRV("454 4.7.0 TLS not available due to local problem\r\n"),
		     STLS, READY, CH, SH, END } },
	{ .name = "client_hello_in_two_records", .phase = SMTP_PH_TLS,
	  .steps = { BANNER, EHLO, EHLO_TLS, STLS, READY,
		     CLI("\x16\x03\x01\x00\x06" "\x01\x00\x00\x29\x03\x03"
			 "\x16\x03\x01\x00\x23" "RRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRR" "\x00\x00\x00"),
		     SH, END } },
	{ .name = "client_app_data_instead_of_hello", .phase = PH_ANY,
	  .steps = { BANNER, EHLO, EHLO_TLS, STLS, READY,
		     CLI_R("\x17\x03\x03\x00\x05hello", PLAINTLS), END } },
	{ .name = "server_app_data_instead_of_hello", .phase = PH_ANY,
	  .steps = { BANNER, EHLO, EHLO_TLS, STLS, READY, CH,
		     SRV_R("\x17\x03\x03\x00\x05hello", PLAINTLS), END } },
	{ .name = "pregreet_client_ehlo", .phase = SMTP_PH_TLS, .flags = SMTP_F_EXPECT,
	  .helo = "client.example.org", .banner = "mx.example.net ESMTP Postfix",
	  .steps = { EHLO, BANNER, EHLO_TLS, STLS, READY, CH, SH, END } },
	{ .name = "client_hello_record_version_ssl3", .phase = SMTP_PH_TLS,
	  .steps = { BANNER, EHLO, EHLO_TLS, STLS, READY,
		     CLI("\x16\x03\x00\x00\x2d" "\x01\x00\x00\x29\x03\x03"
			 "RRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRR" "\x00" "\x00\x02\x13\x01" "\x01\x00"),
		     SH, END } },
	{ .name = "client_hello_record_version_0304", .phase = SMTP_PH_TLS,
	  .steps = { BANNER, EHLO, EHLO_TLS, STLS, READY,
		     CLI("\x16\x03\x04\x00\x2d" "\x01\x00\x00\x29\x03\x03"
			 "RRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRR" "\x00" "\x00\x02\x13\x01" "\x01\x00"),
		     SH, END } },
	{ .name = "handshake_alert_protocol_version", .phase = PH_ANY,
	  .reason_sig = SIG_TLS_HANDSHAKE_FAILED, .reason = "protocol_version",
	  .steps = { BANNER, EHLO, EHLO_TLS, STLS, READY, CH,
		     SRV_R("\x15\x03\x01\x00\x02\x02\x46", HSFAIL), RST_R(0), END } },
	{ .name = "plaintext_auth_then_expect_downgrade_at_mail", .phase = SMTP_PH_PLAIN,
	  .flags = SMTP_F_EXPECT,
	  .steps = { BANNER, EHLO, EHLO_TLS,
		     CLI_R("AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n", PLAUTH),
		     SRV("235 2.7.0 Authentication successful\r\n"),
		     MAIL_R(DOWNGRADE), END } },
	{ .name = "greeting_554_not_stripped", .phase = PH_UNDECIDED,
	  .steps = { SRV("554 5.7.1 mx.example.net no service for you\r\n"),
		     CLI("QUIT\r\n"), SRV("221 2.0.0 Bye\r\n"), FIN_R(0), END } },
	{ .name = "stripped_reason_quotes_keyword", .phase = SMTP_PH_PLAIN,
	  .reason_sig = SIG_STARTTLS_STRIPPED, .reason = "XXXXXXXA",
	  .steps = { BANNER, EHLO, SRV_R("250-mx.example.net\r\n250 XXXXXXXA\r\n", STRIPPED),
		     MAIL, END } },
};

#define N_DIALOGUES (sizeof(dialogues) / sizeof(dialogues[0]))

/* One replay's observations. */
struct run {
	struct smtp s;
	unsigned    step_mask[MAX_STEPS]; /* signatures raised while in step i */
	unsigned    count[SIG_COUNT];     /* how often each signature came */
	int         decided;              /* smtp_push returned 1 */
	char       *err;                  /* first inconsistency, "" if none */
	size_t      errlen;
	char        reasons[SIG_COUNT][FINDING_REASON_MAX]; /* last reason per signature */
};

/* Append "a|b|c" names of a signature mask to buf. */
static void
mask_names(unsigned m, char *buf, size_t len)
{
	size_t o = 0;

	buf[0] = '\0';
	if (m == 0) {
		snprintf(buf, len, "none");
		return;
	}
	for (int i = 0; i < SIG_COUNT && o < len; i++)
		if (m & B(i)) {
			int w = snprintf(buf + o, len - o, "%s%s", o ? "|" : "",
			    sig_name((enum sig)i));
			if (w < 0)
				break;
			o += (size_t)w;
		}
}

/* Record the first inconsistency of a replay. */
static void run_err(struct run *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
run_err(struct run *r, const char *fmt, ...)
{
	va_list ap;

	if (r->err[0] != '\0')
		return;
	va_start(ap, fmt);
	vsnprintf(r->err, r->errlen, fmt, ap);
	va_end(ap);
}

/* Take the findings of one call into step i. */
static void
collect(struct run *r, int i, const struct smtp_out *out)
{
	if (out->n > SMTP_OUT_MAX) {
		run_err(r, "out.n = %u > SMTP_OUT_MAX at step %d", out->n, i);
		return;
	}
	for (unsigned k = 0; k < out->n; k++) {
		const struct finding *f = &out->f[k];

		if ((unsigned)f->sig >= SIG_COUNT) {
			run_err(r, "finding with bad sig %d at step %d", (int)f->sig, i);
			continue;
		}
		if (memchr(f->reason, '\0', sizeof(f->reason)) == NULL)
			run_err(r, "%s reason not NUL-terminated", sig_name(f->sig));
		else if (f->reason[0] == '\0')
			run_err(r, "%s with empty reason", sig_name(f->sig));
		else
			memcpy(r->reasons[f->sig], f->reason, sizeof(f->reason));
		r->count[f->sig]++;
		r->step_mask[i] |= B(f->sig);
	}
}

/* One smtp_push, as the caller does it: a fresh out, stop once decided. */
static void
push(struct run *r, int i, int dir, const uint8_t *p, size_t n)
{
	struct smtp_out out;
	int ret;

	if (r->decided)
		return;
	memset(&out, 0, sizeof(out));
	ret = smtp_push(&r->s, dir, p, n, &out);
	collect(r, i, &out);
	if (ret == 1) {
		r->decided = 1;
		if (!smtp_decided(&r->s))
			run_err(r, "push returned 1 at step %d but phase %s is not decided",
			    i, smtp_phase_name(r->s.phase));
		if (out.decided != r->s.phase)
			run_err(r, "push returned 1 at step %d, out.decided = %u, phase %s",
			    i, out.decided, smtp_phase_name(r->s.phase));
	} else if (ret == 0) {
		if (smtp_decided(&r->s))
			run_err(r, "push returned 0 at step %d but phase %s is decided",
			    i, smtp_phase_name(r->s.phase));
		if (out.decided != 0)
			run_err(r, "push returned 0 at step %d with out.decided = %u",
			    i, out.decided);
	} else
		run_err(r, "push returned %d at step %d", ret, i);
}

enum mode { M_WHOLE, M_SPLIT, M_BYTES };

/*
 * Replay dialogue d: whole steps, step `split` cut at `pos`, or every step
 * byte by byte. Returns 0, or -1 with the first difference in err.
 */
static int
replay(const struct dialogue *d, enum mode mode, int split, size_t pos,
    char *err, size_t errlen)
{
	static struct run r;
	char got[256], want[256];

	memset(&r, 0, sizeof(r));
	err[0] = '\0';
	r.err = err;
	r.errlen = errlen;
	smtp_init(&r.s);
	r.s.flags |= d->flags;

	for (int i = 0; i < MAX_STEPS && d->steps[i].kind != K_END; i++) {
		const struct step *st = &d->steps[i];
		const uint8_t *p = (const uint8_t *)st->p;
		int dir = st->kind == K_C ? SMTP_DIR_CLIENT : SMTP_DIR_SERVER;

		if (st->kind == K_FIN || st->kind == K_RST) {
			struct smtp_out out;

			memset(&out, 0, sizeof(out));
			smtp_end(&r.s, st->kind == K_RST, &out);
			collect(&r, i, &out);
			continue;
		}
		if (mode == M_BYTES) {
			for (size_t k = 0; k < st->n; k++)
				push(&r, i, dir, p + k, 1);
		} else if (mode == M_SPLIT && i == split) {
			push(&r, i, dir, p, pos);
			push(&r, i, dir, p + pos, st->n - pos);
		} else
			push(&r, i, dir, p, st->n);
	}

	for (int k = 0; k < SIG_COUNT; k++)
		if (r.count[k] > 1)
			run_err(&r, "%s raised %u times", sig_name((enum sig)k), r.count[k]);
	for (int i = 0; i < MAX_STEPS && d->steps[i].kind != K_END; i++) {
		const struct step *st = &d->steps[i];
		unsigned m = r.step_mask[i];

		if ((m & ~st->maybe) != st->raise) {
			mask_names(m, got, sizeof(got));
			mask_names(st->raise, want, sizeof(want));
			run_err(&r, "step %d raised %s, want %s", i, got, want);
		}
	}
	for (int k = 0; k < SIG_COUNT; k++)
		if ((d->need & B(k)) && r.count[k] == 0)
			run_err(&r, "%s never raised", sig_name((enum sig)k));
	if (d->phase == PH_UNDECIDED) {
		if (smtp_decided(&r.s))
			run_err(&r, "final phase %s, want undecided", smtp_phase_name(r.s.phase));
	} else if (d->phase != PH_ANY && r.s.phase != d->phase)
		run_err(&r, "final phase %s, want %s", smtp_phase_name(r.s.phase),
		    smtp_phase_name(d->phase));
	if (d->banner != NULL && (r.s.banner_len != strlen(d->banner) ||
	    memcmp(r.s.banner, d->banner, r.s.banner_len) != 0))
		run_err(&r, "banner '%.*s' (%u), want '%s'", (int)r.s.banner_len,
		    r.s.banner, r.s.banner_len, d->banner);
	if (d->helo != NULL && (r.s.helo_len != strlen(d->helo) ||
	    memcmp(r.s.helo, d->helo, r.s.helo_len) != 0))
		run_err(&r, "helo '%.*s' (%u), want '%s'", (int)r.s.helo_len,
		    r.s.helo, r.s.helo_len, d->helo);
	if (d->reason != NULL && strstr(r.reasons[d->reason_sig], d->reason) == NULL)
		run_err(&r, "%s reason '%s' does not mention '%s'",
		    sig_name((enum sig)d->reason_sig), r.reasons[d->reason_sig], d->reason);
	return err[0] != '\0' ? -1 : 0;
}

/* cmocka test: one dialogue in all three segmentations. */
static void
test_dialogue(void **state)
{
	const struct dialogue *d = *state;
	char err[512];
	int failed = 0;

	if (replay(d, M_WHOLE, -1, 0, err, sizeof(err)) != 0) {
		print_error("[%s] whole steps: %s\n", d->name, err);
		failed = 1;
	}
	for (int i = 0; i < MAX_STEPS && d->steps[i].kind != K_END; i++) {
		int done = 0;

		for (size_t pos = 1; pos < d->steps[i].n; pos++)
			if (replay(d, M_SPLIT, i, pos, err, sizeof(err)) != 0) {
				print_error("[%s] step %d split at %zu: %s\n", d->name, i, pos, err);
				failed = done = 1;
				break;
			}
		if (done)
			break;
	}
	if (replay(d, M_BYTES, -1, 0, err, sizeof(err)) != 0) {
		print_error("[%s] byte by byte: %s\n", d->name, err);
		failed = 1;
	}
	if (failed)
		fail();
}

/* Raising by hand obeys the once-per-flow rule too. */
static void
test_raise_once(void **state)
{
	struct smtp s;
	struct smtp_out out;

	(void)state;
	smtp_init(&s);
	memset(&out, 0, sizeof(out));
	assert_int_equal(smtp_raise(&s, &out, SIG_TCP_OVERLAP_CONFLICT, "segments differ"), 1);
	assert_int_equal(out.n, 1);
	assert_int_equal(out.f[0].sig, SIG_TCP_OVERLAP_CONFLICT);
	assert_string_equal(out.f[0].reason, "segments differ");
	assert_int_equal(smtp_raise(&s, &out, SIG_TCP_OVERLAP_CONFLICT, "again"), 0);
	assert_int_equal(out.n, 1);
	memset(&out, 0, sizeof(out));
	assert_int_equal(smtp_raise(&s, &out, SIG_TCP_OVERLAP_CONFLICT, "later packet"), 0);
	assert_int_equal(out.n, 0);
	assert_int_equal(smtp_raise(&s, &out, SIG_INSPECTION_LIMIT, "ooo limit"), 1);
	assert_int_equal(out.n, 1);
}

/* A fresh machine waits for the greeting and names its phases. */
static void
test_init_and_names(void **state)
{
	struct smtp s;

	(void)state;
	smtp_init(&s);
	assert_int_equal(s.phase, SMTP_PH_GREETING);
	assert_int_equal(smtp_decided(&s), 0);
	assert_int_equal(s.banner_len, 0);
	assert_int_equal(s.helo_len, 0);
	for (int ph = SMTP_PH_GREETING; ph <= SMTP_PH_LOST; ph++) {
		assert_non_null(smtp_phase_name(ph));
		assert_true(smtp_phase_name(ph)[0] != '\0');
	}
	assert_string_equal(tls_alert_name(40), "handshake_failure");
}

/* Fill the long-line buffers. */
static void
make_long_lines(void)
{
	memset(long_srv, 'A', sizeof(long_srv));
	memcpy(long_srv, "250-", 4);
	memcpy(long_srv + LONG_N - 2, "\r\n", 2);

	memset(long_cli, 'x', sizeof(long_cli));
	memcpy(long_cli, "NOOP ", 5);
	memcpy(long_cli + LONG_N - 2, "\r\n", 2);

	memset(ok_long_srv, 'a', sizeof(ok_long_srv));
	memcpy(ok_long_srv, "250-X-LONG ", 11);
	memcpy(ok_long_srv + OKLONG_N - 2, "\r\n", 2);
}

/* Recipient-domain deferral (SMTP_F_DEFER): MAIL does not decide, the first
 * RCPT does, with its domain hashed (case, trailing dot, last '@'), at
 * every split of the client's bytes. */
static void
test_defer_rcpt(void **state)
{
	static const char *const srv[] = {
		"220 mx.example.net ESMTP\r\n", "250 mx.example.net\r\n", "250 ok\r\n",
	};
	static const struct {
		const char *rcpt;  /* the RCPT line */
		const char *want;  /* its domain, NULL = none */
	} cases[] = {
		{ "RCPT TO:<bob@Example.NET.>\r\n", "example.net" },
		{ "rcpt to:<\"a@b\"@lists.example.org> NOTIFY=NEVER\r\n", "lists.example.org" },
		{ "RCPT TO:<postmaster>\r\n", NULL },
		{ "RCPT TO:<carol@Example.NET> ORCPT=rfc822;carol@other.example\r\n", "example.net" },
		{ "RCPT TO:<postmaster> ORCPT=rfc822;postmaster@other.example\r\n", NULL },
		{ "RCPT TO: <dave@lists.example.org>\r\n", "lists.example.org" },
	};
	(void)state;
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		const char *r = cases[c].rcpt;
		size_t rl = strlen(r);
		for (size_t cut = 0; cut <= rl; cut++) {
			struct smtp s;
			struct smtp_out out = { 0 };
			smtp_init(&s);
			s.flags |= SMTP_F_DEFER;
			smtp_push(&s, SMTP_DIR_SERVER, (const uint8_t *)srv[0], strlen(srv[0]), &out);
			smtp_push(&s, SMTP_DIR_CLIENT, (const uint8_t *)"EHLO c\r\n", 8, &out);
			smtp_push(&s, SMTP_DIR_SERVER, (const uint8_t *)srv[1], strlen(srv[1]), &out);
			smtp_push(&s, SMTP_DIR_CLIENT, (const uint8_t *)"MAIL FROM:<a@b.c>\r\n", 19, &out);
			assert_int_equal(s.phase, SMTP_PH_CMD);
			smtp_push(&s, SMTP_DIR_SERVER, (const uint8_t *)srv[2], strlen(srv[2]), &out);
			smtp_push(&s, SMTP_DIR_CLIENT, (const uint8_t *)r, cut, &out);
			smtp_push(&s, SMTP_DIR_CLIENT, (const uint8_t *)r + cut, rl - cut, &out);
			assert_int_equal(out.n, 0);
			assert_int_equal(s.phase, SMTP_PH_PLAIN);
			assert_true(s.flags & SMTP_F_OWED);
			if (cases[c].want) {
				assert_true(s.flags & SMTP_F_RCPT);
				assert_true(s.rcpt_hash == smtp_name_hash(cases[c].want, strlen(cases[c].want)));
			} else {
				assert_false(s.flags & SMTP_F_RCPT);
			}
			s.flags |= SMTP_F_EXPECT;
			smtp_plain_findings(&s, &out);
			assert_int_equal(out.n, 1);
			assert_int_equal(out.f[0].sig, SIG_STARTTLS_DOWNGRADE);
			assert_false(s.flags & SMTP_F_OWED);
		}
	}
}

/* The masked-capability finding is informational (severity 3, so never a
 * block by itself); a mask nothing explains is the severity-1 stripping. */
static void
test_mask_severity(void **state)
{
	static const struct {
		const char *reply;
		int severity;     /* of the starttls_stripped finding, 0 = the signature's */
		const char *word; /* quoted in its reason */
	} cases[] = {
		{ "250-m\r\n250-BINARYMIME\r\n250 XXXXXXXB\r\n", 3, "'XXXXXXXB'" },
		{ "250-m\r\n250-STARTTLS\r\n250 ********\r\n", 3, "'********'" },
		{ "250-m\r\n250-CHUNKING\r\n250 XXXXXXXB\r\n", 0, "'XXXXXXXB'" },
		{ "250-m\r\n250 xxxxxxxC\r\n", 0, "'xxxxxxxC'" },
		{ "250-m\r\n250 ZZZZZZZZ\r\n", 0, "'ZZZZZZZZ'" },
	};
	(void)state;
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		struct smtp s;
		struct smtp_out out = { 0 };

		smtp_init(&s);
		smtp_push(&s, SMTP_DIR_SERVER, (const uint8_t *)"220 mx ESMTP ***\r\n", 18, &out);
		smtp_push(&s, SMTP_DIR_CLIENT, (const uint8_t *)"EHLO c\r\n", 8, &out);
		smtp_push(&s, SMTP_DIR_SERVER, (const uint8_t *)cases[c].reply,
		    strlen(cases[c].reply), &out);
		assert_int_equal(out.n, 1);
		assert_int_equal(out.f[0].sig, SIG_STARTTLS_STRIPPED);
		assert_int_equal(out.f[0].severity, cases[c].severity);
		assert_non_null(strstr(out.f[0].reason, cases[c].word));
		assert_int_equal(s.ehlo_masks, 0);
	}
}

/* Under SMTP_F_DEFER, DATA without MAIL decides and leaves the finding to
 * the caller (no recipient domain is known). */
static void
test_defer_data(void **state)
{
	struct smtp s;
	struct smtp_out out = { 0 };

	(void)state;
	smtp_init(&s);
	s.flags |= SMTP_F_DEFER;
	smtp_push(&s, SMTP_DIR_SERVER, (const uint8_t *)"220 mx\r\n", 8, &out);
	smtp_push(&s, SMTP_DIR_CLIENT, (const uint8_t *)"DATA\r\n", 6, &out);
	assert_int_equal(out.n, 0);
	assert_int_equal(s.phase, SMTP_PH_PLAIN);
	assert_true(s.flags & SMTP_F_OWED);
	assert_false(s.flags & SMTP_F_RCPT);
}

int
main(void)
{
	static struct CMUnitTest tests[N_DIALOGUES + 5];
	size_t n = 0;

	make_long_lines();
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_init_and_names);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_raise_once);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_defer_rcpt);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_mask_severity);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_defer_data);
	for (size_t i = 0; i < N_DIALOGUES; i++) {
		tests[n].name = dialogues[i].name;
		tests[n].test_func = test_dialogue;
		tests[n].initial_state = (void *)(uintptr_t)&dialogues[i];
		n++;
	}
	return _cmocka_run_group_tests("smtp", tests, n, NULL, NULL);
}
