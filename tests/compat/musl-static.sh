#!/usr/bin/env bash
# The BusyBox build: one static binary against musl, with mbedTLS 3.6 and
# c-ares 1.34 built from Debian trixie's sources by musl-gcc. Builds it
# with configs/busybox_defconfig, prints its size, then runs the unit tests
# and the integration tests that lean on libc and the platform shim
# against it.
#
#   tests/compat/musl-static.sh [WORKDIR]   (default build-compat)
#
# The binary is WORKDIR/nr-musl/nanorelay. Needs: musl-tools, dpkg-dev,
# curl, cmake, ninja, pkg-config, a reachable Debian mirror.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mkdir -p "${1:-$root/build-compat}" && cd "${1:-$root/build-compat}" && pwd)
jobs=${JOBS:-$(nproc)}
. "$root/tests/compat/fetch.sh"
command -v musl-gcc >/dev/null || { echo "musl-static: needs musl-gcc (package musl-tools)" >&2; exit 1; }

export CC=musl-gcc
prefix="$work/musl-prefix"
small=(-DCMAKE_BUILD_TYPE=MinSizeRel -DCMAKE_C_FLAGS="-ffunction-sections -fdata-sections"
	-DCMAKE_INSTALL_PREFIX="$prefix" -DCMAKE_INSTALL_LIBDIR=lib)
if [ ! -f "$prefix/lib/libmbedtls.a" ]; then
	msrc=$(compat_fetch "$work" mbedtls)
	cmake -S "$msrc" -B "$work/musl-mbedtls" -G Ninja "${small[@]}" -DENABLE_TESTING=OFF \
		-DENABLE_PROGRAMS=OFF -DUSE_SHARED_MBEDTLS_LIBRARY=OFF -DUSE_STATIC_MBEDTLS_LIBRARY=ON \
		-DMBEDTLS_FATAL_WARNINGS=OFF >/dev/null
	cmake --build "$work/musl-mbedtls" -j"$jobs" >/dev/null
	cmake --install "$work/musl-mbedtls" >/dev/null
fi
if [ ! -f "$prefix/lib/libcares.a" ]; then
	csrc=$(compat_fetch "$work" c-ares)
	cmake -S "$csrc" -B "$work/musl-cares" -G Ninja "${small[@]}" -DCARES_SHARED=OFF \
		-DCARES_STATIC=ON -DCARES_BUILD_TOOLS=OFF -DCARES_BUILD_TESTS=OFF -DCARES_THREADS=OFF >/dev/null
	cmake --build "$work/musl-cares" -j"$jobs" >/dev/null
	cmake --install "$work/musl-cares" >/dev/null
fi

# Only the musl prefix's .pc files: Debian's libcares.pc points at glibc libraries.
PKG_CONFIG_LIBDIR="$prefix/lib/pkgconfig" cmake -S "$root" -B "$work/nr-musl" -G Ninja \
	-DCMAKE_BUILD_TYPE=MinSizeRel -DNR_DEFCONFIG="$root/configs/busybox_defconfig" \
	-DMBEDTLS_INCLUDE_DIR="$prefix/include" -DMBEDTLS_LIB="$prefix/lib/libmbedtls.a" \
	-DMBEDX509_LIB="$prefix/lib/libmbedx509.a" -DMBEDCRYPTO_LIB="$prefix/lib/libmbedcrypto.a" >/dev/null
cmake --build "$work/nr-musl" -j"$jobs" >/dev/null
bin="$work/nr-musl/nanorelay"
"$bin" --version
# Static: no program interpreter, so nothing to install beside it.
if readelf -l "$bin" | grep -q 'INTERP'; then
	echo "musl-static: $bin asks for a dynamic loader" >&2
	exit 1
fi
strip -o "$work/nanorelay-musl-stripped" "$bin"
echo "musl-static: stripped size $(stat -c %s "$work/nanorelay-musl-stripped") bytes"
(cd "$work/nr-musl" && ctest --output-on-failure -j"$jobs" -L unit)
(cd "$work/nr-musl" && ctest --output-on-failure -j"$jobs" -R \
	'^test_(process|inbound_clients|auth_users|delivery_postfix|delivery_crash|queue_geometry|sendmail_callers|sendmail_nodaemon|ctl|service_files)$')
