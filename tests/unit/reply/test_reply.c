/* test_reply.c - SMTP reply assembly and EHLO capabilities. */
#include "smtpc/reply.h"
#include "test.h"

static struct nr_smtpc_reply_asm a;

/* Feed s in one piece; expect one reply and return the bytes used. */
static int feed_str(const char *s, size_t *used)
{
	return nr_smtpc_reply_feed(&a, s, strlen(s), used);
}

TEST(single_line)
{
	size_t used;
	const char *in = "250 2.1.0 Ok\r\n";

	nr_smtpc_reply_init(&a, 0);
	EXPECT_EQ(nr_smtpc_reply_get(&a) == NULL, 1);
	ASSERT_EQ(feed_str(in, &used), 1);
	EXPECT_EQ(used, strlen(in));
	const struct nr_smtpc_reply *r = nr_smtpc_reply_get(&a);
	ASSERT_TRUE(r != NULL);
	EXPECT_EQ(r->code, 250);
	EXPECT_EQ(r->lines, 1);
	EXPECT_EQ(r->enh_class, 2);
	EXPECT_EQ(r->enh_subject, 1);
	EXPECT_EQ(r->enh_detail, 0);
	EXPECT_STREQ(r->text, "2.1.0 Ok");
	EXPECT_EQ(nr_smtpc_reply_pending(&a), 0);
}

TEST(code_only_and_empty_continuation)
{
	size_t used;

	nr_smtpc_reply_init(&a, 0);
	ASSERT_EQ(feed_str("354\r\n", &used), 1);
	EXPECT_EQ(nr_smtpc_reply_get(&a)->code, 354);
	EXPECT_STREQ(nr_smtpc_reply_get(&a)->text, "");
	EXPECT_EQ(nr_smtpc_reply_get(&a)->enh_class, 0);
	ASSERT_EQ(feed_str("220-\r\n220 hi\r\n", &used), 1);
	EXPECT_EQ(nr_smtpc_reply_get(&a)->lines, 2);
	EXPECT_STREQ(nr_smtpc_reply_get(&a)->text, "hi");
}

static const char ehlo[] = "250-smtp.example.com at your service\r\n"
			   "250-SIZE 35882577\r\n"
			   "250-8BITMIME\r\n"
			   "250-AUTH LOGIN PLAIN XOAUTH2 PLAIN-CLIENTTOKEN OAUTHBEARER XOAUTH\r\n"
			   "250-ENHANCEDSTATUSCODES\r\n"
			   "250-pipelining\r\n"
			   "250-CHUNKING\r\n"
			   "250 SMTPUTF8\r\n";

TEST(multiline_ehlo_caps)
{
	size_t used;

	nr_smtpc_reply_init(&a, 0);
	ASSERT_EQ(feed_str(ehlo, &used), 1);
	EXPECT_EQ(used, strlen(ehlo));
	const struct nr_smtpc_reply *r = nr_smtpc_reply_get(&a);
	EXPECT_EQ(r->code, 250);
	EXPECT_EQ(r->lines, 8);
	EXPECT_EQ(r->caps.caps, NR_SMTPC_CAP_SIZE | NR_SMTPC_CAP_8BITMIME | NR_SMTPC_CAP_AUTH |
				    NR_SMTPC_CAP_ENHANCEDSTATUSCODES | NR_SMTPC_CAP_PIPELINING |
				    NR_SMTPC_CAP_CHUNKING | NR_SMTPC_CAP_SMTPUTF8);
	EXPECT_EQ(r->caps.auth, NR_SMTPC_AUTH_LOGIN | NR_SMTPC_AUTH_PLAIN | NR_SMTPC_AUTH_XOAUTH2);
	EXPECT_EQ(r->caps.size_max, 35882577);
	EXPECT_EQ(r->enh_class, 0);
}

TEST(byte_at_a_time_equals_whole)
{
	size_t i, used, n = strlen(ehlo);
	int ret = 0;

	nr_smtpc_reply_init(&a, 0);
	for (i = 0; i < n; i++) {
		ret = nr_smtpc_reply_feed(&a, ehlo + i, 1, &used);
		EXPECT_EQ(used, 1);
		if (i + 1 < n) {
			EXPECT_EQ(ret, 0);
			EXPECT_EQ(nr_smtpc_reply_pending(&a), i + 1);
		}
	}
	ASSERT_EQ(ret, 1);
	EXPECT_EQ(nr_smtpc_reply_get(&a)->lines, 8);
	EXPECT_EQ(nr_smtpc_reply_get(&a)->caps.auth,
		  NR_SMTPC_AUTH_LOGIN | NR_SMTPC_AUTH_PLAIN | NR_SMTPC_AUTH_XOAUTH2);
	EXPECT_EQ(nr_smtpc_reply_pending(&a), 0);
}

