/* sim_internal.h - what the simulator's files share; not for tests. */
#ifndef NR_SIM_INTERNAL_H
#define NR_SIM_INTERNAL_H

#include "sim.h"

/* sim_net.c */
void sim_net_reset(void);
/* sim_resolve.c: forget everything; the earliest due answer (UINT64_MAX:
 * none); deliver the due ones (inside nr_plat_poll), returning how many. */
void sim_resolve_reset(void);
uint64_t sim_resolve_next_due(void);
int sim_resolve_deliver(void);
/* sim_sys.c */
unsigned sim_signals_pending(void);
/* Take a pending nr_plat_wake(): 1 once, then 0. */
int sim_wake_take(void);

#endif /* NR_SIM_INTERNAL_H */
