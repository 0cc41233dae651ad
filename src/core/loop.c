/*
 * loop.c - the event loop (see loop.h).
 *
 * Sockets: a fixed table of slots. Each turn builds the poll set from the
 * registered ios that want something, and remembers which slot (and which
 * registration of that slot, by generation) each entry came from. An io
 * removed by an earlier callback of the same turn is skipped, and so is a
 * new io that reused its slot: it was not polled.
 *
 * Timers: a binary min-heap of pointers ordered by deadline; each timer
 * knows its heap index, so cancel and re-arm are O(log n) without search.
 * The heap's capacity is fixed at nr_loop_new().
 *
 * One turn: poll -> io callbacks -> due timers -> turn-end hooks.
 */
#include "core/loop.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"

struct nr_loop {
	struct nr_io **ios; /* max_ios slots; NULL when free */
	unsigned *gen;      /* per slot: bumped on every add and del */
	size_t max_ios;
	size_t nios;

	struct nr_pollfd *pfds; /* this turn's poll set ... */
	int *pslot;             /* ... the slot of each entry ... */
	unsigned *pgen;         /* ... and that slot's generation */

	struct nr_timer **heap;
	size_t max_timers;
	size_t ntimers;

	struct nr_hook *hooks; /* queued for the next turn end, in order */
	struct nr_hook **hooks_tail;
	struct nr_hook *running; /* the batch being run now */
	struct nr_hook **running_tail;

	uint64_t now;
	int stopping;
};

int nr_loop_new(struct nr_loop **out, size_t max_ios, size_t max_timers)
{
	struct nr_loop *l;
	int ret = NR_ENOMEM;

	*out = NULL;
	l = nr_calloc(1, sizeof(*l));
	if (!l)
		goto out;
	l->max_ios = max_ios;
	l->max_timers = max_timers;
	l->ios = nr_calloc(max_ios ? max_ios : 1, sizeof(*l->ios));
	l->gen = nr_calloc(max_ios ? max_ios : 1, sizeof(*l->gen));
	l->pfds = nr_calloc(max_ios ? max_ios : 1, sizeof(*l->pfds));
	l->pslot = nr_calloc(max_ios ? max_ios : 1, sizeof(*l->pslot));
	l->pgen = nr_calloc(max_ios ? max_ios : 1, sizeof(*l->pgen));
	l->heap = nr_calloc(max_timers ? max_timers : 1, sizeof(*l->heap));
	if (!l->ios || !l->gen || !l->pfds || !l->pslot || !l->pgen || !l->heap)
		goto out;
	l->hooks_tail = &l->hooks;
	l->running_tail = &l->running;
	l->now = nr_plat_now_ms();
	*out = l;
	l = NULL;
	ret = 0;
out:
	nr_loop_free(l);
	return ret;
}

void nr_loop_free(struct nr_loop *loop)
{
	if (!loop)
		return;
	nr_free(loop->ios);
	nr_free(loop->gen);
	nr_free(loop->pfds);
	nr_free(loop->pslot);
	nr_free(loop->pgen);
	nr_free(loop->heap);
	nr_free(loop);
}

/* ---- sockets ---------------------------------------------------------- */

int nr_loop_add(struct nr_loop *loop, struct nr_io *io)
{
	size_t i;

	if (io->slot >= 0 && (size_t)io->slot < loop->max_ios && loop->ios[io->slot] == io)
		return 0; /* already registered */
	if (loop->nios >= loop->max_ios)
		return NR_ENOMEM;
	for (i = 0; i < loop->max_ios; i++) {
		if (!loop->ios[i])
			break;
	}
	loop->ios[i] = io;
	loop->gen[i]++;
	loop->nios++;
	io->slot = (int)i;
	return 0;
}

void nr_loop_want(struct nr_loop *loop, struct nr_io *io, unsigned want)
{
	(void)loop;
	io->want = want & (NR_POLL_IN | NR_POLL_OUT);
}

void nr_loop_del(struct nr_loop *loop, struct nr_io *io)
{
	size_t i;

	if (!io || io->slot < 0 || (size_t)io->slot >= loop->max_ios)
		return;
	i = (size_t)io->slot;
	if (loop->ios[i] != io)
		return;
	loop->ios[i] = NULL;
	loop->gen[i]++;
	loop->nios--;
	io->slot = -1;
}

