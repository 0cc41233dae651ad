/* test_provider.c - which smarthosts enforce the header From, and when the
 * relay rewrites it: the explicit settings win, auto follows the provider. */
#include <string.h>

#include "rewrite/provider.h"
#include "test.h"

static struct nr_conf_smarthost host(const char *name, const char *user)
{
	struct nr_conf_smarthost sh;

	memset(&sh, 0, sizeof(sh));
	sh.host = (char *)name;
	sh.user = (char *)user;
	sh.port = 587;
	return sh;
}

TEST(provider_by_host_name)
{
	static const struct {
		const char *name;
		enum nr_provider p;
	} cases[] = {
	    {"smtp.office365.com", NR_PROVIDER_MICROSOFT},
	    {"SMTP.Office365.COM", NR_PROVIDER_MICROSOFT},
	    {"smtp.office365.com.", NR_PROVIDER_MICROSOFT},
	    {"outlook.office365.com", NR_PROVIDER_MICROSOFT},
	    {"smtp-mail.outlook.com", NR_PROVIDER_MICROSOFT},
	    {"smtp.gmail.com", NR_PROVIDER_GOOGLE},
	    {"smtp.googlemail.com", NR_PROVIDER_GOOGLE},
	    /* look-alikes and other hosts are not the providers */
	    {"smtp.gmail.com.evil.example", NR_PROVIDER_NONE},
	    {"xsmtp.gmail.com", NR_PROVIDER_NONE},
	    {"smtp.gmail.co", NR_PROVIDER_NONE},
	    {"mail.example.com", NR_PROVIDER_NONE},
	    {"127.0.0.1", NR_PROVIDER_NONE},
	    {"", NR_PROVIDER_NONE},
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct nr_conf_smarthost sh = host(cases[i].name, NULL);
		EXPECT_EQ(nr_provider_of(&sh), cases[i].p);
	}
	EXPECT_EQ(nr_provider_of(NULL), NR_PROVIDER_NONE);
	EXPECT_STREQ(nr_provider_name(NR_PROVIDER_MICROSOFT), "Microsoft 365");
	EXPECT_STREQ(nr_provider_name(NR_PROVIDER_GOOGLE), "Gmail");
	EXPECT_STREQ(nr_provider_name(NR_PROVIDER_NONE), "");
}

TEST(auto_is_on_for_an_account_at_a_provider)
{
	struct nr_conf c;
	struct nr_conf_smarthost m365 = host("smtp.office365.com", "scanner@contoso.com");
	struct nr_conf_smarthost gmail = host("smtp.gmail.com", "me@gmail.com");
	struct nr_conf_smarthost isp = host("mail.isp.example", "me@isp.example");
	struct nr_conf_smarthost anon = host("smtp.office365.com", NULL);
	struct nr_conf_smarthost bare = host("smtp.gmail.com", "me");

	nr_conf_init(&c);
	EXPECT_EQ(c.from_rewrite, NR_FROM_REWRITE_AUTO);
	EXPECT_EQ(nr_from_rewrite_for(&c, &m365), 1);
	EXPECT_EQ(nr_from_rewrite_for(&c, &gmail), 1);
	EXPECT_EQ(nr_from_rewrite_for(&c, &isp), 0);  /* not known to enforce it */
	EXPECT_EQ(nr_from_rewrite_for(&c, &anon), 0); /* no account to rewrite to */
	EXPECT_EQ(nr_from_rewrite_for(&c, &bare), 0); /* the user is no address */
}

TEST(explicit_settings_win)
{
	struct nr_conf c;
	struct nr_conf_smarthost m365 = host("smtp.office365.com", "scanner@contoso.com");
	struct nr_conf_smarthost isp = host("mail.isp.example", "me@isp.example");

	nr_conf_init(&c);
	c.from_rewrite = NR_FROM_REWRITE_OFF; /* global off beats the provider */
	EXPECT_EQ(nr_from_rewrite_for(&c, &m365), 0);
	c.from_rewrite = NR_FROM_REWRITE_ON; /* global on reaches every host */
	EXPECT_EQ(nr_from_rewrite_for(&c, &isp), 1);
	m365.from_rewrite = NR_FROM_REWRITE_OFF; /* the smarthost's own beats global */
	EXPECT_EQ(nr_from_rewrite_for(&c, &m365), 0);
	c.from_rewrite = NR_FROM_REWRITE_OFF;
	isp.from_rewrite = NR_FROM_REWRITE_ON;
	EXPECT_EQ(nr_from_rewrite_for(&c, &isp), 1);
	m365.from_rewrite = NR_FROM_REWRITE_AUTO; /* explicit auto follows global */
	EXPECT_EQ(nr_from_rewrite_for(&c, &m365), 0);
}

int main(void)
{
	RUN(provider_by_host_name);
	RUN(auto_is_on_for_an_account_at_a_provider);
	RUN(explicit_settings_win);
	return TEST_REPORT();
}
