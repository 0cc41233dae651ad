/* Unit tests of the delivery scheduler's pure logic. */
#include <stdint.h>

#include "delivery/delivery_sched.h"
#include "proto/proto.h"
#include "test.h"

TEST(backoff_doubles_and_caps)
{
	/* rnd 0: no jitter. */
	EXPECT_EQ(nr_dsched_backoff(60000, 3600000, 1, 0), 60000);
	EXPECT_EQ(nr_dsched_backoff(60000, 3600000, 2, 0), 120000);
	EXPECT_EQ(nr_dsched_backoff(60000, 3600000, 3, 0), 240000);
	EXPECT_EQ(nr_dsched_backoff(60000, 3600000, 7, 0), 3600000);
	EXPECT_EQ(nr_dsched_backoff(60000, 3600000, 1000, 0), 3600000);
	EXPECT_EQ(nr_dsched_backoff(60000, 3600000, 0xffffffffu, 0), 3600000);
	/* max below min: min wins. */
	EXPECT_EQ(nr_dsched_backoff(5000, 1000, 3, 0), 5000);
	EXPECT_TRUE(nr_dsched_backoff(0, 0, 1, 12345) >= 1);
}

TEST(backoff_jitter_bounds)
{
	uint32_t r;
	unsigned a;
	int saw_low = 0, saw_high = 0;

	for (a = 1; a < 12; a++) {
		for (r = 0; r < 5000; r++) {
			uint32_t rnd = r * 2654435761u;
			uint64_t base = nr_dsched_backoff(1000, 600000, a, 0);
			uint64_t v = nr_dsched_backoff(1000, 600000, a, rnd);
			EXPECT_TRUE(v <= base);
			EXPECT_TRUE(v >= base - base / 4);
			EXPECT_TRUE(v <= 600000);
			if (v < base - base / 8)
				saw_low = 1;
			if (v > base - base / 16)
				saw_high = 1;
		}
	}
	EXPECT_TRUE(saw_low);
	EXPECT_TRUE(saw_high);
}

TEST(failover_in_order)
{
	struct nr_dsched s;

	nr_dsched_init(&s, 3, 1000, 60000, 2);
	EXPECT_EQ(nr_dsched_pick_host(&s, 0), 0);
	nr_dsched_host_failed(&s, 0, 100, 0, "connect to smtp.a[1.2.3.4]:587: refused");
	EXPECT_EQ(s.host[0].state, NR_UPSTREAM_DEFERRING);
	EXPECT_EQ(nr_dsched_pick_host(&s, 100), 1);
	nr_dsched_host_failed(&s, 1, 100, 0, "dns");
	EXPECT_EQ(nr_dsched_pick_host(&s, 100), 2);
	nr_dsched_host_failed(&s, 2, 100, 0, "tls");
	EXPECT_EQ(nr_dsched_pick_host(&s, 100), -1);
	EXPECT_EQ(nr_dsched_host_wakeup(&s, 100), 1100);
	/* First host comes back first: it is preferred again. */
	EXPECT_EQ(nr_dsched_pick_host(&s, 1100), 0);
	/* Second failure of host 0 doubles its hold. */
	nr_dsched_host_failed(&s, 0, 1100, 0, "again");
	EXPECT_EQ(s.host[0].hold_until, 3100);
	EXPECT_EQ(nr_dsched_pick_host(&s, 1100), 1);
	nr_dsched_host_ok(&s, 0);
	EXPECT_EQ(s.host[0].state, NR_UPSTREAM_OK);
	EXPECT_EQ(s.host[0].failures, 0);
	EXPECT_EQ(nr_dsched_pick_host(&s, 1100), 0);
	EXPECT_STREQ(s.host[0].last_error, "again");
}

TEST(busy_host_does_not_spill_over)
{
	struct nr_dsched s;

	nr_dsched_init(&s, 2, 1000, 60000, 2);
	s.host[0].connections = 2;
	EXPECT_EQ(nr_dsched_pick_host(&s, 0), -1);
	s.host[0].connections = 1;
	EXPECT_EQ(nr_dsched_pick_host(&s, 0), 0);
	/* The bound is capped by Kconfig. */
	nr_dsched_init(&s, 1, 1000, 60000, 100000);
	EXPECT_EQ(s.max_connections, CONFIG_NR_MAX_UPSTREAM_CONNECTIONS);
	nr_dsched_init(&s, 100, 1000, 60000, 1);
	EXPECT_EQ(s.nhosts, CONFIG_NR_MAX_SMARTHOSTS);
}

