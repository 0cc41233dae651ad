/*
 * tls_mbedtls.c - src/tls/tls.h on mbedTLS 2.28 and 3.6.
 *
 * The only file (with tls_crypto_mbedtls.c) that includes mbedTLS. Sockets,
 * files, clocks and entropy come from platform.h; mbedTLS error codes are
 * translated here and logged with their original value.
 */
#include "tls/tls.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/version.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/ecp.h>
#include <mbedtls/error.h>
#include <mbedtls/md.h>
#include <mbedtls/oid.h>
#include <mbedtls/pk.h>
#include <mbedtls/platform_util.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>
#if defined(MBEDTLS_SSL_TICKET_C)
#include <mbedtls/ssl_ticket.h>
#endif

#include "core/log.h"
#include "proto/proto.h"

#if MBEDTLS_VERSION_NUMBER >= 0x03000000
#define NR_MBEDTLS3 1
#include <psa/crypto.h>
#else
#define NR_MBEDTLS3 0
#endif

/* The TLS 1.2 master secret of a session: compared to tell a resumed
 * handshake (3.x has no public getter for it). */
#if NR_MBEDTLS3
#define NR_SESSION_MASTER(s) ((s)->MBEDTLS_PRIVATE(master))
#else
#define NR_SESSION_MASTER(s) ((s)->master)
#endif

#if defined(MBEDTLS_SSL_TICKET_C) && defined(MBEDTLS_SSL_SESSION_TICKETS)
#define NR_TLS_TICKETS 1
#else
#define NR_TLS_TICKETS 0
#endif

#define NR_TLS_DEFAULT_CA "/etc/ssl/certs/ca-certificates.crt"
/* 2020-01-01T00:00:00Z: a wall clock before this has not been set. */
#define NR_TLS_MIN_WALL 1577836800LL
#define NR_TLS_CERT_FILE_MAX (256u * 1024u)
#define NR_TLS_CA_FILE_MAX (8u * 1024u * 1024u)
#define NR_TLS_SAVED_SESSIONS 4
#define NR_TLS_HOST_MAX 256
#define NR_TLS_GEN_YEARS 10
#define NR_TLS_DN_MAX 160
#define NR_TLS_NAMES_MAX 256

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

struct nr_tls_saved {
	int used;
	unsigned stamp;
	char host[NR_TLS_HOST_MAX];
	mbedtls_ssl_session session;
};

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

struct nr_tls {
	struct nr_tls_ctx *ctx;
	mbedtls_ssl_context ssl;
	nr_sock_t sock;
	int is_server;
	int handshake_done;
	int clock_checked;
	int fatal;      /* sticky NR_E... after a failure */
	int io_err;     /* platform error seen by the BIO callbacks */
	unsigned wants; /* NR_POLL_IN / NR_POLL_OUT after NR_EAGAIN */
	size_t wpend;   /* length of a write that returned WANT_WRITE */
	uint32_t verify_flags;
	int top_depth; /* chain top seen by the verify callback */
	int top_self_signed;
	int resume_offered;
	int resumed;
	unsigned char offer_master[48];
	char top_issuer[128];
	char host[NR_TLS_HOST_MAX];
	/* The server's own certificate as the verify callback saw it: kept
	 * also when verification fails, so test-upstream can say what the
	 * certificate is for. */
	int leaf_seen;
	char leaf_subject[NR_TLS_DN_MAX];
	char leaf_issuer[NR_TLS_DN_MAX];
	char leaf_expires[16];
	char leaf_names[NR_TLS_NAMES_MAX];
};

/* ---- helpers ---------------------------------------------------------------- */

static void log_mbedtls(const char *what, int ret)
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
	ctx = calloc(1, sizeof(*ctx));
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
		log_mbedtls("seeding the RNG from platform entropy", ret);
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
	free(ctx);
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
	free(data);
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
		free(data);
	}
	return ret != NR_ENOTFOUND;
}

