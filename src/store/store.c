/* store.c - what every backend shares (geometry, the struct), the sector
 * size policy of file queues, and the openers of the backends the platform
 * shims supply raw device operations for (store.h). */
#include <string.h>

#include "store/store_int.h"

#define FILE_SECTOR_MIN 65536u
#define FILE_SECTOR_MAX (1u << 20)
#define FILE_LARGE_FROM (4u << 20)

int nr_store_check_geometry(uint64_t size, uint32_t sector_size)
{
	if (sector_size < 512 || (sector_size & (sector_size - 1)) || size == 0 ||
	    size % sector_size || size > UINT32_MAX)
		return NR_EINVAL;
	return 0;
}

void nr_store_bdev_init(struct nr_bdev *out, const struct nr_bdev *ops_from, void *ctx,
			uint64_t size, uint32_t sector_size)
{
	*out = *ops_from;
	out->ctx = ctx;
	out->sector_size = sector_size;
	out->sector_count = (uint32_t)(size / sector_size);
}

uint32_t nr_store_file_sector_size(uint64_t size)
{
	uint32_t s = FILE_SECTOR_MAX;

	if (size < FILE_LARGE_FROM)
		return NR_STORE_SECTOR_SIZE;
	while (s > FILE_SECTOR_MIN && (s > size / 256 || size % s))
		s /= 2;
	return size % s == 0 ? s : NR_STORE_SECTOR_SIZE;
}

int nr_store_file_open(struct nr_bdev *out, const char *path, uint64_t size, uint32_t sector_size)
{
	struct nr_plat_storage raw;
	int ret;

	memset(out, 0, sizeof(*out));
	if (!path || nr_store_check_geometry(size, sector_size))
		return NR_EINVAL;
	if (!NR_ENABLED(CONFIG_NR_STORE_FILE))
		return NR_ENOTSUP; /* and the shim's opener stays out of the link */
	ret = nr_plat_bdev_file_open(path, size, &raw);
	if (ret)
		return ret;
	return nr_store_combine_open(out, &raw, sector_size, "file");
}
