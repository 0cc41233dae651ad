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
 * On a file (raw.write_size 0: a write overwrites, and writing a byte's
 * own value again changes nothing) the buffer is also a window on the
 * device: after it is written out it keeps the newest bytes, and
 *  - a read inside it is served from RAM (delivery reads back the message
 *    just committed: no pread);
 *  - a program inside it (a recipient or message mark on a record just
 *    written) changes the window, and the next write-out covers it and the
 *    records after it in one write: the marks of a loop turn cost no write
 *    of their own;
 *  - a program a few bytes past its end, over bytes known erased (this
 *    layer erased the sector and nothing was programmed there since: the
 *    state area the ring leaves erased after each record) extends it, the
 *    gap filled with 0xFF, which the file already holds.
 * A second window, for reads: a read of up to RD_SMALL bytes outside both
 * that continues the reads before it takes in RD_SIZE bytes from where it
 * starts (delivery reads the queue in
 * order, behind the head when a backlog builds: the next messages are then
 * read from RAM), every program updates the copy, and a mark inside it is
 * written out with the others of its turn in one write.
 * A read never writes anything out: it takes the device's bytes with the
 * windows' over them (every byte not yet written lies in a window). A
 * program elsewhere (a mark on an older record) goes straight to the device,
 * keeping the window; one into the sector erased last (the head moved on)
 * moves the window there; programs between two syncs may
 * reach the file in any order, which the ring allows (it syncs where order matters, as the page
 * cache writes back in any order too). A flash keeps the strict behaviour above: it never sees a
 * byte programmed twice with the same value.
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
#define RD_SIZE (32u * 1024) /* a file's read window, allocated at the first read */
/* Reads up to this size go through the read window (a small message whole,
 * a header); larger ones (a piece of a large message) go straight to the
 * device: a copy less, and the window stays for the small ones. */
#define RD_SMALL (8u * 1024)

struct combine_dev {
	struct nr_plat_storage raw;
	int failed; /* a write, erase or sync failed: stopped (see above) */
	int window; /* a file: the buffer stays a window on the device */
	/* The buffer: wc_len bytes for offset wc_off. Bytes from wc_dirty on
	 * are not written yet; those before it (a window's) are the device's. */
	uint8_t *wc;
	uint32_t wc_off, wc_len, wc_dirty;
	uint32_t wc_size; /* WC_SIZE, or 0: no buffer (nr_store_combine_unbuffered) */
	/* [era_lo, era_hi): bytes this layer erased and nothing programmed
	 * since (the part of the last erased sector past its last program) */
	uint32_t era_lo, era_hi;
	/* The read window: rd_len bytes for offset rd_off, always the bytes
	 * the device holds once written out; [rd_dlo, rd_dhi) not written yet
	 * (empty when rd_dlo >= rd_dhi). */
	uint8_t *rd;
	uint32_t rd_off, rd_len, rd_dlo, rd_dhi;
	uint32_t rd_hint; /* where the last small read ended */
};

static int in_device(const struct nr_bdev *bd, uint32_t off, uint32_t len)
{
	return (uint64_t)off + len <= (uint64_t)bd->sector_size * bd->sector_count;
}

/* ret from a raw write, erase or sync; a failure stops the device. */
static int stop_on_failure(struct combine_dev *d, int ret)
{
	if (ret)
		d->failed = 1;
	return ret;
}

/* Write bytes [lo, hi) of a window of offset woff out (nothing when
 * lo >= hi); a failure stops the device. */
static int write_part(struct combine_dev *d, uint32_t woff, const uint8_t *w, uint32_t lo,
		      uint32_t hi)
{
	if (lo >= hi)
		return 0;
	return stop_on_failure(d, d->raw.write(d->raw.ctx, woff + lo, w + lo, hi - lo));
}

/* Write the unwritten part out; a failure there is final, as a failed
 * sync, and drops the window (it may no longer be the device's). */
static int wc_flush(struct combine_dev *d)
{
	int ret = write_part(d, d->wc_off, d->wc, d->wc_dirty, d->wc_len);

	if (ret || !d->window)
		d->wc_len = 0;
	d->wc_dirty = d->wc_len;
	return ret;
}

/* Write the read window's unwritten part out (as wc_flush). */
static int rd_flush(struct combine_dev *d)
{
	int ret = write_part(d, d->rd_off, d->rd, d->rd_dlo, d->rd_dhi);

	if (ret)
		d->rd_len = 0;
	d->rd_dlo = d->rd_dhi = 0;
	return ret;
}

static int flush_all(struct combine_dev *d)
{
	int ret = wc_flush(d), ret2 = rd_flush(d);

	return ret ? ret : ret2;
}

static int inside(uint32_t off, uint32_t len, uint32_t woff, uint32_t wlen)
{
	return wlen && off >= woff && off + len <= woff + wlen;
}

