/* smtpd_data.c - DATA on an inbound session: the Received:, Date: and
 * Message-ID: headers, the body through the filter (src/proto) into the
 * queue, the DATA clock (min_data_rate), and the commit whose callback
 * sends the final 250 ("250 means safe"). */
#include <stdio.h>
#include <string.h>

#include "core/conn.h"
#include "core/fmt.h"
#include "core/log.h"
#include "core/stats.h"
#include "queue/queue.h"
#include "smtpd/smtpd_int.h"

/* DATA: the rate is checked this often. */
#define RATE_CHECK_MS 5000

static int body_emit(void *arg, const void *data, size_t len)
{
	struct smtpd_session *s = arg;
	return nr_queue_append(s->writer, data, len);
}

/* The protocol word of Received: (RFC 3848). */
static const char *received_with(const struct smtpd_session *s)
{
	int auth = s->auth_id[0] != '\0';

	if (!(s->flags & SF_ESMTP))
		return "SMTP";
	if (s->flags & SF_TLS)
		return auth ? "ESMTPSA" : "ESMTPS";
	return auth ? "ESMTPA" : "ESMTP";
}

/* Random bytes for Message-ID, drawn from a pool filled 256 bytes at a time
 * (one entropy call per 32 messages instead of one each). */
static int msgid_random(uint8_t *out, size_t len)
{
	static uint8_t pool[256];
	static size_t left;

	if (left < len) {
		if (nr_plat_entropy(pool, sizeof(pool)) < 0)
			return -1;
		left = sizeof(pool);
	}
	memcpy(out, pool + sizeof(pool) - left, len);
	left -= len;
	return 0;
}

int nr_smtpd_trace_begin(struct nr_qwriter *w, const struct nr_smtpd_trace *t, int64_t wall,
			 char *date_hdr, size_t date_size, char *msgid_hdr, size_t msgid_size)
{
	char hdr[1024], date[64];
	uint8_t rnd[8] = {0};
	uint64_t r = 0;
	size_t i;
	int n;

	nr_date_rfc5322(date, sizeof(date), wall < 0 ? 0 : wall);
	n = snprintf(hdr, sizeof(hdr),
		     "Received: from %s (%s)\r\n\tby %s (nanorelay) with %s%s%s%s;\r\n\t%s\r\n",
		     t->helo && t->helo[0] ? t->helo : "unknown", t->peer, t->hostname, t->with,
		     t->rcpt ? "\r\n\tfor <" : "", t->rcpt ? t->rcpt : "", t->rcpt ? ">" : "",
		     date);
	if (n < 0 || (size_t)n >= sizeof(hdr) || nr_queue_append(w, hdr, (size_t)n) < 0)
		return NR_EFULL;
	snprintf(date_hdr, date_size, "Date: %s\r\n", date);
	if (msgid_random(rnd, sizeof(rnd)) < 0)
		memcpy(rnd, &t->salt, NR_MIN(sizeof(rnd), sizeof(t->salt)));
	for (i = 0; i < sizeof(rnd); i++)
		r = r << 8 | rnd[i];
	snprintf(msgid_hdr, msgid_size, "Message-ID: <%s.%s@%s>\r\n", NR_I64(wall), NR_X64(r),
		 t->hostname);
	return 0;
}

/* DATA is in order (the command table checked): open a queue writer, write
 * Received:, prepare Date: and Message-ID: for the body filter, 354. */
