/*
 * dns_stub.c - nanorelay's own stub resolver (CONFIG_NR_DNS_STUB): for the
 * builds where c-ares's 76 KiB do not fit (busybox_defconfig). It asks a
 * recursive server (the router's dnsmasq, the ISP's) for A and AAAA and
 * believes only the answer to what it asked (dns_wire.c).
 *
 * A lookup of a name, after the literal and cache checks every backend has:
 * 1. /etc/hosts, unless a dns_server is given (as dns_cares.c): a name
 *    there is answered from the file, without a query and not cached;
 * 2. the servers: dns_server, else the nameserver lines of
 *    /etc/resolv.conf, read again by every lookup that asks, so that a
 *    router's changing upstream is followed (at most NR_DNS_STUB_SERVERS;
 *    none: 127.0.0.1, as the C libraries do);
 * 3. a connected UDP socket to the first server, opened through
 *    platform.h like every socket of the relay, and on it a query per
 *    family, each with a random ID (the socket's port is the stack's
 *    random ephemeral one). No answer within NR_DNS_STUB_RETRY_MS: the
 *    questions still open go to the next server (round robin) on a new
 *    socket with new IDs, until the lookup's deadline. SERVFAIL, REFUSED,
 *    an ICMP "port unreachable" or a malformed answer: the next server at
 *    once, and NR_EDNS once every server has said so. NXDOMAIN, or no
 *    record of the type: not found. TC set: the same question over TCP to
 *    the same server (RFC 7766), one connection for both families, an
 *    answer of at most NR_DNS_STUB_TCP_MAX bytes;
 * 4. a name without a dot, when the servers come from resolv.conf, is
 *    asked in each domain of its last search (or domain) line first, then
 *    alone, until one is found (resolv.conf(5) with ndots:1). The whole
 *    walk shares the lookup's deadline.
 *
 * Left out, against c-ares: search domains for names with a dot, ndots
 * and resolv.conf's other options, EDNS0 (answers over 512 bytes come by
 * TCP), DNSSEC.
 */
#include "dns/dns_priv.h"

#include <string.h>

#include "core/addr.h"
#include "core/log.h"
#include "core/mem.h"

#define NR_DNS_STUB_SERVERS 3      /* resolv.conf nameservers used (glibc's MAXNS) */
#define NR_DNS_STUB_RETRY_MS 1000  /* silence before the next server is asked */
#define NR_DNS_STUB_TCP_MAX 4096   /* longest answer taken over TCP */
#define NR_DNS_STUB_FILE_MAX 65536 /* resolv.conf and hosts: larger is not read */
#define NR_DNS_STUB_SEARCH_MAX 256 /* search domains kept (glibc's bound too) */
#define NR_DNS_UDP_MAX 512         /* RFC 1035 4.2.1, without EDNS0 */
#define NR_DNS_LEGS (NR_ENABLED(CONFIG_NR_IPV6) ? 2 : 1)

/* One question of a lookup: A, or AAAA. */
struct nr_dns_leg {
	int done; /* answered, or given up: err says which */
	int err;
	int tcp;           /* truncated over UDP: asked again over TCP */
	unsigned refusals; /* servers that failed it (SERVFAIL, REFUSED, ...) */
	size_t qlen;
	uint8_t query[NR_DNS_QUERY_MAX];
};

struct nr_dns_query {
	struct nr_dns *dns;
	int used;
	int answered;   /* status and result are final; the timer delivers them */
	int ask_failed; /* the current server could not be asked: the timer at once */
	int status;
	nr_dns_fn fn;
	void *arg;
	struct nr_timer timer; /* the next retry or the deadline; then 0 ms to deliver */
	uint64_t deadline;     /* loop time */
	struct nr_io udp;      /* to servers[server]; sock NR_SOCK_INVALID when closed */
	struct nr_io tcp;
	int tcp_connected;
	uint8_t *tcp_in; /* NR_DNS_STUB_TCP_MAX + 2 bytes, while TCP is open */
	size_t tcp_have;
	uint8_t tcp_out[2 * (2 + NR_DNS_QUERY_MAX)];
	size_t tcp_out_len;
	unsigned server, nservers;
	struct nr_addr servers[NR_DNS_STUB_SERVERS];
	uint32_t ttl;
	struct nr_dns_leg legs[2];
	struct nr_dns_result result;
	char key[NR_DNS_NAME_MAX + 1];
	/* A name without a dot is asked with resolv.conf's search domains
	 * first: the ones not yet asked, then the name alone (bare_left). */
	char search[NR_DNS_STUB_SEARCH_MAX];
	size_t search_at;
	int bare_left;
};

