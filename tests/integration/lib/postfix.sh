# shellcheck shell=bash
# nanorelay integration harness: a private Postfix smarthost on loopback.
#
#   source lib/postfix.sh
#   pf_start                  # CA (lib/ca.sh) is made on demand
#   ... nanorelay -> smarthost.test:$PF_PORT_SUBMIT (STARTTLS) or $PF_PORT_SMTPS
#   pf_wait 1 || fail "not delivered" "$PF_LOG"
#   pf_envelope 1             # from=<...> to=<...>
#
# The instance ("smarthost.test"): needs root (CI runs as root).
#   $PF_PORT_SUBMIT  587-style: STARTTLS (smtpd_tls_security_level=$PF_TLS_LEVEL,
#                    default "encrypt": MAIL/AUTH before STARTTLS get 530)
#   $PF_PORT_SMTPS   465-style: implicit TLS (wrapper mode)
#   $PF_PORT_PLAIN   only with PF_PLAIN=1: no TLS at all, AUTH offered in the clear
#                    (for tls=none tests); PF_PLAIN_OPEN=1 also relays without AUTH
#                    for loopback clients
#   Listens on 127.0.0.1 and ::1 (when IPv6 exists). AUTH (Cyrus SASL, sasldb,
#   mechanisms $PF_MECHS, default "PLAIN LOGIN CRAM-MD5") only after TLS;
#   relaying (any recipient domain) only for authenticated clients, others get
#   554 5.7.1 at RCPT. Every accepted recipient is delivered by virtual(8) into
#   ONE Maildir: one file per recipient, with Return-Path: <envelope sender>,
#   X-Original-To:/Delivered-To: <envelope recipient> and a Received: header
#   saying "(Authenticated sender: USER)" on top. Postfix stores LF line ends.
#   smtpd_error_sleep_time=0 so failing dialogues do not stall.
#
# Knobs (set before pf_start / pf_configure):
#   PF_CERT PF_KEY     server certificate (+chain) and key; default the "good"
#                      pair of lib/ca.sh (e.g. PF_CERT=$CA_DIR/chain.crt
#                      PF_KEY=$CA_DIR/chain.key, or nochain/expired/...)
#   PF_USER PF_PASS    the SASL account (default tester@smarthost.test / Test-Pa55w0rd)
#   PF_TLS_LEVEL       may | encrypt for the STARTTLS port (default encrypt)
#   PF_MECHS           SASL mechanisms
#   PF_PLAIN PF_PLAIN_OPEN  see above
#   PF_MAIN_EXTRA      extra main.cf lines "name = value" (newline separated)
#
# Exported: PF_DIR (instance dir), PF_HOST (smarthost.test), PF_PORT_SUBMIT,
#   PF_PORT_SMTPS, PF_PORT_PLAIN, PF_MAILDIR (…/Maildir), PF_LOG (maillog),
#   PF_USER, PF_PASS, PF_CA (the CA certificate clients must trust).
#
# Functions (all act on $PF_DIR; for a second instance save the variables and
# call e.g. `PF_DIR=$other pf_count`):
#   pf_start [NAME]     configure $NR_TMP/NAME (default postfix, postfix2, ...) with fresh
#                       ports and start it; stopped automatically at exit
#   pf_down / pf_up     stop / start again with the same config and ports
#                       (upstream down-then-up tests); pf_stop = pf_down
#   pf_count            number of delivered files (one per recipient)
#   pf_wait N [SECS]    wait until >= N delivered (default 20 s); 1 on timeout
#   pf_files            delivered files, oldest first
#   pf_msg I            print delivered file I (1 = oldest) as stored
#   pf_body I           the message as the client sent it: pf_msg I without
#                       the headers Postfix added (Return-Path, X-Original-To,
#                       Delivered-To, its own Received:); LF line ends
#   pf_envelope I       "from=<S> to=<R>" for delivered file I
#   pf_envelopes        one line per delivered file
#   pf_clear            delete delivered messages
#   pf_queue            postqueue -p output (deferred/active mail)
#   pf_log_grep ERE     grep the maillog

# shellcheck source=ca.sh
source "$(dirname "${BASH_SOURCE[0]}")/ca.sh"

PF_HOST=smarthost.test
export PF_HOST

pf__conf() { postconf -c "$PF_DIR" "$@"; }

