/*
 * m4_board.c - console, exit and FreeRTOS hooks of the mps2-an386 board.
 */
#include <stdint.h>
#include <string.h>

#include "FreeRTOS.h"
#include "task.h"

#include "lwip/opt.h"

#include "m4_board.h"
#include "rtos_heap.h"

/* CMSDK APB UART (ARM DDI 0479): DATA, STATE (bit 0: TX buffer full),
 * CTRL (bit 0: TX enable), BAUDDIV (QEMU wants at least 16). */
#define UART0_BASE 0x40004000u
#define UART_DATA (*(volatile uint32_t *)(UART0_BASE + 0x00u))
#define UART_STATE (*(volatile uint32_t *)(UART0_BASE + 0x04u))
#define UART_CTRL (*(volatile uint32_t *)(UART0_BASE + 0x08u))
#define UART_BAUDDIV (*(volatile uint32_t *)(UART0_BASE + 0x10u))

void nr_m4_uart_init(void)
{
	UART_BAUDDIV = 16;
	UART_CTRL = 1;
}

void nr_m4_uart_write(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		while (UART_STATE & 1u)
			;
		UART_DATA = (uint8_t)s[i];
	}
}

void nr_m4_uart_puts(const char *s)
{
	nr_m4_uart_write(s, strlen(s));
}

void nr_m4_uart_putu(uint32_t v)
{
	char buf[11];
	size_t i = sizeof buf;
	do {
		buf[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v && i);
	nr_m4_uart_write(buf + i, sizeof buf - i);
}

/* ARM semihosting: the operation in r0, its argument in r1, BKPT 0xAB. */
static int semihost(int op, void *arg)
{
	register int r0 __asm__("r0") = op;
	register void *r1 __asm__("r1") = arg;
	__asm__ volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
	return r0;
}

#define SYS_EXIT 0x18
#define SYS_EXIT_EXTENDED 0x20
#define ADP_STOPPED_APPLICATION_EXIT 0x20026u
#define ADP_STOPPED_RUNTIME_ERROR 0x20023u

/* The relay task's heap peak in each boot of the run: the self-test resets
 * the board half-way (.bss starts afresh, .noinit does not), so the tick
 * hook keeps the figure here, and the earlier boot's moves to before. A
 * power-on starts afresh (no mark yet, as for the RAM flash of m4_flash.c). */
#define KEEP_MARK 0x4e524850u /* "NRHP" */
static struct {
	uint32_t mark, peak, before;
} keep __attribute__((section(".noinit")));

void nr_m4_task_created(void *task, const char *name)
{
	if (strcmp(name, "relay") != 0)
		return;
	if (keep.mark != KEEP_MARK) {
		keep.mark = KEEP_MARK;
		keep.before = 0;
	} else {
		keep.before = keep.peak;
	}
	keep.peak = 0;
	nr_rtos_heap_count_task(task);
}

void vApplicationTickHook(void);
void vApplicationTickHook(void)
{
	size_t now, peak;

	nr_rtos_heap_task_usage(&now, &peak);
	if (peak > keep.peak)
		keep.peak = (uint32_t)peak;
}

/* The relay's RAM beyond .data and .bss: the heap its task allocated (its
 * sessions, queue index, TLS contexts and connections, mbedTLS's buffers),
 * and the stacks of the tasks it needs (its own, lwIP's, FreeRTOS's timer
 * and idle tasks). tests/bench/size.sh reads this line. */
static void ram_line(void)
{
	size_t now, peak;
	uint32_t stacks =
	    NR_M4_RELAY_STACK + TCPIP_THREAD_STACKSIZE +
	    (configTIMER_TASK_STACK_DEPTH + configMINIMAL_STACK_SIZE) * sizeof(StackType_t);

	nr_rtos_heap_task_usage(&now, &peak);
	if (keep.peak > peak)
		peak = keep.peak;
	nr_m4_uart_puts("ram: relay heap peak ");
	nr_m4_uart_putu((uint32_t)(peak > keep.before ? peak : keep.before));
	nr_m4_uart_puts(" bytes (this boot ");
	nr_m4_uart_putu((uint32_t)peak);
	nr_m4_uart_puts(", the boot before the reset ");
	nr_m4_uart_putu(keep.before);
	nr_m4_uart_puts("), stacks ");
	nr_m4_uart_putu(stacks);
	nr_m4_uart_puts(" bytes (relay, tcpip, timer, idle)\r\n");
}

void nr_m4_exit(int status)
{
	uint32_t block[2] = {ADP_STOPPED_APPLICATION_EXIT, (uint32_t)status};

	if (status == 0 || status == 1) /* the self-test's end, on its task */
		ram_line();
	__asm__ volatile("cpsid i" ::: "memory");
	semihost(SYS_EXIT_EXTENDED, block);
	/* A host without the extended call: 0 or "failed". */
	semihost(SYS_EXIT, (void *)(uintptr_t)(status == 0 ? ADP_STOPPED_APPLICATION_EXIT
							   : ADP_STOPPED_RUNTIME_ERROR));
	for (;;)
		__asm__ volatile("wfi");
}

/* newlib's stdout and stderr (printf, for the self-test's lines). */
int _write(int fd, const char *buf, int len);
int _write(int fd, const char *buf, int len)
{
	(void)fd;
	nr_m4_uart_write(buf, (size_t)len);
	return len;
}

void nr_m4_assert_failed(const char *file, int line);
void nr_m4_assert_failed(const char *file, int line)
{
	nr_m4_uart_puts("\r\nassert: ");
	nr_m4_uart_puts(file);
	nr_m4_uart_puts(":");
	nr_m4_uart_putu((uint32_t)line);
	nr_m4_uart_puts("\r\n");
	nr_m4_exit(3);
}

void vApplicationStackOverflowHook(TaskHandle_t task, char *name);
void vApplicationStackOverflowHook(TaskHandle_t task, char *name)
{
	(void)task;
	nr_m4_uart_puts("\r\nstack overflow: ");
	nr_m4_uart_puts(name);
	nr_m4_uart_puts("\r\n");
	nr_m4_exit(4);
}

void vApplicationMallocFailedHook(void);
void vApplicationMallocFailedHook(void)
{
	/* Not fatal: the core sees NULL and answers 421/452; said once. */
	static int said;
	if (!said) {
		said = 1;
		nr_m4_uart_puts("\r\nheap exhausted (pvPortMalloc returned NULL)\r\n");
	}
}
