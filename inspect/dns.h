/*
 * dns.h - read DNS responses (RFC 1035) to learn MX names and server addresses.
 *
 * dns_parse() takes one DNS message (a UDP payload, or one message cut out
 * of a TCP stream by dns_tcp_frame()) and reports its A, AAAA, CNAME and MX
 * records of class IN, from every section, through a callback. The whole
 * message is checked before the first record is reported, so a malformed
 * or truncated message reports nothing. Names are decompressed with every
 * offset checked, pointers only backwards (so no loops) and a hop limit.
 * Only responses (QR=1, standard query, RCODE 0) are read. No allocation,
 * no I/O, no clock. The struct dns_rr handed to the callback lives on
 * dns_parse's stack: copy what you keep.
 */
#ifndef INSPECT_DNS_H
#define INSPECT_DNS_H

#include <stddef.h>
#include <stdint.h>

#include "pkt.h"

/* RFC 1035 4.1.1: the fixed header. */
#define DNS_HDR_LEN 12
/* RFC 1035 2.3.4: a name is at most 255 octets on the wire, so at most
 * 253 characters as text without the final dot; plus the NUL. */
#define DNS_NAME_WIRE_MAX 255
#define DNS_NAME_BUF 254
/* RFC 1035 2.3.4: a label is at most 63 octets. */
#define DNS_LABEL_MAX 63
/* Compression pointers followed for one name: real compressors jump once
 * or a few times per name; 64 bounds the work a hostile message can ask
 * for (loops are impossible anyway: pointers must go backwards). */
#define DNS_NAME_HOPS_MAX 64

/* Record types and the class we read. */
#define DNS_T_A     1
#define DNS_T_CNAME 5
#define DNS_T_MX    15
#define DNS_T_AAAA  28
#define DNS_C_IN    1

/* dns_parse results. */
#define DNS_OK              0
#define DNS_ERR_SHORT      -1  /* the message ends before its contents do */
#define DNS_ERR_MALFORMED  -2  /* bad label type, pointer, name length, rdata length */
#define DNS_ERR_NOT_RESPONSE -3 /* QR=0: a query */
#define DNS_ERR_OPCODE     -4  /* not a standard query (opcode != 0) */
#define DNS_ERR_RCODE      -5  /* RCODE != 0 (NXDOMAIN, SERVFAIL, ...): no records read */

/* Sections of a message. */
#define DNS_SEC_ANSWER     1
#define DNS_SEC_AUTHORITY  2
#define DNS_SEC_ADDITIONAL 3

/* One record. Names are lowercase text without the final dot ("" = root). */
struct dns_rr {
	uint16_t type;               /* DNS_T_A, DNS_T_AAAA, DNS_T_CNAME or DNS_T_MX */
	uint8_t  section;            /* DNS_SEC_*: additional data is only a hint (not in bailiwick) */
	uint8_t  af;                 /* A: 4, AAAA: 6, else 0 */
	uint32_t ttl;                /* seconds; RFC 2181 8: values with the top bit set read as 0 */
	uint16_t pref;               /* MX preference, else 0 */
	struct pkt_addr addr;        /* A / AAAA address (IPv4 in the first 4 bytes, rest zero) */
	char owner[DNS_NAME_BUF];    /* owner name: the domain for MX, the host for A/AAAA */
	char target[DNS_NAME_BUF];   /* CNAME target or MX exchange, else "" */
};

/* About the message as a whole. */
struct dns_info {
	uint16_t id;                 /* message id */
	uint8_t  tc;                 /* TC bit: a truncated UDP answer (records present are complete) */
	uint8_t  aa;                 /* AA bit */
	uint8_t  rcode;              /* RCODE, also set when dns_parse returns DNS_ERR_RCODE */
	uint16_t qdcount, ancount, nscount, arcount; /* section counts from the header */
	uint16_t qtype;              /* type of the first question, 0 if none */
	char     qname[DNS_NAME_BUF];/* name of the first question, "" if none */
	size_t   n_rr;               /* records of the four types, class IN, with host-name names */
	size_t   n_skipped;          /* other records, other classes, names with odd bytes */
};

/*
 * Parse msg[0..len). For each record reported (in message order) cb is
 * called with arg; a non-zero return stops the walk (still DNS_OK). cb may
 * be NULL (validate only); info may be NULL. Names containing bytes other
 * than letters, digits, '-' and '_' cannot be MX or host names: such
 * records are counted in n_skipped, not reported. Returns DNS_OK or a
 * DNS_ERR_*; on error cb was never called.
 */
int dns_parse(const uint8_t *msg, size_t len, struct dns_info *info,
    int (*cb)(const struct dns_rr *rr, void *arg), void *arg);

/* The same, storing up to max records into out; *n gets how many were
 * stored (info->n_rr says how many there were). */
int dns_parse_array(const uint8_t *msg, size_t len, struct dns_info *info,
    struct dns_rr *out, size_t max, size_t *n);

/*
 * DNS over TCP (RFC 1035 4.2.2) prefixes each message with its length in
 * two bytes. Given reassembled stream bytes, returns the bytes taken by the
 * first message including the prefix (its body is *msg, *msglen), or 0
 * when more bytes are needed.
 */
size_t dns_tcp_frame(const uint8_t *buf, size_t len, const uint8_t **msg,
    size_t *msglen);

/* Text for a dns_parse result, for counters and messages. */
const char *dns_status_name(int status);

#endif
