/*
 * smtp.h - SMTP cleartext phase and STARTTLS state machine.
 *
 * Bytes of both directions are pushed in stream order (smtp_push); findings
 * and the decision come out in a struct smtp_out. The parser is a byte-wise
 * state machine: it keeps only the first SMTP_HEAD_MAX bytes of the current
 * line (enough for a reply code and a capability keyword, or a command verb
 * and its first argument) and counts the rest, so no line is ever buffered
 * and any TCP segmentation gives the same findings. It never logs, allocates
 * or reads the clock. The caller must stop pushing once out->decided is set.
 *
 *   GREETING --220--> CMD --STARTTLS--> STARTTLS --220--> TLS_CH
 *       |              |                   |4xx/5xx          | ClientHello
 *       |              |<------------------+                 v
 *       |              |--MAIL FROM--> PLAIN (decided)    TLS_SH
 *       |              |                                     | ServerHello
 *       +--not SMTP--> LOST (decided, not inspectable)       v
 *                                                          TLS (decided)
 *
 * RCPT, DATA, BDAT or BURL with no MAIL before them decide PLAIN as MAIL
 * does: they carry a mail transaction all the same.
 */
#ifndef INSPECT_SMTP_H
#define INSPECT_SMTP_H

#include <stddef.h>
#include <stdint.h>

#include "finding.h"
#include "hsbuf.h"
#include "tls.h"

/* RFC 5321 4.5.3.1 allows 512-octet command lines and replies; real servers
 * and clients go beyond, so like Suricata we accept 4096 before giving up. */
#define SMTP_LINE_MAX    4096
/* Bytes of each line kept for parsing: "250-" + a 12-byte keyword. */
#define SMTP_HEAD_MAX    16
/* Banner and HELO name as reported in events; longer ones are cut. */
#define SMTP_BANNER_MAX  32
#define SMTP_HELO_MAX    24
/* Commands awaiting a reply that we track by kind (PIPELINING). */
#define SMTP_PENDING_MAX 8
/* Findings one push can produce: each signature is raised at most once per
 * flow, so one of each can never overflow. */
#define SMTP_OUT_MAX     SIG_COUNT

enum smtp_phase {
	SMTP_PH_GREETING,  /* waiting for the server's 220 */
	SMTP_PH_CMD,       /* cleartext commands and replies */
	SMTP_PH_STARTTLS,  /* client sent STARTTLS, reply pending */
	SMTP_PH_TLS_CH,    /* 220 to STARTTLS seen: client must start TLS */
	SMTP_PH_TLS_SH,    /* ClientHello seen: server must answer in TLS */
	SMTP_PH_TLS,       /* decided: TLS confirmed */
	SMTP_PH_PLAIN,     /* decided: a mail transaction started in cleartext */
	SMTP_PH_LOST       /* decided: cannot be followed (limit, not SMTP) */
};

/* struct smtp.flags */
#define SMTP_F_OFFERED    0x0001 /* STARTTLS in an EHLO reply */
#define SMTP_F_SENT       0x0002 /* client sent STARTTLS */
#define SMTP_F_EHLO_DONE  0x0004 /* a complete EHLO reply was seen */
#define SMTP_F_EXPECT     0x0008 /* policy expects TLS from this server (set by caller) */
#define SMTP_F_RECENT_FAIL 0x0010 /* a TLS attempt to this server failed lately (set by caller) */
#define SMTP_F_REPORTED   0x0020 /* a STARTTLS-class finding was raised already */
#define SMTP_F_MAIL       0x0040 /* MAIL FROM seen */
#define SMTP_F_DEFER      0x0080 /* nothing matched the server, but a recipient domain may:
                                    at MAIL do not decide, decide at the first RCPT (set by caller) */
#define SMTP_F_RCPT       0x0100 /* rcpt_hash holds the first plaintext RCPT's domain */
#define SMTP_F_HELO_ARG   0x0200 /* the current client line is EHLO/HELO: copy its argument */
#define SMTP_F_GOT_HELO   0x0400 /* helo[] holds a name: do not overwrite */
#define SMTP_F_GOT_BANNER 0x0800 /* banner[] is complete */
#define SMTP_F_RDOM       0x1000 /* inside the current RCPT line's domain (after '@') */
#define SMTP_F_RDOT       0x2000 /* a '.' of that domain waits: hashed only if more follows */
#define SMTP_F_OWED       0x4000 /* decided plaintext at RCPT: the caller raises the finding
                                    (smtp_plain_findings) once it knows the domain's policy */
#define SMTP_F_UNMASKED   0x8000 /* a greeting line's text has a byte a PIX mask never leaves */

/* struct smtp.ehlo_masks: keywords offered in clear that tell what a mask
 * may hide (BINARYMIME needs CHUNKING, RFC 3030 section 3); how many
 * 8-character masks the reply had (saturates at 3); the first one as its
 * mask character's kind and its last byte. */
#define SMTP_EM_STARTTLS    0x0001
#define SMTP_EM_CHUNKING    0x0002
#define SMTP_EM_BINARYMIME  0x0004
#define SMTP_EM_COUNT_SHIFT 3      /* 2 bits: masks seen, 0..3 */
#define SMTP_EM_KIND_SHIFT  5      /* 2 bits: first mask's bytes 0-6: 'X', 'x', '*', or its last byte */
#define SMTP_EM_LAST_SHIFT  8      /* 8 bits: first mask's last byte */

