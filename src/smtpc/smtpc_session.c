/* smtpc_session.c - the outbound SMTP client state machine (RFC 5321,
 * 2920 PIPELINING, 1870 SIZE, 6152 8BITMIME, 3207 STARTTLS, 4954 AUTH). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/fmt.h"
#include "core/log.h"
#include "core/mem.h"
#include "proto/proto.h"
#include "smtpc/smtpc_int.h"
#include "smtpc/smtpc_session.h"

static const char *const state_names[] = {
    "CONNECTING", "GREETING", "EHLO", "STARTTLS", "TLS",  "AUTH", "READY",
    "TRANS",      "BODY",     "DOT",  "RSET",     "QUIT", "DONE",
};

/* Deadlines in ms: RFC 5321 4.5.3.2 values or lower. */
static const uint64_t state_timeout[] = {
    [S_CONNECTING] = 0, [S_GREETING] = 120000, [S_EHLO] = 120000, [S_STARTTLS] = 120000,
    [S_TLS] = 60000,    [S_AUTH] = 120000,     [S_READY] = 0,     [S_TRANS] = 300000,
    [S_BODY] = 180000,  [S_DOT] = 600000,      [S_RSET] = 60000,  [S_QUIT] = 30000,
    [S_DONE] = 0,
};

/* Arm the current state's deadline (also on progress within a state). */
static void arm_deadline(struct nr_smtpc *s)
{
	uint64_t t = state_timeout[s->state];

	if (s->state == S_READY)
		t = s->p.idle_ms ? s->p.idle_ms : 5000;
	else if (t && s->p.max_wait_ms)
		t = NR_MIN(t, s->p.max_wait_ms);
	if (t && s->p.timeout_scale > 1)
		t = NR_MAX(t / s->p.timeout_scale, 1);
	s->ops->arm_timer(s->owner, t);
}

static void enter_state(struct nr_smtpc *s, enum state next)
{
	nr_debug("smtpc %s: %s -> %s", s->p.relay, state_names[s->state], state_names[next]);
	s->state = next;
	arm_deadline(s);
}

const char *nr_smtpc_state_name(const struct nr_smtpc *s)
{
	return state_names[s->state];
}

int nr_smtpc_is_ready(const struct nr_smtpc *s)
{
	return s->state == S_READY;
}

/* ---- helpers ---- */

static void copy_str(char *dst, size_t size, const char *src)
{
	size_t n = strlen(src);

	if (n >= size)
		n = size - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

void nr_smtpc_wipe(void *p, size_t n)
{
	volatile uint8_t *v = p;

	while (n--)
		*v++ = 0;
}

int nr_smtpc_send_line(struct nr_smtpc *s, const char *fmt, ...)
{
	char buf[1100];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf) - 2, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(buf) - 2)
		return NR_EINVAL;
	buf[n++] = '\r';
	buf[n++] = '\n';
	if (s->ops->room(s->owner) < (size_t)n)
		return NR_EFULL;
	return s->ops->write(s->owner, buf, (size_t)n);
}

/* RFC 5321 4.1.2 paths: printable ASCII without space, '<' or '>'. This is
 * the emission-time re-check: nothing can be smuggled into a command. */
static int path_ok(const char *a)
{
	size_t n = 0;

	for (; *a; a++, n++) {
		unsigned char ch = (unsigned char)*a;
		if (ch <= 0x20 || ch >= 0x7f || ch == '<' || ch == '>')
			return 0;
	}
	return n <= 256;
}

static const char *phase_name(const struct nr_smtpc *s)
{
	switch (s->state) {
	case S_CONNECTING:
	case S_GREETING:
		return "the initial server greeting";
	case S_EHLO:
		return "EHLO";
	case S_STARTTLS:
		return "STARTTLS";
	case S_TLS:
		return "the TLS handshake";
	case S_AUTH:
		return "AUTH";
	case S_TRANS:
		if (s->reply_next == 0)
			return "MAIL FROM";
		return s->msg && s->reply_next <= s->msg->nrcpt ? "RCPT TO" : "DATA";
	case S_BODY:
		return "the message body";
	case S_DOT:
		return "end of data";
	case S_RSET:
		return "RSET";
	case S_QUIT:
		return "QUIT";
	case S_READY:
	case S_DONE:
		break;
	}
	return "an idle connection";
}

