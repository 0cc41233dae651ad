/* proto_body.c - the DATA body filter (RFC 5321 4.1.1.4, 4.5.2; DESIGN.md
 * "Inbound SMTP").
 *
 * Three layers, byte by byte so that chunk boundaries never matter:
 *  1. the wire decoder finds line ends and the one end-of-data sequence
 *     CR LF . CR LF, removes dot-stuffing, turns a stray CR into a space and
 *     a bare LF into a line end;
 *  2. the header tracker watches the header block (names, size, the end)
 *     and inserts Date:/Message-ID: at its end when they are missing;
 *  3. the canonical writer folds lines over 998 octets with CRLF SP, counts
 *     the size and hands bounded chunks to the emit callback.
 * Once the message is certain to be refused nothing more is emitted, but the
 * decoder keeps going so the session finds the real end of data. */
#include <string.h>

#include "core/ascii.h"
#include "proto/proto.h"

enum in_state {
	IN_BOL = 0, /* at a line start */
	IN_DOT,     /* a '.' at a line start, its meaning not yet known */
	IN_DOT_CR,  /* ".\r" at a line start */
	IN_MID,     /* inside a line */
	IN_CR,      /* a CR inside a line, its successor not yet seen */
};

enum hdr_state {
	HDR_LINE_START = 0, /* at the start of a header-block line */
	HDR_NAME,           /* holding back a possible field name */
	HDR_FIELD,          /* inside a header field (or its continuation) */
	HDR_BODY,           /* past the header block */
};

void nr_body_init(struct nr_body *b, const struct nr_body_conf *conf)
{
	memset(b, 0, sizeof(*b));
	b->conf = *conf;
	b->in_state = IN_BOL;
	b->bol_after_crlf = 1; /* the DATA command line ended with CRLF */
	b->hdr_state = HDR_LINE_START;
}

/* ---- layer 3: canonical writer ---- */

static void flush_out(struct nr_body *b)
{
	if (b->out_len && !(b->flags & NR_BODYF_FATAL)) {
		int ret = b->conf.emit(b->conf.arg, b->out, b->out_len);
		if (ret < 0) {
			b->flags |= NR_BODYF_EMIT_ERR;
			b->emit_err = ret;
		}
	}
	b->out_len = 0;
}

/* Count k octets about to be written against the limits; 0 when the
 * message is refused already, so they are dropped. */
static int count_out(struct nr_body *b, size_t k)
{
	b->size += k;
	if (b->hdr_state != HDR_BODY) {
		b->header_size += k;
		if (b->conf.max_header && b->header_size > b->conf.max_header)
			b->flags |= NR_BODYF_HDRBIG;
	}
	if (b->conf.max_size && b->size > b->conf.max_size)
		b->flags |= NR_BODYF_TOOBIG;
	if (b->flags & NR_BODYF_FATAL) {
		b->out_len = 0;
		return 0;
	}
	return 1;
}

static void out_raw(struct nr_body *b, uint8_t c)
{
	if (!count_out(b, 1))
		return;
	b->out[b->out_len++] = c;
	if (b->out_len == sizeof(b->out))
		flush_out(b);
}

static void out_eol(struct nr_body *b)
{
	out_raw(b, '\r');
	out_raw(b, '\n');
	b->line_len = 0;
}

static void out_byte(struct nr_body *b, uint8_t c)
{
	if (b->line_len >= NR_TEXT_LINE_MAX) {
		b->flags |= NR_BODYF_FOLDED;
		out_eol(b);
		out_raw(b, ' ');
		b->line_len = 1;
	}
	out_raw(b, c);
	b->line_len++;
}

static void out_str(struct nr_body *b, const char *s)
{
	for (; *s; s++)
		out_raw(b, (uint8_t)*s);
	b->line_len = 0;
}

/* ---- layer 2: header tracker ---- */

static int is_name_char(uint8_t c)
{
	return c >= 33 && c <= 126 && c != ':';
}

