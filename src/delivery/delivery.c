/* delivery.c - the delivery engine: queue -> sessions -> outcomes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf.h"
#include "core/fmt.h"
#include "core/log.h"
#include "core/loop.h"
#include "core/mem.h"
#include "delivery/delivery.h"
#include "delivery/delivery_int.h"
#include "delivery/delivery_link.h"
#include "delivery/delivery_sched.h"
#include "oauth2/oauth2.h"
#include "oauth2/oauth2_keeper.h"
#include "queue/queue.h"
#include "rewrite/provider.h"
#include "rewrite/rewrite.h"
#include "smtpc/smtpc_session.h"
#include "tls/tls.h"

#define EXPIRE_EVERY_MS 60000

static int host_index(const struct nr_delivery *d, const struct dhost *h)
{
	size_t i;

	for (i = 0; i < d->nhosts; i++)
		if (d->host[i].port == h->port && strcmp(d->host[i].host, h->host) == 0)
			return (int)i;
	return -1;
}

/* ---- messages waiting on the smarthosts ---- */

/* Ids collected first and changed after: the queue is not modified while
 * it is being walked. */
struct id_walk {
	uint64_t now;
	size_t n;
	nr_qid_t id[256];
};

/* Deferred (flush, recovery). */
static int collect_deferred(void *arg, const struct nr_qinfo *info)
{
	struct id_walk *f = arg;

	if (info->state == NR_MSG_PENDING && info->next_attempt_ms != 0 && f->n < 256)
		f->id[f->n++] = info->id;
	return 0;
}

/* Due now and not in flight (a connection-level failure defers them). */
static int collect_due(void *arg, const struct nr_qinfo *info)
{
	struct id_walk *f = arg;

	if (info->state == NR_MSG_PENDING && !info->inflight && info->next_attempt_ms <= f->now &&
	    f->n < 256)
		f->id[f->n++] = info->id;
	return 0;
}

static int mail_waits(struct nr_delivery *d)
{
	struct nr_qstats st;

	nr_queue_stats(d->q, &st);
	return st.messages > 0;
}

/* A connection to a smarthost failed before it could carry a message
 * (DNS, TCP, TLS, greeting, EHLO, AUTH). When no smarthost is left to try,
 * every message that was due is deferred as if it had been tried, as
 * Postfix does: a status=deferred line per recipient (pflogsumm counts
 * them), the deferred counter, the reason and next try for mailq. relay
 * is "host[addr]:port", or NULL when no connection was made. */
static void defer_due(struct nr_delivery *d, const char *relay, const char *text)
{
	uint64_t now = nr_loop_now(d->loop), host_next, next;
	struct id_walk *f;
	struct nr_qinfo info;
	size_t i;

	host_next = nr_dsched_next_try_any(&d->sched, now);
	if (host_next <= now)
		return; /* another smarthost takes them now */
	f = nr_calloc(1, sizeof(*f));
	if (!f)
		return; /* they stay due: the next failure logs them */
	f->now = now;
	if (nr_queue_foreach(d->q, collect_due, f) == 0)
		for (i = 0; i < f->n; i++) {
			if (nr_queue_info(d->q, f->id[i], &info) != 0)
				continue;
			nr_dlv_log_deferred_msg(d, f->id[i], relay, text);
			/* Its own backoff, never before a smarthost can be tried
			 * (an AUTH hold); a probe may bring it forward. */
			next = now + nr_dsched_backoff(d->sched.retry_min_ms, d->sched.retry_max_ms,
						       info.attempts + 1, nr_dlv_random32());
			nr_queue_defer(d->q, f->id[i], NR_MAX(next, host_next), text);
		}
	nr_free(f);
}

/* Smarthost h answers again after failing: everything deferred goes now,
 * not at its next backoff step (up to retry's longest interval). */
static void host_recovered(struct nr_delivery *d, size_t h)
{
	struct id_walk *f;
	size_t i, n = 0;

	nr_dsched_host_ok(&d->sched, h);
	f = nr_calloc(1, sizeof(*f));
	if (f && nr_queue_foreach(d->q, collect_deferred, f) == 0)
		for (i = 0; i < f->n; i++)
			nr_queue_retry_now(d->q, f->id[i]);
	n = f ? f->n : 0;
	nr_free(f);
	nr_info("delivery: %s:%u answers again; %lu deferred message%s due now", d->host[h].host,
		d->host[h].port, (unsigned long)n, n == 1 ? "" : "s");
}

/* ---- session ops ---- */

static int op_write(void *o, const void *p, size_t n)
{
	struct dconn *dc = o;
	return dc->d->links->write(dc->link, p, n);
}

