/* test_rewrite.c - envelope rewriting, aliases and the header From filter,
 * checked byte for byte. */
#include "rewrite/rewrite.h"
#include "test.h"

static struct nr_conf_alias aliases[] = {
    {"root", "admin", 0},
    {"*@nas.lan", "catchall@example.com", 0},
    {"printer@nas.lan", "ops@example.com", 0},
    {"admin", "boss@example.com", 0},
};

static struct nr_conf conf_with(struct nr_conf_alias *a, size_t n, const char *sender, int from)
{
	struct nr_conf c;

	memset(&c, 0, sizeof(c));
	c.hostname = (char *)"nas.lan";
	c.sender = (char *)sender;
	c.from_rewrite = from ? NR_FROM_REWRITE_ON : NR_FROM_REWRITE_OFF;
	c.alias = a;
	c.alias_count = n;
	return c;
}

static struct nr_rewrite rw;
static char err[128];

TEST(check_addr)
{
	EXPECT_EQ(nr_rewrite_check_addr("me@gmail.com", 0), 0);
	EXPECT_EQ(nr_rewrite_check_addr("root", 0), NR_EINVAL);
	EXPECT_EQ(nr_rewrite_check_addr("root", 1), 0);
	EXPECT_EQ(nr_rewrite_check_addr("a@b@c", 0), NR_EINVAL);
	EXPECT_EQ(nr_rewrite_check_addr("@b", 0), NR_EINVAL);
	EXPECT_EQ(nr_rewrite_check_addr("a@", 0), NR_EINVAL);
	EXPECT_EQ(nr_rewrite_check_addr("", 1), NR_EINVAL);
	EXPECT_EQ(nr_rewrite_check_addr("me@x\r\nRCPT TO:<y@z>", 0), NR_EINVAL);
	EXPECT_EQ(nr_rewrite_check_addr("me@x\nBcc: y@z", 0), NR_EINVAL);
	EXPECT_EQ(nr_rewrite_check_addr("a b@c", 0), NR_EINVAL);
	EXPECT_EQ(nr_rewrite_check_addr("<a@c>", 0), NR_EINVAL);
	EXPECT_EQ(nr_rewrite_check_addr("a@c,d@e", 0), NR_EINVAL);
	EXPECT_EQ(nr_rewrite_check_addr("\"a\"@c", 0), NR_EINVAL);
	char big[300];
	memset(big, 'a', sizeof(big));
	big[250] = '@';
	big[255] = '\0';
	EXPECT_EQ(nr_rewrite_check_addr(big, 0), NR_EINVAL);
	big[254] = '\0';
	EXPECT_EQ(nr_rewrite_check_addr(big, 0), 0);
}

TEST(qualify_and_aliases)
{
	struct nr_conf c = conf_with(aliases, 4, NULL, 0);
	char out[NR_REWRITE_ADDR_MAX + 1];

	ASSERT_EQ(nr_rewrite_init(&rw, &c, err, sizeof(err)), 0);
	ASSERT_EQ(nr_rewrite_qualify(&rw, "cron", out, sizeof(out)), 0);
	EXPECT_STREQ(out, "cron@nas.lan");
	ASSERT_EQ(nr_rewrite_qualify(&rw, "x@y.z", out, sizeof(out)), 0);
	EXPECT_STREQ(out, "x@y.z");
	EXPECT_EQ(nr_rewrite_qualify(&rw, "cron", out, 8), NR_ETOOBIG);
	EXPECT_EQ(nr_rewrite_qualify(&rw, "cr\ron", out, sizeof(out)), NR_EINVAL);

	/* root -> admin (bare name, qualified) -> boss@example.com */
	ASSERT_EQ(nr_rewrite_recipient(&rw, "root", out, sizeof(out)), 0);
	EXPECT_STREQ(out, "boss@example.com");
	ASSERT_EQ(nr_rewrite_recipient(&rw, "ROOT@NAS.LAN", out, sizeof(out)), 0);
	EXPECT_STREQ(out, "boss@example.com");
	ASSERT_EQ(nr_rewrite_recipient(&rw, "root@localhost", out, sizeof(out)), 0);
	EXPECT_STREQ(out, "boss@example.com");
	/* A bare-name alias is for local domains only. */
	ASSERT_EQ(nr_rewrite_recipient(&rw, "root@other.org", out, sizeof(out)), 0);
	EXPECT_STREQ(out, "root@other.org");
	/* Exact beats wildcard. */
	ASSERT_EQ(nr_rewrite_recipient(&rw, "printer@nas.lan", out, sizeof(out)), 0);
	EXPECT_STREQ(out, "ops@example.com");
	ASSERT_EQ(nr_rewrite_recipient(&rw, "scanner", out, sizeof(out)), 0);
	EXPECT_STREQ(out, "catchall@example.com");
	ASSERT_EQ(nr_rewrite_recipient(&rw, "someone@example.org", out, sizeof(out)), 0);
	EXPECT_STREQ(out, "someone@example.org");
	EXPECT_EQ(nr_rewrite_recipient(&rw, "a@b\r\n", out, sizeof(out)), NR_EINVAL);
}

