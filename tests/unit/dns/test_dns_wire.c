/* test_dns_wire.c - DNS messages (dns_wire.c): the query's bytes, answers
 * taken and answers refused, resolv.conf's servers and the hosts file. */
#include <string.h>

#include "dns/dns_priv.h"
#include "test.h"

static uint8_t query[NR_DNS_QUERY_MAX];
static size_t qlen;

/* An answer being built: the query's header and question, then records. */
static uint8_t msg[1024];
static size_t mlen;

static void ask(const char *name, uint16_t type)
{
	long n = nr_dns_wire_query(query, sizeof(query), 0x1234, name, type);

	ASSERT_TRUE(n > 0);
	qlen = (size_t)n;
}

/* Start an answer to the query: QR, RA, rcode, ancount set later. */
static void answer_begin(int rcode)
{
	memcpy(msg, query, qlen);
	msg[2] = 0x81; /* QR, RD */
	msg[3] = (uint8_t)(0x80 | rcode);
	mlen = qlen;
}

static void put(const void *p, size_t n)
{
	memcpy(msg + mlen, p, n);
	mlen += n;
}

/* A record: owner given in wire form (or a pointer), type, TTL, rdata. */
static void record(const void *owner, size_t olen, uint16_t type, uint32_t ttl, const void *rd,
		   size_t rdlen)
{
	uint8_t f[10] = {(uint8_t)(type >> 8),
			 (uint8_t)type,
			 0,
			 1,
			 (uint8_t)(ttl >> 24),
			 (uint8_t)(ttl >> 16),
			 (uint8_t)(ttl >> 8),
			 (uint8_t)ttl,
			 (uint8_t)(rdlen >> 8),
			 (uint8_t)rdlen};

	put(owner, olen);
	put(f, sizeof(f));
	put(rd, rdlen);
	msg[7]++; /* ANCOUNT (below 256 here) */
}

static const uint8_t at_q[2] = {0xc0, 12}; /* a pointer to the question's name */

TEST(query_bytes)
{
	static const uint8_t want[] = {0x12, 0x34, 0x01, 0x00, 0,   1,   0, 0,   0,   0,   0,
				       0,    4,    's',  'm',  't', 'p', 5, 'g', 'm', 'a', 'i',
				       'l',  3,    'c',  'o',  'm', 0,   0, 28,  0,   1};
	uint8_t small[20];

	ask("smtp.gmail.com.", NR_DNS_TYPE_AAAA);
	ASSERT_EQ(qlen, sizeof(want));
	EXPECT_MEMEQ(query, want, sizeof(want));
	ask("smtp.gmail.com", NR_DNS_TYPE_AAAA);
	EXPECT_EQ(qlen, sizeof(want));
	EXPECT_EQ(nr_dns_wire_query(small, sizeof(small), 1, "smtp.gmail.com", 1), NR_EINVAL);
	EXPECT_EQ(nr_dns_wire_query(query, sizeof(query), 1, "a..b", 1), NR_EINVAL);
	EXPECT_EQ(nr_dns_wire_query(query, sizeof(query), 1, "a b", 1), NR_EINVAL);
}

TEST(a_records_taken)
{
	struct nr_dns_answer a;

	ask("Mail.Example.org", NR_DNS_TYPE_A);
	answer_begin(0);
	record(at_q, 2, NR_DNS_TYPE_A, 300, "\xc0\x00\x02\x01", 4);
	record(at_q, 2, NR_DNS_TYPE_A, 120, "\xc0\x00\x02\x02", 4);
	record(at_q, 2, NR_DNS_TYPE_AAAA, 60, "0123456789abcdef", 16); /* other type */
	ASSERT_EQ(nr_dns_wire_answer(msg, mlen, query, qlen, &a), 0);
	EXPECT_EQ(a.rcode, 0);
	EXPECT_EQ(a.truncated, 0);
	ASSERT_EQ(a.count, 2);
	EXPECT_EQ(a.addrs[0].family, NR_AF_INET4);
	EXPECT_MEMEQ(a.addrs[1].ip, "\xc0\x00\x02\x02", 4);
	EXPECT_EQ(a.ttl, 120);
	/* The question repeated in another case is still ours. */
	msg[13] = 'm';
	msg[18] = 'E';
	EXPECT_EQ(nr_dns_wire_answer(msg, mlen, query, qlen, &a), 0);
	EXPECT_EQ(a.count, 2);
}

