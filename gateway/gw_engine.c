/*
 * gw_engine.c - packet bytes -> decode -> flow -> stream -> SMTP/TLS ->
 * policy -> verdict + EVE lines (see gw_engine.h and doc/detection.md).
 *
 * Everything per packet works in memory fixed at gw_engine_new(): the flow
 * table, the reassembly pool, the fragment table. A flow is inspected from
 * its SYN until the SMTP machine decides it (TLS confirmed, plaintext mail
 * transaction, or not followable) or it is blocked; then its reassembly
 * memory is returned and every later packet costs one lookup.
 */
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <stdio.h>

#include "../inspect/ipfrag.h"
#include "gw_engine.h"
#include "gw_eve.h"
#include "gw_fallback.h"
#include "gw_names.h"
#include "gw_pins.h"

/* Flows expired per packet at most, so one packet never pays for many. */
#define GW_EXPIRE_PER_PACKET 8
/* Offline fragment reassembly budget. */
#define GW_FRAG_DATAGRAMS 256
#define GW_FRAG_BYTES     (4u << 20)

struct gw_engine {
	struct gw_engine_conf conf;   /* copy of the settings */
	const struct pol     *pol;    /* current policy (not owned) */
	struct eve           *eve;    /* where events go (not owned), may be NULL */
	struct flow_table    *ft;     /* tracked connections */
	struct tcp_pool      *pool;   /* reassembly chunks */
	struct ipfrag        *frag;   /* fragment reassembly, made at the first fragment (inline
	                                 the kernel reassembles, so it never is) */
	struct gw_fallback   *fb;     /* recent TLS failures */
	int                   own_fb; /* fb is ours to free */
	struct gw_names      *names;  /* address -> MX name, learned from DNS */
	int                   own_names; /* names is ours to free */
	struct gw_pins       *pins;   /* learned pins (not owned), NULL = none */
	struct gw_stats       st;     /* counters */
};

/* What the deliver callback needs to reach the SMTP machine. */
struct gw_deliver {
	struct flow     *f;
	int              dir;
	struct smtp_out *out;
};

void
gw_engine_conf_default(struct gw_engine_conf *c)
{
	memset(c, 0, sizeof(*c));
	c->ports[0] = 25;
	c->nports = 1;
	c->max_flows = 65536;
	c->pool_chunks = 4096;
	c->idle_timeout_s = 600;
	c->fallback_window_s = 300;
	c->fallback_entries = 4096;
	c->names_entries = GW_NAMES_DEFAULT;
	c->pins_max = GW_PINS_MAX_DEFAULT;
	c->pins_max_age = GW_PINS_MAX_AGE_DEFAULT;
	c->pins_mode = POL_MODE_TESTING;
	c->learn_dns = 1;
}

struct gw_engine *
gw_engine_new(const struct gw_engine_conf *c, const struct pol *pol, struct eve *eve,
    uint64_t seed)
{
	struct gw_engine *e = calloc(1, sizeof(*e));

	if (e == NULL)
		return NULL;
	e->conf = *c;
	e->pol = pol;
	e->eve = eve;
	e->ft = flow_table_new(c->max_flows, seed);
	e->pool = tcp_pool_new(c->pool_chunks);
	e->fb = gw_fallback_new(c->fallback_entries, seed ^ 0xfb);
	e->own_fb = 1;
	e->names = gw_names_new(c->names_entries ? c->names_entries : 1, seed ^ 0x4e);
	e->own_names = 1;
	if (e->ft == NULL || e->pool == NULL || e->fb == NULL || e->names == NULL) {
		gw_engine_free(e);
		return NULL;
	}
	return e;
}

void
gw_engine_free(struct gw_engine *e)
{
	if (e == NULL)
		return;
	flow_table_free(e->ft);
	tcp_pool_free(e->pool);
	ipfrag_free(e->frag);
	if (e->own_fb)
		gw_fallback_free(e->fb);
	if (e->own_names)
		gw_names_free(e->names);
	free(e);
}

void
gw_engine_set_policy(struct gw_engine *e, const struct pol *pol)
{
	e->pol = pol;
}

