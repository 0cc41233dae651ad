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

/* AUTH throttling (acl_auth.c). Failures are kept per (client, user) and
 * per client, where a client is an IPv4 address or an IPv6 /64 (a host
 * picks any address in its /64, RFC 4941). After `free` failures, each
 * further one doubles the wait (from NR_ACL_AUTH_DELAY_MS up to
 * NR_ACL_AUTH_DELAY_MAX_MS); a record quiet for NR_ACL_AUTH_FORGET_MS
 * starts again from zero. A success clears its own (client, user) record
 * only: the client's record keeps counting, so one valid account cannot
 * reset the guesses against another. */
#define NR_ACL_AUTH_FREE 3         /* default auth_failures_per_user */
#define NR_ACL_AUTH_FREE_CLIENT 10 /* default auth_failures_per_client */
#define NR_ACL_AUTH_PER_SECOND 10  /* default auth_max_per_second */
#define NR_ACL_AUTH_DELAY_MS 2000
#define NR_ACL_AUTH_DELAY_MAX_MS (15 * 60 * 1000)
#define NR_ACL_AUTH_FORGET_MS (60 * 60 * 1000)

/* One AUTH record: a client's (user == 0) or a client's and user's. */
struct nr_acl_auth_rec {
	uint8_t family; /* NR_AF_NONE: free slot */
	uint8_t ip[16]; /* IPv6: the /64, the rest zero */
	uint32_t user;  /* hash of the user name, never 0; 0: the client's record */
	unsigned failures;
	uint64_t blocked_until; /* monotonic ms */
	uint64_t last_fail;     /* monotonic ms, for forgetting and eviction */
};

struct nr_acl_client {
	uint8_t family; /* NR_AF_NONE: free slot */
	uint8_t ip[16];
	unsigned sessions;
	uint64_t last_seen; /* monotonic ms, for eviction */
};

struct nr_acl {
	struct nr_acl_client *tab;
	size_t cap;
	unsigned sessions;  /* in total, network peers */
	unsigned max_total; /* 0: no limit */
	unsigned max_per_client;
	unsigned local_sessions; /* local peers (NR_AF_LOCAL), a count of their own */
	unsigned max_local;      /* 0: no limit */

	struct nr_acl_auth_rec *auth; /* cap records */
	unsigned auth_free_user;      /* auth_failures_per_user */
	unsigned auth_free_client;    /* auth_failures_per_client */
	unsigned auth_per_second;     /* auth_max_per_second, 0: no limit */
	uint64_t auth_window;         /* start of the current second */
	unsigned auth_in_window;      /* verifications begun in it */
};

/* A table for cap clients (at least max_total). NR_ENOMEM. */
int nr_acl_init(struct nr_acl *acl, size_t cap, unsigned max_total,
		unsigned max_per_client) NR_MUST_CHECK;
void nr_acl_free(struct nr_acl *acl);
/* Change the limits (reload); existing sessions stay. */
void nr_acl_set_limits(struct nr_acl *acl, unsigned max_total, unsigned max_per_client);
/* The cap on local sessions (max_local_sessions), 0: none. */
void nr_acl_set_local_limit(struct nr_acl *acl, unsigned max_local);

/* Copy of addr's family and ip with IPv4-mapped IPv6 turned into IPv4. */
void nr_acl_normalise(const struct nr_addr *in, uint8_t *family, uint8_t ip[16]);

/* 1 when addr lies in one of the n networks. */
int nr_acl_allowed(const struct nr_cidr *nets, size_t n, const struct nr_addr *addr);

/* Count a new session from peer. 0, NR_EFULL (sessions in total: 421
 * 4.3.2), NR_EBUSY (this client: 421 4.7.0). Local peers (NR_AF_LOCAL or
 * NR_AF_NONE) count against max_local only (NR_EFULL), so they neither fill
 * the network's total nor are kept out by it. */
int nr_acl_session_open(struct nr_acl *acl, const struct nr_addr *peer, uint64_t now) NR_MUST_CHECK;
/* Pair of a successful nr_acl_session_open. */
void nr_acl_session_close(struct nr_acl *acl, const struct nr_addr *peer);

/* Change the AUTH limits (reload): free failures per (client, user) and
 * per client, verifications per second in total (0: no limit). */
void nr_acl_set_auth_limits(struct nr_acl *acl, unsigned free_user, unsigned free_client,
			    unsigned per_second);

/* The AUTH command's early look: 0, or NR_EBUSY while the client is
 * blocked whatever the user. */
int nr_acl_auth_check(struct nr_acl *acl, const struct nr_addr *peer, uint64_t now);
/* Right before a password is hashed: 0 (counted towards the global rate),
 * NR_EBUSY while the client or this (client, user) is blocked, NR_EFULL
 * when auth_max_per_second verifications began in this second. On anything
 * but 0 the caller must not hash, so a blocked client learns nothing, not
 * even from the right password. */
int nr_acl_auth_begin(struct nr_acl *acl, const struct nr_addr *peer, const char *user,
		      uint64_t now);
void nr_acl_auth_failed(struct nr_acl *acl, const struct nr_addr *peer, const char *user,
			uint64_t now);
/* Clears the (client, user) record only. */
void nr_acl_auth_succeeded(struct nr_acl *acl, const struct nr_addr *peer, const char *user);

/* Sessions currently open from peer (0 when unknown). */
unsigned nr_acl_sessions_of(const struct nr_acl *acl, const struct nr_addr *peer);

#endif /* NR_ACL_ACL_H */
