/*
 * loop.h - one event loop: socket readiness, timers, end-of-turn hooks.
 *
 * One thread, nothing blocks. Every connection registers an nr_io with the
 * sockets it waits on; timers are one-shot deadlines on the monotonic clock.
 * Backpressure is the owner's duty and is made easy: nr_loop_want() changes
 * what an nr_io waits for, so a session stops asking for NR_POLL_IN while its
 * output is full. End-of-turn hooks run once per loop turn after all ready
 * callbacks: the queue uses one to group commits into a single sync.
 *
 * The loop owns no memory of its users: nr_io and nr_timer live inside the
 * session structs that use them. Capacity (max_ios) is fixed at init.
 */
#ifndef NR_CORE_LOOP_H
#define NR_CORE_LOOP_H

#include "core/build.h"
#include "platform.h"

struct nr_loop;

/* events: NR_POLL_IN | NR_POLL_OUT | NR_POLL_ERR | NR_POLL_HUP */
typedef void (*nr_io_fn)(struct nr_loop *loop, void *arg, unsigned events);
typedef void (*nr_timer_fn)(struct nr_loop *loop, void *arg);
typedef void (*nr_hook_fn)(struct nr_loop *loop, void *arg);

struct nr_io {
	nr_sock_t sock;
	unsigned want; /* NR_POLL_IN | NR_POLL_OUT, may be 0 (parked) */
	nr_io_fn fn;
	void *arg;
	int slot; /* index in the loop; -1 when not registered */
};

struct nr_timer {
	uint64_t deadline; /* monotonic ms */
	nr_timer_fn fn;
	void *arg;
	int heap_index; /* -1 when not armed */
};

struct nr_hook {
	nr_hook_fn fn;
	void *arg;
	struct nr_hook *next;
	int queued;
};

/* Create a loop for at most max_ios sockets and max_timers armed timers.
 * NR_ENOMEM. */
int nr_loop_new(struct nr_loop **out, size_t max_ios, size_t max_timers) NR_MUST_CHECK;
void nr_loop_free(struct nr_loop *loop);

/* Register io (sock, want, fn, arg already set; slot -1 or left over from
 * an earlier registration). Registering a registered io does nothing.
 * NR_ENOMEM when full. */
int nr_loop_add(struct nr_loop *loop, struct nr_io *io) NR_MUST_CHECK;
/* Change what io waits for. */
void nr_loop_want(struct nr_loop *loop, struct nr_io *io, unsigned want);
/* Unregister; safe to call from inside io's own callback, and twice. */
void nr_loop_del(struct nr_loop *loop, struct nr_io *io);
/* Fill io in, not yet registered (then nr_loop_add). */
void nr_io_init(struct nr_io *io, nr_sock_t sock, unsigned want, nr_io_fn fn, void *arg);

void nr_timer_init(struct nr_timer *t, nr_timer_fn fn, void *arg);
/* (Re)arm t to fire once, delay_ms from now. NR_ENOMEM when the timer heap
 * is full. */
int nr_timer_arm(struct nr_loop *loop, struct nr_timer *t, uint64_t delay_ms) NR_MUST_CHECK;
/* Arm at an absolute monotonic deadline. */
int nr_timer_arm_at(struct nr_loop *loop, struct nr_timer *t, uint64_t deadline) NR_MUST_CHECK;
void nr_timer_cancel(struct nr_loop *loop, struct nr_timer *t);
static inline int nr_timer_armed(const struct nr_timer *t)
{
	return t->heap_index >= 0;
}

/* Queue hook to run once at the end of the current (or next) turn. Queuing
 * an already queued hook does nothing. */
void nr_loop_at_turn_end(struct nr_loop *loop, struct nr_hook *hook);

/* Take hook off the queue if it is queued (before freeing its owner). */
void nr_loop_hook_cancel(struct nr_loop *loop, struct nr_hook *hook);

/* The loop's cached monotonic time, refreshed each turn. */
uint64_t nr_loop_now(const struct nr_loop *loop);

/* One turn: poll (at most max_wait_ms, -1 = until the next timer), run ready
 * io callbacks, due timers, then turn-end hooks. Returns the number of
 * callbacks run, or a negative NR_E... code from the platform poll. */
int nr_loop_turn(struct nr_loop *loop, int max_wait_ms);

/* Run turns until nr_loop_stop() is called. */
int nr_loop_run(struct nr_loop *loop);
void nr_loop_stop(struct nr_loop *loop);
int nr_loop_stopping(const struct nr_loop *loop);

#endif /* NR_CORE_LOOP_H */
