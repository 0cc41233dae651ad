/*
 * linux_net.c - sockets and poll for Linux and BusyBox systems.
 *
 * Every socket is non-blocking and close-on-exec from birth (SOCK_NONBLOCK
 * | SOCK_CLOEXEC), so nothing leaks into a child and nothing blocks the
 * loop. Writes use MSG_NOSIGNAL: a peer that went away is NR_ERESET, never
 * SIGPIPE.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "linux_internal.h"

int nr_linux_errno(int e)
{
	switch (e) {
	case EAGAIN:
#if EWOULDBLOCK != EAGAIN
	case EWOULDBLOCK:
#endif
	case EINTR:
	case EINPROGRESS:
		return NR_EAGAIN;
	case ECONNRESET:
	case EPIPE:
	case ECONNABORTED:
		return NR_ERESET;
	case ECONNREFUSED:
		return NR_ECONNREFUSED;
	case ETIMEDOUT:
		return NR_ETIMEDOUT;
	case ENETUNREACH:
	case EHOSTUNREACH:
	case ENETDOWN:
		return NR_EUNREACH;
	case EADDRINUSE:
		return NR_EADDRINUSE;
	case EACCES:
	case EPERM:
		return NR_EPERM;
	case ENOMEM:
	case ENOBUFS:
	case EMFILE:
	case ENFILE:
		return NR_ENOMEM;
	case ENOENT:
		return NR_ENOTFOUND;
	case ENOSPC:
		return NR_ENOSPC;
	case EINVAL:
	case EAFNOSUPPORT:
	case EADDRNOTAVAIL:
	case ENAMETOOLONG:
		return NR_EINVAL;
	}
	return NR_EIO;
}

/* ---- addresses --------------------------------------------------------------- */
static int to_sockaddr(const struct nr_addr *a, struct sockaddr_storage *ss, socklen_t *len)
{
	memset(ss, 0, sizeof(*ss));
	if (a->family == NR_AF_INET4) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;
		sin->sin_family = AF_INET;
		sin->sin_port = htons(a->port);
		memcpy(&sin->sin_addr, a->ip, 4);
		*len = sizeof(*sin);
		return 0;
	}
	if (a->family == NR_AF_INET6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(a->port);
		memcpy(&sin6->sin6_addr, a->ip, 16);
		sin6->sin6_scope_id = a->scope_id;
		*len = sizeof(*sin6);
		return 0;
	}
	return NR_EINVAL;
}

/* IPv4-mapped v6 (::ffff:a.b.c.d) comes back as plain IPv4, so ACLs and
 * logs see one form of each client address. */
static void from_sockaddr(const struct sockaddr_storage *ss, struct nr_addr *a)
{
	memset(a, 0, sizeof(*a));
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;
		a->family = NR_AF_INET4;
		a->port = ntohs(sin->sin_port);
		memcpy(a->ip, &sin->sin_addr, 4);
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;
		a->port = ntohs(sin6->sin6_port);
		if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
			a->family = NR_AF_INET4;
			memcpy(a->ip, sin6->sin6_addr.s6_addr + 12, 4);
		} else {
			a->family = NR_AF_INET6;
			memcpy(a->ip, &sin6->sin6_addr, 16);
			a->scope_id = sin6->sin6_scope_id;
		}
	} else if (ss->ss_family == AF_UNIX) {
		a->family = NR_AF_LOCAL;
	}
}

/* A stream socket of family, non-blocking and close-on-exec from birth. */
static int stream_socket(int family, int *fd)
{
	*fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	return *fd < 0 ? nr_linux_errno(errno) : 0;
}

static int set_int_opt(int fd, int level, int name, int value)
{
	return setsockopt(fd, level, name, &value, sizeof(value)) == 0 ? 0 : nr_linux_errno(errno);
}

/* ---- TCP ------------------------------------------------------------------------ */
/* A new TCP socket (non-blocking, close-on-exec) of addr's family, with
 * addr as a sockaddr in *ss and *len for bind or connect. */
static int tcp_socket(const struct nr_addr *addr, struct sockaddr_storage *ss, socklen_t *len,
		      int *fd)
{
	int ret = to_sockaddr(addr, ss, len);

	if (ret)
		return ret;
	return stream_socket(ss->ss_family, fd);
}

