/*
 * gw_clock.h - the two clocks the gateway's threads read: wall time in
 * microseconds (EVE timestamps, fact times shared with other gateways)
 * and monotonic time (timeouts, backoff, benchmarks). Not for inspect/ or
 * policy/, which take their time from the caller.
 */
#ifndef GATEWAY_OUTPUT_GW_CLOCK_H
#define GATEWAY_OUTPUT_GW_CLOCK_H

#include <stdint.h>
#include <time.h>

/* Microseconds since the epoch. */
static inline uint64_t
gw_clock_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* Monotonic nanoseconds (differences only). */
static inline uint64_t
gw_clock_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

#endif
