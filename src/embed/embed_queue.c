/*
 * embed_queue.c - the queue's device and its recovery at start: a device
 * the program gave (nr_relay_set_storage), or what the `queue` key names
 * (a file, an MTD partition, RAM).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/log.h"
#include "embed/embed_int.h"
#include "queue/queue.h"
#include "store/store.h"

int nr_relay_fail(char *err, size_t err_size, int rc, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	nr_err("%s", msg);
	if (err != NULL && err_size > 0)
		snprintf(err, err_size, "%s", msg);
	return rc;
}

/* The file backend, with the sector size the file was formatted with, or
 * for a new file the one its size calls for (nr_store_file_sector_size). */
static int open_file_bdev(struct nr_relay *r, const char *path, uint64_t size)
{
	uint32_t want = nr_store_file_sector_size(size), found;
	int rc;

	rc = nr_store_file_open(&r->bdev, path, size, NR_STORE_SECTOR_SIZE);
	if (rc != 0)
		return rc;
	rc = nr_queue_probe_sector_size(&r->bdev, &found);
	if (rc == 0)
		want = found;
	else if (rc != NR_ENOTFOUND)
		want = NR_STORE_SECTOR_SIZE; /* recovery reports the read error */
	if (want == NR_STORE_SECTOR_SIZE)
		return 0;
	r->bdev.close(&r->bdev);
	return nr_store_file_open(&r->bdev, path, size, want);
}

/* An mtd: partition: the shim's and store's refusals carry their reason;
 * a ring written with other erase blocks means the partition's geometry
 * changed (another flash chip or layout): refused, never reinterpreted. */
static int open_mtd_bdev(struct nr_relay *r, const char *path, uint64_t size, char *err,
			 size_t err_size)
{
	char why[256];
	uint32_t found;
	int rc = nr_store_mtd_open(&r->bdev, path, size, why, sizeof(why));

	if (rc != 0)
		return nr_relay_fail(err, err_size, rc, "queue: cannot use mtd:%s: %s", path,
				     why[0] ? why : nr_strerror(rc));
	if (nr_queue_probe_sector_size(&r->bdev, &found) == 0 && found != r->bdev.sector_size) {
		r->bdev.close(&r->bdev);
		return nr_relay_fail(
		    err, err_size, NR_EINVAL,
		    "queue: cannot use mtd:%s: its ring was written with erase blocks of %u "
		    "bytes, the device now has %u: the geometry changed; nothing was touched",
		    path, (unsigned)found, (unsigned)r->bdev.sector_size);
	}
	return 0;
}

/* The program's device: a flash (it has an erase block) runs like `queue
 * flash`, with its write unit as the program size; a device without one (a
 * RAM region) gets the RAM queue's sector through the write combiner. */
static int open_given_bdev(struct nr_relay *r, char *err, size_t err_size)
{
	char why[256] = "";
	int rc;

	r->have_dev = 0; /* the store owns it now, also on failure */
	if (r->dev.erase_size == 0)
		return nr_store_combine_open(&r->bdev, &r->dev, NR_STORE_SECTOR_SIZE, "flash");
	rc = nr_store_flash_open_hal(&r->bdev, &r->dev, why, sizeof(why));
	if (rc != 0)
		return nr_relay_fail(err, err_size, rc, "queue: cannot use the device given: %s",
				     why[0] ? why : nr_strerror(rc));
	return 0;
}

/* `queue flash`: the board's flash HAL (NR_ENOTSUP where it is not built). */
static int open_flash_bdev(struct nr_relay *r, uint64_t size, char *err, size_t err_size)
{
	char why[256] = "";
	int rc = nr_store_flash_open(&r->bdev, size, why, sizeof(why));

	if (rc != 0)
		return nr_relay_fail(err, err_size, rc, "queue: cannot use flash: %s",
				     why[0] ? why : nr_strerror(rc));
	return 0;
}

int nr_relay_queue_open(struct nr_relay *r, char *err, size_t err_size)
{
	const struct nr_conf *c = r->conf;
	const char *name = c->queue_path ? c->queue_path : "ram";
	int rc;

	/* conf refuses a backend that is not built; NR_ENABLED also keeps the
	 * calls into a missing one out of the link */
	if (r->have_dev) {
		name = "the device given";
		rc = open_given_bdev(r, err, err_size);
		if (rc != 0)
			return rc; /* said why */
	} else if (c->queue_kind == NR_QUEUE_RAM) {
		rc = NR_ENABLED(CONFIG_NR_STORE_RAM)
			 ? nr_store_ram_open(&r->bdev, c->queue_size, NR_STORE_SECTOR_SIZE)
			 : NR_ENOTSUP;
	} else if (c->queue_kind == NR_QUEUE_FILE) {
		/* its directory exists: the program made it (the daemon does) */
		rc = open_file_bdev(r, c->queue_path, c->queue_size);
	} else if (c->queue_kind == NR_QUEUE_MTD) {
		rc = open_mtd_bdev(r, c->queue_path, c->queue_size, err, err_size);
		if (rc != 0)
			return rc; /* said why */
	} else {
		rc = open_flash_bdev(r, c->queue_size, err, err_size);
		if (rc != 0)
			return rc; /* said why */
	}
	if (rc != 0)
		return nr_relay_fail(err, err_size, rc, "queue: cannot open %s: %s", name,
				     nr_strerror(rc));
	r->bdev_open = 1;
	rc = nr_queue_open(&r->queue, &r->bdev, r->loop);
	if (rc == NR_EFULL)
		return nr_relay_fail(
		    err, err_size, rc,
		    "queue: %s holds more messages than CONFIG_NR_QUEUE_MAX_MESSAGES (%d) "
		    "lets this build index; nothing was changed or lost: run a build with a "
		    "larger CONFIG_NR_QUEUE_MAX_MESSAGES",
		    name, CONFIG_NR_QUEUE_MAX_MESSAGES);
	if (rc != 0)
		return nr_relay_fail(err, err_size, rc, "queue: recovery failed: %s",
				     nr_strerror(rc));
	return 0;
}
