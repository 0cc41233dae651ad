/*
 * oauth2_login.c - `nanorelay oauth2 login SMARTHOST`: the first
 * authorisation on a headless box (a front-end command: it may block).
 *
 * Where the provider allows the device authorisation grant (RFC 8628) for
 * the mail scope (Microsoft; `custom` with oauth2_device_url=), it prints
 * a URL and a code to enter on any device and polls the token endpoint.
 * Otherwise (Gmail) it uses the authorisation code with PKCE (RFC 7636):
 * the user opens a URL on any machine, signs in, and pastes back the
 * address the browser was sent to (a loopback address that does not load:
 * only its ?code= matters). The refresh token goes to the store in
 * state_dir; the command ends with test-upstream's login to the smarthosts.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/oauth2_login.h"
#include "app/test_upstream.h"
#include "conf/conf.h"
#include "core/ascii.h"
#include "core/loop.h"
#include "core/mem.h"
#include "dns/dns.h"
#include "oauth2/oauth2.h"
#include "oauth2/oauth2_fetch.h"
#include "proto/base64.h"
#include "tls/tls.h"

#define EX_OK_ 0
#define EX_USAGE_ 64
#define EX_UNAVAILABLE_ 69
#define EX_SOFTWARE_ 70
#define EX_TEMPFAIL_ 75
#define FORM_MAX (3 * NR_OAUTH2_TOKEN_MAX)
#define REDIRECT "http://127.0.0.1:1/"

const char nr_oauth2_help[] =
    "usage: nanorelay [-c FILE] oauth2 login SMARTHOST[:PORT]\n"
    "\n"
    "First authorisation of a smarthost with oauth2=microsoft|google|custom and\n"
    "oauth2_grant=refresh_token (Microsoft 365 delegated, Gmail), on a box without\n"
    "a browser:\n"
    "  Microsoft, custom with oauth2_device_url=: prints a web address and a code;\n"
    "    open the address on any device, enter the code, sign in as the account\n"
    "    of user=, and accept. The command waits for that (up to 15 minutes).\n"
    "  Gmail (Google allows no device login for mail): prints a web address;\n"
    "    open it on any computer, sign in as the account of user=, accept, and\n"
    "    copy the address the browser then shows (http://127.0.0.1:1/?code=...;\n"
    "    the page itself does not load) back into this command.\n"
    "The refresh token is stored in state_dir (mode 600) and the daemon renews\n"
    "access tokens from it. The command ends with a test login to the smarthosts\n"
    "(as test-upstream). Run it again whenever the log or `status` says\n"
    "\"run: nanorelay oauth2 login\" (a revoked consent, a changed password).\n"
    "oauth2_grant=client_credentials (Microsoft 365 app-only) needs no login.\n";

struct sync {
	struct nr_loop *loop;
	struct nr_dns *dns;
	struct nr_tls_ctx *tls;
	int done, err, status;
	struct nr_oauth2_reply *reply;
	int parsed;
};

static void on_reply(void *arg, int err, const struct nr_oauth2_http *h)
{
	struct sync *s = arg;

	s->done = 1;
	s->err = err;
	if (err == 0) {
		s->status = h->status;
		s->parsed = nr_oauth2_reply_parse(h->body, h->body_len, s->reply) == 0;
	}
}

/* One POST, waited for. 0 with s->status and s->reply, or an error. */
static int post(struct sync *s, const char *url, const char *form)
{
	struct nr_oauth2_fetch *f;
	struct nr_oauth2_fetch_params p;
	int rc, turns;

	memset(&p, 0, sizeof(p));
	p.loop = s->loop;
	p.dns = s->dns;
	p.tls = s->tls;
	p.url = url;
	p.form = form;
	p.timeout_ms = 30000;
	p.fn = on_reply;
	p.arg = s;
	s->done = 0;
	s->parsed = 0;
	memset(s->reply, 0, sizeof(*s->reply));
	if ((rc = nr_oauth2_fetch_start(&f, &p)) != 0)
		return rc;
	for (turns = 0; !s->done && turns < 1000; turns++)
		(void)nr_loop_turn(s->loop, 100);
	if (!s->done) {
		nr_oauth2_fetch_cancel(f);
		return NR_ETIMEDOUT;
	}
	return s->err;
}

static void sleep_s(struct sync *s, unsigned secs)
{
	uint64_t until = nr_loop_now(s->loop) + (uint64_t)secs * 1000;

	while (nr_loop_now(s->loop) < until)
		(void)nr_loop_turn(s->loop, 200);
}

