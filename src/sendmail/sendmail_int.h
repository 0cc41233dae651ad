/* sendmail_int.h - what the files of src/sendmail share (not a public API). */
#ifndef NR_SENDMAIL_SENDMAIL_INT_H
#define NR_SENDMAIL_SENDMAIL_INT_H

#include <stddef.h>
#include <stdint.h>

#include "platform.h"
#include "sendmail/sendmail.h"

struct nr_loop;
struct nr_conf;

#define SM_REPLY_MAX 512

/*
 * The client end of an SMTP session with smtpd: the daemon's submit socket,
 * or one end of a socket pair whose other end an in-process smtpd serves
 * (then waiting turns that loop instead of polling).
 */
struct sm_link {
	nr_sock_t sock;
	struct nr_loop *loop; /* direct mode: turn it while waiting */
	uint64_t timeout_ms;  /* per wait */
	unsigned char out[8192];
	size_t olen;
	unsigned char in[4096];
	size_t ipos, ilen;
	int code;                /* last reply code */
	char text[SM_REPLY_MAX]; /* last reply, its lines joined by "; " */
};

void sm_link_init(struct sm_link *l, nr_sock_t sock, struct nr_loop *loop, uint64_t timeout_ms);
/* Buffered write; flushed when full or by sm_link_flush. 0 or NR_E... */
int sm_link_put(struct sm_link *l, const void *data, size_t len);
int sm_link_flush(struct sm_link *l);
/* Read one whole (multi-line) reply into l->code / l->text; raw, when not
 * NULL, gets the reply's bytes as they came (for -bs). 0 or NR_E... */
int sm_link_reply(struct sm_link *l, void (*raw)(const void *p, size_t n));
/* Send a command line (CRLF added), read its reply. */
int sm_link_cmd(struct sm_link *l, const char *line);

/* In-process delivery when no daemon runs (sendmail_direct.c): a private
 * relay of the embedding API. open takes conf over (moved into the relay:
 * *conf is left inited) once it succeeded; from then on the configuration
 * is sm_direct_conf's, until sm_direct_close. */
struct sm_direct;
int sm_direct_open(struct sm_direct **out, struct nr_conf *conf, long uid,
		   nr_sock_t *client) NR_MUST_CHECK;
const struct nr_conf *sm_direct_conf(const struct sm_direct *dm);
struct nr_loop *sm_direct_loop(struct sm_direct *dm);
/* Deliver what was queued; a sysexits code, with the reason on stderr. */
int sm_direct_deliver(struct sm_direct *dm);
void sm_direct_close(struct sm_direct *dm);

#endif /* NR_SENDMAIL_SENDMAIL_INT_H */
