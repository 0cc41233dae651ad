/*
 * conf_stub_log.c - TEMPORARY stand-in for core/log.c, built only while
 * src/core/log.c does not exist (see CMakeLists.txt). Records the last line
 * so the test can check warnings.
 */
#include <stdarg.h>
#include <stdio.h>

#include "core/log.h"

char nr_test_last_log[1024];
int nr_test_log_count;

void nr_log(enum nr_log_level level, const char *fmt, ...)
{
	va_list ap;

	(void)level;
	va_start(ap, fmt);
	vsnprintf(nr_test_last_log, sizeof(nr_test_last_log), fmt, ap);
	va_end(ap);
	nr_test_log_count++;
}
