/*
 * users.c - the LAN users file (format in users.h).
 */
#include "users/users.h"
#include "core/fmt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/mem.h"
#include "proto/base64.h"
#include "tls/tls.h"

#define USERS_SALT_LEN 16
#define USERS_HASH_LEN 32
#define USERS_BIN_MAX 64
#define USERS_ITER_MIN 1000u
#define USERS_ITER_MAX 10000000u
#define USERS_SCHEME "pbkdf2-sha256"

struct users_entry {
	unsigned iterations;
	size_t salt_len;
	size_t hash_len;
	unsigned char salt[USERS_BIN_MAX];
	unsigned char hash[USERS_BIN_MAX];
};

int nr_users_name_ok(const char *name)
{
	size_t n = name ? strlen(name) : 0;

	if (n == 0 || n > NR_USERS_NAME_MAX || name[0] == '#')
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)name[i];
		if (c <= 0x20 || c >= 0x7f || c == ':')
			return 0;
	}
	return 1;
}

/* Wipe with a volatile pointer so the compiler keeps the stores. */
static void wipe(void *p, size_t n)
{
	volatile unsigned char *v = p;
	while (n--)
		*v++ = 0;
}

/* Next line of text[*pos..len): start and length without CR/LF. */
static int next_line(const char *text, size_t len, size_t *pos, const char **line, size_t *llen)
{
	size_t s = *pos, e;

	if (s >= len)
		return 0;
	for (e = s; e < len && text[e] != '\n'; e++)
		;
	*pos = e < len ? e + 1 : e;
	*line = text + s;
	*llen = e - s;
	if (*llen && (*line)[*llen - 1] == '\r')
		(*llen)--;
	return 1;
}

static int line_is_user(const char *line, size_t llen, const char *name, size_t nlen)
{
	return llen > nlen && line[nlen] == ':' && memcmp(line, name, nlen) == 0;
}

/* Parse "name:pbkdf2-sha256:ITER:SALT:HASH" (name already matched). */
static int parse_entry(const char *line, size_t llen, size_t nlen, struct users_entry *e)
{
	const char *p = line + nlen + 1, *end = line + llen, *f;
	const size_t slen = sizeof(USERS_SCHEME) - 1;
	unsigned long iter = 0;
	long n;

	if ((size_t)(end - p) <= slen || memcmp(p, USERS_SCHEME ":", slen + 1) != 0)
		return NR_ECORRUPT;
	p += slen + 1;
	for (f = p; p < end && *p >= '0' && *p <= '9' && iter <= USERS_ITER_MAX; p++)
		iter = iter * 10 + (unsigned long)(*p - '0');
	if (p == f || p >= end || *p != ':' || iter < USERS_ITER_MIN || iter > USERS_ITER_MAX)
		return NR_ECORRUPT;
	e->iterations = (unsigned)iter;
	f = ++p;
	while (p < end && *p != ':')
		p++;
	if (p >= end)
		return NR_ECORRUPT;
	n = nr_base64_decode(f, (size_t)(p - f), e->salt, sizeof(e->salt));
	if (n < 8)
		return NR_ECORRUPT;
	e->salt_len = (size_t)n;
	f = ++p;
	n = nr_base64_decode(f, (size_t)(end - f), e->hash, sizeof(e->hash));
	if (n < 16)
		return NR_ECORRUPT;
	e->hash_len = (size_t)n;
	return 0;
}

int nr_users_verify_text(const char *text, size_t len, const char *name, const void *password,
			 size_t pwlen)
{
	struct users_entry e;
	unsigned char got[USERS_BIN_MAX];
	const char *line;
	size_t llen, pos = 0, nlen, lineno = 0, found_line = 0;
	int found = 0, ret = NR_EAUTH;
	unsigned diff = 0;

	memset(&e, 0, sizeof(e));
	if (!nr_users_name_ok(name) || (!password && pwlen))
		goto dummy;
	nlen = strlen(name);
	while (next_line(text, len, &pos, &line, &llen)) {
		lineno++;
		if (line_is_user(line, llen, name, nlen)) {
			found = 1;
			found_line = lineno;
			break;
		}
	}
	if (found && parse_entry(line, llen, nlen, &e) != 0) {
		nr_err("users: line %lu (user %s) is malformed", (unsigned long)found_line, name);
		ret = NR_ECORRUPT;
		goto out;
	}
dummy:
	if (!found) {
		/* Same work for an unknown user: no timing oracle for names. */
		memset(&e, 0, sizeof(e));
		e.iterations = NR_USERS_ITERATIONS;
		e.salt_len = USERS_SALT_LEN;
		e.hash_len = USERS_HASH_LEN;
	}
	ret = nr_tls_pbkdf2_sha256(password, password ? pwlen : 0, e.salt, e.salt_len, e.iterations,
				   got, e.hash_len);
	if (ret != 0)
		goto out;
	for (size_t i = 0; i < e.hash_len; i++)
		diff |= (unsigned)(got[i] ^ e.hash[i]);
	ret = (found && diff == 0) ? 0 : NR_EAUTH;
out:
	wipe(got, sizeof(got));
	wipe(&e, sizeof(e));
	return ret;
}

