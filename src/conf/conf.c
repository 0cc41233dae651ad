/*
 * conf.c - defaults, release, and loading the file through the platform.
 *
 * The defaults live in static storage so nr_conf_init() cannot fail and
 * allocates nothing; nr_conf_free() knows those pointers and never frees
 * them. The parser (conf_parse.c) replaces a default with an allocated
 * value the first time the file sets it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acl/acl.h"
#include "conf/conf.h"
#include "conf/conf_int.h"
#include "core/log.h"
#include "core/mem.h"

#define CONF_FILE_MAX (1024 * 1024)

static char default_hostname[] = "localhost";
static char default_queue_file[] = "/var/spool/nanorelay/queue";
static char default_state_dir[] = NR_CONF_DEFAULT_STATE_DIR;
static char default_control_socket[] = NR_CONF_DEFAULT_STATE_DIR "/control";
static char default_submit_socket[] = NR_CONF_DEFAULT_STATE_DIR "/submit";
static char default_lan_cert[] = NR_CONF_DEFAULT_STATE_DIR "/lan.crt";
static char default_lan_key[] = NR_CONF_DEFAULT_STATE_DIR "/lan.key";

/* Loopback only: 127.0.0.1:25 and [::1]:25; relay for 127.0.0.0/8 and ::1. */
static struct nr_conf_listen default_listen[] = {
    {.addr = {.family = NR_AF_INET4, .port = 25, .ip = {127, 0, 0, 1}},
     .tls = NR_TLS_NONE,
     .auth = NR_AUTH_OPTIONAL},
    {.addr = {.family = NR_AF_INET6, .port = 25, .ip = {[15] = 1}},
     .tls = NR_TLS_NONE,
     .auth = NR_AUTH_OPTIONAL},
};
static struct nr_cidr default_allow[] = {
    {.net = {.family = NR_AF_INET4, .ip = {127}}, .prefix = 8},
    {.net = {.family = NR_AF_INET6, .ip = {[15] = 1}}, .prefix = 128},
};

int nr_conf_is_default_str(const char *s)
{
	return s == default_hostname || s == default_queue_file || s == default_state_dir ||
	       s == default_control_socket || s == default_submit_socket || s == default_lan_cert ||
	       s == default_lan_key;
}

void nr_conf_free_str(char **s)
{
	if (*s != NULL && !nr_conf_is_default_str(*s))
		nr_free(*s);
	*s = NULL;
}

void nr_conf_init(struct nr_conf *c)
{
	size_t ip_count = NR_ENABLED(CONFIG_NR_IPV6) ? 2 : 1;

	memset(c, 0, sizeof(*c));
	c->listen = default_listen;
	c->listen_count = ip_count;
	c->allow = default_allow;
	c->allow_count = ip_count;
	c->hostname = default_hostname;
	c->lan_cert = default_lan_cert;
	c->lan_key = default_lan_key;
	c->max_message_size = 25u * 1024 * 1024;
	c->max_recipients = 100;
	c->max_recipient_overshoot = 1000;
	c->max_sessions = CONFIG_NR_MAX_SESSIONS;
	/* A printer or a script needs a few; a burst from one address must not
	 * starve the others. The Kconfig value is only the ceiling. */
	c->max_sessions_per_client = NR_MIN(16u, (unsigned)CONFIG_NR_MAX_SESSIONS_PER_CLIENT);
	/* scripts run sendmail in parallel (50 at once is tested) */
	c->max_local_sessions = NR_MIN(64u, (unsigned)CONFIG_NR_MAX_LOCAL_SESSIONS);
	c->max_header_size = 64 * 1024;
	/* Each handshake holds about 30 KB of heap; the Kconfig value is only
	 * the ceiling. */
	c->max_tls_handshakes = NR_MIN(8u, (unsigned)CONFIG_NR_MAX_TLS_HANDSHAKES);
	/* a quarter of the slots: one client cannot hold them all */
	c->max_tls_handshakes_per_client = NR_MIN(2u, (unsigned)CONFIG_NR_MAX_TLS_HANDSHAKES);
	c->auth_failures_per_user = NR_ACL_AUTH_FREE;
	c->auth_failures_per_client = NR_ACL_AUTH_FREE_CLIENT;
	c->auth_max_per_second = NR_ACL_AUTH_PER_SECOND;
	c->auth_max_pending = NR_MIN(8u, (unsigned)CONFIG_NR_MAX_SESSIONS);
	c->max_idle_commands = 100; /* Postfix's smtpd_junk_command_limit */
	c->max_idle_time_ms = 10 * 60 * 1000;
	c->max_errors = 10;
	c->max_received = 30;
	c->min_data_rate = 1024;
	c->command_timeout_ms = 5 * 60 * 1000;
	c->tls_handshake_timeout_ms = 30 * 1000;
	c->bare_lf = NR_BARE_LF_NORMALIZE;

	if (NR_ENABLED(CONFIG_NR_STORE_FILE)) {
		c->queue_kind = NR_QUEUE_FILE;
		c->queue_path = default_queue_file;
		c->queue_size = 16u * 1024 * 1024;
	} else if (NR_ENABLED(CONFIG_NR_STORE_RAM)) {
		c->queue_kind = NR_QUEUE_RAM;
		c->queue_size = 2u * 1024 * 1024;
	} else {
		c->queue_kind = NR_QUEUE_FLASH; /* the whole flash region */
	}
	c->state_dir = default_state_dir;
	/* a message the queue can never hold would only ever get 552 */
	if (c->queue_size != 0 && c->max_message_size > c->queue_size)
		c->max_message_size = c->queue_size;

	c->from_rewrite = NR_FROM_REWRITE_AUTO;
	c->retry_min_ms = 60 * 1000;
	c->retry_max_ms = 3600 * 1000;
	c->upstream_timeout_ms = 600 * 1000;
	c->upstream_connections = NR_MIN(4, CONFIG_NR_MAX_UPSTREAM_CONNECTIONS);
	c->max_age_ms = 5ull * 86400 * 1000;
	c->dns_server.family = NR_AF_NONE;
	c->log_sink = NR_LOG_SINK_SYSLOG;
	c->log_level = NR_LOG_INFO;
	c->control_socket = default_control_socket;
	c->submit_socket = default_submit_socket;
	c->sendmail_no_daemon = NR_NO_DAEMON_DIRECT;
}

