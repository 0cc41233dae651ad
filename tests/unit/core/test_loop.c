/* test_loop.c - the event loop on the simulator: timers, ios, hooks. */
#include "core/loop.h"
#include "sim.h"
#include "test.h"

/* A record of what fired, in order. */
static char trace[256];
static size_t trace_len;

static void mark(char c)
{
	if (trace_len + 1 < sizeof(trace)) {
		trace[trace_len++] = c;
		trace[trace_len] = 0;
	}
}

static void setup(void)
{
	sim_reset();
	trace_len = 0;
	trace[0] = 0;
}

static void timer_mark(struct nr_loop *loop, void *arg)
{
	(void)loop;
	mark(*(const char *)arg);
}

TEST(timers_fire_in_deadline_order)
{
	struct nr_loop *loop;
	struct nr_timer t[5];
	static const char names[] = "abcde";
	static const uint64_t delays[] = {50, 10, 40, 20, 30};
	uint64_t t0;
	size_t i;
	int guard = 0;

	setup();
	ASSERT_EQ(nr_loop_new(&loop, 4, 8), 0);
	t0 = sim_now();
	for (i = 0; i < 5; i++) {
		nr_timer_init(&t[i], timer_mark, (void *)&names[i]);
		EXPECT_EQ(nr_timer_arm(loop, &t[i], delays[i]), 0);
		EXPECT_TRUE(nr_timer_armed(&t[i]));
	}
	while (trace_len < 5 && guard++ < 20)
		EXPECT_TRUE(nr_loop_turn(loop, -1) >= 0);
	EXPECT_STREQ(trace, "bdeca");
	/* Virtual time jumped exactly to the last deadline. */
	EXPECT_EQ(sim_now() - t0, 50);
	EXPECT_EQ(nr_loop_now(loop), sim_now());
	for (i = 0; i < 5; i++)
		EXPECT_TRUE(!nr_timer_armed(&t[i]));
	nr_loop_free(loop);
}

TEST(timer_cancel_and_rearm)
{
	struct nr_loop *loop;
	struct nr_timer a, b, c;
	uint64_t t0;
	int guard = 0;

	setup();
	ASSERT_EQ(nr_loop_new(&loop, 4, 3), 0);
	t0 = sim_now();
	nr_timer_init(&a, timer_mark, "a");
	nr_timer_init(&b, timer_mark, "b");
	nr_timer_init(&c, timer_mark, "c");
	EXPECT_EQ(nr_timer_arm(loop, &a, 10), 0);
	EXPECT_EQ(nr_timer_arm(loop, &b, 20), 0);
	EXPECT_EQ(nr_timer_arm(loop, &c, 30), 0);
	nr_timer_cancel(loop, &b);
	nr_timer_cancel(loop, &b); /* twice is harmless */
	EXPECT_TRUE(!nr_timer_armed(&b));
	/* Re-arm a to fire after c; re-arming needs no new capacity. */
	EXPECT_EQ(nr_timer_arm(loop, &a, 40), 0);
	EXPECT_EQ(nr_timer_arm(loop, &b, 35), 0);
	while (trace_len < 3 && guard++ < 20)
		EXPECT_TRUE(nr_loop_turn(loop, -1) >= 0);
	EXPECT_STREQ(trace, "cba");
	EXPECT_EQ(sim_now() - t0, 40);
	/* One more turn: nothing left, a bounded wait simply times out. */
	EXPECT_EQ(nr_loop_turn(loop, 5), 0);
	EXPECT_EQ(trace_len, 3);
	nr_loop_free(loop);
}

TEST(timer_heap_capacity_is_fixed)
{
	struct nr_loop *loop;
	struct nr_timer t[3];
	int i;

	setup();
	ASSERT_EQ(nr_loop_new(&loop, 1, 2), 0);
	for (i = 0; i < 3; i++)
		nr_timer_init(&t[i], timer_mark, "x");
	EXPECT_EQ(nr_timer_arm(loop, &t[0], 1), 0);
	EXPECT_EQ(nr_timer_arm(loop, &t[1], 1), 0);
	EXPECT_EQ(nr_timer_arm(loop, &t[2], 1), NR_ENOMEM);
	EXPECT_TRUE(!nr_timer_armed(&t[2]));
	nr_timer_cancel(loop, &t[0]);
	EXPECT_EQ(nr_timer_arm(loop, &t[2], 1), 0);
	nr_loop_free(loop);
}

