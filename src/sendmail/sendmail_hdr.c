/*
 * sendmail_hdr.c - what -t needs from a header block: the addresses of
 * To:, Cc: and Bcc: (RFC 5322 3.4 address lists: display names, comments,
 * quoted strings, groups, folded lines), and the block without Bcc:.
 */
#include <string.h>

#include "core/ascii.h"
#include "proto/proto.h"
#include "sendmail/sendmail.h"

struct addr_unit {
	char plain[NR_PATH_MAX + 1]; /* text outside <>, comments dropped */
	size_t plain_len;
	int plain_overflow;
	char angle[NR_PATH_MAX + 1]; /* inside <> */
	size_t angle_len;
	int has_angle;
};

static void unit_put(char *buf, size_t *len, int *overflow, char c)
{
	if (*len >= NR_PATH_MAX) {
		*overflow = 1;
		return;
	}
	buf[(*len)++] = c;
}

/* The address of one list member, to fn; empty members are skipped. */
static int unit_finish(struct addr_unit *u, nr_sm_addr_fn fn, void *arg)
{
	char *a = u->has_angle ? u->angle : u->plain;
	size_t n = u->has_angle ? u->angle_len : u->plain_len;
	int rc = 0;

	if (!u->has_angle && u->plain_overflow)
		return NR_SM_EX_DATAERR;
	a[n] = '\0';
	/* an obsolete route "@a,@b:" in front of the mailbox is dropped */
	if (a[0] == '@' && strchr(a, ':'))
		a = strchr(a, ':') + 1;
	if (a[0] != '\0')
		rc = fn(arg, a);
	memset(u, 0, sizeof(*u));
	return rc;
}

/* A quoted string starting at s[*i] == '"', copied with its quotes. */
static int take_quoted(const char *s, size_t len, size_t *i, char *buf, size_t *blen, int *ovf)
{
	unit_put(buf, blen, ovf, s[(*i)++]);
	while (*i < len) {
		char c = s[(*i)++];

		unit_put(buf, blen, ovf, c);
		if (c == '\\' && *i < len)
			unit_put(buf, blen, ovf, s[(*i)++]);
		else if (c == '"')
			return 0;
	}
	return NR_SM_EX_DATAERR;
}

/* A comment starting at s[*i] == '(', nested, skipped. */
static int skip_comment(const char *s, size_t len, size_t *i)
{
	int depth = 0;

	while (*i < len) {
		char c = s[(*i)++];

		if (c == '\\' && *i < len)
			(*i)++;
		else if (c == '(')
			depth++;
		else if (c == ')' && --depth == 0)
			return 0;
	}
	return NR_SM_EX_DATAERR;
}

static int take_angle(const char *s, size_t len, size_t *i, struct addr_unit *u)
{
	int ovf = 0, rc;

	(*i)++;
	u->has_angle = 1;
	u->angle_len = 0;
	while (*i < len) {
		char c = s[*i];

		if (c == '>') {
			(*i)++;
			return ovf ? NR_SM_EX_DATAERR : 0;
		}
		if (c == '"') {
			rc = take_quoted(s, len, i, u->angle, &u->angle_len, &ovf);
			if (rc)
				return rc;
			continue;
		}
		if (c == '(') {
			if ((rc = skip_comment(s, len, i)) != 0)
				return rc;
			continue;
		}
		(*i)++;
		if (c != ' ' && c != '\t' && c != '\r' && c != '\n')
			unit_put(u->angle, &u->angle_len, &ovf, c);
	}
	return NR_SM_EX_DATAERR;
}

int nr_sendmail_parse_addrlist(const char *s, size_t len, nr_sm_addr_fn fn, void *arg)
{
	struct addr_unit u;
	size_t i = 0;
	int rc = 0;

	memset(&u, 0, sizeof(u));
	while (i < len && rc == 0) {
		char c = s[i];

		if (c == '"') {
			rc = take_quoted(s, len, &i, u.plain, &u.plain_len, &u.plain_overflow);
		} else if (c == '(') {
			rc = skip_comment(s, len, &i);
		} else if (c == '<') {
			rc = take_angle(s, len, &i, &u);
		} else if (c == ':') {
			/* a group's display name: its members follow */
			memset(&u, 0, sizeof(u));
			i++;
		} else if (c == ',' || c == ';') {
			rc = unit_finish(&u, fn, arg);
			i++;
		} else {
			if (c != ' ' && c != '\t' && c != '\r' && c != '\n')
				unit_put(u.plain, &u.plain_len, &u.plain_overflow, c);
			i++;
		}
	}
	if (rc == 0)
		rc = unit_finish(&u, fn, arg);
	return rc;
}

/* End of the field starting at off: after its last continuation line. */
static size_t field_end(const char *h, size_t len, size_t off)
{
	for (;;) {
		const char *nl = memchr(h + off, '\n', len - off);

		if (!nl)
			return len;
		off = (size_t)(nl - h) + 1;
		if (off >= len || (h[off] != ' ' && h[off] != '\t'))
			return off;
	}
}

int nr_sendmail_scan_headers(char *hdr, size_t *len, struct nr_sm_hdrinfo *info, nr_sm_addr_fn fn,
			     void *arg)
{
	size_t off = 0;
	int rc;

	memset(info, 0, sizeof(*info));
	while (off < *len) {
		size_t end = field_end(hdr, *len, off);
		const char *colon = memchr(hdr + off, ':', end - off);
		size_t nlen = colon ? (size_t)(colon - (hdr + off)) : 0;
		const char *name = hdr + off;

		if (!colon) {
			off = end;
			continue;
		}
		while (nlen > 0 && (name[nlen - 1] == ' ' || name[nlen - 1] == '\t'))
			nlen--; /* obsolete "To :" */
		info->has_from |= nr_ascii_ieq_word(name, nlen, "from");
		info->has_date |= nr_ascii_ieq_word(name, nlen, "date");
		info->has_message_id |= nr_ascii_ieq_word(name, nlen, "message-id");
		int bcc = nr_ascii_ieq_word(name, nlen, "bcc");
		if (fn && (bcc || nr_ascii_ieq_word(name, nlen, "to") ||
			   nr_ascii_ieq_word(name, nlen, "cc"))) {
			const char *v = colon + 1;

			rc = nr_sendmail_parse_addrlist(v, (size_t)(hdr + end - v), fn, arg);
			if (rc != 0)
				return rc;
		}
		if (bcc) {
			memmove(hdr + off, hdr + end, *len - end);
			*len -= end - off;
			continue;
		}
		off = end;
	}
	return 0;
}
