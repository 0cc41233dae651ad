/* delivery_conn.c - the link under a delivery session: DNS, TCP, TLS, replies. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf.h"
#include "core/conn.h"
#include "core/log.h"
#include "core/loop.h"
#include "core/mem.h"
#include "delivery/delivery.h"
#include "delivery/delivery_link.h"
#include "dns/dns.h"
#include "smtpc/reply.h"
#include "smtpc/smtpc_session.h"
#include "tls/tls_conn.h"

/* An upstream connection's output buffer. It is flushed once per loop turn,
 * so its size is the body bytes per send(): 4 KiB made 25 sends per 100 KB
 * message, 32 KiB makes 4 (issue 22). There are only upstream_connections
 * of these; a firmware keeps the per-connection default. */
#if NR_ENABLED(CONFIG_NR_PLATFORM_RTOS)
#define DLV_OUT_BUF CONFIG_NR_IO_BUF_SIZE
#else
#define DLV_OUT_BUF 32768
#endif

/* A closed link waits this long for its output (QUIT) to drain. */
#define NR_DLINK_LINGER_MS 5000u

struct nr_dlink_net {
	struct nr_loop *loop;
	struct nr_dns *dns;
	struct nr_tls_ctx *tls; /* NULL when no smarthost uses TLS */
	struct nr_dlink *links; /* every link not yet freed */
	nr_dlink_observer_fn observe;
	void *observe_arg;
};

/* Work deferred to the end of the loop turn (never from inside a call). */
enum {
	EV_FAIL = 1u << 0,    /* tell the session: connection failed (fail_err) */
	EV_SWITCH = 1u << 2,  /* start_tls was asked: switch once drained */
	EV_RELEASE = 1u << 3, /* closed by the engine: free what is left */
};

struct nr_dlink {
	struct nr_dlink_net *net;
	struct nr_dlink *next;
	struct nr_smtpc *s; /* NULL once the engine closed the link */
	char host[128];
	uint16_t port;
	enum nr_tls_mode mode;
	uint64_t connect_timeout_ms;
	char peer[200];
	struct nr_addr cur_addr; /* the address being tried */

	struct nr_dns_query *q;
	struct nr_dns_result res;
	size_t next_addr;
	int last_err;

	nr_sock_t sock; /* while connecting */
	struct nr_io io;
	struct nr_timer timer; /* connect deadline, then the linger deadline */

	struct nr_conn *c;
	struct nr_smtpc_reply_asm rasm; /* the server's bytes -> whole replies */
	struct nr_tls *tls;             /* on c (the connection owns it); NULL before TLS */
	int tls_done;                   /* its handshake completed (on_tls_ready) */
	int tls_started;                /* a handshake was started on c */
	int switch_asked;

	struct nr_hook hook;
	unsigned events;
	int fail_err;
	char fail_text[320]; /* set when no connection was made: DNS or TCP */
};

/* ---- helpers ---- */

static void set_peer(struct nr_dlink *l, const struct nr_addr *a)
{
	char ip[64];

	if (a) {
		nr_addr_ntop(a, ip, sizeof(ip));
		snprintf(l->peer, sizeof(l->peer), "%s[%s]:%u", l->host, ip, l->port);
	} else {
		snprintf(l->peer, sizeof(l->peer), "%s[?]:%u", l->host, l->port);
	}
}

static void report(struct nr_dlink *l, const struct nr_dlink_event *ev)
{
	if (l->net->observe && l->s)
		l->net->observe(l->net->observe_arg, ev);
}

static void report_step(struct nr_dlink *l, enum nr_dlink_step step, int err,
			const struct nr_addr *a)
{
	struct nr_dlink_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.step = step;
	ev.err = err;
	ev.addr = a;
	ev.res = step == NR_DLINK_STEP_RESOLVED && err == 0 ? &l->res : NULL;
	ev.tls = step == NR_DLINK_STEP_TLS ? l->tls : NULL;
	report(l, &ev);
}

