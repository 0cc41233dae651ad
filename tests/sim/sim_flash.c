/* sim_flash.c - NOR flash emulator (see sim_flash.h) and the sim's raw
 * storage openers (none: NR_ENOTSUP). */
#include "sim_flash.h"

#include <stdlib.h>
#include <string.h>

struct nr_sim_flash {
	uint8_t *data;
	uint32_t *wear;
	uint32_t sector_size, sector_count, prog_size;
	uint64_t ops, cut_op;
	enum nr_sim_cut cut_mode;
	uint32_t tear_unit; /* NR_SIM_CUT_PAGES; 0: sector_size / 4 */
	uint32_t rng;
	int off;
	uint64_t fail_sync_in, fail_prog_in;
	int fail_prog_err;
	uint64_t bytes_programmed, programs, erases, syncs, reads, violations;
};

static int is_pow2(uint32_t v)
{
	return v && !(v & (v - 1));
}

static uint32_t rng_next(struct nr_sim_flash *f)
{
	uint32_t x = f->rng ? f->rng : 0x9E3779B9u;
	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	f->rng = x;
	return x;
}

int nr_sim_flash_new(struct nr_sim_flash **out, uint32_t sector_size, uint32_t sector_count,
		     uint32_t prog_size)
{
	int ret = NR_EINVAL;
	struct nr_sim_flash *f = NULL;

	*out = NULL;
	if (!is_pow2(sector_size) || !is_pow2(prog_size) || prog_size > sector_size ||
	    sector_count == 0)
		goto out;
	ret = NR_ENOMEM;
	f = calloc(1, sizeof(*f));
	if (!f)
		goto out;
	f->data = malloc((size_t)sector_size * sector_count);
	f->wear = calloc(sector_count, sizeof(*f->wear));
	if (!f->data || !f->wear)
		goto out;
	memset(f->data, 0xFF, (size_t)sector_size * sector_count);
	f->sector_size = sector_size;
	f->sector_count = sector_count;
	f->prog_size = prog_size;
	*out = f;
	f = NULL;
	ret = 0;
out:
	nr_sim_flash_free(f);
	return ret;
}

void nr_sim_flash_free(struct nr_sim_flash *f)
{
	if (!f)
		return;
	free(f->data);
	free(f->wear);
	free(f);
}

static uint32_t tear_unit(const struct nr_sim_flash *f)
{
	return f->tear_unit && f->tear_unit <= f->sector_size ? f->tear_unit : f->sector_size / 4;
}

/* Count one operation; 1 when this one is the cut (power is then off). */
static int op_is_cut(struct nr_sim_flash *f)
{
	f->ops++;
	if (f->cut_op && f->ops == f->cut_op) {
		f->off = 1;
		return 1;
	}
	return 0;
}

static int sim_read(struct nr_bdev *bd, uint32_t off, void *buf, uint32_t len)
{
	struct nr_sim_flash *f = bd->ctx;

	if (f->off)
		return NR_EIO;
	if ((uint64_t)off + len > (uint64_t)f->sector_size * f->sector_count)
		return NR_EINVAL;
	f->reads++;
	memcpy(buf, f->data + off, len);
	return 0;
}

static int sim_prog(struct nr_bdev *bd, uint32_t off, const void *buf, uint32_t len)
{
	struct nr_sim_flash *f = bd->ctx;
	const uint8_t *src = buf;
	uint32_t i, n = len;

	if (f->off)
		return NR_EIO;
	if ((uint64_t)off + len > (uint64_t)f->sector_size * f->sector_count ||
	    off % f->prog_size || len % f->prog_size) {
		f->violations++;
		return NR_EINVAL;
	}
	if (f->fail_prog_in && --f->fail_prog_in == 0)
		return f->fail_prog_err;
	if (op_is_cut(f)) {
		if (f->cut_mode == NR_SIM_CUT_CLEAN)
			return NR_EIO;
		if (f->cut_mode == NR_SIM_CUT_PAGES) {
			/* whole units land in order, up to a unit boundary */
			uint32_t u = tear_unit(f), end = off + len;
			uint32_t first = (off / u + 1) * u, k;
			k = first >= end ? 0 : 1 + rng_next(f) % ((end - first + u - 1) / u);
			n = k == 0 ? 0 : first + (k - 1) * u - off;
			for (i = 0; i < n; i++)
				f->data[off + i] &= src[i];
			return NR_EIO;
		}
		/* a prefix lands, one byte partly, and (a device may program a
		 * page out of order) odd bytes beyond it */
		n = len ? rng_next(f) % len : 0;
		if (n < len)
			f->data[off + n] &= (uint8_t)(src[n] | rng_next(f));
		for (i = n + 1; (f->rng & 4) && i < len; i++) {
			if ((rng_next(f) & 7) != 0)
				f->data[off + i] &= src[i];
		}
	}
	for (i = 0; i < n; i++)
		f->data[off + i] &= src[i];
	if (f->off)
		return NR_EIO;
	f->programs++;
	f->bytes_programmed += len;
	return 0;
}

