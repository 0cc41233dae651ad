/*
 * host_relay.c - the relay task of the host RTOS target: nanorelay through
 * its embedding API (include/nanorelay.h), as firmware would run it. Built
 * only when that header exists (platform/rtos/sources.cmake).
 */
#include <stdio.h>

#include "FreeRTOS.h"
#include "task.h"

#include "host_board.h"
#include "nanorelay.h"
#include "platform.h"

void nr_host_relay_task(void *arg)
{
	const struct nr_host_relay_args *a = arg;
	struct nr_relay *relay = NULL;
	char err[256], msg[320];

	if (nr_relay_new(&relay, a->config, a->config_len, err, sizeof(err)) != 0) {
		snprintf(msg, sizeof(msg), "config: %s", err);
		nr_plat_panic(__FILE__, __LINE__, msg);
	}
	if (a->storage && nr_relay_set_storage(relay, a->storage) != 0)
		nr_plat_panic(__FILE__, __LINE__, "the queue's flash was refused");
	if (nr_relay_start(relay, err, sizeof(err)) != 0) {
		snprintf(msg, sizeof(msg), "start: %s", err);
		nr_plat_panic(__FILE__, __LINE__, msg);
	}
	nr_plat_log_write(NR_LOG_INFO, "host: relay running");
	(void)nr_relay_run(relay);
	nr_relay_free(relay);
	nr_plat_log_write(NR_LOG_INFO, "host: relay stopped");
	vTaskDelete(NULL);
}
