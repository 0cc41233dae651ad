/* test_proto.c - line reader, replies, paths, base64, body filter, dot-stuffer. */
#include <stdint.h>
#include <string.h>

#include "proto/base64.h"
#include "proto/proto.h"
#include "test.h"

/* ---- line reader ---- */

static void buf_set(struct nr_buf *b, uint8_t *mem, size_t cap, const char *s)
{
	nr_buf_init(b, mem, cap);
	size_t n = strlen(s);
	memcpy(mem, s, n);
	b->wpos = n;
}

TEST(line_crlf_and_lf)
{
	uint8_t mem[64];
	struct nr_buf b;
	struct nr_line_reader lr;
	const char *l;
	size_t n;
	enum nr_line_end e;

	nr_line_reader_init(&lr, 10);
	buf_set(&b, mem, sizeof(mem), "HELO a\r\nNOOP\nQU");
	ASSERT_EQ(nr_line_next(&lr, &b, &l, &n, &e), 1);
	EXPECT_EQ(n, 6);
	EXPECT_MEMEQ(l, "HELO a", 6);
	EXPECT_EQ(e, NR_LINE_CRLF);
	ASSERT_EQ(nr_line_next(&lr, &b, &l, &n, &e), 1);
	EXPECT_EQ(n, 4);
	EXPECT_MEMEQ(l, "NOOP", 4);
	EXPECT_EQ(e, NR_LINE_LF);
	EXPECT_EQ(nr_line_next(&lr, &b, &l, &n, &e), 0);
	EXPECT_EQ(nr_buf_len(&b), 2);
}

TEST(line_at_limit_and_past)
{
	uint8_t mem[64];
	struct nr_buf b;
	struct nr_line_reader lr;
	const char *l;
	size_t n;
	enum nr_line_end e;

	nr_line_reader_init(&lr, 10);
	buf_set(&b, mem, sizeof(mem), "0123456789\r\n0123456789A\r\nok\r\n");
	ASSERT_EQ(nr_line_next(&lr, &b, &l, &n, &e), 1);
	EXPECT_EQ(n, 10);
	EXPECT_EQ(e, NR_LINE_CRLF);
	ASSERT_EQ(nr_line_next(&lr, &b, &l, &n, &e), 1);
	EXPECT_EQ(e, NR_LINE_TOOLONG);
	EXPECT_EQ(n, 0);
	ASSERT_EQ(nr_line_next(&lr, &b, &l, &n, &e), 1);
	EXPECT_EQ(n, 2);
	EXPECT_EQ(e, NR_LINE_CRLF);
}

TEST(line_too_long_resyncs_without_buffering)
{
	uint8_t mem[32];
	struct nr_buf b;
	struct nr_line_reader lr;
	const char *l;
	size_t n;
	enum nr_line_end e;

	nr_line_reader_init(&lr, 10);
	buf_set(&b, mem, sizeof(mem), "AAAAAAAAAAAAAAAAAAAA");
	EXPECT_EQ(nr_line_next(&lr, &b, &l, &n, &e), 0);
	EXPECT_EQ(nr_buf_len(&b), 0); /* dropped, not kept */
	buf_set(&b, mem, sizeof(mem), "AAAAAAAAAAAAAAAAAAAAAAAAAAA");
	EXPECT_EQ(nr_line_next(&lr, &b, &l, &n, &e), 0);
	EXPECT_EQ(nr_buf_len(&b), 0);
	buf_set(&b, mem, sizeof(mem), "AAA\r\nNOOP\r\n");
	ASSERT_EQ(nr_line_next(&lr, &b, &l, &n, &e), 1);
	EXPECT_EQ(e, NR_LINE_TOOLONG);
	ASSERT_EQ(nr_line_next(&lr, &b, &l, &n, &e), 1);
	EXPECT_EQ(e, NR_LINE_CRLF);
	EXPECT_MEMEQ(l, "NOOP", 4);
	/* max + CR is still waiting for its LF, not too long */
	buf_set(&b, mem, sizeof(mem), "0123456789\r");
	EXPECT_EQ(nr_line_next(&lr, &b, &l, &n, &e), 0);
	EXPECT_EQ(nr_buf_len(&b), 11);
}

/* ---- replies ---- */

static char replybuf[2048];

static const char *reply_text(struct nr_buf *b)
{
	size_t n = nr_buf_len(b);
	memcpy(replybuf, nr_buf_head(b), n);
	replybuf[n] = '\0';
	return replybuf;
}

