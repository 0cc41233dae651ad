/*
 * daemon.c - the long-running relay.
 *
 * Start order matters: open the queue (recovery) and bind the listeners
 * while still privileged, then drop privileges, then detach (unless
 * --foreground), then run the loop. Stop order: close listeners and
 * sessions, let pending commits finish in one last turn, close the queue.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/check_system.h"
#include "app/daemon.h"
#include "app/smtpd_submit.h"
#include "conf/conf.h"
#include "core/build.h"
#include "core/log.h"
#include "core/loop.h"
#include "core/stats.h"
#include "ctl/ctl.h"
#include "delivery/delivery.h"
#include "posix.h"
#include "queue/queue.h"
#include "smtpd/smtpd.h"
#include "store/store.h"
#include "tls/tls.h"
#include "users/users.h"

enum { EX_OK_ = 0, EX_UNAVAILABLE_ = 69, EX_SOFTWARE_ = 70, EX_OSERR_ = 71, EX_CONFIG_ = 78 };

/* Loop capacity: every session has one socket (plus upstream connections,
 * DNS sockets, listeners and the control socket). */
#define NR_DAEMON_MAX_IOS                                                                          \
	(CONFIG_NR_MAX_SESSIONS + CONFIG_NR_MAX_LOCAL_SESSIONS + CONFIG_NR_MAX_LISTENERS +         \
	 CONFIG_NR_MAX_SMARTHOSTS * CONFIG_NR_MAX_UPSTREAM_CONNECTIONS + 32)
#define NR_DAEMON_MAX_TIMERS (2 * NR_DAEMON_MAX_IOS)

