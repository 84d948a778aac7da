/*
 * gw_inline.c - the inline daemon (placeholder until nfq/ lands).
 */
#include <stdio.h>

#include "gw_inline.h"

int
gw_inline_run(const char *config_path, struct gw_config *c, unsigned qfirst,
    unsigned qlast, struct eve *eve)
{
	(void)config_path; (void)c; (void)qfirst; (void)qlast; (void)eve;
	fprintf(stderr, "starttls-guard: inline mode is not built yet\n");
	return 1;
}