struct nr_dns {
	struct nr_loop *loop;
	struct nr_dns_opts opts;
	struct nr_addr server; /* opts.server points here when one is given */
	struct nr_dns_query queries[CONFIG_NR_DNS_MAX_QUERIES];
	struct nr_dns_cache cache;
	struct nr_dns_stats stats;
};

/* The system's files (dns_priv.h: a test points them elsewhere). */
const char *nr_dns_stub_resolv_conf = "/etc/resolv.conf";
const char *nr_dns_stub_hosts = "/etc/hosts";

static void on_udp(struct nr_loop *loop, void *arg, unsigned events);
static void on_tcp(struct nr_loop *loop, void *arg, unsigned events);
static int candidate_next(struct nr_dns_query *q);

static void io_close(struct nr_loop *loop, struct nr_io *io)
{
	nr_loop_del(loop, io);
	nr_plat_sock_close(io->sock);
	io->sock = NR_SOCK_INVALID;
}

static void tcp_close(struct nr_dns_query *q)
{
	io_close(q->dns->loop, &q->tcp);
	nr_free(q->tcp_in);
	q->tcp_in = NULL;
	q->tcp_have = q->tcp_out_len = 0;
	q->tcp_connected = 0;
}

static void query_release(struct nr_dns_query *q)
{
	io_close(q->dns->loop, &q->udp);
	tcp_close(q);
	nr_timer_cancel(q->dns->loop, &q->timer);
	q->used = 0;
}

/* Hand the outcome over; the slot is free first, so the callback may start
 * a new lookup in it. */
static void query_deliver(struct nr_dns_query *q, int status)
{
	nr_dns_fn fn = q->fn;
	void *arg = q->arg;
	struct nr_dns_result res = q->result;

	query_release(q);
	if (status != 0)
		q->dns->stats.failures++;
	fn(arg, status, status == 0 ? &res : NULL);
}

/* The answer is final: cache it, and let the loop deliver it. */
static void query_settle(struct nr_dns_query *q, int status)
{
	struct nr_dns *dns = q->dns;

	io_close(dns->loop, &q->udp);
	tcp_close(q);
	q->status = status;
	q->answered = 1;
	if (status == 0) {
		q->result.ttl_s = q->ttl < dns->opts.max_ttl_s ? q->ttl : dns->opts.max_ttl_s;
		nr_dns_cache_put(&dns->cache, q->key, nr_loop_now(dns->loop), q->result.addrs,
				 q->result.count, q->result.ttl_s);
	} else {
		nr_info("dns: lookup of %s failed: %s", q->key, nr_strerror(status));
	}
	if (nr_timer_arm(dns->loop, &q->timer, 0) != 0) {
		nr_err("dns: cannot arm the answer timer");
		query_deliver(q, NR_ENOMEM);
	}
}

/* One question has its outcome; when every one has, so has the lookup:
 * the addresses of both in dns.h's order, else the first real failure
 * ahead of "not found". */
static void leg_end(struct nr_dns_query *q, struct nr_dns_leg *leg, int err)
{
	int i, status;

	leg->done = 1;
	leg->err = err;
	for (i = 0; i < NR_DNS_LEGS; i++) {
		if (!q->legs[i].done)
			return;
	}
	q->result.count = nr_dns_sort(q->result.addrs, q->result.count, q->dns->opts.order);
	status = q->result.count ? 0 : NR_ENOTFOUND;
	for (i = 0; i < NR_DNS_LEGS && status != 0; i++) {
		if (q->legs[i].err != 0 && q->legs[i].err != NR_ENOTFOUND)
			status = q->legs[i].err;
	}
	/* Not found: the next name of the search list, if there is one. */
	if (status == NR_ENOTFOUND && candidate_next(q) == 0)
		return;
	query_settle(q, status);
}

