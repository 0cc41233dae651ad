/*
 * tls_mbedtls.c - src/tls/tls.h on mbedTLS 2.28 and 3.6: the contexts (RNG,
 * server and client configs, certificate, key and CA loading).
 *
 * The files named *_mbedtls.c are the only ones that include mbedTLS
 * (tls_mbedtls_int.h lists them). Sockets, files, clocks and entropy come
 * from platform.h; mbedTLS error codes are translated here and logged with
 * their original value.
 */
#include "tls/tls_mbedtls_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/error.h>
#include <mbedtls/md.h>
#include <mbedtls/platform_util.h>

#include "core/log.h"
#include "core/mem.h"

#define NR_TLS_DEFAULT_CA "/etc/ssl/certs/ca-certificates.crt"
#define NR_TLS_CERT_FILE_MAX (256u * 1024u)
#define NR_TLS_CA_FILE_MAX (8u * 1024u * 1024u)

/* TLS 1.2: forward secrecy and AEAD only. TLS 1.3 (3.x) suites are all AEAD. */
#define NR_TLS13_SUITES_
#if defined(MBEDTLS_TLS1_3_AES_128_GCM_SHA256)
#undef NR_TLS13_SUITES_
#define NR_TLS13_SUITES_                                                                           \
	MBEDTLS_TLS1_3_AES_128_GCM_SHA256, MBEDTLS_TLS1_3_AES_256_GCM_SHA384,                      \
	    MBEDTLS_TLS1_3_CHACHA20_POLY1305_SHA256,
#endif
#define NR_TLS12_SUITES_                                                                           \
	MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,                                           \
	    MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,                                       \
	    MBEDTLS_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,                                 \
	    MBEDTLS_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,                                         \
	    MBEDTLS_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,                                         \
	    MBEDTLS_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256

static const int nr_tls_suites_modern[] = {NR_TLS13_SUITES_ NR_TLS12_SUITES_, 0};
/* Old printers (TLS 1.0/1.1 have no AEAD suites): ECDHE with AES-CBC. */
static const int nr_tls_suites_legacy[] = {NR_TLS13_SUITES_ NR_TLS12_SUITES_,
					   MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA,
					   MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA,
					   MBEDTLS_TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA,
					   MBEDTLS_TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA,
					   0};

/* ---- helpers ---------------------------------------------------------------- */

void nr_tls_mbedtls_log(const char *what, int ret)
{
	char text[128] = "";
#if defined(MBEDTLS_ERROR_C)
	mbedtls_strerror(ret, text, sizeof(text));
#endif
	nr_warn("tls: %s failed: %s (-0x%04x)", what, text, (unsigned)-ret);
}

/* CTR_DRBG's entropy callback: only the platform's strong source, and a
 * failure stops seeding and reseeding (fail closed, never weak bytes). */
static int entropy_from_platform(void *unused, unsigned char *buf, size_t len)
{
	(void)unused;
	if (nr_plat_entropy(buf, len) != 0)
		return MBEDTLS_ERR_CTR_DRBG_ENTROPY_SOURCE_FAILED;
	return 0;
}

static int psa_ready(void)
{
#if NR_MBEDTLS3
	static int done;
	if (!done) {
		psa_status_t st = psa_crypto_init();
		if (st != PSA_SUCCESS) {
			nr_err("tls: psa_crypto_init failed (%d)", (int)st);
			return NR_ETLS;
		}
		done = 1;
	}
#endif
	return 0;
}

static void conf_min_version(mbedtls_ssl_config *conf, int legacy)
{
#if NR_MBEDTLS3
	/* 3.x has no TLS 1.0/1.1: legacy only widens the cipher list. */
	(void)legacy;
	mbedtls_ssl_conf_min_tls_version(conf, MBEDTLS_SSL_VERSION_TLS1_2);
#else
	int minor = MBEDTLS_SSL_MINOR_VERSION_3;
	if (legacy) {
#if defined(MBEDTLS_SSL_PROTO_TLS1)
		minor = MBEDTLS_SSL_MINOR_VERSION_1;
#elif defined(MBEDTLS_SSL_PROTO_TLS1_1)
		minor = MBEDTLS_SSL_MINOR_VERSION_2;
#endif
	}
	mbedtls_ssl_conf_min_version(conf, MBEDTLS_SSL_MAJOR_VERSION_3, minor);
	mbedtls_ssl_conf_max_version(conf, MBEDTLS_SSL_MAJOR_VERSION_3,
				     MBEDTLS_SSL_MINOR_VERSION_3);
#endif
}

