/*
 * daemon.h - the long-running relay: owns the loop, the queue, the
 * listeners and the delivery side, and handles signals (TERM: graceful
 * stop, HUP: reload, keeping the old configuration when the new one is bad).
 */
#ifndef NR_APP_DAEMON_H
#define NR_APP_DAEMON_H

#include "conf/conf.h"

/* Run until SIGTERM/SIGINT. conf is the loaded configuration (ownership
 * stays with the caller; reloads are owned by the daemon); prog is the
 * program's name as started (argv[0]), for the start-up line that says how
 * to send a test message. Without foreground it detaches once listening
 * and the parent prints the daemon's process id. Returns a sysexits code. */
int nr_daemon_run(struct nr_conf *conf, const char *prog, const char *conf_path, int foreground);

/* Compiled-in features as one line, e.g. "tls lan-tls ipv6 c-ares ...". */
const char *nr_app_features(void);

#endif /* NR_APP_DAEMON_H */
