/*
 * fuzz_pkt.c - frames -> pkt_decode (every link type) -> ipfrag_push ->
 * pkt_decode_ip of reassembled datagrams.
 *
 * Input: records [link selector][length: 2 bytes BE][frame]. Every pointer
 * pkt_decode returns must point inside the frame (or, after reassembly,
 * inside the datagram); fragments go into one small table per input
 * (8 datagrams, 64 KB) so eviction and timeouts are reached.
 */
#include <string.h>

#include "../../inspect/ipfrag.h"
#include "../../inspect/pkt.h"
#include "fuzz.h"

static const int links[] = {
	PKT_LINK_RAW, PKT_LINK_ETHER, PKT_LINK_NULL, PKT_LINK_RAW_BSD, PKT_LINK_RAW_LT,
	PKT_LINK_LOOP, PKT_LINK_SLL, PKT_LINK_IPV4, PKT_LINK_IPV6, PKT_LINK_SLL2, 9999,
};

/* Is [p, p + n) inside [b, b + len)? */
static int
inside(const uint8_t *p, size_t n, const uint8_t *b, size_t len)
{
	return p >= b && p <= b + len && n <= (size_t)(b + len - p);
}

/* The fields of a decoded packet stay inside its buffer. */
static void
check_pkt(int st, const struct pkt *p, const uint8_t *b, size_t len)
{
	FUZZ_CHECK(st >= PKT_OK && st <= PKT_UDP);
	(void)pkt_status_name(st);
	if (st == PKT_OK || st == PKT_UDP) {
		FUZZ_CHECK(p->af == 4 || p->af == 6);
		FUZZ_CHECK(inside(p->l3, p->l3_len, b, len));
		FUZZ_CHECK(inside(p->l4, p->l4_len, b, len));
		FUZZ_CHECK(inside(p->payload, p->payload_len, b, len));
		FUZZ_CHECK(p->payload_wire_len >= p->payload_len);
	} else if (st == PKT_FRAGMENT) {
		FUZZ_CHECK(inside(p->l3, p->l3_len, b, len));
		FUZZ_CHECK(inside(p->frag_data, p->frag_len, b, len));
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ipfrag *t = ipfrag_new(8, 65536);
	struct ipfrag_stats fst;
	uint64_t now = 1000000;

	FUZZ_CHECK(t != NULL);
	while (size >= 3) {
		int link = links[data[0] % (sizeof links / sizeof links[0])];
		size_t len = (size_t)data[1] << 8 | data[2];
		struct pkt p;

		now += (uint64_t)(data[0] >> 4) * 4000000u;
		data += 3;
		size -= 3;
		if (len > size)
			len = size;
		memset(&p, 0, sizeof p);
		int st = pkt_decode(&p, link, data, len);
		check_pkt(st, &p, data, len);
		if (st == PKT_FRAGMENT) {
			const uint8_t *dg;
			size_t dglen;
			int conflict = 0;

			if (ipfrag_push(t, &p, now, &dg, &dglen, &conflict) == 1) {
				struct pkt q;

				FUZZ_CHECK(dglen <= IPFRAG_DATAGRAM_MAX + 40 + 65535);
				memset(&q, 0, sizeof q);
				check_pkt(pkt_decode_ip(&q, dg, dglen), &q, dg, dglen);
			}
		}
		data += len;
		size -= len;
	}
	ipfrag_get_stats(t, &fst);
	FUZZ_CHECK(fst.reassembled <= fst.fragments);
	ipfrag_free(t);
	return 0;
}
