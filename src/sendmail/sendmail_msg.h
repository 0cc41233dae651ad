/* sendmail_msg.h - reading the message from stdin and writing it as DATA
 * (shared by sendmail.c and the unit tests; not a public API). */
#ifndef NR_SENDMAIL_SENDMAIL_MSG_H
#define NR_SENDMAIL_SENDMAIL_MSG_H

#include <stddef.h>
#include <stdio.h>

struct sm_in {
	FILE *fp;
	int ignore_dots;
	unsigned char push[4];
	int npush;
};

struct sm_msg {
	char *hdr; /* the header block as read (LF or CRLF line ends) */
	size_t hlen, hcap;
	char pending[204]; /* start of the first body line, when no blank line came */
	size_t plen;
	int mid_line; /* pending ends inside a line */
};

/* How the header block ended. */
enum {
	SM_HDR_MORE = 0, /* (internal) */
	SM_HDR_BLANK,    /* the empty line: the body follows */
	SM_HDR_BODY,     /* a line that is no header field: m->pending starts the body */
	SM_HDR_EOF_BODY, /* as SM_HDR_BODY, then end of input */
	SM_HDR_EOF,      /* end of input: no body */
	SM_HDR_DOT,      /* a lone "." (without -i): no body */
	SM_HDR_TOOBIG,   /* more than hcap bytes of header fields */
};

void sm_in_init(struct sm_in *in, FILE *fp, int ignore_dots);
int sm_msg_read_headers(struct sm_msg *m, struct sm_in *in);

/* DATA writer: put() takes the wire bytes. */
struct sm_out {
	int (*put)(void *arg, const void *p, size_t n);
	void *arg;
	int line_start;
	int prev_cr;
};
int sm_out_bytes(struct sm_out *o, const void *data, size_t len);
/* Finish the last line and send the terminating ".". */
int sm_out_end(struct sm_out *o);
/* The rest of stdin through o, up to EOF or a lone "." (without -i). */
int sm_msg_stream_body(struct sm_msg *m, struct sm_in *in, struct sm_out *o);

#endif /* NR_SENDMAIL_SENDMAIL_MSG_H */
