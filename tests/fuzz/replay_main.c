/*
 * replay_main.c - run saved fuzz inputs through a harness without libFuzzer.
 *
 * Usage: replay_<name> PATH...   (files, or directories read one level deep)
 *
 * Linked with one fuzz_<name>.c and built with gcc + ASan/UBSan, so
 * `make check` replays the committed corpus and every past crash on each
 * run. Files are run in name order so a failure is reproducible; when a
 * sanitizer stops the run, the input's name is printed after its report
 * (REPLAY_VERBOSE=1 prints every name before it runs).
 * Prints "N inputs" and exits 0 when all ran; a missing directory counts
 * as empty (a harness may have no regressions yet).
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/common_interface_defs.h>
#endif

/* Inputs bigger than this are not fuzz inputs (libFuzzer's -max_len is far lower). */
#define REPLAY_MAX_BYTES (16u * 1024 * 1024)

static int verbose;
/* The input being run, named by the death callback. */
static const char *current;

/* Called by the sanitizer runtime before it exits on a report. */
static void
on_death(void)
{
	if (current)
		fprintf(stderr, "replay: the failing input is %s\n", current);
}

/* Run one file; 0, or -1 when it cannot be read. */
static int
run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;
	long n;

	if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 ||
	    (unsigned long)n > REPLAY_MAX_BYTES || fseek(f, 0, SEEK_SET) != 0) {
		fprintf(stderr, "replay: %s: %s\n", path, f ? "cannot size" : strerror(errno));
		if (f)
			fclose(f);
		return -1;
	}
	/* malloc(n) exactly, so ASan sees reads one past the input */
	buf = malloc(n ? (size_t)n : 1);
	if (buf == NULL || (n && fread(buf, 1, (size_t)n, f) != (size_t)n)) {
		fprintf(stderr, "replay: %s: read failed\n", path);
		free(buf);
		fclose(f);
		return -1;
	}
	fclose(f);
	if (verbose)
		fprintf(stderr, "replay: %s\n", path);
	current = path;
	LLVMFuzzerTestOneInput(buf, (size_t)n);
	current = NULL;
	free(buf);
	return 0;
}

/* qsort comparator for names. */
static int
cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Run every regular file of a directory, in name order. */
static int
run_dir(const char *dir, unsigned long *count)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char **names = NULL;
	size_t n = 0, cap = 0;
	int rc = 0;

	if (d == NULL)
		return errno == ENOENT ? 0 : -1;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			char **nn = realloc(names, cap * sizeof *names);
			if (nn == NULL) {
				rc = -1;
				break;
			}
			names = nn;
		}
		names[n] = strdup(de->d_name);
		if (names[n] == NULL) {
			rc = -1;
			break;
		}
		n++;
	}
	closedir(d);
	if (n)
		qsort(names, n, sizeof *names, cmp_name);
	for (size_t i = 0; i < n; i++) {
		char path[4096];
		struct stat st;

		if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, names[i]) < sizeof path &&
		    stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
			if (run_file(path) != 0)
				rc = -1;
			else
				(*count)++;
		}
		free(names[i]);
	}
	free(names);
	return rc;
}

int
main(int argc, char **argv)
{
	unsigned long count = 0;
	int rc = 0;

	verbose = getenv("REPLAY_VERBOSE") != NULL;
#if defined(__SANITIZE_ADDRESS__)
	__sanitizer_set_death_callback(on_death);
#else
	(void)on_death;
#endif
	for (int i = 1; i < argc; i++) {
		struct stat st;

		if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode)) {
			if (run_dir(argv[i], &count) != 0)
				rc = 1;
		} else if (stat(argv[i], &st) != 0 && errno == ENOENT) {
			continue;   /* an absent corpus directory is empty */
		} else if (run_file(argv[i]) != 0) {
			rc = 1;
		} else {
			count++;
		}
	}
	printf("%lu inputs\n", count);
	return rc;
}
