/*
 * platform.h - the contract between the nanorelay core and an OS: what EVERY
 * target provides.
 *
 * The core library (nrcore: sessions, queue, store, delivery, TLS, DNS,
 * config) calls the operating system only through these functions. A shim
 * implements them once per platform: platform/linux (glibc, also used for
 * BusyBox builds), platform/rtos (FreeRTOS + lwIP sockets + flash HAL), and
 * tests/sim (scripted sockets, settable clock, NOR flash emulator) for unit
 * tests. What only a POSIX system has (local sockets, users, signals,
 * privileges, file modes, detach, syslog) is in posix.h, which only the
 * front ends (nrfront: the daemon, the command line, `sendmail`, the
 * control and submit sockets) include.
 *
 * Rules every call follows:
 *  - Nothing here blocks, except nr_plat_poll() up to its timeout and the
 *    storage calls (which are bounded in size by their callers).
 *  - Return values: 0 success, a negative NR_E... code on failure, or a
 *    positive count where documented. Foreign codes (errno, lwIP err_t) are
 *    translated inside the shim; the shim logs the original where useful.
 *  - Sockets are plain small integers (POSIX fds; lwIP socket numbers).
 *
 * lwIP mapping (for platform/rtos; LWIP_SOCKET=1, LWIP_COMPAT_SOCKETS=0):
 *  listen      lwip_socket + lwip_setsockopt(SO_REUSEADDR) + lwip_bind +
 *              lwip_listen, then lwip_fcntl(F_SETFL, O_NONBLOCK)
 *  accept      lwip_accept (non-blocking socket: EWOULDBLOCK -> NR_EAGAIN)
 *  connect     lwip_connect on a non-blocking socket (EINPROGRESS -> 0);
 *              completion via lwip_getsockopt(SO_ERROR) when writable
 *  read/write  lwip_recv / lwip_send with MSG_DONTWAIT
 *  close       lwip_close
 *  addresses   lwip_getpeername / lwip_getsockname
 *  poll        lwip_poll (or lwip_select when LWIP_SOCKET_POLL is off)
 *  wake        a socket or semaphore that poll also waits on
 *  clocks      sys_now() for monotonic ms; an SNTP-set RTC for wall time
 *  entropy     the HAL's TRNG; no TRNG means NR_EIO, never weak bytes
 *  storage     the flash HAL's read/program/erase callbacks (nr_plat_storage)
 *  files       the board's named blobs, or NR_ENOTSUP
 *  log         the RTOS console or a ring buffer
 */
#ifndef NR_PLATFORM_H
#define NR_PLATFORM_H

#include <stddef.h>
#include <stdint.h>

/* ---- error codes shared by core and shims -------------------------------- */
enum nr_err {
	NR_OK = 0,
	NR_EAGAIN = -1,     /* would block; try again when ready */
	NR_EIO = -2,        /* I/O error (storage, socket); not retried blindly */
	NR_ENOMEM = -3,     /* out of memory or out of pool slots */
	NR_EINVAL = -4,     /* bad argument or malformed input */
	NR_EFULL = -5,      /* queue / buffer full (SMTP: 452 4.3.1) */
	NR_ETOOBIG = -6,    /* larger than a configured limit (552 5.3.4) */
	NR_ECLOSED = -7,    /* peer closed the connection (EOF) */
	NR_ERESET = -8,     /* connection reset / broken pipe */
	NR_ETIMEDOUT = -9,  /* a deadline passed */
	NR_ENOTFOUND = -10, /* no such name, file, id */
	NR_ECONNREFUSED = -11,
	NR_EADDRINUSE = -12,
	NR_EPERM = -13,         /* permission denied */
	NR_ECORRUPT = -14,      /* stored data fails its checks */
	NR_ENOSPC = -15,        /* device out of space */
	NR_EPROTO = -16,        /* protocol violation by the peer */
	NR_ETLS = -17,          /* TLS handshake or record failure */
	NR_EDNS = -18,          /* resolver failure other than not-found */
	NR_EBUSY = -19,         /* resource in use */
	NR_ESTATE = -20,        /* call not valid in this state */
	NR_EAUTH = -21,         /* authentication failed */
	NR_ENOTSUP = -22,       /* not supported on this platform/build */
	NR_ECERT = -23,         /* certificate verification failed */
	NR_ECLOCK = -24,        /* no valid wall clock (TLS cannot verify) */
	NR_EUNREACH = -25,      /* network/host unreachable */
	NR_EROFS = -26,         /* read-only file system */
	NR_EADDRNOTAVAIL = -27, /* a listen address that is not on this machine */
};

