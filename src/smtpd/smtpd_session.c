/* smtpd_session.c - one inbound RFC 5321 session: a command table that
 * carries the policy (the states each verb may run in, its refusals, its
 * flags), then per command a check (syntax and policy, into a parsed
 * command) and a proceed (the work), and one smtpd_enter_state() funnel
 * that also arms every timer (STYLE.md, after OpenSMTPD's smtp_session.c).
 * DATA lives in smtpd_data.c, AUTH in smtpd_auth.c. */
#include <stdio.h>
#include <string.h>

#include "acl/acl.h"
#include "conf/conf.h"
#include "core/ascii.h"
#include "core/conn.h"
#include "core/fmt.h"
#include "core/log.h"
#include "core/stats.h"
#include "proto/proto.h"
#include "queue/queue.h"
#include "smtpd/smtpd_int.h"

/* A session that does not read our replies is dropped this long after we
 * gave up on it. */
#define CLOSE_GRACE_MS 10000
/* DATA: the first rate check comes after this grace. */
#define RATE_GRACE_MS 10000
/* Room kept in the output buffer before a command is handled, so a reply
 * (the longest is EHLO/HELP) always fits. */
#define REPLY_ROOM 1024

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
	case SS_AUTH_WAIT:
		return "auth-wait";
	case SS_STARTTLS:
		return "starttls";
	case SS_CLOSING:
		return "closing";
	}
	return "?";
}

/* The one place where the state changes and the only place that arms the
 * session's timer: logs old -> new and arms the deadline of the new state.
 * A deadline runs from the moment we start waiting, so a client trickling
 * bytes cannot push it back (RFC 5321 4.5.3.2 gives the upper bounds;
 * command_timeout is ours). Entering SS_DATA starts the DATA clock;
 * re-entering it (smtpd_data_tick) arms the clock's next look. */
void smtpd_enter_state(struct smtpd_session *s, enum smtpd_state st)
{
	const struct nr_conf *conf = s->d->conf;
	uint64_t now = nr_loop_now(s->d->loop);
	uint64_t delay = conf->command_timeout_ms;

	if (s->state != st)
		nr_debug("smtpd[%u]: %s -> %s", s->id, state_name(s->state), state_name(st));
	switch (st) {
	case SS_INIT:
		if (s->flags & SF_HANDSHAKING)
			delay = conf->tls_handshake_timeout_ms;
		break;
	case SS_HELO:
	case SS_MAIL:
	case SS_RCPT:
	case SS_AUTH:
	case SS_AUTH_WAIT:
		break;
	case SS_DATA:
		if (s->state != SS_DATA) {
			s->data_start = now;
			s->data_bytes = 0;
			s->rate_bytes = 0;
			s->rate_since = now;
			s->data_deadline = now + conf->command_timeout_ms;
			s->data_check_at =
			    now + NR_MIN((uint64_t)RATE_GRACE_MS, conf->command_timeout_ms);
		}
		delay = s->data_check_at - now;
		break;
	case SS_COMMIT: /* the queue's callback moves us on */
		s->state = st;
		nr_timer_cancel(s->d->loop, &s->timer);
		return;
	case SS_STARTTLS:
		delay = conf->tls_handshake_timeout_ms;
		break;
	case SS_CLOSING:
		delay = CLOSE_GRACE_MS;
		break;
	}
	s->state = st;
	if (nr_timer_arm(s->d->loop, &s->timer, delay) < 0) {
		nr_err("smtpd[%u]: no timer slot, closing", s->id);
		s->state = SS_CLOSING;
		nr_conn_close_after_flush(s->conn);
	}
}

/* ---- replies ---- */

