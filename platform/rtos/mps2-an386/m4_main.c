/*
 * m4_main.c - the mps2-an386 firmware's entry: the console, then the first
 * task, then the scheduler. Milestone 1 of issue 17's firmware: one task
 * says hello on the UART and ends the run with status 0 (QEMU exits with
 * it through semihosting).
 */
#include <stdio.h>

#include "FreeRTOS.h"
#include "task.h"

#include "m4_board.h"

static void hello_task(void *arg)
{
	(void)arg;
	printf("hello from FreeRTOS on mps2-an386 (tick %lu)\r\n",
	       (unsigned long)xTaskGetTickCount());
	vTaskDelay(pdMS_TO_TICKS(10));
	printf("firmware-m4: tick after 10 ms: %lu\r\n", (unsigned long)xTaskGetTickCount());
	nr_m4_exit(0);
}

int main(void)
{
	nr_m4_uart_init();
	if (xTaskCreate(hello_task, "hello", 1024, NULL, tskIDLE_PRIORITY + 2, NULL) != pdPASS) {
		nr_m4_uart_puts("firmware-m4: no heap for the first task\r\n");
		return 1;
	}
	vTaskStartScheduler();
	return 1; /* not reached: the scheduler runs forever */
}
