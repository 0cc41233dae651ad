/*
 * test_tls.c - the mbedTLS adapter over real loopback sockets: our client
 * against our server, our server against `openssl s_client`, our client
 * against `openssl s_server` with good and bad certificates minted by the
 * openssl CLI (faketime for an expired one), certificate generation, the
 * unset-clock rule, and the hash helpers against published vectors.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <mbedtls/version.h>

#include "core/build.h"
#include "test.h"
#include "tls/tls.h"
#include "tls/tls_conn.h"

#define HOST "localhost"

static char dir[256];
static char self_exe[512];

static const char *path_in(const char *name)
{
	static char bufs[8][512];
	static int i;
	char *b = bufs[i++ % 8];
	snprintf(b, 512, "%s/%s", dir, name);
	return b;
}

/* ---- processes ---------------------------------------------------------------- */

/* fork/exec argv with stdin from stdin_fd (-1: /dev/null), output to
 * dir/log. Returns the pid. */
static pid_t spawn(char *const argv[], int stdin_fd)
{
	pid_t pid = fork();
	if (pid == 0) {
		int in = stdin_fd >= 0 ? stdin_fd : open("/dev/null", O_RDONLY);
		int out = open(path_in("log"), O_WRONLY | O_CREAT | O_APPEND, 0600);
		dup2(in, 0);
		dup2(out, 1);
		dup2(out, 2);
		execvp(argv[0], argv);
		_exit(127);
	}
	return pid;
}

