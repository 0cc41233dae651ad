/*
 * sim_net.c - scripted sockets and a poll on virtual time (see sim.h).
 *
 * Socket numbers start at SOCK_BASE and are never reused before
 * sim_reset(), so a core that touches a closed socket is caught (NR_EIO)
 * instead of silently reaching someone else's connection.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim_internal.h"

#define SOCK_BASE 100
#define MAX_SOCKS 4096
#define MAX_RULES 32
#define EPHEMERAL_BASE 40000

enum item_type { ITEM_DATA, ITEM_EAGAIN, ITEM_EOF, ITEM_RESET };

struct item {
	struct item *next;
	enum item_type type;
	uint64_t at;
	size_t len, off;
	uint8_t data[];
};

struct sim_peer {
	struct sim_peer *next_all;     /* every peer, for sim_reset */
	struct sim_peer *next_pending; /* a listener's accept queue */
	nr_sock_t sock;
	struct nr_addr addr; /* the peer's own address */

	struct item *head, *tail; /* inbound script */
	uint64_t script_at;
	size_t read_calls;
	size_t write_calls;
	int reset; /* a reset was reached: all I/O fails */

	size_t max_per_call;
	size_t window;
	unsigned eagain_writes;
	uint8_t *out;
	size_t out_len, out_cap;
	int closed_by_core;
};

enum sock_kind { SOCK_LISTENER, SOCK_STREAM };

struct sim_sock {
	enum sock_kind kind;
	int open;
	struct nr_addr local, remote;
	int connect_result;
	struct sim_peer *peer;                    /* stream */
	struct sim_peer *pending, **pending_tail; /* listener */
};

static struct sim_sock *socks[MAX_SOCKS];
static size_t nsocks;
static struct sim_peer *peers;
static struct sim_peer *last_peer;
static uint16_t next_port = EPHEMERAL_BASE;
static int fail_next[SIM_OP__COUNT];
static struct {
	struct nr_addr addr;
	int result;
} rules[MAX_RULES];
static size_t nrules;

static void free_items(struct sim_peer *p)
{
	while (p->head) {
		struct item *it = p->head;
		p->head = it->next;
		free(it);
	}
	p->tail = NULL;
}

void sim_net_reset(void)
{
	size_t i;

	for (i = 0; i < nsocks; i++)
		free(socks[i]);
	nsocks = 0;
	while (peers) {
		struct sim_peer *p = peers;
		peers = p->next_all;
		free_items(p);
		free(p->out);
		free(p);
	}
	last_peer = NULL;
	next_port = EPHEMERAL_BASE;
	memset(fail_next, 0, sizeof(fail_next));
	nrules = 0;
}

static int addr_eq(const struct nr_addr *a, const struct nr_addr *b)
{
	size_t n = a->family == NR_AF_INET4 ? 4 : 16;

	return a->family == b->family && a->port == b->port && memcmp(a->ip, b->ip, n) == 0;
}

static struct sim_sock *sock_get(nr_sock_t s)
{
	if (s < SOCK_BASE || (size_t)(s - SOCK_BASE) >= nsocks)
		return NULL;
	return socks[s - SOCK_BASE];
}

static struct sim_sock *sock_open(nr_sock_t s)
{
	struct sim_sock *k = sock_get(s);

	return k && k->open ? k : NULL;
}

static int sock_new(enum sock_kind kind, nr_sock_t *out)
{
	struct sim_sock *k;

	if (nsocks >= MAX_SOCKS)
		return NR_ENOMEM;
	k = calloc(1, sizeof(*k));
	if (!k)
		return NR_ENOMEM;
	k->kind = kind;
	k->open = 1;
	k->pending_tail = &k->pending;
	socks[nsocks] = k;
	*out = (nr_sock_t)(SOCK_BASE + nsocks++);
	return 0;
}

static struct sim_peer *peer_new(const struct nr_addr *addr)
{
	struct sim_peer *p = calloc(1, sizeof(*p));

	if (!p) {
		fprintf(stderr, "sim: out of memory\n");
		abort();
	}
	p->sock = NR_SOCK_INVALID;
	p->addr = *addr;
	p->window = SIZE_MAX;
	p->next_all = peers;
	peers = p;
	return p;
}

static int take_failure(enum sim_op op)
{
	int err = fail_next[op];

	fail_next[op] = 0;
	return err;
}

