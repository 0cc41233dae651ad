/*
 * linux_mtd.c - a raw NOR partition as struct nr_plat_storage (platform.h):
 * a Linux MTD character device (/dev/mtdN), named by path or by its
 * partition name in /proc/mtd (as OpenWrt names them). Geometry comes from
 * MEMGETINFO, erase is MEMERASE, writes go out in writesize units. mtdchar
 * writes reach the flash before write() returns, so sync has nothing to do.
 *
 * Refused with a reason for the log: a name or device that does not exist,
 * NAND (it needs ECC and bad-block handling: a file queue on UBIFS is the
 * way there), a read-only device, one another process holds
 * (an exclusive flock: two relays never share a ring), and one with fewer
 * than NR_PLAT_MTD_MIN_BLOCKS erase blocks. Whether the partition holds another
 * file system is src/store's check (store_mtd.c), the same on every OS.
 *
 * Every system call goes through a small table (struct nr_linux_mtd_sys)
 * that the unit test replaces with a fake MTD device: this machine's
 * kernel has no MTD.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "linux_internal.h"
#include "linux_mtd_abi.h"

static int sys_open(const char *path, int flags)
{
	return open(path, flags);
}

static int sys_ioctl(int fd, unsigned long req, void *arg)
{
	return ioctl(fd, req, arg);
}

static long sys_pread(int fd, void *buf, size_t len, uint64_t off)
{
	return (long)pread(fd, buf, len, (off_t)off);
}

static long sys_pwrite(int fd, const void *buf, size_t len, uint64_t off)
{
	return (long)pwrite(fd, buf, len, (off_t)off);
}

static const struct nr_linux_mtd_sys real_sys = {
    .open = sys_open,
    .close = close,
    .ioctl = sys_ioctl,
    .pread = sys_pread,
    .pwrite = sys_pwrite,
    .flock = flock,
    .proc_mtd = "/proc/mtd",
};

static const struct nr_linux_mtd_sys *sys = &real_sys;

void nr_linux_mtd_set_sys(const struct nr_linux_mtd_sys *s)
{
	sys = s ? s : &real_sys;
}

struct mtd_dev {
	int fd;
	uint32_t write_size;
	uint8_t *page; /* one write unit, for writes that do not fill one */
	char path[128];
};