static int run(char *const argv[])
{
	int st = 0;
	pid_t pid = spawn(argv, -1);
	if (pid < 0 || waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

#define RUN_CMD(...)                                                                               \
	do {                                                                                       \
		char *argv_[] = {__VA_ARGS__, NULL};                                               \
		int rc_ = run(argv_);                                                              \
		if (rc_ != 0)                                                                      \
			fprintf(stderr, "command failed (%d): %s ...\n", rc_, argv_[0]);           \
		EXPECT_EQ(rc_, 0);                                                                 \
	} while (0)

static void stop(pid_t pid)
{
	int st;
	if (pid <= 0)
		return;
	kill(pid, SIGTERM);
	waitpid(pid, &st, 0);
}

/* ---- certificates --------------------------------------------------------------- */

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

static void make_ca(const char *name, const char *cn)
{
	char key[64], crt[64], subj[128];
	snprintf(key, sizeof(key), "%s.key", name);
	snprintf(crt, sizeof(crt), "%s.crt", name);
	snprintf(subj, sizeof(subj), "/CN=%s", cn);
	RUN_CMD("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
		"-nodes", "-keyout", (char *)path_in(key), "-out", (char *)path_in(crt), "-days",
		"3650", "-subj", subj, "-addext", "basicConstraints=critical,CA:TRUE", "-addext",
		"keyUsage=critical,keyCertSign,cRLSign");
}

/* Leaf (or intermediate when ext is "ca.ext") signed by issuer. faketime_at:
 * NULL, or a date to mint the certificate at. */
static void make_signed(const char *name, const char *cn, const char *issuer, const char *ext,
			const char *days, const char *faketime_at)
{
	char key[64], csr[64], crt[64], ikey[64], icrt[64], subj[128];
	snprintf(key, sizeof(key), "%s.key", name);
	snprintf(csr, sizeof(csr), "%s.csr", name);
	snprintf(crt, sizeof(crt), "%s.crt", name);
	snprintf(ikey, sizeof(ikey), "%s.key", issuer);
	snprintf(icrt, sizeof(icrt), "%s.crt", issuer);
	snprintf(subj, sizeof(subj), "/CN=%s", cn);
	RUN_CMD("openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
		"-nodes", "-keyout", (char *)path_in(key), "-out", (char *)path_in(csr), "-subj",
		subj);
	if (faketime_at) {
		RUN_CMD("faketime", (char *)faketime_at, "openssl", "x509", "-req", "-in",
			(char *)path_in(csr), "-CA", (char *)path_in(icrt), "-CAkey",
			(char *)path_in(ikey), "-CAcreateserial", "-days", (char *)days, "-extfile",
			(char *)path_in(ext), "-out", (char *)path_in(crt));
	} else {
		RUN_CMD("openssl", "x509", "-req", "-in", (char *)path_in(csr), "-CA",
			(char *)path_in(icrt), "-CAkey", (char *)path_in(ikey), "-CAcreateserial",
			"-days", (char *)days, "-extfile", (char *)path_in(ext), "-out",
			(char *)path_in(crt));
	}
}

static void make_certs(void)
{
	write_file(path_in("leaf.ext"), "subjectAltName=DNS:localhost\n"
					"basicConstraints=CA:FALSE\n"
					"extendedKeyUsage=serverAuth\n");
	write_file(path_in("other.ext"), "subjectAltName=DNS:other.example\n"
					 "extendedKeyUsage=serverAuth\n");
	write_file(path_in("ca.ext"), "basicConstraints=critical,CA:TRUE\n"
				      "keyUsage=critical,keyCertSign,cRLSign\n");
	make_ca("ca", "nanorelay test CA");
	make_ca("evil", "unknown CA");
	make_signed("good", "localhost", "ca", "leaf.ext", "365", NULL);
	make_signed("wrongname", "other.example", "ca", "other.ext", "365", NULL);
	make_signed("expired", "localhost", "ca", "leaf.ext", "30", "2021-01-01 00:00:00");
	make_signed("untrusted", "localhost", "evil", "leaf.ext", "365", NULL);
	make_signed("inter", "nanorelay intermediate", "ca", "ca.ext", "365", NULL);
	make_signed("viainter", "localhost", "inter", "leaf.ext", "365", NULL);
	RUN_CMD("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
		"-nodes", "-keyout", (char *)path_in("self.key"), "-out",
		(char *)path_in("self.crt"), "-days", "365", "-subj", "/CN=localhost", "-addext",
		"subjectAltName=DNS:localhost");
}

/* ---- sockets ------------------------------------------------------------------------ */

static void set_nonblocking(int fd)
{
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

static int listen_any(int *port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t al = sizeof(a);
	int one = 1;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(fd, 8) != 0)
		return -1;
	getsockname(fd, (struct sockaddr *)&a, &al);
	*port = ntohs(a.sin_port);
	return fd;
}

static int free_port(void)
{
	int port = 0, fd = listen_any(&port);
	close(fd);
	return port;
}

static int connect_port(int port)
{
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_port = htons((uint16_t)port),
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
		close(fd);
		return -1;
	}
	set_nonblocking(fd);
	return fd;
}

/* Retry until a freshly spawned server listens (5 s). */
static int connect_retry(int port)
{
	for (int i = 0; i < 100; i++) {
		int fd = connect_port(port);
		if (fd >= 0)
			return fd;
		usleep(50000);
	}
	return -1;
}

static void tcp_pair(int *c, int *s)
{
	int port = 0, l = listen_any(&port);
	*c = connect_port(port);
	*s = accept(l, NULL, NULL);
	set_nonblocking(*s);
	close(l);
}

/* ---- driving handshakes -------------------------------------------------------------- */

static short poll_events(unsigned wants)
{
	return (short)(((wants & NR_POLL_IN) ? POLLIN : 0) | ((wants & NR_POLL_OUT) ? POLLOUT : 0));
}

/* One side, against a peer in another process. */
static int drive(struct nr_tls *t, int fd)
{
	for (int i = 0; i < 1000; i++) {
		int r = nr_tls_handshake(t);
		if (r != NR_EAGAIN)
			return r;
		struct pollfd p = {.fd = fd, .events = poll_events(nr_tls_wants(t))};
		poll(&p, 1, 10000);
	}
	return NR_ETIMEDOUT;
}

/* Both sides in this process. */
static void drive_both(struct nr_tls *a, int afd, int *ra, struct nr_tls *b, int bfd, int *rb)
{
	*ra = *rb = NR_EAGAIN;
	for (int i = 0; i < 2000 && (*ra == NR_EAGAIN || *rb == NR_EAGAIN); i++) {
		struct pollfd p[2] = {{.fd = afd}, {.fd = bfd}};
		if (*ra == NR_EAGAIN)
			*ra = nr_tls_handshake(a);
		if (*rb == NR_EAGAIN)
			*rb = nr_tls_handshake(b);
		p[0].events = *ra == NR_EAGAIN ? poll_events(nr_tls_wants(a)) : 0;
		p[1].events = *rb == NR_EAGAIN ? poll_events(nr_tls_wants(b)) : 0;
		if (*ra == NR_EAGAIN || *rb == NR_EAGAIN)
			poll(p, 2, 100);
	}
}

/* Move len bytes from writer to reader through both sessions. */
static int transfer(struct nr_tls *w, int wfd, struct nr_tls *r, int rfd, const uint8_t *data,
		    uint8_t *got, size_t len)
{
	size_t sent = 0, recvd = 0;
	for (int i = 0; i < 100000 && recvd < len; i++) {
		if (sent < len) {
			long n = nr_tls_write(w, data + sent, len - sent);
			if (n > 0)
				sent += (size_t)n;
			else if (n != NR_EAGAIN)
				return (int)n;
		}
		long n = nr_tls_read(r, got + recvd, len - recvd);
		if (n > 0) {
			recvd += (size_t)n;
			while (nr_tls_pending(r) && recvd < len) {
				n = nr_tls_read(r, got + recvd, len - recvd);
				if (n <= 0)
					break;
				recvd += (size_t)n;
			}
			continue;
		}
		if (n != NR_EAGAIN)
			return (int)n;
		struct pollfd p[2] = {{.fd = wfd, .events = POLLOUT},
				      {.fd = rfd, .events = POLLIN}};
		poll(p, 2, 50);
	}
	return recvd == len ? 0 : NR_ETIMEDOUT;
}

/* ---- tests: our client and our server ------------------------------------------------ */

TEST(client_server_roundtrip_and_resumption)
{
	struct nr_tls_ctx *sctx = NULL, *cctx = NULL;
	int r;

	r = nr_tls_server_ctx_new(&sctx, path_in("good.crt"), path_in("good.key"), NULL, HOST);
	ASSERT_EQ(r, 0);
	r = nr_tls_client_ctx_new(&cctx, path_in("ca.crt"));
	ASSERT_EQ(r, 0);

	for (int round = 0; round < 2; round++) {
		struct nr_tls *c = NULL, *s = NULL;
		int cfd, sfd, rc, rs;
		tcp_pair(&cfd, &sfd);
		ASSERT_EQ(nr_tls_client_new(&c, cctx, cfd, HOST), 0);
		ASSERT_EQ(nr_tls_server_new(&s, sctx, sfd, 0), 0);
		drive_both(c, cfd, &rc, s, sfd, &rs);
		EXPECT_EQ(rc, 0);
		EXPECT_EQ(rs, 0);
		EXPECT_STREQ(nr_tls_version(c), nr_tls_version(s));
		EXPECT_TRUE(strstr(nr_tls_ciphersuite(c), "GCM") ||
			    strstr(nr_tls_ciphersuite(c), "CHACHA"));
		/* the second connection to the same host resumes the first */
		if (strcmp(nr_tls_version(c), "TLSv1.2") == 0)
			EXPECT_EQ(nr_tls_resumed(c), round == 1);

		char subj[128] = "", iss[128] = "", exp[16] = "";
		if (round == 0) {
			EXPECT_EQ(nr_tls_peer_cert(c, subj, sizeof(subj), iss, sizeof(iss), exp,
						   sizeof(exp)),
				  0);
			EXPECT_STREQ(subj, "CN=localhost");
			EXPECT_STREQ(iss, "CN=nanorelay test CA");
			EXPECT_EQ(strlen(exp), 10);
		}

		/* 200 KB both ways: many records, partial writes, pending bytes */
		size_t len = 200 * 1024;
		uint8_t *data = malloc(len), *got = calloc(1, len);
		for (size_t i = 0; i < len; i++)
			data[i] = (uint8_t)(i * 7 + round);
		EXPECT_EQ(transfer(c, cfd, s, sfd, data, got, len), 0);
		EXPECT_MEMEQ(data, got, len);
		memset(got, 0, len);
		EXPECT_EQ(transfer(s, sfd, c, cfd, data, got, len), 0);
		EXPECT_MEMEQ(data, got, len);
		free(data);
		free(got);

		nr_tls_close_notify(c);
		char b[16];
		long n = NR_EAGAIN;
		for (int i = 0; i < 100 && n == NR_EAGAIN; i++) {
			struct pollfd p = {.fd = sfd, .events = POLLIN};
			poll(&p, 1, 100);
			n = nr_tls_read(s, b, sizeof(b));
		}
		EXPECT_EQ(n, NR_ECLOSED);
		nr_tls_free(c);
		nr_tls_free(s);
		close(cfd);
		close(sfd);
	}
	nr_tls_ctx_free(sctx);
	nr_tls_ctx_free(cctx);
}

/* A reload replaces a context while sessions made from it are open: the
 * owner's free must leave them working (ASan sees a use after free
 * otherwise), and the last session's free releases the context. */
TEST(sessions_outlive_their_context_owner)
{
	struct nr_tls_ctx *sctx = NULL, *cctx = NULL;
	struct nr_tls *c = NULL, *s = NULL;
	int cfd, sfd, rc, rs;

	ASSERT_EQ(
	    nr_tls_server_ctx_new(&sctx, path_in("good.crt"), path_in("good.key"), NULL, HOST), 0);
	ASSERT_EQ(nr_tls_client_ctx_new(&cctx, path_in("ca.crt")), 0);
	tcp_pair(&cfd, &sfd);
	ASSERT_EQ(nr_tls_client_new(&c, cctx, cfd, HOST), 0);
	ASSERT_EQ(nr_tls_server_new(&s, sctx, sfd, 0), 0);
	nr_tls_ctx_free(cctx); /* both owners let go before the handshake */
	nr_tls_ctx_free(sctx);
	drive_both(c, cfd, &rc, s, sfd, &rs);
	EXPECT_EQ(rc, 0);
	EXPECT_EQ(rs, 0);
	static const uint8_t msg[] = "after the owners let go";
	uint8_t got[sizeof(msg)] = {0};
	EXPECT_EQ(transfer(c, cfd, s, sfd, msg, got, sizeof(msg)), 0);
	EXPECT_MEMEQ(msg, got, sizeof(msg));
	nr_tls_close_notify(c);
	nr_tls_free(c);
	nr_tls_free(s);
	close(cfd);
	close(sfd);
}

TEST(transport_ops_table)
{
	EXPECT_STREQ(nr_tls_transport.name, "tls");
	EXPECT_TRUE(nr_tls_transport.read && nr_tls_transport.write && nr_tls_transport.pending &&
		    nr_tls_transport.wants && nr_tls_transport.destroy);
}

TEST(server_ctx_errors)
{
	struct nr_tls_ctx *ctx = (struct nr_tls_ctx *)1;
	/* absent files and no generate_dir */
	EXPECT_EQ(nr_tls_server_ctx_new(&ctx, path_in("none.crt"), path_in("none.key"), NULL, HOST),
		  NR_ENOTFOUND);
	EXPECT_TRUE(ctx == NULL);
	/* a key that does not belong to the certificate */
	EXPECT_EQ(nr_tls_server_ctx_new(&ctx, path_in("good.crt"), path_in("self.key"), NULL, HOST),
		  NR_EINVAL);
	/* not PEM */
	EXPECT_EQ(nr_tls_server_ctx_new(&ctx, path_in("leaf.ext"), path_in("good.key"), NULL, HOST),
		  NR_EINVAL);
	EXPECT_EQ(nr_tls_client_ctx_new(&ctx, path_in("none.crt")), NR_ENOTFOUND);
	EXPECT_EQ(nr_tls_client_ctx_new(&ctx, path_in("leaf.ext")), NR_EINVAL);
	nr_tls_ctx_free(NULL);
	nr_tls_free(NULL);
}

static void copy_file(const char *from, const char *to)
{
	char *data = NULL;
	size_t len = 0;
	FILE *f;

	if (nr_plat_file_read(from, 1 << 20, &data, &len) != 0)
		return;
	f = fopen(to, "w");
	if (f) {
		fwrite(data, 1, len, f);
		fclose(f);
	}
	free(data);
}

/* A reload asks whether a context's file changed before loading it again:
 * the same bytes (by any name) are the same; one byte more is a change. */
TEST(ctx_file_same)
{
	struct nr_tls_ctx *sctx = NULL, *cctx = NULL;

	copy_file(path_in("good.crt"), path_in("renew.crt"));
	ASSERT_EQ(
	    nr_tls_server_ctx_new(&sctx, path_in("renew.crt"), path_in("good.key"), NULL, HOST), 0);
	ASSERT_EQ(nr_tls_client_ctx_new(&cctx, path_in("ca.crt")), 0);
	EXPECT_EQ(nr_tls_ctx_file_same(sctx, path_in("renew.crt")), 1);
	EXPECT_EQ(nr_tls_ctx_file_same(sctx, path_in("good.crt")), 1); /* a copy */
	EXPECT_EQ(nr_tls_ctx_file_same(cctx, path_in("ca.crt")), 1);
	EXPECT_EQ(nr_tls_ctx_file_same(cctx, path_in("good.crt")), 0);
	EXPECT_EQ(nr_tls_ctx_file_same(sctx, path_in("none.crt")), NR_ENOTFOUND);
	EXPECT_EQ(nr_tls_ctx_file_same(sctx, NULL), NR_EINVAL);
	FILE *f = fopen(path_in("renew.crt"), "a");
	ASSERT_TRUE(f != NULL);
	fputs("\n", f);
	fclose(f);
	EXPECT_EQ(nr_tls_ctx_file_same(sctx, path_in("renew.crt")), 0);
	nr_tls_ctx_free(sctx);
	nr_tls_ctx_free(cctx);
}

/* CONFIG_NR_TLS_CERTGEN=n: without lan_cert, LAN TLS does not start, and
 * nothing is written into the state directory. */
TEST(no_generator_needs_a_certificate)
{
	struct nr_tls_ctx *sctx = (struct nr_tls_ctx *)1;
	char gdir[300];
	struct stat st;

	snprintf(gdir, sizeof(gdir), "%s/state-nogen", dir);
	mkdir(gdir, 0700);
	EXPECT_EQ(nr_tls_server_ctx_new(&sctx, path_in("absent.crt"), path_in("absent.key"), gdir,
					"nas.lan"),
		  NR_ENOTFOUND);
	EXPECT_TRUE(sctx == NULL);
	EXPECT_NE(stat(path_in("state-nogen/lan.crt"), &st), 0);
}

TEST(generated_certificate)
{
	struct nr_tls_ctx *sctx = NULL, *cctx = NULL;
	char gdir[300];
	struct stat st;
	char *before = NULL;
	size_t blen = 0;

	snprintf(gdir, sizeof(gdir), "%s/state", dir);
	mkdir(gdir, 0700);
	ASSERT_EQ(nr_tls_server_ctx_new(&sctx, path_in("absent.crt"), path_in("absent.key"), gdir,
					"nas.lan"),
		  0);
	ASSERT_EQ(stat(path_in("state/lan.key"), &st), 0);
	EXPECT_EQ(st.st_mode & 0777, 0600);
	ASSERT_EQ(stat(path_in("state/lan.crt"), &st), 0);
	EXPECT_EQ(nr_plat_file_read(path_in("state/lan.crt"), 1 << 20, &before, &blen), 0);

	/* openssl agrees: ECDSA P-256, SAN and CN = hostname, ~10 years */
	RUN_CMD("openssl", "x509", "-in", (char *)path_in("state/lan.crt"), "-noout", "-checkhost",
		"nas.lan", "-checkend", "311040000");
	{
		char *argv[] = {
		    "sh", "-c",
		    "openssl x509 -noout -text -in \"$0\" | grep -q 'DNS:nas.lan' && "
		    "openssl x509 -noout -text -in \"$0\" | grep -q 'prime256v1' && "
		    "openssl x509 -noout -subject -in \"$0\" | grep -q 'CN *= *nas.lan' && "
		    "! openssl x509 -in \"$0\" -noout -checkend 316224000",
		    (char *)path_in("state/lan.crt"), NULL};
		EXPECT_EQ(run(argv), 0);
	}

	/* our client trusts it for nas.lan and for nothing else */
	ASSERT_EQ(nr_tls_client_ctx_new(&cctx, path_in("state/lan.crt")), 0);
	for (int k = 0; k < 2; k++) {
		struct nr_tls *c = NULL, *s = NULL;
		int cfd, sfd, rc, rs;
		tcp_pair(&cfd, &sfd);
		ASSERT_EQ(nr_tls_client_new(&c, cctx, cfd, k == 0 ? "nas.lan" : "printer.lan"), 0);
		ASSERT_EQ(nr_tls_server_new(&s, sctx, sfd, 0), 0);
		drive_both(c, cfd, &rc, s, sfd, &rs);
		if (k == 0) {
			EXPECT_EQ(rc, 0);
			EXPECT_EQ(rs, 0);
		} else {
			char why[256];
			EXPECT_EQ(rc, NR_ECERT);
			EXPECT_TRUE(strstr(nr_tls_verify_text(c, why, sizeof(why)),
					   "hostname does not match printer.lan") != NULL);
		}
		nr_tls_free(c);
		nr_tls_free(s);
		close(cfd);
		close(sfd);
	}
	nr_tls_ctx_free(sctx);
	nr_tls_ctx_free(cctx);

	/* generated once: a second start loads the same files */
	ASSERT_EQ(nr_tls_server_ctx_new(&sctx, path_in("absent.crt"), path_in("absent.key"), gdir,
					"nas.lan"),
		  0);
	nr_tls_ctx_free(sctx);
	char *after = NULL;
	size_t alen = 0;
	EXPECT_EQ(nr_plat_file_read(path_in("state/lan.crt"), 1 << 20, &after, &alen), 0);
	EXPECT_TRUE(before && after && alen == blen && memcmp(before, after, blen) == 0);
	free(before);
	free(after);

	EXPECT_EQ(nr_tls_server_ctx_new(&sctx, NULL, NULL, gdir, "bad host,CN=x"), 0);
	nr_tls_ctx_free(sctx);
	char gdir2[300];
	snprintf(gdir2, sizeof(gdir2), "%s/state2", dir);
	mkdir(gdir2, 0700);
	EXPECT_EQ(nr_tls_server_ctx_new(&sctx, NULL, NULL, gdir2, "bad host,CN=x"), NR_EINVAL);
}

/* ---- tests: our server against openssl s_client ------------------------------------ */

/* Start s_client with extra args against a fresh server session; returns
 * the server's handshake result and its protocol in ver. */
static int serve_one(struct nr_tls_ctx *sctx, int legacy_ok, const char *const *extra, char *ver,
		     size_t vsize)
{
	int port = 0, l = listen_any(&port), fd, r, in[2];
	char target[64];
	struct nr_tls *s = NULL;
	pid_t pid;

	snprintf(target, sizeof(target), "127.0.0.1:%d", port);
	if (pipe(in) != 0)
		return -1;
	char *argv[16] = {"openssl", "s_client", "-connect", target, "-servername", HOST, "-quiet"};
	int n = 7;
	while (*extra && n < 15)
		argv[n++] = (char *)*extra++;
	argv[n] = NULL;
	pid = spawn(argv, in[0]);
	close(in[0]);
	fd = accept(l, NULL, NULL);
	close(l);
	set_nonblocking(fd);
	r = nr_tls_server_new(&s, sctx, fd, legacy_ok);
	if (r == 0)
		r = drive(s, fd);
	snprintf(ver, vsize, "%s", r == 0 ? nr_tls_version(s) : "");
	if (r == 0) {
		/* s_client shows what it negotiated; then it hangs up */
		const char msg[] = "220 hello\r\n";
		long w = NR_EAGAIN;
		for (int i = 0; i < 100 && w == NR_EAGAIN; i++) {
			w = nr_tls_write(s, msg, sizeof(msg) - 1);
			if (w == NR_EAGAIN)
				usleep(10000);
		}
		if (w != (long)sizeof(msg) - 1)
			r = NR_EIO;
	}
	close(in[1]);
	usleep(100000);
	stop(pid);
	nr_tls_free(s);
	close(fd);
	return r;
}

#define ARGS(...) ((const char *const[]){__VA_ARGS__, NULL})

TEST(server_against_openssl_s_client)
{
	struct nr_tls_ctx *sctx = NULL;
	char ver[32];

	ASSERT_EQ(
	    nr_tls_server_ctx_new(&sctx, path_in("good.crt"), path_in("good.key"), NULL, HOST), 0);
	EXPECT_EQ(serve_one(sctx, 0, ARGS("-tls1_2"), ver, sizeof(ver)), 0);
	EXPECT_STREQ(ver, "TLSv1.2");
	/* no weak suite is accepted even if the client offers only that */
	EXPECT_NE(serve_one(sctx, 0, ARGS("-tls1_2", "-cipher", "AES128-SHA"), ver, sizeof(ver)),
		  0);
#if MBEDTLS_VERSION_NUMBER >= 0x03000000
	EXPECT_EQ(serve_one(sctx, 0, ARGS("-tls1_3"), ver, sizeof(ver)), 0);
	EXPECT_STREQ(ver, "TLSv1.3");
#else
	EXPECT_EQ(serve_one(sctx, 0, ARGS("-tls1_3"), ver, sizeof(ver)), NR_ETLS);
#endif
	/* TLS 1.0: refused by default, accepted for legacy networks (2.28) */
	EXPECT_EQ(
	    serve_one(sctx, 0, ARGS("-tls1", "-cipher", "DEFAULT@SECLEVEL=0"), ver, sizeof(ver)),
	    NR_ETLS);
	EXPECT_EQ(
	    serve_one(sctx, 0, ARGS("-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0"), ver, sizeof(ver)),
	    NR_ETLS);
#if MBEDTLS_VERSION_NUMBER < 0x03000000
	EXPECT_EQ(
	    serve_one(sctx, 1, ARGS("-tls1", "-cipher", "DEFAULT@SECLEVEL=0"), ver, sizeof(ver)),
	    0);
	EXPECT_STREQ(ver, "TLSv1.0");
	/* legacy sessions still negotiate 1.2 with modern clients */
	EXPECT_EQ(serve_one(sctx, 1, ARGS("-no_tls1_3"), ver, sizeof(ver)), 0);
	EXPECT_STREQ(ver, "TLSv1.2");
#endif
	nr_tls_ctx_free(sctx);
}

/* ---- tests: our client against openssl s_server ----------------------------------- */

/* Connect our client to an s_server presenting cert/key (+ chain); returns
 * the handshake result and the verification text in why. */
static int connect_to(const char *cert, const char *key, const char *chain, const char *proto,
		      char *why, size_t wsize)
{
	struct nr_tls_ctx *cctx = NULL;
	struct nr_tls *c = NULL;
	int port = free_port(), fd, r, in[2];
	char pstr[16];
	pid_t pid;

	snprintf(pstr, sizeof(pstr), "127.0.0.1:%d", port);
	if (pipe(in) != 0)
		return -1;
	char *argv[16] = {
	    "openssl", "s_server",           "-accept", pstr, "-cert", (char *)path_in(cert),
	    "-key",    (char *)path_in(key), "-quiet"};
	int n = 9;
	if (chain) {
		argv[n++] = "-cert_chain";
		argv[n++] = (char *)path_in(chain);
	}
	if (proto) {
		argv[n++] = (char *)proto;
		argv[n++] = "-cipher";
		argv[n++] = "DEFAULT@SECLEVEL=0";
	}
	argv[n] = NULL;
	pid = spawn(argv, in[0]);
	close(in[0]);
	fd = connect_retry(port);
	r = fd < 0 ? NR_ECONNREFUSED : nr_tls_client_ctx_new(&cctx, path_in("ca.crt"));
	if (r == 0)
		r = nr_tls_client_new(&c, cctx, fd, HOST);
	if (r == 0)
		r = drive(c, fd);
	if (c) {
		/* what the certificate is for, also after a refusal */
		char names[128], subj[128];
		size_t used;
		nr_tls_verify_text(c, why, wsize);
		used = strlen(why);
		nr_tls_peer_names(c, names, sizeof(names));
		if (nr_tls_peer_cert(c, subj, sizeof(subj), NULL, 0, NULL, 0) != 0)
			subj[0] = '\0';
		snprintf(why + used, wsize - used, " [names=%s subject=%s]", names, subj);
	}
	close(in[1]);
	stop(pid);
	nr_tls_free(c);
	nr_tls_ctx_free(cctx);
	if (fd >= 0)
		close(fd);
	return r;
}

#define EXPECT_CERT_FAILS(cert, key, chain, text)                                                  \
	do {                                                                                       \
		char why_[512] = "";                                                               \
		EXPECT_EQ(connect_to(cert, key, chain, NULL, why_, sizeof(why_)), NR_ECERT);       \
		if (!strstr(why_, text))                                                           \
			fprintf(stderr, "verify text was: %s\n", why_);                            \
		EXPECT_TRUE(strstr(why_, text) != NULL);                                           \
	} while (0)

TEST(client_against_openssl_s_server)
{
	char why[512] = "";

	EXPECT_EQ(connect_to("good.crt", "good.key", NULL, NULL, why, sizeof(why)), 0);
	EXPECT_EQ(connect_to("viainter.crt", "viainter.key", "inter.crt", NULL, why, sizeof(why)),
		  0);
	EXPECT_CERT_FAILS("wrongname.crt", "wrongname.key", NULL, "hostname does not match");
	EXPECT_CERT_FAILS("wrongname.crt", "wrongname.key", NULL,
			  "[names=other.example subject=CN=other.example]");
	EXPECT_CERT_FAILS("expired.crt", "expired.key", NULL, "subject=CN=" HOST "]");
	EXPECT_CERT_FAILS("expired.crt", "expired.key", NULL, "certificate has expired");
	EXPECT_CERT_FAILS("untrusted.crt", "untrusted.key", "evil.crt",
			  "issuer not trusted (self-signed or unknown CA)");
	EXPECT_CERT_FAILS("self.crt", "self.key", NULL,
			  "issuer not trusted (self-signed or unknown CA)");
	EXPECT_CERT_FAILS("viainter.crt", "viainter.key", NULL, "chain incomplete");
	/* a TLS-1.0-only server is refused */
	EXPECT_EQ(connect_to("good.crt", "good.key", NULL, "-tls1", why, sizeof(why)), NR_ETLS);
	EXPECT_EQ(connect_to("good.crt", "good.key", NULL, "-tls1_1", why, sizeof(why)), NR_ETLS);
}

TEST(client_requires_hostname)
{
	struct nr_tls_ctx *cctx = NULL;
	struct nr_tls *c = (struct nr_tls *)1;
	ASSERT_EQ(nr_tls_client_ctx_new(&cctx, path_in("ca.crt")), 0);
	EXPECT_EQ(nr_tls_client_new(&c, cctx, 0, NULL), NR_EINVAL);
	EXPECT_TRUE(c == NULL);
	EXPECT_EQ(nr_tls_client_new(&c, cctx, 0, ""), NR_EINVAL);
	EXPECT_EQ(nr_tls_server_new(&c, cctx, 0, 0), NR_EINVAL);
	nr_tls_ctx_free(cctx);
}

/* ---- the clock rule: run in a child under faketime at 1999 ------------------------ */

static int clock_child(void)
{
	struct nr_tls_ctx *cctx = NULL;
	struct nr_tls *c = NULL;
	int sv[2], r;
	char why[256];

	/* libfaketime works by preloading: a static binary keeps the real clock */
	if (time(NULL) > 946684800)
		return 77;
	if (nr_tls_client_ctx_new(&cctx, path_in("ca.crt")) != 0)
		return 2;
	socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv);
	if (nr_tls_client_new(&c, cctx, sv[0], HOST) != 0)
		return 3;
	r = nr_tls_handshake(c);
	nr_tls_verify_text(c, why, sizeof(why));
	printf("clock child: %d %s\n", r, why);
	if (r != NR_ECLOCK || !strstr(why, "clock"))
		return 4;
	/* nothing was sent: no ClientHello with an unverifiable outcome */
	char b[8];
	if (recv(sv[1], b, sizeof(b), MSG_DONTWAIT) != -1)
		return 5;
	nr_tls_free(c);
	nr_tls_ctx_free(cctx);
	return 0;
}

