/*
 * tcp_trust.c - the handshake and TCP checksum trust (see tcp_trust.h).
 *
 * The held bytes of a flow are listed in a small table of slots found by
 * the flow's address: it is only ever used for offline captures with
 * offloaded checksums, so the flow itself keeps one bit (FLOW_T_HELD), not
 * the lists.
 */
#include <stdlib.h>

#include "tcp_trust.h"

/* One flow's held bytes, per direction. */
struct tcp_trust_slot {
	const struct flow *f;    /* owner, NULL = free */
	struct tcp_held held[2]; /* FLOW_TO_SERVER, FLOW_TO_CLIENT */
};

struct tcp_trust {
	uint32_t nslots;
	struct tcp_trust_slot *slot;
};

struct tcp_trust *
tcp_trust_new(uint32_t slots)
{
	struct tcp_trust *t = calloc(1, sizeof(*t));

	if (t == NULL)
		return NULL;
	t->nslots = slots ? slots : 1;
	t->slot = calloc(t->nslots, sizeof(*t->slot));
	if (t->slot == NULL) {
		free(t);
		return NULL;
	}
	return t;
}

void
tcp_trust_free(struct tcp_trust *t)
{
	if (t == NULL)
		return;
	free(t->slot);
	free(t);
}

/* The slot holding f's bytes, or NULL. */
static struct tcp_trust_slot *
slot_of(const struct tcp_trust *t, const struct flow *f)
{
	if (!(f->flags & FLOW_T_HELD))
		return NULL;
	for (uint32_t i = 0; i < t->nslots; i++)
		if (t->slot[i].f == f)
			return &t->slot[i];
	return NULL;
}

/* f's slot, taking a free one when it has none (NULL: none free). */
static struct tcp_trust_slot *
slot_make(struct tcp_trust *t, struct flow *f)
{
	struct tcp_trust_slot *sl = slot_of(t, f);

	for (uint32_t i = 0; sl == NULL && i < t->nslots; i++)
		if (t->slot[i].f == NULL) {
			sl = &t->slot[i];
			sl->f = f;
			f->flags |= FLOW_T_HELD;
		}
	return sl;
}

/* Side bit of the offload flag for a direction's sender. */
static uint16_t
nocsum(int dir)
{
	return dir == FLOW_TO_SERVER ? FLOW_F_NOCSUM_C : FLOW_F_NOCSUM_S;
}

/* Nothing of h has been delivered or buffered since it started at isn1. */
static int
untouched(const struct tcp_half *h, uint32_t isn1)
{
	return h->next_seq == isn1 && h->ooo == 0 && h->hist_len == 0;
}

/* The client's ISN + 1 is next1 (what the server acknowledged): move the
 * client half there if nothing was delivered from the other one, and note
 * a first SYN with a wrong checksum that the server took. */
static void
client_isn(struct flow *f, uint32_t next1)
{
	struct tcp_half *c = &f->half[FLOW_TO_SERVER];

	if (c->next_seq == next1) {
		if (f->flags & FLOW_T_SYN_BAD)
			f->flags |= FLOW_F_NOCSUM_C;
		return;
	}
	if (c->ooo == 0 && c->hist_len == 0)
		tcp_half_init(c, next1); /* a forged first SYN: the server took another */
}

void
tcp_trust_first_syn(struct flow *f, const struct pkt *p, int csum_ok)
{
	tcp_half_init(&f->half[FLOW_TO_SERVER], p->seq + 1);
	f->half[FLOW_TO_CLIENT].flags = 0; /* ISN unknown until the SYN-ACK */
	f->flags = (uint16_t)((f->flags & ~FLOW_T_ALL) | (csum_ok ? 0 : FLOW_T_SYN_BAD));
}

