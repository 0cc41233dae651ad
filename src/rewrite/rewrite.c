/* rewrite.c - envelope sender, aliases, qualification, header From. */
#include "rewrite/rewrite.h"

#include <stdio.h>
#include <string.h>

#include "core/ascii.h"

static const char *host_of(const struct nr_rewrite *rw)
{
	return rw->hostname && rw->hostname[0] ? rw->hostname : "localhost";
}

int nr_rewrite_check_addr(const char *addr, int allow_bare)
{
	size_t i, len = strlen(addr), at = 0, ats = 0;

	if (len == 0 || len > NR_REWRITE_ADDR_MAX)
		return NR_EINVAL;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)addr[i];

		/* RFC 5322 specials and anything that could end a command
		 * line or a header field. */
		if (c <= 0x20 || c == 0x7f || strchr("()<>[]\\,;:\"", c))
			return NR_EINVAL;
		if (c == '@') {
			at = i;
			ats++;
		}
	}
	if (ats == 0)
		return allow_bare ? 0 : NR_EINVAL;
	if (ats > 1 || at == 0 || at == len - 1)
		return NR_EINVAL;
	return 0;
}

int nr_rewrite_qualify(const struct nr_rewrite *rw, const char *addr, char *out, size_t size)
{
	int n;

	if (nr_rewrite_check_addr(addr, 1) != 0)
		return NR_EINVAL;
	if (strchr(addr, '@'))
		n = snprintf(out, size, "%s", addr);
	else
		n = snprintf(out, size, "%s@%s", addr, host_of(rw));
	if (n < 0 || (size_t)n >= size || (size_t)n > NR_REWRITE_ADDR_MAX)
		return NR_ETOOBIG;
	return 0;
}

/* The alias target for a qualified address, most specific match first. */
static const char *alias_lookup(const struct nr_rewrite *rw, const char *addr)
{
	const char *at = strchr(addr, '@');
	const char *dom = at + 1, *host = host_of(rw);
	size_t local_len = (size_t)(at - addr), i;
	int local_domain = nr_ascii_ieq(dom, host) || nr_ascii_ieq(dom, "localhost");
	const char *bare = NULL, *wild = NULL;

	for (i = 0; i < rw->alias_count; i++) {
		const char *from = rw->alias[i].from;

		if (from[0] == '*' && from[1] == '@') {
			if (!wild && nr_ascii_ieq(from + 2, dom))
				wild = rw->alias[i].to;
		} else if (strchr(from, '@')) {
			if (nr_ascii_ieq(from, addr))
				return rw->alias[i].to;
		} else if (!bare && local_domain && nr_ascii_ieq_word(addr, local_len, from)) {
			bare = rw->alias[i].to;
		}
	}
	return bare ? bare : wild;
}

int nr_rewrite_recipient(const struct nr_rewrite *rw, const char *rcpt, char *out, size_t size)
{
	char cur[NR_REWRITE_ADDR_MAX + 1], next[NR_REWRITE_ADDR_MAX + 1];
	int depth, ret;

	ret = nr_rewrite_qualify(rw, rcpt, cur, sizeof(cur));
	if (ret != 0)
		return ret;
	for (depth = 0; depth <= NR_REWRITE_MAX_DEPTH; depth++) {
		const char *to = alias_lookup(rw, cur);

		if (to) {
			ret = nr_rewrite_qualify(rw, to, next, sizeof(next));
			if (ret != 0)
				return ret;
		}
		/* No alias, or one that maps the address to itself. */
		if (!to || nr_ascii_ieq(next, cur)) {
			if (strlen(cur) >= size)
				return NR_ETOOBIG;
			memcpy(out, cur, strlen(cur) + 1);
			return 0;
		}
		memcpy(cur, next, sizeof(cur));
	}
	return NR_ESTATE;
}

int nr_rewrite_sender(const struct nr_rewrite *rw, const char *smarthost_user, const char *orig,
		      char *out, size_t size)
{
	const char *use;

	if (!orig || orig[0] == '\0') {
		if (size == 0)
			return NR_ETOOBIG;
		out[0] = '\0';
		return 0;
	}
	if (rw->sender)
		use = rw->sender;
	else if (smarthost_user && nr_rewrite_check_addr(smarthost_user, 0) == 0)
		use = smarthost_user;
	else
		use = orig;
	return nr_rewrite_qualify(rw, use, out, size);
}