void sim_fail_next(enum sim_op op, int err)
{
	if (op < SIM_OP__COUNT)
		fail_next[op] = err;
}

/* ---- the inbound script -------------------------------------------------------- */
static struct item *script(struct sim_peer *p, enum item_type type, const void *data, size_t len)
{
	struct item *it = calloc(1, sizeof(*it) + len);

	if (!it) {
		fprintf(stderr, "sim: out of memory\n");
		abort();
	}
	it->type = type;
	it->at = p->script_at;
	it->len = len;
	if (len)
		memcpy(it->data, data, len);
	if (p->tail)
		p->tail->next = it;
	else
		p->head = it;
	p->tail = it;
	return it;
}

void sim_peer_at(struct sim_peer *p, uint64_t at_ms)
{
	p->script_at = at_ms;
}

void sim_peer_send(struct sim_peer *p, const void *data, size_t len)
{
	if (len)
		script(p, ITEM_DATA, data, len);
}

void sim_peer_send_str(struct sim_peer *p, const char *s)
{
	sim_peer_send(p, s, strlen(s));
}

void sim_peer_send_chunked(struct sim_peer *p, const void *data, size_t len, size_t chunk)
{
	const uint8_t *d = data;
	size_t off;

	if (!chunk)
		chunk = len;
	for (off = 0; off < len; off += chunk)
		sim_peer_send(p, d + off, len - off < chunk ? len - off : chunk);
}

void sim_peer_eagain(struct sim_peer *p)
{
	script(p, ITEM_EAGAIN, NULL, 0);
}

void sim_peer_close(struct sim_peer *p)
{
	script(p, ITEM_EOF, NULL, 0);
}

void sim_peer_reset(struct sim_peer *p)
{
	script(p, ITEM_RESET, NULL, 0);
}

size_t sim_peer_unread(const struct sim_peer *p)
{
	const struct item *it;
	size_t n = 0;

	for (it = p->head; it; it = it->next)
		n += it->len - it->off;
	return n;
}

size_t sim_peer_read_calls(const struct sim_peer *p)
{
	return p->read_calls;
}

size_t sim_peer_write_calls(const struct sim_peer *p)
{
	return p->write_calls;
}

/* The scripted item the core can see now, or NULL. */
static struct item *arrived(const struct sim_peer *p)
{
	return p->head && p->head->at <= sim_now() ? p->head : NULL;
}

static int peer_is_reset(struct sim_peer *p)
{
	struct item *it = arrived(p);

	if (it && it->type == ITEM_RESET)
		p->reset = 1;
	return p->reset;
}

/* ---- outbound capture ------------------------------------------------------------- */
void sim_peer_write_limit(struct sim_peer *p, size_t max_per_call)
{
	p->max_per_call = max_per_call;
}

void sim_peer_write_window(struct sim_peer *p, size_t window)
{
	p->window = window;
}

void sim_peer_write_eagain(struct sim_peer *p, unsigned n)
{
	p->eagain_writes = n;
}

const uint8_t *sim_peer_output(const struct sim_peer *p, size_t *len)
{
	static const uint8_t empty[1];

	if (len)
		*len = p->out_len;
	return p->out ? p->out : empty;
}

const char *sim_peer_output_str(const struct sim_peer *p)
{
	return (const char *)sim_peer_output(p, NULL);
}

void sim_peer_output_clear(struct sim_peer *p)
{
	p->out_len = 0;
	if (p->out)
		p->out[0] = 0;
}

int sim_peer_closed_by_core(const struct sim_peer *p)
{
	return p->closed_by_core;
}

static void capture(struct sim_peer *p, const void *data, size_t len)
{
	if (p->out_len + len + 1 > p->out_cap) {
		size_t cap = p->out_cap ? p->out_cap : 256;
		uint8_t *n;
		while (cap < p->out_len + len + 1)
			cap *= 2;
		n = realloc(p->out, cap);
		if (!n) {
			fprintf(stderr, "sim: out of memory\n");
			abort();
		}
		p->out = n;
		p->out_cap = cap;
	}
	memcpy(p->out + p->out_len, data, len);
	p->out_len += len;
	p->out[p->out_len] = 0;
}

