/*
 * sim.h - the simulator: a second implementation of platform/platform.h and
 * platform/posix.h (the front ends' calls) for deterministic unit tests, plus
 * the knobs a test turns.
 *
 * Link a unit test with PLATFORM sim (the default of nr_unit_test) and the
 * core runs against:
 *
 *  - a virtual clock: nr_plat_now_ms() returns sim time; nr_plat_poll()
 *    with nothing ready jumps the clock forward to its timeout (or to the
 *    next scripted arrival, whichever is first), so timer tests are instant
 *    and exact. A poll that would wait forever with nothing scripted is a
 *    test bug: it returns NR_EIO and says so on stderr.
 *    nr_plat_wake() makes the next poll return 0 at once.
 *  - scripted sockets: a test queues incoming connections on listeners and
 *    scripts what each peer sends (in chunks: one read never crosses a
 *    chunk, so short reads are explicit), when, and how it ends (EOF,
 *    reset). It limits what the peer accepts per write call and in total
 *    (short writes, EAGAIN, a peer that never reads) and reads back every
 *    byte the core wrote.
 *  - seeded entropy with a failure switch, captured log lines, settable
 *    signals, wall clock and file "exposed" answer.
 *  - files through ISO C stdio; nr_plat_mkdir_p and nr_plat_mkdir_parents do
 *    nothing and succeed.
 *  - local sockets, UDP: NR_ENOTSUP.
 *  - the platform resolver (nr_plat_resolve_start): scripted answers,
 *    delivered from inside nr_plat_poll() at their time.
 *
 * Storage devices come from sim_flash.c (nr_sim_flash_new, also as a flash
 * HAL: nr_sim_flash_hal); its raw openers (nr_plat_bdev_file_open,
 * _mtd_open, _flash_open) answer NR_ENOTSUP.
 *
 * Everything is single-threaded and owned by the simulator: sim_reset()
 * frees all of it (call it at the start of every test). Peers stay readable
 * after the core closed its socket, until the next sim_reset().
 */
#ifndef NR_SIM_H
#define NR_SIM_H

#include <stddef.h>
#include <stdint.h>

#include "posix.h"

/* Forget every socket, peer, log line and signal; the clock goes back to
 * SIM_T0_MS, wall time to SIM_WALL0, entropy to seed 1. */
void sim_reset(void);

/* ---- clock ---------------------------------------------------------------- */
#define SIM_T0_MS 1000000u
#define SIM_WALL0 1700000000 /* 2023-11-14 */

uint64_t sim_now(void);
void sim_advance(uint64_t ms);
/* Wall clock seconds; unset makes nr_plat_wall_time() return NR_ECLOCK. */
void sim_set_wall(int64_t seconds);
void sim_set_wall_unset(int unset);

/* ---- entropy ---------------------------------------------------------------- */
void sim_entropy_seed(uint64_t seed);
/* While on, nr_plat_entropy() fails with NR_EIO. */
void sim_entropy_fail(int on);

/* ---- log capture ------------------------------------------------------------ */
/* Lines written through nr_plat_log_write, oldest first (the first 4096). */
size_t sim_log_count(void);
const char *sim_log_line(size_t i);
enum nr_log_level sim_log_level(size_t i);
/* Index of the first line containing needle, or -1. */
long sim_log_find(const char *needle);
void sim_log_clear(void);
/* Also print lines to stderr (or set NR_SIM_LOG=1 in the environment). */
void sim_log_echo(int on);

/* ---- panic ------------------------------------------------------------------ */
/* nr_plat_panic() logs its line, then calls fn, which must not return (a
 * test longjmps out of it to show that an NR_ASSERT fired). NULL, the
 * default, aborts as the real shims do. */
typedef void (*sim_panic_fn)(const char *file, int line, const char *what);
void sim_set_panic_hook(sim_panic_fn fn);

/* ---- process ---------------------------------------------------------------- */
/* Deliver NR_SIG_* bits: nr_plat_poll returns 0 at once, and
 * nr_plat_signals_take() reports them. */
void sim_raise(unsigned sig_bits);
/* The answer of nr_plat_file_is_exposed() (default 0). */
void sim_set_file_exposed(int answer);
/* Result of nr_plat_drop_privileges (default 0) and the last user asked. */
void sim_set_drop_privileges_result(int result);
const char *sim_dropped_to(void);

/* ---- addresses ---------------------------------------------------------------- */
/* Parse "1.2.3.4:25", "[::1]:465", "[fd00::5]:0" (port optional). Aborts
 * the test on a malformed literal (a bug in the test). */
struct nr_addr sim_addr(const char *text);
/* Format as "1.2.3.4:25" or "[::1]:465" into a static buffer. */
const char *sim_addr_str(const struct nr_addr *a);

