#!/usr/bin/env bash
# The BusyBox build: one static binary against musl, with Debian 12's
# mbedTLS 2.28 built with the project's own configuration
# (configs/mbedtls/nanorelay-2.28.h: only what the relay uses) by musl-gcc
# at -Os, and names resolved by nanorelay's own stub resolver
# (CONFIG_NR_DNS_STUB; c-ares 1.34 from Debian trixie's sources is built
# too when busybox_defconfig asks for CONFIG_NR_DNS_CARES). Builds it with
# configs/busybox_defconfig, prints its size, then runs the unit tests and
# the integration tests that lean on libc, the platform shim and the trimmed
# mbedTLS against it: delivery to a real Postfix over STARTTLS (587) and
# implicit TLS (465) with verification, testssl.sh against the LAN TLS
# listeners.
#
# NR_MUSL_MBEDTLS=3.6 builds trixie's mbedTLS 3.6 with
# configs/mbedtls/nanorelay-3.6.h instead (TLS 1.3; about 80 KB more).
#
#   tests/compat/musl-static.sh [WORKDIR]   (default build-compat)
#   NR_MUSL_BUILD_ONLY=1 tests/compat/musl-static.sh   builds and prints the
#   size, runs no test
#
# The binary is WORKDIR/nr-musl/nanorelay; tests/bench/size.sh reads it.
# Needs: musl-tools, dpkg-dev, curl, cmake, ninja, pkg-config, a reachable
# Debian mirror.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mkdir -p "${1:-$root/build-compat}" && cd "${1:-$root/build-compat}" && pwd)
jobs=${JOBS:-$(nproc)}
. "$root/tests/compat/fetch.sh"
command -v musl-gcc >/dev/null || { echo "musl-static: needs musl-gcc (package musl-tools)" >&2; exit 1; }

export CC=musl-gcc
prefix="$work/musl-prefix"
# -Os, each function and object in its own section for --gc-sections, and
# no unwind tables: C needs none, and they were 86 KB of the binary.
# Link-time optimisation across nanorelay, mbedTLS and c-ares (20 KB of text:
# inlining and dead code across the library boundaries). The objects are
# fat (LTO bytecode and ordinary code), so that a link without -flto works
# too: tests/configs.sh's busybox case, and tests/bench/size.sh's per-module
# rows, which LTO's merged partitions cannot give. gcc-ar/gcc-ranlib index
# the bytecode's symbols.
lto="-flto -ffat-lto-objects"
cflags="-ffunction-sections -fdata-sections -fno-asynchronous-unwind-tables -fno-unwind-tables $lto"
# No page-aligned gap between the code and the read-only data (binutils'
# default -z separate-code for x86-64): 8 KB of file.
ldflags="-flto -Wl,-z,noseparate-code"
ar=(-DCMAKE_AR="$(command -v gcc-ar)" -DCMAKE_RANLIB="$(command -v gcc-ranlib)")
small=(-DCMAKE_BUILD_TYPE=MinSizeRel -DCMAKE_INSTALL_PREFIX="$prefix" -DCMAKE_INSTALL_LIBDIR=lib "${ar[@]}")
# A library is rebuilt when its stamp (flags, config checksum) differs: a
# prefix left by an older version of this script is not reused.
stale() { # library stamp
	[ ! -f "$prefix/lib/$1" ] || [ "$(cat "$prefix/$1.stamp" 2>/dev/null)" != "$2" ]
}
# mbedTLS with the project's config: Debian 12's 2.28 by default, trixie's
# 3.6 (with TLS 1.3) when NR_MUSL_MBEDTLS=3.6. The installed config header
# is replaced by ours too, so that nanorelay sees the structures the library
# was built with.
mver=${NR_MUSL_MBEDTLS:-2.28}
case $mver in
2.28) msuite=bookworm mheader=config.h ;;
3.6) msuite=trixie mheader=mbedtls_config.h ;;
*)
	echo "musl-static: NR_MUSL_MBEDTLS=$mver: 2.28 or 3.6" >&2
	exit 1
	;;