TEST(auth_hold)
{
	struct nr_dsched s;

	nr_dsched_init(&s, 2, 1000, 60000, 1);
	nr_dsched_host_auth_failed(&s, 0, 5000, "535 5.7.8 bad\r\ncredentials");
	EXPECT_EQ(s.host[0].state, NR_UPSTREAM_AUTH_FAILED);
	EXPECT_EQ(s.host[0].hold_until, 5000 + NR_DELIVERY_AUTH_HOLD_MS);
	/* Control bytes from the peer never reach status or the log. */
	EXPECT_STREQ(s.host[0].last_error, "535 5.7.8 bad??credentials");
	EXPECT_EQ(nr_dsched_pick_host(&s, 5000 + NR_DELIVERY_AUTH_HOLD_MS - 1), 1);
	s.nhosts = 1;
	EXPECT_EQ(nr_dsched_pick_host(&s, 5000 + NR_DELIVERY_AUTH_HOLD_MS - 1), -1);
	EXPECT_EQ(nr_dsched_pick_host(&s, 5000 + NR_DELIVERY_AUTH_HOLD_MS), 0);
}

TEST(classify)
{
	EXPECT_EQ(nr_dsched_classify(250), NR_OUTCOME_DELIVERED);
	EXPECT_EQ(nr_dsched_classify(251), NR_OUTCOME_DELIVERED);
	EXPECT_EQ(nr_dsched_classify(450), NR_OUTCOME_DEFERRED);
	EXPECT_EQ(nr_dsched_classify(452), NR_OUTCOME_DEFERRED);
	EXPECT_EQ(nr_dsched_classify(550), NR_OUTCOME_FAILED);
	EXPECT_EQ(nr_dsched_classify(554), NR_OUTCOME_FAILED);
	EXPECT_EQ(nr_dsched_classify(0), NR_OUTCOME_DEFERRED);   /* timeout/disconnect */
	EXPECT_EQ(nr_dsched_classify(354), NR_OUTCOME_DEFERRED); /* nonsense here */
	EXPECT_EQ(nr_dsched_classify(999), NR_OUTCOME_DEFERRED);
}

TEST(status_line)
{
	char b[512];
	struct nr_dsched_status st = {"00000000000000a1",
				      "bob@example.com",
				      NULL,
				      "smtp.example.com[192.0.2.1]:587",
				      3,
				      NULL,
				      NR_OUTCOME_DELIVERED,
				      250,
				      "250 2.0.0 Ok: queued as ABC"};

	nr_dsched_format_status(b, sizeof(b), &st);
	EXPECT_STREQ(b, "00000000000000a1: to=<bob@example.com>, relay=smtp.example.com"
			"[192.0.2.1]:587, delay=3, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as "
			"ABC)");
	st.orig_to = "root";
	st.delays = "0/1.2/0.3/0.1";
	nr_dsched_format_status(b, sizeof(b), &st);
	EXPECT_TRUE(strstr(b, ": to=<bob@example.com>, orig_to=<root>, relay=smtp.example.com"
			      "[192.0.2.1]:587, delay=3, delays=0/1.2/0.3/0.1, dsn=2.0.0, "
			      "status=sent (") != NULL);
	st.orig_to = "bob@example.com"; /* not rewritten: not shown */
	nr_dsched_format_status(b, sizeof(b), &st);
	EXPECT_TRUE(strstr(b, "orig_to") == NULL);

	struct nr_dsched_status d = {
	    "1", "x\r\ny", NULL, NULL, 0, NULL, NR_OUTCOME_DEFERRED, 0, "connect to x timed out"};
	nr_dsched_format_status(b, sizeof(b), &d);
	EXPECT_STREQ(b, "1: to=<x??y>, relay=none, delay=0, dsn=4.4.2, status=deferred (connect "
			"to x timed out)");
	struct nr_dsched_status f = {"1", "a@b",   NULL, NULL, 0, NULL, NR_OUTCOME_FAILED,
				     550, "550 no"};
	nr_dsched_format_status(b, sizeof(b), &f);
	EXPECT_TRUE(strstr(b, "dsn=5.0.0, status=bounced (550 no)") != NULL);
}

