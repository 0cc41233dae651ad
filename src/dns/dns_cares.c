/*
 * dns_cares.c - the c-ares adapter: the only file that includes ares.h.
 *
 * c-ares runs inside our loop (PLATFORM-NOTES, c-ares): ARES_OPT_SOCK_STATE_CB
 * tells us which sockets to watch (each becomes an nr_io), ares_timeout()
 * arms one nr_timer, and ready sockets or the timer call back into c-ares
 * (ares_process_fds on 1.34+, ares_process_fd before). Lookups use
 * ares_getaddrinfo (A and AAAA together, TTLs per address). Builds against
 * c-ares 1.18 and 1.34.
 *
 * c-ares opens no socket of its own: its socket functions
 * (ares_set_socket_functions_ex on 1.34+, ares_set_socket_functions before)
 * are ours and go through the contract's UDP and TCP calls (platform.h),
 * so the resolver reaches the network exactly as the rest of the relay
 * does. c-ares reads errno after a failed call, hence <errno.h> here.
 */
#include "dns/dns_priv.h"

#include <ares.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/addr.h"
#include "core/log.h"
#include "core/mem.h"

/* 1.34.0: ares_process_fds() replaces the deprecated ares_process_fd(), and
 * ares_set_socket_functions_ex() the deprecated ares_set_socket_functions(). */
#define NR_CARES_HAS_PROCESS_FDS (ARES_VERSION >= 0x012200)
#define NR_CARES_HAS_SOCKFUNC_EX (ARES_VERSION >= 0x012200)
/* A channel has a UDP socket per server plus TCP for truncated answers. */
#define NR_DNS_MAX_SOCKS 8

enum nr_dns_query_state {
	NR_DNSQ_FREE = 0,  /* slot unused */
	NR_DNSQ_IMMEDIATE, /* literal or cache hit, answered by a 0 ms timer */
	NR_DNSQ_RESOLVING, /* c-ares lookup in flight, user waiting */
	NR_DNSQ_ABANDONED, /* c-ares lookup in flight, user gone (cancel/timeout) */
};

struct nr_dns_query {
	struct nr_dns *dns;
	enum nr_dns_query_state state;
	nr_dns_fn fn;
	void *arg;
	struct nr_timer timer; /* immediate answer, or the lookup deadline */
	int status;            /* outcome for NR_DNSQ_IMMEDIATE */
	struct nr_dns_result result;
	char key[NR_DNS_NAME_MAX + 1];
};

/* A socket c-ares opened through us; io.sock is the contract's socket. */
struct nr_dns_sock {
	int used;    /* open */
	int tcp;     /* else UDP */
	int watched; /* io registered with the loop */
	struct nr_io io;
	struct nr_dns *dns;
};

struct nr_dns {
	struct nr_loop *loop;
	ares_channel channel;
	struct nr_dns_opts opts;
	struct nr_timer ares_timer;
	struct nr_dns_sock socks[NR_DNS_MAX_SOCKS];
	struct nr_dns_query queries[CONFIG_NR_DNS_MAX_QUERIES];
	struct nr_dns_cache cache;
	struct nr_dns_stats stats;
	int freeing;
	int in_resolve; /* inside nr_dns_resolve: answers must wait a turn */
};

static int status_to_err(int status)
{
	switch (status) {
	case ARES_SUCCESS:
		return 0;
	case ARES_ENOTFOUND:
	case ARES_ENODATA:
	case ARES_ENONAME:
		return NR_ENOTFOUND;
	case ARES_ETIMEOUT:
		return NR_ETIMEDOUT;
	case ARES_ENOMEM:
		return NR_ENOMEM;
	default:
		return NR_EDNS;
	}
}

/* Ask c-ares when it next needs a call without socket activity. */
static void rearm_ares_timer(struct nr_dns *dns)
{
	struct timeval tv, *tvp;
	uint64_t ms;

	if (dns->freeing)
		return;
	tvp = ares_timeout(dns->channel, NULL, &tv);
	if (!tvp) {
		nr_timer_cancel(dns->loop, &dns->ares_timer);
		return;
	}
	ms = (uint64_t)tvp->tv_sec * 1000 + (uint64_t)(tvp->tv_usec + 999) / 1000;
	if (nr_timer_arm(dns->loop, &dns->ares_timer, ms) != 0)
		nr_err("dns: cannot arm resolver timer");
}

