/*
 * test_dns_resolver.c - a resolver backend inside the real loop, against a
 * dnsmasq this test starts on 127.0.0.1:<free port> (and stops):
 * A+AAAA, NXDOMAIN, SERVFAIL, timeout, cache, TTL expiry, cancel, literals,
 * a truncated answer asked again over TCP. Built twice (tests/unit/dns/
 * CMakeLists.txt): test_dns_cares (the c-ares adapter) and test_dns_stub
 * (dns_stub.c, NR_TEST_DNS_STUB), which adds the stub's own cases: the
 * servers of resolv.conf in turn, /etc/hosts first.
 * Fails (exit 77 would hide failures) when dnsmasq is missing.
 *
 * The contract's socket calls are wrapped (ld --wrap): every call is
 * counted and can be refused, which proves that the resolver reaches its
 * servers only through platform.h.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/loop.h"
#include "dns/dns_priv.h"
#include "test.h"

extern char **environ;

static struct nr_loop *loop;
static pid_t dnsmasq_pid = -1;
static uint16_t dns_port, silent_port, servfail_port;
static int silent_fd = -1, servfail_fd = -1;
static struct nr_io servfail_io;
static char pidfile[64];
static int tc_udp_fd = -1, tc_tcp_fd = -1;
static uint16_t tc_port;
static struct nr_io tc_udp_io, tc_tcp_io, tc_conn_io = {.sock = -1, .slot = -1};
static unsigned char tc_buf[2048];
static size_t tc_have;

/* ---- the contract, counted (and refused on demand) ------------------------------ */
struct contract_calls {
	int udp_open, tcp_open, connect, udp_send, udp_recv, refused;
};
static struct contract_calls calls;
static int refuse_open; /* udp_open and tcp_open fail with NR_ENOMEM */

int __real_nr_plat_udp_open(uint8_t family, nr_sock_t *out);
int __real_nr_plat_tcp_open(uint8_t family, nr_sock_t *out);
int __real_nr_plat_sock_connect(nr_sock_t s, const struct nr_addr *addr);
long __real_nr_plat_udp_send(nr_sock_t s, const void *buf, size_t len);
long __real_nr_plat_udp_recv(nr_sock_t s, void *buf, size_t len, struct nr_addr *from);

int __wrap_nr_plat_udp_open(uint8_t family, nr_sock_t *out)
{
	calls.udp_open++;
	if (refuse_open) {
		calls.refused++;
		*out = NR_SOCK_INVALID;
		return NR_ENOMEM;
	}
	return __real_nr_plat_udp_open(family, out);
}

int __wrap_nr_plat_tcp_open(uint8_t family, nr_sock_t *out)
{
	calls.tcp_open++;
	if (refuse_open) {
		calls.refused++;
		*out = NR_SOCK_INVALID;
		return NR_ENOMEM;
	}
	return __real_nr_plat_tcp_open(family, out);
}

int __wrap_nr_plat_sock_connect(nr_sock_t s, const struct nr_addr *addr)
{
	calls.connect++;
	return __real_nr_plat_sock_connect(s, addr);
}

long __wrap_nr_plat_udp_send(nr_sock_t s, const void *buf, size_t len)
{
	calls.udp_send++;
	return __real_nr_plat_udp_send(s, buf, len);
}

long __wrap_nr_plat_udp_recv(nr_sock_t s, void *buf, size_t len, struct nr_addr *from)
{
	long n = __real_nr_plat_udp_recv(s, buf, len, from);

	calls.udp_recv += n >= 0;
	return n;
}

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

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Run the loop until o got its callback or ms passed. */
static void run_until(struct outcome *o, uint64_t ms)
{
	uint64_t end = now_ms() + ms;

	while ((!o || o->calls == 0) && now_ms() < end)
		(void)nr_loop_turn(loop, 20);
}

/* A free UDP port on 127.0.0.1; keep_fd: leave the socket bound (silent). */
static uint16_t free_udp_port(int *keep_fd)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0 ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) != 0) {
		perror("udp port");
		exit(1);
	}
	if (keep_fd)
		*keep_fd = fd;
	else
		close(fd);
	return ntohs(sin.sin_port);
}

/* A DNS server inside our own loop that answers every query SERVFAIL
 * (RFC 1035 4.1.1: QR=1, RCODE=2, the question echoed). */
static void on_servfail_query(struct nr_loop *l, void *arg, unsigned events)
{
	int fd = *(int *)arg;
	unsigned char pkt[512];
	struct sockaddr_in from;
	socklen_t flen = sizeof(from);
	ssize_t n = recvfrom(fd, pkt, sizeof(pkt), MSG_DONTWAIT, (struct sockaddr *)&from, &flen);

	if (n < 12)
		return;
	pkt[2] = (unsigned char)(0x80 | (pkt[2] & 0x79)); /* QR, keep opcode and RD */
	pkt[3] = 0x82;                                    /* RA, RCODE 2 */
	memset(pkt + 6, 0, 6);                            /* no answers */
	(void)sendto(fd, pkt, (size_t)n, 0, (struct sockaddr *)&from, flen);
}

/* A server that answers UDP with TC=1 (truncated, RFC 1035 4.2.1: ask
 * again over TCP) and TCP properly: one A record 192.0.2.9 for an A
 * question, no record for anything else. One TCP client at a time. */