/* client_id, and client_secret when the configuration has one. */
static int client_fields(const struct nr_conf_oauth2 *o, char *form)
{
	char secret[512];
	int rc = nr_oauth2_form_add(form, FORM_MAX, "client_id", o->client_id);

	if (rc == 0 && o->client_secret_file != NULL) {
		rc = nr_oauth2_read_secret(o->client_secret_file, secret, sizeof(secret));
		if (rc != 0)
			fprintf(stderr, "nanorelay: cannot read oauth2_client_secret_file %s: %s\n",
				o->client_secret_file, nr_strerror(rc));
		else
			rc = nr_oauth2_form_add(form, FORM_MAX, "client_secret", secret);
		memset(secret, 0, sizeof(secret));
	}
	return rc;
}

static int device_flow(struct sync *s, const struct nr_conf_oauth2 *o, char *form)
{
	static char device_code[1024];
	unsigned interval, waited = 0, expires;
	int rc;

	form[0] = '\0';
	if ((rc = nr_oauth2_form_add(form, FORM_MAX, "client_id", o->client_id)) != 0 ||
	    (o->scope && (rc = nr_oauth2_form_add(form, FORM_MAX, "scope", o->scope)) != 0))
		return rc;
	rc = post(s, o->device_url, form);
	if (rc != 0 || s->status != 200 || !s->parsed || !s->reply->device_code[0] ||
	    !s->reply->user_code[0] || !s->reply->verification_uri[0]) {
		fprintf(stderr, "nanorelay: the device endpoint %s refused: %s %s\n", o->device_url,
			rc != 0 ? nr_strerror(rc) : "HTTP", rc != 0 ? "" : s->reply->error);
		return rc != 0 ? rc : NR_EPROTO;
	}
	snprintf(device_code, sizeof(device_code), "%s", s->reply->device_code);
	interval = s->reply->interval ? s->reply->interval : 5;
	expires = s->reply->expires_in ? s->reply->expires_in : 900;
	printf("\nOn any computer or phone, open\n\n    %s\n\nand enter the code\n\n    %s\n\n"
	       "then sign in as the smarthost's user= account and accept.\n"
	       "Waiting (up to %u minutes)...\n",
	       s->reply->verification_uri, s->reply->user_code, (expires + 59) / 60);
	fflush(stdout);
	while (waited < expires) {
		sleep_s(s, interval);
		waited += interval;
		form[0] = '\0';
		if ((rc = nr_oauth2_form_add(form, FORM_MAX, "grant_type",
					     "urn:ietf:params:oauth:grant-type:device_code")) !=
			0 ||
		    (rc = client_fields(o, form)) != 0 ||
		    (rc = nr_oauth2_form_add(form, FORM_MAX, "device_code", device_code)) != 0)
			return rc;
		rc = post(s, o->token_url, form);
		if (rc != 0) { /* the network: try again at the next interval */
			fprintf(stderr, "nanorelay: token endpoint: %s; trying again\n",
				nr_strerror(rc));
			continue;
		}
		if (s->status == 200 && s->parsed && s->reply->refresh_token[0])
			return 0;
		if (s->parsed && strcmp(s->reply->error, "authorization_pending") == 0)
			continue;
		if (s->parsed && strcmp(s->reply->error, "slow_down") == 0) {
			interval += 5; /* RFC 8628 3.5 */
			continue;
		}
		fprintf(stderr, "nanorelay: the login was not completed: %s\n",
			s->parsed && s->reply->error[0] ? s->reply->error
			: s->status == 200 ? "no refresh token in the answer (offline_access?)"
					   : "unexpected answer");
		return NR_EAUTH;
	}
	fprintf(stderr, "nanorelay: the code expired before the login was completed\n");
	return NR_ETIMEDOUT;
}

/* base64url without padding (RFC 7636 appendix A). */
static void b64url(const uint8_t *in, size_t n, char *out, size_t size)
{
	long w = nr_base64_encode(in, n, out, size);
	long i;

	if (w < 0) {
		out[0] = '\0';
		return;
	}
	for (i = 0; i < w; i++)
		out[i] = out[i] == '+' ? '-' : out[i] == '/' ? '_' : out[i];
	while (w > 0 && out[w - 1] == '=')
		out[--w] = '\0';
}

/* The value of ?name= or &name= in a pasted URL, percent-decoded. */
static int url_param(const char *url, const char *name, char *dst, size_t size)
{
	size_t n = strlen(name), o = 0;
	const char *p = url;

	while ((p = strstr(p, name)) != NULL) {
		if ((p == url || p[-1] == '?' || p[-1] == '&') && p[n] == '=')
			break;
		p += n;
	}
	if (p == NULL)
		return NR_ENOTFOUND;
	for (p += n + 1; *p && *p != '&' && *p != '#' && *p > ' '; p++) {
		char ch = *p;
		if (ch == '%' && nr_ascii_hex(p[1]) >= 0 && nr_ascii_hex(p[2]) >= 0) {
			ch = (char)(nr_ascii_hex(p[1]) * 16 + nr_ascii_hex(p[2]));
			p += 2;
		}
		if (o + 1 >= size)
			return NR_ETOOBIG;
		dst[o++] = ch;
	}
	dst[o] = '\0';
	return o > 0 ? 0 : NR_ENOTFOUND;
}

