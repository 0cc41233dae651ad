/* proto_reply.c - SMTP reply formatting (RFC 5321 4.2, RFC 3463 codes). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "proto/proto.h"

/* 512 octets including CRLF (RFC 5321 4.5.3.1.5). */
#define REPLY_LINE_MAX 512

static int put_line(struct nr_buf *out, int code, char sep, const char *enh, const char *text)
{
	char line[REPLY_LINE_MAX + 1];
	size_t len = 0;

	if (code < 200 || code > 599)
		code = 451;
	/* "%03d%c%s " by hand: this runs for every reply line (issue 22). */
	line[len++] = (char)('0' + code / 100);
	line[len++] = (char)('0' + code / 10 % 10);
	line[len++] = (char)('0' + code % 10);
	line[len++] = sep;
	if (enh && *enh) {
		for (; *enh && len < REPLY_LINE_MAX - 3; enh++)
			line[len++] = *enh;
		line[len++] = ' ';
	}
	for (const char *t = text; t && *t && len < REPLY_LINE_MAX - 2; t++) {
		unsigned char c = (unsigned char)*t;
		line[len++] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
	}
	line[len++] = '\r';
	line[len++] = '\n';
	return nr_buf_put(out, line, len);
}

int nr_reply_put(struct nr_buf *out, int code, const char *enh, const char *fmt, ...)
{
	char text[REPLY_LINE_MAX];
	va_list ap;

	va_start(ap, fmt);
	int n = vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (n < 0)
		text[0] = '\0';
	return put_line(out, code, ' ', enh, text);
}

int nr_reply_put_lines(struct nr_buf *out, int code, const char *enh, const char *const *lines,
		       size_t n)
{
	if (n == 0)
		return put_line(out, code, ' ', enh, "");
	/* All or nothing: a half-written multi-line reply would desynchronise
	 * a pipelining client. */
	size_t saved_w = out->wpos, saved_r = out->rpos;
	for (size_t i = 0; i < n; i++) {
		int ret = put_line(out, code, i + 1 < n ? '-' : ' ', enh, lines[i]);
		if (ret < 0) {
			/* nr_buf_put may have compacted: rpos moved to 0. */
			out->wpos = saved_w - (saved_r - out->rpos);
			return ret;
		}
	}
	return 0;
}