void
gw_engine_set_fallback(struct gw_engine *e, struct gw_fallback *fb)
{
	if (e->own_fb)
		gw_fallback_free(e->fb);
	e->fb = fb;
	e->own_fb = 0;
}

void
gw_engine_set_learned(struct gw_engine *e, struct gw_names *names, struct gw_pins *pins)
{
	if (names != NULL) {
		if (e->own_names)
			gw_names_free(e->names);
		e->names = names;
		e->own_names = 0;
	}
	if (pins != NULL)
		e->pins = pins;
}

/* Is port one of the inspected server ports? */
static int
port_inspected(const struct gw_engine *e, uint16_t port)
{
	for (unsigned i = 0; i < e->conf.nports; i++)
		if (e->conf.ports[i] == port)
			return 1;
	return 0;
}

/* The match of a pinned server, for alerts. */
static void
pin_match(const struct gw_engine *e, const struct flow *f, struct pol_match *pm)
{
	char addr[INET6_ADDRSTRLEN];

	pol_lookup_addr(e->pol, 0, NULL, pm); /* the default's min_tls */
	pm->mode = (enum pol_mode)e->conf.pins_mode;
	pm->source = POL_SRC_PIN;
	inet_ntop(f->key.af == 4 ? AF_INET : AF_INET6, f->key.saddr.a, addr, sizeof(addr));
	snprintf(pm->match, sizeof(pm->match), "%s", addr);
}

/* The policy in force for a flow, as resolved and stored in it. */
static void
flow_policy(const struct gw_engine *e, const struct flow *f, struct pol_match *pm)
{
	int64_t now_s = (int64_t)(f->start_us / 1000000);

	if (f->pol_source == POL_SRC_PIN) {
		pin_match(e, f, pm);
		return;
	}
	if (f->pol_ref != POL_REF_NONE && pol_match_from_ref(e->pol, f->pol_ref, now_s, pm))
		return;
	pol_lookup_addr(e->pol, f->key.af, &f->key.saddr, pm);
}

/* Is policy b a stronger expectation than a? (Names the server gives
 * itself may raise an expectation, never lower one.) */
static int
stronger(const struct pol_match *a, const struct pol_match *b)
{
	int ea = pol_expects_tls(a), eb = pol_expects_tls(b);

	return (eb && !ea) || (eb == ea && b->mode > a->mode);
}

/* Make pm the flow's policy. */
static void
flow_adopt(struct flow *f, const struct pol_match *pm, uint32_t ref)
{
	f->pol_source = (uint8_t)pm->source;
	f->pol_ref = ref;
	f->mode = (uint8_t)pm->mode;
	if (pol_expects_tls(pm))
		f->smtp.flags |= SMTP_F_EXPECT;
	else
		f->smtp.flags &= (uint16_t)~SMTP_F_EXPECT;
}

/* Resolve a new flow's policy, most specific first: address rule, domain
 * policy through the MX name its address was looked up as, learned pin,
 * default. While nothing but the default (or a pin) matched and domain
 * policies exist, the recipient domain may still decide: defer. */
static void
flow_resolve(struct gw_engine *e, struct flow *f, uint64_t ts_us)
{
	int64_t now_s = (int64_t)(ts_us / 1000000);
	uint32_t ref = POL_REF_NONE;
	struct pol_match pm, dm;
	char mx[GW_NAMES_NAME_MAX + 1];

	pol_lookup_addr(e->pol, f->key.af, &f->key.saddr, &pm);
	if (pm.source == POL_SRC_DEFAULT) {
		if (pol_has_domains(e->pol) &&
		    gw_names_get(e->names, f->key.af, &f->key.saddr, ts_us, mx, sizeof(mx)) &&
		    pol_lookup_mx(e->pol, mx, now_s, &dm, &ref))
			pm = dm;
		else if (e->pins != NULL && gw_pins_lookup(e->pins, f->key.af, &f->key.saddr,
		    now_s, e->conf.pins_max_age, NULL))
			pin_match(e, f, &pm);
	}
	flow_adopt(f, &pm, ref);
	if ((pm.source == POL_SRC_DEFAULT || pm.source == POL_SRC_PIN) && pol_has_domains(e->pol))
		f->smtp.flags |= SMTP_F_DEFER;
	e->st.policy_by[(unsigned)pm.source < 5 ? pm.source : 0]++;
}