static size_t op_room(void *o)
{
	struct dconn *dc = o;
	return dc->d->links->room(dc->link);
}

static void op_start_tls(void *o)
{
	struct dconn *dc = o;
	dc->d->links->start_tls(dc->link);
}

static void op_arm_timer(void *o, uint64_t ms)
{
	struct dconn *dc = o;

	if (ms == 0) {
		nr_timer_cancel(dc->d->loop, &dc->timer);
		return;
	}
	if (nr_timer_arm(dc->d->loop, &dc->timer, ms) != 0)
		nr_warn("delivery: timer heap full");
}

static void on_timer(struct nr_loop *loop, void *arg)
{
	struct dconn *dc = arg;

	if (dc->s && !dc->dead)
		nr_smtpc_on_timeout(dc->s);
}

/* Apply one recipient's outcome to the queue. */
static void rcpt_outcome(struct dconn *dc, size_t i, int code, const char *text)
{
	struct nr_delivery *d = dc->d;
	enum nr_dsched_outcome o = nr_dsched_classify(code);
	int h = host_index(d, &dc->host);
	char id[17];

	nr_dlv_log_rcpt(dc, i, o, code, text);
	nr_dlv_count_outcome(dc->id, o, text);
	if (h >= 0 && o == NR_OUTCOME_DELIVERED)
		nr_dsched_note_ok(&d->sched, (size_t)h, nr_dlv_wall_now());
	else if (h >= 0)
		nr_dsched_note_error(&d->sched, (size_t)h, nr_dlv_wall_now(), text);
	if (d->observe)
		d->observe(d->observe_arg, dc->id, i, (int)o, text);
	if (o == NR_OUTCOME_DELIVERED) {
		dc->delivered_any = 1;
		if (nr_queue_mark_rcpt(d->q, dc->id, i, NR_RCPT_DELIVERED) != 0)
			nr_err("%s: cannot mark recipient delivered", nr_qid_str(dc->id, id));
	} else if (o == NR_OUTCOME_FAILED) {
		nr_dsched_digest_add(&d->digest, nr_qid_str(dc->id, id),
				     nr_dlv_report_sender(d, dc->id), dc->rcpt[i], text);
		if (nr_queue_mark_rcpt(d->q, dc->id, i, NR_RCPT_FAILED) != 0)
			nr_err("%s: cannot mark recipient failed", nr_qid_str(dc->id, id));
	} else {
		nr_dlv_copy_str(dc->last_error, sizeof(dc->last_error), text);
	}
}

static void op_rcpt_result(void *o, size_t i, int code, const char *text)
{
	struct dconn *dc = o;

	if (!dc->busy || i >= dc->msg.nrcpt)
		return;
	dc->own_result[i] = 1;
	rcpt_outcome(dc, i, code, text);
}

void nr_delivery_observe(struct nr_delivery *d, nr_delivery_observe_fn fn, void *arg)
{
	d->observe = fn;
	d->observe_arg = arg;
}

static void kick(struct nr_delivery *d)
{
	if (!d->stopping)
		nr_loop_at_turn_end(d->loop, &d->kick_hook);
}

static void op_msg_done(void *o, int code, const char *text)
{
	struct dconn *dc = o;
	struct nr_delivery *d = dc->d;
	struct nr_qinfo info;
	size_t i;
	int have_info, rc;

	if (!dc->busy)
		return;
	for (i = 0; i < dc->msg.nrcpt; i++)
		if (dc->rcpt[i] && !dc->own_result[i])
			rcpt_outcome(dc, i, code, text);
	nr_qreader_close(dc->reader);
	dc->reader = NULL;
	nr_free(dc->m);
	dc->m = NULL;
	/* A message whose recipients are all final leaves the index. */
	rc = nr_queue_info(d->q, dc->id, &info);
	have_info = rc == 0;
	if (rc == NR_ENOTFOUND || (have_info && info.state == NR_MSG_DONE)) {
		char id[17];
		nr_info("%s: removed", nr_qid_str(dc->id, id));
	} else if (have_info && info.state == NR_MSG_PENDING && info.npending > 0) {
		uint64_t delay = nr_dsched_backoff(d->sched.retry_min_ms, d->sched.retry_max_ms,
						   info.attempts + 1, nr_dlv_random32());
		nr_queue_defer(d->q, dc->id, nr_loop_now(d->loop) + delay,
			       dc->last_error[0] ? dc->last_error : text);
	}
	nr_queue_set_inflight(d->q, dc->id, 0);
	if (dc->delivered_any) {
		int h = host_index(d, &dc->host);
		if (h >= 0)
			nr_dsched_host_ok(&d->sched, (size_t)h);
	}
	dc->busy = 0;
	kick(d);
}

