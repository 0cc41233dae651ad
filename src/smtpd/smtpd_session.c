/* smtpd_session.c - one inbound RFC 5321 session: a command table (check,
 * then proceed) and one enter_state() funnel (STYLE.md, after OpenSMTPD's
 * smtp_session.c). */
#include <stdio.h>
#include <string.h>

#include "acl/acl.h"
#include "conf/conf.h"
#include "core/conn.h"
#include "core/log.h"
#include "core/stats.h"
#include "proto/base64.h"
#include "proto/proto.h"
#include "queue/queue.h"
#include "smtpd/smtpd_int.h"

/* A session that does not read our replies is dropped this long after we
 * gave up on it. */
#define CLOSE_GRACE_MS 10000
/* DATA: the rate is checked this often; the first check after the grace. */
#define RATE_CHECK_MS 5000
#define RATE_GRACE_MS 10000
/* Room kept in the output buffer before a command is handled, so a reply
 * (the longest is EHLO/HELP) always fits. */
#define REPLY_ROOM 1024

static void process_input(struct smtpd_session *s);
static void session_free(struct smtpd_session *s);

static const char *state_name(enum smtpd_state st)
{
	switch (st) {
	case SS_INIT:
		return "init";
	case SS_HELO:
		return "helo";
	case SS_MAIL:
		return "mail";
	case SS_RCPT:
		return "rcpt";
	case SS_DATA:
		return "data";
	case SS_COMMIT:
		return "commit";
	case SS_AUTH:
		return "auth";
	case SS_STARTTLS:
		return "starttls";
	case SS_CLOSING:
		return "closing";
	}
	return "?";
}

static uint64_t now_ms(const struct smtpd_session *s)
{
	return nr_loop_now(s->d->loop);
}

static void arm(struct smtpd_session *s, uint64_t delay)
{
	if (nr_timer_arm(s->d->loop, &s->timer, delay) < 0) {
		nr_err("smtpd[%u]: no timer slot, closing", s->id);
		s->state = SS_CLOSING;
		nr_conn_close_after_flush(s->conn);
	}
}

/* The one place where the state changes: logs old -> new and arms the
 * deadline of the new state. A deadline runs from the moment we start
 * waiting, so a client trickling bytes cannot push it back (RFC 5321
 * 4.5.3.2 gives the upper bounds; command_timeout is ours). */
static void enter_state(struct smtpd_session *s, enum smtpd_state st)
{
	const struct nr_conf *conf = s->d->conf;

	if (s->state != st)
		nr_debug("smtpd[%u]: %s -> %s", s->id, state_name(s->state), state_name(st));
	s->state = st;
	switch (st) {
	case SS_INIT:
		arm(s, s->handshaking ? conf->tls_handshake_timeout_ms : conf->command_timeout_ms);
		break;
	case SS_HELO:
	case SS_MAIL:
	case SS_RCPT:
	case SS_AUTH:
		arm(s, conf->command_timeout_ms);
		break;
	case SS_DATA:
		s->data_start = now_ms(s);
		s->data_bytes = 0;
		s->rate_bytes = 0;
		s->rate_since = s->data_start;
		s->data_deadline = s->data_start + conf->command_timeout_ms;
		arm(s, RATE_GRACE_MS < conf->command_timeout_ms ? RATE_GRACE_MS
								: conf->command_timeout_ms);
		break;
	case SS_COMMIT:
		nr_timer_cancel(s->d->loop, &s->timer);
		break;
	case SS_STARTTLS:
		arm(s, conf->tls_handshake_timeout_ms);
		break;
	case SS_CLOSING:
		arm(s, CLOSE_GRACE_MS);
		break;
	}
}

/* ---- replies ---- */

static void reply(struct smtpd_session *s, int code, const char *enh, const char *fmt, ...)
    NR_PRINTF(4, 5);

