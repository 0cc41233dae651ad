/* dns_util.c - literal addresses, name checks, ordering and the cache. */
#include "dns/dns_priv.h"

#include <string.h>

#include "core/addr.h"
#include "core/ascii.h"

int nr_dns_parse_literal(const char *s, struct nr_addr *out)
{
	size_t len = strlen(s);

	/* "[::1]", as a host is written before a port: IPv6 only. */
	if (len >= 2 && s[0] == '[' && s[len - 1] == ']') {
		struct nr_addr a;

		if (nr_addr_parse(s + 1, len - 2, &a) != 0 || a.family != NR_AF_INET6)
			return NR_EINVAL;
		*out = a;
		return 0;
	}
	return nr_addr_parse(s, len, out);
}

int nr_dns_classify(const char *name, struct nr_addr *lit)
{
	if (!name)
		return NR_EINVAL;
	if (nr_dns_parse_literal(name, lit) == 0)
		return nr_dns_sort(lit, 1, NR_DNS_ORDER_INTERLEAVE) == 1 ? NR_DNS_LITERAL
									 : NR_EINVAL;
	return nr_dns_check_name(name) == 0 ? NR_DNS_NAME : NR_EINVAL;
}

int nr_dns_check_name(const char *name)
{
	size_t len = strlen(name), label = 0, i;

	if (len == 0 || len > NR_DNS_NAME_MAX + 1 ||
	    (len == NR_DNS_NAME_MAX + 1 && name[len - 1] != '.'))
		return NR_EINVAL;
	for (i = 0; i < len; i++) {
		char c = name[i];

		if (c == '.') {
			if (label == 0)
				return NR_EINVAL;
			label = 0;
			continue;
		}
		if (!(nr_ascii_isalnum(c) || c == '-' || c == '_'))
			return NR_EINVAL;
		if (++label > 63)
			return NR_EINVAL;
	}
	return 0;
}

size_t nr_dns_sort(struct nr_addr *addrs, size_t n, enum nr_dns_order order)
{
	struct nr_addr v4[CONFIG_NR_DNS_MAX_ADDRS], v6[CONFIG_NR_DNS_MAX_ADDRS];
	size_t n4 = 0, n6 = 0, i4 = 0, i6 = 0, out = 0, i;

	if (n > CONFIG_NR_DNS_MAX_ADDRS)
		n = CONFIG_NR_DNS_MAX_ADDRS;
	for (i = 0; i < n; i++) {
		if (addrs[i].family == NR_AF_INET4)
			v4[n4++] = addrs[i];
		else if (addrs[i].family == NR_AF_INET6 && NR_ENABLED(CONFIG_NR_IPV6))
			v6[n6++] = addrs[i];
	}
	while (i4 < n4 || i6 < n6) {
		int take6;

		if (i6 == n6)
			take6 = 0;
		else if (i4 == n4)
			take6 = 1;
		else if (order == NR_DNS_ORDER_V6_FIRST)
			take6 = 1;
		else if (order == NR_DNS_ORDER_V4_FIRST)
			take6 = 0;
		else
			take6 = i6 <= i4;
		addrs[out++] = take6 ? v6[i6++] : v4[i4++];
	}
	return out;
}

void nr_dns_cache_key(char *key, const char *name)
{
	size_t i;

	for (i = 0; name[i] != '\0' && i < NR_DNS_NAME_MAX; i++) {
		char c = name[i];

		key[i] = (char)nr_ascii_lower(c);
	}
	if (i > 0 && key[i - 1] == '.')
		i--;
	key[i] = '\0';
}

int nr_dns_cache_get(struct nr_dns_cache *c, const char *key, uint64_t now_ms,
		     struct nr_dns_result *out)
{
	size_t i;

	for (i = 0; i < CONFIG_NR_DNS_CACHE_ENTRIES; i++) {
		struct nr_dns_cache_entry *e = &c->entries[i];

		if (!e->used || strcmp(e->name, key) != 0)
			continue;
		if (e->expires_ms <= now_ms) {
			e->used = 0;
			return 0;
		}
		memset(out, 0, sizeof(*out));
		out->count = e->count;
		memcpy(out->addrs, e->addrs, e->count * sizeof(e->addrs[0]));
		out->ttl_s = (uint32_t)((e->expires_ms - now_ms) / 1000);
		out->from_cache = 1;
		return 1;
	}
	return 0;
}

void nr_dns_cache_put(struct nr_dns_cache *c, const char *key, uint64_t now_ms,
		      const struct nr_addr *addrs, size_t n, uint32_t ttl_s)
{
	struct nr_dns_cache_entry *slot = NULL;
	size_t i;

	if (ttl_s == 0 || n == 0 || CONFIG_NR_DNS_CACHE_ENTRIES == 0)
		return;
	for (i = 0; i < CONFIG_NR_DNS_CACHE_ENTRIES; i++) {
		struct nr_dns_cache_entry *e = &c->entries[i];

		if (e->used && strcmp(e->name, key) == 0) {
			slot = e;
			break;
		}
		if (!e->used || e->expires_ms <= now_ms) {
			if (!slot || slot->used)
				slot = e;
		} else if (!slot || (slot->used && e->expires_ms < slot->expires_ms)) {
			slot = e;
		}
	}
	if (n > CONFIG_NR_DNS_MAX_ADDRS)
		n = CONFIG_NR_DNS_MAX_ADDRS;
	slot->used = 1;
	slot->expires_ms = now_ms + (uint64_t)ttl_s * 1000;
	slot->count = n;
	memcpy(slot->addrs, addrs, n * sizeof(addrs[0]));
	strncpy(slot->name, key, sizeof(slot->name) - 1);
	slot->name[sizeof(slot->name) - 1] = '\0';
}

void nr_dns_cache_clear(struct nr_dns_cache *c)
{
	memset(c, 0, sizeof(*c));
}