/* ---- listeners and connections -------------------------------------------------------- */
nr_sock_t sim_listener(const char *addr_text)
{
	struct nr_addr a = sim_addr(addr_text);
	size_t i;

	for (i = 0; i < nsocks; i++) {
		if (socks[i]->open && socks[i]->kind == SOCK_LISTENER &&
		    addr_eq(&socks[i]->local, &a))
			return (nr_sock_t)(SOCK_BASE + i);
	}
	return NR_SOCK_INVALID;
}

/* The shim contract: IPv4-mapped v6 peers are reported as IPv4. */
static struct nr_addr unmap_v4(struct nr_addr a)
{
	static const uint8_t prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

	if (a.family == NR_AF_INET6 && memcmp(a.ip, prefix, 12) == 0) {
		memmove(a.ip, a.ip + 12, 4);
		memset(a.ip + 4, 0, 12);
		a.family = NR_AF_INET4;
	}
	return a;
}

struct sim_peer *sim_incoming(nr_sock_t listener, const char *peer_addr)
{
	struct sim_sock *l = sock_open(listener);
	struct sim_peer *p;

	if (!l || l->kind != SOCK_LISTENER)
		return NULL;
	p = peer_new(&(struct nr_addr){0});
	p->addr = unmap_v4(sim_addr(peer_addr));
	*l->pending_tail = p;
	l->pending_tail = &p->next_pending;
	return p;
}

void sim_connect_rule(const char *addr_text, int result)
{
	struct nr_addr a = sim_addr(addr_text);
	size_t i;

	for (i = 0; i < nrules; i++) {
		if (addr_eq(&rules[i].addr, &a)) {
			rules[i].result = result;
			return;
		}
	}
	if (nrules < MAX_RULES) {
		rules[nrules].addr = a;
		rules[nrules++].result = result;
	}
}

struct sim_peer *sim_peer_last(void)
{
	return last_peer;
}

struct sim_peer *sim_peer_of(nr_sock_t s)
{
	struct sim_sock *k = sock_get(s);

	return k && k->kind == SOCK_STREAM ? k->peer : NULL;
}

nr_sock_t sim_peer_sock(const struct sim_peer *p)
{
	return p->sock;
}

size_t sim_open_sockets(void)
{
	size_t i, n = 0;

	for (i = 0; i < nsocks; i++)
		n += socks[i]->open != 0;
	return n;
}

/* ---- platform.h: sockets ------------------------------------------------------------- */
int nr_plat_tcp_listen(const struct nr_addr *addr, int backlog, nr_sock_t *out)
{
	struct nr_addr a = *addr;
	struct sim_sock *k;
	int err;

	(void)backlog;
	*out = NR_SOCK_INVALID;
	if ((err = take_failure(SIM_OP_LISTEN)) != 0)
		return err;
	if (a.family != NR_AF_INET4 && a.family != NR_AF_INET6)
		return NR_EINVAL;
	if (a.port == 0)
		a.port = next_port++;
	if (sim_listener(sim_addr_str(&a)) != NR_SOCK_INVALID)
		return NR_EADDRINUSE;
	if ((err = sock_new(SOCK_LISTENER, out)) != 0)
		return err;
	k = sock_get(*out);
	k->local = a;
	return 0;
}

int nr_plat_tcp_accept(nr_sock_t listener, nr_sock_t *out, struct nr_addr *peer)
{
	struct sim_sock *l = sock_open(listener), *k;
	struct sim_peer *p;
	int err;

	*out = NR_SOCK_INVALID;
	if (!l || l->kind != SOCK_LISTENER)
		return NR_EINVAL;
	if ((err = take_failure(SIM_OP_ACCEPT)) != 0)
		return err;
	p = l->pending;
	if (!p)
		return NR_EAGAIN;
	if ((err = sock_new(SOCK_STREAM, out)) != 0)
		return err;
	l->pending = p->next_pending;
	if (!l->pending)
		l->pending_tail = &l->pending;
	k = sock_get(*out);
	k->local = l->local;
	k->remote = p->addr;
	k->peer = p;
	p->sock = *out;
	last_peer = p;
	if (peer)
		*peer = p->addr;
	return 0;
}

