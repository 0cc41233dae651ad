/*
 * panic.h - NR_ASSERT: a broken invariant of ours stops the program.
 *
 * STYLE.md's third error tier. A peer's mistake is an SMTP reply and a
 * session failure ends that session; an invariant of ours that does not
 * hold means memory can no longer be trusted, so the program stops through
 * nr_plat_panic() (platform.h: log, then abort or reset).
 *
 * Unlike libc assert(), NR_ASSERT stays in every build: -DNDEBUG (Release,
 * RelWithDebInfo) does not remove it. Keep the condition cheap and free of
 * side effects.
 */
#ifndef NR_CORE_PANIC_H
#define NR_CORE_PANIC_H

#include "platform.h"

#define NR_ASSERT(cond) ((cond) ? (void)0 : nr_plat_panic(__FILE__, __LINE__, #cond))

#endif /* NR_CORE_PANIC_H */