/* Give an idle session the oldest due message. 1 when one was sent. */
static int feed(struct dconn *dc)
{
	struct nr_delivery *d = dc->d;
	nr_qid_t id;
	size_t i;
	int rc;

	if (dc->ready && !dc->busy && !dc->dead) {
		if (nr_queue_next_due(d->q, nr_loop_now(d->loop), &id) != 0)
			return 0;
		memset(&dc->info, 0, sizeof(dc->info));
		if (nr_queue_info(d->q, id, &dc->info) != 0)
			return 0;
		nr_queue_set_inflight(d->q, id, 1);
		dc->id = id;
		dc->busy = 1;
		dc->delivered_any = 0;
		dc->last_error[0] = '\0';
		memset(dc->own_result, 0, sizeof(dc->own_result));
		rc = nr_queue_read_open(d->q, id, &dc->reader);
		if (rc != 0) {
			/* Deferred, so next_due moves on (no busy loop); a corrupt
			 * message is quarantined by the queue itself. */
			char text[96];
			snprintf(text, sizeof(text), "cannot read the queued message: %s",
				 nr_strerror(rc));
			nr_queue_defer(
			    d->q, id,
			    nr_loop_now(d->loop) +
				nr_dsched_backoff(d->sched.retry_min_ms, d->sched.retry_max_ms,
						  dc->info.attempts + 1, nr_dlv_random32()),
			    text);
			nr_queue_set_inflight(d->q, id, 0);
			dc->busy = 0;
			kick(d); /* the next one in the next turn: one message per turn */
			return 0;
		}
		/* The envelope sender upstream: a null sender stays null
		 * (reports must not bounce); else `sender`, else the smarthost
		 * account if it is an address, else the original (qualified). */
		if (nr_rewrite_sender(&d->rwc.rw, dc->host.user[0] ? dc->host.user : NULL,
				      nr_queue_sender(d->q, id), dc->sender,
				      sizeof(dc->sender)) != 0)
			nr_dlv_copy_str(dc->sender, sizeof(dc->sender), nr_queue_sender(d->q, id));
		memset(&dc->msg, 0, sizeof(dc->msg));
		dc->msg.nrcpt = NR_MIN(dc->info.nrcpt, (size_t)CONFIG_NR_MAX_RECIPIENTS);
		for (i = 0; i < dc->msg.nrcpt; i++) {
			enum nr_rcpt_state st = NR_RCPT_PENDING;
			const char *r = nr_queue_rcpt(d->q, id, i, &st);
			dc->rcpt[i] = st == NR_RCPT_PENDING ? r : NULL;
		}
		if (nr_dlv_prepare_msg(dc) != 0) {
			op_msg_done(dc, 0, "out of memory");
			return 0;
		}
		dc->msg.sender = dc->sender;
		dc->msg.rcpt = dc->m->wire;
		dc->msg.size = dc->info.body_size;
		if (dc->m->hdr_on) /* SIZE is an upper bound: room for From and Reply-To */
			dc->msg.size += NR_REWRITE_FIELD_MAX + NR_REWRITE_DISPLAY_MAX +
					2 * NR_REWRITE_ADDR_MAX + 64;
		dc->msg.eightbit = (dc->info.flags & NR_QENV_8BIT) != 0;
		dc->msg.read = nr_dlv_read_body;
		dc->msg.read_arg = dc;
		dc->ready = 0;
		dc->send_at = nr_loop_now(d->loop);
		rc = nr_smtpc_send(dc->s, &dc->msg);
		if (rc != 0) {
			op_msg_done(dc, 0, "internal error: session not ready");
			return 0;
		}
		/* A local failure (5.6.3, 5.3.4) finished it already. The next
		 * message waits for the next turn (op_msg_done kicked), so a
		 * queue full of them cannot keep the loop from other work. */
		if (!dc->busy && nr_smtpc_is_ready(dc->s)) {
			dc->ready = 1;
			return 0;
		}
		return 1;
	}
	return 0;
}

static void op_ready(void *o)
{
	struct dconn *dc = o;

	if (dc->opened_at) { /* the first READY: setup is over */
		int h = host_index(dc->d, &dc->host);
		dc->setup_ms = nr_loop_now(dc->d->loop) - dc->opened_at;
		dc->opened_at = 0;
		if (h >= 0 && dc->d->sched.host[h].state != NR_UPSTREAM_OK)
			host_recovered(dc->d, (size_t)h);
	} else {
		dc->setup_ms = 0; /* a reused connection costs no setup */
	}
	dc->ready = 1;
	if (host_index(dc->d, &dc->host) >= 0)
		dc->d->host[host_index(dc->d, &dc->host)].oauth2_retried = 0;
	feed(dc);
}

