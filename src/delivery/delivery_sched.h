/*
 * delivery_sched.h - the delivery scheduler's pure logic (no I/O, no queue):
 * backoff with jitter, per-smarthost state and failover, outcome
 * classification, the failure digest for `admin`, and Postfix-style status
 * lines. Everything takes the time as an argument, so unit tests drive it on
 * a virtual clock. Internal to src/delivery; the daemon uses delivery.h.
 */
#ifndef NR_DELIVERY_DELIVERY_SCHED_H
#define NR_DELIVERY_DELIVERY_SCHED_H

#include <stddef.h>
#include <stdint.h>

#include "core/build.h"
#include "delivery/delivery.h"

/* How long an AUTH 535 holds a smarthost: long enough that a wrong password
 * never becomes an account-lockout storm. */
#define NR_DELIVERY_AUTH_HOLD_MS (60ull * 60 * 1000)
/* While a smarthost fails at the connection level (DNS, TCP, TLS,
 * greeting, EHLO), one probe connection goes to it at least this often
 * (or every retry minimum, when that is shorter) as long as mail waits,
 * whatever its backoff: when the probe gets through, everything deferred
 * is retried at once, so a recovered upstream never waits for the next
 * backoff step. */
#define NR_DELIVERY_PROBE_MAX_MS (60ull * 1000)

/* At most one failure digest per this interval. */
#define NR_DELIVERY_DIGEST_INTERVAL_MS (15ull * 60 * 1000)
/* Failures listed in one digest; more are counted, not listed. */
#define NR_DELIVERY_DIGEST_MAX CONFIG_NR_DIGEST_MAX

/* ---- backoff ---- */

/* Delay before attempt number attempts+1 after `attempts` failures (>= 1):
 * min doubling per failure, capped at max, then jittered down by up to a
 * quarter (rnd is a random 32-bit value) so retries of many messages spread
 * out. The result is in [base - base/4, base] with base = min(min<<(n-1),
 * max); never above max, never 0. */
uint64_t nr_dsched_backoff(uint64_t min_ms, uint64_t max_ms, unsigned attempts, uint32_t rnd);

/* ---- smarthost state and failover ---- */

struct nr_dsched_host {
	enum nr_upstream_state state;
	unsigned failures;     /* consecutive connection-level failures */
	unsigned connections;  /* open or opening */
	uint64_t hold_until;   /* monotonic ms; not used before it */
	uint64_t probe_at;     /* monotonic ms: a probe may go from then on */
	int64_t last_error_at; /* wall seconds of last_error; 0: none */
	int64_t last_ok_at;    /* wall seconds of the last delivery; 0: none */
	char last_error[NR_UPSTREAM_ERROR_MAX];
};

struct nr_dsched {
	uint64_t retry_min_ms, retry_max_ms;
	uint64_t probe_ms;        /* min(retry_min_ms, NR_DELIVERY_PROBE_MAX_MS) */
	unsigned max_connections; /* per smarthost */
	size_t nhosts;
	struct nr_dsched_host host[CONFIG_NR_MAX_SMARTHOSTS];
};

void nr_dsched_init(struct nr_dsched *s, size_t nhosts, uint64_t retry_min_ms,
		    uint64_t retry_max_ms, unsigned max_connections);

/* The smarthost a new connection should go to at now: the first in
 * configured order that is not held. A host that is usable but already at
 * max_connections makes the caller wait (-1): traffic only fails over when
 * a host is failing, it does not spill over because it is busy. -1 when
 * every host is held. */
int nr_dsched_pick_host(const struct nr_dsched *s, uint64_t now);

/* A session to host i was delivered to (or at least authenticated):
 * state ok, failures cleared. */
void nr_dsched_host_ok(struct nr_dsched *s, size_t i);
/* Connection-level failure (DNS, TCP, TLS, greeting, EHLO, AUTH other than
 * 535): host held with backoff, state deferring, error text kept. */
void nr_dsched_host_failed(struct nr_dsched *s, size_t i, uint64_t now, uint32_t rnd,
			   const char *error);
/* AUTH 535: the host is held for NR_DELIVERY_AUTH_HOLD_MS. */
void nr_dsched_host_auth_failed(struct nr_dsched *s, size_t i, uint64_t now, const char *error);
/* Earliest moment a held host becomes usable again, UINT64_MAX if none is
 * held (or all are usable). */
uint64_t nr_dsched_host_wakeup(const struct nr_dsched *s, uint64_t now);

/* The first host held for a connection-level failure (deferring, not an
 * AUTH hold) whose probe is due and that has no connection open, or -1.
 * The caller probes it only while mail waits. */
int nr_dsched_probe_host(const struct nr_dsched *s, uint64_t now);
/* Earliest probe still to come (UINT64_MAX: none). */
uint64_t nr_dsched_probe_wakeup(const struct nr_dsched *s, uint64_t now);
/* When host i is tried next: now when usable, its probe time while it
 * is deferring, the end of its hold otherwise. */