TEST(reply_single_and_multi)
{
	uint8_t mem[1024];
	struct nr_buf b;
	nr_buf_init(&b, mem, sizeof(mem));
	ASSERT_EQ(nr_reply_put(&b, 250, "2.1.0", "Ok %s", "x\r\ny"), 0);
	EXPECT_STREQ(reply_text(&b), "250 2.1.0 Ok x??y\r\n");
	nr_buf_reset(&b);
	const char *lines[] = {"nas.lan", "PIPELINING", "SIZE 100"};
	ASSERT_EQ(nr_reply_put_lines(&b, 250, NULL, lines, 3), 0);
	EXPECT_STREQ(reply_text(&b), "250-nas.lan\r\n250-PIPELINING\r\n250 SIZE 100\r\n");
	nr_buf_reset(&b);
	ASSERT_EQ(nr_reply_put_lines(&b, 214, "2.0.0", lines, 2), 0);
	EXPECT_STREQ(reply_text(&b), "214-2.0.0 nas.lan\r\n214 2.0.0 PIPELINING\r\n");
}

TEST(reply_full_is_all_or_nothing)
{
	uint8_t mem[30];
	struct nr_buf b;
	nr_buf_init(&b, mem, sizeof(mem));
	const char *lines[] = {"0123456789", "0123456789", "0123456789"};
	EXPECT_EQ(nr_reply_put_lines(&b, 250, NULL, lines, 3), NR_EFULL);
	EXPECT_EQ(nr_buf_len(&b), 0);
	char big[600];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	uint8_t mem2[1024];
	nr_buf_init(&b, mem2, sizeof(mem2));
	ASSERT_EQ(nr_reply_put(&b, 500, "5.5.2", "%s", big), 0);
	EXPECT_EQ(nr_buf_len(&b), 512); /* cut to the 512-octet limit */
	EXPECT_MEMEQ(nr_buf_head(&b) + 510, "\r\n", 2);
}

/* ---- paths ---- */

static enum nr_path_result mail(const char *s, char *addr, struct nr_mail_params *p)
{
	return nr_parse_mail_from(s, strlen(s), addr, p);
}

static enum nr_path_result rcpt(const char *s, char *addr)
{
	return nr_parse_rcpt_to(s, strlen(s), addr);
}

TEST(path_basic)
{
	char a[NR_PATH_MAX + 1];
	struct nr_mail_params p;
	EXPECT_EQ(mail(" FROM:<a@b.example>", a, &p), NR_PATH_OK);
	EXPECT_STREQ(a, "a@b.example");
	EXPECT_EQ(mail(" from:<>", a, &p), NR_PATH_OK);
	EXPECT_STREQ(a, "");
	EXPECT_EQ(mail(" FROM: <printer@lan>", a, &p), NR_PATH_OK);
	EXPECT_STREQ(a, "printer@lan");
	EXPECT_EQ(mail(" FROM:printer@lan SIZE=10", a, &p), NR_PATH_OK);
	EXPECT_STREQ(a, "printer@lan");
	EXPECT_EQ(p.size, 10);
	EXPECT_EQ(mail(" FROM:<\"john doe\"@x.y>", a, &p), NR_PATH_OK);
	EXPECT_STREQ(a, "\"john doe\"@x.y");
	EXPECT_EQ(mail(" FROM:<\"a\\\"b\"@x>", a, &p), NR_PATH_OK);
	EXPECT_EQ(rcpt(" TO:<root>", a), NR_PATH_OK);
	EXPECT_STREQ(a, "root");
	EXPECT_EQ(rcpt(" TO:<u%other@relay.example>", a), NR_PATH_OK);
	EXPECT_STREQ(a, "u%other@relay.example");
	EXPECT_EQ(rcpt(" TO:<host!user@x>", a), NR_PATH_OK);
	EXPECT_EQ(rcpt(" TO:<u@[192.168.1.1]>", a), NR_PATH_OK);
	EXPECT_STREQ(a, "u@[192.168.1.1]");
}

TEST(path_rejects)
{
	char a[NR_PATH_MAX + 1];
	struct nr_mail_params p;
	EXPECT_EQ(rcpt(" TO:<@a,@b:u@c>", a), NR_PATH_ROUTE);
	EXPECT_EQ(rcpt(" TO:<@a:u@c>", a), NR_PATH_ROUTE);
	EXPECT_EQ(rcpt(" TO:<>", a), NR_PATH_NULL_RCPT);
	EXPECT_EQ(rcpt(" TO:", a), NR_PATH_SYNTAX);
	EXPECT_EQ(rcpt(" FROM:<a@b>", a), NR_PATH_SYNTAX);
	EXPECT_EQ(mail(" FROM:<a@b", a, &p), NR_PATH_BADADDR);
	EXPECT_EQ(mail(" FROM:<a b@c>", a, &p), NR_PATH_BADADDR);
	EXPECT_EQ(mail(" FROM:<a@-b.c>", a, &p), NR_PATH_BADADDR);
	EXPECT_EQ(mail(" FROM:<a@b..c>", a, &p), NR_PATH_BADADDR);
	EXPECT_EQ(mail(" FROM:<a@b.c->", a, &p), NR_PATH_BADADDR);
	EXPECT_EQ(mail(" FROM:<\"a\rb\"@c>", a, &p), NR_PATH_BADADDR);
	EXPECT_EQ(nr_parse_mail_from(" FROM:<a\0b@c>", 14, a, &p), NR_PATH_BADADDR);
	EXPECT_EQ(mail(" FROM:<\xc3\xa9@c>", a, &p), NR_PATH_BADADDR);
	EXPECT_EQ(mail(" FROM:<a@b> FOO=1", a, &p), NR_PATH_PARAM);
	EXPECT_EQ(mail(" FROM:<a@b> BODY=BINARYMIME", a, &p), NR_PATH_PARAM);
	EXPECT_EQ(mail(" FROM:<a@b> SIZE=abc", a, &p), NR_PATH_PARAM);
	EXPECT_EQ(mail(" FROM:<a@b> SIZE=99999999999999999999", a, &p), NR_PATH_PARAM);
	EXPECT_EQ(rcpt(" TO:<a@b> NOTIFY=NEVER", a), NR_PATH_PARAM);
	EXPECT_STREQ(a, "");
}

