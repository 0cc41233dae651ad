/*
 * host_relay.c - the relay task of the host RTOS target: nanorelay through
 * its embedding API (include/nanorelay.h), as firmware would run it. Built
 * only when that header exists (platform/rtos/sources.cmake).
 *
 * The core's heap is FreeRTOS's (pvPortMalloc/vPortFree through
 * nr_mem_set_hooks): under the POSIX port a task switched out inside
 * glibc's malloc would hold its lock, and heap_3 takes the scheduler lock
 * around it. The hooks also count the bytes in use, which is how the
 * README's RAM figures are measured (heap_3 keeps no statistics;
 * the counting is platform/rtos/rtos_heap.c, shared with the firmware board).
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "FreeRTOS.h"
#include "task.h"

#include "host_board.h"
#include "nanorelay.h"
#include "platform.h"
#include "rtos_heap.h"

void nr_host_mem_hooks(void)
{
	nr_rtos_heap_for_core();
}

void nr_host_mem_usage(size_t *in_use, size_t *peak)
{
	nr_rtos_heap_usage(in_use, peak);
}

/* ---- the submit API's trigger (--submit-from DIR) ------------------------------------ */
/*
 * What a firmware's alert task would do, with files in place of its RTOS
 * queue: the spool task looks for DIR/NAME.msg every 100 ms and wakes the
 * relay; the relay's turn hook (on the relay's task, as nanorelay.h asks)
 * submits each one and answers DIR/NAME.ok ("ID") or DIR/NAME.err ("CODE
 * text"), then removes NAME.msg. A .msg file: the sender on its first
 * line, the recipients separated by spaces on the second, then the
 * message (headers, empty line, body), streamed in 4 KB pieces.
 */
static struct nr_relay *volatile spool_relay;
static const char *spool_dir;
static volatile int spool_pending;

static int spool_has_msg(void)
{
	DIR *d = opendir(spool_dir);
	struct dirent *e;
	int found = 0;

	if (!d)
		return 0;
	while (!found && (e = readdir(d)))
		found =
		    strlen(e->d_name) > 4 && strcmp(e->d_name + strlen(e->d_name) - 4, ".msg") == 0;
	closedir(d);
	return found;
}

static void spool_task(void *arg)
{
	(void)arg;
	for (;;) {
		vTaskDelay(pdMS_TO_TICKS(100));
		if (spool_relay && !spool_pending && spool_has_msg()) {
			spool_pending = 1;
			nr_relay_wake(spool_relay);
		}
	}
}

static void spool_answer(const char *name, const char *ext, const char *text)
{
	char tmp[600], path[600];
	int fd;

	snprintf(tmp, sizeof(tmp), "%s/%s.answer", spool_dir, name);
	snprintf(path, sizeof(path), "%s/%s.%s", spool_dir, name, ext);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	(void)!write(fd, text, strlen(text));
	close(fd);
	(void)rename(tmp, path);
}

/* Read one line (without its LF) from fd into buf, a byte at a time: the
 * envelope lines are short, and the message after them is read in pieces. */
static int read_line(int fd, char *buf, size_t size)
{
	size_t n = 0;
	char c;

	while (read(fd, &c, 1) == 1) {
		if (c == '\n') {
			buf[n] = '\0';
			return 0;
		}
		if (n + 1 >= size)
			return -1;
		buf[n++] = c;
	}
	return -1;
}

