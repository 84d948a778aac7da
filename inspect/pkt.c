/*
 * pkt.c - decode link layer, IPv4/IPv6 and TCP headers in place.
 *
 * Every field is read only after the bytes under it were checked to be both
 * claimed by the enclosing header ("wire" length; otherwise PKT_MALFORMED)
 * and present in the capture (otherwise PKT_TRUNCATED). Checksums are not
 * verified: captures taken on the sending host carry offloaded, unfilled
 * checksums, and the kernel has already checked them inline. Nothing here
 * allocates, logs or keeps state between calls.
 */
#include <string.h>

#include "csum.h"
#include "pkt.h"

/* Ethernet II header: two MACs and the EtherType. */
#define PKT_ETHER_HDR     14
/* 802.1Q / 802.1ad tag: TPID already counted as EtherType, plus TCI+type. */
#define PKT_VLAN_HDR      4
/* More stacked tags than this is a loop or garbage (QinQ uses 2). */
#define PKT_VLAN_MAX      8
/* Linux cooked capture v1 header; protocol at offset 14. */
#define PKT_SLL_HDR       16
/* Linux cooked capture v2 header; protocol at offset 0. */
#define PKT_SLL2_HDR      20
/* BSD loopback family word. */
#define PKT_NULL_HDR      4
#define PKT_IPV4_HDR      20
#define PKT_IPV6_HDR      40
#define PKT_TCP_HDR       20
/* IPv6 fragment header is fixed size (RFC 8200 4.5). */
#define PKT_IPV6_FRAG_HDR 8
/* Longer extension header chains are an evasion attempt, not traffic
 * (RFC 7112 wants the whole chain in the first fragment; real stacks use
 * one or two). */
#define PKT_IPV6_EXT_MAX  8

#define PKT_ETH_IPV4      0x0800
#define PKT_ETH_IPV6      0x86dd
#define PKT_ETH_8021Q     0x8100
#define PKT_ETH_8021AD    0x88a8
#define PKT_ETH_QINQ_OLD  0x9100 /* pre-standard QinQ, still seen on switches */

#define PKT_IP4_MF        0x2000
#define PKT_IP4_OFFMASK   0x1fff

#define PKT_PROTO_HOPOPTS 0
#define PKT_PROTO_TCP     6
#define PKT_PROTO_UDP     17
#define PKT_UDP_HDR       8
#define PKT_PROTO_ROUTING 43
#define PKT_PROTO_FRAG    44
#define PKT_PROTO_ESP     50
#define PKT_PROTO_AH      51
#define PKT_PROTO_NONE    59
#define PKT_PROTO_DSTOPTS 60

/* BSD address families: AF_INET everywhere, AF_INET6 differs per BSD. */
#define PKT_BSD_AF_INET         2
#define PKT_BSD_AF_INET6_NET    24 /* NetBSD, OpenBSD */
#define PKT_BSD_AF_INET6_FREE   28 /* FreeBSD, DragonFly */
#define PKT_BSD_AF_INET6_DARWIN 30 /* macOS */

/* Read a big-endian 16-bit value. */
static uint16_t
pkt_be16(const uint8_t *b)
{
	return (uint16_t)((b[0] << 8) | b[1]);
}

/* Read a big-endian 32-bit value. */
static uint32_t
pkt_be32(const uint8_t *b)
{
	return ((uint32_t)b[0] << 24) | ((uint32_t)b[1] << 16) |
	    ((uint32_t)b[2] << 8) | b[3];
}

/* Check that [0, end) is claimed by the header (wire) and captured (have). */
static int
pkt_need(size_t end, size_t wire, size_t have)
{
	if (end > wire)
		return PKT_MALFORMED;
	if (end > have)
		return PKT_TRUNCATED;
	return PKT_OK;
}