/* Direction of bytes: from the side that opened the connection, or back. */
#define SMTP_DIR_CLIENT 0
#define SMTP_DIR_SERVER 1

/* struct smtp_scan.mode */
#define SMTP_SCAN_TLS   0x01 /* this direction carries TLS: bytes go to tls_scan */
#define SMTP_SCAN_CONT  0x02 /* server: the previous reply line was a continuation ("250-") */
#define SMTP_SCAN_EARLY 0x04 /* client: the current line's verb was acted on already */
#define SMTP_SCAN_CR    0x08 /* the current line's last byte so far is a CR */
#define SMTP_SCAN_UNMASK 0x10 /* server, greeting: the current line's text has a byte a
                                 PIX/ASA mask never leaves ('*', '2', '0', blanks aside) */

/* One direction's line scanner; the same bytes serve the TLS scanner once
 * that direction has switched to TLS. */
struct smtp_scan {
	uint16_t line_len;            /* bytes of the current line so far (saturates) */
	uint8_t  head_len;            /* bytes of the line kept in head */
	uint8_t  mode;                /* SMTP_SCAN_* bits */
	union {
		char head[SMTP_HEAD_MAX]; /* the line's first bytes, CR/LF excluded */
		struct tls_scan tls_scan; /* record scanner when tls == 1 */
	} u;
};

struct smtp {
	uint8_t  phase;               /* enum smtp_phase */
	uint8_t  pend_n;              /* commands awaiting a reply */
	uint16_t flags;               /* SMTP_F_* */
	uint16_t raised;              /* bit per enum sig already raised: one of each per flow */
	uint8_t  banner_len, helo_len;
	union {
		uint16_t banner_stars;    /* greeting: '*' bytes in the text of its reply lines (PIX) */
		uint16_t ehlo_masks;      /* after it: SMTP_EM_* of the EHLO reply being read (masked
		                             8-character keywords: the flow has no room for more) */
	};
	uint16_t tls_version;         /* negotiated TLS version (ServerHello), 0 = not seen */
	uint8_t  line_stars;          /* '*' bytes in the current greeting line's text (saturates:
	                                 only "at least SMTP_MASK_MIN_STARS" matters) */
	uint8_t  lead[2];             /* per direction, whitespace bytes of the current line not
	                                 kept in head: before a command verb, or between a reply
	                                 code and its keyword (saturates: it only matters for a
	                                 word filling head, which is then too long to be one we
	                                 know whatever the count) */
	uint32_t pend;                /* pending command kinds, 4 bits each, oldest lowest */
	uint64_t rcpt_hash;           /* smtp_name_hash of the first plaintext RCPT domain (SMTP_F_DEFER) */
	struct smtp_scan dir[2];      /* SMTP_DIR_CLIENT, SMTP_DIR_SERVER */
	char     banner[SMTP_BANNER_MAX]; /* greeting text after "220 " (raw bytes, not terminated) */
	char     helo[SMTP_HELO_MAX];     /* EHLO/HELO argument (raw bytes, not terminated) */
};

/* The caller sets n and decided to 0 before a packet's pushes; f[] needs
 * no clearing. hs is the caller's handshake-buffer pool: with it, the
 * handshake messages after STARTTLS are kept (smtp_hs) until the caller
 * has read them and called smtp_release; without it (NULL) only record
 * headers are followed and TLS is decided at the ServerHello. */
struct smtp_out {
	unsigned n;                              /* findings in f[] */
	uint8_t  decided;                        /* 0, or the phase the session was decided in */
	struct hsbuf_pool *hs;                   /* handshake buffers, or NULL */
	struct finding f[SMTP_OUT_MAX];          /* raised by this push */
};

void smtp_init(struct smtp *s);

/* Push bytes of one direction; appends findings to out. Returns 1 once the
 * session is decided (phase TLS, PLAIN or LOST); later pushes are ignored. */
int smtp_push(struct smtp *s, int dir, const uint8_t *p, size_t n, struct smtp_out *out);

/* The connection ended (FIN or RST from either side, or eviction). Raises
 * tls_handshake_failed if it ended between STARTTLS and the ServerHello. */
void smtp_end(struct smtp *s, int by_rst, struct smtp_out *out);

/* Add a finding the caller detected (TCP layer) with the same once-per-flow
 * rule. Returns 1 if added. */
int smtp_raise(struct smtp *s, struct smtp_out *out, enum sig sig, const char *reason);

/* A mail transaction went plaintext: raise tls_fallback, starttls_downgrade
 * or starttls_missing as the flags say (nothing if already reported). For a
 * caller that decided the domain's policy after SMTP_F_OWED. */
void smtp_plain_findings(struct smtp *s, struct smtp_out *out);

/* Hash of a domain name as smtp.rcpt_hash holds it: FNV-1a 64 over the
 * lower-cased bytes, a trailing dot ignored. Policy tables index their
 * domains with the same function. */
uint64_t smtp_name_hash(const char *name, size_t len);

#define SMTP_NAME_HASH_INIT 0xcbf29ce484222325ULL
#define SMTP_NAME_HASH_PRIME 0x100000001b3ULL

/* Is the phase a decided one? */
static inline int
smtp_decided(const struct smtp *s)
{
	return s->phase >= SMTP_PH_TLS;
}

const char *smtp_phase_name(int phase);

/* The handshake buffer of a direction (0 when none was kept). */
uint16_t smtp_hs(const struct smtp *s, int dir);
/* Give back what the session borrowed from pool. */
void smtp_release(struct smtp *s, struct hsbuf_pool *pool);

#endif
