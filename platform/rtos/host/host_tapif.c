/*
 * host_tapif.c - the host board's Ethernet: an lwIP netif on a Linux TAP
 * device (/dev/net/tun). Board code: the only place where the host RTOS
 * target's frames touch Linux.
 *
 * Transmit runs in lwIP's tcpip task (linkoutput writes one frame). Receive
 * runs in a FreeRTOS task of its own that reads the non-blocking TAP fd
 * until it is empty, hands each frame to tcpip_input, then sleeps a tick:
 * a task of the POSIX port must not block in a system call (the scheduler
 * would stall with it), so the "interrupt" is a 1 ms poll.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "lwip/etharp.h"
#include "lwip/ethip6.h"
#include "lwip/pbuf.h"
#include "lwip/tcpip.h"

#include "FreeRTOS.h"
#include "task.h"

#include "host_board.h"

#define FRAME_MAX 1518

struct tapif {
	int fd;
	struct netif *netif;
};

static err_t tap_linkoutput(struct netif *netif, struct pbuf *p)
{
	struct tapif *t = netif->state;
	unsigned char frame[FRAME_MAX];
	u16_t len;

	if (p->tot_len > sizeof(frame))
		return ERR_BUF;
	len = pbuf_copy_partial(p, frame, p->tot_len, 0);
	/* A full TAP queue drops the frame, as a busy wire would: TCP resends. */
	if (write(t->fd, frame, len) != (ssize_t)len)
		return ERR_IF;
	return ERR_OK;
}

static void tap_rx_task(void *arg)
{
	struct tapif *t = arg;
	unsigned char frame[FRAME_MAX];

	nr_host_stack_paint("tap-rx");
	for (;;) {
		ssize_t n = read(t->fd, frame, sizeof(frame));
		if (n <= 0) {
			vTaskDelay(1);
			continue;
		}
		struct pbuf *p = pbuf_alloc(PBUF_RAW, (u16_t)n, PBUF_POOL);
		if (!p)
			continue; /* out of pbufs: the frame is lost, TCP resends */
		pbuf_take(p, frame, (u16_t)n);
		if (t->netif->input(p, t->netif) != ERR_OK)
			pbuf_free(p);
	}
}

static err_t tap_netif_init(struct netif *netif)
{
	static const u8_t mac[6] = {0x02, 0x6e, 0x72, 0x00, 0x00, 0x01}; /* locally administered */

	netif->name[0] = 't';
	netif->name[1] = 'p';
	netif->output = etharp_output;
#if LWIP_IPV6
	netif->output_ip6 = ethip6_output;
#endif
	netif->linkoutput = tap_linkoutput;
	netif->mtu = 1500;
	netif->hwaddr_len = 6;
	memcpy(netif->hwaddr, mac, 6);
	netif->flags = NETIF_FLAG_BROADCAST | NETIF_FLAG_ETHARP | NETIF_FLAG_ETHERNET |
		       NETIF_FLAG_LINK_UP | NETIF_FLAG_MLD6;
	return ERR_OK;
}

int nr_host_tap_open(const char *name, char *err, size_t err_size)
{
	struct ifreq ifr;
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);

	if (fd < 0) {
		snprintf(err, err_size, "/dev/net/tun: %s", strerror(errno));
		return -1;
	}
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(fd, TUNSETIFF, &ifr) != 0 || fcntl(fd, F_SETFL, O_NONBLOCK) != 0) {
		snprintf(err, err_size, "TAP device %s: %s", name, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

int nr_host_tap_netif_add(struct netif *netif, int fd, const ip4_addr_t *ip, const ip4_addr_t *mask,
			  const ip4_addr_t *gw)
{
	static struct tapif tap;

	tap.fd = fd;
	tap.netif = netif;
	LOCK_TCPIP_CORE();
	struct netif *ok = netif_add(netif, ip, mask, gw, &tap, tap_netif_init, tcpip_input);
	if (ok) {
		netif_set_default(netif);
#if LWIP_IPV6
		netif_create_ip6_linklocal_address(netif, 1);
#endif
		netif_set_up(netif);
	}
	UNLOCK_TCPIP_CORE();
	if (!ok)
		return -1;
	return xTaskCreate(tap_rx_task, "tap-rx", configMINIMAL_STACK_SIZE, &tap,
			   tskIDLE_PRIORITY + 4, NULL) == pdPASS
		   ? 0
		   : -1;
}