/* The addresses of one answer join the lookup's. */
static void leg_answered(struct nr_dns_query *q, struct nr_dns_leg *leg,
			 const struct nr_dns_answer *ans)
{
	size_t i;

	for (i = 0; i < ans->count && q->result.count < CONFIG_NR_DNS_MAX_ADDRS; i++)
		q->result.addrs[q->result.count++] = ans->addrs[i];
	if (ans->count && ans->ttl < q->ttl)
		q->ttl = ans->ttl;
	leg_end(q, leg, ans->count ? 0 : NR_ENOTFOUND);
}

/* Open a socket to the current server and ask it every open UDP question,
 * each with a new ID. 0, or why the server cannot be asked (on loopback an
 * ICMP "port unreachable" already fails the second send). */
static int server_ask(struct nr_dns_query *q)
{
	const struct nr_addr *srv = &q->servers[q->server];
	nr_sock_t s;
	int i, ret;

	ret = nr_plat_udp_open(srv->family, &s);
	if (ret == 0) {
		nr_io_init(&q->udp, s, NR_POLL_IN, on_udp, q);
		ret = nr_plat_sock_connect(s, srv);
		if (ret == 0)
			ret = nr_loop_add(q->dns->loop, &q->udp);
		if (ret != 0)
			io_close(q->dns->loop, &q->udp);
	}
	for (i = 0; ret == 0 && i < NR_DNS_LEGS; i++) {
		struct nr_dns_leg *leg = &q->legs[i];
		long n;

		if (leg->done || leg->tcp)
			continue;
		ret = nr_plat_entropy(leg->query, 2); /* the ID */
		if (ret == 0) {
			n = nr_plat_udp_send(s, leg->query, leg->qlen);
			ret = n < 0 ? (int)n : 0;
		}
	}
	if (ret != 0) {
		char ip[64];

		nr_debug("dns: cannot ask %s for %s: %s", nr_addr_ntop(srv, ip, sizeof(ip)), q->key,
			 nr_strerror(ret));
	}
	return ret;
}

/* On to the next server. When it cannot be asked, the timer counts that
 * as its failure on the next turn (never from inside this call). */
static void server_next(struct nr_dns_query *q)
{
	io_close(q->dns->loop, &q->udp);
	q->server = (q->server + 1) % q->nservers;
	if (server_ask(q) != 0) {
		q->ask_failed = 1;
		if (nr_timer_arm(q->dns->loop, &q->timer, 0) != 0)
			q->ask_failed = 0; /* the retry timer stays */
	}
}

/* The current server failed every open UDP question ("port unreachable",
 * no socket): NR_EDNS for those that every server has failed, the next
 * server for the others. */
static void server_failed(struct nr_dns_query *q)
{
	int i;

	for (i = 0; i < NR_DNS_LEGS && !q->answered; i++) {
		struct nr_dns_leg *leg = &q->legs[i];

		if (!leg->done && !leg->tcp && ++leg->refusals >= q->nservers)
			leg_end(q, leg, NR_EDNS);
	}
	if (!q->answered)
		server_next(q);
}

/* The current server failed leg (SERVFAIL, REFUSED, a bad answer, "port
 * unreachable"): NR_EDNS once every server has, else the next server. */
static void leg_refused(struct nr_dns_query *q, struct nr_dns_leg *leg)
{
	if (++leg->refusals >= q->nservers)
		leg_end(q, leg, NR_EDNS);
	if (!q->answered)
		server_next(q);
}

/* ---- TCP, for a truncated answer ---------------------------------------------------- */

/* Every TCP question still open fails (the connection broke). */
static void tcp_fail(struct nr_dns_query *q, const char *why)
{
	int i;

	nr_info("dns: TCP to the server for %s: %s", q->key, why);
	tcp_close(q);
	for (i = 0; i < NR_DNS_LEGS && !q->answered; i++) {
		if (q->legs[i].tcp && !q->legs[i].done)
			leg_end(q, &q->legs[i], NR_EDNS);
	}
}

