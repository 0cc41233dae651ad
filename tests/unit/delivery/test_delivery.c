/* Unit tests of the delivery engine: real scheduler and sessions over a
 * scripted link, a stand-in queue and a virtual clock. */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "conf/conf.h"
#include "core/log.h"
#include "core/loop.h"
#include "delivery/delivery.h"
#include "delivery/delivery_link.h"
#include "delivery/delivery_sched.h"
#include "queue/queue.h"
#include "smtpc/smtpc_session.h"
#include "test.h"

/* ==== stand-ins until core/queue/tls/sim are merged into main (delete then) ==== */

static uint64_t now_ms = 1000000;
static int64_t wall = 1700000000;

/* Log lines, kept (the first 64 KiB) so tests can look for them. */
static char logbuf[65536];
static size_t loglen;

void nr_log(enum nr_log_level level, const char *fmt, ...)
{
	va_list ap;
	int n;

	(void)level;
	if (loglen + 2 >= sizeof(logbuf))
		return;
	va_start(ap, fmt);
	n = vsnprintf(logbuf + loglen, sizeof(logbuf) - loglen - 1, fmt, ap);
	va_end(ap);
	if (n > 0)
		loglen = strlen(logbuf);
	logbuf[loglen++] = '\n';
	logbuf[loglen] = '\0';
}

static int sim_log_find(const char *needle)
{
	return strstr(logbuf, needle) ? 0 : -1;
}
int nr_plat_entropy(void *buf, size_t len)
{
	memset(buf, 0, len);
	return 0;
}
uint64_t nr_plat_now_ms(void)
{
	return now_ms;
}
int nr_plat_wall_time(int64_t *out)
{
	*out = wall;
	return 0;
}
int nr_plat_file_read(const char *path, size_t max, char **out, size_t *len)
{
	*out = malloc(16);
	strcpy(*out, "secret\n");
	*len = 7;
	return 0;
}
int nr_tls_hmac_md5(const void *key, size_t keylen, const void *msg, size_t msglen, uint8_t out[16])
{
	memset(out, 0, 16);
	return 0;
}

static struct nr_hook *hooks;
static struct nr_timer *timers[64];

uint64_t nr_loop_now(const struct nr_loop *loop)
{
	return now_ms;
}
void nr_loop_at_turn_end(struct nr_loop *loop, struct nr_hook *hook)
{
	if (hook->queued)
		return;
	hook->queued = 1;
	hook->next = hooks;
	hooks = hook;
}
void nr_loop_hook_cancel(struct nr_loop *loop, struct nr_hook *hook)
{
	struct nr_hook **pp;

	for (pp = &hooks; *pp; pp = &(*pp)->next)
		if (*pp == hook) {
			*pp = hook->next;
			break;
		}
	hook->next = NULL;
	hook->queued = 0;
}
void nr_timer_init(struct nr_timer *t, nr_timer_fn fn, void *arg)
{
	t->fn = fn;
	t->arg = arg;
	t->heap_index = -1;
}
void nr_timer_cancel(struct nr_loop *loop, struct nr_timer *t)
{
	if (t->heap_index >= 0)
		timers[t->heap_index] = NULL;
	t->heap_index = -1;
}
int nr_timer_arm_at(struct nr_loop *loop, struct nr_timer *t, uint64_t deadline)
{
	int i;
	nr_timer_cancel(loop, t);
	for (i = 0; i < 64; i++)
		if (!timers[i]) {
			timers[i] = t;
			t->heap_index = i;
			t->deadline = deadline;
			return 0;
		}
	return NR_ENOMEM;
}
int nr_timer_arm(struct nr_loop *loop, struct nr_timer *t, uint64_t delay_ms)
{
	return nr_timer_arm_at(loop, t, now_ms + delay_ms);
}

/* Run hooks and due timers until quiet. */
static void turn(void)
{
	int i, guard;
	for (guard = 0; guard < 100; guard++) {
		int ran = 0;
		for (i = 0; i < 64; i++) {
			struct nr_timer *t = timers[i];
			if (t && t->deadline <= now_ms) {
				nr_timer_cancel(NULL, t);
				t->fn(NULL, t->arg);
				ran = 1;
			}
		}
		while (hooks) {
			struct nr_hook *h = hooks;
			hooks = h->next;
			h->queued = 0;
			h->fn(NULL, h->arg);
			ran = 1;
		}
		if (!ran)
			return;
	}
}