esac
mconfig="$root/configs/mbedtls/nanorelay-$mver.h"
mstamp="mbedtls $msuite $cflags $(sha256sum <"$mconfig" | cut -d' ' -f1)"
if stale libmbedtls.a "$mstamp"; then
	msrc=$(compat_fetch "$work" mbedtls "$msuite")
	rm -rf "$work/musl-mbedtls" "$prefix/include/mbedtls" "$prefix"/lib/libmbed*
	cmake -S "$msrc" -B "$work/musl-mbedtls" -G Ninja "${small[@]}" \
		-DCMAKE_C_FLAGS="$cflags -DMBEDTLS_CONFIG_FILE=\\\"$mconfig\\\"" \
		-DENABLE_TESTING=OFF -DENABLE_PROGRAMS=OFF -DUSE_SHARED_MBEDTLS_LIBRARY=OFF \
		-DUSE_STATIC_MBEDTLS_LIBRARY=ON -DMBEDTLS_FATAL_WARNINGS=OFF >/dev/null
	cmake --build "$work/musl-mbedtls" -j"$jobs" >/dev/null
	cmake --install "$work/musl-mbedtls" >/dev/null
	cp "$mconfig" "$prefix/include/mbedtls/$mheader"
	echo "$mstamp" >"$prefix/libmbedtls.a.stamp"
fi
cstamp="c-ares trixie $cflags"
if grep -q '^CONFIG_NR_DNS_CARES=y' "$root/configs/busybox_defconfig" && stale libcares.a "$cstamp"; then
	csrc=$(compat_fetch "$work" c-ares)
	rm -rf "$work/musl-cares"
	cmake -S "$csrc" -B "$work/musl-cares" -G Ninja "${small[@]}" -DCMAKE_C_FLAGS="$cflags" \
		-DCARES_SHARED=OFF -DCARES_STATIC=ON -DCARES_BUILD_TOOLS=OFF -DCARES_BUILD_TESTS=OFF \
		-DCARES_THREADS=OFF >/dev/null
	cmake --build "$work/musl-cares" -j"$jobs" >/dev/null
	cmake --install "$work/musl-cares" >/dev/null
	echo "$cstamp" >"$prefix/libcares.a.stamp"
fi

# The build's .config is seeded from the defconfig only when it is missing:
# seed it again, so that an edited busybox_defconfig is what gets measured.
rm -f "$work/nr-musl/.config"
# Only the musl prefix's .pc files: Debian's libcares.pc points at glibc libraries.
PKG_CONFIG_LIBDIR="$prefix/lib/pkgconfig" cmake -S "$root" -B "$work/nr-musl" -G Ninja \
	-DCMAKE_BUILD_TYPE=MinSizeRel -DNR_DEFCONFIG="$root/configs/busybox_defconfig" \
	-DCMAKE_C_FLAGS="-fno-asynchronous-unwind-tables -fno-unwind-tables $lto" \
	-DCMAKE_EXE_LINKER_FLAGS="$ldflags" "${ar[@]}" \
	-DMBEDTLS_INCLUDE_DIR="$prefix/include" -DMBEDTLS_LIB="$prefix/lib/libmbedtls.a" \
	-DMBEDX509_LIB="$prefix/lib/libmbedx509.a" -DMBEDCRYPTO_LIB="$prefix/lib/libmbedcrypto.a" >/dev/null
cmake --build "$work/nr-musl" -j"$jobs" >/dev/null
bin="$work/nr-musl/nanorelay"
version=$("$bin" --version)
printf '%s\n' "$version"
# The mbedTLS built here, not another version or the host's library.
grep -qi "^libraries: Mbed TLS ${mver//./\\.}\\." <<<"$version"
# Static: no program interpreter, so nothing to install beside it.
if readelf -l "$bin" | grep -q 'INTERP'; then
	echo "musl-static: $bin asks for a dynamic loader" >&2
	exit 1
fi
strip -o "$work/nanorelay-musl-stripped" "$bin"
echo "musl-static: stripped size $(stat -c %s "$work/nanorelay-musl-stripped") bytes"
# NR_MUSL_BUILD_ONLY=1: stop here (measuring a size change without the tests).
[ "${NR_MUSL_BUILD_ONLY:-0}" = 1 ] && exit 0
(cd "$work/nr-musl" && ctest --output-on-failure -j"$jobs" -L unit)
tests='process|inbound_clients|auth_users|delivery_postfix|delivery_tls_verify|delivery_crash|queue_geometry|sendmail_callers|sendmail_nodaemon|ctl|service_files'
if [ "$mver" = 2.28 ]; then
	tests="$tests|inbound_testssl"
else
	echo "musl-static: test_inbound_testssl not run: its control listener (legacy_tls=) must offer TLS 1.0, which mbedTLS 3.x does not have"
fi
(cd "$work/nr-musl" && ctest --output-on-failure -j"$jobs" -R "^test_($tests)\$")
