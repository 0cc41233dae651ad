/* delivery_sched.c - backoff, smarthost failover, outcomes, the digest. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/fmt.h"
#include "delivery/delivery_sched.h"

static void copy_str(char *dst, size_t size, const char *src)
{
	size_t n;

	if (size == 0)
		return;
	if (!src)
		src = "";
	n = strlen(src);
	if (n >= size)
		n = size - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

/* Copy for a log line or a mail body: control bytes become '?', so a peer's
 * reply text can neither break a log line nor inject a header. */
static void copy_clean(char *dst, size_t size, const char *src)
{
	size_t i;

	copy_str(dst, size, src);
	for (i = 0; dst[i]; i++) {
		unsigned char ch = (unsigned char)dst[i];
		if (ch < 0x20 || ch == 0x7f)
			dst[i] = '?';
	}
}

uint64_t nr_dsched_backoff(uint64_t min_ms, uint64_t max_ms, unsigned attempts, uint32_t rnd)
{
	uint64_t base = min_ms ? min_ms : 1;
	unsigned i;

	if (max_ms < base)
		max_ms = base;
	for (i = 1; i < attempts && base < max_ms; i++)
		base = base > max_ms / 2 ? max_ms : base * 2;
	if (base > max_ms)
		base = max_ms;
	/* Jitter down only: the configured maximum stays a maximum. */
	if (base / 4 > 0)
		base -= (uint64_t)rnd % (base / 4 + 1);
	return base ? base : 1;
}

void nr_dsched_init(struct nr_dsched *s, size_t nhosts, uint64_t retry_min_ms,
		    uint64_t retry_max_ms, unsigned max_connections)
{
	memset(s, 0, sizeof(*s));
	s->nhosts = NR_MIN(nhosts, (size_t)CONFIG_NR_MAX_SMARTHOSTS);
	s->retry_min_ms = retry_min_ms;
	s->retry_max_ms = retry_max_ms;
	s->probe_ms = NR_MIN(retry_min_ms, NR_DELIVERY_PROBE_MAX_MS);
	if (s->probe_ms == 0)
		s->probe_ms = 1;
	s->max_connections = max_connections ? max_connections : 1;
	if (s->max_connections > CONFIG_NR_MAX_UPSTREAM_CONNECTIONS)
		s->max_connections = CONFIG_NR_MAX_UPSTREAM_CONNECTIONS;
}

int nr_dsched_pick_host(const struct nr_dsched *s, uint64_t now)
{
	size_t i;

	for (i = 0; i < s->nhosts; i++) {
		const struct nr_dsched_host *h = &s->host[i];
		if (h->hold_until > now)
			continue; /* failing: fail over to the next one */
		if (h->connections >= s->max_connections)
			return -1; /* healthy but busy: wait for it */
		return (int)i;
	}
	return -1;
}

void nr_dsched_host_ok(struct nr_dsched *s, size_t i)
{
	struct nr_dsched_host *h = &s->host[i];

	h->state = NR_UPSTREAM_OK;
	h->failures = 0;
	h->hold_until = 0;
	h->probe_at = 0;
}

void nr_dsched_host_failed(struct nr_dsched *s, size_t i, uint64_t now, uint32_t rnd,
			   const char *error)
{
	struct nr_dsched_host *h = &s->host[i];

	h->failures++;
	h->state = NR_UPSTREAM_DEFERRING;
	h->hold_until = now + nr_dsched_backoff(s->retry_min_ms, s->retry_max_ms, h->failures, rnd);
	h->probe_at = NR_MIN(h->hold_until, now + s->probe_ms);
	copy_clean(h->last_error, sizeof(h->last_error), error);
}

void nr_dsched_host_auth_failed(struct nr_dsched *s, size_t i, uint64_t now, const char *error)
{
	struct nr_dsched_host *h = &s->host[i];

	h->failures++;
	h->state = NR_UPSTREAM_AUTH_FAILED;
	h->hold_until = now + NR_DELIVERY_AUTH_HOLD_MS;
	h->probe_at = h->hold_until; /* no probe: a wrong password stays held */
	copy_clean(h->last_error, sizeof(h->last_error), error);
}

uint64_t nr_dsched_host_wakeup(const struct nr_dsched *s, uint64_t now)
{
	uint64_t w = UINT64_MAX;
	size_t i;

	for (i = 0; i < s->nhosts; i++)
		if (s->host[i].hold_until > now && s->host[i].hold_until < w)
			w = s->host[i].hold_until;
	return w;
}

/* Held for a connection-level failure, its probe not yet sent. */
static int probing(const struct nr_dsched_host *h, uint64_t now)
{
	return h->state == NR_UPSTREAM_DEFERRING && h->hold_until > now &&
	       h->probe_at < h->hold_until;
}

int nr_dsched_probe_host(const struct nr_dsched *s, uint64_t now)
{
	size_t i;

	for (i = 0; i < s->nhosts; i++)
		if (probing(&s->host[i], now) && s->host[i].probe_at <= now &&
		    s->host[i].connections == 0)
			return (int)i;
	return -1;
}

