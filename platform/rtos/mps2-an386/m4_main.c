/*
 * m4_main.c - the mps2-an386 firmware: nanorelay on FreeRTOS + lwIP under
 * QEMU, as a self-test (issue 17, item 3). Everything runs inside the
 * image on lwIP's loopback netif (127.0.0.1): the relay (through the
 * embedding API, include/nanorelay.h) with its queue in the board's RAM
 * flash (m4_flash.c), and a client task that talks SMTP to it and checks
 * every reply code. Results go to the UART, one line per case; the run
 * ends through semihosting with the number of failed cases as its status.
 * tests/rtos/qemu-m4.sh builds and runs it.
 */
#include <stdio.h>
#include <string.h>

#include "FreeRTOS.h"
#include "semphr.h"
#include "task.h"

#include "lwip/sockets.h"
#include "lwip/tcpip.h"
#include "mbedtls/ctr_drbg.h"
#include "mbedtls/net_sockets.h"
#include "mbedtls/ssl.h"

#include "m4_board.h"
#include "m4_certs.h"
#include "m4_flash.h"
#include "m4_selftest.h"
#include "nanorelay.h"
#include "nr_board.h"
#include "rtos_heap.h"

/* The relay's configuration: the same text as /etc/nanorelay.conf. Before
 * the warm reset there is no smarthost (mail is accepted and queued in the
 * flash ring); after it, relay_smarthost is added: the fake smarthost of
 * m4_smarthost.c, over implicit TLS, verified against the test CA, and the
 * LAN implicit-TLS listener (465). That listener waits for phase 1 because
 * of lwIP's socket count (NR_LWIP_SOCKETS 10, nr_lwipopts_board.h): the
 * relay's own needs fit (3 listeners, the wakeup socket, 2 sessions, a
 * delivery), but phase 0's two-sessions case also holds the test client's
 * three sockets in the same stack, one too many with a third listener. */
static const char relay_conf[] = "listen 127.0.0.1:25 tls=none\n"
				 "listen 127.0.0.1:587 tls=starttls\n"
				 "lan_cert /m4/lan.crt\n"
				 "lan_key /m4/lan.key\n"
				 "allow 127.0.0.1/32\n"
				 "hostname m4.test\n"
				 "max_sessions 2\n"
				 "queue flash size=64K\n";
static const char relay_smarthost[] =
    "listen 127.0.0.1:465 tls=implicit\n"
    "smarthost smarthost.test:2465 tls=implicit user=relay@m4.test "
    "password_file=/m4/smarthost.pw\n"
    "ca_file /m4/ca.pem\n"
    "retry 1s 2s\n"
    "upstream_connections 1\n";
static char conf_text[sizeof(relay_conf) + sizeof(relay_smarthost)];

/* Messages per mode: the client sends N_MSGS over plain SMTP and N_MSGS
 * over STARTTLS with AUTH; the smarthost checks each. */
#define N_MSGS 5
/* Messages queued in phase 1 for the resets in the middle of a delivery. */
#define N_BATCH 3

/* The run's phases, one per boot; the warm resets between them keep the
 * RAM flash (the queue) and .noinit:
 *   0 power-on: the relay has no smarthost; every SMTP case; a full queue;
 *     then a warm reset;
 *   1 the smarthost is up, drops the first DATA half-way; everything is
 *     delivered; then N_BATCH more messages, and the smarthost resets the
 *     board in the middle of the first one's DATA;
 *   2 the smarthost answers 250 to the first message it gets, and resets
 *     the board at once, before the relay can mark it done;
 *   3 everything arrives, once, bar that one message (a duplicate). */
enum { PHASE_COLD, PHASE_DELIVER, PHASE_AFTER_DATA_RESET, PHASE_AFTER_250_RESET };

/* What a warm reset must keep: the self-test's state, in .noinit. */
#define BOOT_MARK 0x4e52424fu /* "NRBO" */
static struct {
	uint32_t mark, phase;
	unsigned passed, failed;
	unsigned next_tag;                   /* the next test message's number */
	uint64_t accepted;                   /* test messages the relay accepted (bit per tag) */
	uint64_t plain, tls, smuggle, batch; /* the accepted ones, by case */
} boot __attribute__((section(".noinit")));

/* No RTC on this board and no network time inside the test: a moment
 * inside the build-time certificates' validity stands in (m4_certs.h). */
#define NR_M4_WALL_TIME NR_M4_CERT_TIME

/* ---- board hooks ------------------------------------------------------------------ */
static void m4_log(enum nr_log_level level, const char *line)
{
	(void)level;
	nr_m4_uart_puts("relay: ");
	nr_m4_uart_puts(line);
	nr_m4_uart_puts("\r\n");
}

static void m4_panic(const char *file, int line, const char *what)
{
	nr_m4_uart_puts("\r\npanic: ");
	nr_m4_uart_puts(what ? what : "");
	nr_m4_uart_puts(" at ");
	nr_m4_uart_puts(file);
	nr_m4_uart_puts(":");
	nr_m4_uart_putu((uint32_t)line);
	nr_m4_uart_puts("\r\n");
	nr_m4_exit(3);
}