TEST(unset_clock_defers)
{
	char *argv[] = {"faketime", "1999-06-01 00:00:00", self_exe, "--clock-child", dir, NULL};
#ifdef NR_TEST_EMULATOR
	printf("# unset_clock_defers: skipped under qemu-user (%s): with no binfmt_misc, the "
	       "emulated test cannot execve() faketime, a host binary, nor could faketime start "
	       "this foreign-architecture binary\n",
	       NR_TEST_EMULATOR);
	return;
#endif
	/* libfaketime is preloaded ahead of the sanitizer runtime */
	setenv("ASAN_OPTIONS", "verify_asan_link_order=0", 1);
	int rc = run(argv);
	if (rc == 77 && NR_ENABLED(CONFIG_NR_PLATFORM_BUSYBOX)) {
		printf("# unset_clock_defers: skipped, faketime cannot reach a static binary\n");
		return;
	}
	EXPECT_EQ(rc, 0);
}

/* ---- the RNG fails closed --------------------------------------------------------- */

extern int nr_test_entropy_calls;
extern int nr_test_entropy_fail;

TEST(no_entropy_no_context)
{
	struct nr_tls_ctx *ctx = NULL;
	int before = nr_test_entropy_calls;

	/* With entropy: both contexts are made, and the adapter asked the
	 * platform for it (through test_hooks.c, or this test tests nothing). */
	ASSERT_EQ(nr_tls_client_ctx_new(&ctx, path_in("ca.crt")), 0);
	nr_tls_ctx_free(ctx);
	ASSERT_TRUE(nr_test_entropy_calls > before);
	ASSERT_EQ(nr_tls_server_ctx_new(&ctx, path_in("good.crt"), path_in("good.key"), NULL, HOST),
		  0);
	nr_tls_ctx_free(ctx);

	/* Without: no context at all (fail closed, never weak bytes). */
	nr_test_entropy_fail = 1;
	before = nr_test_entropy_calls;
	ctx = NULL;
	EXPECT_EQ(nr_tls_client_ctx_new(&ctx, path_in("ca.crt")), NR_EIO);
	EXPECT_TRUE(ctx == NULL);
	EXPECT_EQ(nr_tls_server_ctx_new(&ctx, path_in("good.crt"), path_in("good.key"), NULL, HOST),
		  NR_EIO);
	EXPECT_TRUE(ctx == NULL);
	EXPECT_TRUE(nr_test_entropy_calls > before);
	nr_test_entropy_fail = 0;
}