TEST(path_params)
{
	char a[NR_PATH_MAX + 1];
	struct nr_mail_params p;
	EXPECT_EQ(mail(" FROM:<a@b> size=1000 BODY=8bitmime AUTH=<>", a, &p), NR_PATH_OK);
	EXPECT_EQ(p.has_size, 1);
	EXPECT_EQ(p.size, 1000);
	EXPECT_EQ(p.body, NR_BODY_8BITMIME);
	EXPECT_EQ(mail(" FROM:<a@b> BODY=7BIT", a, &p), NR_PATH_OK);
	EXPECT_EQ(p.body, NR_BODY_7BIT);
	EXPECT_EQ(p.has_size, 0);
}

TEST(path_lengths)
{
	char a[NR_PATH_MAX + 1];
	char s[600];
	struct nr_mail_params p;
	/* local part 64 ok, 65 too long */
	strcpy(s, " FROM:<");
	memset(s + 7, 'l', 64);
	strcpy(s + 71, "@d>");
	EXPECT_EQ(mail(s, a, &p), NR_PATH_OK);
	memset(s + 7, 'l', 65);
	strcpy(s + 72, "@d>");
	EXPECT_EQ(mail(s, a, &p), NR_PATH_TOOLONG);
	/* path: "<" + 64 + "@" + 189 + ">" = 256 ok; one more label char: 257 */
	strcpy(s, " FROM:<");
	memset(s + 7, 'l', 64);
	s[71] = '@';
	size_t d = 72;
	for (int i = 0; i < 189; i++)
		s[d++] = (i % 50 == 49) ? '.' : 'd';
	strcpy(s + d, ">");
	EXPECT_EQ(mail(s, a, &p), NR_PATH_OK);
	EXPECT_EQ(strlen(a), 254);
	s[d++] = 'd';
	strcpy(s + d, ">");
	EXPECT_EQ(mail(s, a, &p), NR_PATH_TOOLONG);
}

/* ---- base64 ---- */

TEST(dot_atom)
{
	static const char *const yes[] = {"a", "john.doe", "x+tag", "!#$%&'*+-/=?^_`{|}~", "A.B.C"};
	static const char *const no[] = {"",     ".a",   "a.",  "a..b", "a b",
					 "a\"b", "(c)",  "a@b", "a,b",  "\xc3\xa9",
					 "a\\b", "a[1]", "a:b", "a;b",  "a<b>"};
	size_t i;

	for (i = 0; i < NR_ARRAY_LEN(yes); i++)
		EXPECT_EQ(nr_is_dot_atom(yes[i], strlen(yes[i])), 1);
	for (i = 0; i < NR_ARRAY_LEN(no); i++)
		EXPECT_EQ(nr_is_dot_atom(no[i], strlen(no[i])), 0);
	/* only len bytes count; a NUL inside is not atext */
	EXPECT_EQ(nr_is_dot_atom("ab.", 2), 1);
	EXPECT_EQ(nr_is_dot_atom("a\0b", 3), 0);
}

