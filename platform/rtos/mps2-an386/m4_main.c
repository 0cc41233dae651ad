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
 * m4_smarthost.c, over implicit TLS, verified against the test CA. */
static const char relay_conf[] = "listen 127.0.0.1:25 tls=none\n"
				 "listen 127.0.0.1:587 tls=starttls\n"
				 "lan_cert /m4/lan.crt\n"
				 "lan_key /m4/lan.key\n"
				 "allow 127.0.0.1/32\n"
				 "hostname m4.test\n"
				 "max_sessions 2\n"
				 "queue flash size=64K\n";
static const char relay_smarthost[] =
    "smarthost smarthost.test:2465 tls=implicit user=relay@m4.test "
    "password_file=/m4/smarthost.pw\n"
    "ca_file /m4/ca.pem\n"
    "retry 1s 2s\n"
    "upstream_connections 1\n";
static char conf_text[sizeof(relay_conf) + sizeof(relay_smarthost)];

/* What a warm reset must keep: the self-test's state, in .noinit. */
#define BOOT_MARK 0x4e52424fu /* "NRBO" */
static struct {
	uint32_t mark, phase;
	unsigned passed, failed;
	unsigned next_tag; /* the next test message's number */
	uint32_t accepted; /* test messages the relay accepted (bit per tag) */
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

static unsigned passed, failed;

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
	return boot.next_tag < 32 ? (int)boot.next_tag++ : -1;
}

static int send_msg(struct client *c, unsigned lines, int want)
{
	int tag = next_tag();
	size_t len = tag < 0 ? 0 : nr_m4_msg_make(msgbuf, sizeof(msgbuf) - 3, (unsigned)tag, lines);

	if (len == 0)
		return -1;
	memcpy(msgbuf + len, ".\r\n", 4);
	if (client_cmd(c, msgbuf, want) != 0)
		return -1;
	if (want == 250)
		boot.accepted |= 1u << tag;
	return 0;
}

static void case_plain_relay(void)
{
	struct client c;
	int ok = client_connect(&c, 25) == 0 && client_cmd(&c, "", 220) == 0 &&
		 client_cmd(&c, "EHLO client.test\r\n", 250) == 0 &&
		 client_cmd(&c, "MAIL FROM:<dev@m4.test>\r\n", 250) == 0 &&
		 client_cmd(&c, "RCPT TO:<admin@example.com>\r\n", 250) == 0 &&
		 client_cmd(&c, "DATA\r\n", 354) == 0 && send_msg(&c, 3, 250) == 0 &&
		 client_cmd(&c, "QUIT\r\n", 221) == 0;
	client_close(&c);
	report("plain SMTP on 127.0.0.1:25 is queued in the RAM flash (250)", ok);
}

static void case_bad_command(void)
{
	struct client c;
	int ok = client_connect(&c, 25) == 0 && client_cmd(&c, "", 220) == 0 &&
		 client_cmd(&c, "EHLO client.test\r\n", 250) == 0 &&
		 client_cmd(&c, "FROB\r\n", 500) == 0 &&
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
	ok = client_connect(&c, 25) == 0 && client_cmd(&c, "", 220) == 0 &&
	     client_cmd(&c, "EHLO client.test\r\n", 250) == 0 && client_cmd(&c, line, 500) == 0 &&
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
		 client_cmd(&c, "AUTH PLAIN AGRldgBzZWNyZXQ=\r\n", 235) == 0 &&
		 client_cmd(&c, "MAIL FROM:<dev@m4.test>\r\n", 250) == 0 &&
		 client_cmd(&c, "RCPT TO:<admin@example.com>\r\n", 250) == 0 &&
		 client_cmd(&c, "DATA\r\n", 354) == 0 && send_msg(&c, 40, 250) == 0 &&
		 client_cmd(&c, "QUIT\r\n", 221) == 0;
	client_close(&c);
	report("STARTTLS on 587 (test CA, m4.test), AUTH 535 then 235, queued (250)", ok);
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
		boot.accepted |= 1u << tag;
	report("the submit API queues a message of the firmware's own", req.rc == 0);
	if (req.rc == 0)
		printf("  queue id %s\r\n", req.id);
}

#define SCB_AIRCR (*(volatile uint32_t *)0xE000ED0Cu)

