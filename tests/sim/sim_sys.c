/*
 * sim_sys.c - the simulator's clock, entropy, log capture, files, process
 * helpers and address literals (see sim.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/addr.h"
#include "sim_internal.h"

#define LOG_KEEP 4096

static uint64_t now_ms = SIM_T0_MS;
static int64_t wall = SIM_WALL0;       /* wall clock at wall_mark ... */
static uint64_t wall_mark = SIM_T0_MS; /* ... on the monotonic clock */
static int wall_unset;
static uint64_t rng_state = 1;
static int rng_fail;
static unsigned signals;
static volatile int woken; /* nr_plat_wake() since the last poll */
static int file_exposed;
static int drop_result;
static char dropped_to[64];

static struct {
	enum nr_log_level level;
	char *text;
} log_lines[LOG_KEEP];
static size_t log_n;
static int log_echo = -1; /* -1: not decided yet (environment) */

void sim_reset(void)
{
	sim_net_reset();
	sim_resolve_reset();
	sim_log_clear();
	now_ms = SIM_T0_MS;
	wall = SIM_WALL0;
	wall_mark = SIM_T0_MS;
	wall_unset = 0;
	rng_state = 1;
	rng_fail = 0;
	signals = 0;
	woken = 0;
	file_exposed = 0;
	drop_result = 0;
	dropped_to[0] = '\0';
}

/* ---- clock ------------------------------------------------------------------ */
uint64_t sim_now(void)
{
	return now_ms;
}

void sim_advance(uint64_t ms)
{
	now_ms += ms;
}

void sim_set_wall(int64_t seconds)
{
	wall = seconds;
	wall_mark = now_ms;
	wall_unset = 0;
}

void sim_set_wall_unset(int unset)
{
	wall_unset = unset;
}

uint64_t nr_plat_now_ms(void)
{
	return now_ms;
}

int nr_plat_wall_time(int64_t *out)
{
	if (wall_unset)
		return NR_ECLOCK;
	/* Wall time moves with the virtual clock. */
	*out = wall + (int64_t)((now_ms - wall_mark) / 1000);
	return 0;
}

/* ---- entropy: splitmix64, deterministic per seed ------------------------------ */
void sim_entropy_seed(uint64_t seed)
{
	rng_state = seed;
}

void sim_entropy_fail(int on)
{
	rng_fail = on;
}

