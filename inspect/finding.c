/*
 * finding.c - signature names, severities and TLS-RPT result types.
 *
 * One table, indexed by enum sig, so a new signature cannot forget a field.
 */
#include <string.h>

#include "finding.h"

static const struct {
	const char *name;     /* public signature name (never rename) */
	int         severity; /* see finding.h */
	const char *tlsrpt;   /* RFC 8460 section 4.3 result type */
} sig_table[SIG_COUNT] = {
	[SIG_STARTTLS_STRIPPED]        = { "starttls_stripped", 1, "starttls-not-supported" },
	[SIG_STARTTLS_DOWNGRADE]       = { "starttls_downgrade", 2, "starttls-not-supported" },
	[SIG_STARTTLS_REJECTED]        = { "starttls_rejected", 2, "starttls-not-supported" },
	[SIG_STARTTLS_INJECTION]       = { "starttls_injection", 1, "validation-failure" },
	[SIG_PLAINTEXT_AFTER_STARTTLS] = { "plaintext_after_starttls", 2, "validation-failure" },
	[SIG_STARTTLS_MISSING]         = { "starttls_missing", 3, "starttls-not-supported" },
	[SIG_TLS_FALLBACK]             = { "tls_fallback", 2, "validation-failure" },
	[SIG_TLS_HANDSHAKE_FAILED]     = { "tls_handshake_failed", 2, "validation-failure" },
	[SIG_TLS_WEAK_VERSION]         = { "tls_weak_version", 2, "validation-failure" },
	[SIG_TLS_CERT_INVALID]         = { "tls_cert_invalid", 2, "certificate-not-trusted" },
	[SIG_PLAINTEXT_AUTH]           = { "plaintext_auth", 2, "starttls-not-supported" },
	[SIG_TCP_OVERLAP_CONFLICT]     = { "tcp_overlap_conflict", 1, "validation-failure" },
	[SIG_INSPECTION_LIMIT]         = { "inspection_limit", 3, "validation-failure" },
};

const char *
sig_name(enum sig s)
{
	if ((unsigned)s >= SIG_COUNT)
		return NULL;
	return sig_table[s].name;
}

int
sig_severity(enum sig s)
{
	if ((unsigned)s >= SIG_COUNT)
		return 3;
	return sig_table[s].severity;
}

const char *
sig_tlsrpt(enum sig s)
{
	if ((unsigned)s >= SIG_COUNT)
		return "validation-failure";
	return sig_table[s].tlsrpt;
}

int
sig_from_name(const char *name)
{
	for (int i = 0; i < SIG_COUNT; i++)
		if (strcmp(sig_table[i].name, name) == 0)
			return i;
	return -1;
}