static void op_finished(void *o, enum nr_smtpc_end how, const char *text)
{
	struct dconn *dc = o;
	struct nr_delivery *d = dc->d;
	int h = host_index(d, &dc->host);

	if (dc->busy)
		op_msg_done(dc, 0, text);
	if (h >= 0) {
		if (how == NR_SMTPC_END_HOST || how == NR_SMTPC_END_AUTH)
			nr_dsched_note_error(&d->sched, (size_t)h, nr_dlv_wall_now(), text);
		if (how == NR_SMTPC_END_HOST) {
			nr_dsched_host_failed(&d->sched, (size_t)h, nr_loop_now(d->loop),
					      nr_dlv_random32(), text);
			nr_warn("delivery: %s:%u deferring: %s", dc->host.host, dc->host.port,
				text);
		} else if (how == NR_SMTPC_END_AUTH && d->oauth2 && dc->host.oauth2 &&
			   !d->host[h].oauth2_retried) {
			/* An expired or revoked access token: fetch another, once. */
			nr_warn("delivery: %s:%u refused the access token (%s); asking for a "
				"new one",
				dc->host.host, dc->host.port, text);
			d->host[h].oauth2_retried = 1;
			nr_oauth2_keeper_expire(d->oauth2, (size_t)h);
			nr_dsched_host_failed(&d->sched, (size_t)h, nr_loop_now(d->loop), 0, text);
			d->sched.host[h].hold_until = 0; /* at once, with a new token */
		} else if (how == NR_SMTPC_END_AUTH) {
			nr_dsched_host_auth_failed(&d->sched, (size_t)h, nr_loop_now(d->loop),
						   text);
			nr_err("delivery: %s:%u authentication failed, holding its queue for %s "
			       "minutes: %s",
			       dc->host.host, dc->host.port,
			       NR_U64(NR_DELIVERY_AUTH_HOLD_MS / 60000), text);
		}
		if (how == NR_SMTPC_END_HOST || how == NR_SMTPC_END_AUTH) {
			const char *relay = nr_dlv_relay_name(dc);
			defer_due(d, strstr(relay, "[?]") ? NULL : relay, text);
		}
	}
	dc->dead = 1;
	dc->ready = 0;
	kick(d);
}

static const struct nr_smtpc_ops session_ops = {
    op_write,       op_room,     op_start_tls, op_arm_timer,
    op_rcpt_result, op_msg_done, op_ready,     op_finished,
};

/* ---- connections ---- */

static void reap(struct nr_delivery *d, struct dconn *dc)
{
	int h = host_index(d, &dc->host);

	nr_timer_cancel(d->loop, &dc->timer);
	if (dc->link)
		d->links->close(dc->link);
	nr_smtpc_free(dc->s);
	if (h >= 0 && d->sched.host[h].connections > 0)
		d->sched.host[h].connections--;
	memset(dc, 0, sizeof(*dc));
}

static int read_secret(const struct dhost *h, char **out, size_t *len, int *is_token)
{
	const char *path = h->oauth_token_file[0] ? h->oauth_token_file : h->password_file;

	*out = NULL;
	*len = 0;
	*is_token = h->oauth_token_file[0] != 0 || h->oauth2;
#if NR_ENABLED(CONFIG_NR_OAUTH2)
	/* oauth2=: the access token kept in state_dir (see src/oauth2). */
	if (h->oauth2)
		return h->oauth2_store[0]
			   ? nr_oauth2_access_token(h->oauth2_store, (uint64_t)nr_dlv_wall_now(),
						    out, len)
			   : NR_ETOOBIG;
#endif
	if (!h->user[0] || !path[0])
		return 0;
	return nr_smtpc_secret_read(path, out, len);
}

/* FNV-1a of the file the secret comes from (0: none or unreadable). Only
 * compared with itself: a change of password, token or token store. */
static uint64_t secret_fingerprint(const struct dhost *h)
{
	const char *path = h->oauth2                ? h->oauth2_store
			   : h->oauth_token_file[0] ? h->oauth_token_file
						    : h->password_file;
	uint64_t sum = 14695981039346656037ull;
	char *text = NULL;
	size_t len = 0, i;

	if (!path[0] || nr_plat_file_read(path, 3 * 4096, &text, &len) != 0)
		return 0;
	for (i = 0; i < len; i++)
		sum = (sum ^ (unsigned char)text[i]) * 1099511628211ull;
	nr_smtpc_secret_free(text, len);
	return sum;
}

