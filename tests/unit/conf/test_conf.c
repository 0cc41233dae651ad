/*
 * test_conf.c - the configuration parser: every refusal as an exact
 * "FILE:LINE: message", good files field by field, the defaults, the
 * address helpers, and the example files shipped in configs/.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "app/check_system.h"
#include "conf/conf.h"
#include "core/build.h"
#include "test.h"

#include "sim.h"

/* The simulator captures what the parser logs. */
#define nr_test_log_count ((long)sim_log_count())
#define nr_test_last_log (sim_log_count() ? sim_log_line(sim_log_count() - 1) : "")

#define SECRET "conf_test_secret.pass"
#define OPEN_SECRET "conf_test_open.pass"

static void write_file(const char *path, const char *text, unsigned mode)
{
	FILE *f = fopen(path, "w");

	if (f != NULL) {
		fputs(text, f);
		fclose(f);
	}
	chmod(path, mode);
}

static int parse(struct nr_conf *c, const char *text, char *err, size_t size)
{
	return nr_conf_parse(c, "t.conf", text, strlen(text), err, size);
}

/* Tests written around the default feature set step aside (TEST_NEEDS) in a
 * build without one of its options; what such a build refuses is checked by
 * bad_values_are_refused_with_file_and_line. */

/* The options a refusal may name as "not in this build", and whether this
 * build has them; AUTH mechanisms are named by their SASL name. */
static const struct {
	const char *name;
	int on;
} build_options[] = {
    {"(CONFIG_NR_IPV6)", NR_ENABLED(CONFIG_NR_IPV6)},
    {"(CONFIG_NR_TLS)", NR_ENABLED(CONFIG_NR_TLS)},
    {"(CONFIG_NR_LAN_TLS)", NR_ENABLED(CONFIG_NR_LAN_TLS)},
    {"(CONFIG_NR_XOAUTH2)", NR_ENABLED(CONFIG_NR_XOAUTH2)},
    {"(CONFIG_NR_STORE_FILE)", NR_ENABLED(CONFIG_NR_STORE_FILE)},
    {"(CONFIG_NR_STORE_RAM)", NR_ENABLED(CONFIG_NR_STORE_RAM)},
    {"(CONFIG_NR_STORE_MTD)", NR_ENABLED(CONFIG_NR_STORE_MTD)},
    {"(CONFIG_NR_STORE_FLASH)", NR_ENABLED(CONFIG_NR_STORE_FLASH)},
    {": PLAIN is not in this build", NR_ENABLED(CONFIG_NR_AUTH_PLAIN)},
    {": LOGIN is not in this build", NR_ENABLED(CONFIG_NR_AUTH_LOGIN)},
    {": CRAM-MD5 is not in this build", NR_ENABLED(CONFIG_NR_AUTH_CRAM_MD5)},
    {": XOAUTH2 is not in this build", NR_ENABLED(CONFIG_NR_XOAUTH2)},
};

/* In a build without an option a line that needs it is refused before the
 * check a case is about, with a message naming that option: accept that. */
static int refused_as_not_built(const char *err)
{
	size_t i;

	if (strstr(err, "not in this build") == NULL)
		return 0;
	for (i = 0; i < NR_ARRAY_LEN(build_options); i++)
		if (!build_options[i].on && strstr(err, build_options[i].name) != NULL)
			return 1;
	return 0;
}

struct bad_case {
	const char *text;
	const char *err;
};