static void reply_text(const struct nr_smtpc *s, char *dst, size_t size,
		       const struct nr_smtpc_reply *r)
{
	/* A long reply is cut to fit the log line and the bounce (its start,
	 * with the codes, is what matters); the result is tested only to tell
	 * GCC's -Wformat-truncation that the cut is meant. */
	if (snprintf(dst, size, "host %s said: %d %s (in reply to %s)", s->p.relay, r->code,
		     r->text, phase_name(s)) >= (int)size)
		dst[size - 1] = '\0';
}

/* ---- the end of a session ---- */

static void report_done(struct nr_smtpc *s, int code, const char *text)
{
	if (s->msg && !s->done_reported) {
		s->done_reported = 1;
		s->ops->msg_done(s->owner, code, text);
	}
}

/* End the session: a transaction still open is deferred first. The owner
 * may free s inside finished(): touch nothing after it. */
static void finish(struct nr_smtpc *s, enum nr_smtpc_end how, const char *text)
{
	report_done(s, 0, text);
	s->msg = NULL;
	enter_state(s, S_DONE);
	nr_smtpc_wipe(s->line, sizeof(s->line));
	s->ops->finished(s->owner, how, text);
}

static void go_ready(struct nr_smtpc *s)
{
	s->msg = NULL;
	if (s->quit_requested) {
		if (nr_smtpc_send_line(s, "QUIT") < 0) {
			finish(s, NR_SMTPC_END_QUIT, "closed");
			return;
		}
		enter_state(s, S_QUIT);
		return;
	}
	enter_state(s, S_READY);
	s->ops->ready(s->owner); /* may call nr_smtpc_send(): last */
}

static void fail_io(struct nr_smtpc *s, const char *what)
{
	char text[256];

	snprintf(text, sizeof(text), "%s with %s during %s", what, s->p.relay, phase_name(s));
	finish(s, s->state < S_READY ? NR_SMTPC_END_HOST : NR_SMTPC_END_LOST, text);
}

/* ---- EHLO, STARTTLS, AUTH ---- */

static void send_ehlo(struct nr_smtpc *s)
{
	/* Capabilities are forgotten whenever EHLO is sent (RFC 3207 4.2). */
	s->caps = 0;
	s->auth = 0;
	s->size_limit = 0;
	if (nr_smtpc_send_line(s, "EHLO %s", s->p.helo) < 0) {
		fail_io(s, "output full");
		return;
	}
	enter_state(s, S_EHLO);
}

static void after_ehlo(struct nr_smtpc *s)
{
	if (s->p.tls == NR_TLS_STARTTLS && !s->tls_active) {
		if (!(s->caps & NR_SMTPC_CAP_STARTTLS)) {
			finish(s, NR_SMTPC_END_HOST,
			       "STARTTLS not offered by the relay; refusing to send in clear");
			return;
		}
		if (nr_smtpc_send_line(s, "STARTTLS") < 0) {
			fail_io(s, "output full");
			return;
		}
		enter_state(s, S_STARTTLS);
		return;
	}
	if (s->p.user && s->p.user[0]) {
		char text[128];
		s->mech = nr_smtpc_pick_mech(s);
		if (!s->mech) {
			snprintf(text, sizeof(text), "%s offers no AUTH mechanism we can use",
				 s->p.relay);
			finish(s, NR_SMTPC_END_HOST, text);
			return;
		}
		if (nr_smtpc_auth_start(s) < 0) {
			fail_io(s, "cannot send AUTH");
			return;
		}
		enter_state(s, S_AUTH);
		return;
	}
	go_ready(s);
}

/* ---- the transaction ---- */

static size_t last_cmd(const struct nr_smtpc *s)
{
	return s->msg->nrcpt + 1; /* DATA */
}

static int is_skipped(const struct nr_smtpc *s, size_t k)
{
	return k >= 1 && k <= s->msg->nrcpt && s->rstat[k - 1] == R_SKIP;
}

static size_t next_cmd(const struct nr_smtpc *s, size_t k)
{
	k++;
	while (k <= last_cmd(s) && is_skipped(s, k))
		k++;
	return k;
}

static void decide(struct nr_smtpc *s, int code, const char *text)
{
	if (s->decided)
		return;
	s->decided = 1;
	s->decided_code = code;
	copy_str(s->decided_text, sizeof(s->decided_text), text);
}

