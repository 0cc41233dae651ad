/*
 * ctl_text.c - status and mailq output, in text and JSON.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/fmt.h"
#include "core/mem.h"
#include "ctl/ctl_text.h"

void nr_ctl_out_init(struct nr_ctl_out *o, size_t max)
{
	memset(o, 0, sizeof(*o));
	o->max = max;
}

void nr_ctl_out_free(struct nr_ctl_out *o)
{
	nr_free(o->p);
	memset(o, 0, sizeof(*o));
}

/* Room for n more bytes plus the NUL; 0 when full (truncated is set). */
static int out_reserve(struct nr_ctl_out *o, size_t n)
{
	size_t want = o->len + n + 1, cap;
	char *p;

	if (o->truncated || o->nomem)
		return 0;
	if (o->len + n > o->max) {
		o->truncated = 1;
		return 0;
	}
	if (want <= o->cap)
		return 1;
	cap = o->cap ? o->cap : 1024;
	while (cap < want)
		cap *= 2;
	if (cap > o->max + 1)
		cap = o->max + 1;
	p = nr_realloc(o->p, cap);
	if (!p) {
		o->nomem = 1;
		return 0;
	}
	o->p = p;
	o->cap = cap;
	return 1;
}

static void out_put(struct nr_ctl_out *o, const char *s, size_t n)
{
	if (!out_reserve(o, n))
		return;
	memcpy(o->p + o->len, s, n);
	o->len += n;
	o->p[o->len] = '\0';
}

void nr_ctl_out_printf(struct nr_ctl_out *o, const char *fmt, ...)
{
	char small[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n < sizeof(small)) {
		out_put(o, small, (size_t)n);
		return;
	}
	if (!out_reserve(o, (size_t)n))
		return;
	va_start(ap, fmt);
	vsnprintf(o->p + o->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	o->len += (size_t)n;
}

void nr_ctl_out_note_cut(struct nr_ctl_out *o, const char *note)
{
	if (!o->truncated)
		return;
	o->truncated = 0;
	o->max = o->len + 200;
	nr_ctl_out_printf(o, "%s", note);
	o->truncated = 1;
}

void nr_ctl_out_text(struct nr_ctl_out *o, const char *s)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");

	for (; *p; p++) {
		if (*p < 0x20 || *p >= 0x7f || *p == '\\')
			nr_ctl_out_printf(o, "\\x%02x", *p);
		else
			out_put(o, (const char *)p, 1);
	}
}

void nr_ctl_out_json_str(struct nr_ctl_out *o, const char *s)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");

	out_put(o, "\"", 1);
	for (; *p; p++) {
		if (*p == '"')
			out_put(o, "\\\"", 2);
		else if (*p == '\\')
			out_put(o, "\\\\", 2);
		else if (*p == '\n')
			out_put(o, "\\n", 2);
		else if (*p == '\r')
			out_put(o, "\\r", 2);
		else if (*p == '\t')
			out_put(o, "\\t", 2);
		else if (*p < 0x20 || *p >= 0x7f)
			nr_ctl_out_printf(o, "\\u%04x", *p);
		else
			out_put(o, (const char *)p, 1);
	}
	out_put(o, "\"", 1);
}

char *nr_ctl_age(char *dst, size_t size, uint64_t s)
{
	uint64_t d = s / 86400;
	unsigned h = (unsigned)(s / 3600 % 24), m = (unsigned)(s / 60 % 60),
		 sec = (unsigned)(s % 60);

	if (d)
		snprintf(dst, size, "%sd%02uh", NR_U64(d), h);
	else if (h)
		snprintf(dst, size, "%uh%02um", h, m);
	else if (m)
		snprintf(dst, size, "%um%02us", m, sec);
	else
		snprintf(dst, size, "%us", sec);
	return dst;
}

const char *nr_ctl_upstream_word(enum nr_upstream_state s)
{
	switch (s) {
	case NR_UPSTREAM_OK:
		return "ok";
	case NR_UPSTREAM_DEFERRING:
		return "deferring";
	case NR_UPSTREAM_AUTH_FAILED:
		return "AUTH failed (held)";
	}
	return "?";
}

