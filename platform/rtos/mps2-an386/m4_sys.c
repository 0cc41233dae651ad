/*
 * m4_sys.c - what newlib-nano and mbedTLS need from the mps2-an386 board:
 * one heap for everything, and the wall clock.
 *
 * The heap: malloc and friends (newlib's and their reentrant _r forms,
 * which mbedTLS's calloc and printf's buffers reach) all go to FreeRTOS's
 * heap_4, as the core does through nr_mem_set_hooks. One heap means one
 * low-water mark for the RAM budget, and no sbrk: libnosys's sbrk refuses
 * to grow past the caller's stack pointer, which for a task lies inside
 * the heap_4 array, so newlib's own malloc failed from every task. The
 * blocks are rtos_heap.c's (counted, their size in front for realloc).
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

#include "platform.h"
#include "rtos_heap.h"

static void *m4_calloc(size_t n, size_t size)
{
	void *p;

	if (size && n > (size_t)-1 / size)
		return NULL;
	p = nr_rtos_heap_alloc(n * size);
	if (p)
		memset(p, 0, n * size);
	return p;
}

static void *m4_realloc(void *p, size_t size)
{
	void *q;

	if (!p)
		return nr_rtos_heap_alloc(size);
	if (size == 0) {
		nr_rtos_heap_free(p);
		return NULL;
	}
	q = nr_rtos_heap_alloc(size);
	if (q) {
		size_t old = nr_rtos_heap_block_size(p);
		memcpy(q, p, old < size ? old : size);
		nr_rtos_heap_free(p);
	}
	return q;
}

/* newlib's names: these replace its allocator (none of its malloc objects
 * is linked). */
void *malloc(size_t size)
{
	return nr_rtos_heap_alloc(size);
}
void free(void *p)
{
	nr_rtos_heap_free(p);
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
	return nr_rtos_heap_alloc(size);
}
void _free_r(struct _reent *r, void *p)
{
	(void)r;
	nr_rtos_heap_free(p);
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
