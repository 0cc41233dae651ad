/*
 * queue_int.h - what the files of the queue share; not for other modules.
 *
 *   queue_format.c  the bytes: codec and layout (FORMAT.md 1.1, 2.1, 2.2)
 *   queue_ring.c    sectors, the write head, writers, the tail, compaction
 *   queue_read.c    reading a message's stream back
 *   queue_mark.c    the state area: recipient and message marks
 *   queue_recover.c recovery (FORMAT.md section 3), read-only
 *   queue.c         the queue API: the index, envelope cache, group commit
 *   queue_retry.c   retry bookkeeping: due, defer, expire
 *
 * Offsets named "absolute" are bytes from the start of the device.
 */
#ifndef NR_QUEUE_INT_H
#define NR_QUEUE_INT_H

#include <stdlib.h>
#include <string.h>

#include "queue/queue.h"
#include "queue/queue_format.h"

#define CHUNK 2048u   /* stream bytes a writer holds in RAM (FORMAT.md 2.2) */
#define MIN_SPLIT 64u /* smallest chunk worth a record at a sector's end */
/* Recovery tracks at most 4 ids per index entry of a ring with up to this
 * many entries (plus 1024): its RAM stays bounded on any image. */
#define MAX_ENTS_CEIL 65536u

struct sec {
	uint32_t seq;    /* 0: free */
	uint32_t refs;   /* pending messages and writers pinning this sector */
	uint32_t erases; /* from the header */
};

struct qenv {
	const char *sender, *client, *auth;
	const char **rcpt;
};

struct qent {
	nr_qid_t id;
	int64_t arrival;
	uint64_t body_size;
	uint32_t first, last; /* absolute offsets of the FIRST and LAST chunks */
	uint32_t state_off;   /* absolute offset of the state area */
	uint32_t env_len, nrec;
	uint16_t nrcpt, npending, state_len;
	uint8_t flags, state, inflight, hidden;
	/* A copy of the state area's meaningful bytes (1 + nrcpt/4, up to
	 * ST_MIRROR) when st_known: marks then program without reading the
	 * device first. Filled at seal or at the first read; 0 after a copy. */
	uint8_t st_known, st[7];
	unsigned attempts;
	uint64_t next_ms;
	char *last_error;
	struct qenv *env;
};

struct nr_qwriter {
	struct nr_queue *q;
	struct nr_qwriter *next, *prev;
	nr_qid_t id;
	int64_t arrival;
	uint32_t env_len, nrec, fill, first, first_sec, last_sec;
	uint64_t stream_len;
	uint16_t nrcpt, state_len;
	uint8_t flags, started, failed, compact;
	const uint8_t *state_init; /* compaction: the original state area */
	uint8_t *buf;              /* REC_HDR + payload + trailer + pad + state */
	struct qenv *env;          /* the envelope, for the entry (or NULL) */
};

struct pending_commit {
	nr_qid_t id;
	nr_qcommit_fn done;
	void *arg;
};

struct nr_queue {
	struct nr_bdev *bd;
	struct nr_loop *loop;
	uint32_t S, C, P, data_start;
	uint8_t sector_shift, prog_shift;
	struct sec *sec;
	int have_head, head_dirty, head_synced, compacting;
	uint32_t head, head_off, tail, next_seq;
	nr_qid_t next_id;
	/* The index, sorted by id: nents entries at ents, a window that starts
	 * ents_front entries into an allocation of cap (ents_mem), made at
	 * open for max_ents entries and a quarter more for the window. */
	struct qent *ents, *ents_mem;
	size_t nents, ents_front, cap, max_ents;
	size_t scan_limit; /* message ids recovery may track (bounds its RAM) */
	/* No message that may be sent (pending, committed, not in flight) is
	 * due before due_floor: next_due does not look while now is below it,
	 * and a backlog deferred through an outage costs nothing per dispatch.
	 * Lowered whenever a message may be sent from an earlier time; raised
	 * only by a full scan. due_exact: it is some such message's time. */
	uint64_t due_floor;
	int due_exact;
	struct nr_qwriter *writers;
	size_t nwriters;
	struct pending_commit *pend; /* commits waiting for the next sync */
	size_t npend, pend_cap;
	struct pending_commit *spare; /* an empty list kept for reuse */
	size_t spare_cap;
	uint64_t bytes_programmed, erases, syncs;
	size_t quarantined, damaged_sectors;
	int manual_flush, dirty_marks;
	struct nr_hook hook;
	size_t envs;                  /* entries holding a decoded envelope (qent.env) */
	void (*on_commit)(void *arg); /* after a group commit made mail durable */
	void *on_commit_arg;
};

struct nr_qreader {
	struct nr_queue *q;
	nr_qid_t id;
	uint32_t pos;       /* next record to examine */
	uint32_t end;       /* absolute offset just past the message's last record */
	uint32_t left_recs; /* records of this message still to visit */
	uint32_t rec_pay;   /* absolute offset of the current payload byte */
	uint32_t rec_left;  /* stream bytes left in the current record */
	uint64_t skip;      /* stream bytes to skip (the envelope) */
	uint64_t remain;    /* stream bytes still to return */
	uint32_t steps;
	/* Delivery readers (nr_queue_read_open) keep a piece of the device
	 * (queue_read.c): headers, the CRC pass and the body chunks of a
	 * small message then cost one device read instead of dozens. NULL:
	 * none. */
	uint8_t *cache;
	uint32_t cache_off, cache_len; /* cache_len 0: empty */
};

/* Bytes of device a delivery reader caches (RAM per message in flight,
 * i.e. per upstream connection). On a file the storage layer's read window
 * (store_combine.c) batches these reads into 32 KiB ones. */
#define QREADER_CACHE 4096u

