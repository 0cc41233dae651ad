/*
 * nanorelay-2.28.h - the project's mbedTLS 2.28 configuration: only what the
 * relay uses (src/tls/ is the one place that calls mbedTLS).
 *
 * Used by the static builds (tests/compat/musl-static.sh): mbedTLS is built
 * from Debian 12's source package with
 *     -DMBEDTLS_CONFIG_FILE="<this file>"
 * and this file is then installed as the prefix's include/mbedtls/config.h,
 * so that nanorelay compiles against the same structures the library was
 * built with (a mismatch changes struct layouts silently).
 *
 * What it keeps, and who needs it:
 *   TLS 1.2 client    upstream STARTTLS and implicit TLS (tls_mbedtls.c)
 *   TLS 1.2 server    LAN STARTTLS/465 (NR_LAN_TLS)
 *   TLS 1.0/1.1, CBC  only for listeners with legacy_tls= (old printers);
 *                     the adapter never offers them otherwise
 *   ECDHE-ECDSA, ECDHE-RSA with AES-GCM and ChaCha20-Poly1305 (the modern
 *                     list of tls_mbedtls.c); ECDHE with AES-CBC-SHA1 (legacy)
 *   curves            P-256 (the generated LAN key), P-384 and P-521 (CA
 *                     chains: many ECDSA roots and intermediates are P-384),
 *                     X25519 (what most servers prefer for key exchange)
 *   X.509             parsing and verification of chains (RSA PKCS#1 v1.5
 *                     and ECDSA signatures, SHA-1 to SHA-512), PEM input
 *   certificate generator  tls_certgen_mbedtls.c: EC key generation, PK and
 *                     X.509 writing, PEM output
 *   hashes            SHA-256 (PBKDF2 of the users file, OAuth2 PKCE), MD5
 *                     (HMAC-MD5 of CRAM-MD5); SHA-1 and SHA-384/512 for
 *                     certificates and the legacy suites
 *   PKCS#5            PBKDF2-HMAC-SHA256 (src/users)
 *   session tickets   server tickets and client resumption
 * What it leaves out: entropy collection (CTR_DRBG is seeded from
 * nr_plat_entropy), file I/O (the adapter reads files itself), the net and
 * timing modules, DTLS, renegotiation, RSA key exchange, DHE, PSK, CCM, DES,
 * ARC4, Camellia, ARIA, RIPEMD, RSA key generation, debug output, self tests,
 * and (for size, issue 17's 400 KB static build):
 *   error strings     MBEDTLS_ERROR_C (14 KB): the adapter's log lines give
 *                     mbedTLS's code alone, e.g. "(-0x2700)"; the
 *                     descriptions are in mbedTLS's error.c or
 *                     `programs/util/strerror` of a full build
 *   deterministic ECDSA  (HMAC_DRBG): signatures take their nonce from the
 *                     CTR_DRBG, which is seeded from the platform's strong
 *                     source and fails closed
 *   unrolled SHA-256/512  (the *_SMALLER loops instead)
 *
 * A 2.28 custom config ends with check_config.h (3.x configs must not).
 */
#ifndef NANORELAY_MBEDTLS_CONFIG_H
#define NANORELAY_MBEDTLS_CONFIG_H

/* ---- system support ---------------------------------------------------- */
#define MBEDTLS_HAVE_ASM
#define MBEDTLS_HAVE_TIME
#define MBEDTLS_HAVE_TIME_DATE /* certificate validity */
#define MBEDTLS_NO_PLATFORM_ENTROPY

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
#define MBEDTLS_SHA256_SMALLER /* a loop, not unrolled rounds: 1.5 KB less */
#define MBEDTLS_SHA512_C
#define MBEDTLS_SHA512_SMALLER /* the same for SHA-384/512 */
#define MBEDTLS_PKCS5_C
#define MBEDTLS_CTR_DRBG_C

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
#define MBEDTLS_ECP_C
#define MBEDTLS_ECP_NIST_OPTIM
#define MBEDTLS_ECP_DP_SECP256R1_ENABLED
#define MBEDTLS_ECP_DP_SECP384R1_ENABLED
#define MBEDTLS_ECP_DP_SECP521R1_ENABLED
#define MBEDTLS_ECP_DP_CURVE25519_ENABLED
#define MBEDTLS_ECDH_C
#define MBEDTLS_ECDSA_C

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
#define MBEDTLS_SSL_PROTO_TLS1   /* legacy_tls= listeners only */
#define MBEDTLS_SSL_PROTO_TLS1_1 /* legacy_tls= listeners only */
#define MBEDTLS_KEY_EXCHANGE_ECDHE_ECDSA_ENABLED
#define MBEDTLS_KEY_EXCHANGE_ECDHE_RSA_ENABLED
#define MBEDTLS_SSL_SERVER_NAME_INDICATION /* SNI, and the hostname check */
#define MBEDTLS_SSL_EXTENDED_MASTER_SECRET
#define MBEDTLS_SSL_ENCRYPT_THEN_MAC
#define MBEDTLS_SSL_SESSION_TICKETS
#define MBEDTLS_SSL_TICKET_C
#define MBEDTLS_SSL_KEEP_PEER_CERTIFICATE /* the peer's name in log lines */
#define MBEDTLS_SSL_ALL_ALERT_MESSAGES
#define MBEDTLS_SSL_CBC_RECORD_SPLITTING

/* Only the suites tls_mbedtls.c asks for (its modern and legacy lists):
 * the rest of mbedTLS's table is not compiled in. */
#define MBEDTLS_SSL_CIPHERSUITES                                                                   \
	MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,                                           \
	    MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,                                       \
	    MBEDTLS_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,                                 \
	    MBEDTLS_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,                                         \
	    MBEDTLS_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,                                         \
	    MBEDTLS_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,                                   \
	    MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA,                                          \
	    MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA,                                          \
	    MBEDTLS_TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA, MBEDTLS_TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA

#include "mbedtls/check_config.h"

#endif /* NANORELAY_MBEDTLS_CONFIG_H */
