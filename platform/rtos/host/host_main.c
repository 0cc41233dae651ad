/*
 * host_main.c - the host RTOS target's board: FreeRTOS (POSIX port) + lwIP
 * on a TAP device. It plays the part of a board's startup code: it supplies
 * the hooks of nr_board.h from Linux (stderr, abort, /dev/urandom, files as
 * named blobs, the host's clock as the RTC), reads the configuration before
 * the scheduler starts, then brings lwIP up on the TAP with a static
 * address and starts the relay task (or the self-test). From there on the
 * relay's only network is lwIP and it makes no Linux call of its own.
 *
 *   nanorelay-rtos-host --tap NAME --ip A.B.C.D/LEN [--gw A.B.C.D]
 *                       (-c CONFIG | --selftest-echo PORT)
 *                       [--flash FILE] [--submit-from DIR] [--stats] [--no-wall-clock]
 * [--no-entropy] nanorelay-rtos-host --features     "echo" or "echo relay": what this build runs
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "FreeRTOS.h"
#include "semphr.h"
#include "task.h"

#include "lwip/ip4_addr.h"
#include "lwip/tcpip.h"

#include "host_board.h"
#include "host_flash.h"
#include "nr_board.h"

static struct {
	const char *tap;
	ip4_addr_t ip, mask, gw;
	const char *config_path;
	char *config;
	size_t config_len;
	unsigned echo_port;
	int tap_fd;
	int urandom_fd;
	int wall_clock;         /* the host's clock is the board's RTC and SNTP */
	const char *flash_path; /* the board's queue flash: a NOR-rules host file */
	const char *submit_dir; /* the submit API's trigger (host_relay.c) */
	int stats;              /* --stats */
} host = {.tap_fd = -1, .urandom_fd = -1, .wall_clock = 1};

/* ---- the board's hooks -------------------------------------------------------------- */
static void host_log(enum nr_log_level level, const char *line)
{
	static const char *const names[8] = {[NR_LOG_ERR] = "err",
					     [NR_LOG_WARN] = "warn",
					     [NR_LOG_INFO] = "info",
					     [NR_LOG_DEBUG] = "debug"};
	char out[1200];
	int n = snprintf(out, sizeof(out), "nanorelay-rtos[%s]: %s\n",
			 (unsigned)level < 8 && names[level] ? names[level] : "?", line);

	/* One write(2) per line: no stdio lock shared between tasks. */
	if (n > (int)sizeof(out))
		n = (int)sizeof(out);
	(void)!write(2, out, (size_t)n);
}

static _Noreturn void host_panic(const char *file, int line, const char *what)
{
	char msg[600];

	snprintf(msg, sizeof(msg), "panic: %s (%s:%d)", what, file, line);
	host_log(NR_LOG_ERR, msg);
	abort();
}

void nr_host_assert_failed(const char *file, int line)
{
	host_panic(file, line, "FreeRTOS assertion failed");
}

static int host_entropy(void *buf, size_t len)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t n = read(host.urandom_fd, p, len);
		if (n <= 0)
			return NR_EIO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Named blobs are files of the host, by the name as given. */
static long host_blob_read(const char *name, void *buf, size_t size)
{
	int fd = open(name, O_RDONLY | O_CLOEXEC);
	long total = 0;
	ssize_t n;
	char spill[256];

	if (fd < 0)
		return errno == ENOENT ? NR_ENOTFOUND : errno == EACCES ? NR_EPERM : NR_EIO;
	while ((n = read(fd, (size_t)total < size ? (char *)buf + total : spill,
			 (size_t)total < size ? size - (size_t)total : sizeof(spill))) > 0)
		total += n;
	close(fd);
	return n < 0 ? NR_EIO : total;
}

static int host_blob_write(const char *name, const void *data, size_t len)
{
	char tmp[4096];
	int fd;

	snprintf(tmp, sizeof(tmp), "%s.tmp", name);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return NR_EIO;
	if (write(fd, data, len) != (ssize_t)len || fsync(fd) != 0) {
		close(fd);
		unlink(tmp);
		return NR_EIO;
	}
	close(fd);
	return rename(tmp, name) == 0 ? 0 : NR_EIO;
}

/* The queue's flash (`queue flash [size=N]`): the NOR emulator on the file
 * of --flash, 4 KiB erase blocks and 16-byte write units as a common SPI
 * NOR part. A new file is made size bytes (1 MiB when the config gives no
 * size); an existing one keeps its size, as a chip does. */
static int host_flash_open(void *ctx, uint64_t size, struct nr_plat_storage *out)
{
	const char *path = ctx;
	struct stat st;

	if (stat(path, &st) == 0 && st.st_size > 0)
		size = (uint64_t)st.st_size;
	else if (size == 0)
		size = 1024 * 1024;
	return nr_host_flash_open(path, size, 4096, 16, out);
}

/* ---- start-up ---------------------------------------------------------------------------- */
static void usage(void)
{
	fprintf(stderr, "usage: nanorelay-rtos-host --tap NAME --ip A.B.C.D/LEN [--gw A.B.C.D]\n"
			"                           (-c CONFIG | --selftest-echo PORT)\n"
			"                           [--flash FILE] [--submit-from DIR] "
			"[--no-wall-clock] [--no-entropy]\n");
	exit(64);
}

static void parse_ip(const char *arg)
{
	char a[64];
	char *slash;
	unsigned len = 24;

	snprintf(a, sizeof(a), "%s", arg);
	slash = strchr(a, '/');
	if (slash) {
		*slash = '\0';
		len = (unsigned)atoi(slash + 1);
	}
	if (!ip4addr_aton(a, &host.ip) || len < 1 || len > 32)
		usage();
	ip4_addr_set_u32(&host.mask, lwip_htonl(len == 32 ? 0xffffffffu : ~(0xffffffffu >> len)));
}

