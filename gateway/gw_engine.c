/*
 * gw_engine.c - packet bytes -> decode -> flow -> stream -> SMTP/TLS ->
 * policy -> verdict + EVE lines (see gw_engine.h and doc/detection.md).
 *
 * Everything per packet works in memory fixed at gw_engine_new(): the flow
 * table, the reassembly pool, the handshake buffers, the fragment table.
 * A flow is inspected from its SYN until the SMTP machine decides it (TLS
 * confirmed, plaintext mail transaction, or not followable) or it is
 * blocked; then its buffers are returned and every later packet costs one
 * lookup. What is learned across flows (MX names from DNS, pins, recent
 * TLS failures) lives in tables the driver may share between engines.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../inspect/csum.h"
#include "../inspect/flow_lost.h"
#include "../inspect/hsbuf.h"
#include "../inspect/ipfrag.h"
#include "../inspect/tcp_trust.h"
#include "../inspect/tls_hs.h"
#include "../inspect/wire.h"
#include "../policy/pol_domain.h"
#include "gw_engine.h"
#include "gw_clq.h"
#include "output/gw_eve.h"
#include "output/gw_evidence.h"
#include "gw_fallback.h"
#include "gw_names.h"
#include "gw_pins.h"
#include "gw_tls.h"
#include "gw_x509.h"

/* Oldest flows looked at for one that is cheap to evict (see evict_oldest). */
#define GW_EVICT_SCAN 16
/* Pool dry: oldest flows looked at, and history chunks taken back at most,
 * per refill (see reclaim_history). */
#define GW_RECLAIM_SCAN  256
#define GW_RECLAIM_BATCH 16
/* Flows expired per packet at most, so one packet never pays for many;
 * and flows looked at for them (flows being inspected have the longer
 * limit, so expired settled flows may sit behind some of them). */
#define GW_EXPIRE_PER_PACKET 8
#define GW_EXPIRE_SCAN       64
/* Offline fragment reassembly budget. */
#define GW_FRAG_DATAGRAMS 256
#define GW_FRAG_BYTES     (4u << 20)

struct gw_engine {
	struct gw_engine_conf conf;   /* copy of the settings */
	const struct pol     *pol;    /* current policy (not owned) */
	struct eve           *eve;    /* where events go (not owned), may be NULL */
	struct flow_table    *ft;     /* tracked connections */
	struct flow_lost     *lost;   /* connections whose state was lost mid-inspection */
	struct tcp_pool      *pool;   /* reassembly chunks */
	struct ipfrag        *frag;   /* fragment reassembly, made at the first fragment (inline
	                                 the kernel reassembles, so it never is) */
	struct gw_fallback   *fb;     /* recent TLS failures */
	int                   own_fb; /* fb is ours to free */
	struct gw_names      *names;  /* address -> MX name, learned from DNS */
	int                   own_names; /* names is ours to free */
	struct gw_pins       *pins;   /* learned pins (not owned), NULL = none */
	struct gw_clq        *clq;    /* cluster: learned facts to publish (not owned), NULL = off */
	struct hsbuf_pool    *hs;     /* TLS handshake buffers, NULL = headers only */
	const struct gw_x509_store *x509; /* trust anchors (not owned), NULL = no checks */
	struct gw_evidence   *evid;   /* evidence pcap writer (not owned), NULL = off */
	struct tcp_trust     *trust;  /* bytes held for a wrong checksum (offline) */
	struct gw_stats       st;     /* counters */
	/* The datagram being inspected, when the caller lets us change it
	 * (inline); NULL otherwise. */
	uint8_t              *wframe;
	size_t                framelen;
	unsigned              ct_in;  /* GW_CT_* of the packet being inspected (inline) */
	unsigned              out;    /* GW_OUT_* for it */
	int                   kcsum;  /* inline: the kernel verified the datagram's checksum (or
	                                 it is not filled in yet: built by a local stack, merged by
	                                 GRO); 0 = check it ourselves */
	struct flow          *cur;    /* the flow being inspected (its chunks are not reclaimed) */
	const struct pol     *enf_pol; /* the policy enf_any was computed for */
	int                   enf_any; /* some domain policy of it enforces */
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
	c->idle_timeout_s = GW_IDLE_TIMEOUT_DEFAULT;
	c->inspect_timeout_s = GW_INSPECT_TIMEOUT_DEFAULT;
	c->fallback_window_s = 300;
	c->fallback_entries = 4096;
	c->names_entries = GW_NAMES_DEFAULT;
	c->pins_max = GW_PINS_MAX_DEFAULT;
	c->pins_max_age = GW_PINS_MAX_AGE_DEFAULT;
	c->pins_mode = POL_MODE_TESTING;
	c->learn_dns = 1;
	c->hs_buffers = GW_HS_BUFFERS_DEFAULT;
}

/* The reassembly pool ran dry: take back the history chunks of the
 * directions idle longest (oldest flows first, a bounded scan), never the
 * flow being inspected. Those directions' later retransmissions are then
 * reported unverified (inspection_limit) rather than checked: a flood of
 * idle sessions cannot quietly switch the first-copy check off for the
 * live ones. */
