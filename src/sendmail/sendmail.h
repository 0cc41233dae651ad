/*
 * sendmail.h - the sendmail-compatible front end.
 *
 *   sendmail [-t] [-i|-oi] [-f SENDER] [-F NAME] [-bm|-bs] [-v] [-C FILE] [--] [ADDR...]
 *
 * It reads a message from standard input and submits it over SMTP to the
 * daemon's submit socket, where it takes the ordinary smtpd path (trusted,
 * local). Without a running daemon it delivers in the foreground or fails
 * with 75, as `sendmail_no_daemon` says. Exit codes are sysexits values.
 * argv and stdin are data: nothing is passed to a shell, ever.
 *
 * The option parser and the header scan are separate functions so that
 * unit tests can drive them without a socket.
 */
#ifndef NR_SENDMAIL_SENDMAIL_H
#define NR_SENDMAIL_SENDMAIL_H

#include <stddef.h>

#include "core/build.h"

struct nr_conf;

/* sysexits.h values (no OS header under src/). */
enum nr_sm_exit {
	NR_SM_EX_OK = 0,
	NR_SM_EX_USAGE = 64,
	NR_SM_EX_DATAERR = 65,
	NR_SM_EX_NOINPUT = 66,
	NR_SM_EX_UNAVAILABLE = 69,
	NR_SM_EX_SOFTWARE = 70,
	NR_SM_EX_OSERR = 71,
	NR_SM_EX_IOERR = 74,
	NR_SM_EX_TEMPFAIL = 75,
	NR_SM_EX_CONFIG = 78,
};

enum nr_sm_mode {
	NR_SM_MODE_DELIVER = 0, /* -bm (the default): read a message, send it */
	NR_SM_MODE_SMTP,        /* -bs: SMTP on stdin/stdout */
	NR_SM_MODE_QUEUE,       /* -bp, or invoked as mailq */
	NR_SM_MODE_NEWALIASES,  /* -bi, or invoked as newaliases */
};

#define NR_SM_MAX_ARGS_RCPT 256 /* recipients on the command line */

struct nr_sm_opts {
	enum nr_sm_mode mode;
	int read_recipients;   /* -t */
	int ignore_dots;       /* -i, -oi: a lone "." line is content */
	int verbose;           /* -v */
	const char *sender;    /* -f / -r: NULL means the invoking user */
	const char *full_name; /* -F */
	const char *conf_path; /* -C; NULL: $NANORELAY_CONF or the default */
	const char *rcpt[NR_SM_MAX_ARGS_RCPT];
	size_t nrcpt;
};

/*
 * Parse argv[1..argc-1] (argv[0] is the program name and not looked at).
 * 0, or a sysexits code (64 for an unknown option or a missing argument,
 * 65 for CR/LF in -f, -F or an address) with a message in err.
 */
int nr_sendmail_parse_opts(int argc, char **argv, struct nr_sm_opts *o, char *err,
			   size_t errlen) NR_MUST_CHECK;

/* Called for every address found; a non-zero return stops the scan and is
 * returned from it. */
typedef int (*nr_sm_addr_fn)(void *arg, const char *addr);

/*
 * An RFC 5322 address list ("A <a@x>, b@y (c), grp: c@z;"): calls fn with
 * each bare address (display names, comments, groups and routes removed).
 * 0, fn's non-zero value, or NR_SM_EX_DATAERR for an unterminated quote,
 * comment or angle bracket, or an address longer than NR_PATH_MAX.
 */
int nr_sendmail_parse_addrlist(const char *s, size_t len, nr_sm_addr_fn fn, void *arg);

/* What the header scan found. */
struct nr_sm_hdrinfo {
	int has_from;
	int has_date;
	int has_message_id;
};

/*
 * Scan a header block (lines ending in LF or CRLF, continuation lines
 * starting with a blank). With fn set, calls it for every address of To:,
 * Cc: and Bcc: (folded fields unfolded first). Bcc: fields are removed
 * from the block in place; *len is updated. 0, or what
 * nr_sendmail_parse_addrlist returned.
 */
int nr_sendmail_scan_headers(char *hdr, size_t *len, struct nr_sm_hdrinfo *info, nr_sm_addr_fn fn,
			     void *arg);

/* 1 when s has no CR, LF or NUL among its first n bytes. */
int nr_sendmail_safe_arg(const char *s, size_t n);

/* The entry point: argv[0]'s base name picks sendmail, mailq or newaliases.
 * conf_path: the -c of `nanorelay -c FILE sendmail`, or NULL. */
int nr_sendmail_main(int argc, char **argv, const char *conf_path);

#endif /* NR_SENDMAIL_SENDMAIL_H */
