/* test_dns_none.c - the resolver of NR_DNS_NONE builds (dns_platform.c
 * without CONFIG_NR_DNS_PLATFORM): literals only,
 * answered from the loop, never from inside nr_dns_resolve. */
#include "core/loop.h"
#include "dns/dns.h"
#include "test.h"

static struct nr_loop *loop;

struct outcome {
	int calls;
	int status;
	struct nr_dns_result res;
};

static void on_done(void *arg, int status, const struct nr_dns_result *res)
{
	struct outcome *o = arg;

	o->calls++;
	o->status = status;
	if (res)
		o->res = *res;
}

TEST(literals_names_cancel)
{
	struct nr_dns *dns;
	struct outcome a = {0}, b = {0};
	struct nr_dns_query *q;
	int i;

	ASSERT_EQ(nr_dns_new(&dns, loop, NULL), 0);
	ASSERT_EQ(nr_dns_resolve(dns, "192.0.2.9", on_done, &a, NULL), 0);
	ASSERT_EQ(nr_dns_resolve(dns, "192.0.2.10", on_done, &b, &q), 0);
	EXPECT_EQ(a.calls, 0);
	nr_dns_cancel(dns, q);
	for (i = 0; i < 5; i++)
		(void)nr_loop_turn(loop, 10);
	EXPECT_EQ(a.calls, 1);
	EXPECT_EQ(a.status, 0);
	EXPECT_EQ(a.res.count, 1);
	EXPECT_MEMEQ(a.res.addrs[0].ip, "\xc0\x00\x02\x09", 4);
	EXPECT_EQ(b.calls, 0);
	EXPECT_EQ(nr_dns_resolve(dns, "smarthost.test", on_done, &a, NULL), NR_ENOTSUP);
	EXPECT_EQ(nr_dns_resolve(dns, "bad name", on_done, &a, NULL), NR_EINVAL);
	nr_dns_free(dns);
}

int main(void)
{
	if (nr_loop_new(&loop, 8, 16) != 0)
		return 1;
	RUN(literals_names_cancel);
	nr_loop_free(loop);
	return TEST_REPORT();
}