static int sim_erase(struct nr_bdev *bd, uint32_t sector)
{
	struct nr_sim_flash *f = bd->ctx;
	uint8_t *p;
	uint32_t i, n;

	if (f->off)
		return NR_EIO;
	if (sector >= f->sector_count) {
		f->violations++;
		return NR_EINVAL;
	}
	p = f->data + (size_t)sector * f->sector_size;
	if (op_is_cut(f)) {
		if (f->cut_mode == NR_SIM_CUT_CLEAN)
			return NR_EIO;
		if (f->cut_mode == NR_SIM_CUT_PAGES) {
			/* a prefix of whole units is erased, the rest untouched */
			memset(p, 0xFF,
			       (size_t)(rng_next(f) % (f->sector_size / tear_unit(f))) *
				   tear_unit(f));
			return NR_EIO;
		}
		/* A half-done erase: a prefix is erased, the rest has random
		 * bits set (never cleared: erase only raises bits). */
		n = rng_next(f) % f->sector_size;
		memset(p, 0xFF, n);
		for (i = n; i < f->sector_size; i++)
			p[i] |= (uint8_t)(rng_next(f) & rng_next(f) & rng_next(f));
		return NR_EIO;
	}
	memset(p, 0xFF, f->sector_size);
	f->wear[sector]++;
	f->erases++;
	return 0;
}

static int sim_sync(struct nr_bdev *bd)
{
	struct nr_sim_flash *f = bd->ctx;

	if (f->off)
		return NR_EIO;
	if (op_is_cut(f))
		return NR_EIO;
	f->syncs++;
	if (f->fail_sync_in && --f->fail_sync_in == 0)
		return NR_EIO;
	return 0;
}

static void sim_close(struct nr_bdev *bd)
{
	(void)bd;
}

void nr_sim_flash_bdev(struct nr_sim_flash *f, struct nr_bdev *bd)
{
	memset(bd, 0, sizeof(*bd));
	bd->ctx = f;
	bd->sector_size = f->sector_size;
	bd->sector_count = f->sector_count;
	bd->prog_size = f->prog_size;
	bd->name = "sim";
	bd->persistent = 1;
	bd->read = sim_read;
	bd->prog = sim_prog;
	bd->erase = sim_erase;
	bd->sync = sim_sync;
	bd->close = sim_close;
}

void nr_sim_flash_cut_at(struct nr_sim_flash *f, uint64_t op, enum nr_sim_cut mode, uint32_t seed)
{
	f->cut_op = op;
	f->cut_mode = mode;
	f->rng = seed;
}

void nr_sim_flash_tear_unit(struct nr_sim_flash *f, uint32_t unit)
{
	f->tear_unit = unit;
}

int nr_sim_flash_is_off(const struct nr_sim_flash *f)
{
	return f->off;
}

void nr_sim_flash_power_on(struct nr_sim_flash *f)
{
	f->off = 0;
	f->cut_op = 0;
}

uint64_t nr_sim_flash_ops(const struct nr_sim_flash *f)
{
	return f->ops;
}

void nr_sim_flash_reset_ops(struct nr_sim_flash *f)
{
	f->ops = 0;
}

void nr_sim_flash_fail_sync(struct nr_sim_flash *f, uint64_t nth)
{
	f->fail_sync_in = nth;
}

void nr_sim_flash_fail_prog(struct nr_sim_flash *f, uint64_t nth, int err)
{
	f->fail_prog_in = nth;
	f->fail_prog_err = err;
}

void nr_sim_flash_stats(const struct nr_sim_flash *f, struct nr_sim_flash_stats *out)
{
	uint64_t sum = 0;
	uint32_t i;

	out->bytes_programmed = f->bytes_programmed;
	out->programs = f->programs;
	out->erases = f->erases;
	out->syncs = f->syncs;
	out->reads = f->reads;
	out->violations = f->violations;
	out->wear_min = UINT32_MAX;
	out->wear_max = 0;
	for (i = 0; i < f->sector_count; i++) {
		sum += f->wear[i];
		if (f->wear[i] < out->wear_min)
			out->wear_min = f->wear[i];
		if (f->wear[i] > out->wear_max)
			out->wear_max = f->wear[i];
	}
	out->wear_mean = (double)sum / f->sector_count;
}

