/*
 * capw.c - the capture writer shared by the capture generators: pcap files
 * through libpcap's dump API, link/IPv4/IPv6/TCP/UDP headers with their
 * checksums, TCP connections seen from either side (capw.h).
 *
 * Nothing here knows SMTP or a test case: generators say which bytes go
 * where, this file only frames them. It exits on any error: it is linked
 * into build tools only, never into the gateway.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "../../inspect/csum.h"
#include "../../inspect/wire.h"
#include "capw.h"

/* Headers in front of layer 4 at the most: SLL, IPv6, hop-by-hop and
 * destination options, fragment header. */
#define CAPW_HDR_MAX   (16u + 40u + 16u + 8u)
#define CAPW_FRAME_MAX (CAPW_HDR_MAX + CAPW_L4_MAX)

/* IPv6 next-header values the writer chains. */
#define CAPW_NH_HOPOPT  0
#define CAPW_NH_FRAG    44
#define CAPW_NH_DSTOPTS 60

void
capw_die(const char *what)
{
	fprintf(stderr, "capw: %s\n", what);
	exit(1);
}

void
capw_open(struct capw *w, const char *path, int dlt, int snaplen, uint64_t t0_us,
    unsigned gap_us)
{
	memset(w, 0, sizeof *w);
	w->dlt = dlt;
	w->ts_us = t0_us;
	w->gap_us = gap_us;
	if ((w->frame = malloc(CAPW_FRAME_MAX)) == NULL)
		capw_die("out of memory");
	if ((w->pcap = pcap_open_dead(dlt, snaplen)) == NULL)
		capw_die("pcap_open_dead failed");
	if ((w->dump = pcap_dump_open(w->pcap, path)) == NULL) {
		fprintf(stderr, "capw: %s: %s\n", path, pcap_geterr(w->pcap));
		exit(1);
	}
}

void
capw_close(struct capw *w)
{
	if (pcap_dump_flush(w->dump) != 0)
		capw_die("write failed");
	pcap_dump_close(w->dump);
	pcap_close(w->pcap);
	free(w->frame);
	w->dump = NULL;
	w->pcap = NULL;
	w->frame = NULL;
}

uint32_t
capw_pseudo_sum(const struct capw_ip *ip, unsigned proto, size_t l4len)
{
	uint8_t ph[40];

	memset(ph, 0, sizeof ph);
	if (ip->af == 4) {
		memcpy(ph, ip->src, 4);
		memcpy(ph + 4, ip->dst, 4);
		ph[9] = (uint8_t)proto;
		put16(ph + 10, (unsigned)l4len);
		return csum_add(0, ph, 12);
	}
	memcpy(ph, ip->src, 16);
	memcpy(ph + 16, ip->dst, 16);
	put32(ph + 32, (uint32_t)l4len);
	ph[39] = (uint8_t)proto;
	return csum_add(0, ph, 40);
}

size_t
capw_tcp_build(uint8_t *out, size_t cap, const struct capw_ip *ip, const struct capw_tcp *t)
{
	size_t thl = 20 + t->optlen, len = thl + t->n;

	if (t->optlen % 4 != 0 || t->optlen > CAPW_TCPOPT_MAX)
		capw_die("TCP options must be a multiple of 4 bytes, 40 at the most");
	if (len > cap)
		capw_die("TCP segment too large");
	memset(out, 0, 20);
	put16(out, t->sport);
	put16(out + 2, t->dport);
	put32(out + 4, t->seq);
	put32(out + 8, t->ack);
	out[12] = (uint8_t)((thl / 4) << 4);
	out[13] = (uint8_t)t->flags;
	put16(out + 14, t->win);
	put16(out + 18, t->urg);
	if (t->optlen)
		memcpy(out + 20, t->opt, t->optlen);
	if (t->n)
		memcpy(out + thl, t->pl, t->n);
	put16(out + 16, csum_fold(csum_add(capw_pseudo_sum(ip, 6, len), out, len)) ^ t->csum_xor);
	return len;
}

size_t
capw_udp_build(uint8_t *out, size_t cap, const struct capw_ip *ip, uint16_t sport,
    uint16_t dport, const void *pl, size_t n)
{
	size_t len = 8 + n;
	uint16_t sum;

	if (len > cap || len > 0xffff)
		capw_die("UDP datagram too large");
	put16(out, sport);
	put16(out + 2, dport);
	put16(out + 4, (unsigned)len);
	put16(out + 6, 0);
	if (n)
		memcpy(out + 8, pl, n);
	sum = csum_fold(csum_add(capw_pseudo_sum(ip, 17, len), out, len));
	put16(out + 6, sum ? sum : 0xffff);   /* RFC 768: 0 means "no checksum" */
	return len;
}

