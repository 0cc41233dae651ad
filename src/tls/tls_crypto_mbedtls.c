/*
 * tls_crypto_mbedtls.c - the hash helpers of tls.h (PBKDF2-SHA256 for the
 * LAN users file, HMAC-MD5 for CRAM-MD5) on mbedTLS 2.28 and 3.6.
 */
#include "tls/tls.h"

#include <mbedtls/version.h>

#include <mbedtls/md.h>
#include <mbedtls/pkcs5.h>

#include "core/log.h"

int nr_tls_pbkdf2_sha256(const void *pw, size_t pwlen, const uint8_t *salt, size_t saltlen,
			 unsigned iterations, uint8_t *out, size_t outlen)
{
	int ret;

	if ((!pw && pwlen) || (!salt && saltlen) || !out || outlen == 0 || iterations == 0 ||
	    outlen > 0xffffffffu)
		return NR_EINVAL;
#if MBEDTLS_VERSION_NUMBER >= 0x03030000
	ret = mbedtls_pkcs5_pbkdf2_hmac_ext(MBEDTLS_MD_SHA256, pw, pwlen, salt, saltlen, iterations,
					    (uint32_t)outlen, out);
#else
	{
		mbedtls_md_context_t md;
		const mbedtls_md_info_t *info = mbedtls_md_info_from_type(MBEDTLS_MD_SHA256);

		mbedtls_md_init(&md);
		ret = info ? mbedtls_md_setup(&md, info, 1) : -1;
		if (ret == 0)
			ret = mbedtls_pkcs5_pbkdf2_hmac(&md, pw, pwlen, salt, saltlen, iterations,
							(uint32_t)outlen, out);
		mbedtls_md_free(&md);
	}
#endif
	if (ret != 0) {
		nr_warn("tls: PBKDF2-SHA256 failed (-0x%04x)", (unsigned)-ret);
		return NR_ETLS;
	}
	return 0;
}

int nr_tls_hmac_md5(const void *key, size_t keylen, const void *msg, size_t msglen, uint8_t out[16])
{
	const mbedtls_md_info_t *info = mbedtls_md_info_from_type(MBEDTLS_MD_MD5);

	if ((!key && keylen) || (!msg && msglen) || !out)
		return NR_EINVAL;
	if (!info)
		return NR_ENOTSUP;
	if (mbedtls_md_hmac(info, key, keylen, msg, msglen, out) != 0)
		return NR_ETLS;
	return 0;
}

int nr_tls_sha256(const void *msg, size_t len, uint8_t out[32])
{
	const mbedtls_md_info_t *info = mbedtls_md_info_from_type(MBEDTLS_MD_SHA256);

	if ((!msg && len) || !out)
		return NR_EINVAL;
	if (!info)
		return NR_ENOTSUP;
	if (mbedtls_md(info, msg, len, out) != 0)
		return NR_ETLS;
	return 0;
}
