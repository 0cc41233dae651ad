/*
 * test_upstream_advice.c - from what test-upstream saw to the likely fix.
 *
 * Pure: no I/O, so every rule is tested with made-up results
 * (tests/unit/app). The texts are for the person at the box: name the
 * setting to change and the value to put there.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "app/test_upstream.h"
#include "core/ascii.h"
#include "rewrite/provider.h"

struct advice {
	char (*out)[NR_PROBE_ADVICE_MAX];
	size_t max, n;
};

static void add(struct advice *a, const char *fmt, ...) NR_PRINTF(2, 3);
static void add(struct advice *a, const char *fmt, ...)
{
	va_list ap;

	if (a->n >= a->max)
		return;
	va_start(ap, fmt);
	vsnprintf(a->out[a->n], NR_PROBE_ADVICE_MAX, fmt, ap);
	va_end(ap);
	a->n++;
}

/* Case-insensitive "does host end with or contain this provider name". */
static int host_has(const char *host, const char *word)
{
	size_t hl = strlen(host), i;

	for (i = 0; i < hl; i++) {
		if (nr_ascii_iprefix(host + i, hl - i, word))
			return 1;
	}
	return 0;
}

static int is_gmail(const char *h)
{
	return host_has(h, "gmail") || host_has(h, "google");
}

static int is_microsoft(const char *h)
{
	return host_has(h, "office365") || host_has(h, "outlook") || host_has(h, "hotmail") ||
	       host_has(h, "live.com");
}

static const char *ca_name(const struct nr_probe_result *r)
{
	return r->ca_file ? r->ca_file : "the system bundle";
}

static void advise_tcp(const struct nr_probe_result *r, struct advice *a)
{
	if (r->err == NR_ECONNREFUSED) {
		add(a,
		    "nothing listens on %s port %u: check the port (587 for tls=starttls, 465 "
		    "for tls=implicit, 25 is often blocked by ISPs)",
		    r->host, r->port);
		return;
	}
	if (r->err == NR_ETIMEDOUT) {
		add(a,
		    "port %u of %s does not answer: a firewall or the internet provider may "
		    "block it; try port 587 (tls=starttls) or 465 (tls=implicit)",
		    r->port, r->host);
		return;
	}
	add(a, "the box cannot reach %s: check its network connection and default route", r->host);
}

/* The first name the certificate is for, as a smarthost name to suggest
 * (a wildcard "*.example.com" is no host name: say so instead). */
static void advise_wrong_name(const struct nr_probe_result *r, struct advice *a)
{
	char first[NR_PROBE_TEXT_MAX];
	size_t n = strcspn(r->cert_names, " ");

	if (!r->cert_names[0]) {
		add(a,
		    "the server's certificate is not for %s: ask its operator which name "
		    "to use",
		    r->host);
		return;
	}
	snprintf(first, sizeof(first), "%.*s", (int)n, r->cert_names);
	if (first[0] == '*')
		add(a,
		    "the server's certificate is for %s; set the smarthost name to a name "
		    "it covers (e.g. smtp%s)",
		    r->cert_names, first + 1);
	else
		add(a, "the server's certificate is for %s; set the smarthost name to %s",
		    r->cert_names, first);
}

static void advise_cert(const struct nr_probe_result *r, struct advice *a)
{
	const char *v = r->verify;

	if (r->err == NR_ECLOCK || strstr(v, "wall clock")) {
		add(a, "the box's clock is not set: certificates cannot be checked; enable NTP "
		       "(or set the date) and try again");
		return;
	}
	if (strstr(v, "does not match"))
		advise_wrong_name(r, a);
	if (strstr(v, "expired"))
		add(a,
		    "the server's certificate expired on %s: its operator must renew it; if "
		    "the date looks recent, check the box's clock",
		    r->cert_expires[0] ? r->cert_expires : "an earlier date");
	if (strstr(v, "not yet valid"))
		add(a, "the certificate is not valid yet: the box's clock is probably wrong "
		       "(check `date`, enable NTP)");
	if (strstr(v, "chain incomplete"))
		add(a,
		    "the certificate's issuer (%s) is not in %s: if it is the server's own "
		    "or a private CA, set ca_file to a file with that CA; if it is a public "
		    "intermediate, the server does not send it: add it to ca_file or ask the "
		    "operator to fix the chain",
		    r->cert_issuer[0] ? r->cert_issuer : "unknown", ca_name(r));
	else if (strstr(v, "not trusted"))
		add(a,
		    "the certificate is self-signed or from a CA not in %s: set ca_file to a "
		    "file with the CA that signed it (%s)",
		    ca_name(r), r->cert_issuer[0] ? r->cert_issuer : "unknown");
	if (a->n == 0)
		add(a, "the certificate was refused (%s): check the server name and ca_file", v);
}

