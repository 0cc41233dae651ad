/*
 * mem.h - the one place the core takes heap memory from.
 *
 * Every allocation of the core goes through nr_malloc, nr_calloc,
 * nr_realloc and nr_free. By default they are the C library's; a firmware
 * that keeps its own heap (FreeRTOS's pvPortMalloc/vPortFree, a static
 * arena, a counting allocator in a test) points them at it with one call
 * to nr_mem_set_hooks(), before anything else of nanorelay runs. The TLS
 * and DNS libraries keep their own allocators (mbedTLS:
 * mbedtls_platform_set_calloc_free; c-ares: ares_library_init_mem).
 *
 * A NULL from a hook is an ordinary allocation failure: the caller returns
 * NR_ENOMEM, a session gets 421/451/452/454, nothing crashes. None of these
 * calls blocks unless the hooks do.
 */
#ifndef NR_CORE_MEM_H
#define NR_CORE_MEM_H

#include <stddef.h>

struct nr_mem_hooks {
	/* size bytes, suitably aligned for any object, or NULL. Never called
	 * with size 0. */
	void *(*malloc_fn)(void *ctx, size_t size);
	/* Release p (never NULL) from malloc_fn or realloc_fn. */
	void (*free_fn)(void *ctx, void *p);
	/* Optional, as C's realloc (p never NULL, size never 0). NULL: the
	 * core keeps each block's size in a header of its own (one
	 * max_align_t per block) and moves the block itself. */
	void *(*realloc_fn)(void *ctx, void *p, size_t size);
	void *ctx;
};

/* Use h from now on (copied); NULL: back to the C library. Call it while
 * no block of the core is allocated (before the relay is created, after it
 * is destroyed): a block must go back to the allocator it came from. */
void nr_mem_set_hooks(const struct nr_mem_hooks *h);

/* As the C library's; nr_malloc(0) and nr_calloc(n, 0) return a unique
 * non-NULL pointer; nr_calloc checks n * size for overflow; nr_free(NULL)
 * does nothing; nr_realloc(NULL, size) is nr_malloc(size). */
void *nr_malloc(size_t size);
void *nr_calloc(size_t n, size_t size);
void *nr_realloc(void *p, size_t size);
void nr_free(void *p);

#endif /* NR_CORE_MEM_H */