static const struct bad_case bad[] = {
    /* lines and keys */
    {"bogus 1", "t.conf:1: unknown key \"bogus\""},
    {"Listen 0.0.0.0:25", "t.conf:1: unknown key \"Listen\"; did you mean listen?"},
    {"# typo\nsmarthots mail.example",
     "t.conf:2: unknown key \"smarthots\"; did you mean smarthost?"},
    {"state-dir /x", "t.conf:1: unknown key \"state-dir\"; did you mean state_dir?"},
    {"usr nobody", "t.conf:1: unknown key \"usr\"; did you mean user?"},
    {"lisen 0.0.0.0:25", "t.conf:1: unknown key \"lisen\"; did you mean listen?"},
    /* habits from other software */
    {"allow 192.168.1.0 255.255.255.0",
     "t.conf:1: allow: 255.255.255.0 is a netmask; write 192.168.1.0/24 (one network per value)"},
    {"allow 10.0.0.0 255.0.0.0",
     "t.conf:1: allow: 255.0.0.0 is a netmask; write 10.0.0.0/8 (one network per value)"},
    {"allow 192.168.1.0/24,10.0.0.0/8",
     "t.conf:1: allow: \"192.168.1.0/24,10.0.0.0/8\": separate networks with blanks, not commas "
     "(allow 192.168.1.0/24 10.0.0.0/8)"},
    /* an IPv6 listener is v6-only */
    {"hostname a\nlisten [::]:465 tls=implicit legacy_tls=192.168.1.0/24",
     "t.conf:2: listen: legacy_tls=192.168.1.0/24 is an IPv4 network, but an IPv6 listener takes "
     "only IPv6 clients; put it on an IPv4 listener (listen 0.0.0.0:465 legacy_tls=...)"},
    {"listen [::]:587 tls=starttls plain_auth=fd00::/8,10.1.2.3",
     "t.conf:1: listen: plain_auth=10.1.2.3/32 is an IPv4 network, but an IPv6 listener takes "
     "only IPv6 clients; put it on an IPv4 listener (listen 0.0.0.0:587 plain_auth=...)"},
    {"# comment\n\n  \t\nhostname", "t.conf:4: hostname: missing value (expected a host name)"},
    {"hostname a b", "t.conf:1: hostname: unexpected extra value \"b\""},
    {"hostname a\r\nhostname b\r\n", "t.conf:2: hostname: already set on line 1"},
    {"hostname a\x01", "t.conf:1: control character 0x01 in line"},
    {"hostname a\rb", "t.conf:1: control character 0x0d in line"},
    {"hostname a # fine\nlog stderr level=info x", "t.conf:2: log: unexpected extra value \"x\""},
    /* hostname */
    {"hostname -bad", "t.conf:1: hostname: expected a host name like nas.lan, got \"-bad\""},
    {"hostname a..b", "t.conf:1: hostname: expected a host name like nas.lan, got \"a..b\""},
    {"hostname nas_1", "t.conf:1: hostname: expected a host name like nas.lan, got \"nas_1\""},
    /* sizes */
    {"max_message_size 25Q", "t.conf:1: max_message_size: expected a size like 25M, got \"25Q\""},
    {"max_message_size 99999999999G",
     "t.conf:1: max_message_size: expected a size like 25M, got \"99999999999G\""},
    {"max_message_size 18446744073709551616",
     "t.conf:1: max_message_size: expected a size like 25M, got \"18446744073709551616\""},
    {"max_message_size -1", "t.conf:1: max_message_size: expected a size like 25M, got \"-1\""},
    {"max_message_size M", "t.conf:1: max_message_size: expected a size like 25M, got \"M\""},
    {"max_message_size 25MB", "t.conf:1: max_message_size: expected a size like 25M, got \"25MB\""},
    {"max_message_size 3G",
     "t.conf:1: max_message_size: expected a size from 1K to 2G, got \"3G\""},
    {"max_message_size 0", "t.conf:1: max_message_size: expected a size from 1K to 2G, got \"0\""},
    {"max_message_size 25 M", "t.conf:1: max_message_size: unexpected extra value \"M\""},
    {"max_header_size 512",
     "t.conf:1: max_header_size: expected a size from 1K to 1M, got \"512\""},
    {"max_message_size 32K\nmax_header_size 64K",
     "t.conf:2: max_header_size: 64K is more than max_message_size (32K)"},
    {"min_data_rate 2G", "t.conf:1: min_data_rate: expected a size from 0 to 1G, got \"2G\""},
    /* numbers */
    {"max_recipients 99", "t.conf:1: max_recipients: expected a number from 100 to 100 (limit "
			  "CONFIG_NR_MAX_RECIPIENTS of this build), got \"99\""},
    {"max_recipients 0100", "t.conf:1: max_recipients: expected a number from 100 to 100 (limit "
			    "CONFIG_NR_MAX_RECIPIENTS of this build), got \"0100\""},
    {"max_sessions 0", "t.conf:1: max_sessions: expected a number from 1 to 128 (limit "
		       "CONFIG_NR_MAX_SESSIONS of this build), got \"0\""},
    {"max_sessions 129", "t.conf:1: max_sessions: expected a number from 1 to 128 (limit "
			 "CONFIG_NR_MAX_SESSIONS of this build), got \"129\""},
    {"max_sessions_per_client 129",
     "t.conf:1: max_sessions_per_client: expected a number from 1 to 128 (limit "
     "CONFIG_NR_MAX_SESSIONS_PER_CLIENT of this build), got \"129\""},
    {"max_sessions 4\nmax_sessions_per_client 8",
     "t.conf:2: max_sessions_per_client: 8 is more than max_sessions (4)"},
    {"max_recipient_overshoot 100001", "t.conf:1: max_recipient_overshoot: expected a number "
				       "from 0 to 100000, got \"100001\""},
    {"max_errors 0", "t.conf:1: max_errors: expected a number from 1 to 1000, got \"0\""},
    {"max_received 1001", "t.conf:1: max_received: expected a number from 1 to 1000, got \"1001\""},
    {"max_received +5", "t.conf:1: max_received: expected a number from 1 to 1000, got \"+5\""},
    /* durations */
    {"command_timeout 0",
     "t.conf:1: command_timeout: expected a duration from 1s to 1h, got \"0\""},
    {"command_timeout 5x", "t.conf:1: command_timeout: expected a duration like 5m (s, m, h, d; "
			   "bare number: seconds), got \"5x\""},
    {"command_timeout 99999999999999999d",
     "t.conf:1: command_timeout: expected a duration like 5m (s, m, h, d; bare number: "
     "seconds), got \"99999999999999999d\""},
    {"tls_handshake_timeout 11m",
     "t.conf:1: tls_handshake_timeout: expected a duration from 1s to 10m, got \"11m\""},
    {"max_age 30s", "t.conf:1: max_age: expected a duration from 1m to 365d, got \"30s\""},
    {"upstream_timeout 0",
     "t.conf:1: upstream_timeout: expected a duration from 1s to 10m, got \"0\""},
    {"upstream_timeout 1h",
     "t.conf:1: upstream_timeout: expected a duration from 1s to 10m, got \"1h\""},
    {"upstream_connections 0",
     "t.conf:1: upstream_connections: expected a number from 1 to 16 (limit "
     "CONFIG_NR_MAX_UPSTREAM_CONNECTIONS of this build), got \"0\""},
    {"upstream_connections 17",
     "t.conf:1: upstream_connections: expected a number from 1 to 16 (limit "
     "CONFIG_NR_MAX_UPSTREAM_CONNECTIONS of this build), got \"17\""},
    {"retry 1m", "t.conf:1: retry: missing value (expected FIRST LONGEST, like 1m 1h)"},
    {"retry 1h 1m", "t.conf:1: retry: the first retry (1h) is longer than the longest interval "
		    "(1m)"},
    {"retry 0 1h", "t.conf:1: retry: expected a duration from 1s to 1d, got \"0\""},
    {"retry 1m 2d", "t.conf:1: retry: expected a duration from 1s to 1d, got \"2d\""},
    /* words */
    {"bare_lf yes", "t.conf:1: bare_lf: expected normalize or reject, got \"yes\""},
    {"from_rewrite yes", "t.conf:1: from_rewrite: expected on, off or auto, got \"yes\""},
    {"sendmail_no_daemon queue",
     "t.conf:1: sendmail_no_daemon: expected direct or fail, got \"queue\""},
    {"log file", "t.conf:1: log: expected syslog or stderr, got \"file\""},
    {"log stderr level=trace", "t.conf:1: log: level: expected debug, info or warn, got \"trace\""},
    {"log stderr colour=yes", "t.conf:1: log: unknown option \"colour=yes\" (expected level)"},
    /* queue */
    {"queue disk", "t.conf:1: queue: expected file:PATH, ram, mtd:DEVICE or flash, got \"disk\""},
    {"queue file:", "t.conf:1: queue: expected file:PATH, ram, mtd:DEVICE or flash, got \"file:\""},
    {"queue ram size=1K", "t.conf:1: queue: size: expected a size from 64K to 2G, got \"1K\""},
    {"queue ram size=lots", "t.conf:1: queue: size: expected a size like 16M, got \"lots\""},
    {"queue ram speed=1", "t.conf:1: queue: unknown option \"speed=1\" (expected size)"},
    {"queue ram size=2M size=3M", "t.conf:1: queue: option size given twice"},
    {"queue ram size=", "t.conf:1: queue: option size: missing value"},
    {"queue size=2M", "t.conf:1: queue: missing value (expected file:PATH, ram, mtd:DEVICE or "
		      "flash)"},
    {"queue mtd:", "t.conf:1: queue: expected file:PATH, ram, mtd:DEVICE or flash, got \"mtd:\""},
    {"queue flash size=1K", "t.conf:1: queue: size: expected a size from 64K to 2G, got \"1K\""},
    {"queue ram\nqueue ram", "t.conf:2: queue: already set on line 1"},
    /* listen */
    {"listen 0.0.0.0:0", "t.conf:1: listen: expected an address and port like 0.0.0.0:25 or "
			 "[::]:587, got \"0.0.0.0:0\""},
    {"listen 1.2.3:25", "t.conf:1: listen: expected an address and port like 0.0.0.0:25 or "
			"[::]:587, got \"1.2.3:25\""},
    {"listen 01.2.3.4:25", "t.conf:1: listen: expected an address and port like 0.0.0.0:25 or "
			   "[::]:587, got \"01.2.3.4:25\""},
    {"listen 256.1.1.1", "t.conf:1: listen: expected an address and port like 0.0.0.0:25 or "
			 "[::]:587, got \"256.1.1.1\""},
    {"listen localhost:25", "t.conf:1: listen: expected an address and port like 0.0.0.0:25 or "
			    "[::]:587, got \"localhost:25\""},
    {"listen [::1]:65536", "t.conf:1: listen: expected an address and port like 0.0.0.0:25 or "
			   "[::]:587, got \"[::1]:65536\""},
    {"listen [1.2.3.4]:25", "t.conf:1: listen: expected an address and port like 0.0.0.0:25 or "
			    "[::]:587, got \"[1.2.3.4]:25\""},
    {"listen [::1]25", "t.conf:1: listen: expected an address and port like 0.0.0.0:25 or "
		       "[::]:587, got \"[::1]25\""},
    {"listen ::1:25", "t.conf:1: listen: an IPv6 address with a port needs brackets, like "
		      "[::1]:25, got \"::1:25\""},
    {"listen 0.0.0.0:25 tls=ssl",
     "t.conf:1: listen: tls: expected none, starttls or implicit, got \"ssl\""},
    {"listen 0.0.0.0:25 auth=maybe",
     "t.conf:1: listen: auth: expected required, optional or off, got \"maybe\""},
    {"listen 0.0.0.0:25 auth=required",
     "t.conf:1: listen: auth=required without TLS locks everyone out; add tls=starttls or "
     "plain_auth=NETWORKS"},
    {"listen 0.0.0.0:25 legacy_tls=10.0.0.0/8",
     "t.conf:1: listen: legacy_tls: needs tls=starttls or tls=implicit on this listener"},
    {"listen 0.0.0.0:25 plain_auth=10.0.0.0/8 auth=off",
     "t.conf:1: listen: plain_auth: has no effect with auth=off"},
    {"listen 0.0.0.0:25 plain_auth=10.0.0.1/8",
     "t.conf:1: listen: plain_auth: \"10.0.0.1/8\" has bits set beyond its prefix length; write "
     "the network address"},
    {"listen 0.0.0.0:25 plain_auth=10.0.0.0/8,,1.2.3.4",
     "t.conf:1: listen: plain_auth: expected networks separated by commas, like "
     "192.168.1.0/24,10.0.0.5, got \"10.0.0.0/8,,1.2.3.4\""},
    {"listen 0.0.0.0:25 foo=1",
     "t.conf:1: listen: unknown option \"foo=1\" (expected tls, auth, plain_auth or legacy_tls)"},
    {"listen 0.0.0.0:25 =x",
     "t.conf:1: listen: unknown option \"=x\" (expected tls, auth, plain_auth or legacy_tls)"},
    {"listen 0.0.0.0:25 tls=none tls=none", "t.conf:1: listen: option tls given twice"},
    {"listen 0.0.0.0:25\nlisten 0.0.0.0", "t.conf:2: listen: \"0.0.0.0\" is already a listener "
					  "on line 1"},
    {"listen 0.0.0.0:25 tls=starttls auth=required",
     "t.conf:1: listen: auth=required needs a users file (key users)"},
    {"listen 127.0.0.1:1\nlisten 127.0.0.1:2\nlisten 127.0.0.1:3\nlisten 127.0.0.1:4\n"
     "listen 127.0.0.1:5\nlisten 127.0.0.1:6\nlisten 127.0.0.1:7\nlisten 127.0.0.1:8\n"
     "listen 127.0.0.1:9\n",
     "t.conf:9: listen: too many listeners (at most 8, CONFIG_NR_MAX_LISTENERS)"},
    /* allow and addresses */
    {"allow", "t.conf:1: allow: missing value (expected networks, like 192.168.1.0/24 fd00::/8)"},
    {"allow 192.168.1.0/33", "t.conf:1: allow: expected a network like 192.168.1.0/24, fd00::/8 "
			     "or an address, got \"192.168.1.0/33\""},
    {"allow 192.168.1.1/24", "t.conf:1: allow: \"192.168.1.1/24\" has bits set beyond its prefix "
			     "length; write the network address"},
    {"allow 10.0.0.0/8 fd00::1/8", "t.conf:1: allow: \"fd00::1/8\" has bits set beyond its "
				   "prefix length; write the network address"},
    {"allow fd00::/129", "t.conf:1: allow: expected a network like 192.168.1.0/24, fd00::/8 or an "
			 "address, got \"fd00::/129\""},
    {"allow 10.0.0.0/08", "t.conf:1: allow: expected a network like 192.168.1.0/24, fd00::/8 or "
			  "an address, got \"10.0.0.0/08\""},
    {"allow 10.0.0.0/", "t.conf:1: allow: expected a network like 192.168.1.0/24, fd00::/8 or an "
			"address, got \"10.0.0.0/\""},
    {"allow 0x7f.0.0.1", "t.conf:1: allow: expected a network like 192.168.1.0/24, fd00::/8 or an "
			 "address, got \"0x7f.0.0.1\""},
    {"allow 127.1", "t.conf:1: allow: expected a network like 192.168.1.0/24, fd00::/8 or an "
		    "address, got \"127.1\""},
    {"allow 1.2.3.4.5", "t.conf:1: allow: expected a network like 192.168.1.0/24, fd00::/8 or an "
			"address, got \"1.2.3.4.5\""},
    {"allow 1.2.3.04", "t.conf:1: allow: expected a network like 192.168.1.0/24, fd00::/8 or an "
		       "address, got \"1.2.3.04\""},
    {"allow :::1", "t.conf:1: allow: expected a network like 192.168.1.0/24, fd00::/8 or an "
		   "address, got \":::1\""},
    {"allow :1::", "t.conf:1: allow: expected a network like 192.168.1.0/24, fd00::/8 or an "
		   "address, got \":1::\""},
    {"allow 1::2:", "t.conf:1: allow: expected a network like 192.168.1.0/24, fd00::/8 or an "
		    "address, got \"1::2:\""},
    {"allow 1:2:3:4:5:6:7:8:9", "t.conf:1: allow: expected a network like 192.168.1.0/24, "
				"fd00::/8 or an address, got \"1:2:3:4:5:6:7:8:9\""},
    {"allow 1:2:3:4:5:6:7", "t.conf:1: allow: expected a network like 192.168.1.0/24, fd00::/8 "
			    "or an address, got \"1:2:3:4:5:6:7\""},
    {"allow 1::2::3", "t.conf:1: allow: expected a network like 192.168.1.0/24, fd00::/8 or an "
		      "address, got \"1::2::3\""},
    {"allow 12345::", "t.conf:1: allow: expected a network like 192.168.1.0/24, fd00::/8 or an "
		      "address, got \"12345::\""},
    {"allow 1:2:3:4:5:6:7:1.2.3.4", "t.conf:1: allow: expected a network like 192.168.1.0/24, "
				    "fd00::/8 or an address, got \"1:2:3:4:5:6:7:1.2.3.4\""},
    {"allow ::1.2.3", "t.conf:1: allow: expected a network like 192.168.1.0/24, fd00::/8 or an "
		      "address, got \"::1.2.3\""},
    {"allow fe80::1%1", "t.conf:1: allow: expected a network like 192.168.1.0/24, fd00::/8 or an "
			"address, got \"fe80::1%1\""},
    {"allow 1.0.0.0/8 2.0.0.0/8 3.0.0.0/8 4.0.0.0/8 5.0.0.0/8 6.0.0.0/8 7.0.0.0/8 8.0.0.0/8 "
     "9.0.0.0/8 10.0.0.0/8 11.0.0.0/8 12.0.0.0/8 13.0.0.0/8 14.0.0.0/8 15.0.0.0/8 16.0.0.0/8\n"
     "allow 17.0.0.0/8 18.0.0.0/8 19.0.0.0/8 20.0.0.0/8 21.0.0.0/8 22.0.0.0/8 23.0.0.0/8 "
     "24.0.0.0/8 25.0.0.0/8 26.0.0.0/8 27.0.0.0/8 28.0.0.0/8 29.0.0.0/8 30.0.0.0/8 31.0.0.0/8 "
     "32.0.0.0/8 33.0.0.0/8",
     "t.conf:2: allow: too many networks (at most 32 in all, CONFIG_NR_MAX_ALLOW)"},
    /* TLS files */
    {"lan_cert /etc/x.crt", "t.conf:1: lan_cert: needs lan_key as well"},
    {"hostname a\nlan_key /nonexistent/x.key", "t.conf:2: lan_key: needs lan_cert as well"},
    /* smarthost */
    {"smarthost", "t.conf:1: smarthost: missing value (expected HOST[:PORT])"},
    {"smarthost a.example extra", "t.conf:1: smarthost: unexpected extra value \"extra\""},
    {"smarthost smtp.example.com:587 tls=none",
     "t.conf:1: smarthost: tls=none sends mail and passwords in clear; add insecure=yes to mean "
     "it (tests and labs only)"},
    {"smarthost smtp.example.com:587 tls=none insecure=no",
     "t.conf:1: smarthost: insecure: expected yes, got \"no\""},
    {"smarthost smtp.example.com insecure=yes",
     "t.conf:1: smarthost: insecure=yes is only for tls=none; certificates are always verified"},
    {"smarthost smtp.example.com tls=ssl",
     "t.conf:1: smarthost: tls: expected starttls, implicit or none, got \"ssl\""},
    {"smarthost smtp.example.com from_rewrite=yes",
     "t.conf:1: smarthost: from_rewrite: expected on, off or auto, got \"yes\""},
    {"smarthost smtp.example.com user=me", "t.conf:1: smarthost: user= needs password_file=, "
					   "oauth_token_file= or oauth2="},
    {"smarthost smtp.example.com password_file=/x",
     "t.conf:1: smarthost: password_file= needs user="},
    {"smarthost smtp.example.com auth=PLAIN", "t.conf:1: smarthost: auth= needs user="},
    {"smarthost smtp.example.com user=me password_file=/nonexistent/x",
     "t.conf:1: smarthost: password_file /nonexistent/x: cannot read: not found"},
    {"smarthost smtp.example.com user=me password_file=" SECRET " oauth_token_file=" SECRET,
     "t.conf:1: smarthost: give password_file= or oauth_token_file=, not both"},
    {"smarthost smtp.example.com user=me password_file=" SECRET " auth=NTLM",
     "t.conf:1: smarthost: auth: expected PLAIN, LOGIN, CRAM-MD5 or XOAUTH2, got \"NTLM\""},
    {"smarthost smtp.example.com user=me password_file=" SECRET " auth=xoauth2",
     "t.conf:1: smarthost: auth: XOAUTH2 needs oauth_token_file= or oauth2="},
    {"smarthost smtp.example.com user=me oauth_token_file=" SECRET " auth=plain",
     "t.conf:1: smarthost: auth: a password mechanism needs password_file="},
    {"smarthost smtp.example.com user=me pass=x",
     "t.conf:1: smarthost: unknown option \"pass=x\" (expected tls, user, password_file, "
     "oauth_token_file, auth, insecure, from_rewrite, oauth2 or oauth2_*)"},
    {"smarthost smtp.example.com:0", "t.conf:1: smarthost: expected HOST or HOST:PORT like "
				     "smtp.gmail.com:465 or [2001:db8::1]:587, got "
				     "\"smtp.example.com:0\""},
    {"smarthost bad_host:25", "t.conf:1: smarthost: expected HOST or HOST:PORT like "
			      "smtp.gmail.com:465 or [2001:db8::1]:587, got \"bad_host:25\""},
    {"smarthost [2001:db8::1]x", "t.conf:1: smarthost: expected HOST or HOST:PORT like "
				 "smtp.gmail.com:465 or [2001:db8::1]:587, got "
				 "\"[2001:db8::1]x\""},
    {"smarthost 2001:db8::1:25", "t.conf:1: smarthost: an IPv6 address with a port needs "
				 "brackets, like [::1]:25, got \"2001:db8::1:25\""},
    {"smarthost a.example\nsmarthost A.example:587",
     "t.conf:2: smarthost: A.example:587 is already a smarthost on line 1"},
    {"smarthost a.example\nsmarthost b.example\nsmarthost c.example\nsmarthost d.example\n"
     "smarthost e.example",
     "t.conf:5: smarthost: too many smarthosts (at most 4, CONFIG_NR_MAX_SMARTHOSTS)"},
    /* rewriting */
    {"sender me", "t.conf:1: sender: expected an address like me@gmail.com, got \"me\""},
    {"sender me@", "t.conf:1: sender: expected an address like me@gmail.com, got \"me@\""},
    {"sender a..b@x.com", "t.conf:1: sender: expected an address like me@gmail.com, got "
			  "\"a..b@x.com\""},
    {"sender <me@x.com>", "t.conf:1: sender: expected an address like me@gmail.com, got "
			  "\"<me@x.com>\""},
    {"admin root", "t.conf:1: admin: expected an address like admin@example.com, got \"root\""},
    {"alias root", "t.conf:1: alias: missing value (expected NAME ADDRESS, like root "
		   "admin@example.com)"},
    {"alias root admin", "t.conf:1: alias: expected a target address like admin@example.com, got "
			 "\"admin\""},
    {"alias *@ a@b.c", "t.conf:1: alias: expected a name like root, *@nas.lan or user@nas.lan, "
		       "got \"*@\""},
    {"alias ro*t a@b.c x", "t.conf:1: alias: unexpected extra value \"x\""},
    {"alias root a@b.c\nalias ROOT c@d.e", "t.conf:2: alias: \"ROOT\" is already an alias on line "
					   "1"},
    /* local */
    {"dns_server resolver.lan", "t.conf:1: dns_server: expected an address like 192.168.1.1, "
				"127.0.0.1:5353 or [::1], got \"resolver.lan\""},
    {"dns_server 127.0.0.1:0", "t.conf:1: dns_server: expected an address like 192.168.1.1, "
			       "127.0.0.1:5353 or [::1], got \"127.0.0.1:0\""},
    {"user -root", "t.conf:1: user: expected a user name like nobody, got \"-root\""},
    {"user root:root", "t.conf:1: user: expected a user name like nobody, got \"root:root\""},
    {"control_socket /"
     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
     "aaaaaaaaaaaaaaaaaaaaa",
     "t.conf:1: control_socket: a socket path may have at most 107 bytes, got "
     "\"/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...\""},
    {"state_dir /"
     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
     "aaaaaaaaaaaaaa",
     "t.conf:1: state_dir: /"
     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
     "aaaaaaaaaaaaaa/control is too long for a socket (at most 107 bytes); set control_socket"},
    {"submit_socket /"
     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
     "aaaaaaaaaaaaaaaaaaaaa",
     "t.conf:1: submit_socket: a socket path may have at most 107 bytes, got "
     "\"/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...\""},
    {"control_socket /run/c\nstate_dir /"
     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
     "aaaaaaaaaaaaaaa",
     "t.conf:2: state_dir: /"
     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
     "aaaaaaaaaaaaaaa/submit is too long for a socket (at most 107 bytes); set submit_socket"},
};