static void advise_tls(const struct nr_probe_result *r, struct advice *a)
{
	if (r->err == NR_ECERT || r->err == NR_ECLOCK) {
		advise_cert(r, a);
		return;
	}
	if (r->tls == NR_TLS_IMPLICIT && r->port != 465) {
		add(a,
		    "the server did not start TLS at once, it expects STARTTLS: port %u needs "
		    "tls=starttls",
		    r->port);
		return;
	}
	if (r->tls == NR_TLS_IMPLICIT) {
		add(a, "the server did not start TLS at once: if it expects STARTTLS, use port "
		       "587 with tls=starttls");
		return;
	}
	add(a, "the TLS handshake failed: the server may only speak TLS 1.0/1.1 (nanorelay "
	       "requires TLS 1.2 or newer upstream) or use ciphers without forward secrecy");
}

static void advise_greeting(const struct nr_probe_result *r, struct advice *a)
{
	if (r->code) {
		add(a,
		    "the server refused the connection (%d): it may block this address or be "
		    "overloaded; try again later or ask its operator",
		    r->code);
		return;
	}
	if (r->tls != NR_TLS_IMPLICIT && !r->greeting_seen) {
		if (r->port == 465)
			add(a, "the server sent no greeting in clear: port 465 needs tls=implicit");
		else
			add(a, "the server sent no greeting in clear: it probably expects TLS at "
			       "once; set tls=implicit (port 465 needs tls=implicit)");
		return;
	}
	add(a, "the server closed the connection before greeting: check host and port");
}

static void advise_auth_refused(const struct nr_probe_result *r, struct advice *a)
{
	if (r->code == 535 || r->code == 534) {
		add(a,
		    "the server refused the user name or password: check user=%s and the one "
		    "line in %s (no extra spaces)",
		    r->user ? r->user : "", r->secret_file ? r->secret_file : "password_file");
		if (is_gmail(r->host))
			add(a, "Gmail needs an app password for accounts with 2-step verification "
			       "(https://myaccount.google.com/apppasswords); the account's normal "
			       "password is refused");
		if (is_microsoft(r->host))
			add(a,
			    "Microsoft 365: SMTP AUTH must be enabled for the mailbox (it is off "
			    "by default in many tenants), or use XOAUTH2 with oauth_token_file");
		return;
	}
	if (r->code == 454 || r->code == 421 || (r->code >= 400 && r->code < 500)) {
		add(a, "a temporary failure on the server's side: try again later");
		return;
	}
	if (r->code == 530 || r->code == 538) {
		add(a, "the server wants encryption before AUTH: use tls=starttls or "
		       "tls=implicit");
		return;
	}
	if (r->code == 504) {
		add(a,
		    "the server does not accept that mechanism: remove auth= or set it to one "
		    "it offers (%s)",
		    r->mechs[0] ? r->mechs : "none");
		return;
	}
	add(a, "AUTH failed: check user= and the password file");
}

static void advise_auth(const struct nr_probe_result *r, struct advice *a)
{
	if (r->code) {
		advise_auth_refused(r, a);
		return;
	}
	if (!r->auth_offered) {
		add(a,
		    "the server offers no AUTH on port %u: use its submission port (587 with "
		    "tls=starttls, or 465 with tls=implicit), or remove user= if it relays "
		    "for this address without a login",
		    r->port);
		return;
	}
	if (r->err == NR_ETIMEDOUT) {
		add(a, "the server did not answer AUTH in time: try again later");
		return;
	}
	add(a,
	    "the server offers %s but nanorelay can use PLAIN, LOGIN, CRAM-MD5 (and XOAUTH2 "
	    "with oauth_token_file): set auth= to one of them or change the account type",
	    r->mechs[0] ? r->mechs : "nothing usable");
}

/* 1 when text has the enhanced status code (RFC 3463) code as a whole
 * word: "5.7.60" but not "5.7.601". */
