/*
 * store_combine.c - a struct nr_bdev over raw device operations (store.h):
 * the file, mtd and flash backends.
 *
 * Programs that continue one another (the ring appends records at its
 * head) are gathered in a write buffer of WC_SIZE and written with one
 * raw write: bdev.h allows prog() to be buffered until sync(). Any other
 * operation (a program elsewhere, a read that overlaps, an erase, a sync,
 * close) writes the buffer out first, so the device sees every program in
 * order. A program writes the bytes the ring gives (the ring always passes
 * the merged bits), so a device that overwrites rather than ANDs is fine.
 *
 * A failed sync is final: the device then refuses every further sync, so
 * nothing it covered is ever trusted (Linux may drop dirty pages after
 * reporting EIO once: a later "successful" fdatasync would prove nothing).
 * A failed write (buffered or not) or erase is final too, and a stopped
 * device refuses every program and erase as well (reads still work) until
 * it is opened again: the ring, which moves on to the next sector after a
 * failure, would otherwise write past a sector that failed and leave a
 * hole that cuts the older sectors off the ring at recovery (FORMAT.md
 * 3.3), and a program buffered after the failure would still reach the
 * device at close. A restart recovers from what is durable.
 */
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "store/store_int.h"

#define WC_SIZE (32u * 1024) /* write buffer, allocated at the first program */

struct combine_dev {
	struct nr_plat_storage raw;
	int failed;  /* a write, erase or sync failed: stopped (see above) */
	uint8_t *wc; /* write buffer: wc_len bytes for offset wc_off */
	uint32_t wc_off, wc_len;
	uint32_t wc_size; /* WC_SIZE, or 0: no buffer (nr_store_combine_unbuffered) */
};

static int in_device(const struct nr_bdev *bd, uint32_t off, uint32_t len)
{
	return (uint64_t)off + len <= (uint64_t)bd->sector_size * bd->sector_count;
}

/* ret from a raw write or erase; a failure stops the device. */
static int stop_on_failure(struct combine_dev *d, int ret)
{
	if (ret)
		d->failed = 1;
	return ret;
}

/* Write the buffer out; a failure there is final, as a failed sync. */
static int wc_flush(struct combine_dev *d)
{
	int ret;

	if (d->wc_len == 0)
		return 0;
	ret = d->raw.write(d->raw.ctx, d->wc_off, d->wc, d->wc_len);
	d->wc_len = 0;
	return stop_on_failure(d, ret);
}

static int combine_read(struct nr_bdev *bd, uint32_t off, void *buf, uint32_t len)
{
	struct combine_dev *d = bd->ctx;

	if (!in_device(bd, off, len))
		return NR_EINVAL;
	if (d->wc_len && off < d->wc_off + d->wc_len && off + len > d->wc_off && wc_flush(d))
		return NR_EIO;
	return d->raw.read(d->raw.ctx, off, buf, len) ? NR_EIO : 0;
}

static int combine_prog(struct nr_bdev *bd, uint32_t off, const void *buf, uint32_t len)
{
	struct combine_dev *d = bd->ctx;
	int ret;

	if (!in_device(bd, off, len))
		return NR_EINVAL;
	if (d->failed)
		return NR_EIO;
	if (d->wc_len && off == d->wc_off + d->wc_len && d->wc_len + len <= d->wc_size) {
		memcpy(d->wc + d->wc_len, buf, len);
		d->wc_len += len;
		return 0;
	}
	ret = wc_flush(d);
	if (ret)
		return ret;
	if (len < d->wc_size && !d->wc)
		d->wc = nr_malloc(d->wc_size);
	if (len >= d->wc_size || !d->wc)
		return stop_on_failure(d, d->raw.write(d->raw.ctx, off, buf, len));
	memcpy(d->wc, buf, len);
	d->wc_off = off;
	d->wc_len = len;
	return 0;
}

static int combine_erase(struct nr_bdev *bd, uint32_t sector)
{
	struct combine_dev *d = bd->ctx;
	int ret;

	if (sector >= bd->sector_count)
		return NR_EINVAL;
	if (d->failed)
		return NR_EIO;
	ret = wc_flush(d);
	if (ret)
		return ret;
	return stop_on_failure(
	    d, d->raw.erase(d->raw.ctx, (uint64_t)sector * bd->sector_size, bd->sector_size));
}

static int combine_sync(struct nr_bdev *bd)
{
	struct combine_dev *d = bd->ctx;

	if (d->failed || wc_flush(d))
		return NR_EIO;
	return stop_on_failure(d, d->raw.sync(d->raw.ctx)) ? NR_EIO : 0;
}

static void combine_close(struct nr_bdev *bd)
{
	struct combine_dev *d = bd->ctx;

	if (!d)
		return;
	if (!d->failed)
		(void)wc_flush(d); /* nothing unsynced was acknowledged */
	d->raw.close(d->raw.ctx);
	nr_free(d->wc);
	nr_free(d);
	bd->ctx = NULL;
}

static const struct nr_bdev combine_ops = {
    .prog_size = 1,
    .persistent = 1,
    .read = combine_read,
    .prog = combine_prog,
    .erase = combine_erase,
    .sync = combine_sync,
    .close = combine_close,
};

int nr_store_combine_open(struct nr_bdev *out, struct nr_plat_storage *raw, uint32_t sector_size,
			  const char *name)
{
	struct combine_dev *d = NULL;
	int ret = NR_EINVAL;

	memset(out, 0, sizeof(*out));
	if (nr_store_check_geometry(raw->size, sector_size))
		goto out;
	ret = NR_ENOMEM;
	d = nr_calloc(1, sizeof(*d));
	if (!d)
		goto out;
	d->raw = *raw;
	d->wc_size = WC_SIZE;
	nr_store_bdev_init(out, &combine_ops, d, raw->size, sector_size);
	out->name = name;
	out->persistent = !raw->in_ram; /* a file on tmpfs is lost at a power cut */
	return 0;
out:
	raw->close(raw->ctx);
	return ret;
}

void nr_store_combine_unbuffered(struct nr_bdev *bd)
{
	struct combine_dev *d = bd->ctx;

	d->wc_size = 0;
}
