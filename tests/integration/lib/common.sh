# shellcheck shell=bash
# nanorelay integration harness: common helpers.
#
#   source "$(dirname "$0")/lib/common.sh"      # also done by every other lib/*.sh
#
# On source it creates the per-test temp dir, installs the cleanup trap and a
# watchdog. Exports:
#   NR_LIB         this directory (lib/)
#   NR_TMP         per-test temp dir (mode 0755 so daemons that drop to the
#                  postfix/nobody user can reach their files); removed at exit
#                  unless NR_KEEP=1 (then its path is printed)
#   NR_PY          /usr/bin/python3 (Debian's; the pyenv python3 on PATH lacks
#                  Debian modules)
#   NR_HAVE_IPV6   1 if ::1 can be bound, else 0
#   NR_TEST        test name (basename of $0 without extension)
# Knobs (environment):
#   NR_KEEP=1            keep NR_TMP after the test
#   NR_TEST_TIMEOUT=S    watchdog: SIGTERM the test after S seconds (default 300)
#   NR_VERBOSE=1         show the output of commands run by `check`
#
# Functions:
#   nr_on_exit CMD...            run CMD at exit (LIFO, even on failure/signal)
#   nr_free_ports N [tcp|udp|both]  print N reserved free loopback ports
#   free_port [tcp|udp|both]     print one
#   wait_for SECS DESC CMD...    poll CMD (every 50-200 ms) until it succeeds;
#                                returns 1 after SECS with a message on stderr
#   wait_port PORT [SECS] [HOST] wait until a TCP connect to HOST:PORT works
#   nr_listening PORT...         true if each PORT has a loopback TCP listener
#                                (from /proc/net/tcp*, without connecting)
#   nr_spawn VAR LOG CMD...      start CMD in the background (stdin </dev/null,
#                                stdout+stderr >LOG, own process group), store
#                                its pid in VAR, stop it at exit
#   nr_stop_pid PID [SECS]       SIGTERM, wait up to SECS (default 5), SIGKILL
#   pass MSG                     print "ok N - MSG"
#   fail MSG [FILE...]           print "not ok - MSG", where it failed, the tail
#                                of each FILE and of each nr_spawn LOG, then exit 1
#   check DESC CMD...            run CMD: pass DESC or fail DESC with its output
#   check_not DESC CMD...        CMD must fail
#   expect_eq DESC WANT GOT      string equality
#   expect_match DESC ERE TEXT   TEXT matches the extended regex ERE
#   nr_skip MSG                  exit 77 (CTest: skipped)
#   nr_require CMD...            skip unless every CMD is on PATH
#   nr_done                      print the summary (call at the end of a test)
#   nr_with_system_user NAME CMD...  run the program CMD where user NAME exists:
#                                as it is when NAME does, else (root) in a
#                                private mount namespace whose /etc/passwd and
#                                /etc/group add it (shipped configurations
#                                drop to `nanorelay`, which packages create)

if [ -n "${NR_COMMON_LOADED:-}" ]; then return 0; fi
NR_COMMON_LOADED=1

NR_LIB=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=system_user.sh
. "$NR_LIB/system_user.sh"
NR_PY=/usr/bin/python3
NR_TEST=$(basename "${0%.*}")
NR_PORT_DIR=${NR_PORT_DIR:-/tmp/nanorelay-test-ports}
export NR_LIB NR_PY NR_TEST NR_PORT_DIR
export PATH="$PATH:/usr/sbin:/sbin"

NR_PASS_COUNT=0
NR_EXIT_HOOKS=()
NR_FAIL_LOGS=() # every nr_spawn log: fail() shows their last lines too
NR_MAIN_PID=$$

nr_on_exit() { NR_EXIT_HOOKS+=("$*"); }

