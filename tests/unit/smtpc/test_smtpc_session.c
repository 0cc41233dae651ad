/* Unit tests of the outbound client state machine with scripted replies. */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>

#include "core/build.h"
#include "core/log.h"
#include "proto/base64.h"
#include "smtpc/smtpc_session.h"
#include "test.h"

/* ---- a scripted owner ---- */

struct fake {
	char out[65536];
	size_t len;
	size_t room_limit; /* output capacity simulated (0: plenty) */
	size_t drained;    /* bytes the "socket" took */
	int tls_started;
	uint64_t timer;
	int timer_arms;
	int rcpt_code[16];
	int done_calls, done_code;
	char done_text[256];
	int ready_calls;
	int finished;
	enum nr_smtpc_end how;
	char end_text[256];
	/* body */
	const char *body;
	size_t body_len, body_pos;
	long body_error;
	struct nr_smtpc *s;
};

static struct fake F;

static int f_write(void *o, const void *p, size_t n)
{
	struct fake *f = o;
	if (f->len + n > sizeof(f->out))
		return NR_EFULL;
	memcpy(f->out + f->len, p, n);
	f->len += n;
	return 0;
}
static size_t f_room(void *o)
{
	struct fake *f = o;
	size_t pending = f->len - f->drained;
	if (f->room_limit)
		return pending < f->room_limit ? f->room_limit - pending : 0;
	return sizeof(f->out) - f->len;
}
static void f_start_tls(void *o)
{
	((struct fake *)o)->tls_started++;
}
static void f_arm(void *o, uint64_t ms)
{
	((struct fake *)o)->timer = ms;
	((struct fake *)o)->timer_arms++;
}
static void f_rcpt(void *o, size_t i, int code, const char *text)
{
	((struct fake *)o)->rcpt_code[i] = code;
}
static void f_done(void *o, int code, const char *text)
{
	struct fake *f = o;
	f->done_calls++;
	f->done_code = code;
	snprintf(f->done_text, sizeof(f->done_text), "%s", text);
}
static void f_ready(void *o)
{
	((struct fake *)o)->ready_calls++;
}
static void f_finished(void *o, enum nr_smtpc_end how, const char *text)
{
	struct fake *f = o;
	f->finished++;
	f->how = how;
	snprintf(f->end_text, sizeof(f->end_text), "%s", text);
}
static long f_read(void *arg, void *buf, size_t len)
{
	struct fake *f = arg;
	size_t n = f->body_len - f->body_pos;
	if (f->body_error && f->body_pos >= f->body_len / 2 && f->body_pos > 0)
		return f->body_error;
	if (n > len)
		n = len;
	if (f->body_error && n > f->body_len / 2)
		n = f->body_len / 2;
	memcpy(buf, f->body + f->body_pos, n);
	f->body_pos += n;
	return (long)n;
}

static const struct nr_smtpc_ops ops = {f_write, f_room, f_start_tls, f_arm,
					f_rcpt,  f_done, f_ready,     f_finished};

static int fake_hmac(const void *key, size_t keylen, const void *msg, size_t msglen,
		     uint8_t out[16])
{
	size_t i;
	for (i = 0; i < 16; i++)
		out[i] = (uint8_t)(i + keylen + msglen);
	return 0;
}

static struct nr_smtpc_params params(enum nr_tls_mode tls)
{
	struct nr_smtpc_params p;
	memset(&p, 0, sizeof(p));
	p.helo = "nas.lan";
	p.relay = "smtp.test[127.0.0.1]:587";
	p.tls = tls;
	p.insecure = tls == NR_TLS_NONE;
	return p;
}

static struct nr_smtpc *start(const struct nr_smtpc_params *p)
{
	struct nr_smtpc *s = NULL;
	memset(&F, 0, sizeof(F));
	if (nr_smtpc_new(&s, p, &ops, &F) != 0)
		return NULL;
	F.s = s;
	nr_smtpc_on_connected(s);
	return s;
}

/* A reply as the assembler (smtpc/reply.h) hands it over. */
static struct nr_smtpc_reply make_reply(int code, const char *text)
{
	struct nr_smtpc_reply r;
	memset(&r, 0, sizeof(r));
	r.code = code;
	r.lines = 1;
	r.text_len = (size_t)snprintf(r.text, sizeof(r.text), "%s", text);
	return r;
}

static void reply(struct nr_smtpc *s, int code, const char *text)
{
	struct nr_smtpc_reply r = make_reply(code, text);
	nr_smtpc_on_reply(s, &r, 0);
}

static void ehlo(struct nr_smtpc *s, uint32_t caps, uint32_t auth, uint64_t size)
{
	struct nr_smtpc_reply r = make_reply(250, "smtp.test");
	r.caps.caps = caps;
	r.caps.auth = auth;
	r.caps.size_max = size;
	nr_smtpc_on_reply(s, &r, 0);
}

/* Output since the last call, as a string. */
static size_t mark;
static const char *sent(void)
{
	static char b[65536];
	size_t n = F.len - mark;
	memcpy(b, F.out + mark, n);
	b[n] = '\0';
	mark = F.len;
	return b;
}

