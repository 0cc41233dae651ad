/*
 * store_mtd.c - the mtd backend (store.h): a raw NOR partition from the
 * shim, cut into sectors of its erase block, through the write combiner.
 *
 * Before the ring may touch it, the partition must be ours or empty. The
 * first bytes of every erase block are checked: JFFS2 (node magic 0x1985
 * in either byte order) and UBI (erase counter header "UBI#") put their
 * magic there, and so does the ring (sector header "NRQ1", FORMAT.md
 * 1.1). A partition with no ring sector is taken only when it reads all
 * 0xFF: an erased partition is the one we are allowed to initialise.
 */
#include <stdio.h>
#include <string.h>

#include "core/fmt.h"
#include "store/store_int.h"

#define SCAN_CHUNK 4096u

enum content { C_ERASED, C_RING, C_JFFS2, C_UBI, C_OTHER };

static enum content block_start(const uint8_t *b)
{
	static const uint8_t ff[4] = {0xFF, 0xFF, 0xFF, 0xFF};

	if (memcmp(b, "NRQ1", 4) == 0)
		return C_RING;
	if (memcmp(b, "UBI#", 4) == 0)
		return C_UBI;
	if ((b[0] == 0x85 && b[1] == 0x19) || (b[0] == 0x19 && b[1] == 0x85))
		return C_JFFS2;
	return memcmp(b, ff, 4) == 0 ? C_ERASED : C_OTHER;
}

/* 1 when every byte of the device reads 0xFF, 0 when not, <0 on error. */
static int all_erased(struct nr_bdev *bd)
{
	uint8_t buf[SCAN_CHUNK];
	uint64_t size = (uint64_t)bd->sector_size * bd->sector_count, off;

	for (off = 0; off < size; off += SCAN_CHUNK) {
		uint32_t n = size - off < SCAN_CHUNK ? (uint32_t)(size - off) : SCAN_CHUNK, i;
		int ret = bd->read(bd, (uint32_t)off, buf, n);
		if (ret)
			return ret;
		for (i = 0; i < n; i++)
			if (buf[i] != 0xFF)
				return 0;
	}
	return 1;
}

/* 0 when the ring may use bd (it holds a ring, or is erased). */
static int check_content(struct nr_bdev *bd, const char *path, char *why, size_t why_size)
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
			 "left untouched (erase it with `flash_erase %s 0 0` if it is the "
			 "queue's)",
			 path, path);
		return NR_ECORRUPT;
	}
	snprintf(why, why_size, "%s: reading it failed", path);
	return ret;
}

int nr_store_mtd_open(struct nr_bdev *out, const char *path, uint64_t size, char *why,
		      size_t why_size)
{
	struct nr_plat_storage raw;
	char spare[8];
	int ret;

	memset(out, 0, sizeof(*out));
	if (!why || !why_size) {
		why = spare;
		why_size = sizeof(spare);
	}
	why[0] = '\0';
	if (!path)
		return NR_EINVAL;
	if (!NR_ENABLED(CONFIG_NR_STORE_MTD))
		return NR_ENOTSUP; /* and the shim's opener stays out of the link */
	ret = nr_plat_bdev_mtd_open(path, size, &raw, why, why_size);
	if (ret)
		return ret;
	if (nr_store_check_geometry(raw.size, raw.erase_size)) {
		snprintf(why, why_size,
			 "%s: %s bytes in erase blocks of %u is not a geometry "
			 "the queue takes (at most 4 GiB: give size=)",
			 path, NR_U64(raw.size), (unsigned)raw.erase_size);
		raw.close(raw.ctx);
		return NR_EINVAL;
	}
	ret = nr_store_combine_open(out, &raw, raw.erase_size, "mtd");
	if (ret)
		return ret;
	ret = check_content(out, path, why, why_size);
	if (ret) {
		out->close(out);
		memset(out, 0, sizeof(*out));
	}
	return ret;
}
