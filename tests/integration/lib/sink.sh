# shellcheck shell=bash
# nanorelay integration harness: Postfix smtp-sink as a scripted-fault upstream.
#
#   source lib/sink.sh
#   sink_start -r RCPT           # every RCPT gets 450 4.3.0
#   sink_start -f .              # 500 5.3.0 after the final dot
#   sink_start -q .              # disconnect without a reply after the dot
#   sink_start -q DATA           # drop the connection at DATA
#   sink_start -Q MAIL           # 421 and disconnect at MAIL
#   sink_start -W RCPT:5         # 5 s delay before the RCPT reply
#   sink_start -8 -p             # no 8BITMIME, no PIPELINING
#   sink_start -b "451 4.7.1 try later" -r MAIL
# Any smtp-sink(1) option goes through unchanged (see `man smtp-sink`);
# the harness adds: -u nobody (it runs as root), -d DUMPDIR/msg. and the
# address. No TLS, no AUTH (for those: lib/tlsserver.sh).
#
# Exports (for the last sink started; save them for several sinks):
#   SINK_PORT  port on $SINK_HOST (default 127.0.0.1; set SINK_HOST=::1 before
#              sink_start for an IPv6 sink)
#   SINK_DIR   instance dir; dumps in $SINK_DIR/dump, log in $SINK_LOG
#   SINK_PID
#
# Functions (act on $SINK_DIR / $SINK_PID):
#   sink_start [OPTS...]   start (retries with another port if bind fails)
#   sink_stop              stop it (also done at exit); sink_restart: same port
#   sink_count             complete transactions dumped. NOTE: smtp-sink dumps
#                          every transaction that reached DATA, including one
#                          rejected at the dot (-f . / -r .): count accepted
#                          mail only on a sink that accepts it.
#   sink_wait N [SECS]     wait until sink_count >= N (default 20 s)
#   sink_files             dump files, oldest first
#   sink_msg I             dump I: X-Client-Addr/X-Client-Proto/X-Helo-Args/
#                          X-Mail-Args/X-Rcpt-Args lines, smtp-sink's
#                          Received:, then the message (LF line ends)
#   sink_body I            the message only (without those lines and Received:)
#   sink_envelope I        "from=<S> to=<R1>,<R2>" (MAIL/RCPT args as sent)

# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

SINK_N=0

sink__launch() { # OPTS... ; uses SINK_DIR SINK_PORT SINK_HOST
	local addr=$SINK_HOST
	case $addr in *:*) addr="[$addr]" ;; esac
	SINK_OPTS=("$@")
	nr_spawn SINK_PID "$SINK_DIR/log" smtp-sink -u nobody -d "$SINK_DIR/dump/msg." \
		"$@" "inet:$addr:$SINK_PORT" 64
	export SINK_PID
	echo "$SINK_PID" >"$SINK_DIR/pid"
	printf '%s\n' "$SINK_PORT" >"$SINK_DIR/port"
	# smtp-sink exits at once when the bind fails
	wait_for 5 "smtp-sink on $SINK_PORT" nr_listening "$SINK_PORT" && return 0
	nr_stop_pid "$SINK_PID" 1
	return 1
}

sink_start() {
	nr_require smtp-sink
	[ "$(id -u)" = 0 ] || nr_skip "smtp-sink -u needs root here"
	SINK_HOST=${SINK_HOST:-127.0.0.1}
	local try
	for try in 1 2 3; do
		SINK_N=$((SINK_N + 1))
		SINK_DIR=$NR_TMP/sink$SINK_N
		SINK_LOG=$SINK_DIR/log
		mkdir -p "$SINK_DIR"
		chmod 0755 "$SINK_DIR"
		install -d -o nobody -m 0755 "$SINK_DIR/dump"
		SINK_PORT=$(free_port) || return 1
		export SINK_DIR SINK_LOG SINK_PORT SINK_HOST
		sink__launch "$@" && return 0
		echo "# sink_start: attempt $try failed: $(tail -n 1 "$SINK_LOG")" >&2
	done
	return 1
}

sink_stop() { nr_stop_pid "$SINK_PID" 5; }
sink_restart() {
	sink_stop
	sink__launch "${SINK_OPTS[@]}"
}

# complete dumps: files smtp-sink no longer holds open
sink_files() {
	local open
	open=$(ls -l "/proc/$SINK_PID/fd" 2>/dev/null | awk '{print $NF}' | grep "^$SINK_DIR/dump/" || true)
	find "$SINK_DIR/dump" -type f -printf '%T@ %p\n' 2>/dev/null | sort -n | cut -d' ' -f2- |
		{ if [ -n "$open" ]; then grep -vxF "$open"; else cat; fi; }
}
sink_count() { sink_files | wc -l; }
sink__count_ge() { [ "$(sink_count)" -ge "$1" ]; }
sink_wait() {
	if ! wait_for "${2:-20}" "$1 transaction(s) at smtp-sink :$SINK_PORT" sink__count_ge "$1"; then
		echo "# sink_wait: have $(sink_count) of $1" >&2
		return 1
	fi
}
sink__file() {
	case $1 in */*) echo "$1" ;; *) sink_files | sed -n "${1}p" ;; esac
}
sink_msg() {
	local f
	f=$(sink__file "$1")
	[ -n "$f" ] || { echo "sink_msg: no message $1" >&2; return 1; }
	cat "$f"
}
sink_body() {
	sink_msg "$1" | awk '
		BEGIN { pre = 1 }
		pre && /^X-(Client-Addr|Client-Proto|Helo-Args|Mail-Args|Rcpt-Args):/ { next }
		pre && /^Received:/ { rcv = 1; next }
		pre && rcv && /^[ \t]/ { next }
		{ pre = 0; print }'
}
sink_envelope() {
	sink_msg "$1" | awk '
		/^X-Mail-Args:/ { sub(/^X-Mail-Args: */, ""); from = $0 }
		/^X-Rcpt-Args:/ { sub(/^X-Rcpt-Args: */, ""); to = to (to == "" ? "" : ",") $0 }
		/^Received:/ { exit }
		END { printf "from=%s to=%s\n", from, to }'
}
