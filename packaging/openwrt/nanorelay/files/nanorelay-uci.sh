# nanorelay-uci.sh - turn /etc/config/nanorelay (UCI) into nanorelay.conf.
# Sourced by /etc/init.d/nanorelay; POSIX sh (BusyBox ash) and awk (BusyBox awk
# is enough). The tests source it on a Debian host and feed it fixtures in
# `uci show` format, so nothing here needs OpenWrt.
#
#   nanorelay_uci_translate          read `uci show nanorelay` output on stdin,
#                                    write nanorelay.conf on stdout; on any
#                                    problem: one message per problem on stderr,
#                                    nothing on stdout, exit 1
#   nanorelay_uci_generate OUT       the same from `uci show nanorelay`, into
#                                    OUT (replaced whole; left alone when the
#                                    translation fails). Mode 0644: the daemon
#                                    reads it again as `user` on reload, and
#                                    it holds no secret (those are in files).
#
# nanorelay.conf has no quoting: a value is one word, ended by a blank, and a
# `#` after a blank starts a comment. So a UCI value is copied as it is when
# it is one word, and refused (with the option's name) when it has a blank, a
# control character (a newline), or starts with `#`: copied, it would mean
# something else than the UCI said. Quotes are ordinary characters there and
# are copied. Unknown sections and options are refused too, never ignored.
#
# The UCI file:
#   config nanorelay 'main'          (one; every option may be left out)
#     option enabled '1'             0: the init script does not start it
#     option hostname 'router.lan'
#     option user 'nanorelay'        drop privileges to this user
#     option queue '/etc/nanorelay/queue'   a file on flash (default), or 'ram'
#     option queue_size '1M'
#     option state_dir '/var/lib/nanorelay'
#     option log_level 'info'        warn, info or debug (log goes to syslog)
#     option max_message_size '10M'
#     option sender 'router@example.com'
#     option admin 'me@example.com'
#     list allow '192.168.1.0/24'    networks that may relay without AUTH
#   config listener                  (any number; none: 127.0.0.1:25 and [::1]:25)
#     option address '192.168.1.1:25'
#     option tls 'none'              none, starttls or implicit
#     option auth 'optional'         required, optional or off
#     list plain_auth '192.168.1.50' list legacy_tls '192.168.1.0/24'
#   config smarthost                 (any number, tried in order)
#     option host 'smtp.example.com'
#     option port '587'
#     option tls 'starttls'          starttls, implicit or none (with insecure)
#     option username 'me@example.com'
#     option password_file '/etc/nanorelay/smarthost.pass'   the secret, in a file
#     option oauth_token_file '...'  option auth 'PLAIN'     option insecure '0'

