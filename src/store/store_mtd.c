/*
 * store_mtd.c - the raw NOR backends (store.h): mtd, a partition from the
 * Linux shim, and flash, a region from the board's flash HAL. Both are cut
 * into sectors of their erase block and go through the write combiner;
 * they differ in where the device comes from and in the program size (see
 * open_nor).
 *
 * Before the ring may touch it, the device must be ours or empty. The
 * first bytes of every erase block are checked: JFFS2 (node magic 0x1985
 * in either byte order) and UBI (erase counter header "UBI#") put their
 * magic there, and so does the ring (sector header "NRQ1", FORMAT.md
 * 1.1). A device with no ring sector is taken only when it reads all
 * 0xFF: an erased device is the one we are allowed to initialise.
 */
#include <stdio.h>
#include <string.h>

#include "core/fmt.h"
#include "store/store_int.h"

#define SCAN_CHUNK 512u /* bytes the check reads at once (on the stack) */
#define HDR_SPAN 64u    /* what a sector header's program covers: align(32), P <= 64 */

/* C_TORN: the first sector header a ring ever wrote, cut short by a power
 * cut: NOR leaves some of the bits it was clearing set, so each byte of the
 * magic reads as itself plus extra 1 bits. */
enum content { C_ERASED, C_RING, C_TORN, C_JFFS2, C_UBI, C_OTHER };

static enum content block_start(const uint8_t *b)
{
	static const uint8_t ff[4] = {0xFF, 0xFF, 0xFF, 0xFF}, magic[4] = {'N', 'R', 'Q', '1'};
	int i;

	if (memcmp(b, magic, 4) == 0)
		return C_RING;
	if (memcmp(b, "UBI#", 4) == 0)
		return C_UBI;
	if ((b[0] == 0x85 && b[1] == 0x19) || (b[0] == 0x19 && b[1] == 0x85))
		return C_JFFS2;
	if (memcmp(b, ff, 4) == 0)
		return C_ERASED;
	for (i = 0; i < 4; i++) {
		if ((b[i] & magic[i]) != magic[i])
			return C_OTHER;
	}
	return C_TORN;
}

/* 1 when every byte of the device reads 0xFF (but the header span of a
 * block that starts with a torn header: a power cut during the first
 * sector's header must not make the device foreign), 0 when not, <0 on
 * error. */
static int all_erased(struct nr_bdev *bd)
{
	uint8_t buf[SCAN_CHUNK];
	uint32_t s, off, n, i, chunk = bd->sector_size < SCAN_CHUNK ? bd->sector_size : SCAN_CHUNK;
	int ret;

	for (s = 0; s < bd->sector_count; s++) {
		uint32_t base = s * bd->sector_size;
		for (off = 0; off < bd->sector_size; off += chunk) {
			if ((ret = bd->read(bd, base + off, buf, chunk)) != 0)
				return ret;
			i = off == 0 && block_start(buf) == C_TORN ? HDR_SPAN : 0;
			for (n = chunk; i < n; i++)
				if (buf[i] != 0xFF)
					return 0;
		}
	}
	return 1;
}

/* 0 when the ring may use bd (it holds a ring, or is erased). hint says
 * how to erase it, for the refusal of foreign data. */
static int check_content(struct nr_bdev *bd, const char *path, const char *hint, char *why,
			 size_t why_size)
{
	int seen[C_OTHER + 1] = {0}, ret;
	uint32_t s;
	uint8_t b[4];

	for (s = 0; s < bd->sector_count; s++) {
		ret = bd->read(bd, s * bd->sector_size, b, sizeof(b));
		if (ret) {
			snprintf(why, why_size, "%s: reading erase block %u failed", path,
				 (unsigned)s);
			return ret;
		}
		seen[block_start(b)]++;
	}
	if (seen[C_JFFS2] || seen[C_UBI]) {
		snprintf(why, why_size,
			 "%s holds a %s file system: it is left untouched; give the queue a "
			 "partition of its own",
			 path, seen[C_UBI] ? "UBI" : "JFFS2");
		return NR_EBUSY;
	}
	if (seen[C_RING])
		return 0; /* ours: recovered, never reformatted */
	ret = all_erased(bd);
	if (ret == 1)
		return 0;
	if (ret == 0) {
		snprintf(why, why_size,
			 "%s holds data that is not a nanorelay queue and is not erased: it is "
			 "left untouched (%s if it is the queue's)",
			 path, hint);
		return NR_ECORRUPT;
	}
	snprintf(why, why_size, "%s: reading it failed", path);
	return ret;
}

/*
 * The ring on a raw NOR device: geometry checked, the combiner over it
 * (sectors = erase blocks), programs of prog_size units, and the content
 * check. Takes raw over (closed on failure too). what names the device in
 * why. buffered: the combiner's write buffer (mtd, as it always had); a
 * flash goes without: every record is already one program of whole units,
 * and a board has no 32 KB to spare.
 */