static int load_cert_and_key(struct nr_tls_ctx *ctx, const char *cert_path, const char *key_path)
{
	char *data = NULL;
	size_t len = 0;
	int ret;

	ret = nr_plat_file_read(cert_path, NR_TLS_CERT_FILE_MAX, &data, &len);
	if (ret != 0) {
		nr_err("tls: cannot read %s: %s", cert_path, nr_strerror(ret));
		return ret;
	}
	/* PEM parsing wants the terminating NUL inside the length. */
	ret = mbedtls_x509_crt_parse(&ctx->cert, (const unsigned char *)data, len + 1);
	if (ret == 0 && sha256(data, len, ctx->source_sha256) != 0)
		ret = MBEDTLS_ERR_MD_BAD_INPUT_DATA;
	free(data);
	data = NULL;
	if (ret != 0) {
		log_mbedtls(cert_path, ret);
		return NR_EINVAL;
	}

	ret = nr_plat_file_read(key_path, NR_TLS_CERT_FILE_MAX, &data, &len);
	if (ret != 0) {
		nr_err("tls: cannot read %s: %s", key_path, nr_strerror(ret));
		return ret;
	}
#if NR_MBEDTLS3
	ret = mbedtls_pk_parse_key(&ctx->key, (const unsigned char *)data, len + 1, NULL, 0,
				   mbedtls_ctr_drbg_random, &ctx->drbg);
#else
	ret = mbedtls_pk_parse_key(&ctx->key, (const unsigned char *)data, len + 1, NULL, 0);
#endif
	mbedtls_platform_zeroize(data, len);
	free(data);
	if (ret != 0) {
		log_mbedtls(key_path, ret);
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

/* Only plain host names go into a DN string and a dNSName. */
static int hostname_ok(const char *h)
{
	size_t n = h ? strlen(h) : 0;

	if (n == 0 || n > 253)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = h[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '.'))
			return 0;
	}
	return 1;
}

/* "YYYYMMDDhhmmss" as mbedtls_x509write_crt_set_validity wants it. */
static void x509_time(char out[16], int64_t t, int add_years)
{
	int y;
	unsigned m, d;
	unsigned secs = (unsigned)(t % 86400);

	nr_civil_from_days(t / 86400, &y, &m, &d);
	if (m == 2 && d == 29 && add_years)
		d = 28;
	y = NR_MIN(NR_MAX(y + add_years, 0), 9999);
	snprintf(out, 16, "%04u%02u%02u%02u%02u%02u", (unsigned)y % 10000u, m % 100u, d % 100u,
		 secs / 3600 % 100u, secs / 60 % 60, secs % 60);
}

/* DER length prefix for n < 65536; returns bytes written. */
static size_t der_len(unsigned char *p, size_t n)
{
	if (n < 128) {
		p[0] = (unsigned char)n;
		return 1;
	}
	if (n < 256) {
		p[0] = 0x81;
		p[1] = (unsigned char)n;
		return 2;
	}
	p[0] = 0x82;
	p[1] = (unsigned char)(n >> 8);
	p[2] = (unsigned char)n;
	return 3;
}

