/*
 * smtp.c - SMTP cleartext phase and STARTTLS state machine (see smtp.h).
 *
 * Lines are never buffered: each direction keeps the first SMTP_HEAD_MAX
 * bytes of its current line and a length, and acts at the line's end (or,
 * for MAIL, as soon as the verb is complete, so a blocking verdict can stop
 * the very packet that carries it). What each finding means is specified in
 * doc/detection.md; keep the two in step.
 */
#include <stdio.h>
#include <string.h>

#include "smtp.h"
#include "tls_hs.h"

/* Kinds of commands awaiting a reply (4 bits each in smtp.pend). */
enum smtp_cmd {
	SMTP_CMD_OTHER = 1,
	SMTP_CMD_EHLO,
	SMTP_CMD_HELO,
	SMTP_CMD_STARTTLS,
	SMTP_CMD_AUTH,
	SMTP_CMD_MAIL
};

/* The STARTTLS keyword, and how far a same-length garbling may stray. */
#define SMTP_STARTTLS_LEN      8
#define SMTP_GARBLE_MAX_DIFF   4
#define SMTP_GARBLE_MIN_MASK   5

/* ASCII lower-casing without locale. */
static int
lc(int c)
{
	return (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c;
}

/* Does the n-byte word w equal the lower-case literal lit? */
static int
word_is(const char *w, size_t n, const char *lit)
{
	size_t i;

	for (i = 0; i < n && lit[i] != '\0'; i++)
		if (lc((unsigned char)w[i]) != lit[i])
			return 0;
	return i == n && lit[i] == '\0';
}

/* Is c SMTP whitespace as servers split commands on it? Postfix's smtpd
 * tokenizes with isspace(): space, tab, VT, FF and a CR inside the line
 * (MAIL\vFROM: and MAIL\rFROM: are accepted with 250). */
static int
is_ws(int c)
{
	return c == ' ' || c == '\t' || c == '\v' || c == '\f' || c == '\r';
}

/* Length of the word at w (up to SMTP whitespace or the end of n bytes). */
static size_t
word_len(const char *w, size_t n)
{
	size_t i;

	for (i = 0; i < n && !is_ws((unsigned char)w[i]); i++)
		;
	return i;
}

/* Is an 8-byte word a mask that hides which keyword it was: one character
 * repeated (XXXXXXXX, ********), or seven mask characters and a sequence
 * letter (Cisco ESMTP inspection: XXXXXXXA, XXXXXXXB, ...)? Such a mask
 * may stand for any 8-character keyword: STARTTLS, CHUNKING, 8BITMIME or
 * SMTPUTF8. */
static int
is_mask8(const char *w)
{
	int same = 1, mask = 1;

	for (int i = 0; i < SMTP_STARTTLS_LEN; i++) {
		int c = lc((unsigned char)w[i]);
		if (w[i] != w[0])
			same = 0;
		if (i < SMTP_STARTTLS_LEN - 1 && c != 'x' && c != '*')
			mask = 0;
	}
	return same || mask;
}

/* Does a capability keyword end at c? Postfix's client splits an EHLO
 * line on space, tab and '=' ("250-AUTH=LOGIN", "250-STARTTLS=x"). */
static int
is_kw_end(int c)
{
	return is_ws(c) || c == '=';
}

/* Is an 8-byte word a rewritten STARTTLS (XXXXXXXX, XXXXXXXA, STARTTLZ)? */
static int
is_garbled_starttls(const char *w)
{
	static const char st[] = "starttls";
	int diff = 0, mask = 0, same = 1;

	for (int i = 0; i < SMTP_STARTTLS_LEN; i++) {
		int c = lc((unsigned char)w[i]);
		if (c != st[i])
			diff++;
		if (c == 'x' || c == '*')
			mask++;
		if (w[i] != w[0])
			same = 0;
	}
	if (diff == 0)
		return 0;
	return same || mask >= SMTP_GARBLE_MIN_MASK || diff <= SMTP_GARBLE_MAX_DIFF;
}

int
smtp_raise(struct smtp *s, struct smtp_out *out, enum sig sig, const char *reason)
{
	if ((unsigned)sig >= SIG_COUNT || (s->raised & (1u << sig)))
		return 0;
	if (out->n >= SMTP_OUT_MAX)
		return 0;
	s->raised |= (uint16_t)(1u << sig);
	out->f[out->n].sig = sig;
	out->f[out->n].severity = 0;
	out->f[out->n].tlsrpt = NULL;
	snprintf(out->f[out->n].reason, sizeof(out->f[out->n].reason), "%s", reason);
	out->n++;
	return 1;
}

/* Raise with a quoted piece of the wire in the reason; 1 if raised. */
static int
raise_quoted(struct smtp *s, struct smtp_out *out, enum sig sig,
    const char *pre, const char *w, size_t n, const char *post)
{
	char r[FINDING_REASON_MAX];

	if (n > 40)
		n = 40;
	snprintf(r, sizeof(r), "%s'%.*s'%s", pre, (int)n, w, post);
	return smtp_raise(s, out, sig, r);
}

/* Enter a decided phase. */
static void
decide(struct smtp *s, struct smtp_out *out, enum smtp_phase ph)
{
	s->phase = (uint8_t)ph;
	out->decided = (uint8_t)ph;
}

/* Switch one direction to TLS record scanning. */
static void
start_tls(struct smtp *s, int dir)
{
	s->dir[dir].mode = SMTP_SCAN_TLS;
	tls_scan_init(&s->dir[dir].u.tls_scan);
}

/* Queue a command awaiting its reply; 0 when the queue overflowed. */
static int
pend_push(struct smtp *s, enum smtp_cmd k)
{
	if (s->pend_n >= SMTP_PENDING_MAX)
		return 0;
	s->pend |= (uint32_t)k << (4 * s->pend_n);
	s->pend_n++;
	return 1;
}

/* Oldest command awaiting a reply, 0 if none. */
static enum smtp_cmd
pend_peek(const struct smtp *s)
{
	return s->pend_n ? (enum smtp_cmd)(s->pend & 0xf) : 0;
}

static void
pend_pop(struct smtp *s)
{
	if (s->pend_n) {
		s->pend >>= 4;
		s->pend_n--;
	}
}

void
smtp_plain_findings(struct smtp *s, struct smtp_out *out)
{
	s->flags &= (uint16_t)~SMTP_F_OWED;
	if (s->flags & SMTP_F_REPORTED)
		return;
	if (s->flags & SMTP_F_RECENT_FAIL)
		smtp_raise(s, out, SIG_TLS_FALLBACK,
		    "plaintext MAIL FROM shortly after a failed TLS attempt to this server");
	else if (s->flags & SMTP_F_EXPECT)
		smtp_raise(s, out, SIG_STARTTLS_DOWNGRADE,
		    (s->flags & SMTP_F_OFFERED) ?
		    "mail transaction in plaintext although the server offered STARTTLS" :
		    "mail transaction in plaintext to a server expected to use STARTTLS");
	else
		smtp_raise(s, out, SIG_STARTTLS_MISSING,
		    "mail transaction started without TLS");
}

uint64_t
smtp_name_hash(const char *name, size_t len)
{
	uint64_t h = SMTP_NAME_HASH_INIT;

	if (len > 0 && name[len - 1] == '.')
		len--;
	for (size_t i = 0; i < len; i++)
		h = (h ^ (uint64_t)lc((unsigned char)name[i])) * SMTP_NAME_HASH_PRIME;
	return h;
}

/* A cleartext mail transaction starts: the session heads into plaintext,
 * unless the caller wants to see the first recipient's domain first. */
static void
plaintext_mail(struct smtp *s, struct smtp_out *out)
{
	s->flags |= SMTP_F_MAIL;
	if (s->flags & SMTP_F_DEFER)
		return;
	smtp_plain_findings(s, out);
	decide(s, out, SMTP_PH_PLAIN);
}

/* A command that carries a mail transaction (DATA, BDAT, BURL, RCPT) with
 * no MAIL before it: a server that takes it lets a message, or its
 * envelope, cross in cleartext all the same, and what follows DATA is a
 * body, not commands. Decide plaintext now; under SMTP_F_DEFER no
 * recipient domain is known, so the caller raises the finding from the
 * policy it has (SMTP_F_OWED). */
static void
plaintext_without_mail(struct smtp *s, struct smtp_out *out)
{
	s->flags |= SMTP_F_MAIL;
	if (s->flags & SMTP_F_DEFER)
		s->flags |= SMTP_F_OWED;
	else
		smtp_plain_findings(s, out);
	decide(s, out, SMTP_PH_PLAIN);
}

/* The first RCPT after a deferred MAIL: decide, and leave the finding to
 * the caller, who looks the domain up (SMTP_F_OWED). */
static void
plaintext_rcpt(struct smtp *s, struct smtp_out *out)
{
	if (s->flags & SMTP_F_RDOM) {
		s->flags |= SMTP_F_RCPT;
		if (s->flags & SMTP_F_RDOT)
			s->flags &= (uint16_t)~SMTP_F_RDOT; /* a trailing dot is not part of the name */
	}
	s->flags &= (uint16_t)~SMTP_F_RDOM;
	s->flags |= SMTP_F_OWED;
	decide(s, out, SMTP_PH_PLAIN);
}

/* rcpt_hash while the address ended (at '>') without an '@'. */
#define SMTP_RCPT_CLOSED 1

/* Hash the domain of a RCPT line's address as its bytes stream by: the
 * part after the last '@' of the address, up to '>' (or a space). */
static void
rcpt_domain(struct smtp *s, const uint8_t *p, size_t n, size_t pos)
{
	for (size_t i = 0; i < n; i++, pos++) {
		uint8_t c = p[i];

		if (pos < 5 || c == '\r')
			continue;
		if (s->rcpt_hash == SMTP_RCPT_CLOSED)
			return;   /* the address ended without a domain: what follows are parameters */
		if (c == '@') {
			s->flags |= SMTP_F_RDOM;
			s->flags &= (uint16_t)~SMTP_F_RDOT;
			s->rcpt_hash = SMTP_NAME_HASH_INIT;
		} else if (c == '>' || ((c == ' ' || c == '\t') && (s->flags & SMTP_F_RDOM))) {
			/* The address is complete: parameters after it
			 * (ORCPT=rfc822;a@b) are not the recipient. */
			if (s->flags & SMTP_F_RDOM)
				s->flags |= SMTP_F_RCPT;
			else
				s->rcpt_hash = SMTP_RCPT_CLOSED;
			s->flags &= (uint16_t)~(SMTP_F_RDOM | SMTP_F_RDOT);
			return;
		} else if (s->flags & SMTP_F_RDOM) {
			if (s->flags & SMTP_F_RDOT) {
				s->rcpt_hash = (s->rcpt_hash ^ '.') * SMTP_NAME_HASH_PRIME;
				s->flags &= (uint16_t)~SMTP_F_RDOT;
			}
			if (c == '.')
				s->flags |= SMTP_F_RDOT;
			else
				s->rcpt_hash = (s->rcpt_hash ^ (uint64_t)lc(c)) * SMTP_NAME_HASH_PRIME;
		}
	}
}

/* Bytes of the current line without a trailing CR. */
static size_t
line_content(const struct smtp_scan *sc)
{
	return sc->line_len - ((sc->mode & SMTP_SCAN_CR) ? 1 : 0);
}

/* An AUTH command in head: PLAIN or LOGIN (after any whitespace) sends
 * credentials in the clear. */
static void
auth_mech(struct smtp *s, struct smtp_out *out, const char *h, size_t hl)
{
	size_t i = 4, ml;

	while (i < hl && is_ws((unsigned char)h[i]))
		i++;
	ml = word_len(h + i, hl - i);
	if (ml == 5 && (word_is(h + i, 5, "plain") || word_is(h + i, 5, "login")))
		raise_quoted(s, out, SIG_PLAINTEXT_AUTH, "AUTH ", h + i, ml,
		    " credentials sent before TLS");
}

/* The client line in head is complete (or, early, its verb is). */
static void
client_line(struct smtp *s, struct smtp_out *out, int early)
{
	struct smtp_scan *sc = &s->dir[SMTP_DIR_CLIENT];
	const char *h = sc->u.head;
	size_t hl = sc->head_len, vl = word_len(h, hl);
	size_t line = line_content(sc), lead = s->lead[SMTP_DIR_CLIENT];
	/* the verb may run past head: then it is the rest of the line (a line
	 * of blanks only, its CR among them, has none) */
	size_t full = (vl == hl) ? (line > lead ? line - lead : 0) : vl;
	enum smtp_cmd k = SMTP_CMD_OTHER;

	/* Lines injected after STARTTLS are queued, not acted on: they are the
	 * injection already reported. */
	if (s->phase != SMTP_PH_GREETING && s->phase != SMTP_PH_CMD) {
		if (early)
			return;
		if (full == 4 && word_is(h, 4, "auth"))
			auth_mech(s, out, h, hl);
		if (!pend_push(s, k))
			decide(s, out, SMTP_PH_LOST);
		return;
	}
	if (early) {
		/* Only MAIL acts before its line ends. */
		if (vl == 4 && vl < hl && word_is(h, 4, "mail"))
			plaintext_mail(s, out);
		else if (hl >= 5 && word_is(h, 5, "mail:"))
			plaintext_mail(s, out);
		return;
	}
	if (full == 4 && word_is(h, 4, "mail")) {
		plaintext_mail(s, out);
		return;
	}
	if (full == 5 && word_is(h, 5, "mail:")) {
		plaintext_mail(s, out);
		return;
	}
	if ((full == 4 && word_is(h, 4, "rcpt")) || (full == 5 && word_is(h, 5, "rcpt:"))) {
		if (!(s->flags & SMTP_F_MAIL)) {
			plaintext_without_mail(s, out);
			return;
		}
		if (s->flags & SMTP_F_DEFER) {
			plaintext_rcpt(s, out);
			return;
		}
	}
	if (full == 4 && !(s->flags & SMTP_F_MAIL) &&
	    (word_is(h, 4, "data") || word_is(h, 4, "bdat") || word_is(h, 4, "burl"))) {
		plaintext_without_mail(s, out);
		return;
	}
	if (full == 8 && word_is(h, 8, "starttls")) {
		k = SMTP_CMD_STARTTLS;
	} else if (full == 8 && is_garbled_starttls(h)) {
		raise_quoted(s, out, SIG_STARTTLS_STRIPPED, "client command ", h, 8,
		    " is a rewritten STARTTLS");
		s->flags |= SMTP_F_REPORTED;
	} else if (full == 4 && word_is(h, 4, "ehlo")) {
		k = SMTP_CMD_EHLO;
	} else if (full == 4 && word_is(h, 4, "helo")) {
		k = SMTP_CMD_HELO;
	} else if (full == 4 && word_is(h, 4, "auth")) {
		k = SMTP_CMD_AUTH;
		auth_mech(s, out, h, hl);
	}
	if (k == SMTP_CMD_EHLO || k == SMTP_CMD_HELO)
		s->flags |= SMTP_F_GOT_HELO;
	if (!pend_push(s, k)) {
		smtp_raise(s, out, SIG_INSPECTION_LIMIT,
		    "more than 8 pipelined commands awaiting replies");
		decide(s, out, SMTP_PH_LOST);
		return;
	}
	if (k == SMTP_CMD_STARTTLS) {
		s->flags |= SMTP_F_SENT;
		s->phase = SMTP_PH_STARTTLS;
	}
}

/* Is the greeting masked (Cisco PIX/ASA "SMTP fixup" / mask-banner)? The
 * fixup turns every character of the banner except '2' and '0' into '*':
 * so the text of every reply line of the greeting holds nothing but '*',
 * '2', '0' (and blanks), with at least SMTP_MASK_MIN_STARS stars. A clean
 * server whose greeting is decorated with rows of '*' has text elsewhere
 * and is not taken for one. */
#define SMTP_MASK_MIN_STARS 4

static int
banner_masked(const struct smtp *s)
{
	return !(s->flags & SMTP_F_UNMASKED) && s->banner_stars >= SMTP_MASK_MIN_STARS;
}

/* Count a masked keyword of the EHLO reply; remember the first. */
static void
mask_note(struct smtp *s, const char *w)
{
	unsigned em = s->ehlo_masks, n = (em >> SMTP_EM_COUNT_SHIFT) & 3, kind;

	if (n == 0) {
		kind = w[0] == 'X' ? 0 : w[0] == 'x' ? 1 : w[0] == '*' ? 2 : 3;
		em |= kind << SMTP_EM_KIND_SHIFT | (unsigned)(uint8_t)w[7] << SMTP_EM_LAST_SHIFT;
	}
	if (n < 3)
		em = (em & ~(3u << SMTP_EM_COUNT_SHIFT)) | (n + 1) << SMTP_EM_COUNT_SHIFT;
	s->ehlo_masks = (uint16_t)em;
}

/* The first mask of the EHLO reply, rebuilt from mask_note's record: seven
 * mask characters of its first's kind and its last byte (a word of one
 * repeated byte comes back whole). */
static void
mask_word(const struct smtp *s, char w[SMTP_STARTTLS_LEN])
{
	static const char kinds[] = "Xx*";
	unsigned em = s->ehlo_masks, kind = (em >> SMTP_EM_KIND_SHIFT) & 3;
	char last = (char)(em >> SMTP_EM_LAST_SHIFT);

	memset(w, kind < 3 ? kinds[kind] : last, SMTP_STARTTLS_LEN - 1);
	w[SMTP_STARTTLS_LEN - 1] = last;
}

/* One capability line of an EHLO reply (not its first line). */
static void
ehlo_capability(struct smtp *s, struct smtp_out *out, const char *kw, size_t hl_rest,
    size_t line_rest)
{
	size_t kl = 0;

	while (kl < hl_rest && !is_kw_end((unsigned char)kw[kl]))
		kl++;
	if (kl == hl_rest)
		kl = line_rest; /* the keyword may run past head: its length is the rest of the line */
	if (kl == SMTP_STARTTLS_LEN && word_is(kw, kl, "starttls")) {
		s->flags |= SMTP_F_OFFERED;
		s->ehlo_masks |= SMTP_EM_STARTTLS;
	} else if (kl == SMTP_STARTTLS_LEN && word_is(kw, kl, "chunking")) {
		s->ehlo_masks |= SMTP_EM_CHUNKING;
	} else if (kl == 10 && word_is(kw, kl, "binarymime")) {
		s->ehlo_masks |= SMTP_EM_BINARYMIME;
	} else if (kl == SMTP_STARTTLS_LEN && is_mask8(kw)) {
		/* Which keyword it hides is known only at the end of the reply. */
		mask_note(s, kw);
	} else if (kl == SMTP_STARTTLS_LEN && is_garbled_starttls(kw)) {
		/* Letters of STARTTLS kept in place: no other keyword. */
		raise_quoted(s, out, SIG_STARTTLS_STRIPPED, "EHLO reply capability ", kw, kl,
		    " is a rewritten STARTTLS");
		s->flags |= SMTP_F_REPORTED;
	}
}

/* The EHLO reply is complete: judge its masked 8-character keywords. Each
 * mask is STARTTLS unless something explains it otherwise: STARTTLS
 * offered in clear (then every mask is another keyword), or BINARYMIME
 * offered without CHUNKING (BINARYMIME needs CHUNKING, RFC 3030: one mask
 * is very likely CHUNKING). A mask so explained is still a device on the
 * path rewriting the dialogue, reported as such (severity 3, never a block
 * by itself); the policy's own downgrade finding is not suppressed. */
static void
ehlo_masks(struct smtp *s, struct smtp_out *out)
{
	unsigned em = s->ehlo_masks, masks = (em >> SMTP_EM_COUNT_SHIFT) & 3, other = 0;
	char w[SMTP_STARTTLS_LEN];

	if (masks == 0)
		return;
	mask_word(s, w);
	if (em & SMTP_EM_STARTTLS)
		other = masks;
	else if ((em & (SMTP_EM_CHUNKING | SMTP_EM_BINARYMIME)) == SMTP_EM_BINARYMIME)
		other = 1;
	if (masks > other) {
		raise_quoted(s, out, SIG_STARTTLS_STRIPPED, "EHLO reply capability ", w,
		    sizeof(w), " is a rewritten STARTTLS");
		s->flags |= SMTP_F_REPORTED;
	} else if (raise_quoted(s, out, SIG_STARTTLS_STRIPPED, "EHLO reply capability ",
	    w, sizeof(w), (em & SMTP_EM_STARTTLS) ?
	    " is masked on the path; not STARTTLS, which is offered in clear" :
	    " is masked on the path; may be CHUNKING (BINARYMIME offered without it)")) {
		out->f[out->n - 1].severity = 3;
	}
}

/* The reply (its last line, code given) to the oldest pending command. */
static void
reply_done(struct smtp *s, struct smtp_out *out, int code, const char *h, size_t hl)
{
	enum smtp_cmd k = pend_peek(s);

	pend_pop(s);
	switch (k) {
	case SMTP_CMD_EHLO:
		if (code / 100 == 2)
			ehlo_masks(s, out);
		s->ehlo_masks = 0;
		if (code / 100 != 2)
			break;
		s->flags |= SMTP_F_EHLO_DONE;
		if (!(s->flags & (SMTP_F_OFFERED | SMTP_F_REPORTED)) &&
		    (s->flags & SMTP_F_EXPECT)) {
			smtp_raise(s, out, SIG_STARTTLS_DOWNGRADE,
			    "EHLO reply does not offer STARTTLS");
			s->flags |= SMTP_F_REPORTED;
		}
		break;
	case SMTP_CMD_STARTTLS:
		if (code / 100 == 2) {
			s->phase = SMTP_PH_TLS_CH;
			start_tls(s, SMTP_DIR_CLIENT);
		} else {
			/* Only the head of the reply is kept: mark a cut quote. */
			const char *more = line_content(&s->dir[SMTP_DIR_SERVER]) > hl ? "..." : "";
			if ((code == 500 || code == 502) && (s->flags & SMTP_F_OFFERED))
				raise_quoted(s, out, SIG_STARTTLS_STRIPPED,
				    "advertised STARTTLS answered as unknown command: ", h, hl, more);
			else
				raise_quoted(s, out, SIG_STARTTLS_REJECTED,
				    "server refused STARTTLS: ", h, hl, more);
			s->flags |= SMTP_F_REPORTED;
			s->phase = SMTP_PH_CMD;
		}
		break;
	default:
		break;
	}
}

/* The server line in head is complete. A reply line is what Postfix's
 * client takes for one (smtp_chat.c): three digits, then '-' (more lines
 * follow), or a space or the end of the line -- a NUL ends it too, as in a
 * C string ("220\0..."). Anything else is garbage that Postfix skips (it
 * acts as a continuation): so do we, in the greeting too, never giving up
 * on it, since the client goes on and may deliver in plaintext. */
static void
server_line(struct smtp *s, struct smtp_out *out)
{
	struct smtp_scan *sc = &s->dir[SMTP_DIR_SERVER];
	const char *h = sc->u.head;
	size_t hl = sc->head_len;
	int first = !(sc->mode & SMTP_SCAN_CONT), last, code;
	int unmask = (sc->mode & SMTP_SCAN_UNMASK) != 0;
	uint16_t stars = s->line_stars;

	sc->mode &= (uint8_t)~SMTP_SCAN_UNMASK;
	s->line_stars = 0;
	if (hl < 3 || h[0] < '0' || h[0] > '9' || h[1] < '0' || h[1] > '9' ||
	    h[2] < '0' || h[2] > '9' || (hl > 3 && h[3] >= '0' && h[3] <= '9') ||
	    (hl > 3 && h[3] != '-' && h[3] != ' ' && h[3] != '\0')) {
		if (s->phase == SMTP_PH_GREETING && !(s->flags & SMTP_F_GOT_BANNER))
			s->banner_len = 0; /* not the banner: forget its bytes */
		return;
	}
	code = (h[0] - '0') * 100 + (h[1] - '0') * 10 + (h[2] - '0');
	last = hl <= 3 || h[3] != '-';
	if (last)
		sc->mode &= (uint8_t)~SMTP_SCAN_CONT;
	else
		sc->mode |= SMTP_SCAN_CONT;

	if (s->phase == SMTP_PH_GREETING) {
		s->flags |= SMTP_F_GOT_BANNER;
		if (unmask)
			s->flags |= SMTP_F_UNMASKED;
		s->banner_stars = (uint16_t)(s->banner_stars + stars < UINT16_MAX ?
		    s->banner_stars + stars : UINT16_MAX);
		if (last) {
			if (code == 220 && banner_masked(s)) {
				raise_quoted(s, out, SIG_STARTTLS_STRIPPED, "greeting ", s->banner,
				    s->banner_len, " is masked (Cisco PIX/ASA style)");
				s->flags |= SMTP_F_REPORTED;
			}
			s->phase = SMTP_PH_CMD;
			s->ehlo_masks = 0; /* banner_stars is done with */
		}
		return;
	}
	if (!first && code / 100 == 2 && pend_peek(s) == SMTP_CMD_EHLO && hl > 4)
		ehlo_capability(s, out, h + 4, hl - 4, line_content(sc) - s->lead[SMTP_DIR_SERVER] - 4);
	if (last)
		reply_done(s, out, code, h, hl);
}

/* Copy bytes of the current line into banner/helo as they stream by. */
static void
capture(struct smtp *s, int dir, const uint8_t *p, size_t n, size_t pos)
{
	if (dir == SMTP_DIR_SERVER) {
		struct smtp_scan *sc = &s->dir[SMTP_DIR_SERVER];

		if (s->phase != SMTP_PH_GREETING)
			return;
		for (size_t i = 0; i < n; i++, pos++) {
			uint8_t c = p[i];

			if (pos < 4 || c == '\r')
				continue;
			if (c == '*') {
				if (s->line_stars < UINT8_MAX)
					s->line_stars++;
			} else if (c != '2' && c != '0' && c != ' ' && c != '\t') {
				sc->mode |= SMTP_SCAN_UNMASK;
			}
			if (!(s->flags & SMTP_F_GOT_BANNER) && s->banner_len < SMTP_BANNER_MAX)
				s->banner[s->banner_len++] = (char)c;
		}
	} else if (s->flags & SMTP_F_HELO_ARG) {
		size_t from = 5u + s->lead[SMTP_DIR_CLIENT];

		for (size_t i = 0; i < n && s->helo_len < SMTP_HELO_MAX; i++, pos++)
			if (pos >= from && p[i] != '\r')
				s->helo[s->helo_len++] = (char)p[i];
	} else if ((s->flags & (SMTP_F_DEFER | SMTP_F_MAIL | SMTP_F_RCPT)) ==
	    (SMTP_F_DEFER | SMTP_F_MAIL) && pos + n > 5 &&
	    s->dir[SMTP_DIR_CLIENT].head_len >= 5 &&
	    word_is(s->dir[SMTP_DIR_CLIENT].u.head, 4, "rcpt")) {
		rcpt_domain(s, p, n, pos);
	}
}

/* Feed a direction's line bytes; returns bytes consumed (all, unless decided
 * or the direction switched to TLS part-way). */
static size_t
push_lines(struct smtp *s, int dir, const uint8_t *p, size_t n, struct smtp_out *out)
{
	struct smtp_scan *sc = &s->dir[dir];
	size_t i = 0;

	while (i < n && !smtp_decided(s) && !(sc->mode & SMTP_SCAN_TLS)) {
		const uint8_t *lf = memchr(p + i, '\n', n - i);
		size_t seg = lf ? (size_t)(lf - (p + i)) : n - i;
		size_t pos = sc->line_len;

		/* Bytes after STARTTLS (client) or after the 220 to it (server)
		 * are injected commands or replies. */
		if ((dir == SMTP_DIR_CLIENT && s->phase == SMTP_PH_STARTTLS) ||
		    (dir == SMTP_DIR_SERVER && s->phase == SMTP_PH_TLS_CH))
			smtp_raise(s, out, SIG_STARTTLS_INJECTION, dir == SMTP_DIR_CLIENT ?
			    "client sent cleartext after STARTTLS, before the server's reply" :
			    "server sent cleartext after its 220 to STARTTLS, before the ClientHello");

		size_t had = sc->head_len;
		for (size_t j = 0; j < seg && sc->head_len < SMTP_HEAD_MAX; j++) {
			uint8_t c = p[i + j];

			/* Leading whitespace before a verb, and blanks (or '=')
			 * between a reply code and a keyword, are skipped the
			 * way the MTAs skip them: " MAIL FROM:", "250- STARTTLS". */
			if ((dir == SMTP_DIR_CLIENT && sc->head_len == 0 && is_ws(c)) ||
			    (dir == SMTP_DIR_SERVER && sc->head_len == 4 &&
			    (c == ' ' || c == '\t' || c == '='))) {
				if (s->lead[dir] < UINT8_MAX)
					s->lead[dir]++;
				continue;
			}
			sc->u.head[sc->head_len++] = (char)c;
		}
		if (dir == SMTP_DIR_CLIENT && had < 5 && sc->head_len >= 5 &&
		    (word_is(sc->u.head, 4, "ehlo") || word_is(sc->u.head, 4, "helo")) &&
		    is_ws((unsigned char)sc->u.head[4]) && !(s->flags & SMTP_F_GOT_HELO))
			s->flags |= SMTP_F_HELO_ARG;
		capture(s, dir, p + i, seg, pos);
		sc->line_len = (uint16_t)(pos + seg > SMTP_LINE_MAX + 1 ? SMTP_LINE_MAX + 1 : pos + seg);
		if (seg > 0) {
			if (p[i + seg - 1] == '\r')
				sc->mode |= SMTP_SCAN_CR;
			else
				sc->mode &= (uint8_t)~SMTP_SCAN_CR;
		}
		if (sc->line_len > SMTP_LINE_MAX) {
			smtp_raise(s, out, SIG_INSPECTION_LIMIT, dir == SMTP_DIR_CLIENT ?
			    "client line longer than 4096 bytes" :
			    "server line longer than 4096 bytes");
			decide(s, out, SMTP_PH_LOST);
			return n;
		}
		if (dir == SMTP_DIR_CLIENT && !lf && !(sc->mode & SMTP_SCAN_EARLY) &&
		    sc->head_len >= 5) {
			sc->mode |= SMTP_SCAN_EARLY;
			client_line(s, out, 1);
			if (smtp_decided(s))
				return n;
		}
		if (!lf)
			return n;
		i += seg + 1;
		/* A CR before the LF ends the line; one inside it is whitespace. */
		if ((sc->mode & SMTP_SCAN_CR) && sc->head_len > 0 &&
		    (size_t)s->lead[dir] + sc->head_len == sc->line_len)
			sc->head_len--;
		if (dir == SMTP_DIR_CLIENT) {
			client_line(s, out, 0);
			s->flags &= (uint16_t)~SMTP_F_HELO_ARG;
		} else {
			server_line(s, out);
		}
		sc->line_len = 0;
		s->lead[dir] = 0;
		sc->head_len = 0;
		sc->mode &= (uint8_t)~(SMTP_SCAN_EARLY | SMTP_SCAN_CR);
	}
	return i;
}

/* Where handshake bytes go while they are kept. */
struct hs_sink {
	struct hsbuf_pool *pool;
	struct tls_scan   *ts;
};

/* tls_scan body callback: append handshake bytes to the direction's buffer,
 * borrowing one at the first byte. */
static void
hs_keep(void *ctx, const uint8_t *p, size_t n)
{
	struct hs_sink *k = ctx;

	if (k->ts->hsbuf == 0 && (k->ts->hsbuf = hsbuf_get(k->pool)) == 0)
		return; /* none free: this handshake is followed by its headers only */
	hsbuf_append(k->pool, k->ts->hsbuf, p, n);
}

/* The server's handshake so far, in its buffer: is the session decided?
 * TLS 1.3 is decided at its ServerHello (the rest is encrypted); TLS 1.2
 * and older at the ServerHelloDone, so the certificate is in hand (and a
 * policy can still block before the client's Finished). A HelloRetryRequest
 * is not a decision: another ServerHello follows. */
static int
server_flight_done(struct smtp *s, struct hsbuf_pool *pool, uint16_t idx)
{
	const struct hsbuf *b = hsbuf_at(pool, idx);
	struct tls_server_hello sh;
	struct tls_hs_msg m;
	size_t off = 0, need;
	int rc;

	while ((rc = tls_hs_next(b->data, b->len, &off, &m, &need)) == TLS_HS_OK) {
		if (m.type == TLS_HS_T_SERVER_HELLO) {
			if (tls_hs_msg_server_hello(&m, &sh) != TLS_HS_OK)
				return 1; /* unreadable: decide on the record layer */
			s->tls_version = sh.version;
			if (sh.version >= TLS_V_1_3 && !(sh.flags & TLS_SH_F_HRR))
				return 1;
		} else if (m.type == TLS_HS_T_SERVER_DONE) {
			return 1;
		}
	}
	/* A malformed stream, or one larger than the buffer: what is known is
	 * all there will be; decide on it. */
	return rc != TLS_HS_EMORE || b->over;
}

/* Feed a direction's TLS bytes after STARTTLS. */
static void
push_tls(struct smtp *s, int dir, const uint8_t *p, size_t n, struct smtp_out *out)
{
	struct tls_scan *ts = &s->dir[dir].u.tls_scan;
	struct hs_sink sink = { out->hs, ts };
	int ev = out->hs ? tls_scan_push_body(ts, p, n, NULL, hs_keep, &sink) :
	    tls_scan_push(ts, p, n, NULL);

	if (ev & TLS_EV_NOT_TLS) {
		smtp_raise(s, out, SIG_PLAINTEXT_AFTER_STARTTLS, dir == SMTP_DIR_CLIENT ?
		    "client sent cleartext instead of a TLS ClientHello after 220 to STARTTLS" :
		    "server answered the ClientHello with cleartext instead of TLS");
		decide(s, out, SMTP_PH_LOST);
		return;
	}
	if (dir == SMTP_DIR_CLIENT) {
		if (!(ev & TLS_EV_HANDSHAKE) && ts->records == 0)
			return;
		if (ts->first_type != TLS_CT_HANDSHAKE ||
		    ((ev & TLS_EV_HANDSHAKE) && ts->hs_type != TLS_HS_CLIENT_HELLO)) {
			smtp_raise(s, out, SIG_PLAINTEXT_AFTER_STARTTLS,
			    "client's first TLS record after STARTTLS is not a ClientHello");
			decide(s, out, SMTP_PH_LOST);
			return;
		}
		if ((ev & TLS_EV_HANDSHAKE) && s->phase == SMTP_PH_TLS_CH) {
			s->phase = SMTP_PH_TLS_SH;
			s->dir[SMTP_DIR_SERVER].line_len = 0;
			s->lead[SMTP_DIR_SERVER] = 0;
			s->dir[SMTP_DIR_SERVER].head_len = 0;
			start_tls(s, SMTP_DIR_SERVER);
		}
		return;
	}
	if (ts->first_type == TLS_CT_ALERT) {
		if (ev & TLS_EV_ALERT) {
			char r[FINDING_REASON_MAX];
			snprintf(r, sizeof(r), "server sent TLS alert %s (%u, level %u) instead of a ServerHello",
			    tls_alert_name(ts->alert[1]), ts->alert[1], ts->alert[0]);
			smtp_raise(s, out, SIG_TLS_HANDSHAKE_FAILED, r);
			decide(s, out, SMTP_PH_LOST);
		}
		return;
	}
	if (ts->first_type != 0 && ts->first_type != TLS_CT_HANDSHAKE) {
		smtp_raise(s, out, SIG_PLAINTEXT_AFTER_STARTTLS,
		    "server's first TLS record is neither a handshake nor an alert");
		decide(s, out, SMTP_PH_LOST);
		return;
	}
	if ((ev & TLS_EV_HANDSHAKE) && ts->hs_type != TLS_HS_SERVER_HELLO) {
		smtp_raise(s, out, SIG_PLAINTEXT_AFTER_STARTTLS,
		    "server's first TLS handshake message is not a ServerHello");
		decide(s, out, SMTP_PH_LOST);
		return;
	}
	if (ts->hs_type != TLS_HS_SERVER_HELLO)
		return;
	/* Without the messages (no pool, none free), the ServerHello decides;
	 * with them, the end of the server's cleartext flight does, or its
	 * ChangeCipherSpec / application data (an abbreviated handshake). */
	if (ts->hsbuf == 0 || (ev & (TLS_EV_CCS | TLS_EV_APPDATA)) ||
	    server_flight_done(s, out->hs, ts->hsbuf))
		decide(s, out, SMTP_PH_TLS);
}

uint16_t
smtp_hs(const struct smtp *s, int dir)
{
	if ((unsigned)dir > 1 || !(s->dir[dir].mode & SMTP_SCAN_TLS))
		return 0;
	return s->dir[dir].u.tls_scan.hsbuf;
}

void
smtp_release(struct smtp *s, struct hsbuf_pool *pool)
{
	for (int d = 0; d < 2; d++) {
		if (!(s->dir[d].mode & SMTP_SCAN_TLS) || s->dir[d].u.tls_scan.hsbuf == 0)
			continue;
		if (pool != NULL)
			hsbuf_put(pool, s->dir[d].u.tls_scan.hsbuf);
		s->dir[d].u.tls_scan.hsbuf = 0;
	}
}

void
smtp_init(struct smtp *s)
{
	memset(s, 0, sizeof(*s));
	s->phase = SMTP_PH_GREETING;
}

int
smtp_push(struct smtp *s, int dir, const uint8_t *p, size_t n, struct smtp_out *out)
{
	if (dir != SMTP_DIR_CLIENT && dir != SMTP_DIR_SERVER)
		return smtp_decided(s);
	while (n > 0 && !smtp_decided(s)) {
		if (s->dir[dir].mode & SMTP_SCAN_TLS) {
			push_tls(s, dir, p, n, out);
			break;
		}
		size_t used = push_lines(s, dir, p, n, out);
		p += used;
		n -= used;
	}
	return smtp_decided(s);
}

void
smtp_end(struct smtp *s, int by_rst, struct smtp_out *out)
{
	if (s->phase == SMTP_PH_TLS_CH || s->phase == SMTP_PH_TLS_SH) {
		smtp_raise(s, out, SIG_TLS_HANDSHAKE_FAILED, by_rst ?
		    "connection reset during the TLS handshake" :
		    "connection closed during the TLS handshake");
		decide(s, out, SMTP_PH_LOST);
	}
}

const char *
smtp_phase_name(int phase)
{
	static const char *const names[] = {
		"greeting", "command", "starttls", "tls_client_hello",
		"tls_server_hello", "tls", "plaintext", "lost"
	};

	if (phase < 0 || phase > SMTP_PH_LOST)
		return "?";
	return names[phase];
}
