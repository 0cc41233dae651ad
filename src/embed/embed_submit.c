/*
 * embed_submit.c - the in-firmware sendmail: a program streams a message
 * (envelope, then text) into the queue, and gets 0 only once it is
 * durable ("250 means safe", as for SMTP).
 *
 * The text takes the path of a local submission over SMTP, minus the
 * socket: the dot-stuffer (src/proto) turns it into wire form, the DATA
 * filter (src/proto) checks and canonicalises it into the queue writer,
 * smtpd writes the same Received: line and adds the same Date: and
 * Message-ID: headers, and judges the end the same way
 * (nr_smtpd_trace_begin, nr_smtpd_body_verdict).
 */
#include <stdio.h>
#include <string.h>

#include "core/fmt.h"
#include "core/log.h"
#include "core/panic.h"
#include "core/stats.h"
#include "embed/embed_int.h"
#include "queue/queue.h"
#include "smtpd/smtpd.h"

static int body_emit(void *arg, const void *data, size_t len)
{
	struct nr_submit *s = arg;

	return nr_queue_append(s->writer, data, len);
}

static int address_ok(const char *a, int empty_ok)
{
	size_t n;

	if (a == NULL)
		return 0;
	n = strlen(a);
	return (n > 0 || empty_ok) && n <= NR_PATH_MAX && nr_envelope_safe(a);
}

static void release(struct nr_submit *s)
{
	if (s->writer)
		nr_queue_abort(s->writer);
	s->writer = NULL;
	s->r->submit_open = 0;
}

int nr_relay_submit_begin(struct nr_relay *r, const char *from, const char *const *rcpts,
			  size_t nrcpt, uint64_t size_hint, struct nr_submit **out)
{
	const struct nr_conf *c = r->conf;
	struct nr_submit *s = &r->submit;
	struct nr_qenvelope env;
	struct nr_smtpd_trace trace;
	struct nr_body_conf bc;
	int64_t wall = 0;
	size_t i;
	int rc;

	*out = NULL;
	if (!r->running || r->sessions_closed)
		return NR_ESTATE;
	if (r->submit_open)
		return NR_EBUSY;
	if (!address_ok(from, 1) || rcpts == NULL || nrcpt == 0 || nrcpt > c->max_recipients ||
	    nrcpt > CONFIG_NR_MAX_RECIPIENTS)
		return NR_EINVAL;
	for (i = 0; i < nrcpt; i++) {
		if (!address_ok(rcpts[i], 0))
			return NR_EINVAL;
	}
	if (size_hint > c->max_message_size)
		return NR_ETOOBIG;
	if (nr_plat_wall_time(&wall) < 0)
		wall = 0;
	memset(&env, 0, sizeof(env));
	env.sender = from;
	env.rcpts = rcpts;
	env.nrcpt = nrcpt;
	env.arrival = wall;
	env.client = "local";
	memset(s, 0, sizeof(*s));
	s->r = r;
	rc = nr_queue_begin(r->queue, &env, size_hint, &s->writer);
	if (rc != 0) {
		s->writer = NULL;
		return rc;
	}
	r->submit_open = 1;
	/* as `sendmail` through the submit socket: EHLO localhost, local */
	trace.helo = "localhost";
	trace.peer = "local";
	trace.with = "ESMTP";
	trace.hostname = c->hostname;
	trace.rcpt = nrcpt == 1 ? rcpts[0] : NULL;
	trace.salt = nr_plat_now_ms();
	rc = nr_smtpd_trace_begin(s->writer, &trace, wall, s->date_hdr, sizeof(s->date_hdr),
				  s->msgid_hdr, sizeof(s->msgid_hdr));
	if (rc != 0) {
		release(s);
		return rc;
	}
	memset(&bc, 0, sizeof(bc));
	bc.max_size = c->max_message_size;
	bc.max_header = c->max_header_size;
	bc.date_header = s->date_hdr;
	bc.msgid_header = s->msgid_hdr;
	bc.emit = body_emit;
	bc.arg = s;
	nr_body_init(&s->body, &bc);
	nr_dotstuff_init(&s->stuff);
	*out = s;
	return 0;
}

