/*
 * gw_danefetch.h - "starttls-guard dane-fetch": look up DANE (RFC 7672)
 * for mail domains into the cache directory the loader reads
 * (discovery.dane.dir), for cron and scripts. The lookups are
 * resolver/rs_dane.c's (libunbound validating with the trust anchor), the
 * code the resolver process runs; all domains at once.
 */
#ifndef GATEWAY_GW_DANEFETCH_H
#define GATEWAY_GW_DANEFETCH_H

/*
 * starttls-guard dane-fetch [-c FILE] [-d DIR] [--trust-anchor FILE]
 *     [--resolv-conf FILE] DOMAIN...
 * argv[0] is "dane-fetch". One line per domain, in the order given;
 * returns 0 when every domain got an answer (DANE, insecure or none), 1
 * when a lookup failed or was dnssec-invalid, 2 usage.
 */
int gw_danefetch_main(int argc, char **argv);

#endif
