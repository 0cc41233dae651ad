/*
 * app.c - the nanorelay program: command line, configuration, the daemon.
 *
 *   nanorelay [-c FILE] [--foreground] [--check-config] [--version] [--help]
 *   nanorelay [-c FILE] SUBCOMMAND [-c FILE] ... [--help]
 *
 * Exit codes follow sysexits.h: 64 usage, 78 configuration, 69/70/71/75
 * for runtime failures. The daemon always runs in the foreground under a
 * supervisor (systemd, procd, BusyBox init); without --foreground it
 * detaches once it has bound its listeners.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/app.h"
#include "app/check_system.h"
#include "app/daemon.h"
#include "app/oauth2_login.h"
#include "app/test_upstream.h"
#include "conf/conf.h"
#include "core/build.h"
#include "core/log.h"
#include "ctl/ctl.h"
#include "dns/dns.h"
#include "posix.h"
#include "sendmail/sendmail.h"
#include "tls/tls.h"
#include "users/users.h"

#define NR_DEFAULT_CONF "/etc/nanorelay.conf"

enum {
	EX_OK_ = 0,
	EX_USAGE_ = 64,
	EX_UNAVAILABLE_ = 69,
	EX_SOFTWARE_ = 70,
	EX_CONFIG_ = 78,
};

struct nr_app_args {
	const char *conf_path;
	int conf_given; /* -c was on the command line */
	int foreground;
	int check_config;
	int argi; /* first argument after the global options */
};

/* The subcommands and their arguments, for `nanorelay SUBCOMMAND --help`. */
static const struct {
	const char *name, *args;
} commands[] = {
    {"passwd", "NAME   (password on standard input)"},
    {"test-upstream", "[--timeout SECONDS] [-v]"},
#if NR_ENABLED(CONFIG_NR_OAUTH2)
    {"oauth2", "login SMARTHOST[:PORT]"},
#endif
    {"status", "[--json]"},
    {"mailq", ""},
    {"flush", ""},
    {"delete", "QUEUE-ID"},
    {"send-test", "ADDRESS [--wait SECONDS]"},
    {"sendmail", "[-t] [-i] [-f SENDER] [-F NAME] [-bm|-bs] [-v] [-C FILE] [--] [ADDRESS...]"},
};

static const char usage_text[] =
    "usage: nanorelay [-c FILE] [--foreground] [--check-config] [--version] [--help]\n"
    "       nanorelay [-c FILE] passwd NAME   (password on standard input)\n"
    "       nanorelay [-c FILE] test-upstream [--timeout SECONDS] [-v]\n"
#if NR_ENABLED(CONFIG_NR_OAUTH2)
    "       nanorelay [-c FILE] oauth2 login SMARTHOST   (see oauth2 --help)\n"
#endif
    "       nanorelay [-c FILE] status [--json] | mailq | flush | delete ID |\n"
    "                           send-test ADDRESS [--wait SECONDS]\n"
#if NR_ENABLED(CONFIG_NR_SENDMAIL)
    "       nanorelay [-c FILE] sendmail [sendmail options] [ADDRESS...]\n"
#endif
    "\n"
    "  -c FILE          configuration file (default " NR_DEFAULT_CONF ")\n"
    "  --foreground     stay attached to the terminal and supervisor\n"
    "  --check-config   check the configuration and exit (78 when it is wrong)\n"
    "  --version        print the version and compiled-in features\n"
    "  --help           print this text (after a subcommand: that subcommand's usage)\n"
    "-c FILE may also follow the subcommand: nanorelay status -c FILE\n";

static void print_version(void)
{
	const char *tls = nr_tls_library(), *dns = nr_dns_library();

	printf("nanorelay %s\nfeatures: %s\n", NR_VERSION, nr_app_features());
	if (tls || dns)
		printf("libraries: %s%s%s\n", tls ? tls : "", tls && dns ? ", " : "",
		       dns ? dns : "");
}

/* Global options come first; the first word that is not one is a
 * subcommand (or an error when it starts with '-'). */
static int parse_args(int argc, char **argv, struct nr_app_args *a)
{
	int i;

	memset(a, 0, sizeof(*a));
	a->conf_path = NR_DEFAULT_CONF;
	for (i = 1; i < argc; i++) {
		const char *arg = argv[i];

		if (strcmp(arg, "-c") == 0) {
			if (i + 1 >= argc) {
				fprintf(stderr, "nanorelay: -c needs a file name\n");
				return -1;
			}
			a->conf_path = argv[++i];
			a->conf_given = 1;
		} else if (strcmp(arg, "--foreground") == 0 || strcmp(arg, "-f") == 0) {
			a->foreground = 1;
		} else if (strcmp(arg, "--check-config") == 0) {
			a->check_config = 1;
		} else if (strcmp(arg, "--version") == 0 || strcmp(arg, "-V") == 0) {
			print_version();
			exit(EX_OK_);
		} else if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
			fputs(usage_text, stdout);
			exit(EX_OK_);
		} else if (arg[0] == '-') {
			fprintf(stderr, "nanorelay: unknown option %s\n", arg);
			return -1;
		} else {
			break;
		}
	}
	a->argi = i;
	return 0;
}

