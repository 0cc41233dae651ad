/* Unit tests of the delivery engine: the real scheduler, sessions, loop,
 * queue (on the RAM store) and log, on the simulator's clock (tests/sim),
 * under a scripted link (delivery_link.h) that plays the smarthost. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "conf/conf.h"
#include "core/build.h"
#include "core/loop.h"
#include "core/stats.h"
#include "delivery/delivery.h"
#include "delivery/delivery_link.h"
#include "delivery/delivery_sched.h"
#include "oauth2/oauth2.h"
#include "queue/queue.h"
#include "sim.h"
#include "smtpc/smtpc_session.h"
#include "store/store.h"
#include "test.h"

/* ==== the real modules ==== */

static struct nr_loop *loop;
static struct nr_bdev rb;
static struct nr_queue *q;

/* Run the loop (hooks and due timers) until it is quiet; the clock stands. */
static void spin(void);

static void turn(void)
{
	spin();
}

static void advance(uint64_t ms)
{
	sim_advance(ms);
	spin();
}

/* The password file of the AUTH test (read through the platform's files). */
#define PW_FILE "test_delivery.pw"

/* ---- messages: into the real queue, outcomes as the engine reports them ---- */

struct commit_wait {
	int called, result;
	nr_qid_t id;
};

static void committed(void *arg, int result, nr_qid_t id)
{
	struct commit_wait *c = arg;
	c->called = 1;
	c->result = result;
	c->id = id;
}

static nr_qid_t add_msg_at(int64_t arrival, const char *sender, const char *r0, const char *r1,
			   const char *body)
{
	const char *rcpts[2] = {r0, r1};
	struct nr_qenvelope env;
	struct nr_qwriter *w = NULL;
	struct commit_wait c = {0, 0, 0};

	memset(&env, 0, sizeof(env));
	env.sender = sender;
	env.rcpts = rcpts;
	env.nrcpt = r1 ? 2 : 1;
	env.arrival = arrival;
	env.client = "[192.168.1.20]";
	if (nr_queue_begin(q, &env, strlen(body), &w) != 0 ||
	    nr_queue_append(w, body, strlen(body)) != 0 || nr_queue_commit(w, committed, &c) != 0)
		return 0;
	/* Durable now, without a loop turn: the engine hears of it only
	 * through the test's kick, as a daemon's commit hook would tell it. */
	nr_queue_flush(q);
	return c.called && c.result == 0 ? c.id : 0;
}

static nr_qid_t add_msg(const char *sender, const char *r0, const char *r1, const char *body)
{
	int64_t now = 0;
	EXPECT_EQ(nr_plat_wall_time(&now), 0);
	return add_msg_at(now, sender, r0, r1, body);
}

/* What the engine reported for each recipient (nr_delivery_observe): a
 * delivered message leaves the queue, so its outcome is known only so. */
static struct outcome {
	nr_qid_t id;
	size_t rcpt;
	int outcome; /* 0 delivered, 1 deferred, 2 failed */
	char addr[64];
} outcomes[64];
static size_t noutcomes;

static void on_outcome(void *arg, uint64_t id, size_t rcpt, int outcome, const char *text)
{
	struct outcome *o;
	enum nr_rcpt_state st;
	const char *addr;

	(void)arg;
	(void)text;
	if (noutcomes >= NR_ARRAY_LEN(outcomes))
		return;
	o = &outcomes[noutcomes++];
	o->id = id;
	o->rcpt = rcpt;
	o->outcome = outcome;
	/* The address as the queue holds it (rewriting is for the wire only). */
	addr = nr_queue_rcpt(q, id, rcpt, &st);
	snprintf(o->addr, sizeof(o->addr), "%s", addr ? addr : "?");
}

static struct nr_qinfo info(nr_qid_t id)
{
	struct nr_qinfo in;
	if (nr_queue_info(q, id, &in) != 0) {
		/* The queue keeps no finished message. */
		memset(&in, 0, sizeof(in));
		in.id = id;
		in.state = NR_MSG_DONE;
	}
	return in;
}

static enum nr_msg_state msg_state(nr_qid_t id)
{
	return info(id).state;
}

/* A recipient's state: the queue's while the message is there, else the
 * engine's last report. */
static enum nr_rcpt_state rcpt_state(nr_qid_t id, size_t i)
{
	enum nr_rcpt_state st = NR_RCPT_PENDING;
	size_t k;

