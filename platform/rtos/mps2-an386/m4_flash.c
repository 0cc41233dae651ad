/*
 * m4_flash.c - the queue flash of the mps2-an386 board (m4_flash.h): NOR
 * rules over a RAM region that a warm reset keeps.
 */
#include <string.h>

#include "m4_flash.h"

/* The region and its marker: the marker says "this RAM holds a flash
 * image", written once the region was erased at power-on. */
#define MARK 0x4e52464cu /* "NRFL" */
static struct {
	uint32_t mark, size;
	uint8_t bytes[NR_M4_FLASH_SIZE];
} region __attribute__((section(".noinit"), aligned(8)));

static struct nr_m4_flash_stats stats;

static int inside(uint64_t off, uint64_t len)
{
	return off <= NR_M4_FLASH_SIZE && len <= NR_M4_FLASH_SIZE - off;
}

static int mf_read(void *ctx, uint64_t off, void *buf, uint32_t len)
{
	(void)ctx;
	if (!inside(off, len))
		return NR_EINVAL;
	memcpy(buf, region.bytes + off, len);
	return 0;
}

/* A program: whole aligned write units, no bit from 0 to 1 (all checked
 * before a byte changes). */
static int mf_write(void *ctx, uint64_t off, const void *buf, uint32_t len)
{
	const uint8_t *src = buf;

	(void)ctx;
	if (!inside(off, len) || off % NR_M4_FLASH_WRITE || len % NR_M4_FLASH_WRITE) {
		stats.violations++;
		return NR_EINVAL;
	}
	for (uint32_t i = 0; i < len; i++) {
		if ((region.bytes[off + i] & src[i]) != src[i]) {
			stats.violations++;
			return NR_EINVAL;
		}
	}
	memcpy(region.bytes + off, src, len);
	stats.programs++;
	return 0;
}

static int mf_erase(void *ctx, uint64_t off, uint64_t len)
{
	(void)ctx;
	if (!inside(off, len) || off % NR_M4_FLASH_ERASE || len % NR_M4_FLASH_ERASE) {
		stats.violations++;
		return NR_EINVAL;
	}
	memset(region.bytes + off, 0xFF, (size_t)len);
	stats.erases += (uint32_t)(len / NR_M4_FLASH_ERASE);
	return 0;
}

static int mf_sync(void *ctx)
{
	(void)ctx;
	stats.syncs++; /* RAM: every program is already in place */
	return 0;
}

static void mf_close(void *ctx)
{
	(void)ctx;
}

int nr_m4_flash_open(void *ctx, uint64_t size, struct nr_plat_storage *out)
{
	(void)ctx;
	memset(out, 0, sizeof(*out));
	if (size > NR_M4_FLASH_SIZE || size % NR_M4_FLASH_ERASE)
		return NR_EINVAL;
	if (region.mark != MARK || region.size != NR_M4_FLASH_SIZE) {
		memset(region.bytes, 0xFF, sizeof(region.bytes)); /* power-on: a new chip */
		region.size = NR_M4_FLASH_SIZE;
		region.mark = MARK;
		stats.warm = 0;
	} else {
		stats.warm = 1;
	}
	out->size = size ? size : NR_M4_FLASH_SIZE;
	out->erase_size = NR_M4_FLASH_ERASE;
	out->write_size = NR_M4_FLASH_WRITE;
	out->in_ram = 1;
	out->read = mf_read;
	out->write = mf_write;
	out->erase = mf_erase;
	out->sync = mf_sync;
	out->close = mf_close;
	return 0;
}

void nr_m4_flash_stats(struct nr_m4_flash_stats *out)
{
	*out = stats;
}
