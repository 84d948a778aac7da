/*
 * finding.h - the public signature names and what one finding carries.
 *
 * The names are a public interface (DESIGN.md "Findings"): SIEM rules match
 * them, so never rename one. This module only maps enum values to names,
 * severities and RFC 8460 result types; it does no I/O.
 */
#ifndef INSPECT_FINDING_H
#define INSPECT_FINDING_H

#include <stdint.h>

enum sig {
	SIG_STARTTLS_STRIPPED,
	SIG_STARTTLS_DOWNGRADE,
	SIG_STARTTLS_REJECTED,
	SIG_STARTTLS_INJECTION,
	SIG_PLAINTEXT_AFTER_STARTTLS,
	SIG_STARTTLS_MISSING,
	SIG_TLS_FALLBACK,
	SIG_TLS_HANDSHAKE_FAILED,
	SIG_TLS_WEAK_VERSION,
	SIG_TLS_CERT_INVALID,
	SIG_PLAINTEXT_AUTH,
	SIG_TCP_OVERLAP_CONFLICT,
	SIG_INSPECTION_LIMIT,
	SIG_COUNT
};

/* Room for a reason: long enough to quote a capability or a reply code. */
#define FINDING_REASON_MAX 128

struct finding {
	enum sig sig;                     /* what was found */
	uint8_t  severity;                /* 0 = the signature's own; 3 for an informational use */
	const char *tlsrpt;               /* RFC 8460 result type when more precise than the
	                                     signature's (a certificate's), NULL = sig_tlsrpt() */
	char     reason[FINDING_REASON_MAX]; /* human text; wire bytes in it are raw, the writer escapes */
};

/* "starttls_stripped", ...; NULL for an out-of-range value. */
const char *sig_name(enum sig s);
/* 1 = in-band attack evidence, 2 = policy expectation broken, 3 = informational. */
int sig_severity(enum sig s);
/* Closest RFC 8460 result type, e.g. "starttls-not-supported". */
const char *sig_tlsrpt(enum sig s);
/* Name back to enum; -1 when unknown. */
int sig_from_name(const char *name);

#endif