TEST(base64_roundtrip_and_strictness)
{
	char enc[64];
	uint8_t dec[64];
	EXPECT_EQ(nr_base64_encode("\0u\0p", 4, enc, sizeof(enc)), 8);
	EXPECT_STREQ(enc, "AHUAcA==");
	EXPECT_EQ(nr_base64_decode("AHUAcA==", 8, dec, sizeof(dec)), 4);
	EXPECT_MEMEQ(dec, "\0u\0p", 4);
	EXPECT_EQ(nr_base64_encode("abc", 3, enc, sizeof(enc)), 4);
	EXPECT_STREQ(enc, "YWJj");
	EXPECT_EQ(nr_base64_encode("ab", 2, enc, sizeof(enc)), 4);
	EXPECT_STREQ(enc, "YWI=");
	EXPECT_EQ(nr_base64_encode("", 0, enc, sizeof(enc)), 0);
	EXPECT_EQ(nr_base64_encode("abc", 3, enc, 4), NR_EFULL);
	EXPECT_EQ(nr_base64_decode("", 0, dec, sizeof(dec)), 0);
	EXPECT_EQ(nr_base64_decode("YWJ", 3, dec, sizeof(dec)), NR_EINVAL);
	EXPECT_EQ(nr_base64_decode("YW J", 4, dec, sizeof(dec)), NR_EINVAL);
	EXPECT_EQ(nr_base64_decode("YW=j", 4, dec, sizeof(dec)), NR_EINVAL);
	EXPECT_EQ(nr_base64_decode("YWJ=YWJj", 8, dec, sizeof(dec)), NR_EINVAL);
	EXPECT_EQ(nr_base64_decode("YWJ=", 4, dec, sizeof(dec)), NR_EINVAL); /* bits */
	EXPECT_EQ(nr_base64_decode("YR==", 4, dec, sizeof(dec)), NR_EINVAL);
	EXPECT_EQ(nr_base64_decode("YQ==", 4, dec, sizeof(dec)), 1);
	EXPECT_EQ(nr_base64_decode("YWJj", 4, dec, 2), NR_EFULL);
	EXPECT_EQ(nr_base64_decode("====", 4, dec, sizeof(dec)), NR_EINVAL);
}

/* ---- body filter ---- */

struct sink {
	char data[8192];
	size_t len;
	int fail_after;
	int calls;
};

static int sink_emit(void *arg, const void *p, size_t n)
{
	struct sink *s = arg;
	s->calls++;
	if (s->fail_after && s->calls > s->fail_after)
		return NR_EFULL;
	if (n > NR_BODY_OUT_CHUNK || s->len + n > sizeof(s->data))
		return NR_EIO;
	memcpy(s->data + s->len, p, n);
	s->len += n;
	s->data[s->len] = '\0';
	return 0;
}

static struct nr_body body;
static struct sink sk;

/* Feed in (one chunk), returns consumed; the sink holds the result. */
static size_t run_body(const char *in, size_t len, const char *date, const char *msgid)
{
	struct nr_body_conf c = {0};
	c.emit = sink_emit;
	c.arg = &sk;
	c.date_header = date;
	c.msgid_header = msgid;
	memset(&sk, 0, sizeof(sk));
	nr_body_init(&body, &c);
	size_t n = nr_body_feed(&body, in, len);
	if (nr_body_done(&body))
		nr_body_finish(&body);
	return n;
}

#define RUN_BODY(s) run_body(s, sizeof(s) - 1, NULL, NULL)

TEST(body_plain_end)
{
	const char in[] = "Subject: x\r\n\r\nhello\r\n..dot\r\n.\r\nQUIT\r\n";
	EXPECT_EQ(RUN_BODY(in), sizeof(in) - 1 - 6);
	EXPECT_TRUE(nr_body_done(&body));
	EXPECT_STREQ(sk.data, "Subject: x\r\n\r\nhello\r\n.dot\r\n");
	EXPECT_EQ(body.flags & NR_BODYF_FATAL, 0);
}

TEST(body_empty_message)
{
	EXPECT_EQ(RUN_BODY(".\r\n"), 3);
	EXPECT_TRUE(nr_body_done(&body));
	EXPECT_EQ(sk.len, 0);
}

/* Each smuggling variant: the smuggled commands are content and the message
 * ends only at the real CRLF.CRLF. */
TEST(body_smuggling_variants)
{
	static const char *const seps[] = {"\n.\n", "\n.\r\n", "\r\n.\n", "\r.\r", "\r\n.\r\r\n"};
	static const char *const want[] = {
	    "a: b\r\n\r\nx\r\n.\r\nMAIL FROM:<e@vil>\r\n",
	    "a: b\r\n\r\nx\r\n.\r\nMAIL FROM:<e@vil>\r\n",
	    "a: b\r\n\r\nx\r\n.\r\nMAIL FROM:<e@vil>\r\n",
	    "a: b\r\n\r\nx . MAIL FROM:<e@vil>\r\n",
	    "a: b\r\n\r\nx\r\n \r\nMAIL FROM:<e@vil>\r\n",
	};
	for (size_t i = 0; i < NR_ARRAY_LEN(seps); i++) {
		char in[256];
		snprintf(in, sizeof(in), "a: b\r\n\r\nx%sMAIL FROM:<e@vil>\r\n.\r\nNEXT", seps[i]);
		size_t len = strlen(in);
		EXPECT_EQ(run_body(in, len, NULL, NULL), len - 4);
		EXPECT_TRUE(nr_body_done(&body));
		EXPECT_STREQ(sk.data, want[i]);
	}
}

TEST(body_nul_before_dot)
{
	const char in[] = "a: b\r\n\r\nx\r\n\0.\r\nRCPT TO:<x@y>\r\n.\r\n";
	EXPECT_EQ(RUN_BODY(in), sizeof(in) - 1);
	EXPECT_TRUE(nr_body_done(&body));
	EXPECT_TRUE(body.flags & NR_BODYF_NUL);
}

