/*
 * gw_evidence.c - packet ring per engine, pcap of an alerted flow, bounded directory.
 *
 * The ring is one preallocated byte buffer of records (header + frame),
 * oldest first, overwritten oldest-first when full: a record never spans
 * the end of the buffer (the space left there is skipped, "wrap_at"). On
 * an alert the ring is walked once, oldest to newest, and the flow's
 * records go to a pcap file written by hand (no libpcap here: it stays in
 * gw_offline.c). Then the directory is listed and the oldest evidence files
 * (by mtime) deleted until max_files and max_bytes hold. Must not log:
 * callers count failures through gw_evidence_get_stats().
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../inspect/pkt.h"
#include "gw_evidence.h"

/* Longest frame kept: the NFQUEUE copy range, GSO packets included. */
#define EVID_SNAPLEN   65535u
/* Per-file name budget: "<flow_id>-<signature>[-N].pcap". */
#define EVID_NAME_MAX  128
/* Tries of a "-N" suffix when two engines' flow ids meet in one name. */
#define EVID_DUP_TRIES 9

/* One packet in the ring; the frame follows, padded to 8 bytes. */
struct evid_rec {
	uint64_t flow_id;   /* engine's flow id (EVE flow_id) */
	uint64_t ts_us;     /* capture or arrival time */
	uint32_t caplen;    /* bytes of frame stored */
	uint32_t origlen;   /* bytes of the original frame */
	int32_t  linktype;  /* PKT_LINK_* (DLT) of the frame */
	uint32_t reclen;    /* header + frame + padding */
};

struct gw_evidence {
	struct gw_evidence_conf conf; /* copy of the settings */
	uint8_t *buf;                 /* the ring, conf.ring_bytes */
	size_t   cap;                 /* its size */
	size_t   head;                /* offset of the oldest record (n > 0) */
	size_t   tail;                /* where the next record goes */
	size_t   wrap_at;             /* end of the upper segment when wrapped */
	int      wrapped;             /* records run [head, wrap_at) then [0, tail) */
	size_t   n;                   /* records in the ring */
	struct gw_evidence_stats st;  /* counters */
};

uint32_t
gw_evidence_linktype(int dlt)
{
	switch (dlt) {
	case PKT_LINK_RAW:
	case PKT_LINK_RAW_BSD:
		return PKT_LINK_RAW_LT;   /* DLT_RAW differs by OS; the file value is 101 */
	default:
		return (uint32_t)dlt;     /* the others are the same in files */
	}
}

struct gw_evidence *
gw_evidence_new(const struct gw_evidence_conf *c)
{
	struct gw_evidence *ev;

	if ((ev = calloc(1, sizeof(*ev))) == NULL)
		return NULL;
	ev->conf = *c;
	ev->cap = c->ring_bytes < GW_EVIDENCE_RING_MIN ? GW_EVIDENCE_RING_MIN : c->ring_bytes;
	if ((ev->buf = malloc(ev->cap)) == NULL) {
		free(ev);
		return NULL;
	}
	return ev;
}

void
gw_evidence_free(struct gw_evidence *ev)
{
	if (ev == NULL)
		return;
	free(ev->buf);
	free(ev);
}

/* Drop the oldest record. */
static void
ring_evict(struct gw_evidence *ev)
{
	const struct evid_rec *r = (const struct evid_rec *)(void *)(ev->buf + ev->head);

	ev->head += r->reclen;
	ev->n--;
	if (ev->wrapped && ev->head >= ev->wrap_at) {
		ev->head = 0;
		ev->wrapped = 0;
	}
}

/* Offset where a record of need bytes can go, evicting the oldest as needed. */
static size_t
ring_reserve(struct gw_evidence *ev, size_t need)
{
	for (;;) {
		if (ev->n == 0) {
			ev->head = ev->tail = 0;
			ev->wrapped = 0;
		}
		if (!ev->wrapped) {
			if (ev->cap - ev->tail >= need)
				return ev->tail;
			ev->wrap_at = ev->tail;  /* skip the end, go round */
			ev->wrapped = 1;
			ev->tail = 0;
			continue;
		}
		if (ev->head - ev->tail >= need)
			return ev->tail;
		ring_evict(ev);
	}
}