static void add_missing_headers(struct nr_body *b)
{
	if (!b->has_date && b->conf.date_header) {
		out_str(b, b->conf.date_header);
		b->has_date = 1;
	}
	if (!b->has_msgid && b->conf.msgid_header) {
		out_str(b, b->conf.msgid_header);
		b->has_msgid = 1;
	}
}

static void flush_name(struct nr_body *b)
{
	for (size_t i = 0; i < b->name_len; i++)
		out_byte(b, (uint8_t)b->name[i]);
	b->name_len = 0;
}

/* A line that is not a header field starts the body: end the header block
 * with our additions and the empty line RFC 5322 2.1 requires. */
static void start_body_early(struct nr_body *b)
{
	add_missing_headers(b);
	out_eol(b);
	b->hdr_state = HDR_BODY;
	flush_name(b);
}

static void content(struct nr_body *b, uint8_t c)
{
	if (c >= 0x80)
		b->flags |= NR_BODYF_8BIT;
	switch (b->hdr_state) {
	case HDR_LINE_START:
		if ((c == ' ' || c == '\t') && b->header_size > 0) {
			b->hdr_state = HDR_FIELD; /* continuation line */
		} else if (is_name_char(c)) {
			b->hdr_state = HDR_NAME;
			b->name[0] = (char)c;
			b->name_len = 1;
			return;
		} else {
			start_body_early(b);
		}
		break;
	case HDR_NAME:
		if (c == ':') {
			if (nr_ascii_ieq_word(b->name, b->name_len, "received"))
				b->received++;
			else if (nr_ascii_ieq_word(b->name, b->name_len, "date"))
				b->has_date = 1;
			else if (nr_ascii_ieq_word(b->name, b->name_len, "message-id"))
				b->has_msgid = 1;
			b->hdr_state = HDR_FIELD;
			flush_name(b);
		} else if (is_name_char(c) && b->name_len < sizeof(b->name)) {
			b->name[b->name_len++] = (char)c;
			return;
		} else {
			start_body_early(b);
		}
		break;
	case HDR_FIELD:
	case HDR_BODY:
		break;
	}
	out_byte(b, c);
}

static void line_end(struct nr_body *b)
{
	switch (b->hdr_state) {
	case HDR_LINE_START:
		/* The empty line: the header block ends here. */
		add_missing_headers(b);
		out_eol(b);
		b->hdr_state = HDR_BODY;
		return;
	case HDR_NAME:
		start_body_early(b);
		break;
	case HDR_FIELD:
		b->hdr_state = HDR_LINE_START;
		break;
	case HDR_BODY:
		break;
	}
	out_eol(b);
}

static void end_of_data(struct nr_body *b)
{
	if (b->hdr_state == HDR_NAME)
		start_body_early(b);
	if (b->hdr_state != HDR_BODY)
		add_missing_headers(b);
	b->done = 1;
}

#define ONES 0x0101010101010101ull
#define HIGHS 0x8080808080808080ull

/* Nonzero if one of the 8 bytes of w is zero (exact as a yes/no answer). */
static uint64_t has_zero(uint64_t w)
{
	return (w - ONES) & ~w & HIGHS;
}

/* Length of the run of bytes at s that are not CR, LF or NUL, 8 bytes at a
 * time while it lasts; *high collects the bits of the run (bit 7: 8-bit). */
static size_t ordinary_run(const uint8_t *s, size_t len, uint8_t *high)
{
	uint64_t acc = 0;
	size_t n = 0;

	for (; n + 8 <= len; n += 8) {
		uint64_t w;
		memcpy(&w, s + n, 8);
		if (has_zero(w) | has_zero(w ^ ('\r' * ONES)) | has_zero(w ^ ('\n' * ONES)))
			break;
		acc |= w;
	}
	*high = (acc & HIGHS) ? 0x80 : 0;
	for (; n < len; n++) {
		uint8_t c = s[n];
		if (c == '\r' || c == '\n' || c == '\0')
			break;
		*high |= c;
	}
	return n;
}

