/*
 * oauth2_fetch.c - one HTTPS POST to a token endpoint, driven by the loop.
 *
 * Resolve (nr_dns), connect to each address in turn (nr_plat), TLS with
 * the delivery's rules (src/tls: the CA bundle, the URL's host name
 * verified, TLS 1.2 at least), send the request, read the response up to
 * NR_OAUTH2_RESPONSE_MAX bytes, all under one deadline. Nothing here
 * waits: a slow token endpoint delays only the smarthost that asked.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/conn.h"
#include "core/log.h"
#include "core/loop.h"
#include "core/mem.h"
#include "dns/dns.h"
#include "oauth2/oauth2.h"
#include "oauth2/oauth2_fetch.h"
#include "tls/tls.h"
#include "tls/tls_conn.h"

struct nr_oauth2_fetch {
	struct nr_loop *loop;
	struct nr_dns *dns;
	struct nr_tls_ctx *tls;
	nr_oauth2_fetch_fn fn;
	void *arg;

	char host[256];
	uint16_t port;
	char *request; /* head and form body; wiped when done (a secret is in it) */
	size_t request_len;

	struct nr_dns_query *q;
	struct nr_dns_result res;
	size_t next_addr;
	int last_err;
	nr_sock_t sock; /* while connecting */
	struct nr_io io;
	struct nr_conn *c;
	struct nr_timer deadline;

	char resp[NR_OAUTH2_RESPONSE_MAX + 1];
	size_t resp_len;
};

static void release(struct nr_oauth2_fetch *f)
{
	if (f->q)
		nr_dns_cancel(f->dns, f->q);
	if (f->io.slot >= 0)
		nr_loop_del(f->loop, &f->io);
	if (f->sock != NR_SOCK_INVALID)
		nr_plat_sock_close(f->sock);
	nr_conn_free(f->c);
	nr_timer_cancel(f->loop, &f->deadline);
	if (f->request) {
		memset(f->request, 0, f->request_len);
		nr_free(f->request);
	}
	memset(f->resp, 0, f->resp_len); /* it may hold tokens */
	nr_free(f);
}

/* The end: the callback once, then everything is freed. */
static void finish(struct nr_oauth2_fetch *f, int err, const struct nr_oauth2_http *h)
{
	nr_oauth2_fetch_fn fn = f->fn;
	void *arg = f->arg;

	nr_conn_free(f->c);
	f->c = NULL;
	fn(arg, err, h);
	release(f);
}

void nr_oauth2_fetch_cancel(struct nr_oauth2_fetch *f)
{
	if (f != NULL)
		release(f);
}

static void try_next(struct nr_oauth2_fetch *f);

static void on_input(struct nr_conn *c, void *owner)
{
	struct nr_oauth2_fetch *f = owner;
	struct nr_buf *in = nr_conn_in(c);
	struct nr_oauth2_http h;
	size_t n = nr_buf_len(in);
	int rc;

	if (n > sizeof(f->resp) - 1 - f->resp_len) {
		finish(f, NR_ETOOBIG, NULL);
		return;
	}
	memcpy(f->resp + f->resp_len, nr_buf_head(in), n);
	nr_buf_consume(in, n);
	f->resp_len += n;
	f->resp[f->resp_len] = '\0';
	rc = nr_oauth2_http_parse(f->resp, f->resp_len, 0, &h);
	if (rc != NR_EAGAIN)
		finish(f, rc, rc == 0 ? &h : NULL);
}

static void on_close(struct nr_conn *c, void *owner, int err)
{
	struct nr_oauth2_fetch *f = owner;
	struct nr_oauth2_http h;
	int rc;

	(void)c;
	if (err != NR_ECLOSED) {
		finish(f, err, NULL);
		return;
	}
	rc = nr_oauth2_http_parse(f->resp, f->resp_len, 1, &h);
	finish(f, rc, rc == 0 ? &h : NULL);
}

static void on_tls_ready(struct nr_conn *c, void *owner)
{
	struct nr_oauth2_fetch *f = owner;

	if (nr_buf_put(nr_conn_out(c), f->request, f->request_len) != 0) {
		finish(f, NR_ETOOBIG, NULL);
		return;
	}
	nr_conn_flush(c);
}

