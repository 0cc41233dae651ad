/* base64.c - strict base64 (RFC 4648 4) for AUTH exchanges. */
#include <stdint.h>

#include "platform.h"
#include "proto/base64.h"

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

long nr_base64_encode(const void *src, size_t len, char *dst, size_t dst_size)
{
	const uint8_t *s = src;
	size_t need = (len + 2) / 3 * 4 + 1;

	if (dst_size == 0)
		return NR_EFULL;
	dst[0] = '\0';
	if (len > (SIZE_MAX - 1) / 4 * 3 - 2 || need > dst_size)
		return NR_EFULL;
	size_t o = 0;
	for (size_t i = 0; i < len; i += 3) {
		uint32_t v = (uint32_t)s[i] << 16;
		if (i + 1 < len)
			v |= (uint32_t)s[i + 1] << 8;
		if (i + 2 < len)
			v |= s[i + 2];
		dst[o++] = alphabet[(v >> 18) & 63];
		dst[o++] = alphabet[(v >> 12) & 63];
		dst[o++] = i + 1 < len ? alphabet[(v >> 6) & 63] : '=';
		dst[o++] = i + 2 < len ? alphabet[v & 63] : '=';
	}
	dst[o] = '\0';
	return (long)o;
}

static int value_of(unsigned char c)
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

long nr_base64_decode(const char *src, size_t len, void *dst, size_t dst_size)
{
	uint8_t *d = dst;
	size_t o = 0;

	if (len % 4 != 0)
		return NR_EINVAL;
	for (size_t i = 0; i < len; i += 4) {
		int v[4];
		int pad = 0;
		int last = i + 4 == len;
		for (int k = 0; k < 4; k++) {
			unsigned char c = (unsigned char)src[i + k];
			if (c == '=' && last && k >= 2) {
				pad++;
				v[k] = 0;
				continue;
			}
			if (pad)
				return NR_EINVAL; /* data after padding */
			v[k] = value_of(c);
			if (v[k] < 0)
				return NR_EINVAL;
		}
		if (pad == 1 && (v[2] & 3))
			return NR_EINVAL;
		if (pad == 2 && (v[1] & 15))
			return NR_EINVAL;
		size_t n = 3 - (size_t)pad;
		if (o + n > dst_size)
			return NR_EFULL;
		uint32_t w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 |
			     (uint32_t)v[3];
		d[o++] = (uint8_t)(w >> 16);
		if (n > 1)
			d[o++] = (uint8_t)(w >> 8);
		if (n > 2)
			d[o++] = (uint8_t)w;
	}
	return (long)o;
}
