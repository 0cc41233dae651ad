/*
 * test_upstream.c - walk each smarthost step by step and say what happened
 * (see test_upstream.h).
 *
 * The probe owns one nr_smtpc session over one real delivery link, exactly
 * as the delivery engine does, and watches the link's steps through
 * nr_dlink_net_observe(). When the session is READY (after AUTH) it QUITs:
 * no MAIL command is ever sent. Nothing secret is printed: AUTH payloads go
 * through the session only, and 334 challenges are not shown.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/test_upstream.h"
#include "core/fmt.h"
#include "core/log.h"
#include "core/loop.h"
#include "delivery/delivery.h"
#include "dns/dns.h"
#include "oauth2/oauth2.h"
#include "posix.h"
#include "rewrite/provider.h"
#include "smtpc/smtpc_session.h"
#include "tls/tls.h"

enum { EX_OK_ = 0, EX_UNAVAILABLE_ = 69, EX_CONFIG_ = 78 };

/* A connect can take NR_DLINK_CONNECT_TIMEOUT_MS per address; the whole
 * walk of one smarthost never takes longer than this. */
#define PROBE_WALL_MS (4u * NR_DLINK_CONNECT_TIMEOUT_MS)

struct probe {
	struct nr_loop *loop;
	struct nr_dlink_net *net;
	struct nr_dlink *link;
	struct nr_smtpc *s;
	struct nr_timer timer;
	struct nr_probe_result r;
	enum nr_probe_step stage; /* the step in progress */
	int tls_up;
	int auth_done;
	int timed_out;
	int done;
};

