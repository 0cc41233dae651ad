/*
 * rtos_net.c - TCP sockets, readiness and the wakeup on lwIP (platform/rtos).
 *
 * The lwIP mapping of platform.h's header comment: lwip_socket & co. with
 * LWIP_COMPAT_SOCKETS 0 (so no name clashes with a C library), every socket
 * non-blocking through lwip_fcntl, readiness through lwip_poll. lwIP sets
 * errno (the C library's, per task: arch/cc.h); it is translated here and
 * nowhere else. Only the relay's task calls these, except nr_plat_wake().
 */
#include <errno.h>
#include <string.h>

#include "lwip/netif.h"
#include "lwip/sockets.h"
#include "lwip/tcpip.h"

#include "nr_board.h"
#include "nr_config.h"
#include "rtos_dns.h"
#include "rtos_internal.h"

static int from_errno(int e)
{
	switch (e) {
	case EWOULDBLOCK:
#if EAGAIN != EWOULDBLOCK
	case EAGAIN:
#endif
	case EINTR:
	case EINPROGRESS:
	case EALREADY:
		return NR_EAGAIN;
	case ECONNRESET:
	case ECONNABORTED:
	case EPIPE:
	case ENOTCONN:
		return NR_ERESET;
	case ECONNREFUSED:
		return NR_ECONNREFUSED;
	case ETIMEDOUT:
		return NR_ETIMEDOUT;
	case EHOSTUNREACH:
	case ENETUNREACH:
		return NR_EUNREACH;
	case EADDRINUSE:
		return NR_EADDRINUSE;
	case EADDRNOTAVAIL:
		return NR_EADDRNOTAVAIL;
	case ENOMEM:
	case ENOBUFS:
	case ENFILE:
	case EMFILE:
		/* lwIP out of pcbs, netconns or pbufs: the core answers 421. */
		return NR_ENOMEM;
	case EINVAL:
	case EAFNOSUPPORT:
		return NR_EINVAL;
	}
	return NR_EIO;
}

/* ---- addresses ------------------------------------------------------------------ */
union nr_rtos_sa {
	struct sockaddr sa;
	struct sockaddr_in in4;
#if LWIP_IPV6 /* a firmware may build lwIP for IPv4 only */
	struct sockaddr_in6 in6;
#endif
	struct sockaddr_storage ss;
};

static int to_sockaddr(const struct nr_addr *a, union nr_rtos_sa *u, socklen_t *len)
{
	memset(u, 0, sizeof(*u));
	if (a->family == NR_AF_INET4) {
		u->in4.sin_len = sizeof(u->in4);
		u->in4.sin_family = AF_INET;
		u->in4.sin_port = lwip_htons(a->port);
		memcpy(&u->in4.sin_addr.s_addr, a->ip, 4);
		*len = sizeof(u->in4);
		return 0;
	}
#if LWIP_IPV6
	if (a->family == NR_AF_INET6) {
		u->in6.sin6_len = sizeof(u->in6);
		u->in6.sin6_family = AF_INET6;
		u->in6.sin6_port = lwip_htons(a->port);
		memcpy(u->in6.sin6_addr.s6_addr, a->ip, 16);
		u->in6.sin6_scope_id = a->scope_id;
		*len = sizeof(u->in6);
		return 0;
	}
#endif
	return NR_EINVAL;
}

static void from_sockaddr(const union nr_rtos_sa *u, struct nr_addr *a)
{
#if LWIP_IPV6
	static const uint8_t v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
#endif

	memset(a, 0, sizeof(*a));
	if (u->sa.sa_family == AF_INET) {
		a->family = NR_AF_INET4;
		a->port = lwip_ntohs(u->in4.sin_port);
		memcpy(a->ip, &u->in4.sin_addr.s_addr, 4);
	}
#if LWIP_IPV6
	else if (u->sa.sa_family == AF_INET6) {
		a->port = lwip_ntohs(u->in6.sin6_port);
		if (memcmp(u->in6.sin6_addr.s6_addr, v4mapped, 12) == 0) {
			a->family = NR_AF_INET4; /* one form per client for ACLs and logs */
			memcpy(a->ip, u->in6.sin6_addr.s6_addr + 12, 4);
		} else {
			a->family = NR_AF_INET6;
			memcpy(a->ip, u->in6.sin6_addr.s6_addr, 16);
			a->scope_id = u->in6.sin6_scope_id;
		}
	}
#endif
}

