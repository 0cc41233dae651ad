/*
 * smtpc_session.h - one outbound SMTP client session, as a state machine
 * without I/O ("sans-IO"): the owner feeds it assembled replies, TLS
 * results, timeouts and writability; the session writes command bytes
 * through ops->write and tells the owner what to do through callbacks.
 * The owner (src/delivery) does DNS, TCP, TLS and feeds the server's bytes
 * to the reply assembler of reply.h, whose replies (struct nr_smtpc_reply,
 * capabilities NR_SMTPC_CAP_*, mechanisms NR_SMTPC_AUTH_*) it hands on here.
 *
 *   connect -> 220 -> EHLO -> [STARTTLS -> 220 -> TLS -> EHLO] -> [AUTH]
 *   -> READY -> MAIL -> RCPT... -> DATA -> body -> "." -> READY ... -> QUIT
 *
 * Security rules (DESIGN.md, Outbound): tls=starttls never continues in
 * clear (STARTTLS missing, refused, or failing ends the session); bytes
 * after the 220 to STARTTLS end the session (response injection); every
 * capability learned before TLS is forgotten and EHLO is sent again; secrets
 * are never logged and are wiped when the session is freed.
 *
 * Output (nr_dotstuff, src/proto): dot-stuffing is the very last step, lines
 * are folded at 998 octets, line ends are CRLF, the terminator is sent exactly once, and a
 * body that cannot be read completely is never terminated (the connection
 * is dropped instead, so the upstream discards it).
 */
#ifndef NR_SMTPC_SMTPC_SESSION_H
#define NR_SMTPC_SMTPC_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include "conf/conf.h"
#include "core/build.h"
#include "smtpc/reply.h"

struct nr_smtpc;

/* How a session ended (ops->finished). */
enum nr_smtpc_end {
	NR_SMTPC_END_QUIT = 0, /* normal close after QUIT or idle */
	NR_SMTPC_END_HOST = 1, /* could not get to READY: try another smarthost, back off */
	NR_SMTPC_END_AUTH = 2, /* AUTH 535: hold this smarthost */
	NR_SMTPC_END_LOST = 3, /* lost or timed out after READY (a message was deferred) */
};

struct nr_smtpc_ops {
	/* Append bytes to the output; NR_EFULL when they do not fit (nothing
	 * written). */
	int (*write)(void *owner, const void *p, size_t n);
	/* Free output space in bytes. */
	size_t (*room)(void *owner);
	/* Start TLS on the connection now (STARTTLS got its 220), then call
	 * nr_smtpc_on_tls_done(). */
	void (*start_tls)(void *owner);
	/* (Re)arm the session's single deadline, ms from now; 0 cancels. */
	void (*arm_timer)(void *owner, uint64_t ms);
	/* Recipient i got a final answer of its own (RCPT rejected, or a local
	 * check). code 2xx/4xx/5xx, text for the log. */
	void (*rcpt_result)(void *owner, size_t i, int code, const char *text);
	/* The transaction ended: code/text apply to every recipient that did
	 * not get its own rcpt_result. code 0: no answer (timeout, disconnect):
	 * deferred. */
	void (*msg_done)(void *owner, int code, const char *text);
	/* The session is READY and idle: nr_smtpc_send() may be called (also
	 * from inside this callback). */
	void (*ready)(void *owner);
	/* The session is over; the owner closes the connection and frees the
	 * session (may do so from inside this callback). */
	void (*finished)(void *owner, enum nr_smtpc_end how, const char *text);
};

/* Per-session settings (copied; strings must live as long as the session). */
struct nr_smtpc_params {
	const char *helo;       /* our name for EHLO */
	const char *relay;      /* "host[addr]:port" for messages */
	enum nr_tls_mode tls;   /* implicit: the owner did TLS before on_connected */
	int insecure;           /* required for tls=none */
	const char *user;       /* NULL: no AUTH */
	const char *secret;     /* password or bearer token (copied, wiped at free) */
	int secret_is_token;    /* XOAUTH2 */
	const char *auth_mech;  /* NULL: best offered; else forced */
	uint64_t idle_ms;       /* READY with no work this long: QUIT (0: 5 s) */
	uint64_t max_wait_ms;   /* cap on every reply deadline (0: RFC 5321 values) */
	uint64_t timeout_scale; /* tests: divide every deadline by this (0/1: RFC values) */
	/* HMAC-MD5 for CRAM-MD5 (nr_tls_hmac_md5); NULL: CRAM-MD5 not used. */
	int (*hmac_md5)(const void *key, size_t keylen, const void *msg, size_t msglen,
			uint8_t out[16]);
};

