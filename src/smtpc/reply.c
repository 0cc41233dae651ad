/* reply.c - SMTP reply assembly (RFC 5321 4.2) and EHLO keywords. */
#include "smtpc/reply.h"

#include <string.h>

#include "core/ascii.h"

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

void nr_smtpc_reply_init(struct nr_smtpc_reply_asm *a, unsigned flags)
{
	memset(a, 0, sizeof(*a));
	a->flags = flags;
}

const struct nr_smtpc_reply *nr_smtpc_reply_get(const struct nr_smtpc_reply_asm *a)
{
	return a->complete ? &a->reply : NULL;
}

size_t nr_smtpc_reply_pending(const struct nr_smtpc_reply_asm *a)
{
	return a->pending;
}

/* 1-3 digits, value into *out; returns digits used or 0. */
static size_t parse_num3(const char *s, size_t len, uint16_t *out)
{
	size_t i = 0;
	unsigned v = 0;

	while (i < len && i < 3 && is_digit(s[i])) {
		v = v * 10 + (unsigned)(s[i] - '0');
		i++;
	}
	if (i == 0 || (i < len && is_digit(s[i])))
		return 0;
	*out = (uint16_t)v;
	return i;
}

size_t nr_smtpc_parse_enhanced(const char *text, size_t len, uint8_t *cls, uint16_t *subject,
			       uint16_t *detail)
{
	size_t pos, n;
	uint16_t sub, det;

	/* RFC 3463 2: class "." subject "." detail; class is 2, 4 or 5. */
	if (len < 5 || (text[0] != '2' && text[0] != '4' && text[0] != '5') || text[1] != '.')
		return 0;
	pos = 2;
	n = parse_num3(text + pos, len - pos, &sub);
	if (n == 0)
		return 0;
	pos += n;
	if (pos >= len || text[pos] != '.')
		return 0;
	pos++;
	n = parse_num3(text + pos, len - pos, &det);
	if (n == 0)
		return 0;
	pos += n;
	if (pos < len && text[pos] != ' ')
		return 0;
	*cls = (uint8_t)(text[0] - '0');
	*subject = sub;
	*detail = det;
	return pos;
}

static uint64_t parse_size_param(const char *s, size_t len)
{
	uint64_t v = 0;
	size_t i;

	for (i = 0; i < len && is_digit(s[i]); i++) {
		unsigned d = (unsigned)(s[i] - '0');

		if (v > (UINT64_MAX - d) / 10)
			return UINT64_MAX;
		v = v * 10 + d;
	}
	/* "SIZE abc": no usable limit announced. */
	return i == len ? v : 0;
}

static void parse_auth_mechs(struct nr_smtpc_caps *caps, const char *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		size_t start;

		while (i < len && s[i] == ' ')
			i++;
		start = i;
		while (i < len && s[i] != ' ')
			i++;
		if (i == start)
			break;
		if (nr_ascii_ieq_word(s + start, i - start, "PLAIN"))
			caps->auth |= NR_SMTPC_AUTH_PLAIN;
		else if (nr_ascii_ieq_word(s + start, i - start, "LOGIN"))
			caps->auth |= NR_SMTPC_AUTH_LOGIN;
		else if (nr_ascii_ieq_word(s + start, i - start, "CRAM-MD5"))
			caps->auth |= NR_SMTPC_AUTH_CRAM_MD5;
		else if (nr_ascii_ieq_word(s + start, i - start, "XOAUTH2"))
			caps->auth |= NR_SMTPC_AUTH_XOAUTH2;
	}
}

void nr_smtpc_caps_parse_line(struct nr_smtpc_caps *caps, const char *text, size_t len)
{
	static const struct {
		const char *word;
		uint32_t bit;
	} simple[] = {
	    {"PIPELINING", NR_SMTPC_CAP_PIPELINING},
	    {"8BITMIME", NR_SMTPC_CAP_8BITMIME},
	    {"STARTTLS", NR_SMTPC_CAP_STARTTLS},
	    {"ENHANCEDSTATUSCODES", NR_SMTPC_CAP_ENHANCEDSTATUSCODES},
	    {"SMTPUTF8", NR_SMTPC_CAP_SMTPUTF8},
	    {"CHUNKING", NR_SMTPC_CAP_CHUNKING},
	    {"DSN", NR_SMTPC_CAP_DSN},
	};
	size_t kw_end = 0, params;
	size_t i;

	/* RFC 5321 4.1.1.1: ehlo-line = ehlo-keyword *( SP ehlo-param ). The
	 * pre-standard "AUTH=mech mech" form is still sent by some servers. */
	while (kw_end < len && text[kw_end] != ' ' && text[kw_end] != '=')
		kw_end++;
	params = kw_end < len ? kw_end + 1 : len;

	if (nr_ascii_ieq_word(text, kw_end, "AUTH")) {
		caps->caps |= NR_SMTPC_CAP_AUTH;
		parse_auth_mechs(caps, text + params, len - params);
		return;
	}
	if (kw_end < len && text[kw_end] == '=')
		return;
	if (nr_ascii_ieq_word(text, kw_end, "SIZE")) {
		caps->caps |= NR_SMTPC_CAP_SIZE;
		caps->size_max = parse_size_param(text + params, len - params);
		return;
	}
	for (i = 0; i < NR_ARRAY_LEN(simple); i++) {
		if (nr_ascii_ieq_word(text, kw_end, simple[i].word)) {
			caps->caps |= simple[i].bit;
			return;
		}
	}
}