TEST(pipelined_replies_one_at_a_time)
{
	const char *in = "250 2.1.0 Sender ok\r\n250 2.1.5 Rcpt ok\r\n550 5.1.1 No such user\r\n35";
	size_t len = strlen(in), off = 0, used;

	nr_smtpc_reply_init(&a, 0);
	ASSERT_EQ(nr_smtpc_reply_feed(&a, in, len, &used), 1);
	EXPECT_EQ(used, 21);
	EXPECT_EQ(nr_smtpc_reply_get(&a)->enh_subject, 1);
	off += used;
	ASSERT_EQ(nr_smtpc_reply_feed(&a, in + off, len - off, &used), 1);
	EXPECT_EQ(nr_smtpc_reply_get(&a)->enh_detail, 5);
	off += used;
	ASSERT_EQ(nr_smtpc_reply_feed(&a, in + off, len - off, &used), 1);
	EXPECT_EQ(nr_smtpc_reply_get(&a)->code, 550);
	EXPECT_STREQ(nr_smtpc_reply_get(&a)->text, "5.1.1 No such user");
	off += used;
	EXPECT_EQ(len - off, 2); /* "35" remains with the caller */
	ASSERT_EQ(nr_smtpc_reply_feed(&a, in + off, len - off, &used), 0);
	EXPECT_EQ(used, 2);
	EXPECT_EQ(nr_smtpc_reply_get(&a) == NULL, 1);
	EXPECT_EQ(nr_smtpc_reply_pending(&a), 2);
}

TEST(starttls_injection_is_visible)
{
	/* A 220 to STARTTLS followed by injected bytes in the same read. */
	const char *in = "220 2.0.0 Ready to start TLS\r\n250-evil\r\n";
	size_t used;

	nr_smtpc_reply_init(&a, 0);
	ASSERT_EQ(feed_str(in, &used), 1);
	EXPECT_EQ(nr_smtpc_reply_get(&a)->code, 220);
	EXPECT_NE(strlen(in) - used, 0);
	/* The clean case: nothing left, nothing pending. */
	nr_smtpc_reply_init(&a, 0);
	ASSERT_EQ(feed_str("220 go ahead\r\n", &used), 1);
	EXPECT_EQ(used, 14);
	EXPECT_EQ(nr_smtpc_reply_pending(&a), 0);
}

TEST(multiline_enhanced_text_joined)
{
	const char *in = "550-5.7.1 This message was blocked\r\n"
			 "550-5.7.1 because of policy.\r\n"
			 "550 5.7.1 See https://example/help\r\n";
	size_t used;

	nr_smtpc_reply_init(&a, 0);
	ASSERT_EQ(feed_str(in, &used), 1);
	const struct nr_smtpc_reply *r = nr_smtpc_reply_get(&a);
	EXPECT_EQ(r->enh_class, 5);
	EXPECT_EQ(r->enh_subject, 7);
	EXPECT_EQ(r->enh_detail, 1);
	EXPECT_STREQ(r->text,
		     "5.7.1 This message was blocked because of policy. See https://example/help");
	EXPECT_EQ(r->caps.caps, 0);
}

TEST(enhanced_code_syntax)
{
	uint8_t c = 9;
	uint16_t s = 9, d = 9;

	EXPECT_EQ(nr_smtpc_parse_enhanced("4.7.0", 5, &c, &s, &d), 5);
	EXPECT_EQ(c, 4);
	EXPECT_EQ(nr_smtpc_parse_enhanced("5.123.999 x", 11, &c, &s, &d), 9);
	EXPECT_EQ(s, 123);
	EXPECT_EQ(d, 999);
	EXPECT_EQ(nr_smtpc_parse_enhanced("3.1.1 x", 7, &c, &s, &d), 0);
	EXPECT_EQ(nr_smtpc_parse_enhanced("5.1234.1", 8, &c, &s, &d), 0);
	EXPECT_EQ(nr_smtpc_parse_enhanced("5.1.1x", 6, &c, &s, &d), 0);
	EXPECT_EQ(nr_smtpc_parse_enhanced("5..1", 4, &c, &s, &d), 0);
	EXPECT_EQ(nr_smtpc_parse_enhanced("5.1.", 4, &c, &s, &d), 0);
	EXPECT_EQ(nr_smtpc_parse_enhanced("Ok", 2, &c, &s, &d), 0);

	/* A class that contradicts the reply code is not taken. */
	size_t used;
	nr_smtpc_reply_init(&a, 0);
	ASSERT_EQ(feed_str("250 5.0.0 odd\r\n", &used), 1);
	EXPECT_EQ(nr_smtpc_reply_get(&a)->enh_class, 0);
}

