/*
 * gw_engine.h - the one inspection pipeline both drivers run.
 *
 * packet bytes -> decode -> flow -> reassembled stream -> SMTP/TLS events ->
 * policy decision -> verdict + EVE lines. The offline pcap driver and each
 * NFQUEUE thread own one engine; an engine is not shared between threads.
 * The engine itself does no I/O but through the EVE writer it was given,
 * and takes its clock from the caller, so offline replays are exact.
 */
#ifndef GATEWAY_GW_ENGINE_H
#define GATEWAY_GW_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "../inspect/finding.h"
#include "../inspect/flow.h"
#include "../inspect/pkt.h"
#include "../policy/pol.h"
#include "output/gw_stats.h"

struct eve;

#define GW_PORTS_MAX 8

struct gw_engine_conf {
	uint16_t ports[GW_PORTS_MAX];  /* server ports inspected (25, 587) */
	unsigned nports;
	uint32_t max_flows;            /* flow table size */
	uint32_t pool_chunks;          /* reassembly chunks (TCP_CHUNK_DATA bytes each) */
	uint32_t idle_timeout_s;       /* forget a silent decided (or midstream) flow after this */
	uint32_t inspect_timeout_s;    /* forget a silent flow still being inspected after this:
	                                  beyond the MTAs' own reply timeouts (sendmail waits an
	                                  hour), so a held reply cannot outwait the gateway */
	uint32_t fallback_window_s;    /* tls_fallback: plaintext retry within this after a TLS failure */
	uint32_t fallback_entries;     /* client/server pairs remembered for that */
	uint32_t names_entries;        /* addresses whose MX name is remembered (DNS) */
	uint32_t pins_max;             /* learned pins kept at most */
	uint32_t pins_max_age;         /* seconds a pin lasts after its last TLS session */
	uint8_t  pins_mode;            /* enum pol_mode for servers matched only by a pin */
	uint8_t  learn_dns;            /* learn address -> MX name from DNS answers */
	uint8_t  midstream_lost;       /* a connection picked up without its SYN is given up as
	                                  lost (policy decides), not passed: strict, or a capture
	                                  that starts at a restart of the gateway */
	uint32_t hs_buffers;           /* TLS handshake buffers (HSBUF_SIZE each) shared by the
	                                  flows in their handshake; 0 = follow record headers only */
};

/* Learned pins: a month, like DESIGN.md's example; 100k servers. */
#define GW_PINS_MAX_AGE_DEFAULT 2592000
#define GW_PINS_MAX_DEFAULT     100000
#define GW_NAMES_DEFAULT        16384
#define GW_HS_BUFFERS_DEFAULT   64
/* Idle limits: decided flows are only remembered to pass them cheaply
 * (inline the connmark already bypasses them); a flow being inspected
 * is kept two hours, beyond sendmail's one-hour Timeout.starttls and
 * Timeout.rcpt (the longest default reply timeouts among the common MTAs). */
#define GW_IDLE_TIMEOUT_DEFAULT    600
#define GW_INSPECT_TIMEOUT_DEFAULT 7200

/* Fill conf with built-in defaults (port 25, 65536 flows, ...). */
void gw_engine_conf_default(struct gw_engine_conf *c);

/* pol may be swapped later with gw_engine_set_policy(); the engine keeps
 * the pointer, not a copy. eve may be NULL (count only). */
struct gw_engine *gw_engine_new(const struct gw_engine_conf *c,
    const struct pol *pol, struct eve *eve, uint64_t seed);
void gw_engine_free(struct gw_engine *e);
void gw_engine_set_policy(struct gw_engine *e, const struct pol *pol);

/* Share one memory of recent TLS failures between engines (inline threads:
 * NFQUEUE balances connections, not address pairs). The engine drops its
 * own table; fb must outlive it. */
struct gw_fallback;
void gw_engine_set_fallback(struct gw_engine *e, struct gw_fallback *fb);