static void advance(uint64_t ms)
{
	now_ms += ms;
	wall += (int64_t)(ms / 1000);
	turn();
}

/* ---- the queue stand-in ---- */

struct fmsg {
	int used;
	nr_qid_t id;
	char sender[64];
	char rcpt[4][64];
	enum nr_rcpt_state rs[4];
	size_t nrcpt;
	char body[256];
	size_t pos;
	int64_t arrival;
	enum nr_msg_state state;
	unsigned attempts;
	uint64_t next;
	int inflight;
	char last_error[160];
};
static struct fmsg Q[16];
static nr_qid_t next_id = 1;
static char digest_body[65536];
static int digests;
static char digest_rcpt[64];

static struct fmsg *find(nr_qid_t id)
{
	size_t i;
	for (i = 0; i < 16; i++)
		if (Q[i].used && Q[i].id == id)
			return &Q[i];
	return NULL;
}

static nr_qid_t add_msg(const char *sender, const char *r0, const char *r1, const char *body)
{
	size_t i;
	for (i = 0; i < 16; i++)
		if (!Q[i].used) {
			struct fmsg *m = &Q[i];
			memset(m, 0, sizeof(*m));
			m->used = 1;
			m->id = next_id++;
			strcpy(m->sender, sender);
			strcpy(m->rcpt[0], r0);
			m->nrcpt = 1;
			if (r1) {
				strcpy(m->rcpt[1], r1);
				m->nrcpt = 2;
			}
			strcpy(m->body, body);
			m->arrival = wall;
			return m->id;
		}
	return 0;
}