TEST(alias_loops_refused)
{
	struct nr_conf_alias loop2[] = {{"a", "b", 0}, {"b", "a@nas.lan", 0}};
	struct nr_conf_alias wildloop[] = {{"*@nas.lan", "x@other.org", 0},
					   {"x@other.org", "y@nas.lan", 0}};
	struct nr_conf_alias self[] = {{"*@nas.lan", "admin@nas.lan", 0}};
	struct nr_conf_alias bad[] = {{"root", "a@b\nBcc: c@d", 0}};
	struct nr_conf_alias badwild[] = {{"*@a@b", "x@y", 0}};
	struct nr_conf c;
	char out[NR_REWRITE_ADDR_MAX + 1];

	c = conf_with(loop2, 2, NULL, 0);
	EXPECT_EQ(nr_rewrite_init(&rw, &c, err, sizeof(err)), NR_EINVAL);
	EXPECT_STREQ(err, "alias a: aliases form a loop");
	c = conf_with(wildloop, 2, NULL, 0);
	EXPECT_EQ(nr_rewrite_init(&rw, &c, err, sizeof(err)), NR_EINVAL);
	/* Mapping onto itself is the end of the chain, not a loop. */
	c = conf_with(self, 1, NULL, 0);
	ASSERT_EQ(nr_rewrite_init(&rw, &c, err, sizeof(err)), 0);
	ASSERT_EQ(nr_rewrite_recipient(&rw, "root", out, sizeof(out)), 0);
	EXPECT_STREQ(out, "admin@nas.lan");
	c = conf_with(bad, 1, NULL, 0);
	EXPECT_EQ(nr_rewrite_init(&rw, &c, err, sizeof(err)), NR_EINVAL);
	c = conf_with(badwild, 1, NULL, 0);
	EXPECT_EQ(nr_rewrite_init(&rw, &c, err, sizeof(err)), NR_EINVAL);
	c = conf_with(NULL, 0, "me@gmail.com\r\nRSET", 0);
	EXPECT_EQ(nr_rewrite_init(&rw, &c, err, sizeof(err)), NR_EINVAL);
	c = conf_with(NULL, 0, NULL, 0);
	c.hostname = (char *)"nas.lan\r\n";
	EXPECT_EQ(nr_rewrite_init(&rw, &c, err, sizeof(err)), NR_EINVAL);
}

