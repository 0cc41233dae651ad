/*
 * embed.c - a relay's life: create (from text or a parsed file), give it a
 * device, start, turn, stop, free, and its statistics. The public contract
 * is include/nanorelay.h; what the daemon uses besides is embed.h.
 *
 * Start order: the queue (recovery) first, then the LAN certificate,
 * delivery and the listeners. Stop order: close listeners and sessions,
 * let pending commits finish in one last turn, stop delivery, close the
 * queue and its device.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/loop.h"
#include "core/mem.h"
#include "core/stats.h"
#include "delivery/delivery.h"
#include "embed/embed_int.h"
#include "queue/queue.h"
#include "smtpd/smtpd.h"
#include "tls/tls.h"

/* The loop's capacity: every session has one socket (plus upstream
 * connections, DNS sockets, listeners and the control socket). */
#define NR_RELAY_MAX_IOS                                                                           \
	(CONFIG_NR_MAX_SESSIONS + CONFIG_NR_MAX_LOCAL_SESSIONS + CONFIG_NR_MAX_LISTENERS +         \
	 CONFIG_NR_MAX_SMARTHOSTS * CONFIG_NR_MAX_UPSTREAM_CONNECTIONS + 32)
#define NR_RELAY_MAX_TIMERS (2 * NR_RELAY_MAX_IOS)

/* Provided by the platform (platform.h, being added there); until every
 * shim has it, embed_wake.c holds a weak stand-in. */
void nr_plat_wake(void);

int nr_relay_new_conf(struct nr_relay **out, struct nr_conf *conf, const char *source)
{
	struct nr_relay *r = nr_calloc(1, sizeof(*r));
	int rc;

	*out = NULL;
	if (r == NULL)
		return NR_ENOMEM;
	rc = nr_loop_new(&r->loop, NR_RELAY_MAX_IOS, NR_RELAY_MAX_TIMERS);
	if (rc != 0) {
		nr_free(r);
		return rc;
	}
	r->slot[0] = *conf;
	nr_conf_init(conf);
	nr_conf_init(&r->slot[1]);
	r->conf = &r->slot[0];
	r->source = source;
	*out = r;
	return 0;
}

int nr_relay_new_private(struct nr_relay **out, struct nr_conf *conf, uint64_t ram_bytes)
{
	int rc;

	nr_conf_drop_listeners(conf);
	nr_conf_set_ram_queue(conf, ram_bytes);
	rc = nr_relay_new_conf(out, conf, NULL);
	if (rc == 0)
		(*out)->private_relay = 1;
	return rc;
}

int nr_relay_new(struct nr_relay **out, const char *config, size_t len, char *err, size_t err_size)
{
	struct nr_conf c;
	int rc;

	*out = NULL;
	rc = nr_conf_parse_text(&c, config, len, err, err_size);
	if (rc != 0)
		return rc;
	rc = nr_relay_new_conf(out, &c, NULL);
	if (rc != 0) {
		nr_conf_free(&c);
		if (err != NULL && err_size > 0)
			snprintf(err, err_size, "%s", nr_strerror(rc));
	}
	return rc;
}

int nr_relay_set_storage(struct nr_relay *r, const struct nr_plat_storage *dev)
{
	if (r->started)
		return NR_ESTATE;
	if (r->have_dev)
		return NR_EBUSY;
	if (dev == NULL || dev->read == NULL || dev->write == NULL || dev->erase == NULL ||
	    dev->sync == NULL || dev->close == NULL || dev->size == 0)
		return NR_EINVAL;
	r->dev = *dev;
	r->have_dev = 1;
	return 0;
}

/* New mail is durable: delivery looks at the queue right away, at the end
 * of the next (non-waiting) loop turn; kicks are coalesced by the engine. */
static void on_commit(void *arg)
{
	struct nr_relay *r = arg;

	if (r->delivery)
		nr_delivery_kick(r->delivery);
}

int nr_relay_open_queue(struct nr_relay *r, char *err, size_t err_size)
{
	int rc;

	if (r->queue_tried)
		return NR_ESTATE;
	r->queue_tried = 1;
	r->started = 1;
	nr_log_set_level(r->conf->log_level);
	rc = nr_relay_queue_open(r, err, err_size);
	if (rc != 0)
		r->failed_at = NR_RELAY_AT_QUEUE;
	return rc;
}

static int start_rest(struct nr_relay *r, char *err, size_t err_size)
{
	const struct nr_conf *c = r->conf;
	int rc;

	if (NR_ENABLED(CONFIG_NR_LAN_TLS) && nr_conf_uses_lan_tls(c)) {
		/* An explicit lan_cert is never replaced by a generated one. */
		rc = nr_tls_server_ctx_new(&r->lan_tls, c->lan_cert, c->lan_key,
					   c->lines.lan_cert ? NULL : c->state_dir, c->hostname);
		if (rc != 0) {
			r->failed_at = NR_RELAY_AT_LAN_TLS;
			return nr_relay_fail(err, err_size, rc, "LAN TLS: cannot load %s / %s: %s",
					     c->lan_cert, c->lan_key, nr_strerror(rc));
		}
	}
	if (c->smarthost_count > 0) {
		rc = nr_delivery_start(&r->delivery, r->loop, c, r->queue);
		if (rc != 0) {
			r->delivery = NULL;
			r->failed_at = NR_RELAY_AT_DELIVERY;
			return nr_relay_fail(err, err_size, rc, "cannot start delivery: %s",
					     nr_strerror(rc));
		}
		nr_queue_on_commit(r->queue, on_commit, r);
	} else if (!r->private_relay) {
		/* (a private relay's front end says what it does instead) */
		nr_warn("no smarthost configured: mail stays queued");
	}
	rc = nr_smtpd_start(&r->smtpd, r->loop, c, r->queue, r->lan_tls);
	if (rc != 0) {
		r->smtpd = NULL;
		r->failed_at = NR_RELAY_AT_LISTENERS;
		return nr_relay_fail(err, err_size, rc, "cannot start the listeners: %s",
				     nr_strerror(rc));
	}
	if (r->auth_fn || c->users)
		nr_smtpd_set_auth(r->smtpd, nr_relay_verify_user, r);
	r->running = 1;
	return 0;
}