/* The named blobs: the certificates compiled in (m4_certs.h). */
static const struct {
	const char *name, *text;
} blobs[] = {
    {"/m4/lan.crt", m4_lan_crt},
    {"/m4/lan.key", m4_lan_key},
    {"/m4/ca.pem", m4_ca_pem},
    {"/m4/smarthost.pw", "m4-smarthost-pass\n"},
};

static long m4_blob_read(const char *name, void *buf, size_t size)
{
	for (size_t i = 0; i < sizeof(blobs) / sizeof(blobs[0]); i++) {
		if (strcmp(name, blobs[i].name) == 0) {
			size_t len = strlen(blobs[i].text);
			if (size)
				memcpy(buf, blobs[i].text, len < size ? len : size);
			return (long)len;
		}
	}
	return NR_ENOTFOUND;
}

/* TEST ONLY: mps2-an386 has no TRNG, so this image fills "entropy" from a
 * xorshift generator. Good enough to exercise the TLS code paths under
 * QEMU and worthless for secrecy: a real board gives nr_board.entropy its
 * TRNG, and a board without one leaves the hook NULL (TLS then refuses to
 * start). Never copy this into firmware. */
int nr_m4_test_entropy(void *buf, size_t len)
{
	static uint32_t x = 0x6e726d34u;
	uint8_t *p = buf;

	x ^= xTaskGetTickCount();
	for (size_t i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		p[i] = (uint8_t)x;
	}
	return 0;
}

/* LAN AUTH: one user, dev / secret (nr_relay_set_auth). */
static int m4_auth(void *arg, const char *user, const void *password, size_t len)
{
	(void)arg;
	return strcmp(user, "dev") == 0 && len == 6 && memcmp(password, "secret", 6) == 0
		   ? 0
		   : NR_EAUTH;
}

/* ---- the relay task, and what other tasks ask of it -------------------------------- */
/* The embedding API is called from the relay's task only: the self-test
 * asks through one request at a time, run by the relay's turn hook, and
 * waits for the answer. */
enum req_kind { REQ_NONE, REQ_STATS, REQ_SUBMIT };
static struct {
	volatile enum req_kind kind;
	struct nr_relay_stats stats; /* REQ_STATS's answer */
	const char *body;            /* REQ_SUBMIT's message */
	int rc;                      /* REQ_SUBMIT's answer */
	char id[32];
	SemaphoreHandle_t done;
} req;
static struct nr_relay *volatile the_relay;
static SemaphoreHandle_t relay_up;

static int submit_now(struct nr_relay *r, const char *body, char *id, size_t id_size)
{
	static const char *const to[] = {"admin@example.com"};
	struct nr_submit *sub;
	int rc = nr_relay_submit_begin(r, "firmware@m4.test", to, 1, 0, &sub);

	if (rc != 0)
		return rc;
	if ((rc = nr_submit_write(sub, body, strlen(body))) != 0) {
		nr_submit_abort(sub);
		return rc;
	}
	return nr_submit_end(sub, id, id_size);
}

static void relay_turn(void *arg, struct nr_relay *r)
{
	(void)arg;
	switch (req.kind) {
	case REQ_NONE:
		return;
	case REQ_STATS:
		nr_relay_get_stats(r, &req.stats);
		break;
	case REQ_SUBMIT:
		req.rc = submit_now(r, req.body, req.id, sizeof(req.id));
		break;
	}
	req.kind = REQ_NONE;
	xSemaphoreGive(req.done);
}

/* From the self-test's task: run kind on the relay's task, wait for it. */
static void relay_ask(enum req_kind kind)
{
	req.kind = kind;
	nr_relay_wake(the_relay);
	xSemaphoreTake(req.done, portMAX_DELAY);
}

static void relay_task(void *arg)
{
	struct nr_relay *r = NULL;
	char err[160];

	(void)arg;
	if (nr_relay_new(&r, conf_text, strlen(conf_text), err, sizeof(err)) != 0)
		m4_panic(__FILE__, __LINE__, err);
	nr_relay_set_auth(r, m4_auth, NULL);
	if (nr_relay_start(r, err, sizeof(err)) != 0)
		m4_panic(__FILE__, __LINE__, err);
	nr_relay_set_turn_hook(r, relay_turn, NULL);
	the_relay = r;
	xSemaphoreGive(relay_up);
	(void)nr_relay_run(r);
	nr_relay_free(r);
	vTaskDelete(NULL);
}

/* ---- the client: SMTP over lwIP sockets, checked reply by reply ----------------------- */
struct client {
	int fd;
	char buf[512];
	size_t len;
	struct client_tls *tls; /* after STARTTLS */
};

/* The client's TLS (mbedTLS, as a device on the LAN would): it trusts the
 * test CA only and checks the relay's name. */
struct client_tls {
	mbedtls_ssl_context ssl;
	mbedtls_ssl_config conf;
	mbedtls_x509_crt ca;
	mbedtls_ctr_drbg_context drbg;
};

static void client_tls_free(struct client *c)
{
	if (!c->tls)
		return;
	mbedtls_ssl_free(&c->tls->ssl);
	mbedtls_ssl_config_free(&c->tls->conf);
	mbedtls_x509_crt_free(&c->tls->ca);
	mbedtls_ctr_drbg_free(&c->tls->drbg);
	nr_rtos_heap_free(c->tls);
	c->tls = NULL;
}

