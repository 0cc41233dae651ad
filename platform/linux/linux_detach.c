/* linux_detach.c - classic detach for runs without a supervisor. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "linux_internal.h"

int nr_plat_detach(const char *started)
{
	pid_t pid;
	int fd;

	fflush(NULL); /* nothing buffered before the fork is written twice */
	pid = fork();
	if (pid < 0)
		return NR_EIO;
	if (pid > 0) {
		/* Whoever started us learns which process to signal. */
		printf("%s%ld\n", started, (long)pid);
		fflush(stdout);
		_exit(0);
	}
	nr_linux_log_forget_pid();
	if (setsid() < 0)
		return NR_EIO;
	fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return NR_EIO;
	(void)dup2(fd, 0);
	(void)dup2(fd, 1);
	(void)dup2(fd, 2);
	if (fd > 2)
		close(fd);
	return 0;
}

int nr_plat_stderr_is_terminal(void)
{
	return isatty(STDERR_FILENO);
}

int nr_plat_terminal_gone(void)
{
	struct pollfd p = {.fd = STDERR_FILENO, .events = 0, .revents = 0};
	int fd;

	if (poll(&p, 1, 0) == 1 && (p.revents & (POLLHUP | POLLERR)))
		return 1;
	/* The session leader (a shell) left first: the terminal is still
	 * open at the other end but is no longer ours. */
	fd = open("/dev/tty", O_RDONLY | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENXIO || errno == EIO;
	close(fd);
	return 0;
}
