/*
 * reply.h - SMTP reply assembly and EHLO capabilities for the outbound client.
 *
 * The client never looks at raw server bytes: it feeds every chunk it reads
 * to an assembler, which hands back one complete reply at a time (RFC 5321
 * 4.2: "250-..." continuation lines, "250 ..." or "250" final line). Nothing
 * here allocates or blocks; an assembler is about 1.5 KB.
 *
 * Accepted syntax (decisions, tested in tests/unit/reply):
 *  - A line is three digits, then SP, '-' or the end of the line. The first
 *    digit must be 2..5 (1yz is unused by SMTP); the others any digit.
 *  - Every line of a reply carries the same code, else NR_EPROTO.
 *  - Lines end in CRLF. A bare LF is tolerated as a line end (as Postfix's
 *    client does) unless NR_SMTPC_REPLY_STRICT is given, which makes it
 *    NR_EPROTO. A CR not followed by LF is text.
 *  - Bounds: a line longer than NR_SMTPC_REPLY_LINE_MAX octets (CRLF
 *    included) or more than CONFIG_NR_MAX_REPLY_LINES lines: NR_ETOOBIG.
 *  - Control characters in text (other than HT) are stored as '?', so the
 *    text can be logged or quoted in a report without further escaping.
 * Errors are sticky: after NR_EPROTO or NR_ETOOBIG every later feed returns
 * the same code until nr_smtpc_reply_init(); the session must abort.
 */
#ifndef NR_SMTPC_REPLY_H
#define NR_SMTPC_REPLY_H

#include <stddef.h>
#include <stdint.h>

#include "core/build.h"
#include "platform.h"

/* RFC 5321 4.5.3.1.5 says 512 for reply lines; real servers exceed it, so
 * accept up to the text line limit (4.5.3.1.6). */
#define NR_SMTPC_REPLY_LINE_MAX 1000
/* Human-readable text kept per reply (all lines joined by one space). */
#define NR_SMTPC_REPLY_TEXT_MAX 512

/* Assembler flags. */
#define NR_SMTPC_REPLY_STRICT 1u /* bare LF is a protocol error */

/* EHLO keywords (RFC 5321 4.1.1.1 and the extension RFCs). */
enum nr_smtpc_cap {
	NR_SMTPC_CAP_PIPELINING = 1u << 0,          /* RFC 2920 */
	NR_SMTPC_CAP_SIZE = 1u << 1,                /* RFC 1870: see size_max */
	NR_SMTPC_CAP_8BITMIME = 1u << 2,            /* RFC 6152 */
	NR_SMTPC_CAP_STARTTLS = 1u << 3,            /* RFC 3207 */
	NR_SMTPC_CAP_AUTH = 1u << 4,                /* RFC 4954: see auth */
	NR_SMTPC_CAP_ENHANCEDSTATUSCODES = 1u << 5, /* RFC 2034 */
	NR_SMTPC_CAP_SMTPUTF8 = 1u << 6,            /* RFC 6531 */
	NR_SMTPC_CAP_CHUNKING = 1u << 7,            /* RFC 3030 */
	NR_SMTPC_CAP_DSN = 1u << 8,                 /* RFC 3461 */
};

/* SASL mechanisms offered with AUTH (also the old "AUTH=" form). */
enum nr_smtpc_auth_mech {
	NR_SMTPC_AUTH_PLAIN = 1u << 0,
	NR_SMTPC_AUTH_LOGIN = 1u << 1,
	NR_SMTPC_AUTH_CRAM_MD5 = 1u << 2,
	NR_SMTPC_AUTH_XOAUTH2 = 1u << 3,
};

struct nr_smtpc_caps {
	uint32_t caps;     /* NR_SMTPC_CAP_* */
	uint32_t auth;     /* NR_SMTPC_AUTH_* */
	uint64_t size_max; /* SIZE parameter; 0: no limit announced */
};

struct nr_smtpc_reply {
	int code;             /* 200..599 */
	uint8_t enh_class;    /* RFC 3463 class 2, 4 or 5; 0: no enhanced code */
	uint16_t enh_subject; /* 0..999 */
	uint16_t enh_detail;  /* 0..999 */
	unsigned lines;       /* 1..CONFIG_NR_MAX_REPLY_LINES */
	/* Text after the code of every line, joined by one space; the first
	 * line's enhanced code is kept, repeats on later lines dropped.
	 * NUL-terminated, truncated to fit (text_truncated is then 1). */
	char text[NR_SMTPC_REPLY_TEXT_MAX];
	size_t text_len;
	int text_truncated;
	/* Keywords found on lines 2..n: meaningful for the reply to EHLO. */
	struct nr_smtpc_caps caps;
};

struct nr_smtpc_reply_asm {
	unsigned flags;
	int error;      /* sticky NR_E... code, 0 while healthy */
	int complete;   /* reply holds a finished reply */
	size_t pending; /* bytes consumed since the last complete reply */
	size_t line_len;
	char line[NR_SMTPC_REPLY_LINE_MAX];
	struct nr_smtpc_reply reply;
};

/* Start (or restart, e.g. after STARTTLS) with nothing buffered. flags:
 * 0 or NR_SMTPC_REPLY_STRICT. */
void nr_smtpc_reply_init(struct nr_smtpc_reply_asm *a, unsigned flags);

/*
 * Feed len bytes of server data. Consumes bytes up to the end of the first
 * reply that completes and stops there; *used says how many were consumed.
 * Returns:
 *   1            a reply is complete: read it with nr_smtpc_reply_get()
 *                (valid until the next feed). Bytes data[*used..len) were not
 *                looked at: feed them again for the next reply.
 *   0            every byte was consumed and no reply is complete yet.
 *   NR_EPROTO    malformed reply (bad code, mismatched codes, bare LF in
 *                strict mode); *used says where it was found.
 *   NR_ETOOBIG   a line or the line count exceeds its bound.
 * Never blocks; never allocates.
 */
int nr_smtpc_reply_feed(struct nr_smtpc_reply_asm *a, const void *data, size_t len,
			size_t *used) NR_MUST_CHECK;

/* The reply completed by the last feed that returned 1, else NULL. */
const struct nr_smtpc_reply *nr_smtpc_reply_get(const struct nr_smtpc_reply_asm *a);

/*
 * Bytes of an unfinished reply held inside the assembler (a partial line or
 * lines of a multi-line reply not yet ended). After the 220 to STARTTLS
 * this must be 0 and the caller's input must be empty; anything else is
 * response injection (CVE-2011-0411 class) and the session aborts.
 */
size_t nr_smtpc_reply_pending(const struct nr_smtpc_reply_asm *a);

/*
 * Parse one EHLO keyword line (the text after "250-" / "250 ", without
 * CRLF) into caps, adding to what is there. Keywords are matched without
 * regard to case and must be whole words. Unknown keywords are ignored.
 * "SIZE n": n is kept (saturated at UINT64_MAX); "SIZE" alone or "SIZE 0"
 * means no announced limit.
 */
void nr_smtpc_caps_parse_line(struct nr_smtpc_caps *caps, const char *text, size_t len);

/* Parse an RFC 3463 enhanced status code "c.sss.ddd" at the start of text,
 * followed by SP or the end. Returns the number of bytes it covers (not the
 * space), or 0 when there is none. */
size_t nr_smtpc_parse_enhanced(const char *text, size_t len, uint8_t *cls, uint16_t *subject,
			       uint16_t *detail);

#endif /* NR_SMTPC_REPLY_H */
