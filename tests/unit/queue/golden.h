/* golden.h - the workload behind tests/unit/queue/golden/ring_v1.bin, shared
 * by its generator (golden_gen.c) and its test (test_queue_golden.c).
 *
 * The image pins the on-flash format (FORMAT.md, version 1): it was written
 * by the code of commit b3da528, before queue.c was split. The workload is
 * deterministic: a fresh NOR emulator, no loop (every commit syncs before
 * it returns), ids from 1, arrival times fixed by qt_env(), no clock.
 *
 * Geometry: S = 1024, C = 8, P = 4 (8 KiB). It covers one-chunk and
 * multi-chunk messages, padding for P = 4, a message done, one dead, one
 * with recipients delivered and failed, a lap of the ring and a compaction
 * (the messages pinning the tail are copied forward with their state). */
#ifndef NR_QUEUE_GOLDEN_H
#define NR_QUEUE_GOLDEN_H

#include "qtest.h"

#define GOLDEN_S 1024u
#define GOLDEN_C 8u
#define GOLDEN_P 4u

/* A message that survives the workload: qt_* message n, its body length,
 * recipients, and the state the image holds. */
struct golden_msg {
	uint32_t n, len, nrcpt;
	enum nr_msg_state state;
	enum nr_rcpt_state rcpt[4];
};

static const struct golden_msg golden_msgs[] = {
    {1, 700, 2, NR_MSG_PENDING, {NR_RCPT_DELIVERED, NR_RCPT_PENDING}},
    {3, 50, 1, NR_MSG_PENDING, {NR_RCPT_PENDING}},
    {40,
     200,
     4,
     NR_MSG_PENDING,
     {NR_RCPT_PENDING, NR_RCPT_FAILED, NR_RCPT_DELIVERED, NR_RCPT_PENDING}},
    {41, 0, 1, NR_MSG_PENDING, {NR_RCPT_PENDING}},
    {42, 20, 1, NR_MSG_DEAD, {NR_RCPT_PENDING}},
};
#define GOLDEN_NMSGS (sizeof(golden_msgs) / sizeof(golden_msgs[0]))

/* Run the workload on an open, empty queue; ids[i] receives the id of
 * golden_msgs[i]. 0 on success, else the step that failed (> 0). */
static inline int golden_workload(struct nr_queue *q, nr_qid_t ids[GOLDEN_NMSGS])
{
	nr_qid_t a, c, id;
	uint32_t i;

	if (qt_enqueue(q, 0, 300, 1, 100, &a) || nr_queue_mark_done(q, a))
		return 1;
	if (qt_enqueue(q, 1, 700, 2, 256, &ids[0]) ||
	    nr_queue_mark_rcpt(q, ids[0], 0, NR_RCPT_DELIVERED))
		return 2;
	if (qt_enqueue(q, 2, 300, 3, 300, &c))
		return 3;
	nr_queue_defer(q, c, 5000, "451 4.4.1 try later"); /* RAM only */
	if (nr_queue_mark_dead(q, c))
		return 4;
	if (qt_enqueue(q, 3, 50, 1, 50, &ids[1]))
		return 5;
	/* a lap of the ring: messages done at once; messages 1 and 3 pin the
	 * tail sector and are copied forward when the reserve is reached */
	for (i = 0; i < 24; i++) {
		if (qt_enqueue(q, 10 + i, 400, 1, 128, &id) || nr_queue_mark_done(q, id))
			return 6;
	}
	if (qt_enqueue(q, 40, 200, 4, 64, &ids[2]) ||
	    nr_queue_mark_rcpt(q, ids[2], 1, NR_RCPT_FAILED) ||
	    nr_queue_mark_rcpt(q, ids[2], 2, NR_RCPT_DELIVERED))
		return 7;
	if (qt_enqueue(q, 41, 0, 1, 1, &ids[3]))
		return 8;
	if (qt_enqueue(q, 42, 20, 1, 20, &ids[4]) || nr_queue_mark_dead(q, ids[4]))
		return 9;
	return 0;
}

/* 0 when q holds exactly golden_msgs (ids as given), byte for byte. */
static inline int golden_check(struct nr_queue *q, const nr_qid_t ids[GOLDEN_NMSGS])
{
	struct nr_qinfo info;
	enum nr_rcpt_state st;
	uint32_t i, k;

	for (i = 0; i < GOLDEN_NMSGS; i++) {
		const struct golden_msg *m = &golden_msgs[i];
		if (nr_queue_info(q, ids[i], &info) || info.state != m->state)
			return (int)(100 + i);
		if (m->state != NR_MSG_PENDING)
			continue; /* a dead message's body is kept, not read back */
		if (qt_check(q, ids[i], m->n, m->len, m->nrcpt))
			return (int)(200 + i);
		for (k = 0; k < m->nrcpt; k++) {
			if (!nr_queue_rcpt(q, ids[i], k, &st) || st != m->rcpt[k])
				return (int)(300 + i);
		}
	}
	return 0;
}

#endif /* NR_QUEUE_GOLDEN_H */
