/* acl_auth.c - AUTH throttling: failures per (client, user) and per client,
 * IPv6 per /64, and a global rate of verifications (rules in acl.h). */
#include <string.h>

#include "acl/acl.h"

void nr_acl_set_auth_limits(struct nr_acl *acl, unsigned free_user, unsigned free_client,
			    unsigned per_second)
{
	acl->auth_free_user = free_user ? free_user : 1;
	acl->auth_free_client = free_client ? free_client : 1;
	acl->auth_per_second = per_second;
}

/* The client an AUTH record is kept for: the address, or its /64. */
static void auth_client(const struct nr_addr *peer, uint8_t *family, uint8_t ip[16])
{
	nr_acl_normalise(peer, family, ip);
	if (*family == NR_AF_INET6)
		memset(ip + 8, 0, 8);
}

/* FNV-1a of the name; never 0 (0 is the client's own record). A collision
 * only makes two names of one client share a counter. */
static uint32_t user_key(const char *user)
{
	uint32_t h = 2166136261u;
	for (const unsigned char *p = (const unsigned char *)user; *p; p++)
		h = (h ^ *p) * 16777619u;
	return h ? h : 1;
}

static struct nr_acl_auth_rec *auth_find(const struct nr_acl *acl, uint8_t fam,
					 const uint8_t ip[16], uint32_t user, uint64_t now)
{
	for (size_t i = 0; i < acl->cap; i++) {
		struct nr_acl_auth_rec *r = &acl->auth[i];
		if (r->family != fam || r->user != user || memcmp(r->ip, ip, 16) != 0)
			continue;
		if (now >= r->blocked_until && now - r->last_fail >= NR_ACL_AUTH_FORGET_MS) {
			memset(r, 0, sizeof(*r)); /* quiet long enough: forgotten */
			return NULL;
		}
		return r;
	}
	return NULL;
}

/* Find or make a record. When the table is full the record whose block
 * ended longest ago goes (a blocked one only when every one is), never
 * keep (the other record of the same failure). */
static struct nr_acl_auth_rec *auth_add(struct nr_acl *acl, uint8_t fam, const uint8_t ip[16],
					uint32_t user, uint64_t now,
					const struct nr_acl_auth_rec *keep)
{
	struct nr_acl_auth_rec *r = auth_find(acl, fam, ip, user, now), *victim = NULL;
	if (r)
		return r;
	for (size_t i = 0; i < acl->cap; i++) {
		r = &acl->auth[i];
		if (r->family == NR_AF_NONE) {
			victim = r;
			break;
		}
		if (r == keep)
			continue;
		if (!victim || r->blocked_until < victim->blocked_until ||
		    (r->blocked_until == victim->blocked_until && r->last_fail < victim->last_fail))
			victim = r;
	}
	if (!victim)
		return NULL; /* no table */
	memset(victim, 0, sizeof(*victim));
	victim->family = fam;
	memcpy(victim->ip, ip, 16);
	victim->user = user;
	return victim;
}

static int blocked(const struct nr_acl_auth_rec *r, uint64_t now)
{
	return r && now < r->blocked_until;
}

int nr_acl_auth_check(struct nr_acl *acl, const struct nr_addr *peer, uint64_t now)
{
	uint8_t fam, ip[16];
	auth_client(peer, &fam, ip);
	return blocked(auth_find(acl, fam, ip, 0, now), now) ? NR_EBUSY : 0;
}

int nr_acl_auth_begin(struct nr_acl *acl, const struct nr_addr *peer, const char *user,
		      uint64_t now)
{
	uint8_t fam, ip[16];
	auth_client(peer, &fam, ip);
	if (blocked(auth_find(acl, fam, ip, 0, now), now) ||
	    blocked(auth_find(acl, fam, ip, user_key(user), now), now))
		return NR_EBUSY;
	if (now - acl->auth_window >= 1000 || now < acl->auth_window) {
		acl->auth_window = now;
		acl->auth_in_window = 0;
	}
	if (acl->auth_per_second && acl->auth_in_window >= acl->auth_per_second)
		return NR_EFULL;
	acl->auth_in_window++;
	return 0;
}

/* One more failure on r: block it once past its free ones. */
static void count_failure(struct nr_acl_auth_rec *r, unsigned free, uint64_t now)
{
	if (!r)
		return;
	r->last_fail = now;
	if (r->failures < 64)
		r->failures++;
	if (r->failures < free)
		return;
	uint64_t delay = NR_ACL_AUTH_DELAY_MS;
	for (unsigned i = free; i < r->failures && delay < NR_ACL_AUTH_DELAY_MAX_MS; i++)
		delay *= 2;
	if (delay > NR_ACL_AUTH_DELAY_MAX_MS)
		delay = NR_ACL_AUTH_DELAY_MAX_MS;
	r->blocked_until = now + delay;
}

void nr_acl_auth_failed(struct nr_acl *acl, const struct nr_addr *peer, const char *user,
			uint64_t now)
{
	uint8_t fam, ip[16];
	auth_client(peer, &fam, ip);
	struct nr_acl_auth_rec *r = auth_add(acl, fam, ip, user_key(user), now, NULL);
	count_failure(r, acl->auth_free_user, now);
	count_failure(auth_add(acl, fam, ip, 0, now, r), acl->auth_free_client, now);
}

void nr_acl_auth_succeeded(struct nr_acl *acl, const struct nr_addr *peer, const char *user)
{
	uint8_t fam, ip[16];
	auth_client(peer, &fam, ip);
	uint32_t key = user_key(user);
	for (size_t i = 0; i < acl->cap; i++) {
		struct nr_acl_auth_rec *r = &acl->auth[i];
		if (r->family == fam && r->user == key && memcmp(r->ip, ip, 16) == 0)
			memset(r, 0, sizeof(*r));
	}
}