static const char *upstream_key(enum nr_upstream_state s)
{
	return s == NR_UPSTREAM_AUTH_FAILED ? "auth_failed"
	       : s == NR_UPSTREAM_DEFERRING ? "deferring"
					    : "ok";
}

static uint64_t oldest_age(const struct nr_ctl_status *st)
{
	if (!st->q.oldest_arrival || st->now <= st->q.oldest_arrival)
		return 0;
	return (uint64_t)(st->now - st->q.oldest_arrival);
}

/* "12s ago" for a wall time, "never" for 0. */
static void out_ago(struct nr_ctl_out *o, int64_t now, int64_t at)
{
	char age[32];

	if (!at)
		nr_ctl_out_printf(o, "never");
	else
		nr_ctl_out_printf(
		    o, "%s ago", nr_ctl_age(age, sizeof(age), now > at ? (uint64_t)(now - at) : 0));
}

/* The latest of a time over all smarthosts (0: none). */
static int64_t latest(const struct nr_ctl_status *st, int ok)
{
	int64_t t = 0;
	size_t i;

	for (i = 0; i < st->nup; i++)
		t = NR_MAX(t, ok ? st->up[i].last_ok_at : st->up[i].last_error_at);
	return t;
}

/* "  last delivery 3m02s ago, last error 12s ago", only once either happened. */
static void out_times(struct nr_ctl_out *o, const char *lead, int64_t now, int64_t ok, int64_t err)
{
	if (!ok && !err)
		return;
	nr_ctl_out_printf(o, "%slast delivery ", lead);
	out_ago(o, now, ok);
	nr_ctl_out_printf(o, ", last error ");
	out_ago(o, now, err);
	nr_ctl_out_printf(o, "\n");
}

static void status_upstream(struct nr_ctl_out *o, const struct nr_upstream_status *u, int64_t now)
{
	char age[32];

	nr_ctl_out_printf(o, "smarthost:   ");
	nr_ctl_out_text(o, u->host);
	nr_ctl_out_printf(o, ":%u %s", (unsigned)u->port, nr_ctl_upstream_word(u->state));
	if (u->failures)
		nr_ctl_out_printf(o, ", %u failure%s in a row", u->failures,
				  u->failures == 1 ? "" : "s");
	if (u->retry_in_ms)
		nr_ctl_out_printf(o, ", next try in %s",
				  nr_ctl_age(age, sizeof(age), (u->retry_in_ms + 999) / 1000));
	nr_ctl_out_printf(o, ", %u connection%s open\n", u->connections,
			  u->connections == 1 ? "" : "s");
	if (u->state == NR_UPSTREAM_AUTH_FAILED)
		nr_ctl_out_printf(o, "  the smarthost refused the password: fix it, then run "
				     "`nanorelay flush`\n");
	if (u->last_error[0]) {
		nr_ctl_out_printf(o, "  last error: ");
		nr_ctl_out_text(o, u->last_error);
		nr_ctl_out_printf(o, "\n");
	}
	out_times(o, "  ", now, u->last_ok_at, u->last_error_at);
}

