/* test_sendmail.c - the sendmail front end without sockets: the option
 * parser, the address-list and header scan behind -t, and the stdin reader
 * with its DATA writer (line ends, dot-stuffing, the lone dot, -i). */
#include <stdio.h>
#include <string.h>

#include "sendmail/sendmail.h"
#include "sendmail/sendmail_msg.h"
#include "test.h"

static int parse(struct nr_sm_opts *o, char *err, const char *a1, const char *a2, const char *a3,
		 const char *a4)
{
	char *argv[6] = {(char *)"sendmail", (char *)a1, (char *)a2, (char *)a3, (char *)a4, NULL};
	int argc = 1;

	while (argc < 5 && argv[argc])
		argc++;
	return nr_sendmail_parse_opts(argc, argv, o, err, 256);
}

TEST(opts_crond_cluster)
{
	struct nr_sm_opts o;
	char err[256];

	EXPECT_EQ(parse(&o, err, "-ti", NULL, NULL, NULL), 0);
	EXPECT_TRUE(o.read_recipients);
	EXPECT_TRUE(o.ignore_dots);
	EXPECT_EQ(o.nrcpt, 0);
	EXPECT_EQ(o.mode, NR_SM_MODE_DELIVER);
}

TEST(opts_values_attached_and_separate)
{
	struct nr_sm_opts o;
	char err[256];

	EXPECT_EQ(parse(&o, err, "-fme@x.test", "-F", "Full Name", "a@b.test"), 0);
	EXPECT_STREQ(o.sender, "me@x.test");
	EXPECT_STREQ(o.full_name, "Full Name");
	EXPECT_EQ(o.nrcpt, 1);
	EXPECT_STREQ(o.rcpt[0], "a@b.test");
	EXPECT_EQ(parse(&o, err, "-r", "bounce@x.test", "-C/etc/other.conf", "b@c.test"), 0);
	EXPECT_STREQ(o.sender, "bounce@x.test");
	EXPECT_STREQ(o.conf_path, "/etc/other.conf");
}

TEST(opts_o_options)
{
	struct nr_sm_opts o;
	char err[256];

	EXPECT_EQ(parse(&o, err, "-oem", "-odb", "-oQ/var/spool", "x@y.test"), 0);
	EXPECT_TRUE(!o.ignore_dots);
	EXPECT_EQ(o.nrcpt, 1);
	EXPECT_EQ(parse(&o, err, "-oi", "x@y.test", NULL, NULL), 0);
	EXPECT_TRUE(o.ignore_dots);
}

TEST(opts_modes)
{
	struct nr_sm_opts o;
	char err[256];

	EXPECT_EQ(parse(&o, err, "-bs", NULL, NULL, NULL), 0);
	EXPECT_EQ(o.mode, NR_SM_MODE_SMTP);
	EXPECT_EQ(parse(&o, err, "-bp", NULL, NULL, NULL), 0);
	EXPECT_EQ(o.mode, NR_SM_MODE_QUEUE);
	EXPECT_EQ(parse(&o, err, "-bi", NULL, NULL, NULL), 0);
	EXPECT_EQ(o.mode, NR_SM_MODE_NEWALIASES);
	EXPECT_EQ(parse(&o, err, "-bm", "-v", "a@b.test", NULL), 0);
	EXPECT_EQ(o.mode, NR_SM_MODE_DELIVER);
	EXPECT_TRUE(o.verbose);
	EXPECT_EQ(parse(&o, err, "-bd", NULL, NULL, NULL), NR_SM_EX_USAGE);
	EXPECT_TRUE(strstr(err, "-bd") != NULL);
}