int nr_rewrite_init(struct nr_rewrite *rw, const struct nr_conf *conf, char *err, size_t err_size)
{
	char probe[NR_REWRITE_ADDR_MAX + 1], out[NR_REWRITE_ADDR_MAX + 1];
	size_t i;

	memset(rw, 0, sizeof(*rw));
	snprintf(err, err_size, "ok");
	if (conf->hostname &&
	    (nr_rewrite_check_addr(conf->hostname, 1) != 0 || strchr(conf->hostname, '@'))) {
		snprintf(err, err_size, "hostname: not a host name");
		return NR_EINVAL;
	}
	if (conf->sender && nr_rewrite_check_addr(conf->sender, 0) != 0) {
		snprintf(err, err_size, "sender: not a plain address (local@domain)");
		return NR_EINVAL;
	}
	if (conf->alias_count > CONFIG_NR_MAX_ALIASES) {
		snprintf(err, err_size, "alias: more than %d entries", CONFIG_NR_MAX_ALIASES);
		return NR_ETOOBIG;
	}
	rw->hostname = conf->hostname;
	rw->sender = conf->sender;
	rw->from_rewrite = conf->from_rewrite == NR_FROM_REWRITE_ON; /* auto: per smarthost */
	rw->alias = conf->alias;
	rw->alias_count = conf->alias_count;

	for (i = 0; i < rw->alias_count; i++) {
		const char *from = rw->alias[i].from, *to = rw->alias[i].to;
		int wild = from && from[0] == '*' && from[1] == '@';

		if (!from || !to || nr_rewrite_check_addr(wild ? from + 2 : from, 1) != 0 ||
		    (wild && strchr(from + 2, '@')) || nr_rewrite_check_addr(to, 1) != 0) {
			snprintf(err, err_size,
				 "alias %.80s: expected NAME, user@domain or *@domain, "
				 "then an address",
				 from ? from : "");
			return NR_EINVAL;
		}
		/* Follow the chain once now so a loop is a config error. */
		if (wild)
			snprintf(probe, sizeof(probe), "nanorelay-probe@%s", from + 2);
		else
			snprintf(probe, sizeof(probe), "%s", from);
		if (nr_rewrite_recipient(rw, probe, out, sizeof(out)) == NR_ESTATE) {
			snprintf(err, err_size, "alias %.80s: aliases form a loop", from);
			return NR_EINVAL;
		}
	}
	return 0;
}

/* ---- header From filter ------------------------------------------------------ */

enum { ST_LINE_START = 0, ST_NAME, ST_BODY };
enum { F_NONE = 0, F_PASS, F_FROM, F_DROP };

static int flush_out(struct nr_rewrite_hdr *h)
{
	int ret;

	if (h->out_len == 0 || h->error)
		return h->error;
	ret = h->emit(h->emit_arg, h->out, h->out_len);
	h->out_len = 0;
	if (ret < 0)
		h->error = ret;
	return h->error;
}

static void out_bytes(struct nr_rewrite_hdr *h, const char *p, size_t len)
{
	while (len > 0 && !h->error) {
		size_t n = sizeof(h->out) - h->out_len;

		if (n == 0) {
			flush_out(h);
			continue;
		}
		if (n > len)
			n = len;
		memcpy(h->out + h->out_len, p, n);
		h->out_len += n;
		p += n;
		len -= n;
	}
}

static void out_str(struct nr_rewrite_hdr *h, const char *s)
{
	out_bytes(h, s, strlen(s));
}

int nr_rewrite_hdr_init(struct nr_rewrite_hdr *h, const struct nr_rewrite *rw, const char *sender,
			nr_rewrite_emit_fn emit, void *emit_arg)
{
	memset(h, 0, sizeof(*h));
	if (!sender || nr_rewrite_check_addr(sender, 0) != 0)
		return NR_EINVAL;
	memcpy(h->sender, sender, strlen(sender) + 1);
	h->rw = rw;
	h->emit = emit;
	h->emit_arg = emit_arg;
	return 0;
}

static int is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

/* Unfolded, trimmed From value (after the colon) into v; returns length. */
static size_t unfold_value(const struct nr_rewrite_hdr *h, char *v, size_t size)
{
	const char *colon = memchr(h->field_buf, ':', h->field_len);
	size_t i, n = 0;

	for (i = colon ? (size_t)(colon - h->field_buf) + 1 : h->field_len; i < h->field_len; i++) {
		char c = h->field_buf[i];

		if (c == '\r' || c == '\n')
			continue; /* RFC 5322 2.2.3: unfolding removes CRLF */
		if ((unsigned char)c < 0x20 || c == 0x7f)
			c = ' ';
		if (n + 1 < size)
			v[n++] = c;
	}
	while (n > 0 && v[n - 1] == ' ')
		n--;
	v[n] = '\0';
	i = 0;
	while (v[i] == ' ')
		i++;
	memmove(v, v + i, n - i + 1);
	return n - i;
}