static int generate_cert(struct nr_tls_ctx *ctx, const char *dir, const char *hostname,
			 char *crt_path, char *key_path, size_t path_size)
{
	int ret = NR_ETLS;
	mbedtls_pk_context pk;
	mbedtls_x509write_cert crt;
	unsigned char *pem = NULL;
	const size_t pem_size = 4096;
	unsigned char serial[16];
	unsigned char san[NR_TLS_HOST_MAX + 8];
	size_t hlen, inner, off = 0;
	char subject[NR_TLS_HOST_MAX + 8];
	char not_before[16], not_after[16];
	int64_t now = 0;

	mbedtls_pk_init(&pk);
	mbedtls_x509write_crt_init(&crt);
	if (!hostname_ok(hostname)) {
		nr_err("tls: cannot generate a certificate for hostname '%s'",
		       hostname ? hostname : "");
		ret = NR_EINVAL;
		goto out;
	}
	if ((size_t)snprintf(crt_path, path_size, "%s/lan.crt", dir) >= path_size ||
	    (size_t)snprintf(key_path, path_size, "%s/lan.key", dir) >= path_size) {
		ret = NR_EINVAL;
		goto out;
	}
	pem = malloc(pem_size);
	if (!pem) {
		ret = NR_ENOMEM;
		goto out;
	}

	if (mbedtls_pk_setup(&pk, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY)) != 0 ||
	    mbedtls_ecp_gen_key(MBEDTLS_ECP_DP_SECP256R1, mbedtls_pk_ec(pk),
				mbedtls_ctr_drbg_random, &ctx->drbg) != 0) {
		nr_err("tls: P-256 key generation failed");
		goto out;
	}

	if (nr_plat_wall_time(&now) != 0 || now < NR_TLS_MIN_WALL) {
		/* A box without a clock still needs a LAN certificate. */
		nr_warn("tls: wall clock not set; generated certificate valid from 2020-01-01");
		now = NR_TLS_MIN_WALL;
	}
	x509_time(not_before, now - 3600, 0);
	x509_time(not_after, now, NR_TLS_GEN_YEARS);

	if (mbedtls_ctr_drbg_random(&ctx->drbg, serial, sizeof(serial)) != 0)
		goto out;
	serial[0] &= 0x7f; /* positive INTEGER */
	serial[0] |= 0x01; /* and no leading zero */

	/* subjectAltName ::= SEQUENCE { dNSName [2] IMPLICIT IA5String } */
	hlen = strlen(hostname);
	inner = 1 + (hlen < 128 ? 1 : 2) + hlen;
	san[off++] = 0x30;
	off += der_len(san + off, inner);
	san[off++] = 0x82;
	off += der_len(san + off, hlen);
	memcpy(san + off, hostname, hlen);
	off += hlen;
	snprintf(subject, sizeof(subject), "CN=%s", hostname);

	mbedtls_x509write_crt_set_version(&crt, MBEDTLS_X509_CRT_VERSION_3);
	mbedtls_x509write_crt_set_md_alg(&crt, MBEDTLS_MD_SHA256);
	mbedtls_x509write_crt_set_subject_key(&crt, &pk);
	mbedtls_x509write_crt_set_issuer_key(&crt, &pk);
	{
#if MBEDTLS_VERSION_NUMBER >= 0x03040000
		int r = mbedtls_x509write_crt_set_serial_raw(&crt, serial, sizeof(serial));
#else
		mbedtls_mpi mpi;
		int r;
		mbedtls_mpi_init(&mpi);
		r = mbedtls_mpi_read_binary(&mpi, serial, sizeof(serial));
		if (r == 0)
			r = mbedtls_x509write_crt_set_serial(&crt, &mpi);
		mbedtls_mpi_free(&mpi);
#endif
		if (r != 0 || mbedtls_x509write_crt_set_subject_name(&crt, subject) != 0 ||
		    mbedtls_x509write_crt_set_issuer_name(&crt, subject) != 0 ||
		    mbedtls_x509write_crt_set_validity(&crt, not_before, not_after) != 0 ||
		    mbedtls_x509write_crt_set_basic_constraints(&crt, 0, -1) != 0 ||
		    mbedtls_x509write_crt_set_key_usage(&crt, MBEDTLS_X509_KU_DIGITAL_SIGNATURE) !=
			0 ||
		    mbedtls_x509write_crt_set_extension(
			&crt, MBEDTLS_OID_SUBJECT_ALT_NAME,
			MBEDTLS_OID_SIZE(MBEDTLS_OID_SUBJECT_ALT_NAME), 0, san, off) != 0) {
			nr_err("tls: building the certificate failed");
			goto out;
		}
	}

	ret = mbedtls_pk_write_key_pem(&pk, pem, pem_size);
	if (ret != 0) {
		log_mbedtls("writing the key", ret);
		ret = NR_ETLS;
		goto out;
	}
	ret = nr_plat_file_write(key_path, pem, strlen((char *)pem), 0600);
	mbedtls_platform_zeroize(pem, pem_size);
	if (ret != 0) {
		nr_err("tls: cannot write %s: %s", key_path, nr_strerror(ret));
		goto out;
	}
	ret = mbedtls_x509write_crt_pem(&crt, pem, pem_size, mbedtls_ctr_drbg_random, &ctx->drbg);
	if (ret != 0) {
		log_mbedtls("signing the certificate", ret);
		ret = NR_ETLS;
		goto out;
	}
	ret = nr_plat_file_write(crt_path, pem, strlen((char *)pem), 0600);
	if (ret != 0) {
		nr_err("tls: cannot write %s: %s", crt_path, nr_strerror(ret));
		goto out;
	}
	nr_info("tls: generated a self-signed ECDSA P-256 certificate for %s in %s", hostname,
		crt_path);
	ret = 0;
