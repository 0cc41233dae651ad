/*
 * ctl.h - the control socket: `nanorelay status`, `mailq`, `flush`,
 * `delete ID` and `send-test ADDRESS`.
 *
 * Daemon side (ctl.c): a local stream socket at `control_socket`, served on
 * the event loop, at most CONFIG_NR_CTL_MAX_CLIENTS clients at once. The
 * protocol is one request line, then one reply, then the daemon closes:
 *
 *   request:  "status" | "status json" | "mailq" | "flush" | "delete ID" |
 *             "send-test ADDRESS" | "msg ID"            (LF or CRLF ended)
 *   reply:    "<code> <text>\n" then the body until EOF; code is the exit
 *             code the command line should use (0 ok, see below).
 *
 * The socket is mode 0666: status and mailq are open to local users; flush,
 * delete and send-test need a peer of uid 0 or the daemon's own uid (taken
 * from the kernel, SO_PEERCRED), whatever the directory's mode.
 *
 * Command line side (ctl_client.c): nr_ctl_cli_main().
 *
 * Exit codes (sysexits.h): 0 ok, 64 usage, 65 bad address, 66 no such
 * message, 67 send-test refused permanently, 69 daemon not running, 70
 * protocol error, 75 temporary (busy, deferred, still waiting), 77
 * permission denied.
 */
#ifndef NR_CTL_CTL_H
#define NR_CTL_CTL_H

#include "core/build.h"
#include "platform.h"

struct nr_ctl;
struct nr_loop;
struct nr_queue;
struct nr_delivery;
struct nr_conf;

enum {
	NR_CTL_EX_OK = 0,
	NR_CTL_EX_USAGE = 64,
	NR_CTL_EX_DATAERR = 65,
	NR_CTL_EX_NOINPUT = 66,
	NR_CTL_EX_NOUSER = 67,
	NR_CTL_EX_UNAVAILABLE = 69,
	NR_CTL_EX_SOFTWARE = 70,
	NR_CTL_EX_TEMPFAIL = 75,
	NR_CTL_EX_NOPERM = 77,
};

/* Start serving conf->control_socket. delivery may be NULL (no smarthost).
 * The module borrows loop, queue, delivery and conf; call nr_ctl_set_conf
 * after a reload. NR_EADDRINUSE when another daemon answers on the path,
 * NR_ENOTSUP on a platform without local sockets, NR_ENOMEM. */
int nr_ctl_start(struct nr_ctl **out, struct nr_loop *loop, const struct nr_conf *conf,
		 struct nr_queue *q, struct nr_delivery *delivery) NR_MUST_CHECK;
void nr_ctl_set_conf(struct nr_ctl *c, const struct nr_conf *conf);
/* Close every client and the socket (and remove its file). NULL is ignored. */
void nr_ctl_stop(struct nr_ctl *c);

/*
 * The command line: argv[0] is the command ("status", "mailq", "flush",
 * "delete", "send-test"), the rest its arguments. Talks to the daemon on
 * socket_path, prints the answer on stdout (errors on stderr, naming the
 * socket when the daemon is not running), and returns the exit code above.
 * Blocks (it is the CLI process, not the daemon). The socket is trusted
 * only when it is a socket owned by root, by daemon_user (conf->user, may
 * be NULL) or by the caller (nr_plat_local_check_owner); otherwise the
 * command is refused (NR_CTL_EX_TEMPFAIL) before anything is sent or read.
 * The sendmail front end's `mailq` / `-bp` call it as
 * nr_ctl_cli_main(conf->control_socket, conf->user, 1, (char *[]){"mailq", NULL}).
 */
int nr_ctl_cli_main(const char *socket_path, const char *daemon_user, int argc, char **argv);

/* 1 when name is a control command nr_ctl_cli_main() knows. */
int nr_ctl_is_command(const char *name);

#endif /* NR_CTL_CTL_H */
