/*
 * gw_pins.c - learned pins: lock and file around policy/pol_pins (see gw_pins.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gw_file.h"
#include "gw_pins.h"

/* A pins file larger than this is not ours: refuse rather than read it. */
#define GW_PINS_FILE_MAX (256u << 20)

struct gw_pins {
	pthread_mutex_t  lock;
	struct pol_pins *t;        /* the table */
	char            *path;     /* file, "" = none */
	int              dirty;    /* changed since the last save */
};

struct gw_pins *
gw_pins_new(size_t cap, const char *path, uint32_t seed)
{
	struct gw_pins *g = calloc(1, sizeof(*g));

	if (g == NULL)
		return NULL;
	g->t = pol_pins_new(cap, seed);
	g->path = strdup(path ? path : "");
	if (g->t == NULL || g->path == NULL) {
		gw_pins_free(g);
		return NULL;
	}
	pthread_mutex_init(&g->lock, NULL);
	return g;
}

void
gw_pins_free(struct gw_pins *g)
{
	if (g == NULL)
		return;
	if (g->t)
		pthread_mutex_destroy(&g->lock);
	pol_pins_free(g->t);
	free(g->path);
	free(g);
}

int
gw_pins_load(struct gw_pins *g, char *err, size_t errlen)
{
	char perr[256];
	size_t len;
	char *buf;
	int rc;

	if (g->path[0] == '\0')
		return 0;
	if ((buf = gw_read_file(g->path, GW_PINS_FILE_MAX, &len, NULL, err, errlen)) == NULL)
		return errno == ENOENT ? 0 : -1;   /* no file yet: no pins yet */
	pthread_mutex_lock(&g->lock);
	rc = pol_pins_parse(g->t, buf, len, NULL, perr, sizeof(perr));
	pthread_mutex_unlock(&g->lock);
	free(buf);
	if (rc == -1) {
		snprintf(err, errlen, "%s: %s", g->path, perr);
		return -1;
	}
	return 0;
}

int
gw_pins_save(struct gw_pins *g, char *err, size_t errlen)
{
	char tmp[4096 + 16];
	size_t need, cap;
	char *buf = NULL;
	int fd;

	if (g->path[0] == '\0')
		return 0;
	pthread_mutex_lock(&g->lock);
	if (!g->dirty) {
		pthread_mutex_unlock(&g->lock);
		return 0;
	}
	cap = POL_PINS_LINE_MAX * (pol_pins_count(g->t) + 1) + 1;
	if ((buf = malloc(cap)) != NULL) {
		need = pol_pins_write(g->t, buf, cap);
		if (need >= cap) {
			free(buf);
			buf = NULL;
		}
	}
	if (buf != NULL)
		g->dirty = 0;
	pthread_mutex_unlock(&g->lock);
	if (buf == NULL) {
		snprintf(err, errlen, "%s: out of memory", g->path);
		return -1;
	}
	snprintf(tmp, sizeof(tmp), "%s.tmp", g->path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd == -1 || write(fd, buf, need) != (ssize_t)need || fsync(fd) == -1 ||
	    close(fd) == -1 || rename(tmp, g->path) == -1) {
		snprintf(err, errlen, "%s: cannot write: %s", g->path, strerror(errno));
		if (fd != -1)
			unlink(tmp);
		free(buf);
		pthread_mutex_lock(&g->lock);
		g->dirty = 1;
		pthread_mutex_unlock(&g->lock);
		return -1;
	}
	free(buf);
	return 0;
}

void
gw_pins_see(struct gw_pins *g, uint8_t af, const struct pkt_addr *addr,
    const char *mx, int64_t now_s)
{
	pthread_mutex_lock(&g->lock);
	if (pol_pins_see(g->t, af, addr, mx, now_s) >= 0)
		g->dirty = 1;
	pthread_mutex_unlock(&g->lock);
}

int
gw_pins_lookup(struct gw_pins *g, uint8_t af, const struct pkt_addr *addr,
    int64_t now_s, uint32_t max_age, struct pol_pin *out)
{
	int r;

	pthread_mutex_lock(&g->lock);
	r = pol_pins_lookup(g->t, af, addr, now_s, max_age, out);
	pthread_mutex_unlock(&g->lock);
	return r;
}

int
gw_pins_list(struct gw_pins *g, FILE *out)
{
	size_t cap, need;
	char *buf;

	pthread_mutex_lock(&g->lock);
	cap = POL_PINS_LINE_MAX * (pol_pins_count(g->t) + 1) + 1;
	if ((buf = malloc(cap)) != NULL)
		need = pol_pins_write(g->t, buf, cap);
	pthread_mutex_unlock(&g->lock);
	if (buf == NULL)
		return -1;
	fwrite(buf, 1, need < cap ? need : 0, out);
	free(buf);
	return 0;
}

size_t
gw_pins_forget(struct gw_pins *g, const char *what)
{
	struct pkt_addr a;
	size_t n;

	memset(&a, 0, sizeof(a));
	pthread_mutex_lock(&g->lock);
	if (inet_pton(AF_INET, what, a.a) == 1)
		n = (size_t)pol_pins_forget_addr(g->t, 4, &a);
	else if (inet_pton(AF_INET6, what, a.a) == 1)
		n = (size_t)pol_pins_forget_addr(g->t, 6, &a);
	else
		n = pol_pins_forget_mx(g->t, what);
	if (n > 0)
		g->dirty = 1;
	pthread_mutex_unlock(&g->lock);
	return n;
}

size_t
gw_pins_count(struct gw_pins *g)
{
	size_t n;

	pthread_mutex_lock(&g->lock);
	n = pol_pins_count(g->t);
	pthread_mutex_unlock(&g->lock);
	return n;
}
