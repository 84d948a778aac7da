/*
 * gw_file.c - read a whole small file (see gw_file.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gw_file.h"

char *
gw_read_file(const char *path, size_t max, size_t *len, struct stat *sb,
    char *err, size_t errlen)
{
	struct stat st;
	size_t got = 0;
	char *buf;
	ssize_t r;
	int fd, saved;

	if (sb == NULL)
		sb = &st;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		saved = errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		errno = saved;
		return NULL;
	}
	if (fstat(fd, sb) == -1 || !S_ISREG(sb->st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		close(fd);
		errno = EINVAL;
		return NULL;
	}
	if ((size_t)sb->st_size > max) {
		snprintf(err, errlen, "%s: larger than %zu bytes", path, max);
		close(fd);
		errno = EFBIG;
		return NULL;
	}
	if ((buf = malloc((size_t)sb->st_size + 1)) == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		close(fd);
		errno = ENOMEM;
		return NULL;
	}
	while (got < (size_t)sb->st_size && (r = read(fd, buf + got, (size_t)sb->st_size - got)) > 0)
		got += (size_t)r;
	close(fd);
	buf[got] = '\0';
	*len = got;
	return buf;
}
