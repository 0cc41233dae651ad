/*
 * test_sizes.c - the RAM a session costs, measured rather than guessed.
 *
 * nr_smtpd reserves one struct smtpd_session per CONFIG_NR_MAX_SESSIONS in
 * its pool at start; a connected session also holds its connection's input
 * buffer (CONFIG_NR_IO_BUF_SIZE, or CONFIG_NR_AUTH_LINE_MAX + 2 when AUTH or
 * TLS is offered on its listener) and output buffer (CONFIG_NR_IO_BUF_SIZE).
 * The line "session: ..." is what tests/configs.sh prints and what the
 * NR_MAX_SESSIONS help in Kconfig quotes: update the help when it moves.
 */
#include <stdio.h>

#include "core/build.h"
#include "dns/dns_priv.h"
#include "smtpd/smtpd_int.h"
#include "test.h"

TEST(session_cost)
{
	size_t session = sizeof(struct smtpd_session);
	size_t in_plain = CONFIG_NR_IO_BUF_SIZE;
	size_t in_auth = NR_MAX((size_t)CONFIG_NR_IO_BUF_SIZE, (size_t)CONFIG_NR_AUTH_LINE_MAX + 2);
	size_t out = CONFIG_NR_IO_BUF_SIZE;

	printf("session: struct smtpd_session %zu bytes (x%d reserved = %zu KiB); "
	       "connected: + in %zu (%zu with AUTH/TLS) + out %zu = %zu..%zu bytes\n",
	       session, CONFIG_NR_MAX_SESSIONS, session * CONFIG_NR_MAX_SESSIONS / 1024, in_plain,
	       in_auth, out, session + in_plain + out, session + in_auth + out);
	EXPECT_TRUE(session > 0);
	EXPECT_TRUE(in_auth >= in_plain);
}

/* What the other Kconfig limits multiply (the figures in their help). */
TEST(limit_costs)
{
	printf("limits: recipient slot %zu bytes per session; listener %zu bytes; "
	       "DNS cache entry %zu bytes (%d addresses); DNS answer %zu bytes\n",
	       sizeof(((struct smtpd_session *)0)->rcpt[0]), sizeof(struct smtpd_listener),
	       sizeof(struct nr_dns_cache_entry), CONFIG_NR_DNS_MAX_ADDRS,
	       sizeof(struct nr_dns_result));
	EXPECT_TRUE(sizeof(struct nr_dns_cache_entry) > 0);
}

int main(void)
{
	RUN(session_cost);
	RUN(limit_costs);
	return TEST_REPORT();
}