#define SECRET_CHECK_EVERY_MS 5000

static void retry_deferred_now(struct nr_delivery *d, const char *why);

/* An AUTH failure holds a host for an hour; a new password or token
 * written to its file is the fix, so it lifts the hold at once. Returns
 * the next time to look (UINT64_MAX: no host held for AUTH). */
static uint64_t lift_auth_holds(struct nr_delivery *d, uint64_t now)
{
	uint64_t next = UINT64_MAX, sum;
	size_t i;

	for (i = 0; i < d->nhosts && i < d->sched.nhosts; i++) {
		struct dhost *h = &d->host[i];
		struct nr_dsched_host *st = &d->sched.host[i];
		if (st->state != NR_UPSTREAM_AUTH_FAILED || st->hold_until <= now) {
			h->secret_sum_set = 0;
			continue;
		}
		if (h->secret_sum_set && now < h->secret_checked_at + SECRET_CHECK_EVERY_MS) {
			next = NR_MIN(next, h->secret_checked_at + SECRET_CHECK_EVERY_MS);
			continue;
		}
		sum = secret_fingerprint(h);
		h->secret_checked_at = now;
		if (h->secret_sum_set && sum != h->secret_sum) {
			st->hold_until = 0;
			h->secret_sum_set = 0;
			nr_info("delivery: %s:%u: its secret file changed; trying again", h->host,
				h->port);
			retry_deferred_now(d, "secret changed");
			continue;
		}
		h->secret_sum = sum;
		h->secret_sum_set = 1;
		next = NR_MIN(next, now + SECRET_CHECK_EVERY_MS);
	}
	return next;
}

#define OAUTH2_WAIT_MS 40000 /* longer than a token request may take */

static void oauth2_failed(struct nr_delivery *d, size_t h, int permanent, const char *text)
{
	/* A refused grant holds the host like a 535: a login (a new store)
	 * lifts it. Anything else is retried like a connection failure. */
	if (permanent)
		nr_dsched_host_auth_failed(&d->sched, h, nr_loop_now(d->loop), text);
	else
		nr_dsched_host_failed(&d->sched, h, nr_loop_now(d->loop), nr_dlv_random32(), text);
}

/* The keeper's answer (from the loop). */
static void on_oauth2(void *arg, size_t h, int err, int permanent, const char *text)
{
	struct nr_delivery *d = arg;

	if (h >= d->nhosts)
		return;
	if (err == 0)
		d->sched.host[h].hold_until = 0;
	else
		oauth2_failed(d, h, permanent, text);
	kick(d);
}

static void open_conn(struct nr_delivery *d, size_t h)
{
	struct dconn *dc = NULL;
	struct nr_smtpc_params p;
	struct nr_dlink_target t;
	char *secret = NULL, text[NR_UPSTREAM_ERROR_MAX];
	size_t i, slen = 0;
	int rc, token = 0;

	for (i = 0; i < MAX_DCONNS && !dc; i++)
		if (!d->conn[i].used)
			dc = &d->conn[i];
	if (!dc)
		return;
	if (d->oauth2 && d->host[h].oauth2) {
		int permanent;
		rc = nr_oauth2_keeper_want(d->oauth2, h, (uint64_t)nr_dlv_wall_now(), text,
					   &permanent);
		if (rc == NR_EAGAIN) { /* on_oauth2 lifts this at the answer */
			d->sched.host[h].hold_until = nr_loop_now(d->loop) + OAUTH2_WAIT_MS;
			return;
		}
		if (rc != 0) {
			oauth2_failed(d, h, permanent, text);
			return;
		}
	}
	dc->used = 1;
	dc->d = d;
	dc->host = d->host[h];
	nr_timer_init(&dc->timer, on_timer, dc);
	dc->opened_at = nr_loop_now(d->loop);
	d->sched.host[h].connections++;

	/* The secret is read at connect time (a refreshed token or a changed
	 * password takes effect without a reload) and never logged. */
	rc = read_secret(&dc->host, &secret, &slen, &token);
	if (rc != 0) {
		if (dc->host.oauth2)
			snprintf(text, sizeof(text), "OAuth2: %s",
				 rc == NR_EAUTH ? "no valid access token stored (none, or expired)"
				 : rc == NR_ENOTFOUND ? "no tokens stored yet"
						      : nr_strerror(rc));
		else
			snprintf(text, sizeof(text), "cannot read %s: %s",
				 dc->host.oauth_token_file[0] ? "oauth_token_file"
							      : "password_file",
				 nr_strerror(rc));
		goto fail;
	}
	memset(&p, 0, sizeof(p));
	p.helo = d->hostname;
	p.relay = dc->host.host;
	p.tls = dc->host.tls;
	p.insecure = dc->host.insecure;
	p.user = dc->host.user[0] ? dc->host.user : NULL;
	p.secret = secret;
	p.secret_is_token = token;
	p.auth_mech = dc->host.auth_mech[0] ? dc->host.auth_mech : NULL;
	p.max_wait_ms = d->upstream_timeout_ms;
	if (NR_ENABLED(CONFIG_NR_AUTH_CRAM_MD5))
		p.hmac_md5 = nr_tls_hmac_md5;
	rc = nr_smtpc_new(&dc->s, &p, &session_ops, dc);
	nr_smtpc_secret_free(secret, slen);
	if (rc != 0) {
		snprintf(text, sizeof(text), "cannot start a session: %s", nr_strerror(rc));
		goto fail;
	}
	memset(&t, 0, sizeof(t));
	t.host = dc->host.host;
	t.port = dc->host.port;
	t.tls = dc->host.tls;
	t.connect_timeout_ms = d->upstream_timeout_ms;
	rc = d->links->open(d->links_ctx, &dc->link, &t, dc->s);
	if (rc != 0) {
		snprintf(text, sizeof(text), "cannot open a connection: %s", nr_strerror(rc));
		goto fail;
	}
	return;
fail:
	nr_dsched_host_failed(&d->sched, h, nr_loop_now(d->loop), nr_dlv_random32(), text);
	nr_dsched_note_error(&d->sched, h, nr_dlv_wall_now(), text);
	nr_warn("delivery: %s:%u: %s", dc->host.host, dc->host.port, text);
	dc->link = NULL;
	reap(d, dc);
	defer_due(d, NULL, text);
}

