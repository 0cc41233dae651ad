#!/usr/bin/env bash
# The Kconfig matrix: every configuration below is configured, built and its
# unit tests run (ctest -L unit), so an option that no longer compiles, links
# or passes when turned off is caught. Cases:
#   linux_defconfig   the default, built first: the others are compared with it
#   allnoconfig+ram   kconfiglib's allnoconfig (every bool off) with the RAM store
#   no-NR_<X>         the default with one feature turned off, for every bool of
#                     the "Features" and "Queue storage backends" menus that is
#                     on by default (read from Kconfig, so a new option is covered);
#                     for a choice there, with-NR_<Y> for each other member it offers
#   with-NR_<X>       the default with one option turned on (only when named on
#                     the command line: with-NR_LOG_LEVEL_WARN measures the log
#                     ceiling; the unit tests that read debug lines fail there)
#   <name>_defconfig  every other configs/*_defconfig (busybox: static, see below)
# Each case prints `config NAME: ok (text=N bytes of nanorelay, ...)` or
# `config NAME: FAILED` (with the log's tail); `text` is the .text of the
# nanorelay binary (size(1)) at -Os, and `vs default` the difference, which is
# the option's measured cost (the mbedTLS and c-ares libraries are shared
# objects here, so only nanorelay's own code counts; the busybox line is the
# whole static binary). The session-size probe (tests/unit/sizes) prints the
# RAM a session costs in the default build. The last line is exactly
# `configs: N passed, M failed`; the exit status is non-zero when M > 0.
#
#   tests/configs.sh [CASE...]   (default: all; JOBS, default nproc)
#
# Build directories: build-configs/<case>/ (reused, so a second run is quick).
# busybox_defconfig links statically: with musl and the libraries that
# tests/compat/musl-static.sh built in build-compat/musl-prefix when they are
# there, else with the host's gcc and glibc's and Debian's static .a files
# (then test_platform_linux is not run: static glibc's NSS), else it fails
# saying so. Its line says which way it ran.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
out=$root/build-configs
JOBS=${JOBS:-$(nproc)}
PY=/usr/bin/python3
mkdir -p "$out"
start=$SECONDS
passed=0
failed=0
default_text=

kenv() { env KCONFIG_CONFIG="$1" srctree="$root" "${@:2}"; }

# The cases of the two menus: no-<bool> for each bool on in linux_defconfig,
# with-<member> for each member of a choice that is not chosen there.
default_features() {
	"$PY" - "$root/Kconfig" "$root/configs/linux_defconfig" <<'EOF'
import os, sys, kconfiglib
os.environ.setdefault("srctree", os.path.dirname(sys.argv[1]))
k = kconfiglib.Kconfig(sys.argv[1], warn=False)
k.load_config(sys.argv[2])
def walk(node):
    while node:
        item = node.item
        if isinstance(item, kconfiglib.Choice):
            # One member is always on: select each other one instead.
            for sym in item.syms:
                if sym.visibility and sym is not item.selection:
                    print("with-" + sym.name)
        elif isinstance(item, kconfiglib.Symbol) and item.type == kconfiglib.BOOL \
           and item.tri_value == 2:
            print("no-" + item.name)
        if node.list and not isinstance(item, kconfiglib.Choice):
            walk(node.list)
        node = node.next
for node in k.node_iter():
    if node.item == kconfiglib.MENU and node.prompt[0] in ("Features", "Queue storage backends"):
        walk(node.list)
EOF
}

# Write the defconfig of a case to stdout.
case_defconfig() {
	local name=$1
	case $name in
	allnoconfig+ram)
		kenv "$out/allnoconfig.config" "$PY" -m allnoconfig "$root/Kconfig" >/dev/null || return 1
		# (a choice keeps its default in allnoconfig: the resolver is set to none here)
		sed -e 's/^# CONFIG_NR_STORE_RAM is not set$/CONFIG_NR_STORE_RAM=y/' \
			-e 's/^CONFIG_NR_DNS_CARES=y$/# CONFIG_NR_DNS_CARES is not set/' \
			-e 's/^# CONFIG_NR_DNS_NONE is not set$/CONFIG_NR_DNS_NONE=y/' "$out/allnoconfig.config"
		;;
	no-*)
		cat configs/linux_defconfig
		echo "# CONFIG_${name#no-} is not set"
		;;
	with-*)
		cat configs/linux_defconfig
		echo "CONFIG_${name#with-}=y"
		;;
	*_defconfig) cat "configs/$name" ;;
	esac
}