void smtpd_reply(struct smtpd_session *s, int code, const char *enh, const char *fmt, ...)
{
	char buf[512];
	const char *text = buf;
	va_list ap;

	/* Most replies are a fixed text or one "%s": those skip vsnprintf, a
	 * measurable share of the relay's own CPU per message (issue 22). */
	va_start(ap, fmt);
	if (strchr(fmt, '%') == NULL)
		text = fmt;
	else if (strcmp(fmt, "%s") == 0)
		text = va_arg(ap, const char *);
	else
		vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (nr_reply_put_lines(nr_conn_out(s->conn), code, enh, &text, 1) < 0)
		nr_warn("smtpd[%u]: reply %d dropped: output full", s->id, code);
	if (code >= 500)
		s->errors++;
}

void smtpd_close_with(struct smtpd_session *s, int code, const char *enh, const char *text)
{
	smtpd_reply(s, code, enh, "%s %s", s->d->hostname, text);
	smtpd_enter_state(s, SS_CLOSING);
	nr_conn_close_after_flush(s->conn);
}

/* A peer's mistake: 5xx and on; past max_errors the session ends (421). */
static int too_many_errors(struct smtpd_session *s)
{
	unsigned max = s->d->conf->max_errors;
	if (max && s->errors >= max) {
		nr_info("smtpd[%u]: %s: too many errors", s->id, s->peer_str);
		smtpd_close_with(s, 421, "4.7.0", "Error: too many errors");
		return 1;
	}
	return 0;
}

/* ---- transaction ---- */

void smtpd_reset_transaction(struct smtpd_session *s)
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
	smtpd_reply(s, 452, "4.5.3", "Error: too many recipients");
	if (++s->rcpt_excess > s->d->conf->max_recipient_overshoot)
		s->errors++;
}

static int relay_permitted(const struct smtpd_session *s)
{
	return (s->flags & (SF_TRUSTED | SF_ALLOWED)) || s->auth_id[0] != '\0';
}

static int starttls_offered(const struct smtpd_session *s)
{
	return s->tls_mode == NR_TLS_STARTTLS && !(s->flags & SF_TLS) && s->d->tls_fn;
}

/* ---- commands: check (into the parsed command), then proceed ---- */

