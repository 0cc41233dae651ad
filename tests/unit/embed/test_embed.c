/*
 * test_embed.c - the embedding API (include/nanorelay.h) as firmware uses
 * it: a relay from configuration text, on a device the program gives,
 * turned by hand, reloaded, stopped; and the submit API, whose success
 * must mean "on the device": every check of durability reopens a relay on
 * the bytes that were synced, as a power cut right after the call would.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/build.h"
#include "embed/embed.h"
#include "nanorelay.h"
#include "queue/queue.h"
#include "sim.h"
#include "test.h"

/* ---- a device that remembers what was synced ------------------------------------------ */

struct tdev {
	uint8_t *live;    /* what reads see */
	uint8_t *durable; /* as of the last sync: what a power cut leaves */
	uint8_t *cut;     /* durable at tdev_power_cut */
	uint64_t size;
	unsigned syncs, closed;
	int fail_sync; /* the next sync fails */
};

static int t_read(void *ctx, uint64_t off, void *buf, uint32_t len)
{
	struct tdev *d = ctx;

	memcpy(buf, d->live + off, len);
	return 0;
}

static int t_write(void *ctx, uint64_t off, const void *buf, uint32_t len)
{
	struct tdev *d = ctx;

	if (off + len > d->size)
		return NR_ENOSPC;
	memcpy(d->live + off, buf, len);
	return 0;
}

static int t_erase(void *ctx, uint64_t off, uint64_t len)
{
	struct tdev *d = ctx;

	memset(d->live + off, 0xFF, len);
	return 0;
}

static int t_sync(void *ctx)
{
	struct tdev *d = ctx;

	if (d->fail_sync) {
		d->fail_sync = 0;
		return NR_EIO;
	}
	memcpy(d->durable, d->live, d->size);
	d->syncs++;
	return 0;
}

static void t_close(void *ctx)
{
	struct tdev *d = ctx;

	d->closed++;
}

static void tdev_init(struct tdev *d, uint64_t size)
{
	memset(d, 0, sizeof(*d));
	d->size = size;
	d->live = malloc(size);
	d->durable = malloc(size);
	d->cut = malloc(size);
	memset(d->live, 0xFF, size);
	memset(d->durable, 0xFF, size);
}

/* A power cut now: only what was synced so far survives. The relay still
 * holds the device, so the cut is kept aside (cut) and put back by
 * tdev_power_on once the relay is freed: nothing the relay does after the
 * cut (its last turn syncs) reaches the next start. */
static void tdev_power_cut(struct tdev *d)
{
	memcpy(d->cut, d->durable, d->size);
}

static void tdev_power_on(struct tdev *d)
{
	memcpy(d->live, d->cut, d->size);
	memcpy(d->durable, d->cut, d->size);
}

static void tdev_free(struct tdev *d)
{
	free(d->live);
	free(d->durable);
	free(d->cut);
}

static struct nr_plat_storage tdev_storage(struct tdev *d)
{
	struct nr_plat_storage s;

	memset(&s, 0, sizeof(s));
	s.ctx = d;
	s.size = d->size;
	s.read = t_read;
	s.write = t_write;
	s.erase = t_erase;
	s.sync = t_sync;
	s.close = t_close;
	return s;
}

/* ---- helpers -------------------------------------------------------------------------------- */

#define CONF                                                                                       \
	"listen 127.0.0.1:2525\n"                                                                  \
	"hostname fw.lan\n"                                                                        \
	"max_message_size 4000\n"                                                                  \
	"max_header_size 2000\n"

static struct nr_relay *relay_on(struct tdev *d, const char *conf)
{
	struct nr_plat_storage s = tdev_storage(d);
	struct nr_relay *r = NULL;
	char err[256];

	if (nr_relay_new(&r, conf, strlen(conf), err, sizeof(err)) != 0) {
		NR_TEST_FAIL_("config refused: %s", err);
		return NULL;
	}
	if (nr_relay_set_storage(r, &s) != 0 || nr_relay_start(r, err, sizeof(err)) != 0) {
		NR_TEST_FAIL_("start: %s", err);
		nr_relay_free(r);
		return NULL;
	}
	return r;
}

static void spin(struct nr_relay *r)
{
	for (int i = 0; i < 40; i++)
		(void)nr_relay_turn(r, 0);
}

static size_t queued(const struct nr_relay *r)
{
	struct nr_relay_stats st;

	nr_relay_get_stats(r, &st);
	return st.queued;
}

