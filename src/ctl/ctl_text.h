/*
 * ctl_text.h - the text and JSON the control commands print. Pure
 * functions over plain structs (no queue, no loop), unit-tested in
 * tests/unit/ctl.
 *
 * Every string that came from outside (senders, recipients, upstream
 * replies) is escaped: in text, control bytes and bytes >= 0x7f show as
 * \xHH, so a hostile sender cannot move the terminal's cursor or forge a
 * line; in JSON, as RFC 8259 escapes (bytes >= 0x80 as \u00HH so the
 * output stays valid UTF-8 whatever came in).
 */
#ifndef NR_CTL_CTL_TEXT_H
#define NR_CTL_CTL_TEXT_H

#include <stddef.h>
#include <stdint.h>

#include "core/build.h"
#include "core/stats.h"
#include "delivery/delivery.h"
#include "queue/queue.h"

/* A growing string with a ceiling: once max is reached further output is
 * dropped and truncated is set (nothing is ever written past it). */
struct nr_ctl_out {
	char *p; /* NUL-terminated; NULL until the first byte */
	size_t len, cap, max;
	int truncated;
	int nomem;
};

void nr_ctl_out_init(struct nr_ctl_out *o, size_t max);
void nr_ctl_out_free(struct nr_ctl_out *o);
void nr_ctl_out_printf(struct nr_ctl_out *o, const char *fmt, ...) NR_PRINTF(2, 3);
/* When output was cut, append note anyway (up to 200 bytes past max) so
 * the reader knows; nothing when it was not cut. */
void nr_ctl_out_note_cut(struct nr_ctl_out *o, const char *note);
/* Append s with control bytes escaped (text form). */
void nr_ctl_out_text(struct nr_ctl_out *o, const char *s);
/* Append s as a JSON string literal, quotes included. */
void nr_ctl_out_json_str(struct nr_ctl_out *o, const char *s);

/* "3d04h", "5h02m", "12m05s", "42s". */
char *nr_ctl_age(char *dst, size_t size, uint64_t seconds);

struct nr_ctl_status {
	const char *version;
	uint64_t uptime_s;
	const char *const *listeners; /* "127.0.0.1:25 plain" */
	size_t nlisteners;
	const char *control_socket;
	struct nr_qstats q;
	int64_t now; /* wall clock, for the oldest message's age */
	const struct nr_upstream_status *up;
	size_t nup;
	uint64_t counters[NR_STAT_COUNT];
};

void nr_ctl_format_status(struct nr_ctl_out *o, const struct nr_ctl_status *st);
void nr_ctl_format_status_json(struct nr_ctl_out *o, const struct nr_ctl_status *st);

/* One queued message as mailq shows it; rcpt(arg, i, &state) gives the
 * recipients. */
struct nr_ctl_msg {
	nr_qid_t id;
	uint64_t age_s;
	uint64_t size;
	enum nr_msg_state state;
	int inflight; /* being delivered now: marked '*' as in Postfix */
	const char *sender;
	size_t nrcpt;
	unsigned attempts;
	const char *last_error;
	/* Pending and not in flight: when it is tried next. */
	int has_next;    /* 0: no "next try" line (in flight, dead) */
	uint64_t next_s; /* seconds from now; 0: now (waits for a smarthost) */
	int since_start; /* queued before the daemon started and not tried
			    since: the reason was in RAM only */
	const char *(*rcpt)(void *arg, size_t i, enum nr_rcpt_state *state);
	void *arg;
};

void nr_ctl_format_mailq_head(struct nr_ctl_out *o);
void nr_ctl_format_mailq_entry(struct nr_ctl_out *o, const struct nr_ctl_msg *m);
/* The closing line: "-- 12 Kbytes in 3 Requests." or "Mail queue is empty";
 * count and bytes are pending messages, dead ones are mentioned apart. */
void nr_ctl_format_mailq_tail(struct nr_ctl_out *o, uint64_t bytes, size_t count, size_t dead);

/* Upstream state in words: "ok", "deferring", "AUTH failed (held)". */
const char *nr_ctl_upstream_word(enum nr_upstream_state s);

#endif /* NR_CTL_CTL_TEXT_H */