/* The part of a program of [off, off + len) that falls in a window of
 * wlen bytes for woff, copied there. */
static void copy_in(uint8_t *w, uint32_t woff, uint32_t wlen, uint32_t off, const void *buf,
		    uint32_t len)
{
	uint32_t lo = NR_MAX(off, woff), hi = NR_MIN(off + len, woff + wlen);

	if (wlen && lo < hi)
		memcpy(w + (lo - woff), (const uint8_t *)buf + (lo - off), hi - lo);
}

/* The part of a window that falls in [off, off + len), copied to buf: a
 * read from the device, made what it reads once the windows are written
 * (every byte not yet written lies in a window). */
static void copy_out(void *buf, uint32_t off, uint32_t len, const uint8_t *w, uint32_t woff,
		     uint32_t wlen)
{
	uint32_t lo = NR_MAX(off, woff), hi = NR_MIN(off + len, woff + wlen);

	if (wlen && lo < hi)
		memcpy((uint8_t *)buf + (lo - off), w + (lo - woff), hi - lo);
}

/* A read at off continues the one before it: it starts inside it or at
 * most a state area past its end (a delivery reader walking the records
 * of the messages written beside its own). */
#define RD_GAP 64u
static int in_order(const struct combine_dev *d, uint32_t off)
{
	return off <= d->rd_hint + RD_GAP && (uint64_t)off + RD_SIZE >= d->rd_hint;
}

/* Take RD_SIZE bytes from off into the read window. 0, or NR_EIO; 1 when
 * there is no window to fill. */
static int rd_fill(struct nr_bdev *bd, struct combine_dev *d, uint32_t off)
{
	uint32_t n = NR_MIN(RD_SIZE, bd->sector_size * bd->sector_count - off);

	if (!d->rd)
		d->rd = nr_malloc(RD_SIZE);
	if (!d->rd)
		return 1;
	if (rd_flush(d)) /* its marks, before the copy goes */
		return NR_EIO;
	d->rd_len = 0;
	if (d->raw.read(d->raw.ctx, off, d->rd, n))
		return NR_EIO;
	copy_out(d->rd, off, n, d->wc, d->wc_off, d->wc_len);
	d->rd_off = off;
	d->rd_len = n;
	return 0;
}

/* A program of [off, off + len): the erased run shrinks. */
static void era_programmed(struct combine_dev *d, uint32_t off, uint32_t len)
{
	if (off >= d->era_hi || off + len <= d->era_lo)
		return;
	if (off <= d->era_lo)
		d->era_lo = NR_MIN(d->era_hi, off + len);
	else
		d->era_hi = off; /* keep the part below it */
}

static int combine_read(struct nr_bdev *bd, uint32_t off, void *buf, uint32_t len)
{
	struct combine_dev *d = bd->ctx;
	int ret, ordered = in_order(d, off);

	if (!in_device(bd, off, len))
		return NR_EINVAL;
	if (len <= RD_SMALL)
		d->rd_hint = off + len;
	if (d->window && inside(off, len, d->wc_off, d->wc_len)) {
		memcpy(buf, d->wc + (off - d->wc_off), len);
		return 0;
	}
	if (d->window && len <= RD_SMALL && !inside(off, len, d->rd_off, d->rd_len)) {
		/* only where reads go on in order (delivery, message after
		 * message): recovery's sparse header reads would fetch 32 KiB
		 * for every 24 bytes, the whole device at a start */
		if (ordered) {
			ret = rd_fill(bd, d, off);
			if (ret < 0)
				return NR_EIO;
		}
	}
	if (d->window && inside(off, len, d->rd_off, d->rd_len)) {
		memcpy(buf, d->rd + (off - d->rd_off), len);
		return 0;
	}
	if (d->window) {
		/* the device, with what the windows hold over it */
		if (d->raw.read(d->raw.ctx, off, buf, len))
			return NR_EIO;
		copy_out(buf, off, len, d->wc, d->wc_off, d->wc_len);
		copy_out(buf, off, len, d->rd, d->rd_off, d->rd_len);
		return 0;
	}
	if (d->wc_len && off < d->wc_off + d->wc_len && off + len > d->wc_off && wc_flush(d))
		return NR_EIO;
	return d->raw.read(d->raw.ctx, off, buf, len) ? NR_EIO : 0;
}

/* Bytes of erased gap a window may fill to append at off (0: none). */
static uint32_t window_gap(const struct combine_dev *d, uint32_t off, uint32_t len)
{
	uint32_t end = d->wc_off + d->wc_len;

	if (!d->window || !d->wc_len || off <= end || end != d->era_lo || off + len > d->era_hi)
		return 0;
	return off - end;
}

/* Room at the window's end for add more bytes: written out, its oldest
 * bytes dropped (the newest 4 KiB kept, for the marks to come). */