/* Ask leg again over TCP (RFC 1035 4.2.2: each message after its length). */
static void tcp_ask(struct nr_dns_query *q, struct nr_dns_leg *leg)
{
	const struct nr_addr *srv = &q->servers[q->server];
	nr_sock_t s;
	int ret = 0;

	leg->tcp = 1;
	if (q->tcp.sock == NR_SOCK_INVALID) {
		q->tcp_in = nr_malloc(NR_DNS_STUB_TCP_MAX + 2);
		ret = q->tcp_in ? nr_plat_tcp_open(srv->family, &s) : NR_ENOMEM;
		if (ret == 0) {
			nr_io_init(&q->tcp, s, NR_POLL_OUT, on_tcp, q);
			ret = nr_plat_sock_connect(s, srv);
		}
		if (ret == 0)
			ret = nr_loop_add(q->dns->loop, &q->tcp);
		if (ret != 0) {
			tcp_fail(q, nr_strerror(ret));
			return;
		}
	}
	q->tcp_out[q->tcp_out_len++] = (uint8_t)(leg->qlen >> 8);
	q->tcp_out[q->tcp_out_len++] = (uint8_t)leg->qlen;
	memcpy(q->tcp_out + q->tcp_out_len, leg->query, leg->qlen);
	q->tcp_out_len += leg->qlen;
	nr_loop_want(q->dns->loop, &q->tcp, NR_POLL_IN | NR_POLL_OUT);
}

/* Take every whole answer in tcp_in. */
static void tcp_answers(struct nr_dns_query *q)
{
	struct nr_dns_answer ans;
	size_t mlen;
	int i, ret;

	while (q->tcp_in && q->tcp_have >= 2 &&
	       q->tcp_have >= 2 + (mlen = (size_t)(q->tcp_in[0] << 8 | q->tcp_in[1]))) {
		for (i = 0; i < NR_DNS_LEGS; i++) {
			struct nr_dns_leg *leg = &q->legs[i];

			if (!leg->tcp || leg->done)
				continue;
			ret = nr_dns_wire_answer(q->tcp_in + 2, mlen, leg->query, leg->qlen, &ans);
			if (ret == NR_EINVAL)
				continue;
			if (ret != 0 || (ans.rcode != 0 && ans.rcode != 3))
				leg_end(q, leg, NR_EDNS);
			else if (ans.rcode == 3)
				leg_end(q, leg, NR_ENOTFOUND);
			else
				leg_answered(q, leg, &ans);
			break;
		}
		if (q->answered || !q->tcp_in)
			return; /* settled: the connection is closed */
		q->tcp_have -= 2 + mlen;
		memmove(q->tcp_in, q->tcp_in + 2 + mlen, q->tcp_have);
	}
}

static void on_tcp(struct nr_loop *loop, void *arg, unsigned events)
{
	struct nr_dns_query *q = arg;
	long n;
	int ret;

	if (!q->tcp_connected) {
		ret = nr_plat_tcp_connect_result(q->tcp.sock);
		if (ret == NR_EAGAIN)
			return;
		if (ret != 0) {
			tcp_fail(q, nr_strerror(ret));
			return;
		}
		q->tcp_connected = 1;
	}
	while (q->tcp_out_len > 0) {
		n = nr_plat_sock_write(q->tcp.sock, q->tcp_out, q->tcp_out_len);
		if (n == NR_EAGAIN)
			break;
		if (n < 0) {
			tcp_fail(q, nr_strerror((int)n));
			return;
		}
		q->tcp_out_len -= (size_t)n;
		memmove(q->tcp_out, q->tcp_out + n, q->tcp_out_len);
	}
	nr_loop_want(loop, &q->tcp, NR_POLL_IN | (q->tcp_out_len ? NR_POLL_OUT : 0u));
	if (!(events & (NR_POLL_IN | NR_POLL_HUP | NR_POLL_ERR)))
		return;
	if (q->tcp_have >= NR_DNS_STUB_TCP_MAX + 2) {
		tcp_fail(q, "answer longer than 4096 bytes");
		return;
	}
	n = nr_plat_sock_read(q->tcp.sock, q->tcp_in + q->tcp_have,
			      NR_DNS_STUB_TCP_MAX + 2 - q->tcp_have);
	if (n == NR_EAGAIN)
		return;
	if (n < 0) {
		tcp_fail(q, n == NR_ECLOSED ? "closed before the answer" : nr_strerror((int)n));
		return;
	}
	q->tcp_have += (size_t)n;
	tcp_answers(q);
}

