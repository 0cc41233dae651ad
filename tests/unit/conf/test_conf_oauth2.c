/*
 * test_conf_oauth2.c - a smarthost's built-in OAuth2 settings (issue 19):
 * the presets' endpoints and scopes, the grant each line ends up with, and
 * every refusal as an exact "FILE:LINE: message".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "conf/conf.h"
#include "core/build.h"
#include "posix.h"
#include "test.h"

#define SECRET "conf_oauth2_test.secret"
#define SH "smarthost smtp.example.com user=printer@example.com "

static void write_file(const char *path, const char *text, unsigned mode)
{
	FILE *f = fopen(path, "w");

	if (f != NULL) {
		fputs(text, f);
		fclose(f);
	}
	chmod(path, mode);
}

static int parse(struct nr_conf *c, const char *text, char *err, size_t size)
{
	return nr_conf_parse(c, "t.conf", text, strlen(text), err, size);
}

/* Parse one good line and hand back its oauth2 (the conf stays owned by c). */
static const struct nr_conf_oauth2 *good(struct nr_conf *c, const char *text)
{
	char err[512] = "";

	if (parse(c, text, err, sizeof(err)) != 0) {
		NR_TEST_FAIL_("refused: %s\n  %s", text, err);
		return NULL;
	}
	if (c->smarthost_count != 1 || c->smarthost[0].oauth2 == NULL) {
		NR_TEST_FAIL_("no oauth2 on: %s", text);
		return NULL;
	}
	EXPECT_STREQ(c->smarthost[0].auth_mech, "XOAUTH2");
	return c->smarthost[0].oauth2;
}

#define NEEDS_OAUTH2()                                                                             \
	do {                                                                                       \
		if (!NR_ENABLED(CONFIG_NR_OAUTH2)) {                                               \
			printf("# %s: skipped, needs CONFIG_NR_OAUTH2\n", __func__);               \
			return;                                                                    \
		}                                                                                  \
	} while (0)

TEST(microsoft_app_only_preset)
{
	struct nr_conf c;
	const struct nr_conf_oauth2 *o;

	NEEDS_OAUTH2();
	o = good(&c, SH "auth=XOAUTH2 oauth2=microsoft oauth2_tenant=contoso.onmicrosoft.com "
			"oauth2_client_id=11111111-2222-3333-4444-555555555555 "
			"oauth2_client_secret_file=" SECRET);
	if (o != NULL) {
		EXPECT_EQ(o->provider, NR_OAUTH2_MICROSOFT);
		EXPECT_EQ(o->grant, NR_OAUTH2_CLIENT_CREDENTIALS);
		EXPECT_STREQ(o->token_url, "https://login.microsoftonline.com/"
					   "contoso.onmicrosoft.com/oauth2/v2.0/token");
		EXPECT_STREQ(o->device_url, "https://login.microsoftonline.com/"
					    "contoso.onmicrosoft.com/oauth2/v2.0/devicecode");
		EXPECT_STREQ(o->scope, "https://outlook.office365.com/.default");
		EXPECT_STREQ(o->client_secret_file, SECRET);
	}
	nr_conf_free(&c);
}

TEST(microsoft_delegated_preset)
{
	struct nr_conf c;
	const struct nr_conf_oauth2 *o;

	NEEDS_OAUTH2();
	/* No secret, no tenant: a user's login on any work or school account;
	 * auth= is implied by oauth2=. */
	o = good(&c, SH "oauth2=microsoft oauth2_client_id=abc");
	if (o != NULL) {
		EXPECT_EQ(o->grant, NR_OAUTH2_REFRESH_TOKEN);
		EXPECT_STREQ(o->tenant, "organizations");
		EXPECT_STREQ(o->token_url,
			     "https://login.microsoftonline.com/organizations/oauth2/v2.0/token");
		EXPECT_STREQ(o->scope, "https://outlook.office.com/SMTP.Send offline_access");
		EXPECT_TRUE(o->client_secret_file == NULL);
	}
	nr_conf_free(&c);
}

TEST(google_preset_has_no_device_flow)
{
	struct nr_conf c;
	const struct nr_conf_oauth2 *o;

	NEEDS_OAUTH2();
	o = good(&c, SH "auth=xoauth2 oauth2=google "
			"oauth2_client_id=123-abc.apps.googleusercontent.com "
			"oauth2_client_secret_file=" SECRET);
	if (o != NULL) {
		EXPECT_EQ(o->grant, NR_OAUTH2_REFRESH_TOKEN);
		EXPECT_STREQ(o->token_url, "https://oauth2.googleapis.com/token");
		EXPECT_STREQ(o->auth_url, "https://accounts.google.com/o/oauth2/v2/auth");
		EXPECT_TRUE(o->device_url == NULL);
		EXPECT_STREQ(o->scope, "https://mail.google.com/");
		EXPECT_TRUE(o->tenant == NULL);
	}
	nr_conf_free(&c);
}

