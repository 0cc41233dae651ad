/* test_queue_file.c - the queue on the Linux file backend: round trip, and
 * a child killed with SIGKILL at random points while it commits (200
 * rounds), each followed by recovery and the oracle.
 *
 * Built a second time (NR_TEST_HOST_FLASH, test_queue_host_flash) on the
 * flash backend over the host RTOS board's NOR flash file
 * (platform/rtos/host/host_flash.c): the marks and the SIGKILL rounds,
 * which must behave as resets of a board. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "qtest.h"
#include "store/store.h"
#include "test.h"

#define QSIZE (1024 * 1024)
#define QSECTOR 16384
#define ROUNDS 200
#define MAXN 20000

static char path[256];

#ifdef NR_TEST_HOST_FLASH
#include "host_flash.h"

static int open_dev(struct nr_bdev *bd)
{
	struct nr_plat_storage hal;
	int ret = nr_host_flash_open(path, QSIZE, QSECTOR, 16, &hal);

	return ret ? ret : nr_store_flash_open_hal(bd, &hal, NULL, 0);
}
#else
static int open_dev(struct nr_bdev *bd)
{
	return nr_store_file_open(bd, path, QSIZE, QSECTOR);
}
#endif

static int open_q(struct nr_bdev *bd, struct nr_queue **q)
{
	int ret = open_dev(bd);

	if (ret)
		return ret;
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
	return 100 + (n * 7919u) % 30000;
}

TEST(file_roundtrip)
{
	struct nr_bdev bd;
	struct nr_queue *q = NULL;
	struct nr_qstats st;
	nr_qid_t id[3];
	uint32_t n;

	unlink(path);
	ASSERT_EQ(open_q(&bd, &q), 0);
	for (n = 0; n < 3; n++)
		ASSERT_EQ(qt_enqueue(q, n, len_of(n), 2, 1000, &id[n]), 0);
	close_q(&bd, q);
	ASSERT_EQ(open_q(&bd, &q), 0);
	for (n = 0; n < 3; n++)
		EXPECT_EQ(qt_check(q, id[n], n, len_of(n), 2), 0);
	nr_queue_stats(q, &st);
	EXPECT_STREQ(st.backend, "file");
	EXPECT_EQ(st.persistent, 1);
	close_q(&bd, q);
	/* another size is refused, never reinterpreted */
	EXPECT_EQ(nr_store_file_open(&bd, path, QSIZE * 2, QSECTOR), NR_EINVAL);
	EXPECT_EQ(nr_store_mtd_open(&bd, "no-such-partition-name", 0, NULL, 0),
		  NR_ENABLED(CONFIG_NR_STORE_MTD) ? NR_ENOTFOUND : NR_ENOTSUP);
}

/* The file backend overwrites rather than ANDs, so each mark must carry
 * the bits of the earlier ones (the queue keeps them in RAM): four
 * recipients share one state byte, marked one by one, across reopens. */
TEST(file_marks_keep_earlier_marks)
{
	struct nr_bdev bd;
	struct nr_queue *q = NULL;
	enum nr_rcpt_state st;
	nr_qid_t id;

	unlink(path);
	ASSERT_EQ(open_q(&bd, &q), 0);
	ASSERT_EQ(qt_enqueue(q, 1, 500, 4, 1000, &id), 0);
	EXPECT_EQ(nr_queue_mark_rcpt(q, id, 0, NR_RCPT_DELIVERED), 0);
	EXPECT_EQ(nr_queue_mark_rcpt(q, id, 2, NR_RCPT_FAILED), 0);
	close_q(&bd, q);
	ASSERT_EQ(open_q(&bd, &q), 0);
	EXPECT_EQ(nr_queue_mark_rcpt(q, id, 3, NR_RCPT_DELIVERED), 0);
	close_q(&bd, q);
	ASSERT_EQ(open_q(&bd, &q), 0);
	ASSERT_TRUE(nr_queue_rcpt(q, id, 0, &st) != NULL);
	EXPECT_EQ(st, NR_RCPT_DELIVERED);
	ASSERT_TRUE(nr_queue_rcpt(q, id, 1, &st) != NULL);
	EXPECT_EQ(st, NR_RCPT_PENDING);
	ASSERT_TRUE(nr_queue_rcpt(q, id, 2, &st) != NULL);
	EXPECT_EQ(st, NR_RCPT_FAILED);
	ASSERT_TRUE(nr_queue_rcpt(q, id, 3, &st) != NULL);
	EXPECT_EQ(st, NR_RCPT_DELIVERED);
	/* the last one finishes it: gone after a reopen */
	EXPECT_EQ(nr_queue_mark_rcpt(q, id, 1, NR_RCPT_DELIVERED), 0);
	close_q(&bd, q);
	ASSERT_EQ(open_q(&bd, &q), 0);
	EXPECT_TRUE(nr_queue_rcpt(q, id, 0, &st) == NULL);
	close_q(&bd, q);
}

