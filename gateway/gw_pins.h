/*
 * gw_pins.h - learned pins shared by the engine threads, kept in a file.
 *
 * Like HSTS for mail servers: a server seen completing STARTTLS is
 * remembered for max_age, and a later session to it that heads into
 * plaintext is a starttls_downgrade (source "pin"). The table is
 * policy/pol_pins (pure); this wrapper adds the lock and the file: loaded
 * at start, written atomically (temporary file, fsync, rename) when asked
 * and at exit, so pins survive restarts.
 */
#ifndef GATEWAY_GW_PINS_H
#define GATEWAY_GW_PINS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "../inspect/pkt.h"
#include "../policy/pol_pins.h"

struct gw_pins;

/* cap pins; path may be "" (memory only). */
struct gw_pins *gw_pins_new(size_t cap, const char *path, uint32_t seed);
void gw_pins_free(struct gw_pins *g);

/* Read the file (a missing file is an empty table). 0, or -1 with err. */
int gw_pins_load(struct gw_pins *g, char *err, size_t errlen);
/* Write the file atomically if anything changed since the last save.
 * 0, or -1 with err. */
int gw_pins_save(struct gw_pins *g, char *err, size_t errlen);

/* A server completed STARTTLS at now_s (mx may be NULL or ""). */
void gw_pins_see(struct gw_pins *g, uint8_t af, const struct pkt_addr *addr,
    const char *mx, int64_t now_s);

/* Pinned and fresh? 1 and *out filled (out may be NULL). */
int gw_pins_lookup(struct gw_pins *g, uint8_t af, const struct pkt_addr *addr,
    int64_t now_s, uint32_t max_age, struct pol_pin *out);

/* Operator commands: list (pol_pins_write format) to a stream, forget by
 * address text or MX name/pattern; return the number forgotten. */
int gw_pins_list(struct gw_pins *g, FILE *out);
size_t gw_pins_forget(struct gw_pins *g, const char *what);

size_t gw_pins_count(struct gw_pins *g);

#endif
