/* test_queue.c - the queue API on the NOR emulator and the RAM backend. */
#include "qtest.h"
#include "sim_flash.h"
#include "store/store.h"
#include "test.h"

static struct nr_sim_flash *flash;
static struct nr_bdev bd;

static struct nr_queue *fresh(uint32_t S, uint32_t C, uint32_t P)
{
	struct nr_queue *q = NULL;

	nr_sim_flash_free(flash);
	if (nr_sim_flash_new(&flash, S, C, P))
		return NULL;
	nr_sim_flash_bdev(flash, &bd);
	if (nr_queue_open(&q, &bd, NULL))
		return NULL;
	return q;
}

static struct nr_queue *reopen(struct nr_queue *q)
{
	nr_queue_close(q);
	q = NULL;
	nr_sim_flash_power_on(flash);
	if (nr_queue_open(&q, &bd, NULL))
		return NULL;
	return q;
}

TEST(roundtrip_and_reopen)
{
	struct nr_queue *q = fresh(4096, 16, 4);
	nr_qid_t id[4];
	uint32_t n;

	ASSERT_TRUE(q);
	for (n = 0; n < 4; n++)
		ASSERT_EQ(qt_enqueue(q, n, 100 + n * 3000, 1 + n % 3, 500, &id[n]), 0);
	for (n = 0; n < 4; n++)
		EXPECT_EQ(qt_check(q, id[n], n, 100 + n * 3000, 1 + n % 3), 0);
	q = reopen(q);
	ASSERT_TRUE(q);
	for (n = 0; n < 4; n++)
		EXPECT_EQ(qt_check(q, id[n], n, 100 + n * 3000, 1 + n % 3), 0);
	nr_queue_close(q);
}

int main(void)
{
	RUN(roundtrip_and_reopen);
	nr_sim_flash_free(flash);
	return TEST_REPORT();
}