static void on_tc_udp_query(struct nr_loop *l, void *arg, unsigned events)
{
	unsigned char pkt[512];
	struct sockaddr_in from;
	socklen_t flen = sizeof(from);
	ssize_t n =
	    recvfrom(tc_udp_fd, pkt, sizeof(pkt), MSG_DONTWAIT, (struct sockaddr *)&from, &flen);

	if (n < 12)
		return;
	pkt[2] = (unsigned char)(0x80 | 0x02 | (pkt[2] & 0x79)); /* QR, TC */
	pkt[3] = 0x80;                                           /* RA, no error */
	(void)sendto(tc_udp_fd, pkt, (size_t)n, 0, (struct sockaddr *)&from, flen);
}

static void tc_answer(int fd, const unsigned char *q, size_t qlen)
{
	static const unsigned char rr[] = {0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 9};
	unsigned char out[2 + 512 + sizeof(rr)];
	size_t len = qlen, qtype_at = 12;
	int is_a;

	while (qtype_at < qlen && q[qtype_at] != 0) /* skip the question's name */
		qtype_at += (size_t)q[qtype_at] + 1;
	if (qlen > 512 || qtype_at + 5 > qlen)
		return;
	is_a = q[qtype_at + 1] == 0 && q[qtype_at + 2] == 1;
	memcpy(out + 2, q, qlen);
	out[2 + 2] = (unsigned char)(0x80 | (q[2] & 0x79)); /* QR, keep opcode and RD */
	out[2 + 3] = 0x80;
	memset(out + 2 + 6, 0, 6);
	if (is_a) {
		out[2 + 7] = 1; /* ANCOUNT */
		len = qtype_at + 5;
		memcpy(out + 2 + len, rr, sizeof(rr));
		len += sizeof(rr);
	}
	out[0] = (unsigned char)(len >> 8);
	out[1] = (unsigned char)len;
	/* a short answer shows up as the lookup's failure in the test */
	if (write(fd, out, len + 2) != (ssize_t)(len + 2))
		fprintf(stderr, "# tc_answer: short write\n");
}

/* The TCP client's queries, answered as they complete (RFC 1035 4.2.2:
 * each message after a two-byte length). */
static void on_tc_conn_data(struct nr_loop *l, void *arg, unsigned events)
{
	ssize_t n = read(tc_conn_io.sock, tc_buf + tc_have, sizeof(tc_buf) - tc_have);
	size_t at = 0, qlen;

	if (n <= 0) {
		nr_loop_del(loop, &tc_conn_io);
		close(tc_conn_io.sock);
		tc_conn_io.sock = -1;
		return;
	}
	tc_have += (size_t)n;
	while (tc_have - at >= 2 &&
	       tc_have - at >= 2 + (qlen = (size_t)(tc_buf[at] << 8 | tc_buf[at + 1]))) {
		tc_answer(tc_conn_io.sock, tc_buf + at + 2, qlen);
		at += 2 + qlen;
	}
	memmove(tc_buf, tc_buf + at, tc_have - at);
	tc_have -= at;
}

static void on_tc_tcp_client(struct nr_loop *l, void *arg, unsigned events)
{
	int fd = accept(tc_tcp_fd, NULL, NULL);

	if (fd < 0)
		return;
	if (tc_conn_io.sock >= 0) { /* one client at a time */
		close(fd);
		return;
	}
	tc_have = 0;
	nr_io_init(&tc_conn_io, fd, NR_POLL_IN, on_tc_conn_data, NULL);
	if (nr_loop_add(loop, &tc_conn_io) != 0) {
		close(fd);
		tc_conn_io.sock = -1;
	}
}

static struct nr_addr loopback(uint16_t port)
{
	struct nr_addr a;

	memset(&a, 0, sizeof(a));
	a.family = NR_AF_INET4;
	a.ip[0] = 127;
	a.ip[3] = 1;
	a.port = port;
	return a;
}

static int start_dnsmasq_at(const char *ip, uint16_t at_port, pid_t *pid_out, char *pid_file)
{
	char port[32], pid[96], listen[64];
	char *argv[] = {"dnsmasq",
			"--no-daemon",
			"-C",
			"/dev/null",
			port,
			listen,
			"--bind-interfaces",
			"--no-resolv",
			"--no-hosts",
			"--user=root",
			"--local-ttl=300",
			"--local=/test/",
			"--host-record=smarthost.test,127.0.0.1,::1",
			"--host-record=v4only.test,192.0.2.7",
			"--host-record=short.test,192.0.2.8,1",
			"--host-record=mail.corp.test,192.0.2.25",
			pid,
			"--log-facility=/dev/null",
			NULL};
	const char *paths[] = {"/usr/sbin/dnsmasq", "/sbin/dnsmasq", "/usr/bin/dnsmasq"};
	size_t i;

	snprintf(port, sizeof(port), "--port=%u", at_port);
	snprintf(listen, sizeof(listen), "--listen-address=%s", ip);
	snprintf(pid_file, 64, "/tmp/nr-test-dnsmasq-%d-%u.pid", (int)getpid(), at_port);
	snprintf(pid, sizeof(pid), "--pid-file=%s", pid_file);
	for (i = 0; i < NR_ARRAY_LEN(paths); i++) {
		if (access(paths[i], X_OK) == 0 &&
		    posix_spawn(pid_out, paths[i], NULL, NULL, argv, environ) == 0)
			break;
	}
	if (i == NR_ARRAY_LEN(paths)) {
		fprintf(stderr, "dnsmasq not found: tests/deps.sh installs dnsmasq-base\n");
		return -1;
	}
	return 0;
}