/* The TLS handshake on c's connection, for server name name: 0 or -1. */
static int client_starttls(struct client *c, const char *name)
{
	struct client_tls *t = nr_rtos_heap_alloc(sizeof(*t));
	int ret;

	if (!t)
		return -1;
	c->tls = t;
	mbedtls_ssl_init(&t->ssl);
	mbedtls_ssl_config_init(&t->conf);
	mbedtls_x509_crt_init(&t->ca);
	mbedtls_ctr_drbg_init(&t->drbg);
	ret = mbedtls_ctr_drbg_seed(&t->drbg, nr_m4_tls_entropy, NULL, NULL, 0);
	if (!ret)
		ret = mbedtls_x509_crt_parse(&t->ca, (const unsigned char *)m4_ca_pem,
					     sizeof(m4_ca_pem));
	if (!ret)
		ret = mbedtls_ssl_config_defaults(&t->conf, MBEDTLS_SSL_IS_CLIENT,
						  MBEDTLS_SSL_TRANSPORT_STREAM,
						  MBEDTLS_SSL_PRESET_DEFAULT);
	if (!ret) {
		mbedtls_ssl_conf_authmode(&t->conf, MBEDTLS_SSL_VERIFY_REQUIRED);
		mbedtls_ssl_conf_ca_chain(&t->conf, &t->ca, NULL);
		mbedtls_ssl_conf_rng(&t->conf, mbedtls_ctr_drbg_random, &t->drbg);
		ret = mbedtls_ssl_setup(&t->ssl, &t->conf);
	}
	if (!ret)
		ret = mbedtls_ssl_set_hostname(&t->ssl, name);
	if (!ret) {
		mbedtls_ssl_set_bio(&t->ssl, &c->fd, nr_m4_tls_send, nr_m4_tls_recv, NULL);
		ret = mbedtls_ssl_handshake(&t->ssl);
	}
	if (ret) {
		printf("  client TLS: -0x%04x\r\n", (unsigned)-ret);
		return -1;
	}
	return 0;
}

static ssize_t client_send(struct client *c, const void *buf, size_t len)
{
	if (!c->tls)
		return lwip_send(c->fd, buf, len, 0);
	for (size_t done = 0; done < len;) {
		int n =
		    mbedtls_ssl_write(&c->tls->ssl, (const unsigned char *)buf + done, len - done);
		if (n <= 0)
			return -1;
		done += (size_t)n;
	}
	return (ssize_t)len;
}

static ssize_t client_recv(struct client *c, void *buf, size_t len)
{
	if (!c->tls)
		return lwip_recv(c->fd, buf, len, 0);
	int n = mbedtls_ssl_read(&c->tls->ssl, buf, len);
	return n < 0 ? -1 : n;
}

static void client_close(struct client *c)
{
	client_tls_free(c);
	if (c->fd >= 0)
		lwip_close(c->fd);
	c->fd = -1;
}

static int client_connect(struct client *c, uint16_t port)
{
	struct sockaddr_in sa;

	memset(c, 0, sizeof(*c));
	c->fd = -1;
	memset(&sa, 0, sizeof(sa));
	sa.sin_len = sizeof(sa);
	sa.sin_family = AF_INET;
	sa.sin_port = lwip_htons(port);
	sa.sin_addr.s_addr = lwip_htonl(0x7f000001u);
	c->fd = lwip_socket(AF_INET, SOCK_STREAM, 0);
	if (c->fd < 0)
		return -1;
	if (lwip_connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		lwip_close(c->fd);
		c->fd = -1;
		return -1;
	}
	return 0;
}

/* Read one whole reply (its last line: "NNN text"): the code, or -1. */
static int client_reply(struct client *c)
{
	for (;;) {
		char *eol = memchr(c->buf, '\n', c->len);
		if (eol) {
			size_t line = (size_t)(eol - c->buf) + 1;
			int last = line >= 4 && c->buf[3] == ' ';
			int code = line >= 4 ? (c->buf[0] - '0') * 100 + (c->buf[1] - '0') * 10 +
						   (c->buf[2] - '0')
					     : -1;
			memmove(c->buf, c->buf + line, c->len - line);
			c->len -= line;
			if (last || code < 0)
				return code;
			continue;
		}
		if (c->len == sizeof(c->buf))
			return -1;
		ssize_t n = client_recv(c, c->buf + c->len, sizeof(c->buf) - c->len);
		if (n <= 0)
			return -1;
		c->len += (size_t)n;
	}
}

/* Send text, then expect the reply code want. */
static int client_cmd(struct client *c, const char *text, int want)
{
	size_t len = strlen(text);
	int got;

	if (len && client_send(c, text, len) != (ssize_t)len)
		return -1;
	got = client_reply(c);
	if (got != want) {
		printf("  sent %.*s: expected %d, got %d\r\n", (int)strcspn(text, "\r"), text, want,
		       got);
		return -1;
	}
	return 0;
}

/* A plain session on 127.0.0.1:25 up to its EHLO: 0, or -1 (c is then
 * still closed by client_close). */