/* Load and validate; on failure print FILE:LINE: message and return 78. */
static int load_conf(struct nr_conf *conf, const char *path)
{
	char err[512];

	if (nr_conf_load(conf, path, err, sizeof(err)) != 0) {
		fprintf(stderr, "nanorelay: %s\n", err);
		return EX_CONFIG_;
	}
	return EX_OK_;
}

/* Control commands. A local user may not be allowed to read a root-only
 * configuration file: the commands then try the default control socket
 * (and say so) instead of giving up. */
static int run_ctl(const char *conf_path, int argc, char **argv)
{
	struct nr_conf conf;
	char err[512];
	int rc;

	nr_conf_init(&conf);
	rc = nr_conf_load(&conf, conf_path, err, sizeof(err));
	if (rc == NR_EPERM) {
		nr_conf_free(&conf);
		nr_conf_init(&conf);
		fprintf(stderr, "nanorelay: %s; trying the default control socket %s\n", err,
			conf.control_socket);
	} else if (rc != 0) {
		fprintf(stderr, "nanorelay: %s\n", err);
		nr_conf_free(&conf);
		return EX_CONFIG_;
	}
	rc = nr_ctl_cli_main(conf.control_socket, conf.user, argc, argv);
	nr_conf_free(&conf);
	return rc;
}

/* nanorelay passwd NAME: the password is the first line of standard input
 * (so scripts can pipe it; it never appears in argv or a process list). */
static int cmd_passwd(const struct nr_conf *conf, int argc, char **argv)
{
	char pw[256];
	size_t len;
	int rc;

	if (argc != 2) {
		fprintf(stderr, "usage: nanorelay [-c FILE] passwd NAME  (password on stdin)\n");
		return EX_USAGE_;
	}
	if (!conf->users) {
		fprintf(stderr, "nanorelay: no `users` file is configured in %s\n", conf->path);
		return EX_CONFIG_;
	}
	if (!nr_users_name_ok(argv[1])) {
		fprintf(stderr, "nanorelay: %s is not a valid user name\n", argv[1]);
		return EX_USAGE_;
	}
	fprintf(stderr, "password for %s (one line on standard input): ", argv[1]);
	if (!fgets(pw, sizeof(pw), stdin)) {
		fprintf(stderr, "\nnanorelay: no password given\n");
		return EX_USAGE_;
	}
	len = strcspn(pw, "\r\n");
	rc = nr_users_set(conf->users, argv[1], pw, len, 0);
	memset(pw, 0, sizeof(pw));
	if (rc != 0) {
		fprintf(stderr, "\nnanorelay: cannot update %s: %s\n", conf->users,
			nr_strerror(rc));
		return rc == NR_EINVAL ? EX_USAGE_ : EX_UNAVAILABLE_;
	}
	/* The daemon reads the file as `user`, after the privilege drop:
	 * root:<user's group> 0640, which it can read and not change. */
	if (conf->user && (rc = nr_plat_file_share_with(conf->users, conf->user)) != 0 &&
	    rc != NR_ENOTSUP)
		fprintf(stderr, "\nnanorelay: %s: cannot give it to group %s: %s\n", conf->users,
			conf->user, nr_strerror(rc));
	fprintf(stderr, "\n%s: %s updated\n", conf->users, argv[1]);
	return EX_OK_;
}

/* nanorelay test-upstream [--timeout SECONDS] [-v]: walk every smarthost
 * (DNS, TCP, TLS, EHLO, AUTH) and say what is wrong; sends no mail. */
static int cmd_test_upstream(const struct nr_conf *conf, int argc, char **argv)
{
	unsigned timeout_s = 10;
	int i, verbose = 0;

	for (i = 1; i < argc; i++) {
		char *end = NULL;
		if (strcmp(argv[i], "-v") == 0) {
			verbose = 1;
		} else if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc) {
			unsigned long v = strtoul(argv[++i], &end, 10);
			if (!end || *end || v < 1 || v > 300) {
				fprintf(stderr, "nanorelay: --timeout takes 1..300 seconds\n");
				return EX_USAGE_;
			}
			timeout_s = (unsigned)v;
		} else {
			fprintf(stderr, "usage: nanorelay [-c FILE] test-upstream [--timeout "
					"SECONDS] [-v]\n");
			return EX_USAGE_;
		}
	}
	return nr_test_upstream(conf, timeout_s, verbose);
}

static int is_command(const char *w)
{
	return strcmp(w, "passwd") == 0 || strcmp(w, "test-upstream") == 0 ||
	       (NR_ENABLED(CONFIG_NR_OAUTH2) && strcmp(w, "oauth2") == 0) || nr_ctl_is_command(w);
}

