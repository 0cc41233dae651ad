/* proto_addr.c - RFC 5321 4.1.2 paths and ESMTP parameters for MAIL/RCPT.
 *
 * Strict where it matters (no control bytes, no 8-bit, no source routes, the
 * 4.5.3.1 lengths) and lenient where old devices need it: spaces after the
 * colon and a path without angle brackets are accepted, as Postfix does. */
#include <string.h>

#include "core/ascii.h"
#include "proto/proto.h"

struct cur {
	const char *s;
	size_t len;
	size_t i;
};

static int peek(const struct cur *c)
{
	return c->i < c->len ? (unsigned char)c->s[c->i] : -1;
}

/* atext, RFC 5322 3.2.3. */
static int is_atext(int c)
{
	return nr_ascii_isalnum(c) || (c >= 0 && strchr("!#$%&'*+-/=?^_`{|}~", c) && c);
}

int nr_is_dot_atom(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || s[0] == '.' || s[len - 1] == '.')
		return 0;
	for (i = 0; i < len; i++) {
		int ch = (unsigned char)s[i];

		if (ch == '.' ? s[i - 1] == '.' : !is_atext(ch))
			return 0;
	}
	return 1;
}

static int match_keyword(struct cur *c, const char *kw)
{
	if (!nr_ascii_iprefix(c->s + c->i, c->len - c->i, kw))
		return 0;
	c->i += strlen(kw);
	return 1;
}

static void skip_spaces(struct cur *c)
{
	while (peek(c) == ' ')
		c->i++;
}

static enum nr_path_result parse_local(struct cur *c)
{
	size_t start = c->i;

	if (peek(c) == '"') {
		c->i++;
		for (;;) {
			int ch = peek(c);
			if (ch < 0)
				return NR_PATH_BADADDR;
			c->i++;
			if (ch == '"')
				break;
			if (ch == '\\') {
				ch = peek(c);
				if (ch < 32 || ch > 126)
					return NR_PATH_BADADDR;
				c->i++;
			} else if (ch < 32 || ch > 126) {
				return NR_PATH_BADADDR;
			}
		}
	} else {
		while (is_atext(peek(c)) || peek(c) == '.')
			c->i++;
		if (c->i == start)
			return NR_PATH_BADADDR;
	}
	if (c->i - start > NR_LOCAL_PART_MAX)
		return NR_PATH_TOOLONG;
	return NR_PATH_OK;
}

static enum nr_path_result parse_domain(struct cur *c)
{
	size_t start = c->i;

	if (peek(c) == '[') {
		/* address-literal: dcontent is %d33-90 / %d94-126 (4.1.3) */
		c->i++;
		size_t inner = c->i;
		while (peek(c) >= 33 && peek(c) <= 126 && peek(c) != '[' && peek(c) != ']' &&
		       peek(c) != '\\')
			c->i++;
		if (c->i == inner || peek(c) != ']')
			return NR_PATH_BADADDR;
		c->i++;
	} else {
		for (;;) {
			size_t label = c->i;
			while (nr_ascii_isalnum(peek(c)) || peek(c) == '-')
				c->i++;
			if (c->i == label || c->s[label] == '-' || c->s[c->i - 1] == '-')
				return NR_PATH_BADADDR;
			if (peek(c) != '.')
				break;
			c->i++;
		}
	}
	if (c->i - start > NR_DOMAIN_MAX)
		return NR_PATH_TOOLONG;
	return NR_PATH_OK;
}

/* Path or bare mailbox; on success addr holds the mailbox text. */
static enum nr_path_result parse_path(struct cur *c, char *addr, int allow_null)
{
	int bracket = 0;
	enum nr_path_result r;

	if (peek(c) == '<') {
		bracket = 1;
		c->i++;
		if (peek(c) == '>') {
			c->i++;
			if (!allow_null)
				return NR_PATH_NULL_RCPT;
			addr[0] = '\0';
			return NR_PATH_OK;
		}
		if (peek(c) == '@')
			return NR_PATH_ROUTE; /* A-d-l ":" (4.1.2): never honoured */
	}
	size_t start = c->i;
	r = parse_local(c);
	if (r != NR_PATH_OK)
		return r;
	if (peek(c) == '@') {
		c->i++;
		r = parse_domain(c);
		if (r != NR_PATH_OK)
			return r;
	}
	size_t mlen = c->i - start;
	if (bracket) {
		if (peek(c) != '>')
			return peek(c) == ':' || peek(c) == ',' ? NR_PATH_ROUTE : NR_PATH_BADADDR;
		c->i++;
	}
	if (peek(c) >= 0 && peek(c) != ' ')
		return NR_PATH_BADADDR;
	if (mlen + 2 > NR_PATH_MAX)
		return NR_PATH_TOOLONG;
	memcpy(addr, c->s + start, mlen);
	addr[mlen] = '\0';
	return NR_PATH_OK;
}

