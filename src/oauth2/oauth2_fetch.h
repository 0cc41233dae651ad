/*
 * oauth2_fetch.h - one HTTPS POST to a token endpoint, on the loop.
 *
 *   struct nr_oauth2_fetch_params p = {loop, dns, tls, url, form, 30000, done, me};
 *   nr_oauth2_fetch_start(&f, &p);
 *   ... later, from the loop: done(me, 0, &http) with the parsed response
 *
 * The TLS context is the caller's (nr_tls_client_ctx_new with ca_file):
 * the certificate chain and the URL's host name are verified as for
 * delivery. The form may carry a client secret or a refresh token: the
 * request is wiped from memory when the fetch ends and never logged.
 */
#ifndef NR_OAUTH2_OAUTH2_FETCH_H
#define NR_OAUTH2_OAUTH2_FETCH_H

#include <stdint.h>

#include "core/build.h"
#include "oauth2/oauth2.h"

struct nr_loop;
struct nr_dns;
struct nr_tls_ctx;
struct nr_oauth2_fetch;

/* Called exactly once per fetch not cancelled, from the loop. err 0 and
 * h the response (valid during the call only), or an error: NR_ETIMEDOUT
 * (the deadline), NR_ETOOBIG (a response over NR_OAUTH2_RESPONSE_MAX),
 * NR_EPROTO (not HTTP), a DNS, connect or TLS error (NR_ECERT: the
 * endpoint's certificate was refused). The fetch is freed after it. */
typedef void (*nr_oauth2_fetch_fn)(void *arg, int err, const struct nr_oauth2_http *h);

struct nr_oauth2_fetch_params {
	struct nr_loop *loop;
	struct nr_dns *dns;
	struct nr_tls_ctx *tls;
	const char *url;  /* https://host[:port]/path */
	const char *form; /* application/x-www-form-urlencoded body */
	uint64_t timeout_ms;
	nr_oauth2_fetch_fn fn;
	void *arg;
};

/* Start; the callback never runs from inside this call. NR_ENOMEM,
 * NR_EINVAL (URL), NR_ENOTSUP (no TLS context). */
int nr_oauth2_fetch_start(struct nr_oauth2_fetch **out,
			  const struct nr_oauth2_fetch_params *p) NR_MUST_CHECK;
/* Forget a fetch: no callback follows. Not from inside its callback. */
void nr_oauth2_fetch_cancel(struct nr_oauth2_fetch *f);

#endif /* NR_OAUTH2_OAUTH2_FETCH_H */
