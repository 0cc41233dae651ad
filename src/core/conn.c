/*
 * conn.c - buffered, non-blocking connection (see conn.h).
 *
 * All the work happens in service(): write what is buffered, report a
 * drained output, finish a close-after-flush, then read while reading is
 * allowed, handing each chunk to the owner. The loop calls it when the
 * socket is ready; a turn-end hook (the "kick") calls it for work that no
 * readiness event would announce: input left in the buffer after a pause,
 * bytes buffered inside a TLS transport, an error or a drain found by
 * nr_conn_flush(). Public calls never invoke owner callbacks directly, so
 * an owner is never re-entered from its own call.
 *
 * An owner may free the connection from inside any callback: the free is
 * then completed when the outermost callback returns (see call_owner()).
 */
#include "core/conn.h"

#include <stdlib.h>

#include "core/mem.h"

/* Reads per service() call before yielding to other connections. */
#define READS_PER_SERVICE 16
#define WRITES_PER_SERVICE 16
/* Not a poll event: service() was called by the kick hook. */
#define EV_KICK 0x100u

struct plain {
	nr_sock_t sock;
	unsigned wants; /* what the last NR_EAGAIN waits for */
};

struct nr_conn {
	struct nr_loop *loop;
	struct nr_io io;
	struct nr_hook kick;
	struct nr_hook flush_soon; /* nr_conn_flush_soon: write at the turn's end */
	nr_sock_t sock;
	struct nr_buf in, out;

	const struct nr_transport_ops *tops;
	void *tctx;
	struct plain plain;

	const struct nr_conn_ops *ops;
	void *owner;

	unsigned read_want;  /* poll interest that lets a read progress */
	unsigned write_want; /* ... and a write */
	int err;             /* error to report through on_close */
	int paused;
	int closing;     /* close after flush */
	int closed;      /* on_close was called: no more callbacks */
	int wrote;       /* bytes went out since the last on_drained */
	int need_input;  /* buffered input to hand over (after a pause) */
	int kick_reads;  /* the next kick reads too (the transport holds bytes) */
	int handshaking; /* the transport's handshake is not done yet */
	int ready_due;   /* on_tls_ready to raise from the loop */
	int depth;       /* owner callbacks running */
	int doomed;      /* freed from inside a callback */
};

/* ---- the plain transport ------------------------------------------------------- */
static long plain_read(void *tctx, void *buf, size_t len)
{
	struct plain *p = tctx;
	long n = nr_plat_sock_read(p->sock, buf, len);

	if (n == NR_EAGAIN)
		p->wants = NR_POLL_IN;
	return n;
}

static long plain_write(void *tctx, const void *buf, size_t len)
{
	struct plain *p = tctx;
	long n = nr_plat_sock_write(p->sock, buf, len);

	if (n == NR_EAGAIN)
		p->wants = NR_POLL_OUT;
	return n;
}

static size_t plain_pending(void *tctx)
{
	(void)tctx;
	return 0;
}

static unsigned plain_wants(void *tctx)
{
	return ((struct plain *)tctx)->wants;
}

static void plain_destroy(void *tctx)
{
	(void)tctx;
}

static const struct nr_transport_ops plain_ops = {
    .name = "plain",
    .read = plain_read,
    .write = plain_write,
    .pending = plain_pending,
    .wants = plain_wants,
    .destroy = plain_destroy,
};

/* ---- helpers ---------------------------------------------------------------------- */
static int reading_allowed(const struct nr_conn *c)
{
	/* Backpressure: a peer that does not read our replies stops our reads. */
	return !c->paused && !c->closing && !c->closed && !c->err &&
	       nr_buf_len(&c->out) <= c->out.cap / 2;
}

static int input_room(const struct nr_conn *c)
{
	return nr_buf_len(&c->in) < c->in.cap;
}

static void update_want(struct nr_conn *c)
{
	unsigned want = 0;

	if (c->closed)
		return;
	if (reading_allowed(c) && input_room(c))
		want |= c->read_want;
	if (nr_buf_len(&c->out))
		want |= c->write_want;
	nr_loop_want(c->loop, &c->io, want);
}

