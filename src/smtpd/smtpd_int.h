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

/* Session states, in the order a transaction walks them. A command line
 * is read in SS_INIT to SS_RCPT only; SM() makes the masks of the command
 * table (smtpd_session.c). */
enum smtpd_state {
	SS_INIT = 0,  /* greeting sent (or TLS just started): HELO/EHLO expected */
	SS_HELO,      /* greeted, no transaction */
	SS_MAIL,      /* MAIL accepted, no recipient yet */
	SS_RCPT,      /* at least one recipient accepted */
	SS_DATA,      /* 354 sent: the body streams through the filter */
	SS_COMMIT,    /* end of data seen, waiting for the queue to be durable */
	SS_AUTH,      /* 334 sent: an AUTH continuation line is expected */
	SS_AUTH_WAIT, /* credentials in, waiting for our turn to verify (input paused) */
	SS_STARTTLS,  /* 220 to STARTTLS queued: switch once it has left */
	SS_CLOSING,   /* last reply queued, closing after it drained */
};

#define SM(st) (1u << (st))

enum smtpd_auth_step { AUTH_NONE = 0, AUTH_PLAIN_WAIT, AUTH_LOGIN_USER, AUTH_LOGIN_PASS };

/* Session flags: one word, s->flags. */
enum {
	SF_TRUSTED = 1u << 0,       /* local submission */
	SF_ALLOWED = 1u << 1,       /* in `allow`: may relay without AUTH */
	SF_PLAIN_AUTH_OK = 1u << 2, /* AUTH allowed without TLS for this client */
	SF_LEGACY_TLS_OK = 1u << 3, /* TLS 1.0/1.1 allowed for this client */
	SF_TLS = 1u << 4,           /* the transport is TLS */
	SF_TLS_PENDING = 1u << 5,   /* switch to TLS when the 220 has drained */
	/* Holds one of max_tls_handshakes from the start of TLS until the
	 * connection reports the handshake done (on_tls_ready);
	 * tls_handshake_timeout applies meanwhile. */
	SF_HANDSHAKING = 1u << 6,
	SF_ESMTP = 1u << 7,      /* greeted with EHLO (Received: says ESMTP) */
	SF_COMMITTING = 1u << 8, /* the queue holds a commit callback to us */
	SF_ZOMBIE = 1u << 9,     /* connection gone while committing */
	SF_FREED = 1u << 10,     /* released; memory returns to the pool at turn end */
};

/* A fixed reply to a command that may not run (command table). */
struct smtpd_refusal {
	unsigned states; /* in a command's wrong_state list: where it applies, 0 any */
	int code;
	const char *enh;
	const char *text;
};

/* Room for the recipients of one message, packed as NUL-terminated strings. */
#define SMTPD_RCPT_BUF CONFIG_NR_RCPT_BUF_SIZE
/* The longest password AUTH takes (longer ones fail like a wrong one). */
#define SMTPD_AUTH_PASS_MAX 256

/* An AUTH exchange's credentials, on the heap from its first step until
 * verified or abandoned (wiped then): most sessions never AUTH. */
struct smtpd_auth_creds {
	const char *mech; /* "PLAIN" or "LOGIN", for the log */
	char user[256];
	size_t pass_len; /* as sent: longer than pass fails like a wrong one */
	char pass[SMTPD_AUTH_PASS_MAX];
};

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
	long local_uid;          /* local submission: the peer's uid, -1 unknown */
	enum nr_tls_mode tls_mode;
	enum nr_auth_policy auth_policy;
	unsigned flags; /* SF_* */

	char helo[72]; /* sanitised EHLO/HELO argument */
	unsigned errors;
	unsigned idle_cmds;  /* NOOP/RSET/HELP/VRFY since the start or the last MAIL */
	uint64_t idle_since; /* the start or the last MAIL, monotonic ms */
	char auth_id[256];
	enum smtpd_auth_step auth_step;
	struct smtpd_auth_creds *creds;  /* during an AUTH exchange only, else NULL */
	struct smtpd_session *auth_next; /* in d->auth_wait (SS_AUTH_WAIT) */

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
	uint64_t data_check_at; /* the DATA clock's next look (SS_DATA's timer) */
	uint64_t rate_since, rate_bytes;
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
	unsigned handshakes; /* sessions with SF_HANDSHAKING set */
	struct smtpd_session *dead;
	struct nr_hook reaper;
	/* AUTH verifications waiting; auth_hook runs one per loop turn, so
	 * PBKDF2 never holds the loop for more than one hash at a time. */
	struct smtpd_session *auth_wait, **auth_wait_tail;
	unsigned auth_pending;
	struct nr_hook auth_hook;
	unsigned next_id;
	struct smtpd_listener listeners[CONFIG_NR_MAX_LISTENERS];
	size_t nlisteners;
};

/* A command line as the checks see it, and what they parsed from it for
 * proceed. A check only reads the session (and replies); what the command
 * changes is committed by proceed, from here. */
