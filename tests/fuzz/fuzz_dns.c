/*
 * fuzz_dns.c - bytes -> dns_parse, dns_parse_array and dns_tcp_frame.
 *
 * The callback checks every record it is handed (names terminated, only
 * the four types, lowercase host-name characters); parse and parse_array
 * must agree; a TCP-framed walk over the same bytes must stay inside them.
 */
#include <string.h>

#include "../../inspect/dns.h"
#include "fuzz.h"

/* Check one record; count it. */
static int
on_rr(const struct dns_rr *rr, void *arg)
{
	size_t *n = arg;

	FUZZ_CHECK(rr->type == DNS_T_A || rr->type == DNS_T_AAAA ||
	    rr->type == DNS_T_CNAME || rr->type == DNS_T_MX);
	FUZZ_CHECK(memchr(rr->owner, '\0', sizeof rr->owner) != NULL);
	FUZZ_CHECK(memchr(rr->target, '\0', sizeof rr->target) != NULL);
	for (const char *c = rr->owner; *c; c++)
		FUZZ_CHECK(!(*c >= 'A' && *c <= 'Z'));
	(*n)++;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct dns_rr arr[8];
	struct dns_info info, info2;
	size_t n = 0, stored = 0;

	int r = dns_parse(data, size, &info, on_rr, &n);
	int r2 = dns_parse_array(data, size, &info2, arr, 8, &stored);
	FUZZ_CHECK(r == r2);
	(void)dns_status_name(r);
	if (r == DNS_OK) {
		FUZZ_CHECK(n == info.n_rr);
		FUZZ_CHECK(stored == (n < 8 ? n : 8));
	} else {
		FUZZ_CHECK(n == 0);
	}

	/* the same bytes as a TCP stream of length-prefixed messages */
	const uint8_t *p = data, *msg;
	size_t left = size, mlen, used;
	while ((used = dns_tcp_frame(p, left, &msg, &mlen)) > 0) {
		FUZZ_CHECK(used <= left && msg >= p && msg + mlen <= p + used);
		(void)dns_parse(msg, mlen, NULL, NULL, NULL);
		p += used;
		left -= used;
	}
	return 0;
}