TEST(bad_values_are_refused_with_file_and_line)
{
	size_t i;

	for (i = 0; i < NR_ARRAY_LEN(bad); i++) {
		struct nr_conf c;
		char err[512] = "";
		int rc = parse(&c, bad[i].text, err, sizeof(err));

		if (rc != NR_EINVAL ||
		    (strcmp(err, bad[i].err) != 0 && !refused_as_not_built(err))) {
			NR_TEST_FAIL_("case %zu: %s\n  rc %d\n  got      %s\n  expected %s", i,
				      bad[i].text, rc, err, bad[i].err);
		}
		/* left freed-and-inited: the defaults, safe to free */
		EXPECT_STREQ(c.hostname, "localhost");
		EXPECT_TRUE(c.path == NULL);
		nr_conf_free(&c);
	}
}

/* Text from no file (the embedding API): the same refusals, "LINE: ..."
 * without the file's name, and no path in the result. */
TEST(text_errors_have_the_line_and_no_file)
{
	size_t i;

	for (i = 0; i < NR_ARRAY_LEN(bad); i++) {
		struct nr_conf c;
		char err[512] = "";
		const char *want = bad[i].err;
		int rc = nr_conf_parse_text(&c, bad[i].text, strlen(bad[i].text), err, sizeof(err));

		if (strncmp(want, "t.conf:", 7) == 0)
			want += 7;
		if (rc != NR_EINVAL || (strcmp(err, want) != 0 && !refused_as_not_built(err)))
			NR_TEST_FAIL_("case %zu: %s\n  rc %d\n  got      %s\n  expected %s", i,
				      bad[i].text, rc, err, want);
		nr_conf_free(&c);
	}
	struct nr_conf c;
	char err[256];

	sim_set_file_exposed(1);
	ASSERT_EQ(nr_conf_parse_text(&c, "\nusers " OPEN_SECRET, 7 + strlen(OPEN_SECRET), err,
				     sizeof(err)),
		  0);
	EXPECT_TRUE(c.path == NULL);
	EXPECT_STREQ(nr_test_last_log,
		     "2: users " OPEN_SECRET " is readable by group or others; chmod 600 it");
	nr_conf_free(&c);
	sim_set_file_exposed(0);
}

