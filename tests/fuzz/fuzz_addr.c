/* fuzz_addr.c - MAIL/RCPT argument parsing: never crashes, and whatever it
 * accepts is safe to re-emit (printable ASCII, within the RFC 5321 limits). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char addr[NR_PATH_MAX + 1];
	struct nr_mail_params p;

	if (nr_parse_mail_from((const char *)data, size, addr, &p) == NR_PATH_OK) {
		if (!nr_envelope_safe(addr) || strlen(addr) + 2 > NR_PATH_MAX)
			abort();
	} else if (addr[0] != '\0') {
		abort();
	}
	if (nr_parse_rcpt_to((const char *)data, size, addr) == NR_PATH_OK) {
		if (!nr_envelope_safe(addr) || addr[0] == '\0' || strlen(addr) + 2 > NR_PATH_MAX)
			abort();
		if (addr[0] == '@')
			abort(); /* a source route was let through */
	}
	return 0;
}
