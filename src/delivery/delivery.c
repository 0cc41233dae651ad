/* delivery.c - the delivery engine: queue -> sessions -> outcomes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf.h"
#include "core/log.h"
#include "core/loop.h"
#include "core/stats.h"
#include "delivery/delivery.h"
#include "delivery/delivery_link.h"
#include "delivery/delivery_sched.h"
#include "proto/proto.h"
#include "queue/queue.h"
#include "rewrite/rewrite.h"
#include "smtpc/smtpc_session.h"
#include "tls/tls.h"

#define STR_MAX 256
#define DIGEST_SIZE (NR_DELIVERY_DIGEST_MAX * 640 + 2048)
#define EXPIRE_EVERY_MS 60000

struct dhost {
	char host[128];
	uint16_t port;
	enum nr_tls_mode tls;
	int insecure;
	char user[STR_MAX];
	char password_file[STR_MAX];
	char oauth_token_file[STR_MAX];
	char auth_mech[16];
};

/* What a message in flight needs from the rewrite settings: the addresses
 * that go on the wire and the header From filter. One allocation per
 * message; it holds no pointer into the configuration, so a reload never
 * pulls anything from under a transaction. */
#define DMSG_IN 256
#define DMSG_OUT 8192 /* one feed of DMSG_IN bytes emits well under this */

struct dmsg {
	struct nr_rewrite rw; /* from_rewrite only, for the filter */
	struct nr_rewrite_hdr hdr;
	int hdr_on; /* the header block is still going through the filter */
	int eof;
	size_t ipos, ilen, opos, olen;
	uint8_t in[DMSG_IN];
	uint8_t out[DMSG_OUT];
	const char *wire[CONFIG_NR_MAX_RECIPIENTS];
	char addr[][NR_REWRITE_ADDR_MAX + 1];
};

/* The rewrite settings, copied out of the configuration into one
 * allocation (strings and alias table): rw points only into arena. A
 * reload builds a new one before it frees the old. */
struct rw_conf {
	void *arena;
	struct nr_rewrite rw;
};

/* One upstream connection and the message it carries. */
struct dconn {
	struct nr_delivery *d;
	int used;
	int dead;          /* finished: reaped at the end of the turn */
	int ready;         /* READY and idle */
	struct dhost host; /* its own copy: survives a reload */
	struct nr_smtpc *s;
	struct nr_dlink *link;
	struct nr_timer timer;
	uint64_t opened_at; /* loop ms: open_conn */
	uint64_t setup_ms;  /* open to first READY; 0 once a message used it */
	uint64_t send_at;   /* loop ms: the message in flight was handed over */

	/* the message in flight */
	int busy;
	nr_qid_t id;
	struct nr_qinfo info;
	struct nr_qreader *reader;
	struct nr_smtpc_msg msg;
	char sender[STR_MAX];
	const char *rcpt[CONFIG_NR_MAX_RECIPIENTS]; /* as queued: logs, digest */
	struct dmsg *m;                             /* rewritten addresses, filter */
	uint8_t own_result[CONFIG_NR_MAX_RECIPIENTS];
	int delivered_any;
	char last_error[NR_UPSTREAM_ERROR_MAX];
};

#define MAX_DCONNS (CONFIG_NR_MAX_SMARTHOSTS * CONFIG_NR_MAX_UPSTREAM_CONNECTIONS)

struct nr_delivery {
	struct nr_loop *loop;
	struct nr_queue *q;
	const struct nr_dlink_ops *links;
	void *links_ctx;
	void (*links_free)(void *links_ctx); /* NULL: links_ctx is borrowed */

	size_t nhosts;
	struct dhost host[CONFIG_NR_MAX_SMARTHOSTS];
	char admin[STR_MAX];
	char hostname[128];
	uint64_t max_age_ms;
	uint64_t upstream_timeout_ms;
	struct rw_conf rwc;

	struct nr_dsched sched;
	struct nr_dsched_digest digest;
	uint64_t last_expire;
	int expired_once;

	struct dconn conn[MAX_DCONNS];
	struct nr_hook kick_hook;
	struct nr_timer wake;
	int stopping;
	nr_delivery_observe_fn observe;
	void *observe_arg;
};

static void copy_str(char *dst, size_t size, const char *src)
{
	snprintf(dst, size, "%s", src ? src : "");
}

