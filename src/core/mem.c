/*
 * mem.c - the core's heap, the C library's or a firmware's (see mem.h).
 *
 * Without hooks the calls go straight to malloc/calloc/realloc/free. With
 * hooks that have no realloc, each block carries its size in a header of
 * one max_align_t in front of it, so nr_realloc can copy what the block
 * holds; with a realloc hook no header is added.
 */
#include "core/mem.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define HDR sizeof(max_align_t)

static struct nr_mem_hooks hooks;
static int hooked;

void nr_mem_set_hooks(const struct nr_mem_hooks *h)
{
	if (h && h->malloc_fn && h->free_fn) {
		hooks = *h;
		hooked = 1;
	} else {
		memset(&hooks, 0, sizeof(hooks));
		hooked = 0;
	}
}

/* Whether blocks from the hooks carry a size header. */
static int sized(void)
{
	return hooked && !hooks.realloc_fn;
}

void *nr_malloc(size_t size)
{
	if (size == 0)
		size = 1;
	if (!hooked)
		return malloc(size);
	if (!sized())
		return hooks.malloc_fn(hooks.ctx, size);
	if (size > SIZE_MAX - HDR)
		return NULL;
	unsigned char *b = hooks.malloc_fn(hooks.ctx, HDR + size);
	if (!b)
		return NULL;
	memcpy(b, &size, sizeof(size));
	return b + HDR;
}

void *nr_calloc(size_t n, size_t size)
{
	if (size && n > SIZE_MAX / size)
		return NULL;
	if (!hooked)
		return calloc(n ? n : 1, size ? size : 1);
	void *p = nr_malloc(n * size);
	if (p)
		memset(p, 0, n * size);
	return p;
}

void nr_free(void *p)
{
	if (!p)
		return;
	if (!hooked)
		free(p);
	else if (!sized())
		hooks.free_fn(hooks.ctx, p);
	else
		hooks.free_fn(hooks.ctx, (unsigned char *)p - HDR);
}

void *nr_realloc(void *p, size_t size)
{
	size_t old;

	if (!p)
		return nr_malloc(size);
	if (size == 0)
		size = 1;
	if (!hooked)
		return realloc(p, size);
	if (!sized())
		return hooks.realloc_fn(hooks.ctx, p, size);
	memcpy(&old, (unsigned char *)p - HDR, sizeof(old));
	void *n = nr_malloc(size);
	if (!n)
		return NULL; /* p is untouched, as with realloc */
	memcpy(n, p, old < size ? old : size);
	nr_free(p);
	return n;
}