/* Envelopes kept decoded from the commit on, so delivery does not read
 * them back from the device; past this many they are read when needed. */
#define ENV_KEEP 256

static inline uint32_t align_up(const struct nr_queue *q, uint32_t v)
{
	return (v + q->P - 1) & ~(q->P - 1);
}

static inline uint32_t align_down(const struct nr_queue *q, uint32_t v)
{
	return v & ~(q->P - 1);
}

static inline uint32_t next_sec(const struct nr_queue *q, uint32_t s)
{
	return s + 1 == q->C ? 0 : s + 1;
}

static inline uint32_t sec_dist(const struct nr_queue *q, uint32_t from, uint32_t to)
{
	return to >= from ? to - from : q->C - from + to;
}

static inline uint16_t state_len_for(const struct nr_queue *q, uint32_t nrcpt)
{
	return nr_ring_state_len(nrcpt, q->P);
}

/* Bytes of the state area that carry bits: the flags byte, then two bits
 * per recipient. The rest up to state_len is padding, always erased. */
static inline uint32_t state_bytes(const struct qent *e)
{
	return 1 + ((uint32_t)e->nrcpt + 3) / 4;
}

#define ST_MIRROR sizeof(((struct qent *)0)->st)

/* A pending message pins the sectors from its FIRST to its LAST chunk. */
static inline int ent_pins(const struct qent *e)
{
	return e->state == NR_MSG_PENDING;
}

/* Pending, visible and not being delivered: next_due may pick it. */
static inline int ent_sendable(const struct qent *e)
{
	return e->state == NR_MSG_PENDING && !e->hidden && !e->inflight;
}

/* ---- queue_ring.c ---- */

/* Device access, counted for nr_queue_stats. */
int nr_ring_dev_read(struct nr_queue *q, uint32_t off, void *buf, uint32_t len);
int nr_ring_dev_prog(struct nr_queue *q, uint32_t off, const void *buf, uint32_t len);
int nr_ring_dev_sync(struct nr_queue *q);
/* Add delta (+1/-1) to the pins of the sectors a..b (physical run). */
void nr_ring_refs_range(struct nr_queue *q, uint32_t a, uint32_t b, int delta);
/* Drop the pins of e (when it stops being pending). */
void nr_ring_release_refs(struct nr_queue *q, struct qent *e);
/* Move the tail past unpinned sectors; drop index entries of dead and
 * quarantined messages whose space went with it. */
void nr_ring_tail_advance(struct nr_queue *q);
uint64_t nr_ring_capacity(const struct nr_queue *q);
uint64_t nr_ring_used(const struct nr_queue *q);
/* A writer for message id with nrcpt recipients, linked into q->writers. */
struct nr_qwriter *nr_ring_writer_new(struct nr_queue *q, nr_qid_t id, uint32_t nrcpt);
void nr_ring_writer_unlink(struct nr_qwriter *w);
void nr_ring_writer_free(struct nr_qwriter *w);
/* Append stream bytes: full chunks go to the ring. NR_ESTATE after a
 * failure, NR_EFULL, NR_EIO. */
int nr_ring_stream_put(struct nr_qwriter *w, const void *data, size_t len);
/* Write the LAST chunk (trailer, state area): its offset and the state
 * area's. */
int nr_ring_stream_finish(struct nr_qwriter *w, uint32_t *last_at, uint32_t *state_at);

/* ---- queue_read.c ---- */

/* A reader of len stream bytes of e after skipping skip. No cache. 0. */
int nr_ring_reader_init(struct nr_queue *q, const struct qent *e, uint64_t skip, uint64_t len,
			struct nr_qreader *r);
/* Stream bytes into buf: >0, 0 at the end, NR_ECORRUPT (the message is
 * quarantined), NR_EIO. */
long nr_ring_reader_stream(struct nr_qreader *r, void *buf, size_t len);

/* ---- queue_mark.c ---- */

/* Byte `byte` of e's state area (from the mirror when known). */
int nr_ring_state_read_byte(struct nr_queue *q, struct qent *e, uint32_t byte, uint8_t *v);
/* Clear mask in byte `byte` of e's state area: one program, synced now
 * (no loop) or at the turn's end. */
int nr_ring_state_clear(struct nr_queue *q, struct qent *e, uint32_t byte, uint8_t mask);

/* Recipient i's state, from the state area. NR_EIO. */
int nr_queue_rcpt_state(struct nr_queue *q, struct qent *e, size_t i, enum nr_rcpt_state *st);

/* ---- queue_recover.c ---- */

/* Rebuild the ring state and the index from the device (FORMAT.md 3). */
int nr_queue_recover(struct nr_queue *q);

/* ---- queue.c ---- */

struct qent *nr_queue_ent_find(struct nr_queue *q, nr_qid_t id);
/* Room for one more index entry. NR_EFULL. */
int nr_queue_ents_reserve(struct nr_queue *q);
void nr_queue_ent_remove(struct nr_queue *q, struct qent *e);
/* A message failed its CRC after commit: never sent again. */
void nr_queue_quarantine(struct nr_queue *q, nr_qid_t id);
/* Ask the loop for a group commit at the end of this turn. */
void nr_queue_loop_request(struct nr_queue *q);

/* The entry of a visible (durable) message, or NULL. */
static inline struct qent *live_ent(struct nr_queue *q, nr_qid_t id)
{
	struct qent *e = nr_queue_ent_find(q, id);

	return e && !e->hidden ? e : NULL;
}

/* ---- queue_retry.c ---- */

/* e may be sent from e->next_ms on (it became sendable or was deferred). */
void nr_queue_due_lower(struct nr_queue *q, const struct qent *e);

#endif /* NR_QUEUE_INT_H */
