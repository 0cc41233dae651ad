/* rtos_internal.h - shared by the files of the RTOS shim (platform/rtos). */
#ifndef NR_RTOS_INTERNAL_H
#define NR_RTOS_INTERNAL_H

#include "FreeRTOS.h"
#include "semphr.h"
#include "task.h"

#include "nr_board.h"

/* Log what at NR_LOG_ERR the first time a call site reaches it (a failure
 * that would repeat every loop turn). */
#define nr_rtos_log_once(what)                                                                     \
	do {                                                                                       \
		static int logged_;                                                                \
		if (!logged_) {                                                                    \
			logged_ = 1;                                                               \
			nr_plat_log_write(NR_LOG_ERR, what);                                       \
		}                                                                                  \
	} while (0)

#endif /* NR_RTOS_INTERNAL_H */
