/*
 * conf_parse.c - the configuration file: lines and tokens, messages, and the
 * checks that span keys. The keys themselves are in conf_keys.c. Every
 * refusal names FILE:LINE, the key and what was expected, because the
 * reader is a person at the console of a router with no other help at hand.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf.h"
#include "conf/conf_int.h"
#include "core/fmt.h"
#include "core/log.h"
#include "core/mem.h"

/* ---- messages ----------------------------------------------------------------- */

/* "FILE:LINE: " for a file, "LINE: " for text given without one (the
 * embedding API); returns the bytes written (at most size - 1). */
static size_t where(const struct nr_conf_parser *p, char *dst, size_t size)
{
	int w = p->path != NULL ? snprintf(dst, size, "%s:%d: ", p->path, p->line)
				: snprintf(dst, size, "%d: ", p->line);

	if (w < 0)
		return 0;
	return (size_t)w < size ? (size_t)w : size - 1;
}

NR_PRINTF(3, 0)
static int vfail(struct nr_conf_parser *p, int rc, const char *fmt, va_list ap)
{
	size_t n;
	int w;

	if (p->err == NULL || p->err_size == 0)
		return rc;
	n = where(p, p->err, p->err_size);
	if (p->key != NULL && p->sub != NULL)
		w = snprintf(p->err + n, p->err_size - n, "%s: %s: ", p->key, p->sub);
	else if (p->key != NULL)
		w = snprintf(p->err + n, p->err_size - n, "%s: ", p->key);
	else
		w = 0;
	n += w < 0 ? 0 : (size_t)w;
	if (n > p->err_size)
		n = p->err_size;
	if (n < p->err_size)
		vsnprintf(p->err + n, p->err_size - n, fmt, ap);
	return rc;
}

int nr_conf_fail(struct nr_conf_parser *p, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = vfail(p, NR_EINVAL, fmt, ap);
	va_end(ap);
	return rc;
}

int nr_conf_oom(struct nr_conf_parser *p)
{
	if (p->err != NULL && p->err_size > 0) {
		size_t n = where(p, p->err, p->err_size);

		snprintf(p->err + n, p->err_size - n, "out of memory");
	}
	return NR_ENOMEM;
}

/* A value in double quotes for a message, cut at 60 bytes. Two slots, so a
 * message may quote two values. */
const char *nr_conf_quote(struct nr_conf_parser *p, const char *v)
{
	char *dst = p->quoted[p->quote_next];
	size_t len = strlen(v);

	p->quote_next ^= 1;
	if (len > 60)
		snprintf(dst, sizeof(p->quoted[0]), "\"%.60s...\"", v);
	else
		snprintf(dst, sizeof(p->quoted[0]), "\"%s\"", v);
	return dst;
}

void nr_conf_warn_at(struct nr_conf_parser *p, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (p->path != NULL)
		nr_warn("%s:%d: %s", p->path, p->line, msg);
	else
		nr_warn("%d: %s", p->line, msg);
}

char *nr_conf_dup_str(const char *s)
{
	size_t n = strlen(s) + 1;
	char *d = nr_malloc(n);

	if (d != NULL)
		memcpy(d, s, n);
	return d;
}

int nr_conf_set_str(struct nr_conf_parser *p, char **field, const char *v)
{
	char *d = nr_conf_dup_str(v);

	if (d == NULL)
		return nr_conf_oom(p);
	nr_conf_free_str(field);
	*field = d;
	return 0;
}

const char *nr_conf_size_text(char *buf, size_t size, uint64_t v)
{
	static const char units[] = "GMK";
	uint64_t m = 1024ull * 1024 * 1024;
	int i;

	for (i = 0; i < 3; i++, m /= 1024) {
		if (v >= m && v % m == 0) {
			snprintf(buf, size, "%s%c", NR_U64(v / m), units[i]);
			return buf;
		}
	}
	snprintf(buf, size, "%s", NR_U64(v));
	return buf;
}

/* ---- lines --------------------------------------------------------------------------- */

static int is_space(char ch)
{
	return ch == ' ' || ch == '\t';
}

static int opt_allowed(const struct nr_conf_key *k, const char *name)
{
	size_t i;

	for (i = 0; k->opts[i] != NULL; i++) {
		if (strcmp(k->opts[i], name) == 0)
			return 1;
	}
	return 0;
}

/* "a, b or c"; a family of options sharing a prefix (oauth2, oauth2_tenant,
 * ...) is shown as "oauth2, oauth2_*" to keep the message on one line. */
