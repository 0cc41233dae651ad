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

#endif /* NR_LINUX_INTERNAL_H */
