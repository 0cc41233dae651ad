# shellcheck shell=bash
# nanorelay integration harness: TLS / AUTH fault servers.
#
# smtp-sink (lib/sink.sh) speaks no TLS and no AUTH. For faults at those
# layers there are two tools:
#
# 1. tls_start: lib/smtpfault.py, a small threaded SMTP server (python ssl)
#    that does STARTTLS or implicit TLS with any certificate of lib/ca.sh and
#    misbehaves on request. Options go to smtpfault.py unchanged:
#      tls_start --tls starttls --cert "$CA_DIR/expired.crt" --key "$CA_DIR/expired.key"
#      tls_start --tls implicit --kind wrongname        # --kind K: $CA_DIR/K.{crt,key}
#      tls_start --kind good --tls-max 1.0               # a TLS-1.0-only server
#      tls_start --kind good --no-starttls               # STARTTLS not offered
#      tls_start --kind good --starttls-reply "454 4.7.0 TLS not available"
#      tls_start --kind good --inject '250 injected\r\n' # bytes after the 220
#      tls_start --kind good --auth-reply "535 5.7.8 Authentication failed"
#      tls_start --kind good --reply RCPT="451 4.3.0 later" --reply DOT=DROP
#    Default: --tls starttls, cert "good". The transcript ($TLS_LOG) has
#    "C:"/"S:" lines, "TLS: <version> <cipher>" after each handshake and
#    "AUTH-DATA ..." with the decoded credentials the client sent.
#    Accepted messages: $TLS_DIR/msgs/msg.N (X-Mail-From:/X-Rcpt-To: lines,
#    then the data as received with CRLF).
#    Exports TLS_PORT TLS_DIR TLS_LOG TLS_PID.
#    tls_stop; tls_count; tls_wait N [SECS]; tls_msg I; tls_log_grep ERE
#
# 2. ssl_server_start KIND [openssl s_server options...]: a raw TLS endpoint
#    (no SMTP) on $SSL_PORT serving $CA_DIR/KIND.{crt,key}, e.g.
#      ssl_server_start good -tls1 -cipher 'DEFAULT:@SECLEVEL=0'  # TLS 1.0 only
#    Good for handshake-level checks of implicit-TLS clients. Output in
#    $SSL_LOG; exports SSL_PORT SSL_PID. ssl_server_stop.

# shellcheck source=ca.sh
source "$(dirname "${BASH_SOURCE[0]}")/ca.sh"

TLS_N=0

tls_start() {
	[ -n "${CA_DIR:-}" ] || ca_make_all
	local args=() kind=good have_cert=0 try
	while [ $# -gt 0 ]; do
		case $1 in
		--kind) kind=$2; shift 2 ;;
		--cert) have_cert=1; args+=("$1" "$2"); shift 2 ;;
		*) args+=("$1"); shift ;;
		esac
	done
	[ "$have_cert" = 1 ] || args+=(--cert "$CA_DIR/$kind.crt" --key "$CA_DIR/$kind.key")
	for try in 1 2 3; do
		TLS_N=$((TLS_N + 1))
		TLS_DIR=$NR_TMP/tls$TLS_N
		TLS_LOG=$TLS_DIR/transcript
		mkdir -p "$TLS_DIR/msgs"
		TLS_PORT=$(free_port) || return 1
		export TLS_DIR TLS_LOG TLS_PORT
		nr_spawn TLS_PID "$TLS_LOG" "$NR_PY" -u "$NR_LIB/smtpfault.py" --port "$TLS_PORT" \
			--dir "$TLS_DIR/msgs" "${args[@]}"
		export TLS_PID
		wait_for 5 "smtpfault on $TLS_PORT" nr_listening "$TLS_PORT" && return 0
		echo "# tls_start: attempt $try failed: $(tail -n 3 "$TLS_LOG")" >&2
		nr_stop_pid "$TLS_PID" 1
	done
	return 1
}
tls_stop() { nr_stop_pid "$TLS_PID" 5; }
tls_count() { find "$TLS_DIR/msgs" -name 'msg.*' | wc -l; }
tls__count_ge() { [ "$(tls_count)" -ge "$1" ]; }
tls_wait() { wait_for "${2:-20}" "$1 message(s) at smtpfault :$TLS_PORT" tls__count_ge "$1"; }
tls_msg() { cat "$(find "$TLS_DIR/msgs" -name 'msg.*' | sort | sed -n "${1}p")"; }
tls_log_grep() { grep -E "$1" "$TLS_LOG"; }

ssl_server_start() {
	[ -n "${CA_DIR:-}" ] || ca_make_all
	local kind=$1 try
	shift
	mkdir -p "$NR_TMP/ssl"
	SSL_LOG=$NR_TMP/ssl/s_server.log
	for try in 1 2 3; do
		SSL_PORT=$(free_port) || return 1
		export SSL_PORT SSL_LOG
		# -ign_eof: keep serving although stdin is /dev/null
		nr_spawn SSL_PID "$SSL_LOG" openssl s_server -accept "127.0.0.1:$SSL_PORT" -naccept 1000 \
			-cert "$CA_DIR/$kind.crt" -key "$CA_DIR/$kind.key" -cert_chain "$CA_DIR/$kind.crt" \
			-ign_eof -quiet "$@"
		export SSL_PID
		wait_for 5 "s_server on $SSL_PORT" nr_listening "$SSL_PORT" && return 0
		nr_stop_pid "$SSL_PID" 1
	done
	return 1
}
ssl_server_stop() { nr_stop_pid "$SSL_PID" 5; }
