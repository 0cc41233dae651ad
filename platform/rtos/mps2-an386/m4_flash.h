/*
 * m4_flash.h - the mps2-an386 board's queue flash: a RAM region behind the
 * flash HAL (platform.h, struct nr_plat_storage) that keeps NOR rules.
 *
 * A program may only turn bits from 1 to 0 (one that would raise a bit is
 * refused with NR_EINVAL and counted: a bug in the caller), programs take
 * whole aligned write units, erase takes whole erase blocks and writes
 * 0xFF. The region lives in .noinit: it survives a warm reset (the reset
 * handler leaves it alone, QEMU does not clear RAM on a system reset) but
 * not a power cut: at power-on it holds no valid marker and is erased, as
 * a new chip. On a real board the same callbacks drive the flash
 * controller.
 */
#ifndef NR_M4_FLASH_H
#define NR_M4_FLASH_H

#include <stdint.h>

#include "platform.h"

#define NR_M4_FLASH_SIZE (64u * 1024u)
#define NR_M4_FLASH_ERASE 4096u
#define NR_M4_FLASH_WRITE 8u

/* The nr_board flash_open hook: size 0 or at most NR_M4_FLASH_SIZE. */
int nr_m4_flash_open(void *ctx, uint64_t size, struct nr_plat_storage *out);

struct nr_m4_flash_stats {
	uint32_t programs, erases, syncs, violations;
	int warm; /* 1: the region's contents came through a warm reset */
};
void nr_m4_flash_stats(struct nr_m4_flash_stats *out);

#endif /* NR_M4_FLASH_H */
