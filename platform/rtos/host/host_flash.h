/*
 * host_flash.h - the host RTOS board's flash: a NOR flash emulator behind
 * the flash HAL (platform.h, struct nr_plat_storage), backed by a host
 * file, so that restarts and kill -9 behave as on a board.
 *
 * NOR rules are kept, not just imitated: a program may only turn bits from
 * 1 to 0 (one that would raise a bit is refused with NR_EINVAL and counted:
 * that is a bug in the caller, never silently ANDed), programs take whole
 * aligned write units, erase takes whole erase blocks and writes 0xFF,
 * sync is fdatasync. A new file is created erased (all 0xFF), as a new
 * chip; an existing one of another size is refused. The file is locked
 * (flock) while open: two relays never share a flash.
 *
 * For tests: the n-th next program or erase can be made to fail as a
 * failing chip may (half done), and counters tell what reached the flash.
 * Plain C and POSIX file calls: no FreeRTOS needed.
 */
#ifndef NR_HOST_FLASH_H
#define NR_HOST_FLASH_H

#include <stdint.h>

#include "platform.h"

/* Open (or create) the file at path as a flash of size bytes, erase blocks
 * of erase_size and write units of write_size (powers of two; size a
 * multiple of erase_size). out's close releases it. NR_EINVAL (geometry,
 * another size), NR_EBUSY (locked by another process), NR_EPERM,
 * NR_ENOTFOUND, NR_ENOSPC, NR_ENOMEM, NR_EIO. */
int nr_host_flash_open(const char *path, uint64_t size, uint32_t erase_size, uint32_t write_size,
		       struct nr_plat_storage *out);

enum nr_host_flash_op { NR_HOST_FLASH_PROGRAM, NR_HOST_FLASH_ERASE };

/* Make the nth next program or erase (1 = the next one) of the open flash
 * st fail with NR_EIO: a program lands its first half (whole write units),
 * an erase erases the first half of its first block. 0 disarms. */
void nr_host_flash_fail(struct nr_plat_storage *st, enum nr_host_flash_op op, uint64_t nth);

struct nr_host_flash_stats {
	uint64_t programs, erases, syncs;
	uint64_t violations; /* programs refused: 0 -> 1, misaligned, outside */
};
void nr_host_flash_stats(const struct nr_plat_storage *st, struct nr_host_flash_stats *out);

#endif /* NR_HOST_FLASH_H */
