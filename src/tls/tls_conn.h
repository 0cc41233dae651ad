/*
 * tls_conn.h - TLS as a transport for src/core/conn.h.
 *
 *   struct nr_tls *t;
 *   if (nr_tls_server_new(&t, ctx, nr_conn_sock(c), legacy_ok) == 0)
 *           nr_conn_set_transport(c, &nr_tls_transport, t);
 *
 * tctx is a struct nr_tls*; the connection owns it from then on and frees
 * it with nr_tls_free() through destroy (the socket stays the
 * connection's). The connection drives the handshake before its first
 * read or write; its end reaches the owner as on_tls_ready, its failure as
 * on_close with NR_ETLS, NR_ECERT, NR_ECLOCK or NR_ECLOSED
 * (nr_tls_verify_text() says why while the session still exists).
 * Callbacks never block.
 */
#ifndef NR_TLS_TLS_CONN_H
#define NR_TLS_TLS_CONN_H

#include "core/conn.h"
#include "tls/tls.h"

extern const struct nr_transport_ops nr_tls_transport;

#endif /* NR_TLS_TLS_CONN_H */