int nr_plat_tcp_connect(const struct nr_addr *addr, nr_sock_t *out)
{
	struct sim_sock *k;
	size_t i;
	int err;

	*out = NR_SOCK_INVALID;
	if ((err = take_failure(SIM_OP_CONNECT)) != 0)
		return err;
	if ((err = sock_new(SOCK_STREAM, out)) != 0)
		return err;
	k = sock_get(*out);
	k->remote = *addr;
	k->local = sim_addr("127.0.0.1:0");
	k->local.port = next_port++;
	for (i = 0; i < nrules; i++) {
		if (addr_eq(&rules[i].addr, addr))
			k->connect_result = rules[i].result;
	}
	k->peer = peer_new(addr);
	k->peer->sock = *out;
	last_peer = k->peer;
	return 0;
}

int nr_plat_tcp_connect_result(nr_sock_t s)
{
	struct sim_sock *k = sock_open(s);

	return k ? k->connect_result : NR_EINVAL;
}

long nr_plat_sock_read(nr_sock_t s, void *buf, size_t len)
{
	struct sim_sock *k = sock_open(s);
	struct sim_peer *p;
	struct item *it;
	size_t n;

	if (!k || k->kind != SOCK_STREAM)
		return NR_EIO;
	if (k->connect_result)
		return k->connect_result;
	p = k->peer;
	p->read_calls++;
	if (peer_is_reset(p))
		return NR_ERESET;
	it = arrived(p);
	if (!it || len == 0)
		return NR_EAGAIN;
	switch (it->type) {
	case ITEM_EOF:
		return NR_ECLOSED; /* stays: EOF is sticky */
	case ITEM_EAGAIN:
		p->head = it->next;
		if (!p->head)
			p->tail = NULL;
		free(it);
		return NR_EAGAIN;
	default:
		break;
	}
	n = it->len - it->off < len ? it->len - it->off : len;
	memcpy(buf, it->data + it->off, n);
	it->off += n;
	if (it->off == it->len) {
		p->head = it->next;
		if (!p->head)
			p->tail = NULL;
		free(it);
	}
	return (long)n;
}

long nr_plat_sock_write(nr_sock_t s, const void *buf, size_t len)
{
	struct sim_sock *k = sock_open(s);
	struct sim_peer *p;
	size_t n = len;

	if (!k || k->kind != SOCK_STREAM)
		return NR_EIO;
	if (k->connect_result)
		return k->connect_result;
	p = k->peer;
	p->write_calls++;
	if (peer_is_reset(p))
		return NR_ERESET;
	if (p->eagain_writes) {
		p->eagain_writes--;
		return NR_EAGAIN;
	}
	if (p->max_per_call && n > p->max_per_call)
		n = p->max_per_call;
	if (n > p->window)
		n = p->window;
	if (n == 0)
		return len ? NR_EAGAIN : 0;
	capture(p, buf, n);
	if (p->window != SIZE_MAX)
		p->window -= n;
	return (long)n;
}

void nr_plat_sock_close(nr_sock_t s)
{
	struct sim_sock *k = sock_open(s);

	if (!k)
		return;
	k->open = 0;
	if (k->kind == SOCK_STREAM)
		k->peer->closed_by_core = 1;
	/* Connections never accepted are simply dropped with their listener. */
	k->pending = NULL;
	k->pending_tail = &k->pending;
}

int nr_plat_sock_peer_addr(nr_sock_t s, struct nr_addr *out)
{
	struct sim_sock *k = sock_open(s);

	if (!k || k->kind != SOCK_STREAM)
		return NR_EINVAL;
	*out = k->remote;
	return 0;
}

int nr_plat_sock_local_addr(nr_sock_t s, struct nr_addr *out)
{
	struct sim_sock *k = sock_open(s);

	if (!k)
		return NR_EINVAL;
	*out = k->local;
	return 0;
}

int nr_plat_local_listen(const char *path, int world, nr_sock_t *out)
{
	(void)path;
	(void)world;
	*out = NR_SOCK_INVALID;
	return NR_ENOTSUP;
}

int nr_plat_local_connect(const char *path, nr_sock_t *out)
{
	(void)path;
	*out = NR_SOCK_INVALID;
	return NR_ENOTSUP;
}

int nr_plat_local_pair(nr_sock_t out[2])
{
	out[0] = out[1] = NR_SOCK_INVALID;
	return NR_ENOTSUP;
}

/* No UDP and no open-then-connect in the simulator: the resolver's tests
 * run on the Linux shim (tests/unit/dns). */