void nr_conf_drop_listeners(struct nr_conf *c)
{
	size_t i;

	if (c->listen != default_listen) {
		for (i = 0; i < c->listen_count; i++) {
			nr_free(c->listen[i].plain_auth);
			nr_free(c->listen[i].legacy_tls);
		}
		nr_free(c->listen);
	}
	c->listen = NULL;
	c->listen_count = 0;
}

void nr_conf_set_ram_queue(struct nr_conf *c, uint64_t size)
{
	nr_conf_free_str(&c->queue_path);
	c->queue_kind = NR_QUEUE_RAM;
	c->queue_size = size;
}

void nr_conf_free(struct nr_conf *c)
{
	size_t i;

	if (c == NULL)
		return;
	nr_conf_drop_listeners(c);
	if (c->allow != default_allow)
		nr_free(c->allow);
	for (i = 0; i < c->smarthost_count; i++) {
		struct nr_conf_smarthost *s = &c->smarthost[i];
		nr_free(s->host);
		nr_free(s->user);
		nr_free(s->password_file);
		nr_free(s->oauth_token_file);
		nr_free(s->auth_mech);
		nr_conf_oauth2_free(s->oauth2);
	}
	nr_free(c->smarthost);
	for (i = 0; i < c->alias_count; i++) {
		nr_free(c->alias[i].from);
		nr_free(c->alias[i].to);
	}
	nr_free(c->alias);
	nr_conf_free_str(&c->path);
	nr_conf_free_str(&c->hostname);
	nr_conf_free_str(&c->lan_cert);
	nr_conf_free_str(&c->lan_key);
	nr_conf_free_str(&c->users);
	nr_conf_free_str(&c->queue_path);
	nr_conf_free_str(&c->state_dir);
	nr_conf_free_str(&c->ca_file);
	nr_conf_free_str(&c->sender);
	nr_conf_free_str(&c->admin);
	nr_conf_free_str(&c->user);
	nr_conf_free_str(&c->control_socket);
	nr_conf_free_str(&c->submit_socket);
	/* leave a struct that is safe to free again and to read */
	nr_conf_init(c);
}

int nr_conf_load(struct nr_conf *c, const char *path, char *err, size_t err_size)
{
	char *text = NULL;
	size_t len = 0;
	int rc;

	nr_conf_init(c);
	rc = nr_plat_file_read(path, CONF_FILE_MAX, &text, &len);
	if (rc != 0) {
		if (err != NULL && err_size > 0)
			snprintf(err, err_size, "%s: cannot read: %s", path,
				 rc == NR_ETOOBIG ? "larger than 1 MiB" : nr_strerror(rc));
		return rc < 0 ? rc : NR_EIO;
	}
	rc = nr_conf_parse(c, path, text, len, err, err_size);
	nr_free(text);
	return rc;
}
