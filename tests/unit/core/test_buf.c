/* test_buf.c - buffers, pools and log helpers (pure code, sim platform). */
#include <string.h>

#include "core/buf.h"
#include "core/log.h"
#include "core/pool.h"
#include "sim.h"
#include "test.h"

/* Storage with guard bytes on both sides: a write past cap shows up. */
struct guarded {
	uint8_t before[16];
	uint8_t data[16];
	uint8_t after[16];
};

static void guard_init(struct guarded *g)
{
	memset(g, 0xA5, sizeof(*g));
}

static int guards_intact(const struct guarded *g)
{
	size_t i;

	for (i = 0; i < 16; i++) {
		if (g->before[i] != 0xA5 || g->after[i] != 0xA5)
			return 0;
	}
	return 1;
}

TEST(buf_put_respects_cap)
{
	struct guarded g;
	struct nr_buf b;

	guard_init(&g);
	nr_buf_init(&b, g.data, sizeof(g.data));
	EXPECT_EQ(nr_buf_put(&b, "0123456789", 10), 0);
	EXPECT_EQ(nr_buf_put(&b, "abcdefg", 7), NR_EFULL);
	EXPECT_EQ(nr_buf_len(&b), 10); /* nothing of the failed put */
	EXPECT_EQ(nr_buf_puts(&b, "abcdef"), 0);
	EXPECT_EQ(nr_buf_len(&b), 16);
	EXPECT_EQ(nr_buf_room(&b), 0);
	EXPECT_EQ(nr_buf_put(&b, "x", 1), NR_EFULL);
	EXPECT_MEMEQ(nr_buf_head(&b), "0123456789abcdef", 16);
	EXPECT_TRUE(guards_intact(&g));
}

TEST(buf_consume_compact_find)
{
	struct guarded g;
	struct nr_buf b;

	guard_init(&g);
	nr_buf_init(&b, g.data, sizeof(g.data));
	EXPECT_EQ(nr_buf_puts(&b, "HELO a\r\nQUIT\r\n"), 0);
	EXPECT_EQ(nr_buf_find(&b, '\n'), 7);
	nr_buf_consume(&b, 8);
	EXPECT_EQ(nr_buf_len(&b), 6);
	EXPECT_EQ(nr_buf_find(&b, '\n'), 5);
	EXPECT_EQ(nr_buf_find(&b, 'z'), -1);
	/* room() is only what is left after wpos; put compacts when needed. */
	EXPECT_EQ(nr_buf_room(&b), 2);
	EXPECT_EQ(nr_buf_put(&b, "0123456789", 10), 0);
	EXPECT_EQ(nr_buf_len(&b), 16);
	EXPECT_MEMEQ(nr_buf_head(&b), "QUIT\r\n0123456789", 16);
	nr_buf_consume(&b, 16);
	EXPECT_EQ(nr_buf_len(&b), 0);
	EXPECT_EQ(nr_buf_room(&b), 16); /* empty means back at the front */
	EXPECT_EQ(nr_buf_find(&b, 'Q'), -1);
	EXPECT_TRUE(guards_intact(&g));
}

TEST(buf_printf_overflow_leaves_nothing)
{
	struct guarded g;
	struct nr_buf b;

	guard_init(&g);
	nr_buf_init(&b, g.data, sizeof(g.data));
	EXPECT_EQ(nr_buf_printf(&b, "%d %s", 250, "OK"), 0);
	EXPECT_EQ(nr_buf_len(&b), 6);
	EXPECT_MEMEQ(nr_buf_head(&b), "250 OK", 6);
	/* 12 more bytes would need 18 > 16: refused, buffer unchanged. */
	EXPECT_EQ(nr_buf_printf(&b, "%s", "0123456789AB"), NR_EFULL);
	EXPECT_EQ(nr_buf_len(&b), 6);
	EXPECT_MEMEQ(nr_buf_head(&b), "250 OK", 6);
	/* A huge expansion fails cleanly too. */
	EXPECT_EQ(nr_buf_printf(&b, "%1000d", 1), NR_EFULL);
	EXPECT_EQ(nr_buf_len(&b), 6);
	/* 9 bytes of text need 10 bytes of room (vsnprintf's NUL). */
	EXPECT_EQ(nr_buf_printf(&b, "%s", "123456789"), 0);
	EXPECT_EQ(nr_buf_len(&b), 15);
	EXPECT_MEMEQ(nr_buf_head(&b), "250 OK123456789", 15);
	EXPECT_TRUE(guards_intact(&g));
}

TEST(buf_printf_compacts)
{
	struct guarded g;
	struct nr_buf b;

	guard_init(&g);
	nr_buf_init(&b, g.data, sizeof(g.data));
	EXPECT_EQ(nr_buf_puts(&b, "0123456789"), 0);
	nr_buf_consume(&b, 8);
	EXPECT_EQ(nr_buf_printf(&b, "%s", "abcdefghij"), 0);
	EXPECT_EQ(nr_buf_len(&b), 12);
	EXPECT_MEMEQ(nr_buf_head(&b), "89abcdefghij", 12);
	EXPECT_TRUE(guards_intact(&g));
}

