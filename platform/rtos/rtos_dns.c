/*
 * rtos_dns.c - the platform resolver of platform.h (nr_plat_resolve_*) on
 * lwIP's DNS client, for src/dns/dns_platform.c (CONFIG_NR_DNS_PLATFORM).
 *
 * Three parties, and what each does:
 *  - the relay task calls nr_plat_resolve_start(): it takes a slot and
 *    posts the lookup to lwIP's tcpip thread with tcpip_try_callback(),
 *    which never blocks (a full tcpip mailbox is NR_ENOMEM);
 *  - the tcpip thread runs dns_gethostbyname_addrtype() (lwIP's DNS API is
 *    not thread-safe: it runs only there) and, when lwIP answers, stores
 *    the result in the slot and wakes the relay task (nr_plat_wake);
 *  - the relay task's nr_plat_poll() then calls nr_rtos_dns_deliver(),
 *    which runs done() on the relay task, as platform.h promises.
 * Slots move FREE -> QUEUED -> ASKING -> DONE -> FREE; a cancel turns a
 * slot still owned by lwIP into CANCELLED, freed when lwIP lets go of it
 * (lwIP always calls back: with an answer, or NULL after its retries).
 * State changes are made under SYS_ARCH_PROTECT, lwIP's own short critical
 * section, so this file needs no RTOS header.
 *
 * lwIP gives one address per lookup and no TTL, and reports NXDOMAIN, a
 * missing record type and a timeout alike (ipaddr NULL): NR_EDNS.
 * lwipopts.h needs LWIP_DNS 1 and DNS_TABLE_SIZE >= 2 (Kconfig
 * NR_DNS_PLATFORM's help lists the rest).
 */
#include <string.h>

#include "lwip/dns.h"
#include "lwip/ip_addr.h"
#include "lwip/sys.h"
#include "lwip/tcpip.h"

#include "core/build.h"
#include "platform.h"
#include "rtos_dns.h"

#if !LWIP_DNS
#error "CONFIG_NR_DNS_PLATFORM needs LWIP_DNS 1 in lwipopts.h"
#endif

#ifndef CONFIG_NR_DNS_MAX_QUERIES
#define CONFIG_NR_DNS_MAX_QUERIES 8
#endif
/* dns_platform.c asks A and AAAA for each of its lookups. */
#define NR_RTOS_DNS_SLOTS (2 * CONFIG_NR_DNS_MAX_QUERIES)
#define NR_RTOS_DNS_NAME_MAX 253

enum slot_state {
	SLOT_FREE = 0,
	SLOT_QUEUED,    /* posted to the tcpip thread, not yet given to lwIP */
	SLOT_ASKING,    /* lwIP is resolving; it will call on_found */
	SLOT_DONE,      /* answered; waiting for nr_rtos_dns_deliver */
	SLOT_CANCELLED, /* still owned by lwIP or the mailbox; nobody waits */
};

struct slot {
	volatile enum slot_state state;
	uint8_t family;
	int err;
	struct nr_addr addr;
	nr_plat_resolve_fn done;
	void *arg;
	char name[NR_RTOS_DNS_NAME_MAX + 1];
};

static struct slot slots[NR_RTOS_DNS_SLOTS];

/* ---- on the tcpip thread ------------------------------------------------------- */
static void addr_from_lwip(const ip_addr_t *ip, struct nr_addr *a)
{
	memset(a, 0, sizeof(*a));
#if LWIP_IPV6
	if (IP_IS_V6(ip)) {
		a->family = NR_AF_INET6;
		memcpy(a->ip, ip_2_ip6(ip)->addr, 16);
#if LWIP_IPV6_SCOPES
		a->scope_id = ip6_addr_zone(ip_2_ip6(ip));
#endif
		return;
	}
#endif
#if LWIP_IPV4
	a->family = NR_AF_INET4;
	memcpy(a->ip, &ip_2_ip4(ip)->addr, 4);
#endif
}

/* The lookup ended (ip NULL: failed): hand it to the relay task, or free
 * the slot when nobody waits any more. */
static void finish(struct slot *s, const ip_addr_t *ip, int err)
{
	SYS_ARCH_DECL_PROTECT(lev);
	int wake = 0;

	SYS_ARCH_PROTECT(lev);
	if (s->state == SLOT_CANCELLED) {
		s->state = SLOT_FREE;
	} else {
		s->err = ip ? 0 : err;
		if (ip)
			addr_from_lwip(ip, &s->addr);
		s->state = SLOT_DONE;
		wake = 1;
	}
	SYS_ARCH_UNPROTECT(lev);
	if (wake)
		nr_plat_wake();
}

static void on_found(const char *name, const ip_addr_t *ip, void *arg)
{
	finish(arg, ip, NR_EDNS);
}

