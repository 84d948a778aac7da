/*
 * fuzz_config.c - bytes -> a temporary file -> gw_config_load.
 *
 * The loader reads a path, so each input is written to one private file
 * (created once per process under TMPDIR) and loaded. A success must be
 * freeable; a failure must leave an error message. Paths the file names
 * (eff_list, mta_sts_dir, pins, @include) are whatever the input says.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../gateway/gw_config.h"
#include "fuzz.h"

static char path[256];

/* Remove the temporary file at exit. */
static void
cleanup(void)
{
	if (path[0])
		unlink(path);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct gw_config c;
	char err[512];
	FILE *f;

	if (path[0] == '\0') {
		const char *tmp = getenv("TMPDIR");
		snprintf(path, sizeof path, "%s/stg-fuzz-config.XXXXXX", tmp && *tmp ? tmp : "/tmp");
		int fd = mkstemp(path);
		FUZZ_CHECK(fd >= 0);
		close(fd);
		atexit(cleanup);
	}
	f = fopen(path, "wb");
	FUZZ_CHECK(f != NULL);
	FUZZ_CHECK(fwrite(data, 1, size, f) == size || size == 0);
	FUZZ_CHECK(fclose(f) == 0);

	memset(&c, 0, sizeof c);
	err[0] = '\0';
	if (gw_config_load(path, &c, err, sizeof err) == 0) {
		FUZZ_CHECK(c.engine.nports >= 1 && c.engine.nports <= GW_PORTS_MAX);
		gw_config_free(&c);
	} else {
		FUZZ_CHECK(err[0] != '\0');
		FUZZ_CHECK(memchr(err, '\0', sizeof err) != NULL);
	}
	return 0;
}