/* The file backend gathers programs that continue one another; every other
 * operation must still see them in order: a read, a program elsewhere
 * (clearing bits in a buffered record), an erase, a sync, close. */
TEST(file_write_buffer_keeps_order)
{
	struct nr_bdev bd;
	static uint8_t want[3 * QSECTOR], got[3 * QSECTOR], big[40000];
	unlink(path);
	ASSERT_EQ(nr_store_file_open(&bd, path, QSIZE, QSECTOR), 0);
	memset(want, 0xFF, sizeof(want));
	for (uint32_t i = 0; i < 300; i++)
		want[i] = (uint8_t)(i * 7 + 1);
	ASSERT_EQ(bd.prog(&bd, 0, want, 100), 0);
	ASSERT_EQ(bd.prog(&bd, 100, want + 100, 100), 0); /* continues: buffered */
	ASSERT_EQ(bd.read(&bd, 0, got, 200), 0);          /* a read sees it */
	EXPECT_EQ(memcmp(got, want, 200) == 0, 1);
	ASSERT_EQ(bd.prog(&bd, 200, want + 200, 100), 0);
	want[50] &= 0x0F; /* clear bits inside the buffered bytes */
	ASSERT_EQ(bd.prog(&bd, 50, want + 50, 1), 0);
	ASSERT_EQ(bd.prog(&bd, 300, "\x11\x22", 2), 0);
	want[300] = 0x11, want[301] = 0x22;
	ASSERT_EQ(bd.read(&bd, 0, got, 400), 0);
	EXPECT_EQ(memcmp(got, want, 400) == 0, 1);
	/* an erase after a buffered program wins */
	ASSERT_EQ(bd.prog(&bd, QSECTOR, want, 64), 0);
	ASSERT_EQ(bd.erase(&bd, 1), 0);
	/* one program larger than the buffer, then one that continues it */
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i % 251);
	ASSERT_EQ(bd.prog(&bd, 2 * QSECTOR - 1000, big, sizeof(big)), 0);
	ASSERT_EQ(bd.prog(&bd, 2 * QSECTOR - 1000 + sizeof(big), "\x33", 1), 0);
	memcpy(want + 2 * QSECTOR - 1000, big, 1000);
	ASSERT_EQ(bd.sync(&bd), 0);
	bd.prog(&bd, 5 * QSECTOR + 4000, "\x44", 1); /* buffered, then closed unsynced */
	bd.close(&bd);
	ASSERT_EQ(nr_store_file_open(&bd, path, QSIZE, QSECTOR), 0);
	ASSERT_EQ(bd.read(&bd, 0, got, sizeof(got)), 0);
	EXPECT_EQ(memcmp(got, want, 2 * QSECTOR) == 0, 1); /* sector 1 erased again */
	ASSERT_EQ(bd.read(&bd, 2 * QSECTOR - 1000, big, sizeof(big)), 0);
	for (size_t i = 0; i < sizeof(big); i++)
		if (big[i] != (uint8_t)(i % 251))
			NR_TEST_FAIL_("large program: byte %zu", i);
	ASSERT_EQ(bd.read(&bd, 2 * QSECTOR - 1000 + sizeof(big), got, 1), 0);
	EXPECT_EQ(got[0], 0x33);
	ASSERT_EQ(bd.read(&bd, 5 * QSECTOR + 4000, got, 1), 0);
	EXPECT_EQ(got[0], 0x44);
	bd.close(&bd);
	unlink(path);
}

/* The daemon picks the sector size of a new file queue by its size but
 * must keep the one an existing file was formatted with. */