out:
	free(pem);
	mbedtls_x509write_crt_free(&crt);
	mbedtls_pk_free(&pk);
	return ret;
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
		if ((size_t)snprintf(gen_crt, sizeof(gen_crt), "%s/lan.crt", generate_dir) >=
			sizeof(gen_crt) ||
		    (size_t)snprintf(gen_key, sizeof(gen_key), "%s/lan.key", generate_dir) >=
			sizeof(gen_key)) {
			ret = NR_EINVAL;
			goto out;
		}
		if (!(file_exists(gen_crt) && file_exists(gen_key)))
			ret = generate_cert(ctx, generate_dir, hostname, gen_crt, gen_key,
					    sizeof(gen_crt));
		if (ret == 0)
			ret = load_cert_and_key(ctx, gen_crt, gen_key);
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
	if (ret != 0) {
		nr_tls_ctx_free(ctx);
		return ret;
	}
	*out = ctx;
	return 0;
}

int nr_tls_client_ctx_new(struct nr_tls_ctx **out, const char *ca_file)
{
	struct nr_tls_ctx *ctx = NULL;
	char *data = NULL;
	size_t len = 0;
	int ret;

	*out = NULL;
	if (!ca_file)
		ca_file = NR_TLS_DEFAULT_CA;
	ret = ctx_alloc(&ctx, 0);
	if (ret != 0)
		goto out;
	ret = nr_plat_file_read(ca_file, NR_TLS_CA_FILE_MAX, &data, &len);
	if (ret != 0) {
		nr_err("tls: cannot read CA file %s: %s", ca_file, nr_strerror(ret));
		goto out;
	}
	ret = mbedtls_x509_crt_parse(&ctx->cert, (const unsigned char *)data, len + 1);
	if (ret >= 0 && sha256(data, len, ctx->source_sha256) != 0)
		ret = MBEDTLS_ERR_MD_BAD_INPUT_DATA;
	free(data);
	if (ret < 0 || ctx->cert.version == 0) {
		if (ret < 0)
			log_mbedtls(ca_file, ret);
		nr_err("tls: no usable CA certificate in %s", ca_file);
		ret = NR_EINVAL;
		goto out;
	}
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
	if (ret != 0) {
		nr_tls_ctx_free(ctx);
		return ret;
	}
	*out = ctx;
	return 0;
}

/* ---- sessions ------------------------------------------------------------------ */

static int bio_send(void *p, const unsigned char *buf, size_t len)
{
	struct nr_tls *t = p;
	long n = nr_plat_sock_write(t->sock, buf, NR_MIN(len, (size_t)0x7fffffff));

	if (n > 0)
		return (int)n;
	if (n == NR_EAGAIN)
		return MBEDTLS_ERR_SSL_WANT_WRITE;
	t->io_err = n < 0 ? (int)n : NR_EIO;
	return MBEDTLS_ERR_SSL_INTERNAL_ERROR;
}

static int bio_recv(void *p, unsigned char *buf, size_t len)
{
	struct nr_tls *t = p;
	long n = nr_plat_sock_read(t->sock, buf, NR_MIN(len, (size_t)0x7fffffff));

	if (n > 0)
		return (int)n;
	if (n == NR_EAGAIN)
		return MBEDTLS_ERR_SSL_WANT_READ;
	if (n == NR_ECLOSED || n == 0)
		return 0; /* EOF */
	t->io_err = (int)n;
	return MBEDTLS_ERR_SSL_INTERNAL_ERROR;
}

static void dn_text(char *dst, size_t size, const mbedtls_x509_name *dn)
{
	if (mbedtls_x509_dn_gets(dst, size, dn) < 0)
		dst[0] = '\0';
}

/* The dNSName entries of subjectAltName, blank separated (cut at a whole
 * name); without any, the subject CN (RFC 6125 6.4.4). */