static void post(struct nr_dlink *l, unsigned ev)
{
	l->events |= ev;
	nr_loop_at_turn_end(l->net->loop, &l->hook);
}

static void fail(struct nr_dlink *l, int err)
{
	l->fail_err = err ? err : NR_EIO;
	post(l, EV_FAIL);
}

static void stop_connecting(struct nr_dlink *l)
{
	if (l->io.slot >= 0)
		nr_loop_del(l->net->loop, &l->io);
	if (l->sock != NR_SOCK_INVALID)
		nr_plat_sock_close(l->sock);
	l->sock = NR_SOCK_INVALID;
	nr_timer_cancel(l->net->loop, &l->timer);
}

static void unlink_and_free(struct nr_dlink *l)
{
	struct nr_dlink **pp;

	for (pp = &l->net->links; *pp; pp = &(*pp)->next)
		if (*pp == l) {
			*pp = l->next;
			break;
		}
	if (l->q)
		nr_dns_cancel(l->net->dns, l->q);
	stop_connecting(l);
	nr_loop_hook_cancel(l->net->loop, &l->hook);
	nr_conn_free(l->c);
	nr_free(l);
}

/* ---- TLS ---- */

/* Always verified against the configured smarthost name; there is no
 * fallback to clear text or to an unverified peer. */
static int switch_to_tls(struct nr_dlink *l)
{
	struct nr_tls *t = NULL;
	int rc;

	if (!l->net->tls)
		return NR_ENOTSUP;
	rc = nr_tls_client_new(&t, l->net->tls, nr_conn_sock(l->c), l->host);
	if (rc != 0)
		return rc;
	l->tls = t;
	l->tls_done = 0;
	l->tls_started = 1;
	nr_smtpc_reply_init(&l->rasm, 0);
	nr_conn_set_transport(l->c, &nr_tls_transport, t);
	return 0;
}

/* ---- connection callbacks ---- */

static void tls_up(struct nr_dlink *l);

static void on_input(struct nr_conn *c, void *owner)
{
	struct nr_dlink *l = owner;
	struct nr_buf *in = nr_conn_in(c);

	while (nr_buf_len(in) > 0) {
		const struct nr_smtpc_reply *r;
		size_t used = 0;
		int rc;

		/* Closed, or between the 220 to STARTTLS and the switch: nothing
		 * read now may be believed (the switch discards it anyway). */
		if (!l->s || l->switch_asked) {
			nr_buf_consume(in, nr_buf_len(in));
			return;
		}
		rc = nr_smtpc_reply_feed(&l->rasm, nr_buf_head(in), nr_buf_len(in), &used);
		nr_buf_consume(in, used);
		if (rc == 0)
			return;
		if (rc < 0) {
			nr_warn("delivery: %s: malformed reply: %s", l->peer, nr_strerror(rc));
			nr_buf_consume(in, nr_buf_len(in));
			fail(l, rc);
			return;
		}
		r = nr_smtpc_reply_get(&l->rasm); /* valid until the next feed */
		if (l->net->observe) {
			struct nr_dlink_event ev;
			memset(&ev, 0, sizeof(ev));
			ev.step = NR_DLINK_STEP_REPLY;
			ev.reply = r;
			report(l, &ev);
		}
		/* The session may close the link from here: l stays valid
		 * (freed at the end of the turn), l->s becomes NULL. */
		nr_smtpc_on_reply(l->s, r, nr_buf_len(in) + nr_smtpc_reply_pending(&l->rasm));
	}
}

static void on_drained(struct nr_conn *c, void *owner)
{
	struct nr_dlink *l = owner;

	(void)c;
	if (!l->s)
		return;
	if (l->switch_asked) {
		post(l, EV_SWITCH);
		return;
	}
	nr_smtpc_on_writable(l->s);
}

