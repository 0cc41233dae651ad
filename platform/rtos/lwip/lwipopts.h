/*
 * lwipopts.h - nanorelay's lwIP 2.1 configuration (platform/rtos).
 *
 * What nanorelay needs from lwIP (the board-port checklist in README.md
 * repeats it): the OS mode (NO_SYS 0) with the BSD socket API under its
 * lwip_ names only (LWIP_SOCKET 1, LWIP_COMPAT_SOCKETS 0: no clash with a C
 * library's socket names), lwip_poll (LWIP_SOCKET_POLL) for readiness,
 * non-blocking sockets through lwip_fcntl(O_NONBLOCK), SO_REUSEADDR
 * (SO_REUSE) so a restarted relay can listen at once, and a loopback netif
 * (LWIP_NETIF_LOOPBACK): nr_plat_wake() sends a datagram to 127.0.0.1 that
 * wakes lwip_poll. Everything else here is sizing: one TCP pcb and one
 * netconn per inbound session, per delivery connection and per listener,
 * plus two UDP sockets for the wakeup and those of the resolver.
 *
 * A board may override any value below by defining it in "nr_lwipopts_board.h"
 * (found on the include path when NR_LWIPOPTS_BOARD is defined).
 */
#ifndef NR_LWIPOPTS_H
#define NR_LWIPOPTS_H

#ifdef NR_LWIPOPTS_BOARD
#include "nr_lwipopts_board.h"
#endif

/* ---- the OS mode and the socket API -------------------------------------- */
#define NO_SYS 0
#define LWIP_SOCKET 1
#define LWIP_NETCONN 1 /* the socket layer is built on netconns */
#define LWIP_COMPAT_SOCKETS 0
#define LWIP_POSIX_SOCKETS_IO_NAMES 0
#define LWIP_SOCKET_POLL 1
#define LWIP_SOCKET_SELECT 1
#define LWIP_SOCKET_OPEN_COUNT 0 /* Debian's patch: must stay 0 with select */
#define SO_REUSE 1
#define LWIP_SO_RCVTIMEO 0
#define LWIP_SO_SNDTIMEO 0
#define LWIP_TCP_KEEPALIVE 1
/* Debian's "port" patch makes src/api/sockets.c read and write the sockaddr
 * length through these (its Hurd port defines them): with lwIP's own struct
 * sockaddr, which has sa_len, they are the upstream code. Unused upstream. */
#define IP4ADDR_SOCKADDR_SET_LEN(sin) ((sin)->sin_len = sizeof(struct sockaddr_in))
#define IP6ADDR_SOCKADDR_SET_LEN(sin6) ((sin6)->sin6_len = sizeof(struct sockaddr_in6))
#define IPADDR_SOCKADDR_GET_LEN(addr) ((addr)->sa.sa_len)
/* One lock around the core instead of a message per call: fewer context
 * switches for every lwip_send/lwip_recv. */
#define LWIP_TCPIP_CORE_LOCKING 1
#define SYS_LIGHTWEIGHT_PROT 1

/* ---- protocols --------------------------------------------------------------- */
#define LWIP_IPV4 1
#ifndef LWIP_IPV6
#define LWIP_IPV6 1
#endif
#define LWIP_TCP 1
#define LWIP_UDP 1
#define LWIP_ICMP 1
/* 64-bit hosts: a pointer does not fit lwIP's reassembly helper in the header. */
#define IPV6_FRAG_COPYHEADER 1
#define LWIP_RAW 0
#define LWIP_ARP 1
#define LWIP_ETHERNET 1
#define LWIP_DHCP 0 /* the host board takes a static address */
#define LWIP_AUTOIP 0
#define LWIP_IGMP 0
/* lwIP's resolver, for a board that resolves smarthosts with dns_gethostbyname. */
#ifndef LWIP_DNS
#define LWIP_DNS 1
#endif
#define LWIP_NETIF_LOOPBACK 1 /* 127.0.0.1: nr_plat_wake() */
#define LWIP_HAVE_LOOPIF 1
#define LWIP_NETIF_STATUS_CALLBACK 1
#define LWIP_NETIF_LINK_CALLBACK 1
#define LWIP_TCP_TIMESTAMPS 0
#define LWIP_STATS 0
#define LWIP_CHKSUM_ALGORITHM 3
/* The relay reads with MSG_DONTWAIT and treats a read of 0 bytes as EOF. */
#define LWIP_NETBUF_RECVINFO 0

/* ---- memory (host defaults: a board lowers them in nr_lwipopts_board.h) ----- */
#define MEM_LIBC_MALLOC 0 /* lwIP's own heap and pools: no libc malloc in the tcpip task */
#define MEMP_MEM_MALLOC 0
#define MEM_ALIGNMENT 8
#ifndef MEM_SIZE
#define MEM_SIZE (256 * 1024)
#endif
#ifndef NR_LWIP_SOCKETS
/* Inbound sessions + delivery connections + listeners + wakeup + resolver. */
#define NR_LWIP_SOCKETS 40
#endif
#define MEMP_NUM_NETCONN NR_LWIP_SOCKETS
#define MEMP_NUM_TCP_PCB NR_LWIP_SOCKETS
#define MEMP_NUM_TCP_PCB_LISTEN 8
#define MEMP_NUM_UDP_PCB 8
#ifndef TCP_MSS
#define TCP_MSS 1460
#endif
#ifndef TCP_WND
#define TCP_WND (8 * TCP_MSS)
#endif
#ifndef TCP_SND_BUF
#define TCP_SND_BUF (8 * TCP_MSS)
#endif
#define TCP_SND_QUEUELEN ((4 * TCP_SND_BUF) / TCP_MSS)
#define MEMP_NUM_TCP_SEG (4 * NR_LWIP_SOCKETS + TCP_SND_QUEUELEN)
#ifndef PBUF_POOL_SIZE
#define PBUF_POOL_SIZE 128
#endif
#define MEMP_NUM_NETBUF 16
#define MEMP_NUM_TCPIP_MSG_INPKT 64
#define MEMP_NUM_SYS_TIMEOUT (LWIP_NUM_SYS_TIMEOUT_INTERNAL + 4)

/* ---- threads and mailboxes (sys_arch on FreeRTOS: sizes in bytes) ------------ */
#define TCPIP_THREAD_NAME "tcpip"
#ifndef TCPIP_THREAD_STACKSIZE
#define TCPIP_THREAD_STACKSIZE 8192
#endif
#ifndef TCPIP_THREAD_PRIO
#define TCPIP_THREAD_PRIO 3
#endif
#define TCPIP_MBOX_SIZE 64
#define DEFAULT_TCP_RECVMBOX_SIZE 32
#define DEFAULT_UDP_RECVMBOX_SIZE 8
#define DEFAULT_RAW_RECVMBOX_SIZE 8
#define DEFAULT_ACCEPTMBOX_SIZE 16
#define DEFAULT_THREAD_STACKSIZE 8192
#define DEFAULT_THREAD_PRIO 2

#endif /* NR_LWIPOPTS_H */
