/*
 * oauth2.h - the pure parts of the built-in OAuth2 client (issue 19):
 * token requests as form bodies, the HTTP/1.1 response and the JSON in
 * it, the XOAUTH2 error a server sends in a 334, and the token store.
 *
 * Nothing here touches the network: the HTTPS exchange feeds these
 * functions bytes, so they are tested and fuzzed on their own
 * (tests/unit/oauth2, tests/fuzz/fuzz_oauth_response.c).
 *
 * Secrets: a client secret, an access token or a refresh token passes
 * through these buffers and never into a log line; callers log the
 * provider's error and error_description only, which carry no secret.
 */
#ifndef NR_OAUTH2_OAUTH2_H
#define NR_OAUTH2_OAUTH2_H

#include <stddef.h>
#include <stdint.h>

#include "core/build.h"

/* Microsoft access tokens are JWTs of 1.5-3 KB; refresh tokens are
 * opaque and somewhat shorter. Larger values are refused, not cut. */
#define NR_OAUTH2_TOKEN_MAX 4096
/* A whole HTTP response (headers and body); providers send under 4 KB. */
#define NR_OAUTH2_RESPONSE_MAX 16384

/* ---- the HTTP/1.1 response ---- */

struct nr_oauth2_http {
	int status;       /* 200, 400, ... */
	const char *body; /* inside the caller's buffer, de-chunked in place */
	size_t body_len;
};

/* Parse a response held in buf[0..len) (len at most NR_OAUTH2_RESPONSE_MAX).
 * eof: the server has closed (a body without a length ends there).
 * 0 and *out once complete; NR_EAGAIN while more bytes are needed;
 * NR_EPROTO for anything malformed (status line, header, chunk size);
 * NR_ETOOBIG past NR_OAUTH2_RESPONSE_MAX. A chunked body is decoded in
 * place, so buf must be writable. */
int nr_oauth2_http_parse(char *buf, size_t len, int eof, struct nr_oauth2_http *out) NR_MUST_CHECK;

/* ---- the JSON reply of a token or device endpoint ---- */

struct nr_oauth2_reply {
	char access_token[NR_OAUTH2_TOKEN_MAX];
	char refresh_token[NR_OAUTH2_TOKEN_MAX];
	char token_type[16];
	uint32_t expires_in; /* seconds; 0 when absent */
	/* RFC 6749 5.2 and RFC 8628 3.5: invalid_grant, authorization_pending,
	 * slow_down, expired_token, access_denied, ... */
	char error[64];
	char error_description[256];
	/* RFC 8628 3.2 (Google says verification_url) */
	char device_code[1024];
	char user_code[64];
	char verification_uri[256];
	uint32_t interval; /* seconds; 0 when absent */
};

/* A strict JSON object (RFC 8259): the known members are copied out,
 * others (Microsoft's error_codes array, trace ids) are checked and
 * skipped; nesting deeper than 8, a string too long for its field,
 * control characters, bad escapes or trailing bytes are refused with
 * NR_EPROTO. expires_in and interval may be numbers or digit strings. */
int nr_oauth2_reply_parse(const char *json, size_t len, struct nr_oauth2_reply *out) NR_MUST_CHECK;

/* ---- the token request ---- */

/* application/x-www-form-urlencoded: append "&name=value" (no '&' first)
 * to dst of size, percent-encoding value. NR_ETOOBIG when it does not fit
 * (dst stays NUL-terminated). */
int nr_oauth2_form_add(char *dst, size_t size, const char *name, const char *value) NR_MUST_CHECK;

/* The request head and body for POST url: "POST /path HTTP/1.1", Host,
 * Content-Type, Content-Length, Connection: close, Accept. url is
 * https://host[:port]/path (checked at load). NR_ETOOBIG, NR_EINVAL. */
int nr_oauth2_http_request(char *dst, size_t size, const char *url, const char *form,
			   size_t *len) NR_MUST_CHECK;

/* Split an https:// URL into host (no brackets) and port (443 default). */
int nr_oauth2_url_host(const char *url, char *host, size_t host_size, uint16_t *port) NR_MUST_CHECK;

/* ---- XOAUTH2 on the SMTP side ---- */

/* The initial client response "user=U\x01auth=Bearer T\x01\x01" (RFC 7628
 * style, as Google and Microsoft document it). Its length, or NR_ETOOBIG. */
long nr_oauth2_xoauth2_string(char *dst, size_t size, const char *user, const char *token);

/* The server's 334 challenge after a refused token is base64 of a JSON
 * object like {"status":"401","schemes":"bearer","scope":"..."}: 1 when
 * text (the 334's text, base64) decodes to such an object whose status is
 * 400, 401 or 403 (token expired or revoked: refresh once and retry), 0
 * otherwise. */
int nr_oauth2_xoauth2_challenge_is_auth_error(const char *text, size_t len);

/* ---- the token store ---- */

struct nr_oauth2_tokens {
	char access_token[NR_OAUTH2_TOKEN_MAX];
	char refresh_token[NR_OAUTH2_TOKEN_MAX];
	uint64_t expires_at; /* wall-clock seconds; 0: unknown (refresh first) */
};

/* The file in state_dir that holds a smarthost's tokens:
 * "<state_dir>/oauth2-<host>-<port>.tokens". NR_ETOOBIG. */
int nr_oauth2_store_path(char *dst, size_t size, const char *state_dir, const char *host,
			 uint16_t port) NR_MUST_CHECK;
/* Text of the store ("refresh_token VALUE\naccess_token VALUE\nexpires_at N\n")
 * and back; a token with a byte outside %x21-7E is refused (NR_EINVAL). */
long nr_oauth2_store_format(char *dst, size_t size, const struct nr_oauth2_tokens *t);
int nr_oauth2_store_parse(const char *text, size_t len, struct nr_oauth2_tokens *t) NR_MUST_CHECK;
/* Read and write the file: mode 0600, replaced atomically (write a temp
 * file, sync, rename). The one place that touches the file, so a change
 * to how state_dir files are written lands here only. */
int nr_oauth2_store_load(const char *path, struct nr_oauth2_tokens *t) NR_MUST_CHECK;
int nr_oauth2_store_save(const char *path, const struct nr_oauth2_tokens *t) NR_MUST_CHECK;

/* The access token to send now, from the store at path, in a malloc'ed
 * NUL-terminated buffer of *len bytes (the caller wipes and frees it, as
 * nr_smtpc_secret_free does). NR_ENOTFOUND: no store yet (no login);
 * NR_EAUTH: no access token in it, or one expired at now (wall-clock
 * seconds); NR_EINVAL: a store that does not parse. */
int nr_oauth2_access_token(const char *path, uint64_t now, char **out, size_t *len) NR_MUST_CHECK;

/* The client secret: the first line of path (without its line end) into
 * dst of size. NR_EINVAL when empty or too long; the file's errors. */
int nr_oauth2_read_secret(const char *path, char *dst, size_t size) NR_MUST_CHECK;

/* Refresh this many seconds before expires_at (or at a tenth of the
 * lifetime for short ones): a token never expires between the check and
 * the AUTH. */
#define NR_OAUTH2_REFRESH_AHEAD_S 300
/* 1 when a token that expires at expires_at must be refreshed at now. */
int nr_oauth2_needs_refresh(uint64_t expires_at, uint64_t now);

#endif /* NR_OAUTH2_OAUTH2_H */