static void process(struct nr_dns *dns, nr_sock_t fd, unsigned events)
{
#if NR_CARES_HAS_PROCESS_FDS
	ares_fd_events_t ev;

	ev.fd = fd;
	ev.events = 0;
	if (events & (NR_POLL_IN | NR_POLL_ERR | NR_POLL_HUP))
		ev.events |= ARES_FD_EVENT_READ;
	if (events & NR_POLL_OUT)
		ev.events |= ARES_FD_EVENT_WRITE;
	if (fd == NR_SOCK_INVALID)
		(void)ares_process_fds(dns->channel, NULL, 0, ARES_PROCESS_FLAG_NONE);
	else
		(void)ares_process_fds(dns->channel, &ev, 1, ARES_PROCESS_FLAG_NONE);
#else
	ares_socket_t rfd = ARES_SOCKET_BAD, wfd = ARES_SOCKET_BAD;

	if (fd != NR_SOCK_INVALID && (events & (NR_POLL_IN | NR_POLL_ERR | NR_POLL_HUP)))
		rfd = fd;
	if (fd != NR_SOCK_INVALID && (events & NR_POLL_OUT))
		wfd = fd;
	ares_process_fd(dns->channel, rfd, wfd);
#endif
	rearm_ares_timer(dns);
}

static void on_sock_ready(struct nr_loop *loop, void *arg, unsigned events)
{
	struct nr_dns_sock *s = arg;

	process(s->dns, s->io.sock, events);
}

static void on_ares_timer(struct nr_loop *loop, void *arg)
{
	process(arg, NR_SOCK_INVALID, 0);
}

static struct nr_dns_sock *sock_find(struct nr_dns *dns, ares_socket_t fd)
{
	size_t i;

	for (i = 0; i < NR_DNS_MAX_SOCKS; i++) {
		if (dns->socks[i].used && dns->socks[i].io.sock == (nr_sock_t)fd)
			return &dns->socks[i];
	}
	return NULL;
}

static void sock_unwatch(struct nr_dns_sock *s)
{
	if (s->watched)
		nr_loop_del(s->dns->loop, &s->io);
	s->watched = 0;
}

/* ARES_OPT_SOCK_STATE_CB: what c-ares wants to hear about one of the
 * sockets it opened through sock_open (nothing: stop watching it). */
static void on_sock_state(void *data, ares_socket_t fd, int readable, int writable)
{
	struct nr_dns *dns = data;
	struct nr_dns_sock *s = sock_find(dns, fd);
	unsigned want = (readable ? NR_POLL_IN : 0u) | (writable ? NR_POLL_OUT : 0u);

	if (!s || dns->freeing)
		return;
	if (want == 0) {
		sock_unwatch(s);
	} else if (s->watched) {
		nr_loop_want(dns->loop, &s->io, want);
	} else {
		s->io.want = want;
		if (nr_loop_add(dns->loop, &s->io) != 0) {
			/* c-ares then times the query out: deferred, never lost. */
			nr_err("dns: event loop full, resolver socket not watched");
			return;
		}
		s->watched = 1;
	}
}

/* ---- c-ares's socket functions, on the contract --------------------------------- */
/* c-ares speaks struct sockaddr (its ares.h brings the system's socket
 * types in); the contract speaks nr_addr. A sockaddr's port is in network
 * byte order: read and written byte by byte (no <arpa/inet.h> in src/). */
static int addr_from_sockaddr(const struct sockaddr *sa, size_t len, struct nr_addr *a)
{
	const unsigned char *port;

	memset(a, 0, sizeof(*a));
	if (sa->sa_family == AF_INET && len >= sizeof(struct sockaddr_in)) {
		const struct sockaddr_in *sin = (const void *)sa;

		a->family = NR_AF_INET4;
		memcpy(a->ip, &sin->sin_addr, 4);
		port = (const unsigned char *)&sin->sin_port;
	} else if (sa->sa_family == AF_INET6 && len >= sizeof(struct sockaddr_in6)) {
		const struct sockaddr_in6 *sin6 = (const void *)sa;

		a->family = NR_AF_INET6;
		memcpy(a->ip, &sin6->sin6_addr, 16);
		a->scope_id = sin6->sin6_scope_id;
		port = (const unsigned char *)&sin6->sin6_port;
	} else {
		return NR_EINVAL;
	}
	a->port = (uint16_t)(port[0] << 8 | port[1]);
	return 0;
}

