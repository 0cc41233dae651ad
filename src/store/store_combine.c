/*
 * store_combine.c - a struct nr_bdev over raw device operations (store.h):
 * the file backend today, MTD and RTOS flash drivers tomorrow.
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
 * A buffered write that fails is treated as a failed sync.
 */
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "store/store_int.h"

#define WC_SIZE (32u * 1024) /* write buffer, allocated at the first program */

struct combine_dev {
	struct nr_plat_storage raw;
	int sync_failed;
	uint8_t *wc; /* write buffer: wc_len bytes for offset wc_off */
	uint32_t wc_off, wc_len;
};

static int in_device(const struct nr_bdev *bd, uint32_t off, uint32_t len)
{
	return (uint64_t)off + len <= (uint64_t)bd->sector_size * bd->sector_count;
}

/* Write the buffer out; a failure there is final, as a failed sync. */
static int wc_flush(struct combine_dev *d)
{
	int ret;

	if (d->wc_len == 0)
		return 0;
	ret = d->raw.write(d->raw.ctx, d->wc_off, d->wc, d->wc_len);
	d->wc_len = 0;
	if (ret)
		d->sync_failed = 1;
	return ret;
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
	if (d->wc_len && off == d->wc_off + d->wc_len && d->wc_len + len <= WC_SIZE) {
		memcpy(d->wc + d->wc_len, buf, len);
		d->wc_len += len;
		return 0;
	}
	ret = wc_flush(d);
	if (ret)
		return ret;
	if (len < WC_SIZE && !d->wc)
		d->wc = nr_malloc(WC_SIZE);
	if (len >= WC_SIZE || !d->wc)
		return d->raw.write(d->raw.ctx, off, buf, len);
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
	ret = wc_flush(d);
	if (ret)
		return ret;
	return d->raw.erase(d->raw.ctx, (uint64_t)sector * bd->sector_size, bd->sector_size);
}

static int combine_sync(struct nr_bdev *bd)
{
	struct combine_dev *d = bd->ctx;

	if (d->sync_failed || wc_flush(d))
		return NR_EIO;
	if (d->raw.sync(d->raw.ctx) != 0) {
		d->sync_failed = 1;
		return NR_EIO;
	}
	return 0;
}

static void combine_close(struct nr_bdev *bd)
{
	struct combine_dev *d = bd->ctx;

	if (!d)
		return;
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
	nr_store_bdev_init(out, &combine_ops, d, raw->size, sector_size);
	out->name = name;
	out->persistent = !raw->in_ram; /* a file on tmpfs is lost at a power cut */
	return 0;
out:
	raw->close(raw->ctx);
	return ret;
}
