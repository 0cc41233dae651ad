/* test_queue_golden.c - the ring image written before the split of queue.c
 * (golden/ring_v1.bin, see golden.h) still recovers message for message and
 * byte for byte, and today's code writes the same workload to the same
 * bytes: the on-flash format has not moved. */
#include <stdio.h>

#include "golden.h"
#include "sim_flash.h"
#include "test.h"

#ifndef GOLDEN_IMAGE
#error "GOLDEN_IMAGE: path of golden/ring_v1.bin"
#endif

static uint8_t image[GOLDEN_S * GOLDEN_C];

static int load_image(void)
{
	FILE *f = fopen(GOLDEN_IMAGE, "rb");
	size_t n;

	if (!f)
		return -1;
	n = fread(image, 1, sizeof(image), f);
	if (fgetc(f) != EOF)
		n = 0;
	fclose(f);
	return n == sizeof(image) ? 0 : -1;
}

/* The ids of golden_msgs as the workload handed them out: message 0 took
 * id 1, message 2 id 3, the 24 of the lap ids 5..28, then 29, 30, 31 (a
 * compaction keeps a message's id). */
static const nr_qid_t golden_ids[GOLDEN_NMSGS] = {2, 4, 29, 30, 31};

static int count_cb(void *arg, const struct nr_qinfo *info)
{
	(void)info;
	(*(int *)arg)++;
	return 0;
}

TEST(old_image_recovers)
{
	struct nr_sim_flash *flash = NULL;
	struct nr_bdev bd;
	struct nr_queue *q = NULL;
	int n = 0;

	ASSERT_EQ(load_image(), 0);
	ASSERT_EQ(nr_sim_flash_new(&flash, GOLDEN_S, GOLDEN_C, GOLDEN_P), 0);
	memcpy(nr_sim_flash_data(flash), image, sizeof(image));
	nr_sim_flash_bdev(flash, &bd);
	ASSERT_EQ(nr_queue_open(&q, &bd, NULL), 0);
	EXPECT_EQ(golden_check(q, golden_ids), 0);
	EXPECT_EQ(nr_queue_foreach(q, count_cb, &n), 0);
	EXPECT_EQ(n, (int)GOLDEN_NMSGS); /* the done ones stay gone */
	nr_queue_close(q);
	/* recovery is read-only */
	EXPECT_EQ(memcmp(nr_sim_flash_data(flash), image, sizeof(image)), 0);
	nr_sim_flash_free(flash);
}

TEST(same_workload_same_bytes)
{
	struct nr_sim_flash *flash = NULL;
	struct nr_bdev bd;
	struct nr_queue *q = NULL;
	nr_qid_t ids[GOLDEN_NMSGS];
	const uint8_t *now;
	size_t i, first = sizeof(image);

	ASSERT_EQ(load_image(), 0);
	ASSERT_EQ(nr_sim_flash_new(&flash, GOLDEN_S, GOLDEN_C, GOLDEN_P), 0);
	nr_sim_flash_bdev(flash, &bd);
	ASSERT_EQ(nr_queue_open(&q, &bd, NULL), 0);
	ASSERT_EQ(golden_workload(q, ids), 0);
	for (i = 0; i < GOLDEN_NMSGS; i++)
		EXPECT_EQ(ids[i], golden_ids[i]);
	nr_queue_close(q);
	now = nr_sim_flash_data(flash);
	for (i = 0; i < sizeof(image) && first == sizeof(image); i++) {
		if (now[i] != image[i])
			first = i;
	}
	if (first < sizeof(image))
		fprintf(stderr, "first differing byte at 0x%zx: image %02X, now %02X\n", first,
			image[first], now[first]);
	EXPECT_EQ(first, sizeof(image));
	nr_sim_flash_free(flash);
}

int main(void)
{
	RUN(old_image_recovers);
	RUN(same_workload_same_bytes);
	return TEST_REPORT();
}