static int pkce_flow(struct sync *s, const struct nr_conf_oauth2 *o, char *form)
{
	uint8_t rnd[32], hash[32];
	char verifier[64], challenge[64], state[32], url[2048], q[1536], line[4096], code[1024],
	    got[64];
	int rc;

	if (nr_plat_entropy(rnd, sizeof(rnd)) != 0)
		return NR_EIO;
	b64url(rnd, sizeof(rnd), verifier, sizeof(verifier));
	if (nr_tls_sha256(verifier, strlen(verifier), hash) != 0)
		return NR_ENOTSUP;
	b64url(hash, sizeof(hash), challenge, sizeof(challenge));
	b64url(rnd, 12, state, sizeof(state)); /* not secret: the request's echo */
	q[0] = '\0';
	if ((rc = nr_oauth2_form_add(q, sizeof(q), "client_id", o->client_id)) != 0 ||
	    (rc = nr_oauth2_form_add(q, sizeof(q), "redirect_uri", REDIRECT)) != 0 ||
	    (rc = nr_oauth2_form_add(q, sizeof(q), "response_type", "code")) != 0 ||
	    (rc = nr_oauth2_form_add(q, sizeof(q), "scope", o->scope ? o->scope : "")) != 0 ||
	    (rc = nr_oauth2_form_add(q, sizeof(q), "code_challenge", challenge)) != 0 ||
	    (rc = nr_oauth2_form_add(q, sizeof(q), "code_challenge_method", "S256")) != 0 ||
	    (rc = nr_oauth2_form_add(q, sizeof(q), "state", state)) != 0 ||
	    (rc = nr_oauth2_form_add(q, sizeof(q), "access_type", "offline")) != 0 ||
	    (rc = nr_oauth2_form_add(q, sizeof(q), "prompt", "consent")) != 0)
		return rc;
	snprintf(url, sizeof(url), "%s?%s", o->auth_url, q);
	printf("\nOn any computer, open this address in a browser:\n\n    %s\n\n"
	       "Sign in as the smarthost's user= account and accept. The browser then\n"
	       "goes to an address starting with %s that does not load: copy that\n"
	       "whole address from the address bar and paste it here, then Enter:\n> ",
	       url, REDIRECT);
	fflush(stdout);
	if (fgets(line, sizeof(line), stdin) == NULL)
		return NR_ECLOSED;
	if (url_param(line, "error", got, sizeof(got)) == 0) {
		fprintf(stderr, "nanorelay: the provider said: %s\n", got);
		return NR_EAUTH;
	}
	if (url_param(line, "state", got, sizeof(got)) != 0 || strcmp(got, state) != 0 ||
	    url_param(line, "code", code, sizeof(code)) != 0) {
		fprintf(stderr, "nanorelay: that is not the address of this login (no code, or "
				"another login's state)\n");
		return NR_EINVAL;
	}
	form[0] = '\0';
	if ((rc = nr_oauth2_form_add(form, FORM_MAX, "grant_type", "authorization_code")) != 0 ||
	    (rc = client_fields(o, form)) != 0 ||
	    (rc = nr_oauth2_form_add(form, FORM_MAX, "code", code)) != 0 ||
	    (rc = nr_oauth2_form_add(form, FORM_MAX, "code_verifier", verifier)) != 0 ||
	    (rc = nr_oauth2_form_add(form, FORM_MAX, "redirect_uri", REDIRECT)) != 0)
		return rc;
	memset(code, 0, sizeof(code));
	rc = post(s, o->token_url, form);
	if (rc == 0 && !(s->status == 200 && s->parsed && s->reply->refresh_token[0])) {
		fprintf(stderr, "nanorelay: the token endpoint refused the code: %s\n",
			s->parsed && s->reply->error[0] ? s->reply->error : "no refresh token");
		rc = NR_EAUTH;
	}
	return rc;
}

static const struct nr_conf_smarthost *find(const struct nr_conf *conf, const char *arg)
{
	const char *colon = strrchr(arg, ':');
	size_t hlen = colon && !strchr(colon, ']') ? (size_t)(colon - arg) : strlen(arg);
	unsigned long port = colon && hlen < strlen(arg) ? strtoul(colon + 1, NULL, 10) : 0;
	size_t i;

	for (i = 0; i < conf->smarthost_count; i++) {
		const struct nr_conf_smarthost *sh = &conf->smarthost[i];
		if (strlen(sh->host) == hlen && nr_ascii_ieq_mem(sh->host, arg, hlen) &&
		    (port == 0 || port == sh->port))
			return sh;
	}
	return NULL;
}