uint64_t nr_dsched_probe_wakeup(const struct nr_dsched *s, uint64_t now)
{
	uint64_t w = UINT64_MAX;
	size_t i;

	for (i = 0; i < s->nhosts; i++)
		if (probing(&s->host[i], now) && s->host[i].probe_at > now &&
		    s->host[i].probe_at < w)
			w = s->host[i].probe_at;
	return w;
}

uint64_t nr_dsched_next_try(const struct nr_dsched *s, size_t i, uint64_t now)
{
	const struct nr_dsched_host *h = &s->host[i];

	if (h->hold_until <= now)
		return now;
	if (probing(h, now))
		return NR_MAX(h->probe_at, now);
	return h->hold_until;
}

uint64_t nr_dsched_next_try_any(const struct nr_dsched *s, uint64_t now)
{
	uint64_t w = UINT64_MAX;
	size_t i;

	for (i = 0; i < s->nhosts; i++)
		w = NR_MIN(w, nr_dsched_next_try(s, i, now));
	return w;
}

void nr_dsched_note_ok(struct nr_dsched *s, size_t i, int64_t wall)
{
	s->host[i].last_ok_at = wall;
}

void nr_dsched_note_error(struct nr_dsched *s, size_t i, int64_t wall, const char *error)
{
	s->host[i].last_error_at = wall;
	copy_clean(s->host[i].last_error, sizeof(s->host[i].last_error), error);
}

enum nr_dsched_outcome nr_dsched_classify(int code)
{
	if (code >= 200 && code <= 299)
		return NR_OUTCOME_DELIVERED;
	if (code >= 500 && code <= 599)
		return NR_OUTCOME_FAILED;
	return NR_OUTCOME_DEFERRED;
}

const char *nr_dsched_outcome_word(enum nr_dsched_outcome o)
{
	switch (o) {
	case NR_OUTCOME_DELIVERED:
		return "sent";
	case NR_OUTCOME_FAILED:
		return "bounced";
	case NR_OUTCOME_DEFERRED:
		break;
	}
	return "deferred";
}

/* "N.N.N" at p (class 2, 4 or 5, then 1-3 digits twice), ending at a
 * blank, a punctuation mark or the end. Returns its length or 0. */
static size_t dsn_at(const char *p)
{
	size_t i = 0, part, digits;

	if ((p[0] != '2' && p[0] != '4' && p[0] != '5') || p[1] != '.')
		return 0;
	i = 2;
	for (part = 0; part < 2; part++) {
		for (digits = 0; p[i] >= '0' && p[i] <= '9' && digits < 3; digits++)
			i++;
		if (digits == 0 || (part == 0 && p[i++] != '.'))
			return 0;
	}
	return p[i] == '\0' || p[i] == ' ' || p[i] == ',' || p[i] == ';' || p[i] == ')' ? i : 0;
}

char *nr_dsched_dsn(char *dst, size_t size, int code, const char *text)
{
	const char *p;
	size_t n;

	for (p = text ? text : ""; *p; p++) {
		if (p != text && p[-1] != ' ')
			continue;
		n = dsn_at(p);
		if (n && n < size) {
			memcpy(dst, p, n);
			dst[n] = '\0';
			return dst;
		}
	}
	if (code >= 200 && code <= 599)
		snprintf(dst, size, "%d.0.0", code / 100);
	else if (text && strstr(text, "expired"))
		snprintf(dst, size, "4.4.7");
	else if (text && (strstr(text, "lost connection") || strstr(text, "timed out")))
		snprintf(dst, size, "4.4.2");
	else
		snprintf(dst, size, "4.4.1");
	return dst;
}

char *nr_dsched_format_status(char *dst, size_t size, const struct nr_dsched_status *st)
{
	char to[96], orig[112], t[200], dsn[16], delays[48];

	copy_clean(to, sizeof(to), st->to);
	orig[0] = '\0';
	if (st->orig_to && strcmp(st->orig_to, st->to ? st->to : "") != 0) {
		char o[96];
		copy_clean(o, sizeof(o), st->orig_to);
		snprintf(orig, sizeof(orig), "orig_to=<%s>, ", o);
	}
	delays[0] = '\0';
	if (st->delays)
		snprintf(delays, sizeof(delays), "delays=%s, ", st->delays);
	copy_clean(t, sizeof(t), st->text);
	nr_dsched_dsn(dsn, sizeof(dsn), st->code, st->text);
	if (st->outcome == NR_OUTCOME_DEFERRED && dsn[0] == '5')
		dsn[0] = '4'; /* a 535 that holds the mail: temporary for this message */
	snprintf(dst, size, "%s: to=<%s>, %srelay=%s, delay=%s, %sdsn=%s, status=%s (%s)", st->id,
		 to, orig, st->relay ? st->relay : "none", NR_U64(st->delay_s), delays, dsn,
		 nr_dsched_outcome_word(st->outcome), t);
	return dst;
}

