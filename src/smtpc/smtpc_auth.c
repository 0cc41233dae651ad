/* smtpc_auth.c - the client's AUTH mechanisms (RFC 4954: PLAIN RFC 4616,
 * LOGIN, CRAM-MD5 RFC 2195, XOAUTH2 RFC 7628) and the secret files they
 * use. Secrets are wiped from every buffer once sent. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ascii.h"
#include "core/mem.h"
#include "proto/base64.h"
#include "smtpc/smtpc_int.h"

const char *nr_smtpc_auth_mech(const struct nr_smtpc *s)
{
	switch (s->mech) {
	case NR_SMTPC_AUTH_PLAIN:
		return "PLAIN";
	case NR_SMTPC_AUTH_LOGIN:
		return "LOGIN";
	case NR_SMTPC_AUTH_CRAM_MD5:
		return "CRAM-MD5";
	case NR_SMTPC_AUTH_XOAUTH2:
		return "XOAUTH2";
	}
	return "";
}

static uint32_t mech_from_name(const char *name)
{
	static const struct {
		const char *name;
		uint32_t bit;
	} t[] = {{"PLAIN", NR_SMTPC_AUTH_PLAIN},
		 {"LOGIN", NR_SMTPC_AUTH_LOGIN},
		 {"CRAM-MD5", NR_SMTPC_AUTH_CRAM_MD5},
		 {"XOAUTH2", NR_SMTPC_AUTH_XOAUTH2}};
	size_t i;

	for (i = 0; i < NR_ARRAY_LEN(t); i++)
		if (nr_ascii_ieq(name, t[i].name))
			return t[i].bit;
	return 0;
}

uint32_t nr_smtpc_pick_mech(const struct nr_smtpc *s)
{
	uint32_t offered = (s->caps & NR_SMTPC_CAP_AUTH) ? s->auth : 0;
	uint32_t usable = 0;

	if (s->p.secret_is_token) {
		usable = NR_SMTPC_AUTH_XOAUTH2;
	} else {
		if (NR_ENABLED(CONFIG_NR_AUTH_PLAIN))
			usable |= NR_SMTPC_AUTH_PLAIN;
		if (NR_ENABLED(CONFIG_NR_AUTH_LOGIN))
			usable |= NR_SMTPC_AUTH_LOGIN;
		if (s->p.hmac_md5)
			usable |= NR_SMTPC_AUTH_CRAM_MD5;
	}
	if (s->p.auth_mech && s->p.auth_mech[0])
		usable &= mech_from_name(s->p.auth_mech);
	offered &= usable;
	if (offered & NR_SMTPC_AUTH_XOAUTH2)
		return NR_SMTPC_AUTH_XOAUTH2;
	/* Without TLS (insecure=yes only) prefer the mechanism that does not
	 * reveal the password. */
	if (!s->tls_active && (offered & NR_SMTPC_AUTH_CRAM_MD5))
		return NR_SMTPC_AUTH_CRAM_MD5;
	if (offered & NR_SMTPC_AUTH_PLAIN)
		return NR_SMTPC_AUTH_PLAIN;
	if (offered & NR_SMTPC_AUTH_LOGIN)
		return NR_SMTPC_AUTH_LOGIN;
	return offered & NR_SMTPC_AUTH_CRAM_MD5;
}

/* Write prefix + base64(raw) + CRLF from s->line, then wipe everything. */
static int send_b64(struct nr_smtpc *s, const char *prefix, const uint8_t *raw, size_t rawlen)
{
	size_t pl = strlen(prefix), n;
	long enc;
	int rc = NR_EINVAL;

	if (pl + 4 * ((rawlen + 2) / 3) + 3 > sizeof(s->line))
		goto out;
	memcpy(s->line, prefix, pl);
	enc = nr_base64_encode(raw, rawlen, s->line + pl, sizeof(s->line) - pl);
	if (enc < 0) {
		rc = (int)enc;
		goto out;
	}
	n = pl + (size_t)enc;
	s->line[n++] = '\r';
	s->line[n++] = '\n';
	rc = NR_EFULL;
	if (s->ops->room(s->owner) < n)
		goto out;
	rc = s->ops->write(s->owner, s->line, n);
out:
	nr_smtpc_wipe(s->line, sizeof(s->line));
	return rc;
}

