/*
 * conf_oauth2.c - a smarthost's built-in OAuth2 options (issue 19).
 *
 *   smarthost smtp.office365.com:587 user=printer@example.com auth=XOAUTH2
 *       oauth2=microsoft oauth2_tenant=contoso.onmicrosoft.com
 *       oauth2_client_id=... oauth2_client_secret_file=/etc/nanorelay/m365.secret
 *
 * The presets carry each provider's real endpoints and the scope SMTP
 * needs, so the user names a provider and gives what only they know (the
 * client id, the tenant, the secret's file). `custom` takes the URLs (the
 * tests point it at their own authorisation server).
 *
 * A scope has several words, and a configuration value has no spaces: the
 * words of oauth2_scope= are separated by commas.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf.h"
#include "conf/conf_int.h"
#include "core/ascii.h"
#include "core/mem.h"

#define MS_LOGIN "https://login.microsoftonline.com/"
/* Application permission SMTP.SendAsApp is reached through the Exchange
 * Online resource's .default scope; delegated SMTP.Send needs
 * offline_access to get a refresh token. */
#define MS_SCOPE_APP "https://outlook.office365.com/.default"
#define MS_SCOPE_USER "https://outlook.office.com/SMTP.Send offline_access"
#define GOOGLE_TOKEN "https://oauth2.googleapis.com/token"
#define GOOGLE_AUTH "https://accounts.google.com/o/oauth2/v2/auth"
#define GOOGLE_SCOPE "https://mail.google.com/"

static const char *const provider_words[] = {"microsoft", "google", "custom", NULL};
static const char *const grant_words[] = {"client_credentials", "refresh_token", NULL};

void nr_conf_oauth2_free(struct nr_conf_oauth2 *o)
{
	if (o == NULL)
		return;
	nr_free(o->client_id);
	nr_free(o->client_secret_file);
	nr_free(o->tenant);
	nr_free(o->scope);
	nr_free(o->token_url);
	nr_free(o->device_url);
	nr_free(o->auth_url);
	nr_free(o);
}

/* https://HOST[:PORT][/PATH] with no spaces, quotes or controls: the value
 * goes into a request line and a Host header. */
static int https_url(struct nr_conf_parser *p, const char *what, const char *v)
{
	const char *h = v + 8;
	size_t i;

	p->sub = what;
	if (strncmp(v, "https://", 8) != 0)
		return nr_conf_fail(p,
				    "expected an https:// URL (tokens never travel in clear), "
				    "got %s",
				    nr_conf_quote(p, v));
	if (*h == '\0' || *h == '/' || *h == ':' || strlen(v) > 512)
		return nr_conf_fail(p, "expected https://HOST/PATH, got %s", nr_conf_quote(p, v));
	for (i = 0; v[i] != '\0'; i++) {
		unsigned char ch = (unsigned char)v[i];
		if (ch <= 0x20 || ch >= 0x7f || ch == '"' || ch == '\\' || ch == '#' || ch == '@')
			return nr_conf_fail(p, "%s has a character a URL here may not have",
					    nr_conf_quote(p, v));
	}
	p->sub = NULL;
	return 0;
}

/* Client ids, tenants: letters, digits and - . _ (Microsoft GUIDs and
 * domain names, Google's "NNN-xxx.apps.googleusercontent.com"). */
static int plain_word(struct nr_conf_parser *p, const char *what, const char *v)
{
	size_t i, n = strlen(v);

	for (i = 0; i < n; i++) {
		char ch = v[i];
		if (!nr_ascii_isalnum(ch) && ch != '-' && ch != '.' && ch != '_')
			break;
	}
	if (n == 0 || n > 200 || i != n) {
		p->sub = what;
		return nr_conf_fail(p, "expected letters, digits, '-', '.' or '_', got %s",
				    nr_conf_quote(p, v));
	}
	return 0;
}

/* RFC 6749 3.3 scope-tokens (%x21 / %x23-5B / %x5D-7E), comma-separated
 * here; stored space-separated as the token request sends them. */
static int scope_words(struct nr_conf_parser *p, const char *v, char **out)
{
	size_t i, n = strlen(v);
	char *s;

	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)v[i];
		if (ch == ',' ? (i == 0 || i + 1 == n || v[i + 1] == ',')
			      : (ch < 0x21 || ch > 0x7e || ch == '"' || ch == '\\'))
			break;
	}
	if (n == 0 || n > 512 || i != n) {
		p->sub = "oauth2_scope";
		return nr_conf_fail(p,
				    "expected scopes separated by commas, like "
				    "https://outlook.office.com/SMTP.Send,offline_access, got %s",
				    nr_conf_quote(p, v));
	}
	if ((s = nr_conf_dup_str(v)) == NULL)
		return nr_conf_oom(p);
	for (i = 0; i < n; i++)
		if (s[i] == ',')
			s[i] = ' ';
	*out = s;
	return 0;
}

