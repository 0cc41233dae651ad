/*
 * m4_sys.c - what newlib-nano and mbedTLS need from the mps2-an386 board:
 * one heap for everything, and the wall clock.
 *
 * The heap: malloc and friends (newlib's and their reentrant _r forms,
 * which mbedTLS's calloc and printf's buffers reach) all go to FreeRTOS's
 * heap_4, as the core does through nr_mem_set_hooks. One heap means one
 * low-water mark for the RAM budget, and no sbrk: libnosys's sbrk refuses
 * to grow past the caller's stack pointer, which for a task lies inside
 * the heap_4 array, so newlib's own malloc failed from every task. Each
 * block carries its size in front (for realloc and the in-use figure).
 *
 * The wall clock: newlib's time() (what mbedTLS checks certificate dates
 * with) asks _gettimeofday, answered from the RTOS shim's clock
 * (nr_plat_wall_time: set by nr_rtos_set_wall_time).
 */
#include <errno.h>
#include <reent.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "FreeRTOS.h"
#include "task.h"

#include "m4_sys.h"
#include "platform.h"

typedef union {
	size_t size;
	max_align_t align;
} head;

static volatile size_t in_use, peak;

void *nr_m4_malloc(size_t size)
{
	head *h;

	if (size == 0)
		size = 1;
	if (size > (size_t)-1 - sizeof(*h))
		return NULL;
	h = pvPortMalloc(sizeof(*h) + size);
	if (!h)
		return NULL;
	h->size = size;
	taskENTER_CRITICAL();
	in_use += size;
	if (in_use > peak)
		peak = in_use;
	taskEXIT_CRITICAL();
	return h + 1;
}

void nr_m4_free(void *p)
{
	head *h;

	if (!p)
		return;
	h = (head *)p - 1;
	taskENTER_CRITICAL();
	in_use -= h->size;
	taskEXIT_CRITICAL();
	vPortFree(h);
}

void nr_m4_heap_usage(size_t *now, size_t *max)
{
	taskENTER_CRITICAL();
	*now = in_use;
	*max = peak;
	taskEXIT_CRITICAL();
}

static void *m4_calloc(size_t n, size_t size)
{
	void *p;

	if (size && n > (size_t)-1 / size)
		return NULL;
	p = nr_m4_malloc(n * size);
	if (p)
		memset(p, 0, n * size);
	return p;
}

static void *m4_realloc(void *p, size_t size)
{
	void *q;

	if (!p)
		return nr_m4_malloc(size);
	if (size == 0) {
		nr_m4_free(p);
		return NULL;
	}
	q = nr_m4_malloc(size);
	if (q) {
		size_t old = ((head *)p - 1)->size;
		memcpy(q, p, old < size ? old : size);
		nr_m4_free(p);
	}
	return q;
}

/* newlib's names: these replace its allocator (none of its malloc objects
 * is linked). */
void *malloc(size_t size)
{
	return nr_m4_malloc(size);
}
void free(void *p)
{
	nr_m4_free(p);
}
void *calloc(size_t n, size_t size)
{
	return m4_calloc(n, size);
}
void *realloc(void *p, size_t size)
{
	return m4_realloc(p, size);
}
void *_malloc_r(struct _reent *r, size_t size)
{
	(void)r;
	return nr_m4_malloc(size);
}
void _free_r(struct _reent *r, void *p)
{
	(void)r;
	nr_m4_free(p);
}
void *_calloc_r(struct _reent *r, size_t n, size_t size)
{
	(void)r;
	return m4_calloc(n, size);
}
void *_realloc_r(struct _reent *r, void *p, size_t size)
{
	(void)r;
	return m4_realloc(p, size);
}

int _gettimeofday(struct timeval *tv, void *tz);
int _gettimeofday(struct timeval *tv, void *tz)
{
	int64_t now;

	(void)tz;
	if (nr_plat_wall_time(&now) != 0) {
		errno = EINVAL; /* not set yet: time() returns -1 */
		return -1;
	}
	tv->tv_sec = (time_t)now;
	tv->tv_usec = 0;
	return 0;
}