/* ---- the platform resolver ------------------------------------------------------ */
#define NR_DNS_SIM_NAME_MAX 63
#define SIM_RESOLVE_NEVER UINT64_MAX
/* A lookup of name for family (NR_AF_INET4/6) ends delay_ms after it
 * started (SIM_RESOLVE_NEVER: never, a silent server) with err and, when
 * err is 0, the one address addr_text ("192.0.2.1", "[2001:db8::1]").
 * An unscripted lookup ends at once with NR_ENOTFOUND. */
void sim_resolve_script(const char *name, uint8_t family, int err, const char *addr_text,
			uint64_t delay_ms);
/* The next nr_plat_resolve_start() fails with err (once). */
void sim_resolve_fail_next(int err);
/* Lookups started, cancelled (one per lookup), and still pending. */
size_t sim_resolve_started(void);
size_t sim_resolve_cancelled(void);
size_t sim_resolve_pending(void);
/* The last server given to nr_plat_resolve_server() (family 0: none). */
const struct nr_addr *sim_resolve_server_set(void);

/* ---- sockets ------------------------------------------------------------------ */
/* The test's end of one connection. */
struct sim_peer;

/* Operations whose next call can be made to fail. */
enum sim_op { SIM_OP_LISTEN, SIM_OP_ACCEPT, SIM_OP_CONNECT, SIM_OP_POLL, SIM_OP__COUNT };
/* The next call of op returns err (once). */
void sim_fail_next(enum sim_op op, int err);

/* The listener bound to exactly this address text ("0.0.0.0:25"), or
 * NR_SOCK_INVALID. Listeners bound to port 0 get ports from 40000 up. */
nr_sock_t sim_listener(const char *addr_text);
/* Queue an incoming connection from peer_addr on a listener; the core gets
 * it from nr_plat_tcp_accept(). NULL when the socket is not a listener. */
struct sim_peer *sim_incoming(nr_sock_t listener, const char *peer_addr);

/* Outgoing connections: nr_plat_tcp_connect() to addr_text succeeds at
 * once unless a rule says otherwise; result is what
 * nr_plat_tcp_connect_result() reports (0, NR_ECONNREFUSED, ...). */
void sim_connect_rule(const char *addr_text, int result);
/* The peer of the most recent accept or connect by the core, or NULL. */
struct sim_peer *sim_peer_last(void);
/* The peer of the core's socket s, or NULL. */
struct sim_peer *sim_peer_of(nr_sock_t s);
/* The core's socket for this peer (NR_SOCK_INVALID before accept). */
nr_sock_t sim_peer_sock(const struct sim_peer *p);

/* Inbound script: items become readable in order, each at or after its
 * arrival time. sim_peer_at() sets the arrival time (absolute sim ms) of
 * the items scripted after it; the default is "already there". */
void sim_peer_at(struct sim_peer *p, uint64_t at_ms);
/* One chunk: a single read returns at most this chunk. */
void sim_peer_send(struct sim_peer *p, const void *data, size_t len);
void sim_peer_send_str(struct sim_peer *p, const char *s);
/* data cut into chunks of at most chunk bytes (1: byte at a time). */
void sim_peer_send_chunked(struct sim_peer *p, const void *data, size_t len, size_t chunk);
/* One read returns NR_EAGAIN here (spurious readiness). */
void sim_peer_eagain(struct sim_peer *p);
/* After the items before it: reads return NR_ECLOSED (EOF) ... */
void sim_peer_close(struct sim_peer *p);
/* ... or NR_ERESET, and writes fail with NR_ERESET too. */
void sim_peer_reset(struct sim_peer *p);
/* Bytes scripted but not yet read by the core. */
size_t sim_peer_unread(const struct sim_peer *p);
/* Number of nr_plat_sock_read calls on this peer's socket. */
size_t sim_peer_read_calls(const struct sim_peer *p);
/* Number of nr_plat_sock_write calls on it. */
size_t sim_peer_write_calls(const struct sim_peer *p);

/* Outbound side. Each write call takes at most max_per_call bytes
 * (0: unlimited, the default). */
void sim_peer_write_limit(struct sim_peer *p, size_t max_per_call);
/* The peer accepts window more bytes in total, then writes get NR_EAGAIN
 * and the socket is not writable (SIZE_MAX: unlimited, the default). */
void sim_peer_write_window(struct sim_peer *p, size_t window);
/* The next n write calls return NR_EAGAIN (the socket still polls as
 * writable: a spurious wake-up). */
void sim_peer_write_eagain(struct sim_peer *p, unsigned n);
/* Everything the core wrote, NUL-terminated for convenience (len excludes
 * the NUL). */
const uint8_t *sim_peer_output(const struct sim_peer *p, size_t *len);
const char *sim_peer_output_str(const struct sim_peer *p);
/* Forget what was written so far (the next output starts empty). */
void sim_peer_output_clear(struct sim_peer *p);
/* 1 once the core closed its socket. */
int sim_peer_closed_by_core(const struct sim_peer *p);

/* Sockets the core has open (listeners included): for leak checks. */
size_t sim_open_sockets(void);

#endif /* NR_SIM_H */
