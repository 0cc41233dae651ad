/*
 * delivery.h - delivery to the smarthosts: the public API the daemon calls.
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
	uint64_t retry_in_ms;                   /* 0: usable now */
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

#endif /* NR_DELIVERY_DELIVERY_H */
