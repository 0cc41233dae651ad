/*
 * dns_priv.h - pieces shared by the dns backends (not for other modules):
 * what a lookup asks for, and the answer cache, keyed by the lower-cased
 * name without a final dot.
 */
#ifndef NR_DNS_PRIV_H
#define NR_DNS_PRIV_H

#include "dns/dns.h"

/* What nr_dns_resolve() was given (nr_dns_classify). */
enum { NR_DNS_LITERAL = 0, NR_DNS_NAME = 1 };

/* NR_DNS_LITERAL with *lit set (port 0) for an address literal this build
 * can use, NR_DNS_NAME for a host name to look up, NR_EINVAL for anything
 * else (also NULL, and an IPv6 literal without CONFIG_NR_IPV6). */
int nr_dns_classify(const char *name, struct nr_addr *lit);

struct nr_dns_cache_entry {
	int used;
	uint64_t expires_ms; /* loop time */
	size_t count;
	struct nr_addr addrs[CONFIG_NR_DNS_MAX_ADDRS];
	char name[NR_DNS_NAME_MAX + 1];
};

struct nr_dns_cache {
	struct nr_dns_cache_entry entries[CONFIG_NR_DNS_CACHE_ENTRIES];
};

/* Copy name lower-cased without a final dot into key (NR_DNS_NAME_MAX + 1
 * bytes). */
void nr_dns_cache_key(char *key, const char *name);
/* 1 and *out filled (from_cache set, ttl_s the remaining seconds) when a
 * live entry for key exists at now_ms; 0 otherwise. */
int nr_dns_cache_get(struct nr_dns_cache *c, const char *key, uint64_t now_ms,
		     struct nr_dns_result *out);
/* Store n (>0) addresses for ttl_s seconds (0: not stored). Replaces the
 * entry for key, else a free or expired slot, else the one closest to
 * expiry. */
void nr_dns_cache_put(struct nr_dns_cache *c, const char *key, uint64_t now_ms,
		      const struct nr_addr *addrs, size_t n, uint32_t ttl_s);
void nr_dns_cache_clear(struct nr_dns_cache *c);

#endif /* NR_DNS_PRIV_H */
