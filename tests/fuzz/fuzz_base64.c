/* fuzz_base64.c - strict decoding never overruns, and accepted input is
 * exactly what the encoder produces for the decoded bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/base64.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t dec[4096];
	static char enc[NR_BASE64_ENCODED_SIZE(4096) + 8];

	if (size > 4096)
		return 0;
	long n = nr_base64_decode((const char *)data, size, dec, sizeof(dec));
	if (n >= 0) {
		long e = nr_base64_encode(dec, (size_t)n, enc, sizeof(enc));
		if (e != (long)size || memcmp(enc, data, size) != 0)
			abort();
	}
	long e = nr_base64_encode(data, size, enc, sizeof(enc));
	if (e < 0)
		abort();
	n = nr_base64_decode(enc, (size_t)e, dec, sizeof(dec));
	if (n != (long)size || memcmp(dec, data, size) != 0)
		abort();
	return 0;
}
