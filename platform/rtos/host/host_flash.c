/*
 * host_flash.c - the host RTOS board's flash (host_flash.h): a file with
 * NOR rules behind the flash HAL. Every call goes straight to the file
 * (pread, pwrite, fdatasync): nothing is cached here, so a process killed
 * at any point leaves what a board would after a reset at that point.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* flock; the host program defines it for every file */
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "host_flash.h"

#define CHUNK 4096u /* bytes read or written at once */

struct host_flash {
	int fd;
	uint64_t size;
	uint32_t erase_size, write_size;
	uint64_t fail_program_in, fail_erase_in;
	struct nr_host_flash_stats stats;
	uint8_t buf[CHUNK];
};

static int map_errno(int e)
{
	switch (e) {
	case ENOENT:
		return NR_ENOTFOUND;
	case EACCES:
	case EPERM:
	case EROFS:
		return NR_EPERM;
	case ENOSPC:
	case EDQUOT:
		return NR_ENOSPC;
	case ENOMEM:
		return NR_ENOMEM;
	default:
		return NR_EIO;
	}
}

static int pread_all(int fd, void *buf, size_t len, uint64_t off)
{
	uint8_t *p = buf;

	while (len > 0) {
		ssize_t n = pread(fd, p, len, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return NR_EIO;
		p += n, off += (uint64_t)n, len -= (size_t)n;
	}
	return 0;
}

static int pwrite_all(int fd, const void *buf, size_t len, uint64_t off)
{
	const uint8_t *p = buf;

	while (len > 0) {
		ssize_t n = pwrite(fd, p, len, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? map_errno(errno) : NR_EIO;
		p += n, off += (uint64_t)n, len -= (size_t)n;
	}
	return 0;
}

/* 1 when this call is the one armed to fail (counting down). */
static int fault_now(uint64_t *in)
{
	return *in && --*in == 0;
}

static int hf_read(void *ctx, uint64_t off, void *buf, uint32_t len)
{
	struct host_flash *f = ctx;

	if (off > f->size || len > f->size - off)
		return NR_EINVAL;
	return pread_all(f->fd, buf, len, off);
}

/* A program: whole aligned write units, and no bit may go from 0 to 1
 * (checked against the file before anything is written). */
static int hf_write(void *ctx, uint64_t off, const void *buf, uint32_t len)
{
	struct host_flash *f = ctx;
	const uint8_t *src = buf;
	uint32_t done, n, i;
	int ret;

	if (off > f->size || len > f->size - off || off % f->write_size || len % f->write_size) {
		f->stats.violations++;
		fprintf(stderr,
			"host_flash: program of %u bytes at %llu: outside the flash or "
			"not whole write units of %u\n",
			(unsigned)len, (unsigned long long)off, (unsigned)f->write_size);
		return NR_EINVAL;
	}
	for (done = 0; done < len; done += n) {
		n = len - done < CHUNK ? len - done : CHUNK;
		if ((ret = pread_all(f->fd, f->buf, n, off + done)) != 0)
			return ret;
		for (i = 0; i < n; i++) {
			if ((f->buf[i] & src[done + i]) != src[done + i]) {
				f->stats.violations++;
				fprintf(stderr,
					"host_flash: program at %llu would raise bits (0x%02x over "
					"0x%02x): NOR flash cannot\n",
					(unsigned long long)(off + done + i), src[done + i],
					f->buf[i]);
				return NR_EINVAL;
			}
		}
	}
	if (fault_now(&f->fail_program_in)) { /* the first half lands, as a failing chip's may */
		n = len / 2 - len / 2 % f->write_size;
		if (n)
			(void)pwrite_all(f->fd, buf, n, off);
		return NR_EIO;
	}
	f->stats.programs++;
	return pwrite_all(f->fd, buf, len, off);
}

static int hf_erase(void *ctx, uint64_t off, uint64_t len)
{
	struct host_flash *f = ctx;
	uint64_t done;
	int ret, fail;

	if (off > f->size || len > f->size - off || off % f->erase_size || len % f->erase_size) {
		f->stats.violations++;
		fprintf(stderr, "host_flash: erase of %llu bytes at %llu: not whole erase blocks\n",
			(unsigned long long)len, (unsigned long long)off);
		return NR_EINVAL;
	}
	fail = fault_now(&f->fail_erase_in);
	if (fail) /* the first half of the first block is erased */
		len = f->erase_size / 2;
	memset(f->buf, 0xFF, CHUNK);
	for (done = 0; done < len; done += CHUNK) {
		uint64_t n = len - done < CHUNK ? len - done : CHUNK;
		if ((ret = pwrite_all(f->fd, f->buf, (size_t)n, off + done)) != 0)
			return ret;
	}
	if (fail)
		return NR_EIO;
	f->stats.erases += len / f->erase_size;
	return 0;
}

static int hf_sync(void *ctx)
{
	struct host_flash *f = ctx;

	f->stats.syncs++;
	return fdatasync(f->fd) == 0 ? 0 : NR_EIO;
}

static void hf_close(void *ctx)
{
	struct host_flash *f = ctx;

	if (!f)
		return;
	close(f->fd); /* and the lock with it */
	free(f);
}

static const struct nr_plat_storage hf_ops = {
    .read = hf_read,
    .write = hf_write,
    .erase = hf_erase,
    .sync = hf_sync,
    .close = hf_close,
};

/* A new (empty) file becomes an erased chip, durably. */
static int format_new(struct host_flash *f)
{
	uint64_t off;
	int ret = 0;

	memset(f->buf, 0xFF, CHUNK);
	for (off = 0; off < f->size && ret == 0; off += CHUNK)
		ret = pwrite_all(f->fd, f->buf,
				 f->size - off < CHUNK ? (size_t)(f->size - off) : CHUNK, off);
	if (ret == 0 && fsync(f->fd) != 0)
		ret = NR_EIO;
	return ret;
}

static int is_pow2(uint32_t v)
{
	return v && !(v & (v - 1));
}

int nr_host_flash_open(const char *path, uint64_t size, uint32_t erase_size, uint32_t write_size,
		       struct nr_plat_storage *out)
{
	struct host_flash *f;
	struct stat st;
	int ret;

	memset(out, 0, sizeof(*out));
	if (!path || !is_pow2(erase_size) || !is_pow2(write_size) || write_size > erase_size ||
	    size == 0 || size % erase_size)
		return NR_EINVAL;
	f = calloc(1, sizeof(*f));
	if (!f)
		return NR_ENOMEM;
	f->size = size;
	f->erase_size = erase_size;
	f->write_size = write_size;
	f->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (f->fd < 0) {
		ret = map_errno(errno);
		free(f);
		return ret;
	}
	if (flock(f->fd, LOCK_EX | LOCK_NB) != 0) {
		ret = NR_EBUSY;
		goto fail;
	}
	ret = NR_EIO;
	if (fstat(f->fd, &st) != 0)
		goto fail;
	ret = NR_EINVAL; /* a flash of another size is never reinterpreted */
	if (st.st_size != 0 && (uint64_t)st.st_size != size)
		goto fail;
	if (st.st_size == 0 && (ret = format_new(f)) != 0)
		goto fail;
	*out = hf_ops;
	out->ctx = f;
	out->size = size;
	out->erase_size = erase_size;
	out->write_size = write_size;
	return 0;
fail:
	hf_close(f);
	return ret;
}

void nr_host_flash_fail(struct nr_plat_storage *st, enum nr_host_flash_op op, uint64_t nth)
{
	struct host_flash *f = st->ctx;

	if (op == NR_HOST_FLASH_PROGRAM)
		f->fail_program_in = nth;
	else
		f->fail_erase_in = nth;
}

void nr_host_flash_stats(const struct nr_plat_storage *st, struct nr_host_flash_stats *out)
{
	const struct host_flash *f = st->ctx;

	*out = f->stats;
}
