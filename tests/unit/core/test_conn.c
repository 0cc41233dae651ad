/* test_conn.c - buffered connections on simulated sockets. */
#include <string.h>

#include "core/conn.h"
#include "sim.h"
#include "test.h"

/* A line-echo owner: every complete line comes back as "echo: LINE". */
struct owner {
	struct nr_conn *c;
	char lines[2048]; /* every line received, concatenated */
	int inputs, drained, closes, close_err;
	int free_on_close;
	int free_on_input;
	int pause_after_first;
	size_t echo_pad; /* extra bytes per reply (to fill the output) */
	int starttls;    /* switch transport after the 220 drains */
	int switched;
	int ready;       /* on_tls_ready calls */
	char events[16]; /* R ready, I input, D drained, C close: the order seen */
};

static void note(struct owner *o, char ev)
{
	size_t n = strlen(o->events);
	if (n + 1 < sizeof(o->events))
		o->events[n] = ev;
}

static const struct nr_transport_ops fake_tls_ops;

static void owner_input(struct nr_conn *c, void *arg)
{
	struct owner *o = arg;
	struct nr_buf *in = nr_conn_in(c);
	long eol;

	o->inputs++;
	note(o, 'I');
	if (o->free_on_input) {
		nr_conn_free(c);
		o->c = NULL;
		return;
	}
	while ((eol = nr_buf_find(in, '\n')) >= 0) {
		size_t n = (size_t)eol + 1, used = strlen(o->lines);
		if (used + n < sizeof(o->lines)) {
			memcpy(o->lines + used, nr_buf_head(in), n);
			o->lines[used + n] = 0;
		}
		if (n == 10 && memcmp(nr_buf_head(in), "STARTTLS\r\n", 10) == 0) {
			nr_buf_consume(in, n);
			EXPECT_EQ(nr_buf_puts(nr_conn_out(c), "220 go ahead\r\n"), 0);
			o->starttls = 1;
			nr_conn_flush(c);
			/* Like smtpd: stop reading until the switch. */
			nr_conn_pause_input(c, 1);
			return;
		}
		if (nr_buf_put(nr_conn_out(c), "echo: ", 6) != 0 ||
		    nr_buf_put(nr_conn_out(c), nr_buf_head(in), n) != 0)
			break; /* output full: leave the line for later */
		if (o->echo_pad) {
			static const char pad[256];
			EXPECT_EQ(nr_buf_put(nr_conn_out(c), pad, o->echo_pad), 0);
		}
		nr_buf_consume(in, n);
		nr_conn_flush(c);
		if (o->pause_after_first) {
			o->pause_after_first = 0;
			nr_conn_pause_input(c, 1);
			return;
		}
	}
}

static void owner_drained(struct nr_conn *c, void *arg)
{
	struct owner *o = arg;

	o->drained++;
	note(o, 'D');
	if (o->starttls && !o->switched) {
		o->switched = 1;
		nr_conn_set_transport(c, &fake_tls_ops, o);
		nr_conn_pause_input(c, 0);
	}
}

static void owner_close(struct nr_conn *c, void *arg, int err)
{
	struct owner *o = arg;

	o->closes++;
	note(o, 'C');
	o->close_err = err;
	if (o->free_on_close) {
		nr_conn_free(c);
		o->c = NULL;
	}
}

static void owner_tls_ready(struct nr_conn *c, void *arg)
{
	struct owner *o = arg;

	o->ready++;
	note(o, 'R');
}

static const struct nr_conn_ops owner_ops = {
    .on_input = owner_input,
    .on_drained = owner_drained,
    .on_close = owner_close,
    .on_tls_ready = owner_tls_ready,
};

/* ---- a fake TLS transport: plain bytes, plus an inner record buffer ------------ */
static struct {
	char inner[64]; /* bytes "decrypted" but not yet read */
	size_t inner_len;
	int reads, destroyed;
	nr_sock_t sock;
} tls;

static long tls_read(void *tctx, void *buf, size_t len)
{
	(void)tctx;
	tls.reads++;
	if (tls.inner_len) {
		size_t n = len < tls.inner_len ? len : tls.inner_len;
		memcpy(buf, tls.inner, n);
		memmove(tls.inner, tls.inner + n, tls.inner_len - n);
		tls.inner_len -= n;
		return (long)n;
	}
	return nr_plat_sock_read(tls.sock, buf, len);
}

