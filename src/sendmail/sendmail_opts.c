/*
 * sendmail_opts.c - the sendmail command line, as cron, smartd, mdadm,
 * mail(1) and scripts use it.
 *
 * Flags may be clustered (-ti, -oi, -fuser@x); an option that takes a value
 * takes the rest of its cluster or the next word. Unknown -o... options are
 * ignored like the real sendmail does; any other unknown option is a usage
 * error (64). Parsing stops at the first word that is not an option, or
 * after "--".
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "sendmail/sendmail.h"

int nr_sendmail_safe_arg(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (s[i] == '\r' || s[i] == '\n' || s[i] == '\0')
			return 0;
	return 1;
}

static int fail(char *err, size_t errlen, int code, const char *fmt, ...) NR_PRINTF(4, 5);
static int fail(char *err, size_t errlen, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return code;
}

/* The mode letter after -b. */
static int set_mode(struct nr_sm_opts *o, char m, char *err, size_t errlen)
{
	char what[2] = {m, '\0'};

	switch (m) {
	case 'm':
		o->mode = NR_SM_MODE_DELIVER;
		return 0;
	case 's':
		o->mode = NR_SM_MODE_SMTP;
		return 0;
	case 'p':
		o->mode = NR_SM_MODE_QUEUE;
		return 0;
	case 'i':
		o->mode = NR_SM_MODE_NEWALIASES;
		return 0;
	default:
		return fail(err, errlen, NR_SM_EX_USAGE, "-b%s is not supported", what);
	}
}

/* Options with a value; the ones we do not use are accepted and ignored
 * (-N dsn, -B type, -R ret, -V envid, -O option=value, -L tag). */
static int apply_value(struct nr_sm_opts *o, char opt, const char *val, char *err, size_t errlen)
{
	switch (opt) {
	case 'f':
	case 'r':
		if (!nr_sendmail_safe_arg(val, strlen(val)))
			return fail(err, errlen, NR_SM_EX_DATAERR,
				    "the sender contains a line break");
		o->sender = val;
		return 0;
	case 'F':
		if (!nr_sendmail_safe_arg(val, strlen(val)))
			return fail(err, errlen, NR_SM_EX_DATAERR,
				    "the full name contains a line break");
		o->full_name = val;
		return 0;
	case 'C':
		o->conf_path = val;
		return 0;
	default:
		return 0;
	}
}

static int takes_value(char c)
{
	return c != '\0' && strchr("frFCNBROVL", c) != NULL;
}

/* One "-..." word; *i may advance past a value in the next word. */
static int parse_cluster(int argc, char **argv, int *i, struct nr_sm_opts *o, char *err,
			 size_t errlen)
{
	const char *p = argv[*i] + 1;
	char what[3] = {'-', '\0', '\0'};

	while (*p) {
		char c = *p++;
		int rc;

		if (takes_value(c)) {
			const char *val = p;

			if (*val == '\0') {
				if (*i + 1 >= argc) {
					what[1] = c;
					return fail(err, errlen, NR_SM_EX_USAGE, "%s needs a value",
						    what);
				}
				val = argv[++*i];
			}
			return apply_value(o, c, val, err, errlen);
		}
		switch (c) {
		case 't':
			o->read_recipients = 1;
			break;
		case 'i':
			o->ignore_dots = 1;
			break;
		case 'v':
			o->verbose = 1;
			break;
		case 'm': /* me too: the sender is never dropped anyway */
		case 'n': /* no aliasing: aliases live in the daemon */
		case 'U': /* initial user submission */
		case 'G': /* gateway submission */
			break;
		case 'o':
			/* -oi is the one option that matters; -oem, -odb,
			 * -oQ/path ... are ignored. */
			if (strcmp(p, "i") == 0)
				o->ignore_dots = 1;
			return 0;
		case 'd': /* debug flags: ignored */
			return 0;
		case 'b':
			if (*p == '\0')
				return fail(err, errlen, NR_SM_EX_USAGE, "-b needs a mode");
			if ((rc = set_mode(o, *p, err, errlen)) != 0)
				return rc;
			return 0;
		default:
			what[1] = c;
			return fail(err, errlen, NR_SM_EX_USAGE, "unknown option %s", what);
		}
	}
	return 0;
}

int nr_sendmail_parse_opts(int argc, char **argv, struct nr_sm_opts *o, char *err, size_t errlen)
{
	int i, rc;

	memset(o, 0, sizeof(*o));
	err[0] = '\0';
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "--") == 0) {
			i++;
			break;
		}
		if (a[0] != '-' || a[1] == '\0')
			break;
		rc = parse_cluster(argc, argv, &i, o, err, errlen);
		if (rc != 0)
			return rc;
	}
	for (; i < argc; i++) {
		if (!nr_sendmail_safe_arg(argv[i], strlen(argv[i])))
			return fail(err, errlen, NR_SM_EX_DATAERR,
				    "a recipient contains a line break");
		if (o->nrcpt >= NR_SM_MAX_ARGS_RCPT)
			return fail(err, errlen, NR_SM_EX_USAGE,
				    "too many recipients on the command line");
		o->rcpt[o->nrcpt++] = argv[i];
	}
	return 0;
}
