/*
 * pkt.h - decode a captured frame down to its TCP segment, in place.
 *
 * pkt_decode() walks link layer -> IPv4/IPv6 (extension headers) -> TCP and
 * fills a struct pkt whose pointers point into the caller's buffer: nothing
 * is copied or allocated, and the struct is valid as long as that buffer.
 * Every length is checked before use. IP fragments are reported as
 * PKT_FRAGMENT so the caller can hand them to ipfrag (offline) or let the
 * kernel reassemble them (inline); the reassembled datagram goes back in
 * through pkt_decode_ip(). No I/O, no logging, no clock.
 */
#ifndef INSPECT_PKT_H
#define INSPECT_PKT_H

#include <stddef.h>
#include <stdint.h>

/* Link types: the pcap LINKTYPE_/DLT_ numbers, so a pcap driver passes
 * pcap_datalink() straight through and NFQUEUE passes PKT_LINK_RAW. */
#define PKT_LINK_NULL     0   /* BSD loopback: 4-byte host-order family */
#define PKT_LINK_ETHER    1   /* Ethernet II, 802.1Q / QinQ tags */
#define PKT_LINK_RAW      12  /* raw IPv4 or IPv6 (DLT_RAW on Linux) */
#define PKT_LINK_RAW_BSD  14  /* DLT_RAW on OpenBSD */
#define PKT_LINK_RAW_LT   101 /* LINKTYPE_RAW as stored in files */
#define PKT_LINK_LOOP     108 /* OpenBSD loopback: 4-byte network-order family */
#define PKT_LINK_SLL      113 /* Linux cooked capture v1 */
#define PKT_LINK_IPV4     228
#define PKT_LINK_IPV6     229
#define PKT_LINK_SLL2     276 /* Linux cooked capture v2 */

/* TCP flag bits as on the wire. */
#define PKT_TH_FIN 0x01
#define PKT_TH_SYN 0x02
#define PKT_TH_RST 0x04
#define PKT_TH_PSH 0x08
#define PKT_TH_ACK 0x10
#define PKT_TH_URG 0x20

/* struct pkt.tcp_opts: TCP options a receiver without the matching key
 * drops the segment for. MD5 is found as Linux's tcp_parse_md5sig_option()
 * finds it (first option of kind 19 and length 18, parsing stopped by EOL
 * or a malformed length), so a segment Linux takes as unsigned is not
 * flagged; AO is any option of kind 29 (kernels differ: the caller treats
 * it as dropped). */
#define PKT_OPT_MD5 0x01 /* TCP-MD5 signature, RFC 2385 */
#define PKT_OPT_AO  0x02 /* TCP-AO, RFC 5925 */

enum pkt_status {
	PKT_OK = 0,          /* a TCP segment: every field below is set */
	PKT_NOT_TCP,         /* well-formed, but not TCP (or not IP): pass it */
	PKT_FRAGMENT,        /* an IP fragment: the frag_* fields and l3 are set */
	PKT_TRUNCATED,       /* capture shorter than the headers say */
	PKT_MALFORMED,       /* impossible header values */
	PKT_UNSUPPORTED_LINK, /* a link type we do not decode */
	PKT_UDP              /* a UDP datagram: addresses, ports and payload are set (DNS answers) */
};

/* An address: IPv4 uses the first 4 bytes, the rest stay zero. */
struct pkt_addr {
	uint8_t a[16];
};

struct pkt {
	struct pkt_addr src, dst;   /* network layer addresses */
	uint8_t  af;                /* 4 or 6 */
	uint8_t  tcp_flags;         /* PKT_TH_* */
	uint8_t  ttl;               /* IPv4 TTL / IPv6 hop limit (answers we forge; normalizing) */
	uint8_t  tcp_opts;          /* PKT_OPT_*: authentication options the segment carries */
	uint8_t  proto;             /* transport protocol number (6 for TCP) */
	uint16_t sport, dport;      /* host order (TCP or UDP) */
	uint16_t win;               /* TCP window, host order */
	uint16_t urg;               /* TCP urgent pointer, host order */
	uint32_t seq, ack;          /* host order */
	const uint8_t *l3;          /* first byte of the IP header */
	uint32_t l3_len;            /* IP datagram length, clipped to what was captured */
	const uint8_t *l4;          /* first byte of the TCP header (or fragment payload) */
	uint32_t l4_len;            /* bytes from l4 to the end of the datagram */
	const uint8_t *payload;     /* TCP payload */
	uint32_t payload_len;       /* TCP payload bytes present in the buffer */
	uint32_t payload_wire_len;  /* TCP payload bytes the IP header claims (>= payload_len) */
	/* Set when pkt_decode returns PKT_FRAGMENT: */
	uint32_t frag_id;           /* IPv4 identification or IPv6 fragment id */
	uint32_t frag_off;          /* byte offset of this fragment's data */
	uint8_t  frag_more;         /* more fragments follow */
	uint8_t  frag_proto;        /* upper-layer protocol of the datagram */
	const uint8_t *frag_data;   /* this fragment's data */
	uint32_t frag_len;          /* its length */
	uint32_t frag_hdr_len;      /* bytes of unfragmentable header before frag_data (l3-relative) */
};

/* Decode a frame of the given link type. Returns enum pkt_status. */
int pkt_decode(struct pkt *p, int linktype, const uint8_t *buf, size_t caplen);

/* Decode starting at an IP header (version nibble picks v4/v6). */
int pkt_decode_ip(struct pkt *p, const uint8_t *ip, size_t len);

/* Human text for a status, for counters and error messages. */
const char *pkt_status_name(int status);

/* Verify the TCP checksum of a decoded segment (pseudo-header included).
 * 1 = correct, 0 = wrong, -1 = cannot tell (segment cut by the capture).
 * A capture taken on a host that offloads checksums shows its own outgoing
 * packets with wrong ones: the caller decides whether to trust the answer. */
int pkt_tcp_csum_ok(const struct pkt *p);
/* Write the full TCP checksum of p's segment into tcp, a writable copy of
 * p->l4 (after its payload was changed). */
void pkt_tcp_csum_write(const struct pkt *p, uint8_t *tcp);

/* Compare two addresses of family af; like memcmp. */
int pkt_addr_cmp(uint8_t af, const struct pkt_addr *x, const struct pkt_addr *y);

#endif