/* a as a sockaddr in sa (*len bytes available): its length, or 0 when it
 * does not fit. */
static ares_socklen_t addr_to_sockaddr(const struct nr_addr *a, struct sockaddr *sa,
				       ares_socklen_t len)
{
	unsigned char *port;
	ares_socklen_t need;

	if (a->family == NR_AF_INET4 && len >= (need = sizeof(struct sockaddr_in))) {
		struct sockaddr_in *sin = (void *)sa;

		memset(sin, 0, sizeof(*sin));
		sin->sin_family = AF_INET;
		memcpy(&sin->sin_addr, a->ip, 4);
		port = (unsigned char *)&sin->sin_port;
	} else if (a->family == NR_AF_INET6 && len >= (need = sizeof(struct sockaddr_in6))) {
		struct sockaddr_in6 *sin6 = (void *)sa;

		memset(sin6, 0, sizeof(*sin6));
		sin6->sin6_family = AF_INET6;
		memcpy(&sin6->sin6_addr, a->ip, 16);
		sin6->sin6_scope_id = a->scope_id;
		port = (unsigned char *)&sin6->sin6_port;
	} else {
		return 0;
	}
	port[0] = (unsigned char)(a->port >> 8);
	port[1] = (unsigned char)(a->port & 0xff);
	return need;
}

/* A contract error as the errno c-ares looks at; returns -1 for c-ares. */
static int fail_errno(int err)
{
	switch (err) {
	case NR_EAGAIN:
		errno = EAGAIN;
		break;
	case NR_ECONNREFUSED:
		errno = ECONNREFUSED;
		break;
	case NR_ERESET:
		errno = ECONNRESET;
		break;
	case NR_EUNREACH:
		errno = ENETUNREACH;
		break;
	case NR_ENOMEM:
		errno = ENOMEM;
		break;
	case NR_EINVAL:
	case NR_ENOTSUP:
		errno = EAFNOSUPPORT;
		break;
	default:
		errno = EIO;
	}
	return -1;
}

static ares_socket_t sock_open(int domain, int type, int protocol, void *data)
{
	struct nr_dns *dns = data;
	struct nr_dns_sock *s = NULL;
	uint8_t family = domain == AF_INET ? NR_AF_INET4 : domain == AF_INET6 ? NR_AF_INET6 : 0;
	nr_sock_t fd;
	size_t i;
	int ret;

	for (i = 0; i < NR_DNS_MAX_SOCKS && !s; i++) {
		if (!dns->socks[i].used)
			s = &dns->socks[i];
	}
	if (!s) {
		nr_err("dns: more than %d resolver sockets", NR_DNS_MAX_SOCKS);
		fail_errno(NR_ENOMEM);
		return ARES_SOCKET_BAD;
	}
	if (type == SOCK_STREAM)
		ret = nr_plat_tcp_open(family, &fd);
	else if (type == SOCK_DGRAM)
		ret = nr_plat_udp_open(family, &fd);
	else
		ret = NR_EINVAL;
	if (ret != 0) {
		fail_errno(ret);
		return ARES_SOCKET_BAD;
	}
	memset(s, 0, sizeof(*s));
	s->used = 1;
	s->tcp = type == SOCK_STREAM;
	s->dns = dns;
	nr_io_init(&s->io, fd, 0, on_sock_ready, s);
	return (ares_socket_t)fd;
}

static int sock_close(ares_socket_t fd, void *data)
{
	struct nr_dns_sock *s = sock_find(data, fd);

	if (!s)
		return fail_errno(NR_EINVAL);
	sock_unwatch(s);
	nr_plat_sock_close(s->io.sock);
	s->used = 0;
	return 0;
}

/* A TCP connect that is under way is success for c-ares (errno
 * EINPROGRESS): it waits for the socket to become writable. */
