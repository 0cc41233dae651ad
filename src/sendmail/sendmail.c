/*
 * sendmail.c - the front end: options, envelope, submission.
 *
 * One message per call: the header block is read, the envelope is built
 * (-f or the invoking user; the arguments, plus To/Cc/Bcc with -t), every
 * address is checked before anything is sent, and then one SMTP
 * transaction goes to the daemon's submit socket. Any refusal aborts the
 * whole transaction (RSET), so a message is queued for all its recipients
 * or for none. Without a daemon, sendmail_no_daemon says whether to fail
 * (75) or to run the same session in process and deliver in the foreground.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf.h"
#include "core/ascii.h"
#include "core/fmt.h"
#include "core/log.h"
#include "core/mem.h"
#include "ctl/ctl.h"
#include "posix.h"
#include "proto/proto.h"
#include "sendmail/sendmail.h"
#include "sendmail/sendmail_int.h"
#include "sendmail/sendmail_msg.h"

#define SM_DEFAULT_CONF "/etc/nanorelay.conf"
#define SM_MAX_RCPT 1024 /* recipients of one message, all sources */

struct sm_rcpts {
	char *addr[SM_MAX_RCPT];
	size_t n;
	int err; /* a sysexits code once something was wrong */
	char why[NR_PATH_MAX + 64];
};

struct sm_job {
	struct nr_sm_opts o;
	const struct nr_conf *conf; /* in force: *loaded, or the direct relay's */
	struct nr_conf *loaded;     /* main's; moved into the direct relay */
	char user[64];
	long uid;
	char sender[NR_PATH_MAX + 1];
	struct sm_rcpts r;
	struct sm_msg m;
	struct sm_in in;
	int hdr_end;
	struct nr_sm_hdrinfo info;
};

static const char *prog = "sendmail";

