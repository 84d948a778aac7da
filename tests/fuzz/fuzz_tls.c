/*
 * fuzz_tls.c - bytes -> tls_scan_push in pieces whose sizes the input picks.
 *
 * Input: [split byte] then the stream. The stream is pushed in pieces of
 * 1 + (split byte) bytes, and the harness checks that the events and the
 * scanner state do not depend on the segmentation: the same stream pushed
 * byte by byte must end in the same state (tls.h: "any segmentation works").
 */
#include <string.h>

#include "../../inspect/tls.h"
#include "fuzz.h"

/* Push all of d in pieces of step bytes; returns the OR of the events and
 * the offset at which NOT_TLS was reported (or n). */
static int
scan(struct tls_scan *s, const uint8_t *d, size_t n, size_t step, size_t *stop)
{
	int ev = 0;
	size_t off = 0;

	tls_scan_init(s);
	*stop = n;
	while (off < n) {
		size_t k = n - off < step ? n - off : step, used = (size_t)-1;
		int r = tls_scan_push(s, d + off, k, &used);

		FUZZ_CHECK((r & ~0x1f) == 0);
		ev |= r;
		if (r & TLS_EV_NOT_TLS) {
			FUZZ_CHECK(used <= k);
			*stop = off + used;
			break;
		}
		off += k;
	}
	(void)tls_alert_name(s->alert[1]);
	return ev;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tls_scan a, b;
	size_t stop_a, stop_b;

	if (size < 1)
		return 0;
	int ev_a = scan(&a, data + 1, size - 1, (size_t)data[0] + 1, &stop_a);
	int ev_b = scan(&b, data + 1, size - 1, 1, &stop_b);
	FUZZ_CHECK(ev_a == ev_b);
	FUZZ_CHECK(stop_a == stop_b);
	FUZZ_CHECK(a.hs_type == b.hs_type && a.first_type == b.first_type &&
	    a.records == b.records && memcmp(a.alert, b.alert, 2) == 0);
	return 0;
}
