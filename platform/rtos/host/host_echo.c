/*
 * host_echo.c - the host board's self-test service (--selftest-echo PORT).
 *
 * Proves the RTOS shim end to end before the relay runs on it: a line
 * service on lwIP that uses only platform.h's calls (listen, accept, poll,
 * read, write, close, peer address, clocks, entropy) and nr_plat_wake from
 * another task. Clients on the Linux side of the TAP talk to it:
 *   banner  "220 nanorelay-rtos echo ready"
 *   PEER    "250 <client address as the shim reports it>"
 *   TIME    "250 wall=<unix seconds> mono=<ms>"   (or "451 wall clock not set")
 *   RAND    "250 <16 random bytes in hex>"        (or "454 no entropy")
 *   WAKES   "250 <wakeups seen by the poll>"      (a task wakes it every 100 ms)
 *   QUIT    "221 bye", then close
 *   else    "250 echo: <line>"
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "FreeRTOS.h"
#include "task.h"

#include "host_board.h"
#include "nr_board.h"
#include "platform.h"

#define ECHO_CLIENTS 8
#define ECHO_LINE 512

struct echo_client {
	nr_sock_t s;
	struct nr_addr peer;
	size_t used;
	char line[ECHO_LINE];
};

static struct echo_client clients[ECHO_CLIENTS];

static void reply(struct echo_client *c, const char *text)
{
	char out[ECHO_LINE + 16];
	int n = snprintf(out, sizeof(out), "%s\r\n", text);
	size_t off = 0;

	/* A full send buffer (a client that sends faster than it reads) waits
	 * for NR_POLL_OUT, at most 5 s (wakeups end a poll early), then the
	 * client is dropped. */
	uint64_t deadline = nr_plat_now_ms() + 5000;
	while (off < (size_t)n && c->s != NR_SOCK_INVALID) {
		long w = nr_plat_sock_write(c->s, out + off, (size_t)n - off);
		if (w > 0) {
			off += (size_t)w;
			continue;
		}
		struct nr_pollfd p = {.sock = c->s, .want = NR_POLL_OUT};
		uint64_t now = nr_plat_now_ms();
		if (w != NR_EAGAIN || now >= deadline ||
		    nr_plat_poll(&p, 1, (int)(deadline - now)) < 0) {
			nr_plat_sock_close(c->s);
			c->s = NR_SOCK_INVALID;
		}
	}
}

static void drop(struct echo_client *c)
{
	nr_plat_sock_close(c->s);
	c->s = NR_SOCK_INVALID;
}

static void command(struct echo_client *c, const char *line, unsigned wakes)
{
	char text[ECHO_LINE + 16];

	if (strcmp(line, "QUIT") == 0) {
		reply(c, "221 bye");
		drop(c);
	} else if (strcmp(line, "PEER") == 0) {
		const uint8_t *ip = c->peer.ip;
		snprintf(text, sizeof(text), "250 %u.%u.%u.%u", ip[0], ip[1], ip[2], ip[3]);
		reply(c, text);
	} else if (strcmp(line, "TIME") == 0) {
		int64_t wall;
		if (nr_plat_wall_time(&wall) != 0) {
			reply(c, "451 wall clock not set");
			return;
		}
		snprintf(text, sizeof(text), "250 wall=%lld mono=%llu", (long long)wall,
			 (unsigned long long)nr_plat_now_ms());
		reply(c, text);
	} else if (strcmp(line, "RAND") == 0) {
		uint8_t r[16];
		if (nr_plat_entropy(r, sizeof(r)) != 0) {
			reply(c, "454 no entropy");
			return;
		}
		strcpy(text, "250 ");
		for (size_t i = 0; i < sizeof(r); i++)
			snprintf(text + 4 + 2 * i, 3, "%02x", r[i]);
		reply(c, text);
	} else if (strcmp(line, "WAKES") == 0) {
		snprintf(text, sizeof(text), "250 %u", wakes);
		reply(c, text);
	} else {
		snprintf(text, sizeof(text), "250 echo: %s", line);
		reply(c, text);
	}
}

