/*
 * oauth2_http.c - the smallest HTTP/1.1 that a token endpoint needs: one
 * POST of form data with Connection: close, and its response read with a
 * Content-Length, chunked, or up to the close. Also the XOAUTH2 strings
 * of the SMTP side.
 */
#include <stdio.h>
#include <string.h>

#include "core/ascii.h"
#include "core/fmt.h"
#include "oauth2/oauth2.h"
#include "platform.h"
#include "proto/base64.h"

/* ---- the request ---- */

int nr_oauth2_form_add(char *dst, size_t size, const char *name, const char *value)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = strlen(dst), start = o, i;

	if (size == 0)
		return NR_ETOOBIG;
	if (o > 0) {
		if (o + 1 >= size)
			goto full;
		dst[o++] = '&';
	}
	for (i = 0; name[i] != '\0'; i++) {
		if (o + 1 >= size)
			goto full;
		dst[o++] = name[i];
	}
	if (o + 1 >= size)
		goto full;
	dst[o++] = '=';
	for (i = 0; value[i] != '\0'; i++) {
		unsigned char ch = (unsigned char)value[i];
		/* RFC 3986 unreserved stays; everything else is %XX. */
		if (nr_ascii_isalnum(ch) || ch == '-' || ch == '.' || ch == '_' || ch == '~') {
			if (o + 1 >= size)
				goto full;
			dst[o++] = (char)ch;
		} else {
			if (o + 3 >= size)
				goto full;
			dst[o++] = '%';
			dst[o++] = hex[ch >> 4];
			dst[o++] = hex[ch & 15];
		}
	}
	dst[o] = '\0';
	return 0;
full:
	dst[start] = '\0';
	return NR_ETOOBIG;
}

static int url_split(const char *url, const char **host, size_t *hlen, uint16_t *port,
		     const char **path)
{
	const char *h, *end, *colon;
	unsigned long p = 443;

	if (strncmp(url, "https://", 8) != 0)
		return NR_EINVAL;
	h = url + 8;
	end = h + strcspn(h, "/");
	*path = *end == '/' ? end : "/";
	if (*h == '[') {
		const char *rb = memchr(h, ']', (size_t)(end - h));
		if (rb == NULL)
			return NR_EINVAL;
		*host = h + 1;
		*hlen = (size_t)(rb - h - 1);
		colon = rb[1] == ':' ? rb + 1 : NULL;
	} else {
		colon = memchr(h, ':', (size_t)(end - h));
		*host = h;
		*hlen = (size_t)((colon != NULL ? colon : end) - h);
	}
	if (colon != NULL) {
		const char *d;
		p = 0;
		if (colon + 1 == end)
			return NR_EINVAL;
		for (d = colon + 1; d < end; d++) {
			if (!nr_ascii_isdigit(*d) || p > 65535)
				return NR_EINVAL;
			p = p * 10 + (unsigned long)(*d - '0');
		}
	}
	if (*hlen == 0 || p == 0 || p > 65535)
		return NR_EINVAL;
	*port = (uint16_t)p;
	return 0;
}

int nr_oauth2_url_host(const char *url, char *host, size_t host_size, uint16_t *port)
{
	const char *h, *path;
	size_t hlen;
	int rc = url_split(url, &h, &hlen, port, &path);

	if (rc != 0)
		return rc;
	if (hlen >= host_size)
		return NR_ETOOBIG;
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	return 0;
}