# shellcheck disable=SC2016 # awk code: awk expands its $0 and $fields
NANORELAY_UCI_AWK='
function fail(msg) {
	errors++
	print "nanorelay: /etc/config/nanorelay: " msg | "cat 1>&2"
}
function has_ctl(v,   i) {
	for (i = 1; i <= length(v); i++)
		if (index(CTL, substr(v, i, 1)))
			return 1
	return 0
}
# A value nanorelay.conf can carry as it is, or 0 (and a message).
function word_ok(name, v) {
	if (v == "")
		fail(name ": the value is empty")
	else if (index(v, " ") || index(v, "\t"))
		fail(name ": the value contains a blank, which nanorelay.conf cannot carry in a value")
	else if (has_ctl(v))
		fail(name ": the value contains a control character (a newline?), which nanorelay.conf cannot carry")
	else if (substr(v, 1, 1) == "#")
		fail(name ": the value starts with #, which nanorelay.conf reads as a comment")
	else
		return 1
	return 0
}
function one_of(name, v, words) {
	if (index(" " words " ", " " v " ") && v != "")
		return 1
	fail(name ": \"" v "\" is not one of: " words)
	return 0
}
# The single value of option o of section s ("" when not set).
function get(s, o,   name) {
	name = "nanorelay." s "." o
	if (!((s, o) in nv))
		return ""
	if (nv[s, o] != 1) {
		fail(name ": a list where one value is expected")
		return ""
	}
	return word_ok(name, val[s, o, 1]) ? val[s, o, 1] : ""
}
# The items of list o of section s joined by sep ("" when not set).
function items(s, o, sep,   i, out, name) {
	name = "nanorelay." s "." o
	out = ""
	for (i = 1; i <= nv[s, o]; i++) {
		if (!word_ok(name, val[s, o, i]))
			continue
		if (sep == "," && index(val[s, o, i], ",")) {
			fail(name ": an item contains a comma, the separator of this list")
			continue
		}
		out = out (out == "" ? "" : sep) val[s, o, i]
	}
	return out
}
function check_options(s, known,   k, n) {
	n = split(opts[s], NAMES, " ")
	for (k = 1; k <= n; k++)
		if (!index(" " known " ", " " NAMES[k] " "))
			fail("nanorelay." s "." NAMES[k] ": unknown option (known: " known ")")
}
# One `uci show` line: KEY=VALUE, the value in single quotes (a quote inside
# written as quote, backslash, quote, quote) and the items of a list
# separated by one blank. A quoted value may span lines (a newline in it).
function parse(buf,   n, p, e, c, key, q, k, np, s) {
	n = length(buf)
	p = 1
	while (p <= n) {
		e = p
		while (e <= n && (c = substr(buf, e, 1)) != "=" && c != "\n")
			e++
		key = substr(buf, p, e - p)
		if (e > n || c == "\n") {
			if (key != "")
				fail("cannot read the line \"" key "\" (not uci show output)")
			p = e + 1
			continue
		}
		p = e + 1
		k = 0
		if (substr(buf, p, 1) != SQ) {
			e = index(substr(buf, p), "\n")
			e = e ? p + e - 1 : n + 1
			V[++k] = substr(buf, p, e - p)
			p = e + 1
		} else {
			for (;;) {
				p++
				V[++k] = ""
				for (;;) {
					q = index(substr(buf, p), SQ)
					if (!q) {
						fail(key ": a value without its closing quote")
						return
					}
					V[k] = V[k] substr(buf, p, q - 1)
					p += q
					if (substr(buf, p, 3) == "\\" SQ SQ) {
						V[k] = V[k] SQ
						p += 3
						continue
					}
					break
				}
				c = substr(buf, p, 1)
				if (c == " " && substr(buf, p + 1, 1) == SQ) {
					p++
					continue
				}
				break
			}
			if (p <= n && c != "\n") {
				fail(key ": unexpected text after the value")
				e = index(substr(buf, p), "\n")
				p = e ? p + e : n + 1
				continue
			}
			p++
		}
		np = split(key, PARTS, ".")
		if (PARTS[1] != "nanorelay" || np < 2 || np > 3) {
			fail("\"" key "\" is not an option of nanorelay")
			continue
		}
		s = PARTS[2]
		if (np == 2) {
			if (!(s in type))
				order[++nsec] = s
			type[s] = V[1]
		} else {
			if (!((s, PARTS[3]) in nv))
				opts[s] = opts[s] " " PARTS[3]
			nv[s, PARTS[3]] = k
			for (q = 1; q <= k; q++)
				val[s, PARTS[3], q] = V[q]
		}
	}
}
function translate(   i, s, main, line, v, host, port, t, out) {
	out = "# Generated from /etc/config/nanorelay by /etc/init.d/nanorelay; edit that\n" \
	      "# file and run `/etc/init.d/nanorelay reload`: changes made here are lost.\n"
	main = ""
	for (i = 1; i <= nsec; i++) {
		s = order[i]
		if (type[s] == "nanorelay") {
			if (main != "")
				fail("nanorelay." s ": a second nanorelay section (there is one, nanorelay." main ")")
			main = s
		} else if (type[s] != "listener" && type[s] != "smarthost") {
			fail("nanorelay." s ": unknown section type \"" type[s] "\" (known: nanorelay listener smarthost)")
		}
	}
	if (main != "") {
		check_options(main, "enabled hostname user queue queue_size state_dir log_level max_message_size sender admin allow")
		v = get(main, "enabled")
		if (v != "")
			one_of("nanorelay." main ".enabled", v, "0 1")
		if ((v = get(main, "hostname")) != "")
			out = out "hostname " v "\n"
		if ((v = items(main, "allow", " ")) != "")
			out = out "allow " v "\n"
	}
	for (i = 1; i <= nsec; i++) {
		s = order[i]
		if (type[s] != "listener")
			continue
		check_options(s, "address tls auth plain_auth legacy_tls")
		if ((v = get(s, "address")) == "") {
			if (!((s, "address") in nv))
				fail("nanorelay." s ": a listener without an address")
			continue
		}
		line = "listen " v
		if ((v = get(s, "tls")) != "" && one_of("nanorelay." s ".tls", v, "none starttls implicit"))
			line = line " tls=" v
		if ((v = get(s, "auth")) != "" && one_of("nanorelay." s ".auth", v, "required optional off"))
			line = line " auth=" v
		if ((v = items(s, "plain_auth", ",")) != "")
			line = line " plain_auth=" v
		if ((v = items(s, "legacy_tls", ",")) != "")
			line = line " legacy_tls=" v
		out = out line "\n"
	}
	# The queue on flash unless the UCI says otherwise: /var is a tmpfs on
	# OpenWrt, and nanorelay.conf default is under /var.
	v = main != "" ? get(main, "queue") : ""
	t = main != "" ? get(main, "queue_size") : ""
	if (t == "")
		t = "1M"
	if (v == "ram")
		out = out "queue ram size=" t "\n"
	else if (v == "" || substr(v, 1, 1) == "/")
		out = out "queue file:" (v == "" ? "/etc/nanorelay/queue" : v) " size=" t "\n"
	else
		fail("nanorelay." main ".queue: \"" v "\" is neither ram nor an absolute path")
	if (main != "" && (v = get(main, "state_dir")) != "")
		out = out "state_dir " v "\n"
	v = main != "" ? get(main, "log_level") : ""
	if (v == "" || one_of("nanorelay." main ".log_level", v, "warn info debug"))
		out = out "log syslog level=" (v == "" ? "info" : v) "\n"
	if (main != "") {
		if ((v = get(main, "user")) != "")
			out = out "user " v "\n"
		if ((v = get(main, "max_message_size")) != "")
			out = out "max_message_size " v "\n"
		if ((v = get(main, "sender")) != "")
			out = out "sender " v "\n"
		if ((v = get(main, "admin")) != "")
			out = out "admin " v "\n"
	}
	for (i = 1; i <= nsec; i++) {
		s = order[i]
		if (type[s] != "smarthost")
			continue
		check_options(s, "host port tls username password_file oauth_token_file auth insecure")
		if ((host = get(s, "host")) == "") {
			if (!((s, "host") in nv))
				fail("nanorelay." s ": a smarthost without a host")
			continue
		}
		if (index(host, ":") && substr(host, 1, 1) != "[")
			host = "[" host "]"
		line = "smarthost " host
		if ((port = get(s, "port")) != "") {
			if (port !~ /^[0-9]+$/ || port + 0 < 1 || port + 0 > 65535)
				fail("nanorelay." s ".port: \"" port "\" is not a port number (1-65535)")
			else
				line = line ":" port
		}
		if ((v = get(s, "tls")) != "" && one_of("nanorelay." s ".tls", v, "starttls implicit none"))
			line = line " tls=" v
		if ((v = get(s, "username")) != "")
			line = line " user=" v
		if ((v = get(s, "password_file")) != "")
			line = line " password_file=" v
		if ((v = get(s, "oauth_token_file")) != "")
			line = line " oauth_token_file=" v
		if ((v = get(s, "auth")) != "" && one_of("nanorelay." s ".auth", v, "PLAIN LOGIN CRAM-MD5 XOAUTH2"))
			line = line " auth=" v
		if ((v = get(s, "insecure")) != "" && one_of("nanorelay." s ".insecure", v, "0 1") && v == "1")
			line = line " insecure=yes"
		out = out line "\n"
	}
	if (!errors)
		printf "%s", out
}
BEGIN {
	SQ = sprintf("%c", 39)
	CTL = ""
	for (i = 1; i < 32; i++)
		CTL = CTL sprintf("%c", i)
	CTL = CTL sprintf("%c", 127)
}
{ buf = buf $0 "\n" }
END {
	parse(buf)
	if (!errors)
		translate()
	close("cat 1>&2")
	exit errors ? 1 : 0
}
'

nanorelay_uci_translate() {
	awk "$NANORELAY_UCI_AWK"
}

nanorelay_uci_generate() {
	_nr_out=$1
	mkdir -p "${_nr_out%/*}" || return 1
	uci -q show nanorelay >"$_nr_out.uci" || {
		echo "nanorelay: cannot read /etc/config/nanorelay (uci show nanorelay)" >&2
		rm -f "$_nr_out.uci"
		return 1
	}
	if nanorelay_uci_translate <"$_nr_out.uci" >"$_nr_out.tmp"; then
		rm -f "$_nr_out.uci"
		chmod 0644 "$_nr_out.tmp" && mv -f "$_nr_out.tmp" "$_nr_out"
		return
	fi
	rm -f "$_nr_out.uci" "$_nr_out.tmp"
	return 1
}
