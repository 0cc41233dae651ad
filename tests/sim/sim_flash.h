/*
 * sim_flash.h - a NOR flash emulator behind struct nr_bdev, for unit tests,
 * power-loss tests, fuzzing and benchmarks.
 *
 * NOR rules: program only clears bits (new = old & data), erase sets a whole
 * sector to 0xFF, program offsets and lengths are multiples of prog_size (a
 * violation is NR_EINVAL and counted). Every program, erase and sync is one
 * numbered operation (reads are not). A power cut can be armed at operation
 * N: that operation is lost (CUT_CLEAN) or half done (CUT_TORN: a program
 * lands a random prefix plus a random subset of bits of the next byte; an
 * erase sets a random prefix of the sector to 0xFF and random bits of the
 * rest), and from then on every call fails with NR_EIO until
 * nr_sim_flash_power_on(). CUT_PAGES is the tear of a device that works in
 * pages of a tear unit, front to back (the file backend's pwrite of 0xFF
 * pages, an MTD or a SPI NOR erasing a block as sub-blocks): a cut erase
 * leaves a prefix of whole units erased and the rest exactly as it was
 * (old records with good CRCs), a cut program lands up to a unit boundary.
 * Counters: bytes programmed, erases, syncs, erases per sector (wear).
 * Faults: the n-th next sync or program fails.
 */
#ifndef NR_SIM_FLASH_H
#define NR_SIM_FLASH_H

#include <stdint.h>

#include "store/bdev.h"

struct nr_sim_flash;

enum nr_sim_cut { NR_SIM_CUT_CLEAN = 0, NR_SIM_CUT_TORN = 1, NR_SIM_CUT_PAGES = 2 };

/* A fresh device, all 0xFF. NR_EINVAL for a bad geometry, NR_ENOMEM. */
int nr_sim_flash_new(struct nr_sim_flash **out, uint32_t sector_size, uint32_t sector_count,
		     uint32_t prog_size);
void nr_sim_flash_free(struct nr_sim_flash *f);

/* Fill bd with callbacks on f (name "sim", persistent). bd->close does not
 * free f. */
void nr_sim_flash_bdev(struct nr_sim_flash *f, struct nr_bdev *bd);

/* The same flash as a board's flash HAL (platform.h, struct
 * nr_plat_storage: geometry from f, write_size = prog_size), for the flash
 * backend (store.h): the same operation count, cuts and faults. A write
 * that would raise a bit (0 -> 1) is refused (NR_EINVAL) and counted as a
 * violation. close does not free f. */
void nr_sim_flash_hal(struct nr_sim_flash *f, struct nr_plat_storage *out);

/* Cut power at operation number op (counting from 1 since the last
 * nr_sim_flash_reset_ops); 0 disarms. seed drives the torn patterns. */
void nr_sim_flash_cut_at(struct nr_sim_flash *f, uint64_t op, enum nr_sim_cut mode, uint32_t seed);
/* The unit of NR_SIM_CUT_PAGES (a power of two dividing the sector size;
 * 0: a quarter of a sector). */
void nr_sim_flash_tear_unit(struct nr_sim_flash *f, uint32_t unit);
/* 1 once a cut has happened (and until power_on). */
int nr_sim_flash_is_off(const struct nr_sim_flash *f);
/* Restore power (keeps the contents, disarms the cut). */
void nr_sim_flash_power_on(struct nr_sim_flash *f);
/* Operations (program, erase, sync) since the last reset. */
uint64_t nr_sim_flash_ops(const struct nr_sim_flash *f);
void nr_sim_flash_reset_ops(struct nr_sim_flash *f);

/* Make the n-th next sync (1 = the next one) return NR_EIO, or the n-th next
 * program return err (NR_EIO or NR_ENOSPC) having programmed nothing. 0
 * disarms. */
void nr_sim_flash_fail_sync(struct nr_sim_flash *f, uint64_t nth);
void nr_sim_flash_fail_prog(struct nr_sim_flash *f, uint64_t nth, int err);

struct nr_sim_flash_stats {
	uint64_t bytes_programmed, programs, erases, syncs, reads, violations;
	uint32_t wear_min, wear_max; /* erases per sector */
	double wear_mean;
};
void nr_sim_flash_stats(const struct nr_sim_flash *f, struct nr_sim_flash_stats *out);
void nr_sim_flash_reset_stats(struct nr_sim_flash *f);
uint32_t nr_sim_flash_wear(const struct nr_sim_flash *f, uint32_t sector);

/* Raw contents (size = sector_size * sector_count) for fuzzing and tests
 * that corrupt bytes on purpose. */
uint8_t *nr_sim_flash_data(struct nr_sim_flash *f);
uint64_t nr_sim_flash_size(const struct nr_sim_flash *f);

/* Copy the whole contents and counters of src into dst (same geometry). */
int nr_sim_flash_copy(struct nr_sim_flash *dst, const struct nr_sim_flash *src);

#endif /* NR_SIM_FLASH_H */