struct smtpd_cmdline {
	const char *args; /* after the verb (leading space kept for the path parsers) */
	size_t len;
	char helo[72];                /* HELO/EHLO: the sanitised name */
	char path[NR_PATH_MAX + 1];   /* MAIL: the sender; RCPT: the recipient */
	struct nr_mail_params params; /* MAIL */
	int mech;                     /* AUTH: index in smtpd_auth.c's mechanisms */
	const char *initial;          /* AUTH: the initial response, or NULL */
	size_t initial_len;
};

/* ---- smtpd_session.c: what the other session files use ---- */

int smtpd_session_start(struct nr_smtpd *d, struct smtpd_session *s, nr_sock_t sock,
			const struct nr_addr *peer, int listener, int trusted, long uid);
/* Read and run what the client sent meanwhile (after SS_AUTH_WAIT). */
void smtpd_session_resume(struct smtpd_session *s);
/* Release the session (connection, writer, slot); safe to call twice. While
 * the queue holds a commit callback, the memory waits for it (SF_ZOMBIE). */
void smtpd_session_stop(struct smtpd_session *s);
/* Take s off the session list; its memory is released at the turn end. */
void smtpd_session_unlink(struct nr_smtpd *d, struct smtpd_session *s);
/* The one place where the state changes and the session's timer is armed. */
void smtpd_enter_state(struct smtpd_session *s, enum smtpd_state st);
/* One reply line; a 5xx counts as an error towards max_errors. */
void smtpd_reply(struct smtpd_session *s, int code, const char *enh, const char *fmt, ...)
    NR_PRINTF(4, 5);
/* Reply "<code> <hostname> <text>" and close once it drained. */
void smtpd_close_with(struct smtpd_session *s, int code, const char *enh, const char *text);
/* Drop the transaction: writer, sender, recipients, MAIL parameters. */
void smtpd_reset_transaction(struct smtpd_session *s);
/* "unknown[192.0.2.1]" or "localhost", as Postfix logs the client. */
const char *smtpd_client_name(const struct smtpd_session *s, char *dst, size_t size);
/* "from=<s> to=<r> proto=ESMTP helo=<h>", the tail of a Postfix reject line. */
const char *smtpd_reject_tail(const struct smtpd_session *s, const char *rcpt, char *dst,
			      size_t size);

/* ---- smtpd_limits.c: TLS handshake slots, idle sessions ---- */

/* NULL when s may start a TLS handshake, else the setting that says no
 * (max_tls_handshakes, or max_tls_handshakes_per_client) and its value. */
const char *smtpd_handshake_limit(const struct smtpd_session *s, unsigned *limit);
/* Take a slot (SF_HANDSHAKING) / give it back (safe when none is held). */
void smtpd_handshake_begin(struct smtpd_session *s);
void smtpd_handshake_end(struct smtpd_session *s);
/* Count a NOOP/RSET/HELP/VRFY; 1 when the session was closed for it (421
 * 4.4.2: more than max_idle_commands, or max_idle_time, without MAIL). */
int smtpd_idle_too_long(struct smtpd_session *s);

/* ---- smtpd_data.c: DATA, the body and the commit ---- */

/* The DATA row's proceed (the table checked order and arguments). */
void smtpd_proceed_data(struct smtpd_session *s, const struct smtpd_cmdline *cl);
/* Feed buffered input to the body filter; 1 when the end of data was seen
 * (the message is then refused or committing), 0 when more is needed. */
int smtpd_data_input(struct smtpd_session *s);
/* The DATA clock's timer fired: 1 when dealt with (rearmed or closed), 0
 * when the deadline passed (the caller times the session out). */
int smtpd_data_tick(struct smtpd_session *s, uint64_t now);

/* ---- smtpd_auth.c: AUTH (RFC 4954) ---- */

/* Whether AUTH is offered to this session (also: some mechanism is built). */
int smtpd_auth_offered(const struct smtpd_session *s);
/* The EHLO line, "AUTH PLAIN LOGIN" with the mechanisms the build has. */
const char *smtpd_auth_ehlo_line(char *dst, size_t size);
/* The AUTH row of the command table: gate (not offered, or authenticated
 * already), check (throttle, mechanism, initial response), proceed. */
const struct smtpd_refusal *smtpd_auth_gate(const struct smtpd_session *s);
int smtpd_check_auth(struct smtpd_session *s, struct smtpd_cmdline *cl);
void smtpd_proceed_auth(struct smtpd_session *s, const struct smtpd_cmdline *cl);
/* A line of an AUTH exchange (state SS_AUTH). */
void smtpd_auth_line(struct smtpd_session *s, const char *line, size_t len);
/* Take s off the verification queue (the session is going away). */
void smtpd_auth_cancel(struct smtpd_session *s);
/* d->auth_hook: verify the first waiting session. */
void smtpd_auth_run(struct nr_loop *loop, void *arg);
/* The default TLS hook (src/tls), or NULL in builds without LAN TLS. */
extern const nr_smtpd_tls_fn smtpd_default_tls;

#endif /* NR_SMTPD_SMTPD_INT_H */