/* The transaction ended without a completed DATA: report, then RSET. */
static void txn_finish(struct nr_smtpc *s)
{
	report_done(s, s->decided_code, s->decided_text);
	s->msg = NULL;
	if (nr_smtpc_send_line(s, "RSET") < 0) {
		fail_io(s, "output full");
		return;
	}
	enter_state(s, S_RSET);
}

static void body_pump(struct nr_smtpc *s);

/* Send what may be sent now: the whole group with PIPELINING (RFC 2920 3.1:
 * DATA last), one command at a time without. */
static void txn_pump(struct nr_smtpc *s)
{
	int pipelining = (s->caps & NR_SMTPC_CAP_PIPELINING) != 0;
	const struct nr_smtpc_msg *m = s->msg;

	while (!s->decided && s->cmd_next <= last_cmd(s)) {
		size_t k = s->cmd_next;
		int rc;
		if (!pipelining && s->reply_next != s->cmd_next)
			break;
		if (k == 0) {
			char size[32] = "";
			if ((s->caps & NR_SMTPC_CAP_SIZE) && m->size)
				snprintf(size, sizeof(size), " SIZE=%s", NR_U64(m->size));
			rc = nr_smtpc_send_line(s, "MAIL FROM:<%s>%s%s", m->sender,
						m->eightbit ? " BODY=8BITMIME" : "", size);
		} else if (k <= m->nrcpt) {
			rc = nr_smtpc_send_line(s, "RCPT TO:<%s>", m->rcpt[k - 1]);
		} else {
			if (!pipelining && s->accepted == 0) {
				decide(s, 0, "no recipient accepted");
				break;
			}
			rc = nr_smtpc_send_line(s, "DATA");
		}
		if (rc == NR_EFULL)
			return; /* on_writable continues */
		if (rc < 0) {
			fail_io(s, "cannot send command");
			return;
		}
		s->cmd_next = next_cmd(s, k);
	}
	if (s->decided && s->reply_next == s->cmd_next)
		txn_finish(s);
}

static void txn_reply(struct nr_smtpc *s, const struct nr_smtpc_reply *r)
{
	const struct nr_smtpc_msg *m = s->msg;
	size_t k = s->reply_next;
	char text[256];

	reply_text(s, text, sizeof(text), r);
	if (k >= s->cmd_next) {
		finish(s, NR_SMTPC_END_LOST, "unexpected reply from the relay");
		return;
	}
	s->reply_next = next_cmd(s, k);
	if (r->code == 421) {
		/* The server is closing (RFC 5321 3.8): everything open is deferred. */
		decide(s, 421, text);
		report_done(s, s->decided_code, s->decided_text);
		finish(s, NR_SMTPC_END_LOST, text);
		return;
	}
	if (k == 0) {
		if (r->code / 100 != 2)
			decide(s, r->code, text);
	} else if (k <= m->nrcpt) {
		if (s->decided)
			; /* after a failed MAIL every RCPT reply is noise */
		else if (r->code / 100 == 2) {
			s->rstat[k - 1] = R_ACCEPTED;
			s->accepted++;
		} else {
			s->rstat[k - 1] = R_OWN;
			s->ops->rcpt_result(s->owner, k - 1, r->code, text);
		}
	} else if (!s->decided) {
		if (r->code == 354) {
			nr_dotstuff_init(&s->st);
			s->dot_only = s->accepted == 0;
			enter_state(s, S_BODY);
			body_pump(s);
			return;
		}
		decide(s, r->code, text);
	}
	txn_pump(s);
}

static void body_pump(struct nr_smtpc *s)
{
	const struct nr_smtpc_msg *m = s->msg;

	for (;;) {
		size_t room = s->ops->room(s->owner), chunk, n, used;
		long got;
		if (room < 64)
			return; /* on_writable continues */
		chunk = NR_MIN((room - 16) / 2, sizeof(s->body_in));
		got = s->dot_only ? 0 : m->read(m->read_arg, s->body_in, chunk);
		if (got < 0) {
			char text[160];
			/* Never terminate a body we could not read in full:
			 * dropping the connection makes the upstream discard it. */
			snprintf(text, sizeof(text), "cannot read the queued message: %s",
				 nr_strerror((int)got));
			finish(s, NR_SMTPC_END_LOST, text);
			return;
		}
		if (got == 0) {
			n = nr_dotstuff_end(&s->st, s->body_out);
			if (s->ops->write(s->owner, s->body_out, n) < 0) {
				fail_io(s, "output full");
				return;
			}
			enter_state(s, S_DOT);
			return;
		}
		/* body_out holds 2 * got + 8: one call takes the whole chunk. */
		n = nr_dotstuff(&s->st, s->body_in, (size_t)got, s->body_out, sizeof(s->body_out),
				&used);
		if (used != (size_t)got || s->ops->write(s->owner, s->body_out, n) < 0) {
			fail_io(s, "output full");
			return;
		}
		arm_deadline(s); /* progress re-arms the block deadline */
	}
}

