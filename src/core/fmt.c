/* fmt.c - 64-bit integers as text without %llu (see fmt.h). */
#include "core/fmt.h"

char *nr_fmt_u64(char *dst, uint64_t v)
{
	char tmp[NR_FMT_INT64_LEN];
	int n = 0, i = 0;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n)
		dst[i++] = tmp[--n];
	dst[i] = '\0';
	return dst;
}

char *nr_fmt_i64(char *dst, int64_t v)
{
	if (v >= 0)
		return nr_fmt_u64(dst, (uint64_t)v);
	/* -(v + 1) + 1 stays in range for INT64_MIN */
	dst[0] = '-';
	nr_fmt_u64(dst + 1, (uint64_t)(-(v + 1)) + 1);
	return dst;
}

char *nr_fmt_x64(char *dst, uint64_t v)
{
	static const char digits[] = "0123456789abcdef";

	for (int i = 15; i >= 0; i--) {
		dst[i] = digits[v & 0xf];
		v >>= 4;
	}
	dst[16] = '\0';
	return dst;
}
