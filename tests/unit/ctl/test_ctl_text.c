/* test_ctl_text.c - status and mailq output, byte for byte: escaping of
 * hostile strings in text and JSON, ages, the ceiling on output. */
#include "ctl/ctl_text.h"
#include "test.h"

static const char hostile[] = "a\"b\\c\x01\x1b[2J\r\nX-Forged: 1\t\x7f\xc3\xa9";

/* Every byte a JSON string may hold raw: printable ASCII only here. */
static int json_clean(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
			return 0;
	return 1;
}

TEST(json_string_escaping)
{
	struct nr_ctl_out o;

	nr_ctl_out_init(&o, 4096);
	nr_ctl_out_json_str(&o, hostile);
	EXPECT_STREQ(o.p,
		     "\"a\\\"b\\\\c\\u0001\\u001b[2J\\r\\nX-Forged: 1\\t\\u007f\\u00c3\\u00a9\"");
	EXPECT_TRUE(json_clean(o.p));
	nr_ctl_out_free(&o);
	nr_ctl_out_init(&o, 4096);
	nr_ctl_out_json_str(&o, NULL);
	EXPECT_STREQ(o.p, "\"\"");
	nr_ctl_out_free(&o);
}

TEST(text_escaping)
{
	struct nr_ctl_out o;

	nr_ctl_out_init(&o, 4096);
	nr_ctl_out_text(&o, hostile);
	EXPECT_STREQ(o.p, "a\"b\\x5cc\\x01\\x1b[2J\\x0d\\x0aX-Forged: 1\\x09\\x7f\\xc3\\xa9");
	EXPECT_TRUE(json_clean(o.p));
	nr_ctl_out_free(&o);
}

TEST(ages)
{
	char b[32];

	EXPECT_STREQ(nr_ctl_age(b, sizeof(b), 0), "0s");
	EXPECT_STREQ(nr_ctl_age(b, sizeof(b), 59), "59s");
	EXPECT_STREQ(nr_ctl_age(b, sizeof(b), 725), "12m05s");
	EXPECT_STREQ(nr_ctl_age(b, sizeof(b), 5 * 3600 + 120), "5h02m");
	EXPECT_STREQ(nr_ctl_age(b, sizeof(b), 3 * 86400 + 4 * 3600 + 7), "3d04h");
}

TEST(ceiling_truncates_never_overflows)
{
	struct nr_ctl_out o;
	int i;

	nr_ctl_out_init(&o, 100);
	for (i = 0; i < 50; i++)
		nr_ctl_out_printf(&o, "%s", "0123456789");
	EXPECT_EQ(o.len, 100u);
	EXPECT_TRUE(o.truncated);
	EXPECT_EQ(strlen(o.p), 100u);
	nr_ctl_out_printf(&o, "x");
	EXPECT_EQ(o.len, 100u);
	nr_ctl_out_note_cut(&o, "|cut");
	EXPECT_EQ(o.len, 104u);
	EXPECT_STREQ(o.p + 100, "|cut");
	nr_ctl_out_free(&o);
	/* A single piece longer than the small printf buffer. */
	nr_ctl_out_init(&o, 4096);
	nr_ctl_out_printf(&o, "%1500s|", "");
	EXPECT_EQ(o.len, 1501u);
	EXPECT_EQ(o.p[1500], '|');
	nr_ctl_out_note_cut(&o, "not cut: no note");
	EXPECT_EQ(o.len, 1501u);
	nr_ctl_out_free(&o);
}

static struct nr_ctl_status sample_status(struct nr_upstream_status *up)
{
	static const char *const listeners[] = {"127.0.0.1:25 plain", "[::1]:465 implicit"};
	struct nr_ctl_status st;

	memset(&st, 0, sizeof(st));
	st.version = "0.1.0";
	st.uptime_s = 3725;
	st.listeners = listeners;
	st.nlisteners = 2;
	st.control_socket = "/var/lib/nanorelay/control";
	st.q.backend = "file";
	st.q.persistent = 1;
	st.q.sector_size = 4096;
	st.q.sector_count = 16;
	st.q.erase_min = 1;
	st.q.erase_max = 3;
	st.q.capacity = 1000;
	st.q.used = 250;
	st.q.free = 750;
	st.q.messages = 2;
	st.q.oldest_arrival = 1000;
	st.now = 1125;
	memset(up, 0, 2 * sizeof(*up));
	strcpy(up[0].host, "smtp.gmail.com");
	up[0].port = 587;
	up[0].state = NR_UPSTREAM_AUTH_FAILED;
	up[0].failures = 1;
	up[0].retry_in_ms = 3600000;
	strcpy(up[0].last_error, "535 5.7.8 \"bad\" credentials\x1b");
	strcpy(up[1].host, "backup.example");
	up[1].port = 465;
	st.up = up;
	st.nup = 2;
	st.counters[NR_STAT_ACCEPTED] = 7;
	st.counters[NR_STAT_DELIVERED] = 5;
	st.counters[NR_STAT_REJECTED] = 1;
	return st;
}

