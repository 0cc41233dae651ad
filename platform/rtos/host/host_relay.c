/*
 * host_relay.c - the relay task of the host RTOS target: nanorelay through
 * its embedding API (include/nanorelay.h), as firmware would run it. Built
 * only when that header exists (platform/rtos/sources.cmake).
 *
 * The core's heap is FreeRTOS's (pvPortMalloc/vPortFree through
 * nr_mem_set_hooks): under the POSIX port a task switched out inside
 * glibc's malloc would hold its lock, and heap_3 takes the scheduler lock
 * around it. The hooks also count the bytes in use, which is how the
 * README's RAM figures are measured (heap_3 keeps no statistics).
 */
#include <stdio.h>

#include "FreeRTOS.h"
#include "task.h"

#include "core/mem.h"
#include "host_board.h"
#include "nanorelay.h"
#include "platform.h"

/* Each block carries its size in front (one max_align_t), for the count. */
typedef union {
	size_t size;
	max_align_t align;
} mem_head;

static volatile size_t mem_in_use, mem_peak;

static void *count_malloc(void *ctx, size_t size)
{
	mem_head *h;

	(void)ctx;
	if (size > (size_t)-1 - sizeof(*h))
		return NULL;
	h = pvPortMalloc(sizeof(*h) + size);
	if (!h)
		return NULL;
	h->size = size;
	taskENTER_CRITICAL();
	mem_in_use += size;
	if (mem_in_use > mem_peak)
		mem_peak = mem_in_use;
	taskEXIT_CRITICAL();
	return h + 1;
}

static void count_free(void *ctx, void *p)
{
	mem_head *h = (mem_head *)p - 1;

	(void)ctx;
	taskENTER_CRITICAL();
	mem_in_use -= h->size;
	taskEXIT_CRITICAL();
	vPortFree(h);
}

void nr_host_mem_hooks(void)
{
	static const struct nr_mem_hooks hooks = {.malloc_fn = count_malloc, .free_fn = count_free};

	nr_mem_set_hooks(&hooks);
}

void nr_host_mem_usage(size_t *in_use, size_t *peak)
{
	taskENTER_CRITICAL();
	*in_use = mem_in_use;
	*peak = mem_peak;
	taskEXIT_CRITICAL();
}

void nr_host_relay_task(void *arg)
{
	const struct nr_host_relay_args *a = arg;
	struct nr_relay *relay = NULL;
	char err[256], msg[320];

	if (nr_relay_new(&relay, a->config, a->config_len, err, sizeof(err)) != 0) {
		snprintf(msg, sizeof(msg), "config: %s", err);
		nr_plat_panic(__FILE__, __LINE__, msg);
	}
	if (a->storage && nr_relay_set_storage(relay, a->storage) != 0)
		nr_plat_panic(__FILE__, __LINE__, "the queue's flash was refused");
	if (nr_relay_start(relay, err, sizeof(err)) != 0) {
		snprintf(msg, sizeof(msg), "start: %s", err);
		nr_plat_panic(__FILE__, __LINE__, msg);
	}
	nr_plat_log_write(NR_LOG_INFO, "host: relay running");
	(void)nr_relay_run(relay);
	nr_relay_free(relay);
	nr_plat_log_write(NR_LOG_INFO, "host: relay stopped");
	vTaskDelete(NULL);
}
