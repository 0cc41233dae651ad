#!/usr/bin/env bash
# Build and run every test: the README's test command and what CI runs.
#   static checks (OS headers under src/, posix.h only in the front ends,
#                 printf formats newlib lacks, heap calls past core/mem.h,
#                 clang-format)
#   build/        normal build: unit + integration tests
#   build-o3/     Release (-O3) build, compiled only: its optimiser warns where
#                 the default -O2 does not, and -Werror makes that a failure
#   build-stack/  -Os with -fstack-usage at the RTOS limits: the table of the
#                 largest stack frames and RAM per session (tests/bench/stack.sh)
#   build-rtos-core/ nrcore for NR_PLATFORM_RTOS linked whole with a stub
#                 platform.h shim (tests/rtos-core/), compiled only
#   build-configs/ the Kconfig matrix (tests/configs.sh): allnoconfig with the
#                 RAM store, the default with each feature off in turn, every
#                 configs/*_defconfig; each built and its unit tests run
#   build-asan/   ASan+UBSan build: unit + integration tests
#   build-fuzz/   clang libFuzzer targets, each run for FUZZ_SECONDS (default 60)
#   build-compat/ mbedTLS 3.6 and c-ares 1.34 from Debian trixie's sources, and
#                 the static musl build with Debian 12's mbedTLS 2.28 built
#                 with configs/mbedtls/nanorelay-2.28.h (tests/compat/*.sh)
#   size table    tests/bench/size.sh: text, data and bss of build/ and of the
#                 static musl build, by module and library (measured, not
#                 rebuilt; the musl rows need the compat stage)
#   build-cross-ARCH/ the unit suite cross-built for armhf, mipsel and s390x
#                 (big-endian) and run under qemu-user (tests/compat/cross.sh)
#   build-rtos/   the host RTOS target (FreeRTOS POSIX port + lwIP from Debian's
#                 source package on a TAP device in a network namespace):
#                 tests/rtos/run-host.sh
#   build-m4/     the Cortex-M4 firmware for QEMU's mps2-an386 (arm-none-eabi,
#                 newlib-nano, FreeRTOS ARM_CM4F, lwIP loopback): its
#                 self-test under qemu-system-arm (tests/rtos/qemu-m4.sh)
#   build-deb/    the Debian packages: dpkg-buildpackage, lintian, install in a
#                 clean Debian 12 root, mail through sendmail, purge
#                 (tests/packaging/deb.sh, about 2-3 minutes)
# Environment: FUZZ_SECONDS, JOBS (default: nproc), NR_SKIP_FUZZ=1, NR_SKIP_ASAN=1,
# NR_SKIP_COMPAT=1, NR_SKIP_CONFIGS=1, NR_SKIP_DEB=1, NR_SKIP_CROSS=1,
# NR_SKIP_RTOS=1, NR_SKIP_FIRMWARE=1 (tests/rtos/qemu-m4.sh), NR_SKIP_ROUTER=1 (tests/system/qemu-router.sh; NR_ROUTER_ROUNDS=10 for its full run).
set -uo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)
tests/deps.sh || { echo "deps: failed to install packages"; exit 1; }
JOBS=${JOBS:-$(nproc)}
FUZZ_SECONDS=${FUZZ_SECONDS:-60}
passed=0
failed=0
failed_names=()
# Each step's output is also kept in build-logs/ (named by the step's number).
# A failed step's name and the end of its log are printed again after the
# summary, so that the last lines of a CI run say what broke.
logs=$top/build-logs
rm -rf "$logs" && mkdir -p "$logs"
steps=0
step() { # name, command...
	local name=$1 log
	shift
	steps=$((steps + 1))
	log=$logs/$(printf '%02d' "$steps").log
	echo "=== $name"
	# tee through a process substitution, not a pipe: a daemon a test leaves
	# behind cannot keep the step waiting; its tee gets 5 s to print the
	# step's last lines before the verdict
	local rc=0 out tee_pid waited=0
	exec {out}> >(tee "$log")
	tee_pid=$!
	"$@" >&"$out" 2>&1 || rc=$?
	exec {out}>&-
	while kill -0 "$tee_pid" 2>/dev/null && [ "$waited" -lt 50 ]; do
		sleep 0.1
		waited=$((waited + 1))
	done
	if [ "$rc" -eq 0 ]; then
		passed=$((passed + 1))
		echo "=== $name: ok"
	else
		failed=$((failed + 1))
		failed_names+=("$name ($log)")
		echo "=== $name: FAILED"
	fi
}
# The last lines of a failed step's log that tell why: build progress lines
# left out, at most 100 lines a step.
failure_report() {
	local entry log
	for entry in "${failed_names[@]}"; do
		log=${entry##*(}
		log=${log%)}
		echo "--- FAILED: $entry, its last lines:"
		grep -v -E '^\[[0-9]+/[0-9]+\] (Building|Linking)|^-- (Looking|Performing|Check)' "$log" | tail -n 100
	done
}

