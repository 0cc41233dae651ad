/*
 * test_dns_platform.c - the resolver over the platform's own resolver
 * (dns_platform.c, CONFIG_NR_DNS_PLATFORM) on the simulator, whose
 * nr_plat_resolve_start() answers from a script inside nr_plat_poll():
 * A and AAAA merged and ordered, one family missing, errors, the deadline,
 * cancel, literals, start failures, the server, the pool.
 */
#include "core/loop.h"
#include "dns/dns.h"
#include "sim.h"
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
	else
		memset(&o->res, 0, sizeof(o->res));
}

/* Turn the loop until o has its answer (at most 50 turns of 1 s sim). */
static void run_until(struct outcome *o)
{
	int i;

	for (i = 0; i < 50 && (!o || o->calls == 0); i++)
		(void)nr_loop_turn(loop, 1000);
}

static struct nr_dns *new_resolver(uint64_t timeout_ms)
{
	struct nr_dns_opts opts = {NULL, timeout_ms, 3600, NR_DNS_ORDER_INTERLEAVE};
	struct nr_dns *dns = NULL;

	sim_reset();
	if (nr_loop_new(&loop, 16, 64) != 0 || nr_dns_new_opts(&dns, loop, &opts) != 0)
		return NULL;
	return dns;
}

static void done(struct nr_dns *dns)
{
	nr_dns_free(dns);
	nr_loop_free(loop);
	loop = NULL;
}

TEST(a_and_aaaa_merged_in_order)
{
	struct nr_dns *dns = new_resolver(5000);
	struct outcome o = {0};
	uint64_t t0 = sim_now();

	ASSERT_TRUE(dns != NULL);
	sim_resolve_script("smtp.example.com", NR_AF_INET4, 0, "192.0.2.1", 10);
	sim_resolve_script("smtp.example.com", NR_AF_INET6, 0, "[2001:db8::1]", 30);
	ASSERT_EQ(nr_dns_resolve(dns, "smtp.example.com", on_done, &o, NULL), 0);
	EXPECT_EQ(o.calls, 0); /* never from inside resolve */
	EXPECT_EQ(sim_resolve_started(), NR_ENABLED(CONFIG_NR_IPV6) ? 2 : 1);
	run_until(&o);
	ASSERT_EQ(o.calls, 1);
	ASSERT_EQ(o.status, 0);
	EXPECT_EQ(o.res.from_cache, 0);
	if (NR_ENABLED(CONFIG_NR_IPV6)) {
		ASSERT_EQ(o.res.count, 2);
		EXPECT_EQ(o.res.addrs[0].family, NR_AF_INET6); /* RFC 8305: v6 first */
		EXPECT_EQ(o.res.addrs[1].family, NR_AF_INET4);
		EXPECT_EQ(sim_now() - t0, 30); /* when the last leg answered */
	} else {
		ASSERT_EQ(o.res.count, 1);
	}
	EXPECT_MEMEQ(o.res.addrs[NR_ENABLED(CONFIG_NR_IPV6) ? 1 : 0].ip, "\xc0\x00\x02\x01", 4);
	EXPECT_EQ(sim_resolve_pending(), 0);
	done(dns);
}

TEST(one_family_missing_is_fine)
{
	struct nr_dns *dns = new_resolver(5000);
	struct outcome o = {0};

	ASSERT_TRUE(dns != NULL);
	sim_resolve_script("v4only.example", NR_AF_INET4, 0, "192.0.2.7", 5);
	ASSERT_EQ(nr_dns_resolve(dns, "v4only.example", on_done, &o, NULL), 0);
	run_until(&o);
	ASSERT_EQ(o.status, 0);
	ASSERT_EQ(o.res.count, 1);
	EXPECT_MEMEQ(o.res.addrs[0].ip, "\xc0\x00\x02\x07", 4);
	done(dns);
}

TEST(errors_not_found_before_a_real_failure)
{
	struct nr_dns *dns = new_resolver(5000);
	struct outcome o = {0};
	struct nr_dns_stats st;

	ASSERT_TRUE(dns != NULL);
	ASSERT_EQ(nr_dns_resolve(dns, "nope.example", on_done, &o, NULL), 0);
	run_until(&o);
	ASSERT_EQ(o.calls, 1);
	EXPECT_EQ(o.status, NR_ENOTFOUND);
	/* A server failure in one leg is reported over the other's "none". */
	sim_resolve_script("broken.example", NR_AF_INET4, NR_EDNS, NULL, 5);
	o.calls = 0;
	ASSERT_EQ(nr_dns_resolve(dns, "broken.example", on_done, &o, NULL), 0);
	run_until(&o);
	ASSERT_EQ(o.calls, 1);
	EXPECT_EQ(o.status, NR_EDNS);
	nr_dns_get_stats(dns, &st);
	EXPECT_EQ(st.lookups, 2);
	EXPECT_EQ(st.queries, 2);
	EXPECT_EQ(st.failures, 2);
	done(dns);
}

TEST(deadline_cancels_the_platform_lookups)
{
	struct nr_dns *dns = new_resolver(700);
	struct outcome o = {0};
	uint64_t t0 = sim_now();

	ASSERT_TRUE(dns != NULL);
	sim_resolve_script("silent.example", NR_AF_INET4, 0, "192.0.2.1", SIM_RESOLVE_NEVER);
	sim_resolve_script("silent.example", NR_AF_INET6, 0, "[2001:db8::1]", SIM_RESOLVE_NEVER);
	ASSERT_EQ(nr_dns_resolve(dns, "silent.example", on_done, &o, NULL), 0);
	run_until(&o);
	ASSERT_EQ(o.calls, 1);
	EXPECT_EQ(o.status, NR_ETIMEDOUT);
	EXPECT_EQ(sim_now() - t0, 700);
	EXPECT_EQ(sim_resolve_pending(), 0);
	EXPECT_EQ(sim_resolve_cancelled(), NR_ENABLED(CONFIG_NR_IPV6) ? 2 : 1);
	done(dns);
}

