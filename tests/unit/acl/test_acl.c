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
	/* local sessions have a cap of their own: the network's total does
	 * not keep them out, nor do they fill it */
	nr_acl_set_local_limit(&acl, 1);
	EXPECT_EQ(nr_acl_session_open(&acl, &l, 1), 0);
	EXPECT_EQ(nr_acl_session_open(&acl, &l, 1), NR_EFULL);
	EXPECT_EQ(acl.sessions, 4);
	nr_acl_session_close(&acl, &l);
	EXPECT_EQ(nr_acl_session_open(&acl, &l, 1), 0);
	EXPECT_EQ(acl.sessions, 4);
	struct nr_addr a0 = v4(10, 0, 0, 0);
	nr_acl_session_close(&acl, &a0);
	EXPECT_EQ(nr_acl_session_open(&acl, &x, 1), 0);
	EXPECT_EQ(nr_acl_sessions_of(&acl, &a0), 0);
	nr_acl_free(&acl);
}

static struct nr_addr v6(uint16_t net, uint16_t host)
{
	struct nr_addr x;
	memset(&x, 0, sizeof(x));
	x.family = NR_AF_INET6;
	x.ip[0] = 0xfd;
	x.ip[6] = (uint8_t)(net >> 8);
	x.ip[7] = (uint8_t)net;
	x.ip[14] = (uint8_t)(host >> 8);
	x.ip[15] = (uint8_t)host;
	return x;
}

/* The schedule of one (client, user): free failures, then doubling. */
TEST(auth_throttle)
{
	struct nr_acl acl;
	ASSERT_EQ(nr_acl_init(&acl, 4, 4, 4), 0);
	nr_acl_set_auth_limits(&acl, NR_ACL_AUTH_FREE, 1000, 0);
	struct nr_addr a = v4(10, 1, 1, 1), b = v4(10, 1, 1, 2);
	uint64_t t = 1000;
	EXPECT_EQ(nr_acl_auth_begin(&acl, &a, "u", t), 0);
	nr_acl_auth_failed(&acl, &a, "u", t);
	nr_acl_auth_failed(&acl, &a, "u", t);
	EXPECT_EQ(nr_acl_auth_begin(&acl, &a, "u", t), 0);
	nr_acl_auth_failed(&acl, &a, "u", t); /* third: blocked for the base delay */
	EXPECT_EQ(nr_acl_auth_begin(&acl, &a, "u", t), NR_EBUSY);
	EXPECT_EQ(nr_acl_auth_begin(&acl, &b, "u", t), 0);
	EXPECT_EQ(nr_acl_auth_begin(&acl, &a, "u", t + NR_ACL_AUTH_DELAY_MS - 1), NR_EBUSY);
	EXPECT_EQ(nr_acl_auth_begin(&acl, &a, "u", t + NR_ACL_AUTH_DELAY_MS), 0);
	t += NR_ACL_AUTH_DELAY_MS;
	nr_acl_auth_failed(&acl, &a, "u", t); /* fourth: doubled */
	EXPECT_EQ(nr_acl_auth_begin(&acl, &a, "u", t + 2 * NR_ACL_AUTH_DELAY_MS - 1), NR_EBUSY);
	EXPECT_EQ(nr_acl_auth_begin(&acl, &a, "u", t + 2 * NR_ACL_AUTH_DELAY_MS), 0);
	for (int i = 0; i < 60; i++)
		nr_acl_auth_failed(&acl, &a, "u", t);
	EXPECT_EQ(nr_acl_auth_begin(&acl, &a, "u", t + NR_ACL_AUTH_DELAY_MAX_MS - 1), NR_EBUSY);
	EXPECT_EQ(nr_acl_auth_begin(&acl, &a, "u", t + NR_ACL_AUTH_DELAY_MAX_MS), 0);
	nr_acl_auth_succeeded(&acl, &a, "u");
	EXPECT_EQ(nr_acl_auth_begin(&acl, &a, "u", t), 0);
	nr_acl_free(&acl);
}

/* Review M1.2: a valid account's login (the printer's) cleared the
 * address's counter, so guesses against alice never met a 454. */
TEST(auth_success_clears_only_its_user)
{
	struct nr_acl acl;
	ASSERT_EQ(nr_acl_init(&acl, 8, 8, 8), 0);
	nr_acl_set_auth_limits(&acl, 3, 10, 0);
	struct nr_addr a = v4(10, 1, 1, 1);
	uint64_t t = 1000;
	nr_acl_auth_failed(&acl, &a, "alice", t);
	nr_acl_auth_failed(&acl, &a, "alice", t);
	EXPECT_EQ(nr_acl_auth_begin(&acl, &a, "printer", t), 0);
	nr_acl_auth_succeeded(&acl, &a, "printer");
	nr_acl_auth_failed(&acl, &a, "alice", t);
	EXPECT_EQ(nr_acl_auth_begin(&acl, &a, "alice", t), NR_EBUSY);
	EXPECT_EQ(nr_acl_auth_begin(&acl, &a, "printer", t), 0); /* not blocked itself */
	nr_acl_free(&acl);
}

