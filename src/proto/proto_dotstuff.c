/* proto_dotstuff.c - canonical stored text to DATA wire text (RFC 5321
 * 4.5.2). This is the very last step before the wire, so it also refuses to
 * let a bare CR or LF through, whatever the store holds, and folds lines
 * that would exceed RFC 5322's 998 octets. */
#include <string.h>

#include "proto/proto.h"

void nr_dotstuff_init(struct nr_dotstuff *d)
{
	d->line_len = 0;
	d->bol = 1;
	d->pending_cr = 0;
}

/* One content byte: a fold (CRLF SP) first when the line is full, then the
 * byte, doubled when it is a dot starting a line. Needs at most 4 bytes;
 * returns 0 and writes nothing when room is too small. */
static size_t put_byte(struct nr_dotstuff *d, uint8_t c, uint8_t *o, size_t room)
{
	int fold = d->line_len >= NR_DOTSTUFF_LINE_MAX;
	/* The fold's space keeps the next byte off the line start, so a fold
	 * never needs a doubled dot. */
	int dot = !fold && d->bol && c == '.';
	size_t n = 0;

	if (room < 1 + (fold ? 3u : 0u) + (dot ? 1u : 0u))
		return 0;
	if (fold) {
		o[n++] = '\r';
		o[n++] = '\n';
		o[n++] = ' ';
		d->line_len = 1;
	}
	if (dot) {
		o[n++] = '.';
		d->line_len++;
	}
	o[n++] = c;
	d->line_len++;
	d->bol = 0;
	return n;
}

/* A line end: CRLF, or 0 when room is too small. */
static size_t put_crlf(struct nr_dotstuff *d, uint8_t *o, size_t room)
{
	if (room < 2)
		return 0;
	o[0] = '\r';
	o[1] = '\n';
	d->line_len = 0;
	d->bol = 1;
	return 2;
}

size_t nr_dotstuff(struct nr_dotstuff *d, const void *in, size_t inlen, void *out, size_t outcap,
		   size_t *consumed)
{
	const uint8_t *s = in;
	uint8_t *o = out;
	size_t i = 0, n = 0, w;

	while (i < inlen) {
		uint8_t c = s[i];
		if (d->pending_cr) {
			if (c == '\n') {
				w = put_crlf(d, o + n, outcap - n);
				if (!w)
					break;
				d->pending_cr = 0;
				n += w;
				i++;
				continue;
			}
			/* A stray CR is content: a space. c is handled on the
			 * next round. */
			w = put_byte(d, ' ', o + n, outcap - n);
			if (!w)
				break;
			d->pending_cr = 0;
			n += w;
			continue;
		}
		if (c == '\r') {
			d->pending_cr = 1; /* CRLF or a stray CR: the next byte says */
			i++;
			continue;
		}
		if (c != '\n' && !(d->bol && c == '.') && d->line_len < NR_DOTSTUFF_LINE_MAX &&
		    n < outcap) {
			/* The common case in bulk: a run of bytes inside a line,
			 * copied as put_byte would write them one by one. */
			size_t max = inlen - i, k = 1;
			max = NR_MIN(max, outcap - n);
			max = NR_MIN(max, NR_DOTSTUFF_LINE_MAX - d->line_len);
			while (k < max && s[i + k] != '\r' && s[i + k] != '\n')
				k++;
			memcpy(o + n, s + i, k);
			n += k;
			i += k;
			d->line_len += k;
			d->bol = 0;
			continue;
		}
		w = c == '\n' ? put_crlf(d, o + n, outcap - n) : put_byte(d, c, o + n, outcap - n);
		if (!w)
			break;
		n += w;
		i++;
	}
	*consumed = i;
	return n;
}

size_t nr_dotstuff_end(struct nr_dotstuff *d, void *out)
{
	uint8_t *o = out;
	size_t n = 0;

	/* A CR at the very end ends the last line, as it would before an LF. */
	if (d->pending_cr) {
		d->pending_cr = 0;
		n += put_crlf(d, o, 2);
	}
	if (!d->bol)
		n += put_crlf(d, o + n, 2);
	memcpy(o + n, ".\r\n", 3);
	d->line_len = 0;
	return n + 3;
}
