/*
 * linux_bdev.c - nr_plat_bdev_open for Linux: "file:PATH", a preallocated
 * file written with pwrite and made durable with fdatasync. An erase writes
 * 0xFF over the sector; a program writes the bytes the ring gives (the ring
 * always passes the merged bits). A failed fdatasync is final: the device
 * then refuses every further sync, so nothing it covered is ever trusted.
 * "mtd:" is not supported yet (NR_ENOTSUP).
 *
 * Programs that continue one another (the ring appends records at its
 * head) are gathered in a write buffer of WC_SIZE and written with one
 * pwrite: platform.h allows prog() to be buffered until sync(). Any other
 * operation (a program elsewhere, a read that overlaps, an erase, a sync,
 * close) writes the buffer out first, so the file sees every program in
 * order. A buffered write that fails is treated as a failed sync. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "platform.h"

#define WC_SIZE (32u * 1024) /* write buffer, allocated at the first program */
#define FF_SIZE 4096u        /* 0xFF block an erase writes repeatedly */

struct file_dev {
	int fd;
	int sync_failed;
	uint8_t *ff; /* FF_SIZE (or one smaller sector) of 0xFF for erases */
	uint32_t ff_size;
	uint8_t *wc; /* write buffer: wc_len bytes for offset wc_off */
	uint32_t wc_off, wc_len;
};

static int map_errno(int e)
{
	switch (e) {
	case ENOSPC:
	case EDQUOT:
		return NR_ENOSPC;
	case EACCES:
	case EPERM:
	case EROFS:
		return NR_EPERM;
	case ENOENT:
		return NR_ENOTFOUND;
	default:
		return NR_EIO;
	}
}

static int write_all(int fd, const void *buf, size_t len, off_t off)
{
	const uint8_t *p = buf;
	int tries = 0;

	while (len > 0) {
		ssize_t n = pwrite(fd, p, len, off);
		if (n < 0) {
			if (errno == EINTR && tries++ < 100)
				continue;
			return map_errno(errno);
		}
		if (n == 0)
			return NR_ENOSPC;
		p += n;
		len -= (size_t)n;
		off += n;
	}
	return 0;
}

/* Write len bytes of 0xFF at off (both multiples of ff_size), up to 16
 * blocks per call. */
static int write_ff(struct file_dev *d, int fd, uint64_t off, uint64_t len)
{
	struct iovec iov[16];
	int tries = 0;

	for (int i = 0; i < 16; i++) {
		iov[i].iov_base = d->ff;
		iov[i].iov_len = d->ff_size;
	}
	while (len > 0) {
		uint64_t blocks = len / d->ff_size;
		ssize_t n = pwritev(fd, iov, blocks < 16 ? (int)blocks : 16, (off_t)off);
		if (n < 0) {
			if (errno == EINTR && tries++ < 100)
				continue;
			return map_errno(errno);
		}
		if (n == 0)
			return NR_ENOSPC;
		uint32_t part = (uint32_t)((uint64_t)n % d->ff_size);
		if (part) { /* a short write inside a block: finish that block */
			int ret =
			    write_all(fd, d->ff, d->ff_size - part, (off_t)(off + (uint64_t)n));
			if (ret)
				return ret;
			n += d->ff_size - part;
		}
		off += (uint64_t)n;
		len -= (uint64_t)n;
	}
	return 0;
}

/* Write the buffer out; a failure there is final, as a failed sync. */
static int wc_flush(struct file_dev *d)
{
	int ret;

	if (d->wc_len == 0)
		return 0;
	ret = write_all(d->fd, d->wc, d->wc_len, (off_t)d->wc_off);
	d->wc_len = 0;
	if (ret)
		d->sync_failed = 1;
	return ret;
}

static int file_read(struct nr_bdev *bd, uint32_t off, void *buf, uint32_t len)
{
	struct file_dev *d = bd->ctx;
	uint8_t *p = buf;
	int tries = 0;

	if ((uint64_t)off + len > (uint64_t)bd->sector_size * bd->sector_count)
		return NR_EINVAL;
	if (d->wc_len && off < d->wc_off + d->wc_len && off + len > d->wc_off && wc_flush(d))
		return NR_EIO;
	while (len > 0) {
		ssize_t n = pread(d->fd, p, len, off);
		if (n < 0) {
			if (errno == EINTR && tries++ < 100)
				continue;
			return NR_EIO;
		}
		if (n == 0) {
			memset(p, 0xFF, len); /* a hole past the end reads erased */
			return 0;
		}
		p += n;
		len -= (uint32_t)n;
		off += (uint32_t)n;
	}
	return 0;
}