TEST(custom_takes_urls_and_scopes)
{
	struct nr_conf c;
	const struct nr_conf_oauth2 *o;

	NEEDS_OAUTH2();
	o = good(&c, SH "oauth2=custom oauth2_client_id=t oauth2_grant=refresh_token "
			"oauth2_token_url=https://127.0.0.1:8443/token "
			"oauth2_device_url=https://localhost:8443/device "
			"oauth2_scope=https://outlook.office.com/SMTP.Send,offline_access");
	if (o != NULL) {
		EXPECT_EQ(o->provider, NR_OAUTH2_CUSTOM);
		EXPECT_EQ(o->grant, NR_OAUTH2_REFRESH_TOKEN);
		EXPECT_STREQ(o->token_url, "https://127.0.0.1:8443/token");
		EXPECT_STREQ(o->device_url, "https://localhost:8443/device");
		EXPECT_STREQ(o->scope, "https://outlook.office.com/SMTP.Send offline_access");
		EXPECT_TRUE(o->auth_url == NULL);
	}
	nr_conf_free(&c);
	o = good(&c, SH "oauth2=custom oauth2_client_id=t oauth2_token_url=https://a.test/token "
			"oauth2_auth_url=https://a.test/authorize");
	if (o != NULL)
		EXPECT_STREQ(o->auth_url, "https://a.test/authorize");
	nr_conf_free(&c);
	/* A secret and no device endpoint: app-only by default. */
	o = good(&c, SH "oauth2=custom oauth2_client_id=t oauth2_client_secret_file=" SECRET
			" oauth2_token_url=https://127.0.0.1:8443/token");
	if (o != NULL) {
		EXPECT_EQ(o->grant, NR_OAUTH2_CLIENT_CREDENTIALS);
		EXPECT_TRUE(o->scope == NULL);
	}
	nr_conf_free(&c);
}

