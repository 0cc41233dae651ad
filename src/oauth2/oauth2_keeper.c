/*
 * oauth2_keeper.c - fresh access tokens for oauth2= smarthosts, on the
 * loop (see oauth2_keeper.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf.h"
#include "core/log.h"
#include "core/loop.h"
#include "core/mem.h"
#include "dns/dns.h"
#include "oauth2/oauth2.h"
#include "oauth2/oauth2_fetch.h"
#include "oauth2/oauth2_keeper.h"
#include "tls/tls.h"

#define FETCH_TIMEOUT_MS 30000
#define FORM_MAX (3 * NR_OAUTH2_TOKEN_MAX)

struct khost {
	struct nr_oauth2_keeper *k; /* for the fetch's callback */
	size_t i;
	int on;         /* oauth2= on this smarthost */
	char name[140]; /* host:port, for the log */
	char host[128]; /* as `nanorelay oauth2 login` takes it */
	char store[512];
	char client_id[256];
	char secret_file[256];
	char scope[520];
	char token_url[520];
	enum nr_oauth2_grant grant;
	enum nr_oauth2_provider provider;
	struct nr_oauth2_fetch *f;
	uint64_t asked_at; /* wall seconds, for expires_in */
};

struct nr_oauth2_keeper {
	struct nr_loop *loop;
	struct nr_dns *dns;
	struct nr_tls_ctx *tls;
	nr_oauth2_done_fn done;
	void *arg;
	size_t n;
	struct khost host[CONFIG_NR_MAX_SMARTHOSTS];
	struct nr_oauth2_reply reply; /* one at a time: callbacks do not nest */
	struct nr_oauth2_tokens tok;
};

static void copy(char *dst, size_t size, const char *src)
{
	snprintf(dst, size, "%s", src ? src : "");
}

int nr_oauth2_keeper_new(struct nr_oauth2_keeper **out, struct nr_loop *loop,
			 const struct nr_conf *conf, nr_oauth2_done_fn done, void *arg)
{
	struct nr_oauth2_keeper *k;
	struct nr_dns_opts o;
	size_t i, any = 0;
	int rc;

	*out = NULL;
	for (i = 0; i < conf->smarthost_count; i++)
		any += conf->smarthost[i].oauth2 != NULL;
	if (any == 0)
		return 0;
	if ((k = nr_calloc(1, sizeof(*k))) == NULL)
		return NR_ENOMEM;
	k->loop = loop;
	k->done = done;
	k->arg = arg;
	k->n = NR_MIN(conf->smarthost_count, (size_t)CONFIG_NR_MAX_SMARTHOSTS);
	for (i = 0; i < k->n; i++) {
		const struct nr_conf_smarthost *s = &conf->smarthost[i];
		struct khost *h = &k->host[i];
		h->k = k;
		h->i = i;
		if (s->oauth2 == NULL)
			continue;
		h->on = 1;
		snprintf(h->name, sizeof(h->name), "%.127s:%u", s->host, (unsigned)s->port);
		copy(h->host, sizeof(h->host), s->host);
		if (nr_oauth2_store_path(h->store, sizeof(h->store),
					 conf->state_dir ? conf->state_dir : ".", s->host,
					 s->port) != 0)
			h->store[0] = '\0';
		copy(h->client_id, sizeof(h->client_id), s->oauth2->client_id);
		copy(h->secret_file, sizeof(h->secret_file), s->oauth2->client_secret_file);
		copy(h->scope, sizeof(h->scope), s->oauth2->scope);
		copy(h->token_url, sizeof(h->token_url), s->oauth2->token_url);
		h->grant = s->oauth2->grant;
		h->provider = s->oauth2->provider;
	}
	memset(&o, 0, sizeof(o));
	o.server = &conf->dns_server;
	rc = nr_dns_new_opts(&k->dns, loop, &o);
	if (rc == 0)
		rc = nr_tls_client_ctx_new(&k->tls, conf->ca_file);
	if (rc != 0) {
		nr_oauth2_keeper_free(k);
		return rc;
	}
	*out = k;
	return 0;
}

void nr_oauth2_keeper_free(struct nr_oauth2_keeper *k)
{
	size_t i;

	if (k == NULL)
		return;
	for (i = 0; i < k->n; i++)
		nr_oauth2_fetch_cancel(k->host[i].f);
	nr_dns_free(k->dns);
	nr_tls_ctx_free(k->tls);
	memset(k, 0, sizeof(*k));
	nr_free(k);
}