uint64_t nr_dsched_next_try(const struct nr_dsched *s, size_t i, uint64_t now);
/* When any host is tried next (the earliest of nr_dsched_next_try). */
uint64_t nr_dsched_next_try_any(const struct nr_dsched *s, uint64_t now);
/* For `status`: a recipient was delivered through host i (ok), or host i
 * gave an error (error text kept, control bytes cleaned); wall seconds. */
void nr_dsched_note_ok(struct nr_dsched *s, size_t i, int64_t wall);
void nr_dsched_note_error(struct nr_dsched *s, size_t i, int64_t wall, const char *error);

/* ---- outcomes ---- */

enum nr_dsched_outcome {
	NR_OUTCOME_DELIVERED = 0,
	NR_OUTCOME_DEFERRED = 1,
	NR_OUTCOME_FAILED = 2,
};

/* 2xx delivered, 5xx failed permanently, everything else (4xx, a timeout or
 * disconnect given as code 0, nonsense codes) deferred. */
enum nr_dsched_outcome nr_dsched_classify(int code);

/* "sent", "deferred", "bounced" (Postfix log vocabulary). */
const char *nr_dsched_outcome_word(enum nr_dsched_outcome o);

/* One delivery outcome for the log. */
struct nr_dsched_status {
	const char *id;
	const char *to;      /* the address sent upstream (after rewriting) */
	const char *orig_to; /* as queued; NULL or equal to `to`: not shown */
	const char *relay;   /* "host[addr]:port"; NULL: "none" */
	uint64_t delay_s;    /* since the message arrived */
	const char *delays;  /* "a/b/c/d" (Postfix: before queue, in queue,
				connection setup, transmission); NULL: not shown */
	enum nr_dsched_outcome outcome;
	int code;         /* the reply code, 0 when there was none */
	const char *text; /* the reply or what went wrong */
};

/* One Postfix-style line into dst, the form pflogsumm and logwatch parse:
 *   <id>: to=<a@x>, orig_to=<root>, relay=host[addr]:port, delay=12,
 *   delays=0/11/0.4/0.6, dsn=2.0.0, status=sent (250 2.0.0 Ok)
 * Addresses and text are cleaned of control bytes. Returns dst. */
char *nr_dsched_format_status(char *dst, size_t size, const struct nr_dsched_status *st);

/* The enhanced status code (RFC 3463) for the log: the first X.Y.Z in text
 * when the server gave one, else from the code's class (2.0.0, 4.0.0,
 * 5.0.0); no reply at all is 4.4.7 for an expired message, 4.4.2 after a
 * lost or timed-out connection and 4.4.1 otherwise. dst: at least 16 bytes. */
char *nr_dsched_dsn(char *dst, size_t size, int code, const char *text);

/* ---- the failure digest ---- */

struct nr_dsched_digest_entry {
	char id[17];
	char sender[96];
	char rcpt[96];
	char reason[160];
};

struct nr_dsched_digest {
	uint64_t interval_ms;
	uint64_t last_sent; /* monotonic ms of the last digest; 0 = never */
	int sent_any;
	size_t count;   /* entries listed */
	size_t dropped; /* failures beyond NR_DELIVERY_DIGEST_MAX */
	struct nr_dsched_digest_entry e[NR_DELIVERY_DIGEST_MAX];
};

void nr_dsched_digest_init(struct nr_dsched_digest *d, uint64_t interval_ms);
/* Note a permanent failure or expiry. A message from the null sender (a
 * report or bounce itself) is never reported: returns 0 and notes nothing.
 * Returns 1 when noted. */
int nr_dsched_digest_add(struct nr_dsched_digest *d, const char *id, const char *sender,
			 const char *rcpt, const char *reason);
/* 1 when a digest should be sent now: something is noted and the last one
 * was at least interval_ms ago. */
int nr_dsched_digest_due(const struct nr_dsched_digest *d, uint64_t now);
/* When the next digest may go (UINT64_MAX when nothing is noted). */
uint64_t nr_dsched_digest_wakeup(const struct nr_dsched_digest *d);
/* Render the digest message (headers + body, CRLF lines, canonical, not
 * dot-stuffed) into dst. from is the account it is sent as (the header
 * From, which Microsoft 365 and Gmail insist on); NULL or "" when there is
 * none: then MAILER-DAEMON@hostname. date is an RFC 5322 date string,
 * hostname names this relay, msgid_rnd makes the Message-ID unique. Always
 * Auto-Submitted: auto-generated (RFC 3834: no auto-replies to it).
 * Returns the length, or NR_EFULL when dst is too small (nothing usable
 * written). */
long nr_dsched_digest_render(const struct nr_dsched_digest *d, char *dst, size_t size,
			     const char *hostname, const char *from, const char *admin,
			     const char *date, uint32_t msgid_rnd);
/* The digest was enqueued: forget the entries, start the interval. */
void nr_dsched_digest_sent(struct nr_dsched_digest *d, uint64_t now);

#endif /* NR_DELIVERY_DELIVERY_SCHED_H */