TEST(body_bare_lf_normalised_and_flagged)
{
	const char in[] = "a: b\n\nline1\nline2\r\n.\r\n";
	RUN_BODY(in);
	EXPECT_STREQ(sk.data, "a: b\r\n\r\nline1\r\nline2\r\n");
	EXPECT_TRUE(body.flags & NR_BODYF_BARE_LF);
}

TEST(body_stray_cr_becomes_space)
{
	const char in[] = "a: b\r\n\r\nx\ry\r\r\n.\r\n";
	RUN_BODY(in);
	EXPECT_STREQ(sk.data, "a: b\r\n\r\nx y \r\n");
	EXPECT_TRUE(body.flags & NR_BODYF_STRAY_CR);
}

TEST(body_folds_long_lines)
{
	static char in[3000];
	static char want[3100];
	size_t n = 0, w = 0;
	memcpy(in, "a: b\r\n\r\n", 8);
	memcpy(want, in, 8);
	n = w = 8;
	for (int i = 0; i < 998; i++)
		in[n++] = want[w++] = 'x';
	in[n++] = 'y';
	memcpy(want + w, "\r\n y", 4);
	w += 4;
	memcpy(in + n, "\r\n.\r\n", 5);
	n += 5;
	memcpy(want + w, "\r\n", 3);
	run_body(in, n, NULL, NULL);
	EXPECT_STREQ(sk.data, want);
	EXPECT_TRUE(body.flags & NR_BODYF_FOLDED);
	/* exactly 998 is not folded */
	n = 8;
	for (int i = 0; i < 998; i++)
		in[n++] = 'x';
	memcpy(in + n, "\r\n.\r\n", 5);
	n += 5;
	run_body(in, n, NULL, NULL);
	EXPECT_EQ(sk.len, 8 + 998 + 2);
	EXPECT_EQ(body.flags & NR_BODYF_FOLDED, 0);
}

TEST(body_headers_counted_and_added)
{
	const char in[] = "Received: a\r\nreceived: b\r\n\tcont\r\nSubject: s\r\n\r\nbody\r\n.\r\n";
	run_body(in, sizeof(in) - 1, "Date: D\r\n", "Message-ID: <m@x>\r\n");
	EXPECT_EQ(body.received, 2);
	EXPECT_STREQ(sk.data, "Received: a\r\nreceived: b\r\n\tcont\r\nSubject: s\r\n"
			      "Date: D\r\nMessage-ID: <m@x>\r\n\r\nbody\r\n");
	const char in2[] = "DATE: x\r\nMessage-Id: <y>\r\n\r\nb\r\n.\r\n";
	run_body(in2, sizeof(in2) - 1, "Date: D\r\n", "Message-ID: <m@x>\r\n");
	EXPECT_STREQ(sk.data, "DATE: x\r\nMessage-Id: <y>\r\n\r\nb\r\n");
	/* no header block at all: the body starts at once */
	const char in3[] = "just text\r\n.\r\n";
	run_body(in3, sizeof(in3) - 1, "Date: D\r\n", NULL);
	EXPECT_STREQ(sk.data, "Date: D\r\n\r\njust text\r\n");
	/* headers only, no body */
	const char in4[] = "Subject: s\r\n.\r\n";
	run_body(in4, sizeof(in4) - 1, "Date: D\r\n", NULL);
	EXPECT_STREQ(sk.data, "Subject: s\r\nDate: D\r\n");
}

TEST(body_limits)
{
	struct nr_body_conf c = {0};
	c.emit = sink_emit;
	c.arg = &sk;
	c.max_size = 20;
	memset(&sk, 0, sizeof(sk));
	nr_body_init(&body, &c);
	const char ok[] = "a: b\r\n\r\n0123456789\r\n.\r\n"; /* 20 canonical bytes */
	nr_body_feed(&body, ok, sizeof(ok) - 1);
	EXPECT_EQ(nr_body_finish(&body) & NR_BODYF_TOOBIG, 0);
	EXPECT_EQ(sk.len, 20);
	memset(&sk, 0, sizeof(sk));
	nr_body_init(&body, &c);
	const char big[] = "a: b\r\n\r\n01234567890\r\n.\r\nX";
	EXPECT_EQ(nr_body_feed(&body, big, sizeof(big) - 1), sizeof(big) - 2);
	EXPECT_TRUE(nr_body_finish(&body) & NR_BODYF_TOOBIG);
	EXPECT_EQ(sk.len, 0);

	c.max_size = 0;
	c.max_header = 10;
	memset(&sk, 0, sizeof(sk));
	nr_body_init(&body, &c);
	const char hdr[] = "Subject: 1234567\r\n\r\nx\r\n.\r\n";
	nr_body_feed(&body, hdr, sizeof(hdr) - 1);
	EXPECT_TRUE(nr_body_finish(&body) & NR_BODYF_HDRBIG);
}