/* ---- UDP ------------------------------------------------------------------------------ */

/* One datagram from the current server: the answer to which question? */
static void udp_answer(struct nr_dns_query *q, const uint8_t *msg, size_t len)
{
	struct nr_dns_answer ans;
	int i, ret;

	for (i = 0; i < NR_DNS_LEGS; i++) {
		struct nr_dns_leg *leg = &q->legs[i];

		if (leg->done || leg->tcp)
			continue;
		ret = nr_dns_wire_answer(msg, len, leg->query, leg->qlen, &ans);
		if (ret == NR_EINVAL)
			continue; /* not this question's answer */
		if (ret != 0 || (ans.rcode != 0 && ans.rcode != 3))
			leg_refused(q, leg);
		else if (ans.rcode == 3)
			leg_end(q, leg, NR_ENOTFOUND);
		else if (ans.truncated)
			tcp_ask(q, leg);
		else
			leg_answered(q, leg, &ans);
		return;
	}
}

static void on_udp(struct nr_loop *loop, void *arg, unsigned events)
{
	struct nr_dns_query *q = arg;
	nr_sock_t s = q->udp.sock;
	uint8_t msg[NR_DNS_UDP_MAX];
	long n;

	/* Until the socket is empty, or replaced (the next server), or the
	 * lookup settled. */
	while (q->used && !q->answered && q->udp.sock == s) {
		n = nr_plat_udp_recv(s, msg, sizeof(msg), NULL);
		if (n == NR_EAGAIN)
			return;
		if (n >= 0) {
			udp_answer(q, msg, (size_t)n);
			continue;
		}
		server_failed(q); /* "port unreachable" or worse */
	}
}

/* ---- the lookup ----------------------------------------------------------------------- */

/* The timer at the next server's turn, or at the deadline if sooner. */
static int arm_next_try(struct nr_dns_query *q, uint64_t now)
{
	uint64_t at = now + NR_DNS_STUB_RETRY_MS;

	return nr_timer_arm_at(q->dns->loop, &q->timer, q->deadline < at ? q->deadline : at);
}

static void on_query_timer(struct nr_loop *loop, void *arg)
{
	struct nr_dns_query *q = arg;
	uint64_t now = nr_loop_now(loop);

	if (q->answered) {
		query_deliver(q, q->status);
		return;
	}
	if (now >= q->deadline) {
		nr_warn("dns: lookup of %s timed out", q->key);
		query_deliver(q, NR_ETIMEDOUT);
		return;
	}
	if (q->ask_failed) {
		q->ask_failed = 0;
		server_failed(q);
	} else {
		server_next(q); /* silence: the next server */
	}
	if (q->answered || q->ask_failed)
		return; /* the timer is armed at 0 */
	if (arm_next_try(q, now) != 0)
		query_deliver(q, NR_ENOMEM);
}

static struct nr_dns_query *query_alloc(struct nr_dns *dns)
{
	size_t i;

	for (i = 0; i < CONFIG_NR_DNS_MAX_QUERIES; i++) {
		struct nr_dns_query *q = &dns->queries[i];

		if (!q->used) {
			memset(q, 0, sizeof(*q));
			q->dns = dns;
			nr_timer_init(&q->timer, on_query_timer, q);
			nr_io_init(&q->udp, NR_SOCK_INVALID, 0, on_udp, q);
			nr_io_init(&q->tcp, NR_SOCK_INVALID, 0, on_tcp, q);
			return q;
		}
	}
	return NULL;
}