static int client_open(struct client *c)
{
	return client_connect(c, 25) == 0 && client_cmd(c, "", 220) == 0 &&
		       client_cmd(c, "EHLO client.test\r\n", 250) == 0
		   ? 0
		   : -1;
}

/* The relay's queue depth now (asked on its task). */
static size_t queued_now(void)
{
	relay_ask(REQ_STATS);
	return req.stats.queued;
}

static unsigned passed, failed;

#define NR_M4_STR_(x) #x
#define NR_M4_STR(x) NR_M4_STR_(x)

static void report(const char *name, int ok)
{
	printf("%s: %s\r\n", ok ? "PASS" : "FAIL", name);
	if (ok)
		passed++;
	else
		failed++;
}

/* One test message (m4_selftest.h) of lines lines through c, after its
 * DATA was answered 354: 0 when the relay answered want (250: the tag is
 * then recorded as accepted). */
static char msgbuf[13 * 1024];

static int next_tag(void)
{
	return boot.next_tag < NR_M4_TAGS ? (int)boot.next_tag++ : -1;
}

/* The accepted messages (bit per tag), and how many. */
static unsigned count(uint64_t tags)
{
	return (unsigned)__builtin_popcountll(tags);
}

/* The test message in msgbuf (len bytes, room for 3 more) as one DATA's
 * content: 0 when the relay answered want (250: tag is then recorded as
 * accepted, in boot.accepted and in *also when given). */
static int send_body(struct client *c, size_t len, int tag, int want, uint64_t *also)
{
	if (len == 0)
		return -1;
	memcpy(msgbuf + len, ".\r\n", 4);
	if (client_cmd(c, msgbuf, want) != 0)
		return -1;
	if (want == 250) {
		boot.accepted |= 1ull << tag;
		if (also)
			*also |= 1ull << tag;
	}
	return 0;
}

static int send_msg(struct client *c, unsigned lines, int want)
{
	int tag = next_tag();
	size_t len = tag < 0 ? 0 : nr_m4_msg_make(msgbuf, sizeof(msgbuf) - 3, (unsigned)tag, lines);

	return send_body(c, len, tag, want, NULL);
}

/* MAIL, RCPT and DATA answered 354: the next test message's tag, or -1. */
static int open_data(struct client *c)
{
	if (client_cmd(c, "MAIL FROM:<dev@m4.test>\r\n", 250) != 0 ||
	    client_cmd(c, "RCPT TO:<admin@example.com>\r\n", 250) != 0 ||
	    client_cmd(c, "DATA\r\n", 354) != 0)
		return -1;
	return next_tag();
}

/* One whole transaction of a test message of lines lines: 0 when queued
 * (250); its tag is also recorded in *also. */
static int send_txn(struct client *c, unsigned lines, uint64_t *also)
{
	int tag = open_data(c);
	size_t len = tag < 0 ? 0 : nr_m4_msg_make(msgbuf, sizeof(msgbuf) - 3, (unsigned)tag, lines);

	return send_body(c, len, tag, 250, also);
}

/* N_MSGS messages in one plain session, of 2 to 14 lines. */
static void case_plain_relay(void)
{
	struct client c;
	int ok = client_open(&c) == 0;

	for (unsigned i = 0; ok && i < N_MSGS; i++)
		ok = send_txn(&c, 2 + 3 * i, &boot.plain) == 0;
	ok = ok && client_cmd(&c, "QUIT\r\n", 221) == 0;
	client_close(&c);
	report("plain SMTP on 127.0.0.1:25: " NR_M4_STR(N_MSGS) " messages queued in the RAM "
								"flash (250)",
	       ok && count(boot.plain) == N_MSGS);
}

static void case_bad_command(void)
{
	struct client c;
	int ok = client_open(&c) == 0 && client_cmd(&c, "FROB\r\n", 500) == 0 &&
		 client_cmd(&c, "RCPT TO:<a@example.com>\r\n", 503) == 0 &&
		 client_cmd(&c, "QUIT\r\n", 221) == 0;
	client_close(&c);
	report("an unknown command is 500, RCPT before MAIL is 503", ok);
}

/* A command line over the limit (CONFIG_NR_LINE_MAX): 500, and the session
 * goes on. */
static void case_long_line(void)
{
	static char line[1200];
	struct client c;
	int ok;

	memcpy(line, "MAIL FROM:<", 11);
	memset(line + 11, 'x', sizeof(line) - 11 - 4);
	memcpy(line + sizeof(line) - 4, ">\r\n", 4);
	ok = client_open(&c) == 0 && client_cmd(&c, line, 500) == 0 &&
	     client_cmd(&c, "NOOP\r\n", 250) == 0 && client_cmd(&c, "QUIT\r\n", 221) == 0;
	client_close(&c);
	report("a command line over the limit is 500 and the session goes on", ok);
}