/* The authentication options (PKT_OPT_*) among n option bytes at o. */
static uint8_t
pkt_tcp_auth_opts(const uint8_t *o, size_t n)
{
	uint8_t found = 0;
	size_t i = 0;
	int md5_seen = 0;

	while (i < n) {
		uint8_t kind = o[i], len;

		if (kind == 0)            /* end of options */
			break;
		if (kind == 1) {          /* no-operation */
			i++;
			continue;
		}
		if (i + 1 >= n || (len = o[i + 1]) < 2 || len > n - i)
			break;            /* malformed: Linux stops parsing here too */
		if (kind == 19) {         /* Linux looks at the first MD5 option only */
			if (len == 18 && !md5_seen)
				found |= PKT_OPT_MD5;
			md5_seen = 1;
		} else if (kind == 29) {
			found |= PKT_OPT_AO;
		}
		i += len;
	}
	return found;
}

/* Decode the TCP header at l4: present bytes captured, wire bytes claimed. */
static int
pkt_decode_tcp(struct pkt *p, const uint8_t *l4, size_t present, size_t wire)
{
	size_t doff;
	int rc;

	p->l4 = l4;
	p->l4_len = (uint32_t)present;
	if ((rc = pkt_need(PKT_TCP_HDR, wire, present)) != PKT_OK)
		return rc;
	doff = (size_t)(l4[12] >> 4) * 4;
	if (doff < PKT_TCP_HDR)
		return PKT_MALFORMED;
	if ((rc = pkt_need(doff, wire, present)) != PKT_OK)
		return rc;
	p->sport = pkt_be16(l4);
	p->dport = pkt_be16(l4 + 2);
	p->seq = pkt_be32(l4 + 4);
	p->ack = pkt_be32(l4 + 8);
	p->tcp_flags = l4[13];
	p->win = pkt_be16(l4 + 14);
	p->urg = pkt_be16(l4 + 18);
	p->tcp_opts = pkt_tcp_auth_opts(l4 + PKT_TCP_HDR, doff - PKT_TCP_HDR);
	p->payload = l4 + doff;
	p->payload_len = (uint32_t)(present - doff);
	p->payload_wire_len = (uint32_t)(wire - doff);
	return PKT_OK;
}

/* Decode the UDP header at l4 (for DNS answers that teach MX names). */
static int
pkt_decode_udp(struct pkt *p, const uint8_t *l4, size_t present, size_t wire)
{
	size_t ulen;
	int rc;

	p->l4 = l4;
	p->l4_len = (uint32_t)present;
	if ((rc = pkt_need(PKT_UDP_HDR, wire, present)) != PKT_OK)
		return rc;
	ulen = pkt_be16(l4 + 4);
	if (ulen < PKT_UDP_HDR || ulen > wire)
		return PKT_MALFORMED;
	p->sport = pkt_be16(l4);
	p->dport = pkt_be16(l4 + 2);
	p->payload = l4 + PKT_UDP_HDR;
	p->payload_len = (uint32_t)((present < ulen ? present : ulen) - PKT_UDP_HDR);
	p->payload_wire_len = (uint32_t)(ulen - PKT_UDP_HDR);
	return PKT_UDP;
}

