/*
 * stub_platform.c - the smallest shim of platform/platform.h, and nothing
 * else: ISO C only, no posix.h, no OS header. Linked with the whole of
 * nrcore built for the RTOS configuration (tests/rtos-core/sources.cmake),
 * it proves that the core needs only this contract: a core file that
 * called a posix.h function (or a front end's) would leave an undefined
 * symbol and fail the link. Nothing here runs a relay: every socket and
 * storage call answers NR_ENOTSUP.
 */
#include <stdlib.h>

#include "platform.h"

int nr_plat_tcp_listen(const struct nr_addr *addr, int backlog, nr_sock_t *out)
{
	*out = NR_SOCK_INVALID;
	return NR_ENOTSUP;
}

int nr_plat_addr_is_local(const struct nr_addr *addr)
{
	return NR_ENOTSUP;
}

int nr_plat_tcp_accept(nr_sock_t listener, nr_sock_t *out, struct nr_addr *peer)
{
	return NR_EAGAIN;
}

int nr_plat_tcp_connect(const struct nr_addr *addr, nr_sock_t *out)
{
	*out = NR_SOCK_INVALID;
	return NR_ENOTSUP;
}

int nr_plat_tcp_connect_result(nr_sock_t s)
{
	return NR_EIO;
}

long nr_plat_sock_read(nr_sock_t s, void *buf, size_t len)
{
	return NR_EIO;
}

long nr_plat_sock_write(nr_sock_t s, const void *buf, size_t len)
{
	return NR_EIO;
}

void nr_plat_sock_close(nr_sock_t s) {}

int nr_plat_sock_peer_addr(nr_sock_t s, struct nr_addr *out)
{
	return NR_ENOTSUP;
}

int nr_plat_sock_local_addr(nr_sock_t s, struct nr_addr *out)
{
	return NR_ENOTSUP;
}

static volatile int woken;
static uint64_t now;

int nr_plat_poll(struct nr_pollfd *fds, size_t n, int timeout_ms)
{
	size_t i;

	for (i = 0; i < n; i++)
		fds[i].ready = 0;
	woken = 0;
	now += timeout_ms > 0 ? (uint64_t)timeout_ms : 0;
	return 0;
}

void nr_plat_wake(void)
{
	woken = 1;
}

uint64_t nr_plat_now_ms(void)
{
	return now;
}

int nr_plat_wall_time(int64_t *out)
{
	return NR_ECLOCK; /* never set: TLS must wait, not skip verification */
}

int nr_plat_entropy(void *buf, size_t len)
{
	return NR_EIO; /* no TRNG: an error, never weak bytes */
}

int nr_plat_bdev_file_open(const char *path, uint64_t size, struct nr_plat_storage *out)
{
	return NR_ENOTSUP;
}

int nr_plat_bdev_mtd_open(const char *path, uint64_t size, struct nr_plat_storage *out, char *why,
			  size_t why_size)
{
	return NR_ENOTSUP;
}

int nr_plat_bdev_flash_open(uint64_t size, struct nr_plat_storage *out)
{
	return NR_ENOTSUP;
}

int nr_plat_resolve_start(const char *name, uint8_t family, nr_plat_resolve_fn done, void *arg)
{
	return NR_ENOTSUP;
}

void nr_plat_resolve_cancel(void *arg) {}

int nr_plat_resolve_server(const struct nr_addr *server)
{
	return NR_ENOTSUP;
}

int nr_plat_file_read(const char *path, size_t max, char **out, size_t *len)
{
	return NR_ENOTSUP;
}

int nr_plat_file_write(const char *path, const void *data, size_t len, unsigned mode)
{
	return NR_ENOTSUP;
}

void nr_plat_log_write(enum nr_log_level level, const char *line) {}

void nr_plat_log_gather(int on) {}

void nr_plat_log_flush(void) {}

_Noreturn void nr_plat_panic(const char *file, int line, const char *what)
{
	abort();
}