void smtpd_proceed_data(struct smtpd_session *s, const struct smtpd_cmdline *cl)
{
	struct nr_smtpd *d = s->d;
	struct nr_qenvelope env;
	struct nr_smtpd_trace trace;
	int64_t wall = 0;

	if (nr_plat_wall_time(&wall) < 0)
		wall = 0;
	memset(&env, 0, sizeof(env));
	env.sender = s->sender;
	env.rcpts = (const char *const *)s->rcpt;
	env.nrcpt = s->nrcpt;
	env.arrival = wall;
	env.client = (s->flags & SF_TRUSTED) && s->peer.family != NR_AF_INET4 &&
			     s->peer.family != NR_AF_INET6
			 ? "local"
			 : s->peer_str;
	env.auth_id = s->auth_id[0] ? s->auth_id : NULL;
	env.flags = s->params.body == NR_BODY_8BITMIME ? NR_QENV_8BIT : 0;
	int ret =
	    nr_queue_begin(d->queue, &env, s->params.has_size ? s->params.size : 0, &s->writer);
	if (ret == NR_ETOOBIG) {
		smtpd_reply(s, 552, "5.3.4", "Message size exceeds fixed limit");
		return;
	}
	if (ret < 0) {
		s->writer = NULL;
		nr_warn("smtpd[%u]: queue begin: %s", s->id, nr_strerror(ret));
		if (ret == NR_EFULL)
			smtpd_reply(s, 452, "4.3.1", "Insufficient system storage");
		else
			smtpd_reply(s, 451, "4.3.0", "Error: queue file write error");
		return;
	}
	trace.helo = s->helo;
	trace.peer = s->peer_str;
	trace.with = received_with(s);
	trace.hostname = d->hostname;
	trace.rcpt = s->nrcpt == 1 ? s->rcpt[0] : NULL;
	trace.salt = s->id;
	if (nr_smtpd_trace_begin(s->writer, &trace, wall, s->date_hdr, sizeof(s->date_hdr),
				 s->msgid_hdr, sizeof(s->msgid_hdr)) < 0) {
		smtpd_reset_transaction(s);
		smtpd_reply(s, 452, "4.3.1", "Insufficient system storage");
		smtpd_enter_state(s, SS_HELO);
		return;
	}

	struct nr_body_conf bc;
	memset(&bc, 0, sizeof(bc));
	bc.max_size = d->conf->max_message_size;
	bc.max_header = d->conf->max_header_size;
	bc.date_header = s->date_hdr;
	bc.msgid_header = s->msgid_hdr;
	bc.emit = body_emit;
	bc.arg = s;
	nr_body_init(&s->body, &bc);
	smtpd_reply(s, 354, NULL, "End data with <CR><LF>.<CR><LF>");
	smtpd_enter_state(s, SS_DATA);
}

/* Acceptance, as Postfix's smtpd and qmgr log it: client= then from=. */
static void log_accepted(const struct smtpd_session *s, const char *qid)
{
	char client[96], user[NR_PATH_MAX * 4];

	smtpd_client_name(s, client, sizeof(client));
	if (s->auth_id[0])
		nr_info("%s: client=%s, sasl_username=%s", qid, client,
			nr_log_escape(user, sizeof(user), s->auth_id, strlen(s->auth_id)));
	else
		nr_info("%s: client=%s", qid, client);
	nr_info("%s: from=<%s>, size=%s, nrcpt=%lu (queue active)", qid, s->sender,
		NR_U64(s->body.size), (unsigned long)s->nrcpt);
}

static void commit_done(void *arg, int result, nr_qid_t id)
{
	struct smtpd_session *s = arg;
	char qid[17];

	s->flags &= ~SF_COMMITTING;
	if (s->flags & SF_ZOMBIE) {
		/* The client left while the commit was in flight. */
		if (result == 0) {
			log_accepted(s, nr_qid_str(id, qid));
			nr_info("smtpd[%u]: %s: queued as %s, client gone before the reply", s->id,
				s->peer_str, qid);
		}
		smtpd_session_stop(s);
		return;
	}
	if (result == 0) {
		nr_stats_inc(NR_STAT_ACCEPTED);
		log_accepted(s, nr_qid_str(id, qid));
		smtpd_reply(s, 250, "2.0.0", "Ok: queued as %s", qid);
	} else {
		nr_warn("smtpd[%u]: commit failed: %s", s->id, nr_strerror(result));
		smtpd_reply(s, 451, "4.3.0", "Error: queue file write error");
	}
	smtpd_reset_transaction(s);
	smtpd_enter_state(s, SS_HELO);
	/* Resuming re-offers buffered pipelined input from the loop. */
	nr_conn_pause_input(s->conn, 0);
	nr_conn_flush(s->conn);
}

int nr_smtpd_body_verdict(const struct nr_body *b, unsigned f, const struct nr_conf *conf,
			  const char **enh, const char **text)
{
	int code = 0;

	if (f & NR_BODYF_NUL) {
		code = 554, *enh = "5.6.0", *text = "Error: message contains NUL characters";
	} else if (f & (NR_BODYF_TOOBIG | NR_BODYF_HDRBIG)) {
		code = 552, *enh = "5.3.4",
		*text = f & NR_BODYF_TOOBIG ? "Error: message file too big"
					    : "Error: message header too big";
	} else if (f & NR_BODYF_EMIT_ERR) {
		if (b->emit_err == NR_EFULL)
			code = 452, *enh = "4.3.1", *text = "Insufficient system storage";
		else
			code = 451, *enh = "4.3.0", *text = "Error: queue file write error";
	} else if ((f & NR_BODYF_BARE_LF) && conf->bare_lf == NR_BARE_LF_REJECT) {
		code = 550, *enh = "5.5.2", *text = "Error: bare <LF> received";
	} else if (conf->max_received && b->received > conf->max_received) {
		code = 554, *enh = "5.4.6", *text = "Error: too many hops (mail loop?)";
	}
	return code;
}

