#!/usr/bin/env bash
# The process: command line, exit codes, config errors, start log, SIGHUP
# reload (a bad file is refused and the old configuration kept), SIGTERM.
set -uo pipefail
bin="${NR_BUILD:?}/nanorelay"
tmp=$(mktemp -d)
pid=""
cleanup() {
	[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
failures=0
check() { # description, condition...
	local what=$1
	shift
	if "$@"; then
		echo "ok   $what"
	else
		echo "FAIL $what"
		failures=$((failures + 1))
	fi
}
free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_log() { # pattern: wait up to 10 s for it in the log
	local i
	for i in $(seq 1 100); do
		grep -q -- "$1" "$tmp/log" && return 0
		sleep 0.1
	done
	return 1
}

wait_until() { # shell condition: wait up to 10 s for it to hold
	local i
	for i in $(seq 1 100); do
		eval "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

wait_file() { # path: wait up to 10 s for it to exist
	local i
	for i in $(seq 1 100); do
		[ -e "$1" ] && return 0
		sleep 0.1
	done
	return 1
}

port=$(free_port)
write_conf() {
	cat >"$tmp/nanorelay.conf" <<EOF
listen      127.0.0.1:$port
allow       127.0.0.0/8
hostname    test.lan
queue       file:$tmp/queue size=1M
state_dir   $tmp/state
log         stderr level=${1:-info}
EOF
}
write_conf

# --version, --help, unknown options (64), unknown commands (64)
out=$("$bin" --version)
check "--version prints the version" grep -q '^nanorelay [0-9]' <<<"$out"
check "--version lists features" grep -q '^features: .*store-file' <<<"$out"
check "--version names the TLS and DNS libraries" grep -Eq '^libraries: [Mm]bed TLS [0-9.]+, (c-ares [0-9.]+|nanorelay stub resolver)$' <<<"$out"
"$bin" --help >"$tmp/help"
check "--help exits 0 with usage" grep -q '^usage: nanorelay' "$tmp/help"
"$bin" --bogus 2>"$tmp/err"
check "unknown option exits 64" test $? -eq 64
check "unknown option prints usage" grep -q '^usage:' "$tmp/err"
"$bin" -c "$tmp/nanorelay.conf" frobnicate 2>"$tmp/err"
check "unknown command exits 64" test $? -eq 64

# configuration errors: FILE:LINE: message, exit 78
printf 'listen 127.0.0.1:%s\nmax_message_size 25Q\n' "$port" >"$tmp/bad.conf"
"$bin" -c "$tmp/bad.conf" --check-config 2>"$tmp/err"
check "bad config exits 78" test $? -eq 78
check "bad config names file and line" grep -q "$tmp/bad.conf:2: " "$tmp/err"
"$bin" -c "$tmp/missing.conf" --check-config 2>"$tmp/err"
check "missing config exits 78" test $? -eq 78
check "missing config says it cannot be read" grep -q "missing.conf" "$tmp/err"
"$bin" -c "$tmp/nanorelay.conf" --check-config >"$tmp/out"
check "good config passes --check-config" test $? -eq 0
# the example every user starts from (every setting, most commented out);
# it drops to the dedicated user `nanorelay`, which a packaged install
# creates: where that user does not exist the check says so, exactly, and
# the file with an existing user passes
if id nanorelay >/dev/null 2>&1; then
	"$bin" -c "$NR_SRC/configs/nanorelay.conf" --check-config >"$tmp/out" 2>&1
	check "configs/nanorelay.conf passes --check-config" test $? -eq 0
else
	"$bin" -c "$NR_SRC/configs/nanorelay.conf" --check-config >"$tmp/out" 2>&1
	check "configs/nanorelay.conf without user nanorelay: exit 78" test $? -eq 78
	line=$(grep -n '^user ' "$NR_SRC/configs/nanorelay.conf" | cut -d: -f1)
	check "and the error line names the missing user and how to create it" test "$(grep -v "warning:" "$tmp/out")" = \
		"nanorelay: $NR_SRC/configs/nanorelay.conf:$line: user: no such user \"nanorelay\"; create it (useradd --system --home-dir /nonexistent --shell /usr/sbin/nologin nanorelay) or name an existing one"
	sed 's/^user .*/user nobody/' "$NR_SRC/configs/nanorelay.conf" >"$tmp/example.conf"
	"$bin" -c "$tmp/example.conf" --check-config >"$tmp/out" 2>&1
	check "configs/nanorelay.conf with an existing user passes --check-config" test $? -eq 0
fi

# start, log what it listens on
"$bin" -c "$tmp/nanorelay.conf" --foreground 2>"$tmp/log" &
pid=$!
check "start is logged with version" wait_log "nanorelay .* starting"
check "listener is logged" wait_log "listening on 127.0.0.1:$port"
check "the listener accepts connections" /usr/bin/python3 -c "
import socket; s=socket.create_connection(('127.0.0.1',$port),timeout=5); print(s.recv(100))"

# the first run: one line says how to send a test message and where it goes,
# and the command it names works as printed
hint="to send a test message: printf 'Subject: test\\n\\nhello\\n' | $bin -c $tmp/nanorelay.conf sendmail you@example.com, or SMTP to 127.0.0.1:$port; mail goes nowhere: no smarthost configured, it stays queued"
check "the start-up line says how to send a test message and that mail goes nowhere" \
	grep -qF -- "$hint" "$tmp/log"
try=$(sed -n "s/.*to send a test message: \(.*\), or SMTP to .*/\1/p" "$tmp/log" | head -1)
check "the command it names is the one printed" test "$try" = "printf 'Subject: test\\n\\nhello\\n' | $bin -c $tmp/nanorelay.conf sendmail you@example.com"
bash -c "$try" 2>"$tmp/err"
check "that command submits a message (exit 0)" test $? -eq 0
check "the message is queued (mailq after the subcommand, -c after it too)" \
	wait_until "\"$bin\" mailq -c \"$tmp/nanorelay.conf\" | grep -q you@example.com"

# -c after the subcommand, --help after every subcommand
out=$("$bin" status -c "$tmp/nanorelay.conf" 2>&1)
check "status -c FILE reaches the daemon named by FILE" grep -q "127.0.0.1:$port" <<<"$out"
"$bin" status -c 2>"$tmp/err"
check "status -c without a file exits 64" test $? -eq 64
for cmd in passwd test-upstream status mailq flush delete send-test sendmail; do
	out=$("$bin" -c "$tmp/missing.conf" $cmd --help)
	check "$cmd --help exits 0" test $? -eq 0
	check "$cmd --help prints its usage" grep -q "^usage: nanorelay \[-c FILE\] $cmd" <<<"$out"
done
out=$("$bin" mailq -c "$tmp/missing.conf" --help)
check "mailq -c FILE --help: --help wins over an unreadable FILE" grep -q "^usage: nanorelay \[-c FILE\] mailq$" <<<"$out"

# SIGHUP with a broken file: refused, still running
printf 'listen nowhere\n' >"$tmp/nanorelay.conf"
kill -HUP "$pid"
check "bad reload is refused" wait_log "reload refused"
check "daemon survives a bad reload" kill -0 "$pid"
check "old listener still serves" /usr/bin/python3 -c "
import socket; s=socket.create_connection(('127.0.0.1',$port),timeout=5)"
# a session open across a good reload keeps working
write_conf debug
/usr/bin/python3 "$(dirname "$0")/lib/session_across_reload.py" "$port" "$tmp/in-session" "$tmp/reloaded" \
	>"$tmp/survivor.out" 2>&1 &
survivor=$!
check "session is open before the reload" wait_file "$tmp/in-session"
kill -HUP "$pid"
check "good reload is applied" wait_log "configuration reloaded"
: >"$tmp/reloaded"
wait "$survivor"
check "an open session survives the reload" test $? -eq 0

# reloaded values are in force, reload after reload (two configuration slots)
ehlo_size() {
	/usr/bin/python3 -c "
import smtplib; s=smtplib.SMTP('127.0.0.1',$port,timeout=5); s.ehlo(); print(s.esmtp_features['size']); s.quit()"
}
for size in 2048 3072 4096; do
	write_conf debug
	echo "max_message_size $size" >>"$tmp/nanorelay.conf"
	kill -HUP "$pid"
	check "reload to max_message_size $size: EHLO says SIZE $size" \
		wait_until "[ \"\$(ehlo_size)\" = $size ]"
done
# what a reload cannot apply is said, not silently ignored
write_conf debug
printf 'dns_server 127.0.0.1:5353\n' >>"$tmp/nanorelay.conf"
kill -HUP "$pid"
check "reload: a dns_server change waits for a restart, and the log says so" \
	wait_log "reload: dns_server changes take effect at the next restart"
write_conf debug
kill -HUP "$pid"
check "after the reloads the greeting still names hostname test.lan" /usr/bin/python3 -c "
import socket; s=socket.create_connection(('127.0.0.1',$port),timeout=5)
assert s.recv(200).startswith(b'220 test.lan ')"

# SIGTERM: graceful stop, exit 0
kill -TERM "$pid"
wait "$pid"
rc=$?
pid=""
check "SIGTERM exits 0" test "$rc" -eq 0
check "stop is logged" grep -q "stopped" "$tmp/log"

# without --foreground: the log on stderr would be lost, so no detach
"$bin" -c "$tmp/nanorelay.conf" >"$tmp/out" 2>"$tmp/err"
check "no --foreground with log stderr exits 64" test $? -eq 64
check "and says why and what to do" grep -q "will not detach: the log goes to stderr.*run with --foreground, or set .log syslog." "$tmp/err"
check "and leaves no daemon behind" test -z "$(pgrep -f -- "-c $tmp/nanorelay.conf" || true)"
# with syslog: detaches and prints the daemon's pid
sed -i "s/^log .*/log syslog level=info/" "$tmp/nanorelay.conf"
timeout 10 "$bin" -c "$tmp/nanorelay.conf" >"$tmp/out" 2>"$tmp/err"
check "a detached start exits 0" test $? -eq 0
bgpid=$(sed -n 's/^nanorelay: running in the background, pid \([0-9]*\)$/\1/p' "$tmp/out")
check "it prints the daemon's pid" test -n "$bgpid"
check "that pid is the running daemon" grep -q nanorelay "/proc/${bgpid:-0}/cmdline"
out=$("$bin" status -c "$tmp/nanorelay.conf" 2>&1)
check "the detached daemon answers status" grep -q "127.0.0.1:$port" <<<"$out"
[ -n "$bgpid" ] && kill -TERM "$bgpid"
check "the detached daemon stops on SIGTERM" wait_until "! kill -0 ${bgpid:-0}"
# log syslog in the foreground on a terminal: the line is shown there too
if command -v script >/dev/null; then
	# SHELL=/bin/sh: dash forks the daemon, so the SIGHUP comes when dash
	# (the session leader) ends, not from script's SIGTERM to its child
	SHELL=/bin/sh timeout 5 script -qec "$bin -c $tmp/nanorelay.conf --foreground" /dev/null >"$tmp/tty" 2>&1
	check "on a terminal the start-up line is shown with log syslog" \
		grep -qF "nanorelay: to send a test message:" "$tmp/tty"
	check "the daemon on the terminal is gone with it" \
		wait_until "[ -z \"\$(pgrep -f -- '-c $tmp/nanorelay.conf --foreground')\" ]"
fi
# a smarthost: the line names it
sed -i "s/^log .*/log stderr level=info/" "$tmp/nanorelay.conf"
echo "smarthost 127.0.0.1:9 tls=none insecure=yes" >>"$tmp/nanorelay.conf"
timeout 2 "$bin" -c "$tmp/nanorelay.conf" --foreground 2>"$tmp/log2"
check "with a smarthost the start-up line says mail goes there" \
	grep -q "to send a test message: .*; mail goes to the smarthost 127.0.0.1:9$" "$tmp/log2"
write_conf

# privilege drop after binding (needs root to start with)
if [ "$(id -u)" -eq 0 ] && id nobody >/dev/null 2>&1; then
	port2=$(free_port)
	mkdir -p "$tmp/q2" && chmod 0777 "$tmp" "$tmp/q2"
	cat >"$tmp/drop.conf" <<EOF
listen      127.0.0.1:$port2
queue       file:$tmp/q2/queue size=1M
state_dir   $tmp/state2
log         stderr level=info
user        nobody
EOF
	: >"$tmp/log"
	"$bin" -c "$tmp/drop.conf" --foreground 2>"$tmp/log" &
	pid=$!
	check "drop: the listener is up" wait_log "listening on 127.0.0.1:$port2"
	nobody=$(id -u nobody)
	uid=$(awk '/^Uid:/ {print $2 $3 $4 $5}' "/proc/$pid/status")
	check "drop: runs as nobody (real, effective, saved, fs uid)" test "$uid" = "$nobody$nobody$nobody$nobody"
	check "drop: state_dir stays root's (issue 21: nobody may not replace its sockets)" test "$(stat -c %U "$tmp/state2")" = root
	check "drop: still serves after dropping" /usr/bin/python3 -c "
import socket; s=socket.create_connection(('127.0.0.1',$port2),timeout=5); print(s.recv(100))"
	kill -TERM "$pid"
	wait "$pid"
	pid=""
fi

echo "test_process: $failures failure(s)"
[ "$failures" -eq 0 ]
