/*
 * m4_selftest.h - the pieces of the mps2-an386 self-test (m4_main.c): test
 * messages that can be checked byte for byte, and the fake smarthost.
 */
#ifndef NR_M4_SELFTEST_H
#define NR_M4_SELFTEST_H

#include <stddef.h>
#include <stdint.h>

/* Test message number tag (0..NR_M4_TAGS - 1): "Subject: m4 TAG", an empty line, then
 * lines lines of a pattern that names the tag and the line, and an end
 * line; CRLF endings, no final dot. Written into buf: the length, or 0 when
 * size is too small. */
#define NR_M4_TAGS 64
size_t nr_m4_msg_make(char *buf, size_t size, unsigned tag, unsigned lines);

/* An SMTP smuggling attempt as test message tag: a body whose middle holds
 * the end-of-data look-alike variant (0..NR_M4_SMUGGLE_VARIANTS - 1: "\r\n.\n",
 * "\n.\r\n", "\n.\n", "\r.\n") followed by a whole smuggled transaction
 * (MAIL FROM:<smuggled@m4.test>, RCPT, DATA, a body). canonical 0: the bytes
 * a client sends (the caller adds the real ".\r\n"); 1: what the relay must
 * store and deliver instead (DESIGN.md: a bare LF is a line end, a "." line
 * next to a bare LF is content, a stray CR is a space). The length, or 0. */
#define NR_M4_SMUGGLE_VARIANTS 4
size_t nr_m4_smuggle_make(char *buf, size_t size, unsigned tag, unsigned variant, int canonical);

/* The fake smarthost: implicit TLS on 127.0.0.1:NR_M4_SMARTHOST_PORT with
 * the build-time certificate for smarthost.test; EHLO, AUTH (any), MAIL,
 * RCPT, DATA, QUIT. Every message is checked: its body must be one
 * nr_m4_msg_make() or nr_m4_smuggle_make(canonical) message, byte for byte.
 * The counters live in .noinit and survive the warm resets that the
 * smarthost itself asks for (nr_m4_warm_reset): m4_main.c zeroes them at
 * power-on and sets the traps for each boot. */
#define NR_M4_SMARTHOST_PORT 2465
struct nr_m4_smarthost {
	volatile uint64_t received; /* tags delivered intact (bit per tag) */
	volatile uint64_t twice;    /* tags delivered more than once */
	volatile unsigned messages; /* messages answered 250 */
	volatile unsigned bad;      /* bodies that failed the check */
	volatile unsigned dups;     /* deliveries of a tag already received */
	volatile unsigned drops;    /* connections dropped on purpose */
	volatile unsigned smuggled; /* MAIL FROM:<smuggled@...> seen: never */
	volatile int drop_next;     /* 1: drop the next DATA half-way through */
	/* The reset traps, for the next DATA: reset the board half-way
	 * through the body (reset_in_data), or right after answering 250 and
	 * before the relay can read it (reset_after_250: the smarthost then
	 * runs above the TCP/IP task and the relay). Either waits first (at
	 * most 20 s) until hold is 0: the self-test holds while its client
	 * still queues messages. reset_tag: the tag answered 250 just before
	 * a reset_after_250 (-1: none). */
	volatile int reset_in_data, reset_after_250, hold;
	volatile int reset_tag;
};
extern struct nr_m4_smarthost nr_m4_smarthost;
void nr_m4_smarthost_task(void *arg);

/* A warm reset asked by the smarthost (m4_main.c): the self-test's counts
 * are kept, the run goes on in its next phase. Never returns. */
__attribute__((noreturn)) void nr_m4_warm_reset(const char *why);

/* mbedTLS over a blocking lwIP socket (ctx: a pointer to the fd), and a
 * CTR_DRBG seed from the TEST ONLY entropy: the self-test's TLS client and
 * its smarthost share them (m4_smarthost.c). */
int nr_m4_tls_send(void *ctx, const unsigned char *buf, size_t len);
int nr_m4_tls_recv(void *ctx, unsigned char *buf, size_t len);
int nr_m4_tls_entropy(void *ctx, unsigned char *buf, size_t len);

/* TEST ONLY entropy (m4_main.c): see there. */
int nr_m4_test_entropy(void *buf, size_t len);

#endif /* NR_M4_SELFTEST_H */