/* Share what is learned at run time between engines: the MX names of
 * addresses (DNS) and the pins. The engine drops its own names table; it
 * has no pins until given some (the driver owns the pins file). Either may
 * be NULL to keep the current one. Both must outlive the engine. */
struct gw_names;
struct gw_pins;
void gw_engine_set_learned(struct gw_engine *e, struct gw_names *names, struct gw_pins *pins);

/* Hand what this engine learns (pins, TLS failures; MX names go through
 * gw_names_set_tap) to q for the cluster sync thread. NULL = off. Shared
 * by the engines; must outlive them. */
struct gw_clq;
void gw_engine_set_cluster(struct gw_engine *e, struct gw_clq *q);

/* Trust anchors for certificate checks (gw_x509.h); NULL = certificates
 * are reported as not checked. Shared read-only; must outlive the engine. */
struct gw_x509_store;
void gw_engine_set_x509(struct gw_engine *e, const struct gw_x509_store *st);

/* Evidence pcaps (gw_evidence.h): packets of flows in their inspected
 * phase go to ev's ring, and each alert writes its flow's pcap. NULL = off.
 * Not shared between engines; must outlive the engine. */
struct gw_evidence;
void gw_engine_set_evidence(struct gw_engine *e, struct gw_evidence *ev);

/*
 * Inspect one frame (linktype: PKT_LINK_*; inline it is PKT_LINK_RAW).
 * ts_us: capture or arrival time. When the verdict is GW_V_BLOCK, *p holds
 * the decoded offending packet so the driver can forge the RSTs; p may be
 * NULL when the driver does not need it.
 */
enum gw_verdict gw_engine_packet(struct gw_engine *e, int linktype,
    const uint8_t *frame, size_t caplen, uint64_t ts_us, struct pkt *p);

/* Inline: what the kernel knows of a datagram's connection (ct, in) and
 * what the driver must do beyond the verdict (*out). */
#define GW_CT_INSPECTING  0x01 /* in: the connection carries the "being inspected" mark,
                                  written when its inspection started (GW_OUT_INSPECTING) */
#define GW_CT_CSUM_OK     0x02 /* in: the kernel verified the TCP checksum, or will fill it in
                                  (NFQA_SKB_INFO); clear: the engine checks it */
#define GW_OUT_REWRITTEN  0x01 /* out: the datagram was changed in place */
#define GW_OUT_INSPECTING 0x02 /* out: inspection of this connection starts: mark it
                                  "being inspected" (kept by conntrack across a restart) */

/*
 * Inline: as gw_engine_packet() on a raw IP datagram the caller will
 * forward, which may change it. A segment with a wrong checksum (not
 * GW_CT_CSUM_OK, and wrong when checked here) is never inspected inline,
 * its receiver drops it: nothing is learnt about offloading, as offline
 * (tcp_trust.h). A segment that repeats inspected bytes
 * with different ones (an overlap or retransmission attack) is rewritten
 * in place to the first copy, TCP checksum recomputed, and GW_OUT_REWRITTEN
 * set: forwarded with a pass verdict (ACCEPT, BYPASS), the receiver then
 * gets exactly the stream that was inspected; a dropped one goes nowhere.
 * A packet without a flow whose connection is GW_CT_INSPECTING was being
 * inspected when its state went away (idle expiry, eviction, a restart of
 * the daemon): it is given up as lost (blocked under enforce), never taken
 * for a new midstream connection.
 */
enum gw_verdict gw_engine_packet_inline(struct gw_engine *e, uint8_t *ip, size_t len,
    uint64_t ts_us, unsigned ct, struct pkt *p, unsigned *out);

/* Expire flows idle longer than their limit (inspect_timeout_s while being
 * inspected, idle_timeout_s once settled); call now and then. */
void gw_engine_expire(struct gw_engine *e, uint64_t now_us);

/* End of input: finish every flow (flow events), as if all ended now. */
void gw_engine_flush(struct gw_engine *e, uint64_t now_us);

void gw_engine_get_stats(const struct gw_engine *e, struct gw_stats *st);


#endif
