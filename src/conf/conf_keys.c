/*
 * conf_keys.c - one handler per configuration key, and the table that names
 * them. Each handler checks its values completely and says what it expected
 * (through the value readers of conf_get.c); checks that span several keys
 * are in conf_parse.c (finish).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf.h"
#include "conf/conf_int.h"
#include "core/ascii.h"
#include "core/log.h"
#include "core/mem.h"
#include "proto/proto.h"

/* ---- small value helpers --------------------------------------------------------- */

/* A DNS name: labels of letters, digits and inner hyphens, 1-63 each, at
 * most 253 in all (RFC 1035 2.3.1, relaxed by RFC 1123 to leading digits). */
static int valid_domain(const char *s, size_t len)
{
	size_t i, label = 0;

	if (len == 0 || len > 253)
		return 0;
	for (i = 0; i < len; i++) {
		int ch = (unsigned char)s[i];
		if (ch == '.') {
			if (label == 0 || s[i - 1] == '-')
				return 0;
			label = 0;
			continue;
		}
		if (!nr_ascii_isalnum(ch) && !(ch == '-' && label > 0))
			return 0;
		if (++label > 63)
			return 0;
	}
	return label > 0 && s[len - 1] != '-';
}

/* RFC 5322 dot-atom text: the local part of an address, ASCII only. */
static int valid_local_part(const char *s, size_t len)
{
	return len <= 64 && nr_is_dot_atom(s, len);
}

static int valid_mailbox(const char *s)
{
	const char *at = strrchr(s, '@');

	if (at == NULL || strlen(s) > 254)
		return 0;
	return valid_local_part(s, (size_t)(at - s)) && valid_domain(at + 1, strlen(at + 1));
}

static int valid_user_name(const char *s)
{
	size_t i, len = strlen(s);

	if (len == 0 || len > 32 || s[0] == '-')
		return 0;
	for (i = 0; i < len; i++) {
		if (!nr_ascii_isalnum((unsigned char)s[i]) && s[i] != '_' && s[i] != '-' &&
		    s[i] != '.')
			return 0;
	}
	return 1;
}

/* ---- the keys ---------------------------------------------------------------------- */

static const char *const tls_words[] = {"none", "starttls", "implicit", NULL};
static const char *const auth_words[] = {"off", "optional", "required", NULL};

static int k_listen(struct nr_conf_parser *p, struct nr_conf_line *l)
{
	struct nr_conf *c = p->c;
	struct nr_conf_listen ls, *grown;
	enum nr_conf_why why;
	const char *v;
	int word, rc = 0;
	size_t i;

	if (!p->listen_set) {
		c->listen = NULL;
		c->listen_count = 0;
		p->listen_set = 1;
	}
	memset(&ls, 0, sizeof(ls));
	ls.line = p->line;
	ls.auth = NR_AUTH_OPTIONAL;
	why = nr_conf_hostport_parse(l->arg[0], &ls.addr, 25);
	if (why != NR_CONF_WHY_OK)
		return nr_conf_why_fail(p, why, l->arg[0],
					"an address and port like 0.0.0.0:25 or [::]:587");
	if ((v = nr_conf_opt_get(l, "tls")) != NULL) {
		p->sub = "tls";
		if ((rc = nr_conf_get_word(p, v, tls_words, "none, starttls or implicit", &word)) !=
		    0)
			goto out;
		ls.tls = (enum nr_tls_mode)word;
		if (ls.tls != NR_TLS_NONE && !NR_ENABLED(CONFIG_NR_LAN_TLS)) {
			rc = nr_conf_fail(
			    p, "TLS on listeners is not in this build (CONFIG_NR_LAN_TLS)");
			goto out;
		}
	}
	if ((v = nr_conf_opt_get(l, "auth")) != NULL) {
		p->sub = "auth";
		if ((rc = nr_conf_get_word(p, v, auth_words, "required, optional or off", &word)) !=
		    0)
			goto out;
		ls.auth = (enum nr_auth_policy)word;
	}
	p->sub = NULL;
	if ((v = nr_conf_opt_get(l, "plain_auth")) != NULL) {
		p->sub = "plain_auth";
		if ((rc = nr_conf_get_cidr_list(p, v, &ls.plain_auth, &ls.plain_auth_count)) != 0)
			goto out;
		if (ls.auth == NR_AUTH_OFF) {
			rc = nr_conf_fail(p, "has no effect with auth=off");
			goto out;
		}
	}
	if ((v = nr_conf_opt_get(l, "legacy_tls")) != NULL) {
		p->sub = "legacy_tls";
		if ((rc = nr_conf_get_cidr_list(p, v, &ls.legacy_tls, &ls.legacy_tls_count)) != 0)
			goto out;
		if (ls.tls == NR_TLS_NONE) {
			rc = nr_conf_fail(p, "needs tls=starttls or tls=implicit on this listener");
			goto out;
		}
	}
	p->sub = NULL;
	if (ls.auth == NR_AUTH_REQUIRED && ls.tls == NR_TLS_NONE && ls.plain_auth_count == 0) {
		rc = nr_conf_fail(
		    p, "auth=required without TLS locks everyone out; add tls=starttls or "
		       "plain_auth=NETWORKS");
		goto out;
	}
	for (i = 0; i < c->listen_count; i++) {
		if (c->listen[i].addr.family == ls.addr.family &&
		    c->listen[i].addr.port == ls.addr.port &&
		    memcmp(c->listen[i].addr.ip, ls.addr.ip, 16) == 0) {
			rc = nr_conf_fail(p, "%s is already a listener on line %d",
					  nr_conf_quote(p, l->arg[0]), c->listen[i].line);
			goto out;
		}
	}
	if (c->listen_count >= CONFIG_NR_MAX_LISTENERS) {
		rc = nr_conf_fail(p, "too many listeners (at most %d, CONFIG_NR_MAX_LISTENERS)",
				  CONFIG_NR_MAX_LISTENERS);
		goto out;
	}
	grown = nr_realloc(c->listen, (c->listen_count + 1) * sizeof(*grown));
	if (grown == NULL) {
		rc = nr_conf_oom(p);
		goto out;
	}
	c->listen = grown;
	c->listen[c->listen_count++] = ls;
	return 0;
out:
	nr_free(ls.plain_auth);
	nr_free(ls.legacy_tls);
	return rc;
}