/* The filter's flags as the API's codes (a refusal is final). */
static int body_error(const struct nr_submit *s)
{
	unsigned f = s->body.flags;

	if (f & NR_BODYF_NUL)
		return NR_EINVAL;
	if (f & (NR_BODYF_TOOBIG | NR_BODYF_HDRBIG))
		return NR_ETOOBIG;
	if (f & NR_BODYF_EMIT_ERR)
		return s->body.emit_err == NR_EFULL ? NR_EFULL : NR_EIO;
	return 0;
}

/* Wire bytes into the filter; they never hold the end of data (the
 * dot-stuffer doubles a leading dot). */
static int feed(struct nr_submit *s, const void *wire, size_t len)
{
	(void)nr_body_feed(&s->body, wire, len);
	if (s->body.flags & NR_BODYF_FATAL) {
		s->error = body_error(s);
		/* refused for sure: give the queue space back now */
		nr_queue_abort(s->writer);
		s->writer = NULL;
	}
	return s->error;
}

int nr_submit_write(struct nr_submit *s, const void *data, size_t len)
{
	const uint8_t *p = data;
	uint8_t wire[2 * 512 + 8];

	while (s->error == 0 && len > 0) {
		size_t used = 0, n = nr_dotstuff(&s->stuff, p, NR_MIN(len, (size_t)512), wire,
						 sizeof(wire), &used);

		p += used;
		len -= used;
		if (feed(s, wire, n) != 0)
			break;
	}
	return s->error;
}

static void commit_done(void *arg, int result, nr_qid_t id)
{
	struct nr_submit *s = arg;

	s->committed = 1;
	s->result = result;
	s->id = id;
}

/* The refusal at the end, as smtpd's reply code says it. */
static int verdict_error(int code)
{
	if (code == 552)
		return NR_ETOOBIG;
	if (code == 452)
		return NR_EFULL;
	if (code == 451)
		return NR_EIO;
	return NR_EINVAL;
}

int nr_submit_end(struct nr_submit *s, char *id, size_t id_size)
{
	struct nr_relay *r = s->r;
	const char *enh = NULL, *text = NULL;
	uint8_t end[8];
	char qid[17];
	struct nr_qwriter *w;
	struct nr_qinfo info;
	unsigned f;
	int code, rc;

	if (id != NULL && id_size > 0)
		id[0] = '\0';
	if (s->error == 0)
		(void)feed(s, end, nr_dotstuff_end(&s->stuff, end));
	if (s->error != 0) {
		rc = s->error;
		release(s);
		return rc;
	}
	NR_ASSERT(nr_body_done(&s->body));
	f = nr_body_finish(&s->body);
	code = nr_smtpd_body_verdict(&s->body, f, r->conf, &enh, &text);
	if (code != 0) {
		nr_info("submit: refused: %d %s %s", code, enh, text);
		release(s);
		return verdict_error(code);
	}
	if (f & NR_BODYF_8BIT)
		nr_queue_set_8bit(s->writer);
	w = s->writer;
	s->writer = NULL;
	rc = nr_queue_commit(w, commit_done, s);
	if (rc != 0) {
		release(s);
		return rc;
	}
	/* The group commit now, not at the turn end: one sync for this
	 * message and every commit in flight, then their callbacks. */
	if (!s->committed)
		nr_queue_flush(r->queue);
	NR_ASSERT(s->committed);
	release(s);
	if (s->result != 0) {
		nr_warn("submit: commit failed: %s", nr_strerror(s->result));
		return s->result;
	}
	nr_stats_inc(NR_STAT_ACCEPTED);
	nr_qid_str(s->id, qid);
	if (nr_queue_info(r->queue, s->id, &info) != 0)
		info.nrcpt = 0;
	/* as smtpd logs an acceptance (Postfix's client= and from= lines) */
	nr_info("%s: client=localhost", qid);
	nr_info("%s: from=<%s>, size=%s, nrcpt=%lu (queue active)", qid,
		nr_queue_sender(r->queue, s->id), NR_U64(s->body.size), (unsigned long)info.nrcpt);
	if (id != NULL && id_size > 0)
		snprintf(id, id_size, "%s", qid);
	return 0;
}

void nr_submit_abort(struct nr_submit *s)
{
	if (s == NULL)
		return;
	release(s);
}