struct nr_daemon {
	const char *prog; /* how we were started (argv[0]), for the first-run hint */
	const char *conf_path;
	/* Two slots, so that a reload never moves a configuration the modules
	 * point into: the file is parsed into the slot not in force, the
	 * modules are switched to it, and only then is the old one freed. */
	struct nr_conf *conf;  /* the one in force: *first or spare */
	struct nr_conf *first; /* the caller's (read at start) */
	struct nr_conf spare;
	struct nr_loop *loop;
	struct nr_bdev bdev;
	int bdev_open;
	struct nr_queue *queue;
	struct nr_delivery *delivery; /* NULL: no smarthost configured */
	struct nr_tls_ctx *lan_tls;
	struct nr_smtpd *smtpd;
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

/* The file backend, with the sector size the file was formatted with, or
 * for a new file the one its size calls for (nr_store_file_sector_size). */
static int open_file_bdev(struct nr_daemon *d, const char *path, uint64_t size)
{
	uint32_t want = nr_store_file_sector_size(size), found;
	int rc;

	rc = nr_store_file_open(&d->bdev, path, size, NR_STORE_SECTOR_SIZE);
	if (rc != 0)
		return rc;
	rc = nr_queue_probe_sector_size(&d->bdev, &found);
	if (rc == 0)
		want = found;
	else if (rc != NR_ENOTFOUND)
		want = NR_STORE_SECTOR_SIZE; /* recovery reports the read error */
	if (want == NR_STORE_SECTOR_SIZE)
		return 0;
	d->bdev.close(&d->bdev);
	return nr_store_file_open(&d->bdev, path, size, want);
}

/* An mtd: partition: the shim's and store's refusals carry their reason;
 * a ring written with other erase blocks means the partition's geometry
 * changed (another flash chip or layout): refused, never reinterpreted. */
static int open_mtd_bdev(struct nr_daemon *d, const char *path, uint64_t size)
{
	char why[256];
	uint32_t found;
	int rc = nr_store_mtd_open(&d->bdev, path, size, why, sizeof(why));

	if (rc != 0) {
		nr_err("queue: cannot use mtd:%s: %s", path, why[0] ? why : nr_strerror(rc));
		return rc;
	}
	if (nr_queue_probe_sector_size(&d->bdev, &found) == 0 && found != d->bdev.sector_size) {
		nr_err("queue: cannot use mtd:%s: its ring was written with erase blocks of %u "
		       "bytes, the device now has %u: the geometry changed; nothing was touched",
		       path, (unsigned)found, (unsigned)d->bdev.sector_size);
		d->bdev.close(&d->bdev);
		return NR_EINVAL;
	}
	return 0;
}

static int open_queue(struct nr_daemon *d)
{
	const struct nr_conf *c = d->conf;
	int rc;

	/* conf refuses a backend that is not built; NR_ENABLED also keeps the
	 * calls into a missing one out of the link */
	if (c->queue_kind == NR_QUEUE_RAM) {
		rc = NR_ENABLED(CONFIG_NR_STORE_RAM)
			 ? nr_store_ram_open(&d->bdev, c->queue_size, NR_STORE_SECTOR_SIZE)
			 : NR_ENOTSUP;
	} else if (c->queue_kind == NR_QUEUE_FILE) {
		rc = nr_plat_mkdir_parents(c->queue_path, 0700);
		if (rc != 0) {
			nr_err("queue: cannot create the directory of %s: %s", c->queue_path,
			       nr_strerror(rc));
			return rc;
		}
		rc = open_file_bdev(d, c->queue_path, c->queue_size);
	} else if (c->queue_kind == NR_QUEUE_MTD) {
		rc = open_mtd_bdev(d, c->queue_path, c->queue_size);
		if (rc != 0)
			return rc; /* said why */
	} else {
		rc = NR_ENOTSUP; /* flash: an RTOS build opens its HAL itself */
	}
	if (rc != 0) {
		nr_err("queue: cannot open %s: %s", c->queue_path ? c->queue_path : "ram",
		       nr_strerror(rc));
		return rc;
	}
	d->bdev_open = 1;
	rc = nr_queue_open(&d->queue, &d->bdev, d->loop);
	if (rc == NR_EFULL) {
		nr_err("queue: %s holds more messages than CONFIG_NR_QUEUE_MAX_MESSAGES (%d) "
		       "lets this build index; nothing was changed or lost: run a build with a "
		       "larger CONFIG_NR_QUEUE_MAX_MESSAGES",
		       c->queue_path ? c->queue_path : "ram", CONFIG_NR_QUEUE_MAX_MESSAGES);
		return rc;
	}
	if (rc != 0) {
		nr_err("queue: recovery failed: %s", nr_strerror(rc));
		return rc;
	}
	return 0;
}

static void log_start(const struct nr_daemon *d)
{
	struct nr_qstats st;
	char addr[64];
	size_t i;
	static const char *const tls_names[] = {"plain", "starttls", "implicit"};

	nr_queue_stats(d->queue, &st);
	nr_info("nanorelay %s starting (features: %s)", NR_VERSION, nr_app_features());
	nr_info("queue: %s, %llu bytes, %zu messages pending%s", st.backend,
		(unsigned long long)st.capacity, st.messages,
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

/* AUTH PLAIN/LOGIN against the users file named by the configuration in
 * force (read on every attempt, so `nanorelay passwd` applies at once). */
static int verify_user(void *arg, const char *user, const void *password, size_t pwlen)
{
	const struct nr_daemon *d = arg;

	if (!d->conf->users)
		return NR_EAUTH;
	return nr_users_verify(d->conf->users, user, password, pwlen);
}

/* New mail is durable: delivery looks at the queue right away, at the end
 * of the next (non-waiting) loop turn; kicks are coalesced by the engine. */
static void on_commit(void *arg)
{
	struct nr_daemon *d = arg;

	if (d->delivery)
		nr_delivery_kick(d->delivery);
}

/* Without the submit socket the daemon still relays; `sendmail` then
 * behaves as configured for a missing daemon. So a failure is logged,
 * not fatal. */
static void start_submit(struct nr_daemon *d)
{
	int rc;

	if (!NR_ENABLED(CONFIG_NR_SENDMAIL) || !d->conf->submit_socket)
		return;
	rc = nr_smtpd_submit_start(&d->submit, d->loop, d->smtpd, d->conf->submit_socket);
	if (rc == NR_ENOTSUP)
		return;
	if (rc != 0)
		nr_err("submit socket %s: %s; local sendmail cannot reach the daemon",
		       d->conf->submit_socket, nr_strerror(rc));
	else
		nr_info("local submission on %s", d->conf->submit_socket);
}

static int start(struct nr_daemon *d)
{
	char err[768];
	int rc;

	nr_plat_log_open(d->conf->log_sink, "nanorelay");
	nr_log_set_level(d->conf->log_level);
	/* What --check-config checks: the real cause, before anything fails
	 * on it later under another name. */
	if (nr_conf_check_system(d->conf, err, sizeof(err)) != 0) {
		nr_err("%s", err);
		return EX_CONFIG_;
	}

	rc = nr_loop_new(&d->loop, NR_DAEMON_MAX_IOS, NR_DAEMON_MAX_TIMERS);
	if (rc != 0)
		return EX_OSERR_;
	if (d->conf->state_dir) {
		rc = nr_plat_mkdir_p(d->conf->state_dir, NR_STATE_DIR_MODE, NULL);
		if (rc != 0) {
			nr_err("state_dir %s: %s", d->conf->state_dir, nr_strerror(rc));
			return EX_OSERR_;
		}
	}
	if (open_queue(d) != 0)
		return EX_UNAVAILABLE_;
	if (NR_ENABLED(CONFIG_NR_LAN_TLS) && nr_conf_uses_lan_tls(d->conf)) {
		drop_foreign_generated_key(d->conf);
		/* An explicit lan_cert is never replaced by a generated one. */
		rc = nr_tls_server_ctx_new(&d->lan_tls, d->conf->lan_cert, d->conf->lan_key,
					   d->conf->lines.lan_cert ? NULL : d->conf->state_dir,
					   d->conf->hostname);
		if (rc != 0) {
			nr_err("LAN TLS: cannot load %s / %s: %s", d->conf->lan_cert,
			       d->conf->lan_key, nr_strerror(rc));
			return EX_CONFIG_;
		}
	}
	if (d->conf->smarthost_count > 0) {
		rc = nr_delivery_start(&d->delivery, d->loop, d->conf, d->queue);
		if (rc != 0) {
			nr_err("cannot start delivery: %s", nr_strerror(rc));
			return rc == NR_ENOTFOUND || rc == NR_EINVAL ? EX_CONFIG_ : EX_UNAVAILABLE_;
		}
		nr_queue_on_commit(d->queue, on_commit, d);
	} else {
		nr_warn("no smarthost configured: mail stays queued");
	}
	rc = nr_smtpd_start(&d->smtpd, d->loop, d->conf, d->queue, d->lan_tls);
	if (rc != 0) {
		nr_err("cannot start the listeners: %s", nr_strerror(rc));
		return EX_UNAVAILABLE_;
	}
	if (d->conf->users)
		nr_smtpd_set_auth(d->smtpd, verify_user, d);
	/* Before dropping privileges: the socket lives in state_dir. */
	rc = nr_ctl_start(&d->ctl, d->loop, d->conf, d->queue, d->delivery);
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

static int same_str(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

/* A renewed LAN certificate, or other lan_cert/lan_key files, for new
 * connections; sessions already in TLS keep the one they started with.
 * Read as `user` (never generated here); a failure keeps the one in use. */
static void reload_lan_tls(struct nr_daemon *d, const struct nr_conf *next,
			   const struct nr_conf *old)
{
	struct nr_tls_ctx *ctx = NULL;
	int same;

	if (!d->lan_tls || !nr_conf_uses_lan_tls(next))
		return;
	/* No lan_cert: the generated one, root's 0600, not readable as `user`. */
	same = next->lan_cert ? nr_tls_ctx_file_same(d->lan_tls, next->lan_cert) : NR_ENOTFOUND;
	if (same < 0)
		nr_debug("reload: %s is not readable here; a renewal of it needs a restart",
			 next->lan_cert ? next->lan_cert : "the generated certificate");
	if (same_str(next->lan_cert, old->lan_cert) && same_str(next->lan_key, old->lan_key) &&
	    same != 0)
		return; /* unchanged, or not readable to tell */
	if (nr_tls_server_ctx_new(&ctx, next->lan_cert, next->lan_key, NULL, next->hostname) != 0) {
		nr_warn(
		    "reload: the LAN certificate %s / %s cannot be loaded; the one in use stays",
		    next->lan_cert, next->lan_key);
		return;
	}
	nr_smtpd_set_tls_ctx(d->smtpd, ctx);
	nr_tls_ctx_free(d->lan_tls);
	d->lan_tls = ctx;
	nr_info("reload: LAN certificate loaded from %s", next->lan_cert);
}

/* Add key to the list of changes that wait for a restart ("a, b"). */
static void wait_restart(char *list, size_t size, const char *key)
{
	size_t n = strlen(list);

	snprintf(list + n, size - n, "%s%s", n ? ", " : "", key);
}

/* `users` at a reload: adding it (or another file) turns AUTH on at once,
 * as verify_user reads the file named by the configuration in force. The
 * verifier stays installed once set (a session may be between AUTH and
 * its password), so removing `users` refuses every login at once while
 * AUTH stays offered until a restart. */
static void reload_users(struct nr_daemon *d, const struct nr_conf *next, const struct nr_conf *old,
			 char *restart, size_t size)
{
	if (same_str(next->users, old->users))
		return;
	if (next->users) {
		nr_smtpd_set_auth(d->smtpd, verify_user, d);
		nr_info("reload: AUTH checks passwords against %s", next->users);
	} else {
		nr_warn("reload: users removed: every AUTH is refused; AUTH stays offered until "
			"the next restart");
		wait_restart(restart, size, "users (removed)");
	}
}

/* SIGHUP: parse the file again; a bad file is refused and the old
 * configuration stays in force. Every key applies, except those listed at
 * the end of the reload's log line (each also warned about on its own).
 * Delivery reads the CA file again, the listeners a renewed LAN
 * certificate, AUTH the users file. */
static void reload(struct nr_daemon *d)
{
	char err[512], restart[256] = "";
	struct nr_conf *next = d->conf == d->first ? &d->spare : d->first;
	struct nr_conf *old = d->conf;
	int rc;

	if (nr_conf_load(next, d->conf_path, err, sizeof(err)) != 0) {
		nr_err("reload refused, keeping the running configuration: %s", err);
		nr_conf_free(next);
		return;
	}
	rc = nr_smtpd_reload(d->smtpd, next);
	if (rc != 0) {
		nr_err("reload refused by the listeners, keeping the running configuration: %s",
		       nr_strerror(rc));
		nr_conf_free(next);
		return;
	}
	if (d->delivery) {
		if (next->smarthost_count == 0) {
			nr_warn("reload: no smarthost left; delivery keeps the previous ones until "
				"restart");
			wait_restart(restart, sizeof(restart), "smarthost (removed)");
		} else {
			rc = nr_delivery_reload(d->delivery, next);
			if (rc != 0)
				nr_err("reload: delivery keeps its previous settings: %s",
				       nr_strerror(rc));
		}
	} else if (next->smarthost_count > 0) {
		nr_warn("reload: smarthosts added; delivery starts at the next restart");
		wait_restart(restart, sizeof(restart), "smarthost (added)");
	}
	if (next->queue_kind != old->queue_kind || next->queue_size != old->queue_size ||
	    !same_str(next->queue_path, old->queue_path)) {
		nr_warn("reload: queue changes take effect at the next restart");
		wait_restart(restart, sizeof(restart), "queue");
	}
	if (strcmp(next->control_socket, old->control_socket) != 0) {
		nr_warn("reload: control_socket changes take effect at the next restart");
		wait_restart(restart, sizeof(restart), "control_socket");
	}
	if (strcmp(next->submit_socket, old->submit_socket) != 0) {
		nr_warn("reload: submit_socket changes take effect at the next restart");
		wait_restart(restart, sizeof(restart), "submit_socket");
	}
	reload_lan_tls(d, next, old);
	reload_users(d, next, old, restart, sizeof(restart));
	if (!nr_addr_same(&next->dns_server, &old->dns_server)) {
		nr_warn("reload: dns_server changes take effect at the next restart");
		wait_restart(restart, sizeof(restart), "dns_server");
	}
	if (!same_str(next->user, old->user) || !same_str(next->state_dir, old->state_dir)) {
		nr_warn("reload: user and state_dir changes take effect at the next restart");
		wait_restart(restart, sizeof(restart), "user/state_dir");
	}
	nr_ctl_set_conf(d->ctl, next);
	/* The modules now point into next; the old slot can go. */
	d->conf = next;
	nr_conf_free(old);
	nr_plat_log_open(d->conf->log_sink, "nanorelay");
	nr_log_set_level(d->conf->log_level);
	if (restart[0])
		nr_info("configuration reloaded from %s; waiting for a restart: %s", d->conf_path,
			restart);
	else
		nr_info("configuration reloaded from %s; every change applied", d->conf_path);
}

static void stop(struct nr_daemon *d)
{
	nr_smtpd_submit_stop(d->submit);
	d->submit = NULL;
	if (d->smtpd)
		nr_smtpd_stop(d->smtpd);
	d->smtpd = NULL;
	/* One last turn runs the turn-end hooks: pending group commits finish. */
	if (d->loop)
		(void)nr_loop_turn(d->loop, 0);
	/* After that turn: a send-test commit has called back by now. */
	nr_ctl_stop(d->ctl);
	d->ctl = NULL;
	if (d->delivery) {
		nr_queue_on_commit(d->queue, NULL, NULL);
		nr_delivery_stop(d->delivery);
	}
	d->delivery = NULL;
	if (d->queue)
		nr_queue_close(d->queue);
	d->queue = NULL;
	if (d->bdev_open && d->bdev.close)
		d->bdev.close(&d->bdev);
	d->bdev_open = 0;
	if (d->lan_tls)
		nr_tls_ctx_free(d->lan_tls);
	d->lan_tls = NULL;
	nr_loop_free(d->loop);
	d->loop = NULL;
}

int nr_daemon_run(struct nr_conf *conf, const char *prog, const char *conf_path, int foreground)
{
	struct nr_daemon d;
	int rc;

	memset(&d, 0, sizeof(d));
	d.conf = d.first = conf;
	nr_conf_init(&d.spare);
	d.prog = prog;
	d.conf_path = conf_path;
	rc = start(&d);
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

		rc = nr_loop_turn(d.loop, -1);
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
	nr_conf_free(&d.spare); /* the caller frees *first */
	return rc;
}