static int sock_connect(ares_socket_t fd, const struct sockaddr *sa, ares_socklen_t len, void *data)
{
	struct nr_dns_sock *s = sock_find(data, fd);
	struct nr_addr a;
	int ret;

	if (!s || addr_from_sockaddr(sa, len, &a) != 0)
		return fail_errno(NR_EINVAL);
	ret = nr_plat_sock_connect(s->io.sock, &a);
	if (ret != 0)
		return fail_errno(ret);
	if (s->tcp) {
		errno = EINPROGRESS;
		return -1;
	}
	return 0;
}

/* UDP: one datagram and its sender; TCP: bytes, 0 at the end. */
static ares_ssize_t sock_recvfrom(ares_socket_t fd, void *buf, size_t len, int flags,
				  struct sockaddr *from, ares_socklen_t *from_len, void *data)
{
	struct nr_dns_sock *s = sock_find(data, fd);
	struct nr_addr a;
	long n;

	if (!s)
		return fail_errno(NR_EINVAL);
	if (s->tcp) {
		n = nr_plat_sock_read(s->io.sock, buf, len);
		return n == NR_ECLOSED ? 0 : n < 0 ? fail_errno((int)n) : n;
	}
	n = nr_plat_udp_recv(s->io.sock, buf, len, &a);
	if (n < 0)
		return fail_errno((int)n);
	if (from && from_len)
		*from_len = addr_to_sockaddr(&a, from, *from_len);
	return n;
}

static ares_ssize_t sock_send(struct nr_dns_sock *s, const void *buf, size_t len)
{
	long n;

	if (s->tcp)
		n = nr_plat_sock_write(s->io.sock, buf, len);
	else
		n = nr_plat_udp_send(s->io.sock, buf, len);
	return n < 0 ? fail_errno((int)n) : n;
}

#if NR_CARES_HAS_SOCKFUNC_EX
/* Only for TCP Fast Open (never asked for: no address) and a connected
 * UDP socket (address NULL). */
static ares_ssize_t sock_sendto(ares_socket_t fd, const void *buf, size_t len, int flags,
				const struct sockaddr *to, ares_socklen_t to_len, void *data)
{
	struct nr_dns_sock *s = sock_find(data, fd);

	if (!s || to)
		return fail_errno(NR_EINVAL);
	return sock_send(s, buf, len);
}

/* flags could ask for TCP Fast Open, which sock_setsockopt refused. */
static int sock_connect_ex(ares_socket_t fd, const struct sockaddr *sa, ares_socklen_t len,
			   unsigned int flags, void *data)
{
	return sock_connect(fd, sa, len, data);
}

/* Buffer sizes, a device to bind, TCP Fast Open: none of them here. */
static int sock_setsockopt(ares_socket_t fd, ares_socket_opt_t opt, const void *val,
			   ares_socklen_t len, void *data)
{
	errno = ENOSYS;
	return -1;
}

static const struct ares_socket_functions_ex sock_funcs = {
    .version = 1,
    .flags = ARES_SOCKFUNC_FLAG_NONBLOCKING,
    .asocket = sock_open,
    .aclose = sock_close,
    .asetsockopt = sock_setsockopt,
    .aconnect = sock_connect_ex,
    .arecvfrom = sock_recvfrom,
    .asendto = sock_sendto,
};

static int install_sock_funcs(struct nr_dns *dns)
{
	return ares_set_socket_functions_ex(dns->channel, &sock_funcs, dns);
}
#else
/* c-ares before 1.34 writes a UDP query as one vector, TCP as several: a
 * short write ends the call, c-ares keeps the rest. */
static ares_ssize_t sock_sendv(ares_socket_t fd, const struct iovec *iov, int n, void *data)
{
	struct nr_dns_sock *s = sock_find(data, fd);
	ares_ssize_t total = 0, w;
	int i;

	if (!s || n < 1 || (!s->tcp && n != 1))
		return fail_errno(NR_EINVAL);
	for (i = 0; i < n; i++) {
		w = sock_send(s, iov[i].iov_base, iov[i].iov_len);
		if (w < 0)
			return total > 0 ? total : w;
		total += w;
		if ((size_t)w < iov[i].iov_len)
			break;
	}
	return total;
}

static const struct ares_socket_functions sock_funcs = {
    .asocket = sock_open,
    .aclose = sock_close,
    .aconnect = sock_connect,
    .arecvfrom = sock_recvfrom,
    .asendv = sock_sendv,
};