int nr_queue_next_due(struct nr_queue *q, uint64_t now, nr_qid_t *id)
{
	size_t i;
	struct fmsg *best = NULL;
	for (i = 0; i < 16; i++) {
		struct fmsg *m = &Q[i];
		if (m->used && m->state == NR_MSG_PENDING && !m->inflight && m->next <= now &&
		    (!best || m->id < best->id))
			best = m;
	}
	if (!best)
		return NR_ENOTFOUND;
	*id = best->id;
	return 0;
}
uint64_t nr_queue_next_wakeup(struct nr_queue *q)
{
	uint64_t w = UINT64_MAX;
	size_t i;
	for (i = 0; i < 16; i++)
		if (Q[i].used && Q[i].state == NR_MSG_PENDING && !Q[i].inflight && Q[i].next < w)
			w = Q[i].next;
	return w;
}
int nr_queue_info(struct nr_queue *q, nr_qid_t id, struct nr_qinfo *out)
{
	struct fmsg *m = find(id);
	size_t i;
	if (!m)
		return NR_ENOTFOUND;
	memset(out, 0, sizeof(*out));
	out->id = id;
	out->arrival = m->arrival;
	out->body_size = strlen(m->body);
	out->state = m->state;
	out->nrcpt = m->nrcpt;
	for (i = 0; i < m->nrcpt; i++)
		out->npending += m->rs[i] == NR_RCPT_PENDING;
	out->attempts = m->attempts;
	out->next_attempt_ms = m->next;
	strcpy(out->last_error, m->last_error);
	return 0;
}
const char *nr_queue_sender(struct nr_queue *q, nr_qid_t id)
{
	return find(id)->sender;
}
const char *nr_queue_rcpt(struct nr_queue *q, nr_qid_t id, size_t i, enum nr_rcpt_state *st)
{
	struct fmsg *m = find(id);
	*st = m->rs[i];
	return m->rcpt[i];
}
void nr_queue_set_inflight(struct nr_queue *q, nr_qid_t id, int inflight)
{
	find(id)->inflight = inflight;
}
int nr_queue_read_open(struct nr_queue *q, nr_qid_t id, struct nr_qreader **out)
{
	struct fmsg *m = find(id);
	m->pos = 0;
	*out = (struct nr_qreader *)m;
	return 0;
}
long nr_qreader_read(struct nr_qreader *r, void *buf, size_t len)
{
	struct fmsg *m = (struct fmsg *)r;
	size_t n = strlen(m->body) - m->pos;
	if (n > len)
		n = len;
	memcpy(buf, m->body + m->pos, n);
	m->pos += n;
	return (long)n;
}
void nr_qreader_close(struct nr_qreader *r) {}
int nr_queue_mark_rcpt(struct nr_queue *q, nr_qid_t id, size_t i, enum nr_rcpt_state st)
{
	struct fmsg *m = find(id);
	size_t k, pending = 0;
	m->rs[i] = st;
	for (k = 0; k < m->nrcpt; k++)
		pending += m->rs[k] == NR_RCPT_PENDING;
	if (!pending)
		m->state = NR_MSG_DONE;
	return 0;
}
void nr_queue_defer(struct nr_queue *q, nr_qid_t id, uint64_t next, const char *error)
{
	struct fmsg *m = find(id);
	m->attempts++;
	m->next = next;
	snprintf(m->last_error, sizeof(m->last_error), "%s", error);
}
int nr_queue_expire(struct nr_queue *q, int64_t now, uint64_t max_age_s,
		    void (*fn)(void *arg, nr_qid_t id), void *arg)
{
	size_t i;
	int n = 0;
	for (i = 0; i < 16; i++)
		if (Q[i].used && Q[i].state == NR_MSG_PENDING &&
		    now - Q[i].arrival > (int64_t)max_age_s) {
			fn(arg, Q[i].id);
			Q[i].state = NR_MSG_DEAD;
			n++;
		}
	return n;
}
int nr_queue_foreach(struct nr_queue *q, int (*fn)(void *arg, const struct nr_qinfo *info),
		     void *arg)
{
	size_t i;
	for (i = 0; i < 16; i++) {
		struct nr_qinfo info;
		if (Q[i].used && nr_queue_info(q, Q[i].id, &info) == 0 && fn(arg, &info))
			break;
	}
	return 0;
}
int nr_queue_begin(struct nr_queue *q, const struct nr_qenvelope *env, uint64_t size_hint,
		   struct nr_qwriter **out)
{
	EXPECT_STREQ(env->sender, "");
	EXPECT_EQ(env->nrcpt, 1);
	strcpy(digest_rcpt, env->rcpts[0]);
	digest_body[0] = '\0';
	*out = (struct nr_qwriter *)digest_body;
	return 0;
}
int nr_queue_append(struct nr_qwriter *w, const void *data, size_t len)
{
	strncat(digest_body, data, len);
	return 0;
}
int nr_queue_commit(struct nr_qwriter *w, nr_qcommit_fn done, void *arg)
{
	digests++;
	return 0;
}
void nr_queue_abort(struct nr_qwriter *w) {}
const char *nr_qid_str(nr_qid_t id, char *dst)
{
	snprintf(dst, 17, "%016llx", (unsigned long long)id);
	return dst;
}

/* ==== a scripted link ==== */

struct nr_dlink {
	int open;
	size_t host; /* index by port - 2500 */
	struct nr_smtpc *s;
	char out[8192];
	size_t len;
};
static struct nr_dlink links[16];
static int opens[4];

static int l_open(void *ctx, struct nr_dlink **out, const struct nr_dlink_target *t,
		  struct nr_smtpc *s)
{
	size_t i;
	for (i = 0; i < 16; i++)
		if (!links[i].open) {
			memset(&links[i], 0, sizeof(links[i]));
			links[i].open = 1;
			links[i].host = t->port - 2500;
			links[i].s = s;
			opens[links[i].host]++;
			*out = &links[i];
			return 0;
		}
	return NR_ENOMEM;
}
static int l_write(struct nr_dlink *l, const void *p, size_t n)
{
	if (l->len + n >= sizeof(l->out))
		l->len = 0; /* tests only look at recent output */
	memcpy(l->out + l->len, p, n);
	l->len += n;
	l->out[l->len] = '\0';
	return 0;
}
static size_t l_room(struct nr_dlink *l)
{
	return 4096;
}
static void l_start_tls(struct nr_dlink *l) {}
static void l_close(struct nr_dlink *l)
{
	l->open = 0;
}
static const char *l_peer(struct nr_dlink *l)
{
	return "smtp.test[127.0.0.1]:2500";
}
static const struct nr_dlink_ops link_ops = {l_open,  l_write, l_room, l_start_tls,
					     l_close, l_peer,  NULL};