TEST(status_text)
{
	struct nr_upstream_status up[2];
	struct nr_ctl_status st = sample_status(up);
	struct nr_ctl_out o;

	nr_ctl_out_init(&o, 65536);
	nr_ctl_format_status(&o, &st);
	EXPECT_STREQ(o.p,
		     "nanorelay 0.1.0, up 1h02m\n"
		     "listening:   127.0.0.1:25 plain\n"
		     "listening:   [::1]:465 implicit\n"
		     "control:     /var/lib/nanorelay/control\n"
		     "queue:       file, persistent (survives a power cut)\n"
		     "  sectors:   16 of 4096 bytes, erased 1 to 3 times\n"
		     "  capacity:  1000 bytes, used 250 (25%), free 750\n"
		     "  messages:  2 pending, 0 dead, oldest 2m05s\n"
		     "smarthost:   smtp.gmail.com:587 AUTH failed (held), 1 failure in a row, next "
		     "try in 1h00m, 0 connections open\n"
		     "  the smarthost refused the password: fix it, then run `nanorelay flush`\n"
		     "  last error: 535 5.7.8 \"bad\" credentials\\x1b\n"
		     "smarthost:   backup.example:465 ok, 0 connections open\n"
		     "counters:    accepted 7, delivered 5, deferred 0, failed 0, rejected 1, "
		     "auth_failed 0\n");
	nr_ctl_out_free(&o);
}

/* A file queue on tmpfs is not called persistent (it is lost at a power
 * cut); a RAM queue keeps its own words. */
TEST(status_text_not_persistent)
{
	struct nr_upstream_status up[2];
	struct nr_ctl_status st = sample_status(up);
	struct nr_ctl_out o;

	st.q.persistent = 0;
	nr_ctl_out_init(&o, 65536);
	nr_ctl_format_status(&o, &st);
	EXPECT_TRUE(strstr(o.p, "queue:       file, persistent: no (on tmpfs or ramfs: lost at a "
				"power cut or reboot)\n") != NULL);
	nr_ctl_out_free(&o);
	st.q.backend = "ram";
	nr_ctl_out_init(&o, 65536);
	nr_ctl_format_status(&o, &st);
	EXPECT_TRUE(strstr(o.p, "queue:       ram, in RAM (survives upstream outages, not a power "
				"cut)\n") != NULL);
	nr_ctl_out_free(&o);
}

TEST(status_json)
{
	struct nr_upstream_status up[2];
	struct nr_ctl_status st = sample_status(up);
	struct nr_ctl_out o;

	nr_ctl_out_init(&o, 65536);
	nr_ctl_format_status_json(&o, &st);
	EXPECT_STREQ(
	    o.p, "{\"version\":\"0.1.0\",\"uptime_s\":3725,\"listeners\":[\"127.0.0.1:25 "
		 "plain\",\"[::1]:465 implicit\"],\"control_socket\":\"/var/lib/nanorelay/"
		 "control\",\"queue\":{\"backend\":\"file\",\"persistent\":true,\"sectors\":16,"
		 "\"sector_size\":4096,\"erase_min\":1,\"erase_max\":3,\"capacity\":"
		 "1000,\"used\":250,\"free\":750,\"messages\":2,\"dead\":0,\"oldest_age_s\":125},"
		 "\"smarthosts\":[{\"host\":\"smtp.gmail.com\",\"port\":587,\"state\":\"auth_"
		 "failed\",\"connections\":0,\"failures\":1,\"retry_in_s\":3600,\"last_error\":"
		 "\"535 5.7.8 \\\"bad\\\" credentials\\u001b\",\"last_error_at\":null,"
		 "\"last_success_at\":null},{\"host\":\"backup.example\","
		 "\"port\":465,\"state\":\"ok\",\"connections\":0,\"failures\":0,\"retry_in_s\":"
		 "0,\"last_error\":\"\",\"last_error_at\":null,\"last_success_at\":null}],"
		 "\"last_error_at\":null,\"last_success_at\":null,"
		 "\"counters\":{\"accepted\":7,\"delivered\":5,"
		 "\"deferred\":0,\"failed\":0,\"rejected\":1,\"auth_failed\":0}}\n");
	EXPECT_TRUE(json_clean(o.p) || o.p[o.len - 1] == '\n');
	nr_ctl_out_free(&o);
}