static int file_prog(struct nr_bdev *bd, uint32_t off, const void *buf, uint32_t len)
{
	struct file_dev *d = bd->ctx;

	if ((uint64_t)off + len > (uint64_t)bd->sector_size * bd->sector_count)
		return NR_EINVAL;
	if (d->wc_len && off == d->wc_off + d->wc_len && d->wc_len + len <= WC_SIZE) {
		memcpy(d->wc + d->wc_len, buf, len);
		d->wc_len += len;
		return 0;
	}
	int ret = wc_flush(d);
	if (ret)
		return ret;
	if (len < WC_SIZE && !d->wc)
		d->wc = malloc(WC_SIZE);
	if (len >= WC_SIZE || !d->wc)
		return write_all(d->fd, buf, len, off);
	memcpy(d->wc, buf, len);
	d->wc_off = off;
	d->wc_len = len;
	return 0;
}

static int file_erase(struct nr_bdev *bd, uint32_t sector)
{
	struct file_dev *d = bd->ctx;

	if (sector >= bd->sector_count)
		return NR_EINVAL;
	int ret = wc_flush(d);
	if (ret)
		return ret;
	return write_ff(d, d->fd, (uint64_t)sector * bd->sector_size, bd->sector_size);
}

static int file_sync(struct nr_bdev *bd)
{
	struct file_dev *d = bd->ctx;

	if (d->sync_failed || wc_flush(d))
		return NR_EIO;
	if (fdatasync(d->fd) != 0) {
		/* Linux may drop the dirty pages after reporting EIO once:
		 * a later "successful" sync would prove nothing. */
		d->sync_failed = 1;
		return NR_EIO;
	}
	return 0;
}

static void file_close(struct nr_bdev *bd)
{
	struct file_dev *d = bd->ctx;

	if (!d)
		return;
	(void)wc_flush(d); /* nothing unsynced was acknowledged */
	close(d->fd);
	free(d->wc);
	free(d->ff);
	free(d);
	bd->ctx = NULL;
}

static int open_file(const char *path, uint64_t size, uint32_t sector_size, struct nr_bdev *out)
{
	struct file_dev *d = NULL;
	struct stat st;
	int fd = -1, ret = NR_EINVAL, created = 0;

	if (sector_size < 512 || (sector_size & (sector_size - 1)) || size == 0 ||
	    size % sector_size || size > UINT32_MAX)
		goto out;
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) {
		fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		created = 1;
	}
	if (fd < 0) {
		ret = map_errno(errno);
		goto out;
	}
	if (fstat(fd, &st) != 0) {
		ret = NR_EIO;
		goto out;
	}
	ret = NR_ENOMEM;
	d = calloc(1, sizeof(*d));
	if (!d)
		goto out;
	d->ff_size = sector_size < FF_SIZE ? sector_size : FF_SIZE;
	if (!(d->ff = malloc(d->ff_size)))
		goto out;
	memset(d->ff, 0xFF, d->ff_size);
	if (created || st.st_size == 0) {
		/* preallocate, all erased, and make the size durable */
		int e = posix_fallocate(fd, 0, (off_t)size);
		if (e != 0 && e != EOPNOTSUPP && e != EINVAL) {
			ret = map_errno(e);
			goto out;
		}
		ret = write_ff(d, fd, 0, size);
		if (ret)
			goto out;
		if (fsync(fd) != 0) {
			ret = NR_EIO;
			goto out;
		}
	} else if ((uint64_t)st.st_size != size) {
		ret = NR_EINVAL; /* never reinterpret a queue of another size */
		goto out;
	}
	d->fd = fd;
	fd = -1;
	memset(out, 0, sizeof(*out));
	out->ctx = d;
	d = NULL;
	out->sector_size = sector_size;
	out->sector_count = (uint32_t)(size / sector_size);
	out->prog_size = 1;
	out->name = "file";
	out->persistent = 1;
	out->read = file_read;
	out->prog = file_prog;
	out->erase = file_erase;
	out->sync = file_sync;
	out->close = file_close;
	ret = 0;
out:
	if (d) {
		free(d->ff);
		free(d);
	}
	if (fd >= 0)
		close(fd);
	return ret;
}

int nr_plat_bdev_open(const char *spec, uint64_t size, uint32_t sector_size, struct nr_bdev *out)
{
	if (!spec || !out)
		return NR_EINVAL;
	if (strncmp(spec, "file:", 5) == 0)
		return open_file(spec + 5, size, sector_size, out);
	if (strncmp(spec, "mtd:", 4) == 0)
		return NR_ENOTSUP;
	return NR_EINVAL;
}