/* Submit spool_dir/name.msg: 0 with id, or an NR_E... code. */
static int spool_submit(struct nr_relay *r, const char *path, char *id, size_t id_size)
{
	char from[320], rcptline[1024], chunk[4096], *save = NULL;
	const char *rcpts[16];
	size_t nrcpt = 0;
	struct nr_submit *s;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc;

	if (fd < 0)
		return NR_EIO;
	if (read_line(fd, from, sizeof(from)) || read_line(fd, rcptline, sizeof(rcptline))) {
		close(fd);
		return NR_EINVAL;
	}
	for (char *t = strtok_r(rcptline, " ", &save); t && nrcpt < 16;
	     t = strtok_r(NULL, " ", &save))
		rcpts[nrcpt++] = t;
	rc = nr_relay_submit_begin(r, from, rcpts, nrcpt, 0, &s);
	if (rc) {
		close(fd);
		return rc;
	}
	while (rc == 0 && (n = read(fd, chunk, sizeof(chunk))) > 0)
		rc = nr_submit_write(s, chunk, (size_t)n);
	close(fd);
	if (rc == 0)
		return nr_submit_end(s, id, id_size);
	nr_submit_abort(s);
	return rc;
}

/* --stats: a task wakes the relay every second; its turn logs the figures. */
static volatile int stats_due, stats_on;

static void stats_task(void *arg)
{
	(void)arg;
	for (;;) {
		vTaskDelay(pdMS_TO_TICKS(1000));
		if (spool_relay) {
			stats_due = 1;
			nr_relay_wake(spool_relay);
		}
	}
}

static void board_turn(void *arg, struct nr_relay *r)
{
	DIR *d;
	struct dirent *e;

	(void)arg;
	if (stats_on && stats_due) {
		struct nr_relay_stats st;

		stats_due = 0;
		nr_relay_get_stats(r, &st);
		nr_host_stats_log(st.sessions);
	}
	if (!spool_pending || !spool_dir)
		return;
	spool_pending = 0;
	d = opendir(spool_dir);
	if (!d)
		return;
	while ((e = readdir(d))) {
		size_t len = strlen(e->d_name);
		char name[256], path[600], id[32], text[128];
		int rc;

		if (len <= 4 || len >= sizeof(name) || strcmp(e->d_name + len - 4, ".msg") != 0)
			continue;
		memcpy(name, e->d_name, len - 4);
		name[len - 4] = '\0';
		snprintf(path, sizeof(path), "%s/%s", spool_dir, e->d_name);
		rc = spool_submit(r, path, id, sizeof(id));
		if (rc == 0)
			snprintf(text, sizeof(text), "%s\n", id);
		else
			snprintf(text, sizeof(text), "%d %s\n", rc, nr_strerror(rc));
		unlink(path);
		spool_answer(name, rc == 0 ? "ok" : "err", text);
	}
	closedir(d);
}

void nr_host_relay_task(void *arg)
{
	const struct nr_host_relay_args *a = arg;
	struct nr_relay *relay = NULL;
	char err[256], msg[320];

	nr_host_stack_paint("relay");
	if (nr_relay_new(&relay, a->config, a->config_len, err, sizeof(err)) != 0) {
		snprintf(msg, sizeof(msg), "config: %s", err);
		nr_plat_panic(__FILE__, __LINE__, msg);
	}
	if (a->storage && nr_relay_set_storage(relay, a->storage) != 0)
		nr_plat_panic(__FILE__, __LINE__, "the queue's flash was refused");
	if (nr_relay_start(relay, err, sizeof(err)) != 0) {
		snprintf(msg, sizeof(msg), "start: %s", err);
		nr_plat_panic(__FILE__, __LINE__, msg);
	}
	nr_relay_set_turn_hook(relay, board_turn, NULL);
	spool_relay = relay;
	if (a->submit_dir) {
		spool_dir = a->submit_dir;
		xTaskCreate(spool_task, "spool", configMINIMAL_STACK_SIZE, NULL,
			    tskIDLE_PRIORITY + 1, NULL);
	}
	if (a->stats) {
		stats_on = 1;
		xTaskCreate(stats_task, "stats", configMINIMAL_STACK_SIZE, NULL,
			    tskIDLE_PRIORITY + 1, NULL);
	}
	nr_plat_log_write(NR_LOG_INFO, "host: relay running");
	(void)nr_relay_run(relay);
	spool_relay = NULL;
	nr_relay_free(relay);
	nr_plat_log_write(NR_LOG_INFO, "host: relay stopped");
	vTaskDelete(NULL);
}
