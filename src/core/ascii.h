/*
 * ascii.h - ASCII character classes, case folding and case-insensitive
 * compares, locale-free.
 *
 * SMTP verbs, EHLO keywords, header names, DNS names and config words are
 * compared without regard to ASCII case (RFC 5321 2.4). <ctype.h> depends
 * on the C locale and takes int arguments that must be unsigned char
 * values; these helpers fold only 'A'..'Z' / 'a'..'z' and accept any char,
 * so a byte >= 0x80 is never changed. Nothing here allocates or blocks.
 */
#ifndef NR_CORE_ASCII_H
#define NR_CORE_ASCII_H

#include <stddef.h>
#include <string.h>

/* Character classes of the C locale, for any int (EOF and bytes >= 0x80
 * are in none of them). */
static inline int nr_ascii_isdigit(int c)
{
	return c >= '0' && c <= '9';
}

static inline int nr_ascii_isalpha(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static inline int nr_ascii_isalnum(int c)
{
	return nr_ascii_isalpha(c) || nr_ascii_isdigit(c);
}

/* c with 'A'..'Z' mapped to 'a'..'z'; every other value unchanged. */
static inline int nr_ascii_lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

/* c with 'a'..'z' mapped to 'A'..'Z'; every other value unchanged. */
static inline int nr_ascii_upper(int c)
{
	return c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c;
}

/* The value of a hexadecimal digit (either case), or -1. */
static inline int nr_ascii_hex(int c)
{
	if (nr_ascii_isdigit(c))
		return c - '0';
	c = nr_ascii_lower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* 1 when the n bytes at a and b are equal ignoring ASCII case (a NUL is
 * an ordinary byte here), else 0. */
static inline int nr_ascii_ieq_mem(const char *a, const char *b, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (nr_ascii_lower((unsigned char)a[i]) != nr_ascii_lower((unsigned char)b[i]))
			return 0;
	}
	return 1;
}

/* 1 when the NUL-terminated strings a and b are equal ignoring case. */
static inline int nr_ascii_ieq(const char *a, const char *b)
{
	while (*a != '\0' &&
	       nr_ascii_lower((unsigned char)*a) == nr_ascii_lower((unsigned char)*b)) {
		a++;
		b++;
	}
	return *a == '\0' && *b == '\0';
}

/* 1 when s[0..len) is exactly word (NUL-terminated) ignoring case. */
static inline int nr_ascii_ieq_word(const char *s, size_t len, const char *word)
{
	return strlen(word) == len && nr_ascii_ieq_mem(s, word, len);
}

/* 1 when s[0..len) starts with prefix (NUL-terminated) ignoring case. */
static inline int nr_ascii_iprefix(const char *s, size_t len, const char *prefix)
{
	size_t n = strlen(prefix);

	return len >= n && nr_ascii_ieq_mem(s, prefix, n);
}

#endif /* NR_CORE_ASCII_H */