static int open_nor(struct nr_bdev *out, struct nr_plat_storage *raw, uint32_t prog_size,
		    int buffered, const char *name, const char *what, const char *hint, char *why,
		    size_t why_size)
{
	int ret;

	if (nr_store_check_geometry(raw->size, raw->erase_size) ||
	    raw->size / raw->erase_size < NR_PLAT_MTD_MIN_BLOCKS) {
		snprintf(why, why_size,
			 "%s: %s bytes in erase blocks of %u is not a geometry the queue "
			 "takes (erase blocks a power of two >= 512, at least %d of them, at "
			 "most 4 GiB: give size=)",
			 what, NR_U64(raw->size), (unsigned)raw->erase_size,
			 NR_PLAT_MTD_MIN_BLOCKS);
		raw->close(raw->ctx);
		return NR_EINVAL;
	}
	ret = nr_store_combine_open(out, raw, raw->erase_size, name);
	if (ret)
		return ret;
	/* the ring aligns records and marks to it (FORMAT.md: P), so the
	 * device gets whole write units only */
	out->prog_size = prog_size;
	if (!buffered)
		nr_store_combine_unbuffered(out);
	ret = check_content(out, what, hint, why, why_size);
	if (ret) {
		out->close(out);
		memset(out, 0, sizeof(*out));
	}
	return ret;
}

/* why may be NULL: give the callee somewhere to write */
#define WHY_OR_SPARE(why, why_size, spare)                                                         \
	do {                                                                                       \
		if (!(why) || !(why_size)) {                                                       \
			(why) = (spare);                                                           \
			(why_size) = sizeof(spare);                                                \
		}                                                                                  \
		(why)[0] = '\0';                                                                   \
	} while (0)

int nr_store_mtd_open(struct nr_bdev *out, const char *path, uint64_t size, char *why,
		      size_t why_size)
{
	struct nr_plat_storage raw;
	char spare[8], hint[160];
	int ret;

	memset(out, 0, sizeof(*out));
	WHY_OR_SPARE(why, why_size, spare);
	if (!path)
		return NR_EINVAL;
	if (!NR_ENABLED(CONFIG_NR_STORE_MTD))
		return NR_ENOTSUP; /* and the shim's opener stays out of the link */
	ret = nr_plat_bdev_mtd_open(path, size, &raw, why, why_size);
	if (ret)
		return ret;
	/* the shim fills write units itself: rings on MTD were always P = 1 */
	snprintf(hint, sizeof(hint), "erase it with `flash_erase %s 0 0`", path);
	return open_nor(out, &raw, 1, 1, "mtd", path, hint, why, why_size);
}

/* ---- flash: the board's flash HAL (platform.h) ---------------------------------- */

int nr_store_flash_open_hal(struct nr_bdev *out, struct nr_plat_storage *hal, char *why,
			    size_t why_size)
{
	uint32_t ws;
	char spare[8];

	memset(out, 0, sizeof(*out));
	WHY_OR_SPARE(why, why_size, spare);
	if (!hal || !hal->read || !hal->write || !hal->erase || !hal->sync || !hal->close) {
		snprintf(why, why_size, "the flash HAL lacks a callback");
		return NR_EINVAL;
	}
	ws = hal->write_size ? hal->write_size : 1;
	if ((ws & (ws - 1)) || ws > 64 || (hal->erase_size && hal->erase_size % ws)) {
		snprintf(why, why_size,
			 "the flash HAL's write unit of %u bytes is not a power of two from 1 "
			 "to 64 that divides the erase block",
			 (unsigned)ws);
		hal->close(hal->ctx);
		return NR_EINVAL;
	}
	/* P = the write unit: the HAL only ever gets whole aligned units, and
	 * no record shares a unit with another (a torn program cannot reach a
	 * committed neighbour) */
	return open_nor(out, hal, ws, 0, "flash", "the flash region",
			"erase it (all 0xFF) with the board's tools", why, why_size);
}

int nr_store_flash_open(struct nr_bdev *out, uint64_t size, char *why, size_t why_size)
{
	struct nr_plat_storage hal;
	char spare[8];
	int ret;

	memset(out, 0, sizeof(*out));
	WHY_OR_SPARE(why, why_size, spare);
	if (!NR_ENABLED(CONFIG_NR_STORE_FLASH))
		return NR_ENOTSUP; /* and the shim's opener stays out of the link */
	ret = nr_plat_bdev_flash_open(size, &hal);
	if (ret) {
		snprintf(why, why_size, "the board's flash HAL: %s",
			 ret == NR_ENOTFOUND ? "none registered" : nr_strerror(ret));
		return ret;
	}
	if (size > hal.size) {
		snprintf(why, why_size, "size=%s is larger than the flash region (%s bytes)",
			 NR_U64(size), NR_U64(hal.size));
		hal.close(hal.ctx);
		return NR_EINVAL;
	}
	if (size)
		hal.size = size; /* the first size bytes */
	return nr_store_flash_open_hal(out, &hal, why, why_size);
}
