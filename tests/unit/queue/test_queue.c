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

static int count_cb(void *arg, const struct nr_qinfo *info)
{
	(*(int *)arg)++;
	(void)info;
	return 0;
}

TEST(abort_leaves_nothing)
{
	struct nr_queue *q = fresh(1024, 8, 4);
	struct nr_qenvelope env;
	struct nr_qwriter *w;
	static uint8_t body[5000];
	nr_qid_t id;
	int n = 0;

	ASSERT_TRUE(q);
	qt_env(&env, 1, 1);
	ASSERT_EQ(nr_queue_begin(q, &env, 0, &w), 0);
	ASSERT_EQ(nr_queue_append(w, body, sizeof(body)), 0); /* chunks reach the ring */
	nr_queue_abort(w);
	ASSERT_EQ(qt_enqueue(q, 2, 100, 1, 100, &id), 0);
	q = reopen(q);
	ASSERT_TRUE(q);
	EXPECT_EQ(nr_queue_foreach(q, count_cb, &n), 0);
	EXPECT_EQ(n, 1);
	EXPECT_EQ(qt_check(q, id, 2, 100, 1), 0);
	nr_queue_close(q);
}

TEST(full_then_space_returns)
{
	struct nr_queue *q = fresh(1024, 8, 1);
	nr_qid_t ids[64];
	struct nr_qstats st;
	int n, ret = 0, got;

	ASSERT_TRUE(q);
	for (n = 0; n < 64; n++) {
		ret = qt_enqueue(q, (uint32_t)n, 600, 1, 200, &ids[n]);
		if (ret)
			break;
	}
	EXPECT_EQ(ret, NR_EFULL);
	got = n;
	EXPECT_TRUE(got >= 5);
	nr_queue_stats(q, &st);
	EXPECT_EQ(st.messages, (size_t)got);
	EXPECT_TRUE(st.used <= st.capacity);
	/* full: every committed message still intact */
	for (n = 0; n < got; n++)
		EXPECT_EQ(qt_check(q, ids[n], (uint32_t)n, 600, 1), 0);
	/* SIZE= that can never fit */
	{
		struct nr_qenvelope env;
		struct nr_qwriter *w = NULL;
		qt_env(&env, 0, 1);
		EXPECT_EQ(nr_queue_begin(q, &env, 1u << 20, &w), NR_ETOOBIG);
		EXPECT_EQ(nr_queue_begin(q, &env, 3000, &w), NR_EFULL);
	}
	for (n = 0; n < got; n++)
		EXPECT_EQ(nr_queue_mark_done(q, ids[n]), 0);
	for (n = 0; n < got; n++)
		EXPECT_EQ(qt_enqueue(q, 100 + (uint32_t)n, 600, 1, 200, &ids[n]), 0);
	nr_queue_close(q);
}

