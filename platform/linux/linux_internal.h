/* linux_internal.h - what the Linux shim's files share; not for the core. */
#ifndef NR_LINUX_INTERNAL_H
#define NR_LINUX_INTERNAL_H

#include "platform.h"

/* errno -> NR_E... */
int nr_linux_errno(int e);
/* The self-pipe the signal handlers write to, or -1 before
 * nr_plat_signals_install(); nr_plat_poll watches it. */
int nr_linux_signal_fd(void);
/* Empty the self-pipe. */
void nr_linux_signal_drain(void);
/* The process id changed (fork): the log must ask again. */
void nr_linux_log_forget_pid(void);

/* The system calls behind the mtd: backend (linux_mtd.c); a unit test
 * swaps in a fake MTD device (this kernel may have no MTD). NULL puts the
 * real ones back. */
struct nr_linux_mtd_sys {
	int (*open)(const char *path, int flags);
	int (*close)(int fd);
	int (*ioctl)(int fd, unsigned long req, void *arg);
	long (*pread)(int fd, void *buf, size_t len, uint64_t off);
	long (*pwrite)(int fd, const void *buf, size_t len, uint64_t off);
	int (*flock)(int fd, int op);
	const char *proc_mtd; /* "/proc/mtd" */
};
void nr_linux_mtd_set_sys(const struct nr_linux_mtd_sys *sys);

#endif /* NR_LINUX_INTERNAL_H */