/* Body of the oldest queued message (NUL-terminated) into buf. */
static const char *first_body(struct nr_relay *r, char *buf, size_t size)
{
	struct nr_queue *q = nr_relay_queue(r);
	struct nr_qreader *rd;
	nr_qid_t id;
	size_t n = 0;
	long got;

	buf[0] = '\0';
	if (nr_queue_next_due(q, UINT64_MAX, &id) < 0 || nr_queue_read_open(q, id, &rd) < 0)
		return buf;
	while ((got = nr_qreader_read(rd, buf + n, size - 1 - n)) > 0)
		n += (size_t)got;
	nr_qreader_close(rd);
	buf[n] = '\0';
	return buf;
}

/* '#' in want matches one hex digit (queue ids, Message-ID). */
static int match(const char *got, const char *want)
{
	for (; *want; want++, got++) {
		if (*want == '#') {
			if (!((*got >= '0' && *got <= '9') || (*got >= 'a' && *got <= 'f')))
				return 0;
		} else if (*got != *want) {
			return 0;
		}
	}
	return *got == '\0';
}

static int submit(struct nr_relay *r, const char *from, const char *to, const char *text, char *id)
{
	const char *rcpts[] = {to};
	struct nr_submit *s;
	int rc = nr_relay_submit_begin(r, from, rcpts, 1, 0, &s);

	if (rc != 0)
		return rc;
	rc = nr_submit_write(s, text, strlen(text));
	if (rc != 0) {
		nr_submit_abort(s);
		return rc;
	}
	return nr_submit_end(s, id, 17);
}

/* ---- configuration -----------------------------------------------------------------------------
 */

TEST(bad_config_text_gives_line_and_no_relay)
{
	static const char text[] = "hostname fw.lan\n\nmax_message_size lots\n";
	struct nr_relay *r = (struct nr_relay *)&r;
	char err[256];

	sim_reset();
	EXPECT_EQ(nr_relay_new(&r, text, sizeof(text) - 1, err, sizeof(err)), NR_EINVAL);
	EXPECT_TRUE(r == NULL);
	/* the file's message, without "FILE:" */
	EXPECT_TRUE(strncmp(err, "3: max_message_size: ", 21) == 0);
	EXPECT_TRUE(strstr(err, "lots") != NULL);
	EXPECT_EQ(nr_relay_new(&r, "bogus 1\n", 8, err, sizeof(err)), NR_EINVAL);
	EXPECT_STREQ(err, "1: unknown key \"bogus\"");
	EXPECT_TRUE(r == NULL);
}

TEST(storage_is_refused_after_start_and_twice)
{
	struct tdev d, e;
	struct nr_plat_storage s;
	struct nr_relay *r;
	char err[128];

	sim_reset();
	tdev_init(&d, 64 * 1024);
	tdev_init(&e, 64 * 1024);
	ASSERT_EQ(nr_relay_new(&r, CONF, strlen(CONF), err, sizeof(err)), 0);
	s = tdev_storage(&d);
	EXPECT_EQ(nr_relay_set_storage(r, &s), 0);
	s = tdev_storage(&e);
	EXPECT_EQ(nr_relay_set_storage(r, &s), NR_EBUSY);
	EXPECT_EQ(nr_relay_turn(r, 0), NR_ESTATE); /* not started */
	ASSERT_EQ(nr_relay_start(r, err, sizeof(err)), 0);
	EXPECT_EQ(nr_relay_set_storage(r, &s), NR_ESTATE);
	EXPECT_EQ(nr_relay_start(r, err, sizeof(err)), NR_ESTATE);
	nr_relay_free(r);
	EXPECT_EQ(d.closed, 1);
	EXPECT_EQ(e.closed, 0);
	EXPECT_EQ(sim_open_sockets(), 0);
	tdev_free(&d);
	tdev_free(&e);
}

/* A private relay (sendmail without a daemon): the `listen` lines and the
 * `queue` key of the file are not used: nothing is bound, and the queue is
 * the RAM asked for. */