TEST(opts_double_dash_and_first_word)
{
	struct nr_sm_opts o;
	char err[256];

	EXPECT_EQ(parse(&o, err, "-i", "--", "-t", NULL), 0);
	EXPECT_TRUE(!o.read_recipients);
	EXPECT_EQ(o.nrcpt, 1);
	EXPECT_STREQ(o.rcpt[0], "-t");
	/* options stop at the first address */
	EXPECT_EQ(parse(&o, err, "a@b.test", "-t", NULL, NULL), 0);
	EXPECT_EQ(o.nrcpt, 2);
	EXPECT_TRUE(!o.read_recipients);
}

TEST(opts_errors)
{
	struct nr_sm_opts o;
	char err[256];

	EXPECT_EQ(parse(&o, err, "-X", NULL, NULL, NULL), NR_SM_EX_USAGE);
	EXPECT_STREQ(err, "unknown option -X");
	EXPECT_EQ(parse(&o, err, "-f", NULL, NULL, NULL), NR_SM_EX_USAGE);
	EXPECT_STREQ(err, "-f needs a value");
	EXPECT_EQ(parse(&o, err, "-f", "a@b\r\nRCPT TO:<c@d>", NULL, NULL), NR_SM_EX_DATAERR);
	EXPECT_EQ(parse(&o, err, "-F", "x\ny", NULL, NULL), NR_SM_EX_DATAERR);
	EXPECT_EQ(parse(&o, err, "ok@b.test", "evil@x\n", NULL, NULL), NR_SM_EX_DATAERR);
	EXPECT_EQ(parse(&o, err, "-ti", "a\rb@c", NULL, NULL), NR_SM_EX_DATAERR);
	EXPECT_TRUE(nr_sendmail_safe_arg("abc", 3));
	EXPECT_TRUE(!nr_sendmail_safe_arg("a\0c", 3));
}

struct collect {
	char all[1024];
	int n;
};

static int collect_fn(void *arg, const char *addr)
{
	struct collect *c = arg;

	if (c->n++)
		strcat(c->all, "|");
	strcat(c->all, addr);
	return 0;
}

static void addrlist(const char *s, const char *want, int want_rc)
{
	struct collect c;

	memset(&c, 0, sizeof(c));
	EXPECT_EQ(nr_sendmail_parse_addrlist(s, strlen(s), collect_fn, &c), want_rc);
	if (want_rc == 0 && strcmp(c.all, want) != 0)
		NR_TEST_FAIL_("addrlist [%s]: got [%s], want [%s]", s, c.all, want);
}

TEST(addrlist_forms)
{
	addrlist("a@x.test", "a@x.test", 0);
	addrlist(" a@x.test , b@y.test ", "a@x.test|b@y.test", 0);
	addrlist("Jane Doe <jane@x.test>", "jane@x.test", 0);
	addrlist("\"Doe, Jane\" <jane@x.test>, bob@x.test (Bob, the builder)",
		 "jane@x.test|bob@x.test", 0);
	addrlist("team: a@x.test, b@x.test;, c@x.test", "a@x.test|b@x.test|c@x.test", 0);
	addrlist("undisclosed-recipients:;", "", 0);
	addrlist("a@x.test,\r\n\tb@x.test", "a@x.test|b@x.test", 0);
	addrlist("<@relay.test:a@x.test>", "a@x.test", 0);
	addrlist("\"quoted local\"@x.test", "\"quoted local\"@x.test", 0);
	addrlist("x (nested (comment)) @y.test", "x@y.test", 0);
	addrlist(",,,", "", 0);
	addrlist("a@x.test, \"unterminated", "", NR_SM_EX_DATAERR);
	addrlist("a (unterminated", "", NR_SM_EX_DATAERR);
	addrlist("Name <a@x.test", "", NR_SM_EX_DATAERR);
}

TEST(addrlist_too_long)
{
	char big[600];

	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	addrlist(big, "", NR_SM_EX_DATAERR);
}

