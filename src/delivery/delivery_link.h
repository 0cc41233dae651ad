/*
 * delivery_link.h - the I/O under one delivery session (internal to
 * src/delivery). A link resolves the smarthost (every address in turn), connects,
 * runs TLS (implicit from the first byte, or when the session asks after
 * STARTTLS), assembles replies and feeds everything into the nr_smtpc
 * session it was opened for. The engine (delivery.c) only sees this table,
 * so tests can put a scripted server under real sessions.
 */
#ifndef NR_DELIVERY_DELIVERY_LINK_H
#define NR_DELIVERY_DELIVERY_LINK_H

#include <stddef.h>
#include <stdint.h>

#include "conf/conf.h"
#include "smtpc/smtpc_session.h"

struct nr_loop;
struct nr_queue;
struct nr_dlink;

/* What a link needs to know of its smarthost. */
struct nr_dlink_target {
	const char *host;
	uint16_t port;
	enum nr_tls_mode tls;
	uint64_t connect_timeout_ms; /* cap on the 30 s per address and implicit TLS (0: none) */
};

struct nr_dlink_ops {
	/* Start: resolve, connect, (implicit TLS,) then nr_smtpc_on_connected(s);
	 * later events go to s. Failures arrive as session events
	 * (nr_smtpc_on_closed / on_timeout), never as a callback from inside
	 * open(). NR_ENOMEM. */
	int (*open)(void *ctx, struct nr_dlink **out, const struct nr_dlink_target *t,
		    struct nr_smtpc *s);
	int (*write)(struct nr_dlink *l, const void *p, size_t n);
	size_t (*room)(struct nr_dlink *l);
	/* Switch to TLS now, then nr_smtpc_on_tls_done(). */
	void (*start_tls)(struct nr_dlink *l);
	/* Close after the output drained; no session event follows. The link
	 * is freed by this. */
	void (*close)(struct nr_dlink *l);
	/* "host[addr]:port" of the current peer ("host[?]:port" before connect). */
	const char *(*peer)(struct nr_dlink *l);
	/* The configuration was reloaded: read again what links share (the
	 * CA file). Open links keep what they started with. A failure keeps
	 * the previous state. NULL: nothing to read again. */
	int (*reload)(void *ctx, const struct nr_conf *conf);
};

/* Engine with an explicit link implementation (tests). */
struct nr_delivery;
int nr_delivery_start_links(struct nr_delivery **out, struct nr_loop *loop,
			    const struct nr_conf *conf, struct nr_queue *q,
			    const struct nr_dlink_ops *links, void *links_ctx) NR_MUST_CHECK;

/* The engine frees links_ctx with links_free in nr_delivery_stop(), after
 * every link was closed (nr_delivery_start() uses this for the real links). */
void nr_delivery_own_links(struct nr_delivery *d, void (*links_free)(void *links_ctx));

#endif /* NR_DELIVERY_DELIVERY_LINK_H */
