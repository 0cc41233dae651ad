/*
 * queue.h - the message queue: a bounded, power-loss-safe ring of records on
 * a storage device (struct nr_bdev, store/bdev.h). The on-storage layout is
 * specified in
 * src/queue/FORMAT.md.
 *
 * Promises (DESIGN.md, "The queue"):
 *  - A commit callback reporting 0 means the message is durable ("250 means
 *    safe"). Commits requested in one loop turn share one sync.
 *  - Capacity is fixed; a full queue is NR_EFULL (452 4.3.1); a committed
 *    message is never overwritten to make room.
 *  - Bodies stream in: RAM use does not depend on message size. Several
 *    messages may be written at once (one writer per inbound session).
 *  - An aborted or unfinished message never surfaces, also after a power cut.
 *
 * Ownership: the queue borrows the nr_bdev (caller closes it after
 * nr_queue_close) and the loop. Strings passed in are copied.
 */
#ifndef NR_QUEUE_QUEUE_H
#define NR_QUEUE_QUEUE_H

#include <stddef.h>
#include <stdint.h>

#include "core/build.h"
#include "core/loop.h"
#include "platform.h"
#include "store/bdev.h"

struct nr_queue;
struct nr_qwriter;
struct nr_qreader;

typedef uint64_t nr_qid_t; /* unique, increasing; printed as 16 hex digits */

enum nr_rcpt_state {
	NR_RCPT_PENDING = 0,
	NR_RCPT_DELIVERED = 1,
	NR_RCPT_FAILED = 2, /* permanent failure (5xx) */
};

enum nr_msg_state {
	NR_MSG_PENDING = 0,
	NR_MSG_DONE = 1,       /* every recipient delivered or failed */
	NR_MSG_DEAD = 2,       /* expired or deleted; kept for inspection */
	NR_MSG_QUARANTINE = 3, /* CRC failed after commit: never sent */
};

enum { NR_QENV_8BIT = 1 }; /* body contains 8-bit data (BODY=8BITMIME) */

/* The envelope given at begin. */
struct nr_qenvelope {
	const char *sender;       /* "" for the null sender */
	const char *const *rcpts; /* nrcpt addresses */
	size_t nrcpt;
	int64_t arrival;     /* wall clock seconds */
	const char *client;  /* "[192.168.1.20]" or "local" */
	const char *auth_id; /* authenticated user or NULL */
	uint32_t flags;      /* NR_QENV_* */
};

/* What the index knows of a committed message (for delivery and mailq). */
struct nr_qinfo {
	nr_qid_t id;
	int64_t arrival;
	uint64_t body_size;
	enum nr_msg_state state;
	uint32_t flags;
	size_t nrcpt;
	size_t npending;          /* recipients still pending */
	unsigned attempts;        /* RAM only: 0 after a restart */
	uint64_t next_attempt_ms; /* RAM only: monotonic; 0 = due now */
	char last_error[160];     /* RAM only */
	int inflight;             /* being delivered right now */
};

struct nr_qstats {
	const char *backend; /* bdev name */
	int persistent;
	uint32_t sector_size, sector_count; /* the device's geometry */
	uint64_t capacity;                  /* bytes usable for records */
	uint64_t used;                      /* bytes held by live records */
	uint64_t free;
	size_t messages; /* pending messages */
	size_t dead;
	int64_t oldest_arrival;        /* 0 when empty */
	uint32_t erase_min, erase_max; /* erase counts seen this run (or from the format) */
	uint64_t bytes_programmed, erases, syncs; /* since open */
};

/* Open (recover) the queue on bd: scans, checks CRCs, drops torn or
 * uncommitted records, rebuilds the index. An empty or foreign device is
 * formatted. loop may be NULL: commits then sync before returning.
 *
 * The index is allocated here, once, for at most
 * CONFIG_NR_QUEUE_MAX_MESSAGES messages (pending, dead or quarantined, and
 * those being written; fewer on a small device, which cannot hold more):
 * a message beyond it is NR_EFULL at nr_queue_begin (452 4.3.1).
 * NR_EFULL here: the device holds more messages than the index takes (it
 * was written by a build with a larger CONFIG_NR_QUEUE_MAX_MESSAGES). No
 * message is dropped to fit and nothing is written: a build with a larger
 * setting recovers them all. NR_EINVAL (geometry), NR_ENOMEM, NR_EIO. */
int nr_queue_open(struct nr_queue **out, struct nr_bdev *bd, struct nr_loop *loop) NR_MUST_CHECK;
/* nr_queue_open with the index bounded to max_messages (0 or more than
 * CONFIG_NR_QUEUE_MAX_MESSAGES: the Kconfig ceiling). */
int nr_queue_open_max(struct nr_queue **out, struct nr_bdev *bd, struct nr_loop *loop,
		      size_t max_messages) NR_MUST_CHECK;
void nr_queue_close(struct nr_queue *q);

/* The sector size a device was formatted with: the first valid sector
 * header found at a multiple of bd->sector_size (open bd with the smallest
 * size you may have used) gives it. NR_ENOTFOUND on a device holding no
 * queue (new or erased), NR_EIO on a read error. Lets the caller pick a
 * sector size for a new device without stranding an existing queue. */
int nr_queue_probe_sector_size(struct nr_bdev *bd, uint32_t *sector_size) NR_MUST_CHECK;

/* ---- enqueue (inbound side) ---- */

/* Start a message. size_hint (0 = unknown) from SIZE=; NR_EFULL when it
 * cannot fit now, NR_ETOOBIG when it could never fit. */
int nr_queue_begin(struct nr_queue *q, const struct nr_qenvelope *env, uint64_t size_hint,
		   struct nr_qwriter **out) NR_MUST_CHECK;