static int ctx_alloc(struct nr_tls_ctx **out, int is_server)
{
	struct nr_tls_ctx *ctx;
	int ret;

	*out = NULL;
	if (psa_ready() != 0)
		return NR_ETLS;
	ctx = nr_calloc(1, sizeof(*ctx));
	if (!ctx)
		return NR_ENOMEM;
	ctx->refs = 1;
	ctx->is_server = is_server;
	mbedtls_ctr_drbg_init(&ctx->drbg);
	mbedtls_ssl_config_init(&ctx->conf);
	mbedtls_ssl_config_init(&ctx->conf_legacy);
	mbedtls_x509_crt_init(&ctx->cert);
	mbedtls_pk_init(&ctx->key);
#if NR_TLS_TICKETS
	mbedtls_ssl_ticket_init(&ctx->tickets);
#endif
	for (size_t i = 0; i < NR_TLS_SAVED_SESSIONS; i++)
		mbedtls_ssl_session_init(&ctx->saved[i].session);
	*out = ctx;

	ret = mbedtls_ctr_drbg_seed(&ctx->drbg, entropy_from_platform, NULL,
				    (const unsigned char *)"nanorelay-tls", 13);
	if (ret != 0) {
		nr_tls_mbedtls_log("seeding the RNG from platform entropy", ret);
		/* Say the cause at the level the caller's failure is logged at:
		 * a board without a TRNG sees why TLS (and the relay) stopped. */
		nr_err("tls: no random source (the platform's entropy failed): TLS cannot start");
		return NR_EIO;
	}
	return 0;
}

void nr_tls_ctx_free(struct nr_tls_ctx *ctx)
{
	if (!ctx || --ctx->refs > 0)
		return;
	for (size_t i = 0; i < NR_TLS_SAVED_SESSIONS; i++)
		mbedtls_ssl_session_free(&ctx->saved[i].session);
#if NR_TLS_TICKETS
	mbedtls_ssl_ticket_free(&ctx->tickets);
#endif
	mbedtls_pk_free(&ctx->key);
	mbedtls_x509_crt_free(&ctx->cert);
	mbedtls_ssl_config_free(&ctx->conf_legacy);
	mbedtls_ssl_config_free(&ctx->conf);
	mbedtls_ctr_drbg_free(&ctx->drbg);
	nr_free(ctx);
}

static int sha256(const void *data, size_t len, unsigned char out[32])
{
	const mbedtls_md_info_t *info = mbedtls_md_info_from_type(MBEDTLS_MD_SHA256);

	return info && mbedtls_md(info, data, len, out) == 0 ? 0 : NR_ETLS;
}

int nr_tls_ctx_file_same(const struct nr_tls_ctx *ctx, const char *path)
{
	unsigned char now[32];
	char *data = NULL;
	size_t len = 0;
	int ret;

	if (!path && !ctx->is_server)
		path = NR_TLS_DEFAULT_CA;
	if (!path)
		return NR_EINVAL;
	ret = nr_plat_file_read(path, ctx->is_server ? NR_TLS_CERT_FILE_MAX : NR_TLS_CA_FILE_MAX,
				&data, &len);
	if (ret != 0)
		return ret;
	ret = sha256(data, len, now);
	nr_free(data);
	if (ret != 0)
		return ret;
	return memcmp(now, ctx->source_sha256, sizeof(now)) == 0;
}

/* ---- server: certificate loading and generation ----------------------------- */

static int file_exists(const char *path)
{
	char *data = NULL;
	size_t len = 0;
	int ret;

	if (!path)
		return 0;
	ret = nr_plat_file_read(path, NR_TLS_CERT_FILE_MAX, &data, &len);
	if (data) {
		mbedtls_platform_zeroize(data, len);
		nr_free(data);
	}
	return ret != NR_ENOTFOUND;
}

/* Read a certificate or key file of at most max bytes; a failure is
 * logged as "tls: cannot read WHATPATH: ERROR". The buffer ends in a NUL,
 * which PEM parsing wants inside the length (pass len + 1). */
static int read_pem(const char *what, const char *path, size_t max, char **data, size_t *len)
{
	int ret = nr_plat_file_read(path, max, data, len);

	if (ret != 0)
		nr_err("tls: cannot read %s%s: %s", what, path, nr_strerror(ret));
	return ret;
}

/* Add the certificates of the file at path to ctx->cert, and keep the
 * file's SHA-256 for nr_tls_ctx_file_same. Returns how many certificates
 * in it could not be parsed (0 or more, at least one was), NR_EINVAL when
 * none could (logged), or read_pem's error. */
