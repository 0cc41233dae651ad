/*
 * test_linux_udp.c - the Linux shim's UDP calls and its open-then-connect
 * TCP socket (platform.h, "UDP, and a socket opened before it connects"),
 * on real loopback sockets against plain OS peers.
 */
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "platform.h"
#include "test.h"

static struct nr_addr loopback4(uint16_t port)
{
	struct nr_addr x = {.family = NR_AF_INET4, .port = port, .ip = {127, 0, 0, 1}};
	return x;
}

/* Poll one socket for want, at most ms; returns its ready bits. */
static unsigned wait_for(nr_sock_t s, unsigned want, int ms)
{
	struct nr_pollfd p = {.sock = s, .want = (uint8_t)want};
	uint64_t end = nr_plat_now_ms() + (uint64_t)ms;

	while (nr_plat_now_ms() < end) {
		int rc = nr_plat_poll(&p, 1, (int)(end - nr_plat_now_ms()));
		if (rc > 0)
			return p.ready;
		if (rc < 0)
			return 0;
	}
	return 0;
}

/* A plain OS UDP socket on 127.0.0.1:<free port>. */
static int os_udp_peer(uint16_t *port)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	if (fd < 0 || bind(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0 ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) != 0)
		return -1;
	*port = ntohs(sin.sin_port);
	return fd;
}

TEST(udp_connect_send_and_receive_with_sender)
{
	struct sockaddr_in from;
	socklen_t flen = sizeof(from);
	struct nr_addr peer, sender;
	uint16_t port = 0;
	char buf[64];
	nr_sock_t s;
	int fd = os_udp_peer(&port);
	ssize_t n;

	ASSERT_TRUE(fd >= 0);
	peer = loopback4(port);
	ASSERT_EQ(nr_plat_udp_open(NR_AF_INET4, &s), 0);
	EXPECT_EQ(nr_plat_udp_recv(s, buf, sizeof(buf), NULL), NR_EAGAIN); /* never blocks */
	ASSERT_EQ(nr_plat_sock_connect(s, &peer), 0);
	EXPECT_EQ(nr_plat_udp_send(s, "query", 5), 5);
	n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &flen);
	ASSERT_EQ(n, 5);
	EXPECT_MEMEQ(buf, "query", 5);
	/* Two datagrams back: each read takes exactly one, with its sender. */
	ASSERT_EQ(sendto(fd, "answer", 6, 0, (struct sockaddr *)&from, flen), 6);
	ASSERT_EQ(sendto(fd, "", 0, 0, (struct sockaddr *)&from, flen), 0);
	ASSERT_TRUE(wait_for(s, NR_POLL_IN, 2000) & NR_POLL_IN);
	memset(&sender, 0, sizeof(sender));
	EXPECT_EQ(nr_plat_udp_recv(s, buf, sizeof(buf), &sender), 6);
	EXPECT_MEMEQ(buf, "answer", 6);
	EXPECT_EQ(sender.family, NR_AF_INET4);
	EXPECT_EQ(sender.port, port);
	EXPECT_MEMEQ(sender.ip, "\x7f\x00\x00\x01", 4);
	ASSERT_TRUE(wait_for(s, NR_POLL_IN, 2000) & NR_POLL_IN);
	EXPECT_EQ(nr_plat_udp_recv(s, buf, sizeof(buf), NULL), 0); /* an empty datagram */
	EXPECT_EQ(nr_plat_udp_recv(s, buf, sizeof(buf), NULL), NR_EAGAIN);
	nr_plat_sock_close(s);
	close(fd);
}

TEST(udp_to_a_closed_port_is_refused)
{
	uint16_t port = 0;
	int fd = os_udp_peer(&port);
	struct nr_addr gone = loopback4(port);
	char buf[16];
	nr_sock_t s;
	long rc;

	ASSERT_TRUE(fd >= 0);
	close(fd); /* nobody listens there now */
	ASSERT_EQ(nr_plat_udp_open(NR_AF_INET4, &s), 0);
	ASSERT_EQ(nr_plat_sock_connect(s, &gone), 0);
	EXPECT_EQ(nr_plat_udp_send(s, "q", 1), 1);
	/* The ICMP port unreachable comes back as an error on the socket. */
	EXPECT_TRUE(wait_for(s, NR_POLL_IN, 2000) != 0);
	rc = nr_plat_udp_recv(s, buf, sizeof(buf), NULL);
	EXPECT_EQ(rc, NR_ECONNREFUSED);
	nr_plat_sock_close(s);
}

TEST(udp_bad_family_and_v6)
{
	struct nr_addr v6 = {.family = NR_AF_INET6, .port = 53};
	nr_sock_t s = 7;
	int rc;

	EXPECT_EQ(nr_plat_udp_open(NR_AF_LOCAL, &s), NR_EINVAL);
	EXPECT_EQ(s, NR_SOCK_INVALID);
	EXPECT_EQ(nr_plat_tcp_open(NR_AF_NONE, &s), NR_EINVAL);
	v6.ip[15] = 1;
	rc = nr_plat_udp_open(NR_AF_INET6, &s);
	if (rc == NR_ENOTSUP)
		return; /* a kernel without IPv6: the documented answer */
	ASSERT_EQ(rc, 0);
	EXPECT_EQ(nr_plat_sock_connect(s, &v6), 0);
	nr_plat_sock_close(s);
}

TEST(tcp_open_then_connect)
{
	struct nr_addr any = loopback4(0), laddr;
	nr_sock_t l, c, a;

	ASSERT_EQ(nr_plat_tcp_listen(&any, 4, &l), 0);
	ASSERT_EQ(nr_plat_sock_local_addr(l, &laddr), 0);
	ASSERT_EQ(nr_plat_tcp_open(NR_AF_INET4, &c), 0);
	ASSERT_EQ(nr_plat_sock_connect(c, &laddr), 0);
	ASSERT_TRUE(wait_for(c, NR_POLL_OUT, 2000) & NR_POLL_OUT);
	EXPECT_EQ(nr_plat_tcp_connect_result(c), 0);
	ASSERT_TRUE(wait_for(l, NR_POLL_IN, 2000) & NR_POLL_IN);
	ASSERT_EQ(nr_plat_tcp_accept(l, &a, NULL), 0);
	EXPECT_EQ(nr_plat_sock_write(c, "\x00\x01x", 3), 3);
	ASSERT_TRUE(wait_for(a, NR_POLL_IN, 2000) & NR_POLL_IN);
	{
		char buf[8];
		EXPECT_EQ(nr_plat_sock_read(a, buf, sizeof(buf)), 3);
	}
	nr_plat_sock_close(a);
	nr_plat_sock_close(c);
	nr_plat_sock_close(l);
}

int main(void)
{
	RUN(udp_connect_send_and_receive_with_sender);
	RUN(udp_to_a_closed_port_is_refused);
	RUN(udp_bad_family_and_v6);
	RUN(tcp_open_then_connect);
	return TEST_REPORT();
}