/* Once the greeting is in: a server calling itself by an MX name that a
 * domain policy lists raises the expectation (never lowers it). */
static void
flow_banner_policy(struct gw_engine *e, struct flow *f, uint64_t ts_us)
{
	char name[SMTP_BANNER_MAX + 1];
	struct pol_match cur, pm;
	uint32_t ref;
	size_t n = 0;

	f->flags |= FLOW_F_BANNER;
	if ((f->pol_source != POL_SRC_DEFAULT && f->pol_source != POL_SRC_PIN) ||
	    !pol_has_domains(e->pol))
		return;
	while (n < f->smtp.banner_len && f->smtp.banner[n] != ' ' && f->smtp.banner[n] != '\t')
		n++;
	if (n == 0 || n == f->smtp.banner_len)
		return; /* no name, or one cut by the banner limit: not trusted */
	memcpy(name, f->smtp.banner, n);
	name[n] = '\0';
	flow_policy(e, f, &cur);
	if (pol_lookup_mx(e->pol, name, (int64_t)(ts_us / 1000000), &pm, &ref) &&
	    stronger(&cur, &pm))
		flow_adopt(f, &pm, ref);
}

/* Decided plaintext at the first RCPT: its domain's policy, if any, is
 * more specific than a pin or the default, and decides the finding. */
static void
flow_rcpt_policy(struct gw_engine *e, struct flow *f, uint64_t ts_us, struct smtp_out *out)
{
	struct pol_match pm;
	uint32_t ref;

	if ((f->smtp.flags & SMTP_F_RCPT) &&
	    pol_lookup_domain_hash(e->pol, f->smtp.rcpt_hash, (int64_t)(ts_us / 1000000), &pm, &ref))
		flow_adopt(f, &pm, ref);
	smtp_plain_findings(&f->smtp, out);
}

/* Write the flow summary once, with the verdict it ended in. */
static void
flow_report(struct gw_engine *e, struct flow *f, const char *verdict, uint64_t ts_us)
{
	struct pol_match pm;

	if ((f->flags & FLOW_F_REPORTED) || f->state == FLOW_ST_MIDSTREAM ||
	    (f->bytes[0] == 0 && f->bytes[1] == 0))
		return;
	f->flags |= FLOW_F_REPORTED;
	if (e->eve) {
		flow_policy(e, f, &pm);
		eve_flow(e->eve, ts_us, f, verdict, &pm);
	}
}

/* The verdict name of a decided flow for its summary. */
static const char *
decided_verdict(const struct flow *f)
{
	switch (f->smtp.phase) {
	case SMTP_PH_TLS:
		return "tls";
	case SMTP_PH_PLAIN:
		return "plaintext";
	case SMTP_PH_LOST:
		return (f->smtp.raised & (1u << SIG_TLS_HANDSHAKE_FAILED)) ? "tls_failed" :
		    "not_inspected";
	default:
		return "incomplete";
	}
}

/* Inspection of a flow is over: give its reassembly memory back. */
static void
flow_settle(struct gw_engine *e, struct flow *f, uint8_t state)
{
	f->state = state;
	tcp_half_release(e->pool, &f->half[0]);
	tcp_half_release(e->pool, &f->half[1]);
}

/* Forget a flow, writing its summary if it never got one. */
static void
flow_finish(struct gw_engine *e, struct flow *f, int why, uint64_t ts_us)
{
	if (f->state == FLOW_ST_SYN || f->state == FLOW_ST_INSPECT)
		flow_report(e, f, "incomplete", ts_us);
	flow_settle(e, f, f->state);
	flow_remove(e->ft, f, why);
}

/* Make room for one more flow. */
static void
evict_oldest(struct gw_engine *e, uint64_t ts_us)
{
	struct flow *old = flow_oldest(e->ft);

	if (old)
		flow_finish(e, old, FLOW_REMOVE_EVICTED, ts_us);
}