/* The display text of a From value: its display name, else its address.
 * v and t may be the same buffer.
 * *quoted tells whether it came from a quoted-string. */
static size_t display_of(char *v, size_t n, char *t, size_t size, int *quoted)
{
	size_t i, lt = n, k = 0;
	int inq = 0;

	*quoted = 0;
	for (i = 0; i < n; i++) {
		if (v[i] == '\\' && inq && i + 1 < n) {
			i++;
		} else if (v[i] == '"') {
			inq = !inq;
		} else if (v[i] == '<' && !inq) {
			lt = i;
			break;
		}
	}
	if (lt < n) {
		size_t end = lt;

		while (end > 0 && v[end - 1] == ' ')
			end--;
		if (end > 0 && v[0] == '"') {
			*quoted = 1;
			for (i = 1; i < end && v[i] != '"'; i++) {
				if (v[i] == '\\' && i + 1 < end)
					i++;
				if (k + 1 < size)
					t[k++] = v[i];
			}
		} else {
			for (i = 0; i < end && k + 1 < size; i++)
				t[k++] = v[i];
		}
		if (k == 0) {
			/* "<addr>" alone: the address is the text. */
			for (i = lt + 1; i < n && v[i] != '>' && k + 1 < size; i++)
				t[k++] = v[i];
		}
	} else {
		/* addr-spec, maybe followed by a (comment). */
		for (i = 0; i < n && v[i] != ' ' && v[i] != '(' && k + 1 < size; i++)
			t[k++] = v[i];
	}
	t[k] = '\0';
	return k;
}

/* RFC 5322 3.2.3 atext, the characters of an atom. */
static int is_atext(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c && strchr("!#$%&'*+-/=?^_`{|}~", c));
}

/* t[0..n) is atoms separated by single spaces (a phrase as we write it). */
static int all_atext_words(const char *t, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)t[i];
		if (c == ' ' && i > 0 && t[i - 1] != ' ' && i + 1 < n)
			continue;
		if (!is_atext(c))
			return 0;
	}
	return n > 0;
}

static void emit_new_from(struct nr_rewrite_hdr *h)
{
	char t[NR_REWRITE_FIELD_MAX + 1];
	size_t n, k, i;
	int quoted, phrase;

	/* display_of works in place: it never writes ahead of what it reads. */
	n = unfold_value(h, t, sizeof(t));
	k = display_of(t, n, t, sizeof(t), &quoted);
	if (k > NR_REWRITE_DISPLAY_MAX) {
		k = NR_REWRITE_DISPLAY_MAX;
		while (k > 0 && ((unsigned char)t[k] & 0xc0) == 0x80)
			k--; /* do not cut a UTF-8 sequence */
		t[k] = '\0';
	}
	/* RFC 2047 5(3): encoded-words cannot sit inside a quoted-string, so an
	 * unquoted phrase that has them stays a phrase - but only when it is
	 * atext words and nothing else, as a well-formed encoded-word in a
	 * phrase is. Anything more ("(", "[", ...) is quoted: an unbalanced
	 * "(" would open a comment that swallows our address (review L1). */
	phrase = !quoted && strstr(t, "=?") && all_atext_words(t, k);
	out_str(h, "From: ");
	if (phrase) {
		out_bytes(h, t, k);
		out_str(h, " via nanorelay");
	} else {
		out_str(h, "\"");
		for (i = 0; i < k; i++) {
			if (t[i] == '"' || t[i] == '\\')
				out_str(h, "\\");
			out_bytes(h, t + i, 1);
		}
		out_str(h, " via nanorelay\"");
	}
	out_str(h, " <");
	out_str(h, h->sender);
	out_str(h, ">\r\n");
	h->from_done = 1;
}

/* A field is complete (the next line is not a continuation). */
static void end_field(struct nr_rewrite_hdr *h)
{
	if (h->field == F_FROM)
		emit_new_from(h);
	h->field = F_NONE;
}