int nr_plat_addr_is_local(const struct nr_addr *addr)
{
	struct nr_addr any = *addr;
	struct sockaddr_storage ss;
	socklen_t len;
	int fd = -1, ret;

	any.port = 0; /* the address is the question, not the port */
	ret = tcp_socket(&any, &ss, &len, &fd);
	if (ret)
		return ret;
	if (bind(fd, (struct sockaddr *)&ss, len) != 0)
		ret = errno == EADDRNOTAVAIL ? NR_EADDRNOTAVAIL : nr_linux_errno(errno);
	close(fd);
	return ret;
}

int nr_plat_tcp_listen(const struct nr_addr *addr, int backlog, nr_sock_t *out)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd = -1, ret;

	*out = NR_SOCK_INVALID;
	ret = tcp_socket(addr, &ss, &len, &fd);
	if (ret)
		return ret;
	/* Restart without waiting for TIME_WAIT to expire. */
	ret = set_int_opt(fd, SOL_SOCKET, SO_REUSEADDR, 1);
	/* A v6 listener takes only v6: "listen 0.0.0.0:25" and "[::]:25" can
	 * both be configured, and v4 clients never arrive as mapped addresses. */
	if (!ret && ss.ss_family == AF_INET6)
		ret = set_int_opt(fd, IPPROTO_IPV6, IPV6_V6ONLY, 1);
	/* Replies are small: no Nagle delay. Accepted sockets inherit the
	 * option from the listener (test_linux checks), which saves a system
	 * call per connection. Best effort, as it always was. */
	if (!ret)
		(void)set_int_opt(fd, IPPROTO_TCP, TCP_NODELAY, 1);
	if (!ret && bind(fd, (struct sockaddr *)&ss, len) != 0)
		ret = errno == EADDRNOTAVAIL ? NR_EADDRNOTAVAIL : nr_linux_errno(errno);
	if (!ret && listen(fd, backlog > 0 ? backlog : 16) != 0)
		ret = nr_linux_errno(errno);
	if (ret)
		goto out;
	*out = fd;
	fd = -1;
out:
	if (fd >= 0)
		close(fd);
	return ret;
}

int nr_plat_tcp_accept(nr_sock_t listener, nr_sock_t *out, struct nr_addr *peer)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int fd;

	*out = NR_SOCK_INVALID;
	fd = accept4(listener, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0) {
		/* A client that gave up before we accepted is not our error. */
		if (errno == ECONNABORTED || errno == EPROTO)
			return NR_EAGAIN;
		return nr_linux_errno(errno);
	}
	if (peer)
		from_sockaddr(&ss, peer);
	*out = fd;
	return 0;
}

int nr_plat_tcp_connect(const struct nr_addr *addr, nr_sock_t *out)
{
	nr_sock_t fd;
	int ret;

	*out = NR_SOCK_INVALID;
	ret = nr_plat_tcp_open(addr->family, &fd);
	if (ret)
		return ret;
	ret = nr_plat_sock_connect(fd, addr);
	if (ret) {
		close(fd);
		return ret;
	}
	*out = fd;
	return 0;
}

int nr_plat_tcp_connect_result(nr_sock_t s)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
		return nr_linux_errno(errno);
	if (err == 0)
		return 0;
	err = nr_linux_errno(err);
	return err == NR_ECONNREFUSED || err == NR_ETIMEDOUT || err == NR_EUNREACH ? err : NR_EIO;
}

/* Socket I/O reports only what the contract lists: again, reset, or I/O. */
static long io_error(int e)
{
	int err = nr_linux_errno(e);

	return err == NR_EAGAIN || err == NR_ERESET ? err : NR_EIO;
}

long nr_plat_sock_read(nr_sock_t s, void *buf, size_t len)
{
	ssize_t n;

	if (len == 0)
		return NR_EINVAL;
	n = recv(s, buf, len, 0);
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
	n = send(s, buf, len, MSG_NOSIGNAL);
	if (n >= 0)
		return n > 0 ? (long)n : NR_EAGAIN;
	return io_error(errno);
}

void nr_plat_sock_close(nr_sock_t s)
{
	if (s >= 0)
		close(s);
}