static void leaf_names(char *dst, size_t size, const mbedtls_x509_crt *crt)
{
	const mbedtls_x509_sequence *seq;
	const mbedtls_x509_name *n;
	size_t used = 0;

	dst[0] = '\0';
	for (seq = &crt->subject_alt_names; seq && seq->buf.p; seq = seq->next) {
		if (seq->buf.tag != (MBEDTLS_ASN1_CONTEXT_SPECIFIC | MBEDTLS_X509_SAN_DNS_NAME))
			continue;
		if (used + seq->buf.len + 2 > size)
			break;
		if (used)
			dst[used++] = ' ';
		memcpy(dst + used, seq->buf.p, seq->buf.len);
		used += seq->buf.len;
		dst[used] = '\0';
	}
	if (used)
		return;
	for (n = &crt->subject; n; n = n->next)
		if (MBEDTLS_OID_CMP(MBEDTLS_OID_AT_CN, &n->oid) == 0 && n->val.len + 1 <= size) {
			memcpy(dst, n->val.p, n->val.len);
			dst[n->val.len] = '\0';
		}
}

static void keep_leaf(struct nr_tls *t, const mbedtls_x509_crt *crt)
{
	size_t i;

	t->leaf_seen = 1;
	dn_text(t->leaf_subject, sizeof(t->leaf_subject), &crt->subject);
	dn_text(t->leaf_issuer, sizeof(t->leaf_issuer), &crt->issuer);
	snprintf(t->leaf_expires, sizeof(t->leaf_expires), "%04d-%02d-%02d", crt->valid_to.year,
		 crt->valid_to.mon, crt->valid_to.day);
	leaf_names(t->leaf_names, sizeof(t->leaf_names), crt);
	/* Peer text: keep it printable. */
	for (i = 0; t->leaf_names[i]; i++)
		if ((unsigned char)t->leaf_names[i] < 0x20 ||
		    (unsigned char)t->leaf_names[i] > 0x7e)
			t->leaf_names[i] = '?';
}

/* Remember the top of the verified chain: it tells a self-signed or
 * unknown root apart from a server that did not send its intermediate.
 * The leaf (depth 0) is kept for nr_tls_peer_cert(). */
static int verify_cb(void *p, mbedtls_x509_crt *crt, int depth, uint32_t *flags)
{
	struct nr_tls *t = p;

	(void)flags;
	if (depth == 0)
		keep_leaf(t, crt);
	if (depth >= t->top_depth) {
		t->top_depth = depth;
		t->top_self_signed =
		    crt->issuer_raw.len == crt->subject_raw.len &&
		    memcmp(crt->issuer_raw.p, crt->subject_raw.p, crt->subject_raw.len) == 0;
		if (mbedtls_x509_dn_gets(t->top_issuer, sizeof(t->top_issuer), &crt->issuer) < 0)
			t->top_issuer[0] = '\0';
	}
	return 0;
}

static int session_new(struct nr_tls **out, struct nr_tls_ctx *ctx, nr_sock_t sock,
		       const mbedtls_ssl_config *conf)
{
	struct nr_tls *t;

	*out = NULL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return NR_ENOMEM;
	t->ctx = ctx;
	ctx->refs++; /* nr_tls_free drops it, also on the failure below */
	t->sock = sock;
	t->is_server = ctx->is_server;
	t->top_depth = -1;
	mbedtls_ssl_init(&t->ssl);
	if (mbedtls_ssl_setup(&t->ssl, conf) != 0) {
		nr_tls_free(t);
		return NR_ENOMEM;
	}
	mbedtls_ssl_set_bio(&t->ssl, t, bio_send, bio_recv, NULL);
	*out = t;
	return 0;
}

int nr_tls_server_new(struct nr_tls **out, struct nr_tls_ctx *ctx, nr_sock_t sock, int legacy_ok)
{
	*out = NULL;
	if (!ctx || !ctx->is_server)
		return NR_EINVAL;
	return session_new(out, ctx, sock,
			   legacy_ok && ctx->have_legacy ? &ctx->conf_legacy : &ctx->conf);
}

static struct nr_tls_saved *saved_find(struct nr_tls_ctx *ctx, const char *host)
{
	for (size_t i = 0; i < NR_TLS_SAVED_SESSIONS; i++)
		if (ctx->saved[i].used && strcmp(ctx->saved[i].host, host) == 0)
			return &ctx->saved[i];
	return NULL;
}

