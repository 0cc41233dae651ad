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

#include "core/mem.h"
#include "m4_board.h"
#include "m4_flash.h"
#include "nanorelay.h"
#include "nr_board.h"

/* The relay's configuration: the same text as /etc/nanorelay.conf. No
 * smarthost yet: mail is accepted and queued in the flash ring. */
static const char relay_conf[] = "listen 127.0.0.1:25 tls=none\n"
				 "allow 127.0.0.1/32\n"
				 "hostname m4.test\n"
				 "max_sessions 2\n"
				 "queue flash size=64K\n";

/* No RTC on this board and no network time inside the test: the build's
 * date stands in (only certificate checks read the wall clock). */
#define NR_M4_WALL_TIME 1796083200 /* 2026-12-01 00:00:00 UTC */

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

/* The core's heap is FreeRTOS's heap_4 (its low-water mark is the figure). */
static void *m4_malloc(void *ctx, size_t size)
{
	(void)ctx;
	return pvPortMalloc(size);
}

static void m4_free(void *ctx, void *p)
{
	(void)ctx;
	vPortFree(p);
}

/* ---- the relay task ------------------------------------------------------------------ */
static struct nr_relay *volatile the_relay;
static SemaphoreHandle_t relay_up;

static void relay_task(void *arg)
{
	struct nr_relay *r = NULL;
	char err[160];

	(void)arg;
	if (nr_relay_new(&r, relay_conf, sizeof(relay_conf) - 1, err, sizeof(err)) != 0 ||
	    nr_relay_start(r, err, sizeof(err)) != 0)
		m4_panic(__FILE__, __LINE__, err);
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
};

static int client_connect(struct client *c, uint16_t port)
{
	struct sockaddr_in sa;

	memset(c, 0, sizeof(*c));
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
		ssize_t n = lwip_recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, 0);
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

	if (len && lwip_send(c->fd, text, len, 0) != (ssize_t)len)
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

static void case_plain_relay(void)
{
	struct client c;
	int ok = client_connect(&c, 25) == 0 && client_cmd(&c, "", 220) == 0 &&
		 client_cmd(&c, "EHLO client.test\r\n", 250) == 0 &&
		 client_cmd(&c, "MAIL FROM:<dev@m4.test>\r\n", 250) == 0 &&
		 client_cmd(&c, "RCPT TO:<admin@example.com>\r\n", 250) == 0 &&
		 client_cmd(&c, "DATA\r\n", 354) == 0 &&
		 client_cmd(&c, "Subject: plain\r\n\r\nover lwIP loopback\r\n.\r\n", 250) == 0 &&
		 client_cmd(&c, "QUIT\r\n", 221) == 0;
	if (c.fd >= 0)
		lwip_close(c.fd);
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
	if (c.fd >= 0)
		lwip_close(c.fd);
	report("an unknown command is 500, RCPT before MAIL is 503", ok);
}

static void selftest_task(void *arg)
{
	struct nr_m4_flash_stats fs;

	(void)arg;
	xSemaphoreTake(relay_up, portMAX_DELAY);
	case_plain_relay();
	case_bad_command();
	nr_m4_flash_stats(&fs);
	report("the flash HAL saw no NOR violation", fs.violations == 0 && fs.programs > 0);
	printf("flash: %lu programs, %lu erases, %lu syncs; heap free now %lu, lowest %lu\r\n",
	       (unsigned long)fs.programs, (unsigned long)fs.erases, (unsigned long)fs.syncs,
	       (unsigned long)xPortGetFreeHeapSize(),
	       (unsigned long)xPortGetMinimumEverFreeHeapSize());
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
	if (xTaskCreate(relay_task, "relay", 4096, NULL, tskIDLE_PRIORITY + 2, NULL) != pdPASS ||
	    xTaskCreate(selftest_task, "selftest", 1024, NULL, tskIDLE_PRIORITY + 1, NULL) !=
		pdPASS)
		m4_panic(__FILE__, __LINE__, "no heap for the tasks");
	vTaskDelete(NULL);
}

int main(void)
{
	static const struct nr_mem_hooks mem = {.malloc_fn = m4_malloc, .free_fn = m4_free};
	const struct nr_board board = {
	    .log = m4_log, .panic = m4_panic, .flash_open = nr_m4_flash_open};

	nr_m4_uart_init();
	nr_m4_uart_puts("firmware-m4: nanorelay self-test on mps2-an386\r\n");
	nr_mem_set_hooks(&mem);
	nr_rtos_board_init(&board);
	nr_rtos_set_wall_time(NR_M4_WALL_TIME);
	if (xTaskCreate(init_task, "init", 512, NULL, tskIDLE_PRIORITY + 3, NULL) != pdPASS) {
		nr_m4_uart_puts("firmware-m4: no heap for the first task\r\n");
		return 1;
	}
	vTaskStartScheduler();
	return 1; /* not reached: the scheduler runs forever */
}
