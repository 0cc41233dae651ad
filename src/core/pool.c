/*
 * pool.c - fixed pools of equal-sized objects (see pool.h).
 *
 * One allocation at init holds every slot. Slots are handed out in order
 * the first time, so a slot's memory is touched only once it is used (an
 * idle daemon's pool costs address space, not RAM). A slot given back
 * stores the pointer to the next free one in its first bytes, so the free
 * list costs no extra memory. Slots are rounded up so each one is suitably
 * aligned.
 */
#include "core/pool.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "core/panic.h"
#include "platform.h"

static size_t slot_size(const struct nr_pool *p)
{
	size_t align = _Alignof(max_align_t);
	size_t sz = p->obj_size < sizeof(void *) ? sizeof(void *) : p->obj_size;

	return (sz + align - 1) / align * align;
}

int nr_pool_init(struct nr_pool *p, const char *name, size_t obj_size, size_t count)
{
	size_t slot;

	memset(p, 0, sizeof(*p));
	p->name = name;
	p->obj_size = obj_size;
	slot = slot_size(p);
	if (count == 0 || count > SIZE_MAX / slot)
		return NR_EINVAL;
	p->mem = nr_malloc(slot * count);
	if (!p->mem)
		return NR_ENOMEM;
	p->count = count;
	return 0;
}

void nr_pool_destroy(struct nr_pool *p)
{
	nr_free(p->mem);
	p->mem = NULL;
	p->free_list = NULL;
	p->count = 0;
	p->used = 0;
	p->fresh = 0;
}

void *nr_pool_get(struct nr_pool *p)
{
	void **s = p->free_list;

	if (s)
		p->free_list = *s;
	else if (p->fresh < p->count)
		s = (void **)(void *)(p->mem + p->fresh++ * slot_size(p));
	else
		return NULL;
	memset(s, 0, slot_size(p));
	p->used++;
	if (p->used > p->high_water)
		p->high_water = p->used;
	return s;
}

void nr_pool_put(struct nr_pool *p, void *obj)
{
	size_t off, slot = slot_size(p);

	if (!obj)
		return;
	/* An object from elsewhere, or a pointer into the middle of a slot, is
	 * a bug of ours: putting it on the free list would hand the same
	 * memory out twice. */
	NR_ASSERT((uintptr_t)obj >= (uintptr_t)p->mem);
	off = (size_t)((uintptr_t)obj - (uintptr_t)p->mem);
	NR_ASSERT(off < slot * p->count && off % slot == 0);
	NR_ASSERT(p->used > 0);
	*(void **)obj = p->free_list;
	p->free_list = obj;
	p->used--;
}
