/*
 * rewrite.h - what the relay changes before a message goes upstream.
 *
 *  - Envelope sender: the configured `sender`, else the smarthost user when
 *    it is an address, else the original sender (qualified). The null
 *    sender <> stays null (it marks a bounce; RFC 5321 4.5.5).
 *  - Recipients: bare names are qualified with `hostname` ("root" ->
 *    "root@nas.lan"), then aliases apply, most specific first: an exact
 *    "user@dom", then a bare name ("root", matching root@<hostname> and
 *    root@localhost), then "*@dom". An alias target is itself rewritten
 *    again, at most NR_REWRITE_MAX_DEPTH times; nr_rewrite_init() refuses a
 *    table with a loop, so a running relay never meets one.
 *  - Header From (from_rewrite on): a streaming filter over the header
 *    block turns
 *        From: Printer <printer@nas.lan>
 *    into
 *        From: "Printer via nanorelay" <sender>
 *        Reply-To: Printer <printer@nas.lan>   (only when none exists)
 *    Display text is the original display name, else the original address.
 *    A second From field is dropped (RFC 5322 3.6 allows one); a message
 *    without From gets "From: <sender>"; a From longer than
 *    NR_REWRITE_FIELD_MAX passes unchanged (from_done is 2).
 *
 * Addresses handled here are plain local@domain (no quoted local parts, no
 * source routes, no comments). Every configured string is checked once at
 * init: CR, LF, NUL, controls, spaces and <>()[]\,;:" are refused, so no
 * header or command can be injected through configuration. Output lines
 * always end in CRLF. Nothing allocates; strings are borrowed from the
 * caller (usually struct nr_conf) and must outlive the nr_rewrite.
 */
#ifndef NR_REWRITE_REWRITE_H
#define NR_REWRITE_REWRITE_H

#include <stddef.h>
#include <stdint.h>

#include "conf/conf.h"
#include "core/build.h"
#include "platform.h"

/* RFC 5321 4.5.3.1.3: a path is at most 256 octets with its <>. */
#define NR_REWRITE_ADDR_MAX 254
#define NR_REWRITE_MAX_DEPTH 8
/* A From field is buffered up to this size; a longer one passes unchanged. */
#define NR_REWRITE_FIELD_MAX 1024
/* Display text taken from the original From, in octets. */
#define NR_REWRITE_DISPLAY_MAX 200

struct nr_rewrite {
	const char *hostname; /* qualifies bare names; NULL: "localhost" */
	const char *sender;   /* configured envelope sender, or NULL */
	int from_rewrite;     /* 1: global `from_rewrite on`; delivery decides per smarthost */
	const struct nr_conf_alias *alias;
	size_t alias_count;
};

/*
 * Check and adopt the rewriting settings of conf (hostname, sender,
 * from_rewrite, alias). NR_EINVAL with a message in err (err_size bytes,
 * always terminated) for a bad address, a bad alias or an alias loop;
 * NR_ETOOBIG for more than CONFIG_NR_MAX_ALIASES aliases.
 */
int nr_rewrite_init(struct nr_rewrite *rw, const struct nr_conf *conf, char *err,
		    size_t err_size) NR_MUST_CHECK;

/* 0 when addr is a plain local@domain (or, with allow_bare, a bare local
 * part) that is safe to put in a command or header; NR_EINVAL else. */
int nr_rewrite_check_addr(const char *addr, int allow_bare);

/* addr, with "@<hostname>" added to a bare name, into out (size bytes).
 * NR_EINVAL (unsafe characters), NR_ETOOBIG (does not fit or too long). */
int nr_rewrite_qualify(const struct nr_rewrite *rw, const char *addr, char *out, size_t size);

/* The final recipient for rcpt (qualified, aliases applied) into out.
 * NR_EINVAL, NR_ETOOBIG as above; NR_ESTATE on an alias chain deeper than
 * NR_REWRITE_MAX_DEPTH (impossible after a successful init). */
int nr_rewrite_recipient(const struct nr_rewrite *rw, const char *rcpt, char *out, size_t size);

/* The envelope sender to send upstream for the original sender orig ("" for
 * <>), given the user of the smarthost in use (may be NULL). Into out. */
int nr_rewrite_sender(const struct nr_rewrite *rw, const char *smarthost_user, const char *orig,
		      char *out, size_t size);

/* ---- the header From filter ----------------------------------------------- */

/* Receives output bytes; returns 0, or a negative NR_E... code to stop. */
typedef int (*nr_rewrite_emit_fn)(void *arg, const void *data, size_t len);

struct nr_rewrite_hdr {
	const struct nr_rewrite *rw;
	char sender[NR_REWRITE_ADDR_MAX + 1];
	nr_rewrite_emit_fn emit;
	void *emit_arg;
	int state;     /* where in a line we are (rewrite.c) */
	int field;     /* kind of the current field */
	int cr;        /* a CR is pending */
	int done;      /* the header block has ended */
	int from_done; /* 1: a From was rewritten; 2: passed unchanged */
	int reply_to_seen;
	int error;
	size_t name_len; /* bytes of the field name seen so far */
	char name[32];
	size_t field_len; /* the buffered From field */
	char field_buf[NR_REWRITE_FIELD_MAX];
	size_t out_len;
	char out[256];
};

/* Start filtering one message's header block. sender is the envelope
 * sender chosen by nr_rewrite_sender (the new From address). NR_EINVAL for
 * an unsafe sender. With rw->from_rewrite off the filter only canonicalises
 * line ends. */
int nr_rewrite_hdr_init(struct nr_rewrite_hdr *h, const struct nr_rewrite *rw, const char *sender,
			nr_rewrite_emit_fn emit, void *emit_arg) NR_MUST_CHECK;

/*
 * Feed header bytes (CRLF or LF line ends; a bare CR becomes a space).
 * Returns 0 when all len bytes were taken and the header block goes on; 1
 * when the blank line that ends it was reached and emitted: *used bytes
 * were taken and the rest is body, which the caller sends itself. A
 * negative code is the emit callback's (sticky).
 */
int nr_rewrite_hdr_feed(struct nr_rewrite_hdr *h, const void *data, size_t len,
			size_t *used) NR_MUST_CHECK;

/* The input ended inside the header block (a message without body): end
 * the last line, then emit what the end of the block adds (Reply-To, a
 * missing From), without a blank line. */
int nr_rewrite_hdr_finish(struct nr_rewrite_hdr *h) NR_MUST_CHECK;

#endif /* NR_REWRITE_REWRITE_H */