/* Longest secret (password or bearer token) accepted: Microsoft 365's
 * access tokens run to a few KB. Without XOAUTH2 a secret is a password:
 * 1 KB, as every session holds the secret, its AUTH encoding and the AUTH
 * line (about 32 KB of heap per delivery connection with 8192, 8 KB with
 * 1024: the Cortex-M4 firmware). */
#if NR_ENABLED(CONFIG_NR_XOAUTH2)
#define NR_SMTPC_SECRET_MAX 8192
#else
#define NR_SMTPC_SECRET_MAX 1024
#endif
/* The longest AUTH line the client writes (XOAUTH2 with the longest
 * token), within RFC 4954's 12288 octets: the connection's output buffer
 * must hold one. */
#define NR_SMTPC_AUTH_LINE_MAX (4 * ((NR_SMTPC_SECRET_MAX + 512 + 2) / 3) + 32)

/* A secret file (password or bearer token) as delivery reads it: its first
 * line without the line end, at most NR_SMTPC_SECRET_MAX bytes, in a
 * malloc'ed buffer; *len is its length. nr_smtpc_secret_free() overwrites
 * and frees it (NULL is ignored). */
int nr_smtpc_secret_read(const char *path, char **out, size_t *len) NR_MUST_CHECK;
void nr_smtpc_secret_free(char *secret, size_t len);

/* The message to send. rcpt[i] NULL means "skip": that recipient is not
 * sent and gets no result. */
struct nr_smtpc_msg {
	const char *sender; /* rewritten envelope sender; "" null sender */
	const char *const *rcpt;
	size_t nrcpt;
	uint64_t size;
	int eightbit;
	/* Body source (canonical CRLF text, not dot-stuffed): >0 bytes, 0 at
	 * the end, negative NR_E... on failure. */
	long (*read)(void *arg, void *buf, size_t len);
	void *read_arg;
};

int nr_smtpc_new(struct nr_smtpc **out, const struct nr_smtpc_params *p,
		 const struct nr_smtpc_ops *ops, void *owner) NR_MUST_CHECK;
/* Wipes the secret. NULL is ignored. Callbacks never fire after it. */
void nr_smtpc_free(struct nr_smtpc *s);

/* TCP (and for tls=implicit, TLS) is up: wait for the greeting. */
void nr_smtpc_on_connected(struct nr_smtpc *s);
/* One complete reply from the assembler. leftover: bytes already received
 * after it (the owner's unread input plus nr_smtpc_reply_pending()); after
 * the 220 to STARTTLS anything but 0 ends the session (response injection). */
void nr_smtpc_on_reply(struct nr_smtpc *s, const struct nr_smtpc_reply *r, size_t leftover);
/* err 0: TLS is up (the owner switched the transport). Else NR_ETLS,
 * NR_ECERT, NR_ECLOCK with a plain-words text. */
void nr_smtpc_on_tls_done(struct nr_smtpc *s, int err, const char *text);
void nr_smtpc_on_timeout(struct nr_smtpc *s);
/* The connection broke (err NR_ECLOSED, NR_ERESET, ...). */
void nr_smtpc_on_closed(struct nr_smtpc *s, int err);
/* No connection could be made (DNS or TCP); text says why in plain words
 * and becomes the deferral reason as it is. */
void nr_smtpc_on_connect_failed(struct nr_smtpc *s, const char *text);
/* Output room became available: continue sending. */
void nr_smtpc_on_writable(struct nr_smtpc *s);

/* Start a transaction (only when READY). NR_ESTATE otherwise. msg and its
 * strings must stay valid until msg_done. A message that fails local checks
 * (8-bit without 8BITMIME: 554 5.6.3; over the upstream SIZE: 552 5.3.4;
 * a bad sender) gets msg_done() before this returns, and the session stays
 * READY without calling ready() again. */
int nr_smtpc_send(struct nr_smtpc *s, const struct nr_smtpc_msg *msg) NR_MUST_CHECK;
/* Close politely: QUIT now when READY, else after the transaction. */
void nr_smtpc_quit(struct nr_smtpc *s);

int nr_smtpc_is_ready(const struct nr_smtpc *s);
const char *nr_smtpc_state_name(const struct nr_smtpc *s);
/* The AUTH mechanism the session chose ("PLAIN", ...), "" before AUTH. */
const char *nr_smtpc_auth_mech(const struct nr_smtpc *s);

#endif /* NR_SMTPC_SMTPC_SESSION_H */
