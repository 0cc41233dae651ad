/*
 * linux_log.c - the log sink: syslog (facility mail) or stderr with a
 * timestamp. Lines arrive formatted and free of control bytes (core/log.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "linux_internal.h"

static enum nr_log_sink sink = NR_LOG_SINK_STDERR;
static char ident[32] = "nanorelay";
/* Asked once, not per line (a syscall each time); nr_plat_detach's fork
 * makes us ask again. */
static pid_t log_pid;
/* nr_plat_log_gather: lines waiting for one write */
static int gather;
static char held[8192];
static size_t held_len;
/* write_stderr's per-second prefix: the date, and "Z ident[pid]: " */
static time_t stamp_sec = -1;
static pid_t stamp_pid;
static char date[32], who[64];
static size_t date_len, who_len;

void nr_linux_log_forget_pid(void)
{
	log_pid = 0;
}

void nr_plat_log_open(enum nr_log_sink s, const char *id)
{
	nr_plat_log_flush(); /* held lines belong to the old sink */
	snprintf(ident, sizeof(ident), "%s", id && *id ? id : "nanorelay");
	stamp_sec = -1; /* the cached prefix names the old ident */
	sink = s;
	/* syslog keeps the pointer: give it our copy. */
	if (sink == NR_LOG_SINK_SYSLOG)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_MAIL);
}

/* As Postfix writes them: "warning: " and "error: " in front, nothing for
 * info, so event lines read "ID: to=<...>, ..." the way log tools (pflogsumm,
 * logwatch) expect. Debug lines say so. */
static const char *level_prefix(enum nr_log_level level)
{
	switch (level) {
	case NR_LOG_ERR:
		return "error: ";
	case NR_LOG_WARN:
		return "warning: ";
	case NR_LOG_INFO:
		return "";
	case NR_LOG_DEBUG:
		return "debug: ";
	}
	return "";
}

static void write_out(const char *buf, size_t n)
{
	if (write(STDERR_FILENO, buf, n) < 0) {
		/* nowhere left to report it */
	}
}

void nr_plat_log_flush(void)
{
	if (held_len)
		write_out(held, held_len);
	held_len = 0;
}

void nr_plat_log_gather(int on)
{
	gather = on;
	if (!on)
		nr_plat_log_flush();
}

/* Append src (len bytes) to buf at *n, cut to leave room for the '\n'. */
static void put(char *buf, size_t size, size_t *n, const char *src, size_t len)
{
	if (len > size - 1 - *n)
		len = size - 1 - *n;
	memcpy(buf + *n, src, len);
	*n += len;
}

/* "2024-05-01T12:00:00.123Z nanorelay[42]: LINE\n" (LINE with its level
 * prefix), whole lines per write(), so lines from several processes do not
 * interleave. The date and the "ident[pid]: " part are formatted once per
 * second, not per line: a relayed message logs five lines, and printf was a
 * measurable share of the relay's CPU per message (issue 22). */
static void write_stderr(enum nr_log_level level, const char *line)
{
	char buf[1280], ms[4];
	struct timeval tv;
	const char *prefix = level_prefix(level);
	size_t n = 0;

	if (!log_pid)
		log_pid = getpid();
	gettimeofday(&tv, NULL);
	if (tv.tv_sec != stamp_sec || log_pid != stamp_pid) {
		struct tm tm;
		int m;

		gmtime_r(&tv.tv_sec, &tm);
		date_len = strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
		m = snprintf(who, sizeof(who), "Z %s[%ld]: ", ident, (long)log_pid);
		if (m < 0)
			return;
		who_len = (size_t)m < sizeof(who) ? (size_t)m : sizeof(who) - 1;
		stamp_sec = tv.tv_sec;
		stamp_pid = log_pid;
	}
	ms[0] = '.';
	ms[1] = (char)('0' + tv.tv_usec / 100000 % 10);
	ms[2] = (char)('0' + tv.tv_usec / 10000 % 10);
	ms[3] = (char)('0' + tv.tv_usec / 1000 % 10);
	put(buf, sizeof(buf), &n, date, date_len);
	put(buf, sizeof(buf), &n, ms, 4);
	put(buf, sizeof(buf), &n, who, who_len);
	put(buf, sizeof(buf), &n, prefix, strlen(prefix));
	put(buf, sizeof(buf), &n, line, strlen(line));
	buf[n++] = '\n';
	if (!gather) {
		write_out(buf, n);
		return;
	}
	if (held_len + n > sizeof(held))
		nr_plat_log_flush();
	memcpy(held + held_len, buf, n);
	held_len += n;
	if (level <= NR_LOG_ERR)
		nr_plat_log_flush(); /* the process may be about to end */
}

void nr_plat_log_write(enum nr_log_level level, const char *line)
{
	if (sink == NR_LOG_SINK_SYSLOG)
		syslog((int)level, "%s%s", level_prefix(level), line);
	else
		write_stderr(level, line);
}

_Noreturn void nr_plat_panic(const char *file, int line, const char *what)
{
	char text[512];

	snprintf(text, sizeof(text), "panic: %s:%d: %s", file, line, what);
	nr_plat_log_write(NR_LOG_ERR, text);
	nr_plat_log_flush();
	abort();
}