/* A short constant English text for an NR_E... code ("unknown error" else). */
const char *nr_strerror(int err);

/* ---- addresses ------------------------------------------------------------ */
enum { NR_AF_NONE = 0, NR_AF_INET4 = 4, NR_AF_INET6 = 6, NR_AF_LOCAL = 1 };

struct nr_addr {
	uint8_t family;    /* NR_AF_INET4 | NR_AF_INET6 | NR_AF_LOCAL */
	uint16_t port;     /* host byte order */
	uint8_t ip[16];    /* v4 in ip[0..3]; v6 in network byte order */
	uint32_t scope_id; /* v6 link-local scope; 0 otherwise */
};

/* ---- sockets ---------------------------------------------------------------- */
typedef int nr_sock_t;
#define NR_SOCK_INVALID (-1)

/* Open a non-blocking TCP listener on addr (v6 listeners are v6-only).
 * NR_EADDRINUSE, NR_EPERM (privileged port), NR_EADDRNOTAVAIL (not an
 * address of this machine), NR_EINVAL. */
int nr_plat_tcp_listen(const struct nr_addr *addr, int backlog, nr_sock_t *out);
/* 0 when addr (any port) could be bound here, NR_EADDRNOTAVAIL when it is
 * not an address of this machine; other errors as nr_plat_tcp_listen.
 * Binds nothing that stays. */
int nr_plat_addr_is_local(const struct nr_addr *addr);

/* Accept one pending connection as a non-blocking socket. NR_EAGAIN when
 * none is pending. peer may be NULL. IPv4-mapped v6 peers are reported as
 * NR_AF_INET4. */
int nr_plat_tcp_accept(nr_sock_t listener, nr_sock_t *out, struct nr_addr *peer);

/* Start a non-blocking connect. Returns 0 with *out set when started (or
 * already connected); the caller waits for NR_POLL_OUT then calls
 * nr_plat_tcp_connect_result(). */
int nr_plat_tcp_connect(const struct nr_addr *addr, nr_sock_t *out);

/* Outcome of a finished connect: 0, NR_ECONNREFUSED, NR_ETIMEDOUT,
 * NR_EUNREACH, NR_EIO. */
int nr_plat_tcp_connect_result(nr_sock_t s);

/* Read up to len bytes: >0 bytes read, NR_ECLOSED at EOF, NR_EAGAIN,
 * NR_ERESET, NR_EIO. Never returns 0 for len > 0. */
long nr_plat_sock_read(nr_sock_t s, void *buf, size_t len);

/* Write up to len bytes: >0 bytes written, NR_EAGAIN, NR_ERESET, NR_EIO.
 * Never raises SIGPIPE. */
long nr_plat_sock_write(nr_sock_t s, const void *buf, size_t len);

/* Close; NR_SOCK_INVALID is ignored. */
void nr_plat_sock_close(nr_sock_t s);

int nr_plat_sock_peer_addr(nr_sock_t s, struct nr_addr *out);
int nr_plat_sock_local_addr(nr_sock_t s, struct nr_addr *out);

/* ---- UDP, and a socket opened before it connects ----------------------------- */
/*
 * For a resolver library that opens its own sockets (c-ares, through
 * ares_set_socket_functions): it asks for a socket of a family first and
 * connects it afterwards. Every socket is non-blocking; none of these
 * calls blocks. Close them with nr_plat_sock_close(). lwIP: lwip_socket
 * (SOCK_DGRAM / SOCK_STREAM) + O_NONBLOCK, lwip_connect, lwip_send,
 * lwip_recvfrom with MSG_DONTWAIT.
 */

/* A non-blocking UDP socket of family (NR_AF_INET4 or NR_AF_INET6), not yet
 * bound or connected. NR_EINVAL (family), NR_ENOMEM (no socket left),
 * NR_ENOTSUP (no IPv6 here), NR_EIO. */
int nr_plat_udp_open(uint8_t family, nr_sock_t *out);