/* The common case in bulk: a run of ordinary bytes inside a header field
 * or a body line. Does what content() then out_byte() do for each byte
 * (8-bit flag, folding at 998, size limits, chunking), a slice at a time.
 * Returns how many bytes of s it took (at least 1 if s[0] is ordinary). */
static size_t mid_run(struct nr_body *b, const uint8_t *s, size_t len)
{
	size_t i = 0;
	uint8_t high;
	size_t n = ordinary_run(s, len, &high);

	if (high & 0x80)
		b->flags |= NR_BODYF_8BIT;
	while (i < n) {
		size_t k = n - i;

		if (b->line_len >= NR_TEXT_LINE_MAX) {
			out_byte(b, s[i]); /* folds, then writes one byte */
			i++;
			continue;
		}
		k = NR_MIN(k, NR_TEXT_LINE_MAX - b->line_len);
		k = NR_MIN(k, sizeof(b->out) - b->out_len);
		if (count_out(b, k)) {
			memcpy(b->out + b->out_len, s + i, k);
			b->out_len += k;
			if (b->out_len == sizeof(b->out))
				flush_out(b);
		}
		b->line_len += k;
		i += k;
	}
	return n;
}

/* ---- layer 1: wire decoder ---- */

static void stray_cr(struct nr_body *b)
{
	b->flags |= NR_BODYF_STRAY_CR;
	content(b, ' ');
}

/* A line ended, by CRLF (after_crlf) or by a bare LF: the next byte starts
 * a line, and only after a CRLF can "." CRLF there end the data. */
static void next_line(struct nr_body *b, int after_crlf)
{
	line_end(b);
	b->in_state = IN_BOL;
	b->bol_after_crlf = after_crlf;
}

static void mid_byte(struct nr_body *b, uint8_t c)
{
	b->in_state = IN_MID;
	if (c == '\r') {
		b->in_state = IN_CR;
	} else if (c == '\n') {
		b->flags |= NR_BODYF_BARE_LF;
		next_line(b, 0);
	} else if (c == '\0') {
		b->flags |= NR_BODYF_NUL;
	} else {
		content(b, c);
	}
}

size_t nr_body_feed(struct nr_body *b, const void *p, size_t len)
{
	const uint8_t *s = p;

	for (size_t i = 0; i < len; i++) {
		uint8_t c = s[i];
		if (b->done)
			return i;
		switch (b->in_state) {
		case IN_BOL:
			if (c == '.')
				b->in_state = IN_DOT;
			else
				mid_byte(b, c);
			break;
		case IN_DOT:
			if (c == '\r') {
				b->in_state = IN_DOT_CR;
			} else if (c == '\n') {
				/* "." ended by a bare LF: content, never the end. */
				content(b, '.');
				mid_byte(b, c);
			} else {
				mid_byte(b, c); /* 4.5.2: the first period is deleted */
			}
			break;
		case IN_DOT_CR:
			if (c == '\n') {
				if (b->bol_after_crlf) {
					end_of_data(b);
					return i + 1;
				}
				content(b, '.'); /* preceded by a bare LF: content */
				next_line(b, 1);
			} else {
				/* ".\r" + more: a dot line with other characters
				 * (the stray CR), so its first period goes. */
				stray_cr(b);
				mid_byte(b, c);
			}
			break;
		case IN_CR:
			if (c == '\n') {
				next_line(b, 1);
			} else {
				stray_cr(b);
				mid_byte(b, c);
			}
			break;
		default:
			if ((b->hdr_state == HDR_FIELD || b->hdr_state == HDR_BODY) && c != '\r' &&
			    c != '\n' && c != '\0') {
				i += mid_run(b, s + i, len - i) - 1;
				break;
			}
			mid_byte(b, c);
			break;
		}
	}
	return len;
}

unsigned nr_body_finish(struct nr_body *b)
{
	flush_out(b);
	return b->flags;
}
