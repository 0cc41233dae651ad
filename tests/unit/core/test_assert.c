/* test_assert.c - NR_ASSERT stays on where libc assert() is compiled out.
 *
 * This file is built with NDEBUG defined (as Release and RelWithDebInfo
 * builds are), and the core library itself is built with the build's own
 * flags (RelWithDebInfo by default: -DNDEBUG too). A test panic hook
 * longjmps back instead of aborting, so each test can see the panic. */
#ifndef NDEBUG
#define NDEBUG
#endif
#include <assert.h>
#include <setjmp.h>
#include <string.h>

#include "core/buf.h"
#include "core/panic.h"
#include "core/pool.h"
#include "sim.h"
#include "test.h"

static jmp_buf back;
static int panics;
static char panic_what[128];

static void catch_panic(const char *file, int line, const char *what)
{
	(void)file;
	(void)line;
	panics++;
	snprintf(panic_what, sizeof(panic_what), "%s", what);
	longjmp(back, 1);
}

/* Run fn under the hook; 1 when it panicked. */
static int panics_in(void (*fn)(void *), void *arg)
{
	volatile int fired = 0;

	panic_what[0] = '\0';
	sim_set_panic_hook(catch_panic);
	if (setjmp(back) == 0)
		fn(arg);
	else
		fired = 1;
	sim_set_panic_hook(NULL);
	return fired;
}

static void assert_false(void *arg)
{
	int zero = *(int *)arg;
	assert(zero); /* compiled out: NDEBUG */
	NR_ASSERT(zero != 0);
}

static void assert_true(void *arg)
{
	NR_ASSERT(*(int *)arg == 0);
}

TEST(nr_assert_fires_with_ndebug_and_logs)
{
	int zero = 0;

	sim_reset();
	EXPECT_EQ(panics_in(assert_true, &zero), 0);
	EXPECT_EQ(panics_in(assert_false, &zero), 1);
	EXPECT_STREQ(panic_what, "zero != 0");
	EXPECT_TRUE(sim_log_find("panic: ") >= 0);
	EXPECT_TRUE(sim_log_find("test_assert.c:") >= 0);
	EXPECT_TRUE(sim_log_find(": zero != 0") >= 0);
}

static void consume_past_end(void *arg)
{
	struct nr_buf *b = arg;
	nr_buf_consume(b, nr_buf_len(b) + 1);
}

static void commit_past_room(void *arg)
{
	struct nr_buf *b = arg;
	nr_buf_commit(b, nr_buf_room(b) + 1);
}

TEST(buf_overrun_panics)
{
	struct nr_buf b;

	sim_reset();
	ASSERT_EQ(nr_buf_alloc(&b, 16), 0);
	EXPECT_EQ(nr_buf_puts(&b, "abc"), 0);
	EXPECT_EQ(panics_in(consume_past_end, &b), 1);
	EXPECT_EQ(panics_in(commit_past_room, &b), 1);
	EXPECT_EQ(nr_buf_len(&b), 3); /* nothing moved */
	nr_buf_free(&b);
}

struct pool_case {
	struct nr_pool *p;
	void *obj;
};

static void put_back(void *arg)
{
	struct pool_case *pc = arg;
	nr_pool_put(pc->p, pc->obj);
}

TEST(pool_put_of_a_foreign_pointer_panics)
{
	struct nr_pool p;
	char foreign[64];

	sim_reset();
	ASSERT_EQ(nr_pool_init(&p, "t", 32, 2), 0);
	char *a = nr_pool_get(&p);
	ASSERT_TRUE(a != NULL);
	struct pool_case inside = {&p, a + 1}, outside = {&p, foreign}, ok = {&p, a};
	EXPECT_EQ(panics_in(put_back, &inside), 1);
	EXPECT_EQ(panics_in(put_back, &outside), 1);
	EXPECT_EQ(panics_in(put_back, &ok), 0);
	EXPECT_EQ(panics_in(put_back, &ok), 1); /* nothing is out: a second put of a */
	nr_pool_destroy(&p);
}

int main(void)
{
	RUN(nr_assert_fires_with_ndebug_and_logs);
	RUN(buf_overrun_panics);
	RUN(pool_put_of_a_foreign_pointer_panics);
	return TEST_REPORT();
}