static const char *rcpts2[] = {"a@x.test", "b@x.test"};
static struct nr_smtpc_msg msg;

static void set_msg(const char *body, int eightbit)
{
	memset(&msg, 0, sizeof(msg));
	msg.sender = "me@gmail.test";
	msg.rcpt = rcpts2;
	msg.nrcpt = 2;
	msg.size = strlen(body);
	msg.eightbit = eightbit;
	msg.read = f_read;
	msg.read_arg = &F;
	F.body = body;
	F.body_len = strlen(body);
	F.body_pos = 0;
}

/* Plain (insecure) session up to READY. */
static struct nr_smtpc *ready_plain(uint32_t caps)
{
	struct nr_smtpc_params p = params(NR_TLS_NONE);
	struct nr_smtpc *s = start(&p);
	mark = 0;
	reply(s, 220, "smtp.test ESMTP");
	ehlo(s, caps, 0, 0);
	sent();
	return s;
}

TEST(happy_path_without_pipelining)
{
	struct nr_smtpc *s = ready_plain(NR_SMTPC_CAP_8BITMIME);
	ASSERT_TRUE(s);
	EXPECT_EQ(F.ready_calls, 1);
	EXPECT_TRUE(nr_smtpc_is_ready(s));
	set_msg("Subject: hi\r\n\r\n.line\r\n..two\r\nend\r\n", 0);
	ASSERT_EQ(nr_smtpc_send(s, &msg), 0);
	EXPECT_STREQ(sent(), "MAIL FROM:<me@gmail.test>\r\n");
	reply(s, 250, "2.1.0 Ok");
	EXPECT_STREQ(sent(), "RCPT TO:<a@x.test>\r\n");
	reply(s, 250, "2.1.5 Ok");
	EXPECT_STREQ(sent(), "RCPT TO:<b@x.test>\r\n");
	reply(s, 550, "5.1.1 no such user");
	EXPECT_EQ(F.rcpt_code[1], 550);
	EXPECT_STREQ(sent(), "DATA\r\n");
	reply(s, 354, "go ahead");
	EXPECT_STREQ(sent(), "Subject: hi\r\n\r\n..line\r\n...two\r\nend\r\n.\r\n");
	EXPECT_EQ(F.done_calls, 0);
	reply(s, 250, "2.0.0 Ok: queued as 1234");
	EXPECT_EQ(F.done_calls, 1);
	EXPECT_EQ(F.done_code, 250);
	EXPECT_TRUE(strstr(F.done_text, "250 2.0.0 Ok: queued as 1234") != NULL);
	EXPECT_TRUE(strstr(F.done_text, "(in reply to end of data)") != NULL);
	/* Reused: READY again, no RSET after a completed transaction. */
	EXPECT_EQ(F.ready_calls, 2);
	EXPECT_STREQ(sent(), "");
	/* Idle: QUIT, then the session ends normally. */
	EXPECT_EQ(F.timer, 5000);
	nr_smtpc_on_timeout(s);
	EXPECT_STREQ(sent(), "QUIT\r\n");
	reply(s, 221, "bye");
	EXPECT_EQ(F.finished, 1);
	EXPECT_EQ(F.how, NR_SMTPC_END_QUIT);
	nr_smtpc_free(s);
}

TEST(pipelining_sends_the_group)
{
	struct nr_smtpc *s = ready_plain(NR_SMTPC_CAP_PIPELINING | NR_SMTPC_CAP_SIZE);
	ASSERT_TRUE(s);
	set_msg("x\r\n", 0);
	ASSERT_EQ(nr_smtpc_send(s, &msg), 0);
	EXPECT_STREQ(sent(), "MAIL FROM:<me@gmail.test> SIZE=3\r\nRCPT TO:<a@x.test>\r\n"
			     "RCPT TO:<b@x.test>\r\nDATA\r\n");
	reply(s, 250, "ok");
	reply(s, 450, "4.2.0 mailbox busy");
	reply(s, 250, "ok");
	EXPECT_EQ(F.rcpt_code[0], 450);
	EXPECT_STREQ(sent(), "");
	reply(s, 354, "go");
	EXPECT_STREQ(sent(), "x\r\n.\r\n");
	reply(s, 250, "ok");
	EXPECT_EQ(F.done_code, 250);
	nr_smtpc_free(s);
}

TEST(pipelining_all_rcpts_rejected)
{
	struct nr_smtpc *s = ready_plain(NR_SMTPC_CAP_PIPELINING);
	ASSERT_TRUE(s);
	set_msg("x\r\n", 0);
	ASSERT_EQ(nr_smtpc_send(s, &msg), 0);
	sent();
	reply(s, 250, "ok");
	reply(s, 550, "no");
	reply(s, 551, "no");
	reply(s, 554, "5.5.1 no valid recipients");
	EXPECT_EQ(F.rcpt_code[0], 550);
	EXPECT_EQ(F.rcpt_code[1], 551);
	EXPECT_EQ(F.done_calls, 1);
	EXPECT_STREQ(sent(), "RSET\r\n");
	reply(s, 250, "ok");
	EXPECT_EQ(F.ready_calls, 2);

	/* A server that answers 354 anyway gets the terminator only. */
	set_msg("secret body\r\n", 0);
	ASSERT_EQ(nr_smtpc_send(s, &msg), 0);
	sent();
	reply(s, 250, "ok");
	reply(s, 550, "no");
	reply(s, 550, "no");
	reply(s, 354, "go");
	EXPECT_STREQ(sent(), ".\r\n");
	reply(s, 554, "no valid recipients");
	EXPECT_EQ(F.done_calls, 2);
	nr_smtpc_free(s);
}