/* The bits of a netmask like 255.255.255.0, or -1 when s is not one. */
static int netmask_bits(const char *s)
{
	struct nr_addr a;
	uint32_t m;
	int bits = 0;

	if (nr_conf_ip_parse(s, strlen(s), &a) != NR_CONF_WHY_OK || a.family != NR_AF_INET4 ||
	    a.ip[0] != 255)
		return -1;
	m = (uint32_t)a.ip[0] << 24 | (uint32_t)a.ip[1] << 16 | (uint32_t)a.ip[2] << 8 | a.ip[3];
	while (m & 0x80000000u) {
		m <<= 1;
		bits++;
	}
	return m == 0 ? bits : -1;
}

/* Two habits from other software that would silently mean something else:
 * "192.168.1.0 255.255.255.0" (two single hosts here) and "a/24,b/8". */
static int allow_mistake(struct nr_conf_parser *p, const struct nr_conf_line *l, size_t i)
{
	const char *v = l->arg[i];
	int bits = netmask_bits(v);

	if (i > 0 && bits >= 0 && strchr(l->arg[i - 1], '/') == NULL &&
	    strchr(l->arg[i - 1], ':') == NULL)
		return nr_conf_fail(p, "%s is a netmask; write %s/%d (one network per value)", v,
				    l->arg[i - 1], bits);
	if (strchr(v, ',') != NULL)
		return nr_conf_fail(p,
				    "%s: separate networks with blanks, not commas (allow "
				    "192.168.1.0/24 10.0.0.0/8)",
				    nr_conf_quote(p, v));
	return 0;
}

static int k_allow(struct nr_conf_parser *p, struct nr_conf_line *l)
{
	struct nr_conf *c = p->c;
	struct nr_cidr *grown;
	size_t i;
	int rc;

	if (!p->allow_set) {
		c->allow = NULL;
		c->allow_count = 0;
		p->allow_set = 1;
	}
	if (c->allow_count + l->nargs > CONFIG_NR_MAX_ALLOW)
		return nr_conf_fail(p, "too many networks (at most %d in all, CONFIG_NR_MAX_ALLOW)",
				    CONFIG_NR_MAX_ALLOW);
	grown = nr_realloc(c->allow, (c->allow_count + l->nargs) * sizeof(*grown));
	if (grown == NULL)
		return nr_conf_oom(p);
	c->allow = grown;
	for (i = 0; i < l->nargs; i++) {
		if ((rc = allow_mistake(p, l, i)) != 0 ||
		    (rc = nr_conf_get_cidr(p, l->arg[i], &c->allow[c->allow_count])) != 0)
			return rc;
		c->allow_count++;
	}
	return 0;
}

static int k_hostname(struct nr_conf_parser *p, struct nr_conf_line *l)
{
	if (!valid_domain(l->arg[0], strlen(l->arg[0])))
		return nr_conf_fail(p, "expected a host name like nas.lan, got %s",
				    nr_conf_quote(p, l->arg[0]));
	return nr_conf_set_str(p, &p->c->hostname, l->arg[0]);
}

static int k_lan_cert(struct nr_conf_parser *p, struct nr_conf_line *l)
{
	return nr_conf_set_str(p, &p->c->lan_cert, l->arg[0]);
}

static int k_lan_key(struct nr_conf_parser *p, struct nr_conf_line *l)
{
	/* a missing key is generated later (unless lan_cert is set: see
	 * nr_conf_check_system); exposure is looked at in finish() */
	return nr_conf_set_str(p, &p->c->lan_key, l->arg[0]);
}

static int k_users(struct nr_conf_parser *p, struct nr_conf_line *l)
{
	int rc = nr_conf_probe_file(l->arg[0], NULL);

	if (rc < 0)
		nr_conf_warn_at(p,
				"users %s: cannot read: %s (add users with: nanorelay passwd NAME)",
				l->arg[0], nr_strerror(rc));
	return nr_conf_set_str(p, &p->c->users, l->arg[0]);
}

static int k_max_message_size(struct nr_conf_parser *p, struct nr_conf_line *l)
{
	return nr_conf_get_size(p, l->arg[0], "25M", 1024, 2048ull * 1024 * 1024,
				&p->c->max_message_size);
}

