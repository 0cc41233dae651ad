/* test_store_mtd.c - the mtd: backend (platform/linux/linux_mtd.c and
 * src/store/store_mtd.c) against a fake MTD character device: this
 * machine's kernel has no MTD, so the shim's system calls are swapped for
 * a device in memory with NOR rules (program may only clear bits; the
 * fake fails the test otherwise), MEMGETINFO, MEMERASE (counted), flock
 * and a /proc/mtd of our own. A real kernel driver (block2mtd) is used by
 * tests/system/qemu-router.sh. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "linux_internal.h"
#include "linux_mtd_abi.h"
#include "store/store.h"
#include "test.h"
#include "unit/queue/qtest.h"

#define FAKE_FD 77
#define MAXDEV (1024 * 1024)

static struct {
	struct mtd_info_user mi;
	uint8_t mem[MAXDEV];
	int open, locked, busy, nor_violations, misaligned;
	unsigned erases, writes;
} fk;

static void fake_new(uint8_t type, uint32_t flags, uint32_t size, uint32_t erasesize,
		     uint32_t writesize)
{
	memset(&fk, 0, sizeof(fk));
	fk.mi.type = type;
	fk.mi.flags = flags;
	fk.mi.size = size;
	fk.mi.erasesize = erasesize;
	fk.mi.writesize = writesize;
	memset(fk.mem, 0xFF, sizeof(fk.mem));
}

static int f_open(const char *path, int flags)
{
	(void)flags;
	if (strcmp(path, "/dev/mtd3") != 0) {
		errno = ENOENT;
		return -1;
	}
	fk.open++;
	return FAKE_FD;
}

static int f_close(int fd)
{
	if (fd == FAKE_FD && --fk.open == 0)
		fk.locked = 0; /* the lock goes with the last descriptor */
	return 0;
}

static int f_flock(int fd, int op)
{
	(void)fd;
	if (op == (LOCK_EX | LOCK_NB) && (fk.busy || fk.locked)) {
		errno = EWOULDBLOCK;
		return -1;
	}
	fk.locked = 1;
	return 0;
}

static int f_ioctl(int fd, unsigned long req, void *arg)
{
	(void)fd;
	if (req == MEMGETINFO) {
		memcpy(arg, &fk.mi, sizeof(fk.mi));
		return 0;
	}
	if (req == MEMERASE) {
		struct erase_info_user *e = arg;
		if (e->start % fk.mi.erasesize || e->length % fk.mi.erasesize ||
		    e->start + e->length > fk.mi.size) {
			errno = EINVAL;
			return -1;
		}
		memset(fk.mem + e->start, 0xFF, e->length);
		fk.erases += e->length / fk.mi.erasesize;
		return 0;
	}
	errno = ENOTTY;
	return -1;
}

static long f_pread(int fd, void *buf, size_t len, uint64_t off)
{
	(void)fd;
	if (off >= fk.mi.size)
		return 0;
	if (len > fk.mi.size - off)
		len = (size_t)(fk.mi.size - off);
	memcpy(buf, fk.mem + off, len);
	return (long)len;
}

/* NOR: whole write units only, and a program can only clear bits */
static long f_pwrite(int fd, const void *buf, size_t len, uint64_t off)
{
	const uint8_t *p = buf;
	size_t i;

	(void)fd;
	if (off % fk.mi.writesize || len % fk.mi.writesize || off + len > fk.mi.size) {
		fk.misaligned++;
		errno = EINVAL;
		return -1;
	}
	for (i = 0; i < len; i++) {
		if ((fk.mem[off + i] & p[i]) != p[i])
			fk.nor_violations++;
		fk.mem[off + i] &= p[i];
	}
	fk.writes++;
	return (long)len;
}

static char proc_path[256];
static const struct nr_linux_mtd_sys fake_sys = {
    .open = f_open,
    .close = f_close,
    .ioctl = f_ioctl,
    .pread = f_pread,
    .pwrite = f_pwrite,
    .flock = f_flock,
    .proc_mtd = proc_path,
};

