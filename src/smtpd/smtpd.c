/* smtpd.c - listeners, the session pool and the public API of smtpd.h. */
#include <stdlib.h>
#include <string.h>

#include "conf/conf.h"
#include "core/conn.h"
#include "core/fmt.h"
#include "core/log.h"
#include "core/mem.h"
#include "smtpd/smtpd_int.h"

/* Accepts per readiness event and listener: a burst on one listener cannot
 * keep the loop from serving everyone else. */
#define ACCEPT_BURST 16
#define LISTEN_BACKLOG 64

/* ---- sessions refused at the door ---- */

static void refused_close(struct nr_conn *c, void *owner, int err)
{
	nr_conn_free(c);
}

static void refused_input(struct nr_conn *c, void *owner)
{
	nr_buf_reset(nr_conn_in(c));
}

static const struct nr_conn_ops refused_ops = {refused_input, NULL, refused_close, NULL};

static void refuse(struct nr_smtpd *d, nr_sock_t sock, const char *enh, const char *text)
{
	struct nr_conn *c;
	if (nr_conn_new(&c, d->loop, sock, 256, 256, &refused_ops, NULL) < 0) {
		nr_plat_sock_close(sock);
		return;
	}
	if (nr_reply_put(nr_conn_out(c), 421, enh, "%s %s", d->hostname, text) < 0) {
		nr_conn_free(c);
		return;
	}
	nr_conn_close_after_flush(c);
	nr_conn_flush(c);
}

/* ---- session list and release ---- */

static void reap(struct nr_loop *loop, void *arg)
{
	struct nr_smtpd *d = arg;
	while (d->dead) {
		struct smtpd_session *s = d->dead;
		d->dead = s->next_dead;
		nr_pool_put(&d->pool, s);
	}
}

void smtpd_session_unlink(struct nr_smtpd *d, struct smtpd_session *s)
{
	if (s->prev)
		s->prev->next = s->next;
	else
		d->sessions = s->next;
	if (s->next)
		s->next->prev = s->prev;
	d->nsessions--;
	s->next_dead = d->dead;
	d->dead = s;
	nr_loop_at_turn_end(d->loop, &d->reaper);
}

static int accept_session(struct nr_smtpd *d, nr_sock_t sock, const struct nr_addr *peer,
			  int listener, int trusted, long uid)
{
	struct nr_addr local;
	char ip[64];

	if (!peer) {
		memset(&local, 0, sizeof(local));
		local.family = NR_AF_LOCAL;
		peer = &local;
	}
	struct nr_addr counted = *peer;
	if (trusted)
		counted.family = NR_AF_LOCAL; /* only the total applies */
	int ret = nr_acl_session_open(&d->acl, &counted, nr_loop_now(d->loop));
	if (ret == NR_EFULL) {
		if (counted.family == NR_AF_LOCAL)
			nr_warn("smtpd: local: too many local sessions (max_local_sessions %u)",
				d->acl.local_sessions);
		else
			nr_warn("smtpd: %s: too many sessions (%u)",
				nr_addr_ntop(peer, ip, sizeof(ip)), d->acl.sessions);
		refuse(d, sock, "4.3.2", "Error: too many sessions, try again later");
		return NR_EFULL;
	}
	if (ret == NR_EBUSY) {
		nr_warn("smtpd: %s: too many sessions from this client",
			nr_addr_ntop(peer, ip, sizeof(ip)));
		refuse(d, sock, "4.7.0", "Error: too many connections from your address");
		return NR_EBUSY;
	}
	struct smtpd_session *s = nr_pool_get(&d->pool);
	if (!s) {
		nr_acl_session_close(&d->acl, &counted);
		refuse(d, sock, "4.3.2", "Error: too many sessions, try again later");
		return NR_EFULL;
	}
	s->id = ++d->next_id;
	s->acl_peer = counted;
	s->next = d->sessions;
	if (d->sessions)
		d->sessions->prev = s;
	d->sessions = s;
	d->nsessions++;
	ret = smtpd_session_start(d, s, sock, peer, listener, trusted, uid);
	if (ret < 0) {
		/* The session released its socket; count and slot go back. */
		s->flags |= SF_FREED;
		nr_acl_session_close(&d->acl, &counted);
		smtpd_session_unlink(d, s);
		return ret;
	}
	return 0;
}

