/*
 * oauth2_store.c - a smarthost's tokens in state_dir.
 *
 *   refresh_token 0.AXEA...
 *   access_token eyJ0eXAi...
 *   expires_at 1796601600
 *
 * One file per smarthost, mode 0600, replaced atomically by
 * nr_plat_file_write(), so a crash leaves the old tokens or the new ones,
 * never half of each. A rotated refresh token is saved before the access
 * token that came with it is used: losing it would need a new login.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ascii.h"
#include "core/fmt.h"
#include "core/mem.h"
#include "oauth2/oauth2.h"
#include "platform.h"

int nr_oauth2_store_path(char *dst, size_t size, const char *state_dir, const char *host,
			 uint16_t port)
{
	size_t i, o;
	int w = snprintf(dst, size, "%s/oauth2-", state_dir);

	if (w < 0 || (size_t)w >= size)
		return NR_ETOOBIG;
	o = (size_t)w;
	/* A host name or an address; ':' of IPv6 becomes '_' for a file name. */
	for (i = 0; host[i] != '\0'; i++) {
		char ch = host[i];
		if (o + 1 >= size)
			return NR_ETOOBIG;
		dst[o++] =
		    nr_ascii_isalnum(ch) || ch == '.' || ch == '-' ? nr_ascii_lower(ch) : '_';
	}
	w = snprintf(dst + o, size - o, "-%u.tokens", (unsigned)port);
	if (w < 0 || (size_t)w >= size - o)
		return NR_ETOOBIG;
	return 0;
}

static int token_ok(const char *t)
{
	size_t i;

	for (i = 0; t[i] != '\0'; i++)
		if ((unsigned char)t[i] < 0x21 || (unsigned char)t[i] > 0x7e)
			return 0;
	return 1;
}

long nr_oauth2_store_format(char *dst, size_t size, const struct nr_oauth2_tokens *t)
{
	int w;

	if (!token_ok(t->refresh_token) || !token_ok(t->access_token))
		return NR_EINVAL;
	w = snprintf(dst, size, "refresh_token %s\naccess_token %s\nexpires_at %s\n",
		     t->refresh_token, t->access_token, NR_U64(t->expires_at));
	if (w < 0 || (size_t)w >= size)
		return NR_ETOOBIG;
	return w;
}

/* One "name value" line; an empty value is allowed (no token yet). */
static int take(const char *line, size_t n, const char *name, char *dst, size_t size)
{
	size_t k = strlen(name);

	if (n < k + 1 || memcmp(line, name, k) != 0 || line[k] != ' ')
		return 0;
	if (n - k - 1 >= size)
		return NR_EINVAL;
	memcpy(dst, line + k + 1, n - k - 1);
	dst[n - k - 1] = '\0';
	return token_ok(dst) ? 1 : NR_EINVAL;
}

int nr_oauth2_store_parse(const char *text, size_t len, struct nr_oauth2_tokens *t)
{
	size_t i = 0;
	int seen = 0;

	memset(t, 0, sizeof(*t));
	while (i < len) {
		const char *line = text + i, *nl = memchr(line, '\n', len - i);
		size_t n = nl != NULL ? (size_t)(nl - line) : len - i;
		char num[24];
		int r;

		i += n + (nl != NULL);
		if (n == 0)
			continue;
		if ((r = take(line, n, "refresh_token", t->refresh_token,
			      sizeof(t->refresh_token))) != 0 ||
		    (r = take(line, n, "access_token", t->access_token, sizeof(t->access_token))) !=
			0) {
			if (r < 0)
				return r;
			seen |= 1;
			continue;
		}
		if ((r = take(line, n, "expires_at", num, sizeof(num))) == 1) {
			size_t k;
			uint64_t v = 0;
			for (k = 0; num[k] != '\0'; k++) {
				if (!nr_ascii_isdigit(num[k]) || k >= 19)
					return NR_EINVAL;
				v = v * 10 + (uint64_t)(num[k] - '0');
			}
			t->expires_at = v;
			continue;
		}
		return NR_EINVAL;
	}
	return seen ? 0 : NR_EINVAL;
}

int nr_oauth2_store_load(const char *path, struct nr_oauth2_tokens *t)
{
	char *text = NULL;
	size_t len = 0;
	int rc = nr_plat_file_read(path, 3 * NR_OAUTH2_TOKEN_MAX, &text, &len);

	if (rc != 0)
		return rc;
	rc = nr_oauth2_store_parse(text, len, t);
	/* The file held secrets: leave none behind in freed memory. */
	memset(text, 0, len);
	nr_free(text);
	return rc;
}

int nr_oauth2_store_save(const char *path, const struct nr_oauth2_tokens *t)
{
	size_t size = 2 * NR_OAUTH2_TOKEN_MAX + 64;
	char *text = nr_malloc(size);
	long n;
	int rc;

	if (text == NULL)
		return NR_ENOMEM;
	n = nr_oauth2_store_format(text, size, t);
	rc = n < 0 ? (int)n : nr_plat_file_write(path, text, (size_t)n, 0600);
	memset(text, 0, size);
	nr_free(text);
	return rc;
}

int nr_oauth2_read_secret(const char *path, char *dst, size_t size)
{
	char *text = NULL;
	size_t len = 0;
	int rc = nr_plat_file_read(path, size, &text, &len);

	if (rc != 0)
		return rc;
	while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r'))
		len--;
	if (len == 0 || len >= size) {
		rc = NR_EINVAL;
	} else {
		memcpy(dst, text, len);
		dst[len] = '\0';
	}
	memset(text, 0, len);
	nr_free(text);
	return rc;
}

int nr_oauth2_access_token(const char *path, uint64_t now, char **out, size_t *len)
{
	struct nr_oauth2_tokens *t = nr_malloc(sizeof(*t));
	int rc;

	*out = NULL;
	*len = 0;
	if (t == NULL)
		return NR_ENOMEM;
	rc = nr_oauth2_store_load(path, t);
	if (rc == 0 && (t->access_token[0] == '\0' || (t->expires_at != 0 && now >= t->expires_at)))
		rc = NR_EAUTH;
	if (rc == 0) {
		*len = strlen(t->access_token);
		if ((*out = nr_malloc(*len + 1)) == NULL)
			rc = NR_ENOMEM;
		else
			memcpy(*out, t->access_token, *len + 1);
	}
	if (rc != 0)
		*len = 0;
	memset(t, 0, sizeof(*t));
	nr_free(t);
	return rc;
}