/* ---- hash helpers ------------------------------------------------------------------- */

static void unhex(uint8_t *out, const char *hex)
{
	for (size_t i = 0; hex[2 * i]; i++) {
		unsigned v;
		sscanf(hex + 2 * i, "%2x", &v);
		out[i] = (uint8_t)v;
	}
}

TEST(pbkdf2_sha256_vectors)
{
	uint8_t got[64], want[64];
	/* RFC 7914 section 11 */
	unhex(want, "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc"
		    "49ca9cccf179b645991664b39d77ef317c71b845b1e30bd509112041d3a19783");
	ASSERT_EQ(nr_tls_pbkdf2_sha256("passwd", 6, (const uint8_t *)"salt", 4, 1, got, 64), 0);
	EXPECT_MEMEQ(got, want, 64);
	unhex(want, "4ddcd8f60b98be21830cee5ef22701f9641a4418d04c0414aeff08876b34ab56"
		    "a1d425a1225833549adb841b51c9b3176a272bdebba1d078478f62b397f33c8d");
	ASSERT_EQ(nr_tls_pbkdf2_sha256("Password", 8, (const uint8_t *)"NaCl", 4, 80000, got, 64),
		  0);
	EXPECT_MEMEQ(got, want, 64);
	EXPECT_EQ(nr_tls_pbkdf2_sha256("x", 1, (const uint8_t *)"s", 1, 0, got, 32), NR_EINVAL);
}

