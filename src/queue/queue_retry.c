/*
 * queue_retry.c - retry bookkeeping (RAM only): which message is due,
 * deferring after a failed attempt, expiry, in-flight marks.
 */
#include "core/mem.h"
#include "queue/queue_int.h"

/* e may be sent from e->next_ms on (it became sendable or was deferred). */
void nr_queue_due_lower(struct nr_queue *q, const struct qent *e)
{
	if (e->next_ms <= q->due_floor) {
		q->due_floor = e->next_ms;
		q->due_exact = ent_sendable(e);
	}
}

/* Every sendable message's time: sets due_floor to the earliest. */
static void due_rescan(struct nr_queue *q)
{
	uint64_t best = UINT64_MAX;
	size_t i;

	for (i = 0; i < q->nents; i++) {
		const struct qent *e = &q->ents[i];
		if (ent_sendable(e) && e->next_ms < best)
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
		if (ent_sendable(e) && e->next_ms <= now_ms) {
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

void nr_queue_set_inflight(struct nr_queue *q, nr_qid_t id, int inflight)
{
	struct qent *e = live_ent(q, id);

	if (!e)
		return;
	e->inflight = inflight ? 1 : 0;
	if (inflight)
		q->due_exact = 0; /* it may have been the earliest */
	else
		nr_queue_due_lower(q, e);
}

void nr_queue_defer(struct nr_queue *q, nr_qid_t id, uint64_t next_ms, const char *error)
{
	struct qent *e = live_ent(q, id);

	if (!e)
		return;
	e->attempts++;
	e->next_ms = next_ms;
	q->due_exact = 0;
	nr_queue_due_lower(q, e);
	if (error) {
		size_t n = strlen(error);
		char *s;
		if (n >= sizeof(((struct nr_qinfo *)0)->last_error))
			n = sizeof(((struct nr_qinfo *)0)->last_error) - 1;
		s = nr_malloc(n + 1);
		if (s) {
			memcpy(s, error, n);
			s[n] = 0;
			nr_free(e->last_error);
			e->last_error = s;
		}
	}
}

void nr_queue_retry_now(struct nr_queue *q, nr_qid_t id)
{
	struct qent *e = live_ent(q, id);

	if (!e)
		return;
	e->next_ms = 0;
	nr_queue_due_lower(q, e);
}

int nr_queue_expire(struct nr_queue *q, int64_t now, uint64_t max_age_s,
		    void (*fn)(void *arg, nr_qid_t id), void *arg)
{
	size_t i;
	int count = 0;

	for (i = 0; i < q->nents; i++) {
		struct qent *e = &q->ents[i];
		nr_qid_t id = e->id;
		if (!ent_sendable(e))
			continue;
		/* accepted before the board's clock was set (no RTC, SNTP not
		 * answered yet): its age counts from the first pass that has a
		 * clock, kept in RAM only (after a restart it counts again) */
		if (e->arrival <= 0 && now > 0)
			e->arrival = now;
		if (now < e->arrival || (uint64_t)(now - e->arrival) < max_age_s)
			continue;
		if (fn)
			fn(arg, id);
		e = nr_queue_ent_find(q, id);
		if (e && nr_queue_mark_dead(q, id) == 0)
			count++;
	}
	return count;
}
