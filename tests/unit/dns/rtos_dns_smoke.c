/*
 * rtos_dns_smoke.c - platform/rtos/rtos_dns.c on real lwIP (the unix port's
 * pthreads): lwIP's DNS client, asked through nr_plat_resolve_*, talks to a
 * DNS server that is an lwIP UDP pcb on port 53 behind the loopback netif.
 * Built and run by rtos_dns_smoke.sh. Checks: A and AAAA answers, NXDOMAIN
 * (NR_EDNS: lwIP tells no failure from another), a cancelled lookup never
 * calls back, lwIP's cached answer (ERR_OK at once) still arrives through
 * nr_rtos_dns_deliver(), and every callback runs on this (the relay's)
 * thread.
 */
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "lwip/pbuf.h"
#include "lwip/tcpip.h"
#include "lwip/udp.h"

#include "platform.h"
#include "rtos_dns.h"

static sem_t woken, ready;
static pthread_t relay;

/* The contract's wakeup, as rtos_dns.c calls it from the tcpip thread. */
void nr_plat_wake(void);
void nr_plat_wake(void)
{
	sem_post(&woken);
}

/* Answer a query (RFC 1035 4.1): A 192.0.2.9, AAAA 2001:db8::9, and
 * NXDOMAIN for a name that starts with "nope". */
static void on_query(void *arg, struct udp_pcb *pcb, struct pbuf *p, const ip_addr_t *addr,
		     u16_t port)
{
	static const unsigned char a[] = {0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 9};
	static const unsigned char aaaa[] = {0xc0, 12,   0, 28, 0, 1, 0, 0, 0, 60, 0, 16, 0x20, 1,
					     0x0d, 0xb8, 0, 0,  0, 0, 0, 0, 0, 0,  0, 0,  0,    9};
	unsigned char q[512], out[600];
	u16_t n = pbuf_copy_partial(p, q, sizeof(q), 0);
	size_t at = 12, len;
	struct pbuf *r;

	pbuf_free(p);
	while (at < n && q[at])
		at += (size_t)q[at] + 1;
	if (at + 5 > n)
		return;
	len = at + 5;
	memcpy(out, q, len);
	out[2] = 0x81; /* QR, RD */
	out[3] = 0x80; /* RA */
	memset(out + 6, 0, 6);
	if (memcmp(q + 13, "nope", 4) == 0) {
		out[3] |= 3; /* NXDOMAIN */
	} else if (q[at + 2] == 1 || q[at + 2] == 28) {
		const unsigned char *rr = q[at + 2] == 1 ? a : aaaa;
		size_t rlen = q[at + 2] == 1 ? sizeof(a) : sizeof(aaaa);

		out[7] = 1;
		memcpy(out + len, rr, rlen);
		len += rlen;
	}
	r = pbuf_alloc(PBUF_TRANSPORT, (u16_t)len, PBUF_RAM);
	if (r) {
		pbuf_take(r, out, (u16_t)len);
		udp_sendto(pcb, r, addr, port);
		pbuf_free(r);
	}
}

static void start_server(void *arg)
{
	struct udp_pcb *pcb = udp_new_ip_type(IPADDR_TYPE_ANY);

	udp_bind(pcb, IP_ANY_TYPE, 53);
	udp_recv(pcb, on_query, NULL);
	sem_post(&ready);
}

static void on_tcpip_up(void *arg)
{
	sem_post(&ready);
}

struct outcome {
	int calls, err, other_thread;
	struct nr_addr addr;
};

static void on_done(void *arg, int err, const struct nr_addr *addrs, size_t n)
{
	struct outcome *o = arg;

	o->calls++;
	o->err = err;
	o->other_thread |= !pthread_equal(pthread_self(), relay);
	if (n)
		o->addr = addrs[0];
}

/* The relay task's poll, reduced to its resolver part: wait for a wakeup
 * (at most ms), then deliver. */
static void poll_for(int ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_nsec += (long)ms * 1000000L;
	ts.tv_sec += ts.tv_nsec / 1000000000L;
	ts.tv_nsec %= 1000000000L;
	if (sem_timedwait(&woken, &ts) == 0)
		nr_rtos_dns_deliver();
}

static int check(int ok, const char *what)
{
	printf("%s: %s\n", ok ? "ok" : "FAILED", what);
	return !ok;
}

int main(void)
{
	struct nr_addr server = {.family = NR_AF_INET4, .port = 53, .ip = {127, 0, 0, 1}};
	struct outcome v4 = {0}, v6 = {0}, nx = {0}, gone = {0}, cached = {0};
	int i, fails = 0;

	relay = pthread_self();
	sem_init(&woken, 0, 0);
	sem_init(&ready, 0, 0);
	tcpip_init(on_tcpip_up, NULL);
	sem_wait(&ready);
	tcpip_callback(start_server, NULL);
	sem_wait(&ready);
	fails += check(nr_plat_resolve_server(&server) == 0, "server set");
	poll_for(100);
	fails += check(nr_plat_resolve_start("smtp.test", NR_AF_INET4, on_done, &v4) == 0 &&
			   nr_plat_resolve_start("smtp.test", NR_AF_INET6, on_done, &v6) == 0 &&
			   nr_plat_resolve_start("nope.test", NR_AF_INET4, on_done, &nx) == 0 &&
			   nr_plat_resolve_start("gone.test", NR_AF_INET4, on_done, &gone) == 0,
		       "four lookups started");
	nr_plat_resolve_cancel(&gone);
	for (i = 0; i < 50 && !(v4.calls && v6.calls && nx.calls); i++)
		poll_for(100);
	poll_for(300);
	fails += check(v4.calls == 1 && v4.err == 0 && v4.addr.family == NR_AF_INET4 &&
			   memcmp(v4.addr.ip, "\xc0\x00\x02\x09", 4) == 0,
		       "A record");
	fails += check(v6.calls == 1 && v6.err == 0 && v6.addr.family == NR_AF_INET6 &&
			   v6.addr.ip[0] == 0x20 && v6.addr.ip[15] == 9,
		       "AAAA record");
	fails += check(nx.calls == 1 && nx.err == NR_EDNS, "NXDOMAIN is NR_EDNS");
	fails += check(gone.calls == 0, "a cancelled lookup never calls back");
	fails += check(nr_plat_resolve_start("smtp.test", NR_AF_INET4, on_done, &cached) == 0,
		       "a cached name started");
	for (i = 0; i < 10 && !cached.calls; i++)
		poll_for(100);
	fails += check(cached.calls == 1 && cached.err == 0, "lwIP's cached answer delivered");
	fails += check(!(v4.other_thread | v6.other_thread | nx.other_thread | cached.other_thread),
		       "every callback on the relay thread");
	printf("rtos_dns smoke: %s\n", fails ? "FAILED" : "ok");
	return fails != 0;
}