TEST(no_rcpt_accepted_without_pipelining_skips_data)
{
	struct nr_smtpc *s = ready_plain(0);
	ASSERT_TRUE(s);
	set_msg("x\r\n", 0);
	ASSERT_EQ(nr_smtpc_send(s, &msg), 0);
	reply(s, 250, "ok");
	reply(s, 550, "no");
	sent();
	reply(s, 450, "later");
	EXPECT_EQ(F.rcpt_code[1], 450);
	EXPECT_STREQ(sent(), "RSET\r\n");
	nr_smtpc_free(s);
}

/* Each outcome at MAIL, RCPT, DATA and after the dot. */
static void outcome_case(int at, int code, int want_done, int want_rcpt0)
{
	struct nr_smtpc *s = ready_plain(0);
	int i;
	ASSERT_TRUE(s);
	set_msg("hello\r\n", 0);
	msg.nrcpt = 1;
	ASSERT_EQ(nr_smtpc_send(s, &msg), 0);
	for (i = 0; i < 4; i++) {
		int c = i == at ? code : (i == 2 ? 354 : 250);
		reply(s, c, "text");
		if (i == at)
			break;
	}
	EXPECT_EQ(F.done_calls, want_done ? 1 : 0);
	if (want_done && at != 1)
		EXPECT_EQ(F.done_code, code);
	EXPECT_EQ(F.rcpt_code[0], want_rcpt0);
	if (at < 3)
		EXPECT_TRUE(strstr(sent(), "RSET\r\n") != NULL);
	EXPECT_EQ(F.finished, 0);
	nr_smtpc_free(s);
}

TEST(outcomes_at_each_step)
{
	outcome_case(0, 451, 1, 0); /* MAIL 4xx: deferred */
	outcome_case(0, 550, 1, 0); /* MAIL 5xx: failed */
	outcome_case(1, 452, 1, 452);
	outcome_case(1, 553, 1, 553);
	outcome_case(2, 451, 1, 0); /* DATA */
	outcome_case(2, 554, 1, 0);
	outcome_case(3, 452, 1, 0); /* after the dot */
	outcome_case(3, 552, 1, 0);
}

TEST(disconnect_after_dot_defers)
{
	struct nr_smtpc *s = ready_plain(0);
	ASSERT_TRUE(s);
	set_msg("hello\r\n", 0);
	ASSERT_EQ(nr_smtpc_send(s, &msg), 0);
	reply(s, 250, "ok");
	reply(s, 250, "ok");
	reply(s, 250, "ok");
	reply(s, 354, "go");
	EXPECT_EQ(F.done_calls, 0);
	nr_smtpc_on_closed(s, NR_ECLOSED);
	EXPECT_EQ(F.done_calls, 1);
	EXPECT_EQ(F.done_code, 0);
	EXPECT_TRUE(strstr(F.done_text, "lost connection") != NULL);
	EXPECT_TRUE(strstr(F.done_text, "end of data") != NULL);
	EXPECT_EQ(F.finished, 1);
	EXPECT_EQ(F.how, NR_SMTPC_END_LOST);
	nr_smtpc_free(s);
}

TEST(timeout_at_rcpt_defers)
{
	struct nr_smtpc *s = ready_plain(0);
	ASSERT_TRUE(s);
	set_msg("hello\r\n", 0);
	ASSERT_EQ(nr_smtpc_send(s, &msg), 0);
	EXPECT_EQ(F.timer, 300000);
	reply(s, 250, "ok");
	nr_smtpc_on_timeout(s);
	EXPECT_EQ(F.done_calls, 1);
	EXPECT_EQ(F.done_code, 0);
	EXPECT_TRUE(strstr(F.done_text, "timed out") != NULL);
	EXPECT_TRUE(strstr(F.done_text, "RCPT TO") != NULL);
	EXPECT_EQ(F.how, NR_SMTPC_END_LOST);
	nr_smtpc_free(s);
}

TEST(upstream_timeout_caps_every_deadline_but_idle)
{
	struct nr_smtpc_params p = params(NR_TLS_NONE);
	struct nr_smtpc *s;

	p.max_wait_ms = 3000;
	s = start(&p);
	ASSERT_TRUE(s);
	mark = 0;
	EXPECT_EQ(F.timer, 3000); /* greeting: 2 min otherwise */
	reply(s, 220, "smtp.test ESMTP");
	ehlo(s, 0, 0, 0);
	sent();
	EXPECT_EQ(F.timer, 5000); /* READY: the idle close is not a reply deadline */
	set_msg("hello\r\n", 0);
	ASSERT_EQ(nr_smtpc_send(s, &msg), 0);
	EXPECT_EQ(F.timer, 3000); /* MAIL: 5 min otherwise */
	nr_smtpc_on_timeout(s);
	EXPECT_TRUE(strstr(F.done_text, "timed out") != NULL);
	nr_smtpc_free(s);
}

