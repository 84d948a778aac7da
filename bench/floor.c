/*
 * floor.c - the machine's floor for reading a capture: a bare libpcap loop.
 *
 * Usage: floor [-a] FILE.pcap
 *
 * Default ("headers"): for every packet read what the gateway must read of
 * every packet: Ethernet type, the IPv4/IPv6 header (version, lengths,
 * protocol, addresses), the TCP header (ports, seq, ack, flags, offset),
 * plus the first and the last byte of the TCP payload. That is the fair
 * floor: no inspector can do less and still follow flows.
 * -a ("all bytes"): additionally sum every byte of every frame, the floor
 * of a tool that looks at all payload (a DPI engine scanning TLS records).
 * Prints packets, bytes and a checksum of what it read (so the compiler
 * cannot drop the work) to standard output.
 */
#include <pcap/pcap.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Fold the headers (and payload ends) of one Ethernet frame into acc. */
static uint64_t
touch_headers(const uint8_t *f, size_t n, uint64_t acc)
{
	if (n < 14)
		return acc + n;
	unsigned et = (unsigned)f[12] << 8 | f[13];
	const uint8_t *ip = f + 14, *th;
	size_t rest = n - 14, l3, plen;

	if (et == 0x0800 && rest >= 20 && (ip[0] >> 4) == 4) {
		l3 = (size_t)(ip[0] & 15) * 4;
		plen = (size_t)ip[2] << 8 | ip[3];
		if (ip[9] != 6 || l3 < 20 || plen > rest || plen < l3)
			return acc + et;
		acc += (uint64_t)ip[12] << 24 ^ ip[13] << 16 ^ ip[14] << 8 ^ ip[15];
		acc += (uint64_t)ip[16] << 24 ^ ip[17] << 16 ^ ip[18] << 8 ^ ip[19];
	} else if (et == 0x86dd && rest >= 40 && (ip[0] >> 4) == 6) {
		l3 = 40;
		plen = 40 + ((size_t)ip[4] << 8 | ip[5]);
		if (ip[6] != 6 || plen > rest)
			return acc + et;
		for (int i = 8; i < 40; i += 8) {
			uint64_t w;
			memcpy(&w, ip + i, 8);
			acc ^= w;
		}
	} else {
		return acc + et;
	}
	th = ip + l3;
	if (plen - l3 < 20)
		return acc;
	size_t thl = (size_t)(th[12] >> 4) * 4;
	acc += (uint64_t)th[0] << 8 | th[1];
	acc += (uint64_t)th[2] << 8 | th[3];
	acc ^= (uint64_t)th[4] << 24 | th[5] << 16 | th[6] << 8 | th[7];
	acc ^= (uint64_t)th[8] << 56 | (uint64_t)th[9] << 48 | (uint64_t)th[10] << 40 |
	    (uint64_t)th[11] << 32;
	acc += th[13];
	if (thl >= 20 && plen - l3 > thl) {
		const uint8_t *pl = th + thl;
		size_t pn = plen - l3 - thl;
		acc += (uint64_t)pl[0] * 31 + pl[pn - 1];
	}
	return acc;
}

/* Sum every byte of a frame, 8 at a time. */
static uint64_t
touch_all(const uint8_t *f, size_t n, uint64_t acc)
{
	size_t i = 0;
	for (; i + 8 <= n; i += 8) {
		uint64_t w;
		memcpy(&w, f + i, 8);
		acc += w;
	}
	for (; i < n; i++)
		acc += f[i];
	return acc;
}

int
main(int argc, char **argv)
{
	char err[PCAP_ERRBUF_SIZE];
	int all = 0, opt;

	while ((opt = getopt(argc, argv, "a")) != -1) {
		if (opt == 'a')
			all = 1;
		else
			goto usage;
	}
	if (optind + 1 != argc)
		goto usage;

	pcap_t *pc = pcap_open_offline(argv[optind], err);
	if (pc == NULL) {
		fprintf(stderr, "floor: %s\n", err);
		return 1;
	}
	struct pcap_pkthdr *h;
	const u_char *d;
	uint64_t pkts = 0, bytes = 0, acc = 0;
	int r;
	while ((r = pcap_next_ex(pc, &h, &d)) == 1) {
		pkts++;
		bytes += h->caplen;
		acc = touch_headers(d, h->caplen, acc);
		if (all)
			acc = touch_all(d, h->caplen, acc);
	}
	if (r != PCAP_ERROR_BREAK) {
		fprintf(stderr, "floor: %s: %s\n", argv[optind], pcap_geterr(pc));
		pcap_close(pc);
		return 1;
	}
	pcap_close(pc);
	printf("floor(%s): %llu packets, %llu bytes, check %016llx\n",
	    all ? "all bytes" : "headers", (unsigned long long)pkts,
	    (unsigned long long)bytes, (unsigned long long)acc);
	return 0;
usage:
	fprintf(stderr, "usage: floor [-a] FILE.pcap\n");
	return 2;
}