static uint64_t splitmix64(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

int nr_plat_entropy(void *buf, size_t len)
{
	unsigned char *p = buf;
	size_t i;

	if (rng_fail)
		return NR_EIO;
	for (i = 0; i < len; i += 8) {
		uint64_t r = splitmix64();
		size_t n = len - i < 8 ? len - i : 8;
		memcpy(p + i, &r, n);
	}
	return 0;
}

/* ---- log capture ----------------------------------------------------------------- */
void nr_plat_log_open(enum nr_log_sink sink, const char *ident)
{
	(void)sink;
	(void)ident;
}

/* The simulator captures every line at once: nothing is held. */
void nr_plat_log_gather(int on)
{
	(void)on;
}

void nr_plat_log_flush(void) {}

void nr_plat_log_write(enum nr_log_level level, const char *line)
{
	if (log_echo < 0)
		log_echo = getenv("NR_SIM_LOG") != NULL;
	if (log_echo)
		fprintf(stderr, "[sim log %d @%llu] %s\n", (int)level, (unsigned long long)now_ms,
			line);
	if (log_n >= LOG_KEEP)
		return;
	log_lines[log_n].text = malloc(strlen(line) + 1);
	if (!log_lines[log_n].text)
		return;
	strcpy(log_lines[log_n].text, line);
	log_lines[log_n].level = level;
	log_n++;
}

/* ---- panic ------------------------------------------------------------------------ */
static sim_panic_fn panic_hook;

void sim_set_panic_hook(sim_panic_fn fn)
{
	panic_hook = fn;
}

_Noreturn void nr_plat_panic(const char *file, int line, const char *what)
{
	char text[512];

	snprintf(text, sizeof(text), "panic: %s:%d: %s", file, line, what);
	nr_plat_log_write(NR_LOG_ERR, text);
	if (panic_hook)
		panic_hook(file, line, what);
	fprintf(stderr, "%s\n", text);
	abort();
}

size_t sim_log_count(void)
{
	return log_n;
}

const char *sim_log_line(size_t i)
{
	return i < log_n ? log_lines[i].text : NULL;
}

enum nr_log_level sim_log_level(size_t i)
{
	return i < log_n ? log_lines[i].level : NR_LOG_DEBUG;
}

long sim_log_find(const char *needle)
{
	size_t i;

	for (i = 0; i < log_n; i++) {
		if (strstr(log_lines[i].text, needle))
			return (long)i;
	}
	return -1;
}

void sim_log_clear(void)
{
	size_t i;

	for (i = 0; i < log_n; i++)
		free(log_lines[i].text);
	log_n = 0;
}

void sim_log_echo(int on)
{
	log_echo = on;
}

/* ---- process ------------------------------------------------------------------------ */
void sim_raise(unsigned sig_bits)
{
	signals |= sig_bits;
}

unsigned sim_signals_pending(void)
{
	return signals;
}

void nr_plat_wake(void)
{
	woken = 1;
}

int sim_wake_take(void)
{
	int w = woken;

	woken = 0;
	return w;
}

int nr_plat_signals_install(void)
{
	return 0;
}

unsigned nr_plat_signals_take(void)
{
	unsigned s = signals;

	signals = 0;
	return s;
}

void sim_set_drop_privileges_result(int result)
{
	drop_result = result;
}

const char *sim_dropped_to(void)
{
	return dropped_to;
}

int nr_plat_drop_privileges(const char *user)
{
	snprintf(dropped_to, sizeof(dropped_to), "%s", user ? user : "");
	return drop_result;
}

int nr_plat_mkdir_p(const char *path, unsigned mode, const char *owner)
{
	(void)path;
	(void)mode;
	(void)owner;
	return 0;
}

long nr_plat_pid(void)
{
	return 4242;
}

int nr_plat_local_own_uid(long *uid)
{
	*uid = -1;
	return NR_ENOTSUP;
}

/* The simulated box has one user. */
int nr_plat_user_name(long *uid, char *name, size_t size)
{
	*uid = 1000;
	snprintf(name, size, "%s", "simuser");
	return 0;
}

/* ---- files through ISO C stdio ---------------------------------------------------------- */
void sim_set_file_exposed(int answer)
{
	file_exposed = answer;
}

int nr_plat_file_is_exposed(const char *path, const char *user)
{
	(void)user;
	/* Like the real shim, a file that is not there is not found; the
	 * exposed answer for files that are there is the test's choice. */
	FILE *f = fopen(path, "rb");

	if (!f)
		return NR_ENOTFOUND;
	fclose(f);
	return file_exposed;
}

/* The simulated box has one user and every file is readable by it. */
int nr_plat_file_readable_as(const char *path, const char *user)
{
	FILE *f = fopen(path, "rb");

	(void)user;
	if (!f)
		return NR_ENOTFOUND;
	fclose(f);
	return 0;
}

/* The simulated box has one user, who owns every file. */
int nr_plat_file_owner(const char *path, long *uid)
{
	FILE *f = fopen(path, "rb");

	if (!f)
		return NR_ENOTFOUND;
	fclose(f);
	*uid = 1000;
	return 0;
}

int nr_plat_file_remove(const char *path)
{
	return remove(path) == 0 ? 0 : NR_ENOTFOUND;
}

int nr_plat_file_share_with(const char *path, const char *user)
{
	(void)path;
	(void)user;
	return 0;
}

int nr_plat_path_writable(const char *path)
{
	(void)path;
	return 0;
}

int nr_plat_user_exists(const char *user)
{
	(void)user;
	return 0;
}

int nr_plat_file_read(const char *path, size_t max, char **out, size_t *len)
{
	FILE *f;
	char *data = NULL;
	size_t n;
	int ret;

	*out = NULL;
	*len = 0;
	errno = 0;
	f = fopen(path, "rb");
	if (!f)
		return errno == EACCES ? NR_EPERM : NR_ENOTFOUND;
	ret = NR_ENOMEM;
	data = malloc(max + 2);
	if (!data)
		goto out;
	n = fread(data, 1, max + 1, f);
	ret = NR_EIO;
	if (ferror(f))
		goto out;
	ret = NR_ETOOBIG;
	if (n > max)
		goto out;
	data[n] = '\0';
	*out = data;
	*len = n;
	data = NULL;
	ret = 0;
out:
	free(data);
	fclose(f);
	return ret;
}

int nr_plat_file_write(const char *path, const void *data, size_t len, unsigned mode)
{
	char tmp[1024];
	FILE *f;
	int ok;

	(void)mode;
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp))
		return NR_EINVAL;
	f = fopen(tmp, "wb");
	if (!f)
		return NR_EIO;
	ok = fwrite(data, 1, len, f) == len;
	ok = fflush(f) == 0 && ok;
	ok = fclose(f) == 0 && ok;
	if (!ok || rename(tmp, path) != 0) {
		remove(tmp);
		return NR_EIO;
	}
	return 0;
}

/* ---- address literals -------------------------------------------------------------------- */
static void bad_literal(const char *text)
{
	fprintf(stderr, "sim: bad address literal \"%s\"\n", text);
	abort();
}

/* The address parser is the product's (core/addr.h); the port is ours. */
struct nr_addr sim_addr(const char *text)
{
	struct nr_addr a;
	const char *s, *end;

	memset(&a, 0, sizeof(a));
	if (text[0] == '[') {
		end = strchr(text, ']');
		if (!end || nr_addr_parse(text + 1, (size_t)(end - text - 1), &a) != 0 ||
		    a.family != NR_AF_INET6)
			bad_literal(text);
		s = end + 1;
	} else {
		end = strchr(text, ':');
		if (!end)
			end = text + strlen(text);
		if (nr_addr_parse(text, (size_t)(end - text), &a) != 0 || a.family != NR_AF_INET4)
			bad_literal(text);
		s = end;
	}
	if (*s == ':') {
		char *pend;
		unsigned long port = strtoul(s + 1, &pend, 10);
		if (pend == s + 1 || *pend || port > 65535)
			bad_literal(text);
		a.port = (uint16_t)port;
	} else if (*s) {
		bad_literal(text);
	}
	return a;
}

const char *sim_addr_str(const struct nr_addr *a)
{
	static char out[64];
	char ip[48];

	if (a->family != NR_AF_INET4 && a->family != NR_AF_INET6) {
		snprintf(out, sizeof(out), "(family %u)", a->family);
		return out;
	}
	nr_addr_ntop(a, ip, sizeof(ip));
	snprintf(out, sizeof(out), a->family == NR_AF_INET6 ? "[%s]:%u" : "%s:%u", ip, a->port);
	return out;
}

int nr_plat_mkdir_parents(const char *file, unsigned mode)
{
	(void)file;
	(void)mode;
	return 0;
}
