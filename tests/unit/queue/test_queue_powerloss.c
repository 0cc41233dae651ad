/* test_queue_powerloss.c - cut power at every operation k of several
 * workloads on the NOR emulator (clean and torn cuts), recover, and check
 * the oracle; then the first writes after recovery (every third time with
 * a second cut among them), recover again, and check the oracle again.
 *
 * Built twice: on the emulator as the queue's device, and (NR_TEST_FLASH_HAL,
 * test_queue_powerloss_flash) on the flash backend (store.h: the write
 * combiner, program size = write unit) over the same emulator as a board's
 * flash HAL, where a cut also loses what the combiner held in RAM. */
#include "qtest.h"
#include "sim_flash.h"
#include "store/store.h"
#include "test.h"

#define MAXMSG 64

enum { ST_NONE, ST_TRYING, ST_ACKED };
enum { FIN_NONE, FIN_MARKING, FIN_DONE, FIN_DEAD };

struct model {
	uint8_t st[MAXMSG], fin[MAXMSG];
	uint8_t rcpt_marked[MAXMSG]; /* bit i: mark of rcpt i returned */
	uint8_t rcpt_trying[MAXMSG];
	uint32_t len[MAXMSG], nrcpt[MAXMSG];
	nr_qid_t id[MAXMSG];
};

static struct nr_sim_flash *flash;
static struct nr_bdev bd;
static uint64_t violations; /* of every flash so far */

#ifdef NR_TEST_FLASH_HAL
#define BACKEND "the flash backend"
#else
#define BACKEND "the emulator"
#endif

static void flash_free(void)
{
	struct nr_sim_flash_stats fs;

	if (!flash)
		return;
	nr_sim_flash_stats(flash, &fs);
	violations += fs.violations;
	nr_sim_flash_free(flash);
	flash = NULL;
}

/* The device the queue opens, on flash. Close it while the power is still
 * off after a cut: what a backend buffered in RAM is then lost, as on a
 * board. */
static void close_bd(void)
{
	if (bd.close)
		bd.close(&bd);
	memset(&bd, 0, sizeof(bd));
}

static int open_bd(void)
{
	close_bd();
#ifdef NR_TEST_FLASH_HAL
	{
		struct nr_plat_storage hal;

		nr_sim_flash_hal(flash, &hal);
		return nr_store_flash_open_hal(&bd, &hal, NULL, 0);
	}
#else
	nr_sim_flash_bdev(flash, &bd);
	return 0;
#endif
}

static int m_enqueue(struct nr_queue *q, struct model *m, uint32_t n, uint32_t len, uint32_t nrcpt)
{
	int ret;

	m->st[n] = ST_TRYING;
	m->len[n] = len;
	m->nrcpt[n] = nrcpt;
	ret = qt_enqueue(q, n, len, nrcpt, 301, &m->id[n]);
	if (ret == 0)
		m->st[n] = ST_ACKED;
	return ret;
}

static int m_done(struct nr_queue *q, struct model *m, uint32_t n)
{
	int ret;

	m->fin[n] = FIN_MARKING;
	ret = nr_queue_mark_done(q, m->id[n]);
	if (ret == 0)
		m->fin[n] = FIN_DONE;
	return ret;
}

static int m_dead(struct nr_queue *q, struct model *m, uint32_t n)
{
	int ret;

	m->fin[n] = FIN_MARKING;
	ret = nr_queue_mark_dead(q, m->id[n]);
	if (ret == 0)
		m->fin[n] = FIN_DEAD;
	return ret;
}

static int m_rcpt(struct nr_queue *q, struct model *m, uint32_t n, uint32_t i)
{
	int ret;
	int last = (uint32_t)__builtin_popcount(m->rcpt_marked[n]) + 1 == m->nrcpt[n];

	m->rcpt_trying[n] |= (uint8_t)(1u << i);
	if (last)
		m->fin[n] = FIN_MARKING;
	ret = nr_queue_mark_rcpt(q, m->id[n], i, (i & 1) ? NR_RCPT_FAILED : NR_RCPT_DELIVERED);
	if (ret == 0) {
		m->rcpt_marked[n] |= (uint8_t)(1u << i);
		if (last)
			m->fin[n] = FIN_DONE;
	}
	return ret;
}