/* Expire at most max idle flows, oldest first. */
static void
expire_some(struct gw_engine *e, uint64_t now_us, unsigned max)
{
	uint32_t now_s = (uint32_t)(now_us / 1000000);
	struct flow *f;

	while (max-- > 0 && (f = flow_oldest(e->ft)) != NULL &&
	    now_s > f->last_sec && now_s - f->last_sec > e->conf.idle_timeout_s)
		flow_finish(e, f, FLOW_REMOVE_EXPIRED, now_us);
}

void
gw_engine_expire(struct gw_engine *e, uint64_t now_us)
{
	expire_some(e, now_us, UINT32_MAX);
}

/* Reassembled bytes of one direction go to the SMTP machine. */
static int
deliver(void *ctx, const uint8_t *data, size_t len)
{
	struct gw_deliver *d = ctx;

	return smtp_push(&d->f->smtp, d->dir, data, len, d->out);
}

/* New flow from a SYN: orient it and note what policy and history expect. */
static struct flow *
flow_start(struct gw_engine *e, const struct pkt *p, uint64_t ts_us)
{
	struct flow *f;

	if (flow_table_full(e->ft))
		evict_oldest(e, ts_us);
	if ((f = flow_create(e->ft, p, ts_us)) == NULL)
		return NULL;
	f->state = FLOW_ST_SYN;
	tcp_half_init(&f->half[FLOW_TO_SERVER], p->seq + 1);
	f->half[FLOW_TO_CLIENT].flags = 0; /* ISN unknown until the SYN-ACK */
	flow_resolve(e, f, ts_us);
	if (gw_fallback_recent(e->fb, p->af, &p->src, &p->dst, ts_us, e->conf.fallback_window_s))
		f->smtp.flags |= SMTP_F_RECENT_FAIL;
	return f;
}

/* Midstream pickup: remember the connection only to pass it cheaply. */
static void
flow_midstream(struct gw_engine *e, struct pkt *p, uint64_t ts_us)
{
	struct pkt rev;
	struct flow *f;

	if (flow_table_full(e->ft))
		evict_oldest(e, ts_us);
	if (port_inspected(e, p->dport)) {
		f = flow_create(e->ft, p, ts_us);
	} else {
		/* A server-to-client packet: orient with the server as server. */
		rev = *p;
		rev.src = p->dst;
		rev.dst = p->src;
		rev.sport = p->dport;
		rev.dport = p->sport;
		f = flow_create(e->ft, &rev, ts_us);
	}
	if (f) {
		f->pol_ref = POL_REF_NONE;
		f->state = FLOW_ST_MIDSTREAM;
		e->st.midstream++;
	}
}

/* Turn the findings of this packet into alerts; returns 1 to block. */
static int
handle_findings(struct gw_engine *e, struct flow *f, const struct smtp_out *out,
    uint64_t ts_us)
{
	struct pol_match pm;
	int block = 0;

	if (out->n == 0)
		return 0;
	flow_policy(e, f, &pm);
	for (unsigned i = 0; i < out->n; i++) {
		enum sig s = out->f[i].sig;
		int sev = sig_severity(s), blocked;

		if (s == SIG_TLS_HANDSHAKE_FAILED)
			gw_fallback_note(e->fb, f->key.af, &f->key.caddr, &f->key.saddr, ts_us);
		if (pm.mode == POL_MODE_NONE && sev >= 2) {
			e->st.suppressed++;
			continue;
		}
		blocked = pm.mode == POL_MODE_ENFORCE && s != SIG_STARTTLS_MISSING &&
		    s != SIG_TLS_HANDSHAKE_FAILED;
		block |= blocked;
		e->st.findings[s]++;
		if (e->eve)
			eve_alert(e->eve, ts_us, f, s, out->f[i].reason, blocked, &pm);
	}
	return block;
}

/* A server completed STARTTLS: pin it, under the MX name it was looked up
 * as when DNS told us. */
