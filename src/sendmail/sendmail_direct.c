/*
 * sendmail_direct.c - `sendmail` without a daemon (sendmail_no_daemon
 * direct): a private relay of the embedding API (nr_relay_new_private: no
 * listeners, a RAM queue of CONFIG_NR_SENDMAIL_DIRECT_RAM_KB) takes the
 * message through the very same smtpd session code as the daemon's submit
 * socket, over a socket pair, and its delivery engine sends it in the
 * foreground, like msmtp would.
 *
 * Why a session and not the submit API (nr_relay_submit_begin): sendmail
 * then runs one SMTP dialogue (sendmail.c, sendmail_link.c) with or without
 * a daemon, so its checks, replies, messages and exit codes are the same
 * either way, and the session writes "Received: ... (local, uid N)" as the
 * daemon's submit socket does; the submit API knows no uid.
 *
 * The outcome is the exit code: 0 when every recipient was delivered, 75
 * when the attempt was deferred (the smarthost is unreachable, said 4xx,
 * ...), 69 when a recipient was refused for good. Nothing stays behind:
 * the RAM queue goes away with the process, so the caller (cron, a
 * script) keeps responsibility for a deferred message, as the exit code
 * tells it.
 */
#include <stdio.h>
#include <string.h>

#include "conf/conf.h"
#include "core/log.h"
#include "core/mem.h"
#include "delivery/delivery.h"
#include "embed/embed.h"
#include "posix.h"
#include "queue/queue.h"
#include "sendmail/sendmail_int.h"
#include "smtpd/smtpd.h"

#define SM_DIRECT_MAX_MSGS 8
/* Upper bound on the whole foreground attempt (the engine's own
 * per-command timeouts come first in practice). */
#define SM_DIRECT_DEADLINE_MS (10u * 60 * 1000)

struct sm_direct {
	struct nr_relay *relay;
	nr_qid_t ids[SM_DIRECT_MAX_MSGS];
	size_t nids;
	unsigned delivered, failed;
	char fail_text[NR_UPSTREAM_ERROR_MAX];
};

static void on_outcome(void *arg, uint64_t id, size_t rcpt, int outcome, const char *text)
{
	struct sm_direct *dm = arg;

	(void)id;
	(void)rcpt;
	if (outcome == 0) {
		dm->delivered++;
	} else if (outcome == 2) {
		dm->failed++;
		snprintf(dm->fail_text, sizeof(dm->fail_text), "%s", text ? text : "");
	}
}

int sm_direct_open(struct sm_direct **out, struct nr_conf *conf, long uid, nr_sock_t *client)
{
	struct sm_direct *dm = nr_calloc(1, sizeof(*dm));
	nr_sock_t pair[2] = {NR_SOCK_INVALID, NR_SOCK_INVALID};
	int rc;

	*out = NULL;
	*client = NR_SOCK_INVALID;
	if (!dm)
		return NR_ENOMEM;
	/* The relay logs at the level sendmail chose (-v), not the file's. */
	conf->log_level = nr_log_get_level();
	rc = nr_relay_new_private(&dm->relay, conf,
				  (uint64_t)CONFIG_NR_SENDMAIL_DIRECT_RAM_KB * 1024u);
	if (rc == 0)
		rc = nr_relay_start(dm->relay, NULL, 0);
	/* Watch from the start: a commit kicks delivery at once, so a
	 * message may be delivered before the session has ended. */
	if (rc == 0 && nr_relay_delivery(dm->relay))
		nr_delivery_observe(nr_relay_delivery(dm->relay), on_outcome, dm);
	if (rc == 0)
		rc = nr_plat_local_pair(pair);
	if (rc == 0) {
		rc = nr_smtpd_accept_local(nr_relay_smtpd(dm->relay), pair[0], uid);
		pair[0] = NR_SOCK_INVALID; /* the session owns it now */
	}
	if (rc != 0) {
		nr_plat_sock_close(pair[0]);
		nr_plat_sock_close(pair[1]);
		sm_direct_close(dm);
		return rc;
	}
	*client = pair[1];
	*out = dm;
	return 0;
}

