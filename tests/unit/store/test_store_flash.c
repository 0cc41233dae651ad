/* test_store_flash.c - the flash backend (src/store/store_mtd.c, store.h)
 * over the host board's NOR flash file (platform/rtos/host/host_flash.c):
 * the emulator keeps NOR rules; the queue round trips across restarts and
 * wraps its ring; a failed program or erase fails that commit, and after a
 * restart every acknowledged message is there and nothing partial is.
 * Power cuts at every operation: test_queue_powerloss_flash; SIGKILL rounds
 * over the host flash file: test_queue_host_flash. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <unistd.h>

#include "host_flash.h"
#include "store/store.h"
#include "test.h"
#include "unit/queue/qtest.h"

#define EB 4096u /* erase block */
#define WU 16u   /* write unit */
#define BLOCKS 16u

static char path[256];

static int flash_open(struct nr_plat_storage *st)
{
	return nr_host_flash_open(path, BLOCKS * EB, EB, WU, st);
}

TEST(emulator_keeps_nor_rules)
{
	struct nr_plat_storage st, other;
	struct nr_host_flash_stats hs;
	uint8_t buf[64], want[64];

	unlink(path);
	ASSERT_EQ(flash_open(&st), 0);
	ASSERT_EQ(st.read(st.ctx, 5 * EB, buf, sizeof(buf)), 0);
	memset(want, 0xFF, sizeof(want));
	EXPECT_MEMEQ(buf, want, sizeof(want)); /* a new chip is erased */
	/* a second opener is refused: the file is locked */
	EXPECT_EQ(nr_host_flash_open(path, BLOCKS * EB, EB, WU, &other), NR_EBUSY);

	memset(want, 0xF0, 32);
	ASSERT_EQ(st.write(st.ctx, EB, want, 32), 0);
	memset(want, 0x30, 16); /* clearing more bits: allowed */
	ASSERT_EQ(st.write(st.ctx, EB, want, 16), 0);
	memset(buf, 0x0F, 16); /* 0 -> 1: refused, nothing changes */
	EXPECT_EQ(st.write(st.ctx, EB, buf, 16), NR_EINVAL);
	EXPECT_EQ(st.write(st.ctx, EB + 8, want, 16), NR_EINVAL);      /* not a whole unit */
	EXPECT_EQ(st.write(st.ctx, EB, want, 8), NR_EINVAL);           /* likewise */
	EXPECT_EQ(st.write(st.ctx, BLOCKS * EB, want, 16), NR_EINVAL); /* outside */
	EXPECT_EQ(st.erase(st.ctx, EB / 2, EB), NR_EINVAL);            /* not a whole block */
	ASSERT_EQ(st.read(st.ctx, EB, buf, 32), 0);
	EXPECT_MEMEQ(buf, want, 32);
	nr_host_flash_stats(&st, &hs);
	EXPECT_EQ(hs.programs, 2u);
	EXPECT_EQ(hs.violations, 5u);
	EXPECT_EQ(st.sync(st.ctx), 0);
	st.close(st.ctx);

	/* it persists; a file of another size is never reinterpreted */
	EXPECT_EQ(nr_host_flash_open(path, 2 * BLOCKS * EB, EB, WU, &st), NR_EINVAL);
	ASSERT_EQ(flash_open(&st), 0);
	ASSERT_EQ(st.read(st.ctx, EB, buf, 32), 0);
	EXPECT_MEMEQ(buf, want, 32);
	ASSERT_EQ(st.erase(st.ctx, EB, EB), 0); /* erase sets 0xFF */
	ASSERT_EQ(st.read(st.ctx, EB, buf, 32), 0);
	memset(want, 0xFF, 32);
	EXPECT_MEMEQ(buf, want, 32);
	/* injected faults: a program lands half, an erase erases half */
	memset(want, 0x00, 64);
	nr_host_flash_fail(&st, NR_HOST_FLASH_PROGRAM, 1);
	EXPECT_EQ(st.write(st.ctx, 2 * EB, want, 64), NR_EIO);
	ASSERT_EQ(st.read(st.ctx, 2 * EB, buf, 64), 0);
	EXPECT_EQ(buf[31], 0x00);
	EXPECT_EQ(buf[32], 0xFF);
	nr_host_flash_fail(&st, NR_HOST_FLASH_ERASE, 1);
	EXPECT_EQ(st.erase(st.ctx, 2 * EB, EB), NR_EIO);
	ASSERT_EQ(st.read(st.ctx, 2 * EB, buf, 32), 0);
	EXPECT_EQ(buf[0], 0xFF);
	st.close(st.ctx);
}

static int open_q(struct nr_plat_storage *st, struct nr_bdev *bd, struct nr_queue **q)
{
	char why[256];
	int ret = flash_open(st);

	if (ret)
		return ret;
	ret = nr_store_flash_open_hal(bd, st, why, sizeof(why));
	if (ret) {
		printf("flash: %s\n", why);
		return ret;
	}
	ret = nr_queue_open(q, bd, NULL);
	if (ret)
		bd->close(bd);
	return ret;
}