/* Append body bytes (canonical form: CRLF lines, not dot-stuffed).
 * NR_EFULL when the ring is out of space (the writer is then dead: abort
 * it), NR_EIO. */
int nr_queue_append(struct nr_qwriter *w, const void *data, size_t len) NR_MUST_CHECK;
/* The body holds 8-bit data: the message is committed as an 8BITMIME one
 * (NR_QENV_8BIT) whatever its envelope said. Before nr_queue_commit. */
void nr_queue_set_8bit(struct nr_qwriter *w);

/* done(arg, result, id): result 0 means durable; NR_EIO means the sync
 * failed and the message is not accepted. Called from the loop's turn end
 * (or before nr_queue_commit returns when the queue has no loop). */
typedef void (*nr_qcommit_fn)(void *arg, int result, nr_qid_t id);

/* Seal the message and request durability. The writer is consumed. 0: done
 * will be called exactly once with the outcome; negative (NR_EFULL, NR_EIO,
 * NR_ENOMEM, NR_ESTATE after a failed append): nothing was committed and
 * done is not called. */
int nr_queue_commit(struct nr_qwriter *w, nr_qcommit_fn done, void *arg) NR_MUST_CHECK;
/* Run the group commit now: one sync covering every commit requested so far,
 * then each done callback (NR_EIO for all of them when the sync failed).
 * The loop's turn-end hook calls this; loop-less drivers in manual mode
 * call it themselves. Also syncs pending state marks. */
void nr_queue_flush(struct nr_queue *q);
/* Without a loop, commits sync before returning; with manual flush on, they
 * wait for nr_queue_flush() instead (an RTOS task's own turn end). */
void nr_queue_set_manual_flush(struct nr_queue *q, int on);
/* fn(arg) runs after each group commit that made at least one message
 * durable (after the done callbacks), so delivery can start at once.
 * fn NULL: none. One listener. */
void nr_queue_on_commit(struct nr_queue *q, void (*fn)(void *arg), void *arg);

/* Drop an unfinished message; the writer is consumed. NULL is ignored. */
void nr_queue_abort(struct nr_qwriter *w);

/* ---- delivery side ---- */

/* Oldest pending message due at now_ms (monotonic) and not in flight.
 * NR_ENOTFOUND when none. */
int nr_queue_next_due(struct nr_queue *q, uint64_t now_ms, nr_qid_t *id) NR_MUST_CHECK;
/* Earliest next_attempt_ms of pending messages, or UINT64_MAX. */
uint64_t nr_queue_next_wakeup(struct nr_queue *q);

int nr_queue_info(struct nr_queue *q, nr_qid_t id, struct nr_qinfo *out) NR_MUST_CHECK;
/* Envelope strings, valid until the message is marked done/dead/deleted. */
const char *nr_queue_sender(struct nr_queue *q, nr_qid_t id);
const char *nr_queue_rcpt(struct nr_queue *q, nr_qid_t id, size_t i, enum nr_rcpt_state *state);
const char *nr_queue_client(struct nr_queue *q, nr_qid_t id);
/* Authenticated identity given at begin, or NULL. */
const char *nr_queue_auth_id(struct nr_queue *q, nr_qid_t id);

/* Mark a message in flight (excluded from next_due) or not. */
void nr_queue_set_inflight(struct nr_queue *q, nr_qid_t id, int inflight);

/* Stream the body back. nr_qreader_read returns bytes (>0), 0 at the end,
 * NR_ECORRUPT (the message is quarantined), NR_EIO. */
int nr_queue_read_open(struct nr_queue *q, nr_qid_t id, struct nr_qreader **out) NR_MUST_CHECK;
long nr_qreader_read(struct nr_qreader *r, void *buf, size_t len);
void nr_qreader_close(struct nr_qreader *r);

/* Per-recipient outcome (a bit-clear on flash). When no recipient is left
 * pending the message becomes NR_MSG_DONE. */
int nr_queue_mark_rcpt(struct nr_queue *q, nr_qid_t id, size_t i,
		       enum nr_rcpt_state st) NR_MUST_CHECK;
int nr_queue_mark_done(struct nr_queue *q, nr_qid_t id) NR_MUST_CHECK;
int nr_queue_mark_dead(struct nr_queue *q, nr_qid_t id) NR_MUST_CHECK;
/* Record a failed attempt: attempts++, next attempt at next_ms, error text. */
void nr_queue_defer(struct nr_queue *q, nr_qid_t id, uint64_t next_ms, const char *error);
/* Make a deferred message due now without counting an attempt (its
 * smarthost answers again); attempts and the error text stay. */
void nr_queue_retry_now(struct nr_queue *q, nr_qid_t id);
/* Messages older than max_age_s (by wall clock now) become dead; fn is
 * called for each before it is marked. A message stored without a wall
 * clock (arrival 0) counts its age from the first call with now > 0.
 * Returns how many expired. */
int nr_queue_expire(struct nr_queue *q, int64_t now, uint64_t max_age_s,
		    void (*fn)(void *arg, nr_qid_t id), void *arg);

/* ---- inspection (mailq, delete, status) ---- */

/* Call fn for every pending or dead message in arrival order; stop early
 * when fn returns non-zero. */
int nr_queue_foreach(struct nr_queue *q, int (*fn)(void *arg, const struct nr_qinfo *info),
		     void *arg);
/* Delete (mark dead) by id. NR_ENOTFOUND. */
int nr_queue_delete(struct nr_queue *q, nr_qid_t id) NR_MUST_CHECK;
void nr_queue_stats(struct nr_queue *q, struct nr_qstats *out);

/* Format an id as 16 hex digits into dst (at least 17 bytes). */
const char *nr_qid_str(nr_qid_t id, char *dst);

#endif /* NR_QUEUE_QUEUE_H */
