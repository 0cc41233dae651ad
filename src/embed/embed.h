/*
 * embed.h - what the front ends (the Linux daemon, src/app/daemon.c, and
 * sendmail without a daemon) use of a relay beyond the public API
 * (include/nanorelay.h): a configuration already parsed from a file, a
 * private relay with no listeners, start in two steps (the daemon removes
 * a foreign LAN key between them), the modules for its control socket and
 * submit socket, and the stages a start failed at (for sysexits codes).
 */
#ifndef NR_EMBED_EMBED_H
#define NR_EMBED_EMBED_H

#include "conf/conf.h"
#include "core/build.h"
#include "nanorelay.h"

struct nr_loop;
struct nr_queue;
struct nr_delivery;
struct nr_smtpd;

/* A relay on conf, which is taken over (moved: *conf is left inited, so
 * freeing it again is harmless). source: the file's name for the log line
 * of a reload ("configuration reloaded from FILE"); borrowed, NULL: none.
 * Creates the loop. NR_ENOMEM. */
int nr_relay_new_conf(struct nr_relay **out, struct nr_conf *conf,
		      const char *source) NR_MUST_CHECK;

/* A private relay for a front end that hands it its mail itself (sendmail
 * without a daemon: an SMTP session over a socket pair): as
 * nr_relay_new_conf, but the configuration's `listen` lines are dropped
 * (nothing is bound) and its queue is ram_bytes of RAM, whatever the
 * `queue` key says (the daemon's queue is never touched). Nothing is
 * opened before nr_relay_start. NR_ENOMEM. */
int nr_relay_new_private(struct nr_relay **out, struct nr_conf *conf,
			 uint64_t ram_bytes) NR_MUST_CHECK;

/* The first step of nr_relay_start: open and recover the queue (logged
 * and in err on failure). nr_relay_start then does the rest. */
int nr_relay_open_queue(struct nr_relay *r, char *err, size_t err_size) NR_MUST_CHECK;

/* Where nr_relay_start (or nr_relay_open_queue) failed. */
enum nr_relay_stage {
	NR_RELAY_AT_NONE = 0,
	NR_RELAY_AT_QUEUE,
	NR_RELAY_AT_LAN_TLS,
	NR_RELAY_AT_DELIVERY,
	NR_RELAY_AT_LISTENERS,
};
enum nr_relay_stage nr_relay_failed_at(const struct nr_relay *r);

/* The configuration in force, and the modules (NULL before start; delivery
 * NULL without a smarthost). */
const struct nr_conf *nr_relay_conf(const struct nr_relay *r);
struct nr_loop *nr_relay_loop(const struct nr_relay *r);
struct nr_queue *nr_relay_queue(const struct nr_relay *r);
struct nr_delivery *nr_relay_delivery(const struct nr_relay *r);
struct nr_smtpd *nr_relay_smtpd(const struct nr_relay *r);

/* Apply a configuration parsed by the caller (taken over, as in
 * nr_relay_new_conf), as nr_relay_reload does with text. 0, or the
 * listeners' refusal (then the running configuration stays, next is
 * freed; both logged). */
int nr_relay_reload_conf(struct nr_relay *r, struct nr_conf *next);
/* fn(arg, next) runs during a reload once the modules use next, before
 * the previous configuration is freed (the control socket switches to
 * it; the log sink is opened again). */
void nr_relay_on_reload(struct nr_relay *r, void (*fn)(void *arg, const struct nr_conf *next),
			void *arg);

/* The first half of the stop: close the listeners and every session, then
 * one last turn so that commits in flight finish. The daemon closes its
 * control socket after it; nr_relay_free does the rest. */
void nr_relay_close_sessions(struct nr_relay *r);

#endif /* NR_EMBED_EMBED_H */