TEST(headers_scan_and_bcc_removal)
{
	char hdr[] = "From: me@x.test\n"
		     "To: a@x.test,\n"
		     " b@x.test\n"
		     "bcc: hidden@x.test,\n"
		     "\tsecret@x.test\n"
		     "Subject: s\n"
		     "CC: c@x.test\n";
	size_t len = strlen(hdr);
	struct nr_sm_hdrinfo info;
	struct collect c;

	memset(&c, 0, sizeof(c));
	EXPECT_EQ(nr_sendmail_scan_headers(hdr, &len, &info, collect_fn, &c), 0);
	EXPECT_STREQ(c.all, "a@x.test|b@x.test|hidden@x.test|secret@x.test|c@x.test");
	EXPECT_TRUE(info.has_from);
	EXPECT_TRUE(!info.has_date);
	hdr[len] = '\0';
	EXPECT_STREQ(hdr, "From: me@x.test\nTo: a@x.test,\n b@x.test\nSubject: s\nCC: c@x.test\n");
}

TEST(headers_without_fn_still_drop_bcc)
{
	char hdr[] = "Subject: s\r\nBcc: x@y.test\r\nDate: today\r\nMessage-ID: <1@x>\r\n";
	size_t len = strlen(hdr);
	struct nr_sm_hdrinfo info;

	EXPECT_EQ(nr_sendmail_scan_headers(hdr, &len, &info, NULL, NULL), 0);
	hdr[len] = '\0';
	EXPECT_STREQ(hdr, "Subject: s\r\nDate: today\r\nMessage-ID: <1@x>\r\n");
	EXPECT_TRUE(!info.has_from);
	EXPECT_TRUE(info.has_date);
	EXPECT_TRUE(info.has_message_id);
}

/* ---- the reader and the DATA writer ---- */

struct sink {
	char buf[4096];
	size_t n;
};

static int sink_put(void *arg, const void *p, size_t n)
{
	struct sink *s = arg;

	if (s->n + n > sizeof(s->buf))
		return -1;
	memcpy(s->buf + s->n, p, n);
	s->n += n;
	return 0;
}

/* Run input through the reader and writer as sendmail.c does. */
static int run_msg(const char *input, size_t inlen, int ignore_dots, size_t hcap, char *out,
		   int *hdr_end)
{
	FILE *fp = tmpfile();
	char hdr[512];
	struct sm_msg m;
	struct sm_in in;
	struct sink s;
	struct sm_out o = {sink_put, &s, 1, 0};

	if (!fp)
		return -1;
	fwrite(input, 1, inlen, fp);
	rewind(fp);
	memset(&m, 0, sizeof(m));
	memset(&s, 0, sizeof(s));
	m.hdr = hdr;
	m.hcap = hcap < sizeof(hdr) ? hcap : sizeof(hdr);
	sm_in_init(&in, fp, ignore_dots);
	*hdr_end = sm_msg_read_headers(&m, &in);
	if (*hdr_end != SM_HDR_TOOBIG) {
		sm_out_bytes(&o, m.hdr, m.hlen);
		sm_out_bytes(&o, "\n", 1);
		sm_out_bytes(&o, m.pending, m.plen);
		if (*hdr_end == SM_HDR_BLANK || *hdr_end == SM_HDR_BODY)
			sm_msg_stream_body(&m, &in, &o);
		sm_out_end(&o);
	}
	fclose(fp);
	memcpy(out, s.buf, s.n);
	out[s.n] = '\0';
	return 0;
}

#define MSG(in, dots, want, want_end)                                                              \
	do {                                                                                       \
		char out_[4096];                                                                   \
		int end_;                                                                          \
		run_msg(in, sizeof(in) - 1, dots, 512, out_, &end_);                               \
		EXPECT_STREQ(out_, want);                                                          \
		EXPECT_EQ(end_, want_end);                                                         \
	} while (0)

TEST(msg_headers_body_crlf)
{
	MSG("Subject: a\nTo: b@x\n\nline1\nline2\n", 0,
	    "Subject: a\r\nTo: b@x\r\n\r\nline1\r\nline2\r\n.\r\n", SM_HDR_BLANK);
	MSG("Subject: a\r\n\r\nbody\r\n", 0, "Subject: a\r\n\r\nbody\r\n.\r\n", SM_HDR_BLANK);
}

