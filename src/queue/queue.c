/*
 * queue.c - the message ring (src/queue/FORMAT.md) and the queue API
 * (queue.h): recovery, streaming writers, group commit, delivery marks,
 * compaction, inspection.
 */
#include <stdlib.h>
#include <string.h>

#include "queue/queue.h"

#define SEC_HDR 32u
#define REC_HDR 24u
#define TRAILER 20u
#define CHUNK 2048u   /* stream bytes a writer holds in RAM */
#define MIN_SPLIT 64u /* smallest chunk worth a record at a sector's end */
#define SEC_MAGIC 0x3151524Eu
#define REC_MAGIC 0x51u
#define KIND_CHUNK 0x10u
#define F_FIRST 0x01u
#define F_LAST 0x02u
#define ST_DONE 0x01u
#define ST_DEAD 0x02u
#define MAX_ENTS_CEIL 65536u

/* ---- little-endian and CRC32 helpers ---------------------------------------- */

/* Slicing-by-8 (8 KiB of tables): eight bytes per step, the same CRC32
 * (IEEE, reflected) as one table would give. The payload CRC is most of
 * the queue's CPU time for large messages. */
static uint32_t crc_table[8][256];
static int crc_ready;

static void crc_init(void)
{
	uint32_t i, j, c;

	for (i = 0; i < 256; i++) {
		c = i;
		for (j = 0; j < 8; j++)
			c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
		crc_table[0][i] = c;
	}
	for (i = 0; i < 256; i++)
		for (j = 1; j < 8; j++)
			crc_table[j][i] =
			    (crc_table[j - 1][i] >> 8) ^ crc_table[0][crc_table[j - 1][i] & 0xFF];
	crc_ready = 1;
}

static uint32_t crc32_update(uint32_t crc, const void *data, size_t len)
{
	const uint8_t *p = data;

	crc = ~crc;
	for (; len >= 8; len -= 8, p += 8) {
		uint32_t lo = crc ^ ((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
				     (uint32_t)p[3] << 24);
		crc = crc_table[7][lo & 0xFF] ^ crc_table[6][(lo >> 8) & 0xFF] ^
		      crc_table[5][(lo >> 16) & 0xFF] ^ crc_table[4][lo >> 24] ^
		      crc_table[3][p[4]] ^ crc_table[2][p[5]] ^ crc_table[1][p[6]] ^
		      crc_table[0][p[7]];
	}
	while (len--)
		crc = crc_table[0][(crc ^ *p++) & 0xFF] ^ (crc >> 8);
	return ~crc;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)v);
	put16(p + 2, (uint16_t)(v >> 16));
}

static void put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)v);
	put32(p + 4, (uint32_t)(v >> 32));
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)get16(p) | ((uint32_t)get16(p + 2) << 16);
}

static uint64_t get64(const uint8_t *p)
{
	return (uint64_t)get32(p) | ((uint64_t)get32(p + 4) << 32);
}

/* ---- state ------------------------------------------------------------------------ */

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
	 * ents_front entries into an allocation of cap (ents_mem). */
	struct qent *ents, *ents_mem;
	size_t nents, ents_front, cap, max_ents;
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
	uint32_t left_recs; /* records of this message still to visit */
	uint32_t rec_pay;   /* absolute offset of the current payload byte */
	uint32_t rec_left;  /* stream bytes left in the current record */
	uint64_t skip;      /* stream bytes to skip (the envelope) */
	uint64_t remain;    /* stream bytes still to return */
	uint32_t steps;
	/* Delivery readers (nr_queue_read_open) keep one aligned block of
	 * the device: headers, the CRC pass and the body chunks of a small
	 * message then cost one device read instead of dozens. NULL: none. */
	uint8_t *cache;
	uint32_t cache_off, cache_len; /* cache_len 0: empty */
};

/* Bytes of device a delivery reader caches (RAM per message in flight,
 * i.e. per upstream connection). A power of two. */
#define QREADER_CACHE 4096u

static uint32_t align_up(const struct nr_queue *q, uint32_t v)
{
	return (v + q->P - 1) & ~(q->P - 1);
}

static uint32_t align_down(const struct nr_queue *q, uint32_t v)
{
	return v & ~(q->P - 1);
}

static uint32_t next_sec(const struct nr_queue *q, uint32_t s)
{
	return s + 1 == q->C ? 0 : s + 1;
}

static uint32_t sec_dist(const struct nr_queue *q, uint32_t from, uint32_t to)
{
	return to >= from ? to - from : q->C - from + to;
}

static uint16_t state_len_for(const struct nr_queue *q, uint32_t nrcpt)
{
	return (uint16_t)align_up(q, 1 + (nrcpt + 3) / 4);
}

/* ---- device access with counters ------------------------------------------------- */

static int dev_read(struct nr_queue *q, uint32_t off, void *buf, uint32_t len)
{
	return q->bd->read(q->bd, off, buf, len);
}

static int dev_prog(struct nr_queue *q, uint32_t off, const void *buf, uint32_t len)
{
	int ret = q->bd->prog(q->bd, off, buf, len);

	if (ret == 0)
		q->bytes_programmed += len;
	return ret;
}

static int dev_sync(struct nr_queue *q)
{
	int ret = q->bd->sync(q->bd);

	q->syncs++;
	if (ret == 0)
		q->head_synced = 1;
	return ret;
}

/* ---- index ------------------------------------------------------------------------ */

