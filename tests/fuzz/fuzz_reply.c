/* fuzz_reply.c - the outbound reply assembler on arbitrary server bytes.
 *
 * Oracle: feeding the input in one piece and in chunks (sizes taken from the
 * first byte) yields the same replies and the same final error; every reply
 * respects its bounds. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smtpc/reply.h"

/* Not CHECK(): fuzz builds may define NDEBUG. */
#define CHECK(c)                                                                                   \
	do {                                                                                       \
		if (!(c)) {                                                                        \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #c);      \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

#define MAX_REPLIES 4096

struct outcome {
	int codes[MAX_REPLIES];
	unsigned lines[MAX_REPLIES];
	uint32_t caps[MAX_REPLIES];
	size_t n;
	int error;
};

static struct nr_smtpc_reply_asm asm_;
static struct outcome whole, chunked;

static void check_reply(const struct nr_smtpc_reply *r)
{
	CHECK(r != NULL);
	CHECK(r->code >= 200 && r->code <= 599);
	CHECK(r->lines >= 1 && r->lines <= CONFIG_NR_MAX_REPLY_LINES);
	CHECK(r->text_len < sizeof(r->text));
	CHECK(r->text[r->text_len] == '\0');
	CHECK(strlen(r->text) == r->text_len);
	CHECK(r->enh_class == 0 || r->enh_class == r->code / 100);
	for (size_t i = 0; i < r->text_len; i++)
		CHECK((unsigned char)r->text[i] >= 0x20 || r->text[i] == '\t');
}

static void run(const uint8_t *data, size_t size, size_t chunk, struct outcome *o)
{
	size_t off = 0;

	memset(o, 0, sizeof(*o));
	nr_smtpc_reply_init(&asm_, 0);
	while (off < size) {
		size_t len = chunk ? chunk : size - off;
		size_t used = 0;
		int ret;

		if (len > size - off)
			len = size - off;
		ret = nr_smtpc_reply_feed(&asm_, data + off, len, &used);
		CHECK(used <= len);
		if (ret < 0) {
			CHECK(ret == NR_EPROTO || ret == NR_ETOOBIG);
			o->error = ret;
			return;
		}
		off += used;
		if (ret == 1) {
			const struct nr_smtpc_reply *r = nr_smtpc_reply_get(&asm_);

			check_reply(r);
			CHECK(nr_smtpc_reply_pending(&asm_) == 0);
			if (o->n < MAX_REPLIES) {
				o->codes[o->n] = r->code;
				o->lines[o->n] = r->lines;
				o->caps[o->n] = r->caps.caps;
			}
			o->n++;
		} else {
			CHECK(ret == 0 && used == len);
			CHECK(nr_smtpc_reply_get(&asm_) == NULL);
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t chunk, n;

	if (size < 1)
		return 0;
	chunk = (size_t)(data[0] % 17) + 1;
	data++;
	size--;
	run(data, size, 0, &whole);
	run(data, size, chunk, &chunked);
	CHECK(whole.n == chunked.n);
	CHECK(whole.error == chunked.error);
	n = whole.n < MAX_REPLIES ? whole.n : MAX_REPLIES;
	CHECK(memcmp(whole.codes, chunked.codes, n * sizeof(int)) == 0);
	CHECK(memcmp(whole.lines, chunked.lines, n * sizeof(unsigned)) == 0);
	CHECK(memcmp(whole.caps, chunked.caps, n * sizeof(uint32_t)) == 0);
	return 0;
}