static int start_dnsmasq(void)
{
	dns_port = free_udp_port(NULL);
	return start_dnsmasq_at("127.0.0.1", dns_port, &dnsmasq_pid, pidfile);
}

static void stop_dnsmasq(void)
{
	if (dnsmasq_pid > 0) {
		kill(dnsmasq_pid, SIGTERM);
		waitpid(dnsmasq_pid, NULL, 0);
		dnsmasq_pid = -1;
		unlink(pidfile);
	}
}

/* Wait (at most 5 s) until the dnsmasq *pid at server answers. */
static int wait_ready(struct nr_addr server, pid_t *pid, const char *pid_file)
{
	struct nr_dns_opts opts = {&server, 300, 0, NR_DNS_ORDER_INTERLEAVE};
	uint64_t end = now_ms() + 5000;

	while (now_ms() < end) {
		struct nr_dns *dns;
		struct outcome o = {0};

		if (waitpid(*pid, NULL, WNOHANG) == *pid) {
			*pid = -1; /* it exited: its port was taken */
			unlink(pid_file);
			return -1;
		}
		if (nr_dns_new_opts(&dns, loop, &opts) != 0)
			return -1;
		if (nr_dns_resolve(dns, "v4only.test", on_done, &o, NULL) == 0)
			run_until(&o, 1000);
		nr_dns_free(dns);
		if (o.calls == 1 && o.status == 0)
			return 0;
		usleep(50000);
	}
	return -1;
}

/* dnsmasq also listens on TCP at its port, which another program may hold
 * although the UDP port was free: then it exits at once and never answers.
 * Try a few ports before giving up. */
static int start_dnsmasq_on_free_port(void)
{
	int attempt;

	for (attempt = 0; attempt < 5; attempt++) {
		if (start_dnsmasq() != 0)
			return -1;
		if (wait_ready(loopback(dns_port), &dnsmasq_pid, pidfile) == 0)
			return 0;
		fprintf(stderr, "dnsmasq did not answer on port %u; trying another\n", dns_port);
		stop_dnsmasq();
	}
	return -1;
}

static struct nr_dns *new_resolver(uint16_t port, uint64_t timeout_ms)
{
	struct nr_addr server = loopback(port);
	struct nr_dns_opts opts = {&server, timeout_ms, 3600, NR_DNS_ORDER_INTERLEAVE};
	struct nr_dns *dns = NULL;

	if (nr_dns_new_opts(&dns, loop, &opts) != 0)
		return NULL;
	return dns;
}

TEST(a_and_aaaa_both_returned_interleaved)
{
	struct nr_dns *dns = new_resolver(dns_port, 2000);
	struct outcome o = {0};
	static const uint8_t v6[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};

	ASSERT_TRUE(dns != NULL);
	ASSERT_EQ(nr_dns_resolve(dns, "SmartHost.test.", on_done, &o, NULL), 0);
	EXPECT_EQ(o.calls, 0); /* never from inside resolve */
	run_until(&o, 3000);
	ASSERT_EQ(o.calls, 1);
	ASSERT_EQ(o.status, 0);
	EXPECT_EQ(o.res.from_cache, 0);
	EXPECT_TRUE(o.res.ttl_s > 200 && o.res.ttl_s <= 300);
	ASSERT_EQ(o.res.count, NR_ENABLED(CONFIG_NR_IPV6) ? 2 : 1);
	if (NR_ENABLED(CONFIG_NR_IPV6)) {
		EXPECT_EQ(o.res.addrs[0].family, NR_AF_INET6);
		EXPECT_MEMEQ(o.res.addrs[0].ip, v6, 16);
		EXPECT_EQ(o.res.addrs[1].family, NR_AF_INET4);
		EXPECT_MEMEQ(o.res.addrs[1].ip, "\x7f\x00\x00\x01", 4);
	}
	nr_dns_free(dns);
}

TEST(nxdomain_is_not_found)
{
	struct nr_dns *dns = new_resolver(dns_port, 2000);
	struct outcome o = {0};
	struct nr_dns_stats st;

	ASSERT_TRUE(dns != NULL);
	ASSERT_EQ(nr_dns_resolve(dns, "nope.test", on_done, &o, NULL), 0);
	run_until(&o, 3000);
	ASSERT_EQ(o.calls, 1);
	EXPECT_EQ(o.status, NR_ENOTFOUND);
	/* Failures are not cached: a second lookup asks again. */
	o.calls = 0;
	ASSERT_EQ(nr_dns_resolve(dns, "nope.test", on_done, &o, NULL), 0);
	run_until(&o, 3000);
	EXPECT_EQ(o.status, NR_ENOTFOUND);
	nr_dns_get_stats(dns, &st);
	EXPECT_EQ(st.queries, 2);
	EXPECT_EQ(st.failures, 2);
	nr_dns_free(dns);
}