static void ask(void *arg)
{
	struct slot *s = arg;
	ip_addr_t ip;
	err_t e;
	SYS_ARCH_DECL_PROTECT(lev);

	SYS_ARCH_PROTECT(lev);
	if (s->state == SLOT_CANCELLED) {
		s->state = SLOT_FREE;
		SYS_ARCH_UNPROTECT(lev);
		return;
	}
	s->state = SLOT_ASKING;
	SYS_ARCH_UNPROTECT(lev);
	e = dns_gethostbyname_addrtype(s->name, &ip, on_found, s,
				       s->family == NR_AF_INET6 ? LWIP_DNS_ADDRTYPE_IPV6
								: LWIP_DNS_ADDRTYPE_IPV4);
	if (e == ERR_INPROGRESS)
		return; /* on_found follows */
	/* ERR_OK: from lwIP's cache at once. ERR_MEM: DNS table full.
	 * ERR_ARG: no server yet, or a name longer than DNS_MAX_NAME_LENGTH. */
	finish(s, e == ERR_OK ? &ip : NULL, e == ERR_MEM ? NR_ENOMEM : NR_EDNS);
}

/* ---- on the relay task -------------------------------------------------------- */
int nr_plat_resolve_start(const char *name, uint8_t family, nr_plat_resolve_fn done, void *arg)
{
	struct slot *s = NULL;
	size_t i, len = name ? strlen(name) : 0;
	SYS_ARCH_DECL_PROTECT(lev);

	if (len == 0 || len > NR_RTOS_DNS_NAME_MAX || !done)
		return NR_EINVAL;
	if (family != NR_AF_INET4 && family != NR_AF_INET6)
		return NR_EINVAL;
	if ((family == NR_AF_INET6 && !LWIP_IPV6) || (family == NR_AF_INET4 && !LWIP_IPV4))
		return NR_ENOTSUP;
	SYS_ARCH_PROTECT(lev);
	for (i = 0; i < NR_RTOS_DNS_SLOTS && !s; i++) {
		if (slots[i].state == SLOT_FREE) {
			s = &slots[i];
			s->state = SLOT_QUEUED;
		}
	}
	SYS_ARCH_UNPROTECT(lev);
	if (!s)
		return NR_ENOMEM;
	memcpy(s->name, name, len + 1);
	s->family = family;
	s->done = done;
	s->arg = arg;
	s->err = 0;
	if (tcpip_try_callback(ask, s) != ERR_OK) {
		s->state = SLOT_FREE; /* never posted: still ours alone */
		return NR_ENOMEM;
	}
	return 0;
}

void nr_plat_resolve_cancel(void *arg)
{
	size_t i;
	SYS_ARCH_DECL_PROTECT(lev);

	SYS_ARCH_PROTECT(lev);
	for (i = 0; i < NR_RTOS_DNS_SLOTS; i++) {
		struct slot *s = &slots[i];

		if (s->arg != arg || s->state == SLOT_FREE || s->state == SLOT_CANCELLED)
			continue;
		s->state = s->state == SLOT_DONE ? SLOT_FREE : SLOT_CANCELLED;
	}
	SYS_ARCH_UNPROTECT(lev);
}

int nr_rtos_dns_deliver(void)
{
	size_t i;
	int n = 0;
	SYS_ARCH_DECL_PROTECT(lev);

	for (i = 0; i < NR_RTOS_DNS_SLOTS; i++) {
		struct slot *s = &slots[i];
		struct slot copy;

		SYS_ARCH_PROTECT(lev);
		if (s->state != SLOT_DONE) {
			SYS_ARCH_UNPROTECT(lev);
			continue;
		}
		memcpy(&copy, s, sizeof(copy));
		s->state = SLOT_FREE; /* done() may start the next lookup here */
		SYS_ARCH_UNPROTECT(lev);
		copy.done(copy.arg, copy.err, copy.err == 0 ? &copy.addr : NULL, copy.err == 0);
		n++;
	}
	return n;
}

/* The server is lwIP's global: set it on the tcpip thread. */
static ip_addr_t server_ip;

static void set_server(void *arg)
{
	dns_setserver(0, &server_ip);
}

int nr_plat_resolve_server(const struct nr_addr *a)
{
	if (!a || (a->family != NR_AF_INET4 && a->family != NR_AF_INET6))
		return NR_EINVAL;
	if (a->port != 0 && a->port != 53)
		return NR_ENOTSUP; /* lwIP asks DNS_SERVER_PORT only */
#if LWIP_IPV6
	if (a->family == NR_AF_INET6) {
		ip_addr_t v6 = IPADDR6_INIT(0, 0, 0, 0);

		memcpy(ip_2_ip6(&v6)->addr, a->ip, 16);
		server_ip = v6;
	}
#else
	if (a->family == NR_AF_INET6)
		return NR_ENOTSUP;
#endif
#if LWIP_IPV4
	if (a->family == NR_AF_INET4) {
		ip_addr_t v4 = IPADDR4_INIT(0);

		memcpy(&ip_2_ip4(&v4)->addr, a->ip, 4);
		server_ip = v4;
	}
#endif
	return tcpip_try_callback(set_server, NULL) == ERR_OK ? 0 : NR_ENOMEM;
}
