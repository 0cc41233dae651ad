/*
 * queue.c - the queue API (queue.h): the index of committed messages, the
 * envelope cache, open/close, enqueue with group commit, delivery marks and
 * inspection. The ring itself is in queue_ring.c (see queue_int.h).
 */
#include "core/mem.h"
#include "queue/queue_int.h"

/* ---- index ------------------------------------------------------------------------ */

struct qent *nr_queue_ent_find(struct nr_queue *q, nr_qid_t id)
{
	size_t lo = 0, hi = q->nents;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (q->ents[mid].id == id)
			return &q->ents[mid];
		if (q->ents[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* Room for one more entry at the end of the index. Delivery removes the
 * oldest entries, and ent_remove then moves the window's start rather than
 * every later entry; the space freed before the window is taken back here.
 * The array has a quarter more slots than max_ents, and nents never exceeds
 * max_ents, so when the window reaches the end at least a quarter of the
 * array lies before it: one O(nents) move per max_ents/4 removals, O(1) per
 * entry on average. NR_EFULL when the index is full. */
int nr_queue_ents_reserve(struct nr_queue *q)
{
	if (q->ents_front + q->nents < q->cap)
		return 0;
	if (q->ents_front == 0)
		return NR_EFULL;
	memmove(q->ents_mem, q->ents, q->nents * sizeof(*q->ents));
	q->ents = q->ents_mem;
	q->ents_front = 0;
	return 0;
}

static struct qent *ent_insert(struct nr_queue *q, nr_qid_t id)
{
	size_t i;

	if (nr_queue_ents_reserve(q) != 0)
		return NULL;
	i = q->nents;
	while (i > 0 && q->ents[i - 1].id > id)
		i--;
	memmove(&q->ents[i + 1], &q->ents[i], (q->nents - i) * sizeof(*q->ents));
	q->nents++;
	memset(&q->ents[i], 0, sizeof(q->ents[i]));
	q->ents[i].id = id;
	return &q->ents[i];
}

/* Envelopes kept decoded from the commit on, so delivery does not read
 * them back from the device; past this many they are read when needed. */

static void ent_free_cache(struct nr_queue *q, struct qent *e)
{
	if (e->env)
		q->envs--;
	nr_free(e->last_error);
	nr_free(e->env);
	e->last_error = NULL;
	e->env = NULL;
}

void nr_queue_ent_remove(struct nr_queue *q, struct qent *e)
{
	size_t i = (size_t)(e - q->ents);

	ent_free_cache(q, e);
	if (i < q->nents / 2) {
		/* nearer the start (the oldest, as delivery goes): move the
		 * entries before it up one and start the window later */
		memmove(&q->ents[1], &q->ents[0], i * sizeof(*q->ents));
		q->ents++;
		q->ents_front++;
	} else {
		memmove(&q->ents[i], &q->ents[i + 1], (q->nents - i - 1) * sizeof(*q->ents));
	}
	q->nents--;
	q->due_exact = 0; /* it may have been the earliest */
}

/* A decoded envelope in one allocation: the struct, the recipient
 * pointers, then the strings (strbytes, NULs included). */
static struct qenv *env_alloc(size_t nrcpt, size_t strbytes, char **strs)
{
	struct qenv *env = nr_malloc(sizeof(*env) + nrcpt * sizeof(char *) + strbytes);

	if (!env)
		return NULL;
	env->rcpt = (const char **)(env + 1);
	*strs = (char *)(env->rcpt + nrcpt);
	return env;
}

static const char *env_put(char **strs, const char *src)
{
	size_t len = src ? strlen(src) : 0;
	char *dst = *strs;

	memcpy(dst, src ? src : "", len);
	dst[len] = 0;
	*strs += len + 1;
	return dst;
}

/* The same envelope decoded from what nr_queue_begin was given. */
static struct qenv *env_from(const struct nr_qenvelope *in, size_t envsz)
{
	char *strs;
	struct qenv *env = env_alloc(in->nrcpt, envsz + 3 + in->nrcpt, &strs);
	size_t i;

	if (!env)
		return NULL;
	env->sender = env_put(&strs, in->sender);
	env->client = env_put(&strs, in->client);
	env->auth = env_put(&strs, in->auth_id);
	for (i = 0; i < in->nrcpt; i++)
		env->rcpt[i] = env_put(&strs, in->rcpts[i]);
	return env;
}

void nr_queue_quarantine(struct nr_queue *q, nr_qid_t id)
{
	struct qent *e = nr_queue_ent_find(q, id);

	if (!e || e->state == NR_MSG_QUARANTINE)
		return;
	nr_ring_release_refs(q, e);
	e->state = NR_MSG_QUARANTINE;
	q->quarantined++;
}

/* ---- the loop: group commit at the end of a turn ------------------------------ */

static void turn_end(struct nr_loop *loop, void *arg)
{
	(void)loop;
	nr_queue_flush(arg);
}

void nr_queue_loop_request(struct nr_queue *q)
{
	if (q->hook.fn == NULL) {
		q->hook.fn = turn_end;
		q->hook.arg = q;
	}
	nr_loop_at_turn_end(q->loop, &q->hook);
}

/* ---- open / close ----------------------------------------------------------------- */

static uint8_t log2u(uint32_t v)
{
	uint8_t r = 0;

	while (v > 1) {
		v >>= 1;
		r++;
	}
	return r;
}

int nr_queue_open(struct nr_queue **out, struct nr_bdev *bd, struct nr_loop *loop)
{
	return nr_queue_open_max(out, bd, loop, 0);
}

int nr_queue_open_max(struct nr_queue **out, struct nr_bdev *bd, struct nr_loop *loop,
		      size_t max_messages)
{
	struct nr_queue *q = NULL;
	int ret = NR_EINVAL;
	uint64_t fit;
	size_t limit = CONFIG_NR_QUEUE_MAX_MESSAGES;

	*out = NULL;
	if (!bd || bd->sector_size < 512 || (bd->sector_size & (bd->sector_size - 1)) ||
	    bd->sector_size > (1u << 24) || bd->prog_size == 0 || bd->prog_size > 64 ||
	    (bd->prog_size & (bd->prog_size - 1)) || bd->sector_count < 5 ||
	    (uint64_t)bd->sector_size * bd->sector_count > UINT32_MAX)
		goto out;
	ret = NR_ENOMEM;
	q = nr_calloc(1, sizeof(*q));
	if (!q)
		goto out;
	q->bd = bd;
	q->loop = loop;
	q->S = bd->sector_size;
	q->C = bd->sector_count;
	q->P = bd->prog_size;
	q->sector_shift = log2u(q->S);
	q->prog_shift = log2u(q->P);
	q->data_start = align_up(q, RING_SEC_HDR);
	q->next_id = 1;
	/* No message takes less than 48 bytes of ring: a small device never
	 * needs the whole ceiling. */
	fit = NR_MAX(64, (uint64_t)(q->C - 3) * (q->S - q->data_start) / 48);
	if (max_messages && max_messages < limit)
		limit = max_messages;
	q->max_ents = (size_t)NR_MIN(fit, (uint64_t)limit);
	q->scan_limit = 4 * NR_MAX(q->max_ents, (size_t)NR_MIN(fit, MAX_ENTS_CEIL)) + 1024;
	/* the whole index now, so it never grows with the backlog (pages
	 * calloc leaves untouched cost no RAM on Linux) */
	q->cap = q->max_ents + q->max_ents / 4 + 1;
	q->ents_mem = nr_calloc(q->cap, sizeof(*q->ents_mem));
	q->ents = q->ents_mem;
	q->sec = nr_calloc(q->C, sizeof(*q->sec));
	if (!q->sec || !q->ents_mem)
		goto out;
	ret = nr_queue_recover(q);
	if (ret)
		goto out;
	*out = q;
	q = NULL;
out:
	nr_queue_close(q);
	return ret;
}

void nr_queue_close(struct nr_queue *q)
{
	size_t i;

	if (!q)
		return;
	while (q->writers) {
		struct nr_qwriter *w = q->writers;
		nr_ring_writer_unlink(w);
		nr_ring_writer_free(w);
	}
	for (i = 0; i < q->nents; i++)
		ent_free_cache(q, &q->ents[i]);
	nr_free(q->ents_mem);
	nr_free(q->sec);
	nr_free(q->pend);
	nr_free(q->spare);
	nr_free(q);
}

/* ---- enqueue ---------------------------------------------------------------------- */

static int put_str(struct nr_qwriter *w, const char *s, int wide)
{
	size_t n = s ? strlen(s) : 0;
	uint8_t l[2];
	int ret;

	if (n > (wide ? 0xFFFFu : 0xFFu))
		return NR_EINVAL;
	l[0] = (uint8_t)n;
	l[1] = (uint8_t)(n >> 8);
	ret = nr_ring_stream_put(w, l, wide ? 2 : 1);
	if (ret == 0 && n)
		ret = nr_ring_stream_put(w, s, n);
	w->env_len += (uint32_t)(n + (wide ? 2 : 1));
	return ret;
}

int nr_queue_begin(struct nr_queue *q, const struct nr_qenvelope *env, uint64_t size_hint,
		   struct nr_qwriter **out)
{
	struct nr_qwriter *w = NULL;
	int ret = NR_EINVAL;
	size_t i, envsz;

	*out = NULL;
	if (!env || !env->sender || env->nrcpt == 0 || env->nrcpt > 0xFFFF || !env->rcpts)
		goto out;
	envsz = 4 + strlen(env->sender) + (env->client ? strlen(env->client) : 0) +
		(env->auth_id ? strlen(env->auth_id) : 0);
	for (i = 0; i < env->nrcpt; i++) {
		if (!env->rcpts[i])
			goto out;
		envsz += 2 + strlen(env->rcpts[i]);
	}
	ret = NR_ETOOBIG;
	if (size_hint + envsz > nr_ring_capacity(q) - q->S)
		goto out;
	ret = NR_EFULL;
	if (q->nents + q->nwriters >= q->max_ents)
		goto out;
	if (size_hint && size_hint + envsz > nr_ring_capacity(q) - nr_ring_used(q))
		goto out;
	ret = NR_ENOMEM;
	w = nr_ring_writer_new(q, q->next_id, (uint32_t)env->nrcpt);
	if (!w)
		goto out;
	q->next_id++;
	w->arrival = env->arrival;
	w->flags = (uint8_t)(env->flags & NR_QENV_8BIT);
	ret = put_str(w, env->sender, 1);
	if (ret == 0)
		ret = put_str(w, env->client, 0);
	if (ret == 0)
		ret = put_str(w, env->auth_id, 0);
	for (i = 0; ret == 0 && i < env->nrcpt; i++)
		ret = put_str(w, env->rcpts[i], 1);
	if (ret)
		goto out;
	if (q->envs + q->nwriters < ENV_KEEP)
		w->env = env_from(env, envsz); /* NULL only costs a read later */
	*out = w;
	w = NULL;
out:
	nr_queue_abort(w);
	return ret;
}

int nr_queue_append(struct nr_qwriter *w, const void *data, size_t len)
{
	if (!w)
		return NR_EINVAL;
	return nr_ring_stream_put(w, data, len);
}

void nr_queue_set_8bit(struct nr_qwriter *w)
{
	if (w)
		w->flags |= NR_QENV_8BIT;
}

void nr_queue_abort(struct nr_qwriter *w)
{
	if (!w)
		return;
	if (w->started)
		nr_ring_refs_range(w->q, w->first_sec, w->last_sec, -1);
	nr_ring_writer_unlink(w);
	nr_ring_writer_free(w);
}

/* Seal w; on success the entry exists (hidden until durable). */
static int seal(struct nr_qwriter *w, struct qent **out)
{
	struct nr_queue *q = w->q;
	struct qent *e;
	uint32_t last, state_at;
	int ret;

	if (w->failed)
		return NR_ESTATE;
	/* room in the index first: a sealed record must get its entry */
	ret = nr_queue_ents_reserve(q);
	if (ret)
		return ret;
	ret = nr_ring_stream_finish(w, &last, &state_at);
	if (ret)
		return ret;
	e = ent_insert(q, w->id);
	if (!e)
		return NR_ENOMEM;
	e->arrival = w->arrival;
	e->body_size = w->stream_len - w->env_len;
	e->first = w->first;
	e->last = last;
	e->state_len = w->state_len;
	e->state_off = state_at;
	e->env_len = w->env_len;
	e->nrec = w->nrec;
	e->nrcpt = w->nrcpt;
	e->npending = w->nrcpt;
	e->flags = w->flags;
	e->state = NR_MSG_PENDING;
	if (w->env) {
		e->env = w->env;
		w->env = NULL;
		q->envs++;
	}
	if (state_bytes(e) <= ST_MIRROR) {
		memset(e->st, 0xFF, state_bytes(e)); /* committed erased */
		e->st_known = 1;
	}
	*out = e;
	return 0;
}

static void commit_failed(struct nr_queue *q, nr_qid_t id)
{
	struct qent *e = nr_queue_ent_find(q, id);

	if (!e)
		return;
	/* Best effort: a commit that was not acknowledged must not surface
	 * later should its bytes reach the device anyway. */
	(void)nr_ring_state_clear(q, e, 0, RING_ST_DONE);
	nr_ring_release_refs(q, e);
	nr_queue_ent_remove(q, e);
}

int nr_queue_commit(struct nr_qwriter *w, nr_qcommit_fn done, void *arg)
{
	struct nr_queue *q;
	struct qent *e = NULL;
	nr_qid_t id;
	int ret;

	if (!w)
		return NR_EINVAL;
	q = w->q;
	id = w->id;
	ret = seal(w, &e);
	if (ret) {
		nr_queue_abort(w);
		return ret;
	}
	/* the writer's sector pins now belong to the entry */
	nr_ring_writer_unlink(w);
	nr_ring_writer_free(w);
	e->hidden = 1;
	if (q->npend == q->pend_cap) {
		size_t ncap = q->pend_cap ? q->pend_cap * 2 : 8;
		struct pending_commit *np = nr_realloc(q->pend, ncap * sizeof(*np));
		if (!np) {
			commit_failed(q, id);
			return NR_ENOMEM;
		}
		q->pend = np;
		q->pend_cap = ncap;
	}
	q->pend[q->npend].id = id;
	q->pend[q->npend].done = done;
	q->pend[q->npend].arg = arg;
	q->npend++;
	if (q->loop)
		nr_queue_loop_request(q);
	else if (!q->manual_flush)
		nr_queue_flush(q);
	return 0;
}

/* Take the commits requested so far out of the queue; new ones (the done
 * callbacks may make any number) gather in another list meanwhile. */
static struct pending_commit *pend_take(struct nr_queue *q, size_t *n, size_t *cap)
{
	struct pending_commit *pc = q->pend;

	*n = q->npend;
	*cap = q->pend_cap;
	q->pend = q->spare;
	q->pend_cap = q->spare_cap;
	q->npend = 0;
	q->spare = NULL;
	q->spare_cap = 0;
	return pc;
}

static void pend_recycle(struct nr_queue *q, struct pending_commit *pc, size_t cap)
{
	if (q->spare) {
		nr_free(pc);
		return;
	}
	q->spare = pc;
	q->spare_cap = cap;
}

/* Group commit: one sync for every commit requested since the last one,
 * then each caller hears about its own record. */
void nr_queue_flush(struct nr_queue *q)
{
	struct pending_commit *pc;
	size_t i, n, cap;
	int ret;

	if (q->npend == 0) {
		if (!q->head_synced || q->dirty_marks)
			(void)nr_ring_dev_sync(q);
		q->dirty_marks = 0;
		return;
	}
	pc = pend_take(q, &n, &cap);
	ret = nr_ring_dev_sync(q);
	q->dirty_marks = 0;
	for (i = 0; i < n; i++) {
		struct qent *e = nr_queue_ent_find(q, pc[i].id);
		if (ret)
			commit_failed(q, pc[i].id);
		else if (e) {
			e->hidden = 0;
			nr_queue_due_lower(q, e);
		}
	}
	/* callbacks last: they may begin and commit new messages */
	for (i = 0; i < n; i++) {
		if (pc[i].done)
			pc[i].done(pc[i].arg, ret ? NR_EIO : 0, pc[i].id);
	}
	pend_recycle(q, pc, cap);
	if (!ret && q->on_commit)
		q->on_commit(q->on_commit_arg);
}

void nr_queue_on_commit(struct nr_queue *q, void (*fn)(void *arg), void *arg)
{
	q->on_commit = fn;
	q->on_commit_arg = arg;
}

void nr_queue_set_manual_flush(struct nr_queue *q, int on)
{
	q->manual_flush = on ? 1 : 0;
}

/* ---- delivery side ---------------------------------------------------------------- */

static void fill_info(const struct qent *e, struct nr_qinfo *out)
{
	memset(out, 0, sizeof(*out));
	out->id = e->id;
	out->arrival = e->arrival;
	out->body_size = e->body_size;
	out->state = (enum nr_msg_state)e->state;
	out->flags = e->flags;
	out->nrcpt = e->nrcpt;
	out->npending = e->npending;
	out->attempts = e->attempts;
	out->next_attempt_ms = e->next_ms;
	out->inflight = e->inflight ? 1 : 0;
	if (e->last_error) {
		strncpy(out->last_error, e->last_error, sizeof(out->last_error) - 1);
	}
}

int nr_queue_info(struct nr_queue *q, nr_qid_t id, struct nr_qinfo *out)
{
	struct qent *e = live_ent(q, id);

	if (!e)
		return NR_ENOTFOUND;
	fill_info(e, out);
	return 0;
}

static struct qenv *load_env(struct nr_queue *q, struct qent *e)
{
	struct nr_qreader r;
	struct qenv *env = NULL;
	uint8_t *raw = NULL;
	char *strs;
	size_t p = 0, o = 0, i;
	long n;

	if (e->env)
		return e->env;
	raw = nr_malloc(e->env_len ? e->env_len : 1);
	if (!raw)
		goto fail;
	nr_ring_reader_init(q, e, 0, e->env_len, &r);
	r.cache = nr_malloc(QREADER_CACHE); /* NULL only costs reads */
	while (p < e->env_len) {
		n = nr_ring_reader_stream(&r, raw + p, e->env_len - p);
		if (n <= 0) {
			nr_free(r.cache);
			goto fail;
		}
		p += (size_t)n;
	}
	nr_free(r.cache);
	/* strings: each gets a NUL instead of its length prefix */
	env = env_alloc(e->nrcpt, e->env_len + 4, &strs);
	if (!env)
		goto fail;
	{
		const char **slots[3] = {&env->sender, &env->client, &env->auth};
		for (i = 0; i < 3u + e->nrcpt; i++) {
			size_t wide = (i == 0 || i >= 3) ? 2 : 1, len;
			if (o + wide > e->env_len)
				goto fail;
			len = wide == 2 ? ring_get16(raw + o) : raw[o];
			o += wide;
			if (o + len > e->env_len || memchr(raw + o, 0, len))
				goto fail;
			if (i < 3)
				*slots[i] = strs;
			else
				env->rcpt[i - 3] = strs;
			memcpy(strs, raw + o, len);
			strs[len] = 0;
			strs += len + 1;
			o += len;
		}
	}
	nr_free(raw);
	e->env = env;
	q->envs++;
	return env;
fail:
	nr_free(raw);
	nr_free(env);
	return NULL;
}

const char *nr_queue_sender(struct nr_queue *q, nr_qid_t id)
{
	struct qent *e = live_ent(q, id);
	struct qenv *env = e ? load_env(q, e) : NULL;

	return env ? env->sender : NULL;
}

const char *nr_queue_client(struct nr_queue *q, nr_qid_t id)
{
	struct qent *e = live_ent(q, id);
	struct qenv *env = e ? load_env(q, e) : NULL;

	return env ? env->client : NULL;
}

const char *nr_queue_auth_id(struct nr_queue *q, nr_qid_t id)
{
	struct qent *e = live_ent(q, id);
	struct qenv *env = e ? load_env(q, e) : NULL;

	return env && env->auth[0] ? env->auth : NULL;
}

const char *nr_queue_rcpt(struct nr_queue *q, nr_qid_t id, size_t i, enum nr_rcpt_state *state)
{
	struct qent *e = live_ent(q, id);
	struct qenv *env;

	if (!e || i >= e->nrcpt)
		return NULL;
	env = load_env(q, e);
	if (!env)
		return NULL;
	if (state && nr_queue_rcpt_state(q, e, i, state))
		return NULL;
	return env->rcpt[i];
}

/* ---- inspection ------------------------------------------------------------------- */

int nr_queue_foreach(struct nr_queue *q, int (*fn)(void *arg, const struct nr_qinfo *info),
		     void *arg)
{
	struct nr_qinfo info;
	size_t i;
	int ret;

	for (i = 0; i < q->nents; i++) {
		if (q->ents[i].hidden)
			continue;
		fill_info(&q->ents[i], &info);
		ret = fn(arg, &info);
		if (ret)
			return ret;
	}
	return 0;
}

void nr_queue_stats(struct nr_queue *q, struct nr_qstats *out)
{
	size_t i;
	uint32_t s;

	memset(out, 0, sizeof(*out));
	out->backend = q->bd->name;
	out->persistent = q->bd->persistent;
	out->sector_size = q->bd->sector_size;
	out->sector_count = q->bd->sector_count;
	out->capacity = nr_ring_capacity(q);
	out->used = nr_ring_used(q);
	out->free = out->used < out->capacity ? out->capacity - out->used : 0;
	for (i = 0; i < q->nents; i++) {
		const struct qent *e = &q->ents[i];
		if (e->hidden)
			continue;
		if (e->state == NR_MSG_PENDING) {
			out->messages++;
			if (!out->oldest_arrival || e->arrival < out->oldest_arrival)
				out->oldest_arrival = e->arrival;
		} else {
			out->dead++;
		}
	}
	out->erase_min = UINT32_MAX;
	for (s = 0; s < q->C; s++) {
		out->erase_min = NR_MIN(out->erase_min, q->sec[s].erases);
		out->erase_max = NR_MAX(out->erase_max, q->sec[s].erases);
	}
	out->bytes_programmed = q->bytes_programmed;
	out->erases = q->erases;
	out->syncs = q->syncs;
}

const char *nr_qid_str(nr_qid_t id, char *dst)
{
	static const char hex[] = "0123456789ABCDEF";
	int i;

	for (i = 15; i >= 0; i--) {
		dst[i] = hex[id & 0xF];
		id >>= 4;
	}
	dst[16] = 0;
	return dst;
}
