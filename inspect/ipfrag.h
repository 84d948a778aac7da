/*
 * ipfrag.h - bounded IPv4/IPv6 fragment reassembly for offline input.
 *
 * Inline, the kernel's defragmentation (conntrack) hands NFQUEUE whole
 * datagrams; reading a capture we must do it ourselves. Memory is fixed at
 * ipfrag_new(): a table of at most max_datagrams partial datagrams holding at
 * most max_bytes in all; the oldest partial datagram is evicted to make room.
 * Overlaps are judged as Linux >= 4.19 and RFC 5722 do: a pure duplicate is
 * ignored (first copy stays), a partial overlap drops the whole datagram;
 * both are counted. No I/O; timestamps come from the caller.
 */
#ifndef INSPECT_IPFRAG_H
#define INSPECT_IPFRAG_H

#include <stddef.h>
#include <stdint.h>

#include "pkt.h"

/* IPv4 datagrams are at most 65535 bytes; so are IPv6 ones without jumbograms. */
#define IPFRAG_DATAGRAM_MAX 65535
/* Partial datagrams older than this are dropped (Linux ipfrag_time is 30 s). */
#define IPFRAG_TIMEOUT_US   (30ULL * 1000000ULL)

struct ipfrag;

struct ipfrag_stats {
	uint64_t fragments;      /* fragments pushed */
	uint64_t reassembled;    /* datagrams completed */
	uint64_t evicted;        /* partial datagrams dropped for room */
	uint64_t timed_out;      /* partial datagrams dropped for age */
	uint64_t overlaps;       /* fragments overlapping earlier data */
	uint64_t conflicts;      /* overlaps whose bytes differed */
	uint64_t invalid;        /* fragments past 65535 or otherwise bogus */
};

/* NULL on allocation failure. */
struct ipfrag *ipfrag_new(size_t max_datagrams, size_t max_bytes);
void ipfrag_free(struct ipfrag *t);

/*
 * Push one fragment as described by pkt_decode() (status PKT_FRAGMENT).
 * Returns 1 when the datagram is complete: *out and *outlen then hold a whole IP
 * datagram (header rewritten as unfragmented) valid until the next call;
 * 0 when more fragments are needed (or the fragment was a duplicate); -1
 * when it was refused or killed its datagram (a partial overlap).
 * *conflict is set to 1 when this fragment overlapped earlier bytes with
 * different content.
 */
int ipfrag_push(struct ipfrag *t, const struct pkt *p, uint64_t now_us,
    const uint8_t **out, size_t *outlen, int *conflict);

void ipfrag_get_stats(const struct ipfrag *t, struct ipfrag_stats *st);

#endif