static void
flow_pin(struct gw_engine *e, const struct flow *f, uint64_t ts_us)
{
	char mx[GW_NAMES_NAME_MAX + 1];

	if (e->pins == NULL)
		return;
	if (!gw_names_get(e->names, f->key.af, &f->key.saddr, ts_us, mx, sizeof(mx)))
		mx[0] = '\0';
	gw_pins_see(e->pins, f->key.af, &f->key.saddr, mx, (int64_t)(ts_us / 1000000));
	e->st.pins_learned++;
}

/* Inspect one packet of a flow under inspection. */
static enum gw_verdict
inspect_packet(struct gw_engine *e, struct flow *f, int dir, const struct pkt *p,
    uint64_t ts_us)
{
	struct tcp_half *h = &f->half[dir];
	struct smtp_out out;
	struct gw_deliver d = { f, dir, &out };

	out.n = 0;
	out.decided = 0;
	if (p->tcp_flags & PKT_TH_SYN) {
		if (dir == FLOW_TO_CLIENT)
			tcp_half_init(h, p->seq + 1);
		return GW_V_ACCEPT;
	}
	if (p->payload_len > 0) {
		if (!(h->flags & TCP_HALF_ISN))
			tcp_half_init(h, p->seq); /* SYN-ACK not seen: start at the first byte */
		f->state = FLOW_ST_INSPECT;
		int r = tcp_reasm_push(e->pool, h, p->seq, p->payload, p->payload_len, deliver, &d);
		if (r & TCP_R_CONFLICT)
			smtp_raise(&f->smtp, &out, SIG_TCP_OVERLAP_CONFLICT, dir == FLOW_TO_SERVER ?
			    "client retransmitted bytes that differ from the first copy" :
			    "server retransmitted bytes that differ from the first copy");
		if ((r & TCP_R_LIMIT) && !smtp_decided(&f->smtp)) {
			smtp_raise(&f->smtp, &out, SIG_INSPECTION_LIMIT,
			    "out-of-order data beyond the reassembly limit");
			f->smtp.phase = SMTP_PH_LOST;
		}
		if (p->payload_len < p->payload_wire_len && !smtp_decided(&f->smtp)) {
			/* Snaplen cut the segment: the stream has a hole we cannot fill. */
			smtp_raise(&f->smtp, &out, SIG_INSPECTION_LIMIT,
			    "capture cut a segment short (snaplen)");
			f->smtp.phase = SMTP_PH_LOST;
		}
	}
	if (p->tcp_flags & (PKT_TH_FIN | PKT_TH_RST)) {
		f->ended |= (uint8_t)(dir == FLOW_TO_SERVER ? 1 : 2);
		if (!smtp_decided(&f->smtp))
			smtp_end(&f->smtp, (p->tcp_flags & PKT_TH_RST) != 0, &out);
	}
	if ((f->smtp.flags & SMTP_F_GOT_BANNER) && !(f->flags & FLOW_F_BANNER))
		flow_banner_policy(e, f, ts_us);
	if (f->smtp.flags & SMTP_F_OWED)
		flow_rcpt_policy(e, f, ts_us, &out);
	if (handle_findings(e, f, &out, ts_us)) {
		flow_settle(e, f, FLOW_ST_BLOCKED);
		flow_report(e, f, "blocked", ts_us);
		return GW_V_BLOCK;
	}
	if (smtp_decided(&f->smtp)) {
		uint8_t ph = f->smtp.phase;
		flow_settle(e, f, FLOW_ST_DECIDED);
		flow_report(e, f, decided_verdict(f), ts_us);
		if (ph == SMTP_PH_TLS) {
			e->st.flows_tls++;
			flow_pin(e, f, ts_us);
		}
		else if (ph == SMTP_PH_PLAIN)
			e->st.flows_plain++;
		else
			e->st.flows_lost++;
		return GW_V_BYPASS;
	}
	return GW_V_ACCEPT;
}

