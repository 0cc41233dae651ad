/* delivery_report.c - what the engine tells people: a log line per
 * recipient outcome (as Postfix writes them), the counters, expiry, and the
 * failure digest it queues for the admin. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/fmt.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/stats.h"
#include "delivery/delivery_int.h"
#include "proto/proto.h"

#define DIGEST_SIZE (NR_DELIVERY_DIGEST_MAX * 640 + 2048)

/* Seconds with one decimal, for delays=. */
static void secs(char *dst, size_t size, uint64_t ms)
{
	snprintf(dst, size, "%s.%u", NR_U64(ms / 1000), (unsigned)(ms % 1000 / 100));
}

/* delays=a/b/c/d as Postfix means them: a before the queue (not measured
 * here: 0), b waiting in the queue, c connection setup (DNS, TCP, TLS,
 * EHLO, AUTH; 0 on a reused connection), d transmission. */
static void format_delays(const struct dconn *dc, uint64_t delay_s, char *dst, size_t size)
{
	uint64_t now = nr_loop_now(dc->d->loop);
	uint64_t c = dc->setup_ms, d = now > dc->send_at ? now - dc->send_at : 0;
	uint64_t total = delay_s * 1000, b = total > c + d ? total - c - d : 0;
	char bs[24], cs[24], ds[24];

	secs(bs, sizeof(bs), b);
	secs(cs, sizeof(cs), c);
	secs(ds, sizeof(ds), d);
	snprintf(dst, size, "0/%s/%s/%s", bs, cs, ds);
}

void nr_dlv_log_rcpt(struct dconn *dc, size_t i, enum nr_dsched_outcome o, int code,
		     const char *text)
{
	char line[640], id[17], delays[80];
	int64_t now = nr_dlv_wall_now();
	struct nr_dsched_status st;

	memset(&st, 0, sizeof(st));
	st.id = nr_qid_str(dc->id, id);
	st.orig_to = dc->rcpt[i];
	st.to = dc->m && dc->m->wire[i] ? dc->m->wire[i] : dc->rcpt[i];
	st.relay = nr_dlv_relay_name(dc);
	if (strstr(st.relay, "[?]"))
		st.relay = NULL; /* never connected: Postfix says relay=none */
	st.delay_s = now > dc->info.arrival ? (uint64_t)(now - dc->info.arrival) : 0;
	format_delays(dc, st.delay_s, delays, sizeof(delays));
	st.delays = delays;
	st.outcome = o;
	st.code = code;
	st.text = text;
	/* Postfix logs every outcome at info: log tools read them all alike. */
	nr_info("%s", nr_dsched_format_status(line, sizeof(line), &st));
}

/* Counters and the recent-outcome ring behind `status` and `send-test`. */
void nr_dlv_count_outcome(nr_qid_t id, enum nr_dsched_outcome o, const char *text)
{
	if (o == NR_OUTCOME_DELIVERED) {
		nr_stats_inc(NR_STAT_DELIVERED);
		nr_stats_note_outcome(id, NR_OUTCOME_KIND_DELIVERED, text);
	} else if (o == NR_OUTCOME_FAILED) {
		nr_stats_inc(NR_STAT_FAILED);
		nr_stats_note_outcome(id, NR_OUTCOME_KIND_FAILED, text);
	} else {
		nr_stats_inc(NR_STAT_DEFERRED);
	}
}

/* One status line per pending recipient of message id: the outcome, text,
 * relay and delays of tmpl, with id, to= and delay= filled in here; then
 * each() for that recipient (counters, the digest). */
static void log_pending(struct nr_delivery *d, nr_qid_t id, const struct nr_qinfo *info,
			const struct nr_dsched_status *tmpl,
			void (*each)(struct nr_delivery *d, nr_qid_t id, size_t i, const char *rcpt,
				     const struct nr_dsched_status *ls))
{
	char line[640];
	struct nr_dsched_status ls;
	size_t i;

	for (i = 0; i < info->nrcpt; i++) {
		enum nr_rcpt_state st = NR_RCPT_PENDING;
		const char *r = nr_queue_rcpt(d->q, id, i, &st);
		if (st != NR_RCPT_PENDING)
			continue;
		ls = *tmpl;
		ls.to = r;
		nr_info("%s", nr_dsched_format_status(line, sizeof(line), &ls));
		each(d, id, i, r, &ls);
	}
}

static void count_deferred(struct nr_delivery *d, nr_qid_t id, size_t i, const char *rcpt,
			   const struct nr_dsched_status *ls)
{
	(void)rcpt;
	nr_dlv_count_outcome(id, NR_OUTCOME_DEFERRED, ls->text);
	if (d->observe)
		d->observe(d->observe_arg, id, i, (int)NR_OUTCOME_DEFERRED, ls->text);
}

