/*
 * queue_recover.c - recovery (FORMAT.md section 3): read every sector
 * header, find the live run, scan its records, assemble messages and build
 * the index. Read-only: it never programs, erases or syncs, so a second
 * power cut during recovery is harmless.
 */
#include "core/mem.h"
#include "queue/queue_int.h"

struct rinst {
	nr_qid_t id;
	uint8_t used, open, open_bad, committed;
	uint32_t o_first, o_nrec;
	uint64_t o_len;
	struct qent c;
	uint8_t c_bad;
	uint32_t bad_last, bad_first, bad_nrec, bad_state, bad_at; /* bad LAST: end offset */
	uint64_t bad_len;
};

struct rtab {
	struct rinst *v;
	size_t cap, n;
};

static uint32_t id_hash(nr_qid_t id)
{
	id ^= id >> 33;
	id *= 0xff51afd7ed558ccdULL;
	id ^= id >> 33;
	return (uint32_t)id;
}

static struct rinst *rtab_get(struct rtab *t, nr_qid_t id, size_t limit)
{
	size_t i;

	if ((t->n + 1) * 2 > t->cap) {
		struct rtab nt;
		size_t j;
		if (t->n >= limit)
			return NULL;
		nt.cap = t->cap ? t->cap * 2 : 64;
		nt.n = 0;
		nt.v = nr_calloc(nt.cap, sizeof(*nt.v));
		if (!nt.v)
			return NULL;
		for (j = 0; j < t->cap; j++) {
			if (!t->v[j].used)
				continue;
			i = id_hash(t->v[j].id) & (nt.cap - 1);
			while (nt.v[i].used)
				i = (i + 1) & (nt.cap - 1);
			nt.v[i] = t->v[j];
			nt.n++;
		}
		nr_free(t->v);
		*t = nt;
	}
	i = id_hash(id) & (t->cap - 1);
	while (t->v[i].used && t->v[i].id != id)
		i = (i + 1) & (t->cap - 1);
	if (!t->v[i].used) {
		memset(&t->v[i], 0, sizeof(t->v[i]));
		t->v[i].used = 1;
		t->v[i].id = id;
		t->n++;
	}
	return &t->v[i];
}

