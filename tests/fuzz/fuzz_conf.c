/*
 * fuzz_conf.c - the configuration parser on arbitrary bytes: it must answer
 * 0 or a FILE:LINE message, never crash, leak or read out of bounds. A
 * parsed result is also checked for the invariants others rely on.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "conf/conf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nr_conf c;
	char err[256];
	char buf[64];
	size_t i;

	if (nr_conf_parse(&c, "fuzz.conf", (const char *)data, size, err, sizeof(err)) != 0) {
		if (strncmp(err, "fuzz.conf:", 10) != 0)
			__builtin_trap();
		nr_conf_free(&c);
		return 0;
	}
	if (c.listen_count == 0 || c.allow_count == 0 || c.hostname == NULL ||
	    c.state_dir == NULL || c.control_socket == NULL)
		__builtin_trap();
	if (c.max_sessions_per_client > c.max_sessions || c.retry_min_ms > c.retry_max_ms ||
	    c.max_header_size > c.max_message_size)
		__builtin_trap();
	for (i = 0; i < c.listen_count; i++)
		nr_addr_ntop(&c.listen[i].addr, buf, sizeof(buf));
	for (i = 0; i < c.allow_count; i++)
		(void)nr_cidr_contains(&c.allow[i], &c.listen[0].addr);
	for (i = 0; i < c.smarthost_count; i++) {
		if (c.smarthost[i].port == 0 ||
		    (c.smarthost[i].tls == NR_TLS_NONE && !c.smarthost[i].insecure))
			__builtin_trap();
	}
	nr_conf_free(&c);
	return 0;
}