static int k_max_recipients(struct nr_conf_parser *p, struct nr_conf_line *l)
{
	return nr_conf_get_number(p, l->arg[0], 100, CONFIG_NR_MAX_RECIPIENTS,
				  "limit CONFIG_NR_MAX_RECIPIENTS of this build",
				  &p->c->max_recipients);
}

static int k_max_recipient_overshoot(struct nr_conf_parser *p, struct nr_conf_line *l)
{
	return nr_conf_get_number(p, l->arg[0], 0, 100000, NULL, &p->c->max_recipient_overshoot);
}

static int k_max_sessions(struct nr_conf_parser *p, struct nr_conf_line *l)
{
	return nr_conf_get_number(p, l->arg[0], 1, CONFIG_NR_MAX_SESSIONS,
				  "limit CONFIG_NR_MAX_SESSIONS of this build",
				  &p->c->max_sessions);
}

static int k_max_sessions_per_client(struct nr_conf_parser *p, struct nr_conf_line *l)
{
	return nr_conf_get_number(p, l->arg[0], 1, CONFIG_NR_MAX_SESSIONS_PER_CLIENT,
				  "limit CONFIG_NR_MAX_SESSIONS_PER_CLIENT of this build",
				  &p->c->max_sessions_per_client);
}

static int k_max_local_sessions(struct nr_conf_parser *p, struct nr_conf_line *l)
{
	return nr_conf_get_number(p, l->arg[0], 1, CONFIG_NR_MAX_LOCAL_SESSIONS,
				  "limit CONFIG_NR_MAX_LOCAL_SESSIONS of this build",
				  &p->c->max_local_sessions);
}

static int k_max_header_size(struct nr_conf_parser *p, struct nr_conf_line *l)
{
	return nr_conf_get_size(p, l->arg[0], "64K", 1024, 1024 * 1024, &p->c->max_header_size);
}

static int k_max_tls_handshakes(struct nr_conf_parser *p, struct nr_conf_line *l)
{
	return nr_conf_get_number(p, l->arg[0], 1, CONFIG_NR_MAX_TLS_HANDSHAKES,
				  "limit CONFIG_NR_MAX_TLS_HANDSHAKES of this build",
				  &p->c->max_tls_handshakes);
}

/* AUTH throttle (README "Security"): no Kconfig ceiling, they cost no memory. */
static int k_auth_failures_per_user(struct nr_conf_parser *p, struct nr_conf_line *l)
{
	return nr_conf_get_number(p, l->arg[0], 1, 100, NULL, &p->c->auth_failures_per_user);
}

static int k_auth_failures_per_client(struct nr_conf_parser *p, struct nr_conf_line *l)
{
	return nr_conf_get_number(p, l->arg[0], 1, 1000, NULL, &p->c->auth_failures_per_client);
}

static int k_auth_max_per_second(struct nr_conf_parser *p, struct nr_conf_line *l)
{
	return nr_conf_get_number(p, l->arg[0], 1, 1000, NULL, &p->c->auth_max_per_second);
}

static int k_auth_max_pending(struct nr_conf_parser *p, struct nr_conf_line *l)
{
	return nr_conf_get_number(p, l->arg[0], 1, CONFIG_NR_MAX_SESSIONS,
				  "limit CONFIG_NR_MAX_SESSIONS of this build",
				  &p->c->auth_max_pending);
}

static int k_max_idle_commands(struct nr_conf_parser *p, struct nr_conf_line *l)
{
	return nr_conf_get_number(p, l->arg[0], 1, 100000, NULL, &p->c->max_idle_commands);
}

static int k_max_idle_time(struct nr_conf_parser *p, struct nr_conf_line *l)
{
	return nr_conf_get_duration(p, l->arg[0], "10m", 1000, 24 * 3600 * 1000,
				    &p->c->max_idle_time_ms);
}

static int k_max_tls_handshakes_per_client(struct nr_conf_parser *p, struct nr_conf_line *l)
{
	return nr_conf_get_number(p, l->arg[0], 1, CONFIG_NR_MAX_TLS_HANDSHAKES,
				  "limit CONFIG_NR_MAX_TLS_HANDSHAKES of this build",
				  &p->c->max_tls_handshakes_per_client);
}

static int k_max_errors(struct nr_conf_parser *p, struct nr_conf_line *l)
{
	return nr_conf_get_number(p, l->arg[0], 1, 1000, NULL, &p->c->max_errors);
}

static int k_max_received(struct nr_conf_parser *p, struct nr_conf_line *l)
{
	return nr_conf_get_number(p, l->arg[0], 1, 1000, NULL, &p->c->max_received);
}

static int k_min_data_rate(struct nr_conf_parser *p, struct nr_conf_line *l)
{
	return nr_conf_get_size(p, l->arg[0], "1K", 0, 1024ull * 1024 * 1024, &p->c->min_data_rate);
}

static int k_command_timeout(struct nr_conf_parser *p, struct nr_conf_line *l)
{
	return nr_conf_get_duration(p, l->arg[0], "5m", 1000, 3600 * 1000,
				    &p->c->command_timeout_ms);
}

