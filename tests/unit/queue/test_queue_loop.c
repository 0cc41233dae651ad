/*
 * test_queue_loop.c - group commit through the real event loop: commits
 * requested in one loop turn share one sync, nobody hears "durable" before
 * that sync, and each writer learns the outcome of its own record.
 */
#include "core/loop.h"
#include "qtest.h"
#include "sim.h"
#include "sim_flash.h"
#include "test.h"

#define SECTOR 65536u /* 20 messages fit one sector: no sector-change syncs */
#define SECTORS 8u
#define WRITERS 20

static struct nr_sim_flash *flash;
static struct nr_bdev bd;
static struct nr_loop *loop;
static struct nr_queue *q;

static int setup(void)
{
	if (nr_sim_flash_new(&flash, SECTOR, SECTORS, 4) != 0)
		return -1;
	nr_sim_flash_bdev(flash, &bd);
	if (nr_loop_new(&loop, 8, 8) != 0)
		return -1;
	return nr_queue_open(&q, &bd, loop);
}

static void teardown(void)
{
	nr_queue_close(q);
	nr_loop_free(loop);
	nr_sim_flash_free(flash);
	q = NULL;
	loop = NULL;
	flash = NULL;
}

static uint64_t syncs(void)
{
	struct nr_sim_flash_stats st;

	nr_sim_flash_stats(flash, &st);
	return st.syncs;
}

/* Start a message of len bytes and commit it; the outcome lands in *c. */
static int begin_and_commit(uint32_t n, size_t len, struct qt_commit *c)
{
	static uint8_t body[4096];
	struct nr_qenvelope env;
	struct nr_qwriter *w;
	int ret;

	qt_env(&env, n, 2);
	qt_body(body, len, n);
	ret = nr_queue_begin(q, &env, 0, &w);
	if (ret)
		return ret;
	ret = nr_queue_append(w, body, len);
	if (ret) {
		nr_queue_abort(w);
		return ret;
	}
	return nr_queue_commit(w, qt_done, c);
}

TEST(commits_in_one_turn_share_one_sync)
{
	struct qt_commit c[WRITERS];
	uint64_t before;
	int i;

	ASSERT_EQ(setup(), 0);
	memset(c, 0, sizeof(c));
	before = syncs();
	for (i = 0; i < WRITERS; i++)
		ASSERT_EQ(begin_and_commit((uint32_t)i, 1000, &c[i]), 0);
	/* Nothing is durable yet, so nobody may have been told so. */
	for (i = 0; i < WRITERS; i++)
		EXPECT_EQ(c[i].called, 0);
	EXPECT_EQ(syncs(), before);

	EXPECT_TRUE(nr_loop_turn(loop, 0) >= 0);
	EXPECT_EQ(syncs(), before + 1);
	for (i = 0; i < WRITERS; i++) {
		EXPECT_EQ(c[i].called, 1);
		EXPECT_EQ(c[i].result, 0);
		EXPECT_EQ(qt_check(q, c[i].id, (uint32_t)i, 1000, 2), 0);
	}
	teardown();
}

TEST(each_turn_gets_its_own_sync)
{
	struct qt_commit a = {0, 0, 0}, b = {0, 0, 0};
	uint64_t before;

	ASSERT_EQ(setup(), 0);
	before = syncs();
	ASSERT_EQ(begin_and_commit(1, 500, &a), 0);
	EXPECT_TRUE(nr_loop_turn(loop, 0) >= 0);
	EXPECT_EQ(a.called, 1);
	ASSERT_EQ(begin_and_commit(2, 500, &b), 0);
	EXPECT_EQ(b.called, 0);
	EXPECT_TRUE(nr_loop_turn(loop, 0) >= 0);
	EXPECT_EQ(b.called, 1);
	EXPECT_EQ(syncs(), before + 2);
	EXPECT_TRUE(a.id != b.id);
	teardown();
}

TEST(a_failed_group_sync_fails_every_commit_in_it)
{
	struct qt_commit c[3];
	int i;

	ASSERT_EQ(setup(), 0);
	memset(c, 0, sizeof(c));
	for (i = 0; i < 3; i++)
		ASSERT_EQ(begin_and_commit((uint32_t)i, 700, &c[i]), 0);
	nr_sim_flash_fail_sync(flash, 1);
	EXPECT_TRUE(nr_loop_turn(loop, 0) >= 0);
	for (i = 0; i < 3; i++) {
		EXPECT_EQ(c[i].called, 1);
		EXPECT_EQ(c[i].result, NR_EIO);
	}
	teardown();
}

