/*
 * gw_sandbox.h - seccomp allow-list for the inline daemon (libseccomp).
 *
 * Call gw_sandbox_enter() once setup is over: the NFQUEUE sockets and the
 * raw RST sockets are open, privileges are dropped (after drop_privileges
 * in gw_inline.c), and before the signal and queue threads are created
 * (they inherit the filter; threads that already exist are synchronised
 * too). From then on only the system calls the packet loop, the EVE and
 * log writers, SIGHUP reloads (reading the configuration, the EFF list,
 * the MTA-STS directory, writing the pins file) and thread start/exit
 * need are allowed; any other kills the whole process (SIGSYS), so an
 * exploited parser cannot open sockets, exec, ptrace or change ids.
 * Irreversible. The only file that includes libseccomp.
 */
#ifndef GATEWAY_GW_SANDBOX_H
#define GATEWAY_GW_SANDBOX_H

#include <stddef.h>

/* Load the filter into the calling process (every thread). Returns 0, or
 * -1 with a message in err (libseccomp missing a syscall name is not an
 * error: names this architecture lacks are skipped). */
int gw_sandbox_enter(char *err, size_t errlen);

/* Number of system calls the allow-list names (for -v diagnostics and tests). */
size_t gw_sandbox_allowed_count(void);

#endif