static void on_close(struct nr_conn *c, void *owner, int err)
{
	struct nr_dlink *l = owner;
	char why[160];

	why[0] = '\0';
	if ((err == NR_ECERT || err == NR_ECLOCK) && l->tls)
		nr_tls_verify_text(l->tls, why, sizeof(why));
	else if (err == NR_ETLS && l->tls_started && !l->tls_done)
		snprintf(why, sizeof(why),
			 "handshake failed (no TLS 1.2 or later, or no common "
			 "cipher, on the server)");
	if (l->tls_started && !l->tls_done)
		report_step(l, NR_DLINK_STEP_TLS, err ? err : NR_ETLS, NULL);
	nr_conn_free(c); /* destroys the TLS state too */
	l->c = NULL;
	l->tls = NULL;
	if (!l->s) {
		post(l, EV_RELEASE);
		return;
	}
	if (l->tls_started && !l->tls_done) {
		nr_warn("delivery: %s: TLS handshake failed: %s%s%s", l->peer, nr_strerror(err),
			why[0] ? ": " : "", why);
		if (l->mode == NR_TLS_STARTTLS) {
			nr_smtpc_on_tls_done(l->s, err ? err : NR_ETLS,
					     why[0] ? why : nr_strerror(err));
			return;
		}
	}
	nr_smtpc_on_closed(l->s, err);
}

/* The connection raises this before any input that came with the end of
 * the handshake (the 220 greeting on port 465), so the session hears "TLS
 * is up" first. */
static void on_tls_ready(struct nr_conn *c, void *owner)
{
	struct nr_dlink *l = owner;

	(void)c;
	l->tls_done = 1;
	if (l->s)
		tls_up(l);
}

static const struct nr_conn_ops conn_ops = {on_input, on_drained, on_close, on_tls_ready};

/* ---- connecting ---- */

static void try_next(struct nr_dlink *l);

static void connected(struct nr_dlink *l)
{
	int rc;

	nr_loop_del(l->net->loop, &l->io);
	nr_timer_cancel(l->net->loop, &l->timer);
	/* the output buffer holds the longest AUTH line (an XOAUTH2 token) */
	rc = nr_conn_new(&l->c, l->net->loop, l->sock, 0,
			 NR_MAX((size_t)DLV_OUT_BUF, (size_t)NR_SMTPC_AUTH_LINE_MAX), &conn_ops, l);
	if (rc != 0) {
		stop_connecting(l);
		fail(l, rc);
		return;
	}
	l->sock = NR_SOCK_INVALID; /* the connection's now */
	nr_debug("delivery: connected to %s", l->peer);
	report_step(l, NR_DLINK_STEP_CONNECT, 0, &l->cur_addr);
	if (l->mode == NR_TLS_IMPLICIT) {
		rc = switch_to_tls(l);
		if (rc != 0) {
			nr_warn("delivery: %s: cannot start TLS: %s", l->peer, nr_strerror(rc));
			fail(l, NR_ETLS);
		} else if (nr_timer_arm(l->net->loop, &l->timer, l->connect_timeout_ms) != 0) {
			fail(l, NR_ENOMEM);
		}
		return; /* on_connected once the handshake is done */
	}
	nr_smtpc_on_connected(l->s);
}

static void on_connect_io(struct nr_loop *loop, void *arg, unsigned events)
{
	struct nr_dlink *l = arg;
	int rc = nr_plat_tcp_connect_result(l->sock);

	(void)loop;
	(void)events;
	if (rc == NR_EAGAIN)
		return;
	if (rc == 0) {
		connected(l);
		return;
	}
	nr_info("delivery: connect to %s failed: %s", l->peer, nr_strerror(rc));
	l->last_err = rc;
	report_step(l, NR_DLINK_STEP_CONNECT, rc, &l->cur_addr);
	stop_connecting(l);
	try_next(l);
}

static void on_timer(struct nr_loop *loop, void *arg)
{
	struct nr_dlink *l = arg;

	(void)loop;
	if (!l->s) { /* lingering after close: give up on the output */
		unlink_and_free(l);
		return;
	}
	if (l->c) { /* implicit TLS handshake */
		nr_warn("delivery: TLS handshake with %s timed out", l->peer);
		report_step(l, NR_DLINK_STEP_TLS, NR_ETIMEDOUT, NULL);
		fail(l, NR_ETIMEDOUT);
		return;
	}
	nr_info("delivery: connect to %s timed out", l->peer);
	l->last_err = NR_ETIMEDOUT;
	report_step(l, NR_DLINK_STEP_CONNECT, NR_ETIMEDOUT, &l->cur_addr);
	stop_connecting(l);
	try_next(l);
}

