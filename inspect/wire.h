/*
 * wire.h - store big-endian (network order) 16- and 32-bit values, for the
 * code that writes packets: the capture generators and benchmarks.
 */
#ifndef INSPECT_WIRE_H
#define INSPECT_WIRE_H

#include <stdint.h>

/* Store v as two bytes, most significant first. */
static inline void
put16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* Store v as four bytes, most significant first. */
static inline void
put32(uint8_t *p, uint32_t v)
{
	put16(p, v >> 16);
	put16(p + 2, v & 0xffff);
}

#endif
