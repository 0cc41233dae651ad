/*
 * dns_platform.c - names resolved by the platform's own resolver
 * (CONFIG_NR_DNS_PLATFORM): nr_plat_resolve_start() of platform.h, which
 * the RTOS shim implements with lwIP's DNS client (platform/rtos/rtos_dns.c).
 *
 * A lookup is one platform lookup per family ("legs": A, and AAAA with
 * CONFIG_NR_IPV6) and is answered once every leg has ended: the addresses
 * of all legs in dns.h's order, or, when none found any, an error (a leg's
 * real failure before "not found"). The platform calls a leg back from
 * inside nr_plat_poll(); the answer then waits for a 0 ms timer, so the
 * user's callback runs from the loop's timer dispatch like every other one.
 *
 * What it costs against c-ares (README: Upstream, DNS): lwIP answers one
 * address per family, no MX, no DNSSEC, and gives no TTL, so nothing is
 * cached here (lwIP keeps DNS_TABLE_SIZE answers for their TTL itself).
 *
 * It is also the resolver of CONFIG_NR_DNS_NONE builds: literal addresses
 * only; a name is NR_ENOTSUP and dns_server is not used.
 */
#include "dns/dns_priv.h"

#include <stdlib.h>
#include <string.h>

#include "core/addr.h"
#include "core/log.h"
#include "core/mem.h"

/* Names go to the platform; without it (NR_DNS_NONE) only literals work. */
#define NR_DNS_NAMES NR_ENABLED(CONFIG_NR_DNS_PLATFORM)
#define NR_DNS_LEGS (NR_ENABLED(CONFIG_NR_IPV6) ? 2 : 1)

struct nr_dns_leg {
	struct nr_dns_query *q;
	uint8_t family; /* NR_AF_INET4 | NR_AF_INET6 */
	int asking;     /* a platform lookup is in flight */
	int err;        /* its outcome */
};

struct nr_dns_query {
	struct nr_dns *dns;
	int used;
	int answered; /* status and result are final; the timer delivers them */
	int status;
	nr_dns_fn fn;
	void *arg;
	struct nr_timer timer; /* the lookup's deadline, then 0 ms to deliver */
	struct nr_dns_leg legs[2];
	struct nr_dns_result result;
};

struct nr_dns {
	struct nr_loop *loop;
	uint64_t timeout_ms;
	enum nr_dns_order order;
	struct nr_dns_query queries[CONFIG_NR_DNS_MAX_QUERIES];
	struct nr_dns_stats stats;
};

static void legs_cancel(struct nr_dns_query *q)
{
	int i;

	for (i = 0; i < NR_DNS_LEGS; i++) {
		if (q->legs[i].asking)
			nr_plat_resolve_cancel(&q->legs[i]);
		q->legs[i].asking = 0;
	}
}

static void query_release(struct nr_dns_query *q)
{
	legs_cancel(q);
	nr_timer_cancel(q->dns->loop, &q->timer);
	q->used = 0;
}

/* Hand the outcome over; the slot is free first, so the callback may start
 * a new lookup in it. */
static void query_deliver(struct nr_dns_query *q, int status)
{
	nr_dns_fn fn = q->fn;
	void *arg = q->arg;
	struct nr_dns_result res = q->result;

	query_release(q);
	if (status != 0)
		q->dns->stats.failures++;
	fn(arg, status, status == 0 ? &res : NULL);
}

static void on_query_timer(struct nr_loop *loop, void *arg)
{
	struct nr_dns_query *q = arg;

	if (q->answered)
		query_deliver(q, q->status);
	else
		query_deliver(q, NR_ETIMEDOUT); /* the deadline; cancels the legs */
}

/* Every leg has ended: settle the answer and let the loop deliver it. */
static void query_settle(struct nr_dns_query *q)
{
	int i;

	q->result.count = nr_dns_sort(q->result.addrs, q->result.count, q->dns->order);
	q->status = q->result.count ? 0 : NR_ENOTFOUND;
	for (i = 0; i < NR_DNS_LEGS && q->status != 0; i++) {
		if (q->legs[i].err != 0 && q->legs[i].err != NR_ENOTFOUND)
			q->status = q->legs[i].err;
	}
	q->answered = 1;
	if (nr_timer_arm(q->dns->loop, &q->timer, 0) != 0) {
		nr_err("dns: cannot arm the answer timer");
		query_deliver(q, NR_ENOMEM);
	}
}

/* nr_plat_resolve_fn: one leg's answer, from inside nr_plat_poll(). */
static void on_leg_done(void *arg, int err, const struct nr_addr *addrs, size_t n)
{
	struct nr_dns_leg *leg = arg;
	struct nr_dns_query *q = leg->q;
	size_t i;
	int j;

	if (!q->used || !leg->asking)
		return; /* a platform that called after a cancel */
	leg->asking = 0;
	leg->err = err;
	for (i = 0; err == 0 && i < n && q->result.count < CONFIG_NR_DNS_MAX_ADDRS; i++) {
		if (addrs[i].family != leg->family)
			continue;
		q->result.addrs[q->result.count] = addrs[i];
		q->result.addrs[q->result.count++].port = 0;
	}
	for (j = 0; j < NR_DNS_LEGS; j++) {
		if (q->legs[j].asking)
			return;
	}
	query_settle(q);
}