void nr_dsched_digest_init(struct nr_dsched_digest *d, uint64_t interval_ms)
{
	memset(d, 0, sizeof(*d));
	d->interval_ms = interval_ms;
}

int nr_dsched_digest_add(struct nr_dsched_digest *d, const char *id, const char *sender,
			 const char *rcpt, const char *reason)
{
	struct nr_dsched_digest_entry *e;

	/* Never a bounce of a bounce (RFC 5321 6.1): a message from <> is a
	 * report itself, its failure is only logged. */
	if (!sender || !sender[0])
		return 0;
	if (d->count >= NR_DELIVERY_DIGEST_MAX) {
		d->dropped++;
		return 1;
	}
	e = &d->e[d->count++];
	copy_clean(e->id, sizeof(e->id), id);
	copy_clean(e->sender, sizeof(e->sender), sender);
	copy_clean(e->rcpt, sizeof(e->rcpt), rcpt);
	copy_clean(e->reason, sizeof(e->reason), reason);
	return 1;
}

int nr_dsched_digest_due(const struct nr_dsched_digest *d, uint64_t now)
{
	if (d->count == 0 && d->dropped == 0)
		return 0;
	return !d->sent_any || now >= d->last_sent + d->interval_ms;
}

uint64_t nr_dsched_digest_wakeup(const struct nr_dsched_digest *d)
{
	if (d->count == 0 && d->dropped == 0)
		return UINT64_MAX;
	return d->sent_any ? d->last_sent + d->interval_ms : 0;
}

struct out {
	char *p;
	size_t size, len;
	int full;
};

static void out_printf(struct out *o, const char *fmt, ...) NR_PRINTF(2, 3);

static void out_printf(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (o->full)
		return;
	va_start(ap, fmt);
	n = vsnprintf(o->p + o->len, o->size - o->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= o->size - o->len) {
		o->full = 1;
		return;
	}
	o->len += (size_t)n;
}

long nr_dsched_digest_render(const struct nr_dsched_digest *d, char *dst, size_t size,
			     const char *hostname, const char *from, const char *admin,
			     const char *date, uint32_t msgid_rnd)
{
	struct out o = {dst, size, 0, 0};
	char host[64], adm[96], acct[256]; /* RFC 5321: a path is at most 256 */
	size_t i;

	if (size == 0)
		return NR_EFULL;
	copy_clean(host, sizeof(host), hostname && hostname[0] ? hostname : "localhost");
	copy_clean(adm, sizeof(adm), admin);
	copy_clean(acct, sizeof(acct), from);
	/* The providers refuse a From that is not the account they logged in
	 * as, so the digest says it is from that account. */
	if (acct[0])
		out_printf(&o, "From: \"nanorelay on %s\" <%s>\r\n", host, acct);
	else
		out_printf(&o, "From: Mail Delivery System <MAILER-DAEMON@%s>\r\n", host);
	out_printf(&o, "To: <%s>\r\n", adm);
	out_printf(&o, "Subject: nanorelay on %s: %lu message%s could not be delivered\r\n", host,
		   (unsigned long)(d->count + d->dropped), d->count + d->dropped == 1 ? "" : "s");
	out_printf(&o, "Date: %s\r\n", date);
	out_printf(&o, "Message-ID: <digest.%08lx@%s>\r\n", (unsigned long)msgid_rnd, host);
	out_printf(&o, "Auto-Submitted: auto-generated\r\n");
	out_printf(&o, "MIME-Version: 1.0\r\n");
	out_printf(&o, "Content-Type: text/plain; charset=us-ascii\r\n\r\n");
	out_printf(&o, "nanorelay on %s gave up on these recipients:\r\n\r\n", host);
	for (i = 0; i < d->count; i++) {
		const struct nr_dsched_digest_entry *e = &d->e[i];
		/* A leading dot is harmless (the stuffer handles it) but keep
		 * lines readable: every entry line starts with a space. */
		out_printf(&o, " %s from=<%s> to=<%s>\r\n    %s\r\n", e->id, e->sender, e->rcpt,
			   e->reason);
	}
	if (d->dropped)
		out_printf(&o, "\r\n and %lu more (see the log).\r\n", (unsigned long)d->dropped);
	/* The same words as `nanorelay status` and `mailq`: a refused message
	 * is gone, an expired one is counted as dead until its space is used. */
	out_printf(&o, "\r\nRefused messages have left the queue. Expired ones stay in it as dead "
		       "letters\r\n(counted as dead by `nanorelay status`, marked ! by `nanorelay "
		       "mailq`)\r\nuntil their space is needed.\r\n");
	if (o.full)
		return NR_EFULL;
	return (long)o.len;
}

void nr_dsched_digest_sent(struct nr_dsched_digest *d, uint64_t now)
{
	d->count = 0;
	d->dropped = 0;
	d->last_sent = now;
	d->sent_any = 1;
}
