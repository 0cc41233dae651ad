/*
 * delivery_conn.h - the real delivery link (internal to src/delivery): DNS
 * (nr_dns), TCP (every address in turn, a connect timeout each), TLS
 * (implicit or after STARTTLS, always verified against the smarthost's name)
 * and reply assembly, under struct nr_dlink_ops.
 */
#ifndef NR_DELIVERY_DELIVERY_CONN_H
#define NR_DELIVERY_DELIVERY_CONN_H

#include "delivery/delivery_link.h"

struct nr_dlink_net;
struct nr_dns_result;
struct nr_smtpc_reply;
struct nr_tls;
struct nr_addr;

/* Per-address connect deadline. */
#define NR_DLINK_CONNECT_TIMEOUT_MS 30000u
/* A closed link waits this long for its output (QUIT) to drain. */
#define NR_DLINK_LINGER_MS 5000u

extern const struct nr_dlink_ops nr_dlink_net_ops;

/* The ops' ctx. The resolver uses conf->dns_server; the TLS client context
 * is loaded from conf->ca_file, only when some smarthost uses TLS, and again
 * at each reload (nr_dlink_net_reload).
 * NR_ENOMEM, NR_EDNS, or a TLS context error (NR_ENOTFOUND, NR_EINVAL). */
int nr_dlink_net_new(struct nr_dlink_net **out, struct nr_loop *loop,
		     const struct nr_conf *conf) NR_MUST_CHECK;
/* Frees every link still lingering. Call after every link was closed. */
void nr_dlink_net_free(struct nr_dlink_net *n);
/* Read the CA file again (a bundle updated in place, another ca_file, a
 * first TLS smarthost); links already open keep their context. On failure
 * (logged) the previous context stays. */
int nr_dlink_net_reload(struct nr_dlink_net *n, const struct nr_conf *conf) NR_MUST_CHECK;

/* ---- observing the steps (test-upstream) ---- */

enum nr_dlink_step {
	NR_DLINK_STEP_RESOLVED = 1, /* err 0 and res, or the lookup's error */
	NR_DLINK_STEP_CONNECT = 2,  /* one address tried: err 0 connected, else why not */
	NR_DLINK_STEP_TLS = 3,      /* handshake over: err 0 up, else NR_ETLS/ECERT/ECLOCK/... */
	NR_DLINK_STEP_REPLY = 4,    /* a complete reply, before the session sees it */
};

/* Valid only during the callback. tls is the session (for nr_tls_version,
 * nr_tls_peer_cert, nr_tls_verify_text); a reply's text is the server's. */
struct nr_dlink_event {
	enum nr_dlink_step step;
	int err;
	const struct nr_dns_result *res;    /* RESOLVED */
	const struct nr_addr *addr;         /* CONNECT */
	const struct nr_tls *tls;           /* TLS */
	const struct nr_smtpc_reply *reply; /* REPLY */
};

typedef void (*nr_dlink_observer_fn)(void *arg, const struct nr_dlink_event *ev);

/* Report every step of every link of n to fn (NULL stops). The observer
 * only looks: it must not close links or free sessions from inside. */
void nr_dlink_net_observe(struct nr_dlink_net *n, nr_dlink_observer_fn fn, void *arg);

#endif /* NR_DELIVERY_DELIVERY_CONN_H */