	if (nr_queue_info(q, id, &(struct nr_qinfo){0}) == 0) {
		nr_queue_rcpt(q, id, i, &st);
		return st;
	}
	for (k = noutcomes; k-- > 0;)
		if (outcomes[k].id == id && outcomes[k].rcpt == i)
			return outcomes[k].outcome == 0   ? NR_RCPT_DELIVERED
			       : outcomes[k].outcome == 2 ? NR_RCPT_FAILED
							  : NR_RCPT_PENDING;
	return st;
}

/* The queued address of recipient i, as the engine saw it. */
static const char *rcpt_addr(nr_qid_t id, size_t i)
{
	size_t k;
	for (k = noutcomes; k-- > 0;)
		if (outcomes[k].id == id && outcomes[k].rcpt == i)
			return outcomes[k].addr;
	return "";
}

/* ---- failure digests: the engine queues them as messages of its own ---- */

static nr_qid_t digest_ids[16];
static int digests;
static char digest_body[65536];
static char digest_rcpt[64];

static int find_digest(void *arg, const struct nr_qinfo *in)
{
	struct nr_qreader *r;
	enum nr_rcpt_state st;
	size_t len = 0;
	long n;
	int i;

	(void)arg;
	if (strcmp(nr_queue_client(q, in->id), "nanorelay-digest") != 0)
		return 0;
	for (i = 0; i < digests; i++)
		if (digest_ids[i] == in->id)
			return 0;
	if (digests < (int)NR_ARRAY_LEN(digest_ids))
		digest_ids[digests] = in->id;
	digests++;
	/* From the configured sender (me@gmail.test, or relay@example.com
	 * after the rewrite test's reload), not <>: providers refuse that. */
	EXPECT_TRUE(strcmp(nr_queue_sender(q, in->id), "me@gmail.test") == 0 ||
		    strcmp(nr_queue_sender(q, in->id), "relay@example.com") == 0);
	EXPECT_EQ(in->nrcpt, 1);
	snprintf(digest_rcpt, sizeof(digest_rcpt), "%s", nr_queue_rcpt(q, in->id, 0, &st));
	if (nr_queue_read_open(q, in->id, &r) != 0)
		return 0;
	while ((n = nr_qreader_read(r, digest_body + len, sizeof(digest_body) - 1 - len)) > 0)
		len += (size_t)n;
	digest_body[len] = '\0';
	nr_qreader_close(r);
	return 0;
}

