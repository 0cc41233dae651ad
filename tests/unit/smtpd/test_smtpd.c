/* test_smtpd.c - SMTP dialogues as data ({client bytes, exact reply}) over
 * the simulated sockets, with the real queue on the RAM backend. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf.h"
#include "core/build.h"
#include "core/conn.h"
#include "core/loop.h"
#include "core/mem.h"
#include "proto/base64.h"
#include "queue/queue.h"
#include "sim.h"
#include "smtpd/smtpd.h"
#include "store/store.h"
#include "test.h"

static struct nr_loop *loop;
static struct nr_bdev rb;
static struct nr_queue *q;
static struct nr_conf conf;
static struct nr_smtpd *d;

/* The build's options (Kconfig; tests/configs.sh builds without each): a
 * case that needs one compiled out checks its absence or steps aside
 * (TEST_NEEDS). The expected bytes below follow them, so they are chosen here. */
#define HAS_PLAIN NR_ENABLED(CONFIG_NR_AUTH_PLAIN)
#define HAS_LOGIN NR_ENABLED(CONFIG_NR_AUTH_LOGIN)
#define HAS_AUTH (HAS_PLAIN || HAS_LOGIN)

#if NR_ENABLED(CONFIG_NR_LAN_TLS)
#define STARTTLS_OPT " tls=starttls"
#else
#define STARTTLS_OPT "" /* a tls= listener is refused by conf */
#endif

#define BASE_CONF                                                                                  \
	"listen 127.0.0.1:25\nlisten 127.0.0.1:587" STARTTLS_OPT " auth=optional\n"                \
	"allow 127.0.0.0/8 192.168.1.0/24\nhostname test.lan\nmax_message_size 10000\n"            \
	"max_errors 10\nmax_received 3\ncommand_timeout 60s\n"                                     \
	"min_data_rate 100\nmax_sessions_per_client 2\nmax_sessions 4\n"

static const char *base_conf = BASE_CONF;
static char setup_err[256]; /* why the config was refused */

static int setup_q(const char *extra, uint64_t qsize)
{
	char text[2048];
	sim_reset();
	if (nr_loop_new(&loop, 64, 64) < 0)
		return -1;
	if (nr_store_ram_open(&rb, qsize, 4096) < 0 || nr_queue_open(&q, &rb, loop) < 0)
		return -1;
	snprintf(text, sizeof(text), "%s%s", base_conf, extra ? extra : "");
	nr_conf_init(&conf);
	if (nr_conf_parse(&conf, "test.conf", text, strlen(text), setup_err, sizeof(setup_err)) <
	    0) {
		fprintf(stderr, "conf: %s\n", setup_err);
		/* undone, so that a case may expect the refusal and go on */
		nr_conf_free(&conf);
		nr_queue_close(q);
		rb.close(&rb);
		nr_loop_free(loop);
		return -1;
	}
	if (nr_smtpd_start(&d, loop, &conf, q, NULL) < 0)
		return -1;
	return 0;
}

static int setup(const char *extra)
{
	return setup_q(extra, 256 * 1024);
}

static void teardown(void)
{
	nr_smtpd_stop(d);
	nr_queue_close(q);
	rb.close(&rb);
	nr_conf_free(&conf);
	nr_loop_free(loop);
	EXPECT_EQ(sim_open_sockets(), 0);
}

static void spin(void)
{
	for (int i = 0; i < 40; i++)
		nr_loop_turn(loop, 0);
}

static struct sim_peer *connect_from(const char *listener, const char *peer)
{
	struct sim_peer *p = sim_incoming(sim_listener(listener), peer);
	spin();
	return p;
}

/* '#' in want matches one hex digit (queue ids). */
static int match(const char *got, const char *want)
{
	for (; *want; want++, got++) {
		if (*want == '#') {
			if (!((*got >= '0' && *got <= '9') || (*got >= 'a' && *got <= 'f')))
				return 0;
		} else if (*got != *want) {
			return 0;
		}
	}
	return *got == '\0';
}

struct step {
	const char *send;
	const char *want;
};

#define GREETING "220 test.lan ESMTP nanorelay\r\n"
#define EHLO_REPLY                                                                                 \
	"250-test.lan\r\n250-PIPELINING\r\n250-SIZE 10000\r\n250-8BITMIME\r\n"                     \
	"250 ENHANCEDSTATUSCODES\r\n"
#define QUEUED "250 2.0.0 Ok: queued as ################\r\n"

/* EHLO on a listener that offers AUTH: the build's mechanisms (none: no
 * AUTH line). */
#if HAS_PLAIN && HAS_LOGIN
#define AUTH_LINE "250 AUTH PLAIN LOGIN\r\n"
#elif HAS_PLAIN
#define AUTH_LINE "250 AUTH PLAIN\r\n"
#elif HAS_LOGIN
#define AUTH_LINE "250 AUTH LOGIN\r\n"
#endif
#define EHLO_HEAD "250-test.lan\r\n250-PIPELINING\r\n250-SIZE 10000\r\n250-8BITMIME\r\n"
#if HAS_AUTH
#define EHLO_AUTH EHLO_HEAD "250-ENHANCEDSTATUSCODES\r\n" AUTH_LINE
#define EHLO_STARTTLS_AUTH EHLO_HEAD "250-ENHANCEDSTATUSCODES\r\n250-STARTTLS\r\n" AUTH_LINE
#else
#define EHLO_AUTH EHLO_REPLY
#define EHLO_STARTTLS_AUTH EHLO_HEAD "250-ENHANCEDSTATUSCODES\r\n250 STARTTLS\r\n"
#endif
#define NO_AUTH "503 5.5.1 Error: authentication not enabled\r\n"

static void dialogue_len(struct sim_peer *p, const struct step *steps, size_t n, int line)
{
	for (size_t i = 0; i < n; i++) {
		if (steps[i].send)
			sim_peer_send_str(p, steps[i].send);
		spin();
		const char *got = sim_peer_output_str(p);
		if (!match(got, steps[i].want))
			NR_TEST_FAIL_("line %d step %zu: sent [%s]\n   got [%s]\n  want [%s]", line,
				      i, steps[i].send ? steps[i].send : "", got, steps[i].want);
		sim_peer_output_clear(p);
	}
}
#define DIALOGUE(p, steps) dialogue_len(p, steps, NR_ARRAY_LEN(steps), __LINE__)

static size_t queued(void)
{
	struct nr_qstats st;
	nr_queue_stats(q, &st);
	return st.messages;
}

/* Body of the oldest queued message (NUL-terminated) into buf. */
static const char *first_body(char *buf, size_t size)
{
	nr_qid_t id;
	struct nr_qreader *r;
	size_t n = 0;
	buf[0] = '\0';
	if (nr_queue_next_due(q, UINT64_MAX, &id) < 0 || nr_queue_read_open(q, id, &r) < 0)
		return buf;
	long got;
	while ((got = nr_qreader_read(r, buf + n, size - 1 - n)) > 0)
		n += (size_t)got;
	nr_qreader_close(r);
	buf[n] = '\0';
	return buf;
}

TEST(basic_message)
{
	ASSERT_EQ(setup(NULL), 0);
	struct sim_peer *p = connect_from("127.0.0.1:25", "127.0.0.1:4000");
	const struct step steps[] = {
	    {NULL, GREETING},
	    {"EHLO printer\r\n", EHLO_REPLY},
	    {"MAIL FROM:<scan@printer.lan> SIZE=100\r\n", "250 2.1.0 Ok\r\n"},
	    {"RCPT TO:<admin@example.com>\r\n", "250 2.1.5 Ok\r\n"},
	    {"DATA\r\n", "354 End data with <CR><LF>.<CR><LF>\r\n"},
	    {"Subject: hi\r\n\r\nbody\r\n..dot\r\n", ""},
	    {".\r\n", QUEUED},
	    {"QUIT\r\n", "221 2.0.0 Bye\r\n"},
	};
	DIALOGUE(p, steps);
	EXPECT_TRUE(sim_peer_closed_by_core(p));
	EXPECT_EQ(queued(), 1);
	static char body[4096];
	first_body(body, sizeof(body));
	if (!match(body, "Received: from printer ([127.0.0.1])\r\n\tby test.lan (nanorelay) with "
			 "ESMTP\r\n\tfor <admin@example.com>;\r\n\tTue, 14 Nov 2023 22:13:20 "
			 "+0000\r\nSubject: hi\r\nDate: Tue, 14 Nov 2023 22:13:20 +0000\r\n"
			 "Message-ID: <1700000000.################@test.lan>\r\n\r\nbody\r\n"
			 ".dot\r\n"))
		NR_TEST_FAIL_("stored: [%s]", body);
	nr_qid_t id;
	ASSERT_EQ(nr_queue_next_due(q, UINT64_MAX, &id), 0);
	EXPECT_STREQ(nr_queue_sender(q, id), "scan@printer.lan");
	EXPECT_STREQ(nr_queue_rcpt(q, id, 0, NULL), "admin@example.com");
	teardown();
}

static int collect_flags(void *arg, const struct nr_qinfo *info)
{
	char *out = arg;
	size_t n = strlen(out);
	out[n] = (info->flags & NR_QENV_8BIT) ? '8' : '7';
	out[n + 1] = '\0';
	return 0;
}

/* The content decides whether a message is 8-bit: an old printer sends
 * 8-bit bytes without BODY=8BITMIME, and delivery must still declare them
 * (or refuse a smarthost without 8BITMIME). A declaration is kept. */
TEST(eightbit_is_decided_by_the_content)
{
	ASSERT_EQ(setup(NULL), 0);
	struct sim_peer *p = connect_from("127.0.0.1:25", "127.0.0.1:4000");
	const struct step steps[] = {
	    {NULL, GREETING},
	    {"EHLO printer\r\n", EHLO_REPLY},
	    {"MAIL FROM:<a@lan>\r\nRCPT TO:<r@example.com>\r\nDATA\r\n",
	     "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 End data with <CR><LF>.<CR><LF>\r\n"},
	    {"Subject: plain\r\n\r\nseven bits\r\n.\r\n", QUEUED},
	    {"MAIL FROM:<a@lan>\r\nRCPT TO:<r@example.com>\r\nDATA\r\n",
	     "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 End data with <CR><LF>.<CR><LF>\r\n"},
	    {"Subject: scan\r\n\r\ncaf\xc3\xa9 undeclared\r\n.\r\n", QUEUED},
	    {"MAIL FROM:<a@lan> BODY=8BITMIME\r\nRCPT TO:<r@example.com>\r\nDATA\r\n",
	     "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 End data with <CR><LF>.<CR><LF>\r\n"},
	    {"Subject: declared\r\n\r\nseven bits\r\n.\r\n", QUEUED},
	};
	DIALOGUE(p, steps);
	char kinds[8] = "";
	ASSERT_EQ(nr_queue_foreach(q, collect_flags, kinds), 0);
	EXPECT_STREQ(kinds, "788");
	teardown();
}

