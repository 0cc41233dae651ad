/*
 * m4_board.c - console, exit and FreeRTOS hooks of the mps2-an386 board.
 */
#include <stdint.h>
#include <string.h>

#include "FreeRTOS.h"
#include "task.h"

#include "m4_board.h"

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

void nr_m4_exit(int status)
{
	uint32_t block[2] = {ADP_STOPPED_APPLICATION_EXIT, (uint32_t)status};
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
