/*
 * test.h - the in-tree test header. One executable per module, run by CTest.
 *
 *   TEST(name) { EXPECT_EQ(1 + 1, 2); }
 *   int main(void) { RUN(name); return TEST_REPORT(); }
 *
 * EXPECT_* record a failure and go on; ASSERT_* also leave the test.
 * TEST_REPORT prints "N passed, N failed" and returns the exit status.
 */
#ifndef NR_TEST_H
#define NR_TEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int nr_test_failed_checks;
static int nr_test_passed;
static int nr_test_failed;

#define NR_TEST_FAIL_(...)                                                                         \
	do {                                                                                       \
		fprintf(stderr, "%s:%d: ", __FILE__, __LINE__);                                    \
		fprintf(stderr, __VA_ARGS__);                                                      \
		fputc('\n', stderr);                                                               \
		nr_test_failed_checks++;                                                           \
	} while (0)

#define TEST(name) static void name(void)

#define RUN(name)                                                                                  \
	do {                                                                                       \
		int before_ = nr_test_failed_checks;                                               \
		name();                                                                            \
		if (nr_test_failed_checks == before_) {                                            \
			nr_test_passed++;                                                          \
		} else {                                                                           \
			nr_test_failed++;                                                          \
			fprintf(stderr, "FAIL %s\n", #name);                                       \
		}                                                                                  \
	} while (0)

#define TEST_REPORT()                                                                              \
	(printf("%d passed, %d failed\n", nr_test_passed, nr_test_failed), nr_test_failed ? 1 : 0)

#define EXPECT_TRUE(c)                                                                             \
	do {                                                                                       \
		if (!(c))                                                                          \
			NR_TEST_FAIL_("expected %s", #c);                                          \
	} while (0)

#define EXPECT_EQ(a, b)                                                                            \
	do {                                                                                       \
		long long a_ = (long long)(a), b_ = (long long)(b);                                \
		if (a_ != b_)                                                                      \
			NR_TEST_FAIL_("expected %s == %s (%lld != %lld)", #a, #b, a_, b_);         \
	} while (0)

#define EXPECT_NE(a, b)                                                                            \
	do {                                                                                       \
		long long a_ = (long long)(a), b_ = (long long)(b);                                \
		if (a_ == b_)                                                                      \
			NR_TEST_FAIL_("expected %s != %s (both %lld)", #a, #b, a_);                \
	} while (0)

#define EXPECT_STREQ(a, b)                                                                         \
	do {                                                                                       \
		const char *a_ = (a), *b_ = (b);                                                   \
		if (!a_ || !b_ || strcmp(a_, b_) != 0)                                             \
			NR_TEST_FAIL_("expected %s == %s (\"%s\" != \"%s\")", #a, #b,              \
				      a_ ? a_ : "(null)", b_ ? b_ : "(null)");                     \
	} while (0)

#define EXPECT_MEMEQ(a, b, n)                                                                      \
	do {                                                                                       \
		if (memcmp((a), (b), (n)) != 0)                                                    \
			NR_TEST_FAIL_("expected %zu bytes of %s == %s", (size_t)(n), #a, #b);      \
	} while (0)

/* A test case written around an option of the default build (Kconfig) that
 * this build lacks says so and steps aside (tests/configs.sh builds without
 * each option); the file includes core/build.h for NR_ENABLED. Prefer
 * checking the option's absence where that means something. */
#define TEST_NEEDS(option)                                                                         \
	do {                                                                                       \
		if (!NR_ENABLED(option)) {                                                         \
			printf("# %s: skipped, needs %s\n", __func__, #option);                    \
			return;                                                                    \
		}                                                                                  \
	} while (0)

#define ASSERT_TRUE(c)                                                                             \
	do {                                                                                       \
		if (!(c)) {                                                                        \
			NR_TEST_FAIL_("expected %s", #c);                                          \
			return;                                                                    \
		}                                                                                  \
	} while (0)

#define ASSERT_EQ(a, b)                                                                            \
	do {                                                                                       \
		long long a_ = (long long)(a), b_ = (long long)(b);                                \
		if (a_ != b_) {                                                                    \
			NR_TEST_FAIL_("expected %s == %s (%lld != %lld)", #a, #b, a_, b_);         \
			return;                                                                    \
		}                                                                                  \
	} while (0)

#endif /* NR_TEST_H */