/* CONFIG_NR_MAX_TLS_HANDSHAKES is the ceiling of max_tls_handshakes, as
 * CONFIG_NR_MAX_SESSIONS is of max_sessions: the ceiling itself is taken,
 * one more is refused with the symbol's name. */
TEST(max_tls_handshakes_ceiling_is_kconfig)
{
	const unsigned ceil = CONFIG_NR_MAX_TLS_HANDSHAKES;
	struct nr_conf c;
	char text[64], err[512] = "", want[512];

	snprintf(text, sizeof(text), "max_tls_handshakes %u\n", ceil);
	ASSERT_EQ(parse(&c, text, err, sizeof(err)), 0);
	EXPECT_EQ(c.max_tls_handshakes, ceil);
	nr_conf_free(&c);

	snprintf(text, sizeof(text), "max_tls_handshakes %u\n", ceil + 1);
	snprintf(want, sizeof(want),
		 "t.conf:1: max_tls_handshakes: expected a number from 1 to %u (limit "
		 "CONFIG_NR_MAX_TLS_HANDSHAKES of this build), got \"%u\"",
		 ceil, ceil + 1);
	EXPECT_EQ(parse(&c, text, err, sizeof(err)), NR_EINVAL);
	EXPECT_STREQ(err, want);
	nr_conf_free(&c);

	snprintf(want, sizeof(want),
		 "t.conf:1: max_tls_handshakes: expected a number from 1 to %u (limit "
		 "CONFIG_NR_MAX_TLS_HANDSHAKES of this build), got \"0\"",
		 ceil);
	EXPECT_EQ(parse(&c, "max_tls_handshakes 0\n", err, sizeof(err)), NR_EINVAL);
	EXPECT_STREQ(err, want);
	nr_conf_free(&c);
}

TEST(line_limits_and_nul_bytes)
{
	struct nr_conf c;
	char err[256];
	size_t big = 1024 * 1024;
	char *text = malloc(big + 32);

	ASSERT_TRUE(text != NULL);
	/* exactly 4096 bytes is allowed (a comment), 4097 is not */
	memset(text, ' ', 4096);
	text[0] = '#';
	memcpy(text + 4096, "\nbogus", 7);
	EXPECT_EQ(parse(&c, text, err, sizeof(err)), NR_EINVAL);
	EXPECT_STREQ(err, "t.conf:2: unknown key \"bogus\"");
	memcpy(text, "hostname a\n", 11);
	memset(text + 11, 'x', 4097);
	text[11 + 4097] = '\0';
	EXPECT_EQ(parse(&c, text, err, sizeof(err)), NR_EINVAL);
	EXPECT_STREQ(err, "t.conf:2: line too long (more than 4096 bytes)");
	/* a 1 MB line without a newline at all */
	memset(text, 'a', big);
	text[big] = '\0';
	EXPECT_EQ(parse(&c, text, err, sizeof(err)), NR_EINVAL);
	EXPECT_STREQ(err, "t.conf:1: line too long (more than 4096 bytes)");
	free(text);

	EXPECT_EQ(nr_conf_parse(&c, "t.conf", "hostname a\0b\n", 13, err, sizeof(err)), NR_EINVAL);
	EXPECT_STREQ(err, "t.conf:1: NUL byte in line");
	/* not NUL-terminated: only len bytes count */
	EXPECT_EQ(nr_conf_parse(&c, "t.conf", "hostname abcdefbogus", 15, err, sizeof(err)), 0);
	EXPECT_STREQ(c.hostname, "abcdef");
	nr_conf_free(&c);
	/* 65 values on a line */
	EXPECT_EQ(parse(&c,
			"allow 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 "
			"25 26 27 28 29 30 31 32 33 34 35 36 37 38 39 40 41 42 43 44 45 46 47 "
			"48 49 50 51 52 53 54 55 56 57 58 59 60 61 62 63 64 65",
			err, sizeof(err)),
		  NR_EINVAL);
	EXPECT_STREQ(err, "t.conf:1: too many values on one line (at most 64)");
	/* a tiny error buffer is still terminated; NULL is allowed */
	EXPECT_EQ(parse(&c, "bogus", err, 5), NR_EINVAL);
	EXPECT_STREQ(err, "t.co");
	EXPECT_EQ(parse(&c, "bogus", NULL, 0), NR_EINVAL);
}

