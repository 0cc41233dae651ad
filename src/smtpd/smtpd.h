/*
 * smtpd.h - the inbound SMTP server (LAN side and local submission).
 *
 * One nr_smtpd owns the listeners of a configuration and every session
 * accepted on them. Sessions are RFC 5321 state machines on top of an
 * nr_conn (TLS is a transport, so session code never sees it); DATA streams
 * through the body filter (src/proto) into the queue, and the final 250 is
 * sent only from the queue's commit callback ("250 means safe").
 *
 * Ownership: loop, conf, queue and tls context are borrowed. conf must stay
 * valid until the next nr_smtpd_reload() or nr_smtpd_stop(); sessions copy
 * what they need from a listener when they start, so a reload never pulls
 * the rug from under a running session. Nothing here blocks, except AUTH
 * verification, which runs the configured hook in the loop (PBKDF2).
 */
#ifndef NR_SMTPD_SMTPD_H
#define NR_SMTPD_SMTPD_H

#include <stddef.h>
#include <stdint.h>

#include "core/build.h"
#include "core/loop.h"
#include "platform.h"

struct nr_smtpd;
struct nr_conf;
struct nr_queue;
struct nr_tls_ctx;
struct nr_conn;

/*
 * Verify a user name and password for AUTH PLAIN/LOGIN: 0 accepted,
 * NR_EAUTH rejected (535 5.7.8), anything else a temporary failure
 * (454 4.7.0). The password is not NUL-terminated and must not be kept.
 */
typedef int (*nr_smtpd_auth_fn)(void *arg, const char *user, const void *password, size_t pwlen);

/*
 * Put a TLS transport on c (server side, legacy_ok: TLS 1.0/1.1 allowed
 * for this client). 0 or a negative NR_E... code (the session is closed).
 * The default uses src/tls (nr_tls_server_new + nr_tls_transport).
 */
typedef int (*nr_smtpd_tls_fn)(void *arg, struct nr_conn *c, int legacy_ok);

/*
 * Open every `listen` line of conf and start accepting. tls may be NULL:
 * then neither STARTTLS nor tls=implicit listeners are available (an
 * implicit listener is an error: NR_EINVAL). q receives the messages.
 * NR_ENOMEM, NR_EADDRINUSE, NR_EPERM from binding (the failed listener is
 * logged with its config line).
 */
int nr_smtpd_start(struct nr_smtpd **out, struct nr_loop *loop, const struct nr_conf *conf,
		   struct nr_queue *q, struct nr_tls_ctx *tls) NR_MUST_CHECK;

/* Take a new configuration: limits apply to running sessions from their
 * next command; listeners are re-opened when the `listen` lines changed.
 * On error the old listeners stay. */
int nr_smtpd_reload(struct nr_smtpd *d, const struct nr_conf *conf) NR_MUST_CHECK;

/* Close the listeners and every session (uncommitted messages are aborted;
 * a commit in flight completes but its reply is not sent). */
void nr_smtpd_stop(struct nr_smtpd *d);

/* AUTH PLAIN/LOGIN are offered only once a hook is set. */
void nr_smtpd_set_auth(struct nr_smtpd *d, nr_smtpd_auth_fn fn, void *arg);
/* Replace how TLS is put on a connection (tests use a fake transport). */
void nr_smtpd_set_tls(struct nr_smtpd *d, nr_smtpd_tls_fn fn, void *arg);
/* A new LAN certificate (reload): new handshakes use ctx, sessions already
 * in TLS keep theirs. The caller still owns ctx. */
void nr_smtpd_set_tls_ctx(struct nr_smtpd *d, struct nr_tls_ctx *ctx);

/*
 * Serve an already connected, non-blocking socket. trusted: a local
 * submission (sendmail): relaying is allowed and the per-client limit does
 * not apply (the total does). peer may be NULL for local sockets.
 * listener: index into conf->listen whose tls/auth settings apply, or -1
 * (plain, no AUTH). The socket is owned by the session from then on, also
 * on failure. 0, NR_EFULL (sessions in total), NR_EBUSY (per client),
 * NR_ENOMEM; on NR_EFULL/NR_EBUSY the client got its 421 first.
 */
int nr_smtpd_accept(struct nr_smtpd *d, nr_sock_t sock, const struct nr_addr *peer, int listener,
		    int trusted);

/*
 * Serve a local submission (sendmail over the submit socket, or the
 * in-process session of `sendmail` without a daemon): trusted, not
 * counted per client, and `Received:` says "local, uid N" (uid < 0:
 * unknown). Same ownership and codes as nr_smtpd_accept().
 */
int nr_smtpd_accept_local(struct nr_smtpd *d, nr_sock_t sock, long uid);

/*
 * What every new message gets at its start, from an SMTP session or from
 * the embedding API's submit (src/embed): the Received: line, written
 * through w, and the Date: and Message-ID: lines (into date_hdr and
 * msgid_hdr) that the body filter adds when the message has none. wall is
 * the arrival time (seconds). 0, or NR_EFULL when the queue took no more.
 */
struct nr_smtpd_trace {
	const char *helo;     /* the client's HELO/EHLO name; NULL or "": unknown */
	const char *peer;     /* "[192.0.2.1]", "local", "local, uid 1000" */
	const char *with;     /* RFC 3848 protocol: SMTP, ESMTP, ESMTPS, ESMTPA, ESMTPSA */
	const char *hostname; /* ours */
	const char *rcpt;     /* the only recipient ("for <...>"), or NULL */
	uint64_t salt;        /* Message-ID's unique part when entropy fails */
};
struct nr_qwriter;
int nr_smtpd_trace_begin(struct nr_qwriter *w, const struct nr_smtpd_trace *t, int64_t wall,
			 char *date_hdr, size_t date_size, char *msgid_hdr, size_t msgid_size);

/*
 * A finished body (flags: nr_body_finish) as smtpd judges it at the end of
 * DATA: 0 to commit, else the refusal's reply code with *enh and *text
 * (NUL 554, size 552, queue 452/451, bare LF under `bare_lf reject` 550,
 * too many Received: 554).
 */
struct nr_body;
int nr_smtpd_body_verdict(const struct nr_body *b, unsigned flags, const struct nr_conf *conf,
			  const char **enh, const char **text);

/* Sessions currently open (for status). */
size_t nr_smtpd_sessions(const struct nr_smtpd *d);

#endif /* NR_SMTPD_SMTPD_H */
