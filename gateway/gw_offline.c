/*
 * gw_offline.c - replay a pcap or pcapng file through the engine.
 *
 * The only file that includes libpcap. Packets go to the very engine the
 * inline daemon runs, with the capture's timestamps as the clock, so a
 * replay reports what the gateway would have done. Whatever happens to the
 * file (truncated, corrupt record, unsupported link type), findings seen so
 * far are flushed and a stats event is written before the error is returned:
 * the caller must close the EVE writer afterwards, this file does not.
 */
#include <pcap/pcap.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "gw_engine.h"
#include "output/gw_evidence.h"
#include "output/gw_log.h"
#include "output/gw_metrics.h"
#include "gw_offline.h"
#include "gw_pins.h"
#include "gw_x509.h"

/* A fixed hash seed: offline replays must be reproducible line for line. */
#define GW_OFFLINE_SEED 0x5354472d6f66666cULL   /* "STG-offl" */
/* Expire idle flows when the capture clock has moved on this much. */
#define GW_OFFLINE_EXPIRE_US 1000000ULL

/* Is this link type one pkt_decode() reads? */
static int
link_supported(int dlt)
{
	switch (dlt) {
	case PKT_LINK_NULL:
	case PKT_LINK_ETHER:
	case PKT_LINK_RAW:
	case PKT_LINK_RAW_BSD:
	case PKT_LINK_RAW_LT:
	case PKT_LINK_LOOP:
	case PKT_LINK_SLL:
	case PKT_LINK_IPV4:
	case PKT_LINK_IPV6:
	case PKT_LINK_SLL2:
		return 1;
	}
	return 0;
}

/* Microseconds since the epoch of a record header (negative times -> 0). */
static uint64_t
hdr_ts_us(const struct pcap_pkthdr *h)
{
	if (h->ts.tv_sec < 0 || h->ts.tv_usec < 0)
		return 0;
	return (uint64_t)h->ts.tv_sec * 1000000ULL + (uint64_t)h->ts.tv_usec % 1000000ULL;
}

int
gw_offline_run(const struct gw_config *c, const char *pcap_path, struct eve *eve,
    struct gw_syslog *sl)
{
	struct gw_evidence *evid = NULL;
	const uint64_t start_us = (uint64_t)time(NULL) * 1000000u;
	char errbuf[PCAP_ERRBUF_SIZE];
	char perr[GW_PATH_MAX + 256];
	struct gw_engine *e;
	struct gw_pins *pins;
	struct gw_x509_store *x509 = NULL;
	struct gw_stats st;
	pcap_t *pc;
	int dlt, rc = 0, r;
	uint64_t npkt = 0, ts = 0, last_ts = 0, last_expire = 0;

	errbuf[0] = '\0';
	/* Nanosecond pcap and pcapng files are scaled to microseconds by libpcap. */
	pc = pcap_open_offline_with_tstamp_precision(pcap_path,
	    PCAP_TSTAMP_PRECISION_MICRO, errbuf);
	if (pc == NULL) {
		const char *why = errbuf[0] ? errbuf : "unknown error";
		size_t plen = strlen(pcap_path);

		/* libpcap names the file itself for open(2) errors */
		if (strncmp(why, pcap_path, plen) == 0 && strncmp(why + plen, ": ", 2) == 0)
			why += plen + 2;
		log_errx("%s: cannot read capture: %s", pcap_path, why);
		return 1;
	}
	dlt = pcap_datalink(pc);
	if (!link_supported(dlt)) {
		const char *name = pcap_datalink_val_to_name(dlt);

		log_errx("%s: link type %s (%d) is not supported "
		    "(Ethernet, raw IP, Linux cooked v1/v2, loopback are)",
		    pcap_path, name ? name : "unknown", dlt);
		pcap_close(pc);
		return 1;
	}
	e = gw_engine_new(&c->engine, c->pol, eve, GW_OFFLINE_SEED);
	pins = gw_pins_new(c->engine.pins_max, c->pins_file, (uint32_t)GW_OFFLINE_SEED);
	if (e == NULL || pins == NULL) {
		log_errx("%s: cannot create the engine (out of memory?)", pcap_path);
		gw_engine_free(e);
		gw_pins_free(pins);
		pcap_close(pc);
		return 1;
	}
	/* Pins learned by earlier runs apply, and this run's are kept for the
	 * next: a capture replays like the same stretch of a live gateway. */
	if (gw_pins_load(pins, perr, sizeof(perr)) == -1)
		log_warnx("%s (starting without pins)", perr);
	gw_engine_set_learned(e, NULL, pins);
	/* Certificates are checked against policy.ca_file; without it, against
	 * the system store only where domain policies (with MX patterns) ask. */
	if (c->ca_file[0] != '\0' || pol_has_domains(c->pol)) {
		x509 = gw_x509_store_new(c->ca_file[0] ? c->ca_file : NULL, perr, sizeof(perr));
		if (x509 == NULL)
			log_warnx("%s (certificates will not be checked)", perr);
		gw_engine_set_x509(e, x509);
	}

