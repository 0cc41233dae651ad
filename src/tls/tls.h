/*
 * tls.h - the TLS adapter: the only code that includes mbedTLS headers.
 *
 * A context (nr_tls_ctx) holds what sessions share: certificates, keys, the
 * CA chain, the RNG, the protocol floor. A session (nr_tls) wraps one
 * non-blocking socket; its read/write behave like nr_plat_sock_read/write
 * and return NR_EAGAIN when the library needs the socket to become ready;
 * nr_tls_wants() then says for what (NR_POLL_IN or NR_POLL_OUT: a read can
 * need a write and vice versa).
 *
 * Security rules (DESIGN.md, Outbound): clients always verify the chain and
 * the hostname (mbedtls_ssl_set_hostname is always called), send SNI, and
 * require TLS 1.2 or newer (1.3 where the library has it). Servers require
 * TLS 1.2 unless the session is created with legacy allowed (TLS 1.0/1.1 for
 * named networks only). Build: mbedTLS 2.28 and 3.6.
 */
#ifndef NR_TLS_TLS_H
#define NR_TLS_TLS_H

#include <stddef.h>
#include <stdint.h>

#include "core/build.h"
#include "platform.h"

struct nr_tls_ctx;
struct nr_tls;

/* Server context from PEM files. When cert_path and key_path do not exist
 * and generate_dir is non-NULL, an ECDSA P-256 self-signed certificate for
 * hostname is generated once into generate_dir (lan.crt / lan.key, 0600).
 * NR_ENOTFOUND, NR_EINVAL (bad PEM or mismatched key), NR_EIO. */
int nr_tls_server_ctx_new(struct nr_tls_ctx **out, const char *cert_path, const char *key_path,
			  const char *generate_dir, const char *hostname) NR_MUST_CHECK;

/* Client context verifying against ca_file (NULL: the system bundle
 * /etc/ssl/certs/ca-certificates.crt; the whole Debian bundle costs ~460 KB
 * of heap, so routers should point at just the CAs they need). NR_ENOTFOUND,
 * NR_EINVAL (no certificate in the file), NR_EIO (no entropy: the RNG fails
 * closed), NR_ENOMEM. */
int nr_tls_client_ctx_new(struct nr_tls_ctx **out, const char *ca_file) NR_MUST_CHECK;
/* Whether the file at path still holds the bytes ctx was loaded from (a
 * server's certificate file, a client's CA file; for a client, NULL means
 * the system bundle as in nr_tls_client_ctx_new): 1 the same, 0 changed,
 * or NR_E... when it cannot be read. A reload asks before it loads and
 * parses again; a context kept keeps its saved sessions too. */
int nr_tls_ctx_file_same(const struct nr_tls_ctx *ctx, const char *path);
/* Drop the owner's reference. Each session holds its own, so the context
 * lives on until the last session made from it is freed: a reload can put
 * a new context in its place while connections are open. */
void nr_tls_ctx_free(struct nr_tls_ctx *ctx);

/* New session on a connected socket. Server: legacy_ok allows TLS 1.0/1.1.
 * Client: hostname is required (SNI and verification). */
int nr_tls_server_new(struct nr_tls **out, struct nr_tls_ctx *ctx, nr_sock_t sock,
		      int legacy_ok) NR_MUST_CHECK;
int nr_tls_client_new(struct nr_tls **out, struct nr_tls_ctx *ctx, nr_sock_t sock,
		      const char *hostname) NR_MUST_CHECK;
void nr_tls_free(struct nr_tls *t);

/* Drive the handshake: 0 done, NR_EAGAIN (see nr_tls_wants), NR_ETLS,
 * NR_ECERT (client: verification failed; see nr_tls_verify_text),
 * NR_ECLOCK (client: the wall clock is not set), NR_ECLOSED. */
int nr_tls_handshake(struct nr_tls *t) NR_MUST_CHECK;

/* Read/write drive the handshake first when it is not done yet (same codes
 * as nr_tls_handshake). read: >0 bytes, NR_EAGAIN, NR_ECLOSED (close_notify
 * or EOF), NR_ETLS, NR_ERESET, NR_EIO. write: >0 bytes taken (at most one
 * record); after NR_EAGAIN call again with at least as many bytes from the
 * same start (mbedTLS already encrypted them). Errors are sticky. */
long nr_tls_read(struct nr_tls *t, void *buf, size_t len);
long nr_tls_write(struct nr_tls *t, const void *buf, size_t len);
/* Plaintext bytes already decrypted and buffered inside the library: the
 * socket will not become readable for them, so drain them first. */
size_t nr_tls_pending(const struct nr_tls *t);
unsigned nr_tls_wants(const struct nr_tls *t);
/* Send close_notify (best effort, non-blocking). */
void nr_tls_close_notify(struct nr_tls *t);

/* The library this adapter was built with, for --version: "mbed TLS 2.28.3",
 * or NULL without TLS. */
const char *nr_tls_library(void);

/* For logs and test-upstream. Strings belong to the session. */
const char *nr_tls_version(const struct nr_tls *t); /* "TLSv1.2" */
const char *nr_tls_ciphersuite(const struct nr_tls *t);
/* 1 when this client handshake resumed a session saved in the context by
 * an earlier connection to the same hostname (the context keeps the last
 * session of a few hostnames), else 0. Resumption itself works for TLS 1.2
 * and 1.3; this report covers TLS 1.2 only (1.3 always says 0). */
int nr_tls_resumed(const struct nr_tls *t);
/* Why verification failed, in plain words, into dst (returns dst); several
 * reasons are joined with "; ". Texts: "certificate has expired",
 * "certificate is not yet valid", "hostname does not match HOST",
 * "issuer not trusted (self-signed or unknown CA)", "chain incomplete
 * (issuer DN not sent by the server and not trusted)", "certificate has been
 * revoked", "certificate is not for TLS servers", "weak signature
 * algorithm", "unacceptable key type or size", "wall clock not set (cannot
 * check certificate dates)" (NR_ECLOCK); "ok" when nothing failed. */
const char *nr_tls_verify_text(const struct nr_tls *t, char *dst, size_t size);
/* Peer certificate subject, issuer and expiry ("2027-01-31") into dsts
 * (client sessions). Works also after the handshake failed on verification
 * (the certificate seen then), so a caller can say what was refused.
 * NR_ENOTFOUND when no certificate was received. */
int nr_tls_peer_cert(const struct nr_tls *t, char *subject, size_t ssize, char *issuer,
		     size_t isize, char *expires, size_t esize);
/* The names the peer certificate is for: its subjectAltName DNS names
 * blank separated, or its subject CN when it has none; "" when no
 * certificate was seen. Same lifetime rules as nr_tls_peer_cert(). */
const char *nr_tls_peer_names(const struct nr_tls *t, char *dst, size_t size);

/* PBKDF2-SHA256 password hashing for the LAN users file. */
int nr_tls_pbkdf2_sha256(const void *pw, size_t pwlen, const uint8_t *salt, size_t saltlen,
			 unsigned iterations, uint8_t *out, size_t outlen) NR_MUST_CHECK;
/* HMAC-MD5 for AUTH CRAM-MD5 (RFC 2195). */
int nr_tls_hmac_md5(const void *key, size_t keylen, const void *msg, size_t msglen,
		    uint8_t out[16]) NR_MUST_CHECK;
/* SHA-256 (the PKCE code challenge of `nanorelay oauth2 login`). */
int nr_tls_sha256(const void *msg, size_t len, uint8_t out[32]) NR_MUST_CHECK;

#endif /* NR_TLS_TLS_H */