static int install_sock_funcs(struct nr_dns *dns)
{
	ares_set_socket_functions(dns->channel, &sock_funcs, dns);
	return ARES_SUCCESS;
}
#endif

static void query_release(struct nr_dns_query *q)
{
	nr_timer_cancel(q->dns->loop, &q->timer);
	q->state = NR_DNSQ_FREE;
	q->fn = NULL;
	q->arg = NULL;
}

/* Hand the outcome to the user and free the slot first, so the callback may
 * start a new lookup in it. */
static void query_finish(struct nr_dns_query *q, int status)
{
	nr_dns_fn fn = q->fn;
	void *arg = q->arg;
	struct nr_dns_result res = q->result;
	struct nr_dns *dns = q->dns;

	query_release(q);
	if (status != 0)
		dns->stats.failures++;
	fn(arg, status, status == 0 ? &res : NULL);
}

/* Immediate answers (literal, cache) and the overall lookup deadline. */
static void on_query_timer(struct nr_loop *loop, void *arg)
{
	struct nr_dns_query *q = arg;

	if (q->state == NR_DNSQ_IMMEDIATE) {
		query_finish(q, q->status);
		return;
	}
	if (q->state == NR_DNSQ_RESOLVING) {
		/* c-ares keeps the slot until it gives up itself. */
		nr_warn("dns: lookup of %s timed out", q->key);
		q->state = NR_DNSQ_ABANDONED;
		q->dns->stats.failures++;
		q->fn(q->arg, NR_ETIMEDOUT, NULL);
	}
}

static size_t collect(struct nr_dns_query *q, const struct ares_addrinfo *ai, uint32_t *ttl)
{
	const struct ares_addrinfo_node *n;
	struct nr_dns_result *r = &q->result;
	uint32_t min_ttl = UINT32_MAX;

	r->count = 0;
	for (n = ai ? ai->nodes : NULL; n && r->count < CONFIG_NR_DNS_MAX_ADDRS; n = n->ai_next) {
		if (addr_from_sockaddr(n->ai_addr, n->ai_addrlen, &r->addrs[r->count]) != 0)
			continue;
		r->addrs[r->count].port = 0;
		if (n->ai_ttl >= 0 && (uint32_t)n->ai_ttl < min_ttl)
			min_ttl = (uint32_t)n->ai_ttl;
		r->count++;
	}
	r->count = nr_dns_sort(r->addrs, r->count, q->dns->opts.order);
	*ttl = min_ttl == UINT32_MAX ? 0 : min_ttl;
	return r->count;
}

static void on_addrinfo(void *arg, int status, int timeouts, struct ares_addrinfo *ai)
{
	struct nr_dns_query *q = arg;
	struct nr_dns *dns = q->dns;
	uint32_t ttl = 0;
	int err = status_to_err(status);

	if (status == ARES_EDESTRUCTION || dns->freeing) {
		ares_freeaddrinfo(ai);
		q->state = NR_DNSQ_FREE;
		return;
	}
	if (err == 0 && collect(q, ai, &ttl) == 0)
		err = NR_ENOTFOUND;
	ares_freeaddrinfo(ai);
	if (err == 0) {
		if (ttl > dns->opts.max_ttl_s)
			ttl = dns->opts.max_ttl_s;
		q->result.ttl_s = ttl;
		q->result.from_cache = 0;
		/* Even an abandoned lookup fills the cache for the next one. */
		nr_dns_cache_put(&dns->cache, q->key, nr_loop_now(dns->loop), q->result.addrs,
				 q->result.count, ttl);
	} else {
		nr_info("dns: lookup of %s failed: %s", q->key, ares_strerror(status));
	}
	if (q->state == NR_DNSQ_ABANDONED) {
		query_release(q);
		return;
	}
	if (dns->in_resolve) {
		/* Answered synchronously (/etc/hosts, "localhost"): the caller
		 * gets it on the next turn, as promised. */
		q->status = err;
		q->state = NR_DNSQ_IMMEDIATE;
		if (nr_timer_arm(dns->loop, &q->timer, 0) == 0)
			return;
		err = NR_ENOMEM;
	}
	query_finish(q, err);
}

static struct nr_dns_query *query_alloc(struct nr_dns *dns)
{
	size_t i;

