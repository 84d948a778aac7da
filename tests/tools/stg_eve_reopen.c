/*
 * stg_eve_reopen.c - eve_reopen() under load: no line lost, none torn.
 *
 *   stg_eve_reopen DIR N
 *
 * A writer thread writes N stats events (stats.packets = 1..N) to
 * DIR/eve.json while the main thread, half-way, renames the file to
 * DIR/eve.json.1 (as logrotate does) and calls eve_reopen(), as the
 * daemon's SIGHUP handler does. Both files are then read back: every line
 * must be whole, and 1..N must each appear exactly once, in order within
 * each file. Exit 0 when so.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../gateway/gw_engine.h"
#include "../../gateway/output/gw_eve.h"

/* What the writer thread needs. */
struct job {
	struct eve *ev;            /* shared writer */
	unsigned    n;             /* events to write */
	volatile unsigned done;    /* written so far */
};

/* Write n stats events with packets = 1..n. */
static void *
writer(void *arg)
{
	struct job *j = arg;
	struct gw_stats st;

	memset(&st, 0, sizeof(st));
	for (unsigned i = 1; i <= j->n; i++) {
		st.packets = i;
		eve_stats(j->ev, 1000000ull * i, &st);
		__atomic_store_n(&j->done, i, __ATOMIC_RELEASE);
	}
	return NULL;
}

/* Read path's lines, mark seen[] by packets; -1 on a torn or odd line. */
static int
check_file(const char *path, unsigned char *seen, unsigned n, unsigned *count)
{
	static char line[16384];
	unsigned long last = 0;
	FILE *fp = fopen(path, "r");

	*count = 0;
	if (fp == NULL)
		return -1;
	while (fgets(line, sizeof(line), fp) != NULL) {
		const char *p = strstr(line, "\"packets\":");
		size_t len = strlen(line);
		unsigned long v;

		if (len < 2 || line[len - 1] != '\n' || line[0] != '{' || line[len - 2] != '}' ||
		    p == NULL) {
			fprintf(stderr, "%s: torn line: %.60s\n", path, line);
			fclose(fp);
			return -1;
		}
		v = strtoul(p + 10, NULL, 10);
		if (v == 0 || v > n || seen[v] || v <= last) {
			fprintf(stderr, "%s: packets %lu duplicated or out of order\n", path, v);
			fclose(fp);
			return -1;
		}
		seen[v] = 1;
		last = v;
		(*count)++;
	}
	fclose(fp);
	return 0;
}

int
main(int argc, char **argv)
{
	char path[4096], moved[4200];
	struct job j;
	pthread_t t;
	unsigned char *seen;
	unsigned n, c1, c2;

	if (argc != 3 || (n = (unsigned)atoi(argv[2])) < 10) {
		fprintf(stderr, "usage: stg_eve_reopen DIR N (N >= 10)\n");
		return 2;
	}
	snprintf(path, sizeof(path), "%s/eve.json", argv[1]);
	snprintf(moved, sizeof(moved), "%s.1", path);
	unlink(path);
	unlink(moved);
	if ((j.ev = eve_open(path)) == NULL) {
		perror(path);
		return 1;
	}
	j.n = n;
	j.done = 0;
	if (pthread_create(&t, NULL, writer, &j) != 0)
		return 1;
	while (__atomic_load_n(&j.done, __ATOMIC_ACQUIRE) < n / 2)
		usleep(100);
	/* logrotate: move the file away, then SIGHUP -> eve_reopen() */
	if (rename(path, moved) == -1 || eve_reopen(j.ev) == -1) {
		perror("rotate");
		return 1;
	}
	pthread_join(t, NULL);
	eve_close(j.ev);
	if ((seen = calloc(n + 1, 1)) == NULL)
		return 1;
	if (check_file(moved, seen, n, &c1) == -1 || check_file(path, seen, n, &c2) == -1)
		return 1;
	for (unsigned i = 1; i <= n; i++)
		if (!seen[i]) {
			fprintf(stderr, "event %u lost\n", i);
			return 1;
		}
	if (c2 == 0) {
		fprintf(stderr, "nothing written to the new file after the reopen\n");
		return 1;
	}
	printf("%u events: %u in the rotated file, %u in the new one, none lost or torn\n",
	    n, c1, c2);
	free(seen);
	return 0;
}
