/* qtest.h - helpers shared by the queue tests: a message model, enqueue
 * and read-back helpers, and the recovery oracle. */
#ifndef NR_QTEST_H
#define NR_QTEST_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "queue/queue.h"

/* deterministic body bytes for message number n of length len */
static inline void qt_body(uint8_t *dst, size_t len, uint32_t n)
{
	uint32_t x = n * 2654435761u + 1;
	size_t i;

	for (i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		dst[i] = (uint8_t)x;
	}
}

struct qt_commit {
	int called, result;
	nr_qid_t id;
};

static inline void qt_done(void *arg, int result, nr_qid_t id)
{
	struct qt_commit *c = arg;

	c->called++;
	c->result = result;
	c->id = id;
}

static const char *const qt_rcpts[] = {"admin@example.com", "ops@example.com", "c@example.org",
				       "d@example.org"};

static inline void qt_env(struct nr_qenvelope *env, uint32_t n, size_t nrcpt)
{
	memset(env, 0, sizeof(*env));
	env->sender = (n & 1) ? "printer@lan" : "";
	env->rcpts = qt_rcpts;
	env->nrcpt = nrcpt;
	env->arrival = 1700000000 + n;
	env->client = "[192.168.1.20]";
	env->auth_id = (n & 2) ? "scanner" : NULL;
	env->flags = 0;
}

/* Enqueue message n (body len, nrcpt recipients) appending in pieces of
 * step bytes. Returns 0 and the id when the commit reported durability. */
static inline int qt_enqueue(struct nr_queue *q, uint32_t n, size_t len, size_t nrcpt, size_t step,
			     nr_qid_t *id)
{
	static uint8_t body[256 * 1024];
	struct nr_qenvelope env;
	struct nr_qwriter *w;
	struct qt_commit c = {0, 0, 0};
	size_t off;
	int ret;

	if (len > sizeof(body))
		return NR_EINVAL;
	qt_env(&env, n, nrcpt);
	qt_body(body, len, n);
	ret = nr_queue_begin(q, &env, 0, &w);
	if (ret)
		return ret;
	for (off = 0; off < len; off += step) {
		ret = nr_queue_append(w, body + off, len - off < step ? len - off : step);
		if (ret) {
			nr_queue_abort(w);
			return ret;
		}
	}
	ret = nr_queue_commit(w, qt_done, &c);
	if (ret)
		return ret;
	if (c.called != 1)
		return NR_ESTATE;
	if (c.result)
		return c.result;
	*id = c.id;
	return 0;
}

/* 0 when message id reads back as message n of length len (envelope too). */
static inline int qt_check(struct nr_queue *q, nr_qid_t id, uint32_t n, size_t len, size_t nrcpt)
{
	static uint8_t want[256 * 1024], got[256 * 1024 + 1];
	struct nr_qenvelope env;
	struct nr_qreader *r;
	struct nr_qinfo info;
	size_t have = 0, i;
	long k;
	int ret;

	qt_env(&env, n, nrcpt);
	qt_body(want, len, n);
	if (nr_queue_info(q, id, &info) || info.body_size != len || info.nrcpt != nrcpt ||
	    info.arrival != env.arrival)
		return -1;
	if (!nr_queue_sender(q, id) || strcmp(nr_queue_sender(q, id), env.sender) ||
	    !nr_queue_client(q, id) || strcmp(nr_queue_client(q, id), env.client))
		return -2;
	if ((env.auth_id == NULL) != (nr_queue_auth_id(q, id) == NULL))
		return -3;
	for (i = 0; i < nrcpt; i++) {
		const char *s = nr_queue_rcpt(q, id, i, NULL);
		if (!s || strcmp(s, qt_rcpts[i]))
			return -4;
	}
	ret = nr_queue_read_open(q, id, &r);
	if (ret)
		return -5;
	for (i = 0; i < 100000; i++) {
		k = nr_qreader_read(r, got + have,
				    777 < sizeof(got) - have ? 777 : sizeof(got) - have);
		if (k <= 0)
			break;
		have += (size_t)k;
	}
	nr_qreader_close(r);
	if (k < 0)
		return -6;
	if (have != len || memcmp(got, want, len))
		return -7;
	return 0;
}

#endif /* NR_QTEST_H */
