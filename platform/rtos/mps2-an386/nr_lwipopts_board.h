/*
 * nr_lwipopts_board.h - the mps2-an386 board's lwIP sizing (lwipopts.h reads
 * it first, NR_LWIPOPTS_BOARD). The firmware's only interface is lwIP's
 * loopback netif (127.0.0.1): the self-test's client, relay and smarthost
 * all talk over it. Sized for two SMTP sessions, one delivery, a listener
 * or three and the wakeup socket; the RAM budget of issue 17 is 96 KB.
 */
#ifndef NR_LWIPOPTS_BOARD_H
#define NR_LWIPOPTS_BOARD_H

/* IPv4 only (the defconfig has no CONFIG_NR_IPV6): lwIP's IPv6, ND6 and
 * MLD code is about 14 KB of flash. */
#define LWIP_IPV6 0
/* lwIP's heap holds what TCP sends until it is acknowledged, and on the
 * loopback netif each segment's copy until the receiver reads it: with
 * windows of two segments, 16 KB carries every connection of the self-test
 * (two SMTP sessions, a delivery, the test's client and smarthost ends)
 * with room for retransmissions. */
#define MEM_SIZE (16 * 1024)
#define NR_LWIP_SOCKETS 10
#define TCP_MSS 1460
#define TCP_WND (2 * TCP_MSS)
#define TCP_SND_BUF (2 * TCP_MSS)
/* The pool feeds a network driver's receive path: the loopback netif does
 * not use it (a board with an Ethernet MAC sizes it for its RX ring). */
#define PBUF_POOL_SIZE 2
#define TCPIP_THREAD_STACKSIZE 2048
#define TCPIP_THREAD_PRIO 4
/* The self-test's smarthost has a name (its certificate is for it) and no
 * DNS server exists inside the image: lwIP's local host list answers it. */
#define DNS_LOCAL_HOSTLIST 1
#define DNS_LOCAL_HOSTLIST_INIT                                                                    \
	{                                                                                          \
		DNS_LOCAL_HOSTLIST_ELEM("smarthost.test", IPADDR4_INIT_BYTES(127, 0, 0, 1))        \
	}

#endif /* NR_LWIPOPTS_BOARD_H */
