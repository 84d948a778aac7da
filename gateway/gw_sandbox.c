/*
 * gw_sandbox.c - the inline daemon's seccomp allow-list (see gw_sandbox.h).
 *
 * The list covers what the code after setup calls (nfq/ packet loop and
 * verdicts, raw-socket RSTs, SIGHUP reload of config, EFF list, MTA-STS
 * directory and pins, SIGUSR1 stats, EVE reopen, shutdown) plus what glibc
 * needs to start and end a thread and to grow malloc arenas; confirm it
 * with strace -f -c of the inline daemon under tests/integ/ whenever the
 * daemon learns a new trick. Default action: kill the process, so a
 * forbidden call is loud (SIGSYS, audit log) instead of silently failing.
 * Must not log: the caller reports the error string.
 */
#include <errno.h>
#include <sched.h>
#include <seccomp.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>

#include "gw_sandbox.h"

/* System calls allowed without argument checks, grouped by who needs them. */
static const char *const allowed[] = {
	/* packet loop: netlink NFQUEUE, raw sockets for RSTs */
	"recvmsg", "recvfrom", "recvmmsg", "sendmsg", "sendto", "sendmmsg",
	"poll", "ppoll", "select", "pselect6",
	"epoll_wait", "epoll_pwait", "epoll_ctl",
	"getsockopt", "setsockopt", "getsockname",
	/* EVE and log writers, reopen on SIGHUP, reload of config / lists / pins */
	"read", "pread64", "readv", "write", "writev", "pwrite64",
	"open", "openat", "close", "fstat", "newfstatat", "stat", "lstat", "statx",
	"lseek", "fcntl", "getdents64", "fsync", "fdatasync", "rename", "renameat",
	"renameat2", "unlink", "unlinkat", "ftruncate", "access", "faccessat",
	"faccessat2", "readlink", "dup", "dup2", "dup3",
	/* memory */
	"brk", "mmap", "munmap", "mremap", "mprotect", "madvise",
	/* time and randomness */
	"clock_gettime", "clock_getres", "gettimeofday", "time", "nanosleep",
	"clock_nanosleep", "getrandom",
	/* threads, signals, locks */
	"futex", "set_robust_list", "get_robust_list", "rseq", "sched_yield",
	"sched_getaffinity", "rt_sigaction", "rt_sigprocmask", "rt_sigreturn",
	"rt_sigtimedwait", "rt_sigpending", "sigaltstack", "restart_syscall",
	"getpid", "gettid", "getuid", "geteuid", "getgid", "getegid",
	"tgkill", "tkill", "exit", "exit_group", "set_tid_address", "uname",
	"prlimit64", "getrlimit",
};

size_t
gw_sandbox_allowed_count(void)
{
	return sizeof allowed / sizeof allowed[0];
}

/* Format a libseccomp error (negative errno) into err. */
static int
fail(char *err, size_t errlen, const char *what, int rc)
{
	snprintf(err, errlen, "seccomp: %s: %s", what, strerror(rc < 0 ? -rc : rc));
	return -1;
}

int
gw_sandbox_enter(char *err, size_t errlen)
{
	scmp_filter_ctx ctx;
	int rc;

	ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
	if (ctx == NULL) {
		snprintf(err, errlen, "seccomp: cannot create a filter (kernel or libseccomp too old?)");
		return -1;
	}
	/* every thread that exists now gets the filter, not only the caller */
	if ((rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1)) != 0)
		goto out_fail_tsync;
	for (size_t i = 0; i < gw_sandbox_allowed_count(); i++) {
		int nr = seccomp_syscall_resolve_name(allowed[i]);

		if (nr == __NR_SCMP_ERROR)
			continue;   /* not on this architecture (open, stat on arm64) */
		if ((rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0)) != 0) {
			seccomp_release(ctx);
			return fail(err, errlen, allowed[i], rc);
		}
	}
	/* threads, never processes: clone only with CLONE_THREAD; clone3 hides
	 * its flags in memory seccomp cannot read, so it fails with ENOSYS and
	 * glibc falls back to clone */
	struct scmp_arg_cmp thread = { .arg = 0, .op = SCMP_CMP_MASKED_EQ,
		.datum_a = CLONE_THREAD, .datum_b = CLONE_THREAD };
	struct scmp_arg_cmp setname = { .arg = 0, .op = SCMP_CMP_EQ,
		.datum_a = PR_SET_NAME, .datum_b = 0 };
	rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1, thread);
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
	/* prctl only to name threads */
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(prctl), 1, setname);
	/* New sockets only to reach a syslog collector again (the local socket,
	 * or TCP/UDP to a remote one) after it went away; raw, packet and
	 * netlink sockets stay forbidden. The raw sockets for RSTs were opened
	 * before the sandbox, so this adds little a compromised process could
	 * not already do. */
	static const int families[] = { AF_UNIX, AF_INET, AF_INET6 };
	for (size_t i = 0; rc == 0 && i < sizeof(families) / sizeof(families[0]); i++) {
		struct scmp_arg_cmp fam = { .arg = 0, .op = SCMP_CMP_EQ,
			.datum_a = (scmp_datum_t)families[i], .datum_b = 0 };
		/* the type's low bits (SOCK_CLOEXEC and friends sit above) */
		struct scmp_arg_cmp stream = { .arg = 1, .op = SCMP_CMP_MASKED_EQ,
			.datum_a = 0xf, .datum_b = SOCK_STREAM };
		struct scmp_arg_cmp dgram = { .arg = 1, .op = SCMP_CMP_MASKED_EQ,
			.datum_a = 0xf, .datum_b = SOCK_DGRAM };
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 2, fam, stream);
		if (rc == 0)
			rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 2, fam, dgram);
	}
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(connect), 0);
	if (rc != 0) {
		seccomp_release(ctx);
		return fail(err, errlen, "clone/prctl/socket rules", rc);
	}
	rc = seccomp_load(ctx);
	seccomp_release(ctx);
	if (rc != 0)
		return fail(err, errlen, "load", rc);
	return 0;

out_fail_tsync:
	seccomp_release(ctx);
	return fail(err, errlen, "thread sync", rc);
}
