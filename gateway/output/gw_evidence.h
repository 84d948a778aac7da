/*
 * gw_evidence.h - a pcap of each alerted flow's cleartext phase, for the analyst.
 *
 * Each engine owns one writer: a preallocated ring of the packets of flows
 * still in their inspected phase (SYN through the packet being inspected),
 * each stored with its flow_id, timestamp and link type. When an alert
 * fires, that flow's packets still in the ring go to DIR/<flow_id>-<sig>.pcap
 * (classic pcap, written by hand: global header + records), and the
 * directory is kept under max_files / max_bytes by deleting the oldest
 * evidence files. The packet path never allocates and never touches a file;
 * only gw_evidence_alert() does I/O. Not thread-safe: one per engine (the
 * directory may be shared; concurrent pruning tolerates ENOENT).
 */
#ifndef GATEWAY_GW_EVIDENCE_H
#define GATEWAY_GW_EVIDENCE_H

#include <stddef.h>
#include <stdint.h>

/* Smallest ring we accept: one 64 KiB GSO packet must fit with room. */
#define GW_EVIDENCE_RING_MIN     (256u << 10)
#define GW_EVIDENCE_RING_DEFAULT (4u << 20)
#define GW_EVIDENCE_FILES_DEFAULT 1000
#define GW_EVIDENCE_BYTES_DEFAULT (100ull << 20)

struct gw_evidence_conf {
	char     dir[4096];   /* "" = evidence off */
	uint32_t ring_bytes;  /* packet ring per engine */
	uint32_t max_files;   /* evidence files kept at most (0 = no limit) */
	uint64_t max_bytes;   /* their total size at most (0 = no limit) */
};

struct gw_evidence_stats {
	uint64_t written;     /* evidence files written */
	uint64_t failed;      /* could not be written (directory, disk) */
	uint64_t pruned;      /* old files deleted to respect the limits */
	uint64_t packets;     /* packets taken into the ring */
};

struct gw_evidence;

/* NULL with errno on failure (memory). The directory is not checked here:
 * a missing one makes each alert's write fail and count as failed. */
struct gw_evidence *gw_evidence_new(const struct gw_evidence_conf *c);
void gw_evidence_free(struct gw_evidence *ev);

/* Keep one packet (copied; cut to the ring's limit if huge). ev may be NULL. */
void gw_evidence_packet(struct gw_evidence *ev, uint64_t flow_id, uint64_t ts_us,
    int linktype, const uint8_t *frame, size_t caplen);

/* An alert fired for flow_id: write its packets to DIR/<flow_id>-<sig>.pcap
 * and prune the directory. Returns 0, or -1 (counted; errno set). */
int gw_evidence_alert(struct gw_evidence *ev, uint64_t flow_id, const char *sig);

void gw_evidence_get_stats(const struct gw_evidence *ev, struct gw_evidence_stats *st);

/* The LINKTYPE_ value stored in a pcap file for a PKT_LINK_ (DLT) value. */
uint32_t gw_evidence_linktype(int dlt);

#endif
