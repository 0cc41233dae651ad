/*
 * sys_arch.c - lwIP's OS layer on FreeRTOS (NO_SYS 0).
 *
 * lwIP asks for counting semaphores, mutexes, mailboxes of pointers,
 * threads, a millisecond clock and a critical section; each maps onto one
 * FreeRTOS primitive. Waits take lwIP's convention: a timeout of 0 waits
 * forever, and a wait returns the milliseconds it took or SYS_ARCH_TIMEOUT.
 * Creation failures return ERR_MEM (lwIP then fails the socket call with
 * ENOMEM, which the shim turns into NR_ENOMEM: a 421 to new sessions).
 */
#include <stdarg.h>
#include <stdio.h>

#include "lwip/err.h"
#include "lwip/sys.h"

#include "nr_board.h"

/* Milliseconds as FreeRTOS ticks, never rounded down to 0 (a wait of 1 ms
 * at a 100 Hz tick still waits). */
static TickType_t ms_to_ticks(u32_t ms)
{
	TickType_t t = pdMS_TO_TICKS(ms);
	return t ? t : 1;
}

/* What a wait of timeout ms that began at start returns. */
static u32_t waited(TickType_t start)
{
	return (u32_t)((xTaskGetTickCount() - start) * portTICK_PERIOD_MS);
}

void sys_init(void) {}

u32_t sys_now(void)
{
	return (u32_t)(xTaskGetTickCount() * portTICK_PERIOD_MS);
}

u32_t sys_jiffies(void)
{
	return (u32_t)xTaskGetTickCount();
}

/* ---- semaphores ------------------------------------------------------------ */
err_t sys_sem_new(sys_sem_t *sem, u8_t count)
{
	*sem = xSemaphoreCreateCounting(0xffff, count);
	return *sem ? ERR_OK : ERR_MEM;
}

void sys_sem_signal(sys_sem_t *sem)
{
	xSemaphoreGive(*sem);
}

u32_t sys_arch_sem_wait(sys_sem_t *sem, u32_t timeout)
{
	TickType_t start = xTaskGetTickCount();
	if (timeout == 0) {
		while (xSemaphoreTake(*sem, portMAX_DELAY) != pdTRUE) {
		}
		return waited(start);
	}
	if (xSemaphoreTake(*sem, ms_to_ticks(timeout)) != pdTRUE)
		return SYS_ARCH_TIMEOUT;
	return waited(start);
}

void sys_sem_free(sys_sem_t *sem)
{
	vSemaphoreDelete(*sem);
	*sem = NULL;
}

/* ---- mutexes (the tcpip core lock among them) ------------------------------- */
/* Recursive: code running on the tcpip thread holds the core lock and may
 * call the socket API, which takes it again (nr_plat_wake() from the DNS
 * client's callback in rtos_dns.c sends its datagram with lwip_sendto).
 * A plain FreeRTOS mutex deadlocks there. */
err_t sys_mutex_new(sys_mutex_t *mutex)
{
	*mutex = xSemaphoreCreateRecursiveMutex();
	return *mutex ? ERR_OK : ERR_MEM;
}

void sys_mutex_lock(sys_mutex_t *mutex)
{
	while (xSemaphoreTakeRecursive(*mutex, portMAX_DELAY) != pdTRUE) {
	}
}

void sys_mutex_unlock(sys_mutex_t *mutex)
{
	xSemaphoreGiveRecursive(*mutex);
}

void sys_mutex_free(sys_mutex_t *mutex)
{
	vSemaphoreDelete(*mutex);
	*mutex = NULL;
}

/* ---- mailboxes ------------------------------------------------------------------ */
err_t sys_mbox_new(sys_mbox_t *mbox, int size)
{
	*mbox = xQueueCreate(size > 0 ? (UBaseType_t)size : 1, sizeof(void *));
	return *mbox ? ERR_OK : ERR_MEM;
}

void sys_mbox_post(sys_mbox_t *mbox, void *msg)
{
	while (xQueueSendToBack(*mbox, &msg, portMAX_DELAY) != pdTRUE) {
	}
}

err_t sys_mbox_trypost(sys_mbox_t *mbox, void *msg)
{
	return xQueueSendToBack(*mbox, &msg, 0) == pdTRUE ? ERR_OK : ERR_MEM;
}

err_t sys_mbox_trypost_fromisr(sys_mbox_t *mbox, void *msg)
{
	BaseType_t woken = pdFALSE;
	if (xQueueSendToBackFromISR(*mbox, &msg, &woken) != pdTRUE)
		return ERR_MEM;
	portYIELD_FROM_ISR(woken);
	return ERR_OK;
}

u32_t sys_arch_mbox_fetch(sys_mbox_t *mbox, void **msg, u32_t timeout)
{
	TickType_t start = xTaskGetTickCount();
	void *m = NULL;
	if (timeout == 0) {
		while (xQueueReceive(*mbox, &m, portMAX_DELAY) != pdTRUE) {
		}
	} else if (xQueueReceive(*mbox, &m, ms_to_ticks(timeout)) != pdTRUE) {
		if (msg)
			*msg = NULL;
		return SYS_ARCH_TIMEOUT;
	}
	if (msg)
		*msg = m;
	return waited(start);
}

u32_t sys_arch_mbox_tryfetch(sys_mbox_t *mbox, void **msg)
{
	void *m = NULL;
	if (xQueueReceive(*mbox, &m, 0) != pdTRUE)
		return SYS_MBOX_EMPTY;
	if (msg)
		*msg = m;
	return 0;
}

void sys_mbox_free(sys_mbox_t *mbox)
{
	vQueueDelete(*mbox);
	*mbox = NULL;
}

/* ---- threads --------------------------------------------------------------------- */
sys_thread_t sys_thread_new(const char *name, lwip_thread_fn thread, void *arg, int stacksize,
			    int prio)
{
	TaskHandle_t task = NULL;
	configSTACK_DEPTH_TYPE words =
	    (configSTACK_DEPTH_TYPE)((size_t)stacksize / sizeof(StackType_t));
	if (words < configMINIMAL_STACK_SIZE)
		words = configMINIMAL_STACK_SIZE;
	if (xTaskCreate(thread, name, words, arg, (UBaseType_t)prio, &task) != pdPASS)
		LWIP_ASSERT("sys_thread_new: out of memory for a task", 0);
	return task;
}

/* ---- critical sections (SYS_LIGHTWEIGHT_PROT) ------------------------------------ */
sys_prot_t sys_arch_protect(void)
{
	taskENTER_CRITICAL();
	return 0;
}

void sys_arch_unprotect(sys_prot_t pval)
{
	(void)pval;
	taskEXIT_CRITICAL();
}

/* ---- cc.h's hooks ------------------------------------------------------------------ */
void nr_rtos_lwip_diag(const char *fmt, ...)
{
	char line[160];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	nr_plat_log_write(NR_LOG_DEBUG, line);
}

_Noreturn void nr_rtos_lwip_assert(const char *what, const char *file, int line)
{
	nr_plat_panic(file, line, what);
}

/* lwIP's randomness picks local ports, TCP initial sequence numbers and DNS
 * ids: the board's TRNG when it has one; else a generator seeded from the
 * tick count, good enough for ports but not for secrets (nanorelay's own
 * entropy never falls back to it: nr_plat_entropy fails instead). */
uint32_t nr_rtos_lwip_rand(void)
{
	static uint32_t state;
	uint32_t r;
	if (nr_plat_entropy(&r, sizeof r) == 0)
		return r;
	state = state * 1664525u + 1013904223u + (uint32_t)xTaskGetTickCount();
	return state;
}
