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
# Then the rows of issue 22 (throughput), all without -d, each beside the
# bound smtp-source -> smtp-sink measured in the same run: 1 session x 1,000
# x 1 KB, 20 sessions x MESSAGES x 1 KB (the plain run above), 20 sessions x
# LARGE x 100 KB; relay CPU per message and per MB, peak RSS (VmHWM), and the
# system calls per relayed message: strace -c -f on the relay (both sides
# and the queue) during a short 20-session run of STRACE_MSGS messages.
# NR_BENCH_ONLY=throughput runs only these rows (no -d, no STARTTLS).
#   usage: tests/bench/bench_e2e.sh [BUILD_DIR] [MESSAGES] [TLS_MESSAGES] [LARGE] [STRACE_MSGS]
set -euo pipefail
cd "$(dirname "$0")/../.."
build=$(cd "${1:-build}" && pwd)
MSGS=${2:-20000}
TLS_MSGS=${3:-2000}
LARGE_MSGS=${4:-2000}
STRACE_MSGS=${5:-1000}
ONE_MSGS=1000
SESSIONS=20
ONLY=${NR_BENCH_ONLY:-all}
# Parallel connections to the sink: a local smarthost, so more than the
# default 4 (the setting a Gmail or ISP smarthost keeps).
CONNS=${NR_BENCH_CONNECTIONS:-16}
export NR_TEST_TIMEOUT=${NR_TEST_TIMEOUT:-600}
. tests/integration/lib/tlsserver.sh
. tests/integration/lib/dns.sh
bin="$build/nanorelay"
[ -x "$bin" ] || { echo "build first: cmake --build $build" >&2; exit 1; }
for t in smtp-source smtp-sink dumpcap tshark dnsmasq strace; do
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
queue file:$NR_TMP/$1.queue size=${QUEUE_SIZE:-256M}
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

# cpu_s PID: the process's CPU time so far (user+system), in seconds; the
# runs count from the first message, not the start-up (the queue's scan)
cpu_s() { awk -v hz="$(getconf CLK_TCK)" '{printf "%.2f", ($14 + $15) / hz}' "/proc/$1/stat"; }
# run NAME UPSTREAM_PORT SMARTHOST-LINE MESSAGES [SMTP-SOURCE FLAGS]
#     [SESSIONS] [BYTES]:
# prints "msg/s in_msg/s msgs/conn secs conns msg/relay-CPU-s cpu-s hwm-KiB"
run() {
	local name=$1 up=$2 sh=$3 n=$4 flags=${5:-} sess=${6:-$SESSIONS} len=${7:-1024} t0 t1 t2 syns hwm
	start_relay "$name" "$sh"
	nr_spawn CAP_PID "$NR_TMP/$name.dumpcap" dumpcap -q -i lo \
		-f "tcp dst port $up and tcp[tcpflags] & (tcp-syn|tcp-ack) == tcp-syn" -w "$NR_TMP/$name.pcap"
	wait_for 10 "dumpcap" grep -q "Capturing on" "$NR_TMP/$name.dumpcap" >/dev/null
	sent_seen=0
	sent_off=0
	cpu0=$(cpu_s "$RELAY_PID")
	t0=$(now)
	smtp-source $flags -s "$sess" -m "$n" -l "$len" -f bench@lan -t sink@example.com \
		"127.0.0.1:$RELAY_PORT" >/dev/null
	t1=$(now)
	wait_for 600 "$n delivered" sent_ge "$NR_TMP/$name.log" "$n" >/dev/null ||
		{ echo "# $name: only $(sent_count "$NR_TMP/$name.log") of $n delivered" >&2; }
	# the end is the last delivery's own log time (ms), not when the
	# poll above saw it: a 1,000-message run lasts well under a second
	t2=$(date -d "$(grep 'status=sent' "$NR_TMP/$name.log" | tail -n 1 | cut -d' ' -f1)" +%s.%N 2>/dev/null) ||
		t2=$(now)
	sleep 1
	nr_stop_pid "$CAP_PID" 5
	syns=$(tshark -r "$NR_TMP/$name.pcap" 2>/dev/null | wc -l)
	cpu=$(awk -v a="$cpu0" -v b="$(cpu_s "$RELAY_PID")" 'BEGIN {printf "%.2f", b - a}')
	hwm=$(awk '/^VmHWM:/ {print $2}' "/proc/$RELAY_PID/status")
	nr_stop_pid "$RELAY_PID" 5
	awk -v n="$n" -v a="$t0" -v b="$t1" -v c="$t2" -v s="$syns" -v cpu="$cpu" -v hwm="$hwm" \
		'BEGIN {printf "%.0f %.0f %.0f %.1f %d %.0f %s %s", n/(c-a), n/(b-a), (s ? n/s : 0), c-a, s,
			(cpu > 0 ? n/cpu : 0), cpu, hwm}'
}

sink_port=$(free_port)
nr_spawn SINKPID "$NR_TMP/sink.log" smtp-sink -u nobody "127.0.0.1:$sink_port" 1000
wait_port "$sink_port" 10
tls_start --tls starttls --kind good --auth-mechs PLAIN --dir "" >/dev/null

# The machine's bound in the same run: the load generator straight into the
# sink, no relay between them. direct [FLAGS] [SESSIONS] [MESSAGES] [BYTES]
# (FLAGS: smtp-source's, e.g. -d) prints messages per second.
direct() {
	local t0 n=${3:-$MSGS}
	t0=$(now)
	smtp-source ${1:-} -s "${2:-$SESSIONS}" -m "$n" -l "${4:-1024}" -f bench@lan -t sink@example.com \
		"127.0.0.1:$sink_port" >/dev/null
	awk -v n="$n" -v a="$t0" -v b="$(now)" 'BEGIN {printf "%.0f", n/(b-a)}'
}
direct_rate=$(direct)
[ "$ONLY" = throughput ] || direct_d_rate=$(direct -d)

