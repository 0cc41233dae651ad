/* fuzz_body.c - the DATA body filter gives the same result whatever the
 * chunking, and its output is always canonical: every line ends CRLF, no
 * bare CR or LF, no line over 998 octets, and the end is found at the same
 * place. The first input byte seeds the chunk sizes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct out {
	uint8_t *p;
	size_t len, cap;
};

static int collect(void *arg, const void *d, size_t n)
{
	struct out *o = arg;
	if (n == 0 || n > NR_BODY_OUT_CHUNK)
		abort();
	if (o->len + n > o->cap)
		return NR_EFULL;
	memcpy(o->p + o->len, d, n);
	o->len += n;
	return 0;
}

static size_t run(const uint8_t *data, size_t size, uint32_t seed, struct out *o, struct nr_body *b)
{
	struct nr_body_conf c = {0};
	c.emit = collect;
	c.arg = o;
	c.max_size = 1 << 20;
	c.max_header = 4096;
	c.date_header = "Date: x\r\n";
	c.msgid_header = "Message-ID: <y@z>\r\n";
	nr_body_init(b, &c);
	size_t off = 0;
	while (off < size && !nr_body_done(b)) {
		size_t n = 1;
		if (seed) {
			seed = seed * 1103515245u + 12345u;
			n = 1 + (seed >> 16) % 97;
		} else {
			n = size - off;
		}
		if (n > size - off)
			n = size - off;
		size_t used = nr_body_feed(b, data + off, n);
		if (used > n || (used < n && !nr_body_done(b)))
			abort();
		off += used;
	}
	if (nr_body_done(b))
		nr_body_finish(b);
	return off;
}

static void check_canonical(const struct out *o)
{
	size_t line = 0;
	for (size_t i = 0; i < o->len; i++) {
		uint8_t c = o->p[i];
		if (c == '\r') {
			if (i + 1 >= o->len || o->p[i + 1] != '\n')
				abort();
			i++;
			line = 0;
		} else if (c == '\n' || c == '\0') {
			abort();
		} else if (++line > NR_TEXT_LINE_MAX) {
			abort();
		}
	}
	if (o->len && line != 0)
		abort(); /* the last line is not terminated */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t a[1 << 20], b2[1 << 20];
	static struct nr_body ba, bb;
	struct out oa = {a, 0, sizeof(a)}, ob = {b2, 0, sizeof(b2)};

	if (size < 1)
		return 0;
	uint32_t seed = data[0] | 1u;
	data++;
	size--;
	size_t ua = run(data, size, 0, &oa, &ba);
	size_t ub = run(data, size, seed, &ob, &bb);
	if (ua != ub || nr_body_done(&ba) != nr_body_done(&bb))
		abort();
	if (!nr_body_done(&ba))
		return 0;
	if (ba.flags != bb.flags || oa.len != ob.len || memcmp(a, b2, oa.len) != 0)
		abort();
	if (!(ba.flags & NR_BODYF_FATAL))
		check_canonical(&oa);
	/* what the outbound side makes of it ends exactly once */
	struct nr_dotstuff d;
	static uint8_t wire[(1 << 21) + 8];
	size_t used, w;
	nr_dotstuff_init(&d);
	w = nr_dotstuff(&d, a, oa.len, wire, sizeof(wire) - 8, &used);
	if (used != oa.len)
		abort();
	w += nr_dotstuff_end(&d, wire + w);
	static const uint8_t end[] = "\r\n.\r\n";
	for (size_t i = 0; i + 5 <= w; i++)
		if (memcmp(wire + i, end, 5) == 0 && i + 5 != w && !(i == 0 && w == 3))
			abort();
	return 0;
}