TEST(cname_chain_in_either_order)
{
	static const uint8_t b[] = {1, 'b', 0xc0, 12 + 2}; /* "b." + "test" of the question */
	struct nr_dns_answer a;
	size_t b_at;

	ask("a.test", NR_DNS_TYPE_A);
	/* In order: a CNAME b.test, b.test A */
	answer_begin(0);
	b_at = mlen + 12;
	record(at_q, 2, 5, 50, b, sizeof(b));
	{
		uint8_t to_b[2] = {0xc0, (uint8_t)b_at};

		record(to_b, 2, NR_DNS_TYPE_A, 500, "\x0a\x00\x00\x07", 4);
		/* a record for a name off the chain is not taken */
		record("\x01z\x00", 3, NR_DNS_TYPE_A, 500, "\x0a\x00\x00\x08", 4);
	}
	ASSERT_EQ(nr_dns_wire_answer(msg, mlen, query, qlen, &a), 0);
	ASSERT_EQ(a.count, 1);
	EXPECT_MEMEQ(a.addrs[0].ip, "\x0a\x00\x00\x07", 4);
	EXPECT_EQ(a.ttl, 50);
	/* Reversed: b.test A first, written out, then the CNAME. */
	answer_begin(0);
	record("\x01"
	       "b\x04test\x00",
	       8, NR_DNS_TYPE_A, 500, "\x0a\x00\x00\x09", 4);
	record(at_q, 2, 5, 40,
	       "\x01"
	       "B\x04TEST\x00",
	       8);
	ASSERT_EQ(nr_dns_wire_answer(msg, mlen, query, qlen, &a), 0);
	ASSERT_EQ(a.count, 1);
	EXPECT_MEMEQ(a.addrs[0].ip, "\x0a\x00\x00\x09", 4);
	EXPECT_EQ(a.ttl, 40);
	/* A loop (a -> b -> a) is a bad answer, not a hang. */
	answer_begin(0);
	record(at_q, 2, 5, 40,
	       "\x01"
	       "b\x04test\x00",
	       8);
	record("\x01"
	       "b\x04test\x00",
	       8, 5, 40,
	       "\x01"
	       "a\x04test\x00",
	       8);
	EXPECT_EQ(nr_dns_wire_answer(msg, mlen, query, qlen, &a), NR_EDNS);
}

TEST(not_our_answer_ignored)
{
	struct nr_dns_answer a;

	ask("smarthost.test", NR_DNS_TYPE_A);
	answer_begin(0);
	record(at_q, 2, NR_DNS_TYPE_A, 60, "\x7f\x00\x00\x01", 4);
	ASSERT_EQ(nr_dns_wire_answer(msg, mlen, query, qlen, &a), 0);
	msg[1] ^= 1; /* another ID */
	EXPECT_EQ(nr_dns_wire_answer(msg, mlen, query, qlen, &a), NR_EINVAL);
	msg[1] ^= 1;
	msg[2] &= 0x7f; /* a query, not an answer */
	EXPECT_EQ(nr_dns_wire_answer(msg, mlen, query, qlen, &a), NR_EINVAL);
	msg[2] |= 0x80;
	msg[15] = 'x'; /* another question */
	EXPECT_EQ(nr_dns_wire_answer(msg, mlen, query, qlen, &a), NR_EINVAL);
	msg[15] = query[15];
	msg[qlen - 3] = 28; /* another type */
	EXPECT_EQ(nr_dns_wire_answer(msg, mlen, query, qlen, &a), NR_EINVAL);
	msg[qlen - 3] = query[qlen - 3];
	msg[5] = 2; /* two questions */
	EXPECT_EQ(nr_dns_wire_answer(msg, mlen, query, qlen, &a), NR_EINVAL);
	msg[5] = 1;
	EXPECT_EQ(nr_dns_wire_answer(msg, 11, query, qlen, &a), NR_EINVAL);
	EXPECT_EQ(nr_dns_wire_answer(msg, qlen - 1, query, qlen, &a), NR_EINVAL);
}