TEST(partial_recipients_and_expiry)
{
	struct nr_queue *q = fresh(2048, 8, 4);
	nr_qid_t a, b, id;
	enum nr_rcpt_state st;
	struct nr_qinfo info;
	int n = 0;

	ASSERT_TRUE(q);
	ASSERT_EQ(qt_enqueue(q, 1, 300, 3, 100, &a), 0);
	ASSERT_EQ(qt_enqueue(q, 2, 300, 1, 100, &b), 0);
	EXPECT_EQ(nr_queue_next_due(q, 0, &id), 0);
	EXPECT_EQ(id, a);
	nr_queue_set_inflight(q, a, 1);
	EXPECT_EQ(nr_queue_next_due(q, 0, &id), 0);
	EXPECT_EQ(id, b);
	/* upstream accepted rcpt 0, refused rcpt 2 for good, deferred rcpt 1 */
	EXPECT_EQ(nr_queue_mark_rcpt(q, a, 0, NR_RCPT_DELIVERED), 0);
	EXPECT_EQ(nr_queue_mark_rcpt(q, a, 2, NR_RCPT_FAILED), 0);
	nr_queue_defer(q, a, 60000, "451 4.3.0 try later");
	nr_queue_set_inflight(q, a, 0);
	EXPECT_EQ(nr_queue_info(q, a, &info), 0);
	EXPECT_EQ(info.npending, 1);
	EXPECT_EQ(info.attempts, 1);
	EXPECT_STREQ(info.last_error, "451 4.3.0 try later");
	EXPECT_EQ(nr_queue_next_wakeup(q), 0); /* b is due */
	EXPECT_EQ(nr_queue_mark_done(q, b), 0);
	EXPECT_EQ(nr_queue_next_due(q, 1000, &id), NR_ENOTFOUND);
	EXPECT_EQ(nr_queue_next_wakeup(q), 60000);
	/* after a restart the per-recipient outcome is still there, due now */
	q = reopen(q);
	ASSERT_TRUE(q);
	EXPECT_EQ(nr_queue_next_due(q, 0, &id), 0);
	EXPECT_EQ(id, a);
	EXPECT_TRUE(nr_queue_rcpt(q, a, 0, &st) != NULL);
	EXPECT_EQ(st, NR_RCPT_DELIVERED);
	EXPECT_TRUE(nr_queue_rcpt(q, a, 1, &st) != NULL);
	EXPECT_EQ(st, NR_RCPT_PENDING);
	EXPECT_TRUE(nr_queue_rcpt(q, a, 2, &st) != NULL);
	EXPECT_EQ(st, NR_RCPT_FAILED);
	EXPECT_EQ(nr_queue_info(q, b, &info), NR_ENOTFOUND);
	/* max_age: a arrived at 1700000001 */
	EXPECT_EQ(nr_queue_expire(q, 1700000001 + 100, 3600, NULL, NULL), 0);
	EXPECT_EQ(nr_queue_expire(q, 1700000001 + 3600, 3600, NULL, NULL), 1);
	EXPECT_EQ(nr_queue_info(q, a, &info), 0);
	EXPECT_EQ(info.state, NR_MSG_DEAD);
	EXPECT_EQ(nr_queue_next_due(q, 0, &id), NR_ENOTFOUND);
	q = reopen(q);
	ASSERT_TRUE(q);
	EXPECT_EQ(nr_queue_info(q, a, &info), 0);
	EXPECT_EQ(info.state, NR_MSG_DEAD);
	EXPECT_EQ(nr_queue_foreach(q, count_cb, &n), 0);
	EXPECT_EQ(n, 1);
	/* the last recipient's outcome finishes the message */
	ASSERT_EQ(qt_enqueue(q, 3, 10, 2, 100, &id), 0);
	EXPECT_EQ(nr_queue_mark_rcpt(q, id, 0, NR_RCPT_DELIVERED), 0);
	EXPECT_EQ(nr_queue_mark_rcpt(q, id, 1, NR_RCPT_DELIVERED), 0);
	EXPECT_EQ(nr_queue_info(q, id, &info), NR_ENOTFOUND);
	nr_queue_close(q);
}

/* A board without an RTC may accept mail before SNTP answers: the message
 * is stored with arrival 0, and max_age must count from the first pass with a
 * clock, not expire it at once as 56 years old. */
