/*
 * test_mem.c - core/mem.h: the allocation hooks see the core's
 * allocations, and a hook that fails is an ordinary NR_ENOMEM.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/loop.h"
#include "core/mem.h"
#include "core/pool.h"
#include "queue/queue.h"
#include "store/store.h"
#include "test.h"

/* A counting heap on top of the C library's; fails the allocation number
 * fail_at (counted from 1; 0: never). */
static struct {
	long calls, live, reallocs, fail_at;
} heap;

static void *h_malloc(void *ctx, size_t size)
{
	(void)ctx;
	heap.calls++;
	if (heap.fail_at && heap.calls == heap.fail_at)
		return NULL;
	heap.live++;
	return malloc(size);
}

static void h_free(void *ctx, void *p)
{
	(void)ctx;
	heap.live--;
	free(p);
}

static void *h_realloc(void *ctx, void *p, size_t size)
{
	(void)ctx;
	heap.reallocs++;
	return realloc(p, size);
}

static void hook(int with_realloc, long fail_at)
{
	struct nr_mem_hooks h = {h_malloc, h_free, with_realloc ? h_realloc : NULL, NULL};

	memset(&heap, 0, sizeof(heap));
	heap.fail_at = fail_at;
	nr_mem_set_hooks(&h);
}

TEST(hooks_see_the_core_allocations)
{
	struct nr_pool pool;
	struct nr_buf b;

	hook(1, 0);
	ASSERT_EQ(nr_pool_init(&pool, "t", 100, 4), 0);
	ASSERT_EQ(nr_buf_alloc(&b, 64), 0);
	EXPECT_EQ(heap.live, 2);
	void *p = nr_realloc(nr_malloc(8), 4096);
	EXPECT_TRUE(p != NULL);
	EXPECT_EQ(heap.reallocs, 1);
	nr_free(p);
	nr_buf_free(&b);
	nr_pool_destroy(&pool);
	EXPECT_EQ(heap.live, 0);
	nr_mem_set_hooks(NULL);
	nr_free(nr_malloc(16)); /* the C library's again: not counted */
	EXPECT_EQ(heap.calls, 3);
}

/* A heap without realloc (FreeRTOS's pvPortMalloc): the core keeps the
 * sizes and moves blocks itself. */
TEST(no_realloc_hook_keeps_the_contents)
{
	hook(0, 0);
	unsigned char *p = nr_malloc(10);
	ASSERT_TRUE(p != NULL);
	memcpy(p, "0123456789", 10);
	p = nr_realloc(p, 100000);
	ASSERT_TRUE(p != NULL);
	EXPECT_MEMEQ(p, "0123456789", 10);
	p = nr_realloc(p, 4);
	ASSERT_TRUE(p != NULL);
	EXPECT_MEMEQ(p, "0123", 4);
	unsigned char *z = nr_calloc(100, 3);
	ASSERT_TRUE(z != NULL);
	for (int i = 0; i < 300; i++)
		EXPECT_EQ(z[i], 0);
	EXPECT_EQ((size_t)z % _Alignof(max_align_t), (size_t)0);
	nr_free(z);
	nr_free(p);
	EXPECT_EQ(heap.live, 0);
	EXPECT_TRUE(nr_calloc((size_t)-1 / 2, 4) == NULL); /* overflow: not even asked */
	EXPECT_EQ(heap.calls, 4);
	nr_mem_set_hooks(NULL);
}

/* Every allocation of opening a loop and a queue fails once in turn: each
 * attempt ends in NR_ENOMEM with nothing left allocated, or succeeds. */
TEST(each_failed_allocation_is_enomem_and_leaks_nothing)
{
	long total = 0, failures = 0;

	for (long k = 1; k < 200; k++) {
		struct nr_loop *loop = NULL;
		struct nr_queue *q = NULL;
		struct nr_bdev bd;
		int rc;

		hook(k % 2, k);
		rc = nr_loop_new(&loop, 8, 8);
		if (rc == 0) {
			rc = nr_store_ram_open(&bd, 64 * 1024, 4096);
			if (rc == 0) {
				rc = nr_queue_open(&q, &bd, loop);
				if (rc == 0)
					nr_queue_close(q);
				bd.close(&bd);
			}
			nr_loop_free(loop);
		}
		EXPECT_TRUE(rc == 0 || rc == NR_ENOMEM);
		if (heap.live != 0)
			printf("allocation %ld failed: %ld blocks left (rc %d)\n", k, heap.live,
			       rc);
		EXPECT_EQ(heap.live, 0);
		if (rc == NR_ENOMEM)
			failures++;
		if (heap.calls < k) { /* fewer allocations than k: all covered */
			total = heap.calls;
			break;
		}
	}
	nr_mem_set_hooks(NULL);
	EXPECT_TRUE(total > 3);
	EXPECT_EQ(failures, total);
}

int main(void)
{
	RUN(hooks_see_the_core_allocations);
	RUN(no_realloc_hook_keeps_the_contents);
	RUN(each_failed_allocation_is_enomem_and_leaks_nothing);
	return TEST_REPORT();
}