void nr_sim_flash_reset_stats(struct nr_sim_flash *f)
{
	f->bytes_programmed = f->programs = f->erases = f->syncs = f->reads = 0;
	memset(f->wear, 0, sizeof(*f->wear) * f->sector_count);
}

uint32_t nr_sim_flash_wear(const struct nr_sim_flash *f, uint32_t sector)
{
	return sector < f->sector_count ? f->wear[sector] : 0;
}

uint8_t *nr_sim_flash_data(struct nr_sim_flash *f)
{
	return f->data;
}

uint64_t nr_sim_flash_size(const struct nr_sim_flash *f)
{
	return (uint64_t)f->sector_size * f->sector_count;
}

int nr_sim_flash_copy(struct nr_sim_flash *dst, const struct nr_sim_flash *src)
{
	if (dst->sector_size != src->sector_size || dst->sector_count != src->sector_count ||
	    dst->prog_size != src->prog_size)
		return NR_EINVAL;
	memcpy(dst->data, src->data, (size_t)src->sector_size * src->sector_count);
	memcpy(dst->wear, src->wear, sizeof(*src->wear) * src->sector_count);
	return 0;
}

/* ---- the same flash as a board's flash HAL (struct nr_plat_storage) ---- */

static int hal_read(void *ctx, uint64_t off, void *buf, uint32_t len)
{
	struct nr_bdev bd;

	nr_sim_flash_bdev(ctx, &bd);
	return off > UINT32_MAX ? NR_EINVAL : sim_read(&bd, (uint32_t)off, buf, len);
}

/* NOR: a program that would raise a bit is a bug in the caller */
static int hal_write(void *ctx, uint64_t off, const void *buf, uint32_t len)
{
	struct nr_sim_flash *f = ctx;
	const uint8_t *src = buf;
	struct nr_bdev bd;
	uint32_t i;

	if (off + len > nr_sim_flash_size(f))
		return NR_EINVAL;
	for (i = 0; i < len && !f->off; i++) {
		if ((f->data[off + i] & src[i]) != src[i]) {
			f->violations++;
			return NR_EINVAL;
		}
	}
	nr_sim_flash_bdev(f, &bd);
	return sim_prog(&bd, (uint32_t)off, buf, len);
}

static int hal_erase(void *ctx, uint64_t off, uint64_t len)
{
	struct nr_sim_flash *f = ctx;
	struct nr_bdev bd;
	uint64_t s;
	int ret = 0;

	if (off % f->sector_size || len % f->sector_size) {
		f->violations++;
		return NR_EINVAL;
	}
	nr_sim_flash_bdev(f, &bd);
	for (s = off / f->sector_size; ret == 0 && s < (off + len) / f->sector_size; s++)
		ret = sim_erase(&bd, (uint32_t)s);
	return ret;
}

static int hal_sync(void *ctx)
{
	struct nr_bdev bd;

	nr_sim_flash_bdev(ctx, &bd);
	return sim_sync(&bd);
}

static void hal_close(void *ctx)
{
	(void)ctx;
}

void nr_sim_flash_hal(struct nr_sim_flash *f, struct nr_plat_storage *out)
{
	memset(out, 0, sizeof(*out));
	out->ctx = f;
	out->size = nr_sim_flash_size(f);
	out->erase_size = f->sector_size;
	out->write_size = f->prog_size;
	out->read = hal_read;
	out->write = hal_write;
	out->erase = hal_erase;
	out->sync = hal_sync;
	out->close = hal_close;
}

/* ---- raw storage (platform.h): the simulator has no file system, no MTD
 * and no board flash; tests that want a device use nr_sim_flash_new() (and
 * nr_sim_flash_hal()) or the RAM store. */

int nr_plat_bdev_file_open(const char *path, uint64_t size, struct nr_plat_storage *out)
{
	(void)path;
	(void)size;
	memset(out, 0, sizeof(*out));
	return NR_ENOTSUP;
}

int nr_plat_bdev_mtd_open(const char *path, uint64_t size, struct nr_plat_storage *out, char *why,
			  size_t why_size)
{
	(void)path;
	(void)size;
	(void)why;
	(void)why_size;
	memset(out, 0, sizeof(*out));
	return NR_ENOTSUP;
}

int nr_plat_bdev_flash_open(uint64_t size, struct nr_plat_storage *out)
{
	(void)size;
	memset(out, 0, sizeof(*out));
	return NR_ENOTSUP;
}