/* ---- the scan ---- */

static void dispatch(struct nr_delivery *d)
{
	uint64_t now = nr_loop_now(d->loop), wake;
	nr_qid_t id;
	size_t i;
	int opening = 0;

	if (d->stopping)
		return;
	for (i = 0; i < MAX_DCONNS; i++)
		if (d->conn[i].used && d->conn[i].dead)
			reap(d, &d->conn[i]);

	if (!d->expired_once || now >= d->last_expire + EXPIRE_EVERY_MS) {
		d->expired_once = 1;
		d->last_expire = now;
		if (nr_dlv_wall_now() > 0)
			nr_queue_expire(d->q, nr_dlv_wall_now(), d->max_age_ms / 1000,
					nr_dlv_on_expire, d);
	}
	if (d->admin[0] && nr_dsched_digest_due(&d->digest, now))
		nr_dlv_send_digest(d, now);
	else if (!d->admin[0])
		nr_dsched_digest_sent(&d->digest, now); /* nowhere to send: the log has it */

	/* Idle sessions first (connection reuse), then new connections. */
	for (i = 0; i < MAX_DCONNS; i++)
		if (d->conn[i].used && !d->conn[i].dead && d->conn[i].ready)
			feed(&d->conn[i]);
	for (i = 0; i < MAX_DCONNS; i++)
		if (d->conn[i].used && !d->conn[i].dead && !d->conn[i].busy && !d->conn[i].ready)
			opening = 1; /* a session on its way to READY takes the next one */
	/* A host that can take another connection first: while all are
	 * failing or busy the queue is not searched at all. */
	if (!opening) {
		int h = nr_dsched_pick_host(&d->sched, now);
		if (h >= 0 && nr_queue_next_due(d->q, now, &id) == 0) {
			open_conn(d, (size_t)h);
		} else if ((h = nr_dsched_probe_host(&d->sched, now)) >= 0 && mail_waits(d)) {
			/* Held, but mail waits: does it answer again? */
			nr_debug("delivery: %s:%u: probing (mail is waiting)", d->host[h].host,
				 d->host[h].port);
			open_conn(d, (size_t)h);
		}
	}

	wake = nr_queue_next_wakeup(d->q);
	wake = NR_MIN(wake, lift_auth_holds(d, now));
	wake = NR_MIN(wake, nr_dsched_host_wakeup(&d->sched, now));
	wake = NR_MIN(wake, nr_dsched_probe_wakeup(&d->sched, now));
	wake = NR_MIN(wake, nr_dsched_digest_wakeup(&d->digest));
	wake = NR_MIN(wake, d->last_expire + EXPIRE_EVERY_MS);
	if (wake <= now)
		wake = now + 1000; /* due but blocked (hosts busy): look again soon */
	if (nr_timer_arm_at(d->loop, &d->wake, wake) != 0)
		nr_warn("delivery: timer heap full");
}

static void on_kick(struct nr_loop *loop, void *arg)
{
	dispatch(arg);
}