static void kick(struct nr_conn *c)
{
	if (!c->closed)
		nr_loop_at_turn_end(c->loop, &c->kick);
}

/* A kick that also reads: for input poll cannot see (bytes inside the
 * transport, a handshake to run). Other kicks (output drained, a resume)
 * leave reading to poll, which is level-triggered: a read there would
 * mostly say EAGAIN, one wasted system call per reply. */
static void kick_read(struct nr_conn *c)
{
	c->kick_reads = 1;
	kick(c);
}

static void release(struct nr_conn *c)
{
	nr_loop_del(c->loop, &c->io);
	nr_loop_hook_cancel(c->loop, &c->kick);
	nr_loop_hook_cancel(c->loop, &c->flush_soon);
	if (c->tops && c->tops->destroy)
		c->tops->destroy(c->tctx);
	c->tops = NULL;
	nr_plat_sock_close(c->sock);
	c->sock = NR_SOCK_INVALID;
	nr_buf_free(&c->in);
	nr_buf_free(&c->out);
}

/*
 * Owner callbacks go through here. Returns 1 when the owner freed the
 * connection meanwhile; the caller must then return without touching c
 * (it is already gone when this was the outermost callback).
 */
enum cb { CB_INPUT, CB_DRAINED, CB_TLS_READY, CB_CLOSE };
static int call_owner(struct nr_conn *c, enum cb which, int err)
{
	c->depth++;
	if (which == CB_INPUT)
		c->ops->on_input(c, c->owner);
	else if (which == CB_DRAINED)
		c->ops->on_drained(c, c->owner);
	else if (which == CB_TLS_READY)
		c->ops->on_tls_ready(c, c->owner);
	else
		c->ops->on_close(c, c->owner, err);
	c->depth--;
	if (!c->doomed)
		return 0;
	if (c->depth == 0)
		nr_free(c);
	return 1;
}

/* Stop everything and tell the owner; 1 when the connection is gone. */
static int report_close(struct nr_conn *c, int err)
{
	c->closed = 1;
	nr_loop_del(c->loop, &c->io);
	nr_loop_hook_cancel(c->loop, &c->kick);
	nr_loop_hook_cancel(c->loop, &c->flush_soon);
	return call_owner(c, CB_CLOSE, err);
}

/* A handshake still running is driven before every read and write; 0 once
 * the transport may move bytes, else its NR_EAGAIN or error. The ready
 * event is raised from the loop (a kick), never from inside a public call:
 * nr_conn_flush() writes too. */
static int handshake_first(struct nr_conn *c)
{
	int rc;

	if (!c->handshaking)
		return 0;
	rc = c->tops->handshake(c->tctx);
	if (rc != 0)
		return rc;
	c->handshaking = 0;
	c->ready_due = 1;
	kick_read(c);
	return 0;
}

/* Raise a due on_tls_ready; 1 when the connection is gone or closed. */
static int raise_ready(struct nr_conn *c)
{
	if (!c->ready_due)
		return 0;
	c->ready_due = 0;
	return c->ops->on_tls_ready && (call_owner(c, CB_TLS_READY, 0) || c->closed);
}

/* Write what the output buffer holds, as far as the transport takes it. */
static void write_some(struct nr_conn *c)
{
	int i;

	for (i = 0; i < WRITES_PER_SERVICE && nr_buf_len(&c->out) && !c->err; i++) {
		long n = handshake_first(c);
		if (n == 0)
			n = c->tops->write(c->tctx, nr_buf_head(&c->out), nr_buf_len(&c->out));
		if (n > 0) {
			nr_buf_consume(&c->out, (size_t)n);
			c->wrote = 1;
			c->write_want = NR_POLL_OUT;
		} else if (n == NR_EAGAIN) {
			c->write_want = c->tops->wants(c->tctx);
			break;
		} else {
			c->err = n < 0 ? (int)n : NR_EIO;
		}
	}
}