TEST(defaults_are_safe)
{
	struct nr_conf c;
	char err[256] = "x", buf[64];

	ASSERT_EQ(parse(&c, "", err, sizeof(err)), 0);
	EXPECT_STREQ(err, "");
	EXPECT_STREQ(c.path, "t.conf");
	/* without IPv6: the loopback v4 entries alone */
	ASSERT_EQ(c.listen_count, NR_ENABLED(CONFIG_NR_IPV6) ? 2 : 1);
	EXPECT_STREQ(nr_addr_ntop(&c.listen[0].addr, buf, sizeof(buf)), "127.0.0.1");
	EXPECT_EQ(c.listen[0].addr.port, 25);
	EXPECT_EQ(c.listen[0].tls, NR_TLS_NONE);
	EXPECT_EQ(c.listen[0].auth, NR_AUTH_OPTIONAL);
	ASSERT_EQ(c.allow_count, NR_ENABLED(CONFIG_NR_IPV6) ? 2 : 1);
	EXPECT_STREQ(nr_addr_ntop(&c.allow[0].net, buf, sizeof(buf)), "127.0.0.0");
	EXPECT_EQ(c.allow[0].prefix, 8);
	if (NR_ENABLED(CONFIG_NR_IPV6)) {
		EXPECT_STREQ(nr_addr_ntop(&c.listen[1].addr, buf, sizeof(buf)), "::1");
		EXPECT_EQ(c.listen[1].addr.family, NR_AF_INET6);
		EXPECT_STREQ(nr_addr_ntop(&c.allow[1].net, buf, sizeof(buf)), "::1");
		EXPECT_EQ(c.allow[1].prefix, 128);
	}
	EXPECT_STREQ(c.hostname, "localhost");
	EXPECT_STREQ(c.lan_cert, "/var/lib/nanorelay/lan.crt");
	EXPECT_STREQ(c.lan_key, "/var/lib/nanorelay/lan.key");
	EXPECT_TRUE(c.users == NULL);
	/* 25M, lowered to the queue (file 16M, else ram 2M) */
	EXPECT_EQ(c.max_message_size,
		  NR_ENABLED(CONFIG_NR_STORE_FILE) ? 16 * 1024 * 1024 : 2 * 1024 * 1024);
	EXPECT_EQ(c.max_recipients, 100);
	EXPECT_EQ(c.max_recipient_overshoot, 1000);
	EXPECT_EQ(c.max_sessions, CONFIG_NR_MAX_SESSIONS);
	EXPECT_EQ(c.max_sessions_per_client, 16);
	EXPECT_EQ(c.max_header_size, 64 * 1024);
	EXPECT_EQ(c.max_errors, 10);
	EXPECT_EQ(c.max_tls_handshakes, NR_MIN(8, CONFIG_NR_MAX_TLS_HANDSHAKES));
	EXPECT_EQ(c.max_received, 30);
	EXPECT_EQ(c.min_data_rate, 1024);
	EXPECT_EQ(c.command_timeout_ms, 300000);
	EXPECT_EQ(c.tls_handshake_timeout_ms, 30000);
	EXPECT_EQ(c.bare_lf, NR_BARE_LF_NORMALIZE);
	if (NR_ENABLED(CONFIG_NR_STORE_FILE)) {
		EXPECT_EQ(c.queue_kind, NR_QUEUE_FILE);
		EXPECT_STREQ(c.queue_path, "/var/spool/nanorelay/queue");
		EXPECT_EQ(c.queue_size, 16 * 1024 * 1024);
	} else if (NR_ENABLED(CONFIG_NR_STORE_RAM)) {
		EXPECT_EQ(c.queue_kind, NR_QUEUE_RAM);
		EXPECT_EQ(c.queue_size, 2 * 1024 * 1024);
	} else {
		EXPECT_EQ(c.queue_kind, NR_QUEUE_FLASH); /* all of the board's region */
		EXPECT_EQ(c.queue_size, 0);
	}
	EXPECT_STREQ(c.state_dir, "/var/lib/nanorelay");
	EXPECT_EQ(c.smarthost_count, 0);
	EXPECT_TRUE(c.ca_file == NULL);
	EXPECT_TRUE(c.sender == NULL);
	EXPECT_EQ(c.from_rewrite, NR_FROM_REWRITE_AUTO);
	EXPECT_EQ(c.alias_count, 0);
	EXPECT_TRUE(c.admin == NULL);
	EXPECT_EQ(c.retry_min_ms, 60000);
	EXPECT_EQ(c.retry_max_ms, 3600000);
	EXPECT_EQ(c.upstream_timeout_ms, 600000);
	EXPECT_EQ(c.upstream_connections, 4);
	EXPECT_EQ(c.max_age_ms, 5ull * 86400 * 1000);
	EXPECT_EQ(c.dns_server.family, NR_AF_NONE);
	EXPECT_EQ(c.log_sink, NR_LOG_SINK_SYSLOG);
	EXPECT_EQ(c.log_level, NR_LOG_INFO);
	EXPECT_TRUE(c.user == NULL);
	EXPECT_STREQ(c.control_socket, "/var/lib/nanorelay/control");
	EXPECT_STREQ(c.submit_socket, "/var/lib/nanorelay/submit");
	EXPECT_EQ(c.sendmail_no_daemon, NR_NO_DAEMON_DIRECT);
	nr_conf_free(&c);
	nr_conf_free(&c);

	/* nr_conf_init alone gives the same and needs no free, but allows it */
	nr_conf_init(&c);
	EXPECT_EQ(c.listen_count, NR_ENABLED(CONFIG_NR_IPV6) ? 2 : 1);
	EXPECT_STREQ(c.hostname, "localhost");
	nr_conf_free(&c);
	/* only comments and blank lines: the defaults too */
	ASSERT_EQ(parse(&c, "# nothing\n\n\t  # here\r\n", err, sizeof(err)), 0);
	EXPECT_EQ(c.listen_count, NR_ENABLED(CONFIG_NR_IPV6) ? 2 : 1);
	nr_conf_free(&c);
}

static const char good_text[] =
    "\xEF\xBB\xBF# a full file\n"
    "listen 0.0.0.0:25\n"
    "listen\t0.0.0.0:587  tls=starttls auth=required plain_auth=192.168.1.50,10.1.0.0/16\r\n"
    "listen [::]:465 tls=implicit legacy_tls=fd00::/8 auth=off   # old printer\n"
    "allow 192.168.1.0/24 fd00::/8\n"
    "allow ::ffff:10.0.0.0/104 ::/0\n"
    "hostname nas.lan\n"
    "lan_cert /etc/nanorelay/lan.crt\n"
    "lan_key /nonexistent/lan.key\n"
    "users /nonexistent/users\n"
    "max_message_size 10M\n"
    "max_recipients 100\n"
    "max_recipient_overshoot 0\n"
    "max_sessions 64\n"
    "max_sessions_per_client 8\n"
    "max_header_size 32K\n"
    "max_errors 5\n"
    "max_tls_handshakes 3\n"
    "max_received 50\n"
    "min_data_rate 0\n"
    "command_timeout 90\n"
    "tls_handshake_timeout 10s\n"
    "bare_lf reject\n"
    "queue ram size=4M\n"
    "state_dir /tmp/nr-state\n"
    "smarthost smtp.gmail.com:465 user=me@gmail.com password_file=" SECRET "\n"
    "smarthost mail.isp.example tls=starttls user=me password_file=" SECRET " auth=login "
    "from_rewrite=off\n"
    "smarthost [2001:db8::25] user=me oauth_token_file=/nonexistent/token auth=XOAUTH2\n"
    "smarthost 127.0.0.1:2526 tls=none insecure=yes\n"
    "ca_file /etc/ssl/certs/ca-certificates.crt\n"
    "sender me@gmail.com\n"
    "from_rewrite on\n"
    "alias root admin@example.com\n"
    "alias *@nas.lan admin@example.com\n"
    "admin admin@example.com\n"
    "retry 30s 2h\n"
    "upstream_timeout 45s\n"
    "upstream_connections 12\n"
    "dns_server [::1]:5353\n"
    "max_age 3d\n"
    "log stderr level=debug\n"
    "user nobody\n"
    "sendmail_no_daemon fail\n";

