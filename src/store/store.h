/*
 * store.h - portable storage backends (struct nr_bdev, platform.h).
 *
 * The file and MTD backends live in the platform shims (nr_plat_bdev_open);
 * the RAM backend is portable and lives here. A RAM device behaves like an
 * ideal NOR flash (erase sets 0xFF, program clears bits, sync does nothing)
 * and is not persistent: it survives upstream outages, not a reboot.
 */
#ifndef NR_STORE_STORE_H
#define NR_STORE_STORE_H

#include <stdint.h>

#include "core/build.h"
#include "platform.h"

/* Allocate a RAM device of size bytes cut into sectors of sector_size (a
 * power of two, >= 512; size a multiple of it). Program size is 1. The
 * memory is freed by bd->close(bd). NR_EINVAL, NR_ENOMEM. */
int nr_store_ram_open(struct nr_bdev *out, uint64_t size, uint32_t sector_size) NR_MUST_CHECK;

#endif /* NR_STORE_STORE_H */