TEST(private_relay_binds_nothing_and_queues_in_ram)
{
	static const char text[] = "listen 127.0.0.1:2525\n"
				   "hostname fw.lan\n"
				   "queue ram size=4M\n";
	struct nr_relay_stats st;
	struct nr_relay *r;
	struct nr_conf c;
	char err[128], id[17];

	TEST_NEEDS(CONFIG_NR_STORE_RAM); /* a private relay queues in RAM */
	sim_reset();
	ASSERT_EQ(nr_conf_parse_text(&c, text, sizeof(text) - 1, err, sizeof(err)), 0);
	ASSERT_EQ(nr_relay_new_private(&r, &c, 256 * 1024), 0);
	nr_conf_free(&c); /* moved: left inited, so this frees nothing */
	EXPECT_EQ(nr_relay_conf(r)->listen_count, 0);
	ASSERT_EQ(nr_relay_start(r, err, sizeof(err)), 0);
	EXPECT_TRUE(sim_listener("127.0.0.1:2525") == NR_SOCK_INVALID);
	EXPECT_EQ(sim_open_sockets(), 0);
	nr_relay_get_stats(r, &st);
	EXPECT_EQ(st.queue_persistent, 0);
	EXPECT_TRUE(st.queue_capacity > 128 * 1024 && st.queue_capacity <= 256 * 1024);
	EXPECT_EQ(submit(r, "a@fw.lan", "b@example.com", "Subject: x\n\nhi\n", id), 0);
	EXPECT_EQ(queued(r), 1);
	nr_relay_free(r);
	EXPECT_EQ(sim_open_sockets(), 0);
}

/* ---- running
 * ---------------------------------------------------------------------------------------- */

struct stopper {
	struct sim_peer *p;
	unsigned turns;
};

static void stop_after_greeting(void *arg, struct nr_relay *r)
{
	struct stopper *st = arg;

	st->turns++;
	if (strstr(sim_peer_output_str(st->p), "220 fw.lan") != NULL || st->turns > 50)
		nr_relay_stop(r);
}

TEST(start_turn_stop)
{
	struct tdev d;
	struct stopper st = {0};
	struct nr_relay *r;

	sim_reset();
	tdev_init(&d, 64 * 1024);
	r = relay_on(&d, CONF);
	ASSERT_TRUE(r != NULL);
	EXPECT_TRUE(sim_listener("127.0.0.1:2525") != NR_SOCK_INVALID);
	st.p = sim_incoming(sim_listener("127.0.0.1:2525"), "127.0.0.1:4000");
	nr_relay_set_turn_hook(r, stop_after_greeting, &st);
	EXPECT_EQ(nr_relay_run(r), 0);
	EXPECT_TRUE(nr_relay_stopping(r));
	EXPECT_TRUE(strncmp(sim_peer_output_str(st.p), "220 fw.lan ESMTP", 16) == 0);
	EXPECT_TRUE(st.turns < 50);
	nr_relay_free(r);
	EXPECT_EQ(sim_open_sockets(), 0);
	tdev_free(&d);
}

TEST(smtp_message_counts_in_stats)
{
	struct tdev d;
	struct nr_relay_stats st;
	struct nr_relay *r;
	struct sim_peer *p;

	sim_reset();
	tdev_init(&d, 64 * 1024);
	r = relay_on(&d, CONF);
	ASSERT_TRUE(r != NULL);
	nr_relay_get_stats(r, &st);
	EXPECT_EQ(st.running, 1);
	EXPECT_EQ(st.queued, 0);
	EXPECT_EQ(st.queue_persistent, 1);
	EXPECT_TRUE(st.queue_capacity > 0 && st.queue_capacity <= d.size);
	uint64_t accepted = st.accepted;
	p = sim_incoming(sim_listener("127.0.0.1:2525"), "127.0.0.1:4000");
	sim_peer_send_str(p, "EHLO printer\r\nMAIL FROM:<scan@printer.lan>\r\n"
			     "RCPT TO:<admin@example.com>\r\nDATA\r\n");
	sim_peer_send_str(p, "Subject: hi\r\n\r\nbody\r\n.\r\nQUIT\r\n");
	spin(r);
	EXPECT_TRUE(strstr(sim_peer_output_str(p), "250 2.0.0 Ok: queued as ") != NULL);
	nr_relay_get_stats(r, &st);
	EXPECT_EQ(st.queued, 1);
	EXPECT_EQ(st.accepted, accepted + 1);
	EXPECT_TRUE(st.queue_used > 0);
	EXPECT_EQ(st.oldest_arrival, SIM_WALL0);
	nr_relay_free(r);
	tdev_free(&d);
}