const struct nr_conf *sm_direct_conf(const struct sm_direct *dm)
{
	return nr_relay_conf(dm->relay);
}

struct nr_loop *sm_direct_loop(struct sm_direct *dm)
{
	return nr_relay_loop(dm->relay);
}

static int collect_id(void *arg, const struct nr_qinfo *info)
{
	struct sm_direct *dm = arg;

	if (info->state == NR_MSG_PENDING && dm->nids < SM_DIRECT_MAX_MSGS)
		dm->ids[dm->nids++] = info->id;
	return 0;
}

/* 1 while one of our messages still waits for its first attempt. */
static int still_trying(struct sm_direct *dm, char *why, size_t whylen)
{
	struct nr_upstream_status st[CONFIG_NR_MAX_SMARTHOSTS];
	struct nr_queue *q = nr_relay_queue(dm->relay);
	size_t i, n, held = 0, pending = 0;
	struct nr_qinfo info;

	for (i = 0; i < dm->nids; i++) {
		if (nr_queue_info(q, dm->ids[i], &info) != 0 || info.state != NR_MSG_PENDING)
			continue;
		if (info.attempts > 0) {
			snprintf(why, whylen, "%s", info.last_error);
			return 0;
		}
		pending++;
	}
	if (pending == 0)
		return 0;
	/* No connection can be made now: every smarthost is held. */
	n = nr_delivery_status(nr_relay_delivery(dm->relay), st, CONFIG_NR_MAX_SMARTHOSTS);
	for (i = 0; i < n && i < CONFIG_NR_MAX_SMARTHOSTS; i++)
		if (st[i].state != NR_UPSTREAM_OK && st[i].retry_in_ms > 0 &&
		    st[i].connections == 0)
			held++;
	if (n > 0 && held == n) {
		snprintf(why, whylen, "%s:%u: %s", st[0].host, (unsigned)st[0].port,
			 st[0].last_error);
		return 0;
	}
	return 1;
}

int sm_direct_deliver(struct sm_direct *dm)
{
	char why[NR_UPSTREAM_ERROR_MAX + 160] = "";
	const struct nr_conf *conf = nr_relay_conf(dm->relay);
	uint64_t deadline = nr_plat_now_ms() + SM_DIRECT_DEADLINE_MS;
	int rc;

	/* Let the session finish its turn (commit, QUIT) first. */
	for (int k = 0; k < 4; k++)
		(void)nr_relay_turn(dm->relay, 0);
	(void)nr_queue_foreach(nr_relay_queue(dm->relay), collect_id, dm);
	if (dm->nids == 0 && dm->failed == 0)
		return NR_SM_EX_OK; /* nothing queued, or all of it delivered already */
	if (conf->smarthost_count == 0) {
		fprintf(stderr,
			"sendmail: no daemon is running and no smarthost is configured in "
			"%s: the message was not sent\n",
			conf->path ? conf->path : "the configuration");
		return NR_SM_EX_UNAVAILABLE;
	}
	nr_delivery_kick(nr_relay_delivery(dm->relay));
	while (still_trying(dm, why, sizeof(why))) {
		if (nr_plat_now_ms() >= deadline) {
			snprintf(why, sizeof(why), "no answer within %u minutes",
				 SM_DIRECT_DEADLINE_MS / 60000);
			break;
		}
		rc = nr_relay_turn(dm->relay, 200);
		if (rc < 0 && rc != NR_EAGAIN) {
			snprintf(why, sizeof(why), "event loop: %s", nr_strerror(rc));
			break;
		}
		nr_delivery_kick(nr_relay_delivery(dm->relay));
	}
	if (why[0]) {
		fprintf(stderr, "sendmail: no daemon running; direct delivery deferred: %s\n", why);
		return NR_SM_EX_TEMPFAIL;
	}
	if (dm->failed) {
		fprintf(stderr, "sendmail: no daemon running; direct delivery failed: %s\n",
			dm->fail_text);
		return NR_SM_EX_UNAVAILABLE;
	}
	return NR_SM_EX_OK;
}

void sm_direct_close(struct sm_direct *dm)
{
	if (!dm)
		return;
	nr_relay_free(dm->relay);
	nr_free(dm);
}
