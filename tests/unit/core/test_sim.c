/* test_sim.c - the simulator keeps its promises (sim.h). */
#include <string.h>

#include "sim.h"
#include "test.h"

TEST(addr_literals)
{
	struct nr_addr a = sim_addr("192.168.1.20:2525");

	EXPECT_EQ(a.family, NR_AF_INET4);
	EXPECT_EQ(a.port, 2525);
	EXPECT_MEMEQ(a.ip, "\xc0\xa8\x01\x14", 4);
	a = sim_addr("[fd00::5]:465");
	EXPECT_EQ(a.family, NR_AF_INET6);
	EXPECT_EQ(a.port, 465);
	EXPECT_EQ(a.ip[0], 0xfd);
	EXPECT_EQ(a.ip[15], 5);
	EXPECT_EQ(a.ip[1] | a.ip[2] | a.ip[14], 0);
	a = sim_addr("[2001:db8:0:0:1:2:3:4]");
	EXPECT_EQ(a.port, 0);
	EXPECT_EQ(a.ip[1], 0x01);
	EXPECT_EQ(a.ip[3], 0xb8);
	EXPECT_EQ(a.ip[15], 4);
	a = sim_addr("[::1]:25");
	EXPECT_STREQ(sim_addr_str(&a), "[::1]:25");
	a = sim_addr("10.0.0.1:25");
	EXPECT_STREQ(sim_addr_str(&a), "10.0.0.1:25");
}

TEST(entropy_is_seeded_and_can_fail)
{
	uint8_t a[20], b[20];

	sim_reset();
	EXPECT_EQ(nr_plat_entropy(a, sizeof(a)), 0);
	sim_entropy_seed(1);
	EXPECT_EQ(nr_plat_entropy(b, sizeof(b)), 0);
	EXPECT_MEMEQ(a, b, sizeof(a)); /* same seed, same bytes */
	sim_entropy_seed(2);
	EXPECT_EQ(nr_plat_entropy(b, sizeof(b)), 0);
	EXPECT_TRUE(memcmp(a, b, sizeof(a)) != 0);
	sim_entropy_fail(1);
	EXPECT_EQ(nr_plat_entropy(b, sizeof(b)), NR_EIO);
	sim_entropy_fail(0);
	EXPECT_EQ(nr_plat_entropy(b, sizeof(b)), 0);
}

TEST(clocks)
{
	int64_t w = 0;

	sim_reset();
	EXPECT_EQ(nr_plat_now_ms(), SIM_T0_MS);
	EXPECT_EQ(nr_plat_wall_time(&w), 0);
	EXPECT_EQ(w, SIM_WALL0);
	sim_advance(2500);
	EXPECT_EQ(nr_plat_now_ms(), SIM_T0_MS + 2500);
	EXPECT_EQ(nr_plat_wall_time(&w), 0);
	EXPECT_EQ(w, SIM_WALL0 + 2);
	sim_set_wall(86400);
	sim_advance(1000);
	EXPECT_EQ(nr_plat_wall_time(&w), 0);
	EXPECT_EQ(w, 86401);
	sim_set_wall_unset(1);
	EXPECT_EQ(nr_plat_wall_time(&w), NR_ECLOCK);
}

