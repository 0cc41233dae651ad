/*
 * dns.h - asynchronous name resolution for the outbound side (smarthosts).
 *
 * One resolver per loop. A lookup asks for A and AAAA together and returns
 * every address (bounded by CONFIG_NR_DNS_MAX_ADDRS) through a callback that
 * always runs from the loop, never from inside nr_dns_resolve(). Literal
 * addresses ("192.0.2.1", "::1", "[::1]") are answered without a query.
 * Answers are cached for their TTL (the smallest TTL of the answer, at most
 * opts.max_ttl_s) in a fixed table of CONFIG_NR_DNS_CACHE_ENTRIES; failures
 * are not cached.
 *
 * Address order: with NR_DNS_ORDER_INTERLEAVE (the default) IPv6 and IPv4
 * alternate, IPv6 first (RFC 8305 4), so a broken IPv6 path costs one
 * connect timeout, not all of them; NR_DNS_ORDER_V6_FIRST / V4_FIRST keep
 * one family before the other. Within a family the server's order is kept.
 * Without CONFIG_NR_IPV6, IPv6 addresses are dropped.
 *
 * Every failure is temporary for the caller: a DNS failure for the
 * smarthost defers the queue, it never bounces a message.
 *
 * Loop capacity: a resolver uses one nr_timer plus one per lookup in flight
 * (CONFIG_NR_DNS_MAX_QUERIES), and with c-ares one nr_io per socket it
 * opens through platform.h (one UDP socket per server, TCP for truncated
 * answers; at most 8).
 *
 * Backends (the Kconfig choice NR_DNS): dns_cares.c (CONFIG_NR_DNS_CARES,
 * c-ares 1.18 .. 1.34) and dns_platform.c, which is CONFIG_NR_DNS_PLATFORM
 * (the platform's resolver, nr_plat_resolve_start; one address per family,
 * no cache of its own) and CONFIG_NR_DNS_NONE (literal addresses only;
 * names give NR_ENOTSUP).
 */
#ifndef NR_DNS_DNS_H
#define NR_DNS_DNS_H

#include <stddef.h>
#include <stdint.h>

#include "core/build.h"
#include "core/loop.h"
#include "platform.h"

#ifndef CONFIG_NR_DNS_MAX_ADDRS
#define CONFIG_NR_DNS_MAX_ADDRS 8
#endif
#ifndef CONFIG_NR_DNS_CACHE_ENTRIES
#define CONFIG_NR_DNS_CACHE_ENTRIES 8
#endif
#ifndef CONFIG_NR_DNS_MAX_QUERIES
#define CONFIG_NR_DNS_MAX_QUERIES 8
#endif

/* Longest name accepted (RFC 1035 2.3.4: 253 characters in text form). */
#define NR_DNS_NAME_MAX 253

struct nr_dns;
struct nr_dns_query;

enum nr_dns_order {
	NR_DNS_ORDER_INTERLEAVE = 0, /* v6, v4, v6, v4 ... */
	NR_DNS_ORDER_V6_FIRST = 1,
	NR_DNS_ORDER_V4_FIRST = 2,
};

struct nr_dns_opts {
	/* NULL or family NR_AF_NONE: the system resolver (resolv.conf; with
	 * dns_platform.c the platform's own servers). Else
	 * this server only (port 0 means 53). */
	const struct nr_addr *server;
	uint64_t timeout_ms; /* whole lookup; default 5000 */
	uint32_t max_ttl_s;  /* cache ceiling; default 3600; 0: no cache */
	enum nr_dns_order order;
};

struct nr_dns_result {
	size_t count;   /* 1..CONFIG_NR_DNS_MAX_ADDRS on success */
	uint32_t ttl_s; /* remaining lifetime of this answer (0: literal) */
	int from_cache; /* 1 when answered without a query */
	struct nr_addr addrs[CONFIG_NR_DNS_MAX_ADDRS]; /* port 0 */
};

/*
 * Called exactly once per lookup that was not cancelled, from the loop.
 * status: 0 (res holds at least one address), NR_ENOTFOUND (NXDOMAIN, or
 * the name has no A/AAAA), NR_ETIMEDOUT, NR_EDNS (SERVFAIL, refused, bad
 * answer, unreachable server), NR_ENOMEM. res is valid only during the
 * call (NULL unless status is 0). The query handle is dead once the
 * callback runs; the callback may start new lookups or free nothing else.
 */
typedef void (*nr_dns_fn)(void *arg, int status, const struct nr_dns_result *res);

/* Resolver with default options and the given server (NULL: system). */
int nr_dns_new(struct nr_dns **out, struct nr_loop *loop,
	       const struct nr_addr *server) NR_MUST_CHECK;
/* Resolver with explicit options (opts NULL: defaults). NR_ENOMEM, NR_EDNS
 * (the library failed to start, e.g. no resolv.conf), NR_EINVAL. */
int nr_dns_new_opts(struct nr_dns **out, struct nr_loop *loop,
		    const struct nr_dns_opts *opts) NR_MUST_CHECK;
/* Release everything; lookups still pending are dropped without callback.
 * NULL is ignored. Must not be called from a nr_dns callback. */
void nr_dns_free(struct nr_dns *dns);

/*
 * Start a lookup of name (a host name or a literal address). *q (may be
 * NULL) receives a handle for nr_dns_cancel. Returns 0 when started; the
 * callback follows later. NR_EINVAL for a malformed name, NR_ENOMEM when
 * CONFIG_NR_DNS_MAX_QUERIES lookups are in flight, NR_ENOTSUP for a name
 * without a resolver backend. No callback follows an error return.
 */
int nr_dns_resolve(struct nr_dns *dns, const char *name, nr_dns_fn fn, void *arg,
		   struct nr_dns_query **q) NR_MUST_CHECK;

/* Forget a lookup: its callback will not run. For a session that goes away.
 * The slot is reused once the resolver is done with it (bounded by the
 * timeout). Cancelling after the callback ran is a bug. */
void nr_dns_cancel(struct nr_dns *dns, struct nr_dns_query *q);

/* The resolver library, for --version: "c-ares 1.18.1" (the version
 * linked, asked at run time), or NULL when only literals are resolved. */
const char *nr_dns_library(void);

/* Drop every cached answer. */
void nr_dns_cache_flush(struct nr_dns *dns);

struct nr_dns_stats {
	uint64_t lookups;    /* nr_dns_resolve calls that started */
	uint64_t queries;    /* lookups sent to a server */
	uint64_t cache_hits; /* lookups answered from the cache */
	uint64_t failures;   /* callbacks with a non-zero status */
};
void nr_dns_get_stats(const struct nr_dns *dns, struct nr_dns_stats *out);

/* ---- pure helpers (dns_util.c), shared by the backends ---------------------- */

/* Parse a literal IPv4 ("192.0.2.1", four decimal parts, no leading zeros)
 * or IPv6 address (RFC 4291 2.2, optionally in brackets) into out (port 0).
 * Returns 0, or NR_EINVAL when s is not a literal. */
int nr_dns_parse_literal(const char *s, struct nr_addr *out);

/* 0 when name is a plausible host name (letters, digits, '-', '_', '.',
 * labels of 1..63, at most NR_DNS_NAME_MAX, optional final dot), else
 * NR_EINVAL. */
int nr_dns_check_name(const char *name);

/* Reorder n addresses in place by order (stable within a family); drop
 * IPv6 without CONFIG_NR_IPV6. Returns the new count. */
size_t nr_dns_sort(struct nr_addr *addrs, size_t n, enum nr_dns_order order);

#endif /* NR_DNS_DNS_H */
