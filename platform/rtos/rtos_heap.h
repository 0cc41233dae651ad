/*
 * rtos_heap.h - a board's heap on FreeRTOS, counted: pvPortMalloc/vPortFree
 * blocks that carry their size in front, so that the bytes in use and their
 * peak can be read at any time (the RAM figures of the board checklist).
 * What a board gives the core with nr_mem_set_hooks, and may give newlib
 * and mbedTLS too (platform/rtos/mps2-an386/m4_sys.c). Any task; not from
 * an interrupt.
 */
#ifndef NR_RTOS_HEAP_H
#define NR_RTOS_HEAP_H

#include <stddef.h>

/* size bytes (0 counts as 1), aligned for any object, or NULL. */
void *nr_rtos_heap_alloc(size_t size);
/* Release p from nr_rtos_heap_alloc; NULL is ignored. */
void nr_rtos_heap_free(void *p);
/* The size p was allocated with (p not NULL). */
size_t nr_rtos_heap_block_size(const void *p);
/* Give the core this heap (nr_mem_set_hooks): before anything of
 * nanorelay runs. */
void nr_rtos_heap_for_core(void);
/* Bytes handed out now, and the most at once since the start. */
void nr_rtos_heap_usage(size_t *in_use, size_t *peak);

/* Count apart the blocks that one task allocates (a TaskHandle_t; NULL:
 * none), wherever they are freed: the relay's own share of a heap that
 * other tasks use too (the mps2-an386 self-test's client and smarthost).
 * Set it before the task allocates. */
void nr_rtos_heap_count_task(void *task);
/* That task's bytes now, and the most at once (each value read whole, the
 * pair not at one instant: also from an interrupt). */
void nr_rtos_heap_task_usage(size_t *in_use, size_t *peak);

#endif /* NR_RTOS_HEAP_H */