/* ---- timers: a binary min-heap ------------------------------------------- */

static void heap_set(struct nr_loop *l, size_t i, struct nr_timer *t)
{
	l->heap[i] = t;
	t->heap_index = (int)i;
}

static void heap_up(struct nr_loop *l, size_t i)
{
	struct nr_timer *t = l->heap[i];

	while (i > 0) {
		size_t parent = (i - 1) / 2;
		if (l->heap[parent]->deadline <= t->deadline)
			break;
		heap_set(l, i, l->heap[parent]);
		i = parent;
	}
	heap_set(l, i, t);
}

static void heap_down(struct nr_loop *l, size_t i)
{
	struct nr_timer *t = l->heap[i];

	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= l->ntimers)
			break;
		if (c + 1 < l->ntimers && l->heap[c + 1]->deadline < l->heap[c]->deadline)
			c++;
		if (t->deadline <= l->heap[c]->deadline)
			break;
		heap_set(l, i, l->heap[c]);
		i = c;
	}
	heap_set(l, i, t);
}

static void heap_remove(struct nr_loop *l, struct nr_timer *t)
{
	size_t i = (size_t)t->heap_index;
	struct nr_timer *last = l->heap[--l->ntimers];

	t->heap_index = -1;
	if (last == t)
		return;
	heap_set(l, i, last);
	heap_up(l, i);
	heap_down(l, (size_t)last->heap_index);
}

void nr_io_init(struct nr_io *io, nr_sock_t sock, unsigned want, nr_io_fn fn, void *arg)
{
	io->sock = sock;
	io->want = want;
	io->fn = fn;
	io->arg = arg;
	io->slot = -1;
}

void nr_timer_init(struct nr_timer *t, nr_timer_fn fn, void *arg)
{
	t->deadline = 0;
	t->fn = fn;
	t->arg = arg;
	t->heap_index = -1;
}

int nr_timer_arm_at(struct nr_loop *loop, struct nr_timer *t, uint64_t deadline)
{
	if (nr_timer_armed(t)) {
		/* Re-arm in place: no capacity needed. */
		t->deadline = deadline;
		heap_up(loop, (size_t)t->heap_index);
		heap_down(loop, (size_t)t->heap_index);
		return 0;
	}
	if (loop->ntimers >= loop->max_timers)
		return NR_ENOMEM;
	t->deadline = deadline;
	heap_set(loop, loop->ntimers++, t);
	heap_up(loop, (size_t)t->heap_index);
	return 0;
}

int nr_timer_arm(struct nr_loop *loop, struct nr_timer *t, uint64_t delay_ms)
{
	uint64_t deadline = loop->now + delay_ms;

	if (deadline < loop->now)
		deadline = UINT64_MAX;
	return nr_timer_arm_at(loop, t, deadline);
}

void nr_timer_cancel(struct nr_loop *loop, struct nr_timer *t)
{
	if (!nr_timer_armed(t) || (size_t)t->heap_index >= loop->ntimers ||
	    loop->heap[t->heap_index] != t)
		return;
	heap_remove(loop, t);
}

/* ---- hooks -------------------------------------------------------------- */

void nr_loop_at_turn_end(struct nr_loop *loop, struct nr_hook *hook)
{
	if (hook->queued)
		return;
	hook->queued = 1;
	hook->next = NULL;
	*loop->hooks_tail = hook;
	loop->hooks_tail = &hook->next;
}

/* Unlink hook from the list at *head; 1 when it was there. */
static int hook_unlink(struct nr_hook **head, struct nr_hook ***tail, struct nr_hook *hook)
{
	struct nr_hook **pp;

	for (pp = head; *pp; pp = &(*pp)->next) {
		if (*pp != hook)
			continue;
		*pp = hook->next;
		if (*tail == &hook->next)
			*tail = pp;
		return 1;
	}
	return 0;
}

void nr_loop_hook_cancel(struct nr_loop *loop, struct nr_hook *hook)
{
	if (!hook->queued)
		return;
	/* It is either waiting for a turn end or in the batch now running. */
	if (!hook_unlink(&loop->hooks, &loop->hooks_tail, hook))
		hook_unlink(&loop->running, &loop->running_tail, hook);
	hook->next = NULL;
	hook->queued = 0;
}

