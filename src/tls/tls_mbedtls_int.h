/*
 * tls_mbedtls_int.h - what the *_mbedtls.c files of src/tls share: the
 * mbedTLS version switches, the context structure and the helpers one file
 * offers the others. Private to src/tls: only files that may include mbedTLS
 * include it (everyone else uses tls.h).
 *
 *   tls_mbedtls.c          contexts: RNG, configs, certificate/key/CA loading
 *   tls_certgen_mbedtls.c  the generated self-signed LAN certificate
 *   tls_session_mbedtls.c  sessions: BIO, handshake, read/write, peer info
 *   tls_crypto_mbedtls.c   PBKDF2 and HMAC for users and CRAM-MD5 (needs
 *                          none of this header)
 */
#ifndef NR_TLS_MBEDTLS_INT_H
#define NR_TLS_MBEDTLS_INT_H

#include "tls/tls.h"

#include <mbedtls/version.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/pk.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>
#if defined(MBEDTLS_SSL_TICKET_C)
#include <mbedtls/ssl_ticket.h>
#endif

#if MBEDTLS_VERSION_NUMBER >= 0x03000000
#define NR_MBEDTLS3 1
#include <psa/crypto.h>
#else
#define NR_MBEDTLS3 0
#endif

#if defined(MBEDTLS_SSL_TICKET_C) && defined(MBEDTLS_SSL_SESSION_TICKETS)
#define NR_TLS_TICKETS 1
#else
#define NR_TLS_TICKETS 0
#endif

/* 2020-01-01T00:00:00Z: a wall clock before this has not been set. */
#define NR_TLS_MIN_WALL 1577836800LL
#define NR_TLS_SAVED_SESSIONS 4
#define NR_TLS_HOST_MAX 256

/* A client session kept per smarthost name for resumption. */
struct nr_tls_saved {
	int used;
	unsigned stamp;
	char host[NR_TLS_HOST_MAX];
	mbedtls_ssl_session session;
};

/* tls.h's server or client context: configs, RNG, certificate and key,
 * and (client) the sessions saved for resumption. */
struct nr_tls_ctx {
	/* The owner's reference, plus one per session made from it: a reload
	 * can replace a context while its sessions are still open. */
	unsigned refs;
	int is_server;
	int have_legacy;
	/* SHA-256 of the certificate or CA file as loaded, for a reload to tell
	 * whether it changed (nr_tls_ctx_file_same). */
	unsigned char source_sha256[32];
	mbedtls_ctr_drbg_context drbg;
	mbedtls_ssl_config conf;
	mbedtls_ssl_config conf_legacy;
	mbedtls_x509_crt cert; /* server: own chain; client: trusted CAs */
	mbedtls_pk_context key;
#if NR_TLS_TICKETS
	mbedtls_ssl_ticket_context tickets;
#endif
	unsigned stamp;
	struct nr_tls_saved saved[NR_TLS_SAVED_SESSIONS];
};

/* Log an mbedTLS failure as "tls: WHAT failed: TEXT (-0xCODE)" (warning). */
void nr_tls_mbedtls_log(const char *what, int ret);

/* Generate an ECDSA P-256 key and a self-signed certificate for hostname
 * (a plain DNS name: CN and the one subjectAltName dNSName), valid from an
 * hour ago for ten years, and write them as PEM to key_path and
 * crt_path (mode 0600). Randomness comes from drbg. 0, NR_EINVAL (a
 * hostname that cannot go into a certificate), NR_ENOMEM, NR_ETLS, or the
 * platform's file error. */
int nr_tls_certgen(mbedtls_ctr_drbg_context *drbg, const char *hostname, const char *crt_path,
		   const char *key_path);

#endif /* NR_TLS_MBEDTLS_INT_H */
