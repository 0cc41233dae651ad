/*
 * tls_certgen_mbedtls.c - the self-signed LAN certificate that
 * nr_tls_server_ctx_new generates when none is configured (DESIGN.md: LAN
 * TLS works out of the box; devices that verify get the real one).
 */
#include "tls/tls_mbedtls_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/ecp.h>
#include <mbedtls/oid.h>
#include <mbedtls/platform_util.h>

#include "core/ascii.h"
#include "core/log.h"
#include "core/mem.h"
#include "proto/proto.h"

#define NR_TLS_GEN_YEARS 10

/* Only plain host names go into a DN string and a dNSName. */
static int hostname_ok(const char *h)
{
	size_t n = h ? strlen(h) : 0;

	if (n == 0 || n > 253)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = h[i];
		if (!(nr_ascii_isalnum(c) || c == '-' || c == '.'))
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

int nr_tls_certgen(mbedtls_ctr_drbg_context *drbg, const char *hostname, const char *crt_path,
		   const char *key_path)
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
	pem = nr_malloc(pem_size);
	if (!pem) {
		ret = NR_ENOMEM;
		goto out;
	}

	if (mbedtls_pk_setup(&pk, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY)) != 0 ||
	    mbedtls_ecp_gen_key(MBEDTLS_ECP_DP_SECP256R1, mbedtls_pk_ec(pk),
				mbedtls_ctr_drbg_random, drbg) != 0) {
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

	if (mbedtls_ctr_drbg_random(drbg, serial, sizeof(serial)) != 0)
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
		nr_tls_mbedtls_log("writing the key", ret);
		ret = NR_ETLS;
		goto out;
	}
	ret = nr_plat_file_write(key_path, pem, strlen((char *)pem), 0600);
	mbedtls_platform_zeroize(pem, pem_size);
	if (ret != 0) {
		nr_err("tls: cannot write %s: %s", key_path, nr_strerror(ret));
		goto out;
	}
	ret = mbedtls_x509write_crt_pem(&crt, pem, pem_size, mbedtls_ctr_drbg_random, drbg);
	if (ret != 0) {
		nr_tls_mbedtls_log("signing the certificate", ret);
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
	nr_free(pem);
	mbedtls_x509write_crt_free(&crt);
	mbedtls_pk_free(&pk);
	return ret;
}