TEST(envelope_sender)
{
	struct nr_conf c = conf_with(NULL, 0, "me@gmail.com", 0);
	char out[NR_REWRITE_ADDR_MAX + 1];

	ASSERT_EQ(nr_rewrite_init(&rw, &c, err, sizeof(err)), 0);
	ASSERT_EQ(nr_rewrite_sender(&rw, "user@isp.example", "printer@nas.lan", out, sizeof(out)),
		  0);
	EXPECT_STREQ(out, "me@gmail.com");
	ASSERT_EQ(nr_rewrite_sender(&rw, NULL, "", out, sizeof(out)), 0);
	EXPECT_STREQ(out, "");
	c = conf_with(NULL, 0, NULL, 0);
	ASSERT_EQ(nr_rewrite_init(&rw, &c, err, sizeof(err)), 0);
	ASSERT_EQ(nr_rewrite_sender(&rw, "user@isp.example", "root", out, sizeof(out)), 0);
	EXPECT_STREQ(out, "user@isp.example");
	/* A user name that is not an address: keep the original, qualified. */
	ASSERT_EQ(nr_rewrite_sender(&rw, "me", "root", out, sizeof(out)), 0);
	EXPECT_STREQ(out, "root@nas.lan");
	EXPECT_EQ(nr_rewrite_sender(&rw, NULL, "x\r\n@y", out, sizeof(out)), NR_EINVAL);
}

/* ---- the header filter ---- */

static char outbuf[16384];
static size_t outlen;
static int emit_fail_after = -1;

static int emit(void *arg, const void *p, size_t len)
{
	if (emit_fail_after >= 0 && outlen + len > (size_t)emit_fail_after)
		return NR_EFULL;
	if (outlen + len >= sizeof(outbuf)) {
		NR_TEST_FAIL_("output overflow");
		return NR_EFULL;
	}
	memcpy(outbuf + outlen, p, len);
	outlen += len;
	outbuf[outlen] = '\0';
	return 0;
}

/* Run in whole, and byte by byte: both must give expect; returns the feed
 * result of the whole run and the bytes it used. */
static int filter(int from_rewrite, const char *in, size_t *used_out, const char *expect)
{
	struct nr_conf c = conf_with(NULL, 0, "me@gmail.com", from_rewrite);
	struct nr_rewrite_hdr *h = malloc(sizeof(*h));
	size_t used = 0, i, total = 0;
	int ret = -100, ret1 = 0;

	if (nr_rewrite_init(&rw, &c, err, sizeof(err)) != 0 ||
	    nr_rewrite_hdr_init(h, &rw, "me@gmail.com", emit, NULL) != 0) {
		free(h);
		return -200;
	}
	outlen = 0;
	outbuf[0] = '\0';
	ret = nr_rewrite_hdr_feed(h, in, strlen(in), &used);
	if (ret == 0)
		EXPECT_EQ(nr_rewrite_hdr_finish(h), 0);
	EXPECT_STREQ(outbuf, expect);
	if (used_out)
		*used_out = used;

	EXPECT_EQ(nr_rewrite_hdr_init(h, &rw, "me@gmail.com", emit, NULL), 0);
	outlen = 0;
	outbuf[0] = '\0';
	for (i = 0; i < strlen(in) && ret1 == 0; i++) {
		ret1 = nr_rewrite_hdr_feed(h, in + i, 1, &used);
		total += used;
	}
	if (ret1 == 0)
		EXPECT_EQ(nr_rewrite_hdr_finish(h), 0);
	EXPECT_STREQ(outbuf, expect);
	EXPECT_EQ(ret1, ret);
	if (ret == 1 && used_out)
		EXPECT_EQ(total, *used_out);
	free(h);
	return ret;
}

TEST(from_rewritten_reply_to_added)
{
	size_t used;
	const char *in = "Subject: disk failing\r\n"
			 "From: Printer <printer@nas.lan>\r\n"
			 "To: root\r\n"
			 "\r\n"
			 "body line\r\n";

	EXPECT_EQ(filter(1, in, &used,
			 "Subject: disk failing\r\n"
			 "From: \"Printer via nanorelay\" <me@gmail.com>\r\n"
			 "To: root\r\n"
			 "Reply-To: Printer <printer@nas.lan>\r\n"
			 "\r\n"),
		  1);
	EXPECT_STREQ(in + used, "body line\r\n");
}

