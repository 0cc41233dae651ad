/*
 * sendmail_msg.c - the message on standard input, read once, turned into
 * SMTP DATA on the fly.
 *
 * The header block is held (at most max_header_size) because -t needs its
 * recipients before MAIL, and -F/From: needs to know whether a From: is
 * there; the body streams, so a message of any size costs the same memory.
 * Without -i a line holding a single "." ends the message. Line ends go out
 * as CRLF, lines starting with "." are dot-stuffed, and everything else
 * (NUL, a bare CR, an endless line) is left for smtpd to judge by the same
 * rules as any SMTP client's data.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "platform.h"
#include "sendmail/sendmail_msg.h"

/* A field name longer than this makes the line body text. */
#define SM_FIELD_NAME_MAX 200

static int in_get(struct sm_in *in)
{
	if (in->npush > 0)
		return in->push[--in->npush];
	return getc(in->fp);
}

static void in_unget(struct sm_in *in, int c)
{
	if (c != EOF && in->npush < (int)sizeof(in->push))
		in->push[in->npush++] = (unsigned char)c;
}

void sm_in_init(struct sm_in *in, FILE *fp, int ignore_dots)
{
	memset(in, 0, sizeof(*in));
	in->fp = fp;
	in->ignore_dots = ignore_dots;
}

/* At a line start: a lone "." (then LF, CRLF or EOF) ends the message
 * unless -i. Consumes it when it does. */
static int lone_dot(struct sm_in *in)
{
	int c0, c1, c2;

	if (in->ignore_dots)
		return 0;
	c0 = in_get(in);
	if (c0 != '.') {
		in_unget(in, c0);
		return 0;
	}
	c1 = in_get(in);
	if (c1 == EOF || c1 == '\n')
		return 1;
	if (c1 == '\r') {
		c2 = in_get(in);
		if (c2 == '\n')
			return 1;
		in_unget(in, c2);
	}
	in_unget(in, c1);
	in_unget(in, c0);
	return 0;
}

static int is_ftext(int c)
{
	return c >= 33 && c <= 126 && c != ':';
}

static int hdr_put(struct sm_msg *m, int c)
{
	if (m->hlen >= m->hcap)
		return -1;
	m->hdr[m->hlen++] = (char)c;
	return 0;
}

/* The rest of a header line, its LF included. */
static int hdr_rest_of_line(struct sm_msg *m, struct sm_in *in)
{
	int c;

	while ((c = in_get(in)) != EOF) {
		if (hdr_put(m, c) != 0)
			return -1;
		if (c == '\n')
			return 0;
	}
	return 0;
}

/* Decide whether a line that starts with a printable byte is a header
 * field: "name:" is; anything else starts the body (kept in m->pending). */
static int classify_line(struct sm_msg *m, struct sm_in *in, int first)
{
	char name[SM_FIELD_NAME_MAX + 2];
	size_t n = 0;
	int c = first;

	while (is_ftext(c) && n < SM_FIELD_NAME_MAX) {
		name[n++] = (char)c;
		c = in_get(in);
	}
	if (c == ':' && n > 0) {
		size_t k;

		for (k = 0; k < n; k++)
			if (hdr_put(m, name[k]) != 0)
				return -1;
		if (hdr_put(m, ':') != 0 || hdr_rest_of_line(m, in) != 0)
			return -1;
		return SM_HDR_MORE;
	}
	memcpy(m->pending, name, n);
	m->plen = n;
	if (c != EOF)
		m->pending[m->plen++] = (char)c;
	m->mid_line = c != '\n' && c != EOF;
	return c == EOF ? SM_HDR_EOF_BODY : SM_HDR_BODY;
}

int sm_msg_read_headers(struct sm_msg *m, struct sm_in *in)
{
	for (;;) {
		int c, rc;

		if (lone_dot(in))
			return SM_HDR_DOT;
		c = in_get(in);
		if (c == EOF)
			return SM_HDR_EOF;
		if (c == '\n')
			return SM_HDR_BLANK;
		if (c == '\r') {
			int d = in_get(in);
			if (d == '\n')
				return SM_HDR_BLANK;
			in_unget(in, d);
		}
		if ((c == ' ' || c == '\t') && m->hlen > 0) {
			if (hdr_put(m, c) != 0 || hdr_rest_of_line(m, in) != 0)
				return SM_HDR_TOOBIG;
			continue;
		}
		rc = is_ftext(c) ? classify_line(m, in, c) : -2;
		if (rc == -1)
			return SM_HDR_TOOBIG;
		if (rc == -2) {
			m->pending[0] = (char)c;
			m->plen = 1;
			m->mid_line = c != '\n';
			return SM_HDR_BODY;
		}
		if (rc != SM_HDR_MORE)
			return rc;
	}
}

/* ---- output: CRLF line ends and dot-stuffing ---- */

int sm_out_bytes(struct sm_out *o, const void *data, size_t len)
{
	const unsigned char *p = data;
	size_t i;
	int rc;

	for (i = 0; i < len; i++) {
		unsigned char c = p[i];

		if (o->line_start && c == '.' && (rc = o->put(o->arg, ".", 1)) != 0)
			return rc;
		if (c == '\n' && !o->prev_cr && (rc = o->put(o->arg, "\r", 1)) != 0)
			return rc;
		if ((rc = o->put(o->arg, &c, 1)) != 0)
			return rc;
		o->line_start = c == '\n';
		o->prev_cr = c == '\r';
	}
	return 0;
}

int sm_out_end(struct sm_out *o)
{
	int rc;

	if (!o->line_start && (rc = o->put(o->arg, "\r\n", 2)) != 0)
		return rc;
	return o->put(o->arg, ".\r\n", 3);
}

int sm_msg_stream_body(struct sm_msg *m, struct sm_in *in, struct sm_out *o)
{
	int line_start = !m->mid_line, c, rc;

	for (;;) {
		unsigned char ch;

		if (line_start && lone_dot(in))
			return 0;
		c = in_get(in);
		if (c == EOF)
			return ferror(in->fp) ? NR_EIO : 0;
		ch = (unsigned char)c;
		if ((rc = sm_out_bytes(o, &ch, 1)) != 0)
			return rc;
		line_start = c == '\n';
	}
}