static void append_text(struct nr_smtpc_reply *r, const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (r->text_len + 1 >= sizeof(r->text)) {
			r->text_truncated = 1;
			break;
		}
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			c = '?';
		r->text[r->text_len++] = (char)c;
	}
	r->text[r->text_len] = '\0';
}

/* One complete line (CR/LF stripped). Returns 1 when it ends the reply. */
static int take_line(struct nr_smtpc_reply_asm *a, const char *line, size_t len)
{
	struct nr_smtpc_reply *r = &a->reply;
	const char *text;
	size_t text_len, skip;
	int code, last;
	uint8_t cls;
	uint16_t sub, det;

	if (len < 3 || line[0] < '2' || line[0] > '5' || !is_digit(line[1]) || !is_digit(line[2]))
		return NR_EPROTO;
	if (len > 3 && line[3] != ' ' && line[3] != '-')
		return NR_EPROTO;
	code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
	last = len == 3 || line[3] == ' ';
	if (r->lines > 0 && code != r->code)
		return NR_EPROTO;
	if (r->lines >= CONFIG_NR_MAX_REPLY_LINES)
		return NR_ETOOBIG;

	text = len > 4 ? line + 4 : "";
	text_len = len > 4 ? len - 4 : 0;
	if (r->lines == 0) {
		r->code = code;
		if (nr_smtpc_parse_enhanced(text, text_len, &cls, &sub, &det) > 0 &&
		    cls == line[0] - '0') {
			r->enh_class = cls;
			r->enh_subject = sub;
			r->enh_detail = det;
		}
		append_text(r, text, text_len);
	} else {
		nr_smtpc_caps_parse_line(&r->caps, text, text_len);
		/* RFC 2034: the enhanced code repeats on every line; keep one. */
		skip = nr_smtpc_parse_enhanced(text, text_len, &cls, &sub, &det);
		if (skip > 0 && r->enh_class != 0) {
			while (skip < text_len && text[skip] == ' ')
				skip++;
			text += skip;
			text_len -= skip;
		}
		if (text_len > 0) {
			if (r->text_len > 0)
				append_text(r, " ", 1);
			append_text(r, text, text_len);
		}
	}
	r->lines++;
	return last;
}

int nr_smtpc_reply_feed(struct nr_smtpc_reply_asm *a, const void *data, size_t len, size_t *used)
{
	const char *p = data;
	size_t i;
	int ret;

	*used = 0;
	if (a->error)
		return a->error;
	if (a->complete) {
		/* The previous reply was handed out: start the next one. */
		a->complete = 0;
		memset(&a->reply, 0, sizeof(a->reply));
	}
	for (i = 0; i < len; i++) {
		char c = p[i];

		a->pending++;
		if (c != '\n') {
			if (a->line_len >= NR_SMTPC_REPLY_LINE_MAX - 1) {
				*used = i;
				a->error = NR_ETOOBIG;
				return a->error;
			}
			a->line[a->line_len++] = c;
			continue;
		}
		if (a->line_len > 0 && a->line[a->line_len - 1] == '\r') {
			a->line_len--;
		} else if (a->flags & NR_SMTPC_REPLY_STRICT) {
			*used = i;
			a->error = NR_EPROTO;
			return a->error;
		}
		ret = take_line(a, a->line, a->line_len);
		a->line_len = 0;
		if (ret < 0) {
			*used = i;
			a->error = ret;
			return ret;
		}
		if (ret == 1) {
			a->complete = 1;
			a->pending = 0;
			*used = i + 1;
			return 1;
		}
	}
	*used = len;
	return 0;
}
