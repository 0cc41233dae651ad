/*
 * m4_smarthost.c - the self-test's fake smarthost and its test messages
 * (m4_selftest.h). One connection at a time, implicit TLS (mbedTLS server
 * with the build-time certificate for smarthost.test, which the relay
 * verifies against the test CA), a minimal SMTP server that checks every
 * byte of every body it is given.
 */
#include <stdio.h>
#include <string.h>

#include "FreeRTOS.h"
#include "task.h"

#include "lwip/sockets.h"
#include "mbedtls/ctr_drbg.h"
#include "mbedtls/net_sockets.h"
#include "mbedtls/pk.h"
#include "mbedtls/ssl.h"

#include "m4_certs.h"
#include "m4_selftest.h"
#include "rtos_heap.h"

struct nr_m4_smarthost nr_m4_smarthost __attribute__((section(".noinit")));

/* ---- the test messages ---------------------------------------------------------------- */
/* Line i of message tag: 62 characters and CRLF. */
static void pattern_line(char *out, unsigned tag, unsigned i)
{
	int n = snprintf(out, 65, "m4 %02u line %04u ", tag, i);
	for (int k = n; k < 62; k++)
		out[k] = (char)('a' + (k + (int)i + (int)tag) % 26);
	out[62] = '\r';
	out[63] = '\n';
}

size_t nr_m4_msg_make(char *buf, size_t size, unsigned tag, unsigned lines)
{
	char end[40];
	int n = snprintf(buf, size, "Subject: m4 %02u\r\n\r\n", tag);
	size_t len = (size_t)n;
	int e = snprintf(end, sizeof(end), "m4 %02u end %04u\r\n", tag, lines);

	if (n < 0 || len + (size_t)lines * 64 + (size_t)e + 1 > size)
		return 0;
	for (unsigned i = 0; i < lines; i++, len += 64)
		pattern_line(buf + len, tag, i);
	memcpy(buf + len, end, (size_t)e + 1);
	return len + (size_t)e;
}

static const char *const smuggle_wire[NR_M4_SMUGGLE_VARIANTS] = {"\r\n.\n", "\n.\r\n", "\n.\n",
								 "\r.\n"};
static const char *const smuggle_canon[NR_M4_SMUGGLE_VARIANTS] = {"\r\n.\r\n", "\r\n.\r\n",
								  "\r\n.\r\n", " .\r\n"};

size_t nr_m4_smuggle_make(char *buf, size_t size, unsigned tag, unsigned variant, int canonical)
{
	int n;

	if (variant >= NR_M4_SMUGGLE_VARIANTS)
		return 0;
	n = snprintf(buf, size,
		     "Subject: m4 %02u\r\n\r\nm4 %02u smuggle %u\r\nthe end of data look-alike "
		     "follows%sMAIL FROM:<smuggled@m4.test>\r\nRCPT TO:<victim@example.com>\r\n"
		     "DATA\r\nSubject: smuggled\r\n\r\nsmuggled body\r\n",
		     tag, tag, variant, canonical ? smuggle_canon[variant] : smuggle_wire[variant]);
	return n < 0 || (size_t)n >= size ? 0 : (size_t)n;
}

/* The body of a delivered message, after its header block (the relay adds
 * fields in front of the test message's own). */
static const char *body_of(const char *msg, size_t len)
{
	for (const char *p = msg; p + 4 <= msg + len; p++)
		if (memcmp(p, "\r\n\r\n", 4) == 0)
			return p + 4;
	return NULL;
}

/* A smuggling message: its body must be nr_m4_smuggle_make()'s canonical
 * one, byte for byte. Its tag, or -1. */
static int smuggle_check(const char *body, size_t len, unsigned tag, unsigned variant)
{
	static char want[512];
	size_t n = nr_m4_smuggle_make(want, sizeof(want), tag, variant, 1);
	const char *wbody = n ? body_of(want, n) : NULL;

	if (!wbody || (size_t)(want + n - wbody) != len || memcmp(body, wbody, len) != 0)
		return -1;
	return (int)tag;
}

/* The body of msg (after the header block) is one test message's: its tag,
 * or -1. */
static int msg_check(const char *msg, size_t len)
{
	const char *body = body_of(msg, len), *p;
	unsigned tag, variant, lines = 0;
	char line[64], end[40];

	if (body && sscanf(body, "m4 %2u smuggle %u\r", &tag, &variant) == 2)
		return tag < NR_M4_TAGS
			   ? smuggle_check(body, (size_t)(msg + len - body), tag, variant)
			   : -1;
	if (!body || sscanf(body, "m4 %2u line", &tag) != 1 || tag >= NR_M4_TAGS)
		return -1;
	for (p = body; p + 64 <= msg + len && memcmp(p, "m4 ", 3) == 0 && p[6] == 'l'; p += 64) {
		pattern_line(line, tag, lines++);
		if (memcmp(p, line, 64) != 0)
			return -1;
	}
	snprintf(end, sizeof(end), "m4 %02u end %04u\r\n", tag, lines);
	if ((size_t)(msg + len - p) != strlen(end) || memcmp(p, end, strlen(end)) != 0)
		return -1;
	return (int)tag;
}