TEST(commands_out_of_order)
{
	ASSERT_EQ(setup(NULL), 0);
	struct sim_peer *p = connect_from("127.0.0.1:25", "127.0.0.1:4000");
	const struct step steps[] = {
	    {NULL, GREETING},
	    {"MAIL FROM:<a@b>\r\n", "503 5.5.1 Error: send HELO/EHLO first\r\n"},
	    {"RCPT TO:<a@b>\r\n", "503 5.5.1 Error: send HELO/EHLO first\r\n"},
	    {"DATA\r\n", "503 5.5.1 Error: send HELO/EHLO first\r\n"},
	    {"HELO\r\n", "501 5.5.4 Syntax: HELO/EHLO hostname\r\n"},
	    {"HELO x\r\n", "250 test.lan\r\n"},
	    {"RCPT TO:<a@b>\r\n", "503 5.5.1 Error: need MAIL command\r\n"},
	    {"DATA\r\n", "503 5.5.1 Error: need RCPT command\r\n"},
	    {"MAIL FROM:<a@b>\r\n", "250 2.1.0 Ok\r\n"},
	    {"MAIL FROM:<a@b>\r\n", "503 5.5.1 Error: nested MAIL command\r\n"},
	};
	DIALOGUE(p, steps);
	teardown();
}

TEST(misc_commands)
{
	ASSERT_EQ(setup(NULL), 0);
	struct sim_peer *p = connect_from("127.0.0.1:25", "127.0.0.1:4000");
	const struct step steps[] = {
	    {NULL, GREETING},
	    {"NOOP\r\n", "250 2.0.0 Ok\r\n"},
	    {"vrfy root\r\n", "252 2.0.0 Cannot VRFY user, but will accept message\r\n"},
	    {"HELP\r\n", "214-2.0.0 Commands: EHLO HELO MAIL RCPT DATA RSET NOOP QUIT HELP VRFY "
			 "STARTTLS AUTH\r\n214 2.0.0 nanorelay " NR_VERSION "\r\n"},
	    {"RSET\r\n", "250 2.0.0 Ok\r\n"},
	    {"FOO\r\n", "500 5.5.2 Error: command not recognized\r\n"},
	    {"STARTTLS\r\n", "502 5.5.1 Error: command not implemented\r\n"},
	    {"AUTH PLAIN\r\n", "503 5.5.1 Error: authentication not enabled\r\n"},
	    {"EHLO x\r\n", EHLO_REPLY},
	    {"MAIL FROM:<a@b> FOO=BAR\r\n", "555 5.5.4 Unsupported option\r\n"},
	    {"MAIL FROM:<a@b> SIZE=10001\r\n", "552 5.3.4 Message size exceeds fixed limit\r\n"},
	    {"MAIL FROM:<@x,@y:a@b>\r\n", "501 5.1.7 Bad sender address syntax\r\n"},
	    {"MAIL FROM:<a@b> SIZE=10000\r\n", "250 2.1.0 Ok\r\n"},
	    {"RCPT TO:<>\r\n", "501 5.1.3 Bad recipient address syntax\r\n"},
	    {"RCPT TO:<x@y> NOTIFY=NEVER\r\n", "555 5.5.4 Unsupported option\r\n"},
	    {"DATA\r\n", "554 5.5.1 Error: no valid recipients\r\n"},
	};
	DIALOGUE(p, steps);
	teardown();
}

TEST(pipelined_group_and_rset_and_helo_mid_transaction)
{
	ASSERT_EQ(setup(NULL), 0);
	struct sim_peer *p = connect_from("127.0.0.1:25", "127.0.0.1:4000");
	const struct step steps[] = {
	    {NULL, GREETING},
	    {"EHLO a\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nRCPT TO:<bad>>\r\nDATA\r\n",
	     EHLO_REPLY "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n501 5.1.3 Bad recipient address "
			"syntax\r\n354 End data with <CR><LF>.<CR><LF>\r\n"},
	    {"x: y\r\n\r\nz\r\n.\r\nMAIL FROM:<e@f>\r\nRSET\r\nRCPT TO:<c@d>\r\nNOOP\r\n",
	     QUEUED "250 2.1.0 Ok\r\n250 2.0.0 Ok\r\n503 5.5.1 Error: need MAIL command\r\n"
		    "250 2.0.0 Ok\r\n"},
	    {"MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nHELO again\r\nRCPT TO:<c@d>\r\n",
	     "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n250 test.lan\r\n503 5.5.1 Error: need MAIL "
	     "command\r\n"},
	    {"MAIL FROM:<a@b>\r\nEHLO again\r\nDATA\r\n",
	     "250 2.1.0 Ok\r\n" EHLO_REPLY "503 5.5.1 Error: need RCPT command\r\n"},
	};
	DIALOGUE(p, steps);
	EXPECT_EQ(queued(), 1);
	teardown();
}

TEST(relay_denied_for_other_networks)
{
	ASSERT_EQ(setup(NULL), 0);
	struct sim_peer *p = connect_from("127.0.0.1:25", "10.9.9.9:4000");
	const struct step steps[] = {
	    {NULL, GREETING},
	    {"HELO x\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\n",
	     "250 test.lan\r\n250 2.1.0 Ok\r\n554 5.7.1 <c@d>: Relay access denied\r\n"},
	};
	DIALOGUE(p, steps);
	EXPECT_TRUE(sim_log_find("Relay access denied") >= 0);
	teardown();
	/* IPv4-mapped IPv6 is classified as IPv4 */
	if (!NR_ENABLED(CONFIG_NR_IPV6)) {
		/* no IPv6 peer can reach a build without it: its listener is refused */
		EXPECT_EQ(setup("listen [::1]:25\n"), -1);
		EXPECT_TRUE(strstr(setup_err, "IPv6 is not in this build (CONFIG_NR_IPV6)") !=
			    NULL);
		return;
	}
	ASSERT_EQ(setup("listen [::1]:25\n"), 0);
	p = connect_from("[::1]:25", "[::ffff:c0a8:107]:4000");
	const struct step ok[] = {
	    {NULL, GREETING},
	    {"HELO x\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\n",
	     "250 test.lan\r\n250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n"},
	};
	DIALOGUE(p, ok);
	teardown();
}

TEST(recipient_limit_at_and_past)
{
	ASSERT_EQ(setup(NULL), 0);
	struct sim_peer *p = connect_from("127.0.0.1:25", "127.0.0.1:4000");
	static char cmds[8192], want[8192];
	size_t c = 0, w = 0;
	c += (size_t)snprintf(cmds + c, sizeof(cmds) - c, "HELO x\r\nMAIL FROM:<a@b>\r\n");
	w += (size_t)snprintf(want + w, sizeof(want) - w, "250 test.lan\r\n250 2.1.0 Ok\r\n");
	for (int i = 1; i <= 101; i++) {
		c += (size_t)snprintf(cmds + c, sizeof(cmds) - c, "RCPT TO:<r%d@d>\r\n", i);
		w += (size_t)snprintf(want + w, sizeof(want) - w, "%s",
				      i <= 100 ? "250 2.1.5 Ok\r\n"
					       : "452 4.5.3 Error: too many recipients\r\n");
	}
	const struct step steps[] = {
	    {NULL, GREETING},
	    {cmds, want},
	    {"DATA\r\n", "354 End data with <CR><LF>.<CR><LF>\r\n"},
	    {"\r\n.\r\n", QUEUED},
	};
	DIALOGUE(p, steps);
	nr_qid_t id;
	struct nr_qinfo info;
	ASSERT_EQ(nr_queue_next_due(q, UINT64_MAX, &id), 0);
	ASSERT_EQ(nr_queue_info(q, id, &info), 0);
	EXPECT_EQ(info.nrcpt, 100);
	EXPECT_STREQ(nr_queue_rcpt(q, id, 99, NULL), "r100@d");
	teardown();
}

/* Past max_recipients every RCPT gets 452; past max_recipient_overshoot more
 * each also counts as an error, so a flood of RCPTs ends at max_errors. */
TEST(recipient_overshoot_ends_in_error_limit)
{
	ASSERT_EQ(setup("max_recipient_overshoot 5\n"), 0);
	struct sim_peer *p = connect_from("127.0.0.1:25", "127.0.0.1:4000");
	static char cmds[16384], want[16384];
	size_t c = 0, w = 0;
	c += (size_t)snprintf(cmds + c, sizeof(cmds) - c, "HELO x\r\nMAIL FROM:<a@b>\r\n");
	w += (size_t)snprintf(want + w, sizeof(want) - w, "250 test.lan\r\n250 2.1.0 Ok\r\n");
	/* 100 accepted, 5 free refusals, then 10 counted: the 10th is max_errors */
	for (int i = 1; i <= 200; i++)
		c += (size_t)snprintf(cmds + c, sizeof(cmds) - c, "RCPT TO:<r%d@d>\r\n", i);
	for (int i = 1; i <= 115; i++)
		w += (size_t)snprintf(want + w, sizeof(want) - w, "%s",
				      i <= 100 ? "250 2.1.5 Ok\r\n"
					       : "452 4.5.3 Error: too many recipients\r\n");
	snprintf(want + w, sizeof(want) - w, "421 4.7.0 test.lan Error: too many errors\r\n");
	const struct step steps[] = {{NULL, GREETING}, {cmds, want}};
	DIALOGUE(p, steps);
	EXPECT_TRUE(sim_peer_closed_by_core(p));
	EXPECT_EQ(queued(), 0);
	teardown();
}

/* A new transaction starts the overshoot count again: five transactions of
 * three refusals each stay free (together they would pass max_errors). */