PF_N=0
pf_configure() {
	local name=${1:-}
	if [ -z "$name" ]; then
		PF_N=$((PF_N + 1))
		name=postfix
		[ "$PF_N" -gt 1 ] && name=postfix$PF_N
	fi
	[ "$(id -u)" = 0 ] || nr_skip "a private Postfix needs root"
	nr_require postconf postfix saslpasswd2
	[ -n "${CA_DIR:-}" ] || ca_make_all
	PF_DIR=$NR_TMP/$name
	PF_USER=${PF_USER:-tester@smarthost.test}
	PF_PASS=${PF_PASS:-Test-Pa55w0rd}
	local cert=${PF_CERT:-$CA_DIR/good.crt} key=${PF_KEY:-$CA_DIR/good.key}
	PF_CA=$CA_CERT
	local ports
	ports=$(nr_free_ports 3) || return 1
	PF_PORT_SUBMIT=$(sed -n 1p <<<"$ports")
	PF_PORT_SMTPS=$(sed -n 2p <<<"$ports")
	PF_PORT_PLAIN=$(sed -n 3p <<<"$ports")
	PF_MAILDIR=$PF_DIR/mail/Maildir
	PF_LOG=$PF_DIR/log/maillog
	export PF_DIR PF_USER PF_PASS PF_CA PF_PORT_SUBMIT PF_PORT_SMTPS PF_PORT_PLAIN PF_MAILDIR PF_LOG

	mkdir -p "$PF_DIR"/{queue,data,mail,log,sasl,tls}
	chmod 0755 "$PF_DIR" "$PF_DIR/mail" "$PF_DIR/log" "$PF_DIR/sasl" "$PF_DIR/tls"
	chown postfix:postfix "$PF_DIR/data" "$PF_DIR/mail"
	# TLS material copied in, readable by smtpd after it drops privileges
	cat "$key" >"$PF_DIR/tls/server.key"
	cat "$cert" >"$PF_DIR/tls/server.crt"
	chmod 0644 "$PF_DIR"/tls/*

	# SASL: sasldb with the test account, readable by the postfix user
	local u=${PF_USER%@*} realm=
	[ "$u" != "$PF_USER" ] && realm=${PF_USER#*@}
	echo -n "$PF_PASS" | saslpasswd2 -f "$PF_DIR/sasl/sasldb2" -c -p ${realm:+-u "$realm"} "$u" || return 1
	chown postfix:postfix "$PF_DIR/sasl/sasldb2"
	chmod 0600 "$PF_DIR/sasl/sasldb2"
	cat >"$PF_DIR/sasl/smtpd.conf" <<-EOF
		pwcheck_method: auxprop
		auxprop_plugin: sasldb
		sasldb_path: $PF_DIR/sasl/sasldb2
		mech_list: ${PF_MECHS:-PLAIN LOGIN CRAM-MD5}
		log_level: 3
	EOF

	local ifaces="127.0.0.1" protos=ipv4 uid gid
	if [ "$NR_HAVE_IPV6" = 1 ]; then ifaces="127.0.0.1, [::1]"; protos=all; fi
	uid=$(id -u postfix)
	gid=$(id -g postfix)
	cat >"$PF_DIR/main.cf" <<-EOF
		# private nanorelay test smarthost (generated by tests/integration/lib/postfix.sh)
		compatibility_level = 3.6
		meta_directory = /etc/postfix
		queue_directory = $PF_DIR/queue
		data_directory = $PF_DIR/data
		maillog_file = $PF_LOG
		maillog_file_prefixes = $NR_TMP
		syslog_name = nr-$name
		myhostname = $PF_HOST
		mydomain = smarthost.test
		myorigin = \$myhostname
		mydestination =
		relay_domains =
		local_recipient_maps =
		alias_maps =
		alias_database =
		inet_interfaces = $ifaces
		inet_protocols = $protos
		mynetworks = 127.0.0.0/8 [::1]/128
		default_process_limit = 20
		in_flow_delay = 0
		biff = no
		append_dot_mydomain = no
		local_header_rewrite_clients =
		disable_mime_output_conversion = yes
		smtpd_banner = \$myhostname ESMTP nanorelay-test-postfix
		smtpd_error_sleep_time = 0
		smtpd_soft_error_limit = 100
		smtpd_hard_error_limit = 200
		smtpd_relay_restrictions = permit_sasl_authenticated, reject
		smtpd_recipient_restrictions =
		smtpd_sasl_auth_enable = yes
		smtpd_sasl_type = cyrus
		smtpd_sasl_path = smtpd
		cyrus_sasl_config_path = $PF_DIR/sasl
		smtpd_sasl_security_options = noanonymous
		smtpd_sasl_authenticated_header = yes
		smtpd_tls_auth_only = yes
		smtpd_tls_security_level = may
		smtpd_tls_chain_files = $PF_DIR/tls/server.key, $PF_DIR/tls/server.crt
		smtpd_tls_loglevel = 1
		smtpd_tls_received_header = yes
		virtual_mailbox_domains = static:all
		virtual_mailbox_base = $PF_DIR/mail
		virtual_mailbox_maps = static:Maildir/
		virtual_minimum_uid = 1
		virtual_uid_maps = static:$uid
		virtual_gid_maps = static:$gid
		virtual_destination_recipient_limit = 1
		notify_classes =
		${PF_MAIN_EXTRA:-}
	EOF
	{
		echo "$PF_PORT_SUBMIT inet n - n - - smtpd -o smtpd_tls_security_level=${PF_TLS_LEVEL:-encrypt}"
		echo "$PF_PORT_SMTPS inet n - n - - smtpd -o smtpd_tls_wrappermode=yes -o smtpd_tls_security_level=encrypt"
		if [ "${PF_PLAIN:-0}" = 1 ]; then
			echo "$PF_PORT_PLAIN inet n - n - - smtpd -o smtpd_tls_security_level=none -o smtpd_tls_auth_only=no"
			[ "${PF_PLAIN_OPEN:-0}" = 1 ] && echo "  -o smtpd_relay_restrictions=permit_mynetworks,permit_sasl_authenticated,reject"
		fi
		cat <<-'EOF'
			cleanup   unix  n       -       n       -       0       cleanup
			qmgr      unix  n       -       n       300     1       qmgr
			tlsmgr    unix  -       -       n       1000?   1       tlsmgr
			rewrite   unix  -       -       n       -       -       trivial-rewrite
			bounce    unix  -       -       n       -       0       bounce
			defer     unix  -       -       n       -       0       bounce
			trace     unix  -       -       n       -       0       bounce
			verify    unix  -       -       n       -       1       verify
			flush     unix  n       -       n       1000?   0       flush
			proxymap  unix  -       -       n       -       -       proxymap
			proxywrite unix -       -       n       -       1       proxymap
			smtp      unix  -       -       n       -       -       smtp
			relay     unix  -       -       n       -       -       smtp
			showq     unix  n       -       n       -       -       showq
			error     unix  -       -       n       -       -       error
			retry     unix  -       -       n       -       -       error
			discard   unix  -       -       n       -       -       discard
			virtual   unix  -       n       n       -       -       virtual
			anvil     unix  -       -       n       -       1       anvil
			scache    unix  -       -       n       -       1       scache
			postlog   unix-dgram n  -       n       -       1       postlogd
		EOF
	} >"$PF_DIR/master.cf"
	# master waits (300 ms steps) until main.cf is ~2 s old: backdate it
	touch -d '-1 min' "$PF_DIR/main.cf" "$PF_DIR/master.cf"
	[ "${PF_PLAIN:-0}" = 1 ] || PF_PORT_PLAIN=
	export PF_PORT_PLAIN
	nr_on_exit "PF_DIR='$PF_DIR' pf_down"
}

pf__mkqueue() { # what `post-install create-missing` would do, minus 2 s of checks
	local q=$PF_DIR/queue d
	for d in active bounce corrupt defer deferred flush hold incoming private saved trace; do
		install -d -o postfix -g root -m 0700 "$q/$d"
	done
	install -d -o postfix -g postdrop -m 0730 "$q/maildrop"
	install -d -o postfix -g postdrop -m 0710 "$q/public"
	install -d -o root -g root -m 0755 "$q/pid"
}

pf__master_pid() {
	local pid
	pid=$(tr -d ' ' <"$PF_DIR/queue/pid/master.pid" 2>/dev/null) || return 1
	[ -n "$pid" ] && ! nr__pid_gone "$pid" && echo "$pid"
}

pf_up() {
	pf__mkqueue
	# master -w daemonizes once the listeners are bound (what `postfix start`
	# ends with, minus ~1.8 s of postfix-script checks)
	if ! /usr/lib/postfix/sbin/master -c "$PF_DIR" -w </dev/null >/dev/null 2>"$PF_DIR/log/master.err"; then
		cat "$PF_DIR/log/master.err" >&2
		[ -f "$PF_LOG" ] && tail -n 20 "$PF_LOG" >&2
		return 1
	fi
	wait_for 10 "postfix listening on $PF_PORT_SUBMIT and $PF_PORT_SMTPS" \
		nr_listening "$PF_PORT_SUBMIT" "$PF_PORT_SMTPS"
}

pf_down() {
	[ -n "${PF_DIR:-}" ] && [ -f "$PF_DIR/main.cf" ] || return 0
	local pid
	pid=$(pf__master_pid) || return 0
	# master stops its children on SIGTERM; wait (bounded) until it is gone
	# so that the ports are free for pf_up
	kill -TERM "$pid" 2>/dev/null
	wait_for 10 "postfix master $pid exit" nr__pid_gone "$pid" || kill -KILL "$pid" 2>/dev/null
	# its children (smtpd) hold copies of the listening sockets
	local ports
	ports=$(awk '$2 == "inet" { print $1 }' "$PF_DIR/master.cf")
	# shellcheck disable=SC2086
	wait_for 5 "ports $ports released" nr__none_listening $ports
	return 0
}
pf_stop() { pf_down; }

pf_start() {
	local try
	for try in 1 2 3; do
		pf_configure "${1:-}" || return 1
		pf_up && return 0
		# most likely a port was taken between reservation and bind: retry
		pf_down
		echo "# pf_start: attempt $try failed, retrying with other ports" >&2
		rm -rf "$PF_DIR"
	done
	return 1
}

pf_files() {
	[ -d "$PF_MAILDIR" ] || return 0
	find "$PF_MAILDIR/new" "$PF_MAILDIR/cur" -type f -printf '%T@ %p\n' 2>/dev/null | sort -n | cut -d' ' -f2-
}
pf_count() { pf_files | wc -l; }
pf__count_ge() { [ "$(pf_count)" -ge "$1" ]; }
pf_wait() {
	if ! wait_for "${2:-20}" "$1 message(s) delivered to $PF_MAILDIR" pf__count_ge "$1"; then
		echo "# pf_wait: have $(pf_count) of $1" >&2
		return 1
	fi
}
pf__file() {
	case $1 in
	*/*) echo "$1" ;;
	*) pf_files | sed -n "${1}p" ;;
	esac
}
pf_msg() {
	local f
	f=$(pf__file "$1")
	[ -n "$f" ] || { echo "pf_msg: no message $1" >&2; return 1; }
	cat "$f"
}
pf_body() {
	pf_msg "$1" | awk '
		BEGIN { hdr = 1; skipping = 0; rcvd = 0 }
		hdr && /^(Return-Path|X-Original-To|Delivered-To):/ { skipping = 1; next }
		hdr && /^Received:/ && !rcvd { rcvd = 1; skipping = 1; next }
		hdr && /^[ \t]/ && skipping { next }
		{ hdr = (hdr && $0 != ""); skipping = 0; print }'
}
pf_envelope() {
	pf_msg "$1" | awk '
		/^$/ { exit }
		/^Return-Path:/ { sub(/^Return-Path: */, ""); from = $0 }
		/^X-Original-To:/ { sub(/^X-Original-To: */, ""); orig = $0 }
		/^Delivered-To:/ && to == "" { sub(/^Delivered-To: */, ""); to = $0 }
		END { if (orig != "") to = orig; printf "from=%s to=<%s>\n", from, to }'
}
pf_envelopes() {
	local n i
	n=$(pf_count)
	for ((i = 1; i <= n; i++)); do pf_envelope "$i"; done
}
pf_clear() { rm -f "$PF_MAILDIR"/new/* "$PF_MAILDIR"/cur/* 2>/dev/null; return 0; }
pf_queue() { postqueue -c "$PF_DIR" -p; }
pf_log_grep() { grep -E "$1" "$PF_LOG"; }