/* The end-of-data line arrived: refuse or commit. */
static void finish_data(struct smtpd_session *s)
{
	unsigned f = nr_body_finish(&s->body);
	const char *enh = NULL, *text = NULL;
	int code = nr_smtpd_body_verdict(&s->body, f, s->d->conf, &enh, &text);

	if (code) {
		char client[96], tail[NR_PATH_MAX * 2 + 400];
		/* Postfix's form for a refusal at DATA, which log tools sort. */
		nr_info(
		    "NOQUEUE: reject: DATA from %s: %d %s <DATA>: Data command rejected: %s; %s",
		    smtpd_client_name(s, client, sizeof(client)), code, enh,
		    strncmp(text, "Error: ", 7) == 0 ? text + 7 : text,
		    smtpd_reject_tail(s, NULL, tail, sizeof(tail)));
		smtpd_reset_transaction(s);
		smtpd_reply(s, code, enh, "%s", text);
		smtpd_enter_state(s, SS_HELO);
		return;
	}
	struct nr_qwriter *w = s->writer;
	s->writer = NULL;
	/* The content decides, not the client's word: an undeclared 8-bit
	 * body (an old printer, a script) goes upstream as BODY=8BITMIME, or
	 * to a smarthost without 8BITMIME not at all (5.6.3). */
	if (f & NR_BODYF_8BIT)
		nr_queue_set_8bit(w);
	/* Waiting state first: a queue may call commit_done before
	 * nr_queue_commit returns (no loop, or nothing to sync). */
	s->flags |= SF_COMMITTING;
	smtpd_enter_state(s, SS_COMMIT);
	nr_conn_pause_input(s->conn, 1);
	int ret = nr_queue_commit(w, commit_done, s);
	if (ret < 0) {
		s->flags &= ~SF_COMMITTING;
		smtpd_reset_transaction(s);
		smtpd_reply(s, ret == NR_EFULL ? 452 : 451, ret == NR_EFULL ? "4.3.1" : "4.3.0",
			    "Error: queue file write error");
		smtpd_enter_state(s, SS_HELO);
		nr_conn_pause_input(s->conn, 0);
	}
}

int smtpd_data_input(struct smtpd_session *s)
{
	struct nr_buf *in = nr_conn_in(s->conn);
	size_t avail = nr_buf_len(in);
	if (!avail)
		return 0;
	size_t used = nr_body_feed(&s->body, nr_buf_head(in), avail);
	nr_buf_consume(in, used);
	s->data_bytes += used;
	s->rate_bytes += used;
	if (s->writer && (s->body.flags & NR_BODYF_FATAL)) {
		/* Refused for sure: free the queue space now, keep reading to
		 * the end of data. */
		nr_queue_abort(s->writer);
		s->writer = NULL;
	}
	if (!nr_body_done(&s->body))
		return 0;
	finish_data(s);
	return 1;
}

/* The DATA clock. Bytes since the last check must match min_data_rate;
 * only then does the deadline move. With min_data_rate 0 any byte is
 * progress and a silent client still meets command_timeout. The rate is
 * checked at the deadline too, so a command_timeout shorter than the first
 * check does not cut a fast long message. The next look is armed by
 * re-entering SS_DATA (smtpd_enter_state keeps the clock running). */
int smtpd_data_tick(struct smtpd_session *s, uint64_t now)
{
	const struct nr_conf *conf = s->d->conf;
	uint64_t rate = conf->min_data_rate;
	uint64_t elapsed = now - s->rate_since;

	if ((rate > 0 || s->rate_bytes > 0) && s->rate_bytes * 1000 >= rate * elapsed) {
		s->data_deadline = now + conf->command_timeout_ms;
		s->rate_bytes = 0;
		s->rate_since = now;
		s->data_check_at = now + NR_MIN((uint64_t)RATE_CHECK_MS, conf->command_timeout_ms);
		smtpd_enter_state(s, SS_DATA);
		return 1;
	}
	if (rate > 0) {
		nr_info("smtpd[%u]: %s: data rate below minimum, closing", s->id, s->peer_str);
		smtpd_close_with(s, 421, "4.4.2", "Error: data rate too low");
		return 1;
	}
	if (now < s->data_deadline) {
		s->data_check_at = s->data_deadline;
		smtpd_enter_state(s, SS_DATA);
		return 1;
	}
	return 0;
}