static int cmp_ent(const void *a, const void *b)
{
	const struct qent *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

/* Parse the records of one live sector held in buf. *data_end: the
 * absolute offset where its data ends (just past its last record). */
static int scan_sector(struct nr_queue *q, uint32_t s, const uint8_t *buf, struct rtab *t,
		       int is_head, uint32_t *data_end)
{
	uint32_t off = q->data_start, i;
	struct nr_ring_rechdr h;
	int v, last_good = 1;

	for (;;) {
		v = nr_ring_rechdr_parse(buf + off, off, q->S, q->P, &h);
		if (v <= 0)
			break;
		{
			uint32_t at = s * q->S + off;
			const uint8_t *pay = buf + off + RING_REC_HDR;
			int good = nr_ring_crc32(0, pay, h.len) == h.pcrc;
			struct rinst *r = rtab_get(t, h.id, q->scan_limit);
			uint32_t slen;

			last_good = good;
			if (!r)
				return NR_ENOMEM;
			if (h.id >= q->next_id)
				q->next_id = h.id + 1;
			if (h.kind & RING_F_FIRST) {
				r->open = 1;
				r->open_bad = 0;
				r->o_first = at;
				r->o_nrec = 0;
				r->o_len = 0;
			}
			if (r->open) {
				slen = h.len - ((h.kind & RING_F_LAST) ? RING_TRAILER : 0);
				r->o_nrec++;
				r->o_len += slen;
				if (!good)
					r->open_bad = 1;
				if ((h.kind & RING_F_LAST) && !good) {
					/* torn commit (last record of the head) or
					 * rot after commit: decided after the scan */
					r->open = 0;
					r->bad_last =
					    at + align_up(q, RING_REC_HDR + h.len) + h.state_len;
					r->bad_first = r->o_first;
					r->bad_nrec = r->o_nrec;
					r->bad_len = r->o_len;
					r->bad_state = at + align_up(q, RING_REC_HDR + h.len);
					r->bad_at = at;
				}
				if ((h.kind & RING_F_LAST) && good) {
					struct nr_ring_trailer tr;
					const uint8_t *st =
					    buf + off + align_up(q, RING_REC_HDR + h.len);
					struct qent *e = &r->c;
					uint32_t nrcpt, k;

					nr_ring_trailer_decode(pay + h.len - RING_TRAILER, &tr);
					nrcpt = tr.nrcpt;
					r->open = 0;
					if (tr.nrec != r->o_nrec || nrcpt == 0 ||
					    h.state_len != state_len_for(q, nrcpt) ||
					    tr.env_len > r->o_len)
						goto next;
					memset(e, 0, sizeof(*e));
					e->id = h.id;
					e->arrival = tr.arrival;
					e->env_len = tr.env_len;
					e->nrec = r->o_nrec;
					e->nrcpt = (uint16_t)nrcpt;
					e->flags = tr.flags;
					e->body_size = r->o_len - e->env_len;
					e->first = r->o_first;
					e->last = at;
					e->state_off = at + align_up(q, RING_REC_HDR + h.len);
					e->state_len = h.state_len;
					e->npending = 0;
					for (k = 0; k < nrcpt; k++) {
						if (nr_ring_rcpt_bits(st, k) == 3)
							e->npending++;
					}
					if (!(st[0] & RING_ST_DONE) || e->npending == 0)
						e->state = NR_MSG_DONE;
					else if (!(st[0] & RING_ST_DEAD))
						e->state = NR_MSG_DEAD;
					else
						e->state = NR_MSG_PENDING;
					r->c_bad = r->open_bad;
					r->committed = 1;
				}
			}
		}
	next:
		off += align_up(q, RING_REC_HDR + h.len) + h.state_len;
	}
	*data_end = s * q->S + off;
	if (v < 0 && !is_head)
		q->damaged_sectors++;
	if (is_head) {
		q->head_off = off;
		/* A last record whose payload fails its CRC is a torn write
		 * (its header landed, not all of its payload): nothing may be
		 * written after it in this sector, so that it stays the end of
		 * its sector's data, which is what tells a torn commit from a
		 * committed message that rotted (nr_queue_recover). */
		q->head_dirty = v < 0 || !last_good;
		for (i = off; i < q->S && !q->head_dirty; i++) {
			if (buf[i] != 0xFF)
				q->head_dirty = 1;
		}
	}
	return 0;
}

int nr_queue_recover(struct nr_queue *q)
{
	uint8_t h[RING_SEC_HDR];
	struct nr_ring_sechdr sh;
	uint8_t *buf = NULL;
	struct rtab t = {0};
	uint32_t s, head = 0, floor = 0, n, chain[1];
	uint32_t *hdr_floor = NULL, *data_end = NULL;
	int ret = NR_ENOMEM, found = 0;
	size_t i;

	buf = nr_malloc(q->S);
	hdr_floor = nr_calloc(q->C, sizeof(*hdr_floor));
	data_end = nr_calloc(q->C, sizeof(*data_end));
	if (!buf || !hdr_floor || !data_end)
		goto out;
	q->next_seq = 1;
	for (s = 0; s < q->C; s++) {
		ret = nr_ring_dev_read(q, s * q->S, h, RING_SEC_HDR);
		if (ret)
			goto out;
		q->sec[s].seq = 0;
		if (!nr_ring_sechdr_decode(h, &sh) || sh.version != RING_VERSION)
			continue;
		if (sh.sector_shift != q->sector_shift || sh.prog_shift != q->prog_shift) {
			ret = NR_EINVAL;
			goto out;
		}
		q->sec[s].seq = sh.seq;
		q->sec[s].erases = sh.erase_count;
		hdr_floor[s] = sh.floor;
		if (sh.next_id > q->next_id)
			q->next_id = sh.next_id;
		if (q->sec[s].seq == 0)
			continue;
		if (q->sec[s].seq >= q->next_seq)
			q->next_seq = q->sec[s].seq + 1;
		if (!found || q->sec[s].seq > q->sec[head].seq) {
			head = s;
			found = 1;
		}
	}
	ret = 0;
	if (!found)
		goto out;
	floor = hdr_floor[head];
	/* the live run: physical predecessors with consecutive seqs >= floor */
	chain[0] = head;
	for (n = 1; n < q->C - 1; n++) {
		uint32_t p = (chain[0] + q->C - 1) % q->C;
		if (q->sec[p].seq == 0 || q->sec[p].seq + 1 != q->sec[chain[0]].seq ||
		    q->sec[p].seq < floor)
			break;
		chain[0] = p;
	}
	for (s = 0; s < q->C; s++) {
		if (!(sec_dist(q, chain[0], s) <= sec_dist(q, chain[0], head)))
			q->sec[s].seq = 0;
	}
	q->have_head = 1;
	q->head = head;
	q->tail = chain[0];
	s = chain[0];
	for (n = 0; n < q->C; n++) {
		ret = nr_ring_dev_read(q, s * q->S, buf, q->S);
		if (ret)
			goto out;
		ret = scan_sector(q, s, buf, &t, s == head, &data_end[s]);
		if (ret)
			goto out;
		if (s == head)
			break;
		s = next_sec(q, s);
	}
	for (i = 0; i < t.cap; i++) {
		struct rinst *r = &t.v[i];
		struct qent *e;
		if (r->used && r->bad_last && !r->committed &&
		    r->bad_last != data_end[r->bad_at / q->S]) {
			/* A damaged commit mark with records after it in its
			 * sector: the message was committed, then rotted. One
			 * that ends its sector's data is a torn commit, never
			 * reported: the ring writes nothing after a torn record
			 * (scan_sector, ring_advance), it moves to the next
			 * sector. */
			memset(&r->c, 0, sizeof(r->c));
			r->c.id = r->id;
			r->c.first = r->bad_first;
			r->c.last = r->bad_at;
			r->c.state_off = r->bad_state;
			r->c.nrec = r->bad_nrec;
			r->c.state = NR_MSG_PENDING;
			r->committed = 1;
			r->c_bad = 1;
		}
		if (!r->used || !r->committed || r->c.state == NR_MSG_DONE)
			continue;
		/* Never drop a message to fit: refuse to open (the device is
		 * untouched) so that a build with a larger index finds all. */
		if (q->nents >= q->max_ents) {
			ret = NR_EFULL;
			goto out;
		}
		ret = nr_queue_ents_reserve(q);
		if (ret)
			goto out;
		e = &q->ents[q->nents++];
		*e = r->c;
		if (r->c_bad && e->state == NR_MSG_PENDING) {
			e->state = NR_MSG_QUARANTINE;
			q->quarantined++;
		}
		if (ent_pins(e))
			nr_ring_refs_range(q, e->first / q->S, e->last / q->S, +1);
	}
	if (q->nents > 1)
		qsort(q->ents, q->nents, sizeof(*q->ents), cmp_ent);
	nr_ring_tail_advance(q);
out:
	nr_free(t.v);
	nr_free(buf);
	nr_free(hdr_floor);
	nr_free(data_end);
	return ret;
}

int nr_queue_probe_sector_size(struct nr_bdev *bd, uint32_t *sector_size)
{
	uint8_t h[RING_SEC_HDR];
	struct nr_ring_sechdr sh;
	uint32_t s;

	for (s = 0; s < bd->sector_count; s++) {
		if (bd->read(bd, s * bd->sector_size, h, RING_SEC_HDR) != 0)
			return NR_EIO;
		if (!nr_ring_sechdr_decode(h, &sh) || sh.version != RING_VERSION)
			continue;
		if (sh.sector_shift < 9 || sh.sector_shift > 24) /* a header we never wrote */
			continue;
		*sector_size = 1u << sh.sector_shift;
		return 0;
	}
	return NR_ENOTFOUND;
}
