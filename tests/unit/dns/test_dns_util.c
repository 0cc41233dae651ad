/* test_dns_util.c - literal addresses, name checks, ordering, the cache. */
#include "dns/dns_priv.h"
#include "test.h"

static int lit(const char *s, struct nr_addr *a)
{
	return nr_dns_parse_literal(s, a);
}

TEST(literal_v4)
{
	struct nr_addr a;

	ASSERT_EQ(lit("192.0.2.1", &a), 0);
	EXPECT_EQ(a.family, NR_AF_INET4);
	EXPECT_MEMEQ(a.ip, "\xc0\x00\x02\x01", 4);
	EXPECT_EQ(a.port, 0);
	ASSERT_EQ(lit("0.0.0.0", &a), 0);
	ASSERT_EQ(lit("255.255.255.255", &a), 0);
	EXPECT_EQ(lit("256.1.1.1", &a), NR_EINVAL);
	EXPECT_EQ(lit("1.2.3", &a), NR_EINVAL);
	EXPECT_EQ(lit("1.2.3.4.5", &a), NR_EINVAL);
	EXPECT_EQ(lit("01.2.3.4", &a), NR_EINVAL);
	EXPECT_EQ(lit("1.2.3.4 ", &a), NR_EINVAL);
	EXPECT_EQ(lit("1..3.4", &a), NR_EINVAL);
	EXPECT_EQ(lit("", &a), NR_EINVAL);
	EXPECT_EQ(lit("smarthost.test", &a), NR_EINVAL);
	EXPECT_EQ(lit("1234.1.1.1", &a), NR_EINVAL);
}