/* The EHLO text goes into Received:, so only a safe subset is kept. */
static void sanitise_helo(char *dst, size_t size, const char *args, size_t len)
{
	size_t o = 0;
	for (size_t i = 0; i < len && args[i] != ' ' && o + 1 < size && o < 64; i++) {
		char c = args[i];
		int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			 (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_' || c == ':' ||
			 c == '[' || c == ']';
		dst[o++] = ok ? c : '_';
	}
	dst[o] = '\0';
}

static int check_helo(struct smtpd_session *s, struct smtpd_cmdline *cl)
{
	const char *args = cl->args;
	size_t len = cl->len;

	while (len && args[0] == ' ') {
		args++;
		len--;
	}
	if (len == 0) {
		smtpd_reply(s, 501, "5.5.4", "Syntax: HELO/EHLO hostname");
		return -1;
	}
	sanitise_helo(cl->helo, sizeof(cl->helo), args, len);
	return 0;
}

static void greeted(struct smtpd_session *s, const struct smtpd_cmdline *cl, int esmtp)
{
	smtpd_reset_transaction(s);
	memcpy(s->helo, cl->helo, sizeof(s->helo));
	if (esmtp)
		s->flags |= SF_ESMTP;
	else
		s->flags &= ~SF_ESMTP;
}

static void proceed_helo(struct smtpd_session *s, const struct smtpd_cmdline *cl)
{
	greeted(s, cl, 0);
	smtpd_reply(s, 250, NULL, "%s", s->d->hostname);
	smtpd_enter_state(s, SS_HELO);
}

static void proceed_ehlo(struct smtpd_session *s, const struct smtpd_cmdline *cl)
{
	const char *lines[10];
	char size_line[40], auth_line[40];
	size_t n = 0;

	greeted(s, cl, 1);
	lines[n++] = s->d->hostname;
	lines[n++] = "PIPELINING";
	snprintf(size_line, sizeof(size_line), "SIZE %s", NR_U64(s->d->conf->max_message_size));
	lines[n++] = size_line;
	lines[n++] = "8BITMIME";
	lines[n++] = "ENHANCEDSTATUSCODES";
	if (starttls_offered(s))
		lines[n++] = "STARTTLS";
	if (smtpd_auth_offered(s) && !s->auth_id[0])
		lines[n++] = smtpd_auth_ehlo_line(auth_line, sizeof(auth_line));
	if (nr_reply_put_lines(nr_conn_out(s->conn), 250, NULL, lines, n) < 0)
		nr_warn("smtpd[%u]: EHLO reply dropped: output full", s->id);
	smtpd_enter_state(s, SS_HELO);
}

/* A path parser's verdict as the reply; 0 when the path is good. */
static int path_refused(struct smtpd_session *s, enum nr_path_result rc, const char *syntax,
			const char *bad_enh, const char *bad_text)
{
	switch (rc) {
	case NR_PATH_OK:
		return 0;
	case NR_PATH_SYNTAX:
		smtpd_reply(s, 501, "5.5.4", "%s", syntax);
		break;
	case NR_PATH_PARAM:
		smtpd_reply(s, 555, "5.5.4", "Unsupported option");
		break;
	default:
		smtpd_reply(s, 501, bad_enh, "%s", bad_text);
		break;
	}
	return -1;
}

static int check_mail(struct smtpd_session *s, struct smtpd_cmdline *cl)
{
	if (s->auth_policy == NR_AUTH_REQUIRED && !s->auth_id[0] && !(s->flags & SF_TRUSTED)) {
		smtpd_reply(s, 530, "5.7.0", "Authentication required");
		return -1;
	}
	if (path_refused(s, nr_parse_mail_from(cl->args, cl->len, cl->path, &cl->params),
			 "Syntax: MAIL FROM:<address>", "5.1.7", "Bad sender address syntax") < 0)
		return -1;
	uint64_t max = s->d->conf->max_message_size;
	if (cl->params.has_size && max && cl->params.size > max) {
		smtpd_reply(s, 552, "5.3.4", "Message size exceeds fixed limit");
		return -1;
	}
	return 0;
}

static void proceed_mail(struct smtpd_session *s, const struct smtpd_cmdline *cl)
{
	memcpy(s->sender, cl->path, sizeof(s->sender));
	s->params = cl->params;
	s->idle_cmds = 0; /* a transaction: not idle */
	s->idle_since = nr_loop_now(s->d->loop);
	smtpd_reply(s, 250, "2.1.0", "Ok");
	smtpd_enter_state(s, SS_MAIL);
}

/* The client as Postfix logs it: "unknown[192.0.2.1]" (no reverse DNS
 * here), or "localhost" for local submissions ("local" or "local, uid N";
 * the uid is in the connect line and in Received:). */
const char *smtpd_client_name(const struct smtpd_session *s, char *dst, size_t size)
{
	if (s->peer_str[0] == '[')
		snprintf(dst, size, "unknown%s", s->peer_str);
	else
		snprintf(dst, size, "%s",
			 strncmp(s->peer_str, "local", 5) == 0 ? "localhost" : s->peer_str);
	return dst;
}

/* "; from=<s> to=<r> proto=ESMTP helo=<h>", the tail of a Postfix reject line. */
const char *smtpd_reject_tail(const struct smtpd_session *s, const char *rcpt, char *dst,
			      size_t size)
{
	char helo[sizeof(s->helo) * 4];
	char to[NR_PATH_MAX + 8] = "";

	if (rcpt)
		snprintf(to, sizeof(to), " to=<%s>", rcpt);
	nr_log_escape(helo, sizeof(helo), s->helo, strlen(s->helo));
	snprintf(dst, size, "from=<%s>%s proto=%s helo=<%s>", s->sender, to,
		 s->flags & SF_ESMTP ? "ESMTP" : "SMTP", helo);
	return dst;
}

static int check_rcpt(struct smtpd_session *s, struct smtpd_cmdline *cl)
{
	if (path_refused(s, nr_parse_rcpt_to(cl->args, cl->len, cl->path),
			 "Syntax: RCPT TO:<address>", "5.1.3", "Bad recipient address syntax") < 0)
		return -1;
	if (!relay_permitted(s)) {
		char client[96], tail[NR_PATH_MAX * 2 + 400];
		nr_info("NOQUEUE: reject: RCPT from %s: 554 5.7.1 <%s>: Relay access denied; %s",
			smtpd_client_name(s, client, sizeof(client)), cl->path,
			smtpd_reject_tail(s, cl->path, tail, sizeof(tail)));
		nr_stats_inc(NR_STAT_REJECTED);
		smtpd_reply(s, 554, "5.7.1", "<%s>: Relay access denied", cl->path);
		return -1;
	}
	size_t alen = strlen(cl->path) + 1;
	unsigned max = s->d->conf->max_recipients;
	if ((max && s->nrcpt >= max) || s->nrcpt >= NR_ARRAY_LEN(s->rcpt) ||
	    s->rcpt_used + alen > sizeof(s->rcpt_buf)) {
		refuse_excess_rcpt(s);
		return -1;
	}
	return 0;
}

static void proceed_rcpt(struct smtpd_session *s, const struct smtpd_cmdline *cl)
{
	size_t alen = strlen(cl->path) + 1;

	s->rcpt[s->nrcpt++] = s->rcpt_buf + s->rcpt_used;
	memcpy(s->rcpt_buf + s->rcpt_used, cl->path, alen);
	s->rcpt_used += alen;
	smtpd_reply(s, 250, "2.1.5", "Ok");
	smtpd_enter_state(s, SS_RCPT);
}

static void proceed_rset(struct smtpd_session *s, const struct smtpd_cmdline *cl)
{
	smtpd_reset_transaction(s);
	smtpd_reply(s, 250, "2.0.0", "Ok");
	smtpd_enter_state(s, s->state == SS_INIT ? SS_INIT : SS_HELO);
}

static void proceed_noop(struct smtpd_session *s, const struct smtpd_cmdline *cl)
{
	smtpd_reply(s, 250, "2.0.0", "Ok");
	smtpd_enter_state(s, s->state);
}

static void proceed_quit(struct smtpd_session *s, const struct smtpd_cmdline *cl)
{
	smtpd_reply(s, 221, "2.0.0", "Bye");
	smtpd_enter_state(s, SS_CLOSING);
	nr_conn_close_after_flush(s->conn);
}

static void proceed_help(struct smtpd_session *s, const struct smtpd_cmdline *cl);

static void proceed_vrfy(struct smtpd_session *s, const struct smtpd_cmdline *cl)
{
	smtpd_reply(s, 252, "2.0.0", "Cannot VRFY user, but will accept message");
	smtpd_enter_state(s, s->state);
}

static const struct smtpd_refusal starttls_not_offered = {0, 502, "5.5.1",
							  "Error: command not implemented"};

static const struct smtpd_refusal *starttls_gate(const struct smtpd_session *s)
{
	return starttls_offered(s) ? NULL : &starttls_not_offered;
}

static int check_starttls(struct smtpd_session *s, struct smtpd_cmdline *cl)
{
	unsigned limit;
	const char *full = smtpd_handshake_limit(s, &limit);
	if (full) {
		nr_warn("smtpd[%u]: %s: STARTTLS refused: %s (%u) in flight", s->id, s->peer_str,
			full, limit);
		smtpd_reply(s, 454, "4.7.0", "TLS not available due to temporary reason");
		return -1;
	}
	return 0;
}

static void proceed_starttls(struct smtpd_session *s, const struct smtpd_cmdline *cl)
{
	smtpd_reply(s, 220, "2.0.0", "Ready to start TLS");
	/* CVE-2011-0411: whatever the client sent after STARTTLS was sent in
	 * clear and is discarded, now and again when the transport switches. */
	nr_buf_reset(nr_conn_in(s->conn));
	nr_conn_pause_input(s->conn, 1);
	s->flags |= SF_TLS_PENDING;
	smtpd_handshake_begin(s);
	smtpd_enter_state(s, SS_STARTTLS);
	nr_conn_flush(s->conn);
}

/* The 220 has left in clear: put TLS on and forget everything. */
static void start_tls_now(struct smtpd_session *s)
{
	s->flags &= ~SF_TLS_PENDING;
	int ret = s->d->tls_fn(s->d->tls_arg, s->conn, !!(s->flags & SF_LEGACY_TLS_OK));
	if (ret < 0) {
		nr_warn("smtpd[%u]: %s: TLS setup failed: %s", s->id, s->peer_str,
			nr_strerror(ret));
		smtpd_session_stop(s);
		return;
	}
	s->flags |= SF_TLS;
	s->flags &= ~SF_ESMTP;
	smtpd_reset_transaction(s);
	s->helo[0] = '\0';
	s->auth_id[0] = '\0';
	s->errors = 0;
	nr_line_reader_init(&s->lr, CONFIG_NR_LINE_MAX);
	smtpd_enter_state(s, SS_INIT);
	nr_conn_pause_input(s->conn, 0);
}

/* ---- the command table ---- */

/* Where a command line can arrive: any state that reads commands, or any
 * after the greeting. */
#define SM_ANY (SM(SS_INIT) | SM(SS_HELO) | SM(SS_MAIL) | SM(SS_RCPT))
#define SM_GREETED (SM(SS_HELO) | SM(SS_MAIL) | SM(SS_RCPT))

enum {
	/* Takes no argument: blanks around it are dropped, anything else is
	 * 501 "Syntax: VERB". */
	CF_NOARGS = 1u << 0,
	/* Keeps a session alive without mail (NOOP, RSET, HELP, VRFY): counts
	 * towards max_idle_commands and max_idle_time until the next MAIL. */
	CF_IDLE = 1u << 1,
};

/* One verb's policy. The dispatcher asks in this order, and the first
 * refusal is the reply: gate, states (SS_INIT outside the mask: "send
 * HELO/EHLO first"; another state: wrong_state), CF_NOARGS, check. Only
 * then does proceed run. */
struct smtpd_cmd {
	const char *verb;
	unsigned states; /* SM() of the states in which the verb is in order */
	unsigned flags;  /* CF_* */
	/* May this session use the verb at all (offered, not used up)? NULL
	 * or the refusal. Optional. */
	const struct smtpd_refusal *(*gate)(const struct smtpd_session *s);
	/* The refusals for states outside the mask other than SS_INIT, first
	 * match. */
	struct smtpd_refusal wrong_state[2];
	/* Syntax and policy: parses into cl, reads the session, sends its own
	 * reply and returns -1 to stop. Optional. */
	int (*check)(struct smtpd_session *s, struct smtpd_cmdline *cl);
	/* The work: commits to the session, replies, enters the next state. */
	void (*proceed)(struct smtpd_session *s, const struct smtpd_cmdline *cl);
};

static const struct smtpd_cmd commands[] = {
    {.verb = "EHLO", .states = SM_ANY, .check = check_helo, .proceed = proceed_ehlo},
    {.verb = "HELO", .states = SM_ANY, .check = check_helo, .proceed = proceed_helo},
    {.verb = "MAIL",
     .states = SM(SS_HELO),
     .wrong_state = {{0, 503, "5.5.1", "Error: nested MAIL command"}},
     .check = check_mail,
     .proceed = proceed_mail},
    {.verb = "RCPT",
     .states = SM(SS_MAIL) | SM(SS_RCPT),
     .wrong_state = {{0, 503, "5.5.1", "Error: need MAIL command"}},
     .check = check_rcpt,
     .proceed = proceed_rcpt},
    {.verb = "DATA",
     .states = SM(SS_RCPT),
     .flags = CF_NOARGS,
     .wrong_state = {{SM(SS_MAIL), 554, "5.5.1", "Error: no valid recipients"},
		     {0, 503, "5.5.1", "Error: need RCPT command"}},
     .proceed = smtpd_proceed_data},
    {.verb = "RSET", .states = SM_ANY, .flags = CF_IDLE, .proceed = proceed_rset},
    {.verb = "NOOP", .states = SM_ANY, .flags = CF_IDLE, .proceed = proceed_noop},
    {.verb = "QUIT", .states = SM_ANY, .proceed = proceed_quit},
    {.verb = "HELP", .states = SM_ANY, .flags = CF_IDLE, .proceed = proceed_help},
    {.verb = "VRFY", .states = SM_ANY, .flags = CF_IDLE, .proceed = proceed_vrfy},
    {.verb = "STARTTLS",
     .states = SM_GREETED,
     .flags = CF_NOARGS,
     .gate = starttls_gate,
     .check = check_starttls,
     .proceed = proceed_starttls},
    {.verb = "AUTH",
     .states = SM(SS_HELO),
     .gate = smtpd_auth_gate,
     .wrong_state = {{0, 503, "5.5.1", "Error: MAIL transaction in progress"}},
     .check = smtpd_check_auth,
     .proceed = smtpd_proceed_auth},
};

/* "Commands: EHLO HELO ...", the verbs of the table in its order. */
static void proceed_help(struct smtpd_session *s, const struct smtpd_cmdline *cl)
{
	char verbs[128];
	size_t n = (size_t)snprintf(verbs, sizeof(verbs), "Commands:");
	for (size_t i = 0; i < NR_ARRAY_LEN(commands) && n < sizeof(verbs); i++)
		n += (size_t)snprintf(verbs + n, sizeof(verbs) - n, " %s", commands[i].verb);
	const char *lines[] = {verbs, "nanorelay " NR_VERSION};
	if (nr_reply_put_lines(nr_conn_out(s->conn), 214, "2.0.0", lines, 2) < 0)
		nr_warn("smtpd[%u]: HELP reply dropped", s->id);
	smtpd_enter_state(s, s->state);
}

/* Why cmd may not run now, or NULL. */
static const struct smtpd_refusal *refusal(const struct smtpd_session *s,
					   const struct smtpd_cmd *cmd)
{
	static const struct smtpd_refusal need_helo = {0, 503, "5.5.1",
						       "Error: send HELO/EHLO first"};
	static const struct smtpd_refusal bad_sequence = {0, 503, "5.5.1",
							  "Error: bad sequence of commands"};
	const struct smtpd_refusal *no = cmd->gate ? cmd->gate(s) : NULL;

	if (no || (cmd->states & SM(s->state)))
		return no;
	if (s->state == SS_INIT)
		return &need_helo;
	for (size_t i = 0; i < NR_ARRAY_LEN(cmd->wrong_state) && cmd->wrong_state[i].code; i++)
		if (!cmd->wrong_state[i].states || (cmd->wrong_state[i].states & SM(s->state)))
			return &cmd->wrong_state[i];
	return &bad_sequence; /* a table without a refusal for this state */
}

static void run_command(struct smtpd_session *s, const struct smtpd_cmd *cmd, const char *args,
			size_t len)
{
	if ((cmd->flags & CF_IDLE) && smtpd_idle_too_long(s))
		return;
	const struct smtpd_refusal *no = refusal(s, cmd);
	if (no) {
		smtpd_reply(s, no->code, no->enh, "%s", no->text);
		return;
	}
	if (cmd->flags & CF_NOARGS) {
		while (len && args[len - 1] == ' ')
			len--;
		while (len && args[0] == ' ')
			args++, len--;
		if (len) {
			smtpd_reply(s, 501, "5.5.4", "Syntax: %s", cmd->verb);
			return;
		}
	}
	/* MAIL/RCPT/EHLO/... keep their leading space for the parsers. */
	struct smtpd_cmdline cl = {.args = args, .len = len};
	if (cmd->check && cmd->check(s, &cl) < 0)
		return;
	cmd->proceed(s, &cl);
}

/* Things a web browser or proxy sends: not a mail client, hang up
 * (cross-protocol attacks). */
static const char *const forbidden[] = {"GET",     "POST",    "PUT",   "HEAD",
					"CONNECT", "OPTIONS", "HOST:", "USER-AGENT:"};

static void command_line(struct smtpd_session *s, const char *line, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)line[i];
		if (c < 32 || c == 127) {
			smtpd_reply(s, 500, "5.5.2", "Error: bad character in command");
			return;
		}
	}
	size_t vlen = 0;
	while (vlen < len && line[vlen] != ' ')
		vlen++;
	for (size_t i = 0; i < NR_ARRAY_LEN(forbidden); i++) {
		size_t n = strlen(forbidden[i]);
		if (vlen == n && nr_ascii_ieq_mem(line, forbidden[i], n)) {
			nr_info("smtpd[%u]: %s: non-SMTP command, closing", s->id, s->peer_str);
			smtpd_close_with(s, 421, "4.7.0", "Error: not an SMTP client");
			return;
		}
	}
	for (size_t i = 0; i < NR_ARRAY_LEN(commands); i++) {
		size_t n = strlen(commands[i].verb);
		if (vlen == n && nr_ascii_ieq_mem(line, commands[i].verb, n)) {
			run_command(s, &commands[i], line + n, len - n);
			return;
		}
	}
	smtpd_reply(s, 500, "5.5.2", "Error: command not recognized");
}