/* DNS outcomes in the words a user can act on. */
static const char *dns_failure_words(int err)
{
	switch (err) {
	case NR_ENOTFOUND:
		return "no such name in DNS (NXDOMAIN or no address)";
	case NR_ETIMEDOUT:
		return "the DNS server did not answer";
	case NR_EDNS:
		return "the DNS server failed (SERVFAIL or refused)";
	}
	return nr_strerror(err);
}

static void try_next(struct nr_dlink *l)
{
	while (l->next_addr < l->res.count) {
		struct nr_addr a = l->res.addrs[l->next_addr++];
		int rc;

		a.port = l->port;
		set_peer(l, &a);
		l->cur_addr = a;
		rc = nr_plat_tcp_connect(&a, &l->sock);
		if (rc != 0) {
			nr_info("delivery: connect to %s failed: %s", l->peer, nr_strerror(rc));
			l->last_err = rc;
			report_step(l, NR_DLINK_STEP_CONNECT, rc, &a);
			continue;
		}
		l->io.sock = l->sock;
		l->io.want = NR_POLL_OUT;
		l->io.fn = on_connect_io;
		l->io.arg = l;
		rc = nr_loop_add(l->net->loop, &l->io);
		if (rc == 0)
			rc = nr_timer_arm(l->net->loop, &l->timer, l->connect_timeout_ms);
		if (rc != 0) {
			stop_connecting(l);
			fail(l, rc);
		}
		return;
	}
	snprintf(l->fail_text, sizeof(l->fail_text), "cannot connect to %s%s: %s", l->peer,
		 l->res.count > 1 ? " (and the other addresses)" : "",
		 nr_strerror(l->last_err ? l->last_err : NR_EUNREACH));
	fail(l, l->last_err ? l->last_err : NR_EUNREACH);
}

static void on_resolved(void *arg, int status, const struct nr_dns_result *res)
{
	struct nr_dlink *l = arg;

	l->q = NULL; /* the handle is dead once the callback runs */
	if (status != 0) {
		nr_warn("delivery: cannot resolve %s: %s", l->host, nr_strerror(status));
		report_step(l, NR_DLINK_STEP_RESOLVED, status, NULL);
		snprintf(l->fail_text, sizeof(l->fail_text), "cannot resolve %s: %s", l->host,
			 dns_failure_words(status));
		fail(l, status);
		return;
	}
	l->res = *res;
	l->next_addr = 0;
	report_step(l, NR_DLINK_STEP_RESOLVED, 0, NULL);
	try_next(l);
}

/* ---- deferred events ---- */

static void tls_up(struct nr_dlink *l)
{
	nr_debug("delivery: TLS up with %s", l->peer);
	report_step(l, NR_DLINK_STEP_TLS, 0, NULL);
	nr_timer_cancel(l->net->loop, &l->timer);
	if (l->mode == NR_TLS_IMPLICIT)
		nr_smtpc_on_connected(l->s);
	else
		nr_smtpc_on_tls_done(l->s, 0, NULL);
}

static void on_hook(struct nr_loop *loop, void *arg)
{
	struct nr_dlink *l = arg;
	unsigned ev = l->events;

	(void)loop;
	l->events = 0;
	if (!l->s) {
		if (!l->c)
			unlink_and_free(l);
		return;
	}
	if (ev & EV_FAIL) {
		nr_conn_free(l->c);
		l->c = NULL;
		if (l->fail_text[0])
			nr_smtpc_on_connect_failed(l->s, l->fail_text);
		else
			nr_smtpc_on_closed(l->s, l->fail_err);
		return; /* the session is over; the engine closes us */
	}
	if (ev & EV_SWITCH) {
		int rc;

		l->switch_asked = 0;
		rc = switch_to_tls(l);
		if (rc != 0) {
			nr_smtpc_on_tls_done(l->s, rc, "cannot start TLS");
			return;
		}
	}
}