int nr_tls_client_new(struct nr_tls **out, struct nr_tls_ctx *ctx, nr_sock_t sock,
		      const char *hostname)
{
	struct nr_tls *t = NULL;
	struct nr_tls_saved *s;
	int ret;

	*out = NULL;
	if (!ctx || ctx->is_server || !hostname || !*hostname ||
	    strlen(hostname) >= NR_TLS_HOST_MAX)
		return NR_EINVAL;
	ret = session_new(&t, ctx, sock, &ctx->conf);
	if (ret != 0)
		return ret;
	memcpy(t->host, hostname, strlen(hostname) + 1);
	/* SNI and the certificate name check (2.28 checks no name without it). */
	ret = mbedtls_ssl_set_hostname(&t->ssl, hostname);
	if (ret != 0) {
		log_mbedtls("setting the hostname", ret);
		nr_tls_free(t);
		return NR_EINVAL;
	}
	mbedtls_ssl_set_verify(&t->ssl, verify_cb, t);
	s = saved_find(ctx, hostname);
	if (s && mbedtls_ssl_set_session(&t->ssl, &s->session) == 0) {
		t->resume_offered = 1;
		memcpy(t->offer_master, NR_SESSION_MASTER(&s->session), sizeof(t->offer_master));
	}
	*out = t;
	return 0;
}

static int is_tls13(const struct nr_tls *t)
{
#if NR_MBEDTLS3
	return mbedtls_ssl_get_version_number(&t->ssl) == MBEDTLS_SSL_VERSION_TLS1_3;
#else
	(void)t;
	return 0;
#endif
}

static void save_session(struct nr_tls *t);

void nr_tls_free(struct nr_tls *t)
{
	struct nr_tls_ctx *ctx;

	if (!t)
		return;
	/* A TLS 1.3 ticket arrives after the handshake: keep it now. */
	if (!t->is_server && t->handshake_done && !t->fatal && is_tls13(t))
		save_session(t);
	ctx = t->ctx;
	mbedtls_ssl_free(&t->ssl);
	mbedtls_platform_zeroize(t, sizeof(*t));
	free(t);
	nr_tls_ctx_free(ctx); /* the session's reference */
}

static void save_session(struct nr_tls *t)
{
	struct nr_tls_ctx *ctx = t->ctx;
	struct nr_tls_saved *s = saved_find(ctx, t->host);

	if (!s) {
		s = &ctx->saved[0];
		for (size_t i = 0; i < NR_TLS_SAVED_SESSIONS; i++) {
			if (!ctx->saved[i].used) {
				s = &ctx->saved[i];
				break;
			}
			if (ctx->saved[i].stamp < s->stamp)
				s = &ctx->saved[i];
		}
	}
	mbedtls_ssl_session_free(&s->session);
	mbedtls_ssl_session_init(&s->session);
	s->used = mbedtls_ssl_get_session(&t->ssl, &s->session) == 0;
	s->stamp = ++ctx->stamp;
	memcpy(s->host, t->host, sizeof(s->host));
	/* TLS 1.2 resumption keeps the master secret of the offered session. */
	if (s->used && t->resume_offered && !is_tls13(t))
		t->resumed = memcmp(NR_SESSION_MASTER(&s->session), t->offer_master,
				    sizeof(t->offer_master)) == 0;
}

/* Translate an mbedTLS failure; NR_EAGAIN keeps the session usable. */
static int fail(struct nr_tls *t, int ret, const char *what)
{
	switch (ret) {
	case MBEDTLS_ERR_SSL_WANT_READ:
		t->wants = NR_POLL_IN;
		return NR_EAGAIN;
	case MBEDTLS_ERR_SSL_WANT_WRITE:
		t->wants = NR_POLL_OUT;
		return NR_EAGAIN;
	case MBEDTLS_ERR_X509_CERT_VERIFY_FAILED: {
		char why[256];
		t->verify_flags = mbedtls_ssl_get_verify_result(&t->ssl);
		nr_warn("tls: %s: certificate rejected: %s", t->host,
			nr_tls_verify_text(t, why, sizeof(why)));
		t->fatal = NR_ECERT;
		return t->fatal;
	}
	case MBEDTLS_ERR_SSL_CONN_EOF:
	case MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY:
		t->fatal = NR_ECLOSED;
		return t->fatal;
	default:
		break;
	}
	if (t->io_err) {
		t->fatal = t->io_err;
		return t->fatal;
	}
	log_mbedtls(what, ret);
	t->fatal = NR_ETLS;
	return t->fatal;
}

