/*
 * smtpc_int.h - what the client session's files share (internal to
 * src/smtpc): the session struct and its states, the output helpers, and
 * the AUTH mechanisms that smtpc_auth.c implements for smtpc_session.c.
 */
#ifndef NR_SMTPC_SMTPC_INT_H
#define NR_SMTPC_SMTPC_INT_H

#include <stddef.h>
#include <stdint.h>

#include "core/build.h"
#include "proto/proto.h"
#include "smtpc/smtpc_session.h"

/* States, in the order a session normally walks through them. */
enum state {
	S_CONNECTING = 0, /* the owner is connecting (and, for implicit TLS, handshaking) */
	S_GREETING,       /* waiting for the 220 greeting */
	S_EHLO,           /* EHLO sent, waiting for 250 and the capabilities */
	S_STARTTLS,       /* STARTTLS sent, waiting for 220 */
	S_TLS,            /* the owner runs the TLS handshake */
	S_AUTH,           /* AUTH exchange in progress (auth_step says where) */
	S_READY,          /* idle: a message may be sent; idle deadline armed */
	S_TRANS,          /* MAIL / RCPT / DATA commands and their replies */
	S_BODY,           /* streaming the message body */
	S_DOT,            /* terminator sent, waiting for the final reply */
	S_RSET,           /* RSET after an incomplete transaction */
	S_QUIT,           /* QUIT sent */
	S_DONE,           /* finished() was called; nothing more happens */
};

enum rcpt_stat { R_OPEN = 0, R_ACCEPTED = 1, R_OWN = 2, R_SKIP = 3 };

/* Body bytes read from the queue per step (and twice that staged for dot-
 * stuffing): on a firmware 1 KB; elsewhere 4 KB, a quarter of the calls per
 * large message (issue 22). */
#if NR_ENABLED(CONFIG_NR_PLATFORM_RTOS)
#define BODY_CHUNK 1024
#else
#define BODY_CHUNK 4096
#endif
/* The raw initial response: user name, framing and the secret. */
#define AUTH_RAW_MAX (NR_SMTPC_SECRET_MAX + 512)
#define AUTH_LINE_MAX NR_SMTPC_AUTH_LINE_MAX

struct nr_smtpc {
	enum state state;
	const struct nr_smtpc_ops *ops;
	void *owner;
	struct nr_smtpc_params p;
	char secret[NR_SMTPC_SECRET_MAX + 1];
	size_t secret_len;

	uint32_t caps, auth;
	uint64_t size_limit;
	int tls_active;
	int quit_requested;

	uint32_t mech;
	int auth_step;

	/* The transaction: command k is MAIL (0), RCPT i (1 + i), DATA (n + 1). */
	const struct nr_smtpc_msg *msg;
	size_t cmd_next, reply_next;
	size_t accepted;
	int decided; /* the outcome for open recipients is known */
	int decided_code;
	char decided_text[256];
	int done_reported;
	int dot_only; /* 354 with no accepted recipient: send the terminator only */
	uint8_t rstat[CONFIG_NR_MAX_RECIPIENTS];
	struct nr_dotstuff st;

	uint8_t body_in[BODY_CHUNK];
	uint8_t body_out[2 * BODY_CHUNK + 16];
	char line[AUTH_LINE_MAX];
	uint8_t auth_raw[AUTH_RAW_MAX]; /* wiped after each use */
};

/* Write one command line. NR_EFULL when the output has no room (the
 * caller waits for on_writable). */
int nr_smtpc_send_line(struct nr_smtpc *s, const char *fmt, ...) NR_PRINTF(2, 3);
/* Overwrite n bytes so that secrets do not stay in memory. */
void nr_smtpc_wipe(void *p, size_t n);

/* ---- smtpc_auth.c: AUTH (RFC 4954) ---- */

/* The mechanism to use: the best one offered (after EHLO) that the build
 * and the settings allow; 0 when none. */
uint32_t nr_smtpc_pick_mech(const struct nr_smtpc *s);
/* Send the first AUTH line for s->mech (with the initial response where
 * the mechanism has one). Negative NR_E... when it cannot be sent. */
int nr_smtpc_auth_start(struct nr_smtpc *s) NR_MUST_CHECK;
/* Answer a 334 continuation. Negative NR_E... when the exchange cannot go
 * on. */
int nr_smtpc_auth_continue(struct nr_smtpc *s, const struct nr_smtpc_reply *r) NR_MUST_CHECK;

#endif /* NR_SMTPC_SMTPC_INT_H */