void nr_ctl_format_status(struct nr_ctl_out *o, const struct nr_ctl_status *st)
{
	const struct nr_qstats *q = &st->q;
	char age[32];
	size_t i;
	unsigned pct = q->capacity ? (unsigned)(q->used * 100 / q->capacity) : 0;

	nr_ctl_out_printf(o, "nanorelay %s, up %s\n", st->version,
			  nr_ctl_age(age, sizeof(age), st->uptime_s));
	for (i = 0; i < st->nlisteners; i++)
		nr_ctl_out_printf(o, "listening:   %s\n", st->listeners[i]);
	nr_ctl_out_printf(o, "control:     ");
	nr_ctl_out_text(o, st->control_socket);
	nr_ctl_out_printf(
	    o, "\nqueue:       %s, %s\n", q->backend ? q->backend : "?",
	    q->persistent ? "persistent (survives a power cut)"
	    : q->backend && strcmp(q->backend, "ram") == 0
		? "in RAM (survives upstream outages, not a power cut)"
		: "persistent: no (on tmpfs or ramfs: lost at a power cut or reboot)");
	if (q->sector_count)
		nr_ctl_out_printf(o, "  sectors:   %lu of %lu bytes, erased %lu to %lu times\n",
				  (unsigned long)q->sector_count, (unsigned long)q->sector_size,
				  (unsigned long)q->erase_min, (unsigned long)q->erase_max);
	nr_ctl_out_printf(o,
			  "  capacity:  %s bytes, used %s (%u%%), free %s\n"
			  "  messages:  %lu pending, %lu dead",
			  NR_U64(q->capacity), NR_U64(q->used), pct, NR_U64(q->free),
			  (unsigned long)q->messages, (unsigned long)q->dead);
	if (q->messages)
		nr_ctl_out_printf(o, ", oldest %s", nr_ctl_age(age, sizeof(age), oldest_age(st)));
	nr_ctl_out_printf(o, "\n");
	if (st->nup == 0)
		nr_ctl_out_printf(o, "smarthost:   none configured (mail stays queued)\n");
	for (i = 0; i < st->nup; i++)
		status_upstream(o, &st->up[i], st->now);
	if (st->nup > 1)
		out_times(o, "delivery:    ", st->now, latest(st, 1), latest(st, 0));
	nr_ctl_out_printf(o, "counters:   ");
	for (i = 0; i < NR_STAT_COUNT; i++)
		nr_ctl_out_printf(o, " %s %s%s", nr_stats_name((enum nr_stat)i),
				  NR_U64(st->counters[i]), i + 1 < NR_STAT_COUNT ? "," : "\n");
}

/* A wall time as a JSON number (Unix seconds), null for never. */
static void json_time(struct nr_ctl_out *o, const char *key, int64_t at)
{
	if (at)
		nr_ctl_out_printf(o, ",\"%s\":%s", key, NR_I64(at));
	else
		nr_ctl_out_printf(o, ",\"%s\":null", key);
}

static void json_upstream(struct nr_ctl_out *o, const struct nr_upstream_status *u)
{
	nr_ctl_out_printf(o, "{\"host\":");
	nr_ctl_out_json_str(o, u->host);
	nr_ctl_out_printf(o,
			  ",\"port\":%u,\"state\":\"%s\",\"connections\":%u,\"failures\":%u,"
			  "\"retry_in_s\":%s,\"last_error\":",
			  (unsigned)u->port, upstream_key(u->state), u->connections, u->failures,
			  NR_U64((u->retry_in_ms + 999) / 1000));
	nr_ctl_out_json_str(o, u->last_error);
	json_time(o, "last_error_at", u->last_error_at);
	json_time(o, "last_success_at", u->last_ok_at);
	nr_ctl_out_printf(o, "}");
}

void nr_ctl_format_status_json(struct nr_ctl_out *o, const struct nr_ctl_status *st)
{
	const struct nr_qstats *q = &st->q;
	size_t i;

	nr_ctl_out_printf(o, "{\"version\":");
	nr_ctl_out_json_str(o, st->version);
	nr_ctl_out_printf(o, ",\"uptime_s\":%s,\"listeners\":[", NR_U64(st->uptime_s));
	for (i = 0; i < st->nlisteners; i++) {
		nr_ctl_out_printf(o, "%s", i ? "," : "");
		nr_ctl_out_json_str(o, st->listeners[i]);
	}
	nr_ctl_out_printf(o, "],\"control_socket\":");
	nr_ctl_out_json_str(o, st->control_socket);
	nr_ctl_out_printf(o, ",\"queue\":{\"backend\":");
	nr_ctl_out_json_str(o, q->backend);
	nr_ctl_out_printf(
	    o,
	    ",\"persistent\":%s,\"sectors\":%lu,\"sector_size\":%lu,\"erase_min\":%lu,"
	    "\"erase_max\":%lu,\"capacity\":%s,\"used\":%s,\"free\":%s,"
	    "\"messages\":%lu,\"dead\":%lu,\"oldest_age_s\":%s},\"smarthosts\":[",
	    q->persistent ? "true" : "false", (unsigned long)q->sector_count,
	    (unsigned long)q->sector_size, (unsigned long)q->erase_min, (unsigned long)q->erase_max,
	    NR_U64(q->capacity), NR_U64(q->used), NR_U64(q->free), (unsigned long)q->messages,
	    (unsigned long)q->dead, NR_U64(oldest_age(st)));
	for (i = 0; i < st->nup; i++) {
		nr_ctl_out_printf(o, "%s", i ? "," : "");
		json_upstream(o, &st->up[i]);
	}
	nr_ctl_out_printf(o, "]");
	json_time(o, "last_error_at", latest(st, 0));
	json_time(o, "last_success_at", latest(st, 1));
	nr_ctl_out_printf(o, ",\"counters\":{");
	for (i = 0; i < NR_STAT_COUNT; i++)
		nr_ctl_out_printf(o, "%s\"%s\":%s", i ? "," : "", nr_stats_name((enum nr_stat)i),
				  NR_U64(st->counters[i]));
	nr_ctl_out_printf(o, "}}\n");
}

