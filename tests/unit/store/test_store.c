/* test_store.c - src/store: the sector-size policy of file queues, the
 * write combiner over raw device operations (a scripted raw device here),
 * and the geometry every backend checks. */
#include <stdlib.h>

#include "store/store.h"
#include "test.h"

TEST(file_sector_size_policy)
{
	/* FORMAT.md 1.1 "Choosing S" */
	EXPECT_EQ(nr_store_file_sector_size(64 * 1024), 4096u);
	EXPECT_EQ(nr_store_file_sector_size(2u << 20), 4096u);
	EXPECT_EQ(nr_store_file_sector_size((4u << 20) - 4096), 4096u);
	EXPECT_EQ(nr_store_file_sector_size(4u << 20), 65536u);
	EXPECT_EQ(nr_store_file_sector_size(16u << 20), 65536u);
	EXPECT_EQ(nr_store_file_sector_size(32u << 20), 131072u);
	EXPECT_EQ(nr_store_file_sector_size(64u << 20), 262144u);
	EXPECT_EQ(nr_store_file_sector_size(100u << 20), 262144u);
	EXPECT_EQ(nr_store_file_sector_size(256u << 20), 1u << 20);
	EXPECT_EQ(nr_store_file_sector_size(512u << 20), 1u << 20);
	EXPECT_EQ(nr_store_file_sector_size(2047ull << 20), 1u << 20);
	/* large but no power of two from 64 KiB divides it */
	EXPECT_EQ(nr_store_file_sector_size((16u << 20) + 4096), 4096u);
	EXPECT_EQ(nr_store_file_sector_size((16u << 20) + 32768), 4096u);
}

/* A raw device in RAM that logs what reaches it. */
struct raw {
	uint8_t data[64 * 1024];
	int writes, erases, syncs, closed;
	uint64_t last_off;
	uint32_t last_len;
	int fail_write, fail_sync, fail_erase;
};

static int raw_read(void *ctx, uint64_t off, void *buf, uint32_t len)
{
	struct raw *r = ctx;

	memcpy(buf, r->data + off, len);
	return 0;
}

static int raw_write(void *ctx, uint64_t off, const void *buf, uint32_t len)
{
	struct raw *r = ctx;

	if (r->fail_write)
		return NR_ENOSPC;
	memcpy(r->data + off, buf, len);
	r->writes++;
	r->last_off = off;
	r->last_len = len;
	return 0;
}

static int raw_erase(void *ctx, uint64_t off, uint64_t len)
{
	struct raw *r = ctx;

	if (r->fail_erase)
		return NR_EIO;
	memset(r->data + off, 0xFF, (size_t)len);
	r->erases++;
	return 0;
}

static int raw_sync(void *ctx)
{
	struct raw *r = ctx;

	r->syncs++;
	return r->fail_sync ? NR_EIO : 0;
}

static void raw_close(void *ctx)
{
	((struct raw *)ctx)->closed++;
}

static struct raw *raw_new(struct nr_plat_storage *s)
{
	struct raw *r = calloc(1, sizeof(*r));

	memset(r->data, 0xFF, sizeof(r->data));
	memset(s, 0, sizeof(*s)); /* a file's: no erase block, not in RAM */
	s->ctx = r;
	s->size = sizeof(r->data);
	s->read = raw_read;
	s->write = raw_write;
	s->erase = raw_erase;
	s->sync = raw_sync;
	s->close = raw_close;
	return r;
}

TEST(combiner_gathers_appends)
{
	struct nr_plat_storage s;
	struct raw *r = raw_new(&s);
	struct nr_bdev bd;
	uint8_t a[100], b[300], got[400];

	ASSERT_EQ(nr_store_combine_open(&bd, &s, 4096, "file"), 0);
	EXPECT_EQ(bd.sector_count, 16u);
	EXPECT_EQ(bd.prog_size, 1u);
	EXPECT_EQ(bd.persistent, 1);
	EXPECT_STREQ(bd.name, "file");
	memset(a, 0x11, sizeof(a));
	memset(b, 0x22, sizeof(b));
	/* three programs that continue one another: nothing written yet */
	ASSERT_EQ(bd.prog(&bd, 32, a, sizeof(a)), 0);
	ASSERT_EQ(bd.prog(&bd, 132, b, sizeof(b)), 0);
	ASSERT_EQ(bd.prog(&bd, 432, a, sizeof(a)), 0);
	EXPECT_EQ(r->writes, 0);
	/* a read elsewhere does not write them out; an overlapping one does */
	ASSERT_EQ(bd.read(&bd, 8192, got, 16), 0);
	EXPECT_EQ(r->writes, 0);
	ASSERT_EQ(bd.read(&bd, 100, got, 400), 0);
	EXPECT_EQ(r->writes, 1);
	EXPECT_EQ(r->last_off, 32u);
	EXPECT_EQ(r->last_len, 500u);
	EXPECT_EQ(got[0], 0x11);
	EXPECT_EQ(got[31], 0x11);
	EXPECT_EQ(got[32], 0x22);
	/* a program elsewhere, an erase and a sync each write the buffer first */
	ASSERT_EQ(bd.prog(&bd, 1000, a, 10), 0);
	ASSERT_EQ(bd.prog(&bd, 2000, a, 10), 0);
	EXPECT_EQ(r->writes, 2);
	ASSERT_EQ(bd.erase(&bd, 3), 0);
	EXPECT_EQ(r->writes, 3);
	EXPECT_EQ(r->erases, 1);
	ASSERT_EQ(bd.prog(&bd, 3000, a, 10), 0);
	ASSERT_EQ(bd.sync(&bd), 0);
	EXPECT_EQ(r->writes, 4);
	EXPECT_EQ(r->syncs, 1);
	/* out of the device */
	EXPECT_EQ(bd.prog(&bd, 65536 - 4, a, 8), NR_EINVAL);
	EXPECT_EQ(bd.read(&bd, 65536, got, 1), NR_EINVAL);
	EXPECT_EQ(bd.erase(&bd, 16), NR_EINVAL);
	bd.close(&bd);
	EXPECT_EQ(r->closed, 1);
	free(r);
}

