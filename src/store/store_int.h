/* store_int.h - what the backends in src/store/ share; not for others. */
#ifndef NR_STORE_INT_H
#define NR_STORE_INT_H

#include "store/store.h"

/* 0 when size bytes in sectors of sector_size is a geometry every backend
 * takes (store.h), else NR_EINVAL. */
int nr_store_check_geometry(uint64_t size, uint32_t sector_size);

/* Fill out for a device of size bytes (geometry checked) with the ops of
 * ops_from (read, prog, erase, sync, close) and ctx. */
void nr_store_bdev_init(struct nr_bdev *out, const struct nr_bdev *ops_from, void *ctx,
			uint64_t size, uint32_t sector_size);

/* Give every program of a combiner device (nr_store_combine_open) straight
 * to the raw device, before its first program: no write buffer. For a
 * flash, whose programs the ring already makes whole units of a record each
 * and which a board has little RAM for. */
void nr_store_combine_unbuffered(struct nr_bdev *bd);

#endif /* NR_STORE_INT_H */
