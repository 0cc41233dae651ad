/* test_fmt.c - core/fmt.h: 64-bit integers as text, checked against the
 * host's printf (glibc has %llu; the C libraries fmt.h is for do not). */
#include <stdio.h>
#include <string.h>

#include "core/fmt.h"
#include "test.h"

static const uint64_t samples[] = {
    0,
    1,
    9,
    10,
    99,
    100,
    4294967295u,
    4294967296u,
    1000000000000000000u,
    9223372036854775807u,
    9223372036854775808u,
    18446744073709551615u,
};

TEST(u64_like_printf)
{
	char want[32];

	for (size_t i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
		snprintf(want, sizeof(want), "%llu", (unsigned long long)samples[i]);
		EXPECT_STREQ(NR_U64(samples[i]), want);
		snprintf(want, sizeof(want), "%016llx", (unsigned long long)samples[i]);
		EXPECT_STREQ(NR_X64(samples[i]), want);
	}
	EXPECT_EQ(strlen(NR_U64(UINT64_MAX)) + 1, (size_t)NR_FMT_INT64_LEN);
}

TEST(i64_like_printf)
{
	static const int64_t v[] = {0, 1, -1, 10, -10, INT64_MAX, INT64_MIN, -1700000000};
	char want[32];

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		snprintf(want, sizeof(want), "%lld", (long long)v[i]);
		EXPECT_STREQ(NR_I64(v[i]), want);
	}
	EXPECT_EQ(strlen(NR_I64(INT64_MIN)) + 1, (size_t)NR_FMT_INT64_LEN);
}

/* Two in one argument list: each has its own buffer. */
TEST(two_in_one_call)
{
	char line[64];

	snprintf(line, sizeof(line), "%s/%s", NR_U64(12), NR_U64(345));
	EXPECT_STREQ(line, "12/345");
}

int main(void)
{
	RUN(u64_like_printf);
	RUN(i64_like_printf);
	RUN(two_in_one_call);
	return TEST_REPORT();
}