static int handshake_step(struct nr_tls *t)
{
	int ret;

	if (t->fatal)
		return t->fatal;
	if (t->handshake_done)
		return 0;
	if (!t->is_server && !t->clock_checked) {
		int64_t now = 0;
		/* Expiry cannot be checked at 1970: defer, never skip it. */
		if (nr_plat_wall_time(&now) != 0 || now < NR_TLS_MIN_WALL) {
			nr_warn("tls: %s: wall clock not set, cannot verify certificates", t->host);
			t->fatal = NR_ECLOCK;
			return t->fatal;
		}
		t->clock_checked = 1;
	}
	ret = mbedtls_ssl_handshake(&t->ssl);
	if (ret != 0)
		return fail(t, ret, "handshake");
	t->handshake_done = 1;
	t->wants = 0;
	if (!t->is_server && !is_tls13(t))
		save_session(t);
	nr_debug("tls: %s %s %s%s", t->is_server ? "server" : t->host, nr_tls_version(t),
		 nr_tls_ciphersuite(t), t->resumed ? " (resumed)" : "");
	return 0;
}

int nr_tls_handshake(struct nr_tls *t)
{
	return handshake_step(t);
}

long nr_tls_read(struct nr_tls *t, void *buf, size_t len)
{
	int ret = handshake_step(t);

	if (ret != 0)
		return ret;
	if (len == 0)
		return 0;
	for (;;) {
		ret = mbedtls_ssl_read(&t->ssl, buf, NR_MIN(len, (size_t)0x7fffffff));
		if (ret > 0)
			return ret;
		if (ret == 0) {
			t->fatal = NR_ECLOSED;
			return NR_ECLOSED;
		}
#if defined(MBEDTLS_ERR_SSL_RECEIVED_NEW_SESSION_TICKET)
		/* TLS 1.3 ticket after the handshake: keep it for resumption. */
		if (ret == MBEDTLS_ERR_SSL_RECEIVED_NEW_SESSION_TICKET)
			continue;
#endif
		return fail(t, ret, "read");
	}
}

long nr_tls_write(struct nr_tls *t, const void *buf, size_t len)
{
	int ret = handshake_step(t);
	size_t n;

	if (ret != 0)
		return ret;
	if (len == 0)
		return 0;
	/* After WANT_WRITE mbedTLS must see the same length again: it already
	 * encrypted that record and only reports its size. */
	if (t->wpend) {
		if (len < t->wpend)
			return NR_ESTATE;
		n = t->wpend;
	} else {
		int max = mbedtls_ssl_get_max_out_record_payload(&t->ssl);
		n = NR_MIN(len, max > 0 ? (size_t)max : (size_t)1024);
	}
	ret = mbedtls_ssl_write(&t->ssl, buf, n);
	if (ret > 0) {
		t->wpend = 0;
		return ret;
	}
	if (ret == MBEDTLS_ERR_SSL_WANT_WRITE || ret == MBEDTLS_ERR_SSL_WANT_READ)
		t->wpend = n;
	return fail(t, ret, "write");
}

size_t nr_tls_pending(const struct nr_tls *t)
{
	return t && t->handshake_done ? mbedtls_ssl_get_bytes_avail(&t->ssl) : 0;
}

unsigned nr_tls_wants(const struct nr_tls *t)
{
	return t->wants ? t->wants : NR_POLL_IN;
}

void nr_tls_close_notify(struct nr_tls *t)
{
	if (!t || t->fatal || !t->handshake_done)
		return;
	(void)mbedtls_ssl_close_notify(&t->ssl);
}

const char *nr_tls_version(const struct nr_tls *t)
{
	return mbedtls_ssl_get_version(&t->ssl);
}

const char *nr_tls_ciphersuite(const struct nr_tls *t)
{
	const char *s = mbedtls_ssl_get_ciphersuite(&t->ssl);
	return s ? s : "none";
}

int nr_tls_resumed(const struct nr_tls *t)
{
	return t->resumed;
}

static void add_reason(char *dst, size_t size, size_t *used, const char *text)
{
	int n;

	if (*used >= size)
		return;
	n = snprintf(dst + *used, size - *used, "%s%s", *used ? "; " : "", text);
	if (n > 0)
		*used = NR_MIN(size - 1, *used + (size_t)n);
}

