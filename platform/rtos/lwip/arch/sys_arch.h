/*
 * arch/sys_arch.h - lwIP's OS types on FreeRTOS (platform/rtos/lwip/sys_arch.c).
 *
 * Semaphores and mutexes are FreeRTOS semaphores, mailboxes are queues of
 * pointers, threads are tasks. An invalid object is a NULL handle.
 */
#ifndef NR_LWIP_ARCH_SYS_ARCH_H
#define NR_LWIP_ARCH_SYS_ARCH_H

#include "FreeRTOS.h"
#include "queue.h"
#include "semphr.h"
#include "task.h"

typedef SemaphoreHandle_t sys_sem_t;
typedef SemaphoreHandle_t sys_mutex_t;
typedef QueueHandle_t sys_mbox_t;
typedef TaskHandle_t sys_thread_t;
typedef int sys_prot_t;

#define sys_sem_valid(s) (*(s) != NULL)
#define sys_sem_set_invalid(s) (*(s) = NULL)
#define sys_sem_valid_val(s) ((s) != NULL)
#define sys_sem_set_invalid_val(s) ((s) = NULL)
#define sys_mutex_valid(m) (*(m) != NULL)
#define sys_mutex_set_invalid(m) (*(m) = NULL)
#define sys_mbox_valid(m) (*(m) != NULL)
#define sys_mbox_set_invalid(m) (*(m) = NULL)
#define sys_mbox_valid_val(m) ((m) != NULL)
#define sys_mbox_set_invalid_val(m) ((m) = NULL)

#endif /* NR_LWIP_ARCH_SYS_ARCH_H */
