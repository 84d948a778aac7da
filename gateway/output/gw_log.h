/*
 * gw_log.h - daemon and command-line messages: stderr, optionally syslog.
 *
 * OpenSMTPD's names: log_warn() appends strerror(errno), log_warnx() does
 * not (log_err()/log_errx() the same, for errors); fatal()/fatalx() log and exit(1). As in Redis, the macros test the
 * level before the arguments are evaluated, so a disabled log_debug() costs
 * one comparison. Only gateway/ logs: inspect/ and policy/ return codes.
 * Not for EVE findings (gw_eve.h): this is the operator's diagnostic channel.
 */
#ifndef GATEWAY_GW_LOG_H
#define GATEWAY_GW_LOG_H

#include <stdarg.h>

/* Levels, most severe first (a message is shown when level <= gw_log_level). */
#define GW_LOG_ERR   0
#define GW_LOG_WARN  1
#define GW_LOG_INFO  2
#define GW_LOG_DEBUG 3

/* gw_log_init() flags. */
#define GW_LOG_F_TIMESTAMP 0x01  /* prefix "2026-11-28T22:12:34.123Z" and the pid (daemon) */
#define GW_LOG_F_SYSLOG    0x02  /* also send to syslog(3), facility mail */
#define GW_LOG_F_NOSTDERR  0x04  /* syslog only */

extern int gw_log_level;

/* prog: name shown in front of each message ("starttls-guard"). */
void gw_log_init(const char *prog, int level, int flags);
void gw_log_setlevel(int level);

void gw_log_write(int level, int with_errno, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void gw_log_vwrite(int level, int with_errno, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));
void fatal(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));

#define gw_log_(lv, e, ...) do {                        \
	if ((lv) <= gw_log_level)                       \
		gw_log_write((lv), (e), __VA_ARGS__);   \
} while (0)

/* An error the program reports and survives (bad input file): no "warning:". */
#define log_err(...)   gw_log_(GW_LOG_ERR, 1, __VA_ARGS__)
#define log_errx(...)  gw_log_(GW_LOG_ERR, 0, __VA_ARGS__)
#define log_warn(...)  gw_log_(GW_LOG_WARN, 1, __VA_ARGS__)
#define log_warnx(...) gw_log_(GW_LOG_WARN, 0, __VA_ARGS__)
#define log_info(...)  gw_log_(GW_LOG_INFO, 0, __VA_ARGS__)
#define log_debug(...) gw_log_(GW_LOG_DEBUG, 0, __VA_ARGS__)

#endif
