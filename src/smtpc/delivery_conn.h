/*
 * delivery_conn.h - the real delivery link (internal to src/smtpc): DNS
 * (nr_dns), TCP (every address in turn, a connect timeout each), TLS
 * (implicit or after STARTTLS, always verified against the smarthost's name)
 * and reply assembly, under struct nr_dlink_ops.
 */
#ifndef NR_SMTPC_DELIVERY_CONN_H
#define NR_SMTPC_DELIVERY_CONN_H

#include "smtpc/delivery_link.h"

struct nr_dlink_net;

/* Per-address connect deadline. */
#define NR_DLINK_CONNECT_TIMEOUT_MS 30000u
/* A closed link waits this long for its output (QUIT) to drain. */
#define NR_DLINK_LINGER_MS 5000u

extern const struct nr_dlink_ops nr_dlink_net_ops;

/* The ops' ctx. The resolver uses conf->dns_server; the TLS client context
 * is loaded from conf->ca_file once, only when some smarthost uses TLS.
 * NR_ENOMEM, NR_EDNS, or a TLS context error (NR_ENOTFOUND, NR_EINVAL). */
int nr_dlink_net_new(struct nr_dlink_net **out, struct nr_loop *loop,
		     const struct nr_conf *conf) NR_MUST_CHECK;
/* Frees every link still lingering. Call after every link was closed. */
void nr_dlink_net_free(struct nr_dlink_net *n);

#endif /* NR_SMTPC_DELIVERY_CONN_H */