/* Decode an IPv4 datagram of len captured bytes. */
static int
pkt_decode_v4(struct pkt *p, const uint8_t *ip, size_t len)
{
	size_t hl, tot, l3_len;
	uint16_t frag;

	if (len < PKT_IPV4_HDR)
		return PKT_TRUNCATED;
	if ((ip[0] >> 4) != 4)
		return PKT_MALFORMED;
	hl = (size_t)(ip[0] & 0x0f) * 4;
	if (hl < PKT_IPV4_HDR)
		return PKT_MALFORMED;
	tot = pkt_be16(ip + 2);
	frag = pkt_be16(ip + 6);
	/* Segmentation offload on the capturing host leaves total length 0
	 * (Wireshark: "may be caused by TSO"); trust the capture then. */
	if (tot == 0 && (frag & (PKT_IP4_MF | PKT_IP4_OFFMASK)) == 0)
		tot = len;
	if (tot < hl)
		return PKT_MALFORMED;
	if (len < hl)
		return PKT_TRUNCATED;
	/* Ethernet pads short frames: bytes past total length are not ours. */
	l3_len = len < tot ? len : tot;

	p->af = 4;
	p->ttl = ip[8];
	p->proto = ip[9];
	memcpy(p->src.a, ip + 12, 4);
	memcpy(p->dst.a, ip + 16, 4);
	p->l3 = ip;
	p->l3_len = (uint32_t)l3_len;

	if (frag & (PKT_IP4_MF | PKT_IP4_OFFMASK)) {
		p->frag_id = pkt_be16(ip + 4);
		p->frag_off = (uint32_t)(frag & PKT_IP4_OFFMASK) * 8;
		p->frag_more = (frag & PKT_IP4_MF) ? 1 : 0;
		p->frag_proto = ip[9];
		p->frag_hdr_len = (uint32_t)hl;
		p->frag_data = ip + hl;
		p->frag_len = (uint32_t)(l3_len - hl);
		p->l4 = p->frag_data;
		p->l4_len = p->frag_len;
		/* Reassembling a cut fragment would invent the missing bytes. */
		if (l3_len < tot)
			return PKT_TRUNCATED;
		return PKT_FRAGMENT;
	}
	if (ip[9] == PKT_PROTO_UDP)
		return pkt_decode_udp(p, ip + hl, l3_len - hl, tot - hl);
	if (ip[9] != PKT_PROTO_TCP) {
		p->l4 = ip + hl;
		p->l4_len = (uint32_t)(l3_len - hl);
		return PKT_NOT_TCP;
	}
	return pkt_decode_tcp(p, ip + hl, l3_len - hl, tot - hl);
}

/* Decode an IPv6 packet of len captured bytes, walking extension headers. */
static int
pkt_decode_v6(struct pkt *p, const uint8_t *ip, size_t len)
{
	size_t wire, l3_len, off, hlen;
	unsigned n = 0;
	uint16_t fo;
	uint8_t nh;
	int rc;

	if (len < PKT_IPV6_HDR)
		return PKT_TRUNCATED;
	if ((ip[0] >> 4) != 6)
		return PKT_MALFORMED;
	wire = PKT_IPV6_HDR + (size_t)pkt_be16(ip + 4);
	/* Payload length 0: a jumbogram (RFC 2675) or segmentation offload
	 * on the capturing host; either way the capture is all we know. */
	if (wire == PKT_IPV6_HDR)
		wire = len;
	l3_len = len < wire ? len : wire;

	p->af = 6;
	p->ttl = ip[7];
	memcpy(p->src.a, ip + 8, 16);
	memcpy(p->dst.a, ip + 24, 16);
	p->l3 = ip;
	p->l3_len = (uint32_t)l3_len;

	nh = ip[6];
	off = PKT_IPV6_HDR;
	for (;;) {
		p->proto = nh;
		/* RFC 8200 4.3: hop-by-hop only right after the IPv6 header. */
		if (nh == PKT_PROTO_HOPOPTS && off != PKT_IPV6_HDR)
			return PKT_MALFORMED;
		switch (nh) {
		case PKT_PROTO_TCP:
			return pkt_decode_tcp(p, ip + off, l3_len - off,
			    wire - off);
		case PKT_PROTO_UDP:
			return pkt_decode_udp(p, ip + off, l3_len - off,
			    wire - off);
		case PKT_PROTO_HOPOPTS:
		case PKT_PROTO_ROUTING:
		case PKT_PROTO_DSTOPTS:
		case PKT_PROTO_AH:
			if (++n > PKT_IPV6_EXT_MAX)
				return PKT_MALFORMED;
			if ((rc = pkt_need(off + 2, wire, l3_len)) != PKT_OK)
				return rc;
			if (nh == PKT_PROTO_AH)
				hlen = ((size_t)ip[off + 1] + 2) * 4;
			else
				hlen = ((size_t)ip[off + 1] + 1) * 8;
			if ((rc = pkt_need(off + hlen, wire, l3_len)) != PKT_OK)
				return rc;
			nh = ip[off];
			off += hlen;
			break;
		case PKT_PROTO_FRAG:
			if (++n > PKT_IPV6_EXT_MAX)
				return PKT_MALFORMED;
			if ((rc = pkt_need(off + PKT_IPV6_FRAG_HDR, wire,
			    l3_len)) != PKT_OK)
				return rc;
			fo = pkt_be16(ip + off + 2);
			if ((fo & 0xfff8) == 0 && (fo & 1) == 0) {
				/* Atomic fragment (RFC 6946): not fragmented. */
				nh = ip[off];
				off += PKT_IPV6_FRAG_HDR;
				break;
			}
			p->proto = ip[off];
			p->frag_id = pkt_be32(ip + off + 4);
			p->frag_off = fo & 0xfff8;
			p->frag_more = fo & 1;
			p->frag_proto = ip[off];
			p->frag_hdr_len = (uint32_t)off;
			p->frag_data = ip + off + PKT_IPV6_FRAG_HDR;
			p->frag_len = (uint32_t)(l3_len - off -
			    PKT_IPV6_FRAG_HDR);
			p->l4 = p->frag_data;
			p->l4_len = p->frag_len;
			if (l3_len < wire)
				return PKT_TRUNCATED;
			return PKT_FRAGMENT;
		default:
			/* ESP, no next header, UDP, ICMPv6, unknown. */
			p->l4 = ip + off;
			p->l4_len = (uint32_t)(l3_len - off);
			return PKT_NOT_TCP;
		}
	}
}

