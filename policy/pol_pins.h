/*
 * pol_pins.h - learned pins: mail servers seen completing STARTTLS (HSTS-like).
 *
 * A pin says "this server address did TLS at first_seen and last at
 * last_seen"; while now <= last_seen + max_age, a session to it that heads
 * into plaintext is a starttls_downgrade (DESIGN.md "Policy", chasquid's
 * security levels). The table has a fixed capacity chosen at creation and
 * never allocates afterwards: when full, the pin with the oldest last_seen
 * is evicted. It is not locked: engine threads that share one must
 * serialise calls. Persistence is bytes in, bytes out (one pin per line,
 * see pol_pins_write); the gateway reads and atomically replaces the file.
 * No clock, no files, no logging.
 */
#ifndef POLICY_POL_PINS_H
#define POLICY_POL_PINS_H

#include <stddef.h>
#include <stdint.h>

#include "../inspect/pkt.h"
#include "pol_domain.h"

/* Largest capacity accepted: 16 M pins (about 5 GB) is more servers than
 * any relay talks to; the bound catches a mistyped configuration. */
#define POL_PINS_MAX (1u << 24)
/* Longest line of the file: "v1 " + IPv6 text (45) + " " + name (253) +
 * two 20-digit numbers and separators, rounded up. */
#define POL_PINS_LINE_MAX 384

/* One pin, as lookups and listings hand it out (about 300 bytes). */
struct pol_pin {
	uint8_t  af;                /* 4 or 6 */
	struct pkt_addr addr;       /* server address (IPv4 in the first 4 bytes) */
	char     mx[POL_NAME_BUF];  /* MX name the server was reached as, "" when unknown */
	int64_t  first_seen;        /* epoch s of the first TLS session seen */
	int64_t  last_seen;         /* epoch s of the latest one */
};

struct pol_pins;

/* A table of cap pins (1..POL_PINS_MAX). seed keys the address hash so
 * remote peers cannot aim collisions; pass something random. NULL when
 * cap is out of range or memory is short. */
struct pol_pins *pol_pins_new(size_t cap, uint32_t seed);
void pol_pins_free(struct pol_pins *p);

/* Pins held, and the capacity. */
size_t pol_pins_count(const struct pol_pins *p);
size_t pol_pins_capacity(const struct pol_pins *p);

/* What pol_pins_see did. */
#define POL_PINS_NEW     0  /* a new pin */
#define POL_PINS_REFRESH 1  /* an existing pin, last_seen moved on */
#define POL_PINS_EVICTED 2  /* table full: the oldest pin was evicted (this new one
			     * itself when now is older than every pin held) */

/*
 * Record that the server at (af, addr) completed STARTTLS at now. mx may
 * be NULL or "" (unknown); a known name replaces the stored one. last_seen
 * never moves backwards (a replayed capture may go back in time). Returns
 * POL_PINS_*, or -1 for a bad af or MX name. Never allocates.
 */
int pol_pins_see(struct pol_pins *p, uint8_t af, const struct pkt_addr *addr,
    const char *mx, int64_t now);

/* Is (af, addr) pinned and unexpired (now <= last_seen + max_age)? 1 and
 * *out filled (out may be NULL), or 0. Never allocates. */
int pol_pins_lookup(const struct pol_pins *p, uint8_t af,
    const struct pkt_addr *addr, int64_t now, uint32_t max_age,
    struct pol_pin *out);

/* Walk the pins oldest (by last_seen) first: prev NULL gives the first,
 * NULL comes after the last. Do not change the table while walking. */
const struct pol_pin *pol_pins_next(const struct pol_pins *p,
    const struct pol_pin *prev);

/* Operator commands. Forget the pin of one address; 1 if there was one. */
int pol_pins_forget_addr(struct pol_pins *p, uint8_t af, const struct pkt_addr *addr);

/* Forget every pin whose MX name matches: an exact name, or a pattern
 * "*.example.net" / ".example.net" (one label, as pol_mx_match). Returns
 * the number forgotten; 0 also for an invalid name. */
size_t pol_pins_forget_mx(struct pol_pins *p, const char *mx);

/* Drop pins expired at now (now > last_seen + max_age); returns how many. */
size_t pol_pins_expire(struct pol_pins *p, int64_t now, uint32_t max_age);

/*
 * Write every pin, oldest first, after one '#' comment line, as
 *   v1 <addr> <mxname or -> <first_seen> <last_seen>\n
 * (addr in inet_ntop form, times in decimal epoch seconds) into buf.
 * Returns the number of bytes the text needs (without a NUL), like
 * snprintf: when that is >= len nothing usable was written (buf holds ""),
 * so the caller retries with a bigger buffer. At most
 * POL_PINS_LINE_MAX * (count + 1) bytes are ever needed.
 */
size_t pol_pins_write(const struct pol_pins *p, char *buf, size_t len);

/*
 * Read pins from text in pol_pins_write's format into p (added to what it
 * holds). Blank lines and lines starting with '#' are skipped; CRLF is
 * accepted. The whole text is checked first: on error nothing is added
 * and err says "line N: ...". A duplicated address is merged (earliest
 * first_seen, latest last_seen) with a warning; pins beyond the capacity
 * evict the oldest, with one warning. 0 or -1.
 */
int pol_pins_parse(struct pol_pins *p, const void *buf, size_t len,
    struct pol_warnings *w, char *err, size_t errlen);

#endif
