/*
 * m4_selftest.h - the pieces of the mps2-an386 self-test (m4_main.c): test
 * messages that can be checked byte for byte, and the fake smarthost.
 */
#ifndef NR_M4_SELFTEST_H
#define NR_M4_SELFTEST_H

#include <stddef.h>
#include <stdint.h>

/* Test message number tag (0..31): "Subject: m4 TAG", an empty line, then
 * lines lines of a pattern that names the tag and the line, and an end
 * line; CRLF endings, no final dot. Written into buf: the length, or 0 when
 * size is too small. */
size_t nr_m4_msg_make(char *buf, size_t size, unsigned tag, unsigned lines);

/* The fake smarthost: implicit TLS on 127.0.0.1:NR_M4_SMARTHOST_PORT with
 * the build-time certificate for smarthost.test; EHLO, AUTH (any), MAIL,
 * RCPT, DATA, QUIT. Every message is checked: its body must be one
 * nr_m4_msg_make() message, byte for byte. */
#define NR_M4_SMARTHOST_PORT 2465
struct nr_m4_smarthost {
	volatile uint32_t received; /* tags delivered intact (bit per tag) */
	volatile unsigned messages; /* messages answered 250 */
	volatile unsigned bad;      /* bodies that failed the check */
	volatile unsigned dups;     /* a tag delivered twice */
	volatile unsigned drops;    /* connections dropped on purpose */
	volatile int drop_next;     /* 1: drop the next DATA half-way through */
};
extern struct nr_m4_smarthost nr_m4_smarthost;
void nr_m4_smarthost_task(void *arg);

/* mbedTLS over a blocking lwIP socket (ctx: a pointer to the fd), and a
 * CTR_DRBG seed from the TEST ONLY entropy: the self-test's TLS client and
 * its smarthost share them (m4_smarthost.c). */
int nr_m4_tls_send(void *ctx, const unsigned char *buf, size_t len);
int nr_m4_tls_recv(void *ctx, unsigned char *buf, size_t len);
int nr_m4_tls_entropy(void *ctx, unsigned char *buf, size_t len);

/* TEST ONLY entropy (m4_main.c): see there. */
int nr_m4_test_entropy(void *buf, size_t len);

#endif /* NR_M4_SELFTEST_H */