TEST(names_and_refusals)
{
	struct nr_plat_storage st;
	char why[256];

	fake_new(MTD_NORFLASH, MTD_CAP_NORFLASH, 8 * 65536, 65536, 1);
	/* a name from /proc/mtd, as OpenWrt names its partitions */
	ASSERT_EQ(nr_plat_bdev_mtd_open("nrqueue", 0, &st, why, sizeof(why)), 0);
	EXPECT_EQ(st.size, 8u * 65536);
	EXPECT_EQ(st.erase_size, 65536u);
	EXPECT_EQ(st.write_size, 1u);
	EXPECT_EQ(fk.locked, 1);
	/* a second opener is refused: the lock is held */
	{
		struct nr_plat_storage st2;
		EXPECT_EQ(nr_plat_bdev_mtd_open("/dev/mtd3", 0, &st2, why, sizeof(why)), NR_EBUSY);
	}
	EXPECT_TRUE(strstr(why, "in use") != NULL);
	EXPECT_EQ(fk.open, 1); /* the refused one was closed */
	st.close(st.ctx);
	EXPECT_EQ(fk.open, 0);
	fk.busy = 1; /* another process holds it */
	EXPECT_EQ(nr_plat_bdev_mtd_open("/dev/mtd3", 0, &st, why, sizeof(why)), NR_EBUSY);
	fk.busy = 0;

	EXPECT_EQ(nr_plat_bdev_mtd_open("nosuch", 0, &st, why, sizeof(why)), NR_ENOTFOUND);
	EXPECT_TRUE(strstr(why, "no MTD partition is named \"nosuch\"") != NULL);
	EXPECT_EQ(nr_plat_bdev_mtd_open("/dev/mtd9", 0, &st, why, sizeof(why)), NR_ENOTFOUND);
	EXPECT_TRUE(strstr(why, "/dev/mtd9 does not exist") != NULL);

	fake_new(MTD_NANDFLASH, MTD_CAP_NANDFLASH, 8 * 131072, 131072, 2048);
	EXPECT_EQ(nr_plat_bdev_mtd_open("nrqueue", 0, &st, why, sizeof(why)), NR_ENOTSUP);
	EXPECT_TRUE(strstr(why, "NAND") && strstr(why, "file queue on UBIFS"));
	fake_new(MTD_NORFLASH, 0, 8 * 65536, 65536, 1); /* not MTD_WRITEABLE */
	EXPECT_EQ(nr_plat_bdev_mtd_open("nrqueue", 0, &st, why, sizeof(why)), NR_EPERM);
	EXPECT_TRUE(strstr(why, "read-only") != NULL);
	fake_new(MTD_NORFLASH, MTD_CAP_NORFLASH, 4 * 65536, 65536, 1);
	EXPECT_EQ(nr_plat_bdev_mtd_open("nrqueue", 0, &st, why, sizeof(why)), NR_EINVAL);
	EXPECT_TRUE(strstr(why, "too small: 4 erase blocks of 65536 bytes") != NULL);
	fake_new(MTD_NORFLASH, MTD_CAP_NORFLASH, 1 * 65536, 65536, 1); /* < 2 sectors */
	EXPECT_EQ(nr_plat_bdev_mtd_open("nrqueue", 0, &st, why, sizeof(why)), NR_EINVAL);
	fake_new(MTD_NORFLASH, MTD_CAP_NORFLASH, 8 * 65536, 65536, 1);
	EXPECT_EQ(nr_plat_bdev_mtd_open("nrqueue", 9 * 65536, &st, why, sizeof(why)), NR_EINVAL);
	EXPECT_EQ(nr_plat_bdev_mtd_open("nrqueue", 6 * 65536 + 4, &st, why, sizeof(why)),
		  NR_EINVAL);
	ASSERT_EQ(nr_plat_bdev_mtd_open("nrqueue", 6 * 65536, &st, why, sizeof(why)), 0);
	EXPECT_EQ(st.size, 6u * 65536);
	st.close(st.ctx);
	EXPECT_EQ(fk.open, 0);
}

/* A write unit of 16 bytes: unaligned writes are filled from what the
 * flash holds, so neighbours keep their bytes and NOR rules hold. */
TEST(write_units_and_erase)
{
	struct nr_plat_storage st;
	uint8_t buf[64], want[64];

	fake_new(MTD_NORFLASH, MTD_CAP_NORFLASH, 8 * 4096, 4096, 16);
	ASSERT_EQ(nr_plat_bdev_mtd_open("/dev/mtd3", 0, &st, NULL, 0), 0);
	memset(want, 0xFF, sizeof(want));
	memcpy(want + 5, "hello", 5);
	memcpy(want + 10, "-world, across units", 20);
	ASSERT_EQ(st.write(st.ctx, 4096 + 5, "hello", 5), 0);
	ASSERT_EQ(st.write(st.ctx, 4096 + 10, "-world, across units", 20), 0);
	ASSERT_EQ(st.read(st.ctx, 4096, buf, sizeof(buf)), 0);
	EXPECT_MEMEQ(buf, want, sizeof(want));
	EXPECT_EQ(fk.misaligned, 0);
	EXPECT_EQ(fk.nor_violations, 0);
	ASSERT_EQ(st.erase(st.ctx, 4096, 4096), 0);
	EXPECT_EQ(fk.erases, 1u);
	ASSERT_EQ(st.read(st.ctx, 4096, buf, sizeof(buf)), 0);
	memset(want, 0xFF, sizeof(want));
	EXPECT_MEMEQ(buf, want, sizeof(want));
	EXPECT_EQ(st.sync(st.ctx), 0);
	st.close(st.ctx);
}

static int open_q(struct nr_bdev *bd, struct nr_queue **q, char *why, size_t why_size)
{
	int ret = nr_store_mtd_open(bd, "nrqueue", 0, why, why_size);

	if (ret)
		return ret;
	ret = nr_queue_open(q, bd, NULL);
	if (ret)
		bd->close(bd);
	return ret;
}