static int load_certs(struct nr_tls_ctx *ctx, const char *what, const char *path, size_t max)
{
	char *data = NULL;
	size_t len = 0;
	int ret = read_pem(what, path, max, &data, &len);

	if (ret != 0)
		return ret;
	ret = mbedtls_x509_crt_parse(&ctx->cert, (const unsigned char *)data, len + 1);
	if (ret >= 0 && sha256(data, len, ctx->source_sha256) != 0)
		ret = MBEDTLS_ERR_MD_BAD_INPUT_DATA;
	nr_free(data);
	if (ret < 0) {
		nr_tls_mbedtls_log(path, ret);
		return NR_EINVAL;
	}
	return ret;
}

static int load_cert_and_key(struct nr_tls_ctx *ctx, const char *cert_path, const char *key_path)
{
	char *data = NULL;
	size_t len = 0;
	int ret;

	/* The server's own chain: every certificate in it must parse. */
	ret = load_certs(ctx, "", cert_path, NR_TLS_CERT_FILE_MAX);
	if (ret > 0) {
		nr_err("tls: %d certificates in %s could not be parsed", ret, cert_path);
		ret = NR_EINVAL;
	}
	if (ret != 0)
		return ret;
	ret = read_pem("", key_path, NR_TLS_CERT_FILE_MAX, &data, &len);
	if (ret != 0)
		return ret;
#if NR_MBEDTLS3
	ret = mbedtls_pk_parse_key(&ctx->key, (const unsigned char *)data, len + 1, NULL, 0,
				   mbedtls_ctr_drbg_random, &ctx->drbg);
#else
	ret = mbedtls_pk_parse_key(&ctx->key, (const unsigned char *)data, len + 1, NULL, 0);
#endif
	mbedtls_platform_zeroize(data, len);
	nr_free(data);
	if (ret != 0) {
		nr_tls_mbedtls_log(key_path, ret);
		return NR_EINVAL;
	}
#if NR_MBEDTLS3
	ret = mbedtls_pk_check_pair(&ctx->cert.pk, &ctx->key, mbedtls_ctr_drbg_random, &ctx->drbg);
#else
	ret = mbedtls_pk_check_pair(&ctx->cert.pk, &ctx->key);
#endif
	if (ret != 0) {
		nr_err("tls: %s does not belong to %s", key_path, cert_path);
		return NR_EINVAL;
	}
	return 0;
}

/* The end of both constructors: *out gets ctx on success (ret 0); on a
 * failure ctx is freed and *out stays NULL. */
static int ctx_hand_out(struct nr_tls_ctx *ctx, int ret, struct nr_tls_ctx **out)
{
	if (ret != 0) {
		nr_tls_ctx_free(ctx);
		return ret;
	}
	*out = ctx;
	return 0;
}

static void conf_server_common(struct nr_tls_ctx *ctx, mbedtls_ssl_config *conf, int legacy)
{
	mbedtls_ssl_conf_rng(conf, mbedtls_ctr_drbg_random, &ctx->drbg);
	mbedtls_ssl_conf_authmode(conf, MBEDTLS_SSL_VERIFY_NONE);
	conf_min_version(conf, legacy);
	mbedtls_ssl_conf_ciphersuites(conf, legacy ? nr_tls_suites_legacy : nr_tls_suites_modern);
#if NR_TLS_TICKETS
	mbedtls_ssl_conf_session_tickets_cb(conf, mbedtls_ssl_ticket_write,
					    mbedtls_ssl_ticket_parse, &ctx->tickets);
#endif
	/* Record buffers are sized by MBEDTLS_SSL_IN/OUT_CONTENT_LEN at build
	 * time; embedded mbedTLS configs shrink OUT to 4 KB (PLATFORM-NOTES). */
}