/* /etc/hosts: 1 when it names key (q->result filled), else 0. */
static int hosts_lookup(struct nr_dns_query *q)
{
	char *text;
	size_t len;

	if (nr_plat_file_read(nr_dns_stub_hosts, NR_DNS_STUB_FILE_MAX, &text, &len) != 0)
		return 0;
	q->result.count = nr_dns_hosts_find(text, q->key, q->result.addrs, CONFIG_NR_DNS_MAX_ADDRS);
	nr_free(text);
	q->result.count = nr_dns_sort(q->result.addrs, q->result.count, q->dns->opts.order);
	return q->result.count > 0;
}

/* Ask for name: both questions afresh, the first server first. A server
 * that cannot be asked is the timer's at once (as in server_next). */
static int legs_start(struct nr_dns_query *q, const char *name)
{
	static const uint16_t types[2] = {NR_DNS_TYPE_A, NR_DNS_TYPE_AAAA};
	long n;
	int i;

	io_close(q->dns->loop, &q->udp);
	tcp_close(q);
	for (i = 0; i < NR_DNS_LEGS; i++) {
		struct nr_dns_leg *leg = &q->legs[i];

		n = nr_dns_wire_query(leg->query, sizeof(leg->query), 0, name, types[i]);
		if (n < 0)
			return (int)n;
		leg->qlen = (size_t)n;
		leg->done = leg->tcp = 0;
		leg->err = 0;
		leg->refusals = 0;
	}
	q->result.count = 0;
	q->ttl = UINT32_MAX;
	q->server = 0;
	if (server_ask(q) != 0) {
		q->ask_failed = 1;
		return nr_timer_arm(q->dns->loop, &q->timer, 0);
	}
	return 0;
}

/* Ask the next name of the search list: 0 when asked, NR_ENOTFOUND when
 * the list is done (the name alone was the last). */
static int candidate_next(struct nr_dns_query *q)
{
	char name[NR_DNS_NAME_MAX + 2];
	size_t klen = strlen(q->key);

	while (q->search[q->search_at] != '\0') {
		const char *d = q->search + q->search_at;
		size_t dlen = strcspn(d, " ");

		q->search_at += dlen + (d[dlen] == ' ');
		if (klen + 1 + dlen > NR_DNS_NAME_MAX)
			continue;
		memcpy(name, q->key, klen);
		name[klen] = '.';
		memcpy(name + klen + 1, d, dlen);
		name[klen + 1 + dlen] = '\0';
		if (legs_start(q, name) == 0)
			return 0;
	}
	if (q->bare_left) {
		q->bare_left = 0;
		if (legs_start(q, q->key) == 0)
			return 0;
	}
	return NR_ENOTFOUND;
}

/* The servers to ask, and for a name without a dot (and without a
 * dns_server) the search domains to try it in. */
static void conf_load(struct nr_dns_query *q, const char *name)
{
	struct nr_dns *dns = q->dns;
	char *text = NULL;
	size_t len;

	q->search[0] = '\0';
	if (dns->opts.server) {
		q->servers[0] = *dns->opts.server;
		q->nservers = 1;
	} else if (nr_plat_file_read(nr_dns_stub_resolv_conf, NR_DNS_STUB_FILE_MAX, &text, &len) ==
		   0) {
		q->nservers = (unsigned)nr_dns_conf_servers(text, q->servers, NR_DNS_STUB_SERVERS);
		if (!strchr(name, '.'))
			(void)nr_dns_conf_search(text, q->search, sizeof(q->search));
		nr_free(text);
	}
	if (q->nservers == 0) {
		memset(&q->servers[0], 0, sizeof(q->servers[0]));
		q->servers[0].family = NR_AF_INET4;
		q->servers[0].ip[0] = 127;
		q->servers[0].ip[3] = 1;
		q->servers[0].port = 53;
		q->nservers = 1;
	}
}

