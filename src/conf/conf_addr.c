/*
 * conf_addr.c - host:port pairs and CIDR blocks for the config file. The
 * address itself is core/addr.c's strict literal ("010.1.1.1" is refused
 * rather than read as octal or decimal, so a typo cannot open a relay).
 */
#include <string.h>

#include "conf/conf.h"
#include "conf/conf_int.h"
#include "core/addr.h"
#include "core/ascii.h"

static const uint8_t v4mapped_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

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
		if (!nr_ascii_isdigit(s[i]))
			return NR_CONF_WHY_SYNTAX;
		d = (unsigned)(s[i] - '0');
		if (v > (max - d) / 10)
			return NR_CONF_WHY_RANGE;
		v = v * 10 + d;
	}
	*out = v;
	return NR_CONF_WHY_OK;
}

enum nr_conf_why nr_conf_ip_parse(const char *s, size_t len, struct nr_addr *out)
{
	struct nr_addr a;

	if (nr_addr_parse(s, len, &a) != 0)
		return NR_CONF_WHY_SYNTAX;
	if (a.family == NR_AF_INET6 && !NR_ENABLED(CONFIG_NR_IPV6))
		return NR_CONF_WHY_NO_IPV6;
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