	/* Evidence keeps the capture's own link type. */
	if (c->evidence.dir[0] != '\0') {
		if ((evid = gw_evidence_new(&c->evidence)) == NULL)
			log_warnx("%s: no memory for the evidence ring (evidence off)", pcap_path);
		gw_engine_set_evidence(e, evid);
	}

	for (;;) {
		struct pcap_pkthdr *h;
		const u_char *data;

		r = pcap_next_ex(pc, &h, &data);
		if (r == PCAP_ERROR_BREAK)
			break;                    /* end of file */
		if (r != 1) {
			/* Truncated or corrupt record: report it, keep what we saw. */
			log_errx("%s: packet %llu: %s", pcap_path,
			    (unsigned long long)npkt + 1, pcap_geterr(pc));
			rc = 1;
			break;
		}
		npkt++;
		ts = hdr_ts_us(h);
		gw_engine_packet(e, dlt, data, h->caplen, ts, NULL);
		if (ts > last_ts)
			last_ts = ts;
		if (last_ts - last_expire >= GW_OFFLINE_EXPIRE_US) {
			gw_engine_expire(e, last_ts);
			last_expire = last_ts;
		}
	}

	gw_engine_flush(e, last_ts);
	gw_engine_get_stats(e, &st);
	eve_stats(eve, last_ts, &st);
	gw_engine_free(e);
	if (evid != NULL) {
		struct gw_evidence_stats es;

		gw_evidence_get_stats(evid, &es);
		if (es.failed > 0)
			log_warnx("%s: %llu evidence pcap%s could not be written", c->evidence.dir,
			    (unsigned long long)es.failed, es.failed == 1 ? "" : "s");
	}
	if (c->metrics_file[0] != '\0') {
		struct gw_evidence_stats es;
		struct gw_syslog_stats ss;
		struct gw_metrics_in mi;

		memset(&mi, 0, sizeof(mi));
		gw_evidence_get_stats(evid, &es);
		gw_syslog_get_stats(sl, &ss);
		mi.mode = "offline";
		mi.st = &st;
		mi.evid = evid ? &es : NULL;
		mi.sl = sl ? &ss : NULL;
		gw_config_metrics(c, &mi.cfg);
		mi.pins = gw_pins_count(pins);
		mi.start_us = start_us;
		mi.now_us = (uint64_t)time(NULL) * 1000000u;
		mi.proc_fd = -1;
		if (gw_metrics_write(c->metrics_file, &mi) == -1) {
			log_err("%s: cannot write the metrics file", c->metrics_file);
			rc = 1;
		}
	}
	gw_evidence_free(evid);
	gw_x509_store_free(x509);
	if (gw_pins_save(pins, perr, sizeof(perr)) == -1)
		log_warnx("%s", perr);
	gw_pins_free(pins);
	pcap_close(pc);
	return rc;
}
