/*
 * fuzz_sts.c - bytes -> pol_sts_parse (RFC 8461 policy text), and the same
 * bytes through pol_sts_add into a domain table and pol_sts_file_domain
 * (a cache directory entry name).
 */
#include <string.h>

#include "../../policy/pol_domain.h"
#include "../../policy/pol_sts.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct pol_sts_policy pol;   /* about 16 KB: off the stack */
	struct pol_domain *t;
	char err[512], name[300], dom[POL_NAME_BUF];

	err[0] = '\0';
	if (pol_sts_parse(data, size, &pol, err, sizeof err) == 0) {
		FUZZ_CHECK(pol.n_mx <= POL_DOMAIN_MX_MAX);
		FUZZ_CHECK(pol.max_age <= POL_STS_MAX_AGE_MAX);
		FUZZ_CHECK(pol.n_mx > 0 || pol.mode == POL_MODE_NONE);
		for (size_t i = 0; i < pol.n_mx; i++)
			FUZZ_CHECK(memchr(pol.mx[i], '\0', POL_NAME_BUF) != NULL);
	} else {
		FUZZ_CHECK(err[0] != '\0');
	}

	t = pol_domain_new();
	FUZZ_CHECK(t != NULL);
	(void)pol_sts_add(t, "example.net", data, size, 1795867200, 1795867300, NULL, err, sizeof err);
	pol_domain_free(t);

	/* the first bytes as a file name */
	size_t n = size < sizeof name - 1 ? size : sizeof name - 1;
	memcpy(name, data, n);
	name[n] = '\0';
	if (pol_sts_file_domain(name, dom, sizeof dom) == 0)
		FUZZ_CHECK(memchr(dom, '\0', sizeof dom) != NULL);
	return 0;
}
