#!/usr/bin/env bash
# End-to-end delivery benchmark: smtp-source -> nanorelay (file queue, every
# 250 after fdatasync) -> upstream, timed from the first message in to the
# last one delivered upstream.
#   plain:    upstream smtp-sink (no storage), tls=none insecure=yes
#   STARTTLS: upstream lib/smtpfault.py (python ssl, STARTTLS + AUTH PLAIN,
#             certificate of the test CA for smarthost.test via dnsmasq);
#             python is the bound here, not nanorelay
# Upstream connections are counted from SYNs in a dumpcap capture (filter:
# SYNs to the upstream port only), giving messages per upstream connection.
# A benchmark, not a test: it prints a table. Needs root (smtp-sink -u,
# dumpcap). Loopback only, bounded by the harness watchdog. The plain run
# goes twice: smtp-source's default (a new connection per message) and -d
# (each session keeps its connection for all its messages).
#   usage: tests/bench/bench_e2e.sh [BUILD_DIR] [MESSAGES] [TLS_MESSAGES]
set -euo pipefail
cd "$(dirname "$0")/../.."
build=$(cd "${1:-build}" && pwd)
MSGS=${2:-20000}
TLS_MSGS=${3:-2000}
SESSIONS=20
# Parallel connections to the sink: a local smarthost, so more than the
# default 4 (the setting a Gmail or ISP smarthost keeps).
CONNS=${NR_BENCH_CONNECTIONS:-16}
export NR_TEST_TIMEOUT=${NR_TEST_TIMEOUT:-600}
. tests/integration/lib/tlsserver.sh
. tests/integration/lib/dns.sh
bin="$build/nanorelay"
[ -x "$bin" ] || { echo "build first: cmake --build $build" >&2; exit 1; }
for t in smtp-source smtp-sink dumpcap tshark dnsmasq; do
	command -v "$t" >/dev/null || { echo "needs $t" >&2; exit 1; }
done
ca_make_all >/dev/null
dns_start >/dev/null
printf '%s\n' bench-password >"$NR_TMP/pw"
chmod 600 "$NR_TMP/pw"
now() { date +%s.%N; }

# start_relay NAME SMARTHOST-LINE: a nanorelay on RELAY_PORT
start_relay() {
	RELAY_PORT=$(free_port)
	cat >"$NR_TMP/$1.conf" <<CONF
listen 127.0.0.1:$RELAY_PORT tls=none
allow 127.0.0.0/8
queue file:$NR_TMP/$1.queue size=256M
state_dir $NR_TMP/$1.state
smarthost $2
ca_file $CA_CERT
dns_server 127.0.0.1:$DNS_PORT
max_sessions 128
max_sessions_per_client 128
upstream_connections $CONNS
log stderr level=info
CONF
	nr_spawn RELAY_PID "$NR_TMP/$1.log" "$bin" -c "$NR_TMP/$1.conf" --foreground
	wait_port "$RELAY_PORT" 10 || { cat "$NR_TMP/$1.log" >&2; exit 1; }
}
sent_count() { grep -c 'status=sent' "$1" || true; }
# Polled while the run goes on: count only what the log gained since the
# last look, so the poll does not eat the CPU it measures (lines are
# written whole).
sent_seen=0
sent_off=0
sent_ge() {
	local size
	size=$(stat -c %s "$1")
	sent_seen=$((sent_seen + $(tail -c +$((sent_off + 1)) "$1" | head -c $((size - sent_off)) |
		grep -c 'status=sent' || true)))
	sent_off=$size
	[ "$sent_seen" -ge "$2" ]
}