TEST(from_address_only_and_existing_reply_to)
{
	EXPECT_EQ(filter(1,
			 "from:printer@nas.lan\n"
			 "Reply-To: helpdesk@example.com\n"
			 "\n",
			 NULL,
			 "From: \"printer@nas.lan via nanorelay\" <me@gmail.com>\r\n"
			 "Reply-To: helpdesk@example.com\r\n"
			 "\r\n"),
		  1);
	EXPECT_EQ(filter(1, "From: <ups@nas.lan>\r\n\r\n", NULL,
			 "From: \"ups@nas.lan via nanorelay\" <me@gmail.com>\r\n"
			 "Reply-To: <ups@nas.lan>\r\n"
			 "\r\n"),
		  1);
	EXPECT_EQ(filter(1, "From: cam@nas.lan (Front door)\r\n\r\n", NULL,
			 "From: \"cam@nas.lan via nanorelay\" <me@gmail.com>\r\n"
			 "Reply-To: cam@nas.lan (Front door)\r\n"
			 "\r\n"),
		  1);
}

TEST(folded_and_quoted_from)
{
	EXPECT_EQ(filter(1,
			 "From: \"Smart \\\"Disk\\\" Daemon\"\r\n"
			 "\t<smartd@nas.lan>\r\n"
			 "Subject: x\r\n"
			 "  continued\r\n"
			 "\r\n",
			 NULL,
			 "From: \"Smart \\\"Disk\\\" Daemon via nanorelay\" <me@gmail.com>\r\n"
			 "Subject: x\r\n"
			 "  continued\r\n"
			 "Reply-To: \"Smart \\\"Disk\\\" Daemon\"\r\n"
			 "\t<smartd@nas.lan>\r\n"
			 "\r\n"),
		  1);
	/* An encoded-word display stays a phrase. */
	EXPECT_EQ(filter(1, "From: =?utf-8?q?B=C3=BCro?= <office@nas.lan>\r\n\r\n", NULL,
			 "From: =?utf-8?q?B=C3=BCro?= via nanorelay <me@gmail.com>\r\n"
			 "Reply-To: =?utf-8?q?B=C3=BCro?= <office@nas.lan>\r\n"
			 "\r\n"),
		  1); /* Review L1: an unbalanced "(" (or "[") next to an encoded-word took
		       * the phrase path raw and its comment swallowed the address. Anything
		       * but atext words is quoted now. */
	EXPECT_EQ(filter(1, "From: =?utf-8?q?Printer?= ( <dev@lan.test>\r\n\r\n", NULL,
			 "From: \"=?utf-8?q?Printer?= ( via nanorelay\" <me@gmail.com>\r\n"
			 "Reply-To: =?utf-8?q?Printer?= ( <dev@lan.test>\r\n"
			 "\r\n"),
		  1);
	EXPECT_EQ(filter(1, "From: =?utf-8?q?P?= [x <dev@lan.test>\r\n\r\n", NULL,
			 "From: \"=?utf-8?q?P?= [x via nanorelay\" <me@gmail.com>\r\n"
			 "Reply-To: =?utf-8?q?P?= [x <dev@lan.test>\r\n"
			 "\r\n"),
		  1);
}

TEST(no_injection_through_from)
{
	/* A bare CR cannot start a new header; it becomes a space. */
	EXPECT_EQ(filter(1, "From: Evil\rBcc: victim@x <e@nas.lan>\r\n\r\n", NULL,
			 "From: \"Evil Bcc: victim@x via nanorelay\" <me@gmail.com>\r\n"
			 "Reply-To: Evil Bcc: victim@x <e@nas.lan>\r\n"
			 "\r\n"),
		  1);
	/* Obsolete WSP before the colon, however long, is still a From. */
	EXPECT_EQ(filter(1,
			 "From\r\r\r\r\r\r\r\r\r\r\r\r\r\r\r\r\r\r\r\r\r\r\r\r\r\r\r\r\r\r\r\r\r:"
			 " a@nas.lan\r\n\r\n",
			 NULL,
			 "From: \"a@nas.lan via nanorelay\" <me@gmail.com>\r\n"
			 "Reply-To: a@nas.lan\r\n"
			 "\r\n"),
		  1);
	/* A second From is dropped, with its continuation. */
	EXPECT_EQ(filter(1, "From: a@nas.lan\r\nFrom: b@nas.lan\r\n c\r\nX: y\r\n\r\n", NULL,
			 "From: \"a@nas.lan via nanorelay\" <me@gmail.com>\r\n"
			 "X: y\r\n"
			 "Reply-To: a@nas.lan\r\n"
			 "\r\n"),
		  1);
	/* The sender itself is checked. */
	struct nr_rewrite_hdr *h = malloc(sizeof(*h));
	EXPECT_EQ(nr_rewrite_hdr_init(h, &rw, "me@gmail.com\r\nBcc: x@y", emit, NULL), NR_EINVAL);
	free(h);
}

