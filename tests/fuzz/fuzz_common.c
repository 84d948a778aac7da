/*
 * fuzz_common.c - helpers shared by the fuzz harnesses (both builds).
 */
#include <stdio.h>
#include <stdlib.h>

#include "fuzz.h"

void
fuzz_fail(const char *what, const char *file, int line)
{
	fprintf(stderr, "%s:%d: harness check failed: %s\n", file, line, what);
	abort();
}
