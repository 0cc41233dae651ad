/*
 * daemon.c - the long-running relay: the POSIX side of a relay built with
 * the embedding API (src/embed).
 *
 * Start order matters: open the queue (recovery) and bind the listeners
 * while still privileged, then drop privileges, then detach (unless
 * --foreground), then run the loop. Stop order: close listeners and
 * sessions, let pending commits finish in one last turn, close the queue.
 * The relay (src/embed) does the queue, listeners, delivery and reloads;
 * here are signals, detach, the privilege drop, state_dir, the control and
 * submit sockets and the terminal.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/check_system.h"
#include "app/daemon.h"
#include "app/smtpd_submit.h"
#include "conf/conf.h"
#include "core/build.h"
#include "core/fmt.h"
#include "core/log.h"
#include "ctl/ctl.h"
#include "embed/embed.h"
#include "posix.h"
#include "queue/queue.h"

enum { EX_OK_ = 0, EX_UNAVAILABLE_ = 69, EX_SOFTWARE_ = 70, EX_OSERR_ = 71, EX_CONFIG_ = 78 };

struct nr_daemon {
	const char *prog; /* how we were started (argv[0]), for the first-run hint */
	const char *conf_path;
	struct nr_relay *relay;
	const struct nr_conf *conf;     /* the relay's, in force */
	struct nr_ctl *ctl;             /* NULL: no control socket on this platform */
	struct nr_smtpd_submit *submit; /* NULL: no local submission socket */
	int on_terminal;                /* --foreground with stderr on a terminal */
};

/* state_dir belongs to root (whoever starts us) and is searchable by
 * everyone (0711, not listable) so that local users reach the submit
 * socket by name; what is inside keeps its own modes (the control socket
 * checks its peer's uid, keys are 0600). Everything in it is created
 * before the privilege drop, and the daemon writes nothing there after:
 * so the unprivileged `user` cannot replace a socket or plant a file
 * there (a stale socket is removed at the next start). */
#define NR_STATE_DIR_MODE 0711

/* A generated LAN key that is not ours (nor root's) may be known to others: an older
 * version made state_dir the daemon user's, who could then plant or read
 * it. Such a pair is removed, so that a new one is generated. */
static void drop_foreign_generated_key(const struct nr_conf *c)
{
	long me, owner;

	if (c->lines.lan_cert != 0 || nr_plat_local_own_uid(&me) != 0 ||
	    nr_plat_file_owner(c->lan_key, &owner) != 0 || owner == me || owner == 0)
		return;
	nr_warn("%s belongs to uid %ld, not to us: it may be known to others; generating a new "
		"certificate",
		c->lan_key, owner);
	(void)nr_plat_file_remove(c->lan_key);
	(void)nr_plat_file_remove(c->lan_cert);
}

static void log_start(const struct nr_daemon *d)
{
	struct nr_qstats st;
	char addr[64];
	size_t i;
	static const char *const tls_names[] = {"plain", "starttls", "implicit"};

	nr_queue_stats(nr_relay_queue(d->relay), &st);
	nr_info("nanorelay %s starting (features: %s)", NR_VERSION, nr_app_features());
	nr_info("queue: %s, %s bytes, %lu messages pending%s", st.backend, NR_U64(st.capacity),
		(unsigned long)st.messages,
		st.persistent ? "" : " (RAM: survives upstream outages, not power loss)");
	if (!st.persistent && strcmp(st.backend, "ram") != 0)
		nr_warn("queue: %s is on tmpfs or ramfs (persistent: no): queued mail is lost at a "
			"power cut or reboot; put the queue on flash (queue mtd:NAME, or a file "
			"under /overlay)",
			d->conf->queue_path);
	for (i = 0; i < d->conf->listen_count; i++) {
		const struct nr_conf_listen *l = &d->conf->listen[i];

		nr_info("listening on %s%s%s:%u (%s)", l->addr.family == NR_AF_INET6 ? "[" : "",
			nr_addr_ntop(&l->addr, addr, sizeof(addr)),
			l->addr.family == NR_AF_INET6 ? "]" : "", (unsigned)l->addr.port,
			tls_names[l->tls]);
	}
}

/* One line for the first run: how to send a test message, and where it
 * goes. Logged at info level; also written to a terminal that watches the
 * start-up when the log itself does not show it there (syslog, or a level
 * above info). */
