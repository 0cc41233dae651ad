/*
 * embed_reload.c - a new configuration while running (the daemon's SIGHUP,
 * nr_relay_reload), and AUTH against the configuration in force.
 *
 * A bad configuration is refused and the old one stays in force. Every key
 * applies, except those listed at the end of the reload's log line (each
 * also warned about on its own). Delivery reads the CA file again, the
 * listeners a renewed LAN certificate, AUTH the users file.
 */
#include <stdio.h>
#include <string.h>

#include "core/log.h"
#include "delivery/delivery.h"
#include "embed/embed_int.h"
#include "smtpd/smtpd.h"
#include "tls/tls.h"
#include "users/users.h"

/* AUTH PLAIN/LOGIN: the program's verifier, else the users file named by
 * the configuration in force (read on every attempt, so `nanorelay
 * passwd` applies at once). */
int nr_relay_verify_user(void *arg, const char *user, const void *password, size_t pwlen)
{
	const struct nr_relay *r = arg;

	if (r->auth_fn)
		return r->auth_fn(r->auth_arg, user, password, pwlen);
	if (!r->conf->users)
		return NR_EAUTH;
	return nr_users_verify(r->conf->users, user, password, pwlen);
}

static int same_str(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

/* A renewed LAN certificate, or other lan_cert/lan_key files, for new
 * connections; sessions already in TLS keep the one they started with.
 * Read as `user` (never generated here); a failure keeps the one in use. */
static void reload_lan_tls(struct nr_relay *r, const struct nr_conf *next,
			   const struct nr_conf *old)
{
	struct nr_tls_ctx *ctx = NULL;
	int same;

	if (!r->lan_tls || !nr_conf_uses_lan_tls(next))
		return;
	/* No lan_cert: the generated one, root's 0600, not readable as `user`. */
	same = next->lan_cert ? nr_tls_ctx_file_same(r->lan_tls, next->lan_cert) : NR_ENOTFOUND;
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
	nr_smtpd_set_tls_ctx(r->smtpd, ctx);
	nr_tls_ctx_free(r->lan_tls);
	r->lan_tls = ctx;
	nr_info("reload: LAN certificate loaded from %s", next->lan_cert);
}

/* Add key to the list of changes that wait for a restart ("a, b"). */
static void wait_restart(char *list, size_t size, const char *key)
{
	size_t n = strlen(list);

	snprintf(list + n, size - n, "%s%s", n ? ", " : "", key);
}

/* `users` at a reload: adding it (or another file) turns AUTH on at once,
 * as the verifier reads the file named by the configuration in force. The
 * verifier stays installed once set (a session may be between AUTH and
 * its password), so removing `users` refuses every login at once while
 * AUTH stays offered until a restart. */
static void reload_users(struct nr_relay *r, const struct nr_conf *next, const struct nr_conf *old,
			 char *restart, size_t size)
{
	if (same_str(next->users, old->users))
		return;
	if (next->users) {
		nr_smtpd_set_auth(r->smtpd, nr_relay_verify_user, r);
		nr_info("reload: AUTH checks passwords against %s", next->users);
	} else {
		nr_warn("reload: users removed: every AUTH is refused; AUTH stays offered until "
			"the next restart");
		wait_restart(restart, size, "users (removed)");
	}
}

/* Delivery takes the new smarthosts; starting or stopping it waits for a
 * restart. */
static void reload_delivery(struct nr_relay *r, const struct nr_conf *next, char *restart,
			    size_t size)
{
	int rc;

	if (r->delivery) {
		if (next->smarthost_count == 0) {
			nr_warn("reload: no smarthost left; delivery keeps the previous ones until "
				"restart");
			wait_restart(restart, size, "smarthost (removed)");
		} else {
			rc = nr_delivery_reload(r->delivery, next);
			if (rc != 0)
				nr_err("reload: delivery keeps its previous settings: %s",
				       nr_strerror(rc));
		}
	} else if (next->smarthost_count > 0) {
		nr_warn("reload: smarthosts added; delivery starts at the next restart");
		wait_restart(restart, size, "smarthost (added)");
	}
}

/* Keys read only at start (each warned about and listed): where the
 * queue and the local sockets are ... */
static void note_restart_places(const struct nr_conf *next, const struct nr_conf *old,
				char *restart, size_t size)
{
	if (next->queue_kind != old->queue_kind || next->queue_size != old->queue_size ||
	    !same_str(next->queue_path, old->queue_path)) {
		nr_warn("reload: queue changes take effect at the next restart");
		wait_restart(restart, size, "queue");
	}
	if (strcmp(next->control_socket, old->control_socket) != 0) {
		nr_warn("reload: control_socket changes take effect at the next restart");
		wait_restart(restart, size, "control_socket");
	}
	if (strcmp(next->submit_socket, old->submit_socket) != 0) {
		nr_warn("reload: submit_socket changes take effect at the next restart");
		wait_restart(restart, size, "submit_socket");
	}
}

/* ... and the resolver, the user and state_dir. */
static void note_restart_process(const struct nr_conf *next, const struct nr_conf *old,
				 char *restart, size_t size)
{
	if (!nr_addr_same(&next->dns_server, &old->dns_server)) {
		nr_warn("reload: dns_server changes take effect at the next restart");
		wait_restart(restart, size, "dns_server");
	}
	if (!same_str(next->user, old->user) || !same_str(next->state_dir, old->state_dir)) {
		nr_warn("reload: user and state_dir changes take effect at the next restart");
		wait_restart(restart, size, "user/state_dir");
	}
}

int nr_relay_reload_conf(struct nr_relay *r, struct nr_conf *parsed)
{
	char restart[256] = "";
	struct nr_conf *next = r->conf == &r->slot[0] ? &r->slot[1] : &r->slot[0];
	struct nr_conf *old = r->conf;
	int rc;

	nr_conf_free(next);
	*next = *parsed;
	nr_conf_init(parsed);
	if (!r->running) {
		/* not started: nothing points into the old one yet */
		r->conf = next;
		nr_conf_free(old);
		return 0;
	}
	rc = nr_smtpd_reload(r->smtpd, next);
	if (rc != 0) {
		nr_err("reload refused by the listeners, keeping the running configuration: %s",
		       nr_strerror(rc));
		nr_conf_free(next);
		return rc;
	}
	reload_delivery(r, next, restart, sizeof(restart));
	note_restart_places(next, old, restart, sizeof(restart));
	reload_lan_tls(r, next, old);
	reload_users(r, next, old, restart, sizeof(restart));
	note_restart_process(next, old, restart, sizeof(restart));
	if (r->reload_hook)
		r->reload_hook(r->reload_arg, next);
	/* The modules now point into next; the old slot can go. */
	r->conf = next;
	nr_conf_free(old);
	nr_log_set_level(r->conf->log_level);
	if (restart[0])
		nr_info("configuration reloaded%s%s; waiting for a restart: %s",
			r->source ? " from " : "", r->source ? r->source : "", restart);
	else
		nr_info("configuration reloaded%s%s; every change applied",
			r->source ? " from " : "", r->source ? r->source : "");
	return 0;
}

int nr_relay_reload(struct nr_relay *r, const char *config, size_t len, char *err, size_t err_size)
{
	struct nr_conf c;
	char msg[512];
	int rc;

	rc = nr_conf_parse_text(&c, config, len, msg, sizeof(msg));
	if (rc != 0) {
		if (r->running)
			nr_err("reload refused, keeping the running configuration: %s", msg);
		if (err != NULL && err_size > 0)
			snprintf(err, err_size, "%s", msg);
		return rc;
	}
	rc = nr_relay_reload_conf(r, &c);
	if (rc != 0 && err != NULL && err_size > 0)
		snprintf(err, err_size, "the listeners refused it: %s", nr_strerror(rc));
	return rc;
}

void nr_relay_on_reload(struct nr_relay *r, void (*fn)(void *arg, const struct nr_conf *next),
			void *arg)
{
	r->reload_hook = fn;
	r->reload_arg = arg;
}
