/* embed_int.h - what the files of src/embed share (not a public API). */
#ifndef NR_EMBED_EMBED_INT_H
#define NR_EMBED_EMBED_INT_H

#include "conf/conf.h"
#include "core/build.h"
#include "embed/embed.h"
#include "proto/proto.h"
#include "queue/queue.h"
#include "store/bdev.h"

/* One message being submitted (nr_relay_submit_begin to _end/_abort). */
struct nr_submit {
	struct nr_relay *r;
	struct nr_qwriter *writer;
	struct nr_dotstuff stuff; /* the program's text to the wire form ... */
	struct nr_body body;      /* ... that the DATA filter takes, as for SMTP */
	char date_hdr[80];
	char msgid_hdr[NR_PATH_MAX + 64];
	uint64_t salt;
	int error; /* the first refusal, NR_E...; 0 */
	int committed, result;
	nr_qid_t id;
};

struct nr_relay {
	/* Two slots, so that a reload never moves a configuration the modules
	 * point into: the new one is put in the slot not in force, the
	 * modules are switched to it, and only then is the old one freed. */
	struct nr_conf *conf; /* the one in force: &slot[0] or &slot[1] */
	struct nr_conf slot[2];
	const char *source; /* the file's name, for the reload's log line */

	struct nr_loop *loop;
	struct nr_plat_storage dev; /* nr_relay_set_storage */
	int have_dev;
	struct nr_bdev bdev;
	int bdev_open;
	struct nr_queue *queue;
	struct nr_delivery *delivery; /* NULL: no smarthost configured */
	struct nr_tls_ctx *lan_tls;
	struct nr_smtpd *smtpd;

	nr_relay_auth_fn auth_fn; /* the program's verifier, else the users file */
	void *auth_arg;
	void (*turn_hook)(void *arg, struct nr_relay *r);
	void *turn_arg;
	void (*reload_hook)(void *arg, const struct nr_conf *next);
	void *reload_arg;

	int started;     /* nr_relay_start was called (successfully or not) */
	int running;     /* ... and succeeded */
	int queue_tried; /* nr_relay_open_queue was called */
	int sessions_closed;
	int private_relay; /* nr_relay_new_private: the front end feeds it */
	enum nr_relay_stage failed_at;
	volatile int stop; /* written by any task; read by the relay's */

	struct nr_submit submit; /* one at a time */
	int submit_open;
};

/* Log msg at error level and copy it into err; returns rc. */
int nr_relay_fail(char *err, size_t err_size, int rc, const char *fmt, ...) NR_PRINTF(4, 5);

/* embed_queue.c: the queue's device, as the `queue` key (or
 * nr_relay_set_storage) says, then recovery. */
int nr_relay_queue_open(struct nr_relay *r, char *err, size_t err_size);

/* embed_reload.c: the AUTH verifier smtpd calls (the program's, else the
 * users file named by the configuration in force). */
int nr_relay_verify_user(void *arg, const char *user, const void *password, size_t pwlen);

#endif /* NR_EMBED_EMBED_INT_H */
