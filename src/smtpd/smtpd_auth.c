/* smtpd_auth.c - AUTH PLAIN and LOGIN on an inbound session (RFC 4954,
 * RFC 4616): the command's gate, check and proceed, and the continuation
 * lines of the exchange (state SS_AUTH). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ascii.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/stats.h"
#include "proto/base64.h"
#include "smtpd/smtpd_int.h"

/* The mechanisms, in EHLO order. One compiled out (Kconfig) is neither
 * offered nor accepted: it gets the reply of an unknown one. */
enum { MECH_PLAIN, MECH_LOGIN };
static const struct {
	const char *name;
	int built;
} mechs[] = {
    [MECH_PLAIN] = {"PLAIN", NR_ENABLED(CONFIG_NR_AUTH_PLAIN)},
    [MECH_LOGIN] = {"LOGIN", NR_ENABLED(CONFIG_NR_AUTH_LOGIN)},
};

static int some_mech_built(void)
{
	for (size_t i = 0; i < NR_ARRAY_LEN(mechs); i++)
		if (mechs[i].built)
			return 1;
	return 0;
}

int smtpd_auth_offered(const struct smtpd_session *s)
{
	return s->d->auth_fn && s->auth_policy != NR_AUTH_OFF &&
	       (s->flags & (SF_TLS | SF_PLAIN_AUTH_OK)) && some_mech_built();
}

const char *smtpd_auth_ehlo_line(char *dst, size_t size)
{
	size_t n = (size_t)snprintf(dst, size, "AUTH");
	for (size_t i = 0; i < NR_ARRAY_LEN(mechs) && n < size; i++)
		if (mechs[i].built)
			n += (size_t)snprintf(dst + n, size - n, " %s", mechs[i].name);
	return dst;
}

static const struct smtpd_refusal not_enabled = {0, 503, "5.5.1",
						 "Error: authentication not enabled"};
static const struct smtpd_refusal already = {0, 503, "5.5.1", "Error: already authenticated"};
static const struct smtpd_refusal need_tls = {
    0, 538, "5.7.11", "Encryption required for requested authentication mechanism"};

/* Before the state is looked at: AUTH not offered here, or done already.
 * AUTH that would be offered under TLS, asked for in clear, gets RFC 4954's
 * 538 and a line telling the admin which listener option allows it. */
const struct smtpd_refusal *smtpd_auth_gate(const struct smtpd_session *s)
{
	if (!smtpd_auth_offered(s)) {
		if (s->d->auth_fn && s->auth_policy != NR_AUTH_OFF && !(s->flags & SF_TLS) &&
		    some_mech_built()) {
			nr_warn("smtpd[%u]: %s: AUTH refused in clear: STARTTLS first, or allow "
				"this client with plain_auth= on the listener",
				s->id, s->peer_str);
			return &need_tls;
		}
		return &not_enabled;
	}
	if (s->auth_id[0])
		return &already;
	return NULL;
}

/* "AUTH mech [initial-response]": the mechanism and the response. */
int smtpd_check_auth(struct smtpd_session *s, struct smtpd_cmdline *cl)
{
	const char *args = cl->args;
	size_t len = cl->len;

	if (nr_acl_auth_check(&s->d->acl, &s->peer, nr_loop_now(s->d->loop)) < 0) {
		smtpd_reply(s, 454, "4.7.0", "Too many authentication failures, try later");
		return -1;
	}
	while (len && *args == ' ')
		args++, len--;
	size_t mlen = 0;
	while (mlen < len && args[mlen] != ' ')
		mlen++;
	cl->mech = -1;
	for (size_t i = 0; i < NR_ARRAY_LEN(mechs); i++)
		if (mechs[i].built && mlen == strlen(mechs[i].name) &&
		    nr_ascii_ieq_mem(args, mechs[i].name, mlen))
			cl->mech = (int)i;
	if (cl->mech < 0) {
		smtpd_reply(s, 504, "5.5.4", "Error: unsupported authentication mechanism");
		return -1;
	}
	cl->initial = NULL;
	cl->initial_len = 0;
	if (mlen < len) {
		const char *init = args + mlen;
		size_t ilen = len - mlen;
		while (ilen && *init == ' ')
			init++, ilen--;
		if (ilen == 1 && init[0] == '=')
			ilen = 0; /* RFC 4954 4: an empty initial response */
		cl->initial = init;
		cl->initial_len = ilen;
	}
	return 0;
}

/* Verify s's waiting credentials now: the throttle first (nothing is
 * hashed for a blocked client, so even the right password gets 454), then
 * the users file. */
