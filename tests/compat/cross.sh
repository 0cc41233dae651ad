#!/usr/bin/env bash
# Cross-build nanorelay and its whole unit suite for another CPU with
# Debian's cross compiler and the target's multiarch mbedTLS and c-ares,
# then run the suite under qemu-user (ctest's CMAKE_CROSSCOMPILING_EMULATOR;
# no binfmt_misc is needed). The golden queue image test is in that suite:
# the on-flash bytes are pinned on every architecture.
#
#   tests/compat/cross.sh ARCH [WORKDIR]     (default build-cross-ARCH)
#
#   armhf   32-bit ARM, little-endian       (arm-linux-gnueabihf, qemu-arm)
#   mipsel  32-bit MIPS, little-endian      (mipsel-linux-gnu, qemu-mipsel)
#   s390x   64-bit, big-endian              (s390x-linux-gnu, qemu-s390x)
#
# s390x is the big-endian target because Debian 12 ships it as a full port:
# libmbedtls-dev:s390x and libc-ares-dev:s390x install with multiarch like
# the other two, where big-endian MIPS has no Debian 12 port and would need
# both libraries built from source. Packages: tests/packages/cross.txt
# (tests/deps.sh adds the foreign architectures first).
#
# Last line, exactly: cross ARCH: N passed, M failed
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
arch=${1:-}
case $arch in
armhf) triplet=arm-linux-gnueabihf qemu=qemu-arm proc=arm ;;
mipsel) triplet=mipsel-linux-gnu qemu=qemu-mipsel proc=mipsel ;;
s390x) triplet=s390x-linux-gnu qemu=qemu-s390x proc=s390x ;;
*)
	echo "usage: tests/compat/cross.sh armhf|mipsel|s390x [WORKDIR]" >&2
	exit 64
	;;
esac
work=${2:-$root/build-cross-$arch}
jobs=${JOBS:-$(nproc)}
start=$(date +%s)
done_line() { # passed, failed
	echo "cross $arch: $1 passed, $2 failed"
	exit $(($2 > 0 || $1 == 0))
}

qemu_bin=$(command -v "$qemu") || {
	echo "cross: $qemu not found (package qemu-user)"
	done_line 0 1
}
mkdir -p "$work"
if ! cmake -S "$root" -B "$work" -G Ninja -DNR_TESTS=ON \
	-DCMAKE_TOOLCHAIN_FILE="$root/tests/compat/cross-toolchain.cmake" \
	-DNR_CROSS_TRIPLET="$triplet" -DNR_CROSS_QEMU="$qemu_bin" -DNR_CROSS_PROCESSOR="$proc" \
	>"$work/configure.log" 2>&1; then
	cat "$work/configure.log"
	done_line 0 1
fi
if ! cmake --build "$work" -j "$jobs" >"$work/build.log" 2>&1; then
	tail -40 "$work/build.log"
	done_line 0 1
fi
echo "cross $arch: built in $(($(date +%s) - start)) s: $(file -b "$work/nanorelay" | cut -d, -f1-2)"
"$qemu_bin" "$work/nanorelay" --version | head -1

# The unit suite under qemu-user. Each test's own output names what it
# skips there and why.
t0=$(date +%s)
(cd "$work" && ctest -L unit -j "$jobs" --output-on-failure) >"$work/ctest.log" 2>&1
grep -E '^ *[0-9]+/[0-9]+ Test|tests passed|FAILED|Failed' "$work/ctest.log"
# what the tests skipped here, and why (their own words)
grep -hiE 'skipped|^SKIP' "$work/Testing/Temporary/LastTest.log" | sed 's/^/cross '"$arch"': /' || true
echo "cross $arch: unit suite ran in $(($(date +%s) - t0)) s under $qemu"
total=$(sed -nE 's/.*tests failed out of ([0-9]+).*/\1/p' "$work/ctest.log" | tail -1)
bad=$(sed -nE 's/.*, ([0-9]+) tests failed out of.*/\1/p' "$work/ctest.log" | tail -1)
[ -n "$total" ] || {
	tail -30 "$work/ctest.log"
	done_line 0 1
}
done_line $((total - bad)) "$bad"