TEST(reply_421_mid_transaction)
{
	struct nr_smtpc *s = ready_plain(NR_SMTPC_CAP_PIPELINING);
	ASSERT_TRUE(s);
	set_msg("hello\r\n", 0);
	ASSERT_EQ(nr_smtpc_send(s, &msg), 0);
	reply(s, 250, "ok");
	reply(s, 421, "4.3.2 shutting down");
	EXPECT_EQ(F.done_code, 421);
	EXPECT_EQ(F.finished, 1);
	EXPECT_EQ(F.how, NR_SMTPC_END_LOST);
	nr_smtpc_free(s);
}

TEST(eightbit_needs_8bitmime)
{
	struct nr_smtpc *s = ready_plain(0);
	ASSERT_TRUE(s);
	set_msg("caf\xc3\xa9\r\n", 1);
	ASSERT_EQ(nr_smtpc_send(s, &msg), 0);
	EXPECT_EQ(F.done_calls, 1);
	EXPECT_EQ(F.done_code, 554);
	EXPECT_TRUE(strstr(F.done_text, "5.6.3") != NULL);
	EXPECT_STREQ(sent(), "");
	EXPECT_TRUE(nr_smtpc_is_ready(s));
	nr_smtpc_free(s);

	s = ready_plain(NR_SMTPC_CAP_8BITMIME);
	ASSERT_TRUE(s);
	set_msg("caf\xc3\xa9\r\n", 1);
	ASSERT_EQ(nr_smtpc_send(s, &msg), 0);
	EXPECT_STREQ(sent(), "MAIL FROM:<me@gmail.test> BODY=8BITMIME\r\n");
	nr_smtpc_free(s);
}

TEST(upstream_size_respected)
{
	struct nr_smtpc_params p = params(NR_TLS_NONE);
	struct nr_smtpc *s = start(&p);
	ASSERT_TRUE(s);
	reply(s, 220, "hi");
	ehlo(s, NR_SMTPC_CAP_SIZE, 0, 10);
	mark = F.len;
	set_msg("0123456789ABCDEF\r\n", 0);
	ASSERT_EQ(nr_smtpc_send(s, &msg), 0);
	EXPECT_EQ(F.done_code, 552);
	EXPECT_TRUE(strstr(F.done_text, "5.3.4") != NULL);
	EXPECT_STREQ(sent(), "");
	nr_smtpc_free(s);
}

TEST(bad_addresses_never_reach_the_wire)
{
	static const char *r[] = {"ok@x.test", "evil@x.test>\r\nRCPT TO:<y@z"};
	struct nr_smtpc *s = ready_plain(NR_SMTPC_CAP_PIPELINING);
	ASSERT_TRUE(s);
	set_msg("x\r\n", 0);
	msg.rcpt = r;
	ASSERT_EQ(nr_smtpc_send(s, &msg), 0);
	EXPECT_EQ(F.rcpt_code[1], 553);
	EXPECT_STREQ(sent(), "MAIL FROM:<me@gmail.test>\r\nRCPT TO:<ok@x.test>\r\nDATA\r\n");
	reply(s, 250, "ok");
	reply(s, 250, "ok");
	reply(s, 354, "go");
	EXPECT_STREQ(sent(), "x\r\n.\r\n");
	nr_smtpc_free(s);

	s = ready_plain(0);
	ASSERT_TRUE(s);
	set_msg("x\r\n", 0);
	msg.sender = "a@b\r\nDATA";
	ASSERT_EQ(nr_smtpc_send(s, &msg), 0);
	EXPECT_EQ(F.done_code, 553);
	EXPECT_STREQ(sent(), "");
	nr_smtpc_free(s);
}

TEST(body_read_error_never_terminates)
{
	static char big[20000];
	struct nr_smtpc *s = ready_plain(0);
	ASSERT_TRUE(s);
	memset(big, 'a', sizeof(big) - 1);
	set_msg(big, 0);
	F.body_error = NR_ECORRUPT;
	msg.nrcpt = 1;
	ASSERT_EQ(nr_smtpc_send(s, &msg), 0);
	reply(s, 250, "ok");
	reply(s, 250, "ok");
	sent();
	reply(s, 354, "go");
	{
		const char *b = sent();
		EXPECT_TRUE(strlen(b) > 0);
		EXPECT_TRUE(strstr(b, "\r\n.\r\n") == NULL);
	}
	EXPECT_EQ(F.done_code, 0);
	EXPECT_EQ(F.finished, 1);
	EXPECT_EQ(F.how, NR_SMTPC_END_LOST);
	nr_smtpc_free(s);
}

