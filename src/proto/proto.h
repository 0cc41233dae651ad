/*
 * proto.h - pure SMTP protocol helpers shared by the inbound and outbound
 * sides: a bounded line reader, reply formatting, RFC 5321 path parsing, the
 * DATA body filter (the smuggling defence) and the outbound dot-stuffer.
 *
 * Nothing here does I/O, allocates, or keeps global state; every function is
 * safe on hostile input and bounded in time by the input length.
 */
#ifndef NR_PROTO_PROTO_H
#define NR_PROTO_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/build.h"
#include "platform.h"

/* RFC 5321 4.5.3.1 size limits. */
#define NR_LOCAL_PART_MAX 64
#define NR_DOMAIN_MAX 255
#define NR_PATH_MAX 256      /* including the angle brackets */
#define NR_TEXT_LINE_MAX 998 /* octets of text before CRLF (4.5.3.1.6) */

/* ---- bounded line reader ------------------------------------------------ */

enum nr_line_end {
	NR_LINE_CRLF = 0,    /* ended by CR LF */
	NR_LINE_LF = 1,      /* ended by a bare LF (legacy clients) */
	NR_LINE_TOOLONG = 2, /* longer than the limit: discarded up to its LF */
};

struct nr_line_reader {
	size_t max;     /* longest line accepted, terminator excluded */
	int discarding; /* inside an over-long line, skipping to its LF */
};

void nr_line_reader_init(struct nr_line_reader *lr, size_t max);

/*
 * Take the next line from in.
 * Returns 1 with *line and *len (terminator excluded, pointing into in; valid
 * until in is next modified) and *end set; the line and its terminator have
 * been consumed. NR_LINE_TOOLONG lines are reported once, when their LF
 * arrives, with *len 0: the bytes were dropped as they came, never buffered.
 * Returns 0 when no complete line is buffered yet (more input is needed).
 */
int nr_line_next(struct nr_line_reader *lr, struct nr_buf *in, const char **line, size_t *len,
		 enum nr_line_end *end);

/* ---- replies -------------------------------------------------------------- */

/*
 * Append one reply line "CODE ENH text\r\n" (enh may be NULL) to out.
 * Control bytes in the text become '?', so a peer's string cannot split a
 * reply. Text is cut to fit 512 octets. NR_EFULL when out has no room.
 */
int nr_reply_put(struct nr_buf *out, int code, const char *enh, const char *fmt, ...)
    NR_PRINTF(4, 5) NR_MUST_CHECK;
/* Multi-line reply: "CODE-" for all lines but the last. enh applies to each. */
int nr_reply_put_lines(struct nr_buf *out, int code, const char *enh, const char *const *lines,
		       size_t n) NR_MUST_CHECK;

/* ---- paths and ESMTP parameters (MAIL FROM / RCPT TO) -------------------- */

enum nr_path_result {
	NR_PATH_OK = 0,
	NR_PATH_SYNTAX = 1,    /* 501 5.5.2 / bad FROM:/TO: keyword */
	NR_PATH_BADADDR = 2,   /* 501 5.1.7 (sender) / 501 5.1.3 (recipient) */
	NR_PATH_TOOLONG = 3,   /* 501 5.1.x: a length limit of 4.5.3.1 */
	NR_PATH_ROUTE = 4,     /* 501 5.1.x: source route (@a,@b:) refused */
	NR_PATH_PARAM = 5,     /* 555 5.5.4: unknown or malformed parameter */
	NR_PATH_NULL_RCPT = 6, /* 501 5.1.3: RCPT TO:<> */
};

enum nr_body_type { NR_BODY_UNSPEC = 0, NR_BODY_7BIT = 1, NR_BODY_8BITMIME = 2 };

struct nr_mail_params {
	uint64_t size; /* SIZE=, 0 when absent */
	int has_size;
	enum nr_body_type body;
};

/*
 * Parse the argument of MAIL ("FROM:<path> params") or RCPT ("TO:<path>
 * params"); args excludes the verb and the line terminator. The mailbox is
 * written to addr (NR_PATH_MAX + 1 bytes) without brackets, "" for the null
 * sender. A missing domain is allowed (bare names are qualified later).
 * `%` and `!` stay part of the local part: nothing here routes on them.
 * RCPT accepts no parameters; MAIL accepts SIZE=, BODY=7BIT|8BITMIME and
 * AUTH= (ignored, RFC 4954 5). params may be NULL for RCPT.
 */
enum nr_path_result nr_parse_mail_from(const char *args, size_t len, char *addr,
				       struct nr_mail_params *params);
enum nr_path_result nr_parse_rcpt_to(const char *args, size_t len, char *addr);

/* 1 when s[0..len) is RFC 5322 3.2.3 dot-atom-text: runs of atext (letters,
 * digits and !#$%&'*+-/=?^_`{|}~) joined by single dots, no dot first or
 * last. A local part that is not one must be quoted; an empty one is not. */
int nr_is_dot_atom(const char *s, size_t len);

/* 1 when s (NUL-terminated) is safe to put into an SMTP command or header:
 * printable ASCII only, no CR, LF, NUL or control bytes. */
int nr_envelope_safe(const char *s);

