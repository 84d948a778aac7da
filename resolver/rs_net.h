/*
 * rs_net.h - discover MTA-STS policies on the network, many at once.
 *
 * One discovery: the _mta-sts.DOMAIN TXT record (libunbound, asynchronous;
 * a context that can validate DNSSEC, which DANE's TLSA lookups need),
 * then, unless the TXT id equals the cached one, the address of
 * mta-sts.DOMAIN (libunbound again, handed to libcurl so that every name
 * is resolved by one resolver) and the policy over HTTPS (libcurl multi:
 * certificate valid for mta-sts.DOMAIN under the configured trust anchors,
 * TLS >= 1.2, no redirects, no proxy, 64 KiB limit, one deadline for the
 * whole discovery). The body is checked with pol_sts_parse before it is
 * reported. Single-threaded from the caller's view: rs_net_run() polls
 * the DNS and HTTPS sockets plus one caller's descriptor and calls the
 * done callback from inside it. Everything read from the network is
 * untrusted: every failure ends as a reason (rs_sts.h) and a short
 * escaped text, never a crash.
 *
 * The caller must: give the trust anchors as bytes (no file is opened
 * after setup), create the context before any sandbox (it reads
 * resolv.conf), call rs_net_run() in a loop, not call rs_net
 * functions from inside the done callback except rs_net_start().
 */
#ifndef RESOLVER_RS_NET_H
#define RESOLVER_RS_NET_H

#include <stddef.h>
#include <stdint.h>

#include "rs_msg.h"

/* A discovery as a whole (DNS + HTTPS), by default; RFC 8461 3.3 asks
 * for a timeout without naming one. */
#define RS_NET_TIMEOUT_MS_DEFAULT 10000
/* Discoveries at once, and waiting behind them, by default. */
#define RS_NET_INFLIGHT_DEFAULT 32
#define RS_NET_QUEUE_DEFAULT 1024
/* The largest CA file read (the Debian bundle is about 200 KB). */
#define RS_NET_CA_MAX (8u << 20)
/* The system bundle, when policy.ca_file is not set. */
#define RS_NET_CA_DEFAULT "/etc/ssl/certs/ca-certificates.crt"

struct rs_net_conf {
	const char *ca_pem;       /* PEM trust anchors (the bytes of ca_file), copied */
	size_t ca_len;            /* bytes at ca_pem */
	const char *resolv_conf;  /* forwarders; NULL = /etc/resolv.conf */
	unsigned timeout_ms;      /* per discovery */
	unsigned max_inflight;    /* discoveries running at once */
	unsigned queue_max;       /* discoveries waiting for a slot; more are refused (busy) */
};

/* The outcome of one discovery; pointers valid during the callback only. */
struct rs_result {
	const char *domain;       /* normalised */
	uint32_t tag;             /* the caller's, from rs_net_start */
	enum rs_status status;    /* POLICY, UNCHANGED, NO_POLICY, FAILED */
	enum rs_reason reason;    /* FAILED: why */
	const char *id;           /* the TXT id ("" when none was read) */
	const char *text;         /* one line: what happened (escaped) */
	const uint8_t *body;      /* POLICY: the policy exactly as served */
	size_t body_len;
	unsigned elapsed_ms;      /* from start to this answer */
};

typedef void (*rs_net_done_fn)(void *arg, const struct rs_result *r);

struct rs_net;

/* NULL with err when the CA file, the resolver or a library fails. */
struct rs_net *rs_net_new(const struct rs_net_conf *c, rs_net_done_fn done, void *arg,
    char *err, size_t errlen);
void rs_net_free(struct rs_net *n);

/* Start (or queue) a discovery of domain (normalised, see pol_name_norm);
 * known_id is the cached policy's TXT id or NULL/"". When the queue is
 * full, done is called at once with RS_R_BUSY. */
void rs_net_start(struct rs_net *n, const char *domain, const char *known_id, uint32_t tag);

/* Wait up to timeout_ms for network events (and fd readable, if fd >= 0),
 * handle them, call done for what finished. Returns 1 when fd is
 * readable, 0 otherwise, -1 on a library failure. */
int rs_net_run(struct rs_net *n, int fd, int timeout_ms);

/* Discoveries running or waiting. */
unsigned rs_net_pending(const struct rs_net *n);

#endif