static const char *const rcpts[] = {"ok@example.com", "x\x1b]0;pwned\x07@example.com",
				    "no@example.com"};
static const enum nr_rcpt_state rstates[] = {NR_RCPT_DELIVERED, NR_RCPT_PENDING, NR_RCPT_FAILED};

static const char *test_rcpt(void *arg, size_t i, enum nr_rcpt_state *st)
{
	(void)arg;
	*st = rstates[i];
	return rcpts[i];
}

TEST(mailq_layout)
{
	struct nr_ctl_out o;
	struct nr_ctl_msg m;

	memset(&m, 0, sizeof(m));
	m.id = 0x1a2b;
	m.age_s = 312;
	m.size = 4096;
	m.state = NR_MSG_PENDING;
	m.sender = "\"odd\\\"name\"@lan";
	m.nrcpt = 3;
	m.attempts = 2;
	m.last_error = "451 4.3.0 try\r\nlater";
	m.rcpt = test_rcpt;
	nr_ctl_out_init(&o, 65536);
	nr_ctl_format_mailq_head(&o);
	nr_ctl_format_mailq_entry(&o, &m);
	m.id = 0x1a2c;
	m.sender = "";
	m.state = NR_MSG_DEAD;
	m.nrcpt = 1;
	m.last_error = "";
	nr_ctl_format_mailq_entry(&o, &m);
	m.id = 0x1a2d;
	m.sender = "s@lan";
	m.state = NR_MSG_PENDING;
	m.inflight = 1;
	m.attempts = 0;
	nr_ctl_format_mailq_entry(&o, &m);
	nr_ctl_format_mailq_tail(&o, 8192, 2, 1);
	EXPECT_STREQ(o.p,
		     "-Queue ID-------- --Size-- --Age-- Tries -Sender/Recipient-------\n"
		     "0000000000001A2B      4096   5m12s     2  \"odd\\x5c\"name\"@lan\n"
		     "                                          (451 4.3.0 try\\x0d\\x0alater)\n"
		     "                                          ok@example.com (delivered)\n"
		     "                                          x\\x1b]0;pwned\\x07@example.com "
		     "(pending)\n"
		     "                                          no@example.com (bounced)\n"
		     "\n"
		     "0000000000001A2C!     4096   5m12s     2  <>  (dead: deleted or expired)\n"
		     "                                          ok@example.com (delivered)\n"
		     "\n"
		     "0000000000001A2D*     4096   5m12s     0  s@lan\n"
		     "                                          ok@example.com (delivered)\n"
		     "\n"
		     "-- 8 Kbytes in 2 Requests (and 1 dead, marked !, kept for inspection).\n");
	nr_ctl_out_free(&o);
	nr_ctl_out_init(&o, 100);
	nr_ctl_format_mailq_tail(&o, 0, 0, 0);
	EXPECT_STREQ(o.p, "Mail queue is empty\n");
	nr_ctl_out_free(&o);
}

/* When the last error and the last delivery happened, per smarthost and
 * overall (issue 21): text and JSON. */
TEST(status_times)
{
	struct nr_upstream_status up[2];
	struct nr_ctl_status st = sample_status(up);
	struct nr_ctl_out o;

	up[0].last_error_at = 1125 - 12;
	up[1].last_ok_at = 1125 - 182;
	up[1].last_error_at = 1125 - 3600;
	nr_ctl_out_init(&o, 65536);
	nr_ctl_format_status(&o, &st);
	EXPECT_TRUE(strstr(o.p, "  last error: 535 5.7.8 \"bad\" credentials\\x1b\n"
				"  last delivery never, last error 12s ago\n"
				"smarthost:   backup.example:465 ok, 0 connections open\n"
				"  last delivery 3m02s ago, last error 1h00m ago\n"
				"delivery:    last delivery 3m02s ago, last error 12s ago\n"
				"counters:") != NULL);
	nr_ctl_out_free(&o);
	nr_ctl_out_init(&o, 65536);
	nr_ctl_format_status_json(&o, &st);
	EXPECT_TRUE(strstr(o.p, "credentials\\u001b\",\"last_error_at\":1113,"
				"\"last_success_at\":null}") != NULL);
	EXPECT_TRUE(strstr(o.p,
			   "\"last_error_at\":-2475,\"last_success_at\":943}],"
			   "\"last_error_at\":1113,\"last_success_at\":943,\"counters\"") != NULL);
	EXPECT_TRUE(json_clean(o.p) || o.p[o.len - 1] == '\n');
	nr_ctl_out_free(&o);
}

