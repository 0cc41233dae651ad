#!/usr/bin/env bash
# The host RTOS target's tests: nanorelay built for FreeRTOS + lwIP
# (configs/rtos_host_defconfig), its only network lwIP on a TAP device inside
# a network namespace this script creates; real clients and a real Postfix on
# the Linux side of the TAP.
#
#   tests/rtos/run-host.sh [BUILD_DIR]     (default build-rtos; configured when
#                                           new, built every time)
#
# Needs root (namespace, TAP), python3, curl; the relay cases also swaks,
# postfix, dnsmasq (tests/packages/rtos.txt). Environment:
#   NR_RTOS_KILL_ROUNDS=N   kill -9 rounds under load (default 3 in CI; the
#                           issue's full run is 20)
#   NR_KEEP=1               keep the temporary directory (logs)
#   NR_RTOS_ONLY=REGEX      run only the cases whose name matches
# Each case prints `ok - NAME`, `not ok - NAME` (with its log's tail) or
# `skip - NAME: why`. The last line is exactly `rtos-host: N passed, M failed`.
#
# Cases: the self-test service (--selftest-echo: the shim end to end on
# platform.h calls only) always; the relay cases when the program has the
# relay task (`nanorelay --features` says "relay": the embedding API is in).
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:-$root/build-rtos}" 2>/dev/null && pwd || echo "${1:-$root/build-rtos}")
LINUX_IP=10.203.0.1 # the Linux side of the TAP (clients, Postfix, DNS)
DENIED_IP=10.203.0.3 # a second Linux-side address, not in the relay's allow list
BOARD_IP=10.203.0.2 # lwIP's static address
ECHO_PORT=2525

summary() { # passed failed
	echo "rtos-host: $1 passed, $2 failed"
}

# ---- outside: build, make the namespace and the TAP, run the rest inside -----------
if [ "${NR_RTOS_INSIDE:-0}" != 1 ]; then
	if [ "$(id -u)" != 0 ]; then
		echo "rtos-host: needs root (a network namespace and a TAP device)"
		summary 0 1
		exit 1
	fi
	# Configured once, built every time (an incremental build is quick, and
	# a stale program would test old code).
	mkdir -p "$build"
	{ { [ -f "$build/CMakeCache.txt" ] ||
		cmake -S "$root" -B "$build" -G Ninja -DNR_DEFCONFIG="$root/configs/rtos_host_defconfig"; } &&
		cmake --build "$build" -j "${JOBS:-$(nproc)}"; } >"$build/run-host.build.log" 2>&1 ||
		{
			tail -30 "$build/run-host.build.log"
			echo "rtos-host: the build failed"
			summary 0 1
			exit 1
		}
	ns=nr-rtos-$$
	if ! ip netns add "$ns"; then
		echo "rtos-host: cannot create a network namespace"
		summary 0 1
		exit 1
	fi
	trap 'ip netns del "$ns" 2>/dev/null' EXIT
	ip -n "$ns" link set lo up &&
		ip -n "$ns" tuntap add dev tap0 mode tap &&
		ip -n "$ns" addr add "$LINUX_IP/24" dev tap0 &&
		ip -n "$ns" addr add "$DENIED_IP/24" dev tap0 &&
		ip -n "$ns" link set tap0 up || {
		echo "rtos-host: cannot make the TAP device"
		summary 0 1
		exit 1
	}
	NR_RTOS_INSIDE=1 NR_RTOS_BUILD="$build" NR_TEST_TIMEOUT=${NR_TEST_TIMEOUT:-1800} \
		ip netns exec "$ns" bash "$0" "$build"
	exit $?
fi

# ---- inside the namespace ------------------------------------------------------------
# shellcheck source=../integration/lib/common.sh
. "$root/tests/integration/lib/common.sh"
bin="$build/nanorelay"
passed=0
failed=0
skipped=0
ncase=0

# Run one case in a subshell; its output goes to a log shown on failure.
# A case exits 77 to skip (its last output line says why).
run_case() { # name, function, args...
	local name=$1 log rc
	shift
	# NR_RTOS_ONLY=REGEX runs only the cases whose name matches (debugging)
	[ -z "${NR_RTOS_ONLY:-}" ] || [[ $name =~ $NR_RTOS_ONLY ]] || return 0
	ncase=$((ncase + 1))
	log="$NR_TMP/case-$ncase.log"
	("$@") >"$log" 2>&1
	rc=$?
	board_stop
	if [ $rc -eq 0 ]; then
		passed=$((passed + 1))
		echo "ok - $name"
	elif [ $rc -eq 77 ]; then
		skipped=$((skipped + 1))
		echo "skip - $name: $(tail -n1 "$log")"
	else
		failed=$((failed + 1))
		echo "not ok - $name"
		tail -n 25 "$log" | sed 's/^/  | /'
		[ -f "$NR_TMP/board.log" ] && tail -n 15 "$NR_TMP/board.log" | sed 's/^/  board| /'
	fi
}