nr__cleanup() {
	local rc=$? i
	trap - EXIT INT TERM HUP
	set +e
	for ((i = ${#NR_EXIT_HOOKS[@]} - 1; i >= 0; i--)); do
		eval "${NR_EXIT_HOOKS[$i]}" >/dev/null 2>&1
	done
	# release our port reservations
	if [ -d "$NR_PORT_DIR" ]; then
		local d
		for d in "$NR_PORT_DIR"/*/; do
			[ -f "${d}owner" ] || continue
			[ "$(cat "${d}owner" 2>/dev/null)" = "$NR_MAIN_PID" ] && rm -rf "$d"
		done
	fi
	if [ "${NR_KEEP:-0}" = 1 ]; then
		echo "# NR_KEEP=1: state kept in $NR_TMP" >&2
	else
		rm -rf "$NR_TMP"
	fi
	exit "$rc"
}

NR_TMP=$(mktemp -d "/tmp/nr-${NR_TEST}.XXXXXX")
chmod 0755 "$NR_TMP"
export NR_TMP
trap nr__cleanup EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

if "$NR_PY" -c 'import socket; s=socket.socket(socket.AF_INET6); s.bind(("::1",0))' 2>/dev/null; then
	NR_HAVE_IPV6=1
else
	NR_HAVE_IPV6=0
fi
export NR_HAVE_IPV6

# Watchdog: bounded test time even if something hangs. stdout is detached so
# ctest never waits on it; it is killed (with its sleep) at exit.
(
	trap 'kill "$sp" 2>/dev/null; exit 0' TERM
	sleep "${NR_TEST_TIMEOUT:-300}" &
	sp=$!
	wait "$sp"
	echo "# watchdog: $NR_TEST exceeded ${NR_TEST_TIMEOUT:-300}s, terminating" >&2
	# bash runs its TERM trap only once the current foreground command ends:
	# stop the test's other direct children first, then the test itself
	for c in $(ps -o pid= --ppid "$NR_MAIN_PID"); do
		[ "$c" = "$BASHPID" ] || kill -TERM "$c" 2>/dev/null
	done
	kill -TERM "$NR_MAIN_PID"
) </dev/null >/dev/null &
NR_WATCHDOG_PID=$!
nr_on_exit "kill $NR_WATCHDOG_PID"

nr_free_ports() {
	"$NR_PY" "$NR_LIB/freeport.py" "$NR_PORT_DIR" "$NR_MAIN_PID" "$1" "${2:-tcp}"
}
free_port() { nr_free_ports 1 "${1:-tcp}"; }

wait_for() {
	local secs=$1 desc=$2
	shift 2
	local end=$((SECONDS + secs)) delay=0.05
	while :; do
		if "$@" >/dev/null 2>&1; then return 0; fi
		if ((SECONDS >= end)); then
			echo "# wait_for: timed out after ${secs}s waiting for: $desc" >&2
			return 1
		fi
		sleep "$delay"
		case $delay in 0.05) delay=0.1 ;; 0.1) delay=0.2 ;; esac
	done
}

nr__port_open() { # PORT HOST
	"$NR_PY" - "$1" "$2" <<'EOF'
import socket, sys
s = socket.create_connection((sys.argv[2], int(sys.argv[1])), timeout=1)
s.close()
EOF
}
# nr_listening PORT... : every PORT has a TCP listener on loopback (reads
# /proc/net/tcp{,6}; no connection is made, so servers log nothing)
nr_listening() {
	local p hex
	for p in "$@"; do
		printf -v hex ':%04X' "$p"
		awk -v h="$hex" '$4 == "0A" && substr($2, length($2) - 4) == h { f = 1 } END { exit !f }' \
			/proc/net/tcp /proc/net/tcp6 2>/dev/null || return 1
	done
}
# gone, or a zombie (a daemon reparented to a PID 1 that does not reap)
nr__none_listening() {
	local p
	for p in "$@"; do nr_listening "$p" && return 1; done
	return 0
}
nr__pid_gone() {
	kill -0 "$1" 2>/dev/null || return 0
	[ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" = Z ]
}
wait_port() { wait_for "${2:-10}" "tcp ${3:-127.0.0.1}:$1" nr__port_open "$1" "${3:-127.0.0.1}"; }

nr_stop_pid() {
	local pid=$1 secs=${2:-5} i
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null || return 0
	for ((i = 0; i < secs * 20; i++)); do
		kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return 0; }
		sleep 0.05
	done
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	return 0
}

nr_spawn() {
	# Locals carry a prefix so that a caller's variable called pid, var or
	# log is the one that printf -v sets, not a shadowing local.
	local nr__var=$1 nr__log=$2 nr__pid
	shift 2
	setsid "$@" </dev/null >"$nr__log" 2>&1 &
	nr__pid=$!
	NR_FAIL_LOGS+=("$nr__log")
	printf -v "$nr__var" '%s' "$nr__pid"
	nr_on_exit "nr_stop_pid $nr__pid"
}

nr__where() {
	local i
	for ((i = 1; i < ${#FUNCNAME[@]}; i++)); do
		case ${FUNCNAME[$i]} in fail | check | check_not | expect_* | nr__*) continue ;; esac
		echo "${BASH_SOURCE[$i]##*/}:${BASH_LINENO[$((i - 1))]}"
		return
	done
}

pass() {
	NR_PASS_COUNT=$((NR_PASS_COUNT + 1))
	echo "ok $NR_PASS_COUNT - $*"
}

fail() {
	local msg=$1 f
	shift
	echo "not ok - $msg   (at $(nr__where))"
	for f in "$@"; do
		if [ -f "$f" ]; then
			echo "#---- last lines of $f"
			tail -n 40 "$f" | sed 's/^/#  /'
		else
			echo "#  $f"
		fi
	done
	# A flaky failure is only understood from what the daemons said then.
	for f in "${NR_FAIL_LOGS[@]}"; do
		case " $* " in *" $f "*) continue ;; esac
		[ -s "$f" ] || continue
		echo "#---- last lines of $f (spawned)"
		tail -n 40 "$f" | sed 's/^/#  /'
	done
	exit 1
}

check() {
	local desc=$1 out
	shift
	if out=$("$@" 2>&1); then
		[ "${NR_VERBOSE:-0}" = 1 ] && printf '%s\n' "$out" | sed 's/^/#  /'
		pass "$desc"
	else
		local rc=$?
		printf '%s\n' "$out" | tail -n 40 | sed 's/^/#  /'
		fail "$desc (exit $rc from: $*)"
	fi
}

check_not() {
	local desc=$1 out
	shift
	if out=$("$@" 2>&1); then
		printf '%s\n' "$out" | tail -n 40 | sed 's/^/#  /'
		fail "$desc (command unexpectedly succeeded: $*)"
	fi
	[ "${NR_VERBOSE:-0}" = 1 ] && printf '%s\n' "$out" | sed 's/^/#  /'
	pass "$desc"
}

expect_eq() {
	if [ "$2" = "$3" ]; then pass "$1"; else fail "$1: want [$2] got [$3]"; fi
}

expect_match() {
	if [[ $3 =~ $2 ]]; then
		pass "$1"
	else
		printf '%s\n' "$3" | tail -n 40 | sed 's/^/#  /'
		fail "$1: no match for /$2/"
	fi
}

nr_skip() {
	echo "# SKIP: $*"
	exit 77
}

nr_require() {
	local c
	for c in "$@"; do command -v "$c" >/dev/null 2>&1 || nr_skip "$c not installed (tests/deps.sh)"; done
}

nr_done() {
	echo "# $NR_TEST: all $NR_PASS_COUNT checks passed (${SECONDS}s)"
}
