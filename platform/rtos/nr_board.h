/*
 * nr_board.h - what a board supplies to nanorelay's RTOS shim (platform/rtos).
 *
 * The shim implements platform/platform.h on FreeRTOS + lwIP sockets. What
 * it cannot know about the hardware comes from the board, in one place: a
 * table of hooks given once with nr_rtos_board_init() before the relay
 * starts, and the wall clock given with nr_rtos_set_wall_time() whenever
 * the board learns it (SNTP, an RTC at boot). A hook left NULL means "the
 * board has none", with the stated consequence; nothing is ever faked.
 *
 * Besides these hooks a board supplies (see README.md, "Embedding nanorelay
 * in RTOS firmware"): a running FreeRTOS with its FreeRTOSConfig.h, lwIP
 * built with platform/rtos/lwip/lwipopts.h (or a superset of its options)
 * and tcpip_init() done with a netif up, and the queue's flash (the flash
 * HAL, NR_STORE_FLASH).
 *
 * Every hook may be called from the relay's task; log and panic also from
 * the tcpip task. None may block for long: the relay's loop waits on them.
 */
#ifndef NR_BOARD_H
#define NR_BOARD_H

#include <stddef.h>
#include <stdint.h>

#include "platform.h"

struct nr_board {
	/* One log line, already formatted, no newline (a UART, a RAM ring).
	 * level is an nr_log_level. NULL: lines are dropped. */
	void (*log)(enum nr_log_level level, const char *line);

	/* A broken invariant (or a failed lwIP/FreeRTOS assertion): record
	 * what, file and line where it can be read after the reset, then
	 * reset or halt. Must not return (if it does, or is NULL, the shim
	 * disables interrupts and spins: a watchdog resets the board). */
	void (*panic)(const char *file, int line, const char *what);

	/* Fill buf with len bytes from a true random number generator: 0, or
	 * a negative NR_E... code. NULL: the board has no TRNG, and
	 * nr_plat_entropy fails with NR_EIO; nanorelay then refuses to start
	 * TLS (it never uses weak bytes). */
	int (*entropy)(void *buf, size_t len);

	/* Named blobs (the configuration text, a LAN certificate and key,
	 * password files, OAuth tokens): what nr_plat_file_read/write give
	 * the core in place of files. read copies at most size bytes of the
	 * blob name into buf and returns the blob's whole length (which may
	 * be more than size; buf may be NULL when size is 0: the length only),
	 * NR_ENOTFOUND, or another NR_E... code. write
	 * replaces the blob atomically (all or nothing) and returns 0 or an
	 * NR_E... code. NULL: NR_ENOTSUP (the core then runs without files:
	 * no secrets from files, no token store). */
	long (*blob_read)(const char *name, void *buf, size_t size);
	int (*blob_write)(const char *name, const void *data, size_t len);

	/* The queue's flash (the flash HAL, platform.h's struct
	 * nr_plat_storage): fill out with the region's geometry and callbacks
	 * (at least size bytes; size 0: the whole region) and return 0, or an
	 * NR_E... code. What nr_plat_bdev_flash_open() (`queue flash`) calls;
	 * flash_ctx is passed through. NULL: the board has no queue flash
	 * (NR_ENOTFOUND; the queue can then only be in RAM). */
	int (*flash_open)(void *flash_ctx, uint64_t size, struct nr_plat_storage *out);
	void *flash_ctx;
};

/* Give the shim the board's hooks (copied). Call once, before anything of
 * nanorelay runs; a later call replaces them. */
void nr_rtos_board_init(const struct nr_board *board);

/* The wall clock is now unix_seconds (UTC). Until the first call,
 * nr_plat_wall_time() returns NR_ECLOCK and TLS delivery waits: a
 * certificate cannot be checked without the date. Call again whenever SNTP
 * or the RTC says so; the clock then runs on the tick count. Safe from any
 * task. */
void nr_rtos_set_wall_time(int64_t unix_seconds);

#endif /* NR_BOARD_H */
