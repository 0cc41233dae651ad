/*
 * store.h - the storage backends: each opens a struct nr_bdev (bdev.h).
 *
 *   ram    portable (store_ram.c): an ideal NOR flash in RAM (erase sets
 *          0xFF, program clears bits, sync does nothing). Not persistent:
 *          it survives upstream outages, not a reboot.
 *   file   a preallocated file from the shim (nr_plat_bdev_file_open),
 *          made a block device by store_combine.c.
 *   mtd    a raw NOR partition from the shim (nr_plat_bdev_mtd_open),
 *          sectors = its erase blocks, through the same combiner
 *          (store_mtd.c: never formats another file system).
 *   flash  the board's flash HAL (platform.h: nr_plat_bdev_flash_open, or
 *          given by the firmware), the same way as mtd (store_mtd.c), with
 *          the program size = the HAL's write unit.
 *
 * Geometry for all: sector_size a power of two, >= 512; size a multiple of
 * it and at most 4 GiB. The memory and the device are released by
 * bd->close(bd).
 */
#ifndef NR_STORE_STORE_H
#define NR_STORE_STORE_H

#include <stdint.h>

#include "core/build.h"
#include "store/bdev.h"

/* The sector size of a RAM queue and of a small file queue: a page. */
#define NR_STORE_SECTOR_SIZE 4096u

/* Allocate a RAM device of size bytes cut into sectors of sector_size.
 * Program size is 1. NR_EINVAL, NR_ENOMEM. */
int nr_store_ram_open(struct nr_bdev *out, uint64_t size, uint32_t sector_size) NR_MUST_CHECK;

/* The file at path (created, preallocated and erased when missing; an
 * existing file of another size is NR_EINVAL, never reinterpreted) as a
 * persistent device of size bytes: programs are gathered by the write
 * combiner, sync is the shim's (fdatasync on Linux), and a failed sync is
 * final (every later sync fails too). Program size 1. NR_EINVAL, NR_EPERM, NR_EROFS,
 * NR_ENOSPC, NR_ENOTFOUND, NR_ENOMEM, NR_EIO. */
int nr_store_file_open(struct nr_bdev *out, const char *path, uint64_t size,
		       uint32_t sector_size) NR_MUST_CHECK;

/* A raw NOR partition (Linux MTD: "/dev/mtdN" or a /proc/mtd name); size
 * 0: the whole partition. The sector size is the erase block. Opened only
 * when it holds a queue ring (sector headers, FORMAT.md 1.1) or is erased
 * (all 0xFF): JFFS2 or UBI found is NR_EBUSY, other data NR_ECORRUPT, so
 * nothing is ever formatted by accident. why (why_size bytes, may be
 * NULL) gets the reason for the log; errors as nr_plat_bdev_mtd_open, and
 * NR_ENOTSUP when the build leaves mtd out. */
int nr_store_mtd_open(struct nr_bdev *out, const char *path, uint64_t size, char *why,
		      size_t why_size) NR_MUST_CHECK;

/* The board's flash region (`queue flash`, from nr_plat_bdev_flash_open);
 * size 0: all of it, else its first size bytes. Sectors are its erase
 * blocks, the program size its write unit (FORMAT.md: P). Opened, like an
 * mtd partition, only when it holds a ring or is erased: JFFS2 or UBI
 * found is NR_EBUSY, other data NR_ECORRUPT. why (why_size bytes, may be
 * NULL) gets the reason for the log. NR_ENOTSUP when the build leaves
 * flash out or the platform has no flash HAL, NR_ENOTFOUND when the board
 * registered none, NR_EINVAL (geometry, size), NR_EIO, NR_ENOMEM. */
int nr_store_flash_open(struct nr_bdev *out, uint64_t size, char *why,
			size_t why_size) NR_MUST_CHECK;

/* The same over a flash HAL the firmware hands over itself (the embedding
 * API; tests). Takes hal over: hal->close is called by bd->close, or
 * before a failure returns. Geometry: platform.h, struct nr_plat_storage.
 * Errors as nr_store_flash_open, without NR_ENOTSUP: this works in every
 * build. */
int nr_store_flash_open_hal(struct nr_bdev *out, struct nr_plat_storage *hal, char *why,
			    size_t why_size) NR_MUST_CHECK;

/* The sector size for a new file queue of size bytes. Every sector the
 * ring moves into costs one sync first (FORMAT.md 1.2), so a file of 4 MiB
 * or more gets large sectors: the largest power of two from 64 KiB up to
 * 1 MiB that is at most 1/256 of the file (the two reserve sectors stay
 * under 1 % of it) and divides its size. Else NR_STORE_SECTOR_SIZE. A file
 * that already holds a queue keeps the size it was formatted with
 * (nr_queue_probe_sector_size). */
uint32_t nr_store_file_sector_size(uint64_t size);

/* ---- for backends over raw device operations ---------------------------- */

/* Make a block device of sector_size sectors over raw (whose size must be
 * a multiple of it): erase is raw->erase of one sector, programs that
 * continue one another are gathered in a 32 KiB buffer and written at
 * once (any other operation writes the buffer out first, so the device
 * sees every program in order), and a failed write, erase or sync is
 * final: every later program, erase and sync fails (reads still work)
 * until the device is opened again. Takes raw over (closed by bd->close, also on failure). name as
 * in struct nr_bdev; persistent unless raw->in_ram. NR_EINVAL, NR_ENOMEM. */
int nr_store_combine_open(struct nr_bdev *out, struct nr_plat_storage *raw, uint32_t sector_size,
			  const char *name) NR_MUST_CHECK;

#endif /* NR_STORE_STORE_H */