int nr_smtpd_accept(struct nr_smtpd *d, nr_sock_t sock, const struct nr_addr *peer, int listener,
		    int trusted)
{
	return accept_session(d, sock, peer, listener, trusted, -1);
}

int nr_smtpd_accept_local(struct nr_smtpd *d, nr_sock_t sock, long uid)
{
	return accept_session(d, sock, NULL, -1, 1, uid < 0 ? -1 : uid);
}

/* ---- listeners ---- */

static void on_listener(struct nr_loop *loop, void *arg, unsigned events)
{
	struct smtpd_listener *l = arg;
	for (int i = 0; i < ACCEPT_BURST; i++) {
		nr_sock_t sock;
		struct nr_addr peer;
		int ret = nr_plat_tcp_accept(l->io.sock, &sock, &peer);
		if (ret == NR_EAGAIN)
			return;
		if (ret < 0) {
			nr_warn("smtpd: accept: %s", nr_strerror(ret));
			return;
		}
		(void)nr_smtpd_accept(l->d, sock, &peer, l->index, 0);
	}
}

static void close_listeners(struct nr_smtpd *d)
{
	for (size_t i = 0; i < d->nlisteners; i++) {
		nr_loop_del(d->loop, &d->listeners[i].io);
		nr_plat_sock_close(d->listeners[i].io.sock);
	}
	d->nlisteners = 0;
}

static int open_listeners(struct nr_smtpd *d, const struct nr_conf *conf)
{
	char ip[64];
	int ret = 0;

	if (conf->listen_count > NR_ARRAY_LEN(d->listeners)) {
		nr_err("smtpd: %lu listen lines, at most %d (CONFIG_NR_MAX_LISTENERS)",
		       (unsigned long)conf->listen_count, CONFIG_NR_MAX_LISTENERS);
		return NR_EINVAL;
	}
	for (size_t i = 0; i < conf->listen_count; i++) {
		const struct nr_conf_listen *cl = &conf->listen[i];
		struct smtpd_listener *l = &d->listeners[i];
		if (cl->tls != NR_TLS_NONE && !d->tls_fn) {
			nr_err("%s:%d: listen %s:%u tls=%s: no LAN TLS available",
			       conf->path ? conf->path : "config", cl->line,
			       nr_addr_ntop(&cl->addr, ip, sizeof(ip)), cl->addr.port,
			       cl->tls == NR_TLS_IMPLICIT ? "implicit" : "starttls");
			if (cl->tls == NR_TLS_IMPLICIT) {
				ret = NR_EINVAL;
				goto out;
			}
		}
		memset(l, 0, sizeof(*l));
		l->d = d;
		l->index = (int)i;
		l->addr = cl->addr;
		l->tls = cl->tls;
		ret = nr_plat_tcp_listen(&cl->addr, LISTEN_BACKLOG, &l->io.sock);
		if (ret < 0) {
			nr_err("%s:%d: cannot listen on %s port %u: %s",
			       conf->path ? conf->path : "config", cl->line,
			       nr_addr_ntop(&cl->addr, ip, sizeof(ip)), cl->addr.port,
			       nr_strerror(ret));
			goto out;
		}
		nr_io_init(&l->io, l->io.sock, NR_POLL_IN, on_listener, l);
		ret = nr_loop_add(d->loop, &l->io);
		if (ret < 0) {
			nr_plat_sock_close(l->io.sock);
			goto out;
		}
		d->nlisteners = i + 1;
	}
	return 0;
out:
	close_listeners(d);
	return ret;
}

static void apply_conf(struct nr_smtpd *d, const struct nr_conf *conf)
{
	d->conf = conf;
	d->hostname = conf->hostname && conf->hostname[0] ? conf->hostname : "localhost";
	unsigned total = conf->max_sessions ? conf->max_sessions : CONFIG_NR_MAX_SESSIONS;
	if (total > CONFIG_NR_MAX_SESSIONS)
		total = CONFIG_NR_MAX_SESSIONS;
	nr_acl_set_limits(&d->acl, total, conf->max_sessions_per_client);
	nr_acl_set_local_limit(&d->acl, conf->max_local_sessions);
	nr_acl_set_auth_limits(&d->acl, conf->auth_failures_per_user,
			       conf->auth_failures_per_client, conf->auth_max_per_second);
}