sink_line="127.0.0.1:$sink_port tls=none insecure=yes"
read -r p_rate p_in p_per p_secs p_conns p_cpu p_cpus p_hwm <<<"$(run plain "$sink_port" "$sink_line" "$MSGS")"
if [ "$ONLY" != throughput ]; then
	# The same with each inbound session kept open for all its messages
	# (smtp-source -d): no TCP handshake and greeting per message inbound.
	read -r d_rate d_in d_per d_secs d_conns d_cpu _ <<<"$(run plain-d "$sink_port" "$sink_line" "$MSGS" -d)"
	read -r t_rate t_in t_per t_secs t_conns t_cpu _ <<<"$(run tls "$TLS_PORT" \
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
	echo "# upstream connections opened: plain $p_conns, plain -d $d_conns, STARTTLS $t_conns" \
		"(upstream_connections $CONNS)"
fi

# Issue 22's rows: no -d (a new inbound connection per message), each
# beside its bound measured just before it.
one_bound=$(direct "" 1 "$ONE_MSGS")
read -r o_rate _ _ _ _ _ o_cpus o_hwm <<<"$(run one "$sink_port" "$sink_line" "$ONE_MSGS" "" 1)"
LARGE=102400
large_bound=$(direct "" "$SESSIONS" "$LARGE_MSGS" "$LARGE")
read -r l_rate _ _ _ _ _ l_cpus l_hwm <<<"$(QUEUE_SIZE=512M run large "$sink_port" "$sink_line" \
	"$LARGE_MSGS" "" "$SESSIONS" "$LARGE")"

# System calls per relayed message: strace -c -f attached to a running
# relay (after its start-up scan of the queue) for a short run; strace slows
# it, the counts, not the times, are the figure.
start_relay strace "$sink_line"
nr_spawn STRACE_PID "$NR_TMP/strace.out" strace -c -f -p "$RELAY_PID" -o "$NR_TMP/strace.txt"
wait_for 10 "strace attached" grep -q "Process $RELAY_PID attached" "$NR_TMP/strace.out" >/dev/null
sent_seen=0
sent_off=0
smtp-source -s "$SESSIONS" -m "$STRACE_MSGS" -l 1024 -f bench@lan -t sink@example.com \
	"127.0.0.1:$RELAY_PORT" >/dev/null
wait_for 300 "$STRACE_MSGS delivered" sent_ge "$NR_TMP/strace.log" "$STRACE_MSGS" >/dev/null ||
	echo "# strace run: only $(sent_count "$NR_TMP/strace.log") of $STRACE_MSGS delivered" >&2
# strace detaches on TERM, writes its summary and dies of the signal
kill -TERM "$STRACE_PID"
wait "$STRACE_PID" || true
nr_stop_pid "$RELAY_PID" 5
cp "$NR_TMP/strace.txt" "${NR_BENCH_STRACE_OUT:-/dev/null}" 2>/dev/null || true
sys_total=$(awk '$NF == "total" {print $(NF - 2)}' "$NR_TMP/strace.txt")
sys_top=$(awk -v n="$STRACE_MSGS" '$NF != "total" && $NF ~ /^[a-z_0-9]+$/ && $4 ~ /^[0-9]+$/ {
	printf "%s %.1f\n", $NF, $4 / n }' "$NR_TMP/strace.txt" | sort -k2,2 -rn | head -8 |
	awk '{printf "%s%s %s", (NR > 1 ? ", " : ""), $2, $1}')

g='%-50s %11s %11s %6s %10s %9s %9s\n'
printf "\n$g" "issue 22: end to end, no -d (a connection per message)" \
	"bound" "nanorelay" "ratio" "CPU/msg" "CPU/MB" "peak RSS"
row() { # LABEL BOUND RATE UNIT CPU-S MESSAGES BYTES HWM-KIB
	awk -v l="$1" -v b="$2" -v r="$3" -v u="$4" -v c="$5" -v n="$6" -v sz="$7" -v h="$8" -v f="$g" \
		'BEGIN {k = (u == "MB/s" ? sz / 1e6 : 1)
		printf f, l, sprintf("%.0f %s", b * k, u), sprintf("%.0f %s", r * k, u), sprintf("%.2fx", r / b),
			sprintf("%.0f us", c / n * 1e6), sprintf("%.1f ms", c / (n * sz / 1e6) * 1e3),
			sprintf("%.1f MiB", h / 1024)}'
}
row "1 session, $ONE_MSGS x 1 KB" "$one_bound" "$o_rate" msg/s "$o_cpus" "$ONE_MSGS" 1024 "$o_hwm"
row "$SESSIONS sessions, $MSGS x 1 KB" "$direct_rate" "$p_rate" msg/s "$p_cpus" "$MSGS" 1024 "$p_hwm"
row "$SESSIONS sessions, $LARGE_MSGS x 100 KB" "$large_bound" "$l_rate" MB/s "$l_cpus" "$LARGE_MSGS" \
	"$LARGE" "$l_hwm"
awk -v t="$sys_total" -v n="$STRACE_MSGS" -v s="$SESSIONS" 'BEGIN {
	printf "# system calls per relayed 1 KB message (strace -c -f, %d x 1 KB, %d sessions): %.1f\n", n, s, t / n}'
echo "#   per message: $sys_top"
echo "# targets: 1 KB >= 0.85x, 100 KB >= 0.7x, <= 15 calls and < 60 us CPU per 1 KB message"
echo "# (load average $(cut -d' ' -f1 /proc/loadavg), $(nproc) cores)"
