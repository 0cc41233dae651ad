/*
 * nanorelay-3.6.h - the project's mbedTLS 3.6 configuration: what
 * nanorelay-2.28.h keeps (read its header for who needs what), plus TLS 1.3
 * for the upstream client and the LAN server, in 3.6's terms.
 *
 * Build mbedTLS 3.6 with -DMBEDTLS_CONFIG_FILE="<this file>" and install
 * it as the prefix's include/mbedtls/mbedtls_config.h (nanorelay must see
 * the configuration the library was built with). tests/compat/musl-static.sh
 * does so with NR_MUSL_MBEDTLS=3.6.
 *
 * Differences from the 2.28 file:
 *   - TLS 1.3 (ephemeral ECDHE key exchange; RSA certificates sign with
 *     RSA-PSS there, hence PKCS#1 v2.1), which needs the PSA crypto core
 *     and HKDF;
 *   - the PSA core needs an RNG of its own: the entropy module with the
 *     platform's source (getrandom on Linux; a board without one defines
 *     MBEDTLS_ENTROPY_HARDWARE_ALT and mbedtls_hardware_poll);
 *   - 3.x has no TLS 1.0/1.1: legacy_tls= listeners get TLS 1.2 with the
 *     CBC suites as well (tls_mbedtls.c);
 *   - SHA-384 is its own module; a 3.x config does not include
 *     check_config.h (build_info.h does).
 */
#ifndef NANORELAY_MBEDTLS36_CONFIG_H
#define NANORELAY_MBEDTLS36_CONFIG_H

/* ---- system support ---------------------------------------------------- */
#define MBEDTLS_HAVE_ASM
#define MBEDTLS_HAVE_TIME
#define MBEDTLS_HAVE_TIME_DATE /* certificate validity */

/* ---- symmetric ciphers and modes --------------------------------------- */
#define MBEDTLS_AES_C
#define MBEDTLS_AESNI_C /* x86-64 only; compiles to nothing elsewhere */
#define MBEDTLS_GCM_C
#define MBEDTLS_CHACHA20_C
#define MBEDTLS_POLY1305_C
#define MBEDTLS_CHACHAPOLY_C
#define MBEDTLS_CIPHER_C
#define MBEDTLS_CIPHER_MODE_CBC /* legacy_tls suites only */
#define MBEDTLS_CIPHER_PADDING_PKCS7

/* ---- hashes, MAC, DRBG ------------------------------------------------- */
#define MBEDTLS_MD_C
#define MBEDTLS_MD5_C
#define MBEDTLS_SHA1_C
#define MBEDTLS_SHA256_C
#define MBEDTLS_SHA384_C
#define MBEDTLS_SHA512_C
#define MBEDTLS_HKDF_C /* TLS 1.3 key schedule */
#define MBEDTLS_PKCS5_C
#define MBEDTLS_ENTROPY_C /* the PSA core's own RNG */
#define MBEDTLS_CTR_DRBG_C
#define MBEDTLS_HMAC_DRBG_C /* deterministic ECDSA signatures */

/* ---- public keys --------------------------------------------------------- */
#define MBEDTLS_BIGNUM_C
#define MBEDTLS_OID_C
#define MBEDTLS_ASN1_PARSE_C
#define MBEDTLS_ASN1_WRITE_C
#define MBEDTLS_BASE64_C
#define MBEDTLS_PEM_PARSE_C
#define MBEDTLS_PEM_WRITE_C
#define MBEDTLS_PK_C
#define MBEDTLS_PK_PARSE_C
#define MBEDTLS_PK_WRITE_C
#define MBEDTLS_RSA_C
#define MBEDTLS_PKCS1_V15
#define MBEDTLS_PKCS1_V21 /* RSA-PSS: TLS 1.3 with RSA certificates */
#define MBEDTLS_PSA_CRYPTO_C
#define MBEDTLS_ECP_C
#define MBEDTLS_ECP_NIST_OPTIM
#define MBEDTLS_ECP_DP_SECP256R1_ENABLED
#define MBEDTLS_ECP_DP_SECP384R1_ENABLED
#define MBEDTLS_ECP_DP_SECP521R1_ENABLED
#define MBEDTLS_ECP_DP_CURVE25519_ENABLED
#define MBEDTLS_ECDH_C
#define MBEDTLS_ECDSA_C
#define MBEDTLS_ECDSA_DETERMINISTIC

/* ---- X.509 ----------------------------------------------------------------- */
#define MBEDTLS_X509_USE_C
#define MBEDTLS_X509_CRT_PARSE_C
#define MBEDTLS_X509_CHECK_KEY_USAGE
#define MBEDTLS_X509_CHECK_EXTENDED_KEY_USAGE
#define MBEDTLS_X509_CREATE_C /* the generated LAN certificate */
#define MBEDTLS_X509_CRT_WRITE_C

/* ---- TLS ------------------------------------------------------------------- */
#define MBEDTLS_SSL_TLS_C
#define MBEDTLS_SSL_CLI_C
#define MBEDTLS_SSL_SRV_C
#define MBEDTLS_SSL_PROTO_TLS1_2
#define MBEDTLS_SSL_PROTO_TLS1_3
#define MBEDTLS_SSL_TLS1_3_KEY_EXCHANGE_MODE_EPHEMERAL_ENABLED
#define MBEDTLS_SSL_TLS1_3_COMPATIBILITY_MODE /* middleboxes */
#define MBEDTLS_KEY_EXCHANGE_ECDHE_ECDSA_ENABLED
#define MBEDTLS_KEY_EXCHANGE_ECDHE_RSA_ENABLED
#define MBEDTLS_SSL_SERVER_NAME_INDICATION /* SNI, and the hostname check */
#define MBEDTLS_SSL_EXTENDED_MASTER_SECRET
#define MBEDTLS_SSL_ENCRYPT_THEN_MAC
#define MBEDTLS_SSL_SESSION_TICKETS
#define MBEDTLS_SSL_TICKET_C
#define MBEDTLS_SSL_KEEP_PEER_CERTIFICATE /* the peer's name in log lines */
#define MBEDTLS_SSL_ALL_ALERT_MESSAGES
#define MBEDTLS_ERROR_C

/* Only the suites tls_mbedtls.c asks for (its modern and legacy lists):
 * the rest of mbedTLS's table is not compiled in. */
#define MBEDTLS_SSL_CIPHERSUITES                                                                   \
	MBEDTLS_TLS1_3_AES_128_GCM_SHA256, MBEDTLS_TLS1_3_AES_256_GCM_SHA384,                      \
	    MBEDTLS_TLS1_3_CHACHA20_POLY1305_SHA256,                                               \
	    MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,                                       \
	    MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,                                       \
	    MBEDTLS_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,                                 \
	    MBEDTLS_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,                                         \
	    MBEDTLS_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,                                         \
	    MBEDTLS_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,                                   \
	    MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA,                                          \
	    MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA,                                          \
	    MBEDTLS_TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA, MBEDTLS_TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA

#endif /* NANORELAY_MBEDTLS36_CONFIG_H */
