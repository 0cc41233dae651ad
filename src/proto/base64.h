/*
 * base64.h - RFC 4648 base64 (standard alphabet, with padding), as used by
 * SMTP AUTH (RFC 4954) and the LAN users file.
 */
#ifndef NR_PROTO_BASE64_H
#define NR_PROTO_BASE64_H

#include <stddef.h>

#include "core/build.h"

/* Bytes needed to encode len bytes, including the terminating NUL. */
#define NR_BASE64_ENCODED_SIZE(len) ((((len) + 2) / 3) * 4 + 1)

/* Encode src into dst (NUL-terminated). Returns the length without the NUL,
 * or NR_ETOOBIG when dst is smaller than NR_BASE64_ENCODED_SIZE(len). */
long nr_base64_encode(char *dst, size_t size, const void *src, size_t len) NR_MUST_CHECK;

/* Decode len characters of src into dst. Padding is required (length a
 * multiple of 4); whitespace and any other character are NR_EINVAL.
 * Returns the decoded length, NR_EINVAL, or NR_ETOOBIG when dst is too
 * small. */
long nr_base64_decode(void *dst, size_t size, const char *src, size_t len) NR_MUST_CHECK;

#endif /* NR_PROTO_BASE64_H */
