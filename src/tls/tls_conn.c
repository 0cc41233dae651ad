/*
 * tls_conn.c - nr_tls_transport: conn.h's transport over a struct nr_tls.
 */
#include "tls/tls_conn.h"

static long tls_transport_read(void *tctx, void *buf, size_t len)
{
	return nr_tls_read(tctx, buf, len);
}

static long tls_transport_write(void *tctx, const void *buf, size_t len)
{
	return nr_tls_write(tctx, buf, len);
}

static size_t tls_transport_pending(void *tctx)
{
	return nr_tls_pending(tctx);
}

static unsigned tls_transport_wants(void *tctx)
{
	return nr_tls_wants(tctx);
}

static int tls_transport_handshake(void *tctx)
{
	return nr_tls_handshake(tctx);
}

static void tls_transport_destroy(void *tctx)
{
	/* No close_notify here: the connection may have closed the socket
	 * already. Owners that want one call nr_tls_close_notify() first. */
	nr_tls_free(tctx);
}

const struct nr_transport_ops nr_tls_transport = {
    .name = "tls",
    .read = tls_transport_read,
    .write = tls_transport_write,
    .pending = tls_transport_pending,
    .wants = tls_transport_wants,
    .destroy = tls_transport_destroy,
    .handshake = tls_transport_handshake,
};
