/*
 * gw_log.c - diagnostic messages to stderr and/or syslog.
 *
 * One message is formatted into a stack buffer and written with a single
 * write(), so lines of several threads do not mix. Untrusted text must not
 * reach here unescaped: callers log file names and reasons, never wire bytes.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "gw_log.h"

#define GW_LOG_LINE_MAX 1024

int gw_log_level = GW_LOG_INFO;
static const char *log_prog = "starttls-guard";
static int log_flags;

void
gw_log_init(const char *prog, int level, int flags)
{
	if (prog != NULL)
		log_prog = prog;
	gw_log_level = level;
	log_flags = flags;
	if (flags & GW_LOG_F_SYSLOG)
		openlog(log_prog, LOG_PID | LOG_NDELAY, LOG_MAIL);
}

void
gw_log_setlevel(int level)
{
	gw_log_level = level;
}

/* Name of a level as shown on stderr ("" for plain errors). */
static const char *
level_word(int level)
{
	switch (level) {
	case GW_LOG_WARN:  return "warning: ";
	case GW_LOG_DEBUG: return "debug: ";
	default:           return "";
	}
}

/* syslog(3) priority of a level. */
static int
level_prio(int level)
{
	switch (level) {
	case GW_LOG_ERR:  return LOG_ERR;
	case GW_LOG_WARN: return LOG_WARNING;
	case GW_LOG_INFO: return LOG_INFO;
	default:          return LOG_DEBUG;
	}
}

void
gw_log_vwrite(int level, int with_errno, const char *fmt, va_list ap)
{
	char msg[GW_LOG_LINE_MAX], line[GW_LOG_LINE_MAX + 128];
	int saved = errno;
	size_t len;
	int n;

	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	if (n < 0)
		return;
	len = strlen(msg);
	if (with_errno)
		snprintf(msg + len, sizeof(msg) - len, ": %s", strerror(saved));

	if (log_flags & GW_LOG_F_SYSLOG)
		syslog(level_prio(level), "%s", msg);
	if (log_flags & GW_LOG_F_NOSTDERR) {
		errno = saved;
		return;
	}
	if (log_flags & GW_LOG_F_TIMESTAMP) {
		struct timespec ts;
		struct tm tm;
		char tbuf[32];

		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		strftime(tbuf, sizeof(tbuf), "%Y-%m-%dT%H:%M:%S", &tm);
		n = snprintf(line, sizeof(line), "%s.%03ldZ %s[%ld]: %s%s\n", tbuf,
		    ts.tv_nsec / 1000000, log_prog, (long)getpid(),
		    level_word(level), msg);
	} else {
		n = snprintf(line, sizeof(line), "%s: %s%s\n", log_prog,
		    level_word(level), msg);
	}
	if (n > 0) {
		len = (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1;
		if (line[len - 1] != '\n')
			line[len - 1] = '\n';
		/* Best effort: there is nobody left to tell if stderr fails. */
		if (write(STDERR_FILENO, line, len) < 0)
			(void)0;
	}
	errno = saved;
}

void
gw_log_write(int level, int with_errno, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	gw_log_vwrite(level, with_errno, fmt, ap);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	gw_log_vwrite(GW_LOG_ERR, 1, fmt, ap);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	gw_log_vwrite(GW_LOG_ERR, 0, fmt, ap);
	va_end(ap);
	exit(1);
}