/* ---- public ---- */

int nr_smtpc_new(struct nr_smtpc **out, const struct nr_smtpc_params *p,
		 const struct nr_smtpc_ops *ops, void *owner)
{
	struct nr_smtpc *s;
	size_t sl = p->secret ? strlen(p->secret) : 0;

	*out = NULL;
	/* Plaintext upstream only by explicit configuration (DESIGN.md). */
	if (p->tls == NR_TLS_NONE && !p->insecure)
		return NR_EINVAL;
	if (sl > NR_SMTPC_SECRET_MAX || !p->helo || !p->relay)
		return NR_EINVAL;
	if (p->secret_is_token && p->tls == NR_TLS_NONE)
		return NR_EINVAL; /* bearer tokens never travel in clear */
	s = nr_calloc(1, sizeof(*s));
	if (!s)
		return NR_ENOMEM;
	s->ops = ops;
	s->owner = owner;
	s->p = *p;
	s->p.secret = NULL;
	if (sl)
		memcpy(s->secret, p->secret, sl);
	s->secret_len = sl;
	s->tls_active = p->tls == NR_TLS_IMPLICIT;
	*out = s;
	return 0;
}

void nr_smtpc_free(struct nr_smtpc *s)
{
	if (!s)
		return;
	nr_smtpc_wipe(s, sizeof(*s));
	nr_free(s);
}

void nr_smtpc_on_connected(struct nr_smtpc *s)
{
	if (s->state == S_CONNECTING)
		enter_state(s, S_GREETING);
}

void nr_smtpc_on_reply(struct nr_smtpc *s, const struct nr_smtpc_reply *r, size_t leftover)
{
	char text[256];

	reply_text(s, text, sizeof(text), r);
	switch (s->state) {
	case S_GREETING:
		if (r->code != 220) {
			finish(s, NR_SMTPC_END_HOST, text);
			return;
		}
		send_ehlo(s);
		return;
	case S_EHLO:
		if (r->code != 250) {
			finish(s, NR_SMTPC_END_HOST, text);
			return;
		}
		s->caps = r->caps.caps;
		s->auth = r->caps.auth;
		s->size_limit = (r->caps.caps & NR_SMTPC_CAP_SIZE) ? r->caps.size_max : 0;
		after_ehlo(s);
		return;
	case S_STARTTLS:
		if (r->code != 220) {
			finish(s, NR_SMTPC_END_HOST, text);
			return;
		}
		if (leftover) {
			/* CVE-2011-0411 class: anything after the 220 came from
			 * before TLS and may be forged. */
			finish(s, NR_SMTPC_END_HOST,
			       "bytes after the 220 to STARTTLS (response injection); aborted");
			return;
		}
		enter_state(s, S_TLS);
		s->ops->start_tls(s->owner);
		return;
	case S_AUTH:
		if (r->code == 235) {
			nr_smtpc_wipe(s->secret, sizeof(s->secret));
			s->secret_len = 0;
			go_ready(s);
			return;
		}
		if (r->code == 334) {
			if (nr_smtpc_auth_continue(s, r) < 0)
				finish(s, NR_SMTPC_END_HOST, "AUTH exchange failed");
			else
				enter_state(s, S_AUTH);
			return;
		}
		finish(s, r->code == 535 ? NR_SMTPC_END_AUTH : NR_SMTPC_END_HOST, text);
		return;
	case S_TRANS:
		txn_reply(s, r);
		return;
	case S_DOT:
		/* After the final dot every answer applies to the recipients
		 * that RCPT accepted (RFC 5321 4.2.5). */
		report_done(s, r->code, text);
		if (r->code == 421) {
			finish(s, NR_SMTPC_END_LOST, text);
			return;
		}
		go_ready(s);
		return;
	case S_RSET:
		if (r->code / 100 != 2) {
			finish(s, NR_SMTPC_END_LOST, text);
			return;
		}
		go_ready(s);
		return;
	case S_QUIT:
		finish(s, NR_SMTPC_END_QUIT, "closed");
		return;
	case S_CONNECTING:
	case S_TLS:
	case S_READY:
	case S_BODY:
	case S_DONE:
		break;
	}
	if (s->state != S_DONE)
		finish(s, s->state < S_READY ? NR_SMTPC_END_HOST : NR_SMTPC_END_LOST, text);
}