/*
 * Run the hooks queued so far; hooks queued meanwhile wait for the next
 * turn. The batch stays reachable from the loop (running) so a hook can
 * cancel another one of the same batch before it runs.
 */
static int run_hooks(struct nr_loop *l)
{
	int ran = 0;

	l->running = l->hooks;
	l->running_tail = l->hooks ? l->hooks_tail : &l->running;
	l->hooks = NULL;
	l->hooks_tail = &l->hooks;
	while (l->running) {
		struct nr_hook *h = l->running;
		l->running = h->next;
		if (!l->running)
			l->running_tail = &l->running;
		h->next = NULL;
		h->queued = 0;
		h->fn(l, h->arg);
		ran++;
	}
	return ran;
}

/* ---- the turn ------------------------------------------------------------ */

uint64_t nr_loop_now(const struct nr_loop *loop)
{
	return loop->now;
}

static size_t build_poll_set(struct nr_loop *l)
{
	size_t i, n = 0;

	for (i = 0; i < l->max_ios; i++) {
		struct nr_io *io = l->ios[i];
		if (!io || !io->want)
			continue; /* parked ios are not polled at all */
		l->pfds[n].sock = io->sock;
		l->pfds[n].want = (uint8_t)io->want;
		l->pfds[n].ready = 0;
		l->pslot[n] = (int)i;
		l->pgen[n] = l->gen[i];
		n++;
	}
	return n;
}

/* How long poll may sleep: until the next timer, at most max_wait_ms. */
static int poll_timeout(const struct nr_loop *l, int max_wait_ms)
{
	uint64_t wait;

	if (l->hooks)
		return 0; /* queued hooks should run without waiting */
	if (!l->ntimers)
		return max_wait_ms;
	wait = l->heap[0]->deadline > l->now ? l->heap[0]->deadline - l->now : 0;
	if (max_wait_ms >= 0 && wait > (uint64_t)max_wait_ms)
		wait = (uint64_t)max_wait_ms;
	return wait > INT_MAX ? INT_MAX : (int)wait;
}

static int dispatch_io(struct nr_loop *l, size_t n)
{
	size_t k;
	int ran = 0;

	for (k = 0; k < n; k++) {
		size_t slot = (size_t)l->pslot[k];
		struct nr_io *io = l->ios[slot];
		unsigned ev = l->pfds[k].ready;

		if (!ev || !io || l->gen[slot] != l->pgen[k])
			continue; /* removed (or replaced) by an earlier callback */
		/* Report only what is still wanted, plus errors. */
		ev &= io->want | NR_POLL_ERR | NR_POLL_HUP;
		if (!ev)
			continue;
		io->fn(l, io->arg, ev);
		ran++;
	}
	return ran;
}

/*
 * Timers due now. A timer re-armed from a callback for "now" waits for the
 * next turn: at most the timers armed at the start run, so a callback that
 * re-arms itself with delay 0 cannot starve the sockets.
 */
static int run_timers(struct nr_loop *l)
{
	size_t budget = l->ntimers;
	int ran = 0;

	while (budget-- > 0 && l->ntimers && l->heap[0]->deadline <= l->now) {
		struct nr_timer *t = l->heap[0];
		heap_remove(l, t);
		t->fn(l, t->arg);
		ran++;
	}
	return ran;
}

int nr_loop_turn(struct nr_loop *loop, int max_wait_ms)
{
	size_t n;
	int rc, ran;

	loop->now = nr_plat_now_ms();
	n = build_poll_set(loop);
	rc = nr_plat_poll(loop->pfds, n, poll_timeout(loop, max_wait_ms));
	loop->now = nr_plat_now_ms();
	if (rc < 0)
		return rc;
	ran = rc > 0 ? dispatch_io(loop, n) : 0;
	ran += run_timers(loop);
	ran += run_hooks(loop);
	return ran;
}

int nr_loop_run(struct nr_loop *loop)
{
	int rc;

	while (!loop->stopping) {
		rc = nr_loop_turn(loop, -1);
		if (rc < 0)
			return rc;
	}
	return 0;
}

void nr_loop_stop(struct nr_loop *loop)
{
	loop->stopping = 1;
}

int nr_loop_stopping(const struct nr_loop *loop)
{
	return loop->stopping;
}