TEST(cancel_and_free_call_nothing_back)
{
	struct nr_dns *dns = new_resolver(5000);
	struct outcome o = {0}, p = {0};
	struct nr_dns_query *q = NULL;

	ASSERT_TRUE(dns != NULL);
	sim_resolve_script("slow.example", NR_AF_INET4, 0, "192.0.2.1", 100);
	ASSERT_EQ(nr_dns_resolve(dns, "slow.example", on_done, &o, &q), 0);
	ASSERT_TRUE(q != NULL);
	nr_dns_cancel(dns, q);
	EXPECT_EQ(sim_resolve_pending(), 0);
	ASSERT_EQ(nr_dns_resolve(dns, "slow.example", on_done, &p, NULL), 0);
	nr_dns_free(dns);
	EXPECT_EQ(sim_resolve_pending(), 0);
	(void)nr_loop_turn(loop, 500);
	EXPECT_EQ(o.calls, 0);
	EXPECT_EQ(p.calls, 0);
	nr_loop_free(loop);
	loop = NULL;
}

TEST(literals_and_bad_names_never_reach_the_platform)
{
	struct nr_dns *dns = new_resolver(5000);
	struct outcome o = {0};

	ASSERT_TRUE(dns != NULL);
	ASSERT_EQ(nr_dns_resolve(dns, "192.0.2.9", on_done, &o, NULL), 0);
	EXPECT_EQ(o.calls, 0);
	run_until(&o);
	ASSERT_EQ(o.status, 0);
	ASSERT_EQ(o.res.count, 1);
	EXPECT_MEMEQ(o.res.addrs[0].ip, "\xc0\x00\x02\x09", 4);
	EXPECT_EQ(nr_dns_resolve(dns, "bad name", on_done, &o, NULL), NR_EINVAL);
	EXPECT_EQ(nr_dns_resolve(dns, "a\r\n.example", on_done, &o, NULL), NR_EINVAL);
	EXPECT_EQ(sim_resolve_started(), 0);
	done(dns);
}

TEST(start_failure_is_returned_with_no_callback)
{
	struct nr_dns *dns = new_resolver(5000);
	struct outcome o[CONFIG_NR_DNS_MAX_QUERIES + 1];
	int i;

	memset(o, 0, sizeof(o));
	ASSERT_TRUE(dns != NULL);
	sim_resolve_fail_next(NR_ENOMEM); /* lwIP: no DNS table entry free */
	EXPECT_EQ(nr_dns_resolve(dns, "smtp.example.com", on_done, &o[0], NULL), NR_ENOMEM);
	run_until(NULL);
	EXPECT_EQ(o[0].calls, 0);
	EXPECT_EQ(sim_resolve_pending(), 0);
	/* The pool: CONFIG_NR_DNS_MAX_QUERIES in flight, then NR_ENOMEM. */
	for (i = 0; i < CONFIG_NR_DNS_MAX_QUERIES; i++)
		EXPECT_EQ(nr_dns_resolve(dns, "pool.example", on_done, &o[i], NULL), 0);
	EXPECT_EQ(nr_dns_resolve(dns, "pool.example", on_done, &o[i], NULL), NR_ENOMEM);
	run_until(&o[0]);
	for (i = 0; i < CONFIG_NR_DNS_MAX_QUERIES; i++)
		EXPECT_EQ(o[i].calls, 1);
	EXPECT_EQ(o[CONFIG_NR_DNS_MAX_QUERIES].calls, 0);
	done(dns);
}

TEST(server_goes_to_the_platform)
{
	struct nr_addr server = sim_addr("192.0.2.53:53"), odd = sim_addr("192.0.2.53:5353");
	struct nr_dns_opts opts = {&server, 1000, 3600, NR_DNS_ORDER_INTERLEAVE};
	struct nr_dns *dns = NULL;

	sim_reset();
	ASSERT_EQ(nr_loop_new(&loop, 16, 64), 0);
	ASSERT_EQ(nr_dns_new_opts(&dns, loop, &opts), 0);
	EXPECT_EQ(sim_resolve_server_set()->family, NR_AF_INET4);
	EXPECT_EQ(sim_resolve_server_set()->ip[3], 53);
	nr_dns_free(dns);
	/* A port the platform cannot use is an error, never ignored. */
	opts.server = &odd;
	EXPECT_EQ(nr_dns_new_opts(&dns, loop, &opts), NR_ENOTSUP);
	EXPECT_TRUE(dns == NULL);
	nr_loop_free(loop);
	loop = NULL;
}

int main(void)
{
	RUN(a_and_aaaa_merged_in_order);
	RUN(one_family_missing_is_fine);
	RUN(errors_not_found_before_a_real_failure);
	RUN(deadline_cancels_the_platform_lookups);
	RUN(cancel_and_free_call_nothing_back);
	RUN(literals_and_bad_names_never_reach_the_platform);
	RUN(start_failure_is_returned_with_no_callback);
	RUN(server_goes_to_the_platform);
	return TEST_REPORT();
}
