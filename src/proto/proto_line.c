/* proto_line.c - bounded line reader over an nr_buf. */
#include <string.h>

#include "proto/proto.h"

void nr_line_reader_init(struct nr_line_reader *lr, size_t max)
{
	lr->max = max;
	lr->discarding = 0;
}

static void drop(struct nr_buf *in, size_t n)
{
	in->rpos += n;
	if (in->rpos == in->wpos)
		in->rpos = in->wpos = 0;
}

int nr_line_next(struct nr_line_reader *lr, struct nr_buf *in, const char **line, size_t *len,
		 enum nr_line_end *end)
{
	const uint8_t *head = nr_buf_head(in);
	size_t avail = nr_buf_len(in);
	const uint8_t *lf = avail ? memchr(head, '\n', avail) : NULL;

	if (!lf) {
		/* One more byte than max may be a CR waiting for its LF. */
		if (lr->discarding || avail > lr->max + 1) {
			lr->discarding = 1;
			drop(in, avail);
		}
		return 0;
	}
	size_t n = (size_t)(lf - head);
	int crlf = n > 0 && head[n - 1] == '\r';
	size_t text = crlf ? n - 1 : n;
	*line = (const char *)head;
	*len = text;
	*end = crlf ? NR_LINE_CRLF : NR_LINE_LF;
	if (lr->discarding || text > lr->max) {
		lr->discarding = 0;
		*len = 0;
		*end = NR_LINE_TOOLONG;
	}
	in->rpos += n + 1; /* the caller reads *line before touching in */
	return 1;
}