/* Two sessions at once (max_sessions 2), and a third is turned away. */
static void case_two_sessions(void)
{
	struct client a = {.fd = -1}, b = {.fd = -1}, c = {.fd = -1};
	int ok = client_connect(&a, 25) == 0 && client_connect(&b, 25) == 0 &&
		 client_cmd(&a, "", 220) == 0 && client_cmd(&b, "", 220) == 0 &&
		 client_connect(&c, 25) == 0 && client_cmd(&c, "", 421) == 0 &&
		 client_cmd(&a, "HELO a.test\r\n", 250) == 0 &&
		 client_cmd(&b, "HELO b.test\r\n", 250) == 0 &&
		 client_cmd(&a, "MAIL FROM:<a@m4.test>\r\n", 250) == 0 &&
		 client_cmd(&b, "MAIL FROM:<b@m4.test>\r\n", 250) == 0 &&
		 client_cmd(&a, "RCPT TO:<admin@example.com>\r\n", 250) == 0 &&
		 client_cmd(&b, "RCPT TO:<admin@example.com>\r\n", 250) == 0 &&
		 client_cmd(&a, "DATA\r\n", 354) == 0 && client_cmd(&b, "DATA\r\n", 354) == 0 &&
		 send_msg(&b, 2, 250) == 0 && send_msg(&a, 1, 250) == 0 &&
		 client_cmd(&a, "QUIT\r\n", 221) == 0 && client_cmd(&b, "QUIT\r\n", 221) == 0;
	client_close(&a);
	client_close(&b);
	client_close(&c);
	report("two sessions at once both queue; a third gets 421", ok);
}

/* LAN STARTTLS on 587 (the certificate checked against the test CA, for
 * m4.test), then AUTH PLAIN: a wrong password is 535, the right one 235,
 * and the message is queued. */
static void case_starttls_auth(void)
{
	struct client c;
	int ok = client_connect(&c, 587) == 0 && client_cmd(&c, "", 220) == 0 &&
		 client_cmd(&c, "EHLO client.test\r\n", 250) == 0 &&
		 client_cmd(&c, "STARTTLS\r\n", 220) == 0 && client_starttls(&c, "m4.test") == 0 &&
		 client_cmd(&c, "EHLO client.test\r\n", 250) == 0 &&
		 client_cmd(&c, "AUTH PLAIN AGRldgB3cm9uZw==\r\n", 535) == 0 &&
		 client_cmd(&c, "AUTH PLAIN AGRldgBzZWNyZXQ=\r\n", 235) == 0;

	for (unsigned i = 0; ok && i < N_MSGS; i++)
		ok = send_txn(&c, 10 + 10 * i, &boot.tls) == 0;
	ok = ok && client_cmd(&c, "QUIT\r\n", 221) == 0;
	client_close(&c);
	report("STARTTLS on 587 (test CA, m4.test), AUTH 535 then 235, " NR_M4_STR(
		   N_MSGS) " messages queued (250)",
	       ok && count(boot.tls) == N_MSGS);
}

/* LAN implicit TLS (a 465-style listener): the handshake first, then the
 * greeting, AUTH and a message. */
static void case_implicit_tls(void)
{
	struct client c;
	int ok = client_connect(&c, 465) == 0 && client_starttls(&c, "m4.test") == 0 &&
		 client_cmd(&c, "", 220) == 0 && client_cmd(&c, "EHLO client.test\r\n", 250) == 0 &&
		 client_cmd(&c, "AUTH PLAIN AGRldgBzZWNyZXQ=\r\n", 235) == 0 &&
		 send_txn(&c, 20, &boot.tls) == 0 && client_cmd(&c, "QUIT\r\n", 221) == 0;
	client_close(&c);
	report("implicit TLS on 465 (test CA, m4.test), AUTH 235, queued (250)", ok);
}

/* SMTP smuggling (DESIGN.md: the end of data is exactly CRLF . CRLF): each
 * look-alike in a body, followed by a whole transaction, in one write. The
 * relay must answer one 250 for the whole message and nothing to the
 * smuggled commands (the next reply is VRFY's 252, not a 250 of a smuggled
 * MAIL), and queue exactly one message per attempt. What the smarthost gets
 * is checked in phase 1. */
static void case_smuggling(void)
{
	struct client c;
	size_t before;
	int ok;

	before = queued_now();
	ok = client_open(&c) == 0;
	for (unsigned v = 0; ok && v < NR_M4_SMUGGLE_VARIANTS; v++) {
		int tag = open_data(&c);
		size_t len =
		    tag < 0 ? 0
			    : nr_m4_smuggle_make(msgbuf, sizeof(msgbuf) - 3, (unsigned)tag, v, 0);

		ok = send_body(&c, len, tag, 250, &boot.smuggle) == 0 &&
		     client_cmd(&c, "VRFY postmaster\r\n", 252) == 0;
	}
	ok = ok && client_cmd(&c, "QUIT\r\n", 221) == 0;
	client_close(&c);
	report("SMTP smuggling (\\r\\n.\\n, \\n.\\r\\n, \\n.\\n, \\r.\\n in a body): one 250 "
	       "each, no reply to the smuggled commands, one message queued each",
	       ok && count(boot.smuggle) == NR_M4_SMUGGLE_VARIANTS &&
		   queued_now() == before + NR_M4_SMUGGLE_VARIANTS);
}

static void case_submit(void)
{
	int tag = next_tag();

	if (tag < 0 || !nr_m4_msg_make(msgbuf, sizeof(msgbuf), (unsigned)tag, 5)) {
		report("the submit API queues a message of the firmware's own", 0);
		return;
	}
	req.body = msgbuf;
	relay_ask(REQ_SUBMIT);
	if (req.rc == 0)
		boot.accepted |= 1ull << tag;
	report("the submit API queues a message of the firmware's own", req.rc == 0);
	if (req.rc == 0)
		printf("  queue id %s\r\n", req.id);
}