TEST(buf_commit_after_direct_read)
{
	struct nr_buf b;

	EXPECT_EQ(nr_buf_alloc(&b, 8), 0);
	memcpy(nr_buf_tail(&b), "abc", 3);
	nr_buf_commit(&b, 3);
	EXPECT_EQ(nr_buf_len(&b), 3);
	EXPECT_MEMEQ(nr_buf_head(&b), "abc", 3);
	nr_buf_free(&b);
	nr_buf_free(&b); /* twice is safe */
	EXPECT_EQ(b.cap, 0);
}

/* ---- pools --------------------------------------------------------------------- */
struct thing {
	char name[24];
	long n;
};

TEST(pool_exhaustion_and_reuse)
{
	struct nr_pool p;
	struct thing *t[4];
	size_t i;

	ASSERT_EQ(nr_pool_init(&p, "things", sizeof(struct thing), 3), 0);
	for (i = 0; i < 3; i++) {
		t[i] = nr_pool_get(&p);
		ASSERT_TRUE(t[i] != NULL);
		EXPECT_EQ(t[i]->n, 0);
		t[i]->n = (long)i + 1;
		strcpy(t[i]->name, "dirty");
	}
	EXPECT_TRUE(t[0] != t[1] && t[1] != t[2] && t[0] != t[2]);
	EXPECT_TRUE(nr_pool_get(&p) == NULL);
	EXPECT_EQ(p.used, 3);
	EXPECT_EQ(p.high_water, 3);
	/* Objects do not overlap. */
	EXPECT_EQ(t[0]->n + t[1]->n + t[2]->n, 6);

	nr_pool_put(&p, t[1]);
	nr_pool_put(&p, NULL);
	EXPECT_EQ(p.used, 2);
	t[3] = nr_pool_get(&p);
	EXPECT_TRUE(t[3] == t[1]); /* the freed slot, handed out zeroed */
	EXPECT_EQ(t[3]->n, 0);
	EXPECT_EQ(t[3]->name[0], 0);
	EXPECT_TRUE(nr_pool_get(&p) == NULL);
	EXPECT_EQ(p.high_water, 3);
	for (i = 0; i < 3; i++)
		nr_pool_put(&p, i == 1 ? t[3] : t[i]);
	EXPECT_EQ(p.used, 0);
	nr_pool_destroy(&p);
}

/* Untouched slots stay untouched: the first use goes in order through the
 * block, and a slot given back is used again before a fresh one. */
TEST(pool_hands_out_fresh_slots_in_order_and_reuses_first)
{
	struct nr_pool p;
	unsigned char *a, *b, *c;

	ASSERT_EQ(nr_pool_init(&p, "things", sizeof(struct thing), 3), 0);
	EXPECT_EQ(p.fresh, 0);
	a = nr_pool_get(&p);
	ASSERT_TRUE(a == p.mem);
	EXPECT_EQ(p.fresh, 1);
	nr_pool_put(&p, a);
	b = nr_pool_get(&p);
	EXPECT_TRUE(b == a); /* the given-back slot, not a fresh one */
	EXPECT_EQ(p.fresh, 1);
	c = nr_pool_get(&p);
	EXPECT_TRUE(c > a && (size_t)(c - a) >= sizeof(struct thing));
	EXPECT_EQ(p.fresh, 2);
	nr_pool_destroy(&p);
}

TEST(pool_tiny_objects_are_aligned)
{
	struct nr_pool p;
	void *a, *b;

	ASSERT_EQ(nr_pool_init(&p, "bytes", 1, 2), 0);
	a = nr_pool_get(&p);
	b = nr_pool_get(&p);
	ASSERT_TRUE(a && b);
	EXPECT_EQ((uintptr_t)a % _Alignof(max_align_t), 0);
	EXPECT_EQ((uintptr_t)b % _Alignof(max_align_t), 0);
	nr_pool_destroy(&p);
}

/* ---- log ------------------------------------------------------------------------ */
TEST(log_escape_control_bytes)
{
	char out[64];
	static const char in[] = "MAIL FROM:<a>\r\nRCPT\0x\t\\\x1b\x7f\xff";

	nr_log_escape(out, sizeof(out), in, sizeof(in) - 1);
	EXPECT_STREQ(out, "MAIL FROM:<a>\\r\\nRCPT\\0x\\t\\\\\\x1b\\x7f\\xff");
	EXPECT_TRUE(strchr(out, '\r') == NULL && strchr(out, '\n') == NULL);
}

