/*
 * mkbad.c - write small captures, good and broken, for tests/run-badinput.sh.
 *
 *   mkbad KIND FILE
 *
 * KIND: good (pcap, Ethernet, a short SMTP session with a stripped
 * STARTTLS), pcapng (the same as pcapng), nsec (the same as a nanosecond
 * pcap), snaplen (pcap with snaplen 60: every packet cut), truncated (good,
 * its last record cut short), hugecap (a record claiming 2 GB), badlink
 * (link type USER0), headeronly (a pcap file header and no packets).
 * Files are written byte by byte (host order, as libpcap writes them), so no
 * libpcap writer or python is needed on CI.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../../inspect/csum.h"
#include "../../inspect/wire.h"

#define MK_MAX_FRAME 1600

/* One frame of the scripted session. */
struct frame {
	uint8_t  b[MK_MAX_FRAME];
	uint32_t len;
	uint32_t sec, usec;
};

static struct frame frames[16];
static unsigned nframes;

/* Append an Ethernet/IPv4/TCP frame; to_server picks the direction. */
static void
add_frame(int to_server, uint8_t flags, uint32_t seq, uint32_t ack, const char *payload)
{
	static const uint8_t cli[4] = { 198, 51, 100, 7 }, srv[4] = { 203, 0, 113, 25 };
	struct frame *f = &frames[nframes];
	size_t plen = payload ? strlen(payload) : 0;
	uint8_t *e = f->b, *ip = e + 14, *tcp = ip + 20;
	uint32_t sum;

	memset(f, 0, sizeof(*f));
	memcpy(e, to_server ? "\x02\0\0\0\0\x02" : "\x02\0\0\0\0\x01", 6);
	memcpy(e + 6, to_server ? "\x02\0\0\0\0\x01" : "\x02\0\0\0\0\x02", 6);
	put16(e + 12, 0x0800);
	ip[0] = 0x45;
	put16(ip + 2, (uint16_t)(20 + 20 + plen));
	put16(ip + 4, (uint16_t)(nframes + 1));
	ip[8] = 64;
	ip[9] = 6;
	memcpy(ip + 12, to_server ? cli : srv, 4);
	memcpy(ip + 16, to_server ? srv : cli, 4);
	put16(ip + 10, csum_fold(csum_add(0, ip, 20)));
	put16(tcp, to_server ? 41234 : 25);
	put16(tcp + 2, to_server ? 25 : 41234);
	put32(tcp + 4, seq);
	put32(tcp + 8, ack);
	tcp[12] = 5 << 4;
	tcp[13] = flags;
	put16(tcp + 14, 65535);
	memcpy(tcp + 20, payload ? payload : "", plen);
	sum = csum_add(0, ip + 12, 8);
	sum += 6 + 20 + (uint32_t)plen;
	sum = csum_add(sum, tcp, 20 + plen);
	put16(tcp + 16, csum_fold(sum));
	f->len = (uint32_t)(14 + 20 + 20 + plen);
	f->sec = 1795989154 + nframes;   /* 2026-11-28 */
	f->usec = 123456;
	nframes++;
}

/* The scripted session: handshake, banner, EHLO, a garbled STARTTLS. */
static void
build_session(void)
{
	const char *banner = "220 mx.example.net ESMTP\r\n";
	const char *ehlo = "EHLO client.example.org\r\n";
	const char *reply = "250-mx.example.net\r\n250-XXXXXXXA\r\n250 8BITMIME\r\n";
	const char *mail = "MAIL FROM:<a@example.org>\r\n";
	uint32_t c = 1000, s = 5000;

	add_frame(1, 0x02, c, 0, NULL);
	add_frame(0, 0x12, s, c + 1, NULL);
	add_frame(1, 0x10, c + 1, s + 1, NULL);
	add_frame(0, 0x18, s + 1, c + 1, banner);
	s += (uint32_t)strlen(banner);
	add_frame(1, 0x18, c + 1, s + 1, ehlo);
	c += (uint32_t)strlen(ehlo);
	add_frame(0, 0x18, s + 1, c + 1, reply);
	s += (uint32_t)strlen(reply);
	add_frame(1, 0x18, c + 1, s + 1, mail);
	c += (uint32_t)strlen(mail);
	add_frame(1, 0x11, c + 1, s + 1, NULL);
}

static void
wr(FILE *fp, const void *p, size_t n)
{
	if (fwrite(p, 1, n, fp) != n) {
		perror("mkbad: write");
		exit(1);
	}
}

