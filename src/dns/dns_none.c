/*
 * dns_none.c - the resolver without a DNS library (CONFIG_NR_DNS_NONE):
 * literal addresses only, answered on the next loop turn; names are
 * NR_ENOTSUP (configure the smarthost by address on such builds).
 */
#include "dns/dns_priv.h"

#include <stdlib.h>
#include <string.h>

struct nr_dns_query {
	struct nr_dns *dns;
	int used;
	nr_dns_fn fn;
	void *arg;
	struct nr_timer timer;
	struct nr_dns_result result;
};

struct nr_dns {
	struct nr_loop *loop;
	enum nr_dns_order order;
	struct nr_dns_query queries[CONFIG_NR_DNS_MAX_QUERIES];
	struct nr_dns_stats stats;
};

static void on_query_timer(struct nr_loop *loop, void *arg)
{
	struct nr_dns_query *q = arg;
	struct nr_dns_result res = q->result;

	q->used = 0;
	q->fn(q->arg, 0, &res);
}

int nr_dns_resolve(struct nr_dns *dns, const char *name, nr_dns_fn fn, void *arg,
		   struct nr_dns_query **out)
{
	struct nr_dns_query *q = NULL;
	struct nr_addr lit;
	size_t i;
	int kind, ret = NR_EINVAL;

	if (out)
		*out = NULL;
	kind = nr_dns_classify(name, &lit);
	if (kind < 0 || !fn)
		goto out;
	if (kind == NR_DNS_NAME) {
		ret = NR_ENOTSUP;
		goto out;
	}
	for (i = 0; i < CONFIG_NR_DNS_MAX_QUERIES && !q; i++) {
		if (!dns->queries[i].used)
			q = &dns->queries[i];
	}
	ret = NR_ENOMEM;
	if (!q)
		goto out;
	memset(q, 0, sizeof(*q));
	q->dns = dns;
	q->fn = fn;
	q->arg = arg;
	q->result.count = 1;
	q->result.addrs[0] = lit;
	nr_timer_init(&q->timer, on_query_timer, q);
	ret = nr_timer_arm(dns->loop, &q->timer, 0);
	if (ret != 0)
		goto out;
	q->used = 1;
	dns->stats.lookups++;
	if (out)
		*out = q;
out:
	return ret;
}

void nr_dns_cancel(struct nr_dns *dns, struct nr_dns_query *q)
{
	if (q && q->used) {
		nr_timer_cancel(dns->loop, &q->timer);
		q->used = 0;
	}
}

void nr_dns_cache_flush(struct nr_dns *dns) {}

void nr_dns_get_stats(const struct nr_dns *dns, struct nr_dns_stats *out)
{
	*out = dns->stats;
}

int nr_dns_new_opts(struct nr_dns **out, struct nr_loop *loop, const struct nr_dns_opts *opts)
{
	struct nr_dns *dns = calloc(1, sizeof(*dns));

	*out = NULL;
	if (!dns)
		return NR_ENOMEM;
	dns->loop = loop;
	dns->order = opts ? opts->order : NR_DNS_ORDER_INTERLEAVE;
	*out = dns;
	return 0;
}

int nr_dns_new(struct nr_dns **out, struct nr_loop *loop, const struct nr_addr *server)
{
	return nr_dns_new_opts(out, loop, NULL);
}

void nr_dns_free(struct nr_dns *dns)
{
	size_t i;

	if (!dns)
		return;
	for (i = 0; i < CONFIG_NR_DNS_MAX_QUERIES; i++)
		nr_dns_cancel(dns, &dns->queries[i]);
	free(dns);
}

const char *nr_dns_library(void)
{
	return NULL;
}