TEST(dsn_from_reply)
{
	char d[16];

	EXPECT_STREQ(nr_dsched_dsn(d, sizeof(d), 550, "host x said: 550 5.1.1 <a@b>: unknown"),
		     "5.1.1");
	EXPECT_STREQ(nr_dsched_dsn(d, sizeof(d), 451, "451 4.3.0 Error"), "4.3.0");
	EXPECT_STREQ(nr_dsched_dsn(d, sizeof(d), 250, "250 Ok v2.10.3"), "2.0.0");
	EXPECT_STREQ(nr_dsched_dsn(d, sizeof(d), 452, "452 4.5.3)"), "4.5.3");
	EXPECT_STREQ(nr_dsched_dsn(d, sizeof(d), 554, "554 5.7.1234 x"), "5.0.0");
	EXPECT_STREQ(nr_dsched_dsn(d, sizeof(d), 0, "connect refused"), "4.4.1");
	EXPECT_STREQ(nr_dsched_dsn(d, sizeof(d), 0, "lost connection with x"), "4.4.2");
	EXPECT_STREQ(nr_dsched_dsn(d, sizeof(d), 0, NULL), "4.4.1");
}

TEST(digest_once_per_interval_and_never_for_null_sender)
{
	static struct nr_dsched_digest d;
	static char msg[8192];
	long n;

	nr_dsched_digest_init(&d, 900000);
	EXPECT_EQ(nr_dsched_digest_due(&d, 0), 0);
	EXPECT_EQ(nr_dsched_digest_wakeup(&d), UINT64_MAX);
	/* A report or bounce (null sender) is never reported. */
	EXPECT_EQ(nr_dsched_digest_add(&d, "01", "", "admin@x", "550 no"), 0);
	EXPECT_EQ(nr_dsched_digest_add(&d, "01", NULL, "admin@x", "550 no"), 0);
	EXPECT_EQ(nr_dsched_digest_due(&d, 0), 0);

	EXPECT_EQ(nr_dsched_digest_add(&d, "02", "cam@lan", "a@x", "550 5.1.1 unknown"), 1);
	EXPECT_EQ(nr_dsched_digest_add(&d, "03", "ups@lan", "b@x", "expired after 5d"), 1);
	EXPECT_EQ(nr_dsched_digest_due(&d, 10), 1);
	n = nr_dsched_digest_render(&d, msg, sizeof(msg), "nas.lan", NULL, "admin@example.com",
				    "Mon, 01 Jan 2024 00:00:00 +0000", 0xabc);
	ASSERT_TRUE(n > 0);
	EXPECT_EQ((size_t)n, strlen(msg));
	EXPECT_TRUE(strstr(msg, "To: <admin@example.com>\r\n") != NULL);
	EXPECT_TRUE(strstr(msg, "Subject: nanorelay on nas.lan: 2 messages") != NULL);
	EXPECT_TRUE(strstr(msg, " 02 from=<cam@lan> to=<a@x>\r\n    550 5.1.1 unknown\r\n") !=
		    NULL);
	EXPECT_TRUE(strstr(msg, "expired after 5d") != NULL);
	/* Without an account: the null sender's traditional From. */
	EXPECT_TRUE(strstr(msg, "From: Mail Delivery System <MAILER-DAEMON@nas.lan>\r\n") == msg);
	EXPECT_TRUE(strstr(msg, "Auto-Submitted: auto-generated\r\n") != NULL);
	EXPECT_TRUE(strstr(msg, "Refused messages have left the queue. Expired ones stay") != NULL);
	/* Canonical: no bare LF or CR. */
	{
		long i;
		for (i = 0; i < n; i++) {
			if (msg[i] == '\n')
				EXPECT_TRUE(i > 0 && msg[i - 1] == '\r');
			if (msg[i] == '\r')
				EXPECT_TRUE(msg[i + 1] == '\n');
		}
	}
	nr_dsched_digest_sent(&d, 10);
	EXPECT_EQ(nr_dsched_digest_due(&d, 10), 0);

	/* More failures within the interval wait for it: no storm. */
	EXPECT_EQ(nr_dsched_digest_add(&d, "04", "cam@lan", "c@x", "550"), 1);
	EXPECT_EQ(nr_dsched_digest_due(&d, 11), 0);
	EXPECT_EQ(nr_dsched_digest_due(&d, 900009), 0);
	EXPECT_EQ(nr_dsched_digest_wakeup(&d), 900010);
	EXPECT_EQ(nr_dsched_digest_due(&d, 900010), 1);
}