static void spin(void)
{
	int i;
	for (i = 0; i < 40; i++) {
		nr_loop_turn(loop, 0);
		EXPECT_EQ(nr_queue_foreach(q, find_digest, NULL), 0);
	}
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

/* Set before setup(): smarthost 0 uses oauth2= (its tokens in ".") */
static struct nr_conf_oauth2 *setup_oauth2;

static struct nr_delivery *setup(size_t nhosts, const char *user)
{
	struct nr_delivery *d = NULL;
	FILE *f;
	size_t i;

	sim_reset();
	memset(links, 0, sizeof(links));
	memset(opens, 0, sizeof(opens));
	noutcomes = 0;
	digests = 0;
	digest_body[0] = '\0';
	digest_rcpt[0] = '\0';
	if (nr_loop_new(&loop, 64, 64) != 0 || nr_store_ram_open(&rb, 256 * 1024, 4096) != 0 ||
	    nr_queue_open(&q, &rb, loop) != 0)
		return NULL;
	f = fopen(PW_FILE, "w");
	if (!f || fputs("secret\n", f) < 0 || fclose(f) != 0)
		return NULL;
	memset(&conf, 0, sizeof(conf));
	memset(hosts, 0, sizeof(hosts));
	for (i = 0; i < nhosts; i++) {
		hosts[i].host = i ? "backup.test" : "smtp.test";
		hosts[i].port = (uint16_t)(2500 + i);
		hosts[i].tls = NR_TLS_NONE;
		hosts[i].insecure = 1;
		hosts[i].user = (char *)user;
		hosts[i].password_file = user ? PW_FILE : NULL;
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
	conf.state_dir = ".";
	if (setup_oauth2 != NULL) {
		hosts[0].password_file = NULL;
		hosts[0].oauth2 = setup_oauth2;
		hosts[0].auth_mech = "XOAUTH2";
		hosts[0].tls = NR_TLS_IMPLICIT; /* bearer tokens never travel in clear */
		hosts[0].insecure = 0;
	}
	if (nr_delivery_start_links(&d, loop, &conf, q, &link_ops, NULL) != 0)
		return NULL;
	nr_delivery_observe(d, on_outcome, NULL);
	return d;
}

/* Stop the engine, then free the modules under it. */
static void teardown(struct nr_delivery *d)
{
	nr_delivery_stop(d);
	nr_queue_close(q);
	q = NULL;
	rb.close(&rb);
	nr_loop_free(loop);
	loop = NULL;
	remove(PW_FILE);
}

static void greet(struct nr_dlink *l, uint32_t caps, uint32_t auth)
{
	nr_smtpc_on_connected(l->s);
	say(l, 220, "smtp.test ESMTP");
	say_ehlo(l, caps, auth);
}

/* The engine's digest is a queued message like any other: once due it goes
 * out first (it is older) on the idle connection, and the smarthost takes
 * it. The output is cleared before the last reply, so the test's next
 * checks see only what follows it. */
static void take_digest(struct nr_dlink *l)
{
	/* From the configured sender: me@gmail.test, or relay@example.com
	 * after the rewrite test's reload. */
	EXPECT_TRUE(strstr(l->out, "MAIL FROM:<me@gmail.test>\r\nRCPT TO:<admin@example.test>\r\n"
				   "DATA\r\n") != NULL ||
		    strstr(l->out,
			   "MAIL FROM:<relay@example.com>\r\nRCPT TO:<admin@example.test>\r\n"
			   "DATA\r\n") != NULL);
	say(l, 250, "ok");
	say(l, 250, "ok");
	say(l, 354, "go");
	EXPECT_TRUE(strstr(l->out, "\r\n.\r\n") != NULL);
	l->len = 0;
	l->out[0] = '\0';
	say(l, 250, "ok");
	EXPECT_EQ(msg_state(digest_ids[digests - 1]), NR_MSG_DONE);
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
	EXPECT_EQ(info(a).inflight, 1);
	say(l, 250, "ok");
	say(l, 250, "ok");
	say(l, 550, "5.1.1 no such user");
	say(l, 354, "go");
	EXPECT_TRUE(strstr(l->out, "hi\r\n.\r\n") != NULL);
	say(l, 250, "2.0.0 queued");
	EXPECT_EQ(rcpt_state(a, 0), NR_RCPT_DELIVERED);
	EXPECT_EQ(rcpt_state(a, 1), NR_RCPT_FAILED);
	EXPECT_EQ(msg_state(a), NR_MSG_DONE);
	EXPECT_EQ(info(a).inflight, 0);
	/* One digest to admin, from the account, naming the failure. */
	EXPECT_EQ(digests, 1);
	EXPECT_STREQ(digest_rcpt, "admin@example.test");
	EXPECT_TRUE(strstr(digest_body, "From: \"nanorelay on ") == digest_body);
	EXPECT_TRUE(strstr(digest_body, "\" <me@gmail.test>\r\nTo: <admin@example.test>\r\n") !=
		    NULL);
	EXPECT_TRUE(strstr(digest_body, "\r\nAuto-Submitted: auto-generated\r\n") != NULL);
	EXPECT_TRUE(strstr(digest_body, "to=<gone@x.test>") != NULL);
	EXPECT_TRUE(strstr(digest_body, "550 5.1.1 no such user") != NULL);
	/* A second failure soon after waits for the interval: no storm. */
	a = add_msg("cam@lan", "gone2@x.test", NULL, "x\r\n");
	nr_delivery_kick(d);
	turn();
	take_digest(l);
	say(l, 250, "ok");
	say(l, 550, "no");
	say(l, 554, "no valid recipients");
	EXPECT_EQ(rcpt_state(a, 0), NR_RCPT_FAILED);
	EXPECT_EQ(digests, 1);
	advance(NR_DELIVERY_DIGEST_INTERVAL_MS);
	EXPECT_EQ(digests, 2);
	EXPECT_TRUE(strstr(digest_body, "gone2@x.test") != NULL);
	teardown(d);
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
	EXPECT_EQ(info(a).attempts, 1);
	EXPECT_TRUE(info(a).next_attempt_ms >= sim_now() + 45000);
	EXPECT_TRUE(info(a).next_attempt_ms <= sim_now() + 60000);
	EXPECT_TRUE(strstr(info(a).last_error, "451 4.3.0") != NULL);
	EXPECT_TRUE(strstr(l->out, "RSET\r\n") != NULL);
	say(l, 250, "ok"); /* RSET; B goes out on the same connection */
	EXPECT_TRUE(strstr(l->out, "MAIL FROM:<me@gmail.test>\r\n") != NULL);
	say(l, 250, "ok");
	say(l, 250, "ok");
	say(l, 354, "go");
	say(l, 250, "ok");
	EXPECT_EQ(msg_state(b), NR_MSG_DONE);
	EXPECT_EQ(msg_state(a), NR_MSG_PENDING);
	EXPECT_EQ(opens[0], 1);
	/* Later A is due again and goes out. */
	advance(60000);
	EXPECT_TRUE(strstr(l->out, "MAIL FROM") != NULL || open_link(0) != l);
	EXPECT_EQ(digests, 0);
	teardown(d);
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
	EXPECT_EQ(info(a).attempts, 0);
	l = open_link(1);
	ASSERT_TRUE(l);
	greet(l, 0, 0);
	say(l, 250, "ok");
	say(l, 250, "ok");
	say(l, 354, "go");
	say(l, 250, "ok");
	EXPECT_EQ(msg_state(a), NR_MSG_DONE);
	teardown(d);
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
	if (!NR_ENABLED(CONFIG_NR_AUTH_PLAIN)) {
		/* PLAIN compiled out: the smarthost offers nothing this build
		 * can use, so the attempt ends before any AUTH (no 535 to hold) */
		EXPECT_EQ(l->open, 0);
		EXPECT_TRUE(strstr(l->out, "AUTH") == NULL);
		nr_delivery_status(d, &st, 1);
		EXPECT_TRUE(strstr(st.last_error, "offers no AUTH mechanism we can use") != NULL);
		EXPECT_EQ(msg_state(a), NR_MSG_PENDING);
		teardown(d);
		return;
	}
	EXPECT_TRUE(strstr(l->out, "AUTH PLAIN ") != NULL);
	EXPECT_TRUE(strstr(l->out, "secret") == NULL);
	sim_log_clear();
	say(l, 535, "5.7.8 bad credentials");
	nr_delivery_status(d, &st, 1);
	EXPECT_EQ(st.state, NR_UPSTREAM_AUTH_FAILED);
	EXPECT_TRUE(st.retry_in_ms > 59 * 60000);
	EXPECT_TRUE(strstr(st.last_error, "535 5.7.8") != NULL);
	/* The waiting message is deferred for mailq and the log (issue 21),
	 * its next try no earlier than the hold's end. */
	EXPECT_EQ(info(a).attempts, 1);
	EXPECT_TRUE(strstr(info(a).last_error, "535 5.7.8") != NULL);
	EXPECT_TRUE(info(a).next_attempt_ms >= sim_now() + 59 * 60000);
	EXPECT_TRUE(sim_log_find("to=<a@x.test>, relay=smtp.test[127.0.0.1]:2500, ") >= 0);
	EXPECT_TRUE(sim_log_find("dsn=4.7.8, status=deferred (host smtp.test said: 535 5.7.8") >=
		    0);
	/* No new attempt for most of an hour, however often we are kicked. */
	advance(30 * 60000);
	nr_delivery_kick(d);
	advance(29 * 60000);
	EXPECT_EQ(opens[0], 1);
	EXPECT_EQ(msg_state(a), NR_MSG_PENDING);
	advance(2 * 60000);
	EXPECT_EQ(opens[0], 2);
	teardown(d);
}

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (f != NULL) {
		fputs(text, f);
		fclose(f);
	}
}

TEST(auth_hold_lifts_when_the_secret_file_changes)
{
	TEST_NEEDS(CONFIG_NR_AUTH_PLAIN); /* the server offers PLAIN only */
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
	say(l, 535, "5.7.8 bad credentials");
	nr_delivery_status(d, &st, 1);
	EXPECT_EQ(st.state, NR_UPSTREAM_AUTH_FAILED);
	/* The same file, however long: still held. */
	advance(60000);
	EXPECT_EQ(opens[0], 1);
	/* A new password: the next look (within 5 s) lifts the hold, and the
	 * message goes out at once, not at its retry time. */
	write_text(PW_FILE, "fixed\n");
	advance(6000);
	EXPECT_EQ(opens[0], 2);
	l = open_link(0);
	ASSERT_TRUE(l);
	greet(l, NR_SMTPC_CAP_AUTH, NR_SMTPC_AUTH_PLAIN);
	EXPECT_TRUE(strstr(l->out, "AUTH PLAIN AG1lQGdtYWlsLnRlc3QAZml4ZWQ=") != NULL);
	say(l, 235, "ok");
	say(l, 250, "ok");
	say(l, 250, "ok");
	say(l, 354, "go");
	say(l, 250, "ok");
	EXPECT_EQ(msg_state(a), NR_MSG_DONE);
	teardown(d);
}

#define OAUTH2_STORE "./oauth2-smtp.test-2500.tokens"

TEST(oauth2_smarthost_sends_the_stored_token_and_defers_without_one)
{
	static struct nr_conf_oauth2 o;
	struct nr_delivery *d;
	struct nr_upstream_status st;
	struct nr_dlink *l;
	char text[128];
	nr_qid_t a;

	if (!NR_ENABLED(CONFIG_NR_OAUTH2)) {
		printf("# %s: skipped, needs CONFIG_NR_OAUTH2\n", __func__);
		return;
	}
	memset(&o, 0, sizeof(o));
	o.provider = NR_OAUTH2_CUSTOM;
	o.grant = NR_OAUTH2_REFRESH_TOKEN;
	o.client_id = "c";
	o.token_url = "https://auth.test/token";
	setup_oauth2 = &o;
	remove(OAUTH2_STORE);
	d = setup(1, "me@gmail.test");
	setup_oauth2 = NULL;
	ASSERT_TRUE(d);
	a = add_msg("cam@lan", "a@x.test", NULL, "A\r\n");
	/* No refresh token yet: held like a 535, saying what fixes it; the
	 * message waits (never bounced). */
	nr_delivery_kick(d);
	turn();
	nr_delivery_status(d, &st, 1);
	EXPECT_EQ(st.state, NR_UPSTREAM_AUTH_FAILED);
	EXPECT_STREQ(st.last_error,
		     "OAuth2: no refresh token yet; run: nanorelay oauth2 login smtp.test");
	EXPECT_EQ(msg_state(a), NR_MSG_PENDING);
	EXPECT_EQ(opens[0], 0);
	/* A login writes the store: that lifts the hold within 5 s, and the
	 * stored access token goes out as the exact XOAUTH2 string. */
	snprintf(text, sizeof(text), "refresh_token r1\naccess_token tok123\nexpires_at %lld\n",
		 (long long)SIM_WALL0 + 86400);
	write_text(OAUTH2_STORE, text);
	advance(6000);
	l = open_link(0);
	ASSERT_TRUE(l);
	greet(l, NR_SMTPC_CAP_AUTH, NR_SMTPC_AUTH_XOAUTH2);
	/* base64("user=me@gmail.test\1auth=Bearer tok123\1\1") */
	EXPECT_TRUE(strstr(l->out, "AUTH XOAUTH2 dXNlcj1tZUBnbWFpbC50ZXN0AWF1dGg9QmVhcmVyIHRv"
				   "azEyMwEB\r\n") != NULL);
	EXPECT_TRUE(strstr(l->out, "tok123") == NULL);
	/* Refused (as Microsoft does for an expired token): not a 1-hour
	 * hold but one new token request, here to a name the test's DNS does
	 * not know, which defers like a connection failure. */
	say(l, 535, "5.7.3 Authentication unsuccessful");
	turn();
	nr_delivery_status(d, &st, 1);
	EXPECT_TRUE(st.state != NR_UPSTREAM_AUTH_FAILED);
	/* The 535, or already the token request's failure: the name is unknown
	 * to the test's resolver, which may answer within the turn (at once
	 * without c-ares, and under qemu-user). */
	EXPECT_TRUE(strstr(st.last_error, "535 5.7.3") != NULL ||
		    strncmp(st.last_error, "OAuth2: ", 8) == 0);
	advance(31000); /* the request's deadline at the latest */
	nr_delivery_status(d, &st, 1);
	EXPECT_EQ(st.state, NR_UPSTREAM_DEFERRING);
	if (NR_ENABLED(CONFIG_NR_DNS_CARES) || NR_ENABLED(CONFIG_NR_DNS_STUB))
		EXPECT_TRUE(strncmp(st.last_error, "OAuth2: token endpoint: ", 24) == 0);
	else /* NR_DNS_NONE resolves literal addresses only */
		EXPECT_STREQ(st.last_error,
			     "OAuth2: cannot ask https://auth.test/token: not supported");
	EXPECT_EQ(msg_state(a), NR_MSG_PENDING);
	/* the refused access token is gone from the store, the refresh token kept */
	{
		static struct nr_oauth2_tokens t;
		EXPECT_EQ(nr_oauth2_store_load(OAUTH2_STORE, &t), 0);
		EXPECT_STREQ(t.access_token, "");
		EXPECT_STREQ(t.refresh_token, "r1");
	}
	remove(OAUTH2_STORE);
	teardown(d);
}

TEST(expiry_reports_once_but_never_for_null_sender)
{
	struct nr_delivery *d = setup(1, NULL);
	nr_qid_t a, b;
	ASSERT_TRUE(d);
	/* Both arrived six days ago: max_age is five. */
	a = add_msg_at(SIM_WALL0 - 6 * 86400, "cam@lan", "a@x.test", NULL, "A\r\n");
	b = add_msg_at(SIM_WALL0 - 6 * 86400, "", "admin@example.test", NULL, "old report\r\n");
	nr_delivery_kick(d);
	turn();
	EXPECT_EQ(msg_state(a), NR_MSG_DEAD);
	EXPECT_EQ(msg_state(b), NR_MSG_DEAD);
	EXPECT_EQ(digests, 1);
	EXPECT_TRUE(strstr(digest_body, "expired") != NULL);
	EXPECT_TRUE(strstr(digest_body, "to=<a@x.test>") != NULL);
	EXPECT_TRUE(strstr(digest_body, "old report") == NULL);
	EXPECT_TRUE(strstr(digest_body, "from=<>") == NULL);
	EXPECT_TRUE(sim_log_find("to=<a@x.test>, relay=none, ") >= 0);
	EXPECT_TRUE(sim_log_find("dsn=4.4.7, status=bounced (message expired") >= 0);
	EXPECT_TRUE(sim_log_find(": removed (expired; kept as a dead letter)") >= 0);
	teardown(d);
}

/* The digest goes from the account now, no longer from <>; a refused
 * digest must still not be reported in another one (no loop). */
TEST(refused_digest_is_not_reported_again)
{
	struct nr_delivery *d = setup(1, NULL);
	struct nr_dlink *l;
	nr_qid_t a;
	ASSERT_TRUE(d);
	a = add_msg("cam@lan", "gone@x.test", NULL, "x\r\n");
	nr_delivery_kick(d);
	turn();
	l = open_link(0);
	ASSERT_TRUE(l);
	greet(l, NR_SMTPC_CAP_PIPELINING, 0);
	say(l, 250, "ok");
	say(l, 550, "5.1.1 no such user");
	say(l, 554, "no valid recipients");
	EXPECT_EQ(rcpt_state(a, 0), NR_RCPT_FAILED);
	EXPECT_EQ(digests, 1);
	say(l, 250, "ok"); /* the RSET after the refused transaction */
	nr_delivery_kick(d);
	turn();
	EXPECT_TRUE(strstr(l->out, "MAIL FROM:<me@gmail.test>\r\nRCPT TO:<admin@example.test>\r\n"
				   "DATA\r\n") != NULL);
	say(l, 250, "ok");
	say(l, 250, "ok");
	say(l, 354, "go");
	say(l, 554, "5.2.252 SendAsDenied; me@gmail.test not allowed to send as x");
	EXPECT_EQ(msg_state(digest_ids[0]), NR_MSG_DONE);
	EXPECT_TRUE(sim_log_find("to=<admin@example.test>, relay=") >= 0);
	advance(2 * NR_DELIVERY_DIGEST_INTERVAL_MS);
	EXPECT_EQ(digests, 1);
	teardown(d);
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
	teardown(d);
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
	c2.from_rewrite = NR_FROM_REWRITE_ON;
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
	EXPECT_EQ(rcpt_state(a, 0), NR_RCPT_DELIVERED);
	EXPECT_EQ(rcpt_state(a, 1), NR_RCPT_FAILED);
	EXPECT_STREQ(rcpt_addr(a, 0), "root");
	/* The log names both, as Postfix does: to= on the wire, orig_to= queued. */
	EXPECT_TRUE(sim_log_find("to=<admin@example.com>, orig_to=<root>, relay=") >= 0);
	EXPECT_TRUE(sim_log_find("to=<catch@example.com>, orig_to=<x@nas.lan>, ") >= 0);
	EXPECT_TRUE(sim_log_find("dsn=5.1.1, status=bounced (") >= 0);
	EXPECT_TRUE(sim_log_find(": removed") >= 0);

	/* All header, no body; a null sender (a report) keeps its From. */
	b = add_msg("", "root", NULL, "From: Printer <printer@nas.lan>\r\nSubject: h");
	nr_delivery_kick(d);
	turn();
	take_digest(l);
	EXPECT_TRUE(strstr(l->out, "MAIL FROM:<>\r\nRCPT TO:<admin@example.com>\r\n") != NULL);
	say(l, 250, "ok");
	say(l, 250, "ok");
	say(l, 354, "go");
	EXPECT_TRUE(strstr(l->out, "\r\nFrom: Printer <printer@nas.lan>\r\nSubject: h\r\n.\r\n") !=
		    NULL);
	say(l, 250, "ok");
	EXPECT_EQ(msg_state(b), NR_MSG_DONE);

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
	EXPECT_EQ(msg_state(a), NR_MSG_DONE);

	/* A bad rewrite setting is refused and the old one stays. */
	c2 = conf;
	c2.sender = "bad sender";
	EXPECT_EQ(nr_delivery_reload(d, &c2), NR_EINVAL);
	teardown(d);
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
	c2.from_rewrite = NR_FROM_REWRITE_ON;
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
	c2.from_rewrite = NR_FROM_REWRITE_OFF;
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
	EXPECT_EQ(msg_state(a), NR_MSG_DONE);
	teardown(d);
}

/* A connection that fails before READY, with no other smarthost to try:
 * every waiting message is deferred as if tried (issue 21): a Postfix-style
 * status=deferred line per pending recipient, the deferred counter, the
 * reason and the next try for mailq. */
TEST(connect_failure_defers_logs_and_counts_waiting_mail)
{
	struct nr_delivery *d = setup(1, NULL);
	struct nr_upstream_status st;
	struct nr_dlink *l;
	nr_qid_t a, b;
	ASSERT_TRUE(d);
	nr_stats_reset();
	sim_log_clear();
	a = add_msg("cam@lan", "a1@x.test", "a2@x.test", "A\r\n");
	b = add_msg("cam@lan", "b1@x.test", NULL, "B\r\n");
	nr_delivery_kick(d);
	turn();
	l = open_link(0);
	ASSERT_TRUE(l);
	nr_smtpc_on_closed(l->s, NR_ECONNREFUSED); /* the connect failed */
	turn();
	EXPECT_EQ(info(a).attempts, 1);
	EXPECT_EQ(info(b).attempts, 1);
	EXPECT_TRUE(info(a).last_error[0] != '\0');
	EXPECT_STREQ(info(b).last_error, info(a).last_error);
	EXPECT_TRUE(info(a).next_attempt_ms >= sim_now() + 45000);
	EXPECT_EQ(nr_stats_get(NR_STAT_DEFERRED), 3);
	EXPECT_TRUE(sim_log_find(": to=<a1@x.test>, relay=smtp.test[127.0.0.1]:2500, delay=0, "
				 "delays=0/0.0/0/0, "
				 "dsn=4.4.") >= 0);
	EXPECT_TRUE(sim_log_find(": to=<a2@x.test>, relay=smtp.test") >= 0);
	EXPECT_TRUE(sim_log_find(": to=<b1@x.test>, relay=smtp.test") >= 0);
	EXPECT_TRUE(sim_log_find(", status=deferred (") >= 0);
	nr_delivery_status(d, &st, 1);
	EXPECT_EQ(st.state, NR_UPSTREAM_DEFERRING);
	EXPECT_EQ(st.last_error_at, SIM_WALL0);
	EXPECT_EQ(st.last_ok_at, 0);
	/* Kicks before the next try log nothing more. */
	nr_delivery_kick(d);
	advance(1000);
	EXPECT_EQ(nr_stats_get(NR_STAT_DEFERRED), 3);
	teardown(d);
}

/* The smarthost is down long enough for the message's backoff to grow to
 * many minutes; once it answers again, the message goes within a minute
 * (one probe interval), not at its next backoff step. */
TEST(recovered_smarthost_gets_deferred_mail_within_a_minute)
{
	struct nr_delivery *d = setup(1, NULL);
	struct nr_upstream_status st;
	struct nr_dlink *l;
	uint64_t back, waited;
	nr_qid_t a;
	int k, fails = 0;
	ASSERT_TRUE(d);
	a = add_msg("cam@lan", "a@x.test", NULL, "A\r\n");
	nr_delivery_kick(d);
	turn();
	/* 30 minutes down: every connection attempt is refused. */
	for (k = 0; k < 180; k++) {
		l = open_link(0);
		if (l) {
			nr_smtpc_on_closed(l->s, NR_ECONNREFUSED);
			fails++;
		}
		advance(10000);
	}
	EXPECT_TRUE(fails >= 25); /* probes: about one a minute, no more */
	EXPECT_TRUE(fails <= 31);
	EXPECT_EQ(msg_state(a), NR_MSG_PENDING);
	EXPECT_TRUE(info(a).attempts >= 4);
	/* its next backoff step is far away */
	EXPECT_TRUE(info(a).next_attempt_ms > sim_now() + 4 * 60000);
	nr_delivery_status(d, &st, 1);
	EXPECT_TRUE(st.retry_in_ms <= NR_DELIVERY_PROBE_MAX_MS);
	/* Back up now: the next probe gets through and takes the message. */
	back = sim_now();
	for (k = 0; k < 70 && !open_link(0); k++)
		advance(1000);
	l = open_link(0);
	ASSERT_TRUE(l);
	greet(l, NR_SMTPC_CAP_PIPELINING, 0);
	waited = sim_now() - back;
	EXPECT_TRUE(waited <= 60000);
	EXPECT_TRUE(strstr(l->out, "MAIL FROM:<me@gmail.test>\r\nRCPT TO:<a@x.test>\r\n") != NULL);
	EXPECT_TRUE(sim_log_find("smtp.test:2500 answers again; 1 deferred message due now") >= 0);
	say(l, 250, "ok");
	say(l, 250, "ok");
	say(l, 354, "go");
	say(l, 250, "ok");
	EXPECT_EQ(msg_state(a), NR_MSG_DONE);
	nr_delivery_status(d, &st, 1);
	EXPECT_EQ(st.state, NR_UPSTREAM_OK);
	EXPECT_TRUE(st.last_ok_at >= st.last_error_at && st.last_ok_at > 0);
	teardown(d);
}

/* No probe without mail waiting, and none for an AUTH hold. */
TEST(no_probe_when_nothing_waits)
{
	struct nr_delivery *d = setup(1, NULL);
	struct nr_dlink *l;
	nr_qid_t a;
	ASSERT_TRUE(d);
	a = add_msg("cam@lan", "a@x.test", NULL, "A\r\n");
	nr_delivery_kick(d);
	turn();
	l = open_link(0);
	ASSERT_TRUE(l);
	nr_smtpc_on_closed(l->s, NR_ECONNREFUSED);
	turn();
	advance(120000);
	l = open_link(0);
	ASSERT_TRUE(l); /* the message's retry */
	nr_smtpc_on_closed(l->s, NR_ECONNREFUSED);
	turn();
	EXPECT_EQ(nr_queue_delete(q, a), 0);
	advance(30 * 60000);
	EXPECT_EQ(opens[0], 2);
	teardown(d);
}

TEST(tls_none_without_insecure_is_refused)
{
	struct nr_delivery *d = setup(1, NULL);
	nr_delivery_stop(d);
	d = NULL;
	hosts[0].insecure = 0;
	EXPECT_EQ(nr_delivery_start_links(&d, loop, &conf, q, &link_ops, NULL), NR_EINVAL);
	teardown(d); /* d is NULL: frees the modules */
}

int main(void)
{
	RUN(delivers_with_per_recipient_outcomes_and_one_digest);
	RUN(deferred_message_does_not_block_the_next);
	RUN(failover_and_status);
	RUN(auth_535_holds_the_smarthost);
	RUN(auth_hold_lifts_when_the_secret_file_changes);
	RUN(oauth2_smarthost_sends_the_stored_token_and_defers_without_one);
	RUN(expiry_reports_once_but_never_for_null_sender);
	RUN(refused_digest_is_not_reported_again);
	RUN(connections_are_bounded);
	RUN(tls_none_without_insecure_is_refused);
	RUN(connect_failure_defers_logs_and_counts_waiting_mail);
	RUN(recovered_smarthost_gets_deferred_mail_within_a_minute);
	RUN(no_probe_when_nothing_waits);
	RUN(rewrite_on_the_wire_only_and_reload_copies_the_settings);
	RUN(reload_in_flight_keeps_the_message_rewrite);
	return TEST_REPORT();
}
