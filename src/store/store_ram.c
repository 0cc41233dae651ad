/* store_ram.c - the volatile RAM backend (see store.h). */
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "store/store_int.h"

struct ram_dev {
	uint8_t *data;
	uint64_t size;
};

static int ram_check(struct nr_bdev *bd, uint32_t off, uint32_t len)
{
	struct ram_dev *r = bd->ctx;

	return (uint64_t)off + len > r->size ? NR_EINVAL : 0;
}

static int ram_read(struct nr_bdev *bd, uint32_t off, void *buf, uint32_t len)
{
	struct ram_dev *r = bd->ctx;
	int ret = ram_check(bd, off, len);

	if (ret == 0)
		memcpy(buf, r->data + off, len);
	return ret;
}

static int ram_prog(struct nr_bdev *bd, uint32_t off, const void *buf, uint32_t len)
{
	struct ram_dev *r = bd->ctx;
	const uint8_t *src = buf;
	int ret = ram_check(bd, off, len);
	uint32_t i;

	if (ret)
		return ret;
	for (i = 0; i < len; i++)
		r->data[off + i] &= src[i];
	return 0;
}

static int ram_erase(struct nr_bdev *bd, uint32_t sector)
{
	struct ram_dev *r = bd->ctx;

	if (sector >= bd->sector_count)
		return NR_EINVAL;
	memset(r->data + (size_t)sector * bd->sector_size, 0xFF, bd->sector_size);
	return 0;
}

static int ram_sync(struct nr_bdev *bd)
{
	(void)bd;
	return 0;
}

static void ram_close(struct nr_bdev *bd)
{
	struct ram_dev *r = bd->ctx;

	if (r) {
		nr_free(r->data);
		nr_free(r);
	}
	bd->ctx = NULL;
}

static const struct nr_bdev ram_ops = {
    .prog_size = 1,
    .name = "ram",
    .persistent = 0,
    .read = ram_read,
    .prog = ram_prog,
    .erase = ram_erase,
    .sync = ram_sync,
    .close = ram_close,
};

int nr_store_ram_open(struct nr_bdev *out, uint64_t size, uint32_t sector_size)
{
	int ret = NR_EINVAL;
	struct ram_dev *r = NULL;

	memset(out, 0, sizeof(*out));
	if (nr_store_check_geometry(size, sector_size))
		goto out;
	ret = NR_ENOMEM;
	r = nr_calloc(1, sizeof(*r));
	if (!r)
		goto out;
	r->data = nr_malloc((size_t)size);
	if (!r->data)
		goto out;
	memset(r->data, 0xFF, (size_t)size);
	r->size = size;
	nr_store_bdev_init(out, &ram_ops, r, size, sector_size);
	r = NULL;
	ret = 0;
out:
	if (r)
		nr_free(r->data);
	nr_free(r);
	return ret;
}
