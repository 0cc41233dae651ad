/*
 * startup.c - reset and the vector table of the mps2-an386 board (QEMU's
 * Cortex-M4F AN386 image). No CMSIS: the few registers used are named here.
 *
 * Reset copies .data from its load address in CODE, clears .bss (not
 * .noinit: the RAM flash region keeps its contents over a warm reset),
 * turns the FPU on (FreeRTOS's ARM_CM4F port saves its registers and the
 * code is built -mfloat-abi=hard) and calls main(). The exceptions
 * FreeRTOS owns (SVC, PendSV, SysTick) go straight to its port; any other
 * fault is reported on the UART and ends QEMU with status 2.
 */
#include <stdint.h>

#include "m4_board.h"

extern uint32_t _sidata, _sdata, _edata, _sbss, _ebss, _estack;

int main(void);
void Reset_Handler(void);
void nr_m4_fault_handler(void);

/* FreeRTOS's ARM_CM4F port (port.c). */
void vPortSVCHandler(void);
void xPortPendSVHandler(void);
void xPortSysTickHandler(void);

#define SCB_CPACR (*(volatile uint32_t *)0xE000ED88u)

void Reset_Handler(void)
{
	uint32_t *src = &_sidata;
	for (uint32_t *dst = &_sdata; dst < &_edata;)
		*dst++ = *src++;
	for (uint32_t *dst = &_sbss; dst < &_ebss;)
		*dst++ = 0;
	SCB_CPACR |= 0xFu << 20; /* CP10 and CP11: full access */
	__asm__ volatile("dsb\n\tisb" ::: "memory");
	nr_m4_exit(main());
}

void nr_m4_fault_handler(void)
{
	uint32_t ipsr;
	__asm__ volatile("mrs %0, ipsr" : "=r"(ipsr));
	nr_m4_uart_puts("\r\nfault: exception ");
	nr_m4_uart_putu(ipsr & 0x1ffu);
	nr_m4_uart_puts("\r\n");
	nr_m4_exit(2);
}

/* Cortex-M4 system exceptions, then AN386's 32 external interrupts (none
 * used: the UART is polled). */
#define NR_M4_IRQS 32
__attribute__((section(".isr_vector"),
	       used)) static void (*const vectors[16 + NR_M4_IRQS])(void) = {
    [0] = (void (*)(void))(uintptr_t)&_estack,
    [1] = Reset_Handler,
    [2] = nr_m4_fault_handler,  /* NMI */
    [3] = nr_m4_fault_handler,  /* HardFault */
    [4] = nr_m4_fault_handler,  /* MemManage */
    [5] = nr_m4_fault_handler,  /* BusFault */
    [6] = nr_m4_fault_handler,  /* UsageFault */
    [11] = vPortSVCHandler,     /* SVCall: starts the first task */
    [12] = nr_m4_fault_handler, /* DebugMonitor */
    [14] = xPortPendSVHandler,  /* PendSV: the context switch */
    [15] = xPortSysTickHandler, /* SysTick: the tick */
    [16 ... 16 + NR_M4_IRQS - 1] = nr_m4_fault_handler,
};