static int has_code(const char *text, const char *code)
{
	size_t n = strlen(code);
	const char *p;

	for (p = strstr(text, code); p; p = strstr(p + 1, code)) {
		int before = p == text || !(nr_ascii_isdigit(p[-1]) || p[-1] == '.');
		int after =
		    !(nr_ascii_isdigit(p[n]) || (p[n] == '.' && nr_ascii_isdigit(p[n + 1])));
		if (before && after)
			return 1;
	}
	return 0;
}

#define FROM_REWRITE_FIX                                                                           \
	"set `from_rewrite on` (or from_rewrite=on on the smarthost; drop any from_rewrite "       \
	"off): From becomes the account, the original kept in Reply-To"

int nr_sender_refusal_advice(const char *text, char *out, size_t size)
{
	/* 5.2.252 SendAsDenied is Microsoft 365's; older Exchange says 5.2.0
	 * ...SendAsDeniedException, Exchange Online 5.7.60 "does not have
	 * permissions to send as this sender". */
	if (!text || !(has_code(text, "5.2.252") || has_code(text, "5.7.60") ||
		       strstr(text, "SendAsDenied")))
		return 0;
	snprintf(out, size,
		 "the smarthost refuses a header From that is not the account it logged in as "
		 "(5.2.252 SendAsDenied / 5.7.60): " FROM_REWRITE_FIX);
	return 1;
}

/* After a walk that passed: a provider that enforces the header From while
 * the relay leaves it alone refuses (or rewrites) the printer's mail. */
static void advise_sender_rule(const struct nr_probe_result *r, struct advice *a)
{
	if (!r->provider || !r->user || !strchr(r->user, '@'))
		return;
	if (r->from_rewrite)
		add(a,
		    "%s accepts only mail From the account: the header From is rewritten to it "
		    "(from_rewrite), the original kept in Reply-To",
		    nr_provider_name((enum nr_provider)r->provider));
	else
		add(a,
		    "%s refuses mail whose header From is not %s (554 5.2.252 SendAsDenied) and "
		    "from_rewrite is off here: " FROM_REWRITE_FIX,
		    nr_provider_name((enum nr_provider)r->provider), r->user);
}

size_t nr_probe_advice(const struct nr_probe_result *r, char out[][NR_PROBE_ADVICE_MAX], size_t max)
{
	struct advice a = {out, max, 0};

	if (r->failed != NR_PROBE_OK && a.max > 0 &&
	    nr_sender_refusal_advice(r->text, a.out[0], NR_PROBE_ADVICE_MAX))
		a.n++; /* a sender rule in any reply: its fix first */
	switch (r->failed) {
	case NR_PROBE_OK:
		advise_sender_rule(r, &a);
		break;
	case NR_PROBE_SETUP:
		if (strstr(r->text, "CA file"))
			add(&a, "set ca_file to a readable PEM file with the CAs to trust (Debian, "
				"OpenWrt and Buildroot: /etc/ssl/certs/ca-certificates.crt from "
				"ca-certificates or ca-bundle)");
		else if (r->secret_file && strstr(r->text, r->secret_file))
			add(&a,
			    "%s must exist, be readable by the user nanorelay runs as, and "
			    "hold the secret on one line",
			    r->secret_file);
		else
			add(&a, "nanorelay could not start the check: %s", r->text);
		break;
	case NR_PROBE_DNS:
		if (r->err == NR_ENOTFOUND)
			add(&a, "DNS: name not found — check the spelling of %s", r->host);
		else
			add(&a, "DNS: the resolver did not answer — check dns_server or "
				"/etc/resolv.conf and the box's internet connection");
		break;
	case NR_PROBE_TCP:
		advise_tcp(r, &a);
		break;
	case NR_PROBE_GREETING:
		advise_greeting(r, &a);
		break;
	case NR_PROBE_EHLO:
		add(&a,
		    "the server refused EHLO (%d): set `hostname` to a proper name for this "
		    "box (some servers want a fully qualified one)",
		    r->code);
		break;
	case NR_PROBE_STARTTLS:
		if (r->code)
			add(&a, "the server refused STARTTLS (%d): try port 465 with tls=implicit",
			    r->code);
		else if (r->port == 465)
			add(&a, "port 465 needs tls=implicit");
		else
			add(&a,
			    "the server does not offer STARTTLS on port %u: use its port 587 "
			    "(tls=starttls) or 465 (tls=implicit); nanorelay never sends in clear",
			    r->port);
		break;
	case NR_PROBE_TLS:
		advise_tls(r, &a);
		break;
	case NR_PROBE_AUTH:
		advise_auth(r, &a);
		break;
	}
	return a.n;
}
