/*
 * FreeRTOSConfig.h - the mps2-an386 board's kernel configuration: FreeRTOS's
 * ARM_CM4F port, heap_4 (one array in .bss: the figure the RAM budget counts).
 */
#ifndef FREERTOS_CONFIG_H
#define FREERTOS_CONFIG_H

#include <stdint.h>

/* QEMU's mps2 boards run the CPU (and SysTick) at 25 MHz. */
#define configCPU_CLOCK_HZ 25000000u
#define configTICK_RATE_HZ 1000
#define configUSE_PREEMPTION 1
#define configUSE_TIME_SLICING 1
#define configUSE_PORT_OPTIMISED_TASK_SELECTION 1
#define configMAX_PRIORITIES 8
#define configMINIMAL_STACK_SIZE ((configSTACK_DEPTH_TYPE)256)
#define configSTACK_DEPTH_TYPE uint32_t
#define configMAX_TASK_NAME_LEN 16
#define configTICK_TYPE_WIDTH_IN_BITS TICK_TYPE_WIDTH_32_BITS
#define configIDLE_SHOULD_YIELD 1
#define configUSE_TASK_NOTIFICATIONS 1
#define configUSE_MUTEXES 1
#define configUSE_RECURSIVE_MUTEXES 1
#define configUSE_COUNTING_SEMAPHORES 1
#define configQUEUE_REGISTRY_SIZE 0
#define configUSE_QUEUE_SETS 0
#define configENABLE_BACKWARD_COMPATIBILITY 0
/* Not used by the port on this core (no MPU, no TrustZone). */
#define configENABLE_FPU 1
#define configENABLE_MPU 0

#define configSUPPORT_STATIC_ALLOCATION 0
#define configSUPPORT_DYNAMIC_ALLOCATION 1
/* heap_4: every task stack, lwIP's, mbedTLS's and the relay's allocations
 * (m4_sys.c routes malloc here too). Sized for the self-test, which also
 * runs a TLS client and a TLS smarthost inside the image (measured: 172 KB
 * used at the most, 2026-12, after issue 17's sizing; 263 KB before); the
 * RAM budget of issue 17 counts the relay's own share (m4_board.c's "ram:"
 * line), not this array. */
#ifndef NR_M4_HEAP_SIZE
#define NR_M4_HEAP_SIZE (256 * 1024)
#endif
#define configTOTAL_HEAP_SIZE ((size_t)NR_M4_HEAP_SIZE)
#define configAPPLICATION_ALLOCATED_HEAP 0

#define configUSE_IDLE_HOOK 0
#define configUSE_TICK_HOOK 1 /* m4_board.c: the relay's heap peak over a warm reset */
#define configCHECK_FOR_STACK_OVERFLOW 2
#define configUSE_MALLOC_FAILED_HOOK 1
#define configUSE_DAEMON_TASK_STARTUP_HOOK 0
#define configGENERATE_RUN_TIME_STATS 0
#define configUSE_TRACE_FACILITY 0
#define configUSE_STATS_FORMATTING_FUNCTIONS 0
#define configUSE_CO_ROUTINES 0

#define configUSE_TIMERS 1
#define configTIMER_TASK_PRIORITY (configMAX_PRIORITIES - 1)
#define configTIMER_QUEUE_LENGTH 10
#define configTIMER_TASK_STACK_DEPTH configMINIMAL_STACK_SIZE

/* Interrupt priorities (the top bits of the 8-bit field: right whatever
 * number of priority bits the NVIC implements). The kernel's interrupts
 * run at the lowest priority; ISRs that call FreeRTOS must be at 0xA0 or
 * lower (numerically higher). configPRIO_BITS is left undefined on
 * purpose: QEMU's NVIC implements 8 bits, a real M4 usually 3 or 4. */
#define configKERNEL_INTERRUPT_PRIORITY 0xE0
#define configMAX_SYSCALL_INTERRUPT_PRIORITY 0xA0

#define INCLUDE_vTaskPrioritySet 1
#define INCLUDE_uxTaskPriorityGet 1
#define INCLUDE_vTaskDelete 1
#define INCLUDE_vTaskSuspend 1
#define INCLUDE_vTaskDelayUntil 1
#define INCLUDE_vTaskDelay 1
#define INCLUDE_xTaskGetSchedulerState 1
#define INCLUDE_xTaskGetCurrentTaskHandle 1
#define INCLUDE_uxTaskGetStackHighWaterMark 1
#define INCLUDE_xTaskGetIdleTaskHandle 1
#define INCLUDE_xSemaphoreGetMutexHolder 1
#define INCLUDE_xTaskGetHandle 1

/* The board's task hook (m4_board.c): counts the relay task's heap apart
 * (rtos_heap.h), so that the self-test can report the relay's own share. */
void nr_m4_task_created(void *task, const char *name);
#define traceTASK_CREATE(tcb) nr_m4_task_created((void *)(tcb), (tcb)->pcTaskName)

/* A failed kernel assertion is a broken invariant: print it and end the run. */
void nr_m4_assert_failed(const char *file, int line);
#define configASSERT(x)                                                                            \
	do {                                                                                       \
		if (!(x))                                                                          \
			nr_m4_assert_failed(__FILE__, __LINE__);                                   \
	} while (0)

#endif /* FREERTOS_CONFIG_H */
