/*
 * gw_stsfetch.h - "starttls-guard sts-fetch": discover MTA-STS policies
 * (RFC 8461) into the cache directory that gw_polsrc.c reads, for cron and
 * scripts. The network work is resolver/rs_net.c's (libunbound, libcurl),
 * the same code the resolver process runs; all domains are discovered at
 * once. Per domain: the _mta-sts TXT record, then, unless the cached
 * policy has the same id and has not expired, the policy over HTTPS,
 * written atomically (gw_stscache.h).
 */
#ifndef GATEWAY_GW_STSFETCH_H
#define GATEWAY_GW_STSFETCH_H

/*
 * starttls-guard sts-fetch [-c FILE] [-d DIR] [--ca-file FILE] DOMAIN...
 * argv[0] is "sts-fetch". One line per domain, in the order given; returns
 * the exit status: 0 when every domain was fetched or unchanged, 1
 * otherwise, 2 usage.
 */
int gw_stsfetch_main(int argc, char **argv);

#endif
