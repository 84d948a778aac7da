/*
 * gw_stats.h - the counters an inspection engine keeps, and its verdicts:
 * what the outputs (EVE stats events, the metrics file) are given.
 *
 * Plain data: the engine fills a struct gw_stats (gw_engine_get_stats),
 * the drivers sum them over the queues, the outputs print them. Outputs
 * include this header, never gw_engine.h.
 */
#ifndef GATEWAY_OUTPUT_GW_STATS_H
#define GATEWAY_OUTPUT_GW_STATS_H

#include <stdint.h>

#include "../../inspect/finding.h"
#include "../../inspect/flow.h"
#include "../../policy/pol_types.h"

enum gw_verdict {
	GW_V_ACCEPT = 0,   /* pass; keep queueing the connection */
	GW_V_BYPASS,       /* pass; the connection is decided: mark it so the kernel stops queueing */
	GW_V_DROP,         /* drop this packet (flow already blocked) */
	GW_V_BLOCK,        /* drop this packet and send RST to both ends */
	GW_V_COUNT
};
/* Their names, as stats keys and metric labels. */
extern const char *const gw_verdict_names[GW_V_COUNT];
/* The name of v, "?" when out of range. */
const char *gw_verdict_name(enum gw_verdict v);

/* Sessions summarised (EVE flow events) by their flow.verdict; a verdict
 * name not listed here counts as "other" (gw_session_names). */
enum gw_session {
	GW_S_TLS = 0, GW_S_PLAINTEXT, GW_S_BLOCKED, GW_S_TLS_FAILED,
	GW_S_NOT_INSPECTED, GW_S_INCOMPLETE, GW_S_OTHER, GW_S_COUNT
};
extern const char *const gw_session_names[GW_S_COUNT];

struct gw_stats {
	uint64_t packets;                 /* handed to the engine */
	uint64_t bytes;                   /* their captured length */
	uint64_t decode[8];               /* by enum pkt_status */
	uint64_t not_monitored;           /* TCP, but no inspected port */
	uint64_t midstream;               /* flows picked up without a handshake */
	uint64_t lost;                    /* later packets of connections whose inspection state
	                                     was lost (expired, evicted, restart): given up */
	uint64_t gave_up;                 /* flows given up before their decision (any reason) */
	uint64_t reused;                  /* new SYNs on the 4-tuple of a settled flow: new flows */
	uint64_t expired_inspecting;      /* flows expired while being inspected */
	uint64_t verdicts[GW_V_COUNT];    /* by enum gw_verdict */
	uint64_t findings[SIG_COUNT];     /* alerts written, by signature */
	uint64_t findings_blocked[SIG_COUNT]; /* of those, with action blocked */
	uint64_t suppressed;              /* findings not written because of mode none */
	uint64_t flows_tls, flows_plain, flows_lost; /* decisions */
	uint64_t frag_reassembled, frag_refused;
	uint64_t dns_answers;             /* DNS answers read for MX names */
	uint64_t bad_checksum;            /* segments of inspected flows with a wrong TCP checksum (inline ignored, offline held until acknowledged) */
	uint64_t bad_rst;                 /* RST/FIN ignored: not at the expected sequence (RFC 5961) */
	uint64_t urgent;                  /* urgent bytes removed from inspected streams */
	uint64_t insert_dropped;          /* segments the receiver would drop (no ACK, ACK of unsent
	                                     bytes, TCP-MD5/AO without a key): not inspected, dropped */
	uint64_t ttl_raised;              /* segments whose TTL was below their sender's: raised inline */
	uint64_t rewritten;               /* inline: segments forwarded with their first copy's bytes */
	uint64_t hist_reclaimed;          /* history chunks taken back from idle directions (pool dry) */
	uint64_t evicted_inspecting;      /* flows evicted mid-inspection (table full of them) */
	uint64_t tls_versions[5];         /* decided TLS sessions by version: SSLv3, 1.0 .. 1.3 */
	uint64_t certs_checked;           /* server certificates checked */
	uint64_t hs_exhausted;            /* handshakes followed without their messages (no buffer) */
	uint64_t pins_learned;            /* TLS sessions that (re)pinned their server */
	uint64_t policy_by[POL_SRC_COUNT];            /* flows by the source of their policy (enum pol_source) */
	uint64_t sessions[GW_S_COUNT];    /* flow events by verdict (enum gw_session) */
	struct flow_stats flow;
	struct tcp_pool_stats pool;
};

#endif