static struct nr_dlink *open_link(size_t host)
{
	size_t i;
	for (i = 0; i < 16; i++)
		if (links[i].open && links[i].host == host)
			return &links[i];
	return NULL;
}

/* A reply as the assembler (smtpc/reply.h) hands it over. */
static struct nr_smtpc_reply make_reply(int code, const char *text)
{
	struct nr_smtpc_reply r;
	memset(&r, 0, sizeof(r));
	r.code = code;
	r.lines = 1;
	r.text_len = (size_t)snprintf(r.text, sizeof(r.text), "%s", text);
	return r;
}

static void say(struct nr_dlink *l, int code, const char *text)
{
	struct nr_smtpc_reply r = make_reply(code, text);
	nr_smtpc_on_reply(l->s, &r, 0);
	turn();
}

static void say_ehlo(struct nr_dlink *l, uint32_t caps, uint32_t auth)
{
	struct nr_smtpc_reply r = make_reply(250, "smtp.test");
	r.caps.caps = caps;
	r.caps.auth = auth;
	nr_smtpc_on_reply(l->s, &r, 0);
	turn();
}

/* ==== fixtures ==== */

static struct nr_conf_smarthost hosts[2];
static struct nr_conf conf;

static struct nr_delivery *setup(size_t nhosts, const char *user)
{
	struct nr_delivery *d = NULL;
	size_t i;
	memset(Q, 0, sizeof(Q));
	memset(links, 0, sizeof(links));
	memset(opens, 0, sizeof(opens));
	memset(timers, 0, sizeof(timers));
	hooks = NULL;
	digests = 0;
	memset(&conf, 0, sizeof(conf));
	memset(hosts, 0, sizeof(hosts));
	for (i = 0; i < nhosts; i++) {
		hosts[i].host = i ? "backup.test" : "smtp.test";
		hosts[i].port = (uint16_t)(2500 + i);
		hosts[i].tls = NR_TLS_NONE;
		hosts[i].insecure = 1;
		hosts[i].user = (char *)user;
		hosts[i].password_file = user ? "/pw" : NULL;
	}
	conf.smarthost = hosts;
	conf.smarthost_count = nhosts;
	conf.retry_min_ms = 60000;
	conf.retry_max_ms = 3600000;
	conf.max_age_ms = 5ull * 86400000;
	conf.admin = "admin@example.test";
	conf.sender = "me@gmail.test";
	conf.hostname = "nas.lan";
	conf.upstream_connections = 4; /* the default */
	if (nr_delivery_start_links(&d, NULL, &conf, NULL, &link_ops, NULL) != 0)
		return NULL;
	return d;
}

static void greet(struct nr_dlink *l, uint32_t caps, uint32_t auth)
{
	nr_smtpc_on_connected(l->s);
	say(l, 220, "smtp.test ESMTP");
	say_ehlo(l, caps, auth);
}