TEST(recipient_overshoot_is_per_transaction)
{
	ASSERT_EQ(setup("max_recipient_overshoot 3\n"), 0);
	struct sim_peer *p = connect_from("127.0.0.1:25", "127.0.0.1:4000");
	static char cmds[32768], want[32768];
	size_t c = 0, w = 0;
	c += (size_t)snprintf(cmds + c, sizeof(cmds) - c, "HELO x\r\n");
	w += (size_t)snprintf(want + w, sizeof(want) - w, "250 test.lan\r\n");
	for (int t = 0; t < 5; t++) {
		c += (size_t)snprintf(cmds + c, sizeof(cmds) - c, "MAIL FROM:<a@b>\r\n");
		w += (size_t)snprintf(want + w, sizeof(want) - w, "250 2.1.0 Ok\r\n");
		for (int i = 1; i <= 103; i++) {
			c += (size_t)snprintf(cmds + c, sizeof(cmds) - c, "RCPT TO:<r%d@d>\r\n", i);
			w +=
			    (size_t)snprintf(want + w, sizeof(want) - w, "%s",
					     i <= 100 ? "250 2.1.5 Ok\r\n"
						      : "452 4.5.3 Error: too many recipients\r\n");
		}
		c += (size_t)snprintf(cmds + c, sizeof(cmds) - c, "RSET\r\n");
		w += (size_t)snprintf(want + w, sizeof(want) - w, "250 2.0.0 Ok\r\n");
	}
	c += (size_t)snprintf(cmds + c, sizeof(cmds) - c, "NOOP\r\n");
	w += (size_t)snprintf(want + w, sizeof(want) - w, "250 2.0.0 Ok\r\n");
	const struct step steps[] = {{NULL, GREETING}, {cmds, want}};
	DIALOGUE(p, steps);
	EXPECT_TRUE(!sim_peer_closed_by_core(p));
	teardown();
}

TEST(command_line_limit)
{
	ASSERT_EQ(setup(NULL), 0);
	struct sim_peer *p = connect_from("127.0.0.1:25", "127.0.0.1:4000");
	static char at[600], past[600];
	/* 512 octets with CRLF is the limit: 510 of text */
	memset(at, 'x', sizeof(at));
	memcpy(at, "NOOP ", 5);
	memcpy(at + CONFIG_NR_LINE_MAX, "\r\n", 3);
	memset(past, 'x', sizeof(past));
	memcpy(past, "NOOP ", 5);
	memcpy(past + CONFIG_NR_LINE_MAX + 1, "\r\n", 3);
	const struct step steps[] = {
	    {NULL, GREETING},
	    {at, "250 2.0.0 Ok\r\n"},
	    {past, "500 5.5.2 Error: line too long\r\n"},
	    {"NOOP\r\n", "250 2.0.0 Ok\r\n"},
	};
	DIALOGUE(p, steps);
	teardown();
}

TEST(error_limit_closes)
{
	ASSERT_EQ(setup(NULL), 0);
	struct sim_peer *p = connect_from("127.0.0.1:25", "127.0.0.1:4000");
	const struct step steps[] = {
	    {NULL, GREETING},
	    {"1\r\n2\r\n3\r\n4\r\n5\r\n", "500 5.5.2 Error: command not recognized\r\n"
					  "500 5.5.2 Error: command not recognized\r\n"
					  "500 5.5.2 Error: command not recognized\r\n"
					  "500 5.5.2 Error: command not recognized\r\n"
					  "500 5.5.2 Error: command not recognized\r\n"},
	    {"A\r\nB\r\nC\r\nD\r\n", "500 5.5.2 Error: command not recognized\r\n"
				     "500 5.5.2 Error: command not recognized\r\n"
				     "500 5.5.2 Error: command not recognized\r\n"
				     "500 5.5.2 Error: command not recognized\r\n"},
	    {"E\r\nNOOP\r\n", "500 5.5.2 Error: command not recognized\r\n"
			      "421 4.7.0 test.lan Error: too many errors\r\n"},
	};
	DIALOGUE(p, steps);
	EXPECT_TRUE(sim_peer_closed_by_core(p));
	teardown();
}

TEST(http_is_closed)
{
	ASSERT_EQ(setup(NULL), 0);
	struct sim_peer *p = connect_from("127.0.0.1:25", "127.0.0.1:4000");
	const struct step steps[] = {
	    {NULL, GREETING},
	    {"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
	     "421 4.7.0 test.lan Error: not an SMTP client\r\n"},
	};
	DIALOGUE(p, steps);
	EXPECT_TRUE(sim_peer_closed_by_core(p));
	teardown();
}

/* Each variant: exactly one message whose content holds the smuggled
 * commands, and no reply to them. */
TEST(smuggling_variants)
{
	static const char *const seps[] = {"\n.\n", "\n.\r\n",     "\r\n.\n",
					   "\r.\r", "\r\n.\r\r\n", "\r\n\0.\r\n"};
	for (size_t i = 0; i < NR_ARRAY_LEN(seps); i++) {
		ASSERT_EQ(setup(NULL), 0);
		struct sim_peer *p = connect_from("127.0.0.1:25", "127.0.0.1:4000");
		char msg[512];
		size_t seplen = i == 5 ? 6 : strlen(seps[i]);
		int n = snprintf(
		    msg, sizeof(msg),
		    "EHLO a\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\nSubject: s\r\n\r\nx");
		memcpy(msg + n, seps[i], seplen);
		n += (int)seplen;
		n +=
		    snprintf(msg + n, sizeof(msg) - (size_t)n,
			     "MAIL FROM:<evil@x>\r\nRCPT TO:<victim@y>\r\nDATA\r\nsmuggled\r\n.\r\n"
			     "QUIT\r\n");
		sim_peer_send(p, msg, (size_t)n);
		spin();
		const char *want = i == 5 ? GREETING EHLO_REPLY
				       "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 End data "
				       "with <CR><LF>.<CR><LF>\r\n554 5.6.0 Error: "
				       "message contains NUL characters\r\n221 2.0.0 "
				       "Bye\r\n"
					  : GREETING EHLO_REPLY
				       "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 End data "
				       "with <CR><LF>.<CR><LF>\r\n" QUEUED "221 2.0.0 Bye\r\n";
		if (!match(sim_peer_output_str(p), want))
			NR_TEST_FAIL_("variant %zu: got [%s]", i, sim_peer_output_str(p));
		EXPECT_EQ(queued(), i == 5 ? 0 : 1);
		if (i != 5) {
			static char body[4096];
			first_body(body, sizeof(body));
			EXPECT_TRUE(strstr(body,
					   "MAIL FROM:<evil@x>\r\nRCPT TO:<victim@y>\r\nDATA\r\n"
					   "smuggled\r\n") != NULL);
		}
		teardown();
	}
}

TEST(body_limits_and_loops)
{
	ASSERT_EQ(setup(NULL), 0);
	struct sim_peer *p = connect_from("127.0.0.1:25", "127.0.0.1:4000");
	static char big[12000];
	memset(big, 'a', sizeof(big));
	for (size_t i = 70; i < sizeof(big); i += 72)
		memcpy(big + i, "\r\n", 2);
	memcpy(big + sizeof(big) - 6, "\r\n.\r\n", 6);
	const struct step steps[] = {
	    {NULL, GREETING},
	    {"HELO x\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n",
	     "250 test.lan\r\n250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 End data with "
	     "<CR><LF>.<CR><LF>\r\n"},
	    {big, "552 5.3.4 Error: message file too big\r\n"},
	    {"MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n",
	     "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 End data with <CR><LF>.<CR><LF>\r\n"},
	    {"Received: 1\r\nReceived: 2\r\nReceived: 3\r\nReceived: 4\r\n\r\nx\r\n.\r\n",
	     "554 5.4.6 Error: too many hops (mail loop?)\r\n"},
	    {"MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n",
	     "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 End data with <CR><LF>.<CR><LF>\r\n"},
	    {"Received: 1\r\nReceived: 2\r\nReceived: 3\r\n\r\nx\r\n.\r\n", QUEUED},
	};
	DIALOGUE(p, steps);
	EXPECT_EQ(queued(), 1);
	teardown();
}

/* A message of `hdr` header-block octets (its fields, with Date: and
 * Message-ID: present so nothing is added, and the blank line) and `total`
 * octets in all, as stored (the end-of-data line not counted). */
static const char *sized_message(size_t hdr, size_t total)
{
	static char m[16384];
	static const char fixed[] = "Date: x\r\nMessage-ID: <m@x>\r\nX: ";
	size_t n = sizeof(fixed) - 1;
	memcpy(m, fixed, n);
	while (n < hdr - 4)
		m[n++] = 'h';
	memcpy(m + n, "\r\n\r\n", 4);
	n += 4;
	while (n < total) { /* body lines of at most 80 octets */
		size_t line = total - n < 80 ? total - n : 80;
		if (line < 3) { /* too short for a line of its own: widen the last one */
			memmove(m + n - 2 + line, m + n - 2, 2);
			memset(m + n - 2, 'b', line);
			n += line;
			break;
		}
		memset(m + n, 'b', line - 2);
		memcpy(m + n + line - 2, "\r\n", 2);
		n += line;
	}
	memcpy(m + n, ".\r\n", 4);
	m[n + 4] = '\0';
	return m;
}

/* max_message_size and max_header_size, each at and just past its edge. */
TEST(size_limits_at_and_past_the_edge)
{
	ASSERT_EQ(setup("max_header_size 1K\n"), 0);
	struct sim_peer *p = connect_from("127.0.0.1:25", "127.0.0.1:4000");
#define TXN "MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n"
#define TXN_OK "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 End data with <CR><LF>.<CR><LF>\r\n"
	struct step steps[] = {
	    {NULL, GREETING}, {"HELO x\r\n", "250 test.lan\r\n"},
	    {TXN, TXN_OK},    {NULL, QUEUED},
	    {TXN, TXN_OK},    {NULL, "552 5.3.4 Error: message file too big\r\n"},
	    {TXN, TXN_OK},    {NULL, QUEUED},
	    {TXN, TXN_OK},    {NULL, "552 5.3.4 Error: message header too big\r\n"},
	};
	static char m[4][16384];
	snprintf(m[0], sizeof(m[0]), "%s", sized_message(100, 10000));
	snprintf(m[1], sizeof(m[1]), "%s", sized_message(100, 10001));
	snprintf(m[2], sizeof(m[2]), "%s", sized_message(1024, 2000));
	snprintf(m[3], sizeof(m[3]), "%s", sized_message(1025, 2000));
	for (int i = 0; i < 4; i++)
		steps[3 + 2 * i].send = m[i];
	DIALOGUE(p, steps);
#undef TXN
#undef TXN_OK
	EXPECT_EQ(queued(), 2);
	teardown();
}