static int window_make_room(struct combine_dev *d, uint32_t add)
{
	uint32_t keep;
	int ret;

	if (d->wc_len + add <= WC_SIZE)
		return 0;
	ret = wc_flush(d);
	if (ret)
		return ret;
	keep = add < WC_SIZE ? NR_MIN(d->wc_len, NR_MIN(WC_SIZE / 8, WC_SIZE - add)) : 0;
	memmove(d->wc, d->wc + d->wc_len - keep, keep);
	d->wc_off += d->wc_len - keep;
	d->wc_len = d->wc_dirty = keep;
	return 0;
}

static int combine_prog(struct nr_bdev *bd, uint32_t off, const void *buf, uint32_t len)
{
	struct combine_dev *d = bd->ctx;
	uint32_t gap;
	int ret, fresh;

	if (!in_device(bd, off, len))
		return NR_EINVAL;
	if (d->failed)
		return NR_EIO;
	/* into the sector erased last, untouched since: the head's records */
	fresh = off >= d->era_lo && off + len <= d->era_hi;
	gap = window_gap(d, off, len);
	era_programmed(d, off - gap, gap + len);
	/* both windows stay copies of the device-to-be, whoever writes */
	copy_in(d->rd, d->rd_off, d->rd_len, off, buf, len);
	if (d->window)
		copy_in(d->wc, d->wc_off, d->wc_len, off, buf, len);
	if (d->window && inside(off, len, d->wc_off, d->wc_len)) {
		d->wc_dirty = NR_MIN(d->wc_dirty, off - d->wc_off); /* a mark */
		return 0;
	}
	if (d->wc_len && off == d->wc_off + d->wc_len + gap) {
		if (d->window) {
			ret = window_make_room(d, gap + len);
			if (ret)
				return ret;
			if (d->wc_len == 0)
				gap = 0; /* nothing kept: start afresh below */
		}
		if (d->wc_len && d->wc_len + gap + len <= d->wc_size) {
			memset(d->wc + d->wc_len, 0xFF, gap);
			memcpy(d->wc + d->wc_len + gap, buf, len);
			d->wc_dirty = NR_MIN(d->wc_dirty, d->wc_len);
			d->wc_len += gap + len;
			return 0;
		}
	}
	if (d->window && inside(off, len, d->rd_off, d->rd_len)) {
		/* a mark on a record delivery read: written at the next flush */
		d->rd_dlo =
		    d->rd_dlo < d->rd_dhi ? NR_MIN(d->rd_dlo, off - d->rd_off) : off - d->rd_off;
		d->rd_dhi = NR_MAX(d->rd_dhi, off + len - d->rd_off);
		return 0;
	}
	if (d->window && d->wc_len && !fresh &&
	    (off >= d->wc_off + d->wc_len || off + len <= d->wc_off)) {
		/* elsewhere (a mark on an older record): straight to the
		 * device, the windows stay. The head's records in a newly
		 * erased sector move the write window there instead (below):
		 * else it stayed behind in the last sector and each record
		 * went out in a write of its own. */
		return stop_on_failure(d, d->raw.write(d->raw.ctx, off, buf, len));
	}
	ret = wc_flush(d);
	if (ret)
		return ret;
	d->wc_len = d->wc_dirty = 0;
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
	uint32_t lo = sector * bd->sector_size;
	int ret;

	if (sector >= bd->sector_count)
		return NR_EINVAL;
	if (d->failed)
		return NR_EIO;
	ret = flush_all(d);
	if (ret)
		return ret;
	if (d->wc_len && lo < d->wc_off + d->wc_len && lo + bd->sector_size > d->wc_off)
		d->wc_len = d->wc_dirty = 0; /* the window's bytes go */
	if (d->rd_len && lo < d->rd_off + d->rd_len && lo + bd->sector_size > d->rd_off)
		d->rd_len = 0;
	ret = stop_on_failure(d, d->raw.erase(d->raw.ctx, (uint64_t)lo, bd->sector_size));
	d->era_lo = d->era_hi = 0;
	if (ret == 0) {
		d->era_lo = lo;
		d->era_hi = lo + bd->sector_size;
	}
	return ret;
}

static int combine_sync(struct nr_bdev *bd)
{
	struct combine_dev *d = bd->ctx;

	if (d->failed || flush_all(d))
		return NR_EIO;
	return stop_on_failure(d, d->raw.sync(d->raw.ctx)) ? NR_EIO : 0;
}

static void combine_close(struct nr_bdev *bd)
{
	struct combine_dev *d = bd->ctx;

	if (!d)
		return;
	if (!d->failed)
		(void)flush_all(d); /* nothing unsynced was acknowledged */
	d->raw.close(d->raw.ctx);
	nr_free(d->wc);
	nr_free(d->rd);
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
	d->window = raw->write_size == 0;
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
	d->window = 0;
}