/* Many timers with pseudo-random deadlines: the heap yields them sorted. */
static uint64_t last_fired;
static int order_ok = 1;
static int fired;
static void timer_check_order(struct nr_loop *loop, void *arg)
{
	struct nr_timer *t = arg;

	if (t->deadline < last_fired || nr_loop_now(loop) < t->deadline)
		order_ok = 0;
	last_fired = t->deadline;
	fired++;
}

TEST(timer_heap_many_random)
{
	enum { N = 200 };
	static struct nr_timer t[N];
	struct nr_loop *loop;
	uint32_t x = 12345;
	int i, guard = 0;

	setup();
	ASSERT_EQ(nr_loop_new(&loop, 1, N), 0);
	for (i = 0; i < N; i++) {
		x = x * 1103515245u + 12345u;
		nr_timer_init(&t[i], timer_check_order, &t[i]);
		EXPECT_EQ(nr_timer_arm(loop, &t[i], (x >> 16) % 1000), 0);
	}
	/* Cancel every third one, re-arm every fifth. */
	for (i = 0; i < N; i += 3)
		nr_timer_cancel(loop, &t[i]);
	for (i = 0; i < N; i += 5)
		EXPECT_EQ(nr_timer_arm(loop, &t[i], (uint64_t)(i * 7 % 1000)), 0);
	last_fired = 0;
	order_ok = 1;
	fired = 0;
	while (guard++ < 2000 && nr_loop_turn(loop, 2000) > 0)
		;
	EXPECT_TRUE(order_ok);
	/* N - ceil(N/3) cancelled + the re-armed ones that had been cancelled */
	{
		int expect = 0;
		for (i = 0; i < N; i++)
			expect += (i % 3 != 0) || (i % 5 == 0);
		EXPECT_EQ(fired, expect);
	}
	nr_loop_free(loop);
}

/* A timer that re-arms itself for "now" runs once per turn, not forever. */
static int spin_count;
static void timer_spin(struct nr_loop *loop, void *arg)
{
	spin_count++;
	EXPECT_EQ(nr_timer_arm(loop, arg, 0), 0);
}

TEST(timer_rearm_zero_runs_once_per_turn)
{
	struct nr_loop *loop;
	struct nr_timer t;

	setup();
	ASSERT_EQ(nr_loop_new(&loop, 1, 2), 0);
	nr_timer_init(&t, timer_spin, &t);
	EXPECT_EQ(nr_timer_arm(loop, &t, 0), 0);
	spin_count = 0;
	EXPECT_EQ(nr_loop_turn(loop, 0), 1);
	EXPECT_EQ(spin_count, 1);
	EXPECT_EQ(nr_loop_turn(loop, 0), 1);
	EXPECT_EQ(spin_count, 2);
	nr_timer_cancel(loop, &t);
	nr_loop_free(loop);
}

/* ---- sockets --------------------------------------------------------------- */
struct pair {
	struct nr_io io[2];
	int calls[2];
	int del_other; /* a callback removes the other io */
	int del_self;  /* a callback removes its own io */
};

static struct pair *the_pair;
static void pair_cb(struct nr_loop *loop, void *arg, unsigned events)
{
	struct pair *p = the_pair;
	int i = (int)(long)arg;

	(void)events;
	p->calls[i]++;
	mark((char)('0' + i));
	if (p->del_other)
		nr_loop_del(loop, &p->io[1 - i]);
	if (p->del_self) {
		nr_loop_del(loop, &p->io[i]);
		nr_loop_del(loop, &p->io[i]); /* twice is fine */
	}
}

static void make_pair(struct nr_loop *loop, struct pair *p)
{
	nr_sock_t l;
	struct nr_addr a = sim_addr("127.0.0.1:2525");
	int i;

	memset(p, 0, sizeof(*p));
	the_pair = p;
	if (nr_plat_tcp_listen(&a, 8, &l) != 0)
		return;
	for (i = 0; i < 2; i++) {
		struct sim_peer *peer = sim_incoming(l, "10.0.0.1:1000");
		nr_sock_t s;
		sim_peer_send_str(peer, "x");
		if (nr_plat_tcp_accept(l, &s, NULL) != 0)
			return;
		p->io[i].sock = s;
		p->io[i].want = NR_POLL_IN;
		p->io[i].fn = pair_cb;
		p->io[i].arg = (void *)(long)i;
		if (nr_loop_add(loop, &p->io[i]) != 0)
			return;
	}
}