TEST(combiner_failed_sync_is_final)
{
	struct nr_plat_storage s;
	struct raw *r = raw_new(&s);
	struct nr_bdev bd;
	uint8_t a[10] = {0};

	ASSERT_EQ(nr_store_combine_open(&bd, &s, 4096, "file"), 0);
	r->fail_sync = 1;
	EXPECT_EQ(bd.sync(&bd), NR_EIO);
	r->fail_sync = 0;
	EXPECT_EQ(bd.sync(&bd), NR_EIO); /* the device says 0 now: not trusted */
	bd.close(&bd);
	free(r);

	r = raw_new(&s);
	ASSERT_EQ(nr_store_combine_open(&bd, &s, 4096, "file"), 0);
	ASSERT_EQ(bd.prog(&bd, 64, a, sizeof(a)), 0); /* buffered */
	r->fail_write = 1;
	EXPECT_EQ(bd.sync(&bd), NR_EIO); /* the buffered write failed */
	r->fail_write = 0;
	EXPECT_EQ(bd.sync(&bd), NR_EIO);
	EXPECT_EQ(r->syncs, 0);
	bd.close(&bd);
	free(r);

	/* a failed erase stops the device: no program, erase or sync reaches
	 * it any more, not even at close (the ring would write past the hole) */
	r = raw_new(&s);
	ASSERT_EQ(nr_store_combine_open(&bd, &s, 4096, "flash"), 0);
	r->fail_erase = 1;
	EXPECT_EQ(bd.erase(&bd, 2), NR_EIO);
	r->fail_erase = 0;
	EXPECT_EQ(bd.erase(&bd, 3), NR_EIO);
	EXPECT_EQ(bd.prog(&bd, 3 * 4096, a, sizeof(a)), NR_EIO);
	EXPECT_EQ(bd.sync(&bd), NR_EIO);
	EXPECT_EQ(bd.read(&bd, 0, a, sizeof(a)), 0); /* reads still work */
	bd.close(&bd);
	EXPECT_EQ(r->writes, 0);
	EXPECT_EQ(r->erases, 0);
	EXPECT_EQ(r->syncs, 0);
	free(r);
}

TEST(geometry)
{
	struct nr_plat_storage s;
	struct raw *r = raw_new(&s);
	struct nr_bdev bd;

	/* a bad geometry closes the raw device it was given */
	EXPECT_EQ(nr_store_combine_open(&bd, &s, 3000, "file"), NR_EINVAL);
	EXPECT_EQ(r->closed, 1);
	free(r);
	EXPECT_EQ(nr_store_ram_open(&bd, 64 * 1024, 256), NR_EINVAL);
	EXPECT_EQ(nr_store_ram_open(&bd, 64 * 1024 + 512, 4096), NR_EINVAL);
	EXPECT_EQ(nr_store_ram_open(&bd, 0, 4096), NR_EINVAL);
	EXPECT_EQ(nr_store_ram_open(&bd, 8ull << 30, 4096), NR_EINVAL);
	ASSERT_EQ(nr_store_ram_open(&bd, 64 * 1024, 512), 0);
	EXPECT_EQ(bd.sector_count, 128u);
	EXPECT_STREQ(bd.name, "ram");
	EXPECT_EQ(bd.persistent, 0);
	bd.close(&bd);
	/* the simulator has no file system: the file backend says so */
	EXPECT_EQ(nr_store_file_open(&bd, "/tmp/x", 64 * 1024, 4096), NR_ENOTSUP);
	EXPECT_EQ(nr_store_file_open(&bd, "/tmp/x", 64 * 1024, 1000), NR_EINVAL);
	EXPECT_EQ(nr_store_mtd_open(&bd, "/dev/mtd0", 0, NULL, 0), NR_ENOTSUP);
}

int main(void)
{
	RUN(file_sector_size_policy);
	RUN(combiner_gathers_appends);
	RUN(combiner_failed_sync_is_final);
	RUN(geometry);
	return TEST_REPORT();
}
