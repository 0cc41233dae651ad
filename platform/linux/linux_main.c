/* linux_main.c - the process entry point on Linux and BusyBox systems. */
#include "app/app.h"

int main(int argc, char **argv)
{
	return nr_app_main(argc, argv);
}