/* The far (peer) or near end of s as an nr_addr. */
static int sock_end(nr_sock_t s, int peer, struct nr_addr *out)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int rc = peer ? getpeername(s, (struct sockaddr *)&ss, &len)
		      : getsockname(s, (struct sockaddr *)&ss, &len);

	if (rc != 0)
		return nr_linux_errno(errno);
	from_sockaddr(&ss, out);
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

/* ---- sockets opened before they connect, and UDP ------------------------------------- */
/* A socket of type for family (NR_AF_INET4/6), non-blocking and close-on-exec. */
static int family_socket(uint8_t family, int type, nr_sock_t *out)
{
	int af = family == NR_AF_INET4 ? AF_INET : family == NR_AF_INET6 ? AF_INET6 : -1;
	int fd;

	*out = NR_SOCK_INVALID;
	if (af < 0)
		return NR_EINVAL;
	fd = socket(af, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return errno == EAFNOSUPPORT ? NR_ENOTSUP : nr_linux_errno(errno);
	*out = fd;
	return 0;
}

int nr_plat_tcp_open(uint8_t family, nr_sock_t *out)
{
	int ret = family_socket(family, SOCK_STREAM, out);

	if (!ret)
		(void)set_int_opt(*out, IPPROTO_TCP, TCP_NODELAY, 1);
	return ret;
}

int nr_plat_udp_open(uint8_t family, nr_sock_t *out)
{
	return family_socket(family, SOCK_DGRAM, out);
}

int nr_plat_sock_connect(nr_sock_t s, const struct nr_addr *addr)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int ret = to_sockaddr(addr, &ss, &len);

	if (ret)
		return ret;
	if (connect(s, (struct sockaddr *)&ss, len) == 0 || errno == EINPROGRESS)
		return 0;
	ret = nr_linux_errno(errno);
	/* EAGAIN from a connect: no local port left, not "try later". */
	return ret == NR_EAGAIN ? NR_EIO : ret;
}

/* A datagram call's errno as the contract lists it. */
static long udp_error(int e)
{
	if (e == EMSGSIZE)
		return NR_ETOOBIG;
	e = nr_linux_errno(e);
	return e == NR_EAGAIN || e == NR_ECONNREFUSED || e == NR_EUNREACH ? e : NR_EIO;
}

long nr_plat_udp_send(nr_sock_t s, const void *buf, size_t len)
{
	ssize_t n = send(s, buf, len, MSG_NOSIGNAL);

	if (n < 0)
		return udp_error(errno);
	return (size_t)n == len ? (long)n : NR_EIO;
}

long nr_plat_udp_recv(nr_sock_t s, void *buf, size_t len, struct nr_addr *from)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	ssize_t n = recvfrom(s, buf, len, 0, (struct sockaddr *)&ss, &sl);

	if (n < 0)
		return udp_error(errno);
	if (from)
		from_sockaddr(&ss, from);
	return (long)n;
}

/* ---- the platform's own resolver: none here (Linux resolves with c-ares) ---------- */
int nr_plat_resolve_start(const char *name, uint8_t family, nr_plat_resolve_fn done, void *arg)
{
	return NR_ENOTSUP;
}

void nr_plat_resolve_cancel(void *arg) {}

int nr_plat_resolve_server(const struct nr_addr *server)
{
	return NR_ENOTSUP;
}

/* ---- local (AF_UNIX) sockets ------------------------------------------------------ */
static int unix_addr(const char *path, struct sockaddr_un *sun)
{
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun->sun_path))
		return NR_EINVAL;
	strcpy(sun->sun_path, path);
	return 0;
}

/*
 * A socket file left by a crashed daemon is removed; one with a live
 * listener behind it is NR_EADDRINUSE (a second daemon must not steal
 * the control socket). Anything that is not a socket is left alone. The
 * probe is a connect: a live daemon sees one client that closes at once.
 */
static int remove_stale(const char *path, const struct sockaddr_un *sun)
{
	struct stat st;
	int fd, live;

	if (lstat(path, &st) != 0)
		return errno == ENOENT ? 0 : nr_linux_errno(errno);
	if (!S_ISSOCK(st.st_mode))
		return NR_EADDRINUSE;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return nr_linux_errno(errno);
	live = connect(fd, (const struct sockaddr *)sun, sizeof(*sun)) == 0;
	close(fd);
	if (live)
		return NR_EADDRINUSE;
	return unlink(path) == 0 || errno == ENOENT ? 0 : nr_linux_errno(errno);
}

