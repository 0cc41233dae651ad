/*
 * pool.h - fixed pools of equal-sized objects, allocated once at start-up.
 *
 * Running out is a normal outcome (NULL), which callers turn into an SMTP
 * reply (421 / 452), never a crash. Objects come back zeroed.
 */
#ifndef NR_CORE_POOL_H
#define NR_CORE_POOL_H

#include <stddef.h>

#include "core/build.h"

struct nr_pool {
	const char *name;
	size_t obj_size;
	size_t count;
	size_t used;
	size_t high_water;
	size_t fresh; /* slots [fresh, count) were never handed out */
	unsigned char *mem;
	void *free_list; /* slots given back */
};

/* Allocate room for count objects of obj_size bytes. NR_ENOMEM. */
int nr_pool_init(struct nr_pool *p, const char *name, size_t obj_size, size_t count) NR_MUST_CHECK;
void nr_pool_destroy(struct nr_pool *p);
/* A zeroed object, or NULL when all are in use. */
void *nr_pool_get(struct nr_pool *p);
/* Return obj, which must come from p (NR_ASSERT); NULL is ignored. */
void nr_pool_put(struct nr_pool *p, void *obj);

#endif /* NR_CORE_POOL_H */
