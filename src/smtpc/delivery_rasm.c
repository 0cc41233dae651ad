/* delivery_rasm.c - reply.h's assembler in the link's neutral form. */
#include <stdlib.h>
#include <string.h>

#include "smtpc/delivery_rasm.h"
#include "smtpc/reply.h"

struct nr_dlink_rasm {
	struct nr_smtpc_reply_asm a;
};

int nr_dlink_rasm_new(struct nr_dlink_rasm **out)
{
	*out = calloc(1, sizeof(**out));
	if (!*out)
		return NR_ENOMEM;
	nr_smtpc_reply_init(&(*out)->a, 0);
	return 0;
}

void nr_dlink_rasm_free(struct nr_dlink_rasm *a)
{
	free(a);
}

void nr_dlink_rasm_reset(struct nr_dlink_rasm *a)
{
	nr_smtpc_reply_init(&a->a, 0);
}

static uint32_t map_caps(uint32_t in)
{
	static const struct {
		uint32_t from, to;
	} map[] = {
	    {NR_SMTPC_CAP_STARTTLS, NR_DLINK_CAP_STARTTLS},
	    {NR_SMTPC_CAP_PIPELINING, NR_DLINK_CAP_PIPELINING},
	    {NR_SMTPC_CAP_8BITMIME, NR_DLINK_CAP_8BITMIME},
	    {NR_SMTPC_CAP_SIZE, NR_DLINK_CAP_SIZE},
	    {NR_SMTPC_CAP_AUTH, NR_DLINK_CAP_AUTH},
	    {NR_SMTPC_CAP_ENHANCEDSTATUSCODES, NR_DLINK_CAP_ENHANCEDSTATUSCODES},
	};
	uint32_t out = 0;
	size_t i;

	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (in & map[i].from)
			out |= map[i].to;
	return out;
}

static uint32_t map_auth(uint32_t in)
{
	uint32_t out = 0;

	if (in & NR_SMTPC_AUTH_PLAIN)
		out |= NR_DLINK_AUTH_PLAIN;
	if (in & NR_SMTPC_AUTH_LOGIN)
		out |= NR_DLINK_AUTH_LOGIN;
	if (in & NR_SMTPC_AUTH_CRAM_MD5)
		out |= NR_DLINK_AUTH_CRAM_MD5;
	if (in & NR_SMTPC_AUTH_XOAUTH2)
		out |= NR_DLINK_AUTH_XOAUTH2;
	return out;
}

int nr_dlink_rasm_feed(struct nr_dlink_rasm *a, const void *data, size_t len, size_t *used,
		       struct nr_dlink_reply *r)
{
	const struct nr_smtpc_reply *rep;
	int rc = nr_smtpc_reply_feed(&a->a, data, len, used);

	if (rc != 1)
		return rc;
	rep = nr_smtpc_reply_get(&a->a);
	if (!rep)
		return NR_EPROTO;
	memset(r, 0, sizeof(*r));
	r->code = rep->code;
	r->text = rep->text;
	r->caps = map_caps(rep->caps.caps);
	r->auth = map_auth(rep->caps.auth);
	r->size = rep->caps.size_max;
	return 1;
}

size_t nr_dlink_rasm_pending(const struct nr_dlink_rasm *a)
{
	return nr_smtpc_reply_pending(&a->a);
}