int nr_oauth2_http_request(char *dst, size_t size, const char *url, const char *form, size_t *len)
{
	const char *h, *path;
	size_t hlen;
	uint16_t port;
	int rc = url_split(url, &h, &hlen, &port, &path), w;

	if (rc != 0)
		return rc;
	/* Host keeps the URL's own spelling (brackets and port included). */
	w = snprintf(dst, size,
		     "POST %s HTTP/1.1\r\n"
		     "Host: %.*s\r\n"
		     "User-Agent: nanorelay\r\n"
		     "Accept: application/json\r\n"
		     "Content-Type: application/x-www-form-urlencoded\r\n"
		     "Content-Length: %lu\r\n"
		     "Connection: close\r\n"
		     "\r\n"
		     "%s",
		     path, (int)(strcspn(url + 8, "/")), url + 8, (unsigned long)strlen(form),
		     form);
	if (w < 0 || (size_t)w >= size)
		return NR_ETOOBIG;
	*len = (size_t)w;
	return 0;
}

/* ---- the response ---- */

/* The line at buf[*i..) ending in CRLF: its length, or -1 while incomplete. */
static long line_at(const char *buf, size_t len, size_t i)
{
	size_t k;

	for (k = i; k + 1 < len; k++)
		if (buf[k] == '\r' && buf[k + 1] == '\n')
			return (long)(k - i);
	return -1;
}

/* The chunked body at buf[start..): checked whole first (move 0), then
 * decoded in place (move 1), so an incomplete body leaves buf as it was
 * for the next, longer parse. */
static int dechunk(char *buf, size_t len, size_t start, int eof, struct nr_oauth2_http *out,
		   int move)
{
	size_t in = start, o = start;

	for (;;) {
		long n = line_at(buf, len, in);
		size_t size = 0, k, digits = 0;

		if (n < 0)
			return eof ? NR_EPROTO : NR_EAGAIN;
		for (k = in; k < in + (size_t)n && buf[k] != ';'; k++) {
			int h = nr_ascii_hex(buf[k]);
			if (h < 0 || size > NR_OAUTH2_RESPONSE_MAX)
				return NR_EPROTO;
			size = size * 16 + (size_t)h;
			digits++;
		}
		if (digits == 0)
			return NR_EPROTO;
		in += (size_t)n + 2;
		if (size == 0) {
			/* trailers, then the empty line */
			for (;;) {
				n = line_at(buf, len, in);
				if (n < 0)
					return eof ? NR_EPROTO : NR_EAGAIN;
				in += (size_t)n + 2;
				if (n == 0)
					break;
			}
			out->body = buf + start;
			out->body_len = o - start;
			return 0;
		}
		if (len - in < size + 2)
			return eof ? NR_EPROTO : NR_EAGAIN;
		if (buf[in + size] != '\r' || buf[in + size + 1] != '\n')
			return NR_EPROTO;
		if (move && o != in) /* o <= in always */
			memmove(buf + o, buf + in, size);
		o += size;
		in += size + 2;
	}
}