/* Two interleaved writers whose bodies cross sector boundaries. */
static int wl_interleave(struct nr_queue *q, struct model *m)
{
	static uint8_t a[3000], b[2000];
	struct nr_qenvelope ea, eb;
	struct nr_qwriter *wa = NULL, *wb = NULL;
	struct qt_commit ca = {0, 0, 0}, cb = {0, 0, 0};
	int ret;
	size_t off;

	qt_env(&ea, 0, 2);
	qt_env(&eb, 1, 1);
	qt_body(a, sizeof(a), 0);
	qt_body(b, sizeof(b), 1);
	m->len[0] = sizeof(a);
	m->nrcpt[0] = 2;
	m->len[1] = sizeof(b);
	m->nrcpt[1] = 1;
	m->st[0] = m->st[1] = ST_TRYING;
	ret = nr_queue_begin(q, &ea, 0, &wa);
	if (ret == 0)
		ret = nr_queue_begin(q, &eb, 0, &wb);
	for (off = 0; ret == 0 && off < sizeof(a); off += 250) {
		ret = nr_queue_append(wa, a + off, 250);
		if (ret == 0 && off < sizeof(b))
			ret = nr_queue_append(wb, b + off, 250);
	}
	if (ret == 0) {
		ret = nr_queue_commit(wb, qt_done, &cb);
		wb = NULL;
		if (ret == 0 && cb.result == 0) {
			m->id[1] = cb.id;
			m->st[1] = ST_ACKED;
		}
		ret = ret ? ret : cb.result;
	}
	if (ret == 0) {
		ret = nr_queue_commit(wa, qt_done, &ca);
		wa = NULL;
		if (ret == 0 && ca.result == 0) {
			m->id[0] = ca.id;
			m->st[0] = ST_ACKED;
		}
		ret = ret ? ret : ca.result;
	}
	nr_queue_abort(wa);
	nr_queue_abort(wb);
	if (ret == 0)
		ret = m_enqueue(q, m, 2, 700, 1);
	if (ret == 0)
		ret = m_done(q, m, 1);
	return ret;
}

/* Enqueue and deliver until the ring has wrapped twice. */
static int wl_wrap(struct nr_queue *q, struct model *m)
{
	uint32_t n;
	int ret = 0;

	for (n = 0; n < 20 && ret == 0; n++) {
		ret = m_enqueue(q, m, n, 300 + 37 * n, 1);
		if (ret == 0 && n >= 2)
			ret = m_done(q, m, n - 2);
	}
	return ret;
}

/* Message 0 stays pending (long deferred) while others pass: the ring
 * must copy it forward to reuse its sector. */
static int wl_compact(struct nr_queue *q, struct model *m)
{
	uint32_t n;
	int ret = m_enqueue(q, m, 0, 150, 2);

	for (n = 1; n < 24 && ret == 0; n++) {
		ret = m_enqueue(q, m, n, 400, 1);
		if (ret == 0)
			ret = m_done(q, m, n);
	}
	return ret;
}

/* Per-recipient marks, dead letters. */
static int wl_marks(struct nr_queue *q, struct model *m)
{
	uint32_t n;
	int ret = 0;

	for (n = 0; n < 4 && ret == 0; n++)
		ret = m_enqueue(q, m, n, 200 + 400 * n, 3);
	if (ret == 0)
		ret = m_rcpt(q, m, 0, 1);
	if (ret == 0)
		ret = m_rcpt(q, m, 1, 0);
	if (ret == 0)
		ret = m_rcpt(q, m, 1, 2);
	if (ret == 0)
		ret = m_rcpt(q, m, 1, 1);
	if (ret == 0)
		ret = m_dead(q, m, 2);
	if (ret == 0)
		ret = m_rcpt(q, m, 3, 2);
	return ret;
}

struct seen {
	nr_qid_t ids[256];
	int n, order_bad;
};

static int collect(void *arg, const struct nr_qinfo *info)
{
	struct seen *s = arg;

	if (s->n > 0 && s->ids[s->n - 1] >= info->id)
		s->order_bad = 1;
	if (s->n < 256)
		s->ids[s->n++] = info->id;
	return 0;
}

static int find_model(const struct model *m, nr_qid_t id)
{
	int n;

	for (n = 0; n < MAXMSG; n++) {
		if (m->st[n] != ST_NONE && m->id[n] == id)
			return n;
	}
	return -1;
}