/* A guess spread over many user names still counts for the client, and
 * then even the right user is refused before anything is hashed. */
TEST(auth_client_counter_spans_users)
{
	struct nr_acl acl;
	ASSERT_EQ(nr_acl_init(&acl, 32, 8, 8), 0);
	nr_acl_set_auth_limits(&acl, 3, 5, 0);
	struct nr_addr a = v4(10, 1, 1, 1), b = v4(10, 1, 1, 2);
	const char *names[] = {"a", "b", "c", "d", "e"};
	for (int i = 0; i < 4; i++)
		nr_acl_auth_failed(&acl, &a, names[i], 50);
	EXPECT_EQ(nr_acl_auth_check(&acl, &a, 50), 0);
	nr_acl_auth_failed(&acl, &a, names[4], 50);
	EXPECT_EQ(nr_acl_auth_check(&acl, &a, 50), NR_EBUSY);
	EXPECT_EQ(nr_acl_auth_begin(&acl, &a, "alice", 50), NR_EBUSY);
	nr_acl_auth_succeeded(&acl, &a, "alice"); /* does not lift the client's block */
	EXPECT_EQ(nr_acl_auth_begin(&acl, &a, "alice", 50), NR_EBUSY);
	EXPECT_EQ(nr_acl_auth_begin(&acl, &b, "alice", 50), 0);
	/* forgotten once quiet for NR_ACL_AUTH_FORGET_MS */
	EXPECT_EQ(nr_acl_auth_begin(&acl, &a, "alice", 50 + NR_ACL_AUTH_FORGET_MS), 0);
	nr_acl_free(&acl);
}

/* Review M1.3: every new address got fresh guesses. IPv6 counts per /64. */
TEST(auth_ipv6_per_64)
{
	struct nr_acl acl;
	ASSERT_EQ(nr_acl_init(&acl, 16, 8, 8), 0);
	nr_acl_set_auth_limits(&acl, 3, 10, 0);
	for (uint16_t h = 1; h <= 3; h++) {
		struct nr_addr x = v6(1, h);
		nr_acl_auth_failed(&acl, &x, "alice", 10);
	}
	struct nr_addr fresh = v6(1, 99), other = v6(2, 1);
	EXPECT_EQ(nr_acl_auth_begin(&acl, &fresh, "alice", 10), NR_EBUSY);
	EXPECT_EQ(nr_acl_auth_begin(&acl, &other, "alice", 10), 0);
	nr_acl_free(&acl);
}

TEST(auth_global_rate)
{
	struct nr_acl acl;
	ASSERT_EQ(nr_acl_init(&acl, 8, 8, 8), 0);
	nr_acl_set_auth_limits(&acl, 3, 10, 2);
	struct nr_addr a = v4(10, 0, 0, 1), b = v4(10, 0, 0, 2), c = v4(10, 0, 0, 3);
	EXPECT_EQ(nr_acl_auth_begin(&acl, &a, "u", 5000), 0);
	EXPECT_EQ(nr_acl_auth_begin(&acl, &b, "u", 5100), 0);
	EXPECT_EQ(nr_acl_auth_begin(&acl, &c, "u", 5999), NR_EFULL);
	EXPECT_EQ(nr_acl_auth_begin(&acl, &c, "u", 6000), 0);
	nr_acl_free(&acl);
}

/* A full table drops the record whose block ended longest ago. */
TEST(auth_table_full_evicts_oldest)
{
	struct nr_acl acl;
	ASSERT_EQ(nr_acl_init(&acl, 4, 2, 2), 0);
	nr_acl_set_auth_limits(&acl, 3, 3, 0);
	struct nr_addr a = v4(1, 1, 1, 1), b = v4(1, 1, 1, 2), c = v4(1, 1, 1, 3);
	for (int i = 0; i < 5; i++)
		nr_acl_auth_failed(&acl, &a, "u", 10);
	for (int i = 0; i < 5; i++)
		nr_acl_auth_failed(&acl, &b, "u", 20);
	nr_acl_auth_failed(&acl, &c, "u", 30); /* evicts a's two records */
	EXPECT_EQ(nr_acl_auth_check(&acl, &a, 30), 0);
	EXPECT_EQ(nr_acl_auth_check(&acl, &b, 30), NR_EBUSY);
	nr_acl_free(&acl);
}

int main(void)
{
	RUN(per_client_limit_at_and_past_edge);
	RUN(total_limit);
	RUN(auth_throttle);
	RUN(auth_success_clears_only_its_user);
	RUN(auth_client_counter_spans_users);
	RUN(auth_ipv6_per_64);
	RUN(auth_global_rate);
	RUN(auth_table_full_evicts_oldest);
	return TEST_REPORT();
}
