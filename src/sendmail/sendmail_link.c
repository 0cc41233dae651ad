/*
 * sendmail_link.c - the client side of a submission: buffered writes and
 * reply assembly over a local socket, with a deadline on every wait.
 */
#include <stdio.h>
#include <string.h>

#include "core/loop.h"
#include "sendmail/sendmail_int.h"

/* How long one turn of the in-process loop may sleep while we wait. */
#define SM_DIRECT_TURN_MS 50

void sm_link_init(struct sm_link *l, nr_sock_t sock, struct nr_loop *loop, uint64_t timeout_ms)
{
	memset(l, 0, sizeof(*l));
	l->sock = sock;
	l->loop = loop;
	l->timeout_ms = timeout_ms;
}

/* Wait for the socket to be ready for want, or for the deadline. */
static int link_wait(struct sm_link *l, unsigned want, uint64_t deadline)
{
	struct nr_pollfd p;
	uint64_t now = nr_plat_now_ms();
	int rc;

	if (now >= deadline)
		return NR_ETIMEDOUT;
	if (l->loop) {
		rc = nr_loop_turn(l->loop, SM_DIRECT_TURN_MS);
		return rc < 0 && rc != NR_EAGAIN ? rc : 0;
	}
	p.sock = l->sock;
	p.want = (uint8_t)want;
	p.ready = 0;
	rc = nr_plat_poll(&p, 1, (int)(deadline - now));
	return rc < 0 ? rc : 0;
}

int sm_link_flush(struct sm_link *l)
{
	uint64_t deadline = nr_plat_now_ms() + l->timeout_ms;
	size_t done = 0;

	while (done < l->olen) {
		long n = nr_plat_sock_write(l->sock, l->out + done, l->olen - done);
		int rc;

		if (n > 0) {
			done += (size_t)n;
			deadline = nr_plat_now_ms() + l->timeout_ms;
			continue;
		}
		if (n != NR_EAGAIN)
			return (int)n;
		if ((rc = link_wait(l, NR_POLL_OUT, deadline)) != 0)
			return rc;
	}
	l->olen = 0;
	return 0;
}

int sm_link_put(struct sm_link *l, const void *data, size_t len)
{
	const unsigned char *p = data;

	while (len > 0) {
		size_t room = sizeof(l->out) - l->olen, n = len < room ? len : room;
		int rc;

		memcpy(l->out + l->olen, p, n);
		l->olen += n;
		p += n;
		len -= n;
		if (l->olen == sizeof(l->out) && (rc = sm_link_flush(l)) != 0)
			return rc;
	}
	return 0;
}

static int link_getc(struct sm_link *l, uint64_t *deadline)
{
	while (l->ipos == l->ilen) {
		long n = nr_plat_sock_read(l->sock, l->in, sizeof(l->in));
		int rc;

		if (n > 0) {
			l->ipos = 0;
			l->ilen = (size_t)n;
			break;
		}
		if (n != NR_EAGAIN)
			return (int)n;
		if ((rc = link_wait(l, NR_POLL_IN, *deadline)) != 0)
			return rc;
	}
	return l->in[l->ipos++];
}

/* Append a reply line's text (after "NNN-") to l->text. */
static void add_text(struct sm_link *l, const char *line, size_t n)
{
	size_t have = strlen(l->text);

	if (n > 4) {
		snprintf(l->text + have, sizeof(l->text) - have, "%s%.*s", have ? "; " : "",
			 (int)(n - 4), line + 4);
	}
}

int sm_link_reply(struct sm_link *l, void (*raw)(const void *p, size_t n))
{
	uint64_t deadline = nr_plat_now_ms() + l->timeout_ms;
	char line[SM_REPLY_MAX];
	size_t n = 0;
	int c, rc;

	l->text[0] = '\0';
	l->code = 0;
	if ((rc = sm_link_flush(l)) != 0)
		return rc;
	for (;;) {
		c = link_getc(l, &deadline);
		if (c < 0)
			return c;
		if (raw) {
			char ch = (char)c;
			raw(&ch, 1);
		}
		if (c != '\n') {
			if (c != '\r' && n < sizeof(line) - 1)
				line[n++] = (char)c;
			continue;
		}
		line[n] = '\0';
		if (n < 3 || line[0] < '2' || line[0] > '5')
			return NR_EPROTO;
		add_text(l, line, n);
		if (n == 3 || line[3] == ' ') {
			l->code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
			return 0;
		}
		n = 0;
	}
}

int sm_link_cmd(struct sm_link *l, const char *line)
{
	int rc;

	if ((rc = sm_link_put(l, line, strlen(line))) != 0 || (rc = sm_link_put(l, "\r\n", 2)) != 0)
		return rc;
	return sm_link_reply(l, NULL);
}