/* ---- ops ---- */

static int link_open(void *ctx, struct nr_dlink **out, const struct nr_dlink_target *t,
		     struct nr_smtpc *s)
{
	struct nr_dlink_net *net = ctx;
	struct nr_dlink *l;
	int rc;

	*out = NULL;
	l = nr_calloc(1, sizeof(*l));
	if (!l)
		return NR_ENOMEM;
	nr_smtpc_reply_init(&l->rasm, 0);
	l->net = net;
	l->s = s;
	snprintf(l->host, sizeof(l->host), "%s", t->host ? t->host : "");
	l->port = t->port;
	l->mode = t->tls;
	l->connect_timeout_ms = NR_DLINK_CONNECT_TIMEOUT_MS;
	if (t->connect_timeout_ms && t->connect_timeout_ms < l->connect_timeout_ms)
		l->connect_timeout_ms = t->connect_timeout_ms;
	l->sock = NR_SOCK_INVALID;
	l->io.slot = -1;
	nr_timer_init(&l->timer, on_timer, l);
	l->hook.fn = on_hook;
	l->hook.arg = l;
	set_peer(l, NULL);
	l->next = net->links;
	net->links = l;
	/* The answer always comes from the loop, so no session event can
	 * fire from inside open(); an error is reported the same way. */
	rc = nr_dns_resolve(net->dns, l->host, on_resolved, l, &l->q);
	if (rc != 0) {
		l->q = NULL;
		nr_warn("delivery: cannot resolve %s: %s", l->host, nr_strerror(rc));
		report_step(l, NR_DLINK_STEP_RESOLVED, rc, NULL);
		snprintf(l->fail_text, sizeof(l->fail_text), "cannot resolve %s: %s", l->host,
			 dns_failure_words(rc));
		fail(l, rc);
	}
	*out = l;
	return 0;
}

static int link_write(struct nr_dlink *l, const void *p, size_t n)
{
	struct nr_buf *out;

	if (!l->c)
		return NR_ESTATE;
	out = nr_conn_out(l->c);
	if (nr_buf_room(out) < n) {
		nr_buf_compact(out);
		if (nr_buf_room(out) < n)
			return NR_EFULL;
	}
	if (nr_buf_put(out, p, n) != 0)
		return NR_EFULL;
	nr_conn_flush_soon(l->c);
	return 0;
}

static size_t link_room(struct nr_dlink *l)
{
	struct nr_buf *out;

	if (!l->c)
		return 0;
	out = nr_conn_out(l->c);
	nr_buf_compact(out);
	return nr_buf_room(out);
}

static void link_start_tls(struct nr_dlink *l)
{
	if (!l->c) {
		fail(l, NR_ECLOSED);
		return;
	}
	/* The STARTTLS command went out before its 220 came back; switch
	 * from the turn's end, or once anything still buffered drained. */
	l->switch_asked = 1;
	if (nr_buf_len(nr_conn_out(l->c)) == 0)
		post(l, EV_SWITCH);
}

static void link_close(struct nr_dlink *l)
{
	if (!l)
		return;
	l->s = NULL;
	l->events = 0;
	if (l->q) {
		nr_dns_cancel(l->net->dns, l->q);
		l->q = NULL;
	}
	stop_connecting(l);
	if (l->c) {
		/* Let QUIT go out, but not forever. */
		nr_conn_close_after_flush(l->c);
		if (nr_timer_arm(l->net->loop, &l->timer, NR_DLINK_LINGER_MS) != 0) {
			nr_conn_free(l->c);
			l->c = NULL;
		}
	}
	if (!l->c)
		post(l, EV_RELEASE);
}

static const char *link_peer(struct nr_dlink *l)
{
	return l->peer;
}

static int link_reload(void *ctx, const struct nr_conf *conf)
{
	return nr_dlink_net_reload(ctx, conf);
}

