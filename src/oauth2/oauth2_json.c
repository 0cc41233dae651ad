/*
 * oauth2_json.c - a strict reader for the one JSON shape OAuth2 endpoints
 * answer with: an object whose members we want are strings or numbers.
 *
 * Written here rather than linked from a library because it reads only
 * that shape: about 250 lines, every byte checked against RFC 8259,
 * nesting bounded, no allocation. tests/fuzz/fuzz_oauth_response.c runs it
 * on hostile input.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/ascii.h"
#include "oauth2/oauth2.h"
#include "platform.h"

#define DEPTH_MAX 8

struct rd {
	const char *s;
	size_t n, i;
};

static void skip_ws(struct rd *r)
{
	while (r->i < r->n && (r->s[r->i] == ' ' || r->s[r->i] == '\t' || r->s[r->i] == '\n' ||
			       r->s[r->i] == '\r'))
		r->i++;
}

static int hex4(struct rd *r, uint32_t *out)
{
	uint32_t v = 0;
	int k, h;

	if (r->n - r->i < 4)
		return NR_EPROTO;
	for (k = 0; k < 4; k++) {
		if ((h = nr_ascii_hex(r->s[r->i + (size_t)k])) < 0)
			return NR_EPROTO;
		v = v << 4 | (uint32_t)h;
	}
	r->i += 4;
	*out = v;
	return 0;
}

/* Append code point cp as UTF-8 to dst (size 0: only check). */
static int put_utf8(char *dst, size_t size, size_t *o, uint32_t cp)
{
	unsigned char b[4];
	size_t n, k;

	if (cp < 0x80) {
		b[0] = (unsigned char)cp;
		n = 1;
	} else if (cp < 0x800) {
		b[0] = (unsigned char)(0xc0 | cp >> 6);
		b[1] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		b[0] = (unsigned char)(0xe0 | cp >> 12);
		b[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
		b[2] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		b[0] = (unsigned char)(0xf0 | cp >> 18);
		b[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3f));
		b[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
		b[3] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	if (size == 0)
		return 0;
	if (*o + n >= size)
		return NR_ETOOBIG;
	for (k = 0; k < n; k++)
		dst[(*o)++] = (char)b[k];
	return 0;
}

/* A string at r->i (the opening quote), unescaped into dst of size (0:
 * checked and skipped). A NUL from \u0000 is refused: the values are C
 * strings. Bytes >= 0x80 pass as they are (the tokens are ASCII; a
 * description may be UTF-8 and is only ever shown). */
static int read_string(struct rd *r, char *dst, size_t size)
{
	size_t o = 0;
	uint32_t cp, lo;
	int rc;

	if (r->i >= r->n || r->s[r->i] != '"')
		return NR_EPROTO;
	r->i++;
	while (r->i < r->n) {
		unsigned char ch = (unsigned char)r->s[r->i++];
		if (ch == '"') {
			if (size > 0)
				dst[o] = '\0';
			return 0;
		}
		if (ch < 0x20)
			return NR_EPROTO;
		if (ch != '\\') {
			if (size > 0) {
				if (o + 1 >= size)
					return NR_ETOOBIG;
				dst[o++] = (char)ch;
			}
			continue;
		}
		if (r->i >= r->n)
			return NR_EPROTO;
		ch = (unsigned char)r->s[r->i++];
		switch (ch) {
		case '"':
		case '\\':
		case '/':
			cp = ch;
			break;
		case 'b':
			cp = '\b';
			break;
		case 'f':
			cp = '\f';
			break;
		case 'n':
			cp = '\n';
			break;
		case 'r':
			cp = '\r';
			break;
		case 't':
			cp = '\t';
			break;
		case 'u':
			if ((rc = hex4(r, &cp)) != 0)
				return rc;
			if (cp >= 0xdc00 && cp <= 0xdfff)
				return NR_EPROTO; /* a low surrogate alone */
			if (cp >= 0xd800 && cp <= 0xdbff) {
				if (r->n - r->i < 2 || r->s[r->i] != '\\' || r->s[r->i + 1] != 'u')
					return NR_EPROTO;
				r->i += 2;
				if ((rc = hex4(r, &lo)) != 0)
					return rc;
				if (lo < 0xdc00 || lo > 0xdfff)
					return NR_EPROTO;
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
			}
			if (cp == 0)
				return NR_EPROTO;
			break;
		default:
			return NR_EPROTO;
		}
		if ((rc = put_utf8(dst, size, &o, cp)) != 0)
			return rc;
	}
	return NR_EPROTO;
}

/* RFC 8259 number grammar; *u gets its value when it is a plain
 * non-negative integer that fits (else *is_uint 0). */
static int read_number(struct rd *r, uint64_t *u, int *is_uint)
{
	uint64_t v = 0;
	int ok = 1;

	if (r->i < r->n && r->s[r->i] == '-') {
		r->i++;
		ok = 0;
	}
	if (r->i >= r->n || !nr_ascii_isdigit(r->s[r->i]))
		return NR_EPROTO;
	if (r->s[r->i] == '0' && r->i + 1 < r->n && nr_ascii_isdigit(r->s[r->i + 1]))
		return NR_EPROTO; /* leading zero */
	for (; r->i < r->n && nr_ascii_isdigit(r->s[r->i]); r->i++) {
		if (v > (UINT64_MAX - 9) / 10)
			ok = 0;
		v = v * 10 + (uint64_t)(r->s[r->i] - '0');
	}
	if (r->i < r->n && r->s[r->i] == '.') {
		r->i++;
		ok = 0;
		if (r->i >= r->n || !nr_ascii_isdigit(r->s[r->i]))
			return NR_EPROTO;
		while (r->i < r->n && nr_ascii_isdigit(r->s[r->i]))
			r->i++;
	}
	if (r->i < r->n && (r->s[r->i] == 'e' || r->s[r->i] == 'E')) {
		r->i++;
		ok = 0;
		if (r->i < r->n && (r->s[r->i] == '+' || r->s[r->i] == '-'))
			r->i++;
		if (r->i >= r->n || !nr_ascii_isdigit(r->s[r->i]))
			return NR_EPROTO;
		while (r->i < r->n && nr_ascii_isdigit(r->s[r->i]))
			r->i++;
	}
	*is_uint = ok;
	*u = ok ? v : 0;
	return 0;
}

static int literal(struct rd *r, const char *word)
{
	size_t n = strlen(word);

	if (r->n - r->i < n || memcmp(r->s + r->i, word, n) != 0)
		return NR_EPROTO;
	r->i += n;
	return 0;
}

/* Any value, checked and skipped. */
static int skip_value(struct rd *r, int depth)
{
	uint64_t u;
	int is_uint, rc;
	char close;

	skip_ws(r);
	if (r->i >= r->n)
		return NR_EPROTO;
	switch (r->s[r->i]) {
	case '"':
		return read_string(r, NULL, 0);
	case 't':
		return literal(r, "true");
	case 'f':
		return literal(r, "false");
	case 'n':
		return literal(r, "null");
	case '{':
	case '[':
		break;
	default:
		return read_number(r, &u, &is_uint);
	}
	if (depth >= DEPTH_MAX)
		return NR_EPROTO;
	close = r->s[r->i] == '{' ? '}' : ']';
	r->i++;
	skip_ws(r);
	if (r->i < r->n && r->s[r->i] == close) {
		r->i++;
		return 0;
	}
	for (;;) {
		if (close == '}') {
			skip_ws(r);
			if ((rc = read_string(r, NULL, 0)) != 0)
				return rc;
			skip_ws(r);
			if (r->i >= r->n || r->s[r->i++] != ':')
				return NR_EPROTO;
		}
		if ((rc = skip_value(r, depth + 1)) != 0)
			return rc;
		skip_ws(r);
		if (r->i >= r->n)
			return NR_EPROTO;
		if (r->s[r->i] == close) {
			r->i++;
			return 0;
		}
		if (r->s[r->i++] != ',')
			return NR_EPROTO;
	}
}

/* A count of seconds, as a number or a string of digits (some servers
 * quote expires_in). At most a day's worth of bits: 2^32 - 1. */
static int read_seconds(struct rd *r, uint32_t *out)
{
	char text[12];
	uint64_t u = 0;
	size_t k;
	int is_uint, rc;

	if (r->s[r->i] == '"') {
		if ((rc = read_string(r, text, sizeof(text))) != 0)
			return rc == NR_ETOOBIG ? NR_EPROTO : rc;
		if (text[0] == '\0')
			return NR_EPROTO;
		for (k = 0; text[k] != '\0'; k++) {
			if (!nr_ascii_isdigit(text[k]))
				return NR_EPROTO;
			u = u * 10 + (uint64_t)(text[k] - '0');
		}
	} else {
		if ((rc = read_number(r, &u, &is_uint)) != 0)
			return rc;
		if (!is_uint)
			return NR_EPROTO;
	}
	if (u > UINT32_MAX)
		return NR_EPROTO;
	*out = (uint32_t)u;
	return 0;
}

struct field {
	const char *name;
	size_t off, size; /* size 0: seconds (uint32_t) */
};

#define STR_FIELD(n, m)                                                                            \
	{                                                                                          \
		n, offsetof(struct nr_oauth2_reply, m), sizeof(((struct nr_oauth2_reply *)0)->m)   \
	}
#define SEC_FIELD(n, m)                                                                            \
	{                                                                                          \
		n, offsetof(struct nr_oauth2_reply, m), 0                                          \
	}
static const struct field fields[] = {
    STR_FIELD("access_token", access_token),
    STR_FIELD("refresh_token", refresh_token),
    STR_FIELD("token_type", token_type),
    SEC_FIELD("expires_in", expires_in),
    STR_FIELD("error", error),
    STR_FIELD("error_description", error_description),
    STR_FIELD("device_code", device_code),
    STR_FIELD("user_code", user_code),
    STR_FIELD("verification_uri", verification_uri),
    STR_FIELD("verification_url", verification_uri),
    SEC_FIELD("interval", interval),
};

int nr_oauth2_reply_parse(const char *json, size_t len, struct nr_oauth2_reply *out)
{
	struct rd r = {json, len, 0};
	char key[32];
	size_t k;
	int rc;

	memset(out, 0, sizeof(*out));
	skip_ws(&r);
	if (r.i >= r.n || r.s[r.i++] != '{')
		return NR_EPROTO;
	skip_ws(&r);
	if (r.i < r.n && r.s[r.i] == '}') {
		r.i++;
		goto end;
	}
	for (;;) {
		const struct field *f = NULL;
		size_t kstart;
		skip_ws(&r);
		kstart = r.i;
		/* Check the name first; only one that fits can be ours. */
		if ((rc = read_string(&r, NULL, 0)) != 0)
			return rc;
		key[0] = '\0';
		if (r.i - kstart - 2 < sizeof(key)) {
			struct rd kr = {json, len, kstart};
			if (read_string(&kr, key, sizeof(key)) != 0)
				key[0] = '\0';
		}
		skip_ws(&r);
		if (r.i >= r.n || r.s[r.i++] != ':')
			return NR_EPROTO;
		skip_ws(&r);
		if (r.i >= r.n)
			return NR_EPROTO;
		for (k = 0; k < NR_ARRAY_LEN(fields); k++)
			if (strcmp(fields[k].name, key) == 0)
				f = &fields[k];
		if (f == NULL)
			rc = skip_value(&r, 1);
		else if (f->size == 0)
			rc = read_seconds(&r, (uint32_t *)(void *)((char *)out + f->off));
		else if (r.s[r.i] == 'n') /* "refresh_token": null, seen in the wild */
			rc = literal(&r, "null");
		else
			rc = read_string(&r, (char *)out + f->off, f->size);
		if (rc != 0)
			return rc == NR_ETOOBIG ? NR_EPROTO : rc;
		skip_ws(&r);
		if (r.i >= r.n)
			return NR_EPROTO;
		if (r.s[r.i] == '}') {
			r.i++;
			break;
		}
		if (r.s[r.i++] != ',')
			return NR_EPROTO;
	}
end:
	skip_ws(&r);
	return r.i == r.n ? 0 : NR_EPROTO;
}