const char *nr_tls_verify_text(const struct nr_tls *t, char *dst, size_t size)
{
	uint32_t f = t->verify_flags;
	size_t used = 0;
	char buf[NR_TLS_HOST_MAX + 160];

	if (!dst || size == 0)
		return "";
	dst[0] = '\0';
	if (t->fatal == NR_ECLOCK) {
		add_reason(dst, size, &used, "wall clock not set (cannot check certificate dates)");
		return dst;
	}
	if (f == 0) {
		add_reason(dst, size, &used, t->fatal == NR_ECERT ? "certificate rejected" : "ok");
		return dst;
	}
	if (f & MBEDTLS_X509_BADCERT_EXPIRED)
		add_reason(dst, size, &used, "certificate has expired");
	if (f & MBEDTLS_X509_BADCERT_FUTURE)
		add_reason(dst, size, &used, "certificate is not yet valid");
	if (f & MBEDTLS_X509_BADCERT_CN_MISMATCH) {
		snprintf(buf, sizeof(buf), "hostname does not match %s", t->host);
		add_reason(dst, size, &used, buf);
	}
	if (f & MBEDTLS_X509_BADCERT_NOT_TRUSTED) {
		if (t->top_depth >= 0 && !t->top_self_signed) {
			snprintf(buf, sizeof(buf),
				 "chain incomplete (issuer %s not sent by the server and not "
				 "trusted)",
				 t->top_issuer[0] ? t->top_issuer : "unknown");
			add_reason(dst, size, &used, buf);
		} else {
			add_reason(dst, size, &used,
				   "issuer not trusted (self-signed or unknown CA)");
		}
	}
	if (f & MBEDTLS_X509_BADCERT_REVOKED)
		add_reason(dst, size, &used, "certificate has been revoked");
	if (f & (MBEDTLS_X509_BADCERT_KEY_USAGE | MBEDTLS_X509_BADCERT_EXT_KEY_USAGE |
		 MBEDTLS_X509_BADCERT_NS_CERT_TYPE))
		add_reason(dst, size, &used, "certificate is not for TLS servers");
	if (f & MBEDTLS_X509_BADCERT_BAD_MD)
		add_reason(dst, size, &used, "weak signature algorithm");
	if (f & (MBEDTLS_X509_BADCERT_BAD_PK | MBEDTLS_X509_BADCERT_BAD_KEY))
		add_reason(dst, size, &used, "unacceptable key type or size");
	if (used == 0) {
		snprintf(buf, sizeof(buf), "verification failed (flags 0x%05lx)", (unsigned long)f);
		add_reason(dst, size, &used, buf);
	}
	return dst;
}

int nr_tls_peer_cert(const struct nr_tls *t, char *subject, size_t ssize, char *issuer,
		     size_t isize, char *expires, size_t esize)
{
	const mbedtls_x509_crt *crt;

	if (t->leaf_seen) { /* also after a failed verification */
		if (subject && ssize)
			snprintf(subject, ssize, "%s", t->leaf_subject);
		if (issuer && isize)
			snprintf(issuer, isize, "%s", t->leaf_issuer);
		if (expires && esize)
			snprintf(expires, esize, "%s", t->leaf_expires);
		return 0;
	}
	crt = mbedtls_ssl_get_peer_cert(&t->ssl); /* a resumed session */
	if (!crt)
		return NR_ENOTFOUND;
	if (subject && ssize)
		dn_text(subject, ssize, &crt->subject);
	if (issuer && isize)
		dn_text(issuer, isize, &crt->issuer);
	if (expires && esize)
		snprintf(expires, esize, "%04d-%02d-%02d", crt->valid_to.year, crt->valid_to.mon,
			 crt->valid_to.day);
	return 0;
}

const char *nr_tls_peer_names(const struct nr_tls *t, char *dst, size_t size)
{
	const mbedtls_x509_crt *crt;

	if (!dst || size == 0)
		return "";
	dst[0] = '\0';
	if (t->leaf_seen) {
		snprintf(dst, size, "%s", t->leaf_names);
		return dst;
	}
	crt = mbedtls_ssl_get_peer_cert(&t->ssl);
	if (crt)
		leaf_names(dst, size, crt);
	return dst;
}

const char *nr_tls_library(void)
{
	return MBEDTLS_VERSION_STRING_FULL;
}