static void say(const char *step, const char *fmt, ...) NR_PRINTF(2, 3);
static void say(const char *step, const char *fmt, ...)
{
	va_list ap;

	printf("  %-9s ", step);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

/* Peer text printed as is would let a server write to the terminal. */
static const char *clean(char *dst, size_t size, const char *src)
{
	return nr_log_escape(dst, size, src ? src : "", src ? strlen(src) : 0);
}

static void set_failed(struct probe *p, enum nr_probe_step at, int err, int code, const char *text)
{
	if (p->r.failed != NR_PROBE_OK)
		return; /* the first failure is the cause */
	p->r.failed = at;
	p->r.err = err;
	p->r.code = code;
	clean(p->r.text, sizeof(p->r.text), text);
}

static const char *connect_words(int err)
{
	switch (err) {
	case 0:
		return "connected";
	case NR_ECONNREFUSED:
		return "refused (nothing listens on that port)";
	case NR_ETIMEDOUT:
		return "no answer (timed out: a firewall may drop it)";
	case NR_EUNREACH:
		return "unreachable (no route to that address)";
	}
	return nr_strerror(err);
}

static const char *dns_words(int err)
{
	switch (err) {
	case NR_ENOTFOUND:
		return "name not found (NXDOMAIN, or no A/AAAA record)";
	case NR_ETIMEDOUT:
		return "no answer from the DNS server (timed out)";
	case NR_EDNS:
		return "the DNS server failed (SERVFAIL or refused)";
	case NR_ENOTSUP:
		return "this build resolves literal addresses only";
	}
	return nr_strerror(err);
}

/* ---- what the link reports ---- */

static void show_dns(struct probe *p, const struct nr_dlink_event *ev)
{
	char list[CONFIG_NR_DNS_MAX_ADDRS * 48], ip[64];
	size_t i, used = 0;

	if (ev->err != 0) {
		say("DNS", "%s: %s", p->r.host, dns_words(ev->err));
		set_failed(p, NR_PROBE_DNS, ev->err, 0, dns_words(ev->err));
		return;
	}
	list[0] = '\0';
	for (i = 0; i < ev->res->count && used + 50 < sizeof(list); i++) {
		nr_addr_ntop(&ev->res->addrs[i], ip, sizeof(ip));
		used +=
		    (size_t)snprintf(list + used, sizeof(list) - used, "%s%s", i ? ", " : "", ip);
	}
	say("DNS", "%s -> %s", p->r.host, list);
	p->stage = NR_PROBE_TCP;
}

static void show_connect(struct probe *p, const struct nr_dlink_event *ev)
{
	char ip[64];

	nr_addr_ntop(ev->addr, ip, sizeof(ip));
	say("TCP", "%s port %u: %s", ip, p->r.port, connect_words(ev->err));
	if (ev->err != 0) {
		/* The last address's reason is the one kept. */
		p->r.err = ev->err;
		clean(p->r.text, sizeof(p->r.text), connect_words(ev->err));
		return;
	}
	p->r.err = 0;
	p->r.text[0] = '\0';
	p->stage = p->r.tls == NR_TLS_IMPLICIT ? NR_PROBE_TLS : NR_PROBE_GREETING;
}

static void show_cert(struct probe *p, const struct nr_tls *t)
{
	char subject[160], issuer[160], expires[16], names[NR_PROBE_TEXT_MAX];

	if (nr_tls_peer_cert(t, subject, sizeof(subject), issuer, sizeof(issuer), expires,
			     sizeof(expires)) != 0) {
		say("cert", "none received");
		return;
	}
	nr_tls_peer_names(t, names, sizeof(names));
	say("cert", "subject %s", subject);
	say("", "issuer  %s", issuer);
	say("", "expires %s", expires);
	say("", "names   %s", names[0] ? names : "(none)");
	snprintf(p->r.cert_names, sizeof(p->r.cert_names), "%s", names);
	snprintf(p->r.cert_issuer, sizeof(p->r.cert_issuer), "%s", issuer);
	snprintf(p->r.cert_expires, sizeof(p->r.cert_expires), "%s", expires);
}

static void show_tls(struct probe *p, const struct nr_dlink_event *ev)
{
	char why[NR_PROBE_TEXT_MAX];

	if (ev->err == 0) {
		say("TLS", "%s, %s", nr_tls_version(ev->tls), nr_tls_ciphersuite(ev->tls));
		show_cert(p, ev->tls);
		say("", "verified: chain trusted and name matches %s", p->r.host);
		p->tls_up = 1;
		p->stage = p->r.tls == NR_TLS_IMPLICIT ? NR_PROBE_GREETING : NR_PROBE_EHLO;
		return;
	}
	if (ev->tls && nr_tls_peer_cert(ev->tls, NULL, 0, NULL, 0, NULL, 0) == 0)
		show_cert(p, ev->tls);
	if ((ev->err == NR_ECERT || ev->err == NR_ECLOCK) && ev->tls) {
		nr_tls_verify_text(ev->tls, why, sizeof(why));
		snprintf(p->r.verify, sizeof(p->r.verify), "%s", why);
		say("TLS", "certificate refused: %s", why);
		set_failed(p, NR_PROBE_TLS, ev->err, 0, why);
		return;
	}
	say("TLS", "handshake failed: %s%s", nr_strerror(ev->err),
	    ev->err == NR_ETLS ? " (the server did not answer in TLS)" : "");
	set_failed(p, NR_PROBE_TLS, ev->err, 0, nr_strerror(ev->err));
}

static void caps_text(char *dst, size_t size, const struct nr_smtpc_reply *r)
{
	snprintf(dst, size, "%s%s%s%s%s", r->caps.caps & NR_SMTPC_CAP_STARTTLS ? " STARTTLS" : "",
		 r->caps.caps & NR_SMTPC_CAP_PIPELINING ? " PIPELINING" : "",
		 r->caps.caps & NR_SMTPC_CAP_8BITMIME ? " 8BITMIME" : "",
		 r->caps.caps & NR_SMTPC_CAP_ENHANCEDSTATUSCODES ? " ENHANCEDSTATUSCODES" : "",
		 r->caps.caps & NR_SMTPC_CAP_SIZE ? " SIZE" : "");
}

static void mechs_text(char *dst, size_t size, uint32_t auth)
{
	snprintf(dst, size, "%s%s%s%s", auth & NR_SMTPC_AUTH_PLAIN ? " PLAIN" : "",
		 auth & NR_SMTPC_AUTH_LOGIN ? " LOGIN" : "",
		 auth & NR_SMTPC_AUTH_CRAM_MD5 ? " CRAM-MD5" : "",
		 auth & NR_SMTPC_AUTH_XOAUTH2 ? " XOAUTH2" : "");
}

static void show_ehlo(struct probe *p, const struct nr_smtpc_reply *r, const char *text)
{
	char caps[96], mechs[64];

	if (r->code != 250) {
		say("EHLO", "refused: %d %s", r->code, text);
		set_failed(p, NR_PROBE_EHLO, 0, r->code, text);
		return;
	}
	caps_text(caps, sizeof(caps), r);
	mechs_text(mechs, sizeof(mechs), r->caps.auth);
	if (r->caps.size_max)
		snprintf(caps + strlen(caps), sizeof(caps) - strlen(caps), " %s",
			 NR_U64(r->caps.size_max));
	say("EHLO", "%s:%s", p->tls_up ? "after TLS" : "in clear", caps[0] ? caps : " (nothing)");
	if (!p->tls_up && p->r.tls == NR_TLS_STARTTLS) {
		p->r.starttls_offered = (r->caps.caps & NR_SMTPC_CAP_STARTTLS) != 0;
		if (!p->r.starttls_offered) {
			say("STARTTLS", "not offered: nanorelay never continues in clear");
			set_failed(p, NR_PROBE_STARTTLS, 0, 0, "STARTTLS not offered");
		}
		p->stage = NR_PROBE_STARTTLS;
		return;
	}
	p->r.auth_offered = (r->caps.caps & NR_SMTPC_CAP_AUTH) != 0;
	snprintf(p->r.mechs, sizeof(p->r.mechs), "%s", mechs[0] ? mechs + 1 : "");
	say("AUTH", "offered: %s", p->r.auth_offered && mechs[0] ? mechs + 1 : "none");
	p->stage = NR_PROBE_AUTH;
}

static void show_reply(struct probe *p, const struct nr_smtpc_reply *r)
{
	const char *state = p->s ? nr_smtpc_state_name(p->s) : "";
	char text[NR_PROBE_TEXT_MAX];

	clean(text, sizeof(text), r->text);
	p->r.greeting_seen = 1;
	if (strcmp(state, "GREETING") == 0) {
		say("greeting", "%d %s", r->code, text);
		if (r->code != 220)
			set_failed(p, NR_PROBE_GREETING, 0, r->code, text);
		p->stage = NR_PROBE_EHLO;
	} else if (strcmp(state, "EHLO") == 0) {
		show_ehlo(p, r, text);
	} else if (strcmp(state, "STARTTLS") == 0) {
		say("STARTTLS", "%d %s", r->code, text);
		if (r->code != 220)
			set_failed(p, NR_PROBE_STARTTLS, 0, r->code, text);
		p->stage = NR_PROBE_TLS;
	} else if (strcmp(state, "AUTH") == 0) {
		const char *mech = nr_smtpc_auth_mech(p->s);
		if (r->code == 334)
			return; /* a challenge: nothing worth showing */
		if (r->code == 235) {
			say("AUTH", "%s as %s: accepted (%d %s)", mech, p->r.user, r->code, text);
			p->auth_done = 1;
			return;
		}
		say("AUTH", "%s as %s: refused: %d %s", mech, p->r.user, r->code, text);
		set_failed(p, NR_PROBE_AUTH, 0, r->code, text);
	}
}

static void on_step(void *arg, const struct nr_dlink_event *ev)
{
	struct probe *p = arg;

	switch (ev->step) {
	case NR_DLINK_STEP_RESOLVED:
		show_dns(p, ev);
		break;
	case NR_DLINK_STEP_CONNECT:
		show_connect(p, ev);
		break;
	case NR_DLINK_STEP_TLS:
		show_tls(p, ev);
		break;
	case NR_DLINK_STEP_REPLY:
		show_reply(p, ev->reply);
		break;
	}
}

/* ---- the session's owner ---- */

static int op_write(void *o, const void *b, size_t n)
{
	struct probe *p = o;
	return nr_dlink_net_ops.write(p->link, b, n);
}

static size_t op_room(void *o)
{
	struct probe *p = o;
	return p->link ? nr_dlink_net_ops.room(p->link) : 0;
}

static void op_start_tls(void *o)
{
	struct probe *p = o;
	nr_dlink_net_ops.start_tls(p->link);
}

static void op_arm_timer(void *o, uint64_t ms)
{
	struct probe *p = o;

	if (ms == 0)
		nr_timer_cancel(p->loop, &p->timer);
	else if (nr_timer_arm(p->loop, &p->timer, ms) != 0)
		nr_warn("test-upstream: timer heap full");
}

static void on_timer(struct nr_loop *loop, void *arg)
{
	struct probe *p = arg;

	(void)loop;
	p->timed_out = 1;
	if (p->s && !p->done)
		nr_smtpc_on_timeout(p->s);
}

static void op_rcpt_result(void *o, size_t i, int code, const char *text)
{
	(void)o, (void)i, (void)code, (void)text;
}

static void op_msg_done(void *o, int code, const char *text)
{
	(void)o, (void)code, (void)text;
}

/* READY: everything before MAIL worked. Say goodbye. */
static void op_ready(void *o)
{
	struct probe *p = o;

	if (!p->r.user)
		say("AUTH", "not tried: no user= configured (most smarthosts refuse to relay "
			    "without it)");
	p->stage = NR_PROBE_OK;
	nr_smtpc_quit(p->s);
}

static const char *stage_words(enum nr_probe_step s)
{
	static const char *const w[] = {"ok",   "setup",    "DNS", "TCP", "greeting",
					"EHLO", "STARTTLS", "TLS", "AUTH"};
	return (size_t)s < NR_ARRAY_LEN(w) ? w[s] : "?";
}

static void op_finished(void *o, enum nr_smtpc_end how, const char *text)
{
	struct probe *p = o;

	if (how != NR_SMTPC_END_QUIT || p->stage != NR_PROBE_OK) {
		int err = p->timed_out ? NR_ETIMEDOUT : NR_EIO;
		char why[NR_PROBE_TEXT_MAX];
		snprintf(why, sizeof(why), "%s", text ? text : "");
		if (p->stage == NR_PROBE_TCP && p->r.err) {
			/* every address failed: keep the last reason */
			err = p->r.err;
			snprintf(why, sizeof(why), "%s", p->r.text);
		}
		if (p->stage == NR_PROBE_OK)
			p->stage = NR_PROBE_AUTH;
		set_failed(p, p->stage, err, 0, why);
	}
	p->done = 1;
	nr_timer_cancel(p->loop, &p->timer);
	if (p->link) {
		nr_dlink_net_ops.close(p->link);
		p->link = NULL;
	}
}

static const struct nr_smtpc_ops probe_ops = {
    op_write,       op_room,     op_start_tls, op_arm_timer,
    op_rcpt_result, op_msg_done, op_ready,     op_finished,
};

/* ---- one smarthost ---- */

static int start_session(struct probe *p, const struct nr_conf *conf,
			 const struct nr_conf_smarthost *sh, unsigned timeout_s)
{
	struct nr_smtpc_params sp;
	struct nr_dlink_target t;
	char *secret = NULL;
	size_t slen = 0;
	int rc;

#if NR_ENABLED(CONFIG_NR_OAUTH2)
	if (sh->oauth2 != NULL) {
		char path[512], text[NR_PROBE_TEXT_MAX];
		int64_t now = 0;
		if (nr_plat_wall_time(&now) != 0)
			now = 0;
		rc = nr_oauth2_store_path(path, sizeof(path),
					  conf->state_dir ? conf->state_dir : ".", sh->host,
					  sh->port);
		if (rc == 0)
			rc = nr_oauth2_access_token(path, (uint64_t)now, &secret, &slen);
		if (rc != 0) {
			if (sh->oauth2->grant == NR_OAUTH2_CLIENT_CREDENTIALS)
				snprintf(
				    text, sizeof(text),
				    "OAuth2: %s; the daemon fetches one with the client secret "
				    "at its next delivery",
				    rc == NR_ENOTFOUND || rc == NR_EAUTH
					? "no valid access token stored yet"
					: nr_strerror(rc));
			else
				snprintf(
				    text, sizeof(text),
				    "OAuth2: %s; if the daemon cannot renew it, run: nanorelay "
				    "oauth2 login %.100s",
				    rc == NR_EAUTH       ? "no valid access token stored"
				    : rc == NR_ENOTFOUND ? "no tokens stored yet"
							 : nr_strerror(rc),
				    sh->host);
			say("setup", "%s", text);
			set_failed(p, NR_PROBE_SETUP, rc, 0, text);
			return rc;
		}
	}
#endif
	if (sh->user && p->r.secret_file) {
		rc = nr_smtpc_secret_read(p->r.secret_file, &secret, &slen);
		if (rc != 0) {
			char text[NR_PROBE_TEXT_MAX];
			snprintf(text, sizeof(text), "cannot read %s: %s", p->r.secret_file,
				 nr_strerror(rc));
			say("setup", "%s", text);
			set_failed(p, NR_PROBE_SETUP, rc, 0, text);
			return rc;
		}
	}
	memset(&sp, 0, sizeof(sp));
	sp.helo = conf->hostname;
	sp.relay = sh->host;
	sp.tls = sh->tls;
	sp.insecure = sh->insecure;
	sp.user = sh->user;
	sp.secret = secret;
	sp.secret_is_token = sh->oauth_token_file != NULL || sh->oauth2 != NULL;
	sp.auth_mech = sh->auth_mech;
	/* The longest SMTP deadline (the greeting's 2 min) becomes timeout_s. */
	sp.timeout_scale = NR_MAX(120u / NR_MAX(timeout_s, 1u), 1u);
	if (NR_ENABLED(CONFIG_NR_AUTH_CRAM_MD5))
		sp.hmac_md5 = nr_tls_hmac_md5;
	rc = nr_smtpc_new(&p->s, &sp, &probe_ops, p);
	nr_smtpc_secret_free(secret, slen);
	if (rc != 0) {
		set_failed(p, NR_PROBE_SETUP, rc, 0, "cannot start a session");
		return rc;
	}
	memset(&t, 0, sizeof(t));
	t.host = sh->host;
	t.port = sh->port;
	t.tls = sh->tls;
	/* each connect and an implicit TLS handshake: the probe's timeout */
	t.connect_timeout_ms = (uint64_t)timeout_s * 1000;
	p->stage = NR_PROBE_DNS;
	rc = nr_dlink_net_ops.open(p->net, &p->link, &t, p->s);
	if (rc != 0)
		set_failed(p, NR_PROBE_SETUP, rc, 0, "cannot open a connection");
	return rc;
}

static void run_until_done(struct probe *p)
{
	uint64_t end = nr_plat_now_ms() + PROBE_WALL_MS;

	while (!p->done && nr_plat_now_ms() < end)
		if (nr_loop_turn(p->loop, 200) < 0)
			break;
	if (!p->done)
		set_failed(p, p->stage, NR_ETIMEDOUT, 0, "no progress; gave up");
	/* Let the QUIT go out and the link be released. */
	for (int i = 0; i < 3; i++)
		(void)nr_loop_turn(p->loop, 0);
}

static const char *tls_word(enum nr_tls_mode m)
{
	return m == NR_TLS_IMPLICIT ? "implicit" : m == NR_TLS_STARTTLS ? "starttls" : "none";
}

static void print_verdict(const struct nr_probe_result *r)
{
	char fixes[6][NR_PROBE_ADVICE_MAX];
	size_t i, n;

	if (r->failed == NR_PROBE_OK) {
		say("result", "OK: %s:%u is ready to relay (no mail was sent)", r->host, r->port);
		n = nr_probe_advice(r, fixes, NR_ARRAY_LEN(fixes));
		for (i = 0; i < n; i++)
			say("note", "%s", fixes[i]);
		return;
	}
	if (r->code)
		say("result", "FAILED at %s: %d %s", stage_words(r->failed), r->code, r->text);
	else
		say("result", "FAILED at %s: %s", stage_words(r->failed),
		    r->text[0] ? r->text : nr_strerror(r->err));
	n = nr_probe_advice(r, fixes, NR_ARRAY_LEN(fixes));
	for (i = 0; i < n; i++)
		say("fix", "%s", fixes[i]);
}

static int probe_one(const struct nr_conf *conf, const struct nr_conf_smarthost *sh,
		     unsigned timeout_s)
{
	struct probe p;
	int rc;

	memset(&p, 0, sizeof(p));
	p.r.host = sh->host;
	p.r.port = sh->port;
	p.r.tls = sh->tls;
	p.r.user = sh->user;
	p.r.secret_file = sh->oauth_token_file ? sh->oauth_token_file : sh->password_file;
	p.r.ca_file = conf->ca_file;
	p.r.provider = (int)nr_provider_of(sh);
	p.r.from_rewrite = nr_from_rewrite_for(conf, sh);
	printf("smarthost %s:%u tls=%s%s%s\n", sh->host, sh->port, tls_word(sh->tls),
	       sh->user ? " user=" : "", sh->user ? sh->user : "");
	nr_timer_init(&p.timer, on_timer, &p);
	rc = nr_loop_new(&p.loop, 16, 32);
	if (rc != 0) {
		set_failed(&p, NR_PROBE_SETUP, rc, 0, "out of memory");
	} else if ((rc = nr_dlink_net_new(&p.net, p.loop, conf)) != 0) {
		/* The resolver or the CA file: the CA file is the likely one. */
		char text[NR_PROBE_TEXT_MAX];
		snprintf(text, sizeof(text), "cannot start the resolver or load the CA file %s: %s",
			 conf->ca_file ? conf->ca_file : "(system bundle)", nr_strerror(rc));
		set_failed(&p, NR_PROBE_SETUP, rc, 0, text);
	} else {
		nr_dlink_net_observe(p.net, on_step, &p);
		if (start_session(&p, conf, sh, timeout_s) == 0)
			run_until_done(&p);
	}
	print_verdict(&p.r);
	if (p.link)
		nr_dlink_net_ops.close(p.link);
	if (p.loop)
		nr_timer_cancel(p.loop, &p.timer);
	nr_smtpc_free(p.s);
	nr_dlink_net_free(p.net);
	nr_loop_free(p.loop);
	return p.r.failed == NR_PROBE_OK ? 0 : -1;
}

int nr_test_upstream(const struct nr_conf *conf, unsigned timeout_s, int verbose)
{
	size_t i;
	int bad = 0;

	if (conf->smarthost_count == 0) {
		printf("%s: no smarthost is configured: add a `smarthost HOST:PORT ...` line\n",
		       conf->path ? conf->path : "configuration");
		return EX_CONFIG_;
	}
	/* The steps are printed here; the log would say the same again. */
	nr_plat_log_open(NR_LOG_SINK_STDERR, "nanorelay");
	nr_log_set_level(verbose ? NR_LOG_DEBUG : NR_LOG_ERR);
	for (i = 0; i < conf->smarthost_count; i++) {
		if (i)
			putchar('\n');
		if (probe_one(conf, &conf->smarthost[i], timeout_s) != 0)
			bad++;
		fflush(stdout);
	}
	return bad ? EX_UNAVAILABLE_ : EX_OK_;
}