#define SCB_AIRCR (*(volatile uint32_t *)0xE000ED0Cu)

/* A warm reset into the next phase (from the self-test's task, or from the
 * smarthost's in the middle of a delivery): the RAM flash, boot and the
 * smarthost's counters survive it (.noinit). */
void nr_m4_warm_reset(const char *why)
{
	printf("warm reset (%s) into phase %lu, accepted 0x%08lx%08lx\r\n", why,
	       (unsigned long)boot.phase + 1, (unsigned long)(boot.accepted >> 32),
	       (unsigned long)boot.accepted);
	taskDISABLE_INTERRUPTS(); /* no other task runs from here */
	boot.passed = passed;
	boot.failed = failed;
	boot.phase++;
	boot.mark = BOOT_MARK;
	__asm__ volatile("dsb" ::: "memory");
	SCB_AIRCR = 0x05FA0004u; /* VECTKEY | SYSRESETREQ */
	for (;;)
		;
}

/* Messages of 12 KB until the 64 KB queue is full: 452 (at DATA or at its
 * end), every message answered 250 is in the queue, and the session goes on. */
static void case_queue_full(void)
{
	struct client c;
	unsigned sent = 0, full = 0;
	size_t before;
	int ok;

	before = queued_now();
	ok = client_open(&c) == 0;
	for (unsigned i = 0; ok && !full && i < 10; i++) {
		int code;

		ok = client_cmd(&c, "MAIL FROM:<bulk@m4.test>\r\n", 250) == 0 &&
		     client_cmd(&c, "RCPT TO:<admin@example.com>\r\n", 250) == 0 &&
		     lwip_send(c.fd, "DATA\r\n", 6, 0) == 6;
		code = ok ? client_reply(&c) : -1;
		if (code == 354) {
			/* 190 lines: 12 KB. 250 is the common answer. */
			int tag = next_tag();
			size_t len = tag < 0 ? 0
					     : nr_m4_msg_make(msgbuf, sizeof(msgbuf) - 3,
							      (unsigned)tag, 190);
			memcpy(msgbuf + len, ".\r\n", 4);
			ok = len > 0 && client_send(&c, msgbuf, len + 3) == (ssize_t)(len + 3);
			code = ok ? client_reply(&c) : -1;
			if (code == 250)
				boot.accepted |= 1ull << tag;
		}
		if (code == 250)
			sent++;
		else if (code == 452)
			full = 1;
		else
			ok = 0;
		if (ok && code == 452)
			ok = client_cmd(&c, "RSET\r\n", 250) == 0;
	}
	ok = ok && full && client_cmd(&c, "QUIT\r\n", 221) == 0;
	client_close(&c);
	relay_ask(REQ_STATS);
	printf("  %u messages of 12 KB accepted before 452; queued %lu -> %lu\r\n", sent,
	       (unsigned long)before, (unsigned long)req.stats.queued);
	report("a full queue answers 452 and keeps every message it accepted",
	       ok && sent > 0 && req.stats.queued == before + sent);
}

/* Wait until the queue is empty (nothing more can come: the smarthost
 * records a message before it answers 250) and the smarthost has every
 * accepted message, or the queue has stayed empty for 1 s without (a lost
 * message), or 15 s have passed (a clean run needs about 3); print what it
 * saw. Every wait of the run is bounded so that even a failing run ends
 * well inside tests/rtos/qemu-m4.sh's time limit, with its cases reported. */
static void wait_delivered(void)
{
	struct nr_m4_smarthost *sh = &nr_m4_smarthost;
	unsigned waited, empty = 0;

	for (waited = 0; waited < 150; waited++) {
		relay_ask(REQ_STATS);
		empty = req.stats.queued == 0 ? empty + 1 : 0;
		if (empty && (sh->received == boot.accepted || empty > 10))
			break;
		vTaskDelay(pdMS_TO_TICKS(100));
	}
	printf("  accepted 0x%08lx%08lx, delivered 0x%08lx%08lx after %u ms: %u messages, %u bad, "
	       "%u twice, %u dropped, %u smuggled; queued %lu, deferred %lu\r\n",
	       (unsigned long)(boot.accepted >> 32), (unsigned long)boot.accepted,
	       (unsigned long)(sh->received >> 32), (unsigned long)sh->received, waited * 100,
	       sh->messages, sh->bad, sh->dups, sh->drops, sh->smuggled,
	       (unsigned long)req.stats.queued, (unsigned long)req.stats.deferred);
}

/* Every accepted message arrived intact, none else, the queue is empty;
 * and the tags in twice (no other) came more than once. */
static int all_delivered(uint64_t twice)
{
	struct nr_m4_smarthost *sh = &nr_m4_smarthost;

	return sh->received == boot.accepted && sh->bad == 0 && sh->twice == twice &&
	       sh->dups == count(twice) && req.stats.queued == 0;
}

/* tags (of one case) all arrived intact. */
static int arrived(uint64_t tags)
{
	return tags != 0 && (nr_m4_smarthost.received & tags) == tags;
}

