/*
 * rtos_sys.c - clocks, entropy, log, panic, named blobs and storage openers
 * for the RTOS shim: what platform.h asks of every target, from FreeRTOS's
 * tick count and the board's hooks (nr_board.h).
 */
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "rtos_internal.h"

static struct nr_board board;

void nr_rtos_board_init(const struct nr_board *b)
{
	board = *b;
}

/* ---- clocks ---------------------------------------------------------------------- */
/* A 32-bit tick count wraps (after 49.7 days at 1 kHz): widen it by
 * counting the wraps seen. Called often enough (every loop turn) to see
 * each one; a 64-bit tick never wraps. */
static uint64_t ticks64(void)
{
	static TickType_t last;
	static uint64_t wraps;
	uint64_t now;

	taskENTER_CRITICAL();
	TickType_t t = xTaskGetTickCount();
	if (t < last)
		wraps++;
	last = t;
	now = sizeof(TickType_t) < sizeof(uint64_t) ? (wraps << 32) + t : (uint64_t)t;
	taskEXIT_CRITICAL();
	return now;
}

uint64_t nr_plat_now_ms(void)
{
	return ticks64() * 1000u / configTICK_RATE_HZ;
}

/* The wall clock: unix seconds at the monotonic millisecond wall_at_ms,
 * set by the board; 0 until then. */
static int64_t wall_base;
static uint64_t wall_at_ms;
static volatile int wall_set;

void nr_rtos_set_wall_time(int64_t unix_seconds)
{
	uint64_t now = nr_plat_now_ms();

	taskENTER_CRITICAL();
	wall_base = unix_seconds;
	wall_at_ms = now;
	wall_set = 1;
	taskEXIT_CRITICAL();
}

int nr_plat_wall_time(int64_t *out)
{
	uint64_t now = nr_plat_now_ms();

	if (!wall_set)
		return NR_ECLOCK;
	taskENTER_CRITICAL();
	*out = wall_base + (int64_t)((now - wall_at_ms) / 1000u);
	taskEXIT_CRITICAL();
	return 0;
}

/* ---- entropy ----------------------------------------------------------------------- */
int nr_plat_entropy(void *buf, size_t len)
{
	if (!board.entropy)
		return NR_EIO; /* no TRNG: never weak bytes */
	return board.entropy(buf, len) == 0 ? 0 : NR_EIO;
}

/* ---- log ------------------------------------------------------------------------------- */
/* One sink, the board's: lines are never held (a board that wants
 * batching does it in its hook). */
void nr_plat_log_write(enum nr_log_level level, const char *line)
{
	if (board.log)
		board.log(level, line);
}

void nr_plat_log_gather(int on)
{
	(void)on;
}

void nr_plat_log_flush(void) {}

_Noreturn void nr_plat_panic(const char *file, int line, const char *what)
{
	if (board.panic)
		board.panic(file, line, what);
	taskDISABLE_INTERRUPTS();
	for (;;) {
	}
}

/* ---- named blobs in place of files ------------------------------------------------------ */
int nr_plat_file_read(const char *path, size_t max, char **out, size_t *len)
{
	char *buf;
	long n, size;

	*out = NULL;
	if (!board.blob_read)
		return NR_ENOTSUP;
	/* The blob's length first (size 0 reads nothing): a buffer of max
	 * bytes would be megabytes for a CA file's limit, on a board's heap. */
	size = board.blob_read(path, NULL, 0);
	if (size < 0)
		return (int)size;
	if ((unsigned long)size > max)
		return NR_ETOOBIG;
	buf = nr_malloc((size_t)size + 1); /* the core frees it with nr_free */
	if (!buf)
		return NR_ENOMEM;
	n = board.blob_read(path, buf, (size_t)size);
	if (n != size) { /* changed in between */
		nr_free(buf);
		return n < 0 ? (int)n : NR_EIO;
	}
	buf[n] = '\0';
	*out = buf;
	*len = (size_t)n;
	return 0;
}

int nr_plat_file_write(const char *path, const void *data, size_t len, unsigned mode)
{
	(void)mode; /* a blob has no owner or mode */
	return board.blob_write ? board.blob_write(path, data, len) : NR_ENOTSUP;
}

/* ---- storage: the queue lives in the flash HAL (NR_STORE_FLASH) -------------------------- */
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
	memset(out, 0, sizeof(*out));
	if (why && why_size)
		strncpy(why, "no MTD on this platform (use the flash HAL)",
			why_size - 1)[why_size - 1] = '\0';
	return NR_ENOTSUP;
}

int nr_plat_bdev_flash_open(uint64_t size, struct nr_plat_storage *out)
{
	int ret;

	memset(out, 0, sizeof(*out));
	if (!board.flash_open)
		return NR_ENOTFOUND;
	ret = board.flash_open(board.flash_ctx, size, out);
	if (ret == 0 && size && out->size < size) {
		if (out->close)
			out->close(out->ctx);
		memset(out, 0, sizeof(*out));
		return NR_EINVAL;
	}
	return ret;
}
