/* delivery_msg.c - a message as it goes on the wire: the recipients after
 * rewriting, and the body with its header block through the From filter.
 * The session dot-stuffs what this returns, so stuffing stays the last step. */
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/mem.h"
#include "delivery/delivery_int.h"

static int hdr_emit(void *arg, const void *data, size_t len)
{
	struct dmsg *m = arg;

	if (len > sizeof(m->out) - m->olen)
		return NR_EFULL; /* cannot happen: see DMSG_OUT */
	memcpy(m->out + m->olen, data, len);
	m->olen += len;
	return 0;
}

/* The body as the session reads it: the header block through the From
 * filter when it is on, the rest straight from the queue. The session
 * dot-stuffs what this returns, so stuffing stays the last step. */
long nr_dlv_read_body(void *arg, void *buf, size_t len)
{
	struct dconn *dc = arg;
	struct dmsg *m = dc->m;
	size_t n, used;
	long got;
	int rc;

	if (!m)
		return nr_qreader_read(dc->reader, buf, len);
	for (;;) {
		if (m->opos < m->olen) {
			n = NR_MIN(len, m->olen - m->opos);
			memcpy(buf, m->out + m->opos, n);
			m->opos += n;
			if (m->opos == m->olen)
				m->opos = m->olen = 0;
			return (long)n;
		}
		if (!m->hdr_on && m->ipos < m->ilen) {
			n = NR_MIN(len, m->ilen - m->ipos); /* body after the blank line */
			memcpy(buf, m->in + m->ipos, n);
			m->ipos += n;
			return (long)n;
		}
		if (m->eof)
			return 0;
		if (!m->hdr_on)
			return nr_qreader_read(dc->reader, buf, len);
		if (m->ipos == m->ilen) {
			got = nr_qreader_read(dc->reader, m->in, sizeof(m->in));
			if (got < 0)
				return got;
			m->ipos = 0;
			m->ilen = (size_t)got;
			if (got == 0) {
				/* A message that is all header. */
				m->hdr_on = 0;
				m->eof = 1;
				rc = nr_rewrite_hdr_finish(&m->hdr);
				if (rc < 0)
					return rc;
				continue;
			}
		}
		rc = nr_rewrite_hdr_feed(&m->hdr, m->in + m->ipos, m->ilen - m->ipos, &used);
		if (rc < 0)
			return rc;
		m->ipos += used;
		if (rc == 1)
			m->hdr_on = 0;
	}
}

/* 1 when dc carries the engine's digest, From: already dc->sender. */
static int own_digest(const struct dconn *dc)
{
	const char *client = nr_queue_client(dc->d->q, dc->id);
	const char *queued = nr_queue_sender(dc->d->q, dc->id);

	return client && strcmp(client, NR_DLV_DIGEST_CLIENT) == 0 && queued &&
	       strcmp(queued, dc->sender) == 0;
}

/* The rewritten recipients (queue indices unchanged: only the wire address
 * differs) and the header filter for one message. NR_ENOMEM. */
int nr_dlv_prepare_msg(struct dconn *dc)
{
	const struct nr_rewrite *rw = &dc->d->rwc.rw;
	struct dmsg *m;
	size_t i;

	m = nr_calloc(1, sizeof(*m) + dc->msg.nrcpt * sizeof(m->addr[0]));
	if (!m)
		return NR_ENOMEM;
	for (i = 0; i < dc->msg.nrcpt; i++) {
		if (!dc->rcpt[i])
			continue;
		/* An address the module does not handle (a quoted local part)
		 * goes as queued; the session checks it before it is sent. */
		if (nr_rewrite_recipient(rw, dc->rcpt[i], m->addr[i], sizeof(m->addr[i])) == 0)
			m->wire[i] = m->addr[i];
		else
			m->wire[i] = dc->rcpt[i];
	}
	memset(&m->rw, 0, sizeof(m->rw));
	/* Per smarthost: on by default at providers that refuse a foreign
	 * header From (rewrite/provider.h), else as configured. The digest's
	 * From is already the account it goes from: left alone, unless the
	 * envelope changed on the way (another smarthost's account). */
	m->rw.from_rewrite = dc->host.from_rewrite && !own_digest(dc);
	/* A null sender (a bounce) has no address to put in From: as is. */
	if (m->rw.from_rewrite && dc->sender[0] &&
	    nr_rewrite_hdr_init(&m->hdr, &m->rw, dc->sender, hdr_emit, m) == 0)
		m->hdr_on = 1;
	dc->m = m;
	return 0;
}

static char *arena_str(char **at, const char *src)
{
	char *dst = *at;
	size_t n = strlen(src) + 1;

	memcpy(dst, src, n);
	*at += n;
	return dst;
}

static size_t str_size(const char *s)
{
	return s ? strlen(s) + 1 : 0;
}

/* Copy the rewrite settings of conf (accepted by check_conf()) into out.
 * NR_ENOMEM. */
int nr_dlv_build_rewrite(struct rw_conf *out, const struct nr_conf *conf)
{
	struct nr_conf shadow;
	struct nr_conf_alias *alias;
	char err[160], *at;
	size_t i, size;
	int rc;

	memset(out, 0, sizeof(*out));
	size =
	    conf->alias_count * sizeof(*alias) + str_size(conf->hostname) + str_size(conf->sender);
	for (i = 0; i < conf->alias_count; i++)
		size += str_size(conf->alias[i].from) + str_size(conf->alias[i].to);
	out->arena = nr_malloc(size ? size : 1);
	if (!out->arena)
		return NR_ENOMEM;
	alias = out->arena; /* the table first: malloc alignment */
	at = (char *)(alias + conf->alias_count);
	memset(&shadow, 0, sizeof(shadow));
	shadow.hostname = conf->hostname ? arena_str(&at, conf->hostname) : NULL;
	shadow.sender = conf->sender ? arena_str(&at, conf->sender) : NULL;
	/* Delivery uses each smarthost's own setting (dhost.from_rewrite). */
	shadow.from_rewrite = conf->from_rewrite;
	for (i = 0; i < conf->alias_count; i++) {
		memset(&alias[i], 0, sizeof(alias[i]));
		alias[i].from = conf->alias[i].from ? arena_str(&at, conf->alias[i].from) : NULL;
		alias[i].to = conf->alias[i].to ? arena_str(&at, conf->alias[i].to) : NULL;
		alias[i].line = conf->alias[i].line;
	}
	shadow.alias = conf->alias_count ? alias : NULL;
	shadow.alias_count = conf->alias_count;
	rc = nr_rewrite_init(&out->rw, &shadow, err, sizeof(err));
	if (rc != 0) { /* not reached: check_conf() accepted the same settings */
		nr_err("delivery: %s", err);
		nr_free(out->arena);
		memset(out, 0, sizeof(*out));
	}
	return rc;
}
