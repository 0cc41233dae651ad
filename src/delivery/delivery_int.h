/*
 * delivery_int.h - what the engine's files share (internal to src/delivery):
 * the engine's state, one connection and the message it carries, and the
 * functions delivery.c calls in delivery_msg.c (the message as it goes on
 * the wire) and delivery_report.c (log lines, counters, expiry and the
 * failure digest).
 */
#ifndef NR_DELIVERY_DELIVERY_INT_H
#define NR_DELIVERY_DELIVERY_INT_H

#include <stdio.h>
#include <string.h>

#include "conf/conf.h"
#include "core/loop.h"
#include "delivery/delivery.h"
#include "delivery/delivery_sched.h"
#include "queue/queue.h"
#include "rewrite/rewrite.h"
#include "smtpc/smtpc_session.h"

#define STR_MAX 256

struct nr_oauth2_keeper;

struct dhost {
	char host[128];
	uint16_t port;
	enum nr_tls_mode tls;
	int insecure;
	char user[STR_MAX];
	char password_file[STR_MAX];
	char oauth_token_file[STR_MAX];
	int oauth2;                 /* oauth2=: the token comes from the store */
	char oauth2_store[STR_MAX]; /* in state_dir ("" when the path is too long) */
	char auth_mech[16];
	int from_rewrite; /* the header From goes through the filter (provider.h) */
	/* While an AUTH failure holds the host: a fingerprint of its secret
	 * file then, so a changed file lifts the hold (delivery.c). */
	uint64_t secret_sum;
	int secret_sum_set;
	uint64_t secret_checked_at; /* monotonic ms */
	int oauth2_retried;         /* an XOAUTH2 refusal was retried with a new token */
};

/* What a message in flight needs from the rewrite settings: the addresses
 * that go on the wire and the header From filter. One allocation per
 * message; it holds no pointer into the configuration, so a reload never
 * pulls anything from under a transaction. */
#define DMSG_IN 256
#define DMSG_OUT 8192 /* one feed of DMSG_IN bytes emits well under this */

struct dmsg {
	struct nr_rewrite rw; /* from_rewrite only, for the filter */
	struct nr_rewrite_hdr hdr;
	int hdr_on; /* the header block is still going through the filter */
	int eof;
	size_t ipos, ilen, opos, olen;
	uint8_t in[DMSG_IN];
	uint8_t out[DMSG_OUT];
	const char *wire[CONFIG_NR_MAX_RECIPIENTS];
	char addr[][NR_REWRITE_ADDR_MAX + 1];
};

/* The rewrite settings, copied out of the configuration into one
 * allocation (strings and alias table): rw points only into arena. A
 * reload builds a new one before it frees the old. */
struct rw_conf {
	void *arena;
	struct nr_rewrite rw;
};

/* One upstream connection and the message it carries. */
struct dconn {
	struct nr_delivery *d;
	int used;
	int dead;          /* finished: reaped at the end of the turn */
	int ready;         /* READY and idle */
	struct dhost host; /* its own copy: survives a reload */
	struct nr_smtpc *s;
	struct nr_dlink *link;
	struct nr_timer timer;
	uint64_t opened_at; /* loop ms: open_conn */
	uint64_t setup_ms;  /* open to first READY; 0 once a message used it */
	uint64_t send_at;   /* loop ms: the message in flight was handed over */

	/* the message in flight */
	int busy;
	nr_qid_t id;
	struct nr_qinfo info;
	struct nr_qreader *reader;
	struct nr_smtpc_msg msg;
	char sender[STR_MAX];
	const char *rcpt[CONFIG_NR_MAX_RECIPIENTS]; /* as queued: logs, digest */
	struct dmsg *m;                             /* rewritten addresses, filter */
	uint8_t own_result[CONFIG_NR_MAX_RECIPIENTS];
	int delivered_any;
	char last_error[NR_UPSTREAM_ERROR_MAX];
};

#define MAX_DCONNS (CONFIG_NR_MAX_SMARTHOSTS * CONFIG_NR_MAX_UPSTREAM_CONNECTIONS)

struct nr_delivery {
	struct nr_loop *loop;
	struct nr_queue *q;
	const struct nr_dlink_ops *links;
	void *links_ctx;
	void (*links_free)(void *links_ctx); /* NULL: links_ctx is borrowed */

