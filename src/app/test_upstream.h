/*
 * test_upstream.h - `nanorelay test-upstream`: for each smarthost, walk
 * DNS -> TCP -> TLS -> EHLO -> AUTH with the real delivery code (src/dns,
 * src/tls, src/smtpc under the delivery link), print every step in plain
 * words, then QUIT. No mail is sent. It runs in this process: the daemon
 * need not run.
 *
 * The advice half (test_upstream_advice.c) is a pure function from what was
 * seen to "likely fix" lines, so it is tested without a network.
 */
#ifndef NR_APP_TEST_UPSTREAM_H
#define NR_APP_TEST_UPSTREAM_H

#include <stddef.h>
#include <stdint.h>

#include "conf/conf.h"

/* Where the walk stopped (the first step that failed). */
enum nr_probe_step {
	NR_PROBE_OK = 0,       /* everything passed */
	NR_PROBE_SETUP = 1,    /* our side: CA file, password file, memory */
	NR_PROBE_DNS = 2,      /* the name did not resolve */
	NR_PROBE_TCP = 3,      /* no address accepted the connection */
	NR_PROBE_GREETING = 4, /* no 220 greeting (or a refusal) */
	NR_PROBE_EHLO = 5,     /* EHLO refused */
	NR_PROBE_STARTTLS = 6, /* STARTTLS missing or refused */
	NR_PROBE_TLS = 7,      /* handshake or certificate */
	NR_PROBE_AUTH = 8,     /* no usable mechanism, or the server said no */
};

#define NR_PROBE_TEXT_MAX 256
#define NR_PROBE_ADVICE_MAX 320

struct nr_probe_result {
	/* the smarthost as configured */
	const char *host;
	uint16_t port;
	enum nr_tls_mode tls;
	const char *user;        /* NULL: no AUTH configured */
	const char *secret_file; /* password_file or oauth_token_file */
	const char *ca_file;     /* NULL: the system bundle */
	int provider;            /* enum nr_provider: enforces the header From */
	int from_rewrite;        /* the header From is rewritten (provider.h) */

	/* what was seen */
	enum nr_probe_step failed;
	int err;                        /* NR_E... of the failed step; 0 when the server said no */
	int code;                       /* the server's reply at the failed step, 0 if none */
	char text[NR_PROBE_TEXT_MAX];   /* that reply's text, or what went wrong */
	int greeting_seen;              /* a complete reply arrived in clear or TLS */
	int starttls_offered;           /* the first EHLO listed STARTTLS */
	int auth_offered;               /* the EHLO that counts listed AUTH */
	char mechs[64];                 /* the mechanisms it listed, "PLAIN LOGIN" */
	char verify[NR_PROBE_TEXT_MAX]; /* why the certificate was refused ("" if not) */
	char cert_names[NR_PROBE_TEXT_MAX];
	char cert_issuer[160];
	char cert_expires[16];
};

/* Write up to max "likely fix" lines for r into out. Returns the count.
 * When r->failed is NR_PROBE_OK the lines are notes: a smarthost at a
 * provider that enforces the header From while from_rewrite is off. */
size_t nr_probe_advice(const struct nr_probe_result *r, char out[][NR_PROBE_ADVICE_MAX],
		       size_t max);

/* The fix for a message refused under a provider's sender rule: text (a
 * reply, or the error `send-test` shows) names 5.2.252 (SendAsDenied,
 * Microsoft 365) or 5.7.60 (Exchange: no permission to send as this
 * sender). Writes the setting that fixes it into out (size bytes) and
 * returns 1; 0 (out untouched) for any other text. */
int nr_sender_refusal_advice(const char *text, char *out, size_t size);

/* Run the walk for every smarthost of conf, printing to standard output.
 * timeout_s bounds each SMTP step (greeting, EHLO, AUTH...). Returns an
 * exit code: 0 all passed, 69 (EX_UNAVAILABLE) when one failed, 78 when no
 * smarthost is configured. */
int nr_test_upstream(const struct nr_conf *conf, unsigned timeout_s, int verbose);

#endif /* NR_APP_TEST_UPSTREAM_H */
