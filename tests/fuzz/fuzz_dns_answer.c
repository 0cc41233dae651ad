/* fuzz_dns_answer.c - the stub resolver's answer parser (dns_wire.c) on
 * arbitrary server bytes, and its resolv.conf (servers, search domains) and
 * hosts readers on the same bytes as text.
 *
 * The input's first byte picks the question (A or AAAA, one of two names)
 * and whether the answer's header and question are made to match the query,
 * so that most runs reach the records. Oracle: the parser says yes, no or
 * malformed and nothing else; what it takes is within its bounds and of
 * the asked type; an answer is not believed when its ID differs. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns/dns_priv.h"

/* Not assert(): fuzz builds may define NDEBUG. */
#define CHECK(c)                                                                                   \
	do {                                                                                       \
		if (!(c)) {                                                                        \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #c);      \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *names[2] = {"smarthost.test", "a.b.c.example.org."};
	uint8_t query[NR_DNS_QUERY_MAX], msg[1024];
	struct nr_dns_answer ans;
	struct nr_addr addrs[4];
	uint16_t type;
	long qlen;
	size_t len, i;
	char *text;
	int ret;

	if (size < 1)
		return 0;
	type = (data[0] & 1) ? NR_DNS_TYPE_AAAA : NR_DNS_TYPE_A;
	qlen = nr_dns_wire_query(query, sizeof(query), 0x5a5a, names[(data[0] >> 1) & 1], type);
	CHECK(qlen > 12);
	len = size - 1 < sizeof(msg) ? size - 1 : sizeof(msg);
	memcpy(msg, data + 1, len);
	if ((data[0] & 4) && len >= (size_t)qlen) {
		/* Our ID, one question, and it: the records are what is fuzzed. */
		memcpy(msg + 12, query + 12, (size_t)qlen - 12);
		msg[0] = query[0];
		msg[1] = query[1];
		msg[4] = 0;
		msg[5] = 1;
	}
	ret = nr_dns_wire_answer(msg, len, query, (size_t)qlen, &ans);
	CHECK(ret == 0 || ret == NR_EINVAL || ret == NR_EDNS);
	CHECK(ans.count <= CONFIG_NR_DNS_MAX_ADDRS);
	if (ret == 0) {
		CHECK(len >= (size_t)qlen);
		CHECK(msg[0] == query[0] && msg[1] == query[1]);
		CHECK(ans.rcode >= 0 && ans.rcode <= 15);
		CHECK(ans.ttl <= 0x7fffffffu);
		CHECK(ans.rcode == 0 || ans.count == 0);
		for (i = 0; i < ans.count; i++)
			CHECK(ans.addrs[i].family ==
			      (type == NR_DNS_TYPE_A ? NR_AF_INET4 : NR_AF_INET6));
	} else {
		CHECK(ans.count == 0);
	}
	/* An answer with another ID is never taken. */
	if (len >= 2) {
		msg[0] ^= 0x80;
		CHECK(nr_dns_wire_answer(msg, len, query, (size_t)qlen, &ans) == NR_EINVAL);
	}

	/* The same bytes as a resolv.conf and as a hosts file. */
	text = malloc(size);
	if (!text)
		return 0;
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';
	CHECK(nr_dns_conf_servers(text, addrs, 3) <= 3);
	for (i = 0; i < 3 && i < nr_dns_conf_servers(text, addrs, 3); i++)
		CHECK(addrs[i].port == 53);
	CHECK(nr_dns_hosts_find(text, "mail.lan", addrs, 4) <= 4);
	{
		char search[64];
		size_t n = nr_dns_conf_search(text, search, sizeof(search));

		CHECK(strlen(search) < sizeof(search));
		CHECK(n == 0 || strlen(search) > 0);
	}
	free(text);
	return 0;
}