/* `nanorelay SUBCOMMAND --help`: that subcommand's usage on stdout. */
static int command_help(const char *name)
{
	size_t i;

#if NR_ENABLED(CONFIG_NR_OAUTH2)
	if (strcmp(name, "oauth2") == 0) {
		fputs(nr_oauth2_help, stdout);
		return EX_OK_;
	}
#endif
	for (i = 0; i < NR_ARRAY_LEN(commands); i++)
		if (strcmp(commands[i].name, name) == 0)
			printf("usage: nanorelay [-c FILE] %s%s%s\n", name,
			       commands[i].args[0] ? " " : "", commands[i].args);
	return EX_OK_;
}

/* The options every subcommand (but sendmail, which has its own -C) takes
 * after its name too: `-c FILE` and `--help`. They are taken out of argv,
 * so the subcommand sees only its own arguments; returns the new argc, or
 * -1 when -c has no file name. */
static int take_command_options(struct nr_app_args *a, int argc, char **argv, int *help)
{
	int i, n = a->argi + 1;

	*help = 0;
	for (i = a->argi + 1; i < argc; i++) {
		if (strcmp(argv[i], "-c") == 0) {
			if (i + 1 >= argc) {
				fprintf(stderr, "nanorelay: -c needs a file name\n");
				return -1;
			}
			a->conf_path = argv[++i];
			a->conf_given = 1;
		} else if (strcmp(argv[i], "--help") == 0) {
			*help = 1;
		} else {
			argv[n++] = argv[i];
		}
	}
	argv[n] = NULL;
	return n;
}

/* Invoked as sendmail, mailq or newaliases (a symlink to nanorelay). */
static int called_as_sendmail(const char *argv0)
{
	const char *base = strrchr(argv0, '/');

	base = base ? base + 1 : argv0;
	return strcmp(base, "sendmail") == 0 || strcmp(base, "mailq") == 0 ||
	       strcmp(base, "newaliases") == 0;
}

int nr_app_main(int argc, char **argv)
{
	struct nr_app_args args;
	struct nr_conf conf;
	int rc;

	/* The parser's look at the files a configuration names (modes,
	 * owners): a POSIX question, so the front end answers it. */
	nr_conf_set_file_probe(nr_plat_file_is_exposed);
	if (NR_ENABLED(CONFIG_NR_SENDMAIL) && argc > 0 && called_as_sendmail(argv[0]))
		return nr_sendmail_main(argc, argv, NULL);
	if (parse_args(argc, argv, &args) != 0) {
		fputs(usage_text, stderr);
		return EX_USAGE_;
	}
	if (NR_ENABLED(CONFIG_NR_SENDMAIL) && args.argi < argc &&
	    strcmp(argv[args.argi], "sendmail") == 0) {
		if (args.argi + 1 < argc && strcmp(argv[args.argi + 1], "--help") == 0)
			return command_help("sendmail");
		return nr_sendmail_main(argc - args.argi, argv + args.argi,
					args.conf_given ? args.conf_path : NULL);
	}
	nr_conf_init(&conf);
	if (args.argi < argc && !is_command(argv[args.argi])) {
		fprintf(stderr, "nanorelay: unknown command %s\n", argv[args.argi]);
		fputs(usage_text, stderr);
		return EX_USAGE_;
	}
	if (args.argi < argc) {
		int help;

		argc = take_command_options(&args, argc, argv, &help);
		if (argc < 0) {
			fputs(usage_text, stderr);
			return EX_USAGE_;
		}
		if (help)
			return command_help(argv[args.argi]);
	}
	if (args.argi < argc && nr_ctl_is_command(argv[args.argi]))
		return run_ctl(args.conf_path, argc - args.argi, argv + args.argi);
	rc = load_conf(&conf, args.conf_path);
	if (rc != EX_OK_)
		goto out;
	if (args.argi < argc && strcmp(argv[args.argi], "test-upstream") == 0) {
		rc = cmd_test_upstream(&conf, argc - args.argi, argv + args.argi);
		goto out;
	}
#if NR_ENABLED(CONFIG_NR_OAUTH2)
	if (args.argi < argc && strcmp(argv[args.argi], "oauth2") == 0) {
		rc = nr_oauth2_login_main(&conf, argc - args.argi, argv + args.argi);
		goto out;
	}
#endif
	if (args.argi < argc) {
		rc = cmd_passwd(&conf, argc - args.argi, argv + args.argi);
		goto out;
	}
	if (args.check_config) {
		char err[768];

		if (nr_conf_check_system(&conf, err, sizeof(err)) != 0) {
			fprintf(stderr, "nanorelay: %s\n", err);
			rc = EX_CONFIG_;
			goto out;
		}
		printf("%s: configuration ok\n", args.conf_path);
		goto out;
	}
	/* Detached, a daemon logging to stderr would log to /dev/null. */
	if (!args.foreground && conf.log_sink == NR_LOG_SINK_STDERR) {
		fprintf(stderr,
			"nanorelay: will not detach: the log goes to stderr (`log stderr` in %s), "
			"which a detached daemon does not have; run with --foreground, or set `log "
			"syslog`\n",
			args.conf_path);
		rc = EX_USAGE_;
		goto out;
	}
	rc =
	    nr_daemon_run(&conf, argc > 0 ? argv[0] : "nanorelay", args.conf_path, args.foreground);
out:
	nr_conf_free(&conf);
	return rc;
}