static int opt_list(const struct nr_conf_key *k, char *buf, size_t size)
{
	const char *shown[NR_CONF_TOKENS_MAX];
	size_t i, m = 0, n = 0, fam = 0;
	int in_family = 0;

	for (i = 0; k->opts[i] != NULL && m < NR_ARRAY_LEN(shown); i++) {
		const char *o = k->opts[i];
		if (m > 0 && fam > 0 && strncmp(o, shown[m - 1 - (in_family ? 1 : 0)], fam) == 0 &&
		    o[fam] == '_') {
			if (!in_family)
				shown[m++] = NULL; /* "<family>_*" */
			in_family = 1;
			continue;
		}
		in_family = 0;
		fam = strlen(o);
		shown[m++] = o;
	}
	buf[0] = '\0';
	for (i = 0; i < m && n < size; i++) {
		const char *sep = i == 0 ? "" : i + 1 == m ? " or " : ", ";
		int w = shown[i] != NULL ? snprintf(buf + n, size - n, "%s%s", sep, shown[i])
					 : snprintf(buf + n, size - n, "%s%s_*", sep, shown[i - 1]);
		n += w < 0 ? 0 : (size_t)w;
	}
	return 0;
}

/* One line without its terminator, NUL-terminated in a writable buffer. */
static int parse_line(struct nr_conf_parser *p, char *s)
{
	struct nr_conf_line l;
	const struct nr_conf_key *k = NULL;
	char *tok[NR_CONF_TOKENS_MAX + 1];
	size_t ntok = 0, i, j, ki;
	char names[96];

	/* '#' starts a comment at the start of the line or after a blank, so
	 * "password_file=/etc/a#b" keeps its '#'. */
	for (i = 0; s[i] != '\0'; i++) {
		if (s[i] == '#' && (i == 0 || is_space(s[i - 1]))) {
			s[i] = '\0';
			break;
		}
	}
	for (i = 0; s[i] != '\0';) {
		while (is_space(s[i]))
			i++;
		if (s[i] == '\0')
			break;
		if (ntok == NR_CONF_TOKENS_MAX + 1)
			return nr_conf_fail(p, "too many values on one line (at most %d)",
					    NR_CONF_TOKENS_MAX);
		tok[ntok++] = s + i;
		while (s[i] != '\0' && !is_space(s[i]))
			i++;
		if (s[i] != '\0')
			s[i++] = '\0';
	}
	if (ntok == 0)
		return 0;
	for (ki = 0; ki < nr_conf_key_count; ki++) {
		if (strcmp(nr_conf_keys[ki].name, tok[0]) == 0) {
			k = &nr_conf_keys[ki];
			break;
		}
	}
	if (k == NULL) {
		const char *near = nr_conf_key_suggest(tok[0]);

		if (near != NULL)
			return nr_conf_fail(p, "unknown key %s; did you mean %s?",
					    nr_conf_quote(p, tok[0]), near);
		return nr_conf_fail(p, "unknown key %s", nr_conf_quote(p, tok[0]));
	}
	p->key = k->name;
	if (!k->repeatable && p->seen[ki] != 0)
		return nr_conf_fail(p, "already set on line %d", p->seen[ki]);
	p->seen[ki] = p->line;

	memset(&l, 0, sizeof(l));
	for (i = 1; i < ntok; i++) {
		char *eq = k->opts != NULL ? strchr(tok[i], '=') : NULL;
		if (eq == NULL) {
			l.arg[l.nargs++] = tok[i];
			continue;
		}
		*eq = '\0';
		if (!opt_allowed(k, tok[i])) {
			*eq = '=';
			opt_list(k, names, sizeof(names));
			return nr_conf_fail(p, "unknown option %s (expected %s)",
					    nr_conf_quote(p, tok[i]), names);
		}
		for (j = 0; j < l.nopts; j++) {
			if (strcmp(l.opt[j].name, tok[i]) == 0)
				return nr_conf_fail(p, "option %s given twice", tok[i]);
		}
		if (eq[1] == '\0')
			return nr_conf_fail(p, "option %s: missing value", tok[i]);
		l.opt[l.nopts].name = tok[i];
		l.opt[l.nopts++].value = eq + 1;
	}
	if (l.nargs < k->min)
		return nr_conf_fail(p, "missing value (expected %s)", k->usage);
	if (k->max != 0 && l.nargs > k->max)
		return nr_conf_fail(p, "unexpected extra value %s",
				    nr_conf_quote(p, l.arg[k->max]));
	return k->fn(p, &l);
}

/* ---- checks across keys ----------------------------------------------------------------- */

static int key_line(const struct nr_conf_parser *p, const char *name)
{
	size_t i;

	for (i = 0; i < nr_conf_key_count; i++) {
		if (strcmp(nr_conf_keys[i].name, name) == 0)
			return p->seen[i];
	}
	return 0;
}

static int derive_path(struct nr_conf_parser *p, char **field, const char *leaf)
{
	const char *dir = p->c->state_dir;
	size_t n = strlen(dir) + 1 + strlen(leaf) + 1;
	char *s = nr_malloc(n);

	if (s == NULL)
		return nr_conf_oom(p);
	snprintf(s, n, "%s/%s", dir, leaf);
	nr_conf_free_str(field);
	*field = s;
	return 0;
}

