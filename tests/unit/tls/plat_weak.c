/*
 * plat_weak.c - weak POSIX versions of the few platform.h and log.h calls
 * the TLS tests need. The real platform/linux shim and src/core/log.c
 * replace them wherever they are linked in; these only keep the tests
 * linkable while those land.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "platform.h"

#define WEAK __attribute__((weak))

WEAK long nr_plat_sock_read(nr_sock_t s, void *buf, size_t len)
{
	ssize_t n = recv(s, buf, len, MSG_DONTWAIT);
	if (n > 0)
		return (long)n;
	if (n == 0)
		return NR_ECLOSED;
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
		return NR_EAGAIN;
	return errno == ECONNRESET ? NR_ERESET : NR_EIO;
}

WEAK long nr_plat_sock_write(nr_sock_t s, const void *buf, size_t len)
{
	ssize_t n = send(s, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
	if (n >= 0)
		return n > 0 ? (long)n : NR_EAGAIN;
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
		return NR_EAGAIN;
	return (errno == ECONNRESET || errno == EPIPE) ? NR_ERESET : NR_EIO;
}

WEAK int nr_plat_wall_time(int64_t *out)
{
	struct timespec ts;
	if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
		return NR_ECLOCK;
	*out = ts.tv_sec;
	return 0;
}

/* Test hooks, effective only while this stub is the one linked in. */
int nr_test_entropy_calls;
int nr_test_entropy_fail;

WEAK int nr_plat_entropy(void *buf, size_t len)
{
	unsigned char *p = buf;

	nr_test_entropy_calls++;
	if (nr_test_entropy_fail)
		return NR_EIO;
	while (len) {
		ssize_t n = getrandom(p, len, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return NR_EIO;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

WEAK int nr_plat_file_read(const char *path, size_t max, char **out, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	size_t cap = 4096, n = 0;

	*out = NULL;
	if (!f)
		return errno == ENOENT ? NR_ENOTFOUND : errno == EACCES ? NR_EPERM : NR_EIO;
	buf = malloc(cap + 1);
	for (;;) {
		size_t r;
		if (n == cap) {
			cap *= 2;
			buf = realloc(buf, cap + 1);
		}
		r = fread(buf + n, 1, cap - n, f);
		n += r;
		if (n > max) {
			fclose(f);
			free(buf);
			return NR_ETOOBIG;
		}
		if (r == 0)
			break;
	}
	fclose(f);
	buf[n] = '\0';
	*out = buf;
	*len = n;
	return 0;
}

WEAK int nr_plat_file_write(const char *path, const void *data, size_t len, unsigned mode)
{
	char tmp[4096];
	int fd;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, mode);
	if (fd < 0)
		return NR_EIO;
	if (fchmod(fd, mode) != 0 || write(fd, data, len) != (ssize_t)len || fsync(fd) != 0) {
		close(fd);
		unlink(tmp);
		return NR_EIO;
	}
	close(fd);
	return rename(tmp, path) == 0 ? 0 : NR_EIO;
}

WEAK void nr_log(enum nr_log_level level, const char *fmt, ...)
{
	va_list ap;
	if (!getenv("NR_TEST_LOG"))
		return;
	va_start(ap, fmt);
	fprintf(stderr, "log<%d> ", (int)level);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}