TEST(reload_applies_good_text_and_keeps_the_old_on_bad)
{
	struct tdev d;
	struct nr_relay *r;
	struct sim_peer *p;
	char err[256];
	static const char next[] = "listen 127.0.0.1:2525\nhostname other.lan\n";

	sim_reset();
	tdev_init(&d, 64 * 1024);
	r = relay_on(&d, CONF);
	ASSERT_TRUE(r != NULL);
	EXPECT_EQ(nr_relay_reload(r, "hostname a b\n", 13, err, sizeof(err)), NR_EINVAL);
	EXPECT_TRUE(strncmp(err, "1: hostname: ", 13) == 0);
	EXPECT_TRUE(sim_log_find("reload refused, keeping the running configuration: 1: ") >= 0);
	p = sim_incoming(sim_listener("127.0.0.1:2525"), "127.0.0.1:4000");
	spin(r);
	EXPECT_TRUE(strncmp(sim_peer_output_str(p), "220 fw.lan ", 11) == 0);

	EXPECT_EQ(nr_relay_reload(r, next, sizeof(next) - 1, err, sizeof(err)), 0);
	EXPECT_TRUE(sim_log_find("configuration reloaded; every change applied") >= 0);
	p = sim_incoming(sim_listener("127.0.0.1:2525"), "127.0.0.1:4001");
	spin(r);
	EXPECT_TRUE(strncmp(sim_peer_output_str(p), "220 other.lan ", 14) == 0);
	nr_relay_free(r);
	EXPECT_EQ(sim_open_sockets(), 0);
	tdev_free(&d);
}

/* ---- submit
 * ------------------------------------------------------------------------------------------ */

TEST(submit_is_durable_before_success)
{
	struct tdev d;
	struct nr_relay *r;
	char id[17], body[4096];
	unsigned syncs;

	sim_reset();
	tdev_init(&d, 64 * 1024);
	r = relay_on(&d, CONF);
	ASSERT_TRUE(r != NULL);
	syncs = d.syncs;
	ASSERT_EQ(submit(r, "cam@fw.lan", "admin@example.com",
			 "Subject: motion\n\nfront door\n.\n..two\n", id),
		  0);
	EXPECT_EQ(strlen(id), 16);
	EXPECT_TRUE(d.syncs > syncs);
	EXPECT_TRUE(sim_log_find(": from=<cam@fw.lan>, size=") >= 0);

	/* Power cut right after the call: only synced bytes are left. */
	tdev_power_cut(&d);
	nr_relay_free(r);
	tdev_power_on(&d);
	r = relay_on(&d, CONF);
	ASSERT_TRUE(r != NULL);
	EXPECT_EQ(queued(r), 1);
	first_body(r, body, sizeof(body));
	/* the headers of a local submission; dots and LF line ends as sent */
	if (!match(body, "Received: from localhost (local)\r\n\tby fw.lan (nanorelay) with "
			 "ESMTP\r\n\tfor <admin@example.com>;\r\n\tTue, 14 Nov 2023 22:13:20 "
			 "+0000\r\nSubject: motion\r\nDate: Tue, 14 Nov 2023 22:13:20 +0000\r\n"
			 "Message-ID: <1700000000.################@fw.lan>\r\n\r\nfront door\r\n"
			 ".\r\n..two\r\n"))
		NR_TEST_FAIL_("stored: [%s]", body);
	nr_relay_free(r);
	tdev_free(&d);
}

TEST(submit_refuses_bad_envelopes_and_a_second_open)
{
	struct tdev d;
	struct nr_relay *r;
	struct nr_submit *s, *s2;
	const char *bad[] = {"a@b\r\nRCPT TO:<x@y>"};
	const char *good[] = {"admin@example.com"};

	sim_reset();
	tdev_init(&d, 64 * 1024);
	r = relay_on(&d, CONF);
	ASSERT_TRUE(r != NULL);
	EXPECT_EQ(nr_relay_submit_begin(r, "x@y", bad, 1, 0, &s), NR_EINVAL);
	EXPECT_EQ(nr_relay_submit_begin(r, "x@y", good, 0, 0, &s), NR_EINVAL);
	EXPECT_EQ(nr_relay_submit_begin(r, "x\n@y", good, 1, 0, &s), NR_EINVAL);
	ASSERT_EQ(nr_relay_submit_begin(r, "", good, 1, 0, &s), 0);
	EXPECT_EQ(nr_relay_submit_begin(r, "", good, 1, 0, &s2), NR_EBUSY);
	nr_submit_abort(s);
	nr_relay_free(r);
	tdev_free(&d);
}