static const struct {
	const char *text;
	const char *err;
} bad[] = {
    {SH "oauth2=yahoo oauth2_client_id=a",
     "t.conf:1: smarthost: oauth2: expected microsoft, google or custom, got \"yahoo\""},
    {"smarthost smtp.example.com oauth2=google oauth2_client_id=a",
     "t.conf:1: smarthost: oauth2= needs user="},
    {SH "oauth2_client_id=a", "t.conf:1: smarthost: user= needs password_file=, "
			      "oauth_token_file= or oauth2="},
    {SH "password_file=" SECRET " oauth2_tenant=x",
     "t.conf:1: smarthost: oauth2_tenant= needs oauth2=microsoft, google or custom"},
    {SH "password_file=" SECRET " oauth2=google oauth2_client_id=a",
     "t.conf:1: smarthost: give oauth2= or password_file=, not both"},
    {SH "oauth2=google oauth2_client_id=a auth=PLAIN",
     "t.conf:1: smarthost: auth: a password mechanism needs password_file="},
    {SH "oauth2=google", "t.conf:1: smarthost: oauth2= needs oauth2_client_id= (from the app "
			 "registration)"},
    {SH "oauth2=google oauth2_client_id=a/b",
     "t.conf:1: smarthost: oauth2_client_id: expected letters, digits, '-', '.' or '_', got "
     "\"a/b\""},
    {SH "oauth2=google oauth2_client_id=a oauth2_tenant=x",
     "t.conf:1: smarthost: oauth2_tenant= is for oauth2=microsoft"},
    {SH "oauth2=microsoft oauth2_client_id=a oauth2_tenant=x?y",
     "t.conf:1: smarthost: oauth2_tenant: expected letters, digits, '-', '.' or '_', got "
     "\"x?y\""},
    {SH "oauth2=google oauth2_client_id=a oauth2_token_url=https://evil.example/token",
     "t.conf:1: smarthost: oauth2_token_url= is for oauth2=custom; the google preset knows its "
     "endpoints"},
    {SH "oauth2=custom oauth2_client_id=a",
     "t.conf:1: smarthost: oauth2=custom needs oauth2_token_url="},
    {SH "oauth2=microsoft oauth2_client_id=a oauth2_auth_url=https://evil.example/a",
     "t.conf:1: smarthost: oauth2_auth_url= is for oauth2=custom; the microsoft preset knows "
     "its endpoints"},
    {SH "oauth2=custom oauth2_client_id=a oauth2_token_url=https://a.example/t "
	"oauth2_auth_url=http://a.example/auth",
     "t.conf:1: smarthost: oauth2_auth_url: expected an https:// URL (tokens never travel in "
     "clear), got \"http://a.example/auth\""},
    {SH "oauth2=custom oauth2_client_id=a oauth2_token_url=http://auth.example/token",
     "t.conf:1: smarthost: oauth2_token_url: expected an https:// URL (tokens never travel in "
     "clear), got \"http://auth.example/token\""},
    {SH "oauth2=custom oauth2_client_id=a oauth2_token_url=https://a.example/t "
	"oauth2_device_url=https:///device",
     "t.conf:1: smarthost: oauth2_device_url: expected https://HOST/PATH, got "
     "\"https:///device\""},
    {SH "oauth2=custom oauth2_client_id=a oauth2_token_url=https://u@a.example/t",
     "t.conf:1: smarthost: oauth2_token_url: \"https://u@a.example/t\" has a character a URL "
     "here may not have"},
    {SH "oauth2=google oauth2_client_id=a oauth2_grant=password",
     "t.conf:1: smarthost: oauth2_grant: expected client_credentials or refresh_token, got "
     "\"password\""},
    {SH "oauth2=google oauth2_client_id=a oauth2_grant=client_credentials",
     "t.conf:1: smarthost: Gmail has no client_credentials grant for SMTP; use "
     "oauth2_grant=refresh_token and nanorelay oauth2 login"},
    {SH "oauth2=microsoft oauth2_client_id=a oauth2_grant=client_credentials "
	"oauth2_tenant=contoso.com",
     "t.conf:1: smarthost: oauth2_grant=client_credentials needs oauth2_client_secret_file="},
    {SH "oauth2=microsoft oauth2_client_id=a oauth2_grant=client_credentials "
	"oauth2_client_secret_file=" SECRET,
     "t.conf:1: smarthost: oauth2_grant=client_credentials needs oauth2_tenant= (your "
     "tenant's id or domain)"},
    {SH "oauth2=microsoft oauth2_client_id=a oauth2_tenant=contoso.com "
	"oauth2_client_secret_file=/nonexistent/s",
     "t.conf:1: smarthost: oauth2_client_secret_file /nonexistent/s: cannot read: not found"},
    {SH "oauth2=google oauth2_client_id=a oauth2_scope=a,,b",
     "t.conf:1: smarthost: oauth2_scope: expected scopes separated by commas, like "
     "https://outlook.office.com/SMTP.Send,offline_access, got \"a,,b\""},
    {SH "oauth2=google oauth2_client_id=a oauth2_scope=a\"b",
     "t.conf:1: smarthost: oauth2_scope: expected scopes separated by commas, like "
     "https://outlook.office.com/SMTP.Send,offline_access, got \"a\"b\""},
};

TEST(bad_oauth2_lines_are_refused)
{
	const int reduced = !NR_ENABLED(CONFIG_NR_OAUTH2) || !NR_ENABLED(CONFIG_NR_TLS) ||
			    !NR_ENABLED(CONFIG_NR_AUTH_PLAIN);
	size_t i;

	for (i = 0; i < NR_ARRAY_LEN(bad); i++) {
		struct nr_conf c;
		char err[512] = "";
		int rc = parse(&c, bad[i].text, err, sizeof(err));

		/* In a build without OAuth2, TLS or PLAIN, a line is refused for
		 * the missing option first (test_conf checks those refusals): the
		 * case steps aside. The default build has them all. */
		if (reduced && strstr(err, "not in this build") != NULL) {
			nr_conf_free(&c);
			continue;
		}
		if (rc != NR_EINVAL || strcmp(err, bad[i].err) != 0)
			NR_TEST_FAIL_("case %zu: %s\n  rc %d\n  got      %s\n  expected %s", i,
				      bad[i].text, rc, err, bad[i].err);
		nr_conf_free(&c);
	}
}

int main(void)
{
	/* the parser's look at files is the front end's (app.c does the same) */
	nr_conf_set_file_probe(nr_plat_file_is_exposed);
	write_file(SECRET, "s3cr3t\n", 0600);
	RUN(microsoft_app_only_preset);
	RUN(microsoft_delegated_preset);
	RUN(google_preset_has_no_device_flow);
	RUN(custom_takes_urls_and_scopes);
	RUN(bad_oauth2_lines_are_refused);
	remove(SECRET);
	return TEST_REPORT();
}