static char *read_config(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *text = NULL;
	size_t cap = 0, n;

	if (!f) {
		fprintf(stderr, "nanorelay-rtos-host: %s: %s\n", path, strerror(errno));
		exit(66);
	}
	*len = 0;
	do {
		if (*len + 4096 > cap && !(text = realloc(text, cap = cap * 2 + 4096)))
			abort();
		n = fread(text + *len, 1, cap - *len, f);
		*len += n;
	} while (n > 0);
	fclose(f);
	return text;
}

/* The board's "SNTP": the POSIX port's tick loses time on a loaded host,
 * so the host's clock is given again every 10 s, as SNTP would. */
static void sntp_task(void *arg)
{
	(void)arg;
	for (;;) {
		vTaskDelay(pdMS_TO_TICKS(10000));
		nr_rtos_set_wall_time((int64_t)time(NULL));
	}
}

static void tcpip_ready(void *sem)
{
	nr_host_stack_paint("tcpip"); /* on the tcpip thread, at its start */
	xSemaphoreGive((SemaphoreHandle_t)sem);
}

static void init_task(void *arg)
{
	static struct netif netif;
	SemaphoreHandle_t done = xSemaphoreCreateBinary();
	char msg[160];

	(void)arg;
	tcpip_init(tcpip_ready, done);
	xSemaphoreTake(done, portMAX_DELAY);
	if (nr_host_tap_netif_add(&netif, host.tap_fd, &host.ip, &host.mask, &host.gw) != 0)
		host_panic(__FILE__, __LINE__, "cannot add the TAP netif");
	snprintf(msg, sizeof(msg), "host: lwIP up on TAP %s as %s", host.tap,
		 ip4addr_ntoa(&host.ip));
	host_log(NR_LOG_INFO, msg);
	if (host.wall_clock)
		xTaskCreate(sntp_task, "sntp", configMINIMAL_STACK_SIZE, NULL, tskIDLE_PRIORITY + 1,
			    NULL);
	if (host.echo_port)
		xTaskCreate(nr_host_echo_task, "echo", configMINIMAL_STACK_SIZE,
			    (void *)(uintptr_t)host.echo_port, tskIDLE_PRIORITY + 2, NULL);
	else {
#ifdef NR_HOST_HAVE_RELAY
		static struct nr_host_relay_args relay;
		relay.config = host.config;
		relay.config_len = host.config_len;
		relay.submit_dir = host.submit_dir;
		relay.stats = host.stats;
		nr_host_mem_hooks();
		xTaskCreate(nr_host_relay_task, "relay", 4 * configMINIMAL_STACK_SIZE, &relay,
			    tskIDLE_PRIORITY + 2, NULL);
#else
		host_panic(__FILE__, __LINE__,
			   "built without the embedding API (include/nanorelay.h): only "
			   "--selftest-echo runs");
#endif
	}
	vTaskDelete(NULL);
}

int main(int argc, char **argv)
{
	struct nr_board board = {.log = host_log,
				 .panic = host_panic,
				 .entropy = host_entropy,
				 .blob_read = host_blob_read,
				 .blob_write = host_blob_write};
	char err[256];

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(a, "--features") == 0) {
#ifdef NR_HOST_HAVE_RELAY
			puts("echo relay");
#else
			puts("echo");
#endif
			return 0;
		}
		if (strcmp(a, "--no-wall-clock") == 0)
			host.wall_clock = 0;
		else if (strcmp(a, "--stats") == 0)
			host.stats = 1;
		else if (strcmp(a, "--no-entropy") == 0)
			board.entropy = NULL;
		else if (!v)
			usage();
		else if (strcmp(a, "--tap") == 0)
			host.tap = argv[++i];
		else if (strcmp(a, "--ip") == 0)
			parse_ip(argv[++i]);
		else if (strcmp(a, "--gw") == 0) {
			if (!ip4addr_aton(v, &host.gw))
				usage();
			i++;
		} else if (strcmp(a, "--flash") == 0)
			host.flash_path = argv[++i];
		else if (strcmp(a, "--submit-from") == 0)
			host.submit_dir = argv[++i];
		else if (strcmp(a, "-c") == 0)
			host.config_path = argv[++i];
		else if (strcmp(a, "--selftest-echo") == 0)
			host.echo_port = (unsigned)atoi(argv[++i]);
		else
			usage();
	}
	if (!host.tap || ip4_addr_isany_val(host.ip) || (!host.config_path) == (!host.echo_port))
		usage();
	if (host.config_path)
		host.config = read_config(host.config_path, &host.config_len);
	host.tap_fd = nr_host_tap_open(host.tap, err, sizeof(err));
	if (host.tap_fd < 0) {
		fprintf(stderr, "nanorelay-rtos-host: %s\n", err);
		return 71;
	}
	host.urandom_fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	if (host.urandom_fd < 0)
		board.entropy = NULL;
	if (host.flash_path) {
		board.flash_open = host_flash_open;
		board.flash_ctx = (void *)host.flash_path;
	}
	nr_rtos_board_init(&board);
	if (host.wall_clock)
		nr_rtos_set_wall_time(
		    (int64_t)time(NULL)); /* the host's clock as the board's RTC */
	xTaskCreate(init_task, "init", configMINIMAL_STACK_SIZE, NULL, tskIDLE_PRIORITY + 3, NULL);
	vTaskStartScheduler();
	return 70; /* the scheduler returned: out of memory for its tasks */
}
