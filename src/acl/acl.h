/*
 * acl.h - who may relay, and how much one client may take.
 *
 * Classification: a client may relay without AUTH when its address lies in
 * one of the `allow` networks (IPv4-mapped IPv6 is classified as IPv4).
 * Accounting: sessions per client address and AUTH failures per client in
 * one fixed table (no allocation after init), so a burst from one address
 * cannot starve the others. Pure bookkeeping: time is passed in.
 */
#ifndef NR_ACL_ACL_H
#define NR_ACL_ACL_H

#include <stddef.h>
#include <stdint.h>

#include "core/build.h"
#include "platform.h"

struct nr_cidr;

/* AUTH throttling: after NR_ACL_AUTH_FREE failures, each further failure
 * doubles the wait (from NR_ACL_AUTH_DELAY_MS up to NR_ACL_AUTH_DELAY_MAX_MS). */
#define NR_ACL_AUTH_FREE 3
#define NR_ACL_AUTH_DELAY_MS 2000
#define NR_ACL_AUTH_DELAY_MAX_MS (15 * 60 * 1000)

struct nr_acl_client {
	uint8_t family; /* NR_AF_NONE: free slot */
	uint8_t ip[16];
	unsigned sessions;
	unsigned auth_failures;
	uint64_t auth_blocked_until; /* monotonic ms */
	uint64_t last_seen;          /* monotonic ms, for eviction */
};

struct nr_acl {
	struct nr_acl_client *tab;
	size_t cap;
	unsigned sessions;  /* in total */
	unsigned max_total; /* 0: no limit */
	unsigned max_per_client;
};

/* A table for cap clients (at least max_total). NR_ENOMEM. */
int nr_acl_init(struct nr_acl *acl, size_t cap, unsigned max_total,
		unsigned max_per_client) NR_MUST_CHECK;
void nr_acl_free(struct nr_acl *acl);
/* Change the limits (reload); existing sessions stay. */
void nr_acl_set_limits(struct nr_acl *acl, unsigned max_total, unsigned max_per_client);

/* Copy of addr's family and ip with IPv4-mapped IPv6 turned into IPv4. */
void nr_acl_normalise(const struct nr_addr *in, uint8_t *family, uint8_t ip[16]);

/* 1 when addr lies in one of the n networks. */
int nr_acl_allowed(const struct nr_cidr *nets, size_t n, const struct nr_addr *addr);

/* Count a new session from peer. 0, NR_EFULL (sessions in total: 421
 * 4.3.2), NR_EBUSY (this client: 421 4.7.0). Local peers (NR_AF_LOCAL) only
 * count against the total. */
int nr_acl_session_open(struct nr_acl *acl, const struct nr_addr *peer, uint64_t now) NR_MUST_CHECK;
/* Pair of a successful nr_acl_session_open. */
void nr_acl_session_close(struct nr_acl *acl, const struct nr_addr *peer);

/* 0 when peer may try AUTH now, NR_EBUSY while it is throttled. */
int nr_acl_auth_check(struct nr_acl *acl, const struct nr_addr *peer, uint64_t now);
void nr_acl_auth_failed(struct nr_acl *acl, const struct nr_addr *peer, uint64_t now);
void nr_acl_auth_succeeded(struct nr_acl *acl, const struct nr_addr *peer);

/* Sessions currently open from peer (0 when unknown). */
unsigned nr_acl_sessions_of(const struct nr_acl *acl, const struct nr_addr *peer);

#endif /* NR_ACL_ACL_H */