TEST(expiry_of_mail_stored_without_a_clock)
{
	struct nr_queue *q = fresh(2048, 8, 4);
	struct nr_qenvelope env;
	struct nr_qwriter *w;
	struct qt_commit c = {0, 0, 0};
	struct nr_qinfo info;
	const int64_t clock_set = 1700000000;

	ASSERT_TRUE(q);
	qt_env(&env, 1, 1);
	env.arrival = 0;
	ASSERT_EQ(nr_queue_begin(q, &env, 0, &w), 0);
	ASSERT_EQ(nr_queue_append(w, "hi\r\n", 4), 0);
	ASSERT_EQ(nr_queue_commit(w, qt_done, &c), 0);
	ASSERT_EQ(c.result, 0);
	EXPECT_EQ(nr_queue_expire(q, 0, 3600, NULL, NULL), 0); /* still no clock */
	EXPECT_EQ(nr_queue_expire(q, clock_set, 3600, NULL, NULL), 0);
	EXPECT_EQ(nr_queue_expire(q, clock_set + 3599, 3600, NULL, NULL), 0);
	EXPECT_EQ(nr_queue_info(q, c.id, &info), 0);
	EXPECT_EQ(info.state, NR_MSG_PENDING);
	EXPECT_EQ(nr_queue_expire(q, clock_set + 3600, 3600, NULL, NULL), 1);
	EXPECT_EQ(nr_queue_info(q, c.id, &info), 0);
	EXPECT_EQ(info.state, NR_MSG_DEAD);
	nr_queue_close(q);
}

TEST(compaction_of_deferred_tail)
{
	struct nr_queue *q = fresh(1024, 8, 4);
	struct nr_qstats st;
	struct nr_qinfo info;
	enum nr_rcpt_state rs;
	nr_qid_t old, id;
	int n;

	ASSERT_TRUE(q);
	ASSERT_EQ(qt_enqueue(q, 7, 200, 2, 50, &old), 0);
	ASSERT_EQ(nr_queue_mark_rcpt(q, old, 0, NR_RCPT_DELIVERED), 0);
	nr_queue_defer(q, old, UINT64_MAX / 2, "421 upstream down");
	/* many times the ring's size passes while old stays deferred */
	for (n = 0; n < 200; n++) {
		ASSERT_EQ(qt_enqueue(q, 100 + (uint32_t)n, 500, 1, 500, &id), 0);
		ASSERT_EQ(nr_queue_mark_done(q, id), 0);
	}
	EXPECT_EQ(qt_check(q, old, 7, 200, 2), 0);
	nr_queue_stats(q, &st);
	EXPECT_TRUE(st.erases > 8 * 10);
	q = reopen(q);
	ASSERT_TRUE(q);
	EXPECT_EQ(qt_check(q, old, 7, 200, 2), 0);
	/* the copies kept the first recipient's outcome, and a mark lands on
	 * the newest copy: the last one finishes the message for good */
	EXPECT_TRUE(nr_queue_rcpt(q, old, 0, &rs) != NULL);
	EXPECT_EQ(rs, NR_RCPT_DELIVERED);
	EXPECT_EQ(nr_queue_mark_rcpt(q, old, 1, NR_RCPT_FAILED), 0);
	EXPECT_EQ(nr_queue_info(q, old, &info), NR_ENOTFOUND);
	q = reopen(q);
	ASSERT_TRUE(q);
	EXPECT_EQ(nr_queue_info(q, old, &info), NR_ENOTFOUND);
	nr_queue_close(q);
}

TEST(bit_rot_is_quarantined)
{
	struct nr_queue *q = fresh(4096, 8, 4);
	struct nr_qinfo info;
	struct nr_qstats st;
	nr_qid_t a, b;
	uint8_t *d;

	ASSERT_TRUE(q);
	ASSERT_EQ(qt_enqueue(q, 1, 1000, 1, 100, &a), 0);
	ASSERT_EQ(qt_enqueue(q, 2, 1000, 1, 100, &b), 0);
	nr_queue_close(q);
	/* flip one bit inside a's body (a is the first record of sector 0) */
	d = nr_sim_flash_data(flash);
	d[32 + 24 + 500] ^= 0x10;
	q = NULL;
	ASSERT_EQ(nr_queue_open(&q, &bd, NULL), 0);
	EXPECT_EQ(nr_queue_info(q, a, &info), 0);
	EXPECT_EQ(info.state, NR_MSG_QUARANTINE);
	{
		struct nr_qreader *r = NULL;
		nr_qid_t id;
		EXPECT_EQ(nr_queue_read_open(q, a, &r), NR_ECORRUPT);
		EXPECT_EQ(nr_queue_next_due(q, 0, &id), 0);
		EXPECT_EQ(id, b);
	}
	EXPECT_EQ(qt_check(q, b, 2, 1000, 1), 0);
	nr_queue_stats(q, &st);
	EXPECT_EQ(st.dead, 1);
	nr_queue_close(q);
}