int nr_users_verify(const char *path, const char *name, const void *password, size_t pwlen)
{
	char *text = NULL;
	size_t len = 0;
	int ret = nr_plat_file_read(path, NR_USERS_FILE_MAX, &text, &len);

	if (ret != 0) {
		nr_err("users: cannot read %s: %s", path, nr_strerror(ret));
		return ret;
	}
	ret = nr_users_verify_text(text, len, name, password, pwlen);
	wipe(text, len);
	nr_free(text);
	return ret;
}

/* Format the line for name into dst; returns its length or a negative code. */
static long format_entry(char *dst, size_t size, const char *name, const void *password,
			 size_t pwlen, unsigned iterations)
{
	unsigned char salt[USERS_SALT_LEN], hash[USERS_HASH_LEN];
	char salt64[NR_BASE64_ENCODED_SIZE(USERS_SALT_LEN)];
	char hash64[NR_BASE64_ENCODED_SIZE(USERS_HASH_LEN)];
	long ret;
	int n;

	ret = nr_plat_entropy(salt, sizeof(salt));
	if (ret != 0)
		return ret;
	ret = nr_tls_pbkdf2_sha256(password, pwlen, salt, sizeof(salt), iterations, hash,
				   sizeof(hash));
	if (ret != 0)
		goto out;
	if (nr_base64_encode(salt, sizeof(salt), salt64, sizeof(salt64)) < 0 ||
	    nr_base64_encode(hash, sizeof(hash), hash64, sizeof(hash64)) < 0) {
		ret = NR_EINVAL;
		goto out;
	}
	n = snprintf(dst, size, "%s:" USERS_SCHEME ":%u:%s:%s\n", name, iterations, salt64, hash64);
	ret = (n < 0 || (size_t)n >= size) ? NR_ETOOBIG : n;
out:
	wipe(hash, sizeof(hash));
	wipe(hash64, sizeof(hash64));
	return ret;
}

int nr_users_set(const char *path, const char *name, const void *password, size_t pwlen,
		 unsigned iterations)
{
	char *old = NULL, *out = NULL;
	char entry[NR_USERS_NAME_MAX + 160];
	size_t oldlen = 0, pos = 0, o = 0, llen, nlen, cap = 0;
	const char *line;
	long elen;
	int ret, replaced = 0;

	if (iterations == 0)
		iterations = NR_USERS_ITERATIONS;
	if (!nr_users_name_ok(name) || !password || pwlen == 0 || iterations < USERS_ITER_MIN ||
	    iterations > USERS_ITER_MAX)
		return NR_EINVAL;
	nlen = strlen(name);

	ret = nr_plat_file_read(path, NR_USERS_FILE_MAX, &old, &oldlen);
	if (ret == NR_ENOTFOUND) {
		oldlen = 0;
	} else if (ret != 0) {
		nr_err("users: cannot read %s: %s", path, nr_strerror(ret));
		return ret;
	} else if (memchr(old, '\0', oldlen)) {
		ret = NR_ECORRUPT;
		goto out;
	}

	elen = format_entry(entry, sizeof(entry), name, password, pwlen, iterations);
	if (elen < 0) {
		ret = (int)elen;
		goto out;
	}
	cap = oldlen + (size_t)elen + 2;
	if (cap > NR_USERS_FILE_MAX) {
		ret = NR_ETOOBIG;
		goto out;
	}
	out = nr_malloc(cap);
	if (!out) {
		ret = NR_ENOMEM;
		goto out;
	}
	while (old && next_line(old, oldlen, &pos, &line, &llen)) {
		if (line_is_user(line, llen, name, nlen)) {
			if (!replaced) {
				memcpy(out + o, entry, (size_t)elen);
				o += (size_t)elen;
			}
			replaced = 1;
			continue;
		}
		memcpy(out + o, line, llen);
		o += llen;
		out[o++] = '\n';
	}
	if (!replaced) {
		memcpy(out + o, entry, (size_t)elen);
		o += (size_t)elen;
	}
	ret = nr_plat_file_write(path, out, o, 0600);
	if (ret != 0)
		nr_err("users: cannot write %s: %s", path, nr_strerror(ret));
	else
		nr_info("users: %s %s in %s", replaced ? "updated" : "added", name, path);
out:
	wipe(entry, sizeof(entry));
	if (old) {
		wipe(old, oldlen);
		nr_free(old);
	}
	if (out) {
		wipe(out, cap);
		nr_free(out);
	}
	return ret;
}