int nr_oauth2_http_parse(char *buf, size_t len, int eof, struct nr_oauth2_http *out)
{
	long n = line_at(buf, len, 0);
	size_t i, clen = 0;
	int chunked = 0, have_len = 0, status;

	memset(out, 0, sizeof(*out));
	if (len > NR_OAUTH2_RESPONSE_MAX)
		return NR_ETOOBIG;
	if (n < 0)
		return eof ? NR_EPROTO : NR_EAGAIN;
	/* "HTTP/1.1 200 OK": version, three digits, a space or the end. */
	if (n < 12 || (memcmp(buf, "HTTP/1.1 ", 9) != 0 && memcmp(buf, "HTTP/1.0 ", 9) != 0) ||
	    !nr_ascii_isdigit(buf[9]) || !nr_ascii_isdigit(buf[10]) || !nr_ascii_isdigit(buf[11]) ||
	    (n > 12 && buf[12] != ' '))
		return NR_EPROTO;
	status = (buf[9] - '0') * 100 + (buf[10] - '0') * 10 + (buf[11] - '0');
	if (status < 100)
		return NR_EPROTO;
	for (i = 0; i < (size_t)n; i++)
		if ((unsigned char)buf[i] < 0x20 && buf[i] != '\t')
			return NR_EPROTO;
	i = (size_t)n + 2;
	for (;;) {
		size_t k, colon;
		n = line_at(buf, len, i);
		if (n < 0)
			return eof ? NR_EPROTO : NR_EAGAIN;
		if (n == 0) {
			i += 2;
			break;
		}
		for (colon = i; colon < i + (size_t)n && buf[colon] != ':'; colon++)
			;
		if (colon == i || colon == i + (size_t)n)
			return NR_EPROTO;
		for (k = i; k < i + (size_t)n; k++) {
			unsigned char ch = (unsigned char)buf[k];
			if ((ch < 0x20 && ch != '\t') || ch == 0x7f || (k < colon && ch <= ' '))
				return NR_EPROTO;
		}
		{
			const char *v = buf + colon + 1;
			size_t vlen = i + (size_t)n - colon - 1;
			while (vlen > 0 && (*v == ' ' || *v == '\t'))
				v++, vlen--;
			while (vlen > 0 && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
				vlen--;
			if (colon - i == 14 && nr_ascii_ieq_mem(buf + i, "Content-Length", 14)) {
				size_t d, val = 0;
				if (vlen == 0 || have_len)
					return NR_EPROTO;
				for (d = 0; d < vlen; d++) {
					if (!nr_ascii_isdigit(v[d]) || val > NR_OAUTH2_RESPONSE_MAX)
						return NR_EPROTO;
					val = val * 10 + (size_t)(v[d] - '0');
				}
				clen = val;
				have_len = 1;
			} else if (colon - i == 17 &&
				   nr_ascii_ieq_mem(buf + i, "Transfer-Encoding", 17)) {
				if (vlen != 7 || !nr_ascii_ieq_mem(v, "chunked", 7))
					return NR_EPROTO;
				chunked = 1;
			}
		}
		i += (size_t)n + 2;
	}
	/* Both framings at once is the request-smuggling shape: refuse it. */
	if (chunked && have_len)
		return NR_EPROTO;
	out->status = status;
	if (chunked) {
		int rc = dechunk(buf, len, i, eof, out, 0);
		return rc != 0 ? rc : dechunk(buf, len, i, eof, out, 1);
	}
	if (have_len) {
		if (len - i < clen)
			return eof ? NR_EPROTO : NR_EAGAIN;
		if (len - i > clen)
			return NR_EPROTO; /* Connection: close, and bytes after the body */
		out->body = buf + i;
		out->body_len = clen;
		return 0;
	}
	if (!eof)
		return NR_EAGAIN;
	out->body = buf + i;
	out->body_len = len - i;
	return 0;
}

/* ---- XOAUTH2 ---- */

long nr_oauth2_xoauth2_string(char *dst, size_t size, const char *user, const char *token)
{
	int w = snprintf(dst, size, "user=%s\001auth=Bearer %s\001\001", user, token);

	if (w < 0 || (size_t)w >= size)
		return NR_ETOOBIG;
	return w;
}

int nr_oauth2_xoauth2_challenge_is_auth_error(const char *text, size_t len)
{
	char json[1024];
	const char *p;
	long n;

	if (len == 0 || len > 1300)
		return 0;
	n = nr_base64_decode(text, len, json, sizeof(json) - 1);
	if (n <= 0)
		return 0;
	json[n] = '\0';
	/* {"status":"401",...}: only the status matters, found as text. */
	p = strstr(json, "\"status\"");
	if (p == NULL)
		return 0;
	p += 8;
	while (*p == ' ' || *p == ':' || *p == '"')
		p++;
	return strncmp(p, "400", 3) == 0 || strncmp(p, "401", 3) == 0 || strncmp(p, "403", 3) == 0;
}

int nr_oauth2_needs_refresh(uint64_t expires_at, uint64_t now)
{
	if (expires_at == 0)
		return 1;
	return now + NR_OAUTH2_REFRESH_AHEAD_S >= expires_at;
}
