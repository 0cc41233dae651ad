#!/usr/bin/env bash
# The Cortex-M4 firmware's self-test (issue 17): nanorelay built for QEMU's
# mps2-an386 board (configs/rtos_cortex_m4_defconfig, cmake/arm-none-eabi.cmake,
# platform/rtos/mps2-an386) and run under qemu-system-arm with a time limit.
# Inside the image a client task talks SMTP to the relay over lwIP's loopback
# netif, a fake smarthost checks every delivered byte, and the board resets
# itself three times (warm: the RAM flash survives), once between queueing and
# delivery and twice in the middle of a delivery; the run's phases are
# described in platform/rtos/mps2-an386/m4_main.c. The firmware prints
# `PASS: case` / `FAIL: case` on the UART, then
# `selftest done: N passed, M failed`, and exits QEMU through semihosting
# with the number of failed cases as its status.
#
#   tests/rtos/qemu-m4.sh [BUILD_DIR]     (default build-m4; configured when new,
#                                          built every time)
#
# Needs gcc-arm-none-eabi, libnewlib-arm-none-eabi, qemu-system-arm
# (tests/packages/firmware.txt) and, at the first configure, Debian's lwIP
# source (tests/rtos/fetch-lwip.sh). Environment: NR_M4_TIMEOUT (seconds,
# default 150: QEMU runs under TCG; a clean run takes about 15 s, and the
# image bounds its own waits so that a failing one ends within about 100). The last line is exactly
# `firmware-m4: N passed, M failed`: the image's cases, plus one failed case
# when the run did not end cleanly (a build failure, a fault, a panic, the
# time limit, or an exit status that disagrees with the cases).
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$root/build-m4}
summary() { # passed failed
	echo "firmware-m4: $1 passed, $2 failed"
}

mkdir -p "$build"
build=$(cd "$build" && pwd)
{ { [ -f "$build/CMakeCache.txt" ] ||
	cmake -S "$root" -B "$build" -G Ninja -DCMAKE_TOOLCHAIN_FILE="$root/cmake/arm-none-eabi.cmake" \
		-DNR_DEFCONFIG="$root/configs/rtos_cortex_m4_defconfig" -DCMAKE_BUILD_TYPE=MinSizeRel; } &&
	cmake --build "$build" -j "${JOBS:-2}" --target firmware-m4; } >"$build/qemu-m4.build.log" 2>&1 || {
	tail -30 "$build/qemu-m4.build.log"
	echo "firmware-m4: the build failed"
	summary 0 1
	exit 1
}
arm-none-eabi-size "$build/firmware-m4.elf"

log="$build/qemu-m4.log"
timeout "${NR_M4_TIMEOUT:-150}" qemu-system-arm -M mps2-an386 -nographic -semihosting \
	-monitor none -kernel "$build/firmware-m4.elf" </dev/null >"$log" 2>&1
status=$?
tr -d '\r' <"$log" | sed 's/^/  uart| /'
passed=$(tr -d '\r' <"$log" | grep -c '^PASS: ')
failed=$(tr -d '\r' <"$log" | grep -c '^FAIL: ')
if [ "$status" -eq 124 ]; then
	echo "not ok - the run ended within ${NR_M4_TIMEOUT:-150} s"
	failed=$((failed + 1))
elif ! tr -d '\r' <"$log" | grep -q "^selftest done: $passed passed, $failed failed$"; then
	echo "not ok - the image ran every case to its end (QEMU status $status)"
	failed=$((failed + 1))
elif [ "$status" -ne "$failed" ] && ! { [ "$failed" -gt 0 ] && [ "$status" -eq 1 ]; }; then
	echo "not ok - QEMU's exit status ($status) agrees with the cases"
	failed=$((failed + 1))
fi
summary "$passed" "$failed"
[ "$failed" -eq 0 ]