	for (i = 0; i < CONFIG_NR_DNS_MAX_QUERIES; i++) {
		struct nr_dns_query *q = &dns->queries[i];

		if (q->state == NR_DNSQ_FREE) {
			memset(q, 0, sizeof(*q));
			q->dns = dns;
			nr_timer_init(&q->timer, on_query_timer, q);
			return q;
		}
	}
	return NULL;
}

int nr_dns_resolve(struct nr_dns *dns, const char *name, nr_dns_fn fn, void *arg,
		   struct nr_dns_query **out)
{
	struct ares_addrinfo_hints hints;
	struct nr_dns_query *q;
	struct nr_addr lit;
	int kind = nr_dns_classify(name, &lit), ret = NR_EINVAL;

	if (out)
		*out = NULL;
	if (kind < 0 || !fn)
		goto out;
	q = query_alloc(dns);
	if (!q) {
		ret = NR_ENOMEM;
		goto out;
	}
	if (kind == NR_DNS_LITERAL) {
		q->result.count = 1;
		q->result.addrs[0] = lit;
		q->state = NR_DNSQ_IMMEDIATE;
	} else {
		nr_dns_cache_key(q->key, name);
		if (nr_dns_cache_get(&dns->cache, q->key, nr_loop_now(dns->loop), &q->result)) {
			dns->stats.cache_hits++;
			q->state = NR_DNSQ_IMMEDIATE;
		}
	}
	q->fn = fn;
	q->arg = arg;
	if (q->state == NR_DNSQ_IMMEDIATE) {
		/* Never call back from inside resolve: the caller is mid-setup. */
		ret = nr_timer_arm(dns->loop, &q->timer, 0);
		if (ret != 0)
			goto fail;
	} else {
		ret = nr_timer_arm(dns->loop, &q->timer, dns->opts.timeout_ms);
		if (ret != 0)
			goto fail;
		memset(&hints, 0, sizeof(hints));
		hints.ai_family = NR_ENABLED(CONFIG_NR_IPV6) ? AF_UNSPEC : AF_INET;
		hints.ai_flags = ARES_AI_NOSORT; /* we order them ourselves */
		q->state = NR_DNSQ_RESOLVING;
		dns->stats.queries++;
		/* May call on_addrinfo at once (e.g. /etc/hosts); then q is done. */
		dns->in_resolve = 1;
		ares_getaddrinfo(dns->channel, q->key, NULL, &hints, on_addrinfo, q);
		dns->in_resolve = 0;
		rearm_ares_timer(dns);
	}
	dns->stats.lookups++;
	if (out && q->state != NR_DNSQ_FREE)
		*out = q;
	return 0;
fail:
	query_release(q);
out:
	return ret;
}

void nr_dns_cancel(struct nr_dns *dns, struct nr_dns_query *q)
{
	if (!q)
		return;
	if (q->state == NR_DNSQ_IMMEDIATE) {
		query_release(q);
	} else if (q->state == NR_DNSQ_RESOLVING) {
		/* c-ares has no per-query cancel: let it finish into the cache. */
		nr_timer_cancel(dns->loop, &q->timer);
		q->state = NR_DNSQ_ABANDONED;
	}
}

void nr_dns_cache_flush(struct nr_dns *dns)
{
	nr_dns_cache_clear(&dns->cache);
}

void nr_dns_get_stats(const struct nr_dns *dns, struct nr_dns_stats *out)
{
	*out = dns->stats;
}

static int set_server(struct nr_dns *dns, const struct nr_addr *server)
{
	char ip[64], csv[80];
	unsigned port = server->port ? server->port : 53;
	int status;

	if (server->family != NR_AF_INET4 && server->family != NR_AF_INET6)
		return NR_EINVAL;
	nr_addr_ntop(server, ip, sizeof(ip));
	if (server->family == NR_AF_INET6)
		snprintf(csv, sizeof(csv), "[%s]:%u", ip, port);
	else
		snprintf(csv, sizeof(csv), "%s:%u", ip, port);
	status = ares_set_servers_ports_csv(dns->channel, csv);
	if (status != ARES_SUCCESS) {
		nr_err("dns: cannot use server %s: %s", csv, ares_strerror(status));
		return NR_EDNS;
	}
	return 0;
}

