/*
 * gw_report.h - `starttls-guard report`: RFC 8460 (SMTP TLS Reporting)
 * aggregate reports built from the gateway's own EVE output.
 *
 *   starttls-guard report [-o DIR] [--org NAME] [--contact ADDR] EVE_FILE
 *
 * Reads EVE JSON lines (EVE_FILE "-" = standard input), counts sessions per
 * policy domain and UTC day, and writes one report per (domain, day) as
 * DIR/<domain>_<YYYY-MM-DD>.json. A session (flow_id + addresses + ports)
 * fails when it has an alert: its first alert gives the failure detail
 * (alert.tlsrpt as result-type, the signature as failure-reason-code);
 * it succeeds when its flow event says verdict "tls" and no alert came.
 * inspection_limit alerts are not failures of the receiving domain and
 * are not counted. Domain: policy.domain, else policy.match, else dest_ip.
 * Exit status: 0, 1 bad input or output, 2 usage.
 */
#ifndef GATEWAY_GW_REPORT_H
#define GATEWAY_GW_REPORT_H

/* argv[0] is "report"; the options and the file follow. */
int gw_report_main(int argc, char **argv);

#endif
