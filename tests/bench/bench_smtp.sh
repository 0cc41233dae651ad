#!/usr/bin/env bash
# Inbound SMTP benchmark: Postfix's smtp-source against nanorelay (file
# queue, every 250 after fdatasync with group commit) and against smtp-sink
# (no storage: the upper bound) in the same run, plus peak RSS.
# A benchmark, not a test: it prints a table. Loopback only, bounded.
#   usage: tests/bench/bench_smtp.sh [BUILD_DIR] [STATIC_BUILD_DIR]
#   (defaults: build, and build-compat/nr-musl when tests/compat/musl-static.sh
#   has built it: its memory is measured in a second column)
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build}
bin="$build/nanorelay"
static_bin="${2:-build-compat/nr-musl}/nanorelay"
[ -x "$bin" ] || { echo "build first: cmake --build $build" >&2; exit 1; }
command -v smtp-source >/dev/null || { echo "needs smtp-source (package postfix)" >&2; exit 1; }
tmp=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT
free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done; return 1; }
now() { date +%s.%N; }
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
hwm_kib() { awk '/^VmHWM:/ {print $2}' "/proc/$1/status"; }
# from smaps_rollup: PSS (shared pages divided among the processes mapping
# them) and private pages (mapped by nanorelay alone: its heap, stacks,
# data, and the code pages of libraries no other process uses)
rollup_kib() { awk -v k="$2" '$1 == k":" {s += $2} END {print s + 0}' "/proc/$1/smaps_rollup"; }
private_kib() { echo $(($(rollup_kib "$1" Private_Clean) + $(rollup_kib "$1" Private_Dirty))); }

sink_port=$(free_port)
smtp-sink -u nobody -c "127.0.0.1:$sink_port" 1000 >/dev/null 2>&1 &
pids+=($!)

start_relay() { # binary name: sets relay, relay_port, tls_port
	relay_port=$(free_port)
	tls_port=$(free_port)
	cat >"$tmp/$2.conf" <<CONF
listen 127.0.0.1:$relay_port
listen 127.0.0.1:$tls_port tls=implicit
allow 127.0.0.0/8
queue file:$tmp/$2.queue size=512M
state_dir $tmp/$2.state
max_message_size 1M
max_sessions 128
max_sessions_per_client 128
log stderr level=warn
CONF
	"$1" -c "$tmp/$2.conf" --foreground 2>"$tmp/$2.log" &
	relay=$!
	pids+=($relay)
	wait_port "$relay_port"
}
idle_of() { # pid: "rss pss private private-dirty libc", in KiB
	echo "$(rss_kib "$1") $(rollup_kib "$1" Pss) $(private_kib "$1") $(rollup_kib "$1" Private_Dirty)" \
		"$(awk '/libc\.so/ {f=1; next} /^[0-9a-f]+-/ {f=0} f && /^Rss:/ {s += $2} END {print s + 0}' "/proc/$1/smaps")"
}

wait_port "$sink_port"
start_relay "$bin" glibc
read -r idle_kib idle_pss idle_priv idle_dirty idle_libc <<<"$(idle_of "$relay")"

# 100 concurrent plain sessions, then 20 TLS sessions, held open mid-transaction,
# measured on the fresh relay (as for the static build below): after the
# throughput runs its index holds 44,000 queued messages, 96 bytes each
cat >"$tmp/hold.py" <<'PY'
import socket, ssl, sys, time
port, n, tls = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3] == "1"
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
socks = []
for _ in range(n):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    if tls:
        s = ctx.wrap_socket(s)
    f = s.makefile("rb")
    f.readline()
    s.sendall(b"EHLO bench\r\nMAIL FROM:<a@lan>\r\n")
    while not f.readline().startswith(b"250 "):
        pass
    f.readline()
    socks.append((s, f))
time.sleep(3)
PY
rss_after_hold() { # port count tls: peak RSS while the sessions are open
	local peak=0 r
	/usr/bin/python3 "$tmp/hold.py" "$1" "$2" "$3" >/dev/null 2>&1 &
	local h=$!
	for _ in $(seq 1 30); do
		r=$(rss_kib "$relay")
		[ "$r" -gt "$peak" ] && peak=$r
		sleep 0.1
	done
	wait "$h" || true
	echo "$peak"
}
stripped_kib() { strip -o "$tmp/nr.stripped" "$1" && size "$tmp/nr.stripped" | awk 'NR==2 {printf "%d", ($1+$2)/1024}'; }
plain_kib=$(rss_after_hold "$relay_port" 100 0)
tls_kib=$(rss_after_hold "$tls_port" 20 1)

