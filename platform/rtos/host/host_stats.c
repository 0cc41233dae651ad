/*
 * host_stats.c - the host board's measurements (--stats): heap bytes the
 * core holds (counted by host_relay.c's nr_mem hooks) and the stack the
 * relay, tcpip and tap-rx tasks really used.
 *
 * Why painted stacks: FreeRTOS's POSIX port runs each task on a pthread
 * with the C library's own stack; the stack FreeRTOS allocates for the task
 * is left unused, so uxTaskGetStackHighWaterMark() reports (almost) the
 * whole allocation free whatever the task does. Each measured task paints
 * the pthread stack below itself once at its start; the deepest byte no
 * longer painted is its high-water mark (signal frames of the port's
 * scheduler included, as interrupt frames are on a board).
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "FreeRTOS.h"
#include "task.h"

#include "host_board.h"
#include "platform.h"

#define PAINT 0xA5
#define PAINT_SPAN (512 * 1024) /* of the thread's 8 MB; far more than a task uses */
#define PAINT_GAP 4096          /* left alone below the painter's own frame */

static struct {
	const char *name;
	uintptr_t top, low; /* the thread's stack top; the painted area's bottom */
} stacks[4];
static int nstacks;

/* noinline: its frame is below the caller's, and the paint starts below it. */
__attribute__((noinline)) void nr_host_stack_paint(const char *name)
{
	pthread_attr_t attr;
	void *base;
	size_t size;
	uintptr_t sp = (uintptr_t)__builtin_frame_address(0), low;
	int i;

	if (pthread_getattr_np(pthread_self(), &attr) != 0)
		return;
	pthread_attr_getstack(&attr, &base, &size);
	pthread_attr_destroy(&attr);
	low = sp - PAINT_GAP - PAINT_SPAN;
	if (low < (uintptr_t)base + 4096)
		low = (uintptr_t)base + 4096; /* never the guard page */
	memset((void *)low, PAINT, sp - PAINT_GAP - low);
	taskENTER_CRITICAL();
	i = nstacks < 4 ? nstacks++ : 3;
	stacks[i].name = name;
	stacks[i].top = (uintptr_t)base + size;
	stacks[i].low = low;
	taskEXIT_CRITICAL();
}

static size_t stack_used(int i)
{
	const unsigned char *p = (const unsigned char *)stacks[i].low;

	while ((uintptr_t)p < stacks[i].top && *p == PAINT)
		p++;
	return stacks[i].top - (uintptr_t)p;
}

/* One line: "host: stats: heap in_use=B peak=B sessions=N; stack used:
 * relay=B tcpip=B tap-rx=B". sessions is given by the caller (the relay's
 * task, which may read the relay's stats). */
void nr_host_stats_log(size_t sessions)
{
	char line[400];
	size_t in_use, peak;
	int n;

	nr_host_mem_usage(&in_use, &peak);
	n = snprintf(line, sizeof(line),
		     "host: stats: heap in_use=%zu peak=%zu sessions=%zu; stack used:", in_use,
		     peak, sessions);
	for (int i = 0; i < nstacks && n > 0 && (size_t)n < sizeof(line); i++)
		n += snprintf(line + n, sizeof(line) - (size_t)n, " %s=%zu", stacks[i].name,
			      stack_used(i));
	nr_plat_log_write(NR_LOG_INFO, line);
}
