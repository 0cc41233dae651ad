/*
 * buf.c - bounded byte buffer (see buf.h).
 *
 * Invariant: rpos <= wpos <= cap. Every function keeps it, and nothing
 * writes outside data[0, cap).
 */
#include "core/buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "core/panic.h"
#include "platform.h"

void nr_buf_init(struct nr_buf *b, void *storage, size_t cap)
{
	b->data = storage;
	b->cap = storage ? cap : 0;
	b->rpos = 0;
	b->wpos = 0;
}

int nr_buf_alloc(struct nr_buf *b, size_t cap)
{
	void *p = nr_malloc(cap ? cap : 1);

	nr_buf_init(b, NULL, 0);
	if (!p)
		return NR_ENOMEM;
	nr_buf_init(b, p, cap);
	return 0;
}

void nr_buf_free(struct nr_buf *b)
{
	nr_free(b->data);
	nr_buf_init(b, NULL, 0);
}

void nr_buf_reset(struct nr_buf *b)
{
	b->rpos = 0;
	b->wpos = 0;
}

void nr_buf_compact(struct nr_buf *b)
{
	size_t len = nr_buf_len(b);

	if (b->rpos == 0)
		return;
	if (len)
		memmove(b->data, b->data + b->rpos, len);
	b->rpos = 0;
	b->wpos = len;
}

/* Make room for len more bytes if compacting can; 1 when they fit. */
static int make_room(struct nr_buf *b, size_t len)
{
	if (nr_buf_room(b) >= len)
		return 1;
	if (b->cap - nr_buf_len(b) < len)
		return 0;
	nr_buf_compact(b);
	return 1;
}

int nr_buf_put(struct nr_buf *b, const void *p, size_t len)
{
	if (!make_room(b, len))
		return NR_EFULL;
	if (len)
		memcpy(b->data + b->wpos, p, len);
	b->wpos += len;
	return 0;
}

int nr_buf_puts(struct nr_buf *b, const char *s)
{
	return nr_buf_put(b, s, strlen(s));
}

/*
 * vsnprintf always writes a terminating NUL, so the text needs one byte of
 * room beyond its length. The NUL lands at tail() and is not committed.
 */
int nr_buf_printf(struct nr_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return NR_EINVAL;
	if (!make_room(b, (size_t)n + 1))
		return NR_EFULL;
	va_start(ap, fmt);
	n = vsnprintf((char *)b->data + b->wpos, nr_buf_room(b), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= nr_buf_room(b))
		return NR_EINVAL; /* the arguments changed between the passes */
	b->wpos += (size_t)n;
	return 0;
}

void nr_buf_commit(struct nr_buf *b, size_t len)
{
	NR_ASSERT(len <= nr_buf_room(b));
	b->wpos += len;
}

void nr_buf_consume(struct nr_buf *b, size_t len)
{
	NR_ASSERT(len <= nr_buf_len(b));
	b->rpos += len;
	/* An empty buffer starts over at the front: no memmove needed. */
	if (b->rpos == b->wpos)
		nr_buf_reset(b);
}

long nr_buf_find(const struct nr_buf *b, uint8_t c)
{
	const uint8_t *p;

	if (!nr_buf_len(b))
		return -1;
	p = memchr(nr_buf_head(b), c, nr_buf_len(b));
	return p ? (long)(p - nr_buf_head(b)) : -1;
}
