/*
 * ctl.c - the control socket, daemon side: one request line in, one reply
 * out, then close. Runs on the event loop; nothing blocks. See ctl.h for
 * the protocol and the permission rule.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf.h"
#include "core/ascii.h"
#include "core/fmt.h"
#include "core/log.h"
#include "core/loop.h"
#include "core/mem.h"
#include "core/stats.h"
#include "ctl/ctl.h"
#include "ctl/ctl_text.h"
#include "delivery/delivery.h"
#include "posix.h"
#include "proto/proto.h"
#include "queue/queue.h"
#include "rewrite/rewrite.h"

#define CTL_REQ_MAX 512
#define CTL_TEST_SUBJECT "nanorelay test message"

enum ctl_state {
	CL_FREE = 0, /* slot unused */
	CL_READ,     /* reading the request line */
	CL_WAIT,     /* send-test: waiting for the queue commit */
	CL_WRITE,    /* sending the reply, then close */
};

struct ctl_client {
	struct nr_ctl *ctl;
	enum ctl_state state;
	struct nr_io io;
	struct nr_timer timer;
	int privileged; /* peer is root or the daemon's own uid */
	int gone;       /* closed while a commit was in flight */
	char req[CTL_REQ_MAX];
	size_t req_len;
	struct nr_ctl_out out;
	size_t sent;
};

struct nr_ctl {
	struct nr_loop *loop;
	struct nr_queue *q;
	struct nr_delivery *delivery;
	const struct nr_conf *conf;
	char path[256];
	nr_sock_t lsock;
	struct nr_io lio;
	uint64_t started_ms;
	struct ctl_client cl[CONFIG_NR_CTL_MAX_CLIENTS];
};

static void client_close(struct ctl_client *cl)
{
	struct nr_ctl *c = cl->ctl;

	nr_loop_del(c->loop, &cl->io);
	nr_timer_cancel(c->loop, &cl->timer);
	nr_plat_sock_close(cl->io.sock);
	cl->io.sock = NR_SOCK_INVALID;
	nr_ctl_out_free(&cl->out);
	if (cl->state == CL_WAIT) {
		/* The commit callback still points here: it frees the slot. */
		cl->gone = 1;
		return;
	}
	cl->state = CL_FREE;
}

static void arm_deadline(struct ctl_client *cl)
{
	if (nr_timer_arm(cl->ctl->loop, &cl->timer, (uint64_t)CONFIG_NR_CTL_TIMEOUT_S * 1000) != 0)
		client_close(cl);
}

