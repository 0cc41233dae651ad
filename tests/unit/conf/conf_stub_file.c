/*
 * conf_stub_file.c - TEMPORARY stand-ins for the simulator's file calls,
 * built only while tests/sim has no sim_*.c besides the placeholder.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "platform.h"

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