/* The link header for ip into f; returns its length. */
static size_t
link_hdr(const struct capw *w, const struct capw_ip *ip, uint8_t *f)
{
	static const uint8_t zero[6];
	const uint8_t *smac = ip->smac ? ip->smac : zero, *dmac = ip->dmac ? ip->dmac : zero;
	unsigned ethertype = ip->af == 4 ? 0x0800 : 0x86dd;

	switch (w->dlt) {
	case DLT_EN10MB:
		memcpy(f, dmac, 6);
		memcpy(f + 6, smac, 6);
		put16(f + 12, ethertype);
		return 14;
	case DLT_LINUX_SLL:
		put16(f, ip->outgoing ? 4 : 0);
		put16(f + 2, 1);                 /* ARPHRD_ETHER */
		put16(f + 4, 6);
		memcpy(f + 6, smac, 6);
		put16(f + 12, 0);
		put16(f + 14, ethertype);
		return 16;
	case DLT_RAW:
		return 0;
	default:
		capw_die("link type not supported");
	}
}

/* The TTL / hop limit byte. */
static uint8_t
ttl_byte(unsigned ttl)
{
	if (ttl == 0)
		return CAPW_TTL_DEFAULT;
	return ttl == CAPW_TTL_ZERO ? 0 : (uint8_t)ttl;
}

/* IPv4 header for n layer-4 bytes into p; returns 20. */
static size_t
ip4_hdr(const struct capw_ip *ip, uint8_t *p, size_t n)
{
	memset(p, 0, 20);
	p[0] = 0x45;
	put16(p + 2, (unsigned)(20 + n));
	put16(p + 4, ip->id);
	put16(p + 6, (ip->df ? 0x4000u : 0) | (ip->more ? 0x2000u : 0) | (ip->frag_off / 8));
	p[8] = ttl_byte(ip->ttl);
	p[9] = (uint8_t)ip->proto;
	memcpy(p + 12, ip->src, 4);
	memcpy(p + 16, ip->dst, 4);
	put16(p + 10, csum_fold(csum_add(0, p, 20)));
	return 20;
}

/* IPv6 header, optional hop-by-hop + destination options (8 bytes each,
 * one PadN), optional fragment header, for n layer-4 bytes; returns the
 * header bytes written. */
static size_t
ip6_hdr(const struct capw_ip *ip, uint8_t *p, size_t n)
{
	size_t hl = 40 + (ip->v6ext ? 16 : 0) + (ip->v6frag ? 8 : 0);
	uint8_t after_ext = ip->v6frag ? CAPW_NH_FRAG : (uint8_t)ip->proto;

	memset(p, 0, hl);
	p[0] = 0x60;
	put16(p + 4, (unsigned)(hl - 40 + n));
	p[7] = ttl_byte(ip->ttl);
	memcpy(p + 8, ip->src, 16);
	memcpy(p + 24, ip->dst, 16);
	uint8_t *q = p + 40;
	if (ip->v6ext) {
		p[6] = CAPW_NH_HOPOPT;
		q[0] = CAPW_NH_DSTOPTS;
		q[2] = 1;                        /* PadN of 4 */
		q[3] = 4;
		q[8] = after_ext;
		q[10] = 1;
		q[11] = 4;
		q += 16;
	} else {
		p[6] = after_ext;
	}
	if (ip->v6frag) {
		q[0] = (uint8_t)ip->proto;
		put16(q + 2, ip->frag_off | (ip->more ? 1u : 0));
		put32(q + 4, ip->v6frag_id);
	}
	return hl;
}

size_t
capw_write_ip(struct capw *w, const struct capw_ip *ip, const uint8_t *l4, size_t n)
{
	struct pcap_pkthdr h;
	size_t len;

	w->ts_us += w->gap_us;
	if (w->mute)
		return 0;
	if (n > CAPW_L4_MAX)
		capw_die("packet too large");
	len = link_hdr(w, ip, w->frame);
	len += ip->af == 4 ? ip4_hdr(ip, w->frame + len, n) : ip6_hdr(ip, w->frame + len, n);
	memcpy(w->frame + len, l4, n);
	len += n;

	memset(&h, 0, sizeof h);
	h.ts.tv_sec = (time_t)(w->ts_us / 1000000u);
	h.ts.tv_usec = (suseconds_t)(w->ts_us % 1000000u);
	h.caplen = h.len = (bpf_u_int32)len;
	pcap_dump((u_char *)w->dump, &h, w->frame);
	w->packets++;
	w->bytes += len;
	return len;
}

void
capw_conn_ip(const struct capw_conn *c, int from, struct capw_ip *ip)
{
	const struct capw_end *src = &c->e[from], *dst = &c->e[!from];

	memset(ip, 0, sizeof *ip);
	ip->af = c->af;
	ip->src = src->addr;
	ip->dst = dst->addr;
	ip->smac = src->mac;
	ip->dmac = dst->mac;
	ip->outgoing = from != 0;
	ip->proto = 6;
	ip->id = src->ipid;
	ip->df = 1;
}