static int k_tls_handshake_timeout(struct nr_conf_parser *p, struct nr_conf_line *l)
{
	return nr_conf_get_duration(p, l->arg[0], "30s", 1000, 600 * 1000,
				    &p->c->tls_handshake_timeout_ms);
}

static int k_bare_lf(struct nr_conf_parser *p, struct nr_conf_line *l)
{
	static const char *const words[] = {"normalize", "reject", NULL};
	int word, rc = nr_conf_get_word(p, l->arg[0], words, "normalize or reject", &word);

	if (rc == 0)
		p->c->bare_lf = (enum nr_bare_lf)word;
	return rc;
}

static int k_queue(struct nr_conf_parser *p, struct nr_conf_line *l)
{
	struct nr_conf *c = p->c;
	const char *v = l->arg[0], *size = nr_conf_opt_get(l, "size");
	const char *path = NULL, *option = NULL;
	enum nr_queue_kind kind;
	int compiled;
	uint64_t bytes;
	int rc;

	if (strncmp(v, "file:", 5) == 0 && v[5] != '\0') {
		kind = NR_QUEUE_FILE;
		path = v + 5;
		bytes = 16u * 1024 * 1024;
		compiled = NR_ENABLED(CONFIG_NR_STORE_FILE);
		option = "CONFIG_NR_STORE_FILE";
	} else if (strncmp(v, "mtd:", 4) == 0 && v[4] != '\0') {
		kind = NR_QUEUE_MTD;
		path = v + 4;
		bytes = 0; /* the whole partition */
		compiled = NR_ENABLED(CONFIG_NR_STORE_MTD);
		option = "CONFIG_NR_STORE_MTD";
	} else if (strcmp(v, "ram") == 0) {
		kind = NR_QUEUE_RAM;
		bytes = 2u * 1024 * 1024;
		compiled = NR_ENABLED(CONFIG_NR_STORE_RAM);
		option = "CONFIG_NR_STORE_RAM";
	} else if (strcmp(v, "flash") == 0) {
		kind = NR_QUEUE_FLASH;
		bytes = 0; /* the whole region the HAL offers */
		compiled = NR_ENABLED(CONFIG_NR_STORE_FLASH);
		option = "CONFIG_NR_STORE_FLASH";
	} else {
		return nr_conf_fail(p, "expected file:PATH, ram, mtd:DEVICE or flash, got %s",
				    nr_conf_quote(p, v));
	}
	if (!compiled)
		return nr_conf_fail(p, "this backend is not in this build (%s), got %s", option,
				    nr_conf_quote(p, v));
	if (size != NULL) {
		p->sub = "size";
		rc = nr_conf_get_size(p, size, "16M", 64 * 1024, 2048ull * 1024 * 1024, &bytes);
		p->sub = NULL;
		if (rc != 0)
			return rc;
	}
	nr_conf_free_str(&c->queue_path);
	if (path != NULL && (rc = nr_conf_set_str(p, &c->queue_path, path)) != 0)
		return rc;
	c->queue_kind = kind;
	c->queue_size = bytes;
	return 0;
}

static int k_state_dir(struct nr_conf_parser *p, struct nr_conf_line *l)
{
	return nr_conf_set_str(p, &p->c->state_dir, l->arg[0]);
}

static const char *const mech_words[] = {"PLAIN", "LOGIN", "CRAM-MD5", "XOAUTH2", NULL};

static int mech_compiled(int word)
{
	switch (word) {
	case 0:
		return NR_ENABLED(CONFIG_NR_AUTH_PLAIN);
	case 1:
		return NR_ENABLED(CONFIG_NR_AUTH_LOGIN);
	case 2:
		return NR_ENABLED(CONFIG_NR_AUTH_CRAM_MD5);
	default:
		return NR_ENABLED(CONFIG_NR_XOAUTH2);
	}
}

/* from_rewrite, global and per smarthost: the index is NR_FROM_REWRITE_*. */
static const char *const on_off_words[] = {"auto", "off", "on", NULL};

/* HOST[:PORT]: a DNS name, an IPv4 address, or an IPv6 address in brackets. */
static int smarthost_target(struct nr_conf_parser *p, const char *v, char *host, size_t host_size,
			    uint16_t *port)
{
	const char *orig = v, *hend, *colon;
	struct nr_addr a;
	uint64_t x;

	if (v[0] == '[') {
		hend = strchr(v, ']');
		if (hend == NULL || nr_conf_ip_parse(v + 1, (size_t)(hend - v - 1), &a) != 0 ||
		    a.family != NR_AF_INET6)
			goto bad;
		colon = hend[1] == ':' ? hend + 1 : NULL;
		if (hend[1] != '\0' && colon == NULL)
			goto bad;
		v++;
	} else {
		colon = strchr(v, ':');
		if (colon != NULL && strchr(colon + 1, ':') != NULL)
			return nr_conf_why_fail(p, NR_CONF_WHY_BRACKETS, v, "");
		hend = colon != NULL ? colon : v + strlen(v);
		if (!valid_domain(v, (size_t)(hend - v)))
			goto bad;
	}
	if ((size_t)(hend - v) >= host_size)
		goto bad;
	memcpy(host, v, (size_t)(hend - v));
	host[hend - v] = '\0';
	*port = 0;
	if (colon != NULL) {
		if (nr_conf_uint_parse(colon + 1, strlen(colon + 1), 65535, &x) != 0 || x == 0)
			goto bad;
		*port = (uint16_t)x;
	}
	return 0;
bad:
	return nr_conf_fail(
	    p,
	    "expected HOST or HOST:PORT like smtp.gmail.com:465 or [2001:db8::1]:587, "
	    "got %s",
	    nr_conf_quote(p, orig));
}

