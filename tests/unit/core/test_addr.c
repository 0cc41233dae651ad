/* test_addr.c - core/addr.h: the one strict address parser and printer that
 * conf, dns and the sim share (the union of the cases their tests used). */
#include <string.h>

#include "core/addr.h"
#include "test.h"

static int parse(const char *s, struct nr_addr *a)
{
	return nr_addr_parse(s, strlen(s), a);
}

/* nr_addr_ntop(nr_addr_parse(in)), or "(bad)" when in is refused. */
static const char *round_trip(const char *in, char *buf, size_t size)
{
	struct nr_addr a;

	if (parse(in, &a) != 0)
		return "(bad)";
	return nr_addr_ntop(&a, buf, size);
}

TEST(v4_strict_dotted_quad)
{
	struct nr_addr a;
	static const char *const bad[] = {
	    "256.1.1.1",  "1.2.3",     "1.2.3.4.5", "01.2.3.4", "1.2.3.04",       "010.1.1.1",
	    "0x7f.0.0.1", "127.1",     "1.2.3.4 ",  " 1.2.3.4", "1..3.4",         "",
	    "1234.1.1.1", "1.2.3.4/8", "-1.2.3.4",  "1.2.3.",   "smarthost.test", "1.2.3.4\n",
	};
	size_t i;

	ASSERT_EQ(parse("192.0.2.1", &a), 0);
	EXPECT_EQ(a.family, NR_AF_INET4);
	EXPECT_MEMEQ(a.ip, "\xc0\x00\x02\x01", 4);
	EXPECT_EQ(a.port, 0);
	EXPECT_EQ(a.scope_id, 0);
	ASSERT_EQ(parse("0.0.0.0", &a), 0);
	EXPECT_MEMEQ(a.ip, "\0\0\0\0", 4);
	ASSERT_EQ(parse("255.255.255.255", &a), 0);
	EXPECT_MEMEQ(a.ip, "\xff\xff\xff\xff", 4);
	ASSERT_EQ(parse("10.0.0.100", &a), 0);
	EXPECT_EQ(a.ip[3], 100);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		a.family = 99;
		EXPECT_EQ(parse(bad[i], &a), NR_EINVAL);
		EXPECT_EQ(a.family, 99); /* untouched on failure */
	}
	/* the length is the end, not a NUL */
	ASSERT_EQ(nr_addr_parse("1.2.3.4:25", 7, &a), 0);
	EXPECT_MEMEQ(a.ip, "\x01\x02\x03\x04", 4);
	EXPECT_EQ(nr_addr_parse(NULL, 0, &a), NR_EINVAL);
	EXPECT_EQ(nr_addr_parse("1.2.3.4", 7, NULL), NR_EINVAL);
}

TEST(v6_rfc4291_text)
{
	struct nr_addr a;
	static const uint8_t loop6[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
	static const uint8_t doc[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0,
					0,    0,    0,    0,    0, 0, 0, 0x42};
	static const uint8_t mapped[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, 1};
	static const char *const bad[] = {
	    ":::",
	    "1::2::3",
	    "1:2:3:4:5:6:7",
	    "1:2:3:4:5:6:7:8:9",
	    "1:2:3:4:5:6:7::8",
	    "12345::",
	    ":1::",
	    "1:",
	    "1::2:",
	    "fe80::00001",
	    "g::",
	    "[::1]",
	    "fe80::1%eth0",
	    "fe80::1%1",
	    "::ffff:1.2.3",
	    "::1.2.3",
	    "1:2:3:4:5:6:7:1.2.3.4",
	    "::ffff:01.2.3.4",
	    "::1.2.3.4:5",
	    "1:2:3:4:5:6:7:8:",
	};
	size_t i;

	ASSERT_EQ(parse("::1", &a), 0);
	EXPECT_EQ(a.family, NR_AF_INET6);
	EXPECT_MEMEQ(a.ip, loop6, 16);
	ASSERT_EQ(parse("2001:DB8::42", &a), 0);
	EXPECT_MEMEQ(a.ip, doc, 16);
	ASSERT_EQ(parse("2001:db8:0:0:0:0:0:42", &a), 0);
	EXPECT_MEMEQ(a.ip, doc, 16);
	ASSERT_EQ(parse("2001:0db8:0000::0042", &a), 0);
	EXPECT_MEMEQ(a.ip, doc, 16);
	ASSERT_EQ(parse("::ffff:10.0.0.1", &a), 0);
	EXPECT_MEMEQ(a.ip, mapped, 16);
	ASSERT_EQ(parse("::", &a), 0);
	ASSERT_EQ(parse("1::", &a), 0);
	EXPECT_EQ(a.ip[1], 1);
	EXPECT_EQ(a.ip[15], 0);
	ASSERT_EQ(parse("1:2:3:4:5:6:1.2.3.4", &a), 0);
	EXPECT_EQ(a.ip[12], 1);
	EXPECT_EQ(a.ip[15], 4);
	ASSERT_EQ(parse("1:2:3:4:5:6:7::", &a), 0); /* "::" for one group */
	EXPECT_EQ(a.ip[13], 7);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		a.family = 99;
		EXPECT_EQ(parse(bad[i], &a), NR_EINVAL);
		EXPECT_EQ(a.family, 99);
	}
}

