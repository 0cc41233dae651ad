/*
 * queue_read.c - reading a message's stream back (delivery readers, the
 * envelope, compaction copies) and the state area marks (FORMAT.md 2.4).
 */
#include "core/mem.h"
#include "queue/queue_int.h"

/* ---- reading a message's stream ---------------------------------------------------- */

/* A read on behalf of a reader: through its cache when it has one. A miss
 * reads up to QREADER_CACHE bytes from off, but not past the end of the
 * message's last record (r->end) when off lies before it: those bytes
 * are all committed, so the cache needs no invalidation (state areas are
 * not read through here), and a message just committed is then read back
 * from the storage layer's window on a file (store_combine.c) with no
 * device read at all. One read takes in a small message whole. */
static int reader_dev_read(struct nr_qreader *r, uint32_t off, void *buf, uint32_t len)
{
	struct nr_queue *q = r->q;
	uint32_t n, lim;

	if (!r->cache || len > QREADER_CACHE)
		return nr_ring_dev_read(q, off, buf, len);
	if (r->cache_len == 0 || off < r->cache_off || off + len > r->cache_off + r->cache_len) {
		lim = off < r->end ? r->end : q->S * q->C;
		n = NR_MAX(len, NR_MIN(QREADER_CACHE, lim - off));
		if (nr_ring_dev_read(q, off, r->cache, n)) {
			r->cache_len = 0;
			return NR_EIO;
		}
		r->cache_off = off;
		r->cache_len = n;
	}
	memcpy(buf, r->cache + (off - r->cache_off), len);
	return 0;
}

static int payload_crc_ok(struct nr_qreader *r, uint32_t off, uint32_t len, uint32_t want)
{
	uint8_t b[256];
	uint32_t crc = 0, n;

	while (len > 0) {
		n = NR_MIN(len, (uint32_t)sizeof(b));
		if (reader_dev_read(r, off, b, n))
			return NR_EIO;
		crc = nr_ring_crc32(crc, b, n);
		off += n;
		len -= n;
	}
	return crc == want ? 1 : 0;
}

static int reader_next_record(struct nr_qreader *r)
{
	struct nr_queue *q = r->q;
	uint8_t b[RING_REC_HDR];
	struct nr_ring_rechdr h;
	uint32_t in;
	int v, ok;

	while (r->steps++ < 16u * q->C + (q->S / RING_REC_HDR) * q->C) {
		in = r->pos % q->S;
		if (in < q->data_start) {
			/* the previous record ended exactly at a sector's end */
			r->pos = ((r->pos / q->S) % q->C) * q->S + q->data_start;
			continue;
		}
		if (in + RING_REC_HDR > q->S) {
			v = 0;
		} else {
			if (reader_dev_read(r, r->pos, b, RING_REC_HDR))
				return NR_EIO;
			v = nr_ring_rechdr_parse(b, in, q->S, q->P, &h);
		}
		if (v <= 0) {
			r->pos = next_sec(q, r->pos / q->S) * q->S + q->data_start;
			continue;
		}
		r->pos += align_up(q, RING_REC_HDR + h.len) + h.state_len;
		if (h.id != r->id)
			continue;
		ok = payload_crc_ok(
		    r, r->pos - align_up(q, RING_REC_HDR + h.len) - h.state_len + RING_REC_HDR,
		    h.len, h.pcrc);
		if (ok < 0)
			return ok;
		if (!ok)
			return NR_ECORRUPT;
		r->rec_pay =
		    r->pos - align_up(q, RING_REC_HDR + h.len) - h.state_len + RING_REC_HDR;
		r->rec_left = h.len - ((h.kind & RING_F_LAST) ? RING_TRAILER : 0);
		r->left_recs--;
		return 0;
	}
	return NR_ECORRUPT;
}

/* Read stream bytes (after skip) into buf. >0, 0 at the end, negative. */
long nr_ring_reader_stream(struct nr_qreader *r, void *buf, size_t len)
{
	uint8_t *out = buf;
	size_t got = 0;
	int ret;

	while (got < len && r->remain > 0) {
		if (r->rec_left == 0) {
			if (r->left_recs == 0)
				goto corrupt;
			ret = reader_next_record(r);
			if (ret == NR_ECORRUPT)
				goto corrupt;
			if (ret)
				return ret;
			continue;
		}
		if (r->skip > 0) {
			uint32_t n = (uint32_t)NR_MIN((uint64_t)r->rec_left, r->skip);
			r->skip -= n;
			r->rec_left -= n;
			r->rec_pay += n;
			continue;
		}
		{
			uint32_t n = (uint32_t)NR_MIN(
			    (uint64_t)NR_MIN((size_t)r->rec_left, len - got), r->remain);
			if (reader_dev_read(r, r->rec_pay, out + got, n))
				return NR_EIO;
			got += n;
			r->rec_pay += n;
			r->rec_left -= n;
			r->remain -= n;
		}
	}
	return (long)got;
corrupt:
	nr_queue_quarantine(r->q, r->id);
	return NR_ECORRUPT;
}

int nr_ring_reader_init(struct nr_queue *q, const struct qent *e, uint64_t skip, uint64_t len,
			struct nr_qreader *r)
{
	memset(r, 0, sizeof(*r));
	r->q = q;
	r->id = e->id;
	r->pos = e->first;
	r->end = e->state_off + e->state_len;
	r->left_recs = e->nrec;
	r->skip = skip;
	r->remain = len;
	return 0;
}

int nr_queue_read_open(struct nr_queue *q, nr_qid_t id, struct nr_qreader **out)
{
	struct qent *e = live_ent(q, id);
	struct nr_qreader *r;

	*out = NULL;
	if (!e)
		return NR_ENOTFOUND;
	if (e->state == NR_MSG_QUARANTINE)
		return NR_ECORRUPT;
	r = nr_malloc(sizeof(*r) + QREADER_CACHE);
	if (!r)
		return NR_ENOMEM;
	nr_ring_reader_init(q, e, e->env_len, e->body_size, r);
	r->cache = (uint8_t *)(r + 1);
	*out = r;
	return 0;
}

long nr_qreader_read(struct nr_qreader *r, void *buf, size_t len)
{
	if (!r || !buf)
		return NR_EINVAL;
	return nr_ring_reader_stream(r, buf, len);
}

void nr_qreader_close(struct nr_qreader *r)
{
	nr_free(r);
}
