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
	int reads, writes, erases, syncs, closed;
	uint64_t last_off;
	uint32_t last_len;
	int fail_write, fail_sync, fail_erase;
};

static int raw_read(void *ctx, uint64_t off, void *buf, uint32_t len)
{
	struct raw *r = ctx;

	r->reads++;
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

	/* a flash (a write unit): the buffer holds unwritten bytes only */
	s.erase_size = 4096;
	s.write_size = 1;
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

/* On a file the buffer stays a window on the device after it is written:
 * reads inside it come from RAM, marks inside it and records after a small
 * erased gap join the next write-out. */
TEST(combiner_window_on_a_file)
{
	struct nr_plat_storage s;
	struct raw *r = raw_new(&s);
	struct nr_bdev bd;
	uint8_t a[100], got[300], z = 0, big[2048];
	int i, reads;

	memset(a, 0x11, sizeof(a));
	ASSERT_EQ(nr_store_combine_open(&bd, &s, 4096, "file"), 0);
	ASSERT_EQ(bd.erase(&bd, 0), 0);
	ASSERT_EQ(bd.prog(&bd, 0, a, 32), 0);
	ASSERT_EQ(bd.prog(&bd, 32, a, 100), 0);
	/* 8 bytes left erased (a state area), then the next record */
	ASSERT_EQ(bd.prog(&bd, 140, a, 100), 0);
	EXPECT_EQ(r->writes, 0);
	reads = r->reads;
	ASSERT_EQ(bd.read(&bd, 100, got, 100), 0);
	EXPECT_EQ(r->reads, reads); /* from RAM */
	EXPECT_EQ(got[31], 0x11);
	EXPECT_EQ(got[32], 0xFF);
	EXPECT_EQ(got[39], 0xFF);
	EXPECT_EQ(got[40], 0x11);
	ASSERT_EQ(bd.sync(&bd), 0);
	EXPECT_EQ(r->writes, 1);
	EXPECT_EQ(r->last_off, 0u);
	EXPECT_EQ(r->last_len, 240u);
	/* a mark on a written record and the next record: one write at sync */
	ASSERT_EQ(bd.prog(&bd, 50, &z, 1), 0);
	ASSERT_EQ(bd.prog(&bd, 240, a, 10), 0);
	EXPECT_EQ(r->writes, 1);
	ASSERT_EQ(bd.read(&bd, 0, got, 250), 0);
	EXPECT_EQ(r->reads, reads);
	EXPECT_EQ(got[50], 0);
	ASSERT_EQ(bd.sync(&bd), 0);
	EXPECT_EQ(r->writes, 2);
	EXPECT_EQ(r->last_off, 50u);
	EXPECT_EQ(r->last_len, 200u);
	EXPECT_EQ(r->data[50], 0);
	EXPECT_EQ(r->data[136], 0xFF);
	EXPECT_EQ(r->data[249], 0x11);
	/* a program elsewhere goes straight out; the window stays */
	ASSERT_EQ(bd.prog(&bd, 8192, a, 10), 0);
	EXPECT_EQ(r->writes, 3);
	EXPECT_EQ(r->last_off, 8192u);
	ASSERT_EQ(bd.prog(&bd, 60, &z, 1), 0);
	EXPECT_EQ(r->writes, 3);
	/* a gap not known erased (past the last erased sector) is no append */
	ASSERT_EQ(bd.prog(&bd, 4200, a, 10), 0);
	EXPECT_EQ(r->writes, 4);
	EXPECT_EQ(r->last_off, 4200u);
	ASSERT_EQ(bd.sync(&bd), 0);
	EXPECT_EQ(r->writes, 5);
	EXPECT_EQ(r->last_off, 60u);
	EXPECT_EQ(r->data[60], 0);
	/* appends past the buffer: written out, the newest bytes kept */
	for (i = 0; i < 24; i++) {
		memset(big, i, sizeof(big));
		ASSERT_EQ(bd.prog(&bd, 250 + (uint32_t)i * 2048, big, sizeof(big)), 0);
	}
	ASSERT_EQ(bd.sync(&bd), 0);
	for (i = 0; i < 24; i++)
		EXPECT_EQ(r->data[250 + i * 2048 + 7], i);
	reads = r->reads;
	ASSERT_EQ(bd.read(&bd, 250 + 23 * 2048, got, 300), 0);
	EXPECT_EQ(r->reads, reads);
	EXPECT_EQ(got[299], 23);
	/* reads elsewhere that go on in order take in a read window: the
	 * reads after it come from RAM, and marks inside it go out together
	 * at the next sync; a read far from the last one does not */
	memset(r->data + 53248, 0x33, 8192);
	reads = r->reads;
	ASSERT_EQ(bd.read(&bd, 50000, got, 24), 0);
	ASSERT_EQ(bd.read(&bd, 53248, got, 100), 0);
	EXPECT_EQ(r->reads, reads + 2);
	ASSERT_EQ(bd.read(&bd, 53248 + 100 + 8, got, 300), 0); /* 8 bytes on */
	ASSERT_EQ(bd.read(&bd, 53248 + 5000, got, 300), 0);
	EXPECT_EQ(r->reads, reads + 3);
	EXPECT_EQ(got[0], 0x33);
	i = r->writes;
	ASSERT_EQ(bd.prog(&bd, 53248 + 108, &z, 1), 0);
	ASSERT_EQ(bd.prog(&bd, 53248 + 3000, &z, 1), 0);
	ASSERT_EQ(bd.read(&bd, 53248 + 3000, got, 1), 0);
	EXPECT_EQ(got[0], 0);
	EXPECT_EQ(r->writes, i);
	ASSERT_EQ(bd.sync(&bd), 0);
	EXPECT_EQ(r->writes, i + 1);
	EXPECT_EQ(r->last_off, 53248u + 108);
	EXPECT_EQ(r->last_len, 2893u);
	EXPECT_EQ(r->data[53248 + 3000], 0);
	EXPECT_EQ(r->data[53248 + 3001], 0x33);
	/* erasing the window's sector drops it */
	reads = r->reads;
	ASSERT_EQ(bd.erase(&bd, 11), 0);
	ASSERT_EQ(bd.read(&bd, 250 + 23 * 2048, got, 300), 0);
	EXPECT_EQ(r->reads, reads + 1);
	EXPECT_EQ(got[299], 0xFF);
	bd.close(&bd);
	free(r);
}

/* A read window taken in just behind the head also covers the erased bytes
 * past it: the next records still join the write window (one write), and
 * the erased gaps between them stay erased. */
TEST(combiner_read_window_past_the_head)
{
	struct nr_plat_storage s;
	struct raw *r = raw_new(&s);
	struct nr_bdev bd;
	uint8_t a[100], got[8];
	int i;

	memset(a, 0x11, sizeof(a));
	ASSERT_EQ(nr_store_combine_open(&bd, &s, 4096, "file"), 0);
	ASSERT_EQ(bd.erase(&bd, 0), 0);
	ASSERT_EQ(bd.prog(&bd, 0, a, 32), 0);
	ASSERT_EQ(bd.read(&bd, 100, got, 8), 0); /* past the head: a read window */
	EXPECT_EQ(got[0], 0xFF);
	ASSERT_EQ(bd.prog(&bd, 32, a, 60), 0);
	ASSERT_EQ(bd.prog(&bd, 100, a, 50), 0);
	ASSERT_EQ(bd.prog(&bd, 200, a, 10), 0);
	ASSERT_EQ(bd.read(&bd, 96, got, 8), 0);
	EXPECT_EQ(got[3], 0xFF);
	EXPECT_EQ(got[4], 0x11);
	/* a large read across the unwritten bytes writes nothing out */
	{
		static uint8_t large[10000];
		ASSERT_EQ(bd.read(&bd, 0, large, sizeof(large)), 0);
		EXPECT_EQ(r->writes, 0);
		EXPECT_EQ(large[91], 0x11);
		EXPECT_EQ(large[92], 0xFF);
		EXPECT_EQ(large[100], 0x11);
		EXPECT_EQ(large[209], 0x11);
		EXPECT_EQ(large[210], 0xFF);
	}
	ASSERT_EQ(bd.sync(&bd), 0);
	EXPECT_EQ(r->writes, 1);
	EXPECT_EQ(r->last_off, 0u);
	EXPECT_EQ(r->last_len, 210u);
	for (i = 0; i < 256; i++) {
		int programmed = i < 92 || (i >= 100 && i < 150) || (i >= 200 && i < 210);
		EXPECT_EQ(r->data[i], programmed ? 0x11 : 0xFF);
	}
	bd.close(&bd);
	free(r);
}

/* When the ring opens its next sector, the write window follows the head
 * there: the sector's header and the records after it gather in one write
 * out, as in the sector before, and a mark on a record of the old sector
 * still reaches the device (it was taken by the old window's write-out). */
TEST(combiner_window_follows_the_head_to_a_new_sector)
{
	struct nr_plat_storage s;
	struct raw *r = raw_new(&s);
	struct nr_bdev bd;
	uint8_t a[100], z = 0;

	memset(a, 0x11, sizeof(a));
	ASSERT_EQ(nr_store_combine_open(&bd, &s, 4096, "file"), 0);
	ASSERT_EQ(bd.erase(&bd, 0), 0);
	ASSERT_EQ(bd.prog(&bd, 0, a, 32), 0);
	ASSERT_EQ(bd.prog(&bd, 32, a, 100), 0);
	ASSERT_EQ(bd.sync(&bd), 0);
	EXPECT_EQ(r->writes, 1);
	ASSERT_EQ(bd.prog(&bd, 40, &z, 1), 0); /* a mark, held in the window */
	/* the next sector: its header, a record, 8 erased bytes, a record */
	ASSERT_EQ(bd.erase(&bd, 1), 0);
	EXPECT_EQ(r->writes, 2); /* the mark went out before the erase */
	EXPECT_EQ(r->last_off, 40u);
	ASSERT_EQ(bd.prog(&bd, 4096, a, 32), 0);
	ASSERT_EQ(bd.prog(&bd, 4096 + 32, a, 100), 0);
	ASSERT_EQ(bd.prog(&bd, 4096 + 140, a, 60), 0);
	EXPECT_EQ(r->writes, 2);
	ASSERT_EQ(bd.sync(&bd), 0);
	EXPECT_EQ(r->writes, 3);
	EXPECT_EQ(r->last_off, 4096u);
	EXPECT_EQ(r->last_len, 200u);
	EXPECT_EQ(r->data[4096 + 131], 0x11);
	EXPECT_EQ(r->data[4096 + 132], 0xFF);
	EXPECT_EQ(r->data[4096 + 199], 0x11);
	EXPECT_EQ(r->data[40], 0);
	/* a mark back in the old sector goes straight out (the head's
	 * window stays), a record at the head joins the window again */
	ASSERT_EQ(bd.prog(&bd, 50, &z, 1), 0);
	EXPECT_EQ(r->writes, 4);
	EXPECT_EQ(r->last_off, 50u);
	ASSERT_EQ(bd.prog(&bd, 4096 + 200, a, 10), 0);
	ASSERT_EQ(bd.prog(&bd, 4096 + 50, &z, 1), 0);
	EXPECT_EQ(r->writes, 4);
	ASSERT_EQ(bd.sync(&bd), 0);
	EXPECT_EQ(r->writes, 5);
	EXPECT_EQ(r->last_off, 4096u + 50);
	EXPECT_EQ(r->last_len, 160u);
	EXPECT_EQ(r->data[4096 + 50], 0);
	EXPECT_EQ(r->data[4096 + 209], 0x11);
	bd.close(&bd);
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
	RUN(combiner_window_on_a_file);
	RUN(combiner_read_window_past_the_head);
	RUN(combiner_window_follows_the_head_to_a_new_sector);
	RUN(combiner_failed_sync_is_final);
	RUN(geometry);
	return TEST_REPORT();
}
