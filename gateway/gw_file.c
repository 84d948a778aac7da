/*
 * gw_file.c - read a whole small file, write one atomically (gw_file.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
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

int
gw_write_atomic(const char *dir, const char *name, const void *buf, size_t len,
    char *err, size_t errlen)
{
	char tmp[4096], path[4096];
	size_t off = 0;
	int fd, dfd;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s/.%s.XXXXXX", dir, name) >= sizeof(tmp) ||
	    (size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path)) {
		snprintf(err, errlen, "%s: path too long", dir);
		return -1;
	}
	if ((fd = mkostemp(tmp, O_CLOEXEC)) == -1) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		return -1;
	}
	/* Policies are public; the gateway may read them after dropping root. */
	if (fchmod(fd, 0644) == -1)
		goto fail;
	while (off < len) {
		ssize_t w = write(fd, (const char *)buf + off, len - off);

		if (w == -1 && errno == EINTR)
			continue;
		if (w == -1)
			goto fail;
		off += (size_t)w;
	}
	if (fsync(fd) == -1)
		goto fail;
	if (close(fd) == -1) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) == -1)
		goto fail;
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) != -1) {
		(void)fsync(dfd);
		close(dfd);
	}
	return 0;
fail:
	snprintf(err, errlen, "%s: %s", path, strerror(errno));
	if (fd != -1)
		close(fd);
	unlink(tmp);
	return -1;
}