static void log_first_message_hint(const struct nr_daemon *d)
{
	const struct nr_conf *c = d->conf;
	char addr[64], how[512], where[320];
	const struct nr_conf_listen *l = c->listen_count ? &c->listen[0] : NULL;

	if (NR_ENABLED(CONFIG_NR_SENDMAIL))
		snprintf(how, sizeof(how),
			 "printf 'Subject: test\\n\\nhello\\n' | %s -c %s sendmail "
			 "you@example.com",
			 d->prog, d->conf_path);
	else
		snprintf(how, sizeof(how), "any SMTP client");
	if (l) {
		size_t n = strlen(how);

		snprintf(how + n, sizeof(how) - n, "%s SMTP to %s%s%s:%u",
			 NR_ENABLED(CONFIG_NR_SENDMAIL) ? ", or" : ":",
			 l->addr.family == NR_AF_INET6 ? "[" : "",
			 nr_addr_ntop(&l->addr, addr, sizeof(addr)),
			 l->addr.family == NR_AF_INET6 ? "]" : "", (unsigned)l->addr.port);
	}
	if (c->smarthost_count == 0)
		snprintf(where, sizeof(where), "nowhere: no smarthost configured, it stays queued");
	else
		snprintf(where, sizeof(where), "to the smarthost %s:%u%s", c->smarthost[0].host,
			 (unsigned)c->smarthost[0].port,
			 c->smarthost_count > 1 ? " (then the next ones)" : "");
	nr_info("to send a test message: %s; mail goes %s", how, where);
	if ((c->log_sink != NR_LOG_SINK_STDERR || !nr_log_enabled(NR_LOG_INFO)) &&
	    nr_plat_stderr_is_terminal())
		fprintf(stderr, "nanorelay: to send a test message: %s; mail goes %s\n", how,
			where);
}

/* Without the submit socket the daemon still relays; `sendmail` then
 * behaves as configured for a missing daemon. So a failure is logged,
 * not fatal. */
static void start_submit(struct nr_daemon *d)
{
	int rc;

	if (!NR_ENABLED(CONFIG_NR_SENDMAIL) || !d->conf->submit_socket)
		return;
	rc = nr_smtpd_submit_start(&d->submit, nr_relay_loop(d->relay), nr_relay_smtpd(d->relay),
				   d->conf->submit_socket);
	if (rc == NR_ENOTSUP)
		return;
	if (rc != 0)
		nr_err("submit socket %s: %s; local sendmail cannot reach the daemon",
		       d->conf->submit_socket, nr_strerror(rc));
	else
		nr_info("local submission on %s", d->conf->submit_socket);
}

/* What a failed start of the relay means for the exit code. */
static int start_failure(const struct nr_daemon *d, int rc)
{
	switch (nr_relay_failed_at(d->relay)) {
	case NR_RELAY_AT_LAN_TLS:
		return EX_CONFIG_;
	case NR_RELAY_AT_DELIVERY:
		return rc == NR_ENOTFOUND || rc == NR_EINVAL ? EX_CONFIG_ : EX_UNAVAILABLE_;
	default:
		return EX_UNAVAILABLE_;
	}
}

/* A reload switched the relay to next: the control socket follows, and
 * the log goes where next says. */
static void on_reload(void *arg, const struct nr_conf *next)
{
	struct nr_daemon *d = arg;

	nr_ctl_set_conf(d->ctl, next);
	d->conf = next;
	nr_plat_log_open(next->log_sink, "nanorelay");
}