TEST(bare_lf_reject_policy)
{
	ASSERT_EQ(setup("bare_lf reject\n"), 0);
	struct sim_peer *p = connect_from("127.0.0.1:25", "127.0.0.1:4000");
	const struct step steps[] = {
	    {NULL, GREETING},
	    {"HELO x\nMAIL FROM:<a@b>\nRCPT TO:<c@d>\nDATA\n",
	     "250 test.lan\r\n250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 End data with "
	     "<CR><LF>.<CR><LF>\r\n"},
	    {"a: b\n\nx\n.\n\r\n.\r\n", "550 5.5.2 Error: bare <LF> received\r\n"},
	};
	DIALOGUE(p, steps);
	EXPECT_EQ(queued(), 0);
	teardown();
}

TEST(queue_full_is_452)
{
	ASSERT_EQ(setup_q(NULL, 16 * 4096), 0);
	struct sim_peer *p = connect_from("127.0.0.1:25", "127.0.0.1:4000");
	sim_peer_send_str(p, "HELO x\r\n");
	spin();
	sim_peer_output_clear(p);
	static char body[9000];
	memset(body, 'b', sizeof(body));
	for (size_t i = 70; i < sizeof(body); i += 72)
		memcpy(body + i, "\r\n", 2);
	memcpy(body + sizeof(body) - 6, "\r\n.\r\n", 6);
	int full = 0;
	for (int m = 0; m < 20 && !full; m++) {
		sim_peer_send_str(p, "MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n");
		spin();
		sim_peer_send_str(p, body);
		spin();
		const char *out = sim_peer_output_str(p);
		if (strstr(out, "452 4.3.1 Insufficient system storage\r\n"))
			full = 1;
		else if (!strstr(out, "250 2.0.0 Ok: queued"))
			NR_TEST_FAIL_("unexpected: %s", out);
		sim_peer_output_clear(p);
	}
	EXPECT_TRUE(full);
	sim_peer_send_str(p, "NOOP\r\n");
	spin();
	EXPECT_STREQ(sim_peer_output_str(p), "250 2.0.0 Ok\r\n");
	teardown();
}

TEST(disconnect_mid_data_stores_nothing)
{
	ASSERT_EQ(setup(NULL), 0);
	struct sim_peer *p = connect_from("127.0.0.1:25", "127.0.0.1:4000");
	sim_peer_send_str(p,
			  "HELO x\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\nSubject: x\r\n\r\n"
			  "partial\r\n");
	sim_peer_close(p);
	spin();
	EXPECT_EQ(queued(), 0);
	EXPECT_EQ(nr_smtpd_sessions(d), 0);
	teardown();
}

TEST(session_limits)
{
	ASSERT_EQ(setup(NULL), 0);
	struct sim_peer *a1 = connect_from("127.0.0.1:25", "127.0.0.1:4001");
	struct sim_peer *a2 = connect_from("127.0.0.1:25", "127.0.0.1:4002");
	struct sim_peer *a3 = connect_from("127.0.0.1:25", "127.0.0.1:4003");
	EXPECT_STREQ(sim_peer_output_str(a1), GREETING);
	EXPECT_STREQ(sim_peer_output_str(a2), GREETING);
	EXPECT_STREQ(sim_peer_output_str(a3),
		     "421 4.7.0 test.lan Error: too many connections from your address\r\n");
	EXPECT_TRUE(sim_peer_closed_by_core(a3));
	struct sim_peer *b1 = connect_from("127.0.0.1:25", "127.0.0.2:4001");
	struct sim_peer *b2 = connect_from("127.0.0.1:25", "127.0.0.3:4001");
	struct sim_peer *b3 = connect_from("127.0.0.1:25", "127.0.0.4:4001");
	EXPECT_STREQ(sim_peer_output_str(b1), GREETING);
	EXPECT_STREQ(sim_peer_output_str(b2), GREETING);
	EXPECT_STREQ(sim_peer_output_str(b3),
		     "421 4.3.2 test.lan Error: too many sessions, try again later\r\n");
	/* a slot frees up */
	sim_peer_send_str(a1, "QUIT\r\n");
	spin();
	struct sim_peer *b4 = connect_from("127.0.0.1:25", "127.0.0.4:4002");
	EXPECT_STREQ(sim_peer_output_str(b4), GREETING);
	teardown();
}

/* A submit-socket session, as smtpd_submit.c hands one over. */
static struct sim_peer *connect_local(nr_sock_t lsock)
{
	struct sim_peer *p = sim_incoming(lsock, "127.0.0.9:1");
	nr_sock_t sock;
	struct nr_addr peer;
	if (nr_plat_tcp_accept(lsock, &sock, &peer) < 0)
		return NULL;
	(void)nr_smtpd_accept_local(d, sock, 1000);
	spin();
	return p;
}

/* Review L2: local users filled the session cap through the world-writable
 * submit socket. Local sessions now have max_local_sessions of their own:
 * a full network cap does not keep sendmail out, and local sessions never
 * take the network's slots. The old code refused the first local one. */
TEST(local_sessions_have_a_cap_of_their_own)
{
	ASSERT_EQ(setup("max_local_sessions 2\n"), 0);
	struct nr_addr la = sim_addr("127.0.0.9:2");
	nr_sock_t lsock;
	ASSERT_EQ(nr_plat_tcp_listen(&la, 8, &lsock), 0);
	struct sim_peer *net[4];
	const char *who[] = {"127.0.0.1:4000", "127.0.0.2:4000", "127.0.0.3:4000",
			     "127.0.0.4:4000"};
	for (int i = 0; i < 4; i++) {
		net[i] = connect_from("127.0.0.1:25", who[i]);
		EXPECT_STREQ(sim_peer_output_str(net[i]), GREETING);
	}
	struct sim_peer *l1 = connect_local(lsock), *l2 = connect_local(lsock);
	EXPECT_STREQ(sim_peer_output_str(l1), GREETING);
	EXPECT_STREQ(sim_peer_output_str(l2), GREETING);
	struct sim_peer *l3 = connect_local(lsock);
	EXPECT_STREQ(sim_peer_output_str(l3),
		     "421 4.3.2 test.lan Error: too many sessions, try again later\r\n");
	EXPECT_TRUE(sim_log_find("too many local sessions") >= 0);
	/* the network's slots are untouched by the local ones */
	sim_peer_send_str(net[0], "QUIT\r\n");
	spin();
	struct sim_peer *n5 = connect_from("127.0.0.1:25", "127.0.0.5:4000");
	EXPECT_STREQ(sim_peer_output_str(n5), GREETING);
	nr_plat_sock_close(lsock);
	teardown();
}

/* Review L2: NOOP kept any session alive for ever. More than
 * max_idle_commands NOOP/RSET/HELP/VRFY, or one after max_idle_time,
 * without a MAIL: 421 4.4.2 and close. A MAIL starts the count again. */
TEST(noop_loop_is_closed)
{
	ASSERT_EQ(setup("max_idle_commands 3\nmax_idle_time 30s\n"), 0);
	struct sim_peer *p = connect_from("127.0.0.1:25", "127.0.0.1:4000");
	const struct step steps[] = {
	    {NULL, GREETING},
	    {"EHLO a\r\n", EHLO_REPLY},
	    {"NOOP\r\nRSET\r\n", "250 2.0.0 Ok\r\n250 2.0.0 Ok\r\n"},
	    {"MAIL FROM:<a@b>\r\nRSET\r\nNOOP\r\nVRFY x\r\n",
	     "250 2.1.0 Ok\r\n250 2.0.0 Ok\r\n250 2.0.0 Ok\r\n"
	     "252 2.0.0 Cannot VRFY user, but will accept message\r\n"},
	    {"HELP\r\n", "421 4.4.2 test.lan Error: too many commands without mail, closing\r\n"},
	};
	DIALOGUE(p, steps);
	EXPECT_TRUE(sim_peer_closed_by_core(p));
	EXPECT_TRUE(sim_log_find("idle too long") >= 0);

	/* the time: a NOOP 40 s after the last MAIL, whatever the count */
	struct sim_peer *t = connect_from("127.0.0.1:25", "127.0.0.2:4000");
	const struct step first[] = {{NULL, GREETING}, {"NOOP\r\n", "250 2.0.0 Ok\r\n"}};
	DIALOGUE(t, first);
	sim_advance(20000);
	const struct step second[] = {{"NOOP\r\n", "250 2.0.0 Ok\r\n"}};
	DIALOGUE(t, second);
	sim_advance(20000);
	const struct step third[] = {
	    {"NOOP\r\n", "421 4.4.2 test.lan Error: too many commands without mail, closing\r\n"}};
	DIALOGUE(t, third);
	teardown();
}

TEST(command_deadline_cannot_be_extended_by_trickling)
{
	ASSERT_EQ(setup(NULL), 0);
	struct sim_peer *p = connect_from("127.0.0.1:25", "127.0.0.1:4000");
	sim_peer_output_clear(p);
	/* one byte every 5 s of a command that never ends */
	uint64_t t0 = sim_now();
	for (int i = 0; i < 30; i++) {
		sim_peer_at(p, t0 + (uint64_t)i * 5000);
		sim_peer_send_str(p, "N");
	}
	for (int i = 0; i < 200 && !sim_peer_closed_by_core(p); i++)
		nr_loop_turn(loop, -1);
	EXPECT_STREQ(sim_peer_output_str(p), "421 4.4.2 test.lan Error: timeout exceeded\r\n");
	EXPECT_TRUE(sim_now() - t0 >= 60000 && sim_now() - t0 < 66000);
	teardown();
}

TEST(slow_data_rate_is_dropped)
{
	ASSERT_EQ(setup(NULL), 0);
	struct sim_peer *p = connect_from("127.0.0.1:25", "127.0.0.1:4000");
	sim_peer_send_str(p, "HELO x\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n");
	spin();
	sim_peer_output_clear(p);
	uint64_t t0 = sim_now();
	/* 10 bytes per second, the minimum is 100 */
	for (int i = 0; i < 100; i++) {
		sim_peer_at(p, t0 + (uint64_t)i * 1000);
		sim_peer_send_str(p, "xxxxxxxxxx");
	}
	for (int i = 0; i < 500 && !sim_peer_closed_by_core(p); i++)
		nr_loop_turn(loop, -1);
	EXPECT_STREQ(sim_peer_output_str(p), "421 4.4.2 test.lan Error: data rate too low\r\n");
	EXPECT_EQ(queued(), 0);
	teardown();
}