int nr_smtpd_start(struct nr_smtpd **out, struct nr_loop *loop, const struct nr_conf *conf,
		   struct nr_queue *q, struct nr_tls_ctx *tls)
{
	int ret = NR_ENOMEM;
	struct nr_smtpd *d = nr_calloc(1, sizeof(*d));

	*out = NULL;
	if (!d)
		return NR_ENOMEM;
	d->loop = loop;
	d->queue = q;
	d->tls_ctx = tls;
	if (tls && smtpd_default_tls) {
		d->tls_fn = smtpd_default_tls;
		d->tls_arg = tls;
	}
	d->reaper.fn = reap;
	d->reaper.arg = d;
	d->auth_hook.fn = smtpd_auth_run;
	d->auth_hook.arg = d;
	d->auth_wait_tail = &d->auth_wait;
	ret = nr_acl_init(&d->acl, CONFIG_NR_MAX_SESSIONS + 64, CONFIG_NR_MAX_SESSIONS,
			  CONFIG_NR_MAX_SESSIONS_PER_CLIENT);
	if (ret < 0)
		goto out;
	apply_conf(d, conf);
	/* local sessions have slots of their own (max_local_sessions) */
	ret = nr_pool_init(&d->pool, "smtpd", sizeof(struct smtpd_session),
			   CONFIG_NR_MAX_SESSIONS + CONFIG_NR_MAX_LOCAL_SESSIONS);
	if (ret < 0)
		goto out;
	ret = open_listeners(d, conf);
	if (ret < 0)
		goto out;
	*out = d;
	d = NULL;
out:
	if (d) {
		nr_pool_destroy(&d->pool);
		nr_acl_free(&d->acl);
		nr_free(d);
	}
	return ret;
}

static int listen_changed(const struct nr_smtpd *d, const struct nr_conf *conf)
{
	if (conf->listen_count != d->nlisteners)
		return 1;
	for (size_t i = 0; i < conf->listen_count; i++) {
		if (!nr_addr_same(&conf->listen[i].addr, &d->listeners[i].addr) ||
		    conf->listen[i].tls != d->listeners[i].tls)
			return 1;
	}
	return 0;
}

int nr_smtpd_reload(struct nr_smtpd *d, const struct nr_conf *conf)
{
	if (listen_changed(d, conf)) {
		close_listeners(d);
		int ret = open_listeners(d, conf);
		if (ret < 0) {
			nr_err("smtpd: reload: listeners failed (%s); keeping the old ones",
			       nr_strerror(ret));
			if (open_listeners(d, d->conf) < 0)
				nr_err("smtpd: reload: the old listeners failed too");
			return ret;
		}
	}
	apply_conf(d, conf);
	return 0;
}

void nr_smtpd_stop(struct nr_smtpd *d)
{
	if (!d)
		return;
	close_listeners(d);
	while (d->sessions) {
		struct smtpd_session *s = d->sessions;
		smtpd_session_stop(s);
		if (d->sessions == s) {
			/* A commit is in flight: the queue calls back later.
			 * Keep the session memory alive (leaked with it). */
			nr_warn("smtpd: stop with a commit in flight");
			d->sessions = s->next;
			return;
		}
	}
	nr_loop_hook_cancel(d->loop, &d->reaper);
	nr_loop_hook_cancel(d->loop, &d->auth_hook);
	reap(d->loop, d);
	nr_pool_destroy(&d->pool);
	nr_acl_free(&d->acl);
	nr_free(d);
}

void nr_smtpd_set_auth(struct nr_smtpd *d, nr_smtpd_auth_fn fn, void *arg)
{
	d->auth_fn = fn;
	d->auth_arg = arg;
}

void nr_smtpd_set_tls(struct nr_smtpd *d, nr_smtpd_tls_fn fn, void *arg)
{
	d->tls_fn = fn;
	d->tls_arg = arg;
}

void nr_smtpd_set_tls_ctx(struct nr_smtpd *d, struct nr_tls_ctx *ctx)
{
	d->tls_ctx = ctx;
	if (d->tls_fn && d->tls_fn == smtpd_default_tls)
		d->tls_arg = ctx;
}

size_t nr_smtpd_sessions(const struct nr_smtpd *d)
{
	return d->nsessions;
}