TEST(log_escape_truncates_at_whole_escapes)
{
	char out[8];
	char big[4] = {'x', 'x', 'x', 'x'};

	/* "ab\r\n" -> "ab\r\n" escaped = 6 chars + NUL = 7: fits in 8. */
	nr_log_escape(out, sizeof(out), "ab\r\n\x01", 5);
	EXPECT_STREQ(out, "ab\\r\\n"); /* \x01 (4 chars) would not fit */
	nr_log_escape(out, 1, "abc", 3);
	EXPECT_STREQ(out, "");
	nr_log_escape(big, 0, "abc", 3); /* size 0: untouched */
	EXPECT_EQ(big[0], 'x');
}

TEST(log_mask_never_contains_secret)
{
	static const char *secrets[] = {"", "a", "hunter2", "p4ssw0rd-with-some-length", "0"};
	char out[64];
	size_t i;

	for (i = 0; i < sizeof(secrets) / sizeof(secrets[0]); i++) {
		size_t n = strlen(secrets[i]);
		nr_log_mask(out, sizeof(out), n);
		EXPECT_TRUE(strncmp(out, "<hidden ", 8) == 0);
		if (n)
			EXPECT_TRUE(strstr(out, secrets[i]) == NULL);
	}
	nr_log_mask(out, sizeof(out), 7);
	EXPECT_STREQ(out, "<hidden 5-8 bytes>");
	nr_log_mask(out, sizeof(out), 0);
	EXPECT_STREQ(out, "<hidden 0 bytes>");
	nr_log_mask(out, sizeof(out), 1);
	EXPECT_STREQ(out, "<hidden 1 byte>");
	nr_log_mask(out, 6, 1000); /* small dst: cut, terminated */
	EXPECT_EQ(strlen(out), 5);
}

TEST(log_levels_and_sink)
{
	sim_reset();
	nr_log_set_level(NR_LOG_INFO);
	EXPECT_EQ(nr_log_get_level(), NR_LOG_INFO);
	nr_info("queued id=%d", 7);
	nr_debug("not shown %d", 8);
	nr_err("bad\r\nforged line");
	EXPECT_EQ(sim_log_count(), 2);
	EXPECT_STREQ(sim_log_line(0), "queued id=7");
	EXPECT_EQ(sim_log_level(0), NR_LOG_INFO);
	/* A raw CR/LF that reached nr_log still cannot split the line. */
	EXPECT_STREQ(sim_log_line(1), "bad??forged line");
	EXPECT_EQ(sim_log_level(1), NR_LOG_ERR);
	nr_log_set_level(NR_LOG_DEBUG);
	nr_debug("shown");
	EXPECT_EQ(sim_log_find("shown"), 2);
	EXPECT_TRUE(nr_log_enabled(NR_LOG_DEBUG));
	nr_log_set_level(NR_LOG_WARN);
	EXPECT_TRUE(!nr_log_enabled(NR_LOG_INFO));
}

TEST(log_long_line_is_cut_and_marked)
{
	char big[3000];

	sim_reset();
	nr_log_set_level(NR_LOG_INFO);
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	nr_info("%s", big);
	ASSERT_EQ(sim_log_count(), 1);
	EXPECT_EQ(strlen(sim_log_line(0)), 1023);
	EXPECT_TRUE(strcmp(sim_log_line(0) + 1020, "...") == 0);
}

/* nr_log copies a "%s" line instead of formatting it: the same line, the
 * same control-byte mask and the same cut as through vsnprintf. */
TEST(log_preformatted_line_same_as_formatted)
{
	char fit[1024];

	sim_reset();
	nr_log_set_level(NR_LOG_INFO);
	nr_info("%s", "to=<a@b>\r\nforged");
	memset(fit, 'y', sizeof(fit) - 1);
	fit[sizeof(fit) - 1] = 0; /* 1,023 bytes: fits, not marked */
	nr_info("%s", fit);
	nr_info("%s", "");
	ASSERT_EQ(sim_log_count(), 3);
	EXPECT_STREQ(sim_log_line(0), "to=<a@b>??forged");
	EXPECT_STREQ(sim_log_line(1), fit);
	EXPECT_STREQ(sim_log_line(2), "");
}

int main(void)
{
	RUN(buf_put_respects_cap);
	RUN(buf_consume_compact_find);
	RUN(buf_printf_overflow_leaves_nothing);
	RUN(buf_printf_compacts);
	RUN(buf_commit_after_direct_read);
	RUN(pool_exhaustion_and_reuse);
	RUN(pool_hands_out_fresh_slots_in_order_and_reuses_first);
	RUN(pool_tiny_objects_are_aligned);
	RUN(log_escape_control_bytes);
	RUN(log_escape_truncates_at_whole_escapes);
	RUN(log_mask_never_contains_secret);
	RUN(log_levels_and_sink);
	RUN(log_long_line_is_cut_and_marked);
	RUN(log_preformatted_line_same_as_formatted);
	return TEST_REPORT();
}