/* Read and hand over input; 1 when the connection is gone or closed. */
static int read_some(struct nr_conn *c)
{
	int i;

	for (i = 0; i < READS_PER_SERVICE && reading_allowed(c); i++) {
		size_t room;
		long n;
		nr_buf_compact(&c->in);
		room = nr_buf_room(&c->in);
		if (!room)
			break; /* the owner has not consumed: nothing to do */
		n = handshake_first(c);
		if (n == 0)
			n = c->tops->read(c->tctx, nr_buf_tail(&c->in), room);
		if (n == NR_EAGAIN) {
			c->read_want = c->tops->wants(c->tctx);
			/* A handshake that completed without application data
			 * (the peer waits for us now) is reported here. */
			return raise_ready(c);
		}
		if (n <= 0) {
			report_close(c, n < 0 ? (int)n : NR_ECLOSED);
			return 1;
		}
		nr_buf_commit(&c->in, (size_t)n);
		c->read_want = NR_POLL_IN;
		/* Ready first: the read that ended the handshake may carry the
		 * peer's first words (an implicit-TLS greeting). */
		if (raise_ready(c) || call_owner(c, CB_INPUT, 0) || c->closed)
			return 1;
		/* A short read emptied the socket: the next read would almost
		 * always say EAGAIN (a request waits for our reply), and poll
		 * is level-triggered, so anything newer is seen next turn. */
		if ((size_t)n < room)
			break;
	}
	/* Bytes waiting inside the transport do not make the socket ready. */
	if (reading_allowed(c) && input_room(c) && c->tops->pending(c->tctx))
		kick_read(c);
	return 0;
}

static void service(struct nr_conn *c, unsigned events)
{
	if (c->closed)
		return;
	if (nr_buf_len(&c->out))
		write_some(c);
	if (c->err)
		goto failed;
	if (raise_ready(c))
		return;
	if (c->wrote && !nr_buf_len(&c->out)) {
		c->wrote = 0;
		if (c->ops->on_drained && (call_owner(c, CB_DRAINED, 0) || c->closed))
			return;
	}
	if (c->closing && !nr_buf_len(&c->out)) {
		report_close(c, NR_ECLOSED);
		return;
	}
	if (c->need_input && reading_allowed(c)) {
		c->need_input = 0;
		if (nr_buf_len(&c->in) && (call_owner(c, CB_INPUT, 0) || c->closed))
			return;
	}
	if (events & EV_KICK) {
		if (!c->kick_reads)
			events &= ~EV_KICK;
		c->kick_reads = 0;
	}
	if ((events & (c->read_want | NR_POLL_ERR | NR_POLL_HUP | EV_KICK)) && read_some(c))
		return;
	/* Output that waited for the transport to read (a TLS handshake) may
	 * go now: a handshake that completed in that read leaves no input to
	 * wake us, and an implicit-TLS greeting would wait for the client,
	 * which waits for the greeting. Drained is reported from the kick. */
	if (nr_buf_len(&c->out) && c->write_want != NR_POLL_OUT)
		nr_conn_flush(c);
	if (c->err)
		goto failed;
	update_want(c);
	return;
failed:
	report_close(c, c->err);
}

static void on_io(struct nr_loop *loop, void *arg, unsigned events)
{
	(void)loop;
	service(arg, events);
}

static void on_kick(struct nr_loop *loop, void *arg)
{
	(void)loop;
	service(arg, EV_KICK);
}

static void on_flush_soon(struct nr_loop *loop, void *arg)
{
	(void)loop;
	nr_conn_flush(arg);
}