static int start(struct nr_daemon *d, struct nr_conf *conf)
{
	char err[768];
	int rc;

	nr_plat_log_open(conf->log_sink, "nanorelay");
	nr_log_set_level(conf->log_level);
	/* What --check-config checks: the real cause, before anything fails
	 * on it later under another name. */
	if (nr_conf_check_system(conf, err, sizeof(err)) != 0) {
		nr_err("%s", err);
		return EX_CONFIG_;
	}

	rc = nr_relay_new_conf(&d->relay, conf, d->conf_path);
	if (rc != 0)
		return EX_OSERR_;
	d->conf = nr_relay_conf(d->relay);
	nr_relay_on_reload(d->relay, on_reload, d);
	if (d->conf->state_dir) {
		rc = nr_plat_mkdir_p(d->conf->state_dir, NR_STATE_DIR_MODE, NULL);
		if (rc != 0) {
			nr_err("state_dir %s: %s", d->conf->state_dir, nr_strerror(rc));
			return EX_OSERR_;
		}
	}
	/* a file queue's directories: the file system is the front end's */
	if (d->conf->queue_kind == NR_QUEUE_FILE) {
		rc = nr_plat_mkdir_parents(d->conf->queue_path, 0700);
		if (rc != 0) {
			nr_err("queue: cannot create the directory of %s: %s", d->conf->queue_path,
			       nr_strerror(rc));
			return EX_UNAVAILABLE_;
		}
	}
	if (nr_relay_open_queue(d->relay, NULL, 0) != 0)
		return EX_UNAVAILABLE_;
	if (NR_ENABLED(CONFIG_NR_LAN_TLS) && nr_conf_uses_lan_tls(d->conf))
		drop_foreign_generated_key(d->conf);
	rc = nr_relay_start(d->relay, NULL, 0); /* logs what failed */
	if (rc != 0)
		return start_failure(d, rc);
	/* Before dropping privileges: the socket lives in state_dir. */
	rc = nr_ctl_start(&d->ctl, nr_relay_loop(d->relay), d->conf, nr_relay_queue(d->relay),
			  nr_relay_delivery(d->relay));
	if (rc == NR_ENOTSUP) {
		nr_info("no control socket on this platform");
	} else if (rc != 0) {
		nr_err("control socket %s: %s", d->conf->control_socket, nr_strerror(rc));
		return rc == NR_EADDRINUSE ? EX_UNAVAILABLE_ : EX_OSERR_;
	}
	start_submit(d);
	if (d->conf->user) {
		rc = nr_plat_drop_privileges(d->conf->user);
		if (rc != 0) {
			nr_err("cannot switch to user %s: %s", d->conf->user, nr_strerror(rc));
			return EX_OSERR_;
		}
	}
	rc = nr_plat_signals_install();
	if (rc != 0 && rc != NR_ENOTSUP)
		return EX_OSERR_;
	log_start(d);
	log_first_message_hint(d);
	return EX_OK_;
}

/* SIGHUP: parse the file again; a bad file is refused and the old
 * configuration stays in force. The relay applies the rest
 * (nr_relay_reload_conf) and says what waits for a restart. */
static void reload(struct nr_daemon *d)
{
	char err[512];
	struct nr_conf next;

	if (nr_conf_load(&next, d->conf_path, err, sizeof(err)) != 0) {
		nr_err("reload refused, keeping the running configuration: %s", err);
		nr_conf_free(&next);
		return;
	}
	(void)nr_relay_reload_conf(d->relay, &next); /* logs a refusal */
}

static void stop(struct nr_daemon *d)
{
	nr_smtpd_submit_stop(d->submit);
	d->submit = NULL;
	/* listeners, sessions, and one last turn: pending commits finish */
	nr_relay_close_sessions(d->relay);
	/* After that turn: a send-test commit has called back by now. */
	nr_ctl_stop(d->ctl);
	d->ctl = NULL;
	nr_relay_free(d->relay);
	d->relay = NULL;
}

int nr_daemon_run(struct nr_conf *conf, const char *prog, const char *conf_path, int foreground)
{
	struct nr_daemon d;
	int rc;

	memset(&d, 0, sizeof(d));
	d.prog = prog;
	d.conf_path = conf_path;
	rc = start(&d, conf);
	if (rc != EX_OK_)
		goto out;
	if (!foreground && nr_plat_detach("nanorelay: running in the background, pid ") != 0) {
		rc = EX_OSERR_;
		goto out;
	}
	d.on_terminal = foreground && nr_plat_stderr_is_terminal();
	/* A turn's log lines leave together, before the loop waits again. */
	nr_plat_log_gather(1);
	for (;;) {
		unsigned sig;

		rc = nr_relay_turn(d.relay, -1);
		nr_plat_log_flush();
		if (rc < 0 && rc != NR_EAGAIN) {
			nr_err("event loop: %s", nr_strerror(rc));
			rc = EX_SOFTWARE_;
			goto out;
		}
		sig = nr_plat_signals_take();
		if (sig & NR_SIG_TERM) {
			nr_info("stopping on signal");
			break;
		}
		if ((sig & NR_SIG_HUP) && d.on_terminal && nr_plat_terminal_gone()) {
			nr_info("stopping: the terminal hung up");
			break;
		}
		if (sig & NR_SIG_HUP) {
			reload(&d);
			/* the reload's lines now, not when the next event ends a turn */
			nr_plat_log_flush();
		}
	}
	rc = EX_OK_;
out:
	stop(&d);
	if (rc == EX_OK_)
		nr_info("stopped");
	nr_plat_log_gather(0);
	return rc;
}
