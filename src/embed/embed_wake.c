/*
 * embed_wake.c - a stand-in for nr_plat_wake() until every platform shim
 * provides it (platform.h: "a wakeup that another task may call"). Weak,
 * so the shim's own definition wins at link time. Doing nothing is right
 * where the only caller is the relay's own task (the daemon: signals
 * already interrupt its poll); a shim with tasks must provide the real one.
 * Delete this file once platform.h declares nr_plat_wake().
 */
#include "core/build.h"

void nr_plat_wake(void);

__attribute__((weak)) void nr_plat_wake(void) {}