int nr_plat_udp_open(uint8_t family, nr_sock_t *out)
{
	(void)family;
	*out = NR_SOCK_INVALID;
	return NR_ENOTSUP;
}

int nr_plat_tcp_open(uint8_t family, nr_sock_t *out)
{
	(void)family;
	*out = NR_SOCK_INVALID;
	return NR_ENOTSUP;
}

int nr_plat_sock_connect(nr_sock_t s, const struct nr_addr *addr)
{
	(void)s;
	(void)addr;
	return NR_ENOTSUP;
}

long nr_plat_udp_send(nr_sock_t s, const void *buf, size_t len)
{
	(void)s;
	(void)buf;
	(void)len;
	return NR_ENOTSUP;
}

long nr_plat_udp_recv(nr_sock_t s, void *buf, size_t len, struct nr_addr *from)
{
	(void)s;
	(void)buf;
	(void)len;
	(void)from;
	return NR_ENOTSUP;
}

/* Every simulated address is ours. */
int nr_plat_addr_is_local(const struct nr_addr *addr)
{
	(void)addr;
	return 0;
}

/* The simulator has no file owners: every socket is trusted. */
int nr_plat_local_check_owner(const char *path, const char *daemon_user, long *owner)
{
	(void)path;
	(void)daemon_user;
	*owner = 0;
	return 0;
}

int nr_plat_local_peer_uid(nr_sock_t s, long *uid)
{
	(void)s;
	(void)uid;
	return NR_ENOTSUP;
}

/* ---- platform.h: poll on virtual time --------------------------------------------------- */
static unsigned readiness(nr_sock_t s, unsigned want)
{
	struct sim_sock *k = sock_open(s);
	struct sim_peer *p;
	unsigned r = 0;

	if (!k)
		return NR_POLL_ERR; /* like POLLNVAL */
	if (k->kind == SOCK_LISTENER)
		return k->pending ? (want & NR_POLL_IN) : 0;
	if (k->connect_result)
		return NR_POLL_ERR | (want & NR_POLL_OUT);
	p = k->peer;
	if (peer_is_reset(p))
		return NR_POLL_ERR | NR_POLL_HUP | (want & (NR_POLL_IN | NR_POLL_OUT));
	if (arrived(p))
		r |= NR_POLL_IN;
	if (p->window > 0)
		r |= NR_POLL_OUT;
	return r & want;
}

/* The earliest scripted arrival still in the future, or UINT64_MAX. */
static uint64_t next_arrival(const struct nr_pollfd *fds, size_t n)
{
	uint64_t best = UINT64_MAX;
	size_t i;

	for (i = 0; i < n; i++) {
		struct sim_sock *k = sock_open(fds[i].sock);
		if (!k || k->kind != SOCK_STREAM || !(fds[i].want & NR_POLL_IN) || !k->peer->head)
			continue;
		if (k->peer->head->at > sim_now() && k->peer->head->at < best)
			best = k->peer->head->at;
	}
	return best;
}

static int scan(struct nr_pollfd *fds, size_t n)
{
	size_t i;
	int count = 0;

	for (i = 0; i < n; i++) {
		fds[i].ready = (uint8_t)readiness(fds[i].sock, fds[i].want);
		count += fds[i].ready != 0;
	}
	return count;
}

int nr_plat_poll(struct nr_pollfd *fds, size_t n, int timeout_ms)
{
	uint64_t target, arrival;
	int count, err;

	if ((err = take_failure(SIM_OP_POLL)) != 0)
		return err;
	if (sim_wake_take())
		return 0;
	count = scan(fds, n);
	/* Resolver answers arrive inside poll and end it, as on a platform. */
	if (sim_resolve_deliver() || count || sim_signals_pending() || timeout_ms == 0)
		return count;
	arrival = next_arrival(fds, n);
	if (sim_resolve_next_due() < arrival)
		arrival = sim_resolve_next_due();
	target = timeout_ms < 0 ? UINT64_MAX : sim_now() + (uint64_t)timeout_ms;
	if (arrival < target)
		target = arrival;
	if (target == UINT64_MAX) {
		fprintf(stderr, "sim: nr_plat_poll would wait forever (nothing scripted)\n");
		return NR_EIO;
	}
	sim_advance(target - sim_now());
	(void)sim_resolve_deliver();
	return scan(fds, n);
}
