/*
 * fuzz_smtp.c - direction-tagged chunks -> smtp_push / smtp_end.
 *
 * Input: [flags byte] then chunks [hdr][bytes]: hdr bit 7 is the direction
 * (0 client, 1 server), bits 0-6 the chunk length; hdr 0x7f ends the
 * connection (smtp_end, by RST when the next byte is odd) and stops. The
 * flags byte's low bits preset SMTP_F_EXPECT / SMTP_F_RECENT_FAIL as the
 * engine would from policy. Checks the contract of smtp.h: findings fit
 * f[], each signature once per flow, decided stays decided.
 */
#include <string.h>

#include "../../inspect/smtp.h"
#include "fuzz.h"

/* Account for one push's findings: each signature at most once per flow. */
static void
check_out(const struct smtp_out *o, unsigned *seen)
{
	FUZZ_CHECK(o->n <= SMTP_OUT_MAX);
	for (unsigned i = 0; i < o->n; i++) {
		FUZZ_CHECK((unsigned)o->f[i].sig < SIG_COUNT);
		FUZZ_CHECK(!(*seen & (1u << o->f[i].sig)));
		*seen |= 1u << o->f[i].sig;
		FUZZ_CHECK(memchr(o->f[i].reason, '\0', sizeof o->f[i].reason) != NULL);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct hsbuf_pool *pool;
	struct hsbuf_pool_stats st;
	struct smtp s;
	struct smtp_out out;
	unsigned seen = 0;

	if (size < 1)
		return 0;
	/* Handshake bytes are kept as the engine keeps them (bit 2 of the
	 * first byte turns that off, the engine's "no buffer free" case). */
	if (pool == NULL && (pool = hsbuf_pool_new(2)) == NULL)
		return 0;
	out.hs = (data[0] & 4) ? NULL : pool;
	smtp_init(&s);
	if (data[0] & 1)
		s.flags |= SMTP_F_EXPECT;
	if (data[0] & 2)
		s.flags |= SMTP_F_RECENT_FAIL;
	data++;
	size--;
	while (size > 0) {
		unsigned hdr = data[0];
		size_t len = hdr & 0x7f;

		data++;
		size--;
		out.n = 0;
		out.decided = 0;
		if (hdr == 0x7f) {
			smtp_end(&s, size > 0 && (data[0] & 1), &out);
			check_out(&out, &seen);
			break;
		}
		if (len > size)
			len = size;
		int was_decided = smtp_decided(&s);
		int r = smtp_push(&s, hdr >> 7, data, len, &out);
		check_out(&out, &seen);
		if (was_decided)
			FUZZ_CHECK(smtp_decided(&s));
		FUZZ_CHECK(r == smtp_decided(&s));
		FUZZ_CHECK(s.banner_len <= SMTP_BANNER_MAX && s.helo_len <= SMTP_HELO_MAX);
		data += len;
		size -= len;
		if (r)
			break;   /* smtp.h: the caller stops pushing once decided */
	}
	smtp_release(&s, pool);
	hsbuf_pool_get_stats(pool, &st);
	FUZZ_CHECK(st.in_use == 0);   /* every borrowed buffer came back */
	return 0;
}