/* min_data_rate 0 turns the rate off, not the deadline: a client silent in
 * DATA is closed at command_timeout (60 s here). */
TEST(silent_data_without_rate_meets_the_deadline)
{
	base_conf = "listen 127.0.0.1:25\nallow 127.0.0.0/8\nhostname test.lan\n"
		    "command_timeout 60s\nmin_data_rate 0\n";
	int rc = setup(NULL);
	base_conf = BASE_CONF;
	ASSERT_EQ(rc, 0);
	struct sim_peer *p = connect_from("127.0.0.1:25", "127.0.0.1:4000");
	sim_peer_send_str(p, "HELO x\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\nx: y\r\n");
	spin();
	sim_peer_output_clear(p);
	uint64_t t0 = sim_now();
	for (int i = 0; i < 100 && !sim_peer_closed_by_core(p); i++)
		nr_loop_turn(loop, -1);
	EXPECT_STREQ(sim_peer_output_str(p), "421 4.4.2 test.lan Error: timeout exceeded\r\n");
	EXPECT_TRUE(sim_now() - t0 >= 60000 && sim_now() - t0 < 71000);
	EXPECT_EQ(queued(), 0);
	teardown();
}

/* command_timeout shorter than the first rate check (10 s): a client that
 * keeps the rate for 20 s is not cut at the deadline. */
TEST(short_command_timeout_does_not_cut_a_fast_message)
{
	base_conf = "listen 127.0.0.1:25\nallow 127.0.0.0/8\nhostname test.lan\n"
		    "max_message_size 100000\ncommand_timeout 2s\nmin_data_rate 100\n";
	int rc = setup(NULL);
	base_conf = BASE_CONF;
	ASSERT_EQ(rc, 0);
	struct sim_peer *p = connect_from("127.0.0.1:25", "127.0.0.1:4000");
	sim_peer_send_str(p, "HELO x\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n");
	spin();
	sim_peer_output_clear(p);
	uint64_t t0 = sim_now();
	for (int i = 0; i < 40; i++) { /* 500 bytes every 500 ms */
		sim_peer_at(p, t0 + (uint64_t)i * 500);
		sim_peer_send_str(
		    p, "x: yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy"
		       "yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy"
		       "yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy"
		       "yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy"
		       "yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy"
		       "yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy"
		       "yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy"
		       "yyyyy\r\n");
	}
	sim_peer_at(p, t0 + 20000);
	sim_peer_send_str(p, "\r\nbody\r\n.\r\n");
	for (int i = 0; i < 400 && !strstr(sim_peer_output_str(p), "\r\n"); i++)
		nr_loop_turn(loop, -1);
	EXPECT_TRUE(match(sim_peer_output_str(p), QUEUED));
	if (!match(sim_peer_output_str(p), QUEUED))
		fprintf(stderr, "got [%s]\n", sim_peer_output_str(p));
	EXPECT_EQ(queued(), 1);
	teardown();
}

/* A stand-in TLS transport: bytes pass unchanged, but the switch is real. */
static int tls_switches;
static long fake_read(void *t, void *b, size_t n)
{
	return nr_plat_sock_read((nr_sock_t)(intptr_t)t, b, n);
}
static long fake_write(void *t, const void *b, size_t n)
{
	return nr_plat_sock_write((nr_sock_t)(intptr_t)t, b, n);
}
static size_t fake_pending(void *t)
{
	return 0;
}
static unsigned fake_wants(void *t)
{
	return NR_POLL_IN;
}
static void fake_destroy(void *t) {}
static const struct nr_transport_ops fake_tls = {"faketls",  fake_read,    fake_write, fake_pending,
						 fake_wants, fake_destroy, NULL};
static int fake_tls_wrap(void *arg, struct nr_conn *c, int legacy_ok)
{
	tls_switches++;
	nr_conn_set_transport(c, &fake_tls, (void *)(intptr_t)nr_conn_sock(c));
	return 0;
}

/* The same with a handshake: done once "FIN" arrived, so the connection
 * raises on_tls_ready only then (as with src/tls). */
static struct fake_hs {
	nr_sock_t sock;
	int done;
} fake_hs[4];
static size_t fake_hs_used;
static int fake_hs_handshake(void *t)
{
	struct fake_hs *h = t;
	char fin[3];
	if (h->done)
		return 0;
	long n = nr_plat_sock_read(h->sock, fin, sizeof(fin));
	if (n < 0)
		return (int)n;
	if (n != 3 || memcmp(fin, "FIN", 3) != 0)
		return NR_ETLS;
	h->done = 1;
	return 0;
}
static long fake_hs_read(void *t, void *b, size_t n)
{
	return nr_plat_sock_read(((struct fake_hs *)t)->sock, b, n);
}
static long fake_hs_write(void *t, const void *b, size_t n)
{
	return nr_plat_sock_write(((struct fake_hs *)t)->sock, b, n);
}
static const struct nr_transport_ops fake_hs_tls = {"fakehs",         fake_hs_read, fake_hs_write,
						    fake_pending,     fake_wants,   fake_destroy,
						    fake_hs_handshake};
static int fake_hs_wrap(void *arg, struct nr_conn *c, int legacy_ok)
{
	if (fake_hs_used == NR_ARRAY_LEN(fake_hs))
		return NR_ENOMEM;
	struct fake_hs *h = &fake_hs[fake_hs_used++];
	h->sock = nr_conn_sock(c);
	h->done = 0;
	nr_conn_set_transport(c, &fake_hs_tls, h);
	return 0;
}

static int auth_ok(void *arg, const char *user, const void *pw, size_t n)
{
	return strcmp(user, "dev") == 0 && n == 6 && memcmp(pw, "secret", 6) == 0 ? 0 : NR_EAUTH;
}

TEST(starttls_discards_pipelined_bytes_and_resets)
{
	/* without it no listener offers STARTTLS (every_verb_in_every_state
	 * checks the 502) */
	TEST_NEEDS(CONFIG_NR_LAN_TLS);
	ASSERT_EQ(setup(NULL), 0);
	nr_smtpd_set_tls(d, fake_tls_wrap, NULL);
	nr_smtpd_set_auth(d, auth_ok, NULL);
	tls_switches = 0;
	struct sim_peer *p = connect_from("127.0.0.1:587", "127.0.0.1:4000");
	const struct step steps[] = {
	    {NULL, GREETING},
	    {"EHLO a\r\n", "250-test.lan\r\n250-PIPELINING\r\n250-SIZE 10000\r\n250-8BITMIME\r\n"
			   "250-ENHANCEDSTATUSCODES\r\n250 STARTTLS\r\n"},
	    {"MAIL FROM:<a@b>\r\nSTARTTLS\r\nNOOP\r\n",
	     "250 2.1.0 Ok\r\n220 2.0.0 Ready to start TLS\r\n"},
	    {"RCPT TO:<c@d>\r\n", "503 5.5.1 Error: send HELO/EHLO first\r\n"},
	    {"EHLO a\r\n", EHLO_AUTH},
	    {"STARTTLS\r\n", "502 5.5.1 Error: command not implemented\r\n"},
	};
	DIALOGUE(p, steps);
	EXPECT_EQ(tls_switches, 1);
	teardown();
}

TEST(auth_plain_and_login)
{
	ASSERT_EQ(
	    setup(
		"listen 127.0.0.1:2525 auth=required plain_auth=127.0.0.0/8\nusers /nonexistent\n"),
	    0);
	nr_smtpd_set_auth(d, auth_ok, NULL);
	/* client 10.x is not in allow: needs AUTH to relay */
	struct sim_peer *p = connect_from("127.0.0.1:2525", "127.0.0.1:4000");
	/* Each mechanism's steps where the build has it (a compiled-out one
	 * gets 504, none at all 503: auth_mechanisms_follow_the_build). */
	struct step steps[16];
	size_t n = 0;
	steps[n++] = (struct step){NULL, GREETING};
	steps[n++] = (struct step){"EHLO a\r\n", EHLO_AUTH};
	steps[n++] = (struct step){"MAIL FROM:<a@b>\r\n", "530 5.7.0 Authentication required\r\n"};
	if (HAS_PLAIN) {
		steps[n++] = (struct step){"AUTH PLAIN AGRldgB3cm9uZw==\r\n",
					   "535 5.7.8 Error: authentication failed\r\n"};
		steps[n++] = (struct step){"AUTH PLAIN not*base64\r\n",
					   "501 5.5.2 Error: malformed authentication data\r\n"};
	}
	steps[n++] = (struct step){
	    "AUTH CRAM-MD5\r\n",
	    HAS_AUTH ? "504 5.5.4 Error: unsupported authentication mechanism\r\n" : NO_AUTH};
	if (HAS_LOGIN) {
		steps[n++] = (struct step){"AUTH LOGIN\r\n", "334 VXNlcm5hbWU6\r\n"};
		steps[n++] = (struct step){"*\r\n", "501 5.7.0 Error: authentication aborted\r\n"};
		steps[n++] = (struct step){"AUTH LOGIN ZGV2\r\n", "334 UGFzc3dvcmQ6\r\n"};
		steps[n++] =
		    (struct step){"c2VjcmV0\r\n", "235 2.7.0 Authentication successful\r\n"};
	} else if (HAS_PLAIN) {
		steps[n++] = (struct step){"AUTH PLAIN AGRldgBzZWNyZXQ=\r\n",
					   "235 2.7.0 Authentication successful\r\n"};
	}
	if (HAS_AUTH) {
		steps[n++] =
		    (struct step){"AUTH PLAIN\r\n", "503 5.5.1 Error: already authenticated\r\n"};
		steps[n++] = (struct step){"MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\n",
					   "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n"};
	} else {
		steps[n++] =
		    (struct step){"MAIL FROM:<a@b>\r\n", "530 5.7.0 Authentication required\r\n"};
	}
	dialogue_len(p, steps, n, __LINE__);
	teardown();
	if (!HAS_PLAIN) { /* the rest is PLAIN's empty initial response */
		printf("# %s: second part skipped, needs CONFIG_NR_AUTH_PLAIN\n", __func__);
		return;
	}

	ASSERT_EQ(setup("listen 127.0.0.1:2525 auth=optional plain_auth=10.0.0.0/8\n"), 0);
	nr_smtpd_set_auth(d, auth_ok, NULL);
	p = connect_from("127.0.0.1:2525", "10.1.2.3:4000");
	const struct step s2[] = {
	    {NULL, GREETING},
	    {"EHLO a\r\nAUTH PLAIN\r\n", EHLO_AUTH "334  \r\n"},
	    {"AGRldgBzZWNyZXQ=\r\n", "235 2.7.0 Authentication successful\r\n"},
	    {"MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\n", "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n"},
	};
	DIALOGUE(p, s2);
	teardown();
}