int nr_oauth2_login_main(const struct nr_conf *conf, int argc, char **argv)
{
	const struct nr_conf_smarthost *sh;
	/* On the heap: 18 KB of bss in every build would be paid by the
	 * daemon too, which never runs this. */
	struct {
		struct nr_oauth2_reply reply;
		struct nr_oauth2_tokens tok;
	} *m = NULL;
	struct sync s;
	char path[512], *form = NULL;
	int64_t now = 0;
	int rc, ex;

	if (argc != 3 || strcmp(argv[1], "login") != 0) {
		fputs(nr_oauth2_help, stderr);
		return EX_USAGE_;
	}
	if ((sh = find(conf, argv[2])) == NULL || sh->oauth2 == NULL) {
		fprintf(stderr,
			"nanorelay: %s is not a smarthost with oauth2= in the configuration\n",
			argv[2]);
		return EX_USAGE_;
	}
	if (sh->oauth2->grant == NR_OAUTH2_CLIENT_CREDENTIALS) {
		printf("%s uses oauth2_grant=client_credentials: there is no login; the daemon "
		       "gets its tokens with the client secret. `nanorelay test-upstream` checks "
		       "it.\n",
		       sh->host);
		return EX_OK_;
	}
	if (sh->oauth2->device_url == NULL && sh->oauth2->auth_url == NULL) {
		fprintf(stderr, "nanorelay: oauth2=custom needs oauth2_device_url= or "
				"oauth2_auth_url= for a login\n");
		return EX_USAGE_;
	}
	if (nr_oauth2_store_path(path, sizeof(path), conf->state_dir ? conf->state_dir : ".",
				 sh->host, sh->port) != 0) {
		fprintf(stderr, "nanorelay: state_dir is too long\n");
		return EX_USAGE_;
	}
	memset(&s, 0, sizeof(s));
	if ((m = nr_calloc(1, sizeof(*m))) == NULL)
		return EX_SOFTWARE_;
	s.reply = &m->reply;
	rc = nr_loop_new(&s.loop, 16, 32);
	if (rc == 0) {
		struct nr_dns_opts o;
		memset(&o, 0, sizeof(o));
		o.server = &conf->dns_server;
		rc = nr_dns_new_opts(&s.dns, s.loop, &o);
	}
	if (rc == 0 && (rc = nr_tls_client_ctx_new(&s.tls, conf->ca_file)) != 0)
		fprintf(stderr, "nanorelay: cannot load the CA file: %s\n", nr_strerror(rc));
	if (rc == 0 && (form = nr_malloc(FORM_MAX)) == NULL)
		rc = NR_ENOMEM;
	if (rc == 0) {
		rc = sh->oauth2->device_url ? device_flow(&s, sh->oauth2, form)
					    : pkce_flow(&s, sh->oauth2, form);
	}
	ex = rc == 0 ? EX_OK_ : rc == NR_ENOMEM ? EX_SOFTWARE_ : EX_UNAVAILABLE_;
	if (rc == 0) {
		if (nr_plat_wall_time(&now) != 0)
			now = 0;
		memcpy(m->tok.refresh_token, m->reply.refresh_token, sizeof(m->tok.refresh_token));
		memcpy(m->tok.access_token, m->reply.access_token, sizeof(m->tok.access_token));
		m->tok.expires_at =
		    now > 0 ? (uint64_t)now + (m->reply.expires_in ? m->reply.expires_in : 3600)
			    : 0;
		rc = nr_oauth2_store_save(path, &m->tok);
		if (rc != 0) {
			fprintf(stderr, "nanorelay: cannot save the tokens to %s: %s\n", path,
				nr_strerror(rc));
			ex = EX_TEMPFAIL_;
		} else {
			printf("\nSigned in. The refresh token is saved in %s.\n"
			       "A running daemon uses it at its next delivery.\n\n",
			       path);
		}
	}
	memset(m, 0, sizeof(*m)); /* it held tokens */
	nr_free(m);
	if (form != NULL) {
		memset(form, 0, FORM_MAX);
		nr_free(form);
	}
	nr_tls_ctx_free(s.tls);
	nr_dns_free(s.dns);
	nr_loop_free(s.loop);
	if (ex == EX_OK_) {
		fflush(stdout);
		return nr_test_upstream(conf, 10, 0);
	}
	return ex;
}