TEST(delivers_with_per_recipient_outcomes_and_one_digest)
{
	struct nr_delivery *d = setup(1, NULL);
	struct nr_dlink *l;
	nr_qid_t a;
	ASSERT_TRUE(d);
	a = add_msg("cam@lan", "ok@x.test", "gone@x.test", "Subject: t\r\n\r\nhi\r\n");
	nr_delivery_kick(d);
	turn();
	l = open_link(0);
	ASSERT_TRUE(l);
	greet(l, NR_SMTPC_CAP_PIPELINING, 0);
	EXPECT_TRUE(strstr(l->out, "MAIL FROM:<me@gmail.test>\r\nRCPT TO:<ok@x.test>\r\n"
				   "RCPT TO:<gone@x.test>\r\nDATA\r\n") != NULL);
	EXPECT_EQ(find(a)->inflight, 1);
	say(l, 250, "ok");
	say(l, 250, "ok");
	say(l, 550, "5.1.1 no such user");
	say(l, 354, "go");
	EXPECT_TRUE(strstr(l->out, "hi\r\n.\r\n") != NULL);
	say(l, 250, "2.0.0 queued");
	EXPECT_EQ(find(a)->rs[0], NR_RCPT_DELIVERED);
	EXPECT_EQ(find(a)->rs[1], NR_RCPT_FAILED);
	EXPECT_EQ(find(a)->state, NR_MSG_DONE);
	EXPECT_EQ(find(a)->inflight, 0);
	/* One digest to admin, from <>, naming the failure. */
	EXPECT_EQ(digests, 1);
	EXPECT_STREQ(digest_rcpt, "admin@example.test");
	EXPECT_TRUE(strstr(digest_body, "to=<gone@x.test>") != NULL);
	EXPECT_TRUE(strstr(digest_body, "550 5.1.1 no such user") != NULL);
	/* A second failure soon after waits for the interval: no storm. */
	a = add_msg("cam@lan", "gone2@x.test", NULL, "x\r\n");
	nr_delivery_kick(d);
	turn();
	say(l, 250, "ok");
	say(l, 550, "no");
	say(l, 554, "no valid recipients");
	EXPECT_EQ(find(a)->rs[0], NR_RCPT_FAILED);
	EXPECT_EQ(digests, 1);
	advance(NR_DELIVERY_DIGEST_INTERVAL_MS);
	EXPECT_EQ(digests, 2);
	EXPECT_TRUE(strstr(digest_body, "gone2@x.test") != NULL);
	nr_delivery_stop(d);
}

TEST(deferred_message_does_not_block_the_next)
{
	struct nr_delivery *d = setup(1, NULL);
	struct nr_dlink *l;
	nr_qid_t a, b;
	ASSERT_TRUE(d);
	a = add_msg("cam@lan", "a@x.test", NULL, "A\r\n");
	b = add_msg("cam@lan", "b@x.test", NULL, "B\r\n");
	nr_delivery_kick(d);
	turn();
	l = open_link(0);
	ASSERT_TRUE(l);
	greet(l, 0, 0);
	say(l, 451, "4.3.0 try later"); /* MAIL of A */
	EXPECT_EQ(find(a)->attempts, 1);
	EXPECT_TRUE(find(a)->next >= now_ms + 45000);
	EXPECT_TRUE(find(a)->next <= now_ms + 60000);
	EXPECT_TRUE(strstr(find(a)->last_error, "451 4.3.0") != NULL);
	EXPECT_TRUE(strstr(l->out, "RSET\r\n") != NULL);
	say(l, 250, "ok"); /* RSET; B goes out on the same connection */
	EXPECT_TRUE(strstr(l->out, "MAIL FROM:<me@gmail.test>\r\n") != NULL);
	say(l, 250, "ok");
	say(l, 250, "ok");
	say(l, 354, "go");
	say(l, 250, "ok");
	EXPECT_EQ(find(b)->state, NR_MSG_DONE);
	EXPECT_EQ(find(a)->state, NR_MSG_PENDING);
	EXPECT_EQ(opens[0], 1);
	/* Later A is due again and goes out. */
	advance(60000);
	EXPECT_TRUE(strstr(l->out, "MAIL FROM") != NULL || open_link(0) != l);
	EXPECT_EQ(digests, 0);
	nr_delivery_stop(d);
}

TEST(failover_and_status)
{
	struct nr_delivery *d = setup(2, NULL);
	struct nr_upstream_status st[2];
	struct nr_dlink *l;
	nr_qid_t a;
	ASSERT_TRUE(d);
	a = add_msg("cam@lan", "a@x.test", NULL, "A\r\n");
	nr_delivery_kick(d);
	turn();
	l = open_link(0);
	ASSERT_TRUE(l);
	nr_smtpc_on_connected(l->s);
	nr_smtpc_on_closed(l->s, NR_ECONNREFUSED);
	turn();
	EXPECT_EQ(nr_delivery_status(d, st, 2), 2);
	EXPECT_EQ(st[0].state, NR_UPSTREAM_DEFERRING);
	EXPECT_TRUE(st[0].retry_in_ms > 0);
	EXPECT_TRUE(strstr(st[0].last_error, "lost connection") != NULL);
	EXPECT_EQ(st[1].state, NR_UPSTREAM_OK);
	/* The message was not deferred: it goes to the backup right away. */
	EXPECT_EQ(find(a)->attempts, 0);
	l = open_link(1);
	ASSERT_TRUE(l);
	greet(l, 0, 0);
	say(l, 250, "ok");
	say(l, 250, "ok");
	say(l, 354, "go");
	say(l, 250, "ok");
	EXPECT_EQ(find(a)->state, NR_MSG_DONE);
	nr_delivery_stop(d);
}