/* A heap that says no (core/mem.h's hook): AUTH's buffers live on it. The
 * hook has a realloc, so blocks carry no header and those allocated before
 * it may be freed through it (both are the C library's underneath). */
static void *refuse_malloc(void *ctx, size_t size)
{
	(void)ctx;
	(void)size;
	return NULL;
}

static void pass_free(void *ctx, void *p)
{
	(void)ctx;
	free(p);
}

static void *refuse_realloc(void *ctx, void *p, size_t size)
{
	(void)ctx;
	(void)p;
	(void)size;
	return NULL;
}

/* No memory for the exchange: 454, the session goes on, and the next
 * AUTH, with memory, succeeds. */
TEST(auth_without_memory_is_454)
{
	TEST_NEEDS(CONFIG_NR_AUTH_PLAIN);
	static const struct nr_mem_hooks refuse = {refuse_malloc, pass_free, refuse_realloc, NULL};

	ASSERT_EQ(setup("listen 127.0.0.1:2525 auth=optional plain_auth=127.0.0.0/8\n"), 0);
	nr_smtpd_set_auth(d, auth_ok, NULL);
	struct sim_peer *p = connect_from("127.0.0.1:2525", "127.0.0.1:4000");
	const struct step s1[] = {
	    {NULL, GREETING},
	    {"EHLO a\r\n", EHLO_AUTH},
	};
	DIALOGUE(p, s1);
	nr_mem_set_hooks(&refuse);
	const struct step s2[] = {
	    {"AUTH PLAIN AGRldgBzZWNyZXQ=\r\n", "454 4.7.0 Temporary authentication failure\r\n"},
	};
	DIALOGUE(p, s2);
	nr_mem_set_hooks(NULL);
	const struct step s3[] = {
	    {"AUTH PLAIN AGRldgBzZWNyZXQ=\r\n", "235 2.7.0 Authentication successful\r\n"},
	};
	DIALOGUE(p, s3);
	teardown();
}

/* An AUTH exchange line may be CONFIG_NR_AUTH_LINE_MAX octets (CRLF not
 * counted); one more is refused and the exchange ends. */
TEST(auth_line_limit_at_and_past)
{
	/* the line at the limit is a PLAIN response, the one past it a LOGIN
	 * user name (a build without one: auth_mechanisms_follow_the_build) */
	TEST_NEEDS(CONFIG_NR_AUTH_PLAIN);
	TEST_NEEDS(CONFIG_NR_AUTH_LOGIN);
	ASSERT_EQ(setup("listen 127.0.0.1:2525 auth=optional plain_auth=127.0.0.0/8\n"), 0);
	nr_smtpd_set_auth(d, auth_ok, NULL);
	struct sim_peer *p = connect_from("127.0.0.1:2525", "127.0.0.1:4000");
	static char at[CONFIG_NR_AUTH_LINE_MAX + 3], past[CONFIG_NR_AUTH_LINE_MAX + 4];
	static uint8_t plain[CONFIG_NR_AUTH_LINE_MAX / 4 * 3];
	memset(plain, 'x', sizeof(plain)); /* \0dev\0 and a long wrong password */
	memcpy(plain, "\0dev\0", 5);
	ASSERT_EQ(nr_base64_encode(plain, sizeof(plain), at, sizeof(at)), CONFIG_NR_AUTH_LINE_MAX);
	memcpy(at + CONFIG_NR_AUTH_LINE_MAX, "\r\n", 3);
	memset(past, 'Q', CONFIG_NR_AUTH_LINE_MAX + 1);
	memcpy(past + CONFIG_NR_AUTH_LINE_MAX + 1, "\r\n", 3);
	const struct step steps[] = {
	    {NULL, GREETING},
	    {"EHLO a\r\n", EHLO_AUTH},
	    {"AUTH PLAIN\r\n", "334  \r\n"},
	    {at, "535 5.7.8 Error: authentication failed\r\n"},
	    {"AUTH LOGIN\r\n", "334 VXNlcm5hbWU6\r\n"},
	    {past, "500 5.5.6 Error: authentication exchange line too long\r\n"},
	    {"NOOP\r\n", "250 2.0.0 Ok\r\n"},
	};
	DIALOGUE(p, steps);
	teardown();
}

TEST(auth_failures_are_throttled)
{
	TEST_NEEDS(CONFIG_NR_AUTH_PLAIN); /* its failures are PLAIN's */
	ASSERT_EQ(setup("listen 127.0.0.1:2525 plain_auth=127.0.0.0/8\n"), 0);
	nr_smtpd_set_auth(d, auth_ok, NULL);
	struct sim_peer *p = connect_from("127.0.0.1:2525", "127.0.0.1:4000");
	const struct step steps[] = {
	    {NULL, GREETING},
	    {"EHLO a\r\n", EHLO_AUTH},
	    {"AUTH PLAIN AGRldgB4\r\n", "535 5.7.8 Error: authentication failed\r\n"},
	    {"AUTH PLAIN AGRldgB4\r\n", "535 5.7.8 Error: authentication failed\r\n"},
	    {"AUTH PLAIN AGRldgB4\r\n", "535 5.7.8 Error: authentication failed\r\n"},
	    {"AUTH PLAIN AGRldgBzZWNyZXQ=\r\n",
	     "454 4.7.0 Too many authentication failures, try later\r\n"},
	};
	DIALOGUE(p, steps);
	teardown();
}

#define PLAIN_DEV_WRONG "AUTH PLAIN AGRldgB4\r\n"         /* dev / x */
#define PLAIN_DEV_RIGHT "AUTH PLAIN AGRldgBzZWNyZXQ=\r\n" /* dev / secret */

static struct sim_peer *greeted(const char *listener, const char *peer)
{
	struct sim_peer *p = connect_from(listener, peer);
	const struct step steps[] = {{NULL, GREETING}, {"EHLO a\r\n", EHLO_AUTH}};
	dialogue_len(p, steps, NR_ARRAY_LEN(steps), __LINE__);
	return p;
}

/* Review M1.1: a session parked at 334 sent its guess after the address
 * was blocked, and even the right password got 235 (old code). The block
 * is checked again right before hashing: 454, nothing hashed. */
TEST(auth_parked_session_meets_the_block)
{
	TEST_NEEDS(CONFIG_NR_AUTH_PLAIN);
	ASSERT_EQ(setup("listen 127.0.0.1:2525 plain_auth=127.0.0.0/8\n"), 0);
	nr_smtpd_set_auth(d, auth_ok, NULL);
	struct sim_peer *parked = greeted("127.0.0.1:2525", "127.0.0.1:4000");
	struct sim_peer *login = greeted("127.0.0.1:2525", "127.0.0.1:4001");
	const struct step park[] = {{"AUTH PLAIN\r\n", "334  \r\n"}};
	DIALOGUE(parked, park);
	const struct step guesses[] = {
	    {PLAIN_DEV_WRONG, "535 5.7.8 Error: authentication failed\r\n"},
	    {PLAIN_DEV_WRONG, "535 5.7.8 Error: authentication failed\r\n"},
	    {PLAIN_DEV_WRONG, "535 5.7.8 Error: authentication failed\r\n"},
	};
	DIALOGUE(login, guesses);
	const struct step late[] = {
	    {"AGRldgBzZWNyZXQ=\r\n", "454 4.7.0 Too many authentication failures, try later\r\n"},
	};
	DIALOGUE(parked, late);
	EXPECT_TRUE(sim_log_find("authentication refused: too many failures") >= 0);
	teardown();
}

/* Review M1.2: a login as another valid account (a printer's) cleared the
 * address's counter. Now it clears only its own user's. */
static int auth_two(void *arg, const char *user, const void *pw, size_t n)
{
	if (strcmp(user, "printer") == 0)
		return n == 1 && memcmp(pw, "p", 1) == 0 ? 0 : NR_EAUTH;
	return auth_ok(arg, user, pw, n);
}

TEST(auth_other_users_success_keeps_the_count)
{
	TEST_NEEDS(CONFIG_NR_AUTH_PLAIN);
	ASSERT_EQ(setup("listen 127.0.0.1:2525 plain_auth=127.0.0.0/8\n"), 0);
	nr_smtpd_set_auth(d, auth_two, NULL);
	struct sim_peer *p = greeted("127.0.0.1:2525", "127.0.0.1:4000");
	const struct step steps[] = {
	    {PLAIN_DEV_WRONG, "535 5.7.8 Error: authentication failed\r\n"},
	    {PLAIN_DEV_WRONG, "535 5.7.8 Error: authentication failed\r\n"},
	};
	DIALOGUE(p, steps);
	struct sim_peer *pr = greeted("127.0.0.1:2525", "127.0.0.1:4001");
	const struct step printer[] = {
	    {"AUTH PLAIN AHByaW50ZXIAcA==\r\n", "235 2.7.0 Authentication successful\r\n"}};
	DIALOGUE(pr, printer);
	const struct step more[] = {
	    {PLAIN_DEV_WRONG, "535 5.7.8 Error: authentication failed\r\n"},
	    {PLAIN_DEV_RIGHT, "454 4.7.0 Too many authentication failures, try later\r\n"},
	};
	DIALOGUE(p, more);
	teardown();
}