static void
wr32(FILE *fp, uint32_t v)
{
	wr(fp, &v, 4);
}

static void
wr16(FILE *fp, uint16_t v)
{
	wr(fp, &v, 2);
}

/* Classic pcap: magic picks micro- or nanoseconds. */
static void
write_pcap(FILE *fp, uint32_t magic, uint32_t snaplen, uint32_t linktype, int cut_last)
{
	wr32(fp, magic);
	wr16(fp, 2);
	wr16(fp, 4);
	wr32(fp, 0);
	wr32(fp, 0);
	wr32(fp, snaplen);
	wr32(fp, linktype);
	for (unsigned i = 0; i < nframes; i++) {
		const struct frame *f = &frames[i];
		uint32_t cap = f->len < snaplen ? f->len : snaplen;

		wr32(fp, f->sec);
		wr32(fp, magic == 0xa1b23c4d ? f->usec * 1000 : f->usec);
		wr32(fp, cap);
		wr32(fp, f->len);
		if (cut_last && i == nframes - 1) {
			wr(fp, f->b, cap / 2);
			return;
		}
		wr(fp, f->b, cap);
	}
}

/* pcapng: section header, one Ethernet interface, enhanced packet blocks. */
static void
write_pcapng(FILE *fp)
{
	static const uint8_t zero[4];

	wr32(fp, 0x0a0d0d0a);
	wr32(fp, 28);
	wr32(fp, 0x1a2b3c4d);
	wr16(fp, 1);
	wr16(fp, 0);
	wr32(fp, 0xffffffff);
	wr32(fp, 0xffffffff);
	wr32(fp, 28);

	wr32(fp, 1);
	wr32(fp, 20);
	wr16(fp, 1);
	wr16(fp, 0);
	wr32(fp, 65535);
	wr32(fp, 20);

	for (unsigned i = 0; i < nframes; i++) {
		const struct frame *f = &frames[i];
		uint32_t pad = (4 - (f->len & 3)) & 3;
		uint32_t blen = 32 + f->len + pad;
		uint64_t ts = (uint64_t)f->sec * 1000000 + f->usec;

		wr32(fp, 6);
		wr32(fp, blen);
		wr32(fp, 0);
		wr32(fp, (uint32_t)(ts >> 32));
		wr32(fp, (uint32_t)ts);
		wr32(fp, f->len);
		wr32(fp, f->len);
		wr(fp, f->b, f->len);
		wr(fp, zero, pad);
		wr32(fp, blen);
	}
}

int
main(int argc, char **argv)
{
	FILE *fp;
	const char *kind;

	if (argc != 3) {
		fprintf(stderr, "usage: mkbad good|pcapng|nsec|snaplen|truncated|hugecap|badlink|headeronly FILE\n");
		return 2;
	}
	kind = argv[1];
	build_session();
	if ((fp = fopen(argv[2], "wb")) == NULL) {
		perror(argv[2]);
		return 1;
	}
	if (strcmp(kind, "good") == 0)
		write_pcap(fp, 0xa1b2c3d4, 65535, 1, 0);
	else if (strcmp(kind, "nsec") == 0)
		write_pcap(fp, 0xa1b23c4d, 65535, 1, 0);
	else if (strcmp(kind, "pcapng") == 0)
		write_pcapng(fp);
	else if (strcmp(kind, "snaplen") == 0)
		write_pcap(fp, 0xa1b2c3d4, 60, 1, 0);
	else if (strcmp(kind, "truncated") == 0)
		write_pcap(fp, 0xa1b2c3d4, 65535, 1, 1);
	else if (strcmp(kind, "badlink") == 0)
		write_pcap(fp, 0xa1b2c3d4, 65535, 147, 0);
	else if (strcmp(kind, "headeronly") == 0) {
		nframes = 0;
		write_pcap(fp, 0xa1b2c3d4, 65535, 1, 0);
	} else if (strcmp(kind, "hugecap") == 0) {
		nframes = 3;
		write_pcap(fp, 0xa1b2c3d4, 65535, 1, 0);
		wr32(fp, 1795989200);
		wr32(fp, 0);
		wr32(fp, 0x7fffffff);
		wr32(fp, 0x7fffffff);
		wr(fp, frames[0].b, frames[0].len);
	} else {
		fprintf(stderr, "mkbad: unknown kind '%s'\n", kind);
		fclose(fp);
		return 2;
	}
	if (fclose(fp) != 0) {
		perror(argv[2]);
		return 1;
	}
	return 0;
}