static long tls_write(void *tctx, const void *buf, size_t len)
{
	(void)tctx;
	return nr_plat_sock_write(tls.sock, buf, len);
}

static size_t tls_pending(void *tctx)
{
	(void)tctx;
	return tls.inner_len;
}

static unsigned tls_wants(void *tctx)
{
	(void)tctx;
	return NR_POLL_IN;
}

static void tls_destroy(void *tctx)
{
	(void)tctx;
	tls.destroyed++;
}

static const struct nr_transport_ops fake_tls_ops = {
    .name = "tls",
    .read = tls_read,
    .write = tls_write,
    .pending = tls_pending,
    .wants = tls_wants,
    .destroy = tls_destroy,
};

/* ---- a fake handshake: output waits until a read has seen "FIN" --------------------
 * As a TLS server whose handshake needs the client's Finished: every write
 * says NR_EAGAIN wanting input until then, and the read that completes it
 * has no application data yet. */
static struct {
	int done;
	unsigned wants; /* after the last NR_EAGAIN, as nr_tls_wants() */
	nr_sock_t sock;
} hs;

static long hs_read(void *tctx, void *buf, size_t len)
{
	char fin[3];
	long n;

	if (hs.done)
		return nr_plat_sock_read(hs.sock, buf, len);
	n = nr_plat_sock_read(hs.sock, fin, sizeof(fin));
	if (n == 3 && memcmp(fin, "FIN", 3) == 0)
		hs.done = 1;
	hs.wants = NR_POLL_IN; /* done or not, the next thing is input */
	return n < 0 && n != NR_EAGAIN ? n : NR_EAGAIN;
}

static long hs_write(void *tctx, const void *buf, size_t len)
{
	if (hs.done)
		return nr_plat_sock_write(hs.sock, buf, len);
	hs.wants = NR_POLL_IN;
	return NR_EAGAIN;
}

static size_t hs_pending(void *tctx)
{
	return 0;
}

static unsigned hs_wants(void *tctx)
{
	return hs.wants;
}

static void hs_destroy(void *tctx) {}

static const struct nr_transport_ops fake_handshake_ops = {
    .name = "tls",
    .read = hs_read,
    .write = hs_write,
    .pending = hs_pending,
    .wants = hs_wants,
    .destroy = hs_destroy,
};

/* The same handshake behind a handshake op, as tls_conn.c has it: the
 * connection drives it and raises on_tls_ready. "FIN" completes it, any
 * other three bytes fail it (NR_ETLS). */
static int hs_handshake(void *tctx)
{
	char fin[3];
	long n;

	if (hs.done)
		return 0;
	n = nr_plat_sock_read(hs.sock, fin, sizeof(fin));
	hs.wants = NR_POLL_IN;
	if (n < 0)
		return (int)n;
	if (n != 3 || memcmp(fin, "FIN", 3) != 0)
		return NR_ETLS;
	hs.done = 1;
	return 0;
}

static const struct nr_transport_ops ready_handshake_ops = {
    .name = "tls",
    .read = hs_read,
    .write = hs_write,
    .pending = hs_pending,
    .wants = hs_wants,
    .destroy = hs_destroy,
    .handshake = hs_handshake,
};

/* ---- fixture ------------------------------------------------------------------------ */
struct fixture {
	struct nr_loop *loop;
	struct sim_peer *peer;
	nr_sock_t listener;
	struct owner o;
};

static int setup(struct fixture *f, size_t in_size, size_t out_size)
{
	struct nr_addr a = sim_addr("127.0.0.1:25");
	nr_sock_t s;

	sim_reset();
	memset(f, 0, sizeof(*f));
	memset(&tls, 0, sizeof(tls));
	if (nr_loop_new(&f->loop, 8, 8) != 0 || nr_plat_tcp_listen(&a, 4, &f->listener) != 0)
		return -1;
	f->peer = sim_incoming(f->listener, "192.168.1.20:40001");
	if (nr_plat_tcp_accept(f->listener, &s, NULL) != 0)
		return -1;
	tls.sock = s;
	return nr_conn_new(&f->o.c, f->loop, s, in_size, out_size, &owner_ops, &f->o);
}