static int count_listed(void *arg, const struct nr_qinfo *info)
{
	(void)info;
	(*(int *)arg)++;
	return 0;
}

/* A commit torn after its record header landed but not all of its payload
 * (the kill or power cut came in the middle of the program) is not a
 * message. Nothing is written after it in its sector, so it stays the end
 * of that sector's data and is never taken for a committed message that
 * rotted (quarantined, listed), however far the ring moves on. */
TEST(torn_commit_stays_the_end_of_its_sector)
{
	struct nr_queue *q = fresh(4096, 8, 4);
	struct nr_qinfo info;
	nr_qid_t a, b, c;
	uint8_t *d;
	int i, end = 0, listed = 0;

	ASSERT_TRUE(q);
	ASSERT_EQ(qt_enqueue(q, 1, 1000, 1, 100, &a), 0);
	ASSERT_EQ(qt_enqueue(q, 2, 1000, 1, 100, &b), 0);
	nr_queue_close(q);
	/* b is the last record of sector 0: the tail of its payload (and its
	 * trailer) reads erased, as if those pages never landed */
	d = nr_sim_flash_data(flash);
	for (i = 0; i < 4096; i++) {
		if (d[i] != 0xFF)
			end = i + 1;
	}
	ASSERT_TRUE(end > 2000);
	memset(d + end - 300, 0xFF, 300);
	q = NULL;
	ASSERT_EQ(nr_queue_open(&q, &bd, NULL), 0);
	EXPECT_EQ(nr_queue_info(q, b, &info), NR_ENOTFOUND);
	EXPECT_EQ(qt_check(q, a, 1, 1000, 1), 0);
	/* the next message goes to the next sector, not after the torn one */
	ASSERT_EQ(qt_enqueue(q, 3, 500, 1, 100, &c), 0);
	for (i = end - 300; i < 4096 && d[i] == 0xFF; i++)
		;
	if (i < 4096)
		NR_TEST_FAIL_("sector 0 written after the torn commit, at %d", i);
	q = reopen(q);
	ASSERT_TRUE(q);
	EXPECT_EQ(nr_queue_info(q, b, &info), NR_ENOTFOUND);
	EXPECT_EQ(nr_queue_foreach(q, count_listed, &listed), 0);
	EXPECT_EQ(listed, 2);
	EXPECT_EQ(qt_check(q, a, 1, 1000, 1), 0);
	EXPECT_EQ(qt_check(q, c, 3, 500, 1), 0);
	nr_queue_close(q);
}

TEST(sync_eio_fails_the_commit)
{
	struct nr_queue *q = fresh(1024, 8, 4);
	struct nr_qenvelope env;
	struct nr_qwriter *w;
	struct qt_commit c = {0, 0, 0};
	nr_qid_t id;
	int n = 0;

	ASSERT_TRUE(q);
	qt_env(&env, 1, 1);
	ASSERT_EQ(nr_queue_begin(q, &env, 0, &w), 0);
	ASSERT_EQ(nr_queue_append(w, "hello\r\n", 7), 0);
	nr_sim_flash_fail_sync(flash, 1);
	ASSERT_EQ(nr_queue_commit(w, qt_done, &c), 0);
	EXPECT_EQ(c.called, 1);
	EXPECT_EQ(c.result, NR_EIO);
	EXPECT_EQ(nr_queue_foreach(q, count_cb, &n), 0);
	EXPECT_EQ(n, 0);
	/* the next commit works, and the failed one never surfaces */
	ASSERT_EQ(qt_enqueue(q, 2, 100, 1, 100, &id), 0);
	q = reopen(q);
	ASSERT_TRUE(q);
	n = 0;
	EXPECT_EQ(nr_queue_foreach(q, count_cb, &n), 0);
	EXPECT_EQ(n, 1);
	EXPECT_EQ(qt_check(q, id, 2, 100, 1), 0);
	nr_queue_close(q);
}