TEST(listeners_and_connects)
{
	struct nr_addr a = sim_addr("0.0.0.0:0"), b = sim_addr("[::]:25"), got;
	nr_sock_t l1, l2, l3, c;
	struct nr_pollfd p;

	sim_reset();
	ASSERT_EQ(nr_plat_tcp_listen(&a, 4, &l1), 0);
	ASSERT_EQ(nr_plat_sock_local_addr(l1, &got), 0);
	EXPECT_EQ(got.port, 40000);
	ASSERT_EQ(nr_plat_tcp_listen(&b, 4, &l2), 0);
	EXPECT_EQ(nr_plat_tcp_listen(&b, 4, &l3), NR_EADDRINUSE);
	EXPECT_EQ(sim_listener("[::]:25"), l2);
	sim_fail_next(SIM_OP_LISTEN, NR_EPERM);
	EXPECT_EQ(nr_plat_tcp_listen(&a, 4, &l3), NR_EPERM);

	/* A v4-mapped client is reported as IPv4, as the real shims do. */
	EXPECT_TRUE(sim_incoming(l2, "[::ffff:c0a8:0102]:5000") != NULL);
	ASSERT_EQ(nr_plat_tcp_accept(l2, &c, &got), 0);
	EXPECT_EQ(got.family, NR_AF_INET4);
	EXPECT_MEMEQ(got.ip, "\xc0\xa8\x01\x02", 4);
	EXPECT_TRUE(sim_peer_of(c) == sim_peer_last());
	EXPECT_EQ(nr_plat_tcp_accept(l2, &c, &got), NR_EAGAIN);

	/* Outgoing: refused by rule, reported after writability. */
	sim_connect_rule("10.1.1.1:587", NR_ECONNREFUSED);
	got = sim_addr("10.1.1.1:587");
	ASSERT_EQ(nr_plat_tcp_connect(&got, &c), 0);
	p = (struct nr_pollfd){.sock = c, .want = NR_POLL_OUT};
	EXPECT_EQ(nr_plat_poll(&p, 1, 0), 1);
	EXPECT_TRUE(p.ready & NR_POLL_ERR);
	EXPECT_EQ(nr_plat_tcp_connect_result(c), NR_ECONNREFUSED);
	nr_plat_sock_close(c);
	EXPECT_TRUE(sim_peer_closed_by_core(sim_peer_last()));
	/* Closed sockets are caught. */
	EXPECT_EQ(nr_plat_sock_write(c, "x", 1), NR_EIO);
	nr_plat_sock_close(l1);
	nr_plat_sock_close(l2);
	EXPECT_EQ(sim_open_sockets(), 1); /* the accepted v4-mapped one */
}

TEST(poll_signals_and_forever)
{
	struct nr_addr a = sim_addr("127.0.0.1:25");
	struct nr_pollfd p;
	nr_sock_t l;

	sim_reset();
	ASSERT_EQ(nr_plat_tcp_listen(&a, 4, &l), 0);
	p = (struct nr_pollfd){.sock = l, .want = NR_POLL_IN};
	sim_raise(NR_SIG_HUP);
	EXPECT_EQ(nr_plat_poll(&p, 1, -1), 0);
	EXPECT_EQ(sim_now(), SIM_T0_MS); /* no time passed */
	EXPECT_EQ(nr_plat_signals_take(), NR_SIG_HUP);
	EXPECT_EQ(nr_plat_signals_take(), 0);
	EXPECT_EQ(nr_plat_poll(&p, 1, 250), 0);
	EXPECT_EQ(sim_now(), SIM_T0_MS + 250);
	EXPECT_EQ(nr_plat_poll(&p, 1, -1), NR_EIO); /* would hang: a test bug */
	nr_plat_sock_close(l);
}

TEST(files_through_stdio)
{
	char *data = NULL;
	size_t len = 0;
	const char *path = "sim_test_file.tmpdata";

	sim_reset();
	EXPECT_EQ(nr_plat_file_write(path, "abc", 3, 0600), 0);
	ASSERT_EQ(nr_plat_file_read(path, 10, &data, &len), 0);
	EXPECT_EQ(len, 3);
	EXPECT_STREQ(data, "abc");
	free(data);
	EXPECT_EQ(nr_plat_file_read(path, 2, &data, &len), NR_ETOOBIG);
	EXPECT_EQ(nr_plat_file_read("no/such/file", 2, &data, &len), NR_ENOTFOUND);
	EXPECT_EQ(nr_plat_file_is_exposed(path, NULL), 0);
	sim_set_file_exposed(1);
	EXPECT_EQ(nr_plat_file_is_exposed(path, NULL), 1);
	remove(path);
	EXPECT_EQ(nr_plat_local_listen("x", 0, &(nr_sock_t){0}), NR_ENOTSUP);
}

int main(void)
{
	RUN(addr_literals);
	RUN(entropy_is_seeded_and_can_fail);
	RUN(clocks);
	RUN(listeners_and_connects);
	RUN(poll_signals_and_forever);
	RUN(files_through_stdio);
	sim_reset();
	return TEST_REPORT();
}