int nr_tls_server_ctx_new(struct nr_tls_ctx **out, const char *cert_path, const char *key_path,
			  const char *generate_dir, const char *hostname)
{
	struct nr_tls_ctx *ctx = NULL;
	char gen_crt[512], gen_key[512];
	int have_cert, have_key;
	int ret;

	*out = NULL;
	ret = ctx_alloc(&ctx, 1);
	if (ret != 0)
		goto out;

	have_cert = file_exists(cert_path);
	have_key = file_exists(key_path);
	if (have_cert && have_key) {
		ret = load_cert_and_key(ctx, cert_path, key_path);
	} else if (have_cert || have_key) {
		nr_err("tls: %s exists but %s does not", have_cert ? cert_path : key_path,
		       have_cert ? key_path : cert_path);
		ret = NR_ENOTFOUND;
	} else if (!generate_dir) {
		nr_err("tls: no certificate at %s", cert_path ? cert_path : "(none)");
		ret = NR_ENOTFOUND;
	} else {
#if NR_ENABLED(CONFIG_NR_TLS_CERTGEN)
		if ((size_t)snprintf(gen_crt, sizeof(gen_crt), "%s/lan.crt", generate_dir) >=
			sizeof(gen_crt) ||
		    (size_t)snprintf(gen_key, sizeof(gen_key), "%s/lan.key", generate_dir) >=
			sizeof(gen_key)) {
			ret = NR_EINVAL;
			goto out;
		}
		if (!(file_exists(gen_crt) && file_exists(gen_key)))
			ret = nr_tls_certgen(&ctx->drbg, hostname, gen_crt, gen_key);
		if (ret == 0)
			ret = load_cert_and_key(ctx, gen_crt, gen_key);
#else
		/* A build without the generator (firmware): lan_cert is required. */
		(void)gen_crt;
		(void)gen_key;
		nr_err("tls: no certificate at %s (this build does not generate one)",
		       cert_path ? cert_path : "(none)");
		ret = NR_ENOTFOUND;
#endif
	}
	if (ret != 0)
		goto out;

#if NR_TLS_TICKETS
	if (mbedtls_ssl_ticket_setup(&ctx->tickets, mbedtls_ctr_drbg_random, &ctx->drbg,
				     MBEDTLS_CIPHER_AES_256_GCM, 86400) != 0) {
		ret = NR_ETLS;
		goto out;
	}
#endif
	ret = NR_ETLS;
	if (mbedtls_ssl_config_defaults(&ctx->conf, MBEDTLS_SSL_IS_SERVER,
					MBEDTLS_SSL_TRANSPORT_STREAM,
					MBEDTLS_SSL_PRESET_DEFAULT) != 0 ||
	    mbedtls_ssl_config_defaults(&ctx->conf_legacy, MBEDTLS_SSL_IS_SERVER,
					MBEDTLS_SSL_TRANSPORT_STREAM,
					MBEDTLS_SSL_PRESET_DEFAULT) != 0)
		goto out;
	conf_server_common(ctx, &ctx->conf, 0);
	conf_server_common(ctx, &ctx->conf_legacy, 1);
	if (mbedtls_ssl_conf_own_cert(&ctx->conf, &ctx->cert, &ctx->key) != 0 ||
	    mbedtls_ssl_conf_own_cert(&ctx->conf_legacy, &ctx->cert, &ctx->key) != 0)
		goto out;
	ctx->have_legacy = 1;
	ret = 0;
out:
	return ctx_hand_out(ctx, ret, out);
}

int nr_tls_client_ctx_new(struct nr_tls_ctx **out, const char *ca_file)
{
	struct nr_tls_ctx *ctx = NULL;
	int ret;

	*out = NULL;
	if (!ca_file)
		ca_file = NR_TLS_DEFAULT_CA;
	ret = ctx_alloc(&ctx, 0);
	if (ret != 0)
		goto out;
	ret = load_certs(ctx, "CA file ", ca_file, NR_TLS_CA_FILE_MAX);
	if (ret == NR_EINVAL || (ret >= 0 && ctx->cert.version == 0)) {
		nr_err("tls: no usable CA certificate in %s", ca_file);
		ret = NR_EINVAL;
		goto out;
	}
	if (ret < 0)
		goto out;
	if (ret > 0)
		nr_warn("tls: %d certificates in %s could not be parsed", ret, ca_file);

	ret = NR_ETLS;
	if (mbedtls_ssl_config_defaults(&ctx->conf, MBEDTLS_SSL_IS_CLIENT,
					MBEDTLS_SSL_TRANSPORT_STREAM,
					MBEDTLS_SSL_PRESET_DEFAULT) != 0)
		goto out;
	mbedtls_ssl_conf_rng(&ctx->conf, mbedtls_ctr_drbg_random, &ctx->drbg);
	mbedtls_ssl_conf_authmode(&ctx->conf, MBEDTLS_SSL_VERIFY_REQUIRED);
	mbedtls_ssl_conf_ca_chain(&ctx->conf, &ctx->cert, NULL);
	conf_min_version(&ctx->conf, 0);
	mbedtls_ssl_conf_ciphersuites(&ctx->conf, nr_tls_suites_modern);
	ret = 0;
out:
	return ctx_hand_out(ctx, ret, out);
}

const char *nr_tls_library(void)
{
	return MBEDTLS_VERSION_STRING_FULL;
}
