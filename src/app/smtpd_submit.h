/*
 * smtpd_submit.h - the local submission socket (`submit_socket`).
 *
 * The daemon listens on a Unix stream socket that every local user may
 * connect to (mode 0666; the state directory is 0711 so it can be reached
 * by name). `sendmail` speaks SMTP on it; each connection becomes an
 * ordinary smtpd session, trusted (relay without AUTH) and marked local
 * with the peer's uid in `Received:`.
 *
 * Ownership: loop and smtpd are borrowed and must outlive the listener.
 * Nothing here blocks.
 */
#ifndef NR_APP_SMTPD_SUBMIT_H
#define NR_APP_SMTPD_SUBMIT_H

#include "core/build.h"

struct nr_loop;
struct nr_smtpd;
struct nr_smtpd_submit;

/* Bind path (a stale socket file is replaced; a live one is
 * NR_EADDRINUSE) and start accepting. NR_ENOMEM, NR_EPERM, NR_ENOTSUP
 * (no local sockets on this platform). */
int nr_smtpd_submit_start(struct nr_smtpd_submit **out, struct nr_loop *loop,
			  struct nr_smtpd *smtpd, const char *path) NR_MUST_CHECK;

/* Stop accepting and close the listener (sessions already accepted go on).
 * NULL is ignored. */
void nr_smtpd_submit_stop(struct nr_smtpd_submit *s);

#endif /* NR_APP_SMTPD_SUBMIT_H */