static void on_wake(struct nr_loop *loop, void *arg)
{
	dispatch(arg);
}

/* ---- configuration ---- */

static int check_conf(const struct nr_conf *conf)
{
	struct nr_rewrite rw;
	char err[160];
	size_t i;
	int rc;

	if (conf->smarthost_count == 0)
		return NR_EINVAL;
	for (i = 0; i < conf->smarthost_count; i++)
		if (conf->smarthost[i].tls == NR_TLS_NONE && !conf->smarthost[i].insecure)
			return NR_EINVAL; /* plaintext upstream only with insecure=yes */
	rc = nr_rewrite_init(&rw, conf, err, sizeof(err));
	if (rc != 0)
		nr_err("delivery: %s", err);
	return rc;
}

static void load_conf(struct nr_delivery *d, const struct nr_conf *conf)
{
	size_t i;

	d->nhosts = NR_MIN(conf->smarthost_count, (size_t)CONFIG_NR_MAX_SMARTHOSTS);
	for (i = 0; i < d->nhosts; i++) {
		const struct nr_conf_smarthost *s = &conf->smarthost[i];
		struct dhost *h = &d->host[i];
		memset(h, 0, sizeof(*h));
		nr_dlv_copy_str(h->host, sizeof(h->host), s->host);
		h->port = s->port;
		h->tls = s->tls;
		h->insecure = s->insecure;
		nr_dlv_copy_str(h->user, sizeof(h->user), s->user);
		nr_dlv_copy_str(h->password_file, sizeof(h->password_file), s->password_file);
		nr_dlv_copy_str(h->oauth_token_file, sizeof(h->oauth_token_file),
				s->oauth_token_file);
		nr_dlv_copy_str(h->auth_mech, sizeof(h->auth_mech), s->auth_mech);
		h->from_rewrite = nr_from_rewrite_for(conf, s);
#if NR_ENABLED(CONFIG_NR_OAUTH2)
		h->oauth2 = s->oauth2 != NULL;
		if (h->oauth2 && nr_oauth2_store_path(h->oauth2_store, sizeof(h->oauth2_store),
						      conf->state_dir ? conf->state_dir : ".",
						      s->host, s->port) != 0)
			h->oauth2_store[0] = '\0'; /* too long: the open says so */
#endif
	}
	nr_dlv_copy_str(d->admin, sizeof(d->admin), conf->admin);
	nr_dlv_copy_str(d->hostname, sizeof(d->hostname),
			conf->hostname ? conf->hostname : "localhost");
	d->max_age_ms = conf->max_age_ms;
	d->upstream_timeout_ms = conf->upstream_timeout_ms;
}

int nr_delivery_start_links(struct nr_delivery **out, struct nr_loop *loop,
			    const struct nr_conf *conf, struct nr_queue *q,
			    const struct nr_dlink_ops *links, void *links_ctx)
{
	struct nr_delivery *d;
	int rc;

	*out = NULL;
	d = nr_calloc(1, sizeof(*d));
	if (!d)
		return NR_ENOMEM;
	rc = check_conf(conf);
	if (rc == 0)
		rc = nr_dlv_build_rewrite(&d->rwc, conf);
	if (rc != 0) {
		nr_free(d);
		return rc;
	}
	load_conf(d, conf);
	d->loop = loop;
	d->q = q;
	rc = nr_oauth2_keeper_new(&d->oauth2, loop, conf, on_oauth2, d);
	if (rc != 0) /* its hosts defer, saying why, until a reload */
		nr_err("delivery: cannot start the OAuth2 client: %s", nr_strerror(rc));
	d->links = links;
	d->links_ctx = links_ctx;
	nr_dsched_init(&d->sched, d->nhosts, conf->retry_min_ms, conf->retry_max_ms,
		       conf->upstream_connections);
	nr_dsched_digest_init(&d->digest, NR_DELIVERY_DIGEST_INTERVAL_MS);
	d->kick_hook.fn = on_kick;
	d->kick_hook.arg = d;
	nr_timer_init(&d->wake, on_wake, d);
	*out = d;
	kick(d);
	return 0;
}

void nr_delivery_own_links(struct nr_delivery *d, void (*links_free)(void *links_ctx))
{
	d->links_free = links_free;
}

void nr_delivery_kick(struct nr_delivery *d)
{
	kick(d);
}

/* Every deferred message becomes due now. */
static void retry_deferred_now(struct nr_delivery *d, const char *why)
{
	struct id_walk f;
	size_t i;

	memset(&f, 0, sizeof(f));
	if (nr_queue_foreach(d->q, collect_deferred, &f) == 0)
		for (i = 0; i < f.n; i++)
			nr_queue_defer(d->q, f.id[i], 0, why);
	kick(d);
}