static int k_smarthost(struct nr_conf_parser *p, struct nr_conf_line *l)
{
	struct nr_conf *c = p->c;
	struct nr_conf_smarthost sh, *grown;
	char host[256];
	const char *tls = nr_conf_opt_get(l, "tls"), *user = nr_conf_opt_get(l, "user");
	const char *pass = nr_conf_opt_get(l, "password_file"),
		   *token = nr_conf_opt_get(l, "oauth_token_file");
	const char *mech = nr_conf_opt_get(l, "auth"), *insecure = nr_conf_opt_get(l, "insecure");
	const char *from_rw = nr_conf_opt_get(l, "from_rewrite");
	struct nr_conf_oauth2 *oa = NULL;
	int word = -1, mech_word = -1, rc;
	size_t i;

	memset(&sh, 0, sizeof(sh));
	sh.line = p->line;
	if (from_rw != NULL) {
		p->sub = "from_rewrite";
		if ((rc = nr_conf_get_word(p, from_rw, on_off_words, "on, off or auto",
					   &sh.from_rewrite)) != 0)
			return rc;
		p->sub = NULL;
	}
	if ((rc = smarthost_target(p, l->arg[0], host, sizeof(host), &sh.port)) != 0)
		return rc;
	/* Port 465 is implicit TLS by convention (RFC 8314); anything else
	 * starts in clear and must upgrade. */
	sh.tls = sh.port == 465 ? NR_TLS_IMPLICIT : NR_TLS_STARTTLS;
	if (tls != NULL) {
		p->sub = "tls";
		if ((rc = nr_conf_get_word(p, tls, tls_words, "starttls, implicit or none",
					   &word)) != 0)
			return rc;
		p->sub = NULL;
		sh.tls = (enum nr_tls_mode)word;
	}
	if (sh.tls != NR_TLS_NONE && !NR_ENABLED(CONFIG_NR_TLS))
		return nr_conf_fail(p, "TLS is not in this build (CONFIG_NR_TLS); only tls=none "
				       "insecure=yes is possible");
	if (insecure != NULL) {
		if (strcmp(insecure, "yes") != 0) {
			p->sub = "insecure";
			return nr_conf_fail(p, "expected yes, got %s", nr_conf_quote(p, insecure));
		}
		if (sh.tls != NR_TLS_NONE)
			return nr_conf_fail(
			    p, "insecure=yes is only for tls=none; certificates are always "
			       "verified");
		sh.insecure = 1;
	}
	if (sh.tls == NR_TLS_NONE && !sh.insecure)
		return nr_conf_fail(
		    p, "tls=none sends mail and passwords in clear; add insecure=yes to "
		       "mean it (tests and labs only)");
	if (sh.port == 0)
		sh.port = sh.tls == NR_TLS_IMPLICIT ? 465 : sh.tls == NR_TLS_STARTTLS ? 587 : 25;
	if (user == NULL &&
	    (pass != NULL || token != NULL || mech != NULL || nr_conf_opt_get(l, "oauth2") != NULL))
		return nr_conf_fail(p, "%s needs user=",
				    pass != NULL    ? "password_file="
				    : token != NULL ? "oauth_token_file="
				    : mech != NULL  ? "auth="
						    : "oauth2=");
	if (user != NULL && pass == NULL && token == NULL && nr_conf_opt_get(l, "oauth2") == NULL)
		return nr_conf_fail(p, "user= needs password_file=, oauth_token_file= or oauth2=");
	if (pass != NULL && token != NULL)
		return nr_conf_fail(p, "give password_file= or oauth_token_file=, not both");
	if ((pass != NULL || token != NULL) && nr_conf_opt_get(l, "oauth2") != NULL)
		return nr_conf_fail(p, "give oauth2= or %s, not both",
				    pass != NULL ? "password_file=" : "oauth_token_file=");
	if (token != NULL && !NR_ENABLED(CONFIG_NR_XOAUTH2))
		return nr_conf_fail(p,
				    "oauth_token_file= needs XOAUTH2, which is not in this build "
				    "(CONFIG_NR_XOAUTH2)");
	if (mech != NULL) {
		int j;
		p->sub = "auth";
		for (j = 0; mech_words[j] != NULL && !nr_ascii_ieq(mech, mech_words[j]); j++)
			;
		if (mech_words[j] == NULL)
			return nr_conf_fail(p, "expected PLAIN, LOGIN, CRAM-MD5 or XOAUTH2, got %s",
					    nr_conf_quote(p, mech));
		if (!mech_compiled(j))
			return nr_conf_fail(p, "%s is not in this build", mech_words[j]);
		if ((j == 3) != (token != NULL || nr_conf_opt_get(l, "oauth2") != NULL))
			return nr_conf_fail(p, "%s",
					    j == 3 ? "XOAUTH2 needs oauth_token_file= or oauth2="
						   : "a password mechanism needs password_file=");
		p->sub = NULL;
		mech_word = j;
	}
	/* oauth2= means XOAUTH2 with a token we fetch ourselves. */
	if (nr_conf_opt_get(l, "oauth2") != NULL && mech == NULL)
		mech_word = 3;
	for (i = 0; i < c->smarthost_count; i++) {
		if (nr_ascii_ieq(c->smarthost[i].host, host) && c->smarthost[i].port == sh.port)
			return nr_conf_fail(p, "%s:%u is already a smarthost on line %d", host,
					    (unsigned)sh.port, c->smarthost[i].line);
	}
	if (c->smarthost_count >= CONFIG_NR_MAX_SMARTHOSTS)
		return nr_conf_fail(p, "too many smarthosts (at most %d, CONFIG_NR_MAX_SMARTHOSTS)",
				    CONFIG_NR_MAX_SMARTHOSTS);
	if (pass != NULL && (rc = nr_conf_check_file(p, "password_file", pass, 1)) != 0)
		return rc;
	/* A token file is often written by a refresh helper after we start. */
	if (token != NULL && (rc = nr_conf_check_file(p, "oauth_token_file", token, 0)) != 0)
		return rc;
	if ((rc = nr_conf_oauth2_opts(p, l, &oa)) != 0)
		return rc;

	sh.host = nr_conf_dup_str(host);
	sh.user = user != NULL ? nr_conf_dup_str(user) : NULL;
	sh.password_file = pass != NULL ? nr_conf_dup_str(pass) : NULL;
	sh.oauth_token_file = token != NULL ? nr_conf_dup_str(token) : NULL;
	sh.auth_mech = mech_word >= 0 ? nr_conf_dup_str(mech_words[mech_word]) : NULL;
	sh.oauth2 = oa;
	grown = nr_realloc(c->smarthost, (c->smarthost_count + 1) * sizeof(*grown));
	if (grown == NULL || sh.host == NULL || (user != NULL && sh.user == NULL) ||
	    (pass != NULL && sh.password_file == NULL) ||
	    (token != NULL && sh.oauth_token_file == NULL) ||
	    (mech_word >= 0 && sh.auth_mech == NULL)) {
		if (grown != NULL)
			c->smarthost = grown;
		nr_free(sh.host);
		nr_free(sh.user);
		nr_free(sh.password_file);
		nr_free(sh.oauth_token_file);
		nr_free(sh.auth_mech);
		nr_conf_oauth2_free(oa);
		return nr_conf_oom(p);
	}
	c->smarthost = grown;
	c->smarthost[c->smarthost_count++] = sh;
	return 0;
}

