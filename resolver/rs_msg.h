/*
 * rs_msg.h - the messages between the daemon and its resolver process.
 *
 * One message per datagram of a SOCK_SEQPACKET socketpair, so a message
 * is never split nor merged. Fixed 20-byte header, then the variable parts
 * in a fixed order, every length in the header (big-endian):
 *
 *   0 version (1)   1 type   2 status   3 reason
 *   4 reqid (u32)   8 gen (u32)
 *  12 domain_len (u8)  13 id_len (u8)  14 text_len (u16)  16 body_len (u32)
 *  20 domain | id | text | body
 *
 * Each side decodes what the other sent as untrusted: the daemon must
 * survive a resolver that an exploit took over, so rs_msg_decode() checks
 * every length, range and character before anything is used, and the
 * policy body is parsed again by the daemon (pol_sts_parse) before it is
 * cached. Pure: no I/O, no allocation. Room for issue 15 (DANE): a TLSA
 * query/answer pair takes new type numbers; the header stays.
 */
#ifndef RESOLVER_RS_MSG_H
#define RESOLVER_RS_MSG_H

#include <stddef.h>
#include <stdint.h>

#include "../policy/pol_mx.h"
#include "../policy/pol_sts.h"
#include "rs_sts.h"

#define RS_MSG_VERSION 1
#define RS_MSG_HDR 20
/* The reason text of an answer (escaped, printable ASCII). */
#define RS_MSG_TEXT_MAX 240
/* The largest message: header, names, text and a 64 KiB policy. */
#define RS_MSG_MAX (RS_MSG_HDR + POL_NAME_MAX + RS_STS_ID_MAX + RS_MSG_TEXT_MAX + POL_STS_MAX_BYTES)

enum rs_msg_type {
	RS_MSG_QUERY_STS = 1,  /* daemon -> resolver: discover domain's MTA-STS (id: the cached one) */
	RS_MSG_ANSWER_STS = 2, /* resolver -> daemon: the outcome for reqid */
	RS_MSG_HELLO = 3,      /* resolver -> daemon: a (re)started worker is ready (gen) */
	RS_MSG_TYPE_MAX = 3
};

enum rs_status {
	RS_ST_NONE_ = 0,       /* (not a status: queries and hellos carry 0) */
	RS_ST_POLICY = 1,      /* a valid policy in body, id = the TXT id */
	RS_ST_UNCHANGED = 2,   /* TXT id equals the cached one: nothing fetched */
	RS_ST_NO_POLICY = 3,   /* no STSv1 TXT record (NXDOMAIN, NODATA, only foreign records) */
	RS_ST_FAILED = 4,      /* refused or failed: reason and text say why */
	RS_ST_MAX = 4
};

struct rs_msg {
	uint8_t  type;                        /* enum rs_msg_type */
	uint8_t  status;                      /* enum rs_status (answers) */
	uint8_t  reason;                      /* enum rs_reason (RS_ST_FAILED) */
	uint32_t reqid;                       /* the query's number, echoed in its answer */
	uint32_t gen;                         /* HELLO: worker generation */
	char     domain[POL_NAME_BUF];        /* normalised domain (queries, answers) */
	char     id[RS_STS_ID_MAX + 1];       /* TXT id, "" when none */
	char     text[RS_MSG_TEXT_MAX];       /* answers: why, printable */
	const uint8_t *body;                  /* RS_ST_POLICY: the policy as served; decoded:
	                                         points into the caller's buffer */
	size_t   body_len;                    /* bytes at body, <= POL_STS_MAX_BYTES */
};

/* Encode m into buf[cap]. Returns the length, or -1 when m breaks the
 * rules rs_msg_decode() checks, or does not fit. */
long rs_msg_encode(const struct rs_msg *m, uint8_t *buf, size_t cap);

/* Decode buf[len] into m (m->body points into buf). Returns 0, or -1 with
 * a short reason in err for anything malformed: version, type, status or
 * reason out of range, lengths that do not add up to len exactly, a domain
 * that is not a normalised name, an id that is not 1..32 letters/digits,
 * text that is not printable, a body outside an RS_ST_POLICY answer. */
int rs_msg_decode(const uint8_t *buf, size_t len, struct rs_msg *m, char *err, size_t errlen);

#endif