static const char *rcpt_word(enum nr_rcpt_state s)
{
	return s == NR_RCPT_DELIVERED ? "delivered" : s == NR_RCPT_FAILED ? "bounced" : "pending";
}

/* Postfix's layout, with an age and a try count where Postfix prints the
 * arrival time: the sender on the id line, the last error in parentheses
 * below it, then one recipient per line. */
void nr_ctl_format_mailq_head(struct nr_ctl_out *o)
{
	nr_ctl_out_printf(o, "-Queue ID-------- --Size-- --Age-- Tries -Sender/Recipient-------\n");
}

void nr_ctl_format_mailq_entry(struct nr_ctl_out *o, const struct nr_ctl_msg *m)
{
	char id[17], age[32];
	size_t i;

	nr_ctl_out_printf(o, "%s%c %8s %7s %5u  ", nr_qid_str(m->id, id),
			  m->state == NR_MSG_DEAD ? '!'
			  : m->inflight           ? '*'
						  : ' ',
			  NR_U64(m->size), nr_ctl_age(age, sizeof(age), m->age_s), m->attempts);
	if (m->sender && m->sender[0])
		nr_ctl_out_text(o, m->sender);
	else
		nr_ctl_out_printf(o, "<>");
	nr_ctl_out_printf(o, "%s\n", m->state == NR_MSG_DEAD ? "  (dead: deleted or expired)" : "");
	if (m->last_error && m->last_error[0]) {
		nr_ctl_out_printf(o, "%42s(", "");
		nr_ctl_out_text(o, m->last_error);
		nr_ctl_out_printf(o, ")\n");
	} else if (m->since_start) {
		nr_ctl_out_printf(o, "%42s(no attempt since the daemon started)\n", "");
	}
	if (m->has_next && m->next_s)
		nr_ctl_out_printf(o, "%42snext try in %s\n", "",
				  nr_ctl_age(age, sizeof(age), m->next_s));
	else if (m->has_next && (m->attempts || m->since_start))
		nr_ctl_out_printf(o, "%42snext try now (as soon as a smarthost takes it)\n", "");
	for (i = 0; i < m->nrcpt && m->rcpt; i++) {
		enum nr_rcpt_state st = NR_RCPT_PENDING;
		const char *r = m->rcpt(m->arg, i, &st);

		nr_ctl_out_printf(o, "%42s", "");
		nr_ctl_out_text(o, r ? r : "?");
		nr_ctl_out_printf(o, " (%s)\n", rcpt_word(st));
	}
	nr_ctl_out_printf(o, "\n");
}

void nr_ctl_format_mailq_tail(struct nr_ctl_out *o, uint64_t bytes, size_t count, size_t dead)
{
	if (count == 0)
		nr_ctl_out_printf(o, "Mail queue is empty");
	else
		nr_ctl_out_printf(o, "-- %s Kbytes in %lu Request%s", NR_U64((bytes + 1023) / 1024),
				  (unsigned long)count, count == 1 ? "" : "s");
	if (dead)
		nr_ctl_out_printf(o, " (and %lu dead, marked !, kept for inspection)",
				  (unsigned long)dead);
	nr_ctl_out_printf(o, "%s\n", count ? "." : "");
}
