/*
 * nanorelay-m4.h - the Cortex-M4 firmware's mbedTLS 2.28 configuration: the
 * project's configuration (nanorelay-2.28.h) minus what a microcontroller
 * relay does not use, and sized for its RAM. cmake/mbedtls-src.cmake builds
 * the firmware's mbedTLS with it (NR_MBEDTLS_CONFIG, which the toolchain
 * file cmake/arm-none-eabi.cmake sets); the static Linux builds keep
 * nanorelay-2.28.h. Measured on the self-test image (tests/bench/size.sh):
 * mbedTLS 103.2 -> 71.4 KiB of text, 8.8 KiB -> 8 bytes of .bss, and the
 * self-test's heap peak 263197 -> 235581 bytes.
 *
 * What stays (issue 17's list): the TLS 1.2 client (upstream) and server
 * (LAN STARTTLS/465), ECDHE with ECDSA or RSA certificates, AES-GCM and
 * ChaCha20-Poly1305, X.509 parsing and verification, SHA-256 for PBKDF2
 * (the users file), client session tickets (a resumed upstream session
 * skips the ECDHE and the chain check: seconds on a slow core).
 *
 * What goes, and why:
 *   TLS 1.0/1.1, AES-CBC, HMAC-SHA-1 suites, encrypt-then-MAC, record
 *             splitting: legacy_tls= listeners only; such a listener on
 *             this build offers TLS 1.2 alone
 *   MD5       CRAM-MD5 (off in the defconfig) and TLS 1.0/1.1
 *   SHA-1     TLS 1.0/1.1 and CBC suites only: mbedTLS's default X.509
 *             profile rejects SHA-1 signatures anyway
 *   P-521     rare in public chains (P-256, P-384 and X25519 stay);
 *             MBEDTLS_ECP_MAX_BITS follows: smaller numbers in every ECC
 *             operation
 *   certificate writing (X.509 write, PK write, PEM write): the
 *             generator, CONFIG_NR_TLS_CERTGEN, is off: lan_cert is given
 *   server session tickets: a LAN client reconnecting does a full
 *             handshake (one ticket key context less)
 *   error strings (MBEDTLS_ERROR_C): log lines keep the -0x code
 *   every alert message: only the ones TLS needs are sent
 *
 * RAM:
 *   MBEDTLS_SSL_IN_CONTENT_LEN stays 16384: real servers send full 16 KB
 *     records, and a client can only shrink them with the
 *     max_fragment_length extension, which servers may ignore (many do).
 *   MBEDTLS_SSL_OUT_CONTENT_LEN 4096: what the relay writes is split into
 *     records of its own choosing; the largest single message it sends is
 *     the LAN server's Certificate message (2.28 does not fragment it), so
 *     a LAN chain must fit in 4 KB (one ECDSA or RSA-2048 leaf plus one
 *     intermediate does). 12 KB less per TLS session.
 *   AES tables in flash, the small set (MBEDTLS_AES_ROM_TABLES,
 *     MBEDTLS_AES_FEWER_TABLES): 8.5 KB less .bss for 2 KB of .rodata.
 *   ECP: window 2 and no fixed-point tables: smaller heap during each ECC
 *     operation (no per-curve precomputed points kept), at some speed.
 */
#ifndef NANORELAY_MBEDTLS_M4_CONFIG_H
#define NANORELAY_MBEDTLS_M4_CONFIG_H

/* The base (check_config.h runs at its end, and again at this file's end);
 * a value it sets is #undef'd before it is set here. */
#include "nanorelay-2.28.h"

/* legacy TLS */
#undef MBEDTLS_SSL_PROTO_TLS1
#undef MBEDTLS_SSL_PROTO_TLS1_1
#undef MBEDTLS_CIPHER_MODE_CBC
#undef MBEDTLS_CIPHER_PADDING_PKCS7
#undef MBEDTLS_SSL_CBC_RECORD_SPLITTING
#undef MBEDTLS_SSL_ENCRYPT_THEN_MAC
/* mbedTLS's default suite list, for a caller that sets none (the
 * self-test's own client): src/tls sets its own lists on every context,
 * from the suites compiled in (ECDHE-ECDSA/RSA with AES-GCM and
 * ChaCha20-Poly1305 now). Short: left undefined, the default is mbedTLS's
 * whole preference table (0.9 KB of flash). */
#undef MBEDTLS_SSL_CIPHERSUITES
#define MBEDTLS_SSL_CIPHERSUITES                                                                   \
	MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,                                           \
	    MBEDTLS_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256

/* hashes */
#undef MBEDTLS_MD5_C
#undef MBEDTLS_SHA1_C
#define MBEDTLS_SHA256_SMALLER
#define MBEDTLS_SHA512_SMALLER

/* curves */
#undef MBEDTLS_ECP_DP_SECP521R1_ENABLED
#undef MBEDTLS_ECP_MAX_BITS
#define MBEDTLS_ECP_MAX_BITS 384

/* the certificate generator (CONFIG_NR_TLS_CERTGEN) */
#undef MBEDTLS_X509_CREATE_C
#undef MBEDTLS_X509_CRT_WRITE_C
#undef MBEDTLS_PK_WRITE_C
#undef MBEDTLS_PEM_WRITE_C

/* server tickets (client tickets stay: MBEDTLS_SSL_SESSION_TICKETS) */
#undef MBEDTLS_SSL_TICKET_C

/* messages */
#undef MBEDTLS_ERROR_C
#undef MBEDTLS_SSL_ALL_ALERT_MESSAGES

/* RAM */
#undef MBEDTLS_SSL_IN_CONTENT_LEN
#define MBEDTLS_SSL_IN_CONTENT_LEN 16384
#undef MBEDTLS_SSL_OUT_CONTENT_LEN
#define MBEDTLS_SSL_OUT_CONTENT_LEN 4096
#define MBEDTLS_AES_ROM_TABLES
#define MBEDTLS_AES_FEWER_TABLES
#undef MBEDTLS_ECP_WINDOW_SIZE
#define MBEDTLS_ECP_WINDOW_SIZE 2
#undef MBEDTLS_ECP_FIXED_POINT_OPTIM
#define MBEDTLS_ECP_FIXED_POINT_OPTIM 0

/* check_config.h has an include guard: check again with the changes. */
#undef MBEDTLS_CHECK_CONFIG_H
#include "mbedtls/check_config.h"

#endif /* NANORELAY_MBEDTLS_M4_CONFIG_H */
