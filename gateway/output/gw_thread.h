/*
 * gw_thread.h - start a helper thread (Redis sync, Redis output) with every
 * signal blocked, whenever it is created: SIGTERM/HUP/USR1 belong to the
 * daemon's signal thread (a helper started before the daemon blocks them
 * would take a SIGTERM with its default action and end the process), and
 * a write to a Redis that went away must fail with EPIPE, not raise
 * SIGPIPE (offline runs do not ignore it).
 */
#ifndef GATEWAY_OUTPUT_GW_THREAD_H
#define GATEWAY_OUTPUT_GW_THREAD_H

#include <pthread.h>
#include <signal.h>

static inline int
gw_thread_start(pthread_t *tid, void *(*fn)(void *), void *arg)
{
	sigset_t all, old;
	int e;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	e = pthread_create(tid, NULL, fn, arg);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return e;
}

#endif
