/*
 * capw.h - the capture writer shared by every generator of test and
 * benchmark captures (tests/tools/gen_fixtures.c, gen_evasion.c,
 * gen_flood.c, bench/gen_big.c).
 *
 * Three layers, each usable alone:
 *   - the file: capw_open/capw_close around libpcap's dump API, a clock
 *     that advances by gap_us before every packet, a mute switch (the
 *     clock runs, nothing is written: captures picked up midstream);
 *   - one packet: capw_write_ip puts a link header (Ethernet, Linux SLL or
 *     none) and an IPv4/IPv6 header (TTL, id, DF, fragment fields, IPv6
 *     extension and fragment headers) around layer-4 bytes that
 *     capw_tcp_build / capw_udp_build made, checksums included;
 *   - a TCP connection: capw_send writes one segment of a struct capw_conn
 *     from either side, acknowledging what the peer sent so far; struct
 *     capw_seg says how it differs from an ordinary segment (any flags,
 *     urgent pointer, TCP options, TTL, a wrong checksum, another ack).
 * Helpers for the deterministic parts: capw_seed (FNV-1a of a case name),
 * capw_rng (xorshift32), capw_addr (text address to 16 bytes).
 *
 * A build tool's module: any error (a file that cannot be written, a frame
 * that does not fit, a bad address) prints "capw: ..." and exits 1. Output
 * depends only on what the caller passes: byte-identical on every run.
 */
#ifndef TESTS_TOOLS_CAPW_H
#define TESTS_TOOLS_CAPW_H

#include <pcap/pcap.h>
#include <stddef.h>
#include <stdint.h>

/* TCP flags. */
#define CAPW_TH_FIN 0x01
#define CAPW_TH_SYN 0x02
#define CAPW_TH_RST 0x04
#define CAPW_TH_PSH 0x08
#define CAPW_TH_ACK 0x10
#define CAPW_TH_URG 0x20
/* The short names the generators' case code uses (netinet/tcp.h's values). */
#ifndef TH_FIN
#define TH_FIN CAPW_TH_FIN
#define TH_SYN CAPW_TH_SYN
#define TH_RST CAPW_TH_RST
#define TH_PSH CAPW_TH_PSH
#define TH_ACK CAPW_TH_ACK
#define TH_URG CAPW_TH_URG
#endif

/* Layer-4 bytes one packet may carry: a full IPv4/IPv6 payload, so that
 * GRO-sized segments (up to 64 KB) fit too. */
#define CAPW_L4_MAX    65535u
/* TCP option bytes (60-byte header minus the fixed 20). */
#define CAPW_TCPOPT_MAX 40u
/* A TTL / hop limit of 0 written as 0 (the field's 0 means "the default"). */
#define CAPW_TTL_ZERO  0x100u
/* The TTL / hop limit when the caller leaves it 0. */
#define CAPW_TTL_DEFAULT 64u
/* The bytes capw_opt_md5 writes. */
#define CAPW_OPT_MD5_LEN 20u

/* An open capture file. */
struct capw {
	pcap_t *pcap;          /* the dead handle the dumper belongs to */
	pcap_dumper_t *dump;   /* the output */
	int dlt;               /* DLT_EN10MB, DLT_LINUX_SLL or DLT_RAW */
	uint64_t ts_us;        /* clock: microseconds since the epoch */
	unsigned gap_us;       /* the clock advances this much before each packet */
	int mute;              /* non-zero: the clock advances, nothing is written */
	uint64_t packets;      /* records written */
	uint64_t bytes;        /* their frame bytes (caplen) */
	uint8_t *frame;        /* one frame being built */
};

/* One IP packet: who sends it to whom, and how its IP header looks. */
struct capw_ip {
	int af;                /* 4 or 6 */
	const uint8_t *src;    /* source address: 4 or 16 bytes */
	const uint8_t *dst;    /* destination address */
	const uint8_t *smac;   /* link source (Ethernet, SLL); NULL: zeros */
	const uint8_t *dmac;   /* link destination (Ethernet); NULL: zeros */
	int outgoing;          /* SLL packet type: 0 "to us", non-zero "outgoing" (4) */
	unsigned proto;        /* layer 4 after all extension headers: 6 TCP, 17 UDP */
	unsigned ttl;          /* TTL / hop limit; 0: CAPW_TTL_DEFAULT; CAPW_TTL_ZERO: 0 */
	uint16_t id;           /* IPv4 identification */
	int df;                /* IPv4 don't-fragment bit */
	unsigned frag_off;     /* fragment offset in bytes (a multiple of 8) */
	int more;              /* more fragments follow */
	int v6ext;             /* IPv6: hop-by-hop + destination options (PadN) first */
	int v6frag;            /* IPv6: a fragment header (frag_off, more, v6frag_id) */
	uint32_t v6frag_id;    /* its identification */
};

/* One TCP header (and payload) to build. */
struct capw_tcp {
	uint16_t sport, dport; /* ports */
	uint32_t seq, ack;     /* sequence and acknowledgment numbers */
	unsigned flags;        /* CAPW_TH_*: any 8 bits */
	uint16_t win;          /* window */
	uint16_t urg;          /* urgent pointer */
	const uint8_t *opt;    /* options, optlen bytes, a multiple of 4 */
	size_t optlen;
	const void *pl;        /* payload, n bytes */
	size_t n;
	uint16_t csum_xor;     /* XORed into the checksum: non-zero writes a wrong one */
};

