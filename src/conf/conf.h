/*
 * conf.h - the runtime configuration (/etc/nanorelay.conf).
 *
 * One setting per line, `key value...`; `#` starts a comment; options on a
 * line are name=value; sizes take K/M/G, durations s/m/h/d. Every error is
 * reported as "FILE:LINE: what was expected" and the caller exits 78
 * (EX_CONFIG). The key names are a user interface: see DESIGN.md and
 * configs/nanorelay.conf, which documents every key.
 *
 * A struct nr_conf owns all its strings; nr_conf_free releases them (safe
 * after nr_conf_init and twice). Parsing never touches the network.
 */
#ifndef NR_CONF_CONF_H
#define NR_CONF_CONF_H

#include <stddef.h>
#include <stdint.h>

#include "core/addr.h" /* nr_addr_same, nr_addr_ntop for the users of these types */
#include "core/build.h"
#include "platform.h"

enum nr_tls_mode { NR_TLS_NONE = 0, NR_TLS_STARTTLS = 1, NR_TLS_IMPLICIT = 2 };
enum nr_auth_policy { NR_AUTH_OFF = 0, NR_AUTH_OPTIONAL = 1, NR_AUTH_REQUIRED = 2 };
enum nr_bare_lf { NR_BARE_LF_NORMALIZE = 0, NR_BARE_LF_REJECT = 1 };
enum nr_queue_kind { NR_QUEUE_RAM = 0, NR_QUEUE_FILE = 1, NR_QUEUE_MTD = 2, NR_QUEUE_FLASH = 3 };
enum nr_no_daemon { NR_NO_DAEMON_DIRECT = 0, NR_NO_DAEMON_FAIL = 1 };
/* from_rewrite auto|off|on: auto (0, so a zeroed smarthost follows the
 * global setting) means "on for an account at a provider that enforces the
 * header From"; rewrite/provider.h decides per smarthost. */
enum { NR_FROM_REWRITE_AUTO = 0, NR_FROM_REWRITE_OFF = 1, NR_FROM_REWRITE_ON = 2 };

enum nr_oauth2_provider {
	NR_OAUTH2_MICROSOFT = 0,
	NR_OAUTH2_GOOGLE = 1,
	NR_OAUTH2_CUSTOM = 2,
};
enum nr_oauth2_grant { NR_OAUTH2_CLIENT_CREDENTIALS = 0, NR_OAUTH2_REFRESH_TOKEN = 1 };

/* A smarthost's built-in OAuth2 (oauth2= and its oauth2_* options). The
 * presets have filled in the endpoints and the scope by the time the
 * parser hands this out, so users of it never look at the provider to
 * find a URL. Every URL is https://. */
struct nr_conf_oauth2 {
	enum nr_oauth2_provider provider;
	enum nr_oauth2_grant grant;
	char *client_id;
	char *client_secret_file; /* NULL: a public client (no secret) */
	char *tenant;             /* Microsoft only, else NULL */
	char *scope;              /* space-separated scope tokens */
	char *token_url;
	char *device_url; /* NULL: no device flow; login uses auth_url with PKCE */
	char *auth_url;   /* NULL: no authorisation-code flow */
};

/* An address block: family, prefix bits and the network address. */
struct nr_cidr {
	struct nr_addr net; /* port unused */
	uint8_t prefix;     /* 0..32 or 0..128 */
};

struct nr_conf_listen {
	struct nr_addr addr;
	enum nr_tls_mode tls;
	enum nr_auth_policy auth;   /* default: optional */
	struct nr_cidr *plain_auth; /* networks allowed AUTH without TLS */
	size_t plain_auth_count;
	struct nr_cidr *legacy_tls; /* networks allowed TLS 1.0/1.1 */
	size_t legacy_tls_count;
	int line; /* where it was configured */
};