static int set_int_opt(int s, int level, int name, int value)
{
	return lwip_setsockopt(s, level, name, &value, sizeof(value)) == 0 ? 0 : from_errno(errno);
}

static int set_nonblocking(int s)
{
	return lwip_fcntl(s, F_SETFL, O_NONBLOCK) == 0 ? 0 : from_errno(errno);
}

/* A new non-blocking socket of type for addr, with addr as a sockaddr. */
static int new_socket(const struct nr_addr *addr, int type, union nr_rtos_sa *u, socklen_t *len,
		      int *out)
{
	int ret = to_sockaddr(addr, u, len), s;

	*out = -1;
	if (ret)
		return ret;
	s = lwip_socket(u->sa.sa_family, type, 0);
	if (s < 0)
		return from_errno(errno);
	ret = set_nonblocking(s);
	if (ret) {
		lwip_close(s);
		return ret;
	}
	*out = s;
	return 0;
}

/* ---- TCP -------------------------------------------------------------------------- */
/* Whether ip is the any-address or an address of one of lwIP's netifs.
 * (lwIP's bind does not check: this is the question the core asks.) */
int nr_plat_addr_is_local(const struct nr_addr *addr)
{
	static const uint8_t zero[16];
	struct netif *n;
	int found = 0;

	if (addr->family != NR_AF_INET4 && addr->family != NR_AF_INET6)
		return NR_EINVAL;
	if (memcmp(addr->ip, zero, addr->family == NR_AF_INET4 ? 4 : 16) == 0)
		return 0;
	LOCK_TCPIP_CORE();
	NETIF_FOREACH(n)
	{
		if (addr->family == NR_AF_INET4) {
			found |= memcmp(netif_ip4_addr(n), addr->ip, 4) == 0;
			continue;
		}
#if LWIP_IPV6
		for (int i = 0; i < LWIP_IPV6_NUM_ADDRESSES; i++)
			found |= ip6_addr_isvalid(netif_ip6_addr_state(n, i)) &&
				 memcmp(netif_ip6_addr(n, i)->addr, addr->ip, 16) == 0;
#endif
	}
	UNLOCK_TCPIP_CORE();
	return found ? 0 : NR_EADDRNOTAVAIL;
}

int nr_plat_tcp_listen(const struct nr_addr *addr, int backlog, nr_sock_t *out)
{
	union nr_rtos_sa u;
	socklen_t len;
	int s, ret;

	*out = NR_SOCK_INVALID;
	ret = nr_plat_addr_is_local(addr);
	if (ret)
		return ret;
	ret = new_socket(addr, SOCK_STREAM, &u, &len, &s);
	if (ret)
		return ret;
	ret = set_int_opt(s, SOL_SOCKET, SO_REUSEADDR, 1);
#if LWIP_IPV6
	if (!ret && addr->family == NR_AF_INET6)
		ret = set_int_opt(s, IPPROTO_IPV6, IPV6_V6ONLY, 1);
#endif
	if (!ret && lwip_bind(s, &u.sa, len) != 0)
		ret = from_errno(errno);
	if (!ret && lwip_listen(s, backlog > 0 ? backlog : 8) != 0)
		ret = from_errno(errno);
	if (ret) {
		lwip_close(s);
		return ret == NR_EAGAIN ? NR_EIO : ret;
	}
	*out = s;
	return 0;
}