/* Microsoft 365 and Gmail take the digest only when its From is the
 * account the relay logs in as (issue 19). */
TEST(digest_from_the_account)
{
	static struct nr_dsched_digest d;
	static char msg[8192];
	const char *body;
	long n;

	nr_dsched_digest_init(&d, 1000);
	EXPECT_EQ(nr_dsched_digest_add(&d, "05", "printer@lan", "a@x",
				       "host smtp.office365.com said: 554 5.2.252 SendAsDenied"),
		  1);
	n = nr_dsched_digest_render(&d, msg, sizeof(msg), "nas.lan", "scanner@contoso.com",
				    "admin@contoso.com", "Mon, 01 Jan 2024 00:00:00 +0000", 7);
	ASSERT_TRUE(n > 0);
	body = strstr(msg, "\r\n\r\n");
	ASSERT_TRUE(body != NULL);
	/* The header block, byte for byte. */
	EXPECT_TRUE(strncmp(msg,
			    "From: \"nanorelay on nas.lan\" <scanner@contoso.com>\r\n"
			    "To: <admin@contoso.com>\r\n"
			    "Subject: nanorelay on nas.lan: 1 message could not be delivered\r\n"
			    "Date: Mon, 01 Jan 2024 00:00:00 +0000\r\n"
			    "Message-ID: <digest.00000007@nas.lan>\r\n"
			    "Auto-Submitted: auto-generated\r\n"
			    "MIME-Version: 1.0\r\n"
			    "Content-Type: text/plain; charset=us-ascii\r\n\r\n",
			    (size_t)(body - msg) + 4) == 0);
	EXPECT_TRUE(strstr(msg, "MAILER-DAEMON") == NULL);
	/* The reason as the log and `status` give it. */
	EXPECT_TRUE(strstr(body, " 05 from=<printer@lan> to=<a@x>\r\n    host smtp.office365.com "
				 "said: 554 5.2.252 SendAsDenied\r\n") != NULL);
}

TEST(digest_bounded)
{
	static struct nr_dsched_digest d;
	static char msg[16384];
	char id[8];
	int i;

	nr_dsched_digest_init(&d, 1000);
	for (i = 0; i < NR_DELIVERY_DIGEST_MAX + 10; i++) {
		snprintf(id, sizeof(id), "%d", i);
		EXPECT_EQ(nr_dsched_digest_add(&d, id, "s@x", "r@x", "550"), 1);
	}
	EXPECT_EQ(d.count, NR_DELIVERY_DIGEST_MAX);
	EXPECT_EQ(d.dropped, 10);
	ASSERT_TRUE(nr_dsched_digest_render(&d, msg, sizeof(msg), "h", "", "a@x", "date", 1) > 0);
	EXPECT_TRUE(strstr(msg, "and 10 more") != NULL);
	EXPECT_EQ(nr_dsched_digest_render(&d, msg, 100, "h", "", "a@x", "date", 1), NR_EFULL);
}

int main(void)
{
	RUN(backoff_doubles_and_caps);
	RUN(backoff_jitter_bounds);
	RUN(failover_in_order);
	RUN(busy_host_does_not_spill_over);
	RUN(auth_hold);
	RUN(classify);
	RUN(status_line);
	RUN(dsn_from_reply);
	RUN(digest_once_per_interval_and_never_for_null_sender);
	RUN(digest_from_the_account);
	RUN(digest_bounded);
	return TEST_REPORT();
}