TEST(servfail_and_refused_are_dns_errors)
{
	struct nr_dns *dns = new_resolver(servfail_port, 3000);
	struct outcome o = {0};
	uint64_t t0 = now_ms();

	ASSERT_TRUE(dns != NULL);
	ASSERT_EQ(nr_dns_resolve(dns, "smarthost.test", on_done, &o, NULL), 0);
	run_until(&o, 5000);
	ASSERT_EQ(o.calls, 1);
	EXPECT_EQ(o.status, NR_EDNS);
	EXPECT_TRUE(now_ms() - t0 < 2000); /* an answer, not a timeout */
	nr_dns_free(dns);

	/* dnsmasq without upstream servers refuses names it does not own. */
	dns = new_resolver(dns_port, 3000);
	ASSERT_TRUE(dns != NULL);
	o.calls = 0;
	ASSERT_EQ(nr_dns_resolve(dns, "smtp.example.com", on_done, &o, NULL), 0);
	run_until(&o, 5000);
	ASSERT_EQ(o.calls, 1);
	EXPECT_EQ(o.status, NR_EDNS);
	nr_dns_free(dns);
}

TEST(silent_server_times_out)
{
	struct nr_dns *dns = new_resolver(silent_port, 600);
	struct outcome o = {0};
	uint64_t t0 = now_ms(), dt;

	ASSERT_TRUE(dns != NULL);
	ASSERT_EQ(nr_dns_resolve(dns, "smarthost.test", on_done, &o, NULL), 0);
	run_until(&o, 5000);
	dt = now_ms() - t0;
	ASSERT_EQ(o.calls, 1);
	EXPECT_EQ(o.status, NR_ETIMEDOUT);
	EXPECT_TRUE(dt >= 400 && dt < 1500);
	/* Nothing else arrives later for the same lookup. */
	run_until(NULL, 1000);
	EXPECT_EQ(o.calls, 1);
	nr_dns_free(dns);
}

TEST(cache_hit_without_second_query)
{
	struct nr_dns *dns = new_resolver(dns_port, 2000);
	struct outcome o = {0};
	struct nr_dns_stats st;

	ASSERT_TRUE(dns != NULL);
	ASSERT_EQ(nr_dns_resolve(dns, "smarthost.test", on_done, &o, NULL), 0);
	run_until(&o, 3000);
	ASSERT_EQ(o.status, 0);
	o.calls = 0;
	ASSERT_EQ(nr_dns_resolve(dns, "SMARTHOST.TEST", on_done, &o, NULL), 0);
	EXPECT_EQ(o.calls, 0);
	run_until(&o, 3000);
	ASSERT_EQ(o.calls, 1);
	EXPECT_EQ(o.status, 0);
	EXPECT_EQ(o.res.from_cache, 1);
	EXPECT_EQ(o.res.count, NR_ENABLED(CONFIG_NR_IPV6) ? 2 : 1);
	nr_dns_get_stats(dns, &st);
	EXPECT_EQ(st.queries, 1);
	EXPECT_EQ(st.cache_hits, 1);

	/* TTL 1: expired after a second, so asked again. */
	o.calls = 0;
	ASSERT_EQ(nr_dns_resolve(dns, "short.test", on_done, &o, NULL), 0);
	run_until(&o, 3000);
	ASSERT_EQ(o.status, 0);
	EXPECT_EQ(o.res.ttl_s, 1);
	run_until(NULL, 1200); /* loop time moves on */
	o.calls = 0;
	ASSERT_EQ(nr_dns_resolve(dns, "short.test", on_done, &o, NULL), 0);
	run_until(&o, 3000);
	EXPECT_EQ(o.status, 0);
	EXPECT_EQ(o.res.from_cache, 0);
	nr_dns_get_stats(dns, &st);
	EXPECT_EQ(st.queries, 3);

	/* Flushed: asked again. */
	nr_dns_cache_flush(dns);
	o.calls = 0;
	ASSERT_EQ(nr_dns_resolve(dns, "smarthost.test", on_done, &o, NULL), 0);
	run_until(&o, 3000);
	EXPECT_EQ(o.res.from_cache, 0);
	nr_dns_free(dns);
}

TEST(cancel_means_no_callback)
{
	struct nr_dns *dns = new_resolver(silent_port, 500);
	struct outcome o[CONFIG_NR_DNS_MAX_QUERIES + 1];
	struct nr_dns_query *q = NULL;
	int i;

	memset(o, 0, sizeof(o));
	ASSERT_TRUE(dns != NULL);
	/* In flight at a silent server, then cancelled. */
	ASSERT_EQ(nr_dns_resolve(dns, "smarthost.test", on_done, &o[0], &q), 0);
	ASSERT_TRUE(q != NULL);
	run_until(NULL, 100);
	nr_dns_cancel(dns, q);
	/* A literal, cancelled before the loop answers it. */
	ASSERT_EQ(nr_dns_resolve(dns, "192.0.2.1", on_done, &o[1], &q), 0);
	nr_dns_cancel(dns, q);
	run_until(NULL, 2000);
	EXPECT_EQ(o[0].calls, 0);
	EXPECT_EQ(o[1].calls, 0);
	/* Slots came back: the pool is full-sized again. */
	for (i = 0; i < CONFIG_NR_DNS_MAX_QUERIES; i++)
		EXPECT_EQ(nr_dns_resolve(dns, "192.0.2.2", on_done, &o[i], NULL), 0);
	EXPECT_EQ(nr_dns_resolve(dns, "192.0.2.3", on_done, &o[CONFIG_NR_DNS_MAX_QUERIES], NULL),
		  NR_ENOMEM);
	run_until(NULL, 200);
	for (i = 0; i < CONFIG_NR_DNS_MAX_QUERIES; i++)
		EXPECT_EQ(o[i].calls, 1);
	EXPECT_EQ(o[CONFIG_NR_DNS_MAX_QUERIES].calls, 0);
	/* Freeing with a lookup in flight calls nothing back. */
	memset(o, 0, sizeof(o));
	ASSERT_EQ(nr_dns_resolve(dns, "other.test", on_done, &o[0], NULL), 0);
	run_until(NULL, 50);
	nr_dns_free(dns);
	run_until(NULL, 200);
	EXPECT_EQ(o[0].calls, 0);
}