TEST(literal_v6)
{
	struct nr_addr a;
	static const uint8_t loop6[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
	static const uint8_t doc[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0,
					0,    0,    0,    0,    0, 0, 0, 0x42};
	static const uint8_t mapped[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, 1};

	ASSERT_EQ(lit("::1", &a), 0);
	EXPECT_EQ(a.family, NR_AF_INET6);
	EXPECT_MEMEQ(a.ip, loop6, 16);
	ASSERT_EQ(lit("[::1]", &a), 0);
	EXPECT_MEMEQ(a.ip, loop6, 16);
	ASSERT_EQ(lit("2001:DB8::42", &a), 0);
	EXPECT_MEMEQ(a.ip, doc, 16);
	ASSERT_EQ(lit("2001:db8:0:0:0:0:0:42", &a), 0);
	EXPECT_MEMEQ(a.ip, doc, 16);
	ASSERT_EQ(lit("::ffff:10.0.0.1", &a), 0);
	EXPECT_MEMEQ(a.ip, mapped, 16);
	ASSERT_EQ(lit("::", &a), 0);
	ASSERT_EQ(lit("1::", &a), 0);
	EXPECT_EQ(a.ip[1], 1);
	EXPECT_EQ(lit(":::", &a), NR_EINVAL);
	EXPECT_EQ(lit("1::2::3", &a), NR_EINVAL);
	EXPECT_EQ(lit("1:2:3:4:5:6:7", &a), NR_EINVAL);
	EXPECT_EQ(lit("1:2:3:4:5:6:7:8:9", &a), NR_EINVAL);
	EXPECT_EQ(lit("1:2:3:4:5:6:7::8", &a), NR_EINVAL);
	EXPECT_EQ(lit("12345::", &a), NR_EINVAL);
	EXPECT_EQ(lit(":1::", &a), NR_EINVAL);
	EXPECT_EQ(lit("1:", &a), NR_EINVAL);
	EXPECT_EQ(lit("[1.2.3.4]", &a), NR_EINVAL);
	EXPECT_EQ(lit("[::1", &a), NR_EINVAL);
	EXPECT_EQ(lit("fe80::1%eth0", &a), NR_EINVAL);
	EXPECT_EQ(lit("::ffff:1.2.3", &a), NR_EINVAL);
}

TEST(names)
{
	char long_label[70], long_name[300];

	EXPECT_EQ(nr_dns_check_name("smtp.gmail.com"), 0);
	EXPECT_EQ(nr_dns_check_name("smtp.gmail.com."), 0);
	EXPECT_EQ(nr_dns_check_name("_srv-x.Example"), 0);
	EXPECT_EQ(nr_dns_check_name("localhost"), 0);
	EXPECT_EQ(nr_dns_check_name(""), NR_EINVAL);
	EXPECT_EQ(nr_dns_check_name("."), NR_EINVAL);
	EXPECT_EQ(nr_dns_check_name("a..b"), NR_EINVAL);
	EXPECT_EQ(nr_dns_check_name(".a"), NR_EINVAL);
	EXPECT_EQ(nr_dns_check_name("a b"), NR_EINVAL);
	EXPECT_EQ(nr_dns_check_name("a\r\nb"), NR_EINVAL);
	EXPECT_EQ(nr_dns_check_name("a/b"), NR_EINVAL);
	memset(long_label, 'a', 64);
	long_label[64] = '\0';
	EXPECT_EQ(nr_dns_check_name(long_label), NR_EINVAL);
	long_label[63] = '\0';
	EXPECT_EQ(nr_dns_check_name(long_label), 0);
	/* 253 characters is the most. */
	memset(long_name, 'a', sizeof(long_name));
	for (int i = 50; i < 300; i += 51)
		long_name[i] = '.';
	long_name[253] = '\0';
	EXPECT_EQ(nr_dns_check_name(long_name), 0);
	long_name[253] = 'a';
	long_name[254] = '\0';
	EXPECT_EQ(nr_dns_check_name(long_name), NR_EINVAL);
}

static struct nr_addr mk(int family, uint8_t tag)
{
	struct nr_addr a;

	memset(&a, 0, sizeof(a));
	a.family = (uint8_t)family;
	a.ip[0] = tag;
	return a;
}

static void order_of(struct nr_addr *a, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		out[i] = (char)a[i].ip[0];
	out[n] = '\0';
}

TEST(sorting)
{
	struct nr_addr a[6];
	char s[8];
	size_t n;

	/* Server order: 4a 4b 6x 6y 6z 4c */
	a[0] = mk(NR_AF_INET4, 'a');
	a[1] = mk(NR_AF_INET4, 'b');
	a[2] = mk(NR_AF_INET6, 'x');
	a[3] = mk(NR_AF_INET6, 'y');
	a[4] = mk(NR_AF_INET6, 'z');
	a[5] = mk(NR_AF_INET4, 'c');
	struct nr_addr b[6];
	memcpy(b, a, sizeof(a));
	n = nr_dns_sort(b, 6, NR_DNS_ORDER_INTERLEAVE);
	order_of(b, n, s);
	EXPECT_STREQ(s, NR_ENABLED(CONFIG_NR_IPV6) ? "xaybzc" : "abc");
	memcpy(b, a, sizeof(a));
	n = nr_dns_sort(b, 6, NR_DNS_ORDER_V6_FIRST);
	order_of(b, n, s);
	EXPECT_STREQ(s, NR_ENABLED(CONFIG_NR_IPV6) ? "xyzabc" : "abc");
	memcpy(b, a, sizeof(a));
	n = nr_dns_sort(b, 6, NR_DNS_ORDER_V4_FIRST);
	order_of(b, n, s);
	EXPECT_STREQ(s, NR_ENABLED(CONFIG_NR_IPV6) ? "abcxyz" : "abc");
	/* Unknown families are dropped. */
	b[0] = mk(NR_AF_LOCAL, 'q');
	b[1] = mk(NR_AF_INET4, 'r');
	n = nr_dns_sort(b, 2, NR_DNS_ORDER_INTERLEAVE);
	EXPECT_EQ(n, 1);
	EXPECT_EQ(b[0].ip[0], 'r');
}

TEST(cache)
{
	static struct nr_dns_cache c;
	struct nr_dns_result r;
	struct nr_addr a[2] = {mk(NR_AF_INET4, 1), mk(NR_AF_INET6, 2)};
	char key[NR_DNS_NAME_MAX + 1];

	nr_dns_cache_clear(&c);
	nr_dns_cache_key(key, "SmartHost.Test.");
	EXPECT_STREQ(key, "smarthost.test");
	EXPECT_EQ(nr_dns_cache_get(&c, key, 1000, &r), 0);
	nr_dns_cache_put(&c, key, 1000, a, 2, 60);
	ASSERT_EQ(nr_dns_cache_get(&c, key, 1000, &r), 1);
	EXPECT_EQ(r.count, 2);
	EXPECT_EQ(r.from_cache, 1);
	EXPECT_EQ(r.ttl_s, 60);
	EXPECT_EQ(r.addrs[1].ip[0], 2);
	ASSERT_EQ(nr_dns_cache_get(&c, key, 30500, &r), 1);
	EXPECT_EQ(r.ttl_s, 30);
	EXPECT_EQ(nr_dns_cache_get(&c, key, 61000, &r), 0);
	EXPECT_EQ(nr_dns_cache_get(&c, key, 1000, &r), 0); /* expired entry was dropped */
	/* TTL 0 is not cached. */
	nr_dns_cache_put(&c, "zero.test", 1000, a, 2, 0);
	EXPECT_EQ(nr_dns_cache_get(&c, "zero.test", 1000, &r), 0);

	/* Bounded: the entry closest to expiry makes room. */
	nr_dns_cache_clear(&c);
	for (int i = 0; i < CONFIG_NR_DNS_CACHE_ENTRIES; i++) {
		char name[16];
		snprintf(name, sizeof(name), "h%d", i);
		nr_dns_cache_put(&c, name, 0, a, 1, (uint32_t)(100 + i));
	}
	nr_dns_cache_put(&c, "new", 0, a, 1, 50);
	EXPECT_EQ(nr_dns_cache_get(&c, "new", 0, &r), 1);
	EXPECT_EQ(nr_dns_cache_get(&c, "h0", 0, &r), 0);
	EXPECT_EQ(nr_dns_cache_get(&c, "h1", 0, &r), 1);
	/* Replacing an existing name keeps one entry. */
	nr_dns_cache_put(&c, "h1", 0, a + 1, 1, 10);
	ASSERT_EQ(nr_dns_cache_get(&c, "h1", 0, &r), 1);
	EXPECT_EQ(r.addrs[0].family, NR_AF_INET6);
	int n = 0;
	for (int i = 0; i < CONFIG_NR_DNS_CACHE_ENTRIES; i++)
		n += c.entries[i].used && strcmp(c.entries[i].name, "h1") == 0;
	EXPECT_EQ(n, 1);
}

int main(void)
{
	RUN(literal_v4);
	RUN(literal_v6);
	RUN(names);
	RUN(sorting);
	RUN(cache);
	return TEST_REPORT();
}