TEST(body_backpressure)
{
	static char big[10000];
	size_t i;
	struct nr_smtpc *s = ready_plain(0);
	ASSERT_TRUE(s);
	for (i = 0; i < sizeof(big) - 1; i++)
		big[i] = (i % 50 == 49) ? '\n' : '.';
	set_msg(big, 0);
	msg.nrcpt = 1;
	ASSERT_EQ(nr_smtpc_send(s, &msg), 0);
	reply(s, 250, "ok");
	reply(s, 250, "ok");
	sent();
	F.room_limit = 300;
	F.drained = F.len;
	reply(s, 354, "go");
	EXPECT_TRUE(F.len - mark <= 300);
	EXPECT_TRUE(F.len - mark > 0);
	for (i = 0; i < 1000 && !strstr(F.out + mark, "\r\n.\r\n"); i++) {
		F.out[F.len] = '\0';
		F.drained = F.len;
		nr_smtpc_on_writable(s);
		F.out[F.len] = '\0';
	}
	{
		const char *b = sent();
		/* Every stored line "...\n" became "....\r\n" and the whole
		 * stream ends with exactly one terminator. */
		EXPECT_TRUE(strlen(b) == (sizeof(big) - 1) / 50 * 52 + ((sizeof(big) - 1) % 50) +
					     (((sizeof(big) - 1) % 50) ? 3 : 0) + 3);
		EXPECT_TRUE(strstr(b, "\r\n.\r\n") == b + strlen(b) - 5);
	}
	nr_smtpc_free(s);
}

/* ---- TLS ---- */

TEST(tls_none_needs_insecure)
{
	struct nr_smtpc_params p = params(NR_TLS_NONE);
	struct nr_smtpc *s = NULL;
	p.insecure = 0;
	EXPECT_EQ(nr_smtpc_new(&s, &p, &ops, &F), NR_EINVAL);
	EXPECT_TRUE(s == NULL);
	p.insecure = 1;
	p.user = "u";
	p.secret = "token";
	p.secret_is_token = 1;
	EXPECT_EQ(nr_smtpc_new(&s, &p, &ops, &F), NR_EINVAL);
}

TEST(starttls_missing_is_fatal_and_nothing_in_clear)
{
	struct nr_smtpc_params p = params(NR_TLS_STARTTLS);
	struct nr_smtpc *s;
	p.user = "alice";
	p.secret = "secret";
	s = start(&p);
	ASSERT_TRUE(s);
	mark = 0;
	reply(s, 220, "hi");
	ehlo(s, NR_SMTPC_CAP_AUTH | NR_SMTPC_CAP_PIPELINING, NR_SMTPC_AUTH_PLAIN, 0);
	EXPECT_STREQ(sent(), "EHLO nas.lan\r\n");
	EXPECT_EQ(F.finished, 1);
	EXPECT_EQ(F.how, NR_SMTPC_END_HOST);
	EXPECT_TRUE(strstr(F.end_text, "STARTTLS not offered") != NULL);
	EXPECT_EQ(F.tls_started, 0);
	nr_smtpc_free(s);
}

TEST(starttls_refused)
{
	struct nr_smtpc_params p = params(NR_TLS_STARTTLS);
	struct nr_smtpc *s = start(&p);
	ASSERT_TRUE(s);
	reply(s, 220, "hi");
	ehlo(s, NR_SMTPC_CAP_STARTTLS, 0, 0);
	reply(s, 454, "4.7.0 TLS not available");
	EXPECT_EQ(F.how, NR_SMTPC_END_HOST);
	EXPECT_EQ(F.tls_started, 0);
	EXPECT_TRUE(strstr(F.end_text, "454") != NULL);
	nr_smtpc_free(s);
}

TEST(starttls_injection_aborts)
{
	struct nr_smtpc_params p = params(NR_TLS_STARTTLS);
	struct nr_smtpc *s = start(&p);
	struct nr_smtpc_reply r = make_reply(220, "go ahead");
	ASSERT_TRUE(s);
	reply(s, 220, "hi");
	ehlo(s, NR_SMTPC_CAP_STARTTLS, 0, 0);
	/* "250 injected reply\r\n" (20 bytes) arrived with it */
	nr_smtpc_on_reply(s, &r, 20);
	EXPECT_EQ(F.tls_started, 0);
	EXPECT_EQ(F.finished, 1);
	EXPECT_EQ(F.how, NR_SMTPC_END_HOST);
	EXPECT_TRUE(strstr(F.end_text, "injection") != NULL);
	nr_smtpc_free(s);
}

TEST(starttls_failure)
{
	struct nr_smtpc_params p = params(NR_TLS_STARTTLS);
	struct nr_smtpc *s = start(&p);
	ASSERT_TRUE(s);
	reply(s, 220, "hi");
	ehlo(s, NR_SMTPC_CAP_STARTTLS, 0, 0);
	reply(s, 220, "go ahead");
	EXPECT_EQ(F.tls_started, 1);
	nr_smtpc_on_tls_done(s, NR_ECERT, "name does not match smtp.test");
	EXPECT_EQ(F.how, NR_SMTPC_END_HOST);
	EXPECT_TRUE(strstr(F.end_text, "name does not match") != NULL);
	nr_smtpc_free(s);
}