TEST(io_callbacks_and_delete_other_inside_callback)
{
	struct nr_loop *loop;
	struct pair p;

	setup();
	ASSERT_EQ(nr_loop_new(&loop, 4, 4), 0);
	make_pair(loop, &p);
	ASSERT_EQ(p.io[1].slot >= 0, 1);
	p.del_other = 1;
	EXPECT_EQ(nr_loop_turn(loop, 0), 1);
	/* io[0] ran first and removed io[1], which must not run. */
	EXPECT_STREQ(trace, "0");
	EXPECT_EQ(p.io[1].slot, -1);
	EXPECT_EQ(p.calls[1], 0);
	nr_loop_del(loop, &p.io[0]);
	nr_loop_free(loop);
}

TEST(io_delete_self_and_slot_reuse_in_same_turn)
{
	struct nr_loop *loop;
	struct pair p;

	setup();
	ASSERT_EQ(nr_loop_new(&loop, 2, 4), 0);
	make_pair(loop, &p);
	p.del_self = 1;
	EXPECT_EQ(nr_loop_turn(loop, 0), 2);
	EXPECT_STREQ(trace, "01");
	EXPECT_EQ(p.io[0].slot, -1);
	EXPECT_EQ(p.io[1].slot, -1);
	/* Full capacity is available again. */
	EXPECT_EQ(nr_loop_add(loop, &p.io[0]), 0);
	EXPECT_EQ(nr_loop_add(loop, &p.io[1]), 0);
	{
		struct nr_io extra = {.sock = 1, .want = NR_POLL_IN, .fn = pair_cb, .slot = -1};
		EXPECT_EQ(nr_loop_add(loop, &extra), NR_ENOMEM);
	}
	nr_loop_free(loop);
}

/* A callback that deletes the other io and registers a new one in the
 * freed slot: the newcomer was not polled and must not be called. */
static struct nr_io newcomer;
static int newcomer_calls;
static void newcomer_cb(struct nr_loop *loop, void *arg, unsigned events)
{
	(void)loop;
	(void)arg;
	(void)events;
	newcomer_calls++;
}

static void replace_cb(struct nr_loop *loop, void *arg, unsigned events)
{
	struct pair *p = the_pair;

	(void)arg;
	(void)events;
	mark('r');
	nr_loop_del(loop, &p->io[1]);
	newcomer.sock = p->io[1].sock;
	newcomer.want = NR_POLL_IN;
	newcomer.fn = newcomer_cb;
	EXPECT_EQ(nr_loop_add(loop, &newcomer), 0);
}

TEST(io_slot_reused_inside_callback_is_not_dispatched)
{
	struct nr_loop *loop;
	struct pair p;

	setup();
	ASSERT_EQ(nr_loop_new(&loop, 2, 4), 0);
	make_pair(loop, &p);
	p.io[0].fn = replace_cb;
	newcomer_calls = 0;
	EXPECT_EQ(nr_loop_turn(loop, 0), 1);
	EXPECT_EQ(newcomer_calls, 0);
	EXPECT_EQ(newcomer.slot, p.io[0].slot == 0 ? 1 : 0);
	/* Next turn the newcomer is polled like anyone else. */
	EXPECT_EQ(nr_loop_turn(loop, 0), 2);
	EXPECT_EQ(newcomer_calls, 1);
	nr_loop_free(loop);
}

TEST(parked_io_is_not_polled)
{
	struct nr_loop *loop;
	struct pair p;

	setup();
	ASSERT_EQ(nr_loop_new(&loop, 2, 4), 0);
	make_pair(loop, &p);
	nr_loop_want(loop, &p.io[0], 0);
	EXPECT_EQ(nr_loop_turn(loop, 0), 1);
	EXPECT_STREQ(trace, "1");
	nr_loop_want(loop, &p.io[0], NR_POLL_IN);
	EXPECT_EQ(nr_loop_turn(loop, 0), 2);
	EXPECT_STREQ(trace, "101");
	nr_loop_free(loop);
}

/* ---- hooks ------------------------------------------------------------------ */
static struct nr_hook hook_a, hook_b;
static int b_runs;
static void hook_cb(struct nr_loop *loop, void *arg)
{
	mark(*(const char *)arg);
	/* Re-queuing from inside a hook defers to the next turn. */
	if (*(const char *)arg == 'B' && ++b_runs == 1)
		nr_loop_at_turn_end(loop, &hook_b);
}

static void timer_queue_hooks(struct nr_loop *loop, void *arg)
{
	(void)arg;
	mark('t');
	nr_loop_at_turn_end(loop, &hook_a);
	nr_loop_at_turn_end(loop, &hook_a);
	nr_loop_at_turn_end(loop, &hook_b);
	nr_loop_at_turn_end(loop, &hook_a);
}

