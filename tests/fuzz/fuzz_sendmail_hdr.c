/* fuzz_sendmail_hdr.c - what `sendmail -t` does with a header block: the
 * address-list parser and the To/Cc/Bcc scan never crash, every address
 * handed out is a bounded C string, and no Bcc: field survives. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/proto.h"
#include "sendmail/sendmail.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int check_addr(void *arg, const char *addr)
{
	(void)arg;
	if (addr[0] == '\0' || strlen(addr) > NR_PATH_MAX)
		abort();
	return 0;
}

static int starts_bcc(const char *p, size_t n)
{
	return n >= 4 && (p[0] | 32) == 'b' && (p[1] | 32) == 'c' && (p[2] | 32) == 'c' &&
	       p[3] == ':';
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *hdr = malloc(size + 1);
	size_t len = size, i;
	struct nr_sm_hdrinfo info;

	if (!hdr)
		return 0;
	memcpy(hdr, data, size);
	(void)nr_sendmail_parse_addrlist(hdr, size, check_addr, NULL);
	if (nr_sendmail_scan_headers(hdr, &len, &info, check_addr, NULL) == 0) {
		if (len > size)
			abort();
		for (i = 0; i < len; i++)
			if ((i == 0 || hdr[i - 1] == '\n') && starts_bcc(hdr + i, len - i))
				abort();
	}
	free(hdr);
	return 0;
}
