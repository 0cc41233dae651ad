/* proto_dotstuff.c - canonical stored text to DATA wire text (RFC 5321
 * 4.5.2). This is the very last step before the wire, so it also refuses to
 * let a bare CR or LF through, whatever the store holds. */
#include "proto/proto.h"

void nr_dotstuff_init(struct nr_dotstuff *d)
{
	d->bol = 1;
	d->pending_cr = 0;
}

size_t nr_dotstuff(struct nr_dotstuff *d, const void *in, size_t inlen, void *out, size_t outcap,
		   size_t *consumed)
{
	const uint8_t *s = in;
	uint8_t *o = out;
	size_t i = 0, n = 0;

	while (i < inlen) {
		uint8_t c = s[i];
		if (d->pending_cr) {
			/* needs at most 2 bytes: "\r\n" or " " + (handled below) */
			if (c == '\n') {
				if (outcap - n < 2)
					break;
				o[n++] = '\r';
				o[n++] = '\n';
				d->pending_cr = 0;
				d->bol = 1;
				i++;
				continue;
			}
			if (outcap - n < 1)
				break;
			o[n++] = ' ';
			d->pending_cr = 0;
			d->bol = 0;
			continue; /* c is handled on the next round */
		}
		if (c == '\r') {
			d->pending_cr = 1;
			i++;
			continue;
		}
		if (c == '\n') {
			if (outcap - n < 2)
				break;
			o[n++] = '\r';
			o[n++] = '\n';
			d->bol = 1;
			i++;
			continue;
		}
		if (d->bol && c == '.') {
			if (outcap - n < 2)
				break;
			o[n++] = '.';
		} else if (outcap - n < 1) {
			break;
		}
		o[n++] = c;
		d->bol = 0;
		i++;
	}
	*consumed = i;
	return n;
}

size_t nr_dotstuff_end(struct nr_dotstuff *d, void *out)
{
	uint8_t *o = out;
	size_t n = 0;

	if (d->pending_cr) {
		o[n++] = ' '; /* a final bare CR */
		d->pending_cr = 0;
		d->bol = 0;
	}
	if (!d->bol) {
		o[n++] = '\r';
		o[n++] = '\n';
	}
	o[n++] = '.';
	o[n++] = '\r';
	o[n++] = '\n';
	d->bol = 1;
	return n;
}