struct nr_conf_smarthost {
	char *host; /* name or literal address */
	uint16_t port;
	enum nr_tls_mode tls;
	int insecure;        /* insecure=yes: required for tls=none */
	char *user;          /* NULL: no AUTH */
	char *password_file; /* read at connect time, never logged */
	char *oauth_token_file;
	char *auth_mech;               /* NULL: best offered; else PLAIN|LOGIN|CRAM-MD5|XOAUTH2 */
	struct nr_conf_oauth2 *oauth2; /* NULL: no built-in OAuth2 */
	int from_rewrite;              /* NR_FROM_REWRITE_*: from_rewrite=on|off, else auto */
	int line;
};

struct nr_conf_alias {
	char *from; /* "root", "*@nas.lan", "user@dom" */
	char *to;
	int line;
};

/* The line each of these keys was set on (0: not in the file, the
 * default), for what is checked after parsing (nr_conf_check_system, app/check_system.h). */
struct nr_conf_lines {
	int user, ca_file, lan_cert, queue, users, state_dir;
};

struct nr_conf {
	char *path; /* the file this came from */
	struct nr_conf_lines lines;

	struct nr_conf_listen *listen;
	size_t listen_count;
	struct nr_cidr *allow;
	size_t allow_count;
	char *hostname;
	char *lan_cert;
	char *lan_key;
	char *users;
	uint64_t max_message_size;        /* bytes; default 25M, or the queue size if smaller */
	unsigned max_recipients;          /* default 100, at most CONFIG_NR_MAX_RECIPIENTS */
	unsigned max_recipient_overshoot; /* 452s before each counts as an error, default 1000 */
	unsigned max_sessions;            /* default CONFIG_NR_MAX_SESSIONS */
	unsigned max_sessions_per_client;
	unsigned max_local_sessions; /* submit-socket sessions, on their own; default 64 */
	uint64_t max_header_size;    /* default 64K */
	unsigned max_tls_handshakes; /* TLS handshakes in flight, default 8 */
	unsigned max_tls_handshakes_per_client; /* ... from one client address, default 2 */
	unsigned auth_failures_per_user;   /* AUTH: free failures per (client, user), default 3 */
	unsigned auth_failures_per_client; /* AUTH: free failures per client (/64), default 10 */
	unsigned auth_max_per_second;      /* AUTH verifications per second in total, default 10 */
	unsigned auth_max_pending;         /* AUTH verifications waiting in total, default 8 */
	unsigned max_idle_commands;        /* NOOP/RSET/HELP/VRFY without MAIL, default 100 */
	uint64_t max_idle_time_ms;         /* the same loop's time without MAIL, default 10m */
	unsigned max_errors;               /* hard error limit per session, default 10 */
	unsigned max_received;             /* loop detection: Received: headers, default 30 */
	uint64_t min_data_rate;            /* bytes/s averaged over DATA; default 1K */
	uint64_t command_timeout_ms;       /* default 5m */
	uint64_t tls_handshake_timeout_ms; /* default 30s */
	enum nr_bare_lf bare_lf;

	enum nr_queue_kind queue_kind;
	char *queue_path;    /* file/mtd path; NULL for ram */
	uint64_t queue_size; /* bytes */
	char *state_dir;

	struct nr_conf_smarthost *smarthost;
	size_t smarthost_count;
	char *ca_file;
	char *sender;
	int from_rewrite; /* NR_FROM_REWRITE_*, default auto */
	struct nr_conf_alias *alias;
	size_t alias_count;
	char *admin;
	uint64_t retry_min_ms;         /* default 1m */
	uint64_t retry_max_ms;         /* default 1h */
	uint64_t max_age_ms;           /* default 5d */
	uint64_t upstream_timeout_ms;  /* default 10m: cap on each smarthost deadline */
	unsigned upstream_connections; /* default 4: parallel connections per smarthost */
	struct nr_addr dns_server;     /* family NR_AF_NONE: system resolver */

	enum nr_log_sink log_sink;
	enum nr_log_level log_level;
	char *user;           /* drop privileges to this user */
	char *control_socket; /* default <state_dir>/control */
	char *submit_socket;  /* sendmail submission, default <state_dir>/submit */
	enum nr_no_daemon sendmail_no_daemon;
};

/* All defaults. Allocates nothing (defaults are static, read-only storage),
 * so an inited struct needs no free, though freeing it is fine. */