# Static link for busybox_defconfig: musl and the libraries that
# tests/compat/musl-static.sh built (the real BusyBox target), when there;
# else the host's gcc with glibc's and Debian's static .a libraries.
static_args() {
	local prefix=$root/build-compat/musl-prefix
	if command -v musl-gcc >/dev/null && [ -f "$prefix/lib/libmbedtls.a" ]; then
		how="static, musl-gcc + build-compat/musl-prefix"
		cc=musl-gcc
		export PKG_CONFIG_LIBDIR="$prefix/lib/pkgconfig"
		args=(-DMBEDTLS_INCLUDE_DIR="$prefix/include" -DMBEDTLS_LIB="$prefix/lib/libmbedtls.a"
			-DMBEDX509_LIB="$prefix/lib/libmbedx509.a" -DMBEDCRYPTO_LIB="$prefix/lib/libmbedcrypto.a")
		return 0
	fi
	local lib
	lib=/usr/lib/$(gcc -dumpmachine 2>/dev/null)
	if [ -f "$lib/libc.a" ] && [ -f "$lib/libmbedtls.a" ]; then
		# Only .a files: CMake's find_library would take the .so.
		echo 'set(CMAKE_FIND_LIBRARY_SUFFIXES .a)' >"$out/static-only.cmake"
		args=(-DCMAKE_PROJECT_INCLUDE="$out/static-only.cmake"
			-DMBEDTLS_LIB="$lib/libmbedtls.a" -DMBEDX509_LIB="$lib/libmbedx509.a"
			-DMBEDCRYPTO_LIB="$lib/libmbedcrypto.a")
		# A static glibc still loads the shared NSS modules for getpwnam, and
		# they crash in a static process; musl has no such modules.
		skip_tests='^test_platform_linux$'
		how="static, host gcc + glibc; test_platform_linux not run: static glibc's getpwnam needs shared NSS modules (tests/compat/musl-static.sh runs it with musl)"
		return 0
	fi
	how="no static libraries: neither build-compat/musl-prefix (tests/compat/musl-static.sh) nor the host's .a files"
	return 1
}

run_case() {
	local name=$1 dir=$out/$1 log=$out/$1.log t0=$SECONDS text note="" how="" cc=${CC:-cc}
	local args=() targets skip_tests='^$'
	rm -rf "$dir" # a fresh .config: kconfiglib keeps an old one's values
	mkdir -p "$dir"
	case_defconfig "$name" >"$out/$name.defconfig" || { fail_case "$name" "$log" "cannot make its defconfig"; return; }
	if grep -q '^CONFIG_NR_PLATFORM_BUSYBOX=y' "$out/$name.defconfig"; then
		static_args || { fail_case "$name" "$log" "$how"; return; }
	fi
	{
		(
			[ -n "${PKG_CONFIG_LIBDIR:-}" ] && export PKG_CONFIG_LIBDIR
			CC=$cc cmake -S "$root" -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=MinSizeRel \
				-DNR_DEFCONFIG="$out/$name.defconfig" "${args[@]}"
		) &&
			# Only the program and the unit tests (no benchmarks).
			# (a unit test that is a script, such as doc_mandoc_lint, has no target)
			targets=$(cd "$dir" && ctest -N -L unit | sed -n 's/^ *Test *#[0-9]*: \([^ ]*\).*/\1/p' |
				while read -r t; do ninja -C . -t query "$t" >/dev/null 2>&1 && echo "$t"; done) &&
			cmake --build "$dir" -j "$JOBS" --target nanorelay $targets &&
			(cd "$dir" && ctest -L unit -E "$skip_tests" -j "$JOBS" --output-on-failure)
	} >"$log" 2>&1
	local rc=$?
	unset PKG_CONFIG_LIBDIR
	if [ $rc -ne 0 ]; then
		fail_case "$name" "$log" "$how"
		return
	fi
	# Every unit test runs in every case: a test case that needs an option the
	# build lacks checks its absence or steps aside, never the whole test.
	if grep -q ' (Disabled)$' "$log"; then
		fail_case "$name" "$log" "a unit test is disabled: $(sed -n 's/^.* - \(test_[a-z0-9_]*\) (Disabled)$/\1/p' "$log" | paste -sd, -)"
		return
	fi
	# the option a no-*/with-* case turns off/on must really be off/on
	if [[ $name == no-* ]] && grep -q "^CONFIG_${name#no-}=y" "$dir/.config"; then
		fail_case "$name" "$log" "CONFIG_${name#no-} is still on (selected by another option?)"
		return
	fi
	if [[ $name == with-* ]] && ! grep -q "^CONFIG_${name#with-}=y" "$dir/.config"; then
		fail_case "$name" "$log" "CONFIG_${name#with-} did not turn on (a dependency is off?)"
		return
	fi
	text=$(size "$dir/nanorelay" | awk 'NR == 2 { print $1 }')
	[ "$name" = linux_defconfig ] && default_text=$text
	[ -n "$default_text" ] && [ "$name" != linux_defconfig ] && note=", $((text - default_text)) vs default"
	[ -n "$how" ] && note="$note; $how"
	passed=$((passed + 1))
	echo "config $name: ok (text=$text bytes of nanorelay$note; $((SECONDS - t0))s)"
	if [ "$name" = linux_defconfig ] && [ -x "$dir/tests/unit/sizes/test_sizes" ]; then
		echo "  $("$dir/tests/unit/sizes/test_sizes" | grep -E '^(session|limits):' | sed '2s/^/  /')"
	fi
}

fail_case() { # name, log, why
	failed=$((failed + 1))
	echo "config $1: FAILED${3:+ ($3)}"
	[ -f "$2" ] && tail -n 25 "$2" | sed 's/^/  | /'
}

if [ $# -gt 0 ]; then
	cases=("$@")
else
	cases=(linux_defconfig allnoconfig+ram)
	for f in $(default_features); do cases+=("$f"); done
	for f in configs/*_defconfig; do
		# the Cortex-M4 firmware needs its cross toolchain file: tests/rtos/qemu-m4.sh
		# builds and runs it (tests/all.sh's firmware step)
		[ "$f" = configs/rtos_cortex_m4_defconfig ] && continue
		[ "$f" = configs/linux_defconfig ] || cases+=("$(basename "$f")")
	done
fi
for c in "${cases[@]}"; do
	run_case "$c"
done
echo "configs: total time $((SECONDS - start))s on $JOBS jobs"
echo "configs: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