TEST(probe_finds_the_formatted_sector_size)
{
	struct nr_bdev bd;
	struct nr_queue *q = NULL;
	uint32_t size = 0, n;
	nr_qid_t id;

	unlink(path);
	ASSERT_EQ(nr_store_file_open(&bd, path, QSIZE, 4096), 0);
	EXPECT_EQ(nr_queue_probe_sector_size(&bd, &size), NR_ENOTFOUND); /* all erased */
	bd.close(&bd);
	ASSERT_EQ(open_q(&bd, &q), 0); /* formats with QSECTOR */
	for (n = 0; n < 3; n++)
		ASSERT_EQ(qt_enqueue(q, n, len_of(n), 1, 1000, &id), 0);
	close_q(&bd, q);

	ASSERT_EQ(nr_store_file_open(&bd, path, QSIZE, 4096), 0);
	EXPECT_EQ(nr_queue_probe_sector_size(&bd, &size), 0);
	EXPECT_EQ(size, QSECTOR);
	/* the wrong geometry is refused by recovery, never reformatted */
	EXPECT_EQ(nr_queue_open(&q, &bd, NULL), NR_EINVAL);
	bd.close(&bd);

	/* with sector 0 erased the next header, 16 KiB further, still tells */
	ASSERT_EQ(nr_store_file_open(&bd, path, QSIZE, QSECTOR), 0);
	ASSERT_EQ(bd.erase(&bd, 0), 0);
	ASSERT_EQ(bd.sync(&bd), 0);
	bd.close(&bd);
	ASSERT_EQ(nr_store_file_open(&bd, path, QSIZE, 4096), 0);
	size = 0;
	EXPECT_EQ(nr_queue_probe_sector_size(&bd, &size), 0);
	EXPECT_EQ(size, QSECTOR);
	bd.close(&bd);
}

struct report {
	uint32_t n;
	uint32_t done; /* 1: mark done returned for n */
	nr_qid_t id;
};

static void child(int fd, uint32_t n0)
{
	struct nr_bdev bd;
	struct nr_queue *q = NULL;
	struct report r;
	nr_qid_t ids[64];
	uint32_t n;

	if (open_q(&bd, &q))
		_exit(2);
	for (n = n0; n < n0 + 64; n++) {
		if (qt_enqueue(q, n, len_of(n), 1 + n % 3, 4096, &ids[n - n0]))
			_exit(3);
		r.n = n;
		r.done = 0;
		r.id = ids[n - n0];
		if (write(fd, &r, sizeof(r)) != sizeof(r))
			_exit(4);
		if (n >= n0 + 2 && (n & 1)) {
			r.n = n - 2;
			r.done = 3; /* marking: either outcome is fine */
			r.id = ids[n - 2 - n0];
			if (write(fd, &r, sizeof(r)) != sizeof(r))
				_exit(4);
			if (nr_queue_mark_done(q, ids[n - 2 - n0]))
				_exit(5);
			r.n = n - 2;
			r.done = 1;
			r.id = ids[n - 2 - n0];
			if (write(fd, &r, sizeof(r)) != sizeof(r))
				_exit(4);
		}
	}
	_exit(0);
}

static nr_qid_t model_id[MAXN];
static uint8_t model_st[MAXN]; /* 1 acked, 2 done, 3 being marked done */

struct unknown {
	uint32_t n;           /* listed messages the child never reported */
	uint32_t quarantined; /* listed as damaged (nothing rots here) */
};

static int check_entry(void *arg, const struct nr_qinfo *info)
{
	struct unknown *u = arg;
	uint32_t n;

	if (info->state == NR_MSG_QUARANTINE)
		u->quarantined++;
	for (n = 0; n < MAXN; n++) {
		if (model_st[n] && model_id[n] == info->id)
			return 0;
	}
	/* the commit in progress at the kill: its bytes must be exact */
	u->n++;
	return 0;
}

struct collect {
	nr_qid_t ids[256];
	size_t n;
};

static int collect_cb(void *arg, const struct nr_qinfo *info)
{
	struct collect *c = arg;

	if (c->n < 256 && info->state == NR_MSG_PENDING)
		c->ids[c->n++] = info->id;
	return 0;
}