static uint32_t random32(void)
{
	uint32_t r = 0;

	if (nr_plat_entropy(&r, sizeof(r)) != 0)
		r = (uint32_t)nr_plat_now_ms() * 2654435761u; /* jitter only, not a secret */
	return r;
}

static int64_t wall_now(void)
{
	int64_t t = 0;

	if (nr_plat_wall_time(&t) != 0)
		t = 0;
	return t;
}

static int host_index(const struct nr_delivery *d, const struct dhost *h)
{
	size_t i;

	for (i = 0; i < d->nhosts; i++)
		if (d->host[i].port == h->port && strcmp(d->host[i].host, h->host) == 0)
			return (int)i;
	return -1;
}

static const char *relay_name(const struct dconn *dc)
{
	return dc->link ? dc->d->links->peer(dc->link) : "none";
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

/* Seconds with one decimal, for delays=. */
static void secs(char *dst, size_t size, uint64_t ms)
{
	snprintf(dst, size, "%llu.%llu", (unsigned long long)(ms / 1000),
		 (unsigned long long)(ms % 1000 / 100));
}

/* delays=a/b/c/d as Postfix means them: a before the queue (not measured
 * here: 0), b waiting in the queue, c connection setup (DNS, TCP, TLS,
 * EHLO, AUTH; 0 on a reused connection), d transmission. */
static void format_delays(const struct dconn *dc, uint64_t delay_s, char *dst, size_t size)
{
	uint64_t now = nr_loop_now(dc->d->loop);
	uint64_t c = dc->setup_ms, d = now > dc->send_at ? now - dc->send_at : 0;
	uint64_t total = delay_s * 1000, b = total > c + d ? total - c - d : 0;
	char bs[24], cs[24], ds[24];

	secs(bs, sizeof(bs), b);
	secs(cs, sizeof(cs), c);
	secs(ds, sizeof(ds), d);
	snprintf(dst, size, "0/%s/%s/%s", bs, cs, ds);
}

static void log_rcpt(struct dconn *dc, size_t i, enum nr_dsched_outcome o, int code,
		     const char *text)
{
	char line[640], id[17], delays[80];
	int64_t now = wall_now();
	struct nr_dsched_status st;

	memset(&st, 0, sizeof(st));
	st.id = nr_qid_str(dc->id, id);
	st.orig_to = dc->rcpt[i];
	st.to = dc->m && dc->m->wire[i] ? dc->m->wire[i] : dc->rcpt[i];
	st.relay = relay_name(dc);
	if (strstr(st.relay, "[?]"))
		st.relay = NULL; /* never connected: Postfix says relay=none */
	st.delay_s = now > dc->info.arrival ? (uint64_t)(now - dc->info.arrival) : 0;
	format_delays(dc, st.delay_s, delays, sizeof(delays));
	st.delays = delays;
	st.outcome = o;
	st.code = code;
	st.text = text;
	/* Postfix logs every outcome at info: log tools read them all alike. */
	nr_info("%s", nr_dsched_format_status(line, sizeof(line), &st));
}

/* Counters and the recent-outcome ring behind `status` and `send-test`. */
static void count_outcome(nr_qid_t id, enum nr_dsched_outcome o, const char *text)
{
	if (o == NR_OUTCOME_DELIVERED) {
		nr_stats_inc(NR_STAT_DELIVERED);
		nr_stats_note_outcome(id, NR_OUTCOME_KIND_DELIVERED, text);
	} else if (o == NR_OUTCOME_FAILED) {
		nr_stats_inc(NR_STAT_FAILED);
		nr_stats_note_outcome(id, NR_OUTCOME_KIND_FAILED, text);
	} else {
		nr_stats_inc(NR_STAT_DEFERRED);
	}
}

/* Apply one recipient's outcome to the queue. */
static void rcpt_outcome(struct dconn *dc, size_t i, int code, const char *text)
{
	struct nr_delivery *d = dc->d;
	enum nr_dsched_outcome o = nr_dsched_classify(code);
	char id[17];

	log_rcpt(dc, i, o, code, text);
	count_outcome(dc->id, o, text);
	if (d->observe)
		d->observe(d->observe_arg, dc->id, i, (int)o, text);
	if (o == NR_OUTCOME_DELIVERED) {
		dc->delivered_any = 1;
		if (nr_queue_mark_rcpt(d->q, dc->id, i, NR_RCPT_DELIVERED) != 0)
			nr_err("%s: cannot mark recipient delivered", nr_qid_str(dc->id, id));
	} else if (o == NR_OUTCOME_FAILED) {
		nr_dsched_digest_add(&d->digest, nr_qid_str(dc->id, id),
				     nr_queue_sender(d->q, dc->id), dc->rcpt[i], text);
		if (nr_queue_mark_rcpt(d->q, dc->id, i, NR_RCPT_FAILED) != 0)
			nr_err("%s: cannot mark recipient failed", nr_qid_str(dc->id, id));
	} else {
		copy_str(dc->last_error, sizeof(dc->last_error), text);
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
	free(dc->m);
	dc->m = NULL;
	/* A message whose recipients are all final leaves the index. */
	rc = nr_queue_info(d->q, dc->id, &info);
	have_info = rc == 0;
	if (rc == NR_ENOTFOUND || (have_info && info.state == NR_MSG_DONE)) {
		char id[17];
		nr_info("%s: removed", nr_qid_str(dc->id, id));
	} else if (have_info && info.state == NR_MSG_PENDING && info.npending > 0) {
		uint64_t delay = nr_dsched_backoff(d->sched.retry_min_ms, d->sched.retry_max_ms,
						   info.attempts + 1, random32());
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

static int hdr_emit(void *arg, const void *data, size_t len)
{
	struct dmsg *m = arg;

	if (len > sizeof(m->out) - m->olen)
		return NR_EFULL; /* cannot happen: see DMSG_OUT */
	memcpy(m->out + m->olen, data, len);
	m->olen += len;
	return 0;
}

/* The body as the session reads it: the header block through the From
 * filter when it is on, the rest straight from the queue. The session
 * dot-stuffs what this returns, so stuffing stays the last step. */
static long read_body(void *arg, void *buf, size_t len)
{
	struct dconn *dc = arg;
	struct dmsg *m = dc->m;
	size_t n, used;
	long got;
	int rc;

	if (!m)
		return nr_qreader_read(dc->reader, buf, len);
	for (;;) {
		if (m->opos < m->olen) {
			n = NR_MIN(len, m->olen - m->opos);
			memcpy(buf, m->out + m->opos, n);
			m->opos += n;
			if (m->opos == m->olen)
				m->opos = m->olen = 0;
			return (long)n;
		}
		if (!m->hdr_on && m->ipos < m->ilen) {
			n = NR_MIN(len, m->ilen - m->ipos); /* body after the blank line */
			memcpy(buf, m->in + m->ipos, n);
			m->ipos += n;
			return (long)n;
		}
		if (m->eof)
			return 0;
		if (!m->hdr_on)
			return nr_qreader_read(dc->reader, buf, len);
		if (m->ipos == m->ilen) {
			got = nr_qreader_read(dc->reader, m->in, sizeof(m->in));
			if (got < 0)
				return got;
			m->ipos = 0;
			m->ilen = (size_t)got;
			if (got == 0) {
				/* A message that is all header. */
				m->hdr_on = 0;
				m->eof = 1;
				rc = nr_rewrite_hdr_finish(&m->hdr);
				if (rc < 0)
					return rc;
				continue;
			}
		}
		rc = nr_rewrite_hdr_feed(&m->hdr, m->in + m->ipos, m->ilen - m->ipos, &used);
		if (rc < 0)
			return rc;
		m->ipos += used;
		if (rc == 1)
			m->hdr_on = 0;
	}
}

/* The rewritten recipients (queue indices unchanged: only the wire address
 * differs) and the header filter for one message. NR_ENOMEM. */
static int prepare_msg(struct dconn *dc)
{
	const struct nr_rewrite *rw = &dc->d->rwc.rw;
	struct dmsg *m;
	size_t i;

	m = calloc(1, sizeof(*m) + dc->msg.nrcpt * sizeof(m->addr[0]));
	if (!m)
		return NR_ENOMEM;
	for (i = 0; i < dc->msg.nrcpt; i++) {
		if (!dc->rcpt[i])
			continue;
		/* An address the module does not handle (a quoted local part)
		 * goes as queued; the session checks it before it is sent. */
		if (nr_rewrite_recipient(rw, dc->rcpt[i], m->addr[i], sizeof(m->addr[i])) == 0)
			m->wire[i] = m->addr[i];
		else
			m->wire[i] = dc->rcpt[i];
	}
	memset(&m->rw, 0, sizeof(m->rw));
	m->rw.from_rewrite = rw->from_rewrite;
	/* A null sender (a bounce) has no address to put in From: as is. */
	if (m->rw.from_rewrite && dc->sender[0] &&
	    nr_rewrite_hdr_init(&m->hdr, &m->rw, dc->sender, hdr_emit, m) == 0)
		m->hdr_on = 1;
	dc->m = m;
	return 0;
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
			nr_queue_defer(d->q, id,
				       nr_loop_now(d->loop) +
					   nr_dsched_backoff(d->sched.retry_min_ms,
							     d->sched.retry_max_ms,
							     dc->info.attempts + 1, random32()),
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
			copy_str(dc->sender, sizeof(dc->sender), nr_queue_sender(d->q, id));
		memset(&dc->msg, 0, sizeof(dc->msg));
		dc->msg.nrcpt = NR_MIN(dc->info.nrcpt, (size_t)CONFIG_NR_MAX_RECIPIENTS);
		for (i = 0; i < dc->msg.nrcpt; i++) {
			enum nr_rcpt_state st = NR_RCPT_PENDING;
			const char *r = nr_queue_rcpt(d->q, id, i, &st);
			dc->rcpt[i] = st == NR_RCPT_PENDING ? r : NULL;
		}
		if (prepare_msg(dc) != 0) {
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
		dc->msg.read = read_body;
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
		dc->setup_ms = nr_loop_now(dc->d->loop) - dc->opened_at;
		dc->opened_at = 0;
	} else {
		dc->setup_ms = 0; /* a reused connection costs no setup */
	}
	dc->ready = 1;
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
		if (how == NR_SMTPC_END_HOST) {
			nr_dsched_host_failed(&d->sched, (size_t)h, nr_loop_now(d->loop),
					      random32(), text);
			nr_warn("delivery: %s:%u deferring: %s", dc->host.host, dc->host.port,
				text);
		} else if (how == NR_SMTPC_END_AUTH) {
			nr_dsched_host_auth_failed(&d->sched, (size_t)h, nr_loop_now(d->loop),
						   text);
			nr_err("delivery: %s:%u authentication failed, holding its queue for %llu "
			       "minutes: %s",
			       dc->host.host, dc->host.port,
			       (unsigned long long)(NR_DELIVERY_AUTH_HOLD_MS / 60000), text);
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
	*is_token = h->oauth_token_file[0] != 0;
	if (!h->user[0] || !path[0])
		return 0;
	return nr_smtpc_secret_read(path, out, len);
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
		snprintf(text, sizeof(text), "cannot read %s: %s",
			 dc->host.oauth_token_file[0] ? "oauth_token_file" : "password_file",
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
	nr_dsched_host_failed(&d->sched, h, nr_loop_now(d->loop), random32(), text);
	nr_warn("delivery: %s:%u: %s", dc->host.host, dc->host.port, text);
	dc->link = NULL;
	reap(d, dc);
}

/* ---- the scan ---- */

static void on_expire(void *arg, nr_qid_t id)
{
	struct nr_delivery *d = arg;
	struct nr_qinfo info;
	char idstr[17], reason[NR_UPSTREAM_ERROR_MAX + 64], line[640];
	const char *sender = nr_queue_sender(d->q, id);
	struct nr_dsched_status ls;
	size_t i;

	memset(&info, 0, sizeof(info));
	if (nr_queue_info(d->q, id, &info) != 0)
		return;
	snprintf(reason, sizeof(reason), "message expired after %llu days in the queue%s%s",
		 (unsigned long long)(d->max_age_ms / 86400000), info.last_error[0] ? ": " : "",
		 info.last_error);
	nr_qid_str(id, idstr);
	for (i = 0; i < info.nrcpt; i++) {
		enum nr_rcpt_state st = NR_RCPT_PENDING;
		const char *r = nr_queue_rcpt(d->q, id, i, &st);
		if (st != NR_RCPT_PENDING)
			continue;
		memset(&ls, 0, sizeof(ls));
		ls.id = idstr;
		ls.to = r;
		ls.delay_s = (uint64_t)(wall_now() - info.arrival);
		ls.outcome = NR_OUTCOME_FAILED;
		ls.text = reason;
		nr_info("%s", nr_dsched_format_status(line, sizeof(line), &ls));
		nr_dsched_digest_add(&d->digest, idstr, sender, r, reason);
	}
	nr_info("%s: removed (expired; kept as a dead letter)", idstr);
}

static void digest_committed(void *arg, int result, nr_qid_t id)
{
	char idstr[17];

	if (result == 0)
		nr_info("%s: failure digest queued for the admin", nr_qid_str(id, idstr));
	else
		nr_err("failure digest could not be stored: %s", nr_strerror(result));
}

static void send_digest(struct nr_delivery *d, uint64_t now)
{
	const char *rcpts[1] = {d->admin};
	struct nr_qenvelope env;
	struct nr_qwriter *w = NULL;
	char date[64], *buf;
	long n;
	int rc;

	/* Whatever happens, the next try waits a whole interval: no storm. */
	buf = malloc(DIGEST_SIZE);
	if (!buf) {
		d->digest.last_sent = now;
		return;
	}
	n = nr_dsched_digest_render(&d->digest, buf, DIGEST_SIZE, d->hostname, d->admin,
				    nr_date_rfc5322(date, sizeof(date), wall_now()), random32());
	memset(&env, 0, sizeof(env));
	env.sender = ""; /* null sender: a failing digest is never reported */
	env.rcpts = rcpts;
	env.nrcpt = 1;
	env.arrival = wall_now();
	env.client = "local";
	rc = n < 0 ? (int)n : nr_queue_begin(d->q, &env, (uint64_t)n, &w);
	if (rc == 0)
		rc = nr_queue_append(w, buf, (size_t)n);
	if (rc == 0) {
		rc = nr_queue_commit(w, digest_committed, d);
		w = NULL;
	}
	nr_queue_abort(w);
	free(buf);
	if (rc != 0) {
		nr_err("failure digest not queued: %s", nr_strerror(rc));
		d->digest.last_sent = now;
		d->digest.sent_any = 1;
		return;
	}
	nr_dsched_digest_sent(&d->digest, now);
}

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
		if (wall_now() > 0)
			nr_queue_expire(d->q, wall_now(), d->max_age_ms / 1000, on_expire, d);
	}
	if (d->admin[0] && nr_dsched_digest_due(&d->digest, now))
		send_digest(d, now);
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
		if (h >= 0 && nr_queue_next_due(d->q, now, &id) == 0)
			open_conn(d, (size_t)h);
	}

	wake = nr_queue_next_wakeup(d->q);
	wake = NR_MIN(wake, nr_dsched_host_wakeup(&d->sched, now));
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

static char *arena_str(char **at, const char *src)
{
	char *dst = *at;
	size_t n = strlen(src) + 1;

	memcpy(dst, src, n);
	*at += n;
	return dst;
}

static size_t str_size(const char *s)
{
	return s ? strlen(s) + 1 : 0;
}

/* Copy the rewrite settings of conf (accepted by check_conf()) into out.
 * NR_ENOMEM. */
static int build_rewrite(struct rw_conf *out, const struct nr_conf *conf)
{
	struct nr_conf shadow;
	struct nr_conf_alias *alias;
	char err[160], *at;
	size_t i, size;
	int rc;

	memset(out, 0, sizeof(*out));
	size =
	    conf->alias_count * sizeof(*alias) + str_size(conf->hostname) + str_size(conf->sender);
	for (i = 0; i < conf->alias_count; i++)
		size += str_size(conf->alias[i].from) + str_size(conf->alias[i].to);
	out->arena = malloc(size ? size : 1);
	if (!out->arena)
		return NR_ENOMEM;
	alias = out->arena; /* the table first: malloc alignment */
	at = (char *)(alias + conf->alias_count);
	memset(&shadow, 0, sizeof(shadow));
	shadow.hostname = conf->hostname ? arena_str(&at, conf->hostname) : NULL;
	shadow.sender = conf->sender ? arena_str(&at, conf->sender) : NULL;
	shadow.from_rewrite = conf->from_rewrite;
	for (i = 0; i < conf->alias_count; i++) {
		memset(&alias[i], 0, sizeof(alias[i]));
		alias[i].from = conf->alias[i].from ? arena_str(&at, conf->alias[i].from) : NULL;
		alias[i].to = conf->alias[i].to ? arena_str(&at, conf->alias[i].to) : NULL;
		alias[i].line = conf->alias[i].line;
	}
	shadow.alias = conf->alias_count ? alias : NULL;
	shadow.alias_count = conf->alias_count;
	rc = nr_rewrite_init(&out->rw, &shadow, err, sizeof(err));
	if (rc != 0) { /* not reached: check_conf() accepted the same settings */
		nr_err("delivery: %s", err);
		free(out->arena);
		memset(out, 0, sizeof(*out));
	}
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
		copy_str(h->host, sizeof(h->host), s->host);
		h->port = s->port;
		h->tls = s->tls;
		h->insecure = s->insecure;
		copy_str(h->user, sizeof(h->user), s->user);
		copy_str(h->password_file, sizeof(h->password_file), s->password_file);
		copy_str(h->oauth_token_file, sizeof(h->oauth_token_file), s->oauth_token_file);
		copy_str(h->auth_mech, sizeof(h->auth_mech), s->auth_mech);
	}
	copy_str(d->admin, sizeof(d->admin), conf->admin);
	copy_str(d->hostname, sizeof(d->hostname), conf->hostname ? conf->hostname : "localhost");
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
	d = calloc(1, sizeof(*d));
	if (!d)
		return NR_ENOMEM;
	rc = check_conf(conf);
	if (rc == 0)
		rc = build_rewrite(&d->rwc, conf);
	if (rc != 0) {
		free(d);
		return rc;
	}
	load_conf(d, conf);
	d->loop = loop;
	d->q = q;
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

struct flush_ids {
	size_t n;
	nr_qid_t id[256];
};

static int collect_deferred(void *arg, const struct nr_qinfo *info)
{
	struct flush_ids *f = arg;

	if (info->state == NR_MSG_PENDING && info->next_attempt_ms != 0 && f->n < 256)
		f->id[f->n++] = info->id;
	return 0;
}

void nr_delivery_flush(struct nr_delivery *d)
{
	size_t i;

	struct flush_ids f;

	for (i = 0; i < d->sched.nhosts; i++)
		d->sched.host[i].hold_until = 0;
	/* Collect first, then change: the queue is not modified while it is
	 * being walked. */
	memset(&f, 0, sizeof(f));
	if (nr_queue_foreach(d->q, collect_deferred, &f) == 0)
		for (i = 0; i < f.n; i++)
			nr_queue_defer(d->q, f.id[i], 0, "flushed");
	kick(d);
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
	old = calloc(CONFIG_NR_MAX_SMARTHOSTS, sizeof(*old));
	if (!old)
		return NR_ENOMEM;
	rc = build_rewrite(&rwc, conf);
	/* Last of what can fail: the links read the CA file again. */
	if (rc == 0 && d->links->reload) {
		rc = d->links->reload(d->links_ctx, conf);
		if (rc != 0)
			free(rwc.arena);
	}
	if (rc != 0) {
		free(old);
		return rc;
	}
	/* Messages in flight hold their own rewritten addresses. */
	free(d->rwc.arena);
	d->rwc = rwc;
	for (i = 0; i < n; i++) {
		old[i].host = d->host[i];
		old[i].st = d->sched.host[i];
	}
	load_conf(d, conf);
	nr_dsched_init(&d->sched, d->nhosts, conf->retry_min_ms, conf->retry_max_ms,
		       conf->upstream_connections);
	for (i = 0; i < d->nhosts; i++)
		for (j = 0; j < n; j++)
			if (old[j].host.port == d->host[i].port &&
			    strcmp(old[j].host.host, d->host[i].host) == 0)
				d->sched.host[i] = old[j].st;
	free(old);
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
			free(dc->m);
			dc->m = NULL;
			nr_queue_set_inflight(d->q, dc->id, 0);
		}
		reap(d, dc);
	}
	nr_timer_cancel(d->loop, &d->wake);
	nr_loop_hook_cancel(d->loop, &d->kick_hook);
	if (d->links_free)
		d->links_free(d->links_ctx);
	free(d->rwc.arena);
	free(d);
}

size_t nr_delivery_status(const struct nr_delivery *d, struct nr_upstream_status *out, size_t max)
{
	uint64_t now = nr_loop_now(d->loop);
	size_t i;

	for (i = 0; i < d->nhosts && i < max; i++) {
		const struct nr_dsched_host *h = &d->sched.host[i];
		memset(&out[i], 0, sizeof(out[i]));
		copy_str(out[i].host, sizeof(out[i].host), d->host[i].host);
		out[i].port = d->host[i].port;
		out[i].state = h->state;
		out[i].connections = h->connections;
		out[i].failures = h->failures;
		out[i].retry_in_ms = h->hold_until > now ? h->hold_until - now : 0;
		copy_str(out[i].last_error, sizeof(out[i].last_error), h->last_error);
	}
	return d->nhosts;
}