static int k_ca_file(struct nr_conf_parser *p, struct nr_conf_line *l)
{
	return nr_conf_set_str(p, &p->c->ca_file, l->arg[0]);
}

static int k_sender(struct nr_conf_parser *p, struct nr_conf_line *l)
{
	if (!valid_mailbox(l->arg[0]))
		return nr_conf_fail(p, "expected an address like me@gmail.com, got %s",
				    nr_conf_quote(p, l->arg[0]));
	return nr_conf_set_str(p, &p->c->sender, l->arg[0]);
}

static int k_from_rewrite(struct nr_conf_parser *p, struct nr_conf_line *l)
{
	return nr_conf_get_word(p, l->arg[0], on_off_words, "on, off or auto", &p->c->from_rewrite);
}

static int k_alias(struct nr_conf_parser *p, struct nr_conf_line *l)
{
	struct nr_conf *c = p->c;
	const char *from = l->arg[0], *to = l->arg[1], *at = strrchr(from, '@');
	struct nr_conf_alias a, *grown;
	size_t i;
	int ok;

	if (at == NULL)
		ok = valid_local_part(from, strlen(from));
	else
		ok = ((at - from == 1 && from[0] == '*') ||
		      valid_local_part(from, (size_t)(at - from))) &&
		     valid_domain(at + 1, strlen(at + 1));
	if (!ok)
		return nr_conf_fail(p,
				    "expected a name like root, *@nas.lan or user@nas.lan, got %s",
				    nr_conf_quote(p, from));
	if (!valid_mailbox(to))
		return nr_conf_fail(p, "expected a target address like admin@example.com, got %s",
				    nr_conf_quote(p, to));
	for (i = 0; i < c->alias_count; i++) {
		if (nr_ascii_ieq(c->alias[i].from, from))
			return nr_conf_fail(p, "%s is already an alias on line %d",
					    nr_conf_quote(p, from), c->alias[i].line);
	}
	if (c->alias_count >= CONFIG_NR_MAX_ALIASES)
		return nr_conf_fail(p, "too many aliases (at most %d, CONFIG_NR_MAX_ALIASES)",
				    CONFIG_NR_MAX_ALIASES);
	a.from = nr_conf_dup_str(from);
	a.to = nr_conf_dup_str(to);
	a.line = p->line;
	grown = nr_realloc(c->alias, (c->alias_count + 1) * sizeof(*grown));
	if (grown == NULL || a.from == NULL || a.to == NULL) {
		if (grown != NULL)
			c->alias = grown;
		nr_free(a.from);
		nr_free(a.to);
		return nr_conf_oom(p);
	}
	c->alias = grown;
	c->alias[c->alias_count++] = a;
	return 0;
}