TEST(auth_535_holds_the_smarthost)
{
	struct nr_delivery *d = setup(1, "me@gmail.test");
	struct nr_upstream_status st;
	struct nr_dlink *l;
	nr_qid_t a;
	ASSERT_TRUE(d);
	a = add_msg("cam@lan", "a@x.test", NULL, "A\r\n");
	nr_delivery_kick(d);
	turn();
	l = open_link(0);
	ASSERT_TRUE(l);
	greet(l, NR_SMTPC_CAP_AUTH, NR_SMTPC_AUTH_PLAIN);
	EXPECT_TRUE(strstr(l->out, "AUTH PLAIN ") != NULL);
	EXPECT_TRUE(strstr(l->out, "secret") == NULL);
	say(l, 535, "5.7.8 bad credentials");
	nr_delivery_status(d, &st, 1);
	EXPECT_EQ(st.state, NR_UPSTREAM_AUTH_FAILED);
	EXPECT_TRUE(st.retry_in_ms > 59 * 60000);
	EXPECT_TRUE(strstr(st.last_error, "535 5.7.8") != NULL);
	/* No new attempt for most of an hour, however often we are kicked. */
	advance(30 * 60000);
	nr_delivery_kick(d);
	advance(29 * 60000);
	EXPECT_EQ(opens[0], 1);
	EXPECT_EQ(find(a)->state, NR_MSG_PENDING);
	advance(2 * 60000);
	EXPECT_EQ(opens[0], 2);
	nr_delivery_stop(d);
}

TEST(expiry_reports_once_but_never_for_null_sender)
{
	struct nr_delivery *d = setup(1, NULL);
	nr_qid_t a, b;
	ASSERT_TRUE(d);
	a = add_msg("cam@lan", "a@x.test", NULL, "A\r\n");
	b = add_msg("", "admin@example.test", NULL, "old report\r\n");
	find(a)->arrival = wall - 6 * 86400;
	find(b)->arrival = wall - 6 * 86400;
	nr_delivery_kick(d);
	turn();
	EXPECT_EQ(find(a)->state, NR_MSG_DEAD);
	EXPECT_EQ(find(b)->state, NR_MSG_DEAD);
	EXPECT_EQ(digests, 1);
	EXPECT_TRUE(strstr(digest_body, "expired") != NULL);
	EXPECT_TRUE(strstr(digest_body, "to=<a@x.test>") != NULL);
	EXPECT_TRUE(strstr(digest_body, "old report") == NULL);
	EXPECT_TRUE(strstr(digest_body, "from=<>") == NULL);
	EXPECT_TRUE(sim_log_find("to=<a@x.test>, relay=none, ") >= 0);
	EXPECT_TRUE(sim_log_find("dsn=4.4.7, status=bounced (message expired") >= 0);
	EXPECT_TRUE(sim_log_find(": removed (expired; kept as a dead letter)") >= 0);
	nr_delivery_stop(d);
}

TEST(connections_are_bounded)
{
	struct nr_delivery *d = setup(1, NULL);
	struct nr_upstream_status st;
	size_t i;
	int k;
	ASSERT_TRUE(d);
	for (i = 0; i < 12; i++)
		add_msg("cam@lan", "a@x.test", NULL, "A\r\n");
	nr_delivery_kick(d);
	turn();
	/* Bring every opened connection to READY, repeatedly. */
	for (k = 0; k < 20; k++) {
		for (i = 0; i < 16; i++)
			if (links[i].open && nr_smtpc_state_name(links[i].s)[0] == 'C')
				greet(&links[i], NR_SMTPC_CAP_PIPELINING, 0);
		advance(1000);
	}
	/* upstream_connections, not the build's ceiling, bounds them */
	nr_delivery_status(d, &st, 1);
	EXPECT_EQ(st.connections, 4);
	EXPECT_EQ(opens[0], 4);
	nr_delivery_stop(d);
}

