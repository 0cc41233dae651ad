/*
 * conn.h - a buffered, non-blocking connection driven by the loop.
 *
 * A connection owns one socket, an input and an output buffer (each
 * CONFIG_NR_IO_BUF_SIZE bytes unless given), a transport (plain socket or
 * TLS: session code never sees which), and an owner with callbacks.
 *
 * Backpressure: while the output buffer holds more than half its capacity,
 * the connection stops reading (it does not wait for NR_POLL_IN), so a peer
 * that does not read our replies cannot make us buffer without bound.
 *
 * Callbacks run from the loop; an owner may call nr_conn_free() from inside
 * any of them, after which the connection must not be touched.
 */
#ifndef NR_CORE_CONN_H
#define NR_CORE_CONN_H

#include <stddef.h>

#include "core/buf.h"
#include "core/build.h"
#include "core/loop.h"
#include "platform.h"

struct nr_conn;

/* How bytes move: plain sockets, or TLS (src/tls provides that one). The
 * functions follow nr_plat_sock_read/write: >0 bytes, NR_EAGAIN,
 * NR_ECLOSED, other NR_E... codes. */
struct nr_transport_ops {
	const char *name; /* "plain", "tls" */
	long (*read)(void *tctx, void *buf, size_t len);
	long (*write)(void *tctx, const void *buf, size_t len);
	/* Bytes already readable without the socket becoming ready. */
	size_t (*pending)(void *tctx);
	/* What the transport waits for after NR_EAGAIN (NR_POLL_IN|OUT). */
	unsigned (*wants)(void *tctx);
	/* Release the transport's state (not the socket). */
	void (*destroy)(void *tctx);
	/* Optional: drive the transport's handshake (TLS). 0 once it is done,
	 * NR_EAGAIN while it waits (see wants), another NR_E... code when it
	 * failed. The connection calls it before every read and write until
	 * it returned 0, then raises on_tls_ready. NULL: nothing to shake
	 * hands about. */
	int (*handshake)(void *tctx);
};

struct nr_conn_ops {
	/* New input is in nr_conn_in(c). Consume what you can. */
	void (*on_input)(struct nr_conn *c, void *owner);
	/* The output buffer has been fully written (optional). */
	void (*on_drained)(struct nr_conn *c, void *owner);
	/* EOF or an error (err: NR_ECLOSED, NR_ERESET, NR_ETLS, ...). The owner
	 * frees the connection. */
	void (*on_close)(struct nr_conn *c, void *owner, int err);
	/* The transport installed by nr_conn_set_transport() is ready: its
	 * handshake completed (at once, from the loop, for a transport without
	 * one). Raised once per switch, before any on_input or on_drained that
	 * follows it; a handshake that fails reaches on_close instead
	 * (optional). */
	void (*on_tls_ready)(struct nr_conn *c, void *owner);
};

/* Wrap a connected, non-blocking socket. in_size/out_size 0: the Kconfig
 * default. The connection starts reading at once. NR_ENOMEM. */
int nr_conn_new(struct nr_conn **out, struct nr_loop *loop, nr_sock_t sock, size_t in_size,
		size_t out_size, const struct nr_conn_ops *ops, void *owner) NR_MUST_CHECK;
/* Close the socket, free the transport and buffers. NULL is ignored. */
void nr_conn_free(struct nr_conn *c);

/* Switch transport (e.g. after STARTTLS). Bytes left in the input buffer
 * are discarded (STARTTLS is a hard boundary, CVE-2011-0411 class); the
 * previous transport is destroyed. Output still buffered goes out through
 * the new transport: switch from on_drained (after the 220 went out).
 * on_tls_ready follows once the new transport's handshake is done (not for
 * ops NULL, the plain socket again). */
void nr_conn_set_transport(struct nr_conn *c, const struct nr_transport_ops *ops, void *tctx);

struct nr_buf *nr_conn_in(struct nr_conn *c);
struct nr_buf *nr_conn_out(struct nr_conn *c);
/* Start writing what is in the output buffer (call after adding to it). */
void nr_conn_flush(struct nr_conn *c);
/* The same from the end of this loop turn (at once when the buffer is half
 * full), so pieces added during the turn leave in one write: a pipelined
 * MAIL, RCPT and DATA, or a short body and its final dot. */
void nr_conn_flush_soon(struct nr_conn *c);
/* Stop or resume reading input (e.g. while a commit is in flight).
 * Resuming hands input already buffered to on_input again (from the loop,
 * not from inside this call). */
void nr_conn_pause_input(struct nr_conn *c, int paused);
/* Close after the output buffer has drained (on_close then reports
 * NR_ECLOSED). */
void nr_conn_close_after_flush(struct nr_conn *c);

nr_sock_t nr_conn_sock(const struct nr_conn *c);
struct nr_loop *nr_conn_loop(const struct nr_conn *c);
int nr_conn_is_tls(const struct nr_conn *c);

#endif /* NR_CORE_CONN_H */
