/*
 * dns_wire.c - DNS messages for the stub resolver (dns_stub.c): a query for
 * one name and type, and the parse of its answer (RFC 1035 4.1). Pure: no
 * I/O, no allocation; tests/unit/dns/test_dns_wire.c and
 * tests/fuzz/fuzz_dns_answer.c drive it with hostile bytes.
 *
 * An answer is believed only when it is the answer to the query sent: the
 * same ID, QR set, opcode QUERY, exactly one question and that question
 * (names compared without regard to case). Its records are then read with
 * every length checked against the message; a compressed name may only
 * point backwards, so a loop of pointers cannot be followed. The addresses
 * taken are the records of the asked type whose owner is the asked name,
 * or the end of the CNAME chain that starts there (at most NR_DNS_CNAME_MAX
 * links, in any order in the message).
 */
#include "dns/dns_priv.h"

#include <string.h>

#include "core/addr.h"
#include "core/ascii.h"

#define HDR_LEN 12
#define CLASS_IN 1
#define TYPE_CNAME 5

static unsigned get16(const uint8_t *p)
{
	return (unsigned)p[0] << 8 | p[1];
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

long nr_dns_wire_query(uint8_t *buf, size_t cap, uint16_t id, const char *name, uint16_t qtype)
{
	size_t len = strlen(name), at = HDR_LEN, start, i;

	if (nr_dns_check_name(name) != 0 || cap < HDR_LEN + len + 2 + 4)
		return NR_EINVAL;
	if (len > 0 && name[len - 1] == '.')
		len--; /* the root label is added below */
	memset(buf, 0, HDR_LEN);
	buf[0] = (uint8_t)(id >> 8);
	buf[1] = (uint8_t)id;
	buf[2] = 0x01; /* RD: the server resolves for us */
	buf[5] = 1;    /* QDCOUNT */
	for (i = 0; i <= len; i = start + 1) {
		start = i;
		while (start < len && name[start] != '.')
			start++;
		buf[at++] = (uint8_t)(start - i);
		memcpy(buf + at, name + i, start - i);
		at += start - i;
	}
	buf[at++] = 0;
	buf[at++] = (uint8_t)(qtype >> 8);
	buf[at++] = (uint8_t)qtype;
	buf[at++] = 0;
	buf[at++] = CLASS_IN;
	return (long)at;
}

/*
 * Read the name at *pos into out (uncompressed wire form, lower case, at
 * most 255 bytes) and move *pos past it. A pointer must point before the
 * label that holds it, so every jump goes backwards and the walk ends.
 */
static int name_read(const uint8_t *msg, size_t len, size_t *pos, uint8_t out[256])
{
	size_t at = *pos, olen = 0, low = *pos, i;
	int jumped = 0;

	for (;;) {
		unsigned l;

		if (at >= len)
			return NR_EDNS;
		l = msg[at];
		if ((l & 0xc0) == 0xc0) {
			size_t to;

			if (at + 1 >= len)
				return NR_EDNS;
			to = (size_t)(get16(msg + at) & 0x3fff);
			if (to >= low)
				return NR_EDNS; /* forwards or onto itself: a loop */
			if (!jumped)
				*pos = at + 2;
			jumped = 1;
			low = at = to;
			continue;
		}
		if (l & 0xc0)
			return NR_EDNS; /* the reserved label types */
		if (at + 1 + l > len || olen + 1 + l > 255)
			return NR_EDNS;
		out[olen++] = (uint8_t)l;
		for (i = 0; i < l; i++)
			out[olen++] = (uint8_t)nr_ascii_lower(msg[at + 1 + i]);
		at += 1 + l;
		if (l == 0)
			break;
	}
	if (!jumped)
		*pos = at;
	return (int)olen;
}

/* The question of query (sent by us: no compression) as an answer repeats
 * it, at msg + HDR_LEN; returns its length, or NR_EINVAL when it differs. */
static long question_matches(const uint8_t *msg, size_t len, const uint8_t *query, size_t qlen)
{
	size_t n = qlen - HDR_LEN, i;

	if (len < qlen)
		return NR_EINVAL;
	for (i = 0; i < n; i++) {
		if (nr_ascii_lower(msg[HDR_LEN + i]) != nr_ascii_lower(query[HDR_LEN + i]))
			return NR_EINVAL;
	}
	return (long)n;
}

/* One pass over the answer section: records for *target (followed along
 * CNAMEs as they come) into out. Returns 1 when a CNAME moved the target,
 * 0 when not, NR_EDNS for a malformed record. */
static int answers_pass(const uint8_t *msg, size_t len, size_t pos, unsigned ancount,
			uint16_t qtype, uint8_t target[256], int *tlen, int *hops,
			struct nr_dns_answer *out)
{
	uint8_t owner[256];
	int moved = 0;
	unsigned n;

	for (n = 0; n < ancount; n++) {
		unsigned type, klass, rdlen;
		uint32_t ttl;
		int olen = name_read(msg, len, &pos, owner);

		if (olen < 0 || pos + 10 > len)
			return NR_EDNS;
		type = get16(msg + pos);
		klass = get16(msg + pos + 2);
		ttl = get32(msg + pos + 4);
		rdlen = get16(msg + pos + 8);
		pos += 10;
		if (pos + rdlen > len)
			return NR_EDNS;
		if (ttl > 0x7fffffffu)
			ttl = 0; /* RFC 2181 8: a TTL with the top bit set is 0 */
		if (klass == CLASS_IN && olen == *tlen &&
		    memcmp(owner, target, (size_t)olen) == 0) {
			if (type == TYPE_CNAME) {
				size_t at = pos;
				int l = name_read(msg, pos + rdlen, &at, target);

				if (l < 0 || ++*hops > NR_DNS_CNAME_MAX)
					return NR_EDNS;
				*tlen = l;
				moved = 1;
				if (ttl < out->ttl)
					out->ttl = ttl;
			} else if (type == qtype && out->count < CONFIG_NR_DNS_MAX_ADDRS &&
				   rdlen == (qtype == NR_DNS_TYPE_A ? 4u : 16u)) {
				struct nr_addr *a = &out->addrs[out->count++];

				memset(a, 0, sizeof(*a));
				a->family = qtype == NR_DNS_TYPE_A ? NR_AF_INET4 : NR_AF_INET6;
				memcpy(a->ip, msg + pos, rdlen);
				if (ttl < out->ttl)
					out->ttl = ttl;
			}
		}
		pos += rdlen;
	}
	return moved;
}

int nr_dns_wire_answer(const uint8_t *msg, size_t len, const uint8_t *query, size_t qlen,
		       struct nr_dns_answer *out)
{
	uint8_t target[256];
	unsigned qtype, ancount;
	size_t pos, qpos = HDR_LEN;
	long qn;
	int tlen, hops = 0, pass, moved;

	memset(out, 0, sizeof(*out));
	if (len < HDR_LEN || qlen < HDR_LEN + 5 || get16(msg) != get16(query) || !(msg[2] & 0x80) ||
	    (msg[2] & 0x78) != 0 || get16(msg + 4) != 1)
		return NR_EINVAL; /* not the answer to this query */
	qn = question_matches(msg, len, query, qlen);
	if (qn < 0)
		return NR_EINVAL;
	out->rcode = msg[3] & 0x0f;
	out->truncated = (msg[2] & 0x02) != 0;
	if (out->rcode != 0)
		return 0;
	tlen = name_read(query, qlen, &qpos, target);
	if (tlen < 0)
		return NR_EINVAL;
	qtype = get16(query + qpos);
	ancount = get16(msg + 6);
	pos = HDR_LEN + (size_t)qn;
	/* A pass that meets the CNAME after the records it names is repeated
	 * with the new target; each pass starts the addresses afresh. */
	out->ttl = UINT32_MAX; /* the smallest over the chain and the records */
	for (pass = 0; pass <= NR_DNS_CNAME_MAX; pass++) {
		out->count = 0;
		moved = answers_pass(msg, len, pos, ancount, (uint16_t)qtype, target, &tlen, &hops,
				     out);
		if (moved < 0) {
			out->count = 0;
			return NR_EDNS;
		}
		if (!moved || out->count > 0)
			break;
	}
	if (out->ttl == UINT32_MAX)
		out->ttl = 0;
	return 0;
}

/* ---- the system's files: resolv.conf and hosts ------------------------------------ */

/* The next whitespace-separated word of the line [*at, end) (a '#' or ';'
 * ends the line's words): its start, *len its length; NULL at the end. */
static const char *word_next(const char **at, const char *end, size_t *len)
{
	const char *p = *at, *w;

	while (p < end && (*p == ' ' || *p == '\t' || *p == '\r'))
		p++;
	if (p == end || *p == '#' || *p == ';') {
		*at = end;
		return NULL;
	}
	w = p;
	while (p < end && *p != ' ' && *p != '\t' && *p != '\r' && *p != '#' && *p != ';')
		p++;
	*len = (size_t)(p - w);
	*at = p;
	return w;
}

/* The next line of *text: [*at, *end); *text moves past it. 0 at the end. */
static int line_next(const char **text, const char **at, const char **end)
{
	const char *l = *text, *e;

	if (!*l)
		return 0;
	e = strchr(l, '\n');
	if (!e)
		e = l + strlen(l);
	*at = l;
	*end = e;
	*text = *e ? e + 1 : e;
	return 1;
}

size_t nr_dns_conf_servers(const char *text, struct nr_addr *out, size_t max)
{
	const char *end, *at, *w;
	size_t n = 0, len;

	while (n < max && line_next(&text, &at, &end)) {
		w = word_next(&at, end, &len);
		if (!w || len != 10 || memcmp(w, "nameserver", 10) != 0)
			continue;
		w = word_next(&at, end, &len);
		/* "fe80::1%eth0" (a scope) does not parse: skipped */
		if (w && nr_addr_parse(w, len, &out[n]) == 0 &&
		    (out[n].family == NR_AF_INET4 || NR_ENABLED(CONFIG_NR_IPV6))) {
			out[n].port = 53;
			n++;
		}
	}
	return n;
}

size_t nr_dns_hosts_find(const char *text, const char *key, struct nr_addr *out, size_t max)
{
	const char *end, *at, *w;
	size_t n = 0, len, klen = strlen(key);
	struct nr_addr a;

	while (n < max && line_next(&text, &at, &end)) {
		w = word_next(&at, end, &len);
		if (!w || nr_addr_parse(w, len, &a) != 0)
			continue;
		while ((w = word_next(&at, end, &len)) != NULL) {
			if (len > 1 && w[len - 1] == '.')
				len--;
			if (len == klen && nr_ascii_ieq_mem(w, key, len)) {
				a.port = 0;
				out[n++] = a;
				break;
			}
		}
	}
	return n;
}

size_t nr_dns_conf_search(const char *text, char *out, size_t size)
{
	const char *end, *at, *w;
	size_t n = 0, used, len;

	if (size == 0)
		return 0;
	out[0] = '\0';
	while (line_next(&text, &at, &end)) {
		w = word_next(&at, end, &len);
		if (!w || !((len == 6 && memcmp(w, "search", 6) == 0) ||
			    (len == 6 && memcmp(w, "domain", 6) == 0)))
			continue;
		/* The last search or domain line wins (resolv.conf(5)). */
		n = used = 0;
		out[0] = '\0';
		while ((w = word_next(&at, end, &len)) != NULL) {
			char d[NR_DNS_NAME_MAX + 2];

			if (len > 1 && w[len - 1] == '.')
				len--;
			if (len > NR_DNS_NAME_MAX || used + (used > 0) + len + 1 > size)
				continue;
			memcpy(d, w, len);
			d[len] = '\0';
			if (nr_dns_check_name(d) != 0)
				continue;
			if (used > 0)
				out[used++] = ' ';
			memcpy(out + used, d, len + 1);
			used += len;
			n++;
		}
	}
	return n;
}