/* A non-blocking TCP socket of family, not yet connected (TCP_NODELAY as
 * for nr_plat_tcp_connect). Errors as nr_plat_udp_open. */
int nr_plat_tcp_open(uint8_t family, nr_sock_t *out);

/* Connect a socket from nr_plat_udp_open or nr_plat_tcp_open to addr, an
 * address of the family the socket was opened for. UDP: the peer is fixed
 * at once (sends go there; datagrams from others are dropped by the
 * stack). TCP: 0 when the connect started (or is done); wait for
 * NR_POLL_OUT, then nr_plat_tcp_connect_result(), then
 * nr_plat_sock_read/write. NR_EINVAL (not an IP address), NR_EUNREACH,
 * NR_ECONNREFUSED, NR_EIO. */
int nr_plat_sock_connect(nr_sock_t s, const struct nr_addr *addr);

/* Send one datagram of len bytes to the connected peer: len when sent
 * whole (never part of it), NR_EAGAIN (no buffer now), NR_ECONNREFUSED (an
 * earlier datagram drew an ICMP port unreachable), NR_EUNREACH,
 * NR_ETOOBIG (larger than a datagram may be), NR_EIO. */
long nr_plat_udp_send(nr_sock_t s, const void *buf, size_t len);

/* Take one datagram: its length (0 for an empty datagram; at most len, the
 * rest of a longer one is dropped), NR_EAGAIN when none is waiting,
 * NR_ECONNREFUSED (ICMP port unreachable for an earlier send), NR_EIO.
 * from (may be NULL) receives the sender's address and port, IPv4-mapped
 * v6 reported as NR_AF_INET4. */
long nr_plat_udp_recv(nr_sock_t s, void *buf, size_t len, struct nr_addr *from);

/* ---- the platform's own resolver ------------------------------------------------- */
/*
 * A network stack with a DNS client of its own (lwIP's dns.c) resolves
 * smarthost names here where c-ares cannot be built (newlib has no POSIX
 * socket headers). src/dns/dns_platform.c (CONFIG_NR_DNS_PLATFORM) is the
 * only caller. A and AAAA records only: no MX, no DNSSEC. A platform
 * without one (Linux, which uses c-ares) answers NR_ENOTSUP.
 * lwIP: dns_gethostbyname_addrtype() run in the tcpip thread
 * (tcpip_try_callback), its answer handed to the polling task.
 */

/* The outcome of one lookup: err 0 with n >= 1 addresses (port 0, valid
 * during the call only), else NR_ENOTFOUND, NR_ETIMEDOUT, NR_EDNS (a
 * failure the platform cannot tell apart from others), NR_ENOMEM, with n 0. */
typedef void (*nr_plat_resolve_fn)(void *arg, int err, const struct nr_addr *addrs, size_t n);

/* Start resolving name (a host name, not a literal; at most 253
 * characters) to addresses of family: NR_AF_INET4 (A records) or
 * NR_AF_INET6 (AAAA). Returns 0 when started; done(arg, ...) then runs
 * exactly once unless cancelled, from inside a later nr_plat_poll() on the
 * task that polls (never from inside this call, never on another task),
 * and that poll returns early for it. NR_ENOMEM (no lookup slot free),
 * NR_EINVAL (name, family), NR_ENOTSUP (no resolver here). Never blocks. */
int nr_plat_resolve_start(const char *name, uint8_t family, nr_plat_resolve_fn done, void *arg);

/* Forget every lookup started with arg: no done(arg, ...) follows. Never
 * blocks. */
void nr_plat_resolve_cancel(void *arg);

/* Send the lookups that follow to server (port 0 or 53) instead of the
 * platform's own servers (DHCP's, the board's). NR_ENOTSUP (another port,
 * or no resolver here), NR_EINVAL, NR_ENOMEM. */
int nr_plat_resolve_server(const struct nr_addr *server);

/* ---- readiness ---------------------------------------------------------------- */
enum { NR_POLL_IN = 1, NR_POLL_OUT = 2, NR_POLL_ERR = 4, NR_POLL_HUP = 8 };

struct nr_pollfd {
	nr_sock_t sock;
	uint8_t want;  /* NR_POLL_IN | NR_POLL_OUT */
	uint8_t ready; /* set by nr_plat_poll: any of NR_POLL_* */
};

