/*
 * rtos_dns.h - the RTOS shim's resolver (rtos_dns.c) as the shim's poll
 * sees it; not for the core (which calls nr_plat_resolve_* of platform.h).
 */
#ifndef NR_RTOS_DNS_H
#define NR_RTOS_DNS_H

/* Run the done() callbacks of the lookups lwIP has finished, on the
 * calling task. nr_plat_poll() calls it on the relay task after every
 * wait (rtos_dns.c wakes that wait with nr_plat_wake() when an answer
 * arrives), so no callback runs on lwIP's tcpip thread. Returns how many
 * ran; never blocks. */
int nr_rtos_dns_deliver(void);

#endif /* NR_RTOS_DNS_H */