void
capw_conn_tcp(const struct capw_conn *c, int from, const struct capw_seg *s,
    struct capw_tcp *t, uint8_t opt[CAPW_TCPOPT_MAX])
{
	const struct capw_end *src = &c->e[from], *dst = &c->e[!from];
	size_t ol = 0;

	memset(t, 0, sizeof *t);
	if ((s->flags & CAPW_TH_SYN) && c->syn_mss) {
		opt[0] = 2;                      /* MSS */
		opt[1] = 4;
		put16(opt + 2, c->syn_mss);
		ol = 4;
	}
	if (ol + s->optlen > CAPW_TCPOPT_MAX)
		capw_die("too many TCP options");
	if (s->optlen)
		memcpy(opt + ol, s->opt, s->optlen);
	t->sport = src->port;
	t->dport = dst->port;
	t->seq = s->seq;
	t->ack = s->ack_set ? s->ack : (s->flags & CAPW_TH_ACK) ? dst->nxt : 0;
	t->flags = s->flags;
	t->win = src->win;
	t->urg = s->urg;
	t->opt = opt;
	t->optlen = ol + s->optlen;
	t->pl = s->pl;
	t->n = s->n;
	t->csum_xor = s->csum_xor;
}

size_t
capw_send(struct capw *w, struct capw_conn *c, int from, const struct capw_seg *s)
{
	static uint8_t l4[CAPW_L4_MAX];
	uint8_t opt[CAPW_TCPOPT_MAX];
	struct capw_ip ip;
	struct capw_tcp t;
	size_t n, len;

	if (w->mute) {
		w->ts_us += w->gap_us;           /* the clock runs; the id does not */
		return 0;
	}
	capw_conn_ip(c, from, &ip);
	ip.ttl = s->ttl;
	ip.v6ext = s->v6ext;
	capw_conn_tcp(c, from, s, &t, opt);
	n = capw_tcp_build(l4, sizeof l4, &ip, &t);
	len = capw_write_ip(w, &ip, l4, n);
	if (c->af == 4 && !c->ipid_fixed)
		c->e[from].ipid++;
	return len;
}

void
capw_conn_init(struct capw_conn *c, int af, const char *cli, const char *srv, uint32_t seed)
{
	static const uint8_t mac_c[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x0c };
	static const uint8_t mac_s[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x05 };

	memset(c, 0, sizeof *c);
	c->af = af;
	if (cli)
		capw_addr(af, cli, c->e[0].addr);
	if (srv)
		capw_addr(af, srv, c->e[1].addr);
	memcpy(c->e[0].mac, mac_c, 6);
	memcpy(c->e[1].mac, mac_s, 6);
	c->e[0].port = (uint16_t)(32768 + seed % 28000);
	c->e[1].port = 25;
	c->e[0].ipid = (uint16_t)(seed >> 16);
	c->e[1].ipid = (uint16_t)(seed >> 3);
	c->e[0].win = 64240;
	c->e[1].win = 65160;
	c->e[0].nxt = seed * 2654435761u;
	c->e[1].nxt = (seed ^ 0x5a5a5a5au) * 40503u;
	c->syn_mss = 1460;
}

void
capw_handshake(struct capw *w, struct capw_conn *c)
{
	struct capw_seg syn = { .flags = CAPW_TH_SYN, .seq = c->e[0].nxt };

	capw_send(w, c, 0, &syn);
	c->e[0].nxt++;
	syn.flags |= CAPW_TH_ACK;
	syn.seq = c->e[1].nxt;
	capw_send(w, c, 1, &syn);
	c->e[1].nxt++;
	syn.flags = CAPW_TH_ACK;
	syn.seq = c->e[0].nxt;
	capw_send(w, c, 0, &syn);
}

void
capw_opt_md5(uint8_t out[CAPW_OPT_MD5_LEN], uint8_t fill)
{
	out[0] = 19;                             /* TCP-MD5 signature */
	out[1] = 18;
	memset(out + 2, fill, 16);
	out[18] = 1;                             /* NOP, NOP: a multiple of 4 */
	out[19] = 1;
}

void
capw_mkdir(const char *dir)
{
	if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
		perror(dir);
		exit(1);
	}
}

const char *
capw_dir_arg(int argc, char **argv, const char *prog)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s DIR\n", prog);
		exit(2);
	}
	capw_mkdir(argv[1]);
	return argv[1];
}

uint32_t
capw_seed(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s; s++) {
		h ^= (uint8_t)*s;
		h *= 16777619u;
	}
	return h;
}

uint32_t
capw_rng(uint32_t *state)
{
	uint32_t x = *state;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	*state = x;
	return x;
}

void
capw_addr(int af, const char *s, uint8_t out[16])
{
	memset(out, 0, 16);
	if (inet_pton(af == 4 ? AF_INET : AF_INET6, s, out) != 1) {
		fprintf(stderr, "capw: bad address %s\n", s);
		exit(1);
	}
}