static void teardown(struct fixture *f)
{
	nr_conn_free(f->o.c);
	nr_plat_sock_close(f->listener);
	nr_loop_free(f->loop);
	EXPECT_EQ(sim_open_sockets(), 0);
}

/* A connection whose transport is one of the fake handshakes, not done yet. */
static int setup_handshake(struct fixture *f, const struct nr_transport_ops *ops)
{
	if (setup(f, 0, 0) != 0)
		return -1;
	memset(&hs, 0, sizeof(hs));
	hs.sock = tls.sock;
	nr_conn_set_transport(f->o.c, ops, NULL);
	return 0;
}

/* Run up to n turns of at most 10 ms each (virtual time). */
static void turns(struct fixture *f, int n)
{
	while (n-- > 0)
		EXPECT_TRUE(nr_loop_turn(f->loop, 10) >= 0);
}

TEST(short_reads_and_short_writes)
{
	static const char msg[] = "HELO printer\r\nMAIL FROM:<a@b>\r\nQUIT\r\n";
	struct fixture f;

	ASSERT_EQ(setup(&f, 0, 0), 0);
	sim_peer_send_chunked(f.peer, msg, strlen(msg), 3);
	sim_peer_write_limit(f.peer, 2);
	turns(&f, 30);
	EXPECT_STREQ(f.o.lines, msg);
	EXPECT_STREQ(sim_peer_output_str(f.peer),
		     "echo: HELO printer\r\necho: MAIL FROM:<a@b>\r\necho: QUIT\r\n");
	EXPECT_EQ(sim_peer_unread(f.peer), 0);
	EXPECT_TRUE(f.o.drained >= 1);
	EXPECT_EQ(f.o.closes, 0);
	EXPECT_TRUE(!nr_conn_is_tls(f.o.c));
	teardown(&f);
}

TEST(spurious_eagain_on_read_and_write)
{
	struct fixture f;

	ASSERT_EQ(setup(&f, 0, 0), 0);
	sim_peer_send_str(f.peer, "one\r\n");
	sim_peer_eagain(f.peer);
	sim_peer_send_str(f.peer, "two\r\n");
	sim_peer_write_eagain(f.peer, 3);
	turns(&f, 10);
	EXPECT_STREQ(f.o.lines, "one\r\ntwo\r\n");
	EXPECT_STREQ(sim_peer_output_str(f.peer), "echo: one\r\necho: two\r\n");
	teardown(&f);
}

TEST(timed_arrival_is_delivered_when_due)
{
	struct fixture f;
	uint64_t t0;

	ASSERT_EQ(setup(&f, 0, 0), 0);
	t0 = sim_now();
	sim_peer_at(f.peer, t0 + 5000);
	sim_peer_send_str(f.peer, "late\r\n");
	EXPECT_TRUE(nr_loop_turn(f.loop, 1000) >= 0);
	EXPECT_STREQ(f.o.lines, "");
	EXPECT_EQ(sim_now(), t0 + 1000);
	EXPECT_TRUE(nr_loop_turn(f.loop, -1) >= 0); /* sleeps until the arrival */
	EXPECT_EQ(sim_now(), t0 + 5000);
	EXPECT_STREQ(f.o.lines, "late\r\n");
	teardown(&f);
}

TEST(reset_is_reported)
{
	struct fixture f;

	ASSERT_EQ(setup(&f, 0, 0), 0);
	f.o.free_on_close = 1;
	sim_peer_send_str(f.peer, "partial");
	sim_peer_reset(f.peer);
	turns(&f, 5);
	EXPECT_EQ(f.o.closes, 1);
	EXPECT_EQ(f.o.close_err, NR_ERESET);
	EXPECT_TRUE(f.o.c == NULL);
	EXPECT_TRUE(sim_peer_closed_by_core(f.peer));
	teardown(&f);
}

TEST(eof_is_reported_once)
{
	struct fixture f;

	ASSERT_EQ(setup(&f, 0, 0), 0);
	sim_peer_send_str(f.peer, "bye\r\n");
	sim_peer_close(f.peer);
	turns(&f, 5);
	EXPECT_STREQ(f.o.lines, "bye\r\n");
	EXPECT_EQ(f.o.closes, 1);
	EXPECT_EQ(f.o.close_err, NR_ECLOSED);
	/* The owner kept it: no more callbacks, no more polling. */
	turns(&f, 3);
	EXPECT_EQ(f.o.closes, 1);
	teardown(&f);
}

