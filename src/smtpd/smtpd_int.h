/* smtpd_int.h - what the files of src/smtpd share (not a public API). */
#ifndef NR_SMTPD_SMTPD_INT_H
#define NR_SMTPD_SMTPD_INT_H

#include <stdarg.h>

#include "acl/acl.h"
#include "conf/conf.h"
#include "core/loop.h"
#include "core/pool.h"
#include "proto/proto.h"
#include "smtpd/smtpd.h"

/* Session states, in the order a transaction walks them. */
enum smtpd_state {
	SS_INIT = 0, /* greeting sent (or TLS just started): HELO/EHLO expected */
	SS_HELO,     /* greeted, no transaction */
	SS_MAIL,     /* MAIL accepted, no recipient yet */
	SS_RCPT,     /* at least one recipient accepted */
	SS_DATA,     /* 354 sent: the body streams through the filter */
	SS_COMMIT,   /* end of data seen, waiting for the queue to be durable */
	SS_AUTH,     /* 334 sent: an AUTH continuation line is expected */
	SS_STARTTLS, /* 220 to STARTTLS queued: switch once it has left */
	SS_CLOSING,  /* last reply queued, closing after it drained */
};

enum smtpd_auth_step { AUTH_NONE = 0, AUTH_PLAIN_WAIT, AUTH_LOGIN_USER, AUTH_LOGIN_PASS };

/* Room for the recipients of one message, packed as NUL-terminated strings. */
#define SMTPD_RCPT_BUF 8192

struct smtpd_session {
	struct nr_smtpd *d;
	struct smtpd_session *next, *prev; /* d->sessions */
	struct smtpd_session *next_dead;   /* d->dead, released at turn end */
	unsigned id;
	struct nr_conn *conn;
	struct nr_timer timer;
	enum smtpd_state state;
	struct nr_line_reader lr;
	size_t auth_line_max;

	struct nr_addr peer;
	struct nr_addr acl_peer; /* as counted by the acl */
	char peer_str[72];       /* "[192.168.1.20]", "local" or "local, uid 1000" */
	int trusted;             /* local submission */
	long local_uid;          /* local submission: the peer's uid, -1 unknown */
	int allowed;             /* in `allow`: may relay without AUTH */
	enum nr_tls_mode tls_mode;
	enum nr_auth_policy auth_policy;
	int plain_auth_ok; /* AUTH allowed without TLS for this client */
	int legacy_tls_ok;
	int tls;         /* the transport is TLS */
	int tls_pending; /* switch to TLS when the 220 has drained */
	/* Holds one of max_tls_handshakes from the start of TLS until the
	 * connection reports the handshake done (on_tls_ready);
	 * tls_handshake_timeout applies meanwhile. */
	int handshaking;

	char helo[72]; /* sanitised EHLO/HELO argument */
	int esmtp;
	unsigned errors;
	char auth_id[256];
	enum smtpd_auth_step auth_step;
	char auth_user[256];

	/* the transaction */
	char sender[NR_PATH_MAX + 1];
	struct nr_mail_params params;
	char *rcpt[CONFIG_NR_MAX_RECIPIENTS];
	size_t nrcpt;
	size_t rcpt_used;
	unsigned rcpt_excess; /* RCPTs refused 452 for the limit in this transaction */
	char rcpt_buf[SMTPD_RCPT_BUF];
	struct nr_qwriter *writer;
	struct nr_body body;
	char date_hdr[80];
	char msgid_hdr[NR_PATH_MAX + 64];
	uint64_t data_start, data_deadline, data_bytes;
	uint64_t rate_since, rate_bytes;
	int committing; /* the queue holds a commit callback to us */
	int zombie;     /* connection gone while committing */
	int freed;      /* released; memory returns to the pool at turn end */
};

struct smtpd_listener {
	struct nr_smtpd *d;
	struct nr_io io;
	int index; /* in conf->listen */
	struct nr_addr addr;
	enum nr_tls_mode tls;
};

struct nr_smtpd {
	struct nr_loop *loop;
	const struct nr_conf *conf;
	struct nr_queue *queue;
	struct nr_tls_ctx *tls_ctx;
	const char *hostname;
	nr_smtpd_auth_fn auth_fn;
	void *auth_arg;
	nr_smtpd_tls_fn tls_fn;
	void *tls_arg;
	struct nr_acl acl;
	struct nr_pool pool;
	struct smtpd_session *sessions;
	size_t nsessions;
	unsigned handshakes; /* sessions with handshaking set */
	struct smtpd_session *dead;
	struct nr_hook reaper;
	unsigned next_id;
	struct smtpd_listener listeners[CONFIG_NR_MAX_LISTENERS];
	size_t nlisteners;
};

int smtpd_session_start(struct nr_smtpd *d, struct smtpd_session *s, nr_sock_t sock,
			const struct nr_addr *peer, int listener, int trusted, long uid);
void smtpd_session_stop(struct smtpd_session *s);
/* Take s off the session list; its memory is released at the turn end. */
void smtpd_session_unlink(struct nr_smtpd *d, struct smtpd_session *s);
int nr_strncasecmp_(const char *a, const char *b, size_t n);
/* The default TLS hook (src/tls), or NULL in builds without LAN TLS. */
extern const nr_smtpd_tls_fn smtpd_default_tls;

#endif /* NR_SMTPD_SMTPD_INT_H */
