/*
 * sim_resolve.c - the platform resolver of platform.h on virtual time (see
 * sim.h): scripted answers, delivered from inside nr_plat_poll() when
 * their time comes, as a real platform delivers them.
 */
#include <string.h>

#include "sim_internal.h"

#define MAX_RULES 16
#define MAX_LOOKUPS 32

struct rule {
	char name[NR_DNS_SIM_NAME_MAX + 1];
	uint8_t family;
	int err;
	struct nr_addr addr;
	uint64_t delay_ms;
};

struct lookup {
	int used;
	uint64_t due; /* SIM_RESOLVE_NEVER: silent */
	int err;
	struct nr_addr addr;
	nr_plat_resolve_fn done;
	void *arg;
};

static struct rule rules[MAX_RULES];
static size_t nrules;
static struct lookup lookups[MAX_LOOKUPS];
static size_t started, cancelled;
static int fail_next;
static struct nr_addr server;

void sim_resolve_reset(void)
{
	memset(rules, 0, sizeof(rules));
	memset(lookups, 0, sizeof(lookups));
	nrules = started = cancelled = 0;
	fail_next = 0;
	memset(&server, 0, sizeof(server));
}

void sim_resolve_script(const char *name, uint8_t family, int err, const char *addr_text,
			uint64_t delay_ms)
{
	struct rule *r;

	if (nrules == MAX_RULES || strlen(name) > NR_DNS_SIM_NAME_MAX)
		return;
	r = &rules[nrules++];
	strcpy(r->name, name);
	r->family = family;
	r->err = err;
	if (addr_text)
		r->addr = sim_addr(addr_text);
	r->delay_ms = delay_ms;
}

void sim_resolve_fail_next(int err)
{
	fail_next = err;
}

size_t sim_resolve_started(void)
{
	return started;
}

size_t sim_resolve_cancelled(void)
{
	return cancelled;
}

size_t sim_resolve_pending(void)
{
	size_t i, n = 0;

	for (i = 0; i < MAX_LOOKUPS; i++)
		n += lookups[i].used;
	return n;
}

const struct nr_addr *sim_resolve_server_set(void)
{
	return &server;
}

int nr_plat_resolve_start(const char *name, uint8_t family, nr_plat_resolve_fn done, void *arg)
{
	struct lookup *l = NULL;
	size_t i;
	int err = fail_next;

	fail_next = 0;
	if (err)
		return err;
	if (family != NR_AF_INET4 && family != NR_AF_INET6)
		return NR_EINVAL;
	for (i = 0; i < MAX_LOOKUPS && !l; i++) {
		if (!lookups[i].used)
			l = &lookups[i];
	}
	if (!l)
		return NR_ENOMEM;
	memset(l, 0, sizeof(*l));
	l->used = 1;
	l->done = done;
	l->arg = arg;
	/* Unscripted: no such name, answered at once. */
	l->err = NR_ENOTFOUND;
	l->due = sim_now();
	for (i = 0; i < nrules; i++) {
		if (rules[i].family == family && strcmp(rules[i].name, name) == 0) {
			l->err = rules[i].err;
			l->addr = rules[i].addr;
			l->due = rules[i].delay_ms == SIM_RESOLVE_NEVER
				     ? SIM_RESOLVE_NEVER
				     : sim_now() + rules[i].delay_ms;
		}
	}
	started++;
	return 0;
}

void nr_plat_resolve_cancel(void *arg)
{
	size_t i;

	for (i = 0; i < MAX_LOOKUPS; i++) {
		if (lookups[i].used && lookups[i].arg == arg) {
			lookups[i].used = 0;
			cancelled++;
		}
	}
}

int nr_plat_resolve_server(const struct nr_addr *a)
{
	if (a->port != 0 && a->port != 53)
		return NR_ENOTSUP;
	server = *a;
	return 0;
}

uint64_t sim_resolve_next_due(void)
{
	uint64_t best = UINT64_MAX;
	size_t i;

	for (i = 0; i < MAX_LOOKUPS; i++) {
		if (lookups[i].used && lookups[i].due != SIM_RESOLVE_NEVER && lookups[i].due < best)
			best = lookups[i].due;
	}
	return best;
}

int sim_resolve_deliver(void)
{
	size_t i;
	int n = 0;

	for (i = 0; i < MAX_LOOKUPS; i++) {
		struct lookup l = lookups[i];

		if (!l.used || l.due == SIM_RESOLVE_NEVER || l.due > sim_now())
			continue;
		lookups[i].used = 0; /* done may start another lookup */
		l.done(l.arg, l.err, l.err == 0 ? &l.addr : NULL, l.err == 0 ? 1 : 0);
		n++;
	}
	return n;
}
