/*
 * log.c - one line per event (see log.h).
 *
 * The line is formatted into a fixed buffer (a long line is cut and marked
 * with "..."), then any control byte left in it becomes '?': callers should
 * escape peer text with nr_log_escape(), and this is the safety net that
 * keeps one event on one line even when they forget.
 */
#include "core/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/fmt.h"

#define LOG_LINE_MAX 1024

/* The most detailed level compiled in (Kconfig NR_LOG_LEVEL_*). */
#if NR_ENABLED(CONFIG_NR_LOG_LEVEL_WARN)
#define LOG_CEILING NR_LOG_WARN
#elif NR_ENABLED(CONFIG_NR_LOG_LEVEL_INFO)
#define LOG_CEILING NR_LOG_INFO
#else
#define LOG_CEILING NR_LOG_DEBUG
#endif

static enum nr_log_level log_level = NR_LOG_INFO;

void nr_log_set_level(enum nr_log_level level)
{
	log_level = level;
}

enum nr_log_level nr_log_get_level(void)
{
	return log_level;
}

int nr_log_enabled(enum nr_log_level level)
{
	return level <= log_level && level <= LOG_CEILING;
}

void nr_log(enum nr_log_level level, const char *fmt, ...)
{
	char line[LOG_LINE_MAX];
	va_list ap;
	size_t i;
	int n;

	if (!nr_log_enabled(level))
		return;
	va_start(ap, fmt);
	if (strcmp(fmt, "%s") == 0) {
		/* a line the caller formatted already (delivery's status lines):
		 * copied, not run through vsnprintf a second time */
		const char *s = va_arg(ap, const char *);
		size_t len = strlen(s ? s : "(null)"), k = NR_MIN(len, sizeof(line) - 1);

		memcpy(line, s ? s : "(null)", k);
		line[k] = '\0';
		n = (int)NR_MIN(len, sizeof(line)); /* >= sizeof(line): cut, marked below */
	} else {
		n = vsnprintf(line, sizeof(line), fmt, ap);
	}
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line))
		memcpy(line + sizeof(line) - 4, "...", 4);
	for (i = 0; line[i]; i++) {
		unsigned char c = (unsigned char)line[i];
		if (c < 0x20 || c == 0x7f)
			line[i] = '?';
	}
	nr_plat_log_write(level, line);
}

/* Escape one byte into out (at least 5 bytes); returns its length. */
static size_t escape_byte(char *out, unsigned char c)
{
	static const char hex[] = "0123456789abcdef";
	/* Named escapes; '\\' too, so "\r" in the log always means a real CR. */
	static const char named[5] = {'\r', '\n', '\0', '\t', '\\'};
	static const char letter[5] = {'r', 'n', '0', 't', '\\'};
	const char *hit = memchr(named, c, sizeof(named));

	if (hit != NULL) {
		out[0] = '\\';
		out[1] = letter[hit - named];
		return 2;
	}
	if (c >= 0x20 && c < 0x7f) {
		out[0] = (char)c;
		return 1;
	}
	out[0] = '\\';
	out[1] = 'x';
	out[2] = hex[c >> 4];
	out[3] = hex[c & 15];
	return 4;
}

char *nr_log_escape(char *dst, size_t size, const void *src, size_t len)
{
	const unsigned char *s = src;
	size_t i, used = 0;
	char tmp[5];

	if (size == 0)
		return dst;
	for (i = 0; i < len; i++) {
		size_t n = escape_byte(tmp, s[i]);
		/* Cut at a whole escape: never half of "\x0d". */
		if (used + n + 1 > size)
			break;
		memcpy(dst + used, tmp, n);
		used += n;
	}
	dst[used] = '\0';
	return dst;
}

/*
 * The length is shown only as a power-of-two class ("9-16 bytes"): enough to
 * tell an empty or truncated secret from a real one, too little to help
 * guess it.
 */
char *nr_log_mask(char *dst, size_t size, size_t secret_len)
{
	size_t hi = 1, lo;

	if (size == 0)
		return dst;
	if (secret_len == 0) {
		snprintf(dst, size, "<hidden 0 bytes>");
		return dst;
	}
	while (hi < secret_len && hi < ((size_t)1 << (sizeof(size_t) * 8 - 2)))
		hi <<= 1;
	lo = hi / 2 + 1;
	if (lo >= hi)
		snprintf(dst, size, "<hidden %lu byte%s>", (unsigned long)hi, hi == 1 ? "" : "s");
	else
		snprintf(dst, size, "<hidden %lu-%lu bytes>", (unsigned long)lo, (unsigned long)hi);
	return dst;
}
