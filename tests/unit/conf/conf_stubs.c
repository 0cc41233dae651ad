/*
 * conf_stubs.c - TEMPORARY stand-ins for nr_log and the file calls of the
 * simulator until core/log.c and tests/sim land on main; delete then.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "core/log.h"
#include "platform.h"

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

int nr_plat_file_read(const char *path, size_t max, char **out, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	size_t n;

	if (f == NULL)
		return NR_ENOTFOUND;
	buf = malloc(max + 2);
	if (buf == NULL) {
		fclose(f);
		return NR_ENOMEM;
	}
	n = fread(buf, 1, max + 1, f);
	fclose(f);
	if (n > max) {
		free(buf);
		return NR_ETOOBIG;
	}
	buf[n] = '\0';
	*out = buf;
	*len = n;
	return 0;
}

int nr_plat_file_is_exposed(const char *path)
{
	struct stat st;

	if (stat(path, &st) != 0)
		return NR_ENOTFOUND;
	return (st.st_mode & 077) != 0;
}