static int feed_err(const char *in, unsigned flags)
{
	size_t used;

	nr_smtpc_reply_init(&a, flags);
	return nr_smtpc_reply_feed(&a, in, strlen(in), &used);
}

TEST(malformed)
{
	EXPECT_EQ(feed_err("2x0 ok\r\n", 0), NR_EPROTO);
	EXPECT_EQ(feed_err("25\r\n", 0), NR_EPROTO);
	EXPECT_EQ(feed_err("\r\n", 0), NR_EPROTO);
	EXPECT_EQ(feed_err("250ok\r\n", 0), NR_EPROTO);
	EXPECT_EQ(feed_err("150 ok\r\n", 0), NR_EPROTO);
	EXPECT_EQ(feed_err("650 ok\r\n", 0), NR_EPROTO);
	EXPECT_EQ(feed_err("250-a\r\n251 b\r\n", 0), NR_EPROTO);
	EXPECT_EQ(feed_err("250-a\r\n250-b\r\nhello\r\n", 0), NR_EPROTO);
	EXPECT_EQ(feed_err("+OK POP3 ready\r\n", 0), NR_EPROTO);
	/* Errors are sticky. */
	size_t used;
	EXPECT_EQ(nr_smtpc_reply_feed(&a, "250 ok\r\n", 8, &used), NR_EPROTO);
}

TEST(bare_lf)
{
	size_t used;

	EXPECT_EQ(feed_err("250 ok\n", 0), 1);
	EXPECT_STREQ(nr_smtpc_reply_get(&a)->text, "ok");
	EXPECT_EQ(feed_err("250-a\n250 ok\r\n", 0), 1);
	EXPECT_EQ(nr_smtpc_reply_get(&a)->lines, 2);
	EXPECT_EQ(feed_err("250 ok\n", NR_SMTPC_REPLY_STRICT), NR_EPROTO);
	EXPECT_EQ(feed_err("250 ok\r\n", NR_SMTPC_REPLY_STRICT), 1);
	/* A bare CR is text, shown as '?'. */
	EXPECT_EQ(feed_err("250 a\rb\r\n", NR_SMTPC_REPLY_STRICT), 1);
	EXPECT_STREQ(nr_smtpc_reply_get(&a)->text, "a?b");
	nr_smtpc_reply_init(&a, 0);
	ASSERT_EQ(nr_smtpc_reply_feed(&a, "250 a\0b\x1b\r\n", 10, &used), 1);
	EXPECT_STREQ(nr_smtpc_reply_get(&a)->text, "a?b?");
}

TEST(line_length_bound)
{
	static char in[NR_SMTPC_REPLY_LINE_MAX + 8];
	size_t used;

	/* Exactly NR_SMTPC_REPLY_LINE_MAX octets with CRLF: accepted. */
	memset(in, 'x', sizeof(in));
	memcpy(in, "250 ", 4);
	memcpy(in + NR_SMTPC_REPLY_LINE_MAX - 2, "\r\n", 2);
	nr_smtpc_reply_init(&a, 0);
	ASSERT_EQ(nr_smtpc_reply_feed(&a, in, NR_SMTPC_REPLY_LINE_MAX, &used), 1);
	EXPECT_EQ(nr_smtpc_reply_get(&a)->text_truncated, 1);
	EXPECT_EQ(strlen(nr_smtpc_reply_get(&a)->text), NR_SMTPC_REPLY_TEXT_MAX - 1);
	/* One more: refused. */
	memset(in, 'x', sizeof(in));
	memcpy(in, "250 ", 4);
	memcpy(in + NR_SMTPC_REPLY_LINE_MAX - 1, "\r\n", 2);
	nr_smtpc_reply_init(&a, 0);
	EXPECT_EQ(nr_smtpc_reply_feed(&a, in, NR_SMTPC_REPLY_LINE_MAX + 1, &used), NR_ETOOBIG);
	/* An endless line without LF is refused too, fed in small chunks. */
	int ret = 0, i;
	nr_smtpc_reply_init(&a, 0);
	for (i = 0; i < 200 && ret == 0; i++)
		ret = nr_smtpc_reply_feed(&a, "250 xxxxxxxx", 12, &used);
	EXPECT_EQ(ret, NR_ETOOBIG);
}