TEST(sigkill_rounds)
{
	uint32_t n0 = 0, round, n, unknown_total = 0;
	unsigned seed =
	    getenv("NR_SEED") ? (unsigned)atoi(getenv("NR_SEED")) : (unsigned)time(NULL);
	int failures = 0;

	printf("sigkill seed %u\n", seed);
	srand(seed);
	unlink(path);
#ifdef NR_TEST_HOST_FLASH
	/* The board's chip exists before its first reset: made here, not by
	 * the first child. A kill while the host board formats a new flash
	 * file leaves it short, and a short file is refused as a flash of
	 * another size (host_flash.c), so every round failed to recover. */
	{
		struct nr_plat_storage hal;

		ASSERT_EQ(nr_host_flash_open(path, QSIZE, QSECTOR, 16, &hal), 0);
		hal.close(hal.ctx);
	}
#endif
	for (round = 0; round < ROUNDS && failures < 3; round++) {
		int fds[2], status;
		pid_t pid;
		struct report r;
		struct nr_bdev bd;
		struct nr_queue *q = NULL;
		struct collect c = {{0}, 0};
		uint32_t want = (uint32_t)rand() % 12, got = 0;
		struct unknown bad = {0, 0};
		size_t i;

		ASSERT_EQ(pipe(fds), 0);
		pid = fork();
		ASSERT_TRUE(pid >= 0);
		if (pid == 0) {
			close(fds[0]);
			child(fds[1], n0);
		}
		close(fds[1]);
		while (got < want && read(fds[0], &r, sizeof(r)) == sizeof(r)) {
			if (r.n < MAXN) {
				model_id[r.n] = r.id;
				model_st[r.n] = r.done == 3 ? 3 : r.done ? 2 : 1;
			}
			got++;
		}
		if (rand() & 1)
			usleep((useconds_t)(rand() % 3000));
		kill(pid, SIGKILL);
		/* reports written before the kill still count */
		while (read(fds[0], &r, sizeof(r)) == sizeof(r)) {
			if (r.n < MAXN) {
				model_id[r.n] = r.id;
				model_st[r.n] = r.done == 3 ? 3 : r.done ? 2 : 1;
			}
		}
		close(fds[0]);
		waitpid(pid, &status, 0);
		if (open_q(&bd, &q)) {
			NR_TEST_FAIL_("round %u: recovery failed", round);
			failures++;
			continue;
		}
		for (n = n0; n < n0 + 64 && n < MAXN; n++) {
			struct nr_qinfo info;
			int rc = model_st[n] == 1
				     ? qt_check(q, model_id[n], n, len_of(n), 1 + n % 3)
				     : 0;
			if (rc) {
				printf("rc %d id %llu\n", rc, (unsigned long long)model_id[n]);
				NR_TEST_FAIL_("round %u: acknowledged message %u lost or differs",
					      round, n);
				failures++;
			}
			if (model_st[n] == 2 && nr_queue_info(q, model_id[n], &info) == 0 &&
			    info.state == NR_MSG_PENDING) {
				NR_TEST_FAIL_("round %u: done message %u is back", round, n);
				failures++;
			}
		}
		(void)nr_queue_foreach(q, check_entry, &bad);
		if (bad.n > 1 || bad.quarantined) {
			NR_TEST_FAIL_("round %u: %u unknown messages surfaced, %u quarantined",
				      round, bad.n, bad.quarantined);
			failures++;
		}
		unknown_total += bad.n;
		/* deliver everything so the ring keeps turning */
		(void)nr_queue_foreach(q, collect_cb, &c);
		for (i = 0; i < c.n; i++) {
			if (nr_queue_mark_done(q, c.ids[i])) {
				NR_TEST_FAIL_("round %u: mark done failed", round);
				failures++;
			}
		}
		close_q(&bd, q);
		for (n = n0; n < n0 + 64 && n < MAXN; n++)
			model_st[n] = model_st[n] ? 2 : 0;
		n0 += 64;
	}
	printf("%u rounds; %u commits in flight at the kill surfaced after recovery\n", round,
	       unknown_total);
}

int main(void)
{
	const char *dir = getenv("TMPDIR");

	snprintf(path, sizeof(path), "%s/nr_queue_test.%ld", dir ? dir : "/tmp", (long)getpid());
#ifndef NR_TEST_HOST_FLASH
	RUN(file_roundtrip);
#endif
	RUN(file_marks_keep_earlier_marks);
#ifndef NR_TEST_HOST_FLASH
	RUN(file_write_buffer_keeps_order);
	RUN(probe_finds_the_formatted_sector_size);
#endif
	RUN(sigkill_rounds);
	unlink(path);
	return TEST_REPORT();
}
