/*
 * delivery.h - delivery to the smarthosts: the public API of src/delivery
 * (the engine the daemon runs; below it, the link that test-upstream uses).
 *
 * The delivery engine takes due messages from the queue (FIFO, a deferred
 * message never blocks the others), sends them over a bounded number of
 * connections per smarthost (CONFIG_NR_MAX_UPSTREAM_CONNECTIONS), fails over
 * to the next smarthost in configured order when one is failing, retries
 * with backoff and jitter (`retry`), expires messages after `max_age`, and
 * reports permanent failures and expiries to `admin` as one digest (never
 * to the null sender, never about a report, at most one per interval).
 * An AUTH 535 holds that smarthost for an hour; nr_delivery_status() shows
 * it. Everything runs in the loop; nothing here blocks.
 *
 * Rewriting (src/rewrite): each recipient goes upstream as
 * nr_rewrite_recipient() gives it (the queue keeps the original and its
 * index), the envelope sender as nr_rewrite_sender() gives it, and with
 * from_rewrite on the header block goes through the From filter before
 * the session dot-stuffs the body. A message in flight keeps the settings
 * it started with across a reload.
 *
 * Ownership: the engine borrows loop and queue (they outlive it). It copies
 * what it needs from conf: after nr_delivery_start()/nr_delivery_reload()
 * return, nothing points into the conf passed.
 */
#ifndef NR_DELIVERY_DELIVERY_H
#define NR_DELIVERY_DELIVERY_H

#include <stddef.h>
#include <stdint.h>

#include "conf/conf.h"
#include "core/build.h"
#include "platform.h"

struct nr_delivery;
struct nr_loop;
struct nr_conf;
struct nr_queue;

#define NR_UPSTREAM_ERROR_MAX 160

enum nr_upstream_state {
	NR_UPSTREAM_OK = 0,          /* last attempt worked (or none yet) */
	NR_UPSTREAM_DEFERRING = 1,   /* failing: DNS, TCP, TLS, 4xx; held until retry */
	NR_UPSTREAM_AUTH_FAILED = 2, /* 535: held for an hour, fix the password */
};

/* One smarthost as `status` shows it. */
struct nr_upstream_status {
	char host[128];
	uint16_t port;
	enum nr_upstream_state state;
	unsigned connections;                   /* open now */
	unsigned failures;                      /* consecutive */
	uint64_t retry_in_ms;                   /* 0: usable now; else the next try
						   (a probe while it is deferring) */
	int64_t last_error_at;                  /* wall seconds of last_error, 0: none */
	int64_t last_ok_at;                     /* wall seconds of the last delivery, 0: none */
	char last_error[NR_UPSTREAM_ERROR_MAX]; /* "" when none; never a secret */
};

/* Start delivering. NR_EINVAL (no smarthost configured), NR_ENOMEM, or a
 * TLS context error (NR_ENOTFOUND for a missing ca_file). */
int nr_delivery_start(struct nr_delivery **out, struct nr_loop *loop, const struct nr_conf *conf,
		      struct nr_queue *q) NR_MUST_CHECK;

/* A message was committed, or `flush` was asked: look for due work now.
 * Cheap; coalesced to one scan per loop turn. */
void nr_delivery_kick(struct nr_delivery *d);

/* `flush`: make every deferred message and held smarthost due now (an AUTH
 * hold included: the user says the password is fixed), then kick. */
void nr_delivery_flush(struct nr_delivery *d);

/* Apply a new configuration. Idle connections are closed; sessions in
 * flight finish with the settings they started with (they hold their own
 * copies). Smarthost state is kept for hosts that stay (same host:port).
 * On error the old configuration stays in force. */
int nr_delivery_reload(struct nr_delivery *d, const struct nr_conf *conf) NR_MUST_CHECK;

/* Close every connection (QUIT where possible, best effort), release
 * in-flight marks, free everything. NULL is ignored. */
void nr_delivery_stop(struct nr_delivery *d);

/*
 * Watch recipient outcomes as they happen (`sendmail` without a daemon
 * reports them as its exit code): fn gets the message id, the recipient
 * index, 0 delivered / 1 deferred / 2 failed, and the reply text. NULL
 * stops watching.
 */
typedef void (*nr_delivery_observe_fn)(void *arg, uint64_t id, size_t rcpt, int outcome,
				       const char *text);
void nr_delivery_observe(struct nr_delivery *d, nr_delivery_observe_fn fn, void *arg);

/* Upstream state for `status`: fills at most max entries, returns the
 * number of smarthosts. */
size_t nr_delivery_status(const struct nr_delivery *d, struct nr_upstream_status *out, size_t max);

/*
 * ---- the link: the I/O under one client session ----
 *
 * A link resolves the smarthost (every address in turn), connects, runs TLS
 * (implicit from the first byte, or when the session asks after STARTTLS;
 * always verified against the smarthost's name), assembles replies
 * (smtpc/reply.h) and feeds everything into the nr_smtpc session it was
 * opened for. The engine sees links only through struct nr_dlink_ops, so
 * tests can put a scripted server under real sessions; nr_dlink_net_ops is
 * the real one (nr_dns, TCP, src/tls). test-upstream (src/app) drives one
 * link by hand and watches its steps.
 */

struct nr_smtpc;
struct nr_dlink;
struct nr_dlink_net;
struct nr_dns_result;
struct nr_smtpc_reply;
struct nr_tls;
struct nr_addr;

/* What a link needs to know of its smarthost. */
struct nr_dlink_target {
	const char *host;
	uint16_t port;
	enum nr_tls_mode tls;
	uint64_t connect_timeout_ms; /* cap on the 30 s per address and implicit TLS (0: none) */
};

struct nr_dlink_ops {
	/* Start: resolve, connect, (implicit TLS,) then nr_smtpc_on_connected(s);
	 * later events go to s. Failures arrive as session events
	 * (nr_smtpc_on_closed / on_timeout), never as a callback from inside
	 * open(). NR_ENOMEM. */
	int (*open)(void *ctx, struct nr_dlink **out, const struct nr_dlink_target *t,
		    struct nr_smtpc *s);
	int (*write)(struct nr_dlink *l, const void *p, size_t n);
	size_t (*room)(struct nr_dlink *l);
	/* Switch to TLS now, then nr_smtpc_on_tls_done(). */
	void (*start_tls)(struct nr_dlink *l);
	/* Close after the output drained; no session event follows. The link
	 * is freed by this. */
	void (*close)(struct nr_dlink *l);
	/* "host[addr]:port" of the current peer ("host[?]:port" before connect). */
	const char *(*peer)(struct nr_dlink *l);
	/* The configuration was reloaded: read again what links share (the
	 * CA file). Open links keep what they started with. A failure keeps
	 * the previous state. NULL: nothing to read again. */
	int (*reload)(void *ctx, const struct nr_conf *conf);
};

/* Per-address connect deadline. */
#define NR_DLINK_CONNECT_TIMEOUT_MS 30000u

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

#endif /* NR_DELIVERY_DELIVERY_H */
