/*
 * gw_file.h - read a whole small file (a policy list, a cached MTA-STS
 * policy, the pins file) for the parsers of policy/, which never touch
 * files themselves.
 */
#ifndef GATEWAY_GW_FILE_H
#define GATEWAY_GW_FILE_H

#include <stddef.h>
#include <sys/stat.h>

/*
 * Read path (a regular file of at most max bytes) into a malloc'd buffer,
 * NUL-terminated; *len gets its length, *sb (may be NULL) its stat.
 * NULL with "path: why" in err on failure; errno is left as open(2) set it
 * (ENOENT: the file does not exist).
 */
char *gw_read_file(const char *path, size_t max, size_t *len, struct stat *sb,
    char *err, size_t errlen);

/*
 * Write buf as dir/name atomically: a temporary file in dir, fsync, rename,
 * fsync of dir; mode 0644 (policies are public, read after the privilege
 * drop). A crash leaves the old file or the new one. 0, or -1 with err.
 */
int gw_write_atomic(const char *dir, const char *name, const void *buf, size_t len,
    char *err, size_t errlen);

#endif