/* The oracle; returns a description of the first violation or NULL. */
static const char *oracle(struct nr_queue *q, struct model *m)
{
	struct seen s = {{0}, 0, 0};
	struct nr_qinfo info;
	int n, i, k;

	if (nr_queue_foreach(q, collect, &s))
		return "foreach";
	if (s.order_bad)
		return "sequence order";
	for (n = 0; n < MAXMSG; n++) {
		int present;
		if (m->st[n] != ST_ACKED)
			continue;
		present = nr_queue_info(q, m->id[n], &info) == 0;
		if (m->fin[n] == FIN_DONE && present && info.state == NR_MSG_PENDING)
			return "done message back as pending";
		if (m->fin[n] == FIN_DEAD && present && info.state == NR_MSG_PENDING)
			return "dead message back as pending";
		if (m->fin[n] != FIN_NONE)
			continue;
		if (!present || info.state != NR_MSG_PENDING)
			return "acknowledged message missing";
		if (qt_check(q, m->id[n], (uint32_t)n, m->len[n], m->nrcpt[n]))
			return "acknowledged message differs";
		for (i = 0; i < (int)m->nrcpt[n]; i++) {
			enum nr_rcpt_state st;
			if (!nr_queue_rcpt(q, m->id[n], (size_t)i, &st))
				return "rcpt";
			if ((m->rcpt_marked[n] >> i & 1) && st == NR_RCPT_PENDING)
				return "recipient mark lost";
			if (!(m->rcpt_trying[n] >> i & 1) && st != NR_RCPT_PENDING)
				return "recipient marked by itself";
		}
	}
	for (k = 0; k < s.n; k++) {
		n = find_model(m, s.ids[k]);
		if (nr_queue_info(q, s.ids[k], &info))
			continue;
		/* nothing rots here: a damaged message is one the queue made */
		if (info.state == NR_MSG_QUARANTINE)
			return n < 0 ? "unknown message surfaced, quarantined"
				     : "message quarantined";
		if (info.state != NR_MSG_PENDING)
			continue;
		if (n < 0) {
			/* a commit cut before it returned: its id never reached
			 * the model, its bytes must still be exact */
			for (n = 0; n < MAXMSG; n++) {
				if (m->st[n] == ST_TRYING &&
				    qt_check(q, s.ids[k], (uint32_t)n, m->len[n], m->nrcpt[n]) == 0)
					break;
			}
			if (n == MAXMSG)
				return "unknown message surfaced";
			continue;
		}
		if (m->st[n] == ST_TRYING &&
		    qt_check(q, s.ids[k], (uint32_t)n, m->len[n], m->nrcpt[n]))
			return "unacknowledged message surfaced corrupt";
	}
	return NULL;
}

static int deliver_all(void *arg, const struct nr_qinfo *info)
{
	nr_qid_t *ids = arg;
	size_t i;

	for (i = 0; i < 255 && ids[i]; i++)
		;
	ids[i] = info->state == NR_MSG_PENDING ? info->id : 0;
	return 0;
}

/* After everything is delivered, only the head sector may be in use, and
 * the ring takes a full load again. */
static const char *no_leak(struct nr_queue *q)
{
	nr_qid_t ids[256] = {0}, id;
	struct nr_qstats st;
	size_t i;
	uint32_t n;

	if (nr_queue_foreach(q, deliver_all, ids))
		return "foreach";
	for (i = 0; i < 256 && ids[i]; i++) {
		if (nr_queue_mark_done(q, ids[i]))
			return "mark done";
	}
	/* the head moves on with new writes; the used space must stay small */
	for (n = 0; n < 30; n++) {
		if (qt_enqueue(q, 1000 + n, 500, 1, 500, &id))
			return "space leaked (enqueue failed)";
		if (nr_queue_mark_done(q, id))
			return "mark done";
	}
	nr_queue_stats(q, &st);
	if (st.used > 2ull * bd.sector_size)
		return "space leaked (used)";
	return NULL;
}

#define MODE_NAME(m) ((m) == NR_SIM_CUT_TORN ? "torn" : (m) == NR_SIM_CUT_PAGES ? "pages" : "clean")

struct workload {
	const char *name;
	int (*fn)(struct nr_queue *q, struct model *m);
	uint32_t S, C, P;
};

