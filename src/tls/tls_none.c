/*
 * tls_none.c - src/tls/tls.h for builds without TLS (CONFIG_NR_TLS=n):
 * every call fails with NR_ENOTSUP, so callers need no #ifdef.
 */
#include "tls/tls.h"

int nr_tls_server_ctx_new(struct nr_tls_ctx **out, const char *cert_path, const char *key_path,
			  const char *generate_dir, const char *hostname)
{
	*out = NULL;
	return NR_ENOTSUP;
}

int nr_tls_client_ctx_new(struct nr_tls_ctx **out, const char *ca_file)
{
	*out = NULL;
	return NR_ENOTSUP;
}

int nr_tls_ctx_file_same(const struct nr_tls_ctx *ctx, const char *path)
{
	return NR_ENOTSUP;
}

void nr_tls_ctx_free(struct nr_tls_ctx *ctx) {}

int nr_tls_server_new(struct nr_tls **out, struct nr_tls_ctx *ctx, nr_sock_t sock, int legacy_ok)
{
	*out = NULL;
	return NR_ENOTSUP;
}

int nr_tls_client_new(struct nr_tls **out, struct nr_tls_ctx *ctx, nr_sock_t sock,
		      const char *hostname)
{
	*out = NULL;
	return NR_ENOTSUP;
}

void nr_tls_free(struct nr_tls *t) {}

int nr_tls_handshake(struct nr_tls *t)
{
	return NR_ENOTSUP;
}

long nr_tls_read(struct nr_tls *t, void *buf, size_t len)
{
	return NR_ENOTSUP;
}

long nr_tls_write(struct nr_tls *t, const void *buf, size_t len)
{
	return NR_ENOTSUP;
}

size_t nr_tls_pending(const struct nr_tls *t)
{
	return 0;
}

unsigned nr_tls_wants(const struct nr_tls *t)
{
	return NR_POLL_IN;
}

void nr_tls_close_notify(struct nr_tls *t) {}

const char *nr_tls_version(const struct nr_tls *t)
{
	return "none";
}

const char *nr_tls_ciphersuite(const struct nr_tls *t)
{
	return "none";
}

int nr_tls_resumed(const struct nr_tls *t)
{
	return 0;
}

const char *nr_tls_verify_text(const struct nr_tls *t, char *dst, size_t size)
{
	if (dst && size) {
		dst[0] = '\0';
		return dst;
	}
	return "";
}

int nr_tls_peer_cert(const struct nr_tls *t, char *subject, size_t ssize, char *issuer,
		     size_t isize, char *expires, size_t esize)
{
	return NR_ENOTSUP;
}

const char *nr_tls_peer_names(const struct nr_tls *t, char *dst, size_t size)
{
	if (dst && size) {
		dst[0] = '\0';
		return dst;
	}
	return "";
}

int nr_tls_pbkdf2_sha256(const void *pw, size_t pwlen, const uint8_t *salt, size_t saltlen,
			 unsigned iterations, uint8_t *out, size_t outlen)
{
	return NR_ENOTSUP;
}

int nr_tls_hmac_md5(const void *key, size_t keylen, const void *msg, size_t msglen, uint8_t out[16])
{
	return NR_ENOTSUP;
}

int nr_tls_sha256(const void *msg, size_t len, uint8_t out[32])
{
	return NR_ENOTSUP;
}

const char *nr_tls_library(void)
{
	return NULL;
}