TEST(literals_without_query)
{
	struct nr_dns *dns = new_resolver(silent_port, 500);
	struct outcome o = {0};
	struct nr_dns_stats st;

	ASSERT_TRUE(dns != NULL);
	ASSERT_EQ(nr_dns_resolve(dns, "192.0.2.1", on_done, &o, NULL), 0);
	EXPECT_EQ(o.calls, 0);
	run_until(&o, 1000);
	ASSERT_EQ(o.calls, 1);
	EXPECT_EQ(o.status, 0);
	EXPECT_EQ(o.res.count, 1);
	EXPECT_MEMEQ(o.res.addrs[0].ip, "\xc0\x00\x02\x01", 4);
	o.calls = 0;
	if (NR_ENABLED(CONFIG_NR_IPV6)) {
		ASSERT_EQ(nr_dns_resolve(dns, "[::1]", on_done, &o, NULL), 0);
		run_until(&o, 1000);
		EXPECT_EQ(o.status, 0);
	} else {
		/* refused at once, as the NR_DNS_NONE build does (dns.h: no callback follows) */
		EXPECT_EQ(nr_dns_resolve(dns, "[::1]", on_done, &o, NULL), NR_EINVAL);
		run_until(&o, 100);
		EXPECT_EQ(o.calls, 0);
	}
	EXPECT_EQ(nr_dns_resolve(dns, "bad name", on_done, &o, NULL), NR_EINVAL);
	EXPECT_EQ(nr_dns_resolve(dns, "a\r\n.test", on_done, &o, NULL), NR_EINVAL);
	nr_dns_get_stats(dns, &st);
	EXPECT_EQ(st.queries, 0);
	nr_dns_free(dns);
}

TEST(server_gone_after_answer_served_from_cache)
{
	struct nr_dns *dns = new_resolver(dns_port, 1000);
	struct outcome o = {0};

	ASSERT_TRUE(dns != NULL);
	ASSERT_EQ(nr_dns_resolve(dns, "v4only.test", on_done, &o, NULL), 0);
	run_until(&o, 3000);
	ASSERT_EQ(o.status, 0);
	stop_dnsmasq();
	o.calls = 0;
	ASSERT_EQ(nr_dns_resolve(dns, "v4only.test", on_done, &o, NULL), 0);
	run_until(&o, 3000);
	EXPECT_EQ(o.status, 0);
	EXPECT_EQ(o.res.from_cache, 1);
	EXPECT_MEMEQ(o.res.addrs[0].ip, "\xc0\x00\x02\x07", 4);
	/* Not cached and the server is gone: an error, not a hang. */
	o.calls = 0;
	ASSERT_EQ(nr_dns_resolve(dns, "smarthost.test", on_done, &o, NULL), 0);
	run_until(&o, 3000);
	EXPECT_EQ(o.calls, 1);
	EXPECT_TRUE(o.status == NR_EDNS || o.status == NR_ETIMEDOUT);
	nr_dns_free(dns);
}

TEST(queries_go_through_the_contract)
{
	struct nr_dns *dns = new_resolver(dns_port, 2000);
	struct outcome o = {0};

	ASSERT_TRUE(dns != NULL);
	memset(&calls, 0, sizeof(calls));
	ASSERT_EQ(nr_dns_resolve(dns, "smarthost.test", on_done, &o, NULL), 0);
	run_until(&o, 3000);
	ASSERT_EQ(o.calls, 1);
	EXPECT_EQ(o.status, 0);
	/* One UDP socket to the one server, connected, a query per type out
	 * and an answer per type back, all through platform.h. */
	EXPECT_EQ(calls.udp_open, 1);
	EXPECT_EQ(calls.tcp_open, 0);
	EXPECT_EQ(calls.connect, 1);
	EXPECT_EQ(calls.udp_send, NR_ENABLED(CONFIG_NR_IPV6) ? 2 : 1);
	EXPECT_TRUE(calls.udp_recv >= calls.udp_send);
	nr_dns_free(dns);

	/* The contract refuses sockets: the lookup fails although dnsmasq is
	 * up, so c-ares has no way to the server around the contract. */
	dns = new_resolver(dns_port, 2000);
	ASSERT_TRUE(dns != NULL);
	memset(&calls, 0, sizeof(calls));
	refuse_open = 1;
	o.calls = 0;
	ASSERT_EQ(nr_dns_resolve(dns, "v4only.test", on_done, &o, NULL), 0);
	run_until(&o, 3000);
	refuse_open = 0;
	ASSERT_EQ(o.calls, 1);
	EXPECT_TRUE(o.status == NR_EDNS || o.status == NR_ETIMEDOUT);
	EXPECT_TRUE(calls.refused >= 1);
	EXPECT_EQ(calls.udp_send, 0);
	nr_dns_free(dns);
}

