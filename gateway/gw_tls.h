/*
 * gw_tls.h - what a session's TLS handshake showed, for the flow event and
 * the TLS findings (tls_weak_version, tls_cert_invalid).
 *
 * Filled by the engine from the handshake messages it kept (inspect/
 * tls_hs.h) and the certificate check (gw_x509.h), written by gw_eve.c.
 */
#ifndef GATEWAY_GW_TLS_H
#define GATEWAY_GW_TLS_H

#include <stdint.h>

#include "../inspect/tls_hs.h"
#include "gw_x509.h"

enum gw_cert_state {
	GW_CERT_NONE = 0,    /* no Certificate message seen (none kept, or resumption) */
	GW_CERT_HIDDEN,      /* TLS 1.3: the certificate is encrypted, not checked */
	GW_CERT_UNCHECKED,   /* seen, but no trust anchors are configured (policy.ca_file) */
	GW_CERT_CHECKED      /* seen and checked: x509 holds the result */
};

struct gw_tls_facts {
	int      have_server;             /* a ServerHello was read */
	int      have_client;             /* a ClientHello was read */
	uint16_t version;                 /* negotiated version (0x0303 = TLS 1.2) */
	uint16_t cipher;                  /* selected suite */
	uint16_t client_max;              /* highest version the client offered */
	int      hrr;                     /* the server asked for a HelloRetryRequest */
	int      scsv;                    /* the client sent TLS_FALLBACK_SCSV (a downgraded retry) */
	char     sni[TLS_HS_SNI_MAX + 1]; /* server name the client asked for, "" = none */
	unsigned chain;                   /* certificates in the server's chain */
	enum gw_cert_state cert;          /* what became of the certificate */
	int      dane;                    /* the check was DANE's (TLSA records of the MX host) */
	struct gw_x509_info x509;         /* the check's result when cert == GW_CERT_CHECKED */
};

#endif