TEST(v6_text_both_ways_rfc5952)
{
	char buf[64];

	EXPECT_STREQ(round_trip("::", buf, sizeof(buf)), "::");
	EXPECT_STREQ(round_trip("::1", buf, sizeof(buf)), "::1");
	EXPECT_STREQ(round_trip("1::", buf, sizeof(buf)), "1::");
	EXPECT_STREQ(round_trip("2001:DB8:0:0:0:0:0:1", buf, sizeof(buf)), "2001:db8::1");
	EXPECT_STREQ(round_trip("2001:db8:0:0:1:0:0:1", buf, sizeof(buf)), "2001:db8::1:0:0:1");
	EXPECT_STREQ(round_trip("2001:0:0:1:0:0:0:1", buf, sizeof(buf)), "2001:0:0:1::1");
	EXPECT_STREQ(round_trip("2001:db8:0:1:1:1:1:1", buf, sizeof(buf)), "2001:db8:0:1:1:1:1:1");
	EXPECT_STREQ(round_trip("1:2:3:4:5:6:7::", buf, sizeof(buf)), "1:2:3:4:5:6:7:0");
	EXPECT_STREQ(round_trip("::ffff:1.2.3.4", buf, sizeof(buf)), "::ffff:1.2.3.4");
	EXPECT_STREQ(round_trip("::1.2.3.4", buf, sizeof(buf)), "::102:304");
	EXPECT_STREQ(round_trip("1:2:3:4:5:6:1.2.3.4", buf, sizeof(buf)), "1:2:3:4:5:6:102:304");
	EXPECT_STREQ(round_trip("fe80::0001", buf, sizeof(buf)), "fe80::1");
	EXPECT_STREQ(round_trip("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", buf, sizeof(buf)),
		     "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
	EXPECT_STREQ(round_trip("192.0.2.1", buf, sizeof(buf)), "192.0.2.1");
	EXPECT_STREQ(round_trip("fe80::00001", buf, sizeof(buf)), "(bad)");
}

TEST(ntop_edges_and_same)
{
	struct nr_addr a, b;
	char buf[64];

	ASSERT_EQ(parse("0.0.0.0", &a), 0);
	EXPECT_STREQ(nr_addr_ntop(&a, buf, 4), "0.0"); /* truncated, terminated */
	EXPECT_TRUE(nr_addr_ntop(&a, NULL, 4) == NULL);
	EXPECT_STREQ(nr_addr_ntop(NULL, buf, sizeof(buf)), "(none)");
	a.family = NR_AF_NONE;
	EXPECT_STREQ(nr_addr_ntop(&a, buf, sizeof(buf)), "(none)");
	a.family = NR_AF_LOCAL;
	EXPECT_STREQ(nr_addr_ntop(&a, buf, sizeof(buf)), "local");

	ASSERT_EQ(parse("10.0.0.1", &a), 0);
	ASSERT_EQ(parse("10.0.0.1", &b), 0);
	EXPECT_EQ(nr_addr_same(&a, &b), 1);
	b.port = 25;
	EXPECT_EQ(nr_addr_same(&a, &b), 0);
	a.port = 25;
	EXPECT_EQ(nr_addr_same(&a, &b), 1);
	ASSERT_EQ(parse("::ffff:10.0.0.1", &b), 0);
	b.port = 25;
	EXPECT_EQ(nr_addr_same(&a, &b), 0); /* mapped is another family here */
	ASSERT_EQ(parse("fe80::1", &a), 0);
	ASSERT_EQ(parse("fe80::1", &b), 0);
	b.scope_id = 2;
	EXPECT_EQ(nr_addr_same(&a, &b), 0);
}

int main(void)
{
	RUN(v4_strict_dotted_quad);
	RUN(v6_rfc4291_text);
	RUN(v6_text_both_ways_rfc5952);
	RUN(ntop_edges_and_same);
	return TEST_REPORT();
}