static void reply(struct smtpd_session *s, int code, const char *enh, const char *fmt, ...)
{
	char text[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (nr_reply_put(nr_conn_out(s->conn), code, enh, "%s", text) < 0)
		nr_warn("smtpd[%u]: reply %d dropped: output full", s->id, code);
	if (code >= 500)
		s->errors++;
}

static void close_with(struct smtpd_session *s, int code, const char *enh, const char *text)
{
	reply(s, code, enh, "%s %s", s->d->hostname, text);
	enter_state(s, SS_CLOSING);
	nr_conn_close_after_flush(s->conn);
}

/* A peer's mistake: 5xx and on; past max_errors the session ends (421). */
static int too_many_errors(struct smtpd_session *s)
{
	unsigned max = s->d->conf->max_errors;
	if (max && s->errors >= max) {
		nr_info("smtpd[%u]: %s: too many errors", s->id, s->peer_str);
		close_with(s, 421, "4.7.0", "Error: too many errors");
		return 1;
	}
	return 0;
}

/* ---- transaction ---- */

static void reset_transaction(struct smtpd_session *s)
{
	if (s->writer) {
		nr_queue_abort(s->writer);
		s->writer = NULL;
	}
	s->sender[0] = '\0';
	s->nrcpt = 0;
	s->rcpt_used = 0;
	s->rcpt_excess = 0;
	memset(&s->params, 0, sizeof(s->params));
}

/* Past the recipient limit: 452 (a well-behaved client sends the rest in
 * another transaction). Beyond max_recipient_overshoot more, every refusal
 * counts as an error, so thousands of RCPTs end at max_errors (Postfix's
 * smtpd_recipient_overshoot_limit). */
static void refuse_excess_rcpt(struct smtpd_session *s)
{
	reply(s, 452, "4.5.3", "Error: too many recipients");
	if (++s->rcpt_excess > s->d->conf->max_recipient_overshoot)
		s->errors++;
}

static int relay_permitted(const struct smtpd_session *s)
{
	return s->trusted || s->allowed || s->auth_id[0] != '\0';
}

static int auth_offered(const struct smtpd_session *s)
{
	return s->d->auth_fn && s->auth_policy != NR_AUTH_OFF && (s->tls || s->plain_auth_ok);
}

/* ---- TLS handshakes in flight (max_tls_handshakes) ---- */

static int handshake_slot_free(const struct smtpd_session *s)
{
	return s->d->handshakes < s->d->conf->max_tls_handshakes;
}

static void handshake_begin(struct smtpd_session *s)
{
	s->handshaking = 1;
	s->d->handshakes++;
}

static void handshake_end(struct smtpd_session *s)
{
	if (!s->handshaking)
		return;
	s->handshaking = 0;
	s->d->handshakes--;
}

static int starttls_offered(const struct smtpd_session *s)
{
	return s->tls_mode == NR_TLS_STARTTLS && !s->tls && s->d->tls_fn;
}

/* ---- command table: check, then proceed ---- */

struct smtpd_cmd {
	const char *verb;
	/* Order, syntax and policy; sends its own reply and returns -1 to stop. */
	int (*check)(struct smtpd_session *s, const char *args, size_t len);
	void (*proceed)(struct smtpd_session *s, const char *args, size_t len);
};

static int check_helo(struct smtpd_session *s, const char *args, size_t len)
{
	while (len && args[0] == ' ') {
		args++;
		len--;
	}
	if (len == 0) {
		reply(s, 501, "5.5.4", "Syntax: HELO/EHLO hostname");
		return -1;
	}
	return 0;
}

/* The EHLO text goes into Received:, so only a safe subset is kept. */
static void keep_helo(struct smtpd_session *s, const char *args, size_t len)
{
	size_t o = 0;
	while (len && args[0] == ' ') {
		args++;
		len--;
	}
	for (size_t i = 0; i < len && args[i] != ' ' && o + 1 < sizeof(s->helo) && o < 64; i++) {
		char c = args[i];
		int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			 (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_' || c == ':' ||
			 c == '[' || c == ']';
		s->helo[o++] = ok ? c : '_';
	}
	s->helo[o] = '\0';
}

static void proceed_helo(struct smtpd_session *s, const char *args, size_t len)
{
	reset_transaction(s);
	keep_helo(s, args, len);
	s->esmtp = 0;
	reply(s, 250, NULL, "%s", s->d->hostname);
	enter_state(s, SS_HELO);
}

static void proceed_ehlo(struct smtpd_session *s, const char *args, size_t len)
{
	const char *lines[10];
	char size_line[40];
	size_t n = 0;

	reset_transaction(s);
	keep_helo(s, args, len);
	s->esmtp = 1;
	lines[n++] = s->d->hostname;
	lines[n++] = "PIPELINING";
	snprintf(size_line, sizeof(size_line), "SIZE %llu",
		 (unsigned long long)s->d->conf->max_message_size);
	lines[n++] = size_line;
	lines[n++] = "8BITMIME";
	lines[n++] = "ENHANCEDSTATUSCODES";
	if (starttls_offered(s))
		lines[n++] = "STARTTLS";
	if (auth_offered(s) && !s->auth_id[0])
		lines[n++] = "AUTH PLAIN LOGIN";
	if (nr_reply_put_lines(nr_conn_out(s->conn), 250, NULL, lines, n) < 0)
		nr_warn("smtpd[%u]: EHLO reply dropped: output full", s->id);
	enter_state(s, SS_HELO);
}

static int check_need_helo(struct smtpd_session *s)
{
	if (s->state == SS_INIT) {
		reply(s, 503, "5.5.1", "Error: send HELO/EHLO first");
		return -1;
	}
	return 0;
}

static int check_mail(struct smtpd_session *s, const char *args, size_t len)
{
	if (check_need_helo(s) < 0)
		return -1;
	if (s->state != SS_HELO) {
		reply(s, 503, "5.5.1", "Error: nested MAIL command");
		return -1;
	}
	if (s->auth_policy == NR_AUTH_REQUIRED && !s->auth_id[0] && !s->trusted) {
		reply(s, 530, "5.7.0", "Authentication required");
		return -1;
	}
	switch (nr_parse_mail_from(args, len, s->sender, &s->params)) {
	case NR_PATH_OK:
		break;
	case NR_PATH_SYNTAX:
		reply(s, 501, "5.5.4", "Syntax: MAIL FROM:<address>");
		return -1;
	case NR_PATH_PARAM:
		reply(s, 555, "5.5.4", "Unsupported option");
		return -1;
	default:
		reply(s, 501, "5.1.7", "Bad sender address syntax");
		return -1;
	}
	uint64_t max = s->d->conf->max_message_size;
	if (s->params.has_size && max && s->params.size > max) {
		reply(s, 552, "5.3.4", "Message size exceeds fixed limit");
		return -1;
	}
	return 0;
}

static void proceed_mail(struct smtpd_session *s, const char *args, size_t len)
{
	reply(s, 250, "2.1.0", "Ok");
	enter_state(s, SS_MAIL);
}

/* The client as Postfix logs it: "unknown[192.0.2.1]" (no reverse DNS
 * here), or "localhost" for local submissions ("local" or "local, uid N";
 * the uid is in the connect line and in Received:). */
static const char *client_name(const struct smtpd_session *s, char *dst, size_t size)
{
	if (s->peer_str[0] == '[')
		snprintf(dst, size, "unknown%s", s->peer_str);
	else
		snprintf(dst, size, "%s",
			 strncmp(s->peer_str, "local", 5) == 0 ? "localhost" : s->peer_str);
	return dst;
}

/* "; from=<s> to=<r> proto=ESMTP helo=<h>", the tail of a Postfix reject line. */
static const char *reject_tail(const struct smtpd_session *s, const char *rcpt, char *dst,
			       size_t size)
{
	char helo[sizeof(s->helo) * 4];
	char to[NR_PATH_MAX + 8] = "";

	if (rcpt)
		snprintf(to, sizeof(to), " to=<%s>", rcpt);
	nr_log_escape(helo, sizeof(helo), s->helo, strlen(s->helo));
	snprintf(dst, size, "from=<%s>%s proto=%s helo=<%s>", s->sender, to,
		 s->esmtp ? "ESMTP" : "SMTP", helo);
	return dst;
}

static int check_rcpt(struct smtpd_session *s, const char *args, size_t len)
{
	char addr[NR_PATH_MAX + 1];

	if (check_need_helo(s) < 0)
		return -1;
	if (s->state != SS_MAIL && s->state != SS_RCPT) {
		reply(s, 503, "5.5.1", "Error: need MAIL command");
		return -1;
	}
	switch (nr_parse_rcpt_to(args, len, addr)) {
	case NR_PATH_OK:
		break;
	case NR_PATH_SYNTAX:
		reply(s, 501, "5.5.4", "Syntax: RCPT TO:<address>");
		return -1;
	case NR_PATH_PARAM:
		reply(s, 555, "5.5.4", "Unsupported option");
		return -1;
	default:
		reply(s, 501, "5.1.3", "Bad recipient address syntax");
		return -1;
	}
	if (!relay_permitted(s)) {
		char client[96], tail[NR_PATH_MAX * 2 + 400];
		nr_info("NOQUEUE: reject: RCPT from %s: 554 5.7.1 <%s>: Relay access denied; %s",
			client_name(s, client, sizeof(client)), addr,
			reject_tail(s, addr, tail, sizeof(tail)));
		nr_stats_inc(NR_STAT_REJECTED);
		reply(s, 554, "5.7.1", "<%s>: Relay access denied", addr);
		return -1;
	}
	size_t alen = strlen(addr) + 1;
	unsigned max = s->d->conf->max_recipients;
	if ((max && s->nrcpt >= max) || s->nrcpt >= NR_ARRAY_LEN(s->rcpt) ||
	    s->rcpt_used + alen > sizeof(s->rcpt_buf)) {
		refuse_excess_rcpt(s);
		return -1;
	}
	s->rcpt[s->nrcpt++] = s->rcpt_buf + s->rcpt_used;
	memcpy(s->rcpt_buf + s->rcpt_used, addr, alen);
	s->rcpt_used += alen;
	return 0;
}

static void proceed_rcpt(struct smtpd_session *s, const char *args, size_t len)
{
	reply(s, 250, "2.1.5", "Ok");
	enter_state(s, SS_RCPT);
}

static int body_emit(void *arg, const void *data, size_t len)
{
	struct smtpd_session *s = arg;
	return nr_queue_append(s->writer, data, len);
}

static int write_received(struct smtpd_session *s, const char *date)
{
	char hdr[1024];
	const char *with = s->esmtp ? (s->tls ? (s->auth_id[0] ? "ESMTPSA" : "ESMTPS")
					      : (s->auth_id[0] ? "ESMTPA" : "ESMTP"))
				    : "SMTP";
	int n = snprintf(hdr, sizeof(hdr),
			 "Received: from %s (%s)\r\n\tby %s (nanorelay) with %s%s%s%s;\r\n\t%s\r\n",
			 s->helo[0] ? s->helo : "unknown", s->peer_str, s->d->hostname, with,
			 s->nrcpt == 1 ? "\r\n\tfor <" : "", s->nrcpt == 1 ? s->rcpt[0] : "",
			 s->nrcpt == 1 ? ">" : "", date);
	if (n < 0 || (size_t)n >= sizeof(hdr))
		return NR_EINVAL;
	return nr_queue_append(s->writer, hdr, (size_t)n);
}

static int check_data(struct smtpd_session *s, const char *args, size_t len)
{
	if (check_need_helo(s) < 0)
		return -1;
	if (s->state == SS_MAIL) {
		reply(s, 554, "5.5.1", "Error: no valid recipients");
		return -1;
	}
	if (s->state != SS_RCPT) {
		reply(s, 503, "5.5.1", "Error: need RCPT command");
		return -1;
	}
	if (len) {
		reply(s, 501, "5.5.4", "Syntax: DATA");
		return -1;
	}
	return 0;
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
static void proceed_data(struct smtpd_session *s, const char *args, size_t len)
{
	struct nr_smtpd *d = s->d;
	struct nr_qenvelope env;
	int64_t wall = 0;
	char date[64], idbuf[24];
	uint8_t rnd[8] = {0};

	if (nr_plat_wall_time(&wall) < 0)
		wall = 0;
	memset(&env, 0, sizeof(env));
	env.sender = s->sender;
	env.rcpts = (const char *const *)s->rcpt;
	env.nrcpt = s->nrcpt;
	env.arrival = wall;
	env.client = s->trusted && s->peer.family != NR_AF_INET4 && s->peer.family != NR_AF_INET6
			 ? "local"
			 : s->peer_str;
	env.auth_id = s->auth_id[0] ? s->auth_id : NULL;
	env.flags = s->params.body == NR_BODY_8BITMIME ? NR_QENV_8BIT : 0;
	int ret =
	    nr_queue_begin(d->queue, &env, s->params.has_size ? s->params.size : 0, &s->writer);
	if (ret == NR_ETOOBIG) {
		reply(s, 552, "5.3.4", "Message size exceeds fixed limit");
		return;
	}
	if (ret < 0) {
		s->writer = NULL;
		nr_warn("smtpd[%u]: queue begin: %s", s->id, nr_strerror(ret));
		if (ret == NR_EFULL)
			reply(s, 452, "4.3.1", "Insufficient system storage");
		else
			reply(s, 451, "4.3.0", "Error: queue file write error");
		return;
	}
	nr_date_rfc5322(date, sizeof(date), wall < 0 ? 0 : wall);
	if (write_received(s, date) < 0) {
		reset_transaction(s);
		reply(s, 452, "4.3.1", "Insufficient system storage");
		enter_state(s, SS_HELO);
		return;
	}
	snprintf(s->date_hdr, sizeof(s->date_hdr), "Date: %s\r\n", date);
	if (msgid_random(rnd, sizeof(rnd)) < 0)
		memcpy(rnd, &s->id, sizeof(s->id));
	uint64_t r = 0;
	for (size_t i = 0; i < sizeof(rnd); i++)
		r = r << 8 | rnd[i];
	snprintf(idbuf, sizeof(idbuf), "%016llx", (unsigned long long)r);
	snprintf(s->msgid_hdr, sizeof(s->msgid_hdr), "Message-ID: <%lld.%s@%s>\r\n",
		 (long long)wall, idbuf, d->hostname);

	struct nr_body_conf bc;
	memset(&bc, 0, sizeof(bc));
	bc.max_size = d->conf->max_message_size;
	bc.max_header = d->conf->max_header_size;
	bc.date_header = s->date_hdr;
	bc.msgid_header = s->msgid_hdr;
	bc.emit = body_emit;
	bc.arg = s;
	nr_body_init(&s->body, &bc);
	reply(s, 354, NULL, "End data with <CR><LF>.<CR><LF>");
	enter_state(s, SS_DATA);
}

/* Acceptance, as Postfix's smtpd and qmgr log it: client= then from=. */
static void log_accepted(const struct smtpd_session *s, const char *qid)
{
	char client[96], user[NR_PATH_MAX * 4];

	client_name(s, client, sizeof(client));
	if (s->auth_id[0])
		nr_info("%s: client=%s, sasl_username=%s", qid, client,
			nr_log_escape(user, sizeof(user), s->auth_id, strlen(s->auth_id)));
	else
		nr_info("%s: client=%s", qid, client);
	nr_info("%s: from=<%s>, size=%llu, nrcpt=%zu (queue active)", qid, s->sender,
		(unsigned long long)s->body.size, s->nrcpt);
}

static void commit_done(void *arg, int result, nr_qid_t id)
{
	struct smtpd_session *s = arg;
	char qid[17];

	s->committing = 0;
	if (s->zombie) {
		/* The client left while the commit was in flight. */
		if (result == 0) {
			log_accepted(s, nr_qid_str(id, qid));
			nr_info("smtpd[%u]: %s: queued as %s, client gone before the reply", s->id,
				s->peer_str, qid);
		}
		session_free(s);
		return;
	}
	if (result == 0) {
		nr_stats_inc(NR_STAT_ACCEPTED);
		log_accepted(s, nr_qid_str(id, qid));
		reply(s, 250, "2.0.0", "Ok: queued as %s", qid);
	} else {
		nr_warn("smtpd[%u]: commit failed: %s", s->id, nr_strerror(result));
		reply(s, 451, "4.3.0", "Error: queue file write error");
	}
	reset_transaction(s);
	enter_state(s, SS_HELO);
	/* Resuming re-offers buffered pipelined input from the loop. */
	nr_conn_pause_input(s->conn, 0);
	nr_conn_flush(s->conn);
}

/* The end-of-data line arrived: refuse or commit. */
static void finish_data(struct smtpd_session *s)
{
	unsigned f = nr_body_finish(&s->body);
	const struct nr_conf *conf = s->d->conf;
	int code = 0;
	const char *enh = NULL, *text = NULL;

	if (f & NR_BODYF_NUL) {
		code = 554, enh = "5.6.0", text = "Error: message contains NUL characters";
	} else if (f & (NR_BODYF_TOOBIG | NR_BODYF_HDRBIG)) {
		code = 552, enh = "5.3.4",
		text = f & NR_BODYF_TOOBIG ? "Error: message file too big"
					   : "Error: message header too big";
	} else if (f & NR_BODYF_EMIT_ERR) {
		if (s->body.emit_err == NR_EFULL)
			code = 452, enh = "4.3.1", text = "Insufficient system storage";
		else
			code = 451, enh = "4.3.0", text = "Error: queue file write error";
	} else if ((f & NR_BODYF_BARE_LF) && conf->bare_lf == NR_BARE_LF_REJECT) {
		code = 550, enh = "5.5.2", text = "Error: bare <LF> received";
	} else if (conf->max_received && s->body.received > conf->max_received) {
		code = 554, enh = "5.4.6", text = "Error: too many hops (mail loop?)";
	}
	if (code) {
		char client[96], tail[NR_PATH_MAX * 2 + 400];
		/* Postfix's form for a refusal at DATA, which log tools sort. */
		nr_info(
		    "NOQUEUE: reject: DATA from %s: %d %s <DATA>: Data command rejected: %s; %s",
		    client_name(s, client, sizeof(client)), code, enh,
		    strncmp(text, "Error: ", 7) == 0 ? text + 7 : text,
		    reject_tail(s, NULL, tail, sizeof(tail)));
		reset_transaction(s);
		reply(s, code, enh, "%s", text);
		enter_state(s, SS_HELO);
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
	s->committing = 1;
	enter_state(s, SS_COMMIT);
	nr_conn_pause_input(s->conn, 1);
	int ret = nr_queue_commit(w, commit_done, s);
	if (ret < 0) {
		s->committing = 0;
		reset_transaction(s);
		reply(s, ret == NR_EFULL ? 452 : 451, ret == NR_EFULL ? "4.3.1" : "4.3.0",
		      "Error: queue file write error");
		enter_state(s, SS_HELO);
		nr_conn_pause_input(s->conn, 0);
	}
}

static int check_none(struct smtpd_session *s, const char *args, size_t len)
{
	return 0;
}

static void proceed_rset(struct smtpd_session *s, const char *args, size_t len)
{
	reset_transaction(s);
	reply(s, 250, "2.0.0", "Ok");
	if (s->state != SS_INIT)
		enter_state(s, SS_HELO);
	else
		enter_state(s, SS_INIT);
}

static void proceed_noop(struct smtpd_session *s, const char *args, size_t len)
{
	reply(s, 250, "2.0.0", "Ok");
	enter_state(s, s->state);
}

static void proceed_quit(struct smtpd_session *s, const char *args, size_t len)
{
	reply(s, 221, "2.0.0", "Bye");
	enter_state(s, SS_CLOSING);
	nr_conn_close_after_flush(s->conn);
}

static void proceed_help(struct smtpd_session *s, const char *args, size_t len)
{
	static const char *const lines[] = {
	    "Commands: EHLO HELO MAIL RCPT DATA RSET NOOP QUIT HELP VRFY STARTTLS AUTH",
	    "nanorelay " NR_VERSION};
	if (nr_reply_put_lines(nr_conn_out(s->conn), 214, "2.0.0", lines, 2) < 0)
		nr_warn("smtpd[%u]: HELP reply dropped", s->id);
	enter_state(s, s->state);
}

static void proceed_vrfy(struct smtpd_session *s, const char *args, size_t len)
{
	reply(s, 252, "2.0.0", "Cannot VRFY user, but will accept message");
	enter_state(s, s->state);
}

static int check_starttls(struct smtpd_session *s, const char *args, size_t len)
{
	if (!starttls_offered(s)) {
		reply(s, 502, "5.5.1", "Error: command not implemented");
		return -1;
	}
	if (check_need_helo(s) < 0)
		return -1;
	if (len) {
		reply(s, 501, "5.5.4", "Syntax: STARTTLS");
		return -1;
	}
	if (!handshake_slot_free(s)) {
		nr_warn("smtpd[%u]: %s: STARTTLS refused: max_tls_handshakes (%u) in flight", s->id,
			s->peer_str, s->d->conf->max_tls_handshakes);
		reply(s, 454, "4.7.0", "TLS not available due to temporary reason");
		return -1;
	}
	return 0;
}

static void proceed_starttls(struct smtpd_session *s, const char *args, size_t len)
{
	reply(s, 220, "2.0.0", "Ready to start TLS");
	/* CVE-2011-0411: whatever the client sent after STARTTLS was sent in
	 * clear and is discarded, now and again when the transport switches. */
	nr_buf_reset(nr_conn_in(s->conn));
	nr_conn_pause_input(s->conn, 1);
	s->tls_pending = 1;
	handshake_begin(s);
	enter_state(s, SS_STARTTLS);
	nr_conn_flush(s->conn);
}

/* The 220 has left in clear: put TLS on and forget everything. */
static void start_tls_now(struct smtpd_session *s)
{
	s->tls_pending = 0;
	int ret = s->d->tls_fn(s->d->tls_arg, s->conn, s->legacy_tls_ok);
	if (ret < 0) {
		nr_warn("smtpd[%u]: %s: TLS setup failed: %s", s->id, s->peer_str,
			nr_strerror(ret));
		session_free(s);
		return;
	}
	s->tls = 1;
	reset_transaction(s);
	s->helo[0] = '\0';
	s->esmtp = 0;
	s->auth_id[0] = '\0';
	s->errors = 0;
	nr_line_reader_init(&s->lr, CONFIG_NR_LINE_MAX);
	enter_state(s, SS_INIT);
	nr_conn_pause_input(s->conn, 0);
}

/* ---- AUTH (RFC 4954) ---- */

static void auth_verify(struct smtpd_session *s, const char *mech, const char *user,
			const char *pass, size_t passlen)
{
	struct nr_smtpd *d = s->d;
	char esc[NR_PATH_MAX];

	int ret = d->auth_fn(d->auth_arg, user, pass, passlen);
	if (ret == 0) {
		snprintf(s->auth_id, sizeof(s->auth_id), "%s", user);
		nr_acl_auth_succeeded(&d->acl, &s->peer);
		nr_info("smtpd[%u]: %s: sasl_username=%s", s->id, s->peer_str,
			nr_log_escape(esc, sizeof(esc), user, strlen(user)));
		reply(s, 235, "2.7.0", "Authentication successful");
	} else if (ret == NR_EAUTH) {
		nr_stats_inc(NR_STAT_AUTH_FAILED);
		nr_acl_auth_failed(&d->acl, &s->peer, now_ms(s));
		/* As Postfix: no user name (people type passwords there) and no
		 * payload. */
		nr_warn("%s: SASL %s authentication failed", client_name(s, esc, sizeof(esc)),
			mech);
		reply(s, 535, "5.7.8", "Error: authentication failed");
	} else {
		reply(s, 454, "4.7.0", "Temporary authentication failure");
	}
}

/* PLAIN: authzid NUL authcid NUL passwd (RFC 4616). */
static void auth_plain(struct smtpd_session *s, const char *b64, size_t len)
{
	uint8_t dec[CONFIG_NR_AUTH_LINE_MAX];
	long n = nr_base64_decode(b64, len, dec, sizeof(dec) - 1);
	if (n < 0) {
		reply(s, 501, "5.5.2", "Error: malformed authentication data");
		return;
	}
	const uint8_t *p = dec, *end = dec + n;
	const uint8_t *z1 = memchr(p, 0, (size_t)n);
	const uint8_t *z2 = z1 ? memchr(z1 + 1, 0, (size_t)(end - z1 - 1)) : NULL;
	size_t ulen = z2 ? (size_t)(z2 - z1 - 1) : 0;
	if (!z2 || ulen == 0 || ulen > 255) {
		reply(s, 501, "5.5.2", "Error: malformed authentication data");
		memset(dec, 0, sizeof(dec));
		return;
	}
	char user[256];
	memcpy(user, z1 + 1, ulen);
	user[ulen] = '\0';
	auth_verify(s, "PLAIN", user, (const char *)z2 + 1, (size_t)(end - z2 - 1));
	memset(dec, 0, sizeof(dec));
}

static int check_auth(struct smtpd_session *s, const char *args, size_t len)
{
	if (!auth_offered(s)) {
		reply(s, 503, "5.5.1", "Error: authentication not enabled");
		return -1;
	}
	if (check_need_helo(s) < 0)
		return -1;
	if (s->auth_id[0]) {
		reply(s, 503, "5.5.1", "Error: already authenticated");
		return -1;
	}
	if (s->state != SS_HELO) {
		reply(s, 503, "5.5.1", "Error: MAIL transaction in progress");
		return -1;
	}
	if (nr_acl_auth_check(&s->d->acl, &s->peer, now_ms(s)) < 0) {
		reply(s, 454, "4.7.0", "Too many authentication failures, try later");
		return -1;
	}
	return 0;
}

static void proceed_auth(struct smtpd_session *s, const char *args, size_t len)
{
	while (len && *args == ' ')
		args++, len--;
	size_t mlen = 0;
	while (mlen < len && args[mlen] != ' ')
		mlen++;
	const char *init = args + mlen;
	size_t ilen = len - mlen;
	while (ilen && *init == ' ')
		init++, ilen--;
	int plain = mlen == 5 && nr_strncasecmp_(args, "PLAIN", 5) == 0;
	int login = mlen == 5 && nr_strncasecmp_(args, "LOGIN", 5) == 0;

	if (!(plain && NR_ENABLED(CONFIG_NR_AUTH_PLAIN)) &&
	    !(login && NR_ENABLED(CONFIG_NR_AUTH_LOGIN))) {
		reply(s, 504, "5.5.4", "Error: unsupported authentication mechanism");
		return;
	}
	if (ilen == 1 && init[0] == '=')
		ilen = 0, init = ""; /* RFC 4954 4: an empty initial response */
	if (plain) {
		if (mlen == len) {
			s->auth_step = AUTH_PLAIN_WAIT;
			reply(s, 334, NULL, " ");
			enter_state(s, SS_AUTH);
			return;
		}
		auth_plain(s, init, ilen);
		enter_state(s, SS_HELO);
		return;
	}
	if (mlen == len) {
		s->auth_step = AUTH_LOGIN_USER;
		reply(s, 334, NULL, "VXNlcm5hbWU6"); /* "Username:" */
		enter_state(s, SS_AUTH);
		return;
	}
	long n = nr_base64_decode(init, ilen, s->auth_user, sizeof(s->auth_user) - 1);
	if (n <= 0 || memchr(s->auth_user, 0, (size_t)n)) {
		reply(s, 501, "5.5.2", "Error: malformed authentication data");
		return;
	}
	s->auth_user[n] = '\0';
	s->auth_step = AUTH_LOGIN_PASS;
	reply(s, 334, NULL, "UGFzc3dvcmQ6"); /* "Password:" */
	enter_state(s, SS_AUTH);
}

/* A continuation line of an AUTH exchange. */
static void auth_line(struct smtpd_session *s, const char *line, size_t len)
{
	enum smtpd_auth_step step = s->auth_step;

	s->auth_step = AUTH_NONE;
	enter_state(s, SS_HELO);
	if (len == 1 && line[0] == '*') {
		reply(s, 501, "5.7.0", "Error: authentication aborted");
		return;
	}
	if (step == AUTH_PLAIN_WAIT) {
		auth_plain(s, line, len);
		return;
	}
	if (step == AUTH_LOGIN_USER) {
		long n = nr_base64_decode(line, len, s->auth_user, sizeof(s->auth_user) - 1);
		if (n <= 0 || memchr(s->auth_user, 0, (size_t)n)) {
			reply(s, 501, "5.5.2", "Error: malformed authentication data");
			return;
		}
		s->auth_user[n] = '\0';
		s->auth_step = AUTH_LOGIN_PASS;
		reply(s, 334, NULL, "UGFzc3dvcmQ6");
		enter_state(s, SS_AUTH);
		return;
	}
	uint8_t pass[CONFIG_NR_AUTH_LINE_MAX];
	long n = nr_base64_decode(line, len, pass, sizeof(pass));
	if (n < 0) {
		reply(s, 501, "5.5.2", "Error: malformed authentication data");
		return;
	}
	auth_verify(s, "LOGIN", s->auth_user, (const char *)pass, (size_t)n);
	memset(pass, 0, sizeof(pass));
	memset(s->auth_user, 0, sizeof(s->auth_user));
}

static const struct smtpd_cmd commands[] = {
    {"EHLO", check_helo, proceed_ehlo},
    {"HELO", check_helo, proceed_helo},
    {"MAIL", check_mail, proceed_mail},
    {"RCPT", check_rcpt, proceed_rcpt},
    {"DATA", check_data, proceed_data},
    {"RSET", check_none, proceed_rset},
    {"NOOP", check_none, proceed_noop},
    {"QUIT", check_none, proceed_quit},
    {"HELP", check_none, proceed_help},
    {"VRFY", check_none, proceed_vrfy},
    {"STARTTLS", check_starttls, proceed_starttls},
    {"AUTH", check_auth, proceed_auth},
};

/* Things a web browser or proxy sends: not a mail client, hang up
 * (cross-protocol attacks). */
static const char *const forbidden[] = {"GET",     "POST",    "PUT",   "HEAD",
					"CONNECT", "OPTIONS", "HOST:", "USER-AGENT:"};

int nr_strncasecmp_(const char *a, const char *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int ca = (unsigned char)a[i], cb = (unsigned char)b[i];
		if (ca >= 'a' && ca <= 'z')
			ca -= 32;
		if (cb >= 'a' && cb <= 'z')
			cb -= 32;
		if (ca != cb)
			return ca - cb;
		if (!ca)
			return 0;
	}
	return 0;
}

static void command_line(struct smtpd_session *s, const char *line, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)line[i];
		if (c < 32 || c == 127) {
			reply(s, 500, "5.5.2", "Error: bad character in command");
			return;
		}
	}
	size_t vlen = 0;
	while (vlen < len && line[vlen] != ' ')
		vlen++;
	for (size_t i = 0; i < NR_ARRAY_LEN(forbidden); i++) {
		size_t n = strlen(forbidden[i]);
		if (vlen == n && nr_strncasecmp_(line, forbidden[i], n) == 0) {
			nr_info("smtpd[%u]: %s: non-SMTP command, closing", s->id, s->peer_str);
			close_with(s, 421, "4.7.0", "Error: not an SMTP client");
			return;
		}
	}
	for (size_t i = 0; i < NR_ARRAY_LEN(commands); i++) {
		const struct smtpd_cmd *cmd = &commands[i];
		size_t n = strlen(cmd->verb);
		if (vlen != n || nr_strncasecmp_(line, cmd->verb, n) != 0)
			continue;
		const char *args = line + n;
		size_t alen = len - n;
		/* MAIL/RCPT/EHLO/... keep their leading space for the parsers;
		 * verbs without arguments are checked with a trimmed rest. */
		if (cmd->check == check_data || cmd->check == check_starttls) {
			while (alen && args[alen - 1] == ' ')
				alen--;
			while (alen && args[0] == ' ')
				args++, alen--;
		}
		if (cmd->check(s, args, alen) == 0)
			cmd->proceed(s, args, alen);
		return;
	}
	reply(s, 500, "5.5.2", "Error: command not recognized");
}

/* ---- input ---- */

static int data_phase(struct smtpd_session *s)
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

static void process_input(struct smtpd_session *s)
{
	struct nr_buf *out = nr_conn_out(s->conn);

	while (s->state != SS_CLOSING && s->state != SS_COMMIT && s->state != SS_STARTTLS) {
		if (s->state == SS_DATA) {
			if (!data_phase(s))
				break;
			continue;
		}
		/* Keep room for the next reply; resume from on_drained. */
		nr_buf_compact(out);
		if (nr_buf_room(out) < REPLY_ROOM)
			break;
		const char *line;
		size_t len;
		enum nr_line_end end;
		size_t max = s->state == SS_AUTH ? s->auth_line_max : CONFIG_NR_LINE_MAX;
		s->lr.max = max;
		if (!nr_line_next(&s->lr, nr_conn_in(s->conn), &line, &len, &end))
			break;
		if (end == NR_LINE_TOOLONG) {
			if (s->state == SS_AUTH) {
				s->auth_step = AUTH_NONE;
				enter_state(s, SS_HELO);
				reply(s, 500, "5.5.6",
				      "Error: authentication exchange line too long");
			} else {
				reply(s, 500, "5.5.2", "Error: line too long");
			}
		} else if (s->state == SS_AUTH) {
			auth_line(s, line, len);
		} else {
			command_line(s, line, len);
		}
		if (s->state == SS_CLOSING || s->freed)
			break;
		if (too_many_errors(s))
			break;
	}
	if (!s->freed)
		nr_conn_flush(s->conn);
}

/* ---- connection callbacks ---- */

static void on_input(struct nr_conn *c, void *owner)
{
	process_input(owner);
}

static void on_drained(struct nr_conn *c, void *owner)
{
	struct smtpd_session *s = owner;
	if (s->tls_pending) {
		start_tls_now(s);
		if (s->freed)
			return;
	}
	process_input(s);
}

static void on_close(struct nr_conn *c, void *owner, int err)
{
	struct smtpd_session *s = owner;
	if (s->state == SS_DATA)
		nr_info("smtpd[%u]: %s: lost connection after DATA (%llu bytes): %s", s->id,
			s->peer_str, (unsigned long long)s->data_bytes, nr_strerror(err));
	else if (s->state != SS_CLOSING)
		nr_debug("smtpd[%u]: %s: disconnect in %s: %s", s->id, s->peer_str,
			 state_name(s->state), nr_strerror(err));
	session_free(s);
}

/* The TLS handshake is over: its slot is free, and from now on the
 * command deadline applies. */
static void on_tls_ready(struct nr_conn *c, void *owner)
{
	struct smtpd_session *s = owner;

	handshake_end(s);
	enter_state(s, s->state);
}

static const struct nr_conn_ops session_ops = {on_input, on_drained, on_close, on_tls_ready};

/* The DATA clock. Bytes since the last check must match min_data_rate;
 * only then does the deadline move. With min_data_rate 0 any byte is
 * progress and a silent client still meets command_timeout. The rate is
 * checked at the deadline too, so a command_timeout shorter than the first
 * check does not cut a fast long message. Returns 1 if the session was dealt with, 0
 * if the deadline passed (the caller times out). */
static int data_tick(struct smtpd_session *s, uint64_t now)
{
	const struct nr_conf *conf = s->d->conf;
	uint64_t rate = conf->min_data_rate;
	uint64_t elapsed = now - s->rate_since;

	if ((rate > 0 || s->rate_bytes > 0) && s->rate_bytes * 1000 >= rate * elapsed) {
		s->data_deadline = now + conf->command_timeout_ms;
		s->rate_bytes = 0;
		s->rate_since = now;
		arm(s, NR_MIN((uint64_t)RATE_CHECK_MS, conf->command_timeout_ms));
		return 1;
	}
	if (rate > 0) {
		nr_info("smtpd[%u]: %s: data rate below minimum, closing", s->id, s->peer_str);
		close_with(s, 421, "4.4.2", "Error: data rate too low");
		return 1;
	}
	if (now < s->data_deadline) {
		arm(s, s->data_deadline - now);
		return 1;
	}
	return 0;
}

static void on_timer(struct nr_loop *loop, void *arg)
{
	struct smtpd_session *s = arg;
	uint64_t now = nr_loop_now(loop);

	if (s->state == SS_DATA && data_tick(s, now))
		return;
	if (s->state == SS_CLOSING) {
		session_free(s);
		return;
	}
	if (s->handshaking) { /* nothing can be said over a half-made TLS */
		nr_info("smtpd[%u]: %s: TLS handshake timeout", s->id, s->peer_str);
		session_free(s);
		return;
	}
	nr_info("smtpd[%u]: %s: timeout in %s", s->id, s->peer_str, state_name(s->state));
	close_with(s, 421, "4.4.2", "Error: timeout exceeded");
	nr_conn_flush(s->conn);
}

/* ---- lifecycle ---- */

static void session_free(struct smtpd_session *s)
{
	struct nr_smtpd *d = s->d;

	if (s->freed)
		return;
	handshake_end(s);
	nr_timer_cancel(d->loop, &s->timer);
	if (s->conn) {
		nr_conn_free(s->conn);
		s->conn = NULL;
	}
	if (s->writer) {
		nr_queue_abort(s->writer);
		s->writer = NULL;
	}
	if (s->committing) {
		/* The queue still holds our pointer: free in commit_done. */
		s->zombie = 1;
		return;
	}
	s->freed = 1;
	nr_acl_session_close(&d->acl, &s->acl_peer);
	smtpd_session_unlink(d, s);
}

int smtpd_session_start(struct nr_smtpd *d, struct smtpd_session *s, nr_sock_t sock,
			const struct nr_addr *peer, int listener, int trusted, long uid)
{
	const struct nr_conf *conf = d->conf;
	char ip[64];
	size_t in_size = CONFIG_NR_IO_BUF_SIZE;

	s->d = d;
	s->trusted = trusted;
	s->local_uid = uid;
	if (peer)
		s->peer = *peer;
	else
		s->peer.family = NR_AF_LOCAL;
	if (s->peer.family == NR_AF_INET4 || s->peer.family == NR_AF_INET6) {
		nr_acl_normalise(&s->peer, &s->peer.family, s->peer.ip);
		snprintf(s->peer_str, sizeof(s->peer_str), "[%s]",
			 nr_addr_ntop(&s->peer, ip, sizeof(ip)));
		s->allowed = nr_acl_allowed(conf->allow, conf->allow_count, &s->peer);
	} else if (uid >= 0) {
		snprintf(s->peer_str, sizeof(s->peer_str), "local, uid %ld", uid);
	} else {
		snprintf(s->peer_str, sizeof(s->peer_str), "local");
	}
	s->tls_mode = NR_TLS_NONE;
	s->auth_policy = NR_AUTH_OFF;
	if (listener >= 0 && (size_t)listener < conf->listen_count) {
		const struct nr_conf_listen *l = &conf->listen[listener];
		s->tls_mode = l->tls;
		s->auth_policy = l->auth;
		s->plain_auth_ok = nr_acl_allowed(l->plain_auth, l->plain_auth_count, &s->peer);
		s->legacy_tls_ok = nr_acl_allowed(l->legacy_tls, l->legacy_tls_count, &s->peer);
	}
	/* An AUTH line may be longer than a command line (RFC 4954 4). */
	if (auth_offered(s) || s->tls_mode != NR_TLS_NONE)
		in_size = NR_MAX(in_size, (size_t)CONFIG_NR_AUTH_LINE_MAX + 2);
	s->auth_line_max =
	    in_size - 2 < CONFIG_NR_AUTH_LINE_MAX ? in_size - 2 : CONFIG_NR_AUTH_LINE_MAX;
	nr_line_reader_init(&s->lr, CONFIG_NR_LINE_MAX);
	nr_timer_init(&s->timer, on_timer, s);
	s->state = SS_INIT;

	int ret = nr_conn_new(&s->conn, d->loop, sock, in_size, 0, &session_ops, s);
	if (ret < 0) {
		nr_plat_sock_close(sock);
		s->conn = NULL;
		return ret;
	}
	if (s->tls_mode == NR_TLS_IMPLICIT) {
		if (!handshake_slot_free(s)) {
			/* No way to answer before TLS: close at once. */
			nr_warn("smtpd[%u]: %s: closed: max_tls_handshakes (%u) in flight", s->id,
				s->peer_str, d->conf->max_tls_handshakes);
			nr_conn_free(s->conn);
			s->conn = NULL;
			return NR_EBUSY;
		}
		ret = d->tls_fn ? d->tls_fn(d->tls_arg, s->conn, s->legacy_tls_ok) : NR_ENOTSUP;
		if (ret < 0) {
			nr_warn("smtpd[%u]: %s: TLS setup failed: %s", s->id, s->peer_str,
				nr_strerror(ret));
			nr_conn_free(s->conn);
			s->conn = NULL;
			return ret;
		}
		s->tls = 1;
		handshake_begin(s);
	}
	nr_info("smtpd[%u]: connect from %s%s", s->id, s->peer_str, s->tls ? " (TLS)" : "");
	reply(s, 220, NULL, "%s ESMTP nanorelay", d->hostname);
	enter_state(s, SS_INIT);
	nr_conn_flush(s->conn);
	return 0;
}

void smtpd_session_stop(struct smtpd_session *s)
{
	session_free(s);
}