static void close_q(struct nr_bdev *bd, struct nr_queue *q)
{
	nr_queue_close(q);
	bd->close(bd);
}

static size_t len_of(uint32_t n)
{
	return 200 + (n * 7919u) % 3000;
}

static uint64_t violations(struct nr_plat_storage *st)
{
	struct nr_host_flash_stats hs;

	nr_host_flash_stats(st, &hs);
	return hs.violations;
}

/* Write, restart, read back; the ring wraps several times (every erase
 * block erased again) and what is pending survives each restart. */
TEST(queue_roundtrip_and_wrap)
{
	struct nr_plat_storage st;
	struct nr_host_flash_stats hs;
	struct nr_bdev bd;
	struct nr_queue *q = NULL;
	struct nr_qstats qs;
	nr_qid_t id[200];
	uint32_t n;
	uint64_t erases = 0;

	unlink(path);
	ASSERT_EQ(open_q(&st, &bd, &q), 0);
	EXPECT_STREQ(bd.name, "flash");
	EXPECT_EQ(bd.prog_size, WU);
	EXPECT_EQ(bd.sector_size, EB);
	EXPECT_EQ(bd.sector_count, BLOCKS);
	EXPECT_EQ(bd.persistent, 1);
	for (n = 0; n < 8; n++)
		ASSERT_EQ(qt_enqueue(q, n, len_of(n), 1 + n % 3, 500, &id[n]), 0);
	close_q(&bd, q);
	ASSERT_EQ(open_q(&st, &bd, &q), 0);
	for (n = 0; n < 8; n++)
		EXPECT_EQ(qt_check(q, id[n], n, len_of(n), 1 + n % 3), 0);
	/* deliver as we go, restarting now and then: the ring wraps */
	for (n = 8; n < 200; n++) {
		ASSERT_EQ(qt_enqueue(q, n, len_of(n), 2, 700, &id[n]), 0);
		EXPECT_EQ(nr_queue_mark_done(q, id[n - 8]), 0);
		if (n % 50 == 0) {
			nr_host_flash_stats(&st, &hs); /* counted per open */
			erases += hs.erases;
			EXPECT_EQ(hs.violations, 0u);
			close_q(&bd, q);
			ASSERT_EQ(open_q(&st, &bd, &q), 0);
		}
	}
	nr_queue_stats(q, &qs);
	EXPECT_STREQ(qs.backend, "flash");
	EXPECT_EQ(qs.persistent, 1);
	nr_host_flash_stats(&st, &hs);
	erases += hs.erases;
	EXPECT_TRUE(erases > 3 * BLOCKS); /* every block erased three times over */
	EXPECT_EQ(hs.violations, 0u);
	close_q(&bd, q);
	ASSERT_EQ(open_q(&st, &bd, &q), 0);
	for (n = 192; n < 200; n++)
		EXPECT_EQ(qt_check(q, id[n], n, len_of(n), 2), 0);
	close_q(&bd, q);
}

static int count_cb(void *arg, const struct nr_qinfo *info)
{
	(void)info;
	(*(int *)arg)++;
	return 0;
}

/* Arm a fault in op, then enqueue until a commit fails (the ring must reach
 * the faulty operation): that message is not acknowledged; neither are the
 * next ones (the device refuses writes until it is opened again). After a
 * restart the acknowledged messages are all there, exact, and nothing
 * else; then the queue takes mail again. */
static void failed_op_fails_the_commit(enum nr_host_flash_op op, uint64_t nth)
{
	struct nr_plat_storage st;
	struct nr_bdev bd;
	struct nr_queue *q = NULL;
	nr_qid_t id[64], extra;
	uint32_t n, acked = 0;
	int failed = -1, seen = 0, ret;

	unlink(path);
	ASSERT_EQ(open_q(&st, &bd, &q), 0);
	for (n = 0; n < 3; n++)
		ASSERT_EQ(qt_enqueue(q, n, len_of(n), 2, 400, &id[n]), 0);
	acked = 3;
	nr_host_flash_fail(&st, op, nth);
	for (n = 3; n < 40 && failed < 0; n++) {
		ret = qt_enqueue(q, n, len_of(n), 2, 400, &id[n]);
		if (ret == 0)
			acked = n + 1;
		else
			failed = (int)n;
	}
	ASSERT_TRUE(failed >= 0);
	EXPECT_NE(qt_enqueue(q, 50, 300, 1, 300, &extra), 0); /* the device is stopped */
	EXPECT_NE(nr_queue_mark_done(q, id[0]), 0);
	close_q(&bd, q);

	ASSERT_EQ(open_q(&st, &bd, &q), 0);
	for (n = 0; n < acked; n++)
		EXPECT_EQ(qt_check(q, id[n], n, len_of(n), 2), 0);
	EXPECT_EQ(nr_queue_foreach(q, count_cb, &seen), 0);
	EXPECT_EQ(seen, (int)acked); /* the failed commit never surfaces */
	ASSERT_EQ(qt_enqueue(q, 51, 300, 1, 300, &extra), 0);
	close_q(&bd, q);
	ASSERT_EQ(open_q(&st, &bd, &q), 0);
	EXPECT_EQ(qt_check(q, extra, 51, 300, 1), 0);
	for (n = 0; n < acked; n++)
		EXPECT_EQ(qt_check(q, id[n], n, len_of(n), 2), 0);
	EXPECT_EQ(violations(&st), 0u);
	close_q(&bd, q);
}