static int k_admin(struct nr_conf_parser *p, struct nr_conf_line *l)
{
	if (!valid_mailbox(l->arg[0]))
		return nr_conf_fail(p, "expected an address like admin@example.com, got %s",
				    nr_conf_quote(p, l->arg[0]));
	return nr_conf_set_str(p, &p->c->admin, l->arg[0]);
}

static int k_retry(struct nr_conf_parser *p, struct nr_conf_line *l)
{
	uint64_t lo, hi;
	int rc;

	if ((rc = nr_conf_get_duration(p, l->arg[0], "1m", 1000, 86400 * 1000, &lo)) != 0)
		return rc;
	if ((rc = nr_conf_get_duration(p, l->arg[1], "1h", 1000, 86400 * 1000, &hi)) != 0)
		return rc;
	if (lo > hi)
		return nr_conf_fail(p,
				    "the first retry (%s) is longer than the longest interval (%s)",
				    l->arg[0], l->arg[1]);
	p->c->retry_min_ms = lo;
	p->c->retry_max_ms = hi;
	return 0;
}

static int k_dns_server(struct nr_conf_parser *p, struct nr_conf_line *l)
{
	enum nr_conf_why why = nr_conf_hostport_parse(l->arg[0], &p->c->dns_server, 53);

	if (why == NR_CONF_WHY_OK)
		return 0;
	p->c->dns_server.family = NR_AF_NONE;
	return nr_conf_why_fail(p, why, l->arg[0],
				"an address like 192.168.1.1, 127.0.0.1:5353 or [::1]");
}

static int k_upstream_connections(struct nr_conf_parser *p, struct nr_conf_line *l)
{
	return nr_conf_get_number(p, l->arg[0], 1, CONFIG_NR_MAX_UPSTREAM_CONNECTIONS,
				  "limit CONFIG_NR_MAX_UPSTREAM_CONNECTIONS of this build",
				  &p->c->upstream_connections);
}

static int k_upstream_timeout(struct nr_conf_parser *p, struct nr_conf_line *l)
{
	return nr_conf_get_duration(p, l->arg[0], "2m", 1000, 600 * 1000,
				    &p->c->upstream_timeout_ms);
}

static int k_max_age(struct nr_conf_parser *p, struct nr_conf_line *l)
{
	return nr_conf_get_duration(p, l->arg[0], "5d", 60 * 1000, 365ull * 86400 * 1000,
				    &p->c->max_age_ms);
}

static int k_log(struct nr_conf_parser *p, struct nr_conf_line *l)
{
	static const char *const sinks[] = {"stderr", "syslog", NULL};
	static const char *const levels[] = {"warn", "info", "debug", NULL};
	static const enum nr_log_level level_values[] = {NR_LOG_WARN, NR_LOG_INFO, NR_LOG_DEBUG};
	const char *level = nr_conf_opt_get(l, "level");
	int sink, word, rc;

	if ((rc = nr_conf_get_word(p, l->arg[0], sinks, "syslog or stderr", &sink)) != 0)
		return rc;
	if (level != NULL) {
		p->sub = "level";
		if ((rc = nr_conf_get_word(p, level, levels, "debug, info or warn", &word)) != 0)
			return rc;
		p->sub = NULL;
		p->c->log_level = level_values[word];
	}
	p->c->log_sink = (enum nr_log_sink)sink;
	return 0;
}

static int k_user(struct nr_conf_parser *p, struct nr_conf_line *l)
{
	if (!valid_user_name(l->arg[0]))
		return nr_conf_fail(p, "expected a user name like nobody, got %s",
				    nr_conf_quote(p, l->arg[0]));
	return nr_conf_set_str(p, &p->c->user, l->arg[0]);
}

static int set_socket_path(struct nr_conf_parser *p, char **field, const char *path)
{
	if (strlen(path) > NR_CONF_SOCKET_PATH_MAX)
		return nr_conf_fail(p, "a socket path may have at most %d bytes, got %s",
				    NR_CONF_SOCKET_PATH_MAX, nr_conf_quote(p, path));
	return nr_conf_set_str(p, field, path);
}

static int k_control_socket(struct nr_conf_parser *p, struct nr_conf_line *l)
{
	return set_socket_path(p, &p->c->control_socket, l->arg[0]);
}

static int k_submit_socket(struct nr_conf_parser *p, struct nr_conf_line *l)
{
	return set_socket_path(p, &p->c->submit_socket, l->arg[0]);
}

static int k_sendmail_no_daemon(struct nr_conf_parser *p, struct nr_conf_line *l)
{
	static const char *const words[] = {"direct", "fail", NULL};
	int word, rc = nr_conf_get_word(p, l->arg[0], words, "direct or fail", &word);

	if (rc == 0)
		p->c->sendmail_no_daemon = (enum nr_no_daemon)word;
	return rc;
}

static const char *const listen_opts[] = {"tls", "auth", "plain_auth", "legacy_tls", NULL};
static const char *const queue_opts[] = {"size", NULL};
static const char *const smarthost_opts[] = {"tls",
					     "user",
					     "password_file",
					     "oauth_token_file",
					     "auth",
					     "insecure",
					     "from_rewrite",
					     "oauth2",
					     "oauth2_client_id",
					     "oauth2_client_secret_file",
					     "oauth2_tenant",
					     "oauth2_grant",
					     "oauth2_scope",
					     "oauth2_token_url",
					     "oauth2_device_url",
					     "oauth2_auth_url",
					     NULL};