static int build_form(struct nr_oauth2_keeper *k, const struct khost *h, char *form, char *text)
{
	char secret[512];
	int rc = 0;

	form[0] = '\0';
	secret[0] = '\0';
	if (h->secret_file[0] &&
	    (rc = nr_oauth2_read_secret(h->secret_file, secret, sizeof(secret))) != 0) {
		snprintf(text, NR_OAUTH2_TEXT_MAX,
			 "OAuth2: cannot read oauth2_client_secret_file: %s", nr_strerror(rc));
		return rc;
	}
	if (h->grant == NR_OAUTH2_CLIENT_CREDENTIALS)
		rc = nr_oauth2_form_add(form, FORM_MAX, "grant_type", "client_credentials");
	else
		rc = nr_oauth2_form_add(form, FORM_MAX, "grant_type", "refresh_token");
	if (rc == 0)
		rc = nr_oauth2_form_add(form, FORM_MAX, "client_id", h->client_id);
	if (rc == 0 && secret[0])
		rc = nr_oauth2_form_add(form, FORM_MAX, "client_secret", secret);
	if (rc == 0 && h->grant == NR_OAUTH2_REFRESH_TOKEN)
		rc = nr_oauth2_form_add(form, FORM_MAX, "refresh_token", k->tok.refresh_token);
	/* Google's refresh keeps the scopes granted at login. */
	if (rc == 0 && h->scope[0] && h->provider != NR_OAUTH2_GOOGLE)
		rc = nr_oauth2_form_add(form, FORM_MAX, "scope", h->scope);
	memset(secret, 0, sizeof(secret));
	if (rc != 0)
		snprintf(text, NR_OAUTH2_TEXT_MAX, "OAuth2: token request too large");
	return rc;
}

/* Errors a retry will not fix: the user must log in again or fix the
 * app registration. RFC 6749 5.2. */
static int grant_refused(const char *error)
{
	return strcmp(error, "invalid_grant") == 0 || strcmp(error, "invalid_client") == 0 ||
	       strcmp(error, "unauthorized_client") == 0 || strcmp(error, "invalid_scope") == 0 ||
	       strcmp(error, "access_denied") == 0;
}

static void tell(struct nr_oauth2_keeper *k, size_t i, int err, int permanent, const char *text)
{
	if (err != 0)
		nr_warn("oauth2: %s: %s", k->host[i].name, text);
	else
		nr_info("oauth2: %s: new access token stored", k->host[i].name);
	k->done(k->arg, i, err, permanent, text);
}

static void on_reply(void *arg, int err, const struct nr_oauth2_http *http)
{
	struct khost *h = arg;
	struct nr_oauth2_keeper *k = h->k;
	struct khost *c = h; /* c->i: which smarthost */
	char text[NR_OAUTH2_TEXT_MAX];
	int rc;

	h->f = NULL;
	if (err != 0) {
		snprintf(text, sizeof(text), "OAuth2: token endpoint: %s", nr_strerror(err));
		tell(k, c->i, err, 0, text);
		return;
	}
	rc = nr_oauth2_reply_parse(http->body, http->body_len, &k->reply);
	if (rc == 0 && http->status == 200 && k->reply.access_token[0]) {
		/* The store as it is now (a login may have written it meanwhile). */
		if (nr_oauth2_store_load(h->store, &k->tok) != 0)
			memset(&k->tok, 0, sizeof(k->tok));
		memcpy(k->tok.access_token, k->reply.access_token, sizeof(k->tok.access_token));
		if (k->reply.refresh_token[0]) /* rotated: keep the new one */
			memcpy(k->tok.refresh_token, k->reply.refresh_token,
			       sizeof(k->tok.refresh_token));
		k->tok.expires_at =
		    h->asked_at + (k->reply.expires_in ? k->reply.expires_in : 3600);
		rc = nr_oauth2_store_save(h->store, &k->tok);
		memset(&k->tok, 0, sizeof(k->tok));
		memset(&k->reply, 0, sizeof(k->reply));
		if (rc != 0) {
			snprintf(text, sizeof(text),
				 "OAuth2: cannot save the tokens in state_dir: %s",
				 nr_strerror(rc));
			tell(k, c->i, rc, 0, text);
			return;
		}
		tell(k, c->i, 0, 0, "");
		return;
	}
	if (rc == 0 && k->reply.error[0] && grant_refused(k->reply.error)) {
		snprintf(text, sizeof(text),
			 "OAuth2: the token endpoint refused the %s (%.40s); %s",
			 h->grant == NR_OAUTH2_REFRESH_TOKEN ? "refresh token" : "client",
			 k->reply.error,
			 h->grant == NR_OAUTH2_REFRESH_TOKEN
			     ? "run: nanorelay oauth2 login"
			     : "check oauth2_client_id, the secret and the app's permissions");
		memset(&k->reply, 0, sizeof(k->reply));
		tell(k, c->i, NR_EAUTH, 1, text);
		return;
	}
	snprintf(text, sizeof(text), "OAuth2: token endpoint answered HTTP %d%s%.40s", http->status,
		 rc == 0 && k->reply.error[0] ? " " : "", rc == 0 ? k->reply.error : "");
	memset(&k->reply, 0, sizeof(k->reply));
	tell(k, c->i, NR_EPROTO, 0, text);
}

