/* fuzz_rewrite_hdr.c - the header From filter on arbitrary header bytes.
 *
 * Oracle: output lines end in CRLF and nothing else (no bare CR or LF); the
 * rewritten header block has exactly one From field, and a rewritten one
 * parses as an RFC 5322 mailbox (strict parser below; review L1: an
 * unbalanced "(" once swallowed the address); feeding in one piece and in
 * chunks gives identical output and the same end of the block. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rewrite/rewrite.h"

/* Not CHECK(): fuzz builds may define NDEBUG. */
#define CHECK(c)                                                                                   \
	do {                                                                                       \
		if (!(c)) {                                                                        \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #c);      \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

static char out[2][1 << 17];
static size_t out_len[2];
static int which;

static int emit(void *arg, const void *p, size_t len)
{
	if (out_len[which] + len > sizeof(out[0]))
		return NR_EFULL;
	memcpy(out[which] + out_len[which], p, len);
	out_len[which] += len;
	return 0;
}

static size_t run(const struct nr_rewrite *rw, const uint8_t *data, size_t size, size_t chunk)
{
	static struct nr_rewrite_hdr h;
	size_t off = 0, used;
	int ret = 0;

	out_len[which] = 0;
	CHECK(nr_rewrite_hdr_init(&h, rw, "me@example.com", emit, NULL) == 0);
	while (off < size && ret == 0) {
		size_t len = chunk && chunk < size - off ? chunk : size - off;

		ret = nr_rewrite_hdr_feed(&h, data + off, len, &used);
		CHECK(ret == 0 || ret == 1 || ret == NR_EFULL);
		CHECK(used <= len);
		off += used;
	}
	if (ret == 0)
		CHECK(nr_rewrite_hdr_finish(&h) == 0 || out_len[which] > sizeof(out[0]) / 2);
	return off;
}

static int from_prefix(const char *p)
{
	return (p[0] | 0x20) == 'f' && (p[1] | 0x20) == 'r' && (p[2] | 0x20) == 'o' &&
	       (p[3] | 0x20) == 'm';
}

static int is_from_line(const char *p, size_t n)
{
	size_t i = 4;

	if (n < 5 || !from_prefix(p))
		return 0;
	while (i < n && (p[i] == ' ' || p[i] == '\t'))
		i++;
	return i < n && p[i] == ':';
}

/* ---- a strict RFC 5322 3.4 mailbox parser, without comments or obsolete
 * forms (the rewriter writes neither) ---- */

static int atext(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c && strchr("!#$%&'*+-/=?^_`{|}~", c));
}

/* dot-atom-text at *p, up to end; advances *p. */
static int dot_atom(const char **p, const char *end)
{
	const char *s = *p;
	for (;;) {
		const char *w = *p;
		while (*p < end && atext((unsigned char)**p))
			(*p)++;
		if (*p == w)
			return 0;
		if (*p < end && **p == '.' && *p + 1 < end) {
			(*p)++;
			continue;
		}
		return *p > s;
	}
}

/* quoted-string (RFC 5322 3.2.4, with RFC 6532's UTF-8 octets as qtext). */
static int quoted_string(const char **p, const char *end)
{
	if (*p >= end || **p != '"')
		return 0;
	for ((*p)++; *p < end; (*p)++) {
		unsigned char c = (unsigned char)**p;
		if (c == '"') {
			(*p)++;
			return 1;
		}
		if (c == '\\') {
			if (++(*p) >= end)
				return 0;
			c = (unsigned char)**p;
			if (c < 0x20 && c != '\t')
				return 0;
			continue;
		}
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return 0;
	}
	return 0;
}

/* phrase = 1*word, word = atom / quoted-string, with WSP between. */
static int phrase(const char **p, const char *end)
{
	int words = 0;
	for (;;) {
		while (*p < end && (**p == ' ' || **p == '\t'))
			(*p)++;
		if (*p < end && **p == '"') {
			if (!quoted_string(p, end))
				return 0;
		} else {
			const char *w = *p;
			while (*p < end && atext((unsigned char)**p))
				(*p)++;
			if (*p == w)
				return words > 0;
		}
		words++;
	}
}

/* "From:" mailbox CRLF: [phrase] "<" addr-spec ">" or a bare addr-spec. */
static int from_parses(const char *f, size_t n)
{
	const char *p = memchr(f, ':', n), *end = f + n;
	if (!p || n < 2 || f[n - 2] != '\r' || f[n - 1] != '\n')
		return 0;
	end -= 2;
	p++;
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	const char *start = p;
	if (dot_atom(&p, end) && p < end && *p == '@') {
		p++;
		if (dot_atom(&p, end) && p == end)
			return 1; /* addr-spec */
	}
	p = start;
	if (*p != '<' && !phrase(&p, end))
		return 0;
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	if (p >= end || *p++ != '<' || !dot_atom(&p, end) || p >= end || *p++ != '@' ||
	    !dot_atom(&p, end) || p >= end || *p++ != '>')
		return 0;
	return p == end;
}

static void check(const char *o, size_t n)
{
	size_t i, start = 0, froms = 0;

	for (i = 0; i < n; i++) {
		if (o[i] == '\r')
			CHECK(i + 1 < n && o[i + 1] == '\n');
		if (o[i] == '\n') {
			CHECK(i > 0 && o[i - 1] == '\r');
			if (i - start == 1)
				break; /* the blank line ends the block */
			if (is_from_line(o + start, i - start)) {
				froms++;
				/* One line, at most ~650 bytes: ours. A From over
				 * NR_REWRITE_FIELD_MAX passes unchanged (not ours to
				 * check) and is longer than that. */
				if (i + 1 - start < NR_REWRITE_FIELD_MAX &&
				    !(i + 1 < n && (o[i + 1] == ' ' || o[i + 1] == '\t')))
					CHECK(from_parses(o + start, i + 1 - start));
			}
			start = i + 1;
		}
	}
	CHECK(i == n || i == n - 1 || o[i] == '\n');
	CHECK(froms == 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nr_rewrite rw = {"nas.lan", "me@example.com", 1, NULL, 0};
	size_t chunk, a, b;

	if (size < 1 || size > 16384)
		return 0;
	chunk = (size_t)(data[0] % 13) + 1;
	data++;
	size--;
	which = 0;
	a = run(&rw, data, size, 0);
	which = 1;
	b = run(&rw, data, size, chunk);
	CHECK(a == b);
	CHECK(out_len[0] == out_len[1] && memcmp(out[0], out[1], out_len[0]) == 0);
	check(out[0], out_len[0]);
	return 0;
}
