/*
 * sandbox_probe.c - prove the seccomp allow-list kills a forbidden call.
 *
 * Usage: sandbox_probe [socket|execve|ptrace|allowed]
 *
 * Forks a child that enters the sandbox (gw_sandbox_enter, the very filter
 * the inline daemon loads), shows that allowed calls still work (write to
 * a pipe, clock_gettime, a thread start and join, malloc of 64 MB), then
 * makes the forbidden call named on the command line. The parent, never
 * sandboxed, checks how the child ended: killed by SIGSYS for a forbidden
 * call, a clean exit 0 for "allowed". Prints one line, exits 0 when the
 * outcome is the expected one (tests/run-privs.sh).
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <time.h>
#include <unistd.h>

#include "../../gateway/gw_sandbox.h"

/* A thread that does nothing: thread start must survive the filter. */
static void *
noop(void *arg)
{
	return arg;
}

/* The sandboxed child; returns its exit status (when not killed). */
static int
child(const char *what, int pfd)
{
	char err[256];
	struct timespec ts;
	pthread_t t;
	char *m;

	if (gw_sandbox_enter(err, sizeof err) != 0) {
		fprintf(stderr, "sandbox_probe: %s\n", err);
		return 3;
	}
	/* allowed: the daemon's daily bread */
	if (write(pfd, "ok", 2) != 2 || clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
		return 4;
	if (pthread_create(&t, NULL, noop, NULL) != 0 || pthread_join(t, NULL) != 0)
		return 5;
	if ((m = malloc(64u << 20)) == NULL)
		return 6;
	memset(m, 1, 64u << 20);
	free(m);
	/* a TCP socket is allowed (a syslog collector reached again) */
	int tcp = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (tcp < 0)
		return 7;
	close(tcp);
	if (strcmp(what, "socket") == 0) {
		/* a packet socket: sniffing is never the daemon's business
		 * (TCP/UDP/unix sockets are allowed, for syslog reconnects) */
		int fd = socket(AF_PACKET, SOCK_RAW, 0);
		(void)fd;
	} else if (strcmp(what, "execve") == 0) {
		char *const av[] = { (char *)"/bin/true", NULL };
		execv("/bin/true", av);
	} else if (strcmp(what, "ptrace") == 0) {
		(void)ptrace(PTRACE_TRACEME, 0, NULL, NULL);
	}
	return 0;   /* "allowed", or the forbidden call returned (a failure) */
}

int
main(int argc, char **argv)
{
	const char *what = argc > 1 ? argv[1] : "socket";
	int pfd[2], st;
	char buf[2];
	pid_t pid;

	if (pipe(pfd) != 0) {
		perror("pipe");
		return 1;
	}
	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		perror("fork");
		return 1;
	}
	if (pid == 0)
		_exit(child(what, pfd[1]));
	close(pfd[1]);
	if (waitpid(pid, &st, 0) != pid) {
		perror("waitpid");
		return 1;
	}
	int wrote = read(pfd[0], buf, 2) == 2;
	int want_kill = strcmp(what, "allowed") != 0;
	if (want_kill && WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS && wrote) {
		printf("ok: %s killed the sandboxed child with SIGSYS; parent alive\n", what);
		return 0;
	}
	if (!want_kill && WIFEXITED(st) && WEXITSTATUS(st) == 0 && wrote) {
		printf("ok: allowed calls (write, clock_gettime, thread, malloc) work in the sandbox\n");
		return 0;
	}
	if (WIFSIGNALED(st))
		printf("FAIL: %s: child killed by signal %d (%s)\n", what, WTERMSIG(st), strsignal(WTERMSIG(st)));
	else
		printf("FAIL: %s: child exited %d, wrote %d\n", what, WEXITSTATUS(st), wrote);
	return 1;
}