	size_t nhosts;
	struct dhost host[CONFIG_NR_MAX_SMARTHOSTS];
	char admin[STR_MAX];
	char hostname[128];
	uint64_t max_age_ms;
	uint64_t upstream_timeout_ms;
	struct rw_conf rwc;

	struct nr_dsched sched;
	struct nr_dsched_digest digest;
	struct nr_oauth2_keeper *oauth2; /* NULL: no oauth2= smarthost */
	uint64_t last_expire;
	int expired_once;

	struct dconn conn[MAX_DCONNS];
	struct nr_hook kick_hook;
	struct nr_timer wake;
	int stopping;
	nr_delivery_observe_fn observe;
	void *observe_arg;
};

/* ---- small helpers ---- */

static inline void nr_dlv_copy_str(char *dst, size_t size, const char *src)
{
	snprintf(dst, size, "%s", src ? src : "");
}

/* For backoff jitter and the digest's boundary. */
static inline uint32_t nr_dlv_random32(void)
{
	uint32_t r = 0;

	if (nr_plat_entropy(&r, sizeof(r)) != 0)
		r = (uint32_t)nr_plat_now_ms() * 2654435761u; /* jitter only, not a secret */
	return r;
}

/* Wall clock seconds; 0 while the clock is not set. */
static inline int64_t nr_dlv_wall_now(void)
{
	int64_t t = 0;

	if (nr_plat_wall_time(&t) != 0)
		t = 0;
	return t;
}

/* "host[addr]:port" of dc's link, "none" before it has one. */
static inline const char *nr_dlv_relay_name(const struct dconn *dc)
{
	return dc->link ? dc->d->links->peer(dc->link) : "none";
}

/* The client recorded for the engine's own failure digest: its failures
 * are logged, never reported in another digest (no loop, no storm). */
#define NR_DLV_DIGEST_CLIENT "nanorelay-digest"

/* The sender to note in the digest for message id: "" (not reported) for
 * the digest itself, like a bounce from <>. */
static inline const char *nr_dlv_report_sender(struct nr_delivery *d, nr_qid_t id)
{
	const char *client = nr_queue_client(d->q, id);

	if (client && strcmp(client, NR_DLV_DIGEST_CLIENT) == 0)
		return "";
	return nr_queue_sender(d->q, id);
}

/* ---- delivery_msg.c ---- */

/* The rewritten recipients (queue indices unchanged: only the wire address
 * differs) and the header filter for dc's message, in dc->m. NR_ENOMEM. */
int nr_dlv_prepare_msg(struct dconn *dc) NR_MUST_CHECK;
/* The session's body source (struct nr_smtpc_msg read; arg is the dconn). */
long nr_dlv_read_body(void *arg, void *buf, size_t len);
/* Copy the rewrite settings of conf (accepted by the reload check) into
 * out. NR_ENOMEM. */
int nr_dlv_build_rewrite(struct rw_conf *out, const struct nr_conf *conf) NR_MUST_CHECK;

/* ---- delivery_report.c ---- */

/* One recipient's outcome as a Postfix-style log line. */
void nr_dlv_log_rcpt(struct dconn *dc, size_t i, enum nr_dsched_outcome o, int code,
		     const char *text);
/* Counters and the recent-outcome ring behind `status` and `send-test`. */
void nr_dlv_count_outcome(nr_qid_t id, enum nr_dsched_outcome o, const char *text);
/* A connection-level failure (relay: "host[addr]:port" or NULL for none)
 * deferred message id without a session: one status=deferred line per
 * pending recipient, counted as deferred like a reply would be. */
void nr_dlv_log_deferred_msg(struct nr_delivery *d, nr_qid_t id, const char *relay,
			     const char *text);
/* nr_queue_expire()'s callback (arg: the engine): log and add to the digest. */
void nr_dlv_on_expire(void *arg, nr_qid_t id);
/* Queue the failure digest for the admin now (the caller checked it is due). */
void nr_dlv_send_digest(struct nr_delivery *d, uint64_t now);

#endif /* NR_DELIVERY_DELIVERY_INT_H */
