/*
 * gw_offline.h - run the engine over a pcap or pcapng file.
 *
 * The only place that includes libpcap. Findings go to the EVE writer,
 * one stats event at the end; evidence pcaps of alerted flows and the
 * metrics file when the configuration asks for them. Returns the process exit status: 0 when the
 * file was read to its end, 1 with a message on stderr naming the file
 * otherwise (unreadable, not a capture, truncated).
 */
#ifndef GATEWAY_GW_OFFLINE_H
#define GATEWAY_GW_OFFLINE_H

#include "gw_config.h"
#include "output/gw_eve.h"

/* sl: the syslog tee of eve (NULL = none), for its counters in the
 * metrics file (outputs.metrics.file, written at the end of the run). */
struct gw_syslog;
int gw_offline_run(const struct gw_config *c, const char *pcap_path, struct eve *eve,
    struct gw_syslog *sl);

#endif