/* ---- public ------------------------------------------------------------------------ */
int nr_conn_new(struct nr_conn **out, struct nr_loop *loop, nr_sock_t sock, size_t in_size,
		size_t out_size, const struct nr_conn_ops *ops, void *owner)
{
	struct nr_conn *c;
	int ret = NR_ENOMEM;

	*out = NULL;
	c = nr_calloc(1, sizeof(*c));
	if (!c)
		return NR_ENOMEM;
	c->loop = loop;
	c->sock = sock;
	c->ops = ops;
	c->owner = owner;
	c->plain.sock = sock;
	c->plain.wants = NR_POLL_IN;
	c->tops = &plain_ops;
	c->tctx = &c->plain;
	c->read_want = NR_POLL_IN;
	c->write_want = NR_POLL_OUT;
	c->kick.fn = on_kick;
	c->kick.arg = c;
	c->flush_soon.fn = on_flush_soon;
	c->flush_soon.arg = c;
	nr_io_init(&c->io, sock, NR_POLL_IN, on_io, c);
	if (nr_buf_alloc(&c->in, in_size ? in_size : CONFIG_NR_IO_BUF_SIZE) != 0 ||
	    nr_buf_alloc(&c->out, out_size ? out_size : CONFIG_NR_IO_BUF_SIZE) != 0)
		goto out;
	ret = nr_loop_add(loop, &c->io);
	if (ret)
		goto out;
	*out = c;
	c = NULL;
out:
	if (c) {
		/* The socket stays the caller's when we fail. */
		nr_buf_free(&c->in);
		nr_buf_free(&c->out);
		nr_free(c);
	}
	return ret;
}

void nr_conn_free(struct nr_conn *c)
{
	if (!c || c->doomed)
		return;
	release(c);
	if (c->depth > 0) {
		c->doomed = 1; /* call_owner() frees it when the callback returns */
		return;
	}
	nr_free(c);
}

/*
 * Output still buffered is written through the new transport: switch after
 * on_drained (the 220 reply to STARTTLS must go out in the clear).
 */
void nr_conn_set_transport(struct nr_conn *c, const struct nr_transport_ops *ops, void *tctx)
{
	if (c->tops && c->tops->destroy)
		c->tops->destroy(c->tctx);
	c->tops = ops ? ops : &plain_ops;
	c->tctx = ops ? tctx : &c->plain;
	/* RFC 3207 section 4.2 / CVE-2011-0411: nothing read before the switch
	 * may be taken as sent under the new transport. */
	nr_buf_reset(&c->in);
	c->need_input = 0;
	c->read_want = NR_POLL_IN;
	c->write_want = NR_POLL_OUT;
	c->handshaking = ops && ops->handshake;
	c->ready_due = ops && !ops->handshake;
	/* A TLS client must speak first: let the transport run at once. */
	kick_read(c);
	update_want(c);
}

struct nr_buf *nr_conn_in(struct nr_conn *c)
{
	return &c->in;
}

struct nr_buf *nr_conn_out(struct nr_conn *c)
{
	return &c->out;
}

void nr_conn_flush(struct nr_conn *c)
{
	if (c->closed)
		return;
	write_some(c);
	/* Errors and a completed drain are reported from the kick, so the
	 * owner is not called back from inside its own call. */
	if (c->err || (c->wrote && !nr_buf_len(&c->out) && (c->ops->on_drained || c->closing)))
		kick(c);
	update_want(c);
}

void nr_conn_flush_soon(struct nr_conn *c)
{
	if (c->closed)
		return;
	if (nr_buf_len(&c->out) >= c->out.cap / 2)
		nr_conn_flush(c);
	else
		nr_loop_at_turn_end(c->loop, &c->flush_soon);
}

/*
 * Resuming (also when not paused) re-offers buffered input through a kick:
 * an owner that consumed input outside on_input calls it to get reading
 * going again, and input that arrived before a pause is not stranded.
 */
void nr_conn_pause_input(struct nr_conn *c, int paused)
{
	if (c->closed)
		return;
	c->paused = paused != 0;
	if (!paused) {
		c->need_input = nr_buf_len(&c->in) > 0;
		if (c->tops->pending(c->tctx))
			kick_read(c);
		else
			kick(c);
	}
	update_want(c);
}

void nr_conn_close_after_flush(struct nr_conn *c)
{
	if (c->closed)
		return;
	c->closing = 1;
	kick(c);
	update_want(c);
}

nr_sock_t nr_conn_sock(const struct nr_conn *c)
{
	return c->sock;
}

struct nr_loop *nr_conn_loop(const struct nr_conn *c)
{
	return c->loop;
}

int nr_conn_is_tls(const struct nr_conn *c)
{
	return c->tops != &plain_ops;
}
