#!/usr/bin/env bash
# The service files in configs/ as a supervisor runs them:
#  - configs/nanorelay.init with Debian's start-stop-daemon and with BusyBox's
#    (under BusyBox sh): start, a message accepted, reload, stop, and a bad
#    configuration refused at start;
#  - configs/nanorelay.service: `systemd-analyze verify` accepts it, and the
#    daemon started the way the unit starts it (its CapabilityBoundingSet,
#    NoNewPrivileges) binds port 25, drops to `user` and queues a message,
#    inside a network namespace the test creates.
. "$(dirname "$0")/lib/common.sh"
nr_require swaks start-stop-daemon setpriv
bin="$NR_BUILD/nanorelay"
init="$NR_SRC/configs/nanorelay.init"
unit="$NR_SRC/configs/nanorelay.service"

write_conf() { # file port
	cat >"$1" <<CONF
listen 127.0.0.1:$2 tls=none
allow 127.0.0.0/8
queue file:$NR_TMP/spool/queue size=1M
state_dir $NR_TMP/state
log stderr level=info
CONF
}

# run_init SHELL PATHPREFIX ACTION: the init script as its init system runs it
run_init() {
	PATH="$2:$PATH" NANORELAY_DEFAULTS="$NR_TMP/defaults" $1 "$init" "$3"
}

reload_seen() { # port: EHLO advertises the new max_message_size
	swaks --server "127.0.0.1:$1" --quit-after EHLO 2>&1 | grep -Eq '^<-  250[- ]SIZE 2048$'
}

init_round() { # label shell pathprefix
	local label=$1 sh=$2 pre=$3 port out pid
	port=$(free_port)
	write_conf "$NR_TMP/init.conf" "$port"
	cat >"$NR_TMP/defaults" <<DEF
DAEMON=$bin
CONF=$NR_TMP/init.conf
PIDFILE=$NR_TMP/nanorelay.pid
DEF
	out=$(run_init "$sh" "$pre" start 2>&1)
	expect_eq "$label: start says OK" "Starting nanorelay: OK" "$out"
	wait_port "$port" 10 || fail "$label: nanorelay did not listen"
	pid=$(cat "$NR_TMP/nanorelay.pid")
	nr_on_exit "kill -9 $pid 2>/dev/null"
	expect_eq "$label: the pid file names the daemon" "nanorelay" "$(ps -o comm= -p "$pid")"
	swaks --server "127.0.0.1:$port" --from a@lan --to b@example.com \
		--body "via $label" >"$NR_TMP/swaks.txt" 2>&1
	check "$label: a message is queued" grep -Eq '^<-  250 2.0.0 Ok: queued' "$NR_TMP/swaks.txt"
	echo "max_message_size 2K" >>"$NR_TMP/init.conf"
	out=$(run_init "$sh" "$pre" reload 2>&1)
	expect_eq "$label: reload says OK" "Reloading nanorelay: OK" "$out"
	wait_for 10 "max_message_size 2K in force" reload_seen "$port" ||
		fail "$label: the reloaded configuration (max_message_size 2K) is not in force"
	pass "$label: the reloaded configuration is in force"
	check "$label: the daemon is still the same process" kill -0 "$pid"
	out=$(run_init "$sh" "$pre" stop 2>&1)
	expect_eq "$label: stop says OK" "Stopping nanorelay: OK" "$out"
	wait_for 10 "pid $pid gone" sh -c "! kill -0 $pid" || fail "$label: the daemon did not stop"
	check "$label: the pid file is removed" test ! -e "$NR_TMP/nanorelay.pid"

	echo "no_such_key 1" >>"$NR_TMP/init.conf"
	out=$(run_init "$sh" "$pre" start 2>&1)
	local rc=$?
	expect_eq "$label: a bad configuration fails the start" 1 "$rc"
	expect_match "$label: and says how to see why" "FAIL \(configuration: run .*--check-config\)" "$out"
	check "$label: nothing was started" test ! -e "$NR_TMP/nanorelay.pid"
}

init_round "start-stop-daemon (dpkg)" sh ""
if command -v busybox >/dev/null && busybox start-stop-daemon --help >/dev/null 2>&1; then
	mkdir -p "$NR_TMP/bb"
	ln -s "$(command -v busybox)" "$NR_TMP/bb/start-stop-daemon"
	init_round "BusyBox" "busybox sh" "$NR_TMP/bb"
else
	echo "# busybox with start-stop-daemon not installed: BusyBox round skipped"
fi

# ---- the systemd unit ----------------------------------------------------
if command -v systemd-analyze >/dev/null; then
	sed "s#/usr/sbin/nanorelay#$bin#g" "$unit" >"$NR_TMP/nanorelay.service"
	# Documentation= names our man pages, which verify opens with man(1):
	# let it find them in doc/, as cmake --install lays them out.
	mkdir -p "$NR_TMP/man/man5" "$NR_TMP/man/man8"
	ln -s "$NR_SRC"/doc/*.5 "$NR_TMP/man/man5/"
	ln -s "$NR_SRC"/doc/*.8 "$NR_TMP/man/man8/"
	check "systemd-analyze verify accepts the unit (and finds its man pages)" \
		env MANPATH="$NR_TMP/man" systemd-analyze verify "$NR_TMP/nanorelay.service"
else
	echo "# systemd-analyze not installed: unit verification skipped"
fi
unit_value() { sed -n "s/^$1=//p" "$unit"; }
expect_eq "the unit runs the daemon in the foreground" \
	"/usr/sbin/nanorelay -c /etc/nanorelay.conf --foreground" "$(unit_value ExecStart)"
expect_eq "the unit restarts on failure" "on-failure" "$(unit_value Restart)"
expect_eq "but not after a configuration error (exit 78)" "78" "$(unit_value RestartPreventExitStatus)"

# The unit's capability set, applied with setpriv, must still let the daemon
# bind port 25, open its queue as root and drop to `user`.
caps=$(unit_value CapabilityBoundingSet | tr 'A-Z' 'a-z' | sed 's/cap_/+/g; s/ /,/g')
[ -n "$caps" ] || fail "no CapabilityBoundingSet in the unit"
ns="nrsvc$$"
ip netns add "$ns" 2>/dev/null || nr_skip "cannot create a network namespace"
nr_on_exit "ip netns del $ns"
ip -n "$ns" link set lo up
write_conf "$NR_TMP/unit.conf" 25
echo "user nobody" >>"$NR_TMP/unit.conf"
ip netns exec "$ns" setpriv --bounding-set "-all,$caps" --no-new-privs \
	"$bin" -c "$NR_TMP/unit.conf" --foreground >"$NR_TMP/unit.log" 2>&1 &
upid=$!
nr_on_exit "kill -9 $upid 2>/dev/null"
wait_for 10 "port 25 in the namespace" ip netns exec "$ns" "$NR_PY" -c \
	'import socket; socket.create_connection(("127.0.0.1", 25), 1)' ||
	fail "the daemon did not bind port 25 under the unit's capabilities" "$NR_TMP/unit.log"
check "it dropped to user nobody" test "$(ps -o user= -p "$upid")" = nobody
ip netns exec "$ns" swaks --server 127.0.0.1:25 --from a@lan --to b@example.com \
	--body "under the unit's capabilities" >"$NR_TMP/swaks.txt" 2>&1
check "and queued a message on port 25" grep -Eq '^<-  250 2.0.0 Ok: queued' "$NR_TMP/swaks.txt"
kill -TERM "$upid"
wait_for 10 "daemon stopped" sh -c "! kill -0 $upid" || fail "SIGTERM did not stop it"
nr_done