TEST(submit_too_big)
{
	struct tdev d;
	struct nr_relay *r;
	struct nr_submit *s;
	const char *to[] = {"admin@example.com"};
	char line[101];

	sim_reset();
	tdev_init(&d, 64 * 1024);
	r = relay_on(&d, CONF);
	ASSERT_TRUE(r != NULL);
	/* announced: more than max_message_size */
	EXPECT_EQ(nr_relay_submit_begin(r, "", to, 1, 5000, &s), NR_ETOOBIG);
	/* streamed past it */
	ASSERT_EQ(nr_relay_submit_begin(r, "", to, 1, 0, &s), 0);
	memset(line, 'x', 99);
	line[99] = '\n';
	line[100] = '\0';
	int rc = nr_submit_write(s, "Subject: big\n\n", 14);
	for (int i = 0; i < 60 && rc == 0; i++)
		rc = nr_submit_write(s, line, 100);
	EXPECT_EQ(rc, NR_ETOOBIG);
	EXPECT_EQ(nr_submit_end(s, NULL, 0), NR_ETOOBIG);
	EXPECT_EQ(queued(r), 0);
	nr_relay_free(r);
	tdev_free(&d);
}

TEST(submit_full_queue_gives_efull_and_keeps_the_rest)
{
	struct tdev d;
	struct nr_relay *r;
	char text[3600], id[17];
	size_t ok = 0;
	int rc = 0;

	sim_reset();
	tdev_init(&d, 8 * 4096);
	r = relay_on(&d, CONF);
	ASSERT_TRUE(r != NULL);
	memset(text, 'y', sizeof(text) - 1);
	text[sizeof(text) - 1] = '\0';
	memcpy(text, "Subject: fill\n\n", 15);
	for (int i = 0; i < 40; i++) {
		rc = submit(r, "cam@fw.lan", "admin@example.com", text, id);
		if (rc != 0)
			break;
		ok++;
	}
	EXPECT_EQ(rc, NR_EFULL);
	EXPECT_TRUE(ok > 0);
	EXPECT_EQ(queued(r), ok);
	tdev_power_cut(&d);
	nr_relay_free(r);
	tdev_power_on(&d);
	r = relay_on(&d, CONF);
	ASSERT_TRUE(r != NULL);
	EXPECT_EQ(queued(r), ok); /* every success, nothing of the refused one */
	nr_relay_free(r);
	tdev_free(&d);
}

TEST(submit_abort_leaves_nothing)
{
	struct tdev d;
	struct nr_relay *r;
	struct nr_submit *s;
	const char *to[] = {"admin@example.com"};
	char id[17];

	sim_reset();
	tdev_init(&d, 64 * 1024);
	r = relay_on(&d, CONF);
	ASSERT_TRUE(r != NULL);
	ASSERT_EQ(nr_relay_submit_begin(r, "cam@fw.lan", to, 1, 0, &s), 0);
	EXPECT_EQ(nr_submit_write(s, "Subject: half\n\nnever sent\n", 26), 0);
	nr_submit_abort(s);
	/* a later message commits (and syncs) past the aborted one */
	ASSERT_EQ(submit(r, "cam@fw.lan", "admin@example.com", "Subject: whole\n\nyes\n", id), 0);
	EXPECT_EQ(queued(r), 1);
	tdev_power_cut(&d);
	nr_relay_free(r);
	tdev_power_on(&d);
	r = relay_on(&d, CONF);
	ASSERT_TRUE(r != NULL);
	EXPECT_EQ(queued(r), 1);
	char body[2048];
	EXPECT_TRUE(strstr(first_body(r, body, sizeof(body)), "Subject: whole") != NULL);
	nr_relay_free(r);
	tdev_free(&d);
}

TEST(submit_failed_sync_is_not_success)
{
	struct tdev d;
	struct nr_relay *r;
	char id[17];

	sim_reset();
	tdev_init(&d, 64 * 1024);
	r = relay_on(&d, CONF);
	ASSERT_TRUE(r != NULL);
	d.fail_sync = 1;
	EXPECT_EQ(submit(r, "cam@fw.lan", "admin@example.com", "Subject: x\n\ny\n", id), NR_EIO);
	EXPECT_STREQ(id, "");
	EXPECT_EQ(queued(r), 0);
	nr_relay_free(r);
	tdev_free(&d);
}

int main(void)
{
	RUN(bad_config_text_gives_line_and_no_relay);
	RUN(storage_is_refused_after_start_and_twice);
	RUN(private_relay_binds_nothing_and_queues_in_ram);
	RUN(start_turn_stop);
	RUN(smtp_message_counts_in_stats);
	RUN(reload_applies_good_text_and_keeps_the_old_on_bad);
	RUN(submit_is_durable_before_success);
	RUN(submit_refuses_bad_envelopes_and_a_second_open);
	RUN(submit_too_big);
	RUN(submit_full_queue_gives_efull_and_keeps_the_rest);
	RUN(submit_abort_leaves_nothing);
	RUN(submit_failed_sync_is_not_success);
	return TEST_REPORT();
}