/* Dispatch on an EtherType at buf[off-2], skipping VLAN tags. */
static int
pkt_decode_ethertype(struct pkt *p, const uint8_t *buf, size_t len,
    size_t off, uint16_t type)
{
	unsigned tags = 0;

	while (type == PKT_ETH_8021Q || type == PKT_ETH_8021AD ||
	    type == PKT_ETH_QINQ_OLD) {
		if (++tags > PKT_VLAN_MAX)
			return PKT_MALFORMED;
		if (len - off < PKT_VLAN_HDR)
			return PKT_TRUNCATED;
		type = pkt_be16(buf + off + 2);
		off += PKT_VLAN_HDR;
	}
	switch (type) {
	case PKT_ETH_IPV4:
		return pkt_decode_v4(p, buf + off, len - off);
	case PKT_ETH_IPV6:
		return pkt_decode_v6(p, buf + off, len - off);
	default:
		return PKT_NOT_TCP;
	}
}

/* Decode a raw IP packet, picking the version from the first nibble. */
static int
pkt_decode_raw(struct pkt *p, const uint8_t *ip, size_t len)
{
	if (len < 1)
		return PKT_TRUNCATED;
	switch (ip[0] >> 4) {
	case 4:
		return pkt_decode_v4(p, ip, len);
	case 6:
		return pkt_decode_v6(p, ip, len);
	default:
		return PKT_MALFORMED;
	}
}

/* Decode a BSD loopback frame; the family word is read in either order,
 * since a capture file may come from a host of the other endianness. */
static int
pkt_decode_null(struct pkt *p, const uint8_t *buf, size_t len)
{
	uint32_t fam;

	if (len < PKT_NULL_HDR)
		return PKT_TRUNCATED;
	fam = pkt_be32(buf);
	if (fam > 0xffff)       /* written little-endian */
		fam = buf[0] | (uint32_t)buf[1] << 8 |
		    (uint32_t)buf[2] << 16 | (uint32_t)buf[3] << 24;
	switch (fam) {
	case PKT_BSD_AF_INET:
		return pkt_decode_v4(p, buf + PKT_NULL_HDR, len - PKT_NULL_HDR);
	case PKT_BSD_AF_INET6_NET:
	case PKT_BSD_AF_INET6_FREE:
	case PKT_BSD_AF_INET6_DARWIN:
		return pkt_decode_v6(p, buf + PKT_NULL_HDR, len - PKT_NULL_HDR);
	default:
		return PKT_NOT_TCP;
	}
}

