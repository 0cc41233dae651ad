/*
 * nanorelay.h - the embedding API: run the nanorelay SMTP relay inside your
 * own program or RTOS firmware.
 *
 * A relay is one event loop with its queue, its listeners (the `listen`
 * lines) and its delivery to the smarthosts. It is configured with the same
 * text as /etc/nanorelay.conf (same keys, same defaults; see README.md and
 * configs/nanorelay.conf), run one loop turn at a time or in a task of its
 * own, and stopped, reloaded and read from outside. The Linux daemon is
 * built on these calls.
 *
 * Threading: a relay belongs to one task, the one that calls
 * nr_relay_turn() or nr_relay_run(). Every call below is made from that
 * task, except nr_relay_stop() and nr_relay_wake(), which any task (or an
 * interrupt handler that may call the platform's nr_plat_wake()) may call.
 * Another task that has mail to submit hands it over: it puts the message
 * in its own RTOS queue and calls nr_relay_wake(); the relay's task takes
 * it out in its turn hook (nr_relay_set_turn_hook) and submits it there.
 *
 * Return values: 0 success, or a negative NR_E... code from platform.h
 * (NR_EINVAL, NR_ENOMEM, NR_EFULL, ...). err/err_size: a buffer for a
 * message a person can read (always NUL-terminated; err may be NULL).
 *
 * Example: a relay task on FreeRTOS, and an alert sent from it.
 *
 *     static const char conf[] =
 *         "listen 0.0.0.0:25\n"
 *         "allow 192.168.1.0/24\n"
 *         "hostname camera.lan\n"
 *         "smarthost smtp.gmail.com:465 tls=implicit user=cam@gmail.com "
 *         "password_file=/gmail.pass\n";
 *
 *     void relay_task(void *arg)
 *     {
 *         struct nr_relay *r;
 *         char err[256];
 *
 *         if (nr_relay_new(&r, conf, sizeof(conf) - 1, err, sizeof(err)) != 0 ||
 *             nr_relay_set_storage(r, &board_flash) != 0 ||  // your flash HAL
 *             nr_relay_start(r, err, sizeof(err)) != 0) {
 *             printf("relay: %s\n", err);
 *             nr_relay_free(r);        // NULL is fine
 *             vTaskDelete(NULL);
 *         }
 *         nr_relay_run(r);            // until another task calls nr_relay_stop(r)
 *         nr_relay_free(r);
 *         vTaskDelete(NULL);
 *     }
 *
 *     // on the relay's task (e.g. in its turn hook):
 *     static int send_alert(struct nr_relay *r, const char *text)
 *     {
 *         const char *to[] = {"admin@example.com"};
 *         struct nr_submit *s;
 *         int rc = nr_relay_submit_begin(r, "camera@camera.lan", to, 1, 0, &s);
 *
 *         if (rc != 0)
 *             return rc;                      // NR_EFULL: try again later
 *         if ((rc = nr_submit_write(s, "Subject: alert\n\n", 16)) != 0 ||
 *             (rc = nr_submit_write(s, text, strlen(text))) != 0) {
 *             nr_submit_abort(s);
 *             return rc;
 *         }
 *         return nr_submit_end(s, NULL, 0);  // 0: on flash, it will be sent
 *     }
 */
#ifndef NANORELAY_H
#define NANORELAY_H

#include <stddef.h>
#include <stdint.h>

#include "platform.h" /* NR_E... codes, struct nr_plat_storage */