static int parse_u64(const char *s, size_t n, uint64_t *out)
{
	uint64_t v = 0;
	if (n == 0 || n > 19)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (!nr_ascii_isdigit((unsigned char)s[i]))
			return -1;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*out = v;
	return 0;
}

/* esmtp-param = esmtp-keyword ["=" esmtp-value] (4.1.2). */
static enum nr_path_result parse_params(struct cur *c, struct nr_mail_params *p)
{
	for (;;) {
		skip_spaces(c);
		if (peek(c) < 0)
			return NR_PATH_OK;
		size_t kw = c->i;
		if (!nr_ascii_isalnum(peek(c)))
			return NR_PATH_PARAM;
		while (nr_ascii_isalnum(peek(c)) || peek(c) == '-')
			c->i++;
		size_t kwlen = c->i - kw;
		size_t val = 0, vallen = 0;
		int has_val = 0;
		if (peek(c) == '=') {
			c->i++;
			val = c->i;
			while (peek(c) >= 33 && peek(c) <= 126 && peek(c) != '=')
				c->i++;
			vallen = c->i - val;
			has_val = 1;
			if (vallen == 0)
				return NR_PATH_PARAM;
		}
		if (peek(c) >= 0 && peek(c) != ' ')
			return NR_PATH_PARAM;
		if (!p)
			return NR_PATH_PARAM;
		const char *k = c->s + kw, *v = c->s + val;
		if (nr_ascii_ieq_word(k, kwlen, "SIZE") && has_val) {
			if (p->has_size || parse_u64(v, vallen, &p->size) < 0)
				return NR_PATH_PARAM;
			p->has_size = 1;
		} else if (nr_ascii_ieq_word(k, kwlen, "BODY") && has_val) {
			if (p->body != NR_BODY_UNSPEC)
				return NR_PATH_PARAM;
			if (nr_ascii_ieq_word(v, vallen, "7BIT"))
				p->body = NR_BODY_7BIT;
			else if (nr_ascii_ieq_word(v, vallen, "8BITMIME"))
				p->body = NR_BODY_8BITMIME;
			else
				return NR_PATH_PARAM;
		} else if (nr_ascii_ieq_word(k, kwlen, "AUTH") && has_val) {
			/* RFC 4954 5: accepted, never trusted. */
		} else {
			return NR_PATH_PARAM;
		}
	}
}

static enum nr_path_result parse_cmd(const char *args, size_t len, const char *kw, char *addr,
				     struct nr_mail_params *p, int allow_null)
{
	struct cur c = {args, len, 0};

	addr[0] = '\0';
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)args[i];
		if (ch < 32 || ch > 126)
			return NR_PATH_BADADDR;
	}
	skip_spaces(&c);
	if (!match_keyword(&c, kw))
		return NR_PATH_SYNTAX;
	skip_spaces(&c);
	if (peek(&c) < 0)
		return NR_PATH_SYNTAX;
	enum nr_path_result r = parse_path(&c, addr, allow_null);
	if (r == NR_PATH_OK)
		r = parse_params(&c, p);
	if (r != NR_PATH_OK)
		addr[0] = '\0';
	return r;
}

enum nr_path_result nr_parse_mail_from(const char *args, size_t len, char *addr,
				       struct nr_mail_params *params)
{
	memset(params, 0, sizeof(*params));
	return parse_cmd(args, len, "FROM:", addr, params, 1);
}

enum nr_path_result nr_parse_rcpt_to(const char *args, size_t len, char *addr)
{
	return parse_cmd(args, len, "TO:", addr, NULL, 0);
}

int nr_envelope_safe(const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c < 32 || c > 126)
			return 0;
	}
	return 1;
}
