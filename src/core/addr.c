/*
 * addr.c - IP address literals by hand, strictly (see addr.h for why).
 */
#include "core/addr.h"

#include <stdio.h>
#include <string.h>

#include "core/ascii.h"

static const uint8_t v4mapped_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

/* Dotted quad: exactly four decimal parts 0..255, no leading zeros. */
static int parse_v4(const char *s, size_t len, uint8_t ip[4])
{
	size_t i = 0;
	int part;

	for (part = 0; part < 4; part++) {
		size_t start = i;
		unsigned v = 0;

		while (i < len && nr_ascii_isdigit(s[i]) && i - start < 3) {
			v = v * 10 + (unsigned)(s[i] - '0');
			i++;
		}
		if (i == start || v > 255 || (i - start > 1 && s[start] == '0'))
			return NR_EINVAL;
		ip[part] = (uint8_t)v;
		if (part < 3) {
			if (i >= len || s[i] != '.')
				return NR_EINVAL;
			i++;
		}
	}
	return i == len ? 0 : NR_EINVAL;
}

/* RFC 4291 section 2.2: eight groups of 1-4 hex digits, one "::" for a
 * run of zero groups, optionally ending in a dotted quad. The groups
 * before the "::" go to head, those after it to tail. */
static int parse_v6(const char *s, size_t len, uint8_t ip[16])
{
	uint16_t head[8], tail[8];
	size_t nhead = 0, ntail = 0, i = 0, k;
	int compressed = 0;
	uint8_t v4[4];

	if (len >= 2 && s[0] == ':' && s[1] == ':') {
		compressed = 1;
		i = 2;
	} else if (len >= 1 && s[0] == ':') {
		return NR_EINVAL;
	}
	while (i < len) {
		size_t start = i, groups = nhead + ntail;
		unsigned v = 0;
		uint16_t *dst = compressed ? tail : head;
		size_t *n = compressed ? &ntail : &nhead;

		while (i < len && nr_ascii_hex((unsigned char)s[i]) >= 0 && i - start < 5)
			i++;
		if (i < len && s[i] == '.') {
			/* embedded IPv4: the rest of the string, worth two groups */
			if (groups > 6 || parse_v4(s + start, len - start, v4) != 0)
				return NR_EINVAL;
			dst[(*n)++] = (uint16_t)(v4[0] << 8 | v4[1]);
			dst[(*n)++] = (uint16_t)(v4[2] << 8 | v4[3]);
			break;
		}
		if (i == start || i - start > 4 || groups >= 8)
			return NR_EINVAL;
		for (k = start; k < i; k++)
			v = v << 4 | (unsigned)nr_ascii_hex((unsigned char)s[k]);
		dst[(*n)++] = (uint16_t)v;
		if (i == len)
			break;
		if (s[i] != ':')
			return NR_EINVAL;
		i++;
		if (i < len && s[i] == ':') {
			if (compressed)
				return NR_EINVAL;
			compressed = 1;
			i++;
		} else if (i == len) {
			return NR_EINVAL; /* trailing single ':' */
		}
	}
	/* "::" stands for at least one zero group */
	if (compressed ? nhead + ntail > 7 : nhead != 8)
		return NR_EINVAL;
	memset(ip, 0, 16);
	for (k = 0; k < nhead; k++) {
		ip[2 * k] = (uint8_t)(head[k] >> 8);
		ip[2 * k + 1] = (uint8_t)head[k];
	}
	for (k = 0; k < ntail; k++) {
		size_t g = 8 - ntail + k;
		ip[2 * g] = (uint8_t)(tail[k] >> 8);
		ip[2 * g + 1] = (uint8_t)tail[k];
	}
	return 0;
}

int nr_addr_parse(const char *s, size_t len, struct nr_addr *out)
{
	struct nr_addr a;

	if (s == NULL || out == NULL)
		return NR_EINVAL;
	memset(&a, 0, sizeof(a));
	if (memchr(s, ':', len) == NULL) {
		if (parse_v4(s, len, a.ip) != 0)
			return NR_EINVAL;
		a.family = NR_AF_INET4;
	} else {
		if (parse_v6(s, len, a.ip) != 0)
			return NR_EINVAL;
		a.family = NR_AF_INET6;
	}
	*out = a;
	return 0;
}

int nr_addr_same(const struct nr_addr *a, const struct nr_addr *b)
{
	return a->family == b->family && a->port == b->port && a->scope_id == b->scope_id &&
	       memcmp(a->ip, b->ip, sizeof(a->ip)) == 0;
}

/* RFC 5952 section 4: lower case, the longest run (>= 2) of zero groups
 * compressed, the first such run on a tie; 5: a mapped IPv4 dotted. */
static void format_v6(const uint8_t ip[16], char *tmp, size_t size)
{
	unsigned g[8], i, best = 0, best_len = 0, run = 0;
	size_t n = 0;

	if (memcmp(ip, v4mapped_prefix, 12) == 0) {
		snprintf(tmp, size, "::ffff:%u.%u.%u.%u", ip[12], ip[13], ip[14], ip[15]);
		return;
	}
	for (i = 0; i < 8; i++)
		g[i] = (unsigned)ip[2 * i] << 8 | ip[2 * i + 1];
	for (i = 0; i < 8; i++) {
		run = g[i] == 0 ? run + 1 : 0;
		if (run > best_len) {
			best_len = run;
			best = i + 1 - run;
		}
	}
	if (best_len < 2)
		best_len = 0;
	for (i = 0; i < 8; i++) {
		if (best_len != 0 && i == best) {
			n += (size_t)snprintf(tmp + n, size - n, "::");
			i += best_len - 1;
			continue;
		}
		if (n > 0 && tmp[n - 1] != ':')
			tmp[n++] = ':';
		n += (size_t)snprintf(tmp + n, size - n, "%x", g[i]);
	}
	tmp[n] = '\0';
}

const char *nr_addr_ntop(const struct nr_addr *a, char *dst, size_t size)
{
	char tmp[48]; /* the longest IPv6 text is 45 bytes */

	if (dst == NULL || size == 0)
		return dst;
	if (a == NULL)
		snprintf(tmp, sizeof(tmp), "(none)");
	else if (a->family == NR_AF_INET4)
		snprintf(tmp, sizeof(tmp), "%u.%u.%u.%u", a->ip[0], a->ip[1], a->ip[2], a->ip[3]);
	else if (a->family == NR_AF_INET6)
		format_v6(a->ip, tmp, sizeof(tmp));
	else if (a->family == NR_AF_LOCAL)
		snprintf(tmp, sizeof(tmp), "local");
	else
		snprintf(tmp, sizeof(tmp), "(none)");
	snprintf(dst, size, "%s", tmp);
	return dst;
}