int nr_relay_start(struct nr_relay *r, char *err, size_t err_size)
{
	int rc;

	if (err != NULL && err_size > 0)
		err[0] = '\0';
	if (!r->queue_tried) {
		rc = nr_relay_open_queue(r, err, err_size);
		if (rc != 0)
			return rc;
	} else if (r->running || r->queue == NULL || r->smtpd != NULL || r->failed_at) {
		return NR_ESTATE; /* started already, or its queue failed */
	}
	return start_rest(r, err, err_size);
}

enum nr_relay_stage nr_relay_failed_at(const struct nr_relay *r)
{
	return r->failed_at;
}

int nr_relay_turn(struct nr_relay *r, int timeout_ms)
{
	int rc;

	if (!r->running)
		return NR_ESTATE;
	rc = nr_loop_turn(r->loop, r->stop ? 0 : timeout_ms);
	if (r->turn_hook)
		r->turn_hook(r->turn_arg, r);
	return rc;
}

int nr_relay_run(struct nr_relay *r)
{
	while (!r->stop) {
		int rc = nr_relay_turn(r, -1);

		if (rc < 0 && rc != NR_EAGAIN)
			return rc;
	}
	return 0;
}

void nr_relay_stop(struct nr_relay *r)
{
	r->stop = 1;
	nr_plat_wake();
}

int nr_relay_stopping(const struct nr_relay *r)
{
	return r->stop != 0;
}

void nr_relay_wake(struct nr_relay *r)
{
	(void)r;
	nr_plat_wake();
}

void nr_relay_set_turn_hook(struct nr_relay *r, void (*fn)(void *arg, struct nr_relay *r),
			    void *arg)
{
	r->turn_hook = fn;
	r->turn_arg = arg;
}

void nr_relay_set_auth(struct nr_relay *r, nr_relay_auth_fn fn, void *arg)
{
	r->auth_fn = fn;
	r->auth_arg = arg;
	if (fn && r->smtpd)
		nr_smtpd_set_auth(r->smtpd, nr_relay_verify_user, r);
}

void nr_relay_close_sessions(struct nr_relay *r)
{
	if (r == NULL || r->sessions_closed)
		return;
	r->sessions_closed = 1;
	nr_submit_abort(r->submit_open ? &r->submit : NULL);
	if (r->smtpd)
		nr_smtpd_stop(r->smtpd);
	r->smtpd = NULL;
	/* One last turn runs the turn-end hooks: pending group commits finish. */
	if (r->loop)
		(void)nr_loop_turn(r->loop, 0);
}

void nr_relay_free(struct nr_relay *r)
{
	if (r == NULL)
		return;
	nr_relay_close_sessions(r);
	if (r->delivery) {
		nr_queue_on_commit(r->queue, NULL, NULL);
		nr_delivery_stop(r->delivery);
	}
	r->delivery = NULL;
	if (r->queue)
		nr_queue_close(r->queue);
	r->queue = NULL;
	if (r->bdev_open && r->bdev.close)
		r->bdev.close(&r->bdev);
	r->bdev_open = 0;
	if (r->have_dev && r->dev.close)
		r->dev.close(r->dev.ctx); /* given, never opened */
	if (r->lan_tls)
		nr_tls_ctx_free(r->lan_tls);
	nr_loop_free(r->loop);
	nr_conf_free(&r->slot[0]);
	nr_conf_free(&r->slot[1]);
	nr_free(r);
}

void nr_relay_get_stats(const struct nr_relay *r, struct nr_relay_stats *out)
{
	struct nr_qstats q;

	memset(out, 0, sizeof(*out));
	if (!r->running)
		return;
	out->running = 1;
	out->sessions = r->smtpd ? nr_smtpd_sessions(r->smtpd) : 0;
	nr_queue_stats(r->queue, &q);
	out->queued = q.messages;
	out->dead = q.dead;
	out->queue_capacity = q.capacity;
	out->queue_used = q.used;
	out->queue_free = q.free;
	out->queue_persistent = q.persistent;
	out->oldest_arrival = q.oldest_arrival;
	out->accepted = nr_stats_get(NR_STAT_ACCEPTED);
	out->delivered = nr_stats_get(NR_STAT_DELIVERED);
	out->deferred = nr_stats_get(NR_STAT_DEFERRED);
	out->bounced = nr_stats_get(NR_STAT_FAILED);
	out->rejected = nr_stats_get(NR_STAT_REJECTED);
	out->auth_failed = nr_stats_get(NR_STAT_AUTH_FAILED);
}

const struct nr_conf *nr_relay_conf(const struct nr_relay *r)
{
	return r->conf;
}

struct nr_loop *nr_relay_loop(const struct nr_relay *r)
{
	return r->loop;
}

struct nr_queue *nr_relay_queue(const struct nr_relay *r)
{
	return r->queue;
}

struct nr_delivery *nr_relay_delivery(const struct nr_relay *r)
{
	return r->delivery;
}

struct nr_smtpd *nr_relay_smtpd(const struct nr_relay *r)
{
	return r->smtpd;
}