int nr_dns_new_opts(struct nr_dns **out, struct nr_loop *loop, const struct nr_dns_opts *opts)
{
	struct ares_options ao;
	struct nr_dns *dns;
	int optmask, status, ret = NR_ENOMEM;
	char lookups[] = "b";

	*out = NULL;
	dns = nr_calloc(1, sizeof(*dns));
	if (!dns)
		goto out;
	dns->loop = loop;
	dns->opts.timeout_ms = 5000;
	dns->opts.max_ttl_s = 3600;
	dns->opts.order = NR_DNS_ORDER_INTERLEAVE;
	if (opts) {
		if (opts->timeout_ms)
			dns->opts.timeout_ms = opts->timeout_ms;
		dns->opts.max_ttl_s = opts->max_ttl_s;
		dns->opts.order = opts->order;
		dns->opts.server = NULL;
	}
	nr_timer_init(&dns->ares_timer, on_ares_timer, dns);

	/* c-ares's heap is the core's too (core/mem.h: a firmware's hooks) */
	status = ares_library_init_mem(ARES_LIB_INIT_ALL, nr_malloc, nr_free, nr_realloc);
	if (status != ARES_SUCCESS) {
		ret = NR_EDNS;
		goto fail_free;
	}
	memset(&ao, 0, sizeof(ao));
	ao.sock_state_cb = on_sock_state;
	ao.sock_state_cb_data = dns;
	/* c-ares doubles the per-try timeout each round: 2 tries of t and 2t
	 * fit the lookup deadline, which our own timer enforces anyway. */
	ao.timeout = (int)(dns->opts.timeout_ms / 3 ? dns->opts.timeout_ms / 3 : 1);
	ao.tries = 2;
	optmask = ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES;
	if (opts && opts->server && opts->server->family != NR_AF_NONE) {
		/* An explicit server: DNS only, no /etc/hosts. */
		ao.lookups = lookups;
		optmask |= ARES_OPT_LOOKUPS;
	}
	status = ares_init_options(&dns->channel, &ao, optmask);
	if (status != ARES_SUCCESS) {
		nr_err("dns: resolver init failed: %s", ares_strerror(status));
		ret = status == ARES_ENOMEM ? NR_ENOMEM : NR_EDNS;
		goto fail_lib;
	}
	status = install_sock_funcs(dns);
	if (status != ARES_SUCCESS) {
		nr_err("dns: cannot give the resolver our sockets: %s", ares_strerror(status));
		ret = NR_EDNS;
		goto fail_channel;
	}
	if (opts && opts->server && opts->server->family != NR_AF_NONE) {
		ret = set_server(dns, opts->server);
		if (ret != 0)
			goto fail_channel;
	}
	*out = dns;
	return 0;
fail_channel:
	ares_destroy(dns->channel);
fail_lib:
	ares_library_cleanup();
fail_free:
	nr_free(dns);
out:
	return ret;
}

int nr_dns_new(struct nr_dns **out, struct nr_loop *loop, const struct nr_addr *server)
{
	struct nr_dns_opts opts;

	memset(&opts, 0, sizeof(opts));
	opts.server = server;
	opts.max_ttl_s = 3600;
	opts.order = NR_DNS_ORDER_INTERLEAVE;
	return nr_dns_new_opts(out, loop, &opts);
}

void nr_dns_free(struct nr_dns *dns)
{
	size_t i;

	if (!dns)
		return;
	dns->freeing = 1;
	for (i = 0; i < CONFIG_NR_DNS_MAX_QUERIES; i++) {
		if (dns->queries[i].state != NR_DNSQ_FREE)
			query_release(&dns->queries[i]);
	}
	/* Pending lookups end with ARES_EDESTRUCTION; callbacks are skipped. */
	ares_destroy(dns->channel);
	for (i = 0; i < NR_DNS_MAX_SOCKS; i++) {
		if (dns->socks[i].used) /* c-ares closes them all; just in case */
			(void)sock_close((ares_socket_t)dns->socks[i].io.sock, dns);
	}
	nr_timer_cancel(dns->loop, &dns->ares_timer);
	ares_library_cleanup();
	nr_free(dns);
}

const char *nr_dns_library(void)
{
	static char name[32];

	if (!name[0])
		snprintf(name, sizeof(name), "c-ares %s", ares_version(NULL));
	return name;
}