/* One more message over plain SMTP: 0 when queued (250). */
static int plain_txn(unsigned lines, unsigned n, uint64_t *also)
{
	struct client c;
	int ok = client_open(&c) == 0;

	for (unsigned i = 0; ok && i < n; i++)
		ok = send_txn(&c, lines + i, also) == 0;
	ok = ok && client_cmd(&c, "QUIT\r\n", 221) == 0;
	client_close(&c);
	return ok ? 0 : -1;
}

/* Phase 1. The relay has a smarthost: everything queued before the reset
 * is delivered over TLS (the smarthost checks every byte), once each; the
 * first DATA is dropped half-way by the smarthost (drop_next, set before
 * the relay started), and that message goes again on a retry. Then N_BATCH
 * messages more, and the smarthost resets the board while the first of
 * them is in DATA (the self-test holds it until all are queued). */
static void phase_deliver(void)
{
	struct nr_m4_smarthost *sh = &nr_m4_smarthost;
	int ok;

	wait_delivered();
	report("every message queued before the reset was delivered over TLS, byte for byte, "
	       "once",
	       all_delivered(0));
	report("the smuggling attempts arrived as one message each, the look-alikes as "
	       "content; no smuggled envelope reached the smarthost",
	       arrived(boot.smuggle) && sh->smuggled == 0 && sh->bad == 0);
	report("a smarthost that dropped the connection mid-DATA got the message on a retry",
	       sh->drops == 1 && req.stats.deferred >= 1 && all_delivered(0));
	/* The queue had filled up (case_queue_full): now it has room. */
	case_implicit_tls();
	wait_delivered();
	report("the " NR_M4_STR(N_MSGS) " plain, the " NR_M4_STR(
		   N_MSGS) " STARTTLS and the implicit-TLS messages arrived byte for byte, once",
	       arrived(boot.plain) && arrived(boot.tls) && count(boot.plain) == N_MSGS &&
		   count(boot.tls) == N_MSGS + 1 && all_delivered(0));
	sh->hold = 1;
	sh->reset_in_data = 1;
	ok = plain_txn(3, N_BATCH, &boot.batch) == 0;
	report("" NR_M4_STR(N_BATCH) " messages queued for the resets in mid-delivery",
	       ok && count(boot.batch) == N_BATCH);
	sh->hold = 0;
	/* The smarthost resets the board now; still here after 15 s: it did
	 * not. */
	vTaskDelay(pdMS_TO_TICKS(15000));
	report("the smarthost reset the board in the middle of DATA", 0);
}

/* Phase 3: after a reset in the middle of DATA (phase 1) and one right
 * after the smarthost's 250 (phase 2): every message arrives, intact; the
 * one answered 250 just before the reset comes twice (the relay had not
 * marked it done: at least once, never lost), every other one once. Then
 * one more message, accepted and delivered with the smarthost up. */
static void phase_after_resets(void)
{
	struct nr_m4_smarthost *sh = &nr_m4_smarthost;
	uint64_t dup = sh->reset_tag >= 0 ? 1ull << sh->reset_tag : 0;
	int ok;

	wait_delivered();
	report("after a reset in mid-DATA and one right after 250, every message arrived, "
	       "intact, and the queue is empty",
	       arrived(boot.batch) && sh->received == boot.accepted && sh->bad == 0 &&
		   req.stats.queued == 0);
	report("the message answered 250 just before the reset came again (a duplicate, "
	       "not a loss); no other came twice",
	       (dup & boot.batch) != 0 && all_delivered(dup));
	ok = plain_txn(20, 1, NULL) == 0;
	wait_delivered();
	report("a message accepted after the resets is delivered too", ok && all_delivered(dup));
}