void
gw_evidence_packet(struct gw_evidence *ev, uint64_t flow_id, uint64_t ts_us,
    int linktype, const uint8_t *frame, size_t caplen)
{
	struct evid_rec *r;
	size_t keep, need, off;

	if (ev == NULL || frame == NULL)
		return;
	keep = caplen > EVID_SNAPLEN ? EVID_SNAPLEN : caplen;
	if (keep > ev->cap / 2 - sizeof(*r))
		keep = ev->cap / 2 - sizeof(*r);
	need = (sizeof(*r) + keep + 7) & ~(size_t)7;
	off = ring_reserve(ev, need);
	r = (struct evid_rec *)(void *)(ev->buf + off);
	r->flow_id = flow_id;
	r->ts_us = ts_us;
	r->caplen = (uint32_t)keep;
	r->origlen = (uint32_t)caplen;
	r->linktype = linktype;
	r->reclen = (uint32_t)need;
	memcpy(ev->buf + off + sizeof(*r), frame, keep);
	ev->tail = off + need;
	ev->n++;
	ev->st.packets++;
}

/* Append n bytes to fd in full. */
static int
write_all(int fd, const void *p, size_t n)
{
	const uint8_t *b = p;

	while (n > 0) {
		ssize_t w = write(fd, b, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		b += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Write rec's frame as one pcap record (host byte order, as the magic says). */
static int
write_record(int fd, const struct evid_rec *r)
{
	uint32_t h[4];

	h[0] = (uint32_t)(r->ts_us / 1000000u);
	h[1] = (uint32_t)(r->ts_us % 1000000u);
	h[2] = r->caplen;
	h[3] = r->origlen;
	if (write_all(fd, h, sizeof(h)) == -1)
		return -1;
	return write_all(fd, (const uint8_t *)(r + 1), r->caplen);
}

/* The first record of flow_id, to learn its link type; NULL if none. */
static const struct evid_rec *
ring_first(const struct gw_evidence *ev, uint64_t flow_id)
{
	size_t off = ev->head, end = ev->wrapped ? ev->wrap_at : ev->tail, k = 0;

	while (k < ev->n) {
		const struct evid_rec *r;

		if (off >= end) {
			off = 0;
			end = ev->tail;
		}
		r = (const struct evid_rec *)(void *)(ev->buf + off);
		if (r->flow_id == flow_id)
			return r;
		off += r->reclen;
		k++;
	}
	return NULL;
}

/* Write every record of flow_id (with linktype lt), oldest first. */
static int
ring_write_flow(const struct gw_evidence *ev, int fd, uint64_t flow_id, int lt)
{
	size_t off = ev->head, end = ev->wrapped ? ev->wrap_at : ev->tail, k = 0;

	while (k < ev->n) {
		const struct evid_rec *r;

		if (off >= end) {
			off = 0;
			end = ev->tail;
		}
		r = (const struct evid_rec *)(void *)(ev->buf + off);
		if (r->flow_id == flow_id && r->linktype == lt && write_record(fd, r) == -1)
			return -1;
		off += r->reclen;
		k++;
	}
	return 0;
}

/* One evidence file found in the directory. */
struct evid_file {
	char     name[EVID_NAME_MAX]; /* entry name */
	time_t   mtime;               /* age */
	long     mtime_ns;            /* tie-breaker within a second */
	uint64_t size;                /* bytes */
};

/* Oldest first, then by name. */
static int
file_cmp(const void *a, const void *b)
{
	const struct evid_file *x = a, *y = b;

	if (x->mtime != y->mtime)
		return x->mtime < y->mtime ? -1 : 1;
	if (x->mtime_ns != y->mtime_ns)
		return x->mtime_ns < y->mtime_ns ? -1 : 1;
	return strcmp(x->name, y->name);
}

/* Is name one of ours: "<digits>-<signature>....pcap"? */
static int
is_evidence_name(const char *name)
{
	size_t n = strlen(name), i = 0;

	while (name[i] >= '0' && name[i] <= '9')
		i++;
	return i > 0 && name[i] == '-' && n > 5 && n < EVID_NAME_MAX &&
	    strcmp(name + n - 5, ".pcap") == 0;
}

/* Delete the oldest evidence files until the limits hold (the newest stays). */
static void
prune(struct gw_evidence *ev)
{
	struct evid_file *v = NULL, *nv;
	size_t n = 0, cap = 0, i;
	uint64_t total = 0;
	struct dirent *de;
	DIR *d;

	if (ev->conf.max_files == 0 && ev->conf.max_bytes == 0)
		return;
	if ((d = opendir(ev->conf.dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		struct stat sb;

		if (!is_evidence_name(de->d_name))
			continue;
		if (fstatat(dirfd(d), de->d_name, &sb, AT_SYMLINK_NOFOLLOW) == -1 ||
		    !S_ISREG(sb.st_mode))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			if ((nv = realloc(v, cap * sizeof(*v))) == NULL)
				break;
			v = nv;
		}
		snprintf(v[n].name, sizeof(v[n].name), "%s", de->d_name);
		v[n].mtime = sb.st_mtim.tv_sec;
		v[n].mtime_ns = sb.st_mtim.tv_nsec;
		v[n].size = (uint64_t)sb.st_size;
		total += v[n].size;
		n++;
	}
	if (n > 1)
		qsort(v, n, sizeof(*v), file_cmp);
	for (i = 0; i + 1 < n; i++) {
		if ((ev->conf.max_files == 0 || n - i <= ev->conf.max_files) &&
		    (ev->conf.max_bytes == 0 || total <= ev->conf.max_bytes))
			break;
		if (unlinkat(dirfd(d), v[i].name, 0) == 0 || errno == ENOENT)
			ev->st.pruned++;
		total -= v[i].size;
	}
	closedir(d);
	free(v);
}

/* Create DIR/<flow_id>-<sig>.pcap, or with a -N suffix when taken. */
static int
create_file(const struct gw_evidence *ev, uint64_t flow_id, const char *sig,
    char *path, size_t len)
{
	for (int k = 0; k <= EVID_DUP_TRIES; k++) {
		int fd;

		if (k == 0)
			snprintf(path, len, "%s/%llu-%s.pcap", ev->conf.dir,
			    (unsigned long long)flow_id, sig);
		else
			snprintf(path, len, "%s/%llu-%s-%d.pcap", ev->conf.dir,
			    (unsigned long long)flow_id, sig, k);
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
		if (fd != -1 || errno != EEXIST)
			return fd;
	}
	return -1;
}

int
gw_evidence_alert(struct gw_evidence *ev, uint64_t flow_id, const char *sig)
{
	char path[sizeof(ev->conf.dir) + EVID_NAME_MAX];
	const struct evid_rec *first;
	uint32_t gh[6];
	int fd, saved;

	if (ev == NULL || ev->conf.dir[0] == '\0')
		return 0;
	if (sig == NULL || strchr(sig, '/') != NULL)
		sig = "unknown";
	if ((first = ring_first(ev, flow_id)) == NULL)
		return 0;  /* nothing of it is left in the ring */
	if ((fd = create_file(ev, flow_id, sig, path, sizeof(path))) == -1) {
		ev->st.failed++;
		return -1;
	}
	gh[0] = 0xa1b2c3d4;                 /* microsecond pcap, host order */
	gh[1] = 0;                          /* version, set below */
	gh[2] = 0;                          /* thiszone */
	gh[3] = 0;                          /* sigfigs */
	gh[4] = EVID_SNAPLEN;
	gh[5] = gw_evidence_linktype(first->linktype);
	/* version 2.4: two u16 in host order, major first */
	{
		uint16_t v[2] = { 2, 4 };

		memcpy(&gh[1], v, sizeof(v));
	}
	if (write_all(fd, gh, sizeof(gh)) == -1 ||
	    ring_write_flow(ev, fd, flow_id, first->linktype) == -1) {
		saved = errno;
		close(fd);
		unlink(path);
		ev->st.failed++;
		errno = saved;
		return -1;
	}
	if (close(fd) == -1) {
		ev->st.failed++;
		return -1;
	}
	ev->st.written++;
	prune(ev);
	return 0;
}

void
gw_evidence_get_stats(const struct gw_evidence *ev, struct gw_evidence_stats *st)
{
	if (ev == NULL) {
		memset(st, 0, sizeof(*st));
		return;
	}
	*st = ev->st;
}