static int run_once(const struct workload *w, struct model *m, uint64_t cut, enum nr_sim_cut mode,
		    uint32_t seed)
{
	struct nr_queue *q = NULL;
	int ret;

	close_bd();
	flash_free();
	if (nr_sim_flash_new(&flash, w->S, w->C, w->P))
		return -100;
	if (open_bd())
		return -102;
	memset(m, 0, sizeof(*m));
	if (nr_queue_open(&q, &bd, NULL))
		return -101;
	nr_sim_flash_reset_ops(flash);
	nr_sim_flash_cut_at(flash, cut, mode, seed);
	ret = w->fn(q, m);
	nr_queue_close(q);
	close_bd(); /* its last writes count as operations too */
	return ret;
}

static void powerloss(const struct workload *w, enum nr_sim_cut mode)
{
	struct model m;
	struct nr_queue *q;
	uint64_t N, k, ops;
	const char *why;
	int failures = 0;

	ASSERT_EQ(run_once(w, &m, 0, mode, 1), 0);
	N = nr_sim_flash_ops(flash);
	ASSERT_TRUE(N > 10);
	for (k = 1; k <= N && failures < 3; k++) {
		run_once(w, &m, k, mode, (uint32_t)k);
		if (!nr_sim_flash_is_off(flash)) {
			NR_TEST_FAIL_("%s: cut %llu never happened", w->name,
				      (unsigned long long)k);
			failures++;
			continue;
		}
		nr_sim_flash_power_on(flash);
		nr_sim_flash_reset_ops(flash);
		q = NULL;
		if (open_bd() || nr_queue_open(&q, &bd, NULL)) {
			NR_TEST_FAIL_("%s cut %llu: recovery failed", w->name,
				      (unsigned long long)k);
			failures++;
			continue;
		}
		ops = nr_sim_flash_ops(flash);
		why = ops ? "recovery wrote to the device" : oracle(q, &m);
		/* The first writes after recovery, then recovery again: every
		 * third time with a second cut among them. Whatever the first cut
		 * left (a torn record at the head's end) must stay harmless once
		 * the ring has written past it. */
		if (!why) {
			nr_sim_flash_reset_ops(flash);
			if (k % 3 == 0)
				nr_sim_flash_cut_at(flash, 1 + k % 5,
						    mode == NR_SIM_CUT_PAGES ? mode
									     : NR_SIM_CUT_TORN,
						    (uint32_t)k * 7);
			(void)m_enqueue(q, &m, 60, 900, 1);
			nr_queue_close(q);
			q = NULL;
			close_bd();
			nr_sim_flash_power_on(flash);
			if (open_bd() || nr_queue_open(&q, &bd, NULL))
				why = "second recovery failed";
			else
				why = oracle(q, &m);
		}
		if (!why)
			why = no_leak(q);
		if (why) {
			NR_TEST_FAIL_("%s (%s) cut at op %llu/%llu: %s", w->name, MODE_NAME(mode),
				      (unsigned long long)k, (unsigned long long)N, why);
			failures++;
		}
		nr_queue_close(q);
	}
	close_bd();
	flash_free();
	EXPECT_EQ(violations, 0u); /* NOR rules and program units kept, every run */
	printf("%s (%s) on %s: %llu cut points\n", w->name, MODE_NAME(mode), BACKEND,
	       (unsigned long long)N);
}

static const struct workload wl[] = {
    {"interleave", wl_interleave, 1024, 12, 4},
    {"wrap", wl_wrap, 1024, 8, 1},
    {"compact", wl_compact, 1024, 8, 16},
    {"marks", wl_marks, 2048, 8, 4},
};

TEST(powerloss_clean)
{
	size_t i;

	for (i = 0; i < NR_ARRAY_LEN(wl); i++)
		powerloss(&wl[i], NR_SIM_CUT_CLEAN);
}

TEST(powerloss_torn)
{
	size_t i;

	for (i = 0; i < NR_ARRAY_LEN(wl); i++)
		powerloss(&wl[i], NR_SIM_CUT_TORN);
}

/* Erases and programs torn at page boundaries, the rest of the sector left
 * as it was (a process killed in the middle of the file backend's erase). */
TEST(powerloss_pages)
{
	size_t i;

	for (i = 0; i < NR_ARRAY_LEN(wl); i++)
		powerloss(&wl[i], NR_SIM_CUT_PAGES);
}

int main(void)
{
	RUN(powerloss_clean);
	RUN(powerloss_torn);
	RUN(powerloss_pages);
	return TEST_REPORT();
}