static unsigned
reclaim_history(void *ctx)
{
	struct gw_engine *e = ctx;
	struct flow *f = flow_oldest(e->ft);
	unsigned freed = 0;

	for (unsigned seen = 0; f != NULL && seen < GW_RECLAIM_SCAN && freed < GW_RECLAIM_BATCH;
	    seen++, f = flow_newer(e->ft, f)) {
		if (f == e->cur)
			continue;
		freed += (unsigned)tcp_half_drop_history(e->pool, &f->half[0]);
		freed += (unsigned)tcp_half_drop_history(e->pool, &f->half[1]);
	}
	e->st.hist_reclaimed += freed;
	return freed;
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
	/* as many lost connections remembered as flows tracked */
	e->lost = flow_lost_new(c->max_flows, seed ^ 0x105e);
	e->pool = tcp_pool_new(c->pool_chunks);
	if (e->pool != NULL)
		tcp_pool_set_reclaim(e->pool, reclaim_history, e);
	e->fb = gw_fallback_new(c->fallback_entries, seed ^ 0xfb);
	e->own_fb = 1;
	e->names = gw_names_new(c->names_entries ? c->names_entries : 1, seed ^ 0x4e);
	e->own_names = 1;
	e->trust = tcp_trust_new(TCP_TRUST_SLOTS_DEFAULT);
	if (c->hs_buffers > 0 && (e->hs = hsbuf_pool_new(c->hs_buffers)) == NULL) {
		gw_engine_free(e);
		return NULL;
	}
	if (e->ft == NULL || e->lost == NULL || e->pool == NULL || e->fb == NULL ||
	    e->names == NULL || e->trust == NULL) {
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
	flow_lost_free(e->lost);
	tcp_trust_free(e->trust);
	tcp_pool_free(e->pool);
	ipfrag_free(e->frag);
	if (e->own_fb)
		gw_fallback_free(e->fb);
	if (e->own_names)
		gw_names_free(e->names);
	hsbuf_pool_free(e->hs);
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

void
gw_engine_set_x509(struct gw_engine *e, const struct gw_x509_store *st)
{
	e->x509 = st;
}

void
gw_engine_set_cluster(struct gw_engine *e, struct gw_clq *q)
{
	e->clq = q;
}

/* Hand a pin or a TLS failure to the cluster queue. */
static void
cluster_tap(struct gw_engine *e, const struct flow *f, int kind, const char *mx, uint64_t ts_us)
{
	struct gw_fact fact;

	memset(&fact, 0, sizeof fact);
	fact.kind = (uint8_t)kind;
	fact.af = f->key.af;
	fact.addr = f->key.saddr;
	fact.at_us = ts_us;
	if (kind == GW_FACT_PIN) {
		if (mx != NULL && gw_fact_name_ok(mx))
			snprintf(fact.name, sizeof fact.name, "%s", mx);
		fact.first_us = ts_us;
		fact.expires_us = ts_us + (uint64_t)e->conf.pins_max_age * 1000000;
	} else {
		fact.client = f->key.caddr;
		fact.expires_us = ts_us + (uint64_t)e->conf.fallback_window_s * 1000000;
	}
	if (fact.expires_us > fact.at_us)
		gw_clq_push(e->clq, &fact, kind == GW_FACT_FAIL);
}

void
gw_engine_set_evidence(struct gw_engine *e, struct gw_evidence *ev)
{
	e->evid = ev;
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

	if (f->pol_source == POL_SRC_PIN)
		pin_match(e, f, pm);
	else if (f->pol_ref == POL_REF_NONE || !pol_match_from_ref(e->pol, f->pol_ref, now_s, pm))
		pol_lookup_addr(e->pol, f->key.af, &f->key.saddr, pm);
	if ((f->flags & FLOW_F_ANYDOMAIN) && pm->mode != POL_MODE_ENFORCE) {
		pm->mode = POL_MODE_ENFORCE;
		snprintf(pm->match, sizeof(pm->match), "an enforced recipient domain may apply");
	}
}

/* Does any domain policy enforce? (Computed once per policy.) */
static int
any_domain_enforced(struct gw_engine *e)
{
	const struct pol_domain *t;

	if (e->enf_pol != e->pol) {
		e->enf_pol = e->pol;
		e->enf_any = 0;
		t = pol_has_domains(e->pol) ? pol_domains(e->pol) : NULL;
		for (size_t i = 0; t != NULL && i < pol_domain_count(t) && !e->enf_any; i++)
			e->enf_any = pol_domain_at(t, i)->mode == POL_MODE_ENFORCE;
	}
	return e->enf_any;
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

/* A policy reached through a learned fact (pin, DNS or greeting name,
 * recipient domain; later shared or discovered ones): it becomes the flow's
 * only if it is not weaker than the flow's policy so far, which started as
 * what the operator wrote for every server (the default). Learning raises
 * an expectation, never lowers it: a pin in "testing" must not demote an
 * "enforce" default, nor a spoofed DNS answer or greeting name lead to a
 * weaker domain policy. An equal one is taken: it is the more specific
 * (its MX patterns serve the certificate check). Returns 1 if taken. */
static int
flow_learn(const struct gw_engine *e, struct flow *f, const struct pol_match *pm, uint32_t ref)
{
	struct pol_match cur;

	flow_policy(e, f, &cur);
	if (pol_cmp(pm, &cur) < 0)
		return 0;
	flow_adopt(f, pm, ref);
	return 1;
}

/* Resolve a new flow's policy: an address rule is the operator's word for
 * this server and ends the search. Otherwise the default, raised (never
 * lowered) by a learned pin and by the domain policy of the MX name the
 * address was looked up as in DNS. While nothing but the default (or a
 * pin) holds, it is not enforce and domain policies exist, the recipient
 * domain may still raise it: defer the decision from MAIL to the first
 * RCPT. */
static void
flow_resolve(struct gw_engine *e, struct flow *f, uint64_t ts_us)
{
	int64_t now_s = (int64_t)(ts_us / 1000000);
	uint32_t ref = POL_REF_NONE;
	struct pol_match pm, dm;
	char mx[GW_NAMES_NAME_MAX + 1];

	pol_lookup_addr(e->pol, f->key.af, &f->key.saddr, &pm);
	flow_adopt(f, &pm, POL_REF_NONE);
	if (pm.source == POL_SRC_DEFAULT) {
		if (e->pins != NULL && gw_pins_lookup(e->pins, f->key.af, &f->key.saddr,
		    now_s, e->conf.pins_max_age, NULL)) {
			pin_match(e, f, &dm);
			flow_learn(e, f, &dm, POL_REF_NONE);
		}
		if (pol_has_domains(e->pol) &&
		    gw_names_get(e->names, f->key.af, &f->key.saddr, ts_us, mx, sizeof(mx)) &&
		    pol_lookup_mx(e->pol, mx, now_s, &dm, &ref))
			flow_learn(e, f, &dm, ref);
	}
	/* (Nothing can raise enforce: then MAIL decides, one command sooner.) */
	if ((f->pol_source == POL_SRC_DEFAULT || f->pol_source == POL_SRC_PIN) &&
	    f->mode != POL_MODE_ENFORCE && pol_has_domains(e->pol))
		f->smtp.flags |= SMTP_F_DEFER;
	e->st.policy_by[f->pol_source < POL_SRC_COUNT ? f->pol_source : 0]++;
}

/* Once the greeting is in: a server calling itself by an MX name that a
 * domain policy lists raises the expectation (never lowers it). */
static void
flow_banner_policy(struct gw_engine *e, struct flow *f, uint64_t ts_us)
{
	char name[SMTP_BANNER_MAX + 1], mx[GW_NAMES_NAME_MAX + 1];
	struct pol_match pm;
	uint32_t ref;
	size_t n = 0;

	f->flags |= FLOW_F_BANNER;
	if ((f->pol_source != POL_SRC_DEFAULT && f->pol_source != POL_SRC_PIN) ||
	    !pol_has_domains(e->pol))
		return;
	/* The MX name may have come after the SYN: a DNS answer that crossed
	 * another router arrives through the cluster a moment later. The
	 * greeting is at least a round trip later, so look again. */
	if (gw_names_get(e->names, f->key.af, &f->key.saddr, ts_us, mx, sizeof(mx)) &&
	    pol_lookup_mx(e->pol, mx, (int64_t)(ts_us / 1000000), &pm, &ref))
		flow_learn(e, f, &pm, ref);
	while (n < f->smtp.banner_len && f->smtp.banner[n] != ' ' && f->smtp.banner[n] != '\t')
		n++;
	if (n == 0 || n == f->smtp.banner_len)
		return; /* no name, or one cut by the banner limit: not trusted */
	memcpy(name, f->smtp.banner, n);
	name[n] = '\0';
	if (pol_lookup_mx(e->pol, name, (int64_t)(ts_us / 1000000), &pm, &ref))
		flow_learn(e, f, &pm, ref);
}

/* Decided plaintext at the first RCPT: its domain's policy, if any, is
 * more specific than a pin or the default and decides the finding -- when
 * it is not weaker: the recipient is the sender's word (inbound, an
 * attacker's), so it may raise the expectation, not lower it. */
static void
flow_rcpt_policy(struct gw_engine *e, struct flow *f, uint64_t ts_us, struct smtp_out *out)
{
	struct pol_match pm;
	uint32_t ref;

	if ((f->smtp.flags & SMTP_F_RCPT) &&
	    pol_lookup_domain_hash(e->pol, f->smtp.rcpt_hash, (int64_t)(ts_us / 1000000), &pm, &ref))
		flow_learn(e, f, &pm, ref);
	smtp_plain_findings(&f->smtp, out);
}

/* Count a session summary by its verdict (once per flow, not per packet). */
static void
session_count(struct gw_engine *e, const char *verdict)
{
	unsigned i;

	for (i = 0; i < GW_S_OTHER && strcmp(gw_session_names[i], verdict) != 0; i++)
		;
	e->st.sessions[i]++;
}

/* Write the flow summary once, with the verdict it ended in and, for a
 * TLS session, what its handshake showed (tls may be NULL). */
static void
flow_report(struct gw_engine *e, struct flow *f, const char *verdict, uint64_t ts_us,
    const struct gw_tls_facts *tls)
{
	struct pol_match pm;

	if ((f->flags & FLOW_F_REPORTED) || f->state == FLOW_ST_MIDSTREAM ||
	    (f->bytes[0] == 0 && f->bytes[1] == 0))
		return;
	f->flags |= FLOW_F_REPORTED;
	session_count(e, verdict);
	if (e->eve) {
		flow_policy(e, f, &pm);
		eve_flow_tls(e->eve, ts_us, f, verdict, &pm, tls);
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
	tcp_trust_forget(e->trust, e->pool, f);
	tcp_half_release(e->pool, &f->half[0]);
	tcp_half_release(e->pool, &f->half[1]);
	smtp_release(&f->smtp, e->hs);
}

/* Forget a flow, writing its summary if it never got one. */
static void
flow_finish(struct gw_engine *e, struct flow *f, int why, uint64_t ts_us)
{
	if (f->state == FLOW_ST_SYN || f->state == FLOW_ST_INSPECT)
		flow_report(e, f, "incomplete", ts_us, NULL);
	flow_settle(e, f, f->state);
	flow_remove(e->ft, f, why);
}

static int handle_findings(struct gw_engine *e, struct flow *f, const struct smtp_out *out,
    uint64_t ts_us, const struct gw_tls_facts *tls);

/* An empty list of findings, with the engine's handshake buffers. */
static void
out_start(const struct gw_engine *e, struct smtp_out *out)
{
	out->n = 0;
	out->decided = 0;
	out->hs = e->hs;
}

/* Is a flow still being inspected (no decision yet)? */
static int
flow_inspecting(const struct flow *f)
{
	return f->state == FLOW_ST_SYN || f->state == FLOW_ST_INSPECT;
}

/*
 * Giving up must not mean passing. This is the one place where a flow
 * that can no longer be inspected before its decision -- a limit hit,
 * server replies that are not SMTP, its state lost to idle expiry,
 * eviction or a restart of the daemon, a reset that may not have reached
 * the other side -- is handed to its policy. It is decided "lost"
 * (inspection ends) and, where the policy expects TLS and nothing on this
 * packet says why already, gets an inspection_limit finding with why
 * (elsewhere stats.gave_up counts it, so a flood of dying sessions cannot
 * become a flood of alerts; reported: the alert was written when the
 * state was lost). The caller then settles it through give_up_blocks():
 * under enforce it is blocked -- this packet dropped, RSTs to both ends,
 * every later packet dropped -- and the sending MTA retries, the retry
 * inspected from its SYN; under testing or none it passes and only then
 * is bypassed. Call it instead of passing a flow that is not decided.
 */
static void
give_up(struct gw_engine *e, struct flow *f, struct smtp_out *out, const char *why,
    int reported)
{
	struct pol_match pm;

	if (f->flags & FLOW_F_GAVEUP)
		return;
	f->flags |= FLOW_F_GAVEUP;
	f->smtp.phase = SMTP_PH_LOST;
	e->st.gave_up++;
	flow_policy(e, f, &pm);
	if (!reported && out->n == 0 && pol_expects_tls(&pm))
		smtp_raise(&f->smtp, out, SIG_INSPECTION_LIMIT, why);
}

/* Is a flow given up to be blocked? Under enforce, whatever was written. */
static int
give_up_blocks(const struct gw_engine *e, const struct flow *f)
{
	struct pol_match pm;

	if (!(f->flags & FLOW_F_GAVEUP))
		return 0;
	flow_policy(e, f, &pm);
	return pm.mode == POL_MODE_ENFORCE;
}

/* Forget a flow the table has no more room or time for; one still being
 * inspected is remembered as lost, so its next packet is given up rather
 * than picked up as a new midstream connection, and so is a blocked one,
 * whose later packets stay dropped (an attacker in the path may have
 * kept the RSTs from the endpoints). */
static void
flow_drop_lost(struct gw_engine *e, struct flow *f, uint8_t why, int reported,
    uint64_t ts_us)
{
	struct flow_lost_entry le;
	struct pol_match pm;

	if (flow_inspecting(f) || f->state == FLOW_ST_BLOCKED) {
		flow_policy(e, f, &pm);
		memset(&le, 0, sizeof(le));
		le.key = f->key;
		le.sec = f->last_sec;
		le.pol_ref = f->pol_ref;
		le.pol_source = f->pol_source;
		le.mode = f->mode;
		le.why = why;
		le.flags = (uint8_t)(reported ? FLOW_LOST_F_REPORTED : 0);
		if (f->state == FLOW_ST_BLOCKED)
			le.flags |= FLOW_LOST_F_REPORTED | FLOW_LOST_F_BLOCKED | FLOW_LOST_F_KEEP;
		else if (f->smtp.flags & SMTP_F_DEFER)
			le.flags |= FLOW_LOST_F_DEFER;
		if (pol_expects_tls(&pm) || ((f->smtp.flags & SMTP_F_DEFER) && any_domain_enforced(e)))
			le.flags |= FLOW_LOST_F_KEEP;
		flow_lost_add(e->lost, &le);
	}
	flow_finish(e, f, why == FLOW_LOST_EVICTED ? FLOW_REMOVE_EVICTED : FLOW_REMOVE_EXPIRED,
	    ts_us);
}

/* Make room for one more flow, among the few oldest: a settled one
 * (decided, blocked, midstream: only remembered to be passed cheaply),
 * else a half-open one (a SYN flood pushes out its own), else the oldest,
 * mid-inspection, which says so: an attacker who stalls a session while
 * flooding must not pass it unseen. An evicted flow that was being
 * inspected is remembered as lost: its next packet is given up (under
 * enforce dropped and reset), so an alert's "blocked" is true. */
static void
evict_oldest(struct gw_engine *e, uint64_t ts_us)
{
	struct flow *f = flow_oldest(e->ft), *victim = f, *syn = NULL;
	struct smtp_out out;
	int reported = 0;

	for (unsigned i = 0; f != NULL && i < GW_EVICT_SCAN; i++, f = flow_newer(e->ft, f)) {
		if (!flow_inspecting(f) || (f->flags & FLOW_F_RESET)) {
			syn = f;
			break;
		}
		if (syn == NULL && f->state == FLOW_ST_SYN)
			syn = f;
	}
	if (syn != NULL)
		victim = syn;
	if (victim == NULL)
		return;
	if (victim->state == FLOW_ST_INSPECT && !(victim->flags & FLOW_F_RESET)) {
		struct pol_match pm;

		e->st.evicted_inspecting++;
		/* An alert where the policy expects TLS (what an attacker would
		 * be after); elsewhere the counter says it, so a flood of idle
		 * greeted sessions cannot become a flood of alerts. */
		flow_policy(e, victim, &pm);
		if (pol_expects_tls(&pm)) {
			out_start(e, &out);
			smtp_raise(&victim->smtp, &out, SIG_INSPECTION_LIMIT,
			    "flow table full: evicted in the middle of its inspection "
			    "(its later packets are handled as lost)");
			handle_findings(e, victim, &out, ts_us, NULL);
			reported = 1;
		}
	}
	flow_drop_lost(e, victim, FLOW_LOST_EVICTED, reported, ts_us);
}

/* Expire at most max idle flows, oldest first, looking at scan flows at
 * most: each flow has its own limit (inspect_timeout_s while it is being
 * inspected, idle_timeout_s once settled), and the walk ends at the first
 * flow idle for less than the shorter one. */
static void
expire_some(struct gw_engine *e, uint64_t now_us, unsigned max, unsigned scan)
{
	uint32_t now_s = (uint32_t)(now_us / 1000000), idle, lo;
	struct flow *f = flow_oldest(e->ft), *next;

	lo = e->conf.idle_timeout_s < e->conf.inspect_timeout_s ? e->conf.idle_timeout_s :
	    e->conf.inspect_timeout_s;
	for (; f != NULL && max > 0 && scan > 0; scan--, f = next) {
		idle = now_s > f->last_sec ? now_s - f->last_sec : 0;
		if (idle <= lo)
			break;
		next = flow_newer(e->ft, f);
		if (idle <= (flow_inspecting(f) ? e->conf.inspect_timeout_s : e->conf.idle_timeout_s))
			continue;
		if (flow_inspecting(f))
			e->st.expired_inspecting++;
		flow_drop_lost(e, f, FLOW_LOST_EXPIRED, 0, now_us);
		max--;
	}
}

void
gw_engine_expire(struct gw_engine *e, uint64_t now_us)
{
	expire_some(e, now_us, UINT32_MAX, UINT32_MAX);
}

/* Is the segment's TCP checksum right? Inline the kernel may have said so
 * (verified, or not filled in yet: GRO merged verified segments, or a
 * local stack built it); a segment cut by the capture cannot be told, and
 * is taken as right. */
static int
seg_csum_ok(const struct gw_engine *e, const struct pkt *p)
{
	return e->kcsum || pkt_tcp_csum_ok(p) != 0;
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
	tcp_trust_first_syn(f, p, seg_csum_ok(e, p));
	if (p->tcp_opts & (PKT_OPT_MD5 | PKT_OPT_AO))
		f->flags |= FLOW_F_AUTH_C;
	f->ttl[FLOW_TO_SERVER] = p->ttl;
	flow_resolve(e, f, ts_us);
	if (gw_fallback_recent(e->fb, p->af, &p->src, &p->dst, ts_us, e->conf.fallback_window_s))
		f->smtp.flags |= SMTP_F_RECENT_FAIL;
	/* a new connection: whatever was lost on this 4-tuple is over, and
	 * inline its conntrack entry is marked "being inspected" */
	flow_lost_take(e->lost, &f->key, NULL);
	e->out |= GW_OUT_INSPECTING;
	return f;
}

/* A packet of a connection the table does not hold, and not its SYN:
 * make a flow to remember it by, oriented with the inspected port as the
 * server. NULL when the table cannot hold one. */
static struct flow *
flow_pickup(struct gw_engine *e, const struct pkt *p, uint64_t ts_us)
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
	return f;
}

/* Why a picked-up connection is lost, into why (FINDING_REASON_MAX);
 * 0 when it is an ordinary midstream pickup. *flags: FLOW_LOST_F_* of
 * what was done about it already. A remembered one gets back the policy
 * it had (so what it learned is not lost with it); else it is resolved
 * as a new one would be. */
static int
pickup_lost(struct gw_engine *e, struct flow *f, char *why, unsigned *flags, uint64_t ts_us)
{
	struct flow_lost_entry le;

	*flags = 0;
	if (flow_lost_take(e->lost, &f->key, &le)) {
		*flags = le.flags;
		f->pol_ref = le.pol_ref;
		f->pol_source = le.pol_source;
		f->mode = le.mode;
		if (le.flags & FLOW_LOST_F_DEFER)
			f->smtp.flags |= SMTP_F_DEFER;
		if (le.why == FLOW_LOST_EVICTED)
			snprintf(why, FINDING_REASON_MAX, "evicted from the full flow table while being "
			    "inspected; the rest of the session cannot be inspected");
		else
			snprintf(why, FINDING_REASON_MAX, "silent for more than %u s while being inspected "
			    "(engine.inspect_timeout): its state was forgotten",
			    (unsigned)e->conf.inspect_timeout_s);
		return 1;
	}
	if (e->ct_in & GW_CT_INSPECTING)
		snprintf(why, FINDING_REASON_MAX, "connection marked as being inspected has no state "
		    "left (restart of the gateway, or lost): the rest cannot be inspected");
	else if (e->conf.midstream_lost)
		snprintf(why, FINDING_REASON_MAX, "picked up without its handshake "
		    "(engine.midstream = \"lost\")");
	else
		return 0;
	flow_resolve(e, f, ts_us);
	return 1;
}

/* No flow, not a SYN: an ordinary midstream connection passes (bypassed,
 * never inspected), but one known lost mid-inspection is given up. */
static enum gw_verdict
flow_midstream(struct gw_engine *e, const struct pkt *p, uint64_t ts_us)
{
	char why[FINDING_REASON_MAX];
	struct smtp_out out;
	struct flow *f;
	unsigned fl;
	int block;

	if ((f = flow_pickup(e, p, ts_us)) == NULL)
		return GW_V_BYPASS;
	if (!pickup_lost(e, f, why, &fl, ts_us)) {
		f->pol_ref = POL_REF_NONE;
		f->pol_source = POL_SRC_DEFAULT;
		f->state = FLOW_ST_MIDSTREAM;
		e->st.midstream++;
		return GW_V_BYPASS;
	}
	e->st.lost++;
	f->flags |= FLOW_F_REPORTED; /* its summary, if any, was written when it was lost */
	/* Lost while its policy waited for the recipient domain (nothing but
	 * the default or a pin matched the server): that domain can no longer
	 * be read, so the strongest a domain could have asked for applies. */
	if ((f->smtp.flags & SMTP_F_DEFER) && any_domain_enforced(e))
		f->flags |= FLOW_F_ANYDOMAIN;
	out_start(e, &out);
	give_up(e, f, &out, why, (fl & FLOW_LOST_F_REPORTED) != 0);
	block = handle_findings(e, f, &out, ts_us, NULL) | give_up_blocks(e, f) |
	    ((fl & FLOW_LOST_F_BLOCKED) != 0);
	flow_settle(e, f, block ? FLOW_ST_BLOCKED : FLOW_ST_DECIDED);
	return block ? GW_V_BLOCK : GW_V_BYPASS;
}

/* The MX host a DANE flow is talking to: the name its address was looked
 * up as, else the SNI, else the policy's only MX host. NULL when unknown. */
static const char *
dane_host(const struct gw_engine *e, const struct flow *f, const struct gw_tls_facts *t,
    char *buf, size_t len)
{
	const struct pol_domain_entry *de = pol_ref_entry(e->pol, f->pol_ref);

	if (gw_names_get(e->names, f->key.af, &f->key.saddr, f->start_us, buf, len))
		return buf;
	if (t->sni[0])
		return t->sni;
	if (de != NULL && de->n_mx == 1)
		return de->mx[0];
	return NULL;
}

/* A flow under a DANE policy: match the chain against the TLSA records
 * of its MX host (RFC 7672 3.1) instead of the PKIX trust anchors. 1 when
 * done (t->x509 filled), 0 when the host has no TLSA records here (then
 * the PKIX check with the policy's patterns applies as for any domain). */
static int
tls_dane(struct gw_engine *e, const struct flow *f, const struct tls_certs *certs,
    struct gw_tls_facts *t)
{
	struct gw_x509_der chain[TLS_HS_CERTS_MAX];
	char mx[GW_NAMES_NAME_MAX + 1];
	const struct pol_tlsa *recs;
	const char *host = dane_host(e, f, t, mx, sizeof(mx));
	size_t n;

	if (host == NULL || !pol_dane_lookup(pol_dane_table(e->pol), host, &recs, &n))
		return 0;
	for (unsigned i = 0; i < certs->n; i++) {
		chain[i].der = certs->cert[i].der;
		chain[i].len = certs->cert[i].len;
	}
	gw_x509_dane_check(chain, certs->n, (time_t)(f->start_us / 1000000), host, recs, n,
	    &t->x509, NULL);
	t->cert = GW_CERT_CHECKED;
	t->dane = 1;
	e->st.certs_checked++;
	return 1;
}

/* Read the kept handshake messages of a session decided TLS: ClientHello
 * (SNI, versions offered), the server's last ServerHello (a HelloRetry
 * Request is followed by another), its Certificate; check the chain. */
static void
tls_read(struct gw_engine *e, const struct flow *f, struct gw_tls_facts *t)
{
	uint16_t ci = smtp_hs(&f->smtp, SMTP_DIR_CLIENT), si = smtp_hs(&f->smtp, SMTP_DIR_SERVER);
	struct tls_certs certs = { 0, 0, { { NULL, 0 } } };
	struct tls_hs_msg m;
	size_t off, need;

	memset(t, 0, sizeof(*t));
	if (ci && e->hs) {
		const struct hsbuf *b = hsbuf_at(e->hs, ci);
		struct tls_client_hello ch;
		off = 0;
		if (tls_hs_next(b->data, b->len, &off, &m, &need) == TLS_HS_OK &&
		    tls_hs_msg_client_hello(&m, &ch) == TLS_HS_OK) {
			t->have_client = 1;
			t->client_max = ch.max_version;
			t->scsv = (ch.flags & TLS_CH_F_SCSV) != 0;
			snprintf(t->sni, sizeof(t->sni), "%s", ch.sni);
		}
	}
	if (si && e->hs) {
		const struct hsbuf *b = hsbuf_at(e->hs, si);
		struct tls_server_hello sh;
		off = 0;
		while (tls_hs_next(b->data, b->len, &off, &m, &need) == TLS_HS_OK) {
			if (tls_hs_msg_server_hello(&m, &sh) == TLS_HS_OK) {
				t->have_server = 1;
				t->version = sh.version;
				t->cipher = sh.cipher;
				t->hrr |= (sh.flags & TLS_SH_F_HRR) != 0;
			} else if (m.type == TLS_HS_T_CERTIFICATE && certs.n == 0) {
				tls_hs_msg_certificate(&m, &certs);
			}
		}
	}
	if (!t->have_server && f->smtp.tls_version) {
		t->have_server = 1;
		t->version = f->smtp.tls_version;
	}
	t->chain = certs.total;
	if (t->have_server && t->version >= TLS_V_1_3)
		t->cert = GW_CERT_HIDDEN;
	else if (certs.n == 0)
		t->cert = GW_CERT_NONE;
	else if (f->pol_source == POL_SRC_DANE && tls_dane(e, f, &certs, t))
		;
	else if (e->x509 == NULL)
		t->cert = GW_CERT_UNCHECKED;
	else {
		struct gw_x509_der chain[TLS_HS_CERTS_MAX];
		const struct pol_domain_entry *de = pol_ref_entry(e->pol, f->pol_ref);
		char mx[GW_NAMES_NAME_MAX + 1];
		const char *host = NULL;

		for (unsigned i = 0; i < certs.n; i++) {
			chain[i].der = certs.cert[i].der;
			chain[i].len = certs.cert[i].len;
		}
		/* The name the sender meant: its DNS lookup, else its SNI. */
		if (gw_names_get(e->names, f->key.af, &f->key.saddr, f->start_us, mx, sizeof(mx)))
			host = mx;
		else if (t->sni[0])
			host = t->sni;
		gw_x509_check(e->x509, chain, certs.n, (time_t)(f->start_us / 1000000),
		    host, de ? (const char *const *)de->mx : NULL, de ? de->n_mx : 0, &t->x509);
		t->cert = GW_CERT_CHECKED;
		e->st.certs_checked++;
	}
	if (t->have_server && t->version >= 0x0300 && t->version <= 0x0304)
		e->st.tls_versions[t->version - 0x0300]++;
}

/* The TLS findings of a decided session: a version below the policy's
 * minimum; a certificate that fails its check (a finding of severity 2
 * where the policy names MX patterns, informational elsewhere: plain
 * opportunistic SMTP TLS commonly uses self-signed certificates). */
static void
tls_findings(struct gw_engine *e, struct flow *f, const struct gw_tls_facts *t,
    struct smtp_out *out)
{
	const struct pol_domain_entry *de = pol_ref_entry(e->pol, f->pol_ref);
	char r[FINDING_REASON_MAX], v1[TLS_HEX_BUF], v2[TLS_HEX_BUF];
	struct pol_match pm;

	flow_policy(e, f, &pm);
	if (t->have_server && pm.min_tls && t->version < pm.min_tls) {
		snprintf(r, sizeof(r), "negotiated %s, policy minimum %s",
		    tls_version_str(t->version, v1), tls_version_str(pm.min_tls, v2));
		smtp_raise(&f->smtp, out, SIG_TLS_WEAK_VERSION, r);
	}
	if (t->cert == GW_CERT_CHECKED && t->x509.result != GW_X509_OK &&
	    smtp_raise(&f->smtp, out, SIG_TLS_CERT_INVALID, t->x509.reason)) {
		struct finding *fd = &out->f[out->n - 1];
		fd->tlsrpt = gw_x509_tlsrpt(t->x509.result);
		if (de == NULL || de->n_mx == 0)
			fd->severity = 3;
	}
}

/* Turn the findings of this packet into alerts; returns 1 to block. */
static int
handle_findings(struct gw_engine *e, struct flow *f, const struct smtp_out *out,
    uint64_t ts_us, const struct gw_tls_facts *tls)
{
	struct pol_match pm;
	int block = 0;

	if (out->n == 0)
		return 0;
	flow_policy(e, f, &pm);
	for (unsigned i = 0; i < out->n; i++) {
		const struct finding *fd = &out->f[i];
		enum sig s = fd->sig;
		int sev = fd->severity ? fd->severity : sig_severity(s), blocked;

		if (s == SIG_TLS_HANDSHAKE_FAILED) {
			gw_fallback_note(e->fb, f->key.af, &f->key.caddr, &f->key.saddr, ts_us);
			if (e->clq != NULL)
				cluster_tap(e, f, GW_FACT_FAIL, NULL, ts_us);
		}
		if (pm.mode == POL_MODE_NONE && sev >= 2) {
			e->st.suppressed++;
			continue;
		}
		/* Informational findings never block; nor does a failing
		 * handshake (the plaintext retry is what matters). */
		blocked = pm.mode == POL_MODE_ENFORCE && s != SIG_STARTTLS_MISSING &&
		    s != SIG_TLS_HANDSHAKE_FAILED && !(fd->severity == 3);
		block |= blocked;
		e->st.findings[s]++;
		e->st.findings_blocked[s] += blocked != 0;
		if (e->eve && pm.source == POL_SRC_DANE && fd->tlsrpt == NULL &&
		    (s == SIG_STARTTLS_DOWNGRADE || s == SIG_STARTTLS_STRIPPED ||
		    s == SIG_STARTTLS_REJECTED)) {
			/* RFC 8460 4.3.2: TLS was required by DANE and not had */
			struct finding dfd = *fd;

			dfd.tlsrpt = "dane-required";
			eve_alert_finding(e->eve, ts_us, f, &dfd, blocked, &pm, tls);
		} else if (e->eve)
			eve_alert_finding(e->eve, ts_us, f, fd, blocked, &pm, tls);
		if (e->evid)
			gw_evidence_alert(e->evid, f->id, sig_name(s));
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
	if (e->clq != NULL)
		cluster_tap(e, f, GW_FACT_PIN, mx, ts_us);
}

/* The findings of a direction's reassembly result bits r. */
static void
reasm_findings(struct flow *f, int dir, int r, struct smtp_out *out)
{
	if (r & TCP_R_CONFLICT)
		smtp_raise(&f->smtp, out, SIG_TCP_OVERLAP_CONFLICT, dir == FLOW_TO_SERVER ?
		    "client retransmitted bytes that differ from the first copy" :
		    "server retransmitted bytes that differ from the first copy");
	if (r & TCP_R_UNVERIFIED)
		smtp_raise(&f->smtp, out, SIG_INSPECTION_LIMIT,
		    (f->half[dir].flags & TCP_HALF_HISTLOST) ?
		    "retransmitted bytes could not be checked against the first copy "
		    "(reassembly pool exhausted)" :
		    "retransmitted bytes could not be checked against the first copy "
		    "(taken with a wrong checksum once acknowledged)");
	if ((r & TCP_R_LIMIT) && !smtp_decided(&f->smtp)) {
		smtp_raise(&f->smtp, out, SIG_INSPECTION_LIMIT,
		    "out-of-order data beyond the reassembly limit");
		f->smtp.phase = SMTP_PH_LOST;
	}
}

/* Offline, a segment with a wrong checksum: its payload is held until the
 * capture shows whether its receiver took it (tcp_trust.h). */
static void
hold_payload(struct gw_engine *e, struct flow *f, int dir, const struct pkt *p,
    struct smtp_out *out)
{
	struct tcp_half *h = &f->half[dir];

	if (p->payload_len == 0 || smtp_decided(&f->smtp))
		return;
	if (!(h->flags & TCP_HALF_ISN))
		tcp_half_init(h, p->seq); /* SYN-ACK not taken: start at the first byte */
	f->state = FLOW_ST_INSPECT;
	reasm_findings(f, dir, tcp_trust_hold(e->trust, e->pool, f, dir, p), out);
}

/* Offline, a segment whose ACK counts (tcp_trust_segment): it may take a
 * waiting SYN-ACK, and the held bytes of the other direction it
 * acknowledges go to inspection now. */
static void
take_acked(struct gw_engine *e, struct flow *f, int dir, const struct pkt *p,
    struct smtp_out *out)
{
	struct gw_deliver d = { f, !dir, out };

	if (e->wframe != NULL || !(p->tcp_flags & PKT_TH_ACK) || smtp_decided(&f->smtp))
		return;
	reasm_findings(f, !dir, tcp_trust_ack(e->trust, e->pool, f, dir, p, deliver, &d), out);
}

/* Does a RST or FIN end this direction for its receiver? Only at exactly
 * the next expected sequence number (RFC 5961 3.2: anything else gets a
 * challenge ACK, not a reset), so a forged one cannot end inspection. */
static int
end_acceptable(const struct tcp_half *h, const struct pkt *p)
{
	if (!(h->flags & TCP_HALF_ISN))
		return 1; /* nothing to check against (no handshake seen this way) */
	return p->seq + ((p->tcp_flags & PKT_TH_RST) ? 0 : p->payload_len) == h->next_seq;
}

/* Inline, raise a segment's TTL (IPv6 hop limit) to the highest its sender's
 * segments came with. The gateway cannot know how many hops are left after
 * it, so a segment sent to expire between the gateway and the receiver
 * (inspected here, never read there) would let an attacker show the
 * gateway bytes or an end the receiver never sees; raised, it arrives as
 * every other segment of its sender does. This is Snort's normalizer
 * (min_ttl/new_ttl) choice rather than refusing such segments: a path
 * that legitimately changes mid-session loses nothing. Offline the segment
 * is inspected as the inline gateway would forward it. */
static void
ttl_normalize(struct gw_engine *e, struct flow *f, int dir, const struct pkt *p)
{
	uintptr_t base = (uintptr_t)e->wframe, l3 = (uintptr_t)p->l3;
	uint8_t want = f->ttl[dir], *ip;

	if (p->ttl >= want) {
		f->ttl[dir] = p->ttl;
		return;
	}
	e->st.ttl_raised++;
	if (e->wframe == NULL || p->l3 == NULL || l3 < base || l3 - base + 20 > e->framelen)
		return; /* offline, or not our bytes to change */
	ip = e->wframe + (l3 - base);
	if (p->af == 4) {
		size_t hl = (size_t)(ip[0] & 0x0f) * 4;

		if (hl < 20 || l3 - base + hl > e->framelen)
			return;
		ip[8] = want;
		put16(ip + 10, 0);
		put16(ip + 10, csum_fold(csum_add(0, ip, hl)));
	} else {
		ip[7] = want;
	}
	e->out |= GW_OUT_REWRITTEN;
}

/* Would the receiver of this segment drop it before reading anything of
 * it (RFC 793/5961, Linux tcp_rcv_established)? A non-SYN segment without
 * ACK (RSTs aside), one acknowledging bytes the receiver never sent, one
 * carrying a TCP-MD5/AO option the receiver holds no key for, or lacking
 * it where the receiver does. Such segments must not change what the
 * gateway believes the receiver read; inline they are dropped too, so the
 * receiver cannot get them whatever its stack would have done. Returns
 * the reason, or NULL when the segment is acceptable. */
static const char *
receiver_drops(const struct gw_engine *e, const struct flow *f, int dir, const struct pkt *p)
{
	const struct tcp_half *back = &f->half[!dir]; /* the receiver's own sending */
	/* (bytes it sent that wait unverified count as sent: tcp_trust.h) */
	uint32_t sent = tcp_trust_sent_end(e->trust, e->pool, f, !dir);
	int rcv_auth = (f->flags & (dir == FLOW_TO_SERVER ? FLOW_F_AUTH_S : FLOW_F_AUTH_C)) != 0;
	int rcv_fin = (f->ended & (dir == FLOW_TO_SERVER ? 2 : 1)) != 0;

	if ((p->tcp_opts & (PKT_OPT_MD5 | PKT_OPT_AO)) && !rcv_auth)
		return "authentication option the receiver has no key for";
	if (rcv_auth && !(p->tcp_opts & (PKT_OPT_MD5 | PKT_OPT_AO)))
		return "no authentication option where the receiver expects one";
	if (p->tcp_flags & PKT_TH_RST)
		return NULL; /* judged by its sequence number alone (end_acceptable) */
	if (!(p->tcp_flags & PKT_TH_ACK))
		return "no ACK flag";
	if ((back->flags & TCP_HALF_ISN) &&
	    tcp_seq_lt(sent + (rcv_fin ? 1u : 0u), p->ack))
		return "acknowledges bytes the receiver never sent";
	return NULL;
}

/* Push a segment's payload, leaving out an urgent byte the way a receiving
 * MTA (no SO_OOBINLINE) does: the byte before the urgent pointer is read
 * apart from the stream. Returns TCP_R_* bits. */
static int
push_payload(struct gw_engine *e, struct flow *f, int dir, const struct pkt *p,
    struct gw_deliver *d)
{
	struct tcp_half *h = &f->half[dir];
	uint32_t u = p->urg;
	int r;

	if (!(p->tcp_flags & PKT_TH_URG) || u == 0)
		return tcp_reasm_push(e->pool, h, p->seq, p->payload, p->payload_len, deliver, d);
	if (u > p->payload_len || p->seq != h->next_seq) {
		/* Out of order, or pointing past this segment: the receiver's
		 * stream cannot be rebuilt byte for byte. */
		smtp_raise(&f->smtp, d->out, SIG_INSPECTION_LIMIT,
		    "TCP urgent data the stream cannot be rebuilt around");
		f->smtp.phase = SMTP_PH_LOST;
		return 0;
	}
	e->st.urgent++;
	r = tcp_reasm_push(e->pool, h, p->seq, p->payload, u - 1, deliver, d);
	if (smtp_decided(&f->smtp) || h->next_seq != p->seq + u - 1)
		return r;
	tcp_half_skip(e->pool, h, p->payload + u - 1, 1); /* the urgent byte: not part of the stream */
	if (u < p->payload_len)
		r |= tcp_reasm_push(e->pool, h, p->seq + u, p->payload + u, p->payload_len - u,
		    deliver, d);
	return r;
}

/* A DNS answer: learn which names its addresses were asked as. */
static void
learn_dns(struct gw_engine *e, const uint8_t *msg, size_t len, uint64_t ts_us)
{
	gw_names_learn_dns(e->names, msg, len, ts_us);
	e->st.dns_answers++;
}

/* A DNS answer over TCP (a resolver retries there when the UDP answer was
 * truncated, which an on-path attacker can force): learn from every whole
 * message a segment holds from its first byte. Stateless, no reassembly:
 * an answer split across segments is not learned from (counted as bad). */
static void
learn_dns_tcp(struct gw_engine *e, const struct pkt *p, uint64_t ts_us)
{
	const uint8_t *b = p->payload, *msg;
	size_t left = p->payload_len, msglen, n;

	while (left > 2 && (n = dns_tcp_frame(b, left, &msg, &msglen)) != 0) {
		learn_dns(e, msg, msglen, ts_us);
		b += n;
		left -= n;
	}
}

/* Inline: make a segment that repeats bytes already inspected carry the
 * first copy's bytes, so the receiver cannot be shown other ones (first
 * copy wins, the same rule tcp_reasm keeps). Returns TCP_R_CONFLICT when
 * the segment was changed. Offline (no writable frame) tcp_reasm_push()
 * reports the same conflict itself. */
static int
first_copy(struct gw_engine *e, const struct tcp_half *h, const struct pkt *p)
{
	uintptr_t base = (uintptr_t)e->wframe, l4 = (uintptr_t)p->l4;

	if (e->wframe == NULL || p->l4 == NULL || l4 < base ||
	    l4 - base + p->l4_len > e->framelen || p->payload_len != p->payload_wire_len ||
	    !(h->flags & TCP_HALF_ISN))
		return 0; /* not ours to change (reassembled fragments), or cut short */
	if (tcp_reasm_first_copy(e->pool, h, p->seq,
	    e->wframe + ((uintptr_t)p->payload - base), p->payload_len) == 0)
		return 0;
	pkt_tcp_csum_write(p, e->wframe + (l4 - base));
	e->out |= GW_OUT_REWRITTEN;
	e->st.rewritten++;
	return TCP_R_CONFLICT;
}

/* Inspect one packet of a flow under inspection. */
static enum gw_verdict
inspect_packet(struct gw_engine *e, struct flow *f, int dir, const struct pkt *p,
    uint64_t ts_us)
{
	struct tcp_half *h = &f->half[dir];
	struct gw_tls_facts tls, *tp = NULL;
	struct pkt syn;
	struct smtp_out out;
	struct gw_deliver d = { f, dir, &out };
	int ok = seg_csum_ok(e, p), trusted;

	out_start(e, &out);
	if (!ok && e->wframe != NULL) {
		/* Inline the kernel knows: the receiver drops it, so do we
		 * from what we inspect (it changes no state either). */
		e->st.bad_checksum++;
		return GW_V_ACCEPT;
	}
	ttl_normalize(e, f, dir, p);
	if (p->tcp_flags & PKT_TH_SYN) {
		/* Checked before it changes anything (tcp_trust.h). */
		if (tcp_trust_handshake(f, dir, p, ok) && dir == FLOW_TO_CLIENT &&
		    (p->tcp_opts & (PKT_OPT_MD5 | PKT_OPT_AO)))
			f->flags |= FLOW_F_AUTH_S;
		if (dir == FLOW_TO_CLIENT)
			return GW_V_ACCEPT;
		/* Inline the rules clear the marks of every SYN: a retransmitted
		 * one marks its connection "being inspected" again. */
		e->out |= GW_OUT_INSPECTING;
		/* TCP Fast Open: a server that takes TFO (Exim does) hands the
		 * SYN's data to the MTA, so it is the first bytes of the
		 * client's stream and inspected (passed unseen, a whole mail
		 * could ride in it); one that refuses it gets the same bytes
		 * again at the same sequence number, as a retransmission. Only
		 * the data of the SYN that opened the flow, before any other:
		 * another ISN's is no part of this stream. (With a wrong
		 * checksum offline, it is held as any other data below.) */
		if (p->payload_len == 0 || p->seq + 1 != h->next_seq ||
		    !(h->flags & TCP_HALF_ISN))
			return GW_V_ACCEPT;
		syn = *p;
		syn.seq = p->seq + 1;
		p = &syn;
	} else if (receiver_drops(e, f, dir, p) != NULL) {
		e->st.insert_dropped++;
		return GW_V_DROP;
	}
	trusted = tcp_trust_segment(f, dir, p, ok);
	if (trusted)
		take_acked(e, f, dir, p, &out);
	if (!ok) {
		e->st.bad_checksum++;
		hold_payload(e, f, dir, p, &out);
	} else if (p->payload_len > 0) {
		if (!(h->flags & TCP_HALF_ISN))
			tcp_half_init(h, p->seq); /* SYN-ACK not seen: start at the first byte */
		f->state = FLOW_ST_INSPECT;
		tcp_trust_verified(e->trust, e->pool, f, dir, p);
		reasm_findings(f, dir, first_copy(e, h, p) | push_payload(e, f, dir, p, &d), &out);
		if (p->payload_len < p->payload_wire_len && !smtp_decided(&f->smtp)) {
			/* Snaplen cut the segment: the stream has a hole we cannot fill. */
			smtp_raise(&f->smtp, &out, SIG_INSPECTION_LIMIT,
			    "capture cut a segment short (snaplen)");
			f->smtp.phase = SMTP_PH_LOST;
		}
	}
	if ((p->tcp_flags & (PKT_TH_FIN | PKT_TH_RST)) && trusted) {
		if (!end_acceptable(h, p)) {
			e->st.bad_rst++;
		} else {
			f->ended |= (uint8_t)(dir == FLOW_TO_SERVER ? 1 : 2);
			if (p->tcp_flags & PKT_TH_RST) {
				f->ended = 3;
				f->flags |= FLOW_F_RESET;
			}
			if (!smtp_decided(&f->smtp))
				smtp_end(&f->smtp, (p->tcp_flags & PKT_TH_RST) != 0, &out);
		}
	}
	if ((f->smtp.flags & SMTP_F_GOT_BANNER) && !(f->flags & FLOW_F_BANNER))
		flow_banner_policy(e, f, ts_us);
	if (f->smtp.flags & SMTP_F_OWED)
		flow_rcpt_policy(e, f, ts_us, &out);
	if (f->smtp.phase == SMTP_PH_TLS) {
		tls_read(e, f, &tls);
		tls_findings(e, f, &tls, &out);
		tp = &tls;
	}
	/* Lost without a handshake failing by itself (the retry is what
	 * matters there): given up, so the policy settles it. */
	if (f->smtp.phase == SMTP_PH_LOST && !(f->smtp.raised & (1u << SIG_TLS_HANDSHAKE_FAILED)))
		give_up(e, f, &out, "the session could no longer be followed", 0);
	if (handle_findings(e, f, &out, ts_us, tp) | give_up_blocks(e, f)) {
		flow_settle(e, f, FLOW_ST_BLOCKED);
		flow_report(e, f, "blocked", ts_us, tp);
		return GW_V_BLOCK;
	}
	if (smtp_decided(&f->smtp)) {
		uint8_t ph = f->smtp.phase;
		flow_settle(e, f, FLOW_ST_DECIDED);
		flow_report(e, f, decided_verdict(f), ts_us, tp);
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
gw_engine_packet_inline(struct gw_engine *e, uint8_t *ip, size_t len, uint64_t ts_us,
    unsigned ct, struct pkt *p, unsigned *out)
{
	enum gw_verdict v;

	e->wframe = ip;
	e->framelen = len;
	e->ct_in = ct;
	e->kcsum = (ct & GW_CT_CSUM_OK) != 0;
	v = gw_engine_packet(e, PKT_LINK_RAW, ip, len, ts_us, p);
	*out = e->out; /* (a dropped packet's change goes nowhere) */
	e->wframe = NULL;
	e->ct_in = 0;
	e->kcsum = 0;
	return v;
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
	e->out = 0;
	expire_some(e, ts_us, GW_EXPIRE_PER_PACKET, GW_EXPIRE_SCAN);
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
		learn_dns(e, p->payload, p->payload_len, ts_us);
	}
	if (rc != PKT_OK) {
		e->st.verdicts[GW_V_ACCEPT]++;
		return GW_V_ACCEPT;
	}
	if (p->sport == 53 && e->conf.learn_dns && p->payload_len > 2)
		learn_dns_tcp(e, p, ts_us);
	f = flow_lookup(e->ft, p, &dir);
	if (f != NULL && dir == FLOW_TO_SERVER && (!flow_inspecting(f) || (f->flags & FLOW_F_RESET)) &&
	    (p->tcp_flags & (PKT_TH_SYN | PKT_TH_ACK | PKT_TH_RST)) == PKT_TH_SYN) {
		/* A new connection on the 4-tuple of a settled flow (port
		 * reuse, NAT: the old one ended unseen, its FIN/RST bypassed
		 * with it), or of a reset one kept for its stragglers. Inline
		 * the rules clear the conntrack marks of a SYN
		 * (netns-scripts/rules.sh), so it reaches us: start afresh. */
		e->st.reused++;
		flow_finish(e, f, FLOW_REMOVE_ENDED, ts_us);
		f = NULL;
	}
	if (f == NULL) {
		if (!port_inspected(e, p->dport) && !port_inspected(e, p->sport)) {
			e->st.not_monitored++;
			v = GW_V_ACCEPT;
		} else if ((p->tcp_flags & (PKT_TH_SYN | PKT_TH_ACK | PKT_TH_RST)) == PKT_TH_SYN &&
		    port_inspected(e, p->dport)) {
			f = flow_start(e, p, ts_us);
			if (f) {
				f->pkts[0] = 1;
				gw_evidence_packet(e->evid, f->id, ts_us, linktype, frame, caplen);
				v = GW_V_ACCEPT;
				if (p->payload_len > 0) { /* TCP Fast Open data */
					f->bytes[0] += p->payload_len;
					e->cur = f;
					v = inspect_packet(e, f, FLOW_TO_SERVER, p, ts_us);
					e->cur = NULL;
				}
			} else {
				v = GW_V_BYPASS;
			}
		} else if (p->tcp_flags & PKT_TH_RST) {
			v = GW_V_ACCEPT; /* a stray RST: nothing to follow */
		} else {
			v = flow_midstream(e, p, ts_us);
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
		if (f->state == FLOW_ST_SYN || f->state == FLOW_ST_INSPECT)
			gw_evidence_packet(e->evid, f->id, ts_us, linktype, frame, caplen);
		e->cur = f;
		v = inspect_packet(e, f, dir, p, ts_us);
		e->cur = NULL;
		break;
	}
	/* A connection that is over leaves the table (its summary is written).
	 * Inspected flows judged the RST/FIN above; a decided one ends at any
	 * RST, as it is only remembered to be passed cheaply. An undecided flow
	 * reset at the right sequence number stays (until idle expiry, or a new
	 * SYN): the RST may still be lost after the gateway, and whatever its
	 * ends send next must be inspected, not picked up midstream and passed.
	 * A blocked flow stays too: a forged RST must not turn its drops into
	 * a midstream pass. */
	if (f->state == FLOW_ST_BLOCKED || ((f->flags & FLOW_F_RESET) &&
	    (f->state == FLOW_ST_SYN || f->state == FLOW_ST_INSPECT))) {
		/* kept */
	} else if (f->ended == 3 || ((p->tcp_flags & PKT_TH_RST) && f->state != FLOW_ST_SYN &&
	    f->state != FLOW_ST_INSPECT)) {
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
	if (e->hs) {
		struct hsbuf_pool_stats hs;
		hsbuf_pool_get_stats(e->hs, &hs);
		st->hs_exhausted = hs.exhausted;
	}
}