/* Through STARTTLS to AUTH; returns the session after the second EHLO. */
static struct nr_smtpc *tls_session(const char *user, const char *secret, int token,
				    uint32_t caps_after, uint32_t auth_after)
{
	struct nr_smtpc_params p = params(NR_TLS_STARTTLS);
	struct nr_smtpc *s;
	p.user = user;
	p.secret = secret;
	p.secret_is_token = token;
	p.hmac_md5 = fake_hmac;
	s = start(&p);
	if (!s)
		return NULL;
	mark = 0;
	reply(s, 220, "hi");
	/* Before TLS the server offers everything: none of it may stick. */
	ehlo(s,
	     NR_SMTPC_CAP_STARTTLS | NR_SMTPC_CAP_AUTH | NR_SMTPC_CAP_PIPELINING |
		 NR_SMTPC_CAP_8BITMIME,
	     NR_SMTPC_AUTH_PLAIN | NR_SMTPC_AUTH_LOGIN, 0);
	reply(s, 220, "go ahead");
	nr_smtpc_on_tls_done(s, 0, NULL);
	ehlo(s, caps_after, auth_after, 0);
	return s;
}

TEST(starttls_forgets_capabilities)
{
	struct nr_smtpc *s = tls_session("alice", "secret", 0, 0, 0);
	ASSERT_TRUE(s);
	EXPECT_STREQ(sent(), "EHLO nas.lan\r\nSTARTTLS\r\nEHLO nas.lan\r\n");
	/* AUTH was only offered before TLS: no mechanism now. */
	EXPECT_EQ(F.finished, 1);
	EXPECT_EQ(F.how, NR_SMTPC_END_HOST);
	EXPECT_TRUE(strstr(F.end_text, "no AUTH mechanism") != NULL);
	nr_smtpc_free(s);

	/* Without AUTH configured: READY, and PIPELINING from before TLS is gone. */
	s = tls_session(NULL, NULL, 0, 0, 0);
	ASSERT_TRUE(s);
	EXPECT_TRUE(nr_smtpc_is_ready(s));
	set_msg("x\r\n", 0);
	ASSERT_EQ(nr_smtpc_send(s, &msg), 0);
	sent();
	EXPECT_EQ(F.len - mark, 0);
	nr_smtpc_free(s);
}

/* A server that offers only mechanisms this build left out (Kconfig): the
 * session ends at once, nothing of the secret is sent. */
static void expect_no_usable_mech(void)
{
	EXPECT_EQ(F.finished, 1);
	EXPECT_EQ(F.how, NR_SMTPC_END_HOST);
	EXPECT_TRUE(strstr(F.end_text, "offers no AUTH mechanism we can use") != NULL);
	EXPECT_TRUE(strstr(F.out, "AUTH") == NULL);
}

TEST(auth_plain)
{
	struct nr_smtpc *s = tls_session("alice", "secret", 0, NR_SMTPC_CAP_AUTH,
					 NR_SMTPC_AUTH_PLAIN | NR_SMTPC_AUTH_LOGIN);
	ASSERT_TRUE(s);
	sent();
	(void)s;
	nr_smtpc_free(s);
	s = tls_session("alice", "secret", 0, NR_SMTPC_CAP_AUTH,
			NR_SMTPC_AUTH_PLAIN | NR_SMTPC_AUTH_LOGIN);
	if (!NR_ENABLED(CONFIG_NR_AUTH_PLAIN)) {
		/* PLAIN compiled out: LOGIN is taken, or nothing is */
		if (NR_ENABLED(CONFIG_NR_AUTH_LOGIN))
			EXPECT_TRUE(strstr(sent(), "EHLO nas.lan\r\nAUTH LOGIN\r\n") != NULL);
		else
			expect_no_usable_mech();
		nr_smtpc_free(s);
		return;
	}
	{
		const char *b = sent();
		/* base64("\0alice\0secret") */
		EXPECT_TRUE(strstr(b, "EHLO nas.lan\r\nAUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n") !=
			    NULL);
	}
	reply(s, 235, "2.7.0 Authentication successful");
	EXPECT_TRUE(nr_smtpc_is_ready(s));
	EXPECT_EQ(F.ready_calls, 1);
	nr_smtpc_free(s);
}

TEST(auth_535_holds)
{
	struct nr_smtpc *s =
	    tls_session("alice", "wrong", 0, NR_SMTPC_CAP_AUTH, NR_SMTPC_AUTH_PLAIN);
	ASSERT_TRUE(s);
	if (!NR_ENABLED(CONFIG_NR_AUTH_PLAIN)) {
		/* the replies to PLAIN need PLAIN: auth_plain checks its absence */
		expect_no_usable_mech();
		nr_smtpc_free(s);
		return;
	}
	reply(s, 535, "5.7.8 Error: authentication failed");
	EXPECT_EQ(F.finished, 1);
	EXPECT_EQ(F.how, NR_SMTPC_END_AUTH);
	EXPECT_TRUE(strstr(F.end_text, "535 5.7.8") != NULL);
	/* The password never appears in what we report. */
	EXPECT_TRUE(strstr(F.end_text, "wrong") == NULL);
	nr_smtpc_free(s);

	s = tls_session("alice", "pw", 0, NR_SMTPC_CAP_AUTH, NR_SMTPC_AUTH_PLAIN);
	ASSERT_TRUE(s);
	reply(s, 454, "4.7.0 Temporary authentication failure");
	EXPECT_EQ(F.how, NR_SMTPC_END_HOST);
	nr_smtpc_free(s);
}