/* Review M1.3: each new address got fresh guesses. IPv6 counts per /64. */
TEST(auth_ipv6_counts_per_64)
{
	TEST_NEEDS(CONFIG_NR_AUTH_PLAIN);
	TEST_NEEDS(CONFIG_NR_IPV6);
	ASSERT_EQ(setup("listen [::1]:2525 plain_auth=fd00::/8\n"), 0);
	nr_smtpd_set_auth(d, auth_ok, NULL);
	const char *addrs[] = {"[fd00::1]:4000", "[fd00::2]:4000", "[fd00::3]:4000"};
	for (size_t i = 0; i < NR_ARRAY_LEN(addrs); i++) {
		struct sim_peer *p = greeted("[::1]:2525", addrs[i]);
		const struct step steps[] = {
		    {PLAIN_DEV_WRONG, "535 5.7.8 Error: authentication failed\r\n"}};
		DIALOGUE(p, steps);
		sim_peer_close(p);
		spin();
	}
	struct sim_peer *fresh = greeted("[::1]:2525", "[fd00::99]:4000");
	const struct step blocked[] = {
	    {PLAIN_DEV_RIGHT, "454 4.7.0 Too many authentication failures, try later\r\n"}};
	DIALOGUE(fresh, blocked);
	struct sim_peer *other = greeted("[::1]:2525", "[fd00:0:0:1::1]:4000");
	const struct step ok[] = {{PLAIN_DEV_RIGHT, "235 2.7.0 Authentication successful\r\n"}};
	DIALOGUE(other, ok);
	teardown();
}

/* PBKDF2 off the loop's critical path: while three sessions send AUTH, a
 * fourth one's NOOP is answered before any hash runs, and each loop turn
 * runs at most one verification. The old code hashed all three first. */
static struct sim_peer *noop_peer;
static unsigned hashes, hashes_before_noop;
static int auth_counting(void *arg, const char *user, const void *pw, size_t n)
{
	hashes++;
	if (!strstr(sim_peer_output_str(noop_peer), "250 2.0.0 Ok"))
		hashes_before_noop++;
	sim_advance(100); /* what a hash costs on a slow router */
	return auth_ok(arg, user, pw, n);
}

TEST(auth_verification_does_not_stall_the_loop)
{
	TEST_NEEDS(CONFIG_NR_AUTH_PLAIN);
	ASSERT_EQ(setup("listen 127.0.0.1:2525 plain_auth=127.0.0.0/8\n"), 0);
	nr_smtpd_set_auth(d, auth_counting, NULL);
	struct sim_peer *a[3];
	const char *who[] = {"127.0.0.1:4000", "127.0.0.2:4000", "127.0.0.3:4000"};
	const char *auth[] = {"AUTH PLAIN AGExAHg=\r\n", "AUTH PLAIN AGEyAHg=\r\n",
			      "AUTH PLAIN AGEzAHg=\r\n"};
	for (int i = 0; i < 3; i++)
		a[i] = greeted("127.0.0.1:2525", who[i]);
	noop_peer = greeted("127.0.0.1:2525", "127.0.0.4:4000");
	hashes = hashes_before_noop = 0;
	for (int i = 0; i < 3; i++)
		sim_peer_send_str(a[i], auth[i]);
	sim_peer_send_str(noop_peer, "NOOP\r\n");
	for (unsigned turn = 1; turn <= 6; turn++) {
		nr_loop_turn(loop, 0);
		EXPECT_TRUE(hashes <= turn); /* one verification per turn at most */
	}
	EXPECT_EQ(hashes, 3);
	EXPECT_EQ(hashes_before_noop, 0);
	EXPECT_STREQ(sim_peer_output_str(noop_peer), "250 2.0.0 Ok\r\n");
	for (int i = 0; i < 3; i++)
		EXPECT_STREQ(sim_peer_output_str(a[i]),
			     "535 5.7.8 Error: authentication failed\r\n");
	teardown();
}

/* The global caps: verifications waiting (auth_max_pending) and begun per
 * second (auth_max_per_second) in total, whoever asks. */
TEST(auth_global_caps)
{
	TEST_NEEDS(CONFIG_NR_AUTH_PLAIN);
	ASSERT_EQ(setup("listen 127.0.0.1:2525 plain_auth=127.0.0.0/8\nauth_max_pending 1\n"
			"auth_max_per_second 2\n"),
		  0);
	nr_smtpd_set_auth(d, auth_ok, NULL);
	struct sim_peer *a = greeted("127.0.0.1:2525", "127.0.0.1:4000");
	struct sim_peer *b = greeted("127.0.0.1:2525", "127.0.0.2:4000");
	sim_peer_send_str(a, "AUTH PLAIN AGExAHg=\r\n");
	sim_peer_send_str(b, "AUTH PLAIN AGEyAHg=\r\n");
	spin();
	EXPECT_STREQ(sim_peer_output_str(a), "535 5.7.8 Error: authentication failed\r\n");
	EXPECT_STREQ(sim_peer_output_str(b),
		     "454 4.7.0 Too many authentication attempts, try later\r\n");
	EXPECT_TRUE(sim_log_find("auth_max_pending (1) reached") >= 0);
	sim_peer_output_clear(a);
	sim_peer_output_clear(b);
	const struct step second[] = {
	    {"AUTH PLAIN AGEyAHg=\r\n", "535 5.7.8 Error: authentication failed\r\n"}};
	DIALOGUE(b, second);
	const struct step third[] = {{"AUTH PLAIN AGEzAHg=\r\n",
				      "454 4.7.0 Too many authentication attempts, try later\r\n"}};
	DIALOGUE(a, third);
	EXPECT_TRUE(sim_log_find("auth_max_per_second (2) reached") >= 0);
	teardown();
}

/* RFC 4954: AUTH in clear where only TLS allows it is 538 5.7.11, and the
 * log names the listener option that allows it. The old code said 503. */
TEST(auth_in_clear_is_538)
{
	TEST_NEEDS(CONFIG_NR_AUTH_PLAIN);
	TEST_NEEDS(CONFIG_NR_LAN_TLS);
	ASSERT_EQ(setup(NULL), 0);
	nr_smtpd_set_tls(d, fake_tls_wrap, NULL);
	nr_smtpd_set_auth(d, auth_ok, NULL);
	struct sim_peer *p = connect_from("127.0.0.1:587", "127.0.0.1:4000");
	const struct step steps[] = {
	    {NULL, GREETING},
	    {"EHLO a\r\n", "250-test.lan\r\n250-PIPELINING\r\n250-SIZE 10000\r\n250-8BITMIME\r\n"
			   "250-ENHANCEDSTATUSCODES\r\n250 STARTTLS\r\n"},
	    {"AUTH PLAIN AGRldgBzZWNyZXQ=\r\n",
	     "538 5.7.11 Encryption required for requested authentication mechanism\r\n"},
	};
	DIALOGUE(p, steps);
	EXPECT_TRUE(sim_log_find("plain_auth=") >= 0);
	teardown();
}

/* The command table: each verb in each state a command line can arrive in
 * (INIT, HELO, MAIL, RCPT), with the exact reply. Out-of-order refusals
 * come before syntax (DATA x), "already authenticated" before "transaction
 * in progress", and RSET in INIT keeps INIT. */
TEST(every_verb_in_every_state)
{
	/* A verb the build left out (no LAN TLS, no AUTH mechanism) is
	 * refused whatever the state: its gate comes first. */
	const int tls = NR_ENABLED(CONFIG_NR_LAN_TLS);
	const char *no_tls = "502 5.5.1 Error: command not implemented\r\n";
	ASSERT_EQ(
	    setup("listen 127.0.0.1:2526" STARTTLS_OPT " auth=optional plain_auth=127.0.0.0/8\n"),
	    0);
	nr_smtpd_set_tls(d, fake_tls_wrap, NULL);
	nr_smtpd_set_auth(d, auth_ok, NULL);
	struct sim_peer *p = connect_from("127.0.0.1:2526", "127.0.0.1:4000");
	const struct step steps[] = {
	    {NULL, GREETING},
	    /* INIT */
	    {"DATA x\r\n", "503 5.5.1 Error: send HELO/EHLO first\r\n"},
	    {"STARTTLS x\r\n", tls ? "503 5.5.1 Error: send HELO/EHLO first\r\n" : no_tls},
	    {"AUTH PLAIN\r\n", HAS_AUTH ? "503 5.5.1 Error: send HELO/EHLO first\r\n" : NO_AUTH},
	    {"RSET\r\n", "250 2.0.0 Ok\r\n"},
	    {"MAIL FROM:<a@b>\r\n", "503 5.5.1 Error: send HELO/EHLO first\r\n"},
	    {"NOOP\r\n", "250 2.0.0 Ok\r\n"},
	    /* HELO */
	    {"HELO x\r\n", "250 test.lan\r\n"},
	    {"STARTTLS x\r\n", tls ? "501 5.5.4 Syntax: STARTTLS\r\n" : no_tls},
	    {"DATA x\r\n", "503 5.5.1 Error: need RCPT command\r\n"},
	    {"AUTH FOO\r\n",
	     HAS_AUTH ? "504 5.5.4 Error: unsupported authentication mechanism\r\n" : NO_AUTH},
	    {"MAIL FROM:<a@b>\r\n", "250 2.1.0 Ok\r\n"},
	    /* MAIL */
	    {"AUTH PLAIN\r\n",
	     HAS_AUTH ? "503 5.5.1 Error: MAIL transaction in progress\r\n" : NO_AUTH},
	    {"DATA x\r\n", "554 5.5.1 Error: no valid recipients\r\n"},
	    {"HELP\r\n", "214-2.0.0 Commands: EHLO HELO MAIL RCPT DATA RSET NOOP QUIT HELP VRFY "
			 "STARTTLS AUTH\r\n214 2.0.0 nanorelay " NR_VERSION "\r\n"},
	    {"RCPT TO:<c@d>\r\n", "250 2.1.5 Ok\r\n"},
	    {"QUIT\r\n", "221 2.0.0 Bye\r\n"},
	};
	DIALOGUE(p, steps);
	/* Nine errors so far: the rest in a new session (max_errors 10). */
	p = connect_from("127.0.0.1:2526", "127.0.0.1:4001");
	const struct step s2[] = {
	    {NULL, GREETING},
	    {"EHLO x\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\n",
	     tls ? EHLO_STARTTLS_AUTH "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n"
		 : EHLO_AUTH "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n"},
	    /* RCPT */
	    {"MAIL FROM:<a@b>\r\n", "503 5.5.1 Error: nested MAIL command\r\n"},
	    {"DATA x\r\n", "501 5.5.4 Syntax: DATA\r\n"},
	    {"VRFY c\r\n", "252 2.0.0 Cannot VRFY user, but will accept message\r\n"},
	    {"DATA  \r\n", "354 End data with <CR><LF>.<CR><LF>\r\n"},
	    {"Subject: x\r\n\r\nhi\r\n.\r\n", QUEUED},
	};
	DIALOGUE(p, s2);
	EXPECT_EQ(queued(), 1);
	if (!HAS_PLAIN) { /* the rest authenticates with PLAIN */
		printf("# %s: authenticated part skipped, needs CONFIG_NR_AUTH_PLAIN\n", __func__);
		teardown();
		return;
	}
	const struct step s3[] = {
	    /* authenticated: "already" wins over "in progress" */
	    {"AUTH PLAIN AGRldgBzZWNyZXQ=\r\n", "235 2.7.0 Authentication successful\r\n"},
	    {"MAIL FROM:<a@b>\r\n", "250 2.1.0 Ok\r\n"},
	    {"AUTH PLAIN\r\n", "503 5.5.1 Error: already authenticated\r\n"},
	    {"RCPT TO:<c@d>\r\n", "250 2.1.5 Ok\r\n"},
	    {"HELO y\r\n", "250 test.lan\r\n"},
	    {"RCPT TO:<c@d>\r\n", "503 5.5.1 Error: need MAIL command\r\n"},
	    {"QUIT\r\n", "221 2.0.0 Bye\r\n"},
	};
	DIALOGUE(p, s3);
	EXPECT_EQ(queued(), 1);
	teardown();
}

