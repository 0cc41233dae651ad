/* fuzz_oauth_response.c - a token endpoint's HTTP response and its JSON
 * body, as the built-in OAuth2 client reads them, on arbitrary bytes.
 *
 * Oracles: a response parsed as it grows, byte by byte, is never called
 * complete before the whole one is, and the whole one gives the same
 * status and body; a body the parser accepts lies inside the buffer; every
 * string the JSON reader hands out is NUL-terminated inside its field; a
 * store file that parses is written back and parses to the same tokens. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oauth2/oauth2.h"
#include "platform.h"

/* Not assert(): fuzz builds may define NDEBUG. */
#define CHECK(c)                                                                                   \
	do {                                                                                       \
		if (!(c)) {                                                                        \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #c);      \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

static char whole[NR_OAUTH2_RESPONSE_MAX + 1], grow[NR_OAUTH2_RESPONSE_MAX + 1];
static struct nr_oauth2_reply reply;
static struct nr_oauth2_tokens tok, again;
static char stored[3 * NR_OAUTH2_TOKEN_MAX];

#define TERMINATED(f) CHECK(memchr((f), '\0', sizeof(f)) != NULL)

static void check_json(const char *body, size_t len)
{
	if (nr_oauth2_reply_parse(body, len, &reply) != 0)
		return;
	TERMINATED(reply.access_token);
	TERMINATED(reply.refresh_token);
	TERMINATED(reply.token_type);
	TERMINATED(reply.error);
	TERMINATED(reply.error_description);
	TERMINATED(reply.device_code);
	TERMINATED(reply.user_code);
	TERMINATED(reply.verification_uri);
}

static void check_store(const uint8_t *data, size_t size)
{
	long n;

	if (nr_oauth2_store_parse((const char *)data, size, &tok) != 0)
		return;
	n = nr_oauth2_store_format(stored, sizeof(stored), &tok);
	CHECK(n > 0);
	CHECK(nr_oauth2_store_parse(stored, (size_t)n, &again) == 0);
	CHECK(strcmp(tok.access_token, again.access_token) == 0);
	CHECK(strcmp(tok.refresh_token, again.refresh_token) == 0);
	CHECK(tok.expires_at == again.expires_at);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nr_oauth2_http h, g;
	size_t k, step;
	int rc, grc;

	if (size > NR_OAUTH2_RESPONSE_MAX)
		return 0;
	check_store(data, size);
	check_json((const char *)data, size);

	memcpy(whole, data, size);
	rc = nr_oauth2_http_parse(whole, size, 1, &h);
	if (rc == 0) {
		CHECK(h.status >= 100 && h.status <= 999);
		CHECK(h.body >= whole && h.body + h.body_len <= whole + size);
		check_json(h.body, h.body_len);
	}
	/* Grown in steps (every byte for short inputs, about 256 steps for
	 * long ones): a prefix found malformed stays malformed; a prefix found
	 * complete is the same response once the rest arrives, or the rest
	 * is refused as bytes after the body. */
	memcpy(whole, data, size);
	rc = nr_oauth2_http_parse(whole, size, 0, &h);
	step = size / 256 + 1;
	for (k = 0; k < size; k += step) {
		memcpy(grow, data, k);
		grc = nr_oauth2_http_parse(grow, k, 0, &g);
		if (grc == NR_EPROTO)
			CHECK(rc == NR_EPROTO);
		if (grc == 0) {
			CHECK(rc == 0 || rc == NR_EPROTO);
			if (rc == 0)
				CHECK(g.status == h.status);
		}
	}
	return 0;
}