static char *url_for_tenant(const char *tenant, const char *leaf)
{
	size_t n = strlen(MS_LOGIN) + strlen(tenant) + strlen("/oauth2/v2.0/") + strlen(leaf) + 1;
	char *s = nr_malloc(n);

	if (s != NULL)
		snprintf(s, n, MS_LOGIN "%s/oauth2/v2.0/%s", tenant, leaf);
	return s;
}

static int dup_opt(struct nr_conf_parser *p, char **field, const char *v)
{
	if (v == NULL)
		return 0;
	if ((*field = nr_conf_dup_str(v)) == NULL)
		return nr_conf_oom(p);
	return 0;
}

static int fill_presets(struct nr_conf_parser *p, struct nr_conf_oauth2 *o)
{
	const char *scope = NULL;

	switch (o->provider) {
	case NR_OAUTH2_MICROSOFT:
		/* A delegated login may use "organizations" (any work or school
		 * account); app-only access is granted inside one tenant. */
		if (o->tenant == NULL && (o->tenant = nr_conf_dup_str("organizations")) == NULL)
			return nr_conf_oom(p);
		if ((o->token_url = url_for_tenant(o->tenant, "token")) == NULL ||
		    (o->auth_url = url_for_tenant(o->tenant, "authorize")) == NULL ||
		    (o->device_url = url_for_tenant(o->tenant, "devicecode")) == NULL)
			return nr_conf_oom(p);
		scope = o->grant == NR_OAUTH2_CLIENT_CREDENTIALS ? MS_SCOPE_APP : MS_SCOPE_USER;
		break;
	case NR_OAUTH2_GOOGLE:
		/* Google's device flow does not allow the mail scope: no
		 * device_url, so login uses the authorisation code with PKCE. */
		if ((o->token_url = nr_conf_dup_str(GOOGLE_TOKEN)) == NULL ||
		    (o->auth_url = nr_conf_dup_str(GOOGLE_AUTH)) == NULL)
			return nr_conf_oom(p);
		scope = GOOGLE_SCOPE;
		break;
	case NR_OAUTH2_CUSTOM:
		break;
	}
	if (o->scope == NULL && scope != NULL && (o->scope = nr_conf_dup_str(scope)) == NULL)
		return nr_conf_oom(p);
	return 0;
}

static int check_rules(struct nr_conf_parser *p, const struct nr_conf_line *l,
		       struct nr_conf_oauth2 *o)
{
	const char *tenant = nr_conf_opt_get(l, "oauth2_tenant"),
		   *token_url = nr_conf_opt_get(l, "oauth2_token_url"),
		   *device_url = nr_conf_opt_get(l, "oauth2_device_url"),
		   *auth_url = nr_conf_opt_get(l, "oauth2_auth_url");
	int rc;

	if (o->client_id == NULL)
		return nr_conf_fail(p, "oauth2= needs oauth2_client_id= (from the app "
				       "registration)");
	if ((rc = plain_word(p, "oauth2_client_id", o->client_id)) != 0)
		return rc;
	if (tenant != NULL && o->provider != NR_OAUTH2_MICROSOFT)
		return nr_conf_fail(p, "oauth2_tenant= is for oauth2=microsoft");
	if (tenant != NULL && (rc = plain_word(p, "oauth2_tenant", tenant)) != 0)
		return rc;
	if (o->provider != NR_OAUTH2_CUSTOM &&
	    (token_url != NULL || device_url != NULL || auth_url != NULL))
		return nr_conf_fail(p, "%s is for oauth2=custom; the %s preset knows its endpoints",
				    token_url != NULL    ? "oauth2_token_url="
				    : device_url != NULL ? "oauth2_device_url="
							 : "oauth2_auth_url=",
				    provider_words[o->provider]);
	if (o->provider == NR_OAUTH2_CUSTOM && token_url == NULL)
		return nr_conf_fail(p, "oauth2=custom needs oauth2_token_url=");
	if (token_url != NULL && (rc = https_url(p, "oauth2_token_url", token_url)) != 0)
		return rc;
	if (device_url != NULL && (rc = https_url(p, "oauth2_device_url", device_url)) != 0)
		return rc;
	if (auth_url != NULL && (rc = https_url(p, "oauth2_auth_url", auth_url)) != 0)
		return rc;
	if (o->grant == NR_OAUTH2_CLIENT_CREDENTIALS) {
		if (o->provider == NR_OAUTH2_GOOGLE)
			return nr_conf_fail(
			    p, "Gmail has no client_credentials grant for SMTP; use "
			       "oauth2_grant=refresh_token and nanorelay oauth2 login");
		if (o->client_secret_file == NULL)
			return nr_conf_fail(p, "oauth2_grant=client_credentials needs "
					       "oauth2_client_secret_file=");
		if (o->provider == NR_OAUTH2_MICROSOFT &&
		    (tenant == NULL || nr_ascii_ieq(tenant, "organizations") ||
		     nr_ascii_ieq(tenant, "common") || nr_ascii_ieq(tenant, "consumers")))
			return nr_conf_fail(p,
					    "oauth2_grant=client_credentials needs oauth2_tenant= "
					    "(your tenant's id or domain)");
	}
	if (o->client_secret_file != NULL &&
	    (rc = nr_conf_check_file(p, "oauth2_client_secret_file", o->client_secret_file, 1)) !=
		0)
		return rc;
	return 0;
}

