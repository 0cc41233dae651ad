/*
 * check_system.c - what a configuration needs from this machine, checked
 * before the daemon starts (and by --check-config). Each finding names
 * FILE:LINE, the key, what is wrong and the fix: start-up would otherwise
 * fail later, and often name the wrong cause (an unknown user as
 * "state_dir: not found", a missing lan_cert silently replaced by a
 * generated certificate). A front-end file: it asks the POSIX shim about
 * users and file modes.
 */
#include <stdarg.h>
#include <stdio.h>

#include "app/check_system.h"
#include "conf/conf.h"
#include "core/addr.h"
#include "posix.h"

/* ---- the machine ---------------------------------------------------------------- */

struct check {
	const struct nr_conf *c;
	char *err;
	size_t size;
};

NR_PRINTF(4, 5)
static int fail(struct check *k, int line, const char *key, const char *fmt, ...)
{
	va_list ap;
	size_t n;
	int w;
	const char *path = k->c->path ? k->c->path : "(config)";

	if (k->err == NULL || k->size == 0)
		return NR_EINVAL;
	if (line > 0)
		w = snprintf(k->err, k->size, "%s:%d: %s: ", path, line, key);
	else
		w = snprintf(k->err, k->size, "%s: %s (default): ", path, key);
	n = w < 0 ? 0 : (size_t)w;
	va_start(ap, fmt);
	if (n < k->size)
		vsnprintf(k->err + n, k->size - n, fmt, ap);
	va_end(ap);
	return NR_EINVAL;
}

/* A file read at start as root: it must be there. */
static int need_file(struct check *k, int line, const char *key, const char *path, const char *fix)
{
	int rc = nr_plat_file_is_exposed(path, NULL);

	if (rc >= 0)
		return 0;
	return fail(k, line, key, "%s: %s; %s", path, nr_strerror(rc), fix);
}

/* A secret read after the privilege drop: `user` must be able to read it. */
static int need_readable(struct check *k, int line, const char *key, const char *what,
			 const char *path)
{
	const char *u = k->c->user;
	int rc;

	if (path == NULL || u == NULL)
		return 0;
	rc = nr_plat_file_readable_as(path, u);
	if (rc != NR_EPERM)
		return 0; /* readable, missing (reported elsewhere) or cannot tell */
	return fail(k, line, key,
		    "%s %s cannot be read by user %s, whom the daemon runs as; chgrp %s %s && "
		    "chmod 640 %s",
		    what, path, u, u, path, path);
}

static int check_user(struct check *k)
{
	const struct nr_conf *c = k->c;
	int rc;

	if (c->user == NULL)
		return 0;
	rc = nr_plat_user_exists(c->user);
	if (rc != NR_ENOTFOUND)
		return 0;
	return fail(k, c->lines.user, "user",
		    "no such user \"%s\"; create it (useradd --system --home-dir /nonexistent "
		    "--shell /usr/sbin/nologin %s) or name an existing one",
		    c->user, c->user);
}

static int check_files(struct check *k)
{
	const struct nr_conf *c = k->c;
	size_t i;
	int rc = 0;

	if (c->ca_file != NULL && c->smarthost_count > 0)
		rc = need_file(k, c->lines.ca_file, "ca_file", c->ca_file,
			       "fix the path, or remove the line to use the system's CA "
			       "certificates");
	if (rc == 0 && c->lines.lan_cert != 0 && nr_conf_uses_lan_tls(c)) {
		rc = need_file(k, c->lines.lan_cert, "lan_cert", c->lan_cert,
			       "fix the path, or remove lan_cert and lan_key to have a "
			       "certificate generated in state_dir");
		if (rc == 0)
			rc = need_file(k, c->lines.lan_cert, "lan_key", c->lan_key,
				       "fix the path, or remove lan_cert and lan_key to have a "
				       "certificate generated in state_dir");
	}
	for (i = 0; rc == 0 && i < c->smarthost_count; i++) {
		rc = need_readable(k, c->smarthost[i].line, "smarthost", "password_file",
				   c->smarthost[i].password_file);
		if (rc == 0)
			rc = need_readable(k, c->smarthost[i].line, "smarthost", "oauth_token_file",
					   c->smarthost[i].oauth_token_file);
	}
	if (rc == 0 && c->users != NULL)
		rc = need_readable(k, c->lines.users, "users", "the users file", c->users);
	return rc;
}

static int check_queue(struct check *k)
{
	const struct nr_conf *c = k->c;

	if (c->queue_kind != NR_QUEUE_FILE || c->queue_path == NULL ||
	    nr_plat_path_writable(c->queue_path) != NR_EROFS)
		return 0;
	return fail(k, c->lines.queue, "queue",
		    "%s is on a read-only file system; put the queue on a writable one, like "
		    "file:/var/spool/nanorelay/queue",
		    c->queue_path);
}

static int check_listen(struct check *k)
{
	const struct nr_conf *c = k->c;
	char ip[48];
	size_t i;

	for (i = 0; i < c->listen_count; i++) {
		if (nr_plat_addr_is_local(&c->listen[i].addr) != NR_EADDRNOTAVAIL)
			continue;
		return fail(k, c->listen[i].line, "listen",
			    "%s is not an address of this machine; use one of its addresses, or "
			    "%s to listen on all of them",
			    nr_addr_ntop(&c->listen[i].addr, ip, sizeof(ip)),
			    c->listen[i].addr.family == NR_AF_INET6 ? "[::]" : "0.0.0.0");
	}
	return 0;
}

int nr_conf_check_system(const struct nr_conf *c, char *err, size_t err_size)
{
	struct check k = {c, err, err_size};
	int rc;

	if (err != NULL && err_size > 0)
		err[0] = '\0';
	if ((rc = check_user(&k)) != 0 || (rc = check_files(&k)) != 0 ||
	    (rc = check_queue(&k)) != 0 || (rc = check_listen(&k)) != 0)
		return rc;
	return 0;
}
