/*
 * conf_int.h - shared between the files of the conf module only.
 *
 * The public helpers in conf.h answer 0 / NR_EINVAL; the parser needs to
 * know *why* a value was refused to say so in its FILE:LINE message, so
 * these variants return one of the reasons below.
 */
#ifndef NR_CONF_CONF_INT_H
#define NR_CONF_CONF_INT_H

#include <stddef.h>
#include <stdint.h>

#include "conf/conf.h"

#define NR_CONF_DEFAULT_STATE_DIR "/var/lib/nanorelay"

/* The defaults of nr_conf_init() are static strings; these tell them apart
 * from allocated ones (conf.c). free_str frees only allocated ones. */
int nr_conf_is_default_str(const char *s);
void nr_conf_free_str(char **s);

enum nr_conf_why {
	NR_CONF_WHY_OK = 0,
	NR_CONF_WHY_SYNTAX,   /* not the expected form */
	NR_CONF_WHY_RANGE,    /* a number too large (overflow, prefix, port) */
	NR_CONF_WHY_HOSTBITS, /* CIDR with bits set beyond the prefix */
	NR_CONF_WHY_NO_IPV6,  /* an IPv6 address in a build without CONFIG_NR_IPV6 */
	NR_CONF_WHY_BRACKETS, /* an IPv6 address with a port but no [brackets] */
	NR_CONF_WHY_NO_PORT,  /* a port is required and missing */
};

/* One IP address of exactly len bytes (no port, no brackets, no prefix):
 * strict dotted quad (no leading zeros, no octal/hex) or RFC 4291 text. */
enum nr_conf_why nr_conf_ip_parse(const char *s, size_t len, struct nr_addr *out);
enum nr_conf_why nr_conf_hostport_parse(const char *s, struct nr_addr *out, uint16_t default_port);
enum nr_conf_why nr_conf_cidr_parse(const char *s, struct nr_cidr *out);
/* Decimal digits only, no sign, no leading zeros unless "0", at most max. */
enum nr_conf_why nr_conf_uint_parse(const char *s, size_t len, uint64_t max, uint64_t *out);

/* ---- the parser, shared by conf_parse.c (lines) and conf_keys.c (keys) ---- */

#define NR_CONF_LINE_MAX 4096
#define NR_CONF_TOKENS_MAX 64
#define NR_CONF_KEYS_MAX 48
#define NR_CONF_SOCKET_PATH_MAX 107 /* sun_path of AF_UNIX, less the NUL */

struct nr_conf_opt {
	const char *name;
	const char *value;
};

struct nr_conf_line {
	char *arg[NR_CONF_TOKENS_MAX];
	size_t nargs;
	struct nr_conf_opt opt[NR_CONF_TOKENS_MAX];
	size_t nopts;
};

struct nr_conf_key;

struct nr_conf_parser {
	struct nr_conf *c;
	const char *path;
	int line;
	const char *key; /* for the message prefix, NULL before the key is known */
	const char *sub; /* the option being checked, if any */
	char *err;
	size_t err_size;
	int seen[NR_CONF_KEYS_MAX]; /* line where each key was first set, by nr_conf_keys[] index */
	int listen_set, allow_set;  /* the file's own lines replace the defaults */
	char quoted[2][80];
	int quote_next;
};

struct nr_conf_key {
	const char *name;
	int (*fn)(struct nr_conf_parser *p, struct nr_conf_line *l);
	unsigned min, max;       /* positional values; max 0: any number */
	const char *const *opts; /* option names; NULL: the key takes none */
	int repeatable;
	const char *usage; /* what a value looks like, for "missing value" */
};

extern const struct nr_conf_key nr_conf_keys[];
extern const size_t nr_conf_key_count;

/* The key a mistyped name was most likely meant to be (at most 2 edits,
 * case ignored), or NULL (conf_check.c). */
const char *nr_conf_key_suggest(const char *name);

/* The file probe's answer for path (nr_conf_set_file_probe), or 0
 * ("there and private") when no probe is set (conf_check.c). */
int nr_conf_probe_file(const char *path, const char *user);

/* "path:line: key: [option: ]message" into the error buffer; NR_EINVAL. */
int nr_conf_fail(struct nr_conf_parser *p, const char *fmt, ...) NR_PRINTF(2, 3);
int nr_conf_oom(struct nr_conf_parser *p); /* NR_ENOMEM */
/* v in double quotes, cut at 60 bytes; two slots, so two per message. */
const char *nr_conf_quote(struct nr_conf_parser *p, const char *v);
/* a "path:line: message" warning to the log; loading goes on */
void nr_conf_warn_at(struct nr_conf_parser *p, const char *fmt, ...) NR_PRINTF(2, 3);
char *nr_conf_dup_str(const char *s);
int nr_conf_set_str(struct nr_conf_parser *p, char **field, const char *v);
/* "25M" for a limit in a message: the largest exact unit */
const char *nr_conf_size_text(char *buf, size_t size, uint64_t v);

/* ---- value readers for the key handlers (conf_get.c) ----
 * Each stores a checked value and answers 0, or answers nr_conf_fail()'s
 * NR_EINVAL with a message naming what was expected (example, range, and
 * for a compile-time ceiling the name of its Kconfig symbol). */
int nr_conf_get_size(struct nr_conf_parser *p, const char *v, const char *example, uint64_t min,
		     uint64_t max, uint64_t *out);
int nr_conf_get_duration(struct nr_conf_parser *p, const char *v, const char *example, uint64_t min,
			 uint64_t max, uint64_t *out);
/* ceiling: "limit CONFIG_NR_X of this build" when max is a Kconfig value, else NULL */
int nr_conf_get_number(struct nr_conf_parser *p, const char *v, unsigned min, unsigned max,
		       const char *ceiling, unsigned *out);
/* Index of v in the NULL-terminated words, or a message listing them. */
int nr_conf_get_word(struct nr_conf_parser *p, const char *v, const char *const *words,
		     const char *expect, int *out);
/* The value of option name= on the line, or NULL. */
const char *nr_conf_opt_get(const struct nr_conf_line *l, const char *name);
/* The message for an address refused with why (expect: what was wanted). */
int nr_conf_why_fail(struct nr_conf_parser *p, enum nr_conf_why why, const char *v,
		     const char *expect);
int nr_conf_get_cidr(struct nr_conf_parser *p, const char *v, struct nr_cidr *out);
/* A comma-separated CIDR list (listen's plain_auth= and legacy_tls=). */
int nr_conf_get_cidr_list(struct nr_conf_parser *p, const char *v, struct nr_cidr **out,
			  size_t *count);
/* A secret file: warn when group or others may read it; a missing one is
 * an error when missing_is_error, else a warning. */
int nr_conf_check_file(struct nr_conf_parser *p, const char *what, const char *path,
		       int missing_is_error);

/* The oauth2= and oauth2_* options of a smarthost line (conf_oauth2.c):
 * 0 with *out NULL when the line has none, 0 with *out set (presets
 * filled in, every rule checked), or nr_conf_fail()'s NR_EINVAL. */
int nr_conf_oauth2_opts(struct nr_conf_parser *p, const struct nr_conf_line *l,
			struct nr_conf_oauth2 **out);
void nr_conf_oauth2_free(struct nr_conf_oauth2 *o);

#endif /* NR_CONF_CONF_INT_H */