void nr_dlv_log_deferred_msg(struct nr_delivery *d, nr_qid_t id, const char *relay,
			     const char *text)
{
	struct nr_qinfo info;
	struct nr_dsched_status ls;
	char idstr[17], delays[48], b[24];
	int64_t now = nr_dlv_wall_now();

	memset(&info, 0, sizeof(info));
	if (nr_queue_info(d->q, id, &info) != 0)
		return;
	memset(&ls, 0, sizeof(ls));
	ls.id = nr_qid_str(id, idstr);
	ls.relay = relay;
	ls.delay_s = now > info.arrival ? (uint64_t)(now - info.arrival) : 0;
	/* all of it waiting in the queue: no session carried it */
	secs(b, sizeof(b), ls.delay_s * 1000);
	snprintf(delays, sizeof(delays), "0/%s/0/0", b);
	ls.delays = delays;
	ls.outcome = NR_OUTCOME_DEFERRED;
	ls.text = text;
	log_pending(d, id, &info, &ls, count_deferred);
}

static void add_to_digest(struct nr_delivery *d, nr_qid_t id, size_t i, const char *rcpt,
			  const struct nr_dsched_status *ls)
{
	(void)i;
	nr_dsched_digest_add(&d->digest, ls->id, nr_dlv_report_sender(d, id), rcpt, ls->text);
}

void nr_dlv_on_expire(void *arg, nr_qid_t id)
{
	struct nr_delivery *d = arg;
	struct nr_qinfo info;
	char idstr[17], reason[NR_UPSTREAM_ERROR_MAX + 64];
	struct nr_dsched_status ls;

	memset(&info, 0, sizeof(info));
	if (nr_queue_info(d->q, id, &info) != 0)
		return;
	snprintf(reason, sizeof(reason), "message expired after %s days in the queue%s%s",
		 NR_U64(d->max_age_ms / 86400000), info.last_error[0] ? ": " : "", info.last_error);
	memset(&ls, 0, sizeof(ls));
	ls.id = nr_qid_str(id, idstr);
	ls.delay_s = (uint64_t)(nr_dlv_wall_now() - info.arrival);
	ls.outcome = NR_OUTCOME_FAILED;
	ls.text = reason;
	log_pending(d, id, &info, &ls, add_to_digest);
	nr_info("%s: removed (expired; kept as a dead letter)", idstr);
}

static void digest_committed(void *arg, int result, nr_qid_t id)
{
	char idstr[17];

	if (result == 0)
		nr_info("%s: failure digest queued for the admin", nr_qid_str(id, idstr));
	else
		nr_err("failure digest could not be stored: %s", nr_strerror(result));
}

/* The account the digest is sent as: `sender`, else the first smarthost
 * user that is an address; "" when there is none (then it goes from the
 * null sender, as MAILER-DAEMON). Microsoft 365 and Gmail refuse mail from
 * <> or MAILER-DAEMON through an account, so the admin was never told. */
static const char *digest_account(const struct nr_delivery *d)
{
	size_t i;

	if (d->rwc.rw.sender && d->rwc.rw.sender[0])
		return d->rwc.rw.sender; /* checked by nr_rewrite_init */
	for (i = 0; i < d->nhosts; i++)
		if (strchr(d->host[i].user, '@') && nr_rewrite_check_addr(d->host[i].user, 0) == 0)
			return d->host[i].user;
	return "";
}

void nr_dlv_send_digest(struct nr_delivery *d, uint64_t now)
{
	const char *rcpts[1] = {d->admin}, *account = digest_account(d);
	struct nr_qenvelope env;
	struct nr_qwriter *w = NULL;
	char date[64], *buf;
	long n;
	int rc;

	/* Whatever happens, the next try waits a whole interval: no storm. */
	buf = nr_malloc(DIGEST_SIZE);
	if (!buf) {
		d->digest.last_sent = now;
		return;
	}
	n = nr_dsched_digest_render(&d->digest, buf, DIGEST_SIZE, d->hostname, account, d->admin,
				    nr_date_rfc5322(date, sizeof(date), nr_dlv_wall_now()),
				    nr_dlv_random32());
	memset(&env, 0, sizeof(env));
	env.sender = account; /* delivery puts the smarthost's account here */
	env.rcpts = rcpts;
	env.nrcpt = 1;
	env.arrival = nr_dlv_wall_now();
	env.client = NR_DLV_DIGEST_CLIENT; /* a failing digest is never reported */
	rc = n < 0 ? (int)n : nr_queue_begin(d->q, &env, (uint64_t)n, &w);
	if (rc == 0)
		rc = nr_queue_append(w, buf, (size_t)n);
	if (rc == 0) {
		rc = nr_queue_commit(w, digest_committed, d);
		w = NULL;
	}
	nr_queue_abort(w);
	nr_free(buf);
	if (rc != 0) {
		nr_err("failure digest not queued: %s", nr_strerror(rc));
		d->digest.last_sent = now;
		d->digest.sent_any = 1;
		return;
	}
	nr_dsched_digest_sent(&d->digest, now);
}
