/*
 * fmt.h - 64-bit integers as text, for C libraries whose printf lacks them.
 *
 * newlib prints neither %zu nor %ju, and newlib-nano not %llu/%lld either
 * (it prints the letters, or reads the wrong argument and crashes on the
 * next %s). Code under src/ therefore uses only the conversions every C
 * library has: a uint64_t goes through NR_U64() and "%s"; a size_t goes
 * through "%lu" and (unsigned long), which is as wide as size_t on every
 * target we build (ILP32 and LP64). tests/all.sh's "printf formats" step
 * fails on %z, %j, %ll and PRI*64 under src/.
 *
 * NR_U64(v), NR_I64(v) and NR_X64(v) format into a compound literal that
 * lives until the end of the enclosing block, so they can be written
 * straight into an argument list:
 *     snprintf(buf, size, "SIZE %s", NR_U64(max_size));
 * Nothing here allocates or fails.
 */
#ifndef NR_CORE_FMT_H
#define NR_CORE_FMT_H

#include <stdint.h>

/* Room for any uint64_t or int64_t in decimal, sign and NUL included. */
#define NR_FMT_INT64_LEN 21

/* v in decimal ("%llu"), into dst[NR_FMT_INT64_LEN]; returns dst. */
char *nr_fmt_u64(char *dst, uint64_t v);
/* v in decimal with a '-' when negative ("%lld"); returns dst. */
char *nr_fmt_i64(char *dst, int64_t v);
/* v as 16 lower-case hex digits, zero-padded ("%016llx"); returns dst. */
char *nr_fmt_x64(char *dst, uint64_t v);

#define NR_U64(v) nr_fmt_u64((char[NR_FMT_INT64_LEN]){0}, (v))
#define NR_I64(v) nr_fmt_i64((char[NR_FMT_INT64_LEN]){0}, (v))
#define NR_X64(v) nr_fmt_x64((char[NR_FMT_INT64_LEN]){0}, (v))

#endif /* NR_CORE_FMT_H */