TEST(rcode_tc_and_ttl)
{
	struct nr_dns_answer a;

	ask("nope.test", NR_DNS_TYPE_A);
	answer_begin(3);
	ASSERT_EQ(nr_dns_wire_answer(msg, mlen, query, qlen, &a), 0);
	EXPECT_EQ(a.rcode, 3);
	answer_begin(2);
	ASSERT_EQ(nr_dns_wire_answer(msg, mlen, query, qlen, &a), 0);
	EXPECT_EQ(a.rcode, 2);
	answer_begin(0);
	msg[2] |= 0x02;
	ASSERT_EQ(nr_dns_wire_answer(msg, mlen, query, qlen, &a), 0);
	EXPECT_EQ(a.truncated, 1);
	EXPECT_EQ(a.count, 0);
	/* RFC 2181 8: a TTL with its top bit set counts as 0. */
	answer_begin(0);
	record(at_q, 2, NR_DNS_TYPE_A, 0x80000000u, "\x7f\x00\x00\x01", 4);
	ASSERT_EQ(nr_dns_wire_answer(msg, mlen, query, qlen, &a), 0);
	EXPECT_EQ(a.count, 1);
	EXPECT_EQ(a.ttl, 0);
	/* An A record with a 16-byte address is not taken. */
	answer_begin(0);
	record(at_q, 2, NR_DNS_TYPE_A, 60, "0123456789abcdef", 16);
	ASSERT_EQ(nr_dns_wire_answer(msg, mlen, query, qlen, &a), 0);
	EXPECT_EQ(a.count, 0);
}

TEST(malformed_answers)
{
	static const uint8_t fwd[2] = {0xc0, 0xff};
	struct nr_dns_answer a;
	size_t full;

	ask("h.test", NR_DNS_TYPE_A);
	answer_begin(0);
	record(at_q, 2, NR_DNS_TYPE_A, 60, "\x7f\x00\x00\x01", 4);
	full = mlen;
	/* Every cut inside the record is malformed, never read past. */
	for (mlen = qlen; mlen < full; mlen++)
		EXPECT_EQ(nr_dns_wire_answer(msg, mlen, query, qlen, &a), NR_EDNS);
	/* A pointer forwards, or onto itself: a loop refused. */
	answer_begin(0);
	record(fwd, 2, NR_DNS_TYPE_A, 60, "\x7f\x00\x00\x01", 4);
	EXPECT_EQ(nr_dns_wire_answer(msg, mlen, query, qlen, &a), NR_EDNS);
	answer_begin(0);
	{
		uint8_t self[2] = {0xc0, (uint8_t)mlen};

		record(self, 2, NR_DNS_TYPE_A, 60, "\x7f\x00\x00\x01", 4);
	}
	EXPECT_EQ(nr_dns_wire_answer(msg, mlen, query, qlen, &a), NR_EDNS);
	/* More records announced than present. */
	answer_begin(0);
	record(at_q, 2, NR_DNS_TYPE_A, 60, "\x7f\x00\x00\x01", 4);
	msg[7] = 2;
	EXPECT_EQ(nr_dns_wire_answer(msg, mlen, query, qlen, &a), NR_EDNS);
	EXPECT_EQ(a.count, 0);
}