/* A socket left at its default follows state_dir, within sun_path's size. */
static int derive_socket(struct nr_conf_parser *p, char **field, const char *key, const char *leaf,
			 int state_line)
{
	int rc;

	if (key_line(p, key) != 0)
		return 0;
	if ((rc = derive_path(p, field, leaf)) != 0)
		return rc;
	if (strlen(*field) <= NR_CONF_SOCKET_PATH_MAX)
		return 0;
	p->line = state_line;
	p->key = "state_dir";
	return nr_conf_fail(p, "%s/%s is too long for a socket (at most %d bytes); set %s",
			    p->c->state_dir, leaf, NR_CONF_SOCKET_PATH_MAX, key);
}

/* A v6 listener is v6-only (platform.h): an IPv4 network in one of its
 * lists can never match, and the clients it names are refused. */
static int check_v4_on_v6(struct nr_conf_parser *p, const struct nr_conf_listen *ls,
			  const char *opt, const struct nr_cidr *list, size_t n)
{
	char net[48];
	size_t i;

	if (ls->addr.family != NR_AF_INET6)
		return 0;
	for (i = 0; i < n; i++) {
		if (list[i].net.family != NR_AF_INET4)
			continue;
		p->line = ls->line;
		p->key = "listen";
		p->sub = NULL;
		return nr_conf_fail(
		    p,
		    "%s=%s/%u is an IPv4 network, but an IPv6 listener takes only "
		    "IPv6 clients; put it on an IPv4 listener (listen 0.0.0.0:%u %s=...)",
		    opt, nr_addr_ntop(&list[i].net, net, sizeof(net)), list[i].prefix,
		    ls->addr.port, opt);
	}
	return 0;
}

/* Secrets the daemon reads as `user`: readable by others, or by a group
 * other than user's, is worth a word (0640 root:<user's group> is fine). */
static void warn_exposed(struct nr_conf_parser *p, int line, const char *what, const char *path)
{
	if (path == NULL || nr_conf_probe_file(path, p->c->user) != 1)
		return;
	p->line = line;
	if (p->c->user != NULL)
		nr_conf_warn_at(p,
				"%s %s is readable by users other than root and %s; chgrp %s and "
				"chmod 640 it",
				what, path, p->c->user, p->c->user);
	else
		nr_conf_warn_at(p, "%s %s is readable by group or others; chmod 600 it", what,
				path);
}

static int finish(struct nr_conf_parser *p)
{
	struct nr_conf *c = p->c;
	int cert = key_line(p, "lan_cert"), keyl = key_line(p, "lan_key");
	int state = key_line(p, "state_dir"), line;
	char a[24], b[24];
	size_t i;
	int rc;

	c->lines.user = key_line(p, "user");
	c->lines.ca_file = key_line(p, "ca_file");
	c->lines.lan_cert = cert;
	c->lines.queue = key_line(p, "queue");
	c->lines.users = key_line(p, "users");
	c->lines.state_dir = state;
	for (i = 0; i < c->smarthost_count; i++) {
		warn_exposed(p, c->smarthost[i].line, "password_file",
			     c->smarthost[i].password_file);
		warn_exposed(p, c->smarthost[i].line, "oauth_token_file",
			     c->smarthost[i].oauth_token_file);
	}
	if (keyl != 0)
		warn_exposed(p, keyl, "lan_key", c->lan_key);
	if (c->lines.users != 0)
		warn_exposed(p, c->lines.users, "users", c->users);
	for (i = 0; i < c->listen_count; i++) {
		const struct nr_conf_listen *ls = &c->listen[i];

		if ((rc = check_v4_on_v6(p, ls, "plain_auth", ls->plain_auth,
					 ls->plain_auth_count)) != 0 ||
		    (rc = check_v4_on_v6(p, ls, "legacy_tls", ls->legacy_tls,
					 ls->legacy_tls_count)) != 0)
			return rc;
	}

	if ((cert != 0) != (keyl != 0)) {
		p->line = cert != 0 ? cert : keyl;
		p->key = cert != 0 ? "lan_cert" : "lan_key";
		return nr_conf_fail(p, "needs %s as well", cert != 0 ? "lan_key" : "lan_cert");
	}
	if (state != 0) {
		/* derived defaults follow the state directory */
		if (cert == 0 && ((rc = derive_path(p, &c->lan_cert, "lan.crt")) != 0 ||
				  (rc = derive_path(p, &c->lan_key, "lan.key")) != 0))
			return rc;
		if ((rc = derive_socket(p, &c->control_socket, "control_socket", "control",
					state)) != 0 ||
		    (rc = derive_socket(p, &c->submit_socket, "submit_socket", "submit", state)) !=
			0)
			return rc;
	}
	for (i = 0; i < c->listen_count; i++) {
		if (c->listen[i].auth == NR_AUTH_REQUIRED && c->users == NULL) {
			p->line = c->listen[i].line;
			p->key = "listen";
			return nr_conf_fail(p, "auth=required needs a users file (key users)");
		}
	}
	if (c->max_sessions_per_client > c->max_sessions) {
		line = key_line(p, "max_sessions_per_client");
		if (line != 0) {
			p->line = line;
			p->key = "max_sessions_per_client";
			return nr_conf_fail(p, "%u is more than max_sessions (%u)",
					    c->max_sessions_per_client, c->max_sessions);
		}
		c->max_sessions_per_client = c->max_sessions;
	}
	if (c->queue_size != 0 && c->max_message_size > c->queue_size) {
		/* the default follows a small queue; an explicit value is the
		 * user's choice, but worth a word */
		line = key_line(p, "max_message_size");
		if (line != 0) {
			p->line = line;
			nr_conf_warn_at(
			    p,
			    "max_message_size %s is larger than the queue (%s): such messages "
			    "get 552",
			    nr_conf_size_text(a, sizeof(a), c->max_message_size),
			    nr_conf_size_text(b, sizeof(b), c->queue_size));
		} else {
			c->max_message_size = c->queue_size;
		}
	}
	if (c->max_header_size > c->max_message_size) {
		line = key_line(p, "max_header_size");
		if (line != 0) {
			p->line = line;
			p->key = "max_header_size";
			return nr_conf_fail(p, "%s is more than max_message_size (%s)",
					    nr_conf_size_text(a, sizeof(a), c->max_header_size),
					    nr_conf_size_text(b, sizeof(b), c->max_message_size));
		}
		c->max_header_size = c->max_message_size;
	}
	return 0;
}