# The front ends (the nrfront library: CMakeLists.txt) are these folders of
# src/; every other folder is the core library (nrcore).
front_dirs=(app ctl sendmail)

os_headers() {
	local hits excl=()
	hits=$(grep -rnE '#include *<(sys/|unistd\.h|netinet/|arpa/|fcntl\.h|netdb\.h|poll\.h|syslog\.h|pthread\.h|signal\.h)' src || true)
	[ -z "$hits" ] || { echo "OS headers under src/ (use platform/platform.h):"; echo "$hits"; return 1; }
	# The core uses platform.h alone: neither posix.h nor a front end's header.
	for d in "${front_dirs[@]}"; do excl+=(--exclude-dir="$d"); done
	hits=$(grep -rnE '#include *"(posix\.h|(app|ctl|sendmail)/)' src "${excl[@]}" || true)
	[ -z "$hits" ] || { echo "posix.h or a front end's header in the core (only the front ends in src/ may: ${front_dirs[*]}):"; echo "$hits"; return 1; }
}

# The core built for NR_PLATFORM_RTOS and linked whole on a shim of
# platform.h alone (tests/rtos-core/): a core call into posix.h or a front
# end fails the link.
rtos_core() {
	build_only build-rtos-core -DNR_TESTS=OFF -DNR_DEFCONFIG="$top/tests/rtos-core/rtos_core_defconfig" \
		-DNR_PLATFORM_SOURCES="$top/tests/rtos-core/sources.cmake"
}

# newlib lacks the C99 length modifiers (z, j, t, hh) and newlib-nano long
# long too: src/ formats 64-bit values through core/fmt.h (whose comments
# name the conversions, hence its exclusion).
printf_formats() {
	local hits
	hits=$(grep -rnE '(^|[^%])%[-+ #0-9.*]*(hh|ll|z|j|t)[diouxXn]|PRI[diouxX](64|MAX)' \
		--include='*.c' --include='*.h' src | grep -v '^src/core/fmt\.[ch]:' || true)
	[ -z "$hits" ] || { echo "printf conversions a small C library lacks (use core/fmt.h):"; echo "$hits"; return 1; }
}

# The core's heap goes through core/mem.h, so a firmware's allocation hook
# sees all of it (nr_mem_set_hooks).
heap_calls() {
	local hits
	hits=$(grep -rnP '(?<![\w.>])(malloc|calloc|realloc|free)\(' --include='*.c' --include='*.h' src |
		grep -v '^src/core/mem\.c:' || true)
	[ -z "$hits" ] || { echo "heap calls past core/mem.h (use nr_malloc, nr_calloc, nr_realloc, nr_free):"; echo "$hits"; return 1; }
}

format_check() {
	git ls-files '*.c' '*.h' | grep -v '^tests/fuzz/corpus/\|^third_party/' | xargs -r clang-format --dry-run -Werror
}

build_only() { # dir, cmake args...
	local dir=$1
	shift
	cmake -S "$top" -B "$dir" -G Ninja "$@" >"$dir.configure.log" 2>&1 || { cat "$dir.configure.log"; return 1; }
	cmake --build "$dir" -j "$JOBS"
}

build_and_test() { # dir, cmake args...
	build_only "$@" || return 1
	(cd "$1" && ctest --output-on-failure -j "$JOBS")
}

