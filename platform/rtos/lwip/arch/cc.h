/*
 * arch/cc.h - lwIP's compiler and platform glue for platform/rtos.
 *
 * errno: lwIP sets the C library's errno (LWIP_ERRNO_STDINCLUDE), which is
 * per task on the host (each FreeRTOS task is a pthread) and on newlib with
 * configUSE_NEWLIB_REENTRANT. Diagnostics and failed assertions go to the
 * board's log and panic hooks (nr_board.h).
 */
#ifndef NR_LWIP_ARCH_CC_H
#define NR_LWIP_ARCH_CC_H

#include <stdint.h>

#define LWIP_ERRNO_STDINCLUDE 1

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define BYTE_ORDER 4321 /* BIG_ENDIAN, as lwip/arch.h defines it */
#endif

void nr_rtos_lwip_diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
_Noreturn void nr_rtos_lwip_assert(const char *what, const char *file, int line);
uint32_t nr_rtos_lwip_rand(void);

#define LWIP_PLATFORM_DIAG(x)                                                                      \
	do {                                                                                       \
		nr_rtos_lwip_diag x;                                                               \
	} while (0)
#define LWIP_PLATFORM_ASSERT(x) nr_rtos_lwip_assert((x), __FILE__, __LINE__)
#define LWIP_RAND() nr_rtos_lwip_rand()

#endif /* NR_LWIP_ARCH_CC_H */