TEST(auth_login)
{
	struct nr_smtpc *s =
	    tls_session("alice", "secret", 0, NR_SMTPC_CAP_AUTH, NR_SMTPC_AUTH_LOGIN);
	ASSERT_TRUE(s);
	sent();
	nr_smtpc_free(s);
	s = tls_session("alice", "secret", 0, NR_SMTPC_CAP_AUTH, NR_SMTPC_AUTH_LOGIN);
	if (!NR_ENABLED(CONFIG_NR_AUTH_LOGIN)) {
		expect_no_usable_mech(); /* LOGIN compiled out */
		nr_smtpc_free(s);
		return;
	}
	EXPECT_TRUE(strstr(sent(), "AUTH LOGIN\r\n") != NULL);
	reply(s, 334, "VXNlcm5hbWU6");
	EXPECT_STREQ(sent(), "YWxpY2U=\r\n");
	reply(s, 334, "UGFzc3dvcmQ6");
	EXPECT_STREQ(sent(), "c2VjcmV0\r\n");
	reply(s, 235, "ok");
	EXPECT_TRUE(nr_smtpc_is_ready(s));
	nr_smtpc_free(s);
}

TEST(auth_cram_md5)
{
	struct nr_smtpc *s =
	    tls_session("alice", "secret", 0, NR_SMTPC_CAP_AUTH, NR_SMTPC_AUTH_CRAM_MD5);
	char expect[64], b64[128];
	int i;
	ASSERT_TRUE(s);
	EXPECT_TRUE(strstr(sent(), "AUTH CRAM-MD5\r\n") != NULL);
	/* challenge "<1.2@x>" (7 bytes); fake hmac: byte i = i + 6 + 7 */
	reply(s, 334, "PDEuMkB4Pg==");
	strcpy(expect, "alice ");
	for (i = 0; i < 16; i++)
		sprintf(expect + 6 + 2 * i, "%02x", i + 13);
	EXPECT_TRUE(nr_base64_encode(expect, strlen(expect), b64, sizeof(b64)) > 0);
	strcat(b64, "\r\n");
	EXPECT_STREQ(sent(), b64);
	reply(s, 235, "ok");
	EXPECT_TRUE(nr_smtpc_is_ready(s));
	nr_smtpc_free(s);
}

TEST(auth_xoauth2)
{
	struct nr_smtpc *s = tls_session("me@gmail.test", "ya29.tok", 1, NR_SMTPC_CAP_AUTH,
					 NR_SMTPC_AUTH_PLAIN | NR_SMTPC_AUTH_XOAUTH2);
	char b64[256], want[300];
	const char raw[] = "user=me@gmail.test\001auth=Bearer ya29.tok\001\001";
	ASSERT_TRUE(s);
	EXPECT_TRUE(nr_base64_encode(raw, strlen(raw), b64, sizeof(b64)) > 0);
	snprintf(want, sizeof(want), "AUTH XOAUTH2 %s\r\n", b64);
	EXPECT_TRUE(strstr(sent(), want) != NULL);
	/* Expired token: error challenge, empty answer, then 535. */
	reply(s, 334, "eyJzdGF0dXMiOiI0MDEifQ==");
	EXPECT_STREQ(sent(), "\r\n");
	reply(s, 535, "5.7.8 Username and Password not accepted");
	EXPECT_EQ(F.how, NR_SMTPC_END_AUTH);
	nr_smtpc_free(s);
}

/* Microsoft 365's access tokens run to a few KB: a 6,000-byte one goes out
 * whole in one AUTH line (the client once stopped near 2,000). */
TEST(auth_xoauth2_long_token)
{
	static char tok[6001], raw[6100], b64[8200], want[8300];
	memset(tok, 'e', 6000);
	struct nr_smtpc *s =
	    tls_session("printer@contoso.test", tok, 1, NR_SMTPC_CAP_AUTH, NR_SMTPC_AUTH_XOAUTH2);
	ASSERT_TRUE(s);
	snprintf(raw, sizeof(raw), "user=printer@contoso.test\001auth=Bearer %s\001\001", tok);
	EXPECT_TRUE(nr_base64_encode(raw, strlen(raw), b64, sizeof(b64)) > 0);
	snprintf(want, sizeof(want), "AUTH XOAUTH2 %s\r\n", b64);
	EXPECT_TRUE(strstr(sent(), want) != NULL);
	reply(s, 235, "2.7.0 Authentication successful");
	EXPECT_TRUE(nr_smtpc_is_ready(s));
	nr_smtpc_free(s);
}

/* A secret of NR_SMTPC_SECRET_MAX bytes is taken and goes out in one AUTH
 * PLAIN line; one byte more is refused at the start (8192 with XOAUTH2,
 * 1024 without: a password). */