static void warm_reset(void)
{
	boot.passed = passed;
	boot.failed = failed;
	boot.phase = 1;
	boot.mark = BOOT_MARK;
	printf("warm reset with the queue holding messages 0x%08lx\r\n",
	       (unsigned long)boot.accepted);
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

	relay_ask(REQ_STATS);
	before = req.stats.queued;
	ok = client_connect(&c, 25) == 0 && client_cmd(&c, "", 220) == 0 &&
	     client_cmd(&c, "EHLO client.test\r\n", 250) == 0;
	for (unsigned i = 0; ok && !full && i < 10; i++) {
		int code;

		ok = client_cmd(&c, "MAIL FROM:<bulk@m4.test>\r\n", 250) == 0 &&
		     client_cmd(&c, "RCPT TO:<admin@example.com>\r\n", 250) == 0 &&
		     lwip_send(c.fd, "DATA\r\n", 6, 0) == 6;
		code = ok ? client_reply(&c) : -1;
		if (code == 354) {
			/* 190 lines: 12 KB. 250 is the common answer; a 452
			 * here shows as a failed send_msg, then the reply. */
			int tag = next_tag();
			size_t len = tag < 0 ? 0
					     : nr_m4_msg_make(msgbuf, sizeof(msgbuf) - 3,
							      (unsigned)tag, 190);
			memcpy(msgbuf + len, ".\r\n", 4);
			ok = len > 0 && client_send(&c, msgbuf, len + 3) == (ssize_t)(len + 3);
			code = ok ? client_reply(&c) : -1;
			if (code == 250)
				boot.accepted |= 1u << tag;
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

/* Wait (at most 60 s) until the smarthost has every accepted message and
 * the queue is empty; print what it saw. */
static void wait_delivered(void)
{
	struct nr_m4_smarthost *sh = &nr_m4_smarthost;
	unsigned waited;

	for (waited = 0; waited < 600; waited++) {
		relay_ask(REQ_STATS);
		if (req.stats.queued == 0 && sh->received == boot.accepted)
			break;
		vTaskDelay(pdMS_TO_TICKS(100));
	}
	printf("  accepted 0x%08lx, delivered 0x%08lx after %u ms: %u messages, %u bad, %u twice, "
	       "%u dropped; queued %lu, deferred %lu\r\n",
	       (unsigned long)boot.accepted, (unsigned long)sh->received, waited * 100,
	       sh->messages, sh->bad, sh->dups, sh->drops, (unsigned long)req.stats.queued,
	       (unsigned long)req.stats.deferred);
}

static int all_delivered(void)
{
	struct nr_m4_smarthost *sh = &nr_m4_smarthost;

	return sh->received == boot.accepted && sh->bad == 0 && sh->dups == 0 &&
	       req.stats.queued == 0;
}

/* After the reset the relay has a smarthost: everything queued before it
 * is delivered over TLS (the smarthost checks every byte), once each; the
 * first DATA is dropped half-way by the smarthost (drop_next, set before
 * the relay started), and that message goes again on a retry. Then one
 * more message, accepted and delivered with the smarthost up. */
static void case_delivery(void)
{
	struct nr_m4_smarthost *sh = &nr_m4_smarthost;
	struct client c;
	int ok;

	wait_delivered();
	report("every message queued before the reset was delivered over TLS, byte for byte, "
	       "once",
	       all_delivered());
	report("a smarthost that dropped the connection mid-DATA got the message on a retry",
	       sh->drops == 1 && req.stats.deferred >= 1);
	ok = client_connect(&c, 25) == 0 && client_cmd(&c, "", 220) == 0 &&
	     client_cmd(&c, "EHLO client.test\r\n", 250) == 0 &&
	     client_cmd(&c, "MAIL FROM:<dev@m4.test>\r\n", 250) == 0 &&
	     client_cmd(&c, "RCPT TO:<admin@example.com>\r\n", 250) == 0 &&
	     client_cmd(&c, "DATA\r\n", 354) == 0 && send_msg(&c, 20, 250) == 0 &&
	     client_cmd(&c, "QUIT\r\n", 221) == 0;
	client_close(&c);
	wait_delivered();
	report("a message accepted after the reset is delivered too", ok && all_delivered());
}

static void selftest_task(void *arg)
{
	struct nr_m4_flash_stats fs;
	size_t heap_now, heap_peak;
	int after_reset = boot.mark == BOOT_MARK && boot.phase == 1;

	(void)arg;
	xSemaphoreTake(relay_up, portMAX_DELAY);
	/* The relay's own share, before any test task allocates (task stacks
	 * and lwIP's pools are not in this count: heap_4 and .bss). */
	nr_rtos_heap_usage(&heap_now, &heap_peak);
	printf("heap: the relay started and idle: %lu bytes in use, %lu at most\r\n",
	       (unsigned long)heap_now, (unsigned long)heap_peak);
	if (!after_reset) {
		case_plain_relay();
		case_bad_command();
		case_long_line();
		case_two_sessions();
		case_starttls_auth();
		case_submit();
		relay_ask(REQ_STATS);
		report("the queue holds the 5 accepted messages",
		       req.stats.queued == 5 && req.stats.accepted == 5);
		case_queue_full();
		warm_reset();
	}
	passed = boot.passed;
	failed = boot.failed;
	boot.mark = 0; /* the next power-on or reset starts afresh */
	nr_m4_flash_stats(&fs);
	report("the RAM flash came through the warm reset", fs.warm);
	case_delivery();
	nr_m4_flash_stats(&fs);
	report("the flash HAL saw no NOR violation", fs.violations == 0 && fs.programs > 0);
	nr_rtos_heap_usage(&heap_now, &heap_peak);
	printf("flash: %lu programs, %lu erases, %lu syncs\r\n", (unsigned long)fs.programs,
	       (unsigned long)fs.erases, (unsigned long)fs.syncs);
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
	if (boot.mark == BOOT_MARK && boot.phase == 1) {
		strcat(conf_text, relay_smarthost);
		nr_m4_smarthost.drop_next = 1; /* the first DATA it gets */
		if (xTaskCreate(nr_m4_smarthost_task, "smarthost", 1024, NULL, tskIDLE_PRIORITY + 1,
				NULL) != pdPASS)
			m4_panic(__FILE__, __LINE__, "no heap for the smarthost");
	} else {
		boot.next_tag = 0;
		boot.accepted = 0;
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
