/* host_board.h - the pieces of the host board (platform/rtos/host). */
#ifndef NR_HOST_BOARD_H
#define NR_HOST_BOARD_H

#include <stddef.h>

#include "lwip/ip4_addr.h"
#include "lwip/netif.h"

/* Open the TAP device name (it must exist: `ip tuntap add NAME mode tap`):
 * the fd, or -1 with err set. Before the scheduler starts. */
int nr_host_tap_open(const char *name, char *err, size_t err_size);
/* Add netif on the TAP fd with a static address, make it the default and
 * up, and start its receive task. From a task, after tcpip_init. */
int nr_host_tap_netif_add(struct netif *netif, int fd, const ip4_addr_t *ip, const ip4_addr_t *mask,
			  const ip4_addr_t *gw);

/* The --selftest-echo task: a line service on port (arg: the port as a
 * uintptr_t) through the platform.h calls only. */
void nr_host_echo_task(void *arg);

struct nr_plat_storage;

/* The relay task (host_relay.c, built when include/nanorelay.h exists). */
struct nr_host_relay_args {
	const char *config; /* the configuration text (board side: read from a file) */
	size_t config_len;
	const struct nr_plat_storage *storage; /* the queue's flash; NULL: the config's */
	const char *submit_dir;                /* --submit-from: the submit API's spool, or NULL */
	int stats;                             /* --stats: log heap and stack figures each second */
};
void nr_host_relay_task(void *arg);
/* The core's heap on pvPortMalloc/vPortFree, counted (host_relay.c): set
 * before the relay task starts. */
void nr_host_mem_hooks(void);
void nr_host_mem_usage(size_t *in_use, size_t *peak);

/* --stats (host_stats.c): paint the calling task's stack (at its start),
 * and log the heap and every painted stack's high-water mark. */
void nr_host_stack_paint(const char *name);
void nr_host_stats_log(size_t sessions);

#endif /* NR_HOST_BOARD_H */