TEST(body_emit_error_and_chunks)
{
	static char in[10000];
	size_t n = 0;
	memcpy(in, "a: b\r\n\r\n", 8);
	n = 8;
	for (int l = 0; l < 50; l++) {
		memset(in + n, 'a' + l % 26, 100);
		n += 100;
		in[n++] = '\r';
		in[n++] = '\n';
	}
	memcpy(in + n, ".\r\n", 3);
	n += 3;
	struct nr_body_conf c = {0};
	c.emit = sink_emit;
	c.arg = &sk;
	memset(&sk, 0, sizeof(sk));
	sk.fail_after = 1;
	nr_body_init(&body, &c);
	EXPECT_EQ(nr_body_feed(&body, in, n), n);
	unsigned f = nr_body_finish(&body);
	EXPECT_TRUE(f & NR_BODYF_EMIT_ERR);
	EXPECT_EQ(body.emit_err, NR_EFULL);
	EXPECT_EQ(sk.calls, 2);
	EXPECT_EQ(sk.len, NR_BODY_OUT_CHUNK);
}

TEST(body_8bit)
{
	RUN_BODY("a: b\r\n\r\n\xc3\xa9\r\n.\r\n");
	EXPECT_TRUE(body.flags & NR_BODYF_8BIT);
	RUN_BODY("a: b\r\n\r\nplain\r\n.\r\n");
	EXPECT_EQ(body.flags & NR_BODYF_8BIT, 0);
}

TEST(body_byte_at_a_time_equals_one_chunk)
{
	const char in[] = "Subject: x\n\r\n.a\r\n.\n\r.\r\r\n.\r\r\nz\r\r\n.\r\nREST";
	run_body(in, sizeof(in) - 1, "Date: D\r\n", NULL);
	char once[512];
	strcpy(once, sk.data);
	struct nr_body_conf c = {0};
	c.emit = sink_emit;
	c.arg = &sk;
	c.date_header = "Date: D\r\n";
	memset(&sk, 0, sizeof(sk));
	nr_body_init(&body, &c);
	size_t used = 0;
	for (size_t i = 0; i < sizeof(in) - 1 && !nr_body_done(&body); i++)
		used += nr_body_feed(&body, in + i, 1);
	nr_body_finish(&body);
	EXPECT_EQ(used, sizeof(in) - 1 - 4);
	EXPECT_STREQ(sk.data, once);
	EXPECT_STREQ(once, "Subject: x\r\nDate: D\r\n\r\na\r\n.\r\n . \r\n \r\nz \r\n");
}

static uint64_t split_max_size;

/* Feed in as chunks of at most `step` bytes (0: one chunk); the sink
 * holds the output. Returns the bytes consumed. */
static size_t run_body_split(const uint8_t *in, size_t len, size_t step, uint32_t *seed)
{
	struct nr_body_conf c = {0};
	c.emit = sink_emit;
	c.arg = &sk;
	c.date_header = "Date: D\r\n";
	c.max_size = split_max_size;
	memset(&sk, 0, sizeof(sk));
	nr_body_init(&body, &c);
	size_t used = 0;
	while (used < len && !nr_body_done(&body)) {
		size_t k = len - used;
		if (step) {
			*seed = *seed * 1103515245u + 12345u;
			k = NR_MIN(k, 1 + (*seed >> 8) % step);
		}
		size_t got = nr_body_feed(&body, in + used, k);
		used += got;
		if (got < k)
			break;
	}
	if (nr_body_done(&body))
		nr_body_finish(&body);
	return used;
}

/* The bulk paths (runs of ordinary bytes, 8 at a time) against the same
 * filter fed one byte per call, on random input rich in CR, LF, dots, NUL,
 * 8-bit bytes and long runs (folding, the size limit). */