TEST(rewrite_on_the_wire_only_and_reload_copies_the_settings)
{
	struct nr_delivery *d = setup(1, NULL);
	struct nr_conf c2;
	struct nr_conf_alias al[2];
	char from[2][32], to[2][32], host[16], sender[32];
	struct nr_dlink *l;
	nr_qid_t a, b;
	size_t i;
	ASSERT_TRUE(d);
	strcpy(from[0], "root");
	strcpy(to[0], "admin@example.com");
	strcpy(from[1], "*@nas.lan");
	strcpy(to[1], "catch@example.com");
	strcpy(host, "nas.lan");
	strcpy(sender, "relay@example.com");
	memset(al, 0, sizeof(al));
	for (i = 0; i < 2; i++) {
		al[i].from = from[i];
		al[i].to = to[i];
	}
	c2 = conf;
	c2.hostname = host;
	c2.sender = sender;
	c2.from_rewrite = 1;
	c2.alias = al;
	c2.alias_count = 2;
	ASSERT_EQ(nr_delivery_reload(d, &c2), 0);
	/* Nothing may point into the conf once reload returned. */
	memset(from, 'X', sizeof(from));
	memset(to, 'X', sizeof(to));
	memset(host, 'X', sizeof(host));
	memset(sender, 'X', sizeof(sender));
	memset(al, 0, sizeof(al));
	memset(&c2, 0, sizeof(c2));

	a = add_msg("printer", "root", "x@nas.lan",
		    "From: Printer <printer@nas.lan>\r\nSubject: t\r\n\r\n.dot\r\nFrom: body\r\n");
	nr_delivery_kick(d);
	turn();
	l = open_link(0);
	ASSERT_TRUE(l);
	greet(l, NR_SMTPC_CAP_PIPELINING, 0);
	EXPECT_TRUE(strstr(l->out, "MAIL FROM:<relay@example.com>\r\n"
				   "RCPT TO:<admin@example.com>\r\n"
				   "RCPT TO:<catch@example.com>\r\nDATA\r\n") != NULL);
	say(l, 250, "ok");
	say(l, 250, "ok");
	say(l, 550, "5.1.1 no catch-all here");
	say(l, 354, "go");
	/* From rewritten, Reply-To added at the end of the header block, the
	 * body untouched, dot-stuffing last. */
	EXPECT_TRUE(strstr(l->out, "\r\nFrom: \"Printer via nanorelay\" <relay@example.com>\r\n"
				   "Subject: t\r\n"
				   "Reply-To: Printer <printer@nas.lan>\r\n"
				   "\r\n"
				   "..dot\r\nFrom: body\r\n.\r\n") != NULL);
	say(l, 250, "2.0.0 queued");
	/* The queue's indices and addresses are unchanged. */
	EXPECT_EQ(find(a)->rs[0], NR_RCPT_DELIVERED);
	EXPECT_EQ(find(a)->rs[1], NR_RCPT_FAILED);
	EXPECT_STREQ(find(a)->rcpt[0], "root");
	/* The log names both, as Postfix does: to= on the wire, orig_to= queued. */
	EXPECT_TRUE(sim_log_find("to=<admin@example.com>, orig_to=<root>, relay=") >= 0);
	EXPECT_TRUE(sim_log_find("to=<catch@example.com>, orig_to=<x@nas.lan>, ") >= 0);
	EXPECT_TRUE(sim_log_find("dsn=5.1.1, status=bounced (") >= 0);
	EXPECT_TRUE(sim_log_find(": removed") >= 0);

	/* All header, no body; a null sender (a report) keeps its From. */
	b = add_msg("", "root", NULL, "From: Printer <printer@nas.lan>\r\nSubject: h");
	nr_delivery_kick(d);
	turn();
	EXPECT_TRUE(strstr(l->out, "MAIL FROM:<>\r\nRCPT TO:<admin@example.com>\r\n") != NULL);
	say(l, 250, "ok");
	say(l, 250, "ok");
	say(l, 354, "go");
	EXPECT_TRUE(strstr(l->out, "\r\nFrom: Printer <printer@nas.lan>\r\nSubject: h\r\n.\r\n") !=
		    NULL);
	say(l, 250, "ok");
	EXPECT_EQ(find(b)->state, NR_MSG_DONE);

	a = add_msg("ups@nas.lan", "ops", NULL, "Subject: no from\r\n\r\nx\r\n");
	nr_delivery_kick(d);
	turn();
	EXPECT_TRUE(
	    strstr(l->out, "MAIL FROM:<relay@example.com>\r\nRCPT TO:<catch@example.com>\r\n") !=
	    NULL);
	say(l, 250, "ok");
	say(l, 250, "ok");
	say(l, 354, "go");
	EXPECT_TRUE(
	    strstr(l->out, "\r\nSubject: no from\r\nFrom: <relay@example.com>\r\n\r\nx\r\n.\r\n") !=
	    NULL);
	say(l, 250, "ok");
	EXPECT_EQ(find(a)->state, NR_MSG_DONE);

	/* A bad rewrite setting is refused and the old one stays. */
	c2 = conf;
	c2.sender = "bad sender";
	EXPECT_EQ(nr_delivery_reload(d, &c2), NR_EINVAL);
	nr_delivery_stop(d);
}