TEST(hooks_run_once_per_turn_after_timers)
{
	struct nr_loop *loop;
	struct nr_timer t1, t2;

	setup();
	ASSERT_EQ(nr_loop_new(&loop, 1, 4), 0);
	hook_a = (struct nr_hook){.fn = hook_cb, .arg = "A"};
	hook_b = (struct nr_hook){.fn = hook_cb, .arg = "B"};
	b_runs = 0;
	nr_timer_init(&t1, timer_queue_hooks, NULL);
	nr_timer_init(&t2, timer_queue_hooks, NULL);
	EXPECT_EQ(nr_timer_arm(loop, &t1, 10), 0);
	EXPECT_EQ(nr_timer_arm(loop, &t2, 10), 0);
	/* Two timers queue the same hooks several times: each runs once. */
	EXPECT_EQ(nr_loop_turn(loop, -1), 4);
	EXPECT_STREQ(trace, "ttAB");
	/* B re-queued itself: it runs at the end of the next turn, without
	 * the loop waiting for anything. */
	EXPECT_EQ(nr_loop_turn(loop, 1000), 1);
	EXPECT_STREQ(trace, "ttABB");
	EXPECT_EQ(nr_loop_turn(loop, 0), 0);
	nr_loop_free(loop);
}

/* A hook may cancel another hook of the same batch before it runs. */
static struct nr_hook hook_c, hook_d;
static void hook_cancel_d(struct nr_loop *loop, void *arg)
{
	(void)arg;
	mark('C');
	nr_loop_hook_cancel(loop, &hook_d);
}

TEST(hook_cancel_inside_batch_and_before_turn)
{
	struct nr_loop *loop;

	setup();
	ASSERT_EQ(nr_loop_new(&loop, 1, 1), 0);
	hook_c = (struct nr_hook){.fn = hook_cancel_d};
	hook_d = (struct nr_hook){.fn = hook_cb, .arg = "D"};
	nr_loop_at_turn_end(loop, &hook_c);
	nr_loop_at_turn_end(loop, &hook_d);
	EXPECT_EQ(nr_loop_turn(loop, 0), 1);
	EXPECT_STREQ(trace, "C");
	EXPECT_EQ(hook_d.queued, 0);
	/* Cancel before the turn; queue again afterwards: runs once. */
	nr_loop_at_turn_end(loop, &hook_d);
	nr_loop_hook_cancel(loop, &hook_d);
	nr_loop_hook_cancel(loop, &hook_d);
	EXPECT_EQ(nr_loop_turn(loop, 0), 0);
	nr_loop_at_turn_end(loop, &hook_d);
	EXPECT_EQ(nr_loop_turn(loop, 0), 1);
	EXPECT_STREQ(trace, "CD");
	nr_loop_free(loop);
}

static void timer_stop(struct nr_loop *loop, void *arg)
{
	(void)arg;
	mark('s');
	nr_loop_stop(loop);
}

TEST(run_until_stop)
{
	struct nr_loop *loop;
	struct nr_timer t;

	setup();
	ASSERT_EQ(nr_loop_new(&loop, 1, 1), 0);
	nr_timer_init(&t, timer_stop, NULL);
	EXPECT_EQ(nr_timer_arm(loop, &t, 3000), 0);
	EXPECT_EQ(nr_loop_run(loop), 0);
	EXPECT_TRUE(nr_loop_stopping(loop));
	EXPECT_STREQ(trace, "s");
	nr_loop_free(loop);
}

TEST(poll_error_is_returned)
{
	struct nr_loop *loop;

	setup();
	ASSERT_EQ(nr_loop_new(&loop, 1, 1), 0);
	sim_fail_next(SIM_OP_POLL, NR_EIO);
	EXPECT_EQ(nr_loop_turn(loop, 0), NR_EIO);
	nr_loop_free(loop);
}

int main(void)
{
	RUN(timers_fire_in_deadline_order);
	RUN(timer_cancel_and_rearm);
	RUN(timer_heap_capacity_is_fixed);
	RUN(timer_heap_many_random);
	RUN(timer_rearm_zero_runs_once_per_turn);
	RUN(io_callbacks_and_delete_other_inside_callback);
	RUN(io_delete_self_and_slot_reuse_in_same_turn);
	RUN(io_slot_reused_inside_callback_is_not_dispatched);
	RUN(parked_io_is_not_polled);
	RUN(hooks_run_once_per_turn_after_timers);
	RUN(hook_cancel_inside_batch_and_before_turn);
	RUN(run_until_stop);
	RUN(poll_error_is_returned);
	return TEST_REPORT();
}