# The board: one process on tap0 at a time (the TAP takes one reader).
board_start() { # nanorelay args... (after --tap/--ip)
	"$bin" --tap tap0 --ip "$BOARD_IP/24" --gw "$LINUX_IP" "$@" >"$NR_TMP/board.log" 2>&1 &
	echo $! >"$NR_TMP/board.pid"
	wait_for 15 "the board's lwIP" grep -q 'lwIP up on TAP' "$NR_TMP/board.log"
}
board_stop() {
	local pid
	[ -f "$NR_TMP/board.pid" ] || return 0
	pid=$(cat "$NR_TMP/board.pid")
	rm -f "$NR_TMP/board.pid"
	kill -TERM "$pid" 2>/dev/null
	for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	return 0
}
board_kill9() {
	local pid
	pid=$(cat "$NR_TMP/board.pid")
	rm -f "$NR_TMP/board.pid"
	kill -KILL "$pid"
	wait "$pid" 2>/dev/null
	return 0
}
nr_on_exit board_stop

echo_start() { # extra args...
	board_start --selftest-echo "$ECHO_PORT" "$@" &&
		wait_for 10 "the echo service" grep -q 'selftest-echo: listening' "$NR_TMP/board.log"
}
echo_client() { # case [arg]
	"$NR_PY" "$root/tests/rtos/echo_client.py" "$BOARD_IP" "$ECHO_PORT" "$@"
}

# ---- the resolver on real lwIP (its unix port; no TAP needed) ------------------------
case_dns_smoke() {
	local lwip
	lwip=$(sed -n 's/^NR_LWIP_DIR:PATH=//p' "$build/CMakeCache.txt")
	[ -n "$lwip" ] || { echo "no NR_LWIP_DIR in $build/CMakeCache.txt"; return 1; }
	bash "$root/tests/unit/dns/rtos_dns_smoke.sh" "$lwip" "$build"
}
run_case "dns: rtos_dns.c on real lwIP 2.1.3 (tests/unit/dns/rtos_dns_smoke.sh)" case_dns_smoke

# ---- the self-test service: the shim end to end ----------------------------------------
case_echo() { # scenario arg [board args...]
	local scenario=$1 arg=$2
	shift 2
	echo_start "$@" && echo_client "$scenario" "$arg"
}
case_echo_curl() {
	local out
	echo_start || return 1
	out=$(printf 'curl over the TAP\r\nQUIT\r\n' | curl -s --max-time 10 "telnet://$BOARD_IP:$ECHO_PORT")
	printf '%s\n' "$out"
	grep -q '^250 echo: curl over the TAP' <<<"$out" && grep -q '^221 bye' <<<"$out"
}
case_echo_kill9() { # rounds: kill -9 the board with clients connected, restart it
	local i
	for i in $(seq "$1"); do
		echo_start || return 1
		echo_client clients 4 || return 1
		"$NR_PY" -c "import socket,time; s=socket.create_connection(('$BOARD_IP',$ECHO_PORT),5); time.sleep(0.2)" || return 1
		board_kill9
		echo "round $i: killed"
	done
	echo_start && echo_client basic "$LINUX_IP"
}

run_case "echo: banner, echo, peer address, split line, QUIT" case_echo basic "$LINUX_IP"
run_case "echo: a real client (curl telnet://)" case_echo_curl
run_case "echo: wall clock from the board's hook, monotonic ms" case_echo clock set
run_case "echo: no wall clock until the board sets it (NR_ECLOCK)" case_echo clock unset --no-wall-clock
run_case "echo: entropy from the TRNG hook" case_echo entropy ok
run_case "echo: no TRNG hook: an error, never weak bytes" case_echo entropy none --no-entropy
run_case "echo: nr_plat_wake from another task ends a poll without timeout" case_echo wake ""
run_case "echo: 8 clients at once" case_echo clients 8
run_case "echo: 430 KB burst (send buffer full, NR_POLL_OUT)" case_echo bulk ""
run_case "echo: kill -9 and restart on the same TAP" case_echo_kill9 2

# ---- the relay -------------------------------------------------------------------------
. "$root/tests/rtos/relay_cases.sh"

[ -f "$NR_TMP/figures.txt" ] && cat "$NR_TMP/figures.txt"
if [ "$skipped" -gt 0 ]; then
	echo "rtos-host: $skipped skipped"
fi
summary "$passed" "$failed"
[ "$failed" -eq 0 ]
