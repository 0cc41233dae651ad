/*
 * base64.h - strict RFC 4648 base64 for SMTP AUTH (RFC 4954).
 *
 * Decoding refuses anything a canonical encoder would not produce: a length
 * that is not a multiple of 4, characters outside the alphabet (including
 * whitespace), misplaced padding and non-zero bits in the last symbol.
 */
#ifndef NR_PROTO_BASE64_H
#define NR_PROTO_BASE64_H

#include <stddef.h>

#include "core/build.h"

/* Bytes needed to encode len bytes, plus the terminating NUL. */
#define NR_BASE64_ENCODED_SIZE(len) ((((len) + 2) / 3) * 4 + 1)

/* Encode src into dst (dst_size bytes, NUL-terminated). Returns the encoded
 * length, or NR_EFULL when dst is too small (dst is then ""). */
long nr_base64_encode(const void *src, size_t len, char *dst, size_t dst_size) NR_MUST_CHECK;

/* Decode len characters of src into dst (dst_size bytes; len / 4 * 3 is
 * always enough). Returns the decoded length, NR_EINVAL for input that is
 * not strict base64, NR_EFULL when dst is too small. */
long nr_base64_decode(const char *src, size_t len, void *dst, size_t dst_size) NR_MUST_CHECK;

#endif /* NR_PROTO_BASE64_H */
