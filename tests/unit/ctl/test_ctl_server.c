/* test_ctl_server.c - the daemon side of the control socket on a real
 * local socket and the real loop: each request's reply byte for byte,
 * hostile clients (overlong line, NUL, too many at once), send-test and
 * the follow-up `msg`, and a hostile sender escaped in mailq. */
#include <stdlib.h>
#include <unistd.h>

#include "conf/conf.h"
#include "core/loop.h"
#include "core/stats.h"
#include "ctl/ctl.h"
#include "posix.h"
#include "queue/queue.h"
#include "store/store.h"
#include "test.h"

static char dir[] = "/tmp/nr-ctl-XXXXXX";
static char sock_path[300];
static struct nr_loop *loop;
static struct nr_bdev bdev;
static struct nr_queue *queue;
static struct nr_conf conf;
static struct nr_ctl *ctl;

static int setup(void)
{
	char text[512], err[256];
	int n;

	if (!mkdtemp(dir))
		return -1;
	snprintf(sock_path, sizeof(sock_path), "%s/run/control", dir);
	/* The device is the RAM store either way (tests get it even in a build
	 * without that backend); the queue line mirrors it where conf takes it. */
	n = snprintf(text, sizeof(text),
		     "%sstate_dir %s/state\ncontrol_socket %s\n"
		     "hostname box.test\nsender relay@box.test\n",
		     NR_ENABLED(CONFIG_NR_STORE_RAM) ? "queue ram size=256K\n" : "", dir,
		     sock_path);
	nr_conf_init(&conf);
	if (nr_conf_parse(&conf, "test.conf", text, (size_t)n, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	if (nr_loop_new(&loop, 64, 64) != 0 || nr_store_ram_open(&bdev, 256 * 1024, 4096) != 0 ||
	    nr_queue_open(&queue, &bdev, loop) != 0)
		return -1;
	return nr_ctl_start(&ctl, loop, &conf, queue, NULL);
}

static void teardown(void)
{
	char path[400];

	nr_ctl_stop(ctl);
	nr_queue_close(queue);
	bdev.close(&bdev);
	nr_loop_free(loop);
	nr_conf_free(&conf);
	snprintf(path, sizeof(path), "%s/run", dir);
	rmdir(path);
	rmdir(dir);
}

/* Connect, send req (len bytes), turn the loop until the daemon closes
 * (or 3 s); the reply goes into out. Returns its length, -1 on error. */
static long exchange_raw(const char *req, size_t len, char *out, size_t size)
{
	uint64_t end = nr_plat_now_ms() + 3000;
	size_t got = 0;
	nr_sock_t c;

	if (nr_plat_local_connect(sock_path, &c) != 0)
		return -1;
	if (len && nr_plat_sock_write(c, req, len) != (long)len) {
		nr_plat_sock_close(c);
		return -1;
	}
	while (nr_plat_now_ms() < end) {
		long n;

		(void)nr_loop_turn(loop, 20);
		n = nr_plat_sock_read(c, out + got, size - 1 - got);
		if (n > 0)
			got += (size_t)n;
		else if (n != NR_EAGAIN)
			break;
	}
	nr_plat_sock_close(c);
	out[got] = '\0';
	return (long)got;
}

static char reply[65536];

static const char *ask(const char *req)
{
	if (exchange_raw(req, strlen(req), reply, sizeof(reply)) < 0)
		return "(no connection)";
	return reply;
}

TEST(status_and_json)
{
	ask("status\n");
	EXPECT_TRUE(strncmp(reply, "0 ok\nnanorelay ", 15) == 0);
	EXPECT_TRUE(strstr(reply, "queue:       ram, in RAM (survives upstream outages, not a "
				  "power cut)\n") != NULL);
	EXPECT_TRUE(strstr(reply, "smarthost:   none configured (mail stays queued)\n") != NULL);
	ask("status json\r\n");
	EXPECT_TRUE(strncmp(reply, "0 ok\n{\"version\":", 16) == 0);
	EXPECT_TRUE(strstr(reply, "\"persistent\":false") != NULL);
}

TEST(errors_have_codes)
{
	EXPECT_STREQ(ask("frobnicate\n"), "64 unknown control request\n");
	EXPECT_STREQ(ask("status yaml\n"), "64 unknown control request\n");
	EXPECT_STREQ(ask("mailq\n"), "0 ok\n-Queue ID-------- --Size-- --Age-- Tries "
				     "-Sender/Recipient-------\nMail queue is empty\n");
	EXPECT_STREQ(ask("delete 00000000000000AB\n"),
		     "66 no message 00000000000000AB is waiting in the queue\n");
	EXPECT_STREQ(ask("delete 12\n"),
		     "64 delete needs a queue id (16 hex digits, as mailq shows it)\n");
	EXPECT_STREQ(ask("flush\n"), "69 no smarthost is configured: nothing to deliver to\n");
	EXPECT_STREQ(ask("send-test a b@c\n"), "65 not a usable address: a b@c\n");
}

TEST(hostile_clients_are_closed_without_reply)
{
	char big[700];

	memset(big, 'A', sizeof(big));
	EXPECT_EQ(exchange_raw(big, sizeof(big), reply, sizeof(reply)), 0);
	EXPECT_EQ(exchange_raw("sta\0tus\n", 8, reply, sizeof(reply)), 0);
	EXPECT_EQ(exchange_raw("status", 6, reply, sizeof(reply)), 0); /* no LF: no reply */
	/* The daemon still answers afterwards. */
	EXPECT_TRUE(strncmp(ask("status\n"), "0 ok\n", 5) == 0);
}

TEST(busy_beyond_max_clients)
{
	nr_sock_t held[CONFIG_NR_CTL_MAX_CLIENTS];
	size_t i;

	for (i = 0; i < CONFIG_NR_CTL_MAX_CLIENTS; i++)
		ASSERT_EQ(nr_plat_local_connect(sock_path, &held[i]), 0);
	for (i = 0; i < 5; i++)
		(void)nr_loop_turn(loop, 10);
	ask("status\n");
	EXPECT_TRUE(strncmp(reply, "75 the daemon is busy", 21) == 0);
	for (i = 0; i < CONFIG_NR_CTL_MAX_CLIENTS; i++)
		nr_plat_sock_close(held[i]);
	for (i = 0; i < 5; i++)
		(void)nr_loop_turn(loop, 10);
	EXPECT_TRUE(strncmp(ask("status\n"), "0 ok\n", 5) == 0);
}

TEST(send_test_then_msg)
{
	char req[64], id[17];

	ask("send-test admin@example.com\n");
	ASSERT_TRUE(strncmp(reply, "0 queued\n", 9) == 0);
	ASSERT_EQ(strlen(reply), 9u + 17u);
	memcpy(id, reply + 9, 16);
	id[16] = '\0';
	snprintf(req, sizeof(req), "msg %s\n", id);
	EXPECT_STREQ(ask(req), "0 ok\nstate pending\nattempts 0\nerror \n");
	ask("mailq\n");
	EXPECT_TRUE(strstr(reply, "relay@box.test\n") != NULL);
	EXPECT_TRUE(strstr(reply, "admin@example.com (pending)\n") != NULL);
	/* Once delivered (the engine notes it), msg says so. */
	nr_stats_note_outcome(strtoull(id, NULL, 16), NR_OUTCOME_KIND_DELIVERED, "250 ok");
	snprintf(req, sizeof(req), "delete %s\n", id);
	EXPECT_TRUE(strncmp(ask(req), "0 ok\n", 5) == 0);
	snprintf(req, sizeof(req), "msg %s\n", id);
	EXPECT_STREQ(ask(req), "0 ok\nstate dead\nattempts 0\nerror \n");
	EXPECT_STREQ(ask("msg 00000000000000EE\n"), "0 ok\nstate gone\nerror \n");
}

static void committed(void *arg, int result, nr_qid_t id)
{
	*(nr_qid_t *)arg = result == 0 ? id : 0;
}

TEST(hostile_sender_escaped_in_mailq)
{
	const char *rcpts[] = {"victim\x1b[2J@example.com"};
	struct nr_qenvelope env;
	struct nr_qwriter *w;
	nr_qid_t id = 0;
	int i;

	memset(&env, 0, sizeof(env));
	env.sender = "\"evil\\\"\r\nX: 1\"@lan";
	env.rcpts = rcpts;
	env.nrcpt = 1;
	env.client = "local";
	ASSERT_EQ(nr_queue_begin(queue, &env, 0, &w), 0);
	ASSERT_EQ(nr_queue_append(w, "Subject: x\r\n\r\nhi\r\n", 19), 0);
	ASSERT_EQ(nr_queue_commit(w, committed, &id), 0);
	for (i = 0; i < 5 && !id; i++)
		(void)nr_loop_turn(loop, 10);
	ASSERT_TRUE(id != 0);
	ask("mailq\n");
	EXPECT_TRUE(strstr(reply, "\"evil\\x5c\"\\x0d\\x0aX: 1\"@lan\n") != NULL);
	EXPECT_TRUE(strstr(reply, "victim\\x1b[2J@example.com (pending)\n") != NULL);
	EXPECT_TRUE(strchr(reply, '\x1b') == NULL);
	EXPECT_TRUE(strchr(reply, '\r') == NULL);
}

int main(void)
{
	if (setup() != 0) {
		fprintf(stderr, "setup failed\n");
		return 1;
	}
	RUN(status_and_json);
	RUN(errors_have_codes);
	RUN(hostile_clients_are_closed_without_reply);
	RUN(busy_beyond_max_clients);
	RUN(send_test_then_msg);
	RUN(hostile_sender_escaped_in_mailq);
	teardown();
	return TEST_REPORT();
}