TEST(truncated_answer_retried_over_contract_tcp)
{
	struct nr_dns *dns = new_resolver(tc_port, 3000);
	struct outcome o = {0};

	ASSERT_TRUE(dns != NULL);
	memset(&calls, 0, sizeof(calls));
	ASSERT_EQ(nr_dns_resolve(dns, "big.test", on_done, &o, NULL), 0);
	run_until(&o, 4000);
	ASSERT_EQ(o.calls, 1);
	ASSERT_EQ(o.status, 0);
	ASSERT_EQ(o.res.count, 1);
	EXPECT_EQ(o.res.addrs[0].family, NR_AF_INET4);
	EXPECT_MEMEQ(o.res.addrs[0].ip, "\xc0\x00\x02\x09", 4);
	EXPECT_EQ(o.res.ttl_s, 60);
	EXPECT_TRUE(calls.udp_send >= 1);
	EXPECT_EQ(calls.tcp_open, 1);
	EXPECT_EQ(calls.connect, calls.udp_open + calls.tcp_open);
	nr_dns_free(dns);
}

#ifdef NR_TEST_DNS_STUB
/* ---- the stub's own cases: resolv.conf and hosts (dns_stub.c) ----------------------- */
/* resolv.conf has no port: these servers listen on port 53 of addresses of
 * their own in 127.0.0.0/8 (root only, as CI runs): a dnsmasq, a silent
 * socket and a SERVFAIL server, at 127.81.x.y, 127.82.x.y and 127.83.x.y,
 * x.y from the process ID, so that two builds' tests running at once
 * do not meet. */
static char stub_dnsmasq[16], stub_silent[16], stub_servfail[16];
static pid_t stub_dnsmasq_pid = -1;
static char stub_pidfile[64];
static int stub_silent_fd = -1, stub_servfail_fd = -1;
static struct nr_io stub_servfail_io = {.sock = -1, .slot = -1};
static char resolv_path[64], hosts_path[64];

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (!f || fputs(text, f) < 0 || fclose(f) != 0) {
		perror(path);
		exit(1);
	}
}

/* A resolv.conf naming one server, or two (second not NULL). */
static void resolv_conf(const char *first, const char *second)
{
	char text[256];

	snprintf(text, sizeof(text), "# written by the test\nsearch lan\nnameserver %s\n%s%s\n",
		 first, second ? "nameserver " : "", second ? second : "");
	write_text(resolv_path, text);
}