TEST(body_bulk_equals_byte_at_a_time_on_random_input)
{
	static const uint8_t alphabet[] = "\r\n.\r\n.:\0 aZ\x80\xff\xc3\t";
	static uint8_t in[3000];
	static char once[sizeof(sk.data)];
	uint32_t seed = 12345;
	for (int round = 0; round < 3000; round++) {
		size_t len = 0;
		seed = seed * 1103515245u + 12345u;
		size_t want = 1 + (seed >> 8) % (sizeof(in) - 16);
		while (len < want) {
			seed = seed * 1103515245u + 12345u;
			uint32_t r = seed >> 8;
			if (r % 5 == 0) { /* a run of ordinary bytes, sometimes 8-bit */
				size_t run = NR_MIN((size_t)(r >> 3) % 1200, want - len);
				for (size_t i = 0; i < run; i++)
					in[len++] = (r & 0x40) && i == run / 2
							? 0xe9
							: (uint8_t)('a' + i % 26);
			} else {
				in[len++] = alphabet[(r >> 3) % (sizeof(alphabet) - 1)];
			}
		}
		if (round % 2)
			memcpy(in + len, "\r\n.\r\n", 5), len += 5;
		split_max_size = round % 3 == 0 ? 2500 : 0;
		size_t u1 = run_body_split(in, len, 0, &seed);
		unsigned f1 = body.flags;
		uint64_t s1 = body.size;
		memcpy(once, sk.data, sk.len + 1);
		size_t l1 = sk.len;
		size_t u2 = run_body_split(in, len, 1, &seed);
		if (u1 != u2 || f1 != body.flags || s1 != body.size || l1 != sk.len ||
		    memcmp(once, sk.data, l1) != 0) {
			NR_TEST_FAIL_("round %d: one chunk used %zu flags %x size %llu out %zu; "
				      "bytewise used %zu flags %x size %llu out %zu",
				      round, u1, f1, (unsigned long long)s1, l1, u2, body.flags,
				      (unsigned long long)body.size, sk.len);
			return;
		}
		size_t u3 = run_body_split(in, len, 37, &seed);
		if (u1 != u3 || f1 != body.flags || l1 != sk.len ||
		    memcmp(once, sk.data, l1) != 0) {
			NR_TEST_FAIL_("round %d: random chunks differ", round);
			return;
		}
	}
}

/* ---- dot-stuffing ---- */

TEST(dotstuff_basic)
{
	struct nr_dotstuff d;
	uint8_t out[64];
	size_t used;
	nr_dotstuff_init(&d);
	const char in[] = ".a\r\nb\r\n..\r\n.";
	size_t n = nr_dotstuff(&d, in, sizeof(in) - 1, out, sizeof(out), &used);
	EXPECT_EQ(used, sizeof(in) - 1);
	n += nr_dotstuff_end(&d, out + n);
	EXPECT_EQ(n, 20);
	EXPECT_MEMEQ(out, "..a\r\nb\r\n...\r\n..\r\n.\r\n", 20);
	/* bare LF and CR defence, and a small output buffer */
	nr_dotstuff_init(&d);
	const char bad[] = "x\ny\rz\r\n";
	size_t total = 0, off = 0;
	while (off < sizeof(bad) - 1) {
		total += nr_dotstuff(&d, bad + off, sizeof(bad) - 1 - off, out + total, 4, &used);
		off += used;
	}
	total += nr_dotstuff_end(&d, out + total);
	EXPECT_EQ(total, 11);
	EXPECT_MEMEQ(out, "x\r\ny z\r\n.\r\n", 11);
	nr_dotstuff_init(&d);
	EXPECT_EQ(nr_dotstuff_end(&d, out), 3);
	EXPECT_MEMEQ(out, ".\r\n", 3);
}

/* Stuff in as one call with room to spare, then end it. */
static size_t stuff_all(struct nr_dotstuff *d, const char *in, size_t len, uint8_t *out)
{
	size_t used, n = nr_dotstuff(d, in, len, out, 2 * len + 8, &used);
	EXPECT_EQ(used, len);
	return n;
}

/* The rules the outbound session relies on (they were its own stuffer's). */
/* Runs of plain bytes are copied in bulk: the wire text must not depend
 * on how input and output room are cut (dot lines, stray CRs, bare LFs,
 * lines folded at 998 octets), compared with one byte in, 4 bytes out. */
TEST(dotstuff_any_cut)
{
	static uint8_t in[6000], whole[14000], cut[14000];
	struct nr_dotstuff d;
	size_t i, n, m, used, step, off;
	uint32_t x = 12345;

	for (i = 0; i < sizeof(in); i++) {
		x = x * 1103515245u + 12345u;
		switch ((x >> 16) % 64) {
		case 0:
			in[i] = '\r';
			break;
		case 1:
			in[i] = '\n';
			break;
		case 2:
		case 3:
			in[i] = '.';
			break;
		default:
			in[i] = (uint8_t)('a' + (x >> 8) % 26);
			break;
		}
		if (i >= 2000 && i < 3500)
			in[i] = 'L'; /* one long line */
	}
	nr_dotstuff_init(&d);
	n = nr_dotstuff(&d, in, sizeof(in), whole, sizeof(whole), &used);
	ASSERT_EQ(used, sizeof(in));
	n += nr_dotstuff_end(&d, whole + n);
	for (step = 1; step <= 7; step += 3) {
		nr_dotstuff_init(&d);
		m = 0;
		for (off = 0; off < sizeof(in);) {
			size_t len = NR_MIN(step, sizeof(in) - off);
			m += nr_dotstuff(&d, in + off, len, cut + m, 4, &used);
			off += used;
		}
		m += nr_dotstuff_end(&d, cut + m);
		ASSERT_EQ(m, n);
		EXPECT_EQ(memcmp(cut, whole, n), 0);
	}
}