TEST(short_write_enospc)
{
	struct nr_queue *q = fresh(1024, 8, 4);
	struct nr_qenvelope env;
	struct nr_qwriter *w;
	static uint8_t body[3000];
	nr_qid_t id;
	int n = 0, ret;

	ASSERT_TRUE(q);
	qt_env(&env, 1, 1);
	ASSERT_EQ(nr_queue_begin(q, &env, 0, &w), 0);
	nr_sim_flash_fail_prog(flash, 2, NR_ENOSPC);
	ret = nr_queue_append(w, body, sizeof(body));
	if (ret == 0)
		ret = nr_queue_commit(w, NULL, NULL);
	else
		nr_queue_abort(w);
	EXPECT_NE(ret, 0);
	ASSERT_EQ(qt_enqueue(q, 2, 100, 1, 100, &id), 0);
	q = reopen(q);
	ASSERT_TRUE(q);
	EXPECT_EQ(nr_queue_foreach(q, count_cb, &n), 0);
	EXPECT_EQ(n, 1);
	EXPECT_EQ(qt_check(q, id, 2, 100, 1), 0);
	nr_queue_close(q);
}

TEST(ram_backend)
{
	struct nr_bdev rb;
	struct nr_queue *q = NULL;
	struct nr_qstats st;
	nr_qid_t id[3];
	uint32_t n;

	ASSERT_EQ(nr_store_ram_open(&rb, 128 * 1024, 4096), 0);
	ASSERT_EQ(nr_queue_open(&q, &rb, NULL), 0);
	for (n = 0; n < 3; n++)
		ASSERT_EQ(qt_enqueue(q, n, 20000, 2, 999, &id[n]), 0);
	for (n = 0; n < 3; n++)
		EXPECT_EQ(qt_check(q, id[n], n, 20000, 2), 0);
	nr_queue_stats(q, &st);
	EXPECT_STREQ(st.backend, "ram");
	EXPECT_EQ(st.persistent, 0);
	EXPECT_EQ(st.messages, 3);
	EXPECT_EQ(nr_queue_mark_done(q, id[0]), 0);
	EXPECT_EQ(nr_queue_delete(q, id[1]), 0);
	EXPECT_EQ(nr_queue_delete(q, 999), NR_ENOTFOUND);
	nr_queue_stats(q, &st);
	EXPECT_EQ(st.messages, 1);
	EXPECT_EQ(st.dead, 1);
	nr_queue_close(q);
	rb.close(&rb);
}

TEST(recovery_is_read_only_and_bounded_on_garbage)
{
	struct nr_queue *q = fresh(1024, 8, 4);
	uint8_t *d;
	uint64_t i;

	ASSERT_TRUE(q);
	nr_queue_close(q);
	d = nr_sim_flash_data(flash);
	for (i = 0; i < nr_sim_flash_size(flash); i++)
		d[i] = (uint8_t)(i * 37 + (i >> 7));
	nr_sim_flash_reset_ops(flash);
	q = NULL;
	ASSERT_EQ(nr_queue_open(&q, &bd, NULL), 0);
	EXPECT_EQ(nr_sim_flash_ops(flash), 0);
	nr_queue_close(q);
}

/* The index under removals from the front (delivery), the back and the
 * middle, with new messages in between: it lists exactly the live
 * messages, in order, and finds each of them. */
static nr_qid_t live[1024];
static size_t nlive, seen;
static int listed_ok;

