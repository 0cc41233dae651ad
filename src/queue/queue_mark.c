/*
 * queue_mark.c - the state area (FORMAT.md 2.4): recipient and message
 * marks, each one bit cleared by one program, and the API that sets them.
 */
#include "queue/queue_int.h"

/* ---- state area marks ------------------------------------------------------------- */

/* The mirror, read from the device when it is not known yet; NULL when
 * the message has too many recipients for it (then read the device). */
static const uint8_t *state_mirror(struct nr_queue *q, struct qent *e)
{
	if (state_bytes(e) > ST_MIRROR)
		return NULL;
	if (!e->st_known) {
		if (nr_ring_dev_read(q, e->state_off, e->st, state_bytes(e)) != 0)
			return NULL;
		e->st_known = 1;
	}
	return e->st;
}

int nr_ring_state_read_byte(struct nr_queue *q, struct qent *e, uint32_t byte, uint8_t *v)
{
	const uint8_t *st = state_mirror(q, e);

	if (st) {
		*v = st[byte];
		return 0;
	}
	return nr_ring_dev_read(q, e->state_off + byte, v, 1);
}

/* Clear one bit of the state area: a program of the unit holding it. */
int nr_ring_state_clear(struct nr_queue *q, struct qent *e, uint32_t byte, uint8_t mask)
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
		ret = nr_ring_dev_read(q, at, unit, q->P);
		if (ret)
			return ret;
	}
	if (!(unit[e->state_off + byte - at] & mask))
		return 0;
	/* program the merged unit: a backend may overwrite rather than AND */
	unit[e->state_off + byte - at] &= (uint8_t)~mask;
	ret = nr_ring_dev_prog(q, at, unit, q->P);
	if (ret)
		return ret;
	if (st)
		e->st[byte] &= (uint8_t)~mask;
	if (q->loop || q->manual_flush) {
		q->dirty_marks = 1;
		if (q->loop)
			nr_queue_loop_request(q);
	} else {
		ret = nr_ring_dev_sync(q);
	}
	return ret;
}

int nr_queue_rcpt_state(struct nr_queue *q, struct qent *e, size_t i, enum nr_rcpt_state *st)
{
	uint8_t b;
	int ret = nr_ring_state_read_byte(q, e, (uint32_t)(1 + i / 4), &b);

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

static int finish(struct nr_queue *q, struct qent *e, uint8_t bit)
{
	int ret = nr_ring_state_clear(q, e, 0, bit);

	if (ret)
		return ret;
	nr_ring_release_refs(q, e);
	if (bit == RING_ST_DONE) {
		nr_queue_ent_remove(q, e);
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
	ret = nr_queue_rcpt_state(q, e, i, &cur);
	if (ret || cur != NR_RCPT_PENDING)
		return ret;
	/* The last open recipient: the done bit alone says it all (recovery
	 * drops a done message whatever its recipients say), one program. */
	if (e->npending <= 1)
		return finish(q, e, RING_ST_DONE);
	ret = nr_ring_state_clear(q, e, (uint32_t)(1 + i / 4),
				  (uint8_t)(1u << (2 * (i % 4) + (st == NR_RCPT_FAILED ? 1 : 0))));
	if (ret)
		return ret;
	if (e->npending)
		e->npending--;
	if (e->npending == 0)
		return finish(q, e, RING_ST_DONE);
	return 0;
}

int nr_queue_mark_done(struct nr_queue *q, nr_qid_t id)
{
	struct qent *e = live_ent(q, id);

	if (!e)
		return NR_ENOTFOUND;
	return finish(q, e, RING_ST_DONE);
}

int nr_queue_mark_dead(struct nr_queue *q, nr_qid_t id)
{
	struct qent *e = live_ent(q, id);

	if (!e)
		return NR_ENOTFOUND;
	if (e->state != NR_MSG_PENDING)
		return 0;
	return finish(q, e, RING_ST_DEAD);
}

int nr_queue_delete(struct nr_queue *q, nr_qid_t id)
{
	return nr_queue_mark_dead(q, id);
}