static struct qent *ent_find(struct nr_queue *q, nr_qid_t id)
{
	size_t lo = 0, hi = q->nents;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (q->ents[mid].id == id)
			return &q->ents[mid];
		if (q->ents[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* Room for one more entry at the end of the index. Delivery removes the
 * oldest entries, and ent_remove then moves the window's start rather than
 * every later entry; the space freed before the window is taken back here
 * once it is a quarter of the array, else the array doubles. Either costs
 * O(nents) now and then: O(1) per entry on average. */
static int ents_reserve(struct nr_queue *q)
{
	struct qent *n;
	size_t ncap;

	if (q->ents_front + q->nents < q->cap)
		return 0;
	if (q->ents_front > 0 && q->ents_front >= q->cap / 4) {
		memmove(q->ents_mem, q->ents, q->nents * sizeof(*q->ents));
		q->ents = q->ents_mem;
		q->ents_front = 0;
		return 0;
	}
	ncap = q->cap ? q->cap * 2 : 16;
	n = realloc(q->ents_mem, ncap * sizeof(*n));
	if (!n)
		return NR_ENOMEM;
	q->ents_mem = n;
	q->ents = n + q->ents_front;
	q->cap = ncap;
	return 0;
}

static struct qent *ent_insert(struct nr_queue *q, nr_qid_t id)
{
	size_t i;

	if (ents_reserve(q) != 0)
		return NULL;
	i = q->nents;
	while (i > 0 && q->ents[i - 1].id > id)
		i--;
	memmove(&q->ents[i + 1], &q->ents[i], (q->nents - i) * sizeof(*q->ents));
	q->nents++;
	memset(&q->ents[i], 0, sizeof(q->ents[i]));
	q->ents[i].id = id;
	return &q->ents[i];
}

/* Envelopes kept decoded from the commit on, so delivery does not read
 * them back from the device; past this many they are read when needed. */
#define ENV_KEEP 256

static void ent_free_cache(struct nr_queue *q, struct qent *e)
{
	if (e->env)
		q->envs--;
	free(e->last_error);
	free(e->env);
	e->last_error = NULL;
	e->env = NULL;
}

static void ent_remove(struct nr_queue *q, struct qent *e)
{
	size_t i = (size_t)(e - q->ents);

	ent_free_cache(q, e);
	if (i < q->nents / 2) {
		/* nearer the start (the oldest, as delivery goes): move the
		 * entries before it up one and start the window later */
		memmove(&q->ents[1], &q->ents[0], i * sizeof(*q->ents));
		q->ents++;
		q->ents_front++;
	} else {
		memmove(&q->ents[i], &q->ents[i + 1], (q->nents - i - 1) * sizeof(*q->ents));
	}
	q->nents--;
	q->due_exact = 0; /* it may have been the earliest */
}

static int sendable(const struct qent *e)
{
	return e->state == NR_MSG_PENDING && !e->hidden && !e->inflight;
}

/* e may be sent from e->next_ms on (it became sendable or was deferred). */
static void due_lower(struct nr_queue *q, const struct qent *e)
{
	if (e->next_ms <= q->due_floor) {
		q->due_floor = e->next_ms;
		q->due_exact = sendable(e);
	}
}

/* A decoded envelope in one allocation: the struct, the recipient
 * pointers, then the strings (strbytes, NULs included). */
static struct qenv *env_alloc(size_t nrcpt, size_t strbytes, char **strs)
{
	struct qenv *env = malloc(sizeof(*env) + nrcpt * sizeof(char *) + strbytes);

	if (!env)
		return NULL;
	env->rcpt = (const char **)(env + 1);
	*strs = (char *)(env->rcpt + nrcpt);
	return env;
}

static const char *env_put(char **strs, const char *src)
{
	size_t len = src ? strlen(src) : 0;
	char *dst = *strs;

	memcpy(dst, src ? src : "", len);
	dst[len] = 0;
	*strs += len + 1;
	return dst;
}

/* The same envelope decoded from what nr_queue_begin was given. */
static struct qenv *env_from(const struct nr_qenvelope *in, size_t envsz)
{
	char *strs;
	struct qenv *env = env_alloc(in->nrcpt, envsz + 3 + in->nrcpt, &strs);
	size_t i;

	if (!env)
		return NULL;
	env->sender = env_put(&strs, in->sender);
	env->client = env_put(&strs, in->client);
	env->auth = env_put(&strs, in->auth_id);
	for (i = 0; i < in->nrcpt; i++)
		env->rcpt[i] = env_put(&strs, in->rcpts[i]);
	return env;
}

/* ---- sector references and the tail ---------------------------------------------- */

static void refs_range(struct nr_queue *q, uint32_t a, uint32_t b, int delta)
{
	uint32_t i = a, n;

	for (n = 0; n < q->C; n++) {
		if (delta > 0)
			q->sec[i].refs++;
		else if (q->sec[i].refs > 0)
			q->sec[i].refs--;
		if (i == b)
			break;
		i = next_sec(q, i);
	}
}

static int pins(const struct qent *e)
{
	return e->state == NR_MSG_PENDING;
}

static int in_live(const struct nr_queue *q, uint32_t s)
{
	return q->have_head && sec_dist(q, q->tail, s) <= sec_dist(q, q->tail, q->head);
}

static void tail_advance(struct nr_queue *q)
{
	size_t i;

	if (!q->have_head)
		return;
	while (q->tail != q->head && q->sec[q->tail].refs == 0)
		q->tail = next_sec(q, q->tail);
	if (q->compacting)
		return;
	/* Dead and quarantined messages stay listed until their space goes. */
	for (i = 0; i < q->nents;) {
		struct qent *e = &q->ents[i];
		if (!pins(e) && !e->hidden && !in_live(q, e->first / q->S))
			ent_remove(q, e);
		else
			i++;
	}
}

/* ---- opening sectors --------------------------------------------------------------- */

static int compact(struct nr_queue *q);
static void nr_queue_loop_request(struct nr_queue *q);

/* Open the next sector as the write head. compact_mode may use the last
 * reserve sector (FORMAT.md section 1.2). NR_EFULL when no sector may be
 * opened. */
static int ring_advance(struct nr_queue *q, int compact_mode)
{
	uint8_t h[SEC_HDR], old[SEC_HDR];
	uint32_t n, seq, floor, erases = 0;
	int ret;

	if (q->have_head) {
		tail_advance(q);
		n = next_sec(q, q->head);
		if (in_live(q, n) || in_live(q, next_sec(q, n)))
			return NR_EFULL;
		if (!compact_mode && in_live(q, next_sec(q, next_sec(q, n)))) {
			/* the caller looks at the head again: compaction may
			 * have opened a sector, or freed the tail */
			if (q->compacting || compact(q) != 0)
				return NR_EFULL;
			return 0;
		}
		/* The head's header (whose floor frees n) must be durable
		 * before n is erased. */
		if (!q->head_synced) {
			ret = dev_sync(q);
			if (ret)
				return ret;
		}
		seq = q->next_seq;
		floor = q->sec[q->tail].refs ? q->sec[q->tail].seq : seq;
	} else {
		n = 0;
		seq = q->next_seq;
		floor = seq;
	}
	if (dev_read(q, n * q->S, old, SEC_HDR) == 0 && get32(old) == SEC_MAGIC &&
	    get32(old + 28) == crc32_update(0, old, 28))
		erases = get32(old + 16);
	else
		erases = q->sec[n].erases;
	q->have_head = 1;
	q->head = n;
	q->head_dirty = 1;
	q->head_off = q->data_start;
	q->head_synced = 0;
	q->sec[n].seq = 0;
	ret = q->bd->erase(q->bd, n);
	if (ret)
		return ret;
	q->erases++;
	memset(h, 0xFF, sizeof(h));
	put32(h, SEC_MAGIC);
	h[4] = 1;
	h[5] = q->sector_shift;
	h[6] = q->prog_shift;
	put32(h + 8, seq);
	put32(h + 12, floor);
	put32(h + 16, erases + 1);
	put64(h + 20, q->next_id);
	put32(h + 28, crc32_update(0, h, 28));
	q->next_seq = seq + 1; /* consumed even if the program fails */
	{
		uint8_t hb[64 + SEC_HDR];
		uint32_t len = align_up(q, SEC_HDR);
		memset(hb, 0xFF, len);
		memcpy(hb, h, SEC_HDR);
		ret = dev_prog(q, n * q->S, hb, len);
	}
	if (ret)
		return ret;
	q->sec[n].seq = seq;
	q->sec[n].erases = erases + 1;
	q->sec[n].refs = 0;
	if (floor == seq)
		q->tail = n;
	q->head_dirty = 0;
	return 0;
}

static uint32_t head_space(const struct nr_queue *q)
{
	if (!q->have_head || q->head_dirty)
		return 0;
	return q->S - q->head_off;
}

/* Program the record built in w->buf (header space + len payload bytes,
 * followed by pad and state when total says so) at the head. */
static int ring_put(struct nr_queue *q, struct nr_qwriter *w, uint8_t kind, uint32_t len,
		    uint16_t state_len, uint32_t total, uint32_t *at)
{
	uint8_t *r = w->buf;
	uint32_t off = q->head * q->S + q->head_off;
	int ret;

	r[0] = REC_MAGIC;
	r[1] = kind;
	put16(r + 2, state_len);
	put32(r + 4, len);
	put64(r + 8, w->id);
	put32(r + 16, crc32_update(0, r + REC_HDR, len));
	put32(r + 20, crc32_update(0, r, 20));
	/* A fresh state area is all 0xFF, which the erased flash already holds:
	 * leave it unprogrammed (fewer bytes written). Compaction carries states
	 * over, so then it is programmed with the record. */
	ret = dev_prog(q, off, r, w->state_init ? total : total - state_len);
	if (ret) {
		q->head_dirty = 1;
		return ret;
	}
	q->head_off += total;
	*at = off;
	/* pin the sectors this writer now spans */
	if (!w->started) {
		w->started = 1;
		w->first = off;
		w->first_sec = w->last_sec = q->head;
		q->sec[q->head].refs++;
	} else if (w->last_sec != q->head) {
		refs_range(q, next_sec(q, w->last_sec), q->head, +1);
		w->last_sec = q->head;
	}
	w->nrec++;
	return 0;
}

/* Write one non-final chunk from the writer's buffer, as large as the head
 * allows (a multiple of P with its header, so no padding). */
static int flush_some(struct nr_qwriter *w)
{
	struct nr_queue *q = w->q;
	uint32_t space, k, at, tries;
	int ret;

	for (tries = 0; tries < 3; tries++) {
		space = head_space(q);
		k = align_down(q, REC_HDR + w->fill);
		k = NR_MIN(k, space);
		if (k > REC_HDR && (k - REC_HDR >= MIN_SPLIT || k - REC_HDR >= w->fill))
			break;
		ret = ring_advance(q, w->compact);
		if (ret)
			return ret;
	}
	if (tries == 3)
		return NR_EFULL;
	k -= REC_HDR;
	ret = ring_put(q, w, (uint8_t)(KIND_CHUNK | (w->nrec == 0 ? F_FIRST : 0)), k, 0,
		       REC_HDR + k, &at);
	if (ret)
		return ret;
	w->stream_len += k;
	memmove(w->buf + REC_HDR, w->buf + REC_HDR + k, w->fill - k);
	w->fill -= k;
	return 0;
}

static int stream_put(struct nr_qwriter *w, const void *data, size_t len)
{
	const uint8_t *p = data;
	int ret;

	if (w->failed)
		return NR_ESTATE;
	while (len > 0) {
		size_t n = NR_MIN(len, (size_t)(CHUNK - w->fill));
		memcpy(w->buf + REC_HDR + w->fill, p, n);
		w->fill += (uint32_t)n;
		p += n;
		len -= n;
		while (w->fill == CHUNK) {
			ret = flush_some(w);
			if (ret) {
				w->failed = 1;
				return ret;
			}
		}
	}
	return 0;
}

/* Write the LAST chunk (with trailer and state area), splitting off
 * leading chunks while it does not fit. */
static int stream_finish(struct nr_qwriter *w, uint32_t *last_at, uint32_t *state_at)
{
	struct nr_queue *q = w->q;
	uint32_t need = 0, pay = 0, n, i;
	uint8_t *t;
	int ret;

	for (n = 0; n < 4 * q->C + CHUNK; n++) {
		pay = w->fill + TRAILER;
		need = align_up(q, REC_HDR + pay) + w->state_len;
		if (need <= head_space(q))
			break;
		if (head_space(q) >= REC_HDR + MIN_SPLIT && w->fill >= MIN_SPLIT + q->P) {
			ret = flush_some(w);
			if (ret)
				return ret;
			continue;
		}
		ret = ring_advance(q, w->compact);
		if (ret)
			return ret;
	}
	if (need > head_space(q))
		return NR_EFULL;
	t = w->buf + REC_HDR + w->fill;
	put64(t, (uint64_t)w->arrival);
	put32(t + 8, w->env_len);
	put32(t + 12, w->nrec + 1);
	put16(t + 16, w->nrcpt);
	t[18] = w->flags;
	t[19] = 0xFF;
	i = REC_HDR + pay;
	memset(w->buf + i, 0xFF, need - i);
	if (w->state_init)
		memcpy(w->buf + need - w->state_len, w->state_init, w->state_len);
	ret = ring_put(q, w, (uint8_t)(KIND_CHUNK | F_LAST | (w->nrec == 0 ? F_FIRST : 0)), pay,
		       w->state_len, need, last_at);
	if (ret)
		return ret;
	*state_at = *last_at + need - w->state_len;
	w->stream_len += w->fill;
	w->fill = 0;
	return 0;
}

static void writer_unlink(struct nr_qwriter *w)
{
	struct nr_queue *q = w->q;

	if (w->prev)
		w->prev->next = w->next;
	else if (q->writers == w)
		q->writers = w->next;
	if (w->next)
		w->next->prev = w->prev;
	w->next = w->prev = NULL;
	if (q->nwriters)
		q->nwriters--;
}

static void writer_free(struct nr_qwriter *w)
{
	if (!w)
		return;
	free(w->env);
	free(w->buf);
	free(w);
}

static struct nr_qwriter *writer_new(struct nr_queue *q, nr_qid_t id, uint32_t nrcpt)
{
	struct nr_qwriter *w = calloc(1, sizeof(*w));

	if (!w)
		return NULL;
	w->q = q;
	w->id = id;
	w->nrcpt = (uint16_t)nrcpt;
	w->state_len = state_len_for(q, nrcpt);
	w->buf = malloc(REC_HDR + CHUNK + TRAILER + 2 * q->P + w->state_len);
	if (!w->buf) {
		free(w);
		return NULL;
	}
	w->next = q->writers;
	if (q->writers)
		q->writers->prev = w;
	q->writers = w;
	q->nwriters++;
	return w;
}

/* ---- reading a message's stream ---------------------------------------------------- */

struct rechdr {
	uint8_t kind;
	uint16_t state_len;
	uint32_t len, pcrc;
	nr_qid_t id;
};

/* Parse a record header at in-sector offset off of a sector of size S.
 * 1 valid, 0 erased (clean end), -1 invalid (dirty end). */
static int parse_rechdr(const struct nr_queue *q, const uint8_t *b, uint32_t off, struct rechdr *h)
{
	uint32_t i;

	if (off + REC_HDR > q->S)
		return 0;
	if (b[0] != REC_MAGIC) {
		for (i = 0; i < REC_HDR; i++) {
			if (b[i] != 0xFF)
				return -1;
		}
		return 0;
	}
	if (get32(b + 20) != crc32_update(0, b, 20))
		return -1;
	h->kind = b[1];
	h->state_len = get16(b + 2);
	h->len = get32(b + 4);
	h->id = get64(b + 8);
	h->pcrc = get32(b + 16);
	if ((h->kind & 0xF0) != KIND_CHUNK || (h->kind & 0x0C) || h->len > q->S ||
	    (uint64_t)align_up(q, REC_HDR + h->len) + h->state_len > q->S - off ||
	    (h->state_len % q->P) || (h->state_len && !(h->kind & F_LAST)) ||
	    ((h->kind & F_LAST) && h->len < TRAILER))
		return -1;
	return 1;
}

/* A read on behalf of a reader: through its block cache when it has one.
 * Committed records never change under a reader (append-only; state
 * areas are not read through here), so the cache needs no invalidation. */
static int reader_dev_read(struct nr_qreader *r, uint32_t off, void *buf, uint32_t len)
{
	struct nr_queue *q = r->q;
	uint32_t blk = NR_MIN(QREADER_CACHE, q->S);
	uint8_t *dst = buf;

	if (!r->cache || len > blk)
		return dev_read(q, off, buf, len);
	/* A piece that crosses into the next block takes that block in: the
	 * rest of the message is most likely there. */
	while (len > 0) {
		uint32_t start = off & ~(blk - 1), n = NR_MIN(len, start + blk - off);
		if (r->cache_len == 0 || r->cache_off != start) {
			if (dev_read(q, start, r->cache, blk)) {
				r->cache_len = 0;
				return NR_EIO;
			}
			r->cache_off = start;
			r->cache_len = blk;
		}
		memcpy(dst, r->cache + (off - start), n);
		dst += n;
		off += n;
		len -= n;
	}
	return 0;
}

static int payload_crc_ok(struct nr_qreader *r, uint32_t off, uint32_t len, uint32_t want)
{
	uint8_t b[256];
	uint32_t crc = 0, n;

	while (len > 0) {
		n = NR_MIN(len, (uint32_t)sizeof(b));
		if (reader_dev_read(r, off, b, n))
			return NR_EIO;
		crc = crc32_update(crc, b, n);
		off += n;
		len -= n;
	}
	return crc == want ? 1 : 0;
}

static int reader_next_record(struct nr_qreader *r)
{
	struct nr_queue *q = r->q;
	uint8_t b[REC_HDR];
	struct rechdr h;
	uint32_t in;
	int v, ok;

	while (r->steps++ < 16u * q->C + (q->S / REC_HDR) * q->C) {
		in = r->pos % q->S;
		if (in < q->data_start) {
			/* the previous record ended exactly at a sector's end */
			r->pos = ((r->pos / q->S) % q->C) * q->S + q->data_start;
			continue;
		}
		if (in + REC_HDR > q->S) {
			v = 0;
		} else {
			if (reader_dev_read(r, r->pos, b, REC_HDR))
				return NR_EIO;
			v = parse_rechdr(q, b, in, &h);
		}
		if (v <= 0) {
			r->pos = next_sec(q, r->pos / q->S) * q->S + q->data_start;
			continue;
		}
		r->pos += align_up(q, REC_HDR + h.len) + h.state_len;
		if (h.id != r->id)
			continue;
		ok =
		    payload_crc_ok(r, r->pos - align_up(q, REC_HDR + h.len) - h.state_len + REC_HDR,
				   h.len, h.pcrc);
		if (ok < 0)
			return ok;
		if (!ok)
			return NR_ECORRUPT;
		r->rec_pay = r->pos - align_up(q, REC_HDR + h.len) - h.state_len + REC_HDR;
		r->rec_left = h.len - ((h.kind & F_LAST) ? TRAILER : 0);
		r->left_recs--;
		return 0;
	}
	return NR_ECORRUPT;
}

static void quarantine(struct nr_queue *q, nr_qid_t id);

/* Read stream bytes (after skip) into buf. >0, 0 at the end, negative. */
static long reader_stream(struct nr_qreader *r, void *buf, size_t len)
{
	uint8_t *out = buf;
	size_t got = 0;
	int ret;

	while (got < len && r->remain > 0) {
		if (r->rec_left == 0) {
			if (r->left_recs == 0)
				goto corrupt;
			ret = reader_next_record(r);
			if (ret == NR_ECORRUPT)
				goto corrupt;
			if (ret)
				return ret;
			continue;
		}
		if (r->skip > 0) {
			uint32_t n = (uint32_t)NR_MIN((uint64_t)r->rec_left, r->skip);
			r->skip -= n;
			r->rec_left -= n;
			r->rec_pay += n;
			continue;
		}
		{
			uint32_t n = (uint32_t)NR_MIN(
			    (uint64_t)NR_MIN((size_t)r->rec_left, len - got), r->remain);
			if (reader_dev_read(r, r->rec_pay, out + got, n))
				return NR_EIO;
			got += n;
			r->rec_pay += n;
			r->rec_left -= n;
			r->remain -= n;
		}
	}
	return (long)got;
corrupt:
	quarantine(r->q, r->id);
	return NR_ECORRUPT;
}

static int reader_init(struct nr_queue *q, const struct qent *e, uint64_t skip, uint64_t len,
		       struct nr_qreader *r)
{
	memset(r, 0, sizeof(*r));
	r->q = q;
	r->id = e->id;
	r->pos = e->first;
	r->left_recs = e->nrec;
	r->skip = skip;
	r->remain = len;
	return 0;
}

/* ---- state area marks ------------------------------------------------------------- */

/* Bytes of the state area that carry bits: the flags byte, then two bits
 * per recipient. The rest up to state_len is padding, always erased. */
static uint32_t state_bytes(const struct qent *e)
{
	return 1 + ((uint32_t)e->nrcpt + 3) / 4;
}

#define ST_MIRROR sizeof(((struct qent *)0)->st)

/* The mirror, read from the device when it is not known yet; NULL when
 * the message has too many recipients for it (then read the device). */
static const uint8_t *state_mirror(struct nr_queue *q, struct qent *e)
{
	if (state_bytes(e) > ST_MIRROR)
		return NULL;
	if (!e->st_known) {
		if (dev_read(q, e->state_off, e->st, state_bytes(e)) != 0)
			return NULL;
		e->st_known = 1;
	}
	return e->st;
}

static int state_read_byte(struct nr_queue *q, struct qent *e, uint32_t byte, uint8_t *v)
{
	const uint8_t *st = state_mirror(q, e);

	if (st) {
		*v = st[byte];
		return 0;
	}
	return dev_read(q, e->state_off + byte, v, 1);
}

/* Clear one bit of the state area: a program of the unit holding it. */
static int state_clear(struct nr_queue *q, struct qent *e, uint32_t byte, uint8_t mask)
{
	uint8_t unit[64];
	uint32_t at = align_down(q, e->state_off + byte), i;
	const uint8_t *st = state_mirror(q, e);
	int ret;

	if (st) {
		/* the unit lies inside the state area (P-aligned, P-sized) */
		for (i = 0; i < q->P; i++) {
			uint32_t k = at - e->state_off + i;
			unit[i] = k < state_bytes(e) ? st[k] : 0xFF;
		}
	} else {
		ret = dev_read(q, at, unit, q->P);
		if (ret)
			return ret;
	}
	if (!(unit[e->state_off + byte - at] & mask))
		return 0;
	/* program the merged unit: a backend may overwrite rather than AND */
	unit[e->state_off + byte - at] &= (uint8_t)~mask;
	ret = dev_prog(q, at, unit, q->P);
	if (ret)
		return ret;
	if (st)
		e->st[byte] &= (uint8_t)~mask;
	if (q->loop || q->manual_flush) {
		q->dirty_marks = 1;
		if (q->loop)
			nr_queue_loop_request(q);
	} else {
		ret = dev_sync(q);
	}
	return ret;
}

static void release_refs(struct nr_queue *q, struct qent *e)
{
	if (pins(e))
		refs_range(q, e->first / q->S, e->last / q->S, -1);
}

static void quarantine(struct nr_queue *q, nr_qid_t id)
{
	struct qent *e = ent_find(q, id);

	if (!e || e->state == NR_MSG_QUARANTINE)
		return;
	release_refs(q, e);
	e->state = NR_MSG_QUARANTINE;
	q->quarantined++;
}

/* ---- recovery --------------------------------------------------------------------- */

struct rinst {
	nr_qid_t id;
	uint8_t used, open, open_bad, committed;
	uint32_t o_first, o_nrec;
	uint64_t o_len;
	struct qent c;
	uint8_t c_bad;
	uint32_t bad_last, bad_first, bad_nrec, bad_state, bad_at; /* bad LAST: end offset */
	uint64_t bad_len;
};

struct rtab {
	struct rinst *v;
	size_t cap, n;
};

static uint32_t id_hash(nr_qid_t id)
{
	id ^= id >> 33;
	id *= 0xff51afd7ed558ccdULL;
	id ^= id >> 33;
	return (uint32_t)id;
}

static struct rinst *rtab_get(struct rtab *t, nr_qid_t id, size_t limit)
{
	size_t i;

	if ((t->n + 1) * 2 > t->cap) {
		struct rtab nt;
		size_t j;
		if (t->n >= limit)
			return NULL;
		nt.cap = t->cap ? t->cap * 2 : 64;
		nt.n = 0;
		nt.v = calloc(nt.cap, sizeof(*nt.v));
		if (!nt.v)
			return NULL;
		for (j = 0; j < t->cap; j++) {
			if (!t->v[j].used)
				continue;
			i = id_hash(t->v[j].id) & (nt.cap - 1);
			while (nt.v[i].used)
				i = (i + 1) & (nt.cap - 1);
			nt.v[i] = t->v[j];
			nt.n++;
		}
		free(t->v);
		*t = nt;
	}
	i = id_hash(id) & (t->cap - 1);
	while (t->v[i].used && t->v[i].id != id)
		i = (i + 1) & (t->cap - 1);
	if (!t->v[i].used) {
		memset(&t->v[i], 0, sizeof(t->v[i]));
		t->v[i].used = 1;
		t->v[i].id = id;
		t->n++;
	}
	return &t->v[i];
}

static int cmp_ent(const void *a, const void *b)
{
	const struct qent *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

/* Parse the records of one live sector held in buf. */
static int scan_sector(struct nr_queue *q, uint32_t s, const uint8_t *buf, struct rtab *t,
		       int is_head)
{
	uint32_t off = q->data_start, i;
	struct rechdr h;
	int v;

	for (;;) {
		v = parse_rechdr(q, buf + off, off, &h);
		if (v <= 0)
			break;
		{
			uint32_t at = s * q->S + off;
			const uint8_t *pay = buf + off + REC_HDR;
			int good = crc32_update(0, pay, h.len) == h.pcrc;
			struct rinst *r = rtab_get(t, h.id, 4 * q->max_ents + 1024);
			uint32_t slen;

			if (!r)
				return NR_ENOMEM;
			if (h.id >= q->next_id)
				q->next_id = h.id + 1;
			if (h.kind & F_FIRST) {
				r->open = 1;
				r->open_bad = 0;
				r->o_first = at;
				r->o_nrec = 0;
				r->o_len = 0;
			}
			if (r->open) {
				slen = h.len - ((h.kind & F_LAST) ? TRAILER : 0);
				r->o_nrec++;
				r->o_len += slen;
				if (!good)
					r->open_bad = 1;
				if ((h.kind & F_LAST) && !good) {
					/* torn commit (last record of the head) or
					 * rot after commit: decided after the scan */
					r->open = 0;
					r->bad_last =
					    at + align_up(q, REC_HDR + h.len) + h.state_len;
					r->bad_first = r->o_first;
					r->bad_nrec = r->o_nrec;
					r->bad_len = r->o_len;
					r->bad_state = at + align_up(q, REC_HDR + h.len);
					r->bad_at = at;
				}
				if ((h.kind & F_LAST) && good) {
					const uint8_t *tr = pay + h.len - TRAILER;
					const uint8_t *st =
					    buf + off + align_up(q, REC_HDR + h.len);
					struct qent *e = &r->c;
					uint32_t nrcpt = get16(tr + 16), k;

					r->open = 0;
					if (get32(tr + 12) != r->o_nrec || nrcpt == 0 ||
					    h.state_len != state_len_for(q, nrcpt) ||
					    get32(tr + 8) > r->o_len)
						goto next;
					memset(e, 0, sizeof(*e));
					e->id = h.id;
					e->arrival = (int64_t)get64(tr);
					e->env_len = get32(tr + 8);
					e->nrec = r->o_nrec;
					e->nrcpt = (uint16_t)nrcpt;
					e->flags = tr[18];
					e->body_size = r->o_len - e->env_len;
					e->first = r->o_first;
					e->last = at;
					e->state_off = at + align_up(q, REC_HDR + h.len);
					e->state_len = h.state_len;
					e->npending = 0;
					for (k = 0; k < nrcpt; k++) {
						uint8_t b = st[1 + k / 4];
						if ((b >> (2 * (k % 4)) & 3) == 3)
							e->npending++;
					}
					if (!(st[0] & ST_DONE) || e->npending == 0)
						e->state = NR_MSG_DONE;
					else if (!(st[0] & ST_DEAD))
						e->state = NR_MSG_DEAD;
					else
						e->state = NR_MSG_PENDING;
					r->c_bad = r->open_bad;
					r->committed = 1;
				}
			}
		}
	next:
		off += align_up(q, REC_HDR + h.len) + h.state_len;
	}
	if (v < 0 && !is_head)
		q->damaged_sectors++;
	if (is_head) {
		q->head_off = off;
		q->head_dirty = v < 0;
		for (i = off; i < q->S && !q->head_dirty; i++) {
			if (buf[i] != 0xFF)
				q->head_dirty = 1;
		}
	}
	return 0;
}

static int recover(struct nr_queue *q)
{
	uint8_t h[SEC_HDR];
	uint8_t *buf = NULL;
	struct rtab t = {0};
	uint32_t s, head = 0, floor = 0, n, chain[1];
	uint32_t *hdr_floor = NULL;
	int ret = NR_ENOMEM, found = 0;
	size_t i;

	buf = malloc(q->S);
	hdr_floor = calloc(q->C, sizeof(*hdr_floor));
	if (!buf || !hdr_floor)
		goto out;
	q->next_seq = 1;
	for (s = 0; s < q->C; s++) {
		ret = dev_read(q, s * q->S, h, SEC_HDR);
		if (ret)
			goto out;
		q->sec[s].seq = 0;
		if (get32(h) != SEC_MAGIC || h[4] != 1 || get32(h + 28) != crc32_update(0, h, 28))
			continue;
		if (h[5] != q->sector_shift || h[6] != q->prog_shift) {
			ret = NR_EINVAL;
			goto out;
		}
		q->sec[s].seq = get32(h + 8);
		q->sec[s].erases = get32(h + 16);
		hdr_floor[s] = get32(h + 12);
		if (get64(h + 20) > q->next_id)
			q->next_id = get64(h + 20);
		if (q->sec[s].seq == 0)
			continue;
		if (q->sec[s].seq >= q->next_seq)
			q->next_seq = q->sec[s].seq + 1;
		if (!found || q->sec[s].seq > q->sec[head].seq) {
			head = s;
			found = 1;
		}
	}
	ret = 0;
	if (!found)
		goto out;
	floor = hdr_floor[head];
	/* the live run: physical predecessors with consecutive seqs >= floor */
	chain[0] = head;
	for (n = 1; n < q->C - 1; n++) {
		uint32_t p = (chain[0] + q->C - 1) % q->C;
		if (q->sec[p].seq == 0 || q->sec[p].seq + 1 != q->sec[chain[0]].seq ||
		    q->sec[p].seq < floor)
			break;
		chain[0] = p;
	}
	for (s = 0; s < q->C; s++) {
		if (!(sec_dist(q, chain[0], s) <= sec_dist(q, chain[0], head)))
			q->sec[s].seq = 0;
	}
	q->have_head = 1;
	q->head = head;
	q->tail = chain[0];
	s = chain[0];
	for (n = 0; n < q->C; n++) {
		ret = dev_read(q, s * q->S, buf, q->S);
		if (ret)
			goto out;
		ret = scan_sector(q, s, buf, &t, s == head);
		if (ret)
			goto out;
		if (s == head)
			break;
		s = next_sec(q, s);
	}
	for (i = 0; i < t.cap; i++) {
		struct rinst *r = &t.v[i];
		struct qent *e;
		if (r->used && r->bad_last && !r->committed &&
		    r->bad_last != head * q->S + q->head_off) {
			/* a damaged commit mark that is not the torn end of the
			 * log: the message was committed, then rotted */
			memset(&r->c, 0, sizeof(r->c));
			r->c.id = r->id;
			r->c.first = r->bad_first;
			r->c.last = r->bad_at;
			r->c.state_off = r->bad_state;
			r->c.nrec = r->bad_nrec;
			r->c.state = NR_MSG_PENDING;
			r->committed = 1;
			r->c_bad = 1;
		}
		if (!r->used || !r->committed || r->c.state == NR_MSG_DONE)
			continue;
		if (q->nents >= q->max_ents)
			break;
		if (ents_reserve(q) != 0) {
			ret = NR_ENOMEM;
			goto out;
		}
		e = &q->ents[q->nents++];
		*e = r->c;
		if (r->c_bad && e->state == NR_MSG_PENDING) {
			e->state = NR_MSG_QUARANTINE;
			q->quarantined++;
		}
		if (pins(e))
			refs_range(q, e->first / q->S, e->last / q->S, +1);
	}
	if (q->nents > 1)
		qsort(q->ents, q->nents, sizeof(*q->ents), cmp_ent);
	tail_advance(q);
out:
	free(t.v);
	free(buf);
	free(hdr_floor);
	return ret;
}

/* ---- the loop: group commit at the end of a turn ------------------------------ */

static void turn_end(struct nr_loop *loop, void *arg)
{
	(void)loop;
	nr_queue_flush(arg);
}

static void nr_queue_loop_request(struct nr_queue *q)
{
	if (q->hook.fn == NULL) {
		q->hook.fn = turn_end;
		q->hook.arg = q;
	}
	nr_loop_at_turn_end(q->loop, &q->hook);
}

/* ---- open / close ----------------------------------------------------------------- */

static uint8_t log2u(uint32_t v)
{
	uint8_t r = 0;

	while (v > 1) {
		v >>= 1;
		r++;
	}
	return r;
}

int nr_queue_probe_sector_size(struct nr_bdev *bd, uint32_t *sector_size)
{
	uint8_t h[SEC_HDR];
	uint32_t s;

	if (!crc_ready)
		crc_init();
	for (s = 0; s < bd->sector_count; s++) {
		if (bd->read(bd, s * bd->sector_size, h, SEC_HDR) != 0)
			return NR_EIO;
		if (get32(h) != SEC_MAGIC || h[4] != 1 || get32(h + 28) != crc32_update(0, h, 28))
			continue;
		if (h[5] < 9 || h[5] > 24) /* 512 B .. 16 MiB: a header we never wrote */
			continue;
		*sector_size = 1u << h[5];
		return 0;
	}
	return NR_ENOTFOUND;
}

int nr_queue_open(struct nr_queue **out, struct nr_bdev *bd, struct nr_loop *loop)
{
	struct nr_queue *q = NULL;
	int ret = NR_EINVAL;
	uint64_t cap;

	*out = NULL;
	if (!crc_ready)
		crc_init();
	if (!bd || bd->sector_size < 512 || (bd->sector_size & (bd->sector_size - 1)) ||
	    bd->sector_size > (1u << 24) || bd->prog_size == 0 || bd->prog_size > 64 ||
	    (bd->prog_size & (bd->prog_size - 1)) || bd->sector_count < 5 ||
	    (uint64_t)bd->sector_size * bd->sector_count > UINT32_MAX)
		goto out;
	ret = NR_ENOMEM;
	q = calloc(1, sizeof(*q));
	if (!q)
		goto out;
	q->bd = bd;
	q->loop = loop;
	q->S = bd->sector_size;
	q->C = bd->sector_count;
	q->P = bd->prog_size;
	q->sector_shift = log2u(q->S);
	q->prog_shift = log2u(q->P);
	q->data_start = align_up(q, SEC_HDR);
	q->next_id = 1;
	cap = (uint64_t)(q->C - 3) * (q->S - q->data_start) / 48;
	q->max_ents = (size_t)NR_MAX(64, NR_MIN(cap, MAX_ENTS_CEIL));
	q->sec = calloc(q->C, sizeof(*q->sec));
	if (!q->sec)
		goto out;
	ret = recover(q);
	if (ret)
		goto out;
	*out = q;
	q = NULL;
out:
	nr_queue_close(q);
	return ret;
}

void nr_queue_close(struct nr_queue *q)
{
	size_t i;

	if (!q)
		return;
	while (q->writers) {
		struct nr_qwriter *w = q->writers;
		writer_unlink(w);
		writer_free(w);
	}
	for (i = 0; i < q->nents; i++)
		ent_free_cache(q, &q->ents[i]);
	free(q->ents_mem);
	free(q->sec);
	free(q->pend);
	free(q->spare);
	free(q);
}

/* ---- enqueue ---------------------------------------------------------------------- */

static uint64_t ring_capacity(const struct nr_queue *q)
{
	return (uint64_t)(q->C - 2) * (q->S - q->data_start);
}

static uint64_t ring_used(const struct nr_queue *q)
{
	if (!q->have_head)
		return 0;
	return (uint64_t)sec_dist(q, q->tail, q->head) * (q->S - q->data_start) +
	       (q->head_off - q->data_start);
}

static int put_str(struct nr_qwriter *w, const char *s, int wide)
{
	size_t n = s ? strlen(s) : 0;
	uint8_t l[2];
	int ret;

	if (n > (wide ? 0xFFFFu : 0xFFu))
		return NR_EINVAL;
	l[0] = (uint8_t)n;
	l[1] = (uint8_t)(n >> 8);
	ret = stream_put(w, l, wide ? 2 : 1);
	if (ret == 0 && n)
		ret = stream_put(w, s, n);
	w->env_len += (uint32_t)(n + (wide ? 2 : 1));
	return ret;
}

int nr_queue_begin(struct nr_queue *q, const struct nr_qenvelope *env, uint64_t size_hint,
		   struct nr_qwriter **out)
{
	struct nr_qwriter *w = NULL;
	int ret = NR_EINVAL;
	size_t i, envsz;

	*out = NULL;
	if (!env || !env->sender || env->nrcpt == 0 || env->nrcpt > 0xFFFF || !env->rcpts)
		goto out;
	envsz = 4 + strlen(env->sender) + (env->client ? strlen(env->client) : 0) +
		(env->auth_id ? strlen(env->auth_id) : 0);
	for (i = 0; i < env->nrcpt; i++) {
		if (!env->rcpts[i])
			goto out;
		envsz += 2 + strlen(env->rcpts[i]);
	}
	ret = NR_ETOOBIG;
	if (size_hint + envsz > ring_capacity(q) - q->S)
		goto out;
	ret = NR_EFULL;
	if (q->nents + q->nwriters >= q->max_ents)
		goto out;
	if (size_hint && size_hint + envsz > ring_capacity(q) - ring_used(q))
		goto out;
	ret = NR_ENOMEM;
	w = writer_new(q, q->next_id, (uint32_t)env->nrcpt);
	if (!w)
		goto out;
	q->next_id++;
	w->arrival = env->arrival;
	w->flags = (uint8_t)(env->flags & NR_QENV_8BIT);
	ret = put_str(w, env->sender, 1);
	if (ret == 0)
		ret = put_str(w, env->client, 0);
	if (ret == 0)
		ret = put_str(w, env->auth_id, 0);
	for (i = 0; ret == 0 && i < env->nrcpt; i++)
		ret = put_str(w, env->rcpts[i], 1);
	if (ret)
		goto out;
	if (q->envs + q->nwriters < ENV_KEEP)
		w->env = env_from(env, envsz); /* NULL only costs a read later */
	*out = w;
	w = NULL;
out:
	nr_queue_abort(w);
	return ret;
}

int nr_queue_append(struct nr_qwriter *w, const void *data, size_t len)
{
	if (!w)
		return NR_EINVAL;
	return stream_put(w, data, len);
}

void nr_queue_set_8bit(struct nr_qwriter *w)
{
	if (w)
		w->flags |= NR_QENV_8BIT;
}

void nr_queue_abort(struct nr_qwriter *w)
{
	if (!w)
		return;
	if (w->started)
		refs_range(w->q, w->first_sec, w->last_sec, -1);
	writer_unlink(w);
	writer_free(w);
}

/* Seal w; on success the entry exists (hidden until durable). */
static int seal(struct nr_qwriter *w, struct qent **out)
{
	struct nr_queue *q = w->q;
	struct qent *e;
	uint32_t last, state_at;
	int ret;

	if (w->failed)
		return NR_ESTATE;
	/* room in the index first: a sealed record must get its entry */
	if (ents_reserve(q) != 0)
		return NR_ENOMEM;
	ret = stream_finish(w, &last, &state_at);
	if (ret)
		return ret;
	e = ent_insert(q, w->id);
	if (!e)
		return NR_ENOMEM;
	e->arrival = w->arrival;
	e->body_size = w->stream_len - w->env_len;
	e->first = w->first;
	e->last = last;
	e->state_len = w->state_len;
	e->state_off = state_at;
	e->env_len = w->env_len;
	e->nrec = w->nrec;
	e->nrcpt = w->nrcpt;
	e->npending = w->nrcpt;
	e->flags = w->flags;
	e->state = NR_MSG_PENDING;
	if (w->env) {
		e->env = w->env;
		w->env = NULL;
		q->envs++;
	}
	if (state_bytes(e) <= ST_MIRROR) {
		memset(e->st, 0xFF, state_bytes(e)); /* committed erased */
		e->st_known = 1;
	}
	*out = e;
	return 0;
}

static void commit_failed(struct nr_queue *q, nr_qid_t id)
{
	struct qent *e = ent_find(q, id);

	if (!e)
		return;
	/* Best effort: a commit that was not acknowledged must not surface
	 * later should its bytes reach the device anyway. */
	(void)state_clear(q, e, 0, ST_DONE);
	release_refs(q, e);
	ent_remove(q, e);
}

int nr_queue_commit(struct nr_qwriter *w, nr_qcommit_fn done, void *arg)
{
	struct nr_queue *q;
	struct qent *e = NULL;
	nr_qid_t id;
	int ret;

	if (!w)
		return NR_EINVAL;
	q = w->q;
	id = w->id;
	ret = seal(w, &e);
	if (ret) {
		nr_queue_abort(w);
		return ret;
	}
	/* the writer's sector pins now belong to the entry */
	writer_unlink(w);
	writer_free(w);
	e->hidden = 1;
	if (q->npend == q->pend_cap) {
		size_t ncap = q->pend_cap ? q->pend_cap * 2 : 8;
		struct pending_commit *np = realloc(q->pend, ncap * sizeof(*np));
		if (!np) {
			commit_failed(q, id);
			return NR_ENOMEM;
		}
		q->pend = np;
		q->pend_cap = ncap;
	}
	q->pend[q->npend].id = id;
	q->pend[q->npend].done = done;
	q->pend[q->npend].arg = arg;
	q->npend++;
	if (q->loop)
		nr_queue_loop_request(q);
	else if (!q->manual_flush)
		nr_queue_flush(q);
	return 0;
}

/* Take the commits requested so far out of the queue; new ones (the done
 * callbacks may make any number) gather in another list meanwhile. */
static struct pending_commit *pend_take(struct nr_queue *q, size_t *n, size_t *cap)
{
	struct pending_commit *pc = q->pend;

	*n = q->npend;
	*cap = q->pend_cap;
	q->pend = q->spare;
	q->pend_cap = q->spare_cap;
	q->npend = 0;
	q->spare = NULL;
	q->spare_cap = 0;
	return pc;
}

static void pend_recycle(struct nr_queue *q, struct pending_commit *pc, size_t cap)
{
	if (q->spare) {
		free(pc);
		return;
	}
	q->spare = pc;
	q->spare_cap = cap;
}

/* Group commit: one sync for every commit requested since the last one,
 * then each caller hears about its own record. */
void nr_queue_flush(struct nr_queue *q)
{
	struct pending_commit *pc;
	size_t i, n, cap;
	int ret;

	if (q->npend == 0) {
		if (!q->head_synced || q->dirty_marks)
			(void)dev_sync(q);
		q->dirty_marks = 0;
		return;
	}
	pc = pend_take(q, &n, &cap);
	ret = dev_sync(q);
	q->dirty_marks = 0;
	for (i = 0; i < n; i++) {
		struct qent *e = ent_find(q, pc[i].id);
		if (ret)
			commit_failed(q, pc[i].id);
		else if (e) {
			e->hidden = 0;
			due_lower(q, e);
		}
	}
	/* callbacks last: they may begin and commit new messages */
	for (i = 0; i < n; i++) {
		if (pc[i].done)
			pc[i].done(pc[i].arg, ret ? NR_EIO : 0, pc[i].id);
	}
	pend_recycle(q, pc, cap);
	if (!ret && q->on_commit)
		q->on_commit(q->on_commit_arg);
}

void nr_queue_on_commit(struct nr_queue *q, void (*fn)(void *arg), void *arg)
{
	q->on_commit = fn;
	q->on_commit_arg = arg;
}

void nr_queue_set_manual_flush(struct nr_queue *q, int on)
{
	q->manual_flush = on ? 1 : 0;
}

/* ---- compaction ------------------------------------------------------------------- */

static int copy_message(struct nr_queue *q, struct qent *e)
{
	struct nr_qwriter *w = NULL;
	struct nr_qreader r;
	uint8_t *st = NULL, tmp[512];
	uint64_t total = e->env_len + e->body_size;
	uint32_t last, state_at, old_first = e->first, old_last = e->last, k;
	long n;
	int ret = NR_ENOMEM;

	st = malloc(e->state_len);
	w = writer_new(q, e->id, e->nrcpt);
	if (!st || !w)
		goto out;
	ret = dev_read(q, e->state_off, st, e->state_len);
	if (ret)
		goto out;
	w->compact = 1;
	w->arrival = e->arrival;
	w->flags = e->flags;
	w->env_len = e->env_len;
	w->state_init = st;
	reader_init(q, e, 0, total, &r);
	for (k = 0; k < total / sizeof(tmp) + 2; k++) {
		n = reader_stream(&r, tmp, sizeof(tmp));
		if (n < 0) {
			ret = (int)n;
			goto out;
		}
		if (n == 0)
			break;
		ret = stream_put(w, tmp, (size_t)n);
		if (ret)
			goto out;
	}
	ret = NR_ECORRUPT;
	if (w->stream_len + w->fill != total)
		goto out;
	ret = stream_finish(w, &last, &state_at);
	if (ret)
		goto out;
	/* the copy must be durable before the original's sectors can go */
	ret = dev_sync(q);
	if (ret)
		goto out;
	e = ent_find(q, w->id);
	if (!e)
		goto out;
	refs_range(q, old_first / q->S, old_last / q->S, -1);
	e->first = w->first;
	e->last = last;
	e->state_off = state_at;
	e->st_known = 0; /* read the copy's state area again when needed */
	writer_unlink(w);
	writer_free(w);
	w = NULL;
	ret = 0;
out:
	nr_queue_abort(w);
	free(st);
	return ret;
}

/* Copy the pending messages that pin the tail sector forward, when they
 * are committed, not in flight and small. */
static int compact(struct nr_queue *q)
{
	struct nr_qwriter *w;
	uint64_t bytes = 0;
	size_t i, count = 0;
	int ret = 0;

	tail_advance(q);
	for (w = q->writers; w; w = w->next) {
		if (w->started && w->first_sec == q->tail)
			return NR_EFULL;
	}
	for (i = 0; i < q->nents; i++) {
		struct qent *e = &q->ents[i];
		if (!pins(e) || e->first / q->S != q->tail)
			continue;
		if (e->inflight || e->hidden)
			return NR_EFULL;
		bytes += e->env_len + e->body_size + REC_HDR * e->nrec + TRAILER + e->state_len;
		count++;
	}
	/* the copy may use the head's rest and the one reserve sector */
	if (count == 0 || bytes + q->P * (count + 1) > head_space(q) + (q->S - q->data_start))
		return NR_EFULL;
	q->compacting = 1;
	for (i = 0; i < q->nents && ret == 0; i++) {
		struct qent *e = &q->ents[i];
		if (pins(e) && e->first / q->S == q->tail)
			ret = copy_message(q, e);
	}
	q->compacting = 0;
	return ret;
}

/* ---- delivery side ---------------------------------------------------------------- */

static struct qent *live_ent(struct nr_queue *q, nr_qid_t id)
{
	struct qent *e = ent_find(q, id);

	return e && !e->hidden ? e : NULL;
}

/* Every sendable message's time: sets due_floor to the earliest. */
static void due_rescan(struct nr_queue *q)
{
	uint64_t best = UINT64_MAX;
	size_t i;

	for (i = 0; i < q->nents; i++) {
		const struct qent *e = &q->ents[i];
		if (sendable(e) && e->next_ms < best)
			best = e->next_ms;
	}
	q->due_floor = best;
	q->due_exact = 1;
}

int nr_queue_next_due(struct nr_queue *q, uint64_t now_ms, nr_qid_t *id)
{
	size_t i;

	if (now_ms < q->due_floor)
		return NR_ENOTFOUND;
	for (i = 0; i < q->nents; i++) {
		struct qent *e = &q->ents[i];
		if (sendable(e) && e->next_ms <= now_ms) {
			*id = e->id;
			return 0;
		}
	}
	due_rescan(q); /* none due: the floor can rise */
	return NR_ENOTFOUND;
}

uint64_t nr_queue_next_wakeup(struct nr_queue *q)
{
	if (!q->due_exact)
		due_rescan(q);
	return q->due_floor;
}

static void fill_info(const struct qent *e, struct nr_qinfo *out)
{
	memset(out, 0, sizeof(*out));
	out->id = e->id;
	out->arrival = e->arrival;
	out->body_size = e->body_size;
	out->state = (enum nr_msg_state)e->state;
	out->flags = e->flags;
	out->nrcpt = e->nrcpt;
	out->npending = e->npending;
	out->attempts = e->attempts;
	out->next_attempt_ms = e->next_ms;
	out->inflight = e->inflight ? 1 : 0;
	if (e->last_error) {
		strncpy(out->last_error, e->last_error, sizeof(out->last_error) - 1);
	}
}

int nr_queue_info(struct nr_queue *q, nr_qid_t id, struct nr_qinfo *out)
{
	struct qent *e = live_ent(q, id);

	if (!e)
		return NR_ENOTFOUND;
	fill_info(e, out);
	return 0;
}

static struct qenv *load_env(struct nr_queue *q, struct qent *e)
{
	struct nr_qreader r;
	struct qenv *env = NULL;
	uint8_t *raw = NULL;
	char *strs;
	size_t p = 0, o = 0, i;
	long n;

	if (e->env)
		return e->env;
	raw = malloc(e->env_len ? e->env_len : 1);
	if (!raw)
		goto fail;
	reader_init(q, e, 0, e->env_len, &r);
	r.cache = malloc(QREADER_CACHE); /* NULL only costs reads */
	while (p < e->env_len) {
		n = reader_stream(&r, raw + p, e->env_len - p);
		if (n <= 0) {
			free(r.cache);
			goto fail;
		}
		p += (size_t)n;
	}
	free(r.cache);
	/* strings: each gets a NUL instead of its length prefix */
	env = env_alloc(e->nrcpt, e->env_len + 4, &strs);
	if (!env)
		goto fail;
	{
		const char **slots[3] = {&env->sender, &env->client, &env->auth};
		for (i = 0; i < 3u + e->nrcpt; i++) {
			size_t wide = (i == 0 || i >= 3) ? 2 : 1, len;
			if (o + wide > e->env_len)
				goto fail;
			len = wide == 2 ? get16(raw + o) : raw[o];
			o += wide;
			if (o + len > e->env_len || memchr(raw + o, 0, len))
				goto fail;
			if (i < 3)
				*slots[i] = strs;
			else
				env->rcpt[i - 3] = strs;
			memcpy(strs, raw + o, len);
			strs[len] = 0;
			strs += len + 1;
			o += len;
		}
	}
	free(raw);
	e->env = env;
	q->envs++;
	return env;
fail:
	free(raw);
	free(env);
	return NULL;
}

const char *nr_queue_sender(struct nr_queue *q, nr_qid_t id)
{
	struct qent *e = live_ent(q, id);
	struct qenv *env = e ? load_env(q, e) : NULL;

	return env ? env->sender : NULL;
}

const char *nr_queue_client(struct nr_queue *q, nr_qid_t id)
{
	struct qent *e = live_ent(q, id);
	struct qenv *env = e ? load_env(q, e) : NULL;

	return env ? env->client : NULL;
}

const char *nr_queue_auth_id(struct nr_queue *q, nr_qid_t id)
{
	struct qent *e = live_ent(q, id);
	struct qenv *env = e ? load_env(q, e) : NULL;

	return env && env->auth[0] ? env->auth : NULL;
}

static int rcpt_state(struct nr_queue *q, struct qent *e, size_t i, enum nr_rcpt_state *st)
{
	uint8_t b;
	int ret = state_read_byte(q, e, (uint32_t)(1 + i / 4), &b);

	if (ret)
		return ret;
	b = (uint8_t)(b >> (2 * (i % 4)));
	if (!(b & 2))
		*st = NR_RCPT_FAILED;
	else if (!(b & 1))
		*st = NR_RCPT_DELIVERED;
	else
		*st = NR_RCPT_PENDING;
	return 0;
}

const char *nr_queue_rcpt(struct nr_queue *q, nr_qid_t id, size_t i, enum nr_rcpt_state *state)
{
	struct qent *e = live_ent(q, id);
	struct qenv *env;

	if (!e || i >= e->nrcpt)
		return NULL;
	env = load_env(q, e);
	if (!env)
		return NULL;
	if (state && rcpt_state(q, e, i, state))
		return NULL;
	return env->rcpt[i];
}

void nr_queue_set_inflight(struct nr_queue *q, nr_qid_t id, int inflight)
{
	struct qent *e = live_ent(q, id);

	if (!e)
		return;
	e->inflight = inflight ? 1 : 0;
	if (inflight)
		q->due_exact = 0; /* it may have been the earliest */
	else
		due_lower(q, e);
}

int nr_queue_read_open(struct nr_queue *q, nr_qid_t id, struct nr_qreader **out)
{
	struct qent *e = live_ent(q, id);
	struct nr_qreader *r;

	*out = NULL;
	if (!e)
		return NR_ENOTFOUND;
	if (e->state == NR_MSG_QUARANTINE)
		return NR_ECORRUPT;
	r = malloc(sizeof(*r) + QREADER_CACHE);
	if (!r)
		return NR_ENOMEM;
	reader_init(q, e, e->env_len, e->body_size, r);
	r->cache = (uint8_t *)(r + 1);
	*out = r;
	return 0;
}

long nr_qreader_read(struct nr_qreader *r, void *buf, size_t len)
{
	if (!r || !buf)
		return NR_EINVAL;
	return reader_stream(r, buf, len);
}

void nr_qreader_close(struct nr_qreader *r)
{
	free(r);
}

static int finish(struct nr_queue *q, struct qent *e, uint8_t bit)
{
	int ret = state_clear(q, e, 0, bit);

	if (ret)
		return ret;
	release_refs(q, e);
	if (bit == ST_DONE) {
		ent_remove(q, e);
	} else {
		e->state = NR_MSG_DEAD;
		e->inflight = 0;
		q->due_exact = 0;
	}
	return 0;
}

int nr_queue_mark_rcpt(struct nr_queue *q, nr_qid_t id, size_t i, enum nr_rcpt_state st)
{
	struct qent *e = live_ent(q, id);
	enum nr_rcpt_state cur;
	int ret;

	if (!e)
		return NR_ENOTFOUND;
	if (i >= e->nrcpt || st == NR_RCPT_PENDING)
		return NR_EINVAL;
	if (e->state != NR_MSG_PENDING)
		return NR_ESTATE;
	ret = rcpt_state(q, e, i, &cur);
	if (ret || cur != NR_RCPT_PENDING)
		return ret;
	/* The last open recipient: the done bit alone says it all (recovery
	 * drops a done message whatever its recipients say), one program. */
	if (e->npending <= 1)
		return finish(q, e, ST_DONE);
	ret = state_clear(q, e, (uint32_t)(1 + i / 4),
			  (uint8_t)(1u << (2 * (i % 4) + (st == NR_RCPT_FAILED ? 1 : 0))));
	if (ret)
		return ret;
	if (e->npending)
		e->npending--;
	if (e->npending == 0)
		return finish(q, e, ST_DONE);
	return 0;
}

int nr_queue_mark_done(struct nr_queue *q, nr_qid_t id)
{
	struct qent *e = live_ent(q, id);

	if (!e)
		return NR_ENOTFOUND;
	return finish(q, e, ST_DONE);
}

int nr_queue_mark_dead(struct nr_queue *q, nr_qid_t id)
{
	struct qent *e = live_ent(q, id);

	if (!e)
		return NR_ENOTFOUND;
	if (e->state != NR_MSG_PENDING)
		return 0;
	return finish(q, e, ST_DEAD);
}

void nr_queue_defer(struct nr_queue *q, nr_qid_t id, uint64_t next_ms, const char *error)
{
	struct qent *e = live_ent(q, id);

	if (!e)
		return;
	e->attempts++;
	e->next_ms = next_ms;
	q->due_exact = 0;
	due_lower(q, e);
	if (error) {
		size_t n = strlen(error);
		char *s;
		if (n >= sizeof(((struct nr_qinfo *)0)->last_error))
			n = sizeof(((struct nr_qinfo *)0)->last_error) - 1;
		s = malloc(n + 1);
		if (s) {
			memcpy(s, error, n);
			s[n] = 0;
			free(e->last_error);
			e->last_error = s;
		}
	}
}

int nr_queue_expire(struct nr_queue *q, int64_t now, uint64_t max_age_s,
		    void (*fn)(void *arg, nr_qid_t id), void *arg)
{
	size_t i;
	int count = 0;

	for (i = 0; i < q->nents; i++) {
		struct qent *e = &q->ents[i];
		nr_qid_t id = e->id;
		if (!sendable(e))
			continue;
		if (now < e->arrival || (uint64_t)(now - e->arrival) < max_age_s)
			continue;
		if (fn)
			fn(arg, id);
		e = ent_find(q, id);
		if (e && nr_queue_mark_dead(q, id) == 0)
			count++;
	}
	return count;
}

/* ---- inspection ------------------------------------------------------------------- */

int nr_queue_foreach(struct nr_queue *q, int (*fn)(void *arg, const struct nr_qinfo *info),
		     void *arg)
{
	struct nr_qinfo info;
	size_t i;
	int ret;

	for (i = 0; i < q->nents; i++) {
		if (q->ents[i].hidden)
			continue;
		fill_info(&q->ents[i], &info);
		ret = fn(arg, &info);
		if (ret)
			return ret;
	}
	return 0;
}

int nr_queue_delete(struct nr_queue *q, nr_qid_t id)
{
	return nr_queue_mark_dead(q, id);
}

void nr_queue_stats(struct nr_queue *q, struct nr_qstats *out)
{
	size_t i;
	uint32_t s;

	memset(out, 0, sizeof(*out));
	out->backend = q->bd->name;
	out->persistent = q->bd->persistent;
	out->capacity = ring_capacity(q);
	out->used = ring_used(q);
	out->free = out->used < out->capacity ? out->capacity - out->used : 0;
	for (i = 0; i < q->nents; i++) {
		const struct qent *e = &q->ents[i];
		if (e->hidden)
			continue;
		if (e->state == NR_MSG_PENDING) {
			out->messages++;
			if (!out->oldest_arrival || e->arrival < out->oldest_arrival)
				out->oldest_arrival = e->arrival;
		} else {
			out->dead++;
		}
	}
	out->erase_min = UINT32_MAX;
	for (s = 0; s < q->C; s++) {
		out->erase_min = NR_MIN(out->erase_min, q->sec[s].erases);
		out->erase_max = NR_MAX(out->erase_max, q->sec[s].erases);
	}
	out->bytes_programmed = q->bytes_programmed;
	out->erases = q->erases;
	out->syncs = q->syncs;
}

const char *nr_qid_str(nr_qid_t id, char *dst)
{
	static const char hex[] = "0123456789ABCDEF";
	int i;

	for (i = 15; i >= 0; i--) {
		dst[i] = hex[id & 0xF];
		id >>= 4;
	}
	dst[16] = 0;
	return dst;
}
