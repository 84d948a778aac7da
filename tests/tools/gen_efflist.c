/*
 * gen_efflist.c - write a made-up EFF STARTTLS-Everywhere list (the
 * published list's size and shape, tests/tools/gen_efflist.h) to a file,
 * for the suites that need one: tests/run-policy.sh, tests/integ/t4_replay.sh,
 * bench/run.sh. Prints what it wrote, one "key=value" per word, so a suite
 * can compare a loader's counts with the generator's:
 *   policies=900 aliases=4 via_alias=12 enforce=... testing=... mx=... timestamp=... expires=...
 * Usage: gen_efflist [-n POLICIES] [-t TIMESTAMP] [-e EXPIRES] [-s SEED] OUT.json
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gen_efflist.h"

/* Parse a whole decimal number or exit with usage. */
static long long
ge_num(const char *s, const char *what)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < 0) {
		fprintf(stderr, "gen_efflist: bad %s \"%s\"\n", what, s);
		exit(2);
	}
	return v;
}

int
main(int argc, char **argv)
{
	struct efl_opts o;
	struct efl_counts c;
	int expires_set = 0, ch;
	char *buf;
	size_t len;
	FILE *f;

	efl_defaults(&o);
	while ((ch = getopt(argc, argv, "n:t:e:s:")) != -1) {
		switch (ch) {
		case 'n': o.n_policies = (unsigned)ge_num(optarg, "count"); break;
		case 't': o.timestamp = ge_num(optarg, "timestamp"); break;
		case 'e': o.expires = ge_num(optarg, "expiry"); expires_set = 1; break;
		case 's': o.seed = (uint32_t)ge_num(optarg, "seed"); break;
		default:
			fprintf(stderr, "usage: gen_efflist [-n POLICIES] [-t TIMESTAMP] [-e EXPIRES] [-s SEED] OUT.json\n");
			return 2;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "usage: gen_efflist [-n POLICIES] [-t TIMESTAMP] [-e EXPIRES] [-s SEED] OUT.json\n");
		return 2;
	}
	if (!expires_set)
		o.expires = o.timestamp + EFL_DEF_LIFETIME;
	if (efl_write(&o, &buf, &len, &c) != 0) {
		fprintf(stderr, "gen_efflist: cannot make a list of %u policies (at least 15; or a name clash: try another -s)\n",
		    o.n_policies);
		return 1;
	}
	f = fopen(argv[optind], "w");
	if (f == NULL || fwrite(buf, 1, len, f) != len || fclose(f) != 0) {
		fprintf(stderr, "gen_efflist: %s: %s\n", argv[optind], strerror(errno));
		free(buf);
		return 1;
	}
	free(buf);
	printf("policies=%u aliases=%u via_alias=%u enforce=%u testing=%u mx=%u timestamp=%lld expires=%lld\n",
	    c.n_policies, c.n_aliases, c.n_via_alias, c.n_enforce, c.n_testing, c.n_mx,
	    (long long)c.timestamp, (long long)c.expires);
	return 0;
}