/* Wait until a socket is ready or timeout_ms passes (-1: forever, 0: check).
 * Returns the number of ready entries, 0 on timeout, after nr_plat_wake()
 * or when a signal arrived (see nr_plat_signals_take in posix.h), negative
 * on error. */
int nr_plat_poll(struct nr_pollfd *fds, size_t n, int timeout_ms);

/* Make a blocked nr_plat_poll return 0 promptly; called before a poll, that
 * poll returns 0 at once. Callable from another thread or task and from a
 * signal handler (async-signal-safe; never blocks, never allocates). Several
 * calls before the poll returns count as one. (Linux: the self-pipe the
 * signal handlers write to.) */
void nr_plat_wake(void);

/* ---- clocks and entropy ----------------------------------------------------------- */
/* Monotonic milliseconds since an arbitrary origin; never goes back. */
uint64_t nr_plat_now_ms(void);

/* Wall clock in seconds since 1970-01-01 UTC. A platform that knows the
 * clock has not been set (RTOS before SNTP) returns NR_ECLOCK. */
int nr_plat_wall_time(int64_t *out);

/* Fill buf with len cryptographically strong random bytes, or fail with
 * NR_EIO. Never returns weak bytes. */
int nr_plat_entropy(void *buf, size_t len);

/* ---- raw storage ------------------------------------------------------------- */
/*
 * A persistent device as the OS gives it: bytes read and written in place.
 * The shim only moves bytes; src/store/ makes a block device of it (struct
 * nr_bdev, store/bdev.h: NOR rules, sectors, the write combiner, "a failed
 * sync is final"), the same for every platform.
 *
 * This struct is also the board's flash HAL (nr_plat_bdev_flash_open, or
 * handed to the relay by the firmware): geometry plus four callbacks, on a
 * region of NOR flash that is the queue's alone. What src/store does with
 * a flash, and all a board driver must do:
 *  - erase_size: the erase block, a power of two >= 512; size a multiple of
 *    it, at least NR_PLAT_MTD_MIN_BLOCKS blocks, at most 4 GiB.
 *  - write_size: the write unit, a power of two from 1 to 64 that divides
 *    erase_size (0 means 1). write() gets whole aligned units only.
 *  - write() programs: it may only turn bits from 1 to 0. src/store never
 *    asks for more: it writes erased units, or a unit again with the bits
 *    it holds plus more cleared (a recipient's "delivered" mark), which NOR
 *    flash allows; flash with ECC per write unit, which forbids a second
 *    program, is not supported.
 *  - erase() takes whole erase blocks and leaves them reading 0xFF.
 *  - sync() returns once every write and erase before it is durable (a
 *    driver that programs synchronously has nothing to do; one with a
 *    write cache or a flash controller queue flushes it).
 *  - read() reads back what was programmed; erased bytes read 0xFF.
 *  - Any failure is an error code: a failed write or erase fails the
 *    commit it belonged to and stops every later write until the device
 *    is opened again (src/store: a restart recovers from what is durable,
 *    so nothing partial is ever surfaced). Callbacks may block for the
 *    time a program or erase takes; they are called from the relay's task.
 */
struct nr_plat_storage {
	void *ctx;     /* the shim's own state */
	uint64_t size; /* bytes */
	/* A flash's erase block and write unit (bytes); 0 for a file, whose
	 * sector size is src/store's policy. */
	uint32_t erase_size, write_size;
	/* 1 when the bytes live in RAM (a file on tmpfs or ramfs, as /var and
	 * /tmp on OpenWrt): they do not survive a power cut. */
	int in_ram;
	/* Read len bytes at off; bytes never written read 0xFF. NR_EIO. */
	int (*read)(void *ctx, uint64_t off, void *buf, uint32_t len);
	/* Write len bytes at off (durable after sync). NR_ENOSPC, NR_EIO. */
	int (*write)(void *ctx, uint64_t off, const void *buf, uint32_t len);
	/* Make [off, off + len) read 0xFF (a file writes 0xFF; a flash erases
	 * the blocks; off and len are multiples of the caller's sector). */
	int (*erase)(void *ctx, uint64_t off, uint64_t len);
	/* Make every write and erase before it durable. NR_EIO. */
	int (*sync)(void *ctx);
	void (*close)(void *ctx);
};