TEST(secret_limit)
{
	static char secret[NR_SMTPC_SECRET_MAX + 2];
	struct nr_smtpc_params p = params(NR_TLS_IMPLICIT);
	struct nr_smtpc *s = NULL;

	memset(secret, 'p', NR_SMTPC_SECRET_MAX + 1);
	p.user = "alice";
	p.secret = secret;
	EXPECT_EQ(nr_smtpc_new(&s, &p, &ops, &F), NR_EINVAL);
	EXPECT_TRUE(s == NULL);
	secret[NR_SMTPC_SECRET_MAX] = '\0';
	s = start(&p);
	ASSERT_TRUE(s);
	mark = 0;
	reply(s, 220, "hi");
	ehlo(s, NR_SMTPC_CAP_AUTH, NR_SMTPC_AUTH_PLAIN | NR_SMTPC_AUTH_LOGIN, 0);
	if (NR_ENABLED(CONFIG_NR_AUTH_PLAIN) || NR_ENABLED(CONFIG_NR_AUTH_LOGIN))
		EXPECT_TRUE(strstr(sent(), "\r\nAUTH ") != NULL);
	nr_smtpc_free(s);
}

TEST(implicit_tls_starts_with_greeting)
{
	struct nr_smtpc_params p = params(NR_TLS_IMPLICIT);
	struct nr_smtpc *s;
	p.user = "alice";
	p.secret = "secret";
	s = start(&p);
	ASSERT_TRUE(s);
	mark = 0;
	reply(s, 220, "hi");
	ehlo(s, NR_SMTPC_CAP_AUTH, NR_SMTPC_AUTH_PLAIN, 0);
	if (NR_ENABLED(CONFIG_NR_AUTH_PLAIN)) {
		EXPECT_STREQ(sent(), "EHLO nas.lan\r\nAUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n");
	} else {
		/* the greeting came first all the same; PLAIN is compiled out */
		EXPECT_STREQ(sent(), "EHLO nas.lan\r\n");
		expect_no_usable_mech();
	}
	nr_smtpc_free(s);
}

TEST(greeting_failures)
{
	struct nr_smtpc_params p = params(NR_TLS_NONE);
	struct nr_smtpc *s = start(&p);
	ASSERT_TRUE(s);
	EXPECT_EQ(F.timer, 120000);
	reply(s, 554, "go away");
	EXPECT_EQ(F.how, NR_SMTPC_END_HOST);
	nr_smtpc_free(s);
	s = start(&p);
	nr_smtpc_on_timeout(s);
	EXPECT_EQ(F.how, NR_SMTPC_END_HOST);
	EXPECT_TRUE(strstr(F.end_text, "greeting") != NULL);
	nr_smtpc_free(s);
	s = start(&p);
	reply(s, 220, "hi");
	nr_smtpc_on_closed(s, NR_ERESET);
	EXPECT_EQ(F.how, NR_SMTPC_END_HOST);
	nr_smtpc_free(s);
}

TEST(b64_is_the_shared_codec)
{
	/* AUTH uses proto/base64 (strict RFC 4648); its own tests cover it. */
	char enc[64];
	uint8_t dec[64];
	const char *v[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
	const char *e[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
	size_t i;
	for (i = 0; i < 7; i++) {
		EXPECT_EQ(nr_base64_encode(v[i], strlen(v[i]), enc, sizeof(enc)),
			  (long)strlen(e[i]));
		EXPECT_STREQ(enc, e[i]);
		EXPECT_EQ(nr_base64_decode(e[i], strlen(e[i]), dec, sizeof(dec)),
			  (long)strlen(v[i]));
		EXPECT_MEMEQ(dec, v[i], strlen(v[i]));
	}
	EXPECT_EQ(nr_base64_decode("Zm9v!", 5, dec, sizeof(dec)), NR_EINVAL);
}

int main(void)
{
	RUN(happy_path_without_pipelining);
	RUN(pipelining_sends_the_group);
	RUN(pipelining_all_rcpts_rejected);
	RUN(no_rcpt_accepted_without_pipelining_skips_data);
	RUN(outcomes_at_each_step);
	RUN(disconnect_after_dot_defers);
	RUN(timeout_at_rcpt_defers);
	RUN(upstream_timeout_caps_every_deadline_but_idle);
	RUN(reply_421_mid_transaction);
	RUN(eightbit_needs_8bitmime);
	RUN(upstream_size_respected);
	RUN(bad_addresses_never_reach_the_wire);
	RUN(body_read_error_never_terminates);
	RUN(body_backpressure);
	RUN(tls_none_needs_insecure);
	RUN(starttls_missing_is_fatal_and_nothing_in_clear);
	RUN(starttls_refused);
	RUN(starttls_injection_aborts);
	RUN(starttls_failure);
	RUN(starttls_forgets_capabilities);
	RUN(auth_plain);
	RUN(auth_535_holds);
	RUN(auth_login);
	RUN(auth_cram_md5);
	RUN(auth_xoauth2);
	if (NR_ENABLED(CONFIG_NR_XOAUTH2)) /* a token longer than a password */
		RUN(auth_xoauth2_long_token);
	RUN(secret_limit);
	RUN(implicit_tls_starts_with_greeting);
	RUN(greeting_failures);
	RUN(b64_is_the_shared_codec);
	return TEST_REPORT();
}
