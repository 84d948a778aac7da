/*
 * gw_clq.c - bounded fact queue with an eventfd wake-up (see gw_clq.h).
 *
 * A ring under one mutex: pushes are rare (learning events) and short, so
 * a lock-free ring would buy nothing measurable; the bench (bench/cluster)
 * shows the per-packet cost with and without it.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/eventfd.h>

#include "gw_clq.h"

#define GW_CLQ_CAP_MAX (1u << 20)

struct gw_clq {
	pthread_mutex_t lock;
	struct gw_fact *ring;   /* cap slots */
	uint32_t        cap;
	uint32_t        head;   /* oldest */
	uint32_t        len;    /* facts waiting */
	int             efd;    /* eventfd: the drainer's wake-up */
	int             armed;  /* a wake-up is pending (written, not yet drained) */
	struct gw_clq_stats st;
};

struct gw_clq *
gw_clq_new(uint32_t cap)
{
	struct gw_clq *q;

	if (cap == 0 || cap > GW_CLQ_CAP_MAX || (q = calloc(1, sizeof(*q))) == NULL)
		return NULL;
	q->ring = calloc(cap, sizeof(*q->ring));
	q->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (q->ring == NULL || q->efd < 0) {
		if (q->efd >= 0)
			close(q->efd);
		free(q->ring);
		free(q);
		return NULL;
	}
	q->cap = cap;
	pthread_mutex_init(&q->lock, NULL);
	return q;
}

void
gw_clq_free(struct gw_clq *q)
{
	if (q == NULL)
		return;
	close(q->efd);
	pthread_mutex_destroy(&q->lock);
	free(q->ring);
	free(q);
}

int
gw_clq_fd(const struct gw_clq *q)
{
	return q->efd;
}

void
gw_clq_push(struct gw_clq *q, const struct gw_fact *f, int urgent)
{
	int wake = 0;

	pthread_mutex_lock(&q->lock);
	if (q->len == q->cap)
		q->st.dropped++;
	else {
		q->ring[(q->head + q->len) % q->cap] = *f;
		q->len++;
		q->st.pushed++;
		if (urgent && !q->armed)
			wake = q->armed = 1;
	}
	pthread_mutex_unlock(&q->lock);
	if (wake) {
		uint64_t one = 1;
		/* the counter only saturates after 2^64 - 1 wakes: ignore the result */
		if (write(q->efd, &one, sizeof one) < 0)
			return;
	}
}

size_t
gw_clq_drain(struct gw_clq *q, struct gw_fact *out, size_t max)
{
	uint64_t v;
	size_t n = 0;

	/* clear the wake-up first: an urgent push after this re-arms it */
	if (read(q->efd, &v, sizeof v) < 0)
		v = 0;
	pthread_mutex_lock(&q->lock);
	q->armed = 0;
	while (n < max && q->len > 0) {
		out[n++] = q->ring[q->head];
		q->head = (q->head + 1) % q->cap;
		q->len--;
	}
	pthread_mutex_unlock(&q->lock);
	return n;
}

size_t
gw_clq_len(struct gw_clq *q)
{
	size_t n;

	pthread_mutex_lock(&q->lock);
	n = q->len;
	pthread_mutex_unlock(&q->lock);
	return n;
}

void
gw_clq_get_stats(struct gw_clq *q, struct gw_clq_stats *st)
{
	pthread_mutex_lock(&q->lock);
	*st = q->st;
	pthread_mutex_unlock(&q->lock);
}
