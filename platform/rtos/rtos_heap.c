/*
 * rtos_heap.c - a board's counted heap on FreeRTOS (rtos_heap.h).
 */
#include "FreeRTOS.h"
#include "task.h"

#include "core/mem.h"
#include "rtos_heap.h"

/* Each block carries its size in front (one max_align_t, so the caller's
 * part stays aligned for any object). */
typedef union {
	struct {
		size_t size;
		int counted; /* by the task of nr_rtos_heap_count_task */
	} b;
	max_align_t align;
} head;

static volatile size_t in_use, peak;
static void *volatile counted_task;
static volatile size_t task_in_use, task_peak;

void *nr_rtos_heap_alloc(size_t size)
{
	head *h;

	if (size == 0)
		size = 1;
	if (size > (size_t)-1 - sizeof(*h))
		return NULL;
	h = pvPortMalloc(sizeof(*h) + size);
	if (!h)
		return NULL;
	h->b.size = size;
	h->b.counted = counted_task && (void *)xTaskGetCurrentTaskHandle() == counted_task;
	taskENTER_CRITICAL();
	in_use += size;
	if (in_use > peak)
		peak = in_use;
	if (h->b.counted) {
		task_in_use += size;
		if (task_in_use > task_peak)
			task_peak = task_in_use;
	}
	taskEXIT_CRITICAL();
	return h + 1;
}

void nr_rtos_heap_free(void *p)
{
	head *h;

	if (!p)
		return;
	h = (head *)p - 1;
	taskENTER_CRITICAL();
	in_use -= h->b.size;
	if (h->b.counted)
		task_in_use -= h->b.size;
	taskEXIT_CRITICAL();
	vPortFree(h);
}

size_t nr_rtos_heap_block_size(const void *p)
{
	return ((const head *)p - 1)->b.size;
}

static void *core_malloc(void *ctx, size_t size)
{
	(void)ctx;
	return nr_rtos_heap_alloc(size);
}

static void core_free(void *ctx, void *p)
{
	(void)ctx;
	nr_rtos_heap_free(p);
}

void nr_rtos_heap_for_core(void)
{
	static const struct nr_mem_hooks hooks = {.malloc_fn = core_malloc, .free_fn = core_free};

	nr_mem_set_hooks(&hooks);
}

void nr_rtos_heap_usage(size_t *now, size_t *max)
{
	taskENTER_CRITICAL();
	*now = in_use;
	*max = peak;
	taskEXIT_CRITICAL();
}

void nr_rtos_heap_count_task(void *task)
{
	counted_task = task;
}

void nr_rtos_heap_task_usage(size_t *now, size_t *max)
{
	/* Two word-sized reads, each whole: also from an interrupt. */
	*now = task_in_use;
	*max = task_peak;
}