/* ---- input ---- */

static void process_input(struct smtpd_session *s)
{
	struct nr_buf *out = nr_conn_out(s->conn);

	while (s->state != SS_CLOSING && s->state != SS_COMMIT && s->state != SS_STARTTLS &&
	       s->state != SS_AUTH_WAIT) {
		if (s->state == SS_DATA) {
			if (!smtpd_data_input(s))
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
				smtpd_enter_state(s, SS_HELO);
				smtpd_reply(s, 500, "5.5.6",
					    "Error: authentication exchange line too long");
			} else {
				smtpd_reply(s, 500, "5.5.2", "Error: line too long");
			}
		} else if (s->state == SS_AUTH) {
			smtpd_auth_line(s, line, len);
		} else {
			command_line(s, line, len);
		}
		if (s->state == SS_CLOSING || (s->flags & SF_FREED))
			break;
		if (too_many_errors(s))
			break;
	}
	if (!(s->flags & SF_FREED))
		nr_conn_flush(s->conn);
}

void smtpd_session_resume(struct smtpd_session *s)
{
	if (too_many_errors(s)) {
		nr_conn_flush(s->conn);
		return;
	}
	process_input(s);
}

/* ---- connection callbacks ---- */

static void on_input(struct nr_conn *c, void *owner)
{
	process_input(owner);
}