/* The lookup's first question, its retry timer and its deadline. */
static int query_start(struct nr_dns_query *q, const char *name)
{
	uint64_t now = nr_loop_now(q->dns->loop);
	int ret;

	conf_load(q, name);
	q->search_at = 0;
	q->bare_left = 1;
	q->deadline = now + q->dns->opts.timeout_ms;
	ret = arm_next_try(q, now);
	if (ret == 0)
		ret = candidate_next(q) == 0 ? 0 : NR_EINVAL;
	return ret;
}

int nr_dns_resolve(struct nr_dns *dns, const char *name, nr_dns_fn fn, void *arg,
		   struct nr_dns_query **out)
{
	struct nr_dns_query *q;
	struct nr_addr lit;
	int kind = nr_dns_classify(name, &lit), ret;

	if (out)
		*out = NULL;
	if (kind < 0 || !fn)
		return NR_EINVAL;
	q = query_alloc(dns);
	if (!q)
		return NR_ENOMEM;
	q->fn = fn;
	q->arg = arg;
	q->used = 1;
	if (kind == NR_DNS_LITERAL) {
		q->result.count = 1;
		q->result.addrs[0] = lit;
		q->answered = 1;
	} else {
		nr_dns_cache_key(q->key, name);
		if (nr_dns_cache_get(&dns->cache, q->key, nr_loop_now(dns->loop), &q->result)) {
			dns->stats.cache_hits++;
			q->answered = 1;
		} else if (!dns->opts.server && hosts_lookup(q)) {
			q->answered = 1;
		}
	}
	if (q->answered) {
		/* Never call back from inside resolve: the caller is mid-setup. */
		ret = nr_timer_arm(dns->loop, &q->timer, 0);
	} else {
		ret = query_start(q, name);
		if (ret == 0)
			dns->stats.queries++;
	}
	if (ret != 0) {
		query_release(q);
		return ret;
	}
	dns->stats.lookups++;
	if (out)
		*out = q;
	return 0;
}

void nr_dns_cancel(struct nr_dns *dns, struct nr_dns_query *q)
{
	if (q && q->used)
		query_release(q);
}

void nr_dns_cache_flush(struct nr_dns *dns)
{
	nr_dns_cache_clear(&dns->cache);
}

void nr_dns_get_stats(const struct nr_dns *dns, struct nr_dns_stats *out)
{
	*out = dns->stats;
}

int nr_dns_new_opts(struct nr_dns **out, struct nr_loop *loop, const struct nr_dns_opts *opts)
{
	struct nr_dns *dns;

	*out = NULL;
	if (opts && opts->server && opts->server->family != NR_AF_NONE &&
	    opts->server->family != NR_AF_INET4 &&
	    (opts->server->family != NR_AF_INET6 || !NR_ENABLED(CONFIG_NR_IPV6)))
		return NR_EINVAL;
	dns = nr_calloc(1, sizeof(*dns));
	if (!dns)
		return NR_ENOMEM;
	dns->loop = loop;
	dns->opts.timeout_ms = 5000;
	dns->opts.max_ttl_s = 3600;
	if (opts) {
		if (opts->timeout_ms)
			dns->opts.timeout_ms = opts->timeout_ms;
		dns->opts.max_ttl_s = opts->max_ttl_s;
		dns->opts.order = opts->order;
		if (opts->server && opts->server->family != NR_AF_NONE) {
			dns->server = *opts->server;
			if (dns->server.port == 0)
				dns->server.port = 53;
			dns->opts.server = &dns->server;
		}
	}
	*out = dns;
	return 0;
}

int nr_dns_new(struct nr_dns **out, struct nr_loop *loop, const struct nr_addr *server)
{
	struct nr_dns_opts opts;

	memset(&opts, 0, sizeof(opts));
	opts.server = server;
	opts.max_ttl_s = 3600;
	return nr_dns_new_opts(out, loop, &opts);
}

void nr_dns_free(struct nr_dns *dns)
{
	size_t i;

	if (!dns)
		return;
	for (i = 0; i < CONFIG_NR_DNS_MAX_QUERIES; i++)
		nr_dns_cancel(dns, &dns->queries[i]);
	nr_free(dns);
}

const char *nr_dns_library(void)
{
	return "nanorelay stub resolver";
}