TEST(write_reset_is_reported)
{
	struct fixture f;

	ASSERT_EQ(setup(&f, 0, 0), 0);
	sim_peer_send_str(f.peer, "x\r\n");
	sim_peer_write_window(f.peer, 3); /* takes 3 bytes, then blocks */
	turns(&f, 3);
	EXPECT_STREQ(sim_peer_output_str(f.peer), "ech");
	sim_peer_reset(f.peer);
	turns(&f, 3);
	EXPECT_EQ(f.o.closes, 1);
	EXPECT_EQ(f.o.close_err, NR_ERESET);
	teardown(&f);
}

TEST(backpressure_peer_that_never_reads)
{
	struct fixture f;
	size_t reads, i, expect_len;
	char line[16];

	ASSERT_EQ(setup(&f, 64, 128), 0);
	f.o.echo_pad = 60; /* each reply: 6 + 5 + 60 = 71 bytes > half of 128 */
	for (i = 0; i < 20; i++) {
		snprintf(line, sizeof(line), "L%02zu\r\n", i);
		sim_peer_send_str(f.peer, line);
	}
	sim_peer_write_window(f.peer, 0);
	turns(&f, 50);
	/* One line read, its reply stuck: reading stopped. */
	EXPECT_STREQ(f.o.lines, "L00\r\n");
	reads = sim_peer_read_calls(f.peer);
	EXPECT_TRUE(reads <= 2);
	EXPECT_EQ(sim_peer_unread(f.peer), 19 * 5);
	turns(&f, 50);
	EXPECT_EQ(sim_peer_read_calls(f.peer), reads); /* not even a try */
	/* The peer starts reading: everything flows. */
	sim_peer_write_window(f.peer, SIZE_MAX);
	turns(&f, 100);
	EXPECT_EQ(sim_peer_unread(f.peer), 0);
	EXPECT_EQ(strlen(f.o.lines), 20 * 5);
	expect_len = 20 * 71;
	{
		size_t got;
		sim_peer_output(f.peer, &got);
		EXPECT_EQ(got, expect_len);
	}
	teardown(&f);
}

TEST(starttls_switch_discards_buffered_input)
{
	struct fixture f;

	ASSERT_EQ(setup(&f, 0, 0), 0);
	/* One packet: the command and an injected command behind it. */
	sim_peer_send_str(f.peer, "STARTTLS\r\nMAIL FROM:<injected@evil>\r\n");
	/* What the fake TLS layer "decrypts" after the switch. */
	memcpy(tls.inner, "EHLO secure\r\n", 13);
	tls.inner_len = 13;
	turns(&f, 10);
	EXPECT_EQ(f.o.switched, 1);
	EXPECT_EQ(f.o.ready, 1);
	EXPECT_TRUE(nr_conn_is_tls(f.o.c));
	EXPECT_TRUE(strstr(f.o.lines, "injected") == NULL);
	/* The inner bytes came without any socket readiness (pending()). */
	EXPECT_STREQ(f.o.lines, "STARTTLS\r\nEHLO secure\r\n");
	EXPECT_TRUE(tls.reads >= 1);
	EXPECT_STREQ(sim_peer_output_str(f.peer), "220 go ahead\r\necho: EHLO secure\r\n");
	teardown(&f);
	EXPECT_EQ(tls.destroyed, 1);
}

TEST(close_after_flush_sends_everything_first)
{
	struct fixture f;

	ASSERT_EQ(setup(&f, 0, 0), 0);
	f.o.free_on_close = 1;
	EXPECT_EQ(nr_buf_puts(nr_conn_out(f.o.c), "221 2.0.0 bye\r\n"), 0);
	sim_peer_write_limit(f.peer, 4);
	sim_peer_send_str(f.peer, "NOOP\r\n"); /* not read any more */
	nr_conn_close_after_flush(f.o.c);
	EXPECT_EQ(f.o.closes, 0); /* never from inside the call */
	turns(&f, 10);
	EXPECT_EQ(f.o.closes, 1);
	EXPECT_EQ(f.o.close_err, NR_ECLOSED);
	EXPECT_STREQ(sim_peer_output_str(f.peer), "221 2.0.0 bye\r\n");
	EXPECT_STREQ(f.o.lines, "");
	EXPECT_TRUE(sim_peer_closed_by_core(f.peer));
	teardown(&f);
}

