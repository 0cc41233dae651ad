/*
 * smtpd_submit.c - accept local submissions and hand them to smtpd.
 */
#include <stdlib.h>

#include "app/smtpd_submit.h"
#include "core/log.h"
#include "core/loop.h"
#include "core/mem.h"
#include "posix.h"
#include "smtpd/smtpd.h"

/* Connections taken per readiness event, so one busy socket cannot starve
 * the loop. */
#define SUBMIT_ACCEPT_BURST 16

struct nr_smtpd_submit {
	struct nr_loop *loop;
	struct nr_smtpd *smtpd;
	struct nr_io io;
};

static void on_submit_ready(struct nr_loop *loop, void *arg, unsigned events)
{
	struct nr_smtpd_submit *s = arg;
	int i;

	(void)loop;
	(void)events;
	for (i = 0; i < SUBMIT_ACCEPT_BURST; i++) {
		nr_sock_t sock;
		long uid = -1;
		int ret = nr_plat_tcp_accept(s->io.sock, &sock, NULL);

		if (ret == NR_EAGAIN)
			return;
		if (ret < 0) {
			nr_warn("submit: accept: %s", nr_strerror(ret));
			return;
		}
		if (nr_plat_local_peer_uid(sock, &uid) != 0)
			uid = -1;
		(void)nr_smtpd_accept_local(s->smtpd, sock, uid);
	}
}

int nr_smtpd_submit_start(struct nr_smtpd_submit **out, struct nr_loop *loop,
			  struct nr_smtpd *smtpd, const char *path)
{
	struct nr_smtpd_submit *s;
	nr_sock_t sock;
	int ret;

	*out = NULL;
	ret = nr_plat_local_listen(path, 1, &sock);
	if (ret != 0)
		return ret;
	s = nr_calloc(1, sizeof(*s));
	if (!s) {
		nr_plat_sock_close(sock);
		return NR_ENOMEM;
	}
	s->loop = loop;
	s->smtpd = smtpd;
	nr_io_init(&s->io, sock, NR_POLL_IN, on_submit_ready, s);
	ret = nr_loop_add(loop, &s->io);
	if (ret != 0) {
		nr_plat_sock_close(sock);
		nr_free(s);
		return ret;
	}
	*out = s;
	return 0;
}

void nr_smtpd_submit_stop(struct nr_smtpd_submit *s)
{
	if (!s)
		return;
	nr_loop_del(s->loop, &s->io);
	nr_plat_sock_close(s->io.sock);
	nr_free(s);
}
