/*
 * ctl_client.c - the control commands on the command line: connect to the
 * daemon's control socket, send one request, print the reply. This is the
 * CLI process, so waiting is fine here (bounded by CTL_CLIENT_TIMEOUT_MS).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/test_upstream.h" /* nr_sender_refusal_advice */
#include "ctl/ctl.h"
#include "ctl/ctl_text.h"
#include "posix.h"

/* How long one request may take end to end. */
#define CTL_CLIENT_TIMEOUT_MS 30000
/* send-test: default and largest wait for an outcome, and the poll step. */
#define CTL_SEND_TEST_WAIT_S 30
#define CTL_SEND_TEST_WAIT_MAX_S 3600
#define CTL_SEND_TEST_STEP_MS 200

struct ctl_reply {
	int code;
	char head[400];         /* the text of the first line */
	struct nr_ctl_out body; /* everything after it */
};

static int connect_error(const char *path, int rc)
{
	if (rc == NR_EPERM) {
		fprintf(stderr,
			"nanorelay: cannot reach the control socket %s: permission denied\n", path);
		return NR_CTL_EX_NOPERM;
	}
	fprintf(stderr,
		"nanorelay: the daemon is not running (nothing answers on the control socket %s: "
		"%s)\n",
		path, nr_strerror(rc));
	return NR_CTL_EX_UNAVAILABLE;
}

/* Wait until s is ready for want; 0, or NR_ETIMEDOUT at the deadline. */
static int wait_ready(nr_sock_t s, unsigned want, uint64_t deadline)
{
	struct nr_pollfd p;
	uint64_t now = nr_plat_now_ms();
	int rc;

	if (now >= deadline)
		return NR_ETIMEDOUT;
	p.sock = s;
	p.want = (uint8_t)want;
	p.ready = 0;
	rc = nr_plat_poll(&p, 1, (int)(deadline - now));
	return rc < 0 ? rc : 0;
}

static int send_all(nr_sock_t s, const char *data, size_t len, uint64_t deadline)
{
	size_t off = 0;

	while (off < len) {
		long n = nr_plat_sock_write(s, data + off, len - off);
		if (n == NR_EAGAIN) {
			int rc = wait_ready(s, NR_POLL_OUT, deadline);
			if (rc != 0)
				return rc;
			continue;
		}
		if (n < 0)
			return (int)n;
		off += (size_t)n;
	}
	return 0;
}

static int read_all(nr_sock_t s, struct nr_ctl_out *o, uint64_t deadline)
{
	char buf[4096];

	for (;;) {
		long n = nr_plat_sock_read(s, buf, sizeof(buf));
		if (n == NR_ECLOSED)
			return 0;
		if (n == NR_EAGAIN) {
			int rc = wait_ready(s, NR_POLL_IN, deadline);
			if (rc != 0)
				return rc;
			continue;
		}
		if (n < 0)
			return (int)n;
		nr_ctl_out_printf(o, "%.*s", (int)n, buf);
		if (o->nomem)
			return NR_ENOMEM;
	}
}

/* Split "<code> <text>\n<body>" into r. */
static int parse_reply(const struct nr_ctl_out *raw, struct ctl_reply *r)
{
	const char *p = raw->p ? raw->p : "", *nl = strchr(p, '\n');
	char *end;
	long code;
	size_t n;

	if (!nl)
		return NR_EPROTO;
	code = strtol(p, &end, 10);
	if (end == p || *end != ' ' || code < 0 || code > 255)
		return NR_EPROTO;
	n = (size_t)(nl - end - 1);
	if (n >= sizeof(r->head))
		n = sizeof(r->head) - 1;
	memcpy(r->head, end + 1, n);
	r->head[n] = '\0';
	r->code = (int)code;
	nr_ctl_out_printf(&r->body, "%s", nl + 1);
	return 0;
}

/* One request/reply exchange. Returns an exit code when the exchange
 * itself failed (message printed), else 0 with r filled. */