void nr_delivery_flush(struct nr_delivery *d)
{
	size_t i;

	for (i = 0; i < d->sched.nhosts; i++)
		d->sched.host[i].hold_until = 0;
	retry_deferred_now(d, "flushed");
}

int nr_delivery_reload(struct nr_delivery *d, const struct nr_conf *conf)
{
	struct nr_delivery_state {
		struct dhost host;
		struct nr_dsched_host st;
	} * old;
	struct rw_conf rwc;
	/* d->nhosts is never more; saying so keeps GCC -O3 from a false -Wstringop-overread */
	size_t i, j, n = NR_MIN(d->nhosts, (size_t)CONFIG_NR_MAX_SMARTHOSTS);
	int rc;

	rc = check_conf(conf); /* a bad configuration leaves d untouched */
	if (rc != 0)
		return rc;
	old = nr_calloc(CONFIG_NR_MAX_SMARTHOSTS, sizeof(*old));
	if (!old)
		return NR_ENOMEM;
	rc = nr_dlv_build_rewrite(&rwc, conf);
	/* Last of what can fail: the links read the CA file again. */
	if (rc == 0 && d->links->reload) {
		rc = d->links->reload(d->links_ctx, conf);
		if (rc != 0)
			nr_free(rwc.arena);
	}
	if (rc != 0) {
		nr_free(old);
		return rc;
	}
	/* Messages in flight hold their own rewritten addresses. */
	nr_free(d->rwc.arena);
	d->rwc = rwc;
	for (i = 0; i < n; i++) {
		old[i].host = d->host[i];
		old[i].st = d->sched.host[i];
	}
	load_conf(d, conf);
	/* Token requests in flight are dropped; the hosts waiting for them
	 * ask again when their wait runs out. */
	nr_oauth2_keeper_free(d->oauth2);
	d->oauth2 = NULL;
	if (nr_oauth2_keeper_new(&d->oauth2, d->loop, conf, on_oauth2, d) != 0)
		nr_err("delivery: cannot start the OAuth2 client");
	nr_dsched_init(&d->sched, d->nhosts, conf->retry_min_ms, conf->retry_max_ms,
		       conf->upstream_connections);
	for (i = 0; i < d->nhosts; i++)
		for (j = 0; j < n; j++)
			if (old[j].host.port == d->host[i].port &&
			    strcmp(old[j].host.host, d->host[i].host) == 0)
				d->sched.host[i] = old[j].st;
	nr_free(old);
	/* Idle connections close; busy ones finish with their own copies. */
	for (i = 0; i < MAX_DCONNS; i++)
		if (d->conn[i].used && !d->conn[i].dead)
			nr_smtpc_quit(d->conn[i].s);
	kick(d);
	return 0;
}

void nr_delivery_stop(struct nr_delivery *d)
{
	size_t i;

	if (!d)
		return;
	d->stopping = 1;
	for (i = 0; i < MAX_DCONNS; i++) {
		struct dconn *dc = &d->conn[i];
		if (!dc->used)
			continue;
		if (dc->busy) {
			nr_qreader_close(dc->reader);
			nr_free(dc->m);
			dc->m = NULL;
			nr_queue_set_inflight(d->q, dc->id, 0);
		}
		reap(d, dc);
	}
	nr_timer_cancel(d->loop, &d->wake);
	nr_loop_hook_cancel(d->loop, &d->kick_hook);
	nr_oauth2_keeper_free(d->oauth2);
	if (d->links_free)
		d->links_free(d->links_ctx);
	nr_free(d->rwc.arena);
	nr_free(d);
}

size_t nr_delivery_status(const struct nr_delivery *d, struct nr_upstream_status *out, size_t max)
{
	uint64_t now = nr_loop_now(d->loop);
	size_t i;

	for (i = 0; i < d->nhosts && i < max; i++) {
		const struct nr_dsched_host *h = &d->sched.host[i];
		memset(&out[i], 0, sizeof(out[i]));
		nr_dlv_copy_str(out[i].host, sizeof(out[i].host), d->host[i].host);
		out[i].port = d->host[i].port;
		out[i].state = h->state;
		out[i].connections = h->connections;
		out[i].failures = h->failures;
		out[i].retry_in_ms = nr_dsched_next_try(&d->sched, i, now) - now;
		out[i].last_error_at = h->last_error_at;
		out[i].last_ok_at = h->last_ok_at;
		nr_dlv_copy_str(out[i].last_error, sizeof(out[i].last_error), h->last_error);
	}
	return d->nhosts;
}