TEST(hmac_md5_vectors)
{
	uint8_t got[16], want[16], key[16];
	/* RFC 2202 test cases 1 and 2 */
	memset(key, 0x0b, sizeof(key));
	unhex(want, "9294727a3638bb1c13f48ef8158bfc9d");
	ASSERT_EQ(nr_tls_hmac_md5(key, 16, "Hi There", 8, got), 0);
	EXPECT_MEMEQ(got, want, 16);
	unhex(want, "750c783e6ab0b503eaa86e310a5db738");
	ASSERT_EQ(nr_tls_hmac_md5("Jefe", 4, "what do ya want for nothing?", 28, got), 0);
	EXPECT_MEMEQ(got, want, 16);
	/* RFC 2195 (CRAM-MD5) example */
	unhex(want, "b913a602c7eda7a495b4e6e7334d3890");
	ASSERT_EQ(nr_tls_hmac_md5("tanstaaftanstaaf", 16,
				  "<1896.697170952@postoffice.reston.mci.net>", 42, got),
		  0);
	EXPECT_MEMEQ(got, want, 16);
}

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	if (readlink("/proc/self/exe", self_exe, sizeof(self_exe) - 1) < 0)
		return 1;
	if (argc == 3 && strcmp(argv[1], "--clock-child") == 0) {
		snprintf(dir, sizeof(dir), "%s", argv[2]);
		return clock_child();
	}
	snprintf(dir, sizeof(dir), "/tmp/nr-tls-XXXXXX");
	if (!mkdtemp(dir))
		return 1;
	make_certs();

	RUN(pbkdf2_sha256_vectors);
	RUN(hmac_md5_vectors);
	RUN(sessions_outlive_their_context_owner);
	RUN(transport_ops_table);
	RUN(server_ctx_errors);
	RUN(ctx_file_same);
	RUN(client_requires_hostname);
	RUN(client_server_roundtrip_and_resumption);
	if (NR_ENABLED(CONFIG_NR_TLS_CERTGEN))
		RUN(generated_certificate);
	else
		RUN(no_generator_needs_a_certificate);
	RUN(server_against_openssl_s_client);
	RUN(client_against_openssl_s_server);
	RUN(unset_clock_defers);
	RUN(no_entropy_no_context);

	int rc = TEST_REPORT();
	if (rc == 0) {
		char *argv_rm[] = {"rm", "-rf", dir, NULL};
		run(argv_rm);
	} else {
		fprintf(stderr, "artifacts kept in %s\n", dir);
	}
	return rc;
}