int nr_oauth2_keeper_want(struct nr_oauth2_keeper *k, size_t i, uint64_t now_wall, char *text,
			  int *permanent)
{
	struct khost *h;
	struct nr_oauth2_fetch_params p;
	char *form;
	int rc;

	*permanent = 0;
	text[0] = '\0';
	if (k == NULL || i >= k->n || !k->host[i].on)
		return 0; /* not ours: nothing to wait for */
	h = &k->host[i];
	if (h->f != NULL)
		return NR_EAGAIN;
	if (!h->store[0]) {
		snprintf(text, NR_OAUTH2_TEXT_MAX, "OAuth2: state_dir path too long");
		*permanent = 1;
		return NR_ETOOBIG;
	}
	rc = nr_oauth2_store_load(h->store, &k->tok);
	if (rc != 0 && rc != NR_ENOTFOUND) {
		memset(&k->tok, 0, sizeof(k->tok));
		snprintf(text, NR_OAUTH2_TEXT_MAX, "OAuth2: cannot read the token store: %s",
			 nr_strerror(rc));
		return rc;
	}
	if (rc == NR_ENOTFOUND)
		memset(&k->tok, 0, sizeof(k->tok));
	if (k->tok.access_token[0] && !nr_oauth2_needs_refresh(k->tok.expires_at, now_wall)) {
		memset(&k->tok, 0, sizeof(k->tok));
		return 0;
	}
	if (h->grant == NR_OAUTH2_REFRESH_TOKEN && !k->tok.refresh_token[0]) {
		memset(&k->tok, 0, sizeof(k->tok));
		snprintf(text, NR_OAUTH2_TEXT_MAX,
			 "OAuth2: no refresh token yet; run: nanorelay oauth2 login %s", h->host);
		*permanent = 1;
		return NR_EAUTH;
	}
	if ((form = nr_malloc(FORM_MAX)) == NULL) {
		memset(&k->tok, 0, sizeof(k->tok));
		return NR_ENOMEM;
	}
	rc = build_form(k, h, form, text);
	memset(&k->tok, 0, sizeof(k->tok));
	if (rc == 0) {
		h->asked_at = now_wall;
		memset(&p, 0, sizeof(p));
		p.loop = k->loop;
		p.dns = k->dns;
		p.tls = k->tls;
		p.url = h->token_url;
		p.form = form;
		p.timeout_ms = FETCH_TIMEOUT_MS;
		p.fn = on_reply;
		p.arg = h;
		rc = nr_oauth2_fetch_start(&h->f, &p);
		if (rc != 0)
			snprintf(text, NR_OAUTH2_TEXT_MAX, "OAuth2: cannot ask %.120s: %s",
				 h->token_url, nr_strerror(rc));
	}
	memset(form, 0, FORM_MAX);
	nr_free(form);
	if (rc == 0)
		nr_debug("oauth2: %s: asking for a new access token", h->name);
	return rc == 0 ? NR_EAGAIN : rc;
}

void nr_oauth2_keeper_expire(struct nr_oauth2_keeper *k, size_t i)
{
	if (k == NULL || i >= k->n || !k->host[i].on || !k->host[i].store[0])
		return;
	if (nr_oauth2_store_load(k->host[i].store, &k->tok) == 0 && k->tok.access_token[0]) {
		k->tok.access_token[0] = '\0';
		k->tok.expires_at = 0;
		if (nr_oauth2_store_save(k->host[i].store, &k->tok) != 0)
			nr_warn("oauth2: %s: cannot update the token store", k->host[i].name);
	}
	memset(&k->tok, 0, sizeof(k->tok));
}