# one smtp-source run: rate in msg/s and MB/s
run() { # port sessions messages length [smtp-source flags]
	local t0 t1
	t0=$(now)
	smtp-source ${5:-} -s "$2" -m "$3" -l "$4" -f bench@lan -t sink@example.com "127.0.0.1:$1" >/dev/null
	t1=$(now)
	echo "$t0 $t1 $3 $4" | awk '{d=$2-$1; printf "%.0f %.1f", $3/d, $3*$4/d/1e6}'
}

printf '%-44s %12s %12s %8s %14s\n' "workload (smtp-source)" "nanorelay" "smtp-sink" "ratio" "target"
echo "a new connection per message (smtp-source's default):"
row() { # label sessions messages length target unit(msg|mb) [smtp-source flags]
	local r s rv sv
	r=$(run "$relay_port" "$2" "$3" "$4" "${7:-}")
	s=$(run "$sink_port" "$2" "$3" "$4" "${7:-}")
	if [ "$6" = mb ]; then rv=${r#* }; sv=${s#* }; else rv=${r% *}; sv=${s% *}; fi
	printf '%-44s %12s %12s %8s %14s\n' "$1" "$rv" "$sv" \
		"$(awk -v a="$rv" -v b="$sv" 'BEGIN {printf "%.2f", a/b}')" "$5"
}
row "1 session, 1000 x 1 KB (msg/s)" 1 1000 1024 "(-d)" msg
row "20 sessions, 20000 x 1 KB (msg/s)" 20 20000 1024 "(-d)" msg
row "20 sessions, 2000 x 100 KB (MB/s)" 20 2000 102400 "(-d)" mb
# The same loads with each session kept open for all its messages
# (smtp-source -d), as a scanner sending a batch or a script's loop does:
# no TCP handshake and greeting per message, so the sync and the protocol
# dominate. smtp-sink's 20-session figure here is the one that compares
# with the issue's ~13,000 (the default mode gives 3,400-6,500 here).
# The targets are read in this mode: only here is smtp-sink itself above
# each of them on 2 shared cores (README, "LAN side").
echo "one connection per session (smtp-source -d; the targets apply here):"
row "1 session, 1000 x 1 KB (msg/s)" 1 1000 1024 ">= 1,500" msg -d
row "20 sessions, 20000 x 1 KB (msg/s)" 20 20000 1024 ">= 5,000" msg -d
row "20 sessions, 2000 x 100 KB (MB/s)" 20 2000 102400 ">= 150" mb -d

hwm=$(hwm_kib "$relay")
size_kib=$(stripped_kib "$bin")

# The same memory rows for the static musl build (configs/busybox_defconfig),
# which is what a router or NAS firmware ships.
s_idle=- s_pss=- s_priv=- s_dirty=- s_libc=- s_plain=- s_tls=- s_size=-
if [ -x "$static_bin" ]; then
	start_relay "$static_bin" musl
	read -r s_idle s_pss s_priv s_dirty s_libc <<<"$(idle_of "$relay")"
	s_plain=$(rss_after_hold "$relay_port" 100 0)
	s_tls=$(rss_after_hold "$tls_port" 20 1)
	s_size=$(stripped_kib "$static_bin")
fi

echo
m='%-44s %14s %16s %12s\n'
printf "$m" "memory (nanorelay RSS, KiB)" "glibc, shared" "musl, static" "target"
printf "$m" "idle" "$idle_kib" "$s_idle" "<= 2 MiB"
printf "$m" "  of which libc pages (shared)" "$idle_libc" "$s_libc" ""
printf "$m" "  idle PSS" "$idle_pss" "$s_pss" ""
printf "$m" "  idle private (clean + dirty)" "$idle_priv" "$s_priv" ""
printf "$m" "  idle private dirty (heap, data, stack)" "$idle_dirty" "$s_dirty" ""
printf "$m" "100 concurrent plain sessions" "$plain_kib" "$s_plain" "<= 8 MiB"
printf "$m" "20 concurrent TLS sessions" "$tls_kib" "$s_tls" "<= 8 MiB"
printf "$m" "glibc peak, 44,000 messages queued (VmHWM)" "$hwm" "" ""
printf "$m" "binary size (stripped text+data, KiB)" "$size_kib" "$s_size" ""
[ -x "$static_bin" ] || echo "# no $static_bin: tests/compat/musl-static.sh builds it"