static struct nr_dns_query *query_alloc(struct nr_dns *dns)
{
	size_t i;

	for (i = 0; i < CONFIG_NR_DNS_MAX_QUERIES; i++) {
		struct nr_dns_query *q = &dns->queries[i];

		if (!q->used) {
			memset(q, 0, sizeof(*q));
			q->dns = dns;
			nr_timer_init(&q->timer, on_query_timer, q);
			return q;
		}
	}
	return NULL;
}

/* Start every leg of q for name; on failure none is left running. */
static int legs_start(struct nr_dns_query *q, const char *name)
{
	static const uint8_t families[2] = {NR_AF_INET4, NR_AF_INET6};
	int i, ret;

	for (i = 0; i < NR_DNS_LEGS; i++) {
		struct nr_dns_leg *leg = &q->legs[i];

		leg->q = q;
		leg->family = families[i];
		ret = nr_plat_resolve_start(name, leg->family, on_leg_done, leg);
		if (ret != 0) {
			legs_cancel(q);
			return ret;
		}
		leg->asking = 1;
	}
	return 0;
}

int nr_dns_resolve(struct nr_dns *dns, const char *name, nr_dns_fn fn, void *arg,
		   struct nr_dns_query **out)
{
	struct nr_dns_query *q;
	struct nr_addr lit;
	int kind = nr_dns_classify(name, &lit), ret = NR_EINVAL;

	if (out)
		*out = NULL;
	if (kind < 0 || !fn)
		return ret;
	if (kind == NR_DNS_NAME && !NR_DNS_NAMES)
		return NR_ENOTSUP; /* give the smarthost as an address */
	q = query_alloc(dns);
	if (!q)
		return NR_ENOMEM;
	q->fn = fn;
	q->arg = arg;
	if (kind == NR_DNS_LITERAL) {
		q->result.count = 1;
		q->result.addrs[0] = lit;
		q->answered = 1;
		ret = nr_timer_arm(dns->loop, &q->timer, 0);
	} else {
		ret = nr_timer_arm(dns->loop, &q->timer, dns->timeout_ms);
		if (ret == 0)
			ret = legs_start(q, name);
		if (ret == 0)
			dns->stats.queries++;
	}
	if (ret != 0) {
		nr_timer_cancel(dns->loop, &q->timer);
		return ret;
	}
	q->used = 1;
	dns->stats.lookups++;
	if (out)
		*out = q;
	return 0;
}

void nr_dns_cancel(struct nr_dns *dns, struct nr_dns_query *q)
{
	if (q && q->used)
		query_release(q);
}

void nr_dns_cache_flush(struct nr_dns *dns) {}

void nr_dns_get_stats(const struct nr_dns *dns, struct nr_dns_stats *out)
{
	*out = dns->stats;
}

int nr_dns_new_opts(struct nr_dns **out, struct nr_loop *loop, const struct nr_dns_opts *opts)
{
	struct nr_dns *dns;
	int ret;

	*out = NULL;
	if (NR_DNS_NAMES && opts && opts->server && opts->server->family != NR_AF_NONE) {
		/* The platform has one resolver: the server is for everyone. */
		ret = nr_plat_resolve_server(opts->server);
		if (ret != 0) {
			char ip[64];

			nr_err("dns: the platform resolver cannot use server %s port %u: %s",
			       nr_addr_ntop(opts->server, ip, sizeof(ip)), opts->server->port,
			       nr_strerror(ret));
			return ret;
		}
	}
	dns = nr_calloc(1, sizeof(*dns));
	if (!dns)
		return NR_ENOMEM;
	dns->loop = loop;
	dns->timeout_ms = opts && opts->timeout_ms ? opts->timeout_ms : 5000;
	dns->order = opts ? opts->order : NR_DNS_ORDER_INTERLEAVE;
	*out = dns;
	return 0;
}

int nr_dns_new(struct nr_dns **out, struct nr_loop *loop, const struct nr_addr *server)
{
	struct nr_dns_opts opts;

	memset(&opts, 0, sizeof(opts));
	opts.server = server;
	return nr_dns_new_opts(out, loop, &opts);
}

void nr_dns_free(struct nr_dns *dns)
{
	size_t i;

	if (!dns)
		return;
	for (i = 0; i < CONFIG_NR_DNS_MAX_QUERIES; i++)
		nr_dns_cancel(dns, &dns->queries[i]);
	nr_free(dns);
}

/* No library: the platform's network stack resolves. */
const char *nr_dns_library(void)
{
	return NULL;
}