static int exchange(const char *path, const char *request, struct ctl_reply *r)
{
	uint64_t deadline = nr_plat_now_ms() + CTL_CLIENT_TIMEOUT_MS;
	struct nr_ctl_out raw;
	char line[600];
	nr_sock_t s;
	int rc;

	memset(r, 0, sizeof(*r));
	nr_ctl_out_init(&r->body, (size_t)CONFIG_NR_CTL_REPLY_MAX + 1024);
	rc = nr_plat_local_connect(path, &s);
	if (rc == NR_EBUSY) {
		fprintf(stderr, "nanorelay: the control socket %s is busy, try again\n", path);
		return NR_CTL_EX_TEMPFAIL;
	}
	if (rc != 0)
		return connect_error(path, rc);
	snprintf(line, sizeof(line), "%s\n", request);
	nr_ctl_out_init(&raw, (size_t)CONFIG_NR_CTL_REPLY_MAX + 1024);
	/* A daemon that turns us away (busy) answers and closes before
	 * reading: a failed send still leaves its answer to read. */
	rc = send_all(s, line, strlen(line), deadline);
	if (rc == 0 || rc == NR_ERESET || rc == NR_ECLOSED)
		rc = read_all(s, &raw, deadline);
	nr_plat_sock_close(s);
	if (rc == 0 || (rc == NR_ERESET && raw.len))
		rc = parse_reply(&raw, r);
	nr_ctl_out_free(&raw);
	if (rc == NR_ETIMEDOUT) {
		fprintf(stderr, "nanorelay: no reply from the daemon on %s within %d s\n", path,
			CTL_CLIENT_TIMEOUT_MS / 1000);
		return NR_CTL_EX_TEMPFAIL;
	}
	if (rc != 0) {
		fprintf(stderr, "nanorelay: bad reply from the daemon on %s: %s\n", path,
			nr_strerror(rc));
		return NR_CTL_EX_SOFTWARE;
	}
	return 0;
}

/* Send request, print the body on stdout and the error (if any) on
 * stderr; return the daemon's exit code. */
static int simple_command(const char *path, const char *request)
{
	struct ctl_reply r;
	int rc = exchange(path, request, &r);

	if (rc != 0) {
		nr_ctl_out_free(&r.body);
		return rc;
	}
	if (r.body.len)
		fwrite(r.body.p, 1, r.body.len, stdout);
	if (r.code != 0)
		fprintf(stderr, "nanorelay: %s\n", r.head);
	nr_ctl_out_free(&r.body);
	return r.code;
}

/* The value of "key " in a msg reply body, up to the end of its line. */
static const char *msg_field(const char *body, const char *key, char *dst, size_t size)
{
	size_t klen = strlen(key);
	const char *p = body;

	while (p && *p) {
		if (strncmp(p, key, klen) == 0 && p[klen] == ' ') {
			const char *v = p + klen + 1;
			size_t n = strcspn(v, "\n");
			if (n >= size)
				n = size - 1;
			memcpy(dst, v, n);
			dst[n] = '\0';
			return dst;
		}
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return NULL;
}

/* One look at the test message: an exit code when it is settled, or -1
 * while it is still on its way. */
static int follow_step(const char *path, const char *id, const char *to, int last)
{
	char req[64], state[32], error[400], attempts[16], up[400];
	struct ctl_reply r;
	long held = 0;
	int rc;

	snprintf(req, sizeof(req), "msg %s", id);
	rc = exchange(path, req, &r);
	if (rc != 0)
		return rc;
	if (r.code != 0) {
		fprintf(stderr, "nanorelay: %s\n", r.head);
		nr_ctl_out_free(&r.body);
		return r.code;
	}
	if (!msg_field(r.body.p, "state", state, sizeof(state)))
		state[0] = '\0';
	if (!msg_field(r.body.p, "error", error, sizeof(error)))
		error[0] = '\0';
	if (!msg_field(r.body.p, "attempts", attempts, sizeof(attempts)))
		strcpy(attempts, "0");
	if (msg_field(r.body.p, "upstream", up, sizeof(up)))
		held = strtol(up, NULL, 10);
	nr_ctl_out_free(&r.body);
	if (strcmp(state, "delivered") == 0) {
		printf("%s: delivered to %s (%s)\n", id, to, error);
		return NR_CTL_EX_OK;
	}
	if (strcmp(state, "bounced") == 0) {
		char fix[NR_PROBE_ADVICE_MAX];

		printf("%s: refused permanently for %s (%s)\n", id, to, error);
		if (nr_sender_refusal_advice(error, fix, sizeof(fix)))
			printf("  fix: %s\n", fix); /* a provider's sender rule (issue 19) */
		return NR_CTL_EX_NOUSER;
	}
	if (strcmp(state, "pending") != 0) {
		printf("%s: no longer in the queue (deleted or expired)\n", id);
		return NR_CTL_EX_UNAVAILABLE;
	}
	if (strtol(attempts, NULL, 10) > 0) {
		printf("%s: deferred: %s (it stays queued and is retried)\n", id, error);
		return NR_CTL_EX_TEMPFAIL;
	}
	if (held > 0) {
		printf("%s: deferred, not tried yet: smarthost %s\n", id,
		       up + strcspn(up, " ") + 1);
		return NR_CTL_EX_TEMPFAIL;
	}
	if (last) {
		printf("%s: still queued, no outcome yet (see `nanorelay status`)\n", id);
		return NR_CTL_EX_TEMPFAIL;
	}
	return -1;
}

static int cmd_send_test(const char *path, int argc, char **argv)
{
	const char *to = NULL;
	long wait_s = CTL_SEND_TEST_WAIT_S;
	char req[400], id[32];
	struct ctl_reply r;
	uint64_t deadline;
	int i, rc;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--wait") == 0 && i + 1 < argc) {
			char *end;
			wait_s = strtol(argv[++i], &end, 10);
			if (*end || wait_s < 1 || wait_s > CTL_SEND_TEST_WAIT_MAX_S)
				return NR_CTL_EX_USAGE;
		} else if (!to && argv[i][0] != '-') {
			to = argv[i];
		} else {
			return NR_CTL_EX_USAGE;
		}
	}
	if (!to || strlen(to) > 300 || strpbrk(to, " \r\n"))
		return NR_CTL_EX_USAGE;
	snprintf(req, sizeof(req), "send-test %s", to);
	rc = exchange(path, req, &r);
	if (rc != 0)
		return rc;
	if (r.code != 0 || !r.body.p || strlen(r.body.p) < 16) {
		fprintf(stderr, "nanorelay: %s\n", r.head);
		nr_ctl_out_free(&r.body);
		return r.code ? r.code : NR_CTL_EX_SOFTWARE;
	}
	snprintf(id, sizeof(id), "%.16s", r.body.p);
	nr_ctl_out_free(&r.body);
	printf("%s: test message to %s queued; following it for up to %ld s\n", id, to, wait_s);
	fflush(stdout);
	deadline = nr_plat_now_ms() + (uint64_t)wait_s * 1000;
	for (;;) {
		int last = nr_plat_now_ms() >= deadline;

		rc = follow_step(path, id, to, last);
		if (rc >= 0)
			return rc;
		(void)nr_plat_poll(NULL, 0, CTL_SEND_TEST_STEP_MS);
	}
}