static void end_of_block(struct nr_rewrite_hdr *h)
{
	end_field(h);
	if (!h->rw->from_rewrite)
		return;
	if (h->from_done == 1 && !h->reply_to_seen) {
		const char *colon = memchr(h->field_buf, ':', h->field_len);
		size_t off = (size_t)(colon - h->field_buf) + 1;

		out_str(h, "Reply-To:");
		out_bytes(h, h->field_buf + off, h->field_len - off);
	} else if (!h->from_done) {
		out_str(h, "From: <");
		out_str(h, h->sender);
		out_str(h, ">\r\n");
	}
}

static void field_byte(struct nr_rewrite_hdr *h, char c)
{
	if (h->field == F_PASS) {
		out_bytes(h, &c, 1);
	} else if (h->field == F_FROM) {
		if (h->field_len < sizeof(h->field_buf)) {
			h->field_buf[h->field_len++] = c;
			return;
		}
		/* Too long to rewrite safely: send it as it came. */
		out_bytes(h, h->field_buf, h->field_len);
		out_bytes(h, &c, 1);
		h->field = F_PASS;
		h->from_done = 2;
	}
}

static void field_str(struct nr_rewrite_hdr *h, const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		field_byte(h, s[i]);
}

/* The field name is known (at its colon, or it has none). */
static void classify(struct nr_rewrite_hdr *h, int has_colon)
{
	size_t n = h->name_len;

	while (n > 0 && is_wsp(h->name[n - 1]))
		n--; /* obs-optional: WSP before the colon (RFC 5322 4.5) */
	h->field = F_PASS;
	if (has_colon && h->rw->from_rewrite) {
		if (nr_ascii_ieq_word(h->name, n, "From"))
			h->field = h->from_done ? F_DROP : F_FROM;
		else if (nr_ascii_ieq_word(h->name, n, "Reply-To"))
			h->reply_to_seen = 1;
	}
	field_str(h, h->name, h->name_len);
	if (has_colon)
		field_byte(h, ':');
}

static void line_end(struct nr_rewrite_hdr *h)
{
	switch (h->state) {
	case ST_LINE_START:
		end_of_block(h);
		out_str(h, "\r\n");
		h->done = 1;
		return;
	case ST_NAME:
		classify(h, 0);
		break;
	default:
		break;
	}
	field_str(h, "\r\n", 2);
	h->state = ST_LINE_START;
}

static void take_char(struct nr_rewrite_hdr *h, char c)
{
	switch (h->state) {
	case ST_LINE_START:
		if (is_wsp(c) && h->field != F_NONE) {
			h->state = ST_BODY; /* a folded continuation */
			field_byte(h, c);
			return;
		}
		end_field(h);
		h->state = ST_NAME;
		h->name_len = 0;
		/* fall through */
	case ST_NAME:
		if (c == ':') {
			classify(h, 1);
			h->state = ST_BODY;
		} else if (is_wsp(c) && h->name_len > 0 && is_wsp(h->name[h->name_len - 1])) {
			/* Collapse WSP before the colon, so "From      :" cannot
			 * outgrow the name buffer and slip past the rewrite. */
		} else if (h->name_len < sizeof(h->name)) {
			h->name[h->name_len++] = c;
		} else {
			classify(h, 0); /* no header we rewrite has such a name */
			field_byte(h, c);
			h->state = ST_BODY;
		}
		return;
	default:
		field_byte(h, c);
	}
}

int nr_rewrite_hdr_feed(struct nr_rewrite_hdr *h, const void *data, size_t len, size_t *used)
{
	const char *p = data;
	size_t i;

	*used = 0;
	if (h->error)
		return h->error;
	if (h->done)
		return 1;
	for (i = 0; i < len && !h->done && !h->error; i++) {
		char c = p[i];

		if (c == '\n') {
			h->cr = 0;
			line_end(h);
			continue;
		}
		if (h->cr) {
			h->cr = 0;
			take_char(h, ' '); /* a bare CR is not a line end */
		}
		if (c == '\r')
			h->cr = 1;
		else
			take_char(h, c);
	}
	*used = i;
	flush_out(h);
	if (h->error)
		return h->error;
	return h->done ? 1 : 0;
}

int nr_rewrite_hdr_finish(struct nr_rewrite_hdr *h)
{
	if (h->error || h->done)
		return h->error;
	h->cr = 0; /* a CR at the very end was the start of a line end */
	if (h->state != ST_LINE_START)
		line_end(h);
	end_of_block(h);
	h->done = 1;
	return flush_out(h);
}
