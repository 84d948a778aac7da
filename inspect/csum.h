/*
 * csum.h - the Internet checksum (RFC 1071): one's complement sum of
 * 16-bit big-endian words, folded and complemented.
 *
 * One definition for every place that checks or writes one: the decoder
 * (TCP checksum verification), fragment reassembly (IPv4 header), the RST
 * forger, and the test and benchmark capture generators.
 */
#ifndef INSPECT_CSUM_H
#define INSPECT_CSUM_H

#include <stddef.h>
#include <stdint.h>

/* Add n bytes to a running sum (an odd last byte is padded with zero). */
static inline uint32_t
csum_add(uint32_t sum, const uint8_t *p, size_t n)
{
	while (n > 1) {
		sum += (uint32_t)p[0] << 8 | p[1];
		p += 2;
		n -= 2;
	}
	if (n)
		sum += (uint32_t)p[0] << 8;
	return sum;
}

/* Fold the carries and complement: the value to store in a header. A
 * correct packet's sum over all its words (checksum included) folds to 0. */
static inline uint16_t
csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

#endif