static int why_fail(char *why, size_t why_size, int ret, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int why_fail(char *why, size_t why_size, int ret, const char *fmt, ...)
{
	va_list ap;

	if (why && why_size) {
		va_start(ap, fmt);
		vsnprintf(why, why_size, fmt, ap);
		va_end(ap);
	}
	return ret;
}

/* /dev/mtdN for the partition called name in /proc/mtd, whose lines read
 * `mtd3: 00100000 00010000 "queue"`. */
static int find_by_name(const char *name, char *dev, size_t dev_size)
{
	char line[256], want[160];
	int ret = NR_ENOTFOUND;
	FILE *f = fopen(sys->proc_mtd, "re");

	if (!f)
		return NR_ENOTFOUND;
	snprintf(want, sizeof(want), "\"%s\"", name);
	while (fgets(line, sizeof(line), f)) {
		char *colon = strchr(line, ':');
		char *q = strchr(line, '"');
		if (!colon || !q || strncmp(line, "mtd", 3) != 0)
			continue;
		q[strcspn(q, "\r\n")] = '\0';
		if (strcmp(q, want) != 0)
			continue;
		*colon = '\0';
		if (strlen(line) + 6 > dev_size)
			continue;
		memcpy(dev, "/dev/", 5);
		memcpy(dev + 5, line, strlen(line) + 1);
		ret = 0;
		break;
	}
	fclose(f);
	return ret;
}

static int mtd_read(void *ctx, uint64_t off, void *buf, uint32_t len)
{
	struct mtd_dev *d = ctx;
	uint8_t *p = buf;
	int tries = 0;

	while (len > 0) {
		long n = sys->pread(d->fd, p, len, off);
		if (n < 0 && errno == EINTR && tries++ < 100)
			continue;
		if (n <= 0)
			return NR_EIO;
		p += n;
		len -= (uint32_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

/* One whole, aligned run of write units. */
static int write_units(struct mtd_dev *d, uint64_t off, const uint8_t *p, uint32_t len)
{
	int tries = 0;

	while (len > 0) {
		long n = sys->pwrite(d->fd, p, len, off);
		if (n < 0 && errno == EINTR && tries++ < 100)
			continue;
		if (n <= 0)
			return n < 0 && errno == ENOSPC ? NR_ENOSPC : NR_EIO;
		p += n;
		len -= (uint32_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

/* A part of one write unit: the unit is read, the bytes put in, and the
 * whole unit written. Writing back what is there is a no-op on NOR (and
 * on the RAM-like drivers, which overwrite), so neighbours are kept. */
static int write_partial(struct mtd_dev *d, uint64_t off, const uint8_t *p, uint32_t len)
{
	uint64_t base = off - off % d->write_size;
	int ret = mtd_read(d, base, d->page, d->write_size);

	if (ret)
		return ret;
	memcpy(d->page + (off - base), p, len);
	return write_units(d, base, d->page, d->write_size);
}

static int mtd_write(void *ctx, uint64_t off, const void *buf, uint32_t len)
{
	struct mtd_dev *d = ctx;
	const uint8_t *p = buf;
	uint32_t ws = d->write_size, n;
	int ret;

	if (ws > 1 && off % ws) { /* head */
		n = ws - (uint32_t)(off % ws);
		n = n < len ? n : len;
		if ((ret = write_partial(d, off, p, n)) != 0)
			return ret;
		p += n, off += n, len -= n;
	}
	n = len - len % ws; /* the aligned middle */
	if (n && (ret = write_units(d, off, p, n)) != 0)
		return ret;
	p += n, off += n, len -= n;
	return len ? write_partial(d, off, p, len) : 0; /* tail */
}

static int mtd_erase(void *ctx, uint64_t off, uint64_t len)
{
	struct mtd_dev *d = ctx;
	struct erase_info_user e = {.start = (uint32_t)off, .length = (uint32_t)len};

	return sys->ioctl(d->fd, MEMERASE, &e) == 0 ? 0 : NR_EIO;
}

/*
 * A NOR chip has programmed or erased before write() or MEMERASE returns, but
 * block2mtd keeps both in the page cache of the block device under it until
 * the MTD is synced, and mtdchar has no fsync: the kernel syncs an MTD when a
 * writer closes it (mtdchar_close -> mtd_sync -> block2mtd's sync_blockdev).
 * So a sync opens the device for writing and closes it again. Without this,
 * power cuts in the QEMU router test lost acknowledged messages.
 */
static int mtd_sync(void *ctx)
{
	struct mtd_dev *d = ctx;
	int fd = sys->open(d->path, O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return NR_EIO;
	sys->close(fd);
	return 0;
}

static void mtd_close(void *ctx)
{
	struct mtd_dev *d = ctx;

	if (!d)
		return;
	sys->close(d->fd); /* and the flock with it */
	free(d->page);
	free(d);
}

/* The device type, or a refusal with its reason. */
static int check_type(const struct mtd_info_user *mi, const char *dev, char *why, size_t why_size)
{
	switch (mi->type) {
	case MTD_NORFLASH:
	case MTD_RAM: /* mtdram, block2mtd: NOR semantics or better */
		break;
	case MTD_NANDFLASH:
	case MTD_MLCNANDFLASH:
		return why_fail(why, why_size, NR_ENOTSUP,
				"%s is NAND flash, which the mtd: queue does not support (no ECC "
				"or bad-block handling): use a file queue on UBIFS instead",
				dev);
	case MTD_UBIVOLUME:
		return why_fail(why, why_size, NR_ENOTSUP,
				"%s is a UBI volume: use a file queue on UBIFS instead", dev);
	default:
		return why_fail(why, why_size, NR_ENOTSUP,
				"%s has MTD type %u; only NOR flash (and mtdram, block2mtd) "
				"is supported",
				dev, (unsigned)mi->type);
	}
	/* (MTD_NO_ERASE, which mtdram and block2mtd set, means "need not be
	 * erased": they still take MEMERASE, and write 0xFF) */
	if (!(mi->flags & MTD_WRITEABLE))
		return why_fail(why, why_size, NR_EPERM, "%s is read-only", dev);
	if (mi->erasesize < 512 || (mi->erasesize & (mi->erasesize - 1)) || mi->writesize == 0 ||
	    (mi->writesize & (mi->writesize - 1)) || mi->writesize > mi->erasesize)
		return why_fail(why, why_size, NR_ENOTSUP,
				"%s has an erase size of %u and a write size of %u bytes: both "
				"must be powers of two, the erase size at least 512",
				dev, (unsigned)mi->erasesize, (unsigned)mi->writesize);
	return 0;
}

static int check_size(const struct mtd_info_user *mi, const char *dev, uint64_t *size, char *why,
		      size_t why_size)
{
	if (*size == 0)
		*size = mi->size;
	if (*size > mi->size)
		return why_fail(why, why_size, NR_EINVAL,
				"size=%llu is larger than %s (%llu bytes)",
				(unsigned long long)*size, dev, (unsigned long long)mi->size);
	if (*size % mi->erasesize)
		return why_fail(why, why_size, NR_EINVAL,
				"size=%llu is not a multiple of the erase block of %s (%u bytes)",
				(unsigned long long)*size, dev, (unsigned)mi->erasesize);
	if (*size / mi->erasesize < NR_PLAT_MTD_MIN_BLOCKS)
		return why_fail(why, why_size, NR_EINVAL,
				"%s is too small: %llu erase blocks of %u bytes; the queue needs "
				"at least %d",
				dev, (unsigned long long)(*size / mi->erasesize),
				(unsigned)mi->erasesize, NR_PLAT_MTD_MIN_BLOCKS);
	return 0;
}

int nr_plat_bdev_mtd_open(const char *path, uint64_t size, struct nr_plat_storage *out, char *why,
			  size_t why_size)
{
	struct mtd_info_user mi;
	struct mtd_dev *d = NULL;
	char dev[64];
	int fd = -1, ret;

	memset(out, 0, sizeof(*out));
	if (why && why_size)
		why[0] = '\0';
	if (!path || !*path)
		return NR_EINVAL;
	if (path[0] == '/') {
		snprintf(dev, sizeof(dev), "%s", path);
	} else if (find_by_name(path, dev, sizeof(dev)) != 0) {
		return why_fail(why, why_size, NR_ENOTFOUND,
				"no MTD partition is named \"%s\" (the names are in /proc/mtd)",
				path);
	}
	fd = sys->open(dev, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		ret = nr_linux_errno(errno);
		if (errno == ENOENT || errno == ENXIO || errno == ENODEV)
			return why_fail(why, why_size, NR_ENOTFOUND, "%s does not exist", dev);
		if (errno == EACCES || errno == EROFS || errno == EPERM)
			return why_fail(why, why_size, NR_EPERM,
					"%s cannot be opened for writing (read-only or no "
					"permission)",
					dev);
		return why_fail(why, why_size, ret, "%s: %s", dev, strerror(errno));
	}
	if (sys->flock(fd, LOCK_EX | LOCK_NB) != 0) {
		ret = why_fail(why, why_size, NR_EBUSY,
			       "%s is in use by another process (it holds its lock)", dev);
		goto fail;
	}
	if (sys->ioctl(fd, MEMGETINFO, &mi) != 0) {
		ret = why_fail(why, why_size, NR_EINVAL, "%s is not an MTD device (MEMGETINFO: %s)",
			       dev, strerror(errno));
		goto fail;
	}
	if ((ret = check_type(&mi, dev, why, why_size)) != 0 ||
	    (ret = check_size(&mi, dev, &size, why, why_size)) != 0)
		goto fail;
	ret = NR_ENOMEM;
	d = calloc(1, sizeof(*d));
	if (!d || !(d->page = malloc(mi.writesize)))
		goto fail;
	d->fd = fd;
	d->write_size = mi.writesize;
	snprintf(d->path, sizeof(d->path), "%s", dev);
	out->ctx = d;
	out->size = size;
	out->erase_size = mi.erasesize;
	out->write_size = mi.writesize;
	out->read = mtd_read;
	out->write = mtd_write;
	out->erase = mtd_erase;
	out->sync = mtd_sync;
	out->close = mtd_close;
	return 0;
fail:
	if (d)
		free(d->page);
	free(d);
	sys->close(fd);
	return ret;
}

/* Linux has no board flash HAL: raw NOR flash is reached through MTD. */
int nr_plat_bdev_flash_open(uint64_t size, struct nr_plat_storage *out)
{
	(void)size;
	memset(out, 0, sizeof(*out));
	return NR_ENOTSUP;
}