static void verify_now(struct smtpd_session *s)
{
	struct nr_smtpd *d = s->d;
	uint64_t now = nr_loop_now(d->loop);
	struct smtpd_auth_creds *c = s->creds;
	const char *user = c->user;
	char esc[NR_PATH_MAX];
	int ret = nr_acl_auth_begin(&d->acl, &s->peer, user, now);

	if (ret == NR_EBUSY) {
		nr_warn("%s: SASL %s authentication refused: too many failures (throttled)",
			smtpd_client_name(s, esc, sizeof(esc)), c->mech);
		smtpd_reply(s, 454, "4.7.0", "Too many authentication failures, try later");
		return;
	}
	if (ret == NR_EFULL) {
		nr_warn("%s: SASL %s authentication refused: auth_max_per_second (%u) reached",
			smtpd_client_name(s, esc, sizeof(esc)), c->mech,
			d->conf->auth_max_per_second);
		smtpd_reply(s, 454, "4.7.0", "Too many authentication attempts, try later");
		return;
	}
	if (c->pass_len > sizeof(c->pass))
		ret = NR_EAUTH; /* longer than any password we take */
	else
		ret = d->auth_fn(d->auth_arg, user, c->pass, c->pass_len);
	if (ret == 0) {
		snprintf(s->auth_id, sizeof(s->auth_id), "%s", user);
		nr_acl_auth_succeeded(&d->acl, &s->peer, user);
		nr_info("smtpd[%u]: %s: sasl_username=%s", s->id, s->peer_str,
			nr_log_escape(esc, sizeof(esc), user, strlen(user)));
		smtpd_reply(s, 235, "2.7.0", "Authentication successful");
	} else if (ret == NR_EAUTH) {
		nr_stats_inc(NR_STAT_AUTH_FAILED);
		nr_acl_auth_failed(&d->acl, &s->peer, user, now);
		/* As Postfix: no user name (people type passwords there) and no
		 * payload. */
		nr_warn("%s: SASL %s authentication failed", smtpd_client_name(s, esc, sizeof(esc)),
			c->mech);
		smtpd_reply(s, 535, "5.7.8", "Error: authentication failed");
	} else {
		smtpd_reply(s, 454, "4.7.0", "Temporary authentication failure");
	}
}

/* Wipe and free the credentials of the exchange (none: nothing to do). */
static void forget_credentials(struct smtpd_session *s)
{
	if (!s->creds)
		return;
	memset(s->creds, 0, sizeof(*s->creds));
	nr_free(s->creds);
	s->creds = NULL;
}

/* The exchange's credentials, allocated by its first step (most sessions
 * never AUTH, so they do not carry them). NULL after a 454 when memory is
 * short. */
static struct smtpd_auth_creds *creds_get(struct smtpd_session *s)
{
	if (!s->creds)
		s->creds = nr_calloc(1, sizeof(*s->creds));
	if (!s->creds)
		smtpd_reply(s, 454, "4.7.0", "Temporary authentication failure");
	return s->creds;
}

static void malformed(struct smtpd_session *s)
{
	smtpd_reply(s, 501, "5.5.2", "Error: malformed authentication data");
}

/* A decoded AUTH line on the heap, not the stack (it may be as long as
 * NR_AUTH_LINE_MAX; a small RTOS task stack cannot hold that). Returns its
 * length, or a negative NR_E... (malformed, or 454 sent when memory is
 * short); *out is then NULL. Pair with free_decoded(). */
static long decode_line(struct smtpd_session *s, const char *b64, size_t len, uint8_t **out)
{
	size_t size = len / 4 * 3 + 3; /* what strict base64 of len characters decodes to */
	long n;

	*out = nr_malloc(size);
	if (!*out) {
		smtpd_reply(s, 454, "4.7.0", "Temporary authentication failure");
		return NR_ENOMEM;
	}
	n = nr_base64_decode(b64, len, *out, size);
	if (n < 0) {
		nr_free(*out);
		*out = NULL;
		malformed(s);
	}
	return n;
}

static void free_decoded(uint8_t *dec, size_t size)
{
	memset(dec, 0, size);
	nr_free(dec);
}

/* Queue the credentials for verification: one PBKDF2 per loop turn
 * (smtpd_auth_run), so the other sessions, delivery and the control
 * socket move between two hashes. At most auth_max_pending wait. */
static void auth_verify(struct smtpd_session *s, const char *mech, const char *user,
			const char *pass, size_t passlen)
{
	struct nr_smtpd *d = s->d;
	struct smtpd_auth_creds *c;
	char esc[NR_PATH_MAX];

	if (d->auth_pending >= d->conf->auth_max_pending) {
		nr_warn("%s: SASL %s authentication refused: auth_max_pending (%u) reached",
			smtpd_client_name(s, esc, sizeof(esc)), mech, d->conf->auth_max_pending);
		smtpd_reply(s, 454, "4.7.0", "Too many authentication attempts, try later");
		forget_credentials(s); /* LOGIN's user name */
		return;
	}
	c = creds_get(s);
	if (!c)
		return;
	if (user != c->user)
		snprintf(c->user, sizeof(c->user), "%s", user);
	c->mech = mech;
	c->pass_len = passlen;
	memcpy(c->pass, pass, NR_MIN(passlen, sizeof(c->pass)));
	s->auth_next = NULL;
	*d->auth_wait_tail = s;
	d->auth_wait_tail = &s->auth_next;
	d->auth_pending++;
	smtpd_enter_state(s, SS_AUTH_WAIT);
	nr_loop_at_turn_end(d->loop, &d->auth_hook);
}

