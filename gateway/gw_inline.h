/*
 * gw_inline.h - the inline daemon: NFQUEUE threads, signals, reload, privileges.
 *
 * One engine per queue thread (nfq/), policy swapped atomically on SIGHUP
 * (a broken new config is refused with a log line and the old stays),
 * SIGUSR1 writes a stats event, SIGTERM/SIGINT exit cleanly; the metrics
 * file is rewritten every outputs.metrics.interval seconds. Returns the
 * process exit status.
 */
#ifndef GATEWAY_GW_INLINE_H
#define GATEWAY_GW_INLINE_H

#include "gw_config.h"
#include "output/gw_eve.h"

/* config_path may be NULL (defaults; SIGHUP then only reopens the EVE file).
 * c is owned by the daemon from here on. sl: eve's syslog tee, NULL = none
 * (told when the sandbox forbids new sockets; its counters go to the
 * metrics file, outputs.metrics). evr: eve's Redis tee, NULL = none (its
 * counters go to the metrics file too). */
struct gw_syslog;
struct gw_eve_redis;
int gw_inline_run(const char *config_path, struct gw_config *c,
    unsigned qfirst, unsigned qlast, struct eve *eve, struct gw_syslog *sl,
    struct gw_eve_redis *evr);

#endif