/* ---- the file ------------------------------------------------------------------------------ */

static int parse(struct nr_conf *c, const char *path, const char *text, size_t len, char *err,
		 size_t err_size)
{
	struct nr_conf_parser p;
	struct nr_conf n;
	char *line = NULL;
	size_t pos = 0;
	int rc = NR_EINVAL;

	memset(&p, 0, sizeof(p));
	nr_conf_init(&n);
	p.c = &n;
	p.path = path;
	p.err = err;
	p.err_size = err_size;
	if (err != NULL && err_size > 0)
		err[0] = '\0';
	if (c == NULL)
		return NR_EINVAL;
	if (text == NULL && len > 0) {
		nr_conf_init(c);
		return NR_EINVAL;
	}

	line = nr_malloc(NR_CONF_LINE_MAX + 1);
	n.path = path != NULL ? nr_conf_dup_str(path) : NULL;
	if (line == NULL || (path != NULL && n.path == NULL)) {
		rc = nr_conf_oom(&p);
		goto out;
	}
	/* explicit listen/allow lines replace the defaults instead of adding */
	if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
		pos = 3; /* a byte order mark from a Windows editor */
	while (pos < len) {
		const char *start = text + pos, *nl = memchr(start, '\n', len - pos);
		size_t llen = nl != NULL ? (size_t)(nl - start) : len - pos, i;

		pos += llen + (nl != NULL);
		p.line++;
		p.key = NULL;
		p.sub = NULL;
		if (llen > 0 && start[llen - 1] == '\r')
			llen--;
		if (llen > NR_CONF_LINE_MAX) {
			rc = nr_conf_fail(&p, "line too long (more than %d bytes)",
					  NR_CONF_LINE_MAX);
			goto out;
		}
		for (i = 0; i < llen; i++) {
			unsigned char ch = (unsigned char)start[i];
			if (ch == 0) {
				rc = nr_conf_fail(&p, "NUL byte in line");
				goto out;
			}
			if ((ch < 0x20 && ch != '\t') || ch == 0x7f) {
				rc = nr_conf_fail(&p, "control character 0x%02x in line", ch);
				goto out;
			}
		}
		memcpy(line, start, llen);
		line[llen] = '\0';
		rc = parse_line(&p, line);
		if (rc != 0)
			goto out;
	}
	p.key = NULL;
	rc = finish(&p);
out:
	nr_free(line);
	if (rc != 0) {
		nr_conf_free(&n);
		nr_conf_init(c);
		return rc;
	}
	*c = n;
	return 0;
}

int nr_conf_parse(struct nr_conf *c, const char *path, const char *text, size_t len, char *err,
		  size_t err_size)
{
	return parse(c, path != NULL ? path : "(config)", text, len, err, err_size);
}

int nr_conf_parse_text(struct nr_conf *c, const char *text, size_t len, char *err, size_t err_size)
{
	return parse(c, NULL, text, len, err, err_size);
}
