/*
 * daemon.h - the long-running relay: a relay of the embedding API
 * (src/embed) with the POSIX parts around it, and handles signals (TERM: graceful
 * stop, HUP: reload, keeping the old configuration when the new one is bad).
 */
#ifndef NR_APP_DAEMON_H
#define NR_APP_DAEMON_H

#include "conf/conf.h"

/* Run until SIGTERM/SIGINT, on a relay of the embedding API (src/embed).
 * conf is the loaded configuration, taken over by the relay (*conf is
 * left inited: freeing it again is harmless); prog is the
 * program's name as started (argv[0]), for the start-up line that says how
 * to send a test message. Without foreground it detaches once listening
 * and the parent prints the daemon's process id. Returns a sysexits code. */
int nr_daemon_run(struct nr_conf *conf, const char *prog, const char *conf_path, int foreground);

/* Compiled-in features as one line, e.g. "tls lan-tls ipv6 c-ares ...". */
const char *nr_app_features(void);

#endif /* NR_APP_DAEMON_H */
