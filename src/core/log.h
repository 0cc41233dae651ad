/*
 * log.h - one line per event, syslog-friendly, never a secret.
 *
 * Lines go to the platform sink (syslog facility mail, or stderr). Levels
 * above the runtime level (and above the Kconfig ceiling) cost nothing.
 * Control characters in logged values are escaped so a peer cannot forge
 * log lines. nr_log_mask() is the only way to mention a secret: it keeps
 * nothing of the secret's content.
 */
#ifndef NR_CORE_LOG_H
#define NR_CORE_LOG_H

#include <stddef.h>

#include "core/build.h"
#include "platform.h"

/* Set the runtime level (NR_LOG_ERR..NR_LOG_DEBUG). */
void nr_log_set_level(enum nr_log_level level);
enum nr_log_level nr_log_get_level(void);
int nr_log_enabled(enum nr_log_level level);

void nr_log(enum nr_log_level level, const char *fmt, ...) NR_PRINTF(2, 3);

#define nr_err(...) nr_log(NR_LOG_ERR, __VA_ARGS__)
#define nr_warn(...) nr_log(NR_LOG_WARN, __VA_ARGS__)
#define nr_info(...) nr_log(NR_LOG_INFO, __VA_ARGS__)
#define nr_debug(...) nr_log(NR_LOG_DEBUG, __VA_ARGS__)

/* Copy src (len bytes) into dst (size bytes, always NUL-terminated) with
 * CR, LF, NUL and other control bytes as \r \n \0 \xNN, so a peer's text
 * can be logged safely. Returns dst. */
char *nr_log_escape(char *dst, size_t size, const void *src, size_t len);

/* Write a fixed placeholder for a secret into dst: "<hidden N bytes>" shows
 * only the length class; the content never reaches a log. Returns dst. */
char *nr_log_mask(char *dst, size_t size, size_t secret_len);

#endif /* NR_CORE_LOG_H */