TEST(good_file_field_by_field)
{
	struct nr_conf c;
	char err[256], buf[64];
	struct nr_addr a;

	/* the file uses them all */
	TEST_NEEDS(CONFIG_NR_IPV6);
	TEST_NEEDS(CONFIG_NR_LAN_TLS);
	TEST_NEEDS(CONFIG_NR_XOAUTH2);
	TEST_NEEDS(CONFIG_NR_AUTH_LOGIN);
	TEST_NEEDS(CONFIG_NR_STORE_RAM);
	ASSERT_EQ(parse(&c, good_text, err, sizeof(err)), 0);
	ASSERT_EQ(c.listen_count, 3);
	EXPECT_STREQ(nr_addr_ntop(&c.listen[0].addr, buf, sizeof(buf)), "0.0.0.0");
	EXPECT_EQ(c.listen[0].addr.port, 25);
	EXPECT_EQ(c.listen[0].line, 2);
	EXPECT_EQ(c.listen[1].addr.port, 587);
	EXPECT_EQ(c.listen[1].tls, NR_TLS_STARTTLS);
	EXPECT_EQ(c.listen[1].auth, NR_AUTH_REQUIRED);
	ASSERT_EQ(c.listen[1].plain_auth_count, 2);
	EXPECT_STREQ(nr_addr_ntop(&c.listen[1].plain_auth[0].net, buf, sizeof(buf)),
		     "192.168.1.50");
	EXPECT_EQ(c.listen[1].plain_auth[0].prefix, 32);
	EXPECT_EQ(c.listen[1].plain_auth[1].prefix, 16);
	EXPECT_EQ(c.listen[1].legacy_tls_count, 0);
	EXPECT_EQ(c.listen[2].addr.family, NR_AF_INET6);
	EXPECT_EQ(c.listen[2].addr.port, 465);
	EXPECT_EQ(c.listen[2].tls, NR_TLS_IMPLICIT);
	EXPECT_EQ(c.listen[2].auth, NR_AUTH_OFF);
	EXPECT_EQ(c.listen[2].legacy_tls_count, 1);
	EXPECT_EQ(c.listen[2].line, 4);

	ASSERT_EQ(c.allow_count, 4);
	EXPECT_EQ(c.allow[1].net.family, NR_AF_INET6);
	EXPECT_EQ(c.allow[1].prefix, 8);
	/* ::ffff:10.0.0.0/104 is stored as 10.0.0.0/8 */
	EXPECT_EQ(c.allow[2].net.family, NR_AF_INET4);
	EXPECT_STREQ(nr_addr_ntop(&c.allow[2].net, buf, sizeof(buf)), "10.0.0.0");
	EXPECT_EQ(c.allow[2].prefix, 8);
	EXPECT_EQ(c.allow[3].prefix, 0);

	EXPECT_STREQ(c.hostname, "nas.lan");
	EXPECT_STREQ(c.lan_cert, "/etc/nanorelay/lan.crt");
	EXPECT_STREQ(c.lan_key, "/nonexistent/lan.key");
	EXPECT_STREQ(c.users, "/nonexistent/users");
	EXPECT_EQ(c.max_message_size, 10 * 1024 * 1024);
	EXPECT_EQ(c.max_recipient_overshoot, 0);
	EXPECT_EQ(c.max_sessions, 64);
	EXPECT_EQ(c.max_sessions_per_client, 8);
	EXPECT_EQ(c.max_header_size, 32 * 1024);
	EXPECT_EQ(c.max_errors, 5);
	EXPECT_EQ(c.max_tls_handshakes, 3);
	EXPECT_EQ(c.max_received, 50);
	EXPECT_EQ(c.min_data_rate, 0);
	EXPECT_EQ(c.command_timeout_ms, 90000);
	EXPECT_EQ(c.tls_handshake_timeout_ms, 10000);
	EXPECT_EQ(c.bare_lf, NR_BARE_LF_REJECT);
	EXPECT_EQ(c.queue_kind, NR_QUEUE_RAM);
	EXPECT_TRUE(c.queue_path == NULL);
	EXPECT_EQ(c.queue_size, 4 * 1024 * 1024);
	EXPECT_STREQ(c.state_dir, "/tmp/nr-state");
	EXPECT_STREQ(c.control_socket, "/tmp/nr-state/control");
	EXPECT_STREQ(c.submit_socket, "/tmp/nr-state/submit");

	ASSERT_EQ(c.smarthost_count, 4);
	EXPECT_STREQ(c.smarthost[0].host, "smtp.gmail.com");
	EXPECT_EQ(c.smarthost[0].port, 465);
	EXPECT_EQ(c.smarthost[0].tls, NR_TLS_IMPLICIT); /* port 465 */
	EXPECT_STREQ(c.smarthost[0].user, "me@gmail.com");
	EXPECT_STREQ(c.smarthost[0].password_file, SECRET);
	EXPECT_TRUE(c.smarthost[0].oauth_token_file == NULL);
	EXPECT_TRUE(c.smarthost[0].auth_mech == NULL);
	EXPECT_EQ(c.smarthost[0].insecure, 0);
	EXPECT_EQ(c.smarthost[0].line, 26);
	EXPECT_EQ(c.smarthost[0].from_rewrite, NR_FROM_REWRITE_AUTO);
	EXPECT_EQ(c.smarthost[1].from_rewrite, NR_FROM_REWRITE_OFF);
	EXPECT_EQ(c.smarthost[1].port, 587);
	EXPECT_EQ(c.smarthost[1].tls, NR_TLS_STARTTLS);
	EXPECT_STREQ(c.smarthost[1].auth_mech, "LOGIN");
	EXPECT_STREQ(c.smarthost[2].host, "2001:db8::25");
	EXPECT_EQ(c.smarthost[2].port, 587);
	EXPECT_STREQ(c.smarthost[2].oauth_token_file, "/nonexistent/token");
	EXPECT_STREQ(c.smarthost[2].auth_mech, "XOAUTH2");
	EXPECT_STREQ(c.smarthost[3].host, "127.0.0.1");
	EXPECT_EQ(c.smarthost[3].port, 2526);
	EXPECT_EQ(c.smarthost[3].tls, NR_TLS_NONE);
	EXPECT_EQ(c.smarthost[3].insecure, 1);
	EXPECT_TRUE(c.smarthost[3].user == NULL);

	EXPECT_STREQ(c.ca_file, "/etc/ssl/certs/ca-certificates.crt");
	EXPECT_STREQ(c.sender, "me@gmail.com");
	EXPECT_EQ(c.from_rewrite, NR_FROM_REWRITE_ON);
	ASSERT_EQ(c.alias_count, 2);
	EXPECT_STREQ(c.alias[0].from, "root");
	EXPECT_STREQ(c.alias[0].to, "admin@example.com");
	EXPECT_EQ(c.alias[0].line, 33);
	EXPECT_STREQ(c.alias[1].from, "*@nas.lan");
	EXPECT_STREQ(c.admin, "admin@example.com");
	EXPECT_EQ(c.retry_min_ms, 30000);
	EXPECT_EQ(c.retry_max_ms, 7200000);
	EXPECT_EQ(c.upstream_timeout_ms, 45000);
	EXPECT_EQ(c.upstream_connections, 12);
	EXPECT_EQ(c.dns_server.family, NR_AF_INET6);
	EXPECT_EQ(c.dns_server.port, 5353);
	EXPECT_STREQ(nr_addr_ntop(&c.dns_server, buf, sizeof(buf)), "::1");
	EXPECT_EQ(c.max_age_ms, 3ull * 86400 * 1000);
	EXPECT_EQ(c.log_sink, NR_LOG_SINK_STDERR);
	EXPECT_EQ(c.log_level, NR_LOG_DEBUG);
	EXPECT_STREQ(c.user, "nobody");
	EXPECT_EQ(c.sendmail_no_daemon, NR_NO_DAEMON_FAIL);

	/* the allow list in use: mapped and plain v4 peers */
	ASSERT_EQ(nr_conf_parse_hostport("10.9.8.7:1", &a, 0), 0);
	EXPECT_TRUE(nr_cidr_contains(&c.allow[2], &a));
	EXPECT_TRUE(!nr_cidr_contains(&c.allow[3], &a)); /* ::/0 is every v6 peer only */
	nr_conf_free(&c);
	nr_conf_free(&c);
}

TEST(warnings_for_exposed_and_missing_secrets)
{
	struct nr_conf c;
	char err[256];
	int before;

	TEST_NEEDS(CONFIG_NR_XOAUTH2); /* and so CONFIG_NR_TLS: smarthosts with a user */
	TEST_NEEDS(CONFIG_NR_STORE_RAM);
	sim_set_file_exposed(1);
	before = nr_test_log_count;
	ASSERT_EQ(
	    parse(&c, "smarthost a.example user=me password_file=" OPEN_SECRET, err, sizeof(err)),
	    0);
	EXPECT_EQ(nr_test_log_count, before + 1);
	EXPECT_STREQ(nr_test_last_log, "t.conf:1: password_file " OPEN_SECRET
				       " is readable by group or others; chmod 600 it");
	nr_conf_free(&c);

	sim_set_file_exposed(0);
	before = nr_test_log_count;
	ASSERT_EQ(parse(&c, "smarthost a.example user=me password_file=" SECRET, err, sizeof(err)),
		  0);
	EXPECT_EQ(nr_test_log_count, before); /* private: nothing to say */
	nr_conf_free(&c);

	ASSERT_EQ(parse(&c, "\nsmarthost a.example user=me oauth_token_file=/nonexistent/t", err,
			sizeof(err)),
		  0);
	EXPECT_STREQ(nr_test_last_log,
		     "t.conf:2: oauth_token_file /nonexistent/t: cannot read: not found");
	nr_conf_free(&c);

	sim_set_file_exposed(1);
	ASSERT_EQ(parse(&c, "users " OPEN_SECRET, err, sizeof(err)), 0);
	EXPECT_STREQ(nr_test_last_log, "t.conf:1: users " OPEN_SECRET
				       " is readable by group or others; chmod 600 it");
	nr_conf_free(&c);
	ASSERT_EQ(parse(&c, "users /nonexistent/u", err, sizeof(err)), 0);
	EXPECT_STREQ(nr_test_last_log,
		     "t.conf:1: users /nonexistent/u: cannot read: not found (add "
		     "users with: nanorelay passwd NAME)");
	nr_conf_free(&c);
	ASSERT_EQ(parse(&c, "lan_cert x.crt\nlan_key " OPEN_SECRET, err, sizeof(err)), 0);
	EXPECT_STREQ(nr_test_last_log, "t.conf:2: lan_key " OPEN_SECRET
				       " is readable by group or others; chmod 600 it");
	nr_conf_free(&c);

	sim_set_file_exposed(0);
	/* a message larger than the queue can ever hold: the default follows
	 * the queue quietly, an explicit value is kept with a warning */
	before = nr_test_log_count;
	ASSERT_EQ(parse(&c, "queue ram size=2M", err, sizeof(err)), 0);
	EXPECT_EQ(nr_test_log_count, before);
	EXPECT_EQ(c.max_message_size, 2 * 1024 * 1024);
	nr_conf_free(&c);
	ASSERT_EQ(parse(&c, "queue ram size=2M\nmax_message_size 3M", err, sizeof(err)), 0);
	EXPECT_EQ(c.max_message_size, 3 * 1024 * 1024);
	EXPECT_STREQ(nr_test_last_log, "t.conf:2: max_message_size 3M is larger than the queue "
				       "(2M): such messages get 552");
	nr_conf_free(&c);
}

/* `queue flash [size=N]`: the board's flash region, all of it by default;
 * refused, naming the option, by a build without it. */