void nr_smtpc_on_tls_done(struct nr_smtpc *s, int err, const char *text)
{
	char buf[256];

	if (s->state != S_TLS)
		return;
	if (err) {
		snprintf(buf, sizeof(buf), "TLS with %s failed: %s", s->p.relay,
			 text && text[0] ? text : nr_strerror(err));
		finish(s, NR_SMTPC_END_HOST, buf);
		return;
	}
	s->tls_active = 1;
	send_ehlo(s);
}

void nr_smtpc_on_timeout(struct nr_smtpc *s)
{
	if (s->state == S_READY) {
		nr_smtpc_quit(s);
		return;
	}
	if (s->state == S_QUIT) {
		finish(s, NR_SMTPC_END_QUIT, "closed");
		return;
	}
	if (s->state != S_DONE)
		fail_io(s, "timed out");
}

void nr_smtpc_on_closed(struct nr_smtpc *s, int err)
{
	char what[64];

	if (s->state == S_DONE)
		return;
	if (s->state == S_QUIT) {
		finish(s, NR_SMTPC_END_QUIT, "closed");
		return;
	}
	snprintf(what, sizeof(what), "lost connection (%s)", nr_strerror(err));
	fail_io(s, what);
}

void nr_smtpc_on_connect_failed(struct nr_smtpc *s, const char *text)
{
	if (s->state == S_DONE)
		return;
	finish(s, NR_SMTPC_END_HOST, text);
}

void nr_smtpc_on_writable(struct nr_smtpc *s)
{
	if (s->state == S_TRANS)
		txn_pump(s);
	else if (s->state == S_BODY)
		body_pump(s);
}

int nr_smtpc_send(struct nr_smtpc *s, const struct nr_smtpc_msg *m)
{
	char text[160];
	size_t i;

	if (s->state != S_READY)
		return NR_ESTATE;
	if (m->nrcpt > CONFIG_NR_MAX_RECIPIENTS || !m->read)
		return NR_EINVAL;
	s->msg = m;
	s->cmd_next = s->reply_next = 0;
	s->accepted = 0;
	s->decided = 0;
	s->decided_code = 0;
	s->decided_text[0] = '\0';
	s->done_reported = 0;
	s->dot_only = 0;
	memset(s->rstat, 0, sizeof(s->rstat));

	/* Local checks that make the message fail before anything is sent. */
	if (m->eightbit && !(s->caps & NR_SMTPC_CAP_8BITMIME)) {
		snprintf(text, sizeof(text),
			 "554 5.6.3 8-bit content but %s does not offer 8BITMIME", s->p.relay);
		goto local_fail;
	}
	if (s->size_limit && m->size > s->size_limit) {
		snprintf(text, sizeof(text), "552 5.3.4 message size %s exceeds the limit %s of %s",
			 NR_U64(m->size), NR_U64(s->size_limit), s->p.relay);
		goto local_fail;
	}
	if (!path_ok(m->sender)) {
		snprintf(text, sizeof(text), "553 5.1.7 bad sender address syntax");
		goto local_fail;
	}
	for (i = 0; i < m->nrcpt; i++) {
		if (!m->rcpt[i]) {
			s->rstat[i] = R_SKIP;
		} else if (!m->rcpt[i][0] || !path_ok(m->rcpt[i])) {
			s->rstat[i] = R_SKIP;
			s->ops->rcpt_result(s->owner, i, 553,
					    "553 5.1.3 bad recipient address syntax");
		}
	}
	enter_state(s, S_TRANS);
	txn_pump(s);
	return 0;

local_fail:
	s->done_reported = 1;
	s->msg = NULL;
	s->ops->msg_done(s->owner, atoi(text), text);
	/* Still READY (ready() is not called again: the owner, which is in
	 * the middle of nr_smtpc_send(), just sends the next message). */
	return 0;
}

void nr_smtpc_quit(struct nr_smtpc *s)
{
	s->quit_requested = 1;
	if (s->state == S_READY)
		go_ready(s);
	else if (s->state < S_READY)
		finish(s, NR_SMTPC_END_QUIT, "closed before ready");
}