TEST(missing_from_added_and_headers_only)
{
	EXPECT_EQ(filter(1, "Subject: hi\n\n", NULL, "Subject: hi\r\nFrom: <me@gmail.com>\r\n\r\n"),
		  1);
	/* Input ends inside the header block. */
	EXPECT_EQ(filter(1, "Subject: hi\r\nFrom: a@nas.lan", NULL,
			 "Subject: hi\r\n"
			 "From: \"a@nas.lan via nanorelay\" <me@gmail.com>\r\n"
			 "Reply-To: a@nas.lan\r\n"),
		  0);
	EXPECT_EQ(filter(1, "\r\nbody", NULL, "From: <me@gmail.com>\r\n\r\n"), 1);
}

TEST(rewrite_off_canonicalises_only)
{
	EXPECT_EQ(filter(0, "From: a@nas.lan\nSubject: x\ry\r\nNo colon line\n\n", NULL,
			 "From: a@nas.lan\r\nSubject: x y\r\nNo colon line\r\n\r\n"),
		  1);
}

TEST(long_from_passes_unchanged)
{
	static char in[NR_REWRITE_FIELD_MAX + 100], expect[NR_REWRITE_FIELD_MAX + 100];

	strcpy(in, "From: ");
	memset(in + 6, 'x', NR_REWRITE_FIELD_MAX);
	strcpy(in + 6 + NR_REWRITE_FIELD_MAX, "@nas.lan\r\n\r\n");
	strcpy(expect, in);
	EXPECT_EQ(filter(1, in, NULL, expect), 1);
}

TEST(emit_error_is_sticky)
{
	struct nr_conf c = conf_with(NULL, 0, NULL, 1);
	struct nr_rewrite_hdr *h = malloc(sizeof(*h));
	size_t used;
	static char big[4096];

	memset(big, 'a', sizeof(big) - 3);
	memcpy(big, "X: ", 3);
	big[sizeof(big) - 3] = '\r';
	big[sizeof(big) - 2] = '\n';
	ASSERT_EQ(nr_rewrite_init(&rw, &c, err, sizeof(err)), 0);
	ASSERT_EQ(nr_rewrite_hdr_init(h, &rw, "me@gmail.com", emit, NULL), 0);
	outlen = 0;
	emit_fail_after = 1000;
	EXPECT_EQ(nr_rewrite_hdr_feed(h, big, sizeof(big) - 1, &used), NR_EFULL);
	EXPECT_EQ(nr_rewrite_hdr_feed(h, "\r\n", 2, &used), NR_EFULL);
	EXPECT_EQ(nr_rewrite_hdr_finish(h), NR_EFULL);
	emit_fail_after = -1;
	free(h);
}

int main(void)
{
	RUN(check_addr);
	RUN(qualify_and_aliases);
	RUN(alias_loops_refused);
	RUN(envelope_sender);
	RUN(from_rewritten_reply_to_added);
	RUN(from_address_only_and_existing_reply_to);
	RUN(folded_and_quoted_from);
	RUN(no_injection_through_from);
	RUN(missing_from_added_and_headers_only);
	RUN(rewrite_off_canonicalises_only);
	RUN(long_from_passes_unchanged);
	RUN(emit_error_is_sticky);
	return TEST_REPORT();
}