int nr_smtpc_auth_start(struct nr_smtpc *s)
{
	uint8_t *raw = s->auth_raw;
	const size_t raw_size = sizeof(s->auth_raw);
	size_t ul = strlen(s->p.user), n = 0;
	int rc = NR_EINVAL;

	s->auth_step = 0;
	switch (s->mech) {
	case NR_SMTPC_AUTH_PLAIN:
		/* RFC 4616: authzid NUL authcid NUL passwd, as an initial response. */
		if (2 + ul + s->secret_len > raw_size)
			break;
		raw[n++] = 0;
		memcpy(raw + n, s->p.user, ul);
		n += ul;
		raw[n++] = 0;
		memcpy(raw + n, s->secret, s->secret_len);
		n += s->secret_len;
		rc = send_b64(s, "AUTH PLAIN ", raw, n);
		break;
	case NR_SMTPC_AUTH_XOAUTH2:
		n = (size_t)snprintf((char *)raw, raw_size, "user=%s\001auth=Bearer %s\001\001",
				     s->p.user, s->secret);
		if (n >= raw_size)
			break;
		rc = send_b64(s, "AUTH XOAUTH2 ", raw, n);
		break;
	case NR_SMTPC_AUTH_LOGIN:
		rc = nr_smtpc_send_line(s, "AUTH LOGIN");
		break;
	case NR_SMTPC_AUTH_CRAM_MD5:
		rc = nr_smtpc_send_line(s, "AUTH CRAM-MD5");
		break;
	}
	nr_smtpc_wipe(raw, raw_size);
	return rc;
}

int nr_smtpc_auth_continue(struct nr_smtpc *s, const struct nr_smtpc_reply *r)
{
	uint8_t chal[512], mac[16];
	char resp[600];
	long cl;
	size_t ul, i;
	int rc = NR_EPROTO;

	s->auth_step++;
	switch (s->mech) {
	case NR_SMTPC_AUTH_LOGIN:
		if (s->auth_step == 1)
			return send_b64(s, "", (const uint8_t *)s->p.user, strlen(s->p.user));
		if (s->auth_step == 2)
			return send_b64(s, "", (const uint8_t *)s->secret, s->secret_len);
		break;
	case NR_SMTPC_AUTH_CRAM_MD5:
		if (s->auth_step != 1)
			break;
		/* RFC 2195: user SP hex(HMAC-MD5(password, challenge)). */
		cl = nr_base64_decode(r->text, r->text_len, chal, sizeof(chal));
		ul = strlen(s->p.user);
		if (cl <= 0 || ul + 34 > sizeof(resp))
			break;
		if (s->p.hmac_md5(s->secret, s->secret_len, chal, (size_t)cl, mac) != 0)
			break;
		memcpy(resp, s->p.user, ul);
		resp[ul] = ' ';
		for (i = 0; i < 16; i++)
			snprintf(resp + ul + 1 + 2 * i, 3, "%02x", mac[i]);
		rc = send_b64(s, "", (const uint8_t *)resp, ul + 33);
		nr_smtpc_wipe(resp, sizeof(resp));
		nr_smtpc_wipe(mac, sizeof(mac));
		return rc;
	case NR_SMTPC_AUTH_XOAUTH2:
		/* RFC 7628 3.2.3: the server sent an error; answer with an empty
		 * response, the final 5xx follows. */
		if (s->auth_step == 1)
			return nr_smtpc_send_line(s, "%s", "");
		break;
	}
	return rc;
}

/* ---- secret files ---- */

int nr_smtpc_secret_read(const char *path, char **out, size_t *len)
{
	int rc = nr_plat_file_read(path, NR_SMTPC_SECRET_MAX + 2, out, len);

	if (rc != 0)
		return rc;
	/* One line: the trailing newline is not part of the secret. */
	while (*len > 0 && ((*out)[*len - 1] == '\n' || (*out)[*len - 1] == '\r'))
		(*out)[--*len] = '\0';
	return 0;
}

void nr_smtpc_secret_free(char *secret, size_t len)
{
	if (!secret)
		return;
	nr_smtpc_wipe(secret, len);
	nr_free(secret);
}