/* Pieces added with flush_soon during a turn leave in one write at its
 * end; half a buffer goes at once. */
TEST(flush_soon_gathers_a_turn_into_one_write)
{
	struct fixture f;
	static const char big[CONFIG_NR_IO_BUF_SIZE / 2];

	ASSERT_EQ(setup(&f, 0, 0), 0);
	EXPECT_EQ(nr_buf_puts(nr_conn_out(f.o.c), "MAIL FROM:<a@lan>\r\n"), 0);
	nr_conn_flush_soon(f.o.c);
	EXPECT_EQ(nr_buf_puts(nr_conn_out(f.o.c), "RCPT TO:<b@example.com>\r\n"), 0);
	nr_conn_flush_soon(f.o.c);
	EXPECT_EQ(nr_buf_puts(nr_conn_out(f.o.c), "DATA\r\n"), 0);
	nr_conn_flush_soon(f.o.c);
	EXPECT_EQ(sim_peer_write_calls(f.peer), 0);
	turns(&f, 1);
	EXPECT_EQ(sim_peer_write_calls(f.peer), 1);
	EXPECT_STREQ(sim_peer_output_str(f.peer),
		     "MAIL FROM:<a@lan>\r\nRCPT TO:<b@example.com>\r\nDATA\r\n");
	EXPECT_EQ(nr_buf_put(nr_conn_out(f.o.c), big, sizeof(big)), 0);
	nr_conn_flush_soon(f.o.c);
	EXPECT_EQ(sim_peer_write_calls(f.peer), 2);
	teardown(&f);
}

TEST(pause_keeps_input_and_resume_delivers_it)
{
	struct fixture f;

	ASSERT_EQ(setup(&f, 0, 0), 0);
	f.o.pause_after_first = 1;
	sim_peer_send_str(f.peer, "first\r\nsecond\r\n");
	turns(&f, 5);
	EXPECT_STREQ(f.o.lines, "first\r\n");
	EXPECT_EQ(nr_buf_len(nr_conn_in(f.o.c)), 8);
	/* Resume: the buffered line is handed over with no new bytes. */
	nr_conn_pause_input(f.o.c, 0);
	turns(&f, 2);
	EXPECT_STREQ(f.o.lines, "first\r\nsecond\r\n");
	teardown(&f);
}

TEST(free_from_inside_input_callback)
{
	struct fixture f;

	ASSERT_EQ(setup(&f, 0, 0), 0);
	f.o.free_on_input = 1;
	sim_peer_send_str(f.peer, "a\r\n");
	sim_peer_send_str(f.peer, "b\r\n");
	turns(&f, 3);
	EXPECT_EQ(f.o.inputs, 1);
	EXPECT_TRUE(f.o.c == NULL);
	EXPECT_TRUE(sim_peer_closed_by_core(f.peer));
	teardown(&f);
}

/* Implicit TLS: the greeting is queued before the handshake. When the
 * handshake completes inside a read (its write attempt came just before
 * the client's last flight arrived), the greeting must still go out: the
 * client waits for it and sends nothing more (a CI run once saw swaks
 * time out so). */
TEST(output_waiting_on_a_handshake_goes_when_a_read_completes_it)
{
	struct fixture f;

	ASSERT_EQ(setup_handshake(&f, &fake_handshake_ops), 0);
	EXPECT_EQ(nr_buf_puts(nr_conn_out(f.o.c), "220 hello\r\n"), 0);
	nr_conn_flush(f.o.c);
	turns(&f, 3);
	EXPECT_STREQ(sim_peer_output_str(f.peer), ""); /* no handshake yet */
	sim_peer_send_str(f.peer, "FIN");
	turns(&f, 5);
	EXPECT_EQ(hs.done, 1);
	EXPECT_STREQ(sim_peer_output_str(f.peer), "220 hello\r\n");
	EXPECT_EQ(f.o.drained, 1);
	teardown(&f);
}

