/* linux_internal.h - what the Linux shim's files share; not for the core. */
#ifndef NR_LINUX_INTERNAL_H
#define NR_LINUX_INTERNAL_H

#include "posix.h"

/* errno -> NR_E... */
int nr_linux_errno(int e);
/* The self-pipe that nr_plat_wake() and the signal handlers write to
 * (made on the first call; -1 when it cannot be made); nr_plat_poll
 * watches it. Only the loop's thread calls these. */
int nr_linux_wake_fd(void);
/* A wake-up is pending (set before the pipe existed, or its byte not yet
 * read): take it (1) and empty the self-pipe, or 0. */
int nr_linux_wake_take(void);
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