static int check_listed(void *arg, const struct nr_qinfo *info)
{
	(void)arg;
	if (seen >= nlive || info->id != live[seen])
		listed_ok = 0;
	seen++;
	return 0;
}

static int index_matches(struct nr_queue *q)
{
	struct nr_qinfo info;

	seen = 0;
	listed_ok = 1;
	if (nr_queue_foreach(q, check_listed, NULL) != 0 || !listed_ok || seen != nlive)
		return 0;
	for (size_t i = 0; i < nlive; i++)
		if (nr_queue_info(q, live[i], &info) != 0 || info.id != live[i])
			return 0;
	return 1;
}

TEST(index_keeps_order_under_removals_anywhere)
{
	struct nr_bdev rb;
	struct nr_queue *q = NULL;
	struct nr_qinfo info;
	uint32_t seed = 7, n = 0;

	ASSERT_EQ(nr_store_ram_open(&rb, 4u << 20, 4096), 0);
	ASSERT_EQ(nr_queue_open(&q, &rb, NULL), 0);
	nlive = 0;
	for (; n < 300; n++)
		ASSERT_EQ(qt_enqueue(q, n, 200, 1, 200, &live[nlive++]), 0);
	for (int step = 0; step < 4000; step++) {
		seed = seed * 1103515245u + 12345u;
		uint32_t r = (seed >> 8) % 100;
		size_t at;
		if (nlive == 0 || (r < 30 && nlive < 1000)) {
			ASSERT_EQ(qt_enqueue(q, n, 200, 1, 200, &live[nlive]), 0);
			n++;
			nlive++;
			continue;
		}
		if (r < 70)
			at = 0; /* the oldest: delivery's order */
		else if (r < 85)
			at = nlive - 1;
		else
			at = (seed >> 4) % nlive;
		nr_qid_t gone = live[at];
		ASSERT_EQ(nr_queue_mark_done(q, gone), 0);
		memmove(&live[at], &live[at + 1], (nlive - at - 1) * sizeof(live[0]));
		nlive--;
		EXPECT_EQ(nr_queue_info(q, gone, &info), NR_ENOTFOUND);
		if (step % 97 == 0)
			ASSERT_TRUE(index_matches(q));
	}
	EXPECT_TRUE(index_matches(q));
	while (nlive > 0) { /* drain it from the front */
		ASSERT_EQ(nr_queue_mark_done(q, live[0]), 0);
		memmove(&live[0], &live[1], (nlive - 1) * sizeof(live[0]));
		nlive--;
	}
	EXPECT_TRUE(index_matches(q));
	ASSERT_EQ(qt_enqueue(q, n, 200, 1, 200, &live[nlive++]), 0);
	EXPECT_TRUE(index_matches(q));
	nr_queue_close(q);
	rb.close(&rb);
}

/* next_due skips its search while nothing can be due (the floor): each
 * way a message becomes sendable again must still show at once. */