int nr_plat_tcp_accept(nr_sock_t listener, nr_sock_t *out, struct nr_addr *peer)
{
	union nr_rtos_sa u;
	socklen_t len = sizeof(u);
	int s, ret;

	*out = NR_SOCK_INVALID;
	s = lwip_accept(listener, &u.sa, &len);
	if (s < 0)
		return errno == ECONNABORTED ? NR_EAGAIN : from_errno(errno);
	/* An accepted lwIP socket starts blocking, whatever the listener is. */
	ret = set_nonblocking(s);
	if (ret) {
		lwip_close(s);
		return ret;
	}
	(void)set_int_opt(s, IPPROTO_TCP, TCP_NODELAY, 1); /* replies are small */
	if (peer)
		from_sockaddr(&u, peer);
	*out = s;
	return 0;
}

int nr_plat_tcp_connect(const struct nr_addr *addr, nr_sock_t *out)
{
	union nr_rtos_sa u;
	socklen_t len;
	int s, ret;

	*out = NR_SOCK_INVALID;
	ret = new_socket(addr, SOCK_STREAM, &u, &len, &s);
	if (ret)
		return ret;
	(void)set_int_opt(s, IPPROTO_TCP, TCP_NODELAY, 1);
	if (lwip_connect(s, &u.sa, len) != 0 && errno != EINPROGRESS) {
		ret = from_errno(errno);
		lwip_close(s);
		return ret == NR_EAGAIN ? NR_EIO : ret;
	}
	*out = s;
	return 0;
}

int nr_plat_tcp_connect_result(nr_sock_t s)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (lwip_getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
		return from_errno(errno);
	if (err == 0)
		return 0;
	err = from_errno(err);
	if (err == NR_ERESET)
		return NR_ECONNREFUSED; /* lwIP reports a RST to its SYN as ECONNRESET */
	return err == NR_ECONNREFUSED || err == NR_ETIMEDOUT || err == NR_EUNREACH ? err : NR_EIO;
}

static long io_error(int e)
{
	int err = from_errno(e);

	return err == NR_EAGAIN || err == NR_ERESET ? err : NR_EIO;
}

long nr_plat_sock_read(nr_sock_t s, void *buf, size_t len)
{
	ssize_t n;

	if (len == 0)
		return NR_EINVAL;
	n = lwip_recv(s, buf, len, MSG_DONTWAIT);
	if (n > 0)
		return (long)n;
	if (n == 0)
		return NR_ECLOSED;
	return io_error(errno);
}

long nr_plat_sock_write(nr_sock_t s, const void *buf, size_t len)
{
	ssize_t n;

	if (len == 0)
		return 0;
	n = lwip_send(s, buf, len, MSG_DONTWAIT);
	if (n >= 0)
		return n > 0 ? (long)n : NR_EAGAIN;
	return io_error(errno);
}

void nr_plat_sock_close(nr_sock_t s)
{
	if (s >= 0)
		lwip_close(s);
}

static int sock_end(nr_sock_t s, int peer, struct nr_addr *out)
{
	union nr_rtos_sa u;
	socklen_t len = sizeof(u);
	int rc = peer ? lwip_getpeername(s, &u.sa, &len) : lwip_getsockname(s, &u.sa, &len);

	if (rc != 0)
		return from_errno(errno);
	from_sockaddr(&u, out);
	return 0;
}

int nr_plat_sock_peer_addr(nr_sock_t s, struct nr_addr *out)
{
	return sock_end(s, 1, out);
}

int nr_plat_sock_local_addr(nr_sock_t s, struct nr_addr *out)
{
	return sock_end(s, 0, out);
}

