/*
 * queue_ring.c - the ring (FORMAT.md sections 1, 2 and 4): device access
 * with counters, sector pins and the tail, opening sectors at the write
 * head, writers streaming chunk records, and compaction.
 */
#include "core/mem.h"
#include "queue/queue_int.h"

/* ---- device access with counters ------------------------------------------------- */

int nr_ring_dev_read(struct nr_queue *q, uint32_t off, void *buf, uint32_t len)
{
	return q->bd->read(q->bd, off, buf, len);
}

int nr_ring_dev_prog(struct nr_queue *q, uint32_t off, const void *buf, uint32_t len)
{
	int ret = q->bd->prog(q->bd, off, buf, len);

	if (ret == 0)
		q->bytes_programmed += len;
	return ret;
}

int nr_ring_dev_sync(struct nr_queue *q)
{
	int ret = q->bd->sync(q->bd);

	q->syncs++;
	if (ret == 0)
		q->head_synced = 1;
	return ret;
}
/* ---- sector references and the tail ---------------------------------------------- */

void nr_ring_refs_range(struct nr_queue *q, uint32_t a, uint32_t b, int delta)
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

static int in_live(const struct nr_queue *q, uint32_t s)
{
	return q->have_head && sec_dist(q, q->tail, s) <= sec_dist(q, q->tail, q->head);
}

void nr_ring_tail_advance(struct nr_queue *q)
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
		if (!ent_pins(e) && !e->hidden && !in_live(q, e->first / q->S))
			nr_queue_ent_remove(q, e);
		else
			i++;
	}
}

/* ---- opening sectors --------------------------------------------------------------- */

static int compact(struct nr_queue *q);

/* Open the next sector as the write head. compact_mode may use the last
 * reserve sector (FORMAT.md section 1.2). NR_EFULL when no sector may be
 * opened. */