static void on_drained(struct nr_conn *c, void *owner)
{
	struct smtpd_session *s = owner;
	if (s->flags & SF_TLS_PENDING) {
		start_tls_now(s);
		if (s->flags & SF_FREED)
			return;
	}
	process_input(s);
}

static void on_close(struct nr_conn *c, void *owner, int err)
{
	struct smtpd_session *s = owner;
	if (s->state == SS_DATA)
		nr_info("smtpd[%u]: %s: lost connection after DATA (%s bytes): %s", s->id,
			s->peer_str, NR_U64(s->data_bytes), nr_strerror(err));
	else if (s->state != SS_CLOSING)
		nr_debug("smtpd[%u]: %s: disconnect in %s: %s", s->id, s->peer_str,
			 state_name(s->state), nr_strerror(err));
	smtpd_session_stop(s);
}

/* The TLS handshake is over: its slot is free, and from now on the
 * command deadline applies. */
static void on_tls_ready(struct nr_conn *c, void *owner)
{
	struct smtpd_session *s = owner;

	smtpd_handshake_end(s);
	smtpd_enter_state(s, s->state);
}

static const struct nr_conn_ops session_ops = {on_input, on_drained, on_close, on_tls_ready};

static void on_timer(struct nr_loop *loop, void *arg)
{
	struct smtpd_session *s = arg;
	uint64_t now = nr_loop_now(loop);

	if (s->state == SS_DATA && smtpd_data_tick(s, now))
		return;
	if (s->state == SS_CLOSING) {
		smtpd_session_stop(s);
		return;
	}
	if (s->flags & SF_HANDSHAKING) { /* nothing can be said over a half-made TLS */
		nr_info("smtpd[%u]: %s: TLS handshake timeout", s->id, s->peer_str);
		smtpd_session_stop(s);
		return;
	}
	nr_info("smtpd[%u]: %s: timeout in %s", s->id, s->peer_str, state_name(s->state));
	smtpd_close_with(s, 421, "4.4.2", "Error: timeout exceeded");
	nr_conn_flush(s->conn);
}