TEST(queue_flash)
{
	struct nr_conf c;
	char err[256];

	if (!NR_ENABLED(CONFIG_NR_STORE_FLASH)) {
		EXPECT_EQ(parse(&c, "queue flash\n", err, sizeof(err)), NR_EINVAL);
		EXPECT_STREQ(err, "t.conf:1: queue: this backend is not in this build "
				  "(CONFIG_NR_STORE_FLASH), got \"flash\"");
		nr_conf_free(&c);
		return;
	}
	ASSERT_EQ(parse(&c, "queue flash\n", err, sizeof(err)), 0);
	EXPECT_EQ(c.queue_kind, NR_QUEUE_FLASH);
	EXPECT_TRUE(c.queue_path == NULL);
	EXPECT_EQ(c.queue_size, 0);
	nr_conf_free(&c);
	ASSERT_EQ(parse(&c, "queue flash size=1M\n", err, sizeof(err)), 0);
	EXPECT_EQ(c.queue_kind, NR_QUEUE_FLASH);
	EXPECT_EQ(c.queue_size, 1024 * 1024);
	nr_conf_free(&c);
}

TEST(sizes_and_durations)
{
	uint64_t v = 7;

	EXPECT_EQ(nr_conf_parse_size("0", &v), 0);
	EXPECT_EQ(v, 0);
	EXPECT_EQ(nr_conf_parse_size("100", &v), 0);
	EXPECT_EQ(v, 100);
	EXPECT_EQ(nr_conf_parse_size("512K", &v), 0);
	EXPECT_EQ(v, 512 * 1024);
	EXPECT_EQ(nr_conf_parse_size("25m", &v), 0);
	EXPECT_EQ(v, 25 * 1024 * 1024);
	EXPECT_EQ(nr_conf_parse_size("1G", &v), 0);
	EXPECT_EQ(v, 1024 * 1024 * 1024);
	EXPECT_EQ(nr_conf_parse_size("17179869183G", &v), 0); /* 2^64 - 2^30 */
	EXPECT_EQ(v, 17179869183ull << 30);
	EXPECT_EQ(nr_conf_parse_size("17179869184G", &v), NR_EINVAL); /* 2^64 */
	EXPECT_EQ(nr_conf_parse_size("99999999999G", &v), NR_EINVAL);
	EXPECT_EQ(nr_conf_parse_size("18446744073709551615", &v), 0);
	EXPECT_EQ(v, UINT64_MAX);
	EXPECT_EQ(nr_conf_parse_size("18446744073709551616", &v), NR_EINVAL);
	EXPECT_EQ(nr_conf_parse_size("", &v), NR_EINVAL);
	EXPECT_EQ(nr_conf_parse_size("K", &v), NR_EINVAL);
	EXPECT_EQ(nr_conf_parse_size("1T", &v), NR_EINVAL);
	EXPECT_EQ(nr_conf_parse_size(" 1", &v), NR_EINVAL);
	EXPECT_EQ(nr_conf_parse_size("1.5M", &v), NR_EINVAL);
	EXPECT_EQ(nr_conf_parse_size(NULL, &v), NR_EINVAL);

	EXPECT_EQ(nr_conf_parse_duration("30", &v), 0);
	EXPECT_EQ(v, 30000);
	EXPECT_EQ(nr_conf_parse_duration("30s", &v), 0);
	EXPECT_EQ(v, 30000);
	EXPECT_EQ(nr_conf_parse_duration("5m", &v), 0);
	EXPECT_EQ(v, 300000);
	EXPECT_EQ(nr_conf_parse_duration("1h", &v), 0);
	EXPECT_EQ(v, 3600000);
	EXPECT_EQ(nr_conf_parse_duration("5d", &v), 0);
	EXPECT_EQ(v, 432000000);
	EXPECT_EQ(nr_conf_parse_duration("5M", &v), NR_EINVAL);
	EXPECT_EQ(nr_conf_parse_duration("1w", &v), NR_EINVAL);
	EXPECT_EQ(nr_conf_parse_duration("213503982334d", &v), 0); /* just below 2^64 ms */
	EXPECT_EQ(v, 213503982334ull * 86400000);
	EXPECT_EQ(nr_conf_parse_duration("213503982335d", &v), NR_EINVAL);
	EXPECT_EQ(nr_conf_parse_duration("18446744073709552s", &v), NR_EINVAL);
}

static int cidr_has(const char *cidr, const char *addr)
{
	struct nr_cidr c;
	struct nr_addr a;
	char hp[80];

	if (nr_conf_parse_cidr(cidr, &c) != 0)
		return -1;
	snprintf(hp, sizeof(hp), strchr(addr, ':') ? "[%s]" : "%s", addr);
	if (nr_conf_parse_hostport(hp, &a, 25) != 0)
		return -2;
	return nr_cidr_contains(&c, &a);
}

TEST(cidr_contains_v4_v6_and_mapped)
{
	struct nr_cidr c;
	struct nr_addr a;

	EXPECT_EQ(cidr_has("192.168.1.0/24", "192.168.1.0"), 1);
	EXPECT_EQ(cidr_has("192.168.1.0/24", "192.168.1.255"), 1);
	EXPECT_EQ(cidr_has("192.168.1.0/24", "192.168.2.1"), 0);
	EXPECT_EQ(cidr_has("192.168.1.0/23", "192.168.0.1"), -1); /* host bits */
	EXPECT_EQ(cidr_has("192.168.0.0/23", "192.168.1.77"), 1);
	EXPECT_EQ(cidr_has("192.168.0.0/23", "192.168.2.0"), 0);
	EXPECT_EQ(cidr_has("10.0.0.5", "10.0.0.5"), 1);
	EXPECT_EQ(cidr_has("10.0.0.5", "10.0.0.4"), 0);
	EXPECT_EQ(cidr_has("0.0.0.0/0", "255.255.255.255"), 1);
	TEST_NEEDS(CONFIG_NR_IPV6); /* the rest is IPv6 */
	EXPECT_EQ(cidr_has("0.0.0.0/0", "::1"), 0);
	EXPECT_EQ(cidr_has("10.0.0.0/8", "::ffff:10.1.2.3"), 1);
	EXPECT_EQ(cidr_has("10.0.0.0/8", "::ffff:11.1.2.3"), 0);
	EXPECT_EQ(cidr_has("10.0.0.0/8", "::10.1.2.3"), 0); /* compatible, not mapped */
	EXPECT_EQ(cidr_has("fd00::/8", "fd12:3456::1"), 1);
	EXPECT_EQ(cidr_has("fd00::/8", "fe80::1"), 0);
	EXPECT_EQ(cidr_has("fe80::/10", "febf::1"), 1);
	EXPECT_EQ(cidr_has("fe80::/10", "fec0::1"), 0);
	EXPECT_EQ(cidr_has("::1", "::1"), 1);
	EXPECT_EQ(cidr_has("::1", "::2"), 0);
	EXPECT_EQ(cidr_has("::/0", "2001:db8::1"), 1);
	EXPECT_EQ(cidr_has("::/0", "1.2.3.4"), 0);
	EXPECT_EQ(cidr_has("::ffff:0:0/96", "1.2.3.4"), 1);
	EXPECT_EQ(cidr_has("::ffff:192.168.1.0/120", "192.168.1.9"), 1);
	EXPECT_EQ(cidr_has("::ffff:192.168.1.0/120", "::ffff:192.168.1.9"), 1);
	EXPECT_EQ(cidr_has("::ffff:192.168.1.0/120", "192.168.2.9"), 0);
	EXPECT_EQ(cidr_has("2001:db8::/127", "2001:db8::1"), 1);
	EXPECT_EQ(cidr_has("2001:db8::/127", "2001:db8::2"), 0);
	EXPECT_EQ(cidr_has("1:2:3:4:5:6:7:8/128", "1:2:3:4:5:6:7:8"), 1);
	EXPECT_EQ(cidr_has("1:2:3:4:5:6:7:0/112", "1:2:3:4:5:6:7:ffff"), 1);

	/* mapped v6 with a short prefix stays v6 */
	ASSERT_EQ(nr_conf_parse_cidr("::ffff:0:0/95", &c), NR_EINVAL); /* host bit 95 set */
	ASSERT_EQ(nr_conf_parse_cidr("::/95", &c), 0);
	EXPECT_EQ(c.net.family, NR_AF_INET6);
	/* hand-built v6 block covering the mapped range */
	memset(&c, 0, sizeof(c));
	c.net.family = NR_AF_INET6;
	c.net.ip[10] = 0xff;
	c.net.ip[11] = 0xff;
	c.net.ip[12] = 10;
	c.prefix = 104;
	ASSERT_EQ(nr_conf_parse_hostport("10.200.0.1", &a, 25), 0);
	EXPECT_EQ(nr_cidr_contains(&c, &a), 1);
	EXPECT_EQ(nr_cidr_contains(NULL, &a), 0);
	EXPECT_EQ(nr_cidr_contains(&c, NULL), 0);
	c.prefix = 200; /* broken: never matches */
	EXPECT_EQ(nr_cidr_contains(&c, &a), 0);
	EXPECT_EQ(nr_conf_parse_cidr(NULL, &c), NR_EINVAL);
}

static const char *round_trip(const char *in, char *buf, size_t size)
{
	struct nr_addr a;
	char hp[80];

	snprintf(hp, sizeof(hp), "[%s]", in);
	if (nr_conf_parse_hostport(hp, &a, 25) != 0)
		return "(bad)";
	return nr_addr_ntop(&a, buf, size);
}