TEST(line_count_bound)
{
	size_t used;
	int i, ret = 0;

	nr_smtpc_reply_init(&a, 0);
	for (i = 0; i < CONFIG_NR_MAX_REPLY_LINES - 1; i++)
		ASSERT_EQ(nr_smtpc_reply_feed(&a, "250-x\r\n", 7, &used), 0);
	ASSERT_EQ(nr_smtpc_reply_feed(&a, "250 x\r\n", 7, &used), 1);
	EXPECT_EQ(nr_smtpc_reply_get(&a)->lines, CONFIG_NR_MAX_REPLY_LINES);

	nr_smtpc_reply_init(&a, 0);
	for (i = 0; i < CONFIG_NR_MAX_REPLY_LINES + 1 && ret == 0; i++)
		ret = nr_smtpc_reply_feed(&a, "250-x\r\n", 7, &used);
	EXPECT_EQ(ret, NR_ETOOBIG);
	EXPECT_EQ(i, CONFIG_NR_MAX_REPLY_LINES + 1);
}

static struct nr_smtpc_caps caps_of(const char *line)
{
	struct nr_smtpc_caps c = {0, 0, 0};

	nr_smtpc_caps_parse_line(&c, line, strlen(line));
	return c;
}

TEST(caps_lines)
{
	EXPECT_EQ(caps_of("STARTTLS").caps, NR_SMTPC_CAP_STARTTLS);
	EXPECT_EQ(caps_of("starttls").caps, NR_SMTPC_CAP_STARTTLS);
	EXPECT_EQ(caps_of("STARTTLSX").caps, 0);
	EXPECT_EQ(caps_of("START").caps, 0);
	EXPECT_EQ(caps_of("").caps, 0);
	EXPECT_EQ(caps_of("DSN").caps, NR_SMTPC_CAP_DSN);
	EXPECT_EQ(caps_of("SIZE").caps, NR_SMTPC_CAP_SIZE);
	EXPECT_EQ(caps_of("SIZE").size_max, 0);
	EXPECT_EQ(caps_of("SIZE 0").size_max, 0);
	EXPECT_EQ(caps_of("SIZE 10240000").size_max, 10240000);
	EXPECT_EQ(caps_of("SIZE 12abc").size_max, 0);
	EXPECT_TRUE(caps_of("SIZE 99999999999999999999999").size_max == UINT64_MAX);
	EXPECT_EQ(caps_of("AUTH").caps, NR_SMTPC_CAP_AUTH);
	EXPECT_EQ(caps_of("AUTH").auth, 0);
	EXPECT_EQ(caps_of("AUTH PLAIN LOGIN CRAM-MD5").auth,
		  NR_SMTPC_AUTH_PLAIN | NR_SMTPC_AUTH_LOGIN | NR_SMTPC_AUTH_CRAM_MD5);
	EXPECT_EQ(caps_of("AUTH=LOGIN PLAIN").auth, NR_SMTPC_AUTH_LOGIN | NR_SMTPC_AUTH_PLAIN);
	EXPECT_EQ(caps_of("auth  cram-md5  xoauth2 ").auth,
		  NR_SMTPC_AUTH_CRAM_MD5 | NR_SMTPC_AUTH_XOAUTH2);
	EXPECT_EQ(caps_of("AUTH PLAINX LOGINS").auth, 0);
	EXPECT_EQ(caps_of("X-PIPELINING").caps, 0);
	EXPECT_EQ(caps_of("PIPELINING=1").caps, 0);
}

TEST(caps_not_from_first_line)
{
	size_t used;

	/* The greeting line of an EHLO reply is not a keyword. */
	nr_smtpc_reply_init(&a, 0);
	ASSERT_EQ(feed_str("250 STARTTLS\r\n", &used), 1);
	EXPECT_EQ(nr_smtpc_reply_get(&a)->caps.caps, 0);
	/* Each reply starts with fresh caps. */
	ASSERT_EQ(feed_str("250-x\r\n250 STARTTLS\r\n", &used), 1);
	EXPECT_EQ(nr_smtpc_reply_get(&a)->caps.caps, NR_SMTPC_CAP_STARTTLS);
	ASSERT_EQ(feed_str("250-x\r\n250 SIZE 5\r\n", &used), 1);
	EXPECT_EQ(nr_smtpc_reply_get(&a)->caps.caps, NR_SMTPC_CAP_SIZE);
}

int main(void)
{
	RUN(single_line);
	RUN(code_only_and_empty_continuation);
	RUN(multiline_ehlo_caps);
	RUN(byte_at_a_time_equals_whole);
	RUN(pipelined_replies_one_at_a_time);
	RUN(starttls_injection_is_visible);
	RUN(multiline_enhanced_text_joined);
	RUN(enhanced_code_syntax);
	RUN(malformed);
	RUN(bare_lf);
	RUN(line_length_bound);
	RUN(line_count_bound);
	RUN(caps_lines);
	RUN(caps_not_from_first_line);
	return TEST_REPORT();
}