int
pkt_decode(struct pkt *p, int linktype, const uint8_t *buf, size_t caplen)
{
	memset(p, 0, sizeof(*p));
	if (buf == NULL)
		caplen = 0;
	switch (linktype) {
	case PKT_LINK_ETHER:
		if (caplen < PKT_ETHER_HDR)
			return PKT_TRUNCATED;
		return pkt_decode_ethertype(p, buf, caplen, PKT_ETHER_HDR,
		    pkt_be16(buf + 12));
	case PKT_LINK_SLL:
		if (caplen < PKT_SLL_HDR)
			return PKT_TRUNCATED;
		return pkt_decode_ethertype(p, buf, caplen, PKT_SLL_HDR,
		    pkt_be16(buf + 14));
	case PKT_LINK_SLL2:
		if (caplen < PKT_SLL2_HDR)
			return PKT_TRUNCATED;
		return pkt_decode_ethertype(p, buf, caplen, PKT_SLL2_HDR,
		    pkt_be16(buf));
	case PKT_LINK_RAW:
	case PKT_LINK_RAW_BSD:
	case PKT_LINK_RAW_LT:
		return pkt_decode_raw(p, buf, caplen);
	case PKT_LINK_IPV4:
		return pkt_decode_v4(p, buf, caplen);
	case PKT_LINK_IPV6:
		return pkt_decode_v6(p, buf, caplen);
	case PKT_LINK_NULL:
	case PKT_LINK_LOOP:
		return pkt_decode_null(p, buf, caplen);
	default:
		return PKT_UNSUPPORTED_LINK;
	}
}

int
pkt_decode_ip(struct pkt *p, const uint8_t *ip, size_t len)
{
	memset(p, 0, sizeof(*p));
	if (ip == NULL)
		len = 0;
	return pkt_decode_raw(p, ip, len);
}

const char *
pkt_status_name(int status)
{
	switch (status) {
	case PKT_OK:
		return "ok";
	case PKT_NOT_TCP:
		return "not_tcp";
	case PKT_FRAGMENT:
		return "fragment";
	case PKT_TRUNCATED:
		return "truncated";
	case PKT_MALFORMED:
		return "malformed";
	case PKT_UNSUPPORTED_LINK:
		return "unsupported_link";
	case PKT_UDP:
		return "udp";
	default:
		return "unknown";
	}
}

/* The TCP pseudo-header's sum (RFC 793): addresses, protocol, length. */
static uint32_t
tcp_pseudo_sum(const struct pkt *p)
{
	size_t alen = p->af == 4 ? 4 : 16;
	uint32_t sum;

	sum = csum_add(0, p->src.a, alen);
	sum = csum_add(sum, p->dst.a, alen);
	return sum + PKT_PROTO_TCP + (p->l4_len & 0xffff) + (p->l4_len >> 16);
}

int
pkt_tcp_csum_ok(const struct pkt *p)
{
	if (p->l4 == NULL || p->payload_len != p->payload_wire_len)
		return -1;
	return csum_fold(csum_add(tcp_pseudo_sum(p), p->l4, p->l4_len)) == 0;
}

void
pkt_tcp_csum_write(const struct pkt *p, uint8_t *tcp)
{
	uint16_t c;

	tcp[16] = 0;
	tcp[17] = 0;
	c = csum_fold(csum_add(tcp_pseudo_sum(p), tcp, p->l4_len));
	tcp[16] = (uint8_t)(c >> 8);
	tcp[17] = (uint8_t)c;
}

int
pkt_addr_cmp(uint8_t af, const struct pkt_addr *x, const struct pkt_addr *y)
{
	return memcmp(x->a, y->a, af == 4 ? 4 : sizeof(x->a));
}
