/* test_acl.c - per-client and total session limits, AUTH throttling. */
#include <string.h>

#include "acl/acl.h"
#include "test.h"

static struct nr_addr v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
	struct nr_addr x;
	memset(&x, 0, sizeof(x));
	x.family = NR_AF_INET4;
	x.ip[0] = a;
	x.ip[1] = b;
	x.ip[2] = c;
	x.ip[3] = d;
	return x;
}

static struct nr_addr mapped(uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
	struct nr_addr x;
	memset(&x, 0, sizeof(x));
	x.family = NR_AF_INET6;
	x.ip[10] = x.ip[11] = 0xff;
	x.ip[12] = a;
	x.ip[13] = b;
	x.ip[14] = c;
	x.ip[15] = d;
	return x;
}

TEST(per_client_limit_at_and_past_edge)
{
	struct nr_acl acl;
	ASSERT_EQ(nr_acl_init(&acl, 8, 8, 3), 0);
	struct nr_addr a = v4(192, 168, 1, 20), b = v4(192, 168, 1, 21);
	struct nr_addr am = mapped(192, 168, 1, 20);
	EXPECT_EQ(nr_acl_session_open(&acl, &a, 1), 0);
	EXPECT_EQ(nr_acl_session_open(&acl, &a, 1), 0);
	EXPECT_EQ(nr_acl_session_open(&acl, &am, 1), 0); /* same client */
	EXPECT_EQ(nr_acl_session_open(&acl, &a, 1), NR_EBUSY);
	EXPECT_EQ(nr_acl_sessions_of(&acl, &a), 3);
	EXPECT_EQ(nr_acl_session_open(&acl, &b, 1), 0);
	nr_acl_session_close(&acl, &am);
	EXPECT_EQ(nr_acl_session_open(&acl, &a, 2), 0);
	EXPECT_EQ(acl.sessions, 4);
	nr_acl_free(&acl);
}

TEST(total_limit)
{
	struct nr_acl acl;
	ASSERT_EQ(nr_acl_init(&acl, 4, 4, 4), 0);
	for (uint8_t i = 0; i < 4; i++) {
		struct nr_addr a = v4(10, 0, 0, i);
		EXPECT_EQ(nr_acl_session_open(&acl, &a, 1), 0);
	}
	struct nr_addr x = v4(10, 0, 0, 9), l;
	memset(&l, 0, sizeof(l));
	l.family = NR_AF_LOCAL;
	EXPECT_EQ(nr_acl_session_open(&acl, &x, 1), NR_EFULL);
	EXPECT_EQ(nr_acl_session_open(&acl, &l, 1), NR_EFULL);
	struct nr_addr a0 = v4(10, 0, 0, 0);
	nr_acl_session_close(&acl, &a0);
	EXPECT_EQ(nr_acl_session_open(&acl, &x, 1), 0);
	EXPECT_EQ(nr_acl_sessions_of(&acl, &a0), 0);
	nr_acl_free(&acl);
}

TEST(auth_throttle)
{
	struct nr_acl acl;
	ASSERT_EQ(nr_acl_init(&acl, 4, 4, 4), 0);
	struct nr_addr a = v4(10, 1, 1, 1), b = v4(10, 1, 1, 2);
	uint64_t t = 1000;
	EXPECT_EQ(nr_acl_auth_check(&acl, &a, t), 0);
	nr_acl_auth_failed(&acl, &a, t);
	nr_acl_auth_failed(&acl, &a, t);
	EXPECT_EQ(nr_acl_auth_check(&acl, &a, t), 0);
	nr_acl_auth_failed(&acl, &a, t); /* third: blocked for the base delay */
	EXPECT_EQ(nr_acl_auth_check(&acl, &a, t), NR_EBUSY);
	EXPECT_EQ(nr_acl_auth_check(&acl, &b, t), 0);
	EXPECT_EQ(nr_acl_auth_check(&acl, &a, t + NR_ACL_AUTH_DELAY_MS - 1), NR_EBUSY);
	EXPECT_EQ(nr_acl_auth_check(&acl, &a, t + NR_ACL_AUTH_DELAY_MS), 0);
	t += NR_ACL_AUTH_DELAY_MS;
	nr_acl_auth_failed(&acl, &a, t); /* fourth: doubled */
	EXPECT_EQ(nr_acl_auth_check(&acl, &a, t + 2 * NR_ACL_AUTH_DELAY_MS - 1), NR_EBUSY);
	EXPECT_EQ(nr_acl_auth_check(&acl, &a, t + 2 * NR_ACL_AUTH_DELAY_MS), 0);
	for (int i = 0; i < 60; i++)
		nr_acl_auth_failed(&acl, &a, t);
	EXPECT_EQ(nr_acl_auth_check(&acl, &a, t + NR_ACL_AUTH_DELAY_MAX_MS - 1), NR_EBUSY);
	EXPECT_EQ(nr_acl_auth_check(&acl, &a, t + NR_ACL_AUTH_DELAY_MAX_MS), 0);
	nr_acl_auth_succeeded(&acl, &a);
	EXPECT_EQ(nr_acl_auth_check(&acl, &a, t), 0);
	nr_acl_free(&acl);
}

TEST(table_full_of_idle_failures_evicts_oldest)
{
	struct nr_acl acl;
	ASSERT_EQ(nr_acl_init(&acl, 2, 2, 2), 0);
	struct nr_addr a = v4(1, 1, 1, 1), b = v4(1, 1, 1, 2), c = v4(1, 1, 1, 3);
	for (int i = 0; i < 5; i++)
		nr_acl_auth_failed(&acl, &a, 10);
	for (int i = 0; i < 5; i++)
		nr_acl_auth_failed(&acl, &b, 20);
	EXPECT_EQ(nr_acl_session_open(&acl, &c, 30), 0); /* evicts a */
	EXPECT_EQ(nr_acl_auth_check(&acl, &a, 30), 0);
	EXPECT_EQ(nr_acl_auth_check(&acl, &b, 30), NR_EBUSY);
	nr_acl_free(&acl);
}

int main(void)
{
	RUN(per_client_limit_at_and_past_edge);
	RUN(total_limit);
	RUN(auth_throttle);
	RUN(table_full_of_idle_failures_evicts_oldest);
	return TEST_REPORT();
}