/* A file of size bytes: created (mode 0600), preallocated and filled with
 * 0xFF, durably, when missing or empty; an existing file of another size
 * is NR_EINVAL (a queue is never reinterpreted). Sets in_ram for a file on
 * a RAM file system. NR_ENOTFOUND (no such
 * directory), NR_EPERM, NR_EROFS, NR_ENOSPC, NR_ENOMEM, NR_EIO; NR_ENOTSUP without a
 * file system. The RAM backend is portable and lives in src/store/. */
int nr_plat_bdev_file_open(const char *path, uint64_t size, struct nr_plat_storage *out);

/* A raw NOR flash partition: on Linux an MTD device, path "/dev/mtdN" or a
 * partition name from /proc/mtd. size 0: the whole partition, else a
 * multiple of its erase block. Sets erase_size and write_size; erase takes
 * whole erase blocks, write any bytes (the shim fills write units). On
 * failure why (why_size bytes, may be NULL) says what is wrong for the
 * log: NR_ENOTFOUND (no such name or device), NR_ENOTSUP (NAND, UBI,
 * another type; no MTD on this platform), NR_EPERM (read-only), NR_EBUSY
 * (another process holds it), NR_EINVAL (not MTD, size, fewer than
 * NR_PLAT_MTD_MIN_BLOCKS erase blocks), NR_ENOMEM. */
#define NR_PLAT_MTD_MIN_BLOCKS 5 /* the smallest ring the queue runs (FORMAT.md) */
int nr_plat_bdev_mtd_open(const char *path, uint64_t size, struct nr_plat_storage *out, char *why,
			  size_t why_size);

/* The board's flash region for the queue (`queue flash`): the flash HAL
 * above, as the board registered it with the RTOS shim. size 0: the whole
 * region; else the shim gives at least size bytes (src/store uses the
 * first size bytes; a shim that creates its device, such as the host
 * board's file, makes it that large). NR_ENOTSUP where there is no flash
 * HAL (Linux: use mtd), NR_ENOTFOUND when the board registered none,
 * NR_EINVAL (smaller than size), NR_EIO, NR_ENOMEM. */
int nr_plat_bdev_flash_open(uint64_t size, struct nr_plat_storage *out);

/* ---- files (configuration, secrets, state_dir) ------------------------------------- */
/* A named file; on an RTOS, the board's named blobs or NR_ENOTSUP (the relay
 * reads its CA, secret and token files through these two calls). */
/* Read a whole small file into a malloc'ed, NUL-terminated buffer.
 * NR_ENOTFOUND, NR_EPERM, NR_ETOOBIG (over max), NR_EIO. */
int nr_plat_file_read(const char *path, size_t max, char **out, size_t *len);

/* Atomically replace path with data (write temp, sync, rename) using mode
 * (e.g. 0600). The temporary file has a random name and is created
 * exclusively: an existing file or symlink under that name is never
 * opened (NR_EPERM). */
int nr_plat_file_write(const char *path, const void *data, size_t len, unsigned mode);

/* ---- log sink -------------------------------------------------------------------- */
enum nr_log_level { NR_LOG_ERR = 3, NR_LOG_WARN = 4, NR_LOG_INFO = 6, NR_LOG_DEBUG = 7 };
/* The `log` key's choice; a front end applies it with nr_plat_log_open
 * (posix.h). Without it, lines go to the platform's one line sink (Linux:
 * standard error; an RTOS: its console or ring). */
enum nr_log_sink { NR_LOG_SINK_STDERR = 0, NR_LOG_SINK_SYSLOG = 1 };

/* Emit one already-formatted line (no trailing newline). */
void nr_plat_log_write(enum nr_log_level level, const char *line);
/* Gather lines instead of writing each one at once (the daemon turns it
 * on: one write per loop turn instead of one per line). A stderr sink then
 * writes what it holds at nr_plat_log_flush(), when its buffer is full,
 * and at once after an error line; syslog is unaffected. Off flushes. */
void nr_plat_log_gather(int on);
void nr_plat_log_flush(void);

/* A broken invariant of ours (NR_ASSERT in core/panic.h): log "what" with
 * file and line at NR_LOG_ERR, flush the log, then stop the program (Linux:
 * abort(); an RTOS: halt or reset). Never returns; called in every build. */
_Noreturn void nr_plat_panic(const char *file, int line, const char *what);

#endif /* NR_PLATFORM_H */
