/* acl.c - relay classification, per-client sessions, AUTH throttling. */
#include <stdlib.h>
#include <string.h>

#include "acl/acl.h"
#include "core/mem.h"

/* ::ffff:a.b.c.d is a.b.c.d (RFC 4291 2.5.5.2). */
void nr_acl_normalise(const struct nr_addr *in, uint8_t *family, uint8_t ip[16])
{
	static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	uint8_t src[16];
	uint8_t fam = in->family;

	memcpy(src, in->ip, 16); /* in and the outputs may overlap */
	memset(ip, 0, 16);
	if (fam == NR_AF_INET6 && memcmp(src, mapped, 12) == 0) {
		fam = NR_AF_INET4;
		memcpy(ip, src + 12, 4);
	} else if (fam == NR_AF_INET4) {
		memcpy(ip, src, 4);
	} else if (fam == NR_AF_INET6) {
		memcpy(ip, src, 16);
	}
	*family = fam;
}

int nr_acl_init(struct nr_acl *acl, size_t cap, unsigned max_total, unsigned max_per_client)
{
	memset(acl, 0, sizeof(*acl));
	if (cap < max_total)
		cap = max_total;
	if (cap == 0)
		cap = 1;
	acl->tab = nr_calloc(cap, sizeof(*acl->tab));
	acl->auth = nr_calloc(cap, sizeof(*acl->auth));
	if (!acl->tab || !acl->auth) {
		nr_acl_free(acl);
		return NR_ENOMEM;
	}
	acl->cap = cap;
	nr_acl_set_limits(acl, max_total, max_per_client);
	nr_acl_set_auth_limits(acl, NR_ACL_AUTH_FREE, NR_ACL_AUTH_FREE_CLIENT,
			       NR_ACL_AUTH_PER_SECOND);
	return 0;
}

void nr_acl_free(struct nr_acl *acl)
{
	nr_free(acl->tab);
	nr_free(acl->auth);
	acl->tab = NULL;
	acl->auth = NULL;
	acl->cap = 0;
}

void nr_acl_set_limits(struct nr_acl *acl, unsigned max_total, unsigned max_per_client)
{
	acl->max_total = max_total;
	acl->max_per_client = max_per_client;
}

static struct nr_acl_client *find(const struct nr_acl *acl, const struct nr_addr *peer)
{
	uint8_t fam, ip[16];
	nr_acl_normalise(peer, &fam, ip);
	for (size_t i = 0; i < acl->cap; i++) {
		struct nr_acl_client *e = &acl->tab[i];
		if (e->family == fam && memcmp(e->ip, ip, 16) == 0)
			return e;
	}
	return NULL;
}

/* Find or make a slot; an idle record (no sessions) is evicted when the
 * table is full, the least recently seen first. NULL when every slot holds
 * a session (cannot happen while cap >= max_total). */
static struct nr_acl_client *find_or_add(struct nr_acl *acl, const struct nr_addr *peer,
					 uint64_t now)
{
	struct nr_acl_client *e = find(acl, peer), *victim = NULL;
	if (e)
		return e;
	for (size_t i = 0; i < acl->cap; i++) {
		e = &acl->tab[i];
		if (e->family == NR_AF_NONE) {
			victim = e;
			break;
		}
		if (e->sessions == 0 && (!victim || e->last_seen < victim->last_seen))
			victim = e;
	}
	if (!victim)
		return NULL;
	memset(victim, 0, sizeof(*victim));
	nr_acl_normalise(peer, &victim->family, victim->ip);
	victim->last_seen = now;
	return victim;
}

static void forget_if_idle(struct nr_acl_client *e)
{
	if (e->sessions == 0)
		memset(e, 0, sizeof(*e));
}

void nr_acl_set_local_limit(struct nr_acl *acl, unsigned max_local)
{
	acl->max_local = max_local;
}

static int is_local(const struct nr_addr *peer)
{
	return peer->family == NR_AF_LOCAL || peer->family == NR_AF_NONE;
}

int nr_acl_session_open(struct nr_acl *acl, const struct nr_addr *peer, uint64_t now)
{
	if (is_local(peer)) {
		if (acl->max_local && acl->local_sessions >= acl->max_local)
			return NR_EFULL;
		acl->local_sessions++;
		return 0;
	}
	if (acl->max_total && acl->sessions >= acl->max_total)
		return NR_EFULL;
	struct nr_acl_client *e = find_or_add(acl, peer, now);
	if (!e)
		return NR_EFULL;
	if (acl->max_per_client && e->sessions >= acl->max_per_client) {
		forget_if_idle(e);
		return NR_EBUSY;
	}
	e->sessions++;
	e->last_seen = now;
	acl->sessions++;
	return 0;
}

void nr_acl_session_close(struct nr_acl *acl, const struct nr_addr *peer)
{
	if (is_local(peer)) {
		if (acl->local_sessions)
			acl->local_sessions--;
		return;
	}
	if (acl->sessions)
		acl->sessions--;
	struct nr_acl_client *e = find(acl, peer);
	if (!e || e->sessions == 0)
		return;
	e->sessions--;
	forget_if_idle(e);
}

unsigned nr_acl_sessions_of(const struct nr_acl *acl, const struct nr_addr *peer)
{
	const struct nr_acl_client *e = find(acl, peer);
	return e ? e->sessions : 0;
}
