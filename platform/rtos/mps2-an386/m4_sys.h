/* m4_sys.h - the mps2-an386 board's one heap (m4_sys.c). */
#ifndef NR_M4_SYS_H
#define NR_M4_SYS_H

#include <stddef.h>

/* Blocks of heap_4 with their size in front: what malloc, mbedTLS and the
 * core (nr_mem_set_hooks) all use. */
void *nr_m4_malloc(size_t size);
void nr_m4_free(void *p);
/* Bytes handed out now, and the most at once since the start. */
void nr_m4_heap_usage(size_t *now, size_t *max);

#endif /* NR_M4_SYS_H */