/* ---- lifecycle ---- */

void smtpd_session_stop(struct smtpd_session *s)
{
	struct nr_smtpd *d = s->d;

	if (s->flags & SF_FREED)
		return;
	smtpd_handshake_end(s);
	smtpd_auth_cancel(s);
	nr_timer_cancel(d->loop, &s->timer);
	if (s->conn) {
		nr_conn_free(s->conn);
		s->conn = NULL;
	}
	if (s->writer) {
		nr_queue_abort(s->writer);
		s->writer = NULL;
	}
	if (s->flags & SF_COMMITTING) {
		/* The queue still holds our pointer: free in commit_done. */
		s->flags |= SF_ZOMBIE;
		return;
	}
	s->flags |= SF_FREED;
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
	s->flags = trusted ? SF_TRUSTED : 0;
	s->idle_since = nr_loop_now(d->loop);
	s->local_uid = uid;
	if (peer)
		s->peer = *peer;
	else
		s->peer.family = NR_AF_LOCAL;
	if (s->peer.family == NR_AF_INET4 || s->peer.family == NR_AF_INET6) {
		nr_acl_normalise(&s->peer, &s->peer.family, s->peer.ip);
		snprintf(s->peer_str, sizeof(s->peer_str), "[%s]",
			 nr_addr_ntop(&s->peer, ip, sizeof(ip)));
		if (nr_acl_allowed(conf->allow, conf->allow_count, &s->peer))
			s->flags |= SF_ALLOWED;
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
		if (nr_acl_allowed(l->plain_auth, l->plain_auth_count, &s->peer))
			s->flags |= SF_PLAIN_AUTH_OK;
		if (nr_acl_allowed(l->legacy_tls, l->legacy_tls_count, &s->peer))
			s->flags |= SF_LEGACY_TLS_OK;
	}
	/* An AUTH line may be longer than a command line (RFC 4954 4). */
	if (smtpd_auth_offered(s) || s->tls_mode != NR_TLS_NONE)
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
		unsigned limit;
		const char *full = smtpd_handshake_limit(s, &limit);
		if (full) {
			/* No way to answer before TLS: close at once. */
			nr_warn("smtpd[%u]: %s: closed: %s (%u) in flight", s->id, s->peer_str,
				full, limit);
			nr_conn_free(s->conn);
			s->conn = NULL;
			return NR_EBUSY;
		}
		ret = d->tls_fn ? d->tls_fn(d->tls_arg, s->conn, !!(s->flags & SF_LEGACY_TLS_OK))
				: NR_ENOTSUP;
		if (ret < 0) {
			nr_warn("smtpd[%u]: %s: TLS setup failed: %s", s->id, s->peer_str,
				nr_strerror(ret));
			nr_conn_free(s->conn);
			s->conn = NULL;
			return ret;
		}
		s->flags |= SF_TLS;
		smtpd_handshake_begin(s);
	}
	nr_info("smtpd[%u]: connect from %s%s", s->id, s->peer_str,
		s->flags & SF_TLS ? " (TLS)" : "");
	smtpd_reply(s, 220, NULL, "%s ESMTP nanorelay", d->hostname);
	smtpd_enter_state(s, SS_INIT);
	nr_conn_flush(s->conn);
	return 0;
}