static const char usage_text[] = "usage: nanorelay [-c FILE] status [--json]\n"
				 "       nanorelay [-c FILE] mailq\n"
				 "       nanorelay [-c FILE] flush\n"
				 "       nanorelay [-c FILE] delete QUEUE-ID\n"
				 "       nanorelay [-c FILE] send-test ADDRESS [--wait SECONDS]\n";

static int usage(void)
{
	fputs(usage_text, stderr);
	return NR_CTL_EX_USAGE;
}

int nr_ctl_is_command(const char *name)
{
	static const char *const cmds[] = {"status", "mailq", "flush", "delete", "send-test"};
	size_t i;

	for (i = 0; i < NR_ARRAY_LEN(cmds); i++)
		if (strcmp(name, cmds[i]) == 0)
			return 1;
	return 0;
}

/* Only a socket made by root or the daemon's user speaks for the daemon:
 * another owner may be an impostor that prints what it likes as `status`
 * (or takes a send-test message). A missing socket is reported by the
 * connect that follows. */
static int check_socket(const char *path, const char *daemon_user)
{
	long owner;
	int rc = nr_plat_local_check_owner(path, daemon_user, &owner);

	if (rc == NR_EINVAL) {
		fprintf(stderr, "nanorelay: refusing the control socket %s: it is not a socket\n",
			path);
		return NR_CTL_EX_TEMPFAIL;
	}
	if (rc == NR_EPERM) {
		fprintf(stderr,
			"nanorelay: refusing the control socket %s: it belongs to uid %ld, not to "
			"root or the daemon's user (%s); someone may be impersonating the daemon\n",
			path, owner, daemon_user ? daemon_user : "none configured");
		return NR_CTL_EX_TEMPFAIL;
	}
	return 0;
}

int nr_ctl_cli_main(const char *socket_path, const char *daemon_user, int argc, char **argv)
{
	const char *cmd = argc > 0 ? argv[0] : "";
	char req[64];
	int rc;

	if (!socket_path || !socket_path[0]) {
		fprintf(stderr, "nanorelay: no control socket is configured\n");
		return NR_CTL_EX_UNAVAILABLE;
	}
	if (nr_ctl_is_command(cmd) && (rc = check_socket(socket_path, daemon_user)) != 0)
		return rc;
	if (strcmp(cmd, "status") == 0) {
		if (argc == 1)
			return simple_command(socket_path, "status");
		if (argc == 2 && strcmp(argv[1], "--json") == 0)
			return simple_command(socket_path, "status json");
		return usage();
	}
	if (strcmp(cmd, "mailq") == 0 || strcmp(cmd, "flush") == 0)
		return argc == 1 ? simple_command(socket_path, cmd) : usage();
	if (strcmp(cmd, "delete") == 0) {
		if (argc != 2 || strlen(argv[1]) != 16 ||
		    strspn(argv[1], "0123456789abcdefABCDEF") != 16) {
			fprintf(stderr, "nanorelay: delete needs one queue id (16 hex digits, as "
					"mailq shows it)\n");
			return usage();
		}
		snprintf(req, sizeof(req), "delete %s", argv[1]);
		return simple_command(socket_path, req);
	}
	if (strcmp(cmd, "send-test") == 0) {
		rc = cmd_send_test(socket_path, argc, argv);
		return rc == NR_CTL_EX_USAGE ? usage() : rc;
	}
	return usage();
}