#ifdef __cplusplus
extern "C" {
#endif

struct nr_relay;

/* ---- life cycle ----------------------------------------------------------------------- */

/*
 * Create a relay from configuration text (len bytes, need not be
 * NUL-terminated): the keys and checks of the configuration file. A bad
 * text gives NR_EINVAL (NR_ENOMEM when memory ran out), "LINE: what was
 * expected" in err (the file's messages without "FILE:"), and *out NULL.
 * Nothing is opened or bound yet.
 */
int nr_relay_new(struct nr_relay **out, const char *config, size_t len, char *err, size_t err_size);

/*
 * Optional, before nr_relay_start: the device the queue lives on (the
 * board's flash, a RAM region). The struct is copied; the relay owns the
 * device from then on and calls dev->close at nr_relay_free (also when
 * start fails). Sectors are dev->erase_size bytes (a flash's erase block),
 * or 4096 when it is 0. Without a device the `queue` key decides (file:,
 * mtd:, ram, where the build has them). NR_ESTATE after start, NR_EBUSY
 * when a device was given already, NR_EINVAL.
 */
int nr_relay_set_storage(struct nr_relay *r, const struct nr_plat_storage *dev);

/*
 * Open (recover) the queue, bind the listeners, start delivery. Each
 * failure is also logged. NR_ESTATE when called twice; else the code of
 * what failed, and err says what: a queue that cannot be opened or
 * recovered, a LAN certificate that cannot be loaded, a smarthost setting
 * delivery refuses, a listener that cannot be bound (NR_EADDRINUSE,
 * NR_EPERM). After a failure only nr_relay_free is left to call.
 */
int nr_relay_start(struct nr_relay *r, char *err, size_t err_size);

/*
 * One loop turn: wait at most timeout_ms (-1: until the next timer or
 * event, 0: do not wait) for the network or nr_relay_wake, then run what is
 * ready, the due timers, the queue's group commit and the turn hook.
 * Returns the number of callbacks run (0 on a timeout), NR_ESTATE before
 * start or after a failed one, or a negative code from the platform's poll.
 */
int nr_relay_turn(struct nr_relay *r, int timeout_ms);

/* Turns until nr_relay_stop: 0 then, or the first error of a turn. */
int nr_relay_run(struct nr_relay *r);

/* Make nr_relay_run return after its current turn (and nr_relay_stopping
 * say 1). Any task may call it: sets a flag and wakes the relay's task. */
void nr_relay_stop(struct nr_relay *r);
/* 1 once nr_relay_stop was called. */
int nr_relay_stopping(const struct nr_relay *r);
/* Wake the relay's task out of its wait (any task). */
void nr_relay_wake(struct nr_relay *r);

/* Called on the relay's task at the end of every nr_relay_turn (fn NULL:
 * none): where other tasks' work is taken over (see Threading above). */
void nr_relay_set_turn_hook(struct nr_relay *r, void (*fn)(void *arg, struct nr_relay *r),
			    void *arg);

/*
 * A new configuration text, while running: parsed first (a bad one is
 * NR_EINVAL with "LINE: ..." in err, and the running configuration
 * stays), then applied as the daemon's SIGHUP does: limits, listeners,
 * smarthosts, aliases and the rest at once; the queue's device, and
 * smarthosts added to a relay started without any, at the next start
 * (the log says which keys wait). Before start it only replaces the text.
 */
int nr_relay_reload(struct nr_relay *r, const char *config, size_t len, char *err, size_t err_size);

/* Close the listeners and sessions, finish the commits in flight, close
 * the queue and free everything. NULL is ignored. */
void nr_relay_free(struct nr_relay *r);

/* ---- AUTH on the listeners -------------------------------------------------------------- */

/*
 * Verify a user and password for AUTH PLAIN/LOGIN from LAN clients: 0
 * accepted, NR_EAUTH refused (535), another code a temporary failure
 * (454). The password is not NUL-terminated; do not keep it. Runs on the
 * relay's task, once per turn at most. Replaces the `users` file; AUTH is
 * offered once a verifier is set. Before or after start.
 */
typedef int (*nr_relay_auth_fn)(void *arg, const char *user, const void *password, size_t len);
void nr_relay_set_auth(struct nr_relay *r, nr_relay_auth_fn fn, void *arg);

/* ---- statistics --------------------------------------------------------------------------- */

struct nr_relay_stats {
	int running;             /* started, not yet freed */
	size_t sessions;         /* inbound SMTP sessions open */
	size_t queued;           /* messages waiting for delivery */
	size_t dead;             /* expired or deleted, kept until their space is needed */
	uint64_t queue_capacity; /* bytes for messages */
	uint64_t queue_used;
	uint64_t queue_free;
	int queue_persistent;   /* 0: RAM, lost at a power cut */
	int64_t oldest_arrival; /* wall clock seconds of the oldest queued message, 0 if none */
	/* Counters since the program started (one relay per program): */
	uint64_t accepted;    /* messages committed to the queue */
	uint64_t delivered;   /* recipients accepted by a smarthost */
	uint64_t deferred;    /* recipient attempts that failed temporarily */
	uint64_t bounced;     /* recipients refused permanently */
	uint64_t rejected;    /* recipients refused by policy (relay denied) */
	uint64_t auth_failed; /* wrong passwords from LAN clients */
};

/* Fill *out (all zero before start). */
void nr_relay_get_stats(const struct nr_relay *r, struct nr_relay_stats *out);

/* ---- submit: the in-firmware sendmail ------------------------------------------------------ */

struct nr_submit;

/*
 * Start a message from this program: envelope sender from ("" for the
 * null sender) and nrcpt recipients (addresses without <>; at most
 * max_recipients). size_hint: the expected size in bytes, or 0. The
 * message then streams into the queue: RAM use does not grow with it.
 * It gets the headers a local `sendmail` message gets (Received:, and
 * Date: and Message-ID: when it has none) and the same limits.
 * NR_EFULL: the queue has no room now (try later); NR_ETOOBIG: size_hint
 * is more than max_message_size or the queue could ever hold; NR_EINVAL:
 * an address with CR, LF, NUL or another control byte, too long, or no
 * recipient; NR_EBUSY: another submit is open on this relay (one at a
 * time); NR_ESTATE: the relay is not running. On the relay's task only.
 */
int nr_relay_submit_begin(struct nr_relay *r, const char *from, const char *const *rcpts,
			  size_t nrcpt, uint64_t size_hint, struct nr_submit **out);

/*
 * Append message text: header lines, an empty line, the body; lines end
 * with LF or CRLF and are not dot-stuffed. NR_ETOOBIG past
 * max_message_size (or max_header_size), NR_EFULL when the queue ran out
 * of room, NR_EINVAL for a NUL byte, NR_EIO; after an error the message
 * is refused: call nr_submit_abort.
 */
int nr_submit_write(struct nr_submit *s, const void *data, size_t len);

/*
 * Finish the message and return only once it is durable on the queue's
 * device (one sync, shared with the commits of SMTP sessions in flight):
 * 0 then, and the queue id (16 hex digits) in id (id_size >= 17; id may be
 * NULL). Else nothing was queued: NR_ETOOBIG, NR_EFULL, NR_EINVAL (NUL,
 * too many Received: lines), NR_EIO (the device failed the write or the
 * sync). The handle is released either way.
 */
int nr_submit_end(struct nr_submit *s, char *id, size_t id_size);

/* Drop an unfinished message: nothing of it is ever delivered, also after a
 * power cut. Releases the handle; NULL is ignored. */
void nr_submit_abort(struct nr_submit *s);

#ifdef __cplusplus
}
#endif

#endif /* NANORELAY_H */
