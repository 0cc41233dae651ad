/*
 * linux_bdev.c - raw storage for Linux (platform.h, struct nr_plat_storage):
 * a preallocated file, read with pread, written with pwrite, erased by
 * writing 0xFF, made durable with fdatasync. Buffering, sectors and "a
 * failed sync is final" are src/store's (store_combine.c), not the shim's.
 * The MTD backend is linux_mtd.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "platform.h"

#define FF_SIZE 4096u /* 0xFF block an erase writes repeatedly */
/* Blocks per pwritev when erasing: one page a call (issue 22: less
 * page-cache write-back on Linux 6.x than 64 KiB calls). A kill in the
 * middle of an erase leaves the sector's first pages erased and the rest as
 * it was; the erase goes from the sector's start, so its header is the
 * first thing lost and the queue never reads the old records behind it
 * (src/queue/FORMAT.md, "A torn erase"). */
#define FF_IOV 1
/* Creating a queue file erases all of it at once, nothing to tear there:
 * 256 KiB a call (a 256 MiB queue in 1,024 calls, not 65,536). */
#define FF_IOV_MAX 64

struct file_dev {
	int fd;
	uint8_t ff[FF_SIZE];
};

static int map_errno(int e)
{
	switch (e) {
	case ENOSPC:
	case EDQUOT:
		return NR_ENOSPC;
	case EACCES:
	case EPERM:
		return NR_EPERM;
	case EROFS: /* the real cause, not "permission denied" */
		return NR_EROFS;
	case ENOENT:
		return NR_ENOTFOUND;
	default:
		return NR_EIO;
	}
}

/* Write every byte the cnt iovecs describe at off, taking short writes and
 * EINTR in stride (iov is consumed). */
static int write_iov(int fd, struct iovec *iov, int cnt, uint64_t off)
{
	int tries = 0;

	while (cnt > 0) {
		ssize_t n = pwritev(fd, iov, cnt, (off_t)off);
		if (n < 0) {
			if (errno == EINTR && tries++ < 100)
				continue;
			return map_errno(errno);
		}
		if (n == 0)
			return NR_ENOSPC;
		off += (uint64_t)n;
		while (cnt > 0 && (size_t)n >= iov->iov_len) {
			n -= (ssize_t)iov->iov_len;
			iov++;
			cnt--;
		}
		if (cnt > 0) {
			iov->iov_base = (uint8_t *)iov->iov_base + n;
			iov->iov_len -= (size_t)n;
		}
	}
	return 0;
}

static int file_write(void *ctx, uint64_t off, const void *buf, uint32_t len)
{
	struct file_dev *d = ctx;
	struct iovec iov = {(void *)(uintptr_t)buf, len};

	return write_iov(d->fd, &iov, 1, off);
}

/* Write 0xFF over [off, off+len), per_call blocks (at most FF_IOV_MAX) a
 * pwritev. */
static int fill_ff(struct file_dev *d, uint64_t off, uint64_t len, int per_call)
{
	struct iovec iov[FF_IOV_MAX];

	while (len > 0) {
		int cnt = 0;
		uint64_t part = 0;
		while (cnt < per_call && part < len) {
			iov[cnt].iov_base = d->ff;
			iov[cnt].iov_len = len - part < FF_SIZE ? (size_t)(len - part) : FF_SIZE;
			part += iov[cnt++].iov_len;
		}
		int ret = write_iov(d->fd, iov, cnt, off);
		if (ret)
			return ret;
		off += part;
		len -= part;
	}
	return 0;
}

static int file_erase(void *ctx, uint64_t off, uint64_t len)
{
	return fill_ff(ctx, off, len, FF_IOV);
}

static int file_read(void *ctx, uint64_t off, void *buf, uint32_t len)
{
	struct file_dev *d = ctx;
	uint8_t *p = buf;
	int tries = 0;

	while (len > 0) {
		ssize_t n = pread(d->fd, p, len, (off_t)off);
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
		off += (uint64_t)n;
	}
	return 0;
}

static int file_sync(void *ctx)
{
	struct file_dev *d = ctx;

	return fdatasync(d->fd) == 0 ? 0 : NR_EIO;
}

static void file_close(void *ctx)
{
	struct file_dev *d = ctx;

	if (!d)
		return;
	close(d->fd);
	free(d);
}

/* statfs f_type of tmpfs and ramfs (linux/magic.h, which musl-gcc lacks) */
#define NR_TMPFS_MAGIC 0x01021994u
#define NR_RAMFS_MAGIC 0x858458f6u

/* tmpfs or ramfs: what OpenWrt and many BusyBox systems mount on /var and
 * /tmp. A queue there is lost at a power cut, and status must say so. */
static int in_ram_fs(int fd)
{
	struct statfs sfs;

	if (fstatfs(fd, &sfs) != 0)
		return 0;
	/* f_type is a signed int on 32-bit targets: compare its 32 bits */
	return (uint32_t)sfs.f_type == NR_TMPFS_MAGIC || (uint32_t)sfs.f_type == NR_RAMFS_MAGIC;
}

int nr_plat_bdev_file_open(const char *path, uint64_t size, struct nr_plat_storage *out)
{
	struct file_dev *d = NULL;
	struct stat st;
	int fd = -1, ret = NR_EINVAL, created = 0;

	memset(out, 0, sizeof(*out));
	if (!path || size == 0)
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
	memset(d->ff, 0xFF, sizeof(d->ff));
	d->fd = fd;
	if (created || st.st_size == 0) {
		/* preallocate, all erased, and make the size durable */
		int e = posix_fallocate(fd, 0, (off_t)size);
		if (e != 0 && e != EOPNOTSUPP && e != EINVAL) {
			ret = map_errno(e);
			goto out;
		}
		ret = fill_ff(d, 0, size, FF_IOV_MAX);
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
	out->ctx = d;
	out->size = size;
	out->in_ram = in_ram_fs(fd);
	out->read = file_read;
	out->write = file_write;
	out->erase = file_erase;
	out->sync = file_sync;
	out->close = file_close;
	return 0;
out:
	free(d);
	if (fd >= 0)
		close(fd);
	return ret;
}
