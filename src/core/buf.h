/*
 * buf.h - a bounded byte buffer with a read and a write position.
 *
 * Capacity is fixed at init; nothing here grows. Data lives in
 * [data + rpos, data + wpos). nr_buf_compact() slides it to the front.
 * Every accessor checks bounds; none can write outside the storage.
 */
#ifndef NR_CORE_BUF_H
#define NR_CORE_BUF_H

#include <stddef.h>
#include <stdint.h>

#include "core/build.h"

struct nr_buf {
	uint8_t *data;
	size_t cap;
	size_t rpos;
	size_t wpos;
};

/* Use caller-owned storage of cap bytes. */
void nr_buf_init(struct nr_buf *b, void *storage, size_t cap);
/* Allocate cap bytes; NR_ENOMEM. Pair with nr_buf_free (safe after init
 * with NULL storage or twice). */
int nr_buf_alloc(struct nr_buf *b, size_t cap) NR_MUST_CHECK;
void nr_buf_free(struct nr_buf *b);

static inline size_t nr_buf_len(const struct nr_buf *b)
{
	return b->wpos - b->rpos;
}
static inline size_t nr_buf_room(const struct nr_buf *b)
{
	return b->cap - b->wpos;
}
static inline const uint8_t *nr_buf_head(const struct nr_buf *b)
{
	return b->data + b->rpos;
}
static inline uint8_t *nr_buf_tail(struct nr_buf *b)
{
	return b->data + b->wpos;
}

void nr_buf_reset(struct nr_buf *b);
/* Move unread data to the front so room() is as large as possible. */
void nr_buf_compact(struct nr_buf *b);
/* Append len bytes (compacting if that makes room). NR_EFULL when they do
 * not fit; nothing is written then. */
int nr_buf_put(struct nr_buf *b, const void *p, size_t len) NR_MUST_CHECK;
int nr_buf_puts(struct nr_buf *b, const char *s) NR_MUST_CHECK;
/* printf-style append; NR_EFULL (nothing written) when it does not fit. */
int nr_buf_printf(struct nr_buf *b, const char *fmt, ...) NR_PRINTF(2, 3) NR_MUST_CHECK;
/* Mark len bytes written at tail() (after a read into tail()); len must
 * fit in nr_buf_room() (NR_ASSERT). */
void nr_buf_commit(struct nr_buf *b, size_t len);
/* Consume len bytes from the head; len must be at most nr_buf_len()
 * (NR_ASSERT). */
void nr_buf_consume(struct nr_buf *b, size_t len);
/* Offset from head of the first occurrence of byte c, or -1. */
long nr_buf_find(const struct nr_buf *b, uint8_t c);

#endif /* NR_CORE_BUF_H */