/* EHLO offers the AUTH mechanisms the build has (CONFIG_NR_AUTH_PLAIN,
 * CONFIG_NR_AUTH_LOGIN), and one compiled out gets the same reply as an
 * unknown one. The expected bytes follow the build's own config. */
TEST(auth_mechanisms_follow_the_build)
{
	const int plain = NR_ENABLED(CONFIG_NR_AUTH_PLAIN),
		  login = NR_ENABLED(CONFIG_NR_AUTH_LOGIN);
	static const char unsupported[] =
	    "504 5.5.4 Error: unsupported authentication mechanism\r\n";
	char ehlo[300];
	struct step steps[8];
	size_t n = 0;

	snprintf(ehlo, sizeof(ehlo),
		 "250-test.lan\r\n250-PIPELINING\r\n250-SIZE 10000\r\n250-8BITMIME\r\n"
		 "250%sENHANCEDSTATUSCODES\r\n%s%s%s%s",
		 plain || login ? "-" : " ", plain || login ? "250 AUTH" : "",
		 plain ? " PLAIN" : "", login ? " LOGIN" : "", plain || login ? "\r\n" : "");
	ASSERT_EQ(setup("listen 127.0.0.1:2525 auth=optional plain_auth=127.0.0.0/8\n"), 0);
	nr_smtpd_set_auth(d, auth_ok, NULL);
	struct sim_peer *p = connect_from("127.0.0.1:2525", "127.0.0.1:4000");
	steps[n++] = (struct step){NULL, GREETING};
	steps[n++] = (struct step){"EHLO a\r\n", ehlo};
	if (!plain && !login) {
		steps[n++] = (struct step){"AUTH PLAIN\r\n",
					   "503 5.5.1 Error: authentication not enabled\r\n"};
	} else {
		steps[n++] = (struct step){"AUTH PLAIN\r\n", plain ? "334  \r\n" : unsupported};
		if (plain)
			steps[n++] =
			    (struct step){"*\r\n", "501 5.7.0 Error: authentication aborted\r\n"};
		steps[n++] =
		    (struct step){"AUTH LOGIN\r\n", login ? "334 VXNlcm5hbWU6\r\n" : unsupported};
		if (login)
			steps[n++] =
			    (struct step){"*\r\n", "501 5.7.0 Error: authentication aborted\r\n"};
		steps[n++] = (struct step){"AUTH CRAM-MD5\r\n", unsupported};
	}
	dialogue_len(p, steps, n, __LINE__);
	teardown();
}

/* A STARTTLS handshake holds one of max_tls_handshakes until the connection
 * says it is done (on_tls_ready), not until some bytes pass. */
TEST(tls_handshake_slot_is_held_until_ready)
{
	TEST_NEEDS(CONFIG_NR_LAN_TLS); /* no STARTTLS listener without it */
	ASSERT_EQ(setup("max_tls_handshakes 1\n"), 0);
	nr_smtpd_set_tls(d, fake_hs_wrap, NULL);
	fake_hs_used = 0;
	struct sim_peer *a = connect_from("127.0.0.1:587", "127.0.0.1:4000");
	struct sim_peer *b = connect_from("127.0.0.1:587", "127.0.0.1:4001");
	const struct step a1[] = {
	    {NULL, GREETING},
	    {"EHLO a\r\nSTARTTLS\r\n", "250-test.lan\r\n250-PIPELINING\r\n250-SIZE 10000\r\n"
				       "250-8BITMIME\r\n250-ENHANCEDSTATUSCODES\r\n250 STARTTLS\r\n"
				       "220 2.0.0 Ready to start TLS\r\n"},
	};
	DIALOGUE(a, a1);
	const struct step b1[] = {
	    {NULL, GREETING},
	    {"EHLO b\r\nSTARTTLS\r\n", "250-test.lan\r\n250-PIPELINING\r\n250-SIZE 10000\r\n"
				       "250-8BITMIME\r\n250-ENHANCEDSTATUSCODES\r\n250 STARTTLS\r\n"
				       "454 4.7.0 TLS not available due to temporary reason\r\n"},
	};
	DIALOGUE(b, b1);
	const struct step a2[] = {
	    {"FIN", ""},
	    {"EHLO a\r\n", EHLO_REPLY},
	};
	DIALOGUE(a, a2);
	const struct step b2[] = {
	    {"STARTTLS\r\n", "220 2.0.0 Ready to start TLS\r\n"},
	};
	DIALOGUE(b, b2);
	teardown();
}

/* Review L3: one client could hold every TLS handshake slot. From one
 * address at most max_tls_handshakes_per_client are in flight; other
 * clients still get theirs. The old code gave b its 220. */
TEST(tls_handshakes_per_client)
{
	TEST_NEEDS(CONFIG_NR_LAN_TLS);
	ASSERT_EQ(setup("max_tls_handshakes 4\nmax_tls_handshakes_per_client 1\n"), 0);
	nr_smtpd_set_tls(d, fake_hs_wrap, NULL);
	fake_hs_used = 0;
	struct sim_peer *a = connect_from("127.0.0.1:587", "127.0.0.1:4000");
	struct sim_peer *b = connect_from("127.0.0.1:587", "127.0.0.1:4001");
	struct sim_peer *c = connect_from("127.0.0.1:587", "127.0.0.2:4000");
	const struct step go[] = {
	    {NULL, GREETING},
	    {"EHLO a\r\nSTARTTLS\r\n", "250-test.lan\r\n250-PIPELINING\r\n250-SIZE 10000\r\n"
				       "250-8BITMIME\r\n250-ENHANCEDSTATUSCODES\r\n250 STARTTLS\r\n"
				       "220 2.0.0 Ready to start TLS\r\n"},
	};
	DIALOGUE(a, go);
	const struct step refused[] = {
	    {NULL, GREETING},
	    {"EHLO b\r\nSTARTTLS\r\n", "250-test.lan\r\n250-PIPELINING\r\n250-SIZE 10000\r\n"
				       "250-8BITMIME\r\n250-ENHANCEDSTATUSCODES\r\n250 STARTTLS\r\n"
				       "454 4.7.0 TLS not available due to temporary reason\r\n"},
	};
	DIALOGUE(b, refused);
	EXPECT_TRUE(sim_log_find("max_tls_handshakes_per_client (1) in flight") >= 0);
	DIALOGUE(c, go);
	/* a's handshake done: b may start one */
	const struct step a2[] = {{"FIN", ""}, {"EHLO a\r\n", EHLO_REPLY}};
	DIALOGUE(a, a2);
	const struct step b2[] = {{"STARTTLS\r\n", "220 2.0.0 Ready to start TLS\r\n"}};
	DIALOGUE(b, b2);
	teardown();
}

/* ONLY=name runs one test (debugging). */
#define RUN_SEL(name)                                                                              \
	do {                                                                                       \
		const char *only_ = getenv("ONLY");                                                \
		if (!only_ || strcmp(only_, #name) == 0)                                           \
			RUN(name);                                                                 \
	} while (0)

int main(void)
{
	RUN_SEL(basic_message);
	RUN_SEL(eightbit_is_decided_by_the_content);
	RUN_SEL(commands_out_of_order);
	RUN_SEL(misc_commands);
	RUN_SEL(pipelined_group_and_rset_and_helo_mid_transaction);
	RUN_SEL(relay_denied_for_other_networks);
	RUN_SEL(recipient_limit_at_and_past);
	RUN_SEL(recipient_overshoot_ends_in_error_limit);
	RUN_SEL(recipient_overshoot_is_per_transaction);
	RUN_SEL(command_line_limit);
	RUN_SEL(error_limit_closes);
	RUN_SEL(http_is_closed);
	RUN_SEL(smuggling_variants);
	RUN_SEL(body_limits_and_loops);
	RUN_SEL(size_limits_at_and_past_the_edge);
	RUN_SEL(bare_lf_reject_policy);
	RUN_SEL(queue_full_is_452);
	RUN_SEL(disconnect_mid_data_stores_nothing);
	RUN_SEL(session_limits);
	RUN_SEL(local_sessions_have_a_cap_of_their_own);
	RUN_SEL(noop_loop_is_closed);
	RUN_SEL(command_deadline_cannot_be_extended_by_trickling);
	RUN_SEL(slow_data_rate_is_dropped);
	RUN_SEL(silent_data_without_rate_meets_the_deadline);
	RUN_SEL(short_command_timeout_does_not_cut_a_fast_message);
	RUN_SEL(starttls_discards_pipelined_bytes_and_resets);
	RUN_SEL(auth_plain_and_login);
	RUN_SEL(auth_without_memory_is_454);
	RUN_SEL(auth_line_limit_at_and_past);
	RUN_SEL(auth_failures_are_throttled);
	RUN_SEL(auth_parked_session_meets_the_block);
	RUN_SEL(auth_other_users_success_keeps_the_count);
	RUN_SEL(auth_ipv6_counts_per_64);
	RUN_SEL(auth_verification_does_not_stall_the_loop);
	RUN_SEL(auth_global_caps);
	RUN_SEL(auth_in_clear_is_538);
	RUN_SEL(every_verb_in_every_state);
	RUN_SEL(auth_mechanisms_follow_the_build);
	RUN_SEL(tls_handshake_slot_is_held_until_ready);
	RUN_SEL(tls_handshakes_per_client);
	return TEST_REPORT();
}