TEST(failed_program_fails_the_commit)
{
	failed_op_fails_the_commit(NR_HOST_FLASH_PROGRAM, 3);
}

/* The erase of the next block, with messages pending behind it. */
TEST(failed_erase_fails_the_commit)
{
	failed_op_fails_the_commit(NR_HOST_FLASH_ERASE, 2);
}

/* Geometry and content the backend refuses, with its reason. */
TEST(refusals)
{
	struct nr_plat_storage st;
	struct nr_bdev bd;
	char why[256];
	static const uint8_t jffs2[WU] = {0x85, 0x19, 0x03, 0x20, 0xFF, 0xFF, 0xFF, 0xFF,
					  0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF};
	uint8_t junk[WU];

	unlink(path);
	ASSERT_EQ(nr_host_flash_open(path, 4 * EB, EB, WU, &st), 0); /* 4 blocks: too few */
	EXPECT_EQ(nr_store_flash_open_hal(&bd, &st, why, sizeof(why)), NR_EINVAL);
	EXPECT_TRUE(strstr(why, "at least 5") != NULL);
	unlink(path);
	ASSERT_EQ(nr_host_flash_open(path, BLOCKS * EB, EB, 128, &st), 0); /* unit > 64 */
	EXPECT_EQ(nr_store_flash_open_hal(&bd, &st, why, sizeof(why)), NR_EINVAL);
	EXPECT_TRUE(strstr(why, "write unit of 128 bytes") != NULL);
	unlink(path);

	/* another file system, or data we cannot name, is never touched */
	ASSERT_EQ(flash_open(&st), 0);
	ASSERT_EQ(st.write(st.ctx, 3 * EB, jffs2, WU), 0);
	EXPECT_EQ(nr_store_flash_open_hal(&bd, &st, why, sizeof(why)), NR_EBUSY);
	EXPECT_TRUE(strstr(why, "holds a JFFS2 file system") != NULL);
	ASSERT_EQ(flash_open(&st), 0); /* the refusal closed it */
	ASSERT_EQ(st.erase(st.ctx, 3 * EB, EB), 0);
	memset(junk, 0xFF, sizeof(junk));
	junk[3] = 'x';
	ASSERT_EQ(st.write(st.ctx, 7 * EB + 64, junk, WU), 0);
	EXPECT_EQ(nr_store_flash_open_hal(&bd, &st, why, sizeof(why)), NR_ECORRUPT);
	EXPECT_TRUE(strstr(why, "not a nanorelay queue and is not erased") != NULL);
	unlink(path); /* (the refusal closed it) */

	/* the first sector header ever, torn by a power cut (bits it was
	 * clearing still set): the device is ours, not foreign */
	ASSERT_EQ(flash_open(&st), 0);
	memset(junk, 0xFF, sizeof(junk));
	memcpy(junk, "NRQ1", 4);
	junk[1] |= 0x21;
	junk[3] |= 0x80;
	junk[6] = 0x03;
	ASSERT_EQ(st.write(st.ctx, 0, junk, WU), 0);
	ASSERT_EQ(nr_store_flash_open_hal(&bd, &st, why, sizeof(why)), 0);
	{
		struct nr_queue *q = NULL;
		nr_qid_t id;

		ASSERT_EQ(nr_queue_open(&q, &bd, NULL), 0);
		EXPECT_EQ(qt_enqueue(q, 1, 500, 1, 500, &id), 0);
		nr_queue_close(q);
	}
	bd.close(&bd);
	unlink(path);
	ASSERT_EQ(flash_open(&st), 0); /* ... but data after it is foreign */
	ASSERT_EQ(st.write(st.ctx, 0, junk, WU), 0);
	ASSERT_EQ(st.write(st.ctx, 64, junk, WU), 0);
	EXPECT_EQ(nr_store_flash_open_hal(&bd, &st, why, sizeof(why)), NR_ECORRUPT);

	/* a build without the option, or a platform without a flash HAL */
	EXPECT_EQ(nr_store_flash_open(&bd, 0, why, sizeof(why)), NR_ENOTSUP);
	unlink(path);
}

int main(void)
{
	const char *dir = getenv("TMPDIR");

	snprintf(path, sizeof(path), "%s/nr_flash_test.%ld", dir ? dir : "/tmp", (long)getpid());
	RUN(emulator_keeps_nor_rules);
	RUN(queue_roundtrip_and_wrap);
	RUN(failed_program_fails_the_commit);
	RUN(failed_erase_fails_the_commit);
	RUN(refusals);
	unlink(path);
	return TEST_REPORT();
}
