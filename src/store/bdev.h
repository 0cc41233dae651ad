/*
 * bdev.h - the block device the queue ring lives on (src/queue/FORMAT.md):
 * callbacks plus geometry, as littlefs's lfs_config. Every backend in
 * src/store/ (store.h) hands one out; the platform shims only supply raw
 * device operations (platform.h, struct nr_plat_storage).
 */
#ifndef NR_STORE_BDEV_H
#define NR_STORE_BDEV_H

#include <stdint.h>

#include "platform.h"

/*
 * A storage device has NOR-flash semantics, which every backend honours or
 * exceeds: a sector must be erased (all bytes 0xFF) before it is programmed;
 * program can only turn bits from 1 to 0 (so clearing more bits in an
 * already programmed word is allowed); reads return what was programmed.
 * prog() may be buffered until sync(); sync() returns only when everything
 * programmed or erased before it is durable. A failed sync is final for the
 * data it covered: callers must not retry it and then trust the data.
 * A persistent backend also stops after a failed prog or erase: every
 * later prog, erase and sync fails until it is opened again (the ring
 * moves on to the next sector after a failure; writing past a sector that
 * failed would cut the older ones off at recovery).
 *
 * Offsets are absolute bytes within the device. prog offsets and lengths are
 * multiples of prog_size; erase takes a sector index.
 */
struct nr_bdev {
	void *ctx;             /* the backend's own state */
	uint32_t sector_size;  /* erase unit in bytes */
	uint32_t sector_count; /* number of sectors */
	uint32_t prog_size;    /* program granularity (1, 4, 8, 16 ...) */
	const char *name;      /* "ram", "file", "mtd", "flash", "sim" */
	int persistent;        /* 1 when contents survive a power cut */

	int (*read)(struct nr_bdev *bd, uint32_t off, void *buf, uint32_t len);
	int (*prog)(struct nr_bdev *bd, uint32_t off, const void *buf, uint32_t len);
	int (*erase)(struct nr_bdev *bd, uint32_t sector);
	int (*sync)(struct nr_bdev *bd);
	void (*close)(struct nr_bdev *bd);
};

#endif /* NR_STORE_BDEV_H */