static const char *const log_opts[] = {"level", NULL};

#define PATH_USAGE "a file name"
const struct nr_conf_key nr_conf_keys[] = {
    {"listen", k_listen, 1, 1, listen_opts, 1, "ADDRESS:PORT, like 0.0.0.0:25"},
    {"allow", k_allow, 1, 0, NULL, 1, "networks, like 192.168.1.0/24 fd00::/8"},
    {"hostname", k_hostname, 1, 1, NULL, 0, "a host name"},
    {"lan_cert", k_lan_cert, 1, 1, NULL, 0, PATH_USAGE},
    {"lan_key", k_lan_key, 1, 1, NULL, 0, PATH_USAGE},
    {"users", k_users, 1, 1, NULL, 0, PATH_USAGE},
    {"max_message_size", k_max_message_size, 1, 1, NULL, 0, "a size like 25M"},
    {"max_recipients", k_max_recipients, 1, 1, NULL, 0, "a number"},
    {"max_recipient_overshoot", k_max_recipient_overshoot, 1, 1, NULL, 0, "a number"},
    {"max_sessions", k_max_sessions, 1, 1, NULL, 0, "a number"},
    {"max_sessions_per_client", k_max_sessions_per_client, 1, 1, NULL, 0, "a number"},
    {"max_local_sessions", k_max_local_sessions, 1, 1, NULL, 0, "a number"},
    {"max_header_size", k_max_header_size, 1, 1, NULL, 0, "a size like 64K"},
    {"max_tls_handshakes", k_max_tls_handshakes, 1, 1, NULL, 0, "a number"},
    {"auth_failures_per_user", k_auth_failures_per_user, 1, 1, NULL, 0, "a number"},
    {"auth_failures_per_client", k_auth_failures_per_client, 1, 1, NULL, 0, "a number"},
    {"auth_max_per_second", k_auth_max_per_second, 1, 1, NULL, 0, "a number"},
    {"auth_max_pending", k_auth_max_pending, 1, 1, NULL, 0, "a number"},
    {"max_idle_commands", k_max_idle_commands, 1, 1, NULL, 0, "a number"},
    {"max_idle_time", k_max_idle_time, 1, 1, NULL, 0, "a duration like 10m"},
    {"max_tls_handshakes_per_client", k_max_tls_handshakes_per_client, 1, 1, NULL, 0, "a number"},
    {"max_errors", k_max_errors, 1, 1, NULL, 0, "a number"},
    {"max_received", k_max_received, 1, 1, NULL, 0, "a number"},
    {"min_data_rate", k_min_data_rate, 1, 1, NULL, 0, "bytes per second like 1K"},
    {"command_timeout", k_command_timeout, 1, 1, NULL, 0, "a duration like 5m"},
    {"tls_handshake_timeout", k_tls_handshake_timeout, 1, 1, NULL, 0, "a duration like 30s"},
    {"bare_lf", k_bare_lf, 1, 1, NULL, 0, "normalize or reject"},
    {"queue", k_queue, 1, 1, queue_opts, 0, "file:PATH, ram, mtd:DEVICE or flash"},
    {"state_dir", k_state_dir, 1, 1, NULL, 0, "a directory"},
    {"smarthost", k_smarthost, 1, 1, smarthost_opts, 1, "HOST[:PORT]"},
    {"ca_file", k_ca_file, 1, 1, NULL, 0, PATH_USAGE},
    {"sender", k_sender, 1, 1, NULL, 0, "an address"},
    {"from_rewrite", k_from_rewrite, 1, 1, NULL, 0, "on, off or auto"},
    {"alias", k_alias, 2, 2, NULL, 1, "NAME ADDRESS, like root admin@example.com"},
    {"admin", k_admin, 1, 1, NULL, 0, "an address"},
    {"retry", k_retry, 2, 2, NULL, 0, "FIRST LONGEST, like 1m 1h"},
    {"dns_server", k_dns_server, 1, 1, NULL, 0, "ADDRESS[:PORT]"},
    {"max_age", k_max_age, 1, 1, NULL, 0, "a duration like 5d"},
    {"upstream_timeout", k_upstream_timeout, 1, 1, NULL, 0, "a duration like 2m"},
    {"upstream_connections", k_upstream_connections, 1, 1, NULL, 0, "a number"},
    {"log", k_log, 1, 1, log_opts, 0, "syslog or stderr"},
    {"user", k_user, 1, 1, NULL, 0, "a user name"},
    {"control_socket", k_control_socket, 1, 1, NULL, 0, PATH_USAGE},
    {"submit_socket", k_submit_socket, 1, 1, NULL, 0, PATH_USAGE},
    {"sendmail_no_daemon", k_sendmail_no_daemon, 1, 1, NULL, 0, "direct or fail"},
};

typedef char conf_keys_fit[NR_ARRAY_LEN(nr_conf_keys) <= NR_CONF_KEYS_MAX ? 1 : -1];

const size_t nr_conf_key_count = NR_ARRAY_LEN(nr_conf_keys);