/* Implicit TLS as smtpd runs it: the greeting waits for the handshake, and
 * the owner hears "ready" (its handshake deadline ends) before "drained". */
TEST(tls_ready_is_raised_once_before_the_greeting_drains)
{
	struct fixture f;

	ASSERT_EQ(setup_handshake(&f, &ready_handshake_ops), 0);
	EXPECT_EQ(nr_buf_puts(nr_conn_out(f.o.c), "220 hello\r\n"), 0);
	nr_conn_flush(f.o.c);
	turns(&f, 3);
	EXPECT_STREQ(sim_peer_output_str(f.peer), "");
	EXPECT_EQ(f.o.ready, 0);
	sim_peer_send_str(f.peer, "FIN");
	turns(&f, 5);
	EXPECT_STREQ(sim_peer_output_str(f.peer), "220 hello\r\n");
	EXPECT_EQ(f.o.ready, 1);
	EXPECT_STREQ(f.o.events, "RD");
	sim_peer_send_str(f.peer, "EHLO x\r\n");
	turns(&f, 5);
	EXPECT_EQ(f.o.ready, 1); /* once per switch */
	EXPECT_STREQ(f.o.events, "RDID");
	teardown(&f);
}

/* As delivery's implicit TLS: the bytes that end the handshake carry the
 * server's 220 too; "ready" must come before that input. */
TEST(tls_ready_comes_before_input_of_the_same_read)
{
	struct fixture f;

	ASSERT_EQ(setup_handshake(&f, &ready_handshake_ops), 0);
	sim_peer_send_str(f.peer, "FINhi\r\n");
	turns(&f, 5);
	EXPECT_EQ(f.o.ready, 1);
	EXPECT_STREQ(f.o.lines, "hi\r\n");
	EXPECT_STREQ(f.o.events, "RID");
	teardown(&f);
}

TEST(failed_handshake_closes_without_ready)
{
	struct fixture f;

	ASSERT_EQ(setup_handshake(&f, &ready_handshake_ops), 0);
	sim_peer_send_str(f.peer, "BAD");
	turns(&f, 5);
	EXPECT_EQ(f.o.ready, 0);
	EXPECT_EQ(f.o.closes, 1);
	EXPECT_EQ(f.o.close_err, NR_ETLS);
	EXPECT_STREQ(f.o.events, "C");
	teardown(&f);
}

/* A transport without a handshake is ready at once, but the event still
 * comes from the loop, never from inside nr_conn_set_transport(). Back to
 * plain (ops NULL) is not a TLS switch: no event. */
TEST(transport_without_handshake_is_ready_from_the_loop)
{
	struct fixture f;

	ASSERT_EQ(setup(&f, 0, 0), 0);
	nr_conn_set_transport(f.o.c, &fake_tls_ops, &f.o);
	EXPECT_EQ(f.o.ready, 0);
	turns(&f, 1);
	EXPECT_EQ(f.o.ready, 1);
	nr_conn_set_transport(f.o.c, NULL, NULL);
	turns(&f, 3);
	EXPECT_EQ(f.o.ready, 1);
	EXPECT_TRUE(!nr_conn_is_tls(f.o.c));
	teardown(&f);
}

int main(void)
{
	RUN(short_reads_and_short_writes);
	RUN(spurious_eagain_on_read_and_write);
	RUN(timed_arrival_is_delivered_when_due);
	RUN(reset_is_reported);
	RUN(eof_is_reported_once);
	RUN(write_reset_is_reported);
	RUN(backpressure_peer_that_never_reads);
	RUN(starttls_switch_discards_buffered_input);
	RUN(close_after_flush_sends_everything_first);
	RUN(flush_soon_gathers_a_turn_into_one_write);
	RUN(pause_keeps_input_and_resume_delivers_it);
	RUN(free_from_inside_input_callback);
	RUN(output_waiting_on_a_handshake_goes_when_a_read_completes_it);
	RUN(tls_ready_is_raised_once_before_the_greeting_drains);
	RUN(tls_ready_comes_before_input_of_the_same_read);
	RUN(failed_handshake_closes_without_ready);
	RUN(transport_without_handshake_is_ready_from_the_loop);
	return TEST_REPORT();
}