TEST(dotstuff_session_rules)
{
	struct nr_dotstuff d;
	static uint8_t out[8192];
	static char line[3000];
	size_t n, used;

	nr_dotstuff_init(&d);
	n = stuff_all(&d, ".\r\n", 3, out);
	n += nr_dotstuff_end(&d, out + n);
	EXPECT_EQ(n, 7);
	EXPECT_MEMEQ(out, "..\r\n.\r\n", 7);

	/* Bare LF becomes CRLF; a lone CR becomes a space; no final CRLF is added. */
	nr_dotstuff_init(&d);
	n = stuff_all(&d, "a\nb\rc\r\n.x", 9, out);
	n += nr_dotstuff_end(&d, out + n);
	out[n] = 0;
	EXPECT_STREQ((char *)out, "a\r\nb c\r\n..x\r\n.\r\n");

	/* A CRLF split across two chunks, then a dot line. */
	nr_dotstuff_init(&d);
	n = stuff_all(&d, "a\r", 2, out);
	n += stuff_all(&d, "\n.\r\n", 4, out + n);
	n += nr_dotstuff_end(&d, out + n);
	out[n] = 0;
	EXPECT_STREQ((char *)out, "a\r\n..\r\n.\r\n");

	/* A CR at the very end ends the line: one CRLF, then the terminator. */
	nr_dotstuff_init(&d);
	n = stuff_all(&d, "a\r", 2, out);
	n += nr_dotstuff_end(&d, out + n);
	out[n] = 0;
	EXPECT_STREQ((char *)out, "a\r\n.\r\n");

	/* Folding at 998; a fold never creates a dot at line start. */
	memset(line, '.', sizeof(line));
	nr_dotstuff_init(&d);
	n = stuff_all(&d, line, sizeof(line), out);
	n += nr_dotstuff_end(&d, out + n);
	{
		size_t i, len = 0, maxlen = 0;
		for (i = 0; i < n; i++) {
			if (out[i] == '\r') {
				EXPECT_EQ(out[i + 1], '\n');
				if (len > maxlen)
					maxlen = len;
				len = 0;
				i++;
				continue;
			}
			len++;
		}
		EXPECT_TRUE(maxlen <= 998);
		EXPECT_TRUE(maxlen >= 990);
		EXPECT_MEMEQ(out + 998, "\r\n ", 3);
		EXPECT_MEMEQ(out + n - 5, "\r\n.\r\n", 5);
	}
	/* The fold is never split: 4 bytes of room always make progress. */
	{
		static uint8_t small[8192];
		size_t off = 0, total = 0;
		nr_dotstuff_init(&d);
		while (off < sizeof(line)) {
			total += nr_dotstuff(&d, line + off, sizeof(line) - off, small + total, 4,
					     &used);
			ASSERT_TRUE(used > 0);
			off += used;
		}
		total += nr_dotstuff_end(&d, small + total);
		EXPECT_EQ(total, n);
		EXPECT_MEMEQ(small, out, n);
	}
	/* Empty body: the terminator alone. */
	nr_dotstuff_init(&d);
	EXPECT_EQ(nr_dotstuff_end(&d, out), 3);
}

/* ---- dates ---- */

TEST(date_rfc5322)
{
	char b[64];

	EXPECT_STREQ(nr_date_rfc5322(b, sizeof(b), 0), "Thu, 01 Jan 1970 00:00:00 +0000");
	EXPECT_STREQ(nr_date_rfc5322(b, sizeof(b), 1704164645), "Tue, 02 Jan 2024 03:04:05 +0000");
	EXPECT_STREQ(nr_date_rfc5322(b, sizeof(b), 951782400), "Tue, 29 Feb 2000 00:00:00 +0000");
}

int main(void)
{
	RUN(line_crlf_and_lf);
	RUN(line_at_limit_and_past);
	RUN(line_too_long_resyncs_without_buffering);
	RUN(reply_single_and_multi);
	RUN(reply_full_is_all_or_nothing);
	RUN(path_basic);
	RUN(path_rejects);
	RUN(path_params);
	RUN(path_lengths);
	RUN(dot_atom);
	RUN(base64_roundtrip_and_strictness);
	RUN(body_plain_end);
	RUN(body_empty_message);
	RUN(body_smuggling_variants);
	RUN(body_nul_before_dot);
	RUN(body_bare_lf_normalised_and_flagged);
	RUN(body_stray_cr_becomes_space);
	RUN(body_folds_long_lines);
	RUN(body_headers_counted_and_added);
	RUN(body_limits);
	RUN(body_emit_error_and_chunks);
	RUN(body_8bit);
	RUN(body_byte_at_a_time_equals_one_chunk);
	RUN(body_bulk_equals_byte_at_a_time_on_random_input);
	RUN(dotstuff_basic);
	RUN(dotstuff_session_rules);
	RUN(dotstuff_any_cut);
	RUN(date_rfc5322);
	return TEST_REPORT();
}