/* Lines of c's input: each ended by LF (a CR before it dropped). */
static void readable(struct echo_client *c, unsigned wakes)
{
	long n = nr_plat_sock_read(c->s, c->line + c->used, sizeof(c->line) - 1 - c->used);
	char *nl;

	if (n == NR_EAGAIN)
		return;
	if (n < 0) {
		drop(c);
		return;
	}
	c->used += (size_t)n;
	while (c->s != NR_SOCK_INVALID && (nl = memchr(c->line, '\n', c->used)) != NULL) {
		size_t len = (size_t)(nl - c->line);
		*nl = '\0';
		if (len && c->line[len - 1] == '\r')
			c->line[len - 1] = '\0';
		command(c, c->line, wakes);
		c->used -= len + 1;
		memmove(c->line, nl + 1, c->used);
	}
	if (c->s != NR_SOCK_INVALID && c->used == sizeof(c->line) - 1) {
		reply(c, "500 line too long");
		drop(c);
	}
}

static void waker_task(void *arg)
{
	(void)arg;
	for (;;) {
		vTaskDelay(pdMS_TO_TICKS(100));
		nr_plat_wake();
	}
}

void nr_host_echo_task(void *arg)
{
	struct nr_addr any = {.family = NR_AF_INET4, .port = (uint16_t)(uintptr_t)arg};
	struct nr_pollfd fds[1 + ECHO_CLIENTS];
	struct echo_client *owner[1 + ECHO_CLIENTS];
	nr_sock_t listener;
	unsigned wakes = 0;
	char msg[96];
	int rc;

	for (size_t i = 0; i < ECHO_CLIENTS; i++)
		clients[i].s = NR_SOCK_INVALID;
	rc = nr_plat_tcp_listen(&any, 8, &listener);
	if (rc != 0) {
		snprintf(msg, sizeof(msg), "selftest-echo: listen on port %u: %s", any.port,
			 nr_strerror(rc));
		nr_plat_panic(__FILE__, __LINE__, msg);
	}
	snprintf(msg, sizeof(msg), "selftest-echo: listening on port %u", any.port);
	nr_plat_log_write(NR_LOG_INFO, msg);
	xTaskCreate(waker_task, "waker", configMINIMAL_STACK_SIZE, NULL, tskIDLE_PRIORITY + 1,
		    NULL);
	for (;;) {
		size_t n = 0;
		fds[n] = (struct nr_pollfd){.sock = listener, .want = NR_POLL_IN};
		owner[n++] = NULL;
		for (size_t i = 0; i < ECHO_CLIENTS; i++)
			if (clients[i].s != NR_SOCK_INVALID) {
				fds[n] =
				    (struct nr_pollfd){.sock = clients[i].s, .want = NR_POLL_IN};
				owner[n++] = &clients[i];
			}
		rc = nr_plat_poll(fds, n, -1); /* forever: only the waker ends a quiet wait */
		if (rc == 0)
			wakes++;
		for (size_t i = 1; i < n; i++)
			if (fds[i].ready)
				readable(owner[i], wakes);
		if (fds[0].ready & NR_POLL_IN) {
			struct echo_client *c = NULL;
			nr_sock_t s;
			struct nr_addr peer;
			if (nr_plat_tcp_accept(listener, &s, &peer) != 0)
				continue;
			for (size_t i = 0; i < ECHO_CLIENTS && !c; i++)
				if (clients[i].s == NR_SOCK_INVALID)
					c = &clients[i];
			if (!c) {
				nr_plat_sock_close(s);
				continue;
			}
			c->s = s;
			c->peer = peer;
			c->used = 0;
			reply(c, "220 nanorelay-rtos echo ready");
		}
	}
}