# run NAME UPSTREAM_PORT SMARTHOST-LINE MESSAGES [SMTP-SOURCE FLAGS]:
# prints "msg/s in_msg/s msgs/conn secs conns msg/relay-CPU-s"
run() {
	local name=$1 up=$2 sh=$3 n=$4 flags=${5:-} t0 t1 t2 syns
	start_relay "$name" "$sh"
	nr_spawn CAP_PID "$NR_TMP/$name.dumpcap" dumpcap -q -i lo \
		-f "tcp dst port $up and tcp[tcpflags] & (tcp-syn|tcp-ack) == tcp-syn" -w "$NR_TMP/$name.pcap"
	wait_for 10 "dumpcap" grep -q "Capturing on" "$NR_TMP/$name.dumpcap" >/dev/null
	sent_seen=0
	sent_off=0
	t0=$(now)
	smtp-source $flags -s "$SESSIONS" -m "$n" -l 1024 -f bench@lan -t sink@example.com \
		"127.0.0.1:$RELAY_PORT" >/dev/null
	t1=$(now)
	wait_for 600 "$n delivered" sent_ge "$NR_TMP/$name.log" "$n" >/dev/null ||
		{ echo "# $name: only $(sent_count "$NR_TMP/$name.log") of $n delivered" >&2; }
	t2=$(now)
	sleep 1
	nr_stop_pid "$CAP_PID" 5
	syns=$(tshark -r "$NR_TMP/$name.pcap" 2>/dev/null | wc -l)
	cpu=$(awk -v hz="$(getconf CLK_TCK)" '{printf "%.2f", ($14 + $15) / hz}' "/proc/$RELAY_PID/stat")
	nr_stop_pid "$RELAY_PID" 5
	awk -v n="$n" -v a="$t0" -v b="$t1" -v c="$t2" -v s="$syns" -v cpu="$cpu" \
		'BEGIN {printf "%.0f %.0f %.0f %.1f %d %.0f", n/(c-a), n/(b-a), (s ? n/s : 0), c-a, s, (cpu > 0 ? n/cpu : 0)}'
}

sink_port=$(free_port)
nr_spawn SINKPID "$NR_TMP/sink.log" smtp-sink -u nobody "127.0.0.1:$sink_port" 1000
wait_port "$sink_port" 10
tls_start --tls starttls --kind good --auth-mechs PLAIN --dir "" >/dev/null

# The machine's bound in the same run: the load generator straight into the
# sink, no relay between them. FLAGS: smtp-source's, e.g. -d
direct() {
	local t0
	t0=$(now)
	smtp-source ${1:-} -s "$SESSIONS" -m "$MSGS" -l 1024 -f bench@lan -t sink@example.com \
		"127.0.0.1:$sink_port" >/dev/null
	awk -v n="$MSGS" -v a="$t0" -v b="$(now)" 'BEGIN {printf "%.0f", n/(b-a)}'
}
direct_rate=$(direct)
direct_d_rate=$(direct -d)

read -r p_rate p_in p_per p_secs p_conns p_cpu <<<"$(run plain "$sink_port" \
	"127.0.0.1:$sink_port tls=none insecure=yes" "$MSGS")"
# The same with each inbound session kept open for all its messages
# (smtp-source -d): no TCP handshake and greeting per message inbound.
read -r d_rate d_in d_per d_secs d_conns d_cpu <<<"$(run plain-d "$sink_port" \
	"127.0.0.1:$sink_port tls=none insecure=yes" "$MSGS" -d)"
read -r t_rate t_in t_per t_secs t_conns t_cpu <<<"$(run tls "$TLS_PORT" \
	"smarthost.test:$TLS_PORT tls=starttls user=bench@smarthost.test password_file=$NR_TMP/pw" "$TLS_MSGS")"

f='%-52s %12s %12s %10s %8s %13s %10s\n'
printf "\n$f" "end to end, $SESSIONS sessions, 1 KB messages" \
	"delivered/s" "accepted/s" "msgs/conn" "seconds" "msg/relay-CPU-s" "target"
printf "$f" "plain: smtp-source -> nanorelay -> smtp-sink ($MSGS)" \
	"$p_rate" "$p_in" "$p_per" "$p_secs" "$p_cpu" "(-d)"
printf "$f" "bound: smtp-source -> smtp-sink, no relay ($MSGS)" \
	"$direct_rate" "-" "-" "-" "-" "-"
printf "$f" "plain, one inbound connection per session (-d)" \
	"$d_rate" "$d_in" "$d_per" "$d_secs" "$d_cpu" ">= 4,000"
printf "$f" "bound with -d: smtp-source -> smtp-sink" \
	"$direct_d_rate" "-" "-" "-" "-" "-"
printf "$f" "STARTTLS+AUTH -> python TLS sink ($TLS_MSGS)" \
	"$t_rate" "$t_in" "$t_per" "$t_secs" "$t_cpu" "-"
echo "# the target applies to the -d row: without -d the bound itself is near it (README)"
echo "# msg/relay-CPU-s: messages per second of nanorelay's own CPU time (user+system), the"
echo "# rate it could sustain with a core to itself; delivered/s is shared with the peers here"
echo "# (load average $(cut -d' ' -f1 /proc/loadavg), $(nproc) cores)"
echo "# upstream connections opened: plain $p_conns, plain -d $d_conns, STARTTLS $t_conns" \
	"(upstream_connections $CONNS)"