static void selftest_task(void *arg)
{
	struct nr_m4_flash_stats fs;
	size_t heap_now, heap_peak;
	uint32_t phase = boot.mark == BOOT_MARK ? boot.phase : PHASE_COLD;

	(void)arg;
	xSemaphoreTake(relay_up, portMAX_DELAY);
	/* The relay's own share, before any test task allocates (task stacks
	 * and lwIP's pools are not in this count: heap_4 and .bss). */
	nr_rtos_heap_usage(&heap_now, &heap_peak);
	printf("heap: the relay started and idle: %lu bytes in use, %lu at most\r\n",
	       (unsigned long)heap_now, (unsigned long)heap_peak);
	if (phase != PHASE_COLD) {
		passed = boot.passed;
		failed = boot.failed;
	}
	boot.mark = 0; /* a reset from here on starts afresh, unless it is ours */
	switch (phase) {
	case PHASE_COLD:
		case_plain_relay();
		case_bad_command();
		case_long_line();
		case_two_sessions();
		case_starttls_auth();
		case_smuggling();
		case_submit();
		relay_ask(REQ_STATS);
		report("the queue holds every accepted message",
		       req.stats.queued == count(boot.accepted) &&
			   req.stats.accepted == count(boot.accepted));
		case_queue_full();
		nr_m4_warm_reset("every SMTP case done, the queue holds messages");
	case PHASE_DELIVER:
		nr_m4_flash_stats(&fs);
		report("the RAM flash came through the warm reset", fs.warm);
		phase_deliver();
		break;
	case PHASE_AFTER_DATA_RESET:
		/* The smarthost answers 250 to the first message and resets the
		 * board at once (reset_after_250): no case here, a report could
		 * race with that reset. Still here after 15 s: it did not. */
		vTaskDelay(pdMS_TO_TICKS(15000));
		report("the smarthost answered 250 and reset the board", 0);
		break;
	case PHASE_AFTER_250_RESET:
		nr_m4_flash_stats(&fs);
		report("the RAM flash came through the resets in mid-delivery", fs.warm);
		phase_after_resets();
		break;
	default:
		report("the run is in a known phase", 0);
		break;
	}
	nr_m4_flash_stats(&fs);
	report("the flash HAL saw no NOR violation", fs.violations == 0 && fs.programs > 0);
	nr_rtos_heap_usage(&heap_now, &heap_peak);
	printf("flash: %lu programs, %lu erases, %lu syncs (this boot)\r\n",
	       (unsigned long)fs.programs, (unsigned long)fs.erases, (unsigned long)fs.syncs);
	printf("heap: %lu bytes allocated now, %lu at most; heap_4 free %lu, lowest %lu of %lu\r\n",
	       (unsigned long)heap_now, (unsigned long)heap_peak,
	       (unsigned long)xPortGetFreeHeapSize(),
	       (unsigned long)xPortGetMinimumEverFreeHeapSize(),
	       (unsigned long)configTOTAL_HEAP_SIZE);
	/* The stacks' high-water marks (bytes never used), for the board checklist. */
	{
		static const char *const names[] = {"relay", "tcpip", "smarthost", "selftest"};
		printf("stack unused at the peak (bytes):");
		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
			TaskHandle_t t = xTaskGetHandle(names[i]);
			if (t)
				printf(" %s %lu", names[i],
				       (unsigned long)(uxTaskGetStackHighWaterMark(t) *
						       sizeof(StackType_t)));
		}
		printf("\r\n");
	}
	printf("selftest done: %u passed, %u failed\r\n", passed, failed);
	nr_m4_exit(failed ? 1 : 0);
}

/* ---- start-up ------------------------------------------------------------------------ */
static void tcpip_ready(void *arg)
{
	xSemaphoreGive((SemaphoreHandle_t)arg);
}

static void init_task(void *arg)
{
	SemaphoreHandle_t done = xSemaphoreCreateBinary();

	(void)arg;
	/* lwIP's loopback netif (LWIP_HAVE_LOOPIF) comes up with the stack. */
	tcpip_init(tcpip_ready, done);
	xSemaphoreTake(done, portMAX_DELAY);
	vSemaphoreDelete(done);
	relay_up = xSemaphoreCreateBinary();
	req.done = xSemaphoreCreateBinary();
	strcpy(conf_text, relay_conf);
	if (boot.mark == BOOT_MARK && boot.phase != PHASE_COLD) {
		struct nr_m4_smarthost *sh = &nr_m4_smarthost;

		strcat(conf_text, relay_smarthost);
		/* The traps of this boot (m4_selftest.h); the counters go on. */
		sh->drop_next = boot.phase == PHASE_DELIVER; /* the first DATA it gets */
		sh->reset_in_data = 0;                       /* set by phase_deliver */
		sh->reset_after_250 = boot.phase == PHASE_AFTER_DATA_RESET;
		sh->hold = 0;
		if (xTaskCreate(nr_m4_smarthost_task, "smarthost", 1024, NULL, tskIDLE_PRIORITY + 1,
				NULL) != pdPASS)
			m4_panic(__FILE__, __LINE__, "no heap for the smarthost");
	} else {
		memset(&boot, 0, sizeof(boot));
		memset(&nr_m4_smarthost, 0, sizeof(nr_m4_smarthost));
		nr_m4_smarthost.reset_tag = -1;
	}
	if (xTaskCreate(relay_task, "relay", NR_M4_RELAY_STACK / sizeof(StackType_t), NULL,
			tskIDLE_PRIORITY + 2, NULL) != pdPASS ||
	    xTaskCreate(selftest_task, "selftest", 1024, NULL, tskIDLE_PRIORITY + 1, NULL) !=
		pdPASS)
		m4_panic(__FILE__, __LINE__, "no heap for the tasks");
	vTaskDelete(NULL);
}

int main(void)
{
	const struct nr_board board = {.log = m4_log,
				       .panic = m4_panic,
				       .entropy = nr_m4_test_entropy,
				       .blob_read = m4_blob_read,
				       .flash_open = nr_m4_flash_open};

	nr_m4_uart_init();
	nr_m4_uart_puts("firmware-m4: nanorelay self-test on mps2-an386\r\n");
	nr_rtos_heap_for_core(); /* the board's one heap (m4_sys.c), counted */
	nr_rtos_board_init(&board);
	nr_rtos_set_wall_time(NR_M4_WALL_TIME);
	if (xTaskCreate(init_task, "init", 512, NULL, tskIDLE_PRIORITY + 3, NULL) != pdPASS) {
		nr_m4_uart_puts("firmware-m4: no heap for the first task\r\n");
		return 1;
	}
	vTaskStartScheduler();
	return 1; /* not reached: the scheduler runs forever */
}
