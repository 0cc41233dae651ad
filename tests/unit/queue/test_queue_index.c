/* test_queue_index.c - the index is bounded (CONFIG_NR_QUEUE_MAX_MESSAGES,
 * or a lower bound given to nr_queue_open_max): a message beyond it is
 * NR_EFULL (smtpd answers 452 4.3.1), and a ring holding more messages
 * than the index takes is refused at open, untouched, never cut short. */
#include <stdlib.h>

#include "qtest.h"
#include "sim_flash.h"
#include "test.h"

static int count_cb(void *arg, const struct nr_qinfo *info)
{
	(void)info;
	(*(int *)arg)++;
	return 0;
}

TEST(index_full_is_efull)
{
	struct nr_sim_flash *flash = NULL;
	struct nr_bdev bd;
	struct nr_queue *q = NULL;
	struct nr_qenvelope env;
	struct nr_qwriter *w = NULL, *w2 = NULL;
	struct nr_qstats st;
	nr_qid_t id[10], extra;
	uint32_t n;

	ASSERT_EQ(nr_sim_flash_new(&flash, 4096, 16, 4), 0);
	nr_sim_flash_bdev(flash, &bd);
	ASSERT_EQ(nr_queue_open_max(&q, &bd, NULL, 10), 0);
	for (n = 0; n < 9; n++)
		ASSERT_EQ(qt_enqueue(q, n, 100, 1, 100, &id[n]), 0);
	/* a message being written holds an entry too */
	qt_env(&env, 9, 1);
	ASSERT_EQ(nr_queue_begin(q, &env, 0, &w), 0);
	EXPECT_EQ(nr_queue_begin(q, &env, 0, &w2), NR_EFULL);
	EXPECT_TRUE(w2 == NULL);
	nr_queue_abort(w);
	ASSERT_EQ(qt_enqueue(q, 9, 100, 1, 100, &id[9]), 0);
	/* the ring has room; the index has not */
	nr_queue_stats(q, &st);
	EXPECT_TRUE(st.free > 16 * 1024);
	EXPECT_EQ(qt_enqueue(q, 10, 100, 1, 100, &extra), NR_EFULL);
	/* a dead message keeps its entry (it stays listed); a done one frees it */
	ASSERT_EQ(nr_queue_mark_dead(q, id[0]), 0);
	EXPECT_EQ(qt_enqueue(q, 10, 100, 1, 100, &extra), NR_EFULL);
	ASSERT_EQ(nr_queue_mark_done(q, id[1]), 0);
	ASSERT_EQ(qt_enqueue(q, 10, 100, 1, 100, &extra), 0);
	EXPECT_EQ(qt_check(q, extra, 10, 100, 1), 0);
	for (n = 2; n < 10; n++)
		EXPECT_EQ(qt_check(q, id[n], n, 100, 1), 0);
	nr_queue_close(q);
	nr_sim_flash_free(flash);
}

/* The window of the index slides as the oldest messages go: many more
 * messages than entries pass through without the index growing. */
TEST(index_slides)
{
	struct nr_sim_flash *flash = NULL;
	struct nr_bdev bd;
	struct nr_queue *q = NULL;
	nr_qid_t id[64];
	uint32_t n;
	int listed = 0;

	ASSERT_EQ(nr_sim_flash_new(&flash, 4096, 64, 4), 0);
	nr_sim_flash_bdev(flash, &bd);
	ASSERT_EQ(nr_queue_open_max(&q, &bd, NULL, 64), 0);
	for (n = 0; n < 63; n++)
		ASSERT_EQ(qt_enqueue(q, n, 50, 1, 50, &id[n]), 0);
	for (n = 63; n < 1000; n++) {
		ASSERT_EQ(nr_queue_mark_done(q, id[(n - 63) % 64]), 0);
		ASSERT_EQ(qt_enqueue(q, n, 50, 1, 50, &id[n % 64]), 0);
	}
	EXPECT_EQ(nr_queue_foreach(q, count_cb, &listed), 0);
	EXPECT_EQ(listed, 63);
	for (n = 1000 - 63; n < 1000; n++)
		EXPECT_EQ(qt_check(q, id[n % 64], n, 50, 1), 0);
	nr_queue_close(q);
	nr_sim_flash_free(flash);
}

TEST(recovery_over_the_bound_is_refused)
{
	struct nr_sim_flash *flash = NULL;
	struct nr_bdev bd;
	struct nr_queue *q = NULL;
	nr_qid_t id[40];
	uint8_t *before;
	uint64_t size;
	uint32_t n;
	int listed = 0;

	ASSERT_EQ(nr_sim_flash_new(&flash, 4096, 16, 4), 0);
	nr_sim_flash_bdev(flash, &bd);
	ASSERT_EQ(nr_queue_open(&q, &bd, NULL), 0);
	for (n = 0; n < 40; n++)
		ASSERT_EQ(qt_enqueue(q, n, 200, 1, 200, &id[n]), 0);
	ASSERT_EQ(nr_queue_mark_dead(q, id[3]), 0); /* dead ones count too */
	for (n = 30; n < 35; n++)
		ASSERT_EQ(nr_queue_mark_done(q, id[n]), 0); /* done ones do not */
	nr_queue_close(q);
	size = nr_sim_flash_size(flash);
	before = malloc(size);
	ASSERT_TRUE(before != NULL);
	memcpy(before, nr_sim_flash_data(flash), size);
	/* 35 messages in the ring: an index of 34 would lose one */
	q = NULL;
	EXPECT_EQ(nr_queue_open_max(&q, &bd, NULL, 34), NR_EFULL);
	EXPECT_TRUE(q == NULL);
	EXPECT_EQ(nr_queue_open_max(&q, &bd, NULL, 1), NR_EFULL);
	EXPECT_EQ(memcmp(before, nr_sim_flash_data(flash), size), 0); /* untouched */
	/* a bound that fits them all recovers every one */
	ASSERT_EQ(nr_queue_open_max(&q, &bd, NULL, 35), 0);
	EXPECT_EQ(nr_queue_foreach(q, count_cb, &listed), 0);
	EXPECT_EQ(listed, 35);
	for (n = 0; n < 40; n++) {
		if (n == 3 || (n >= 30 && n < 35))
			continue;
		EXPECT_EQ(qt_check(q, id[n], n, 200, 1), 0);
	}
	nr_queue_close(q);
	free(before);
	nr_sim_flash_free(flash);
}

int main(void)
{
	RUN(index_full_is_efull);
	RUN(index_slides);
	RUN(recovery_over_the_bound_is_refused);
	return TEST_REPORT();
}