static int ring_advance(struct nr_queue *q, int compact_mode)
{
	uint8_t h[RING_SEC_HDR], old[RING_SEC_HDR];
	struct nr_ring_sechdr sh;
	uint32_t n, seq, floor, erases = 0;
	int ret;

	if (q->have_head) {
		nr_ring_tail_advance(q);
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
			ret = nr_ring_dev_sync(q);
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
	if (nr_ring_dev_read(q, n * q->S, old, RING_SEC_HDR) == 0 &&
	    nr_ring_sechdr_decode(old, &sh))
		erases = sh.erase_count;
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
	sh.version = RING_VERSION;
	sh.sector_shift = q->sector_shift;
	sh.prog_shift = q->prog_shift;
	sh.seq = seq;
	sh.floor = floor;
	sh.erase_count = erases + 1;
	sh.next_id = q->next_id;
	nr_ring_sechdr_encode(h, &sh);
	q->next_seq = seq + 1; /* consumed even if the program fails */
	{
		uint8_t hb[64 + RING_SEC_HDR];
		uint32_t len = align_up(q, RING_SEC_HDR);
		memset(hb, 0xFF, len);
		memcpy(hb, h, RING_SEC_HDR);
		ret = nr_ring_dev_prog(q, n * q->S, hb, len);
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
static int put_record(struct nr_queue *q, struct nr_qwriter *w, uint8_t kind, uint32_t len,
		      uint16_t state_len, uint32_t total, uint32_t *at)
{
	uint8_t *r = w->buf;
	uint32_t off = q->head * q->S + q->head_off;
	struct nr_ring_rechdr h = {kind, state_len, len, 0, w->id};
	int ret;

	h.pcrc = nr_ring_crc32(0, r + RING_REC_HDR, len);
	nr_ring_rechdr_encode(r, &h);
	/* A fresh state area is all 0xFF, which the erased flash already holds:
	 * leave it unprogrammed (fewer bytes written). Compaction carries states
	 * over, so then it is programmed with the record. */
	ret = nr_ring_dev_prog(q, off, r, w->state_init ? total : total - state_len);
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
		nr_ring_refs_range(q, next_sec(q, w->last_sec), q->head, +1);
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
		k = align_down(q, RING_REC_HDR + w->fill);
		k = NR_MIN(k, space);
		if (k > RING_REC_HDR &&
		    (k - RING_REC_HDR >= MIN_SPLIT || k - RING_REC_HDR >= w->fill))
			break;
		ret = ring_advance(q, w->compact);
		if (ret)
			return ret;
	}
	if (tries == 3)
		return NR_EFULL;
	k -= RING_REC_HDR;
	ret = put_record(q, w, (uint8_t)(RING_KIND_CHUNK | (w->nrec == 0 ? RING_F_FIRST : 0)), k, 0,
			 RING_REC_HDR + k, &at);
	if (ret)
		return ret;
	w->stream_len += k;
	memmove(w->buf + RING_REC_HDR, w->buf + RING_REC_HDR + k, w->fill - k);
	w->fill -= k;
	return 0;
}

int nr_ring_stream_put(struct nr_qwriter *w, const void *data, size_t len)
{
	const uint8_t *p = data;
	int ret;

	if (w->failed)
		return NR_ESTATE;
	while (len > 0) {
		size_t n = NR_MIN(len, (size_t)(CHUNK - w->fill));
		memcpy(w->buf + RING_REC_HDR + w->fill, p, n);
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
int nr_ring_stream_finish(struct nr_qwriter *w, uint32_t *last_at, uint32_t *state_at)
{
	struct nr_queue *q = w->q;
	uint32_t need = 0, pay = 0, n, i;
	struct nr_ring_trailer tr;
	uint8_t *t;
	int ret;

	for (n = 0; n < 4 * q->C + CHUNK; n++) {
		pay = w->fill + RING_TRAILER;
		need = align_up(q, RING_REC_HDR + pay) + w->state_len;
		if (need <= head_space(q))
			break;
		if (head_space(q) >= RING_REC_HDR + MIN_SPLIT && w->fill >= MIN_SPLIT + q->P) {
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
	t = w->buf + RING_REC_HDR + w->fill;
	tr.arrival = w->arrival;
	tr.env_len = w->env_len;
	tr.nrec = w->nrec + 1;
	tr.nrcpt = w->nrcpt;
	tr.flags = w->flags;
	nr_ring_trailer_encode(t, &tr);
	i = RING_REC_HDR + pay;
	memset(w->buf + i, 0xFF, need - i);
	if (w->state_init)
		memcpy(w->buf + need - w->state_len, w->state_init, w->state_len);
	ret = put_record(
	    q, w, (uint8_t)(RING_KIND_CHUNK | RING_F_LAST | (w->nrec == 0 ? RING_F_FIRST : 0)), pay,
	    w->state_len, need, last_at);
	if (ret)
		return ret;
	*state_at = *last_at + need - w->state_len;
	w->stream_len += w->fill;
	w->fill = 0;
	return 0;
}

void nr_ring_writer_unlink(struct nr_qwriter *w)
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

void nr_ring_writer_free(struct nr_qwriter *w)
{
	if (!w)
		return;
	nr_free(w->env);
	nr_free(w->buf);
	nr_free(w);
}

struct nr_qwriter *nr_ring_writer_new(struct nr_queue *q, nr_qid_t id, uint32_t nrcpt)
{
	struct nr_qwriter *w = nr_calloc(1, sizeof(*w));

	if (!w)
		return NULL;
	w->q = q;
	w->id = id;
	w->nrcpt = (uint16_t)nrcpt;
	w->state_len = state_len_for(q, nrcpt);
	w->buf = nr_malloc(RING_REC_HDR + CHUNK + RING_TRAILER + 2 * q->P + w->state_len);
	if (!w->buf) {
		nr_free(w);
		return NULL;
	}
	w->next = q->writers;
	if (q->writers)
		q->writers->prev = w;
	q->writers = w;
	q->nwriters++;
	return w;
}

void nr_ring_release_refs(struct nr_queue *q, struct qent *e)
{
	if (ent_pins(e))
		nr_ring_refs_range(q, e->first / q->S, e->last / q->S, -1);
}

uint64_t nr_ring_capacity(const struct nr_queue *q)
{
	return (uint64_t)(q->C - 2) * (q->S - q->data_start);
}

uint64_t nr_ring_used(const struct nr_queue *q)
{
	if (!q->have_head)
		return 0;
	return (uint64_t)sec_dist(q, q->tail, q->head) * (q->S - q->data_start) +
	       (q->head_off - q->data_start);
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

	st = nr_malloc(e->state_len);
	w = nr_ring_writer_new(q, e->id, e->nrcpt);
	if (!st || !w)
		goto out;
	ret = nr_ring_dev_read(q, e->state_off, st, e->state_len);
	if (ret)
		goto out;
	w->compact = 1;
	w->arrival = e->arrival;
	w->flags = e->flags;
	w->env_len = e->env_len;
	w->state_init = st;
	nr_ring_reader_init(q, e, 0, total, &r);
	for (k = 0; k < total / sizeof(tmp) + 2; k++) {
		n = nr_ring_reader_stream(&r, tmp, sizeof(tmp));
		if (n < 0) {
			ret = (int)n;
			goto out;
		}
		if (n == 0)
			break;
		ret = nr_ring_stream_put(w, tmp, (size_t)n);
		if (ret)
			goto out;
	}
	ret = NR_ECORRUPT;
	if (w->stream_len + w->fill != total)
		goto out;
	ret = nr_ring_stream_finish(w, &last, &state_at);
	if (ret)
		goto out;
	/* the copy must be durable before the original's sectors can go */
	ret = nr_ring_dev_sync(q);
	if (ret)
		goto out;
	e = nr_queue_ent_find(q, w->id);
	if (!e)
		goto out;
	nr_ring_refs_range(q, old_first / q->S, old_last / q->S, -1);
	e->first = w->first;
	e->last = last;
	e->state_off = state_at;
	e->st_known = 0; /* read the copy's state area again when needed */
	nr_ring_writer_unlink(w);
	nr_ring_writer_free(w);
	w = NULL;
	ret = 0;
out:
	nr_queue_abort(w);
	nr_free(st);
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

	nr_ring_tail_advance(q);
	for (w = q->writers; w; w = w->next) {
		if (w->started && w->first_sec == q->tail)
			return NR_EFULL;
	}
	for (i = 0; i < q->nents; i++) {
		struct qent *e = &q->ents[i];
		if (!ent_pins(e) || e->first / q->S != q->tail)
			continue;
		if (e->inflight || e->hidden)
			return NR_EFULL;
		bytes += e->env_len + e->body_size + RING_REC_HDR * e->nrec + RING_TRAILER +
			 e->state_len;
		count++;
	}
	/* the copy may use the head's rest and the one reserve sector */
	if (count == 0 || bytes + q->P * (count + 1) > head_space(q) + (q->S - q->data_start))
		return NR_EFULL;
	q->compacting = 1;
	for (i = 0; i < q->nents && ret == 0; i++) {
		struct qent *e = &q->ents[i];
		if (ent_pins(e) && e->first / q->S == q->tail)
			ret = copy_message(q, e);
	}
	q->compacting = 0;
	return ret;
}
