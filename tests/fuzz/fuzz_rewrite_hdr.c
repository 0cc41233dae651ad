/* fuzz_rewrite_hdr.c - the header From filter on arbitrary header bytes.
 *
 * Oracle: output lines end in CRLF and nothing else (no bare CR or LF); the
 * rewritten header block has exactly one From field; feeding in one piece
 * and in chunks gives identical output and the same end of the block. */
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
			froms += is_from_line(o + start, i - start);
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