static int commit_hooks;
static int hook_saw_durable; /* the done callback ran before the hook */

static void count_commit_hook(void *arg)
{
	struct qt_commit *c = arg;

	commit_hooks++;
	hook_saw_durable = c->called == 1 && c->result == 0;
}

TEST(the_commit_hook_runs_once_per_durable_group)
{
	struct qt_commit c[3];
	int i;

	ASSERT_EQ(setup(), 0);
	memset(c, 0, sizeof(c));
	commit_hooks = 0;
	nr_queue_on_commit(q, count_commit_hook, &c[2]);
	for (i = 0; i < 3; i++)
		ASSERT_EQ(begin_and_commit((uint32_t)i, 700, &c[i]), 0);
	EXPECT_EQ(commit_hooks, 0); /* not before the sync */
	EXPECT_TRUE(nr_loop_turn(loop, 0) >= 0);
	EXPECT_EQ(commit_hooks, 1);
	EXPECT_EQ(hook_saw_durable, 1);
	EXPECT_TRUE(nr_loop_turn(loop, 0) >= 0);
	EXPECT_EQ(commit_hooks, 1); /* an idle turn is no commit */
	ASSERT_EQ(begin_and_commit(9, 700, &c[0]), 0);
	nr_sim_flash_fail_sync(flash, 1);
	EXPECT_TRUE(nr_loop_turn(loop, 0) >= 0);
	EXPECT_EQ(commit_hooks, 1); /* a failed sync made nothing durable */
	nr_queue_on_commit(q, NULL, NULL);
	teardown();
}

/* A done callback that commits two more messages (a session finding two
 * whole transactions behind its 250, say): the later commits of the group
 * still hear their own outcome, and the new ones wait for the next sync. */
static struct qt_commit chain[2];
static int chain_armed;

static void commit_two_more(void *arg, int result, nr_qid_t id)
{
	qt_done(arg, result, id);
	if (!chain_armed)
		return;
	chain_armed = 0;
	if (begin_and_commit(100, 300, &chain[0]) != 0 ||
	    begin_and_commit(101, 300, &chain[1]) != 0)
		chain[0].result = chain[1].result = -999;
}

TEST(a_callback_that_commits_more_leaves_the_group_intact)
{
	struct qt_commit c[3];
	struct nr_qenvelope env;
	struct nr_qwriter *w;
	static uint8_t body[300];
	int i;

	ASSERT_EQ(setup(), 0);
	memset(c, 0, sizeof(c));
	memset(chain, 0, sizeof(chain));
	chain_armed = 1;
	qt_env(&env, 1, 2);
	qt_body(body, sizeof(body), 1);
	ASSERT_EQ(nr_queue_begin(q, &env, 0, &w), 0);
	ASSERT_EQ(nr_queue_append(w, body, sizeof(body)), 0);
	ASSERT_EQ(nr_queue_commit(w, commit_two_more, &c[0]), 0);
	for (i = 1; i < 3; i++)
		ASSERT_EQ(begin_and_commit((uint32_t)i + 1, 300, &c[i]), 0);
	uint64_t before = syncs();
	EXPECT_TRUE(nr_loop_turn(loop, 0) >= 0);
	for (i = 0; i < 3; i++) {
		EXPECT_EQ(c[i].called, 1);
		EXPECT_EQ(c[i].result, 0);
	}
	EXPECT_EQ(syncs(), before + 1);
	EXPECT_EQ(chain[0].called, 0); /* written after that sync */
	EXPECT_EQ(chain[1].called, 0);
	EXPECT_TRUE(nr_loop_turn(loop, 0) >= 0);
	for (i = 0; i < 2; i++) {
		EXPECT_EQ(chain[i].called, 1);
		EXPECT_EQ(chain[i].result, 0);
	}
	for (i = 0; i < 3; i++)
		EXPECT_EQ(c[i].called, 1);
	EXPECT_EQ(syncs(), before + 2);
	teardown();
}

int main(void)
{
	RUN(commits_in_one_turn_share_one_sync);
	RUN(each_turn_gets_its_own_sync);
	RUN(a_failed_group_sync_fails_every_commit_in_it);
	RUN(the_commit_hook_runs_once_per_durable_group);
	RUN(a_callback_that_commits_more_leaves_the_group_intact);
	return TEST_REPORT();
}
