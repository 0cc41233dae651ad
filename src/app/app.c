/* app.c - placeholder until the process module lands. */
#include <stdio.h>

#include "app/app.h"
#include "core/build.h"

int nr_app_main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	printf("nanorelay %s\n", NR_VERSION);
	return 0;
}