static const struct nr_conn_ops conn_ops = {on_input, NULL, on_close, on_tls_ready};

static void connected(struct nr_oauth2_fetch *f)
{
	struct nr_tls *t = NULL;
	int rc;

	nr_loop_del(f->loop, &f->io);
	/* The request must fit the output buffer in one piece. */
	rc = nr_conn_new(&f->c, f->loop, f->sock, NR_OAUTH2_RESPONSE_MAX, f->request_len + 1024,
			 &conn_ops, f);
	if (rc != 0) {
		finish(f, rc, NULL);
		return;
	}
	f->sock = NR_SOCK_INVALID; /* the connection's now */
	rc = nr_tls_client_new(&t, f->tls, nr_conn_sock(f->c), f->host);
	if (rc != 0) {
		finish(f, rc, NULL);
		return;
	}
	nr_conn_set_transport(f->c, &nr_tls_transport, t);
}

static void on_connect_io(struct nr_loop *loop, void *arg, unsigned events)
{
	struct nr_oauth2_fetch *f = arg;
	int rc = nr_plat_tcp_connect_result(f->sock);

	(void)loop;
	(void)events;
	if (rc == NR_EAGAIN)
		return;
	if (rc == 0) {
		connected(f);
		return;
	}
	f->last_err = rc;
	nr_loop_del(f->loop, &f->io);
	nr_plat_sock_close(f->sock);
	f->sock = NR_SOCK_INVALID;
	try_next(f);
}

static void try_next(struct nr_oauth2_fetch *f)
{
	while (f->next_addr < f->res.count) {
		struct nr_addr a = f->res.addrs[f->next_addr++];
		int rc;

		a.port = f->port;
		if ((rc = nr_plat_tcp_connect(&a, &f->sock)) != 0) {
			f->last_err = rc;
			continue;
		}
		nr_io_init(&f->io, f->sock, NR_POLL_OUT, on_connect_io, f);
		if ((rc = nr_loop_add(f->loop, &f->io)) != 0) {
			finish(f, rc, NULL);
			return;
		}
		return;
	}
	finish(f, f->last_err ? f->last_err : NR_EUNREACH, NULL);
}

static void on_resolved(void *arg, int status, const struct nr_dns_result *res)
{
	struct nr_oauth2_fetch *f = arg;

	f->q = NULL;
	if (status != 0) {
		finish(f, status, NULL);
		return;
	}
	f->res = *res;
	f->next_addr = 0;
	try_next(f);
}

static void on_deadline(struct nr_loop *loop, void *arg)
{
	(void)loop;
	finish(arg, NR_ETIMEDOUT, NULL);
}

int nr_oauth2_fetch_start(struct nr_oauth2_fetch **out, const struct nr_oauth2_fetch_params *p)
{
	struct nr_oauth2_fetch *f;
	size_t size = strlen(p->form) + 1024;
	int rc;

	*out = NULL;
	if (p->tls == NULL)
		return NR_ENOTSUP;
	if ((f = nr_calloc(1, sizeof(*f))) == NULL)
		return NR_ENOMEM;
	f->loop = p->loop;
	f->dns = p->dns;
	f->tls = p->tls;
	f->fn = p->fn;
	f->arg = p->arg;
	f->sock = NR_SOCK_INVALID;
	nr_io_init(&f->io, NR_SOCK_INVALID, 0, on_connect_io, f);
	nr_timer_init(&f->deadline, on_deadline, f);
	if ((f->request = nr_malloc(size)) == NULL) {
		nr_free(f);
		return NR_ENOMEM;
	}
	f->request_len = size;
	rc = nr_oauth2_url_host(p->url, f->host, sizeof(f->host), &f->port);
	if (rc == 0)
		rc = nr_oauth2_http_request(f->request, size, p->url, p->form, &f->request_len);
	if (rc == 0)
		rc = nr_timer_arm(f->loop, &f->deadline, p->timeout_ms);
	if (rc == 0)
		rc = nr_dns_resolve(f->dns, f->host, on_resolved, f, &f->q);
	if (rc != 0) {
		f->q = NULL;
		release(f);
		return rc;
	}
	*out = f;
	return 0;
}