/* ---- UDP, and a socket opened before it connects ----------------------------------- */
static int open_family(uint8_t family, int type, nr_sock_t *out)
{
	int s, ret;

	*out = NR_SOCK_INVALID;
	if (family != NR_AF_INET4 && family != NR_AF_INET6)
		return NR_EINVAL;
#if !LWIP_IPV6
	if (family == NR_AF_INET6)
		return NR_ENOTSUP;
#endif
	s = lwip_socket(family == NR_AF_INET4 ? AF_INET : AF_INET6, type, 0);
	if (s < 0) {
		ret = from_errno(errno);
		return ret == NR_ENOMEM || ret == NR_EINVAL ? ret : NR_EIO;
	}
	ret = set_nonblocking(s);
	if (!ret && type == SOCK_STREAM)
		(void)set_int_opt(s, IPPROTO_TCP, TCP_NODELAY, 1);
	if (ret) {
		lwip_close(s);
		return ret;
	}
	*out = s;
	return 0;
}

int nr_plat_udp_open(uint8_t family, nr_sock_t *out)
{
	return open_family(family, SOCK_DGRAM, out);
}

int nr_plat_tcp_open(uint8_t family, nr_sock_t *out)
{
	return open_family(family, SOCK_STREAM, out);
}

int nr_plat_sock_connect(nr_sock_t s, const struct nr_addr *addr)
{
	union nr_rtos_sa u;
	socklen_t len;
	int ret = to_sockaddr(addr, &u, &len);

	if (ret)
		return ret;
	if (lwip_connect(s, &u.sa, len) == 0 || errno == EINPROGRESS)
		return 0;
	ret = from_errno(errno);
	return ret == NR_EINVAL || ret == NR_EUNREACH || ret == NR_ECONNREFUSED ? ret : NR_EIO;
}

static long dgram_error(int e)
{
	int err = from_errno(e);

	if (e == EMSGSIZE)
		return NR_ETOOBIG;
	return err == NR_EAGAIN || err == NR_ECONNREFUSED || err == NR_EUNREACH ? err : NR_EIO;
}

long nr_plat_udp_send(nr_sock_t s, const void *buf, size_t len)
{
	ssize_t n = lwip_send(s, buf, len, MSG_DONTWAIT);

	if (n >= 0)
		return (size_t)n == len ? (long)n : NR_EIO; /* a datagram goes whole or not */
	return errno == ENOMEM || errno == ENOBUFS ? NR_EAGAIN : dgram_error(errno);
}

long nr_plat_udp_recv(nr_sock_t s, void *buf, size_t len, struct nr_addr *from)
{
	union nr_rtos_sa u;
	socklen_t alen = sizeof(u);
	ssize_t n = lwip_recvfrom(s, buf, len, MSG_DONTWAIT, &u.sa, &alen);

	if (n < 0)
		return dgram_error(errno);
	if (from)
		from_sockaddr(&u, from);
	return (long)n;
}

/* ---- the wakeup ------------------------------------------------------------------------ */
/*
 * lwip_poll wakes only for sockets, so the wakeup is one: a UDP socket on
 * lwIP's loopback netif (127.0.0.1) that nr_plat_wake() sends a byte to.
 * wake_pending coalesces the calls (one datagram until the poll takes it)
 * and covers a wake before the sockets exist (the first poll then does not
 * wait). The sender socket is shared by every waking task: a mutex keeps
 * two of them out of lwip_sendto at once.
 */
static int wake_rx = -1;
static volatile int wake_tx = -1;
static volatile int wake_pending;
static union nr_rtos_sa wake_to;
static socklen_t wake_to_len;
static SemaphoreHandle_t wake_lock;

static int wake_open(void)
{
	struct nr_addr lo = {.family = NR_AF_INET4, .ip = {127, 0, 0, 1}};
	union nr_rtos_sa u;
	socklen_t len;
	int rx, tx, ret;

	if (wake_rx >= 0)
		return 0;
	if (!wake_lock && !(wake_lock = xSemaphoreCreateMutex()))
		return NR_ENOMEM;
	ret = new_socket(&lo, SOCK_DGRAM, &u, &len, &rx);
	if (ret)
		return ret;
	ret = new_socket(&lo, SOCK_DGRAM, &wake_to, &wake_to_len, &tx);
	if (!ret && lwip_bind(rx, &u.sa, len) != 0)
		ret = from_errno(errno);
	wake_to_len = sizeof(wake_to);
	if (!ret && lwip_getsockname(rx, &wake_to.sa, &wake_to_len) != 0)
		ret = from_errno(errno);
	if (ret) {
		lwip_close(rx);
		if (tx >= 0)
			lwip_close(tx);
		return ret;
	}
	wake_rx = rx;
	wake_tx = tx;
	return 0;
}