const struct nr_dlink_ops nr_dlink_net_ops = {
    link_open, link_write, link_room, link_start_tls, link_close, link_peer, link_reload,
};

#define NR_SYSTEM_CA_TEXT "(system bundle)"

static int conf_uses_tls(const struct nr_conf *conf)
{
	for (size_t i = 0; i < conf->smarthost_count; i++)
		if (conf->smarthost[i].tls != NR_TLS_NONE)
			return 1;
	return 0;
}

/* The client context for conf's ca_file (*out NULL when no smarthost uses
 * TLS); the error is logged. */
static int load_tls(struct nr_tls_ctx **out, const struct nr_conf *conf)
{
	int rc;

	*out = NULL;
	if (!conf_uses_tls(conf))
		return 0;
	rc = nr_tls_client_ctx_new(out, conf->ca_file);
	if (rc != 0)
		nr_err("delivery: cannot load CA file %s: %s",
		       conf->ca_file ? conf->ca_file : NR_SYSTEM_CA_TEXT, nr_strerror(rc));
	return rc;
}

int nr_dlink_net_new(struct nr_dlink_net **out, struct nr_loop *loop, const struct nr_conf *conf)
{
	struct nr_dlink_net *n;
	struct nr_dns_opts opts;
	int rc;

	*out = NULL;
	n = nr_calloc(1, sizeof(*n));
	if (!n)
		return NR_ENOMEM;
	n->loop = loop;
	memset(&opts, 0, sizeof(opts));
	opts.server = conf->dns_server.family != NR_AF_NONE ? &conf->dns_server : NULL;
	rc = nr_dns_new_opts(&n->dns, loop, &opts);
	if (rc != 0) {
		nr_err("delivery: cannot start the resolver: %s", nr_strerror(rc));
		goto out;
	}
	rc = load_tls(&n->tls, conf);
	if (rc != 0)
		goto out;
	*out = n;
	n = NULL;
out:
	nr_dlink_net_free(n);
	return rc;
}

int nr_dlink_net_reload(struct nr_dlink_net *n, const struct nr_conf *conf)
{
	struct nr_tls_ctx *tls;
	int rc;

	/* The same CA bytes: keep the context (and its saved sessions) rather
	 * than parse the whole bundle again at every SIGHUP. */
	if (n->tls && conf_uses_tls(conf) && nr_tls_ctx_file_same(n->tls, conf->ca_file) == 1)
		return 0;
	rc = load_tls(&tls, conf);
	if (rc != 0)
		return rc;
	/* Sessions still open hold their own reference to the old context. */
	nr_tls_ctx_free(n->tls);
	n->tls = tls;
	if (tls)
		nr_info("reload: CA file %s loaded",
			conf->ca_file ? conf->ca_file : NR_SYSTEM_CA_TEXT);
	return 0;
}

void nr_dlink_net_observe(struct nr_dlink_net *n, nr_dlink_observer_fn fn, void *arg)
{
	n->observe = fn;
	n->observe_arg = arg;
}

void nr_dlink_net_free(struct nr_dlink_net *n)
{
	if (!n)
		return;
	while (n->links)
		unlink_and_free(n->links);
	nr_dns_free(n->dns);
	nr_tls_ctx_free(n->tls);
	nr_free(n);
}

static void net_free(void *ctx)
{
	nr_dlink_net_free(ctx);
}

int nr_delivery_start(struct nr_delivery **out, struct nr_loop *loop, const struct nr_conf *conf,
		      struct nr_queue *q)
{
	struct nr_dlink_net *net = NULL;
	int rc;

	*out = NULL;
	if (conf->smarthost_count == 0)
		return NR_EINVAL;
	rc = nr_dlink_net_new(&net, loop, conf);
	if (rc != 0)
		return rc;
	rc = nr_delivery_start_links(out, loop, conf, q, &nr_dlink_net_ops, net);
	if (rc != 0) {
		nr_dlink_net_free(net);
		return rc;
	}
	nr_delivery_own_links(*out, net_free);
	return 0;
}
