/*
 * ctl_none.c - builds without the control socket (CONFIG_NR_CTL off, e.g.
 * an RTOS without local sockets).
 */
#include <stdio.h>

#include "ctl/ctl.h"

int nr_ctl_start(struct nr_ctl **out, struct nr_loop *loop, const struct nr_conf *conf,
		 struct nr_queue *q, struct nr_delivery *delivery)
{
	(void)loop, (void)conf, (void)q, (void)delivery;
	*out = NULL;
	return NR_ENOTSUP;
}

void nr_ctl_set_conf(struct nr_ctl *c, const struct nr_conf *conf)
{
	(void)c, (void)conf;
}

void nr_ctl_stop(struct nr_ctl *c)
{
	(void)c;
}

int nr_ctl_cli_main(const char *socket_path, const char *daemon_user, int argc, char **argv)
{
	(void)socket_path, (void)daemon_user, (void)argc, (void)argv;
	fprintf(stderr, "nanorelay: this build has no control socket (CONFIG_NR_CTL)\n");
	return NR_CTL_EX_UNAVAILABLE;
}

int nr_ctl_is_command(const char *name)
{
	(void)name;
	return 0;
}