TEST(msg_no_final_newline)
{
	MSG("Subject: a\n\nno newline", 0, "Subject: a\r\n\r\nno newline\r\n.\r\n", SM_HDR_BLANK);
	MSG("Subject: only", 0, "Subject: only\r\n.\r\n", SM_HDR_EOF);
}

TEST(msg_without_headers)
{
	MSG("hello world\nsecond\n", 0, "\r\nhello world\r\nsecond\r\n.\r\n", SM_HDR_BODY);
	MSG("", 0, "\r\n.\r\n", SM_HDR_EOF);
	MSG(" leading blank\n", 0, "\r\n leading blank\r\n.\r\n", SM_HDR_BODY);
	MSG("no-colon-word\n", 0, "\r\nno-colon-word\r\n.\r\n", SM_HDR_BODY);
}

TEST(msg_lone_dot_and_dash_i)
{
	MSG("S: a\n\nx\n.\nnot sent\n", 0, "S: a\r\n\r\nx\r\n.\r\n", SM_HDR_BLANK);
	MSG("S: a\n\nx\n.\r\nnot sent\n", 0, "S: a\r\n\r\nx\r\n.\r\n", SM_HDR_BLANK);
	MSG("S: a\n\nx\n.", 0, "S: a\r\n\r\nx\r\n.\r\n", SM_HDR_BLANK);
	MSG("S: a\n.\nnot sent\n", 0, "S: a\r\n\r\n.\r\n", SM_HDR_DOT);
	MSG("S: a\n\nx\n.\nsent\n..two\n", 1, "S: a\r\n\r\nx\r\n..\r\nsent\r\n...two\r\n.\r\n",
	    SM_HDR_BLANK);
	/* a dot line that is not alone is content, stuffed */
	MSG("S: a\n\n.x\n. \n", 0, "S: a\r\n\r\n..x\r\n.. \r\n.\r\n", SM_HDR_BLANK);
}

TEST(msg_bare_cr_and_nul_pass_to_smtpd)
{
	MSG("S: a\n\na\rb\n", 0, "S: a\r\n\r\na\rb\r\n.\r\n", SM_HDR_BLANK);
	{
		char out[64];
		int end;
		static const char in[] = "S: a\n\na\0b\n";
		run_msg(in, sizeof(in) - 1, 0, 512, out, &end);
		EXPECT_MEMEQ(out, "S: a\r\n\r\na\0b\r\n.\r\n", 17);
	}
}

TEST(msg_header_limit)
{
	char out[4096];
	int end;
	static const char in[] = "Subject: 0123456789012345678901234567890123456789\n\nbody\n";

	run_msg(in, sizeof(in) - 1, 0, 20, out, &end);
	EXPECT_EQ(end, SM_HDR_TOOBIG);
	run_msg(in, sizeof(in) - 1, 0, 60, out, &end);
	EXPECT_EQ(end, SM_HDR_BLANK);
}

int main(void)
{
	RUN(opts_crond_cluster);
	RUN(opts_values_attached_and_separate);
	RUN(opts_o_options);
	RUN(opts_modes);
	RUN(opts_double_dash_and_first_word);
	RUN(opts_errors);
	RUN(addrlist_forms);
	RUN(addrlist_too_long);
	RUN(headers_scan_and_bcc_removal);
	RUN(headers_without_fn_still_drop_bcc);
	RUN(msg_headers_body_crlf);
	RUN(msg_no_final_newline);
	RUN(msg_without_headers);
	RUN(msg_lone_dot_and_dash_i);
	RUN(msg_bare_cr_and_nul_pass_to_smtpd);
	RUN(msg_header_limit);
	return TEST_REPORT();
}