void smtpd_auth_cancel(struct smtpd_session *s)
{
	struct nr_smtpd *d = s->d;

	forget_credentials(s); /* also LOGIN's user name, mid-exchange */
	if (s->state != SS_AUTH_WAIT)
		return;
	for (struct smtpd_session **pp = &d->auth_wait; *pp; pp = &(*pp)->auth_next) {
		if (*pp != s)
			continue;
		*pp = s->auth_next;
		if (d->auth_wait_tail == &s->auth_next)
			d->auth_wait_tail = pp;
		d->auth_pending--;
		break;
	}
	s->auth_next = NULL;
}

void smtpd_auth_run(struct nr_loop *loop, void *arg)
{
	struct nr_smtpd *d = arg;
	struct smtpd_session *s = d->auth_wait;

	if (!s)
		return;
	d->auth_wait = s->auth_next;
	if (!d->auth_wait)
		d->auth_wait_tail = &d->auth_wait;
	d->auth_pending--;
	s->auth_next = NULL;
	if (d->auth_wait)
		nr_loop_at_turn_end(loop, &d->auth_hook); /* the next one, next turn */
	verify_now(s);
	forget_credentials(s);
	if (s->state == SS_AUTH_WAIT)
		smtpd_enter_state(s, SS_HELO);
	smtpd_session_resume(s);
}

/* PLAIN: authzid NUL authcid NUL passwd (RFC 4616). */
static void auth_plain(struct smtpd_session *s, const char *b64, size_t len)
{
	uint8_t *dec;
	long n = decode_line(s, b64, len, &dec);
	if (n < 0)
		return;
	const uint8_t *p = dec, *end = dec + n;
	const uint8_t *z1 = memchr(p, 0, (size_t)n);
	const uint8_t *z2 = z1 ? memchr(z1 + 1, 0, (size_t)(end - z1 - 1)) : NULL;
	size_t ulen = z2 ? (size_t)(z2 - z1 - 1) : 0;
	if (!z2 || ulen == 0 || ulen > 255) {
		malformed(s);
		free_decoded(dec, (size_t)n);
		return;
	}
	char user[256];
	memcpy(user, z1 + 1, ulen);
	user[ulen] = '\0';
	auth_verify(s, "PLAIN", user, (const char *)z2 + 1, (size_t)(end - z2 - 1));
	free_decoded(dec, (size_t)n);
}

/* LOGIN's user name arrived (base64): keep it and ask for the password. */
static void login_user(struct smtpd_session *s, const char *b64, size_t len)
{
	struct smtpd_auth_creds *c = creds_get(s);
	if (!c)
		return;
	long n = nr_base64_decode(b64, len, c->user, sizeof(c->user) - 1);
	if (n <= 0 || memchr(c->user, 0, (size_t)n)) {
		malformed(s);
		forget_credentials(s);
		return;
	}
	c->user[n] = '\0';
	s->auth_step = AUTH_LOGIN_PASS;
	smtpd_reply(s, 334, NULL, "UGFzc3dvcmQ6"); /* "Password:" */
	smtpd_enter_state(s, SS_AUTH);
}

void smtpd_proceed_auth(struct smtpd_session *s, const struct smtpd_cmdline *cl)
{
	if (cl->mech == MECH_PLAIN) {
		if (!cl->initial) {
			s->auth_step = AUTH_PLAIN_WAIT;
			smtpd_reply(s, 334, NULL, " ");
			smtpd_enter_state(s, SS_AUTH);
			return;
		}
		auth_plain(s, cl->initial, cl->initial_len);
		if (s->state != SS_AUTH_WAIT)
			smtpd_enter_state(s, SS_HELO);
		return;
	}
	if (!cl->initial) {
		s->auth_step = AUTH_LOGIN_USER;
		smtpd_reply(s, 334, NULL, "VXNlcm5hbWU6"); /* "Username:" */
		smtpd_enter_state(s, SS_AUTH);
		return;
	}
	login_user(s, cl->initial, cl->initial_len);
}

void smtpd_auth_line(struct smtpd_session *s, const char *line, size_t len)
{
	enum smtpd_auth_step step = s->auth_step;

	s->auth_step = AUTH_NONE;
	smtpd_enter_state(s, SS_HELO);
	if (len == 1 && line[0] == '*') {
		smtpd_reply(s, 501, "5.7.0", "Error: authentication aborted");
		forget_credentials(s);
		return;
	}
	if (step == AUTH_PLAIN_WAIT) {
		auth_plain(s, line, len);
		return;
	}
	if (step == AUTH_LOGIN_USER) {
		login_user(s, line, len);
		return;
	}
	uint8_t *pass;
	long n = decode_line(s, line, len, &pass);
	if (n < 0 || !s->creds) {
		if (pass)
			free_decoded(pass, (size_t)n);
		forget_credentials(s);
		return;
	}
	auth_verify(s, "LOGIN", s->creds->user, (const char *)pass, (size_t)n);
	free_decoded(pass, (size_t)n);
}