int
tcp_trust_handshake(struct flow *f, int dir, const struct pkt *p, int csum_ok)
{
	struct tcp_half *s = &f->half[FLOW_TO_CLIENT];
	uint32_t isn1 = p->seq + 1;

	if (dir == FLOW_TO_SERVER) {
		/* A SYN again: a right copy of the first one clears its doubt;
		 * another ISN waits for the SYN-ACK to say which was taken. */
		if (!(p->tcp_flags & PKT_TH_ACK) && csum_ok && !(f->flags & FLOW_T_SA_TAKEN) &&
		    isn1 == f->half[FLOW_TO_SERVER].next_seq)
			f->flags &= (uint16_t)~FLOW_T_SYN_BAD;
		return 0;
	}
	if (!(p->tcp_flags & PKT_TH_ACK))
		return 0; /* a SYN from the server's port: no handshake of ours */
	if (!csum_ok) {
		/* Held as a candidate: the client's ACK decides (tcp_trust_ack),
		 * unless a right copy comes first. The first one stays. */
		if (!(f->flags & (FLOW_T_SA_TAKEN | FLOW_T_SA_PENDING))) {
			s->next_seq = isn1;
			s->flags = 0;
			f->flags |= FLOW_T_SA_PENDING;
		}
		return 0;
	}
	if (f->flags & FLOW_T_SA_TAKEN) {
		/* Final when taken from a right checksum (the client answers a
		 * second SYN-ACK with a challenge ACK); a wrong-checksum one
		 * gives way to a right one until server data was seen. */
		if (!(f->flags & FLOW_T_SA_BAD) || !untouched(s, s->next_seq) ||
		    (f->flags & FLOW_T_HELD))
			return 0;
		f->flags &= (uint16_t)~(FLOW_F_NOCSUM_S | FLOW_F_NOCSUM_C);
	}
	tcp_half_init(s, isn1);
	f->flags = (uint16_t)((f->flags & ~(FLOW_T_SA_PENDING | FLOW_T_SA_BAD)) | FLOW_T_SA_TAKEN);
	client_isn(f, p->ack);
	return 1;
}

int
tcp_trust_segment(const struct flow *f, int dir, const struct pkt *p, int csum_ok)
{
	if (csum_ok || (f->flags & nocsum(dir)))
		return 1;
	/* The third segment of a handshake all of whose checksums are wrong:
	 * the server took the first SYN, the client took the SYN-ACK. */
	return dir == FLOW_TO_SERVER &&
	    (f->flags & (FLOW_T_SYN_BAD | FLOW_T_SA_PENDING)) == (FLOW_T_SYN_BAD | FLOW_T_SA_PENDING) &&
	    (p->tcp_flags & PKT_TH_ACK) && p->ack == f->half[FLOW_TO_CLIENT].next_seq &&
	    p->seq == f->half[FLOW_TO_SERVER].next_seq;
}

int
tcp_trust_ack(struct tcp_trust *t, struct tcp_pool *pool, struct flow *f, int dir,
    const struct pkt *p, tcp_deliver_fn deliver, void *ctx)
{
	struct tcp_trust_slot *sl;
	int other = !dir, r;

	if (dir == FLOW_TO_SERVER && (f->flags & FLOW_T_SA_PENDING) &&
	    p->ack == f->half[FLOW_TO_CLIENT].next_seq) {
		/* The client took the wrong-checksum SYN-ACK: the server's
		 * checksums are unfilled in this capture. */
		tcp_half_init(&f->half[FLOW_TO_CLIENT], p->ack);
		f->flags = (uint16_t)((f->flags & ~FLOW_T_SA_PENDING) | FLOW_T_SA_TAKEN | FLOW_T_SA_BAD);
		f->flags |= FLOW_F_NOCSUM_S;
		client_isn(f, p->seq);
	}
	if ((sl = slot_of(t, f)) == NULL || !(f->half[other].flags & TCP_HALF_ISN))
		return 0;
	r = tcp_held_take(pool, &sl->held[other], &f->half[other], p->ack, deliver, ctx);
	if (r & TCP_R_DELIVERED)
		f->flags |= nocsum(other);
	return r;
}

int
tcp_trust_hold(struct tcp_trust *t, struct tcp_pool *pool, struct flow *f, int dir,
    const struct pkt *p)
{
	struct tcp_trust_slot *sl = slot_make(t, f);

	if (sl == NULL)
		return TCP_R_LIMIT;
	return tcp_held_add(pool, &sl->held[dir], &f->half[dir], p->seq, p->payload,
	    p->payload_len);
}

void
tcp_trust_verified(struct tcp_trust *t, struct tcp_pool *pool, struct flow *f, int dir,
    const struct pkt *p)
{
	struct tcp_trust_slot *sl = slot_of(t, f);

	if (sl != NULL)
		tcp_held_drop(pool, &sl->held[dir], p->seq, p->payload_len);
}

uint32_t
tcp_trust_sent_end(const struct tcp_trust *t, const struct tcp_pool *pool, const struct flow *f,
    int dir)
{
	struct tcp_trust_slot *sl = slot_of(t, f);
	uint32_t end = f->half[dir].next_seq;

	return sl != NULL ? tcp_held_end(pool, &sl->held[dir], end) : end;
}

void
tcp_trust_forget(struct tcp_trust *t, struct tcp_pool *pool, struct flow *f)
{
	struct tcp_trust_slot *sl = slot_of(t, f);

	if (sl == NULL)
		return;
	tcp_held_release(pool, &sl->held[0]);
	tcp_held_release(pool, &sl->held[1]);
	sl->f = NULL;
	f->flags &= (uint16_t)~FLOW_T_HELD;
}