TEST(ipv6_text_both_ways)
{
	char buf[64];
	struct nr_addr a;

	TEST_NEEDS(CONFIG_NR_IPV6);
	EXPECT_STREQ(round_trip("::", buf, sizeof(buf)), "::");
	EXPECT_STREQ(round_trip("::1", buf, sizeof(buf)), "::1");
	EXPECT_STREQ(round_trip("1::", buf, sizeof(buf)), "1::");
	EXPECT_STREQ(round_trip("2001:DB8:0:0:0:0:0:1", buf, sizeof(buf)), "2001:db8::1");
	EXPECT_STREQ(round_trip("2001:db8:0:0:1:0:0:1", buf, sizeof(buf)), "2001:db8::1:0:0:1");
	EXPECT_STREQ(round_trip("2001:0:0:1:0:0:0:1", buf, sizeof(buf)), "2001:0:0:1::1");
	EXPECT_STREQ(round_trip("2001:db8:0:1:1:1:1:1", buf, sizeof(buf)), "2001:db8:0:1:1:1:1:1");
	EXPECT_STREQ(round_trip("1:2:3:4:5:6:7::", buf, sizeof(buf)), "1:2:3:4:5:6:7:0");
	EXPECT_STREQ(round_trip("::ffff:1.2.3.4", buf, sizeof(buf)), "::ffff:1.2.3.4");
	EXPECT_STREQ(round_trip("::1.2.3.4", buf, sizeof(buf)), "::102:304");
	EXPECT_STREQ(round_trip("1:2:3:4:5:6:1.2.3.4", buf, sizeof(buf)), "1:2:3:4:5:6:102:304");
	EXPECT_STREQ(round_trip("fe80::0001", buf, sizeof(buf)), "fe80::1");
	EXPECT_STREQ(round_trip("fe80::00001", buf, sizeof(buf)), "(bad)");
	EXPECT_STREQ(round_trip("1:2:3:4:5:6:7:8:", buf, sizeof(buf)), "(bad)");
	EXPECT_STREQ(round_trip("", buf, sizeof(buf)), "(bad)");
	EXPECT_STREQ(round_trip("g::", buf, sizeof(buf)), "(bad)");

	ASSERT_EQ(nr_conf_parse_hostport("[::1]:587", &a, 0), 0);
	EXPECT_EQ(a.port, 587);
	EXPECT_EQ(nr_conf_parse_hostport("[::1]", &a, 0), NR_EINVAL); /* port required */
	EXPECT_EQ(nr_conf_parse_hostport("1.2.3.4", &a, 0), NR_EINVAL);
	EXPECT_EQ(nr_conf_parse_hostport("1.2.3.4:", &a, 25), NR_EINVAL);
	EXPECT_EQ(nr_conf_parse_hostport("1.2.3.4:025", &a, 25), NR_EINVAL);
	EXPECT_EQ(nr_conf_parse_hostport("[::1", &a, 25), NR_EINVAL);
	EXPECT_EQ(nr_conf_parse_hostport(NULL, &a, 25), NR_EINVAL);
	ASSERT_EQ(nr_conf_parse_hostport("0.0.0.0:65535", &a, 0), 0);
	EXPECT_EQ(a.port, 65535);
	EXPECT_EQ(a.family, NR_AF_INET4);
	EXPECT_STREQ(nr_addr_ntop(&a, buf, 4), "0.0"); /* truncated, terminated */
	a.family = NR_AF_NONE;
	EXPECT_STREQ(nr_addr_ntop(&a, buf, sizeof(buf)), "(none)");
}

static void expect_file_parses(const char *name)
{
	struct nr_conf c;
	char err[512] = "";
	char path[1024];

	snprintf(path, sizeof(path), "%s/configs/%s", NR_SRC_DIR, name);
	if (nr_conf_load(&c, path, err, sizeof(err)) != 0)
		NR_TEST_FAIL_("%s", err);
	nr_conf_free(&c);
}

TEST(example_files_parse)
{
	struct nr_conf c;
	char err[512] = "", path[1024];

	TEST_NEEDS(CONFIG_NR_IPV6); /* nanorelay.conf listens on [::1] with TLS */
	TEST_NEEDS(CONFIG_NR_LAN_TLS);
	TEST_NEEDS(CONFIG_NR_STORE_FILE); /* both queue on a file */
	expect_file_parses("nanorelay.conf");
	expect_file_parses("dev.conf");

	snprintf(path, sizeof(path), "%s/configs/dev.conf", NR_SRC_DIR);
	ASSERT_EQ(nr_conf_load(&c, path, err, sizeof(err)), 0);
	ASSERT_EQ(c.listen_count, 1);
	EXPECT_EQ(c.listen[0].addr.port, 2525);
	EXPECT_EQ(c.queue_kind, NR_QUEUE_FILE);
	EXPECT_STREQ(c.queue_path, "build/queue");
	EXPECT_EQ(c.queue_size, 4 * 1024 * 1024);
	EXPECT_STREQ(c.state_dir, "build/state");
	EXPECT_STREQ(c.control_socket, "build/state/control");
	EXPECT_EQ(c.log_sink, NR_LOG_SINK_STDERR);
	EXPECT_EQ(c.log_level, NR_LOG_INFO);
	EXPECT_STREQ(c.hostname, "localhost");
	EXPECT_EQ(c.allow_count, 2);
	nr_conf_free(&c);
}

TEST(load_reports_unreadable_files)
{
	struct nr_conf c;
	char err[256];

	EXPECT_EQ(nr_conf_load(&c, "/nonexistent/nanorelay.conf", err, sizeof(err)), NR_ENOTFOUND);
	EXPECT_STREQ(err, "/nonexistent/nanorelay.conf: cannot read: not found");
	EXPECT_STREQ(c.hostname, "localhost");
	nr_conf_free(&c);

	write_file("conf_test_load.conf", "hostname ok.lan\n\nmax_errors x\n", 0644);
	EXPECT_EQ(nr_conf_load(&c, "conf_test_load.conf", err, sizeof(err)), NR_EINVAL);
	EXPECT_STREQ(err, "conf_test_load.conf:3: max_errors: expected a number from 1 to 1000, "
			  "got \"x\"");
	nr_conf_free(&c);
	remove("conf_test_load.conf");
}

/* What start-up needs from the machine: files checked here through the
 * simulator (its other answers are "yes"; tests/integration/
 * test_check_config.sh runs every case on Linux). */
TEST(check_system_names_missing_files)
{
	struct nr_conf c;
	char err[512];

	TEST_NEEDS(CONFIG_NR_LAN_TLS);
	/* ca_file missing, with a smarthost that would use it */
	ASSERT_EQ(parse(&c,
			"smarthost mail.example\n"
			"ca_file /nonexistent/ca.pem\n",
			err, sizeof(err)),
		  0);
	EXPECT_EQ(nr_conf_check_system(&c, err, sizeof(err)), NR_EINVAL);
	EXPECT_STREQ(err, "t.conf:2: ca_file: /nonexistent/ca.pem: not found; fix the path, or "
			  "remove the line to use the system's CA certificates");
	nr_conf_free(&c);

	/* an explicit lan_cert that is not there is never replaced by a
	 * generated one */
	ASSERT_EQ(parse(&c,
			"listen 127.0.0.1:465 tls=implicit\n"
			"lan_cert /nonexistent/lan.crt\n"
			"lan_key " SECRET "\n",
			err, sizeof(err)),
		  0);
	EXPECT_EQ(c.lines.lan_cert, 2);
	EXPECT_EQ(nr_conf_check_system(&c, err, sizeof(err)), NR_EINVAL);
	EXPECT_STREQ(err, "t.conf:2: lan_cert: /nonexistent/lan.crt: not found; fix the path, or "
			  "remove lan_cert and lan_key to have a certificate generated in "
			  "state_dir");
	nr_conf_free(&c);

	/* the generated one (no lan_cert line) is fine; so is a present ca_file */
	ASSERT_EQ(parse(&c,
			"listen 127.0.0.1:465 tls=implicit\n"
			"state_dir /nonexistent\n"
			"smarthost mail.example\n"
			"ca_file " SECRET "\n",
			err, sizeof(err)),
		  0);
	EXPECT_EQ(c.lines.lan_cert, 0);
	EXPECT_EQ(nr_conf_check_system(&c, err, sizeof(err)), 0);
	EXPECT_STREQ(err, "");
	nr_conf_free(&c);
}

int main(void)
{
	/* the parser's look at files is the front end's (app.c does the same) */
	nr_conf_set_file_probe(nr_plat_file_is_exposed);
	write_file(SECRET, "secret\n", 0600);
	write_file(OPEN_SECRET, "secret\n", 0644);
	RUN(bad_values_are_refused_with_file_and_line);
	RUN(text_errors_have_the_line_and_no_file);
	RUN(max_tls_handshakes_ceiling_is_kconfig);
	RUN(line_limits_and_nul_bytes);
	RUN(defaults_are_safe);
	RUN(good_file_field_by_field);
	RUN(warnings_for_exposed_and_missing_secrets);
	RUN(queue_flash);
	RUN(sizes_and_durations);
	RUN(cidr_contains_v4_v6_and_mapped);
	RUN(ipv6_text_both_ways);
	RUN(example_files_parse);
	RUN(load_reports_unreadable_files);
	RUN(check_system_names_missing_files);
	remove(SECRET);
	remove(OPEN_SECRET);
	return TEST_REPORT();
}
