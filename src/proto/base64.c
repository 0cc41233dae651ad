/*
 * base64.c - RFC 4648 section 4 base64.
 */
#include "proto/base64.h"

#include "platform.h"

static const char nr_b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

long nr_base64_encode(char *dst, size_t size, const void *src, size_t len)
{
	const unsigned char *in = src;
	size_t o = 0;

	if (len > ((size_t)-1 - 1) / 4 * 3 - 2 || size < NR_BASE64_ENCODED_SIZE(len))
		return NR_ETOOBIG;
	for (size_t i = 0; i < len; i += 3) {
		unsigned v = (unsigned)in[i] << 16;
		if (i + 1 < len)
			v |= (unsigned)in[i + 1] << 8;
		if (i + 2 < len)
			v |= in[i + 2];
		dst[o++] = nr_b64_alphabet[(v >> 18) & 63];
		dst[o++] = nr_b64_alphabet[(v >> 12) & 63];
		dst[o++] = i + 1 < len ? nr_b64_alphabet[(v >> 6) & 63] : '=';
		dst[o++] = i + 2 < len ? nr_b64_alphabet[v & 63] : '=';
	}
	dst[o] = '\0';
	return (long)o;
}

static int b64_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

long nr_base64_decode(void *dst, size_t size, const char *src, size_t len)
{
	unsigned char *out = dst;
	size_t o = 0;

	if (len % 4 != 0)
		return NR_EINVAL;
	for (size_t i = 0; i < len; i += 4) {
		int v[4];
		int pad = 0;
		for (int k = 0; k < 4; k++) {
			char c = src[i + k];
			/* '=' only in the last two places of the last quantum. */
			if (c == '=' && i + 4 == len && k >= 2) {
				v[k] = 0;
				pad++;
				continue;
			}
			if (pad)
				return NR_EINVAL;
			v[k] = b64_value(c);
			if (v[k] < 0)
				return NR_EINVAL;
		}
		unsigned w = (unsigned)v[0] << 18 | (unsigned)v[1] << 12 | (unsigned)v[2] << 6 |
			     (unsigned)v[3];
		size_t n = 3 - (size_t)pad;
		if (o + n > size)
			return NR_ETOOBIG;
		out[o++] = (unsigned char)(w >> 16);
		if (n > 1)
			out[o++] = (unsigned char)(w >> 8);
		if (n > 2)
			out[o++] = (unsigned char)w;
	}
	return (long)o;
}
