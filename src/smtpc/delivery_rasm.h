/*
 * delivery_rasm.h - the reply assembler as the link sees it (internal to
 * src/smtpc). reply.h and smtpc_session.h both name their reply struct and
 * capability bits nr_smtpc_*, with different values, so no file can include
 * both: delivery_rasm.c owns reply.h and hands back this neutral form, and
 * delivery_conn.c turns it into the session's struct.
 */
#ifndef NR_SMTPC_DELIVERY_RASM_H
#define NR_SMTPC_DELIVERY_RASM_H

#include <stddef.h>
#include <stdint.h>

#include "core/build.h"

struct nr_dlink_rasm;

/* Capabilities, named once more so the two sides stay independent. */
enum {
	NR_DLINK_CAP_STARTTLS = 1u << 0,
	NR_DLINK_CAP_PIPELINING = 1u << 1,
	NR_DLINK_CAP_8BITMIME = 1u << 2,
	NR_DLINK_CAP_SIZE = 1u << 3,
	NR_DLINK_CAP_AUTH = 1u << 4,
	NR_DLINK_CAP_ENHANCEDSTATUSCODES = 1u << 5,
};
enum {
	NR_DLINK_AUTH_PLAIN = 1u << 0,
	NR_DLINK_AUTH_LOGIN = 1u << 1,
	NR_DLINK_AUTH_CRAM_MD5 = 1u << 2,
	NR_DLINK_AUTH_XOAUTH2 = 1u << 3,
};

struct nr_dlink_reply {
	int code;
	const char *text; /* valid until the next feed or reset */
	uint32_t caps;    /* NR_DLINK_CAP_* */
	uint32_t auth;    /* NR_DLINK_AUTH_* */
	uint64_t size;
};

/* NR_ENOMEM. */
int nr_dlink_rasm_new(struct nr_dlink_rasm **out) NR_MUST_CHECK;
void nr_dlink_rasm_free(struct nr_dlink_rasm *a);
/* Forget everything buffered (after STARTTLS). */
void nr_dlink_rasm_reset(struct nr_dlink_rasm *a);
/* As nr_smtpc_reply_feed(): 1 with *r filled, 0, NR_EPROTO, NR_ETOOBIG. */
int nr_dlink_rasm_feed(struct nr_dlink_rasm *a, const void *data, size_t len, size_t *used,
		       struct nr_dlink_reply *r) NR_MUST_CHECK;
/* Bytes of an unfinished reply held inside. */
size_t nr_dlink_rasm_pending(const struct nr_dlink_rasm *a);

#endif /* NR_SMTPC_DELIVERY_RASM_H */