/* ---- the server ------------------------------------------------------------------------ */
struct conn {
	mbedtls_ssl_context ssl;
	char in[256];
	size_t len;
};

int nr_m4_tls_send(void *ctx, const unsigned char *buf, size_t len)
{
	ssize_t n = lwip_send(*(int *)ctx, buf, len, 0);
	return n < 0 ? MBEDTLS_ERR_NET_SEND_FAILED : (int)n;
}

int nr_m4_tls_recv(void *ctx, unsigned char *buf, size_t len)
{
	ssize_t n = lwip_recv(*(int *)ctx, buf, len, 0);
	return n < 0 ? MBEDTLS_ERR_NET_RECV_FAILED : (int)n;
}

int nr_m4_tls_entropy(void *ctx, unsigned char *buf, size_t len)
{
	(void)ctx;
	return nr_m4_test_entropy(buf, len);
}

static int say(struct conn *c, const char *text)
{
	size_t len = strlen(text);
	for (size_t done = 0; done < len;) {
		int n = mbedtls_ssl_write(&c->ssl, (const unsigned char *)text + done, len - done);
		if (n <= 0)
			return -1;
		done += (size_t)n;
	}
	return 0;
}

/* One line (with its CRLF) into out (NUL-terminated, cut at size - 1): its
 * length, or -1 at EOF or error. */
static int hear(struct conn *c, char *out, size_t size)
{
	for (;;) {
		char *eol = memchr(c->in, '\n', c->len);
		if (eol) {
			size_t n = (size_t)(eol - c->in) + 1, k = n < size ? n : size - 1;
			memcpy(out, c->in, k);
			out[k] = '\0';
			memmove(c->in, c->in + n, c->len - n);
			c->len -= n;
			return (int)n;
		}
		if (c->len == sizeof(c->in)) { /* a long line: pass it in pieces */
			size_t k = size - 1 < c->len ? size - 1 : c->len;
			memcpy(out, c->in, k);
			out[k] = '\0';
			memmove(c->in, c->in + k, c->len - k);
			c->len -= k;
			return (int)k;
		}
		int r = mbedtls_ssl_read(&c->ssl, (unsigned char *)c->in + c->len,
					 sizeof(c->in) - c->len);
		if (r <= 0)
			return -1;
		c->len += (size_t)r;
	}
}

static char message[16 * 1024];

/* Before a reset trap goes off: wait (at most 20 s) while the self-test
 * holds (its client is still queueing messages). */
static void wait_hold(void)
{
	for (unsigned i = 0; nr_m4_smarthost.hold && i < 200; i++)
		vTaskDelay(pdMS_TO_TICKS(100));
}

/* The SMTP dialogue of one connection. */
static void serve(struct conn *c)
{
	char line[256];
	struct nr_m4_smarthost *sh = &nr_m4_smarthost;

	if (say(c, "220 smarthost.test ESMTP m4\r\n"))
		return;
	while (hear(c, line, sizeof(line)) > 0) {
		if (strncmp(line, "EHLO", 4) == 0) {
			if (say(c,
				"250-smarthost.test\r\n250-AUTH PLAIN LOGIN\r\n250 8BITMIME\r\n"))
				return;
		} else if (strncmp(line, "AUTH", 4) == 0) {
			if (say(c, "235 2.7.0 ok\r\n"))
				return;
		} else if (strncmp(line, "DATA", 4) == 0) {
			size_t len = 0;
			int n, tag;

			if (say(c, "354 go on\r\n"))
				return;
			if (sh->drop_next) { /* a smarthost that drops mid-DATA */
				sh->drop_next = 0;
				(void)hear(c, line, sizeof(line));
				sh->drops++;
				return;
			}
			if (sh->reset_in_data) { /* a reset while the body streams in */
				sh->reset_in_data = 0;
				(void)hear(c, line, sizeof(line));
				wait_hold();
				nr_m4_warm_reset(
				    "the smarthost reset the board in the middle of DATA");
			}
			while ((n = hear(c, line, sizeof(line))) > 0 &&
			       strcmp(line, ".\r\n") != 0) {
				const char *l = line[0] == '.' ? line + 1 : line; /* unstuff */
				size_t k = (size_t)n - (size_t)(l - line);

				if ((size_t)n > sizeof(line) - 1 || len + k > sizeof(message))
					len = sizeof(message) +
					      1; /* too long: never a test message */
				else
					memcpy(message + len, l, k), len += k;
			}
			if (n <= 0)
				return;
			tag = len <= sizeof(message) ? msg_check(message, len) : -1;
			if (tag < 0) {
				sh->bad++;
			} else if (sh->received & (1ull << tag)) {
				sh->dups++;
				sh->twice |= 1ull << tag;
			} else {
				sh->received |= 1ull << tag;
			}
			sh->messages++;
			if (sh->reset_after_250) {
				/* Above the TCP/IP task and the relay from here on:
				 * the 250 reaches lwIP's loopback queue, and the
				 * board resets before the relay can read it, i.e.
				 * before it marks the message done in its queue. */
				sh->reset_after_250 = 0;
				sh->reset_tag = tag;
				wait_hold();
				vTaskPrioritySet(NULL, configMAX_PRIORITIES - 2);
				if (say(c, "250 2.0.0 queued\r\n") == 0)
					nr_m4_warm_reset("the smarthost answered 250 and reset the "
							 "board at once");
				vTaskPrioritySet(NULL, tskIDLE_PRIORITY + 1);
				return;
			}
			if (say(c, "250 2.0.0 queued\r\n"))
				return;
		} else if (strncmp(line, "MAIL FROM:<smuggled", 19) == 0 ||
			   strncmp(line, "RCPT TO:<victim", 15) == 0) {
			sh->smuggled++; /* an envelope made of a body: must never come */
			if (say(c, "250 ok\r\n"))
				return;
		} else if (strncmp(line, "QUIT", 4) == 0) {
			(void)say(c, "221 bye\r\n");
			return;
		} else if (say(c, "250 ok\r\n")) { /* MAIL, RCPT, RSET, NOOP */
			return;
		}
	}
}