static void say(const char *fmt, ...) NR_PRINTF(1, 2);
static void say(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* ---- addresses ---- */

/*
 * addr as it goes into MAIL FROM/RCPT TO: the local part quoted when it is
 * not a dot-atom (so `$(reboot)@x.test` stays plain data), then checked by
 * the same parser smtpd uses. 0 or 65 with a reason in why.
 */
static int format_path(const char *addr, char *out, size_t size)
{
	const char *at = strrchr(addr, '@');
	size_t llen = at ? (size_t)(at - addr) : strlen(addr), o = 0, i;
	char check[NR_PATH_MAX + 8];

	/* What the delivery side would refuse to send, refused now: blanks,
	 * controls, 8-bit and angle brackets (even inside quotes). */
	for (i = 0; addr[i]; i++) {
		unsigned char c = (unsigned char)addr[i];
		if (c <= 0x20 || c >= 0x7f || c == '<' || c == '>')
			return NR_SM_EX_DATAERR;
	}

	if (addr[0] == '"' || nr_is_dot_atom(addr, llen)) {
		if (strlen(addr) + 1 > size)
			return NR_SM_EX_DATAERR;
		memmove(out, addr, strlen(addr) + 1);
	} else {
		if (size < 3)
			return NR_SM_EX_DATAERR;
		out[o++] = '"';
		for (i = 0; i < llen && o + 4 < size; i++) {
			if (addr[i] == '"' || addr[i] == '\\')
				out[o++] = '\\';
			out[o++] = addr[i];
		}
		if (i < llen || o + 2 + strlen(addr + llen) > size)
			return NR_SM_EX_DATAERR;
		out[o++] = '"';
		memcpy(out + o, addr + llen, strlen(addr + llen) + 1);
	}
	snprintf(check, sizeof(check), "TO:<%s>", out);
	char parsed[NR_PATH_MAX + 1];
	if (strlen(out) + 2 > NR_PATH_MAX ||
	    nr_parse_rcpt_to(check, strlen(check), parsed) != NR_PATH_OK)
		return NR_SM_EX_DATAERR;
	return 0;
}

static int add_rcpt(void *arg, const char *addr)
{
	struct sm_rcpts *r = arg;
	char path[NR_PATH_MAX + 1];

	if (!nr_sendmail_safe_arg(addr, strlen(addr)) || !nr_envelope_safe(addr)) {
		snprintf(r->why, sizeof(r->why), "a recipient contains a control character");
		return r->err = NR_SM_EX_DATAERR;
	}
	if (format_path(addr, path, sizeof(path)) != 0) {
		snprintf(r->why, sizeof(r->why), "not a valid recipient address: %.*s", NR_PATH_MAX,
			 addr);
		return r->err = NR_SM_EX_DATAERR;
	}
	if (r->n >= SM_MAX_RCPT) {
		snprintf(r->why, sizeof(r->why), "more than %d recipients", SM_MAX_RCPT);
		return r->err = NR_SM_EX_USAGE;
	}
	r->addr[r->n] = nr_malloc(strlen(path) + 1);
	if (!r->addr[r->n])
		return r->err = NR_SM_EX_OSERR;
	memcpy(r->addr[r->n++], path, strlen(path) + 1);
	return 0;
}

/* A command-line recipient: "a@x", "a@x,b@y" or "Name <a@x>". Parentheses
 * are kept literally: an argument is an address, not RFC 5322 text. */
static int add_arg_rcpts(struct sm_rcpts *r, const char *arg)
{
	char one[NR_PATH_MAX + 1];
	const char *p = arg;

	while (*p) {
		size_t n = strcspn(p, ",");
		const char *s = p, *lt, *gt;

		p += n + (p[n] == ',');
		while (n > 0 && (*s == ' ' || *s == '\t'))
			s++, n--;
		while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
			n--;
		lt = memchr(s, '<', n);
		gt = lt ? memchr(lt, '>', n - (size_t)(lt - s)) : NULL;
		if (lt && gt) {
			n = (size_t)(gt - lt - 1);
			s = lt + 1;
		}
		if (n == 0)
			continue;
		if (n > NR_PATH_MAX) {
			snprintf(r->why, sizeof(r->why), "recipient address too long");
			return r->err = NR_SM_EX_DATAERR;
		}
		memcpy(one, s, n);
		one[n] = '\0';
		if (add_rcpt(r, one) != 0)
			return r->err;
	}
	return 0;
}

static int build_sender(struct sm_job *j)
{
	const char *s = j->o.sender;

	if (!s) {
		snprintf(j->sender, sizeof(j->sender), "%s", j->user);
	} else if (strcmp(s, "<>") == 0 || s[0] == '\0') {
		j->sender[0] = '\0';
		return 0;
	} else {
		const char *lt = strchr(s, '<'), *gt = lt ? strchr(lt, '>') : NULL;
		size_t n = lt && gt ? (size_t)(gt - lt - 1) : strlen(s);

		if (n > NR_PATH_MAX) {
			say("the sender is too long");
			return NR_SM_EX_DATAERR;
		}
		snprintf(j->sender, sizeof(j->sender), "%.*s", (int)n, lt && gt ? lt + 1 : s);
	}
	char raw[NR_PATH_MAX + 1];
	snprintf(raw, sizeof(raw), "%s", j->sender);
	if (!nr_envelope_safe(raw) || format_path(raw, j->sender, sizeof(j->sender))) {
		say("not a valid sender address: %s", raw);
		return NR_SM_EX_DATAERR;
	}
	return 0;
}

/* ---- the transaction ---- */

static int link_put(void *arg, const void *p, size_t n)
{
	return sm_link_put(arg, p, n);
}

/* 4xx: temporary (75); 5xx: this message cannot go (65). */
static int reply_exit(int code)
{
	return code >= 400 && code < 500 ? NR_SM_EX_TEMPFAIL : NR_SM_EX_DATAERR;
}

static int link_error(const char *what, int rc)
{
	fprintf(stderr, "%s: connection to the relay lost during %s: %s\n", prog, what,
		nr_strerror(rc));
	return NR_SM_EX_TEMPFAIL;
}

static int refused(struct sm_link *l, const char *what, const char *arg)
{
	fprintf(stderr, "%s: %s%s refused: %d %s\n", prog, what, arg, l->code, l->text);
	(void)sm_link_cmd(l, "RSET");
	(void)sm_link_cmd(l, "QUIT");
	return reply_exit(l->code);
}

/* A From: header when the message has none (-F gives the display name). */
static int put_from(struct sm_job *j, struct sm_out *out)
{
	char line[NR_PATH_MAX * 2 + 300], *p = line;
	const char *at = strchr(j->sender, '@');
	const char *host = j->conf->hostname ? j->conf->hostname : "localhost";
	size_t i;

	if (j->info.has_from || j->sender[0] == '\0')
		return 0;
	p += sprintf(p, "From: ");
	if (j->o.full_name) {
		*p++ = '"';
		for (i = 0; j->o.full_name[i] && i < 200; i++) {
			char c = j->o.full_name[i];
			if (c == '"' || c == '\\')
				*p++ = '\\';
			*p++ = (unsigned char)c < 32 ? ' ' : c;
		}
		*p++ = '"';
		*p++ = ' ';
	}
	p += sprintf(p, "<%s%s%s>\n", j->sender, at ? "" : "@", at ? "" : host);
	return sm_out_bytes(out, line, (size_t)(p - line));
}

static int send_data(struct sm_job *j, struct sm_link *l)
{
	struct sm_out out = {link_put, l, 1, 0};
	int rc;

	if ((rc = sm_out_bytes(&out, j->m.hdr, j->m.hlen)) != 0 || (rc = put_from(j, &out)) != 0 ||
	    (rc = sm_out_bytes(&out, "\n", 1)) != 0)
		return rc;
	if (j->m.plen && (rc = sm_out_bytes(&out, j->m.pending, j->m.plen)) != 0)
		return rc;
	if (j->hdr_end == SM_HDR_BLANK || j->hdr_end == SM_HDR_BODY) {
		if ((rc = sm_msg_stream_body(&j->m, &j->in, &out)) != 0)
			return rc;
	}
	return sm_out_end(&out);
}

static int transaction(struct sm_job *j, struct sm_link *l)
{
	char cmd[NR_PATH_MAX + 64];
	size_t i;
	int rc;

	if ((rc = sm_link_reply(l, NULL)) != 0)
		return link_error("the greeting", rc);
	if (l->code != 220)
		return refused(l, "the session", "");
	if ((rc = sm_link_cmd(l, "EHLO localhost")) != 0)
		return link_error("EHLO", rc);
	if (l->code != 250)
		return refused(l, "EHLO", "");
	snprintf(cmd, sizeof(cmd), "MAIL FROM:<%s>", j->sender);
	if ((rc = sm_link_cmd(l, cmd)) != 0)
		return link_error("MAIL", rc);
	if (l->code != 250)
		return refused(l, "sender ", j->sender);
	for (i = 0; i < j->r.n; i++) {
		snprintf(cmd, sizeof(cmd), "RCPT TO:<%s>", j->r.addr[i]);
		if ((rc = sm_link_cmd(l, cmd)) != 0)
			return link_error("RCPT", rc);
		if (l->code != 250 && l->code != 251)
			return refused(l, "recipient ", j->r.addr[i]);
	}
	if ((rc = sm_link_cmd(l, "DATA")) != 0)
		return link_error("DATA", rc);
	if (l->code != 354)
		return refused(l, "DATA", "");
	if ((rc = send_data(j, l)) != 0) {
		if (rc == NR_EIO) {
			say("cannot read the message from standard input");
			return NR_SM_EX_IOERR;
		}
		/* The relay may have said why before it went away. */
		if (sm_link_reply(l, NULL) == 0 && l->code >= 400)
			return refused(l, "the message", "");
		return link_error("the message", rc);
	}
	if ((rc = sm_link_reply(l, NULL)) != 0)
		return link_error("the end of the message", rc);
	if (l->code != 250)
		return refused(l, "the message", "");
	if (j->o.verbose)
		fprintf(stderr, "%s: %d %s\n", prog, l->code, l->text);
	(void)sm_link_cmd(l, "QUIT");
	return NR_SM_EX_OK;
}

/* ---- -bs: relay an SMTP dialogue between stdio and the relay ---- */

static void raw_stdout(const void *p, size_t n)
{
	fwrite(p, 1, n, stdout);
}

/* One client line (LF included) from stdin to the relay; 1 at EOF. */
static int relay_line(struct sm_link *l, char *last, size_t lastsz)
{
	size_t n = 0;
	int c, rc;

	while ((c = getc(stdin)) != EOF) {
		char ch = (char)c;

		if (n + 1 < lastsz)
			last[n++] = ch;
		if ((rc = sm_link_put(l, &ch, 1)) != 0)
			return rc;
		if (c == '\n')
			break;
	}
	last[n] = '\0';
	if (c == EOF && n == 0)
		return 1;
	return sm_link_flush(l);
}

static int is_dot_line(const char *s)
{
	return strcmp(s, ".\r\n") == 0 || strcmp(s, ".\n") == 0 || strcmp(s, ".") == 0;
}

static int smtp_on_stdio(struct sm_link *l)
{
	char last[16];
	int rc;

	for (;;) {
		rc = sm_link_reply(l, raw_stdout);
		fflush(stdout);
		if (rc != 0)
			return NR_SM_EX_OK; /* the relay closed: so does the client */
		if (l->code == 221 || l->code == 421)
			return NR_SM_EX_OK;
		do {
			rc = relay_line(l, last, sizeof(last));
			if (rc != 0)
				return rc > 0 ? NR_SM_EX_OK : link_error("the dialogue", rc);
		} while (l->code == 354 && !is_dot_line(last));
	}
}

/* ---- connecting ---- */

static int no_daemon(struct sm_job *j, int why, int (*run)(struct sm_job *, struct sm_link *))
{
	struct sm_direct *dm;
	struct sm_link l;
	nr_sock_t sock;
	int rc, ex;

	if (j->o.mode == NR_SM_MODE_SMTP) {
		/* A 250 given in process would not be safe: the RAM queue dies
		 * with us while the client believes the mail is taken. */
		printf("421 4.3.0 nanorelay is not running, try again later\r\n");
		fflush(stdout);
		fprintf(stderr, "%s: -bs needs the nanorelay daemon (cannot connect to %s: %s)\n",
			prog, j->conf->submit_socket, nr_strerror(why));
		return NR_SM_EX_TEMPFAIL;
	}
	if (j->conf->sendmail_no_daemon == NR_NO_DAEMON_FAIL) {
		fprintf(stderr,
			"%s: the nanorelay daemon is not running (cannot connect to %s: %s); "
			"try again later\n",
			prog, j->conf->submit_socket, nr_strerror(why));
		return NR_SM_EX_TEMPFAIL;
	}
	rc = sm_direct_open(&dm, j->loaded, j->uid, &sock);
	if (rc != 0) {
		fprintf(stderr, "%s: no daemon, and cannot deliver directly: %s\n", prog,
			nr_strerror(rc));
		return NR_SM_EX_TEMPFAIL;
	}
	j->conf = sm_direct_conf(dm); /* the relay has it now */
	sm_link_init(&l, sock, sm_direct_loop(dm), j->conf->command_timeout_ms);
	ex = run(j, &l);
	nr_plat_sock_close(sock);
	if (ex == NR_SM_EX_OK)
		ex = sm_direct_deliver(dm);
	j->conf = j->loaded; /* inited: nothing of it is used after this */
	sm_direct_close(dm);
	return ex;
}

/* The message goes only to a socket that root or the daemon's user made:
 * anything else may be an impostor waiting for our mail (and saying 250).
 * Refused, the message stays with the caller: a temporary failure. */
static int check_submit_socket(struct sm_job *j)
{
	long owner;
	int rc = nr_plat_local_check_owner(j->conf->submit_socket, j->conf->user, &owner);

	if (rc != NR_EINVAL && rc != NR_EPERM)
		return 0; /* ours, missing (no daemon) or not checkable here */
	if (j->o.mode == NR_SM_MODE_SMTP) {
		printf("421 4.3.0 the submission socket is not trusted, try again later\r\n");
		fflush(stdout);
	}
	if (rc == NR_EINVAL)
		fprintf(stderr, "%s: refusing %s: it is not a socket; the message was not sent\n",
			prog, j->conf->submit_socket);
	else
		fprintf(stderr,
			"%s: refusing %s: it belongs to uid %ld, not to root or the daemon's user "
			"(%s); someone may be impersonating the daemon; the message was not sent\n",
			prog, j->conf->submit_socket, owner,
			j->conf->user ? j->conf->user : "none configured");
	return NR_SM_EX_TEMPFAIL;
}

static int submit(struct sm_job *j, int (*run)(struct sm_job *, struct sm_link *))
{
	struct sm_link l;
	nr_sock_t sock;
	int rc, ex;

	if ((ex = check_submit_socket(j)) != 0)
		return ex;
	rc = nr_plat_local_connect(j->conf->submit_socket, &sock);
	if (rc != 0)
		return no_daemon(j, rc, run);
	sm_link_init(&l, sock, NULL, j->conf->command_timeout_ms);
	ex = run(j, &l);
	nr_plat_sock_close(sock);
	return ex;
}

static int run_smtp(struct sm_job *j, struct sm_link *l)
{
	(void)j;
	return smtp_on_stdio(l);
}

/* ---- the message ---- */

static int read_message_head(struct sm_job *j)
{
	size_t i;
	int rc;

	j->m.hcap = j->conf->max_header_size;
	j->m.hdr = nr_malloc(j->m.hcap ? j->m.hcap : 1);
	if (!j->m.hdr)
		return NR_SM_EX_OSERR;
	sm_in_init(&j->in, stdin, j->o.ignore_dots);
	j->hdr_end = sm_msg_read_headers(&j->m, &j->in);
	if (j->hdr_end == SM_HDR_TOOBIG) {
		fprintf(stderr, "%s: the header block is larger than max_header_size (%s bytes)\n",
			prog, NR_U64(j->m.hcap));
		return NR_SM_EX_DATAERR;
	}
	rc = nr_sendmail_scan_headers(j->m.hdr, &j->m.hlen, &j->info,
				      j->o.read_recipients ? add_rcpt : NULL, &j->r);
	if (rc == 0)
		for (i = 0; i < j->o.nrcpt && rc == 0; i++)
			rc = add_arg_rcpts(&j->r, j->o.rcpt[i]);
	if (rc != 0) {
		fprintf(stderr, "%s: %s\n", prog,
			j->r.why[0] ? j->r.why : "cannot parse the recipient headers");
		return rc;
	}
	if (j->r.n == 0) {
		fprintf(stderr, "%s: no recipients given%s\n", prog,
			j->o.read_recipients ? " (none in To:, Cc: or Bcc: either)" : "");
		return NR_SM_EX_USAGE;
	}
	return 0;
}

static int deliver_one(struct sm_job *j)
{
	int rc = build_sender(j);

	if (rc == 0)
		rc = read_message_head(j);
	if (rc == 0)
		rc = submit(j, transaction);
	return rc;
}

static const char *base_name(const char *p)
{
	const char *s = strrchr(p, '/');

	return s ? s + 1 : p;
}

static void job_free(struct sm_job *j)
{
	size_t i;

	for (i = 0; i < j->r.n; i++)
		nr_free(j->r.addr[i]);
	nr_free(j->m.hdr);
}

int nr_sendmail_main(int argc, char **argv, const char *conf_path)
{
	static struct sm_job j;
	struct nr_conf conf;
	char err[512];
	int rc;

	memset(&j, 0, sizeof(j));
	prog = base_name(argv[0]);
	rc = nr_sendmail_parse_opts(argc, argv, &j.o, err, sizeof(err));
	if (rc != 0) {
		fprintf(stderr, "%s: %s\n", prog, err);
		if (rc == NR_SM_EX_USAGE)
			fprintf(stderr, "usage: sendmail [-t] [-i] [-f SENDER] [-F NAME] [-bm|-bs] "
					"[-v] [-C FILE] [--] [ADDRESS...]\n");
		return rc;
	}
	if (strcmp(prog, "newaliases") == 0 || j.o.mode == NR_SM_MODE_NEWALIASES) {
		printf("%s: nanorelay keeps its aliases in its configuration (alias lines); "
		       "nothing to rebuild\n",
		       prog);
		return NR_SM_EX_OK;
	}
	if (!j.o.conf_path)
		j.o.conf_path = conf_path;
	if (!j.o.conf_path)
		j.o.conf_path = getenv("NANORELAY_CONF");
	if (!j.o.conf_path || !j.o.conf_path[0])
		j.o.conf_path = SM_DEFAULT_CONF;
	nr_conf_init(&conf);
	if (nr_conf_load(&conf, j.o.conf_path, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s: %s\n", prog, err);
		return NR_SM_EX_CONFIG;
	}
	if (strcmp(prog, "mailq") == 0 || j.o.mode == NR_SM_MODE_QUEUE) {
		/* The queue listing is the control command's: one layout. */
		char *mailq_argv[] = {"mailq", NULL};

		rc = nr_ctl_cli_main(conf.control_socket, conf.user, 1, mailq_argv);
		nr_conf_free(&conf);
		return rc;
	}
	nr_plat_log_open(NR_LOG_SINK_STDERR, prog);
	nr_log_set_level(j.o.verbose ? NR_LOG_INFO : NR_LOG_ERR);
	j.conf = &conf;
	j.loaded = &conf;
	(void)nr_plat_user_name(&j.uid, j.user, sizeof(j.user));
	if (j.o.mode == NR_SM_MODE_SMTP)
		rc = submit(&j, run_smtp);
	else
		rc = deliver_one(&j);
	job_free(&j);
	nr_conf_free(&conf);
	return rc;
}