enum gw_verdict
gw_engine_packet(struct gw_engine *e, int linktype, const uint8_t *frame, size_t caplen,
    uint64_t ts_us, struct pkt *pout)
{
	struct pkt pk, *p = pout ? pout : &pk;
	enum gw_verdict v;
	struct flow *f;
	int dir, rc;

	e->st.packets++;
	e->st.bytes += caplen;
	expire_some(e, ts_us, GW_EXPIRE_PER_PACKET);
	rc = pkt_decode(p, linktype, frame, caplen);
	if (rc == PKT_FRAGMENT) {
		const uint8_t *dg;
		size_t dglen;
		int conflict = 0, r = -1;

		if (e->frag == NULL)
			e->frag = ipfrag_new(GW_FRAG_DATAGRAMS, GW_FRAG_BYTES);
		if (e->frag != NULL)
			r = ipfrag_push(e->frag, p, ts_us, &dg, &dglen, &conflict);

		if (r < 0)
			e->st.frag_refused++;
		if (r != 1) {
			e->st.decode[PKT_FRAGMENT]++;
			e->st.verdicts[GW_V_ACCEPT]++;
			return GW_V_ACCEPT;
		}
		e->st.frag_reassembled++;
		rc = pkt_decode_ip(p, dg, dglen);
	}
	if ((unsigned)rc < sizeof(e->st.decode) / sizeof(e->st.decode[0]))
		e->st.decode[rc]++;
	if (rc == PKT_UDP && p->sport == 53 && e->conf.learn_dns) {
		/* A DNS answer: learn which names its addresses were asked as. */
		gw_names_learn_dns(e->names, p->payload, p->payload_len, ts_us);
		e->st.dns_answers++;
	}
	if (rc != PKT_OK) {
		e->st.verdicts[GW_V_ACCEPT]++;
		return GW_V_ACCEPT;
	}
	f = flow_lookup(e->ft, p, &dir);
	if (f == NULL) {
		if (!port_inspected(e, p->dport) && !port_inspected(e, p->sport)) {
			e->st.not_monitored++;
			v = GW_V_ACCEPT;
		} else if ((p->tcp_flags & (PKT_TH_SYN | PKT_TH_ACK | PKT_TH_RST)) == PKT_TH_SYN &&
		    port_inspected(e, p->dport)) {
			f = flow_start(e, p, ts_us);
			if (f) {
				f->pkts[0] = 1;
				v = GW_V_ACCEPT;
			} else {
				v = GW_V_BYPASS;
			}
		} else if (p->tcp_flags & PKT_TH_RST) {
			v = GW_V_ACCEPT; /* a stray RST: nothing to follow */
		} else {
			flow_midstream(e, p, ts_us);
			v = GW_V_BYPASS;
		}
		e->st.verdicts[v]++;
		return v;
	}
	flow_touch(e->ft, f, ts_us);
	if (f->pkts[dir] < UINT16_MAX)
		f->pkts[dir]++;
	f->bytes[dir] += p->payload_len;
	switch (f->state) {
	case FLOW_ST_BLOCKED:
		v = GW_V_DROP;
		break;
	case FLOW_ST_DECIDED:
	case FLOW_ST_MIDSTREAM:
		v = GW_V_BYPASS;
		break;
	default:
		v = inspect_packet(e, f, dir, p, ts_us);
		break;
	}
	/* A connection that is over leaves the table (its summary is written). */
	if ((p->tcp_flags & PKT_TH_RST) || f->ended == 3) {
		if (v != GW_V_BLOCK)
			flow_finish(e, f, FLOW_REMOVE_ENDED, ts_us);
	}
	e->st.verdicts[v]++;
	return v;
}

void
gw_engine_flush(struct gw_engine *e, uint64_t now_us)
{
	struct flow *f;

	while ((f = flow_oldest(e->ft)) != NULL)
		flow_finish(e, f, FLOW_REMOVE_ENDED, now_us);
}

void
gw_engine_get_stats(const struct gw_engine *e, struct gw_stats *st)
{
	*st = e->st;
	flow_table_get_stats(e->ft, &st->flow);
	tcp_pool_get_stats(e->pool, &st->pool);
}

const char *
gw_verdict_name(enum gw_verdict v)
{
	static const char *const names[GW_V_COUNT] = { "accept", "bypass", "drop", "block" };

	return (unsigned)v < GW_V_COUNT ? names[v] : "?";
}
