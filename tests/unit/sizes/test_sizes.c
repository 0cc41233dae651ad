/*
 * test_sizes.c - the RAM a session and an idle relay cost, measured rather
 * than guessed.
 *
 * nr_smtpd reserves one struct smtpd_session per CONFIG_NR_MAX_SESSIONS
 * (plus CONFIG_NR_MAX_LOCAL_SESSIONS) in its pool at start; a connected
 * session also holds its connection's input buffer (CONFIG_NR_IO_BUF_SIZE,
 * or CONFIG_NR_AUTH_LINE_MAX + 2 when AUTH or TLS is offered on its
 * listener) and output buffer (CONFIG_NR_IO_BUF_SIZE), and during an AUTH
 * exchange its credentials. The line "session: ..." is what
 * tests/configs.sh and tests/bench/stack.sh print and what the
 * NR_MAX_SESSIONS help in Kconfig quotes: update the help when it moves.
 */
#include <stdio.h>

#include "acl/acl.h"
#include "core/build.h"
#include "dns/dns_priv.h"
#include "queue/queue_int.h"
#include "smtpd/smtpd_int.h"
#include "test.h"

/* The pool's slot: the session rounded up to max_align_t (core/pool.c). */
static size_t session_slot(void)
{
	size_t align = _Alignof(max_align_t);

	return (sizeof(struct smtpd_session) + align - 1) / align * align;
}

TEST(session_cost)
{
	size_t session = sizeof(struct smtpd_session);
	size_t in_plain = CONFIG_NR_IO_BUF_SIZE;
	size_t in_auth = NR_MAX((size_t)CONFIG_NR_IO_BUF_SIZE, (size_t)CONFIG_NR_AUTH_LINE_MAX + 2);
	size_t out = CONFIG_NR_IO_BUF_SIZE;

	printf("session: struct smtpd_session %lu bytes (x%d reserved = %lu KiB); "
	       "connected: + in %lu (%lu with AUTH/TLS) + out %lu = %lu..%lu bytes; "
	       "+ %lu during AUTH\n",
	       (unsigned long)session, CONFIG_NR_MAX_SESSIONS,
	       (unsigned long)(session * CONFIG_NR_MAX_SESSIONS / 1024), (unsigned long)in_plain,
	       (unsigned long)in_auth, (unsigned long)out,
	       (unsigned long)(session + in_plain + out), (unsigned long)(session + in_auth + out),
	       (unsigned long)sizeof(struct smtpd_auth_creds));
	printf("session parts: recipients %lu + %d pointers, body staging %d, Message-ID "
	       "%lu, sender %lu\n",
	       (unsigned long)sizeof(((struct smtpd_session *)0)->rcpt_buf),
	       CONFIG_NR_MAX_RECIPIENTS, CONFIG_NR_BODY_CHUNK,
	       (unsigned long)sizeof(((struct smtpd_session *)0)->msgid_hdr),
	       (unsigned long)sizeof(((struct smtpd_session *)0)->sender));
	EXPECT_TRUE(session > 0);
	EXPECT_TRUE(in_auth >= in_plain);
}

/* What an idle relay reserves at start in the structures sized by Kconfig:
 * the session pool, the acl's tables, the queue index at its ceiling
 * (a small queue gets fewer entries: one per 48 bytes) and the DNS cache.
 * Strings of the configuration and the libraries' own state come on top. */
TEST(idle_relay)
{
	size_t pool = session_slot() * (CONFIG_NR_MAX_SESSIONS + CONFIG_NR_MAX_LOCAL_SESSIONS);
	size_t acl = (size_t)(CONFIG_NR_MAX_SESSIONS + 64) *
		     (sizeof(struct nr_acl_client) + sizeof(struct nr_acl_auth_rec));
	size_t ents = CONFIG_NR_QUEUE_MAX_MESSAGES;
	size_t index = (ents + ents / 4 + 1) * sizeof(struct qent);
	size_t dns = NR_ENABLED(CONFIG_NR_DNS_CARES) || NR_ENABLED(CONFIG_NR_DNS_STUB)
			 ? CONFIG_NR_DNS_CACHE_ENTRIES * sizeof(struct nr_dns_cache_entry)
			 : 0;
	size_t smtpd = sizeof(struct nr_smtpd);

	printf("idle relay: sessions %lu + local %d: pool %lu, acl %lu, smtpd %lu, queue index "
	       "%lu (%lu entries), dns cache %lu = %lu bytes (%lu KiB)\n",
	       (unsigned long)CONFIG_NR_MAX_SESSIONS, CONFIG_NR_MAX_LOCAL_SESSIONS,
	       (unsigned long)pool, (unsigned long)acl, (unsigned long)smtpd, (unsigned long)index,
	       (unsigned long)ents, (unsigned long)dns,
	       (unsigned long)(pool + acl + smtpd + index + dns),
	       (unsigned long)((pool + acl + smtpd + index + dns) / 1024));
	EXPECT_TRUE(pool > 0);
}

/* What the other Kconfig limits multiply (the figures in their help). */
TEST(limit_costs)
{
	printf("limits: recipient slot %lu bytes per session; listener %lu bytes; "
	       "DNS cache entry %lu bytes (%d addresses); DNS answer %lu bytes\n",
	       (unsigned long)sizeof(((struct smtpd_session *)0)->rcpt[0]),
	       (unsigned long)sizeof(struct smtpd_listener),
	       (unsigned long)sizeof(struct nr_dns_cache_entry), CONFIG_NR_DNS_MAX_ADDRS,
	       (unsigned long)sizeof(struct nr_dns_result));
	EXPECT_TRUE(sizeof(struct nr_dns_cache_entry) > 0);
}

int main(void)
{
	RUN(session_cost);
	RUN(idle_relay);
	RUN(limit_costs);
	return TEST_REPORT();
}
