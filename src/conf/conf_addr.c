/*
 * conf_addr.c - IP addresses, host:port pairs and CIDR blocks, parsed by
 * hand (src/ may not use inet_pton) and strictly: "010.1.1.1" is refused
 * rather than read as octal or decimal, so a typo cannot open a relay.
 */
#include <stdio.h>
#include <string.h>

#include "conf/conf.h"
#include "conf/conf_int.h"

static const uint8_t v4mapped_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

static int is_digit(char ch)
{
	return ch >= '0' && ch <= '9';
}

static int hex_value(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

enum nr_conf_why nr_conf_uint_parse(const char *s, size_t len, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (len == 0)
		return NR_CONF_WHY_SYNTAX;
	if (s[0] == '0' && len > 1)
		return NR_CONF_WHY_SYNTAX;
	for (i = 0; i < len; i++) {
		unsigned d;
		if (!is_digit(s[i]))
			return NR_CONF_WHY_SYNTAX;
		d = (unsigned)(s[i] - '0');
		if (v > (max - d) / 10)
			return NR_CONF_WHY_RANGE;
		v = v * 10 + d;
	}
	*out = v;
	return NR_CONF_WHY_OK;
}

/* Dotted quad: exactly four decimal parts 0..255, no leading zeros. */
static int parse_v4(const char *s, size_t len, uint8_t ip[4])
{
	size_t i = 0;
	int part;

	for (part = 0; part < 4; part++) {
		size_t start = i;
		uint64_t v;
		while (i < len && is_digit(s[i]) && i - start < 4)
			i++;
		if (i == start || i - start > 3)
			return -1;
		if (nr_conf_uint_parse(s + start, i - start, 255, &v) != NR_CONF_WHY_OK)
			return -1;
		ip[part] = (uint8_t)v;
		if (part < 3) {
			if (i >= len || s[i] != '.')
				return -1;
			i++;
		}
	}
	return i == len ? 0 : -1;
}

/* RFC 4291 section 2.2: eight groups of 1-4 hex digits, one "::" for a
 * run of zero groups, optionally ending in a dotted quad. */
static int parse_v6(const char *s, size_t len, uint8_t ip[16])
{
	uint16_t head[8], tail[8];
	size_t nhead = 0, ntail = 0, i = 0;
	int compressed = 0;
	uint8_t v4[4];
	size_t k;

	if (len >= 2 && s[0] == ':' && s[1] == ':') {
		compressed = 1;
		i = 2;
	} else if (len >= 1 && s[0] == ':') {
		return -1;
	}
	while (i < len) {
		size_t start = i, groups = nhead + ntail;
		unsigned v = 0;
		uint16_t *dst = compressed ? tail : head;
		size_t *n = compressed ? &ntail : &nhead;

		while (i < len && hex_value(s[i]) >= 0 && i - start < 5)
			i++;
		if (i < len && s[i] == '.') {
			/* embedded IPv4: the rest of the string, worth two groups */
			if (groups > 6 || parse_v4(s + start, len - start, v4) != 0)
				return -1;
			dst[(*n)++] = (uint16_t)(v4[0] << 8 | v4[1]);
			dst[(*n)++] = (uint16_t)(v4[2] << 8 | v4[3]);
			i = len;
			break;
		}
		if (i == start || i - start > 4 || groups >= 8)
			return -1;
		for (k = start; k < i; k++)
			v = v << 4 | (unsigned)hex_value(s[k]);
		dst[(*n)++] = (uint16_t)v;
		if (i == len)
			break;
		if (s[i] != ':')
			return -1;
		i++;
		if (i < len && s[i] == ':') {
			if (compressed)
				return -1;
			compressed = 1;
			i++;
		} else if (i == len) {
			return -1; /* trailing single ':' */
		}
	}
	if (compressed ? nhead + ntail > 7 : nhead != 8)
		return -1;
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

enum nr_conf_why nr_conf_ip_parse(const char *s, size_t len, struct nr_addr *out)
{
	struct nr_addr a;

	memset(&a, 0, sizeof(a));
	if (memchr(s, ':', len) == NULL) {
		if (parse_v4(s, len, a.ip) != 0)
			return NR_CONF_WHY_SYNTAX;
		a.family = NR_AF_INET4;
	} else {
		if (parse_v6(s, len, a.ip) != 0)
			return NR_CONF_WHY_SYNTAX;
		if (!NR_ENABLED(CONFIG_NR_IPV6))
			return NR_CONF_WHY_NO_IPV6;
		a.family = NR_AF_INET6;
	}
	*out = a;
	return NR_CONF_WHY_OK;
}

static enum nr_conf_why parse_port(const char *s, uint16_t *port)
{
	uint64_t v;
	enum nr_conf_why why = nr_conf_uint_parse(s, strlen(s), 65535, &v);

	if (why == NR_CONF_WHY_OK && v == 0)
		why = NR_CONF_WHY_RANGE;
	if (why == NR_CONF_WHY_OK)
		*port = (uint16_t)v;
	return why;
}

enum nr_conf_why nr_conf_hostport_parse(const char *s, struct nr_addr *out, uint16_t default_port)
{
	const char *colon, *end;
	struct nr_addr a;
	enum nr_conf_why why;
	uint16_t port = default_port;

	if (s[0] == '[') {
		end = strchr(s, ']');
		if (end == NULL)
			return NR_CONF_WHY_SYNTAX;
		why = nr_conf_ip_parse(s + 1, (size_t)(end - s - 1), &a);
		if (why != NR_CONF_WHY_OK)
			return why;
		if (a.family != NR_AF_INET6)
			return NR_CONF_WHY_SYNTAX; /* "[1.2.3.4]" */
		colon = end + 1;
		if (*colon != '\0' && *colon != ':')
			return NR_CONF_WHY_SYNTAX;
		if (*colon == '\0')
			colon = NULL;
	} else {
		colon = strchr(s, ':');
		if (colon != NULL && strchr(colon + 1, ':') != NULL) {
			/* Several colons: IPv6, which needs brackets to carry a port. */
			why = nr_conf_ip_parse(s, strlen(s), &a);
			return why == NR_CONF_WHY_OK ? NR_CONF_WHY_BRACKETS : why;
		}
		end = colon != NULL ? colon : s + strlen(s);
		why = nr_conf_ip_parse(s, (size_t)(end - s), &a);
		if (why != NR_CONF_WHY_OK)
			return why;
	}
	if (colon != NULL) {
		why = parse_port(colon + 1, &port);
		if (why != NR_CONF_WHY_OK)
			return why;
	} else if (default_port == 0) {
		return NR_CONF_WHY_NO_PORT;
	}
	a.port = port;
	*out = a;
	return NR_CONF_WHY_OK;
}

int nr_conf_parse_hostport(const char *s, struct nr_addr *out, uint16_t default_port)
{
	if (s == NULL || out == NULL)
		return NR_EINVAL;
	return nr_conf_hostport_parse(s, out, default_port) == NR_CONF_WHY_OK ? 0 : NR_EINVAL;
}

static int bits_clear_after(const uint8_t *ip, unsigned nbytes, unsigned prefix)
{
	unsigned i;

	for (i = 0; i < nbytes * 8; i++) {
		if (i >= prefix && (ip[i / 8] & (0x80u >> (i % 8))))
			return 0;
	}
	return 1;
}

enum nr_conf_why nr_conf_cidr_parse(const char *s, struct nr_cidr *out)
{
	const char *slash = strchr(s, '/');
	size_t alen = slash != NULL ? (size_t)(slash - s) : strlen(s);
	struct nr_cidr c;
	enum nr_conf_why why;
	uint64_t prefix;
	unsigned max;

	memset(&c, 0, sizeof(c));
	why = nr_conf_ip_parse(s, alen, &c.net);
	if (why != NR_CONF_WHY_OK)
		return why;
	max = c.net.family == NR_AF_INET4 ? 32 : 128;
	if (slash != NULL) {
		why = nr_conf_uint_parse(slash + 1, strlen(slash + 1), 255, &prefix);
		if (why == NR_CONF_WHY_OK && prefix > max)
			why = NR_CONF_WHY_RANGE;
		if (why != NR_CONF_WHY_OK)
			return why;
	} else {
		prefix = max;
	}
	c.prefix = (uint8_t)prefix;
	if (!bits_clear_after(c.net.ip, max / 8, c.prefix))
		return NR_CONF_WHY_HOSTBITS;
	/* ::ffff:a.b.c.d/104 is the IPv4 block a.b.c.d/8: store it as such, so
	 * it matches peers that the platform reports as IPv4. */
	if (c.net.family == NR_AF_INET6 && c.prefix >= 96 &&
	    memcmp(c.net.ip, v4mapped_prefix, 12) == 0) {
		memmove(c.net.ip, c.net.ip + 12, 4);
		memset(c.net.ip + 4, 0, 12);
		c.net.family = NR_AF_INET4;
		c.prefix = (uint8_t)(c.prefix - 96);
	}
	*out = c;
	return NR_CONF_WHY_OK;
}

int nr_conf_parse_cidr(const char *s, struct nr_cidr *out)
{
	if (s == NULL || out == NULL)
		return NR_EINVAL;
	return nr_conf_cidr_parse(s, out) == NR_CONF_WHY_OK ? 0 : NR_EINVAL;
}

static int prefix_equal(const uint8_t *a, const uint8_t *b, unsigned prefix)
{
	unsigned whole = prefix / 8, rest = prefix % 8;

	if (memcmp(a, b, whole) != 0)
		return 0;
	if (rest == 0)
		return 1;
	return ((a[whole] ^ b[whole]) & (uint8_t)(0xff00u >> rest)) == 0;
}

int nr_cidr_contains(const struct nr_cidr *c, const struct nr_addr *a)
{
	uint8_t mapped[16];

	if (c == NULL || a == NULL)
		return 0;
	if (c->net.family == NR_AF_INET4) {
		if (a->family == NR_AF_INET4)
			return c->prefix <= 32 && prefix_equal(c->net.ip, a->ip, c->prefix);
		/* an IPv4-mapped IPv6 peer is that IPv4 address */
		if (a->family == NR_AF_INET6 && memcmp(a->ip, v4mapped_prefix, 12) == 0)
			return c->prefix <= 32 && prefix_equal(c->net.ip, a->ip + 12, c->prefix);
		return 0;
	}
	if (c->net.family != NR_AF_INET6 || c->prefix > 128)
		return 0;
	if (a->family == NR_AF_INET6)
		return prefix_equal(c->net.ip, a->ip, c->prefix);
	/* An IPv6 block matches IPv4 peers only when it lies inside
	 * ::ffff:0:0/96; "::/0" is every IPv6 peer, not every peer. */
	if (a->family == NR_AF_INET4 && c->prefix >= 96) {
		memcpy(mapped, v4mapped_prefix, 12);
		memcpy(mapped + 12, a->ip, 4);
		return prefix_equal(c->net.ip, mapped, c->prefix);
	}
	return 0;
}

int nr_addr_same(const struct nr_addr *a, const struct nr_addr *b)
{
	return a->family == b->family && a->port == b->port && a->scope_id == b->scope_id &&
	       memcmp(a->ip, b->ip, sizeof(a->ip)) == 0;
}

const char *nr_addr_ntop(const struct nr_addr *a, char *dst, size_t size)
{
	char tmp[48];
	size_t n = 0;

	if (dst == NULL || size == 0)
		return dst;
	if (a == NULL) {
		snprintf(tmp, sizeof(tmp), "(none)");
	} else if (a->family == NR_AF_INET4) {
		snprintf(tmp, sizeof(tmp), "%u.%u.%u.%u", a->ip[0], a->ip[1], a->ip[2], a->ip[3]);
	} else if (a->family == NR_AF_INET6) {
		/* RFC 5952: lower case, the longest run (>= 2) of zero groups
		 * compressed, the first such run on a tie; mapped v4 dotted. */
		unsigned g[8], i, best = 0, best_len = 0, run = 0;
		for (i = 0; i < 8; i++)
			g[i] = (unsigned)a->ip[2 * i] << 8 | a->ip[2 * i + 1];
		for (i = 0; i < 8; i++) {
			run = g[i] == 0 ? run + 1 : 0;
			if (run > best_len) {
				best_len = run;
				best = i + 1 - run;
			}
		}
		if (best_len < 2)
			best_len = 0;
		if (memcmp(a->ip, v4mapped_prefix, 12) == 0) {
			snprintf(tmp, sizeof(tmp), "::ffff:%u.%u.%u.%u", a->ip[12], a->ip[13],
				 a->ip[14], a->ip[15]);
		} else {
			for (i = 0; i < 8; i++) {
				if (best_len != 0 && i == best) {
					n += (size_t)snprintf(tmp + n, sizeof(tmp) - n, "::");
					i += best_len - 1;
					continue;
				}
				if (n > 0 && tmp[n - 1] != ':')
					tmp[n++] = ':';
				n += (size_t)snprintf(tmp + n, sizeof(tmp) - n, "%x", g[i]);
			}
			tmp[n] = '\0';
		}
	} else if (a->family == NR_AF_LOCAL) {
		snprintf(tmp, sizeof(tmp), "local");
	} else {
		snprintf(tmp, sizeof(tmp), "(none)");
	}
	snprintf(dst, size, "%s", tmp);
	return dst;
}
