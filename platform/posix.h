/*
 * posix.h - what only a POSIX system provides: local sockets, signals,
 * users, privileges, file modes, directories, detach, the process id and
 * syslog.
 *
 * Only the front ends include this (the nrfront library: src/app, src/ctl,
 * src/sendmail: the daemon, the command line, `sendmail`, the control and
 * submit sockets, --check-config's look at the machine). The core library
 * (nrcore) uses platform.h alone, so it builds for a target without these
 * calls (an RTOS); CI checks that nothing in the core includes this file.
 * The same rules as platform.h apply (0, a negative NR_E... code, or a
 * documented count; nothing blocks). Implemented by platform/linux and by
 * tests/sim.
 */
#ifndef NR_POSIX_H
#define NR_POSIX_H

#include "platform.h"

/* ---- local sockets ----------------------------------------------------------------- */
/* Local (AF_UNIX-style) stream sockets for the control socket and sendmail
 * submission. listen removes a stale socket file first and sets mode 0660
 * (0666 when world is non-zero); its connections are taken with
 * nr_plat_tcp_accept (peer NULL). connect is blocking-free like tcp_connect. */
int nr_plat_local_listen(const char *path, int world, nr_sock_t *out);
int nr_plat_local_connect(const char *path, nr_sock_t *out);
/* Before a client trusts a local socket (a daemon's control or submit
 * socket): path must be a socket (else NR_EINVAL) owned by root, by
 * daemon_user (when not NULL) or by this process's effective user (else
 * NR_EPERM, *owner set to the owner's uid). NR_ENOTFOUND when missing,
 * NR_ENOTSUP without local sockets. */
int nr_plat_local_check_owner(const char *path, const char *daemon_user, long *owner);
/* Credentials of a local peer: uid, or NR_ENOTSUP. */
int nr_plat_local_peer_uid(nr_sock_t s, long *uid);
/* Our side of a local socket: the effective uid this process runs as
 * (after nr_plat_drop_privileges), to compare with nr_plat_local_peer_uid()
 * (the control socket's permission rule). NR_ENOTSUP without users. */
int nr_plat_local_own_uid(long *uid);
/* A connected pair of non-blocking local stream sockets (an in-process
 * SMTP session: `sendmail` without a daemon). NR_ENOTSUP on an RTOS. */
int nr_plat_local_pair(nr_sock_t out[2]);

/* ---- files and modes ------------------------------------------------------------- */
/* 1 when path is readable by others, or by its group when that group is not
 * the primary group of user (NULL: no group is fine), 0 when private (so
 * 0640 root:<user's group> is private), negative on error. Used to warn
 * about secret files. */
int nr_plat_file_is_exposed(const char *path, const char *user);

/* The owner of path itself (a symlink's own owner): 0, NR_ENOTFOUND, NR_EIO;
 * NR_ENOTSUP without owners. */
int nr_plat_file_owner(const char *path, long *uid);

/* Remove the file path (a symlink itself, never its target). 0 or
 * NR_ENOTFOUND when it was not there; NR_EPERM, NR_EIO. */
int nr_plat_file_remove(const char *path);

/* Let user read path and not change it: group set to user's primary group,
 * mode 0640 (the owner stays). NR_ENOTFOUND (no such user or file),
 * NR_EPERM; NR_ENOTSUP without users. */
int nr_plat_file_share_with(const char *path, const char *user);

/* Whether user could open path for reading (for --check-config: the daemon
 * reads secrets after the privilege drop). 0 yes, NR_EPERM no,
 * NR_ENOTFOUND missing; NR_ENOTSUP when this process cannot tell (not
 * root, no users on this platform). */
int nr_plat_file_readable_as(const char *path, const char *user);

/* Whether a file can be created or written at path: NR_EROFS when the file,
 * or the nearest directory above it that exists, is on a read-only file
 * system; 0 otherwise (permissions are not looked at). */
int nr_plat_path_writable(const char *path);

/* ---- log sink choice ------------------------------------------------------------- */
/* Select the sink; syslog uses facility mail and the given ident. */
void nr_plat_log_open(enum nr_log_sink sink, const char *ident);

/* ---- process ---------------------------------------------------------------------- */
enum { NR_SIG_TERM = 1, NR_SIG_HUP = 2, NR_SIG_USR1 = 4 };

/* Install handlers for SIGTERM, SIGINT (as TERM), SIGHUP, SIGUSR1; ignore
 * SIGPIPE. A signal interrupts nr_plat_poll. */
int nr_plat_signals_install(void);
/* Return and clear the NR_SIG_* bits received since the last call. */
unsigned nr_plat_signals_take(void);

/* 0 when the named user exists, NR_ENOTFOUND when not, NR_EIO when the
 * user database cannot be read; NR_ENOTSUP without users. */
int nr_plat_user_exists(const char *user);

/* Switch to the named user (and its primary group, dropping supplementary
 * groups). NR_ENOTFOUND for an unknown user, NR_EPERM when not allowed. */
int nr_plat_drop_privileges(const char *user);

/* Make path (and parents) a directory owned by user (NULL: the current
 * effective user, also for an existing directory) with mode. */
int nr_plat_mkdir_p(const char *path, unsigned mode, const char *owner);

/* Create the missing directories above the file path with mode; existing
 * ones are left exactly as they are. (No file system on an RTOS: return 0.) */
int nr_plat_mkdir_parents(const char *file, unsigned mode);

/* Detach from the terminal: fork, new session, stdio to /dev/null. The
 * parent writes started and the child's process id and a newline to
 * standard output, then exits 0. Supervisors run the daemon with
 * --foreground instead. */
int nr_plat_detach(const char *started);

/* 1 when standard error is a terminal (someone watches the start-up). */
int nr_plat_stderr_is_terminal(void);
/* 1 when the terminal on standard error hung up or is no longer this
 * process's controlling terminal (a SIGHUP that closed the window, not a
 * request to reload). */
int nr_plat_terminal_gone(void);

/* Process id, for Message-ID uniqueness and logs. */
long nr_plat_pid(void);

/* The real uid of this process and its login name (the default sender of
 * `sendmail`): name gets at most size-1 bytes. NR_ENOTFOUND when the uid
 * has no name (then name holds the number), NR_ENOTSUP on an RTOS. */
int nr_plat_user_name(long *uid, char *name, size_t size);

#endif /* NR_POSIX_H */