int nr_conf_oauth2_opts(struct nr_conf_parser *p, const struct nr_conf_line *l,
			struct nr_conf_oauth2 **out)
{
	const char *provider = nr_conf_opt_get(l, "oauth2"),
		   *grant = nr_conf_opt_get(l, "oauth2_grant"),
		   *scope = nr_conf_opt_get(l, "oauth2_scope");
	struct nr_conf_oauth2 *o;
	int word, rc;
	size_t i;

	*out = NULL;
	if (provider == NULL) {
		/* (the parser has checked the names against conf_keys.c's list) */
		for (i = 0; i < l->nopts; i++)
			if (strncmp(l->opt[i].name, "oauth2_", 7) == 0)
				return nr_conf_fail(p,
						    "%s= needs oauth2=microsoft, google or custom",
						    l->opt[i].name);
		return 0;
	}
	if (!NR_ENABLED(CONFIG_NR_OAUTH2))
		return nr_conf_fail(p, "oauth2= is not in this build (CONFIG_NR_OAUTH2); "
				       "oauth_token_file= with an outside helper is");
	if ((o = nr_calloc(1, sizeof(*o))) == NULL)
		return nr_conf_oom(p);
	p->sub = "oauth2";
	if ((rc = nr_conf_get_word(p, provider, provider_words, "microsoft, google or custom",
				   &word)) != 0)
		goto fail;
	o->provider = (enum nr_oauth2_provider)word;
	if ((rc = dup_opt(p, &o->client_id, nr_conf_opt_get(l, "oauth2_client_id"))) != 0 ||
	    (rc = dup_opt(p, &o->client_secret_file,
			  nr_conf_opt_get(l, "oauth2_client_secret_file"))) != 0 ||
	    (rc = dup_opt(p, &o->tenant, nr_conf_opt_get(l, "oauth2_tenant"))) != 0 ||
	    (rc = dup_opt(p, &o->token_url, nr_conf_opt_get(l, "oauth2_token_url"))) != 0 ||
	    (rc = dup_opt(p, &o->device_url, nr_conf_opt_get(l, "oauth2_device_url"))) != 0 ||
	    (rc = dup_opt(p, &o->auth_url, nr_conf_opt_get(l, "oauth2_auth_url"))) != 0)
		goto fail;
	/* Without a word: app-only when Microsoft has a secret and a tenant,
	 * else a user's refresh token (the only grant Gmail has). */
	o->grant =
	    o->provider == NR_OAUTH2_GOOGLE || o->client_secret_file == NULL || o->tenant == NULL
		? NR_OAUTH2_REFRESH_TOKEN
		: NR_OAUTH2_CLIENT_CREDENTIALS;
	if (o->provider == NR_OAUTH2_CUSTOM)
		o->grant =
		    o->client_secret_file != NULL && o->device_url == NULL && o->auth_url == NULL
			? NR_OAUTH2_CLIENT_CREDENTIALS
			: NR_OAUTH2_REFRESH_TOKEN;
	if (grant != NULL) {
		p->sub = "oauth2_grant";
		if ((rc = nr_conf_get_word(p, grant, grant_words,
					   "client_credentials or refresh_token", &word)) != 0)
			goto fail;
		o->grant = (enum nr_oauth2_grant)word;
	}
	p->sub = NULL;
	if (scope != NULL && (rc = scope_words(p, scope, &o->scope)) != 0)
		goto fail;
	if ((rc = check_rules(p, l, o)) != 0 || (rc = fill_presets(p, o)) != 0)
		goto fail;
	*out = o;
	return 0;
fail:
	nr_conf_oauth2_free(o);
	return rc;
}