void nr_conf_init(struct nr_conf *c);
void nr_conf_free(struct nr_conf *c);
/* For a relay that gets its mail from its own program (sendmail without a
 * daemon, nr_relay_new_private): free the `listen` lines (none is left),
 * and put the queue in size bytes of RAM instead of the `queue` key's. */
void nr_conf_drop_listeners(struct nr_conf *c);
void nr_conf_set_ram_queue(struct nr_conf *c, uint64_t size);

/*
 * Parse text (len bytes, need not be NUL-terminated) as if read from path.
 * *c is output only: whatever it held is overwritten, not freed (free a
 * loaded configuration first; parse into a second struct to reload).
 * On error returns NR_EINVAL (NR_ENOMEM when memory ran out) and writes
 * "path:line: message" into err (err_size bytes, always terminated; err may
 * be NULL); *c is then left freed-and-inited. Warnings (e.g. a secret file
 * readable by others, a missing oauth_token_file) go to the log. Checks
 * files with the file probe (nr_conf_set_file_probe); a missing
 * password_file is an error.
 */
int nr_conf_parse(struct nr_conf *c, const char *path, const char *text, size_t len, char *err,
		  size_t err_size) NR_MUST_CHECK;

/* The same for text that comes from no file (the embedding API,
 * include/nanorelay.h): the keys and messages are the file's, but an error
 * reads "LINE: message" and c->path is NULL. */
int nr_conf_parse_text(struct nr_conf *c, const char *text, size_t len, char *err,
		       size_t err_size) NR_MUST_CHECK;

/* Read path (at most 1 MiB) through the platform and parse it. Unreadable
 * file: the platform's code (NR_ENOTFOUND, NR_EPERM, NR_ETOOBIG, NR_EIO) and
 * "path: cannot read: reason". The caller exits 78 (EX_CONFIG) on any error. */
int nr_conf_load(struct nr_conf *c, const char *path, char *err, size_t err_size) NR_MUST_CHECK;

/*
 * How the parser looks at a file the configuration names (password_file,
 * users, ca_file, lan_cert, ...): the answer of nr_plat_file_is_exposed
 * (posix.h): 1 readable by others than root and user (NULL: by group or
 * others), 0 private, negative (an NR_E... code) when it cannot be read.
 * A front end on a POSIX system sets it once before the first parse; with
 * none (an RTOS: the board's named blobs have no modes or owners) the
 * parser looks at no file, and warns about none. Not thread-safe: set it
 * before any parse.
 */
typedef int (*nr_conf_file_probe_fn)(const char *path, const char *user);
void nr_conf_set_file_probe(nr_conf_file_probe_fn probe);

/* 1 when a listener has tls= (the LAN certificate is needed), else 0. */
int nr_conf_uses_lan_tls(const struct nr_conf *c);

/* Helpers shared with other modules (the same syntax as the file): 0 or
 * NR_EINVAL; overflow is NR_EINVAL, never a wrapped value. IPv4 is a strict
 * dotted quad, IPv6 needs [brackets] when a port follows, a CIDR with host
 * bits set is refused, and an IPv4-mapped block (::ffff:a.b.c.d/N, N >= 96)
 * is stored as the IPv4 block. nr_cidr_contains: 1 or 0; a v4 peer matches
 * a v6 block only inside ::ffff:0:0/96; a mapped v6 peer matches v4 blocks. */
int nr_conf_parse_size(const char *s, uint64_t *out);        /* 25M, 512K, 1G, 100 */
int nr_conf_parse_duration(const char *s, uint64_t *out_ms); /* 30s 5m 1h 5d, bare = seconds */
/* "1.2.3.4:25", "[::1]:587", "0.0.0.0:25"; default_port when omitted (0: required). */
int nr_conf_parse_hostport(const char *s, struct nr_addr *out, uint16_t default_port);
int nr_conf_parse_cidr(const char *s, struct nr_cidr *out);
int nr_cidr_contains(const struct nr_cidr *c, const struct nr_addr *a);

#endif /* NR_CONF_CONF_H */