TEST(resolv_conf_servers)
{
	struct nr_addr s[3];
	const char *conf = "# a router's\n"
			   "search lan\n"
			   "nameserver 127.0.0.1 # dnsmasq\n"
			   "nameserver\t::1\r\n"
			   "nameserver fe80::1%eth0\n"
			   "nameserver not-an-address\n"
			   "; nameserver 192.0.2.99\n"
			   "nameservers 192.0.2.98\n"
			   "nameserver 192.0.2.53\n"
			   "nameserver 192.0.2.54";
	size_t n = nr_dns_conf_servers(conf, s, 3);

	ASSERT_EQ(n, 3);
	EXPECT_MEMEQ(s[0].ip, "\x7f\x00\x00\x01", 4);
	EXPECT_EQ(s[0].port, 53);
	if (NR_ENABLED(CONFIG_NR_IPV6)) {
		EXPECT_EQ(s[1].family, NR_AF_INET6);
		EXPECT_MEMEQ(s[2].ip, "\xc0\x00\x02\x35", 4);
	} else { /* ::1 is skipped: the third is the last line's */
		EXPECT_MEMEQ(s[1].ip, "\xc0\x00\x02\x35", 4);
		EXPECT_MEMEQ(s[2].ip, "\xc0\x00\x02\x36", 4);
	}
	EXPECT_EQ(nr_dns_conf_servers("", s, 3), 0);
	EXPECT_EQ(nr_dns_conf_servers("nameserver 192.0.2.1", s, 0), 0);
}

TEST(search_domains)
{
	char out[32];

	EXPECT_EQ(nr_dns_conf_search("search corp.example lan.\n", out, sizeof(out)), 2);
	EXPECT_STREQ(out, "corp.example lan");
	/* The last search or domain line wins; bad names are left out. */
	EXPECT_EQ(nr_dns_conf_search("search a b\ndomain home.arpa # here\n", out, sizeof(out)), 1);
	EXPECT_STREQ(out, "home.arpa");
	EXPECT_EQ(nr_dns_conf_search("domain x\nsearch bad..name ok\n", out, sizeof(out)), 1);
	EXPECT_STREQ(out, "ok");
	/* What does not fit is left out, the rest kept. */
	EXPECT_EQ(
	    nr_dns_conf_search("search aaaaaaaaaaaaaaaa bbbbbbbbbbbbbbbb c\n", out, sizeof(out)),
	    2);
	EXPECT_STREQ(out, "aaaaaaaaaaaaaaaa c");
	EXPECT_EQ(nr_dns_conf_search("nameserver 127.0.0.1\n", out, sizeof(out)), 0);
	EXPECT_STREQ(out, "");
}

TEST(hosts_file)
{
	struct nr_addr a[4];
	const char *hosts = "127.0.0.1\tlocalhost\n"
			    "::1 localhost ip6-localhost\n"
			    "# 192.0.2.9 printer.lan\n"
			    "192.0.2.10 relay.lan Mail # the relay\n"
			    "bogus mail\n"
			    "192.0.2.11 mail.\n";

	EXPECT_EQ(nr_dns_hosts_find(hosts, "localhost", a, 4), 2);
	EXPECT_EQ(a[1].family, NR_AF_INET6);
	ASSERT_EQ(nr_dns_hosts_find(hosts, "mail", a, 4), 2);
	EXPECT_MEMEQ(a[0].ip, "\xc0\x00\x02\x0a", 4);
	EXPECT_MEMEQ(a[1].ip, "\xc0\x00\x02\x0b", 4);
	EXPECT_EQ(nr_dns_hosts_find(hosts, "printer.lan", a, 4), 0);
	EXPECT_EQ(nr_dns_hosts_find(hosts, "the", a, 4), 0);
	EXPECT_EQ(nr_dns_hosts_find(hosts, "relay", a, 4), 0);
	EXPECT_EQ(nr_dns_hosts_find(hosts, "localhost", a, 1), 1);
}

int main(void)
{
	RUN(query_bytes);
	RUN(a_records_taken);
	RUN(cname_chain_in_either_order);
	RUN(not_our_answer_ignored);
	RUN(rcode_tc_and_ttl);
	RUN(malformed_answers);
	RUN(resolv_conf_servers);
	RUN(search_domains);
	RUN(hosts_file);
	return TEST_REPORT();
}