/* mailq's reason and next try (issue 21). */
TEST(mailq_next_try)
{
	struct nr_ctl_out o;
	struct nr_ctl_msg m;

	memset(&m, 0, sizeof(m));
	m.id = 0x1a2b;
	m.age_s = 312;
	m.size = 4096;
	m.state = NR_MSG_PENDING;
	m.sender = "cam@lan";
	m.nrcpt = 1;
	m.attempts = 3;
	m.last_error = "connect to smtp.test[127.0.0.1]:2525: connection refused";
	m.has_next = 1;
	m.next_s = 185;
	m.rcpt = test_rcpt;
	nr_ctl_out_init(&o, 65536);
	nr_ctl_format_mailq_entry(&o, &m);
	m.id = 0x1a2c;
	m.last_error = "";
	m.attempts = 0;
	m.next_s = 0;
	m.since_start = 1;
	nr_ctl_format_mailq_entry(&o, &m);
	m.id = 0x1a2d;
	m.since_start = 0;
	nr_ctl_format_mailq_entry(&o, &m); /* new, not tried yet: nothing to say */
	EXPECT_STREQ(o.p, "0000000000001A2B      4096   5m12s     3  cam@lan\n"
			  "                                          (connect to "
			  "smtp.test[127.0.0.1]:2525: connection refused)\n"
			  "                                          next try in 3m05s\n"
			  "                                          ok@example.com (delivered)\n"
			  "\n"
			  "0000000000001A2C      4096   5m12s     0  cam@lan\n"
			  "                                          (no attempt since the daemon "
			  "started)\n"
			  "                                          next try now (as soon as a "
			  "smarthost takes it)\n"
			  "                                          ok@example.com (delivered)\n"
			  "\n"
			  "0000000000001A2D      4096   5m12s     0  cam@lan\n"
			  "                                          ok@example.com (delivered)\n"
			  "\n");
	nr_ctl_out_free(&o);
}

TEST(recent_outcomes)
{
	char t[64];
	int i;

	nr_stats_reset();
	EXPECT_EQ(nr_stats_find_outcome(7, t, sizeof(t)), 0);
	nr_stats_note_outcome(7, NR_OUTCOME_KIND_DELIVERED, "250 ok");
	nr_stats_note_outcome(8, NR_OUTCOME_KIND_FAILED, "550 no such user");
	EXPECT_EQ(nr_stats_find_outcome(7, t, sizeof(t)), NR_OUTCOME_KIND_DELIVERED);
	EXPECT_STREQ(t, "250 ok");
	EXPECT_EQ(nr_stats_find_outcome(8, t, 4), NR_OUTCOME_KIND_FAILED);
	EXPECT_STREQ(t, "550");
	for (i = 0; i < NR_STATS_RECENT; i++)
		nr_stats_note_outcome(100 + (uint64_t)i, NR_OUTCOME_KIND_DELIVERED, "x");
	strcpy(t, "stale");
	EXPECT_EQ(nr_stats_find_outcome(7, t, sizeof(t)), 0); /* pushed out */
	EXPECT_STREQ(t, "");
	nr_stats_inc(NR_STAT_ACCEPTED);
	nr_stats_inc(NR_STAT_COUNT); /* out of range: ignored */
	EXPECT_EQ(nr_stats_get(NR_STAT_ACCEPTED), 1u);
	EXPECT_STREQ(nr_stats_name(NR_STAT_AUTH_FAILED), "auth_failed");
}

int main(void)
{
	RUN(json_string_escaping);
	RUN(text_escaping);
	RUN(ages);
	RUN(ceiling_truncates_never_overflows);
	RUN(status_text);
	RUN(status_text_not_persistent);
	RUN(status_json);
	RUN(mailq_layout);
	RUN(mailq_next_try);
	RUN(status_times);
	RUN(recent_outcomes);
	return TEST_REPORT();
}