void nr_plat_wake(void)
{
	int was;

	taskENTER_CRITICAL();
	was = wake_pending;
	wake_pending = 1;
	taskEXIT_CRITICAL();
	if (was || wake_tx < 0)
		return;
	xSemaphoreTake(wake_lock, portMAX_DELAY);
	(void)lwip_sendto(wake_tx, "w", 1, MSG_DONTWAIT, &wake_to.sa, wake_to_len);
	xSemaphoreGive(wake_lock);
}

/* Take the wakeup's datagrams and clear the flag: this poll has returned,
 * so the loop runs a turn and sees what the waker changed. */
static void wake_take(void)
{
	char drain[16];

	if (wake_rx >= 0)
		while (lwip_recv(wake_rx, drain, sizeof(drain), MSG_DONTWAIT) > 0) {
		}
	taskENTER_CRITICAL();
	wake_pending = 0;
	taskEXIT_CRITICAL();
}

/* ---- readiness ---------------------------------------------------------------------- */
/* lwip_poll's array: the caller's sockets plus the wakeup, grown as needed
 * (only the relay's task polls). */
static struct pollfd *pfd;
static size_t pfd_cap;

int nr_plat_poll(struct nr_pollfd *fds, size_t n, int timeout_ms)
{
	size_t i, total;
	int rc, ready = 0;

	if (wake_open() != 0 && wake_rx < 0)
		nr_rtos_log_once("nr_plat_poll: no wakeup socket (lwIP out of UDP pcbs?)");
	total = n + (wake_rx >= 0);
	if (total > pfd_cap) {
		struct pollfd *bigger = pvPortMalloc(total * sizeof(*bigger));
		if (!bigger)
			return NR_ENOMEM;
		vPortFree(pfd);
		pfd = bigger;
		pfd_cap = total;
	}
	for (i = 0; i < n; i++) {
		pfd[i].fd = fds[i].sock;
		pfd[i].events = (short)(((fds[i].want & NR_POLL_IN) ? POLLIN : 0) |
					((fds[i].want & NR_POLL_OUT) ? POLLOUT : 0));
		pfd[i].revents = 0;
		fds[i].ready = 0;
	}
	if (wake_rx >= 0) {
		pfd[n].fd = wake_rx;
		pfd[n].events = POLLIN;
		pfd[n].revents = 0;
	}
	if (wake_pending)
		timeout_ms = 0;
	rc = lwip_poll(pfd, (nfds_t)total, timeout_ms);
	if (rc < 0)
		return errno == EINTR ? 0 : from_errno(errno);
	for (i = 0; i < n; i++) {
		short r = pfd[i].revents;
		fds[i].ready =
		    (uint8_t)(((r & POLLIN) ? NR_POLL_IN : 0) | ((r & POLLOUT) ? NR_POLL_OUT : 0) |
			      ((r & (POLLERR | POLLNVAL)) ? NR_POLL_ERR : 0) |
			      ((r & POLLHUP) ? NR_POLL_HUP : 0));
		ready += fds[i].ready != 0;
	}
	if (wake_pending || (wake_rx >= 0 && pfd[n].revents))
		wake_take();
#ifdef CONFIG_NR_DNS_PLATFORM
	/* Answers lwIP's DNS client has given: their callbacks run here, on
	 * the polling task (rtos_dns.h), and the loop's turn sees them. */
	(void)nr_rtos_dns_deliver();
#endif
	return ready;
}
