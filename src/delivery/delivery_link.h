/*
 * delivery_link.h - the engine over links of the caller's choice (internal
 * to src/delivery: its unit tests put scripted links under real sessions).
 * struct nr_dlink_ops, the link table, is in delivery.h.
 */
#ifndef NR_DELIVERY_DELIVERY_LINK_H
#define NR_DELIVERY_DELIVERY_LINK_H

#include "core/build.h"
#include "delivery/delivery.h"

/* Engine with an explicit link implementation (tests). */
struct nr_delivery;
int nr_delivery_start_links(struct nr_delivery **out, struct nr_loop *loop,
			    const struct nr_conf *conf, struct nr_queue *q,
			    const struct nr_dlink_ops *links, void *links_ctx) NR_MUST_CHECK;

/* The engine frees links_ctx with links_free in nr_delivery_stop(), after
 * every link was closed (nr_delivery_start() uses this for the real links). */
void nr_delivery_own_links(struct nr_delivery *d, void (*links_free)(void *links_ctx));

#endif /* NR_DELIVERY_DELIVERY_LINK_H */