static int udp_at_53(const char *ip)
{
	struct sockaddr_in sin;
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(53);
	inet_pton(AF_INET, ip, &sin.sin_addr);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0) {
		perror(ip);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* The three servers on port 53; 0, or -1 when this is not root. */
static int stub_servers_start(void)
{
	struct nr_addr a;
	unsigned id = (unsigned)getpid() & 0xffff;

	snprintf(stub_dnsmasq, sizeof(stub_dnsmasq), "127.81.%u.%u", id >> 8, id & 0xff);
	snprintf(stub_silent, sizeof(stub_silent), "127.82.%u.%u", id >> 8, id & 0xff);
	snprintf(stub_servfail, sizeof(stub_servfail), "127.83.%u.%u", id >> 8, id & 0xff);
	if (geteuid() != 0)
		return -1;
	stub_silent_fd = udp_at_53(stub_silent);
	stub_servfail_fd = udp_at_53(stub_servfail);
	if (stub_silent_fd < 0 || stub_servfail_fd < 0)
		exit(1);
	nr_io_init(&stub_servfail_io, stub_servfail_fd, NR_POLL_IN, on_servfail_query,
		   &stub_servfail_fd);
	if (nr_loop_add(loop, &stub_servfail_io) != 0 ||
	    start_dnsmasq_at(stub_dnsmasq, 53, &stub_dnsmasq_pid, stub_pidfile) != 0)
		exit(1);
	memset(&a, 0, sizeof(a));
	a.family = NR_AF_INET4;
	inet_pton(AF_INET, stub_dnsmasq, a.ip);
	a.port = 53;
	if (wait_ready(a, &stub_dnsmasq_pid, stub_pidfile) == 0)
		return 0;
	fprintf(stderr, "dnsmasq on %s:53 did not answer\n", stub_dnsmasq);
	exit(1);
}

static void stub_servers_stop(void)
{
	if (stub_dnsmasq_pid > 0) {
		kill(stub_dnsmasq_pid, SIGTERM);
		waitpid(stub_dnsmasq_pid, NULL, 0);
		unlink(stub_pidfile);
	}
	nr_loop_del(loop, &stub_servfail_io);
	if (stub_servfail_fd >= 0)
		close(stub_servfail_fd);
	if (stub_silent_fd >= 0)
		close(stub_silent_fd);
}

/* One lookup of name by a resolver on the system's files: its outcome and
 * how long it took. */
static int system_lookup(struct nr_dns *dns, const char *name, struct outcome *o, uint64_t *ms)
{
	uint64_t t0 = now_ms();

	memset(o, 0, sizeof(*o));
	if (nr_dns_resolve(dns, name, on_done, o, NULL) != 0)
		return -1;
	run_until(o, 6000);
	*ms = now_ms() - t0;
	return o->calls == 1 ? o->status : -1;
}

TEST(resolv_conf_servers_in_turn)
{
	struct nr_dns_opts opts = {NULL, 4000, 3600, NR_DNS_ORDER_INTERLEAVE};
	struct nr_dns *dns = NULL;
	struct outcome o;
	uint64_t ms;

	if (stub_dnsmasq_pid <= 0) {
		printf("# %s: skipped, needs root (servers on port 53)\n", __func__);
		return;
	}
	ASSERT_EQ(nr_dns_new_opts(&dns, loop, &opts), 0);
	/* The first server is silent: the second answers after the retry. */
	resolv_conf(stub_silent, stub_dnsmasq);
	EXPECT_EQ(system_lookup(dns, "v4only.test", &o, &ms), 0);
	EXPECT_MEMEQ(o.res.addrs[0].ip, "\xc0\x00\x02\x07", 4);
	EXPECT_TRUE(ms >= 900 && ms < 2500); /* NR_DNS_STUB_RETRY_MS */
	/* The first server fails (SERVFAIL): the second at once. The file is
	 * read again by this lookup. */
	nr_dns_cache_flush(dns);
	resolv_conf(stub_servfail, stub_dnsmasq);
	EXPECT_EQ(system_lookup(dns, "v4only.test", &o, &ms), 0);
	EXPECT_TRUE(ms < 900); /* before the retry */
	/* Every server fails: a DNS error, at once. */
	nr_dns_cache_flush(dns);
	resolv_conf(stub_servfail, NULL);
	EXPECT_EQ(system_lookup(dns, "v4only.test", &o, &ms), NR_EDNS);
	EXPECT_TRUE(ms < 900); /* before the retry */
	/* Every server silent: the lookup's deadline. */
	resolv_conf(stub_silent, NULL);
	EXPECT_EQ(system_lookup(dns, "v4only.test", &o, &ms), NR_ETIMEDOUT);
	EXPECT_TRUE(ms >= 3900 && ms < 5500);
	nr_dns_free(dns);
}

TEST(search_domains_for_a_short_name)
{
	struct nr_dns_opts opts = {NULL, 3000, 3600, NR_DNS_ORDER_INTERLEAVE};
	struct nr_dns *dns = NULL;
	struct outcome o;
	uint64_t ms;
	char text[256];

	if (stub_dnsmasq_pid <= 0) {
		printf("# %s: skipped, needs root (servers on port 53)\n", __func__);
		return;
	}
	/* The last search line wins; "nothere.test" has no such name (NXDOMAIN
	 * from dnsmasq), "test" has. */
	snprintf(text, sizeof(text),
		 "domain lan\nsearch nothere.test test\nnameserver %s\noptions ndots:1\n",
		 stub_dnsmasq);
	write_text(resolv_path, text);
	ASSERT_EQ(nr_dns_new_opts(&dns, loop, &opts), 0);
	ASSERT_EQ(system_lookup(dns, "V4only", &o, &ms), 0);
	ASSERT_EQ(o.res.count, 1);
	EXPECT_MEMEQ(o.res.addrs[0].ip, "\xc0\x00\x02\x07", 4);
	EXPECT_TRUE(ms < 900); /* answers, not retries */
	/* Cached under the name asked for. */
	EXPECT_EQ(system_lookup(dns, "v4only", &o, &ms), 0);
	EXPECT_EQ(o.res.from_cache, 1);
	/* A name with a dot, or a final dot, is asked as written: with the
	 * search list "mail.corp" and "short." would be found in "test". */
	EXPECT_TRUE(system_lookup(dns, "mail.corp", &o, &ms) != 0);
	EXPECT_TRUE(system_lookup(dns, "short.", &o, &ms) != 0);
	EXPECT_EQ(system_lookup(dns, "mail.corp.test", &o, &ms), 0);
	/* Nowhere in the list, nor alone: a failure, at once. */
	EXPECT_TRUE(system_lookup(dns, "nope", &o, &ms) != 0);
	EXPECT_TRUE(ms < 900);
	nr_dns_free(dns);
}

TEST(hosts_file_first)
{
	struct nr_dns_opts opts = {NULL, 2000, 3600, NR_DNS_ORDER_V4_FIRST};
	struct nr_dns *dns = NULL;
	struct nr_dns_stats st;
	struct outcome o;
	uint64_t ms;

	write_text(hosts_path, "127.0.0.1 localhost\n"
			       "192.0.2.44\tprinter-relay.test relay # the NAS\n"
			       "2001:db8::44 relay\n");
	resolv_conf(stub_silent, NULL);
	ASSERT_EQ(nr_dns_new_opts(&dns, loop, &opts), 0);
	memset(&calls, 0, sizeof(calls));
	ASSERT_EQ(system_lookup(dns, "RELAY.", &o, &ms), 0);
	ASSERT_EQ(o.res.count, NR_ENABLED(CONFIG_NR_IPV6) ? 2 : 1);
	EXPECT_MEMEQ(o.res.addrs[0].ip, "\xc0\x00\x02\x2c", 4);
	EXPECT_EQ(o.res.from_cache, 0);
	EXPECT_EQ(o.res.ttl_s, 0);
	EXPECT_EQ(calls.udp_open, 0); /* no query */
	nr_dns_get_stats(dns, &st);
	EXPECT_EQ(st.queries, 0);
	nr_dns_free(dns);

	/* With a dns_server the hosts file is not read (as with c-ares). */
	if (dnsmasq_pid > 0) {
		dns = new_resolver(dns_port, 2000);
		ASSERT_TRUE(dns != NULL);
		o.calls = 0;
		ASSERT_EQ(nr_dns_resolve(dns, "printer-relay.test", on_done, &o, NULL), 0);
		run_until(&o, 3000);
		EXPECT_EQ(o.status, NR_ENOTFOUND);
		nr_dns_free(dns);
	}
}

TEST(port_unreachable_fails_fast)
{
	struct nr_dns *dns = new_resolver(free_udp_port(NULL), 3000);
	struct outcome o = {0};
	uint64_t t0 = now_ms();

	ASSERT_TRUE(dns != NULL);
	ASSERT_EQ(nr_dns_resolve(dns, "smarthost.test", on_done, &o, NULL), 0);
	run_until(&o, 4000);
	ASSERT_EQ(o.calls, 1);
	EXPECT_EQ(o.status, NR_EDNS);
	EXPECT_TRUE(now_ms() - t0 < 900); /* an answer, not the 1 s retry */
	nr_dns_free(dns);
}
#endif

/* Both halves of the truncating server on one port of 127.0.0.1. */
static int start_tc_server(void)
{
	struct sockaddr_in sin;
	int attempt, one = 1;

	for (attempt = 0; attempt < 5; attempt++) {
		tc_port = free_udp_port(&tc_udp_fd);
		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		sin.sin_port = htons(tc_port);
		tc_tcp_fd = socket(AF_INET, SOCK_STREAM, 0);
		(void)setsockopt(tc_tcp_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (tc_tcp_fd >= 0 && bind(tc_tcp_fd, (struct sockaddr *)&sin, sizeof(sin)) == 0 &&
		    listen(tc_tcp_fd, 4) == 0)
			break;
		close(tc_tcp_fd);
		close(tc_udp_fd);
		tc_tcp_fd = tc_udp_fd = -1;
	}
	if (tc_tcp_fd < 0)
		return -1;
	nr_io_init(&tc_udp_io, tc_udp_fd, NR_POLL_IN, on_tc_udp_query, NULL);
	nr_io_init(&tc_tcp_io, tc_tcp_fd, NR_POLL_IN, on_tc_tcp_client, NULL);
	return nr_loop_add(loop, &tc_udp_io) == 0 && nr_loop_add(loop, &tc_tcp_io) == 0 ? 0 : -1;
}

int main(void)
{
	int failed;

	signal(SIGPIPE, SIG_IGN);
	if (nr_loop_new(&loop, 32, 64) != 0)
		return 1;
	silent_port = free_udp_port(&silent_fd);
	servfail_port = free_udp_port(&servfail_fd);
	servfail_io.sock = servfail_fd;
	servfail_io.want = NR_POLL_IN;
	servfail_io.fn = on_servfail_query;
	servfail_io.arg = &servfail_fd;
	servfail_io.slot = -1;
	if (nr_loop_add(loop, &servfail_io) != 0)
		return 1;
	if (start_tc_server() != 0 || start_dnsmasq_on_free_port() != 0)
		return 1;
	RUN(a_and_aaaa_both_returned_interleaved);
	RUN(nxdomain_is_not_found);
	RUN(servfail_and_refused_are_dns_errors);
	RUN(silent_server_times_out);
	RUN(cache_hit_without_second_query);
	RUN(cancel_means_no_callback);
	RUN(literals_without_query);
	RUN(queries_go_through_the_contract);
	RUN(truncated_answer_retried_over_contract_tcp);
	RUN(server_gone_after_answer_served_from_cache);
#ifdef NR_TEST_DNS_STUB
	/* dnsmasq is gone: port_unreachable_fails_fast's port is surely free. */
	snprintf(resolv_path, sizeof(resolv_path), "/tmp/nr-test-resolv-%d.conf", (int)getpid());
	snprintf(hosts_path, sizeof(hosts_path), "/tmp/nr-test-hosts-%d", (int)getpid());
	nr_dns_stub_resolv_conf = resolv_path;
	nr_dns_stub_hosts = hosts_path;
	if (start_dnsmasq_on_free_port() != 0)
		return 1;
	if (stub_servers_start() != 0)
		printf("# the stub's resolv.conf cases need root: servers on port 53\n");
	RUN(resolv_conf_servers_in_turn);
	RUN(search_domains_for_a_short_name);
	RUN(hosts_file_first);
	RUN(port_unreachable_fails_fast);
	stub_servers_stop();
	unlink(resolv_path);
	unlink(hosts_path);
#endif
	stop_dnsmasq();
	close(silent_fd);
	nr_loop_del(loop, &servfail_io);
	close(servfail_fd);
	nr_loop_del(loop, &tc_udp_io);
	nr_loop_del(loop, &tc_tcp_io);
	if (tc_conn_io.sock >= 0) {
		nr_loop_del(loop, &tc_conn_io);
		close(tc_conn_io.sock);
	}
	close(tc_udp_fd);
	close(tc_tcp_fd);
	nr_loop_free(loop);
	failed = TEST_REPORT();
	return failed;
}