fuzz_one() { # executable: run it for FUZZ_SECONDS from its seed corpus
	local f=$1 name corpus
	name=$(basename "$f")
	corpus="build-fuzz/corpus-$name"
	mkdir -p "$corpus"
	[ -d "tests/fuzz/corpus/$name" ] && cp -r "tests/fuzz/corpus/$name/." "$corpus/"
	if "$f" -max_total_time="$FUZZ_SECONDS" -print_final_stats=0 "$corpus" >"build-fuzz/$name.log" 2>&1; then
		echo "--- $name: $(grep -Eo '^Done [0-9]+ runs in [0-9]+ second' "build-fuzz/$name.log" | tail -1 | sed 's/^Done //')s, no finding"
	else
		echo "--- $name: FINDING"
		tail -50 "build-fuzz/$name.log"
		return 1
	fi
}

fuzz_all() {
	local dir=build-fuzz rc=0 f pids=() running=0
	CC=clang cmake -S "$top" -B "$dir" -G Ninja -DNR_FUZZ=ON -DNR_TESTS=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo \
		>"$dir.configure.log" 2>&1 || { cat "$dir.configure.log"; return 1; }
	cmake --build "$dir" -j "$JOBS" || return 1
	# One fuzzer per core at a time.
	for f in "$dir"/tests/fuzz/fuzz_*; do
		[ -x "$f" ] || continue
		fuzz_one "$f" &
		pids+=($!)
		running=$((running + 1))
		if [ "$running" -ge "$JOBS" ]; then
			wait "${pids[0]}" || rc=1
			pids=("${pids[@]:1}")
			running=$((running - 1))
		fi
	done
	for f in "${pids[@]}"; do
		wait "$f" || rc=1
	done
	return $rc
}

step "os-headers" os_headers
step "printf formats" printf_formats
step "heap calls" heap_calls
step "clang-format" format_check
# -DNR_TESTS=ON: the README's run command may have configured build/ without the tests.
step "build+test" build_and_test build -DNR_TESTS=ON
step "release build (-O3)" build_only build-o3 -DCMAKE_BUILD_TYPE=Release
# stack frames and RAM per session at the RTOS defaults: a table, not a timed test
step "stack and RAM table" env JOBS="$JOBS" tests/bench/stack.sh build-stack
step "core for an RTOS (stub platform)" rtos_core
if [ "${NR_SKIP_CONFIGS:-0}" != 1 ]; then
	step "kconfig matrix" env JOBS="$JOBS" tests/configs.sh
fi
if [ "${NR_SKIP_ASAN:-0}" != 1 ]; then
	step "asan+ubsan build+test" build_and_test build-asan -DNR_TESTS=ON -DNR_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
fi
if [ "${NR_SKIP_COMPAT:-0}" != 1 ]; then
	step "compat: mbedTLS 3.6" tests/compat/mbedtls36.sh build-compat
	step "compat: c-ares 1.34" tests/compat/cares-1.34.sh build-compat
	step "compat: static musl (BusyBox)" tests/compat/musl-static.sh build-compat
fi
if [ "${NR_SKIP_CROSS:-0}" != 1 ]; then
	for arch in armhf mipsel s390x; do
		step "cross: $arch under qemu-user" env JOBS="$JOBS" tests/compat/cross.sh "$arch"
	done
fi
if [ "${NR_SKIP_RTOS:-0}" != 1 ]; then
	step "rtos: host target on a TAP" env JOBS="$JOBS" tests/rtos/run-host.sh "$top/build-rtos"
fi
if [ "${NR_SKIP_FIRMWARE:-0}" != 1 ]; then
	step "firmware: Cortex-M4 under QEMU" env JOBS="$JOBS" tests/rtos/qemu-m4.sh "$top/build-m4"
fi
# after the static musl build and the firmware: the size table of all three
step "size table" tests/bench/size.sh "$top/build" "$top/build-compat/nr-musl" "$top/build-m4"
if [ "${NR_SKIP_ROUTER:-0}" != 1 ]; then
	for arch in x86_64 mipsel; do
		step "router $arch" env JOBS="$JOBS" tests/system/qemu-router.sh "$arch"
	done
fi
if [ "${NR_SKIP_DEB:-0}" != 1 ]; then
	step "packages: debian" env JOBS="$JOBS" tests/packaging/deb.sh "$top/build-deb"
fi
if [ "${NR_SKIP_FUZZ:-0}" != 1 ]; then
	step "fuzz" fuzz_all
fi
failure_report
echo "summary: $passed passed, $failed failed"
for entry in "${failed_names[@]}"; do
	echo "failed: ${entry% (*}"
done
[ "$failed" -eq 0 ]