TEST(reload_in_flight_keeps_the_message_rewrite)
{
	struct nr_delivery *d = setup(1, NULL);
	struct nr_conf_alias *al = calloc(1, sizeof(*al));
	struct nr_conf c2;
	struct nr_dlink *l;
	nr_qid_t a;
	ASSERT_TRUE(d);
	ASSERT_TRUE(al);
	al->from = malloc(8);
	al->to = malloc(32);
	ASSERT_TRUE(al->from && al->to);
	strcpy(al->from, "root");
	strcpy(al->to, "admin@example.com");
	c2 = conf;
	c2.from_rewrite = 1;
	c2.alias = al;
	c2.alias_count = 1;
	ASSERT_EQ(nr_delivery_reload(d, &c2), 0);
	a = add_msg("cam@nas.lan", "root", NULL, "From: cam@nas.lan\r\n\r\nx\r\n");
	nr_delivery_kick(d);
	turn();
	l = open_link(0);
	ASSERT_TRUE(l);
	greet(l, NR_SMTPC_CAP_PIPELINING, 0);
	EXPECT_TRUE(strstr(l->out, "RCPT TO:<admin@example.com>\r\n") != NULL);
	say(l, 250, "ok");
	say(l, 250, "ok");
	/* Reload mid-transaction to settings without rewriting, then free the
	 * old ones: the message goes on as it started. */
	c2.from_rewrite = 0;
	c2.alias_count = 0;
	c2.alias = NULL;
	ASSERT_EQ(nr_delivery_reload(d, &c2), 0);
	free(al->from);
	free(al->to);
	free(al);
	say(l, 354, "go");
	EXPECT_TRUE(strstr(l->out, "\r\nFrom: \"cam@nas.lan via nanorelay\" <me@gmail.test>\r\n"
				   "Reply-To: cam@nas.lan\r\n\r\nx\r\n.\r\n") != NULL);
	say(l, 250, "ok");
	EXPECT_EQ(find(a)->state, NR_MSG_DONE);
	nr_delivery_stop(d);
}

TEST(tls_none_without_insecure_is_refused)
{
	struct nr_delivery *d = setup(1, NULL);
	nr_delivery_stop(d);
	d = NULL;
	hosts[0].insecure = 0;
	EXPECT_EQ(nr_delivery_start_links(&d, NULL, &conf, NULL, &link_ops, NULL), NR_EINVAL);
}

int main(void)
{
	RUN(delivers_with_per_recipient_outcomes_and_one_digest);
	RUN(deferred_message_does_not_block_the_next);
	RUN(failover_and_status);
	RUN(auth_535_holds_the_smarthost);
	RUN(expiry_reports_once_but_never_for_null_sender);
	RUN(connections_are_bounded);
	RUN(tls_none_without_insecure_is_refused);
	RUN(rewrite_on_the_wire_only_and_reload_copies_the_settings);
	RUN(reload_in_flight_keeps_the_message_rewrite);
	return TEST_REPORT();
}