TEST(due_floor_never_hides_a_sendable_message)
{
	struct nr_queue *q = fresh(4096, 32, 4);
	nr_qid_t id[4], got;
	uint32_t n;

	ASSERT_TRUE(q);
	for (n = 0; n < 3; n++)
		ASSERT_EQ(qt_enqueue(q, n, 300, 1, 300, &id[n]), 0);
	/* an outage: all three deferred, the earliest to 50 s */
	nr_queue_defer(q, id[0], 90000, "down");
	nr_queue_defer(q, id[1], 50000, "down");
	nr_queue_defer(q, id[2], 70000, "down");
	EXPECT_EQ(nr_queue_next_due(q, 1000, &got), NR_ENOTFOUND); /* raises the floor */
	EXPECT_EQ(nr_queue_next_wakeup(q), 50000);
	/* a new message is due at once, above a raised floor */
	ASSERT_EQ(qt_enqueue(q, 3, 300, 1, 300, &id[3]), 0);
	EXPECT_EQ(nr_queue_next_wakeup(q), 0);
	ASSERT_EQ(nr_queue_next_due(q, 1000, &got), 0);
	EXPECT_EQ(got, id[3]);
	nr_queue_set_inflight(q, id[3], 1);
	EXPECT_EQ(nr_queue_next_due(q, 1000, &got), NR_ENOTFOUND);
	EXPECT_EQ(nr_queue_next_wakeup(q), 50000);
	/* back from flight undelivered: due again */
	nr_queue_set_inflight(q, id[3], 0);
	ASSERT_EQ(nr_queue_next_due(q, 1000, &got), 0);
	EXPECT_EQ(got, id[3]);
	EXPECT_EQ(nr_queue_mark_done(q, id[3]), 0);
	EXPECT_EQ(nr_queue_next_due(q, 1000, &got), NR_ENOTFOUND);
	EXPECT_EQ(nr_queue_next_wakeup(q), 50000);
	/* the earliest leaves: the wake-up moves to the next one */
	nr_queue_set_inflight(q, id[1], 1);
	EXPECT_EQ(nr_queue_next_wakeup(q), 70000);
	nr_queue_set_inflight(q, id[1], 0);
	EXPECT_EQ(nr_queue_next_wakeup(q), 50000);
	/* a deferral to an earlier time than the floor (flush: now) */
	nr_queue_defer(q, id[0], 0, "flushed");
	ASSERT_EQ(nr_queue_next_due(q, 1000, &got), 0);
	EXPECT_EQ(got, id[0]);
	EXPECT_EQ(nr_queue_mark_done(q, id[0]), 0);
	/* time passes: the deferred ones come due in order */
	ASSERT_EQ(nr_queue_next_due(q, 50000, &got), 0);
	EXPECT_EQ(got, id[1]);
	EXPECT_EQ(nr_queue_mark_done(q, id[1]), 0);
	EXPECT_EQ(nr_queue_next_due(q, 60000, &got), NR_ENOTFOUND);
	EXPECT_EQ(nr_queue_next_wakeup(q), 70000);
	ASSERT_EQ(nr_queue_next_due(q, 70000, &got), 0);
	EXPECT_EQ(got, id[2]);
	EXPECT_EQ(nr_queue_mark_done(q, id[2]), 0);
	EXPECT_EQ(nr_queue_next_due(q, UINT64_MAX - 1, &got), NR_ENOTFOUND);
	EXPECT_EQ(nr_queue_next_wakeup(q), UINT64_MAX);
	/* and after reopening (recovery), everything pending is found */
	ASSERT_EQ(qt_enqueue(q, 5, 300, 1, 300, &id[0]), 0);
	nr_queue_defer(q, id[0], 999999, "down");
	EXPECT_EQ(nr_queue_next_due(q, 1000, &got), NR_ENOTFOUND);
	q = reopen(q);
	ASSERT_TRUE(q);
	ASSERT_EQ(nr_queue_next_due(q, 0, &got), 0); /* retry times are not stored */
	EXPECT_EQ(got, id[0]);
	nr_queue_close(q);
}

int main(void)
{
	RUN(roundtrip_and_reopen);
	RUN(abort_leaves_nothing);
	RUN(full_then_space_returns);
	RUN(partial_recipients_and_expiry);
	RUN(expiry_of_mail_stored_without_a_clock);
	RUN(compaction_of_deferred_tail);
	RUN(bit_rot_is_quarantined);
	RUN(torn_commit_stays_the_end_of_its_sector);
	RUN(sync_eio_fails_the_commit);
	RUN(short_write_enospc);
	RUN(ram_backend);
	RUN(index_keeps_order_under_removals_anywhere);
	RUN(due_floor_never_hides_a_sendable_message);
	RUN(recovery_is_read_only_and_bounded_on_garbage);
	nr_sim_flash_free(flash);
	return TEST_REPORT();
}
