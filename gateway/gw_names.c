/*
 * gw_names.c - address -> MX name learned from DNS answers (see gw_names.h).
 *
 * A-records answer the question that was asked: when a resolver asks for
 * mx.example.net and gets a CNAME chain ending in an address, the name the
 * sender will present policy for is the question, not the chain's end, so
 * the question name is what we remember for answer-section addresses.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_clq.h"
#include "gw_names.h"

/* Entries per set: enough to ride out a few collisions. */
#define GW_NAMES_WAYS 4

struct name_entry {
	struct pkt_addr addr;              /* the address */
	uint64_t expires_us;               /* 0 = empty */
	uint8_t  af;
	char     name[GW_NAMES_NAME_MAX + 1];
};

struct gw_names {
	pthread_mutex_t    lock;
	uint32_t           sets;     /* power of two */
	uint64_t           seed;
	struct name_entry *e;        /* sets * GW_NAMES_WAYS */
	struct gw_clq     *tap;      /* learned from DNS goes here too (cluster), NULL = off */
	struct gw_names_stats st;
};

/* What a DNS callback needs. */
struct learn_ctx {
	struct gw_names *n;
	const struct dns_info *info;
	uint64_t now_us;
};

struct gw_names *
gw_names_new(uint32_t entries, uint64_t seed)
{
	struct gw_names *n = calloc(1, sizeof(*n));
	uint32_t sets = 1;

	if (n == NULL)
		return NULL;
	while (sets * GW_NAMES_WAYS < entries && sets < (1u << 22))
		sets <<= 1;
	if ((n->e = calloc((size_t)sets * GW_NAMES_WAYS, sizeof(*n->e))) == NULL) {
		free(n);
		return NULL;
	}
	n->sets = sets;
	n->seed = seed | 1;
	pthread_mutex_init(&n->lock, NULL);
	return n;
}

void
gw_names_free(struct gw_names *n)
{
	if (n == NULL)
		return;
	pthread_mutex_destroy(&n->lock);
	free(n->e);
	free(n);
}

/* First entry of the set an address belongs to. */
static struct name_entry *
set_of(struct gw_names *n, uint8_t af, const struct pkt_addr *a)
{
	uint64_t h = 0xcbf29ce484222325ULL ^ n->seed ^ af;

	for (int i = 0; i < 16; i++)
		h = (h ^ a->a[i]) * 0x100000001b3ULL;
	return &n->e[(size_t)((h ^ (h >> 29)) & (n->sets - 1)) * GW_NAMES_WAYS];
}

void
gw_names_put(struct gw_names *n, uint8_t af, const struct pkt_addr *addr,
    const char *name, uint32_t ttl, uint64_t now_us)
{
	size_t len = strlen(name);
	struct name_entry *set, *victim;

	if (len == 0 || len > GW_NAMES_NAME_MAX)
		return;
	if (ttl < GW_NAMES_TTL_MIN)
		ttl = GW_NAMES_TTL_MIN;
	if (ttl > GW_NAMES_TTL_MAX)
		ttl = GW_NAMES_TTL_MAX;
	pthread_mutex_lock(&n->lock);
	set = set_of(n, af, addr);
	victim = &set[0];
	for (int i = 0; i < GW_NAMES_WAYS; i++) {
		struct name_entry *e = &set[i];
		if (e->expires_us != 0 && e->af == af && memcmp(&e->addr, addr, sizeof(*addr)) == 0) {
			victim = e; /* the same address: the newest answer wins */
			break;
		}
		if (e->expires_us < victim->expires_us)
			victim = e;
	}
	if (victim->expires_us > now_us && (victim->af != af ||
	    memcmp(&victim->addr, addr, sizeof(*addr)) != 0))
		n->st.replaced++;
	victim->af = af;
	victim->addr = *addr;
	victim->expires_us = now_us + (uint64_t)ttl * 1000000;
	memcpy(victim->name, name, len + 1);
	n->st.learned++;
	pthread_mutex_unlock(&n->lock);
}

int
gw_names_get(struct gw_names *n, uint8_t af, const struct pkt_addr *addr,
    uint64_t now_us, char *out, size_t outlen)
{
	int found = 0;

	pthread_mutex_lock(&n->lock);
	struct name_entry *set = set_of(n, af, addr);
	for (int i = 0; i < GW_NAMES_WAYS; i++) {
		struct name_entry *e = &set[i];
		if (e->expires_us > now_us && e->af == af &&
		    memcmp(&e->addr, addr, sizeof(*addr)) == 0) {
			snprintf(out, outlen, "%s", e->name);
			found = 1;
			break;
		}
	}
	pthread_mutex_unlock(&n->lock);
	return found;
}

/* Hand a learned address to the cluster queue, with the expiry
 * gw_names_put gave it. */
static void
names_tap(struct gw_names *n, const struct dns_rr *rr, const char *name, uint64_t now_us)
{
	struct gw_fact f;
	uint32_t ttl = rr->ttl;

	if (strlen(name) > GW_NAMES_NAME_MAX || !gw_fact_name_ok(name))
		return;
	if (ttl < GW_NAMES_TTL_MIN)
		ttl = GW_NAMES_TTL_MIN;
	if (ttl > GW_NAMES_TTL_MAX)
		ttl = GW_NAMES_TTL_MAX;
	memset(&f, 0, sizeof f);
	f.kind = GW_FACT_MX;
	f.af = rr->af;
	f.addr = rr->addr;
	snprintf(f.name, sizeof f.name, "%s", name);
	f.at_us = now_us;
	f.expires_us = now_us + (uint64_t)ttl * 1000000;
	gw_clq_push(n->tap, &f, 1);
}

void
gw_names_set_tap(struct gw_names *n, struct gw_clq *q)
{
	n->tap = q;
}

/* dns_parse callback: remember each address under the name asked for. */
static int
learn_rr(const struct dns_rr *rr, void *arg)
{
	struct learn_ctx *c = arg;
	const char *name = rr->owner;

	if (rr->type != DNS_T_A && rr->type != DNS_T_AAAA)
		return 0;
	if (rr->section == DNS_SEC_AUTHORITY)
		return 0;
	/* Answer section: the chain answers the question. */
	if (rr->section == DNS_SEC_ANSWER && c->info->qname[0] != '\0' &&
	    (c->info->qtype == DNS_T_A || c->info->qtype == DNS_T_AAAA))
		name = c->info->qname;
	gw_names_put(c->n, rr->af, &rr->addr, name, rr->ttl, c->now_us);
	if (c->n->tap != NULL)
		names_tap(c->n, rr, name, c->now_us);
	return 0;
}

void
gw_names_learn_dns(struct gw_names *n, const uint8_t *msg, size_t len, uint64_t now_us)
{
	struct dns_info info;
	struct learn_ctx c = { n, &info, now_us };

	if (dns_parse(msg, len, &info, learn_rr, &c) != DNS_OK) {
		pthread_mutex_lock(&n->lock);
		n->st.bad++;
		pthread_mutex_unlock(&n->lock);
		return;
	}
	pthread_mutex_lock(&n->lock);
	n->st.messages++;
	pthread_mutex_unlock(&n->lock);
}

void
gw_names_get_stats(struct gw_names *n, struct gw_names_stats *st)
{
	pthread_mutex_lock(&n->lock);
	*st = n->st;
	pthread_mutex_unlock(&n->lock);
}
