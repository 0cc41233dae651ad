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

/* ---- DNS messages (dns_wire.c), for the stub resolver ------------------------- */
#define NR_DNS_TYPE_A 1
#define NR_DNS_TYPE_AAAA 28
/* A query: header, the name in wire form (at most 255 bytes), type, class. */
#define NR_DNS_QUERY_MAX (12 + 256 + 4)
/* CNAME links followed from the asked name to its addresses. */
#define NR_DNS_CNAME_MAX 8

struct nr_dns_answer {
	int rcode;     /* RFC 1035 4.1.1: 0 no error, 2 SERVFAIL, 3 NXDOMAIN, 5 REFUSED */
	int truncated; /* TC: ask again over TCP */
	uint32_t ttl;  /* the smallest TTL of the records taken (0: none) */
	size_t count;  /* addresses of the asked type, at most CONFIG_NR_DNS_MAX_ADDRS */
	struct nr_addr addrs[CONFIG_NR_DNS_MAX_ADDRS];
};

/* Write a query (recursion desired, class IN) for name, a host name that
 * nr_dns_check_name() accepts, into buf: its length, or NR_EINVAL (the name,
 * or cap below NR_DNS_QUERY_MAX for it). */
long nr_dns_wire_query(uint8_t *buf, size_t cap, uint16_t id, const char *name, uint16_t qtype);

/* Parse msg as the answer to query (what nr_dns_wire_query wrote).
 * 0: it is, *out holds its rcode, TC bit and, for rcode 0, the addresses.
 * NR_EINVAL: not an answer to this query (another ID or question); ignore it.
 * NR_EDNS: the answer to it, malformed (a record past the end, a pointer
 * loop, too long a CNAME chain). */
int nr_dns_wire_answer(const uint8_t *msg, size_t len, const uint8_t *query, size_t qlen,
		       struct nr_dns_answer *out);

/* The nameserver lines of a resolv.conf text (IPv4, and IPv6 with
 * CONFIG_NR_IPV6; a scoped address is skipped), port 53, at most max, in
 * the file's order. Returns how many. */
size_t nr_dns_conf_servers(const char *text, struct nr_addr *out, size_t max);

/* The domains of a resolv.conf text's last search or domain line, each a
 * valid name without a final dot, into out (size bytes, NUL-terminated),
 * separated by one space; those that do not fit are left out. Returns how
 * many. */
size_t nr_dns_conf_search(const char *text, char *out, size_t size);

/* The addresses that a hosts text gives key (lower case, no final dot) as
 * a name or an alias, in the file's order, port 0, at most max. */
size_t nr_dns_hosts_find(const char *text, const char *key, struct nr_addr *out, size_t max);

/* dns_stub.c reads these (a test points them at its own files). */
extern const char *nr_dns_stub_resolv_conf;
extern const char *nr_dns_stub_hosts;

#endif /* NR_DNS_PRIV_H */
