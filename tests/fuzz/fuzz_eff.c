/*
 * fuzz_eff.c - bytes -> pol_eff_load (EFF STARTTLS-Everywhere list, jansson).
 *
 * A fresh domain table per input; the clock and the previous timestamp
 * come from the input's first byte so expiry, lowering and the
 * backwards-timestamp refusal are all reached. On failure the table must be
 * unchanged (or discardable) and an error written.
 */
#include <string.h>

#include "../../policy/pol_domain.h"
#include "../../policy/pol_eff.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pol_domain *t;
	struct pol_eff_opts o;
	struct pol_eff_info info;
	struct pol_warnings w;
	char msg[4][POL_WARN_LEN];
	char err[512];
	unsigned sel = size ? data[0] : 0;

	if (size)
		data++, size--;
	t = pol_domain_new();
	FUZZ_CHECK(t != NULL);
	memset(&o, 0, sizeof o);
	/* 2020-06-01, 2030-01-01, or the epoch */
	o.now = (sel & 3) == 0 ? 1590969600 : (sel & 3) == 1 ? 1893456000 : 0;
	o.prev_timestamp = (sel & 4) ? 1590969600 : 0;
	o.flags = (sel & 8) ? POL_EFF_F_KEEP_ENFORCE : 0;
	pol_warn_init(&w, msg, 4);
	err[0] = '\0';
	if (pol_eff_load(t, data, size, &o, &info, &w, err, sizeof err) == 0) {
		FUZZ_CHECK(info.n_added <= info.n_policies);
		FUZZ_CHECK(w.n <= 4);
	} else {
		FUZZ_CHECK(err[0] != '\0');
	}
	pol_domain_free(t);
	return 0;
}