void nr_m4_smarthost_task(void *arg)
{
	static mbedtls_ssl_config conf;
	static mbedtls_x509_crt crt;
	static mbedtls_pk_context key;
	static mbedtls_ctr_drbg_context drbg;
	struct sockaddr_in sa = {.sin_len = sizeof(sa), .sin_family = AF_INET};
	int lfd, ret;

	(void)arg;
	mbedtls_ssl_config_init(&conf);
	mbedtls_x509_crt_init(&crt);
	mbedtls_pk_init(&key);
	mbedtls_ctr_drbg_init(&drbg);
	ret = mbedtls_ctr_drbg_seed(&drbg, nr_m4_tls_entropy, NULL, NULL, 0);
	if (!ret)
		ret = mbedtls_x509_crt_parse(&crt, (const unsigned char *)m4_smarthost_crt,
					     sizeof(m4_smarthost_crt));
	if (!ret)
		ret = mbedtls_pk_parse_key(&key, (const unsigned char *)m4_smarthost_key,
					   sizeof(m4_smarthost_key), NULL, 0);
	if (!ret)
		ret = mbedtls_ssl_config_defaults(&conf, MBEDTLS_SSL_IS_SERVER,
						  MBEDTLS_SSL_TRANSPORT_STREAM,
						  MBEDTLS_SSL_PRESET_DEFAULT);
	if (!ret) {
		mbedtls_ssl_conf_rng(&conf, mbedtls_ctr_drbg_random, &drbg);
		ret = mbedtls_ssl_conf_own_cert(&conf, &crt, &key);
	}
	sa.sin_port = lwip_htons(NR_M4_SMARTHOST_PORT);
	sa.sin_addr.s_addr = lwip_htonl(0x7f000001u);
	lfd = lwip_socket(AF_INET, SOCK_STREAM, 0);
	if (ret || lfd < 0 || lwip_bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    lwip_listen(lfd, 2) != 0) {
		printf("smarthost: cannot start (-0x%04x)\r\n", (unsigned)-ret);
		vTaskDelete(NULL);
	}
	for (;;) {
		int fd = lwip_accept(lfd, NULL, NULL);
		struct conn *c;

		if (fd < 0)
			continue;
		c = nr_rtos_heap_alloc(sizeof(*c));
		if (!c)
			printf("smarthost: no memory for a connection\r\n");
		if (c) {
			memset(c, 0, sizeof(*c));
			mbedtls_ssl_init(&c->ssl);
			if ((ret = mbedtls_ssl_setup(&c->ssl, &conf)) != 0) {
				printf("smarthost: TLS setup -0x%04x\r\n", (unsigned)-ret);
			} else {
				mbedtls_ssl_set_bio(&c->ssl, &fd, nr_m4_tls_send, nr_m4_tls_recv,
						    NULL);
				if ((ret = mbedtls_ssl_handshake(&c->ssl)) == 0)
					serve(c);
				else
					printf("smarthost: handshake -0x%04x\r\n", (unsigned)-ret);
			}
			mbedtls_ssl_free(&c->ssl);
			nr_rtos_heap_free(c);
		}
		lwip_close(fd);
	}
}
