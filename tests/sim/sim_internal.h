/* sim_internal.h - what the simulator's files share; not for tests. */
#ifndef NR_SIM_INTERNAL_H
#define NR_SIM_INTERNAL_H

#include "sim.h"

/* sim_net.c */
void sim_net_reset(void);
/* sim_sys.c */
unsigned sim_signals_pending(void);

#endif /* NR_SIM_INTERNAL_H */