int nr_plat_local_listen(const char *path, int world, nr_sock_t *out)
{
	struct sockaddr_un sun;
	int fd = -1, ret;

	*out = NR_SOCK_INVALID;
	ret = unix_addr(path, &sun);
	if (!ret)
		ret = remove_stale(path, &sun);
	if (ret)
		return ret;
	ret = stream_socket(AF_UNIX, &fd);
	if (ret)
		return ret;
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0 ||
	    chmod(path, world ? 0666 : 0660) != 0 || listen(fd, 16) != 0) {
		ret = nr_linux_errno(errno);
		goto out;
	}
	*out = fd;
	fd = -1;
out:
	if (fd >= 0) {
		close(fd);
		unlink(path);
	}
	return ret;
}

int nr_plat_local_connect(const char *path, nr_sock_t *out)
{
	struct sockaddr_un sun;
	int fd, ret;

	*out = NR_SOCK_INVALID;
	ret = unix_addr(path, &sun);
	if (ret)
		return ret;
	ret = stream_socket(AF_UNIX, &fd);
	if (ret)
		return ret;
	/* Local connects complete at once or fail (EAGAIN: backlog full). */
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		ret = errno == EAGAIN ? NR_EBUSY : nr_linux_errno(errno);
		close(fd);
		return ret;
	}
	*out = fd;
	return 0;
}

int nr_plat_local_pair(nr_sock_t out[2])
{
	int fds[2];

	out[0] = out[1] = NR_SOCK_INVALID;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) != 0)
		return nr_linux_errno(errno);
	out[0] = fds[0];
	out[1] = fds[1];
	return 0;
}

int nr_plat_local_peer_uid(nr_sock_t s, long *uid)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (getsockopt(s, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0)
		return nr_linux_errno(errno);
	*uid = (long)cred.uid;
	return 0;
}

/* ---- poll ----------------------------------------------------------------------------- */
/* Reused between calls: the poll set has the same size turn after turn. */
static struct pollfd *pfds;
static size_t pfds_cap;

int nr_plat_poll(struct nr_pollfd *fds, size_t n, int timeout_ms)
{
	int sigfd = nr_linux_wake_fd();
	size_t i, total = n + (sigfd >= 0);
	int rc, count = 0;

	if (total > pfds_cap) {
		struct pollfd *p = realloc(pfds, total * sizeof(*p));
		if (!p)
			return NR_ENOMEM;
		pfds = p;
		pfds_cap = total;
	}
	for (i = 0; i < n; i++) {
		pfds[i].fd = fds[i].sock;
		pfds[i].events = (short)(((fds[i].want & NR_POLL_IN) ? POLLIN : 0) |
					 ((fds[i].want & NR_POLL_OUT) ? POLLOUT : 0));
		pfds[i].revents = 0;
		fds[i].ready = 0;
	}
	/* A wake-up (nr_plat_wake, a signal) that came before this call. */
	if (nr_linux_wake_take())
		return 0;
	/* The self-pipe: a wake-up or signal that arrives just before poll
	 * still wakes it (no lost wake-up between signals_take and poll). */
	if (sigfd >= 0) {
		pfds[n].fd = sigfd;
		pfds[n].events = POLLIN;
		pfds[n].revents = 0;
	}
	rc = poll(pfds, (nfds_t)total, timeout_ms);
	if (rc < 0)
		return errno == EINTR ? 0 : nr_linux_errno(errno);
	if (sigfd >= 0 && pfds[n].revents) {
		nr_linux_wake_take();
		return 0;
	}
	for (i = 0; i < n; i++) {
		short r = pfds[i].revents;
		fds[i].ready =
		    (uint8_t)(((r & POLLIN) ? NR_POLL_IN : 0) | ((r & POLLOUT) ? NR_POLL_OUT : 0) |
			      ((r & (POLLERR | POLLNVAL)) ? NR_POLL_ERR : 0) |
			      ((r & POLLHUP) ? NR_POLL_HUP : 0));
		count += fds[i].ready != 0;
	}
	return count;
}