/* ---- DATA body filter ----------------------------------------------------- */

#define NR_BODY_OUT_CHUNK CONFIG_NR_BODY_CHUNK

enum {
	NR_BODYF_NUL = 1 << 0,      /* NUL in content: 554 5.6.0 */
	NR_BODYF_TOOBIG = 1 << 1,   /* over max_size: 552 5.3.4 */
	NR_BODYF_HDRBIG = 1 << 2,   /* header block over max_header: 552 5.3.4 */
	NR_BODYF_BARE_LF = 1 << 3,  /* a bare LF was seen (normalised) */
	NR_BODYF_8BIT = 1 << 4,     /* content has bytes >= 0x80 */
	NR_BODYF_EMIT_ERR = 1 << 5, /* the emit callback failed (see emit_err) */
	NR_BODYF_STRAY_CR = 1 << 6, /* a CR not followed by LF became a space */
	NR_BODYF_FOLDED = 1 << 7,   /* a line over 998 octets was folded */
};
/* Flags after which nothing more is emitted: the message will be refused. */
#define NR_BODYF_FATAL (NR_BODYF_NUL | NR_BODYF_TOOBIG | NR_BODYF_HDRBIG | NR_BODYF_EMIT_ERR)

/* Receives canonical output: CRLF lines, not dot-stuffed, at most
 * NR_BODY_OUT_CHUNK bytes per call. A negative return stops emission. */
typedef int (*nr_body_emit_fn)(void *arg, const void *data, size_t len);

struct nr_body_conf {
	uint64_t max_size;   /* canonical bytes; 0 = unlimited */
	uint64_t max_header; /* header block bytes; 0 = unlimited */
	/* Complete header lines ("Date: ...\r\n") inserted at the end of the
	 * header block when the client left that header out; NULL: never. */
	const char *date_header;
	const char *msgid_header;
	nr_body_emit_fn emit;
	void *arg;
};

struct nr_body {
	struct nr_body_conf conf;
	int in_state;       /* wire decoder state */
	int bol_after_crlf; /* the previous line ended with CRLF */
	int hdr_state;      /* header block tracker state */
	int done;           /* CRLF.CRLF seen */
	unsigned flags;     /* NR_BODYF_* */
	int emit_err;
	unsigned received; /* Received: header lines */
	int has_date, has_msgid;
	uint64_t size; /* canonical bytes produced (incl. not emitted) */
	uint64_t header_size;
	size_t line_len; /* octets on the current output line */
	size_t name_len; /* held-back prefix of a header line */
	char name[80];
	size_t out_len;
	uint8_t out[NR_BODY_OUT_CHUNK];
};

void nr_body_init(struct nr_body *b, const struct nr_body_conf *conf);
/*
 * Feed wire bytes of the DATA phase. Returns how many were consumed: all of
 * them, or fewer when the end-of-data line CRLF.CRLF ended inside p (the
 * rest belongs to the next command). The end is only ever the exact
 * sequence CR LF . CR LF; every other dot line is content.
 */
size_t nr_body_feed(struct nr_body *b, const void *p, size_t len);
static inline int nr_body_done(const struct nr_body *b)
{
	return b->done;
}
/* After done: flush what is held back. Returns b->flags. */
unsigned nr_body_finish(struct nr_body *b);

/* ---- outbound dot-stuffing ------------------------------------------------ */

/* RFC 5322 2.1.1: octets on a line before its CRLF. */
#define NR_DOTSTUFF_LINE_MAX 998

struct nr_dotstuff {
	size_t line_len; /* octets on the current output line */
	int bol;         /* at the start of a line */
	int pending_cr;  /* a CR whose successor is not yet known */
};

void nr_dotstuff_init(struct nr_dotstuff *d);
/*
 * Turn canonical stored text into wire text: a '.' starting a line is
 * doubled; a line longer than NR_DOTSTUFF_LINE_MAX octets is folded (CRLF
 * SP, so the fold never starts a line with a dot); as a last defence a bare
 * LF becomes CRLF and a bare CR a space. Writes at most outcap bytes
 * (outcap >= 4 guarantees progress; 2 * inlen + 8 takes all of in), sets
 * *consumed and returns the bytes written.
 */
size_t nr_dotstuff(struct nr_dotstuff *d, const void *in, size_t inlen, void *out, size_t outcap,
		   size_t *consumed);
/* The terminator, exactly once: ".\r\n", preceded by CRLF when the text did
 * not end a line (a CR left at the very end counts as that line end). out
 * needs 6 bytes. Returns bytes written. */
size_t nr_dotstuff_end(struct nr_dotstuff *d, void *out);

/* ---- dates ------------------------------------------------------------------ */

/* Days since 1970-01-01 (may be negative) to a proleptic Gregorian date. */
void nr_civil_from_days(int64_t days, int *year, unsigned *month, unsigned *day);

/*
 * RFC 5322 3.3 date-time in UTC for t seconds since 1970, as
 * "Thu, 01 Jan 1970 00:00:00 +0000" (31 octets and the NUL). Returns dst.
 */
char *nr_date_rfc5322(char *dst, size_t size, int64_t t);

#endif /* NR_PROTO_PROTO_H */