/* First line of every reply: the exit code the command line returns. */
static void reply_head(struct ctl_client *cl, int code, const char *fmt, ...) NR_PRINTF(3, 4);
static void reply_head(struct ctl_client *cl, int code, const char *fmt, ...)
{
	char text[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	nr_ctl_out_printf(&cl->out, "%d ", code);
	nr_ctl_out_text(&cl->out, text);
	nr_ctl_out_printf(&cl->out, "\n");
}

static void start_write(struct ctl_client *cl)
{
	cl->state = CL_WRITE;
	cl->sent = 0;
	nr_ctl_out_note_cut(&cl->out, "\n(output cut here: longer than "
				      "CONFIG_NR_CTL_REPLY_MAX bytes)\n");
	nr_loop_want(cl->ctl->loop, &cl->io, NR_POLL_OUT);
	arm_deadline(cl);
}

/* ---- status ---- */

static const char *const tls_words[] = {"plain", "starttls", "implicit"};

static void cmd_status(struct ctl_client *cl, int json)
{
	struct nr_ctl *c = cl->ctl;
	struct nr_upstream_status up[CONFIG_NR_MAX_SMARTHOSTS];
	char lbuf[CONFIG_NR_MAX_LISTENERS][80], addr[64];
	const char *lptr[CONFIG_NR_MAX_LISTENERS];
	struct nr_ctl_status st;
	size_t i;

	memset(&st, 0, sizeof(st));
	st.version = NR_VERSION;
	st.uptime_s = (nr_loop_now(c->loop) - c->started_ms) / 1000;
	for (i = 0; i < c->conf->listen_count && i < CONFIG_NR_MAX_LISTENERS; i++) {
		const struct nr_conf_listen *l = &c->conf->listen[i];
		int v6 = l->addr.family == NR_AF_INET6;

		snprintf(lbuf[i], sizeof(lbuf[i]), "%s%s%s:%u %s", v6 ? "[" : "",
			 nr_addr_ntop(&l->addr, addr, sizeof(addr)), v6 ? "]" : "",
			 (unsigned)l->addr.port, tls_words[l->tls]);
		lptr[i] = lbuf[i];
	}
	st.listeners = lptr;
	st.nlisteners = i;
	st.control_socket = c->path;
	nr_queue_stats(c->q, &st.q);
	if (nr_plat_wall_time(&st.now) != 0)
		st.now = 0;
	if (c->delivery) {
		st.nup = nr_delivery_status(c->delivery, up, NR_ARRAY_LEN(up));
		if (st.nup > NR_ARRAY_LEN(up))
			st.nup = NR_ARRAY_LEN(up);
		st.up = up;
	}
	for (i = 0; i < NR_STAT_COUNT; i++)
		st.counters[i] = nr_stats_get((enum nr_stat)i);
	reply_head(cl, NR_CTL_EX_OK, "ok");
	if (json)
		nr_ctl_format_status_json(&cl->out, &st);
	else
		nr_ctl_format_status(&cl->out, &st);
}

/* ---- mailq ---- */

struct mailq_walk {
	struct nr_ctl *ctl;
	struct nr_ctl_out *out;
	int64_t now;
	int64_t started_wall; /* the daemon's start, wall seconds (0: unknown) */
	uint64_t bytes;
	size_t count, dead;
};

struct rcpt_ctx {
	struct nr_queue *q;
	nr_qid_t id;
};

static const char *rcpt_from_queue(void *arg, size_t i, enum nr_rcpt_state *st)
{
	const struct rcpt_ctx *r = arg;

	return nr_queue_rcpt(r->q, r->id, i, st);
}

static int mailq_one(void *arg, const struct nr_qinfo *info)
{
	struct mailq_walk *w = arg;
	struct rcpt_ctx rc = {w->ctl->q, info->id};
	struct nr_ctl_msg m;

	memset(&m, 0, sizeof(m));
	m.id = info->id;
	m.age_s = w->now > info->arrival ? (uint64_t)(w->now - info->arrival) : 0;
	m.size = info->body_size;
	m.state = info->state;
	m.inflight = info->inflight;
	m.sender = nr_queue_sender(w->ctl->q, info->id);
	m.nrcpt = info->nrcpt;
	m.attempts = info->attempts;
	m.last_error = info->last_error;
	if (info->state == NR_MSG_PENDING && !info->inflight) {
		uint64_t now = nr_loop_now(w->ctl->loop);
		m.has_next = 1;
		m.next_s =
		    info->next_attempt_ms > now ? (info->next_attempt_ms - now + 999) / 1000 : 0;
		/* The reason lives in RAM: after a restart it is not known. */
		m.since_start = info->attempts == 0 && !info->last_error[0] && w->started_wall &&
				info->arrival < w->started_wall;
	}
	m.rcpt = rcpt_from_queue;
	m.arg = &rc;
	nr_ctl_format_mailq_entry(w->out, &m);
	if (info->state == NR_MSG_PENDING) {
		w->bytes += info->body_size;
		w->count++;
	} else {
		w->dead++;
	}
	return w->out->truncated;
}

static void cmd_mailq(struct ctl_client *cl)
{
	struct mailq_walk w;

	memset(&w, 0, sizeof(w));
	w.ctl = cl->ctl;
	w.out = &cl->out;
	if (nr_plat_wall_time(&w.now) != 0)
		w.now = 0;
	if (w.now) {
		uint64_t up_s = (nr_loop_now(cl->ctl->loop) - cl->ctl->started_ms) / 1000;
		w.started_wall = w.now - (int64_t)up_s;
	}
	reply_head(cl, NR_CTL_EX_OK, "ok");
	nr_ctl_format_mailq_head(&cl->out);
	(void)nr_queue_foreach(cl->ctl->q, mailq_one, &w);
	nr_ctl_format_mailq_tail(&cl->out, w.bytes, w.count, w.dead);
}

/* ---- flush, delete ---- */

static int need_privilege(struct ctl_client *cl, const char *what)
{
	if (cl->privileged)
		return 0;
	reply_head(cl, NR_CTL_EX_NOPERM,
		   "permission denied: %s needs root or the user the daemon runs as", what);
	return -1;
}

static void cmd_flush(struct ctl_client *cl)
{
	struct nr_ctl *c = cl->ctl;
	struct nr_qstats st;

	if (need_privilege(cl, "flush") != 0)
		return;
	if (!c->delivery) {
		reply_head(cl, NR_CTL_EX_UNAVAILABLE,
			   "no smarthost is configured: nothing to "
			   "deliver to");
		return;
	}
	nr_queue_stats(c->q, &st);
	nr_delivery_flush(c->delivery);
	nr_info("ctl: flush: %lu messages due now", (unsigned long)st.messages);
	reply_head(cl, NR_CTL_EX_OK, "ok");
	nr_ctl_out_printf(&cl->out, "flushed: %lu message%s queued for delivery now\n",
			  (unsigned long)st.messages, st.messages == 1 ? "" : "s");
}

/* 16 hex digits, as mailq prints them (upper or lower case). */
static int parse_qid(const char *s, nr_qid_t *out)
{
	nr_qid_t v = 0;
	size_t i;

	if (strlen(s) != 16)
		return NR_EINVAL;
	for (i = 0; i < 16; i++) {
		int d = nr_ascii_hex((unsigned char)s[i]);

		if (d < 0)
			return NR_EINVAL;
		v = v << 4 | (unsigned)d;
	}
	*out = v;
	return 0;
}

static void cmd_delete(struct ctl_client *cl, const char *arg)
{
	struct nr_ctl *c = cl->ctl;
	struct nr_qinfo info;
	nr_qid_t id;
	char idstr[17];
	int rc;

	if (need_privilege(cl, "delete") != 0)
		return;
	if (!arg || parse_qid(arg, &id) != 0) {
		reply_head(cl, NR_CTL_EX_USAGE,
			   "delete needs a queue id (16 hex digits, as mailq "
			   "shows it)");
		return;
	}
	if (nr_queue_info(c->q, id, &info) != 0 || info.state != NR_MSG_PENDING) {
		reply_head(cl, NR_CTL_EX_NOINPUT, "no message %s is waiting in the queue", arg);
		return;
	}
	if (info.inflight) {
		/* Its outcome is about to be written; deleting under the
		 * delivery would race with that. */
		reply_head(cl, NR_CTL_EX_TEMPFAIL,
			   "%s is being delivered right now; try again in a moment", arg);
		return;
	}
	rc = nr_queue_delete(c->q, id);
	if (rc != 0) {
		reply_head(cl, NR_CTL_EX_TEMPFAIL, "cannot delete %s: %s", arg, nr_strerror(rc));
		return;
	}
	nr_info("%s: removed by the administrator (nanorelay delete)", nr_qid_str(id, idstr));
	reply_head(cl, NR_CTL_EX_OK, "ok");
	nr_ctl_out_printf(&cl->out, "%s: deleted\n", idstr);
}

/* ---- send-test, msg ---- */

static void test_committed(void *arg, int result, nr_qid_t id)
{
	struct ctl_client *cl = arg;
	char idstr[17];

	if (result == 0) {
		nr_stats_inc(NR_STAT_ACCEPTED);
		nr_info("%s: test message queued (nanorelay send-test)", nr_qid_str(id, idstr));
		if (cl->ctl->delivery)
			nr_delivery_kick(cl->ctl->delivery);
	}
	if (cl->gone) {
		cl->state = CL_FREE;
		cl->gone = 0;
		return;
	}
	if (result == 0) {
		reply_head(cl, NR_CTL_EX_OK, "queued");
		nr_ctl_out_printf(&cl->out, "%s\n", nr_qid_str(id, idstr));
	} else {
		reply_head(cl, NR_CTL_EX_TEMPFAIL, "the queue could not store the message: %s",
			   nr_strerror(result));
	}
	start_write(cl);
}

static int write_test_body(struct nr_ctl *c, struct nr_qwriter *w, const char *from, const char *to)
{
	char buf[1024], date[64], rnd[8];
	int64_t now = 0;
	uint64_t r = 0;
	size_t i;
	int n;

	if (nr_plat_wall_time(&now) != 0)
		now = 0;
	if (nr_plat_entropy(rnd, sizeof(rnd)) != 0)
		memset(rnd, 0x5a, sizeof(rnd));
	for (i = 0; i < sizeof(rnd); i++)
		r = r << 8 | (unsigned char)rnd[i];
	nr_date_rfc5322(date, sizeof(date), now);
	n = snprintf(buf, sizeof(buf),
		     "From: nanorelay <%s>\r\n"
		     "To: <%s>\r\n"
		     "Subject: " CTL_TEST_SUBJECT "\r\n"
		     "Date: %s\r\n"
		     "Message-ID: <test.%s@%s>\r\n"
		     "\r\n"
		     "This is a test message from nanorelay %s on %s.\r\n"
		     "If you can read it, mail from this box reaches you.\r\n",
		     from, to, date, NR_X64(r), c->conf->hostname, NR_VERSION, c->conf->hostname);
	if (n < 0 || (size_t)n >= sizeof(buf))
		return NR_EINVAL;
	return nr_queue_append(w, buf, (size_t)n);
}

static void cmd_send_test(struct ctl_client *cl, const char *to)
{
	struct nr_ctl *c = cl->ctl;
	char from[320];
	const char *rcpts[1];
	struct nr_qenvelope env;
	struct nr_qwriter *w = NULL;
	int rc;

	if (need_privilege(cl, "send-test") != 0)
		return;
	if (!to || nr_rewrite_check_addr(to, 1) != 0 || strlen(to) > 254) {
		reply_head(cl, NR_CTL_EX_DATAERR, "not a usable address: %s", to ? to : "(none)");
		return;
	}
	if (c->conf->sender)
		snprintf(from, sizeof(from), "%s", c->conf->sender);
	else
		snprintf(from, sizeof(from), "nanorelay@%s", c->conf->hostname);
	rcpts[0] = to;
	memset(&env, 0, sizeof(env));
	env.sender = from;
	env.rcpts = rcpts;
	env.nrcpt = 1;
	env.client = "local";
	if (nr_plat_wall_time(&env.arrival) != 0)
		env.arrival = 0;
	rc = nr_queue_begin(c->q, &env, 0, &w);
	if (rc == 0)
		rc = write_test_body(c, w, from, to);
	if (rc != 0) {
		nr_queue_abort(w);
		reply_head(cl, NR_CTL_EX_TEMPFAIL, "the queue refused the message: %s",
			   nr_strerror(rc));
		return;
	}
	cl->state = CL_WAIT;
	nr_loop_want(c->loop, &cl->io, 0);
	rc = nr_queue_commit(w, test_committed, cl);
	if (rc != 0) {
		cl->state = CL_READ;
		reply_head(cl, NR_CTL_EX_TEMPFAIL, "the queue refused the message: %s",
			   nr_strerror(rc));
	}
}

/* What send-test follows: the message's state, and why it waits. */
static void cmd_msg(struct ctl_client *cl, const char *arg)
{
	struct nr_ctl *c = cl->ctl;
	struct nr_upstream_status up[CONFIG_NR_MAX_SMARTHOSTS];
	struct nr_qinfo info;
	char text[NR_UPSTREAM_ERROR_MAX] = "";
	nr_qid_t id;
	size_t i, n = 0;
	int kind;

	if (!arg || parse_qid(arg, &id) != 0) {
		reply_head(cl, NR_CTL_EX_USAGE, "msg needs a queue id");
		return;
	}
	reply_head(cl, NR_CTL_EX_OK, "ok");
	if (nr_queue_info(c->q, id, &info) == 0) {
		nr_ctl_out_printf(&cl->out, "state %s\nattempts %u\nerror ",
				  info.state == NR_MSG_PENDING ? "pending" : "dead", info.attempts);
		nr_ctl_out_text(&cl->out, info.last_error);
		nr_ctl_out_printf(&cl->out, "\n");
		if (c->delivery)
			n = nr_delivery_status(c->delivery, up, NR_ARRAY_LEN(up));
		/* "upstream SECONDS-HELD host:port state: error" */
		for (i = 0; i < n && i < NR_ARRAY_LEN(up); i++) {
			if (up[i].state == NR_UPSTREAM_OK)
				continue;
			nr_ctl_out_printf(&cl->out, "upstream %s ",
					  NR_U64((up[i].retry_in_ms + 999) / 1000));
			nr_ctl_out_text(&cl->out, up[i].host);
			nr_ctl_out_printf(&cl->out, ":%u %s: ", (unsigned)up[i].port,
					  nr_ctl_upstream_word(up[i].state));
			nr_ctl_out_text(&cl->out, up[i].last_error);
			nr_ctl_out_printf(&cl->out, "\n");
		}
		return;
	}
	kind = nr_stats_find_outcome(id, text, sizeof(text));
	nr_ctl_out_printf(&cl->out, "state %s\nerror ",
			  kind == NR_OUTCOME_KIND_DELIVERED ? "delivered"
			  : kind == NR_OUTCOME_KIND_FAILED  ? "bounced"
							    : "gone");
	nr_ctl_out_text(&cl->out, text);
	nr_ctl_out_printf(&cl->out, "\n");
}

/* ---- dispatch ---- */

static void run_request(struct ctl_client *cl)
{
	char *cmd = cl->req, *arg = strchr(cl->req, ' ');

	if (arg)
		*arg++ = '\0';
	if (strcmp(cmd, "status") == 0 && (!arg || strcmp(arg, "json") == 0))
		cmd_status(cl, arg != NULL);
	else if (strcmp(cmd, "mailq") == 0 && !arg)
		cmd_mailq(cl);
	else if (strcmp(cmd, "flush") == 0 && !arg)
		cmd_flush(cl);
	else if (strcmp(cmd, "delete") == 0)
		cmd_delete(cl, arg);
	else if (strcmp(cmd, "send-test") == 0)
		cmd_send_test(cl, arg);
	else if (strcmp(cmd, "msg") == 0)
		cmd_msg(cl, arg);
	else
		reply_head(cl, NR_CTL_EX_USAGE, "unknown control request");
	if (cl->state == CL_READ)
		start_write(cl);
}

static void client_read(struct ctl_client *cl)
{
	char *nl;
	long n;

	n = nr_plat_sock_read(cl->io.sock, cl->req + cl->req_len,
			      sizeof(cl->req) - 1 - cl->req_len);
	if (n == NR_EAGAIN)
		return;
	if (n <= 0) {
		client_close(cl);
		return;
	}
	cl->req_len += (size_t)n;
	cl->req[cl->req_len] = '\0';
	if (memchr(cl->req, '\0', cl->req_len)) {
		client_close(cl); /* a NUL: not our client */
		return;
	}
	nl = memchr(cl->req, '\n', cl->req_len);
	if (!nl) {
		if (cl->req_len >= sizeof(cl->req) - 1)
			client_close(cl); /* too long for any request */
		return;
	}
	*nl = '\0';
	if (nl > cl->req && nl[-1] == '\r')
		nl[-1] = '\0';
	run_request(cl);
}

static void client_write(struct ctl_client *cl)
{
	long n;

	if (cl->sent >= cl->out.len) {
		client_close(cl);
		return;
	}
	n = nr_plat_sock_write(cl->io.sock, cl->out.p + cl->sent, cl->out.len - cl->sent);
	if (n == NR_EAGAIN)
		return;
	if (n < 0) {
		client_close(cl);
		return;
	}
	cl->sent += (size_t)n;
	if (cl->sent >= cl->out.len)
		client_close(cl);
	else
		arm_deadline(cl);
}

static void on_client(struct nr_loop *loop, void *arg, unsigned events)
{
	struct ctl_client *cl = arg;

	(void)loop;
	if (cl->state == CL_READ)
		client_read(cl);
	else if (cl->state == CL_WRITE)
		client_write(cl);
}

static void on_client_timeout(struct nr_loop *loop, void *arg)
{
	(void)loop;
	client_close(arg);
}

static struct ctl_client *free_slot(struct nr_ctl *c)
{
	size_t i;

	for (i = 0; i < NR_ARRAY_LEN(c->cl); i++)
		if (c->cl[i].state == CL_FREE)
			return &c->cl[i];
	return NULL;
}

static void client_open(struct nr_ctl *c, struct ctl_client *cl, nr_sock_t s)
{
	long uid = -1, self = -1;

	memset(cl, 0, sizeof(*cl));
	cl->ctl = c;
	cl->state = CL_READ;
	nr_io_init(&cl->io, s, NR_POLL_IN, on_client, cl);
	nr_timer_init(&cl->timer, on_client_timeout, cl);
	nr_ctl_out_init(&cl->out, CONFIG_NR_CTL_REPLY_MAX);
	/* Asked now, not at start: the daemon drops privileges after
	 * opening the socket. */
	if (nr_plat_local_own_uid(&self) != 0)
		self = -1;
	cl->privileged = nr_plat_local_peer_uid(s, &uid) == 0 && uid >= 0 &&
			 (uid == 0 || (self >= 0 && uid == self));
	if (nr_loop_add(c->loop, &cl->io) != 0) {
		nr_plat_sock_close(s);
		nr_ctl_out_free(&cl->out);
		cl->state = CL_FREE;
		return;
	}
	arm_deadline(cl);
}

static void on_accept(struct nr_loop *loop, void *arg, unsigned events)
{
	struct nr_ctl *c = arg;
	int k;

	(void)loop;
	for (k = 0; k < 8; k++) {
		struct ctl_client *cl;
		nr_sock_t s;

		if (nr_plat_tcp_accept(c->lsock, &s, NULL) != 0)
			return;
		cl = free_slot(c);
		if (!cl) {
			static const char busy[] =
			    "75 the daemon is busy with other control "
			    "clients (CONFIG_NR_CTL_MAX_CLIENTS), try again\n";
			(void)nr_plat_sock_write(s, busy, sizeof(busy) - 1);
			nr_plat_sock_close(s);
			continue;
		}
		client_open(c, cl, s);
	}
}

int nr_ctl_start(struct nr_ctl **out, struct nr_loop *loop, const struct nr_conf *conf,
		 struct nr_queue *q, struct nr_delivery *delivery)
{
	struct nr_ctl *c;
	int rc;

	*out = NULL;
	if (!conf->control_socket || strlen(conf->control_socket) >= sizeof(c->path))
		return NR_EINVAL;
	c = nr_calloc(1, sizeof(*c));
	if (!c)
		return NR_ENOMEM;
	c->loop = loop;
	c->q = q;
	c->delivery = delivery;
	c->conf = conf;
	c->lsock = NR_SOCK_INVALID;
	snprintf(c->path, sizeof(c->path), "%s", conf->control_socket);
	c->started_ms = nr_loop_now(loop);
	rc = nr_plat_mkdir_parents(c->path, 0755);
	if (rc == 0)
		rc = nr_plat_local_listen(c->path, 1, &c->lsock);
	if (rc != 0) {
		nr_free(c);
		return rc;
	}
	nr_io_init(&c->lio, c->lsock, NR_POLL_IN, on_accept, c);
	rc = nr_loop_add(loop, &c->lio);
	if (rc != 0) {
		nr_plat_sock_close(c->lsock);
		nr_free(c);
		return rc;
	}
	*out = c;
	return 0;
}

void nr_ctl_set_conf(struct nr_ctl *c, const struct nr_conf *conf)
{
	if (c)
		c->conf = conf;
}

void nr_ctl_stop(struct nr_ctl *c)
{
	size_t i;

	if (!c)
		return;
	for (i = 0; i < NR_ARRAY_LEN(c->cl); i++)
		if (c->cl[i].state != CL_FREE && c->cl[i].io.sock != NR_SOCK_INVALID)
			client_close(&c->cl[i]);
	nr_loop_del(c->loop, &c->lio);
	nr_plat_sock_close(c->lsock);
	/* Best effort: after dropping privileges the directory may not be
	 * ours; a stale socket file only means "not running" to the CLI. */
	(void)remove(c->path);
	nr_free(c);
}
