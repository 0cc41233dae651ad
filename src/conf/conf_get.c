/*
 * conf_get.c - the value readers of the key handlers (conf_keys.c): each
 * takes one value of a line, checks it completely, and stores it, or fails
 * with the FILE:LINE message that says what was expected (nr_conf_fail).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf.h"
#include "conf/conf_int.h"
#include "core/fmt.h"
#include "core/mem.h"

/* "5m" style text for a duration limit in a message: the largest exact unit. */
static const char *duration_text(char *buf, size_t size, uint64_t ms)
{
	static const struct {
		uint64_t ms;
		char unit;
	} units[] = {{86400000, 'd'}, {3600000, 'h'}, {60000, 'm'}, {1000, 's'}};
	size_t i;

	for (i = 0; i < NR_ARRAY_LEN(units); i++) {
		if (ms >= units[i].ms && ms % units[i].ms == 0) {
			snprintf(buf, size, "%s%c", NR_U64(ms / units[i].ms), units[i].unit);
			return buf;
		}
	}
	snprintf(buf, size, "%sms", NR_U64(ms));
	return buf;
}

int nr_conf_get_size(struct nr_conf_parser *p, const char *v, const char *example, uint64_t min,
		     uint64_t max, uint64_t *out)
{
	char a[24], b[24];
	uint64_t x;

	if (nr_conf_parse_size(v, &x) != 0)
		return nr_conf_fail(p, "expected a size like %s, got %s", example,
				    nr_conf_quote(p, v));
	if (x < min || x > max)
		return nr_conf_fail(p, "expected a size from %s to %s, got %s",
				    nr_conf_size_text(a, sizeof(a), min),
				    nr_conf_size_text(b, sizeof(b), max), nr_conf_quote(p, v));
	*out = x;
	return 0;
}

int nr_conf_get_duration(struct nr_conf_parser *p, const char *v, const char *example, uint64_t min,
			 uint64_t max, uint64_t *out)
{
	char a[24], b[24];
	uint64_t x;

	*out = 0; /* defined on failure too: optimised builds see every path */
	if (nr_conf_parse_duration(v, &x) != 0)
		return nr_conf_fail(
		    p, "expected a duration like %s (s, m, h, d; bare number: seconds), got %s",
		    example, nr_conf_quote(p, v));
	if (x < min || x > max)
		return nr_conf_fail(p, "expected a duration from %s to %s, got %s",
				    duration_text(a, sizeof(a), min),
				    duration_text(b, sizeof(b), max), nr_conf_quote(p, v));
	*out = x;
	return 0;
}

int nr_conf_get_number(struct nr_conf_parser *p, const char *v, unsigned min, unsigned max,
		       const char *ceiling, unsigned *out)
{
	uint64_t x;
	enum nr_conf_why why = nr_conf_uint_parse(v, strlen(v), UINT64_MAX, &x);

	if (why == NR_CONF_WHY_OK && x >= min && x <= max) {
		*out = (unsigned)x;
		return 0;
	}
	if (ceiling != NULL)
		return nr_conf_fail(p, "expected a number from %u to %u (%s), got %s", min, max,
				    ceiling, nr_conf_quote(p, v));
	return nr_conf_fail(p, "expected a number from %u to %u, got %s", min, max,
			    nr_conf_quote(p, v));
}

/* Index of v in the NULL-terminated words, or a message listing them. */
int nr_conf_get_word(struct nr_conf_parser *p, const char *v, const char *const *words,
		     const char *expect, int *out)
{
	int i;

	*out = 0; /* defined on failure too: optimised builds see every path */
	for (i = 0; words[i] != NULL; i++) {
		if (strcmp(v, words[i]) == 0) {
			*out = i;
			return 0;
		}
	}
	return nr_conf_fail(p, "expected %s, got %s", expect, nr_conf_quote(p, v));
}

const char *nr_conf_opt_get(const struct nr_conf_line *l, const char *name)
{
	size_t i;

	for (i = 0; i < l->nopts; i++) {
		if (strcmp(l->opt[i].name, name) == 0)
			return l->opt[i].value;
	}
	return NULL;
}

int nr_conf_why_fail(struct nr_conf_parser *p, enum nr_conf_why why, const char *v,
		     const char *expect)
{
	switch (why) {
	case NR_CONF_WHY_NO_IPV6:
		return nr_conf_fail(p, "IPv6 is not in this build (CONFIG_NR_IPV6), got %s",
				    nr_conf_quote(p, v));
	case NR_CONF_WHY_BRACKETS:
		return nr_conf_fail(
		    p, "an IPv6 address with a port needs brackets, like [::1]:25, got %s",
		    nr_conf_quote(p, v));
	case NR_CONF_WHY_HOSTBITS:
		return nr_conf_fail(
		    p, "%s has bits set beyond its prefix length; write the network address",
		    nr_conf_quote(p, v));
	default:
		return nr_conf_fail(p, "expected %s, got %s", expect, nr_conf_quote(p, v));
	}
}

int nr_conf_get_cidr(struct nr_conf_parser *p, const char *v, struct nr_cidr *out)
{
	enum nr_conf_why why = nr_conf_cidr_parse(v, out);

	if (why == NR_CONF_WHY_OK)
		return 0;
	return nr_conf_why_fail(p, why, v, "a network like 192.168.1.0/24, fd00::/8 or an address");
}

/* A comma-separated CIDR list (listen's plain_auth= and legacy_tls=). */
int nr_conf_get_cidr_list(struct nr_conf_parser *p, const char *v, struct nr_cidr **out,
			  size_t *count)
{
	char item[128];
	const char *s = v;
	size_t n = 1, i = 0;
	struct nr_cidr *list;
	int rc;

	for (; *s != '\0'; s++)
		n += *s == ',';
	list = nr_calloc(n, sizeof(*list));
	if (list == NULL)
		return nr_conf_oom(p);
	s = v;
	while (i < n) {
		const char *comma = strchr(s, ',');
		size_t len = comma != NULL ? (size_t)(comma - s) : strlen(s);
		if (len == 0 || len >= sizeof(item)) {
			nr_free(list);
			return nr_conf_fail(p,
					    "expected networks separated by commas, like "
					    "192.168.1.0/24,10.0.0.5, got %s",
					    nr_conf_quote(p, v));
		}
		memcpy(item, s, len);
		item[len] = '\0';
		rc = nr_conf_get_cidr(p, item, &list[i++]);
		if (rc != 0) {
			nr_free(list);
			return rc;
		}
		s += len + 1;
	}
	nr_free(*out);
	*out = list;
	*count = n;
	return 0;
}

int nr_conf_check_file(struct nr_conf_parser *p, const char *what, const char *path,
		       int missing_is_error)
{
	/* only whether it is there: exposure is looked at once `user` is
	 * known, at the end of the file */
	int rc = nr_conf_probe_file(path, NULL);

	if (rc < 0 && missing_is_error)
		return nr_conf_fail(p, "%s %s: cannot read: %s", what, path, nr_strerror(rc));
	else if (rc < 0)
		nr_conf_warn_at(p, "%s %s: cannot read: %s", what, path, nr_strerror(rc));
	return 0;
}
