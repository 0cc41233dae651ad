/*
 * build.h - the compile-time configuration seen by C code.
 *
 * Includes the header that Kconfig generates (build/generated/nr_config.h)
 * and turns impossible combinations into #error messages that name the
 * option to change. Use NR_ENABLED(CONFIG_NR_X) inside functions so both
 * branches keep compiling.
 */
#ifndef NR_CORE_BUILD_H
#define NR_CORE_BUILD_H

#include "nr_config.h"

/* 1 when a bool Kconfig symbol is y, 0 when it is n (undefined). */
#define NR__ARG_PLACEHOLDER_1 0,
#define NR__TAKE_SECOND(ignored, val, ...) val
#define NR__IS_ENABLED3(junk_or_comma) NR__TAKE_SECOND(junk_or_comma 1, 0, 0)
#define NR__IS_ENABLED2(val) NR__IS_ENABLED3(NR__ARG_PLACEHOLDER_##val)
#define NR_ENABLED(option) NR__IS_ENABLED2(option)

#if NR_ENABLED(CONFIG_NR_LAN_TLS) && !NR_ENABLED(CONFIG_NR_TLS)
#error "CONFIG_NR_LAN_TLS needs CONFIG_NR_TLS: enable TLS or disable LAN TLS in menuconfig"
#endif
#if NR_ENABLED(CONFIG_NR_XOAUTH2) && !NR_ENABLED(CONFIG_NR_TLS)
#error "CONFIG_NR_XOAUTH2 needs CONFIG_NR_TLS (bearer tokens never travel in clear)"
#endif
#if NR_ENABLED(CONFIG_NR_PLATFORM_RTOS) && NR_ENABLED(CONFIG_NR_STORE_FILE)
#error "CONFIG_NR_STORE_FILE is not available on CONFIG_NR_PLATFORM_RTOS: use CONFIG_NR_STORE_FLASH"
#endif
#if CONFIG_NR_MAX_SESSIONS_PER_CLIENT > CONFIG_NR_MAX_SESSIONS
#error "CONFIG_NR_MAX_SESSIONS_PER_CLIENT exceeds CONFIG_NR_MAX_SESSIONS: lower it"
#endif
#if CONFIG_NR_LINE_MAX > CONFIG_NR_IO_BUF_SIZE
#error "CONFIG_NR_LINE_MAX must fit in CONFIG_NR_IO_BUF_SIZE: raise CONFIG_NR_IO_BUF_SIZE"
#endif

#define NR_VERSION "0.1.0"

#if defined(__GNUC__) || defined(__clang__)
#define NR_MUST_CHECK __attribute__((warn_unused_result))
#define NR_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define NR_MUST_CHECK
#define NR_PRINTF(f, a)
#endif

#define NR_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define NR_MIN(a, b) ((a) < (b) ? (a) : (b))
#define NR_MAX(a, b) ((a) > (b) ? (a) : (b))

#endif /* NR_CORE_BUILD_H */