/* One side of a TCP connection being written. */
struct capw_end {
	uint8_t  addr[16];     /* IPv4 in the first 4 bytes */
	uint8_t  mac[6];       /* link address */
	uint16_t port;         /* TCP port */
	uint16_t ipid;         /* next IPv4 identification */
	uint16_t win;          /* the window it advertises */
	uint32_t nxt;          /* next sequence number it sends */
};

/* A TCP connection: [0] the side that opened it, [1] the server. */
struct capw_conn {
	int af;                /* 4 or 6 */
	struct capw_end e[2];  /* the two sides */
	uint16_t syn_mss;      /* MSS option on segments with SYN; 0: none */
	int ipid_fixed;        /* non-zero: the IPv4 id does not advance per packet */
};

/* How one segment of a connection differs from an ordinary one. Zeroed
 * fields mean: no urgent pointer, no extra options, TTL 64, right checksum,
 * ack = the peer's next sequence number (when ACK is set, else 0). */
struct capw_seg {
	unsigned flags;        /* CAPW_TH_* */
	uint32_t seq;          /* sequence number */
	const void *pl;        /* payload, n bytes */
	size_t n;
	uint16_t urg;          /* urgent pointer */
	const uint8_t *opt;    /* TCP options after the SYN's MSS, optlen (multiple of 4) */
	size_t optlen;
	unsigned ttl;          /* as struct capw_ip */
	uint16_t csum_xor;     /* as struct capw_tcp */
	int ack_set;           /* non-zero: write .ack, whatever the peer sent */
	uint32_t ack;
	int v6ext;             /* as struct capw_ip */
};

/* Print "capw: what" and exit 1. */
void capw_die(const char *what) __attribute__((noreturn));

/* Open path for writing packets of link type dlt; the clock starts at
 * t0_us and advances gap_us before every packet. */
void capw_open(struct capw *w, const char *path, int dlt, int snaplen,
    uint64_t t0_us, unsigned gap_us);
/* Flush and close; the counters stay readable. */
void capw_close(struct capw *w);

/* Build TCP header + payload into out (cap bytes) with the checksum over
 * ip's addresses; returns its length. */
size_t capw_tcp_build(uint8_t *out, size_t cap, const struct capw_ip *ip,
    const struct capw_tcp *t);
/* Build UDP header + payload; returns its length. */
size_t capw_udp_build(uint8_t *out, size_t cap, const struct capw_ip *ip,
    uint16_t sport, uint16_t dport, const void *pl, size_t n);
/* The sum of the pseudo-header for l4len bytes of protocol proto (not
 * folded): add the layer-4 bytes, fold, store. */
uint32_t capw_pseudo_sum(const struct capw_ip *ip, unsigned proto, size_t l4len);

/* Advance the clock, then write link + IP headers around l4[0..n); returns
 * the frame's length (0 when muted). */
size_t capw_write_ip(struct capw *w, const struct capw_ip *ip, const uint8_t *l4, size_t n);

/* The IP description of a segment of c from side `from` (addresses, link
 * addresses, TCP, the side's IPv4 id, DF); does not advance the id. */
void capw_conn_ip(const struct capw_conn *c, int from, struct capw_ip *ip);
/* The TCP description of segment s of c from side `from`; the options
 * buffer (CAPW_TCPOPT_MAX bytes) receives the SYN's MSS and s's options. */
void capw_conn_tcp(const struct capw_conn *c, int from, const struct capw_seg *s,
    struct capw_tcp *t, uint8_t opt[CAPW_TCPOPT_MAX]);
/* Set c up as the generators' connections are: client MAC
 * 02:00:00:00:00:0c, server 02:00:00:00:00:05, server port 25, Linux's
 * windows (64240 client, 65160 server), MSS 1460 on SYNs; the client port,
 * IPv4 ids and ISNs derived from seed. cli/srv (text addresses of family
 * af) may be NULL: the caller fills the addresses. */
void capw_conn_init(struct capw_conn *c, int af, const char *cli, const char *srv,
    uint32_t seed);
/* The three-way handshake (SYN, SYN/ACK, ACK); both sides' nxt advance. */
void capw_handshake(struct capw *w, struct capw_conn *c);
/* Write segment s of c from side `from`; advances the side's IPv4 id, not
 * its sequence number. Returns the frame's length (0 when muted). */
size_t capw_send(struct capw *w, struct capw_conn *c, int from, const struct capw_seg *s);

/* A TCP-MD5 signature option (RFC 2385, kind 19) with a digest of
 * byte `fill`, padded with two NOPs to CAPW_OPT_MD5_LEN bytes. */
void capw_opt_md5(uint8_t out[CAPW_OPT_MD5_LEN], uint8_t fill);

/* The output folder of a generator called "prog DIR": created unless it
 * exists; a wrong command line prints the usage and exits 2. */
const char *capw_dir_arg(int argc, char **argv, const char *prog);
/* Create dir unless it exists (exits on failure). */
void capw_mkdir(const char *dir);

/* FNV-1a of a string: seeds, ISNs and ports of a case come from its name. */
uint32_t capw_seed(const char *s);
/* Next word of the xorshift32 generator whose state is *state (non-zero). */
uint32_t capw_rng(uint32_t *state);
/* Parse an address of family af (4 or 6) into 16 bytes (IPv4: the first 4). */
void capw_addr(int af, const char *s, uint8_t out[16]);

#endif