/* An erased partition is initialised, a ring recovered; messages round
 * trip; erase counts and geometry reach the stats. */
TEST(queue_on_mtd)
{
	struct nr_bdev bd;
	struct nr_queue *q = NULL;
	struct nr_qstats qs;
	nr_qid_t id[40];
	uint32_t n, found = 0;
	char why[256];

	fake_new(MTD_RAM, MTD_CAP_RAM, 16 * 16384, 16384, 1); /* as mtdram, block2mtd */
	ASSERT_EQ(open_q(&bd, &q, why, sizeof(why)), 0);
	EXPECT_EQ(bd.sector_size, 16384u);
	EXPECT_EQ(bd.sector_count, 16u);
	EXPECT_STREQ(bd.name, "mtd");
	EXPECT_EQ(bd.persistent, 1);
	for (n = 0; n < 40; n++)
		ASSERT_EQ(qt_enqueue(q, n, 1000 + n * 97, 2, 500, &id[n]), 0);
	nr_queue_close(q);
	bd.close(&bd);
	EXPECT_EQ(fk.open, 0);
	EXPECT_TRUE(fk.erases >= 2);
	EXPECT_EQ(fk.nor_violations, 0);

	ASSERT_EQ(open_q(&bd, &q, why, sizeof(why)), 0);
	for (n = 0; n < 40; n++)
		EXPECT_EQ(qt_check(q, id[n], n, 1000 + n * 97, 2), 0);
	nr_queue_stats(q, &qs);
	EXPECT_STREQ(qs.backend, "mtd");
	EXPECT_EQ(qs.persistent, 1);
	EXPECT_TRUE(qs.erase_max >= 1);
	EXPECT_EQ(nr_queue_probe_sector_size(&bd, &found), 0);
	EXPECT_EQ(found, 16384u);
	nr_queue_close(q);
	bd.close(&bd);

	/* the same ring under another erase size: the probe shows the change
	 * (the daemon refuses it: "the geometry changed") */
	fk.mi.erasesize = 32768;
	ASSERT_EQ(nr_store_mtd_open(&bd, "nrqueue", 0, why, sizeof(why)), 0);
	EXPECT_EQ(nr_queue_probe_sector_size(&bd, &found), 0);
	EXPECT_NE(found, bd.sector_size);
	bd.close(&bd);
}

/* Another file system, or data we cannot name, is never touched. */
TEST(foreign_content_is_never_formatted)
{
	static const uint8_t jffs2_le[4] = {0x85, 0x19, 0x03, 0x20};
	static const uint8_t jffs2_be[4] = {0x19, 0x85, 0x20, 0x03};
	static uint8_t before[16 * 16384];
	struct nr_bdev bd;
	char why[256];
	struct {
		const void *bytes;
		size_t len;
		uint32_t at;
		int want;
		const char *says;
	} cases[] = {
	    {jffs2_le, 4, 0, NR_EBUSY, "holds a JFFS2 file system"},
	    {jffs2_be, 4, 3 * 16384, NR_EBUSY, "holds a JFFS2 file system"},
	    {"UBI#", 4, 0, NR_EBUSY, "holds a UBI file system"},
	    {"hsqs", 4, 0, NR_ECORRUPT, "not a nanorelay queue and is not erased"},
	    {"x", 1, 16384 + 777, NR_ECORRUPT, "not a nanorelay queue and is not erased"},
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		fake_new(MTD_NORFLASH, MTD_CAP_NORFLASH, 16 * 16384, 16384, 1);
		memcpy(fk.mem + cases[i].at, cases[i].bytes, cases[i].len);
		memcpy(before, fk.mem, sizeof(before));
		EXPECT_EQ(nr_store_mtd_open(&bd, "nrqueue", 0, why, sizeof(why)), cases[i].want);
		EXPECT_TRUE(strstr(why, cases[i].says) != NULL);
		EXPECT_EQ(fk.erases, 0u);
		EXPECT_EQ(fk.writes, 0u);
		EXPECT_MEMEQ(fk.mem, before, sizeof(before));
		EXPECT_EQ(fk.open, 0);
	}
}

int main(void)
{
	FILE *f;

	snprintf(proc_path, sizeof(proc_path), "%s/nr_test_proc_mtd.%ld",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", (long)getpid());
	f = fopen(proc_path, "w");
	if (!f)
		return 1;
	fputs("dev:    size   erasesize  name\n"
	      "mtd0: 00040000 00010000 \"u-boot\"\n"
	      "mtd2: 00800000 00010000 \"rootfs_data\"\n"
	      "mtd3: 00080000 00010000 \"nrqueue\"\n",
	      f);
	fclose(f);
	nr_linux_mtd_set_sys(&fake_sys);
	RUN(names_and_refusals);
	RUN(write_units_and_erase);
	RUN(queue_on_mtd);
	RUN(foreign_content_is_never_formatted);
	nr_linux_mtd_set_sys(NULL);
	unlink(proc_path);
	return TEST_REPORT();
}
